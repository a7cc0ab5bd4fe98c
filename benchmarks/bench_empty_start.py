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
matches. The design before the base model never answered here: each gunicorn process fitted
its TF-IDF vocabulary on zero jobs at boot ("Found array with 0 sample(s)") and the arbiter
halted. The design before the pre-forked app (stop 14) answered in 28.8 s on the shared
2-core host at load 5-10: every process created the app (routes, pages, schemas, an argon2
hash, huey with redis and psycopg) on the same cores.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_empty_start.py [--runs 3] [--processes 2] \
        [--previous GIT_REF]

It prints one line per run and the medians, with the host's load average: on a shared host
the start is CPU-bound (imports, unpickling), so its seconds scale with the load; the CPU
seconds of the arbiter and of the processes up to the first answer do not. ``--previous
REF`` runs the benchmark of that commit (``git archive``, its own code) before each run of
this one, and prints the ratio of the medians: the previous design measured in the same run.

Last run (2026-12-02, ``--runs 3 --previous a189d06^``, 2 processes, SQLite, on the shared
2-core host at load average 8-13)::

    median of 3: init-db 23.4 s, serve → first answer 7.6 s (CPU: arbiter 1.86 s, busiest
      process 0.38 s), first-worker matches 1, first-job matches 1
    previous design (a189d06^), same run: init-db 13.1 s, serve → first answer 8.9 s;
      ratio x1.16 (serve)

init-db's wall seconds swung 9-32 s between runs at that load; its CPU was the same in both
designs (4.8 s: imports 2.7 s, the vocabulary 1.2-2.4 s, saving 0.5 s). Before the app was
created in the arbiter each process spent 0.6-1.0 s CPU booting, now 0.2-0.4 s.

Run of 2026-12-06 01:57 (2 processes, the machine otherwise idle, load average 0.8-0.9)::

    SQLite      median of 3: init-db 3.9 s (CPU 4.1 s), serve → first answer 2.0 s,
                first-worker matches 1, first-job matches 1, first match 10 ms
    PostgreSQL  one run:     init-db 4.0 s (CPU 4.2 s), serve → first answer 2.1 s,
                first-worker matches 1, first-job matches 1, first match 13 ms
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_consistency import API, ROOT, cli_env, job_body, serve, worker_body  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process so far (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as fh:
                out += [int(x) for x in fh.read().split()]
        except FileNotFoundError:
            pass
    return out


def one_run(url: str | None, processes: int) -> dict[str, float | int | str]:
    with tempfile.TemporaryDirectory(prefix="jobbridge-empty-") as tmp:
        folder = Path(tmp)
        url = url or f"sqlite:///{folder / 'empty.db'}"
        id_key = base64.b64encode(os.urandom(32)).decode()
        env = cli_env(url, id_key, folder)
        cli = [sys.executable, "-c", "from api.cli import cli; cli()"]
        started, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([*cli, "init-db"], env=env, check=True, capture_output=True)
        init_s = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        init_cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        size = sum(p.stat().st_size for p in (folder / "models").rglob("*") if p.is_file())
        started = time.perf_counter()
        with serve(url, id_key, folder, processes=processes) as server:
            first_answer_s = time.perf_counter() - started
            arbiter_cpu = cpu_seconds(server.process.pid)
            process_cpu = sorted(cpu_seconds(p) for p in children(server.process.pid))
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
            "init_db_cpu_s": init_cpu,
            "serve_to_first_answer_s": first_answer_s,
            "arbiter_cpu_s": arbiter_cpu,
            "process_cpu_s": max(process_cpu, default=0.0),
            "first_match_ms": first_match_ms,
            "jobs_for_first_worker": len(jobs["items"]),
            "workers_for_first_job": len(workers["items"]),
            "model_version": health["model_version"],
            "model_folder_bytes": size,
        }


def previous_run(tree: Path, processes: int) -> dict[str, float]:
    """One run of the benchmark of an older commit (its own code, in ``tree``)."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run(
        [sys.executable, str(tree / "benchmarks" / "bench_empty_start.py"), "--runs", "1"]
        + ["--processes", str(processes)],
        cwd=tree,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    init = re.search(r"init-db \(with base model\) ([0-9.]+) s", out)
    first = re.search(r"first answer ([0-9.]+) s", out)
    if not (init and first):
        raise RuntimeError(f"unexpected output of the previous benchmark:\n{out}")
    return {"init_db_s": float(init.group(1)), "serve_to_first_answer_s": float(first.group(1))}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="an EMPTY database (default: SQLite)")
    parser.add_argument("--processes", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--previous", default=None, help="a git commit: run its benchmark too, before each run"
    )
    args = parser.parse_args(argv)
    if args.database_url and args.runs > 1:
        parser.error("--runs > 1 needs a fresh database per run: leave --database-url out")
    with tempfile.TemporaryDirectory(prefix="jobbridge-previous-") as old_tree:
        tree = Path(old_tree)
        if args.previous:
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", args.previous],
                check=True,
                capture_output=True,
            ).stdout
            subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        runs, previous = [], []
        for n in range(args.runs):
            if args.previous:
                p = previous_run(tree, args.processes)
                previous.append(p)
                print(
                    f"run {n + 1}, {args.previous}: init-db {p['init_db_s']:.1f} s, serve → "
                    f"first answer {p['serve_to_first_answer_s']:.1f} s; host load average "
                    f"{os.getloadavg()[0]:.1f}",
                    flush=True,
                )
            r = one_run(args.database_url, args.processes)
            runs.append(r)
            print(
                f"run {n + 1}: init-db (with base model) {r['init_db_s']:.1f} s (CPU "
                f"{r['init_db_cpu_s']:.1f} s), serve → first "
                f"answer {r['serve_to_first_answer_s']:.1f} s ({args.processes} processes; CPU "
                f"until then: arbiter {r['arbiter_cpu_s']:.2f} s, busiest process "
                f"{r['process_cpu_s']:.2f} s), first match {r['first_match_ms']:.0f} ms; first "
                f"worker → {r['jobs_for_first_worker']} job(s), first job → "
                f"{r['workers_for_first_job']} worker(s); model {r['model_version']} "
                f"({r['model_folder_bytes'] / 2**20:.1f} MiB); host load average "
                f"{r['load_average']:.1f} on {os.cpu_count()} cores",
                flush=True,
            )
    med = {k: statistics.median(float(r[k]) for r in runs) for k in runs[0] if k != "model_version"}
    print(
        f"median of {len(runs)}: init-db {med['init_db_s']:.1f} s (CPU "
        f"{med['init_db_cpu_s']:.1f} s), serve → first answer "
        f"{med['serve_to_first_answer_s']:.1f} s (target ≤ 10 s; CPU: arbiter "
        f"{med['arbiter_cpu_s']:.2f} s, busiest process {med['process_cpu_s']:.2f} s), "
        f"first-worker matches {med['jobs_for_first_worker']:.0f}, first-job matches "
        f"{med['workers_for_first_job']:.0f} (target > 0)."
    )
    if previous:
        old = {k: statistics.median(p[k] for p in previous) for k in previous[0]}
        print(
            f"previous design ({args.previous}), same run: init-db {old['init_db_s']:.1f} s, "
            f"serve → first answer {old['serve_to_first_answer_s']:.1f} s; ratio "
            f"x{old['serve_to_first_answer_s'] / med['serve_to_first_answer_s']:.2f} (serve), "
            f"x{old['init_db_s'] / med['init_db_s']:.2f} (init-db)"
        )
    else:
        print("Previous design (stop 14, load 5-10): serve → first answer 28.8 s.")


if __name__ == "__main__":
    main()
