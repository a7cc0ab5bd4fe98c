"""The base model: a model version learned from public reference data alone.

A fresh deployment has no outcome history, so nothing can train a ranker yet; but retrieval,
the hard rules and the prior ranking need a vocabulary, an occupation coder and an encoder
from the first minute. :func:`build_base_model` learns them from the reference data in
``data/reference`` only — the 2022 occupational classification (names, aliases, tasks,
definitions), the certificate catalogue with its spellings, the places and counties — and
writes a version folder like any other (``metadata.json`` says ``"kind": "base"``).
``jobbridge init-db`` builds it when no model exists; ``jobbridge train`` replaces it once
outcomes exist.

The default is quick (seconds): the training-free char n-gram encoder and the trained
:class:`~matcher.occupations.OccupationCoder` (classification, certificates and the training
part of the real job-board titles; no outcome), which ships with the project
(:func:`training.coder.shipped_coder`) and is trained here, in about a minute, only where the
shipped one is not current. ``encoder="train"`` trains the project's ``StaticEmbedding`` on the
classification's pairs (about half a minute, and serving then imports torch); ``coder="names"``
takes the name coder instead (nearest classification name or alias).

On the independent world (``benchmarks/bench_base_model.py``, 2026-12-03), NDCG@10 of jobs for
workers / workers for jobs: 0.891 / 0.853 with the trained coder, 0.775 / 0.788 with the name
coder (whose main trade is right for 16 of 53 workers, against 43 of 53).
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any, Literal

from matcher.engine import MatchingEngine
from matcher.persistence import load_model, new_version_name, save_model, set_current
from matcher.text import normalize_text

BASE_ENCODERS = ("char-ngram", "train")
BASE_CODERS = ("names", "trained")


def _task_sentences(tasks: str) -> list[str]:
    from training.encoder import _TASK_SPLIT_RE

    return [t.strip(" ；;。") for t in _TASK_SPLIT_RE.split(tasks or "") if t.strip(" ；;。")]


def reference_corpus() -> list[str]:
    """The reference texts a base vocabulary is learned from, normalised as retrieval texts are.

    One text per occupation name, alias, task sentence and definition of the classification
    (level 4, and the names of the higher levels), per certificate name and spelling, and per
    place (prefectures, counties, Jiangsu cities).

    >>> corpus = reference_corpus()
    >>> "缝纫工" in corpus and any("叉车" in t for t in corpus)
    True
    """
    return list(_reference_corpus())


@functools.cache
def _reference_corpus() -> tuple[str, ...]:
    # Read and normalised once per process: build_base_model needs it for the metadata and
    # for learning, and init-db's seconds are mostly this process's CPU.
    from data.reference import load_certificates, load_counties, load_occupations, load_places

    texts: list[str] = []
    occupations = load_occupations(4)
    for name, aliases, definition, tasks in zip(
        occupations["name"],
        occupations["aliases"],
        occupations["definition"],
        occupations["tasks"],
        strict=True,
    ):
        texts += [name, *aliases, definition, *_task_sentences(tasks)]
    for level in (1, 2, 3):
        texts += list(load_occupations(level)["name"])
    certificates = load_certificates()
    for name, spellings in zip(certificates["name"], certificates["spellings"], strict=True):
        texts += [name, *spellings]
    texts += list(load_places()["prefecture"])
    counties = load_counties()
    for column in ("county", "county_name", "name", "prefecture"):
        if column in counties.columns:
            texts += list(counties[column].astype(str))
    out = [normalize_text(t) for t in texts if isinstance(t, str) and t.strip()]
    return tuple(dict.fromkeys(t for t in out if t))


def base_engine_params(
    encoder: Any = "char-ngram", coder: Literal["names", "trained"] = "trained"
) -> dict[str, Any]:
    """The :class:`MatchingEngine` parameters of a base model (reference data only)."""
    from data.reference import load_occupations
    from training.pipeline import build_geography

    if coder not in BASE_CODERS:
        raise ValueError(f"coder {coder!r} is not supported; valid: {', '.join(BASE_CODERS)}")
    occupation_coder = None  # the engine fits the name coder on the classification
    if coder == "trained":
        from training.coder import default_coder

        occupation_coder = default_coder()
    occupations = load_occupations(4)
    return dict(
        encoder=encoder,
        geography=build_geography(),
        occupations=occupations[["code", "name", "aliases"]],
        occupation_coder=occupation_coder,
    )


@functools.cache
def _learned_char_ngram(coder: str) -> MatchingEngine:
    # Deterministic from the reference data: a process that builds several base models (the
    # test suite, one init-db per database) learns it once; save_model only reads it.
    return MatchingEngine(**base_engine_params("char-ngram", coder)).learn(_reference_corpus())


def build_base_model(
    models_dir: str | Path,
    *,
    encoder: Literal["char-ngram", "train"] = "char-ngram",
    coder: Literal["names", "trained"] = "trained",
    make_current: bool = True,
    version: str | None = None,
    show_progress: bool = False,
    seed: int = 0,
) -> Path:
    """Learn a model version from the reference data alone and write it to ``models_dir``.

    Parameters
    ----------
    models_dir : path
        Where version folders and ``current`` live.
    encoder : {"char-ngram", "train"}, default="char-ngram"
        The training-free char n-gram encoder, or a ``StaticEmbedding`` trained on the
        classification's (alias, name), (task, name) and (definition, name) pairs.
    coder : {"names", "trained"}, default="trained"
        The trained :class:`~matcher.occupations.OccupationCoder` (shipped, see
        :func:`training.coder.default_coder`), or the nearest-name coder.
    make_current : bool, default=True
        Point ``models/current`` at it once it loads back.

    Returns
    -------
    Path
        The version folder.
    """
    import sys
    import tempfile

    if encoder not in BASE_ENCODERS:
        raise ValueError(f"encoder {encoder!r} is not supported; valid: {', '.join(BASE_ENCODERS)}")
    started = time.perf_counter()
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    version = version or new_version_name(models_dir)
    corpus = _reference_corpus()
    with tempfile.TemporaryDirectory(prefix="jobbridge-base-encoder-") as tmp:
        enc: Any = "char-ngram"
        if encoder == "train":
            from data.reference import load_occupations
            from training.encoder import occupation_pairs, train_encoder

            enc = train_encoder(
                occupation_pairs(load_occupations(4)),
                Path(tmp) / "encoder",
                corpus=corpus,
                show_progress=show_progress,
                seed=seed,
            )
        if encoder == "char-ngram":
            engine = _learned_char_ngram(coder)
        else:
            engine = MatchingEngine(**base_engine_params(enc, coder)).learn(corpus)
        meta = {
            "kind": "base",
            "data": {"reference_texts": len(corpus)},
            "training": {
                "encoder": encoder,
                "coder": coder,
                "seed": seed,
                "seconds": round(time.perf_counter() - started, 2),
                "sources": "data/reference (CSCO 2022, certificates, places, counties)",
            },
        }
        folder = save_model(engine, models_dir / version, meta, include_index=False)
    load_model(folder)  # never make current a version that does not load back
    if make_current:
        set_current(models_dir, version)
    if show_progress:
        print(
            f"基础模型 {version} 已建立（{time.perf_counter() - started:.1f} s）→ {folder}",
            file=sys.stderr,
            flush=True,
        )
    return folder


__all__ = [
    "BASE_CODERS",
    "BASE_ENCODERS",
    "base_engine_params",
    "build_base_model",
    "reference_corpus",
]
