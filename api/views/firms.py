"""Firms: Jiangsu employers whose HR departments post jobs."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, url_for

from api import auth, storage
from api import schemas as s
from api.openapi import operation
from api.service import audit, commit, get_session
from api.views import created, expected_version, firm_json, page_response, with_etag

bp = Blueprint("firms", __name__)


@operation(
    bp,
    "POST",
    "/firms",
    summary="登记企业",
    roles=("admin",),
    body=s.FirmCreate,
    response=s.Firm,
    status=201,
    etag=True,
)
def create_firm(body: s.FirmCreate) -> Response:
    firm = storage.create_firm(get_session(), body.model_dump())
    audit("create", "firm", firm.id, body.model_fields_set)
    commit()
    return created(firm_json(firm), url_for("firms.get_firm", firm_id=firm.id), firm.version)


@operation(bp, "GET", "/firms", summary="企业列表", query=s.ListQuery, response=s.FirmPage)
def list_firms(query: s.ListQuery) -> Response:
    principal = auth.current()
    if principal.role == "hr":
        firm = storage.get_firm(get_session(), principal.firm_id)
        visible = (
            query.after is None
            and query.offset == 0
            and (not query.name_contains or query.name_contains in firm.name)
        )
        return page_response([firm_json(firm)] if visible else [], None, query, 1 if visible else 0)
    page = storage.list_firms(
        get_session(),
        name_contains=query.name_contains,
        limit=query.limit,
        offset=query.offset,
        after=query.after,
    )
    return page_response([firm_json(f) for f in page.items], page.next_cursor, query, page.total)


@operation(
    bp, "GET", "/firms/<id:firm_id>", summary="查看企业", response=s.Firm, scope="firm", etag=True
)
def get_firm(firm_id: int) -> Response:
    auth.check_firm(firm_id)
    firm = storage.get_firm(get_session(), firm_id)
    return with_etag(jsonify(firm_json(firm)), firm.version)


@operation(
    bp,
    "PATCH",
    "/firms/<id:firm_id>",
    summary="修改企业",
    roles=("admin", "hr"),
    body=s.FirmUpdate,
    response=s.Firm,
    scope="firm",
    versioned=True,
    etag=True,
)
def update_firm(firm_id: int, body: s.FirmUpdate) -> Response:
    auth.check_firm(firm_id)
    session = get_session()
    storage.get_firm(session, firm_id)
    version = expected_version(body.version)
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    changes = {k: v for k, v in changes.items() if v is not None}
    firm = storage.update_firm(session, firm_id, changes, expected_version=version)
    audit("update", "firm", firm_id, changes)
    commit()
    return with_etag(jsonify(firm_json(firm)), firm.version)


@operation(
    bp,
    "DELETE",
    "/firms/<id:firm_id>",
    summary="删除企业（须先删除其岗位）",
    roles=("admin",),
    scope="firm",
    versioned=True,
    status=204,
)
def delete_firm(firm_id: int) -> Response:
    session = get_session()
    storage.get_firm(session, firm_id)
    storage.delete_firm(session, firm_id, expected_version=expected_version(None))
    audit("delete", "firm", firm_id)
    commit()
    return Response(status=204)
