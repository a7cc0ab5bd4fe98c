"""Index snapshots: the candidate index written as plain ``.npy`` files and mapped back.

An index is data, not model: a snapshot holds both sides' rows (ids, tombstones, embeddings,
the coarse copy, the TF-IDF rows and their CSC copy, every column of the prepared tables and
their texts) as standard NumPy files, plus a ``manifest.json`` naming the model version the
rows were prepared and encoded with and the *feed position*: the newest change (see
``api/storage/changes.py``) they include. A process opens a snapshot with
``numpy.load(mmap_mode=...)``, so every process of a host reads one copy through the page
cache; what a process adds afterwards (rows from the change feed, tombstones) lives in its own
pages (:class:`matcher.index.ItemIndex` on a snapshot).

Layout, one folder per model version::

    <root>/<model_version>/
        current                   the id of the snapshot to open (replaced atomically)
        <snapshot_id>/
            manifest.json
            jobs/meta.json, jobs/<array>.npy ...
            workers/meta.json, workers/<array>.npy ...
            crowding/job_ids.npy, crowding/prices.npy   the jobs' crowding prices

A snapshot is written into a hidden folder beside the others, renamed into place when
complete, and only then named by ``current`` (written to a temporary file and renamed over
the old one, as ``os.replace`` is atomic): a reader sees the old snapshot or the new one,
never a part. Arrays that grow (one per row: ids, embeddings, columns; and the CSR buffers)
are written with spare rows at their end, left as holes in the file; a process maps them
copy-on-write (``mmap_mode="c"``) and appends into them, so that a new row costs the row.
Arrays that never change in a process are mapped read-only (``mmap_mode="r"``).

The crowding prices (:class:`matcher.engine.CrowdingPrices`: the crowded jobs' ids, sorted,
and their prices, which :meth:`~matcher.engine.MatchingEngine.recommend_jobs` subtracts) are
computed once by the builder from the whole register and mapped by every process like the
rows, so all of them answer with the same prices; the manifest's ``crowding`` says how they
were computed. A snapshot without them (written before they existed) serves without prices.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from matcher.engine import CrowdingPrices
from matcher.index import ItemIndex

#: Version of the layout above; a snapshot of another format is not opened (it is rebuilt).
#: 2: the prepared jobs carry ``occ_alt_code`` (a title's second reading).
FORMAT = 2
MANIFEST = "manifest.json"
POINTER = "current"
#: Spare rows written after each growing array (a process appends this many rows in place).
DEFAULT_SPARE_ROWS = 65_536
#: An unfinished snapshot folder older than this is a builder that died: removed on prune.
_STALE_TMP_S = 3600


class SnapshotError(RuntimeError):
    """A snapshot folder that cannot be opened (missing, another format, another model)."""


@dataclass
class Snapshot:
    """An opened snapshot: both indexes on the files' maps, and the manifest."""

    path: Path
    manifest: dict[str, Any]
    jobs: ItemIndex
    workers: ItemIndex
    #: The jobs' crowding prices, or None (a snapshot written without them).
    crowding: CrowdingPrices | None = None

    @property
    def snapshot_id(self) -> str:
        return str(self.manifest["snapshot_id"])

    @property
    def feed_position(self) -> int:
        """The newest change id the snapshot's rows include."""
        return int(self.manifest["feed_position"])

    @property
    def model_version(self) -> str:
        return str(self.manifest["model_version"])


def version_folder(root: str | os.PathLike[str], model_version: str) -> Path:
    """The folder holding the snapshots of one model version."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", str(model_version)) or "_"
    return Path(root) / name


def _save(path: Path, array: np.ndarray, spare: int) -> None:
    array = np.ascontiguousarray(array)
    if spare <= 0:
        np.save(path, array, allow_pickle=False)
        return
    # The spare rows are never written: the file is sparse and they cost no disk.
    out = np.lib.format.open_memmap(
        path, mode="w+", dtype=array.dtype, shape=(array.shape[0] + spare, *array.shape[1:])
    )
    out[: array.shape[0]] = array
    out.flush()
    del out


def _spare_for(name: str, array: np.ndarray, n_rows: int, spare_rows: int) -> int:
    """Spare entries for a growing array: rows, or for a CSR's entries twice the mean per row."""
    if name.endswith((".data", ".indices")):
        per_row = math.ceil(2 * array.shape[0] / n_rows) if n_rows else 64
        return spare_rows * max(per_row, 1)
    return spare_rows


def write_snapshot(
    root: str | os.PathLike[str],
    jobs: ItemIndex,
    workers: ItemIndex,
    *,
    model_version: str,
    feed_position: int,
    spare_rows: int = DEFAULT_SPARE_ROWS,
    keep: int = 2,
    extra: dict[str, Any] | None = None,
    crowding: CrowdingPrices | None = None,
) -> Path:
    """Write both indexes as a new snapshot of ``model_version`` and make it current.

    Parameters
    ----------
    root : path
        The folder of all snapshots (one subfolder per model version).
    jobs, workers : ItemIndex
        The indexes; only their active rows are written (the snapshot is compact).
    model_version : str
        The model the rows were prepared and encoded with; processes of another version do
        not open it.
    feed_position : int
        The newest change id the rows include: a process on the snapshot replays the feed
        from the change after it.
    spare_rows : int
        Rows a process may append in place before its buffers move to private memory.
    keep : int
        Snapshots of this model version kept (the current one and those before it).
    extra : dict, optional
        More facts for the manifest (who built it, from which database).
    crowding : CrowdingPrices, optional
        The jobs' crowding prices (:meth:`matcher.engine.MatchingEngine.price_crowding`).

    Returns
    -------
    Path
        The new snapshot's folder.
    """
    folder = version_folder(root, model_version)
    # The rows describe registered people (skills, county, age): owner-only, as the database.
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.chmod(0o700)
    now = dt.datetime.now(dt.UTC)
    snapshot_id = f"{now:%Y%m%dT%H%M%S%f}Z-{int(feed_position)}-{os.getpid()}"
    tmp = folder / f".tmp-{snapshot_id}"
    tmp.mkdir(mode=0o700)
    started = time.perf_counter()
    try:
        counts = {}
        for side, index in (("jobs", jobs), ("workers", workers)):
            side_dir = tmp / side
            side_dir.mkdir()
            meta = index.snapshot_meta()
            n = int(meta["n_rows"])
            files: dict[str, dict[str, Any]] = {}
            for name, array, grows in index.snapshot_arrays():
                spare = _spare_for(name, array, n, spare_rows) if grows else 0
                _save(side_dir / f"{name}.npy", array, spare)
                files[name] = {"grows": bool(grows), "length": int(array.shape[0])}
            meta["files"] = files
            (side_dir / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1))
            counts[side] = n
        crowding_facts = None
        if crowding is not None:
            (tmp / "crowding").mkdir()
            np.save(tmp / "crowding" / "job_ids.npy", crowding.job_ids.astype(np.int64))
            np.save(tmp / "crowding" / "prices.npy", crowding.prices.astype(np.float64))
            crowding_facts = {"spread": float(crowding.spread), **crowding.facts}
        manifest = {
            "format": FORMAT,
            "snapshot_id": snapshot_id,
            "model_version": str(model_version),
            "feed_position": int(feed_position),
            "counts": counts,
            "spare_rows": int(spare_rows),
            "crowding": crowding_facts,
            "created": now.isoformat(timespec="seconds"),
            "build_seconds": round(time.perf_counter() - started, 3),
            **(extra or {}),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
        final = folder / snapshot_id
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _write_pointer(folder, snapshot_id)
    prune(folder, keep=keep)
    return final


def _write_pointer(folder: Path, snapshot_id: str) -> None:
    tmp = folder / f".{POINTER}.{os.getpid()}.{time.monotonic_ns()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(snapshot_id)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, folder / POINTER)


def current_id(root: str | os.PathLike[str], model_version: str) -> str | None:
    """The id ``current`` names for a model version, or None when it has no snapshot."""
    try:
        text = (version_folder(root, model_version) / POINTER).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return text.strip() or None


def pointer_stamp(root: str | os.PathLike[str], model_version: str) -> tuple[int, int] | None:
    """A cheap fingerprint of ``current`` (one ``stat``): it changes when a snapshot is
    published, so that a process can check it before every answer."""
    try:
        st = os.stat(version_folder(root, model_version) / POINTER)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns)


def latest_snapshot(root: str | os.PathLike[str], model_version: str) -> Path | None:
    """The folder of the current snapshot of a model version, or None."""
    sid = current_id(root, model_version)
    if sid is None:
        return None
    path = version_folder(root, model_version) / sid
    return path if (path / MANIFEST).is_file() else None


def open_snapshot(path: str | os.PathLike[str], *, model_version: str | None = None) -> Snapshot:
    """Map a snapshot folder (nothing is read into memory but the small lookup of its files).

    ``model_version``, when given, must be the one the snapshot was built with
    (``SnapshotError`` names both otherwise).
    """
    path = Path(path)
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SnapshotError(f"索引快照 {path} 不完整：缺少 {MANIFEST}") from None
    if manifest.get("format") != FORMAT:
        raise SnapshotError(
            f"索引快照 {path} 的格式为 {manifest.get('format')!r}，本程序读取格式 {FORMAT}"
        )
    if model_version is not None and manifest["model_version"] != str(model_version):
        raise SnapshotError(
            f"索引快照 {path} 由模型 {manifest['model_version']!r} 建立，"
            f"当前模型为 {model_version!r}"
        )
    sides = {}
    for side in ("jobs", "workers"):
        meta = json.loads((path / side / "meta.json").read_text(encoding="utf-8"))
        arrays = {
            name: np.load(path / side / f"{name}.npy", mmap_mode="c" if info["grows"] else "r")
            for name, info in meta["files"].items()
        }
        sides[side] = ItemIndex.from_snapshot(meta, arrays)
    crowding = None
    facts = manifest.get("crowding")
    if facts is not None:
        facts = dict(facts)
        crowding = CrowdingPrices(
            job_ids=np.load(path / "crowding" / "job_ids.npy", mmap_mode="r"),
            prices=np.load(path / "crowding" / "prices.npy", mmap_mode="r"),
            spread=float(facts.pop("spread")),
            facts=facts,
        )
    return Snapshot(
        path=path,
        manifest=manifest,
        jobs=sides["jobs"],
        workers=sides["workers"],
        crowding=crowding,
    )


def open_latest(root: str | os.PathLike[str], model_version: str) -> Snapshot | None:
    """The current snapshot of a model version, opened; None when there is none."""
    path = latest_snapshot(root, model_version)
    return None if path is None else open_snapshot(path, model_version=model_version)


def engine_facts(engine: Any) -> dict[str, Any]:
    """What a snapshot must carry of the engine that prepared its rows (for its manifest's
    ``extra``): the day ages were computed at, and the certificate columns in their order —
    preparing rows grows the vocabulary with certificates the model had not seen, and rows
    added later must number them as the snapshot's rows do."""
    as_of = getattr(engine, "as_of_", None)
    return {
        "as_of": None if as_of is None else as_of.isoformat(),
        "certificates": list(engine.context_.certificates.index),
    }


def attach(engine: Any, snapshot: Snapshot) -> Any:
    """Serve ``snapshot``'s indexes and crowding prices from a learned engine (in place of
    ``build_index``).

    Rows added later are prepared as the snapshot's were (:func:`engine_facts`): ages on the
    same day, certificates in the same columns.
    """
    from matcher.rules import CertificateVocabulary

    facts = snapshot.manifest
    changes: dict[str, Any] = {}
    if facts.get("as_of"):
        engine.as_of_ = dt.date.fromisoformat(facts["as_of"])
        changes["as_of"] = engine.as_of_
    if facts.get("certificates") is not None:
        vocabulary = CertificateVocabulary()
        vocabulary.add(facts["certificates"])
        changes["certificates"] = vocabulary
    if changes:
        engine.context_ = dataclasses.replace(engine.context_, **changes)
    engine.ranker_ = getattr(engine, "ranker", None)
    engine.jobs_index_, engine.workers_index_ = snapshot.jobs, snapshot.workers
    engine.crowding_ = snapshot.crowding
    return engine


def list_snapshots(root: str | os.PathLike[str], model_version: str) -> list[Path]:
    """Complete snapshot folders of a model version, oldest first."""
    folder = version_folder(root, model_version)
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST).is_file()
    )


def prune(folder: str | os.PathLike[str], *, keep: int = 2) -> list[Path]:
    """Remove all but the ``keep`` newest snapshots (never the current one); returns those removed.

    A process still on a removed snapshot keeps reading it: its files' maps outlive the
    names (POSIX), and it switches to the current one at its next check.
    """
    folder = Path(folder)
    current = (
        (folder / POINTER).read_text(encoding="utf-8").strip()
        if (folder / POINTER).is_file()
        else None
    )
    done = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    keep_names = {p.name for p in done[-max(int(keep), 1) :]} | {current}
    removed = []
    for p in done:
        if p.name not in keep_names:
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    now = time.time()
    for p in folder.glob(".tmp-*"):
        if now - p.stat().st_mtime > _STALE_TMP_S:
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


__all__ = [
    "DEFAULT_SPARE_ROWS",
    "FORMAT",
    "Snapshot",
    "SnapshotError",
    "attach",
    "engine_facts",
    "current_id",
    "latest_snapshot",
    "list_snapshots",
    "open_latest",
    "open_snapshot",
    "pointer_stamp",
    "prune",
    "version_folder",
    "write_snapshot",
]
