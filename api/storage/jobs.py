"""Jobs: create, read, update, delete, list, and a job as a :data:`data.schema.JOB_COLUMNS`
record (:func:`job_record`) for JSON or export."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.schema import JOB_COLUMNS, JOB_DEFAULTS, defaults

from .fields import JOB_FIELDS, check_job_ranges, clean, coerce, is_missing
from .firms import get_firm
from .models import Firm, Job
from .rows import Page, add_row, delete_row, get_row, paginate, update_row


def create_job(session: Session, data: Mapping[str, Any]) -> Job:
    """Create a job from a record of :data:`data.schema.JOB_COLUMNS` (``job_id`` optional).

    Raises :class:`Invalid` listing every bad field, :class:`NotFound` for an unknown firm.
    """
    values = {**defaults(JOB_DEFAULTS), **clean(JOB_FIELDS, data, partial=False)}
    check_job_ranges(values)
    get_firm(session, values["firm_id"])
    job = Job(**values)
    if not is_missing(data.get("job_id")):
        job.id = coerce("int", "job_id", data["job_id"])
    add_row(session, job, "job")
    return job


def get_job(session: Session, job_id: int) -> Job:
    """Return the job or raise :class:`NotFound`."""
    return get_row(session, Job, "job", job_id)


def update_job(
    session: Session,
    job_id: int,
    changes: Mapping[str, Any],
    *,
    expected_version: int | frozenset[int] | None,
) -> Job:
    """Apply ``changes`` (any job field); :class:`StaleVersion` if someone saved in between."""
    job = get_job(session, job_id)
    values = clean(JOB_FIELDS, changes, partial=True)
    merged = {name: getattr(job, name) for name in JOB_FIELDS} | values
    check_job_ranges(merged)
    if "firm_id" in values:
        get_firm(session, values["firm_id"])
    return update_row(session, job, "job", values, expected_version)


def delete_job(
    session: Session, job_id: int, *, expected_version: int | frozenset[int] | None = None
) -> None:
    """Delete a job (its outcome events go with it)."""
    delete_row(session, get_job(session, job_id), "job", expected_version)


def list_jobs(
    session: Session,
    *,
    status: str | None = None,
    city: str | None = None,
    occupation_code: str | None = None,
    firm_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
    after: int | None = None,
    with_total: bool = True,
) -> Page[Job]:
    """List jobs by id; filters use the indexes (status, city, occupation, firm)."""
    stmt = select(Job)
    if status is not None:
        coerce("status", "status", status)
        stmt = stmt.where(Job.status == status)
    if city:
        stmt = stmt.where(Job.city == city)
    if occupation_code:
        stmt = stmt.where(Job.occupation_code == occupation_code)
    if firm_id is not None:
        stmt = stmt.where(Job.firm_id == firm_id)
    return paginate(
        session, stmt, Job.id, limit=limit, offset=offset, after=after, with_total=with_total
    )


def job_record(job: Job, firm_name: str | None = None) -> dict[str, Any]:
    """The job as a :data:`data.schema.JOB_COLUMNS` record plus ``version``/timestamps."""
    record = {
        "job_id": job.id,
        "firm_id": job.firm_id,
        "firm_name": firm_name if firm_name is not None else _firm_name(job),
    }
    record.update({name: getattr(job, name) for name in JOB_COLUMNS if name not in record})
    record.update(version=job.version, created_at=job.created_at, updated_at=job.updated_at)
    return record


def _firm_name(job: Job) -> str:
    session = Session.object_session(job)
    if session is None:
        return ""
    return session.scalar(select(Firm.name).where(Firm.id == job.firm_id)) or ""
