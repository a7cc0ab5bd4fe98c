"""Train the default Chinese text encoder offline.

No pretrained Chinese model can be downloaded here, and the packaged English MiniLM turns most
Chinese characters into ``[UNK]``. So the project trains its own: a sentence-transformers
``StaticEmbedding`` (one vector per token, mean-pooled) over a BPE tokenizer with short tokens
(characters and 2–3-character words such as 叉车, 司机, 缝纫) trained here with ``tokenizers``,
fitted with an in-batch contrastive loss (the loss of sentence-transformers'
``MultipleNegativesRankingLoss``, symmetric) on pairs that say "these two texts mean the same
job":

* :func:`occupation_pairs` — the 2022 occupational classification: alias ↔ name, each task
  sentence ↔ name, definition ↔ name (formal language);
* :func:`world_pairs` — the demo world: job title ↔ description, job title ↔ the name of its
  occupation, a worker's skill text / wished jobs ↔ the name of their true occupation
  (colloquial language: 踩缝纫机, 开叉车).

The loop is plain torch (a static model trains in seconds per epoch on two cores, and needs
neither ``datasets`` nor ``accelerate``). The result is saved with ``SentenceTransformer.save``
and loads back with :func:`matcher.encoders.load_encoder` or ``SentenceTransformer(path)``.

Command line::

    python -m training.encoder --output models/dev/encoder [--workers 20000 --jobs 30000]
"""

from __future__ import annotations

import argparse
import json
import math
import re
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matcher.text import normalize_text

__all__ = [
    "default_pairs",
    "occupation_pairs",
    "train_encoder",
    "train_tokenizer",
    "world_pairs",
]

_TASK_SPLIT_RE = re.compile(r"(?:^|\s)\d+\s*[.、．]\s*")
_UNK = "[UNK]"


def _aliases(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        return [a.strip() for a in value.split(",") if a.strip()]
    return [str(a).strip() for a in value if str(a).strip()]


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _check_columns(df: Any, required: Sequence[str], what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing!r}; it has {list(df.columns)!r}")


def occupation_pairs(occupations: pd.DataFrame) -> list[tuple[str, str]]:
    """Pairs of texts that name the same occupation, from the occupational classification.

    Parameters
    ----------
    occupations : DataFrame
        ``code, name, definition, tasks, aliases`` (as :func:`data.reference.load_occupations`
        gives; ``aliases`` a list or a comma-separated string, ``alias`` accepted too). Tasks
        are numbered sentences ``1.… 2.…``.

    Returns
    -------
    list of (str, str)
        ``(alias, name)``, ``(task sentence, name)`` and ``(definition, name)``, deduplicated,
        in the order of the table.

    Examples
    --------
    >>> df = pd.DataFrame({"code": ["6-05-01-03"], "name": ["缝纫工"],
    ...                    "definition": ["缝制服装的人员。"], "tasks": ["1.操作缝纫机 2.检验缝制"],
    ...                    "aliases": [["缝纫工", "手缝工"]]})
    >>> for pair in occupation_pairs(df): print(pair)
    ('手缝工', '缝纫工')
    ('操作缝纫机', '缝纫工')
    ('检验缝制', '缝纫工')
    ('缝制服装的人员', '缝纫工')
    """
    if isinstance(occupations, pd.DataFrame) and "aliases" not in occupations.columns:
        if "alias" in occupations.columns:
            occupations = occupations.rename(columns={"alias": "aliases"})
    _check_columns(occupations, ["name", "definition", "tasks", "aliases"], "occupations")
    pairs: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()

    def add(a: str, b: str) -> None:
        a, b = a.strip(" ;；。"), b
        if a and b and a != b and (a, b) not in seen:
            seen.add((a, b))
            pairs.append((a, b))

    for row in occupations.itertuples(index=False):
        name = _text(row.name)
        if not name:
            continue
        for alias in _aliases(row.aliases):
            add(alias, name)
        for task in _TASK_SPLIT_RE.split(_text(row.tasks)):
            add(task.strip(), name)
        add(_text(row.definition), name)
    return pairs


def _code_names(occupations: pd.DataFrame | None) -> dict[str, str]:
    if occupations is None:
        from data.reference import load_occupations

        occupations = load_occupations(4)
    _check_columns(occupations, ["code", "name"], "occupations")
    return dict(zip(occupations["code"].astype(str), occupations["name"].astype(str), strict=True))


def _worker_true_codes(world: Any) -> dict[Any, str]:
    """The true occupation code of each worker, from ``world.truth`` in whichever of the
    shapes the demo generator uses (a table with ``worker_id`` and a code column, a mapping
    ``worker_id -> code``, or an attribute of ``truth`` holding one of those)."""
    truth = getattr(world, "truth", None)
    workers = getattr(world, "workers", None)
    candidates: list[Any] = [truth]
    if truth is not None:
        for attr in ("workers", "worker_occupations", "occupations", "occupation_codes"):
            candidates.append(getattr(truth, attr, None))
        if isinstance(truth, dict):
            candidates.extend(truth.values())
    candidates.append(workers)
    code_cols = ("occupation_code", "true_occupation_code", "true_occupation", "occupation")
    for cand in candidates:
        if isinstance(cand, pd.DataFrame):
            col = next((c for c in code_cols if c in cand.columns), None)
            if col is None:
                continue
            ids = cand["worker_id"] if "worker_id" in cand.columns else cand.index
            return {wid: str(code) for wid, code in zip(ids, cand[col], strict=True) if _text(code)}
        if isinstance(cand, pd.Series) and cand.size and isinstance(cand.iloc[0], str):
            if re.fullmatch(r"\d-\d\d-\d\d-\d\d", cand.iloc[0]):
                return {wid: code for wid, code in cand.items() if _text(code)}
        if isinstance(cand, dict) and cand:
            first = next(iter(cand.values()))
            if isinstance(first, str) and re.fullmatch(r"\d-\d\d-\d\d-\d\d", first):
                return {wid: code for wid, code in cand.items() if _text(code)}
    return {}


def world_pairs(world: Any, occupations: pd.DataFrame | None = None) -> list[tuple[str, str]]:
    """Pairs in the colloquial language of job boards and clerks, from the demo world.

    Parameters
    ----------
    world : object
        Has ``.jobs`` (``title``, ``description``, ``occupation_code``) and ``.workers``
        (``worker_id``, ``skills_text``, ``desired_jobs``); the workers' true occupation codes
        are read from ``world.truth`` (or a code column of ``workers``).
    occupations : DataFrame, optional
        ``code, name`` of the detailed occupations; the reference table by default.

    Returns
    -------
    list of (str, str)
        ``(title, description)``, ``(title, occupation name)``, ``(skills_text, occupation
        name)`` and ``(desired job, occupation name)``, deduplicated.
    """
    names = _code_names(occupations)
    jobs = getattr(world, "jobs", None)
    workers = getattr(world, "workers", None)
    if not isinstance(jobs, pd.DataFrame) and not isinstance(workers, pd.DataFrame):
        raise TypeError(
            f"world must have .jobs and/or .workers DataFrames, got {type(world).__name__}"
        )
    pairs: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()

    def add(a: Any, b: Any) -> None:
        a, b = _text(a), _text(b)
        if a and b and a != b and (a, b) not in seen:
            seen.add((a, b))
            pairs.append((a, b))

    if isinstance(jobs, pd.DataFrame):
        _check_columns(jobs, ["title"], "world.jobs")
        descriptions = jobs["description"] if "description" in jobs.columns else [""] * len(jobs)
        codes = jobs["occupation_code"] if "occupation_code" in jobs.columns else [""] * len(jobs)
        for title, description, code in zip(jobs["title"], descriptions, codes, strict=True):
            add(title, description)
            add(title, names.get(_text(code), ""))
    if isinstance(workers, pd.DataFrame):
        true_codes = _worker_true_codes(world)
        ids = workers["worker_id"] if "worker_id" in workers.columns else workers.index
        skills = workers["skills_text"] if "skills_text" in workers.columns else [""] * len(workers)
        desired = (
            workers["desired_jobs"] if "desired_jobs" in workers.columns else [[]] * len(workers)
        )
        for wid, skill, wishes in zip(ids, skills, desired, strict=True):
            name = names.get(true_codes.get(wid, ""), "")
            if not name:
                continue
            add(skill, name)
            for wish in _aliases(wishes):
                add(wish, name)
    return pairs


def train_tokenizer(texts: Iterable[str], vocab_size: int = 16_000, max_token_length: int = 3):
    """Train a BPE tokenizer with short tokens for Chinese (characters and 2–3-char words).

    The tokenizer carries its own NFKC + lower-case normaliser, so the saved model handles
    full-width input even when used through plain ``SentenceTransformer``.

    Parameters
    ----------
    texts : iterable of str
        The training corpus (normalised here with :func:`matcher.text.normalize_text`).
    vocab_size : int
        Target vocabulary size including the characters.
    max_token_length : int
        Longest token in characters: short tokens generalise to unseen compound words.

    Returns
    -------
    tokenizers.Tokenizer
    """
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    if not isinstance(vocab_size, int) or vocab_size < 2:
        raise ValueError(f"vocab_size must be an int >= 2, got {vocab_size!r}")
    corpus = [t for t in (normalize_text(x) for x in texts) if t]
    if not corpus:
        raise ValueError("cannot train a tokenizer on an empty corpus (no non-empty text)")
    tokenizer = Tokenizer(models.BPE(unk_token=_UNK))
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Whitespace(), pre_tokenizers.Digits(individual_digits=True)]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[_UNK],
        max_token_length=max_token_length,
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    return tokenizer


def _clean_pairs(pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    from training.coder import is_heldout_text

    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, Iterable):
        raise TypeError(f"pairs must be a list of (text, text) tuples, got {type(pairs).__name__}")
    out: list[tuple[str, str]] = []
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise ValueError(f"pair {i} must be a (text, text) tuple, got {pair!r}")
        a, b = normalize_text(pair[0]), normalize_text(pair[1])
        # A held-out real job title (training.coder) is never learnt from, even when the
        # demo world happens to write the same words ("操作工").
        if a and b and not is_heldout_text(a) and not is_heldout_text(b):
            out.append((a, b))
    if len(out) < 2:
        raise ValueError(
            f"need at least 2 pairs with non-empty texts for contrastive training, got {len(out)}"
        )
    return out


def _fit_static(
    tokenizer,
    token_ids,
    pair_idx,
    unk_id,
    embedding_dim,
    epochs,
    batch_size,
    learning_rate,
    scale,
    seed,
    show_progress,
):
    import torch
    from sentence_transformers.sentence_transformer.modules.static_embedding import (
        StaticEmbedding,
    )

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    static = StaticEmbedding(tokenizer, embedding_dim=embedding_dim)
    weight = static.embedding.weight.data
    weight.normal_(0.0, 0.1, generator=generator)
    # Lazy Adam over the rows a batch touches: a dense Adam step over the whole table
    # (16k x 256) costs ~0.2 s on two busy cores and made training 30x slower than needed.
    m_state = torch.zeros_like(weight)
    v_state = torch.zeros_like(weight)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    rng = np.random.default_rng(seed)

    def bag(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        seqs = [token_ids[r] for r in rows]
        lengths = np.fromiter((len(q) for q in seqs), dtype=np.int64, count=len(seqs))
        return np.concatenate(seqs), np.concatenate([[0], np.cumsum(lengths)[:-1]])

    n = len(pair_idx)
    steps_per_epoch = max(1, math.ceil(n / batch_size))
    t_step = 0
    for epoch in range(epochs):
        order = rng.permutation(n)
        total, t0 = 0.0, time.perf_counter()
        for step in range(steps_per_epoch):
            batch = pair_idx[order[step * batch_size : (step + 1) * batch_size]]
            if len(batch) < 2:
                continue
            flat_a, off_a = bag(batch[:, 0])
            flat_b, off_b = bag(batch[:, 1])
            uniq, inverse = np.unique(np.concatenate([flat_a, flat_b]), return_inverse=True)
            rows = torch.from_numpy(uniq)
            sub = weight[rows].clone().requires_grad_(True)
            inv = torch.from_numpy(inverse.astype(np.int64))
            a = torch.nn.functional.embedding_bag(
                inv[: len(flat_a)], sub, torch.from_numpy(off_a), mode="mean"
            )
            b = torch.nn.functional.embedding_bag(
                inv[len(flat_a) :], sub, torch.from_numpy(off_b), mode="mean"
            )
            a = torch.nn.functional.normalize(a, dim=-1)
            b = torch.nn.functional.normalize(b, dim=-1)
            logits = scale * (a @ b.T)
            # The same text on the positive side twice (two aliases of one name in a batch)
            # is not a negative: mask those duplicates out of the softmax.
            same_b = torch.from_numpy(batch[:, 1][:, None] == batch[:, 1][None, :])
            same_a = torch.from_numpy(batch[:, 0][:, None] == batch[:, 0][None, :])
            eye = torch.eye(len(batch), dtype=torch.bool)
            target = torch.arange(len(batch))
            loss = (
                torch.nn.functional.cross_entropy(logits.masked_fill(same_b & ~eye, -1e4), target)
                + torch.nn.functional.cross_entropy(
                    logits.T.masked_fill(same_a & ~eye, -1e4), target
                )
            ) / 2
            loss.backward()
            with torch.no_grad():
                t_step += 1
                grad = sub.grad
                m_rows = m_state[rows].mul_(beta1).add_(grad, alpha=1 - beta1)
                v_rows = v_state[rows].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                m_state[rows] = m_rows
                v_state[rows] = v_rows
                m_hat = m_rows / (1 - beta1**t_step)
                v_hat = v_rows / (1 - beta2**t_step)
                weight[rows] = sub.detach() - learning_rate * m_hat / (v_hat.sqrt() + eps)
            total += float(loss.detach())
        if show_progress:
            secs = time.perf_counter() - t0
            print(
                f"[encoder] epoch {epoch + 1}/{epochs}  loss {total / steps_per_epoch:.4f}  "
                f"{n / max(secs, 1e-9):,.0f} pairs/s",
                flush=True,
            )

    # Tokens never seen in a training pair kept their random start: zero them so that they
    # add nothing (an unknown word must not pull a text anywhere).
    seen = np.zeros(static.num_embeddings, dtype=bool)
    for r in np.unique(pair_idx):
        seen[token_ids[r]] = True
    if unk_id is not None:
        seen[unk_id] = False
    with torch.no_grad():
        static.embedding.weight[torch.from_numpy(~seen)] = 0.0
    return static, n, seen


def train_encoder(
    pairs: Sequence[tuple[str, str]],
    output_path: str | Path,
    *,
    corpus: Iterable[str] | None = None,
    embedding_dim: int = 256,
    epochs: int = 5,
    batch_size: int = 256,
    learning_rate: float = 0.05,
    vocab_size: int = 16_000,
    scale: float = 20.0,
    seed: int = 0,
    show_progress: bool = True,
):
    """Train a ``StaticEmbedding`` sentence-transformers model on positive pairs and save it.

    Parameters
    ----------
    pairs : sequence of (str, str)
        Texts that mean the same job; the other pairs of a batch are the negatives.
    output_path : str or Path
        Folder to write (``SentenceTransformer.save``), created if missing.
    corpus : iterable of str, optional
        Extra texts for the tokenizer (the pair texts are always used).
    embedding_dim : int
        Vector size.
    epochs, batch_size, learning_rate : int, int, float
        Adam over the embedding table; larger batches give more negatives per step.
    vocab_size : int
        Tokenizer vocabulary, see :func:`train_tokenizer`.
    scale : float
        Inverse temperature of the softmax over cosine similarities (20, as
        ``MultipleNegativesRankingLoss``).
    seed : int
        Seeds initialisation and batch order: equal inputs give identical models.
    show_progress : bool
        Print one line per epoch (loss, pairs/s).

    Returns
    -------
    SentenceTransformer
        The trained model (``StaticEmbedding`` → ``Normalize``), already saved.
    """
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules.normalize import Normalize

    for param, value in (
        ("embedding_dim", embedding_dim),
        ("epochs", epochs),
        ("batch_size", batch_size),
    ):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{param} must be a positive int, got {value!r}")
    if not (isinstance(learning_rate, (int, float)) and learning_rate > 0):
        raise ValueError(f"learning_rate must be > 0, got {learning_rate!r}")
    clean = _clean_pairs(pairs)
    output_path = Path(output_path)
    started = time.perf_counter()

    texts = sorted({t for pair in clean for t in pair})
    index = {t: i for i, t in enumerate(texts)}
    from training.coder import is_heldout_text

    corpus = [t for t in (corpus or []) if not is_heldout_text(t)]
    tokenizer = train_tokenizer(list(texts) + corpus, vocab_size=vocab_size)
    token_ids = [
        np.asarray(enc.ids, dtype=np.int64)
        for enc in tokenizer.encode_batch(texts, add_special_tokens=False)
    ]
    unk_id = tokenizer.token_to_id(_UNK)
    pair_idx = np.asarray(
        [
            (index[a], index[b])
            for a, b in clean
            if len(token_ids[index[a]]) and len(token_ids[index[b]])
        ],
        dtype=np.int64,
    )
    if len(pair_idx) < 2:
        raise ValueError("fewer than 2 pairs left after tokenisation; give more or longer texts")

    # One thread: the batches are small, and on two shared cores a second thread made each
    # backward pass 7x slower through contention. Restored when done.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        static, n, seen = _fit_static(
            tokenizer,
            token_ids,
            pair_idx,
            unk_id,
            embedding_dim,
            epochs,
            batch_size,
            learning_rate,
            scale,
            seed,
            show_progress,
        )
    finally:
        torch.set_num_threads(threads)

    model = SentenceTransformer(modules=[static, Normalize()], device="cpu")
    output_path.mkdir(parents=True, exist_ok=True)
    model.save(str(output_path))
    info = {
        "kind": "StaticEmbedding (BPE, short tokens) + Normalize, contrastive in-batch loss",
        "pairs": int(n),
        "texts": len(texts),
        "vocab_size": int(static.num_embeddings),
        "trained_tokens": int(seen.sum()),
        "embedding_dim": embedding_dim,
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "scale": scale,
        "seed": seed,
        "train_seconds": round(time.perf_counter() - started, 2),
    }
    (output_path / "jobbridge_encoder.json").write_text(
        json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    if show_progress:
        print(
            f"[encoder] saved to {output_path} ({n:,} pairs, {info['trained_tokens']:,} trained "
            f"tokens, {info['train_seconds']} s)",
            flush=True,
        )
    return model


def default_pairs(
    n_workers: int = 20_000, n_jobs: int = 30_000, seed: int = 0
) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """The default training pairs: the classification, plus the demo world when the demo
    generator (``data.demo.generate_world``) is available.

    Returns
    -------
    pairs : list of (str, str)
    counts : dict
        ``{"occupation": n, "world": m}``.
    """
    from data.reference import load_occupations

    occupations = load_occupations(4)
    pairs = occupation_pairs(occupations)
    counts = {"occupation": len(pairs), "world": 0}
    try:
        from data.demo import generate_world
    except ImportError:
        generate_world = None  # the classification alone still gives a working encoder
    if generate_world is not None and (n_workers or n_jobs):
        # A world of its own (seed + 1000): the engine is evaluated on demo worlds drawn with
        # the usual seeds, and the encoder must not have read their workers' true codes.
        world = generate_world(n_workers, n_jobs, seed=seed + 1000)
        extra = world_pairs(world, occupations)
        counts["world"] = len(extra)
        pairs = pairs + extra
    return pairs, counts


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="训练默认中文文本编码器 (train the default encoder)"
    )
    parser.add_argument("--output", required=True, help="folder to write the model to")
    parser.add_argument("--workers", type=int, default=20_000, help="demo workers for pairs")
    parser.add_argument("--jobs", type=int, default=30_000, help="demo jobs for pairs")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    pairs, counts = default_pairs(args.workers, args.jobs, seed=args.seed)
    print(f"[encoder] pairs: {counts}", flush=True)
    train_encoder(pairs, args.output, embedding_dim=args.dim, epochs=args.epochs, seed=args.seed)


if __name__ == "__main__":
    main()
