"""Signing in, the lock-out, CSRF, the session cookie and the role guard (Flask test client)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.web.conftest import PASSWORD, csrf_token, sign_in


def test_root_is_the_sign_in_page_in_chinese(browser_client):
    r = browser_client.get("/")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert '<label for="f-username">用户名</label>' in page
    assert 'name="csrf_token"' in page
    assert 'href="#main"' in page  # the skip link
    assert "/static/vendor/htmx/htmx.min.js" in page


def test_static_files_are_served_with_the_htmx_licence(browser_client):
    r = browser_client.get("/static/vendor/htmx/htmx.min.js")
    assert r.status_code == 200 and b"htmx" in r.data[:100]
    r.close()
    r = browser_client.get("/static/vendor/htmx/LICENSE")
    assert r.status_code == 200 and b"Zero-Clause BSD" in r.data
    r.close()


def test_sign_in_sets_a_safe_cookie_and_goes_home(browser_client, accounts):
    r = sign_in(browser_client, accounts.users["bureau"])
    assert r.status_code == 302
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    home = browser_client.get(r.headers["Location"], follow_redirects=True)
    assert "测试bureau" in home.get_data(as_text=True)


def test_secure_cookie_when_configured(web_template, id_key, tmp_path, accounts):
    import shutil

    from tests.api.conftest import dispose, make_app
    from tests.web.conftest import SECRET

    template, _ = web_template
    shutil.copy(template, tmp_path / "s.db")
    app = make_app(
        f"sqlite:///{tmp_path / 's.db'}",
        id_key,
        tmp_path,
        SECRET_KEY=SECRET,
        SESSION_COOKIE_SECURE=True,
    )
    try:
        r = sign_in(app.test_client(), accounts.users["admin"])
        assert "Secure" in r.headers["Set-Cookie"]
    finally:
        dispose(app)


def test_wrong_password_is_refused_in_chinese(browser_client, accounts):
    r = sign_in(browser_client, accounts.users["hr"], "not-the-password")
    assert r.status_code == 401
    assert "用户名或密码错误。" in r.get_data(as_text=True)
    # The same words for a name that does not exist: no hint which accounts exist.
    r = sign_in(browser_client, "nobody-here", "whatever-it-is")
    assert r.status_code == 401
    assert "用户名或密码错误。" in r.get_data(as_text=True)
    assert browser_client.get("/home").status_code == 302


def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(web_app, accounts):
    from api.service import state
    from api.storage import session_scope
    from api.storage.models import User

    client = web_app.test_client()
    username = accounts.users["bureau"]
    for attempt in range(4):
        r = sign_in(client, username, f"wrong-{attempt}")
        assert "用户名或密码错误。" in r.get_data(as_text=True)
    r = sign_in(client, username, "wrong-5")
    assert "账户已锁定" in r.get_data(as_text=True)
    # Now even the right password is refused.
    r = sign_in(client, username, PASSWORD)
    assert r.status_code == 401 and "账户已锁定" in r.get_data(as_text=True)
    with web_app.app_context(), session_scope(state().engine) as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        left = user.locked_until - dt.datetime.now(dt.UTC).replace(tzinfo=None)
        assert dt.timedelta(minutes=14) < left <= dt.timedelta(minutes=15)
        # Fifteen minutes later the right password works again.
        user.locked_until = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=1)
    r = sign_in(client, username, PASSWORD)
    assert r.status_code == 302


def test_a_good_sign_in_resets_the_failure_count(browser_client, accounts):
    username = accounts.users["hr"]
    for _ in range(4):
        sign_in(browser_client, username, "wrong-password")
    assert sign_in(browser_client, username, PASSWORD).status_code == 302
    browser_client.post("/signout", data={"csrf_token": csrf_token(browser_client, "/home")})
    for _ in range(4):
        r = sign_in(browser_client, username, "wrong-password")
        assert "锁定" not in r.get_data(as_text=True)


def test_a_form_without_its_csrf_token_is_refused(browser_client, accounts):
    r = browser_client.post("/", data={"username": accounts.users["admin"], "password": PASSWORD})
    assert r.status_code == 400
    assert "安全令牌" in r.get_data(as_text=True)
    r = browser_client.post(
        "/",
        data={"username": accounts.users["admin"], "password": PASSWORD, "csrf_token": "forged"},
    )
    assert r.status_code == 400
    assert browser_client.get("/home").status_code == 302  # not signed in


def test_sign_out_needs_the_token_and_ends_the_session(signed_in):
    client = signed_in("admin")
    assert client.post("/signout").status_code == 400
    assert client.get("/home").status_code == 200
    r = client.post("/signout", data={"csrf_token": csrf_token(client, "/home")})
    assert r.status_code == 302
    assert client.get("/home").status_code == 302


def test_the_json_api_needs_no_csrf_token(web_app):
    # Bearer keys authenticate each request; the CSRF check is for the cookie-signed pages.
    from tests.api.conftest import job_payload

    world = web_app.accounts.world
    r = web_app.test_client().post(
        "/api/v1/jobs", json=job_payload(world.firm), headers=world.headers("hr")
    )
    assert r.status_code == 201, r.get_json()


def test_next_is_kept_but_never_leads_off_site(browser_client, accounts):
    token = csrf_token(browser_client)
    data = {"username": accounts.users["admin"], "password": PASSWORD, "csrf_token": token}
    r = browser_client.post("/", data={**data, "next": "//evil.example/x"})
    assert r.headers["Location"] == "/home"


@pytest.mark.parametrize("path", ["/home"])
def test_pages_send_anonymous_visitors_to_sign_in(browser_client, path):
    r = browser_client.get(path)
    assert r.status_code == 302 and r.headers["Location"].startswith("/?next=")
