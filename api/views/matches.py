"""Ranked matches: jobs for a worker, workers for a job (the engine of :mod:`api.service`)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from sqlalchemy import select

from api import auth, storage
from api import schemas as s
from api.openapi import operation
from api.service import commit, get_matching, get_session
from api.storage.models import Worker
from api.views.workers import audit_personal_reads

bp = Blueprint("matches", __name__)

#: How many candidates a bureau's view of a job's matches draws from before keeping its own.
_BUREAU_POOL = 2000


def mask_phone(phone: str | None) -> str:
    """``13812345678`` → ``138****5678``."""
    if not phone:
        return ""
    return (
        phone[:3] + "*" * max(len(phone) - 7, 0) + phone[-4:]
        if len(phone) > 7
        else "*" * len(phone)
    )


@operation(
    bp,
    "GET",
    "/workers/<id:worker_id>/matches",
    summary="为劳动力推荐岗位",
    roles=("admin", "bureau"),
    query=s.MatchQuery,
    response=s.JobMatches,
    scope="worker",
    tag="matches",
)
def worker_matches(worker_id: int, query: s.MatchQuery) -> Response:
    get_session(read_only=True)  # the feed check below reads on the request's session
    matching = get_matching()
    # The worker's county comes with the change feed's check, in one statement.
    county = matching.read_synced(storage.county_of(worker_id))
    if county is None:
        raise storage.NotFound("worker", worker_id)
    auth.check_worker_scope(worker_id, county)
    results = matching.recommend_jobs(worker_id, query.limit, synced=True)
    # Firm ids and names come with the engine's answer (kept in step with firm renames).
    items: list[dict[str, Any]] = [
        {
            "job_id": r["job_id"],
            "score": round(float(r["score"]), 6),
            "reasons": list(r.get("reasons") or []),
            "rank": rank,
            "p_success": r.get("p_success"),
            "title": r.get("title"),
            "firm_id": r.get("firm_id"),
            "firm_name": r.get("firm_name"),
            "city": r.get("city"),
            "wage_min": r.get("wage_min"),
            "wage_max": r.get("wage_max"),
        }
        for rank, r in enumerate(results, start=1)
    ]
    # The engine's answer says so when no job of the worker's own trade passes the hard rules.
    notice = getattr(results, "notice", None)
    return jsonify({"items": items, "model_version": matching.model_version, "notice": notice})


@operation(
    bp,
    "GET",
    "/jobs/<id:job_id>/matches",
    summary="为岗位推荐劳动力",
    roles=("admin", "hr", "bureau"),
    query=s.MatchQuery,
    response=s.WorkerMatches,
    scope="job",
    tag="matches",
    description="hr 看到的身份证号与手机号已打码；bureau 只看到本辖区的劳动力。",
)
def job_matches(job_id: int, query: s.MatchQuery) -> Response:
    session = get_session(read_only=True)
    job = storage.get_job(session, job_id)
    auth.check_job(job)
    principal = auth.current()
    matching = get_matching()
    k = query.limit
    pool = max(k, _BUREAU_POOL) if principal.role == "bureau" else k
    results = matching.recommend_workers(job_id, pool)
    ids = [r["worker_id"] for r in results]
    workers = (
        {w.id: w for w in session.scalars(select(Worker).where(Worker.id.in_(ids)))} if ids else {}
    )
    items: list[dict[str, Any]] = []
    for r in results:
        worker = workers.get(r["worker_id"])
        if worker is None:
            continue
        if principal.role == "bureau" and not principal.in_region(worker.county_code):
            continue
        items.append(
            {
                "worker_id": worker.id,
                "score": round(float(r["score"]), 6),
                "reasons": list(r.get("reasons") or []),
                "rank": len(items) + 1,
                "p_success": r.get("p_success"),
                "name": worker.name,
                # Masked for everyone here: the full number is one audited GET /workers/{id} away.
                "id_number": worker.id_masked,
                "phone": mask_phone(worker.phone),
                "county_code": worker.county_code,
                "education": worker.education,
            }
        )
        if len(items) >= k:
            break
    audit_personal_reads([it["worker_id"] for it in items], ("name", "id_masked", "phone_masked"))
    commit(sync_engine=False)
    return jsonify({"items": items, "model_version": matching.model_version})
