from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from matcher.engine import MatchingEngine
from matcher.features import FEATURE_NAMES
from matcher.rules import pair_mask


def assert_no_violation(engine: MatchingEngine, worker_id: int, job_ids: list[int]) -> None:
    widx, jidx = engine.workers_index_, engine.jobs_index_
    w = np.full(len(job_ids), widx.row_of(worker_id))
    j = np.array([jidx.row_of(i) for i in job_ids], dtype=np.int64)
    assert pair_mask(widx.prepared.rules, w, jidx.prepared.rules, j).all()


# --- estimator shape -------------------------------------------------------------------


def test_init_only_stores_params_and_clone_works(encoder):
    engine = MatchingEngine(encoder=encoder, lexical_weight=0.5, candidate_pool=30)
    assert engine.get_params()["lexical_weight"] == 0.5
    twin = clone(engine)
    assert twin.candidate_pool == 30 and not hasattr(twin, "jobs_index_")


@pytest.mark.parametrize(
    ("param", "value", "message"),
    [
        ("lexical_weight", 1.5, r"lexical_weight 1\.5"),
        ("candidate_pool", 0, "candidate_pool 0"),
        ("retrieval_pool", 0, "retrieval_pool 0"),
    ],
)
def test_bad_params_fail_at_fit_naming_the_value(
    make_engine, make_job, make_worker, param, value, message
):
    with pytest.raises(ValueError, match=message):
        make_engine([make_job()], [make_worker()], **{param: value})


def test_methods_need_fit(encoder):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        MatchingEngine(encoder=encoder).recommend_jobs(1)


def test_fit_indexes_only_open_jobs_with_headcount(make_engine, make_job, make_worker):
    jobs = [
        make_job(job_id=1),
        make_job(job_id=2, status="closed"),
        make_job(job_id=3, headcount=2, hired_count=2),
    ]
    engine = make_engine(jobs, [make_worker()])
    assert engine.jobs_index_.active_ids().tolist() == [1]
    assert engine.jobs_index_.embeddings.dtype == np.float32


# --- recommendations -------------------------------------------------------------------


def test_recommend_jobs_prefers_the_worker_trade_and_never_breaks_rules(fitted_engine, world):
    jobs, workers = world
    for wid in workers["worker_id"].iloc[:40]:
        items = fitted_engine.recommend_jobs(int(wid), k=10)
        assert len(items) <= 10
        ids = [it["job_id"] for it in items]
        assert len(set(ids)) == len(ids)
        assert_no_violation(fitted_engine, int(wid), ids)
        scores = [it["score"] for it in items]
        assert scores == sorted(scores, reverse=True)
    # A seamstress with a clear skill text gets every sewing job she may take on top.
    rec = {
        **workers.iloc[0].to_dict(),
        "skills_text": "做过三年缝纫，会用平车",
        "desired_jobs": ["缝纫工"],
        "needs_dormitory": False,
        "needs_halal": False,
        "certificates": [],
    }
    items = fitted_engine.recommend_jobs(rec, k=10)
    sewing = {"6-05-01-03"}
    codes = [it["occupation_code"] for it in items]
    n_sewing = sum(c in sewing for c in codes)
    assert n_sewing >= 3
    assert all(c in sewing for c in codes[:n_sewing]), codes


def test_recommend_workers_respects_rules_and_order(fitted_engine, world):
    jobs, _ = world
    open_ids = fitted_engine.jobs_index_.active_ids()[:15]
    for jid in open_ids:
        items = fitted_engine.recommend_workers(int(jid), k=50)
        for it in items:
            assert_no_violation(fitted_engine, it["worker_id"], [int(jid)])
        scores = [it["score"] for it in items]
        assert scores == sorted(scores, reverse=True)
        assert all(2 <= len([r for r in it["reasons"]]) for it in items)


def test_items_carry_reasons_in_chinese(fitted_engine, world):
    _, workers = world
    items = fitted_engine.recommend_jobs(int(workers["worker_id"].iloc[3]), k=5)
    assert items
    for it in items:
        assert {"job_id", "score", "p_success", "reasons", "title"} <= set(it)
        assert 2 <= len(it["reasons"]) <= 8
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in r) for r in it["reasons"])


def test_reasons_name_trade_wage_pairing_and_dormitory(make_engine, make_job, make_worker):
    engine = make_engine(
        [
            make_job(
                job_id=1, city="无锡市", wage_min=4500, wage_max=6500, dormitory=True, meals=False
            )
        ],
        [
            make_worker(
                worker_id=1,
                county_code="610621",
                min_wage=4000,
                skills_text="缝纫工",
                desired_jobs=[],
            )
        ],
    )
    reasons = engine.recommend_jobs(1, k=1)[0]["reasons"]
    assert reasons[:4] == [
        "主业缝纫工，与岗位一致",
        "结对城市：无锡",
        "月薪4500–6500元，高于期望4000元",
        "提供宿舍",
    ]


@pytest.mark.parametrize(
    ("worker_over", "job_over", "note"),
    [
        ({"skills_text": ""}, {}, "技能描述为空，按学历、证书和意向匹配"),
        ({"skills_text": "？？？ ……"}, {}, "技能描述为空，按学历、证书和意向匹配"),
        ({"certificates_unrecognised": ["挖掘机证XX"]}, {}, "证书'挖掘机证XX'无法识别"),
        ({"desired_jobs": [], "preferred_cities": []}, {}, "未填写求职意向，按技能和岗位条件匹配"),
        ({}, {"description": ""}, "岗位无描述，按岗位名称和条件匹配"),
        ({"education": "扫盲班"}, {}, "学历'扫盲班'无法识别，只匹配无学历要求的岗位"),
    ],
)
def test_bad_input_still_answers_and_says_what_was_unused(
    make_engine, make_job, make_worker, worker_over, job_over, note
):
    engine = make_engine(
        [make_job(job_id=1, **job_over)], [make_worker(worker_id=1, **worker_over)]
    )
    items = engine.recommend_jobs(1, k=3)
    assert [it["job_id"] for it in items] == [1]
    assert note in items[0]["reasons"]
    assert engine.recommend_workers(1, k=3)[0]["worker_id"] == 1


def test_worker_without_any_text_falls_back_to_structured_fields(
    make_engine, make_job, make_worker
):
    jobs = [
        make_job(job_id=1, wage_min=3000, wage_max=3200),
        make_job(job_id=2, title="电焊工", wage_min=6000, wage_max=7000),
    ]
    engine = make_engine(jobs, [make_worker(worker_id=1, skills_text="", desired_jobs=[])])
    items = engine.recommend_jobs(1, k=2)
    assert sorted(it["job_id"] for it in items) == [1, 2]


def test_protected_attributes_never_change_the_list(fitted_engine, world):
    _, workers = world
    for _, row in workers.iloc[:15].iterrows():
        rec = row.to_dict()
        twin = {
            **rec,
            "name": "李四",
            "gender": "男" if rec["gender"] == "女" else "女",
            "ethnicity": "回族" if rec["ethnicity"] != "回族" else "汉族",
        }
        a = fitted_engine.recommend_jobs(rec, k=10)
        b = fitted_engine.recommend_jobs(twin, k=10)
        assert [(x["job_id"], x["score"], x["reasons"]) for x in a] == [
            (x["job_id"], x["score"], x["reasons"]) for x in b
        ]
    # the indexed twin is ranked identically for a job too
    twin_row = {
        **workers.iloc[0].to_dict(),
        "worker_id": 999_999,
        "name": "王五",
        "gender": "男",
        "ethnicity": "撒拉族",
    }
    fitted_engine.add_workers([twin_row])
    jid = int(fitted_engine.jobs_index_.active_ids()[0])
    ranked = fitted_engine.recommend_workers(jid, k=700)
    scores = {it["worker_id"]: it["score"] for it in ranked}
    if int(workers.iloc[0]["worker_id"]) in scores:
        assert scores[999_999] == pytest.approx(scores[int(workers.iloc[0]["worker_id"])])


def test_features_have_no_protected_column(fitted_engine, world):
    assert not {"name", "gender", "ethnicity"} & set(FEATURE_NAMES)
    prepared = fitted_engine.workers_index_.prepared.frame
    assert not {"name", "gender", "ethnicity"} & set(prepared.columns)


def test_unknown_worker_and_bad_k_are_refused(fitted_engine):
    with pytest.raises(KeyError, match="worker_id 424242"):
        fitted_engine.recommend_jobs(424242)
    with pytest.raises(ValueError, match="k must be a positive integer, got 0"):
        fitted_engine.recommend_jobs(1, k=0)
    with pytest.raises(ValueError, match="worker must be a worker_id"):
        fitted_engine.recommend_jobs("张三")


# --- incremental changes -----------------------------------------------------------------


def test_new_changed_filled_and_closed_jobs_show_at_once(make_engine, make_job, make_worker):
    engine = make_engine(
        [make_job(job_id=1, title="保洁员", occupation_code="")], [make_worker(worker_id=1)]
    )
    assert [it["job_id"] for it in engine.recommend_jobs(1)] == [1]
    engine.add_jobs([make_job(job_id=2, title="缝纫工")])
    assert [it["job_id"] for it in engine.recommend_jobs(1)][0] == 2
    with pytest.raises(ValueError, match="job_id 2 is already indexed"):
        engine.add_jobs([make_job(job_id=2)])
    engine.update_jobs([make_job(job_id=2, hired_count=5, headcount=5)])  # filled
    assert [it["job_id"] for it in engine.recommend_jobs(1)] == [1]
    engine.update_jobs([make_job(job_id=2, headcount=8, hired_count=5)])  # reopened
    assert 2 in [it["job_id"] for it in engine.recommend_jobs(1)]
    engine.update_jobs([make_job(job_id=2, dormitory=False)])
    engine.update_workers([make_worker(worker_id=1, needs_dormitory=True)])
    assert [it["job_id"] for it in engine.recommend_jobs(1)] == [1]
    engine.remove_jobs([1])
    assert engine.recommend_jobs(1) == []
    with pytest.raises(KeyError, match=r"\[77\] not indexed"):
        engine.remove_jobs([77])


def test_new_workers_show_at_once_and_removed_ones_vanish(make_engine, make_job, make_worker):
    engine = make_engine([make_job(job_id=1)], [make_worker(worker_id=1, skills_text="保洁")])
    engine.add_workers([make_worker(worker_id=2, skills_text="缝纫工三年")])
    items = engine.recommend_workers(1, k=5)
    assert [it["worker_id"] for it in items][0] == 2
    engine.remove_workers([2])
    assert [it["worker_id"] for it in engine.recommend_workers(1, k=5)] == [1]


def test_many_removals_compact_and_keep_results(make_engine, make_job, make_worker):
    jobs = [make_job(job_id=i, title="缝纫工" if i % 2 else "保洁员") for i in range(1, 2601)]
    engine = make_engine(jobs, [make_worker(worker_id=1)], candidate_pool=20)
    engine.remove_jobs(list(range(1, 2001)))
    assert engine.jobs_index_.n_rows == 600  # tombstones compacted
    ids = [it["job_id"] for it in engine.recommend_jobs(1, k=10)]
    assert ids and all(i > 2000 for i in ids)


# --- batch and candidates ----------------------------------------------------------------


def test_batch_equals_single_calls(fitted_engine, world):
    _, workers = world
    ids = [int(i) for i in workers["worker_id"].iloc[:30]]
    batch = fitted_engine.recommend_jobs_batch(ids, k=10, chunk=7)
    for wid in ids:
        single = fitted_engine.recommend_jobs(wid, k=10)
        assert [it["job_id"] for it in batch[wid]] == [it["job_id"] for it in single]
        np.testing.assert_allclose(
            [it["score"] for it in batch[wid]], [it["score"] for it in single], rtol=1e-5
        )


def test_candidates_long_table(fitted_engine, world):
    _, workers = world
    ids = [int(i) for i in workers["worker_id"].iloc[:20]]
    cand = fitted_engine.candidates(ids, k=5)
    assert list(cand.columns) == [
        "worker_id",
        "job_id",
        "rank",
        "score",
        "p_success",
        "retrieval_score",
    ]
    assert set(cand["worker_id"]) <= set(ids)
    assert cand.groupby("worker_id").size().max() <= 5
    assert not cand.duplicated(["worker_id", "job_id"]).any()
    for wid, grp in cand.groupby("worker_id"):
        assert grp["rank"].tolist() == list(range(1, len(grp) + 1))
        assert_no_violation(fitted_engine, int(wid), grp["job_id"].tolist())


def test_pair_features_for_historical_pairs(fitted_engine, world):
    jobs, workers = world
    closed = jobs[jobs["status"] != "open"].iloc[:3]
    pairs = pd.DataFrame(
        {
            "worker_id": workers["worker_id"].iloc[:3].to_numpy(),
            "job_id": closed["job_id"].to_numpy(),
        }
    )
    feats = fitted_engine.pair_features(pairs, jobs=jobs, workers=workers)
    assert list(feats.columns[:2]) == ["worker_id", "job_id"]
    assert not feats["rules_ok"].any()  # closed jobs break the "open" rule
    assert feats[list(FEATURE_NAMES)].shape == (3, len(FEATURE_NAMES))
    with pytest.raises(KeyError, match="unknown workers"):
        fitted_engine.pair_features(
            pd.DataFrame({"worker_id": [-5], "job_id": [int(jobs["job_id"].iloc[0])]})
        )


# --- invariants under random worlds ------------------------------------------------------


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 30), weight=st.sampled_from([0.0, 0.35, 1.0]))
def test_no_result_ever_breaks_a_rule_and_scores_never_increase(
    make_engine, world_factory, seed, k, weight
):
    jobs, workers = world_factory(n_workers=25, n_jobs=60, seed=seed)
    engine = make_engine(jobs, workers, lexical_weight=weight, candidate_pool=15)
    for wid in workers["worker_id"].iloc[:8]:
        items = engine.recommend_jobs(int(wid), k=k)
        assert_no_violation(engine, int(wid), [it["job_id"] for it in items])
        scores = [it["score"] for it in items]
        assert all(a >= b for a, b in zip(scores, scores[1:], strict=False))
    for jid in engine.jobs_index_.active_ids()[:5]:
        items = engine.recommend_workers(int(jid), k=k)
        for it in items:
            assert_no_violation(engine, it["worker_id"], [int(jid)])


# --- approximate index ---------------------------------------------------------------------


def test_coarse_shortlist_keeps_rules_and_finds_what_exact_search_finds(make_engine, world_factory):
    jobs, workers = world_factory(n_workers=40, n_jobs=1200, seed=3)
    exact = make_engine(jobs, workers, ann_min_rows=None, candidate_pool=30)
    approx = make_engine(
        jobs, workers, ann_min_rows=500, ann_dim=16, ann_shortlist=300, candidate_pool=30
    )
    assert approx.jobs_index_.coarse is not None and exact.jobs_index_.coarse is None
    assert approx.jobs_index_.coarse.shape == (approx.jobs_index_.n_rows, 16)
    hits = total = 0
    for wid in workers["worker_id"].iloc[:30]:
        a = [it["job_id"] for it in approx.recommend_jobs(int(wid), k=10)]
        e = [it["job_id"] for it in exact.recommend_jobs(int(wid), k=10)]
        assert_no_violation(approx, int(wid), a)
        hits, total = hits + len(set(a) & set(e)), total + len(e)
    assert hits / total > 0.9
    # a shortlist as long as the index is exact search
    full = make_engine(
        jobs, workers, ann_min_rows=500, ann_dim=16, ann_shortlist=5000, candidate_pool=30
    )
    wid = int(workers["worker_id"].iloc[0])
    assert [it["job_id"] for it in full.recommend_jobs(wid)] == [
        it["job_id"] for it in exact.recommend_jobs(wid)
    ]
    # rows added after the build get their coarse rows at once and show in results
    approx.add_jobs(
        jobs.iloc[:1].assign(
            job_id=99_999,
            status="open",
            hired_count=0,
            title="特招缝纫工",
            age_min=16,
            age_max=70,
            education_min=None,
            certificates_required=[[]],
            dormitory=True,
            halal_canteen=True,
        )
    )
    assert approx.jobs_index_.coarse.shape[0] == approx.jobs_index_.n_rows
    assert 99_999 in {it["job_id"] for it in approx.recommend_jobs(wid, k=1000)}
    # removals compact the coarse copy along with the rows
    gone = [int(i) for i in approx.jobs_index_.active_ids()[:1100]]
    approx.remove_jobs(gone)
    assert approx.jobs_index_.coarse.shape[0] == approx.jobs_index_.n_rows < 1200
    assert not set(gone) & {it["job_id"] for it in approx.recommend_jobs(wid, k=1000)}


def test_coarse_shortlist_rejects_bad_parameters(make_engine, world_factory):
    jobs, workers = world_factory(n_workers=5, n_jobs=20, seed=1)
    for bad in (dict(ann_dim=0), dict(ann_shortlist=-1), dict(ann_dim=2.5)):
        with pytest.raises(ValueError, match="positive integer"):
            make_engine(jobs, workers, **bad)


def test_ties_are_broken_by_row_whatever_the_partition():
    from matcher.index import top_k_rows

    score = np.array([0.5, 0.9, 0.5, 0.5, 0.1, 0.5, 0.9], dtype=np.float32)
    assert top_k_rows(score, 3).tolist() == [1, 6, 0]
    assert top_k_rows(score, 4).tolist() == [1, 6, 0, 2]
    assert top_k_rows(score, 20).tolist() == [1, 6, 0, 2, 3, 5, 4]
    # positions named by other row numbers: the lower row wins the tie
    rows = np.array([70, 10, 60, 50, 40, 30, 20])
    assert top_k_rows(score, 3, rows=rows).tolist() == [1, 6, 5]
    rng = np.random.default_rng(0)
    big = rng.integers(0, 5, size=10_000).astype(np.float32)
    expected = np.lexsort((np.arange(10_000), -big))[:77]
    assert top_k_rows(big, 77).tolist() == expected.tolist()


def test_rows_appended_one_by_one_rank_as_if_fitted_together(
    make_engine, world_factory, monkeypatch
):
    """Appends go into column buffers with spare room, and lexical rows past the CSC copy are
    scored from their CSR rows until the copy is rebuilt every few rows here: results equal
    those of an index built with every row at once."""
    from matcher.index import ItemIndex

    monkeypatch.setattr(ItemIndex, "TAIL_ROWS", 7)
    jobs, workers = world_factory(n_workers=30, n_jobs=300, seed=5)
    jobs = jobs.assign(status="open", hired_count=0)
    whole = make_engine(jobs, workers, candidate_pool=40)
    grown = make_engine(jobs.iloc[:200], workers, candidate_pool=40)
    idx = grown.jobs_index_
    buffers, title_buffers = set(), set()
    for i in range(200, 300):
        grown.add_jobs(jobs.iloc[[i]])
        buffers.add(id(idx._emb.buf))
        title_buffers.add(id(idx._cols["wage_min"].buf))
        assert idx.embeddings.shape == (i + 1, whole.jobs_index_.embeddings.shape[1])
        _, covered = idx._csc_parts()
        assert idx.n_rows - covered <= 7
    # the buffers grew a few times, not on every append
    assert len(buffers) < 10 and len(title_buffers) < 10
    np.testing.assert_allclose(idx.embeddings, whole.jobs_index_.embeddings, rtol=1e-6)
    pd.testing.assert_frame_equal(idx.prepared.frame, whole.jobs_index_.prepared.frame)

    def lists():
        return [
            [(it["job_id"], round(it["score"], 6)) for it in grown.recommend_jobs(int(w), k=10)]
            for w in workers["worker_id"].iloc[:15]
        ]

    # Rows 200.. were appended one by one (the grown engine has its own vocabulary): a CSC
    # copy built over every row at once ranks the same.
    before = lists()
    assert idx.n_rows - idx._csc_parts()[1] > 0  # some rows are scored from their CSR rows
    tail_vector = idx.lexical_row(idx.n_rows - 1)
    idx.lexical = idx.lexical.copy()
    assert idx._csc_parts()[1] == idx.n_rows
    assert (idx.lexical_row(idx.n_rows - 1) != tail_vector).nnz == 0
    assert lists() == before


def test_pickled_index_drops_spare_room_and_caches(make_engine, world_factory):
    import pickle

    jobs, workers = world_factory(n_workers=10, n_jobs=100, seed=6)
    jobs = jobs.assign(status="open", hired_count=0)
    engine = make_engine(jobs.iloc[:60], workers)
    for i in range(60, 100):
        engine.add_jobs(jobs.iloc[[i]])
    idx = engine.jobs_index_
    idx.lexical_scores(idx.lexical_row(0))  # builds the CSC cache
    assert idx._emb.buf.shape[0] > idx.n_rows
    copy = pickle.loads(pickle.dumps(idx))
    assert copy._emb.buf.shape[0] == copy.n_rows == 100 and copy._csc_main is None
    q = idx.lexical_row(3)
    np.testing.assert_allclose(copy.lexical_scores(q), idx.lexical_scores(q), rtol=1e-6)


@pytest.mark.parametrize("seed", range(6))
def test_top_k_of_a_long_array_equals_a_full_sort(seed):
    """The sampled threshold keeps every score that can be among the k best, ties included,
    also when the scores are sorted (the worst case for a strided sample) or mostly -inf."""
    from matcher.index import top_k_rows

    rng = np.random.default_rng(seed)
    n = 50_000
    score = rng.normal(size=n).astype(np.float32)
    if seed % 3 == 1:
        score = np.round(score, 1)  # many ties at the cut
    if seed % 3 == 2:
        score[rng.random(n) < 0.97] = -np.inf  # a strict hard-rule mask
    if seed >= 3:
        score = np.sort(score)[::-1].copy()
    for k in (1, 100, 1000):
        expected = np.lexsort((np.arange(n), -score))[:k]
        assert top_k_rows(score, k).tolist() == expected.tolist()
        rows = rng.permutation(n)
        expected = np.lexsort((rows, -score))[:k]
        assert top_k_rows(score, k, rows=rows).tolist() == expected.tolist()


def test_spread_moves_crowded_workers_to_jobs_with_room(make_engine, make_job, make_worker):
    """Twenty sewing workers, one sewing job with 2 places and three with 10: without the
    re-ranking every worker gets the best-paid job first; with it the small job is on about
    as many lists as its places take (three per place), whichever workers come first, and
    nobody loses a job of the trade."""
    jobs = [make_job(job_id=1, wage_min=6000, wage_max=8000, headcount=2)] + [
        make_job(job_id=10 + i, wage_min=5000, wage_max=6000, headcount=10) for i in range(3)
    ]
    workers = [make_worker(worker_id=100 + i) for i in range(20)]
    engine = make_engine(jobs, workers)
    ids = [100 + i for i in range(20)]
    plain = engine.recommend_jobs_batch(ids, k=2, with_reasons=False)
    assert plain == engine.recommend_jobs_batch(ids, k=2, with_reasons=False, spread=0.0)
    assert all(plain[w][0]["job_id"] == 1 for w in ids)
    spread = engine.recommend_jobs_batch(ids, k=2, with_reasons=False, spread=0.5)
    firsts = [spread[w][0]["job_id"] for w in ids]
    on_lists = sum(it["job_id"] == 1 for w in ids for it in spread[w])
    assert 1 in firsts and 3 <= on_lists <= 10  # about six for its 2 places, not all 20
    assert {1, 10} <= set(firsts) <= {1, 10, 11, 12}  # jobs 10-12 have room for all 20
    for w in ids:  # still the worker's trade, scores still falling down each list
        assert all(it["occupation_code"] == "6-05-01-03" for it in spread[w])
        assert spread[w][0]["score"] >= spread[w][1]["score"]
    with pytest.raises(ValueError, match="spread"):
        engine.recommend_jobs_batch(ids, spread=-1)


# --- first stage -----------------------------------------------------------------------


def test_prior_grade_lies_within_its_gap_under_the_prior(fitted_engine, world):
    from matcher.features import GRADE_GAP, prior_grade

    _, workers = world
    widx, jidx = fitted_engine.workers_index_, fitted_engine.jobs_index_
    job_ids = jidx.active_ids()
    j_rows = np.array([jidx.row_of(int(j)) for j in job_ids], dtype=np.int64)
    for wid in workers["worker_id"].iloc[:30]:
        row = widx.row_of(int(wid))
        feats = fitted_engine.pair_features(
            pd.DataFrame({"worker_id": int(wid), "job_id": job_ids})
        )
        grade = prior_grade(
            widx.prepared, row, jidx.prepared, j_rows, feats["retrieval_score"].to_numpy()
        )
        gap = feats["prior_score"].to_numpy() - grade
        assert (gap >= -1e-6).all() and (gap <= GRADE_GAP + 1e-6).all()


def test_first_stage_finds_the_workers_trade_beyond_the_text_pool(
    make_engine, make_job, make_worker
):
    # Thirty jobs repeat the worker's words but are another trade; the one job of her trade
    # is worded otherwise, so text retrieval ranks it last.
    decoys = [
        make_job(
            job_id=j,
            title="缝纫机装配钳工 会用缝纫机做衣服",
            description="缝纫机厂招装配钳工",
            occupation_code="6-28-01-02",
        )
        for j in range(1, 31)
    ]
    own = make_job(job_id=99, title="服装车位", description="", occupation_code="6-05-01-03")
    worker = make_worker(skills_text="会用缝纫机做衣服", desired_jobs=[])
    narrow = make_engine([*decoys, own], [worker], candidate_pool=5, retrieval_pool=5)
    wide = make_engine([*decoys, own], [worker], candidate_pool=5, retrieval_pool=40)
    rows, *_ = narrow.jobs_index_.search(
        narrow.workers_index_.embeddings[0],
        narrow.workers_index_.lexical_row(0),
        np.ones(31, dtype=bool),
        31,
        narrow.lexical_weight,
    )
    assert narrow.jobs_index_.ids[rows].tolist().index(99) >= 5
    assert 99 not in [it["job_id"] for it in narrow.recommend_jobs(1, k=3)]
    assert wide.recommend_jobs(1, k=3)[0]["job_id"] == 99
    assert wide.recommend_jobs_batch([1], k=3)[1] == wide.recommend_jobs(1, k=3)


def test_an_engine_pickled_before_the_first_stage_and_firm_history_loads(fitted_engine, world):
    import pickle

    _, workers = world
    wid = int(workers["worker_id"].iloc[0])
    expected = fitted_engine.recommend_jobs(wid, k=5)
    del fitted_engine.__dict__["firm_history"], fitted_engine.__dict__["retrieval_pool"]
    old = pickle.loads(pickle.dumps(fitted_engine))
    assert old.firm_history is None and old.retrieval_pool == 300
    assert old.get_params()["retrieval_pool"] == 300
    assert old.recommend_jobs(wid, k=5) == expected


@pytest.mark.parametrize("shape", ["one row on the left", "one row on the right", "many"])
def test_rowwise_sparse_dot_equals_the_pairs_dot_products(shape):
    import scipy.sparse as sp

    from matcher.features import rowwise_sparse_dot

    rng = np.random.default_rng(7)
    a = sp.random(6, 300, density=0.1, format="csr", dtype=np.float32, random_state=1)
    b = sp.random(40, 300, density=0.1, format="csr", dtype=np.float32, random_state=2)
    n = 25
    ai = np.full(n, 4) if shape == "one row on the left" else rng.integers(0, 6, n)
    bi = np.full(n, 9) if shape == "one row on the right" else rng.integers(0, 40, n)
    expected = np.array(
        [a[i].toarray().ravel() @ b[j].toarray().ravel() for i, j in zip(ai, bi, strict=True)]
    )
    got = rowwise_sparse_dot(a, ai, b, bi)
    assert got.dtype == np.float32 and got.shape == (n,)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_main_trade_clauses_are_memoised_without_changing_answers(fitted_engine, world):
    import pickle

    _, workers = world
    ids = [int(i) for i in workers["worker_id"].iloc[:40]]
    fitted_engine.__dict__.pop("_clause_cache", None)
    first = [fitted_engine.recommend_jobs(w, k=10) for w in ids]
    cache = fitted_engine.__dict__["_clause_cache"]
    misses = cache.cache_info().misses
    assert misses > 0
    again = [fitted_engine.recommend_jobs(w, k=10) for w in ids]
    assert again == first
    assert cache.cache_info().misses == misses  # the second round encoded nothing
    emb, lex = fitted_engine._clause_vectors("做过三年缝纫")
    assert not emb.flags.writeable and not lex.data.flags.writeable
    copy = pickle.loads(pickle.dumps(fitted_engine))
    assert "_clause_cache" not in copy.__dict__
    assert [copy.recommend_jobs(w, k=10) for w in ids] == first
