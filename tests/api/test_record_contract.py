"""One record contract: the defaults and bounds of :mod:`data.schema` hold in every layer.

Before, a job without an upper age bound got 60 from storage and the API but 200 from the engine,
and the import parser bounded ``age_min`` to 16–70 while the API allowed 16–100.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest
from sqlalchemy.orm import Session

from api import schemas, storage
from api.storage import models
from data import tabular
from data.schema import FIRM_DEFAULTS, JOB_DEFAULTS, LIMITS, WORKER_DEFAULTS, defaults

API = "/api/v1"


def _column_default(model, name):
    default = model.__table__.c[name].default
    arg = default.arg
    return arg(None) if callable(arg) else arg


@pytest.mark.parametrize(
    ("model", "declared"),
    [(models.Job, JOB_DEFAULTS), (models.Worker, WORKER_DEFAULTS), (models.Firm, FIRM_DEFAULTS)],
)
def test_storage_column_defaults_are_the_declared_ones(model, declared):
    for name, value in declared.items():
        if name == "education_min":  # nullable: no default but NULL
            assert model.__table__.c[name].nullable
            continue
        assert _column_default(model, name) == value, name


@pytest.mark.parametrize(
    ("api_model", "declared"),
    [
        (schemas.JobCreate, JOB_DEFAULTS),
        (schemas.WorkerCreate, WORKER_DEFAULTS),
        (schemas.FirmCreate, FIRM_DEFAULTS),
    ],
)
def test_api_defaults_are_the_declared_ones(api_model, declared):
    for name, info in api_model.model_fields.items():
        if name in declared and not info.is_required():
            assert info.get_default(call_default_factory=True) == declared[name], name


def test_import_parser_and_engine_defaults_are_the_declared_ones():
    from matcher import rules

    for fields, declared in (
        (tabular._JOB_FIELDS, JOB_DEFAULTS),
        (tabular._WORKER_FIELDS, WORKER_DEFAULTS),
    ):
        for name, (_, default) in fields.items():
            if name in declared:
                assert default == declared[name], name
    # the engine may not import data: its copies are held equal here
    assert (rules.DEFAULT_AGE_MIN, rules.DEFAULT_AGE_MAX) == (
        JOB_DEFAULTS["age_min"],
        JOB_DEFAULTS["age_max"],
    )
    from data.schema import EDUCATION_LEVELS

    assert rules.DEFAULT_EDUCATION_RANKS == EDUCATION_LEVELS


def test_defaults_are_fresh_copies():
    a, b = defaults(WORKER_DEFAULTS), defaults(WORKER_DEFAULTS)
    a["desired_jobs"].append("焊工")
    assert b["desired_jobs"] == [] and WORKER_DEFAULTS["desired_jobs"] == []


def test_a_job_without_age_bounds_gets_the_same_bounds_everywhere(client, world, tmp_path):
    """API create, HTTP import, storage create and the engine agree on 16–60."""
    h = world.headers("admin")
    body = {
        "firm_id": world.firm,
        "title": "普工",
        "city": "苏州",
        "headcount": 3,
        "wage_min": 4000,
        "wage_max": 5000,
    }
    via_api = client.post(f"{API}/jobs", json=body, headers=h).get_json()
    csv = (
        f"岗位名称,企业ID,工作城市,月薪下限,月薪上限,招聘人数\n普工,{world.firm},苏州,4000,5000,3\n"
    )
    data = {"file": (io.BytesIO(csv.encode()), "jobs.csv")}
    r = client.post(f"{API}/jobs/import", data=data, headers=h, content_type="multipart/form-data")
    via_import = client.get(f"{API}/jobs/{r.get_json()['ids'][0]}", headers=h).get_json()
    state = client.application.extensions["jobbridge"]
    with Session(state.engine, expire_on_commit=False) as session:
        stored = storage.create_job(session, {k: v for k, v in body.items()} | {"city": "苏州市"})
        session.commit()
    expected = (JOB_DEFAULTS["age_min"], JOB_DEFAULTS["age_max"])
    assert (via_api["age_min"], via_api["age_max"]) == expected
    assert (via_import["age_min"], via_import["age_max"]) == expected
    assert (stored.age_min, stored.age_max) == expected
    # the engine, given a table that lacks the bounds
    from matcher.rules import DEFAULT_EDUCATION_RANKS, CertificateVocabulary, JobRuleArrays

    frame = pd.DataFrame(
        [
            {
                "age_min": None,
                "age_max": None,
                "education_min": None,
                "certificates_required": [],
                "halal_canteen": False,
                "dormitory": False,
                "status": "open",
                "headcount": 1,
                "hired_count": 0,
            }
        ]
    )
    arrays = JobRuleArrays.from_frame(frame, CertificateVocabulary(), DEFAULT_EDUCATION_RANKS)
    assert (int(arrays.age_min[0]), int(arrays.age_max[0])) == expected


@pytest.mark.parametrize("age", [LIMITS["age"][0] - 1, LIMITS["age"][1] + 1])
def test_age_bounds_are_the_same_in_the_api_and_the_import(client, world, age):
    h = world.headers("admin")
    body = {
        "firm_id": world.firm,
        "title": "普工",
        "city": "苏州",
        "headcount": 3,
        "wage_min": 4000,
        "wage_max": 5000,
        "age_max": age,
    }
    r = client.post(f"{API}/jobs", json=body, headers=h)
    assert r.status_code == 422
    frame = pd.DataFrame(
        [
            {
                "岗位名称": "普工",
                "工作城市": "苏州",
                "月薪下限": "4000",
                "月薪上限": "5000",
                "招聘人数": "3",
                "年龄下限": "16",
                "年龄上限": str(age),
            }
        ],
        index=[2],
    )
    errors = tabular.validate_jobs(frame).errors
    low, high = LIMITS["age"]
    assert errors and {e.field for e in errors} == {"age_max"}
    assert any(f"不在{low}至{high}之间" in e.message for e in errors)


def test_import_bounds_money_and_headcount_like_the_api():
    frame = pd.DataFrame(
        [
            {
                "岗位名称": "普工",
                "工作城市": "苏州",
                "月薪下限": "4000",
                "月薪上限": str(LIMITS["money"][1] + 1),
                "招聘人数": str(LIMITS["headcount"][1] + 1),
            }
        ],
        index=[2],
    )
    assert {e.field for e in tabular.validate_jobs(frame).errors} == {"wage_max", "headcount"}
