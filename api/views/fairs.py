"""Dedicated job fairs (专场招聘): create, plan (firms, invitations, CP-SAT timetable),
re-plan after
cancellations, and the printable lists — thin over :mod:`matcher.fairs` and :mod:`api.fair_lists`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from flask import Blueprint, Response, jsonify, url_for
from sqlalchemy import delete, select

from api import auth
from api import schemas as s
from api.auth import sees_personal
from api.errors import ApiError, Unprocessable
from api.openapi import operation
from api.service import audit, commit, get_matching, get_session
from api.storage import repository as repo
from api.storage.models import Fair, FairFirm, FairInterview, FairInvitation, Firm, Job, Worker
from api.views import created, with_etag
from api.views.allocations import _plain
from api.views.matches import mask_phone

bp = Blueprint("fairs", __name__)

ROLES = ("admin", "bureau", "organiser")
#: Candidate jobs per worker the planner chooses among.
CANDIDATES_PER_WORKER = 20


def fair_json(fair: Fair, changes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    plan = fair.plan or {}
    body: dict[str, Any] = {
        "id": fair.id,
        "name": fair.name,
        "county_code": fair.county_code,
        "date": fair.date,
        "start_time": fair.start_time.strftime("%H:%M"),
        "end_time": fair.end_time.strftime("%H:%M"),
        "slot_minutes": fair.slot_minutes,
        "booths": fair.booths,
        "status": fair.status,
        "version": fair.version,
        "firms": plan.get("firms", []),
        "invitations": plan.get("invitations", []),
        "interviews": [
            {
                k: iv[k]
                for k in ("worker_id", "job_id", "firm_id", "booth", "start", "end")
                if k in iv
            }
            for iv in plan.get("interviews", [])
        ],
        "unscheduled": plan.get("unscheduled", []),
        "solver": plan.get("stats") if plan else None,
    }
    if changes is not None:
        body["changes"] = changes
    return body


def _get_fair(fair_id: int) -> Fair:
    fair = get_session().get(Fair, fair_id)
    if fair is None:
        raise auth.not_found("fair", fair_id)
    principal = auth.current()
    if principal.role == "bureau" and not principal.in_region(fair.county_code):
        raise auth.not_found("fair", fair_id)
    return fair


@operation(
    bp,
    "POST",
    "/fairs",
    summary="创建专场招聘会",
    roles=ROLES,
    body=s.FairCreate,
    response=s.Fair,
    status=201,
    etag=True,
)
def create_fair(body: s.FairCreate) -> Response:
    auth.check_county(body.county_code)
    session = get_session()
    fair = Fair(**body.model_dump(), status="draft")
    session.add(fair)
    session.flush()
    audit("create", "fair", fair.id, sorted(body.model_fields_set))
    commit(sync_engine=False)
    return created(fair_json(fair), url_for("fairs.get_fair", fair_id=fair.id), fair.version)


@operation(
    bp,
    "GET",
    "/fairs/<id:fair_id>",
    summary="查看招聘会及其安排",
    roles=ROLES,
    response=s.Fair,
    scope="fair",
    etag=True,
)
def get_fair(fair_id: int) -> Response:
    fair = _get_fair(fair_id)
    return with_etag(jsonify(fair_json(fair)), fair.version)


def _county_inputs(fair: Fair) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    session = get_session()
    worker_ids = list(
        session.scalars(select(Worker.id).where(Worker.county_code == fair.county_code))
    )
    if not worker_ids:
        raise Unprocessable(f"县区 {fair.county_code} 没有登记的劳动力，无法规划招聘会。")
    jobs = pd.DataFrame(
        session.execute(
            select(Job.id, Job.firm_id, Job.headcount, Job.hired_count, Job.status).where(
                Job.status == "open", Job.hired_count < Job.headcount
            )
        ).all(),
        columns=["job_id", "firm_id", "headcount", "hired_count", "status"],
    )
    if jobs.empty:
        raise Unprocessable("当前没有在招且有空余名额的岗位，无法规划招聘会。")
    candidates = get_matching().candidates(worker_ids, CANDIDATES_PER_WORKER)
    candidates = candidates[candidates["job_id"].isin(jobs["job_id"])][
        ["worker_id", "job_id", "score"]
    ].copy()
    if candidates.empty:
        raise Unprocessable(
            f"县区 {fair.county_code} 的劳动力没有符合硬性条件的在招岗位，无法规划招聘会。"
        )
    candidates["score"] = candidates["score"].clip(0.0, 1.0)
    firm_ids = sorted(set(jobs["firm_id"]))
    firms = pd.DataFrame(
        session.execute(select(Firm.id, Firm.name).where(Firm.id.in_(firm_ids))).all(),
        columns=["firm_id", "firm_name"],
    )
    workers = pd.DataFrame({"worker_id": worker_ids})
    return candidates, jobs, workers, firms


def _store_plan(fair: Fair, plan: dict[str, Any], status: str) -> None:
    """Keep the plan on the fair and in the row tables, whose unique keys guard against clashes."""
    session = get_session()
    for model in (FairInterview, FairInvitation, FairFirm):
        session.execute(delete(model).where(model.fair_id == fair.id))
    session.add_all(
        FairFirm(fair_id=fair.id, firm_id=f["firm_id"], booths=1) for f in plan["firms"]
    )
    session.add_all(
        FairInvitation(fair_id=fair.id, worker_id=i["worker_id"]) for i in plan["invitations"]
    )
    session.add_all(
        FairInterview(
            fair_id=fair.id,
            worker_id=iv["worker_id"],
            job_id=iv["job_id"],
            firm_id=iv["firm_id"],
            booth=iv["booth"],
            start=dt.datetime.fromisoformat(iv["start"]),
            end=dt.datetime.fromisoformat(iv["end"]),
        )
        for iv in plan["interviews"]
    )
    fair.plan = plan
    fair.status = status
    session.flush()


@operation(
    bp,
    "POST",
    "/fairs/<id:fair_id>/plan",
    summary="规划招聘会：邀请企业与劳动力、排面试时间",
    roles=("admin", "organiser", "bureau"),
    body=s.FairPlanRequest,
    response=s.Fair,
    scope="fair",
    etag=True,
    extra_statuses=(409,),
)
def plan(fair_id: int, body: s.FairPlanRequest) -> Response:
    from matcher.fairs import make_slots, plan_fair

    fair = _get_fair(fair_id)
    if fair.status not in ("draft", "planned"):
        raise ApiError(f"招聘会 {fair_id} 的状态为 {fair.status}，不能重新规划。", status=409)
    candidates, jobs, workers, firms = _county_inputs(fair)
    try:
        slots = make_slots(fair.date, fair.start_time, fair.end_time, fair.slot_minutes)
        interviews = min(3, len(slots))
        result = plan_fair(
            candidates,
            jobs,
            workers,
            firms,
            booths=fair.booths,
            slots=slots,
            max_firms=body.max_firms,
            max_workers=body.max_workers,
            interviews_per_worker=interviews,
            time_limit_s=body.time_limit_s,
        )
    except ValueError as exc:
        raise Unprocessable(f"无法规划招聘会：{exc}") from None
    plan_dict = _plain(result.to_dict())
    _store_plan(fair, plan_dict, "planned")
    _record_recommended(plan_dict)
    audit("update", "fair", fair.id, ["plan"])
    commit(sync_engine=False)
    return with_etag(jsonify(fair_json(fair)), fair.version)


def _record_recommended(plan: dict[str, Any]) -> None:
    """An interview at a fair is a recommendation: the reports count it as one."""
    pairs = {(iv["worker_id"], iv["job_id"]) for iv in plan["interviews"]}
    repo.record_recommendations(get_session(), sorted(pairs))


@operation(
    bp,
    "POST",
    "/fairs/<id:fair_id>/replan",
    summary="调整招聘会安排（企业取消、劳动力不能到场）",
    roles=("admin", "organiser", "bureau"),
    body=s.FairReplanRequest,
    response=s.Fair,
    scope="fair",
    etag=True,
    extra_statuses=(409,),
)
def replan(fair_id: int, body: s.FairReplanRequest) -> Response:
    from matcher.fairs import replan_fair

    fair = _get_fair(fair_id)
    if not fair.plan:
        raise ApiError(f"招聘会 {fair_id} 尚未规划；请先 POST /fairs/{fair_id}/plan。", status=409)
    try:
        new_plan, changes = replan_fair(
            fair.plan,
            cancelled_firms=body.cancel_firms,
            absent_workers=body.absent_workers,
            time_limit_s=body.time_limit_s,
        )
    except ValueError as exc:
        raise Unprocessable(f"无法调整招聘会：{exc}") from None
    plan_dict = _plain(new_plan.to_dict())
    changes = _plain(
        [
            {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in c.items()}
            for c in changes
        ]
    )
    _store_plan(fair, plan_dict, fair.status)
    audit("update", "fair", fair.id, ["plan", "replan"])
    commit(sync_engine=False)
    return with_etag(jsonify(fair_json(fair, changes)), fair.version)


_LIST_MEDIA = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
}


def _list_inputs(plan: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    session = get_session()
    worker_ids = sorted(
        {i["worker_id"] for i in plan.get("invitations", [])}
        | {r["worker_id"] for r in plan.get("requests", [])}
    )
    job_ids = sorted({r["job_id"] for r in plan.get("requests", [])})
    firm_ids = sorted({f["firm_id"] for f in plan.get("firms", [])})
    workers = pd.DataFrame(
        session.execute(
            select(
                Worker.id,
                Worker.name,
                Worker.township,
                Worker.village,
                Worker.phone,
                Worker.poverty_registered,
            ).where(Worker.id.in_(worker_ids))
        ).all(),
        columns=["worker_id", "name", "township", "village", "phone", "poverty_registered"],
    )
    firms = pd.DataFrame(
        session.execute(select(Firm.id, Firm.name).where(Firm.id.in_(firm_ids))).all(),
        columns=["firm_id", "firm_name"],
    )
    jobs = pd.DataFrame(
        session.execute(
            select(Job.id, Job.title, Job.certificates_required).where(Job.id.in_(job_ids))
        ).all(),
        columns=["job_id", "title", "certificates_required"],
    )
    return workers, firms, jobs


@operation(
    bp,
    "GET",
    "/fairs/<id:fair_id>/lists",
    summary="打印名单：展位、时间表、面试通知单、按乡镇的邀请名单",
    roles=ROLES,
    query=s.FairListQuery,
    scope="fair",
    files=tuple(_LIST_MEDIA.values()),
    extra_statuses=(409,),
    description=(
        "名单含姓名与电话（供通知与签到）；电话仅对管理员和本辖区人社局完整显示，"
        "其他角色（招聘会组织方）看到的是掩码。每位被列出的劳动力都记入审计日志。"
    ),
)
def lists(fair_id: int, query: s.FairListQuery) -> Response:
    from api import fair_lists
    from data.reference import load_certificates

    fair = _get_fair(fair_id)
    if not fair.plan:
        raise ApiError(f"招聘会 {fair_id} 尚未规划，没有名单可打印。", status=409)
    workers, firms, jobs = _list_inputs(fair.plan)
    if not sees_personal(fair.county_code):
        # Organisers print slips with names, but the phone list is the county bureau's to call.
        workers["phone"] = workers["phone"].map(mask_phone)
    certs = load_certificates()
    names = dict(zip(certs["cert_id"], certs["name"], strict=True))
    try:
        if query.format == "html":
            data: bytes | str = fair_lists.render_html(
                fair.plan, workers, firms, jobs, title=fair.name, certificate_names=names
            )
        elif query.format == "csv":
            data = fair_lists.render_csv(fair.plan, workers, firms, jobs, certificate_names=names)
        else:
            data = fair_lists.render_xlsx(
                fair.plan, workers, firms, jobs, title=fair.name, certificate_names=names
            )
    except ValueError as exc:
        # A worker, firm or job of the plan has since been deleted: say so rather than print a hole.
        raise ApiError(
            f"招聘会 {fair_id} 的安排引用了已删除的数据，请重新规划：{exc}", status=409
        ) from None
    from api.views.workers import audit_personal_reads

    read = (
        ("name", "phone", "township", "village")
        if sees_personal(fair.county_code)
        else (
            "name",
            "township",
            "village",
        )
    )
    audit_personal_reads(workers["worker_id"].tolist(), read)
    commit(sync_engine=False)
    response = Response(data, mimetype=_LIST_MEDIA[query.format].split(";")[0])
    response.headers["Content-Type"] = _LIST_MEDIA[query.format]
    if query.format != "html":
        from urllib.parse import quote

        response.headers["Content-Disposition"] = (
            f"attachment; filename=fair-{fair_id}-lists.{query.format}; "
            f"filename*=UTF-8''{quote(fair.name)}.{query.format}"
        )
    return response
