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
    found = _TOKEN.search(client.get(path, follow_redirects=True).get_data(as_text=True))
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


# --------------------------------------------------------------------------- a real browser
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Ports of the page tests' server (this team's range for webcore: 18500–18599).
PORTS = range(18500, 18600)


def _serve(app):
    """A real HTTP server thread for ``app`` on the first free port of :data:`PORTS`."""
    import threading

    from werkzeug.serving import make_server

    for port in PORTS:
        try:
            server = make_server("127.0.0.1", port, app, threaded=True)
        except (OSError, SystemExit):  # werkzeug exits (SystemExit) when the port is taken
            continue
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        return server, f"http://127.0.0.1:{port}"
    raise RuntimeError(f"no free port in {PORTS.start}–{PORTS.stop - 1}")


@pytest.fixture(scope="session")
def live_server(web_template, id_key, tmp_path_factory):
    """The service on a real port with the seeded world and accounts (one server for the
    browser tests; each test writes its own, distinct rows)."""
    template, accounts = web_template
    folder = tmp_path_factory.mktemp("live")
    shutil.copy(template, folder / "live.db")  # copy keeps the mode (0600)
    app = make_app(f"sqlite:///{folder / 'live.db'}", id_key, folder, SECRET_KEY=SECRET)
    app.accounts = accounts
    server, url = _serve(app)
    yield url, app
    server.shutdown()
    dispose(app)


def own_live_app(web_template, id_key, folder, **overrides):
    """A live app on a copy of the seeded world of its own (for a test module whose rows would
    disturb the shared :func:`live_server`); returns ``(server, url, app)``."""
    template, accounts = web_template
    shutil.copy(template, folder / "own.db")
    app = make_app(f"sqlite:///{folder / 'own.db'}", id_key, folder, SECRET_KEY=SECRET, **overrides)
    app.accounts = accounts
    server, url = _serve(app)
    return server, url, app


def new_tab(browser, url: str):
    """A browser context (desktop size, Chinese locale) on ``url`` and its first tab."""
    context = browser.new_context(
        base_url=url, locale="zh-CN", viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    context.set_default_timeout(15_000)
    return context, context.new_page()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory):
    """Where the browser tests leave their screenshots: ``<pytest basetemp>/screenshots``
    (pytest prints the basetemp; ``--basetemp DIR`` chooses it)."""
    folder = tmp_path_factory.getbasetemp() / "screenshots"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def browser():
    import os

    if not os.path.exists(CHROMIUM):
        pytest.skip(
            f"{CHROMIUM} is missing: install Debian's chromium and fonts-noto-cjk "
            "(.ci/run does) to run the browser tests"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, screenshot_dir, request):
    """A fresh browser tab (desktop size, Chinese locale) on the live server; its screenshot is
    saved as ``<test name>.png`` whether the test passed or failed."""
    url, _ = live_server
    context = browser.new_context(
        base_url=url, locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    try:
        tab.screenshot(path=str(screenshot_dir / f"{name}.png"), full_page=True)
    finally:
        context.close()


def browser_sign_in(tab, username: str, password: str = PASSWORD) -> None:
    """What a person does at the sign-in page."""
    tab.goto("/")
    tab.get_by_label("用户名").fill(username)
    tab.get_by_label("密码").fill(password)
    tab.get_by_role("button", name="登录").click()
