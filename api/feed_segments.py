"""Segments of bulk changes (:mod:`matcher.segments`) for the service: which changes get one,
the lock that lets one writer prepare a change's rows while the others of the host wait and
then map them, and the importing command that writes them before it commits.

Which changes: an ``upsert`` of jobs or workers naming at least ``FEED_SEGMENT_ROWS`` (1,000)
consecutive ids (an import, the demo loader) — one change row of the feed. ``FEED_SEGMENTS``
(default on) turns them off.

Who writes: ``jobbridge import`` of that many rows (:class:`ImportSegments`) prepares and
encodes the rows inside its own transaction, holds the change's lock over its commit and then
publishes the segment, so the serving processes, which see the change only once committed,
wait on the lock for milliseconds and map it. Otherwise the first process of the host to
apply the change writes it under the lock (the others wait, then map it).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.config import DEFAULTS, as_bool
from api.storage.changes import read_jobs, read_workers
from api.storage.models import Change
from matcher.segments import (
    Segment,
    open_segment,
    prepare_rows,
    segment_name,
    segments_folder,
    write_segment,
)

log = logging.getLogger(__name__)

KINDS = ("job", "worker")


def min_rows(config: Mapping[str, Any]) -> int | None:
    """Ids a change must name to get a segment (None: segments are off)."""
    if not as_bool(config.get("FEED_SEGMENTS", DEFAULTS["FEED_SEGMENTS"])):
        return None
    return int(config.get("FEED_SEGMENT_ROWS", DEFAULTS["FEED_SEGMENT_ROWS"]))


def eligible(rows: Sequence[Any], config: Mapping[str, Any]) -> list[Any]:
    """The change rows of a batch to apply through segments: bulk upserts of jobs or workers
    whose runs overlap no other such run of the batch (overlapping ones are re-read from the
    database with the rest, which is always right)."""
    least = min_rows(config)
    if least is None:
        return []
    picked = [
        r
        for r in rows
        if r.kind in KINDS
        and r.op == "upsert"
        and r.last_object_id is not None
        and int(r.last_object_id) - int(r.object_id) + 1 >= least
    ]
    out = []
    for r in picked:
        overlaps = any(
            o is not r
            and o.kind == r.kind
            and int(o.object_id) <= int(r.last_object_id)
            and int(r.object_id) <= int(o.last_object_id)
            for o in picked
        )
        if not overlaps:
            out.append(r)
    return out


def _facts(row: Any, version: str, as_of: Any) -> dict[str, Any]:
    return {
        "change_id": int(row.id),
        "kind": str(row.kind),
        "first": int(row.object_id),
        "last": int(row.last_object_id),
        "model_version": str(version),
        "as_of": None if as_of is None else str(as_of),
    }


def _path(root: Path, version: str, row: Any, as_of: Any) -> Path:
    name = segment_name(row.id, row.kind, f"{int(row.object_id)}-{int(row.last_object_id)}-{as_of}")
    return segments_folder(root, version) / name


def _valid(segment: Segment | None, facts: dict[str, Any]) -> Segment | None:
    if segment is None:
        return None
    if any(segment.manifest.get(k) != v for k, v in facts.items()):
        log.warning("segment %s is not the one of change %s; ignored", segment.path, facts)
        return None
    return segment


@contextmanager
def change_lock(root: Path, version: str, change_id: int) -> Iterator[None]:
    """The lock of one change's segment (an ``flock``: a writer that dies releases it)."""
    folder = segments_folder(root, version)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(folder / f".{int(change_id)}.lock", "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _read(session: Session, row: Any) -> Any:
    read = read_jobs if row.kind == "job" else read_workers
    return read(session, (), [(int(row.object_id), int(row.last_object_id))])


def obtain(
    root: Path, engine: Any, version: str, session: Session, row: Any
) -> tuple[Segment, bool]:
    """The segment of change ``row`` for ``engine`` (a learned engine of ``version``): mapped
    when the host has it, else prepared from the database and written (under the change's
    lock, so that one process of the host does it). Returns it and whether this call wrote it.
    """
    as_of = getattr(engine, "as_of_", None)
    facts = _facts(row, version, as_of)
    path = _path(root, version, row, as_of)
    segment = _valid(open_segment(path), facts)
    if segment is not None:
        return segment, False
    with change_lock(root, version, row.id):
        segment = _valid(open_segment(path), facts)
        if segment is not None:
            return segment, False
        index, certificates = prepare_rows(engine, row.kind, _read(session, row))
        if (path / "manifest.json").is_file():  # a foreign segment there: keep ours private
            path = path.parent / f".tmp-private-{os.getpid()}-{time.monotonic_ns()}"
        write_segment(path, index, certificates=certificates, facts=facts)
    segment = open_segment(path)
    assert segment is not None
    if path.name.startswith(".tmp-private-"):
        shutil.rmtree(path, ignore_errors=True)  # mapped already: the maps outlive the names
    return segment, True


class ImportSegments:
    """Segments an importing command writes for the changes it is about to commit.

    Use::

        segments = ImportSegments(config, rows=len(frame))
        with session_scope(engine) as session:
            before = newest_change_id(session)
            ... import ...
            segments.prepare(session, after=before)   # inside the transaction
        segments.publish()                           # after the commit
        # on failure: segments.abandon()

    It prepares the rows with the current model version, on the day the version's current
    index snapshot computes ages at (what the serving processes use); with no snapshot, no
    learned model or too few rows it does nothing, and the processes write the segment.
    """

    def __init__(self, config: Mapping[str, Any], *, rows: int) -> None:
        self.config = config
        self._staged: list[tuple[Path, Path]] = []
        self._locks: list[Any] = []
        self.engine: Any = None
        least = min_rows(config)
        if least is None or rows < least or not as_bool(config.get("INDEX_SNAPSHOTS", True)):
            return
        try:
            self._load()
        except Exception:  # no model, no snapshot: the serving processes do it themselves
            log.exception("preparing the import's rows for the serving processes skipped")
            self.engine = None

    def _load(self) -> None:
        import datetime as dt

        from api.index_snapshots import index_root
        from api.service import model_engine
        from matcher.snapshot import MANIFEST, latest_snapshot

        engine, version = model_engine(self.config)
        if not getattr(engine, "is_learned", False):
            return
        root = index_root(self.config)
        snapshot = latest_snapshot(root, version)
        if snapshot is None:
            return
        manifest = json.loads((snapshot / MANIFEST).read_text(encoding="utf-8"))
        if not manifest.get("as_of"):
            return
        engine.as_of_ = dt.date.fromisoformat(manifest["as_of"])
        import dataclasses

        engine.context_ = dataclasses.replace(engine.context_, as_of=engine.as_of_)
        self.engine, self.version, self.root = engine, version, root

    def prepare(self, session: Session, *, after: int) -> int:
        """Stage the segments of the bulk changes after ``after`` in ``session``'s open
        transaction, holding their locks; returns how many."""
        if self.engine is None:
            return 0
        rows = session.execute(
            select(Change.id, Change.kind, Change.object_id, Change.last_object_id, Change.op)
            .where(Change.id > after)
            .order_by(Change.id)
        ).all()
        for row in eligible(rows, self.config):
            folder = segments_folder(self.root, self.version)
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            fh = open(folder / f".{int(row.id)}.lock", "a+b")  # noqa: SIM115 - held till publish
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            self._locks.append(fh)
            as_of = self.engine.as_of_
            final = _path(self.root, self.version, row, as_of)
            staged = final.parent / f".staged-{final.name}-{os.getpid()}"
            index, certificates = prepare_rows(self.engine, row.kind, _read(session, row))
            write_segment(
                staged,
                index,
                certificates=certificates,
                facts=_facts(row, self.version, as_of),
            )
            self._staged.append((staged, final))
        return len(self._staged)

    def publish(self) -> None:
        """After the commit: the staged segments take their names; the locks are released."""
        try:
            for staged, final in self._staged:
                try:
                    os.rename(staged, final)
                except OSError:
                    shutil.rmtree(staged, ignore_errors=True)
        finally:
            self._staged = []
            self._release()

    def abandon(self) -> None:
        """The transaction did not commit: nothing is published."""
        for staged, _ in self._staged:
            shutil.rmtree(staged, ignore_errors=True)
        self._staged = []
        self._release()

    def _release(self) -> None:
        for fh in self._locks:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
            finally:
                fh.close()
        self._locks = []


__all__ = ["ImportSegments", "change_lock", "eligible", "min_rows", "obtain"]
