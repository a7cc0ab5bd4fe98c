"""Model versions on disk: one folder per version, ``models/current`` names the one in service.

A model version is everything learned, and nothing indexed. Its folder holds

* ``engine.pkl.gz`` — the learned :class:`~matcher.engine.MatchingEngine`: its parameters, the
  lexical vocabulary and idf weights (``vectorizer_``), the hard-rule context with the
  occupation coder's state (``context_``), the ranker with its calibration, and a small
  encoder (char n-grams) when it is not a sentence-transformers model. The candidate index is
  data, not model: serving builds it from the database (``build_index``), so by default it is
  not saved (``include_index=True`` keeps it, for round-trip tests and offline use);
* ``encoder/`` — the sentence-transformers model saved with its own ``save()``, when the
  engine's encoder is one;
* ``metadata.json`` — the format, library versions, the data snapshot it was trained on
  (counts and a hash), the git commit, the engine parameters, the size of the vocabulary and
  the evaluation figures.

The engine is a gzip-compressed pickle (the C unpickler: joblib's pure-Python one took
20 s for the 200,000-entry vocabulary, pickle takes well under one). Pickle runs code on
load: load only folders this project wrote. :func:`load_model` checks the
metadata first and refuses a folder of another format (format 2 left the vocabulary out and
refitted it on live data at every boot) or written with another scikit-learn or
sentence-transformers major.minor version, naming both. :func:`load_current` falls back to
the previous version when the current one is missing or corrupt, so that a bad training
run never takes the service down.
"""

from __future__ import annotations

import copy
import datetime as dt
import gzip
import hashlib
import json
import logging
import os
import pickle
import platform
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

#: 3: a version is everything learned — the vocabulary and the coder's context are saved with
#: the ranker, and serving only indexes (format 2 refitted the vocabulary on live data at boot).
FORMAT_VERSION = 3
ENGINE_FILE = "engine.pkl.gz"
ENCODER_DIR = "encoder"
METADATA_FILE = "metadata.json"
CURRENT_FILE = "current"
PREVIOUS_FILE = "previous"

#: Libraries whose major.minor must match between training and loading.
CHECKED_LIBRARIES = ("scikit-learn", "sentence-transformers")


class ModelLoadError(ValueError):
    """A model folder is missing, incomplete, corrupt or from another library version."""


def library_versions() -> dict[str, str]:
    """Versions of the libraries an artifact depends on (read from package metadata, so that
    checking them does not import torch)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for dist in ("scikit-learn", "numpy", "pandas", "joblib", "sentence-transformers", "torch"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "absent"
    return out


def git_commit(path: str | os.PathLike[str] | None = None) -> str | None:
    """The commit checked out where the code lives (None outside a git checkout)."""
    where = Path(path) if path else Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def table_hash(frame: pd.DataFrame) -> str:
    """A stable SHA-256 of a table's content (columns sorted, list cells as text)."""
    cols = sorted(frame.columns)
    h = hashlib.sha256("|".join(cols).encode())
    as_text = frame[cols].astype(str) if cols else frame
    h.update(pd.util.hash_pandas_object(as_text, index=False).to_numpy().tobytes())
    return h.hexdigest()


def data_snapshot(**tables: pd.DataFrame | None) -> dict[str, Any]:
    """Counts and hashes of the tables a model was trained on (``jobs=, workers=, events=``).

    >>> data_snapshot(jobs=pd.DataFrame({"job_id": [1, 2]}))["jobs"]["rows"]
    2
    """
    out: dict[str, Any] = {}
    for name, frame in tables.items():
        if frame is None:
            continue
        out[name] = {"rows": int(len(frame)), "sha256": table_hash(frame)}
    return out


def _major_minor(version: str) -> str:
    return ".".join(str(version).split("+")[0].split(".")[:2])


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer | np.floating):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return repr(value)


def _st_model(encoder: Any) -> Any | None:
    """The SentenceTransformer inside an encoder, if there is one."""
    # An encoder cannot hold a SentenceTransformer unless the library is imported already;
    # checking first saves importing torch (seconds) to save a char n-gram engine.
    if "sentence_transformers" not in sys.modules:
        return None
    from sentence_transformers import SentenceTransformer

    if isinstance(encoder, SentenceTransformer):
        return encoder
    inner = getattr(encoder, "_model", None)
    if callable(inner) and hasattr(encoder, "model"):
        model = encoder._model()
        return model if isinstance(model, SentenceTransformer) else None
    return None


def _engine_params_summary(engine: Any) -> dict[str, Any]:
    params = engine.get_params(deep=False)
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, str | int | float | bool | type(None)):
            out[key] = value
        elif isinstance(value, tuple | list) and all(
            isinstance(v, int | float | str) for v in value
        ):
            out[key] = list(value)
        elif isinstance(value, dt.date):
            out[key] = value.isoformat()
        else:
            out[key] = type(value).__name__
    return out


def save_model(
    engine: Any,
    folder: str | os.PathLike[str],
    metadata: Mapping[str, Any] | None = None,
    *,
    include_index: bool = True,
) -> Path:
    """Write one model version folder.

    Parameters
    ----------
    engine : MatchingEngine
        Learned (:meth:`~matcher.engine.MatchingEngine.learn` or ``fit``): its parameters,
        vocabulary, coder context, encoder and ranker are kept.
    include_index : bool, default=True
        Keep the candidate index an engine built too. Versions for serving are saved without
        (``False``): the service builds the index from the database.
    folder : path
        The version folder, e.g. ``models/v20240601-120000``; it must not exist or be empty.
    metadata : mapping, optional
        Extra entries for ``metadata.json``: ``data`` (see :func:`data_snapshot`),
        ``evaluation`` (figures), anything JSON-able.

    Returns
    -------
    Path
        The folder written.
    """
    folder = Path(folder)
    if not getattr(engine, "is_learned", False):
        raise ValueError(
            "the engine has learned nothing (模型尚未学习); call learn() or fit() before "
            "save_model: a model version is what was learned"
        )
    if folder.exists() and any(folder.iterdir()):
        raise FileExistsError(
            f"model folder {str(folder)!r} exists and is not empty (模型目录已存在)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    to_save = copy.copy(engine)
    encoder_info: dict[str, Any] = {"kind": "object", "name": None}
    fitted_encoder = getattr(engine, "encoder_", None)
    st = _st_model(fitted_encoder) or _st_model(engine.encoder)
    if st is not None:
        st.save(str(folder / ENCODER_DIR))
        encoder_info = {"kind": "sentence-transformers", "name": ENCODER_DIR}
        to_save.encoder = ENCODER_DIR  # resolved against the folder on load
        if fitted_encoder is not None:
            to_save.encoder_ = None
    else:
        enc = fitted_encoder if fitted_encoder is not None else engine.encoder
        encoder_info = {"kind": "object", "name": getattr(enc, "name", type(enc).__name__)}
    if not include_index:
        for attr in ("jobs_index_", "workers_index_", "crowding_", "as_of_", "dimension_"):
            if hasattr(to_save, attr):
                delattr(to_save, attr)
    write_engine(folder / ENGINE_FILE, {"format": FORMAT_VERSION, "engine": to_save})
    meta: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "version": folder.name,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "libraries": library_versions(),
        "git_commit": git_commit(),
        "encoder": encoder_info,
        "params": _engine_params_summary(engine),
        "fitted_index": bool(include_index and hasattr(engine, "jobs_index_")),
        "vocabulary": {
            "ngrams": len(engine.vectorizer_.vocabulary_),
            "ngram_range": list(engine.vectorizer_.ngram_range),
        },
        "coder": type(engine.context_.coder).__name__ if engine.context_.coder else None,
        "ranker": None,
    }
    ranker = getattr(engine, "ranker_", None) or engine.ranker
    if ranker is not None:
        meta["ranker"] = {
            "class": type(ranker).__name__,
            "n_train": getattr(ranker, "n_train_", None),
            "base_rate": getattr(ranker, "base_rate_", None),
        }
    meta.update(dict(metadata or {}))
    tmp = folder / (METADATA_FILE + ".tmp")
    tmp.write_text(
        json.dumps(meta, ensure_ascii=False, indent=2, default=_json_default), encoding="utf-8"
    )
    os.replace(tmp, folder / METADATA_FILE)
    return folder


def read_metadata(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``metadata.json`` of a version folder (``ModelLoadError`` naming an unreadable path)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelLoadError(f"model folder {str(folder)!r} does not exist (模型目录不存在)")
    path = folder / METADATA_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelLoadError(
            f"model folder {str(folder)!r} has no {METADATA_FILE} (模型不完整)"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{str(path)!r} is corrupt (模型元数据损坏): {exc}") from exc
    if not isinstance(meta, dict) or "libraries" not in meta:
        raise ModelLoadError(f"{str(path)!r} is not a jobbridge model metadata file")
    return meta


def check_versions(meta: Mapping[str, Any], folder: str | os.PathLike[str]) -> None:
    """Refuse an artifact trained with another major.minor of scikit-learn or
    sentence-transformers."""
    saved = meta.get("libraries", {})
    now = library_versions()
    for lib in CHECKED_LIBRARIES:
        if (
            lib == "sentence-transformers"
            and meta.get("encoder", {}).get("kind") != "sentence-transformers"
        ):
            continue
        if lib in saved and _major_minor(saved[lib]) != _major_minor(now[lib]):
            raise ModelLoadError(
                f"model {str(folder)!r} was trained with {lib} {saved[lib]} but {now[lib]} is "
                f"installed (模型与当前库版本不符); retrain it with `jobbridge train` or install "
                f"{lib}=={saved[lib]}"
            )


def write_engine(path: Path, payload: Mapping[str, Any]) -> None:
    """Pickle ``payload`` to ``path`` (gzip), atomically."""
    tmp = path.with_name(path.name + ".tmp")
    with gzip.open(tmp, "wb", compresslevel=6) as f:
        pickle.dump(dict(payload), f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


def read_engine(path: str | os.PathLike[str]) -> Any:
    """What :func:`write_engine` wrote."""
    return pickle.loads(gzip.decompress(Path(path).read_bytes()))


def check_format(found: Any, folder: str | os.PathLike[str]) -> None:
    """Refuse a folder of another layout than :data:`FORMAT_VERSION`, saying what to do."""
    if found == FORMAT_VERSION:
        return
    raise ModelLoadError(
        f"model {str(folder)!r} is of format {found!r}, this version reads format "
        f"{FORMAT_VERSION} only (模型格式过旧或不符，无法载入): format 3 saves the vocabulary "
        "with the model instead of refitting it on live data; rebuild it with `jobbridge "
        "train`, or remove it and run `jobbridge init-db` for the base model"
    )


def load_model(folder: str | os.PathLike[str]) -> Any:
    """Load a version folder written by :func:`save_model`.

    Returns
    -------
    MatchingEngine
        With ``model_version_`` (the folder name) and ``model_metadata_`` set.

    Raises
    ------
    ModelLoadError
        When the folder is missing, incomplete or corrupt, or was written by another
        scikit-learn / sentence-transformers major.minor version; the message names the path.
    """
    folder = Path(folder)
    meta = read_metadata(folder)
    check_format(meta.get("format"), folder)
    check_versions(meta, folder)
    path = folder / ENGINE_FILE
    if not path.is_file():
        raise ModelLoadError(f"model folder {str(folder)!r} has no {ENGINE_FILE} (模型不完整)")
    try:
        payload = read_engine(path)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a corrupt artifact
        raise ModelLoadError(
            f"{str(path)!r} is corrupt (模型文件损坏): {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(payload, dict) or "engine" not in payload:
        raise ModelLoadError(
            f"{str(path)!r} is not a jobbridge engine of format {FORMAT_VERSION} "
            "(模型格式不符); retrain it with `jobbridge train`"
        )
    check_format(payload.get("format"), folder)
    engine = payload["engine"]
    if not getattr(engine, "is_learned", False):
        raise ModelLoadError(f"{str(path)!r} holds an engine that learned nothing (模型不完整)")
    if meta.get("encoder", {}).get("kind") == "sentence-transformers":
        enc_dir = folder / ENCODER_DIR
        if not enc_dir.is_dir():
            raise ModelLoadError(
                f"model folder {str(folder)!r} lacks its encoder folder {ENCODER_DIR}/ (模型不完整)"
            )
        from matcher.encoders import load_encoder

        try:
            encoder = load_encoder(str(enc_dir))
        except Exception as exc:  # noqa: BLE001
            raise ModelLoadError(
                f"encoder {str(enc_dir)!r} cannot be loaded (编码器损坏): {exc}"
            ) from exc
        engine.encoder = str(enc_dir)
        engine.encoder_ = encoder
    engine.model_version_ = folder.name
    engine.model_metadata_ = meta
    return engine


def new_version_name(models_dir: str | os.PathLike[str], now: dt.datetime | None = None) -> str:
    """A fresh folder name ``vYYYYMMDD-HHMMSS`` (with ``-2``, ``-3``… when taken)."""
    now = now or dt.datetime.now()
    base = now.strftime("v%Y%m%d-%H%M%S")
    name, n = base, 1
    while (Path(models_dir) / name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def list_versions(models_dir: str | os.PathLike[str]) -> list[str]:
    """Version folders (those with a metadata file), oldest first by name."""
    root = Path(models_dir)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / METADATA_FILE).exists())


def current_version(models_dir: str | os.PathLike[str]) -> str | None:
    """The version ``models/current`` names, or None."""
    path = Path(models_dir) / CURRENT_FILE
    if not path.is_file():
        return None
    name = path.read_text(encoding="utf-8").strip()
    return name or None


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, path)


def set_current(models_dir: str | os.PathLike[str], version: str) -> None:
    """Point ``models/current`` at a version (the one it named becomes ``models/previous``)."""
    root = Path(models_dir)
    if "/" in version or "\\" in version or version in ("", ".", ".."):
        raise ValueError(f"version {version!r} is not a folder name")
    read_metadata(root / version)  # refuse to serve a folder that is not a model
    old = current_version(root)
    if old and old != version:
        _write_atomic(root / PREVIOUS_FILE, old)
    _write_atomic(root / CURRENT_FILE, version)


def load_current(models_dir: str | os.PathLike[str]) -> Any:
    """Load the version in service; when it fails, keep the previous one serving.

    Tries ``current``, then ``previous``, then the other versions newest first, and logs each
    failure. Raises :class:`ModelLoadError` naming ``models_dir`` and every failure when no
    version loads.
    """
    root = Path(models_dir)
    order: list[str] = []
    for name in (
        current_version(root),
        (root / PREVIOUS_FILE).is_file()
        and (root / PREVIOUS_FILE).read_text(encoding="utf-8").strip(),
        *reversed(list_versions(root)),
    ):
        if name and name not in order:
            order.append(name)
    if not order:
        raise ModelLoadError(
            f"no model version in {str(root)!r} (没有可用的模型); run `jobbridge train` first"
        )
    failures: list[str] = []
    for name in order:
        try:
            engine = load_model(root / name)
        except ModelLoadError as exc:
            log.warning("model version %s cannot be loaded: %s", name, exc)
            failures.append(str(exc))
            continue
        if failures:
            log.warning("serving model version %s instead", name)
        engine.model_fallback_from_ = failures
        return engine
    raise ModelLoadError(f"no model version in {str(root)!r} can be loaded: " + "; ".join(failures))


__all__ = [
    "FORMAT_VERSION",
    "ModelLoadError",
    "check_format",
    "current_version",
    "data_snapshot",
    "git_commit",
    "library_versions",
    "list_versions",
    "load_current",
    "load_model",
    "new_version_name",
    "read_engine",
    "read_metadata",
    "save_model",
    "set_current",
    "table_hash",
    "write_engine",
]
