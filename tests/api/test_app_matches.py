"""Matches through HTTP: shapes, best first, masking for hr, region for bureau, and the engine kept
in step with writes — in the same process at once, in a sibling process through the audit log."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.api.conftest import YANCHANG, job_payload, make_app, worker_payload

API = "/api/v1"


def test_worker_matches_shape_and_order(client, world):
    r = client.get(
        f"{API}/workers/{world.workers[0]}/matches?limit=3", headers=world.headers("bureau")
    )
    assert r.status_code == 200
    body = r.get_json()
    assert body["model_version"] == "test-char-ngram"
    items = body["items"]
    assert 1 <= len(items) <= 3
    for rank, item in enumerate(items, start=1):
        assert {
            "job_id",
            "score",
            "reasons",
            "rank",
            "title",
            "firm_id",
            "firm_name",
            "city",
        } <= set(item)
        assert item["rank"] == rank
        assert item["reasons"] and all(isinstance(x, str) for x in item["reasons"])
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True)
    assert world.closed_job not in [i["job_id"] for i in items]


def test_job_matches_for_hr_are_masked_and_audited(client, world, app):
    r = client.get(f"{API}/jobs/{world.jobs[0]}/matches?limit=20", headers=world.headers("hr"))
    assert r.status_code == 200
    items = r.get_json()["items"]
    assert items
    for item in items:
        assert item["id_number"][4:14] == "*" * 10
        assert item["phone"][3:7] == "****"
    assert (
        client.get(
            f"{API}/jobs/{world.other_jobs[0]}/matches", headers=world.headers("hr")
        ).status_code
        == 404
    )
    from sqlalchemy import select

    from api.service import state
    from api.storage import session_scope
    from api.storage.models import AuditEntry

    with app.app_context(), session_scope(state().engine) as session:
        read = set(session.scalars(select(AuditEntry.object_id).where(AuditEntry.action == "read")))
    assert read == {str(i["worker_id"]) for i in items}


def test_bureau_sees_only_its_workers_among_a_jobs_matches(client, world):
    admin = client.get(
        f"{API}/jobs/{world.jobs[1]}/matches?limit=50", headers=world.headers("admin")
    ).get_json()
    bureau = client.get(
        f"{API}/jobs/{world.jobs[1]}/matches?limit=50", headers=world.headers("bureau")
    ).get_json()
    assert {i["county_code"] for i in admin["items"]} >= {"630224", YANCHANG}
    assert {i["county_code"] for i in bureau["items"]} == {"630224"}
    assert [i["rank"] for i in bureau["items"]] == list(range(1, len(bureau["items"]) + 1))
    assert (
        client.get(
            f"{API}/workers/{world.other_workers[0]}/matches", headers=world.headers("bureau")
        ).status_code
        == 404
    )


def test_new_job_shows_at_once_and_a_deleted_one_goes(client, world):
    h = world.headers("admin")
    worker = world.workers[2]  # 开过叉车, holds 叉车证
    before = client.get(f"{API}/workers/{worker}/matches?limit=50", headers=h).get_json()["items"]
    body = job_payload(
        world.firm,
        2,
        title="叉车司机 持叉车证 包吃住",
        description="开叉车 仓库 叉车工",
        wage_min=6000,
        wage_max=9000,
        certificates_required=["叉车证"],
    )
    new = client.post(f"{API}/jobs", json=body, headers=h).get_json()
    after = client.get(f"{API}/workers/{worker}/matches?limit=50", headers=h).get_json()["items"]
    assert new["id"] not in [i["job_id"] for i in before]
    assert new["id"] in [i["job_id"] for i in after]
    # a worker without the certificate never gets it (hard rule)
    other = client.get(f"{API}/workers/{world.workers[1]}/matches?limit=50", headers=h).get_json()[
        "items"
    ]
    assert new["id"] not in [i["job_id"] for i in other]
    # closing it takes it out at once
    r = client.patch(f"{API}/jobs/{new['id']}", json={"status": "closed", "version": 1}, headers=h)
    assert r.status_code == 200
    gone = client.get(f"{API}/workers/{worker}/matches?limit=50", headers=h).get_json()["items"]
    assert new["id"] not in [i["job_id"] for i in gone]


def test_new_worker_is_matched_and_hired_to_full_closes_the_job(client, world):
    h = world.headers("admin")
    w = client.post(f"{API}/workers", json=worker_payload(60), headers=h).get_json()
    items = client.get(f"{API}/workers/{w['id']}/matches?limit=5", headers=h).get_json()["items"]
    assert items
    job_id = items[0]["job_id"]
    job = client.get(f"{API}/jobs/{job_id}", headers=h).get_json()
    client.patch(
        f"{API}/jobs/{job_id}", json={"headcount": 1, "version": job["version"]}, headers=h
    )
    today = dt.date.today().isoformat()  # the worker was registered today
    for stage in ("applied", "hired"):
        r = client.post(
            f"{API}/outcomes",
            json={"worker_id": w["id"], "job_id": job_id, "stage": stage, "date": today},
            headers=h,
        )
        assert r.status_code == 201, r.get_json()
    assert client.get(f"{API}/jobs/{job_id}", headers=h).get_json()["status"] == "filled"
    again = client.get(f"{API}/workers/{w['id']}/matches?limit=50", headers=h).get_json()["items"]
    assert job_id not in [i["job_id"] for i in again]


def test_a_sibling_process_follows_writes_through_the_audit_log(
    client, world, database_url, id_key, tmp_path
):
    """Two apps on one database stand for two gunicorn workers: a job created through one shows
    in the other's matches without a restart."""
    sibling = make_app(database_url, id_key, tmp_path / "sibling")
    other = sibling.test_client()
    h = world.headers("admin")
    worker = world.workers[0]
    other.get(f"{API}/workers/{worker}/matches?limit=50", headers=h)  # loads its engine
    body = job_payload(
        world.firm, 0, title="电焊工 氩弧焊 高薪", description="电焊 焊接", wage_max=12000
    )
    new = client.post(f"{API}/jobs", json=body, headers=h).get_json()
    seen = other.get(f"{API}/workers/{worker}/matches?limit=50", headers=h).get_json()["items"]
    assert new["id"] in [i["job_id"] for i in seen]
    client.delete(f"{API}/jobs/{new['id']}", headers={**h, "If-Match": '"1"'})
    seen = other.get(f"{API}/workers/{worker}/matches?limit=50", headers=h).get_json()["items"]
    assert new["id"] not in [i["job_id"] for i in seen]
    from tests.api.conftest import dispose

    dispose(sibling)


def test_firm_names_in_matches_follow_a_rename_in_this_and_a_sibling_process(
    client, world, database_url, id_key, tmp_path
):
    """Matches carry the firm's name from the engine's job table; renaming the firm re-reads its
    jobs, here and (through the audit log) in another process."""
    sibling = make_app(database_url, id_key, tmp_path / "sibling-firm")
    other = sibling.test_client()
    h = world.headers("admin")
    worker = world.workers[0]

    def names(c):
        items = c.get(f"{API}/workers/{worker}/matches?limit=50", headers=h).get_json()["items"]
        return {i["firm_name"] for i in items if i["firm_id"] == world.firm}

    before = names(other)
    assert before and "" not in before
    firm = client.get(f"{API}/firms/{world.firm}", headers=h)
    r = client.patch(
        f"{API}/firms/{world.firm}",
        json={"name": "苏州改名后精密制造有限公司"},
        headers={**h, "If-Match": firm.headers["ETag"]},
    )
    assert r.status_code == 200
    assert names(client) == {"苏州改名后精密制造有限公司"}
    assert names(other) == {"苏州改名后精密制造有限公司"}
    from tests.api.conftest import dispose

    dispose(sibling)


def test_healthz_reports_the_model_once_loaded(client, world):
    client.get(f"{API}/workers/{world.workers[0]}/matches", headers=world.headers("admin"))
    assert client.get(f"{API}/healthz").get_json() == {
        "status": "ok",
        "database": "ok",
        "model_version": "test-char-ngram",
        "engine_loaded": True,
    }


def test_engine_preload_fits_at_app_creation(world, database_url, id_key, tmp_path):
    app = make_app(database_url, id_key, tmp_path / "preload", ENGINE_PRELOAD=True)
    body = app.test_client().get(f"{API}/healthz").get_json()
    assert body["engine_loaded"] is True and body["model_version"] == "test-char-ngram"
    from tests.api.conftest import dispose

    dispose(app)


def test_numeric_threads_caps_blas_threads_of_the_process(tmp_path):
    """``serve`` sets NUMERIC_THREADS=1: BLAS threads spinning in every gunicorn process cut
    throughput by more than half. Checked in a fresh interpreter (the cap is process-wide)."""
    import subprocess
    import sys

    code = (
        "import numpy, threadpoolctl\n"
        "from api import create_app\n"
        f"create_app({{'DATABASE_URL': 'sqlite:///{tmp_path}/t.db', 'NUMERIC_THREADS': 1}})\n"
        "print(max(i['num_threads'] for i in threadpoolctl.threadpool_info()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


def test_numeric_threads_must_be_positive():
    import pytest

    from api.service import limit_numeric_threads

    with pytest.raises(ValueError, match="NUMERIC_THREADS"):
        limit_numeric_threads(0)


def test_a_committed_write_is_not_reported_failed_when_the_engine_refresh_fails(
    client, world, monkeypatch
):
    """PATCH commits, then refreshes the engine. If the refresh raised (a busy database), the
    request used to be retried and answered 412 for a write that had been applied."""
    from sqlalchemy.exc import OperationalError

    from api.service import MatchService

    h = world.headers("admin")
    worker = world.workers[0]
    client.get(f"{API}/workers/{worker}/matches?limit=5", headers=h)  # loads the engine
    real_sync = MatchService._sync  # behind sync() and the match's read_synced()
    calls = []

    def flaky_sync(self, also=None):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("SELECT", {}, Exception("database is locked"))
        return real_sync(self, also)

    monkeypatch.setattr(MatchService, "_sync", flaky_sync)
    job = client.get(f"{API}/jobs/{world.jobs[0]}", headers=h)
    r = client.patch(
        f"{API}/jobs/{world.jobs[0]}",
        json={"title": "电焊工（改）"},
        headers={**h, "If-Match": job.headers["ETag"]},
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["version"] == job.get_json()["version"] + 1
    # the next request's sync applies the change the failed refresh missed
    client.get(f"{API}/workers/{worker}/matches?limit=5", headers=h)
    assert len(calls) >= 2
    engine = client.application.extensions["jobbridge"].matching.engine
    index = engine.jobs_index_
    assert index.prepared.columns["title"][index.row_of(world.jobs[0])] == "电焊工（改）"


def _engine_with_occupations():
    from data.reference import load_occupations
    from matcher.engine import MatchingEngine

    occupations = load_occupations(4)[["code", "name"]]
    return MatchingEngine(candidate_pool=50, occupations=occupations).learn(), "test-occupations"


def test_worker_matches_carry_the_notice_when_no_job_of_the_trade_passes(
    database_url, id_key, tmp_path
):
    """A sewing worker who needs a halal canteen, among jobs none of which has one: the answer
    says so (the clerk's page too) instead of silently listing nothing of the trade."""
    from api.storage import init_db
    from tests.api.conftest import dispose, seed_world

    init_db(database_url).dispose()
    app = make_app(database_url, id_key, tmp_path, ENGINE_FACTORY=_engine_with_occupations)
    try:
        world = seed_world(app)
        client = app.test_client()
        h = world.headers("admin")
        sewing = worker_payload(61, skills_text="做过缝纫工", needs_halal=True)
        w = client.post(f"{API}/workers", json=sewing, headers=h).get_json()
        body = client.get(f"{API}/workers/{w['id']}/matches?limit=5", headers=h).get_json()
        assert body["notice"] == "暂无同时提供清真食堂和宿舍的缝纫工岗位，以下为其他可选岗位"
        assert body["items"] == []
        # A welder among welding jobs that pass every rule: no notice.
        welder = client.get(f"{API}/workers/{world.workers[0]}/matches?limit=5", headers=h)
        assert welder.get_json()["notice"] is None
        assert welder.get_json()["items"]
    finally:
        dispose(app)


def test_a_match_checks_the_feed_on_the_requests_own_connection(client, world, app, host):
    """A worker's matches take one connection from the pool (the scope check's, on which the
    feed check runs too), and still see a job another process committed just before."""
    from sqlalchemy import event

    from tests.api.test_feed import matching

    headers = world.headers("bureau")
    url = f"{API}/workers/{world.workers[0]}/matches?limit=50"
    assert client.get(url, headers=headers).status_code == 200
    checkouts = []
    pool = app.extensions["jobbridge"].engine.pool
    listener = lambda *args: checkouts.append(1)  # noqa: E731
    event.listen(pool, "checkout", listener)
    try:
        assert client.get(url, headers=headers).status_code == 200
        assert len(checkouts) == 1
        other = host()
        r = other.test_client().post(
            f"{API}/jobs", json=job_payload(world.firm, 0), headers=world.headers("admin")
        )
        assert r.status_code == 201, r.get_json()
        job = r.get_json()["id"]
        checkouts.clear()
        r = client.get(url, headers=headers)
        assert r.status_code == 200
        # The new job came through the feed: one more connection, the one reading the batch.
        assert job in matching(app).engine.jobs_index_
        assert len(checkouts) == 2
    finally:
        event.remove(pool, "checkout", listener)


def test_a_match_sends_one_statement_when_nothing_is_new(client, world, app):
    """A worker's matches read the caller's scope (the worker's county) in the change feed's
    own statement: one statement in all when the feed holds nothing new (the test before
    counted connections, this one statements); a worker that does not
    exist, or lies outside a bureau's region, is still a 404."""
    from sqlalchemy import event

    url = f"{API}/workers/{world.workers[0]}/matches?limit=10"
    assert client.get(url, headers=world.headers("bureau")).status_code == 200
    statements: list[str] = []
    listener = lambda conn, cursor, statement, *rest: statements.append(statement)  # noqa: E731
    engine = app.extensions["jobbridge"].engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        r = client.get(url, headers=world.headers("bureau"))
        assert r.status_code == 200 and r.get_json()["items"]
        # SQLite's reads run in a transaction (its BEGIN is not a round trip to a server).
        statements = [q for q in statements if not q.startswith(("BEGIN", "ROLLBACK"))]
        assert len(statements) == 1, statements
        assert "county_code" in statements[0] and "changes" in statements[0]
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    missing = client.get(f"{API}/workers/999999/matches", headers=world.headers("admin"))
    assert missing.status_code == 404 and "999999" in missing.get_json()["detail"]
    outside = f"{API}/workers/{world.other_workers[0]}/matches"
    assert client.get(outside, headers=world.headers("bureau")).status_code == 404
    assert client.get(outside, headers=world.headers("admin")).status_code == 200


def _autocommit_of_statements(app):
    """Record, for each statement the app's engine sends, whether its psycopg connection was in
    autocommit (a statement outside any transaction); returns the list and the listener."""
    from sqlalchemy import event

    seen: list[tuple[str, bool]] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.append(
            (statement.split()[0].upper(), bool(conn.connection.dbapi_connection.autocommit))
        )

    event.listen(app.extensions["jobbridge"].engine, "before_cursor_execute", listener)
    return seen, listener


def test_a_match_reads_without_a_transaction_on_postgresql(client, world, app, database_url):
    """On PostgreSQL a worker's matches run their reads in autocommit (no BEGIN and ROLLBACK
    round trips); a job's matches read so too, then audit in one transaction that commits."""
    from sqlalchemy import event, select

    from api.service import state
    from api.storage import session_scope
    from api.storage.models import AuditEntry

    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has no round trips to save; its reads stay in a transaction")
    url = f"{API}/workers/{world.workers[0]}/matches?limit=10"
    job_url = f"{API}/jobs/{world.jobs[0]}/matches?limit=5"
    # First requests of each key: its lookup (then cached) opens an ordinary session.
    assert client.get(url, headers=world.headers("bureau")).status_code == 200
    assert client.get(job_url, headers=world.headers("hr")).status_code == 200
    seen, listener = _autocommit_of_statements(app)
    engine = app.extensions["jobbridge"].engine
    try:
        assert client.get(url, headers=world.headers("bureau")).status_code == 200
        assert seen and all(autocommit for _, autocommit in seen), seen
        seen.clear()
        r = client.get(job_url, headers=world.headers("hr"))
        assert r.status_code == 200
        items = r.get_json()["items"]
        assert items
        assert ("SELECT", True) in seen
        assert ("INSERT", False) in seen and ("INSERT", True) not in seen, seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    with app.app_context(), session_scope(state().engine) as session:
        read = set(session.scalars(select(AuditEntry.object_id).where(AuditEntry.action == "read")))
    assert {str(i["worker_id"]) for i in items} <= read


def test_a_read_only_session_refuses_a_write_without_begin_write(app, world, database_url):
    """A write in a read-only request session without begin_write() is refused (it would commit
    statement by statement); after begin_write() it commits as one transaction."""
    from sqlalchemy import func, select

    from api.service import begin_write, get_session, state
    from api.storage import session_scope
    from api.storage.models import AuditEntry

    def audits() -> int:
        with session_scope(state().engine) as s:
            return s.scalar(select(func.count()).select_from(AuditEntry))

    with app.test_request_context("/"):
        before = audits()
        session = get_session(read_only=True)
        session.scalar(select(func.count()).select_from(AuditEntry))
        session.add(AuditEntry(action="read", object_type="worker", object_id="1"))
        if not database_url.startswith("sqlite"):
            with pytest.raises(RuntimeError, match="begin_write"):
                session.flush()
            assert audits() == before
            assert session.info.get("autocommit")
        session.expunge_all()
        begin_write()
        assert not get_session().info.get("autocommit")
        get_session().add(AuditEntry(action="read", object_type="worker", object_id="2"))
        get_session().add(AuditEntry(action="read", object_type="worker", object_id="3"))
        get_session().commit()
        assert audits() == before + 2
