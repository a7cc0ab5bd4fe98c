"""Benchmark county-wide allocation at full scale, and ``stable`` against the ``matching`` library.

Builds a synthetic instance (default 100,000 workers × 10,000 jobs, top-50 candidate lists =
5,000,000 pairs), runs ``allocate`` in both modes, checks the guarantees (no job over its places,
no worker twice, only candidate pairs, no blocking pair in ``stable``), then solves the same
hospital–residents problem with ``matching.games.HospitalResident`` (resident-optimal) and
checks both give the same matching, printing the speed ratio. ``matching`` builds one Python
object per player and preference, so by default it gets a smaller instance of the same
generator (``--matching-workers``); the printout says which size each solver saw.

Run: ``.venv/bin/python benchmarks/bench_allocation.py`` (``--help`` for sizes).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matcher.allocation import allocate, blocking_pairs  # noqa: E402

CITIES = ["苏州市", "无锡市", "常州市", "南京市", "南通市", "扬州市", "泰州市", "镇江市"]


def make_instance(
    n_workers: int, n_jobs: int, k: int, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A synthetic county: skewed job popularity, top-``k`` candidate lists, scores in [0, 1]."""
    rng = np.random.default_rng(seed)
    n_firms = max(1, n_jobs // 5)
    jobs = pd.DataFrame(
        {
            "job_id": np.arange(1, n_jobs + 1),
            "firm_id": rng.integers(1, n_firms + 1, n_jobs),
            "headcount": rng.integers(1, 21, n_jobs),
            "city": rng.choice(CITIES, n_jobs),
        }
    )
    jobs["hired_count"] = rng.integers(0, jobs["headcount"].to_numpy() + 1) // 3
    workers = pd.DataFrame(
        {
            "worker_id": np.arange(1, n_workers + 1),
            "poverty_registered": rng.random(n_workers) < 0.4,
            "group_id": np.where(
                rng.random(n_workers) < 0.05, "g" + (np.arange(n_workers) // 3).astype(str), ""
            ),
        }
    )
    # Candidate lists: draw more than k jobs with a Zipf-like popularity, keep k distinct.
    k = min(k, n_jobs)
    draw = k + max(8, k // 2)
    popularity = 1.0 / np.arange(1, n_jobs + 1) ** 0.6
    popularity /= popularity.sum()
    picks = rng.choice(n_jobs, size=(n_workers, draw), p=popularity)
    picks.sort(axis=1)
    dup = np.zeros_like(picks, dtype=bool)
    dup[:, 1:] = picks[:, 1:] == picks[:, :-1]
    picks = np.where(dup, n_jobs, picks)  # push duplicates to the end
    picks.sort(axis=1)
    picks = picks[:, :k]
    w = np.repeat(np.arange(n_workers), k)
    j = picks.ravel()
    ok = j < n_jobs
    w, j = w[ok], j[ok]
    quality = rng.beta(2, 3, n_workers)
    appeal = rng.beta(2, 2, n_jobs)
    score = np.clip(0.5 * quality[w] + 0.4 * appeal[j] + 0.1 * rng.random(len(w)), 0, 1)
    candidates = pd.DataFrame({"worker_id": w + 1, "job_id": j + 1, "score": np.round(score, 6)})
    return candidates, jobs, workers


def check(result, candidates, jobs) -> None:
    """Assert the hard guarantees of an allocation."""
    a = pd.DataFrame(result.assignments)
    assert not a["worker_id"].duplicated().any(), "a worker placed twice"
    places = (jobs["headcount"] - jobs["hired_count"]).clip(lower=0)
    per_job = a["job_id"].value_counts()
    assert (per_job <= places.set_axis(jobs["job_id"]).reindex(per_job.index)).all(), "over"
    pairs = candidates.set_index(["worker_id", "job_id"]).index
    assert pairs.isin(pairs).all()
    assert a.set_index(["worker_id", "job_id"]).index.isin(pairs).all(), "not a candidate"


def run_matching(candidates: pd.DataFrame, jobs: pd.DataFrame) -> tuple[dict, float]:
    """Resident-optimal hospital–residents with the ``matching`` library; returns (match, s).

    ``matching`` deep-copies its players, which point at each other through their preference
    lists, so the copy recurses as deep as the preference graph is long: it runs in a thread
    with a large stack and a raised recursion limit.
    """
    out: dict[str, Any] = {}

    def work() -> None:
        try:
            out["result"] = _run_matching(candidates, jobs)
        except BaseException as exc:  # re-raised in the caller's thread
            out["error"] = exc

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(10_000_000)
    threading.stack_size(1024 * 1024 * 1024)
    try:
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
    finally:
        threading.stack_size(0)
        sys.setrecursionlimit(limit)
    if "error" in out:
        raise out["error"]
    return out["result"]


def _run_matching(candidates: pd.DataFrame, jobs: pd.DataFrame) -> tuple[dict, float]:
    from matching.games import HospitalResident

    places = (jobs["headcount"] - jobs["hired_count"]).clip(lower=0)
    cap = dict(zip(jobs["job_id"].tolist(), places.tolist(), strict=True))
    c = candidates[candidates["job_id"].map(cap) > 0]
    t0 = time.perf_counter()
    by_worker = c.sort_values(["worker_id", "score", "job_id"], ascending=[True, False, True])
    resident_prefs = by_worker.groupby("worker_id", sort=False)["job_id"].agg(list).to_dict()
    by_job = c.sort_values(["job_id", "score", "worker_id"], ascending=[True, False, True])
    hospital_prefs = by_job.groupby("job_id", sort=False)["worker_id"].agg(list).to_dict()
    capacities = {h: cap[h] for h in hospital_prefs}
    game = HospitalResident.create_from_dictionaries(resident_prefs, hospital_prefs, capacities)
    solution = game.solve(optimal="resident")
    elapsed = time.perf_counter() - t0
    match = {}
    for hospital, residents in solution.items():
        for r in residents:
            match[r.name] = hospital.name
    return match, elapsed


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, default=100_000)
    p.add_argument("--jobs", type=int, default=10_000)
    p.add_argument("--k", type=int, default=50)
    p.add_argument(
        "--matching-workers",
        type=int,
        default=5_000,
        help="size of the instance given to the matching library (0 = same as ours)",
    )
    p.add_argument("--matching-jobs", type=int, default=500)
    p.add_argument(
        "--group-time-limit",
        type=float,
        default=120,
        help="time_limit_s of the keep_groups runs (each round solves again)",
    )
    args = p.parse_args(argv)

    t0 = time.perf_counter()
    candidates, jobs, workers = make_instance(args.workers, args.jobs, args.k)
    print(
        f"instance: {args.workers:,} workers × {args.jobs:,} jobs, {len(candidates):,} "
        f"candidate pairs, {int((jobs.headcount - jobs.hired_count).sum()):,} places "
        f"(built in {time.perf_counter() - t0:.1f} s)"
    )

    for mode in ("welfare", "stable"):
        t = time.perf_counter()
        r = allocate(candidates, jobs, workers, mode=mode)
        el = time.perf_counter() - t
        check(r, candidates, jobs)
        s = r.stats
        print(
            f"{mode:8s}: {el:6.1f} s  assigned {s['n_assigned']:,}  total score "
            f"{s['total_score']:,.1f}  status {s['status']}"
        )
        if mode == "stable":
            stable_big, stable_s = r, el
    n_groups = workers.loc[workers["group_id"] != "", "group_id"].nunique()
    for mode in ("welfare", "stable"):
        t = time.perf_counter()
        r = allocate(
            candidates,
            jobs,
            workers,
            mode=mode,
            poverty_priority=0.2,
            max_per_firm=30,
            keep_groups=True,
            time_limit_s=args.group_time_limit,
        )
        el = time.perf_counter() - t
        check(r, candidates, jobs)
        s = r.stats
        print(
            f"{mode:8s} + poverty_priority 0.2, max_per_firm 30, keep_groups ({n_groups:,} "
            f"groups): {el:.1f} s, assigned {s['n_assigned']:,} (建档立卡 "
            f"{s['n_poverty_assigned']:,}), groups without a common city "
            f"{s['groups_no_common_city']}, split groups left out "
            f"{s['groups_split_left_out']}, rounds {s['rounds']}, status {s['status']}"
        )

    # Same instance or a smaller one for the matching library.
    if args.matching_workers and args.matching_workers < args.workers:
        mc, mj, mw = make_instance(args.matching_workers, args.matching_jobs, args.k, seed=1)
        size = f"{args.matching_workers:,} workers × {args.matching_jobs:,} jobs, {len(mc):,} pairs"
        t = time.perf_counter()
        ours = allocate(mc, mj, mw, mode="stable")
        ours_s = time.perf_counter() - t
    else:
        mc, mj, mw, ours, ours_s = candidates, jobs, workers, stable_big, stable_s
        size = f"the full instance ({len(mc):,} pairs)"
    assert not blocking_pairs(ours, mc, mj, mw), "blocking pair in our stable matching"
    theirs, theirs_s = run_matching(mc, mj)
    mine = {a["worker_id"]: a["job_id"] for a in ours.assignments}
    same = mine == theirs
    print(
        f"matching library on {size}: ours {ours_s:.2f} s, matching {theirs_s:.2f} s, "
        f"speed ratio {theirs_s / ours_s:.1f}×; same worker-optimal matching: {same} "
        f"({len(mine):,} vs {len(theirs):,} placed)"
    )
    if not same:
        raise SystemExit("the two solvers disagree")


if __name__ == "__main__":
    main()
