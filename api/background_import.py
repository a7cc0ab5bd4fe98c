"""A big spreadsheet import (up to ``MAX_IMPORT_ROWS`` rows) run by the background queue.

The file is read with :func:`data.tabular.read_table`, checked with
:func:`~data.tabular.validate_workers` / :func:`~data.tabular.validate_jobs` and stored with the
storage functions :func:`api.storage.import_workers` / :func:`api.storage.import_jobs` (the
same ones the ``jobbridge import`` command uses), a chunk of rows at a time so that the page
can show how far it got. Every chunk is written in one transaction, committed at the end:
all or nothing, as with the HTTP import — any bad row and nothing is stored, and the task fails
listing every bad row with its line and column — unless the person asked to import only the
good rows. The rights are the asker's: a bureau imports only its counties' workers, HR only
its firm's jobs. Each stored row is audited as the HTTP import audits it, which is also how
the service processes learn of the new rows (:meth:`api.service.MatchService.sync`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import current_app, g
from sqlalchemy import insert

from api.tasks import TaskFailed

#: Rows validated and stored between two progress reports.
CHUNK_ROWS = 5_000
#: Bad rows kept on a failed task (the page lists them; the count is always exact).
MAX_LISTED_ERRORS = 500


def _bad_rows_sentence(rejected: list[dict[str, Any]]) -> str:
    rows = sorted({int(e["row"]) for e in rejected if e.get("row")})
    shown = "、".join(map(str, rows[:20])) + (" 等" if len(rows) > 20 else "")
    return (
        f"共有 {len(rows)} 行不合规（第 {shown} 行），未导入任何数据；"
        "改正后重新导入，或勾选“只导入合格行”。"
    )


def import_file(
    kind: str, params: dict[str, Any], progress: Callable[[int, int, str], None]
) -> dict[str, Any]:
    """Import the uploaded file named by ``params`` (``path``, ``filename``, ``skip_invalid``).

    Returns ``{"created", "rejected", "rejected_rows", "errors", "ignored_columns"}``; raises
    :class:`~api.tasks.TaskFailed` (Chinese) when nothing was imported.
    """
    path = Path(params["path"])
    try:
        return _import(kind, path, params, progress)
    finally:
        # The upload holds personal data: it is not kept once imported (or refused).
        path.unlink(missing_ok=True)


def _import(kind: str, path: Path, params: dict[str, Any], progress) -> dict[str, Any]:
    from api.service import begin_write, get_protector, get_session, rollback_session
    from api.storage import import_jobs, import_workers
    from api.storage.models import AuditEntry, utcnow
    from data.tabular import read_table, validate_jobs, validate_workers

    filename = str(params.get("filename") or path.name)
    skip_invalid = bool(params.get("skip_invalid"))
    if not path.is_file():
        raise TaskFailed(f"找不到上传的文件 {filename}（可能已被清理），请重新上传。")
    progress(0, 0, f"读取文件 {filename}")
    with path.open("rb") as fh:
        frame = read_table(
            fh, filename=filename, max_bytes=int(current_app.config["MAX_CONTENT_LENGTH"])
        )
    n = len(frame)
    limit = int(current_app.config.get("MAX_IMPORT_ROWS", 100_000))
    if n > limit:
        raise TaskFailed(f"文件有 {n} 行，超过单次导入上限 {limit} 行；请分批导入。")
    if n == 0:
        raise TaskFailed(f"文件 {filename} 没有数据行。")
    principal = g.principal
    validate = validate_workers if kind == "workers" else validate_jobs
    session = get_session()
    begin_write()
    protector = get_protector() if kind == "workers" else None
    created: list[int] = []
    rejected: list[dict[str, Any]] = []
    ignored: list[str] = []
    progress(0, n, "校验并写入")
    for start in range(0, n, CHUNK_ROWS):
        chunk = frame.iloc[start : start + CHUNK_ROWS]
        checked = validate(chunk)
        if start == 0:
            ignored = list(checked.ignored_columns)
        header = [e for e in checked.errors if not e.row]
        if header:
            raise TaskFailed(
                "文件表头不合规，未导入任何数据：" + "；".join(e.message for e in header),
                details={"errors": [e.as_dict() for e in header]},
            )
        records, errors = _in_scope(kind, principal, checked.records, checked.errors)
        # The scope again, for what only storage checks (an explicit id from a scoped caller).
        if kind == "workers":
            result = import_workers(
                session,
                records,
                errors=errors,
                protector=protector,
                skip_invalid=True,
                region_prefix=principal.region_prefix if principal.role == "bureau" else None,
            )
        else:
            result = import_jobs(
                session,
                records,
                errors=errors,
                skip_invalid=True,
                create_firms=False,
                owner_firm_id=principal.firm_id if principal.role == "hr" else None,
            )
        created += result.created
        rejected += result.rejected
        if not skip_invalid and rejected:
            # Already refused: check the rest to list every bad row, but store nothing more.
            rollback_session()
            begin_write()
        done = min(n, start + CHUNK_ROWS)
        progress(
            done, n, f"已校验 {done} / {n} 行" + (f"，{len(rejected)} 行不合规" if rejected else "")
        )
    rejected.sort(key=lambda e: int(e["row"] or 0))
    if rejected and not skip_invalid:
        rollback_session()
        raise TaskFailed(
            _bad_rows_sentence(rejected),
            details={
                "errors": rejected[:MAX_LISTED_ERRORS],
                "rejected_rows": len({e["row"] for e in rejected}),
            },
        )
    if created:
        stamp = utcnow()
        object_type = "worker" if kind == "workers" else "job"
        for start in range(0, len(created), CHUNK_ROWS):
            session.execute(
                insert(AuditEntry),
                [
                    {
                        "api_key_id": getattr(principal, "key_id", None),
                        "actor": principal.name,
                        "action": "create",
                        "object_type": object_type,
                        "object_id": str(i),
                        "fields": ["import"],
                        "at": stamp,
                    }
                    for i in created[start : start + CHUNK_ROWS]
                ],
            )
    progress(n, n, "提交")
    session.commit()
    return {
        "created": len(created),
        "rejected": len(rejected),
        "rejected_rows": len({e["row"] for e in rejected}),
        "errors": rejected[:MAX_LISTED_ERRORS],
        "ignored_columns": ignored,
    }


def _in_scope(kind: str, principal: Any, records: list[dict[str, Any]], errors: list[Any]):
    """Keep the rows the asker may import; the others become row errors, as in the HTTP import."""
    out_errors: list[Any] = list(errors)
    if principal.role == "bureau" and kind == "workers":
        kept = []
        for record in records:
            if principal.in_region(record.get("county_code")):
                kept.append(record)
            else:
                out_errors.append(
                    {
                        "row": record["row"],
                        "column": "县区代码",
                        "field": "county_code",
                        "message": f"县区 {record.get('county_code')} "
                        f"不在本辖区（{principal.region_prefix}）内",
                    }
                )
        return kept, out_errors
    if principal.role == "hr" and kind == "jobs":
        kept = []
        for record in records:
            if record.get("firm_id") not in (None, principal.firm_id):
                out_errors.append(
                    {
                        "row": record["row"],
                        "column": "企业ID",
                        "field": "firm_id",
                        "message": f"企业 {record['firm_id']} 不是本账号的企业",
                    }
                )
                continue
            record = {**record, "firm_id": principal.firm_id}
            record.pop("firm_name", None)
            kept.append(record)
        return kept, out_errors
    if principal.role not in ("admin", "bureau", "hr"):
        raise TaskFailed("只有管理员、劳务部门（劳动力）和企业人力资源（岗位）可以导入数据。")
    if (kind == "workers") != (principal.role in ("admin", "bureau")) and principal.role != "admin":
        raise TaskFailed("劳务部门只能导入劳动力，企业人力资源只能导入岗位。")
    return records, out_errors


__all__ = ["CHUNK_ROWS", "import_file"]
