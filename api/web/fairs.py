"""The organiser's pages of a dedicated job fair (专场招聘): list and create fairs, plan one in
the background, see its timetable as a grid (booths × slots), move or cancel an interview and
re-plan, print the lists (A4) and download them as XLSX.

The views call :mod:`api.fair_plans` — the functions behind the JSON API and the queue — with
the signed-in person's principal, so a bureau clerk sees only the fairs of the region and every
write is audited the same way.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from api import fair_plans, tasks
from api import schemas as s
from api.errors import ApiError
from api.service import get_session
from api.web import forms
from api.web.guard import HOME, nav_item, page
from api.web.labels import county_label, county_options

bp = Blueprint("fairs", __name__, url_prefix="/fairs")

#: The API lets these roles plan fairs; a bureau sees its own region's only.
ORGANISERS = ("organiser", "admin", "bureau")
nav_item("招聘会", "web.fairs.index", ORGANISERS, order=30)
HOME.setdefault("organiser", "web.fairs.index")

FAIR_FIELDS: dict[str, str] = {
    "name": "招聘会名称",
    "county_code": "举办县区",
    "date": "日期",
    "start_time": "开始时间",
    "end_time": "结束时间",
    "slot_minutes": "每场面试（分钟）",
    "booths": "展位数",
}
PLAN_FIELDS: dict[str, str] = {
    "max_firms": "最多邀请企业数",
    "max_workers": "最多邀请劳动力数",
    "time_limit_s": "求解时间上限（秒）",
}
#: The hand-picks of the plan form (checkbox lists; empty: let the planner choose).
PICKS: dict[str, str] = {"firm_ids": "企业", "job_ids": "岗位", "worker_ids": "劳动力"}
#: Seconds a re-plan from the page may search (the page waits for it).
REPLAN_SECONDS = 10.0


def _region() -> str | None:
    p = g.principal
    return p.region_prefix if p.role == "bureau" else None


def _fair(fair_id: int) -> Any:
    return fair_plans.get_fair(get_session(), g.principal, fair_id)


def fair_task(fair_id: int, task_id: int) -> Any:
    """Plan task ``task_id`` of fair ``fair_id`` in this person's scope, else 404."""
    task = tasks.get_task(get_session(), g.principal, task_id)
    if (
        task is None
        or task.kind != "fair_plan"
        or int((task.params or {}).get("fair_id", 0)) != fair_id
    ):
        abort(404)
    return task


def running_plan(fair_id: int) -> dict[str, Any] | None:
    """The progress of this fair's plan task still queued or running, if any."""
    for task in tasks.visible_tasks(get_session(), g.principal, limit=50):
        if (
            task.kind == "fair_plan"
            and int((task.params or {}).get("fair_id", 0)) == fair_id
            and task.status in ("queued", "running")
        ):
            return tasks.progress_of(task)
    return None


# --------------------------------------------------------------------------- list, create
@bp.route("")
@page(*ORGANISERS)
def index():
    fairs = fair_plans.list_fairs(get_session(), g.principal)
    return render_template(
        "web/fairs/index.html",
        fairs=fairs,
        status_names=fair_plans.STATUS_NAMES,
    )


def create_from_form(form: Any) -> forms.FormResult:
    """Validate the form with the API's :class:`~api.schemas.FairCreate` and store the fair."""
    values = forms.form_values(form, FAIR_FIELDS)
    body, errors = forms.validate(s.FairCreate, values, FAIR_FIELDS)
    result = forms.FormResult(values=values, errors=errors)
    if body is None:
        if "__all__" in result.errors:
            result.general = result.errors.pop("__all__")
        return result
    if values["county_code"] not in {c for c, _ in county_options(_region())}:
        result.errors["county_code"] = "请选择您辖区内的县区。"
        return result
    result.obj = fair_plans.create_fair(get_session(), g.principal, body)
    return result


@bp.route("/new", methods=["GET", "POST"])
@page(*ORGANISERS)
def new():
    counties = county_options(_region())
    if request.method == "GET":
        values = {
            "name": "",
            "county_code": counties[0][0] if len(counties) == 1 else "",
            "date": "",
            "start_time": "09:00",
            "end_time": "12:00",
            "slot_minutes": "15",
            "booths": "10",
        }
        return render_template(
            "web/fairs/new.html",
            values=values,
            errors={},
            general=None,
            counties=counties,
            labels=FAIR_FIELDS,
        )
    result = create_from_form(request.form)
    if result.ok:
        flash(f"已创建招聘会“{result.obj.name}”。下一步：规划。", "success")
        return redirect(url_for("web.fairs.show", fair_id=result.obj.id))
    return (
        render_template(
            "web/fairs/new.html",
            values=result.values,
            errors=result.errors,
            general=result.general,
            counties=counties,
            labels=FAIR_FIELDS,
        ),
        422,
    )


# --------------------------------------------------------------------------- one fair
def _show_context(fair: Any, values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    progress = running_plan(fair.id)
    return {
        "fair": fair,
        "county": county_label(fair.county_code),
        "status_name": fair_plans.STATUS_NAMES.get(fair.status, fair.status),
        "status_actions": [
            (action, words)
            for action, (sources, _, words) in fair_plans.STATUS_ACTIONS.items()
            if fair.status in sources
        ],
        "grid": fair_plans.timetable(get_session(), fair) if fair.plan else None,
        "progress": progress,
        "poll_url": (
            url_for("web.fairs.task", fair_id=fair.id, task_id=progress["id"]) if progress else None
        ),
        "values": values,
        "errors": errors,
        "picks": (
            fair_plans.pick_options(get_session(), fair)
            if fair.status in ("draft", "planned")
            else None
        ),
    }


@bp.route("/<id:fair_id>")
@page(*ORGANISERS)
def show(fair_id: int):
    values = {"max_firms": "", "max_workers": "", "time_limit_s": "20", **{k: set() for k in PICKS}}
    return render_template("web/fairs/show.html", **_show_context(_fair(fair_id), values, {}))


def plan_form(form: Any) -> tuple[dict[str, Any], s.FairPlanRequest | None, dict[str, str]]:
    """The plan form validated by the API's :class:`~api.schemas.FairPlanRequest`."""
    values = forms.form_values(form, PLAN_FIELDS)
    data = {k: v for k, v in values.items() if v != ""}
    picks = {}
    for name in PICKS:
        picked = [int(v) for v in form.getlist(name) if v.isdigit() and len(v) <= 10]
        values[name] = set(picked)  # ticked again when the form comes back with an error
        if picked:
            picks[name] = picked
    body, errors = forms.validate(s.FairPlanRequest, data, {**PLAN_FIELDS, **PICKS}, **picks)
    return values, body, errors


@bp.route("/<id:fair_id>/plan", methods=["POST"])
@page(*ORGANISERS)
def plan(fair_id: int):
    fair = _fair(fair_id)
    values, body, errors = plan_form(request.form)
    if body is None:
        context = _show_context(fair, values, errors)
        return render_template("web/fairs/show.html", **context), 422
    params = {"fair_id": fair.id, **body.model_dump(mode="json")}
    task = tasks.submit(get_session(), g.principal, "fair_plan", f"规划“{fair.name}”", params)
    return redirect(url_for("web.fairs.task", fair_id=fair_id, task_id=task.id))


@bp.route("/<id:fair_id>/tasks/<id:task_id>")
@page(*ORGANISERS)
def task(fair_id: int, task_id: int):
    """The progress of a plan; when it is done, the fair's timetable (a reload shows the same)."""
    fair = _fair(fair_id)
    row = fair_task(fair_id, task_id)
    progress = tasks.progress_of(row)
    done_url = url_for("web.fairs.show", fair_id=fair_id) if row.status == "done" else None
    context = {
        "progress": progress,
        "poll_url": url_for("web.fairs.task", fair_id=fair_id, task_id=task_id),
        "done_url": done_url,
        "done_label": "查看时间表",
    }
    if request.headers.get("HX-Request"):
        headers = {"HX-Redirect": done_url} if done_url else {}
        return render_template("web/_task_progress.html", **context), 200, headers
    if done_url:
        return redirect(done_url)
    return render_template("web/fairs/task.html", fair=fair, **context)


def _int_field(name: str) -> int:
    value = request.form.get(name, "")
    if not value.isdigit():
        abort(400, description="表单缺少要调整的面试，请返回时间表重新选择。")
    return int(value)


def _edit_outcome(action: str, call: Any) -> None:
    """Run a plan edit; flash what happened or why not (a 404 stays a 404)."""
    try:
        call()
    except ApiError as exc:
        if exc.status == 404:
            raise
        flash(f"未{action}：{exc.detail}", "error")
        return
    flash(f"已{action}。", "success")


@bp.route("/<id:fair_id>/move", methods=["POST"])
@page(*ORGANISERS)
def move(fair_id: int):
    worker_id, firm_id = _int_field("worker_id"), _int_field("firm_id")
    start = request.form.get("start", "")
    _edit_outcome(
        "调整面试时间",
        lambda: fair_plans.move_interview(
            get_session(), g.principal, fair_id, worker_id, firm_id, start
        ),
    )
    return redirect(url_for("web.fairs.show", fair_id=fair_id) + "#timetable")


@bp.route("/<id:fair_id>/cancel", methods=["POST"])
@page(*ORGANISERS)
def cancel(fair_id: int):
    worker_id, firm_id = _int_field("worker_id"), _int_field("firm_id")
    _edit_outcome(
        "取消这场面试",
        lambda: fair_plans.cancel_interview(
            get_session(), g.principal, fair_id, worker_id, firm_id
        ),
    )
    return redirect(url_for("web.fairs.show", fair_id=fair_id) + "#timetable")


@bp.route("/<id:fair_id>/replan", methods=["POST"])
@page(*ORGANISERS)
def replan(fair_id: int):
    """Fill freed places (after cancellations) without moving any other interview."""
    session = get_session()
    try:
        fair, changes = fair_plans.replan(
            session, g.principal, fair_id, time_limit_s=REPLAN_SECONDS
        )
    except ApiError as exc:
        if exc.status == 404:
            raise
        flash(f"未重新安排：{exc.detail}", "error")
    else:
        added = sum(1 for c in changes if c.get("change") == "added")
        if added:
            flash(f"已重新安排：空出的时段新增 {added} 场面试，其余面试不变。", "success")
        else:
            flash("已重新安排：没有可以补上空位的面试，安排不变。", "info")
    return redirect(url_for("web.fairs.show", fair_id=fair_id) + "#timetable")


@bp.route("/<id:fair_id>/status", methods=["POST"])
@page(*ORGANISERS)
def status(fair_id: int):
    """Publish, finish or cancel the fair (the buttons the page shows for its state)."""
    action = request.form.get("action", "")
    words = fair_plans.STATUS_ACTIONS.get(action, ((), "", "更改状态"))[2]
    try:
        fair = fair_plans.change_status(get_session(), g.principal, fair_id, action)
    except ApiError as exc:
        if exc.status == 404:
            raise
        flash(f"未{words}：{exc.detail}", "error")
    else:
        flash(f"已{words}招聘会“{fair.name}”。", "success")
    return redirect(url_for("web.fairs.show", fair_id=fair_id))


# --------------------------------------------------------------------------- the lists
@bp.route("/<id:fair_id>/print")
@page(*ORGANISERS)
def print_lists(fair_id: int):
    """The four lists as one A4 page to print (phones masked for organisers, reads audited)."""
    back = url_for("web.fairs.show", fair_id=fair_id)
    fair, data = fair_plans.render_lists(get_session(), g.principal, fair_id, "html", back_url=back)
    return Response(data, headers=fair_plans.list_headers(fair, "html"))


@bp.route("/<id:fair_id>/lists.xlsx")
@page(*ORGANISERS)
def download(fair_id: int):
    fair, data = fair_plans.render_lists(get_session(), g.principal, fair_id, "xlsx")
    return Response(data, headers=fair_plans.list_headers(fair, "xlsx"))
