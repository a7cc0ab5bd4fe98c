"""Who is signed in, which pages they may open, and the navigation that lists those pages.

A signed-in person is an :class:`api.auth.Principal` in ``g.principal`` — the same object the API
views see for a key — so :func:`api.auth.check_worker`, :func:`api.auth.check_job` and the audit
log work unchanged on the pages. :func:`page` guards a view: not signed in → the sign-in page;
a role the page is not for → 404, as for an object outside the caller's scope (a page never
tells a role that another role's pages exist).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, abort, g, redirect, request, session, url_for

from api.auth import ROLE_NAMES, Principal


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    roles: tuple[str, ...]
    order: int = 100


#: The navigation, filled by the page modules with :func:`nav_item`.
NAV: list[NavItem] = []
#: Each role's first page after signing in (an endpoint); the overview page when not listed.
HOME: dict[str, str] = {}


def nav_item(label: str, endpoint: str, roles: tuple[str, ...], order: int = 100) -> None:
    """List a page in the navigation of ``roles`` (idempotent)."""
    item = NavItem(label, endpoint, tuple(roles), order)
    if item not in NAV:
        NAV.append(item)
        NAV.sort(key=lambda i: i.order)


def home_endpoint(role: str) -> str:
    return HOME.get(role, "web.signin.home")


def principal_of(user: Any) -> Principal:
    """The principal of a signed-in user: the role and scope its row names."""
    return Principal(
        key_id=None,
        name=f"{user.display_name}（{user.username}）",
        role=user.role,
        firm_id=user.firm_id,
        region_prefix=user.region_prefix,
        user_id=user.id,
    )


def sign_in_session(user: Any) -> None:
    """Start a fresh session for ``user`` (a new cookie: nothing from before survives)."""
    session.clear()
    session.permanent = True
    session["user_id"] = user.id


def signed_in() -> Principal | None:
    """The signed-in person of this request, or ``None``."""
    if "web_principal" in g:
        return g.web_principal
    principal = None
    user_id = session.get("user_id")
    if isinstance(user_id, int):
        from api.service import get_session
        from api.storage.users import get_user

        user = get_user(get_session(), user_id)
        if user is None:
            session.clear()
        else:
            principal = principal_of(user)
            g.principal = principal
            g.display_name = user.display_name
    g.web_principal = principal
    return principal


def page(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Guard a page: only signed-in people of ``roles`` get it; other roles get 404."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            principal = signed_in()
            if principal is None:
                return redirect(url_for("web.signin.sign_in", next=request.full_path.rstrip("?")))
            if principal.role not in roles:
                abort(404)
            return view(*args, **kwargs)

        wrapped.roles = tuple(roles)  # type: ignore[attr-defined]
        return wrapped

    return decorator


def _navigation() -> dict[str, Any]:
    principal = signed_in() if request.blueprint and request.blueprint.startswith("web") else None
    items = [i for i in NAV if principal is not None and principal.role in i.roles]
    # The page's own item is the current one; a page not in the navigation (a worker's page)
    # marks the first item of its blueprint.
    endpoint = request.endpoint or ""
    current = next((i.endpoint for i in items if i.endpoint == endpoint), None)
    if current is None:
        section = endpoint.rsplit(".", 1)[0] + "."
        current = next((i.endpoint for i in items if i.endpoint.startswith(section)), None)
    return {
        "nav_items": items,
        "nav_current": current,
        "principal": principal,
        "display_name": g.get("display_name", ""),
        "role_name": ROLE_NAMES.get(principal.role, "") if principal else "",
    }


def init_app(app: Flask) -> None:
    app.context_processor(_navigation)


__all__ = [
    "HOME",
    "NAV",
    "NavItem",
    "home_endpoint",
    "nav_item",
    "page",
    "principal_of",
    "sign_in_session",
    "signed_in",
]
