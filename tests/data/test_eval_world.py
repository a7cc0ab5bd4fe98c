"""The independent evaluation world: its own phrasing, and relevance by labour-bureau rules."""

from __future__ import annotations

import ast
import datetime as dt
import inspect

import numpy as np
import pandas as pd
import pytest

from data import eval_world
from data.eval_world import EvalWorld, generate_eval_world, hard_rules_ok, relevance

AS_OF = dt.date(2025, 3, 1)


def test_imports_no_phrasing_of_the_demo_generator():
    tree = ast.parse(inspect.getsource(eval_world))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert not imported & {"data.templates", "data.demo", "data.outcomes", "matcher.rules"}
    assert not any(m.startswith("matcher") for m in imported)


def test_world_is_seeded_and_in_the_schema_shape():
    a, b = generate_eval_world(seed=5), generate_eval_world(seed=5)
    assert len(a.jobs) == 600 and len(a.workers) == 60
    pd.testing.assert_frame_equal(a.jobs, b.jobs)
    assert generate_eval_world(seed=6).jobs["title"].tolist() != a.jobs["title"].tolist()
    from data.schema import JOB_COLUMNS, WORKER_COLUMNS

    assert set(JOB_COLUMNS) <= set(a.jobs.columns)
    assert set(WORKER_COLUMNS) - {"id_number", "township", "village", "phone"} <= set(
        a.workers.columns
    )
    # Noise the engine must see through: marketing words, full-width digits, second trades.
    titles = " ".join(a.jobs["title"])
    assert "包吃住" in titles and any("０" <= ch <= "９" for ch in titles)
    assert (a.truth_workers["second_trades"].map(len) > 0).mean() > 0.3


def _world(
    jobs: list[dict], workers: list[dict], trades: list[str], truth: list[tuple]
) -> EvalWorld:
    base_job = dict(
        firm_id=1,
        firm_name="厂",
        description="",
        occupation_code="",
        district="",
        headcount=5,
        hired_count=0,
        age_min=18,
        age_max=55,
        education_min=None,
        certificates_required=[],
        certificates_unrecognised=[],
        dormitory=True,
        meals=True,
        halal_canteen=False,
        novice_ok=False,
        status="open",
        posted_at=AS_OF,
        city="苏州市",
        wage_min=6000,
        wage_max=7000,
        title="岗位",
    )
    base_worker = dict(
        name="某",
        gender="女",
        ethnicity="汉族",
        birth_date=dt.date(1990, 1, 1),
        county_code="630222",
        education="初中",
        skills_text="",
        desired_jobs=[],
        certificates=[],
        certificates_unrecognised=[],
        preferred_cities=[],
        min_wage=0,
        needs_dormitory=False,
        needs_halal=False,
        poverty_registered=True,
        group_id="",
        registered_at=AS_OF,
    )
    jobs_df = pd.DataFrame([{**base_job, "job_id": i + 1, **j} for i, j in enumerate(jobs)])
    workers_df = pd.DataFrame(
        [{**base_worker, "worker_id": i + 1, **w} for i, w in enumerate(workers)]
    )
    return EvalWorld(
        jobs=jobs_df,
        workers=workers_df,
        truth_jobs=pd.DataFrame({"job_id": jobs_df["job_id"], "trade": trades}),
        truth_workers=pd.DataFrame(
            [
                {"worker_id": i + 1, "main_trade": m, "second_trades": tuple(s)}
                for i, (m, s) in enumerate(truth)
            ]
        ),
        as_of=AS_OF,
        seed=0,
    )


@pytest.mark.parametrize(
    ("job", "trade", "worker", "grade"),
    [
        ({}, "sewing", {}, 3),  # main trade
        ({}, "forklift", {}, 2),  # second trade
        ({}, "cutting", {}, 2),  # same family as the main trade (garment)
        ({}, "loading", {}, 2),  # same family as a second trade (warehouse)
        ({"novice_ok": True}, "cleaning", {}, 1),  # takes novices
        ({}, "cleaning", {}, 0),  # unrelated, needs experience
        ({"city": "南京市"}, "sewing", {"preferred_cities": ["苏州市"]}, 2),  # unwished city
        ({"wage_max": 4500}, "sewing", {"min_wage": 5000}, 2),  # under the floor
        (
            {"wage_max": 4500, "city": "南京市"},
            "sewing",
            {"min_wage": 5000, "preferred_cities": ["苏州市"]},
            1,
        ),
        ({"novice_ok": True, "city": "南京市"}, "cleaning", {"preferred_cities": ["苏州市"]}, 0),
        ({"wage_max": 5000}, "sewing", {"min_wage": 5000}, 3),  # at the floor is not under it
        # Hard rules: 0 whatever the trade.
        ({"halal_canteen": False}, "sewing", {"needs_halal": True}, 0),
        ({"dormitory": False}, "sewing", {"needs_dormitory": True}, 0),
        ({"age_max": 30}, "sewing", {}, 0),
        ({"education_min": "高中"}, "sewing", {}, 0),
        ({"certificates_required": ["special_equipment.forklift"]}, "forklift", {}, 0),
        (
            {"certificates_required": ["special_equipment.forklift"]},
            "forklift",
            {"certificates": ["special_equipment.forklift"]},
            2,
        ),
    ],
)
def test_relevance_follows_the_rules(job, trade, worker, grade):
    world = _world([job], [worker], [trade], [("sewing", ("forklift",))])
    assert relevance(world, np.array([1]), np.array([1])).tolist() == [grade]


def test_a_novice_gets_only_novice_jobs_and_rules_are_its_own():
    world = _world(
        [{"novice_ok": True}, {}, {"novice_ok": True, "halal_canteen": True}],
        [{"needs_halal": True}],
        ["cleaning", "sewing", "packing"],
        [("", ())],
    )
    ids = np.array([1, 1, 1])
    assert relevance(world, ids, np.array([1, 2, 3])).tolist() == [0, 0, 1]
    assert hard_rules_ok(world, ids, np.array([1, 2, 3])).tolist() == [False, False, True]


def test_the_generated_world_has_something_to_find_for_most_workers():
    world = generate_eval_world()
    ids_w = np.repeat(world.workers["worker_id"].to_numpy(), len(world.jobs))
    ids_j = np.tile(world.jobs["job_id"].to_numpy(), len(world.workers))
    rel = relevance(world, ids_w, ids_j).reshape(len(world.workers), len(world.jobs))
    assert set(np.unique(rel)) <= {0, 1, 2, 3}
    assert (rel.max(axis=1) >= 1).mean() > 0.9
    assert (rel == 3).any(axis=1).mean() > 0.4
