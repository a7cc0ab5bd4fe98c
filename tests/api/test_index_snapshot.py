"""The service on index snapshots: a process maps the latest snapshot of its model version and
replays the change feed from the snapshot's position; ``jobbridge index build`` publishes a new
one that running processes switch to; an overlay past its limit queues a rebuild. On SQLite and
PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

import json
import mmap

import numpy as np

from tests.api.conftest import job_payload, small_engine, worker_payload

API = "/api/v1"


def mapped_from_file(array) -> bool:
    while array is not None:
        if isinstance(array, np.memmap | mmap.mmap):
            return True
        array = getattr(array, "base", None)
    return False


def matching(app):
    with app.app_context():
        from api.service import get_matching

        return get_matching()


def job_ids(client, worker, h):
    r = client.get(f"{API}/workers/{worker}/matches?limit=50", headers=h)
    assert r.status_code == 200, r.get_json()
    return [i["job_id"] for i in r.get_json()["items"]]


def test_a_process_starts_from_the_snapshot_and_sees_later_writes(host, world):
    h = world.headers("admin")
    first = host()
    c1 = first.test_client()
    before = job_ids(c1, world.workers[0], h)
    m1 = matching(first)
    assert m1.snapshot is not None and m1.snapshot.model_version == "test-char-ngram"
    built = m1.snapshot.snapshot_id
    assert mapped_from_file(m1.engine.workers_index_.embeddings)

    # Writes after the snapshot: a new job, a new worker, a closed job.
    new_job = c1.post(
        f"{API}/jobs", json=job_payload(world.firm, 0, title="电焊工 氩弧焊 高薪"), headers=h
    ).get_json()
    new_worker = c1.post(f"{API}/workers", json=worker_payload(70), headers=h).get_json()
    closed = before[0]
    job = c1.get(f"{API}/jobs/{closed}", headers=h).get_json()
    r = c1.patch(
        f"{API}/jobs/{closed}", json={"status": "closed", "version": job["version"]}, headers=h
    )
    assert r.status_code == 200, r.get_json()

    # A second process maps the same snapshot (no build) and replays the feed past it.
    second = host()
    c2 = second.test_client()
    seen = job_ids(c2, world.workers[0], h)
    m2 = matching(second)
    assert m2.snapshot.snapshot_id == built and m2.feed.position > m2.snapshot.feed_position
    assert new_job["id"] in seen and closed not in seen
    assert seen == job_ids(c1, world.workers[0], h)
    assert job_ids(c2, new_worker["id"], h) == job_ids(c1, new_worker["id"], h) != []
    w_index = m2.engine.workers_index_
    assert w_index.overlay_rows == 1 and new_worker["id"] in w_index
    assert mapped_from_file(w_index.embeddings) and mapped_from_file(w_index.lexical.data)


def test_index_build_then_a_running_app_switches(host, world, monkeypatch):
    from click.testing import CliRunner

    import api.service
    from api.cli import cli

    h = world.headers("admin")
    app = host()
    client = app.test_client()
    job_ids(client, world.workers[0], h)
    m = matching(app)
    first = m.snapshot.snapshot_id
    new_worker = client.post(f"{API}/workers", json=worker_payload(71), headers=h).get_json()
    assert m.engine.workers_index_.overlay_rows == 1

    # `jobbridge index build`, with this app's settings and model.
    for key in ("DATABASE_URL", "ID_KEY", "INSTANCE_DIR", "MODELS_DIR"):
        monkeypatch.setenv(f"JOBBRIDGE_{key}", str(app.config[key]))
    monkeypatch.setattr(api.service, "model_engine", lambda config: small_engine())
    result = CliRunner().invoke(cli, ["index", "build", "--json", "--quiet"])
    assert result.exit_code == 0, result.output
    built = json.loads(result.output)
    assert built["model_version"] == "test-char-ngram"
    assert built["counts"]["workers"] == len(world.workers) + len(world.other_workers) + 1
    assert built["feed_position"] >= m.feed.position

    # The running app notices the new snapshot at its next answer and switches to it.
    assert m.snapshot.snapshot_id == first
    ids = job_ids(client, new_worker["id"], h)
    assert m.snapshot.snapshot_id != first and m.snapshot.path.as_posix() == built["snapshot"]
    assert m.engine.workers_index_.overlay_rows == 0 and new_worker["id"] in m.engine.workers_index_
    assert ids
    status = CliRunner().invoke(cli, ["index", "status", "--json"])
    assert status.exit_code == 0, status.output
    info = json.loads(status.output)
    assert info["current"]["snapshot_id"] == m.snapshot.snapshot_id
    assert len(info["snapshots"]) == 2  # the previous one is kept


def test_an_overlay_past_its_limit_queues_a_rebuild(host, world):
    h = world.headers("admin")
    app = host(INDEX_OVERLAY_ROWS=2, TASKS_IMMEDIATE=True)
    client = app.test_client()
    job_ids(client, world.workers[0], h)
    m = matching(app)
    first = m.snapshot.snapshot_id
    made = [
        client.post(f"{API}/workers", json=worker_payload(80 + n), headers=h).get_json()["id"]
        for n in range(3)
    ]
    # The third row went past the limit: the rebuild ran (immediate mode) and was published;
    # the next answer switches to it, with every new worker in its rows.
    job_ids(client, made[-1], h)
    assert m.snapshot.snapshot_id != first
    assert m.engine.workers_index_.overlay_rows == 0
    assert all(i in m.engine.workers_index_ for i in made)
    assert (
        m.snapshot.manifest["counts"]["workers"]
        == len(world.workers) + len(world.other_workers) + 3
    )


def test_matches_give_way_on_jobs_the_register_crowds(
    host, world, app, database_url, id_key, tmp_path
):
    """The snapshot's builder prices the jobs that the whole register over-subscribes, and
    every process answers a worker's matches with those prices: twenty-odd sewing workers and
    two well-paid one-place sewing jobs, which no longer top every list; the lists keep their
    own order, scores and reasons, and two processes answer alike."""
    from tests.api.conftest import make_app

    h = world.headers("admin")
    first = host(CROWDING_SPREAD=0.2, CROWDING_PER_PLACE=3.0)
    c1 = first.test_client()
    sewing = dict(title="缝纫工 计件", description="服装厂缝纫", city="无锡市")
    crowded = [
        c1.post(
            f"{API}/jobs",
            json=job_payload(world.firm, 1, headcount=1, wage_min=6500, wage_max=8000, **sewing),
            headers=h,
        ).get_json()["id"]
        for _ in range(2)
    ]
    for _ in range(6):
        c1.post(
            f"{API}/jobs",
            json=job_payload(world.firm, 1, headcount=20, wage_min=6000, wage_max=7500, **sewing),
            headers=h,
        )
    workers = [world.workers[1], world.workers[5]] + [
        c1.post(f"{API}/workers", json=worker_payload(n), headers=h).get_json()["id"]
        for n in range(9, 86, 4)
    ]

    def lists(client):
        out = {}
        for w in workers:
            r = client.get(f"{API}/workers/{w}/matches", headers=h)
            assert r.status_code == 200, r.get_json()
            out[w] = r.get_json()["items"]
        return out

    priced = lists(c1)
    m1 = matching(first)
    crowding = m1.snapshot.manifest["crowding"]
    assert (
        crowding["spread"] == 0.2
        and crowding["workers_priced"]
        == len(world.workers) + len(world.other_workers) + len(workers) - 2
    )
    assert set(crowded) <= set(m1.engine.crowding_.job_ids.tolist())

    # The same database answered without prices (a host of its own, crowding off).
    plain_app = make_app(database_url, id_key, tmp_path / "plain", CROWDING_SPREAD=0.0)
    try:
        plain = lists(plain_app.test_client())
        assert matching(plain_app).snapshot.manifest["crowding"] is None
    finally:
        from tests.api.conftest import dispose

        dispose(plain_app)

    def holding(answers):
        return sum(any(it["job_id"] in crowded for it in items) for items in answers.values())

    assert holding(plain) == len(workers)  # both top every sewing worker's list unpriced
    assert holding(priced) < len(workers)
    for w in workers:
        scores = [it["score"] for it in priced[w]]
        assert scores == sorted(scores, reverse=True)
        before = {it["job_id"]: it for it in plain[w]}
        for it in priced[w]:
            if it["job_id"] in before:  # same score, same reasons (a rank of its list)
                assert {**it, "rank": 0} == {**before[it["job_id"]], "rank": 0}

    # A second process maps the same snapshot and its prices: the same answers, bit for bit.
    second = host(CROWDING_SPREAD=0.2, CROWDING_PER_PLACE=3.0)
    assert lists(second.test_client()) == priced
    assert matching(second).snapshot.snapshot_id == m1.snapshot.snapshot_id

    # A job posted after the snapshot has no price: it goes on the lists as unpriced ones do.
    late = c1.post(
        f"{API}/jobs",
        json=job_payload(world.firm, 1, headcount=1, wage_min=6500, wage_max=8000, **sewing),
        headers=h,
    ).get_json()["id"]
    after = lists(c1)
    assert sum(late in {it["job_id"] for it in items} for items in after.values()) == len(workers)
