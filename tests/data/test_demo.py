"""The demo world: determinism, schema, value ranges and the realism a bureau expects."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data.demo import (
    JOB_TRUTH_COLUMNS,
    RAW_JOB_COLUMNS,
    RAW_WORKER_COLUMNS,
    TRUTH_COLUMNS,
    generate_world,
)
from data.idcard import birth_date_of, gender_of, is_valid_id_number
from data.normalize import normalize_certificates, normalize_city
from data.reference import load_certificates, load_counties, load_jiangsu_cities, load_occupations
from data.schema import EDUCATION_LEVELS, JOB_COLUMNS, JOB_STATUSES, WORKER_COLUMNS

QINGHAI_HALAL_COUNTIES = {
    "化隆回族自治县",
    "循化撒拉族自治县",
    "民和回族土族自治县",
    "大通回族土族自治县",
}
SEPARATORS = re.compile(r"[、，/； ]")


@pytest.fixture(scope="module")
def world():
    return generate_world(4000, 800, seed=5)


@pytest.fixture(scope="module")
def counties():
    return load_counties().set_index("county_code")


def test_same_seed_gives_identical_frames():
    a, b = generate_world(400, 80, seed=7), generate_world(400, 80, seed=7)
    for name in ("firms", "jobs", "workers", "truth", "job_truth"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    c = generate_world(400, 80, seed=8)
    assert not a.workers["skills_text"].equals(c.workers["skills_text"])
    assert not a.jobs["title"].equals(c.jobs["title"])


def test_jobs_do_not_change_with_the_number_of_workers():
    a, b = generate_world(50, 60, seed=3), generate_world(300, 60, seed=3)
    pd.testing.assert_frame_equal(a.jobs, b.jobs)


def test_columns_match_the_schema_and_truth_is_kept_apart(world):
    assert list(world.jobs.columns) == list(JOB_COLUMNS) + list(RAW_JOB_COLUMNS)
    assert list(world.workers.columns) == list(WORKER_COLUMNS) + list(RAW_WORKER_COLUMNS)
    assert list(world.firms.columns) == ["firm_id", "name", "city", "district", "industry"]
    assert list(world.truth.columns) == list(TRUTH_COLUMNS)
    assert list(world.job_truth.columns) == list(JOB_TRUTH_COLUMNS)
    hidden = (set(TRUTH_COLUMNS) | set(JOB_TRUTH_COLUMNS)) - {"worker_id", "job_id"}
    assert not hidden & (set(world.workers.columns) | set(world.jobs.columns))
    assert world.truth["worker_id"].tolist() == world.workers["worker_id"].tolist()
    assert world.workers["worker_id"].is_unique and world.jobs["job_id"].is_unique


def test_job_values_are_in_range(world):
    j = world.jobs
    assert (j["wage_min"] <= j["wage_max"]).all() and (j["wage_min"] >= 2000).all()
    assert (
        (j["age_min"] <= j["age_max"]).all()
        and j["age_min"].ge(16).all()
        and j["age_max"].le(60).all()
    )
    assert (j["headcount"] > 0).all()
    assert ((j["hired_count"] >= 0) & (j["hired_count"] <= j["headcount"])).all()
    assert set(j["status"]) <= set(JOB_STATUSES) and (j["status"] == "open").mean() > 0.7
    filled = j["status"] == "filled"
    assert (j.loc[filled, "hired_count"] == j.loc[filled, "headcount"]).all()
    assert all(e is None or e in EDUCATION_LEVELS for e in j["education_min"])
    assert any(e is None for e in j["education_min"])
    codes = set(load_occupations()["code"])
    assert set(j["occupation_code"]) - {""} <= codes
    assert 0 < (j["occupation_code"] == "").mean() < 0.1
    age_days = np.array([(world.as_of - d).days for d in j["posted_at"]])
    assert age_days.min() >= 0 and age_days.max() < 366
    assert all(isinstance(d, dt.date) for d in j["posted_at"].head(50))


def test_job_places_are_jiangsu_districts_of_their_city(world):
    cities = load_jiangsu_cities()
    valid = set(zip(cities["prefecture"], cities["district"], strict=True))
    pairs = set(zip(world.jobs["city"], world.jobs["district"], strict=True))
    assert {p for p in pairs if p[1]} <= valid
    assert world.jobs["city"].nunique() == 13
    assert set(zip(world.firms["city"], world.firms["district"], strict=True)) <= valid


def test_wages_are_higher_in_southern_jiangsu(world):
    j = world.jobs
    relative = j["wage_min"] / j.groupby("occupation_code")["wage_min"].transform("mean")
    by_city = relative.groupby(j["city"]).mean()
    assert by_city["苏州市"] > by_city["宿迁市"] + 0.1
    assert (
        by_city[["苏州市", "无锡市", "南京市"]].min()
        > by_city[["宿迁市", "连云港市", "淮安市"]].max()
    )


def test_trades_require_their_certificates(world):
    j = world.jobs
    forklift = j["occupation_code"] == "6-30-05-01"
    assert forklift.sum() > 5
    share = (
        j.loc[forklift, "certificates_required"]
        .map(lambda c: "special_equipment.forklift" in c)
        .mean()
    )
    assert share > 0.8
    truck = j["occupation_code"] == "4-02-02-02"
    assert (
        j.loc[truck, "certificates_required"]
        .map(lambda c: bool({"driving.B2", "driving.A2"} & set(c)))
        .all()
    )
    catalogue = set(load_certificates()["cert_id"])
    assert {c for cs in j["certificates_required"] for c in cs} <= catalogue
    assert (j["certificates_required"].map(len) == 0).mean() > 0.4  # most postings need none


def test_raw_certificate_text_normalises_to_the_stored_ids(world):
    for frame, raw, ids in (
        (world.jobs, "certificates_required_raw", "certificates_required"),
        (world.workers, "certificates_raw", "certificates"),
    ):
        sample = frame[frame[raw] != ""].head(400)
        assert len(sample) > 50
        for text, stored, unknown in zip(
            sample[raw], sample[ids], sample["certificates_unrecognised"], strict=True
        ):
            assert normalize_certificates(SEPARATORS.split(text)) == (stored, unknown)
        # a few names no catalogue entry knows (挖掘机证, 相关上岗证) are kept as written
        share = (frame["certificates_unrecognised"].map(len) > 0).mean()
        assert 0 < share < 0.1


def test_titles_promise_only_what_the_job_offers(world):
    j = world.jobs
    says = j["title"].str.contains("包吃住")
    assert says.sum() > 5
    assert (j.loc[says, "dormitory"] & j.loc[says, "meals"]).all()
    assert j["title"].str.contains(r"\+|！|【|急招|直招").mean() > 0.15  # marketing titles
    assert (j["description"] == "").mean() > 0.03
    halal_firms = j.groupby("firm_id")["halal_canteen"].first()
    assert 0 < halal_firms.mean() < 0.08  # a few % of firms run a halal canteen


def test_id_numbers_are_valid_unique_and_match_the_worker(world):
    w = world.workers
    assert w["id_number"].is_unique
    assert all(is_valid_id_number(x) for x in w["id_number"])
    assert (w["id_number"].str[:6] == w["county_code"]).all()
    sample = w.head(300)
    assert [birth_date_of(x) for x in sample["id_number"]] == list(sample["birth_date"])
    assert [gender_of(x) for x in sample["id_number"]] == list(sample["gender"])
    assert w["phone"].str.fullmatch(r"1[3-9]\d{9}").all()


def test_workers_come_from_the_75_counties_with_their_villages(world, counties):
    w = world.workers
    assert set(w["county_code"]) <= set(counties.index)
    assert (
        w["township"].str.contains(r"[镇乡]$").all()
        and w["village"].str.contains(r"(?:村|社区)$").all()
    )
    # the same county always has the same townships, whatever the seed
    other = generate_world(4000, 10, seed=99).workers
    code = w["county_code"].mode()[0]
    here = set(w.loc[w["county_code"] == code, "township"])
    there = set(other.loc[other["county_code"] == code, "township"])
    assert len(here) >= 5 and here & there
    assert len(here | there) <= 17  # one fixed table of 8..17 townships per county


def test_groups_share_county_and_village(world):
    g = world.workers[world.workers["group_id"] != ""]
    assert 0.05 < len(g) / len(world.workers) < 0.3
    per_group = g.groupby("group_id").agg(
        n=("worker_id", "size"),
        counties=("county_code", "nunique"),
        villages=("village", "nunique"),
    )
    assert (per_group["n"] >= 2).all()
    assert (per_group["counties"] == 1).all() and (per_group["villages"] == 1).all()


def test_age_and_education_mix_of_rural_labour(world):
    w = world.workers
    age = np.array([(world.as_of - b).days / 365.25 for b in w["birth_date"]])
    assert age.min() >= 18 and age.max() < 60
    assert ((age >= 40) & (age < 56)).mean() > 0.3
    mix = w["education"].value_counts(normalize=True)
    assert mix.index[0] == "初中" and mix["初中"] > 0.45
    assert mix["小学"] > 0.1 and mix.get("大专", 0) + mix.get("本科", 0) < 0.12
    assert set(mix.index) <= set(EDUCATION_LEVELS)
    young = w["education"][age < 30].isin(["小学"]).mean()
    old = w["education"][age >= 45].isin(["小学"]).mean()
    assert old > young
    assert 0.5 < (w["gender"] == "男").mean() < 0.75
    assert 0.8 < w["poverty_registered"].mean() < 0.95


def test_halal_needs_and_ethnicities_are_where_they_should_be(world, counties):
    w = world.workers
    county = w["county_code"].map(counties["county"])
    province = w["county_code"].map(counties["province"])
    hui_salar = county.isin(QINGHAI_HALAL_COUNTIES)
    assert w.loc[hui_salar, "needs_halal"].mean() > 0.2
    assert w.loc[province == "陕西省", "needs_halal"].mean() < 0.02
    assert (
        w.loc[w["needs_halal"], "county_code"].map(counties["province"]).eq("青海省").mean() > 0.8
    )
    assert set(w.loc[w["ethnicity"] == "撒拉族", "county_code"].map(counties["province"])) == {
        "青海省"
    }
    miao_tujia = w["ethnicity"].isin(["苗族", "土家族", "侗族"])
    assert set(province[miao_tujia]) == {"贵州省"}
    assert (w["ethnicity"] == "汉族").mean() > 0.6


def test_preferred_cities_are_written_loosely_and_normalised(world, counties):
    w = world.workers
    prefectures = set(load_jiangsu_cities()["prefecture"])
    assert all(set(c) <= prefectures for c in w["preferred_cities"])
    assert 0.15 < (w["preferred_cities"].map(len) == 0).mean() < 0.4
    raw = w["preferred_cities_raw"]
    assert raw.str.contains("市").any() and (raw.str.len() > 0).any()
    assert raw.str.contains(r"^(?:苏州|无锡|南京|常州)(?:[、，/； ]|$)").any()  # 市 left out
    assert raw.str.contains("昆山|江阴|张家港|常熟|太仓|宜兴").any()  # a county-level city
    for text, stored in zip(raw.head(500), w["preferred_cities"].head(500), strict=True):
        parts = [normalize_city(p) for p in SEPARATORS.split(text) if p]
        assert list(dict.fromkeys(p[0] for p in parts if p)) == stored
    tongren = w["county_code"].map(counties["prefecture"]) == "铜仁市"
    firsts = w.loc[tongren & (w["preferred_cities"].map(len) > 0), "preferred_cities"].map(
        lambda c: c[0]
    )
    assert firsts.value_counts().index[0] == "苏州市"  # the paired city


def test_skill_text_reveals_the_true_occupation_only_imperfectly(world):
    w = world.workers.merge(world.truth, on="worker_id")
    text = w["skills_text"]
    assert 0.05 < (text == "").mean() < 0.2
    assert text.str.contains("[０-９]").any()  # full-width digits
    assert text.str.contains("[一二两三四五六七八九十]年").any()
    sewing = w["true_occupation_key"] == "sewing"
    mentions = text.str.contains("缝纫|车位|衣服|服装|制衣|平车")
    assert mentions[sewing].mean() > 0.6
    assert mentions[sewing].mean() < 1.0  # some texts are empty or vague
    assert mentions[~sewing].mean() < 0.15
    none = w["true_occupation_key"] == ""
    assert 0.1 < none.mean() < 0.3
    assert (w.loc[none, "experience_years"] == 0).all()
    assert w["desired_jobs"].map(lambda d: isinstance(d, list)).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_workers": 0, "n_jobs": 10}, "n_workers"),
        ({"n_workers": 10, "n_jobs": -1}, "n_jobs"),
        ({"n_workers": 10, "n_jobs": 10, "n_firms": 0}, "n_firms"),
        ({"n_workers": 2.5, "n_jobs": 10}, "n_workers"),
        ({"n_workers": 10, "n_jobs": 10, "as_of": "2026-01-01"}, "as_of"),
    ],
)
def test_bad_sizes_are_refused_with_a_clear_message(kwargs, match):
    with pytest.raises(ValueError, match=match):
        generate_world(**kwargs)


@pytest.mark.parametrize(("n_workers", "n_jobs"), [(1, 1), (3, 2), (30, 5)])
def test_tiny_worlds_are_complete(n_workers, n_jobs):
    w = generate_world(n_workers, n_jobs, seed=1)
    assert len(w.workers) == n_workers and len(w.jobs) == n_jobs and len(w.firms) >= 1
    assert list(w.workers.columns) == list(WORKER_COLUMNS) + list(RAW_WORKER_COLUMNS)


@settings(max_examples=12, deadline=None)
@given(
    n_workers=st.integers(1, 300),
    n_jobs=st.integers(1, 120),
    n_firms=st.none() | st.integers(1, 40),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_size_and_seed_keeps_the_invariants(n_workers, n_jobs, n_firms, seed):
    w = generate_world(n_workers, n_jobs, seed=seed, n_firms=n_firms)
    j, p = w.jobs, w.workers
    assert len(p) == n_workers and len(j) == n_jobs
    assert (j["wage_min"] <= j["wage_max"]).all() and (j["age_min"] <= j["age_max"]).all()
    assert (j["headcount"] > 0).all() and (j["hired_count"] <= j["headcount"]).all()
    assert set(j["firm_id"]) <= set(w.firms["firm_id"]) and w.firms["name"].is_unique
    assert p["id_number"].is_unique and all(is_valid_id_number(x) for x in p["id_number"])
    assert set(p["education"]) <= set(EDUCATION_LEVELS)
    assert (p["min_wage"] >= 0).all()
