"""The service's index snapshots: where they live, how one is built from the database, and the
lock that lets one process build while the others wait for it.

The snapshot format and its atomic publication are :mod:`matcher.snapshot`'s; this module adds
what needs the database: the rows come from :func:`api.storage.read_world`, and the snapshot's
feed position is the change feed's newest id read *before* the rows (so a write landing in
between is replayed, never missed), with the cursor's gaps (ids of writes still in flight on
PostgreSQL) recorded for the processes that start from it.

The builder also prices the crowded jobs (:meth:`matcher.engine.MatchingEngine.price_crowding`,
from a fixed sample of the register against the jobs' places left) and stores the prices in
the snapshot, so that every process answers a worker's matches with the same prices and no
query computes any.

Settings (:mod:`api.config`): ``INDEX_DIR`` (default ``INSTANCE_DIR/index``),
``INDEX_SPARE_ROWS``, ``INDEX_OVERLAY_ROWS``, ``INDEX_SNAPSHOTS``, ``CROWDING_SPREAD``,
``CROWDING_SAMPLE`` and ``CROWDING_PER_PLACE``.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.config import DEFAULTS
from api.storage import read_world
from api.storage.changes import FeedCursor, prune_changes
from matcher.snapshot import engine_facts, version_folder, write_snapshot

log = logging.getLogger(__name__)


def index_root(config: Mapping[str, Any]) -> Path:
    """The folder of every model version's snapshots."""
    explicit = config.get("INDEX_DIR")
    return Path(explicit) if explicit else Path(config["INSTANCE_DIR"]) / "index"


def index_world(
    engine: Any, jobs: Any, workers: Any, config: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Index ``jobs`` and ``workers`` with ``engine`` (:meth:`build_index`, fitting nothing)
    and price the crowded jobs with the settings ``CROWDING_SPREAD``, ``CROWDING_SAMPLE`` and
    ``CROWDING_PER_PLACE``;
    returns the pricing's facts (None with crowding off)."""
    engine.build_index(jobs, workers)
    spread = float(config.get("CROWDING_SPREAD", 0.0) or 0.0)
    if spread <= 0.0:
        return None
    sample = config.get("CROWDING_SAMPLE")
    crowding = engine.price_crowding(
        spread,
        sample=None if sample is None else int(sample),
        per_place=float(config.get("CROWDING_PER_PLACE", DEFAULTS["CROWDING_PER_PLACE"])),
    )
    log.info(
        "crowding prices: %d of %d workers priced %d jobs (spread %.3f) in %.1f s",
        crowding.facts["workers_priced"],
        crowding.facts["workers_indexed"],
        crowding.facts["jobs_priced"],
        spread,
        crowding.facts["seconds"],
    )
    return {"spread": spread, **crowding.facts}


class BuildBusy(RuntimeError):
    """Another process is building a snapshot of this model version."""


@contextmanager
def build_lock(
    root: str | os.PathLike[str], model_version: str, *, wait: bool = True
) -> Iterator[None]:
    """Hold the build lock of one model version (an ``flock`` on a file beside its snapshots).

    ``wait=False`` raises :class:`BuildBusy` at once when another process holds it. The lock
    is the kernel's: a builder that dies releases it.
    """
    folder = version_folder(root, model_version)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".build.lock", "a+b") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise BuildBusy(f"模型 {model_version} 的索引快照正在由另一进程建立") from None
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def build_snapshot(
    db: Engine,
    engine: Any,
    model_version: str,
    root: str | os.PathLike[str],
    *,
    spare_rows: int,
    config: Mapping[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Index the database's open jobs and registered workers with ``engine`` (a learned model:
    :meth:`~matcher.engine.MatchingEngine.build_index` fits nothing), price the crowded jobs
    as ``config`` says (:func:`index_world`; none without ``config``) and publish the
    snapshot.

    ``engine`` is indexed in place: pass one loaded for the purpose, not a serving one.
    """
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    feed = FeedCursor()
    with Session(bind=db, expire_on_commit=False) as session:
        feed.start(session)
        jobs, workers, _ = read_world(session)
    say(f"已读取 {len(jobs)} 个岗位、{len(workers)} 名劳动力（变更位置 {feed.position}）")
    priced = index_world(engine, jobs, workers, config or {})
    if priced is not None:
        say(
            f"已按 {priced['workers_priced']} 名劳动力的推荐为 {priced['jobs_priced']} 个"
            f"拥挤岗位定价（{priced['seconds']:.1f} 秒）"
        )
    say("索引已建立，正在写入快照")
    path = write_snapshot(
        root,
        engine.jobs_index_,
        engine.workers_index_,
        model_version=model_version,
        feed_position=feed.position,
        spare_rows=spare_rows,
        extra={"feed_gaps": sorted(feed.gaps), "pid": os.getpid(), **engine_facts(engine)},
        crowding=engine.crowding_,
    )
    log.info(
        "index snapshot %s of model %s: %d jobs, %d workers, feed position %d, %.1f s",
        path.name,
        model_version,
        len(engine.jobs_index_),
        len(engine.workers_index_),
        feed.position,
        time.perf_counter() - started,
    )
    return path


def build_current(
    config: Mapping[str, Any],
    *,
    after: str | None = None,
    wait: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Build and publish a new snapshot of the current model from the database: what
    ``jobbridge index build`` and the queued rebuild run. Running processes switch to it at
    their next answer.

    ``after``: build only while the current snapshot is still this one (a queued rebuild that
    another build overtook does nothing). ``wait=False``: :class:`BuildBusy` when another
    process is building. Returns what was built (``snapshot``, ``model_version``,
    ``feed_position``, ``counts``, ``crowding``: how the jobs were priced, None with crowding
    off), or ``{"skipped": reason}``.
    """
    import json

    from api.service import model_engine
    from api.storage import make_engine
    from matcher.snapshot import MANIFEST, current_id

    engine, version = model_engine(config)
    if not getattr(engine, "is_learned", False):
        raise ValueError(
            f"模型 {version} 尚未学习，不能建立索引快照；"
            "请先运行 jobbridge init-db 或 jobbridge train。"
        )
    root = index_root(config)
    with build_lock(root, version, wait=wait):
        if after is not None and current_id(root, version) != after:
            return {"skipped": f"快照 {after} 已被更新的快照取代", "model_version": version}
        db = make_engine(config["DATABASE_URL"])
        try:
            path = build_snapshot(
                db,
                engine,
                version,
                root,
                spare_rows=int(config.get("INDEX_SPARE_ROWS", 65_536)),
                config=config,
                progress=progress,
            )
            pruned = prune_feed(config, db, also=version)
        finally:
            db.dispose()
    manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    return {
        "snapshot": str(path),
        "model_version": version,
        "feed_position": manifest["feed_position"],
        "counts": manifest["counts"],
        "build_seconds": manifest["build_seconds"],
        "crowding": manifest.get("crowding"),
        "pruned_changes": pruned,
    }


def feed_floor(config: Mapping[str, Any], *, also: str | None = None) -> int | None:
    """The feed position of the oldest index snapshot still in service: the current snapshot
    of the current model version and of the previous one (a process may still be switching
    from it), and of ``also``. None when none has a snapshot."""
    import json

    from matcher.persistence import PREVIOUS_FILE, current_version
    from matcher.snapshot import MANIFEST, latest_snapshot

    models = Path(config["MODELS_DIR"])
    versions = {current_version(models), also}
    if (models / PREVIOUS_FILE).is_file():
        versions.add((models / PREVIOUS_FILE).read_text(encoding="utf-8").strip() or None)
    positions = []
    for version in versions - {None}:
        path = latest_snapshot(index_root(config), version)
        if path is not None:
            manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
            positions.append(int(manifest["feed_position"]))
    return min(positions) if positions else None


def prune_feed(config: Mapping[str, Any], db: Engine, *, also: str | None = None) -> int:
    """Delete the changes older than every snapshot in service (:func:`feed_floor`), less the
    margin of :func:`api.storage.changes.prune_changes` (``FEED_PRUNE_KEEP_ROWS`` newest ids
    and ``FEED_PRUNE_MIN_AGE_S`` seconds); returns how many. A process still behind the
    pruned point rebuilds from a snapshot or the database at its next sync."""
    import datetime as dt

    floor = feed_floor(config, also=also)
    if floor is None:
        return 0
    keep = int(config.get("FEED_PRUNE_KEEP_ROWS", DEFAULTS["FEED_PRUNE_KEEP_ROWS"]))
    age = float(config.get("FEED_PRUNE_MIN_AGE_S", DEFAULTS["FEED_PRUNE_MIN_AGE_S"]))
    with db.begin() as connection:
        pruned = prune_changes(
            connection, through=floor, keep_rows=keep, min_age=dt.timedelta(seconds=age)
        )
    if pruned:
        log.info(
            "pruned %d changes up to the feed position %d of the oldest snapshot", pruned, floor
        )
    return pruned


__all__ = [
    "BuildBusy",
    "build_current",
    "build_lock",
    "build_snapshot",
    "feed_floor",
    "index_root",
    "index_world",
    "prune_feed",
]
