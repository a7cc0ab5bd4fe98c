"""Dedicated job fairs (专场招聘): create, plan (firms, invitations, CP-SAT timetable), re-plan
after cancellations, and the printable lists — thin over :mod:`api.fair_plans`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, url_for

from api import auth, fair_plans
from api import schemas as s
from api.openapi import operation
from api.service import get_matching, get_session
from api.storage.models import Fair
from api.views import created, with_etag

bp = Blueprint("fairs", __name__)

ROLES = ("admin", "bureau", "organiser")


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
    fair = fair_plans.create_fair(get_session(), auth.current(), body)
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
    fair = fair_plans.get_fair(get_session(), auth.current(), fair_id)
    return with_etag(jsonify(fair_json(fair)), fair.version)


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
    fair = fair_plans.plan(
        get_session(),
        auth.current(),
        get_matching(),
        fair_id,
        max_firms=body.max_firms,
        max_workers=body.max_workers,
        time_limit_s=body.time_limit_s,
        firm_ids=body.firm_ids,
        job_ids=body.job_ids,
        worker_ids=body.worker_ids,
    )
    return with_etag(jsonify(fair_json(fair)), fair.version)


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
    fair, changes = fair_plans.replan(
        get_session(),
        auth.current(),
        fair_id,
        cancel_firms=body.cancel_firms,
        absent_workers=body.absent_workers,
        time_limit_s=body.time_limit_s,
    )
    return with_etag(jsonify(fair_json(fair, changes)), fair.version)


@operation(
    bp,
    "GET",
    "/fairs/<id:fair_id>/lists",
    summary="打印名单：展位、时间表、面试通知单、按乡镇的邀请名单",
    roles=ROLES,
    query=s.FairListQuery,
    scope="fair",
    files=tuple(fair_plans.LIST_MEDIA.values()),
    extra_statuses=(409,),
    description=(
        "名单含姓名与电话（供通知与签到）；电话仅对管理员和本辖区人社局完整显示，"
        "其他角色（招聘会组织方）看到的是掩码。每位被列出的劳动力都记入审计日志。"
    ),
)
def lists(fair_id: int, query: s.FairListQuery) -> Response:
    fair, data = fair_plans.render_lists(get_session(), auth.current(), fair_id, query.format)
    return Response(data, headers=fair_plans.list_headers(fair, query.format))


@operation(
    bp,
    "POST",
    "/fairs/<id:fair_id>/refill",
    summary="补排空位：取消的面试空出的时段排给未排上的劳动力，其余面试不动",
    roles=ROLES,
    body=s.FairRefillRequest,
    response=s.Fair,
    scope="fair",
    etag=True,
    extra_statuses=(409,),
)
def refill(fair_id: int, body: s.FairRefillRequest) -> Response:
    fair, changes = fair_plans.replan(
        get_session(), auth.current(), fair_id, time_limit_s=body.time_limit_s
    )
    return with_etag(jsonify(fair_json(fair, changes)), fair.version)


@operation(
    bp,
    "POST",
    "/fairs/<id:fair_id>/interviews/move",
    summary="调整一场面试的时间（同一展位，不会与其他面试冲突）",
    roles=ROLES,
    body=s.FairMoveRequest,
    response=s.Fair,
    scope="fair",
    etag=True,
    extra_statuses=(409,),
)
def move_interview(fair_id: int, body: s.FairMoveRequest) -> Response:
    fair, change = fair_plans.move_interview(
        get_session(), auth.current(), fair_id, body.worker_id, body.firm_id, body.start
    )
    return with_etag(jsonify(fair_json(fair, [change])), fair.version)


@operation(
    bp,
    "POST",
    "/fairs/<id:fair_id>/interviews/cancel",
    summary="取消一场面试（其余面试不动；补排空位见 refill）",
    roles=ROLES,
    body=s.FairInterviewRef,
    response=s.Fair,
    scope="fair",
    etag=True,
    extra_statuses=(409,),
)
def cancel_interview(fair_id: int, body: s.FairInterviewRef) -> Response:
    fair, change = fair_plans.cancel_interview(
        get_session(), auth.current(), fair_id, body.worker_id, body.firm_id
    )
    return with_etag(jsonify(fair_json(fair, [change])), fair.version)


@operation(
    bp,
    "POST",
    "/fairs/<id:fair_id>/status",
    summary="发布、结束或取消招聘会",
    roles=ROLES,
    body=s.FairStatusChange,
    response=s.Fair,
    scope="fair",
    etag=True,
    extra_statuses=(409,),
    description="publish：已规划 → 已发布；finish：已发布 → 已结束；cancel：未结束 → 已取消。"
    "其他状态变化为 409。已结束或已取消的招聘会不能再调整安排。",
)
def change_status(fair_id: int, body: s.FairStatusChange) -> Response:
    fair = fair_plans.change_status(get_session(), auth.current(), fair_id, body.action)
    return with_etag(jsonify(fair_json(fair)), fair.version)
