"""A worker's main trade, second trades and wishes are kept apart, and the answers show it."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.features import (
    best_hierarchy_similarity,
    clause_years,
    hierarchy_similarity,
    order_trades,
    split_clauses,
)
from matcher.occupations import OccupationCoder
from tests.matcher.conftest import OCCUPATIONS

SEWING, FORKLIFT, CLEANER = "6-05-01-03", "4-02-03-02", "4-10-01-05"


@pytest.mark.parametrize(
    ("clause", "years"),
    [
        ("在老家踩过几年缝纫机", 3.0),
        ("开了2.5年叉车", 2.5),
        ("后来砌了十来年墙", 12.0),
        ("干了十五年", 15.0),
        ("学过半年电焊", 0.5),
        ("做过三四个月", 3.5 / 12),
        ("会开叉车", None),
    ],
)
def test_clause_years_reads_how_long_a_trade_was_held(clause, years):
    got = clause_years(clause)
    assert got == (pytest.approx(years) if years is not None else None)


def test_split_clauses_keeps_trades_and_drops_denials_and_character():
    clauses = split_clauses("在老家踩过几年缝纫机，会开叉车，有叉车证，人踏实能吃苦；没开过货车")
    assert [c for c, _ in clauses] == ["在老家踩过几年缝纫机", "会开叉车", "有叉车证"]


def test_main_trade_is_named_first_unless_another_was_held_longer():
    assert order_trades([(SEWING, 3.0), (FORKLIFT, None), (FORKLIFT, None)]) == [SEWING, FORKLIFT]
    assert order_trades([(FORKLIFT, 0.5), (SEWING, 12.0)]) == [SEWING, FORKLIFT]
    assert order_trades([("", 5.0), (SEWING, None)]) == [SEWING]
    assert order_trades([]) == []


def test_hierarchy_similarity_is_graded():
    sims = hierarchy_similarity(
        ["6-05-01-03", "6-05-01-03", "6-05-01-03", "6-05-01-03", "6-05-01-03", "", "6-31-05-00"],
        ["6-05-01-03", "6-05-01-02", "6-05-02-01", "6-18-02-04", "4-02-03-02", "6-05-01-03"]
        + ["6-31-05-00"],
    )
    # 包装工 6-31-05-00 is a detailed occupation: the same code is the same trade.
    assert sims.tolist() == pytest.approx([1.0, 0.7, 0.4, 0.15, 0.0, 0.0, 1.0])
    best = best_hierarchy_similarity([(), ("4-02-03-02", "6-05-01-02")], ["6-05-01-03"] * 2)
    assert best.tolist() == pytest.approx([0.0, 0.7])


@pytest.fixture
def sewing_forklift_engine(make_engine, make_job, make_worker):
    """The issue's worker: sewing first, forklift second, among 40 forklift and 5 sewing jobs."""
    jobs = [
        make_job(
            job_id=100 + i,
            title="叉车司机",
            occupation_code=FORKLIFT,
            wage_min=6000,
            wage_max=7000 + 10 * i,
            certificates_required=["special_equipment.forklift"],
        )
        for i in range(40)
    ] + [
        make_job(
            job_id=200 + i,
            title="缝纫工",
            occupation_code=SEWING,
            wage_min=5000,
            wage_max=6000 + 10 * i,
        )
        for i in range(5)
    ]
    worker = make_worker(
        worker_id=1,
        skills_text="在老家踩过几年缝纫机，会开叉车，有叉车证",
        desired_jobs=[],
        certificates=["special_equipment.forklift"],
        min_wage=4500,
    )
    coder = OccupationCoder().fit(OCCUPATIONS)
    return make_engine(jobs, [worker], occupation_coder=coder)


def test_sewing_first_forklift_second(sewing_forklift_engine):
    items = sewing_forklift_engine.recommend_jobs(1, k=10)
    ids = [it["job_id"] for it in items]
    assert all(200 <= j < 300 for j in ids[:5]), ids  # every sewing job before any forklift
    assert all(100 <= j < 200 for j in ids[5:])
    assert items[0]["reasons"][0] == "主业缝纫工，与岗位一致"
    assert items[5]["reasons"][0] == "会开叉车（第二技能）"
    assert items.notice is None
    # The better-paid forklift jobs are no longer tied at one score.
    scores = [it["score"] for it in items[5:]]
    assert len(set(scores)) == len(scores)


def test_notice_when_rules_leave_none_of_the_worker_trade(make_engine, make_job, make_worker):
    jobs = [
        make_job(job_id=1, title="缝纫工", occupation_code=SEWING, halal_canteen=False),
        make_job(
            job_id=2, title="保洁员", occupation_code=CLEANER, halal_canteen=True, novice_ok=True
        ),
    ]
    worker = make_worker(worker_id=1, skills_text="缝纫工", needs_halal=True, needs_dormitory=True)
    engine = make_engine(jobs, [worker])
    items = engine.recommend_jobs(1, k=5)
    assert [it["job_id"] for it in items] == [2]
    assert items.notice == "暂无同时提供清真食堂和宿舍的缝纫工岗位，以下为其他可选岗位"
    batch = engine.recommend_jobs_batch([1], k=5)
    assert batch[1].notice == items.notice
    assert items == [dict(it) for it in items]  # still a plain list of dicts to callers

    engine.add_jobs(
        [make_job(job_id=3, title="缝纫工", occupation_code=SEWING, halal_canteen=True)]
    )
    again = engine.recommend_jobs(1, k=5)
    assert again[0]["job_id"] == 3 and again.notice is None


def test_no_job_at_all_still_says_so(make_engine, make_job, make_worker):
    engine = make_engine(
        [make_job(job_id=1, halal_canteen=False)],
        [make_worker(worker_id=1, skills_text="缝纫工", needs_halal=True)],
    )
    assert list(engine.recommend_jobs(1, k=5)) == []
    assert (
        engine.recommend_jobs(1, k=5).notice == "暂无提供清真食堂的缝纫工岗位，以下为其他可选岗位"
    )
    assert engine.recommend_jobs_batch([1], k=5)[1].notice is not None


def test_wage_never_leads_the_reasons_of_a_job_outside_the_trade(
    make_engine, make_job, make_worker
):
    jobs = [
        make_job(job_id=1, title="缝纫工", occupation_code=SEWING, wage_min=4000, wage_max=4600),
        make_job(
            job_id=2,
            title="保洁员",
            occupation_code=CLEANER,
            wage_min=9000,
            wage_max=12000,
            novice_ok=True,
        ),
    ]
    worker = make_worker(worker_id=1, skills_text="缝纫工", desired_jobs=[], min_wage=5000)
    items = make_engine(jobs, [worker]).recommend_jobs(1, k=2)
    assert [it["job_id"] for it in items] == [1, 2]
    assert items[0]["reasons"][:2] == [
        "主业缝纫工，与岗位一致",
        "工资比期望低400元（月薪4000–4600元）",
    ]
    assert items[1]["reasons"][0] == "无经验可，提供培训"
    assert not items[1]["reasons"][0].startswith("月薪")


def test_unknown_education_is_said(make_engine, make_job, make_worker):
    engine = make_engine([make_job(job_id=1)], [make_worker(worker_id=1, education=None)])
    assert "未写明学历，未能核对" in engine.recommend_jobs(1, k=1)[0]["reasons"]


def test_job_description_helps_code_a_vague_title():
    import pandas as pd

    from matcher.features import NameOccupationCoder, code_jobs
    from matcher.occupations import OccupationCoder

    occ = pd.DataFrame(
        {
            "code": ["6-05-01-03", "6-18-01-01", "4-07-05-01"],
            "name": ["缝纫工", "车工", "保安员"],
            "aliases": [["平车工", "车位"], ["车床工"], ["保安", "门卫"]],
        }
    )
    coder = OccupationCoder(classifier=False).fit(occ)
    titles = ["急招 包吃住 月入过万", "急招 包吃住 月入过万", "急招 保安"]
    descriptions = ["工作内容：平车工 车位 缝纫工", "", "工作内容：平车工 车位 缝纫工"]
    assert coder.predict(titles) == ["", "", "4-07-05-01"]
    # A title of pay and perks alone: the description names the work; with no description
    # nothing is coded; a clear title keeps its own code against a description of other work.
    assert code_jobs(coder, titles, descriptions) == ["6-05-01-03", "", "4-07-05-01"]
    # A coder without scores codes the title alone.
    names = NameOccupationCoder().fit(occ)
    assert code_jobs(names, titles, descriptions) == names.predict(titles)


def test_name_coder_picks_each_titles_best_name_or_none():
    """The CSR walk of ``NameOccupationCoder.predict`` gives, title by title, the code of the
    most similar name, or ``""`` for a title sharing no character or too little."""
    import pandas as pd

    from matcher.features import NameOccupationCoder, normalize

    occ = pd.DataFrame(
        {
            "code": ["6-05-01-03", "6-18-01-01", "4-07-05-01"],
            "name": ["缝纫工", "车工", "保安员"],
            "aliases": [["平车工", "车位"], ["车床工"], ["保安", "门卫"]],
        }
    )
    coder = NameOccupationCoder().fit(occ)
    titles = ["缝纫工", "招聘门卫", "zzz", "车床工", "保安", "", "急招 平车工 包吃住", "工"]
    got = coder.predict(titles)
    assert got[:6] == ["6-05-01-03", "4-07-05-01", "", "6-18-01-01", "4-07-05-01", ""]
    # Each answer is the argmax over the names, one title at a time.
    q = coder.vectorizer_.transform([normalize(t) for t in titles])
    sims = (q @ coder.matrix_.T).toarray()
    for title, code, row in zip(titles, got, sims, strict=True):
        best = int(row.argmax())
        expected = str(coder.codes_[best]) if row[best] >= coder.min_similarity else ""
        assert code == expected, title
    assert len(set(got)) > 2


WELDER = "6-18-02-04"


class _TwoReadings:
    """A coder with a classifier's scale that reads ``车工`` two ways: a welder's job first
    (2.0), a sewing one close behind (1.6); ``电焊`` and ``保洁`` one way each."""

    codes_ = [SEWING, WELDER, CLEANER]
    coef_ = np.zeros((3, 1))

    def similarities(self, texts):
        def row(t):
            if "车工" in t:
                return [1.6, 2.0, 0.0]
            return [3.0 * ("缝纫" in t), 3.0 * ("电焊" in t), 3.0 * ("保洁" in t)]

        return np.array([row(t) for t in texts], dtype=np.float32)

    def predict(self, texts):
        scores = self.similarities(texts)
        return [self.codes_[int(s.argmax())] if s.max() > 0 else "" for s in scores]


def test_a_title_read_two_ways_keeps_its_second_reading():
    from matcher.features import job_readings
    from training.coder import default_coder

    codes, alts = job_readings(_TwoReadings(), ["车工", "电焊工", "急招"], ["", "", ""])
    assert codes == [WELDER, WELDER, ""] and alts == [SEWING, "", ""]
    assert job_readings(_TwoReadings(), ["车工"], [""], gap=0.3) == ([WELDER], [""])
    # The shipped coder: 打包员 packs goods (包装工) as much as it sorts them (理货员); a welder's
    # and a forklift driver's titles say one trade.
    codes, alts = job_readings(default_coder(), ["打包员", "焊工", "叉车司机"], [""] * 3)
    assert (codes[0], alts[0]) == ("4-02-06-02", "6-31-05-00")
    assert alts[1:] == ["", ""]
    # Without a classifier the similarities are not on the gap's scale: one reading only.
    names = OccupationCoder(classifier=False).fit(OCCUPATIONS)
    assert job_readings(names, ["车工 焊工"], [""])[1] == [""]


def test_a_jobs_second_reading_fits_as_a_near_trade(make_engine, make_job, make_worker):
    jobs = [
        make_job(job_id=1, title="车工", wage_min=6000, wage_max=7000),
        make_job(job_id=2, title="缝纫工", wage_min=5000, wage_max=6000),
        make_job(job_id=3, title="保洁员", wage_min=9000, wage_max=9500, novice_ok=True),
    ]
    for job in jobs:
        job.update(occupation_code=None, description="")  # coded from the title
    workers = [
        make_worker(worker_id=1, skills_text="踩过几年缝纫机", desired_jobs=[], min_wage=4500),
        make_worker(worker_id=2, skills_text="干过电焊", desired_jobs=[], min_wage=4500),
    ]
    engine = make_engine(jobs, workers, occupation_coder=_TwoReadings())
    sewing = engine.recommend_jobs(1, k=3)
    # The sewing job, then the job that may be sewing, then the novice job that pays most.
    assert [it["job_id"] for it in sewing] == [2, 1, 3]
    assert sewing[1]["reasons"][0] == "主业缝纫工，岗位名称也可指此工种"
    assert sewing.notice is None
    welder = engine.recommend_jobs(2, k=1)
    assert welder[0]["job_id"] == 1 and welder[0]["reasons"][0] == "主业电焊工，与岗位一致"
    # Ranked the other way, the sewing worker is a candidate for the job read both ways.
    assert [it["worker_id"] for it in engine.recommend_workers(1, k=2)] == [2, 1]


def test_a_job_plainly_of_the_trade_goes_before_one_that_may_be(make_engine, make_job, make_worker):
    """A title read two ways is less sure of its first reading (FIRST_READING_WEIGHT): the
    welder gets the plain welding job first though the other pays more, and both read as
    his trade."""
    jobs = [
        make_job(job_id=1, title="电焊车工", wage_min=7000, wage_max=8000),
        make_job(job_id=2, title="电焊工", wage_min=4600, wage_max=5000),
    ]
    for job in jobs:
        job.update(occupation_code=None, description="")
    worker = make_worker(worker_id=1, skills_text="干过电焊", desired_jobs=[], min_wage=4500)
    engine = make_engine(jobs, [worker], occupation_coder=_TwoReadings())
    got = engine.recommend_jobs(1, k=2)
    assert [it["job_id"] for it in got] == [2, 1]
    assert [it["reasons"][0] for it in got] == ["主业电焊工，与岗位一致"] * 2
