"""The dashboard's figures: registered, recommended, interviewed, hired and still employed at 3
and 6 months, by county, by pairing city and by month of one year, and each county's progress
against its yearly target (:class:`~api.storage.models.CountyTarget`).

Plain functions over a session (the page :mod:`api.web.dashboard` and its XLSX download call
the same ones). A figure is the number of *different workers* who reached a stage that year
(by the event's date), counting only standing events (a corrected event no longer counts, as in
training). ``registered`` is the workers registered that year (by county: the worker's home
county; by city: the workers with any event on a job in that city that year). A bureau sees
only its region's workers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import distinct, extract, func, select
from sqlalchemy.orm import Session, aliased

from api.storage.models import CountyTarget, Job, OutcomeEvent, Worker

#: The funnel's columns, in order, with their Chinese names.
FIGURES: dict[str, str] = {
    "registered": "登记",
    "recommended": "推荐",
    "interviewed": "面试",
    "hired": "录用",
    "retained_3m": "在岗3个月",
    "retained_6m": "在岗6个月",
}
EVENT_STAGES = tuple(k for k in FIGURES if k != "registered")


@dataclass
class Dashboard:
    """The figures of one year, as rows of ``{"key", "label", <figure>: int}``."""

    year: int
    totals: dict[str, int]
    by_county: list[dict[str, Any]]
    by_city: list[dict[str, Any]]
    by_month: list[dict[str, Any]]
    targets: list[dict[str, Any]] = field(default_factory=list)


def _zero() -> dict[str, int]:
    return {k: 0 for k in FIGURES}


def _standing():
    """Events that count: those no other event corrects."""
    fixer = aliased(OutcomeEvent)
    return ~select(fixer.id).where(fixer.corrects == OutcomeEvent.id).exists()


def _year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def _events(session: Session, key, year: int, region: str | None, *, join_job: bool):
    """``(key, stage, n)``: different workers per key and stage among the year's events."""
    first, last = _year_bounds(year)
    stmt = (
        select(key, OutcomeEvent.stage, func.count(distinct(OutcomeEvent.worker_id)))
        .join(Worker, Worker.id == OutcomeEvent.worker_id)
        .where(
            OutcomeEvent.stage.in_(EVENT_STAGES),
            OutcomeEvent.date.between(first, last),
            _standing(),
        )
        .group_by(key, OutcomeEvent.stage)
    )
    if join_job:
        stmt = stmt.join(Job, Job.id == OutcomeEvent.job_id)
    if region:
        stmt = stmt.where(Worker.county_code.startswith(region))
    return session.execute(stmt)


def _rows(found: dict[Any, dict[str, int]], label) -> list[dict[str, Any]]:
    return [
        {"key": k, "label": label(k), **v} for k, v in sorted(found.items(), key=lambda i: i[0])
    ]


def dashboard(session: Session, *, year: int, region_prefix: str | None = None) -> Dashboard:
    """The figures of ``year`` (a bureau passes its ``region_prefix``)."""
    from api.web.labels import county_label

    first, last = _year_bounds(year)
    region = region_prefix or None

    def registered(key, *extra):
        stmt = select(key, func.count()).where(Worker.registered_at.between(first, last))
        if region:
            stmt = stmt.where(Worker.county_code.startswith(region))
        return session.execute(stmt.group_by(key))

    # by county (the worker's home county)
    county: dict[str, dict[str, int]] = {}
    for key, n in registered(Worker.county_code):
        county.setdefault(key, _zero())["registered"] = n
    for key, stage, n in _events(session, Worker.county_code, year, region, join_job=False):
        county.setdefault(key, _zero())[stage] = n

    # by pairing city (the job's city): registered = workers with any event there that year
    city: dict[str, dict[str, int]] = {}
    any_event = (
        select(Job.city, func.count(distinct(OutcomeEvent.worker_id)))
        .join(Job, Job.id == OutcomeEvent.job_id)
        .join(Worker, Worker.id == OutcomeEvent.worker_id)
        .where(OutcomeEvent.date.between(first, last), _standing())
        .group_by(Job.city)
    )
    if region:
        any_event = any_event.where(Worker.county_code.startswith(region))
    for key, n in session.execute(any_event):
        city.setdefault(key or "", _zero())["registered"] = n
    for key, stage, n in _events(session, Job.city, year, region, join_job=True):
        city.setdefault(key or "", _zero())[stage] = n

    # by month
    month: dict[int, dict[str, int]] = {m: _zero() for m in range(1, 13)}
    for m, n in registered(extract("month", Worker.registered_at)):
        month[int(m)]["registered"] = n
    month_key = extract("month", OutcomeEvent.date)
    for m, stage, n in _events(session, month_key, year, region, join_job=False):
        month[int(m)][stage] = n

    # totals: different workers over the whole year (not the sum of months)
    totals = _zero()
    totals["registered"] = sum(r["registered"] for r in county.values())
    whole = (
        select(OutcomeEvent.stage, func.count(distinct(OutcomeEvent.worker_id)))
        .join(Worker, Worker.id == OutcomeEvent.worker_id)
        .where(
            OutcomeEvent.stage.in_(EVENT_STAGES),
            OutcomeEvent.date.between(first, last),
            _standing(),
        )
        .group_by(OutcomeEvent.stage)
    )
    if region:
        whole = whole.where(Worker.county_code.startswith(region))
    for stage, n in session.execute(whole):
        totals[stage] = n

    return Dashboard(
        year=year,
        totals=totals,
        by_county=_rows(county, lambda k: county_label(k)),
        by_city=_rows(city, lambda k: k or "未填城市"),
        by_month=[{"key": m, "label": f"{m}月", **v} for m, v in month.items()],
        targets=target_progress(session, year=year, region_prefix=region, by_county=county),
    )


def target_progress(
    session: Session,
    *,
    year: int,
    region_prefix: str | None = None,
    by_county: dict[str, dict[str, int]] | None = None,
) -> list[dict[str, Any]]:
    """Each county with a target for ``year`` (or a hire that year): target, hired, percent."""
    from api.web.labels import county_label

    stmt = select(CountyTarget).where(CountyTarget.year == year)
    if region_prefix:
        stmt = stmt.where(CountyTarget.county_code.startswith(region_prefix))
    targets = {t.county_code: t for t in session.scalars(stmt)}
    hired = {k: v.get("hired", 0) for k, v in (by_county or {}).items()}
    out = []
    for code in sorted(set(targets) | {k for k, v in hired.items() if v}):
        target = targets.get(code)
        goal = target.hired_target if target else None
        done = hired.get(code, 0)
        out.append(
            {
                "county_code": code,
                "label": county_label(code),
                "target": goal,
                "hired": done,
                "percent": (round(100 * done / goal) if goal else None),
                "updated_by": target.updated_by if target else "",
                "updated_at": target.updated_at if target else None,
            }
        )
    return out


def to_xlsx(board: Dashboard) -> bytes:
    """The dashboard's tables as an XLSX workbook (one sheet per table, Chinese headers)."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheets: Sequence[tuple[str, str, list[dict[str, Any]]]] = (
        ("按县区", "县区", board.by_county),
        ("按结对城市", "城市", board.by_city),
        ("按月份", "月份", board.by_month),
    )
    first = True
    for title, key_name, rows in sheets:
        sheet = book.active if first else book.create_sheet()
        first = False
        sheet.title = title
        sheet.append([key_name, *FIGURES.values()])
        for row in rows:
            sheet.append([row["label"], *(row[k] for k in FIGURES)])
        sheet.append(["合计（人数不重复）", *(board.totals[k] for k in FIGURES)])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.column_dimensions["A"].width = 28
    sheet = book.create_sheet("年度目标")
    sheet.append(["县区", "县区代码", "年度录用目标", "已录用", "完成率(%)"])
    for t in board.targets:
        sheet.append([t["label"], t["county_code"], t["target"], t["hired"], t["percent"]])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = 28
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


__all__ = ["EVENT_STAGES", "FIGURES", "Dashboard", "dashboard", "target_progress", "to_xlsx"]
