"""What one service process holds: the database engine, the per-request session, the ID protector
and the matching engine, loaded once per process and kept in step with storage.

The matching engine is loaded on first use from ``MODELS_DIR/current`` (or built by the
``ENGINE_FACTORY`` a test config names, which returns a learned engine) and indexes the open jobs
and registered workers of the database with what that version learned: serving fits nothing.
It follows storage through the change feed (:mod:`api.storage.changes`): every write, whichever
process or command made it, commits a ``changes`` row in its own transaction, and
before each answer :meth:`MatchService.sync` asks for the newest change id — one primary-key
lookup — and, when it is past what this process applied, re-reads the jobs and workers the new
rows name (and the jobs of the firms they name: the engine answers with firm names) and passes
them to ``add_/update_/remove_*``. So a write that was acknowledged to a client is in the next
answer of every process. The audit log is only an audit log.

The index is data, not model: a process maps the latest index snapshot of its model version
(:mod:`matcher.snapshot`, under ``INDEX_DIR``), shared with every process of the host through
the page cache, and replays the feed from the snapshot's position into a small overlay of its
own. The first process of a version builds the snapshot (the others wait on its lock);
``jobbridge index build`` publishes a newer one, which every process switches to at its next
answer (one ``stat`` of the pointer file), and a process whose overlay outgrows
``INDEX_OVERLAY_ROWS`` queues that rebuild itself.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from flask import Flask, current_app, g, has_request_context
from sqlalchemy import Engine, ScalarSelect, event, select, text
from sqlalchemy.orm import Session

from api.crypto import IdProtector, protector_from_config
from api.storage import make_engine, read_world
from api.storage.changes import ChangeBatch, FeedCursor, id_filter, read_jobs, read_workers
from api.storage.models import AuditEntry, Job

log = logging.getLogger(__name__)

EXTENSION = "jobbridge"


class ServiceState:
    """The per-app objects (``app.extensions["jobbridge"]``)."""

    def __init__(self, app: Flask) -> None:
        self.engine: Engine = make_engine(app.config["DATABASE_URL"])
        self._protector: IdProtector | None = None
        self.config = app.config
        self.app = app
        self.matching = MatchService(self)

    @property
    def protector(self) -> IdProtector:
        if self._protector is None:
            self._protector = protector_from_config(self.config, create=False)
        return self._protector


def init_app(app: Flask) -> None:
    """Create the database engine of ``app`` and release the request session after each request."""
    app.extensions[EXTENSION] = ServiceState(app)

    @app.teardown_appcontext
    def _close_session(exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            if exc is not None:
                session.rollback()
            session.close()


def limit_numeric_threads(n: int) -> None:
    """Let BLAS, OpenMP and torch use at most ``n`` threads in this process.

    Libraries already loaded are limited through threadpoolctl; the environment variables
    reach those loaded later (torch reads ``OMP_NUM_THREADS`` when its pool starts).
    """
    if n < 1:
        raise ValueError(f"NUMERIC_THREADS must be a positive integer, got {n!r}")
    from threadpoolctl import threadpool_limits

    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(n)
    threadpool_limits(limits=n)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)


def state() -> ServiceState:
    return current_app.extensions[EXTENSION]


def get_session(*, read_only: bool = False) -> Session:
    """The session of this request, opened on first use.

    ``read_only``: the view only reads (the match views, a request's hottest path). On
    PostgreSQL its statements then run without a transaction of their own (autocommit): no
    ``BEGIN`` before the first and no ``ROLLBACK`` after the last: three round trips for a
    match instead of five. Under PostgreSQL's READ COMMITTED each statement of a transaction
    sees its own snapshot anyway, so the reads see the same rows. Should the request write
    after all, :func:`begin_write` ends the autocommit part first, and a flush without it is
    refused (:func:`_refuse_autocommit_flush`). SQLite sends no round trips and reads as
    before. A session the request already opened is returned as it is.
    """
    if "db_session" not in g:
        session = Session(bind=state().engine, expire_on_commit=False)
        if read_only and state().engine.dialect.name != "sqlite":
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            session.info["autocommit"] = True
        g.db_session = session
    return g.db_session


@event.listens_for(Session, "before_flush")
def _refuse_autocommit_flush(session: Session, flush_context: Any, instances: Any) -> None:
    """A write in a read-only session would commit statement by statement, not as one."""
    if session.info.get("autocommit") and (session.new or session.dirty or session.deleted):
        raise RuntimeError("a read-only request session writes: call begin_write() first")


@event.listens_for(Session, "after_transaction_end")
def _end_autocommit(session: Session, transaction: Any) -> None:
    """Once its autocommit part ends (commit or rollback), a session's next transaction is an
    ordinary one."""
    if transaction.parent is None:
        session.info.pop("autocommit", None)


def begin_write() -> None:
    """Make the request's transaction a writing one before it writes.

    On SQLite a transaction that began by reading is refused, without waiting, when it then
    writes after another process wrote ("database is locked"); under load that failed 1 % of
    the reads that audit personal fields. So a request that is about to write ends a
    read-only transaction (nothing to commit) and begins again with ``BEGIN IMMEDIATE``, which
    waits for the write lock. Writing methods call this before their first statement. On
    PostgreSQL only a read-only session (:func:`get_session`) needs it: its autocommit part
    is ended, so that the writes run in one transaction.
    """
    if g.get("db_writing"):
        return
    session = get_session()
    if session.info.get("autocommit"):
        # A read-only session (autocommit): end it, so that the writes that follow run in
        # one transaction on a connection of the pool's default isolation.
        session.commit()
    elif state().engine.dialect.name == "sqlite":
        if session.new or session.dirty or session.deleted:
            return  # already writing in this transaction: too late to restart it
        if session.in_transaction():
            session.commit()
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
    g.db_writing = True


def rollback_session() -> None:
    """Undo the request's uncommitted work (the error handlers call this)."""
    g.pop("db_writing", None)
    session: Session | None = g.get("db_session")
    if session is not None:
        try:
            session.rollback()
        except Exception:  # the connection itself may be what failed
            log.exception("rollback failed")


def _reading_session() -> Session | None:
    """The session of the request being served when it only reads, else None.

    The change feed's check before a match runs on it: a request's scope check has already
    opened it, so the check costs one more statement on that connection instead of a pool
    checkout of its own (a ping, ``BEGIN`` and ``ROLLBACK`` on PostgreSQL). A writing
    request's session may hold changes of its own not yet committed, which the feed must not
    count as applied, so it keeps the separate connection.
    """
    if not has_request_context() or g.get("db_writing"):
        return None
    session: Session | None = g.get("db_session")
    if session is None or session.new or session.dirty or session.deleted:
        return None
    return session


def get_protector() -> IdProtector:
    return state().protector


def get_matching() -> MatchService:
    return state().matching


def commit(*, sync_engine: bool = True) -> None:
    """Commit the request's session; then bring the engine up to date with what was written."""
    get_session().commit()
    g.pop("db_writing", None)
    if sync_engine:
        matching = get_matching()
        if matching.loaded:
            # The write has landed: a failure to refresh the engine now must not fail the
            # request (a retry would then answer 412 to a write that was applied). The feed
            # position did not move, so the next sync applies the write.
            try:
                matching.sync()
            except Exception:
                log.exception("engine sync after a committed write failed; the next sync retries")


def audit(action: str, object_type: str, object_id: Any = None, fields: Any = ()) -> None:
    """Audit-log an action of the current caller (written in the request's transaction)."""
    begin_write()
    principal = g.get("principal")
    get_session().add(
        AuditEntry(
            api_key_id=principal.key_id if principal is not None else None,
            actor=principal.name if principal is not None else "anonymous",
            action=action,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            fields=sorted(fields),
        )
    )


def database_ok() -> tuple[bool, str]:
    """Whether the database answers a trivial query, and a word on it."""
    try:
        with state().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True, "ok"
    except Exception as exc:  # healthz must answer whatever the failure
        log.warning("database unreachable: %s", exc)
        return False, f"unreachable: {type(exc).__name__}"


# --------------------------------------------------------------------------- the engine
def model_engine(config: Any) -> tuple[Any, str]:
    """A freshly loaded model and its version: the ``ENGINE_FACTORY`` a test config names, or
    :func:`_default_factory`."""
    factory: Callable[..., Any] | None = config.get("ENGINE_FACTORY")
    if factory is not None:
        made = factory()
        return made if isinstance(made, tuple) else (made, "custom")
    return _default_factory(config)


def _default_factory(config: Any) -> tuple[Any, str]:
    """The learned engine of ``MODELS_DIR/current`` (falling back to ``previous`` as
    :func:`matcher.persistence.load_current` does).

    Where no model version exists at all, nothing is served: ``jobbridge init-db`` (and
    ``jobbridge serve`` before it forks) builds the base model, learned from reference data
    alone (:mod:`training.base`), so a process never has to fit anything.
    """
    from matcher.persistence import ModelLoadError, current_version, load_current

    models_dir = Path(config["MODELS_DIR"])
    if not has_model(models_dir):
        raise ModelLoadError(
            f"{str(models_dir)!r} 中没有模型版本：请先运行 `jobbridge init-db`（建立基础模型）"
            "或 `jobbridge train`; no model version to serve"
        )
    engine = load_current(models_dir)
    return engine, str(
        getattr(engine, "model_version_", None) or current_version(models_dir) or "unknown"
    )


def has_model(models_dir: str | os.PathLike[str]) -> bool:
    """Whether ``models_dir`` holds a model version (current or any other)."""
    from matcher.persistence import current_version, list_versions

    root = Path(models_dir)
    return root.is_dir() and (current_version(root) is not None or bool(list_versions(root)))


class MatchService:
    """The matching engine of this process: a learned model version, indexed on the database
    (nothing fitted) and kept in step with it through the change feed
    (:mod:`api.storage.changes`)."""

    def __init__(self, state: ServiceState) -> None:
        self._state = state
        self._lock = threading.RLock()
        self.engine: Any = None
        self.model_version: str | None = None
        self.feed = FeedCursor()
        #: The index snapshot the engine serves from (None: indexed in this process).
        self.snapshot: Any = None
        self._stamp: Any = None
        self._rebuild_queued = False
        #: Fingerprint of ``MODELS_DIR/current`` when the served version was chosen.
        self._model_stamp: Any = None
        #: One model switch (or rebuild) at a time; answers go on meanwhile.
        self._switch_lock = threading.Lock()
        self._follower: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def loaded(self) -> bool:
        return self.engine is not None

    def _session(self) -> Session:
        return Session(bind=self._state.engine, expire_on_commit=False)

    def load(self) -> MatchService:
        """Load the model and its index (once; later calls return at once).

        A learned model serves from the latest index snapshot of its version
        (:mod:`matcher.snapshot`), mapped from disk and shared with every process of the host,
        and replays the change feed from the snapshot's position; where there is none yet the
        first process builds it (the others wait on the build lock, then map it). With
        ``INDEX_SNAPSHOTS`` off the process indexes the database itself. Nothing is fitted:
        every process that loads the same version ranks alike.

        With ``FEED_FOLLOW`` (on under ``jobbridge serve``) a daemon thread then follows the
        feed, the index snapshots and the model version in the background
        (:meth:`start_following`).
        """
        if self.engine is not None:
            return self
        with self._lock:
            if self.engine is not None:
                return self
            started = time.perf_counter()
            model_stamp = self._current_model_stamp()  # before loading: a later train is seen
            engine, version = model_engine(self._state.config)
            loaded = self._index_engine(engine, version)
            self._install(loaded)
            self._model_stamp = model_stamp
            log.info(
                "engine %s %s (%d jobs, %d workers) in %.1f s",
                version,
                f"on index snapshot {self.snapshot.snapshot_id}"
                if self.snapshot is not None
                else "indexed in this process",
                len(engine.jobs_index_),
                len(engine.workers_index_),
                time.perf_counter() - started,
            )
        from api.config import DEFAULTS, as_bool

        config = self._state.config
        if as_bool(config.get("FEED_FOLLOW", DEFAULTS["FEED_FOLLOW"])):
            self.start_following(
                float(config.get("FEED_POLL_SECONDS", DEFAULTS["FEED_POLL_SECONDS"]))
            )
        return self

    # -- loading a version ------------------------------------------------------------------

    def _index_engine(self, engine: Any, version: str) -> dict[str, Any]:
        """Index ``engine`` (freshly loaded, not yet serving): map the version's snapshot (or
        build it), or index the database here. Returns what :meth:`_install` takes; the
        engine's feed cursor stands where its rows end."""
        if self._snapshots_for(engine):
            snap, stamp = self._open_or_build(engine, version)
            return {
                "engine": engine,
                "version": version,
                "snapshot": snap,
                "stamp": stamp,
                "feed": self._attach(engine, snap),
            }
        feed = FeedCursor()
        with self._session() as session:
            # The feed position is read before the world, so a write landing in between is
            # applied again by the next sync rather than missed.
            feed.start(session)
            jobs, workers, _ = read_world(session)
        from api.index_snapshots import index_world

        index_world(engine, jobs, workers, self._state.config)
        return {"engine": engine, "version": version, "snapshot": None, "stamp": None, "feed": feed}

    def _install(self, loaded: dict[str, Any]) -> None:
        """Serve ``loaded`` from now on (the caller holds the engine lock)."""
        self.feed = loaded["feed"]
        self.snapshot = loaded["snapshot"]
        self._stamp = loaded["stamp"]
        self._rebuild_queued = False
        self.model_version = loaded["version"]
        self.engine = loaded["engine"]

    def _current_model_stamp(self) -> Any:
        """A cheap fingerprint of ``MODELS_DIR/current`` (one ``stat``; None with an
        ``ENGINE_FACTORY`` or no pointer): it changes when a version is made current."""
        if self._state.config.get("ENGINE_FACTORY") is not None:
            return None
        try:
            st = os.stat(Path(self._state.config["MODELS_DIR"]) / "current")
        except (FileNotFoundError, KeyError):
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def follow_model(self) -> bool:
        """Switch to the model version ``MODELS_DIR/current`` names when it is another one
        (``jobbridge train``, the train task); True when it switched.

        One ``stat`` when nothing changed. Otherwise the new version is loaded and indexed
        (its snapshot mapped, or built by the first process of the host while the others wait
        for it) and brought up to the newest change *while the old version keeps answering*;
        only the last few changes and the swap itself happen under the engine lock.
        """
        if self.engine is None:
            return False
        stamp = self._current_model_stamp()
        if stamp is None or stamp == self._model_stamp:
            return False
        with self._switch_lock:
            if stamp == self._model_stamp:
                return False
            from matcher.persistence import current_version

            named = current_version(self._state.config["MODELS_DIR"])
            if named is None or named == self.model_version:
                self._model_stamp = stamp
                return False
            engine, version = model_engine(self._state.config)
            if version == self.model_version:  # the new one failed to load: keep serving
                self._model_stamp = stamp
                return False
            self._switch_version(engine, version)
            self._model_stamp = stamp
            return True

    def _switch_version(self, engine: Any, version: str) -> None:
        started = time.perf_counter()
        loaded = self._index_engine(engine, version)
        # Catch up outside the lock (the engine is not serving yet), then the rest under it.
        for _ in range(20):
            with self._session() as session:
                batch = loaded["feed"].read(session)
                if len(batch) == 0:
                    break
                self._apply_batch(session, batch, engine, version)
                loaded["feed"].advance(batch)
                if batch.objects("job") + batch.objects("worker") < 1000:
                    break
        with self._lock, self._session() as session:
            batch = loaded["feed"].read(session)
            if batch:
                self._apply_batch(session, batch, engine, version)
                loaded["feed"].advance(batch)
            old = self.model_version
            self._install(loaded)
        log.info(
            "switched from model %s to %s (feed position %d) in %.1f s",
            old,
            version,
            self.feed.position,
            time.perf_counter() - started,
        )

    def rebuild(self) -> None:
        """Load the current model version again from its newest snapshot (or the database)
        and serve it: for a process whose feed position the change table no longer holds
        (pruned, :func:`api.storage.changes.prune_changes`), which must not miss rows."""
        with self._switch_lock:
            engine, version = model_engine(self._state.config)
            self._switch_version(engine, version)

    # -- following in the background --------------------------------------------------------

    @property
    def following(self) -> bool:
        return self._follower is not None and self._follower.is_alive()

    def start_following(self, interval: float = 0.2) -> None:
        """Follow the change feed, the index snapshots and the model version from a daemon
        thread, every ``interval`` seconds: a write committed anywhere (another process, a
        CLI import) is applied here before a request asks for it. The request path still
        syncs before each answer, so an answer never misses a committed write; it just finds
        the work done."""
        if self.following:
            return
        self._stop.clear()
        thread = threading.Thread(
            target=self._follow_loop, args=(float(interval),), name="jobbridge-feed", daemon=True
        )
        self._follower = thread
        thread.start()

    def stop_following(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._follower is not None:
            self._follower.join(timeout)
        self._follower = None

    def _follow_loop(self, interval: float) -> None:
        delay = interval
        failures = 0
        while not self._stop.wait(delay):
            try:
                self.follow_model()
                self.sync()
            except Exception as exc:
                # The database or the disk is away for a moment: retry, less often. The
                # traceback once per outage; the retries that fail again say only why.
                failures += 1
                delay = min(max(delay, interval) * 2, 30.0)
                if failures == 1:
                    log.exception("following the change feed failed; retrying")
                else:
                    log.warning(
                        "following the change feed failed again (%d times): %s; next try in %.1f s",
                        failures,
                        f"{type(exc).__name__}: {exc}".splitlines()[0],
                        delay,
                    )
                continue
            if failures:
                log.warning("following the change feed again after %d failures", failures)
            failures = 0
            delay = interval

    # -- index snapshots --------------------------------------------------------------------

    def _snapshots_for(self, engine: Any) -> bool:
        from api.config import as_bool

        return as_bool(self._state.config.get("INDEX_SNAPSHOTS", True)) and bool(
            getattr(engine, "is_learned", False)
        )

    @property
    def index_root(self) -> Path:
        from api.index_snapshots import index_root

        return index_root(self._state.config)

    def _open_or_build(self, engine: Any, version: str) -> tuple[Any, Any]:
        """The current snapshot of ``version`` and its pointer's stamp, built first (under
        the build lock) when there is none, or when it is older than the oldest change the
        feed still holds (pruned past it)."""
        from api.index_snapshots import build_lock, build_snapshot
        from matcher.snapshot import open_latest, pointer_stamp

        root = self.index_root

        def usable(snap: Any) -> bool:
            if snap is None:
                return False
            with self._state.engine.connect() as connection:
                return not FeedCursor.pruned_past(connection, snap.feed_position)

        stamp = pointer_stamp(root, version)  # before opening: a later publish is noticed
        snap = open_latest(root, version)
        if not usable(snap):
            with build_lock(root, version):
                stamp = pointer_stamp(root, version)
                snap = open_latest(root, version)  # built by another process while we waited
                if not usable(snap):
                    build_snapshot(
                        self._state.engine,
                        engine,
                        version,
                        root,
                        spare_rows=int(self._state.config.get("INDEX_SPARE_ROWS", 65_536)),
                        config=self._state.config,
                    )
                    stamp = pointer_stamp(root, version)
                    snap = open_latest(root, version)
        if snap is None:  # pragma: no cover - the build just published it
            raise RuntimeError(f"index snapshot of model {version} vanished after its build")
        return snap, stamp

    def _attach(self, engine: Any, snap: Any) -> FeedCursor:
        """Serve ``snap`` from ``engine``; the cursor that stands at the snapshot's position."""
        from matcher.snapshot import attach

        feed = FeedCursor()
        with self._session() as session:
            feed.start_at(session, snap.feed_position, snap.manifest.get("feed_gaps", ()))
        attach(engine, snap)
        return feed

    def _switch_to(self, engine: Any, snap: Any, stamp: Any) -> None:
        self.feed = self._attach(engine, snap)
        self.snapshot = snap
        self._stamp = stamp
        self._rebuild_queued = False
        self.engine = engine

    def _follow_snapshot(self) -> bool:
        """Switch to a newer snapshot of the model version when one was published (one
        ``stat`` of the pointer file when none was); True when it switched."""
        from matcher.snapshot import open_latest, pointer_stamp

        if self.snapshot is None or self.model_version is None:
            return False
        root = self.index_root
        stamp = pointer_stamp(root, self.model_version)
        if stamp == self._stamp:
            return False
        with self._lock:
            if stamp == self._stamp:
                return False
            snap = open_latest(root, self.model_version)
            if snap is None or snap.snapshot_id == self.snapshot.snapshot_id:
                self._stamp = stamp
                return False
            self._switch_to(self.engine, snap, stamp)
            log.info(
                "switched to index snapshot %s (feed position %d)",
                snap.snapshot_id,
                snap.feed_position,
            )
            return True

    @property
    def overlay_rows(self) -> int:
        """Rows this process changed on top of its snapshot: rows added, and rows of the
        snapshot tombstoned (0 without a snapshot)."""
        if self.snapshot is None or self.engine is None:
            return 0
        changed = 0
        for index in (self.engine.jobs_index_, self.engine.workers_index_):
            base_dead = index.n_base - int(index.active[: index.n_base].sum())
            changed += index.overlay_rows + base_dead
        return changed

    def _maybe_queue_rebuild(self) -> None:
        limit = int(self._state.config.get("INDEX_OVERLAY_ROWS", 50_000))
        if self.snapshot is None or self._rebuild_queued or self.overlay_rows <= limit:
            return
        self._rebuild_queued = True
        try:
            from api.tasks import queue_index_build

            queue_index_build(self._state.app, after=self.snapshot.snapshot_id)
            log.info(
                "%d rows over snapshot %s (limit %d): index rebuild queued",
                self.overlay_rows,
                self.snapshot.snapshot_id,
                limit,
            )
        except Exception:
            # Serving goes on from the overlay; the next snapshot of another process or of
            # `jobbridge index build` will do.
            log.exception("queueing an index rebuild failed")

    def sync(self) -> int:
        """Apply the committed changes this process has not applied yet; return how many
        objects they named.

        Called before every answer (and by the follower thread in the background): one cheap
        query (the oldest and newest change ids) when nothing is new, so whatever any process
        committed before this request began is in its answer. On a snapshot it first checks
        (one ``stat``) whether a newer snapshot was published, and switches to it; when its
        own rows on top of the snapshot grow past ``INDEX_OVERLAY_ROWS`` it queues a rebuild.
        Without a follower thread it also switches to a new model version here. When the
        change table was pruned past this process's position it rebuilds (:meth:`rebuild`)
        rather than miss the pruned rows.
        """
        return self._sync()[0]

    def read_synced(self, also: ScalarSelect) -> Any:
        """Load, :meth:`sync`, and return the value of the scalar subquery ``also``, read in the
        feed check's own statement (a match's scope check: one round trip instead of two).
        The answer that follows is then asked with ``synced=True``."""
        self.load()
        return self._sync(also)[1]

    def _sync(self, also: ScalarSelect | None = None) -> tuple[int, Any]:
        if self.engine is None:
            return 0, None
        if not self.following:
            self.follow_model()
        switched = self._follow_snapshot()
        session = _reading_session()
        if session is not None:
            behind, stale, value = self.feed.check(session, also)
        else:
            with self._state.engine.connect() as connection:
                behind, stale, value = self.feed.check(connection, also)
        if stale:
            log.warning(
                "change feed pruned past this process's position %d: rebuilding",
                self.feed.position,
            )
            self.rebuild()
        elif not switched and not behind:
            return 0, value
        with self._lock, self._session() as session:
            batch = self.feed.read(session)
            if not batch:
                return 0, value
            applied = self._apply_batch(session, batch)
            self.feed.advance(batch)
        self._maybe_queue_rebuild()
        return applied, value

    def _apply_batch(
        self, session: Session, batch: ChangeBatch, engine: Any = None, version: str | None = None
    ) -> int:
        """Apply ``batch`` to ``engine`` (the serving one by default): its bulk changes
        through their segments (prepared once per host, :mod:`api.feed_segments`), the rest
        re-read from the database. Returns how many objects the batch named."""
        e = self.engine if engine is None else engine
        version = self.model_version if version is None else version
        named = batch.objects("job") + batch.objects("worker") + batch.objects("firm")
        bulk = self._apply_segments(session, batch, e, version)
        if bulk:
            batch = ChangeBatch.of([r for r in batch.rows if r not in bulk])
        self._apply_rows(session, batch, e)
        return named

    def _apply_segments(
        self, session: Session, batch: ChangeBatch, engine: Any, version: str | None
    ) -> list[Any]:
        from api.feed_segments import eligible, obtain
        from matcher.segments import apply_segment

        if version is None or not getattr(engine, "is_learned", False):
            return []
        bulk = eligible(batch.rows, self._state.config)
        for row in bulk:
            started = time.perf_counter()
            segment, wrote = obtain(self.index_root, engine, version, session, row)
            added = apply_segment(engine, row.kind, segment, row.object_id, row.last_object_id)
            log.info(
                "change %d: %d %s rows %s segment in %.2f s",
                row.id,
                added,
                row.kind,
                "prepared into a new" if wrote else "mapped from the host's",
                time.perf_counter() - started,
            )
        return bulk

    def _apply_rows(self, session: Session, batch: ChangeBatch, engine: Any) -> None:
        job_ids = set(batch.ids.get("job", ()))
        job_runs = list(batch.runs.get("job", ()))
        # The engine answers with each job's firm name: a renamed firm's jobs are re-read.
        firm_ids = set(batch.ids.get("firm", ()))
        firm_runs = batch.runs.get("firm", [])
        if firm_ids or firm_runs:
            for clause in id_filter(Job.firm_id, sorted(firm_ids), firm_runs):
                job_ids |= set(session.scalars(select(Job.id).where(clause)))
        e = engine
        if job_ids or job_runs:
            self._apply(
                read_jobs(session, sorted(job_ids), job_runs),
                job_ids,
                job_runs,
                "job_id",
                e.jobs_index_,
                e.add_jobs,
                e.update_jobs,
                e.remove_jobs,
            )
        worker_ids = batch.ids.get("worker", set())
        worker_runs = batch.runs.get("worker", [])
        if worker_ids or worker_runs:  # a batch of job writes reads no worker table
            self._apply(
                read_workers(session, sorted(worker_ids), worker_runs),
                worker_ids,
                worker_runs,
                "worker_id",
                e.workers_index_,
                e.add_workers,
                e.update_workers,
                e.remove_workers,
            )

    @staticmethod
    def _apply(
        records: pd.DataFrame,
        ids: set[int],
        runs: list[tuple[int, int]],
        id_column: str,
        index: Any,
        add: Any,
        update: Any,
        remove: Any,
    ) -> None:
        """Bring one side of the engine in line with the stored rows named by ``ids`` and
        ``runs``: rows gone are removed, rows the index knows are updated, new rows added."""
        present = set(records[id_column].tolist()) if len(records) else set()
        gone = [i for i in ids - present if i in index]
        if runs:
            known = np.asarray(index.active_ids())
            for first, last in runs:
                inside = known[(known >= first) & (known <= last)].tolist()
                gone += [i for i in inside if i not in present]
        if gone:
            remove(sorted(set(gone)))
        if len(records):
            known_mask = records[id_column].map(lambda i: i in index).astype(bool)
            if known_mask.any():
                update(records[known_mask])
            if (~known_mask).any():
                add(records[~known_mask])

    def _ready(self) -> Any:
        self.load()
        self.sync()
        return self.engine

    def recommend_jobs(
        self, worker_id: int, k: int, *, synced: bool = False
    ) -> list[dict[str, Any]]:
        """Best ``k`` open jobs for an indexed worker; ``[]`` for a worker the engine lacks.
        ``synced``: the caller has just synced (:meth:`read_synced`), so no second check."""
        engine = self.engine if synced and self.engine is not None else self._ready()
        with self._lock:
            if worker_id not in engine.workers_index_:
                return []
            return engine.recommend_jobs(int(worker_id), k=k)

    def recommend_workers(self, job_id: int, k: int) -> list[dict[str, Any]]:
        """Best ``k`` workers for an open, indexed job; ``[]`` for a job not open."""
        engine = self._ready()
        with self._lock:
            if job_id not in engine.jobs_index_:
                return []
            return engine.recommend_workers(int(job_id), k=k)

    def candidates(self, worker_ids: list[int], k: int) -> pd.DataFrame:
        """The engine's top-``k`` candidate table of indexed workers (allocation input)."""
        engine = self._ready()
        with self._lock:
            known = [i for i in worker_ids if i in engine.workers_index_]
            return engine.candidates(known, k=k)

    def with_engine(self, fn: Callable[[Any], Any]) -> Any:
        """Run ``fn(engine)`` under the engine lock (fair planning reads the index)."""
        engine = self._ready()
        with self._lock:
            return fn(engine)


__all__ = [
    "MatchService",
    "ServiceState",
    "audit",
    "begin_write",
    "commit",
    "database_ok",
    "get_matching",
    "get_protector",
    "get_session",
    "has_model",
    "init_app",
    "limit_numeric_threads",
    "model_engine",
    "rollback_session",
    "state",
]
