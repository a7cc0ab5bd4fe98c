"""Small hand-made worlds in the shape of data/schema.py for the engine's tests.

The engine must not depend on data/, so these fixtures build their own tables: a handful
of occupations, Jiangsu cities and western counties, and a seeded random world whose
outcomes follow a hidden utility the ranker has to learn.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from matcher.encoders import CharNgramEncoder
from matcher.engine import MatchingEngine
from matcher.features import Geography

AS_OF = dt.date(2024, 6, 1)

OCCUPATIONS = pd.DataFrame(
    [
        ("6-05-01-03", "缝纫工", "缝纫工,车工,服装车位"),
        ("6-18-02-04", "电焊工", "电焊工,焊工,氩弧焊工"),
        ("4-02-03-02", "叉车司机", "叉车司机,叉车工"),
        ("4-03-02-01", "中式烹调师", "中式烹调师,厨师,炒菜师傅"),
        ("4-10-01-05", "保洁员", "保洁员,清洁工"),
        ("6-25-04-00", "电子器件制造人员", "电子器件装配工,电子厂普工"),
        ("6-28-01-02", "装配钳工", "装配钳工,钳工"),
        ("4-02-04-01", "仓储管理员", "仓储管理员,仓管员,仓库管理员"),
    ],
    columns=["code", "name", "alias"],
)
OCCUPATIONS["level"] = "4"

# (title variants, skills phrases) per occupation row
TRADE_TEXTS = {
    "6-05-01-03": (
        ["缝纫工", "服装车位工", "平车工包吃住"],
        ["做过三年缝纫", "在服装厂踩过平车", "会用缝纫机做衣服"],
    ),
    "6-18-02-04": (
        ["电焊工", "氩弧焊工", "焊工月入八千"],
        ["会电焊", "干过两年焊工", "氩弧焊有证"],
    ),
    "4-02-03-02": (
        ["叉车司机", "叉车工", "仓库叉车"],
        ["开过叉车", "叉车司机两年", "会开叉车搬货"],
    ),
    "4-03-02-01": (["厨师", "中式厨师", "食堂炒菜师傅"], ["在饭店炒过菜", "做过厨师", "食堂帮厨"]),
    "4-10-01-05": (["保洁员", "清洁工", "物业保洁"], ["做过保洁", "打扫卫生", "宾馆清洁"]),
    "6-25-04-00": (
        ["电子厂普工", "电子装配工", "流水线操作工"],
        ["电子厂流水线", "在电子厂做过装配", "插件焊锡"],
    ),
    "6-28-01-02": (["装配钳工", "钳工", "机械装配工"], ["做过钳工", "机械厂装配", "会看图纸装配"]),
    "4-02-04-01": (["仓管员", "仓库管理员", "物料员"], ["做过仓库管理", "管过库存", "仓管员"]),
}

CITIES = {
    "苏州市": (31.3, 120.6),
    "无锡市": (31.6, 120.3),
    "南京市": (32.1, 118.8),
    "常州市": (31.8, 119.9),
}
COUNTIES = {
    "610621": ("无锡市", (36.6, 109.5)),  # 延长县 → 延安
    "630202": ("苏州市", (36.5, 102.1)),  # 海东
    "520602": ("苏州市", (27.7, 109.2)),  # 铜仁
    "630121": ("南京市", (36.6, 101.8)),  # 西宁
}
GEOGRAPHY = Geography(
    county_coords={c: v[1] for c, v in COUNTIES.items()},
    county_paired_city={c: v[0] for c, v in COUNTIES.items()},
    city_coords=CITIES,
)


def job_record(**overrides: Any) -> dict[str, Any]:
    rec = dict(
        job_id=1,
        firm_id=1,
        firm_name="苏州某服装厂",
        title="缝纫工",
        description="服装厂招缝纫工，计件工资",
        occupation_code="6-05-01-03",
        city="苏州市",
        district="昆山市",
        wage_min=4500,
        wage_max=6500,
        headcount=5,
        hired_count=0,
        age_min=18,
        age_max=50,
        education_min=None,
        certificates_required=[],
        dormitory=True,
        meals=True,
        halal_canteen=False,
        novice_ok=False,
        status="open",
        posted_at=dt.date(2024, 5, 1),
    )
    rec.update(overrides)
    return rec


def worker_record(**overrides: Any) -> dict[str, Any]:
    rec = dict(
        worker_id=1,
        name="张三",
        id_number="610621199001011234",
        gender="女",
        ethnicity="汉族",
        birth_date=dt.date(1990, 1, 1),
        county_code="610621",
        township="某镇",
        village="某村",
        phone="13800000000",
        education="初中",
        skills_text="做过三年缝纫",
        desired_jobs=["缝纫工"],
        certificates=[],
        certificates_unrecognised=[],
        preferred_cities=[],
        min_wage=4000,
        needs_dormitory=False,
        needs_halal=False,
        poverty_registered=True,
        group_id="",
        registered_at=dt.date(2024, 3, 1),
    )
    rec.update(overrides)
    return rec


def random_world(n_workers: int, n_jobs: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A seeded world of jobs and workers in the schema's shape, with varied hard constraints."""
    rng = np.random.default_rng(seed)
    codes = list(TRADE_TEXTS)
    certs = ["special_equipment.forklift", "welding.electric", "health.food_handler"]
    jobs = []
    for j in range(n_jobs):
        code = codes[rng.integers(len(codes))]
        titles, _ = TRADE_TEXTS[code]
        wage_min = int(rng.integers(30, 70)) * 100
        lo = int(rng.integers(16, 30))
        status = rng.choice(["open", "open", "open", "open", "filled", "closed"])
        headcount = int(rng.integers(1, 20))
        req = []
        if code == "4-02-03-02" and rng.random() < 0.6:
            req.append(certs[0])
        if code == "6-18-02-04" and rng.random() < 0.5:
            req.append(certs[1])
        if rng.random() < 0.05:
            req.append(certs[2])
        jobs.append(
            job_record(
                job_id=1000 + j,
                firm_id=int(rng.integers(1, 50)),
                title=titles[rng.integers(len(titles))],
                description=""
                if rng.random() < 0.2
                else f"招{titles[0]}，{rng.choice(['长白班', '两班倒', '计件'])}",
                occupation_code=code if rng.random() < 0.7 else "",
                city=list(CITIES)[rng.integers(len(CITIES))],
                wage_min=wage_min,
                wage_max=wage_min + int(rng.integers(0, 30)) * 100,
                headcount=headcount,
                hired_count=int(rng.integers(0, headcount + 1)) if rng.random() < 0.2 else 0,
                age_min=lo,
                age_max=lo + int(rng.integers(15, 40)),
                education_min=rng.choice([None, None, "初中", "高中", "大专"]),
                certificates_required=req,
                dormitory=bool(rng.random() < 0.6),
                meals=bool(rng.random() < 0.5),
                halal_canteen=bool(rng.random() < 0.2),
                novice_ok=bool(rng.random() < 0.4),
                status=str(status),
            )
        )
    workers = []
    for w in range(n_workers):
        code = codes[rng.integers(len(codes))]
        _, skills = TRADE_TEXTS[code]
        held = [c for c, p in zip(certs, (0.2, 0.2, 0.1), strict=True) if rng.random() < p]
        workers.append(
            worker_record(
                worker_id=w + 1,
                name=f"工人{w}",
                gender=str(rng.choice(["男", "女"])),
                ethnicity=str(rng.choice(["汉族", "回族", "撒拉族", "土家族"])),
                birth_date=dt.date(
                    int(rng.integers(1965, 2006)),
                    int(rng.integers(1, 13)),
                    int(rng.integers(1, 29)),
                ),
                county_code=list(COUNTIES)[rng.integers(len(COUNTIES))],
                education=str(rng.choice(["小学", "初中", "初中", "高中", "中专", "大专"])),
                skills_text="" if rng.random() < 0.1 else str(skills[rng.integers(len(skills))]),
                desired_jobs=[] if rng.random() < 0.2 else [TRADE_TEXTS[code][0][0]],
                certificates=held,
                preferred_cities=[]
                if rng.random() < 0.5
                else [list(CITIES)[rng.integers(len(CITIES))]],
                min_wage=int(rng.choice([0, 3000, 4000, 5000])),
                needs_dormitory=bool(rng.random() < 0.4),
                needs_halal=bool(rng.random() < 0.1),
            )
        )
    return pd.DataFrame(jobs), pd.DataFrame(workers)


@pytest.fixture(scope="session")
def world_factory() -> Callable[..., tuple[pd.DataFrame, pd.DataFrame]]:
    return random_world


@pytest.fixture(scope="session")
def make_engine(encoder: CharNgramEncoder) -> Callable[..., MatchingEngine]:
    """Fit an engine on record lists or tables, with the test geography and occupations."""

    def make(jobs: Any, workers: Any, **params: Any) -> MatchingEngine:
        params = {
            "encoder": encoder,
            "as_of": AS_OF,
            "geography": GEOGRAPHY,
            "occupations": OCCUPATIONS,
            **params,
        }
        return MatchingEngine(**params).fit(pd.DataFrame(jobs), pd.DataFrame(workers))

    return make


@pytest.fixture(scope="session")
def encoder() -> CharNgramEncoder:
    return CharNgramEncoder(dim=64)


@pytest.fixture(scope="session")
def make_job() -> Callable[..., dict[str, Any]]:
    return job_record


@pytest.fixture(scope="session")
def make_worker() -> Callable[..., dict[str, Any]]:
    return worker_record


@pytest.fixture(scope="session")
def world() -> tuple[pd.DataFrame, pd.DataFrame]:
    return random_world(n_workers=600, n_jobs=300, seed=1)


@pytest.fixture(scope="session")
def engine_params(encoder: CharNgramEncoder) -> dict[str, Any]:
    return dict(
        encoder=encoder,
        as_of=AS_OF,
        geography=GEOGRAPHY,
        occupations=OCCUPATIONS,
        candidate_pool=100,
    )


@pytest.fixture(scope="session")
def _fitted_engine(
    world: tuple[pd.DataFrame, pd.DataFrame], engine_params: dict[str, Any]
) -> MatchingEngine:
    jobs, workers = world
    return MatchingEngine(**engine_params).fit(jobs, workers)


@pytest.fixture
def fitted_engine(_fitted_engine: MatchingEngine) -> MatchingEngine:
    """A fitted engine (built once per session, deep-copied per test so tests may mutate it)."""
    return copy.deepcopy(_fitted_engine)


@pytest.fixture(scope="session", name="hidden_utility")
def hidden_utility_fixture() -> Callable[[pd.DataFrame], np.ndarray]:
    return hidden_utility


def hidden_utility(features: pd.DataFrame) -> np.ndarray:
    """The success chance the synthetic outcomes follow: trade match, wage, city, dormitory."""
    z = (
        -3.0
        + 1.6 * (features["main_fit"] >= 0.6)
        + 0.8 * (features["wish_fit"] >= 0.6)
        + 0.9 * np.nan_to_num(features["wage_min_vs_floor"].to_numpy() - 1, nan=0.2).clip(-1, 1)
        + 0.7 * features["paired_city"]
        + 0.5 * features["dormitory"]
    )
    return 1 / (1 + np.exp(-z))


@pytest.fixture(scope="session")
def labelled_events(
    _fitted_engine: MatchingEngine, world: tuple[pd.DataFrame, pd.DataFrame]
) -> pd.DataFrame:
    """Outcome events: a 'recommended' event for random feasible pairs, 'retained_6m' drawn from
    the hidden utility."""
    jobs, workers = world
    rng = np.random.default_rng(7)
    pairs = pd.DataFrame(
        {
            "worker_id": rng.choice(workers["worker_id"], size=6000),
            "job_id": rng.choice(jobs["job_id"], size=6000),
        }
    ).drop_duplicates(ignore_index=True)
    feats = _fitted_engine.pair_features(pairs, jobs=jobs, workers=workers)
    p = np.asarray(hidden_utility(feats))
    success = rng.random(len(p)) < p
    rec = pd.DataFrame(
        {
            "worker_id": pairs["worker_id"],
            "job_id": pairs["job_id"],
            "stage": "recommended",
            "date": pd.Timestamp("2023-06-01"),
        }
    )
    ret = rec[success].assign(stage="retained_6m", date=pd.Timestamp("2024-01-01"))
    return pd.concat([rec, ret], ignore_index=True)
