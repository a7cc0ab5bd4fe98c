"""The audit trail: who read or wrote which fields of which object."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import ApiKey, AuditEntry
from .rows import Page, paginate


def audit(
    session: Session,
    *,
    actor: ApiKey | str | None,
    action: str,
    object_type: str,
    object_id: Any = None,
    fields: Sequence[str] = (),
) -> AuditEntry:
    """Write an audit row: who (a key or a name such as 'cli'), did what, to which object, which
    fields were read or written."""
    if isinstance(actor, ApiKey):
        key_id, actor_name = actor.id, actor.name
    else:
        key_id, actor_name = None, actor or ""
    entry = AuditEntry(
        api_key_id=key_id,
        actor=actor_name,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        fields=list(fields),
    )
    session.add(entry)
    session.flush()
    return entry


def list_audit(
    session: Session,
    *,
    object_type: str | None = None,
    object_id: Any = None,
    api_key_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
    after: int | None = None,
    with_total: bool = True,
) -> Page[AuditEntry]:
    """Audit rows by id, filtered by object and/or key."""
    stmt = select(AuditEntry)
    if object_type:
        stmt = stmt.where(AuditEntry.object_type == object_type)
    if object_id is not None:
        stmt = stmt.where(AuditEntry.object_id == str(object_id))
    if api_key_id is not None:
        stmt = stmt.where(AuditEntry.api_key_id == api_key_id)
    return paginate(
        session, stmt, AuditEntry.id, limit=limit, offset=offset, after=after, with_total=with_total
    )
