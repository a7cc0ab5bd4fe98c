"""Dedicated job fairs (专场招聘) as plain functions: create, plan, re-plan, hand edits, lists.

The HTTP views (:mod:`api.views.fairs`), the organiser's pages (:mod:`api.web`) and the
background queue (:mod:`api.tasks`) call these with the database session, the caller
(:class:`api.auth.Principal`) and, to plan, the matching service. The solver is
:mod:`matcher.fairs` (CP-SAT), the printable lists :mod:`api.fair_lists`. Errors are the
service's (:class:`~api.errors.Unprocessable`, :class:`~api.errors.ApiError` with 409,
:class:`~api.errors.NotFoundError`), in Chinese.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from api import schemas as s
from api import storage
from api.allocation_runs import audit_entry, check_county, commit_now, plain, write_now
from api.errors import ApiError, NotFoundError, Unprocessable
from api.storage.errors import NotFound
from api.storage.models import (
    AuditEntry,
    Fair,
    FairFirm,
    FairInterview,
    FairInvitation,
    Firm,
    Job,
    Worker,
    utcnow,
)

#: Candidate jobs per worker the planner chooses among.
CANDIDATES_PER_WORKER = 20
STATUS_NAMES = {
    "draft": "草稿",
    "planned": "已规划",
    "published": "已发布",
    "done": "已结束",
    "cancelled": "已取消",
}
LIST_MEDIA = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
}


def sees_personal(principal: Any, county_code: str | None) -> bool:
    """True when ``principal`` may read the phone numbers of a county's workers."""
    return principal.role == "admin" or (
        principal.role == "bureau" and principal.in_region(county_code)
    )


def get_fair(session: Session, principal: Any, fair_id: int) -> Fair:
    """Fair ``fair_id`` if ``principal`` may see it (bureau: its counties), else 404."""
    fair = session.get(Fair, fair_id)
    if fair is None or principal.role not in ("admin", "bureau", "organiser"):
        raise NotFoundError(NotFound("fair", fair_id).detail)
    if principal.role == "bureau" and not principal.in_region(fair.county_code):
        raise NotFoundError(NotFound("fair", fair_id).detail)
    return fair


def list_fairs(session: Session, principal: Any, *, limit: int = 100) -> list[Fair]:
    stmt = select(Fair).order_by(Fair.date.desc(), Fair.id.desc()).limit(limit)
    if principal.role == "bureau":
        stmt = stmt.where(Fair.county_code.startswith(principal.region_prefix))
    elif principal.role not in ("admin", "organiser"):
        return []
    return list(session.scalars(stmt))


def create_fair(session: Session, principal: Any, body: s.FairCreate) -> Fair:
    """Store a new fair (status ``draft``) and commit."""
    check_county(principal, body.county_code)
    write_now()
    fair = Fair(**body.model_dump(), status="draft")
    session.add(fair)
    session.flush()
    audit_entry(session, principal, "create", "fair", fair.id, sorted(body.model_fields_set))
    commit_now(session)
    return fair


def _ids_named(ids: list[int], what: str, why: str, field: str) -> Unprocessable:
    shown = "、".join(map(str, ids[:20])) + ("等" if len(ids) > 20 else "")
    return Unprocessable(
        f"所选{what} {shown} {why}。",
        errors=[{"field": field, "message": f"{what} {i} {why}"} for i in ids[:100]],
    )


def _county_inputs(
    session: Session,
    matching: Any,
    fair: Fair,
    *,
    firm_ids: list[int] = (),  # type: ignore[assignment]
    job_ids: list[int] = (),  # type: ignore[assignment]
    worker_ids: list[int] = (),  # type: ignore[assignment]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The planner's inputs: the county's workers and the open jobs with places left, cut to
    the organiser's picks (workers; firms and jobs, which add up) when there are any.

    A pick outside them (another county's worker, a closed or full job, a firm with no such
    job) is refused by id, the same words whether the object exists or not."""
    county = list(session.scalars(select(Worker.id).where(Worker.county_code == fair.county_code)))
    if not county:
        raise Unprocessable(f"县区 {fair.county_code} 没有登记的劳动力，无法规划招聘会。")
    if worker_ids:
        picked = list(dict.fromkeys(int(i) for i in worker_ids))
        known = set(county)
        stray = [i for i in picked if i not in known]
        if stray:
            raise _ids_named(
                stray, "劳动力", f"不是县区 {fair.county_code} 登记的劳动力", "worker_ids"
            )
        county = picked
    worker_ids = county
    jobs = pd.DataFrame(
        session.execute(
            select(Job.id, Job.firm_id, Job.headcount, Job.hired_count, Job.status).where(
                Job.status == "open", Job.hired_count < Job.headcount
            )
        ).all(),
        columns=["job_id", "firm_id", "headcount", "hired_count", "status"],
    )
    if jobs.empty:
        raise Unprocessable("当前没有在招且有空余名额的岗位，无法规划招聘会。")
    if firm_ids or job_ids:
        firms_wanted = set(map(int, firm_ids))
        jobs_wanted = set(map(int, job_ids))
        stray = sorted(jobs_wanted - set(jobs["job_id"]))
        if stray:
            raise _ids_named(stray, "岗位", "不存在、已关闭或已招满", "job_ids")
        stray = sorted(firms_wanted - set(jobs["firm_id"]))
        if stray:
            raise _ids_named(stray, "企业", "不存在或没有在招且有空余名额的岗位", "firm_ids")
        jobs = jobs[jobs["firm_id"].isin(firms_wanted) | jobs["job_id"].isin(jobs_wanted)]
    candidates = matching.candidates(worker_ids, CANDIDATES_PER_WORKER)
    candidates = candidates[candidates["job_id"].isin(jobs["job_id"])][
        ["worker_id", "job_id", "score"]
    ].copy()
    if candidates.empty:
        picked = "所选" if (firm_ids or job_ids or len(worker_ids) != len(county)) else ""
        raise Unprocessable(
            f"县区 {fair.county_code} 的{picked}劳动力没有符合硬性条件的"
            f"{'所选' if picked else '在招'}岗位，无法规划招聘会。"
        )
    candidates["score"] = candidates["score"].clip(0.0, 1.0)
    firm_ids = sorted(set(jobs["firm_id"]))
    firms = pd.DataFrame(
        session.execute(select(Firm.id, Firm.name).where(Firm.id.in_(firm_ids))).all(),
        columns=["firm_id", "firm_name"],
    )
    workers = pd.DataFrame({"worker_id": worker_ids})
    return candidates, jobs, workers, firms


#: Workers a page lists to pick from (a county may have thousands: the rest by leaving it empty).
PICK_WORKERS = 300


def pick_options(
    session: Session, fair: Fair, *, worker_limit: int = PICK_WORKERS
) -> dict[str, Any]:
    """What an organiser may hand-pick for ``fair``: the open jobs with places left in the
    county's paired Jiangsu city (by firm), and the county's workers (names and townships only,
    as the timetable shows them; the first ``worker_limit``)."""
    from data.reference import paired_city

    city = paired_city(fair.county_code)
    rows = (
        session.execute(
            select(Job.id, Job.title, Job.headcount, Job.hired_count, Firm.id, Firm.name)
            .join(Firm, Firm.id == Job.firm_id)
            .where(Job.status == "open", Job.hired_count < Job.headcount, Job.city == city)
            .order_by(Firm.name, Firm.id, Job.id)
        ).all()
        if city
        else []
    )
    firms: dict[int, dict[str, Any]] = {}
    for job_id, title, headcount, hired, firm_id, firm_name in rows:
        firm = firms.setdefault(firm_id, {"firm_id": firm_id, "name": firm_name, "jobs": []})
        firm["jobs"].append({"job_id": job_id, "title": title, "places": headcount - hired})
    workers = session.execute(
        select(Worker.id, Worker.name, Worker.township)
        .where(Worker.county_code == fair.county_code)
        .order_by(Worker.township, Worker.id)
        .limit(worker_limit)
    ).all()
    n_workers = session.scalar(
        select(func.count()).select_from(Worker).where(Worker.county_code == fair.county_code)
    )
    return {
        "city": city,
        "firms": list(firms.values()),
        "workers": [{"worker_id": w.id, "name": w.name, "township": w.township} for w in workers],
        "n_workers": int(n_workers or 0),
    }


def store_plan(session: Session, fair: Fair, plan: dict[str, Any], status: str) -> None:
    """Keep the plan on the fair and in the row tables, whose unique keys guard against clashes."""
    for model in (FairInterview, FairInvitation, FairFirm):
        session.execute(delete(model).where(model.fair_id == fair.id))
    session.add_all(
        FairFirm(fair_id=fair.id, firm_id=f["firm_id"], booths=1) for f in plan["firms"]
    )
    session.add_all(
        FairInvitation(fair_id=fair.id, worker_id=i["worker_id"]) for i in plan["invitations"]
    )
    session.add_all(
        FairInterview(
            fair_id=fair.id,
            worker_id=iv["worker_id"],
            job_id=iv["job_id"],
            firm_id=iv["firm_id"],
            booth=iv["booth"],
            start=dt.datetime.fromisoformat(iv["start"]),
            end=dt.datetime.fromisoformat(iv["end"]),
        )
        for iv in plan["interviews"]
    )
    fair.plan = plan
    fair.status = status
    session.flush()


def _record_recommended(session: Session, plan: dict[str, Any]) -> None:
    """An interview at a fair is a recommendation: the reports count it as one."""
    pairs = {(iv["worker_id"], iv["job_id"]) for iv in plan["interviews"]}
    storage.record_recommendations(session, sorted(pairs))


def plan(
    session: Session,
    principal: Any,
    matching: Any,
    fair_id: int,
    *,
    max_firms: int | None = None,
    max_workers: int | None = None,
    time_limit_s: float = 20.0,
    firm_ids: list[int] = (),  # type: ignore[assignment]
    job_ids: list[int] = (),  # type: ignore[assignment]
    worker_ids: list[int] = (),  # type: ignore[assignment]
) -> Fair:
    """Plan fair ``fair_id`` (firms, invitations, CP-SAT timetable), store it and commit.

    ``firm_ids``/``job_ids`` (the jobs of those firms plus those jobs) and ``worker_ids`` (of
    the fair's county) are the organiser's picks: the plan invites no one and nothing else."""
    from matcher.fairs import make_slots, plan_fair

    fair = get_fair(session, principal, fair_id)
    if fair.status not in ("draft", "planned"):
        raise ApiError(
            f"招聘会 {fair_id} 的状态为{STATUS_NAMES.get(fair.status, fair.status)}，"
            "不能重新规划。",
            status=409,
        )
    candidates, jobs, workers, firms = _county_inputs(
        session, matching, fair, firm_ids=firm_ids, job_ids=job_ids, worker_ids=worker_ids
    )
    try:
        slots = make_slots(fair.date, fair.start_time, fair.end_time, fair.slot_minutes)
        interviews = min(3, len(slots))
        result = plan_fair(
            candidates,
            jobs,
            workers,
            firms,
            booths=fair.booths,
            slots=slots,
            max_firms=max_firms,
            max_workers=max_workers,
            interviews_per_worker=interviews,
            time_limit_s=time_limit_s,
        )
    except ValueError as exc:
        raise Unprocessable(f"无法规划招聘会：{exc}") from None
    plan_dict = plain(result.to_dict())
    write_now()
    store_plan(session, fair, plan_dict, "planned")
    _record_recommended(session, plan_dict)
    audit_entry(session, principal, "update", "fair", fair.id, ["plan"])
    commit_now(session)
    return fair


def _changes_json(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return plain(
        [
            {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in c.items()}
            for c in changes
        ]
    )


def _planned(session: Session, principal: Any, fair_id: int) -> Fair:
    fair = get_fair(session, principal, fair_id)
    if fair.status in ("done", "cancelled"):
        raise ApiError(
            f"招聘会 {fair_id} {STATUS_NAMES[fair.status]}，安排不能再调整。", status=409
        )
    if not fair.plan:
        raise ApiError(f"招聘会 {fair_id} 尚未规划；请先规划。", status=409)
    return fair


#: Status changes: the action, the states it may start from, where it goes, and in words.
STATUS_ACTIONS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "publish": (("planned",), "published", "发布"),
    "finish": (("published",), "done", "结束"),
    "cancel": (("draft", "planned", "published"), "cancelled", "取消"),
}


def change_status(session: Session, principal: Any, fair_id: int, action: str) -> Fair:
    """Publish a planned fair (its plan is then what workers are told), mark a published one
    done, or cancel one not yet over; any other step is refused (409) and changes nothing.

    A published fair is no longer re-planned from scratch (hand edits and refills stay open);
    a finished or cancelled one takes no edits at all."""
    if action not in STATUS_ACTIONS:
        raise Unprocessable(f"不支持的操作 {action!r}；可选 publish、finish、cancel。")
    fair = get_fair(session, principal, fair_id)
    sources, target, words = STATUS_ACTIONS[action]
    if fair.status not in sources:
        allowed = "、".join(STATUS_NAMES[s] for s in sources)
        raise ApiError(
            f"招聘会 {fair_id} 的状态为{STATUS_NAMES.get(fair.status, fair.status)}，"
            f"不能{words}（只有{allowed}的招聘会可以{words}）。",
            status=409,
        )
    write_now()
    fair.status = target
    audit_entry(session, principal, "update", "fair", fair.id, ["status"])
    commit_now(session)
    return fair


def replan(
    session: Session,
    principal: Any,
    fair_id: int,
    *,
    cancel_firms: list[int] = (),  # type: ignore[assignment]
    absent_workers: list[int] = (),  # type: ignore[assignment]
    time_limit_s: float = 20.0,
) -> tuple[Fair, list[dict[str, Any]]]:
    """Re-plan after firms cancel or workers cannot come (or, with neither, fill freed places):
    every other interview keeps its booth and time."""
    from matcher.fairs import replan_fair

    fair = _planned(session, principal, fair_id)
    try:
        new_plan, changes = replan_fair(
            fair.plan,
            cancelled_firms=list(cancel_firms),
            absent_workers=list(absent_workers),
            time_limit_s=time_limit_s,
        )
    except ValueError as exc:
        raise Unprocessable(f"无法调整招聘会：{exc}") from None
    changes_json = _changes_json(changes)
    write_now()
    store_plan(session, fair, plain(new_plan.to_dict()), fair.status)
    audit_entry(session, principal, "update", "fair", fair.id, ["plan", "replan"])
    commit_now(session)
    return fair, changes_json


def move_interview(
    session: Session, principal: Any, fair_id: int, worker_id: int, firm_id: int, start: str
) -> tuple[Fair, dict[str, Any]]:
    """Move one interview to another time at its booth (refused if it would clash)."""
    from matcher.fairs import move_interview as move

    fair = _planned(session, principal, fair_id)
    try:
        new_plan, change = move(fair.plan, worker_id, firm_id, start)
    except ValueError as exc:
        raise Unprocessable(f"无法调整这场面试：{exc}") from None
    write_now()
    store_plan(session, fair, plain(new_plan.to_dict()), fair.status)
    audit_entry(session, principal, "update", "fair", fair.id, ["plan", "move"])
    commit_now(session)
    return fair, _changes_json([change])[0]


def cancel_interview(
    session: Session, principal: Any, fair_id: int, worker_id: int, firm_id: int
) -> tuple[Fair, dict[str, Any]]:
    """Cancel one interview; a re-plan then gives its place to someone left unscheduled."""
    from matcher.fairs import cancel_interview as cancel

    fair = _planned(session, principal, fair_id)
    try:
        new_plan, change = cancel(fair.plan, worker_id, firm_id)
    except ValueError as exc:
        raise Unprocessable(f"无法取消这场面试：{exc}") from None
    write_now()
    store_plan(session, fair, plain(new_plan.to_dict()), fair.status)
    audit_entry(session, principal, "update", "fair", fair.id, ["plan", "cancel"])
    commit_now(session)
    return fair, _changes_json([change])[0]


def _chunks(values: list[Any], size: int = 500):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def list_inputs(
    session: Session, plan: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Worker, firm and job details the lists of ``plan`` print."""
    worker_ids = sorted(
        {i["worker_id"] for i in plan.get("invitations", [])}
        | {r["worker_id"] for r in plan.get("requests", [])}
    )
    job_ids = sorted({r["job_id"] for r in plan.get("requests", [])})
    firm_ids = sorted({f["firm_id"] for f in plan.get("firms", [])})
    w_rows, f_rows, j_rows = [], [], []
    for part in _chunks(worker_ids):
        w_rows += session.execute(
            select(
                Worker.id,
                Worker.name,
                Worker.township,
                Worker.village,
                Worker.phone,
                Worker.poverty_registered,
            ).where(Worker.id.in_(part))
        ).all()
    for part in _chunks(firm_ids):
        f_rows += session.execute(select(Firm.id, Firm.name).where(Firm.id.in_(part))).all()
    for part in _chunks(job_ids):
        j_rows += session.execute(
            select(Job.id, Job.title, Job.certificates_required).where(Job.id.in_(part))
        ).all()
    workers = pd.DataFrame(
        w_rows,
        columns=["worker_id", "name", "township", "village", "phone", "poverty_registered"],
    )
    firms = pd.DataFrame(f_rows, columns=["firm_id", "firm_name"])
    jobs = pd.DataFrame(j_rows, columns=["job_id", "title", "certificates_required"])
    return workers, firms, jobs


def _audit_reads(
    session: Session, principal: Any, worker_ids: list[int], fields: tuple[str, ...]
) -> None:
    if not worker_ids:
        return
    write_now()
    stamp = utcnow()
    for part in _chunks(worker_ids, 5000):
        session.execute(
            insert(AuditEntry),
            [
                {
                    "api_key_id": getattr(principal, "key_id", None),
                    "actor": principal.name,
                    "action": "read",
                    "object_type": "worker",
                    "object_id": str(i),
                    "fields": list(fields),
                    "at": stamp,
                }
                for i in part
            ],
        )


def render_lists(
    session: Session, principal: Any, fair_id: int, fmt: str, *, back_url: str | None = None
) -> tuple[Fair, Any]:
    """The printable lists of fair ``fair_id`` as ``fmt`` (xlsx, csv or html) and the fair.

    Phones are in full only for admins and the county's bureau; each listed worker's read is
    audited (and committed). ``back_url`` (html only): a screen-only toolbar with a link back
    and a print button, for the organiser's page.
    """
    from api import fair_lists
    from api.views.matches import mask_phone
    from data.reference import load_certificates

    fair = get_fair(session, principal, fair_id)
    if not fair.plan:
        raise ApiError(f"招聘会 {fair_id} 尚未规划，没有名单可打印。", status=409)
    if fmt not in LIST_MEDIA:
        raise Unprocessable(f"名单格式 {fmt!r} 不支持；可选 xlsx、csv、html。")
    workers, firms, jobs = list_inputs(session, fair.plan)
    personal = sees_personal(principal, fair.county_code)
    if not personal:
        # Organisers print slips with names, but the phone list is the county bureau's to call.
        workers["phone"] = workers["phone"].map(mask_phone)
    certs = load_certificates()
    names = dict(zip(certs["cert_id"], certs["name"], strict=True))
    try:
        if fmt == "html":
            data: bytes | str = fair_lists.render_html(
                fair.plan,
                workers,
                firms,
                jobs,
                title=fair.name,
                certificate_names=names,
                back_url=back_url,
            )
        elif fmt == "csv":
            data = fair_lists.render_csv(fair.plan, workers, firms, jobs, certificate_names=names)
        else:
            data = fair_lists.render_xlsx(
                fair.plan, workers, firms, jobs, title=fair.name, certificate_names=names
            )
    except ValueError as exc:
        # A worker, firm or job of the plan has since been deleted: say so rather than print a hole.
        raise ApiError(
            f"招聘会 {fair_id} 的安排引用了已删除的数据，请重新规划：{exc}", status=409
        ) from None
    read = ("name", "phone", "township", "village") if personal else ("name", "township", "village")
    _audit_reads(session, principal, workers["worker_id"].tolist(), read)
    commit_now(session)
    return fair, data


def list_headers(fair: Fair, fmt: str) -> dict[str, str]:
    """The HTTP headers of the lists of ``fair`` as ``fmt``: the type, and for a file its name
    (``fair-<id>-lists.xlsx``, and the fair's own name for browsers that read UTF-8 names)."""
    from urllib.parse import quote

    headers = {"Content-Type": LIST_MEDIA[fmt]}
    if fmt != "html":
        headers["Content-Disposition"] = (
            f"attachment; filename=fair-{fair.id}-lists.{fmt}; "
            f"filename*=UTF-8''{quote(fair.name)}.{fmt}"
        )
    return headers


def timetable(session: Session, fair: Fair) -> dict[str, Any]:
    """The plan as a grid for a page: one row per booth, one column per slot.

    Each cell holds the interviews at that booth and time (worker name, job title, the ids a
    move or cancel form needs); the free slots of each booth are listed for moving into.
    Names only: no phone or ID number is read.
    """
    plan = fair.plan or {}
    slots = [
        (dt.datetime.fromisoformat(a), dt.datetime.fromisoformat(b))
        for a, b in plan.get("slots", [])
    ]
    firms = sorted(plan.get("firms", []), key=lambda f: f["booth"])
    interviews = plan.get("interviews", [])
    worker_ids = sorted(
        {iv["worker_id"] for iv in interviews}
        | {u["worker_id"] for u in plan.get("unscheduled", [])}
    )
    job_ids = sorted(
        {iv["job_id"] for iv in interviews} | {u["job_id"] for u in plan.get("unscheduled", [])}
    )
    names: dict[int, str] = {}
    for part in _chunks(worker_ids):
        names.update(
            session.execute(select(Worker.id, Worker.name).where(Worker.id.in_(part))).all()
        )
    titles: dict[int, str] = {}
    for part in _chunks(job_ids):
        titles.update(session.execute(select(Job.id, Job.title).where(Job.id.in_(part))).all())
    desks = int(plan.get("settings", {}).get("desks_per_booth", 1))
    starts = [a for a, _ in slots]
    busy_worker: dict[int, set[int]] = {}
    grid: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for iv in interviews:
        start = dt.datetime.fromisoformat(iv["start"])
        slot = starts.index(start) if start in starts else int(iv.get("slot", -1))
        busy_worker.setdefault(iv["worker_id"], set()).add(slot)
        grid.setdefault((iv["booth"], slot), []).append(
            {
                "worker_id": iv["worker_id"],
                "firm_id": iv["firm_id"],
                "job_id": iv["job_id"],
                "name": names.get(iv["worker_id"], f"劳动力 {iv['worker_id']}"),
                "title": titles.get(iv["job_id"], ""),
                "desk": iv.get("desk", 1),
                "slot": slot,
            }
        )
    rows = []
    for f in firms:
        cells = []
        for i in range(len(slots)):
            cell = sorted(grid.get((f["booth"], i), []), key=lambda c: c["desk"])
            cells.append({"slot": i, "interviews": cell, "free": desks - len(cell)})
        for cell in cells:
            for iv in cell["interviews"]:
                iv["moves"] = [
                    {
                        "start": slots[c["slot"]][0].isoformat(),
                        "label": f"{slots[c['slot']][0]:%H:%M}",
                    }
                    for c in cells
                    if c["free"] > 0 and c["slot"] not in busy_worker.get(iv["worker_id"], set())
                ]
        rows.append(
            {
                "booth": f["booth"],
                "firm_id": f["firm_id"],
                "firm_name": f.get("firm_name", ""),
                "cells": cells,
            }
        )
    unscheduled = [
        {
            "worker_id": u["worker_id"],
            "name": names.get(u["worker_id"], f"劳动力 {u['worker_id']}"),
            "title": titles.get(u["job_id"], ""),
            "why": u.get("why", ""),
        }
        for u in plan.get("unscheduled", [])
    ]
    return {
        "slots": [{"start": a, "end": b, "label": f"{a:%H:%M}"} for a, b in slots],
        "rows": rows,
        "unscheduled": unscheduled,
        "stats": plan.get("stats", {}),
        "n_interviews": len(interviews),
        "n_invited": len(plan.get("invitations", [])),
    }


__all__ = [
    "CANDIDATES_PER_WORKER",
    "LIST_MEDIA",
    "STATUS_NAMES",
    "cancel_interview",
    "change_status",
    "create_fair",
    "get_fair",
    "list_fairs",
    "list_headers",
    "list_inputs",
    "move_interview",
    "pick_options",
    "plan",
    "render_lists",
    "replan",
    "sees_personal",
    "store_plan",
    "timetable",
]
