"""Blueprints of the service (one module per resource, each blueprint named ``bp``) and the
helpers they share: version preconditions, pagination links, shaping rows as JSON.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, jsonify, request

from api.errors import PreconditionRequired
from api.openapi import API_PREFIX

#: One entity-tag of an ``If-Match`` list (RFC 9110 §8.8.3): optional ``W/``, quoted opaque.
_ENTITY_TAG = re.compile(r'(W/)?"([^"]*)"')


def register_blueprints(app: Flask) -> None:
    """Mount every resource under ``/api/v1``."""
    from api.views import (
        allocations,
        docs,
        fairs,
        firms,
        health,
        imports,
        jobs,
        matches,
        outcomes,
        reports,
        workers,
    )

    # imports before jobs/workers only for readability of the route table; the id converter
    # keeps /jobs/export and /jobs/<id> apart whatever the order.
    for module in (
        health,
        docs,
        firms,
        jobs,
        workers,
        matches,
        outcomes,
        reports,
        imports,
        fairs,
        allocations,
    ):
        app.register_blueprint(module.bp, url_prefix=API_PREFIX)


def etag_of(version: int) -> str:
    return f'"{version}"'


def if_match_versions(header: str) -> frozenset[int] | None:
    """The versions an ``If-Match`` value matches; ``None`` for ``*`` (any current version).

    If-Match compares strongly (RFC 9110 §13.1.1): a weak tag ``W/"3"``, an unquoted ``3``
    or a tag this service never wrote (``"stale-version"``) matches no version, so the
    write is answered 412 like any other stale precondition, never 400.

    >>> sorted(if_match_versions('"3", W/"4", "x"'))
    [3]
    >>> if_match_versions(" * ") is None
    True
    """
    if header.strip() == "*":
        return None
    return frozenset(
        int(opaque)
        for weak, opaque in _ENTITY_TAG.findall(header)
        if not weak and opaque.isdigit() and len(opaque) <= 10
    )


def expected_version(body_version: int | None) -> int | frozenset[int] | None:
    """The version a PATCH/DELETE was based on: ``If-Match`` or the body's ``version``.

    Returns the one version named, the set of versions an ``If-Match`` list names (empty when
    none can match: storage answers 412), or ``None`` for ``If-Match: *``. Raises 428 when
    neither the header nor a body version is given.
    """
    header = request.headers.get("If-Match")
    if header is not None:
        versions = if_match_versions(header)
        if versions is not None and len(versions) == 1:
            return next(iter(versions))
        return versions
    if body_version is not None:
        return body_version
    raise PreconditionRequired(
        "修改或删除须给出所依据的版本：请带上 If-Match 请求头（读取时的 ETag），"
        "或在请求体中给出 version。"
    )


def with_etag(response: Response, version: int) -> Response:
    response.headers["ETag"] = etag_of(version)
    return response


def created(body: dict[str, Any], location: str, version: int | None = None) -> Response:
    """201 with ``Location`` (and ``ETag`` for versioned objects)."""
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = location
    if version is not None:
        response.headers["ETag"] = etag_of(version)
    return response


def next_link(next_cursor: int | None, query: Any) -> str | None:
    """URL of the page after this one (keyset: ``after`` = the last id), or ``None``."""
    if next_cursor is None:
        return None
    params = {
        k: ("true" if v is True else "false" if v is False else v)
        for k, v in query.model_dump(exclude_none=True).items()
        if k not in ("offset", "after")
    }
    params["after"] = next_cursor
    return f"{request.path}?{urlencode(params)}"


def page_response(
    items: list[dict[str, Any]], next_cursor: int | None, query: Any, total: int | None = None
) -> Response:
    body: dict[str, Any] = {"items": items, "next": next_link(next_cursor, query)}
    if total is not None:
        body["total"] = total
    return jsonify(body)


def firm_json(firm: Any) -> dict[str, Any]:
    return {
        "id": firm.id,
        "name": firm.name,
        "city": firm.city,
        "district": firm.district,
        "industry": firm.industry,
        "contact_name": firm.contact_name,
        "contact_phone": firm.contact_phone,
        "version": firm.version,
        "created_at": firm.created_at,
        "updated_at": firm.updated_at,
    }


def job_json(job: Any, firm_name: str | None = None) -> dict[str, Any]:
    from api.storage.jobs import job_record

    record = job_record(job, firm_name)
    record.setdefault("certificates_unrecognised", list(job.certificates_unrecognised or []))
    return {"id": job.id, **record}


__all__ = [
    "created",
    "etag_of",
    "expected_version",
    "firm_json",
    "if_match_versions",
    "job_json",
    "next_link",
    "page_response",
    "register_blueprints",
    "with_etag",
]
