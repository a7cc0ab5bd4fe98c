"""Two service processes that load the same model version rank the same input identically.

Before format 3 each process fitted its own vocabulary on what the database held when it
booted; here the second process boots after rows were added that the first one only hears of
through the change feed, and both must still give the same ids with the same scores — whether
each indexes the database itself or the second maps the first's index snapshot.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from click.testing import CliRunner

from api.cli import cli
from tests.api.conftest import (
    _job_record,
    _worker_record,
    job_payload,
    start_service_process,
    worker_payload,
)

#: One service process: loads the app as ``jobbridge serve`` does (preload, no factory), says
#: it is ready, then answers one ranking request per line of stdin.
CHILD = """
import json, sys
from api import create_app
from api.service import get_matching

app = create_app(json.loads(sys.argv[1]))
with app.app_context():
    matching = get_matching()
    print(json.dumps({"ready": matching.model_version, "jobs": len(matching.engine.jobs_index_)}),
          flush=True)
    for line in sys.stdin:
        ask = json.loads(line)
        print(json.dumps({
            "jobs": {str(w): [[it["job_id"], it["score"]] for it in matching.recommend_jobs(w, 10)]
                     for w in ask["workers"]},
            "workers": {str(j): [[it["worker_id"], it["score"]]
                                 for it in matching.recommend_workers(j, 20)]
                        for j in ask["jobs"]},
        }), flush=True)
"""


def _ask(process: subprocess.Popen, workers: list[int], jobs: list[int]) -> dict:
    process.stdin.write(json.dumps({"workers": workers, "jobs": jobs}) + "\n")
    process.stdin.flush()
    return json.loads(process.stdout.readline())


def _write(config: dict, jobs: list[dict], workers: list[dict]) -> tuple[list[int], list[int]]:
    from api import create_app, storage
    from api.service import EXTENSION, state
    from api.storage import session_scope

    app = create_app({**config, "TESTING": True})
    try:
        with app.app_context(), session_scope(state().engine) as session:
            job_ids = [storage.create_job(session, _job_record(j)).id for j in jobs]
            worker_ids = [
                storage.register_worker(session, _worker_record(w), protector=state().protector).id
                for w in workers
            ]
        return job_ids, worker_ids
    finally:
        app.extensions[EXTENSION].engine.dispose()


@pytest.mark.parametrize("snapshots", [False, True], ids=["own-index", "snapshot"])
def test_two_processes_rank_the_same_input_identically(database_url, id_key, tmp_path, snapshots):
    """Each process indexing the database itself with the loaded version (``own-index``), or
    the second mapping the index snapshot the first built and replaying the feed."""
    from api import create_app, storage
    from api.service import EXTENSION, state
    from api.storage import session_scope

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
        firm = storage.create_firm(session, {"name": "昆山测试电子厂", "city": "苏州市"}).id
    app.extensions[EXTENSION].engine.dispose()
    jobs, workers = _write(
        config,
        [job_payload(firm, n) for n in range(6)],
        [worker_payload(n) for n in range(8)],
    )
    serve = {**config, "ENGINE_PRELOAD": True, "NUMERIC_THREADS": 1, "INDEX_SNAPSHOTS": snapshots}
    first, said_first = start_service_process(CHILD, serve)
    try:
        # Rows the first process learns of only through the feed; the second boots with them.
        more_jobs, more_workers = _write(
            config,
            [
                job_payload(firm, 7, title="数控车床操作工 两班倒", description="数控加工"),
                job_payload(firm, 9, title="快递分拣员", city="南京"),
            ],
            [
                worker_payload(20, skills_text="在深圳开过数控车床三年"),
                worker_payload(21, skills_text="做过快递分拣和装卸"),
            ],
        )
        second, said_second = start_service_process(CHILD, serve)
        try:
            assert said_first["ready"] == said_second["ready"]  # the same model version
            if not snapshots:  # each indexed what the database held when it booted
                assert (said_first["jobs"], said_second["jobs"]) == (6, 8)
            ask_workers, ask_jobs = workers + more_workers, jobs + more_jobs
            a = _ask(first, ask_workers, ask_jobs)
            b = _ask(second, ask_workers, ask_jobs)
            assert a == b  # ids and scores, to the last bit
            assert all(a["jobs"][str(w)] for w in more_workers)
            assert any(a["workers"][str(j)] for j in more_jobs)
        finally:
            second.stdin.close()
            second.wait(timeout=60)
    finally:
        first.stdin.close()
        first.wait(timeout=60)
