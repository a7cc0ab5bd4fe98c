"""Benchmark the capacity-aware re-ranking: crowding before and after, and its NDCG@10 cost.

Crowding is the share of all top-10 slots of a batch that go to the 1% most-recommended jobs
(:func:`training.evaluate.top_share`); the cost is the mean NDCG@10 lost against the same
batch answered without re-ranking (graded by the world's own truth). Three answers are
measured in one run, from the same engine:

* ``baseline`` — no re-ranking (``spread=0``);
* ``previous`` — the design this one replaces: workers answered in the order given, a job
  already recommended ``c`` times losing ``0.02 * log(1 + c / (3 * left))`` for the next
  worker (reproduced here from the baseline's candidate lists, as it ran);
* ``prices`` — :func:`matcher.engine.capacity_prices` at each ``--spreads`` value, through
  :func:`training.evaluate.crowding` (the default ``DEFAULT_SPREAD`` is marked).

Worlds: the demo world as ``jobbridge train`` evaluates it (the held-out engine, its ranker
trained on the training workers' events, ``--workers`` sampled test workers), and the
independent world (:mod:`data.eval_world`, every worker) with the prior alone and with the
demo ranker. The encoder is the training-free char n-gram one (the trained
sentence-transformers encoder takes minutes to train; pass ``--encoder`` a saved model folder
to use one).

Run: ``.venv/bin/python benchmarks/bench_crowding.py`` (about 2 minutes on one free core).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matcher.engine import MatchingEngine  # noqa: E402
from training.evaluate import DEFAULT_SPREAD, crowding, ndcg_at, top_share  # noqa: E402

PREVIOUS_SPREAD = 0.02


def previous_design(engine, ids, utility, k=10):
    """The replaced re-ranking: sequential, ``0.02 * log1p(times / (3 * left))``."""
    pool = int(engine.candidate_pool)
    cands = engine.recommend_jobs_batch(ids, k=pool, with_reasons=False)
    jidx = engine.jobs_index_
    left = np.maximum(np.asarray(jidx.prepared.columns["headcount_left"], dtype=float), 1.0)
    times = np.zeros(jidx.n_rows)
    lists = []
    for w in ids:
        items = cands[w]
        if not items:
            lists.append([])
            continue
        rows = np.array([jidx.row_of(it["job_id"]) for it in items])
        score = np.array([it["score"] for it in items])
        retrieval = np.array([it["retrieval_score"] for it in items])
        score = score - PREVIOUS_SPREAD * np.log1p(times[rows] / (3.0 * left[rows]))
        order = np.lexsort((-retrieval, -score))[:k]
        times[rows[order]] += 1.0
        lists.append([items[i]["job_id"] for i in order])
    return lists


def ndcg_of(engine, ids, lists, utility, k=10):
    jidx = engine.jobs_index_
    all_jobs = jidx.ids[np.flatnonzero(jidx.active)]
    nd = []
    for w, jobs in zip(ids, lists, strict=True):
        gains = utility(np.full(len(all_jobs), w), all_jobs)
        v = ndcg_at(utility(np.full(len(jobs), w), np.asarray(jobs, dtype=np.int64)), gains, k)
        if v is not None:
            nd.append(v)
    return float(np.mean(nd))


def report(name, engine, ids, utility, spreads):
    started = time.perf_counter()
    rows = []
    base = None
    for s in spreads:
        c = crowding(engine, ids, utility, spread=s)
        base = c["before"]
        rows.append((s, c["after"]))
    prev_lists = previous_design(engine, ids, utility)
    prev = {
        "top1pct_share": top_share(prev_lists),
        "ndcg@10": ndcg_of(engine, ids, prev_lists, utility),
    }
    print(f"\n{name}: {len(ids)} workers, {int(engine.jobs_index_.active.sum())} open jobs")
    print(f"  {'answer':<26} {'top-1% share':>12} {'NDCG@10':>8} {'cost':>7}")

    def line(label, r):
        cost = base["ndcg@10"] - r["ndcg@10"]
        ratio = r["top1pct_share"] / base["top1pct_share"] if base["top1pct_share"] else 1.0
        print(
            f"  {label:<26} {r['top1pct_share']:>12.3f} {r['ndcg@10']:>8.4f} {cost:>+7.4f}"
            f"   share x{ratio:.2f}"
        )

    line("baseline (no re-ranking)", base)
    line(f"previous (seq., {PREVIOUS_SPREAD})", prev)
    for s, r in rows:
        mark = " *" if s == DEFAULT_SPREAD else ""
        line(f"prices spread={s}{mark}", r)
    print(f"  ({time.perf_counter() - started:.1f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=300, help="demo-world test workers sampled")
    ap.add_argument("--spreads", type=float, nargs="+", default=None)
    ap.add_argument("--encoder", default=None, help="sentence-transformers model folder")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    spreads = sorted(set(args.spreads or [0.03, DEFAULT_SPREAD, 0.08, 0.12]))

    import os

    from data import eval_world as ew
    from data.outcomes import true_pair_utility
    from data.reference import load_occupations
    from training.base import reference_corpus
    from training.coder import default_coder
    from training.evaluate import split_events
    from training.pipeline import _fit_ranker, build_geography, demo_world_and_events

    print(f"load: {os.getloadavg()[0]:.2f} (1-min), {os.cpu_count()} cores")
    t = time.perf_counter()
    world, events = demo_world_and_events()
    jobs, workers = world.jobs, world.workers
    split = split_events(workers, events, test_fraction=0.2, seed=args.seed)
    occ = load_occupations(4)
    params = dict(
        encoder=args.encoder,
        geography=build_geography(workers),
        occupations=occ[["code", "name"]],
        occupation_coder=default_coder(),
    )
    test_w = workers[workers["worker_id"].isin(split.test_workers)].reset_index(drop=True)
    train_w = workers[workers["worker_id"].isin(split.train_workers)].reset_index(drop=True)
    engine = MatchingEngine(**params, as_of=world.as_of).learn(
        reference_corpus(), jobs=jobs, workers=train_w
    )
    engine.build_index(jobs, test_w)
    ranker = _fit_ranker(engine, split.train_events, jobs, train_w, args.seed)
    engine.set_ranker(ranker)
    print(f"demo world and held-out engine with ranker: {time.perf_counter() - t:.1f} s")
    rng = np.random.default_rng(args.seed)
    ids = engine.workers_index_.active_ids()
    sample = [int(i) for i in rng.choice(ids, size=min(args.workers, len(ids)), replace=False)]
    report(
        "demo world (held-out, ranker)",
        engine,
        sample,
        lambda w, j: true_pair_utility(world, w, j),
        spreads,
    )

    ind = ew.generate_eval_world()
    ind_ids = [int(i) for i in ind.workers["worker_id"]]

    def utility(w, j):
        return ew.relevance(ind, w, j)

    for label, r in (("prior alone", None), ("demo ranker", ranker)):
        e = MatchingEngine(**params, ranker=r, as_of=ind.as_of).fit(ind.jobs, ind.workers)
        report(f"independent world ({label})", e, ind_ids, utility, spreads)


if __name__ == "__main__":
    main()
