"""A new deployment: ``init-db`` on an empty database builds the base model, the service starts
on it, and the first job and the first worker posted through the API match each other."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from api.cli import cli
from matcher.persistence import ModelLoadError, current_version, read_metadata
from tests.api.conftest import dispose, job_payload, worker_payload

API = "/api/v1"


@pytest.fixture
def settings(database_url, id_key, tmp_path):
    return {
        "DATABASE_URL": database_url,
        "ID_KEY": id_key,
        "MODELS_DIR": str(tmp_path / "models"),
        "INSTANCE_DIR": str(tmp_path / "instance"),
    }


def _init_db(settings) -> CliRunner:
    env = {f"JOBBRIDGE_{k}": v for k, v in settings.items()}
    result = CliRunner().invoke(cli, ["init-db"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_init_db_on_an_empty_database_builds_the_base_model_and_first_pair_matches(settings):
    from api import create_app, storage
    from api.service import EXTENSION, state
    from api.storage import session_scope

    result = _init_db(settings)
    version = current_version(settings["MODELS_DIR"])
    assert version and f"已建立基础模型 {version}" in result.stderr
    assert read_metadata(f"{settings['MODELS_DIR']}/{version}")["kind"] == "base"

    app = create_app({**settings, "TESTING": True, "ENGINE_PRELOAD": True})
    try:
        client = app.test_client()
        health = client.get(f"{API}/healthz").get_json()
        assert health["model_version"] == version and health["engine_loaded"] is True
        with app.app_context(), session_scope(state().engine) as session:
            _, token = storage.create_api_key(session, name="首位管理员", role="admin")
        h = {"Authorization": f"Bearer {token}"}
        empty = client.get(f"{API}/jobs?limit=5", headers=h)
        assert empty.status_code == 200 and empty.get_json()["items"] == []

        firm = client.post(
            f"{API}/firms", json={"name": "昆山首家服装厂", "city": "苏州"}, headers=h
        )
        assert firm.status_code == 201, firm.get_json()
        job = client.post(f"{API}/jobs", json=job_payload(firm.get_json()["id"], 1), headers=h)
        assert job.status_code == 201, job.get_json()
        worker = client.post(f"{API}/workers", json=worker_payload(1), headers=h)
        assert worker.status_code == 201, worker.get_json()
        job_id, worker_id = job.get_json()["id"], worker.get_json()["id"]

        jobs = client.get(f"{API}/workers/{worker_id}/matches?limit=5", headers=h).get_json()
        assert [it["job_id"] for it in jobs["items"]] == [job_id]
        assert jobs["items"][0]["p_success"] is None  # the base model has no ranker yet
        workers = client.get(f"{API}/jobs/{job_id}/matches?limit=5", headers=h).get_json()
        assert [it["worker_id"] for it in workers["items"]] == [worker_id]
    finally:
        app.extensions[EXTENSION].engine.dispose()


def test_serve_builds_the_base_model_once_before_forking(settings, monkeypatch):
    """Serving on a database migrated without a model (an older init-db): serve builds the
    base model before gunicorn starts, so no process ever has to learn one."""
    import api.cli as cli_module
    from api.storage import init_db

    init_db(settings["DATABASE_URL"]).dispose()
    calls = []
    monkeypatch.setattr(cli_module, "serve", lambda **kw: calls.append(kw))
    env = {f"JOBBRIDGE_{k}": v for k, v in settings.items()}
    result = CliRunner().invoke(cli, ["serve", "--port", "18999"], env=env)
    assert result.exit_code == 0, result.output
    version = current_version(settings["MODELS_DIR"])
    assert version and f"已建立基础模型 {version}" in result.stderr and len(calls) == 1


def test_without_any_model_the_service_says_to_run_init_db(settings):
    from api import create_app
    from api.storage import init_db

    init_db(settings["DATABASE_URL"]).dispose()
    with pytest.raises(ModelLoadError, match="jobbridge init-db"):
        create_app({**settings, "TESTING": True, "ENGINE_PRELOAD": True})


def test_serve_creates_the_app_before_forking_and_each_process_loads_the_engine(
    settings, monkeypatch
):
    """``serve`` creates the app once in the gunicorn arbiter (``preload_app``) without the
    engine, a queue file or a database connection; each forked process then loads the model
    and maps the index snapshot in its ``post_worker_init`` hook."""
    import types
    from pathlib import Path

    import gunicorn.app.base

    from api.service import EXTENSION
    from api.tasks import SQLITE_QUEUE_FILE

    _init_db(settings)
    seen = {}

    def fake_run(self):
        seen["cfg"] = self.cfg
        seen["app"] = self.wsgi()  # what the arbiter does with preload_app

    monkeypatch.setattr(gunicorn.app.base.BaseApplication, "run", fake_run)
    env = {f"JOBBRIDGE_{k}": v for k, v in settings.items()}
    result = CliRunner().invoke(cli, ["serve", "--port", "18998"], env=env)
    assert result.exit_code == 0, result.output
    app, cfg = seen["app"], seen["cfg"]
    state = app.extensions[EXTENSION]
    try:
        assert cfg.preload_app is True and app.config["ENGINE_PRELOAD"] is True
        assert not state.matching.loaded  # not in the arbiter
        assert state.engine.pool.checkedout() == 0
        assert not (Path(settings["INSTANCE_DIR"]) / SQLITE_QUEUE_FILE).exists()
        cfg.post_worker_init(types.SimpleNamespace(wsgi=app))  # in a forked process
        assert state.matching.loaded
        assert state.matching.model_version == current_version(settings["MODELS_DIR"])
        assert state.matching.snapshot is not None
        assert state.matching.following  # serve turns FEED_FOLLOW on
    finally:
        dispose(app)
