"""Searches the pages need beyond the API's list filters: workers by name, trade and where
their placement stands; a job's applicants. Reads only (every write stays in
:mod:`api.storage.rows` and the modules over it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import Session

from .models import Job, OutcomeEvent, Worker

#: Placement states a clerk filters by: no event yet, or the newest event's stage.
NO_EVENTS = "none"


@dataclass
class SearchPage:
    """One page of results, newest first, with the total of every match."""

    items: list[Any]
    total: int
    page: int
    per_page: int
    #: ``{worker_id: newest stage}`` of the workers on the page.
    stages: dict[int, str]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _latest_events():
    """worker_id → id of its newest outcome event (a subquery)."""
    return (
        select(OutcomeEvent.worker_id, func.max(OutcomeEvent.id).label("event_id"))
        .group_by(OutcomeEvent.worker_id)
        .subquery()
    )


def search_workers(
    session: Session,
    *,
    region_prefix: str | None = None,
    name: str | None = None,
    county_code: str | None = None,
    trade: str | None = None,
    status: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> SearchPage:
    """Workers matching every filter given, newest registration first.

    Parameters
    ----------
    region_prefix : str, optional
        A bureau's region: only counties whose code starts with it.
    name : str, optional
        Part of the name.
    county_code : str, optional
        One county (6 digits).
    trade : str, optional
        Part of the skills text or of a desired job (焊工, 缝纫).
    status : str, optional
        :data:`NO_EVENTS` or an outcome stage: the newest event of the worker's placements.
    """
    latest = _latest_events()
    stage = (
        select(OutcomeEvent.stage)
        .where(OutcomeEvent.id == latest.c.event_id)
        .scalar_subquery()
        .label("stage")
    )
    stmt = select(Worker, stage).outerjoin(latest, latest.c.worker_id == Worker.id)
    if region_prefix:
        stmt = stmt.where(Worker.county_code.startswith(region_prefix, autoescape=True))
    if county_code:
        stmt = stmt.where(Worker.county_code == county_code)
    if name:
        stmt = stmt.where(Worker.name.like(_like(name.strip()), escape="\\"))
    if trade:
        pattern = _like(trade.strip())
        stmt = stmt.where(
            or_(
                Worker.skills_text.like(pattern, escape="\\"),
                cast(Worker.desired_jobs, String).like(pattern, escape="\\"),
            )
        )
    if status == NO_EVENTS:
        stmt = stmt.where(latest.c.event_id.is_(None))
    elif status:
        stmt = stmt.where(
            latest.c.event_id.in_(select(OutcomeEvent.id).where(OutcomeEvent.stage == status))
        )
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    page = max(1, page)
    rows = session.execute(
        stmt.order_by(Worker.id.desc()).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return SearchPage(
        items=[r[0] for r in rows],
        total=total,
        page=page,
        per_page=per_page,
        stages={r[0].id: r[1] for r in rows if r[1]},
    )


def pair_events(session: Session, worker_id: int) -> dict[int, list[OutcomeEvent]]:
    """A worker's outcome events by job, oldest first."""
    out: dict[int, list[OutcomeEvent]] = {}
    for event in session.scalars(
        select(OutcomeEvent).where(OutcomeEvent.worker_id == worker_id).order_by(OutcomeEvent.id)
    ):
        out.setdefault(event.job_id, []).append(event)
    return out


def job_applicants(session: Session, job_id: int, limit: int = 200) -> list[tuple[Worker, str]]:
    """Workers with an outcome event for ``job_id`` and their newest stage, newest first."""
    latest = (
        select(OutcomeEvent.worker_id, func.max(OutcomeEvent.id).label("event_id"))
        .where(OutcomeEvent.job_id == job_id)
        .group_by(OutcomeEvent.worker_id)
        .subquery()
    )
    rows = session.execute(
        select(Worker, OutcomeEvent.stage)
        .join(latest, latest.c.worker_id == Worker.id)
        .join(OutcomeEvent, OutcomeEvent.id == latest.c.event_id)
        .order_by(latest.c.event_id.desc())
        .limit(limit)
    ).all()
    return [(r[0], r[1]) for r in rows]


def jobs_by_id(session: Session, job_ids: list[int]) -> dict[int, Job]:
    if not job_ids:
        return {}
    return {j.id: j for j in session.scalars(select(Job).where(Job.id.in_(job_ids)))}


__all__ = [
    "NO_EVENTS",
    "SearchPage",
    "job_applicants",
    "jobs_by_id",
    "pair_events",
    "search_workers",
]
