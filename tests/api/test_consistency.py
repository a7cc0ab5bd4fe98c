"""Two gunicorn processes of ``jobbridge serve`` on one database answer alike and see every
write at once: a worker registered through one is matched by whichever process answers next,
and rows of a CLI import are matched by every process as soon as the command has committed.

It runs the code of ``benchmarks/bench_consistency.py`` at a small scale (the benchmark's flags
give the issue's full figures). On the audit-log sync this replaced, 23 of 40 answers were
empty and a CLI import stayed invisible until a restart.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location(
        "bench_consistency", ROOT / "benchmarks" / "bench_consistency.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_two_processes_answer_alike_and_see_every_write(bench, database_url, id_key, tmp_path):
    # Preloaded: both processes fit their vocabulary at boot on the same rows, so they must
    # rank alike. (Under --lazy each fits its own at its first match, which differs until the
    # vocabulary is part of the model; `bench_consistency.py --lazy` measures that case.)
    token = bench.prepare_database(database_url, id_key, jobs=30)
    with bench.serve(database_url, id_key, tmp_path, processes=2) as server:
        pairs = bench.create_then_match(server, token, pairs=10, asks=2)
        assert pairs.errors == []
        assert pairs.answers == 20
        assert pairs.empty == 0, "a process answered before it had applied a committed write"
        assert pairs.differing == 0
        imported = bench.cli_import_visibility(
            server, token, tmp_path, workers=200, asks=12, in_process=True
        )
        assert imported.empty == 0, "an imported worker was unknown to a running process"
        assert imported.all_seconds is not None and imported.all_seconds <= 2.0
