"""Firms: create, read, update, delete and list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import Conflict
from .fields import FIRM_FIELDS, clean, coerce, is_missing
from .models import Firm, Job
from .rows import Page, add_row, delete_row, get_row, paginate, update_row


def create_firm(session: Session, data: Mapping[str, Any]) -> Firm:
    """Create a firm from ``{"name", "city", "district", "industry", …}``."""
    values = clean(FIRM_FIELDS, data, partial=False, extra_allowed=("firm_id",))
    firm = Firm(**values)
    if "firm_id" in data and not is_missing(data["firm_id"]):
        firm.id = coerce("int", "firm_id", data["firm_id"])
    add_row(session, firm, "firm")
    return firm


def get_firm(session: Session, firm_id: int) -> Firm:
    """Return the firm or raise :class:`NotFound`."""
    return get_row(session, Firm, "firm", firm_id)


def find_firm_by_name(session: Session, name: str) -> Firm | None:
    """The first firm whose name is exactly ``name`` (imports attach jobs by firm name)."""
    return session.scalars(select(Firm).where(Firm.name == name).order_by(Firm.id).limit(1)).first()


def update_firm(
    session: Session,
    firm_id: int,
    changes: Mapping[str, Any],
    *,
    expected_version: int | frozenset[int] | None,
) -> Firm:
    """Apply ``changes``; :class:`StaleVersion` if the firm is no longer at ``expected_version``."""
    firm = get_firm(session, firm_id)
    return update_row(
        session, firm, "firm", clean(FIRM_FIELDS, changes, partial=True), expected_version
    )


def delete_firm(
    session: Session, firm_id: int, *, expected_version: int | frozenset[int] | None = None
) -> None:
    """Delete a firm; :class:`Conflict` while jobs still belong to it."""
    firm = get_firm(session, firm_id)
    if session.scalar(select(Job.id).where(Job.firm_id == firm_id).limit(1)) is not None:
        raise Conflict(f"企业 {firm_id} 仍有岗位，请先删除或关闭其岗位。")
    delete_row(session, firm, "firm", expected_version)


def list_firms(
    session: Session,
    *,
    name_contains: str | None = None,
    city: str | None = None,
    limit: int = 50,
    offset: int = 0,
    after: int | None = None,
    with_total: bool = True,
) -> Page[Firm]:
    """List firms by id, filtered by a name fragment and/or city."""
    stmt = select(Firm)
    if name_contains:
        stmt = stmt.where(Firm.name.contains(name_contains, autoescape=True))
    if city:
        stmt = stmt.where(Firm.city == city)
    return paginate(
        session, stmt, Firm.id, limit=limit, offset=offset, after=after, with_total=with_total
    )
