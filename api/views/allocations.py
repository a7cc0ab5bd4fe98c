"""County-wide allocation: a county's (or a list of) registered workers placed on open jobs at once,
never two on the last place (thin over :func:`matcher.allocation.allocate`)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from flask import Blueprint, Response, jsonify, url_for
from sqlalchemy import select

from api import auth
from api import schemas as s
from api.errors import Unprocessable
from api.openapi import operation
from api.service import audit, commit, get_matching, get_session
from api.storage import repository as repo
from api.storage.models import Allocation, Job, Worker
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
    }


def _workers(body: s.AllocationCreate) -> pd.DataFrame:
    session = get_session()
    principal = auth.current()
    for county in body.counties:
        auth.check_county(county)
    cols = (Worker.id, Worker.county_code, Worker.poverty_registered, Worker.group_id)
    frames = []
    if body.counties:
        rows = session.execute(select(*cols).where(Worker.county_code.in_(body.counties))).all()
        found = {r.county_code for r in rows}
        empty = [c for c in body.counties if c not in found]
        if empty:
            raise Unprocessable(
                f"县区 {'、'.join(empty)} 没有登记的劳动力，无法分配。",
                errors=[
                    {"field": "counties", "message": f"县区 {c} 没有登记的劳动力"} for c in empty
                ],
            )
        frames.append(
            pd.DataFrame(
                rows, columns=["worker_id", "county_code", "poverty_registered", "group_id"]
            )
        )
    if body.worker_ids:
        ids = list(dict.fromkeys(body.worker_ids))
        rows = session.execute(select(*cols).where(Worker.id.in_(ids))).all()
        visible = [
            r for r in rows if principal.role != "bureau" or principal.in_region(r.county_code)
        ]
        missing = sorted(set(ids) - {r.id for r in visible})
        if missing:
            raise Unprocessable(
                f"劳动力 {'、'.join(map(str, missing[:20]))} 不存在或不在您的辖区内。",
                errors=[
                    {"field": "worker_ids", "message": f"劳动力 {i} 不存在"} for i in missing[:100]
                ],
            )
        frames.append(
            pd.DataFrame(
                visible, columns=["worker_id", "county_code", "poverty_registered", "group_id"]
            )
        )
    workers = pd.concat(frames, ignore_index=True).drop_duplicates("worker_id")
    return workers.sort_values("worker_id").reset_index(drop=True)


def _open_jobs() -> pd.DataFrame:
    rows = (
        get_session()
        .execute(
            select(Job.id, Job.firm_id, Job.headcount, Job.hired_count, Job.city, Job.status).where(
                Job.status == "open", Job.hired_count < Job.headcount
            )
        )
        .all()
    )
    if not rows:
        raise Unprocessable("当前没有在招且有空余名额的岗位，无法分配。")
    return pd.DataFrame(
        rows, columns=["job_id", "firm_id", "headcount", "hired_count", "city", "status"]
    )


def _candidates(worker_ids: list[int], k: int) -> pd.DataFrame:
    def run(engine: Any) -> dict[int, list[dict[str, Any]]]:
        known = [i for i in worker_ids if i in engine.workers_index_]
        return engine.recommend_jobs_batch(known, k=k, with_reasons=True)

    batch = get_matching().with_engine(run)
    rows = [
        {
            "worker_id": wid,
            "job_id": it["job_id"],
            "score": min(max(float(it["score"]), 0.0), 1.0),
            "reasons": list(it.get("reasons") or []),
        }
        for wid, items in batch.items()
        for it in items
    ]
    return pd.DataFrame(rows, columns=["worker_id", "job_id", "score", "reasons"])


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
    from matcher.allocation import allocate

    workers = _workers(body)
    jobs = _open_jobs()
    candidates = _candidates(workers["worker_id"].tolist(), body.options.candidates_per_worker)
    candidates = candidates[candidates["job_id"].isin(jobs["job_id"])]
    if candidates.empty:
        raise Unprocessable("这些劳动力没有任何符合硬性条件的在招岗位，无法分配。")
    try:
        result = allocate(
            candidates,
            jobs,
            workers,
            mode=body.mode,
            poverty_priority=body.options.poverty_priority,
            max_per_firm=body.options.max_per_firm,
            keep_groups=body.options.keep_groups,
        )
    except ValueError as exc:
        raise Unprocessable(f"无法分配：{exc}") from None
    data = _plain(result.to_dict())
    session = get_session()
    request_json = body.model_dump(mode="json")
    request_json["county_codes"] = sorted(set(workers["county_code"]))
    row = Allocation(request=request_json, result=data)
    session.add(row)
    session.flush()
    repo.record_recommendations(
        session, [(a["worker_id"], a["job_id"]) for a in data["assignments"]]
    )
    audit("create", "allocation", row.id, ["counties", "worker_ids", "mode", "options"])
    commit(sync_engine=False)
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
    row = get_session().get(Allocation, allocation_id)
    if row is None:
        raise auth.not_found("allocation", allocation_id)
    principal = auth.current()
    if principal.role == "bureau":
        counties = row.request.get("county_codes", [])
        if not counties or not all(principal.in_region(c) for c in counties):
            raise auth.not_found("allocation", allocation_id)
    return jsonify(allocation_json(row))


def _plain(value: Any) -> Any:
    """numpy scalars and tuples → JSON types (the result is stored as JSON)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()
    if isinstance(value, float) and value != value:
        return None
    return value
