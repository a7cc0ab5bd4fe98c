"""What one service process holds: the database engine, the per-request session, the ID protector
and the matching engine, loaded once per process and kept in step with storage.

The matching engine is loaded on first use from ``MODELS_DIR/current`` (or built by the
``ENGINE_FACTORY`` a test config names) and fitted on the open jobs and registered workers of the
database. It follows storage through the audit log: every write of the API leaves an audit row
(``create``/``update``/``delete`` of a ``job``, ``worker`` or ``firm``), and
:meth:`MatchService.sync` applies the rows written since it last looked — the jobs and workers
they name, and the jobs of the firms they name (the engine answers with firm names), are re-read
and passed to ``add_/update_/remove_*``. A process syncs right after its own writes, so a job it
creates shows in its next answer, and at most ``ENGINE_SYNC_SECONDS`` after another gunicorn
worker's writes; the audit table's primary key makes that a range scan, not a table scan.
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

import pandas as pd
from flask import Flask, current_app, g
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from api.crypto import IdProtector, protector_from_config
from api.storage import make_engine, read_world
from api.storage import repository as repo
from api.storage.models import AuditEntry, Firm, Job, Worker

log = logging.getLogger(__name__)

EXTENSION = "jobbridge"
#: Audit actions that change what the engine must know.
WRITE_ACTIONS = ("create", "update", "delete")


class ServiceState:
    """The per-app objects (``app.extensions["jobbridge"]``)."""

    def __init__(self, app: Flask) -> None:
        self.engine: Engine = make_engine(app.config["DATABASE_URL"])
        self._protector: IdProtector | None = None
        self.config = app.config
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


def get_session() -> Session:
    """The session of this request, opened on first use."""
    if "db_session" not in g:
        g.db_session = Session(bind=state().engine, expire_on_commit=False)
    return g.db_session


def begin_write() -> None:
    """Make the request's transaction a writing one before it writes.

    On SQLite a transaction that began by reading is refused, without waiting, when it then
    writes after another process wrote ("database is locked"); under load that failed 1 % of
    the reads that audit personal fields. So a request that is about to write ends a
    read-only transaction (nothing to commit) and begins again with ``BEGIN IMMEDIATE``, which
    waits for the write lock. Writing methods call this before their first statement. Other
    databases need nothing.
    """
    if g.get("db_writing"):
        return
    session = get_session()
    if state().engine.dialect.name == "sqlite":
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
            # request (a retry would then answer 412 to a write that was applied). The audit
            # position did not move, so the next sync applies the write.
            try:
                matching.sync(force=True)
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
def _default_factory(config: Any) -> tuple[Any, str]:
    """The engine of ``MODELS_DIR/current`` (falling back to ``previous`` as
    :func:`matcher.persistence.load_current` does).

    Only where no model version exists at all (a fresh checkout before ``jobbridge train``) is an
    untrained engine served — char n-grams, no ranker, ordered by retrieval score — and
    ``/healthz`` says ``untrained``. A version that exists but cannot be loaded is an error.
    """
    from matcher.persistence import current_version, list_versions, load_current

    models_dir = Path(config["MODELS_DIR"])
    if not models_dir.is_dir() or (
        current_version(models_dir) is None and not list_versions(models_dir)
    ):
        from matcher.engine import MatchingEngine

        log.warning(
            "no trained model in %s: serving an untrained engine (char n-grams, no ranker)",
            models_dir,
        )
        return MatchingEngine(), "untrained"
    engine = load_current(models_dir)
    return engine, str(
        getattr(engine, "model_version_", None) or current_version(models_dir) or "unknown"
    )


class MatchService:
    """The matching engine of this process, fitted on the database and kept in step with it."""

    def __init__(self, state: ServiceState) -> None:
        self._state = state
        self._lock = threading.RLock()
        self.engine: Any = None
        self.model_version: str | None = None
        self._last_audit_id = 0
        self._last_sync = 0.0

    @property
    def loaded(self) -> bool:
        return self.engine is not None

    def _session(self) -> Session:
        return Session(bind=self._state.engine, expire_on_commit=False)

    def load(self) -> MatchService:
        """Build and fit the engine (once; later calls return at once)."""
        if self.engine is not None:
            return self
        with self._lock:
            if self.engine is not None:
                return self
            config = self._state.config
            factory: Callable[..., Any] | None = config.get("ENGINE_FACTORY")
            if factory is not None:
                made = factory()
                engine, version = made if isinstance(made, tuple) else (made, "custom")
            else:
                engine, version = _default_factory(config)
            started = time.perf_counter()
            with self._session() as session:
                # The audit position is read before the world, so a write landing in between is
                # applied again by the next sync rather than missed.
                last = session.scalar(select(func.max(AuditEntry.id))) or 0
                jobs, workers, _ = read_world(session)
            engine.fit(jobs, workers)
            self._last_audit_id = last
            self._last_sync = time.monotonic()
            self.model_version = version
            self.engine = engine
            log.info(
                "engine %s fitted on %d jobs and %d workers in %.1f s",
                version,
                len(jobs),
                len(workers),
                time.perf_counter() - started,
            )
        return self

    def sync(self, *, force: bool = False) -> int:
        """Apply the job and worker writes audited since the last sync; return how many."""
        if self.engine is None:
            return 0
        interval = float(self._state.config.get("ENGINE_SYNC_SECONDS", 1.0))
        if not force and time.monotonic() - self._last_sync < interval:
            return 0
        with self._lock:
            with self._session() as session:
                rows = session.execute(
                    select(AuditEntry.id, AuditEntry.object_type, AuditEntry.object_id)
                    .where(
                        AuditEntry.id > self._last_audit_id,
                        AuditEntry.object_type.in_(("job", "worker", "firm")),
                        AuditEntry.action.in_(WRITE_ACTIONS),
                    )
                    .order_by(AuditEntry.id)
                ).all()
                self._last_sync = time.monotonic()
                if not rows:
                    newest = session.scalar(select(func.max(AuditEntry.id))) or 0
                    self._last_audit_id = max(self._last_audit_id, newest)
                    return 0
                job_ids = {int(r.object_id) for r in rows if r.object_type == "job" and r.object_id}
                # The engine answers with each job's firm name: a renamed firm's jobs are re-read.
                firm_ids = {
                    int(r.object_id) for r in rows if r.object_type == "firm" and r.object_id
                }
                if firm_ids:
                    job_ids |= set(session.scalars(select(Job.id).where(Job.firm_id.in_(firm_ids))))
                worker_ids = {
                    int(r.object_id) for r in rows if r.object_type == "worker" and r.object_id
                }
                self._apply_jobs(session, job_ids)
                self._apply_workers(session, worker_ids)
                self._last_audit_id = rows[-1].id
            return len(job_ids) + len(worker_ids)

    def _apply_jobs(self, session: Session, job_ids: set[int]) -> None:
        e = self.engine
        sides = (e.jobs_index_, e.add_jobs, e.update_jobs, e.remove_jobs)
        names = dict(
            session.execute(
                select(Firm.id, Firm.name).where(
                    Firm.id.in_(select(Job.firm_id).where(Job.id.in_(job_ids)))
                )
            ).all()
        )

        def record(job: Job) -> dict[str, Any]:
            return repo.job_record(job, names.get(job.firm_id, ""))

        self._apply(session, job_ids, Job, record, "job_id", *sides)

    def _apply_workers(self, session: Session, worker_ids: set[int]) -> None:
        e = self.engine
        sides = (e.workers_index_, e.add_workers, e.update_workers, e.remove_workers)
        self._apply(session, worker_ids, Worker, repo.worker_record, "worker_id", *sides)

    @staticmethod
    def _apply(
        session: Session,
        ids: set[int],
        model: Any,
        to_record: Any,
        id_column: str,
        index: Any,
        add: Any,
        update: Any,
        remove: Any,
    ) -> None:
        """Bring one side of the engine in line with the stored rows of ``ids``: rows gone are
        removed, rows the index knows are updated, new rows are added."""
        if not ids:
            return
        found = list(session.scalars(select(model).where(model.id.in_(ids))))
        present = {row.id for row in found}
        gone = [i for i in ids - present if i in index]
        if gone:
            remove(gone)
        if found:
            records = pd.DataFrame([to_record(row) for row in found])
            known = records[id_column].isin([i for i in present if i in index])
            if known.any():
                update(records[known])
            if (~known).any():
                add(records[~known])

    def _ready(self) -> Any:
        self.load()
        self.sync()
        return self.engine

    def recommend_jobs(self, worker_id: int, k: int) -> list[dict[str, Any]]:
        """Best ``k`` open jobs for an indexed worker; ``[]`` for a worker the engine lacks."""
        engine = self._ready()
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
    "init_app",
    "limit_numeric_threads",
    "rollback_session",
    "state",
]
