"""The learned ranker: P(hired and still employed after 6 months | pair features).

Labels come from outcome events (``data.schema.OUTCOME_COLUMNS``): each pair that was
recommended (or reached any later stage) is an example; it is positive when a
``retained_6m`` event exists for it. A scikit-learn ``HistGradientBoostingClassifier``
learns from :data:`matcher.features.FEATURE_NAMES`, and ``CalibratedClassifierCV``
calibrates its probabilities so that ``p_success`` can be read out as a chance.

The basics cannot be unlearned: the booster is monotone (``monotonic_cst``) in every
feature of :data:`MONOTONE_INCREASING` — skill fit, wished trade, wage against the floor,
wished and paired city, text similarity, the firm's past retention
(:class:`matcher.history.FirmRetention`) and the prior — whatever the outcome history says.
The main trade outranks a second one by construction: ``main_fit`` and ``skill_fit`` (the
best of main and second trades) are both increasing, so a job in the main trade (main 1,
skill 1) never scores below the same job in a second trade (main 0, skill 1).

:func:`blend_scores` mixes the learned chance with the prior ranking
(:func:`matcher.features.prior_score`) by how many successes the ranker learned from, so
that a ranker trained on little history cannot overturn the prior.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from matcher.features import FEATURE_NAMES

if TYPE_CHECKING:
    # Imported where a ranker is fitted or loaded (unpickling imports them), not by every
    # process that imports the engine: a base model has no ranker, and these modules cost a
    # serving process ~0.1 s CPU at start-up.
    from sklearn.ensemble import HistGradientBoostingClassifier

#: Features the learned chance may never decrease in.
MONOTONE_INCREASING: tuple[str, ...] = (
    "dense_sim",
    "lexical_sim",
    "retrieval_score",
    "main_fit",
    "main_text_sim",
    "skill_fit",
    "wish_fit",
    "wage_min_vs_floor",
    "wage_max_vs_floor",
    "pref_city",
    "paired_city",
    "firm_retention",
    "prior_score",
)


def monotonic_constraints() -> list[int]:
    """``monotonic_cst`` for :data:`FEATURE_NAMES`: 1 for :data:`MONOTONE_INCREASING`, else 0."""
    return [1 if name in MONOTONE_INCREASING else 0 for name in FEATURE_NAMES]


#: How far the learned chance may move a pair from its prior score (on the prior's [0, 1]
#: scale): the prior's step between a job of the main trade and one of a second trade
#: (0.8 * 0.3 / 1.54 = 0.156). Within a grade and to the next the learned chance orders; it never
#: lifts a pair over one two grades up (a job outside the worker's trades over the main
#: trade's), whatever world it was trained on and however much history it saw.
MAX_SHIFT = 0.156


def blend_scores(
    ranker: object,
    p: np.ndarray,
    prior: np.ndarray,
    prior_strength: float,
    max_shift: float | None = None,
    firm_lift: np.ndarray | None = None,
    evidence: np.ndarray | None = None,
) -> np.ndarray:
    """``prior + clip(a * (p / p_scale - prior) + f * firm_lift, ±max_shift)``,
    ``a = min(1, (c + (c_seen - c) * evidence) n / (n + prior_strength))``.

    ``n`` is the number of successes (``retained_6m`` pairs) the ranker learned from and
    ``p_scale`` the 99th percentile of its training predictions, which puts the learned chance
    on the prior's [0, 1] scale. ``c`` is the ranker's ``learned_weight_``: how much of its
    history's weight the learned chance earned on validation data when it was trained
    (:func:`training.pipeline.choose_learned_weight`; 1 when not set). ``max_shift`` (default
    :data:`MAX_SHIFT`) bounds the move. With ``prior_strength`` 0 the learned chance alone
    orders.

    ``f`` is the ranker's ``firm_weight_`` (0 when not set) and ``firm_lift`` the pairs'
    ``firm_retention`` feature (:class:`matcher.history.FirmRetention`): the firm's own
    record moves a pair apart from ``c``, which an independent world guards and which so
    cannot judge a firm's history (its firms have none: the lift is 0 there). The training
    pipeline chooses ``f`` on the history's own validation pairs.

    ``evidence`` is how much outcome history each pair's firm has
    (:meth:`matcher.history.FirmRetention.evidence`: 0 for a firm never seen, toward 1 as its
    record grows) and ``c_seen`` the ranker's ``seen_weight_`` (``c`` when not set): the
    share the learned chance earned on the history's own firms. The prior thus serves where
    the outcome history is thin — a new firm, a new region, another world — at the weight an
    independent world guards, and is blended out further, pair by pair, where the history
    knows the firm. Without ``evidence`` every pair takes ``c``.

    The move is weighted before it is bounded, so that a pair's learned chance shifts it in
    proportion (a bound applied first made the move nearly all-or-nothing: ``±max_shift``
    for almost every pair, by the sign of ``learned - prior``).

    >>> class R: n_positive_, p_scale_ = 100, 0.5
    >>> blend_scores(R(), np.array([0.5, 0.0]), np.array([0.0, 1.0]), 100.0, 1.0).tolist()
    [0.5, 0.5]
    >>> blend_scores(R(), np.array([0.5, 0.1]), np.array([0.0, 1.0]), 100.0, 0.1).tolist()
    [0.1, 0.9]
    >>> R.learned_weight_ = 0.5
    >>> blend_scores(R(), np.array([0.5, 0.0]), np.array([0.0, 1.0]), 100.0, 1.0).tolist()
    [0.25, 0.75]
    >>> R.seen_weight_ = 1.0
    >>> ev = np.array([1.0, 0.0])
    >>> blend_scores(R(), np.array([0.5, 0.0]), np.array([0.0, 1.0]), 100.0, 1.0, None, ev).tolist()
    [0.5, 0.75]
    """
    n = float(getattr(ranker, "n_positive_", 0) or 0)
    if prior_strength <= 0:
        return np.asarray(p, dtype=np.float64)
    shift = MAX_SHIFT if max_shift is None else float(max_shift)
    weight = getattr(ranker, "learned_weight_", None)
    c = 1.0 if weight is None else float(weight)
    seen = getattr(ranker, "seen_weight_", None)
    if evidence is not None and seen is not None and float(seen) != c:
        c = c + (float(seen) - c) * np.asarray(evidence, dtype=np.float64)
    # A share above 1 would push a pair past its learned chance, away from the prior.
    a = np.minimum(c * n / (n + float(prior_strength)), 1.0)
    scale = float(getattr(ranker, "p_scale_", 0) or 0) or max(float(np.max(p, initial=0)), 1e-9)
    learned = np.clip(np.asarray(p, dtype=np.float64) / scale, 0.0, 1.0)
    prior = np.asarray(prior, dtype=np.float64)
    move = a * (learned - prior)
    f = float(getattr(ranker, "firm_weight_", None) or 0.0)
    if f and firm_lift is not None:
        move = move + f * np.asarray(firm_lift, dtype=np.float64)
    return prior + np.clip(move, -shift, shift)


_STAGES = ("recommended", "applied", "interviewed", "hired", "retained_3m", "retained_6m", "left")


def label_pairs(events: pd.DataFrame, *, until: object | None = None) -> pd.DataFrame:
    """One row per (worker_id, job_id) pair seen in ``events``, with ``label`` 1 when the pair
    reached ``retained_6m``.

    Parameters
    ----------
    events : DataFrame
        Columns ``worker_id``, ``job_id``, ``stage``, ``date``.
    until : date, optional
        Only events on or before this date count (time split for evaluation).

    Returns
    -------
    DataFrame
        ``worker_id``, ``job_id``, ``label`` (0/1), ``first_date``.

    Examples
    --------
    >>> ev = pd.DataFrame({"worker_id": [1, 1, 2], "job_id": [7, 7, 7],
    ...                    "stage": ["recommended", "retained_6m", "recommended"],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-07-01", "2024-01-02"])})
    >>> label_pairs(ev)[["worker_id", "job_id", "label"]].values.tolist()
    [[1, 7, 1], [2, 7, 0]]
    """
    missing = [c for c in ("worker_id", "job_id", "stage") if c not in events.columns]
    if missing:
        raise ValueError(f"Outcome events lack columns {missing}; they have {list(events.columns)}")
    bad = sorted(set(events["stage"].astype(str)) - set(_STAGES))
    if bad:
        raise ValueError(f"Outcome stage {bad[0]!r} is unknown; valid stages are {list(_STAGES)}")
    ev = events
    if until is not None and "date" in ev.columns:
        ev = ev[pd.to_datetime(ev["date"]) <= pd.Timestamp(until)]
    ev = ev.assign(positive=(ev["stage"] == "retained_6m").astype(np.int8))
    agg = {"label": ("positive", "max")}
    if "date" in ev.columns:
        ev = ev.assign(date=pd.to_datetime(ev["date"]))
        agg["first_date"] = ("date", "min")
    out = ev.groupby(["worker_id", "job_id"], as_index=False, sort=True).agg(**agg)
    out["label"] = out["label"].astype(np.int8)
    return out


class _FlatForest:
    """The boosted trees of a fitted ``HistGradientBoostingClassifier`` as flat numpy arrays.

    Serving scores ~100 candidates per request. scikit-learn's predictor enters one OpenMP
    region per tree, which on a busy two-core machine costs more than the arithmetic; here all
    trees advance one level at a time over a (rows × trees) array of node numbers, which
    gives the same decision function (a test checks it) in a few numpy operations per level.
    """

    def __init__(self, hgb: HistGradientBoostingClassifier) -> None:
        predictors = [it[0] for it in hgb._predictors]
        nodes = [p.nodes for p in predictors]
        if any(n["is_categorical"].any() for n in nodes):
            raise ValueError("categorical splits are not supported by the flat forest")
        sizes = np.array([len(n) for n in nodes])
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        allnodes = np.concatenate(nodes)
        shift = np.repeat(offsets, sizes)
        self.roots = offsets.astype(np.intp)
        self.feature = allnodes["feature_idx"].astype(np.intp)
        self.threshold = allnodes["num_threshold"].astype(np.float64)
        self.missing_left = allnodes["missing_go_to_left"].astype(bool)
        left = (allnodes["left"].astype(np.intp) + shift).astype(np.intp)
        right = (allnodes["right"].astype(np.intp) + shift).astype(np.intp)
        leaf = allnodes["is_leaf"].astype(bool)
        # Leaves point to themselves, so every tree can take max_depth steps without a check.
        own = np.arange(len(allnodes), dtype=np.intp)
        left[leaf] = own[leaf]
        right[leaf] = own[leaf]
        self.feature[leaf] = 0
        # Children side by side: node 2k + 0 goes left, 2k + 1 right (one gather per level).
        self.children = np.stack([left, right], axis=1).ravel()
        self.value = allnodes["value"].astype(np.float64)
        self.max_depth = int(allnodes["depth"].max()) if len(allnodes) else 0
        self.baseline = float(np.ravel(hgb._baseline_prediction)[0])

    def __setstate__(self, state: dict) -> None:
        # Forests pickled before ``children`` (model format 1) kept ``left`` and ``right``.
        if "children" not in state:
            state["children"] = np.stack([state.pop("left"), state.pop("right")], axis=1).ravel()
        self.__dict__.update(state)

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        n, n_features = X.shape
        flat = X.ravel()
        # Node numbers of every (row, tree), flattened; row r's features start at r * n_features.
        node = np.tile(self.roots, n)
        base = np.repeat(np.arange(n, dtype=np.intp) * n_features, len(self.roots))
        any_nan = bool(np.isnan(flat).any())
        for _ in range(self.max_depth):
            x = flat[base + self.feature[node]]
            go_right = ~(x <= self.threshold[node])  # NaN compares False: goes right ...
            if any_nan:  # ... unless the node sends missing values left
                go_right &= ~(np.isnan(x) & self.missing_left[node])
            node = self.children[2 * node + go_right]
        return self.value[node].reshape(n, len(self.roots)).sum(axis=1) + self.baseline


class SuccessRanker(ClassifierMixin, BaseEstimator):
    """Calibrated gradient boosting over pair features.

    Parameters
    ----------
    max_iter : int, default=150
        Most boosting iterations; early stopping on a validation share usually stops sooner.
        Fewer trees serve faster: prediction costs roughly a fixed overhead per tree.
    learning_rate : float, default=0.1
    max_leaf_nodes : int, default=15
    calibration : {"isotonic", "sigmoid"}, default="isotonic"
    cv : int, default=3
        Folds used to fit the calibrator on out-of-fold predictions.
    random_state : int, default=0
    n_threads : int or None, default=1
        OpenMP threads while fitting; on a small shared machine one thread is many times
        faster than an oversubscribed pool. None leaves OpenMP's default.

    Attributes
    ----------
    model_ : CalibratedClassifierCV
    feature_names_ : tuple of str
    base_rate_ : float
        Share of positive labels in the training pairs.
    n_positive_ : int
        Successes learned from (how far :func:`blend_scores` trusts the ranker).
    p_scale_ : float
        99th percentile of the training predictions.
    learned_weight_ : float or None
        Share of its history's weight :func:`blend_scores` gives the learned chance; None (as
        fitted) means all of it. The training pipeline sets it from validation data.
    firm_weight_ : float or None
        Weight :func:`blend_scores` gives the firm's past retention (``firm_retention``)
        beside the learned chance; None (as fitted) means 0. Set by the training pipeline.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, len(FEATURE_NAMES))).astype(np.float32)
    >>> y = (X[:, 0] + 0.3 * rng.normal(size=400) > 0.5).astype(int)
    >>> r = SuccessRanker(max_iter=30).fit(X, y)
    >>> p = r.predict_proba(X)[:, 1]
    >>> bool(p[y == 1].mean() > p[y == 0].mean())
    True
    """

    def __init__(
        self,
        max_iter: int = 150,
        learning_rate: float = 0.1,
        max_leaf_nodes: int = 15,
        calibration: Literal["isotonic", "sigmoid"] = "isotonic",
        cv: int = 3,
        random_state: int = 0,
        n_threads: int | None = 1,
    ) -> None:
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.calibration = calibration
        self.cv = cv
        self.random_state = random_state
        self.n_threads = n_threads

    def fit(self, X: np.ndarray | pd.DataFrame, y: np.ndarray) -> SuccessRanker:
        """Fit on a feature matrix (columns :data:`FEATURE_NAMES`) and 0/1 labels."""
        if self.calibration not in ("isotonic", "sigmoid"):
            raise ValueError(
                f"calibration {self.calibration!r} is not supported; use 'isotonic' or 'sigmoid'"
            )
        X = self._matrix(X)
        y = np.asarray(y).astype(int)
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]} labels")
        classes = set(np.unique(y).tolist())
        if classes != {0, 1}:
            raise ValueError(
                f"Training needs both outcomes (0 and 1); the labels hold only {sorted(classes)}. "
                "Are there retained_6m events among the pairs?"
            )
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.ensemble import HistGradientBoostingClassifier

        cv = max(2, min(int(self.cv), int(min(np.bincount(y)))))
        base = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            l2_regularization=1.0,
            early_stopping=y.shape[0] >= 2000,
            validation_fraction=0.15,
            n_iter_no_change=15,
            random_state=self.random_state,
            monotonic_cst=monotonic_constraints(),
        )
        # ensemble=False: one booster refit on all data plus a calibrator fit on out-of-fold
        # predictions, so that serving costs one model, not cv models.
        self.model_ = CalibratedClassifierCV(base, method=self.calibration, cv=cv, ensemble=False)
        if self.n_threads is None:
            self.model_.fit(X, y)
        else:
            with threadpool_limits(limits=int(self.n_threads), user_api="openmp"):
                self.model_.fit(X, y)
        self.classes_ = np.array([0, 1])
        calibrated = self.model_.calibrated_classifiers_[0]
        self.forest_ = _FlatForest(calibrated.estimator)
        self.calibrator_ = calibrated.calibrators[0]
        self.feature_names_ = FEATURE_NAMES
        self.base_rate_ = float(y.mean())
        self.n_train_ = int(y.shape[0])
        self.n_positive_ = int(y.sum())
        self.p_scale_ = float(max(np.quantile(self.predict_proba(X)[:, 1], 0.99), 1e-6))
        self.learned_weight_ = None
        self.firm_weight_ = None
        return self

    @staticmethod
    def _matrix(X: np.ndarray | pd.DataFrame) -> np.ndarray:
        if isinstance(X, pd.DataFrame):
            missing = [c for c in FEATURE_NAMES if c not in X.columns]
            if missing:
                raise ValueError(f"Feature table lacks columns {missing}")
            X = X[list(FEATURE_NAMES)].to_numpy(dtype=np.float32)
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != len(FEATURE_NAMES):
            raise ValueError(
                f"Expected a matrix with {len(FEATURE_NAMES)} feature columns, got shape {X.shape}"
            )
        return X

    def predict_proba(self, X: np.ndarray | pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities, shape (n, 2); column 1 is P(retained 6 months)."""
        check_is_fitted(self, "model_")
        X = self._matrix(X)
        if X.shape[0] == 0:
            return np.zeros((0, 2))
        p = np.clip(self._calibrate(self.forest_.decision_function(X)), 0.0, 1.0)
        return np.column_stack([1.0 - p, p])

    def _calibrate(self, scores: np.ndarray) -> np.ndarray:
        # The isotonic calibrator CalibratedClassifierCV fits clips out of bounds, so its
        # prediction is a linear interpolation over its thresholds; np.interp gives the same
        # numbers without ~1.3 ms of input validation on every ~100-row serving call.
        from sklearn.isotonic import IsotonicRegression

        cal = self.calibrator_
        if isinstance(cal, IsotonicRegression) and cal.out_of_bounds == "clip":
            return np.interp(scores, cal.X_thresholds_, cal.y_thresholds_)
        return cal.predict(scores)

    def predict(self, X: np.ndarray | pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def p_success(self, X: np.ndarray | pd.DataFrame) -> np.ndarray:
        """Shorthand for ``predict_proba(X)[:, 1]``."""
        return self.predict_proba(X)[:, 1]


__all__ = [
    "MONOTONE_INCREASING",
    "SuccessRanker",
    "MAX_SHIFT",
    "blend_scores",
    "label_pairs",
    "monotonic_constraints",
]
