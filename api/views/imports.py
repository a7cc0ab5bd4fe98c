"""Spreadsheet import and export of jobs and workers (CSV or XLSX, Chinese headers).

An import is all-or-nothing by default: every bad row is listed (spreadsheet row number, column,
message) and nothing is stored. With ``?skip_invalid=true`` the good rows are stored and the bad
ones come back as ``rejected``. Parsing and normalisation are :mod:`data.tabular`'s; checking
against the database, storing, auditing and announcing are
:func:`api.storage.transfer.import_table`'s, the same function ``jobbridge import`` calls.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import insert, select

from api import auth, storage
from api import schemas as s
from api.errors import ApiError, Forbidden, Unprocessable
from api.openapi import operation
from api.service import commit, get_protector, get_session
from api.storage.models import AuditEntry, Firm, Job, Worker
from api.storage.transfer import import_table
from data.tabular import ReadLimits, TableError, read_table, write_table

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


def _now() -> dt.datetime:
    from api.storage.models import utcnow

    return utcnow()


def _import(kind: str, query: s.ImportQuery, **scope: Any) -> Response:
    """Store an uploaded table through :func:`api.storage.transfer.import_table` — the same
    function ``jobbridge import`` calls — and commit."""
    principal = auth.current()
    if query.create_firms and principal.role != "admin":
        raise Forbidden("只有管理员可以在导入时登记新企业（create_firms）。")
    result = import_table(
        get_session(),
        kind,
        _uploaded_frame(),
        protector=get_protector() if kind == "workers" else None,
        skip_invalid=query.skip_invalid,
        create_firms=query.create_firms,
        actor=principal,
        **scope,
    )
    commit()
    return jsonify(
        {"created": len(result.created), "ids": result.created, "rejected": result.rejected}
    )


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
    principal = auth.current()
    return _import(
        "jobs", query, owner_firm_id=principal.firm_id if principal.role == "hr" else None
    )


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
    principal = auth.current()
    return _import(
        "workers",
        query,
        region_prefix=principal.region_prefix if principal.role == "bureau" else None,
    )


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
    records = [storage.job_record(job, name) for job, name in get_session().execute(stmt)]
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
    records = [storage.worker_record(w, protector=protector, reveal_id=True) for w in workers]
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
