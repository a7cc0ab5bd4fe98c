"""Shared fixtures: a fresh database per test, on SQLite always and on PostgreSQL when
``JOBBRIDGE_TEST_POSTGRES_URL`` is set (each PostgreSQL test gets its own schema through
``search_path``, dropped afterwards, so tests never see each other's rows)."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

POSTGRES_URL = os.environ.get("JOBBRIDGE_TEST_POSTGRES_URL")


@pytest.fixture(scope="session", autouse=True)
def _models_dir(tmp_path_factory) -> Iterator[None]:
    """Commands the tests run (``init-db`` builds the base model where none exists) write their
    model versions to a folder of the session, never to the checkout's ``models/``."""
    folder = tmp_path_factory.mktemp("models")
    old = os.environ.get("JOBBRIDGE_MODELS_DIR")
    os.environ["JOBBRIDGE_MODELS_DIR"] = str(folder)
    yield
    if old is None:
        os.environ.pop("JOBBRIDGE_MODELS_DIR", None)
    else:
        os.environ["JOBBRIDGE_MODELS_DIR"] = old


def _feed_followers() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "jobbridge-feed" and t.is_alive()}


@pytest.fixture(autouse=True)
def _no_follower_outlives_its_test() -> Iterator[None]:
    """Fail the test that leaves a change-feed follower thread running: it would go on polling a
    database that is dropped, logging tracebacks from its own thread while later tests run
    (Python 3.11's traceback carets parse source with ``ast``, which is not thread-safe)."""
    before = _feed_followers()
    yield
    deadline = time.monotonic() + 5
    while (left := _feed_followers() - before) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, "the test left a feed follower running: stop it (stop_following)"


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgres",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(not POSTGRES_URL, reason="JOBBRIDGE_TEST_POSTGRES_URL not set"),
            ],
        ),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """URL of an empty database: a temporary SQLite file or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(database_url: str):
    """A migrated database (``alembic upgrade head``, as ``jobbridge init-db`` does)."""
    from api.storage import init_db

    engine = init_db(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    """An ORM session on the migrated database; rolled back and closed after the test."""
    from sqlalchemy.orm import Session

    with Session(engine, expire_on_commit=False) as session:
        yield session
        session.rollback()


@pytest.fixture(scope="session")
def id_key() -> str:
    """A fixed, valid ``ID_KEY`` (base64 of 32 bytes) for tests."""
    import base64

    return base64.b64encode(bytes(range(32))).decode("ascii")


@pytest.fixture
def protector(id_key: str):
    """The :class:`api.crypto.IdProtector` for :func:`id_key`."""
    from api.crypto import IdProtector, parse_key

    return IdProtector(parse_key(id_key))
