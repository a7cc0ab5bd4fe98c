"""Segments: the rows of one bulk change, prepared and encoded once, mapped by every process.

A CLI import of 10,000 workers is one change of the feed (``api/storage/changes.py``). Every
serving process must add those rows to its index, and preparing them (normalising, coding
occupations, rule arrays) and encoding them (dense and lexical) is the same work in each: on
two cores, two processes doing it at once took twice as long as one. A *segment* holds the
prepared and encoded rows of one change as plain ``.npy`` files (the arrays of an
:class:`~matcher.index.ItemIndex`, as a snapshot does), written by the first process of the
host that needs them (or by the command that made the change) and mapped by the others::

    <root>/<model_version>/segments/<change id>-<kind>-<as_of>/
        manifest.json, meta.json, <array>.npy ...

The rows depend on the model version (its folder), on the day ages are computed at
(``as_of``, part of the name) and on the certificate vocabulary: a vocabulary grows as rows
name new certificates, and two processes may have numbered them differently, so a segment
keeps its vocabulary's names and :func:`apply_segment` renumbers its certificate columns into
the process's own. A segment is written into a hidden folder and renamed into place whole.

Every process applies a bulk change through a segment, whether it wrote or mapped it, so
that all of them append the rows in the same order and rank alike.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from matcher.features import prepare_jobs, prepare_workers
from matcher.index import ItemIndex, plain_prepared
from matcher.snapshot import version_folder

#: Version of the layout; a segment of another format is not mapped (it is prepared again).
#: 2: the prepared jobs carry ``occ_alt_code`` (as :data:`matcher.snapshot.FORMAT` 2).
FORMAT = 2
MANIFEST = "manifest.json"
KINDS = {"job": "job_id", "worker": "worker_id"}


def segments_folder(root: str | os.PathLike[str], model_version: str) -> Path:
    return version_folder(root, model_version) / "segments"


def segment_name(change_id: int, kind: str, as_of: Any) -> str:
    return f"{int(change_id)}-{kind}-{as_of}"


def prepare_rows(engine: Any, kind: str, records: pd.DataFrame) -> tuple[ItemIndex | None, list]:
    """The stored rows of one change (``data.schema`` columns), prepared and encoded by a
    learned ``engine`` in id order, as an index of their own (None when no row is indexable:
    jobs not open, or nothing stored), with the certificate names of its columns.

    The engine is not changed: rows are prepared with a copy of its vocabulary.
    """
    id_column = KINDS[kind]
    frame = records.sort_values(id_column, kind="stable").reset_index(drop=True)
    if kind == "job":
        frame = engine._open_jobs(frame)
    vocabulary = copy.deepcopy(engine.context_.certificates)
    context = dataclasses.replace(engine.context_, certificates=vocabulary)
    names = list(vocabulary.index)
    if len(frame) == 0:
        return None, names
    prepared = (prepare_jobs if kind == "job" else prepare_workers)(frame, context)
    index = ItemIndex(id_column)
    index.add(prepared, engine.encode(prepared.texts), engine._lexical(prepared.texts))
    return index, list(vocabulary.index)


def write_segment(
    folder: str | os.PathLike[str],
    index: ItemIndex | None,
    *,
    certificates: list[str],
    facts: dict[str, Any],
) -> Path:
    """Write a segment at ``folder`` (atomically: a hidden folder renamed into place)."""
    final = Path(folder)
    final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = final.parent / f".tmp-{final.name}-{os.getpid()}-{time.monotonic_ns()}"
    tmp.mkdir(mode=0o700)
    try:
        meta = None
        if index is not None:
            meta = index.snapshot_meta()
            files = {}
            for name, array, _grows in index.snapshot_arrays():
                if name.startswith("lexical_csc."):
                    continue  # the process appends CSR rows; its CSC copy is its own
                np.save(tmp / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
                files[name] = {"grows": False, "length": int(array.shape[0])}
            meta["files"] = files
        manifest = {
            "format": FORMAT,
            "rows": 0 if index is None else len(index),
            "certificates": list(certificates),
            "index": meta,
            **facts,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / MANIFEST).is_file():
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another writer was first: the same rows
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


class SegmentFormatError(ValueError):
    """A segment written in another :data:`FORMAT`."""


class Segment:
    """An opened segment: its manifest, and its rows as a prepared table with their
    embeddings and lexical rows (None when it holds no row)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.manifest = json.loads((self.path / MANIFEST).read_text(encoding="utf-8"))
        if self.manifest.get("format") != FORMAT:
            raise SegmentFormatError(f"segment {path} has format {self.manifest.get('format')!r}")
        self.index: ItemIndex | None = None
        meta = self.manifest.get("index")
        if meta:
            arrays = {
                name: np.load(self.path / f"{name}.npy", mmap_mode="r") for name in meta["files"]
            }
            n = int(meta["n_rows"])
            lexical = sp.csr_matrix(
                (arrays["lexical.data"], arrays["lexical.indices"], arrays["lexical.indptr"]),
                shape=(n, int(meta["lexical_width"])),
            )
            csc = lexical.tocsc()
            arrays["lexical_csc.data"] = csc.data
            arrays["lexical_csc.indices"] = csc.indices
            arrays["lexical_csc.indptr"] = csc.indptr
            self.index = ItemIndex.from_snapshot(meta, arrays)

    @property
    def ids(self) -> np.ndarray:
        return np.zeros(0, np.int64) if self.index is None else np.asarray(self.index.ids)


def open_segment(path: str | os.PathLike[str]) -> Segment | None:
    """The segment at ``path``, or None when there is none, or one of another
    :data:`FORMAT` (an older release's rows lack columns this one reads)."""
    path = Path(path)
    if not (path / MANIFEST).is_file():
        return None
    try:
        return Segment(path)
    except SegmentFormatError:
        return None


def _renumber(m: sp.csr_matrix, names: list[str], vocabulary: Any) -> sp.csr_matrix:
    """Certificate columns numbered by ``names`` → the columns of ``vocabulary`` (grown with
    the names it lacks, in column order, as preparing the rows would have grown it)."""
    used = np.unique(m.indices)
    vocabulary.add([names[int(j)] for j in used])
    mapping = np.zeros(max(len(names), 1), dtype=np.int32)
    mapping[used] = [vocabulary.index[names[int(j)]] for j in used]
    out = sp.csr_matrix(
        (m.data.copy(), mapping[m.indices], m.indptr.copy()),
        shape=(m.shape[0], max(len(vocabulary.index), 1)),
    )
    out.sort_indices()
    return out


def apply_segment(engine: Any, kind: str, segment: Segment, first: int, last: int) -> int:
    """Bring ``engine``'s index of ``kind`` in line with one change of ids ``first..last``
    from its segment: ids of the range that the segment lacks leave the index (deleted, or
    jobs no longer open), its rows are added or replace the indexed ones. Returns the rows
    added."""
    index = engine.jobs_index_ if kind == "job" else engine.workers_index_
    present = set(segment.ids.tolist())
    known = np.asarray(index.active_ids())
    inside = known[(known >= first) & (known <= last)].tolist()
    gone = [i for i in inside if i not in present]
    if gone:
        index.remove(gone)
    added = 0
    if segment.index is not None:
        prepared = plain_prepared(segment.index.prepared)
        field = "cert_required" if kind == "job" else "certificates"
        rules = dataclasses.replace(
            prepared.rules,
            **{
                field: _renumber(
                    getattr(prepared.rules, field),
                    segment.manifest["certificates"],
                    engine.context_.certificates,
                )
            },
        )
        prepared = dataclasses.replace(prepared, rules=rules)
        index.add(prepared, np.asarray(segment.index.embeddings), segment.index.lexical)
        added = len(segment.index)
    engine._maybe_ann(index)
    return added


def prune_segments(root: str | os.PathLike[str], model_version: str, *, through: int) -> int:
    """Remove the segments of changes up to ``through`` (every snapshot in service includes
    them); returns how many."""
    folder = segments_folder(root, model_version)
    if not folder.is_dir():
        return 0
    removed = 0
    now = time.time()
    for p in folder.iterdir():
        # "<change>-..." folders, ".<change>.lock" files, what dead writers left
        head = p.name.lstrip(".").split("-", 1)[0].split(".", 1)[0]
        stale_tmp = p.name.startswith((".tmp-", ".staged-")) and now - p.stat().st_mtime > 3600
        if stale_tmp or (head.isdigit() and int(head) <= through):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            removed += 1
    return removed


__all__ = [
    "Segment",
    "apply_segment",
    "open_segment",
    "prepare_rows",
    "prune_segments",
    "segment_name",
    "segments_folder",
    "write_segment",
]
