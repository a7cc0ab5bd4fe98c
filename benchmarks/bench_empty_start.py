"""How fast does a new deployment answer? ``init-db`` then ``serve`` on an empty database.

Steps, per run, against a real gunicorn on loopback:

1. a fresh database (a temporary SQLite file, or ``--database-url`` pointing at an empty one)
   and an empty models folder: ``jobbridge init-db`` migrates it and builds the base model
   (learned from ``data/reference`` alone) — timed;
2. ``jobbridge serve --workers P`` starts; ``/healthz`` is polled (every 0.2 s) until it
   answers 200 with the engine loaded (``serve`` preloads: a process answers only once its
   engine is ready) — the seconds from starting ``serve`` to that first answer;
3. an admin key (``jobbridge keys create``), then the first firm, the first job and the first
   worker through the API, and each one's matches: the counts must be non-empty.

Target (issue 9): ≤ 10 s from ``serve`` to its first answer; first job and worker → non-empty
matches. The previous design never answered here: each gunicorn process fitted its TF-IDF
vocabulary on zero jobs at boot ("Found array with 0 sample(s)") and the arbiter halted.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_empty_start.py [--runs 3] [--processes 2]

It prints one line per run and the medians, with the host's load average: on a shared host
the start is CPU-bound (imports, unpickling), so its seconds scale with the load.
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_consistency import API, cli_env, job_body, serve, worker_body  # noqa: E402


def one_run(url: str | None, processes: int) -> dict[str, float | int | str]:
    with tempfile.TemporaryDirectory(prefix="jobbridge-empty-") as tmp:
        folder = Path(tmp)
        url = url or f"sqlite:///{folder / 'empty.db'}"
        id_key = base64.b64encode(os.urandom(32)).decode()
        env = cli_env(url, id_key, folder)
        cli = [sys.executable, "-c", "from api.cli import cli; cli()"]
        started = time.perf_counter()
        subprocess.run([*cli, "init-db"], env=env, check=True, capture_output=True)
        init_s = time.perf_counter() - started
        size = sum(p.stat().st_size for p in (folder / "models").rglob("*") if p.is_file())
        started = time.perf_counter()
        with serve(url, id_key, folder, processes=processes) as server:
            first_answer_s = time.perf_counter() - started
            _, health = server.request("GET", f"{API}/healthz", "")
            key = subprocess.run(
                [*cli, "keys", "create", "--role", "admin", "--name", "首位管理员"],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
            status, firm = server.request(
                "POST", f"{API}/firms", key, {"name": "昆山首家服装厂", "city": "苏州"}
            )
            assert status == 201, firm
            status, job = server.request("POST", f"{API}/jobs", key, job_body(firm["id"], 1))
            assert status == 201, job
            status, worker = server.request("POST", f"{API}/workers", key, worker_body(1))
            assert status == 201, worker
            t = time.perf_counter()
            _, jobs = server.request("GET", f"{API}/workers/{worker['id']}/matches", key)
            first_match_ms = (time.perf_counter() - t) * 1000
            _, workers = server.request("GET", f"{API}/jobs/{job['id']}/matches", key)
        return {
            "load_average": os.getloadavg()[0],
            "init_db_s": init_s,
            "serve_to_first_answer_s": first_answer_s,
            "first_match_ms": first_match_ms,
            "jobs_for_first_worker": len(jobs["items"]),
            "workers_for_first_job": len(workers["items"]),
            "model_version": health["model_version"],
            "model_folder_bytes": size,
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="an EMPTY database (default: SQLite)")
    parser.add_argument("--processes", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args(argv)
    if args.database_url and args.runs > 1:
        parser.error("--runs > 1 needs a fresh database per run: leave --database-url out")
    runs = []
    for n in range(args.runs):
        r = one_run(args.database_url, args.processes)
        runs.append(r)
        print(
            f"run {n + 1}: init-db (with base model) {r['init_db_s']:.1f} s, serve → first "
            f"answer {r['serve_to_first_answer_s']:.1f} s ({args.processes} processes), first "
            f"match {r['first_match_ms']:.0f} ms; first worker → {r['jobs_for_first_worker']} "
            f"job(s), first job → {r['workers_for_first_job']} worker(s); model "
            f"{r['model_version']} ({r['model_folder_bytes'] / 2**20:.1f} MiB); host load "
            f"average {r['load_average']:.1f} on {os.cpu_count()} cores",
            flush=True,
        )
    med = {k: statistics.median(float(r[k]) for r in runs) for k in runs[0] if k != "model_version"}
    print(
        f"median of {len(runs)}: init-db {med['init_db_s']:.1f} s, serve → first answer "
        f"{med['serve_to_first_answer_s']:.1f} s (target ≤ 10 s), first-worker matches "
        f"{med['jobs_for_first_worker']:.0f}, first-job matches {med['workers_for_first_job']:.0f} "
        "(target > 0). Previous design: no answer (every process failed to boot)."
    )


if __name__ == "__main__":
    main()
