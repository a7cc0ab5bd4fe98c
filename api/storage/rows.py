"""The shared write path of every stored object: insert, update and delete in a savepoint that turns
what the database refuses into domain errors, and keyset pagination of lists.

Repository functions (:mod:`.firms`, :mod:`.jobs`, :mod:`.workers`, :mod:`.outcomes`,
:mod:`.keys`…) validate, read and write rows and raise the domain errors of
:mod:`api.storage.errors`; they ``flush`` but never ``commit``, so a view or a CLI command decides
the transaction (one request, one commit).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Select, func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from .errors import Conflict, Invalid, NotFound, StaleVersion

T = TypeVar("T")

SQLITE_BUSY_SNAPSHOT = 517


def _is_stale_snapshot(exc: OperationalError) -> bool:
    """SQLite in WAL mode refuses to turn a read transaction into a write once another
    connection has committed since the read: the rows we read are outdated."""
    return getattr(exc.orig, "sqlite_errorcode", None) == SQLITE_BUSY_SNAPSHOT


@contextmanager
def savepoint(session: Session, object_type: str, row: Any, expected_version: Any = None):
    """Run a write in a savepoint and translate what the database refuses into domain errors.

    A savepoint per write: a refused row rolls back alone, and the caller's session (one
    request, or one import of thousands of rows) stays usable.
    """
    try:
        with session.begin_nested():
            yield
            session.flush()
    except StaleDataError:
        # Someone committed between our read and our write: UPDATE … WHERE version=… hit 0 rows.
        current = session.scalar(select(type(row).version).where(type(row).id == row.id))
        raise StaleVersion(object_type, row.id, expected_version, current) from None
    except OperationalError as exc:
        if not _is_stale_snapshot(exc):
            raise
        if expected_version is None and getattr(row, "version", None) is None:
            raise Conflict(f"{label(object_type)} 保存时数据已被他人修改，请重试。") from None
        raise StaleVersion(object_type, row.id, expected_version, None) from None


def bump_sequence(session: Session, model: type) -> None:
    """After rows were inserted with explicit ids, move PostgreSQL's id sequence past them so the
    next generated id does not collide (SQLite takes max(rowid) + 1 by itself)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    table = model.__tablename__
    session.execute(
        text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        )
    )


def add_row(session: Session, row: Any, object_type: str) -> None:
    """Insert ``row``; a refused row (same id, …) becomes a :class:`Conflict`."""
    explicit_id = row.id is not None
    if explicit_id and session.get(type(row), row.id) is not None:
        raise Conflict(f"{label(object_type)} {row.id} 已存在。")
    try:
        with savepoint(session, object_type, row):
            session.add(row)
    except IntegrityError as exc:
        raise Conflict(
            f"{label(object_type)} {row.id if row.id is not None else ''} 无法保存：{exc.orig}"
        ) from None
    if explicit_id:
        bump_sequence(session, type(row))


def label(object_type: str) -> str:
    from .errors import _LABELS

    return _LABELS.get(object_type, object_type)


@dataclass
class Page(Generic[T]):
    """One page of a list.

    ``next_cursor`` is the last id on the page when more rows follow (pass it as ``after`` for
    keyset paging, which stays fast deep into a million rows); ``total`` counts every match.
    """

    items: list[T]
    limit: int
    offset: int = 0
    total: int | None = None
    next_cursor: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def paginate(
    session: Session,
    stmt: Select,
    id_column: Any,
    *,
    limit: int,
    offset: int,
    after: int | None,
    with_total: bool,
) -> Page:
    if limit <= 0:
        raise Invalid([{"row": None, "field": "limit", "message": f"limit {limit} 必须大于 0"}])
    if offset < 0:
        raise Invalid([{"row": None, "field": "offset", "message": f"offset {offset} 不能为负"}])
    total = None
    if with_total:
        total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    stmt = stmt.order_by(id_column)
    if after is not None:
        stmt = stmt.where(id_column > after)
    elif offset:
        stmt = stmt.offset(offset)
    items = list(session.scalars(stmt.limit(limit + 1)))
    more = len(items) > limit
    items = items[:limit]
    return Page(
        items=items,
        limit=limit,
        offset=offset if after is None else 0,
        total=total,
        next_cursor=items[-1].id if more and items else None,
    )


def core_connection(connection: Connection | Session) -> Connection:
    """The Core connection under ``connection``: a statement of plain columns run on it skips
    the ORM's execution path (a quarter of the statement's Python cost, on the hot path of
    every match). Nothing is flushed first, so it is for reads of what is committed."""
    return connection.connection() if isinstance(connection, Session) else connection


def get_row(session: Session, model: type, object_type: str, object_id: int) -> Any:
    row = session.get(model, object_id)
    if row is None:
        raise NotFound(object_type, object_id)
    return row


def _stale(current: int, expected: int | frozenset[int] | None) -> bool:
    """Whether a write based on ``expected`` (a version, the versions an If-Match list names,
    or ``None`` for any) must be refused because the row is now at ``current``."""
    if expected is None:
        return False
    if isinstance(expected, frozenset):
        return current not in expected
    return current != expected


def update_row(
    session: Session,
    row: Any,
    object_type: str,
    values: Mapping[str, Any],
    expected_version: int | frozenset[int] | None,
) -> Any:
    if _stale(row.version, expected_version):
        raise StaleVersion(object_type, row.id, expected_version, row.version)
    try:
        # Changes are made inside the savepoint: begin_nested() flushes what is pending first.
        with savepoint(session, object_type, row, expected_version):
            for key, value in values.items():
                setattr(row, key, value)
    except IntegrityError as exc:
        raise Conflict(f"保存{object_type} {row.id} 违反数据库约束：{exc.orig}") from None
    return row


def delete_row(
    session: Session, row: Any, object_type: str, expected_version: int | frozenset[int] | None
) -> None:
    if _stale(row.version, expected_version):
        raise StaleVersion(object_type, row.id, expected_version, row.version)
    try:
        with savepoint(session, object_type, row, expected_version):
            session.delete(row)
    except IntegrityError:
        raise Conflict(f"{object_type} {row.id} 仍被其他数据引用，不能删除。") from None
