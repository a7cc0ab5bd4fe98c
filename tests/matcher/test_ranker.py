from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import brier_score_loss, roc_auc_score

from matcher.features import FEATURE_NAMES
from matcher.ranker import (
    MONOTONE_INCREASING,
    SuccessRanker,
    blend_scores,
    label_pairs,
    monotonic_constraints,
)


def test_label_pairs_marks_retained_6m_and_respects_until():
    ev = pd.DataFrame(
        {
            "worker_id": [1, 1, 1, 2, 2, 3],
            "job_id": [7, 7, 7, 7, 7, 8],
            "stage": [
                "recommended",
                "hired",
                "retained_6m",
                "recommended",
                "retained_3m",
                "applied",
            ],
            "date": pd.to_datetime(
                ["2024-01-01", "2024-02-01", "2024-08-01", "2024-01-01", "2024-05-01", "2024-03-01"]
            ),
        }
    )
    labels = label_pairs(ev)
    assert labels[["worker_id", "job_id", "label"]].values.tolist() == [
        [1, 7, 1],
        [2, 7, 0],
        [3, 8, 0],
    ]
    early = label_pairs(ev, until="2024-06-30")
    assert early.loc[early["worker_id"] == 1, "label"].item() == 0


def test_label_pairs_refuses_unknown_stage():
    ev = pd.DataFrame(
        {"worker_id": [1], "job_id": [2], "stage": ["fired"], "date": [pd.Timestamp("2024-01-01")]}
    )
    with pytest.raises(ValueError, match=r"'fired'.*retained_6m"):
        label_pairs(ev)


@pytest.fixture(scope="module")
def training_frame(_fitted_engine, labelled_events, world):
    jobs, workers = world
    labels = label_pairs(labelled_events)
    feats = _fitted_engine.pair_features(labels, jobs=jobs, workers=workers)
    return feats, labels["label"].to_numpy()


@pytest.fixture(scope="module")
def fitted_ranker(training_frame):
    feats, y = training_frame
    n = len(y) * 2 // 3
    return SuccessRanker(max_iter=80).fit(feats.iloc[:n], y[:n])


def test_ranker_learns_the_hidden_utility_and_is_calibrated(
    fitted_ranker, training_frame, hidden_utility
):
    feats, y = training_frame
    n = len(y) * 2 // 3
    p = fitted_ranker.p_success(feats.iloc[n:])
    oracle = roc_auc_score(y[n:], hidden_utility(feats.iloc[n:]))  # the best any model can do
    assert roc_auc_score(y[n:], p) > max(0.65, oracle - 0.06)
    assert brier_score_loss(y[n:], p) < brier_score_loss(y[n:], np.full(len(p), y[:n].mean()))
    assert abs(p.mean() - y[n:].mean()) < 0.05  # calibrated: mean prediction ≈ observed rate
    assert 0 <= p.min() and p.max() <= 1


def test_fast_serving_path_equals_scikit_learn(fitted_ranker, training_frame):
    feats, _ = training_frame
    X = feats[list(FEATURE_NAMES)].to_numpy(dtype=np.float32, copy=True)
    X[::7, 6] = np.nan  # missing wage floor ratios take the trees' missing-value branches
    np.testing.assert_allclose(
        fitted_ranker.predict_proba(X), fitted_ranker.model_.predict_proba(X), atol=1e-9
    )


def test_ranker_validates_inputs(training_frame):
    feats, y = training_frame
    with pytest.raises(ValueError, match=r"only \[0\]"):
        SuccessRanker().fit(feats, np.zeros(len(y)))
    with pytest.raises(ValueError, match="calibration 'platt'"):
        SuccessRanker(calibration="platt").fit(feats, y)
    with pytest.raises(ValueError, match="feature columns"):
        SuccessRanker(max_iter=5).fit(np.zeros((10, 3)), np.arange(10) % 2)
    with pytest.raises(ValueError, match="lacks columns"):
        SuccessRanker(max_iter=5).fit(feats.drop(columns=[FEATURE_NAMES[0]]), y)


def test_engine_with_ranker_orders_by_blended_score_then_retrieval(
    fitted_engine, fitted_ranker, world
):
    _, workers = world
    fitted_engine.set_ranker(fitted_ranker)
    for wid in workers["worker_id"].iloc[:20]:
        items = fitted_engine.recommend_jobs(int(wid), k=10)
        keys = [(it["score"], it["retrieval_score"]) for it in items]
        assert keys == sorted(keys, reverse=True)
        assert all(0 <= it["p_success"] <= 1 for it in items)


def test_without_prior_strength_the_learned_chance_alone_orders(
    fitted_engine, fitted_ranker, world
):
    _, workers = world
    fitted_engine.set_ranker(fitted_ranker).set_params(prior_strength=0.0)
    for wid in workers["worker_id"].iloc[:10]:
        items = fitted_engine.recommend_jobs(int(wid), k=10)
        keys = [(it["p_success"], it["retrieval_score"]) for it in items]
        assert keys == sorted(keys, reverse=True)
        assert all(it["score"] == it["p_success"] for it in items)


def test_blend_trusts_the_ranker_more_as_successes_grow():
    class Ranker:
        p_scale_ = 1.0

        def __init__(self, n):
            self.n_positive_ = n

    p, prior = np.array([1.0]), np.array([0.0])
    weights = [
        float(blend_scores(Ranker(n), p, prior, 500.0, max_shift=1.0)[0])
        for n in (0, 50, 500, 50_000)
    ]
    assert weights[0] == 0.0  # no history: the prior alone
    assert weights == sorted(weights) and weights[2] == pytest.approx(0.5)
    assert weights[3] > 0.98


def test_learned_chance_cannot_overturn_two_grades_of_the_prior():
    """However sure the ranker is, a pair keeps within MAX_SHIFT of its prior: a job two grades
    lower (outside the worker's trades) never overtakes one of the main trade."""
    from matcher.ranker import MAX_SHIFT

    class Ranker:
        p_scale_, n_positive_ = 1.0, 1_000_000

    step = MAX_SHIFT
    prior = np.array([0.70, 0.70 - 2 * step - 0.01, 0.30, 0.30 - step / 2])
    p = np.array([0.0, 1.0, 0.0, 1.0])  # the ranker prefers the lower pair of each outright
    blended = blend_scores(Ranker(), p, prior, 5000.0)
    assert np.all(np.abs(blended - prior) <= MAX_SHIFT + 1e-12)
    assert blended[0] > blended[1]
    # Within a grade the learned chance still decides.
    assert blended[3] > blended[2]


def test_learned_weight_scales_the_move_and_zero_keeps_the_prior():
    """``learned_weight_`` (chosen on validation data by the training pipeline) scales the
    learned chance's move before it is bounded: 0 leaves the prior as it is."""

    class Ranker:
        p_scale_, n_positive_ = 1.0, 5000

    p, prior = np.array([0.3, 0.7]), np.array([0.2, 0.2])
    full = blend_scores(Ranker(), p, prior, 5000.0)  # a = 0.5
    assert full.tolist() == pytest.approx([0.25, 0.2 + 0.156])  # the second move is bounded
    r = Ranker()
    r.learned_weight_ = 0.0
    assert blend_scores(r, p, prior, 5000.0).tolist() == pytest.approx(prior.tolist())
    r.learned_weight_ = 0.5
    half = blend_scores(r, p, prior, 5000.0)
    assert half.tolist() == pytest.approx([0.225, 0.325])
    # A larger learned chance moves its pair further (the move is not all-or-nothing).
    assert half[1] - prior[1] > half[0] - prior[0] > 0


def test_firm_weight_moves_by_the_firms_record_within_the_bound():
    """``firm_weight_`` adds the firm's past retention to the learned move (chosen apart from
    ``learned_weight_``); without it, or without lifts, the blend is as before, and the sum
    of both moves keeps within MAX_SHIFT."""
    from matcher.ranker import MAX_SHIFT

    class Ranker:
        p_scale_, n_positive_, learned_weight_ = 1.0, 5000, 0.0

    p, prior = np.array([0.2, 0.2, 0.2]), np.array([0.2, 0.2, 0.2])
    lift = np.array([0.1, -0.1, 1.0])
    r = Ranker()
    assert blend_scores(r, p, prior, 5000.0, firm_lift=lift).tolist() == pytest.approx(
        prior.tolist()
    )
    r.firm_weight_ = 0.5
    moved = blend_scores(r, p, prior, 5000.0, firm_lift=lift)
    assert moved.tolist() == pytest.approx([0.25, 0.15, 0.2 + MAX_SHIFT])
    assert blend_scores(r, p, prior, 5000.0).tolist() == pytest.approx(prior.tolist())


def test_seen_weight_blends_the_prior_out_by_the_firms_evidence():
    """``seen_weight_`` is the learned chance's share where the history knows the firm: a pair
    whose firm has no evidence keeps ``learned_weight_``, one with full evidence takes
    ``seen_weight_``, and one between goes in proportion; without evidence (another world's
    firms) or without ``seen_weight_`` the blend is as before."""

    class Ranker:
        p_scale_, n_positive_, learned_weight_ = 1.0, 5000, 0.2  # a = 0.1 at no evidence

    p, prior = np.array([1.0, 1.0, 1.0]), np.array([0.5, 0.5, 0.5])
    evidence = np.array([0.0, 0.5, 1.0])
    r = Ranker()
    plain = blend_scores(r, p, prior, 5000.0, max_shift=1.0)
    assert plain.tolist() == pytest.approx([0.55, 0.55, 0.55])
    assert blend_scores(r, p, prior, 5000.0, max_shift=1.0, evidence=evidence).tolist() == (
        pytest.approx(plain.tolist())
    )
    r.seen_weight_ = 0.6  # a = 0.3 at full evidence
    seen = blend_scores(r, p, prior, 5000.0, max_shift=1.0, evidence=evidence)
    assert seen.tolist() == pytest.approx([0.55, 0.6, 0.65])
    assert blend_scores(r, p, prior, 5000.0, max_shift=1.0).tolist() == pytest.approx(
        plain.tolist()
    )
    # A share beyond the learned chance is capped: at most the learned chance itself orders.
    r.seen_weight_ = 3.0  # a = 1.5 at full evidence, 0.8 at half
    capped = blend_scores(r, p, prior, 5000.0, max_shift=1.0, evidence=evidence)
    assert capped.tolist() == pytest.approx([0.55, 0.9, 1.0])


@pytest.fixture(scope="module")
def monotone_ranker():
    """A ranker trained on labels that punish skill fit and wages: the constraints must win."""
    rng = np.random.default_rng(3)
    n = 3000
    X = pd.DataFrame(rng.random((n, len(FEATURE_NAMES))), columns=list(FEATURE_NAMES))
    z = -2 * X["main_fit"] - 2 * X["skill_fit"] - X["wage_min_vs_floor"] - X["pref_city"]
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    return SuccessRanker(max_iter=40).fit(X, y), X


@settings(max_examples=60, deadline=None)
@given(
    row=st.integers(0, 2999),
    feature=st.sampled_from(MONOTONE_INCREASING),
    step=st.floats(0.01, 3.0),
)
def test_raising_a_basic_feature_never_lowers_p(monotone_ranker, row, feature, step):
    ranker, X = monotone_ranker
    low = X.iloc[[row]].copy()
    high = low.copy()
    high[feature] += step
    assert ranker.p_success(high)[0] >= ranker.p_success(low)[0] - 1e-12


def test_main_trade_never_scores_below_a_second_trade(monotone_ranker):
    ranker, X = monotone_ranker
    main = X.iloc[:500].copy()
    main["main_fit"], main["skill_fit"] = 1.0, 1.0
    second = main.copy()
    second["main_fit"] = 0.0  # the same job matched by a second trade only
    assert (ranker.p_success(main) >= ranker.p_success(second) - 1e-12).all()
    assert monotonic_constraints().count(1) == len(MONOTONE_INCREASING)


def test_flat_forest_pickled_with_left_and_right_arrays_still_loads(fitted_ranker, training_frame):
    """Model format 1 pickled the forest's children as ``left`` and ``right`` arrays."""
    import pickle

    forest = fitted_ranker.forest_
    state = dict(vars(forest))
    children = state.pop("children").reshape(-1, 2)
    state["left"], state["right"] = children[:, 0].copy(), children[:, 1].copy()
    old = object.__new__(type(forest))
    vars(old).update(state)
    loaded = pickle.loads(pickle.dumps(old))
    feats, _ = training_frame
    X = feats[list(FEATURE_NAMES)].to_numpy(dtype=np.float32, copy=True)[:300]
    X[::5, 6] = np.nan
    np.testing.assert_array_equal(loaded.decision_function(X), forest.decision_function(X))


def test_a_ranker_of_other_features_is_refused(fitted_engine, fitted_ranker):
    import copy

    old = copy.copy(fitted_ranker)
    old.feature_names_ = tuple(n for n in FEATURE_NAMES if n != "main_fit") + ("occ_exp_match",)
    with pytest.raises(ValueError, match=r"缺少 \[.main_fit.\].*重新训练"):
        fitted_engine.set_ranker(old)
