"""Following the change feed in the background, pruning it, and following a new model version.

On SQLite always and on PostgreSQL when ``JOBBRIDGE_TEST_POSTGRES_URL`` is set (the
``database_url`` fixture).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.storage import changes
from api.storage.models import Change
from tests.api.conftest import _worker_record, start_service_process, worker_payload


def matching(app):
    with app.app_context():
        from api.service import get_matching

        return get_matching()


def register(app, n: int) -> int:
    """A worker registered through the storage functions, as another process would."""
    from api import storage
    from api.service import state
    from api.storage import session_scope

    with app.app_context(), session_scope(state().engine) as session:
        record = _worker_record(worker_payload(n))
        return storage.register_worker(session, record, protector=state().protector).id


def newest(app) -> int:
    with Session(app.extensions["jobbridge"].engine) as session:
        return changes.newest_change_id(session)


# --------------------------------------------------------------------------- following
@pytest.mark.parametrize("snapshots", [True, False], ids=["snapshot", "own-index"])
def test_a_following_process_applies_writes_before_anyone_asks(host, snapshots):
    serving = host(FEED_FOLLOW=True, FEED_POLL_SECONDS=0.05, INDEX_SNAPSHOTS=snapshots)
    m = matching(serving).load()
    assert m.following
    writer = host()
    worker = register(writer, 90)
    deadline = time.monotonic() + 30
    # No request, no sync() here: only the follower thread can apply it.
    while worker not in m.engine.workers_index_:
        assert time.monotonic() < deadline, "the follower did not apply the write in 30 s"
        time.sleep(0.05)
    assert m.feed.position >= newest(writer)
    m.stop_following()
    assert not m.following
    later = register(writer, 91)
    time.sleep(0.3)
    assert later not in m.engine.workers_index_  # stopped: nothing applies it ...
    assert m.sync() == 1 and later in m.engine.workers_index_  # ... but the request path


def test_the_follower_retries_an_outage_with_one_traceback(host, monkeypatch, caplog):
    import threading

    m = matching(host()).load()
    calls, waits = [], []

    class Stop(threading.Event):
        def wait(self, timeout=None):
            waits.append(timeout)
            return super().wait(timeout)

    def sync() -> int:
        calls.append(len(waits))
        if len(calls) <= 3:
            raise OSError("数据库暂时不可用\n第二行")
        return 0

    monkeypatch.setattr(m, "sync", sync)
    monkeypatch.setattr(m, "follow_model", lambda: None)
    monkeypatch.setattr(m, "_stop", Stop())
    caplog.set_level("WARNING", logger="api.service")
    m.start_following(interval=0.01)
    deadline = time.monotonic() + 10
    while len(calls) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    m.stop_following()
    assert len(calls) >= 5, "the follower stopped retrying"
    records = [r for r in caplog.records if r.name == "api.service"]
    assert [r.exc_info is not None for r in records[:4]] == [True, False, False, False]
    assert "(3 times): OSError: 数据库暂时不可用;" in records[2].getMessage()
    assert "again after 3 failures" in records[3].getMessage()
    # It backs off while the outage lasts, and polls at its pace again after.
    assert waits[:5] == pytest.approx([0.01, 0.02, 0.04, 0.08, 0.01])


# --------------------------------------------------------------------------- pruning
def test_prune_changes_keeps_its_margins(host):
    app = host()
    writer = host()
    ids = [register(writer, 100 + n) for n in range(5)]
    assert ids
    engine = app.extensions["jobbridge"].engine
    top = newest(app)
    with engine.begin() as connection:
        # Every row is younger than an hour: nothing goes.
        assert changes.prune_changes(connection, through=top) == 0
    with engine.begin() as connection:
        pruned = changes.prune_changes(
            connection, through=top, keep_rows=2, min_age=dt.timedelta(0)
        )
    with engine.connect() as connection:
        oldest, newest_left = changes.change_id_bounds(connection)
        left = connection.scalar(select(func.count()).select_from(Change))
    assert pruned > 0 and newest_left == top
    assert oldest == top - 1 and left == 2  # the newest two ids stay
    with engine.begin() as connection:  # never past ``through``
        assert (
            changes.prune_changes(connection, through=0, keep_rows=1, min_age=dt.timedelta(0)) == 0
        )


@pytest.mark.parametrize("snapshots", [True, False], ids=["snapshot", "own-index"])
def test_a_process_behind_the_pruned_point_rebuilds_instead_of_missing_rows(host, snapshots):
    stale = host(INDEX_SNAPSHOTS=snapshots)
    m = matching(stale).load()
    position = m.feed.position
    writer = host()
    missed = register(writer, 120)  # its change will be pruned before `stale` reads it
    register(writer, 121)
    engine = stale.extensions["jobbridge"].engine
    with engine.begin() as connection:
        pruned = changes.prune_changes(
            connection, through=newest(writer), keep_rows=1, min_age=dt.timedelta(0)
        )
    assert pruned >= 2
    with engine.connect() as connection:
        assert m.feed.check(connection)[1]  # stale: the rows after its position are gone
        assert changes.FeedCursor.pruned_past(connection, position)
    assert missed not in m.engine.workers_index_
    m.sync()
    assert missed in m.engine.workers_index_
    assert m.feed.position >= newest(writer)
    if snapshots:  # its snapshot was older than the pruned point: a new one was built
        assert m.snapshot.feed_position >= newest(writer) - 1


def test_index_build_prunes_what_no_snapshot_needs(host, monkeypatch):
    import api.service
    from api.cli import cli
    from tests.api.conftest import small_engine

    app = host(FEED_PRUNE_KEEP_ROWS=1, FEED_PRUNE_MIN_AGE_S=0)
    m = matching(app).load()
    writer = host()
    for n in range(3):
        register(writer, 130 + n)
    for key in ("DATABASE_URL", "ID_KEY", "INSTANCE_DIR", "MODELS_DIR"):
        monkeypatch.setenv(f"JOBBRIDGE_{key}", str(app.config[key]))
    monkeypatch.setenv("JOBBRIDGE_FEED_PRUNE_KEEP_ROWS", "1")
    monkeypatch.setenv("JOBBRIDGE_FEED_PRUNE_MIN_AGE_S", "0")
    monkeypatch.setattr(api.service, "model_engine", lambda config: small_engine())
    result = CliRunner().invoke(cli, ["index", "build", "--json", "--quiet"])
    assert result.exit_code == 0, result.output
    built = json.loads(result.output)
    assert built["pruned_changes"] > 0
    with app.extensions["jobbridge"].engine.connect() as connection:
        oldest, top = changes.change_id_bounds(connection)
    # Up to the new snapshot's position, less the newest id kept.
    assert oldest == min(built["feed_position"], top - 1) + 1
    m.sync()  # the running app switches to the new snapshot: nothing missed, nothing rebuilt
    assert m.snapshot.path.as_posix() == built["snapshot"]


# --------------------------------------------------------------------------- model versions
#: A service process (``jobbridge serve``'s settings): answers each line of stdin with its
#: model version and the rankings asked for.
CHILD = """
import json, sys
from api import create_app
from api.service import get_matching

app = create_app(json.loads(sys.argv[1]))
with app.app_context():
    matching = get_matching()
    print(json.dumps({"ready": matching.model_version}), flush=True)
    for line in sys.stdin:
        ask = json.loads(line)
        jobs = {str(w): [[it["job_id"], it["score"]] for it in matching.recommend_jobs(w, 10)]
                for w in ask["workers"]}
        print(json.dumps({"version": matching.model_version, "jobs": jobs,
                          "following": matching.following}), flush=True)
"""


def _ask(process: subprocess.Popen, workers: list[int]) -> dict:
    process.stdin.write(json.dumps({"workers": workers}) + "\n")
    process.stdin.flush()
    return json.loads(process.stdout.readline())


def test_two_processes_follow_a_new_model_version(database_url, id_key, tmp_path):
    """One process follows in the background, the other switches at its next answer; both
    end on the new version, on one snapshot built once, ranking alike."""
    from api import create_app, storage
    from api.cli import cli
    from api.service import EXTENSION, state
    from api.storage import session_scope
    from matcher.persistence import current_version, set_current
    from matcher.snapshot import list_snapshots

    config = {
        "DATABASE_URL": database_url,
        "ID_KEY": id_key,
        "MODELS_DIR": str(tmp_path / "models"),
        "INSTANCE_DIR": str(tmp_path / "instance"),
    }
    env = {f"JOBBRIDGE_{k}": v for k, v in config.items()}
    assert CliRunner().invoke(cli, ["init-db"], env=env).exit_code == 0
    app = create_app({**config, "TESTING": True})
    with app.app_context(), session_scope(state().engine) as session:
        workers = [
            storage.register_worker(
                session, _worker_record(worker_payload(n)), protector=state().protector
            ).id
            for n in range(6)
        ]
        firm = storage.create_firm(session, {"name": "昆山测试电子厂", "city": "苏州市"}).id
        from tests.api.conftest import _job_record, job_payload

        for n in range(6):
            storage.create_job(session, _job_record(job_payload(firm, n)))
    serve = {**config, "ENGINE_PRELOAD": True, "NUMERIC_THREADS": 1, "FEED_POLL_SECONDS": 0.1}
    follower, _ = start_service_process(CHILD, {**serve, "FEED_FOLLOW": True})
    asker, _ = start_service_process(CHILD, {**serve, "FEED_FOLLOW": False})
    try:
        old = current_version(config["MODELS_DIR"])
        a, b = _ask(follower, workers), _ask(asker, workers)
        assert a["version"] == b["version"] == old
        assert a["following"] and not b["following"]
        # A new version made current, as `jobbridge train` does (the same learned content
        # under another name, so that the test needs no training).
        new = f"{old}-next"
        shutil.copytree(Path(config["MODELS_DIR"]) / old, Path(config["MODELS_DIR"]) / new)
        set_current(config["MODELS_DIR"], new)
        assert _ask(asker, workers)["version"] == new  # at its next answer
        deadline = time.monotonic() + 120
        while (a := _ask(follower, workers))["version"] != new:
            assert time.monotonic() < deadline, "the follower did not switch in 120 s"
            time.sleep(0.2)
        b = _ask(asker, workers)
        assert a["jobs"] == b["jobs"] and any(a["jobs"].values())  # ids and scores
        root = Path(config["INSTANCE_DIR"]) / "index"
        assert len(list_snapshots(root, new)) == 1  # built once, mapped by the other
        # Writes after the switch reach both.
        with app.app_context(), session_scope(state().engine) as session:
            late = storage.register_worker(
                session, _worker_record(worker_payload(40)), protector=state().protector
            ).id
        a, b = _ask(follower, [late]), _ask(asker, [late])
        assert a["jobs"] == b["jobs"] and a["jobs"][str(late)]
    finally:
        for p in (follower, asker):
            p.stdin.close()
            p.wait(timeout=60)
        app.extensions[EXTENSION].engine.dispose()


# --------------------------------------------------------------------------- segments
def _import_csv(n: int, start: int) -> str:
    from tests.api.test_changes import _id_number

    return "姓名,身份证号,户籍县,学历,技能\n" + "".join(
        f"导{i},{_id_number(i)},化隆县,初中,做过电焊和叉车{i}\n" for i in range(start, start + n)
    )


def _ranked(app, client, h, workers):
    out = {}
    for w in workers:
        r = client.get(f"/api/v1/workers/{w}/matches?limit=20", headers=h)
        assert r.status_code == 200, r.get_json()
        out[w] = [(i["job_id"], i["score"]) for i in r.get_json()["items"]]
    return out


def test_a_bulk_change_is_prepared_once_per_host_and_mapped_by_the_others(host, world, monkeypatch):
    import io

    import api.feed_segments as fs
    from matcher.segments import segments_folder

    h = world.headers("admin")
    first, second = host(FEED_SEGMENT_ROWS=3), host(FEED_SEGMENT_ROWS=3)
    m1, m2 = matching(first).load(), matching(second).load()
    plain = host(FEED_SEGMENTS=False)
    m3 = matching(plain).load()
    calls = []
    real = fs.obtain
    monkeypatch.setattr(fs, "obtain", lambda *a: calls.append(r := real(*a)) or r)
    writer = host()
    data = {"file": (io.BytesIO(_import_csv(5, 100).encode()), "rows.csv")}
    r = writer.test_client().post(
        "/api/v1/workers/import", data=data, headers=h, content_type="multipart/form-data"
    )
    assert r.status_code == 200, r.get_json()
    imported = r.get_json()["ids"]
    assert m1.sync() == 5 and m2.sync() == 5 and m3.sync() == 5
    assert [wrote for _, wrote in calls] == [True, False]  # the second process mapped it
    folder = segments_folder(m1.index_root, m1.model_version)
    assert len([p for p in folder.iterdir() if not p.name.startswith(".")]) == 1
    for m in (m1, m2, m3):
        assert all(i in m.engine.workers_index_ for i in imported)
    a = _ranked(first, first.test_client(), h, imported + world.workers[:2])
    b = _ranked(second, second.test_client(), h, imported + world.workers[:2])
    c = _ranked(plain, plain.test_client(), h, imported + world.workers[:2])
    assert a == b and any(a.values())  # ids and scores
    assert {w: sorted(v) for w, v in a.items()} == {w: sorted(v) for w, v in c.items()}


def test_the_cli_import_writes_the_segment_before_the_processes_need_it(
    host, world, monkeypatch, tmp_path
):
    import api.service
    from api.cli import cli
    from tests.api.conftest import small_engine

    h = world.headers("admin")
    app = host(FEED_SEGMENT_ROWS=3)
    m = matching(app).load()  # builds the snapshot the command reads its day from
    for key in ("DATABASE_URL", "ID_KEY", "INSTANCE_DIR", "MODELS_DIR"):
        monkeypatch.setenv(f"JOBBRIDGE_{key}", str(app.config[key]))
    monkeypatch.setenv("JOBBRIDGE_FEED_SEGMENT_ROWS", "3")
    monkeypatch.setattr(api.service, "model_engine", lambda config: small_engine())
    path = tmp_path / "rows.csv"
    path.write_text(_import_csv(4, 150), encoding="utf-8")
    result = CliRunner().invoke(cli, ["import", "workers", str(path)])
    assert result.exit_code == 0, result.output
    import api.feed_segments as fs

    calls = []
    real = fs.obtain
    monkeypatch.setattr(fs, "obtain", lambda *a: calls.append(r := real(*a)) or r)
    assert m.sync() == 4
    assert [wrote for _, wrote in calls] == [False]  # mapped: the command had written it
    # The rows are the ones the database holds, and they rank.
    with Session(app.extensions["jobbridge"].engine) as session:
        runs = [r for r in changes.changes_of(session) if r["last_object_id"]]
    imported = list(range(runs[-1]["object_id"], runs[-1]["last_object_id"] + 1))
    assert len(imported) == 4 and all(i in m.engine.workers_index_ for i in imported)
    assert any(_ranked(app, app.test_client(), h, imported).values())


def test_a_segment_an_older_release_wrote_is_prepared_again(host, world, monkeypatch):
    """A segment of another format (rows without the columns this release reads) is not
    mapped: the process prepares the change again and its rows rank."""
    import io
    import json

    import api.feed_segments as fs
    from matcher.segments import MANIFEST, segments_folder

    h = world.headers("admin")
    first, second = host(FEED_SEGMENT_ROWS=3), host(FEED_SEGMENT_ROWS=3)
    m1, m2 = matching(first).load(), matching(second).load()
    calls = []
    real = fs.obtain
    monkeypatch.setattr(fs, "obtain", lambda *a: calls.append(r := real(*a)) or r)
    data = {"file": (io.BytesIO(_import_csv(4, 110).encode()), "rows.csv")}
    writer = host().test_client()
    r = writer.post(
        "/api/v1/workers/import", data=data, headers=h, content_type="multipart/form-data"
    )
    assert r.status_code == 200, r.get_json()
    imported = r.get_json()["ids"]
    assert m1.sync() == 4
    folder = segments_folder(m1.index_root, m1.model_version)
    (segment,) = [p for p in folder.iterdir() if not p.name.startswith(".")]
    manifest = json.loads((segment / MANIFEST).read_text(encoding="utf-8"))
    (segment / MANIFEST).write_text(json.dumps({**manifest, "format": 1}), encoding="utf-8")
    assert m2.sync() == 4
    assert [wrote for _, wrote in calls] == [True, True]  # the old one was not mapped
    assert all(i in m2.engine.workers_index_ for i in imported)
    assert any(_ranked(second, second.test_client(), h, imported).values())
