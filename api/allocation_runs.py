"""County-wide allocation as plain functions: run one, show it for review, confirm it.

The HTTP view (:mod:`api.views.allocations`), the county page (:mod:`api.web`) and the
background queue (:mod:`api.tasks`) all call these. Each takes the database session, the
caller (:class:`api.auth.Principal`) and, to run one, the matching service; each raises the
service's errors (:class:`api.errors.Unprocessable`, :class:`~api.errors.NotFoundError`,
:class:`~api.errors.Forbidden`), whose sentences are Chinese. The solver is
:func:`matcher.allocation.allocate`: never a hard rule broken, never a job over its headcount,
never one worker on two jobs.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import schemas as s
from api import storage
from api.errors import Forbidden, NotFoundError, Unprocessable
from api.storage.errors import NotFound
from api.storage.models import Allocation, AuditEntry, Firm, Job, Worker, utcnow

MODE_NAMES = {"welfare": "总体成功率最高", "stable": "稳定匹配（劳动力优先）"}
STATUS_NAMES = {"proposed": "待确认", "confirmed": "已确认"}


def request_of(params: dict[str, Any]) -> s.AllocationCreate:
    """The validated request of a stored task's parameters (or a page's form)."""
    return s.AllocationCreate.model_validate(params)


def audit_entry(
    session: Session, principal: Any, action: str, object_type: str, object_id: Any, fields: Any
) -> None:
    session.add(
        AuditEntry(
            api_key_id=getattr(principal, "key_id", None),
            actor=getattr(principal, "name", "") or "",
            action=action,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            fields=sorted(fields),
        )
    )


def write_now() -> None:
    """Take the write lock before the first write (SQLite; see :func:`api.service.begin_write`)."""
    from api.service import begin_write

    begin_write()


def commit_now(session: Session) -> None:
    """Commit, and let the next write of this request take the write lock again."""
    from flask import g

    session.commit()
    g.pop("db_writing", None)


def _not_found(allocation_id: int) -> NotFoundError:
    return NotFoundError(NotFound("allocation", allocation_id).detail)


def check_county(principal: Any, county_code: str) -> None:
    """403 when a bureau names a county outside its region."""
    if principal.role == "bureau" and not principal.in_region(county_code):
        raise Forbidden(f"县区 {county_code} 不在您的辖区（{principal.region_prefix}）内。")


def _workers(session: Session, principal: Any, body: s.AllocationCreate) -> pd.DataFrame:
    for county in body.counties:
        check_county(principal, county)
    cols = (Worker.id, Worker.county_code, Worker.poverty_registered, Worker.group_id)
    names = ["worker_id", "county_code", "poverty_registered", "group_id"]
    frames = []
    if body.counties:
        rows = session.execute(select(*cols).where(Worker.county_code.in_(body.counties))).all()
        found = {r.county_code for r in rows}
        empty = [c for c in body.counties if c not in found]
        if empty:
            raise Unprocessable(
                f"县区 {'、'.join(empty)} 没有登记的劳动力，无法分配。",
                errors=[
                    {"field": "counties", "message": f"县区 {c} 没有登记的劳动力"} for c in empty
                ],
            )
        frames.append(pd.DataFrame(rows, columns=names))
    if body.worker_ids:
        ids = list(dict.fromkeys(body.worker_ids))
        rows = session.execute(select(*cols).where(Worker.id.in_(ids))).all()
        visible = [
            r for r in rows if principal.role != "bureau" or principal.in_region(r.county_code)
        ]
        missing = sorted(set(ids) - {r.id for r in visible})
        if missing:
            raise Unprocessable(
                f"劳动力 {'、'.join(map(str, missing[:20]))} 不存在或不在您的辖区内。",
                errors=[
                    {"field": "worker_ids", "message": f"劳动力 {i} 不存在"} for i in missing[:100]
                ],
            )
        frames.append(pd.DataFrame(visible, columns=names))
    workers = pd.concat(frames, ignore_index=True).drop_duplicates("worker_id")
    return workers.sort_values("worker_id").reset_index(drop=True)


def _open_jobs(session: Session) -> pd.DataFrame:
    rows = session.execute(
        select(Job.id, Job.firm_id, Job.headcount, Job.hired_count, Job.city, Job.status).where(
            Job.status == "open", Job.hired_count < Job.headcount
        )
    ).all()
    if not rows:
        raise Unprocessable("当前没有在招且有空余名额的岗位，无法分配。")
    return pd.DataFrame(
        rows, columns=["job_id", "firm_id", "headcount", "hired_count", "city", "status"]
    )


def _candidates(matching: Any, worker_ids: list[int], k: int) -> pd.DataFrame:
    def run(engine: Any) -> dict[int, list[dict[str, Any]]]:
        known = [i for i in worker_ids if i in engine.workers_index_]
        return engine.recommend_jobs_batch(known, k=k, with_reasons=True)

    batch = matching.with_engine(run)
    rows = [
        {
            "worker_id": wid,
            "job_id": it["job_id"],
            "score": min(max(float(it["score"]), 0.0), 1.0),
            "reasons": list(it.get("reasons") or []),
        }
        for wid, items in batch.items()
        for it in items
    ]
    return pd.DataFrame(rows, columns=["worker_id", "job_id", "score", "reasons"])


def run_allocation(
    session: Session,
    principal: Any,
    matching: Any,
    body: s.AllocationCreate,
    *,
    review: bool = False,
) -> Allocation:
    """Allocate the workers ``body`` names to open jobs, store the proposal and commit it.

    Each assignment is also a ``recommended`` outcome event (the reports count it): at once
    for the API, whose answer is the allocation; with ``review`` (the county page) only when a
    clerk confirms it, for the proposals the clerk kept (:func:`confirm_allocation`).
    """
    from matcher.allocation import allocate

    workers = _workers(session, principal, body)
    jobs = _open_jobs(session)
    candidates = _candidates(
        matching, workers["worker_id"].tolist(), body.options.candidates_per_worker
    )
    candidates = candidates[candidates["job_id"].isin(jobs["job_id"])]
    if candidates.empty:
        raise Unprocessable("这些劳动力没有任何符合硬性条件的在招岗位，无法分配。")
    try:
        result = allocate(
            candidates,
            jobs,
            workers,
            mode=body.mode,
            poverty_priority=body.options.poverty_priority,
            max_per_firm=body.options.max_per_firm,
            keep_groups=body.options.keep_groups,
        )
    except ValueError as exc:
        raise Unprocessable(f"无法分配：{exc}") from None
    data = plain(result.to_dict())
    request_json = body.model_dump(mode="json")
    request_json["county_codes"] = sorted(set(workers["county_code"]))
    request_json["review"] = review
    write_now()
    row = Allocation(request=request_json, result=data, status="proposed")
    session.add(row)
    session.flush()
    if not review:
        storage.record_recommendations(
            session, [(a["worker_id"], a["job_id"]) for a in data["assignments"]]
        )
    audit_entry(
        session,
        principal,
        "create",
        "allocation",
        row.id,
        ["counties", "worker_ids", "mode", "options"],
    )
    commit_now(session)
    return row


def get_allocation(session: Session, principal: Any, allocation_id: int) -> Allocation:
    """Allocation ``allocation_id`` if ``principal`` may see it (bureau: all its counties)."""
    row = session.get(Allocation, allocation_id)
    if row is None:
        raise _not_found(allocation_id)
    if principal.role == "bureau":
        counties = row.request.get("county_codes", [])
        if not counties or not all(principal.in_region(c) for c in counties):
            raise _not_found(allocation_id)
    elif principal.role not in ("admin", "organiser"):
        raise _not_found(allocation_id)
    return row


def list_allocations(session: Session, principal: Any, *, limit: int = 20) -> list[Allocation]:
    """The newest allocations ``principal`` may see."""
    rows = session.scalars(select(Allocation).order_by(Allocation.id.desc()).limit(limit * 5))
    out = []
    for row in rows:
        try:
            out.append(get_allocation(session, principal, row.id))
        except NotFoundError:
            continue
        if len(out) >= limit:
            break
    return out


def _refuse_confirmed(row: Allocation, doing: str) -> None:
    from api.errors import ApiError

    if row.status == "confirmed":
        raise ApiError(
            f"分配方案 {row.id} 已于 {row.confirmed_at:%Y-%m-%d %H:%M} "
            f"由 {row.confirmed_by} 确认，不能{doing}。",
            status=409,
        )


def drop_proposals(
    session: Session, principal: Any, allocation_id: int, worker_ids: list[int]
) -> tuple[Allocation, int]:
    """Take the proposals of ``worker_ids`` out of a proposed allocation (a clerk's review).

    The dropped ones are kept under ``dropped`` (who dropped them and when), so the review
    still shows them; confirming records only the proposals that stay. Returns the row and
    how many were dropped.
    """
    row = get_allocation(session, principal, allocation_id)
    _refuse_confirmed(row, "再删除其中的分配")
    wanted = {int(i) for i in worker_ids}
    result = dict(row.result or {})
    kept, dropped = [], []
    for a in result.get("assignments", []):
        (dropped if a["worker_id"] in wanted else kept).append(a)
    if not dropped:
        raise Unprocessable("所选劳动力不在这份分配方案的待确认名单中。")
    stamp = utcnow().isoformat(timespec="seconds")
    by = (getattr(principal, "name", "") or "")[:100]
    result["assignments"] = kept
    result["dropped"] = [
        *result.get("dropped", []),
        *({**a, "dropped_by": by, "dropped_at": stamp} for a in dropped),
    ]
    write_now()
    row.result = result  # a new dict: the JSON column sees the change
    audit_entry(session, principal, "update", "allocation", row.id, ["assignments"])
    commit_now(session)
    return row, len(dropped)


def confirm_allocation(session: Session, principal: Any, allocation_id: int) -> Allocation:
    """Mark a reviewed proposal as confirmed (who and when); confirming twice is refused.

    A proposal made for review (``review=True`` in :func:`run_allocation`) becomes, at
    confirmation, a ``recommended`` outcome event for each placement the clerk kept.
    """
    row = get_allocation(session, principal, allocation_id)
    _refuse_confirmed(row, "重复确认")
    write_now()
    if row.request.get("review"):
        assignments = (row.result or {}).get("assignments", [])
        storage.record_recommendations(
            session, [(a["worker_id"], a["job_id"]) for a in assignments]
        )
    row.status = "confirmed"
    row.confirmed_at = utcnow()
    row.confirmed_by = (getattr(principal, "name", "") or "")[:100]
    audit_entry(session, principal, "update", "allocation", row.id, ["status"])
    commit_now(session)
    return row


def review(session: Session, principal: Any, row: Allocation) -> dict[str, Any]:
    """The proposal in words: who goes where (names, county, firm, job, city) and who does not.

    Worker names are shown to those who may see the workers (admin, the bureau of the county,
    organisers, as the fair lists do); the read is audited.
    """
    from data.reference import county_name

    result = row.result or {}
    assignments = result.get("assignments", [])
    unassigned = result.get("unassigned", [])
    dropped = result.get("dropped", [])
    worker_ids = sorted(
        {a["worker_id"] for a in assignments}
        | {u["worker_id"] for u in unassigned}
        | {d["worker_id"] for d in dropped}
    )
    job_ids = sorted({a["job_id"] for a in assignments} | {d["job_id"] for d in dropped})
    workers = {}
    for part in _chunks(worker_ids):
        for w in session.execute(
            select(
                Worker.id, Worker.name, Worker.id_masked, Worker.county_code, Worker.township
            ).where(Worker.id.in_(part))
        ):
            workers[w.id] = w
    jobs = {}
    for part in _chunks(job_ids):
        for j in session.execute(
            select(Job.id, Job.title, Job.city, Firm.name.label("firm_name"))
            .join(Firm, Firm.id == Job.firm_id)
            .where(Job.id.in_(part))
        ):
            jobs[j.id] = j

    def county(code: str | None) -> str:
        try:
            return county_name(code) if code else ""
        except ValueError:
            return code or ""

    def placement(a: dict[str, Any]) -> dict[str, Any]:
        w, j = workers.get(a["worker_id"]), jobs.get(a["job_id"])
        return {
            "worker_id": a["worker_id"],
            "name": w.name if w else "（已删除）",
            "id_masked": w.id_masked if w else "",
            "county": county(w.county_code) if w else "",
            "township": w.township if w else "",
            "job_id": a["job_id"],
            "title": j.title if j else "（已删除）",
            "firm": j.firm_name if j else "",
            "city": j.city if j else "",
            "score": float(a.get("score", 0.0)),
            "reasons": list(a.get("reasons") or []),
            "dropped_by": a.get("dropped_by", ""),
            "dropped_at": a.get("dropped_at", ""),
        }

    best_first = sorted(assignments, key=lambda a: (-float(a.get("score", 0)), a["worker_id"]))
    rows = [placement(a) for a in best_first]
    left = []
    for u in unassigned:
        w = workers.get(u["worker_id"])
        left.append(
            {
                "worker_id": u["worker_id"],
                "name": w.name if w else "（已删除）",
                "id_masked": w.id_masked if w else "",
                "county": county(w.county_code) if w else "",
                "why": u.get("why") or u.get("reason") or "",
            }
        )
    if worker_ids:
        write_now()
        audit_entry(
            session, principal, "read", "allocation", row.id, ["name", "id_masked", "township"]
        )
        commit_now(session)
    counties = [county(c) for c in row.request.get("county_codes", [])]
    return {
        "id": row.id,
        "mode": row.request.get("mode", ""),
        "mode_name": MODE_NAMES.get(row.request.get("mode", ""), row.request.get("mode", "")),
        "status": row.status,
        "status_name": STATUS_NAMES.get(row.status, row.status),
        "counties": counties,
        "created_at": row.created_at,
        "confirmed_at": row.confirmed_at,
        "confirmed_by": row.confirmed_by,
        "review": bool(row.request.get("review")),
        "assignments": rows,
        "dropped": [placement(d) for d in dropped],
        "unassigned": left,
        "stats": result.get("stats", {}),
    }


def _chunks(values: list[int], size: int = 500):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def plain(value: Any) -> Any:
    """numpy scalars and tuples → JSON types (the result is stored as JSON)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


__all__ = [
    "MODE_NAMES",
    "STATUS_NAMES",
    "confirm_allocation",
    "drop_proposals",
    "get_allocation",
    "list_allocations",
    "plain",
    "request_of",
    "review",
    "run_allocation",
]
