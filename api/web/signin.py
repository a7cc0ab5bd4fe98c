"""Signing in at ``/``, signing out, and the overview page of a signed-in person."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for

from api.service import audit, begin_write, commit, get_session
from api.storage.users import MAX_FAILURES
from api.storage.users import sign_in as check_password
from api.web.guard import NAV, home_endpoint, page, principal_of, sign_in_session, signed_in

bp = Blueprint("signin", __name__)

ALL = ("admin", "hr", "bureau", "organiser")


def _safe_next(target: str | None) -> str | None:
    """A local path to go back to after signing in (never another site: ``//host`` is one)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@bp.route("/", methods=["GET", "POST"])
def sign_in():
    principal = signed_in()
    if request.method == "GET":
        if principal is not None:
            return redirect(
                _safe_next(request.args.get("next")) or url_for(home_endpoint(principal.role))
            )
        return render_template("web/signin.html", username="", error=None)

    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    error = None
    if not username or not password:
        error = "请填写用户名和密码。"
    else:
        begin_write()
        result = check_password(get_session(), username, password)
        if result.user is not None:
            g.principal = principal_of(result.user)
            audit("sign_in", "user", result.user.id)
            commit(sync_engine=False)
            sign_in_session(result.user)
            flash(f"欢迎，{result.user.display_name}。", "success")
            target = _safe_next(request.form.get("next")) or url_for(
                home_endpoint(result.user.role)
            )
            return redirect(target)
        commit(sync_engine=False)  # the failure count is kept
        if result.failure == "locked":
            until = result.locked_until
            error = (
                f"连续 {MAX_FAILURES} 次密码错误，账户已锁定至 {until:%H:%M}（UTC），"
                "请稍后再试或联系管理员。"
            )
        elif result.failure == "disabled":
            error = "该账户已停用，请联系管理员。"
        else:
            error = "用户名或密码错误。"
    return (
        render_template("web/signin.html", username=username, error=error),
        401 if error else 200,
    )


@bp.route("/signout", methods=["POST"])
def sign_out():
    session.clear()
    flash("您已退出登录。", "info")
    return redirect(url_for("web.signin.sign_in"))


@bp.route("/home")
@page(*ALL)
def home():
    """The pages this role may open, as a list of cards (the first page when no home is set)."""
    items = [i for i in NAV if g.principal.role in i.roles]
    return render_template("web/home.html", items=items)
