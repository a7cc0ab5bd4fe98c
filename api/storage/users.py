"""Accounts of the people who sign in to the pages, and signing in with a lock-out.

Passwords are hashed with argon2id (``argon2-cffi``'s :class:`~argon2.PasswordHasher` with its
RFC 9106 low-memory defaults); a hash made with older parameters is re-hashed on the next good
sign-in. After :data:`MAX_FAILURES` wrong passwords in a row the account is locked for
:data:`LOCK_MINUTES` minutes, kept on the user row so that every server process agrees; while
locked, even the right password is refused. A user has the role and scope an API key has
(:class:`api.auth.Principal`).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import Invalid
from .firms import get_firm
from .models import ROLES, User, utcnow
from .rows import add_row

#: Wrong passwords in a row that lock an account, and for how long.
MAX_FAILURES = 5
LOCK_MINUTES = 15
MIN_PASSWORD_LENGTH = 8
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9_.\-]{3,50}")

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (salted; a different string each call)."""
    return _hasher.hash(password)


def _validate(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    firm_id: int | None,
    region_prefix: str | None,
) -> None:
    errors = []
    if not USERNAME_PATTERN.fullmatch(username or ""):
        errors.append(
            {
                "field": "username",
                "message": f"用户名 {username!r} 应为 3–50 位字母、数字或 _ . -",
            }
        )
    elif session.scalar(select(User.id).where(User.username == username)) is not None:
        errors.append({"field": "username", "message": f"用户名 {username!r} 已被使用"})
    if len(password or "") < MIN_PASSWORD_LENGTH:
        errors.append({"field": "password", "message": f"密码至少 {MIN_PASSWORD_LENGTH} 位"})
    if role not in ROLES:
        errors.append({"field": "role", "message": f"角色 {role!r} 未知，可选：{', '.join(ROLES)}"})
    if role == "hr" and firm_id is None:
        errors.append({"field": "firm_id", "message": "hr 角色的用户必须指定企业（--firm）"})
    if role == "bureau" and not region_prefix:
        errors.append(
            {"field": "region_prefix", "message": "bureau 角色的用户必须指定地区代码（--region）"}
        )
    if region_prefix is not None and not re.fullmatch(r"\d{2,6}", str(region_prefix)):
        errors.append(
            {"field": "region_prefix", "message": f"地区代码 {region_prefix!r} 应为 2–6 位数字"}
        )
    if errors:
        raise Invalid(errors)


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str = "",
    firm_id: int | None = None,
    region_prefix: str | None = None,
) -> User:
    """Create an account (``hr`` bound to a firm, ``bureau`` to a region-code prefix)."""
    username = (username or "").strip()
    _validate(
        session,
        username=username,
        password=password,
        role=role,
        firm_id=firm_id,
        region_prefix=region_prefix,
    )
    if firm_id is not None:
        get_firm(session, firm_id)
    user = User(
        username=username,
        display_name=(display_name or username).strip(),
        password_hash=hash_password(password),
        role=role,
        firm_id=firm_id if role == "hr" else None,
        region_prefix=region_prefix if role == "bureau" else None,
        failed_logins=0,
    )
    add_row(session, user, "user")
    return user


@dataclass(frozen=True)
class SignIn:
    """What :func:`sign_in` found: the user when the password was right, else why not."""

    user: User | None
    #: ``None`` on success; ``"wrong"`` (unknown user or wrong password — the page says the same
    #: for both), ``"locked"`` or ``"disabled"``.
    failure: str | None = None
    locked_until: dt.datetime | None = None


def sign_in(
    session: Session, username: str, password: str, *, now: dt.datetime | None = None
) -> SignIn:
    """Check a password, counting failures and locking the account after too many.

    The caller commits: the failure count must be stored whether or not the password was right.
    An unknown username costs one hash too, so that timing does not tell which names exist.
    """
    now = now or utcnow()
    user = session.scalars(select(User).where(User.username == (username or "").strip())).first()
    if user is None:
        try:
            _hasher.verify(_dummy_hash(), password or "")
        except VerificationError:
            pass
        return SignIn(None, "wrong")
    if user.disabled_at is not None:
        return SignIn(None, "disabled")
    if user.locked_until is not None and user.locked_until > now:
        return SignIn(None, "locked", user.locked_until)
    try:
        _hasher.verify(user.password_hash, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= MAX_FAILURES:
            user.failed_logins = 0
            user.locked_until = now + dt.timedelta(minutes=LOCK_MINUTES)
            return SignIn(None, "locked", user.locked_until)
        return SignIn(None, "wrong")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    return SignIn(user)


def get_user(session: Session, user_id: int) -> User | None:
    """The active user ``user_id``, or ``None`` (gone or disabled: the session ends)."""
    user = session.get(User, user_id)
    if user is None or user.disabled_at is not None:
        return None
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


# --------------------------------------------------------------------------- demo accounts
DEMO_USERNAMES = {
    "admin": "demo-admin",
    "bureau": "demo-bureau",
    "hr": "demo-hr",
    "organiser": "demo-organiser",
}


def ensure_demo_users(session: Session) -> list[dict[str, str | int | None]]:
    """One demo account per role, each with a fresh random password (returned, never stored).

    The bureau account gets the city (4-digit prefix) with the most registered workers, the hr
    account the firm with the most open jobs. Existing demo accounts get a new password and are
    unlocked, so that every ``jobbridge demo`` prints passwords that work.
    """
    import secrets

    from sqlalchemy import func

    from .models import Job, Worker

    county = session.execute(
        select(Worker.county_code, func.count())
        .group_by(Worker.county_code)
        .order_by(func.count().desc(), Worker.county_code)
        .limit(1)
    ).first()
    firm = session.execute(
        select(Job.firm_id, func.count())
        .where(Job.status == "open")
        .group_by(Job.firm_id)
        .order_by(func.count().desc(), Job.firm_id)
        .limit(1)
    ).first()
    scope: dict[str, dict[str, Any]] = {
        "admin": {},
        "organiser": {},
        "bureau": {"region_prefix": county[0][:4]} if county else None,
        "hr": {"firm_id": firm[0]} if firm else None,
    }
    names = {
        "admin": "演示管理员",
        "bureau": "演示劳务专员",
        "hr": "演示企业人事",
        "organiser": "演示招聘会组织方",
    }
    out = []
    for role, username in DEMO_USERNAMES.items():
        if scope[role] is None:  # an empty database: no firm or county to bind to
            continue
        password = secrets.token_urlsafe(9)
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            user = create_user(
                session,
                username=username,
                password=password,
                role=role,
                display_name=names[role],
                **scope[role],
            )
        else:
            user.password_hash = hash_password(password)
            user.role = role
            user.firm_id = scope[role].get("firm_id")
            user.region_prefix = scope[role].get("region_prefix")
            user.failed_logins = 0
            user.locked_until = None
            user.disabled_at = None
        session.flush()
        out.append(
            {
                "username": username,
                "password": password,
                "role": role,
                "display_name": user.display_name,
                "firm_id": user.firm_id,
                "region_prefix": user.region_prefix,
            }
        )
    return out


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the username is unknown, so that a wrong username takes as
    long as a wrong password. Made on first use: one argon2 hash costs every process that
    imports this module half a second of CPU at start-up otherwise."""
    return hash_password("jobbridge-timing-equaliser")


__all__ = [
    "LOCK_MINUTES",
    "MAX_FAILURES",
    "MIN_PASSWORD_LENGTH",
    "DEMO_USERNAMES",
    "SignIn",
    "create_user",
    "ensure_demo_users",
    "get_user",
    "hash_password",
    "list_users",
    "sign_in",
]
