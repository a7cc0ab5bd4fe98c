"""The pages: what clerks, HR staff and organisers use in a browser, in Chinese.

Every page lives in a blueprint nested in :data:`bp` (``web``), mounted at ``/``; the JSON API
stays under ``/api/v1`` with its bearer keys. What the pages share is set up here:

- a signed-in person's :class:`api.auth.Principal` in ``g.principal`` (see :mod:`api.web.guard`),
  so that the pages call the same scope checks, storage functions and audit as the API views;
- a CSRF token on every form (Flask-WTF's :class:`~flask_wtf.csrf.CSRFProtect`), checked for the
  ``web`` blueprints only — the API authenticates each request by its key, not by a cookie;
- the session cookie: HttpOnly, SameSite=Lax, and Secure when ``SESSION_COOKIE_SECURE`` is set
  (``JOBBRIDGE_SESSION_COOKIE_SECURE=true`` behind HTTPS);
- error pages in Chinese (a 404 for whatever the signed-in role may not see);
- the navigation (:func:`api.web.guard.nav_item`) and the vendored assets under ``api/static``.

Adding pages: write a module with ``bp = Blueprint(...)``, decorate its views with
:func:`api.web.guard.page`, add it to :data:`PAGE_MODULES`.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from api.errors import ApiError
from api.storage.errors import StorageError

#: Settings of the pages (each overridable by ``JOBBRIDGE_<KEY>``).
WEB_DEFAULTS: dict[str, Any] = {
    # Secret that signs the session cookie and the CSRF tokens. Production sets
    # JOBBRIDGE_SECRET_KEY; otherwise INSTANCE_DIR/secret_key is created (development).
    "SECRET_KEY": None,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # True behind HTTPS: the browser then never sends the cookie over plain HTTP.
    "SESSION_COOKIE_SECURE": False,
    "SESSION_COOKIE_NAME": "jobbridge_session",
    "PERMANENT_SESSION_LIFETIME": 8 * 3600,
    # The CSRF check runs for the pages only (see _protect below), not for the bearer-key API.
    "WTF_CSRF_CHECK_DEFAULT": False,
    # A token lasts as long as the sign-in (a form left open over lunch still submits).
    "WTF_CSRF_TIME_LIMIT": 8 * 3600,
    # Static files: an hour in the browser cache (a slow line loads htmx once).
    "SEND_FILE_MAX_AGE_DEFAULT": 3600,
}

csrf = CSRFProtect()

#: The parent of every page blueprint.
bp = Blueprint("web", __name__, template_folder="../templates")

#: Modules of page blueprints, in navigation order.
PAGE_MODULES = (
    "signin",
    "workers",
    "jobs",
    "allocations",
    "fairs",
    "dashboard",
    "tasks",
    "imports",
)


def _secret_key(app: Flask) -> str:
    """The configured secret, or the development one kept in ``INSTANCE_DIR/secret_key``."""
    if app.config.get("SECRET_KEY"):
        return str(app.config["SECRET_KEY"])
    folder = Path(app.config["INSTANCE_DIR"])
    path = folder / "secret_key"
    if path.exists():
        from api.permissions import require_private

        # Whoever reads it can forge sessions: refused when loose, like the ID key.
        require_private(path, "会话密钥文件", app.config)
        return path.read_text(encoding="ascii").strip()
    folder.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        # O_EXCL: two server processes starting together agree on the file that won.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key)
    app.logger.warning(
        "JOBBRIDGE_SECRET_KEY 未设置：已生成开发用会话密钥 %s；生产环境请设置该环境变量。", path
    )
    return key


def init_app(app: Flask) -> None:
    """Mount the pages on ``app`` (after the API blueprints)."""
    for key, value in WEB_DEFAULTS.items():
        app.config.setdefault(key, value)
        if app.config.get(key) is None and value is not None:
            app.config[key] = value
    app.config["SECRET_KEY"] = _secret_key(app)
    csrf.init_app(app)

    from importlib import import_module

    from api.web import guard, labels

    guard.init_app(app)
    labels.init_app(app)
    for name in PAGE_MODULES:
        module = import_module(f"api.web.{name}")
        if module.bp.name not in {child.name for child, _ in bp._blueprints}:
            bp.register_blueprint(module.bp)
    app.register_blueprint(bp)


@bp.before_request
def _protect() -> None:
    """Refuse a form sent without this session's CSRF token (400)."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


# --------------------------------------------------------------------------- error pages
def error_page(status: int, message: str) -> tuple[str, int]:
    from api.service import rollback_session

    rollback_session()
    return render_template("web/error.html", status=status, message=message), status


@bp.errorhandler(CSRFError)
def _csrf_error(exc: CSRFError) -> tuple[str, int]:
    return error_page(400, "表单缺少安全令牌或令牌已过期：请返回上一页，刷新后重新提交。")


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> tuple[str, int]:
    return error_page(exc.status, exc.detail)


@bp.errorhandler(StorageError)
def _storage_error(exc: StorageError) -> tuple[str, int]:
    if exc.status >= 500:
        from flask import current_app

        current_app.logger.exception("storage error on a page: %s", exc)
        return error_page(500, "服务器内部错误，请稍后再试或联系管理员。")
    return error_page(exc.status, exc.detail)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> tuple[str, int]:
    status = exc.code or 500
    message = {
        404: "页面不存在，或您无权查看。",
        405: "该页面不支持此操作。",
        413: "上传的文件太大。",
    }.get(status, exc.description or "请求有误。")
    return error_page(status, message)


__all__ = ["WEB_DEFAULTS", "bp", "csrf", "error_page", "init_app"]
