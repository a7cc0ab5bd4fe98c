"""Fixtures of the page tests: the service with a small seeded world (:func:`tests.api.conftest.
seed_world`: two firms, their jobs, workers inside and outside the 海东 region) plus one web
account per role, on a fresh SQLite copy per test, with the training-free test engine."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field

import pytest

from tests.api.conftest import HAIDONG, dispose, make_app, seed_world

PASSWORD = "correct-horse-battery"
SECRET = "test-secret-key-of-the-page-tests"


@dataclass
class Accounts:
    """Usernames by what they may see, and the seeded world's ids."""

    world: object
    users: dict[str, str] = field(default_factory=dict)


def _username(who: str) -> str:
    return "t-" + who.replace("_", "-")


def _create_users(app, world) -> dict[str, str]:
    from api.service import state
    from api.storage import session_scope
    from api.storage.users import create_user

    users = {
        "admin": ("admin", {}),
        "hr": ("hr", {"firm_id": world.firm}),
        "hr_other": ("hr", {"firm_id": world.other_firm}),
        "bureau": ("bureau", {"region_prefix": HAIDONG}),
        "bureau_other": ("bureau", {"region_prefix": "6106"}),  # 延安: the other workers
        "organiser": ("organiser", {}),
    }
    with app.app_context(), session_scope(state().engine) as session:
        for username, (role, scope) in users.items():
            create_user(
                session,
                username=_username(username),
                password=PASSWORD,
                role=role,
                display_name=f"测试{username}",
                **scope,
            )
    return {name: _username(name) for name in users}


@pytest.fixture(scope="session")
def web_template(tmp_path_factory, id_key: str):
    """A migrated, seeded SQLite file with the accounts, built once per session."""
    from api.storage import init_db

    folder = tmp_path_factory.mktemp("web-template")
    url = f"sqlite:///{folder / 'template.db'}"
    init_db(url).dispose()
    app = make_app(url, id_key, folder, SECRET_KEY=SECRET)
    world = seed_world(app)
    users = _create_users(app, world)
    dispose(app)
    return folder / "template.db", Accounts(world=world, users=users)


@pytest.fixture
def web_app(web_template, id_key: str, tmp_path):
    template, accounts = web_template
    db = tmp_path / "web.db"
    shutil.copy(template, db)
    app = make_app(f"sqlite:///{db}", id_key, tmp_path, SECRET_KEY=SECRET)
    app.accounts = accounts
    yield app
    dispose(app)


@pytest.fixture
def accounts(web_app) -> Accounts:
    return web_app.accounts


@pytest.fixture
def world(web_app):
    return web_app.accounts.world


@pytest.fixture
def browser_client(web_app):
    return web_app.test_client()


_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client, path: str = "/") -> str:
    """The CSRF token of the form on ``path`` (as a browser would find it)."""
    found = _TOKEN.search(client.get(path).get_data(as_text=True))
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def sign_in(client, username: str, password: str = PASSWORD):
    return client.post(
        "/",
        data={"username": username, "password": password, "csrf_token": csrf_token(client)},
    )


@pytest.fixture
def signed_in(web_app, accounts):
    """``signed_in(role)``: a test client signed in as that account."""

    def make(who: str):
        client = web_app.test_client()
        r = sign_in(client, accounts.users[who])
        assert r.status_code == 302, r.get_data(as_text=True)
        return client

    return make
