"""Accuracy of the occupation coder on real, messy job-board titles.

``data/reference/testcases.csv`` holds 5,903 titles as they were posted (``抖音快手客服 不加班``,
``电子厂质检员（月7000）包吃住``) with the CSCO 2022 code a person gave them. A fixed part of them
is held out (``data/reference/testcases_heldout.csv``, see :mod:`training.coder`): it is only
ever evaluated on. The rest may be trained on, and the trained coder is.

Scoring
-------
* **Detailed level.** When the expected code is a detailed (level-4) occupation of the fitted
  classification, a prediction is right when it is that code. About 14% of the expected
  codes are *group* codes (``2-02-00-00`` 工程技术人员, ``2-06-03-00`` 会计专业人员): the person
  coding the title could only tell the group. For those a prediction is right when it lies
  inside the group: its code starts with the non-zero part of the expected code
  (``2-02-30-01`` is inside ``2-02-00-00``; ``2-06-03-02`` inside ``2-06-03-00``). A level-4 code
  that ends in ``-00`` (``6-20-04-00`` 电梯装配调试工) is a detailed code and needs an exact
  match. An expected code that is in neither form (not in the classification) can never be
  matched and stays in the denominator.
* **Major-group level.** The first segment (``2`` professionals, ``4`` services, ``6``
  production workers ...) of the prediction equals that of the expected code.
* **Top-k.** Right when any of the first k predictions is right.

Coders compared in one run (:func:`coder_report`), all on the held-out part:

* ``coder`` — the coder the engine uses (:func:`training.coder.train_coder`: a linear
  classifier on augmented names, aliases, colloquial phrases, certificate spellings and the
  training part of the real titles, plus name similarity);
* ``hybrid`` — the coder before it: name/alias similarity, TF-IDF and embeddings mixed;
* ``tfidf`` — name/alias similarity by character n-gram TF-IDF only;
* ``embeddings`` — name/alias similarity by the encoder's embeddings only.

Command line (prints a table, ``--json`` for scripts)::

    python -m training.coder_eval [--encoder models/dev/encoder] [--json]
    python -m training.coder_eval --folds 5    # cross-validation on the training titles
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Sequence
from typing import Any

import pandas as pd

from matcher.occupations import OccupationCoder

__all__ = [
    "coder_report",
    "compare_coders",
    "cross_validate_coder",
    "evaluate_coder",
    "fold_of",
    "format_table",
    "is_match",
]


def _group_prefix(code: str) -> str:
    parts = code.split("-")
    while len(parts) > 1 and parts[-1].strip("0") == "":
        parts.pop()
    return "-".join(parts)


def is_match(predicted: str, expected: str, detailed_codes: set[str] | frozenset[str]) -> bool:
    """Whether ``predicted`` counts as right for ``expected`` at the detailed level.

    Examples
    --------
    >>> codes = {"2-02-30-01", "6-20-04-00"}
    >>> is_match("2-02-30-01", "2-02-00-00", codes), is_match("6-20-04-01", "6-20-04-00", codes)
    (True, False)
    """
    if not predicted:
        return False
    if expected in detailed_codes:
        return predicted == expected
    prefix = _group_prefix(expected)
    if prefix == expected:  # not a group code and not in the classification
        return False
    return predicted.startswith(prefix + "-")


def evaluate_coder(coder: OccupationCoder, testcases: pd.DataFrame, k: int = 5) -> dict[str, Any]:
    """Top-1 and top-k accuracy of a fitted coder, detailed and major-group level.

    Parameters
    ----------
    coder : OccupationCoder
        Fitted.
    testcases : DataFrame
        ``job_name, expected_code`` (as ``data/reference/testcases.csv``).
    k : int, default=5

    Returns
    -------
    dict
        ``n``, ``top1``, ``top{k}``, ``major_top1``, ``major_top{k}`` (fractions),
        ``n_group_codes`` (expected codes scored as groups), ``n_unknown_codes``,
        ``seconds``, ``titles_per_s``.
    """
    if not isinstance(testcases, pd.DataFrame):
        raise TypeError(f"testcases must be a DataFrame, got {type(testcases).__name__}")
    missing = [c for c in ("job_name", "expected_code") if c not in testcases.columns]
    if missing:
        raise ValueError(
            f"testcases lacks column(s) {missing!r}; it has {list(testcases.columns)!r}"
        )
    if len(testcases) == 0:
        raise ValueError("testcases is empty: nothing to evaluate")
    detailed = frozenset(coder.codes_)
    titles = testcases["job_name"].fillna("").astype(str).tolist()
    expected = testcases["expected_code"].fillna("").astype(str).str.strip().tolist()
    t0 = time.perf_counter()
    topk = coder.predict_topk(titles, k)
    seconds = time.perf_counter() - t0
    hits1 = hitsk = major1 = majork = 0
    for cands, exp in zip(topk, expected, strict=True):
        codes = [c for c, _, _ in cands]
        major = exp.split("-")[0]
        if codes and is_match(codes[0], exp, detailed):
            hits1 += 1
        if any(is_match(c, exp, detailed) for c in codes):
            hitsk += 1
        if codes and codes[0].split("-")[0] == major:
            major1 += 1
        if any(c.split("-")[0] == major for c in codes):
            majork += 1
    n = len(titles)
    group = sum(1 for e in expected if e not in detailed and _group_prefix(e) != e)
    return {
        "n": n,
        "top1": hits1 / n,
        f"top{k}": hitsk / n,
        "major_top1": major1 / n,
        f"major_top{k}": majork / n,
        "n_group_codes": group,
        "n_unknown_codes": sum(1 for e in expected if e not in detailed) - group,
        "seconds": round(seconds, 3),
        "titles_per_s": round(n / seconds, 1) if seconds > 0 else float("inf"),
    }


def compare_coders(
    occupations: pd.DataFrame, testcases: pd.DataFrame, encoder: Any = None, alpha: float = 0.5
) -> dict[str, dict[str, Any]]:
    """Evaluate the similarity-only coders (TF-IDF, embeddings, hybrid) in one run.

    Returns
    -------
    dict
        ``{"tfidf": {...}, "embeddings": {...}, "hybrid": {...}}`` (the last two only with an
        encoder), each as :func:`evaluate_coder`.
    """
    from matcher.encoders import load_encoder

    results = {
        "tfidf": evaluate_coder(OccupationCoder(classifier=False).fit(occupations), testcases)
    }
    if encoder is not None:
        enc = load_encoder(encoder)
        for label, a in (("embeddings", 1.0), ("hybrid", alpha)):
            coder = OccupationCoder(encoder=enc, alpha=a, classifier=False).fit(occupations)
            results[label] = evaluate_coder(coder, testcases)
    return results


def coder_report(
    coder: OccupationCoder | None = None, encoder: Any = None, alpha: float = 0.5
) -> dict[str, dict[str, Any]]:
    """The coders' figures on the held-out real titles, as a dict for metadata and reports.

    Parameters
    ----------
    coder : OccupationCoder, optional
        The fitted coder to report (the one a model folder carries). None trains one with
        :func:`training.coder.train_coder` (a minute or more).
    encoder : str, path, object with ``encode`` or None
        Encoder of the ``hybrid`` and ``embeddings`` baselines; None uses the training-free
        :class:`matcher.encoders.CharNgramEncoder`.
    alpha : float, default=0.5
        Dense weight of the ``hybrid`` baseline.

    Returns
    -------
    dict
        ``{"coder": {...}, "hybrid": {...}, "tfidf": {...}, "embeddings": {...}}``, each as
        :func:`evaluate_coder` (``top1``, ``top5``, ``major_top1``, ``titles_per_s`` …), and
        ``"heldout"``: ``n`` held-out and ``n_train`` training titles, ``encoder`` (what the
        baselines used).
    """
    from data.reference import load_occupations
    from matcher.encoders import CharNgramEncoder
    from training.coder import split_testcases, train_coder

    train, heldout = split_testcases()
    if coder is None:
        coder = train_coder(train_titles=train)
    encoder_label = repr(encoder)[:200] if encoder is not None else "CharNgramEncoder()"
    if encoder is None:
        encoder = CharNgramEncoder()
    results = {"coder": evaluate_coder(coder, heldout)}
    results.update(compare_coders(load_occupations(4), heldout, encoder=encoder, alpha=alpha))
    results = {k: results[k] for k in ("coder", "hybrid", "tfidf", "embeddings")}
    results["heldout"] = {"n": len(heldout), "n_train": len(train), "encoder": encoder_label}
    return results


def fold_of(title: str, n_folds: int) -> int:
    """The fold of a training title: the MD5 of its :func:`training.coder.group_key` modulo
    ``n_folds``, so that titles which clean to the same text stay in one fold, as they stay
    on one side of the held-out split.

    >>> fold_of("急招叉车工 包吃住", 5) == fold_of("叉车工", 5)
    True
    """
    from training.coder import group_key

    return int(hashlib.md5(group_key(title).encode("utf-8")).hexdigest(), 16) % n_folds


def cross_validate_coder(
    n_folds: int = 5,
    train_titles: pd.DataFrame | None = None,
    occupations: pd.DataFrame | None = None,
    k: int = 5,
    **params: Any,
) -> dict[str, Any]:
    """Top-1 and top-k of :func:`training.coder.train_coder` by cross-validation on the
    training titles: each fold scored by a coder trained on the other folds and on everything
    else the coder learns from. This is where a change to the coder is chosen; the held-out
    titles are measured once per chosen design (:func:`coder_report`).

    Parameters
    ----------
    n_folds : int, default=5
        Folds by :func:`fold_of`.
    train_titles : DataFrame, optional
        ``job_name, expected_code``; the training part of :func:`training.coder.split_testcases`
        by default.
    occupations : DataFrame, optional
        The classification (:func:`training.coder.coder_occupations` by default).
    k : int, default=5
    **params
        :func:`training.coder.train_coder` parameters (``seed``, ``n_variants`` ... and
        :class:`~matcher.occupations.OccupationCoder` ones) for every fold's coder.

    Returns
    -------
    dict
        ``n``, ``top1``, ``top{k}`` over all titles, and ``folds``: per fold ``n``, ``hits1``,
        ``hits{k}``, as counts (one title is one count, which is what a change moves).
    """
    from training.coder import coder_occupations, split_testcases, train_coder

    if not (isinstance(n_folds, int) and n_folds >= 2):
        raise ValueError(f"n_folds must be an int >= 2, got {n_folds!r}")
    titles = split_testcases()[0] if train_titles is None else train_titles
    titles = titles.reset_index(drop=True)
    occupations = coder_occupations() if occupations is None else occupations
    fold = titles["job_name"].fillna("").astype(str).map(lambda t: fold_of(t, n_folds))
    folds = []
    for f in range(n_folds):
        test = titles[fold == f]
        if not len(test):
            continue
        coder = train_coder(occupations, titles[fold != f], **params)
        r = evaluate_coder(coder, test, k=k)
        folds.append(
            {
                "fold": f,
                "n": r["n"],
                "hits1": round(r["top1"] * r["n"]),
                f"hits{k}": round(r[f"top{k}"] * r["n"]),
            }
        )
    n = sum(x["n"] for x in folds)
    return {
        "n": n,
        "top1": sum(x["hits1"] for x in folds) / n,
        f"top{k}": sum(x[f"hits{k}"] for x in folds) / n,
        "folds": folds,
    }


def format_table(results: dict[str, dict[str, Any]]) -> str:
    """The comparison as a text table."""
    lines = [
        f"{'coder':<12}{'top-1':>8}{'top-5':>8}{'major@1':>9}{'major@5':>9}{'titles/s':>10}",
    ]
    scored = {k: v for k, v in results.items() if "top1" in v}
    for label, r in scored.items():
        lines.append(
            f"{label:<12}{r['top1']:>8.3f}{r['top5']:>8.3f}{r['major_top1']:>9.3f}"
            f"{r['major_top5']:>9.3f}{r['titles_per_s']:>10,.0f}"
        )
    any_r = next(iter(scored.values()))
    lines.append(
        f"n={any_r['n']} held-out titles; {any_r['n_group_codes']} expected group codes scored "
        f"by prefix, {any_r['n_unknown_codes']} codes outside the classification"
    )
    if "heldout" in results:
        lines.append(
            f"coder trained on {results['heldout']['n_train']} other real titles; "
            f"baselines' encoder: {results['heldout']['encoder']}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="职业编码准确率 (occupation coder accuracy)")
    parser.add_argument("--encoder", default=None, help="sentence-transformers model folder")
    parser.add_argument("--alpha", type=float, default=0.5)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--folds",
        type=int,
        default=0,
        help="cross-validate on the training titles with this many folds instead",
    )
    args = parser.parse_args(argv)
    if args.folds:
        cv = cross_validate_coder(args.folds)
        if args.json:
            print(json.dumps(cv, ensure_ascii=False, indent=2))
            return
        for x in cv["folds"]:
            print(f"fold {x['fold']}: n={x['n']} top-1 {x['hits1']} top-5 {x['hits5']}")
        print(
            f"{args.folds} folds, {cv['n']} titles: top-1 {cv['top1']:.4f}, top-5 {cv['top5']:.4f}"
        )
        return
    results = coder_report(encoder=args.encoder, alpha=args.alpha)
    print(json.dumps(results, ensure_ascii=False, indent=2) if args.json else format_table(results))


if __name__ == "__main__":
    main()
