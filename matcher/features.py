"""Pair features: what the learned ranker sees about one (worker, job) pair.

The engine prepares each table once (:func:`prepare_jobs`, :func:`prepare_workers`: texts,
occupation codes, coordinates, rule arrays) and then computes features for many pairs at
once with :func:`pair_features`, vectorised over numpy arrays.

Protected attributes (``name``, ``gender``, ``ethnicity``) are never read here: the
prepared tables do not even carry them, so no feature and no retrieval text can depend on
them. ``needs_halal`` is the worker's stated wish and is used only by the hard rules and
the reasons.

Reference facts the engine may not import from :mod:`data` (county coordinates, paired
Jiangsu cities, Jiangsu city coordinates) arrive as a :class:`Geography`.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
import scipy.sparse as sp

from matcher.occupations import HIERARCHY_LEVELS, hierarchy_similarities
from matcher.rules import CertificateVocabulary, JobRuleArrays, WorkerRuleArrays, _as_list

#: Column order of the feature matrix the ranker is trained on.
FEATURE_NAMES: tuple[str, ...] = (
    "dense_sim",
    "lexical_sim",
    "retrieval_score",
    "main_fit",
    "main_text_sim",
    "skill_fit",
    "wish_fit",
    "has_trade",
    "occ_job_coded",
    "wage_min_vs_floor",
    "wage_max_vs_floor",
    "wage_mid",
    "has_wage_floor",
    "pref_city",
    "no_city_pref",
    "paired_city",
    "distance_km",
    "dormitory",
    "meals",
    "halal_canteen",
    "novice_ok",
    "age_margin",
    "education_margin",
    "extra_certificates",
    "has_skills_text",
    "n_desired_jobs",
    "has_description",
    "headcount_left",
    "firm_retention",
    "prior_score",
)

#: Similarity of two CSCO codes by how far up the hierarchy they agree: nothing, the same
#: major group, the same middle group, the same minor group (快递员 / 快件处理员), the same
#: detailed occupation. The coder's grading (:data:`matcher.occupations.HIERARCHY_LEVELS`),
#: so that ranking and coding agree on what "a related trade" is; indexed by depth.
HIERARCHY_SIMILARITY: tuple[float, ...] = tuple(
    HIERARCHY_LEVELS[k] for k in ("unrelated", "major", "middle", "minor", "detailed")
)


# ---------------------------------------------------------------------------------------
# Text


def _fallback_normalize(text: str) -> str:
    # NFKC folds full-width letters/digits/punctuation to half-width.
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def normalize(text: object) -> str:
    """Normalise a free-text cell with :func:`matcher.text.normalize_text` when it exists."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    text = str(text)
    try:
        from matcher.text import normalize_text
    except ImportError:
        return _fallback_normalize(text)
    return normalize_text(text)


def clean_job_title(title: str) -> str:
    """Strip marketing noise from a job title (``matcher.text.clean_title`` when it exists)."""
    try:
        from matcher.text import clean_title
    except ImportError:
        return normalize(title)
    return clean_title(title)


def is_meaningful(text: str) -> bool:
    """``True`` when a text holds at least two CJK characters or letters (not just noise)."""
    n = sum(1 for ch in text if ch.isalpha() or "\u4e00" <= ch <= "\u9fff")
    return n >= 2


# ---------------------------------------------------------------------------------------
# Geography


@dataclass
class Geography:
    """Reference facts the engine needs, passed in by ``training/`` and the API.

    Parameters
    ----------
    county_coords : mapping of str to (float, float)
        6-digit county code → (latitude, longitude) of its home prefecture.
    county_paired_city : mapping of str to str
        6-digit county code → canonical paired Jiangsu prefecture (``"苏州市"``).
    city_coords : mapping of str to (float, float)
        Canonical Jiangsu prefecture → (latitude, longitude).
    """

    county_coords: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    county_paired_city: Mapping[str, str] = field(default_factory=dict)
    city_coords: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def coerce(cls, value: Geography | Mapping[str, Any] | None) -> Geography:
        """Accept a :class:`Geography`, a mapping with its three keys, or ``None`` (no facts)."""
        if value is None:
            return cls()
        if isinstance(value, Geography):
            return value
        if isinstance(value, Mapping):
            unknown = set(value) - {"county_coords", "county_paired_city", "city_coords"}
            if unknown:
                raise ValueError(
                    f"geography keys {sorted(unknown)} are unknown; valid keys are "
                    "['city_coords', 'county_coords', 'county_paired_city']"
                )
            return cls(**{k: dict(v) for k, v in value.items()})
        raise ValueError(
            f"geography must be a Geography, a mapping or None, got {type(value).__name__}"
        )


def haversine_km(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    """Great-circle distance in km (NaN where a coordinate is unknown)."""
    lat1, lon1, lat2, lon2 = (
        np.radians(np.asarray(a, dtype=np.float64)) for a in (lat1, lon1, lat2, lon2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 6371.0 * 2 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


# ---------------------------------------------------------------------------------------
# Occupations


class OccupationPredictor(Protocol):
    def predict(self, titles: Sequence[str]) -> Sequence[str]: ...


def predict_codes(coder: OccupationPredictor, texts: Sequence[str]) -> list[str]:
    """``coder.predict`` on each distinct text once (registers repeat the same trades)."""
    if not len(texts):
        return []
    unique = sorted(set(texts))
    codes = dict(zip(unique, (str(c or "") for c in coder.predict(unique)), strict=True))
    return [codes[t] for t in texts]


#: Weight of a job's description next to its title when a coder scores both.
DESCRIPTION_WEIGHT = 0.5


#: A job the coder reads two ways keeps its second reading (``occ_alt_code``) when the
#: coder's score for it (title plus half the description, :func:`job_readings`) lies within
#: this much of the first's: ``熟练车工`` is a lathe operator or, in a garment factory, a
#: sewing-machine operator; ``打包员`` packs goods or sorts them in a warehouse. Chosen on the
#: guard world (:data:`training.pipeline.VALIDATION_WORLD`), base model, mean NDCG@10 of both
#: directions: 0.8586 with no second reading, 0.8617 at a gap of 0.3, 0.8661 at 0.7, 0.8663
#: at 1.0, 0.8639 at 1.5 (the smaller of 0.7 and 1.0, which cannot be told apart, marks fewer
#: jobs ambiguous).
ALT_READING_GAP = 0.7

#: How much a job's second reading counts next to its first: as a near trade (the same minor
#: group, :data:`HIERARCHY_SIMILARITY`), below the job's first reading and above a second trade
#: of the worker's. On the guard world 0.6 scored 0.8603 and 0.8 0.8670 (gap 0.7).
ALT_READING_WEIGHT = HIERARCHY_LEVELS["minor"]

#: How much a job's first reading counts when the coder also reads it a second way: the
#: title is less sure of either (``做房阿姨`` reads as a cleaner and as a hotel room
#: attendant), so a job plainly of the worker's trade goes before one that may be. Above
#: :data:`ALT_READING_WEIGHT`, so the first reading still leads. On the guard world, base
#: model, mean NDCG@10 of both directions: 0.8661 at 1 (no discount), 0.8682 at 0.9, 0.8680
#: at 0.85, 0.8687 at 0.8, 0.8689 at 0.75 (the larger of 0.8 and 0.75, which cannot be told
#: apart, moves the first reading less).
FIRST_READING_WEIGHT = 0.8


def code_jobs(
    coder: OccupationPredictor,
    titles: Sequence[str],
    descriptions: Sequence[str],
    description_weight: float = DESCRIPTION_WEIGHT,
) -> list[str]:
    """Occupation codes of jobs from their title and, at half weight, their description.

    A title is often vague or all noise (``急招 包吃住 月入过万``, or 外观检验 read as noise with
    pay and perks around it) while the description names the work (``工作内容：平车工``); at
    half weight it decides vague titles and leaves clear ones alone. A coder with ``similarities``
    (:class:`matcher.occupations.OccupationCoder`) adds the description's scores to the
    title's; any other coder codes the title alone (:func:`predict_codes`). On the independent
    evaluation world this codes 470 of 600 jobs right instead of 454.
    """
    return job_readings(coder, titles, descriptions, description_weight)[0]


def job_readings(
    coder: OccupationPredictor,
    titles: Sequence[str],
    descriptions: Sequence[str],
    description_weight: float = DESCRIPTION_WEIGHT,
    gap: float | None = None,
) -> tuple[list[str], list[str]]:
    """:func:`code_jobs` and each job's second reading: the code the coder scores next, where
    it lies within ``gap`` (default :data:`ALT_READING_GAP`) of the first; ``""`` where none
    does, where the job is not coded, and for a coder without a classifier (its similarities
    are not on the scale of the gap) or without scores."""
    gap = ALT_READING_GAP if gap is None else gap
    if not hasattr(coder, "similarities") or not len(titles):
        codes = predict_codes(coder, titles)
        return codes, [""] * len(codes)
    pairs = list(zip(titles, descriptions, strict=True))
    unique = sorted(set(pairs))
    scores = coder.similarities([t for t, _ in unique])
    with_text = [i for i, (_, d) in enumerate(unique) if is_meaningful(d)]
    if with_text:
        desc = coder.similarities([unique[i][1] for i in with_text])
        scores[with_text] += description_weight * desc
    similarity_only = getattr(coder, "coef_", None) is None
    codable = np.any(scores > 0 if similarity_only else scores != 0, axis=1)
    rows = np.arange(len(unique))
    best = scores.argmax(axis=1)
    top = scores[rows, best]
    # The next code: the best once the first is masked (scores is ours to overwrite).
    scores[rows, best] = -np.inf
    runner = scores.argmax(axis=1)
    # The gap is on the classifier's scale (decision values); similarities alone are not.
    close = codable & (top - scores[rows, runner] < gap) & (not similarity_only)
    found = {
        pair: (str(coder.codes_[b]) if ok else "", str(coder.codes_[r]) if near else "")
        for pair, b, r, ok, near in zip(unique, best, runner, codable, close, strict=True)
    }
    return [found[p][0] for p in pairs], [found[p][1] for p in pairs]


class NameOccupationCoder:
    """A small fallback coder: nearest CSCO name or alias by character n-gram TF-IDF.

    Used when no :class:`matcher.occupations.OccupationCoder` is given; codes below
    ``min_similarity`` are left uncoded (``""``).
    """

    def __init__(self, min_similarity: float = 0.35) -> None:
        self.min_similarity = min_similarity

    def fit(self, occupations: pd.DataFrame) -> NameOccupationCoder:
        from sklearn.feature_extraction.text import TfidfVectorizer

        occ = occupations
        if "level" in occ.columns:
            occ = occ[occ["level"].astype(str) == "4"]
        names: list[str] = []
        codes: list[str] = []
        if "aliases" in occ.columns:  # data.reference.load_occupations: list[str]
            alias_lists = [list(a) if isinstance(a, list | tuple) else [] for a in occ["aliases"]]
        elif "alias" in occ.columns:  # the raw csco22.csv: comma-separated str
            alias_lists = [str(a).split(",") if isinstance(a, str) else [] for a in occ["alias"]]
        else:
            alias_lists = [[] for _ in range(len(occ))]
        for code, name, aliases in zip(occ["code"], occ["name"], alias_lists, strict=True):
            for n in {str(name), *aliases}:
                if n.strip():
                    names.append(normalize(n))
                    codes.append(str(code))
        self.vectorizer_ = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True)
        self.matrix_ = self.vectorizer_.fit_transform(names)
        self.codes_ = np.asarray(codes, dtype=object)
        return self

    def predict(self, titles: Sequence[str]) -> list[str]:
        if not len(titles):
            return []
        q = self.vectorizer_.transform([normalize(t) for t in titles])
        sims = (q @ self.matrix_.T).tocsr()
        # Each row's best name read straight from the CSR arrays: a `getrow` per title built a
        # matrix per title (applying a 10,000-worker import: 3.99 -> 3.74 s CPU per process).
        data, indices, indptr = sims.data, sims.indices, sims.indptr
        out: list[str] = []
        for i in range(sims.shape[0]):
            start, end = indptr[i], indptr[i + 1]
            if start == end:
                out.append("")
                continue
            k = start + int(data[start:end].argmax())
            out.append(str(self.codes_[indices[k]]) if data[k] >= self.min_similarity else "")
        return out


def code_match_level(a: Sequence[str], b: Sequence[str]) -> np.ndarray:
    """How many leading CSCO code segments agree: 4 same code, 3 same minor group,
    2 same middle group, 1 same major group, 0 otherwise or when either is uncoded."""
    out = np.zeros(len(a), dtype=np.int8)
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if not x or not y:
            continue
        xs, ys = x.split("-"), y.split("-")
        level = 0
        for s, t in zip(xs, ys, strict=False):
            if s != t or s == "00":
                break
            level += 1
        out[i] = level
    return out


def hierarchy_similarity(a: Sequence[str], b: Sequence[str]) -> np.ndarray:
    """Graded similarity of paired CSCO codes (:data:`HIERARCHY_SIMILARITY`), float32.

    :func:`matcher.occupations.hierarchy_similarities`: equal codes are 1 even when they end in
    ``-00`` (``6-31-05-00`` 包装工 is a detailed occupation), and a group code is compared on
    the levels it gives.
    """
    return hierarchy_similarities(list(a), list(b))


def best_hierarchy_similarity(groups: Sequence[Sequence[str]], b: Sequence[str]) -> np.ndarray:
    """For each pair, the best :func:`hierarchy_similarity` of any code in ``groups[k]`` to
    ``b[k]`` (0 for an empty group).

    Each distinct (group, code) is compared once: a worker's candidate jobs repeat the
    worker's group and a few dozen job codes.
    """
    out = np.zeros(len(b), dtype=np.float32)
    seen: dict[tuple[tuple[str, ...], str], float] = {}
    for i, (codes, y) in enumerate(zip(groups, b, strict=True)):
        if codes and y:
            key = (tuple(codes), y)
            best = seen.get(key)
            if best is None:
                best = seen[key] = float(hierarchy_similarity(key[0], [y] * len(key[0])).max())
            out[i] = best
    return out


# What a clerk writes between two trades: punctuation and the joining words people say.
_CLAUSE_SPLIT = re.compile(r"[，,；;。、/|\n!！?？]+|(?:另外|此外|然后|也会|还会)")
# Clauses that deny experience (没干过, 不会开车, 未从事) name no trade the worker has.
_NEGATION = re.compile(r"没|未|不会|从未")
# Words of character, not of trade (人踏实、能吃苦): they must not become a "trade".
_FILLER = re.compile(r"踏实|吃苦|勤快|老实|身体好|能倒班|能加班|肯干|听话|挣")
_CN_DIGITS = {
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_YEARS = re.compile(
    r"(半|[0-9]+(?:\.[0-9]+)?|[一二两三四五六七八九十几来多好]+)"
    r"\s*(?:个)?\s*(年|月|个月|季)"
)


def _number(word: str) -> float:
    """A count as written: ``3``, ``三``, ``十五``, ``十来`` (≈12), ``几`` (≈3), ``三四``."""
    if word == "半":
        return 0.5
    try:
        return float(word)
    except ValueError:
        pass
    w = word.replace("多", "").replace("来", "几").replace("好", "")
    if "十" in w:
        head, _, tail = w.partition("十")
        tens = _CN_DIGITS.get(head, 1) if head else 1
        unit = 2.0 if tail == "几" else float(_CN_DIGITS.get(tail, 0))
        return tens * 10 + unit
    digits = [_CN_DIGITS[c] for c in w if c in _CN_DIGITS]
    if digits:
        return float(sum(digits)) / len(digits)  # 三四 → 3.5, 一两 → 1.5
    return 3.0 if "几" in w else 1.0


def clause_years(clause: str) -> float | None:
    """Years of experience a clause states (``干了十来年`` → 12, ``半年`` → 0.5), or None."""
    m = _YEARS.search(clause)
    if m is None:
        return None
    n = _number(m.group(1))
    return n / 12.0 if m.group(2) in ("月", "个月") else (n / 4.0 if m.group(2) == "季" else n)


def split_clauses(text: str) -> list[tuple[str, float | None]]:
    """The clauses of a skills text that may name a trade, in order, with stated years."""
    out: list[tuple[str, float | None]] = []
    for part in _CLAUSE_SPLIT.split(text or ""):
        part = part.strip()
        if not is_meaningful(part) or _NEGATION.search(part) or _FILLER.search(part):
            continue
        out.append((part, clause_years(part)))
    return out


def order_trades(coded: Sequence[tuple[str, float | None]]) -> list[str]:
    """Distinct codes of a worker's clauses, the main trade first.

    The main trade is the one named first, unless another was held longer by the years
    stated (a clause without years counts as one year): ``学过半年电焊，后来砌了十来年墙``
    has masonry as its main trade. The rest follow in the order named.

    >>> order_trades([("6-05-01-03", 3.0), ("6-30-05-01", None)])
    ['6-05-01-03', '6-30-05-01']
    >>> order_trades([("6-18-02-04", 0.5), ("6-29-01-01", 12.0)])
    ['6-29-01-01', '6-18-02-04']
    """
    years: dict[str, float] = {}
    for code, y in coded:
        if code:
            years[code] = max(years.get(code, 0.0), 1.0 if y is None else float(y))
    codes = list(years)
    if not codes:
        return []
    main = codes[0]
    for c in codes[1:]:
        if years[c] > years[main]:
            main = c
    return [main, *(c for c in codes if c != main)]


#: Least similarity for a clause to be coded by a coder that states no threshold of its own.
DEFAULT_CLAUSE_MIN_SCORE = 0.2


def code_texts(
    coder: OccupationPredictor,
    texts: Sequence[str],
    min_score: float | None,
    majors: Sequence[str] | None = None,
) -> list[str]:
    """Codes of short texts, ``""`` where the coder is not sure enough.

    A coder with ``predict_topk`` (:class:`matcher.occupations.OccupationCoder`) gives a score
    that must reach ``min_score`` (None: the coder's ``min_confident_score``, else
    :data:`DEFAULT_CLAUSE_MIN_SCORE`), and with ``majors`` the best code of those major groups
    is taken; a coder with ``predict`` only decides itself.
    """
    if not len(texts):
        return []
    unique = sorted(set(texts))
    if min_score is None:
        min_score = float(getattr(coder, "min_confident_score", DEFAULT_CLAUSE_MIN_SCORE))
    if hasattr(coder, "predict_topk"):
        allowed = tuple(f"{m}-" for m in majors) if majors else None
        found = []
        for top in coder.predict_topk(unique, 10 if allowed else 1):
            ok = [c for c, _, score in top if score >= min_score]
            if allowed:
                ok = [c for c in ok if str(c).startswith(allowed)]
            found.append(str(ok[0]) if ok else "")
    else:
        found = [str(c or "") for c in coder.predict(unique)]
    codes = dict(zip(unique, found, strict=True))
    return [codes[t] for t in texts]


# ---------------------------------------------------------------------------------------
# Prepared tables


@dataclass
class Context:
    """What preparing a table needs: fitted at :meth:`MatchingEngine.fit`."""

    education_ranks: Mapping[str, int]
    geography: Geography
    certificates: CertificateVocabulary
    as_of: dt.date
    coder: OccupationPredictor | None = None
    occupation_names: Mapping[str, str] = field(default_factory=dict)
    #: Least coder score for a clause of a worker's text to count as a trade; None takes the
    #: coder's own (``min_confident_score``, :class:`matcher.occupations.OccupationCoder`),
    #: else 0.2 (a similarity coder's cosine).
    clause_min_score: float | None = None
    #: CSCO major groups a worker's trade is coded in: service (4), farming (5) and
    #: production (6) work, the trades of the programme's registered workers. Without it
    #: a clause such as 会踩平车 became 会计专业人员 and 在厂里做过品检 企业经理.
    worker_majors: tuple[str, ...] = ("4", "5", "6")


class _ColumnArrays:
    """A prepared table: its columns as numpy arrays, one row per job or worker (0..n-1).

    Prepared tables are never changed in place (the index concatenates or takes into new
    ones), so the arrays stay true. The engine reads the arrays: reading ~30 columns of a
    pandas frame per query cost about 6 ms of a 15 ms recommendation, and building a frame
    for the one row of a write, then reading its columns back, about 3 ms of the write.
    ``frame`` (pandas) is built on demand, for evaluation and tests.
    """

    columns: dict[str, np.ndarray]

    @functools.cached_property
    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({c: np.asarray(v) for c, v in self.columns.items()})

    def __len__(self) -> int:
        return len(self.texts)  # type: ignore[attr-defined]

    def __getstate__(self) -> dict[str, Any]:
        # The frame is a second copy of the columns: rebuilt on demand, never stored.
        state = dict(self.__dict__)
        state.pop("frame", None)
        return state


@dataclass
class PreparedJobs(_ColumnArrays):
    columns: dict[str, np.ndarray]  # scalar columns, one row per job
    rules: JobRuleArrays
    texts: list[str]


@dataclass
class PreparedWorkers(_ColumnArrays):
    columns: dict[str, np.ndarray]
    rules: WorkerRuleArrays
    texts: list[str]


def _column(table: pd.DataFrame, name: str, default: Any) -> pd.Series:
    """``table[name]``, or ``default`` in every row where the table has no such column (the
    default is built only then: for the one row of a write, building every default
    beforehand cost more than reading the columns)."""
    if name in table.columns:
        return table[name]
    return pd.Series([default] * len(table), index=table.index)


def _coords(
    keys: Sequence[str], table: Mapping[str, tuple[float, float]]
) -> tuple[np.ndarray, np.ndarray]:
    lat = np.full(len(keys), np.nan)
    lon = np.full(len(keys), np.nan)
    for i, key in enumerate(keys):
        c = table.get(key)
        if c is not None:
            lat[i], lon[i] = c
    return lat, lon


def prepare_jobs(jobs: pd.DataFrame, ctx: Context) -> PreparedJobs:
    """Texts, occupation codes, coordinates and rule arrays of a job table."""
    if "job_id" not in jobs.columns:
        raise ValueError(f"Job table lacks the column 'job_id'; it has {list(jobs.columns)}")
    jobs = jobs.reset_index(drop=True)
    rules = JobRuleArrays.from_frame(jobs, ctx.certificates, ctx.education_ranks)
    titles = [normalize(t) for t in jobs["title"].tolist()]
    descriptions = [normalize(d) for d in _column(jobs, "description", "").tolist()]
    codes = [str(c) if isinstance(c, str) else "" for c in _column(jobs, "occupation_code", "")]
    given = np.array([bool(c) for c in codes], dtype=bool)
    alt_codes = [""] * len(codes)
    if ctx.coder is not None and not given.all():
        todo = [i for i, c in enumerate(codes) if not c]
        predicted, alts = job_readings(
            ctx.coder,
            [clean_job_title(jobs["title"].iat[i]) for i in todo],
            [descriptions[i] for i in todo],
        )
        for i, c, a in zip(todo, predicted, alts, strict=True):
            codes[i] = str(c or "")
            alt_codes[i] = str(a or "")
    occ_names = [ctx.occupation_names.get(c, "") for c in codes]
    texts = [
        " ".join(p for p in (t, o, d) if p)
        for t, o, d in zip(titles, occ_names, descriptions, strict=True)
    ]
    city = jobs["city"].fillna("").astype(str).tolist()
    lat, lon = _coords(city, ctx.geography.city_coords)
    wage_min = jobs["wage_min"].fillna(0).to_numpy(dtype=np.float64)
    wage_max = jobs["wage_max"].fillna(0).to_numpy(dtype=np.float64)
    columns = {
        "job_id": jobs["job_id"].to_numpy(dtype=np.int64),
        # Who offers the job: for the answers, and the firm's past retention
        # (matcher.history.FirmRetention, the ``firm_retention`` feature).
        "firm_id": pd.to_numeric(_column(jobs, "firm_id", -1)).fillna(-1).to_numpy(dtype=np.int64),
        "firm_name": _column(jobs, "firm_name", "").fillna("").astype(str).to_numpy(),
        "title": jobs["title"].fillna("").astype(str).to_numpy(),
        "occ_code": np.asarray(codes, dtype=object),
        "occ_alt_code": np.asarray(alt_codes, dtype=object),
        "occ_given": given,
        "city": np.asarray(city, dtype=object),
        "lat": lat,
        "lon": lon,
        "wage_min": wage_min,
        "wage_max": np.maximum(wage_max, wage_min),
        "dormitory": rules.dormitory,
        "meals": _column(jobs, "meals", False).fillna(False).to_numpy(dtype=bool),
        "halal_canteen": rules.halal_canteen,
        "novice_ok": _column(jobs, "novice_ok", False).fillna(False).to_numpy(dtype=bool),
        "has_description": np.array([is_meaningful(d) for d in descriptions], dtype=bool),
        "headcount_left": (
            jobs["headcount"].to_numpy(dtype=np.float64)
            - jobs["hired_count"].fillna(0).to_numpy(dtype=np.float64)
        ),
        "cert_count": rules.cert_count.astype(np.int16),
    }
    return PreparedJobs(columns=columns, rules=rules, texts=texts)


def prepare_workers(workers: pd.DataFrame, ctx: Context) -> PreparedWorkers:
    """Texts, occupation codes of experience and wishes, home coordinates and rule arrays.

    Only non-protected columns are read: ``name``, ``gender`` and ``ethnicity`` never are.
    """
    if "worker_id" not in workers.columns:
        raise ValueError(
            f"Worker table lacks the column 'worker_id'; it has {list(workers.columns)}"
        )
    workers = workers.reset_index(drop=True)
    rules = WorkerRuleArrays.from_frame(workers, ctx.certificates, ctx.education_ranks, ctx.as_of)
    skills = [normalize(s) for s in _column(workers, "skills_text", "").tolist()]
    desired = [[normalize(d) for d in _as_list(v)] for v in _column(workers, "desired_jobs", [])]
    has_skills = np.array([is_meaningful(s) for s in skills], dtype=bool)
    texts = [
        " ".join([s if ok else "", *d]).strip()
        for s, ok, d in zip(skills, has_skills, desired, strict=True)
    ]
    trades: list[list[str]] = [[] for _ in range(len(workers))]
    # What the worker said of each trade (会开叉车), for the reasons.
    trade_clauses: list[tuple[str, ...]] = [() for _ in range(len(workers))]
    wish_codes: list[tuple[str, ...]] = [() for _ in range(len(workers))]
    clauses = [split_clauses(s) if ok else [] for s, ok in zip(skills, has_skills, strict=True)]
    # The clause the main trade was named in; where nothing could be coded, the clause held
    # longest (or the first).
    main_clause = [
        max(cs, key=lambda c: (1.0 if c[1] is None else c[1], -cs.index(c)))[0] if cs else ""
        for cs in clauses
    ]
    if ctx.coder is not None and len(workers):
        # The clauses and the wishes are coded in one call (one worker's write: half the
        # coder's fixed cost per call).
        flat = [c for cs in clauses for c, _ in cs]
        wishes = [d for ds in desired for d in ds]
        coded = iter(code_texts(ctx.coder, flat + wishes, ctx.clause_min_score, ctx.worker_majors))
        for i, cs in enumerate(clauses):
            pairs = [(next(coded), y, text) for text, y in cs]
            trades[i] = order_trades([(c, y) for c, y, _ in pairs])
            said = {}
            for c, _, text in pairs:
                said.setdefault(c, text)
            trade_clauses[i] = tuple(said[c] for c in trades[i])
            if trades[i]:
                main_clause[i] = trade_clauses[i][0]
        for i, ds in enumerate(desired):
            wish_codes[i] = tuple(dict.fromkeys(c for c in (next(coded) for _ in ds) if c))
    main_codes = [t[0] if t else "" for t in trades]
    second_codes = [tuple(t[1:]) for t in trades]
    # The names of the coded trades join the retrieval text, so that "踩过缝纫机" also finds
    # jobs titled 缝纫工 lexically.
    trade_names = [
        " ".join(n for n in (ctx.occupation_names.get(c, "") for c in t) if n) for t in trades
    ]
    texts = [" ".join(p for p in (t, n) if p) for t, n in zip(texts, trade_names, strict=True)]
    county = _column(workers, "county_code", "").fillna("").astype(str).tolist()
    lat, lon = _coords(county, ctx.geography.county_coords)
    paired = [ctx.geography.county_paired_city.get(c, "") for c in county]
    edu_known = np.array(
        [lv in ctx.education_ranks for lv in workers["education"].tolist()], dtype=bool
    )
    columns = {
        "worker_id": workers["worker_id"].to_numpy(dtype=np.int64),
        "exp_code": np.asarray(main_codes, dtype=object),
        "second_codes": pd.Series(second_codes, dtype=object).to_numpy(),
        "wish_codes": pd.Series(wish_codes, dtype=object).to_numpy(),
        "trade_clauses": pd.Series(trade_clauses, dtype=object).to_numpy(),
        "main_clause": np.asarray([t[0] if t else "" for t in trade_clauses], dtype=object),
        "has_skills_text": has_skills,
        "n_desired_jobs": np.array([len(d) for d in desired], dtype=np.int16),
        "first_desired": np.asarray([d[0] if d else "" for d in desired], dtype=object),
        "preferred_cities": pd.Series(
            [tuple(_as_list(v)) for v in _column(workers, "preferred_cities", [])],
            dtype=object,
        ).to_numpy(),
        "min_wage": _column(workers, "min_wage", 0).fillna(0).to_numpy(dtype=np.float64),
        "county_code": np.asarray(county, dtype=object),
        "lat": lat,
        "lon": lon,
        "paired_city": np.asarray(paired, dtype=object),
        "n_certificates": np.diff(rules.certificates.indptr).astype(np.int16),
        "certificates_unrecognised": pd.Series(
            [tuple(_as_list(v)) for v in _column(workers, "certificates_unrecognised", [])],
            dtype=object,
        ).to_numpy(),
        "education": workers["education"].astype(object).to_numpy(),
        "education_known": edu_known,
        "needs_halal": rules.needs_halal,
        "needs_dormitory": rules.needs_dormitory,
        "age": rules.age,
    }
    return PreparedWorkers(columns=columns, rules=rules, texts=texts)


# ---------------------------------------------------------------------------------------
# Features


def rowwise_dot(a: np.ndarray, ai: np.ndarray, b: np.ndarray, bi: np.ndarray) -> np.ndarray:
    """``a[ai[k]] · b[bi[k]]`` for each k (dense float matrices)."""
    return np.einsum("ij,ij->i", a[ai].astype(np.float32), b[bi].astype(np.float32))


def rowwise_sparse_dot(
    a: sp.csr_matrix, ai: np.ndarray, b: sp.csr_matrix, bi: np.ndarray
) -> np.ndarray:
    """``a[ai[k]] · b[bi[k]]`` for each k (sparse rows).

    When one side names a single row (one worker's candidate jobs, one job's candidate
    workers), the other side's rows are multiplied with it as a dense vector: one matrix-vector
    product, about a third of the elementwise product of two gathered matrices.
    """
    ai, bi = np.asarray(ai), np.asarray(bi)
    if len(ai) and (ai == ai[0]).all():
        return _rows_dot_row(b, bi, a, int(ai[0]))
    if len(bi) and (bi == bi[0]).all():
        return _rows_dot_row(a, ai, b, int(bi[0]))
    return np.asarray(a[ai].multiply(b[bi]).sum(axis=1)).ravel().astype(np.float32)


def _rows_dot_row(m: sp.csr_matrix, rows: np.ndarray, other: sp.csr_matrix, row: int) -> np.ndarray:
    """``m[rows[k]] · other[row]`` for each k."""
    one = other[row]
    vector = np.zeros(m.shape[1], dtype=np.float32)
    inside = one.indices < m.shape[1]
    vector[one.indices[inside]] = one.data[inside]
    return np.asarray(m[rows] @ vector, dtype=np.float32).ravel()


#: The main-trade clause's text similarity counts up to _TEXT_WEIGHT, reached at _TEXT_SCALE.
_TEXT_WEIGHT = 0.15
_TEXT_SCALE = 0.3


#: The trade fit :func:`prior_score` gives a job that takes novices, whatever its trade.
NOVICE_FIT = 0.35


def prior_score(cols: Mapping[str, np.ndarray]) -> np.ndarray:
    """The ranking that needs no outcome history: taxonomy fit first, then the worker's wishes.

    A labour-bureau clerk's order, in [0, 1]: the job in the worker's main trade
    (hierarchy-graded, :data:`HIERARCHY_SIMILARITY`) before one of a second trade (0.7 of
    it) or a wished one (0.6), those before a job that takes novices (0.35); a city the
    worker did not ask for and a wage whose top is under the worker's floor each cost about
    a third of a grade; text similarity, a wage above the floor, the paired city and a
    dormitory only break ties. The learned ranker takes it as a monotone feature, and the
    engine blends it with the learned score while outcome history is thin.
    """
    fit = np.maximum.reduce(
        [
            np.asarray(cols["main_fit"], dtype=np.float32),
            0.7 * np.asarray(cols["second_fit"], dtype=np.float32),
            0.6 * np.asarray(cols["wish_fit"], dtype=np.float32),
            NOVICE_FIT * np.asarray(cols["novice_ok"], dtype=np.float32),
        ]
    )
    has_floor = np.asarray(cols["has_wage_floor"], dtype=bool)
    max_vs = np.nan_to_num(np.asarray(cols["wage_max_vs_floor"], dtype=np.float32), nan=1.0)
    min_vs = np.nan_to_num(np.asarray(cols["wage_min_vs_floor"], dtype=np.float32), nan=1.0)
    under = has_floor & (max_vs < 1.0)
    city_miss = ~np.asarray(cols["no_city_pref"], dtype=bool) & ~np.asarray(
        cols["pref_city"], dtype=bool
    )
    retrieval = np.clip(np.asarray(cols["retrieval_score"], dtype=np.float32), 0, 1)
    text = np.asarray(cols["main_text_sim"], dtype=np.float32)
    score = (
        0.8 * fit
        + 0.1 * retrieval
        + _TEXT_WEIGHT * np.clip(text / _TEXT_SCALE, 0, 1)
        - 0.28 * city_miss
        - 0.28 * under
        + 0.04 * np.where(has_floor, np.clip((min_vs + max_vs) / 2 - 1.0, 0.0, 0.5), 0.0)
        + 0.01 * np.clip(np.nan_to_num(np.asarray(cols["wage_mid"], dtype=np.float32)) / 10, 0, 1)
        + 0.02 * np.asarray(cols["paired_city"], dtype=np.float32)
        + 0.01 * np.asarray(cols["dormitory"], dtype=np.float32)
    )
    # Linear onto [0, 1] (the terms above span -0.56 … 0.98).
    return ((score + 0.56) / 1.54).astype(np.float32)


#: How far :func:`prior_grade` may lie under :func:`prior_score` (on the prior's scale): the
#: terms it leaves out, at their most (main-trade text 0.15, wage above the floor 0.02,
#: paired city 0.02, wage 0.01, dormitory 0.01).
GRADE_GAP = (_TEXT_WEIGHT + 0.02 + 0.02 + 0.01 + 0.01) / 1.54


def prior_grade(
    workers: PreparedWorkers,
    w_row: int,
    jobs: PreparedJobs,
    j_idx: np.ndarray,
    retrieval: np.ndarray,
) -> np.ndarray:
    """The cheap part of :func:`prior_score` for one worker and many jobs: trade fit, city,
    wage floor and retrieval score, without the main-trade text similarity and the terms
    that only break ties. It lies at most :data:`GRADE_GAP` under the prior score.

    The engine's first stage: retrieval hands it several times the candidates the features
    and the ranker see, and it keeps the best (:class:`matcher.engine.MatchingEngine`
    ``retrieval_pool``). Each distinct job code is graded once (a pool repeats trades), so it
    costs a fraction of :func:`pair_features`.
    """
    j_idx = np.asarray(j_idx, dtype=np.int64)
    wf, jf = workers.columns, jobs.columns
    # Distinct codes (first and second readings) in order of appearance, and each row's
    # position among them.
    first: dict[str, int] = {"": 0}
    inv = np.fromiter(
        (first.setdefault(str(c or ""), len(first)) for c in jf["occ_code"][j_idx]),
        dtype=np.intp,
        count=len(j_idx),
    )
    alt = jf["occ_alt_code"][j_idx] if "occ_alt_code" in jf else None
    inv_alt = (
        None
        if alt is None
        else np.fromiter(
            (first.setdefault(str(c or ""), len(first)) for c in alt),
            dtype=np.intp,
            count=len(j_idx),
        )
    )
    u = list(first)
    n = len(u)
    main = hierarchy_similarity([str(wf["exp_code"][w_row] or "")] * n, u)
    second = np.zeros(n, np.float32)
    for c in wf["second_codes"][w_row] or ():
        second = np.maximum(second, hierarchy_similarity([str(c)] * n, u))
    wish = np.zeros(n, np.float32)
    for c in wf["wish_codes"][w_row] or ():
        wish = np.maximum(wish, hierarchy_similarity([str(c)] * n, u))
    # An uncoded job (no first or no second reading) fits no trade and no wish.
    main[0] = second[0] = wish[0] = 0.0
    trade = np.maximum.reduce([main, 0.7 * second, 0.6 * wish])
    fit = trade[inv]
    if inv_alt is not None:
        sure = np.where(inv_alt == 0, 1.0, FIRST_READING_WEIGHT).astype(np.float32)
        fit = np.maximum(sure * fit, ALT_READING_WEIGHT * trade[inv_alt])
    novice = np.asarray(jf["novice_ok"][j_idx], dtype=np.float32)
    fit = np.maximum(fit, NOVICE_FIT * novice)
    floor = float(wf["min_wage"][w_row])
    under = (floor > 0) & (np.asarray(jf["wage_max"][j_idx], dtype=np.float64) < floor)
    prefs = wf["preferred_cities"][w_row]
    if len(prefs):
        wanted = set(prefs)
        city_miss = np.fromiter(
            (c not in wanted for c in jf["city"][j_idx]), dtype=bool, count=len(j_idx)
        )
    else:
        city_miss = np.zeros(len(j_idx), dtype=bool)
    score = (
        0.8 * fit
        + 0.1 * np.clip(np.asarray(retrieval, dtype=np.float32), 0, 1)
        - 0.28 * city_miss
        - 0.28 * under
    )
    return ((score + 0.56) / 1.54).astype(np.float32)


def pair_features(
    workers: PreparedWorkers,
    w_idx: np.ndarray,
    jobs: PreparedJobs,
    j_idx: np.ndarray,
    dense: np.ndarray,
    lexical: np.ndarray,
    lexical_weight: float,
    main_sim: np.ndarray | None = None,
    firm_lift: np.ndarray | None = None,
) -> np.ndarray:
    """The feature matrix (rows = pairs, columns = :data:`FEATURE_NAMES`), float32.

    ``dense`` and ``lexical`` are the pairs' similarities, computed by the caller (who holds
    the embeddings); ``main_sim`` the same similarity for the worker's main-trade clause
    alone (zero when not given); ``firm_lift`` the job's firm's retention from outcome
    history (:meth:`matcher.history.FirmRetention.lift`; zero, no history, when not given).
    Unknown values are NaN (gradient boosting handles them natively).
    """
    w_idx = np.asarray(w_idx, dtype=np.int64)
    j_idx = np.asarray(j_idx, dtype=np.int64)
    wf, jf = workers.columns, jobs.columns
    n = len(w_idx)
    j_code = jf["occ_code"][j_idx]
    j_codes = list(j_code)
    main = hierarchy_similarity(list(wf["exp_code"][w_idx]), j_codes)
    second = best_hierarchy_similarity(list(wf["second_codes"][w_idx]), j_codes)
    wish = best_hierarchy_similarity(list(wf["wish_codes"][w_idx]), j_codes)
    if "occ_alt_code" in jf:
        # A job the coder reads two ways fits the trade of its second reading as a near trade.
        alt = list(jf["occ_alt_code"][j_idx])
        if any(alt):
            w = ALT_READING_WEIGHT
            sure = np.where([bool(a) for a in alt], FIRST_READING_WEIGHT, 1.0).astype(np.float32)
            main, second, wish = sure * main, sure * second, sure * wish
            main = np.maximum(main, w * hierarchy_similarity(list(wf["exp_code"][w_idx]), alt))
            second = np.maximum(
                second, w * best_hierarchy_similarity(wf["second_codes"][w_idx], alt)
            )
            wish = np.maximum(wish, w * best_hierarchy_similarity(wf["wish_codes"][w_idx], alt))
    floor = wf["min_wage"][w_idx]
    wmin = jf["wage_min"][j_idx]
    wmax = jf["wage_max"][j_idx]
    has_floor = floor > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        min_vs = np.where(has_floor, wmin / np.where(has_floor, floor, 1.0), np.nan)
        max_vs = np.where(has_floor, wmax / np.where(has_floor, floor, 1.0), np.nan)
    prefs = wf["preferred_cities"][w_idx]
    cities = jf["city"][j_idx]
    no_pref = np.fromiter((len(p) == 0 for p in prefs), dtype=bool, count=n)
    pref = np.fromiter((c in p for p, c in zip(prefs, cities, strict=True)), dtype=bool, count=n)
    paired = wf["paired_city"][w_idx]
    is_paired = np.fromiter(
        (bool(p) and p == c for p, c in zip(paired, cities, strict=True)), dtype=bool, count=n
    )
    dist = haversine_km(
        wf["lat"][w_idx],
        wf["lon"][w_idx],
        jf["lat"][j_idx],
        jf["lon"][j_idx],
    )
    age = workers.rules.age[w_idx].astype(np.float32)
    age_margin = np.minimum(age - jobs.rules.age_min[j_idx], jobs.rules.age_max[j_idx] - age)
    edu_margin = workers.rules.education[w_idx].astype(np.float32) - jobs.rules.education_min[j_idx]
    extra = wf["n_certificates"][w_idx].astype(np.float32) - jf["cert_count"][j_idx]
    cols = {
        "dense_sim": dense,
        "lexical_sim": lexical,
        "retrieval_score": (1 - lexical_weight) * dense + lexical_weight * lexical,
        "main_fit": main,
        "main_text_sim": np.zeros(n, np.float32) if main_sim is None else main_sim,
        "skill_fit": np.maximum(main, second),
        "second_fit": second,
        "wish_fit": wish,
        "has_trade": np.fromiter((bool(c) for c in wf["exp_code"][w_idx]), dtype=bool, count=n),
        "occ_job_coded": np.array([bool(c) for c in j_code], dtype=np.float32),
        "wage_min_vs_floor": min_vs,
        "wage_max_vs_floor": max_vs,
        "wage_mid": (wmin + wmax) / 2000.0,
        "has_wage_floor": has_floor,
        "pref_city": pref,
        "no_city_pref": no_pref,
        "paired_city": is_paired,
        "distance_km": dist,
        "dormitory": jf["dormitory"][j_idx],
        "meals": jf["meals"][j_idx],
        "halal_canteen": jf["halal_canteen"][j_idx],
        "novice_ok": jf["novice_ok"][j_idx],
        "age_margin": age_margin,
        "education_margin": edu_margin,
        "extra_certificates": np.maximum(extra, 0),
        "has_skills_text": wf["has_skills_text"][w_idx],
        "n_desired_jobs": wf["n_desired_jobs"][w_idx],
        "has_description": jf["has_description"][j_idx],
        "headcount_left": np.log1p(np.maximum(jf["headcount_left"][j_idx], 0)),
        "firm_retention": np.zeros(n, np.float32) if firm_lift is None else firm_lift,
    }
    cols["prior_score"] = prior_score(cols)
    out = np.empty((n, len(FEATURE_NAMES)), dtype=np.float32)
    for k, name in enumerate(FEATURE_NAMES):
        out[:, k] = np.asarray(cols[name], dtype=np.float32)
    return out


__all__ = [
    "ALT_READING_GAP",
    "ALT_READING_WEIGHT",
    "FEATURE_NAMES",
    "FIRST_READING_WEIGHT",
    "GRADE_GAP",
    "NOVICE_FIT",
    "Context",
    "Geography",
    "NameOccupationCoder",
    "PreparedJobs",
    "PreparedWorkers",
    "HIERARCHY_SIMILARITY",
    "best_hierarchy_similarity",
    "clause_years",
    "code_match_level",
    "code_jobs",
    "code_texts",
    "hierarchy_similarity",
    "job_readings",
    "order_trades",
    "prior_grade",
    "prior_score",
    "split_clauses",
    "haversine_km",
    "normalize",
    "pair_features",
    "prepare_jobs",
    "prepare_workers",
]
