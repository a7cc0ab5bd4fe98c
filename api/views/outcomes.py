"""Outcome events (applied, interviewed, hired, retained 3/6 months, left): what retrains
the ranker."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, url_for

from api import auth
from api import schemas as s
from api.errors import NotFoundError
from api.openapi import operation
from api.service import audit, commit, get_session
from api.storage import repository as repo
from api.storage.errors import NotFound
from api.storage.models import OutcomeEvent
from api.views import created

bp = Blueprint("outcomes", __name__)


def outcome_json(event: OutcomeEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "worker_id": event.worker_id,
        "job_id": event.job_id,
        "stage": event.stage,
        "date": event.date,
        "created_at": event.created_at,
    }


def _check_pair(worker_id: int, job_id: int) -> None:
    """hr may record events of its jobs, a bureau of its workers (404 outside, as elsewhere)."""
    session = get_session()
    worker = repo.get_worker(session, worker_id)
    job = repo.get_job(session, job_id)
    principal = auth.current()
    if principal.role == "hr" and job.firm_id != principal.firm_id:
        raise auth.not_found("job", job_id)
    if principal.role == "bureau" and not principal.in_region(worker.county_code):
        raise auth.not_found("worker", worker_id)


@operation(
    bp,
    "POST",
    "/outcomes",
    summary="记录就业结果（投递、面试、录用、在岗3/6个月、离职）",
    body=s.OutcomeCreate,
    response=s.Outcome,
    status=201,
)
def create_outcome(body: s.OutcomeCreate) -> Response:
    _check_pair(body.worker_id, body.job_id)
    session = get_session()
    event = repo.record_outcome(session, body.worker_id, body.job_id, body.stage, body.date)
    audit("create", "outcome", event.id, ["worker_id", "job_id", "stage", "date"])
    if body.stage == "hired":
        # The event also wrote the job (hired_count, maybe status): audited as such.
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
    event = get_session().get(OutcomeEvent, outcome_id)
    if event is None:
        raise auth.not_found("outcome", outcome_id)
    try:
        _check_pair(event.worker_id, event.job_id)
    except (NotFoundError, NotFound):
        raise auth.not_found("outcome", outcome_id) from None
    return jsonify(outcome_json(event))
