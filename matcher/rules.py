"""Hard rules: the pairs a recommendation may never contain.

A job is offered to a worker only when

* the worker's age at ``as_of`` lies within ``[age_min, age_max]``;
* the worker's education rank is at least the job's ``education_min`` rank;
* the worker holds every certificate in ``certificates_required``;
* the job has a halal canteen where the worker needs halal food;
* the job offers a dormitory where the worker needs one;
* the job is ``open`` with headcount left (``headcount > hired_count``).

Everything here is vectorised over numpy arrays so that the engine filters 100,000 jobs
or 1,000,000 workers before it ranks anything ("filter first, then rank"). The engine
never imports :mod:`data`; the education ranks arrive as a parameter
(:data:`DEFAULT_EDUCATION_RANKS` is a copy of ``data.schema.EDUCATION_LEVELS``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp

#: Copy of ``data.schema.JOB_DEFAULTS["age_min"/"age_max"]`` (the engine may not import
#: ``data``; a test holds the two equal): the age bounds of a job that states none.
DEFAULT_AGE_MIN = 16
DEFAULT_AGE_MAX = 60

#: Copy of ``data.schema.EDUCATION_LEVELS`` (the engine may not import ``data``).
DEFAULT_EDUCATION_RANKS: dict[str, int] = {
    "小学": 1,
    "初中": 2,
    "高中": 3,
    "中专": 3,
    "技校": 3,
    "职高": 3,
    "大专": 4,
    "本科": 5,
    "研究生": 6,
}

#: Driving licence classes that a higher licence covers (公安部令第162号《机动车驾驶证申领和使用
#: 规定》, 准驾车型): a worker with A2 may take a job asking for B2 or C1. Transitive; mirrored by
#: ``data.templates.DRIVING_IMPLIES`` for the demo world (a test keeps the two equal).
DEFAULT_CERTIFICATE_IMPLIES: dict[str, tuple[str, ...]] = {
    "driving.A1": ("driving.B1", "driving.B2", "driving.C1"),
    "driving.A2": ("driving.B1", "driving.B2", "driving.C1"),
    "driving.B1": ("driving.C1",),
    "driving.B2": ("driving.C1",),
    "driving.C1": ("driving.C2",),
}


def with_implied(certificates: list[str]) -> list[str]:
    """The certificates held, plus those they cover (A2 → B2 → C1 → C2), in a stable order.

    >>> with_implied(["driving.A2", "health"])
    ['driving.A2', 'health', 'driving.B1', 'driving.B2', 'driving.C1', 'driving.C2']
    """
    held = list(dict.fromkeys(certificates))
    seen = set(held)
    for cert in held:  # grows while it is walked: the closure
        for more in DEFAULT_CERTIFICATE_IMPLIES.get(cert, ()):
            if more not in seen:
                seen.add(more)
                held.append(more)
    return held


#: The hard rules, in the order they are reported.
RULES: tuple[str, ...] = ("age", "education", "certificates", "halal", "dormitory", "open")

#: How each rule is named to a clerk.
RULE_LABELS: dict[str, str] = {
    "age": "年龄不在岗位要求范围内",
    "education": "学历低于岗位要求",
    "certificates": "缺少岗位要求的证书",
    "halal": "需要清真餐但岗位无清真食堂",
    "dormitory": "需要住宿但岗位不提供宿舍",
    "open": "岗位已关闭或已招满",
}


def _as_list(value: object) -> list[str]:
    """Return a list of non-empty strings from a list-like cell (None/NaN → [])."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, float) and np.isnan(value):
        return []
    try:
        return [str(v) for v in value if v is not None and str(v).strip()]  # type: ignore[union-attr]
    except TypeError as exc:
        raise ValueError(f"Expected a list of strings, got {value!r}") from exc


def _as_date(value: object, what: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError as exc:
            raise ValueError(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from exc
    raise ValueError(f"{what}: {value!r} is not a date")


def ages_at(birth_dates: Iterable[object], as_of: dt.date) -> np.ndarray:
    """Whole years of age at ``as_of`` for each birth date.

    >>> ages_at([dt.date(2000, 6, 1), dt.date(2000, 6, 2)], dt.date(2020, 6, 1)).tolist()
    [20, 19]
    """
    births = [_as_date(b, "birth_date") for b in birth_dates]
    years = np.fromiter((b.year for b in births), dtype=np.int32, count=len(births))
    md = np.fromiter((b.month * 100 + b.day for b in births), dtype=np.int32, count=len(births))
    before_birthday = md > (as_of.month * 100 + as_of.day)
    return (as_of.year - years - before_birthday).astype(np.int16)


def education_rank(levels: Sequence[object], ranks: Mapping[str, int], *, what: str) -> np.ndarray:
    """Map education labels to ranks; ``None``/``""`` map to 0 (no requirement / unknown).

    Raises
    ------
    ValueError
        When a label is not one of ``ranks`` (naming the value and the valid ones).
    """
    out = np.zeros(len(levels), dtype=np.int8)
    for i, level in enumerate(levels):
        if level is None or (isinstance(level, float) and np.isnan(level)) or level == "":
            continue
        try:
            out[i] = ranks[str(level)]
        except KeyError:
            raise ValueError(
                f"{what}: education level {level!r} is unknown; "
                f"valid levels are {sorted(ranks, key=ranks.get)}"
            ) from None
    return out


class CertificateVocabulary:
    """Column numbers for certificate ids, grown as new ids appear."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def add(self, ids: Iterable[str]) -> None:
        for cid in ids:
            if cid not in self.index:
                self.index[cid] = len(self.index)

    def matrix(self, lists: Sequence[list[str]], *, grow: bool) -> sp.csr_matrix:
        """A 0/1 CSR matrix (rows = ``lists``); ids outside the vocabulary dropped unless ``grow``.

        Worker matrices are grown too: a certificate a worker holds must keep its column when a
        later job starts to require it.
        """
        indptr = [0]
        indices: list[int] = []
        for ids in lists:
            if grow:
                self.add(ids)
            cols = sorted({self.index[c] for c in ids if c in self.index})
            indices.extend(cols)
            indptr.append(len(indices))
        data = np.ones(len(indices), dtype=np.float32)
        return sp.csr_matrix(
            (data, np.asarray(indices, dtype=np.int32), np.asarray(indptr, dtype=np.int64)),
            shape=(len(lists), max(len(self.index), 1)),
        )


def _pad_cols(m: sp.csr_matrix, n_cols: int) -> sp.csr_matrix:
    if m.shape[1] == n_cols:
        return m
    return sp.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], n_cols))


#: Certificate columns that :attr:`JobRuleArrays.cert_bits` packs into one int64 per job.
_CERT_BITS = 63


@dataclass
class JobRuleArrays:
    """The columns of a job table the hard rules need, as arrays (one row per job)."""

    age_min: np.ndarray
    age_max: np.ndarray
    education_min: np.ndarray
    halal_canteen: np.ndarray
    dormitory: np.ndarray
    is_open: np.ndarray
    cert_required: sp.csr_matrix
    cert_count: np.ndarray

    @cached_property
    def cert_bits(self) -> np.ndarray | None:
        """Each job's required certificates as the bits of an ``int64`` (certificate column
        ``c`` is bit ``c``), or None past 63 certificate columns. A worker's check is then
        two integer operations per job, where the product with ``cert_required`` cost a
        quarter of a millisecond at 100,000 jobs. Computed once per table (the index makes a
        new table when rows are added)."""
        m = self.cert_required
        if m.shape[1] > _CERT_BITS:
            return None
        # A CSR row holds each column once, so the sum of its bits is their OR.
        bits = np.left_shift(np.int64(1), m.indices[: m.nnz].astype(np.int64))
        total = np.concatenate([[0], np.cumsum(bits, dtype=np.int64)])
        return total[m.indptr[1:]] - total[m.indptr[:-1]]

    @classmethod
    def from_frame(
        cls,
        jobs: pd.DataFrame,
        vocabulary: CertificateVocabulary,
        education_ranks: Mapping[str, int],
    ) -> JobRuleArrays:
        """Build from a job table (columns of ``data.schema.JOB_COLUMNS``)."""
        missing = [
            c
            for c in (
                "age_min",
                "age_max",
                "education_min",
                "certificates_required",
                "halal_canteen",
                "dormitory",
                "status",
                "headcount",
                "hired_count",
            )
            if c not in jobs.columns
        ]
        if missing:
            raise ValueError(f"Job table lacks columns {missing}; it has {list(jobs.columns)}")
        certs = [_as_list(v) for v in jobs["certificates_required"].tolist()]
        req = vocabulary.matrix(certs, grow=True)
        status = jobs["status"].astype(str).to_numpy()
        bad = sorted(set(status) - {"open", "filled", "closed"})
        if bad:
            raise ValueError(
                f"Job status {bad[0]!r} is unknown; valid statuses are ['open', 'filled', 'closed']"
            )
        headcount = jobs["headcount"].to_numpy(dtype=np.int64)
        hired = jobs["hired_count"].fillna(0).to_numpy(dtype=np.int64)
        return cls(
            # A job table without an age bound gets the record contract's default, as storage does.
            age_min=jobs["age_min"].fillna(DEFAULT_AGE_MIN).to_numpy(dtype=np.int16),
            age_max=jobs["age_max"].fillna(DEFAULT_AGE_MAX).to_numpy(dtype=np.int16),
            education_min=education_rank(
                jobs["education_min"].tolist(), education_ranks, what="education_min"
            ),
            halal_canteen=jobs["halal_canteen"].fillna(False).to_numpy(dtype=bool),
            dormitory=jobs["dormitory"].fillna(False).to_numpy(dtype=bool),
            is_open=(status == "open") & (headcount > hired),
            cert_required=req,
            cert_count=np.asarray(req.sum(axis=1)).ravel().astype(np.int16),
        )


@dataclass
class WorkerRuleArrays:
    """The columns of a worker table the hard rules need, as arrays (one row per worker)."""

    age: np.ndarray
    education: np.ndarray
    needs_halal: np.ndarray
    needs_dormitory: np.ndarray
    certificates: sp.csr_matrix

    @classmethod
    def from_frame(
        cls,
        workers: pd.DataFrame,
        vocabulary: CertificateVocabulary,
        education_ranks: Mapping[str, int],
        as_of: dt.date,
        *,
        unknown_education: str = "zero",
    ) -> WorkerRuleArrays:
        """Build from a worker table.

        ``unknown_education="zero"`` gives an unknown level rank 0 (the worker then only sees
        jobs without an education requirement, and the reasons say so); ``"raise"`` refuses it.
        """
        missing = [
            c
            for c in ("birth_date", "education", "certificates", "needs_halal", "needs_dormitory")
            if c not in workers.columns
        ]
        if missing:
            raise ValueError(
                f"Worker table lacks columns {missing}; it has {list(workers.columns)}"
            )
        levels = workers["education"].tolist()
        if unknown_education == "zero":
            levels = [lv if lv in education_ranks else None for lv in levels]
        certs = [with_implied(_as_list(v)) for v in workers["certificates"].tolist()]
        return cls(
            age=ages_at(workers["birth_date"].tolist(), as_of),
            education=education_rank(levels, education_ranks, what="education"),
            needs_halal=workers["needs_halal"].fillna(False).to_numpy(dtype=bool),
            needs_dormitory=workers["needs_dormitory"].fillna(False).to_numpy(dtype=bool),
            certificates=vocabulary.matrix(certs, grow=True),
        )


def _held_required(
    workers: WorkerRuleArrays, w_idx: np.ndarray, jobs: JobRuleArrays, j_idx: np.ndarray
) -> np.ndarray:
    n = max(workers.certificates.shape[1], jobs.cert_required.shape[1])
    wc = _pad_cols(workers.certificates, n)[w_idx]
    jc = _pad_cols(jobs.cert_required, n)[j_idx]
    return np.asarray(wc.multiply(jc).sum(axis=1)).ravel()


def pair_checks(
    workers: WorkerRuleArrays, w_idx: np.ndarray, jobs: JobRuleArrays, j_idx: np.ndarray
) -> dict[str, np.ndarray]:
    """Each rule's pass/fail (``True`` = satisfied) for the pairs ``(w_idx[i], j_idx[i])``."""
    w_idx = np.asarray(w_idx, dtype=np.int64)
    j_idx = np.asarray(j_idx, dtype=np.int64)
    age = workers.age[w_idx]
    return {
        "age": (age >= jobs.age_min[j_idx]) & (age <= jobs.age_max[j_idx]),
        "education": workers.education[w_idx] >= jobs.education_min[j_idx],
        "certificates": _held_required(workers, w_idx, jobs, j_idx) >= jobs.cert_count[j_idx],
        "halal": ~workers.needs_halal[w_idx] | jobs.halal_canteen[j_idx],
        "dormitory": ~workers.needs_dormitory[w_idx] | jobs.dormitory[j_idx],
        "open": jobs.is_open[j_idx],
    }


def pair_mask(
    workers: WorkerRuleArrays, w_idx: np.ndarray, jobs: JobRuleArrays, j_idx: np.ndarray
) -> np.ndarray:
    """``True`` where the pair ``(w_idx[i], j_idx[i])`` breaks no hard rule."""
    checks = pair_checks(workers, w_idx, jobs, j_idx)
    out = np.ones(len(np.asarray(w_idx)), dtype=bool)
    for ok in checks.values():
        out &= ok
    return out


def jobs_mask_for_worker(workers: WorkerRuleArrays, i: int, jobs: JobRuleArrays) -> np.ndarray:
    """``True`` for each job that worker row ``i`` may be offered (one pass over all jobs)."""
    age = workers.age[i]
    mask = jobs.is_open & (jobs.age_min <= age) & (jobs.age_max >= age)
    mask &= jobs.education_min <= workers.education[i]
    if workers.needs_halal[i]:
        mask &= jobs.halal_canteen
    if workers.needs_dormitory[i]:
        mask &= jobs.dormitory
    if jobs.cert_required.nnz:
        row = workers.certificates[i]
        cols = row.indices[row.indices < jobs.cert_required.shape[1]]
        bits = jobs.cert_bits
        if bits is not None:
            held_bits = int(
                np.bitwise_or.reduce(np.left_shift(1, cols.astype(np.int64)), initial=0)
            )
            mask &= (bits & ~held_bits) == 0
        else:
            held = np.zeros(jobs.cert_required.shape[1], dtype=np.float32)
            held[cols] = 1.0
            mask &= (jobs.cert_required @ held) >= jobs.cert_count
    return mask


def workers_mask_for_job(jobs: JobRuleArrays, j: int, workers: WorkerRuleArrays) -> np.ndarray:
    """``True`` for each worker that job row ``j`` may be offered to (one pass over all workers)."""
    n = workers.age.shape[0]
    if not jobs.is_open[j]:
        return np.zeros(n, dtype=bool)
    mask = (workers.age >= jobs.age_min[j]) & (workers.age <= jobs.age_max[j])
    if jobs.education_min[j] > 0:
        mask &= workers.education >= jobs.education_min[j]
    if not jobs.halal_canteen[j]:
        mask &= ~workers.needs_halal
    if not jobs.dormitory[j]:
        mask &= ~workers.needs_dormitory
    if jobs.cert_count[j] > 0:
        row = jobs.cert_required[j]
        certs = workers.certificates
        if certs.shape[1] <= int(row.indices.max()):
            return np.zeros(n, dtype=bool)
        need = np.zeros(certs.shape[1], dtype=np.float32)
        need[row.indices] = 1.0
        mask &= (certs @ need) >= jobs.cert_count[j]
    return mask


def violations(
    workers: WorkerRuleArrays, w_idx: np.ndarray, jobs: JobRuleArrays, j_idx: np.ndarray
) -> pd.Series:
    """Count, per rule, the pairs that break it (used by evaluation: must all be 0)."""
    checks = pair_checks(workers, w_idx, jobs, j_idx)
    return pd.Series({rule: int((~ok).sum()) for rule, ok in checks.items()}, dtype=np.int64)


__all__ = [
    "DEFAULT_AGE_MAX",
    "DEFAULT_AGE_MIN",
    "DEFAULT_EDUCATION_RANKS",
    "RULES",
    "RULE_LABELS",
    "CertificateVocabulary",
    "JobRuleArrays",
    "WorkerRuleArrays",
    "ages_at",
    "education_rank",
    "jobs_mask_for_worker",
    "pair_checks",
    "pair_mask",
    "violations",
    "workers_mask_for_job",
]
