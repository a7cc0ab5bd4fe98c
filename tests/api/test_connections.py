"""Pooled PostgreSQL connections: pinged only after sitting idle, and a read that meets one the
server dropped runs again on a new connection (``api.storage.db``, ``api.transactions``)."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from api.storage import db
from api.transactions import run_with_retry
from tests.conftest import POSTGRES_URL


def _pid(engine) -> int:
    with engine.connect() as c:
        return int(c.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(pid: int) -> None:
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        assert c.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar_one()
    admin.dispose()


@pytest.mark.parametrize("idle", [True, False], ids=["idle", "busy"])
@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="JOBBRIDGE_TEST_POSTGRES_URL not set")
def test_an_idle_connection_is_pinged_and_a_busy_one_is_not(monkeypatch, idle):
    engine = db.make_engine(POSTGRES_URL, pool_size=1, max_overflow=0)
    try:
        monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0 if idle else 3600.0)
        first = _pid(engine)
        _terminate(first)  # as a server restart would, while the connection sat in the pool
        if idle:  # the ping finds it dead: the pool opens another, the caller sees nothing
            assert _pid(engine) != first
        else:  # not pinged: the one request fails, and the pool is renewed for the next
            with pytest.raises(OperationalError) as caught:
                _pid(engine)
            assert caught.value.connection_invalidated
            assert _pid(engine) != first
    finally:
        engine.dispose()


def _dropped() -> OperationalError:
    return OperationalError(
        "SELECT 1", {}, Exception("server closed the connection"), connection_invalidated=True
    )


@pytest.mark.parametrize(("method", "calls"), [("GET", 2), ("HEAD", 2), ("POST", 1)])
def test_a_read_that_met_a_dropped_connection_runs_again_and_a_write_does_not(
    monkeypatch, method, calls
):
    import api.service

    monkeypatch.setattr(api.service, "begin_write", lambda: None)
    monkeypatch.setattr(api.service, "rollback_session", lambda: None)
    seen: list[int] = []

    def view() -> str:
        seen.append(1)
        if len(seen) == 1:
            raise _dropped()
        return "ok"

    with Flask(__name__).test_request_context("/", method=method):
        if calls == 1:
            with pytest.raises(OperationalError):
                run_with_retry(view, {})
        else:
            assert run_with_retry(view, {}) == "ok"
    assert len(seen) == calls


def test_sqlite_engines_keep_their_own_connection_handling(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        assert not engine.pool.dispatch.checkout  # no ping listener: SQLite opens files
    finally:
        engine.dispose()
