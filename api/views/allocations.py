"""County-wide allocation: a county's (or a list of) registered workers placed on open jobs at once,
never two on the last place (thin over :mod:`api.allocation_runs`)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, url_for

from api import allocation_runs, auth
from api import schemas as s
from api.openapi import operation
from api.service import get_matching, get_session
from api.storage.models import Allocation
from api.views import created

bp = Blueprint("allocations", __name__)


def allocation_json(row: Allocation) -> dict[str, Any]:
    result = row.result or {}
    return {
        "id": row.id,
        "mode": row.request.get("mode", ""),
        "assignments": result.get("assignments", []),
        "unassigned": result.get("unassigned", []),
        "stats": result.get("stats", {}),
        "created_at": row.created_at,
        "status": row.status,
        "confirmed_at": row.confirmed_at,
        "confirmed_by": row.confirmed_by,
        "dropped": result.get("dropped", []),
    }


@operation(
    bp,
    "POST",
    "/allocations",
    summary="整县（或名单）统一分配岗位",
    roles=("admin", "bureau", "organiser"),
    body=s.AllocationCreate,
    response=s.Allocation,
    status=201,
    description="mode=welfare 最大化预测的录用并稳定在岗总概率；"
    "mode=stable 为劳动力提议的稳定匹配。"
    "不会违反硬性条件，不会超过岗位名额，不会一人两岗。",
)
def create_allocation(body: s.AllocationCreate) -> Response:
    row = allocation_runs.run_allocation(get_session(), auth.current(), get_matching(), body)
    return created(
        allocation_json(row), url_for("allocations.get_allocation", allocation_id=row.id)
    )


@operation(
    bp,
    "GET",
    "/allocations/<id:allocation_id>",
    summary="查看分配方案",
    roles=("admin", "bureau", "organiser"),
    response=s.Allocation,
    scope="allocation",
)
def get_allocation(allocation_id: int) -> Response:
    row = allocation_runs.get_allocation(get_session(), auth.current(), allocation_id)
    return jsonify(allocation_json(row))


#: Confirming or editing a proposal is the county clerk's (as on the county page).
CLERKS = ("admin", "bureau")


@operation(
    bp,
    "POST",
    "/allocations/<id:allocation_id>/drop",
    summary="从待确认的分配方案中删除部分劳动力的分配",
    roles=CLERKS,
    body=s.AllocationDrop,
    response=s.Allocation,
    scope="allocation",
    extra_statuses=(409,),
    description="被删除的分配保留在 dropped 中（谁、何时删除）；确认时只记录留下的分配。"
    "已确认的方案不能再删除（409）。",
)
def drop_proposals(allocation_id: int, body: s.AllocationDrop) -> Response:
    row, _ = allocation_runs.drop_proposals(
        get_session(), auth.current(), allocation_id, body.worker_ids
    )
    return jsonify(allocation_json(row))


@operation(
    bp,
    "POST",
    "/allocations/<id:allocation_id>/confirm",
    summary="确认分配方案（每条留下的分配记为一次推荐）",
    roles=CLERKS,
    response=s.Allocation,
    scope="allocation",
    extra_statuses=(409,),
    description="确认后方案不能再修改；重复确认为 409。",
)
def confirm_allocation(allocation_id: int) -> Response:
    row = allocation_runs.confirm_allocation(get_session(), auth.current(), allocation_id)
    return jsonify(allocation_json(row))
