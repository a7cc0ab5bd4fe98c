"""The county page of a labour-bureau clerk: run an allocation for a county in the background,
review the proposed placements, drop the ones that will not do, confirm the rest.

Everything is done by :mod:`api.allocation_runs` (the functions the JSON API and the queue
call); the views only read the form, check the scope and choose the template. A run is a
background task (:mod:`api.tasks`): its page polls the progress and survives a reload, and a
failed run shows its Chinese reason.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from api import allocation_runs, tasks
from api.errors import ApiError
from api.service import get_session
from api.web.guard import nav_item, page
from api.web.labels import county_label, county_options

bp = Blueprint("allocations", __name__, url_prefix="/county")

CLERK = ("bureau", "admin")
nav_item("整县分配", "web.allocations.index", CLERK, order=20)

#: Proposals per page of a review (a county's allocation can place thousands).
PER_PAGE = 100
#: What the clerk may choose on the run form.
MODES = list(allocation_runs.MODE_NAMES.items())


def _region() -> str | None:
    p = g.principal
    return p.region_prefix if p.role == "bureau" else None


def _counties() -> list[tuple[str, str]]:
    return county_options(_region())


def allocation_task(task_id: int) -> Any:
    """Allocation task ``task_id`` of this clerk's scope, else 404."""
    task = tasks.get_task(get_session(), g.principal, task_id)
    if task is None or task.kind != "allocation":
        abort(404)
    return task


def run_form(form: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The run form's values, and its errors by field (Chinese)."""
    counties = {code for code, _ in _counties()}
    values = {
        "county": (form.get("county") or "").strip(),
        "mode": (form.get("mode") or "welfare").strip(),
        "max_per_firm": (form.get("max_per_firm") or "").strip(),
    }
    errors: dict[str, str] = {}
    if values["county"] not in counties:
        errors["county"] = "请选择您辖区内的县区。"
    if values["mode"] not in allocation_runs.MODE_NAMES:
        errors["mode"] = "请选择分配方式。"
    if values["max_per_firm"] and not (
        values["max_per_firm"].isdigit() and 1 <= int(values["max_per_firm"]) <= 100_000
    ):
        errors["max_per_firm"] = "每家企业最多人数应为 1 到 100000 的整数，或留空表示不限。"
    return values, errors


def task_params(values: dict[str, Any]) -> dict[str, Any]:
    """The queued task's parameters: the API's request, marked for review before recording."""
    options: dict[str, Any] = {}
    if values["max_per_firm"]:
        options["max_per_firm"] = int(values["max_per_firm"])
    body = allocation_runs.request_of(
        {"counties": [values["county"]], "mode": values["mode"], "options": options}
    )
    return {**body.model_dump(mode="json"), "review": True}


@bp.route("")
@page(*CLERK)
def index():
    session = get_session()
    counties = _counties()
    values = {
        "county": counties[0][0] if len(counties) == 1 else "",
        "mode": "welfare",
        "max_per_firm": "",
    }
    return render_template(
        "web/allocations/index.html",
        **_index_context(session),
        values=values,
        errors={},
    )


def _index_context(session: Any) -> dict[str, Any]:
    running = [
        tasks.progress_of(t)
        for t in tasks.visible_tasks(session, g.principal, limit=50)
        if t.kind == "allocation" and t.status in ("queued", "running")
    ]
    return {
        "counties": _counties(),
        "modes": MODES,
        "allocations": [
            {
                "row": row,
                "counties": "、".join(county_label(c) for c in row.request.get("county_codes", [])),
                "mode_name": allocation_runs.MODE_NAMES.get(row.request.get("mode", ""), ""),
                "status_name": allocation_runs.STATUS_NAMES.get(row.status, row.status),
                "assigned": len((row.result or {}).get("assignments", [])),
            }
            for row in allocation_runs.list_allocations(session, g.principal)
        ],
        "running": running,
    }


@bp.route("/run", methods=["POST"])
@page(*CLERK)
def run():
    session = get_session()
    values, errors = run_form(request.form)
    if errors:
        return (
            render_template(
                "web/allocations/index.html",
                **_index_context(session),
                values=values,
                errors=errors,
            ),
            422,
        )
    mode = allocation_runs.MODE_NAMES[values["mode"]]
    title = f"{county_label(values['county'])}整县分配（{mode}）"
    task = tasks.submit(session, g.principal, "allocation", title, task_params(values))
    return redirect(url_for("web.allocations.task", task_id=task.id))


@bp.route("/tasks/<id:task_id>")
@page(*CLERK)
def task(task_id: int):
    """The progress of a run; when it is done, its review (a reload shows the same)."""
    row = allocation_task(task_id)
    progress = tasks.progress_of(row)
    done_url = None
    if row.status == "done" and (row.result or {}).get("allocation_id"):
        done_url = url_for("web.allocations.show", allocation_id=row.result["allocation_id"])
    if request.headers.get("HX-Request"):
        response = render_template(
            "web/_task_progress.html",
            progress=progress,
            poll_url=url_for("web.allocations.task", task_id=task_id),
            done_url=done_url,
            done_label="查看分配方案",
        )
        headers = {"HX-Redirect": done_url} if done_url else {}
        return response, 200, headers
    if done_url:
        return redirect(done_url)
    return render_template(
        "web/allocations/task.html",
        progress=progress,
        poll_url=url_for("web.allocations.task", task_id=task_id),
        done_url=done_url,
        done_label="查看分配方案",
    )


@bp.route("/allocations/<id:allocation_id>")
@page(*CLERK)
def show(allocation_id: int):
    session = get_session()
    row = allocation_runs.get_allocation(session, g.principal, allocation_id)
    review = allocation_runs.review(session, g.principal, row)
    total = len(review["assignments"])
    pages = max(1, -(-total // PER_PAGE))
    try:
        page_no = min(pages, max(1, int(request.args.get("page") or 1)))
    except ValueError:
        page_no = 1
    start = (page_no - 1) * PER_PAGE
    return render_template(
        "web/allocations/show.html",
        allocation=review,
        shown=review["assignments"][start : start + PER_PAGE],
        total=total,
        page_no=page_no,
        pages=pages,
        first=start + 1,
    )


def _worker_ids(form: Any) -> list[int]:
    return [int(v) for v in form.getlist("worker_id") if v.isdigit()]


@bp.route("/allocations/<id:allocation_id>/drop", methods=["POST"])
@page(*CLERK)
def drop(allocation_id: int):
    session = get_session()
    ids = _worker_ids(request.form)
    if not ids:
        flash("请选择要删除的分配。", "error")
    else:
        try:
            _, n = allocation_runs.drop_proposals(session, g.principal, allocation_id, ids)
        except ApiError as exc:
            if exc.status == 404:
                raise
            flash(f"未删除：{exc.detail}", "error")
        else:
            flash(f"已从方案中删除 {n} 条分配。", "success")
    page_no = request.form.get("page", "")
    return redirect(
        url_for(
            "web.allocations.show",
            allocation_id=allocation_id,
            page=int(page_no) if page_no.isdigit() and page_no != "1" else None,
        )
    )


@bp.route("/allocations/<id:allocation_id>/confirm", methods=["POST"])
@page(*CLERK)
def confirm(allocation_id: int):
    session = get_session()
    try:
        row = allocation_runs.confirm_allocation(session, g.principal, allocation_id)
    except ApiError as exc:
        if exc.status == 404:
            raise
        flash(f"未确认：{exc.detail}", "error")
    else:
        n = len((row.result or {}).get("assignments", []))
        flash(f"已确认分配方案 {row.id}：{n} 人的推荐已记录。", "success")
    return redirect(url_for("web.allocations.show", allocation_id=allocation_id))
