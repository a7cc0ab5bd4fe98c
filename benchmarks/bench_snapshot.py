"""Benchmark of the shared index snapshot against the private engine each process built before.

Run (modest scale by default; the issue's figures are at 1,000,000 workers × 100,000 jobs)::

    .venv/bin/python benchmarks/bench_snapshot.py                          # 200k × 20k
    .venv/bin/python benchmarks/bench_snapshot.py --workers 1000000 --jobs 100000

Figures printed, each next to the previous design's measured in the same run:

* **ready**: a new process that loads the learned model, maps the latest snapshot and answers
  its first match (``recommend_jobs`` and ``recommend_workers``), against a process that loads
  the same model and indexes the tables itself (``build_index``; the tables read from a pickle,
  faster than the database the service reads, so the old figure is a lower bound).
  Target: ≤ 10 s at 1M × 100k (≈ 2 min).
* **private memory** of a *second* process on the snapshot while a first one holds it
  (``Private_Dirty`` and USS = ``Private_Clean + Private_Dirty`` from
  ``/proc/<pid>/smaps_rollup``, after 50 answers) against a process with a private engine.
  Target ≤ 1 GB at 1M × 100k (≈ 5.5 GB).
* **match latency**: ``recommend_jobs(k=10)`` and ``recommend_workers(k=50)`` in this process,
  on one core, on the snapshot and on the in-memory index it was written from, interleaved
  call by call (each call's best of 3), with the ratio and a check that every answer is the
  same (``--latency-only`` stops after it). Target: ratio about 1; top-10 jobs p99 ≤ 30 ms.
* **one worker write applied** (half updates of indexed workers, half new workers): the index
  step alone (``ItemIndex.add``: columns, embeddings, lexical rows, ids) on the snapshot's
  index, against the previous design's concatenating step on the same rows
  (``concat_prepared`` of the whole prepared table, ``np.concatenate`` of ids and the mask);
  and end to end (``engine.update_workers``: preparing, coding and encoding the record, then
  the index step). Median and p99 in ms; target ≤ 5 ms at 1M workers (≈ 46 ms).

The encoder is the training-free ``CharNgramEncoder(256)`` and there is no ranker: what is
measured is the index, not the model.

Last run (2026-12-02, 100,000 workers × 10,000 jobs, on a 2-core machine shared with five
other test runs: wall times are 3-6 times the CPU times, so the CPU medians are the steadier
figures; not yet measured at 1M × 100k)::

    snapshot written in 26.3 s (0.24 GB on disk)
    ready to answer: snapshot 19.6 s (cold page cache 23.5 s), private engine 187.3 s; x9.6
      snapshot: interpreter and imports 16.9 s, model 1.0 s, index 0.5 s, first answers 1.2 s
      private engine: interpreter and imports 19.9 s, model 2.2 s, index 164.0 s, answers 1.2 s
    second process: Private_Dirty 0.14 GB, USS 0.14 GB (Rss 0.40, Pss 0.25); private engine
      USS 0.59 GB; x4.3
    one worker write at 100,400 rows, index step: median 13.7 ms wall, 2.1 ms CPU (an earlier
      run: 2.5 ms wall, 2.0 ms CPU); previous concatenating step 191.9 ms wall, 36.1 ms CPU
      end to end (update_workers): median 120.6 ms wall, 22.3 ms CPU

Run at the issue's scale (2026-12-02, ``--workers 1000000 --jobs 100000 --no-private --writes
100``, load average 6-10 on the 2 cores: a test suite and two other benchmarks ran too; the
previous design's figures are the parent's own build, see ``--no-private``)::

    engine built in this process in 788.2 s (USS 3.87 GB with the generated world)
    snapshot written in 106.4 s (2.47 GB on disk)
    ready to answer: snapshot 12.2 s (cold page cache 12.2 s), private engine 788.2 s; x64.8
      snapshot: interpreter and imports 9.8 s, model 1.1 s, index 0.1 s, first answers 1.1 s
    second process: Private_Dirty 0.16 GB, USS 0.16 GB (Rss 2.21, Pss 1.17); previous 3.87 GB
    one worker write at 1,000,200 rows, index step: median 2.23 ms, p99 9.98 ms (CPU 2.04 ms);
      previous concatenating step median 512.4 ms (CPU 322.7 ms); x230
      end to end (update_workers): median 35.15 ms, p99 256 ms (CPU median 21.96 ms)

Run of 2026-12-03 14:48 (default scale, 200,000 × 20,000, ``--no-private``; machine otherwise
idle), after the coder kept the CSR transposes of its weights and prepared tables became numpy
columns (the end-to-end write was 22.3 ms CPU at 100,000 rows above)::

    one worker write at 200,400 rows, index step: median 0.50 ms, p99 1.05 ms (CPU 0.50 ms)
      end to end (update_workers): median 7.03 ms, p99 18.50 ms (CPU median 6.97 ms)

On the service's own engine at 1M workers × 100k jobs (base model with the shipped coder, its
StaticEmbedding encoder; in-process, medians of 200 writes read from PostgreSQL),
``update_workers`` took 4.2-5.7 ms against 25.6-26.2 ms before, ``update_jobs`` 4.1-5.4 ms
(re-reading the row from the database adds about 2 ms).
On a fast machine (2026-12-04, a new database of the same scale, 380 writes of workers read
from PostgreSQL beforehand, one BLAS thread): ``update_workers`` median 2.49 ms of CPU, p90
3.62 ms. Under cProfile, preparing the record is 60 % of it (coding its trade 27 %, the
encoder and TF-IDF 13 % each, scikit-learn's input checks about 13 %), the index step 9 %.

At 300,000 × 30,000 in the same session (load 5-8): ready 10.2 s (private 203.8 s), second
process USS 0.15 GB (1.36 GB), index step median 2.03 ms (previous 178.0 ms).

Match latency (2026-12-02). Before the fix, at 100,000 workers × 100,000 jobs (load average
6-8 on the 2 cores), the snapshot answered recommend_jobs in 19.2 ms median (CPU 10.7 ms)
against 12.4 ms (CPU 6.9 ms) for the in-memory index: x1.54 by CPU; recommend_workers x1.58
(an earlier cProfile run measured 57.7 against 21.4 ms/call: scipy copied the whole TF-IDF
table on each query, and text columns were decoded row by row through np.memmap). After, same
scale and load: recommend_jobs x1.06 by CPU (8.4 against 7.9 ms), recommend_workers x1.15.
At the issue's scale (``--workers 1000000 --jobs 100000 --latency-only --queries 60``, load
average 2-9, engine built in 351.9 s)::

    recommend_jobs (top-10 of 100,000 jobs): snapshot median 7.92 ms, p99 18.32 ms (CPU median
      7.14 ms); in-memory index median 6.67 ms, p99 16.40 ms (CPU 6.50 ms); x1.19 (median),
      x1.10 (CPU median); answers identical
    recommend_workers (top-50 of 1,000,000 workers): snapshot median 44.96 ms, p99 106.56 ms
      (CPU 32.14 ms); in-memory index median 41.82 ms, p99 101.94 ms (CPU 30.16 ms); x1.08,
      x1.07 (CPU median); answers identical

The ready time is over its 10 s target only by the interpreter's start and imports (9.8 s on
the loaded machine); the model, the mapped index and the first answers take 2.3 s.

Run of 2026-12-06 01:54-02:00 at the issue's scale (``--workers 1000000 --jobs 100000
--no-private --writes 100``, the machine otherwise idle)::

    engine built in this process in 88.6 s (USS 3.93 GB with the generated world)
    snapshot written in 16.3 s (2.48 GB on disk)
    ready to answer: snapshot 1.2 s (cold page cache 1.3 s), private engine 88.6 s; x76.2
      snapshot: interpreter and imports 1.0 s, model 0.0 s, index 0.0 s, first answers 0.2 s
    second process: Private_Dirty 0.15 GB, USS 0.15 GB (Rss 2.38, Pss 1.26); previous 3.93 GB
    one worker write at 1,000,200 rows, index step: median 0.42 ms, p99 0.65 ms; previous
      concatenating step median 158.6 ms; x376
      end to end (update_workers): median 4.95 ms, p99 30.07 ms (CPU median 4.95 ms)
    recommend_jobs: snapshot median 5.15 ms, p99 10.93 ms; in-memory 4.75 / 9.54 ms; x1.08
    recommend_workers: snapshot median 36.22 ms, p99 93.28 ms; in-memory 34.01 / 87.52 ms; x1.07

Every target of the issue that this benchmark prints is met on that machine; the end-to-end
write has 0.05 ms to spare at its median, on this benchmark's engine (the service's own, with
the shipped coder, took 2.49 ms of CPU on a fast machine, see above).

The index step does not grow with the index (the previous step is linear in it); most of
the end-to-end write is preparing, coding and encoding the one record.
"""

from __future__ import annotations

import argparse
import gc
import json
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def smaps(pid: int | str = "self") -> dict[str, float]:
    """Fields of ``/proc/<pid>/smaps_rollup`` in GB."""
    out: dict[str, float] = {}
    with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1]) / 1024**2
    out["USS"] = out.get("Private_Clean", 0.0) + out.get("Private_Dirty", 0.0)
    return out


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000.0, q))


def previous_add(state: dict[str, Any], prepared: Any, new_ids: np.ndarray) -> None:
    """The O(n) part of the previous ``ItemIndex.add``: the whole prepared table and the ids and
    mask concatenated with the new rows (embeddings already went into buffers with room)."""
    from matcher.index import concat_prepared

    row_of = state["row_of"]
    for i in new_ids.tolist():
        row = row_of.pop(i, None)
        if row is not None:
            state["active"][row] = False
    start = len(state["ids"])
    state["prepared"] = concat_prepared(state["prepared"], prepared)
    state["ids"] = np.concatenate([state["ids"], new_ids])
    state["active"] = np.concatenate([state["active"], np.ones(len(new_ids), dtype=bool)])
    for k, i in enumerate(new_ids.tolist()):
        row_of[i] = start + k


def match_latency(
    plain: Any, mapped: Any, worker_ids: list[int], job_ids: list[int], rounds: int = 3
) -> dict[str, dict[str, float]]:
    """Per-call latency of ``recommend_jobs(k=10)`` and ``recommend_workers(k=50)`` on the
    engine that built the index in memory (``plain``) and on one serving the same rows from
    the snapshot (``mapped``), interleaved call by call on one core (BLAS held to one thread,
    as ``jobbridge serve`` holds it), so that both see the same machine; the answers must be
    the same. Each call's figure is its best of ``rounds`` (the machine is shared)."""
    from threadpoolctl import threadpool_limits

    calls = {
        "recommend_jobs": (lambda e, i: e.recommend_jobs(i, k=10), worker_ids),
        "recommend_workers": (lambda e, i: e.recommend_workers(i, k=50), job_ids),
    }
    out: dict[str, dict[str, float]] = {}
    with threadpool_limits(limits=1):
        for name, (call, ids) in calls.items():
            call(plain, ids[0]), call(mapped, ids[0])  # first calls build the CSC copies
            wall: dict[str, list[float]] = {"plain": [], "snapshot": []}
            cpu: dict[str, list[float]] = {"plain": [], "snapshot": []}
            for i in ids:
                for side, engine in (("plain", plain), ("snapshot", mapped)):
                    best_wall = best_cpu = float("inf")
                    for _ in range(rounds):
                        t, c = time.perf_counter(), time.process_time()
                        answer = call(engine, i)
                        best_wall = min(best_wall, time.perf_counter() - t)
                        best_cpu = min(best_cpu, time.process_time() - c)
                    wall[side].append(best_wall)
                    cpu[side].append(best_cpu)
                    if side == "plain":
                        expected = answer
                    elif answer != expected:
                        raise AssertionError(f"{name}({i}): the snapshot answers otherwise")
            out[name] = {f"{side}_{q}": pct(wall[side], q) for side in wall for q in (50, 99)} | {
                f"{side}_cpu_50": pct(cpu[side], 50) for side in cpu
            }
    return out


def print_latency(figures: dict[str, dict[str, float]], n_jobs: int, n_workers: int) -> None:
    targets = {"recommend_jobs": "  [target p99 <= 30 ms]", "recommend_workers": ""}
    among = {
        "recommend_jobs": f"top-10 of {n_jobs:,} jobs",
        "recommend_workers": (f"top-50 of {n_workers:,} workers"),
    }
    for name, f in figures.items():
        print(
            f"{name} ({among[name]}), in process on one core: snapshot median "
            f"{f['snapshot_50']:.2f} ms, p99 {f['snapshot_99']:.2f} ms (CPU median "
            f"{f['snapshot_cpu_50']:.2f} ms); in-memory index median {f['plain_50']:.2f} ms, "
            f"p99 {f['plain_99']:.2f} ms (CPU median {f['plain_cpu_50']:.2f} ms); ratio "
            f"snapshot / in-memory x{f['snapshot_50'] / f['plain_50']:.2f} (median), "
            f"x{f['snapshot_cpu_50'] / f['plain_cpu_50']:.2f} (CPU median); answers identical"
            + targets[name]
        )


# -- child processes ---------------------------------------------------------------------------


def child(args: argparse.Namespace) -> None:
    """One serving process: get ready (snapshot or private build), answer, report, maybe hold."""
    from matcher.persistence import load_model
    from matcher.snapshot import attach, open_latest

    phases: dict[str, float] = {}
    t0 = time.perf_counter()
    work = Path(args.dir)
    queries = json.loads((work / "queries.json").read_text())
    engine = load_model(work / "model")
    phases["model"] = time.perf_counter() - t0
    t = time.perf_counter()
    if args.child == "snapshot":
        snap = open_latest(work / "index", "bench")
        assert snap is not None
        attach(engine, snap)
    else:
        with open(work / "tables.pkl", "rb") as fh:
            jobs, workers = pickle.load(fh)
        engine.build_index(jobs, workers)  # the previous design: every process indexes
        del jobs, workers
        gc.collect()
    phases["index"] = time.perf_counter() - t
    t = time.perf_counter()
    engine.recommend_jobs(queries["workers"][0], k=10)
    engine.recommend_workers(queries["jobs"][0], k=50)
    phases["first answers"] = time.perf_counter() - t
    ready = time.perf_counter() - t0
    print(json.dumps({"ready_s": ready}), flush=True)  # the parent's clock stops here
    for w, j in zip(queries["workers"][:50], queries["jobs"][:50], strict=False):
        engine.recommend_jobs(w, k=10)
        engine.recommend_workers(j, k=50)
    gc.collect()
    print(json.dumps({"ready_s": ready, "phases": phases, "smaps": smaps()}), flush=True)
    if args.hold:
        sys.stdin.readline()


def spawn(kind: str, work: Path, hold: bool = False) -> tuple[subprocess.Popen[str], float]:
    cmd = [sys.executable, __file__, "--child", kind, "--dir", str(work)]
    if hold:
        cmd.append("--hold")
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return proc, t


def result(proc: subprocess.Popen[str], started: float) -> dict[str, Any]:
    """The child's report; ``wall_s``: from its start to its "ready" line (imports included)."""
    lines = []
    for _ in range(2):
        line = proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            proc.wait()
            raise RuntimeError(f"child exited with {proc.returncode} before reporting")
        lines.append(json.loads(line))
        if len(lines) == 1:
            wall = time.perf_counter() - started
    out = lines[1]
    out["wall_s"] = wall
    return out


# -- main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=200_000)
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", default=None, help="folder to keep the snapshot in")
    parser.add_argument(
        "--no-private",
        action="store_true",
        help="skip the private-engine process (it is the longest step at large scales); the "
        "previous design's figures are then this process's own build time and memory",
    )
    parser.add_argument(
        "--queries", type=int, default=100, help="queries of each kind for the match latency"
    )
    parser.add_argument(
        "--latency-only",
        action="store_true",
        help="stop after the match latency on the snapshot against the in-memory index",
    )
    parser.add_argument("--child", choices=["snapshot", "private"], help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    parser.add_argument("--hold", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return

    import pandas as pd

    from data.demo import generate_world
    from data.reference import load_occupations
    from matcher.encoders import CharNgramEncoder
    from matcher.engine import MatchingEngine
    from matcher.index import plain_prepared
    from matcher.persistence import load_model, save_model
    from matcher.snapshot import attach, engine_facts, open_latest, write_snapshot
    from training.pipeline import build_geography

    print(f"jobbridge snapshot benchmark: {args.workers:,} workers × {args.jobs:,} jobs")
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-snapshot-"))
    work.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    world = generate_world(args.workers + args.writes, args.jobs, seed=args.seed)
    jobs = world.jobs.assign(status="open", hired_count=0)
    workers = world.workers.iloc[: args.workers].reset_index(drop=True)
    spare = world.workers.iloc[args.workers :].reset_index(drop=True)
    print(f"world generated in {time.perf_counter() - t:.1f} s")
    params = dict(
        encoder=CharNgramEncoder(dim=256),
        geography=build_geography(),
        occupations=load_occupations(4)[["code", "name", "aliases"]],
        as_of=world.as_of,
    )
    t = time.perf_counter()
    engine = MatchingEngine(**params).fit(jobs, workers)
    built_s = time.perf_counter() - t
    built_smaps = smaps()
    print(
        f"engine built in this process in {built_s:.1f} s "
        f"(USS {built_smaps['USS']:.2f} GB with the generated world)"
    )

    save_model(engine, work / "model", include_index=False)
    with open(work / "tables.pkl", "wb") as fh:
        pickle.dump((jobs, workers), fh, protocol=pickle.HIGHEST_PROTOCOL)
    rng = np.random.default_rng(args.seed)
    n_queries = max(60, args.queries)
    queries = {
        "workers": [int(x) for x in rng.choice(workers["worker_id"], n_queries, replace=False)],
        "jobs": [int(x) for x in rng.choice(jobs["job_id"], n_queries, replace=False)],
    }
    (work / "queries.json").write_text(json.dumps(queries))
    t = time.perf_counter()
    path = write_snapshot(
        work / "index",
        engine.jobs_index_,
        engine.workers_index_,
        model_version="bench",
        feed_position=0,
        extra=engine_facts(engine),
    )
    du = sum(f.stat().st_blocks * 512 for f in path.rglob("*") if f.is_file()) / 1024**3
    print(f"snapshot written in {time.perf_counter() - t:.1f} s ({du:.2f} GB on disk): {path}")

    # --- match latency: the snapshot against the in-memory index -------------------------
    # (A snapshot-backed engine once answered 13 times slower than the index it was written
    # from: text columns decoded row by row through np.memmap, the TF-IDF table copied by
    # scipy on every query. This figure keeps that from coming back unseen.)
    mapped = attach(load_model(work / "model"), open_latest(work / "index", "bench"))
    figures = match_latency(
        engine,
        mapped,
        queries["workers"][: args.queries],
        queries["jobs"][: args.queries],
    )
    print_latency(figures, len(engine.jobs_index_), len(engine.workers_index_))
    del mapped
    if args.latency_only:
        return

    # --- processes -----------------------------------------------------------------------
    del engine
    gc.collect()
    if args.no_private:
        # The previous design's process did what this one just did (a model, then the index of
        # the tables): its fit time stands for the index step, its memory (the generated world
        # included) is an upper bound of a private engine's.
        private = {
            "wall_s": built_s,
            "ready_s": built_s,
            "phases": {"fit in the parent, no interpreter start": built_s},
            "smaps": built_smaps,
        }
    else:
        proc, t = spawn("private", work)
        private = result(proc, t)
        proc.wait()
    first, t1 = spawn("snapshot", work, hold=True)
    one = result(first, t1)
    second, t2 = spawn("snapshot", work, hold=True)
    two = result(second, t2)
    for p in (first, second):
        p.stdin.write("\n")  # type: ignore[union-attr]
        p.stdin.flush()  # type: ignore[union-attr]
        p.wait()
    print(
        f"ready to answer (process start to first answers): snapshot {two['wall_s']:.1f} s "
        f"(first process on a cold page cache {one['wall_s']:.1f} s), private engine "
        f"{private['wall_s']:.1f} s; ratio x{private['wall_s'] / two['wall_s']:.1f}"
        "  [target <= 10 s at 1M × 100k]"
    )
    for name, r in (("snapshot", two), ("private engine", private)):
        steps = {"interpreter and imports": r["wall_s"] - r["ready_s"], **r["phases"]}
        if r is private and args.no_private:
            steps = dict(r["phases"])
        print(f"  {name}: " + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()))
    pm, sm = private["smaps"], two["smaps"]
    print(
        f"private memory of a second process: Private_Dirty {sm['Private_Dirty']:.2f} GB, "
        f"USS {sm['USS']:.2f} GB (Rss {sm['Rss']:.2f}, Pss {sm['Pss']:.2f}); private engine "
        f"Private_Dirty {pm['Private_Dirty']:.2f} GB, USS {pm['USS']:.2f} GB; "
        f"ratio x{pm['USS'] / sm['USS']:.1f}  [target <= 1 GB at 1M × 100k]"
    )

    # --- writes ----------------------------------------------------------------------------
    learned = load_model(work / "model")
    snap = open_latest(work / "index", "bench")
    assert snap is not None
    attach(learned, snap)
    idx = learned.workers_index_
    old = {
        "prepared": plain_prepared(idx.prepared),
        "ids": np.array(idx.ids),
        "active": np.array(idx.active),
        "row_of": {int(i): r for r, i in enumerate(idx.ids.tolist())},
    }
    existing = workers.sample(args.writes // 2, random_state=args.seed)
    records = [
        pd.DataFrame([r])
        for r in existing.assign(skills_text="会开叉车，做过仓管").to_dict("records")
    ] + [pd.DataFrame([r]) for r in spare.iloc[: args.writes - len(existing)].to_dict("records")]
    rng.shuffle(records)
    t_new, t_old, t_e2e = [], [], []
    cpu_new, cpu_old, cpu_e2e = [], [], []
    from matcher.features import prepare_workers

    def timed(wall: list[float], cpu: list[float], fn: Any, *args: Any) -> None:
        t, c = time.perf_counter(), time.process_time()
        fn(*args)
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)

    for rec in records:
        timed(t_e2e, cpu_e2e, learned.update_workers, rec)
        prepared = prepare_workers(rec, learned.context_)
        emb, lex = learned.encode(prepared.texts), learned._lexical(prepared.texts)
        ids = prepared.frame["worker_id"].to_numpy(dtype=np.int64)
        timed(t_new, cpu_new, idx.add, prepared, emb, lex)
        timed(t_old, cpu_old, previous_add, old, prepared, ids)
    n = idx.n_rows
    print(
        f"one worker write at {n:,} rows, index step: median {pct(t_new, 50):.2f} ms, "
        f"p99 {pct(t_new, 99):.2f} ms (CPU median {pct(cpu_new, 50):.2f} ms); previous "
        f"concatenating step median {pct(t_old, 50):.1f} ms, p99 {pct(t_old, 99):.1f} ms "
        f"(CPU median {pct(cpu_old, 50):.1f} ms); ratio x{pct(t_old, 50) / pct(t_new, 50):.0f} "
        "(median)  [target <= 5 ms at 1M]"
    )
    print(
        f"  end to end (update_workers: prepare, code, encode, index): median "
        f"{pct(t_e2e, 50):.2f} ms, p99 {pct(t_e2e, 99):.2f} ms (CPU median "
        f"{pct(cpu_e2e, 50):.2f} ms); previous design end to end ≈ this minus the index step "
        f"plus the concatenating step: median "
        f"{pct(t_e2e, 50) - pct(t_new, 50) + pct(t_old, 50):.1f} ms"
    )
    check = learned.recommend_jobs(int(records[0]["worker_id"].iat[0]), k=5)
    print(
        f"  after the writes the index holds {len(idx):,} workers; "
        f"a written one gets {len(check)} jobs"
    )


if __name__ == "__main__":
    main()
