"""Who is calling, and what they may see.

A client sends ``Authorization: Bearer KEY`` (keys come from ``jobbridge keys create``; storage
keeps only their SHA-256). No key or an unknown/revoked one is 401; a role that may not call an
operation is 403 (checked by :func:`api.openapi.operation` from the route table); an object outside
the caller's scope is 404, so that a caller cannot learn that it exists.

Scopes
------
admin
    everything.
hr
    one firm (``firm_id`` of the key): the firm, its jobs, the ranked candidates of its jobs with
    ID numbers and phones masked.
bureau
    a region code prefix (``6302`` = 海东): its counties' workers in full, all open jobs, matches
    for its workers, fairs and allocations in its counties.
organiser
    fairs and allocations, read access to jobs and to workers' non-personal fields.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import current_app, g, request

from api import storage
from api.errors import Forbidden, NotFoundError, Unauthorized
from api.storage.errors import NotFound

if TYPE_CHECKING:
    from api.storage.models import Job, Worker

ROLE_NAMES = {
    "admin": "管理员",
    "hr": "企业人力资源",
    "bureau": "劳务部门",
    "organiser": "招聘会组织方",
}


@dataclass(frozen=True)
class Principal:
    """The authenticated caller (plain values, safe to cache across requests): an API key
    (``key_id``) or a person signed in to the pages (``user_id``, see :mod:`api.web`)."""

    key_id: int | None
    name: str
    role: str
    firm_id: int | None
    region_prefix: str | None
    user_id: int | None = None

    def in_region(self, county_code: str | None) -> bool:
        """True when a county code lies in this bureau's region (always true for admin)."""
        if self.role == "admin":
            return True
        return (
            self.role == "bureau"
            and bool(county_code)
            and str(county_code).startswith(self.region_prefix or "\0")
        )


class _KeyCache:
    """Keys seen in the last ``AUTH_CACHE_SECONDS``: a match request then costs no key lookup.
    A revoked key stops working within that many seconds (0 disables the cache)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, Principal]] = {}

    def get(self, digest: str) -> Principal | None:
        with self._lock:
            entry = self._entries.get(digest)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, digest: str, principal: Principal, ttl: float) -> None:
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[digest] = (time.monotonic() + ttl, principal)


def _token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate_request() -> Principal:
    """Return the caller of this request or raise 401."""
    if "principal" in g:
        return g.principal
    from api.service import get_session

    header = request.headers.get("Authorization")
    token = _token()
    if token is None:
        detail = (
            "缺少 API 密钥：请在请求头中加入 Authorization: Bearer KEY。"
            if not header
            else "Authorization 请求头格式应为 Bearer KEY。"
        )
        raise Unauthorized(detail)
    ttl = float(current_app.config.get("AUTH_CACHE_SECONDS", 0) or 0)
    cache: _KeyCache = current_app.extensions.setdefault("jobbridge.keys", _KeyCache())
    digest = storage.hash_token(token)
    principal = cache.get(digest) if ttl > 0 else None
    if principal is None:
        key = storage.authenticate(get_session(), token)
        if key is None:
            raise Unauthorized("API 密钥无效或已被吊销。")
        principal = Principal(
            key_id=key.id,
            name=key.name,
            role=key.role,
            firm_id=key.firm_id,
            region_prefix=key.region_prefix,
        )
        if ttl > 0:
            cache.put(digest, principal, ttl)
    g.principal = principal
    return principal


def current() -> Principal:
    """The caller of an authenticated operation."""
    return g.principal


def forbidden(principal: Principal, roles: tuple[str, ...], summary: str) -> Forbidden:
    """The 403 of a role outside ``roles`` calling the operation named ``summary``."""
    allowed = "、".join(ROLE_NAMES[r] for r in roles)
    return Forbidden(
        f"角色 {principal.role}（{ROLE_NAMES.get(principal.role, principal.role)}）无权执行"
        f"“{summary}”；允许的角色：{allowed}。"
    )


def not_found(object_type: str, object_id: Any) -> NotFoundError:
    """The 404 an out-of-scope object gets: the same words as a missing one."""
    return NotFoundError(NotFound(object_type, object_id).detail)


# --------------------------------------------------------------------------- scope checks
def check_firm(firm_id: int) -> None:
    """404 unless the caller may see firm ``firm_id`` (hr: only its own)."""
    p = current()
    if p.role == "hr" and p.firm_id != firm_id:
        raise not_found("firm", firm_id)


def check_job(job: Job) -> None:
    """404 unless the caller may see ``job``: hr its firm's jobs; bureau/organiser open jobs."""
    p = current()
    if p.role == "admin":
        return
    if p.role == "hr":
        if job.firm_id != p.firm_id:
            raise not_found("job", job.id)
    elif job.status != "open":
        raise not_found("job", job.id)


def check_worker(worker: Worker) -> None:
    """404 unless the caller may see ``worker``: bureau its region; organiser everyone (public
    fields only, see :func:`sees_personal`); hr nobody directly."""
    check_worker_scope(worker.id, worker.county_code)


def check_worker_scope(worker_id: int, county_code: str | None) -> None:
    """:func:`check_worker` from the two values it needs (no worker row loaded)."""
    p = current()
    if p.role in ("admin", "organiser"):
        return
    if p.role == "bureau" and p.in_region(county_code):
        return
    raise not_found("worker", worker_id)


def sees_personal(worker_county: str | None = None) -> bool:
    """True when the caller may read a worker's personal fields in full."""
    p = current()
    return p.role == "admin" or (p.role == "bureau" and p.in_region(worker_county))


def scoped_error(exc: Exception) -> Exception:
    """``exc`` as this caller may see it: a duplicate registration outside the caller's
    region is told without the worker's id (no answer names what lies outside a scope)."""
    from api.storage.errors import DuplicateWorker

    if isinstance(exc, DuplicateWorker) and not sees_personal(exc.county_code):
        return exc.unnamed()
    return exc


def check_county(county_code: str) -> None:
    """403 when a bureau names a county outside its region."""
    p = current()
    if p.role == "bureau" and not p.in_region(county_code):
        raise Forbidden(f"县区 {county_code} 不在您的辖区（{p.region_prefix}）内。")


__all__ = [
    "Principal",
    "authenticate_request",
    "check_county",
    "check_firm",
    "check_job",
    "check_worker",
    "check_worker_scope",
    "current",
    "forbidden",
    "not_found",
    "scoped_error",
    "sees_personal",
]
