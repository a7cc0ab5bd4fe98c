"""The background queue (:mod:`api.tasks`): big imports, allocations, fair plans.

Most tests run huey in immediate mode (the task runs inside ``submit``); one runs a real
consumer thread on the embedded SQLite queue, one on Redis (127.0.0.1:6379), and one the
``jobbridge worker`` command as a process stopped by Ctrl-C (SIGINT).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from data.idcard import make_id_number
from tests.api.conftest import HUALONG, YANCHANG, make_app

HEADER = ["姓名", "身份证号", "县区代码", "学历", "手机号", "技能", "求职意向", "意向城市"]


def workers_csv(n: int, *, county: str = HUALONG, first: int = 0, bad_rows=()) -> bytes:
    """``n`` valid workers (unique ID numbers from ``first``); rows listed in ``bad_rows``
    (0-based) get a malformed ID number."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for i in range(first, first + n):
        birth = dt.date(1970, 1, 1) + dt.timedelta(days=i % 10_000)
        gender = "男" if i % 2 else "女"
        id_number = make_id_number(county, birth, (i // 10_000) % 990 + 10, gender)
        if i - first in bad_rows:
            id_number = "12345"
        writer.writerow(
            [f"导入{i}", id_number, county, "初中", f"139{i:08d}", "做过缝纫工", "缝纫工", "苏州"]
        )
    return out.getvalue().encode("utf-8")


def principal(role: str, **kw):
    from api.auth import Principal

    return Principal(
        key_id=None,  # type: ignore[arg-type]
        name=f"测试{role}",
        role=role,
        firm_id=kw.get("firm_id"),
        region_prefix=kw.get("region_prefix"),
    )


ADMIN = principal("admin")
BUREAU = principal("bureau", region_prefix="6302")


@pytest.fixture
def immediate(app):
    """The app's queue in immediate mode: a task runs, and ends, inside ``submit``."""
    from huey import Huey

    from api.tasks import EXTENSION, TaskQueue

    app.extensions[EXTENSION] = TaskQueue(app, Huey("test", immediate=True))
    return app


def upload(app, data: bytes, name: str = "劳动力.csv") -> dict:
    folder = Path(app.config["INSTANCE_DIR"]) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.csv"
    path.write_bytes(data)
    return {"path": str(path), "filename": name}


def submit(app, who, kind, params, title="测试任务"):
    from api import tasks
    from api.service import get_session

    with app.app_context():
        task = tasks.submit(get_session(), who, kind, title, params)
        return task.id


def task_row(app, task_id):
    from api.service import get_session
    from api.storage.models import Task

    with app.app_context():
        session = get_session()
        row = session.get(Task, task_id)
        session.expunge(row)
        return row


def count_workers(app) -> int:
    from api.service import get_session
    from api.storage.models import Worker

    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(Worker))


# --------------------------------------------------------------------------- immediate mode
def test_import_runs_in_background_and_audits_every_row(immediate):
    from api.service import get_session
    from api.storage.models import AuditEntry

    app = immediate
    before = count_workers(app)
    params = upload(app, workers_csv(40))
    task_id = submit(app, ADMIN, "import_workers", params)
    row = task_row(app, task_id)
    assert (row.status, row.error) == ("done", None)
    assert row.result["created"] == 40 and row.result["rejected"] == 0
    assert (row.done, row.total, row.stage) == (40, 40, "已完成")
    assert row.started_at and row.finished_at
    assert count_workers(app) == before + 40
    with app.app_context():
        audited = [
            fields
            for (fields,) in get_session().execute(
                select(AuditEntry.fields).where(
                    AuditEntry.object_type == "worker", AuditEntry.action == "create"
                )
            )
            if fields == ["import"]
        ]
    assert len(audited) == 40
    assert not Path(params["path"]).exists()  # the upload (personal data) is not kept


def test_a_bad_row_fails_the_import_in_chinese_and_stores_nothing(immediate, monkeypatch):
    from api import background_import

    monkeypatch.setattr(background_import, "CHUNK_ROWS", 7)  # several chunks, one bad
    app = immediate
    before = count_workers(app)
    task_id = submit(app, ADMIN, "import_workers", upload(app, workers_csv(20, bad_rows={12})))
    row = task_row(app, task_id)
    assert row.status == "failed"
    assert row.error.startswith("共有 1 行不合规（第 14 行），未导入任何数据")
    (error,) = row.result["errors"]
    assert (error["row"], error["column"]) == (14, "身份证号")
    assert count_workers(app) == before
    # The file was read to its end before it was refused: the bar says so.
    from api import tasks
    from api.service import get_session
    from api.storage.models import Task

    with app.app_context():
        shown = tasks.progress_of(get_session().get(Task, task_id))
    assert (shown["status"], shown["percent"]) == ("failed", 100)


def test_skip_invalid_stores_the_good_rows_and_lists_the_bad(immediate):
    app = immediate
    before = count_workers(app)
    params = {**upload(app, workers_csv(10, bad_rows={0, 5})), "skip_invalid": True}
    row = task_row(app, submit(app, ADMIN, "import_workers", params))
    assert row.status == "done"
    assert (row.result["created"], row.result["rejected_rows"]) == (8, 2)
    assert [e["row"] for e in row.result["errors"]] == [2, 7]
    assert count_workers(app) == before + 8


def test_an_id_number_twice_in_different_chunks_is_refused(immediate, monkeypatch):
    from api import background_import

    monkeypatch.setattr(background_import, "CHUNK_ROWS", 5)
    app = immediate
    data = workers_csv(8)
    lines = data.decode().splitlines()
    lines.append(lines[1].replace("导入0", "重复的人"))  # row 10 repeats row 2's ID number
    before = count_workers(app)
    row = task_row(
        app, submit(app, ADMIN, "import_workers", upload(app, "\n".join(lines).encode()))
    )
    assert row.status == "failed"
    assert [e["row"] for e in row.result["errors"]] == [10]
    assert count_workers(app) == before


def test_a_bureau_imports_only_its_own_counties(immediate):
    app = immediate
    data = workers_csv(3, county=YANCHANG, first=500)
    row = task_row(app, submit(app, BUREAU, "import_workers", upload(app, data)))
    assert row.status == "failed"
    assert {e["message"] for e in row.result["errors"]} == {f"县区 {YANCHANG} 不在本辖区（6302）内"}


def test_a_missing_column_fails_with_the_header_named(immediate):
    app = immediate
    data = "姓名,手机号\n张三,13800000000\n".encode()
    row = task_row(app, submit(app, ADMIN, "import_workers", upload(app, data)))
    assert row.status == "failed"
    assert row.error.startswith("文件表头不合规，未导入任何数据")
    assert "身份证号" in row.error


def test_progress_is_reported_chunk_by_chunk(immediate, monkeypatch):
    from api import background_import, tasks

    monkeypatch.setattr(background_import, "CHUNK_ROWS", 10)
    monkeypatch.setattr(tasks, "PROGRESS_EVERY_S", 0.0)
    seen = []
    queue = tasks.get_queue(immediate)
    original = queue.report

    def spy(task_id, done, total, stage, force=False):
        seen.append((done, total))
        original(task_id, done, total, stage, force=force)

    monkeypatch.setattr(queue, "report", spy)
    submit(immediate, ADMIN, "import_workers", upload(immediate, workers_csv(35)))
    assert [d for d, t in seen if t == 35] == [0, 10, 20, 30, 35, 35]


def test_progress_of_reads_the_live_figures_while_running(immediate):
    from api import tasks
    from api.service import get_session
    from api.storage.models import Task

    app = immediate
    queue = tasks.get_queue(app)
    with app.app_context():
        session = get_session()
        row = Task(kind="import_workers", title="t", status="running", params={}, role="admin")
        session.add(row)
        session.commit()
        queue.report(row.id, 250, 1000, "已校验 250 / 1000 行", force=True)
        shown = tasks.progress_of(row, queue)
    assert (shown["percent"], shown["stage"], shown["finished"]) == (
        25,
        "已校验 250 / 1000 行",
        False,
    )


def test_an_unexpected_error_is_recorded_in_chinese(immediate, monkeypatch):
    from api import tasks

    def boom(params, progress):
        raise RuntimeError("磁盘已满")

    monkeypatch.setitem(tasks.HANDLERS, "train", boom)
    row = task_row(immediate, submit(immediate, ADMIN, "train", {}))
    assert row.status == "failed"
    assert row.error == "内部错误（RuntimeError）：磁盘已满。请联系管理员查看服务日志。"


def test_allocation_task_stores_a_proposal_that_can_be_confirmed_once(immediate, world):
    from api import allocation_runs
    from api.errors import ApiError
    from api.service import get_session

    app = immediate
    row = task_row(app, submit(app, BUREAU, "allocation", {"counties": [HUALONG]}))
    assert row.status == "done", row.error
    allocation_id = row.result["allocation_id"]
    with app.app_context():
        session = get_session()
        allocation = allocation_runs.get_allocation(session, BUREAU, allocation_id)
        assert allocation.status == "proposed"
        shown = allocation_runs.review(session, BUREAU, allocation)
        assert shown["counties"] == ["化隆回族自治县"]
        assert len(shown["assignments"]) + len(shown["unassigned"]) == len(world.workers)
        if shown["assignments"]:
            first = shown["assignments"][0]
            assert first["name"].startswith("测试") and first["firm"]
        allocation_runs.confirm_allocation(session, BUREAU, allocation_id)
        again = allocation_runs.get_allocation(session, BUREAU, allocation_id)
        assert (again.status, again.confirmed_by) == ("confirmed", "测试bureau")
        with pytest.raises(ApiError, match="不能重复确认"):
            allocation_runs.confirm_allocation(session, BUREAU, allocation_id)


def test_allocation_task_of_another_region_fails_with_the_reason(immediate):
    row = task_row(immediate, submit(immediate, BUREAU, "allocation", {"counties": [YANCHANG]}))
    assert row.status == "failed"
    assert row.error == f"县区 {YANCHANG} 不在您的辖区（6302）内。"


def test_fair_plan_task_then_hand_edits(immediate, world):
    from api import fair_plans
    from api import schemas as s
    from api.service import get_session

    app = immediate
    with app.app_context():
        fair = fair_plans.create_fair(
            get_session(),
            ADMIN,
            s.FairCreate(
                name="化隆县春风行动专场",
                county_code=HUALONG,
                date=dt.date(2026, 3, 1),
                start_time=dt.time(9),
                end_time=dt.time(11),
                slot_minutes=15,
                booths=2,
            ),
        )
        fair_id = fair.id
    row = task_row(app, submit(app, ADMIN, "fair_plan", {"fair_id": fair_id, "time_limit_s": 5}))
    assert row.status == "done", row.error
    with app.app_context():
        session = get_session()
        fair = fair_plans.get_fair(session, ADMIN, fair_id)
        grid = fair_plans.timetable(session, fair)
        assert [s["label"] for s in grid["slots"]][:3] == ["09:00", "09:15", "09:30"]
        assert len(grid["slots"]) == 8
        booked = [iv for r in grid["rows"] for c in r["cells"] for iv in c["interviews"]]
        assert booked and len(booked) == grid["n_interviews"] == row.result["interviews"]
        iv = next(iv for iv in booked if iv["moves"])
        target = iv["moves"][0]["start"]
        fair, change = fair_plans.move_interview(
            session, ADMIN, fair_id, iv["worker_id"], iv["firm_id"], target
        )
        assert change["change"] == "moved" and change["start"] == target
        moved = [
            x
            for x in fair.plan["interviews"]
            if (x["worker_id"], x["firm_id"]) == (iv["worker_id"], iv["firm_id"])
        ]
        assert [x["start"] for x in moved] == [target]
        n = len(fair.plan["interviews"])
        fair, change = fair_plans.cancel_interview(
            session, ADMIN, fair_id, iv["worker_id"], iv["firm_id"]
        )
        assert change["why"] == "组织方取消了这场面试"
        assert len(fair.plan["interviews"]) == n - 1
        fair, _ = fair_plans.replan(session, ADMIN, fair_id, time_limit_s=5)
        pairs = {(x["worker_id"], x["firm_id"]) for x in fair.plan["interviews"]}
        assert (iv["worker_id"], iv["firm_id"]) not in pairs  # a cancelled one stays cancelled
        _, data = fair_plans.render_lists(session, ADMIN, fair_id, "xlsx")
        assert data[:2] == b"PK"


# --------------------------------------------------------------------------- real consumers
def wait_for(app, task_id, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = task_row(app, task_id)
        if row.status in ("done", "failed"):
            return row
        time.sleep(0.1)
    raise AssertionError(f"task {task_id} still {row.status} after {timeout} s")


def test_a_consumer_thread_runs_the_import_from_the_sqlite_queue(app):
    from huey import SqliteHuey

    from api import tasks

    queue = tasks.get_queue(app)
    assert isinstance(queue.huey, SqliteHuey)
    assert Path(app.config["INSTANCE_DIR"], tasks.SQLITE_QUEUE_FILE).exists()
    before = count_workers(app)
    task_id = submit(app, ADMIN, "import_workers", upload(app, workers_csv(25, first=2000)))
    assert task_row(app, task_id).status == "queued"  # nothing runs it yet
    consumer = tasks.start_consumer(queue)
    try:
        row = wait_for(app, task_id)
    finally:
        consumer.stop(graceful=True)
    assert (row.status, row.result["created"]) == ("done", 25)
    assert count_workers(app) == before + 25


def redis_reachable() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_timeout=1).ping())
    except Exception:
        return False


@pytest.mark.skipif(not redis_reachable(), reason="Redis is not running at 127.0.0.1:6379")
def test_the_same_code_runs_on_redis(database_url, id_key, tmp_path, request):
    import shutil

    from huey import RedisHuey

    from api import tasks
    from tests.api.conftest import dispose

    if database_url.startswith("sqlite"):
        template, _ = request.getfixturevalue("sqlite_template")
        shutil.copy(template, database_url.removeprefix("sqlite:///"))
    else:
        pytest.skip("the queue, not the database, is under test")
    name = f"jobbridge-test-{uuid.uuid4().hex[:8]}"
    app = make_app(
        database_url,
        id_key,
        tmp_path,
        REDIS_URL="redis://127.0.0.1:6379/0",
        TASK_QUEUE_NAME=name,
    )
    queue = tasks.get_queue(app)
    assert isinstance(queue.huey, RedisHuey)
    consumer = None
    try:
        task_id = submit(app, ADMIN, "import_workers", upload(app, workers_csv(15, first=3000)))
        assert queue.huey.pending_count() == 1
        consumer = tasks.start_consumer(queue)
        row = wait_for(app, task_id)
        assert (row.status, row.result["created"]) == ("done", 15)
        assert not Path(app.config["INSTANCE_DIR"], tasks.SQLITE_QUEUE_FILE).exists()
    finally:
        if consumer is not None:
            consumer.stop(graceful=True)
        queue.huey.storage.flush_all()
        dispose(app)


@pytest.mark.slow
def test_jobbridge_worker_runs_tasks_and_stops_on_ctrl_c(app, id_key, tmp_path):
    """The command a clerk's server runs: it picks the task up, and SIGINT ends it cleanly."""
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "JOBBRIDGE_DATABASE_URL": app.config["DATABASE_URL"],
        "JOBBRIDGE_ID_KEY": id_key,
        "JOBBRIDGE_INSTANCE_DIR": app.config["INSTANCE_DIR"],
        "JOBBRIDGE_MODELS_DIR": app.config["MODELS_DIR"],
    }
    env.pop("JOBBRIDGE_REDIS_URL", None)
    env.pop("JOBBRIDGE_TASKS_IMMEDIATE", None)
    task_id = submit(app, ADMIN, "import_workers", upload(app, workers_csv(12, first=4000)))
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "worker", "--threads", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        row = wait_for(app, task_id, timeout=120)
        assert (row.status, row.result["created"]) == ("done", 12)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = process.stdout.read().decode()
    assert "后台任务队列：SQLite" in output
