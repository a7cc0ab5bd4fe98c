"""Outcome events (applied, interviewed, hired, retained 3/6 months, left): what retrains
the ranker, so each is a fact with an owner and an order (:mod:`api.storage.outcomes`).

Who may record what: HR the interviews, hires and departures of its own jobs' applicants; a
bureau the applications and follow-up answers of its own workers; admin anything. A worker,
job or event outside the caller's scope is answered exactly as one that does not exist.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, url_for

from api import auth, storage
from api import schemas as s
from api.errors import NotFoundError
from api.openapi import operation
from api.service import audit, commit, get_session
from api.storage import outcomes as rules
from api.storage.errors import NotFound
from api.storage.models import Job, OutcomeEvent, Worker
from api.views import created

bp = Blueprint("outcomes", __name__)


def outcome_json(event: OutcomeEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "worker_id": event.worker_id,
        "job_id": event.job_id,
        "stage": event.stage,
        "date": event.date,
        "corrects": event.corrects,
        "created_at": event.created_at,
    }


def _check_pair(worker_id: int, job_id: int) -> None:
    """hr may read events of its jobs, a bureau of its workers (404 outside, as elsewhere)."""
    session = get_session()
    worker = storage.get_worker(session, worker_id)
    job = storage.get_job(session, job_id)
    principal = auth.current()
    if principal.role == "hr" and job.firm_id != principal.firm_id:
        raise auth.not_found("job", job_id)
    if principal.role == "bureau" and not principal.in_region(worker.county_code):
        raise auth.not_found("worker", worker_id)


def _pair_for_writing(worker_id: int, job_id: int) -> tuple[Worker, Job]:
    """The worker and job a caller may record an event of, or the 404 of an absent one.

    hr: its own job (checked first), and a worker who is an applicant of it; bureau: its own
    worker (checked first), and an open job or one the worker already has events with. Each
    refusal reads exactly as the object's absence, so no answer tells whether it exists.
    """
    session = get_session()
    principal = auth.current()
    if principal.role == "hr":
        job = session.get(Job, job_id)
        if job is None or job.firm_id != principal.firm_id:
            raise auth.not_found("job", job_id)
        worker = session.get(Worker, worker_id)
        if worker is None or not rules.is_applicant(session, worker_id, job_id):
            raise auth.not_found("worker", worker_id)
        return worker, job
    worker = session.get(Worker, worker_id)
    if worker is None or not principal.in_region(worker.county_code):
        raise auth.not_found("worker", worker_id)
    job = session.get(Job, job_id)
    if job is None or (
        principal.role != "admin"
        and job.status != "open"
        and not rules.has_events(session, worker_id, job_id)
    ):
        raise auth.not_found("job", job_id)
    return worker, job


def _visible_event(outcome_id: int) -> OutcomeEvent:
    event = get_session().get(OutcomeEvent, outcome_id)
    if event is None:
        raise auth.not_found("outcome", outcome_id)
    try:
        _check_pair(event.worker_id, event.job_id)
    except (NotFoundError, NotFound):
        raise auth.not_found("outcome", outcome_id) from None
    return event


@operation(
    bp,
    "POST",
    "/outcomes",
    summary="记录就业结果（投递、面试、录用、在岗3/6个月、离职），或更正一条",
    roles=("admin", "hr", "bureau"),
    body=s.OutcomeCreate,
    response=s.Outcome,
    status=201,
    description=(
        "企业人力资源记录本企业岗位应聘者的面试、录用、离职；劳务部门记录本辖区劳动力的投递与"
        "回访（在岗3个月、在岗6个月、离职）。阶段须按顺序，日期不晚于今天、不早于登记日期。"
        "记错了不修改原记录：提交一条 corrects 为原记录 ID 的新记录。"
    ),
)
def create_outcome(body: s.OutcomeCreate) -> Response:
    role = auth.current().role
    refusal = rules.witness_error(role, body.stage)
    if refusal is not None:
        raise refusal
    worker, job = _pair_for_writing(body.worker_id, body.job_id)
    corrected = None
    if body.corrects is not None:
        corrected = _visible_event(body.corrects)
        refusal = rules.witness_error(role, corrected.stage)
        if refusal is not None:
            raise refusal
    session = get_session()
    event = rules.record_checked_outcome(
        session, worker=worker, job=job, stage=body.stage, day=body.date, corrects=corrected
    )
    audit("create", "outcome", event.id, ["worker_id", "job_id", "stage", "date", "corrects"])
    if "hired" in (body.stage, corrected.stage if corrected else None):
        # hired_count changed and the job may now be filled (or open again): tell the engine.
        audit("update", "job", body.job_id, ["hired_count", "status"])
    commit()
    return created(outcome_json(event), url_for("outcomes.get_outcome", outcome_id=event.id))


@operation(
    bp,
    "GET",
    "/outcomes/<id:outcome_id>",
    summary="查看一条就业结果",
    response=s.Outcome,
    scope="outcome",
)
def get_outcome(outcome_id: int) -> Response:
    return jsonify(outcome_json(_visible_event(outcome_id)))
