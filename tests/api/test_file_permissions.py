"""Files at rest with personal data or keys: created 0600; a loose one is a refusal to start."""

from __future__ import annotations

import os
import stat

import pytest
from click.testing import CliRunner

from api import create_app
from api.cli import cli
from api.permissions import LoosePermissions, check_private_files
from api.storage import init_db
from tests.api.conftest import small_engine

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def _everyday_umask():
    old = os.umask(0o022)  # what a login shell has: files 0644 unless created otherwise
    yield
    os.umask(old)


@pytest.fixture
def env(tmp_path):
    # No JOBBRIDGE_ID_KEY: the development key file under the instance folder is used.
    return {
        "JOBBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'db' / 'jobbridge.db'}",
        "JOBBRIDGE_INSTANCE_DIR": str(tmp_path / "instance"),
    }


def _run(env, *args, **extra):
    return CliRunner().invoke(cli, list(args), env={**env, **extra})


def test_init_db_creates_the_database_and_key_0600(env, tmp_path):
    assert _run(env, "init-db").exit_code == 0
    db = tmp_path / "db" / "jobbridge.db"
    assert _mode(db) == 0o600
    assert _mode(tmp_path / "instance" / "id_key") == 0o600
    assert _mode(tmp_path / "instance") == 0o700
    # SQLite's WAL and shared-memory files take the database's mode
    engine = init_db(f"sqlite:///{db}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        for suffix in ("-wal", "-shm"):
            if os.path.exists(f"{db}{suffix}"):
                assert _mode(f"{db}{suffix}") == 0o600
    engine.dispose()


@pytest.mark.parametrize("what", ["database", "key"])
def test_a_loose_file_is_a_refusal_to_start_with_the_chmod(env, tmp_path, what):
    assert _run(env, "init-db").exit_code == 0
    path = (
        tmp_path / "db" / "jobbridge.db" if what == "database" else tmp_path / "instance" / "id_key"
    )
    os.chmod(path, 0o644)
    result = _run(env, "keys", "list")
    assert result.exit_code == 1
    assert f"chmod 600 {path}" in result.stderr and "0644" in result.stderr
    assert "Traceback" not in result.output
    # serve says so before gunicorn starts
    served = _run(env, "serve", "--port", "18101")
    assert served.exit_code == 1 and f"chmod 600 {path}" in served.stderr
    # the app factory refuses too
    config = {
        "DATABASE_URL": env["JOBBRIDGE_DATABASE_URL"],
        "INSTANCE_DIR": env["JOBBRIDGE_INSTANCE_DIR"],
        "ENGINE_FACTORY": small_engine,
    }
    with pytest.raises(LoosePermissions, match="chmod 600"):
        create_app(config)
    # unless the setting says it is intended
    allowed = _run(env, "keys", "list", JOBBRIDGE_ALLOW_LOOSE_PERMISSIONS="1")
    assert allowed.exit_code == 0, allowed.output
    create_app({**config, "ALLOW_LOOSE_PERMISSIONS": True})
    # and the chmod it names is the fix
    os.chmod(path, 0o600)
    assert _run(env, "keys", "list").exit_code == 0


def test_group_readable_counts_as_loose(tmp_path):
    db = tmp_path / "x.db"
    db.write_bytes(b"")
    os.chmod(db, 0o640)
    with pytest.raises(LoosePermissions, match="0640"):
        check_private_files({"DATABASE_URL": f"sqlite:///{db}", "ID_KEY": "k"})
    os.chmod(db, 0o600)
    check_private_files({"DATABASE_URL": f"sqlite:///{db}", "ID_KEY": "k"})
    # PostgreSQL and in-memory databases have no file to check
    check_private_files({"DATABASE_URL": "sqlite://", "ID_KEY": "k"})
    check_private_files({"DATABASE_URL": "postgresql+psycopg://u@h/db", "ID_KEY": "k"})


def test_exports_and_rejects_are_0600_even_over_an_existing_file(env, tmp_path):
    assert _run(env, "init-db").exit_code == 0
    workers = tmp_path / "w.csv"
    workers.write_text(
        "姓名,身份证号,县区代码,学历\n张三,630224199106010028,630224,初中\n李四,1,630224,初中\n",
        encoding="utf-8",
    )
    rejects = tmp_path / "out" / "rejects.csv"
    result = _run(
        env, "import", "workers", str(workers), "--skip-invalid", "--rejects", str(rejects)
    )
    assert result.exit_code == 0, result.output
    assert _mode(rejects) == 0o600
    for name, extra in (("masked.csv", []), ("full.xlsx", ["--with-id-numbers"])):
        out = tmp_path / name
        out.write_bytes(b"old")
        os.chmod(out, 0o644)
        result = _run(env, "export", "workers", "-o", str(out), *extra)
        assert result.exit_code == 0, result.output
        assert _mode(out) == 0o600 and out.read_bytes() != b"old"
