"""Each county's yearly target of hires (:class:`~api.storage.models.CountyTarget`): the one
write path of the dashboard's editable data. A change is audited (who set which county's target
of which year); targets are not matching data, so they are not announced on the change feed."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from .audit_log import audit
from .errors import Invalid
from .models import CountyTarget

#: The years a target may be set for, and the largest target (more workers than a county has).
YEARS = range(2020, 2041)
MAX_TARGET = 1_000_000


def check_target(county_code: Any, year: Any, hired_target: Any) -> tuple[str, int, int]:
    """The cleaned values, or :class:`Invalid` naming each bad one in Chinese."""
    from data.reference import load_counties

    errors = []
    code = str(county_code or "").strip()
    if code not in set(load_counties()["county_code"].astype(str)):
        errors.append({"field": "county_code", "message": f"县区代码 {code!r} 不是协作县区"})
    try:
        year_n = int(str(year).strip())
        if year_n not in YEARS:
            raise ValueError
    except ValueError:
        year_n = 0
        errors.append(
            {"field": "year", "message": f"年份 {year!r} 应在 {YEARS.start}–{YEARS.stop - 1} 之间"}
        )
    try:
        goal = int(str(hired_target).strip())
        if not 0 <= goal <= MAX_TARGET:
            raise ValueError
    except ValueError:
        goal = 0
        errors.append(
            {
                "field": "hired_target",
                "message": f"目标 {hired_target!r} 应为 0 到 {MAX_TARGET} 之间的整数",
            }
        )
    if errors:
        raise Invalid(errors)
    return code, year_n, goal


def set_target(
    session: Session, *, county_code: Any, year: Any, hired_target: Any, actor: str
) -> CountyTarget:
    """Set (or change) a county's target of hires for a year; flushed, not committed."""
    code, year_n, goal = check_target(county_code, year, hired_target)
    row = session.get(CountyTarget, (code, year_n))
    if row is None:
        row = CountyTarget(county_code=code, year=year_n, hired_target=goal, updated_by=actor)
        session.add(row)
    else:
        row.hired_target, row.updated_by = goal, actor
    session.flush()
    audit(
        session,
        actor=actor,
        action="update",
        object_type="county_target",
        object_id=f"{code}/{year_n}",
        fields=["hired_target"],
    )
    return row


__all__ = ["MAX_TARGET", "YEARS", "check_target", "set_target"]
