"""Accounts: ``jobbridge users create``, the demo accounts, and the user storage functions."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import storage as st
from api.cli import cli
from api.storage.models import User
from api.storage.users import LOCK_MINUTES, MAX_FAILURES, create_user, sign_in


@pytest.fixture
def env(database_url, tmp_path, id_key):
    return {
        "JOBBRIDGE_DATABASE_URL": database_url,
        "JOBBRIDGE_INSTANCE_DIR": str(tmp_path / "inst"),
        "JOBBRIDGE_ID_KEY": id_key,
    }


@pytest.fixture
def run(env):
    runner = CliRunner()

    def invoke(*args: str, **kwargs):
        return runner.invoke(cli, list(args), env=env, catch_exceptions=False, **kwargs)

    assert invoke("init-db").exit_code == 0
    return invoke


def _user(env, username: str) -> User | None:
    engine = st.make_engine(env["JOBBRIDGE_DATABASE_URL"])
    try:
        with Session(engine) as s:
            return s.scalars(select(User).where(User.username == username)).first()
    finally:
        engine.dispose()


def test_users_create_reads_the_password_from_stdin_and_stores_only_a_hash(run, env):
    r = run(
        "users", "create", "--role", "bureau", "--username", "hualong.clerk",
        "--region", "630224", "--name", "化隆县 马丽", "--password-stdin",
        input="a long enough password\n",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert r.stdout.strip().isdigit()
    user = _user(env, "hualong.clerk")
    assert user.role == "bureau" and user.region_prefix == "630224"
    assert user.display_name == "化隆县 马丽"
    assert user.password_hash.startswith("$argon2id$")
    assert "a long enough password" not in user.password_hash
    listed = run("users", "list")
    assert "hualong.clerk" in listed.stdout and "argon2" not in listed.stdout


def test_users_create_prompts_twice_without_stdin(run, env):
    r = run(
        "users", "create", "--role", "admin", "--username", "boss",
        input="secret-password-1\nsecret-password-1\n",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert _user(env, "boss") is not None


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--role", "hr", "--username", "hr1"], "password123\n", "--firm"),
        (["--role", "bureau", "--username", "b1"], "password123\n", "--region"),
        (["--role", "admin", "--username", "x"], "password123\n", "3–50 位"),
        (["--role", "admin", "--username", "short-pw"], "short\n", "密码至少 8 位"),
        (["--role", "hr", "--username", "hr2", "--firm", "999"], "password123\n", "企业 999"),
    ],
)
def test_users_create_refuses_with_a_sentence(run, args, stdin, message):
    r = run("users", "create", *args, "--password-stdin", input=stdin)
    assert r.exit_code in (1, 2)
    assert message in r.output
    assert "Traceback" not in r.output


def test_users_create_refuses_a_taken_username(run):
    args = ["users", "create", "--role", "admin", "--username", "same", "--password-stdin"]
    assert run(*args, input="password-one\n").exit_code == 0
    again = run(*args, input="password-two\n")
    assert again.exit_code == 1 and "已被使用" in again.output


def test_load_demo_prints_one_working_account_per_role(run, env, id_key, tmp_path):
    r = run("load-demo", "--workers", "120", "--jobs", "20", "--events-workers", "20", "--quiet")
    assert r.exit_code == 0, r.output
    found = dict(re.findall(r"用户名 (\S+)  密码 (\S+)", r.stderr))
    assert set(found) == {"demo-admin", "demo-bureau", "demo-hr", "demo-organiser"}
    engine = st.make_engine(env["JOBBRIDGE_DATABASE_URL"])
    with Session(engine) as s:
        for username, password in found.items():
            assert sign_in(s, username, password).user is not None, username
        bureau = s.scalars(select(User).where(User.username == "demo-bureau")).one()
        hr = s.scalars(select(User).where(User.username == "demo-hr")).one()
        workers = s.scalars(
            select(st.Worker).where(st.Worker.county_code.startswith(bureau.region_prefix))
        ).all()
        assert len(bureau.region_prefix) == 4 and workers  # the demo clerk has workers
        assert hr.firm_id is not None
        s.rollback()
    engine.dispose()
    # Loading again with --replace prints new passwords that work; the old ones do not.
    again = run(
        "load-demo", "--workers", "100", "--jobs", "15", "--events-workers", "10",
        "--quiet", "--replace",
    )  # fmt: skip
    renewed = dict(re.findall(r"用户名 (\S+)  密码 (\S+)", again.stderr))
    assert set(renewed) == set(found) and renewed["demo-admin"] != found["demo-admin"]


# --------------------------------------------------------------------------- storage
def test_sign_in_counts_failures_and_locks_after_five(session):
    create_user(session, username="clerk", password="right-password", role="admin")
    now = dt.datetime(2026, 12, 2, 8, 0)
    for i in range(MAX_FAILURES - 1):
        assert sign_in(session, "clerk", "wrong", now=now).failure == "wrong"
        assert session.scalars(select(User)).one().failed_logins == i + 1
    locked = sign_in(session, "clerk", "wrong", now=now)
    assert locked.failure == "locked"
    assert locked.locked_until == now + dt.timedelta(minutes=LOCK_MINUTES)
    later = now + dt.timedelta(minutes=LOCK_MINUTES - 1)
    assert sign_in(session, "clerk", "right-password", now=later).failure == "locked"
    after = now + dt.timedelta(minutes=LOCK_MINUTES, seconds=1)
    ok = sign_in(session, "clerk", "right-password", now=after)
    assert ok.user is not None and ok.user.failed_logins == 0 and ok.user.locked_until is None
    assert ok.user.last_login_at == after


def test_a_disabled_or_unknown_account_cannot_sign_in(session):
    user = create_user(session, username="gone-user", password="right-password", role="admin")
    user.disabled_at = dt.datetime(2026, 1, 1)
    assert sign_in(session, "gone-user", "right-password").failure == "disabled"
    assert sign_in(session, "nobody", "right-password").failure == "wrong"
