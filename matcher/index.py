"""The searchable side of the engine: one :class:`ItemIndex` for jobs, one for workers.

Each index holds, row by row, the prepared table (:mod:`matcher.features`), the L2-normalised
dense embeddings (float32), and the character n-gram TF-IDF rows. Search is *filter first,
then rank*: the caller passes the hard-rule mask; the index scores only rows the mask keeps
with the hybrid score ``(1 - w) * dense + w * lexical`` and returns the best ones.

Search is exact (brute force over the kept rows): one matrix-vector product over float32
embeddings, plus a lexical product that touches only the posting lists (columns of a CSC
matrix) of the query's n-grams. Rows are removed by tombstone and compacted in bulk, so that
jobs that close or fill vanish from results at once.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from matcher.features import PreparedJobs, PreparedWorkers

Prepared = PreparedJobs | PreparedWorkers


def _vstack_padded(blocks: list[sp.csr_matrix]) -> sp.csr_matrix:
    width = max(b.shape[1] for b in blocks)
    padded = [
        sp.csr_matrix((b.data, b.indices, b.indptr), shape=(b.shape[0], width)) for b in blocks
    ]
    return sp.vstack(padded, format="csr")


def _concat_value(a: Any, b: Any) -> Any:
    if sp.issparse(a):
        return _vstack_padded([a.tocsr(), b.tocsr()])
    if isinstance(a, np.ndarray):
        return np.concatenate([a, b])
    if isinstance(a, pd.DataFrame):
        return pd.concat([a, b], ignore_index=True)
    if isinstance(a, list):
        return a + b
    if is_dataclass(a):
        return type(a)(
            **{f.name: _concat_value(getattr(a, f.name), getattr(b, f.name)) for f in fields(a)}
        )
    raise TypeError(f"cannot concatenate {type(a).__name__}")


def _take_value(a: Any, rows: np.ndarray) -> Any:
    if sp.issparse(a):
        return a.tocsr()[rows]
    if isinstance(a, np.ndarray):
        return a[rows]
    if isinstance(a, pd.DataFrame):
        return a.iloc[rows].reset_index(drop=True)
    if isinstance(a, list):
        return [a[i] for i in rows]
    if is_dataclass(a):
        return type(a)(**{f.name: _take_value(getattr(a, f.name), rows) for f in fields(a)})
    raise TypeError(f"cannot index {type(a).__name__}")


def concat_prepared(a: Prepared, b: Prepared) -> Prepared:
    """Rows of ``a`` followed by rows of ``b``."""
    return _concat_value(a, b)


def take_prepared(a: Prepared, rows: np.ndarray) -> Prepared:
    """The given rows of ``a``, renumbered from 0."""
    return _take_value(a, np.asarray(rows, dtype=np.int64))


class ItemIndex:
    """Rows of one side (jobs or workers) with their embeddings and lexical vectors.

    Parameters
    ----------
    id_column : str
        ``"job_id"`` or ``"worker_id"``.
    """

    def __init__(self, id_column: str) -> None:
        self.id_column = id_column
        self.prepared: Prepared | None = None
        self.embeddings = np.zeros((0, 0), dtype=np.float32)
        self.lexical = sp.csr_matrix((0, 0), dtype=np.float32)
        self.active = np.zeros(0, dtype=bool)
        self.ids = np.zeros(0, dtype=np.int64)
        self._row_of: dict[int, int] = {}
        self._lexical_csc: sp.csc_matrix | None = None
        self.ivf: dict[str, Any] | None = None

    # -- size -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.active.sum())

    @property
    def n_rows(self) -> int:
        return int(self.ids.shape[0])

    def __contains__(self, item_id: object) -> bool:
        return int(item_id) in self._row_of  # type: ignore[arg-type]

    def row_of(self, item_id: int) -> int:
        """The row of an indexed id; ``KeyError`` naming the id when absent."""
        try:
            return self._row_of[int(item_id)]
        except (KeyError, TypeError, ValueError):
            raise KeyError(f"{self.id_column} {item_id!r} is not indexed") from None

    def active_ids(self) -> np.ndarray:
        return self.ids[self.active]

    # -- changes --------------------------------------------------------------------------

    def add(self, prepared: Prepared, embeddings: np.ndarray, lexical: sp.csr_matrix) -> None:
        """Append rows; an id already present is replaced (its old row is tombstoned)."""
        new_ids = prepared.frame[self.id_column].to_numpy(dtype=np.int64)
        if len(set(new_ids.tolist())) != len(new_ids):
            dup = pd.Series(new_ids)[pd.Series(new_ids).duplicated()].iloc[0]
            raise ValueError(f"{self.id_column} {int(dup)} appears twice in the rows to add")
        self.remove([i for i in new_ids.tolist() if i in self._row_of])
        start = self.n_rows
        if self.prepared is None:
            self.prepared = prepared
            self.embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
            self.lexical = lexical.tocsr().astype(np.float32)
        else:
            self.prepared = concat_prepared(self.prepared, prepared)
            self.embeddings = np.ascontiguousarray(
                np.vstack([self.embeddings, embeddings.astype(np.float32)])
            )
            self.lexical = _vstack_padded([self.lexical, lexical.tocsr().astype(np.float32)])
        self.ids = np.concatenate([self.ids, new_ids])
        self.active = np.concatenate([self.active, np.ones(len(new_ids), dtype=bool)])
        for k, i in enumerate(new_ids.tolist()):
            self._row_of[i] = start + k
        self._lexical_csc = None

    def remove(self, ids: list[int] | np.ndarray) -> list[int]:
        """Tombstone rows by id; returns the ids that were not indexed."""
        missing: list[int] = []
        for i in ids:
            row = self._row_of.pop(int(i), None)
            if row is None:
                missing.append(int(i))
            else:
                self.active[row] = False
        dead = self.n_rows - len(self)
        if dead > 1000 and dead > 0.2 * self.n_rows:
            self.compact()
        return missing

    def compact(self) -> None:
        """Drop tombstoned rows for good (renumbers rows)."""
        if self.prepared is None or self.active.all():
            return
        keep = np.flatnonzero(self.active)
        self.prepared = take_prepared(self.prepared, keep)
        self.embeddings = np.ascontiguousarray(self.embeddings[keep])
        self.lexical = self.lexical[keep]
        self.ids = self.ids[keep]
        self.active = np.ones(len(keep), dtype=bool)
        self._row_of = {int(i): r for r, i in enumerate(self.ids.tolist())}
        self._lexical_csc = None
        self.ivf = None  # rows were renumbered: the lists no longer hold; rebuild on demand

    # -- approximate index ------------------------------------------------------------------

    def build_ivf(self, n_lists: int | None = None, *, sample: int = 50_000, seed: int = 0) -> None:
        """Cluster the embeddings (inverted file) and reorder rows so that each list is contiguous.

        Search then scans only the ``n_probe`` lists whose centroids are nearest to the query
        (plus rows added since the build, kept in a tail that is always scanned). Rows keep
        their ids; row numbers change, so callers must not hold row numbers across a build.
        """
        self.compact()
        n = self.n_rows
        if n == 0 or self.prepared is None:
            self.ivf = None
            return
        n_lists = int(n_lists or min(1024, max(8, int(2 * np.sqrt(n)))))
        n_lists = min(n_lists, n)
        rng = np.random.default_rng(seed)
        # Spherical k-means (cosine) on a sample, random rows as seeds: k-means++ seeding cost
        # minutes of BLAS on two busy cores and bought no recall here.
        sample_rows = rng.choice(
            n, size=min(n, max(min(sample, 30 * n_lists), n_lists)), replace=False
        )
        data = self.embeddings[sample_rows]
        centroids = data[rng.choice(len(data), size=n_lists, replace=False)].copy()
        for _ in range(10):
            labels = np.argmax(data @ centroids.T, axis=1)
            sums = np.zeros_like(centroids)
            np.add.at(sums, labels, data)
            empty = np.bincount(labels, minlength=n_lists) == 0
            sums[empty] = data[rng.choice(len(data), size=int(empty.sum()), replace=False)]
            centroids = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
        centroids = centroids.astype(np.float32)
        assign = np.empty(n, dtype=np.int32)
        for lo in range(0, n, 65_536):
            assign[lo : lo + 65_536] = np.argmax(
                self.embeddings[lo : lo + 65_536] @ centroids.T, axis=1
            )
        order = np.argsort(assign, kind="stable")
        self.prepared = take_prepared(self.prepared, order)
        self.embeddings = np.ascontiguousarray(self.embeddings[order])
        self.lexical = self.lexical[order]
        self.ids = self.ids[order]
        self.active = self.active[order]
        self._row_of = {int(i): r for r, i in enumerate(self.ids.tolist())}
        self._lexical_csc = None
        counts = np.bincount(assign, minlength=n_lists)
        ends = np.cumsum(counts)
        self.ivf = {"centroids": centroids, "starts": ends - counts, "ends": ends, "n_built": n}

    def _ivf_ranges(self, query_embedding: np.ndarray, n_probe: int) -> list[tuple[int, int]]:
        ivf = self.ivf
        assert ivf is not None
        cs = ivf["centroids"] @ query_embedding
        n_probe = min(n_probe, len(cs))
        probes = (
            np.argpartition(-cs, n_probe - 1)[:n_probe] if n_probe < len(cs) else np.arange(len(cs))
        )
        ranges = [(int(ivf["starts"][p]), int(ivf["ends"][p])) for p in np.sort(probes)]
        if self.n_rows > ivf["n_built"]:
            ranges.append((int(ivf["n_built"]), self.n_rows))
        return [(a, b) for a, b in ranges if b > a]

    # -- search ---------------------------------------------------------------------------

    def lexical_scores(self, query: sp.csr_matrix) -> np.ndarray:
        """Cosine of one TF-IDF query row against every row (only the query's posting lists)."""
        query = query.tocsr()
        out = np.zeros(self.n_rows, dtype=np.float32)
        cols = query.indices[query.indices < self.lexical.shape[1]]
        if len(cols) == 0 or self.n_rows == 0:
            return out
        if self._lexical_csc is None:
            self._lexical_csc = self.lexical.tocsc()
        vals = query.data[: len(query.indices)][query.indices < self.lexical.shape[1]]
        return np.asarray(self._lexical_csc[:, cols] @ vals.astype(np.float32)).ravel()

    def search(
        self,
        query_embedding: np.ndarray | None,
        query_lexical: sp.csr_matrix | None,
        mask: np.ndarray,
        k: int,
        lexical_weight: float,
        n_probe: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Best ``k`` rows among those ``mask`` keeps (and still active), by hybrid score.

        Exact over all rows, unless an inverted file was built (:meth:`build_ivf`) and
        ``n_probe`` is given: then only the rows of the ``n_probe`` nearest lists are scored.

        Returns
        -------
        rows, dense, lexical : ndarray
            Row numbers best first, and each row's dense and lexical similarity.
        """
        if n_probe and self.ivf is not None and query_embedding is not None:
            return self._search_ivf(
                query_embedding, query_lexical, mask, k, lexical_weight, n_probe
            )
        keep = mask & self.active
        n_keep = int(keep.sum())
        if n_keep == 0 or k <= 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, np.zeros(0, np.float32), np.zeros(0, np.float32)
        dense = (
            self.embeddings @ query_embedding.astype(np.float32)
            if query_embedding is not None and lexical_weight < 1
            else np.zeros(self.n_rows, dtype=np.float32)
        )
        lexical = (
            self.lexical_scores(query_lexical)
            if query_lexical is not None and lexical_weight > 0
            else np.zeros(self.n_rows, dtype=np.float32)
        )
        score = (1 - lexical_weight) * dense + lexical_weight * lexical
        score = np.where(keep, score, -np.inf)
        k = min(k, n_keep)
        if k < n_keep:
            top = np.argpartition(-score, k - 1)[:k]
        else:
            top = np.flatnonzero(keep)
        # Stable order: score desc, then row (older first) for ties.
        top = top[np.lexsort((top, -score[top]))]
        return top.astype(np.int64), dense[top], lexical[top]

    def _search_ivf(
        self,
        query_embedding: np.ndarray,
        query_lexical: sp.csr_matrix | None,
        mask: np.ndarray,
        k: int,
        lexical_weight: float,
        n_probe: int,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        q = query_embedding.astype(np.float32)
        rows_l, dense_l = [], []
        for a, b in _coalesce(self._ivf_ranges(q, n_probe)):
            keep = np.flatnonzero(mask[a:b] & self.active[a:b])
            if len(keep) == 0:
                continue
            rows_l.append(keep + a)
            dense_l.append((self.embeddings[a:b] @ q)[keep])
        if not rows_l:
            empty = np.zeros(0, dtype=np.int64)
            return empty, np.zeros(0, np.float32), np.zeros(0, np.float32)
        rows = np.concatenate(rows_l)
        dense = np.concatenate(dense_l).astype(np.float32)
        # The lexical side reads only the query's posting lists (cheaper than gathering rows).
        if query_lexical is not None and lexical_weight > 0:
            lex = self.lexical_scores(query_lexical)[rows]
        else:
            lex = np.zeros(len(rows), np.float32)
        score = (1 - lexical_weight) * dense + lexical_weight * lex
        k = min(k, len(rows))
        top = np.argpartition(-score, k - 1)[:k] if k < len(rows) else np.arange(len(rows))
        top = top[np.lexsort((rows[top], -score[top]))]
        return rows[top].astype(np.int64), dense[top], lex[top]


def _coalesce(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge touching row ranges so that neighbouring lists are scanned in one product."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


__all__ = ["ItemIndex", "concat_prepared", "take_prepared"]
