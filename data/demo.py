"""A realistic, seeded demo world: Jiangsu firms and their postings, western workers.

:func:`generate_world` builds firms, jobs and workers with the columns of
:mod:`data.schema`, already normalised, plus the raw forms people typed
(``certificates_raw``, ``certificates_required_raw``, ``preferred_cities_raw``). The hidden
variables the outcome model needs (a worker's true occupation, experience, reliability; a
job's work quality) are kept apart in ``world.truth`` and ``world.job_truth``: they are the
ground truth of the evaluation and must never reach the engine.

Everything is drawn as numpy index arrays into the small tables of :mod:`data.templates`,
so a million workers take seconds, not minutes. Same seed, same world.

Examples
--------
>>> w = generate_world(200, 40, seed=1)
>>> len(w.workers), len(w.jobs)
(200, 40)
>>> w.workers.equals(generate_world(200, 40, seed=1).workers)
True
"""

from __future__ import annotations

import datetime as dt
import gc
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from data import templates as T
from data.idcard import make_id_numbers
from data.normalize import normalize_certificate, normalize_city
from data.reference import load_counties, load_jiangsu_cities, load_pairings
from data.schema import JOB_COLUMNS, WORKER_COLUMNS

#: Raw columns kept beside the normalised ones: what the person actually typed.
RAW_JOB_COLUMNS = ("certificates_required_raw",)
RAW_WORKER_COLUMNS = ("certificates_raw", "preferred_cities_raw")

#: The day the world is observed (postings and registrations lie before it). Fixed, so
#: that a seed gives the same world on any day.
DEFAULT_AS_OF = dt.date(2026, 10, 31)

#: Columns of ``world.truth`` (ground truth per worker, hidden from the engine).
TRUTH_COLUMNS: dict[str, str] = {
    "worker_id": "int",
    "true_occupation_key": "str, key of data.templates.OCCUPATIONS or '' (no work experience)",
    "true_occupation_code": "str, CSCO code of that occupation or ''",
    "experience_years": "int, 0 when none",
    "reliability": "float, N(0,1): how steadily the worker stays in a job",
}
#: Columns of ``world.job_truth`` (ground truth per job, hidden from the engine).
JOB_TRUTH_COLUMNS: dict[str, str] = {
    "job_id": "int",
    "true_occupation_code": "str, the CSCO code even where the posting is not coded",
    "work_quality": "float: how the workplace treats people (firm effect + job noise)",
}


@dataclass(eq=False)
class DemoWorld:
    """Firms, jobs and workers of a demo world, and the ground truth kept from the engine.

    Attributes
    ----------
    firms : pandas.DataFrame
        ``firm_id, name, city, district, industry``.
    jobs : pandas.DataFrame
        :data:`data.schema.JOB_COLUMNS` plus ``certificates_required_raw`` (as posted).
    workers : pandas.DataFrame
        :data:`data.schema.WORKER_COLUMNS` plus ``certificates_raw`` and
        ``preferred_cities_raw`` (as the clerk typed them).
    truth : pandas.DataFrame
        GROUND TRUTH, not available to the engine: :data:`TRUTH_COLUMNS`, keyed by worker_id.
    job_truth : pandas.DataFrame
        GROUND TRUTH, not available to the engine: :data:`JOB_TRUTH_COLUMNS`.
    seed : int
    as_of : datetime.date
        The day the world is observed.
    """

    firms: pd.DataFrame
    jobs: pd.DataFrame
    workers: pd.DataFrame
    truth: pd.DataFrame
    job_truth: pd.DataFrame
    seed: int
    as_of: dt.date
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


# --------------------------------------------------------------------------- helpers

_OCC_KEYS = [o.key for o in T.OCCUPATIONS]
_OCC_INDEX = {k: i for i, k in enumerate(_OCC_KEYS)}


def _choice(rng: np.random.Generator, n: int, weights) -> np.ndarray:
    """Indices drawn with the given (unnormalised) weights."""
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def _pick(rng: np.random.Generator, options, n: int) -> np.ndarray:
    """n strings drawn uniformly from options, as an object array."""
    arr = np.asarray(options, dtype=object)
    return arr[rng.integers(0, len(arr), size=n)]


def _round_to(x: np.ndarray, step: int) -> np.ndarray:
    return (np.round(x / step) * step).astype(np.int64)


def _dates(as_of: dt.date, days_back: np.ndarray) -> np.ndarray:
    """``datetime.date`` objects ``days_back`` days before as_of (object array)."""
    base = np.datetime64(as_of, "D")
    d = base - days_back.astype("timedelta64[D]")
    return d.astype(object)


def _years_text(years: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Years written as a clerk does: 3, ３ (full-width) or 三."""
    k = len(T.CHINESE_NUMERALS)
    y = np.clip(years, 0, k - 1)
    plain = np.asarray([str(i) for i in range(k)], dtype=object)
    full = np.asarray([str(i).translate(T.FULLWIDTH_DIGITS) for i in range(k)], dtype=object)
    chinese = np.asarray(T.CHINESE_NUMERALS, dtype=object)
    style = rng.random(len(years))
    out = plain[y]
    out[style < 0.15] = full[y[style < 0.15]]
    out[style > 0.7] = chinese[y[style > 0.7]]
    return out


class _Progress:
    def __init__(self, show: bool, total: int) -> None:
        self._bar = None
        if show:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc="demo world", unit="step")

    def step(self, what: str) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(what)
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _cert_ids(raw_lists: list[list[str]]) -> tuple[list[list[str]], list[list[str]]]:
    """Normalise certificate names once per distinct spelling, then map every row."""
    distinct = {name for names in raw_lists for name in names}
    lookup = {name: normalize_certificate(name) for name in distinct}
    ids, unknown = [], []
    for names in raw_lists:
        found = [lookup[n] for n in names if lookup[n]]
        ids.append(list(dict.fromkeys(found)))
        unknown.append([n for n in names if not lookup[n]])
    return ids, unknown


# --------------------------------------------------------------------------- firms and jobs


def _jiangsu() -> tuple[list[str], dict[str, list[str]], dict[str, list[str]]]:
    cities = load_jiangsu_cities()
    prefectures = list(T.CITY_FIRM_WEIGHT)
    districts = {p: cities.loc[cities["prefecture"] == p, "district"].tolist() for p in prefectures}
    county_cities = {
        p: cities.loc[
            (cities["prefecture"] == p) & (cities["kind"] == "县级市"), "district"
        ].tolist()
        for p in prefectures
    }
    missing = [p for p in prefectures if not districts[p]]
    if missing:
        raise ValueError(f"jiangsu_cities.csv lists no district for {missing!r}")
    return prefectures, districts, county_cities


def _make_firms(
    n_firms: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    prefectures, districts, _ = _jiangsu()
    industry = _choice(rng, n_firms, [ind[1] for ind in T.INDUSTRIES])
    city_idx = _choice(rng, n_firms, [T.CITY_FIRM_WEIGHT[p] for p in prefectures])
    city = np.asarray(prefectures, dtype=object)[city_idx]
    district = np.empty(n_firms, dtype=object)
    for i, p in enumerate(prefectures):
        mask = city_idx == i
        district[mask] = _pick(rng, districts[p], int(mask.sum()))
    brand_chars = np.asarray(list(T.FIRM_BRAND_CHARS), dtype=object)
    b1 = brand_chars[rng.integers(0, len(brand_chars), n_firms)]
    b2 = brand_chars[rng.integers(0, len(brand_chars), n_firms)]
    word = np.array(
        [
            T.INDUSTRIES[i][2][j % len(T.INDUSTRIES[i][2])]
            for i, j in zip(industry, rng.integers(0, 12, n_firms), strict=True)
        ],
        dtype=object,
    )
    suffix_idx = _choice(rng, n_firms, [s[1] for s in T.FIRM_SUFFIXES])
    suffix = np.asarray([s[0] for s in T.FIRM_SUFFIXES], dtype=object)[suffix_idx]
    bracketed = rng.random(n_firms) < 0.15  # 瑞达电子（苏州）有限公司
    names = [
        f"{a}{b}{w}（{c[:-1]}）{s}" if br else f"{c[:-1]}{a}{b}{w}{s}"
        for a, b, w, c, s, br in zip(b1, b2, word, city, suffix, bracketed, strict=True)
    ]
    names = pd.Series(names, dtype=object)
    # A name must identify one firm: a clash gets a third brand character, then a number.
    for attempt in range(4):
        dup = names.duplicated().to_numpy()
        if not dup.any():
            break
        extra = brand_chars[rng.integers(0, len(brand_chars), int(dup.sum()))]
        if attempt == 3:
            extra = [f"{k + 1}" for k in range(int(dup.sum()))]
        names[dup] = [
            n.replace("有限", f"{e}有限", 1) for n, e in zip(names[dup], extra, strict=True)
        ]
    firms = pd.DataFrame(
        {
            "firm_id": np.arange(1, n_firms + 1, dtype=np.int64),
            "name": names.to_numpy(dtype=object),
            "city": city,
            "district": district,
            "industry": np.asarray([ind[0] for ind in T.INDUSTRIES], dtype=object)[industry],
        }
    )
    return firms, industry, city_idx


def _make_jobs(
    n_jobs: int,
    firms: pd.DataFrame,
    firm_industry: np.ndarray,
    firm_city_idx: np.ndarray,
    rng: np.random.Generator,
    as_of: dt.date,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    prefectures, _, _ = _jiangsu()
    n_firms = len(firms)
    # A few big employers post many jobs, most firms one or two.
    firm_weight = rng.lognormal(0.0, 1.0, n_firms)
    firm_idx = _choice(rng, n_jobs, firm_weight)
    ind = firm_industry[firm_idx]
    occ = np.empty(n_jobs, dtype=np.int64)
    for i, (_, _, _, mix) in enumerate(T.INDUSTRIES):
        mask = ind == i
        keys = list(mix)
        pick = _choice(rng, int(mask.sum()), [mix[k] for k in keys])
        occ[mask] = np.asarray([_OCC_INDEX[k] for k in keys])[pick]
    occs = T.OCCUPATIONS
    city_idx = firm_city_idx[firm_idx]
    city = firms["city"].to_numpy()[firm_idx]
    district = firms["district"].to_numpy()[firm_idx].copy()
    district[rng.random(n_jobs) < 0.06] = ""  # the posting names only the city

    lo = np.array([o.wage[0] for o in occs], dtype=float)[occ]
    hi = np.array([o.wage[1] for o in occs], dtype=float)[occ]
    factor = np.array([T.CITY_WAGE_FACTOR[p] for p in prefectures])[city_idx]
    level = factor * rng.lognormal(0.0, 0.07, n_jobs)
    wage_min = _round_to(lo * level, 100)
    wage_max = np.maximum(_round_to(hi * level * rng.uniform(0.9, 1.1, n_jobs), 100), wage_min)
    fixed = rng.random(n_jobs) < 0.08  # 月薪固定
    wage_max[fixed] = wage_min[fixed]

    hc_lo = np.array([o.headcount[0] for o in occs])[occ]
    hc_hi = np.array([o.headcount[1] for o in occs])[occ]
    headcount = np.floor(np.exp(rng.uniform(np.log(hc_lo), np.log(hc_hi + 1)))).astype(np.int64)
    headcount = np.clip(headcount, 1, None)

    age_min = np.array([o.age[0] for o in occs])[occ] + rng.choice([0, 0, 0, 2], n_jobs)
    age_max = np.array([o.age[1] for o in occs])[occ] + rng.choice([-5, 0, 0, 0, 3, 5], n_jobs)
    age_max = np.clip(np.maximum(age_max, age_min + 5), None, 60)

    edu_min = np.empty(n_jobs, dtype=object)
    for k, o in enumerate(occs):
        mask = occ == k
        labels = [e[0] for e in o.education_min]
        edu_min[mask] = np.asarray(labels, dtype=object)[
            _choice(rng, int(mask.sum()), [e[1] for e in o.education_min])
        ]

    # certificate requirements: up to two per occupation
    req_a = np.full(n_jobs, "", dtype=object)
    req_b = np.full(n_jobs, "", dtype=object)
    for k, o in enumerate(occs):
        mask = np.flatnonzero(occ == k)
        for slot, (p, spellings) in zip((req_a, req_b), o.job_certs, strict=False):
            has = mask[rng.random(len(mask)) < p]
            slot[has] = _pick(rng, spellings, len(has))
    # a few postings ask for something no catalogue entry names (相关上岗证)
    vague = np.flatnonzero((req_a == "") & (rng.random(n_jobs) < 0.02))
    req_a[vague] = _pick(rng, T.UNRECOGNISED_JOB_CERTS, len(vague))
    raw_lists = [[c for c in (a, b) if c] for a, b in zip(req_a, req_b, strict=True)]
    cert_ids, cert_unknown = _cert_ids(raw_lists)
    sep = _pick(rng, ["、", "，", " ", "/"], n_jobs)
    certs_raw = [s.join(r) for s, r in zip(sep, raw_lists, strict=True)]

    firm_halal = rng.random(n_firms) < 0.02
    firm_halal |= firms["name"].str.contains("清真").to_numpy()
    halal = firm_halal[firm_idx]
    dormitory = rng.random(n_jobs) < np.array([o.dormitory for o in occs])[occ]
    meals = rng.random(n_jobs) < np.array([o.meals for o in occs])[occ]
    needs_cert = np.array([len(r) > 0 for r in raw_lists])
    novice_p = np.array([o.novice_ok for o in occs])[occ] * np.where(needs_cert, 0.3, 1.0)
    novice_ok = rng.random(n_jobs) < novice_p

    status = np.asarray(["open", "filled", "closed"], dtype=object)[
        _choice(rng, n_jobs, [0.8, 0.12, 0.08])
    ]
    hired = np.floor(rng.random(n_jobs) * headcount).astype(np.int64)
    hired[status == "filled"] = headcount[status == "filled"]
    posted_at = _dates(as_of, rng.integers(0, 365, n_jobs))

    coded = rng.random(n_jobs) >= 0.03  # a few postings never got a code
    true_code = np.array([o.code for o in occs], dtype=object)[occ]
    code = np.where(coded, true_code, "")

    titles = _job_titles(occ, wage_min, wage_max, city, district, dormitory, meals, needs_cert, rng)
    descriptions = _job_descriptions(
        occ,
        age_min,
        age_max,
        edu_min,
        wage_min,
        wage_max,
        dormitory,
        meals,
        novice_ok,
        raw_lists,
        rng,
    )
    job_ids = np.arange(1, n_jobs + 1, dtype=np.int64)
    jobs = pd.DataFrame(
        {
            "job_id": job_ids,
            "firm_id": firms["firm_id"].to_numpy()[firm_idx],
            "firm_name": firms["name"].to_numpy()[firm_idx],
            "title": titles,
            "description": descriptions,
            "occupation_code": code,
            "city": city,
            "district": district,
            "wage_min": wage_min,
            "wage_max": wage_max,
            "headcount": headcount,
            "hired_count": hired,
            "age_min": age_min.astype(np.int64),
            "age_max": age_max.astype(np.int64),
            # object, not str dtype: "no requirement" must stay None, not NaN
            "education_min": pd.Series(edu_min, dtype=object),
            "certificates_required": cert_ids,
            "certificates_unrecognised": cert_unknown,
            "dormitory": dormitory,
            "meals": meals,
            "halal_canteen": halal,
            "novice_ok": novice_ok,
            "status": status,
            "posted_at": posted_at,
            "certificates_required_raw": certs_raw,
        }
    )
    firm_quality = rng.normal(0.0, 0.8, n_firms)
    job_truth = pd.DataFrame(
        {
            "job_id": job_ids,
            "true_occupation_code": true_code,
            "work_quality": firm_quality[firm_idx] + rng.normal(0.0, 0.4, n_jobs),
        }
    )
    return jobs, job_truth


def _job_titles(occ, wage_min, wage_max, city, district, dormitory, meals, needs_cert, rng):
    n = len(occ)
    occs = T.OCCUPATIONS
    shapes = np.asarray([s[0] for s in T.TITLE_SHAPES], dtype=object)[
        _choice(rng, n, [s[1] for s in T.TITLE_SHAPES])
    ]
    t_pick = rng.integers(0, 1000, n)
    t2_pick = rng.integers(0, 1000, n)
    perk_pick = rng.integers(0, 1000, n)
    fullwidth = rng.random(n) < 0.05
    out = []
    for i in range(n):
        o = occs[occ[i]]
        t = o.titles[t_pick[i] % len(o.titles)]
        t2 = o.titles[t2_pick[i] % len(o.titles)]
        if t2 == t:
            t2 = o.titles[(t2_pick[i] + 1) % len(o.titles)]
        # only perks the job really offers: 包吃住 needs both a bed and meals
        perks = [p for p in o.title_perks if "住" not in p and "吃" not in p]
        if dormitory[i] and meals[i]:
            perks.append("包吃住")
        elif dormitory[i]:
            perks.append("包住")
        elif meals[i]:
            perks.append("包吃")
        if needs_cert[i] and "持证" not in perks:
            perks.append("持证上岗")
        perks = [p for p in perks if p not in t] or ["五险一金"]  # no 持证焊工（持证）
        perk = perks[perk_pick[i] % len(perks)]
        title = shapes[i].format(
            t=t,
            t2=t2,
            perk=perk,
            w=wage_max[i],
            lo=wage_min[i],
            hi=wage_max[i],
            lok=wage_min[i] // 1000,
            hik=max(wage_max[i] // 1000, wage_min[i] // 1000),
            city=city[i][:-1],
            district=district[i],
        )
        out.append(title.translate(T.FULLWIDTH_DIGITS) if fullwidth[i] else title)
    return out


def _job_descriptions(
    occ, age_min, age_max, edu_min, wage_min, wage_max, dormitory, meals, novice_ok, raw_lists, rng
):
    n = len(occ)
    occs = T.OCCUPATIONS
    S = T.DESCRIPTION_SENTENCES
    n_sent = _choice(rng, n, [0.1, 0.3, 0.4, 0.2])  # 0..3 sentences; some postings have none
    picks = rng.integers(0, 1000, (n, 5))
    out = []
    for i in range(n):
        k = n_sent[i]
        if k == 0:
            out.append("")
            continue
        o = occs[occ[i]]
        # sentences in a fixed order; only the first k are written, so only those are built
        parts = [S["task"][picks[i, 0] % 3].format(task=o.tasks[picks[i, 1] % len(o.tasks)])]
        if raw_lists[i] and len(parts) < k:
            parts.append(S["cert"][picks[i, 2] % 3].format(cert="、".join(raw_lists[i])))
        if len(parts) < k:
            perks = "、".join(
                p
                for p, on in (("包吃", meals[i]), ("包住", dormitory[i]), ("五险一金", True))
                if on
            )
            pay = S["pay"][picks[i, 3] % 3].format(lo=wage_min[i], hi=wage_max[i], perks=perks)
            if wage_min[i] == wage_max[i]:
                pay = pay.replace(f"{wage_min[i]}-{wage_max[i]}", f"{wage_min[i]}")
            parts.append(pay)
        if len(parts) < k:
            edu = T.EDUCATION_PHRASES.get(edu_min[i], "学历不限")
            req = S["req"][picks[i, 4] % 3]
            parts.append(req.format(age_min=age_min[i], age_max=age_max[i], edu=edu))
        if novice_ok[i] and len(parts) < k:
            parts.append(S["novice"][picks[i, 2] % 3])
        out.append("".join(parts))
    return out


# --------------------------------------------------------------------------- workers


@cache
def _villages(
    county_codes: tuple[str, ...],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Township and village names per county, fixed by the county code (not the seed).

    Returns flat arrays ``town, village`` and per-county ``offset, count`` into them
    (read-only: they are cached).
    """
    chars = np.asarray(list(T.PLACE_CHARS), dtype=object)
    towns, villages, offsets, counts = [], [], [], []
    for code in county_codes:
        r = np.random.default_rng(int(code))
        names: list[str] = []
        while len(names) < int(r.integers(8, 18)):
            name = (
                "".join(chars[r.integers(0, len(chars), 2)]) + T.TOWNSHIP_SUFFIXES[r.integers(0, 4)]
            )
            if name not in names:
                names.append(name)
        offsets.append(len(villages))
        for town in names:
            v_names: list[str] = []
            for _ in range(int(r.integers(5, 14))):
                v = (
                    "".join(chars[r.integers(0, len(chars), 2)])
                    + T.VILLAGE_SUFFIXES[r.integers(0, 5)]
                )
                if v not in v_names and v[:2] != town[:2]:
                    v_names.append(v)
            towns.extend([town] * len(v_names))
            villages.extend(v_names)
        counts.append(len(villages) - offsets[-1])
    out = (
        np.asarray(towns, dtype=object),
        np.asarray(villages, dtype=object),
        np.asarray(offsets),
        np.asarray(counts),
    )
    for arr in out:
        arr.setflags(write=False)
    return out


def _education(age: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    labels = np.asarray(
        ["小学", "初中", "高中", "中专", "技校", "职高", "大专", "本科"], dtype=object
    )
    mixes = {  # rural labour: older people went to school less
        "young": [0.04, 0.50, 0.12, 0.12, 0.04, 0.04, 0.12, 0.02],
        "middle": [0.15, 0.62, 0.10, 0.06, 0.02, 0.01, 0.04, 0.00],
        "old": [0.36, 0.55, 0.06, 0.02, 0.00, 0.00, 0.01, 0.00],
    }
    out = np.empty(len(age), dtype=object)
    for name, mask in (
        ("young", age < 30),
        ("middle", (age >= 30) & (age < 45)),
        ("old", age >= 45),
    ):
        out[mask] = labels[_choice(rng, int(mask.sum()), mixes[name])]
    return out


def _names(gender: np.ndarray, ethnicity: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(gender)
    male = gender == "男"
    han = np.asarray(list(T.SURNAMES_HAN), dtype=object)
    surname = han[rng.integers(0, len(han), n)]
    for eth, chars in T.SURNAMES_BY_ETHNICITY.items():
        mask = ethnicity == eth
        if mask.any():
            surname[mask] = _pick(rng, list(chars), int(mask.sum()))
    gm = np.asarray(list(T.GIVEN_CHARS_MALE), dtype=object)
    gf = np.asarray(list(T.GIVEN_CHARS_FEMALE), dtype=object)
    c1 = np.where(male, gm[rng.integers(0, len(gm), n)], gf[rng.integers(0, len(gf), n)])
    c2 = np.where(male, gm[rng.integers(0, len(gm), n)], gf[rng.integers(0, len(gf), n)])
    one_char = rng.random(n) < 0.3
    names = np.where(one_char, surname + c1, surname + c1 + c2)
    tib = np.flatnonzero(ethnicity == "藏族")
    if len(tib):
        first = np.where(
            male[tib],
            _pick(rng, T.TIBETAN_NAMES_MALE, len(tib)),
            _pick(rng, T.TIBETAN_NAMES_FEMALE, len(tib)),
        )
        two = rng.random(len(tib)) < 0.5
        names[tib] = np.where(two, first + _pick(rng, T.TIBETAN_NAMES_TAIL, len(tib)), first)
    return names


def _skills_text(latent: np.ndarray, years: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(latent)
    occs = T.OCCUPATIONS
    # one flat phrase table; each occupation's phrases are a slice of it
    vague = ("在外面打过{n}年工", "干过几年普工", "在{place}打过工")
    table = list(T.NO_EXPERIENCE_SKILLS) + list(vague)
    spans = []
    for o in occs:
        spans.append((len(table), len(o.skills)))
        table += list(o.skills)
    table_arr = np.asarray(table, dtype=object)
    start = np.array([sp[0] for sp in spans])
    size = np.array([sp[1] for sp in spans])
    u = rng.random((n, 4))
    has_occ = latent >= 0
    occ = np.where(has_occ, latent, 0)
    main = start[occ] + np.floor(u[:, 1] * size[occ]).astype(np.int64)
    none_pick = rng.integers(0, len(T.NO_EXPERIENCE_SKILLS), n)
    main = np.where(has_occ, main, none_pick)
    is_vague = has_occ & (rng.random(n) < 0.08)  # says nothing about which work
    main[is_vague] = len(T.NO_EXPERIENCE_SKILLS) + rng.integers(0, len(vague), int(is_vague.sum()))
    other = rng.integers(0, len(occs), n)
    other_phrase = start[other] + np.floor(rng.random(n) * size[other]).astype(np.int64)
    seps = np.asarray(["，", "；", " ", "。", ","], dtype=object)
    sep = seps[rng.integers(0, len(seps), n)]
    empty = np.full(n, "", dtype=object)
    earlier = has_occ & (u[:, 2] < 0.12)  # an earlier, different job
    noisy = u[:, 3] < 0.35
    text = (
        table_arr[main]
        + np.where(earlier, sep, empty)
        + np.where(earlier, table_arr[other_phrase], empty)
        + np.where(noisy, sep, empty)
        + np.where(
            noisy,
            np.asarray(T.NOISE_PHRASES, dtype=object)[rng.integers(0, len(T.NOISE_PHRASES), n)],
            empty,
        )
    )
    years_txt = _years_text(np.where(years > 0, years, rng.integers(1, 6, n)), rng)
    place = _pick(rng, T.WORK_PLACES, n)
    has_hole = np.array(["{" in t for t in table])
    holes = np.flatnonzero(has_hole[main] | (earlier & has_hole[other_phrase]))
    text[holes] = [
        t.replace("{n}", y).replace("{place}", p)
        for t, y, p in zip(text[holes], years_txt[holes], place[holes], strict=True)
    ]
    text[u[:, 0] < 0.1] = ""  # the clerk left it empty
    return text


def _desired(latent: np.ndarray, rng: np.random.Generator) -> list[list[str]]:
    n = len(latent)
    pools = [o.desired for o in T.OCCUPATIONS] + [T.NO_EXPERIENCE_DESIRED]
    words = [""] + sorted({w for pool in pools for w in pool if w})
    word_idx = {w: i for i, w in enumerate(words)}
    pool_arrays = [np.asarray([word_idx[w] for w in pool]) for pool in pools]
    pool = np.where(latent >= 0, latent, len(pools) - 1)
    pool[rng.random(n) < 0.2] = len(pools) - 1  # generic wishes (什么都行, 进厂)
    count = _choice(rng, n, [0.15, 0.55, 0.3])
    w = np.zeros((n, 2), dtype=np.int64)
    for k, arr in enumerate(pool_arrays):
        mask = np.flatnonzero(pool == k)
        w[mask] = arr[rng.integers(0, len(arr), (len(mask), 2))]
    w[count < 2, 1] = 0
    w[count < 1, 0] = 0
    key = w[:, 0] * len(words) + w[:, 1]
    _, first_pos, inv = np.unique(key, return_index=True, return_inverse=True)
    distinct = [[x for x in dict.fromkeys(words[j] for j in w[i]) if x] for i in first_pos]
    return _expand_lists(distinct, inv)


def _make_workers(
    n: int, rng: np.random.Generator, as_of: dt.date, progress: _Progress
) -> tuple[pd.DataFrame, pd.DataFrame]:
    counties = load_counties().reset_index(drop=True)
    prefectures, _, county_cities = _jiangsu()
    n_c = len(counties)
    # Counties send different numbers of workers; the weights are part of the seeded world.
    county = _choice(rng, n, rng.lognormal(0.0, 0.5, n_c))

    # Families and villagers who asked to be placed together share one home village.
    group_id = np.full(n, "", dtype=object)
    in_group = int(0.15 * n)
    perm = rng.permutation(n)[:in_group]
    sizes = rng.integers(2, 7, size=max(1, in_group // 2))
    ends = np.cumsum(sizes)
    sizes = sizes[ends <= in_group]
    starts = (np.cumsum(sizes) - sizes).astype(np.int64)
    member_group = np.repeat(np.arange(len(sizes)), sizes)
    members = perm[: len(member_group)]
    leaders = perm[starts[member_group]]  # empty when the world is too small for a group
    county[members] = county[leaders]

    towns, villages, v_off, v_cnt = _villages(tuple(counties["county_code"]))
    v_idx = v_off[county] + np.floor(rng.random(n) * v_cnt[county]).astype(np.int64)
    v_idx[members] = v_idx[leaders]
    county_code = counties["county_code"].to_numpy(dtype=object)[county]
    group_id[members] = [
        f"G{g:06d}-{c}" for g, c in zip(member_group, county_code[members], strict=True)
    ]

    # latent occupation: -1 = never worked away from home
    weights = np.array([o.worker_weight for o in T.OCCUPATIONS], dtype=float)
    latent = _choice(rng, n, weights)
    latent[rng.random(n) < 0.18] = -1
    male_share = np.where(latent >= 0, np.array([o.male_share for o in T.OCCUPATIONS])[latent], 0.5)
    male = rng.random(n) < male_share
    gender = np.where(male, "男", "女").astype(object)

    band = _choice(rng, n, [0.25, 0.3, 0.45])
    age = np.where(
        band == 0,
        rng.integers(18, 30, n),
        np.where(band == 1, rng.integers(30, 40, n), rng.integers(40, 59, n)),
    )
    birth = np.datetime64(as_of, "D") - (age * 365.25 + rng.integers(1, 365, n)).astype(
        "timedelta64[D]"
    )
    years = np.where(latent >= 0, np.clip(rng.integers(1, 16, n), 1, np.maximum(age - 17, 1)), 0)

    ethnicity = np.full(n, "汉族", dtype=object)
    for c in range(n_c):
        mask = np.flatnonzero(county == c)
        if not len(mask):
            continue
        mix = T.ETHNIC_MIX.get(counties.at[c, "county"], T.DEFAULT_ETHNIC_MIX)
        labels = np.asarray(list(mix), dtype=object)
        ethnicity[mask] = labels[_choice(rng, len(mask), list(mix.values()))]
    halal_p = np.zeros(n)
    for eth, p in T.HALAL_SHARE.items():
        halal_p[ethnicity == eth] = p
    needs_halal = rng.random(n) < halal_p

    progress.step("workers: people")
    # ID numbers: order codes drawn at random, clashes redrawn until every number is unique.
    seq = rng.integers(0, 500, n)
    ids = make_id_numbers(county_code.astype("U6"), birth, seq, gender.astype("U1"))
    for _ in range(20):
        dup = pd.Series(ids).duplicated().to_numpy()
        if not dup.any():
            break
        seq[dup] = rng.integers(0, 500, int(dup.sum()))
        ids[dup] = make_id_numbers(
            county_code[dup].astype("U6"), birth[dup], seq[dup], gender[dup].astype("U1")
        )
    else:
        raise RuntimeError("could not draw unique ID numbers; too many workers per county and day")

    prefix = np.asarray(T.PHONE_PREFIXES, dtype="S3")[rng.integers(0, len(T.PHONE_PREFIXES), n)]
    digits = np.empty((n, 11), dtype=np.uint8)
    digits[:, :3] = np.frombuffer(prefix.tobytes(), dtype=np.uint8).reshape(n, 3)
    digits[:, 3:] = rng.integers(48, 58, (n, 8), dtype=np.uint8)
    phone = digits.view("S11").ravel().astype("U11").astype(object)

    progress.step("workers: ID numbers")
    # certificates as written on the form; each slot holds an index into one spelling table
    # and the distinct combinations (a few hundred) are formatted and normalised once.
    spell_table = [""] + sorted(
        {sp for o in T.OCCUPATIONS for _, sps in o.worker_certs for sp in sps}
        | {sp for _, sps in T.COMMON_WORKER_CERTS for sp in sps}
        | set(T.UNRECOGNISED_CERTS)
    )
    spell_idx = {sp: i for i, sp in enumerate(spell_table)}
    slots = np.zeros((n, 5), dtype=np.int64)
    for k, o in enumerate(T.OCCUPATIONS):
        mask = np.flatnonzero(latent == k)
        for j, (p, spellings) in enumerate(o.worker_certs):
            has = mask[rng.random(len(mask)) < p]
            slots[has, j] = np.asarray([spell_idx[x] for x in spellings])[
                rng.integers(0, len(spellings), len(has))
            ]
    for j, (p, spellings) in enumerate(T.COMMON_WORKER_CERTS, start=2):
        has = np.flatnonzero(rng.random(n) < p)
        slots[has, j] = np.asarray([spell_idx[x] for x in spellings])[
            rng.integers(0, len(spellings), len(has))
        ]
    has = np.flatnonzero(rng.random(n) < 0.03)
    slots[has, 4] = np.asarray([spell_idx[x] for x in T.UNRECOGNISED_CERTS])[
        rng.integers(0, len(T.UNRECOGNISED_CERTS), len(has))
    ]
    seps = ("、", "，", " ", "/", "；")
    sep_idx = rng.integers(0, len(seps), n)
    radix = len(spell_table)
    key = sep_idx.copy()
    for j in range(5):
        key = key * radix + slots[:, j]
    _, first_pos, inv = np.unique(key, return_index=True, return_inverse=True)
    u_slots, u_sep = slots[first_pos], sep_idx[first_pos]
    u_raw = [list(dict.fromkeys(spell_table[x] for x in row if x)) for row in u_slots]
    u_ids, u_unknown = _cert_ids(u_raw)
    u_text = [seps[s_].join(r) for s_, r in zip(u_sep, u_raw, strict=True)]
    certs_raw = np.asarray(u_text, dtype=object)[inv]
    cert_ids = _expand_lists(u_ids, inv)
    cert_unknown = _expand_lists(u_unknown, inv)

    progress.step("workers: certificates")
    # preferred cities: often the county's paired city, written every which way
    pairs = load_pairings().set_index("west_prefecture")["jiangsu_partner"]
    partner = counties["prefecture"].map(pairs).fillna(counties["jiangsu_partner"]).fillna("")
    partner_idx = np.array([prefectures.index(p) if p in prefectures else -1 for p in partner])[
        county
    ]
    weights = np.array([T.CITY_FIRM_WEIGHT[p] for p in prefectures])
    first = _choice(rng, n, weights)
    use_partner = (partner_idx >= 0) & (rng.random(n) < 0.7)
    first[use_partner] = partner_idx[use_partner]
    second = _choice(rng, n, weights)
    n_pref = np.where(rng.random(n) < 0.28, 0, np.where(rng.random(n) < 0.3, 2, 1))
    n_pref[(n_pref == 2) & (second == first)] = 1
    # written forms: per prefecture 苏州 / 苏州市 / 昆山市 / 昆山 (a county-level city in it)
    forms: list[str] = [""]
    form_range = []
    for p in prefectures:
        start_ = len(forms)
        forms += [p[:-1], p]
        n_short = len(forms)
        for d in county_cities[p]:
            forms += [d, d[:-1]]
        form_range.append((start_, n_short, len(forms)))
    fr = np.asarray(form_range)

    def written(pref: np.ndarray) -> np.ndarray:
        lo_, mid, hi_ = fr[pref, 0], fr[pref, 1], fr[pref, 2]
        u = rng.random(len(pref))
        plain = lo_ + (rng.random(len(pref)) < 0.55)  # 苏州市 a bit more often than 苏州
        county_form = mid + np.floor(rng.random(len(pref)) * np.maximum(hi_ - mid, 1)).astype(
            np.int64
        )
        return np.where((u < 0.15) & (hi_ > mid), county_form, plain)

    f1 = np.where(n_pref >= 1, written(first), 0)
    f2 = np.where(n_pref == 2, written(second), 0)
    key = (f1 * len(forms) + f2) * len(seps) + sep_idx
    _, first_pos, inv = np.unique(key, return_index=True, return_inverse=True)
    u_raw = [seps[sep_idx[i]].join(forms[x] for x in (f1[i], f2[i]) if x) for i in first_pos]
    pref_raw = np.asarray(u_raw, dtype=object)[inv]
    pref_lists = _expand_lists(_normalise_city_lists(u_raw, sep_idx[first_pos], seps), inv)

    min_floor = np.where(latent >= 0, np.array([o.wage[0] for o in T.OCCUPATIONS])[latent], 4000)
    min_wage = _round_to(min_floor * rng.uniform(0.7, 1.15, n), 500)
    min_wage[rng.random(n) < 0.3] = 0

    progress.step("workers: cities")
    skills = _skills_text(latent, years, rng)
    desired = _desired(latent, rng)
    progress.step("workers: texts")
    worker_ids = np.arange(1, n + 1, dtype=np.int64)
    workers = pd.DataFrame(
        {
            "worker_id": worker_ids,
            "name": _names(gender, ethnicity, rng),
            "id_number": ids.astype(object),
            "gender": gender,
            "ethnicity": ethnicity,
            "birth_date": birth.astype(object),
            "county_code": county_code,
            "township": towns[v_idx],
            "village": villages[v_idx],
            "phone": phone,
            "education": _education(age, rng),
            "skills_text": skills,
            "desired_jobs": desired,
            "certificates": cert_ids,
            "certificates_unrecognised": cert_unknown,
            "preferred_cities": pref_lists,
            "min_wage": min_wage,
            "needs_dormitory": rng.random(n) < 0.75,
            "needs_halal": needs_halal,
            "poverty_registered": rng.random(n) < 0.88,
            "group_id": group_id,
            "registered_at": _dates(as_of, rng.integers(0, 730, n)),
            "certificates_raw": certs_raw,
            "preferred_cities_raw": pref_raw,
        }
    )
    occ_keys = np.asarray(_OCC_KEYS + [""], dtype=object)
    occ_codes = np.asarray([o.code for o in T.OCCUPATIONS] + [""], dtype=object)
    truth = pd.DataFrame(
        {
            "worker_id": worker_ids,
            "true_occupation_key": occ_keys[latent],
            "true_occupation_code": occ_codes[latent],
            "experience_years": years.astype(np.int64),
            "reliability": rng.normal(0.0, 1.0, n),
        }
    )
    return workers, truth


def _expand_lists(distinct: list[list[str]], inverse: np.ndarray) -> list[list[str]]:
    """One fresh list per row from the lists of the distinct combinations."""
    table = np.empty(len(distinct), dtype=object)
    table[:] = [tuple(x) for x in distinct]
    return [list(t) for t in table[inverse]]


def _normalise_city_lists(
    raw: list[str], sep: np.ndarray, seps: tuple[str, ...]
) -> list[list[str]]:
    cache: dict[str, str | None] = {}
    out = []
    for text, s in zip(raw, sep, strict=True):
        found = []
        for part in text.split(seps[s]) if text else ():
            if part not in cache:
                hit = normalize_city(part)
                cache[part] = hit[0] if hit else None
            if cache[part] and cache[part] not in found:
                found.append(cache[part])
        out.append(found)
    return out


# --------------------------------------------------------------------------- entry point


def generate_world(
    n_workers: int,
    n_jobs: int,
    *,
    seed: int = 0,
    n_firms: int | None = None,
    show_progress: bool = False,
    as_of: dt.date = DEFAULT_AS_OF,
) -> DemoWorld:
    """Generate a demo world of Jiangsu postings and western workers.

    Parameters
    ----------
    n_workers, n_jobs : int
        Sizes, at least 1 each.
    seed : int, default 0
        Same seed, identical frames.
    n_firms : int, optional
        Defaults to one firm per four jobs (at least one).
    show_progress : bool, default False
        Show a tqdm progress bar.
    as_of : datetime.date
        The day the world is observed; postings lie in the 12 months before it.

    Returns
    -------
    DemoWorld
    """
    for label, value in (("n_workers", n_workers), ("n_jobs", n_jobs)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{label} must be a positive integer, got {value!r}")
    if n_firms is None:
        n_firms = max(1, n_jobs // 4)
    if isinstance(n_firms, bool) or not isinstance(n_firms, (int, np.integer)) or n_firms < 1:
        raise ValueError(f"n_firms must be a positive integer, got {n_firms!r}")
    if not isinstance(as_of, dt.date):
        raise ValueError(f"as_of must be a datetime.date, got {as_of!r}")
    # Millions of small lists would make the cyclic garbage collector rescan the growing
    # heap again and again (quadratic); nothing built here forms a cycle.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _generate(int(n_workers), int(n_jobs), seed, int(n_firms), show_progress, as_of)
    finally:
        if gc_was_enabled:
            gc.enable()


def _generate(
    n_workers: int, n_jobs: int, seed: int, n_firms: int, show_progress: bool, as_of: dt.date
) -> DemoWorld:
    progress = _Progress(show_progress, total=8)
    # independent streams: the jobs do not change when only n_workers changes
    job_rng, worker_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    firms, industry, city_idx = _make_firms(int(n_firms), job_rng)
    progress.step("firms")
    jobs, job_truth = _make_jobs(int(n_jobs), firms, industry, city_idx, job_rng, as_of)
    progress.step("jobs")
    workers, truth = _make_workers(int(n_workers), worker_rng, as_of, progress)
    progress.step("workers: table")
    progress.close()
    jobs = jobs[list(JOB_COLUMNS) + list(RAW_JOB_COLUMNS)]
    workers = workers[list(WORKER_COLUMNS) + list(RAW_WORKER_COLUMNS)]
    return DemoWorld(
        firms=firms,
        jobs=jobs,
        workers=workers,
        truth=truth,
        job_truth=job_truth,
        seed=seed,
        as_of=as_of,
    )


__all__ = [
    "DEFAULT_AS_OF",
    "DemoWorld",
    "JOB_TRUTH_COLUMNS",
    "RAW_JOB_COLUMNS",
    "RAW_WORKER_COLUMNS",
    "TRUTH_COLUMNS",
    "generate_world",
]
