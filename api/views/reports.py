"""``GET /reports/summary``: registered, recommended, hired and retained workers by county, city or
occupation — the figures the cooperation is judged by (stable employment, not postings)."""

from __future__ import annotations

from functools import cache

from flask import Blueprint, Response, jsonify
from sqlalchemy import distinct, func, select

from api import auth
from api import schemas as s
from api.openapi import operation
from api.service import get_session
from api.storage.models import Job, OutcomeEvent, Worker

bp = Blueprint("reports", __name__)

STAGES = ("recommended", "hired", "retained_3m", "retained_6m")


@cache
def _occupation_names() -> dict[str, str]:
    from data.reference import load_occupations

    occ = load_occupations(4)
    return dict(zip(occ["code"].astype(str), occ["name"].astype(str), strict=True))


def _label(by: str, key: str) -> str:
    if by == "county":
        from data.reference import county_name

        try:
            return county_name(key)
        except ValueError:
            return ""
    if by == "occupation":
        return _occupation_names().get(key, "未编码" if not key else "")
    return key


@operation(
    bp,
    "GET",
    "/reports/summary",
    summary="汇总：登记、推荐、录用、在岗3/6个月人数",
    roles=("admin", "bureau", "organiser"),
    query=s.SummaryQuery,
    response=s.Summary,
    description=(
        "by=county：按劳动力户籍县统计，registered 为该县登记人数；"
        "by=city / occupation：按岗位所在城市或职业统计，"
        "registered 为在该组岗位上有过任何记录的人数。"
        "其余各列为达到该阶段的不同劳动力人数。bureau 只统计本辖区劳动力。"
    ),
)
def summary(query: s.SummaryQuery) -> Response:
    session = get_session()
    principal = auth.current()
    region = principal.region_prefix if principal.role == "bureau" else None
    by = query.by
    rows: dict[str, dict[str, int]] = {}

    def row(key: str) -> dict[str, int]:
        return rows.setdefault(key or "", {"registered": 0, **{st: 0 for st in STAGES}})

    if by == "county":
        key_col = Worker.county_code
        reg = select(key_col, func.count()).group_by(key_col)
        if region:
            reg = reg.where(Worker.county_code.startswith(region))
        for key, n in session.execute(reg):
            row(key)["registered"] = n
        ev = (
            select(key_col, OutcomeEvent.stage, func.count(distinct(OutcomeEvent.worker_id)))
            .join(Worker, Worker.id == OutcomeEvent.worker_id)
            .where(OutcomeEvent.stage.in_(STAGES))
            .group_by(key_col, OutcomeEvent.stage)
        )
    else:
        key_col = Job.city if by == "city" else Job.occupation_code
        base = select(key_col, func.count(distinct(OutcomeEvent.worker_id))).join(
            Job, Job.id == OutcomeEvent.job_id
        )
        ev = (
            select(key_col, OutcomeEvent.stage, func.count(distinct(OutcomeEvent.worker_id)))
            .join(Job, Job.id == OutcomeEvent.job_id)
            .where(OutcomeEvent.stage.in_(STAGES))
            .group_by(key_col, OutcomeEvent.stage)
        )
        if region:
            base = base.join(Worker, Worker.id == OutcomeEvent.worker_id).where(
                Worker.county_code.startswith(region)
            )
        for key, n in session.execute(base.group_by(key_col)):
            row(key)["registered"] = n
    if region:
        if by != "county":
            ev = ev.join(Worker, Worker.id == OutcomeEvent.worker_id)
        ev = ev.where(Worker.county_code.startswith(region))
    for key, stage, n in session.execute(ev):
        row(key)[stage] = n
    items = [
        {"key": key, "label": _label(by, key), **counts} for key, counts in sorted(rows.items())
    ]
    return jsonify({"by": by, "items": items})
