"""Jobs: postings of the Jiangsu firms.

hr keys see and edit their firm's jobs; bureau and organiser keys read open jobs; admin all.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, url_for
from sqlalchemy import select

from api import auth, storage
from api import schemas as s
from api.errors import Forbidden
from api.openapi import operation
from api.service import audit, commit, get_session
from api.storage.models import Firm
from api.views import created, expected_version, job_json, page_response, with_etag

bp = Blueprint("jobs", __name__)


def _check_own_firm(firm_id: int) -> None:
    principal = auth.current()
    if principal.role == "hr" and principal.firm_id != firm_id:
        raise Forbidden(
            f"企业人力资源账号只能为本企业（{principal.firm_id}）发布岗位，"
            f"不能为企业 {firm_id} 发布。"
        )


@operation(
    bp,
    "POST",
    "/jobs",
    summary="发布岗位",
    roles=("admin", "hr"),
    body=s.JobCreate,
    response=s.Job,
    status=201,
    etag=True,
)
def create_job(body: s.JobCreate) -> Response:
    _check_own_firm(body.firm_id)
    job = storage.create_job(get_session(), body.model_dump())
    audit("create", "job", job.id, body.model_fields_set)
    commit()
    return created(job_json(job), url_for("jobs.get_job", job_id=job.id), job.version)


@operation(
    bp, "GET", "/jobs", summary="岗位列表（筛选、分页）", query=s.JobQuery, response=s.JobPage
)
def list_jobs(query: s.JobQuery) -> Response:
    principal = auth.current()
    status, firm_id = query.status, query.firm_id
    if principal.role == "hr":
        if firm_id is not None and firm_id != principal.firm_id:
            return page_response([], None, query, 0)
        firm_id = principal.firm_id
    elif principal.role in ("bureau", "organiser"):
        if status not in (None, "open"):
            return page_response([], None, query, 0)
        status = "open"
    session = get_session()
    page = storage.list_jobs(
        session,
        status=status,
        city=query.city,
        occupation_code=query.occupation_code,
        firm_id=firm_id,
        limit=query.limit,
        offset=query.offset,
        after=query.after,
    )
    firm_ids = {job.firm_id for job in page.items}
    names = (
        dict(session.execute(select(Firm.id, Firm.name).where(Firm.id.in_(firm_ids))).all())
        if firm_ids
        else {}
    )
    items = [job_json(job, names.get(job.firm_id, "")) for job in page.items]
    return page_response(items, page.next_cursor, query, page.total)


@operation(
    bp, "GET", "/jobs/<id:job_id>", summary="查看岗位", response=s.Job, scope="job", etag=True
)
def get_job(job_id: int) -> Response:
    job = storage.get_job(get_session(), job_id)
    auth.check_job(job)
    return with_etag(jsonify(job_json(job)), job.version)


@operation(
    bp,
    "PATCH",
    "/jobs/<id:job_id>",
    summary="修改岗位",
    roles=("admin", "hr"),
    body=s.JobUpdate,
    response=s.Job,
    scope="job",
    versioned=True,
    etag=True,
)
def update_job(job_id: int, body: s.JobUpdate) -> Response:
    session = get_session()
    job = storage.get_job(session, job_id)
    auth.check_job(job)
    version = expected_version(body.version)
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    # education_min may be set to null (no requirement); other nulls mean "unchanged".
    changes = {k: v for k, v in changes.items() if v is not None or k == "education_min"}
    job = storage.update_job(session, job_id, changes, expected_version=version)
    audit("update", "job", job_id, changes)
    commit()
    return with_etag(jsonify(job_json(job)), job.version)


@operation(
    bp,
    "DELETE",
    "/jobs/<id:job_id>",
    summary="删除岗位",
    roles=("admin", "hr"),
    scope="job",
    versioned=True,
    status=204,
)
def delete_job(job_id: int) -> Response:
    session = get_session()
    job = storage.get_job(session, job_id)
    auth.check_job(job)
    storage.delete_job(session, job_id, expected_version=expected_version(None))
    audit("delete", "job", job_id)
    commit()
    return Response(status=204)
