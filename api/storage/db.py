"""Engine, sessions and schema migration.

``init_db`` runs ``alembic upgrade head`` programmatically, so the tests build their schema the same
way production does and the migrations are tested with every run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


#: One encoder for every value: ``json.dumps`` with options builds a new one per call, a third
#: of the cost of a short list (an import encodes five lists a row).
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def json_dumps(value: Any) -> str:
    """JSON as stored: Chinese kept readable rather than ``\\uXXXX`` (half the bytes too)."""
    return _JSON.encode(value)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT; let SQLAlchemy emit BEGIN itself
    # (the recipe of SQLAlchemy's SQLite dialect documentation).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # SQLite leaves foreign keys off unless asked; WAL lets gunicorn workers read while one writes.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


#: ``execution_options(sqlite_begin=...)``: how a SQLite transaction starts. A deferred one
#: reads a snapshot and may be refused (SQLITE_BUSY_SNAPSHOT, no waiting) when it later writes
#: after another connection did; an IMMEDIATE one takes the write lock first and waits for it.
SQLITE_BEGIN_MODES = ("DEFERRED", "IMMEDIATE")


def _sqlite_on_begin(connection: Any) -> None:
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    if mode not in SQLITE_BEGIN_MODES:
        raise ValueError(f"sqlite_begin {mode!r} is not one of {SQLITE_BEGIN_MODES}")
    connection.exec_driver_sql(f"BEGIN {mode}")


#: A pooled server connection left idle longer than this is pinged before it is handed out.
#: A connection in steady use is not: ``pool_pre_ping`` pinged on every checkout, one more
#: round trip per request (a match makes two of its own) on the cores the service shares with
#: the database. A server restarted while a connection was idle less than this fails the one
#: request that meets it; the engine then drops every pooled connection opened before, and a
#: read is run again (:func:`api.transactions.run_with_retry`).
IDLE_PING_SECONDS = 1.0


def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(engine: Engine) -> Any:
    def on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")  # None: opened for this checkout
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards this connection and checks out (or opens) another.
            raise DisconnectionError(str(exc)) from exc

    return on_checkout


def make_engine(database_url: str | Engine, **kwargs: Any) -> Engine:
    """Return an engine for ``database_url`` (an engine passes through unchanged).

    SQLite: the file is created with mode 0600 (and its folder 0700) when missing, foreign keys
    are enforced, WAL is on.
    """
    if isinstance(database_url, Engine):
        return database_url
    try:
        url = make_url(database_url)
    except Exception:
        raise ValueError(
            f"数据库地址 {database_url!r} 无法解析；应形如 sqlite:///instance/jobbridge.db "
            "或 postgresql+psycopg://user@host/db。"
        ) from None
    kwargs.setdefault("json_serializer", json_dumps)
    if url.get_backend_name() == "sqlite":
        from api.permissions import create_private, sqlite_file

        database = sqlite_file(database_url)
        if database is not None:
            # Created 0600 before SQLite creates it with the umask: it holds personal data.
            create_private(database)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        event.listen(engine, "checkin", _on_checkin)
        event.listen(engine, "checkout", _ping_if_idle(engine))
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory; objects stay readable after commit (views shape them after)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits when the block ends and rolls back if it raises."""
    session = Session(bind=engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(engine: Engine | None = None):  # -> alembic.config.Config
    """The Alembic configuration of this package, without an ``alembic.ini`` file."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        cfg.set_main_option(
            "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
        )
    return cfg


def upgrade(database: str | Engine, revision: str = "head") -> Engine:
    """Run the migrations up to ``revision`` on ``database`` and return its engine."""
    from alembic import command

    engine = make_engine(database)
    cfg = alembic_config(engine)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
    return engine


def downgrade(database: str | Engine, revision: str = "base") -> Engine:
    """Undo the migrations down to ``revision``."""
    from alembic import command

    engine = make_engine(database)
    cfg = alembic_config(engine)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)
    return engine


def init_db(database: str | Engine) -> Engine:
    """Create or bring up to date the schema (``alembic upgrade head``); idempotent."""
    return upgrade(database, "head")


def current_revision(engine: Engine) -> str | None:
    """The schema's Alembic revision, or ``None`` for a database never migrated."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def require_schema(engine: Engine) -> None:
    """Raise :class:`SchemaMissing` (a ``RuntimeError``) when the database is not initialised."""
    from .errors import SchemaMissing

    if not inspect(engine).has_table("workers"):
        raise SchemaMissing(
            f"数据库 {engine.url.render_as_string(hide_password=True)} 尚未初始化；"
            "请先运行 `jobbridge init-db`。"
        )


def is_empty(engine: Engine) -> bool:
    """True when the database holds no firm, job or worker."""
    from .models import Firm, Job, Worker

    require_schema(engine)
    with engine.connect() as connection:
        for model in (Firm, Job, Worker):
            if connection.execute(select(model.id).limit(1)).first() is not None:
                return False
    return True


__all__ = [
    "MIGRATIONS_DIR",
    "alembic_config",
    "current_revision",
    "downgrade",
    "init_db",
    "is_empty",
    "json_dumps",
    "make_engine",
    "require_schema",
    "session_factory",
    "session_scope",
    "upgrade",
]
