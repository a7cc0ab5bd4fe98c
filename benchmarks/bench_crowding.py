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
  :func:`training.evaluate.crowding` (the default ``DEFAULT_SPREAD`` is marked);
* ``product`` — the product path, what ``GET /api/v1/workers/{id}/matches`` answers: the
  index's prices computed once from the whole register (every indexed worker, or the fixed
  ``--sample`` of them, :meth:`matcher.engine.MatchingEngine.price_crowding`, as ``jobbridge
  index build`` does) and each worker answered alone by ``recommend_jobs``; at each
  ``--spreads`` value (the service's default ``CROWDING_SPREAD`` is marked), with the pricing
  time and the mean time of one answer with and without prices.

Worlds: the demo world as ``jobbridge train`` evaluates it (the held-out engine, its ranker
trained on the training workers' events, ``--workers`` sampled test workers), and the
independent world (:mod:`data.eval_world`, every worker) with the prior alone and with the
demo ranker. The encoder is the training-free char n-gram one (the trained
sentence-transformers encoder takes minutes to train; pass ``--encoder`` a saved model folder
to use one).

``--encoder train`` trains the sentence-transformers encoder on the demo world's training
workers first, as ``jobbridge train`` does (some minutes), and uses it for both worlds.

Run: ``.venv/bin/python benchmarks/bench_crowding.py`` (about 4 minutes on one free core).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.config import DEFAULTS  # noqa: E402
from matcher.engine import MatchingEngine  # noqa: E402
from training.evaluate import DEFAULT_SPREAD, crowding, ndcg_at, top_share  # noqa: E402

SERVICE_SPREAD = DEFAULTS["CROWDING_SPREAD"]

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


def answer_alone(engine, ids, k=10):
    """Each worker answered by ``recommend_jobs``, as the API does (reasons included); and the
    seconds per answer."""
    started = time.perf_counter()
    lists = {w: [it["job_id"] for it in engine.recommend_jobs(w, k=k)] for w in ids}
    return lists, (time.perf_counter() - started) / max(len(ids), 1)


def product_path(engine, ids, utility, spreads, sample):
    """The product path: the whole register answered worker by worker, without prices and
    with the index's prices at each spread. Crowding is the register's top-1% share (all its
    lists); NDCG@10 is that of the ``ids`` sample's lists."""
    register = [int(i) for i in engine.workers_index_.active_ids()]
    engine.crowding_ = None
    lists, per_query = answer_alone(engine, register)
    rows = [
        (
            "product, no prices",
            top_share(list(lists.values())),
            top_share([lists[w] for w in ids]),
            ndcg_of(engine, ids, [lists[w] for w in ids], utility),
            per_query,
        )
    ]
    for s in spreads:
        prices = engine.price_crowding(s, sample=sample)
        lists, per_query = answer_alone(engine, register)
        f = prices.facts
        mark = " *" if s == SERVICE_SPREAD else ""
        rows.append(
            (
                f"product spread={s}{mark}",
                top_share(list(lists.values())),
                top_share([lists[w] for w in ids]),
                ndcg_of(engine, ids, [lists[w] for w in ids], utility),
                per_query,
                f"{f['jobs_priced']} jobs priced from {f['workers_priced']}/"
                f"{f['workers_indexed']} workers in {f['seconds']:.1f} s",
            )
        )
    engine.crowding_ = None
    return rows, len(register)


def report(name, engine, ids, utility, spreads, product_spreads, sample=None):
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
    started = time.perf_counter()
    product, n_register = product_path(engine, ids, utility, product_spreads, sample)
    base_share, base_ndcg = product[0][1], product[0][3]
    print(
        f"  product path: all {n_register} indexed workers answered by recommend_jobs, prices "
        "of the index (register share = top-1% share of all their lists):"
    )
    print(f"  {'answer':<26} {'register':>8} {'sample':>7} {'NDCG@10':>8} {'cost':>7}")
    for label, share, share_sample, nd, per_query, *facts in product:
        ratio = share / base_share if base_share else 1.0
        print(
            f"  {label:<26} {share:>8.3f} {share_sample:>7.3f} {nd:>8.4f} {base_ndcg - nd:>+7.4f}"
            f"   x{ratio:.2f}  {1000 * per_query:.1f} ms/answer"
            + (f"  ({facts[0]})" if facts else "")
        )
    print(f"  ({time.perf_counter() - started:.1f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=300, help="demo-world test workers sampled")
    ap.add_argument("--spreads", type=float, nargs="+", default=None, help="batch spreads")
    ap.add_argument(
        "--product-spreads",
        type=float,
        nargs="+",
        default=None,
        help="spreads of the product path (default: the service's CROWDING_SPREAD)",
    )
    ap.add_argument(
        "--encoder", default=None, help="sentence-transformers model folder, or 'train'"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--sample",
        type=int,
        default=DEFAULTS["CROWDING_SAMPLE"],
        help="workers that price the index (the service's CROWDING_SAMPLE)",
    )
    ap.add_argument(
        "--pricing-workers",
        type=int,
        default=0,
        help="also time price_crowding on a register of this many workers (demo world)",
    )
    args = ap.parse_args()
    spreads = sorted(set(args.spreads or [0.03, DEFAULT_SPREAD, 0.08]))
    product_spreads = sorted(set(args.product_spreads or [SERVICE_SPREAD]))

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
    encoder = args.encoder
    if encoder == "train":
        import tempfile

        from training.pipeline import _train_encoder

        t_enc = time.perf_counter()
        folder = Path(tempfile.mkdtemp(prefix="bench-crowding-encoder-"))
        encoder = _train_encoder(
            jobs,
            workers,
            split.train_events,
            occ,
            world,
            split.train_workers,
            folder,
            False,
            args.seed,
        )
        print(f"encoder trained into {folder}: {time.perf_counter() - t_enc:.1f} s")
    params = dict(
        encoder=encoder,
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
        product_spreads,
        args.sample,
    )

    ind = ew.generate_eval_world()
    ind_ids = [int(i) for i in ind.workers["worker_id"]]

    def utility(w, j):
        return ew.relevance(ind, w, j)

    for label, r in (("prior alone", None), ("demo ranker", ranker)):
        e = MatchingEngine(**params, ranker=r, as_of=ind.as_of).fit(ind.jobs, ind.workers)
        report(
            f"independent world ({label})",
            e,
            ind_ids,
            utility,
            spreads,
            product_spreads,
            args.sample,
        )

    if args.pricing_workers:
        # Pricing costs one batch answer per sampled worker: time it on a register of the
        # size asked (the demo world's workers, repeated with new ids where it is smaller).
        n = int(args.pricing_workers)
        reps = -(-n // len(workers))
        big = workers.loc[np.tile(np.arange(len(workers)), reps)[:n]].reset_index(drop=True)
        big["worker_id"] = np.arange(1, n + 1)
        t = time.perf_counter()
        e = MatchingEngine(**params, ranker=ranker, as_of=world.as_of)
        e.learn(reference_corpus(), jobs=jobs, workers=train_w).build_index(jobs, big)
        print(f"\nregister of {n} workers indexed in {time.perf_counter() - t:.1f} s")
        f = e.price_crowding(SERVICE_SPREAD, sample=args.sample).facts
        print(
            f"  price_crowding(spread={SERVICE_SPREAD}, sample={args.sample}): "
            f"{f['workers_priced']} of {f['workers_indexed']} workers, "
            f"{int(e.jobs_index_.active.sum())} open jobs, {f['jobs_priced']} priced, "
            f"{f['seconds']:.1f} s"
        )


if __name__ == "__main__":
    main()
