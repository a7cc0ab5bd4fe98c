"""The engine's retrieval stage against FAISS, on the index a service folder serves.

A worker's match begins with retrieval (:meth:`matcher.index.ItemIndex.search`): among the
open jobs that the worker's hard rules keep (about half of them in the demo world), the best
``retrieval_pool`` (300) by ``(1 - w) * dense + w * lexical``. The engine picks a 1,000-row
shortlist with a 64-dimension coarse copy of the embeddings (a PCA projection, scanned in full
with one matrix-vector product, the lexical score added before the cut) and scores the
shortlist exactly. This script asks whether FAISS would do that stage better, in one run, on
the same queries:

* ``engine``: ``ItemIndex.search`` as the service calls it;
* ``exact``: the same without the coarse copy (every kept row scored): the reference;
* ``faiss-flat``, ``faiss-sq8``, ``faiss-hnsw``: a FAISS index over the same coarse copy
  (``IndexFlatIP``; ``IndexScalarQuantizer`` with 8-bit codes, a quarter of the bytes to scan;
  ``IndexHNSWFlat``, M=32, efSearch 256), the rule mask passed as an ``IDSelectorBitmap``,
  1,000 rows by dense score, joined by the 300 best by lexical score (FAISS cannot add the
  lexical score before its cut), then scored exactly as the engine scores its shortlist.

Printed per method: median and p99 latency of the stage (ms, one thread), the ratio to the
engine's median, and recall@300 and @10 against ``exact``. Build times of the FAISS indexes
are printed too (the engine's coarse copy is part of the snapshot).

Run on a folder that ``bench_service.py`` (or ``load-demo`` + ``index build``) prepared::

    .venv/bin/python benchmarks/bench_faiss.py --dir /work/bench1m-pg \\
        --database-url postgresql+psycopg://root@127.0.0.1:5432/bench1m

Run of 2026-12-03 (1,000,000 workers, 99,837 open jobs, base model, 300 queries, 2-core
machine with a second job on the other core)::

    faiss-flat built in 0.1 s, faiss-sq8 0.0 s, faiss-hnsw 9.2 s
    exact       p50 14.92 ms  p99 24.56 ms  x2.92 of engine  recall@300 1.000  recall@10 1.000
    engine      p50  5.11 ms  p99 11.52 ms  x1.00 of engine  recall@300 0.963  recall@10 0.994
    faiss-flat  p50  5.63 ms  p99 14.29 ms  x1.10 of engine  recall@300 0.942  recall@10 0.991
    faiss-sq8   p50  4.46 ms  p99  8.41 ms  x0.87 of engine  recall@300 0.942  recall@10 0.990
    faiss-hnsw  p50  3.17 ms  p99  5.62 ms  x0.62 of engine  recall@300 0.787  recall@10 0.925

FAISS does not pay here, so the engine keeps its numpy scan: the 8-bit scan saves an eighth of
the stage (about 0.6 ms of a match's 8-9 ms that day) for lower recall, and HNSW, the only
large saving, loses a tenth of the exact top 10 under the rule mask (it walks a graph built
over every job and must skip half of what it meets; with ``k`` = 1,000 its ``efSearch`` is
1,000 whatever is asked). The lexical score, which the engine adds before its cut, can only
be joined afterwards.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_service import fit_in_process  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, required=True, help="the service folder")
    parser.add_argument("--database-url", default=None, help="default: the folder's bench.db")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import faiss
    from threadpoolctl import threadpool_limits

    from matcher.index import _exclude, top_k_rows
    from matcher.rules import jobs_mask_for_worker

    faiss.omp_set_num_threads(1)
    # The engine the service serves from the folder (its snapshot mapped, as ``serve``).
    engine, _, _ = fit_in_process(
        {
            "JOBBRIDGE_INSTANCE_DIR": str(args.dir / "instance"),
            "JOBBRIDGE_MODELS_DIR": str(args.dir / "models"),
            "JOBBRIDGE_DATABASE_URL": args.database_url or f"sqlite:///{args.dir / 'bench.db'}",
        }
    )
    index = engine.jobs_index_
    prepared = index.prepared
    if index.coarse is None:
        raise SystemExit("the jobs index has no coarse copy: nothing for FAISS to stand in for")
    w = float(engine.lexical_weight)
    pool = max(int(engine.retrieval_pool), int(engine.candidate_pool))
    shortlist = engine._shortlist(index, int(engine.candidate_pool))
    coarse = np.ascontiguousarray(index.coarse, dtype=np.float32)
    print(
        f"{index.n_rows:,} job rows ({int(index.active.sum()):,} active), coarse copy "
        f"{coarse.shape[1]} dims, shortlist {shortlist}, retrieval pool {pool}"
    )

    built = {}
    t = time.perf_counter()
    flat = faiss.IndexFlatIP(coarse.shape[1])
    flat.add(coarse)
    built["faiss-flat"] = (flat, time.perf_counter() - t)
    t = time.perf_counter()
    sq8 = faiss.IndexScalarQuantizer(
        coarse.shape[1], faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )
    sq8.train(coarse)
    sq8.add(coarse)
    built["faiss-sq8"] = (sq8, time.perf_counter() - t)
    t = time.perf_counter()
    hnsw = faiss.IndexHNSWFlat(coarse.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.add(coarse)
    built["faiss-hnsw"] = (hnsw, time.perf_counter() - t)
    for name, (_, seconds) in built.items():
        print(f"  {name} built in {seconds:.1f} s")

    rng = np.random.default_rng(args.seed)
    workers = rng.choice(engine.workers_index_.active_ids(), size=args.queries, replace=False)
    queries = []
    for wid in workers:
        pw, row, emb, lex = engine._worker_query(int(wid))
        keep = jobs_mask_for_worker(pw.rules, row, prepared.rules) & index.active
        queries.append((emb.astype(np.float32), lex, keep))

    def faiss_stage(faiss_index, emb, lex, keep):
        lexical = index.lexical_scores(lex)
        qp = ((1 - w) * (emb @ index.projection)).astype(np.float32)[None, :]
        selector = faiss.IDSelectorBitmap(np.packbits(keep, bitorder="little"))
        params = (
            faiss.SearchParametersHNSW(sel=selector, efSearch=256)
            if faiss_index is hnsw
            else faiss.SearchParameters(sel=selector)
        )
        _, found = faiss_index.search(qp, shortlist, params=params)
        by_lexical = lexical.copy()
        _exclude(by_lexical, keep)
        n_lexical = min(pool, int(keep.sum()))
        cand = np.union1d(found[0][found[0] >= 0], top_k_rows(by_lexical, n_lexical))
        score = (1 - w) * (index.embeddings[cand] @ emb) + w * lexical[cand]
        return cand[top_k_rows(score, min(pool, len(cand)), rows=cand)]

    methods = {
        "exact": lambda emb, lex, keep: index.search(emb, lex, keep, pool, w, None)[0],
        "engine": lambda emb, lex, keep: index.search(emb, lex, keep, pool, w, shortlist)[0],
    }
    for name, (faiss_index, _) in built.items():
        methods[name] = lambda emb, lex, keep, fi=faiss_index: faiss_stage(fi, emb, lex, keep)

    results: dict[str, list[np.ndarray]] = {m: [] for m in methods}
    times: dict[str, list[float]] = {m: [] for m in methods}
    with threadpool_limits(limits=1):
        for fn in methods.values():  # warm: page cache, the CSC copy of the lexical rows
            fn(*queries[0])
        for q in queries:  # interleaved, so that the machine's drift hits every method alike
            for name, fn in methods.items():
                t = time.perf_counter()
                rows = fn(*q)
                times[name].append(time.perf_counter() - t)
                results[name].append(rows)

    base = float(np.median(times["engine"]))
    print(f"retrieval stage, {args.queries} workers, one thread:")
    for name in methods:
        ms = np.asarray(times[name]) * 1000
        rec = {
            k: np.mean(
                [
                    len(set(a[:k].tolist()) & set(e[:k].tolist())) / max(len(e[:k]), 1)
                    for a, e in zip(results[name], results["exact"], strict=True)
                ]
            )
            for k in (pool, 10)
        }
        print(
            f"  {name:11s} p50 {np.median(ms):6.2f} ms  p99 {np.percentile(ms, 99):6.2f} ms  "
            f"x{np.median(times[name]) / base:.2f} of engine  "
            f"recall@{pool} {rec[pool]:.3f}  recall@10 {rec[10]:.3f}"
        )


if __name__ == "__main__":
    main()
