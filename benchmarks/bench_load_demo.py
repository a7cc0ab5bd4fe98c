"""Benchmark of ``jobbridge load-demo``: generate a demo world and store it.

Runs the same function as the CLI (:func:`api.cli.load_demo`) into a fresh SQLite file, and into
a fresh PostgreSQL schema too when ``JOBBRIDGE_TEST_POSTGRES_URL`` is set, and prints the seconds
of each phase (generate, outcome history, store — and store per table) and the peak RSS.

Target (issue 2): 1,000,000 workers and 100,000 jobs in under 2 minutes and under 4 GB.

    .venv/bin/python benchmarks/bench_load_demo.py                      # full size
    .venv/bin/python benchmarks/bench_load_demo.py --workers 100000 --jobs 10000
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.cli import Context, load_demo  # noqa: E402
from api.crypto import generate_key  # noqa: E402


def peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(url: str, label: str, args: argparse.Namespace) -> dict:
    context = Context(
        {
            "DATABASE_URL": url,
            "ID_KEY": generate_key(),
            "INSTANCE_DIR": tempfile.mkdtemp(prefix="jobbridge-bench-"),
        }
    )
    start = time.perf_counter()
    result = load_demo(
        context,
        n_workers=args.workers,
        n_jobs=args.jobs,
        seed=args.seed,
        events_workers=args.events_workers,
        replace=False,
        quiet=args.quiet,
    )
    total = time.perf_counter() - start
    t = result["timings"]
    per_table = ", ".join(f"{k} {v:.1f} s" for k, v in result["store_seconds"].items())
    print(
        f"[{label}] {args.workers:,} workers, {args.jobs:,} jobs, {result['firms']:,} firms, "
        f"{result['events']:,} events"
    )
    print(
        f"[{label}] generate {t['generate']:.1f} s | outcomes {t['outcomes']:.1f} s | "
        f"store {t['store']:.1f} s ({per_table})"
        f" | total {total:.1f} s (incl. migrations) | peak RSS {peak_rss_mib():,.0f} MiB"
    )
    context.engine().dispose()
    return {"total": total, **t}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--events-workers", type=int, default=None)
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file")
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="jobbridge-bench-"))
    db = folder / "bench.db"
    results = {"sqlite": run(f"sqlite:///{db}", "sqlite", args)}
    size = sum(p.stat().st_size for p in folder.glob("bench.db*"))
    print(f"[sqlite] database file {size / 2**20:,.0f} MiB at {db}")
    if not args.keep:
        for p in folder.glob("bench.db*"):
            p.unlink()

    pg = os.environ.get("JOBBRIDGE_TEST_POSTGRES_URL")
    if pg:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            url = make_url(pg).update_query_dict({"options": f"-csearch_path={schema}"})
            results["postgres"] = run(url.render_as_string(hide_password=False), "postgres", args)
        finally:
            with admin.connect() as c:
                c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    ok = all(r["total"] < 120 for r in results.values()) and peak_rss_mib() < 4096
    print("target (< 120 s and < 4 GiB):", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
