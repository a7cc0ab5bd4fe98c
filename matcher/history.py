"""What outcome history says about a firm: how many of the people it hired it kept.

The goal of the programme is stable employment, and firms differ in it: the same worker in
the same trade stays at one workplace and leaves another. :class:`FirmRetention` learns each
firm's 6-month retention from resolved hires (a ``hired`` pair that reached ``retained_6m``
or ended with ``left``), smoothed toward the retention of all firms, so that a firm with two
hires moves little and one with fifty says what it is. Its :meth:`FirmRetention.lift` — the
smoothed rate minus the overall rate, 0 for a firm without history — is the
``firm_retention`` pair feature (:data:`matcher.features.FEATURE_NAMES`), monotone in the
ranker: a firm that keeps people never costs a pair.

It is a fact about the firm, never about the worker: no protected attribute enters it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted


def resolved_hires(events: pd.DataFrame) -> pd.DataFrame:
    """One row per hired pair whose 6-month outcome is known: ``worker_id, job_id, kept``.

    ``kept`` is 1 for a pair with a ``retained_6m`` event, 0 for one that ended with ``left``;
    a hire still running (neither) is not counted yet.
    """
    missing = [c for c in ("worker_id", "job_id", "stage") if c not in events.columns]
    if missing:
        raise ValueError(f"Outcome events lack columns {missing}; they have {list(events.columns)}")
    ev = events.loc[events["stage"].isin(("retained_6m", "left")), ["worker_id", "job_id", "stage"]]
    ev = ev.assign(kept=(ev["stage"] == "retained_6m").astype(np.int8))
    out = ev.groupby(["worker_id", "job_id"], as_index=False, sort=True)["kept"].max()
    return out.astype({"worker_id": np.int64, "job_id": np.int64, "kept": np.int8})


class FirmRetention(BaseEstimator):
    """Each firm's 6-month retention of the people it hired, smoothed toward all firms'.

    Parameters
    ----------
    smoothing : float, default=10
        Pseudo-hires at the overall rate added to every firm's own: a firm's lift is
        ``(kept - rate * hires) / (hires + smoothing)``.

    Attributes
    ----------
    firm_ids_ : ndarray of int64, sorted
    hires_, kept_ : ndarray of float64
        Resolved hires per firm and how many of them reached 6 months.
    base_rate_ : float
        Share of all resolved hires kept 6 months.

    Examples
    --------
    >>> ev = pd.DataFrame({"worker_id": [1, 2, 3, 4], "job_id": [10, 10, 20, 20],
    ...                    "stage": ["retained_6m", "retained_6m", "left", "retained_6m"]})
    >>> jobs = pd.DataFrame({"job_id": [10, 20], "firm_id": [7, 8]})
    >>> fr = FirmRetention(smoothing=2).fit(ev, jobs)
    >>> fr.base_rate_
    0.75
    >>> [round(x, 3) for x in fr.lift([7, 8, 9]).tolist()]
    [0.125, -0.125, 0.0]
    """

    def __init__(self, smoothing: float = 10.0) -> None:
        self.smoothing = smoothing

    def fit(self, events: pd.DataFrame, jobs: pd.DataFrame) -> FirmRetention:
        """Count resolved hires per firm (``jobs`` maps ``job_id`` to ``firm_id``)."""
        if not float(self.smoothing) > 0:
            raise ValueError(f"smoothing {self.smoothing!r} must be a number > 0")
        hires = resolved_hires(events)
        firm_of = jobs.drop_duplicates("job_id").set_index("job_id")["firm_id"]
        firm = pd.to_numeric(hires["job_id"].map(firm_of), errors="coerce")
        known = firm.notna() & (firm >= 0)
        per_firm = (
            hires.loc[known, "kept"]
            .groupby(firm[known].astype(np.int64))
            .agg(["size", "sum"])
            .sort_index()
        )
        self.firm_ids_ = per_firm.index.to_numpy(dtype=np.int64)
        self.hires_ = per_firm["size"].to_numpy(dtype=np.float64)
        self.kept_ = per_firm["sum"].to_numpy(dtype=np.float64)
        total = float(self.hires_.sum())
        self.base_rate_ = float(self.kept_.sum() / total) if total else 0.0
        return self

    def lift(
        self,
        firm_ids: np.ndarray | list[int],
        minus_hires: np.ndarray | None = None,
        minus_kept: np.ndarray | None = None,
    ) -> np.ndarray:
        """Smoothed retention minus the overall rate per firm id (0 without history).

        ``minus_hires``/``minus_kept`` take one row's own outcome out of its firm's counts
        (leave one out), so that a training pair's label does not teach its own feature.
        """
        check_is_fitted(self, "firm_ids_")
        ids = np.asarray(firm_ids, dtype=np.int64)
        hires = np.zeros(len(ids))
        kept = np.zeros(len(ids))
        if len(self.firm_ids_) and len(ids):
            pos = np.clip(np.searchsorted(self.firm_ids_, ids), 0, len(self.firm_ids_) - 1)
            found = self.firm_ids_[pos] == ids
            hires = np.where(found, self.hires_[pos], 0.0)
            kept = np.where(found, self.kept_[pos], 0.0)
        if minus_hires is not None:
            hires = np.maximum(hires - np.asarray(minus_hires, dtype=np.float64), 0.0)
        if minus_kept is not None:
            kept = np.clip(kept - np.asarray(minus_kept, dtype=np.float64), 0.0, hires)
        lift = (kept - self.base_rate_ * hires) / (hires + float(self.smoothing))
        return lift.astype(np.float32)

    def leave_one_out(
        self, pairs: pd.DataFrame, events: pd.DataFrame, jobs: pd.DataFrame
    ) -> np.ndarray:
        """:meth:`lift` of each (``worker_id``, ``job_id``) pair's firm with the pair's own
        resolved hire in ``events`` taken out: the feature of a training pair, whose label
        must not teach its own feature. ``events`` are (a part of) those :meth:`fit` counted.

        >>> ev = pd.DataFrame({"worker_id": [1, 2], "job_id": [10, 10],
        ...                    "stage": ["retained_6m", "left"]})
        >>> jobs = pd.DataFrame({"job_id": [10], "firm_id": [7]})
        >>> fr = FirmRetention(smoothing=1).fit(ev, jobs)
        >>> pairs = pd.DataFrame({"worker_id": [1, 2, 3], "job_id": [10, 10, 10]})
        >>> fr.leave_one_out(pairs, ev, jobs).tolist()
        [-0.25, 0.25, 0.0]
        """
        keys = pairs[["worker_id", "job_id"]].astype(np.int64)
        own = keys.merge(resolved_hires(events), how="left", on=["worker_id", "job_id"])
        firm_of = jobs.drop_duplicates("job_id").set_index("job_id")["firm_id"]
        firm = pd.to_numeric(keys["job_id"].map(firm_of), errors="coerce").fillna(-1)
        return self.lift(
            firm.to_numpy(dtype=np.int64),
            own["kept"].notna().to_numpy(dtype=np.float64),
            own["kept"].fillna(0).to_numpy(dtype=np.float64),
        )


__all__ = ["FirmRetention", "resolved_hires"]
