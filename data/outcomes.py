"""The latent outcome model of the demo world: who applies, is hired and stays.

For a recommended pair (worker, job) the model walks the funnel of
:data:`data.schema.OUTCOME_STAGES`: ``recommended → applied → interviewed → hired →
retained_3m → retained_6m``, or ``left`` after a hire. Each step is a logistic draw whose
log-odds are a weighted sum of pair features (skill fit, wage against the worker's floor,
preferred and paired city, distance from home, dormitory, age, the job's work quality and
the worker's reliability) plus one normal noise term per pair. All weights live in one
frozen dataclass, :class:`OutcomeModel`; ``data/DEMO_WORLD.md`` gives the formula and
the reason for each number.

Hard rules: a hire is impossible when the job's hard requirements are unmet — age outside
``[age_min, age_max]`` on the hire date, education below ``education_min``, a required
certificate missing (a higher driving licence covers a lower one), halal food for a worker
who needs it, a dormitory for a worker who needs one. See :func:`hard_rules_ok`.

Examples
--------
>>> from data.demo import generate_world
>>> w = generate_world(300, 60, seed=2)
>>> pairs = historical_pairs(w, pairs_per_worker=2, seed=2)
>>> events = simulate_outcomes(w, pairs, seed=2)
>>> sorted(set(events["stage"])) <= sorted(OUTCOME_STAGES)
True
>>> int((events["stage"] == "recommended").sum()) == len(pairs)
True
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from functools import cache

import numpy as np
import pandas as pd

from data import templates as T
from data.demo import DemoWorld
from data.reference import distance_km, load_certificates, load_counties, load_pairings
from data.schema import EDUCATION_LEVELS, OUTCOME_COLUMNS, OUTCOME_STAGES


@dataclass(frozen=True)
class OutcomeModel:
    """Every parameter of the latent outcome model (log-odds units unless said otherwise).

    Skill fit ``s`` is in [0, 1]: the worker's true occupation against the job's, 1 for the
    same CSCO detailed code, ``skill_minor_group`` for the same 小类 (first three parts of
    the code), ``skill_sub_major`` for the same 中类 (first two parts), ``skill_family``
    for a transferable trade (an electronics line worker on an auto-parts line), else 0;
    it is scaled by experience: ``s * (1 - skill_experience_weight + skill_experience_weight
    * min(years, 5) / 5)``. A worker who never worked away from home has s = 0.

    The wage gap ``g`` is ``(wage_min + wage_max) / 2`` minus the worker's floor
    (``wage_reference`` when the worker stated none), in thousands of yuan, clipped to
    ``±wage_gap_cap``. Distance ``d`` is the haversine distance between the home prefecture
    and the job's prefecture in thousands of km.
    """

    # skill fit
    skill_minor_group: float = 0.6
    skill_sub_major: float = 0.4
    skill_family: float = 0.3
    skill_experience_weight: float = 0.4
    # applied | recommended
    apply_intercept: float = -0.5
    apply_skill: float = 0.8
    apply_wage_per_1000: float = 0.45
    apply_below_floor_per_1000: float = 0.8
    apply_preferred_city: float = 0.8
    apply_paired_city: float = 0.4
    apply_distance_per_1000km: float = -0.3
    apply_missing_dormitory: float = -1.5
    apply_missing_halal: float = -2.5
    # interviewed | applied
    interview_intercept: float = 1.2
    interview_skill: float = 0.8
    interview_unqualified: float = -1.2
    # hired | interviewed (0 when a hard rule is broken)
    hire_intercept: float = 0.4
    hire_skill: float = 2.0
    hire_novice_penalty: float = -1.5
    hire_near_age_limit: float = -0.4
    # retained_3m | hired, retained_6m | retained_3m
    retain3_intercept: float = -0.3
    retain6_intercept: float = 0.5
    retain_skill: float = 1.2
    retain_wage_per_1000: float = 0.3
    retain_paired_city: float = 0.6
    retain_distance_per_1000km: float = -0.35
    retain_dormitory: float = 0.4
    retain_novice_training: float = 0.4
    retain_age_per_decade: float = 0.15
    retain_work_quality: float = 0.5
    retain_reliability: float = 0.6
    # noise and units
    noise_sd: float = 0.6
    wage_reference: int = 5000
    wage_gap_cap: float = 4.0
    # timing (days)
    recommend_spread_days: int = 180
    retained_3m_days: int = 91
    retained_6m_days: int = 182

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not np.isfinite(value):
                raise ValueError(f"OutcomeModel.{f.name} must be finite, got {value!r}")
        if self.noise_sd < 0:
            raise ValueError(f"OutcomeModel.noise_sd must be >= 0, got {self.noise_sd!r}")
        if not 0 < self.retained_3m_days < self.retained_6m_days:
            raise ValueError(
                f"need 0 < retained_3m_days < retained_6m_days, got "
                f"{self.retained_3m_days!r}, {self.retained_6m_days!r}"
            )


# --------------------------------------------------------------------------- world arrays

_PREFECTURES = list(T.CITY_FIRM_WEIGHT)


def _ymd(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = d.astype("datetime64[D]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    return y, m, day


def age_on(birth: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Age in full years on the given dates (arrays of ``datetime64`` or dates)."""
    by, bm, bd = _ymd(np.asarray(birth, dtype="datetime64[D]"))
    oy, om, od = _ymd(np.asarray(on, dtype="datetime64[D]"))
    before_birthday = (om < bm) | ((om == bm) & (od < bd))
    return oy - by - before_birthday


def _lookup(values: pd.Series, table: dict[str, int], default: int) -> np.ndarray:
    """``table[value]`` per row, looked up once per distinct value."""
    idx, uniques = pd.factorize(values)
    mapped = np.array([table.get(u, default) for u in uniques] + [default], dtype=np.int64)
    return mapped[idx]  # factorize gives -1 for a missing value: the appended default


def _days(dates: pd.Series) -> np.ndarray:
    """``datetime.date`` objects as ``datetime64[D]`` (numpy converts objects slowly)."""
    epoch = dt.date(1970, 1, 1).toordinal()
    ordinals = np.fromiter((d.toordinal() for d in dates), dtype=np.int64, count=len(dates))
    return (ordinals - epoch).astype("datetime64[D]")


def _cert_bits(lists, bit: dict[str, int], implied: bool) -> np.ndarray:
    out = np.zeros(len(lists), dtype=np.uint64)
    cache: dict[tuple[str, ...], int] = {}
    for i, certs in enumerate(lists):
        key = tuple(certs)
        if key not in cache:
            ids = set(key)
            if implied:  # A2 covers B2 covers C1
                todo = list(ids)
                while todo:
                    for more in T.DRIVING_IMPLIES.get(todo.pop(), ()):
                        if more not in ids:
                            ids.add(more)
                            todo.append(more)
            cache[key] = sum(1 << bit[c] for c in ids if c in bit)
        out[i] = cache[key]
    return out


def _code_levels(codes: np.ndarray) -> list[np.ndarray]:
    """Per code: itself, its 小类, its 中类, its template family ('' stays '')."""
    family = {o.code: o.family for o in T.OCCUPATIONS}
    idx, uniques = pd.factorize(np.asarray(codes, dtype=object))
    uniques = [str(c) for c in uniques]
    levels = [
        uniques,
        [c[:7] if c else "" for c in uniques],
        [c[:4] if c else "" for c in uniques],
        [family.get(c, "") for c in uniques],
    ]
    return [np.asarray(level, dtype=object)[idx] for level in levels]


@cache
def _distances(west: tuple[str, ...]) -> np.ndarray:
    """km from each western prefecture to each Jiangsu prefecture (read-only)."""
    out = np.array([[distance_km(w, j) for j in _PREFECTURES] for w in west])
    out.setflags(write=False)
    return out


def _arrays(world: DemoWorld) -> dict[str, np.ndarray | pd.Index]:
    W, J = world.workers, world.jobs
    # rebuilt when a frame is replaced; in-place edits of a frame are not detected
    frames_key = (id(W), id(J), id(world.truth), id(world.job_truth), len(W), len(J))
    cached = world._cache.get("outcome_arrays")
    if cached is not None and cached[0] == frames_key:
        return cached[1]
    truth = W[["worker_id"]].merge(world.truth, on="worker_id", how="left")
    jtruth = J[["job_id"]].merge(world.job_truth, on="job_id", how="left")
    certs = load_certificates()["cert_id"].tolist()
    if len(certs) > 64:
        raise ValueError(f"certificate catalogue has {len(certs)} entries; the bit masks hold 64")
    bit = {c: i for i, c in enumerate(certs)}
    pref_bit = {p: i for i, p in enumerate(_PREFECTURES)}
    counties = load_counties().set_index("county_code")
    pairs = load_pairings().set_index("west_prefecture")["jiangsu_partner"]
    prefecture_of = counties["prefecture"].to_dict()
    code_idx, codes = pd.factorize(W["county_code"])
    unknown = [c for c in codes if c not in prefecture_of]
    if unknown:
        raise ValueError(
            f"workers from unknown counties {unknown[:5]!r}; the 75 programme counties only"
        )
    west = sorted({prefecture_of[c] for c in codes})
    west_idx = np.array([west.index(prefecture_of[c]) for c in codes], dtype=np.int64)[code_idx]
    partner = [pairs.get(p, "") for p in west]
    paired_idx = np.array([pref_bit.get(p, -1) for p in partner])[west_idx]
    dist = _distances(tuple(west)) / 1000.0
    pref_cache: dict[tuple[str, ...], int] = {}
    pref_mask = np.empty(len(W), dtype=np.int64)
    for i, cities in enumerate(W["preferred_cities"]):
        key = tuple(cities)
        if key not in pref_cache:
            pref_cache[key] = sum(1 << pref_bit[c] for c in key if c in pref_bit)
        pref_mask[i] = pref_cache[key]
    w_levels = _code_levels(truth["true_occupation_code"].fillna("").to_numpy())
    j_levels = _code_levels(jtruth["true_occupation_code"].fillna("").to_numpy())
    level_ids = []
    for wl, jl in zip(w_levels, j_levels, strict=True):
        codes, uniques = pd.factorize(np.concatenate([wl, jl]))
        empty = np.flatnonzero(uniques == "")
        if len(empty):
            codes[codes == empty[0]] = -1
        level_ids.append((codes[: len(wl)], codes[len(wl) :]))
    edu_rank = {k: v for k, v in EDUCATION_LEVELS.items()}
    arrays = {
        "w_index": pd.Index(W["worker_id"].to_numpy()),
        "j_index": pd.Index(J["job_id"].to_numpy()),
        "w_birth": _days(W["birth_date"]),
        "w_edu": _lookup(W["education"], edu_rank, 0),
        "w_certs": _cert_bits(W["certificates"], bit, implied=True),
        "w_dorm": W["needs_dormitory"].to_numpy(bool),
        "w_halal": W["needs_halal"].to_numpy(bool),
        "w_floor": W["min_wage"].to_numpy(np.float64),
        "w_pref": pref_mask,
        "w_west": west_idx,
        "w_paired": paired_idx,
        "w_years": truth["experience_years"].fillna(0).to_numpy(np.float64),
        "w_reliability": truth["reliability"].fillna(0.0).to_numpy(np.float64),
        "w_levels": [a for a, _ in level_ids],
        "j_levels": [b for _, b in level_ids],
        "dist": dist,
        "j_age_min": J["age_min"].to_numpy(np.int64),
        "j_age_max": J["age_max"].to_numpy(np.int64),
        "j_edu": np.array(
            [edu_rank.get(e, 0) if isinstance(e, str) else 0 for e in J["education_min"]]
        ),
        "j_certs": _cert_bits(J["certificates_required"], bit, implied=False),
        "j_dorm": J["dormitory"].to_numpy(bool),
        "j_halal": J["halal_canteen"].to_numpy(bool),
        "j_novice": J["novice_ok"].to_numpy(bool),
        "j_wage": (J["wage_min"].to_numpy(np.float64) + J["wage_max"].to_numpy(np.float64)) / 2,
        "j_city": _lookup(J["city"], pref_bit, -1),
        "j_quality": jtruth["work_quality"].fillna(0.0).to_numpy(np.float64),
    }
    if (arrays["j_city"] < 0).any():
        bad = J.loc[arrays["j_city"] < 0, "city"].unique()[:5].tolist()
        raise ValueError(f"jobs in cities outside Jiangsu's 13 prefectures: {bad!r}")
    world._cache["outcome_arrays"] = (frames_key, arrays)
    return arrays


def _positions(index: pd.Index, ids, what: str) -> np.ndarray:
    ids = np.asarray(ids)
    pos = index.get_indexer(ids)
    if (pos < 0).any():
        bad = ids[pos < 0][:5].tolist()
        raise ValueError(f"unknown {what} {bad!r} (不在此演示数据中)")
    return pos


def _hard_ok(a, wi: np.ndarray, ji: np.ndarray, on: np.ndarray) -> np.ndarray:
    age = age_on(a["w_birth"][wi], on)
    ok = (age >= a["j_age_min"][ji]) & (age <= a["j_age_max"][ji])
    ok &= a["w_edu"][wi] >= a["j_edu"][ji]
    ok &= (a["j_certs"][ji] & ~a["w_certs"][wi]) == 0
    ok &= ~(a["w_halal"][wi] & ~a["j_halal"][ji])
    ok &= ~(a["w_dorm"][wi] & ~a["j_dorm"][ji])
    return ok


def hard_rules_ok(
    world: DemoWorld, worker_ids, job_ids, *, on: dt.date | None = None
) -> np.ndarray:
    """Whether each pair meets the job's hard requirements (a hire is possible at all).

    Parameters
    ----------
    world : DemoWorld
    worker_ids, job_ids : array-like of int, same length
    on : datetime.date, optional
        Day the age is taken on; defaults to ``world.as_of``.

    Returns
    -------
    numpy.ndarray of bool
    """
    a = _arrays(world)
    wi = _positions(a["w_index"], worker_ids, "worker_id")
    ji = _positions(a["j_index"], job_ids, "job_id")
    if len(wi) != len(ji):
        raise ValueError(f"worker_ids and job_ids differ in length: {len(wi)} != {len(ji)}")
    day = np.full(len(wi), np.datetime64(on or world.as_of, "D"))
    return _hard_ok(a, wi, ji, day)


def _skill(a, wi: np.ndarray, ji: np.ndarray, model: OutcomeModel) -> np.ndarray:
    weights = (1.0, model.skill_minor_group, model.skill_sub_major, model.skill_family)
    s = np.zeros(len(wi))
    for wl, jl, weight in zip(a["w_levels"], a["j_levels"], weights, strict=True):
        same = (wl[wi] >= 0) & (wl[wi] == jl[ji])
        s = np.maximum(s, np.where(same, weight, 0.0))
    exp = np.minimum(a["w_years"][wi], 5.0) / 5.0
    k = model.skill_experience_weight
    return s * (1.0 - k + k * exp)


def _logits(
    a, wi, ji, model: OutcomeModel, age: np.ndarray, hard_ok: np.ndarray, noise: np.ndarray
):
    m = model
    s = _skill(a, wi, ji, m)
    floor = np.where(a["w_floor"][wi] > 0, a["w_floor"][wi], m.wage_reference)
    gap = np.clip((a["j_wage"][ji] - floor) / 1000.0, -m.wage_gap_cap, m.wage_gap_cap)
    city = a["j_city"][ji]
    pref_mask = a["w_pref"][wi]
    preferred = (pref_mask == 0) | (((pref_mask >> city) & 1) == 1)
    paired = a["w_paired"][wi] == city
    dist = a["dist"][a["w_west"][wi], city]
    no_dorm = a["w_dorm"][wi] & ~a["j_dorm"][ji]
    no_halal = a["w_halal"][wi] & ~a["j_halal"][ji]
    novice_job = a["j_novice"][ji]
    unskilled = s < 0.3
    near_limit = age > a["j_age_max"][ji] - 3
    apply = (
        m.apply_intercept
        + m.apply_skill * s
        + m.apply_wage_per_1000 * gap
        + m.apply_below_floor_per_1000 * np.minimum(gap, 0.0)
        + m.apply_preferred_city * preferred
        + m.apply_paired_city * paired
        + m.apply_distance_per_1000km * dist
        + m.apply_missing_dormitory * no_dorm
        + m.apply_missing_halal * no_halal
        + noise
    )
    interview = (
        m.interview_intercept + m.interview_skill * s + m.interview_unqualified * ~hard_ok + noise
    )
    hire = (
        m.hire_intercept
        + m.hire_skill * s
        + m.hire_novice_penalty * (unskilled & ~novice_job)
        + m.hire_near_age_limit * near_limit
        + noise
    )
    stay = (
        m.retain_skill * s
        + m.retain_wage_per_1000 * gap
        + m.retain_paired_city * paired
        + m.retain_distance_per_1000km * dist
        + m.retain_dormitory * a["j_dorm"][ji]
        + m.retain_novice_training * (unskilled & novice_job)
        + m.retain_age_per_decade * (age - 35) / 10.0
        + m.retain_work_quality * a["j_quality"][ji]
        + m.retain_reliability * a["w_reliability"][wi]
        + noise
    )
    return apply, interview, hire, m.retain3_intercept + stay, m.retain6_intercept + stay


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def true_pair_utility(
    world: DemoWorld, worker_ids, job_ids, model: OutcomeModel | None = None
) -> np.ndarray:
    """Noise-free probability that recommending the pair ends in 6 months of employment.

    The product of the funnel's stage probabilities with the pair noise set to 0, taken on
    ``world.as_of``; exactly 0 where a hard rule is broken. This is the ground truth an
    engine's ranking is measured against (it uses ``world.truth``).

    Returns
    -------
    numpy.ndarray of float in [0, 1]
    """
    model = model or OutcomeModel()
    a = _arrays(world)
    wi = _positions(a["w_index"], worker_ids, "worker_id")
    ji = _positions(a["j_index"], job_ids, "job_id")
    if len(wi) != len(ji):
        raise ValueError(f"worker_ids and job_ids differ in length: {len(wi)} != {len(ji)}")
    day = np.full(len(wi), np.datetime64(world.as_of, "D"))
    age = age_on(a["w_birth"][wi], day)
    ok = _hard_ok(a, wi, ji, day)
    logits = _logits(a, wi, ji, model, age, ok, np.zeros(len(wi)))
    p = np.prod([_sigmoid(x) for x in logits], axis=0)
    return np.where(ok, p, 0.0)


def _check_pairs(pairs: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(pairs, pd.DataFrame):
        raise ValueError(
            f"pairs must be a DataFrame with worker_id and job_id, got {type(pairs).__name__}"
        )
    missing = [c for c in ("worker_id", "job_id") if c not in pairs.columns]
    if missing:
        raise ValueError(f"pairs lack column(s) {missing!r}; need worker_id and job_id")
    return pairs[["worker_id", "job_id"]].drop_duplicates(ignore_index=True)


def simulate_outcomes(
    world: DemoWorld,
    pairs: pd.DataFrame,
    *,
    model: OutcomeModel | None = None,
    seed: int = 0,
    start_date: dt.date | None = None,
) -> pd.DataFrame:
    """Simulate the outcome events of recommended pairs.

    Parameters
    ----------
    world : DemoWorld
    pairs : pandas.DataFrame
        ``worker_id, job_id``; repeated pairs count once.
    model : OutcomeModel, optional
    seed : int, default 0
    start_date : datetime.date, optional
        First possible recommendation day; recommendations spread over the following
        ``model.recommend_spread_days``. Defaults to 400 days before ``world.as_of`` so
        that the 6-month outcomes of every pair lie before that day.

    Returns
    -------
    pandas.DataFrame
        :data:`data.schema.OUTCOME_COLUMNS`, one row per event, sorted by worker, job and
        date: every pair is ``recommended``; then in order ``applied``, ``interviewed``,
        ``hired``, ``retained_3m``, ``retained_6m`` while the draws succeed; a hire that
        does not reach 6 months ends with ``left``. Dates increase along each pair's funnel.
    """
    model = model or OutcomeModel()
    pairs = _check_pairs(pairs)
    a = _arrays(world)
    wi = _positions(a["w_index"], pairs["worker_id"].to_numpy(), "worker_id")
    ji = _positions(a["j_index"], pairs["job_id"].to_numpy(), "job_id")
    n = len(wi)
    rng = np.random.default_rng(seed)
    start = np.datetime64(start_date or (world.as_of - dt.timedelta(days=400)), "D")
    day = np.timedelta64(1, "D")
    rec = start + rng.integers(0, model.recommend_spread_days + 1, n) * day
    applied_at = rec + rng.integers(1, 11, n) * day
    interviewed_at = applied_at + rng.integers(2, 11, n) * day
    hired_at = interviewed_at + rng.integers(1, 15, n) * day
    r3_at = hired_at + model.retained_3m_days * day
    r6_at = hired_at + model.retained_6m_days * day
    left_early = hired_at + rng.integers(3, model.retained_3m_days, n) * day
    left_late = hired_at + rng.integers(model.retained_3m_days + 1, model.retained_6m_days, n) * day

    age = age_on(a["w_birth"][wi], hired_at)
    ok = _hard_ok(a, wi, ji, hired_at)
    noise = rng.normal(0.0, model.noise_sd, n) if model.noise_sd > 0 else np.zeros(n)
    l_apply, l_interview, l_hire, l_r3, l_r6 = _logits(a, wi, ji, model, age, ok, noise)
    u = rng.random((5, n))
    applied = u[0] < _sigmoid(l_apply)
    interviewed = applied & (u[1] < _sigmoid(l_interview))
    hired = interviewed & ok & (u[2] < _sigmoid(l_hire))
    r3 = hired & (u[3] < _sigmoid(l_r3))
    r6 = r3 & (u[4] < _sigmoid(l_r6))
    left = hired & ~r6
    left_at = np.where(r3, left_late, left_early)

    stage_code = {s: i for i, s in enumerate(OUTCOME_STAGES)}
    parts = [
        (np.ones(n, bool), rec, "recommended"),
        (applied, applied_at, "applied"),
        (interviewed, interviewed_at, "interviewed"),
        (hired, hired_at, "hired"),
        (r3, r3_at, "retained_3m"),
        (r6, r6_at, "retained_6m"),
        (left, left_at, "left"),
    ]
    rows = np.concatenate([np.flatnonzero(mask) for mask, _, _ in parts])
    dates = np.concatenate([d[mask] for mask, d, _ in parts])
    stages = np.concatenate([np.full(int(mask.sum()), stage_code[s]) for mask, _, s in parts])
    order = np.lexsort((stages, dates, rows))
    rows, dates, stages = rows[order], dates[order], stages[order]
    events = pd.DataFrame(
        {
            "worker_id": pairs["worker_id"].to_numpy()[rows],
            "job_id": pairs["job_id"].to_numpy()[rows],
            "stage": np.asarray(OUTCOME_STAGES, dtype=object)[stages],
            "date": dates.astype(object),
        }
    )
    return events[list(OUTCOME_COLUMNS)]


def registered_before_events(workers: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """``workers`` with each ``registered_at`` moved back to the worker's first event if later.

    The generator draws registration dates and outcome histories independently, so about 40 %
    of the events would fall before their worker was registered — which a real history cannot
    have, and which the training filter drops. Loading the demo world applies this first.

    >>> import datetime as dt
    >>> w = pd.DataFrame({"worker_id": [1, 2], "registered_at": [dt.date(2026, 5, 1)] * 2})
    >>> e = pd.DataFrame({"worker_id": [1], "job_id": [9], "stage": ["recommended"],
    ...                   "date": [dt.date(2026, 3, 1)]})
    >>> registered_before_events(w, e)["registered_at"].tolist()
    [datetime.date(2026, 3, 1), datetime.date(2026, 5, 1)]
    """
    out = workers.copy()
    if len(events) == 0:
        return out
    first = events.groupby("worker_id")["date"].min()
    earliest = out["worker_id"].map(first)
    pairs = zip(earliest, out["registered_at"], strict=True)
    # e == e is False for NaN: a worker without events keeps the date drawn.
    earlier = pd.Series([e == e and e < r for e, r in pairs], index=out.index)
    out.loc[earlier, "registered_at"] = earliest[earlier]
    return out


def historical_pairs(
    world: DemoWorld,
    *,
    pairs_per_worker: int = 3,
    worker_sample: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Recommendations a clerk made before jobbridge: the training pairs of the ranker.

    For each (sampled) worker the clerk looks at a handful of open jobs — half of them in
    the occupation the clerk reads from the worker's file (right about two times in three),
    half at random — and prefers jobs the worker can take (hard rules met), of that
    occupation, in the county's paired city and in the worker's preferred cities, with a
    Gumbel noise of scale 1 on top. One pick in ten is replaced by any job at all.

    Parameters
    ----------
    world : DemoWorld
    pairs_per_worker : int, default 3
    worker_sample : int, optional
        Number of workers drawn without replacement; all workers when None.
    seed : int, default 0

    Returns
    -------
    pandas.DataFrame
        ``worker_id, job_id``, distinct pairs sorted by worker.
    """
    if (
        isinstance(pairs_per_worker, bool)
        or not isinstance(pairs_per_worker, (int, np.integer))
        or pairs_per_worker < 1
    ):
        raise ValueError(f"pairs_per_worker must be a positive integer, got {pairs_per_worker!r}")
    n_workers, n_jobs = len(world.workers), len(world.jobs)
    if pairs_per_worker > n_jobs:
        raise ValueError(f"pairs_per_worker {pairs_per_worker!r} exceeds the {n_jobs} jobs")
    if worker_sample is not None and (
        isinstance(worker_sample, bool)
        or not isinstance(worker_sample, (int, np.integer))
        or not 1 <= worker_sample <= n_workers
    ):
        raise ValueError(
            f"worker_sample must be an integer in 1..{n_workers}, got {worker_sample!r}"
        )
    a = _arrays(world)
    rng = np.random.default_rng(seed)
    if worker_sample is None:
        chosen = np.arange(n_workers)
    else:
        chosen = np.sort(rng.choice(n_workers, size=int(worker_sample), replace=False))
    open_jobs = np.flatnonzero(world.jobs["status"].to_numpy() == "open")
    if len(open_jobs) < pairs_per_worker:
        open_jobs = np.arange(n_jobs)
    job_occ = a["j_levels"][0][open_jobs]
    by_occ = np.argsort(job_occ, kind="stable")
    occ_sorted = job_occ[by_occ]
    n_occ = int(max(a["j_levels"][0].max(), a["w_levels"][0].max())) + 1
    occ_start = np.searchsorted(occ_sorted, np.arange(n_occ), side="left")
    occ_count = np.searchsorted(occ_sorted, np.arange(n_occ), side="right") - occ_start
    day = np.datetime64(world.as_of, "D")
    k, half = int(pairs_per_worker), max(8, 4 * int(pairs_per_worker))
    out_w, out_j = [], []
    for lo in range(0, len(chosen), 50_000):
        wi = chosen[lo : lo + 50_000]
        m = len(wi)
        true_occ = a["w_levels"][0][wi]
        guess = np.where(
            (true_occ >= 0) & (rng.random(m) < 0.65),
            true_occ,
            job_occ[rng.integers(0, len(job_occ), m)],
        )
        cnt = occ_count[np.clip(guess, 0, n_occ - 1)]
        has = (guess >= 0) & (cnt > 0)
        same = by_occ[
            np.where(
                has[:, None],
                occ_start[np.clip(guess, 0, n_occ - 1)][:, None]
                + np.floor(rng.random((m, half)) * np.maximum(cnt, 1)[:, None]).astype(np.int64),
                rng.integers(0, len(open_jobs), (m, half)),
            )
        ]
        cand = open_jobs[np.concatenate([same, rng.integers(0, len(open_jobs), (m, half))], axis=1)]
        c = cand.shape[1]
        flat_w = np.repeat(wi, c)
        flat_j = cand.ravel()
        ok = _hard_ok(a, flat_w, flat_j, np.full(len(flat_w), day)).reshape(m, c)
        occ_match = a["j_levels"][0][cand] == guess[:, None]
        city = a["j_city"][cand]
        paired = a["w_paired"][wi][:, None] == city
        pref_mask = a["w_pref"][wi][:, None]
        preferred = (pref_mask == 0) | (((pref_mask >> city) & 1) == 1)
        score = (
            2.0 * ok + 1.0 * occ_match + 0.8 * paired + 0.6 * preferred + rng.gumbel(size=(m, c))
        )
        # a job offered twice to the same worker counts once
        order = np.argsort(cand, axis=1)
        sorted_c = np.take_along_axis(cand, order, axis=1)
        dup = np.zeros_like(sorted_c, dtype=bool)
        dup[:, 1:] = sorted_c[:, 1:] == sorted_c[:, :-1]
        np.put_along_axis(
            score, order, np.where(dup, -np.inf, np.take_along_axis(score, order, axis=1)), axis=1
        )
        top = np.argsort(-score, axis=1)[:, :k]
        picks = np.take_along_axis(cand, top, axis=1)
        valid = np.isfinite(np.take_along_axis(score, top, axis=1))
        wild = rng.random((m, k)) < 0.1
        picks = np.where(wild, rng.integers(0, n_jobs, (m, k)), picks)
        out_w.append(np.repeat(wi, k)[valid.ravel()])
        out_j.append(picks.ravel()[valid.ravel()])
    wpos, jpos = np.concatenate(out_w), np.concatenate(out_j)
    result = pd.DataFrame(
        {
            "worker_id": world.workers["worker_id"].to_numpy()[wpos],
            "job_id": world.jobs["job_id"].to_numpy()[jpos],
        }
    )
    return result.drop_duplicates(ignore_index=True).sort_values(
        ["worker_id", "job_id"], ignore_index=True
    )


__all__ = [
    "OutcomeModel",
    "age_on",
    "hard_rules_ok",
    "historical_pairs",
    "registered_before_events",
    "simulate_outcomes",
    "true_pair_utility",
]
