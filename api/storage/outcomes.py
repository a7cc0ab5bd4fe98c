"""Outcome events are facts with an owner and an order.

What the ranker learns from (hired and still employed after 6 months) is only as good as these
rows, so the rules of what may be recorded live here, as plain functions shared by the write path
(``POST /outcomes`` through :func:`record_checked_outcome`) and by training
(:func:`filter_training_events`, which ``jobbridge train`` calls):

Who witnesses a stage
    :data:`WITNESSES`: the firm's HR sees interviews, hires and departures of its own jobs'
    applicants; the worker's bureau asks the follow-up questions (still employed after 3 and 6
    months, left) and records applications of its workers; ``recommended`` is written by the
    service itself (fair plans, allocations); admin may record anything.
The order of a pair's stages
    :data:`PREREQUISITES`: an interview or a hire needs an earlier recommendation, application
    (or interview); retention and departure need a hire; nothing is retained after it left; a
    stage happens once per pair. Dates lie between the worker's registration and today
    (China Standard Time: users are there).
Corrections
    A wrong event is never edited: a new event names it in ``corrects`` and replaces it; the
    corrected one stays in the table (and in the audit trail) but no longer counts.

The bare writes and reads (:func:`record_outcome`, :func:`record_recommendations`,
:func:`list_outcomes`) live here too; only :func:`record_checked_outcome` applies the rules.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from data.schema import OUTCOME_STAGES

from . import changes
from .errors import Conflict, Invalid, StorageError
from .fields import coerce
from .jobs import get_job
from .models import Job, OutcomeEvent, Worker, utcnow
from .rows import Page, paginate, savepoint
from .workers import get_worker

#: Stages each role may record (the ones its people witness).
WITNESSES: dict[str, frozenset[str]] = {
    "admin": frozenset(OUTCOME_STAGES),
    "hr": frozenset({"interviewed", "hired", "left"}),
    "bureau": frozenset({"applied", "retained_3m", "retained_6m", "left"}),
    "organiser": frozenset(),
}

#: Stages that make a worker an applicant of a job (what HR may then record about them).
APPLICANT_STAGES = ("recommended", "applied", "interviewed")

#: Stages a pair may have more than once: the service recommends a worker to a job at every
#: fair plan and allocation that pairs them.
REPEATABLE = frozenset({"recommended"})

#: A stage needs one of these recorded for the same pair on the same day or before.
PREREQUISITES: dict[str, tuple[str, ...]] = {
    "recommended": (),
    "applied": (),
    "interviewed": ("recommended", "applied"),
    "hired": APPLICANT_STAGES,
    "retained_3m": ("hired",),
    "retained_6m": ("hired",),
    "left": ("hired",),
}

STAGE_NAMES = {
    "recommended": "推荐",
    "applied": "投递",
    "interviewed": "面试",
    "hired": "录用",
    "retained_3m": "在岗3个月",
    "retained_6m": "在岗6个月",
    "left": "离职",
}

#: Why an event does not count, as ``jobbridge train`` reports it.
REASONS: dict[str, str] = {
    "corrected": "已被更正",
    "unknown_stage": "阶段未知",
    "unknown_pair": "劳动力或岗位已不存在",
    "future": "日期在今天之后",
    "before_registration": "日期早于劳动力登记日期",
    "out_of_order": "缺少前一阶段（如未录用就记在岗）或晚于离职",
    "duplicate": "同一劳动力与岗位的同一阶段重复记录",
    "too_early": "在岗3个月/6个月的日期距录用不足 89/181 天",
}

#: Days after the hire before a retention can be known: the shortest three and six calendar
#: months (1 February to 1 May, 1 January to 1 July of a common year). A follow-up answer
#: dated earlier is a guess, not a fact.
RETENTION_DAYS = {"retained_3m": 89, "retained_6m": 181}

_RANK = {stage: i for i, stage in enumerate(OUTCOME_STAGES)}
CHINA = dt.timezone(dt.timedelta(hours=8), "CST")


def today_in_china() -> dt.date:
    """Today where the users are (UTC+8, no daylight saving): the latest date an event may have."""
    return dt.datetime.now(CHINA).date()


def stage_label(stage: str) -> str:
    return f"{STAGE_NAMES.get(stage, stage)}（{stage}）"


# --------------------------------------------------------------------------- the order of a pair
def pair_reasons(
    events: Sequence[tuple[str, dt.date]],
    *,
    registered_at: dt.date | None,
    today: dt.date,
) -> list[str | None]:
    """Why each event of one (worker, job) pair does not count, ``None`` where it does.

    ``events`` are the pair's standing events (corrected ones removed), in any order. They are
    read in the order they happened (date, then the funnel's order, then as given); each is
    checked against those kept before it.

    >>> d = dt.date
    >>> pair_reasons([("retained_6m", d(2026, 9, 1)), ("hired", d(2026, 3, 1))],
    ...              registered_at=d(2026, 1, 1), today=d(2026, 10, 1))
    ['out_of_order', 'out_of_order']
    >>> pair_reasons([("recommended", d(2026, 2, 1)), ("hired", d(2026, 3, 1)),
    ...               ("retained_6m", d(2026, 9, 1)), ("retained_3m", d(2026, 4, 1))],
    ...              registered_at=d(2026, 1, 1), today=d(2026, 10, 1))
    [None, None, None, 'too_early']
    """
    reasons: list[str | None] = [None] * len(events)
    order = sorted(range(len(events)), key=lambda i: (events[i][1], _RANK.get(events[i][0], 99), i))
    seen: set[str] = set()
    left = False
    hired: dt.date | None = None
    for i in order:
        stage, day = events[i]
        if stage not in _RANK:
            reasons[i] = "unknown_stage"
        elif day > today:
            reasons[i] = "future"
        elif registered_at is not None and day < registered_at:
            reasons[i] = "before_registration"
        elif stage in seen and stage not in REPEATABLE:
            reasons[i] = "duplicate"
        elif PREREQUISITES[stage] and not seen.intersection(PREREQUISITES[stage]):
            reasons[i] = "out_of_order"
        elif left and stage in RETENTION_DAYS:
            reasons[i] = "out_of_order"
        elif stage in RETENTION_DAYS and (day - hired).days < RETENTION_DAYS[stage]:
            reasons[i] = "too_early"
        else:
            seen.add(stage)
            left = left or stage == "left"
            hired = day if stage == "hired" else hired
    return reasons


# --------------------------------------------------------------------------- training
@dataclass
class FilteredEvents:
    """What :func:`filter_training_events` returns: the events that count and why others not."""

    kept: pd.DataFrame
    dropped: Counter[str]

    @property
    def n_dropped(self) -> int:
        return sum(self.dropped.values())

    def report(self) -> str:
        """One Chinese line for the CLI: how many were dropped, by reason."""
        if not self.dropped:
            return f"就业结果事件 {len(self.kept)} 条全部通过检查。"
        parts = "；".join(f"{REASONS[r]} {n} 条" for r, n in self.dropped.most_common())
        return f"就业结果事件：采用 {len(self.kept)} 条，舍弃 {self.n_dropped} 条（{parts}）。"


def filter_training_events(
    events: pd.DataFrame,
    workers: pd.DataFrame,
    jobs: pd.DataFrame | None = None,
    *,
    today: dt.date | None = None,
) -> FilteredEvents:
    """Keep the events that pass the rules of this module; count the others by reason.

    Parameters
    ----------
    events : DataFrame
        ``worker_id, job_id, stage, date`` and optionally ``id`` and ``corrects`` (an event
        whose id another event's ``corrects`` names is dropped as ``corrected``).
    workers : DataFrame
        ``worker_id, registered_at``.
    jobs : DataFrame, optional
        ``job_id``: events of jobs not in it are dropped (as are those of unknown workers).
    today : date, optional
        Latest allowed date; today in China by default.

    Returns
    -------
    FilteredEvents
        ``kept`` has the columns of ``events`` in their original order.
    """
    today = today or today_in_china()
    dropped: Counter[str] = Counter()
    frame = events.reset_index(drop=True)
    keep = pd.Series(True, index=frame.index)
    if "corrects" in frame and "id" in frame:
        corrected = frame["id"].isin(frame["corrects"].dropna().astype("int64"))
        if corrected.any():
            dropped["corrected"] += int(corrected.sum())
        keep &= ~corrected
    registered = dict(zip(workers["worker_id"], workers["registered_at"], strict=True))
    known = frame["worker_id"].isin(registered.keys())
    if jobs is not None:
        known &= frame["job_id"].isin(jobs["job_id"])
    unknown = keep & ~known
    if unknown.any():
        dropped["unknown_pair"] += int(unknown.sum())
    keep &= known
    dates = frame["date"].map(_as_date)
    standing = frame.index[keep.to_numpy()]
    stages, days = frame["stage"].to_numpy(), dates.to_numpy()
    workers_of = frame["worker_id"].to_numpy()
    for index in frame.loc[standing].groupby(["worker_id", "job_id"], sort=False).indices.values():
        rows = standing[index]
        reasons = pair_reasons(
            [(stages[r], days[r]) for r in rows],
            registered_at=_as_date(registered[workers_of[rows[0]]]),
            today=today,
        )
        for row, reason in zip(rows, reasons, strict=True):
            if reason is not None:
                keep[row] = False
                dropped[reason] += 1
    return FilteredEvents(kept=frame[keep.to_numpy()].reset_index(drop=True), dropped=dropped)


def _as_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return pd.Timestamp(value).date()


def read_events(session: Session) -> pd.DataFrame:
    """Every stored event with its ``id`` and ``corrects`` (what the training filter needs)."""
    result = session.execute(
        select(
            OutcomeEvent.id,
            OutcomeEvent.worker_id,
            OutcomeEvent.job_id,
            OutcomeEvent.stage,
            OutcomeEvent.date,
            OutcomeEvent.corrects,
        ).order_by(OutcomeEvent.id)
    )
    return pd.DataFrame(
        result.all(), columns=["id", "worker_id", "job_id", "stage", "date", "corrects"]
    )


# --------------------------------------------------------------------------- storing events
def record_outcome(
    session: Session,
    worker_id: int,
    job_id: int,
    stage: str,
    date: dt.date | str | None = None,
    *,
    corrects: OutcomeEvent | None = None,
) -> OutcomeEvent:
    """Record one outcome step. ``hired`` also counts against the job's headcount and marks the
    job ``filled`` when the headcount is reached (the engine stops offering it).

    This is the write alone; who may record what, and in which order, is
    :func:`api.storage.outcomes.record_checked_outcome`, which the API calls. With ``corrects``
    the new event replaces that one: a corrected hire stops counting (and reopens the job it
    had filled); :class:`Conflict` when the event was corrected already.
    """
    if stage not in OUTCOME_STAGES:
        raise Invalid(
            [
                {
                    "row": None,
                    "field": "stage",
                    "message": f"阶段 {stage!r} 未知，可选：{', '.join(OUTCOME_STAGES)}",
                }
            ]
        )
    day = dt.date.today() if date is None else _coerce_date_or_invalid(date)
    get_worker(session, worker_id)
    job = get_job(session, job_id)
    event = OutcomeEvent(
        worker_id=worker_id,
        job_id=job_id,
        stage=stage,
        date=day,
        corrects=None if corrects is None else corrects.id,
    )
    hires = int(stage == "hired") - int(corrects is not None and corrects.stage == "hired")
    try:
        with savepoint(session, "job", job, job.version):
            session.add(event)
            if hires:
                job.hired_count = max(job.hired_count + hires, 0)
                if hires > 0 and job.status == "open" and job.hired_count >= job.headcount:
                    job.status = "filled"
                elif hires < 0 and job.status == "filled" and job.hired_count < job.headcount:
                    job.status = "open"  # the hire that filled it was a mistake
    except IntegrityError:
        # The unique constraint on ``corrects``: a concurrent correction of the same event won.
        raise Conflict(
            f"就业结果 {corrects.id if corrects else ''} 已被更正过；请更正最新的那条记录。"
        ) from None
    return event


def record_recommendations(
    session: Session, pairs: Iterable[tuple[int, int]], date: dt.date | None = None
) -> list[int]:
    """Record a ``recommended`` event for each ``(worker_id, job_id)`` in one statement (an
    allocation or a fair plan recommends thousands at once); return the events' ids."""
    rows = [
        {
            "worker_id": int(w),
            "job_id": int(j),
            "stage": "recommended",
            "date": date or dt.date.today(),
            "created_at": utcnow(),
        }
        for w, j in pairs
    ]
    if not rows:
        return []
    stmt = insert(OutcomeEvent).returning(OutcomeEvent.id, sort_by_parameter_order=True)
    ids = list(session.scalars(stmt, rows))
    changes.record(session, "outcome", ids)
    return ids


def _coerce_date_or_invalid(value: Any) -> dt.date:
    try:
        return coerce("date", "date", value)
    except ValueError as exc:
        raise Invalid([{"row": None, "field": "date", "message": str(exc)}]) from None


def list_outcomes(
    session: Session,
    *,
    worker_id: int | None = None,
    job_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
    after: int | None = None,
    with_total: bool = True,
) -> Page[OutcomeEvent]:
    """List outcome events of a worker and/or a job."""
    stmt = select(OutcomeEvent)
    if worker_id is not None:
        stmt = stmt.where(OutcomeEvent.worker_id == worker_id)
    if job_id is not None:
        stmt = stmt.where(OutcomeEvent.job_id == job_id)
    return paginate(
        session,
        stmt,
        OutcomeEvent.id,
        limit=limit,
        offset=offset,
        after=after,
        with_total=with_total,
    )


# --------------------------------------------------------------------------- the write path
class NotWitness(StorageError):
    """The caller's role does not witness this stage (403)."""

    status = 403
    title = "无权访问"


def witness_error(role: str, stage: str) -> NotWitness | None:
    """403 when ``role`` may not record ``stage`` (names no worker, job or event)."""
    allowed = WITNESSES.get(role, frozenset())
    if stage in allowed:
        return None
    which = "、".join(stage_label(s) for s in OUTCOME_STAGES if s in allowed) or "无"
    return NotWitness(f"该角色不能记录“{stage_label(stage)}”；可记录的阶段：{which}。")


def standing_pair_events(session: Session, worker_id: int, job_id: int) -> list[OutcomeEvent]:
    """The pair's events that count: every one no later event corrects."""
    rows = list(
        session.scalars(
            select(OutcomeEvent)
            .where(OutcomeEvent.worker_id == worker_id, OutcomeEvent.job_id == job_id)
            .order_by(OutcomeEvent.id)
        )
    )
    corrected = {r.corrects for r in rows if r.corrects is not None}
    return [r for r in rows if r.id not in corrected]


def is_applicant(session: Session, worker_id: int, job_id: int) -> bool:
    """True when a standing event makes the worker an applicant of the job."""
    return any(
        e.stage in APPLICANT_STAGES for e in standing_pair_events(session, worker_id, job_id)
    )


def has_events(session: Session, worker_id: int, job_id: int) -> bool:
    return (
        session.scalar(
            select(OutcomeEvent.id)
            .where(OutcomeEvent.worker_id == worker_id, OutcomeEvent.job_id == job_id)
            .limit(1)
        )
        is not None
    )


def order_error(
    standing: Sequence[OutcomeEvent],
    stage: str,
    day: dt.date,
    *,
    registered_at: dt.date | None,
    today: dt.date | None = None,
) -> StorageError | None:
    """Why ``stage`` on ``day`` may not join the pair's ``standing`` events (``None``: it may).

    The whole pair is checked with the new event in it, so an event that would make a recorded
    one fall out of order (a departure before a recorded 6-month retention) is refused too.
    """
    today = today or today_in_china()
    pairs = [(e.stage, e.date) for e in standing] + [(stage, day)]
    reasons = pair_reasons(pairs, registered_at=registered_at, today=today)
    new = reasons[-1]
    label = stage_label(stage)
    if new == "future":
        return _invalid("date", f"日期 {day.isoformat()} 在今天（{today.isoformat()}）之后")
    if new == "before_registration":
        return _invalid(
            "date",
            f"日期 {day.isoformat()} 早于该劳动力的登记日期 {registered_at.isoformat()}",
        )
    if new == "duplicate":
        same = next(e for e in standing if e.stage == stage)
        return Conflict(
            f"该劳动力在该岗位的“{label}”已有记录（就业结果 {same.id}，{same.date.isoformat()}）；"
            f"如有误，请提交一条 corrects 为 {same.id} 的更正记录。"
        )
    if new == "too_early":
        hire = next(e for e in standing if e.stage == "hired")
        days = RETENTION_DAYS[stage]
        earliest = hire.date + dt.timedelta(days=days)
        return _invalid(
            "date",
            f"“{label}”的日期 {day.isoformat()} 距录用（{hire.date.isoformat()}）不足 {days} "
            f"天；最早为 {earliest.isoformat()}",
        )
    if new == "out_of_order":
        needed = "、".join(stage_label(s) for s in PREREQUISITES[stage])
        return _invalid(
            "stage",
            f"“{label}”须在同一劳动力与岗位的{needed}之后（同日或更晚），且不能晚于离职；"
            f"{day.isoformat()} 之前没有这样的记录",
        )
    broken = [(e, r) for e, r in zip(standing, reasons, strict=False) if r is not None]
    if broken:
        event, _ = broken[0]
        return _invalid(
            "stage",
            f"记录“{label}”（{day.isoformat()}）后，已有的“{stage_label(event.stage)}”"
            f"（就业结果 {event.id}，{event.date.isoformat()}）将不合顺序",
        )
    return None


def next_stages(
    role: str, standing: Sequence[OutcomeEvent], *, today: dt.date | None = None
) -> list[str]:
    """The stages ``role`` may record next for a pair whose standing events are ``standing``,
    dated today (what an outcome form offers; :func:`order_error` still checks what is sent).

    >>> next_stages("bureau", [])
    ['applied']
    >>> next_stages("hr", [])
    []
    """
    today = today or today_in_china()
    have = {e.stage for e in standing}
    hire = next((e.date for e in standing if e.stage == "hired"), None)
    out = []
    for stage in OUTCOME_STAGES:
        if stage not in WITNESSES.get(role, ()):
            continue
        if stage in have and stage not in REPEATABLE:
            continue
        needs = PREREQUISITES[stage]
        if needs and not have & set(needs):
            continue
        if stage in RETENTION_DAYS:
            if "left" in have or hire is None:
                continue
            if (today - hire).days < RETENTION_DAYS[stage]:
                continue
        out.append(stage)
    return out


def _invalid(field: str, message: str) -> Invalid:
    return Invalid([{"row": None, "field": field, "message": message}])


def record_checked_outcome(
    session: Session,
    *,
    worker: Worker,
    job: Job,
    stage: str,
    day: dt.date,
    corrects: OutcomeEvent | None = None,
    today: dt.date | None = None,
) -> OutcomeEvent:
    """Record one event after the order rules (who may record it is the caller's check).

    With ``corrects``, the new event replaces that one (same worker and job): the rules run on
    the pair without it, the job's hire count follows (a corrected hire no longer counts), and
    a second correction of the same event is a :class:`Conflict`.
    """
    standing = standing_pair_events(session, worker.id, job.id)
    if corrects is not None:
        if (corrects.worker_id, corrects.job_id) != (worker.id, job.id):
            raise _invalid(
                "corrects",
                f"更正记录须与被更正的就业结果 {corrects.id} 属于同一劳动力与岗位",
            )
        if corrects.id not in {e.id for e in standing}:
            raise Conflict(f"就业结果 {corrects.id} 已被更正过；请更正最新的那条记录。")
        standing = [e for e in standing if e.id != corrects.id]
    error = order_error(standing, stage, day, registered_at=worker.registered_at, today=today)
    if error is not None:
        raise error
    return record_outcome(session, worker.id, job.id, stage, day, corrects=corrects)


__all__ = [
    "APPLICANT_STAGES",
    "PREREQUISITES",
    "REASONS",
    "WITNESSES",
    "FilteredEvents",
    "NotWitness",
    "filter_training_events",
    "has_events",
    "is_applicant",
    "next_stages",
    "order_error",
    "pair_reasons",
    "read_events",
    "record_checked_outcome",
    "standing_pair_events",
    "today_in_china",
    "witness_error",
]
