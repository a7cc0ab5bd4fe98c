"""Time the demo world generator and the outcome simulation at full scale.

Usage::

    .venv/bin/python benchmarks/bench_generate.py [--workers 1000000] [--jobs 100000]
        [--pairs-sample 100000] [--seed 0]

Prints wall time and peak resident memory (``resource.getrusage``: the whole process,
numpy and pandas buffers included, which tracemalloc would only partly see).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data.demo import generate_world  # noqa: E402
from data.outcomes import historical_pairs, simulate_outcomes  # noqa: E402


def _peak_mb() -> float:
    # ru_maxrss is in KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    """CPU seconds of this process: on a machine shared with other jobs, wall time overstates."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument(
        "--pairs-sample",
        type=int,
        default=100_000,
        help="workers in the historical recommendations (3 pairs each)",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    t0, c0 = time.perf_counter(), _cpu_s()
    world = generate_world(args.workers, args.jobs, seed=args.seed, show_progress=True)
    t1, c1 = time.perf_counter(), _cpu_s()
    print(
        f"generate_world({args.workers:,}, {args.jobs:,}): {t1 - t0:.1f} s wall, "
        f"{c1 - c0:.1f} s cpu, peak RSS {_peak_mb():,.0f} MB "
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    pairs = historical_pairs(
        world, worker_sample=min(args.pairs_sample, args.workers), seed=args.seed
    )
    t2, c2 = time.perf_counter(), _cpu_s()
    print(f"historical_pairs({len(pairs):,} pairs): {t2 - t1:.1f} s wall, {c2 - c1:.1f} s cpu")
    events = simulate_outcomes(world, pairs, seed=args.seed)
    t3, c3 = time.perf_counter(), _cpu_s()
    print(
        f"simulate_outcomes({len(pairs):,} pairs -> {len(events):,} events): {t3 - t2:.1f} s wall, "
        f"{c3 - c2:.1f} s cpu, peak RSS {_peak_mb():,.0f} MB"
    )
    print(events["stage"].value_counts().to_string())


if __name__ == "__main__":
    main()
