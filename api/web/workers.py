"""Pages of a county labour-bureau clerk: register, import, search workers; a worker's ranked
jobs with reasons; the printable recommendation slip; outcomes."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from api import auth, storage
from api import schemas as s
from api.errors import ApiError
from api.service import get_matching, get_protector, get_session
from api.storage import search
from api.storage.errors import NotFound, StorageError
from api.storage.outcomes import today_in_china
from api.web import forms
from api.web.guard import HOME, nav_item, page
from api.web.labels import STAGE_NAMES, county_options
from matcher.engine import Recommendations

bp = Blueprint("workers", __name__, url_prefix="/workers")

CLERK = ("bureau", "admin")
nav_item("劳动力", "web.workers.index", CLERK, order=10)
nav_item("登记劳动力", "web.workers.new", CLERK, order=11)
nav_item("批量导入", "web.workers.import_file", CLERK, order=12)
HOME.setdefault("bureau", "web.workers.index")

#: Stages a clerk may filter by (the newest event of a worker's placements).
STATUS_FILTERS = [(search.NO_EVENTS, "尚无进展"), *STAGE_NAMES.items()]
PER_PAGE = 20
MATCHES = 10


def _region() -> str | None:
    p = g.principal
    return p.region_prefix if p.role == "bureau" else None


def _worker_in_scope(worker_id: int) -> Any:
    """The worker, or the 404 a worker outside the clerk's region gets (as the API's)."""
    worker = storage.get_worker(get_session(), worker_id)
    auth.check_worker(worker)
    return worker


def _audit_reads(worker_ids: list[int], fields: tuple[str, ...] = s.PERSONAL_FIELDS) -> None:
    """Personal fields shown on a page are audited as the API audits them."""
    from api.service import commit
    from api.views.workers import audit_personal_reads

    audit_personal_reads(worker_ids, fields)
    commit(sync_engine=False)


# --------------------------------------------------------------------------- search
def search_filters(args: Any) -> dict[str, Any]:
    """The filters of the search form, cleaned (an unknown county or status is ignored)."""
    counties = {code for code, _ in county_options(_region())}
    statuses = {key for key, _ in STATUS_FILTERS}
    county = (args.get("county") or "").strip()
    status = (args.get("status") or "").strip()
    try:
        page_no = max(1, int(args.get("page") or 1))
    except ValueError:
        page_no = 1
    return {
        "name": (args.get("name") or "").strip()[:50],
        "county": county if county in counties else "",
        "trade": (args.get("trade") or "").strip()[:50],
        "status": status if status in statuses else "",
        "page": page_no,
    }


@bp.route("")
@page(*CLERK)
def index():
    filters = search_filters(request.args)
    result = search.search_workers(
        get_session(),
        region_prefix=_region(),
        name=filters["name"] or None,
        county_code=filters["county"] or None,
        trade=filters["trade"] or None,
        status=filters["status"] or None,
        page=filters["page"],
        per_page=PER_PAGE,
    )
    _audit_reads([w.id for w in result.items], ("name", "id_masked", "phone"))
    template = "web/workers/_results.html" if request.headers.get("HX-Request") else None
    context = {
        "filters": filters,
        "result": result,
        "counties": county_options(_region()),
        "statuses": STATUS_FILTERS,
    }
    return render_template(template or "web/workers/index.html", **context)


# --------------------------------------------------------------------------- register
@bp.route("/new", methods=["GET", "POST"])
@page(*CLERK)
def new():
    counties = county_options(_region())
    if request.method == "GET":
        values = forms.form_values({}, forms.WORKER_FIELDS)  # type: ignore[arg-type]
        if len(counties) == 1:
            values["county_code"] = counties[0][0]
        return render_template(
            "web/workers/new.html",
            values=values,
            errors={},
            general=None,
            counties=counties,
            labels=forms.WORKER_FIELDS,
        )
    result = forms.register_worker(request.form)
    if result.ok:
        worker = result.obj
        flash(f"已登记劳动力 {worker.name}（编号 {worker.id}）。", "success")
        return redirect(url_for("web.workers.show", worker_id=worker.id))
    existing = result.obj if isinstance(result.obj, int) else None
    return (
        render_template(
            "web/workers/new.html",
            values=result.values,
            errors=result.errors,
            general=result.general,
            counties=counties,
            existing=existing,
            labels=forms.WORKER_FIELDS,
        ),
        422,
    )


# --------------------------------------------------------------------------- import
@bp.route("/import", methods=["GET", "POST"])
@page(*CLERK)
def import_file():
    if request.method == "GET":
        return render_template("web/workers/import.html", outcome=None)
    outcome = import_upload(skip_invalid=request.form.get("skip_invalid") == "1")
    status = 200 if outcome["ok"] else 422
    if outcome["ok"] and not outcome["rejected"]:
        flash(f"已导入 {outcome['created']} 名劳动力。", "success")
    return render_template("web/workers/import.html", outcome=outcome), status


def import_upload(*, skip_invalid: bool) -> dict[str, Any]:
    """Import the uploaded file through the API's own import function (one path for both);
    return what the page shows: created count, and every bad row with its line and column."""
    from api.service import begin_write
    from api.views import imports

    begin_write()
    try:
        response = imports.import_workers.__wrapped__(
            query=s.ImportQuery(skip_invalid=skip_invalid)
        )
    except (ApiError, StorageError) as exc:
        from api.service import rollback_session

        rollback_session()
        return {
            "ok": False,
            "detail": exc.detail,
            "errors": _row_errors(getattr(exc, "errors", None) or []),
            "created": 0,
            "rejected": [],
        }
    body = response.get_json()
    return {
        "ok": True,
        "detail": None,
        "errors": [],
        "created": body["created"],
        "rejected": _row_errors(body.get("rejected") or []),
    }


def _row_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    labels = {**forms.WORKER_FIELDS, "worker_id": "劳动力ID", "file": "文件"}
    return [
        {
            "row": e.get("row"),
            "column": e.get("column") or labels.get(e.get("field") or "", e.get("field") or ""),
            "message": e.get("message", ""),
        }
        for e in errors
    ]


# --------------------------------------------------------------------------- one worker
def ranked_jobs(worker_id: int, k: int = MATCHES) -> Recommendations:
    """The worker's best open jobs with reasons (the engine the API's matches use), each with
    its stored job row for the page (certificates, dormitory, contact); ``notice`` is the
    engine's, when no job of the worker's own trade passes the hard rules."""
    results = get_matching().recommend_jobs(worker_id, k)
    jobs = search.jobs_by_id(get_session(), [int(r["job_id"]) for r in results])
    out = Recommendations()
    out.notice = getattr(results, "notice", None)
    for rank, r in enumerate(results, start=1):
        job = jobs.get(int(r["job_id"]))
        if job is None:
            continue
        out.append(
            {
                "rank": rank,
                "job": job,
                "firm_name": r.get("firm_name") or "",
                "score": float(r["score"]),
                "p_success": r.get("p_success"),
                "reasons": list(r.get("reasons") or []),
            }
        )
    return out


@bp.route("/<id:worker_id>")
@page(*CLERK)
def show(worker_id: int):
    worker = _worker_in_scope(worker_id)
    session = get_session()
    id_number = get_protector().decrypt(worker.id_cipher)
    matches = ranked_jobs(worker_id)
    events = search.pair_events(session, worker_id)
    event_jobs = search.jobs_by_id(session, list(events))
    _audit_reads([worker.id])
    return render_template(
        "web/workers/show.html",
        worker=worker,
        id_number=id_number,
        matches=matches,
        events=events,
        event_jobs=event_jobs,
        next_stages=next_stages_by_job(events, [m["job"].id for m in matches]),
        today=_today(),
    )


def next_stages_by_job(
    events: dict[int, list[Any]], job_ids: list[int]
) -> dict[int, list[tuple[str, str]]]:
    """For each job (the ranked ones and those with events), the stages the signed-in person
    may record next for this worker, by their Chinese names: only what the outcome rules
    (:func:`api.storage.outcomes.next_stages`) would accept today."""
    from api.storage.outcomes import next_stages

    out = {}
    for job_id in [*job_ids, *events]:
        rows = events.get(job_id, [])
        corrected = {e.corrects for e in rows if e.corrects is not None}
        standing = [e for e in rows if e.id not in corrected]
        out[job_id] = [(k, STAGE_NAMES[k]) for k in next_stages(g.principal.role, standing)]
    return out


def _today() -> str:
    return today_in_china().isoformat()


@bp.route("/<id:worker_id>/outcomes", methods=["POST"])
@page(*CLERK)
def record_outcome(worker_id: int):
    _worker_in_scope(worker_id)
    job_id = request.form.get("job_id", "")
    if not job_id.isdigit():
        abort(404)
    refused = forms.record_outcome(
        worker_id, int(job_id), request.form.get("stage", ""), request.form.get("date", "")
    )
    if refused:
        flash(f"未记录：{refused}", "error")
    else:
        flash(f"已记录：{STAGE_NAMES.get(request.form['stage'], '')}。", "success")
    return redirect(url_for("web.workers.show", worker_id=worker_id) + "#outcomes")


# --------------------------------------------------------------------------- the slip
def qr_svg(url: str) -> str:
    """An inline SVG QR code of ``url`` (segno), scaled by the page's CSS."""
    import segno

    return segno.make(url, error="m").svg_inline(scale=4, border=2, dark="#000", light="#fff")


@bp.route("/<id:worker_id>/slip/<id:job_id>")
@page(*CLERK)
def slip(worker_id: int, job_id: int):
    """An A4 recommendation slip the clerk prints and hands to the worker."""
    worker = _worker_in_scope(worker_id)
    session = get_session()
    try:
        job = storage.get_job(session, job_id)
        auth.check_job(job)
    except (NotFound, ApiError):
        abort(404)
    firm = storage.get_firm(session, job.firm_id)
    reasons = next((m["reasons"] for m in ranked_jobs(worker_id, 50) if m["job"].id == job_id), [])
    job_url = url_for("web.jobs.show", job_id=job.id, _external=True)
    _audit_reads([worker.id], ("name", "id_masked", "phone"))
    return render_template(
        "web/workers/slip.html",
        worker=worker,
        job=job,
        firm=firm,
        reasons=reasons,
        job_url=job_url,
        qr=qr_svg(job_url),
        today=_today(),
        issuer=g.get("display_name", ""),
    )
