from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.rules import (
    DEFAULT_EDUCATION_RANKS,
    CertificateVocabulary,
    JobRuleArrays,
    WorkerRuleArrays,
    ages_at,
    jobs_mask_for_worker,
    pair_checks,
    pair_mask,
    violations,
    workers_mask_for_job,
)

AS_OF = dt.date(2024, 6, 1)


def arrays(jobs: list[dict], workers: list[dict]) -> tuple[JobRuleArrays, WorkerRuleArrays]:
    vocab = CertificateVocabulary()
    ja = JobRuleArrays.from_frame(pd.DataFrame(jobs), vocab, DEFAULT_EDUCATION_RANKS)
    wa = WorkerRuleArrays.from_frame(pd.DataFrame(workers), vocab, DEFAULT_EDUCATION_RANKS, AS_OF)
    return ja, wa


def test_age_counts_birthday_at_as_of():
    ages = ages_at([dt.date(2006, 6, 1), dt.date(2006, 6, 2), "2006-05-31"], AS_OF)
    assert ages.tolist() == [18, 17, 18]


@pytest.mark.parametrize(
    ("job_over", "worker_over", "broken"),
    [
        ({"age_min": 35}, {}, "age"),
        ({"age_max": 33}, {}, "age"),  # worker is 34 on AS_OF
        ({"education_min": "高中"}, {"education": "初中"}, "education"),
        ({"certificates_required": ["special_equipment.forklift"]}, {}, "certificates"),
        ({"halal_canteen": False}, {"needs_halal": True}, "halal"),
        ({"dormitory": False}, {"needs_dormitory": True}, "dormitory"),
        ({"status": "closed"}, {}, "open"),
        ({"status": "filled"}, {}, "open"),
        ({"headcount": 3, "hired_count": 3}, {}, "open"),
    ],
)
def test_each_rule_rejects_its_case(make_job, make_worker, job_over, worker_over, broken):
    ja, wa = arrays([make_job(**job_over)], [make_worker(**worker_over)])
    checks = pair_checks(wa, np.array([0]), ja, np.array([0]))
    assert [r for r, ok in checks.items() if not ok[0]] == [broken]
    assert not jobs_mask_for_worker(wa, 0, ja)[0]
    assert not workers_mask_for_job(ja, 0, wa)[0]


def test_equal_education_ranks_are_equivalent_and_certificates_held_pass(make_job, make_worker):
    job = make_job(education_min="中专", certificates_required=["special_equipment.forklift"])
    worker = make_worker(education="高中", certificates=["special_equipment.forklift", "x.other"])
    ja, wa = arrays([job], [worker])
    assert pair_mask(wa, np.array([0]), ja, np.array([0])).tolist() == [True]
    assert jobs_mask_for_worker(wa, 0, ja).tolist() == [True]
    assert workers_mask_for_job(ja, 0, wa).tolist() == [True]


def test_unknown_job_education_is_refused_with_the_valid_levels(make_job):
    with pytest.raises(ValueError, match=r"'博士后'.*初中"):
        arrays([make_job(education_min="博士后")], [])


def test_unknown_status_is_refused(make_job):
    with pytest.raises(ValueError, match=r"'paused'.*open"):
        arrays([make_job(status="paused")], [])


def test_unknown_worker_education_only_sees_jobs_without_requirement(make_job, make_worker):
    ja, wa = arrays(
        [make_job(education_min=None), make_job(education_min="小学")],
        [make_worker(education="扫盲班")],
    )
    assert jobs_mask_for_worker(wa, 0, ja).tolist() == [True, False]


def test_certificate_added_after_worker_keeps_its_column(make_job, make_worker):
    vocab = CertificateVocabulary()
    wa = WorkerRuleArrays.from_frame(
        pd.DataFrame([make_worker(certificates=["welding.electric"])]),
        vocab,
        DEFAULT_EDUCATION_RANKS,
        AS_OF,
    )
    ja = JobRuleArrays.from_frame(
        pd.DataFrame(
            [
                make_job(certificates_required=["welding.electric"]),
                make_job(certificates_required=["new.one"]),
            ]
        ),
        vocab,
        DEFAULT_EDUCATION_RANKS,
    )
    assert jobs_mask_for_worker(wa, 0, ja).tolist() == [True, False]
    assert workers_mask_for_job(ja, 0, wa).tolist() == [True]
    assert workers_mask_for_job(ja, 1, wa).tolist() == [False]


CERTS = ["a", "b", "c"]
LEVELS = [None, "小学", "初中", "高中", "中专", "大专", "本科"]

job_strategy = st.fixed_dictionaries(
    {
        "age_min": st.integers(16, 40),
        "age_span": st.integers(0, 30),
        "education_min": st.sampled_from(LEVELS),
        "certificates_required": st.lists(st.sampled_from(CERTS), max_size=2, unique=True),
        "halal_canteen": st.booleans(),
        "dormitory": st.booleans(),
        "status": st.sampled_from(["open", "open", "filled", "closed"]),
        "headcount": st.integers(1, 5),
        "hired_count": st.integers(0, 5),
    }
)
worker_strategy = st.fixed_dictionaries(
    {
        "birth_year": st.integers(1960, 2008),
        "education": st.sampled_from(LEVELS[1:]),
        "certificates": st.lists(st.sampled_from(CERTS), max_size=3, unique=True),
        "needs_halal": st.booleans(),
        "needs_dormitory": st.booleans(),
    }
)


def reference_ok(job: dict, worker: dict) -> bool:
    """The rules, written out pair by pair in plain Python."""
    age = AS_OF.year - worker["birth_year"] - 1  # born on 7 July: birthday not yet reached
    rank = DEFAULT_EDUCATION_RANKS
    return (
        job["age_min"] <= age <= job["age_min"] + job["age_span"]
        and (
            job["education_min"] is None or rank[worker["education"]] >= rank[job["education_min"]]
        )
        and set(job["certificates_required"]) <= set(worker["certificates"])
        and (job["halal_canteen"] or not worker["needs_halal"])
        and (job["dormitory"] or not worker["needs_dormitory"])
        and job["status"] == "open"
        and job["headcount"] > job["hired_count"]
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(job_strategy, min_size=1, max_size=8),
    st.lists(worker_strategy, min_size=1, max_size=8),
)
def test_vectorised_masks_agree_with_plain_rules(make_job, make_worker, jobs, workers):
    job_recs = [
        make_job(
            **{k: v for k, v in j.items() if k != "age_span"}, age_max=j["age_min"] + j["age_span"]
        )
        for j in jobs
    ]
    worker_recs = [
        make_worker(
            **{k: v for k, v in w.items() if k != "birth_year"},
            birth_date=dt.date(w["birth_year"], 7, 7),
        )
        for w in workers
    ]
    ja, wa = arrays(job_recs, worker_recs)
    expected = np.array([[reference_ok(j, w) for j in jobs] for w in workers])
    for i in range(len(workers)):
        assert jobs_mask_for_worker(wa, i, ja).tolist() == expected[i].tolist()
    for j in range(len(jobs)):
        assert workers_mask_for_job(ja, j, wa).tolist() == expected[:, j].tolist()
    wi, ji = np.meshgrid(np.arange(len(workers)), np.arange(len(jobs)), indexing="ij")
    assert (
        pair_mask(wa, wi.ravel(), ja, ji.ravel()).reshape(expected.shape).tolist()
        == expected.tolist()
    )
    assert int(violations(wa, wi.ravel(), ja, ji.ravel()).max()) <= expected.size


@pytest.mark.parametrize(
    ("held", "required", "ok"),
    [
        (["driving.A2"], ["driving.B2"], True),
        (["driving.A2"], ["driving.C1"], True),
        (["driving.A1"], ["driving.C2"], True),  # A1 → C1 → C2, transitively
        (["driving.B2"], ["driving.C1"], True),
        (["driving.C1"], ["driving.B2"], False),  # a lower licence never covers a higher one
        (["driving.B2"], ["driving.A2"], False),
        (["driving.A2"], ["driving.B2", "health"], False),  # every requirement still counts
    ],
)
def test_a_higher_driving_licence_covers_a_lower_one(make_job, make_worker, held, required, ok):
    ja, wa = arrays([make_job(certificates_required=required)], [make_worker(certificates=held)])
    assert bool(jobs_mask_for_worker(wa, 0, ja)[0]) is ok
    assert bool(workers_mask_for_job(ja, 0, wa)[0]) is ok
    assert bool(pair_checks(wa, np.array([0]), ja, np.array([0]))["certificates"][0]) is ok


def test_licence_classes_agree_with_the_demo_world():
    """The demo world's outcome model and the engine must judge licences alike."""
    from data.templates import DRIVING_IMPLIES
    from matcher.rules import DEFAULT_CERTIFICATE_IMPLIES

    assert DEFAULT_CERTIFICATE_IMPLIES == DRIVING_IMPLIES


@pytest.mark.parametrize("n_certs", [63, 70], ids=["bits", "past-63-columns"])
def test_certificate_checks_agree_with_pairs_at_any_vocabulary_size(make_job, make_worker, n_certs):
    certs = [f"cert.{k}" for k in range(n_certs)]
    rng = np.random.default_rng(3)
    jobs = [make_job(certificates_required=[])]
    jobs += [make_job(certificates_required=[certs[0], certs[62]])]
    jobs += [make_job(certificates_required=[certs[-1]]), make_job(certificates_required=certs)]
    jobs += [
        make_job(certificates_required=list(rng.choice(certs, 2, replace=False))) for _ in range(20)
    ]
    workers = [make_worker(certificates=certs)]
    workers += [
        make_worker(certificates=list(rng.choice(certs, int(n), replace=False)))
        for n in rng.integers(0, n_certs, 15)
    ]
    ja, wa = arrays(jobs, workers)
    assert ja.cert_required.shape[1] == n_certs
    assert (ja.cert_bits is None) is (n_certs > 63)
    for i in range(len(workers)):
        expected = pair_mask(wa, np.full(len(jobs), i), ja, np.arange(len(jobs)))
        assert jobs_mask_for_worker(wa, i, ja).tolist() == expected.tolist()
        held = set(workers[i]["certificates"])
        plain = [set(j["certificates_required"]) <= held for j in jobs]
        assert jobs_mask_for_worker(wa, i, ja).tolist() == plain
