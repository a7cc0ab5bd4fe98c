"""The searchable side of the engine: one :class:`ItemIndex` for jobs, one for workers.

Each index holds, row by row, the prepared table (:mod:`matcher.features`), the L2-normalised
dense embeddings (float32), and the character n-gram TF-IDF rows. Search is *filter first,
then rank*: the caller passes the hard-rule mask; the index scores only rows the mask keeps
with the hybrid score ``(1 - w) * dense + w * lexical`` and returns the best ones.

Exact search is brute force over the kept rows: one matrix-vector product over the float32
embeddings, plus a lexical product that touches only the posting lists (columns of a CSC
matrix) of the query's n-grams. The dense product reads every embedding (1 GB for a million
rows of 256 dimensions), so large indexes also keep a *coarse copy*: the embeddings projected
on their 64 main directions. A query then scores every kept row with the coarse dense part
and the exact lexical part, takes a shortlist of the best, and scores only those exactly.
Rows are removed by tombstone and compacted in bulk, so that jobs that close or fill vanish
from results at once.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from matcher.features import PreparedJobs, PreparedWorkers

Prepared = PreparedJobs | PreparedWorkers


def _append_rows(buffer: np.ndarray, n: int, rows: np.ndarray) -> np.ndarray:
    """Write ``rows`` after the first ``n`` rows of ``buffer``; a full buffer is replaced by one
    with an eighth more room, so that appending costs the rows written, not the buffer."""
    m = rows.shape[0]
    if buffer.shape[0] < n + m or buffer.shape[1:] != rows.shape[1:]:
        if n and buffer.shape[1:] != rows.shape[1:]:
            raise ValueError(
                f"rows of width {rows.shape[1:]} do not fit rows of {buffer.shape[1:]}"
            )
        grown = np.empty((max(n + m, (n + m) * 9 // 8 + 256), *rows.shape[1:]), dtype=buffer.dtype)
        grown[:n] = buffer[:n]
        buffer = grown
    buffer[n : n + m] = rows
    return buffer


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

    #: Rows appended since the lexical CSC copy was built that are scored from their CSR rows
    #: before both are merged (and the CSC copy rebuilt): at least this many, or 2 % of the index.
    TAIL_ROWS = 2048

    def __init__(self, id_column: str) -> None:
        self.id_column = id_column
        self.prepared: Prepared | None = None
        self.active = np.zeros(0, dtype=bool)
        self.ids = np.zeros(0, dtype=np.int64)
        self._row_of: dict[int, int] = {}
        # Dense rows live in buffers with room to grow: appending one row must not copy the
        # whole index (a gigabyte for a million workers) in every service process.
        self._emb = np.zeros((0, 0), dtype=np.float32)
        self._coarse: np.ndarray | None = None
        #: Projection of the coarse copy (see :meth:`build_coarse`).
        self.projection: np.ndarray | None = None
        # TF-IDF rows: the main CSR block (with its CSC copy, built on demand) and the rows
        # appended after it, merged into it once they grow past TAIL_ROWS.
        self._lexical = sp.csr_matrix((0, 0), dtype=np.float32)
        self._lex_tail: sp.csr_matrix | None = None
        self._lexical_csc: sp.csc_matrix | None = None

    # -- storage --------------------------------------------------------------------------

    @property
    def embeddings(self) -> np.ndarray:
        """L2-normalised float32 embeddings, one row per index row."""
        return self._emb[: self.n_rows]

    @embeddings.setter
    def embeddings(self, value: np.ndarray) -> None:
        self._emb = np.ascontiguousarray(value, dtype=np.float32)

    @property
    def coarse(self) -> np.ndarray | None:
        """The coarse copy (``embeddings @ projection``), or None."""
        return None if self._coarse is None else self._coarse[: self.n_rows]

    @coarse.setter
    def coarse(self, value: np.ndarray | None) -> None:
        self._coarse = None if value is None else np.ascontiguousarray(value, dtype=np.float32)

    @property
    def lexical(self) -> sp.csr_matrix:
        """The TF-IDF rows as one CSR matrix (merges rows appended since the last merge)."""
        self._merge_tail()
        return self._lexical

    @lexical.setter
    def lexical(self, value: sp.spmatrix) -> None:
        self._lexical = value.tocsr().astype(np.float32)
        self._lex_tail = None
        self._lexical_csc = None

    def lexical_row(self, row: int) -> sp.csr_matrix:
        """One TF-IDF row (1 × vocabulary), without merging appended rows."""
        n_main = self._lexical.shape[0]
        if row < n_main or self._lex_tail is None:
            return self._lexical[row]
        return self._lex_tail[row - n_main]

    def _merge_tail(self) -> None:
        if self._lex_tail is not None:
            self._lexical = _vstack_padded([self._lexical, self._lex_tail])
            self._lex_tail = None
            self._lexical_csc = None

    def __getstate__(self) -> dict[str, Any]:
        # Buffers are saved without their spare room, and the CSC copy (a cache) not at all.
        state = dict(self.__dict__)
        if "_emb" in state:
            state["_emb"] = self.embeddings
            state["_coarse"] = self.coarse
        state["_lexical_csc"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        # The buffers come back without spare room; the next append grows them.
        state = dict(state)
        state.setdefault("_coarse", None)
        state.setdefault("projection", None)
        state.setdefault("_lex_tail", None)
        self.__dict__.update(state)

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
        embeddings = np.asarray(embeddings, dtype=np.float32)
        lexical = lexical.tocsr().astype(np.float32)
        if self.prepared is None:
            self.prepared = prepared
            self.embeddings = embeddings
            self.lexical = lexical
        else:
            self.prepared = concat_prepared(self.prepared, prepared)
            self._emb = _append_rows(self._emb, start, embeddings)
            tail = lexical if self._lex_tail is None else _vstack_padded([self._lex_tail, lexical])
            self._lex_tail = tail
            if tail.shape[0] > max(self.TAIL_ROWS, 0.02 * self._lexical.shape[0]):
                self._merge_tail()
        if self.projection is not None:
            extra = self._project(embeddings)
            self._coarse = (
                extra if self._coarse is None else _append_rows(self._coarse, start, extra)
            )
        self.ids = np.concatenate([self.ids, new_ids])
        self.active = np.concatenate([self.active, np.ones(len(new_ids), dtype=bool)])
        for k, i in enumerate(new_ids.tolist()):
            self._row_of[i] = start + k

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
        # The buffers' views are sized by ``ids``: take from them before ``ids`` shrinks.
        self.embeddings = self.embeddings[keep]
        coarse = self.coarse
        self.coarse = None if coarse is None else coarse[keep]
        self.lexical = self.lexical[keep]
        self.ids = self.ids[keep]
        self.active = np.ones(len(keep), dtype=bool)
        self._row_of = {int(i): r for r, i in enumerate(self.ids.tolist())}

    # -- approximate index ------------------------------------------------------------------

    def build_coarse(self, dim: int = 64, *, sample: int = 100_000, seed: int = 0) -> None:
        """Project the embeddings on their ``dim`` main directions (a coarse copy for shortlists).

        The directions are the leading eigenvectors of the embeddings' second-moment matrix
        (uncentred PCA on a sample), so that ``coarse @ (P.T @ q)`` approximates ``E @ q`` with
        the least squared error. Rows added later are projected on the same directions; row
        numbers do not change. ``dim`` at or above the embedding width keeps search exact.
        """
        n, width = self.embeddings.shape if self.embeddings.ndim == 2 else (0, 0)
        if n == 0 or dim >= width:
            self.projection = self.coarse = None
            return
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(n, size=min(n, sample), replace=False))
        sample_rows = self.embeddings[rows].astype(np.float64)
        _, vectors = np.linalg.eigh(sample_rows.T @ sample_rows)
        self.projection = np.ascontiguousarray(vectors[:, ::-1][:, :dim], dtype=np.float32)
        self.coarse = self._project(self.embeddings)

    def _project(self, embeddings: np.ndarray) -> np.ndarray:
        assert self.projection is not None
        out = np.empty((embeddings.shape[0], self.projection.shape[1]), dtype=np.float32)
        for lo in range(0, embeddings.shape[0], 65_536):  # bounded temporaries
            out[lo : lo + 65_536] = embeddings[lo : lo + 65_536] @ self.projection
        return out

    # -- search ---------------------------------------------------------------------------

    def lexical_scores(self, query: sp.csr_matrix) -> np.ndarray:
        """Cosine of one TF-IDF query row against every row.

        The main block is read through its CSC copy (only the query's posting lists); rows
        appended since are few and scored from their CSR rows.
        """
        query = query.tocsr()
        out = np.zeros(self.n_rows, dtype=np.float32)
        width = self._lexical.shape[1]
        inside = query.indices < width
        cols = query.indices[inside]
        if len(cols) == 0 or self.n_rows == 0:
            return out
        vals = query.data[: len(query.indices)][inside].astype(np.float32)
        n_main = self._lexical.shape[0]
        if n_main:
            if self._lexical_csc is None:
                self._lexical_csc = self._lexical.tocsc()
            out[:n_main] = self._lexical_csc[:, cols] @ vals
        if self._lex_tail is not None:
            tail = self._lex_tail
            q = np.zeros(tail.shape[1], dtype=np.float32)
            keep = cols < tail.shape[1]
            q[cols[keep]] = vals[keep]
            out[n_main:] = tail @ q
        return out

    def search(
        self,
        query_embedding: np.ndarray | None,
        query_lexical: sp.csr_matrix | None,
        mask: np.ndarray,
        k: int,
        lexical_weight: float,
        shortlist: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Best ``k`` rows among those ``mask`` keeps (and still active), by hybrid score.

        Exact over all kept rows, unless a coarse copy was built (:meth:`build_coarse`) and
        ``shortlist`` is given and smaller than the kept rows: then the hybrid score with the
        coarse dense part picks ``shortlist`` rows, and those are scored exactly. The lexical
        part is exact in both cases. Ties are broken by row (older rows first), so that both
        ways give the same list when the shortlist holds the exact best rows.

        Returns
        -------
        rows, dense, lexical : ndarray
            Row numbers best first, and each row's dense and lexical similarity.
        """
        keep = mask & self.active
        n_keep = int(np.count_nonzero(keep))
        if n_keep == 0 or k <= 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, np.zeros(0, np.float32), np.zeros(0, np.float32)
        w = float(lexical_weight)
        use_dense = query_embedding is not None and w < 1
        lexical = (
            self.lexical_scores(query_lexical)
            if query_lexical is not None and w > 0
            else np.zeros(self.n_rows, dtype=np.float32)
        )
        k = min(k, n_keep)
        q = query_embedding.astype(np.float32) if use_dense else None
        if (
            use_dense
            and shortlist
            and self.coarse is not None
            and self.projection is not None
            and max(int(shortlist), k) < n_keep
        ):
            approx = self.coarse @ ((1 - w) * (q @ self.projection))
            approx += w * lexical
            approx[~keep] = -np.inf
            cand = top_k_rows(approx, max(int(shortlist), k))
            dense_c = self.embeddings[cand] @ q
            score_c = (1 - w) * dense_c + w * lexical[cand]
            best = top_k_rows(score_c, k, rows=cand)
            return cand[best].astype(np.int64), dense_c[best], lexical[cand[best]]
        dense = self.embeddings @ q if use_dense else np.zeros(self.n_rows, dtype=np.float32)
        score = (1 - w) * dense + w * lexical
        score[~keep] = -np.inf
        top = top_k_rows(score, k)
        return top.astype(np.int64), dense[top], lexical[top]


def top_k_rows(score: np.ndarray, k: int, rows: np.ndarray | None = None) -> np.ndarray:
    """Positions of the ``k`` best scores, best first; ties go to the lower row.

    ``rows`` gives each position's row number (default: the position itself). The choice
    among tied scores at the k-th place is by row too, so that the answer does not depend on
    how ``argpartition`` happened to split a tie.
    """
    n = score.shape[0]
    k = min(int(k), n)
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    if n >= 16_384 and 32 * k <= n:
        # Few of many: a threshold from every 16th score keeps, with room to spare, every
        # score that can be among the k best; the exact selection then runs on those alone.
        # (An unlucky threshold that keeps too few falls through to the full selection.)
        sample = score[::16]
        m = min(len(sample), 2 * (k // 16) + 16)
        threshold = np.partition(sample, len(sample) - m)[len(sample) - m]
        sub = np.flatnonzero(score >= threshold)
        if k <= len(sub) < n // 2:
            best = top_k_rows(score[sub], k, rows=sub if rows is None else np.asarray(rows)[sub])
            return sub[best]
    row_of = np.arange(n) if rows is None else np.asarray(rows)
    if k < n:
        top = np.argpartition(-score, k - 1)[:k]
        kth = score[top].min()
        n_tied = int(np.count_nonzero(score == kth))
        if n_tied > int(np.count_nonzero(score[top] == kth)):
            # A tie straddles the cut: keep the tied positions of the lowest rows.
            above = top[score[top] > kth]
            tied = np.flatnonzero(score == kth)
            tied = tied[np.argsort(row_of[tied], kind="stable")[: k - len(above)]]
            top = np.concatenate([above, tied])
    else:
        top = np.arange(n)
    return top[np.lexsort((row_of[top], -score[top]))]


__all__ = ["ItemIndex", "concat_prepared", "take_prepared", "top_k_rows"]
