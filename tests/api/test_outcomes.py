"""Outcome events are facts with an owner and an order (issue 12 §4): who may record which stage,
the order of a pair's stages and their dates, corrections as new events, and the filter that
keeps forged or disordered rows out of training."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from api.storage.outcomes import filter_training_events, pair_reasons
from tests.api.conftest import SEED_REGISTERED

API = "/api/v1"
D = dt.date


def _post(client, world, role, worker, job, stage, day, **extra):
    body = {"worker_id": worker, "job_id": job, "stage": stage, "date": str(day), **extra}
    return client.post(f"{API}/outcomes", json=body, headers=world.headers(role))


def _job(client, world, job_id):
    return client.get(f"{API}/jobs/{job_id}", headers=world.headers("admin")).get_json()


# --------------------------------------------------------------------------- who records what
def test_the_forged_rows_of_the_issue_are_refused(client, world):
    w, j = world.workers[0], world.jobs[0]
    # An organiser posting retained_6m for a worker never hired.
    r = _post(client, world, "organiser", w, j, "retained_6m", "2026-03-01")
    assert r.status_code == 403
    # An HR key posting hired for any worker against its own job.
    r = _post(client, world, "hr", w, j, "hired", "2026-03-01")
    assert r.status_code == 404
    assert r.get_json()["detail"] == f"劳动力 {w} 不存在。"
    # ... answered exactly as for a worker that does not exist.
    absent = _post(client, world, "hr", 424242, j, "hired", "2026-03-01").get_json()
    assert absent["detail"] == "劳动力 424242 不存在。"
    assert {k: v for k, v in absent.items() if k != "detail"} == {
        k: v for k, v in r.get_json().items() if k != "detail"
    }
    # The bureau posting retained_6m for its own worker who was never hired.
    r = _post(client, world, "bureau", w, j, "retained_6m", "2026-03-01")
    assert r.status_code == 422
    assert "录用（hired）之后" in r.get_json()["errors"][0]["message"]
    assert _job(client, world, j)["hired_count"] == 0


@pytest.mark.parametrize(
    ("role", "stage"),
    [("hr", "applied"), ("hr", "retained_3m"), ("hr", "retained_6m"), ("bureau", "hired")],
)
def test_a_role_records_only_the_stages_it_witnesses(client, world, role, stage):
    r = _post(client, world, role, world.workers[0], world.jobs[0], stage, "2026-03-01")
    assert r.status_code == 403
    detail = r.get_json()["detail"]
    assert detail.startswith("该角色不能记录“") and stage in detail
    assert str(world.workers[0]) not in detail  # names no worker or job


def test_the_funnel_recorded_by_its_witnesses(client, world):
    w, j = world.workers[1], world.jobs[0]
    assert _post(client, world, "bureau", w, j, "applied", "2026-01-05").status_code == 201
    assert _post(client, world, "hr", w, j, "interviewed", "2026-01-10").status_code == 201
    r = _post(client, world, "hr", w, j, "hired", "2026-01-15")
    assert r.status_code == 201
    assert _job(client, world, j)["hired_count"] == 1
    # Three months are not over after ten days.
    r = _post(client, world, "bureau", w, j, "retained_3m", "2026-01-25")
    assert r.status_code == 422
    assert r.get_json()["errors"][0] == {
        "field": "date",
        "message": "“在岗3个月（retained_3m）”的日期 2026-01-25 距录用（2026-01-15）不足 89 天；"
        "最早为 2026-04-14",
    }
    assert _post(client, world, "bureau", w, j, "retained_3m", "2026-04-15").status_code == 201
    assert _post(client, world, "bureau", w, j, "retained_6m", "2026-07-15").status_code == 201
    # A second hire of the same pair is a conflict that points at the first and at corrects.
    r = _post(client, world, "hr", w, j, "hired", "2026-02-01")
    assert r.status_code == 409
    assert "corrects" in r.get_json()["detail"]
    # A departure before the recorded 6-month retention would make it false.
    r = _post(client, world, "hr", w, j, "left", "2026-05-01")
    assert r.status_code == 422
    assert "在岗6个月" in r.get_json()["errors"][0]["message"]
    assert _post(client, world, "hr", w, j, "left", "2026-08-01").status_code == 201


def test_dates_between_registration_and_today(client, world):
    w, j = world.workers[2], world.jobs[1]
    tomorrow = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date() + dt.timedelta(days=1)
    r = _post(client, world, "bureau", w, j, "applied", tomorrow)
    assert r.status_code == 422
    assert "在今天" in r.get_json()["errors"][0]["message"]
    before = SEED_REGISTERED - dt.timedelta(days=1)
    r = _post(client, world, "bureau", w, j, "applied", before)
    assert r.status_code == 422
    assert r.get_json()["errors"][0]["message"] == (
        f"日期 {before.isoformat()} 早于该劳动力的登记日期 {SEED_REGISTERED.isoformat()}"
    )


def test_a_bureau_follows_up_on_a_filled_job_it_hired_into(client, world):
    w, j = world.workers[3], world.jobs[2]
    h = world.headers("admin")
    job = _job(client, world, j)
    client.patch(f"{API}/jobs/{j}", json={"headcount": 1, "version": job["version"]}, headers=h)
    assert _post(client, world, "bureau", w, j, "applied", "2026-01-05").status_code == 201
    assert _post(client, world, "hr", w, j, "hired", "2026-01-15").status_code == 201
    assert _job(client, world, j)["status"] == "filled"
    assert _post(client, world, "bureau", w, j, "retained_3m", "2026-04-20").status_code == 201
    # Another of its workers, without events there, cannot see the filled job.
    r = _post(client, world, "bureau", world.workers[4], j, "applied", "2026-04-20")
    assert r.status_code == 404 and r.get_json()["detail"] == f"岗位 {j} 不存在。"


# --------------------------------------------------------------------------- corrections
def test_a_correction_is_a_new_event_that_replaces_the_old_one(client, world):
    w, j = world.workers[5], world.jobs[3]
    assert _post(client, world, "bureau", w, j, "applied", "2026-01-05").status_code == 201
    first = _post(client, world, "hr", w, j, "hired", "2026-01-20").get_json()
    assert _job(client, world, j)["hired_count"] == 1
    # The hire date was wrong: a new event names the wrong one.
    fixed = _post(client, world, "hr", w, j, "hired", "2026-01-18", corrects=first["id"])
    assert fixed.status_code == 201, fixed.get_json()
    assert fixed.get_json()["corrects"] == first["id"]
    assert _job(client, world, j)["hired_count"] == 1  # still one hire
    # The old one is still there, unchanged.
    old = client.get(f"{API}/outcomes/{first['id']}", headers=world.headers("admin")).get_json()
    assert (old["date"], old["corrects"]) == ("2026-01-20", None)
    # It can be corrected once; the latest one is what to correct next.
    again = _post(client, world, "hr", w, j, "hired", "2026-01-19", corrects=first["id"])
    assert again.status_code == 409
    # It was no hire at all, only an interview: the hire stops counting.
    r = _post(
        client, world, "hr", w, j, "interviewed", "2026-01-18", corrects=fixed.get_json()["id"]
    )
    assert r.status_code == 201
    assert _job(client, world, j)["hired_count"] == 0


def test_corrections_keep_scope_witness_and_pair(client, world):
    w, j = world.workers[0], world.jobs[1]
    applied = _post(client, world, "bureau", w, j, "applied", "2026-01-05").get_json()
    # HR may not correct what only the bureau witnesses.
    r = _post(client, world, "hr", w, j, "interviewed", "2026-01-06", corrects=applied["id"])
    assert r.status_code == 403
    # A correction names an event of the same pair.
    r = _post(client, world, "bureau", w, world.jobs[0], "applied", "2026-01-06",
              corrects=applied["id"])  # fmt: skip
    assert r.status_code == 422 and r.get_json()["errors"][0]["field"] == "corrects"
    # An event outside the caller's scope reads as one that does not exist.
    other = _post(client, world, "admin", world.other_workers[0], j, "applied", "2026-01-05")
    other_id = other.get_json()["id"]
    r = _post(client, world, "bureau", w, j, "applied", "2026-01-06", corrects=other_id)
    assert r.status_code == 404
    assert r.get_json()["detail"] == f"就业结果 {other_id} 不存在。"
    absent = _post(client, world, "bureau", w, j, "applied", "2026-01-06", corrects=999_999)
    assert absent.get_json()["detail"] == "就业结果 999999 不存在。"


# --------------------------------------------------------------------------- training filter
def test_pair_reasons_read_the_funnel_in_date_order():
    events = [
        ("hired", D(2026, 3, 1)),
        ("recommended", D(2026, 2, 1)),
        ("recommended", D(2026, 2, 10)),  # recommended again: fine
        ("retained_3m", D(2026, 6, 1)),
        ("hired", D(2026, 3, 2)),
        ("left", D(2026, 7, 1)),
        ("retained_6m", D(2026, 9, 1)),  # after it left
        ("applied", D(2027, 1, 1)),  # future
    ]
    assert pair_reasons(events, registered_at=D(2026, 1, 1), today=D(2026, 12, 1)) == [
        None,
        None,
        None,
        None,
        "duplicate",
        None,
        "out_of_order",
        "future",
    ]


def test_filter_training_events_counts_what_it_drops():
    workers = pd.DataFrame({"worker_id": [1, 2], "registered_at": [D(2026, 1, 1), D(2026, 5, 1)]})
    jobs = pd.DataFrame({"job_id": [10, 11]})
    events = pd.DataFrame(
        [
            (1, 1, 10, "recommended", D(2026, 2, 1), None),
            (2, 1, 10, "hired", D(2026, 3, 1), None),
            (3, 1, 10, "retained_6m", D(2026, 9, 5), None),
            (4, 1, 11, "retained_6m", D(2026, 9, 5), None),  # never hired there: forged
            (5, 2, 10, "applied", D(2026, 4, 1), None),  # before registration
            (6, 2, 10, "applied", D(2026, 6, 1), None),
            (7, 2, 10, "interviewed", D(2026, 6, 2), None),
            (8, 2, 10, "hired", D(2026, 6, 3), 7),  # corrects 7: it was a hire
            (9, 3, 10, "hired", D(2026, 6, 3), None),  # unknown worker
            (10, 1, 10, "left", D(2026, 12, 31), None),  # future
        ],
        columns=["id", "worker_id", "job_id", "stage", "date", "corrects"],
    )
    out = filter_training_events(events, workers, jobs, today=D(2026, 12, 1))
    assert out.kept["id"].tolist() == [1, 2, 3, 6, 8]
    assert dict(out.dropped) == {
        "out_of_order": 1,
        "before_registration": 1,
        "corrected": 1,
        "unknown_pair": 1,
        "future": 1,
    }
    report = out.report()
    assert report.startswith("就业结果事件：采用 5 条，舍弃 5 条（")
    assert "已被更正 1 条" in report and "缺少前一阶段" in report


def test_train_drops_forged_rows_and_says_so(database_url, tmp_path, id_key):
    from click.testing import CliRunner

    from api import storage as st
    from api.cli import cli

    env = {
        "JOBBRIDGE_DATABASE_URL": database_url,
        "JOBBRIDGE_INSTANCE_DIR": str(tmp_path / "inst"),
        "JOBBRIDGE_ID_KEY": id_key,
        "JOBBRIDGE_MODELS_DIR": str(tmp_path / "models"),
    }
    runner = CliRunner()
    loaded = runner.invoke(
        cli, ["load-demo", "--workers", "300", "--jobs", "60", "--quiet"], env=env
    )
    assert loaded.exit_code == 0, loaded.output
    engine = st.make_engine(database_url)
    try:
        with st.session_scope(engine) as session:
            # Forged rows written past the API (the storage function has no rules of its own).
            jobs, workers, events = st.read_world(session)
            worker = int(workers["worker_id"].iloc[0])
            paired = set(events.loc[events["worker_id"] == worker, "job_id"])
            job = int(next(j for j in jobs["job_id"] if j not in paired))
            for stage in ("retained_6m", "hired"):
                st.record_outcome(session, worker, job, stage, "2026-10-01")
    finally:
        engine.dispose()
    result = runner.invoke(cli, ["train", "--encoder", "char-ngram", "--quiet"], env=env)
    assert result.exit_code == 0, result.output
    assert "舍弃 2 条" in result.stderr, result.stderr


def test_demo_trains_only_on_events_that_pass_the_rules(monkeypatch, tmp_path, id_key):
    """`jobbridge demo` trains right after loading, on the events it generated rather than
    read back: those go through the same filter, and what it dropped is said."""
    from click.testing import CliRunner

    import api.cli as cli_module
    import data.outcomes
    import training.pipeline

    real = data.outcomes.simulate_outcomes

    def with_a_forged_row(world, pairs, seed=0):
        events = real(world, pairs, seed=seed)
        worker = int(world.workers["worker_id"].iloc[0])
        paired = set(events.loc[events["worker_id"] == worker, "job_id"])
        job = int(next(j for j in world.jobs["job_id"] if j not in paired))
        forged = {"worker_id": worker, "job_id": job, "stage": "retained_6m", "date": D(2026, 3, 1)}
        return pd.concat([events, pd.DataFrame([forged])], ignore_index=True)

    seen = {}

    def fake_train_default(database_url, models_dir, world=None, *, events=None, **kwargs):
        seen["events"] = events
        (tmp_path / "models" / "current").mkdir(parents=True)
        return tmp_path / "models" / "v1"

    monkeypatch.setattr(data.outcomes, "simulate_outcomes", with_a_forged_row)
    monkeypatch.setattr(training.pipeline, "train_default", fake_train_default)
    monkeypatch.setattr(cli_module, "serve", lambda **kw: None)
    monkeypatch.setattr(cli_module, "DEMO_WORKERS", 150)
    monkeypatch.setattr(cli_module, "DEMO_JOBS", 20)
    env = {
        "JOBBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "JOBBRIDGE_INSTANCE_DIR": str(tmp_path / "inst"),
        "JOBBRIDGE_ID_KEY": id_key,
        "JOBBRIDGE_MODELS_DIR": str(tmp_path / "models"),
        "JOBBRIDGE_TASKS_IMMEDIATE": "true",
    }
    result = CliRunner().invoke(cli_module.cli, ["demo", "--quiet"], env=env)
    assert result.exit_code == 0, result.output
    events = seen["events"]
    assert len(events) > 0
    assert not ((events["stage"] == "retained_6m") & (events["date"] == D(2026, 3, 1))).any()
    assert "舍弃 1 条（缺少前一阶段" in result.stderr, result.stderr


def test_the_train_task_drops_forged_rows_and_reports_them(app, world, monkeypatch):
    """The background `train` task (the pages' retrain button) reads stored events through the
    same filter as `jobbridge train`."""
    from huey import Huey

    import training.pipeline
    from api import storage
    from api.service import state
    from api.tasks import EXTENSION, TaskQueue
    from tests.api.test_tasks import ADMIN, submit, task_row

    day = SEED_REGISTERED + dt.timedelta(days=1)
    w, j = world.workers[0], world.jobs[0]
    with app.app_context(), storage.session_scope(state().engine) as session:
        storage.record_outcome(session, w, j, "applied", day)
        storage.record_outcome(session, w, j, "hired", day)
        storage.record_outcome(session, world.workers[1], j, "retained_6m", day)  # no hire
    seen = {}

    def fake_train_models(jobs, workers, events, **kwargs):
        seen["events"] = events
        return "models/v-test"

    monkeypatch.setattr(training.pipeline, "train_models", fake_train_models)
    app.extensions[EXTENSION] = TaskQueue(app, Huey("test", immediate=True))
    row = task_row(app, submit(app, ADMIN, "train", {}))
    assert row.status == "done", row.error
    assert row.result["dropped"] == {"out_of_order": 1}
    events = seen["events"]
    assert list(events.columns) == ["worker_id", "job_id", "stage", "date"]
    assert not (events["stage"] == "retained_6m").any()
    assert set(events["stage"]) >= {"applied", "hired"}
