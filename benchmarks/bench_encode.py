"""Encoding throughput: the trained static encoder against its peers, in one run.

Encodes 20,000 realistic texts (demo-world job titles, descriptions and workers' skill texts
when ``data.demo`` is available, otherwise real job-board titles and CSCO task sentences) with

* the trained sentence-transformers ``StaticEmbedding`` model (``--encoder PATH``; without it
  one is trained first on the classification pairs, which takes under a minute),
* :class:`matcher.encoders.CharNgramEncoder` (training-free),
* scikit-learn's char n-gram ``TfidfVectorizer.transform`` (the lexical side of the hybrid),

and prints texts/s and the ratio to the trained encoder. Text normalisation is part of every
encoder's cost (its cache is cleared before each timed run). Target: >= 5,000 texts/s on two
cores for the trained encoder.

    python benchmarks/bench_encode.py [--encoder models/<version>/encoder] [--n 20000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from matcher import text as text_module  # noqa: E402
from matcher.encoders import CharNgramEncoder, load_encoder  # noqa: E402


def realistic_texts(n: int, seed: int = 0) -> tuple[list[str], str]:
    """``n`` texts of the kinds the engine encodes, and a word on where they came from."""
    rng = np.random.default_rng(seed)
    try:
        from data.demo import generate_world

        world = generate_world(max(n // 3, 10), max(n // 3, 10), seed=seed + 77)
        pool = (
            world.jobs["title"].tolist()
            + [d for d in world.jobs["description"].tolist() if d]
            + [s for s in world.workers["skills_text"].tolist() if s]
        )
        source = "demo world: job titles, descriptions, skill texts"
    except ImportError:
        from data.reference import load_occupations, load_title_testcases
        from training.encoder import occupation_pairs

        pool = load_title_testcases()["job_name"].tolist() + [
            a for a, _ in occupation_pairs(load_occupations(4))
        ]
        source = "job-board titles and CSCO task sentences"
    picks = rng.choice(len(pool), size=n, replace=len(pool) < n)
    return [pool[i] for i in picks], source


def timed(fn, texts: list[str], repeats: int = 3) -> float:
    """Best texts/s of ``repeats`` runs, normalisation cache cleared before each."""
    fn(texts[:200])  # warm-up: lazy imports, projection matrices
    best = 0.0
    for _ in range(repeats):
        text_module._normalize_cached.cache_clear()
        t0 = time.perf_counter()
        fn(texts)
        best = max(best, len(texts) / (time.perf_counter() - t0))
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default=None, help="trained sentence-transformers folder")
    parser.add_argument("--n", type=int, default=20_000, help="number of texts")
    args = parser.parse_args(argv)

    texts, source = realistic_texts(args.n)
    mean_len = np.mean([len(t) for t in texts])
    print(
        f"{len(texts):,} texts ({source}), mean {mean_len:.1f} characters; "
        f"{os.cpu_count()} CPUs visible"
    )

    encoder_path = args.encoder
    tmp = None
    if encoder_path is None:
        from data.reference import load_occupations
        from training.encoder import occupation_pairs, train_encoder

        tmp = tempfile.TemporaryDirectory()
        encoder_path = Path(tmp.name) / "encoder"
        t0 = time.perf_counter()
        train_encoder(occupation_pairs(load_occupations(4)), encoder_path, show_progress=False)
        print(f"trained a static encoder on the CSCO pairs in {time.perf_counter() - t0:.1f} s")
    trained = load_encoder(encoder_path)

    from sklearn.feature_extraction.text import TfidfVectorizer

    from data.reference import load_occupations

    occ = load_occupations(4)
    tfidf = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    tfidf.fit([text_module.normalize_text(t) for t in occ["name"]])
    char = CharNgramEncoder()

    results = {
        f"trained StaticEmbedding ({trained.dimension}-d)": timed(trained.encode, texts),
        f"CharNgramEncoder ({char.dimension}-d)": timed(char.encode, texts),
        "TF-IDF char 1-3 transform (sparse)": timed(
            lambda ts: tfidf.transform([text_module.normalize_text(t) for t in ts]), texts
        ),
    }
    base = next(iter(results.values()))
    print(f"{'encoder':<40}{'texts/s':>12}{'ratio':>8}")
    for name, rate in results.items():
        print(f"{name:<40}{rate:>12,.0f}{rate / base:>8.2f}")
    target = 5_000
    verdict = "meets" if base >= target else "MISSES"
    print(f"trained encoder {verdict} the target of {target:,} texts/s")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
