from __future__ import annotations

import heapq
import itertools
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.allocation import (
    REASON_FIRM_CAP,
    REASON_GROUP_NO_CITY,
    REASON_GROUP_SPLIT,
    REASON_JOBS_CLOSED,
    REASON_NO_CANDIDATE,
    REASON_TAKEN,
    allocate,
    blocking_pairs,
)

CITIES = ["苏州市", "无锡市", "南京市"]


def tables(cands, jobs, workers):
    c = pd.DataFrame(cands, columns=["worker_id", "job_id", "score"])
    j = pd.DataFrame(jobs, columns=["job_id", "firm_id", "headcount", "hired_count", "city"])
    w = pd.DataFrame(workers, columns=["worker_id", "poverty_registered", "group_id"])
    return c, j, w


@st.composite
def instances(draw, max_workers=9, max_jobs=6):
    n_w = draw(st.integers(1, max_workers))
    n_j = draw(st.integers(1, max_jobs))
    jobs = []
    for jid in range(1, n_j + 1):
        head = draw(st.integers(1, 3))
        jobs.append(
            (
                100 + jid,
                draw(st.integers(1, 3)),
                head,
                draw(st.integers(0, head)),
                draw(st.sampled_from(CITIES)),
            )
        )
    if all(h == hc for _, _, h, hc, _ in jobs):
        j0 = jobs[0]
        jobs[0] = (j0[0], j0[1], j0[2], 0, j0[4])
    workers = [
        (wid, draw(st.booleans()), draw(st.sampled_from(["", "", "", "a", "b"])))
        for wid in range(1, n_w + 1)
    ]
    pairs = draw(
        st.lists(
            st.tuples(st.integers(1, n_w), st.integers(101, 100 + n_j)),
            min_size=1,
            max_size=n_w * n_j,
            unique=True,
        )
    )
    # coarse scores make ties common, which is where tie-breaking bugs hide
    cands = [(w, j, draw(st.sampled_from([0.0, 0.2, 0.5, 0.5, 0.8, 1.0]))) for w, j in pairs]
    return tables(cands, jobs, workers)


def assert_feasible(result, c, j, w):
    a = pd.DataFrame(result.assignments, columns=["worker_id", "job_id", "score"])
    assert not a["worker_id"].duplicated().any()
    places = (j["headcount"] - j["hired_count"]).set_axis(j["job_id"])
    for job, n in a["job_id"].value_counts().items():
        assert n <= places[job]
    pairs = set(zip(c["worker_id"], c["job_id"], strict=True))
    assert all((r["worker_id"], r["job_id"]) in pairs for r in result.assignments)
    unassigned = [u["worker_id"] for u in result.unassigned]
    assert sorted(unassigned + a["worker_id"].tolist()) == sorted(w["worker_id"])
    assert all(u["why"] for u in result.unassigned)


settings.register_profile(
    "alloc", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@settings(settings.get_profile("alloc"))
@given(
    inst=instances(),
    mode=st.sampled_from(["welfare", "stable"]),
    prio=st.sampled_from([0.0, 0.3]),
    cap=st.sampled_from([None, 1, 2]),
    groups=st.booleans(),
)
def test_never_over_headcount_never_twice_only_candidates(inst, mode, prio, cap, groups):
    c, j, w = inst
    r = allocate(c, j, w, mode=mode, poverty_priority=prio, max_per_firm=cap, keep_groups=groups)
    assert_feasible(r, c, j, w)
    if cap is not None:
        firm = j.set_index("job_id")["firm_id"]
        per_firm = pd.Series([firm[a["job_id"]] for a in r.assignments]).value_counts()
        assert (per_firm <= cap).all()


@settings(settings.get_profile("alloc"))
@given(inst=instances(), prio=st.sampled_from([0.0, 0.3]), cap=st.sampled_from([None, 1, 2]))
def test_stable_mode_has_no_blocking_pair(inst, prio, cap):
    c, j, w = inst
    r = allocate(c, j, w, mode="stable", poverty_priority=prio, max_per_firm=cap)
    assert blocking_pairs(r, c, j, w, poverty_priority=prio, max_per_firm=cap) == []


def brute_force_best(c, j, w, prio):
    """Best total weight over all matchings of a tiny instance."""
    places = dict(zip(j["job_id"], j["headcount"] - j["hired_count"], strict=True))
    pov = dict(zip(w["worker_id"], w["poverty_registered"], strict=True))
    options = {wid: [(None, 0.0)] for wid in w["worker_id"]}
    for wid, jid, s in c.itertuples(index=False):
        options[wid].append((jid, s + prio * pov[wid]))
    best = 0.0
    for combo in itertools.product(*options.values()):
        used: dict = {}
        for jid, _ in combo:
            if jid is not None:
                used[jid] = used.get(jid, 0) + 1
        if all(n <= places[jid] for jid, n in used.items()):
            best = max(best, sum(v for _, v in combo))
    return best


@settings(max_examples=30, deadline=None)
@given(inst=instances(max_workers=5, max_jobs=3), prio=st.sampled_from([0.0, 0.3]))
def test_welfare_is_optimal_against_brute_force(inst, prio):
    c, j, w = inst
    r = allocate(c, j, w, mode="welfare", poverty_priority=prio)
    assert r.stats["objective"] == pytest.approx(brute_force_best(c, j, w, prio), abs=1e-4)


@settings(settings.get_profile("alloc"))
@given(inst=instances())
def test_welfare_leaves_nobody_out_while_a_candidate_job_has_room(inst):
    c, j, w = inst
    r = allocate(c, j, w, mode="welfare")
    places = (j["headcount"] - j["hired_count"]).set_axis(j["job_id"])
    used = pd.Series([a["job_id"] for a in r.assignments]).value_counts()
    left = {u["worker_id"] for u in r.unassigned}
    for wid, jid, _ in c.itertuples(index=False):
        if wid in left:
            assert used.get(jid, 0) >= places[jid]


@settings(settings.get_profile("alloc"))
@given(inst=instances())
def test_keep_groups_places_a_group_in_one_city_or_not_at_all(inst):
    c, j, w = inst
    for mode in ("welfare", "stable"):
        r = allocate(c, j, w, mode=mode, keep_groups=True)
        city = j.set_index("job_id")["city"]
        placed = {a["worker_id"]: city[a["job_id"]] for a in r.assignments}
        for gid, members in w[w["group_id"] != ""].groupby("group_id")["worker_id"]:
            got = [placed[m] for m in members if m in placed]
            assert got == [] or (len(got) == len(members) and len(set(got)) == 1), gid
        why = {u["worker_id"]: u["why"] for u in r.unassigned}
        for wid in w.loc[w["group_id"] != "", "worker_id"]:
            if wid in why:
                # the whole group is out: for want of places or because of the group rule
                assert why[wid] in (
                    REASON_NO_CANDIDATE,
                    REASON_JOBS_CLOSED,
                    REASON_TAKEN,
                    REASON_GROUP_NO_CITY,
                    REASON_GROUP_SPLIT,
                )


def test_stable_matches_the_textbook_worker_optimal_outcome():
    # Workers 1, 2 both prefer job A (101); A prefers worker 2; one place each.
    c, j, w = tables(
        [(1, 101, 0.9), (1, 102, 0.5), (2, 101, 0.95), (2, 102, 0.4)],
        [(101, 1, 1, 0, "苏州市"), (102, 2, 1, 0, "苏州市")],
        [(1, False, ""), (2, False, "")],
    )
    r = allocate(c, j, w, mode="stable")
    assert {(a["worker_id"], a["job_id"]) for a in r.assignments} == {(2, 101), (1, 102)}
    assert r.stats["status"] == "STABLE"


def test_ties_on_the_job_side_go_to_the_smaller_worker_id():
    c, j, w = tables(
        [(7, 101, 0.5), (3, 101, 0.5)],
        [(101, 1, 1, 0, "苏州市")],
        [(3, False, ""), (7, False, "")],
    )
    r = allocate(c, j, w, mode="stable")
    assert [a["worker_id"] for a in r.assignments] == [3]


def test_poverty_priority_changes_who_gets_the_last_place():
    c, j, w = tables(
        [(1, 101, 0.7), (2, 101, 0.6)],
        [(101, 1, 1, 0, "苏州市")],
        [(1, False, ""), (2, True, "")],
    )
    for mode in ("welfare", "stable"):
        assert allocate(c, j, w, mode=mode).assignments[0]["worker_id"] == 1
        r = allocate(c, j, w, mode=mode, poverty_priority=0.2)
        assert r.assignments[0]["worker_id"] == 2
        assert r.assignments[0]["score"] == 0.6  # the raw score, not the bonus
        assert r.stats["n_poverty_assigned"] == 1


def test_reasons_for_the_left_out():
    c, j, w = tables(
        [(1, 101, 0.9), (2, 101, 0.5), (3, 102, 0.8)],
        [(101, 1, 1, 0, "苏州市"), (102, 1, 2, 2, "苏州市")],
        [(1, False, ""), (2, False, ""), (3, False, ""), (4, False, "")],
    )
    r = allocate(c, j, w)
    why = {u["worker_id"]: u["why"] for u in r.unassigned}
    assert why == {2: REASON_TAKEN, 3: REASON_JOBS_CLOSED, 4: REASON_NO_CANDIDATE}
    assert REASON_NO_CANDIDATE == "无可匹配岗位"


def test_firm_cap_is_named_as_the_reason():
    c, j, w = tables(
        [(1, 101, 0.9), (2, 102, 0.5)],
        [(101, 1, 1, 0, "苏州市"), (102, 1, 1, 0, "苏州市")],
        [(1, False, ""), (2, False, "")],
    )
    for mode in ("welfare", "stable"):
        r = allocate(c, j, w, mode=mode, max_per_firm=1)
        assert r.assignments[0]["worker_id"] == 1
        assert r.unassigned == [{"worker_id": 2, "why": REASON_FIRM_CAP}]


def test_group_goes_to_the_city_where_all_fit_and_split_groups_are_left_out_together():
    c, j, w = tables(
        [(1, 101, 0.9), (1, 102, 0.6), (2, 102, 0.7), (3, 103, 0.8), (4, 103, 0.9)],
        [(101, 1, 1, 0, "苏州市"), (102, 2, 2, 0, "无锡市"), (103, 3, 1, 0, "南京市")],
        [(1, False, "fam"), (2, False, "fam"), (3, False, "vil"), (4, False, "vil")],
    )
    r = allocate(c, j, w, keep_groups=True)
    got = {(a["worker_id"], a["job_id"]) for a in r.assignments}
    # family 'fam' both to 无锡 (worker 1 gives up 苏州); 'vil' cannot both fit in job 103
    assert got == {(1, 102), (2, 102)}
    why = {u["worker_id"]: u["why"] for u in r.unassigned}
    assert why == {3: REASON_GROUP_SPLIT, 4: REASON_GROUP_SPLIT}
    assert r.stats["groups_split_left_out"] == 1
    r = allocate(c, j, w, keep_groups=False)
    assert (1, 101) in {(a["worker_id"], a["job_id"]) for a in r.assignments}


def test_group_without_a_common_city_is_named():
    c, j, w = tables(
        [(1, 101, 0.9), (2, 102, 0.7)],
        [(101, 1, 1, 0, "苏州市"), (102, 2, 1, 0, "无锡市")],
        [(1, False, "fam"), (2, False, "fam")],
    )
    r = allocate(c, j, w, mode="stable", keep_groups=True)
    assert r.assignments == []
    assert {u["why"] for u in r.unassigned} == {REASON_GROUP_NO_CITY}


def test_extra_candidate_columns_follow_the_assignment():
    c, j, w = tables([(1, 101, 0.9)], [(101, 1, 1, 0, "苏州市")], [(1, False, "")])
    c["reasons"] = [["持有叉车证"]]
    r = allocate(c, j, w)
    assert r.assignments == [
        {"worker_id": 1, "job_id": 101, "score": 0.9, "reasons": ["持有叉车证"]}
    ]
    assert set(r.to_dict()) == {"assignments", "unassigned", "stats"}
    for mode in ("welfare", "stable"):
        out = allocate(c, j, w, mode=mode, max_per_firm=np.int64(2), keep_groups=True)
        json.dumps(out.to_dict(), ensure_ascii=False)  # plain Python types only


def test_closed_jobs_have_no_places():
    c, j, w = tables(
        [(1, 101, 0.9), (1, 102, 0.2)],
        [(101, 1, 1, 0, "苏州市"), (102, 1, 1, 0, "苏州市")],
        [(1, False, "")],
    )
    j["status"] = ["closed", "open"]
    assert allocate(c, j, w).assignments[0]["job_id"] == 102


def test_larger_random_instance_is_feasible_and_stable():
    rng = np.random.default_rng(3)
    n_w, n_j = 400, 60
    c = pd.DataFrame(
        {
            "worker_id": np.repeat(np.arange(n_w), 8),
            "job_id": np.concatenate([rng.choice(n_j, 8, replace=False) for _ in range(n_w)]),
            "score": rng.random(n_w * 8).round(3),
        }
    )
    j = pd.DataFrame(
        {
            "job_id": np.arange(n_j),
            "firm_id": np.arange(n_j) % 7,
            "headcount": rng.integers(1, 6, n_j),
            "hired_count": 0,
            "city": "苏州市",
        }
    )
    w = pd.DataFrame({"worker_id": np.arange(n_w), "poverty_registered": rng.random(n_w) < 0.4})
    for cap in (None, 12):
        r = allocate(c, j, w, mode="stable", poverty_priority=0.1, max_per_firm=cap)
        assert blocking_pairs(r, c, j, w, poverty_priority=0.1, max_per_firm=cap) == []
        welfare = allocate(c, j, w, mode="welfare", poverty_priority=0.1, max_per_firm=cap)
        assert welfare.stats["objective"] >= r.stats["objective"] - 1e-9


# ------------------------------------------------------------------ bad input


def good():
    return tables([(1, 101, 0.9)], [(101, 1, 1, 0, "苏州市")], [(1, False, "")])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c, j, w: (c.iloc[0:0], j, w), "candidates is empty"),
        (lambda c, j, w: (c, j.assign(hired_count=1), w), "no open jobs"),
        (lambda c, j, w: (c, j.assign(status="filled"), w), "no open jobs"),
        (lambda c, j, w: (c.assign(job_id=999), j, w), r"job\(s\) \[999\]"),
        (lambda c, j, w: (c.assign(worker_id=42), j, w), r"worker\(s\) \[42\]"),
        (lambda c, j, w: (c.assign(score=1.5), j, w), "score 1.5"),
        (lambda c, j, w: (c.assign(score=np.nan), j, w), "score nan"),
        (lambda c, j, w: (pd.concat([c, c]), j, w), "more than once"),
        (lambda c, j, w: (c.drop(columns="score"), j, w), r"lacks the column\(s\) \['score'\]"),
        (lambda c, j, w: (c, j.assign(headcount=-1), w), "headcount=-1"),
        (lambda c, j, w: (c, pd.concat([j, j]), w), r"repeats the id\(s\) \[101\]"),
        (lambda c, j, w: (c, j, w.iloc[0:0]), "workers is empty"),
    ],
)
def test_bad_input_is_refused_with_a_sentence(change, message):
    c, j, w = change(*good())
    with pytest.raises(ValueError, match=message):
        allocate(c, j, w)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "fair"}, "mode 'fair' is not supported"),
        ({"poverty_priority": -1}, "poverty_priority -1"),
        ({"max_per_firm": 0}, "max_per_firm 0"),
        ({"max_per_firm": 1.5}, "max_per_firm 1.5"),
        ({"max_per_firm": "3"}, "max_per_firm '3'"),
        ({"poverty_priority": "high"}, "poverty_priority 'high'"),
        ({"time_limit_s": 0}, "time_limit_s 0"),
    ],
)
def test_bad_options_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        allocate(*good(), **kwargs)


@settings(settings.get_profile("alloc"))
@given(inst=instances(), prio=st.sampled_from([0.0, 0.3]), cap=st.sampled_from([None, 1, 2]))
def test_round_based_deferred_acceptance_equals_one_proposal_at_a_time(inst, prio, cap):
    from matcher.allocation import _solve_stable

    c, j, w = inst
    wid, jid = w["worker_id"].to_numpy(), j["job_id"].to_numpy()
    wi = pd.Index(wid).get_indexer(c["worker_id"])
    ji = pd.Index(jid).get_indexer(c["job_id"])
    score = c["score"].to_numpy(dtype=float)
    weight = score + prio * w["poverty_registered"].to_numpy()[wi]
    places = (j["headcount"] - j["hired_count"]).to_numpy()
    args = (wi, ji, score, weight, wid, jid, len(w), places, j["firm_id"].to_numpy(), cap)
    batch, _ = _solve_stable(*args)
    one_by_one, _ = solve_stable_sequential(*args)
    assert (batch == one_by_one).all()


def test_time_limit_between_group_rounds_leaves_split_groups_out_and_says_so():
    c, j, w = tables(
        [(1, 101, 0.9), (2, 101, 0.8), (3, 101, 0.1)],
        [(101, 1, 1, 0, "苏州市")],
        [(1, False, "fam"), (2, False, "fam"), (3, False, "")],
    )
    r = allocate(c, j, w, keep_groups=True, time_limit_s=1e-9)
    assert r.stats["status"] == "TIME_LIMIT"
    assert r.assignments == []  # the place 'fam' split over is not re-solved for worker 3
    why = {u["worker_id"]: u["why"] for u in r.unassigned}
    assert why[1] == why[2] == REASON_GROUP_SPLIT
    r = allocate(c, j, w, keep_groups=True)
    assert r.stats["status"] == "OPTIMAL" and r.assignments[0]["worker_id"] == 3


def test_stable_equals_the_matching_library_resident_optimal_solution():
    matching = pytest.importorskip("matching.games")
    rng = np.random.default_rng(11)
    n_w, n_j = 60, 12
    rows = [
        (wid, jid, round(float(rng.random()), 2))
        for wid in range(1, n_w + 1)
        for jid in rng.choice(np.arange(101, 101 + n_j), 5, replace=False).tolist()
    ]
    c = pd.DataFrame(rows, columns=["worker_id", "job_id", "score"])
    j = pd.DataFrame(
        {
            "job_id": np.arange(101, 101 + n_j),
            "firm_id": 1,
            "headcount": rng.integers(1, 5, n_j),
            "hired_count": 0,
        }
    )
    w = pd.DataFrame({"worker_id": np.arange(1, n_w + 1)})
    ours = {a["worker_id"]: a["job_id"] for a in allocate(c, j, w, mode="stable").assignments}
    by_w = c.sort_values(["worker_id", "score", "job_id"], ascending=[True, False, True])
    by_j = c.sort_values(["job_id", "score", "worker_id"], ascending=[True, False, True])
    game = matching.HospitalResident.create_from_dictionaries(
        by_w.groupby("worker_id")["job_id"].agg(list).to_dict(),
        by_j.groupby("job_id")["worker_id"].agg(list).to_dict(),
        dict(zip(j["job_id"], j["headcount"], strict=True)),
    )
    theirs = {r.name: h.name for h, rs in game.solve(optimal="resident").items() for r in rs}
    assert ours == theirs


# The slow, obvious reference solver (kept out of the engine).
def solve_stable_sequential(
    w: np.ndarray,
    j: np.ndarray,
    score: np.ndarray,
    weight: np.ndarray,
    worker_ids: np.ndarray,
    job_ids: np.ndarray,
    n_workers: int,
    places: np.ndarray,
    firm_of_job: np.ndarray | None,
    max_per_firm: int | None,
) -> tuple[np.ndarray, str]:
    """One proposal at a time (McVitie–Wilson) with heaps: the reference that
    ``matcher.allocation._solve_stable`` (round-based, numpy) must agree with, since deferred
    acceptance does not depend on the order of proposals. Returns a mask of the matched arcs.
    """
    n_arcs = len(w)
    # A worker's list: best score first, ties by smaller job_id.
    order = np.lexsort((job_ids[j], -score, w))
    counts = np.bincount(w, minlength=n_workers)
    end = np.cumsum(counts)
    start = end - counts
    arc_job = j[order].tolist()
    # The job's view of an application: higher weight is better, ties -> smaller worker_id.
    # A heap keeps the *worst* held application on top: (weight, -worker_id).
    arc_key = weight[order].tolist()
    neg_wid = (
        (-worker_ids.astype(np.float64)).tolist()
        if worker_ids.dtype.kind == "f"
        else [-x for x in worker_ids.tolist()]
    )
    ptr = start.tolist()
    end_l = end.tolist()
    cap = places.tolist()
    held = [-1] * n_workers  # position in `order` of the held arc
    job_heap: list[list[tuple]] = [[] for _ in range(len(places))]
    job_count = [0] * len(places)
    use_firm = max_per_firm is not None
    if use_firm:
        _, firm_idx = np.unique(firm_of_job, return_inverse=True)
        firm_of = firm_idx.tolist()
        firm_heap: list[list[tuple]] = [[] for _ in range(int(firm_idx.max()) + 1)]
        firm_count = [0] * len(firm_heap)
    heappush, heappop = heapq.heappush, heapq.heappop

    free = [x for x in range(n_workers - 1, -1, -1) if counts[x] > 0]
    while free:
        x = free.pop()
        while ptr[x] < end_l[x]:
            a = ptr[x]
            ptr[x] = a + 1
            jj = arc_job[a]
            entry = (arc_key[a], neg_wid[x], x, a)
            heappush(job_heap[jj], entry)
            held[x] = a
            job_count[jj] += 1
            if use_firm:
                f = firm_of[jj]
                heappush(firm_heap[f], entry)
                firm_count[f] += 1
            rejected = -1
            if job_count[jj] > cap[jj]:
                h = job_heap[jj]
                while True:
                    _, _, r, ra = heappop(h)
                    if held[r] == ra:
                        break
                held[r] = -1
                job_count[jj] -= 1
                if use_firm:
                    firm_count[firm_of[jj]] -= 1
                rejected = r
            elif use_firm and firm_count[firm_of[jj]] > max_per_firm:
                h = firm_heap[firm_of[jj]]
                while True:
                    _, _, r, ra = heappop(h)
                    if held[r] == ra:
                        break
                held[r] = -1
                job_count[arc_job[ra]] -= 1
                firm_count[firm_of[jj]] -= 1
                rejected = r
            if rejected == x:
                continue  # x was the weakest applicant: try the next job on x's list
            if rejected >= 0:
                free.append(rejected)
            break
    held_arr = np.asarray(held, dtype=np.int64)
    used = np.zeros(n_arcs, dtype=bool)
    used[order[held_arr[held_arr >= 0]]] = True
    return used, "STABLE"
