"""Time the demo world generator and the outcome simulation at full scale.

Usage::

    .venv/bin/python benchmarks/bench_generate.py [--workers 1000000] [--jobs 100000]
        [--pairs-sample 100000] [--seed 0]

Prints wall time and peak resident memory (``resource.getrusage``: the whole process,
numpy and pandas buffers included, which tracemalloc would only partly see).
"""

from __future__ import annotations

import argparse
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

    t0 = time.perf_counter()
    world = generate_world(args.workers, args.jobs, seed=args.seed, show_progress=True)
    t1 = time.perf_counter()
    print(
        f"generate_world({args.workers:,}, {args.jobs:,}): {t1 - t0:.1f} s, "
        f"peak RSS {_peak_mb():,.0f} MB"
    )
    pairs = historical_pairs(
        world, worker_sample=min(args.pairs_sample, args.workers), seed=args.seed
    )
    t2 = time.perf_counter()
    print(f"historical_pairs({len(pairs):,} pairs): {t2 - t1:.1f} s")
    events = simulate_outcomes(world, pairs, seed=args.seed)
    t3 = time.perf_counter()
    print(
        f"simulate_outcomes({len(pairs):,} pairs -> {len(events):,} events): {t3 - t2:.1f} s, "
        f"peak RSS {_peak_mb():,.0f} MB"
    )
    print(events["stage"].value_counts().to_string())


if __name__ == "__main__":
    main()
