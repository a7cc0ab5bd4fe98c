from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matcher.features import FEATURE_NAMES
from matcher.history import FirmRetention, resolved_hires
from matcher.ranker import MONOTONE_INCREASING


def _events(rows: list[tuple[int, int, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["worker_id", "job_id", "stage"])


def test_resolved_hires_count_only_hires_whose_six_months_are_known():
    ev = _events(
        [
            (1, 10, "recommended"),
            (1, 10, "hired"),
            (1, 10, "retained_6m"),
            (2, 10, "hired"),
            (2, 10, "left"),
            (3, 10, "hired"),  # still employed, 6 months not reached: not counted yet
            (4, 10, "applied"),
        ]
    )
    assert resolved_hires(ev).values.tolist() == [[1, 10, 1], [2, 10, 0]]


def test_lift_is_smoothed_toward_all_firms_and_zero_without_history():
    jobs = pd.DataFrame({"job_id": [10, 20, 30], "firm_id": [1, 2, 3]})
    rows = [(w, 10, "retained_6m") for w in range(40)]  # firm 1 keeps all 40
    rows += [(100 + w, 20, "left") for w in range(40)]  # firm 2 keeps none of 40
    rows += [(200, 30, "left")]  # firm 3: one hire that left
    history = FirmRetention(smoothing=10).fit(_events(rows), jobs)
    assert history.base_rate_ == pytest.approx(40 / 81)
    keeps, loses, one, unknown, none = history.lift([1, 2, 3, 99, -1]).tolist()
    assert keeps == pytest.approx((40 - 40 * 40 / 81) / 50, rel=1e-5) and keeps > 0.3
    assert loses < -0.3
    # One departure says little: much nearer 0 than a firm that lost forty.
    assert loses < one < 0 and abs(one) < abs(loses) / 5
    assert unknown == none == 0.0


def test_leave_one_out_takes_out_only_the_pairs_own_hire():
    jobs = pd.DataFrame({"job_id": [10, 11], "firm_id": [1, 1]})
    ev = _events([(1, 10, "retained_6m"), (2, 11, "retained_6m"), (3, 10, "left")])
    history = FirmRetention(smoothing=1).fit(ev, jobs)
    pairs = pd.DataFrame({"worker_id": [1, 3, 4], "job_id": [10, 10, 11]})
    loo = history.leave_one_out(pairs, ev, jobs)
    # Worker 1's own success is out: one kept, one left remain, at the base rate 2/3.
    assert loo[0] == pytest.approx((1 - 2 / 3 * 2) / 3)
    assert loo[1] == pytest.approx((2 - 2 / 3 * 2) / 3)
    # A pair without a resolved hire sees the whole firm.
    assert loo[2] == pytest.approx(history.lift([1])[0])


def test_evidence_grows_with_the_firms_labelled_pairs_and_leaves_the_pair_out():
    jobs = pd.DataFrame({"job_id": [10, 20], "firm_id": [1, 2]})
    rows = [(w, 10, "recommended") for w in range(30)] + [(0, 10, "hired"), (0, 10, "left")]
    rows += [(100, 20, "recommended")]
    history = FirmRetention(evidence_smoothing=10).fit(_events(rows), jobs)
    # Every labelled pair counts once (worker 0's three events are one pair), hired or not.
    many, one, unknown = history.evidence([1, 2, 99]).tolist()
    assert many == pytest.approx(30 / 40) and one == pytest.approx(1 / 11) and unknown == 0.0
    pairs = pd.DataFrame({"worker_id": [0, 100, 500], "job_id": [10, 20, 10]})
    loo = history.leave_one_out(pairs, _events(rows), jobs, evidence=True)
    assert loo.tolist() == pytest.approx([29 / 39, 0.0, 30 / 40])
    with pytest.raises(ValueError, match="evidence_smoothing 0"):
        FirmRetention(evidence_smoothing=0).fit(_events(rows), jobs)


def test_bad_smoothing_is_refused_naming_the_value():
    with pytest.raises(ValueError, match="smoothing 0"):
        FirmRetention(smoothing=0).fit(_events([]), pd.DataFrame({"job_id": [], "firm_id": []}))


def test_firm_retention_is_a_monotone_feature():
    assert "firm_retention" in FEATURE_NAMES and "firm_retention" in MONOTONE_INCREASING


def test_engine_takes_the_feature_from_its_firm_history_and_only_that(fitted_engine, world):
    jobs, workers = world
    pairs = pd.DataFrame(
        {"worker_id": workers["worker_id"].iloc[:50], "job_id": jobs["job_id"].iloc[:50]}
    )
    plain = fitted_engine.pair_features(pairs, jobs=jobs, workers=workers)
    assert (plain["firm_retention"] == 0).all()
    firms = jobs["firm_id"].iloc[:50].to_numpy()
    ev = _events(
        [
            (int(w), int(j), "retained_6m" if f % 2 else "left")
            for w, j, f in zip(pairs["worker_id"], pairs["job_id"], firms, strict=True)
        ]
    )
    fitted_engine.firm_history = FirmRetention(smoothing=1).fit(ev, jobs)
    with_history = fitted_engine.pair_features(pairs, jobs=jobs, workers=workers)
    lift = with_history["firm_retention"].to_numpy()
    assert (lift[firms % 2 == 1] > 0).all() and (lift[firms % 2 == 0] < 0).all()
    others = [c for c in with_history.columns if c != "firm_retention"]
    pd.testing.assert_frame_equal(with_history[others], plain[others])
    given = fitted_engine.pair_features(
        pairs, jobs=jobs, workers=workers, firm_lift=np.full(50, 0.5, np.float32)
    )
    assert (given["firm_retention"] == 0.5).all()
    with pytest.raises(ValueError, match="firm_lift has 3 values for 50 pairs"):
        fitted_engine.pair_features(pairs, jobs=jobs, workers=workers, firm_lift=np.zeros(3))
