"""Spreadsheet import and export of jobs and workers (CSV or XLSX, Chinese headers).

An import is all-or-nothing by default: every bad row is listed (spreadsheet row number, column,
message) and nothing is stored. With ``?skip_invalid=true`` the good rows are stored and the bad
ones come back as ``rejected``. Parsing and normalisation are :mod:`data.tabular`'s; each stored
row is created through storage exactly as a single ``POST`` would be, and audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import insert, select

from api import auth
from api import schemas as s
from api.errors import ApiError, Unprocessable
from api.openapi import operation
from api.service import commit, get_protector, get_session
from api.storage import repository as repo
from api.storage.errors import DuplicateWorker, Invalid, NotFound
from api.storage.models import AuditEntry, Firm, Job, Worker
from data.tabular import (
    ReadLimits,
    TableError,
    read_table,
    validate_jobs,
    validate_workers,
    write_table,
)

bp = Blueprint("imports", __name__)

#: Titles of a refused file: the file is past a reading limit, or not a readable file.
_FILE_TITLES = {413: "文件超过读取上限", 422: "文件无法读取"}

_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _uploaded_frame():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        names = ", ".join(request.files) or "无"
        raise Unprocessable(
            "请以 multipart/form-data 上传名为 file 的 CSV 或 XLSX 文件"
            f"（收到的文件字段：{names}）。",
            errors=[{"field": "file", "message": "缺少上传文件"}],
        )
    try:
        # The reader stops at the first limit it passes, while it streams (data.reader).
        return read_table(
            upload.stream,
            filename=upload.filename,
            max_bytes=int(current_app.config["MAX_CONTENT_LENGTH"]),
            limits=ReadLimits(max_rows=int(current_app.config["MAX_IMPORT_ROWS"])),
        )
    except TableError as exc:
        raise ApiError(
            str(exc),
            status=exc.status,
            title=_FILE_TITLES.get(exc.status),
            errors=[{"field": "file", "message": str(exc)}],
        ) from None


def _row_error(
    row: int, field: str | None, message: str, column: str | None = None
) -> dict[str, Any]:
    item: dict[str, Any] = {"row": row, "message": message}
    if field:
        item["field"] = field
    if column:
        item["column"] = column
    return item


def _storage_errors(row: int, exc: Exception) -> list[dict[str, Any]]:
    exc = auth.scoped_error(exc)
    if isinstance(exc, Invalid):
        return [_row_error(row, e.get("field"), e.get("message", "")) for e in exc.errors]
    return [_row_error(row, None, getattr(exc, "detail", str(exc)))]


def _finish(
    kind: str, created: list[int], rejected: list[dict[str, Any]], skip_invalid: bool
) -> Response:
    if rejected and not skip_invalid:
        get_session().rollback()
        rows = sorted({e["row"] for e in rejected})
        raise Unprocessable(
            f"共有 {len(rows)} 行不合规（第 {'、'.join(map(str, rows[:20]))}"
            f"{' 等' if len(rows) > 20 else ''} 行），"
            "未导入任何数据；改正后重新上传，或加 ?skip_invalid=true 只导入合格行。",
            errors=rejected,
        )
    principal = auth.current()
    if created:
        get_session().execute(
            insert(AuditEntry),
            [
                {
                    "api_key_id": principal.key_id,
                    "actor": principal.name,
                    "action": "create",
                    "object_type": kind,
                    "object_id": str(i),
                    "fields": ["import"],
                    "at": _now(),
                }
                for i in created
            ],
        )
    commit()
    return jsonify({"created": len(created), "ids": created, "rejected": rejected})


def _now() -> dt.datetime:
    from api.storage.models import utcnow

    return utcnow()


@operation(
    bp,
    "POST",
    "/jobs/import",
    summary="批量导入岗位（CSV/XLSX）",
    roles=("admin", "hr"),
    query=s.ImportQuery,
    upload=True,
    response=s.ImportResult,
    tag="jobs",
    description=(
        "表头用中文（岗位名称、工作城市、月薪下限、月薪上限、招聘人数…）；"
        "企业用 企业ID 或 企业名称 指明，hr 账号只能导入本企业岗位。"
    ),
)
def import_jobs(query: s.ImportQuery) -> Response:
    frame = _uploaded_frame()
    result = validate_jobs(frame)
    rejected = [_row_error(e.row, e.field or None, e.message, e.column) for e in result.errors]
    principal = auth.current()
    session = get_session()
    firm_by_name: dict[str, int | None] = {}
    created: list[int] = []
    for record in result.records:
        row = record.pop("row")
        errors: list[dict[str, Any]] = []
        firm_name = record.pop("firm_name", None)
        if principal.role == "hr":
            if record.get("firm_id") not in (None, principal.firm_id):
                errors.append(
                    _row_error(row, "firm_id", f"企业 {record['firm_id']} 不是本账号的企业")
                )
            record["firm_id"] = principal.firm_id
        elif record.get("firm_id") is None:
            if firm_name:
                if firm_name not in firm_by_name:
                    firm = repo.find_firm_by_name(session, firm_name)
                    firm_by_name[firm_name] = firm.id if firm else None
                record["firm_id"] = firm_by_name[firm_name]
            if record.get("firm_id") is None:
                errors.append(
                    _row_error(
                        row,
                        "firm_id",
                        f"企业 {firm_name!r} 未登记；请先登记企业或填写企业ID"
                        if firm_name
                        else "缺少 企业ID 或 企业名称",
                    )
                )
        job_id = record.get("job_id")
        if job_id is not None and session.get(Job, job_id) is not None:
            errors.append(_row_error(row, "job_id", f"岗位ID {job_id} 已存在"))
        if errors:
            rejected.extend(errors)
            continue
        try:
            created.append(repo.create_job(session, record).id)
        except (Invalid, NotFound) as exc:
            rejected.extend(_storage_errors(row, exc))
    return _finish("job", created, sorted(rejected, key=lambda e: e["row"]), query.skip_invalid)


@operation(
    bp,
    "POST",
    "/workers/import",
    summary="批量导入劳动力（CSV/XLSX）",
    roles=("admin", "bureau"),
    query=s.ImportQuery,
    upload=True,
    response=s.ImportResult,
    tag="workers",
    description=(
        "表头用中文（姓名、身份证号、县区代码或户籍县、学历…）；bureau 账号只能导入本辖区劳动力。"
    ),
)
def import_workers(query: s.ImportQuery) -> Response:
    frame = _uploaded_frame()
    result = validate_workers(frame)
    rejected = [_row_error(e.row, e.field or None, e.message, e.column) for e in result.errors]
    principal = auth.current()
    session = get_session()
    protector = get_protector()
    created: list[int] = []
    for record in result.records:
        row = record.pop("row")
        if principal.role == "bureau" and not principal.in_region(record.get("county_code")):
            rejected.append(
                _row_error(
                    row,
                    "county_code",
                    f"县区 {record.get('county_code')} 不在本辖区（{principal.region_prefix}）内",
                )
            )
            continue
        worker_id = record.get("worker_id")
        if worker_id is not None and session.get(Worker, worker_id) is not None:
            rejected.append(_row_error(row, "worker_id", f"劳动力ID {worker_id} 已存在"))
            continue
        try:
            created.append(repo.register_worker(session, record, protector=protector).id)
        except (Invalid, DuplicateWorker) as exc:
            rejected.extend(_storage_errors(row, exc))
    return _finish("worker", created, sorted(rejected, key=lambda e: e["row"]), query.skip_invalid)


def _file(data: bytes, kind: str, fmt: str) -> Response:
    stamp = dt.date.today().strftime("%Y%m%d")
    response = Response(data, mimetype=_MEDIA[fmt].split(";")[0])
    if fmt == "csv":
        response.headers["Content-Type"] = _MEDIA["csv"]
    name = {"jobs": "岗位", "workers": "劳动力"}[kind]
    from urllib.parse import quote

    response.headers["Content-Disposition"] = (
        f"attachment; filename={kind}-{stamp}.{fmt}; filename*=UTF-8''{quote(name)}-{stamp}.{fmt}"
    )
    return response


@operation(
    bp,
    "GET",
    "/jobs/export",
    summary="导出岗位（CSV/XLSX）",
    query=s.ExportQuery,
    files=tuple(_MEDIA.values()),
    tag="jobs",
)
def export_jobs(query: s.ExportQuery) -> Response:
    principal = auth.current()
    stmt = select(Job, Firm.name).join(Firm, Firm.id == Job.firm_id).order_by(Job.id)
    if principal.role == "hr":
        stmt = stmt.where(Job.firm_id == principal.firm_id)
    elif principal.role in ("bureau", "organiser"):
        stmt = stmt.where(Job.status == "open")
    records = [repo.job_record(job, name) for job, name in get_session().execute(stmt)]
    return _file(write_table(records, kind="jobs", fmt=query.format), "jobs", query.format)


@operation(
    bp,
    "GET",
    "/workers/export",
    summary="导出劳动力（CSV/XLSX，含身份证号，逐人记入审计日志）",
    roles=("admin", "bureau"),
    query=s.ExportQuery,
    files=tuple(_MEDIA.values()),
    tag="workers",
)
def export_workers(query: s.ExportQuery) -> Response:
    principal = auth.current()
    session = get_session()
    stmt = select(Worker).order_by(Worker.id)
    if principal.role == "bureau":
        stmt = stmt.where(Worker.county_code.startswith(principal.region_prefix))
    protector = get_protector()
    workers = list(session.scalars(stmt))
    records = [repo.worker_record(w, protector=protector, reveal_id=True) for w in workers]
    for record in records:
        for name in ("id_masked", "version", "created_at", "updated_at"):
            record.pop(name, None)
    if workers:
        session.execute(
            insert(AuditEntry),
            [
                {
                    "api_key_id": principal.key_id,
                    "actor": principal.name,
                    "action": "export",
                    "object_type": "worker",
                    "object_id": str(w.id),
                    "fields": list(s.PERSONAL_FIELDS),
                    "at": _now(),
                }
                for w in workers
            ],
        )
    commit(sync_engine=False)
    return _file(write_table(records, kind="workers", fmt=query.format), "workers", query.format)
