"""Workers: the registered labour force of the western counties.

A bureau key registers and reads the workers of its region in full (every such read of personal
fields is audited); an organiser reads workers without their personal fields; hr keys see
candidates only through ``GET /jobs/{id}/matches``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, url_for

from api import auth, storage
from api import schemas as s
from api.openapi import operation
from api.service import audit, begin_write, commit, get_protector, get_session
from api.storage.models import AuditEntry
from api.views import created, expected_version, page_response, with_etag

bp = Blueprint("workers", __name__)

_PUBLIC = [name for name in s.WorkerPublic.model_fields if name not in ("id", "worker_id")]


def worker_json(worker: Any, *, full: bool) -> dict[str, Any]:
    """A worker as JSON: in full (ID number decrypted) or without personal fields."""
    if full:
        record = storage.worker_record(worker, protector=get_protector(), reveal_id=True)
        return {"id": worker.id, **record}
    out: dict[str, Any] = {"id": worker.id, "worker_id": worker.id}
    for name in _PUBLIC:
        out[name] = getattr(worker, name)
    return out


def audit_personal_reads(
    worker_ids: list[int], fields: tuple[str, ...] = s.PERSONAL_FIELDS
) -> None:
    """One audit row per worker whose personal fields this request shows."""
    if not worker_ids:
        return
    begin_write()
    principal = auth.current()
    get_session().add_all(
        AuditEntry(
            api_key_id=principal.key_id,
            actor=principal.name,
            action="read",
            object_type="worker",
            object_id=str(i),
            fields=list(fields),
        )
        for i in worker_ids
    )


@operation(
    bp,
    "POST",
    "/workers",
    summary="登记劳动力",
    roles=("admin", "bureau"),
    body=s.WorkerCreate,
    response=s.Worker,
    status=201,
    etag=True,
)
def create_worker(body: s.WorkerCreate) -> Response:
    auth.check_county(body.county_code)
    values = body.stored_values(exclude_unset=False)
    worker = storage.register_worker(get_session(), values, protector=get_protector())
    audit("create", "worker", worker.id, sorted(values))
    commit()
    return created(
        worker_json(worker, full=True),
        url_for("workers.get_worker", worker_id=worker.id),
        worker.version,
    )


@operation(
    bp,
    "GET",
    "/workers",
    summary="劳动力列表（筛选、分页）",
    roles=("admin", "bureau", "organiser"),
    query=s.WorkerQuery,
    response=s.WorkerPage,
)
def list_workers(query: s.WorkerQuery) -> Response:
    principal = auth.current()
    region = principal.region_prefix if principal.role == "bureau" else None
    page = storage.list_workers(
        get_session(),
        county_code=query.county_code,
        region_prefix=region,
        poverty_registered=query.poverty_registered,
        limit=query.limit,
        offset=query.offset,
        after=query.after,
    )
    full = principal.role in ("admin", "bureau")
    items = [worker_json(w, full=full) for w in page.items]
    if full:
        audit_personal_reads([w.id for w in page.items])
        commit(sync_engine=False)
    return page_response(items, page.next_cursor, query, page.total)


@operation(
    bp,
    "GET",
    "/workers/<id:worker_id>",
    summary="查看劳动力",
    roles=("admin", "bureau", "organiser"),
    response=s.Worker,
    scope="worker",
    etag=True,
)
def get_worker(worker_id: int) -> Response:
    worker = storage.get_worker(get_session(), worker_id)
    auth.check_worker(worker)
    full = auth.sees_personal(worker.county_code)
    body = worker_json(worker, full=full)
    if full:
        audit_personal_reads([worker.id])
        commit(sync_engine=False)
    return with_etag(jsonify(body), worker.version)


@operation(
    bp,
    "PATCH",
    "/workers/<id:worker_id>",
    summary="修改劳动力信息",
    roles=("admin", "bureau"),
    body=s.WorkerUpdate,
    response=s.Worker,
    scope="worker",
    versioned=True,
    etag=True,
)
def update_worker(worker_id: int, body: s.WorkerUpdate) -> Response:
    session = get_session()
    worker = storage.get_worker(session, worker_id)
    auth.check_worker(worker)
    version = expected_version(body.version)
    changes = body.stored_values(exclude_unset=True)
    if "county_code" in changes:
        auth.check_county(changes["county_code"])
    worker = storage.update_worker(
        session, worker_id, changes, expected_version=version, protector=get_protector()
    )
    audit("update", "worker", worker_id, sorted(changes))
    commit()
    return with_etag(jsonify(worker_json(worker, full=True)), worker.version)


@operation(
    bp,
    "DELETE",
    "/workers/<id:worker_id>",
    summary="注销劳动力登记",
    roles=("admin", "bureau"),
    scope="worker",
    versioned=True,
    status=204,
)
def delete_worker(worker_id: int) -> Response:
    session = get_session()
    worker = storage.get_worker(session, worker_id)
    auth.check_worker(worker)
    storage.delete_worker(session, worker_id, expected_version=expected_version(None))
    audit("delete", "worker", worker_id)
    commit()
    return Response(status=204)
