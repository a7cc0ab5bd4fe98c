"""Reasons through HTTP, for workers written by hand: the features that moved the pair's
score come first (the worker's main trade, a second trade, a wage under the floor). The engine
has the trained occupation coder that ``jobbridge train`` models carry (the base model's name
coder reads "会开叉车" as 起重装卸机械操作工, not as the job's 叉车司机, so it gives no
second-trade reason there). The notice for a worker whose trade the hard rules leave out is
tested in test_app_matches.py."""

from __future__ import annotations

import functools

from tests.api.conftest import dispose, make_app, seed_world, worker_payload

API = "/api/v1"


@functools.cache
def _learned():
    from data.reference import load_occupations
    from matcher.engine import MatchingEngine
    from training.base import reference_corpus
    from training.coder import default_coder
    from training.pipeline import build_geography

    return MatchingEngine(
        candidate_pool=50,
        occupations=load_occupations(4)[["code", "name"]],
        occupation_coder=default_coder(),
        geography=build_geography(),
    ).learn(reference_corpus())


def _engine():
    import copy

    return copy.deepcopy(_learned()), "test-reasons"


def test_reasons_follow_the_score_for_hand_written_workers(database_url, id_key, tmp_path):
    from api.storage import init_db

    init_db(database_url).dispose()
    app = make_app(database_url, id_key, tmp_path, ENGINE_FACTORY=_engine)
    try:
        world = seed_world(app)
        client = app.test_client()
        h = world.headers("admin")

        def matches(n, **body):
            w = client.post(f"{API}/workers", json=worker_payload(n, **body), headers=h)
            assert w.status_code == 201, w.get_json()
            got = client.get(f"{API}/workers/{w.get_json()['id']}/matches?limit=8", headers=h)
            return got.get_json()

        sewer = matches(
            71,
            skills_text="在服装厂做了五年缝纫工，会开叉车",
            desired_jobs=["缝纫工"],
            certificates=["叉车证"],
            preferred_cities=[],
            min_wage=3000,
        )
        first = {}
        for it in sewer["items"]:
            first.setdefault(it["title"], it["reasons"])
        assert first["缝纫工 计件"][0] == "主业缝纫工，与岗位一致"
        assert first["叉车司机 持证"][0] == "会开叉车（第二技能）"
        # Main trade above second trade above a job of neither, as the scores go.
        titles = [it["title"] for it in sewer["items"]]
        assert (
            titles.index("缝纫工 计件") < titles.index("叉车司机 持证") < titles.index("后厨帮工")
        )
        assert sewer["notice"] is None

        # A floor above every wage: the shortfall is said, right after the trade.
        dear = matches(72, skills_text="做过缝纫工", desired_jobs=[], min_wage=7000)
        sewing = next(it for it in dear["items"] if it["title"] == "缝纫工 计件")
        assert sewing["reasons"][:2] == [
            "主业缝纫工，与岗位一致",
            "工资比期望低500元（月薪4000–6500元）",
        ]
        # Registration refuses a missing education, so "未写明学历，未能核对" (matcher/reasons.py)
        # comes only from records read without the form's checks.
        bad = client.post(f"{API}/workers", json=worker_payload(73, education=None), headers=h)
        assert bad.status_code == 422 and "education" in bad.get_json()["detail"]
    finally:
        dispose(app)
