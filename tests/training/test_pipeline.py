from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from matcher.encoders import CharNgramEncoder
from matcher.persistence import current_version, load_current, read_metadata
from training.evaluate import (
    METHODS,
    EvaluationReport,
    ndcg_at,
    recall_at,
    reliability_table,
    split_events,
)


def test_ndcg_and_recall_by_hand():
    gains = np.array([0.0, 0.5, 0.2, 0.9, 0.0])
    ideal = 0.9 + 0.5 / np.log2(3) + 0.2 / 2
    assert ndcg_at(gains[[3, 1, 2]], gains, 3) == pytest.approx(1.0)
    assert ndcg_at(gains[[1, 3]], gains, 3) == pytest.approx((0.5 + 0.9 / np.log2(3)) / ideal)
    assert ndcg_at(np.zeros(3), np.zeros(5), 3) is None
    assert recall_at(np.array([3, 0]), gains, k=2, n_relevant=2) == pytest.approx(
        0.5
    )  # {3, 1} relevant
    assert recall_at(np.array([0]), np.zeros(4), k=1) is None


def test_reliability_table_bins():
    y = np.array([0, 1, 1, 0])
    p = np.array([0.05, 0.95, 0.91, 0.15])
    table = reliability_table(y, p, n_bins=10)
    assert [(r["bin"], r["count"], r["observed"]) for r in table] == [
        ("0.0–0.1", 1, 0.0),
        ("0.1–0.2", 1, 0.0),
        ("0.9–1.0", 2, 1.0),
    ]


def test_split_is_by_worker_and_by_time(demo):
    world, events = demo
    split = split_events(world.workers, events, test_fraction=0.25, seed=1)
    assert not set(split.train_workers) & set(split.test_workers)
    assert set(split.train_events["worker_id"]) <= set(split.train_workers)
    assert set(split.test_events["worker_id"]) <= set(split.test_workers)
    first = lambda ev: pd.to_datetime(ev["date"]).groupby([ev["worker_id"], ev["job_id"]]).min()  # noqa: E731
    assert first(split.train_events).max() <= split.cutoff < first(split.test_events).min()
    with pytest.raises(ValueError, match="test_fraction 1.5"):
        split_events(world.workers, events, test_fraction=1.5)


def test_trained_version_is_current_and_carries_its_figures(trained, demo):
    world, events = demo
    models = trained.parent
    assert current_version(models) == trained.name
    meta = read_metadata(trained)
    assert meta["data"]["events"]["rows"] == len(events)
    assert meta["data"]["workers"]["rows"] == len(world.workers)
    ev = meta["evaluation"]
    assert set(ev["jobs_for_workers"]) == set(METHODS) == set(ev["workers_for_jobs"])
    assert {"ndcg@10", "recall@50", "violations@10"} <= set(ev["jobs_for_workers"]["full engine"])
    assert 0.5 < ev["retention"]["auc"] <= 1.0
    assert ev["retention"]["brier"] < ev["retention"]["brier_constant"]
    assert meta["training"]["n_train_workers"] + meta["training"]["n_test_workers"] == len(
        world.workers
    )
    assert meta["training"]["timings_s"]["total"] > 0


def test_no_rule_abiding_method_breaks_a_rule_and_the_engine_beats_tfidf(trained):
    ev = read_metadata(trained)["evaluation"]
    for side in ("jobs_for_workers", "workers_for_jobs"):
        for method in ("tfidf+rules", "embeddings+rules", "hybrid+rules", "full engine"):
            assert ev[side][method]["violations@10"] == 0, (side, method)
        # the unfiltered baselines do break rules: the check is live
        assert ev[side]["tfidf"]["violations@10"] > 0
        assert ev[side]["full engine"]["ndcg@10"] > ev[side]["random"]["ndcg@10"]
    jobs = ev["jobs_for_workers"]
    assert jobs["full engine"]["ndcg@10"] > jobs["tfidf+rules"]["ndcg@10"]


def test_current_model_loads_and_serves(trained, demo):
    world, _ = demo
    engine = load_current(trained.parent)
    assert engine.ranker is not None and read_metadata(trained)["kind"] == "trained"
    vocabulary = dict(engine.vectorizer_.vocabulary_)
    engine.build_index(world.jobs, world.workers)  # what the service does: nothing is fitted
    assert engine.vectorizer_.vocabulary_ == vocabulary
    wid = int(world.workers["worker_id"].iloc[0])
    items = engine.recommend_jobs(wid, k=10)
    assert items and all(it["p_success"] is not None and len(it["reasons"]) >= 2 for it in items)


def test_report_text_and_json(trained):
    ev = read_metadata(trained)["evaluation"]
    report = EvaluationReport(
        ev["jobs_for_workers"], ev["workers_for_jobs"], ev["retention"], ev["setup"]
    )
    text = report.to_text()
    for method in METHODS:
        assert method in text
    assert "NDCG@10" in text and "AUC" in text and "完整引擎 vs TF-IDF+硬规则" in text
    json.dumps(report.to_dict(), ensure_ascii=False)
    assert report.improvement() == pytest.approx(
        ev["jobs_for_workers"]["full engine"]["ndcg@10"]
        / ev["jobs_for_workers"]["tfidf+rules"]["ndcg@10"]
        - 1
    )


def test_training_refuses_no_events(demo, tmp_path):
    from training.pipeline import train_models

    world, events = demo
    with pytest.raises(ValueError, match="no outcome events"):
        train_models(
            world.jobs,
            world.workers,
            events.iloc[:0],
            models_dir=tmp_path,
            encoder=CharNgramEncoder(dim=8),
            show_progress=False,
        )
    assert not list(tmp_path.iterdir())


def test_encoder_train_branch_saves_a_sentence_transformers_model(
    demo, tmp_path, monkeypatch, capsys
):
    """encoder='train' trains through training.encoder (made tiny here) and ships it in encoder/."""
    import training.encoder as te
    from training.pipeline import train_models

    real = te.train_encoder

    def tiny(pairs, output_path, **kw):
        kw.update(embedding_dim=16, epochs=1, vocab_size=500)
        return real(pairs[:3000], output_path, **kw)

    monkeypatch.setattr(te, "train_encoder", tiny)
    world, events = demo
    keep_w = world.workers["worker_id"].iloc[:500]
    workers = world.workers[world.workers["worker_id"].isin(keep_w)]
    ev = events[events["worker_id"].isin(keep_w)]
    folder = train_models(
        world.jobs,
        workers,
        ev,
        models_dir=tmp_path,
        encoder="train",
        world=None,
        show_progress=True,
        n_eval_workers=20,
        n_eval_jobs=10,
    )
    assert (folder / "encoder" / "modules.json").is_file()
    assert read_metadata(folder)["encoder"]["kind"] == "sentence-transformers"
    err = capsys.readouterr().err
    assert "[7/7]" in err and "训练完成" in err
    engine = load_current(tmp_path)
    engine.fit(world.jobs, workers)
    assert engine.recommend_jobs(int(keep_w.iloc[0]), k=3)


def test_evaluate_default_reruns_the_held_out_evaluation(trained, demo):
    from training.pipeline import evaluate_default, stored_report

    world, events = demo
    report = evaluate_default(
        trained.parent, world, events=events, show_progress=False, n_eval_workers=30, n_eval_jobs=15
    )
    assert report.jobs_for_workers["full engine"]["violations@10"] == 0
    assert report.retention["auc"] > 0.5
    stored = stored_report(trained.parent)
    assert (
        stored.to_dict()["jobs_for_workers"]
        == read_metadata(trained)["evaluation"]["jobs_for_workers"]
    )
    with pytest.raises(ValueError, match="no current model"):
        stored_report(trained.parent / "nothing-here")


def test_served_ranker_carries_the_weight_chosen_on_validation(trained):
    blend = read_metadata(trained)["evaluation"]["setup"]["blend"]
    rows = {r["weight"]: r for r in blend["table"]}
    assert rows[0.0]["passes"]  # the prior alone always passes its own guard
    chosen = rows[blend["learned_weight"]]
    assert chosen["passes"] and chosen["guard_ndcg@10"] >= rows[0.0]["guard_ndcg@10"]
    assert chosen["guard_ndcg@10"] == pytest.approx(
        (chosen["guard_jobs_ndcg@10"] + chosen["guard_workers_ndcg@10"]) / 2
    )
    served = load_current(trained.parent)
    assert served.ranker.learned_weight_ == blend["learned_weight"]
    # The firm's record has its own weight, chosen on the validation AUC: never one that
    # scores the validation pairs worse than leaving the firm out.
    firm = {r["firm_weight"]: r["validation_auc"] for r in blend["firm_table"]}
    assert served.ranker.firm_weight_ == blend["firm_weight"] and 0.0 in firm
    assert firm[blend["firm_weight"]] >= firm[0.0]
    assert served.firm_history is not None and len(served.firm_history.firm_ids_) > 0
    # Where the history knows the firm, the learned chance's share is chosen on the same
    # validation pairs, never below the share the guard world allows.
    seen = {r["seen_weight"]: r["validation_auc"] for r in blend["seen_table"]}
    assert served.ranker.seen_weight_ == blend["seen_weight"] >= blend["learned_weight"]
    assert blend["learned_weight"] in seen
    assert seen[blend["seen_weight"]] >= seen[blend["learned_weight"]]


def test_guard_keeps_the_prior_against_a_ranker_that_inverts_it(demo):
    """A ranker that prefers what the prior puts last harms the independent world: the guard
    refuses every weight but 0, whatever the history's own validation says."""
    from data.reference import load_occupations
    from matcher.engine import MatchingEngine
    from matcher.features import FEATURE_NAMES
    from matcher.occupations import OccupationCoder
    from training.pipeline import WEIGHT_CANDIDATES, build_geography, choose_learned_weight

    world, events = demo
    occ = load_occupations(4)
    params = dict(
        encoder=CharNgramEncoder(dim=32),
        geography=build_geography(),
        occupations=occ[["code", "name"]],
        occupation_coder=OccupationCoder().fit(occ),
        as_of=world.as_of,
    )
    engine = MatchingEngine(**params).learn(jobs=world.jobs, workers=world.workers)
    engine.build_index(world.jobs, world.workers)
    prior = FEATURE_NAMES.index("prior_score")

    class Inverted:
        feature_names_ = FEATURE_NAMES
        n_positive_, p_scale_, learned_weight_ = 1_000_000, 1.0, None

        def predict_proba(self, X):
            # Prefers pairs the prior scores low: everything below 0.6 over everything above.
            p = (np.asarray(X, dtype=np.float64)[:, prior] < 0.6).astype(np.float64)
            return np.column_stack([1.0 - p, p])

    ranker = Inverted()
    blend = choose_learned_weight(engine, params, ranker, events, world.jobs, world.workers)
    assert blend["learned_weight"] == 0.0 == ranker.learned_weight_
    table = blend["table"]
    assert [r["weight"] for r in table] == list(WEIGHT_CANDIDATES)
    assert not any(r["passes"] for r in table if r["weight"] > 0)
    # The demo history's own validation (a real ranker on the other workers) did run.
    assert all(0.5 < r["validation_auc"] <= 1.0 for r in table if r["weight"] > 0)
