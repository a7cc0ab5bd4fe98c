"""API keys: created with a scope (a firm for hr, a region for bureau), stored as a hash, checked on
each request, revoked."""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import Invalid
from .models import ROLES, ApiKey, Firm, utcnow
from .rows import add_row, get_row

TOKEN_PREFIX = "jb_"


def hash_token(token: str) -> str:
    """SHA-256 of the token, hex: what ``api_keys.key_hash`` holds. A 256-bit random token needs
    no slow password hash — it cannot be guessed, only stolen, and the hash protects a dump."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_api_key(
    session: Session,
    *,
    name: str,
    role: str,
    firm_id: int | None = None,
    region_prefix: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; return the row and the token, which is shown once and never stored.

    ``hr`` keys belong to a firm (``firm_id``), ``bureau`` keys to a region (``region_prefix``:
    2–6 digits of the administrative code, e.g. '6326' for 海东).
    """
    errors = []
    if not isinstance(name, str) or not name.strip():
        errors.append({"row": None, "field": "name", "message": "密钥名称不能为空"})
    if role not in ROLES:
        errors.append(
            {
                "row": None,
                "field": "role",
                "message": f"角色 {role!r} 未知，可选：{', '.join(ROLES)}",
            }
        )
    if role == "hr" and firm_id is None:
        errors.append(
            {"row": None, "field": "firm_id", "message": "hr 角色的密钥必须指定企业（--firm）"}
        )
    if role == "bureau" and not region_prefix:
        errors.append(
            {
                "row": None,
                "field": "region_prefix",
                "message": "bureau 角色的密钥必须指定地区代码（--region）",
            }
        )
    if region_prefix is not None and not re.fullmatch(r"\d{2,6}", str(region_prefix)):
        errors.append(
            {
                "row": None,
                "field": "region_prefix",
                "message": f"地区代码 {region_prefix!r} 应为 2–6 位数字",
            }
        )
    if not errors:
        errors = scope_errors(session, role, firm_id=firm_id, region_prefix=region_prefix)
    if errors:
        raise Invalid(errors)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name.strip(),
        role=role,
        key_hash=hash_token(token),
        firm_id=firm_id,
        region_prefix=region_prefix,
    )
    add_row(session, key, "api_key")
    return key, token


def scope_errors(
    session: Session, role: str, *, firm_id: int | None, region_prefix: str | None
) -> list[dict[str, Any]]:
    """What is wrong with the scope of a new key or account (``[]`` when nothing is).

    A scope must be one the role has (a firm for hr only, a region for bureau only) and must
    name something that exists: a registered firm, a region prefix that at least one of the
    75 counties' codes starts with. Every path that creates a key or an account calls this.
    """
    from data.reference import load_counties

    errors: list[dict[str, Any]] = []
    if firm_id is not None and role != "hr":
        errors.append(
            {
                "row": None,
                "field": "firm_id",
                "message": f"{role} 角色的密钥不属于某个企业，不能指定企业（--firm）",
            }
        )
    if region_prefix is not None and role != "bureau":
        errors.append(
            {
                "row": None,
                "field": "region_prefix",
                "message": f"{role} 角色的密钥不属于某个地区，不能指定地区代码（--region）",
            }
        )
    if errors:
        return errors
    if firm_id is not None and session.get(Firm, firm_id) is None:
        errors.append(
            {"row": None, "field": "firm_id", "message": f"企业 {firm_id} 不存在，请先登记企业"}
        )
    if region_prefix is not None:
        codes = load_counties()["county_code"].astype(str)
        if not codes.str.startswith(str(region_prefix)).any():
            prefectures = sorted({c[:4] for c in codes})
            errors.append(
                {
                    "row": None,
                    "field": "region_prefix",
                    "message": (
                        f"地区代码 {region_prefix} 不是任何协作县代码的前缀；"
                        f"可用的地市代码：{'、'.join(prefectures)}"
                    ),
                }
            )
    return errors


def authenticate(session: Session, token: str | None) -> ApiKey | None:
    """The active key that ``token`` belongs to, or ``None`` (unknown, revoked or empty)."""
    if not token or not isinstance(token, str):
        return None
    key = session.scalars(
        select(ApiKey).where(ApiKey.key_hash == hash_token(token.strip()))
    ).first()
    if key is None or key.revoked_at is not None:
        return None
    return key


def revoke_api_key(session: Session, key_id: int) -> ApiKey:
    """Revoke a key (idempotent: the first revocation time is kept)."""
    key = get_row(session, ApiKey, "api_key", key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
    return key


def list_api_keys(session: Session, *, include_revoked: bool = True) -> list[ApiKey]:
    """All keys by id."""
    stmt = select(ApiKey).order_by(ApiKey.id)
    if not include_revoked:
        stmt = stmt.where(ApiKey.revoked_at.is_(None))
    return list(session.scalars(stmt))
