"""A big spreadsheet import (up to ``MAX_IMPORT_ROWS`` rows) run by the background queue.

The file is read with :func:`data.tabular.read_table` under the same row limit as the HTTP
import (refused while it streams), then checked and stored by
:func:`api.storage.transfer.import_table` — the one import function, which the HTTP upload and
``jobbridge import`` call too — a chunk of rows at a time so that the page can show how far it
got. All or nothing, as with the HTTP import: any bad row and nothing is stored, and the task
fails listing every bad row with its line and column — unless the person asked to import only
the good rows. The rights are the asker's: a bureau imports only its counties' workers, HR only
its firm's jobs. Each stored row is audited as the HTTP import audits it and announced in the
change feed, which is how the service processes learn of the new rows
(:meth:`api.service.MatchService.sync`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import current_app, g

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
    from api.storage.errors import Invalid
    from api.storage.transfer import import_table
    from data.tabular import ReadLimits, read_table

    filename = str(params.get("filename") or path.name)
    skip_invalid = bool(params.get("skip_invalid"))
    if not path.is_file():
        raise TaskFailed(f"找不到上传的文件 {filename}（可能已被清理），请重新上传。")
    principal = g.principal
    scope = _scope(kind, principal)
    progress(0, 0, f"读取文件 {filename}")
    with path.open("rb") as fh:
        # The reader refuses a file past the row limit while it streams (data.reader).
        frame = read_table(
            fh,
            filename=filename,
            max_bytes=int(current_app.config["MAX_CONTENT_LENGTH"]),
            limits=ReadLimits(max_rows=int(current_app.config["MAX_IMPORT_ROWS"])),
        )
    n = len(frame)
    if n == 0:
        raise TaskFailed(f"文件 {filename} 没有数据行。")
    session = get_session()
    begin_write()
    progress(0, n, "校验并写入")

    def chunk_done(done: int, total: int, bad_rows: int) -> None:
        progress(
            done,
            total,
            f"已校验 {done} / {total} 行" + (f"，{bad_rows} 行不合规" if bad_rows else ""),
        )

    try:
        result = import_table(
            session,
            kind,
            frame,
            protector=get_protector() if kind == "workers" else None,
            skip_invalid=skip_invalid,
            create_firms=False,
            actor=principal,
            chunk_rows=CHUNK_ROWS,
            progress=chunk_done,
            **scope,
        )
    except Invalid as exc:
        rollback_session()
        rejected = list(exc.errors)
        header = [e for e in rejected if not e.get("row")]
        if header:
            raise TaskFailed(
                "文件表头不合规，未导入任何数据：" + "；".join(e["message"] for e in header),
                details={"errors": header},
            ) from None
        raise TaskFailed(
            _bad_rows_sentence(rejected),
            details={
                "errors": rejected[:MAX_LISTED_ERRORS],
                "rejected_rows": len({e["row"] for e in rejected}),
            },
        ) from None
    progress(n, n, "提交")
    session.commit()
    return {
        "created": len(result.created),
        "rejected": len(result.rejected),
        "rejected_rows": len(result.rejected_rows),
        "errors": result.rejected[:MAX_LISTED_ERRORS],
        "ignored_columns": result.ignored_columns,
    }


def _scope(kind: str, principal: Any) -> dict[str, Any]:
    """What the asker may import, as :func:`~api.storage.transfer.import_table`'s arguments (a
    bureau only its counties' workers, HR only its firm's jobs), as in the HTTP import."""
    if principal.role not in ("admin", "bureau", "hr"):
        raise TaskFailed("只有管理员、劳务部门（劳动力）和企业人力资源（岗位）可以导入数据。")
    if principal.role != "admin" and (kind == "workers") != (principal.role == "bureau"):
        raise TaskFailed("劳务部门只能导入劳动力，企业人力资源只能导入岗位。")
    if principal.role == "bureau":
        return {"region_prefix": principal.region_prefix}
    if principal.role == "hr":
        return {"owner_firm_id": principal.firm_id}
    return {}


__all__ = ["CHUNK_ROWS", "import_file"]
