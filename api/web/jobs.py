"""Pages of a firm's HR staff: its jobs (post, edit, close), each job's ranked candidates with
masked personal data and reasons, and the interviews and hires of its applicants. A job's page
is also what the QR code of a clerk's recommendation slip opens."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from api import auth, storage
from api.service import commit, get_matching, get_session
from api.storage import search
from api.storage.models import Job, Worker
from api.storage.outcomes import today_in_china
from api.web import forms
from api.web.guard import HOME, nav_item, page
from api.web.labels import STAGE_NAMES

bp = Blueprint("jobs", __name__, url_prefix="/jobs")

HR = ("hr",)
nav_item("本企业岗位", "web.jobs.index", HR, order=20)
nav_item("发布岗位", "web.jobs.new", HR, order=21)
HOME.setdefault("hr", "web.jobs.index")

CANDIDATES = 20
_EDUCATIONS = ("小学", "初中", "高中", "中专", "大专", "本科")
EDUCATION_OPTIONS = [("", "不限"), *((e, e) for e in _EDUCATIONS)]


def next_stages_by_worker(job_id: int, worker_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """For each worker, the stages the signed-in person may record next on ``job_id``, by their
    Chinese names: only what the outcome rules (:func:`api.storage.outcomes.next_stages`)
    would accept today (a candidate nobody recommended yet has none)."""
    from api.storage.models import OutcomeEvent
    from api.storage.outcomes import next_stages

    rows: dict[int, list[OutcomeEvent]] = {w: [] for w in worker_ids}
    if worker_ids:
        for event in get_session().scalars(
            select(OutcomeEvent).where(
                OutcomeEvent.job_id == job_id, OutcomeEvent.worker_id.in_(worker_ids)
            )
        ):
            rows[event.worker_id].append(event)
    out = {}
    for worker_id, events in rows.items():
        corrected = {e.corrects for e in events if e.corrects is not None}
        standing = [e for e in events if e.id not in corrected]
        out[worker_id] = [(k, STAGE_NAMES[k]) for k in next_stages(g.principal.role, standing)]
    return out


def _own_job(job_id: int) -> Job:
    """The signed-in HR's job, or 404 (another firm's job does not exist for it)."""
    job = storage.get_job(get_session(), job_id)
    auth.check_job(job)
    return job


@bp.route("")
@page(*HR)
def index():
    session = get_session()
    status = request.args.get("status") or None
    if status not in (None, "open", "filled", "closed"):
        status = None
    jobs = list(
        session.scalars(
            select(Job)
            .where(Job.firm_id == g.principal.firm_id, *([Job.status == status] if status else []))
            .order_by(Job.id.desc())
        )
    )
    firm = storage.get_firm(session, g.principal.firm_id)
    return render_template("web/jobs/index.html", jobs=jobs, firm=firm, status=status)


@bp.route("/new", methods=["GET", "POST"])
@page(*HR)
def new():
    if request.method == "GET":
        values = forms.job_form_values({})  # type: ignore[arg-type]
        values.update(age_min="16", age_max="60", headcount="1")
        return _form("new", values, {}, None)
    result = forms.post_job(request.form)
    if result.ok:
        flash(f"已发布岗位“{result.obj.title}”。", "success")
        return redirect(url_for("web.jobs.show", job_id=result.obj.id))
    return _form("new", result.values, result.errors, result.general), 422


@bp.route("/<id:job_id>/edit", methods=["GET", "POST"])
@page(*HR)
def edit(job_id: int):
    job = _own_job(job_id)
    if request.method == "GET":
        return _form("edit", forms.job_values_of(job), {}, None, job=job)
    result = forms.edit_job(job, request.form)
    if result.ok:
        flash("岗位已保存。", "success")
        return redirect(url_for("web.jobs.show", job_id=job_id))
    return _form("edit", result.values, result.errors, result.general, job=job), 422


def _form(mode: str, values: dict[str, Any], errors: dict[str, str], general: str | None, **kw):
    return render_template(
        "web/jobs/form.html",
        mode=mode,
        values=values,
        errors=errors,
        general=general,
        labels=forms.JOB_FIELDS,
        educations=EDUCATION_OPTIONS,
        **kw,
    )


@bp.route("/<id:job_id>/status", methods=["POST"])
@page(*HR)
def set_status(job_id: int):
    job = _own_job(job_id)
    status = request.form.get("status", "")
    version = request.form.get("version", "")
    refused = forms.set_job_status(job, status, int(version) if version.isdigit() else None)
    if refused:
        flash(f"未保存：{refused}", "error")
    else:
        done = "岗位已关闭，不再推荐给劳动力。" if status == "closed" else "岗位已重新开放。"
        flash(done, "success")
    return redirect(url_for("web.jobs.show", job_id=job_id))


# --------------------------------------------------------------------------- one job
def ranked_candidates(job: Job, k: int = CANDIDATES) -> list[dict[str, Any]]:
    """The job's best workers with reasons, ID numbers and phones masked (as the API's
    ``GET /jobs/{id}/matches`` gives HR)."""
    from api.views.matches import mask_phone

    if job.status != "open":
        return []
    results = get_matching().recommend_workers(job.id, k)
    ids = [int(r["worker_id"]) for r in results]
    workers = (
        {w.id: w for w in get_session().scalars(select(Worker).where(Worker.id.in_(ids)))}
        if ids
        else {}
    )
    out = []
    for r in results:
        worker = workers.get(int(r["worker_id"]))
        if worker is None:
            continue
        out.append(
            {
                "rank": len(out) + 1,
                "worker": worker,
                "name": worker.name,
                "id_masked": worker.id_masked,
                "phone": mask_phone(worker.phone),
                "reasons": list(r.get("reasons") or []),
                "score": float(r["score"]),
            }
        )
    return out


@bp.route("/<id:job_id>")
@page("hr", "bureau", "admin", "organiser")
def show(job_id: int):
    job = storage.get_job(get_session(), job_id)
    auth.check_job(job)
    firm = storage.get_firm(get_session(), job.firm_id)
    candidates: list[dict[str, Any]] = []
    applicants: list[tuple[Worker, str]] = []
    next_stages: dict[int, list[tuple[str, str]]] = {}
    if g.principal.role == "hr":
        from api.views.matches import mask_phone
        from api.views.workers import audit_personal_reads

        candidates = ranked_candidates(job)
        applicants = search.job_applicants(get_session(), job.id)
        shown = [c["worker"].id for c in candidates] + [w.id for w, _ in applicants]
        audit_personal_reads(sorted(set(shown)), ("name", "id_masked", "phone_masked"))
        commit(sync_engine=False)
        applicants = [(w, stage, mask_phone(w.phone)) for w, stage in applicants]
        next_stages = next_stages_by_worker(job.id, sorted(set(shown)))
    return render_template(
        "web/jobs/show.html",
        job=job,
        firm=firm,
        candidates=candidates,
        applicants=applicants,
        next_stages=next_stages,
        today=today_in_china().isoformat(),
    )


@bp.route("/<id:job_id>/outcomes", methods=["POST"])
@page(*HR)
def record_outcome(job_id: int):
    _own_job(job_id)
    worker_id = request.form.get("worker_id", "")
    if not worker_id.isdigit():
        abort(404)
    stage = request.form.get("stage", "")
    refused = forms.record_outcome(int(worker_id), job_id, stage, request.form.get("date", ""))
    if refused:
        flash(f"未记录：{refused}", "error")
    else:
        flash(f"已记录：{STAGE_NAMES.get(stage, '')}。", "success")
    return redirect(url_for("web.jobs.show", job_id=job_id) + "#candidates")
