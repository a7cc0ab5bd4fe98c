"""Training pipeline: encoder, ranker, evaluation, a new model version, ``models/current``.

:func:`train_models` trains from tables (jobs, workers, outcome events); the CLI's
``jobbridge train`` reads those from the database and calls it. :func:`train_default` is
what ``make demo`` runs: it generates the demo world the demo database is loaded with
(same sizes and seed as ``jobbridge load-demo``), simulates its outcomes and trains on them.

Steps (each reported on stderr with its duration when ``show_progress``):

1. reference data: the CSCO occupations, county/city coordinates and pairings
   (:func:`build_geography`);
2. split workers into training and test groups and events by time
   (:func:`training.evaluate.split_events`);
3. the encoder: ``"train"`` trains a sentence-transformers ``StaticEmbedding`` model with
   :func:`training.encoder.train_encoder` on occupation pairs, demo-world pairs of the
   *training* workers only, and placement pairs; a path loads a model; an object is used;
4. the held-out engine: its vocabulary learned from the reference text
   (:func:`training.base.reference_corpus`), the jobs and the training workers, indexing the
   test workers; the firms' 6-month retention learned from the training events
   (:class:`matcher.history.FirmRetention`, the ``firm_retention`` feature, left out for each
   training pair's own hire); its ranker trained on the training workers' events before the
   cutoff, its share of the blend chosen on validation data (:func:`choose_learned_weight`:
   the training workers' own held-out pairs, guarded by an independent world of another
   seed, whose firms have no history), evaluated with :func:`training.evaluate.evaluate`;
5. the served engine: learned from the reference text and all tables, the firms' retention
   and the ranker refitted on all events with the blend share chosen in step 4, saved
   (without index: serving builds it) as a new version with the evaluation figures in
   ``metadata.json``;
   ``models/current`` points at it only once it loads back.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from matcher.engine import MatchingEngine
from matcher.features import Geography
from matcher.history import FirmRetention
from matcher.persistence import data_snapshot, load_model, new_version_name, save_model, set_current
from matcher.ranker import SuccessRanker, blend_scores, label_pairs
from training.evaluate import (
    FULL,
    EvaluationReport,
    evaluate,
    independent_figures,
    independent_tables,
    product_crowding,
    split_events,
)

#: Sizes of the demo world ``jobbridge load-demo`` puts in the database (api/cli.py).
DEMO_WORKERS = 20_000
DEMO_JOBS = 3_000
DEMO_SEED = 0

DEFAULT_MODELS_DIR = "models"


class _Progress:
    """One line per step on stderr: ``[3/7] 训练编码器 … 41.2 s``."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled, self.n = total, enabled, 0
        self.timings: dict[str, float] = {}

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        self.n += 1
        if self.enabled:
            print(f"[{self.n}/{self.total}] {label} …", file=sys.stderr, flush=True)
        started = time.perf_counter()
        yield
        took = time.perf_counter() - started
        self.timings[label] = round(took, 2)
        if self.enabled:
            print(f"[{self.n}/{self.total}] {label} 完成 {took:.1f} s", file=sys.stderr, flush=True)


def build_geography(workers: pd.DataFrame | None = None) -> Geography:
    """County coordinates and paired cities, Jiangsu city coordinates, from :mod:`data.reference`.

    Every county of the programme is included, plus any other county code in ``workers``
    whose paired city is known (its coordinates stay unknown: the distance feature is NaN).
    """
    from data.reference import load_counties, load_places, paired_city

    places = load_places()
    coords = {
        str(p): (float(la), float(lo))
        for p, la, lo in zip(places["prefecture"], places["lat"], places["lon"], strict=True)
    }
    counties = load_counties()
    county_coords: dict[str, tuple[float, float]] = {}
    county_paired: dict[str, str] = {}
    for code, pref in zip(counties["county_code"], counties["prefecture"], strict=True):
        if pref in coords:
            county_coords[code] = coords[pref]
        county_paired[code] = paired_city(code)
    if workers is not None and "county_code" in workers.columns:
        for code in set(workers["county_code"].dropna().astype(str)) - set(county_paired):
            try:
                county_paired[code] = paired_city(code)
            except ValueError:
                continue
    jiangsu = places[places["province"] == "江苏省"] if "province" in places.columns else places
    city_coords = {str(p): coords[str(p)] for p in jiangsu["prefecture"]}
    return Geography(
        county_coords=county_coords, county_paired_city=county_paired, city_coords=city_coords
    )


def _placement_pairs(
    jobs: pd.DataFrame, workers: pd.DataFrame, events: pd.DataFrame
) -> list[tuple[str, str]]:
    """(skills text, job title) of placements that lasted 6 months: the outcome pairs."""
    kept = events.loc[events["stage"] == "retained_6m", ["worker_id", "job_id"]].drop_duplicates()
    skills = workers.set_index("worker_id")["skills_text"]
    titles = jobs.set_index("job_id")["title"]
    pairs = []
    for w, j in zip(kept["worker_id"], kept["job_id"], strict=True):
        s, t = skills.get(w, ""), titles.get(j, "")
        if isinstance(s, str) and s.strip() and isinstance(t, str) and t.strip():
            pairs.append((s, t))
    return pairs


def _train_encoder(
    jobs: pd.DataFrame,
    workers: pd.DataFrame,
    events: pd.DataFrame,
    occupations: pd.DataFrame,
    world: Any,
    train_ids: np.ndarray,
    output: Path,
    show_progress: bool,
    seed: int,
) -> Any:
    from training.encoder import occupation_pairs, train_encoder, world_pairs

    pairs = occupation_pairs(occupations)
    if world is not None:
        # Only the training workers' truth: test workers must stay unseen by every model.
        keep = world.workers["worker_id"].isin(train_ids)
        view = SimpleNamespace(
            jobs=world.jobs,
            workers=world.workers[keep].reset_index(drop=True),
            truth=world.truth[world.truth["worker_id"].isin(train_ids)].reset_index(drop=True),
        )
        pairs += world_pairs(view, occupations)
    pairs += _placement_pairs(jobs, workers[workers["worker_id"].isin(train_ids)], events)
    corpus = list(jobs["title"].astype(str)) + list(workers["skills_text"].fillna("").astype(str))
    return train_encoder(pairs, output, corpus=corpus, show_progress=show_progress, seed=seed)


def _training_features(
    engine: MatchingEngine,
    labels: pd.DataFrame,
    events: pd.DataFrame,
    jobs: pd.DataFrame,
    workers: pd.DataFrame,
) -> pd.DataFrame:
    """Features of labelled pairs from ``events`` (which the engine's ``firm_history`` counted):
    the firm's retention with the pair's own hire left out (:meth:`FirmRetention.leave_one_out`)."""
    history = engine.firm_history
    lift = None if history is None else history.leave_one_out(labels, events, jobs)
    return engine.pair_features(labels, jobs=jobs, workers=workers, firm_lift=lift)


def _fit_ranker(
    engine: MatchingEngine,
    events: pd.DataFrame,
    jobs: pd.DataFrame,
    workers: pd.DataFrame,
    seed: int,
) -> SuccessRanker:
    labels = label_pairs(events)
    known = labels["worker_id"].isin(workers["worker_id"]) & labels["job_id"].isin(jobs["job_id"])
    labels = labels[known].reset_index(drop=True)
    feats = _training_features(engine, labels, events, jobs, workers)
    return SuccessRanker(random_state=seed).fit(feats, labels["label"].to_numpy())


def fit_firm_history(events: pd.DataFrame, jobs: pd.DataFrame) -> FirmRetention | None:
    """The firms' 6-month retention learned from ``events`` (None when no hire is resolved)."""
    history = FirmRetention().fit(events, jobs)
    return history if len(history.firm_ids_) else None


#: Shares of its history's weight the learned chance may get (``learned_weight_`` of
#: :func:`matcher.ranker.blend_scores`) that :func:`choose_learned_weight` tries; 0 is the
#: prior alone.
WEIGHT_CANDIDATES: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)

#: Shares of the learned chance where the history knows the pair's firm (``seen_weight_`` of
#: :func:`matcher.ranker.blend_scores`) :func:`choose_learned_weight` tries: beyond 1, up to
#: where the learned chance orders such pairs alone (the blend caps its share at 1), since a
#: firm's own record of hires is the outcome history the prior stands in for. On the demo
#: history (8,450 successes, prior_strength 5,000, so 1 is a share of 0.63) the validation AUC
#: still rose from 0.75 to 1 (0.727 to 0.734).
SEEN_WEIGHT_CANDIDATES: tuple[float, ...] = (*WEIGHT_CANDIDATES, 1.25, 1.5, 2.0)

#: Weights of the firm's past retention in the blend (``firm_weight_`` of
#: :func:`matcher.ranker.blend_scores`) :func:`choose_learned_weight` tries on the history's
#: validation pairs; 0 leaves the firm out. A lift of 0.1 (a firm keeping 10 points more of
#: its hires than all firms, after smoothing) moves a pair 0.1 × weight on the prior's scale.
FIRM_WEIGHT_CANDIDATES: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 2.0)

#: Guard NDCG@10 differences :func:`choose_learned_weight` counts as ties: on the guard
#: world's 200 workers and 200 jobs, 0.25 and 0.5 scored 0.8605 both (demo history, trained
#: encoder), and the larger then ranked the reported independent world below the prior
#: alone (0.898 against 0.901). Also how far one direction may fall under the prior's:
#: with the jobs' second readings (before FIRST_READING_WEIGHT) the mean rose to 0.8689 at
#: 0.5 while jobs for a worker fell from 0.8975 to 0.8937, and the reported world's with it
#: (0.905 to 0.894).
GUARD_TIE = 5e-4

#: The independent world :func:`choose_learned_weight` guards with: another seed than the
#: one the figures are reported on (:data:`data.eval_world.EVAL_SEED`), so that the choice
#: is not fitted to the reported world, and more workers, so that it is less noisy.
VALIDATION_WORLD = {"seed": 20_250_302, "n_jobs": 1000, "n_workers": 200}


def choose_learned_weight(
    engine: MatchingEngine,
    params: dict[str, Any],
    ranker: SuccessRanker,
    events: pd.DataFrame,
    jobs: pd.DataFrame,
    workers: pd.DataFrame,
    *,
    seed: int = 0,
    candidates: tuple[float, ...] = WEIGHT_CANDIDATES,
    firm_candidates: tuple[float, ...] = FIRM_WEIGHT_CANDIDATES,
    seen_candidates: tuple[float, ...] = SEEN_WEIGHT_CANDIDATES,
    validation_fraction: float = 0.2,
) -> dict[str, Any]:
    """How much of its history's weight the learned chance gets, chosen on validation data.

    Two checks per candidate weight, neither on a set the figures are reported on:

    * *the history's own validation*: a ranker trained on ``events`` of all but a random
      ``validation_fraction`` of ``workers`` (the training workers), blended with the prior
      at the candidate weight, scores the validation workers' labelled pairs; the measure is
      the AUC of the blended score against ``retained_6m``;
    * *the guard*: ``ranker`` (trained on all of ``events``) ranks an independent world of
      :data:`VALIDATION_WORLD` (:mod:`data.eval_world`, labour-bureau relevance), measured by
      the mean of its two NDCG@10 (jobs for a worker, workers for a job).

    The weight is chosen by :func:`pick_guarded_weight`: the best guard NDCG among the
    weights under which neither direction of the guard world falls below the prior's alone
    (weight 0) and whose validation AUC beats the prior's, the smallest of those within
    :data:`GUARD_TIE` of the best: the independent world says how far a ranker trained on
    this history may go, the history's own validation that it adds anything at all. Weight 0
    is a candidate, so the choice never ranks the guard world below the prior alone, and a
    ranker whose history teaches nothing that holds beyond its own world leaves the prior as
    it is.

    Then the firm's past retention gets its own weight (``firm_weight_``, from
    ``firm_candidates``) at the chosen weight, by the validation AUC alone: the guard world's
    firms have no history, so it cannot judge that term, and the term leaves it unchanged.
    So, by the same AUC, does the learned chance's share where the history knows the pair's
    firm (``seen_weight_``, from ``seen_candidates``, no lower than the chosen weight).

    ``engine`` is learned (vocabulary, encoder) on the training tables; ``params`` build the
    independent world's engine. ``ranker.learned_weight_``, ``ranker.firm_weight_`` and
    ``ranker.seen_weight_`` are set to the choices.

    Returns
    -------
    dict
        ``learned_weight`` and ``table``: per candidate ``weight``, ``validation_auc``,
        ``guard_jobs_ndcg@10``, ``guard_workers_ndcg@10``, ``guard_ndcg@10`` (their mean) and
        ``passes``; ``firm_weight`` and ``firm_table`` (per candidate ``firm_weight``,
        ``validation_auc``); ``seen_weight`` and ``seen_table`` (per candidate
        ``seen_weight``, ``validation_auc``).
    """
    from sklearn.metrics import roc_auc_score

    from data import eval_world as ew

    ids = workers["worker_id"].to_numpy(dtype=np.int64)
    is_val = np.random.default_rng(seed).random(len(ids)) < validation_fraction
    labels = label_pairs(events)
    labels = labels[labels["job_id"].isin(jobs["job_id"])]
    val_labels = labels[labels["worker_id"].isin(ids[is_val])].reset_index(drop=True)
    fit_events = events[events["worker_id"].isin(ids[~is_val])]
    aucs: dict[float, float | None] = dict.fromkeys(candidates)
    validation = None
    if val_labels["label"].nunique() == 2 and fit_events["stage"].eq("retained_6m").any():
        inner = _fit_ranker(engine, fit_events, jobs, workers, seed)
        X = inner._matrix(_training_features(engine, val_labels, events, jobs, workers))
        p = inner.p_success(X)
        prior = X[:, list(inner.feature_names_).index("prior_score")]
        y = val_labels["label"].to_numpy()
        strength = float(params.get("prior_strength", MatchingEngine().prior_strength))
        for weight in candidates:
            inner.learned_weight_ = weight
            aucs[weight] = float(roc_auc_score(y, blend_scores(inner, p, prior, strength)))
        history = engine.firm_history
        evidence = (
            None
            if history is None
            else history.leave_one_out(val_labels, events, jobs, evidence=True)
        )
        validation = _Validation(inner, X, p, prior, y, strength, evidence)

    world = ew.generate_eval_world(**VALIDATION_WORLD)
    # The guard world's firms are not the history's: none of them has a retention record.
    guard = MatchingEngine(
        **{**params, "ranker": ranker, "firm_history": None, "as_of": world.as_of}
    )
    guard.fit(world.jobs, world.workers)
    table = []
    for weight in candidates:
        ranker.learned_weight_ = weight
        a, b = independent_tables(guard, world, n_jobs=200, seed=seed)
        table.append(
            {
                "weight": weight,
                "validation_auc": aucs[weight],
                "guard_jobs_ndcg@10": a[FULL]["ndcg@10"],
                "guard_workers_ndcg@10": b[FULL]["ndcg@10"],
                "guard_ndcg@10": (a[FULL]["ndcg@10"] + b[FULL]["ndcg@10"]) / 2,
            }
        )
    best = pick_guarded_weight(table)
    ranker.learned_weight_ = float(best["weight"])
    firm = _choose_firm_weight(validation, float(best["weight"]), firm_candidates)
    ranker.firm_weight_ = firm["firm_weight"]
    seen = _choose_seen_weight(
        validation, float(best["weight"]), firm["firm_weight"], seen_candidates
    )
    ranker.seen_weight_ = seen["seen_weight"]
    return {"learned_weight": float(best["weight"]), "table": table, **firm, **seen}


def pick_guarded_weight(table: list[dict[str, Any]], tie: float = GUARD_TIE) -> dict[str, Any]:
    """The row of :func:`choose_learned_weight`'s ``table`` whose weight is taken; sets each
    row's ``passes``.

    A weight *passes* when neither direction of the guard world (jobs for a worker, workers
    for a job) falls more than ``tie`` under the prior's alone (weight 0): the trained model
    may never rank the independent world below the base model, and a ranker that helps one
    question while it harms the other is not let in by the mean of the two. Among the
    weights that pass and whose validation AUC beats the prior's, the best guard NDCG (the
    mean) wins, the smallest of those within ``tie`` of it (they cannot be told apart, and
    the smaller moves the prior less). Weight 0 always passes.

    >>> rows = [dict(weight=w, validation_auc=a, **{"guard_jobs_ndcg@10": j,
    ...     "guard_workers_ndcg@10": k, "guard_ndcg@10": (j + k) / 2})
    ...     for w, a, j, k in [(0.0, 0.6, 0.90, 0.83), (0.25, 0.7, 0.895, 0.84),
    ...                        (0.5, 0.7, 0.902, 0.835)]]
    >>> pick_guarded_weight(rows)["weight"], [r["passes"] for r in rows]
    (0.5, [True, False, True])
    """
    prior_alone = next((r for r in table if r["weight"] == 0.0), None)
    sides = ("guard_jobs_ndcg@10", "guard_workers_ndcg@10")
    prior_auc = prior_alone["validation_auc"] if prior_alone else None
    for r in table:
        r["passes"] = prior_alone is None or all(
            r[side] >= prior_alone[side] - tie for side in sides
        )
    eligible = [
        r
        for r in table
        if r["weight"] == 0.0
        or (
            r["passes"]
            and (
                r["validation_auc"] is None or prior_auc is None or r["validation_auc"] > prior_auc
            )
        )
    ]
    top = max(r["guard_ndcg@10"] for r in eligible)
    return min((r for r in eligible if r["guard_ndcg@10"] >= top - tie), key=lambda r: r["weight"])


class _Validation(NamedTuple):
    """The history's own validation pairs, scored by a ranker fitted without their workers:
    what :func:`_choose_firm_weight` and :func:`_choose_seen_weight` choose by."""

    inner: Any  # the ranker fitted on the other workers' events
    X: np.ndarray  # the pairs' features
    p: np.ndarray  # the ranker's chance for each pair
    prior: np.ndarray  # the pairs' prior scores
    y: np.ndarray  # their labels
    strength: float  # prior_strength
    evidence: np.ndarray | None  # each pair's firm evidence, its own pair left out

    @property
    def lift(self) -> np.ndarray:
        """The pairs' ``firm_retention`` feature."""
        return self.X[:, list(self.inner.feature_names_).index("firm_retention")]


def _choose_seen_weight(
    validation: _Validation | None,
    learned_weight: float,
    firm_weight: float,
    candidates: tuple[float, ...],
) -> dict[str, Any]:
    """The learned chance's share where the history knows the pair's firm (``seen_weight_``
    of :func:`matcher.ranker.blend_scores`, reached in proportion to the firm's
    :meth:`~matcher.history.FirmRetention.evidence`): of the ``candidates`` no lower than
    ``learned_weight`` (the share the guard world allows where no firm is known), the one
    whose blended score has the best AUC on the history's validation pairs, whose firms the
    history has seen; ``learned_weight`` itself unless one beats it by more than 1e-4. The
    guard world cannot judge it: its firms have no history, so there every pair keeps
    ``learned_weight``."""
    if validation is None or validation.evidence is None:
        return {"seen_weight": learned_weight, "seen_table": []}
    inner, _, p, prior, y, strength, evidence = validation
    from sklearn.metrics import roc_auc_score

    lift = validation.lift
    inner.learned_weight_, inner.firm_weight_ = learned_weight, firm_weight
    table = []
    for c in sorted({learned_weight, *(c for c in candidates if c >= learned_weight)}):
        inner.seen_weight_ = c
        score = blend_scores(inner, p, prior, strength, firm_lift=lift, evidence=evidence)
        table.append({"seen_weight": c, "validation_auc": float(roc_auc_score(y, score))})
    inner.seen_weight_ = None
    base = next(r["validation_auc"] for r in table if r["seen_weight"] == learned_weight)
    best = max(table, key=lambda r: (round(r["validation_auc"], 4), -r["seen_weight"]))
    chosen = float(best["seen_weight"]) if best["validation_auc"] > base + 1e-4 else learned_weight
    return {"seen_weight": chosen, "seen_table": table}


def _choose_firm_weight(
    validation: _Validation | None, learned_weight: float, candidates: tuple[float, ...]
) -> dict[str, Any]:
    """The weight of the firm's past retention in the blend (``firm_weight_`` of
    :func:`matcher.ranker.blend_scores`): the candidate whose blended score has the best AUC
    on the history's validation pairs, 0 unless one beats leaving the firm out. The guard
    world cannot judge it (its firms have no history, the term is 0 there)."""
    if validation is None:
        return {"firm_weight": 0.0, "firm_table": []}
    inner, _, p, prior, y, strength, _ = validation
    from sklearn.metrics import roc_auc_score

    lift = validation.lift
    inner.learned_weight_ = learned_weight
    table = []
    for f in sorted({0.0, *candidates}):
        inner.firm_weight_ = f
        auc = float(roc_auc_score(y, blend_scores(inner, p, prior, strength, firm_lift=lift)))
        table.append({"firm_weight": f, "validation_auc": auc})
    base = next(r["validation_auc"] for r in table if r["firm_weight"] == 0.0)
    best = max(table, key=lambda r: (round(r["validation_auc"], 4), -r["firm_weight"]))
    chosen = float(best["firm_weight"]) if best["validation_auc"] > base else 0.0
    return {"firm_weight": chosen, "firm_table": table}


def train_models(
    jobs: pd.DataFrame,
    workers: pd.DataFrame,
    events: pd.DataFrame,
    *,
    models_dir: str | Path = DEFAULT_MODELS_DIR,
    encoder: Any = "train",
    show_progress: bool = True,
    seed: int = 0,
    world: Any = None,
    test_fraction: float = 0.2,
    engine_params: dict[str, Any] | None = None,
    n_eval_workers: int = 300,
    n_eval_jobs: int = 200,
    version: str | None = None,
) -> Path:
    """Train the engine's models, evaluate them, write a new version and make it current.

    Parameters
    ----------
    jobs, workers, events : DataFrame
        Tables in the shape of :mod:`data.schema` (all job statuses: filled jobs still teach).
    models_dir : path
        Where version folders and ``current`` live.
    encoder : "train", path, object or None
        ``"train"`` trains the default sentence-transformers model; a path loads one; an
        object with ``encode`` is used as is; None uses the training-free char n-gram encoder.
    world : data.demo.DemoWorld, optional
        The demo world the tables come from: its hidden truth grades the evaluation
        (without it only the retention metrics are computed).
    engine_params : dict, optional
        Extra :class:`MatchingEngine` parameters (``lexical_weight``, ``candidate_pool``…).

    Returns
    -------
    Path
        The new version folder (``models/current`` now names it).
    """
    from data.reference import load_occupations
    from training.base import reference_corpus
    from training.coder import default_coder, split_testcases
    from training.coder_eval import evaluate_coder

    if len(events) == 0:
        raise ValueError(
            "no outcome events to train the ranker on (没有就业结果事件，无法训练排序模型)"
        )
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    version = version or new_version_name(models_dir)
    progress = _Progress(total=7, enabled=show_progress)
    started = time.perf_counter()

    with progress.step("读取参考数据（职业分类、地理、结对关系）"):
        occupations = load_occupations(4)
        geography = build_geography(workers)
        coder = default_coder()
        corpus = reference_corpus()
    with progress.step("按劳动力与时间切分训练/测试"):
        split = split_events(workers, events, test_fraction=test_fraction, seed=seed)

    tmp = None
    with progress.step("准备编码器"):
        if isinstance(encoder, str) and encoder == "train":
            tmp = tempfile.TemporaryDirectory(prefix="jobbridge-encoder-")
            enc = _train_encoder(
                jobs,
                workers,
                split.train_events,
                occupations,
                world,
                split.train_workers,
                Path(tmp.name) / "encoder",
                show_progress,
                seed,
            )
        else:
            enc = encoder
    params = dict(
        encoder=enc,
        geography=geography,
        occupations=occupations[["code", "name"]],
        occupation_coder=coder,
        as_of=getattr(world, "as_of", None),
        **(engine_params or {}),
    )
    try:
        report = _held_out_report(
            params,
            world,
            split,
            jobs,
            workers,
            progress,
            seed=seed,
            n_eval_workers=n_eval_workers,
            n_eval_jobs=n_eval_jobs,
            corpus=corpus,
        )
        if show_progress:
            print(report.to_text(), file=sys.stderr, flush=True)
        with progress.step("用全部事件训练上线排序模型"):
            # The vocabulary is learned here, with the reference text and the training tables,
            # and saved with the ranker that learns from features computed with it.
            history = fit_firm_history(events, jobs)
            final = MatchingEngine(**{**params, "firm_history": history}).learn(
                corpus, jobs=jobs, workers=workers
            )
            final.build_index(jobs, workers)
            served = _fit_ranker(final, events, jobs, workers, seed)
            # The weight the held-out run chose on validation data (the served ranker learns
            # from more history, so n / (n + prior_strength) grows by itself).
            served.learned_weight_ = report.setup["blend"]["learned_weight"]
            served.firm_weight_ = report.setup["blend"].get("firm_weight", 0.0)
            served.seen_weight_ = report.setup["blend"].get("seen_weight")
            final.set_ranker(served)
        with progress.step(f"保存模型版本 {version} 并设为当前版本"):
            meta = {
                "kind": "trained",
                "data": {
                    **data_snapshot(jobs=jobs, workers=workers, events=events),
                    "reference_texts": len(corpus),
                },
                "evaluation": report.to_dict(),
                # The occupation coder on the held-out real job-board titles (training.coder).
                "coder_evaluation": evaluate_coder(coder, split_testcases()[1]),
                "training": {
                    "seed": seed,
                    "test_fraction": test_fraction,
                    "n_train_workers": int(len(split.train_workers)),
                    "n_test_workers": int(len(split.test_workers)),
                    "n_train_events": int(len(split.train_events)),
                    "n_test_events": int(len(split.test_events)),
                    "demo_world": None
                    if world is None
                    else {
                        "seed": getattr(world, "seed", None),
                        "as_of": str(getattr(world, "as_of", "")),
                    },
                    "encoder": "trained"
                    if isinstance(encoder, str) and encoder == "train"
                    else repr(encoder)[:200],
                },
            }
            folder = save_model(final, models_dir / version, meta, include_index=False)
            load_model(folder)  # never make current a version that does not load back
            set_current(models_dir, version)
    finally:
        if tmp is not None:
            tmp.cleanup()
    if show_progress:
        print(
            f"训练完成，共 {time.perf_counter() - started:.1f} s → {folder}",
            file=sys.stderr,
            flush=True,
        )
    _record_timings(folder, progress.timings, time.perf_counter() - started)
    return folder


def _record_timings(folder: Path, timings: dict[str, float], total: float) -> None:
    import json

    path = folder / "metadata.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta.setdefault("training", {})["timings_s"] = {**timings, "total": round(total, 1)}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(path)


def _held_out_report(
    params: dict[str, Any],
    world: Any,
    split: Any,
    jobs: pd.DataFrame,
    workers: pd.DataFrame,
    progress: _Progress,
    *,
    seed: int,
    n_eval_workers: int,
    n_eval_jobs: int,
    corpus: list[str] | None = None,
) -> EvaluationReport:
    """Two progress steps: an engine that learned from the reference text, the jobs and the
    training workers only, indexing the test workers, with a ranker trained on the training
    events only; then its evaluation on the test events (:func:`evaluate`)."""
    if corpus is None:
        from training.base import reference_corpus

        corpus = reference_corpus()
    with progress.step("训练留出评估用的排序模型"):
        test_workers = workers[workers["worker_id"].isin(split.test_workers)].reset_index(drop=True)
        train_workers = workers[workers["worker_id"].isin(split.train_workers)].reset_index(
            drop=True
        )
        # The firms' retention from the training events only; the independent worlds below
        # have other firms, without history (params carry no firm_history).
        params = {**params, "firm_history": None}
        history = fit_firm_history(split.train_events, jobs)
        held_out = MatchingEngine(**{**params, "firm_history": history}).learn(
            corpus, jobs=jobs, workers=train_workers
        )
        held_out.build_index(jobs, test_workers)
        ranker = _fit_ranker(held_out, split.train_events, jobs, train_workers, seed)
        blend = choose_learned_weight(
            held_out, params, ranker, split.train_events, jobs, train_workers, seed=seed
        )
        held_out.set_ranker(ranker)
    with progress.step("评估（两个世界：NDCG@10、Recall@50、AUC、校准、硬规则违规、拥挤）"):
        report = evaluate(
            world,
            split.test_events,
            held_out,
            n_workers=n_eval_workers,
            n_jobs=n_eval_jobs,
            seed=seed,
            base_rate=ranker.base_rate_,
            cutoff=split.cutoff,
            jobs=jobs,
            workers=workers,
        )
        report.setup["blend"] = blend
        # The independent world: the engine's settings and encoder with no outcome history
        # (the prior alone), and with the ranker the demo world's history taught.
        report.independent, crowd = independent_figures(params, ranker, seed=seed)
        report.crowding = {"独立世界": crowd}
        if world is not None:
            from data.outcomes import true_pair_utility

            rng = np.random.default_rng(seed)
            ids = held_out.workers_index_.active_ids()
            sample = rng.choice(ids, size=min(n_eval_workers, len(ids)), replace=False)
            report.crowding["演示世界"] = product_crowding(
                held_out, sample, lambda w, j: true_pair_utility(world, w, j)
            )
        return report


def evaluate_default(
    models_dir: str | Path = DEFAULT_MODELS_DIR,
    world: Any = None,
    *,
    events: pd.DataFrame | None = None,
    show_progress: bool = True,
    seed: int = DEMO_SEED,
    test_fraction: float = 0.2,
    n_eval_workers: int = 300,
    n_eval_jobs: int = 200,
) -> EvaluationReport:
    """``jobbridge evaluate``: re-run the held-out evaluation of the model in service.

    The served ranker has seen every event, so it is not evaluated as is: its encoder and
    parameters are kept, a ranker is trained on the training split only, and the engine is
    scored on the test workers of the demo world (regenerated as ``load-demo`` makes it, or
    ``world``/``events`` given). The figures of the training run itself are in the version's
    ``metadata.json`` (:func:`stored_report`).
    """
    from matcher.persistence import load_current

    served = load_current(models_dir)
    if world is None:
        world, events = demo_world_and_events()
    elif events is None:
        from data.outcomes import historical_pairs, simulate_outcomes

        events = simulate_outcomes(world, historical_pairs(world, seed=seed), seed=seed)
    jobs, workers = world.jobs, world.workers
    split = split_events(workers, events, test_fraction=test_fraction, seed=seed)
    params = {**served.get_params(deep=False), "ranker": None, "as_of": world.as_of}
    progress = _Progress(total=2, enabled=show_progress)
    return _held_out_report(
        params,
        world,
        split,
        jobs,
        workers,
        progress,
        seed=seed,
        n_eval_workers=n_eval_workers,
        n_eval_jobs=n_eval_jobs,
    )


def stored_report(models_dir: str | Path = DEFAULT_MODELS_DIR) -> EvaluationReport:
    """The evaluation written into the current version's metadata by :func:`train_models`."""
    from matcher.persistence import current_version, read_metadata

    version = current_version(models_dir)
    if version is None:
        raise ValueError(f"no current model in {str(models_dir)!r}; run `jobbridge train` first")
    ev = read_metadata(Path(models_dir) / version).get("evaluation")
    if not ev:
        raise ValueError(f"model {version!r} carries no evaluation figures")
    return EvaluationReport(
        ev["jobs_for_workers"],
        ev["workers_for_jobs"],
        ev["retention"],
        ev.get("setup", {}),
        ev.get("independent"),
        ev.get("crowding"),
    )


def demo_world_and_events(
    n_workers: int = DEMO_WORKERS,
    n_jobs: int = DEMO_JOBS,
    seed: int = DEMO_SEED,
    show_progress: bool = False,
) -> tuple[Any, pd.DataFrame]:
    """The demo world and outcome events ``jobbridge load-demo`` loads (same sizes and seed)."""
    from data.demo import generate_world
    from data.outcomes import historical_pairs, simulate_outcomes

    world = generate_world(n_workers, n_jobs, seed=seed, show_progress=show_progress)
    pairs = historical_pairs(world, worker_sample=min(n_workers, 20_000), seed=seed)
    return world, simulate_outcomes(world, pairs, seed=seed)


def train_default(
    database_url: str | None = None,
    models_dir: str | Path = DEFAULT_MODELS_DIR,
    world: Any = None,
    *,
    events: pd.DataFrame | None = None,
    encoder: Any = "train",
    show_progress: bool = True,
    seed: int = DEMO_SEED,
) -> Path:
    """Train the default models for ``make demo`` on the demo world.

    ``training/`` may not read the database (it imports only ``matcher`` and ``data``), so
    ``database_url`` is only recorded: the demo database holds the same generated world
    (``jobbridge load-demo`` uses the same sizes and seed), which is regenerated here. To
    train on a database's real events, read its tables and call :func:`train_models`.
    """
    if world is None:
        with _Progress(1, show_progress).step(
            f"生成演示数据（劳动力 {DEMO_WORKERS}、岗位 {DEMO_JOBS}）"
        ):
            world, events = demo_world_and_events(show_progress=False)
    elif events is None:
        from data.outcomes import historical_pairs, simulate_outcomes

        events = simulate_outcomes(world, historical_pairs(world, seed=seed), seed=seed)
    folder = train_models(
        world.jobs,
        world.workers,
        events,
        models_dir=models_dir,
        encoder=encoder,
        show_progress=show_progress,
        seed=seed,
        world=world,
    )
    if database_url is not None:
        import json

        path = folder / "metadata.json"
        meta = json.loads(path.read_text(encoding="utf-8"))
        meta["training"]["database_url_recorded"] = _mask_url(database_url)
        path.write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    return folder


def _mask_url(url: str) -> str:
    """The URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


__all__ = [
    "DEMO_JOBS",
    "DEMO_SEED",
    "DEMO_WORKERS",
    "EvaluationReport",
    "FIRM_WEIGHT_CANDIDATES",
    "VALIDATION_WORLD",
    "SEEN_WEIGHT_CANDIDATES",
    "WEIGHT_CANDIDATES",
    "build_geography",
    "choose_learned_weight",
    "demo_world_and_events",
    "pick_guarded_weight",
    "evaluate_default",
    "stored_report",
    "train_default",
    "train_models",
]
