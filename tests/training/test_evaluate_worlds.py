"""The evaluation puts the independent world beside the demo world and measures crowding."""

from __future__ import annotations

import numpy as np
import pytest

from data.eval_world import generate_eval_world, relevance
from matcher.engine import MatchingEngine
from training.evaluate import (
    PRODUCT_CROWDING,
    EvaluationReport,
    coding_accuracy,
    crowding,
    evaluate_independent,
    product_crowding,
    score_coding,
    top_share,
)


def test_top_share_counts_the_most_recommended_percent():
    lists = [[1, 2], [1, 3], [1, 4]] + [[10 + i, 200 + i] for i in range(98)]
    # 200 slots over 200 distinct jobs -> the top 1% is 2 jobs: job 1 (3 slots) + one more.
    assert top_share(lists) == pytest.approx(4 / 202)
    assert top_share([]) == 0.0


@pytest.fixture(scope="module")
def small_world():
    return generate_eval_world(n_jobs=120, n_workers=15, seed=3)


@pytest.fixture(scope="module")
def params():
    from data.reference import load_occupations
    from matcher.encoders import CharNgramEncoder
    from matcher.occupations import OccupationCoder
    from training.pipeline import build_geography

    occ = load_occupations(4)
    return dict(
        encoder=CharNgramEncoder(dim=64),
        geography=build_geography(),
        occupations=occ[["code", "name"]],
        occupation_coder=OccupationCoder().fit(occ),
    )


def test_independent_world_tables_and_no_violation(small_world, params):
    res = evaluate_independent(params, small_world, n_jobs=40)
    full = res["jobs_for_workers"]["full engine"]
    assert (
        full["violations@10"] == 0 and res["workers_for_jobs"]["full engine"]["violations@10"] == 0
    )
    assert res["jobs_for_workers"]["tfidf"]["violations@10"] > 0  # the world has rules to break
    # The prior (main trade first) beats TF-IDF with the same hard rules on this world.
    assert full["ndcg@10"] > res["jobs_for_workers"]["tfidf+rules"]["ndcg@10"]
    assert res["setup"]["n_workers"] == 15 and res["setup"]["ranker"] is None


def test_crowding_before_and_after(small_world, params):
    engine = MatchingEngine(**{**params, "as_of": small_world.as_of}).fit(
        small_world.jobs, small_world.workers
    )
    c = crowding(
        engine,
        small_world.workers["worker_id"],
        lambda w, j: relevance(small_world, w, j),
        spread=0.3,
    )
    assert c["after"]["top1pct_share"] <= c["before"]["top1pct_share"]
    assert 0 < c["after"]["ndcg@10"] <= 1


def test_product_crowding_prices_the_register_with_the_service_settings(small_world, params):
    from api.config import DEFAULTS

    # The report's figure is the product's: the same settings the service prices with.
    assert PRODUCT_CROWDING == {
        "spread": DEFAULTS["CROWDING_SPREAD"],
        "sample": DEFAULTS["CROWDING_SAMPLE"],
        "per_place": DEFAULTS["CROWDING_PER_PLACE"],
    }
    engine = MatchingEngine(**{**params, "as_of": small_world.as_of}).fit(
        small_world.jobs, small_world.workers
    )
    ids = small_world.workers["worker_id"].iloc[:5]
    c = product_crowding(
        engine, ids, lambda w, j: relevance(small_world, w, j), spread=0.3, per_place=0.5
    )
    assert c["path"] == "product" and c["n_register"] == 15 and c["n_workers"] == 5
    assert c["pricing"]["jobs_priced"] > 0 and c["pricing"]["workers_priced"] == 15
    assert c["after"]["top1pct_share"] <= c["before"]["top1pct_share"]
    assert 0 < c["after"]["ndcg@10"] <= c["before"]["ndcg@10"] <= 1
    # The engine's own prices (none here) are put back.
    assert getattr(engine, "crowding_", None) is None
    # Without prices the register's answers are recommend_jobs' own.
    plain = [it["job_id"] for it in engine.recommend_jobs(int(ids.iloc[0]))]
    assert plain == [it["job_id"] for it in engine.recommend_jobs(int(ids.iloc[0]))]


def test_report_prints_both_worlds_and_crowding(small_world, params):
    ind = evaluate_independent(params, small_world, n_jobs=20)
    table = {"full engine": {"ndcg@10": 0.79, "recall@50": 0.6, "violations@10": 0}}
    report = EvaluationReport(
        table,
        table,
        {"auc": None, "note": "无"},
        {},
        independent={"base": ind, "trained": ind},
        crowding={
            "独立世界": {
                "spread": 0.05,
                "n_workers": 15,
                "n_jobs": 120,
                "before": {"top1pct_share": 0.2, "ndcg@10": 0.8},
                "after": {"top1pct_share": 0.1, "ndcg@10": 0.795},
            },
            "演示世界": {
                "path": "product",
                "spread": 0.01,
                "per_place": 30.0,
                "n_register": 3960,
                "n_workers": 300,
                "n_jobs": 2342,
                "before": {"top1pct_share": 0.145, "ndcg@10": 0.78},
                "after": {"top1pct_share": 0.127, "ndcg@10": 0.772},
            },
        },
    )
    text = report.to_text()
    assert (
        "两个世界并列" in text and "base（无结果历史）" in text and "full engine（训练后）" in text
    )
    assert "份额 0.200 → 0.100" in text and "代价 +0.005" in text
    assert "产品路径，登记册 3960 人" in text and "spread=0.01、per_place=30" in text
    assert "份额 0.145 → 0.127" in text and "代价 +0.008" in text
    assert report.to_dict()["independent"]["base"]["jobs_for_workers"]
    assert np.isfinite(ind["jobs_for_workers"]["full engine"]["ndcg@10"])


def test_coding_accuracy_against_the_worlds_truth(small_world, params):
    from data.eval_world import TRADE_BY_KEY

    engine = MatchingEngine(**{**params, "as_of": small_world.as_of}).fit(
        small_world.jobs, small_world.workers
    )
    measured = coding_accuracy(engine, small_world)
    assert measured["n_workers_with_trade"] > 0
    assert 0.0 <= measured["main_trade_accuracy"] <= measured["main_trade_family_accuracy"] <= 1.0
    assert 0.0 <= measured["job_code_accuracy"] <= 1.0

    truth = small_world.truth_workers.set_index("worker_id")["main_trade"]
    with_trade = [int(w) for w in truth.index if truth[w]]
    right = {w: TRADE_BY_KEY[truth[w]].code for w in with_trade}
    jobs = small_world.truth_jobs
    job_right = {
        int(j): TRADE_BY_KEY[t].code for j, t in zip(jobs["job_id"], jobs["trade"], strict=True)
    }
    # Every main trade read right; then the first two read as a sibling of the same minor group
    # (family right, exact wrong); then uncoded.
    acc = score_coding(right, job_right, small_world)
    assert acc["main_trade_accuracy"] == 1.0 and acc["job_code_accuracy"] == 1.0
    sibling = {w: right[w][:-2] + ("98" if right[w][-2:] != "98" else "97") for w in with_trade[:2]}
    acc = score_coding({**right, **sibling}, {}, small_world)
    assert acc["main_trade_accuracy"] == pytest.approx(1 - 2 / len(with_trade))
    assert acc["main_trade_family_accuracy"] == 1.0
    assert acc["job_code_accuracy"] is None
    acc = score_coding({}, job_right, small_world)
    assert acc["main_trade_accuracy"] == 0.0 and acc["n_workers_with_trade"] == len(with_trade)
