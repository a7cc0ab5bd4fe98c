"""The change feed: every committed write to a job, worker, firm or outcome announces itself.

A write and its announcement commit together (the *transactional outbox*): a row of the
``changes`` table (:class:`~api.storage.models.Change`) is inserted in the same transaction as
the write, so a write that rolls back leaves no announcement and an announcement always names a
committed write. Serving processes follow the table by increasing id (:class:`FeedCursor`) and
re-read the objects it names; the table, not a message bus, is the truth — it survives restarts
and works on SQLite and PostgreSQL alike.

How rows get written:

* every ORM flush of a :class:`Firm`, :class:`Job`, :class:`Worker` or :class:`OutcomeEvent`
  (every repository module over :mod:`api.storage.rows`) appends one row per object from a session
  ``after_flush`` hook, inside the flush's transaction or savepoint — a refused row rolls its
  announcement back with it;
* the set-based writers (imports in :mod:`api.storage.transfer`, the demo loader in
  :mod:`api.storage.bulk`, batches of outcome events) call :func:`record` with the ids they
  wrote, which stores one row per run of consecutive ids: a 10,000-row import is one row.

A row says "the stored state of these objects changed; read them again": a reader re-reads the
ids and adds, updates or removes accordingly, so applying a row twice or late is harmless.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, ScalarSelect, delete, event, func, insert, or_, select
from sqlalchemy.orm import Session

from api.config import DEFAULTS
from data.schema import JOB_COLUMNS, WORKER_COLUMNS

from .models import CHANGE_KINDS, CHANGE_OPS, Change, Firm, Job, OutcomeEvent, Worker, utcnow
from .rows import core_connection

#: The change kind of each model whose writes the engine (or a reader) must hear of.
KIND_OF_MODEL: dict[type, str] = {
    Firm: "firm",
    Job: "job",
    Worker: "worker",
    OutcomeEvent: "outcome",
}
MODEL_OF_KIND: dict[str, type] = {kind: model for model, kind in KIND_OF_MODEL.items()}


def id_runs(ids: Iterable[int]) -> list[tuple[int, int]]:
    """Runs of consecutive ids, ``(first, last)`` inclusive, in increasing order.

    >>> id_runs([5, 1, 2, 3, 7, 6, 10])
    [(1, 3), (5, 7), (10, 10)]
    """
    if isinstance(ids, range):
        return [(ids[0], ids[-1])] if len(ids) and ids.step == 1 else id_runs(list(ids))
    if not isinstance(ids, np.ndarray):
        ids = np.fromiter((int(i) for i in ids), dtype=np.int64)
    values = np.unique(ids.astype(np.int64, copy=False))
    if values.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(values) != 1)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [values.size - 1]])
    return [(int(values[s]), int(values[e])) for s, e in zip(starts, ends, strict=True)]


def change_rows(kind: str, ids: Iterable[int], op: str = "upsert") -> list[dict[str, Any]]:
    """The ``changes`` rows that announce ``ids`` of ``kind``: one per run of consecutive ids."""
    if kind not in CHANGE_KINDS:
        raise ValueError(f"change kind {kind!r} is not one of {CHANGE_KINDS}")
    if op not in CHANGE_OPS:
        raise ValueError(f"change op {op!r} is not one of {CHANGE_OPS}")
    stamp = utcnow()
    return [
        {
            "kind": kind,
            "object_id": first,
            "last_object_id": last if last != first else None,
            "op": op,
            "at": stamp,
        }
        for first, last in id_runs(ids)
    ]


def record(target: Session | Connection, kind: str, ids: Iterable[int], op: str = "upsert") -> int:
    """Announce ``ids`` of ``kind`` in ``target``'s transaction; return the rows written."""
    rows = change_rows(kind, ids, op)
    if rows:
        connection = target.connection() if isinstance(target, Session) else target
        connection.execute(insert(Change), rows)
    return len(rows)


def _after_flush(session: Session, _flush_context: Any) -> None:
    """Announce the objects this flush wrote, in the flush's own transaction.

    ``after_flush`` still sees the flush's ``new``/``dirty``/``deleted`` sets, and new rows
    already have their ids. The rows go through the session's connection, so they belong to the
    same transaction — or savepoint — as the write.
    """
    upserts: dict[str, set[int]] = {}
    deletes: dict[str, set[int]] = {}
    for obj in session.new:
        kind = KIND_OF_MODEL.get(type(obj))
        if kind is not None and obj.id is not None:
            upserts.setdefault(kind, set()).add(obj.id)
    for obj in session.dirty:
        kind = KIND_OF_MODEL.get(type(obj))
        if kind is not None and session.is_modified(obj, include_collections=False):
            upserts.setdefault(kind, set()).add(obj.id)
    for obj in session.deleted:
        kind = KIND_OF_MODEL.get(type(obj))
        if kind is not None and obj.id is not None:
            deletes.setdefault(kind, set()).add(obj.id)
    rows = [r for kind, ids in upserts.items() for r in change_rows(kind, ids, "upsert")]
    rows += [r for kind, ids in deletes.items() for r in change_rows(kind, ids, "delete")]
    if rows:
        session.connection().execute(insert(Change), rows)


event.listen(Session, "after_flush", _after_flush)


def newest_change_id(connection: Connection | Session) -> int:
    """The id of the newest committed change (0 when there is none): the cheap check."""
    return int(core_connection(connection).scalar(select(func.max(Change.id))) or 0)


def change_id_bounds(connection: Connection | Session) -> tuple[int, int]:
    """The ids of the oldest and newest committed changes (``(0, 0)`` when there is none)."""
    oldest, newest, _ = _bounds_and(connection, None)
    return oldest, newest


def _bounds_and(
    connection: Connection | Session, also: ScalarSelect | None
) -> tuple[int, int, Any]:
    """:func:`change_id_bounds` and the value of ``also`` (a scalar subquery; None without
    one), in one statement: a match reads its caller's scope with the feed check."""
    columns = [func.min(Change.id), func.max(Change.id)]
    if also is not None:
        columns.append(also)
    row = core_connection(connection).execute(select(*columns)).one()
    return int(row[0] or 0), int(row[1] or 0), row[2] if also is not None else None


#: Changes :func:`prune_changes` always keeps: the newest this many ids ...
PRUNE_KEEP_ROWS: int = DEFAULTS["FEED_PRUNE_KEEP_ROWS"]
#: ... and every change younger than this (writes in flight, cursors' gaps, slow followers).
PRUNE_MIN_AGE = dt.timedelta(seconds=DEFAULTS["FEED_PRUNE_MIN_AGE_S"])


def prune_changes(
    connection: Connection | Session,
    *,
    through: int,
    keep_rows: int = PRUNE_KEEP_ROWS,
    min_age: dt.timedelta = PRUNE_MIN_AGE,
) -> int:
    """Delete the changes no reader needs any more: ids up to ``through`` (the feed position
    of the oldest index snapshot still in service), less a safety margin — the newest
    ``keep_rows`` ids and every change younger than ``min_age`` stay. Returns the rows deleted.

    The table is pruned from its start, so the oldest id left says how far it was pruned: a
    reader whose position is older (a process that slept, an old snapshot) sees it
    (:meth:`FeedCursor.check`) and loads its state again instead of missing rows. The caller
    commits.
    """
    _, newest = change_id_bounds(connection)
    cut = min(int(through), newest - max(int(keep_rows), 1))
    young = connection.scalar(select(func.min(Change.id)).where(Change.at >= utcnow() - min_age))
    if young is not None:
        cut = min(cut, int(young) - 1)
    if cut <= 0:
        return 0
    result = connection.execute(delete(Change).where(Change.id <= cut))
    return int(result.rowcount or 0)


# --------------------------------------------------------------------------- following
@dataclass
class ChangeBatch:
    """Changes read from the feed and not yet applied, grouped by kind.

    ``ids[kind]`` holds single ids, ``runs[kind]`` the ``(first, last)`` runs of bulk rows.
    """

    rows: list[Any] = field(default_factory=list)
    ids: dict[str, set[int]] = field(default_factory=dict)
    runs: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: Iterable[Any]) -> ChangeBatch:
        """The batch of these change rows (``id, kind, object_id, last_object_id, op``)."""
        batch = cls(rows=list(rows))
        for row in batch.rows:
            if row.last_object_id is None:
                batch.ids.setdefault(row.kind, set()).add(int(row.object_id))
            else:
                batch.runs.setdefault(row.kind, []).append(
                    (int(row.object_id), int(row.last_object_id))
                )
        return batch

    def __bool__(self) -> bool:
        return bool(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def objects(self, kind: str) -> int:
        """How many objects of ``kind`` the batch names (runs counted in full)."""
        return len(self.ids.get(kind, ())) + sum(b - a + 1 for a, b in self.runs.get(kind, ()))


class FeedCursor:
    """Where one reader stands in the feed.

    ``position`` is the newest id applied. On PostgreSQL ids come from a sequence when a row is
    inserted, not when it commits: a transaction that took id 41 may commit after one that took
    42. A reader that saw 42 without 41 keeps 41 as a *gap* and asks for it again on every read
    until it appears or ``gap_seconds`` pass (a rolled-back write leaves a gap for ever). SQLite
    commits one writer at a time, so its ids never overtake each other and no gap appears.

    Parameters
    ----------
    gap_seconds : float
        How long an id below ``position`` that has not appeared is still looked for; longer
        than any write transaction lasts.
    max_gaps : int
        Gaps kept at most (the oldest are dropped first).
    """

    def __init__(self, *, gap_seconds: float = 120.0, max_gaps: int = 10_000) -> None:
        self.position = 0
        self.gaps: dict[int, float] = {}
        self.gap_seconds = gap_seconds
        self.max_gaps = max_gaps

    #: At start, only the newest this many ids are looked at for gaps (a primary-key range).
    START_WINDOW = 100_000

    def start(self, connection: Connection | Session) -> int:
        """Stand at the newest change (read before the world the reader then loads).

        Ids missing among the changes of the last ``gap_seconds`` are looked for as gaps: a
        write still in flight may hold one of them.
        """
        return self.start_at(connection, newest_change_id(connection))

    def start_at(
        self, connection: Connection | Session, position: int, gaps: Iterable[int] = ()
    ) -> int:
        """Stand at ``position``: the newest change a loaded state includes (an index
        snapshot's feed position), so that the next :meth:`read` returns every change after it.

        ``gaps`` are ids the state's builder was still looking for (its cursor's gaps when it
        read the world); they are looked for again, with ids missing at or below ``position``
        among the changes of the last ``gap_seconds``.
        """
        position = int(position)
        since = utcnow() - dt.timedelta(seconds=self.gap_seconds)
        recent = sorted(
            connection.scalars(
                select(Change.id).where(
                    Change.id > position - self.START_WINDOW,
                    Change.id <= position,
                    Change.at >= since,
                )
            )
        )
        now = time.monotonic()
        self.gaps = {int(i): now for i in gaps if int(i) <= position}
        if recent:
            present = set(recent)
            missing = [i for i in range(recent[0], position) if i not in present]
            self.gaps.update({i: now for i in missing[-self.max_gaps :]})
        self.position = position
        return position

    def _expire(self) -> None:
        limit = time.monotonic() - self.gap_seconds
        for i in [i for i, seen in self.gaps.items() if seen < limit]:
            del self.gaps[i]

    def behind(self, connection: Connection | Session) -> bool:
        """Whether the feed may hold changes this reader has not applied (one cheap query)."""
        self._expire()
        return bool(self.gaps) or newest_change_id(connection) > self.position

    def check(
        self, connection: Connection | Session, also: ScalarSelect | None = None
    ) -> tuple[bool, bool, Any]:
        """``(behind, stale, value)`` in one cheap query (the oldest and newest ids, and the
        value of the scalar subquery ``also`` where one is given, else None).

        ``behind``: the feed may hold changes this reader has not applied. ``stale``: the
        change table was pruned past this reader (:func:`prune_changes`): changes after its
        position are gone, so following the feed would miss them, and the reader must load
        its state again (from a snapshot newer than the pruned point, or the database).
        """
        self._expire()
        oldest, newest, value = _bounds_and(connection, also)
        return (
            bool(self.gaps) or newest > self.position,
            oldest > self.position + 1,
            value,
        )

    @staticmethod
    def pruned_past(connection: Connection | Session, position: int) -> bool:
        """Whether changes after ``position`` were pruned (a state that includes the changes
        up to ``position`` can no longer be brought up to date from the feed)."""
        return change_id_bounds(connection)[0] > int(position) + 1

    def read(self, connection: Connection | Session) -> ChangeBatch:
        """The committed changes past ``position`` and those filling gaps, oldest first."""
        self._expire()
        where = Change.id > self.position
        if self.gaps:
            where = or_(where, Change.id.in_(sorted(self.gaps)))
        rows = list(
            connection.execute(
                select(Change.id, Change.kind, Change.object_id, Change.last_object_id, Change.op)
                .where(where)
                .order_by(Change.id)
            )
        )
        return ChangeBatch.of(rows)

    def advance(self, batch: ChangeBatch) -> None:
        """Mark ``batch`` applied: move past it and remember the ids it skipped."""
        if not batch.rows:
            return
        seen = {int(r.id) for r in batch.rows}
        for i in seen:
            self.gaps.pop(i, None)
        newest = max(seen)
        if newest > self.position:
            now = time.monotonic()
            skipped = range(self.position + 1, newest)
            if len(skipped) - len(seen) <= self.max_gaps:
                for i in skipped:
                    if i not in seen:
                        self.gaps[i] = now
            self.position = newest
        if len(self.gaps) > self.max_gaps:
            for i in sorted(self.gaps, key=self.gaps.__getitem__)[: len(self.gaps) - self.max_gaps]:
                del self.gaps[i]


def id_filter(column: Any, ids: Sequence[int], runs: Sequence[tuple[int, int]]) -> list[Any]:
    """``WHERE`` clauses (to OR together, one statement each) selecting ``ids`` and ``runs``:
    runs as ``BETWEEN``, single ids in chunks of 500 bound parameters."""
    clauses = [column.between(a, b) for a, b in runs]
    ids = sorted(ids)
    clauses += [column.in_(ids[k : k + 500]) for k in range(0, len(ids), 500)]
    return clauses


# --------------------------------------------------------------------------- reading objects
def job_select() -> Any:
    """Jobs with their firm's name, as :data:`data.schema.JOB_COLUMNS` (``read_world``'s shape)."""
    cols = [c for c in JOB_COLUMNS if c not in ("job_id", "firm_name", "firm_id")]
    return select(
        Job.id.label("job_id"),
        Firm.name.label("firm_name"),
        *[getattr(Job, c) for c in cols],
        Job.firm_id,
    ).join(Firm, Firm.id == Job.firm_id)


def worker_select(*, reveal_ids: bool = False) -> Any:
    """Workers as :data:`data.schema.WORKER_COLUMNS`; the second column holds the masked ID
    number, or the cipher with ``reveal_ids`` (the caller decrypts and renames it)."""
    cols = [c for c in WORKER_COLUMNS if c not in ("worker_id", "id_number")]
    return select(
        Worker.id.label("worker_id"),
        Worker.id_cipher if reveal_ids else Worker.id_masked.label("id_number"),
        *[getattr(Worker, c) for c in cols],
    )


def _read(
    session: Session, stmt: Any, column: Any, ids: Any, runs: Any, names: Any
) -> pd.DataFrame:
    frames = []
    for clause in id_filter(column, ids, runs):
        result = session.execute(stmt.where(clause))
        frames.append(pd.DataFrame(result.all(), columns=list(result.keys())))
    if not frames:
        return pd.DataFrame(columns=list(names))
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return frame[list(names)]


def read_jobs(
    session: Session, ids: Sequence[int] = (), runs: Sequence[tuple[int, int]] = ()
) -> pd.DataFrame:
    """The stored jobs among ``ids`` and ``runs`` (absent ones are simply not there)."""
    return _read(session, job_select(), Job.id, ids, runs, JOB_COLUMNS)


def read_workers(
    session: Session, ids: Sequence[int] = (), runs: Sequence[tuple[int, int]] = ()
) -> pd.DataFrame:
    """The stored workers among ``ids`` and ``runs``, ID numbers masked."""
    return _read(session, worker_select(), Worker.id, ids, runs, WORKER_COLUMNS)


def changes_of(session: Session, *, after: int = 0) -> list[dict[str, Any]]:
    """The change rows after ``after`` as plain dicts (for tests and diagnostics)."""
    stmt = select(Change).where(Change.id > after).order_by(Change.id)
    return [
        {
            "id": c.id,
            "kind": c.kind,
            "object_id": c.object_id,
            "last_object_id": c.last_object_id,
            "op": c.op,
        }
        for c in session.scalars(stmt)
    ]


def objects_announced(rows: Iterable[Mapping[str, Any]], kind: str) -> set[int]:
    """The ids of ``kind`` that ``rows`` (from :func:`changes_of`) name, runs expanded."""
    out: set[int] = set()
    for r in rows:
        if r["kind"] == kind:
            last = r["last_object_id"] if r["last_object_id"] is not None else r["object_id"]
            out.update(range(r["object_id"], last + 1))
    return out


__all__ = [
    "KIND_OF_MODEL",
    "MODEL_OF_KIND",
    "ChangeBatch",
    "FeedCursor",
    "change_rows",
    "change_id_bounds",
    "changes_of",
    "id_filter",
    "id_runs",
    "newest_change_id",
    "job_select",
    "objects_announced",
    "prune_changes",
    "read_jobs",
    "read_workers",
    "record",
    "worker_select",
]
