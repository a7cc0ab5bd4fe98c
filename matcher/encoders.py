"""Text encoders: one small contract for every source of dense vectors.

An *encoder* here is any object with ``encode(texts) -> ndarray``, ``dimension`` and ``name``;
its rows are float32 and L2-normalised (a zero row for an empty text), and it normalises the
text (:func:`matcher.text.normalize_text`) before encoding, so that ``ＣＮＣ`` and ``cnc``,
``縫紉`` and ``缝纫`` land on the same vector.

* :func:`load_encoder` turns a configuration value into an encoder: a folder holding any
  sentence-transformers model (the project's own, trained by :mod:`training.encoder`, or any
  other), the string ``"char-ngram"``, or an object that already has ``encode``. This mirrors
  ``NearestNeighbors(metric=str | callable)``: tests pass a small deterministic encoder.
* :class:`CharNgramEncoder` needs no training: hashed character n-grams through a fixed sparse
  random projection. Tests and small deployments use it; it is also the lexical peer in the
  benchmarks.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from matcher.text import check_ngram_range, normalize_text

__all__ = [
    "CallableEncoder",
    "CharNgramEncoder",
    "Encoder",
    "SentenceTransformerEncoder",
    "l2_normalize",
    "load_encoder",
]

#: Files that make a folder a sentence-transformers model (``modules.json`` is written by
#: ``SentenceTransformer.save``; a bare Hugging Face transformer folder has ``config.json``).
_MODEL_MARKERS = ("modules.json", "config_sentence_transformers.json", "config.json")


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Return ``x`` as float32 with unit-length rows; all-zero rows stay zero (no NaN)."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"expected a 2-D array of embeddings, got shape {x.shape}")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    np.divide(x, norms, out=x, where=norms > 0)
    return x


def _as_text_list(texts: Any) -> list[str]:
    if isinstance(texts, str):
        raise TypeError(
            f"encode() expects a list of texts, got a single str {texts[:30]!r}; pass [text]"
        )
    if not isinstance(texts, Iterable):
        raise TypeError(f"encode() expects a list of texts, got {type(texts).__name__}")
    return [normalize_text(t) for t in texts]


class Encoder:
    """Base class: normalisation, empty texts and L2-normalisation around ``_encode``.

    Subclasses implement ``_encode(texts, batch_size, show_progress) -> ndarray`` for a
    non-empty list of non-empty, already normalised texts, and the ``dimension`` property.

    Attributes
    ----------
    name : str
        Human-readable identity of the encoder (a model path, ``char-ngram-256``), written into
        model metadata.
    """

    name: str = "encoder"

    @property
    def dimension(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def _encode(self, texts: list[str], batch_size: int, show_progress: bool) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover - abstract

    def encode(
        self, texts: Sequence[str], batch_size: int = 256, show_progress: bool = False
    ) -> np.ndarray:
        """Encode texts into unit-length float32 rows.

        Parameters
        ----------
        texts : sequence of str
            Texts in any spelling; ``None``/``NaN``/``""`` give a zero row.
        batch_size : int
            Texts per forward pass of the underlying model.
        show_progress : bool
            Show a progress bar where the underlying model offers one.

        Returns
        -------
        ndarray of shape (len(texts), dimension), float32
        """
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        normed = _as_text_list(texts)
        out = np.zeros((len(normed), self.dimension), dtype=np.float32)
        keep = [i for i, t in enumerate(normed) if t]
        if keep:
            vectors = np.asarray(
                self._encode([normed[i] for i in keep], batch_size, show_progress),
                dtype=np.float32,
            )
            if vectors.shape != (len(keep), self.dimension):
                raise ValueError(
                    f"encoder {self.name!r} returned shape {vectors.shape}, "
                    f"expected {(len(keep), self.dimension)}"
                )
            out[keep] = vectors
        return l2_normalize(out)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dimension={self.dimension})"


class SentenceTransformerEncoder(Encoder):
    """A sentence-transformers model on the CPU.

    Parameters
    ----------
    model : SentenceTransformer
        The loaded model.
    path : str or None
        The folder it was loaded from. When known, pickling stores only the path and the model
        is loaded again on first use after unpickling (a saved engine stays small
        and shares the model folder written by ``model.save``).
    """

    def __init__(self, model: Any, path: str | None = None) -> None:
        self.model = model
        self.path = path
        self.name = path or type(model).__name__

    @property
    def dimension(self) -> int:
        model = self._model()
        getter = getattr(model, "get_embedding_dimension", None)
        getter = getter or model.get_sentence_embedding_dimension
        dim = getter()
        if dim is None:  # some modules do not declare it: ask the model once
            dim = int(np.asarray(model.encode(["测试"], convert_to_numpy=True)).shape[1])
        return int(dim)

    def _model(self) -> Any:
        if self.model is None:
            self.model = _load_sentence_transformer(Path(self.path))
        return self.model

    def _is_static(self) -> bool:
        model = self._model()
        first = model[0] if len(model) else None
        return type(first).__name__ == "StaticEmbedding"

    def _encode(self, texts: list[str], batch_size: int, show_progress: bool) -> np.ndarray:
        model = self._model()
        if not self._is_static():
            return model.encode(
                texts,
                batch_size=batch_size,
                show_progress_bar=show_progress,
                convert_to_numpy=True,
                normalize_embeddings=False,
            )
        # A static model is a table look-up: per-batch overhead dominates, so use big batches,
        # and one torch thread (on two shared cores a second thread only adds contention:
        # 6,500 -> 12,000 texts/s measured). Restored afterwards.
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return model.encode(
                texts,
                batch_size=max(batch_size, 2048),
                show_progress_bar=show_progress,
                convert_to_numpy=True,
                normalize_embeddings=False,
            )
        finally:
            torch.set_num_threads(threads)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if self.path is not None:
            state["model"] = None
        return state


class CallableEncoder(Encoder):
    """Wrap any object with ``encode(list[str]) -> array`` into the encoder contract.

    Parameters
    ----------
    obj : object
        Has ``encode``; may have ``dimension`` or ``get_sentence_embedding_dimension()``,
        otherwise the dimension is found by encoding one probe text.
    name : str, optional
        Defaults to ``obj.name`` or the class name.
    """

    def __init__(self, obj: Any, name: str | None = None) -> None:
        self.obj = obj
        self.name = name or str(getattr(obj, "name", None) or type(obj).__name__)
        self._dimension: int | None = None

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            dim = getattr(self.obj, "dimension", None)
            if not isinstance(dim, (int, np.integer)):
                getter = getattr(self.obj, "get_sentence_embedding_dimension", None)
                dim = getter() if callable(getter) else None
            if not isinstance(dim, (int, np.integer)):
                probe = np.asarray(self.obj.encode(["测试"]))
                if probe.ndim != 2 or probe.shape[0] != 1:
                    raise ValueError(
                        f"encoder {self.name!r}.encode(['测试']) returned shape {probe.shape}, "
                        "expected (1, dimension)"
                    )
                dim = probe.shape[1]
            self._dimension = int(dim)
        return self._dimension

    def _encode(self, texts: list[str], batch_size: int, show_progress: bool) -> np.ndarray:
        return np.asarray(self.obj.encode(texts), dtype=np.float32)


class CharNgramEncoder(Encoder):
    """Deterministic, training-free encoder: hashed char n-grams, fixed sparse projection.

    Each character n-gram is hashed into ``n_features`` buckets (scikit-learn's
    ``HashingVectorizer``, TF weighted, L2-normalised) and every bucket is mapped to
    ``nnz_per_feature`` random coordinates with random signs: a sparse Johnson–Lindenstrauss
    projection that keeps cosine similarities of the n-gram profiles approximately.

    Parameters
    ----------
    dim : int, default=256
        Output dimension.
    ngram_range : (int, int), default=(1, 3)
        Character n-gram lengths.
    seed : int, default=0
        Seed of the projection: equal seeds give identical vectors in every process.
    n_features : int, default=2**18
        Hash buckets before the projection.
    nnz_per_feature : int, default=8
        Non-zero coordinates per bucket in the projection.

    Examples
    --------
    >>> enc = CharNgramEncoder(dim=64)
    >>> v = enc.encode(["叉车司机", "叉車司機", ""])
    >>> v.shape, float(v[0] @ v[1]), float(abs(v[2]).sum())
    ((3, 64), 1.0, 0.0)
    """

    def __init__(
        self,
        dim: int = 256,
        ngram_range: tuple[int, int] = (1, 3),
        seed: int = 0,
        n_features: int = 2**18,
        nnz_per_feature: int = 8,
    ) -> None:
        self.dim = dim
        self.ngram_range = ngram_range
        self.seed = seed
        self.n_features = n_features
        self.nnz_per_feature = nnz_per_feature

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"char-ngram-{self.dim}"

    @property
    def dimension(self) -> int:
        return int(self.dim)

    def _build(self) -> None:
        for param in ("dim", "n_features", "nnz_per_feature", "seed"):
            value = getattr(self, param)
            if not isinstance(value, (int, np.integer)) or value < (0 if param == "seed" else 1):
                raise ValueError(f"CharNgramEncoder {param} must be a positive int, got {value!r}")
        lo_hi = check_ngram_range(self.ngram_range, "CharNgramEncoder")
        from sklearn.feature_extraction.text import HashingVectorizer

        self._vectorizer = HashingVectorizer(
            analyzer="char",
            ngram_range=tuple(lo_hi),
            n_features=self.n_features,
            alternate_sign=False,
            lowercase=False,  # normalize_text already did it
            norm="l2",
            dtype=np.float32,
        )
        rng = np.random.default_rng(self.seed)
        k = self.nnz_per_feature
        cols = rng.integers(0, self.dim, size=(self.n_features, k)).ravel()
        vals = (rng.integers(0, 2, size=self.n_features * k) * 2 - 1).astype(np.float32)
        vals /= np.sqrt(k)
        indptr = np.arange(0, self.n_features * k + 1, k)
        self._projection = sp.csr_matrix(
            (vals, cols, indptr), shape=(self.n_features, self.dim), dtype=np.float32
        )
        self._built_for = (self.dim, tuple(lo_hi), self.seed, self.n_features, k)

    def _encode(self, texts: list[str], batch_size: int, show_progress: bool) -> np.ndarray:
        key = (self.dim, tuple(self.ngram_range), self.seed, self.n_features, self.nnz_per_feature)
        if getattr(self, "_built_for", None) != key:  # params changed by set_params-like edits
            self._build()
        hashed = self._vectorizer.transform(texts)
        return (hashed @ self._projection).toarray()

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters, as scikit-learn's ``clone`` expects."""
        return {
            "dim": self.dim,
            "ngram_range": self.ngram_range,
            "seed": self.seed,
            "n_features": self.n_features,
            "nnz_per_feature": self.nnz_per_feature,
        }

    def __getstate__(self) -> dict[str, Any]:
        # The projection is rebuilt from the seed: pickles stay a few hundred bytes.
        return self.get_params()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)


def _load_sentence_transformer(path: Path) -> Any:
    if not path.exists():
        raise FileNotFoundError(f"编码器模型路径不存在 (encoder model path not found): {path}")
    if not path.is_dir():
        raise ValueError(
            f"编码器模型路径不是文件夹 (encoder model path is not a folder): {path}; "
            "expected a folder written by SentenceTransformer.save()"
        )
    if not any((path / marker).is_file() for marker in _MODEL_MARKERS):
        raise ValueError(
            f"文件夹不是 sentence-transformers 模型 (not a sentence-transformers model): {path}; "
            f"none of {', '.join(_MODEL_MARKERS)} found"
        )
    # Never reach for the Hugging Face hub: the service runs without network.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(str(path), device="cpu", local_files_only=True)
    except Exception as exc:  # corrupt weights, missing tokenizer, wrong format...
        raise ValueError(
            f"无法加载编码器模型 (cannot load encoder model) {path}: {type(exc).__name__}: {exc}"
        ) from exc


def load_encoder(spec: Any) -> Encoder:
    """Turn a configuration value into an :class:`Encoder`.

    Parameters
    ----------
    spec : str, os.PathLike or object
        * a folder holding a sentence-transformers model (loaded on the CPU from local files
          only);
        * ``"char-ngram"`` or ``"char-ngram:<dim>"`` for a :class:`CharNgramEncoder`;
        * an :class:`Encoder` (returned as is);
        * a ``SentenceTransformer`` instance or any object with ``encode(list[str])``
          (wrapped).

    Returns
    -------
    Encoder

    Raises
    ------
    FileNotFoundError
        If the path does not exist (the message names it).
    ValueError
        If the path is not a model folder or the model cannot be loaded.
    TypeError
        If ``spec`` is none of the above.

    Examples
    --------
    >>> load_encoder("char-ngram:32").dimension
    32
    """
    if isinstance(spec, Encoder):
        return spec
    if isinstance(spec, str) and spec.startswith("char-ngram"):
        _, _, dim = spec.partition(":")
        if dim and not dim.isdigit():
            raise ValueError(f"char-ngram dimension must be a positive int, got {spec!r}")
        return CharNgramEncoder(dim=int(dim) if dim else 256)
    if isinstance(spec, (str, os.PathLike)):
        path = Path(spec).expanduser()
        return SentenceTransformerEncoder(_load_sentence_transformer(path), path=str(path))
    encode = getattr(spec, "encode", None)
    if callable(encode):
        # An instance can only exist if its module is loaded: do not pay the (slow) import of
        # sentence-transformers just to wrap some other object.
        st_module = sys.modules.get("sentence_transformers")
        if st_module is not None and isinstance(spec, st_module.SentenceTransformer):
            return SentenceTransformerEncoder(spec)
        return CallableEncoder(spec)
    raise TypeError(
        f"encoder spec must be a model folder path, 'char-ngram', or an object with "
        f"encode(list[str]), got {type(spec).__name__} {spec!r}"
    )
