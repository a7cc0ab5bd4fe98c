"""The change feed: every write appends in its own transaction; processes follow it.

On SQLite always and on PostgreSQL when ``JOBBRIDGE_TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from api import storage
from api.storage import changes
from api.storage.models import Change, Job, Worker
from data.idcard import make_id_number
from tests.api.conftest import HUALONG, dispose, job_payload, make_app, worker_payload

API = "/api/v1"


def _rows(app, after: int = 0) -> list[dict[str, Any]]:
    with Session(app.extensions["jobbridge"].engine) as session:
        return changes.changes_of(session, after=after)


def _newest(app) -> int:
    with Session(app.extensions["jobbridge"].engine) as session:
        return changes.newest_change_id(session)


def _upload(client, url: str, text: str, headers):
    data = {"file": (io.BytesIO(text.encode("utf-8")), "rows.csv")}
    return client.post(url, data=data, headers=headers, content_type="multipart/form-data")


def _id_number(n: int) -> str:
    return make_id_number(HUALONG, dt.date(1991, 1, 1) + dt.timedelta(days=n), 300 + n, "男")


# --------------------------------------------------------------------------- id runs
def test_id_runs_compact_consecutive_ids():
    assert changes.id_runs([]) == []
    assert changes.id_runs([7, 3, 4, 5, 9, 8, 3]) == [(3, 5), (7, 9)]
    assert changes.id_runs(range(10, 10_010)) == [(10, 10_009)]
    rows = changes.change_rows("worker", range(1, 10_001))
    assert len(rows) == 1 and (rows[0]["object_id"], rows[0]["last_object_id"]) == (1, 10_000)
    assert changes.change_rows("job", [5])[0]["last_object_id"] is None
    with pytest.raises(ValueError, match="change kind 'fair'"):
        changes.change_rows("fair", [1])
    with pytest.raises(ValueError, match="change op 'insert'"):
        changes.change_rows("job", [1], "insert")


# --------------------------------------------------------------------------- same transaction
def test_a_write_and_its_change_commit_or_roll_back_together(engine):
    with Session(engine) as session:
        firm = storage.create_firm(session, {"name": "甲厂", "city": "苏州市"})
        # flushed: the change row is there, inside the transaction
        assert changes.objects_announced(changes.changes_of(session), "firm") == {firm.id}
        session.rollback()
    with Session(engine) as session:
        assert changes.changes_of(session) == []
        kept = storage.create_firm(session, {"name": "乙厂", "city": "苏州市"})
        with pytest.raises(RuntimeError), session.begin_nested():
            storage.create_firm(session, {"name": "丙厂", "city": "无锡市"})
            raise RuntimeError("the savepoint is refused")
        session.commit()
        kept_id = kept.id
    with Session(engine) as session:
        rows = changes.changes_of(session)
    # the refused savepoint's write took its announcement with it
    assert [(r["kind"], r["object_id"], r["op"]) for r in rows] == [("firm", kept_id, "upsert")]


def test_a_refused_request_leaves_no_change(client, world):
    app = client.application
    before = _newest(app)
    h = world.headers("admin")
    r = client.post(f"{API}/jobs", json=job_payload(999_999), headers=h)
    assert r.status_code in (404, 422)
    worker = client.get(f"{API}/workers/{world.workers[0]}", headers=h)
    r = client.patch(
        f"{API}/workers/{world.workers[0]}",
        json={"phone": "13900000000"},
        headers={**h, "If-Match": '"999"'},
    )
    assert r.status_code == 412
    # an import with one bad row stores nothing and announces nothing
    csv = (
        "岗位名称,企业名称,工作城市,月薪下限,月薪上限,招聘人数\n"
        "普工,昆山测试电子厂,昆山,5000,4000,3\n"
    )
    assert _upload(client, f"{API}/jobs/import", csv, h).status_code == 422
    assert worker.status_code == 200
    assert _rows(app, before) == []


# --------------------------------------------------------------------------- every path
def _api(method: str, path: Callable[[Any], str], body: Callable[[Any], Any] | None = None):
    def run(client, world, tmp_path):
        h = world.headers("admin")
        url = f"{API}{path(world)}"
        if method == "POST":
            r = client.post(url, json=body(world), headers=h)
            assert r.status_code == 201, r.get_json()
            return r.get_json()["id"]
        current = client.get(url, headers=h)
        h = {**h, "If-Match": current.headers["ETag"]}
        if method == "PATCH":
            r = client.patch(url, json=body(world), headers=h)
            assert r.status_code == 200, r.get_json()
        else:
            r = client.delete(url, headers=h)
            assert r.status_code == 204, r.get_json()
        return int(url.rsplit("/", 1)[1])

    return run


def _empty_firm(client, world) -> int:
    r = client.post(
        f"{API}/firms", json={"name": "空壳厂", "city": "南京"}, headers=world.headers("admin")
    )
    return r.get_json()["id"]


def _delete_firm(client, world, tmp_path):
    firm = _empty_firm(client, world)
    return _api("DELETE", lambda w: f"/firms/{firm}")(client, world, tmp_path)


def _http_import_jobs(client, world, tmp_path):
    csv = "岗位名称,企业ID,工作城市,月薪下限,月薪上限,招聘人数\n" + "".join(
        f"普工{i},{world.firm},苏州,5000,7000,3\n" for i in range(3)
    )
    r = _upload(client, f"{API}/jobs/import", csv, world.headers("admin"))
    assert r.status_code == 200, r.get_json()
    return r.get_json()["ids"]


def _http_import_workers(client, world, tmp_path):
    csv = "姓名,身份证号,户籍县,学历\n" + "".join(
        f"导{i},{_id_number(i)},化隆县,初中\n" for i in range(3)
    )
    r = _upload(client, f"{API}/workers/import", csv, world.headers("admin"))
    assert r.status_code == 200, r.get_json()
    return r.get_json()["ids"]


def _cli_import_workers(client, world, tmp_path):
    from click.testing import CliRunner

    from api.cli import cli

    path = tmp_path / "workers.csv"
    path.write_text(
        "姓名,身份证号,户籍县,学历\n"
        + "".join(f"导{i},{_id_number(10 + i)},化隆县,初中\n" for i in range(4)),
        encoding="utf-8",
    )
    config = client.application.config
    env = {"JOBBRIDGE_DATABASE_URL": config["DATABASE_URL"], "JOBBRIDGE_ID_KEY": config["ID_KEY"]}
    result = CliRunner().invoke(cli, ["import", "workers", str(path)], env=env)
    assert result.exit_code == 0, result.output
    with Session(client.application.extensions["jobbridge"].engine) as session:
        return list(session.scalars(select(Worker.id).where(Worker.name.like("导%"))))


def _demo_load(client, world, tmp_path):
    import pandas as pd

    from api.storage import bulk_load_world
    from data.demo import generate_world

    state = client.application.extensions["jobbridge"]
    demo = generate_world(30, 6, seed=3, show_progress=False)
    # Ids past the seeded world's, as a second load into a running service would have.
    shift = 10_000
    jobs = demo.jobs.assign(
        job_id=demo.jobs["job_id"] + shift, firm_id=demo.jobs["firm_id"] + shift
    )
    firms = (
        demo.firms.assign(firm_id=demo.firms["firm_id"] + shift) if demo.firms is not None else None
    )
    workers = demo.workers.assign(worker_id=demo.workers["worker_id"] + shift)
    events = pd.DataFrame(
        {"worker_id": workers["worker_id"][:2], "job_id": jobs["job_id"][:2], "stage": "applied"}
    ).assign(date=dt.date(2026, 1, 5))
    bulk_load_world(
        state.engine,
        {"firms": firms, "jobs": jobs, "workers": workers},
        events,
        protector=state.protector,
        show_progress=False,
    )
    return workers["worker_id"].tolist()


def _outcome_hired(client, world, tmp_path):
    # A hire must follow the pair's earlier stages (api.storage.outcomes): record them first.
    body = {"worker_id": world.workers[0], "job_id": world.jobs[0]}
    for stage, day in (("applied", "2026-01-20"), ("interviewed", "2026-01-25")):
        r = client.post(
            f"{API}/outcomes",
            json={**body, "stage": stage, "date": day},
            headers=world.headers("admin"),
        )
        assert r.status_code == 201, r.get_json()
    r = client.post(
        f"{API}/outcomes",
        json={**body, "stage": "hired", "date": "2026-02-01"},
        headers=world.headers("admin"),
    )
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


PATHS = {
    "create worker": (
        "worker",
        "upsert",
        _api("POST", lambda w: "/workers", lambda w: worker_payload(40)),
    ),
    "update worker": (
        "worker",
        "upsert",
        _api("PATCH", lambda w: f"/workers/{w.workers[1]}", lambda w: {"phone": "13900000001"}),
    ),
    "delete worker": ("worker", "delete", _api("DELETE", lambda w: f"/workers/{w.workers[2]}")),
    "create job": (
        "job",
        "upsert",
        _api("POST", lambda w: "/jobs", lambda w: job_payload(w.firm, 1)),
    ),
    "update job": (
        "job",
        "upsert",
        _api("PATCH", lambda w: f"/jobs/{w.jobs[1]}", lambda w: {"headcount": 9}),
    ),
    "delete job": ("job", "delete", _api("DELETE", lambda w: f"/jobs/{w.jobs[2]}")),
    "create firm": (
        "firm",
        "upsert",
        _api("POST", lambda w: "/firms", lambda w: {"name": "新厂", "city": "常州"}),
    ),
    "update firm": (
        "firm",
        "upsert",
        _api("PATCH", lambda w: f"/firms/{w.firm}", lambda w: {"name": "昆山测试电子厂（新名）"}),
    ),
    "delete firm": ("firm", "delete", _delete_firm),
    "HTTP import jobs": ("job", "upsert", _http_import_jobs),
    "HTTP import workers": ("worker", "upsert", _http_import_workers),
    "CLI import workers": ("worker", "upsert", _cli_import_workers),
    "demo load": ("worker", "upsert", _demo_load),
    "outcome": ("outcome", "upsert", _outcome_hired),
}


@pytest.mark.parametrize("path", list(PATHS))
def test_every_write_path_appends_to_the_feed(client, world, tmp_path, path):
    kind, op, write = PATHS[path]
    app = client.application
    before = _newest(app)
    written = write(client, world, tmp_path)
    rows = _rows(app, before)
    ids = set(written) if isinstance(written, list) else {written}
    assert ids and ids <= changes.objects_announced([r for r in rows if r["op"] == op], kind)
    if path == "outcome":
        # hired: the job's hired_count changed too, and the engine must hear of it
        assert world.jobs[0] in changes.objects_announced(rows, "job")
    if "import" in path or path == "demo load":
        # consecutive ids: one row per kind, not one per object
        assert len([r for r in rows if r["kind"] == kind]) == 1


def test_recommendations_of_an_allocation_are_announced(engine):
    with Session(engine, expire_on_commit=False) as session:
        firm = storage.create_firm(session, {"name": "甲厂", "city": "苏州市"})
        job = storage.create_job(session, {**job_payload(firm.id), "city": "苏州市"})
        session.commit()
    from api.crypto import IdProtector
    from tests.api.conftest import _worker_record

    key = bytes(range(32))
    with Session(engine, expire_on_commit=False) as session:
        w = storage.register_worker(
            session, _worker_record(worker_payload(1)), protector=IdProtector(key)
        )
        before = changes.newest_change_id(session)
        ids = storage.record_recommendations(session, [(w.id, job.id)])
        session.commit()
        rows = changes.changes_of(session, after=before)
    assert changes.objects_announced(rows, "outcome") == set(ids)


# --------------------------------------------------------------------------- following
def test_cursor_waits_for_an_id_that_commits_late(engine):
    """PostgreSQL hands out ids at insert, not at commit: 2 may commit after 3."""
    stamp = dt.datetime(2026, 1, 1)

    def add(*ids):
        with engine.begin() as connection:
            connection.execute(
                insert(Change),
                [
                    {"id": i, "kind": "job", "object_id": i, "op": "upsert", "at": stamp}
                    for i in ids
                ],
            )

    cursor = changes.FeedCursor(gap_seconds=60)
    with engine.connect() as connection:
        assert not cursor.behind(connection)
    add(1, 3)
    with engine.connect() as connection:
        assert cursor.behind(connection)
        batch = cursor.read(connection)
    assert [r.id for r in batch.rows] == [1, 3] and batch.ids == {"job": {1, 3}}
    cursor.advance(batch)
    assert cursor.position == 3 and set(cursor.gaps) == {2}
    with engine.connect() as connection:
        assert cursor.behind(connection)  # the gap is asked for again
        assert not cursor.read(connection)
    add(2)
    with engine.connect() as connection:
        batch = cursor.read(connection)
    assert [r.id for r in batch.rows] == [2]
    cursor.advance(batch)
    assert cursor.gaps == {} and cursor.position == 3
    with engine.connect() as connection:
        assert not cursor.behind(connection)
    # a gap that never fills (a rolled-back write) is given up after gap_seconds
    add(5)
    cursor.gap_seconds = 0.0
    with engine.connect() as connection:
        cursor.advance(cursor.read(connection))
        assert cursor.position == 5
        assert not cursor.behind(connection)


def test_a_second_process_answers_with_the_first_ones_writes_at_once(
    app, database_url, id_key, tmp_path
):
    """Two apps on one database stand for two gunicorn processes: a worker registered through
    one is matched by the other on the very next request (the old audit-log sync waited up to
    ENGINE_SYNC_SECONDS and answered [] meanwhile)."""
    world = app.test_world
    other = make_app(database_url, id_key, tmp_path / "other")
    try:
        a, b = app.test_client(), other.test_client()
        h = world.headers("admin")
        # both processes have their engine loaded
        for client in (a, b):
            assert (
                client.get(f"{API}/workers/{world.workers[0]}/matches", headers=h).status_code
                == 200
            )
        for n in range(50, 53):
            r = a.post(f"{API}/workers", json=worker_payload(n), headers=h)
            assert r.status_code == 201
            wid = r.get_json()["id"]
            first = b.get(f"{API}/workers/{wid}/matches?limit=5", headers=h).get_json()["items"]
            assert first, f"worker {wid} unknown to the other process"
            again = a.get(f"{API}/workers/{wid}/matches?limit=5", headers=h).get_json()["items"]
            assert [i["job_id"] for i in first] == [i["job_id"] for i in again]
        # a job closed through one is gone from the other's answers at once
        job = world.jobs[0]
        current = a.get(f"{API}/jobs/{job}", headers=h)
        r = a.patch(
            f"{API}/jobs/{job}",
            json={"status": "closed"},
            headers={**h, "If-Match": current.headers["ETag"]},
        )
        assert r.status_code == 200
        for wid in world.workers:
            items = b.get(f"{API}/workers/{wid}/matches?limit=50", headers=h).get_json()["items"]
            assert job not in [i["job_id"] for i in items]
        # a firm renamed through one is named anew by the other
        current = a.get(f"{API}/firms/{world.firm}", headers=h)
        r = a.patch(
            f"{API}/firms/{world.firm}",
            json={"name": "昆山改名电子厂"},
            headers={**h, "If-Match": current.headers["ETag"]},
        )
        assert r.status_code == 200
        engine = other.extensions["jobbridge"].matching
        b.get(f"{API}/workers/{world.workers[0]}/matches", headers=h)
        index = engine.engine.jobs_index_
        names = {index.prepared.columns["firm_name"][index.row_of(j)] for j in world.jobs[1:]}
        assert names == {"昆山改名电子厂"}
    finally:
        dispose(other)


def test_a_cli_import_is_seen_by_a_running_process(app, tmp_path):
    world = app.test_world
    client = app.test_client()
    h = world.headers("admin")
    assert client.get(f"{API}/workers/{world.workers[0]}/matches", headers=h).status_code == 200
    imported = _cli_import_workers(client, world, tmp_path)
    assert len(imported) == 4
    for wid in imported:
        items = client.get(f"{API}/workers/{wid}/matches?limit=5", headers=h).get_json()["items"]
        assert items, f"imported worker {wid} unknown to the running process"
    # deleting them through storage (another process) removes them from the engine
    state = app.extensions["jobbridge"]
    with Session(state.engine) as session:
        for wid in imported[:2]:
            storage.delete_worker(session, wid)
        session.commit()
    client.get(f"{API}/workers/{world.workers[0]}/matches", headers=h)
    index = state.matching.engine.workers_index_
    assert [wid in index for wid in imported] == [False, False, True, True]


def test_the_engine_no_longer_reads_the_audit_log(app):
    """A write with no audit row (a plain storage call) still reaches the engine."""
    world = app.test_world
    client = app.test_client()
    h = world.headers("admin")
    client.get(f"{API}/workers/{world.workers[0]}/matches", headers=h)
    state = app.extensions["jobbridge"]
    with Session(state.engine, expire_on_commit=False) as session:
        job = storage.create_job(session, {**job_payload(world.firm, 3), "city": "南京市"})
        session.commit()
        assert session.scalar(select(func.count()).select_from(Job)) > 0
    client.get(f"{API}/workers/{world.workers[0]}/matches", headers=h)
    assert job.id in state.matching.engine.jobs_index_
