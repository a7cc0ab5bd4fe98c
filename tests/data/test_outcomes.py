"""The outcome model: funnel logic, hard rules, and effects in the documented direction."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data.demo import generate_world
from data.outcomes import (
    OutcomeModel,
    age_on,
    hard_rules_ok,
    historical_pairs,
    simulate_outcomes,
    true_pair_utility,
)
from data.schema import EDUCATION_LEVELS, OUTCOME_COLUMNS, OUTCOME_STAGES

FUNNEL = ("recommended", "applied", "interviewed", "hired", "retained_3m", "retained_6m")
#: A model under which every step succeeds unless a hard rule forbids it.
EAGER = OutcomeModel(
    apply_intercept=30,
    interview_intercept=30,
    hire_intercept=30,
    retain3_intercept=30,
    retain6_intercept=30,
    noise_sd=0.0,
)


@pytest.fixture(scope="module")
def world():
    return generate_world(3000, 600, seed=11)


@pytest.fixture(scope="module")
def pairs(world):
    return historical_pairs(world, seed=11)


@pytest.fixture(scope="module")
def events(world, pairs):
    return simulate_outcomes(world, pairs, seed=11)


@pytest.fixture(scope="module")
def random_pairs(world):
    rng = np.random.default_rng(0)
    n = 40_000
    return pd.DataFrame(
        {
            "worker_id": world.workers["worker_id"].to_numpy()[
                rng.integers(0, len(world.workers), n)
            ],
            "job_id": world.jobs["job_id"].to_numpy()[rng.integers(0, len(world.jobs), n)],
        }
    ).drop_duplicates(ignore_index=True)


def _stages(events: pd.DataFrame) -> pd.DataFrame:
    """One row per pair, one boolean column per stage."""
    bit = events["stage"].map({st_: 1 << i for i, st_ in enumerate(OUTCOME_STAGES)})
    assert bit.notna().all(), "unknown stage"
    mask = bit.groupby([events["worker_id"], events["job_id"]]).sum().to_numpy()
    return pd.DataFrame({st_: (mask >> i) & 1 == 1 for i, st_ in enumerate(OUTCOME_STAGES)})


def _reached(events: pd.DataFrame, pairs: pd.DataFrame, stage: str) -> np.ndarray:
    hit = events.loc[events["stage"] == stage, ["worker_id", "job_id"]].assign(_hit=True)
    return (
        pairs.merge(hit, on=["worker_id", "job_id"], how="left")["_hit"]
        .fillna(False)
        .to_numpy(bool)
    )


def _independent_hard_rules(world, hires: pd.DataFrame) -> pd.Series:
    """Hard rules recomputed from the frames alone (not with the code under test)."""
    implies = {
        "driving.A2": {"driving.B2", "driving.C1"},
        "driving.B2": {"driving.C1"},
        "driving.A1": {"driving.B1", "driving.C1"},
        "driving.B1": {"driving.C1"},
    }
    m = hires.merge(world.workers, on="worker_id").merge(world.jobs, on="job_id")
    ok = []
    for r in m.itertuples(index=False):
        b, d = r.birth_date, r.date
        age = d.year - b.year - ((d.month, d.day) < (b.month, b.day))
        held = set(r.certificates)
        for c in list(held):
            held |= implies.get(c, set())
        ok.append(
            r.age_min <= age <= r.age_max
            and (
                r.education_min is None
                or EDUCATION_LEVELS[r.education] >= EDUCATION_LEVELS[r.education_min]
            )
            and set(r.certificates_required) <= held
            and (r.halal_canteen or not r.needs_halal)
            and (r.dormitory or not r.needs_dormitory)
        )
    return pd.Series(ok, dtype=bool)


def test_events_have_the_schema_columns_and_one_recommendation_per_pair(events, pairs):
    assert list(events.columns) == list(OUTCOME_COLUMNS)
    assert set(events["stage"]) == set(OUTCOME_STAGES)
    rec = events[events["stage"] == "recommended"]
    assert len(rec) == len(pairs)
    assert not rec.duplicated(["worker_id", "job_id"]).any()
    assert all(isinstance(d, dt.date) for d in events["date"].head(100))


def test_the_funnel_is_logical(events):
    s = _stages(events)
    assert s["recommended"].all()
    for earlier, later in zip(FUNNEL, FUNNEL[1:], strict=False):
        assert not (s[later] & ~s[earlier]).any(), f"{later} without {earlier}"
    assert not (s["left"] & ~s["hired"]).any()
    assert not (s["left"] & s["retained_6m"]).any()
    assert (s["hired"] == (s["retained_6m"] | s["left"])).all()  # every hire ends one way
    assert 0 < s["applied"].mean() < 0.9 and 0 < s["hired"].mean() < s["applied"].mean()


def test_dates_increase_along_each_pairs_funnel(events, world):
    order = {s: i for i, s in enumerate(OUTCOME_STAGES)}
    e = events.assign(rank=events["stage"].map(order)).sort_values(["worker_id", "job_id", "rank"])
    d = pd.to_datetime(e["date"])
    same_pair = (e["worker_id"].eq(e["worker_id"].shift())) & (e["job_id"].eq(e["job_id"].shift()))
    assert (d.diff()[same_pair] > pd.Timedelta(0)).all()
    assert max(events["date"]) <= world.as_of  # default start: all outcomes observed


def test_no_hire_ever_breaks_a_hard_rule(world, events):
    hires = events[events["stage"] == "hired"]
    assert len(hires) > 100
    assert _independent_hard_rules(world, hires.reset_index(drop=True)).all()


def test_hard_rules_block_hires_even_when_everyone_is_eager(world, random_pairs):
    sample = random_pairs.head(8000)
    ev = simulate_outcomes(world, sample, model=EAGER, seed=3)
    hired = _reached(ev, sample, "hired")
    ok = hard_rules_ok(world, sample["worker_id"], sample["job_id"])
    assert (~ok).sum() > 1000 and ok.sum() > 500  # both kinds are present
    # the rules are taken on the hire date, up to 400 days before as_of: a birthday in
    # between can move a worker across an age limit, nothing else can
    assert hired[~ok].mean() < 0.03 and hired[ok].mean() > 0.95
    hires = ev[ev["stage"] == "hired"].reset_index(drop=True)
    assert _independent_hard_rules(world, hires).all()


@pytest.mark.parametrize("rule", ["halal", "dormitory", "certificate", "education", "age"])
def test_each_hard_rule_alone_blocks_a_hire(world, rule):
    w, j = world.workers, world.jobs
    if rule == "halal":
        ws, js = w[w["needs_halal"]], j[~j["halal_canteen"]]
    elif rule == "dormitory":
        ws, js = w[w["needs_dormitory"]], j[~j["dormitory"]]
    elif rule == "certificate":
        ws = w[w["certificates"].map(len) == 0]
        js = j[j["certificates_required"].map(lambda c: "special_equipment.forklift" in c)]
    elif rule == "education":
        ws, js = w[w["education"] == "小学"], j[j["education_min"].isin(["初中", "高中"])]
    else:
        old = np.array([(world.as_of - b).days > 365.25 * 57 for b in w["birth_date"]])
        ws, js = w[old], j[j["age_max"] <= 50]
    assert len(ws) and len(js)
    pairs = pd.DataFrame(
        {
            "worker_id": np.resize(ws["worker_id"].to_numpy(), 300),
            "job_id": np.resize(js["job_id"].to_numpy(), 300),
        }
    ).drop_duplicates()
    ev = simulate_outcomes(world, pairs, model=EAGER, seed=1)
    assert (ev["stage"] == "applied").sum() == len(pairs)  # they were keen…
    assert not (ev["stage"] == "hired").any()  # …and still could not be hired


def test_skill_fit_retains_more(world, events, pairs):
    truth = world.truth.set_index("worker_id")["true_occupation_code"]
    jtruth = world.job_truth.set_index("job_id")["true_occupation_code"]
    hired = events.loc[events["stage"] == "hired", ["worker_id", "job_id"]].reset_index(drop=True)
    fit = truth.loc[hired["worker_id"]].to_numpy() == jtruth.loc[hired["job_id"]].to_numpy()
    kept = _reached(events, hired, "retained_6m")
    assert fit.sum() > 100 and (~fit).sum() > 100
    assert kept[fit].mean() > kept[~fit].mean() + 0.05


def test_outcomes_follow_the_documented_directions(world, random_pairs):
    ev = simulate_outcomes(world, random_pairs, seed=5)
    p = random_pairs.merge(world.workers, on="worker_id").merge(world.jobs, on="job_id")
    p = p.merge(world.truth, on="worker_id")
    applied = _reached(ev, p, "applied")
    hired = _reached(ev, p, "hired")
    kept = _reached(ev, p, "retained_6m")
    # wage above the worker's floor attracts applications
    floor = p["min_wage"] > 0
    above = ((p["wage_min"] + p["wage_max"]) / 2 >= p["min_wage"] + 1000) & floor
    below = ((p["wage_min"] + p["wage_max"]) / 2 < p["min_wage"] - 500) & floor
    assert applied[above].mean() > applied[below].mean() + 0.1
    # a worker who needs a dormitory rarely applies where there is none
    no_dorm = p["needs_dormitory"] & ~p["dormitory"]
    assert applied[no_dorm].mean() < applied[~no_dorm].mean() - 0.1
    # reliable workers stay longer once hired
    reliable = p["reliability"] > 0.5
    flaky = p["reliability"] < -0.5
    assert kept[hired & reliable].mean() > kept[hired & flaky].mean() + 0.05
    # the expected utility agrees with the simulation
    u = true_pair_utility(world, p["worker_id"], p["job_id"])
    assert np.corrcoef(u, kept)[0, 1] > 0.2


def test_paired_city_and_distance_raise_retention(world, random_pairs):
    base = OutcomeModel()
    worse = dataclasses.replace(base, retain_paired_city=0.0, retain_distance_per_1000km=-2.0)
    u_base = true_pair_utility(world, random_pairs["worker_id"], random_pairs["job_id"], base)
    u_worse = true_pair_utility(world, random_pairs["worker_id"], random_pairs["job_id"], worse)
    feasible = u_base > 0
    assert (u_worse[feasible] < u_base[feasible]).all()


def test_true_utility_is_zero_exactly_where_a_hard_rule_breaks(world, random_pairs):
    w, j = random_pairs["worker_id"], random_pairs["job_id"]
    u = true_pair_utility(world, w, j)
    ok = hard_rules_ok(world, w, j)
    assert ((u >= 0) & (u <= 1)).all()
    assert (u[~ok] == 0).all() and (u[ok] > 0).all()
    truth = world.truth.set_index("worker_id")["true_occupation_code"]
    jtruth = world.job_truth.set_index("job_id")["true_occupation_code"]
    fit = truth.loc[w].to_numpy() == jtruth.loc[j].to_numpy()
    assert u[ok & fit].mean() > 1.5 * u[ok & ~fit].mean()


def test_simulation_is_deterministic_by_seed(world, pairs):
    a = simulate_outcomes(world, pairs.head(2000), seed=4)
    b = simulate_outcomes(world, pairs.head(2000), seed=4)
    c = simulate_outcomes(world, pairs.head(2000), seed=5)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_start_date_places_the_recommendations(world, pairs):
    start = dt.date(2024, 3, 1)
    ev = simulate_outcomes(
        world,
        pairs.head(500),
        seed=1,
        start_date=start,
        model=OutcomeModel(recommend_spread_days=30),
    )
    rec = ev.loc[ev["stage"] == "recommended", "date"]
    assert rec.min() >= start and rec.max() <= start + dt.timedelta(days=30)


def test_historical_pairs_look_like_a_clerks_choice(world, pairs, random_pairs):
    assert not pairs.duplicated().any()
    assert pairs.groupby("worker_id").size().max() <= 3
    assert pairs["worker_id"].nunique() == len(world.workers)
    status = world.jobs.set_index("job_id")["status"]
    assert (status.loc[pairs["job_id"]] == "open").mean() > 0.85
    ok_hist = hard_rules_ok(world, pairs["worker_id"], pairs["job_id"]).mean()
    ok_rand = hard_rules_ok(world, random_pairs["worker_id"], random_pairs["job_id"]).mean()
    assert ok_hist > ok_rand + 0.1
    truth = world.truth.set_index("worker_id")["true_occupation_code"]
    jtruth = world.job_truth.set_index("job_id")["true_occupation_code"]

    def fit(p):
        return (truth.loc[p["worker_id"]].to_numpy() == jtruth.loc[p["job_id"]].to_numpy()).mean()

    assert fit(pairs) > 3 * fit(random_pairs)
    sample = historical_pairs(world, worker_sample=100, pairs_per_worker=2, seed=1)
    assert sample["worker_id"].nunique() == 100 and len(sample) <= 200
    pd.testing.assert_frame_equal(
        sample, historical_pairs(world, worker_sample=100, pairs_per_worker=2, seed=1)
    )


def test_age_on_counts_full_years():
    birth = np.array(["2000-02-29", "1990-06-15", "1990-06-15"], dtype="datetime64[D]")
    on = np.array(["2018-02-28", "2026-06-14", "2026-06-15"], dtype="datetime64[D]")
    assert age_on(birth, on).tolist() == [17, 35, 36]


def test_bad_input_is_refused_with_a_clear_message(world, pairs):
    with pytest.raises(ValueError, match="unknown worker_id"):
        simulate_outcomes(world, pd.DataFrame({"worker_id": [10**9], "job_id": [1]}))
    with pytest.raises(ValueError, match="unknown job_id"):
        true_pair_utility(world, [1], [10**9])
    with pytest.raises(ValueError, match="job_id"):
        simulate_outcomes(world, pd.DataFrame({"worker_id": [1]}))
    with pytest.raises(ValueError, match="noise_sd"):
        OutcomeModel(noise_sd=-1.0)
    with pytest.raises(ValueError, match="retained_3m_days"):
        OutcomeModel(retained_3m_days=200)
    with pytest.raises(ValueError, match="pairs_per_worker"):
        historical_pairs(world, pairs_per_worker=0)
    with pytest.raises(ValueError, match="worker_sample"):
        historical_pairs(world, worker_sample=10**7)
    with pytest.raises(ValueError, match="differ in length"):
        hard_rules_ok(world, [1, 2], [1])


@functools.cache
def _small_world():
    world = generate_world(400, 120, seed=21)
    rng = np.random.default_rng(21)
    pairs = pd.DataFrame(
        {
            "worker_id": rng.choice(world.workers["worker_id"], 800),
            "job_id": rng.choice(world.jobs["job_id"], 800),
        }
    ).drop_duplicates(ignore_index=True)
    return world, pairs


@settings(max_examples=15, deadline=None)
@given(
    intercepts=st.lists(st.floats(-6, 6), min_size=5, max_size=5),
    noise_sd=st.floats(0, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_parameters_keep_the_funnel_and_the_hard_rules(intercepts, noise_sd, seed):
    world, pairs = _small_world()
    model = OutcomeModel(
        apply_intercept=intercepts[0],
        interview_intercept=intercepts[1],
        hire_intercept=intercepts[2],
        retain3_intercept=intercepts[3],
        retain6_intercept=intercepts[4],
        noise_sd=noise_sd,
    )
    ev = simulate_outcomes(world, pairs, model=model, seed=seed)
    s = _stages(ev)
    for earlier, later in zip(FUNNEL, FUNNEL[1:], strict=False):
        assert not (s[later] & ~s[earlier]).any()
    assert (s["hired"] == (s["retained_6m"] | s["left"])).all()
    hires = ev[ev["stage"] == "hired"].reset_index(drop=True)
    assert _independent_hard_rules(world, hires).all()
    u = true_pair_utility(world, pairs["worker_id"], pairs["job_id"], model)
    assert ((u >= 0) & (u <= 1)).all()


def test_replacing_a_frame_refreshes_the_cached_arrays():
    world = generate_world(60, 20, seed=4)
    assert len(true_pair_utility(world, [50], [1])) == 1
    world.workers = world.workers.head(40)
    with pytest.raises(ValueError, match="unknown worker_id"):
        true_pair_utility(world, [50], [1])


def test_a_worker_from_outside_the_programme_is_named():
    world = generate_world(30, 10, seed=4)
    workers = world.workers.copy()
    workers.loc[0, "county_code"] = "110101"
    world.workers = workers
    with pytest.raises(ValueError, match="110101"):
        true_pair_utility(world, [2], [1])
