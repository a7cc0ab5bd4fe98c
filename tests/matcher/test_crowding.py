"""The capacity-aware re-ranking of batch recommendations (``spread``): crowded jobs give way
to jobs with places, nothing changes where nobody crowds, and the answer is a fixed function
of its input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from matcher.engine import capacity_prices, crowding_penalty

ROOT = Path(__file__).resolve().parents[2]


def distinct_jobs(batch: dict[int, list[dict]]) -> int:
    return len({it["job_id"] for items in batch.values() for it in items})


@pytest.fixture
def crowded(make_engine, make_job, make_worker):
    """Forty sewing workers alike but for their wage floor; two well-paid sewing jobs with one
    place each, eight a little less paid with twenty places each."""
    jobs = [make_job(job_id=1 + i, wage_min=6500, wage_max=8000, headcount=1) for i in range(2)] + [
        make_job(job_id=10 + i, wage_min=6000, wage_max=7500, headcount=20) for i in range(8)
    ]
    workers = [make_worker(worker_id=100 + i, min_wage=4000 + 10 * i) for i in range(40)]
    return make_engine(jobs, workers), [100 + i for i in range(40)]


def test_share_of_the_crowded_jobs_drops(crowded):
    engine, ids = crowded
    plain = engine.recommend_jobs_batch(ids, k=3, with_reasons=False)
    assert all({1, 2} <= {it["job_id"] for it in plain[w]} for w in ids)
    spread = engine.recommend_jobs_batch(ids, k=3, with_reasons=False, spread=0.2)
    ones = sum(it["job_id"] in (1, 2) for w in ids for it in spread[w])
    # Two places take about six recommendations; all forty lists held both before.
    assert 4 <= ones <= 20
    assert distinct_jobs(spread) > distinct_jobs(plain) == 3
    for w in ids:  # still the worker's trade, the penalised scores still falling down the list
        assert all(it["occupation_code"] == "6-05-01-03" for it in spread[w])
        scores = [it["score"] for it in spread[w]]
        assert scores == sorted(scores, reverse=True)


def test_a_job_is_passed_over_only_for_one_within_spread(crowded):
    engine, ids = crowded
    plain = engine.recommend_jobs_batch(ids, k=3, with_reasons=False)
    spread = engine.recommend_jobs_batch(ids, k=3, with_reasons=False, spread=0.2)
    tiny = engine.recommend_jobs_batch(ids, k=3, with_reasons=False, spread=1e-6)
    assert tiny == plain  # prices under a thousandth of a point move nothing
    for w in ids:
        before = {it["job_id"]: it["score"] for it in plain[w]}
        kept_floor = min(before.values())
        for it in spread[w]:
            # Anything new on the list was within 0.2 of what it displaced.
            assert it["score"] >= kept_floor - 0.2 - 1e-9


def test_a_job_with_no_place_left_is_never_pushed_up(crowded, make_job):
    engine, ids = crowded
    # Job 10 fills: it leaves the index, and pricing the crowded jobs never brings it back.
    engine.update_jobs(
        [make_job(job_id=10, wage_min=6000, wage_max=7500, headcount=20, hired_count=20)]
    )
    spread = engine.recommend_jobs_batch(ids, k=3, with_reasons=False, spread=0.2)
    assert all(it["job_id"] != 10 for w in ids for it in spread[w])
    # And where a candidate has no room at all, its price is the full spread at once.
    rows = [np.array([0, 1])] * 3
    scores = [np.array([0.8, 0.5])] * 3
    p = capacity_prices(rows, scores, np.array([0.0, 5.0]), spread=0.1, k=1)
    assert p[0] == pytest.approx(0.1) and p[1] == 0.0
    pen = crowding_penalty(p, 100, np.array([10, 11]), 0.1)
    assert pen[0] >= 0.0 and pen[1] == 0.0  # a penalty, never a bonus


def test_no_crowd_leaves_answers_unchanged(fitted_engine, world):
    _, workers = world
    for wid in workers["worker_id"].iloc[:5].tolist():
        single = fitted_engine.recommend_jobs(wid, k=10)
        alone = fitted_engine.recommend_jobs_batch([wid], k=10, spread=0.2)[wid]
        assert alone == single
    # A batch over many jobs with room: nothing is over-subscribed, nothing moves.
    ids = workers["worker_id"].iloc[:12].tolist()
    plain = fitted_engine.recommend_jobs_batch(ids, k=5, with_reasons=False)
    assert fitted_engine.recommend_jobs_batch(ids, k=5, with_reasons=False, spread=0.05) == plain


def test_the_answer_does_not_depend_on_the_order_of_the_batch(crowded):
    engine, ids = crowded
    a = engine.recommend_jobs_batch(ids, k=3, with_reasons=False, spread=0.2)
    b = engine.recommend_jobs_batch(ids[::-1], k=3, with_reasons=False, spread=0.2, chunk=7)
    assert a == b and list(b) == ids[::-1]


_CHILD = """
import json, sys
sys.path.insert(0, {root!r})
sys.path.insert(0, {tests!r})
from conftest import AS_OF, GEOGRAPHY, OCCUPATIONS, job_record, worker_record
import pandas as pd
from matcher.encoders import CharNgramEncoder
from matcher.engine import MatchingEngine
jobs = [job_record(job_id=1 + i, wage_min=6500, wage_max=8000, headcount=1) for i in range(2)]
jobs += [job_record(job_id=10 + i, wage_min=6000, wage_max=7500, headcount=20) for i in range(8)]
workers = [worker_record(worker_id=100 + i, min_wage=4000 + 10 * i) for i in range(40)]
engine = MatchingEngine(encoder=CharNgramEncoder(dim=64), as_of=AS_OF, geography=GEOGRAPHY,
                        occupations=OCCUPATIONS).fit(pd.DataFrame(jobs), pd.DataFrame(workers))
batch = engine.recommend_jobs_batch(range(100, 140), k=3, with_reasons=False, spread=0.2)
print(json.dumps({{w: [it["job_id"] for it in items] for w, items in batch.items()}}))
"""


def test_same_input_same_order_across_processes(crowded):
    engine, ids = crowded
    here = engine.recommend_jobs_batch(ids, k=3, with_reasons=False, spread=0.2)
    code = _CHILD.format(root=str(ROOT), tests=str(Path(__file__).parent))
    runs = []
    for seed in ("1", "2"):  # different string-hash salts
        env = {"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"}
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        runs.append(json.loads(done.stdout))
    assert runs[0] == runs[1]
    assert runs[0] == {str(w): [it["job_id"] for it in here[w]] for w in ids}


def test_prices_are_zero_without_crowd_and_bounded_by_spread():
    rng = np.random.default_rng(0)
    rows = [rng.choice(50, 10, replace=False) for _ in range(30)]
    scores = [np.sort(rng.random(10))[::-1] for _ in range(30)]
    assert not capacity_prices(rows, scores, np.full(50, 100.0), 0.1).any()
    crowd = [np.arange(10)] * 30
    p = capacity_prices(crowd, [np.linspace(0.9, 0.8, 10)] * 30, np.full(50, 1.0), 0.1, k=3)
    assert p.max() <= 0.1 and p[:10].max() > 0 and not p[10:].any()
    assert not capacity_prices(crowd, scores, np.full(50, 1.0), 0.0).any()


# --------------------------------------------------------------------------- the index's prices


def test_stored_prices_spread_single_answers(crowded):
    """``price_crowding`` prices the register once; each worker's own answer then gives way
    on the crowded jobs as the batch does, at the cost of a lookup per candidate."""
    engine, ids = crowded
    plain = {w: engine.recommend_jobs(w, k=3) for w in ids}
    assert all({1, 2} <= {it["job_id"] for it in plain[w]} for w in ids)
    prices = engine.price_crowding(0.2, k=3, per_place=3)
    assert set(prices.job_ids.tolist()) == {1, 2}  # only the two one-place jobs crowd
    assert prices.facts["workers_priced"] == prices.facts["workers_indexed"] == 40
    single = {w: engine.recommend_jobs(w, k=3) for w in ids}
    ones = sum(it["job_id"] in (1, 2) for w in ids for it in single[w])
    assert 4 <= ones <= 20
    for w in ids:
        floor = min(it["score"] for it in plain[w])
        scores = [it["score"] for it in single[w]]
        # The answer keeps its own order and scores, and takes in only jobs within spread.
        assert scores == sorted(scores, reverse=True)
        assert min(scores) >= floor - 0.2 - 1e-9
        kept = {it["job_id"]: it for it in plain[w]}
        for it in single[w]:
            if it["job_id"] in kept:
                assert it == kept[it["job_id"]]  # same score, same reasons


def test_stored_prices_are_the_whole_registers_not_the_batchs(crowded):
    """The batch prices only itself; the stored prices hold for a lone worker's answer."""
    engine, ids = crowded
    engine.price_crowding(0.2, k=3, per_place=3)
    alone = engine.recommend_jobs_batch([ids[0]], k=3, spread=0.2)[ids[0]]
    assert {1, 2} <= {it["job_id"] for it in alone}  # a batch of one crowds nothing
    assert engine.recommend_jobs_batch(ids, k=3) != {w: engine.recommend_jobs(w, k=3) for w in ids}


def test_sampled_prices_estimate_the_whole_register(crowded):
    engine, ids = crowded
    full = engine.price_crowding(0.2, k=3, per_place=3)
    half = engine.price_crowding(0.2, k=3, per_place=3, sample=20)
    assert half.facts["workers_priced"] == 20 and half.facts["workers_indexed"] == 40
    # Half the workers against half the places: the same jobs crowd, about as much.
    assert set(half.job_ids.tolist()) == set(full.job_ids.tolist())
    assert np.allclose(half.prices, full.prices, atol=0.03)
    # The sample is a function of the ids alone.
    again = engine.price_crowding(0.2, k=3, per_place=3, sample=20)
    assert np.array_equal(again.prices, half.prices)
    with pytest.raises(ValueError, match="sample 0"):
        engine.price_crowding(0.2, sample=0)
    with pytest.raises(ValueError, match="spread -1"):
        engine.price_crowding(-1)
    with pytest.raises(ValueError, match="per_place 0"):
        engine.price_crowding(0.2, per_place=0)


def test_the_register_prices_only_jobs_it_over_subscribes_per_place(crowded):
    """Forty lists hold each one-place job: over three per place, under thirty."""
    engine, ids = crowded
    assert set(engine.price_crowding(0.2, k=3, per_place=3).job_ids.tolist()) == {1, 2}
    assert not len(engine.price_crowding(0.2, k=3).job_ids)  # the default, 30 per place
    assert engine.crowding_.facts["per_place"] == 30.0


def test_jobs_added_since_pricing_lose_nothing(crowded, make_job):
    engine, ids = crowded
    engine.price_crowding(0.2, k=3, per_place=3)
    # A new one-place job like jobs 1 and 2: unpriced, it goes to every list as they did.
    engine.add_jobs([make_job(job_id=3, wage_min=6500, wage_max=8000, headcount=1)])
    assert all(3 in {it["job_id"] for it in engine.recommend_jobs(w, k=3)} for w in ids)
    assert engine.crowding_.price_of(np.array([1, 3]))[1] == 0.0


def test_no_crowd_prices_nothing_and_build_index_clears_prices(make_engine, make_job, make_worker):
    jobs = [make_job(job_id=1 + i, headcount=50) for i in range(6)]
    workers = [make_worker(worker_id=100 + i, min_wage=4000 + 10 * i) for i in range(20)]
    engine = make_engine(jobs, workers)
    before = {w: engine.recommend_jobs(w, k=3) for w in range(100, 120)}
    prices = engine.price_crowding(0.05, k=3, per_place=3)
    assert not len(prices.job_ids)  # fifty places a job: nobody crowds
    assert {w: engine.recommend_jobs(w, k=3) for w in range(100, 120)} == before
    assert engine.price_crowding(0.0).facts["workers_priced"] == 0
    assert engine.crowding_ is not None
    engine.build_index(pd.DataFrame(jobs), pd.DataFrame(workers))
    assert engine.crowding_ is None


def test_register_prices_are_the_batch_prices_of_the_whole_register(crowded):
    """Ranking many workers' pools in one call scores each as its own call does: the index's
    prices from every worker are the prices a batch of all of them computes."""
    engine, ids = crowded
    pj = engine.jobs_index_.prepared
    rows = np.array([engine.workers_index_.row_of(w) for w in ids])
    held = [p for p in engine._pools(rows, 3, chunk=7)]
    batch = engine.crowding_prices(held, 0.2, k=3)
    stored = engine.price_crowding(0.2, k=3, per_place=3, chunk=5)
    job_ids = np.asarray(pj.columns["job_id"])
    assert np.array_equal(stored.price_of(job_ids), batch)


def test_a_record_is_answered_with_the_prices_too(crowded, make_worker):
    """A worker's record (a form preview) draws by its id: it gets the registered answer."""
    engine, ids = crowded
    record = make_worker(worker_id=100, min_wage=4000)
    engine.price_crowding(0.2, k=3, per_place=3)
    assert engine.recommend_jobs(record, k=3) == engine.recommend_jobs(100, k=3)
    some = [w for w in ids if {1, 2} - {it["job_id"] for it in engine.recommend_jobs(w, k=3)}]
    assert some  # the prices do move answers here, so the equality above can fail
