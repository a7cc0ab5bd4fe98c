"""The big import page: a clerk (or HR) uploads an XLSX or CSV file of up to ``MAX_IMPORT_ROWS``
rows; it is imported by the background queue (:func:`api.background_import.import_file`) and the
person is sent to the task's page (:mod:`api.web.tasks`), which shows how far it got, survives a
reload, and at the end lists every bad row with its line and column in Chinese.

The upload is kept, owner-only, in ``INSTANCE_DIR/uploads`` until the task has read it (the
task deletes it, imported or refused).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from api import tasks
from api.service import get_session
from api.web.guard import nav_item, page
from api.web.tasks import result_link

bp = Blueprint("imports", __name__, url_prefix="/imports")

#: What each role may import: ``kind -> (task kind, Chinese name, roles)``.
KINDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "workers": ("import_workers", "劳动力", ("bureau", "admin")),
    "jobs": ("import_jobs", "岗位", ("hr", "admin")),
}
IMPORTERS = ("bureau", "hr", "admin")
SUFFIXES = (".xlsx", ".csv")
UPLOAD_DIR = "uploads"

nav_item("大批量导入", "web.imports.new", IMPORTERS, order=13)


def kinds_for(role: str) -> list[tuple[str, str]]:
    """(kind, Chinese name) of what ``role`` may import."""
    return [(kind, name) for kind, (_, name, roles) in KINDS.items() if role in roles]


def save_upload(upload: Any) -> Path:
    """Write the uploaded file, owner-only, under ``INSTANCE_DIR/uploads``; return its path."""
    from api.permissions import create_private, make_private_dir

    folder = Path(current_app.config["INSTANCE_DIR"]) / UPLOAD_DIR
    make_private_dir(folder)
    suffix = Path(upload.filename).suffix.lower()
    path = folder / f"{secrets.token_hex(16)}{suffix}"
    create_private(path)
    with path.open("wb") as fh:
        upload.save(fh)
    return path


def start_import(kind: str, upload: Any, *, skip_invalid: bool) -> Any:
    """Queue the import of ``upload`` as ``kind`` for the signed-in person; return the task."""
    task_kind = KINDS[kind][0]
    path = save_upload(upload)
    params = {"path": str(path), "filename": upload.filename, "skip_invalid": skip_invalid}
    title = str(upload.filename)
    try:
        return tasks.submit(get_session(), g.principal, task_kind, title, params)
    except Exception:
        path.unlink(missing_ok=True)
        raise


def _form(errors: dict[str, str], values: dict[str, Any], status: int = 200):
    return (
        render_template(
            "web/imports/new.html",
            kinds=kinds_for(g.principal.role),
            errors=errors,
            values=values,
            recent=[
                tasks.progress_of(t)
                for t in tasks.visible_tasks(get_session(), g.principal, limit=20)
                if t.kind in ("import_workers", "import_jobs")
            ][:5],
        ),
        status,
    )


@bp.route("", methods=["GET", "POST"])
@page(*IMPORTERS)
def new():
    allowed = dict(kinds_for(g.principal.role))
    if request.method == "GET":
        return _form({}, {"kind": next(iter(allowed))})
    kind = request.form.get("kind", "")
    skip_invalid = request.form.get("skip_invalid") == "1"
    values = {"kind": kind, "skip_invalid": skip_invalid}
    if kind not in allowed:
        abort(404)
    upload = request.files.get("file")
    errors: dict[str, str] = {}
    if upload is None or not upload.filename:
        errors["file"] = "请选择要上传的 .xlsx 或 .csv 文件。"
    elif Path(upload.filename).suffix.lower() not in SUFFIXES:
        errors["file"] = f"文件 {upload.filename} 不是 .xlsx 或 .csv 文件。"
    if errors:
        return _form(errors, values, 422)
    task = start_import(kind, upload, skip_invalid=skip_invalid)
    return redirect(url_for("web.tasks.show", task_id=task.id))


@result_link("import_workers")
def _imported_workers(result: dict[str, Any]) -> tuple[str, str] | None:
    if not result.get("created"):
        return None
    return f"已导入 {result['created']} 名劳动力：查看名单", url_for("web.workers.index")


@result_link("import_jobs")
def _imported_jobs(result: dict[str, Any]) -> tuple[str, str] | None:
    if not result.get("created"):
        return None
    return f"已导入 {result['created']} 个岗位：查看岗位", url_for("web.jobs.index")


__all__ = ["KINDS", "bp", "kinds_for", "save_upload", "start_import"]
