"""Pages of background tasks: a progress bar that follows a task, and the list of one's tasks.

Every long piece of work (an import, an allocation, a fair plan, training) is a
:class:`~api.storage.models.Task` row; its page is ``/tasks/<id>``, so that a reload (or coming
back later from the list) shows the same task, its state read from storage by
:func:`api.tasks.progress_of`. While the task runs, the partial ``web/tasks/_progress.html``
asks for itself again every second (htmx ``hx-trigger="every 1s"``); the finished partial has
no trigger, so polling stops. Without JavaScript the page refreshes itself (``<noscript>``).

Other pages reuse the partial: render it with ``progress=progress_of(task)`` (or
:func:`progress_context`) wherever a task is started, e.g. after an allocation was asked for.
What a finished task links to (the allocation to review, the imported workers) comes from
:data:`RESULT_LINKS`, filled by the page modules with :func:`result_link`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, g, render_template, request, url_for

from api import tasks as queue
from api.service import get_session
from api.web.guard import nav_item, page

bp = Blueprint("tasks", __name__, url_prefix="/tasks")

EVERYONE = ("admin", "bureau", "hr", "organiser")
nav_item("后台任务", "web.tasks.index", EVERYONE, order=90)

#: ``kind -> fn(result) -> (label, url) | None``: where a finished task's result is shown.
RESULT_LINKS: dict[str, Callable[[dict[str, Any]], tuple[str, str] | None]] = {}


def result_link(kind: str) -> Callable[[Callable], Callable]:
    """Register the link a finished task of ``kind`` shows (a page module's function)."""

    def register(fn: Callable[[dict[str, Any]], tuple[str, str] | None]) -> Callable:
        RESULT_LINKS[kind] = fn
        return fn

    return register


def _link_of(progress: dict[str, Any]) -> tuple[str, str] | None:
    fn = RESULT_LINKS.get(progress["kind"])
    if fn is None or progress["status"] != "done" or not progress.get("result"):
        return None
    try:
        return fn(progress["result"])
    except Exception:  # a link to a page that moved must not hide the outcome itself
        from flask import current_app

        current_app.logger.exception("result link of task %s failed", progress["id"])
        return None


def progress_context(task: Any) -> dict[str, Any]:
    """What ``web/tasks/_progress.html`` needs about ``task``: its progress, the link of its
    result, the bad rows of a failed import (line, column, problem)."""
    progress = queue.progress_of(task)
    result = progress.get("result") or {}
    progress["link"] = _link_of(progress)
    progress["row_errors"] = _row_errors(result.get("errors") or [])
    progress["poll_url"] = url_for("web.tasks.progress", task_id=task.id)
    progress["page_url"] = url_for("web.tasks.show", task_id=task.id)
    return progress


def _row_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from api.web.forms import WORKER_FIELDS

    labels = {**WORKER_FIELDS, "worker_id": "劳动力ID", "firm_id": "企业ID", "file": "文件"}
    return [
        {
            "row": e.get("row"),
            "column": e.get("column") or labels.get(e.get("field") or "", e.get("field") or ""),
            "message": e.get("message", ""),
        }
        for e in errors
        if isinstance(e, dict)
    ]


def _task_or_404(task_id: int) -> Any:
    task = queue.get_task(get_session(), g.principal, task_id)
    if task is None:
        abort(404)
    return task


@bp.route("")
@page(*EVERYONE)
def index():
    rows = queue.visible_tasks(get_session(), g.principal, limit=50)
    return render_template("web/tasks/index.html", tasks=[queue.progress_of(t) for t in rows])


@bp.route("/<id:task_id>")
@page(*EVERYONE)
def show(task_id: int):
    return render_template("web/tasks/show.html", progress=progress_context(_task_or_404(task_id)))


@bp.route("/<id:task_id>/progress")
@page(*EVERYONE)
def progress(task_id: int):
    """The partial alone (what htmx polls); a whole page when opened directly."""
    context = progress_context(_task_or_404(task_id))
    if not request.headers.get("HX-Request"):
        return render_template("web/tasks/show.html", progress=context)
    return render_template("web/tasks/_progress.html", progress=context)


__all__ = ["RESULT_LINKS", "bp", "progress_context", "result_link"]
