from __future__ import annotations

import json
from datetime import date, datetime, time

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher import fairs
from matcher.fairs import (
    NOTE_GREEDY,
    REASON_ABSENT,
    REASON_FIRM_CANCELLED,
    REASON_FIRM_FULL,
    FairPlan,
    _colour,
    make_slots,
    plan_fair,
    replan_fair,
)

settings.register_profile(
    "fair", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def fair_instances(draw):
    n_w = draw(st.integers(1, 12))
    n_f = draw(st.integers(1, 5))
    n_j = draw(st.integers(1, 8))
    jobs = pd.DataFrame(
        {
            "job_id": np.arange(1, n_j + 1),
            "firm_id": [draw(st.integers(1, n_f)) for _ in range(n_j)],
            "headcount": [draw(st.integers(1, 5)) for _ in range(n_j)],
            "hired_count": 0,
        }
    )
    pairs = draw(
        st.lists(
            st.tuples(st.integers(1, n_w), st.integers(1, n_j)),
            min_size=1,
            max_size=n_w * n_j,
            unique=True,
        )
    )
    cands = pd.DataFrame(pairs, columns=["worker_id", "job_id"])
    cands["score"] = [draw(st.sampled_from([0.1, 0.4, 0.4, 0.7, 0.95])) for _ in pairs]
    workers = pd.DataFrame({"worker_id": np.arange(1, n_w + 1)})
    firms = pd.DataFrame(
        {"firm_id": np.arange(1, n_f + 1), "firm_name": [f"企业{i}" for i in range(1, n_f + 1)]}
    )
    n_slots = draw(st.integers(1, 4))
    kwargs = {
        "booths": draw(st.integers(1, 4)),
        "slots": make_slots("2026-03-15", "09:00", "13:00", 240 // n_slots),
        "desks_per_booth": draw(st.integers(1, 2)),
        "interviews_per_worker": draw(st.integers(1, n_slots)),
        "max_workers": draw(st.sampled_from([None, 3, 8])),
        "time_limit_s": 5,
    }
    return cands, jobs, workers, firms, kwargs


def assert_no_clash(plan: FairPlan):
    iv = pd.DataFrame(
        plan.interviews,
        columns=["worker_id", "job_id", "firm_id", "booth", "desk", "slot", "start", "end"],
    )
    assert not iv.duplicated(["worker_id", "slot"]).any(), "worker in two places at once"
    assert not iv.duplicated(["booth", "slot", "desk"]).any(), "booth desk double-booked"
    assert (iv.groupby(["booth", "slot"]).size() <= plan.settings["desks_per_booth"]).all()
    assert iv["desk"].between(1, plan.settings["desks_per_booth"]).all()
    booth = {f["firm_id"]: f["booth"] for f in plan.firms}
    assert all(booth[r["firm_id"]] == r["booth"] for r in plan.interviews)
    assert all(plan.slots[r["slot"]] == (r["start"], r["end"]) for r in plan.interviews)


@settings(settings.get_profile("fair"))
@given(inst=fair_instances())
def test_plan_has_no_clash_and_schedules_every_request(inst):
    cands, jobs, workers, firms, kw = inst
    plan = plan_fair(cands, jobs, workers, firms, **kw)
    assert_no_clash(plan)
    # firms: at most one per booth, numbered 1..n, each request at an invited firm
    booths = sorted(f["booth"] for f in plan.firms)
    assert booths == list(range(1, len(plan.firms) + 1)) and len(booths) <= kw["booths"]
    firm_ids = {f["firm_id"] for f in plan.firms}
    pairs = set(zip(cands["worker_id"], cands["job_id"], strict=True))
    job_firm = dict(zip(jobs["job_id"], jobs["firm_id"], strict=True))
    req = pd.DataFrame(plan.requests)
    assert all((r["worker_id"], r["job_id"]) in pairs for r in plan.requests)
    assert all(job_firm[r["job_id"]] == r["firm_id"] in firm_ids for r in plan.requests)
    assert (req.groupby("worker_id").size() <= kw["interviews_per_worker"]).all()
    assert not req.duplicated(["worker_id", "firm_id"]).any()
    capacity = len(kw["slots"]) * kw["desks_per_booth"]
    assert (req.groupby("firm_id").size() <= capacity).all()
    if kw["max_workers"] is not None:
        assert plan.stats["n_invited"] <= kw["max_workers"]
    # requests are sized to the booths, so every one gets a time (König) and nobody goes home
    assert len(plan.interviews) == len(plan.requests)
    assert plan.unscheduled == []
    assert plan.stats["n_invited_with_interview"] == plan.stats["n_invited"]
    assert plan.stats["status"] == "OPTIMAL" and plan.stats["gap"] == 0


@settings(settings.get_profile("fair"))
@given(inst=fair_instances(), data=st.data())
def test_replan_keeps_every_unaffected_interview(inst, data):
    cands, jobs, workers, firms, kw = inst
    plan = plan_fair(cands, jobs, workers, firms, **kw)
    firm_ids = [f["firm_id"] for f in plan.firms]
    worker_ids = [i["worker_id"] for i in plan.invitations]
    gone_f = data.draw(st.lists(st.sampled_from(firm_ids), max_size=2, unique=True))
    gone_w = data.draw(st.lists(st.sampled_from(worker_ids), max_size=3, unique=True))
    moves = data.draw(st.booleans())
    new, changes = replan_fair(
        plan.to_dict(),
        cancelled_firms=gone_f,
        absent_workers=gone_w,
        allow_moves=moves,
        time_limit_s=5,
    )
    assert_no_clash(new)
    where = {
        (i["worker_id"], i["firm_id"]): (i["booth"], i["desk"], i["start"]) for i in new.interviews
    }
    for iv in plan.interviews:
        key = (iv["worker_id"], iv["firm_id"])
        if iv["firm_id"] in gone_f or iv["worker_id"] in gone_w:
            assert key not in where
        else:
            assert where[key] == (iv["booth"], iv["desk"], iv["start"])
    assert all(
        iv["firm_id"] not in gone_f and iv["worker_id"] not in gone_w for iv in new.interviews
    )
    removed = {(c["worker_id"], c["firm_id"]) for c in changes if c["change"] == "removed"}
    assert removed == {
        (i["worker_id"], i["firm_id"])
        for i in plan.interviews
        if i["firm_id"] in gone_f or i["worker_id"] in gone_w
    }
    assert not any(c["change"] == "moved" for c in changes)
    added = {(c["worker_id"], c["firm_id"]) for c in changes if c["change"] == "added"}
    assert added == set(where) - {(i["worker_id"], i["firm_id"]) for i in plan.interviews}
    assert {f["firm_id"] for f in new.firms} == set(firm_ids) - set(gone_f)


@settings(max_examples=30, deadline=None)
@given(
    edges=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 4)), max_size=40),
    n_slots=st.integers(1, 5),
    desks=st.integers(1, 2),
)
def test_colouring_schedules_everything_within_the_degree_bounds(edges, n_slots, desks):
    w = np.array([e[0] for e in edges], dtype=np.int64)
    f = np.array([e[1] for e in edges], dtype=np.int64)
    keep, per_w, per_f = [], {}, {}
    for i in range(len(edges)):
        if per_w.get(w[i], 0) < n_slots and per_f.get(f[i], 0) < n_slots * desks:
            keep.append(i)
            per_w[w[i]] = per_w.get(w[i], 0) + 1
            per_f[f[i]] = per_f.get(f[i], 0) + 1
    w, f = w[keep], f[keep]
    slot, desk = _colour(w, f, n_slots, desks)
    assert (slot >= 0).all()
    df = pd.DataFrame({"w": w, "f": f, "s": slot, "d": desk})
    assert not df.duplicated(["w", "s"]).any()
    assert not df.duplicated(["f", "d", "s"]).any()


def small():
    cands = pd.DataFrame(
        {
            "worker_id": [1, 1, 2, 2, 3, 4],
            "job_id": [11, 21, 11, 31, 21, 31],
            "score": [0.9, 0.6, 0.8, 0.3, 0.7, 0.2],
        }
    )
    jobs = pd.DataFrame(
        {
            "job_id": [11, 21, 31],
            "firm_id": [1, 2, 3],
            "headcount": [3, 3, 3],
            "hired_count": [0, 0, 0],
        }
    )
    workers = pd.DataFrame({"worker_id": [1, 2, 3, 4]})
    firms = pd.DataFrame({"firm_id": [1, 2, 3], "firm_name": ["苏州甲厂", "无锡乙厂", "常州丙厂"]})
    return cands, jobs, workers, firms


SLOTS = make_slots("2026-03-15", "09:00", "10:00", 20)


def test_firms_that_fit_best_get_the_booths():
    plan = plan_fair(*small(), booths=2, slots=SLOTS)
    assert [(f["firm_id"], f["booth"], f["firm_name"]) for f in plan.firms] == [
        (1, 1, "苏州甲厂"),
        (2, 2, "无锡乙厂"),
    ]
    assert plan.not_invited == []
    assert {i["worker_id"] for i in plan.invitations} == {1, 2, 3}  # 4 only fits firm 3
    best = {r["worker_id"]: r["job_id"] for r in plan.requests if r["rank"] == 1}
    assert best == {1: 11, 2: 11, 3: 21}
    plan = plan_fair(*small(), booths=3, slots=SLOTS, max_firms=1)
    assert [f["firm_id"] for f in plan.firms] == [1]


def test_one_desk_means_one_interview_per_booth_at_a_time():
    cands, jobs, workers, firms = small()
    plan = plan_fair(cands, jobs, workers, firms, booths=3, slots=SLOTS[:1])
    # One slot, one desk: a booth holds one interview. Firm 1 goes to worker 1 (best match),
    # worker 2 falls back to firm 3, which leaves no place for worker 4.
    per_booth = pd.DataFrame(plan.interviews).groupby(["booth", "slot"]).size()
    assert (per_booth == 1).all()
    assert {(i["worker_id"], i["firm_id"]) for i in plan.interviews} == {(1, 1), (2, 3), (3, 2)}
    assert plan.not_invited == [{"worker_id": 4, "why": REASON_FIRM_FULL}]
    assert plan.settings["interviews_per_worker"] == 1  # one slot: one interview each


def test_max_workers_caps_the_invitations_and_says_why():
    plan = plan_fair(*small(), booths=3, slots=SLOTS, max_workers=2)
    assert [i["worker_id"] for i in plan.invitations] == [1, 2]
    assert {n["worker_id"]: n["why"] for n in plan.not_invited} == {
        3: "邀请人数已达上限",
        4: "邀请人数已达上限",
    }


def test_plan_round_trips_through_json():
    plan = plan_fair(*small(), booths=3, slots=SLOTS)
    text = json.dumps(plan.to_dict(), ensure_ascii=False)
    back = FairPlan.from_dict(json.loads(text))
    assert back.interviews == plan.interviews
    assert back.slots == plan.slots
    assert back.firms == plan.firms


def test_replan_gives_a_lost_worker_a_replacement_and_lists_changes():
    plan = plan_fair(*small(), booths=3, slots=SLOTS, interviews_per_worker=1)
    assert {(r["worker_id"], r["firm_id"]) for r in plan.requests} >= {(1, 1)}
    new, changes = replan_fair(plan, cancelled_firms=[1], absent_workers=[4])
    kinds = {(c["change"], c["worker_id"], c["firm_id"], c["why"]) for c in changes}
    assert ("removed", 1, 1, REASON_FIRM_CANCELLED) in kinds
    assert ("removed", 4, 3, REASON_ABSENT) in kinds
    assert ("added", 1, 2, "空出名额后新增面试") in kinds  # worker 1's next best firm
    assert new.stats["cancelled_firms"] == [1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cancelled_firms": [99]}, r"firm\(s\) \[99\] are not at this fair"),
        ({"absent_workers": [99]}, r"worker\(s\) \[99\] are not invited"),
        ({"time_limit_s": 0}, "time_limit_s 0"),
    ],
)
def test_replan_refuses_unknown_ids(kwargs, message):
    plan = plan_fair(*small(), booths=3, slots=SLOTS)
    with pytest.raises(ValueError, match=message):
        replan_fair(plan, **kwargs)


def test_time_limit_without_a_solution_falls_back_to_the_colouring_and_says_so(monkeypatch):
    from ortools.sat.python import cp_model

    original = cp_model.CpSolver.solve

    def no_time(self, model, *args, **kwargs):
        self.parameters.max_time_in_seconds = 0.0  # the limit is hit before any solution
        self.parameters.num_workers = 1
        return original(self, model, *args, **kwargs)

    monkeypatch.setattr(cp_model.CpSolver, "solve", no_time)
    plan = plan_fair(*small(), booths=3, slots=SLOTS)
    assert plan.stats["status"] == "UNKNOWN"
    assert plan.stats["hit_time_limit"] is True
    assert plan.stats["note"] == NOTE_GREEDY
    assert plan.stats["gap"] is None
    assert len(plan.interviews) == len(plan.requests)
    assert_no_clash(plan)


# ------------------------------------------------------------------ make_slots and bad input


def test_make_slots_accepts_objects_and_drops_the_leftover():
    slots = make_slots(date(2026, 3, 15), time(9, 0), time(10, 10), 30)
    assert slots == [
        (datetime(2026, 3, 15, 9, 0), datetime(2026, 3, 15, 9, 30)),
        (datetime(2026, 3, 15, 9, 30), datetime(2026, 3, 15, 10, 0)),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("2026-03-15", "12:00", "09:00", 30), "ends at 09:00, which is not after its start"),
        (("2026-03-15", "09:00", "09:00", 30), "not after its start"),
        (("2026-03-15", "09:00", "10:00", 90), "90-minute slot is longer than the fair"),
        (("2026-03-15", "09:00", "10:00", 0), "slot_minutes 0"),
        (("2026-03-15", "09:00", "10:00", 2.5), "slot_minutes 2.5"),
        (("2026-02-30", "09:00", "10:00", 30), "fair date '2026-02-30'"),
        (("2026-03-15", "9点", "10:00", 30), "start_time '9点'"),
    ],
)
def test_make_slots_refuses_bad_times(args, message):
    with pytest.raises(ValueError, match=message):
        make_slots(*args)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c, j, w, f, kw: kw.update(booths=0), "booths 0"),
        (lambda c, j, w, f, kw: kw.update(slots=[]), "slots is empty"),
        (
            lambda c, j, w, f, kw: kw.update(slots=[(SLOTS[0][1], SLOTS[0][0])]),
            "slot 0 ends at 09:00, not after its start at 09:20",
        ),
        (lambda c, j, w, f, kw: kw.update(slots=[SLOTS[1], SLOTS[0]]), "must not overlap"),
        (lambda c, j, w, f, kw: kw.update(interviews_per_worker=0), "interviews_per_worker 0"),
        (lambda c, j, w, f, kw: kw.update(desks_per_booth=0), "desks_per_booth 0"),
        (lambda c, j, w, f, kw: kw.update(max_workers=0), "max_workers 0"),
        (lambda c, j, w, f, kw: kw.update(time_limit_s="20"), "time_limit_s '20'"),
        (lambda c, j, w, f, kw: kw.update(booths=True), "booths True"),
        (lambda c, j, w, f, kw: kw.update(workers=w.iloc[0:0]), "no registered workers"),
        (lambda c, j, w, f, kw: kw.update(jobs=j.iloc[0:0]), "jobs is empty"),
        (lambda c, j, w, f, kw: kw.update(jobs=j.assign(status="closed")), "no open jobs"),
        (lambda c, j, w, f, kw: kw.update(candidates=c.iloc[0:0]), "candidates is empty"),
        (lambda c, j, w, f, kw: kw.update(candidates=c.assign(job_id=77)), r"job\(s\) \[77\]"),
        (lambda c, j, w, f, kw: kw.update(firms=f.iloc[:1]), r"firm\(s\) \[2, 3\]"),
    ],
)
def test_plan_fair_refuses_bad_input(change, message):
    c, j, w, f = small()
    kw = {"candidates": c, "jobs": j, "workers": w, "firms": f, "booths": 3, "slots": SLOTS}
    change(c, j, w, f, kw)
    with pytest.raises(ValueError, match=message):
        plan_fair(**kw)


def test_module_exports():
    assert set(fairs.__all__) >= {"plan_fair", "replan_fair", "make_slots", "FairPlan"}


# ------------------------------------------------------------------ printable lists
# api/fair_lists.py is pure (no Flask/SQLAlchemy); its tests live here beside the planner
# they render.


def lists_inputs():
    cands, jobs, workers, firms = small()
    jobs = jobs.assign(
        title=["普工<包吃住>", "叉车司机", "=1+1"],
        certificates_required=[[], ["special_equipment.forklift"], []],
    )
    workers = workers.assign(
        name=["马<script>alert(1)</script>", "韩梅梅", "李四", "王五"],
        township=["巴燕镇", "巴燕镇", "甘都镇", "甘都镇"],
        village=["一村", "二村", "三村", "四村"],
        phone=["13800000001", "13800000002", "13800000003", "13800000004"],
        poverty_registered=[True, False, False, False],
    )
    firms = firms.assign(firm_name=["苏州甲厂", "无锡乙厂 & 子", "常州丙厂"])
    plan = plan_fair(cands, jobs, workers, firms, booths=3, slots=SLOTS)
    return plan, workers, firms, jobs


def test_lists_hold_every_interview_and_invitation():
    from api.fair_lists import LIST_NAMES, build_lists

    plan, workers, firms, jobs = lists_inputs()
    lists = build_lists(
        plan.to_dict(),
        workers,
        firms,
        jobs,
        certificate_names={"special_equipment.forklift": "叉车司机证"},
    )
    assert list(lists) == list(LIST_NAMES)
    assert lists["展位面试时间表"].shape[0] == len(plan.interviews)
    assert lists["求职者面试单"].shape[0] == len(plan.interviews)
    assert lists["邀约名单"]["姓名"].tolist() == [
        "马<script>alert(1)</script>",
        "韩梅梅",
        "李四",
        "王五",
    ]  # by township, then village
    slips = lists["求职者面试单"]
    forklift = slips.loc[slips["岗位"] == "叉车司机", "需携带材料"]
    assert len(forklift) and all("证书原件：叉车司机证" in m for m in forklift)
    first = lists["求职者面试单"].iloc[0]
    assert first["需携带材料"].startswith("身份证原件") and "建档立卡" in first["需携带材料"]


def test_xlsx_opens_with_a_sheet_per_list_and_no_formula():
    import io

    import openpyxl

    from api.fair_lists import LIST_NAMES, render_xlsx

    plan, workers, firms, jobs = lists_inputs()
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(plan, workers, firms, jobs)))
    assert book.sheetnames == list(LIST_NAMES)
    cells = [c for row in book["展位面试时间表"].iter_rows(min_row=3) for c in row]
    names = {c.value for c in cells}
    assert {"马<script>alert(1)</script>", "韩梅梅", "李四", "王五"} <= names
    formula = [c for c in cells if c.value == "=1+1"]
    assert formula and all(c.data_type == "s" for c in formula)
    assert int(book["邀约名单"].page_setup.paperSize) == 9  # A4 in the xlsx numbering


def test_csv_has_a_bom_a_list_column_and_defuses_formulas():
    import csv
    import io

    from api.fair_lists import render_csv

    plan, workers, firms, jobs = lists_inputs()
    data = render_csv(plan, workers, firms, jobs)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert {r["清单"] for r in rows} == {"企业展位表", "展位面试时间表", "求职者面试单", "邀约名单"}
    assert "'=1+1" in {r["应聘岗位"] for r in rows}
    one = render_csv(plan, workers, firms, jobs, which="邀约名单").decode("utf-8-sig")
    assert one.splitlines()[0] == "乡镇,村,姓名,联系电话,面试场数,首场时间,备注"
    with pytest.raises(ValueError, match="which '名单' is not a list"):
        render_csv(plan, workers, firms, jobs, which="名单")


def test_html_is_chinese_a4_with_page_breaks_and_escapes_user_text():
    from api.fair_lists import render_html

    plan, workers, firms, jobs = lists_inputs()
    page = render_html(plan, workers, firms, jobs, title="化隆县<专场>", venue="群科新区")
    assert page.startswith("<!DOCTYPE html>") and 'lang="zh-CN"' in page
    assert "size: A4" in page and "break-after: page" in page
    assert "<script>alert" not in page
    assert "马&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "化隆县&lt;专场&gt;" in page and "无锡乙厂 &amp; 子" in page
    for name in ("韩梅梅", "李四", "王五"):
        assert name in page
    # one page per booth timetable
    assert page.count(f"<h2>{'展位面试时间表'}　") == len(plan.firms)


def test_lists_refuse_a_plan_naming_unknown_people():
    from api.fair_lists import render_html

    plan, workers, firms, jobs = lists_inputs()
    with pytest.raises(ValueError, match=r"worker\(s\) \[4\] that are not in the workers"):
        render_html(plan, workers.iloc[:3], firms, jobs)


@pytest.mark.parametrize("path", ["matcher/fairs.py", "matcher/allocation.py", "api/fair_lists.py"])
def test_engine_side_modules_import_no_web_or_database_library(path):
    import ast
    from pathlib import Path

    tree = ast.parse((Path(__file__).resolve().parents[2] / path).read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    assert not names & {"flask", "sqlalchemy", "werkzeug"}, names
