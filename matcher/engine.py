"""The matching engine: hard rules, hybrid retrieval, learned ranking and reasons.

:class:`MatchingEngine` has a scikit-learn estimator's shape: ``__init__`` stores
parameters, and what is learned is kept apart from what is indexed:

* :meth:`MatchingEngine.learn` fits the model version's state — the lexical vocabulary and
  idf weights (on reference text and training tables), the occupation coder's context, the
  encoder — and is run by training (``jobbridge train``, ``jobbridge init-db``'s base model);
* :meth:`MatchingEngine.build_index` encodes and indexes the open jobs and the registered
  workers with that state, fitting nothing: the service loads a version and calls it, so
  every process ranks with the same vocabulary the ranker was trained with;
* :meth:`MatchingEngine.fit` is both at once, for training runs and tests.

The ``recommend_*`` methods answer from the index. For one worker it

1. keeps only the jobs the hard rules allow (:mod:`matcher.rules`, vectorised);
2. scores them by ``(1 - lexical_weight) * dense + lexical_weight * lexical`` — the encoder's
   cosine plus a character n-gram TF-IDF cosine — and keeps the best ``candidate_pool``;
3. computes pair features (:mod:`matcher.features`) and orders the pool by the prior
   ranking (main trade, second trades, wishes, city, wage), blended with the ranker's
   calibrated ``p_success`` as outcome history grows (retrieval score as tiebreak);
4. attaches 2–4 Chinese reasons (:mod:`matcher.reasons`).

Recommending workers for a job runs the same steps the other way round. Jobs and workers
added, changed or closed after ``build_index`` show in results at once (``add_jobs``,
``update_jobs``, ``remove_jobs`` and the same for workers): they are encoded on insert and
tombstoned on removal; nothing is retrained.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import sklearn
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

from matcher.features import (
    FEATURE_NAMES,
    HIERARCHY_SIMILARITY,
    Context,
    Geography,
    NameOccupationCoder,
    PreparedJobs,
    PreparedWorkers,
    pair_features,
    prepare_jobs,
    prepare_workers,
    prior_grade,
    rowwise_dot,
    rowwise_sparse_dot,
)
from matcher.index import ItemIndex, top_k_rows
from matcher.ranker import blend_scores
from matcher.reasons import explain, no_trade_notice
from matcher.rules import (
    DEFAULT_EDUCATION_RANKS,
    CertificateVocabulary,
    jobs_mask_for_worker,
    pair_mask,
    workers_mask_for_job,
)

_PRIOR = FEATURE_NAMES.index("prior_score")
_FIRM = FEATURE_NAMES.index("firm_retention")
_SKILL = FEATURE_NAMES.index("skill_fit")
# Same detailed occupation or same minor group: "the worker's own trade" for the notice.
_OWN_TRADE = HIERARCHY_SIMILARITY[3]


# Applicants per open place a job takes before crowding prices it (most who are recommended
# a job never apply; three per place still fill it).
_PER_PLACE = 3.0
#: Recommendations per open place the whole register's lists may give a job before
#: :meth:`MatchingEngine.price_crowding` prices it. Higher than a batch's: every worker of the
#: register holds ten, and few apply to more than one. On the demo world (3,960 held-out
#: workers, 2,342 open jobs, spread 0.05, benchmarks/bench_crowding.py) 3 / 10 / 30 priced
#: 1,038 / 475 / 152 jobs and cut the register's top-1% share from 0.135 to 0.129 / 0.119 /
#: 0.117 for 0.0054 / 0.0067 / 0.0048 of NDCG@10: pricing only the jobs the register truly
#: over-subscribes moves fewer answers and moves the ones that crowd. With the trained encoder
#: at spread 0.01, 10 / 30 / 100 gave 0.125 / 0.127 / 0.138 (from 0.145) for 0.012 / 0.008 /
#: 0.003.
REGISTER_PER_PLACE = 30.0
#: Main-trade clauses whose vectors each process memoises (:meth:`MatchingEngine._clause_vectors`):
#: about 2 KB each with a 256-wide encoder, 4,096 of them some 8 MB.
CLAUSE_CACHE_SIZE = 4096
# The job columns each jobs answer carries (reasons read the rest of the row).
_JOB_ITEM_COLUMNS = (
    "job_id",
    "firm_id",
    "firm_name",
    "title",
    "city",
    "wage_min",
    "wage_max",
    "occ_code",
)
# Score points over which a worker's expected application spreads across their candidates
# (:func:`capacity_prices`): close to the gap between two jobs of the same grade.
_CROWD_TEMPERATURE = 0.01


class Recommendations(list):
    """The answer of ``recommend_*``: a list of items, best first, plus ``notice``.

    ``notice`` is None, or a sentence for the clerk when the hard rules leave no job in the
    worker's own trade among the answers ("暂无同时提供清真食堂和宿舍的缝纫工岗位，以下为其他
    可选岗位"). Being a list, it serialises and compares as before.
    """

    notice: str | None = None


def _unchecked(method: Any) -> Any:
    """Run ``method`` without scikit-learn's per-call checks of parameters and finiteness.

    One answer calls scikit-learn's transforms and the ranker on a handful of rows, built
    here from validated records; on so few rows the checks (signature inspection, dataframe
    detection, a NaN scan) cost more than the work: about 0.5 ms of each transform call,
    a third of a match's time at 1,000,000 workers."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            return method(*args, **kwargs)

    return wrapper


@dataclasses.dataclass(frozen=True)
class CrowdingPrices:
    """Capacity prices of an index's crowded jobs (:meth:`MatchingEngine.price_crowding`),
    applied by :meth:`MatchingEngine.recommend_jobs`.

    They are data of the index, like its rows: computed once when an index (snapshot) is
    built and read by every process, never per query. ``job_ids`` are sorted and hold only
    the jobs priced above 0; a job not among them (one added since, or never crowded) loses
    nothing.

    Attributes
    ----------
    job_ids : ndarray of int64, sorted
    prices : ndarray of float64, in ``(0, spread]``, aligned with ``job_ids``
    spread : float
        The most score points a job may lose (the prices' ceiling).
    facts : dict
        How they were computed: ``workers_priced`` (the sample), ``workers_indexed``,
        ``jobs_priced``, ``k``, ``seconds``.
    """

    job_ids: np.ndarray
    prices: np.ndarray
    spread: float
    facts: dict[str, Any] = dataclasses.field(default_factory=dict)

    def price_of(self, job_ids: np.ndarray) -> np.ndarray:
        """Each job's price (0 for a job not priced): a binary search per job."""
        job_ids = np.asarray(job_ids, dtype=np.int64)
        if not len(self.job_ids) or not len(job_ids):
            return np.zeros(len(job_ids), dtype=np.float64)
        pos = np.minimum(np.searchsorted(self.job_ids, job_ids), len(self.job_ids) - 1)
        return np.where(self.job_ids[pos] == job_ids, self.prices[pos], 0.0)

    def penalty(self, worker_id: int, job_ids: np.ndarray) -> np.ndarray | None:
        """What one worker's candidates lose (:func:`crowding_penalty`); None when none of
        them is priced."""
        prices = self.price_of(job_ids)
        if not prices.any():
            return None
        return crowding_penalty(prices, int(worker_id), np.asarray(job_ids), self.spread)


def resolve_encoder(spec: Any) -> Any:
    """An encoder (``encode(list[str]) -> ndarray``) from a spec.

    ``None`` gives the training-free :class:`matcher.encoders.CharNgramEncoder`; anything
    else goes through :func:`matcher.encoders.load_encoder` (a sentence-transformers model
    folder, ``"char-ngram:<dim>"``, a ``SentenceTransformer``, or any object with ``encode``).
    """
    from matcher.encoders import CharNgramEncoder, load_encoder

    if spec is None:
        return CharNgramEncoder()
    try:
        return load_encoder(spec)
    except TypeError as exc:
        raise ValueError(
            f"encoder {spec!r} is not supported; pass None, a sentence-transformers model folder, "
            "'char-ngram:<dim>', or an object with encode(list[str]) -> ndarray"
        ) from exc


class MatchingEngine(BaseEstimator):
    """Recommend jobs for workers and workers for jobs.

    Parameters
    ----------
    encoder : str, path, object with ``encode`` or None, default=None
        The dense text encoder: a sentence-transformers model path, an object with
        ``encode(list[str]) -> ndarray``, or None for ``CharNgramEncoder()``.
    lexical_weight : float, default=0.35
        Weight of the character n-gram TF-IDF cosine in the retrieval score, in [0, 1].
    candidate_pool : int, default=100
        How many rule-abiding candidates retrieval hands to the ranker.
    retrieval_pool : int, default=300
        For a worker's jobs, a first stage: retrieval keeps this many rule-abiding jobs and
        the cheap part of the prior (:func:`matcher.features.prior_grade`: trade fit, city,
        wage floor, retrieval score) picks the best ``candidate_pool`` of them for the
        features, the ranker and the reasons. Text similarity alone leaves jobs of the
        worker's trade with other titles out of a 100-job pool; on the demo world a perfect
        ordering of 100 retrieved jobs reaches NDCG@10 0.863, of 300 0.940. At most
        ``candidate_pool`` (or less) turns the stage off. A job's workers are retrieved as
        before (their pool already holds the best ten of the independent world). Cost
        (``benchmarks/bench_snapshot.py --workers 50000 --jobs 50000 --latency-only``, CPU
        medians of ``recommend_jobs``): in memory 3.71 → 3.76 ms, on the snapshot 4.34 → 4.75
        ms, where the pool's occupation codes and cities are decoded from bytes.
    ranker : SuccessRanker or None, default=None
        A fitted :class:`matcher.ranker.SuccessRanker`; without one, results are ordered by
        the prior ranking (:func:`matcher.features.prior_score`: taxonomy fit, then wishes,
        city and wage) and ``p_success`` is None.
    as_of : date or None, default=None
        The day ages are computed at; None means the day :meth:`build_index` runs.
    geography : Geography, mapping or None, default=None
        County coordinates, paired Jiangsu cities, Jiangsu city coordinates.
    occupations : DataFrame or None, default=None
        The CSCO table (``code``, ``name``, optionally ``level`` and ``alias``): names feed the
        job texts and the reasons.
    occupation_coder : object with ``predict(list[str])`` or None, default=None
        Codes worker experience, wishes and uncoded job titles; None with ``occupations``
        uses :class:`matcher.features.NameOccupationCoder`.
    education_ranks : mapping or None, default=None
        Education label → rank; None uses a copy of ``data.schema.EDUCATION_LEVELS``.
    lexical_ngram_range : tuple, default=(1, 3)
    encode_batch_size : int, default=512
    ann_min_rows : int or None, default=50_000
        Collections of at least this many rows get a coarse copy of their embeddings
        (:meth:`matcher.index.ItemIndex.build_coarse`) and single queries score exactly only
        a shortlist picked with it; None keeps every search exact. The benchmark measures the
        recall against exact search in the same run.
    ann_dim : int, default=64
        Dimensions of the coarse copy. On 100,000 demo jobs with the trained 256-dimension
        encoder, 32 / 48 / 64 dimensions kept 81 / 90 / 95 % of the embeddings' energy, and
        a 1,000-row shortlist held 0.962 / 0.993 / 0.998 of the exact top 10.
    ann_shortlist : int, default=1000
        Rows scored exactly per query (at least ``10 * k`` of the pool asked for).
    prior_strength : float, default=5000
        Successes of outcome history at which the learned ranker and the prior ranking
        (:func:`matcher.features.prior_score`) weigh the same; the ranker's weight is
        ``n / (n + prior_strength)`` for ``n`` successes learned from. 0: the ranker alone.
        With the demo world's 8,450 successes the ranker weighs 0.63: at 500 its held-out
        NDCG@10 on the demo world was 0.788 but fell below the prior alone on the
        independent world (0.759 against 0.793); at 5000 it is 0.780 and 0.805.
    firm_history : FirmRetention or None, default=None
        A fitted :class:`matcher.history.FirmRetention`: each job's firm's past 6-month
        retention becomes the ``firm_retention`` feature the ranker learns from; None gives
        every firm none (the feature is 0, as for a firm without history). The training
        pipeline fits it from the same outcome history as the ranker. Where the ranker has
        a ``seen_weight_``, each pair's share of the learned chance goes from
        ``learned_weight_`` toward it by the firm's evidence
        (:meth:`matcher.history.FirmRetention.evidence`): the prior is blended out where the
        history knows the firm, and serves where it does not.

    Attributes
    ----------
    jobs_index_ : ItemIndex
        Open jobs: prepared rows, ``embeddings`` (float32) and TF-IDF rows.
    workers_index_ : ItemIndex
    encoder_ : object
    vectorizer_ : TfidfVectorizer
        Learned by :meth:`learn` (vocabulary and idf), only transforms afterwards.
    ranker_ : SuccessRanker or None
    as_of_ : date
    context_ : matcher.features.Context

    Examples
    --------
    >>> import datetime as dt, pandas as pd
    >>> class Toy:
    ...     def encode(self, texts):
    ...         rows = [[t.count("焊") + .1, t.count("缝") + .1] for t in texts]
    ...         return np.array(rows, dtype=np.float32)
    >>> jobs = pd.DataFrame([dict(job_id=j, firm_id=1, firm_name="厂", title=t, description="",
    ...     occupation_code="", city="苏州市", district="", wage_min=4000, wage_max=5000,
    ...     headcount=3, hired_count=0, age_min=18, age_max=50, education_min=None,
    ...     certificates_required=[], dormitory=True, meals=True, halal_canteen=False,
    ...     novice_ok=True, status="open", posted_at=dt.date(2024, 1, 1))
    ...     for j, t in [(1, "电焊工"), (2, "缝纫工")]])
    >>> workers = pd.DataFrame([dict(worker_id=9, birth_date=dt.date(1990, 1, 1),
    ...     county_code="610621", education="初中", skills_text="做过三年缝纫",
    ...     desired_jobs=["缝纫"], certificates=[], certificates_unrecognised=[],
    ...     preferred_cities=[], min_wage=3000, needs_dormitory=True, needs_halal=False)])
    >>> engine = MatchingEngine(encoder=Toy(), as_of=dt.date(2024, 6, 1)).fit(jobs, workers)
    >>> [r["job_id"] for r in engine.recommend_jobs(9, k=2)]
    [2, 1]
    >>> learned = MatchingEngine(encoder=Toy(), as_of=dt.date(2024, 6, 1)).learn(["电焊工 缝纫工"])
    >>> [r["job_id"] for r in learned.build_index(jobs, workers.iloc[:0]).recommend_workers(2)]
    []
    """

    def __init__(
        self,
        encoder: Any = None,
        lexical_weight: float = 0.35,
        candidate_pool: int = 100,
        retrieval_pool: int = 300,
        ranker: Any = None,
        as_of: dt.date | None = None,
        geography: Geography | Mapping[str, Any] | None = None,
        occupations: pd.DataFrame | None = None,
        occupation_coder: Any = None,
        education_ranks: Mapping[str, int] | None = None,
        lexical_ngram_range: tuple[int, int] = (1, 3),
        encode_batch_size: int = 512,
        ann_min_rows: int | None = 50_000,
        ann_dim: int = 64,
        ann_shortlist: int = 1000,
        prior_strength: float = 5000.0,
        firm_history: Any = None,
    ) -> None:
        self.encoder = encoder
        self.lexical_weight = lexical_weight
        self.candidate_pool = candidate_pool
        self.retrieval_pool = retrieval_pool
        self.ranker = ranker
        self.as_of = as_of
        self.geography = geography
        self.occupations = occupations
        self.occupation_coder = occupation_coder
        self.education_ranks = education_ranks
        self.lexical_ngram_range = lexical_ngram_range
        self.encode_batch_size = encode_batch_size
        self.ann_min_rows = ann_min_rows
        self.ann_dim = ann_dim
        self.ann_shortlist = ann_shortlist
        self.prior_strength = prior_strength
        self.firm_history = firm_history

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Engines pickled before ``firm_history`` and ``retrieval_pool`` existed: no firm has
        # history, and the first stage applies as in a new engine.
        state.setdefault("firm_history", None)
        state.setdefault("retrieval_pool", 300)
        self.__dict__.update(state)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_clause_cache", None)  # a process's own memo, rebuilt on first use
        return state

    # ------------------------------------------------------------------------------------
    # fitting

    def _validate_params(self) -> None:
        if not 0.0 <= float(self.lexical_weight) <= 1.0:
            raise ValueError(f"lexical_weight {self.lexical_weight!r} must lie in [0, 1]")
        if not float(self.prior_strength) >= 0.0:
            raise ValueError(f"prior_strength {self.prior_strength!r} must be a number >= 0")
        if int(self.candidate_pool) < 1:
            raise ValueError(f"candidate_pool {self.candidate_pool!r} must be a positive integer")
        if int(self.retrieval_pool) < 1:
            raise ValueError(f"retrieval_pool {self.retrieval_pool!r} must be a positive integer")
        for name in ("ann_dim", "ann_shortlist"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} {value!r} must be a positive integer")
        if self.ranker is not None and not hasattr(self.ranker, "predict_proba"):
            raise ValueError(
                f"ranker {self.ranker!r} has no predict_proba; pass a fitted SuccessRanker or None"
            )
        _check_ranker_features(self.ranker)

    def learn(
        self,
        corpus: Iterable[str] = (),
        *,
        jobs: pd.DataFrame | None = None,
        workers: pd.DataFrame | None = None,
    ) -> MatchingEngine:
        """Learn what a model version holds: the encoder, the hard-rule context with its
        occupation coder, and the lexical vocabulary and idf weights. Indexes nothing.

        The vocabulary is fitted on ``corpus`` (reference text: the occupational
        classification's names, aliases, tasks and definitions, certificates, places — see
        :func:`training.base.reference_corpus`), the occupation names of ``occupations``, and
        the retrieval texts of ``jobs``/``workers`` when training tables are given. Serving
        never calls this: it loads a learned version and calls :meth:`build_index`, so that
        every process answers with the vocabulary the ranker was trained with.

        Parameters
        ----------
        corpus : iterable of str, optional
        jobs, workers : DataFrame, optional
            Training tables whose texts join the corpus (all statuses: filled jobs teach too).

        Returns
        -------
        self
        """
        self._learn()
        texts: list[str] = []
        if jobs is not None:
            texts += prepare_jobs(jobs.reset_index(drop=True), self.context_).texts
        if workers is not None:
            texts += prepare_workers(workers.reset_index(drop=True), self.context_).texts
        self._fit_vocabulary(corpus, texts)
        return self

    def _learn(self) -> None:
        self._validate_params()
        self.encoder_ = resolve_encoder(self.encoder)
        occupation_names: dict[str, str] = {}
        coder = self.occupation_coder
        if self.occupations is not None:
            occ = self.occupations
            missing = [c for c in ("code", "name") if c not in occ.columns]
            if missing:
                raise ValueError(
                    f"occupations lack columns {missing}; they have {list(occ.columns)}"
                )
            occupation_names = dict(
                zip(occ["code"].astype(str), occ["name"].astype(str), strict=True)
            )
            if coder is None:
                coder = NameOccupationCoder().fit(occ)
        self.context_ = Context(
            education_ranks=dict(self.education_ranks or DEFAULT_EDUCATION_RANKS),
            geography=Geography.coerce(self.geography),
            certificates=CertificateVocabulary(),
            as_of=self.as_of or dt.date.today(),
            coder=coder,
            occupation_names=occupation_names,
        )
        self.ranker_ = self.ranker

    def _fit_vocabulary(self, corpus: Iterable[str], texts: Sequence[str]) -> None:
        self.__dict__.pop("_clause_cache", None)  # vectors of the vocabulary replaced
        names = [n for n in self.context_.occupation_names.values() if n]
        docs = [t for t in (*corpus, *texts) if isinstance(t, str) and t] + names
        self.vectorizer_ = TfidfVectorizer(
            analyzer="char",
            ngram_range=tuple(self.lexical_ngram_range),
            sublinear_tf=True,
            dtype=np.float32,
        )
        self.vectorizer_.fit(docs or ["岗位"])

    def build_index(self, jobs: pd.DataFrame, workers: pd.DataFrame) -> MatchingEngine:
        """Encode and index the open jobs (with headcount left) and the workers with what was
        learned; nothing is fitted (the vocabulary only transforms). Either table may be empty.

        Parameters
        ----------
        jobs : DataFrame
            Columns of ``data.schema.JOB_COLUMNS``; jobs not open or already full are skipped.
        workers : DataFrame
            Columns of ``data.schema.WORKER_COLUMNS``.

        Returns
        -------
        self

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the engine was not learned (:meth:`learn`, or a loaded model version).
        """
        self._check_learned("build_index")
        self._validate_params()
        self.as_of_ = self.as_of or dt.date.today()
        self.context_ = dataclasses.replace(self.context_, as_of=self.as_of_)
        self.ranker_ = self.ranker
        self._index(
            prepare_jobs(self._open_jobs(jobs), self.context_),
            prepare_workers(workers.reset_index(drop=True), self.context_),
        )
        return self

    def _index(self, pj: PreparedJobs, pw: PreparedWorkers) -> None:
        self.jobs_index_ = ItemIndex("job_id")
        self.workers_index_ = ItemIndex("worker_id")
        # Prices belong to the index they were computed on (price_crowding).
        self.crowding_ = None
        self._add(self.jobs_index_, pj)
        self._add(self.workers_index_, pw)

    def _check_learned(self, what: str) -> None:
        if not self.is_learned:
            raise NotFittedError(
                f"MatchingEngine.{what} needs a learned model: call learn() first, or load a "
                "model version (jobbridge init-db builds the base model, jobbridge train a "
                "trained one) (模型尚未学习)"
            )

    @property
    def is_learned(self) -> bool:
        """Whether :meth:`learn` ran (or a learned version was loaded)."""
        return hasattr(self, "vectorizer_") and hasattr(self, "context_")

    def fit(self, jobs: pd.DataFrame, workers: pd.DataFrame) -> MatchingEngine:
        """:meth:`learn` on these tables, then :meth:`build_index` of them (for training and
        tests; the service never fits).

        Parameters
        ----------
        jobs : DataFrame
            Columns of ``data.schema.JOB_COLUMNS``; jobs not open or already full are skipped.
        workers : DataFrame
            Columns of ``data.schema.WORKER_COLUMNS``.

        Returns
        -------
        self
        """
        self._learn()
        self.as_of_ = self.context_.as_of
        # The tables are prepared once and serve both the vocabulary and the index.
        pj = prepare_jobs(self._open_jobs(jobs), self.context_)
        pw = prepare_workers(workers.reset_index(drop=True), self.context_)
        self._fit_vocabulary((), pj.texts + pw.texts)
        self._index(pj, pw)
        return self

    def _maybe_ann(self, index: ItemIndex) -> None:
        """Give an index that has grown large its coarse copy (rows added later are projected
        on insert, so it is built once)."""
        if self.ann_min_rows is None or index.n_rows < int(self.ann_min_rows):
            return
        if index.coarse is None:
            index.build_coarse(int(self.ann_dim))

    def _shortlist(self, index: ItemIndex, pool: int) -> int | None:
        """Rows a query scores exactly, or None for exact search."""
        if index.coarse is None:
            return None
        return max(int(self.ann_shortlist), 10 * int(pool))

    def set_ranker(self, ranker: Any) -> MatchingEngine:
        """Attach a fitted ranker without re-indexing (the training pipeline does this)."""
        if ranker is not None and not hasattr(ranker, "predict_proba"):
            raise ValueError(f"ranker {ranker!r} has no predict_proba")
        _check_ranker_features(ranker)
        self.ranker = ranker
        if self.is_learned:
            self.ranker_ = ranker
        return self

    @staticmethod
    def _open_jobs(jobs: pd.DataFrame) -> pd.DataFrame:
        for c in ("status", "headcount", "hired_count"):
            if c not in jobs.columns:
                raise ValueError(f"Job table lacks the column {c!r}; it has {list(jobs.columns)}")
        hired = jobs["hired_count"].fillna(0).to_numpy(dtype=np.float64)
        keep = (jobs["status"].to_numpy() == "open") & (
            jobs["headcount"].to_numpy(dtype=np.float64) > hired
        )
        if keep.all() and jobs.index.equals(pd.RangeIndex(len(jobs))):
            return jobs  # every row open, already numbered 0..n-1 (a one-job write): no copy
        return jobs[keep].reset_index(drop=True)

    # ------------------------------------------------------------------------------------
    # encoding

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 embeddings of texts (empty texts give zero vectors)."""
        check_is_fitted(self, "encoder_")
        texts = list(texts)
        if not texts:
            dim = getattr(self, "dimension_", None) or int(getattr(self.encoder_, "dimension", 1))
            return np.zeros((0, dim), dtype=np.float32)
        # Registers repeat themselves (the same trades, the same wishes): encode each text once.
        unique, inverse = np.unique(np.asarray(texts, dtype=object), return_inverse=True)
        emb = np.asarray(
            self.encoder_.encode(list(unique), batch_size=self.encode_batch_size), dtype=np.float32
        )
        if emb.ndim != 2 or emb.shape[0] != len(unique):
            raise ValueError(f"encoder returned shape {emb.shape} for {len(unique)} texts")
        emb = emb[inverse.ravel()]
        self.dimension_ = int(emb.shape[1])
        # Encoders normalise already; normalising again costs little and guards foreign ones.
        norms = np.linalg.norm(emb, axis=1, keepdims=True)
        return emb / np.where(norms > 0, norms, 1.0)

    def _lexical(self, texts: Sequence[str]) -> sp.csr_matrix:
        texts = list(texts)
        if not texts:  # an empty side (a fresh database): scikit-learn refuses zero rows
            width = len(self.vectorizer_.vocabulary_)
            return sp.csr_matrix((0, width), dtype=np.float32)
        return self.vectorizer_.transform(texts).astype(np.float32).tocsr()

    def _clause_vectors(self, clause: str) -> tuple[np.ndarray, sp.csr_matrix]:
        """The embedding row and TF-IDF row of one main-trade clause, memoised per process
        (:data:`CLAUSE_CACHE_SIZE` clauses, least recently used dropped first): a worker's
        matches encode the worker's clause on every request, and a register repeats its
        trades (``干过电焊``) as a clerk repeats a worker's list. The rows are read-only."""
        cache = self.__dict__.get("_clause_cache")
        if cache is None:
            cache = functools.lru_cache(maxsize=CLAUSE_CACHE_SIZE)(self._encode_clause)
            cache = self.__dict__.setdefault("_clause_cache", cache)
        return cache(clause)

    def _encode_clause(self, clause: str) -> tuple[np.ndarray, sp.csr_matrix]:
        emb, lex = self.encode([clause]), self._lexical([clause])
        for a in (emb, lex.data, lex.indices, lex.indptr):
            a.setflags(write=False)
        return emb, lex

    def _add(self, index: ItemIndex, prepared: PreparedJobs | PreparedWorkers) -> None:
        if len(prepared) == 0 and index.prepared is not None:
            return
        index.add(prepared, self.encode(prepared.texts), self._lexical(prepared.texts))
        self._maybe_ann(index)

    # ------------------------------------------------------------------------------------
    # incremental changes

    def add_jobs(self, jobs: pd.DataFrame | Iterable[Mapping[str, Any]]) -> list[int]:
        """Index new jobs at once (no retraining). Returns the ids indexed (open ones only).

        Raises ``ValueError`` when an id is already indexed (use :meth:`update_jobs`).
        """
        check_is_fitted(self, "jobs_index_")
        jobs = _frame(jobs)
        dup = [int(i) for i in jobs["job_id"] if int(i) in self.jobs_index_]
        if dup:
            raise ValueError(f"job_id {dup[0]} is already indexed; use update_jobs to change it")
        return self._upsert(self.jobs_index_, self._open_jobs(jobs), prepare_jobs)

    def update_jobs(self, jobs: pd.DataFrame | Iterable[Mapping[str, Any]]) -> list[int]:
        """Replace changed jobs; jobs now filled or closed leave the index. Returns ids open."""
        check_is_fitted(self, "jobs_index_")
        jobs = _frame(jobs)
        open_jobs = self._open_jobs(jobs)
        gone = set(jobs["job_id"].astype(int)) - set(open_jobs["job_id"].astype(int))
        self.jobs_index_.remove([i for i in gone if i in self.jobs_index_])
        self._maybe_ann(self.jobs_index_)
        return self._upsert(self.jobs_index_, open_jobs, prepare_jobs)

    def remove_jobs(self, job_ids: Iterable[int]) -> None:
        """Take filled or closed jobs out of results at once (``KeyError`` names unknown ids)."""
        check_is_fitted(self, "jobs_index_")
        _remove(self.jobs_index_, job_ids)
        self._maybe_ann(self.jobs_index_)

    def add_workers(self, workers: pd.DataFrame | Iterable[Mapping[str, Any]]) -> list[int]:
        """Index newly registered workers at once. Returns the ids indexed."""
        check_is_fitted(self, "workers_index_")
        workers = _frame(workers)
        dup = [int(i) for i in workers["worker_id"] if int(i) in self.workers_index_]
        if dup:
            raise ValueError(
                f"worker_id {dup[0]} is already indexed; use update_workers to change it"
            )
        return self._upsert(self.workers_index_, workers, prepare_workers)

    def update_workers(self, workers: pd.DataFrame | Iterable[Mapping[str, Any]]) -> list[int]:
        """Replace changed worker records (new skills, certificates, wishes)."""
        check_is_fitted(self, "workers_index_")
        return self._upsert(self.workers_index_, _frame(workers), prepare_workers)

    def remove_workers(self, worker_ids: Iterable[int]) -> None:
        """Take workers out (placed, withdrawn); ``KeyError`` names unknown ids."""
        check_is_fitted(self, "workers_index_")
        _remove(self.workers_index_, worker_ids)
        self._maybe_ann(self.workers_index_)

    @_unchecked
    def _upsert(self, index: ItemIndex, frame: pd.DataFrame, prepare: Any) -> list[int]:
        if len(frame) == 0:
            return []
        prepared = prepare(frame, self.context_)
        self._add(index, prepared)
        return [int(i) for i in prepared.columns[index.id_column]]

    # ------------------------------------------------------------------------------------
    # queries

    def _worker_query(self, worker: Any) -> tuple[PreparedWorkers, int, np.ndarray, sp.csr_matrix]:
        idx = self.workers_index_
        if isinstance(worker, Mapping):
            pw = prepare_workers(pd.DataFrame([dict(worker)]), self.context_)
            return pw, 0, self.encode(pw.texts)[0], self._lexical(pw.texts)
        if isinstance(worker, int | np.integer):
            row = idx.row_of(int(worker))
            return idx.prepared, row, idx.embeddings[row], idx.lexical_row(row)  # type: ignore[return-value]
        raise ValueError(f"worker must be a worker_id (int) or a record dict, got {worker!r}")

    def _job_query(self, job: Any) -> tuple[PreparedJobs, int, np.ndarray, sp.csr_matrix]:
        idx = self.jobs_index_
        if isinstance(job, Mapping):
            pj = prepare_jobs(pd.DataFrame([dict(job)]), self.context_)
            return pj, 0, self.encode(pj.texts)[0], self._lexical(pj.texts)
        if isinstance(job, int | np.integer):
            row = idx.row_of(int(job))
            return idx.prepared, row, idx.embeddings[row], idx.lexical_row(row)  # type: ignore[return-value]
        raise ValueError(f"job must be a job_id (int) or a record dict, got {job!r}")

    def _rank(
        self,
        pw: PreparedWorkers,
        w_rows: np.ndarray,
        pj: PreparedJobs,
        j_rows: np.ndarray,
        dense: np.ndarray,
        lexical: np.ndarray,
        main_sim: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
        """Order candidate pairs: returns (order, score, retrieval score, p_success, features).

        Without a ranker the score is the prior (:func:`matcher.features.prior_score`); with
        one it is the learned chance blended with the prior by how much outcome history the
        ranker learned from (:func:`matcher.ranker.blend_scores`).
        """
        w = float(self.lexical_weight)
        X = pair_features(
            pw, w_rows, pj, j_rows, dense, lexical, w, main_sim, self._firm_lift(pj, j_rows)
        )
        retrieval = (1 - w) * dense + w * lexical
        prior = X[:, _PRIOR]
        if self.ranker_ is not None and len(X):
            p = self.ranker_.predict_proba(X)[:, 1]
            score = blend_scores(
                self.ranker_,
                p,
                prior,
                float(self.prior_strength),
                firm_lift=X[:, _FIRM],
                evidence=self._firm_evidence(pj, j_rows),
            )
            order = np.lexsort((-retrieval, -score))
            return order, score, retrieval, p, X
        order = np.lexsort((-retrieval, -prior))
        return order, prior.astype(np.float64), retrieval, None, X

    def _items(
        self,
        side: str,
        pw: PreparedWorkers,
        w_rows: np.ndarray,
        pj: PreparedJobs,
        j_rows: np.ndarray,
        dense: np.ndarray,
        lexical: np.ndarray,
        k: int,
        with_reasons: bool = True,
        notice_row: int | None = None,
        main_sim: np.ndarray | None = None,
        penalty: np.ndarray | None = None,
    ) -> Recommendations:
        """The top ``k`` items; ``notice_row`` (the worker's row of a jobs answer) asks for
        :attr:`Recommendations.notice`. ``penalty`` (crowding, :meth:`recommend_jobs_batch`)
        is subtracted from each candidate's score to choose which ``k`` are answered; those
        keep their own order and scores, so that a crowded job loses its place on a list
        only to one within the penalty of its score and nothing on the list moves for it."""
        order, score, retrieval, p, X = self._rank(pw, w_rows, pj, j_rows, dense, lexical, main_sim)
        if penalty is not None and len(order) > k and np.any(penalty):
            chosen = np.lexsort((-retrieval, -(score - penalty)))[:k]
            rank_of = np.empty(len(order), dtype=np.int64)
            rank_of[order] = np.arange(len(order))
            order = chosen[np.argsort(rank_of[chosen], kind="stable")]
        out = Recommendations()
        names = self.context_.occupation_names
        top = order[:k]
        # Column arrays, cached on the prepared tables: pandas lookups per item or per call
        # cost more than the ranking itself.
        wcols, jcols = pw.columns, pj.columns
        # Each side's rows as dicts, gathered column by column once for the distinct rows
        # answered (a jobs answer repeats its worker; a snapshot column decodes a batch of
        # rows at once, where one row at a time costs a Python call per value).
        w_seen = _row_dicts(wcols, w_rows[top], None if with_reasons else ("worker_id",))
        j_seen = _row_dicts(jcols, j_rows[top], None if with_reasons else _JOB_ITEM_COLUMNS)
        for pos in top:
            wrow, jrow = w_seen[int(w_rows[pos])], j_seen[int(j_rows[pos])]
            item: dict[str, Any] = {}
            if side == "jobs":
                item["job_id"] = int(jrow["job_id"])
            else:
                item["worker_id"] = int(wrow["worker_id"])
            item["score"] = float(score[pos])
            item["p_success"] = float(p[pos]) if p is not None else None
            item["retrieval_score"] = float(retrieval[pos])
            if side == "jobs":
                firm_id = int(jrow["firm_id"])
                item.update(
                    firm_id=firm_id if firm_id >= 0 else None,
                    firm_name=str(jrow["firm_name"]) or None,
                    title=str(jrow["title"]),
                    city=str(jrow["city"]),
                    wage_min=int(jrow["wage_min"]),
                    wage_max=int(jrow["wage_max"]),
                    occupation_code=str(jrow["occ_code"]),
                )
            if with_reasons:
                feats = dict(zip(FEATURE_NAMES, X[pos].tolist(), strict=True))
                item["reasons"] = explain(feats, wrow, jrow, names)
            out.append(item)
        if notice_row is not None:
            own = bool(len(top)) and bool((X[top, _SKILL] >= _OWN_TRADE).any())
            out.notice = self._notice(pw, notice_row, own)
        return out

    def _main_sim(
        self,
        pw: PreparedWorkers,
        w_rows: np.ndarray,
        j_emb: np.ndarray,
        j_lex: sp.csr_matrix,
        j_sel: np.ndarray,
    ) -> np.ndarray:
        """Retrieval similarity of each worker's main-trade clause (``main_clause``) to the
        job: what the worker said of the trade, compared with the job's own words, which
        holds where the occupation coder missed."""
        if not len(w_rows):
            return np.zeros(0, dtype=np.float32)
        clauses = np.asarray(pw.columns["main_clause"][w_rows]).astype(str)
        said = np.flatnonzero(clauses != "")
        sim = np.zeros(len(w_rows), dtype=np.float32)
        if not len(said):  # no main-trade clause (half the register): nothing to encode
            return sim
        unique, inv = np.unique(clauses[said], return_inverse=True)
        inv = inv.ravel()
        if len(unique) == 1:  # one worker's jobs: the worker's own clause
            emb, lex = self._clause_vectors(str(unique[0]))
        else:
            emb, lex = self.encode(list(unique)), self._lexical(list(unique))
        w = float(self.lexical_weight)
        width = max(lex.shape[1], j_lex.shape[1])
        j_said = np.asarray(j_sel)[said]
        sim[said] = (1 - w) * rowwise_dot(emb, inv, j_emb, j_said) + w * rowwise_sparse_dot(
            _pad(lex, width), inv, _pad(j_lex, width), j_said
        )
        return sim

    def _first_stage(
        self,
        pw: PreparedWorkers,
        row: int,
        pj: PreparedJobs,
        rows: np.ndarray,
        dense: np.ndarray,
        lexical: np.ndarray,
        pool: int,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The best ``pool`` of a worker's retrieved jobs by :func:`prior_grade` (ties: by
        retrieval score, then retrieval order), in retrieval order."""
        if len(rows) <= pool:
            return rows, dense, lexical
        w = float(self.lexical_weight)
        retrieval = (1 - w) * dense + w * lexical
        grade = prior_grade(pw, row, pj, rows, retrieval)
        keep = np.sort(np.lexsort((-retrieval, -grade))[:pool])
        return rows[keep], dense[keep], lexical[keep]

    def _firm_lift(self, pj: PreparedJobs, j_rows: np.ndarray) -> np.ndarray | None:
        """The ``firm_retention`` feature of jobs ``j_rows`` (None without a firm history)."""
        if self.firm_history is None:
            return None
        return self.firm_history.lift(np.asarray(pj.columns["firm_id"][j_rows]))

    def _firm_evidence(self, pj: PreparedJobs, j_rows: np.ndarray) -> np.ndarray | None:
        """How much outcome history the firms of jobs ``j_rows`` have
        (:meth:`matcher.history.FirmRetention.evidence`; None without a firm history or
        where the ranker has no weight of its own for them)."""
        if self.firm_history is None or getattr(self.ranker_, "seen_weight_", None) is None:
            return None
        return self.firm_history.evidence(np.asarray(pj.columns["firm_id"][j_rows]))

    def _notice(self, pw: PreparedWorkers, row: int, own_trade_found: bool) -> str | None:
        wrow = {c: v[int(row)] for c, v in pw.columns.items()}
        return no_trade_notice(wrow, own_trade_found, self.context_.occupation_names)

    @_unchecked
    def recommend_jobs(self, worker: int | Mapping[str, Any], k: int = 10) -> list[dict[str, Any]]:
        """The best ``k`` open jobs for a worker, best first.

        Parameters
        ----------
        worker : int or dict
            An indexed ``worker_id`` or a worker record (not indexed, e.g. a form preview).
        k : int, default=10

        Returns
        -------
        Recommendations (a list of dict)
            ``{job_id, score, p_success, retrieval_score, firm_id, firm_name, title, city,
            wage_min, wage_max, occupation_code, reasons}`` (``firm_id``/``firm_name`` None
            where the job table lacks them); every job breaks no hard rule for this worker.
            Its ``notice`` says when no job of the worker's own trade is among them.

        Where the index carries crowding prices (``crowding_``, :meth:`price_crowding`), the
        ``k`` are the best by score minus this worker's penalty (:func:`crowding_penalty`):
        a crowded job gives its place only to one within ``spread`` of its score, and the
        ``k`` keep their own order, scores and reasons. Looking the prices up costs a
        binary search per candidate.
        """
        check_is_fitted(self, "jobs_index_")
        _check_k(k)
        pw, row, emb, lex = self._worker_query(worker)
        pj = self.jobs_index_.prepared
        if pj is None:
            return Recommendations()
        mask = jobs_mask_for_worker(pw.rules, row, pj.rules)
        pool = max(int(self.candidate_pool), k)
        rows, dense, lexical = self.jobs_index_.search(
            emb,
            lex,
            mask,
            max(int(self.retrieval_pool), pool),
            float(self.lexical_weight),
            self._shortlist(self.jobs_index_, pool),
        )
        rows, dense, lexical = self._first_stage(pw, row, pj, rows, dense, lexical, pool)
        w_rows = np.full(len(rows), row, dtype=np.int64)
        jidx = self.jobs_index_
        main_sim = self._main_sim(pw, w_rows, jidx.embeddings, jidx.lexical, rows)
        crowding = getattr(self, "crowding_", None)
        penalty = None
        if crowding is not None and len(rows):
            # A record not yet registered (a form preview) draws as worker 0.
            worker_id = worker if not isinstance(worker, Mapping) else worker.get("worker_id")
            penalty = crowding.penalty(_id_or_zero(worker_id), pj.columns["job_id"][rows])
        return self._items(
            "jobs",
            pw,
            w_rows,
            pj,
            rows,
            dense,
            lexical,
            k,
            notice_row=row,
            main_sim=main_sim,
            penalty=penalty,
        )

    @_unchecked
    def recommend_workers(self, job: int | Mapping[str, Any], k: int = 50) -> list[dict[str, Any]]:
        """The best ``k`` workers for a job, best first (``{worker_id, score, p_success, ...}``)."""
        check_is_fitted(self, "workers_index_")
        _check_k(k)
        pj, row, emb, lex = self._job_query(job)
        pw = self.workers_index_.prepared
        if pw is None:
            return Recommendations()
        mask = workers_mask_for_job(pj.rules, row, pw.rules)
        pool = max(int(self.candidate_pool), k)
        rows, dense, lexical = self.workers_index_.search(
            emb,
            lex,
            mask,
            pool,
            float(self.lexical_weight),
            self._shortlist(self.workers_index_, pool),
        )
        j_rows = np.full(len(rows), row, dtype=np.int64)
        if isinstance(job, Mapping):
            j_emb, j_lex = emb[None, :], lex
        else:
            j_emb, j_lex = self.jobs_index_.embeddings, self.jobs_index_.lexical
        main_sim = self._main_sim(pw, rows, j_emb, j_lex, j_rows)
        return self._items("workers", pw, rows, pj, j_rows, dense, lexical, k, main_sim=main_sim)

    def recommend_jobs_batch(
        self,
        worker_ids: Iterable[int],
        k: int = 10,
        *,
        with_reasons: bool = True,
        chunk: int = 256,
        spread: float = 0.0,
    ) -> dict[int, list[dict[str, Any]]]:
        """:meth:`recommend_jobs` for many indexed workers (a whole county) at once.

        Dense and lexical similarities are computed a chunk of workers at a time with matrix
        products; the rules, the ranker and the reasons run per worker.

        ``spread`` > 0 re-ranks for capacity, so that many similar workers are not all sent
        to the same few jobs: every job gets a price from the whole batch's score mass
        (:func:`capacity_prices`: the applications it can expect against three per open
        place), at most ``spread`` score points; each worker's ``k`` are the best by score
        minus price (:func:`crowding_penalty`), answered in their own order with their own
        scores. A job thus leaves a list only for one within ``spread`` of its score, jobs
        that are not over-subscribed keep price 0, and the answer does not depend on the
        order of ``worker_ids``. 0 (the default) answers as :meth:`recommend_jobs` does
        on an index without prices: the index's own prices (``crowding_``) are not applied
        here.

        Where it applies: the training report's crowding figures
        (:func:`training.evaluate.crowding`) and callers that hand many workers lists at
        once. The service passes no ``spread``: the county allocation and the fair planner
        fill places exactly themselves (:mod:`matcher.allocation`, :mod:`matcher.fairs`).
        The per-worker answer (:meth:`recommend_jobs`) applies the prices the whole register
        puts on the index instead (:meth:`price_crowding`).
        """
        if not float(spread) >= 0.0:
            raise ValueError(f"spread {spread!r} must be a number >= 0")
        check_is_fitted(self, "jobs_index_")
        _check_k(k)
        ids = [int(i) for i in worker_ids]
        widx, jidx = self.workers_index_, self.jobs_index_
        rows_all = np.array([widx.row_of(i) for i in ids], dtype=np.int64)
        out: dict[int, list[dict[str, Any]]] = {}
        pj, pw = jidx.prepared, widx.prepared
        if pj is None or not ids:
            return {i: Recommendations() for i in ids}

        def answer(pos, wr, top, dense, lexical, main_sim, penalty=None) -> Recommendations:
            w_rows = np.full(len(top), wr, dtype=np.int64)
            return self._items(
                "jobs",
                pw,
                w_rows,
                pj,
                top,
                dense,
                lexical,
                k,
                with_reasons,
                notice_row=wr,
                main_sim=main_sim,
                penalty=penalty,
            )

        # With ``spread`` the candidates of every worker are kept, priced together, then ranked.
        held: list[tuple[int, int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        for pool in self._pools(rows_all, k, chunk):
            pos, wr, top = pool[:3]
            if not len(top):
                out[ids[pos]] = Recommendations()
                out[ids[pos]].notice = self._notice(pw, wr, False)
            elif spread:
                held.append(pool)
            else:
                out[ids[pos]] = answer(*pool)
        if held:
            prices = self.crowding_prices(held, float(spread), k)
            job_ids = np.asarray(pj.columns["job_id"], dtype=np.int64)
            for pool in held:
                pos, _, top = pool[:3]
                penalty = crowding_penalty(prices[top], ids[pos], job_ids[top], float(spread))
                out[ids[pos]] = answer(*pool, penalty=penalty)
        return {i: out[i] for i in ids}

    def _pools(
        self, worker_rows: np.ndarray, k: int, chunk: int = 256, blocked: bool = False
    ) -> Iterator[tuple[int, int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """Each worker row's rule-abiding candidate pool, in the order given: ``(position,
        worker row, job rows, dense, lexical, main-trade similarity)``, the job rows empty
        where no job passes the rules. Dense and lexical similarities are matrix products a
        chunk of workers at a time (exact, no coarse shortlist).

        ``blocked`` computes a chunk's dense similarities as one matrix product, reading the
        job embeddings once for the chunk (at 100,000 jobs 12 ms a worker fell to ~4): the
        last bit of a score may then depend on the chunk's size, which pricing can bear and
        an answer cannot."""
        widx, jidx = self.workers_index_, self.jobs_index_
        pj, pw = jidx.prepared, widx.prepared
        w = float(self.lexical_weight)
        pool = max(int(self.candidate_pool), k)
        wide = max(int(self.retrieval_pool), pool)
        j_emb_all, j_lex_all = jidx.embeddings, jidx.lexical
        none = np.zeros(0, dtype=np.int64)
        for start in range(0, len(worker_rows), chunk):
            rows = worker_rows[start : start + chunk]
            # One matrix-vector product per worker, as recommend_jobs computes it: a block
            # product's rounding depends on how many rows the block has (BLAS picks its
            # kernel by shape), and the answer must not depend on the chunk.
            if blocked:
                dense_block = widx.embeddings[rows] @ jidx.embeddings.T
            else:
                dense_block = np.stack(
                    [jidx.embeddings @ widx.embeddings[r] for r in rows.tolist()]
                )
            lex_block = (widx.lexical[rows] @ _pad(jidx.lexical, widx.lexical.shape[1]).T).toarray()
            for n, wr in enumerate(rows.tolist()):
                mask = jobs_mask_for_worker(pw.rules, wr, pj.rules) & jidx.active
                score = np.where(mask, (1 - w) * dense_block[n] + w * lex_block[n], -np.inf)
                kk = min(wide, int(np.count_nonzero(mask)))
                if kk == 0:
                    yield start + n, wr, none, none, none, none
                    continue
                top = top_k_rows(score, kk)
                top, dense, lexical = self._first_stage(
                    pw, wr, pj, top, dense_block[n, top], lex_block[n, top], pool
                )
                w_rows = np.full(len(top), wr, dtype=np.int64)
                main_sim = self._main_sim(pw, w_rows, j_emb_all, j_lex_all, top)
                yield start + n, wr, top, dense, lexical, main_sim

    @_unchecked
    def price_crowding(
        self,
        spread: float,
        *,
        sample: int | None = None,
        k: int = 10,
        per_place: float = REGISTER_PER_PLACE,
        chunk: int = 256,
    ) -> CrowdingPrices:
        """Price the crowded jobs of this index for :meth:`recommend_jobs` (``crowding_``).

        Every indexed worker (or a fixed sample of ``sample`` of them) is answered as the
        batch answers (:meth:`_pools`, :meth:`_rank`), and the jobs are priced against their
        places left by :func:`capacity_prices`, as :meth:`recommend_jobs_batch` with
        ``spread`` prices one batch; a sample of a share ``f`` of the workers is priced
        against ``f`` times the places, so that it estimates the whole register's load. The
        sample is the ``sample`` workers with the smallest hash of their id (SplitMix64): the
        same for every process and every order of the rows, and spread over counties and
        registration dates as ids are not. ``spread`` 0 prices nothing. ``per_place`` is
        the recommendations a job may take per open place (:data:`REGISTER_PER_PLACE`).

        The cost is one batch answer per sampled worker (plus one pass over the ids), so
        ``sample`` bounds it whatever the register's size; ``facts["seconds"]`` says what it
        took.

        Returns
        -------
        CrowdingPrices
            Also kept as ``crowding_``; :meth:`build_index` clears it.
        """
        if not float(spread) >= 0.0:
            raise ValueError(f"spread {spread!r} must be a number >= 0")
        if sample is not None and (isinstance(sample, bool) or int(sample) < 1):
            raise ValueError(f"sample {sample!r} must be a positive integer or None")
        if not float(per_place) > 0.0:
            raise ValueError(f"per_place {per_place!r} must be a number > 0")
        check_is_fitted(self, "jobs_index_")
        _check_k(k)
        started = time.perf_counter()
        widx, jidx = self.workers_index_, self.jobs_index_
        ids = np.asarray(widx.active_ids(), dtype=np.int64)
        chosen = ids
        if sample is not None and len(ids) > int(sample):
            draw = _unit_hash(0x5EED, ids)
            chosen = np.sort(ids[np.argsort(draw, kind="stable")[: int(sample)]])
        rows: list[np.ndarray] = []
        scores: list[np.ndarray] = []
        pj = jidx.prepared
        if float(spread) > 0.0 and pj is not None and len(chosen):
            worker_rows = np.array([widx.row_of(int(i)) for i in chosen], dtype=np.int64)
            pools = []
            for pool in self._pools(worker_rows, k, chunk, blocked=True):
                if len(pool[2]):
                    pools.append(pool)
                if len(pools) == chunk:
                    rows += [p[2] for p in pools]
                    scores += self._pool_scores(pools)
                    pools = []
            rows += [p[2] for p in pools]
            scores += self._pool_scores(pools)
        if rows:
            room = np.asarray(pj.columns["headcount_left"], dtype=np.float64)
            share = len(chosen) / len(ids)
            prices = capacity_prices(
                rows, scores, room, float(spread), k, per_place=float(per_place) * share
            )
            job_ids = np.asarray(pj.columns["job_id"], dtype=np.int64)
            priced = np.flatnonzero(prices > 0)
            order = np.argsort(job_ids[priced], kind="stable")
            job_ids, prices = job_ids[priced][order], prices[priced][order]
        else:
            job_ids, prices = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        self.crowding_ = CrowdingPrices(
            job_ids=job_ids,
            prices=prices,
            spread=float(spread),
            facts={
                "workers_priced": int(len(chosen)) if float(spread) > 0 else 0,
                "workers_indexed": int(len(ids)),
                "jobs_priced": int(len(job_ids)),
                "k": int(k),
                "per_place": float(per_place),
                "seconds": round(time.perf_counter() - started, 3),
            },
        )
        return self.crowding_

    def crowding_prices(
        self,
        held: Sequence[tuple[int, int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
        spread: float,
        k: int = 10,
    ) -> np.ndarray:
        """Capacity prices (one per job row) for a batch's candidates: ``(position, worker
        row, job rows, dense, lexical, main-trade similarity)`` per worker, as
        :meth:`recommend_jobs_batch` holds them. The candidates are scored as they would be
        answered (:meth:`_rank`) and priced by :func:`capacity_prices`."""
        pj = self.jobs_index_.prepared
        rows = [h[2] for h in held]
        scores: list[np.ndarray] = []
        for start in range(0, len(held), 256):
            scores += self._pool_scores(held[start : start + 256])
        room = np.asarray(pj.columns["headcount_left"], dtype=np.float64)
        return capacity_prices(rows, scores, room, spread, k)

    def _pool_scores(
        self, pools: Sequence[tuple[int, int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
    ) -> list[np.ndarray]:
        """The scores :meth:`_rank` gives each pool's candidates, ranked in one call for all
        the pools (pair features and the ranker work row by row: one call for many workers
        gives each the scores of its own call, at a fraction of the overhead)."""
        if not pools:
            return []
        pw, pj = self.workers_index_.prepared, self.jobs_index_.prepared
        lengths = [len(p[2]) for p in pools]
        w_rows = np.repeat(np.array([p[1] for p in pools], dtype=np.int64), lengths)
        score = self._rank(
            pw,
            w_rows,
            pj,
            np.concatenate([p[2] for p in pools]),
            np.concatenate([p[3] for p in pools]),
            np.concatenate([p[4] for p in pools]),
            np.concatenate([p[5] for p in pools]),
        )[1]
        return np.split(score, np.cumsum(lengths)[:-1])

    def candidates(self, worker_ids: Iterable[int] | None = None, k: int = 20) -> pd.DataFrame:
        """Top-``k`` rule-abiding jobs per worker as a long table for the allocation step.

        Parameters
        ----------
        worker_ids : iterable of int, optional
            Indexed workers; all indexed workers when None.
        k : int, default=20

        Returns
        -------
        DataFrame
            ``worker_id, job_id, rank, score, p_success, retrieval_score``; ``rank`` starts at 1.
        """
        check_is_fitted(self, "workers_index_")
        ids = self.workers_index_.active_ids().tolist() if worker_ids is None else list(worker_ids)
        batch = self.recommend_jobs_batch(ids, k=k, with_reasons=False)
        rows = [
            (wid, it["job_id"], r + 1, it["score"], it["p_success"], it["retrieval_score"])
            for wid, items in batch.items()
            for r, it in enumerate(items)
        ]
        out = pd.DataFrame(
            rows, columns=["worker_id", "job_id", "rank", "score", "p_success", "retrieval_score"]
        )
        return out.astype(
            {"worker_id": np.int64, "job_id": np.int64, "rank": np.int64, "score": np.float64}
        )

    # ------------------------------------------------------------------------------------
    # features for training and evaluation

    def pair_features(
        self,
        pairs: pd.DataFrame,
        jobs: pd.DataFrame | None = None,
        workers: pd.DataFrame | None = None,
        firm_lift: np.ndarray | None = None,
    ) -> pd.DataFrame:
        """Features of given (worker_id, job_id) pairs, e.g. historical ones for training.

        Jobs and workers are looked up in ``jobs``/``workers`` when given (any status: a job
        filled since still has its features), else in the index. ``firm_lift`` gives the
        ``firm_retention`` column per pair (training passes leave-one-out values, so that a
        pair's own outcome does not teach its feature); default: from ``firm_history``.

        Returns
        -------
        DataFrame
            ``worker_id, job_id``, the :data:`FEATURE_NAMES` columns, and ``rules_ok``.
        """
        check_is_fitted(self, "jobs_index_")
        for c in ("worker_id", "job_id"):
            if c not in pairs.columns:
                raise ValueError(f"pairs lack the column {c!r}")
        pj, j_emb, j_lex, j_row = self._side(jobs, self.jobs_index_, prepare_jobs, "job_id")
        pw, w_emb, w_lex, w_row = self._side(
            workers, self.workers_index_, prepare_workers, "worker_id"
        )
        unknown_w = sorted(set(pairs["worker_id"].astype(int)) - set(w_row))
        unknown_j = sorted(set(pairs["job_id"].astype(int)) - set(j_row))
        if unknown_w or unknown_j:
            raise KeyError(f"pairs name unknown workers {unknown_w[:5]} or jobs {unknown_j[:5]}")
        wi = np.array([w_row[int(i)] for i in pairs["worker_id"]], dtype=np.int64)
        ji = np.array([j_row[int(i)] for i in pairs["job_id"]], dtype=np.int64)
        dense = rowwise_dot(w_emb, wi, j_emb, ji) if len(wi) else np.zeros(0, np.float32)
        width = max(w_lex.shape[1], j_lex.shape[1])
        lexical = (
            rowwise_sparse_dot(_pad(w_lex, width), wi, _pad(j_lex, width), ji)
            if len(wi)
            else np.zeros(0, np.float32)
        )
        main_sim = self._main_sim(pw, wi, j_emb, j_lex, ji)
        if firm_lift is None:
            firm_lift = self._firm_lift(pj, ji)
        elif len(firm_lift) != len(wi):
            raise ValueError(f"firm_lift has {len(firm_lift)} values for {len(wi)} pairs")
        X = pair_features(
            pw, wi, pj, ji, dense, lexical, float(self.lexical_weight), main_sim, firm_lift
        )
        out = pd.DataFrame(X, columns=list(FEATURE_NAMES))
        out.insert(0, "job_id", pairs["job_id"].to_numpy(dtype=np.int64))
        out.insert(0, "worker_id", pairs["worker_id"].to_numpy(dtype=np.int64))
        out["rules_ok"] = pair_mask(pw.rules, wi, pj.rules, ji) if len(wi) else np.zeros(0, bool)
        return out

    def _side(
        self, frame: pd.DataFrame | None, index: ItemIndex, prepare: Any, id_col: str
    ) -> tuple[Any, np.ndarray, sp.csr_matrix, dict[int, int]]:
        if frame is None:
            rows = {int(i): r for r, i in enumerate(index.ids.tolist()) if index.active[r]}
            return index.prepared, index.embeddings, index.lexical, rows
        prepared = prepare(frame, self.context_)
        rows = {int(i): r for r, i in enumerate(prepared.columns[id_col].tolist())}
        return prepared, self.encode(prepared.texts), self._lexical(prepared.texts), rows


def capacity_prices(
    job_rows: Sequence[np.ndarray],
    scores: Sequence[np.ndarray],
    room: np.ndarray,
    spread: float,
    k: int = 10,
    *,
    per_place: float = _PER_PLACE,
    temperature: float = _CROWD_TEMPERATURE,
    n_iter: int = 100,
) -> np.ndarray:
    """Per-job prices, in score points within ``[0, spread]``, that spread a batch of workers
    over the jobs that still have places (entropic optimal transport with capacities).

    Each worker fills ``k`` places of a list from their candidates ``job_rows[i]``: a
    candidate is on it with the chance ``sigmoid((score - price - t) / temperature)``, ``t``
    the worker's own threshold that makes the chances sum to ``k`` (a soft top-``k``). A job
    can take ``per_place`` recommendations per place it has left (``room``): most who are
    recommended a job never apply. The prices are the duals of those capacities, found by
    Sinkhorn-style steps: a job expected on more lists than it can take is priced up by
    ``temperature * log(load / capacity)``, one on fewer is priced down, never below 0 nor
    above ``spread``. So a job is priced only when the whole batch's score mass
    over-subscribes it (not by the order workers come in), and it is passed over only for a
    job within ``spread`` of its score. A lone worker, or a batch that crowds no job, gets all
    prices 0: its answers are unchanged.

    Parameters
    ----------
    job_rows : sequence of int arrays
        Each worker's candidate job rows (indices into ``room``), distinct per worker.
    scores : sequence of float arrays
        The candidates' scores, aligned with ``job_rows``.
    room : ndarray
        Places left per job row; a job with none left is priced ``spread`` when it is a
        candidate at all, so pricing never pushes it up.
    spread : float
        The highest price.
    k : int, default=10
        Length of each worker's list.

    Returns
    -------
    ndarray
        float64 prices, one per job row (0 for jobs no worker has as a candidate).

    Examples
    --------
    Forty workers who like job 0 a little more than job 1 and job 2; job 0 has one place
    (three recommendations), the others fifty:

    >>> rows = [np.array([0, 1, 2])] * 40
    >>> scores = [np.array([0.80, 0.79, 0.70])] * 40
    >>> p = capacity_prices(rows, scores, np.array([1.0, 50.0, 50.0]), spread=0.05, k=1)
    >>> bool(p[0] > 0.01), float(p[1]), float(p[2])
    (True, 0.0, 0.0)
    >>> float(capacity_prices(rows[:1], scores[:1], np.array([1.0, 50.0, 50.0]), 0.05, 1).max())
    0.0
    """
    room = np.asarray(room, dtype=np.float64)
    prices = np.zeros(len(room), dtype=np.float64)
    lengths = np.array([len(r) for r in job_rows], dtype=np.int64)
    keep = lengths > 0
    if not float(spread) > 0.0 or not keep.any():
        return prices
    j = np.concatenate([np.asarray(r, dtype=np.int64) for r in job_rows])
    s = np.concatenate([np.asarray(x, dtype=np.float64) for x in scores])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])[keep]
    seg = np.repeat(np.arange(len(starts)), lengths[keep])
    want = np.minimum(float(k), lengths[keep].astype(np.float64))
    # A job with no place left (one the index has not dropped yet) takes nobody.
    capacity = per_place * np.maximum(room, 0.0)
    tau = float(temperature)
    # Each worker's threshold starts between their k-th and (k+1)-th score and follows the
    # prices by Newton steps on sum(sigmoid) = k.
    theta = np.array(
        [np.sort(x)[::-1][min(int(k), len(x)) - 1] for x in scores if len(x)], dtype=np.float64
    )
    for _ in range(int(n_iter)):
        v = s - prices[j]
        for _ in range(4):
            m = _sigmoid((v - theta[seg]) / tau)
            excess = np.add.reduceat(m, starts) - want
            slope = np.add.reduceat(m * (1.0 - m), starts) / tau
            theta += np.clip(excess / np.maximum(slope, 1e-9), -10 * tau, 10 * tau)
        m = _sigmoid((v - theta[seg]) / tau)
        load = np.bincount(j, weights=m, minlength=len(room))
        step = tau * np.log(np.maximum(load, 1e-12) / np.maximum(capacity, 1e-12))
        new = np.clip(prices + 0.5 * step, 0.0, float(spread))
        new[load == 0] = 0.0
        done = np.abs(new - prices).max() < 1e-6
        prices = new
        if done:
            break
    # Prices below a thousandth of a point move nothing but ties: keep answers exact there.
    prices[prices < 1e-3] = 0.0
    return prices


def crowding_penalty(
    prices: np.ndarray,
    worker_id: int,
    job_ids: np.ndarray,
    spread: float,
    temperature: float = _CROWD_TEMPERATURE,
) -> np.ndarray:
    """What one worker's candidates lose for crowding: each priced job's price, less
    ``temperature`` times a logistic draw that is a fixed function of (worker, job), kept
    within ``[0, spread]``; unpriced jobs lose nothing.

    Workers alike in every respect would otherwise all keep or all drop a crowded job
    together; with the draw, a job whose price leaves it on a worker's list with the chance
    ``sigmoid((score - price - t) / temperature)`` (:func:`capacity_prices`) is on about that
    share of such lists. The draw depends on the two ids alone (a SplitMix64 hash, not
    Python's salted ``hash``), so every process, and every order of the batch, gives the
    same lists.

    >>> p = crowding_penalty(np.array([0.0, 0.03]), 7, np.array([1, 2]), spread=0.05)
    >>> float(p[0]), bool(0.0 <= p[1] <= 0.05)
    (0.0, True)
    """
    prices = np.asarray(prices, dtype=np.float64)
    out = np.zeros(len(prices), dtype=np.float64)
    priced = prices > 0
    if not priced.any():
        return out
    u = _unit_hash(int(worker_id), np.asarray(job_ids, dtype=np.int64)[priced])
    draw = np.log(u) - np.log1p(-u)
    out[priced] = np.clip(prices[priced] - float(temperature) * draw, 0.0, float(spread))
    return out


def _unit_hash(worker_id: int, job_ids: np.ndarray) -> np.ndarray:
    """Numbers in (0, 1), a SplitMix64 hash of (worker id, job id)."""
    with np.errstate(over="ignore"):
        x = np.uint64(worker_id & 0xFFFFFFFF) * np.uint64(0x9E3779B97F4A7C15)
        x = x ^ (job_ids.astype(np.uint64) * np.uint64(0xD1B54A32D192ED03))
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return ((x >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)


def _id_or_zero(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _row_dicts(
    columns: Mapping[str, Any], rows: np.ndarray, names: Sequence[str] | None = None
) -> dict[int, dict[str, Any]]:
    """``{row: {column: value}}`` for the distinct ``rows`` (of the columns ``names``, default
    all), each column indexed once."""
    distinct = np.unique(np.asarray(rows, dtype=np.int64))
    names = list(columns if names is None else names)
    if len(distinct) == 1:
        # One row (the worker of a jobs answer): read by position, not through index arrays.
        r = int(distinct[0])
        return {r: {c: columns[c][r] for c in names}}
    values = {c: columns[c][distinct] for c in names}
    return {int(r): {c: values[c][i] for c in values} for i, r in enumerate(distinct)}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _pad(m: sp.csr_matrix, width: int) -> sp.csr_matrix:
    if m.shape[1] >= width:
        return m
    return sp.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], width))


def _frame(records: pd.DataFrame | Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    if isinstance(records, pd.DataFrame):
        return records.reset_index(drop=True)
    if isinstance(records, Mapping):
        return pd.DataFrame([dict(records)])
    return pd.DataFrame([dict(r) for r in records])


def _remove(index: ItemIndex, ids: Iterable[int]) -> None:
    ids = [int(i) for i in ids]
    unknown = [i for i in ids if i not in index]
    if unknown:
        raise KeyError(f"{index.id_column} {unknown[:10]} not indexed; nothing was removed")
    index.remove(ids)


def _check_ranker_features(ranker: Any) -> None:
    names = getattr(ranker, "feature_names_", None)
    if names is not None and tuple(names) != FEATURE_NAMES:
        missing = sorted(set(FEATURE_NAMES) - set(names))
        raise ValueError(
            f"排序模型的特征与当前引擎不一致（缺少 {missing[:5]}），请重新训练（jobbridge train）; "
            "the ranker was trained on other features than this engine computes"
        )


def _check_k(k: object) -> None:
    if not isinstance(k, int | np.integer) or isinstance(k, bool) or int(k) < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")


__all__ = [
    "CrowdingPrices",
    "MatchingEngine",
    "REGISTER_PER_PLACE",
    "Recommendations",
    "capacity_prices",
    "crowding_penalty",
    "resolve_encoder",
]
