"""County-wide allocation: place many workers on open jobs at once, never two on the last place.

The engine gives, for every worker, a short list of candidate jobs that already pass the hard
rules (certificates, age, halal canteen …) with ``score`` = predicted probability that the
placement succeeds (hired and retained). :func:`allocate` turns those lists into one plan:

``mode="welfare"``
    maximise the total predicted success subject to the places left in every job
    (``headcount - hired_count``). Solved exactly as a min-cost flow with OR-Tools
    (``SimpleMinCostFlow``): source supply on every worker, worker→job arcs for the candidate
    pairs (capacity 1, cost ``-(round(weight·SCALE) + 1)``), a zero-cost worker→sink bypass for
    workers left out, job→sink arcs with the places left, or job→firm→sink when
    ``max_per_firm`` is set. The ``+ 1`` in every arc cost makes the solver prefer one more
    placement among plans of equal total score, so nobody is left out while a candidate job of
    theirs still has a place (unless a firm cap stops it).

``mode="stable"``
    worker-proposing deferred acceptance with job capacities (the hospital–residents
    problem). Workers rank their candidate jobs by score (ties: smaller ``job_id`` first); a
    job ranks the workers who apply by score plus the poverty bonus (ties: smaller
    ``worker_id`` first). The result is the worker-optimal stable matching: no worker and job
    would both rather be matched to each other. Proposals are made in rounds with numpy (all
    free workers at once); deferred acceptance ends in the same matching whatever the order of
    proposals, and a test checks it against a one-proposal-at-a-time version, the benchmark
    against the ``matching`` library. With ``max_per_firm`` a firm's choice is
    greedy over its jobs (a job over its places drops its lowest applicant, otherwise a firm
    over its cap drops its lowest applicant across its jobs); that choice rule is substitutable,
    so the outcome is still stable with respect to it.

Options a county bureau needs:

* ``poverty_priority`` — a bonus added to the score of 建档立卡 workers: to the objective in
  welfare mode and to the jobs' ranking of applicants in stable mode (a worker's own order of
  jobs is never changed by it).
* ``max_per_firm`` — at most this many workers of this allocation go to one firm.
* ``keep_groups`` — workers sharing a non-empty ``group_id`` (a family or villagers who asked
  to stay together) are placed in one city or the whole group is left out with a reason. The
  method: the group is first given the one city where every member has a candidate job and
  the members' best scores sum highest, and the members' candidate lists are cut to that city,
  so wherever they land they are in the same city. After solving, a group of which only some
  members were placed is taken out as a whole and the rest is solved again so that the places
  it held go to others; this repeats until no group is split (each round removes at least one
  group, so it ends).

Nothing is ever assigned outside the candidate pairs, so the hard rules the engine applied
hold; no job gets more than its places; no worker gets two jobs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = [
    "AllocationResult",
    "REASON_FIRM_CAP",
    "REASON_GROUP_NO_CITY",
    "REASON_GROUP_SPLIT",
    "REASON_JOBS_CLOSED",
    "REASON_NO_CANDIDATE",
    "REASON_TAKEN",
    "allocate",
    "blocking_pairs",
]

#: Integer scale of the scores in the min-cost-flow arc costs (scores are in [0, 1]).
SCALE = 1_000_000

REASON_NO_CANDIDATE = "无可匹配岗位"
REASON_JOBS_CLOSED = "岗位名额已满：候选岗位均已招满或已关闭"
REASON_TAKEN = "岗位名额已满：候选岗位的名额已安排给匹配度更高的人员"
REASON_FIRM_CAP = "企业接收人数已达上限：候选岗位所在企业已满本次安排上限"
REASON_GROUP_NO_CITY = "同组人员在同一城市没有都能匹配的岗位，按要求整组暂不安排"
REASON_GROUP_SPLIT = "同组人员未能全部安排到同一城市，按要求整组暂不安排"

_MODES = ("welfare", "stable")


@dataclass
class AllocationResult:
    """The outcome of :func:`allocate`.

    Attributes
    ----------
    assignments : list of dict
        ``{"worker_id", "job_id", "score"}`` per placed worker (plus any extra columns the
        candidate table carried for that pair, e.g. ``reasons``), sorted by ``worker_id``.
    unassigned : list of dict
        ``{"worker_id", "why"}`` for every worker of the ``workers`` table left out; ``why`` is
        a Chinese sentence for the bureau.
    stats : dict
        Counts, ``total_score`` (sum of the raw scores placed), ``objective`` (with the poverty
        bonus), ``solver``, ``status``, ``time_s`` and, with ``keep_groups``, group counts.
    """

    assignments: list[dict[str, Any]]
    unassigned: list[dict[str, Any]]
    stats: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready ``{"assignments", "unassigned", "stats"}`` mapping."""
        return {
            "assignments": self.assignments,
            "unassigned": self.unassigned,
            "stats": self.stats,
        }


# --------------------------------------------------------------------------- validation


def _require_columns(table: pd.DataFrame, name: str, columns: tuple[str, ...]) -> None:
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame, got {type(table).__name__}.")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(
            f"{name} lacks the column(s) {missing}; it needs {list(columns)} "
            f"(it has {list(table.columns)})."
        )


def _unique_ids(table: pd.DataFrame, name: str, column: str) -> np.ndarray:
    ids = table[column].to_numpy()
    if pd.isna(ids).any():
        raise ValueError(f"{name}.{column} has empty values; every row needs an id.")
    if pd.Index(ids).has_duplicates:
        dup = pd.Index(ids)[pd.Index(ids).duplicated()].unique()[:5].tolist()
        raise ValueError(f"{name}.{column} repeats the id(s) {dup}; ids must be unique.")
    return ids


def _places_left(jobs: pd.DataFrame) -> np.ndarray:
    """Places still open per job: headcount − hired_count, 0 for jobs not ``open``."""
    head = pd.to_numeric(jobs["headcount"], errors="coerce")
    hired = pd.to_numeric(jobs["hired_count"], errors="coerce")
    bad = head.isna() | hired.isna() | (head < 0) | (hired < 0)
    if bad.any():
        row = jobs.loc[bad].iloc[0]
        raise ValueError(
            f"job {_py(row['job_id'])!r} has headcount={_py(row['headcount'])!r}, "
            f"hired_count={_py(row['hired_count'])!r}; both must be whole numbers >= 0."
        )
    places = (head - hired).clip(lower=0).to_numpy(dtype=np.int64)
    if "status" in jobs.columns:
        places = np.where(jobs["status"].fillna("open").to_numpy() == "open", places, 0)
    return places


def _validate_candidates(
    candidates: pd.DataFrame, worker_ids: np.ndarray, job_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Map candidate pairs to worker/job positions; raise on unknown ids or bad scores."""
    _require_columns(candidates, "candidates", ("worker_id", "job_id", "score"))
    if len(candidates) == 0:
        raise ValueError(
            "candidates is empty: the engine found no job that any of these workers may take, "
            "so there is nothing to allocate."
        )
    w = pd.Index(worker_ids).get_indexer(candidates["worker_id"].to_numpy())
    if (w < 0).any():
        unknown = pd.unique(candidates["worker_id"].to_numpy()[w < 0])[:5].tolist()
        raise ValueError(f"candidates name worker(s) {unknown} that are not in the workers table.")
    j = pd.Index(job_ids).get_indexer(candidates["job_id"].to_numpy())
    if (j < 0).any():
        unknown = pd.unique(candidates["job_id"].to_numpy()[j < 0])[:5].tolist()
        raise ValueError(f"candidates name job(s) {unknown} that are not in the jobs table.")
    score = pd.to_numeric(candidates["score"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(score) | (score < 0) | (score > 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"candidate (worker {_py(candidates['worker_id'].iloc[i])!r}, job "
            f"{_py(candidates['job_id'].iloc[i])!r}) has score "
            f"{_py(candidates['score'].iloc[i])!r}; "
            "scores must be probabilities in [0, 1]."
        )
    key = w.astype(np.int64) * np.int64(len(job_ids)) + j
    sorted_key = np.sort(key)  # a sort is much faster than np.unique's hashing at 5M pairs
    if (sorted_key[1:] == sorted_key[:-1]).any():
        i = int(np.flatnonzero(pd.Series(key).duplicated().to_numpy())[0])
        raise ValueError(
            f"candidates list the pair (worker {_py(candidates['worker_id'].iloc[i])!r}, job "
            f"{_py(candidates['job_id'].iloc[i])!r}) more than once; each pair must appear once."
        )
    return w.astype(np.int64), j.astype(np.int64), score


# --------------------------------------------------------------------------- solvers


def _dense_rank(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense rank (0 = smallest) of non-negative floats, and the number of distinct values.

    The bit pattern of a non-negative float64 read as int64 orders like the float, and an
    integer sort is several times faster than a float one at millions of values.
    """
    bits = (np.asarray(values, dtype=np.float64) + 0.0).view(np.int64)  # + 0.0 folds -0.0
    o = np.argsort(bits)
    sb = bits[o]
    ranks_sorted = np.cumsum(np.r_[True, sb[1:] != sb[:-1]]) - 1
    rank = np.empty(len(bits), dtype=np.int64)
    rank[o] = ranks_sorted
    return rank, int(ranks_sorted[-1]) + 1 if len(bits) else 0


def _order_by(
    major: np.ndarray, n_major: int, desc: np.ndarray, minor: np.ndarray, n_minor: int
) -> np.ndarray:
    """Indices sorting by (``major`` asc, ``desc`` desc, ``minor`` asc); ints are 0-based ranks.

    One int64 key and one sort when the three fit in 63 bits, else ``np.lexsort``.
    """
    rank, n_desc = _dense_rank(desc)
    if n_major * max(n_desc, 1) * max(n_minor, 1) < 2**62:
        key = (major.astype(np.int64) * n_desc + (n_desc - 1 - rank)) * n_minor + minor
        return np.argsort(key, kind="stable")
    return np.lexsort((minor, -rank, major))


def _solve_welfare(
    w: np.ndarray,
    j: np.ndarray,
    weight: np.ndarray,
    n_workers: int,
    places: np.ndarray,
    firm_of_job: np.ndarray | None,
    max_per_firm: int | None,
) -> tuple[np.ndarray, str]:
    """Return a boolean mask over the arcs that carry flow (the assignments)."""
    from ortools.graph.python import min_cost_flow

    n_jobs = len(places)
    job_node0 = n_workers
    if max_per_firm is not None:
        firm_codes, firm_idx = np.unique(firm_of_job, return_inverse=True)
        n_firms = len(firm_codes)
    else:
        n_firms = 0
    firm_node0 = job_node0 + n_jobs
    sink = firm_node0 + n_firms

    tails = [w, np.arange(n_workers, dtype=np.int64)]
    heads = [job_node0 + j, np.full(n_workers, sink, dtype=np.int64)]
    caps = [np.ones(len(w), dtype=np.int64), np.ones(n_workers, dtype=np.int64)]
    costs = [-(np.rint(weight * SCALE).astype(np.int64) + 1), np.zeros(n_workers, np.int64)]
    job_nodes = job_node0 + np.arange(n_jobs, dtype=np.int64)
    if max_per_firm is None:
        tails.append(job_nodes)
        heads.append(np.full(n_jobs, sink, dtype=np.int64))
        caps.append(places.astype(np.int64))
        costs.append(np.zeros(n_jobs, np.int64))
    else:
        tails += [job_nodes, firm_node0 + np.arange(n_firms, dtype=np.int64)]
        heads += [firm_node0 + firm_idx.astype(np.int64), np.full(n_firms, sink, np.int64)]
        caps += [places.astype(np.int64), np.full(n_firms, max_per_firm, np.int64)]
        costs += [np.zeros(n_jobs, np.int64), np.zeros(n_firms, np.int64)]

    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate(tails), np.concatenate(heads), np.concatenate(caps), np.concatenate(costs)
    )
    supplies = np.zeros(sink + 1, dtype=np.int64)
    supplies[:n_workers] = 1
    supplies[sink] = -n_workers
    flow.set_nodes_supplies(np.arange(sink + 1, dtype=np.int64), supplies)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow ended with status {status!r}, not OPTIMAL.")
    used = flow.flows(arcs[: len(w)]) > 0
    return used, "OPTIMAL"


def _solve_stable(
    w: np.ndarray,
    j: np.ndarray,
    score: np.ndarray,
    weight: np.ndarray,
    worker_ids: np.ndarray,
    job_ids: np.ndarray,
    n_workers: int,
    places: np.ndarray,
    firm_of_job: np.ndarray | None,
    max_per_firm: int | None,
) -> tuple[np.ndarray, str]:
    """Worker-proposing deferred acceptance in rounds, vectorised with numpy.

    Each round every free worker proposes to the next job on their list; each job that got a
    proposal keeps its best ``places`` among its holders and the newcomers (the firm then keeps
    its best ``max_per_firm`` across its jobs); the rest are free again. Deferred acceptance
    ends in the same worker-optimal stable matching whatever the order of proposals, so this
    equals the one-at-a-time version, at numpy speed. Returns a boolean mask of matched arcs.
    """
    n_arcs = len(w)
    used = np.zeros(n_arcs, dtype=bool)
    if n_arcs == 0:
        return used, "STABLE"
    # A worker's list: best score first, ties by smaller job_id.
    job_rank = np.empty(len(job_ids), dtype=np.int64)
    job_rank[np.argsort(job_ids, kind="stable")] = np.arange(len(job_ids))
    worker_rank = np.empty(len(worker_ids), dtype=np.int64)
    worker_rank[np.argsort(worker_ids, kind="stable")] = np.arange(len(worker_ids))
    order = _order_by(w, n_workers, score, job_rank[j], len(job_ids))
    counts = np.bincount(w, minlength=n_workers)
    end = np.cumsum(counts)
    ptr = end - counts
    arc_w = w[order]
    arc_j = j[order]
    # The job's ranking: larger weight first, ties by smaller worker_id. One integer rank per
    # arc (0 = best in the whole instance) makes every later sort a single-key argsort.
    prio = np.empty(n_arcs, dtype=np.int64)
    prio[_order_by(np.zeros(n_arcs, np.int64), 1, weight[order], worker_rank[arc_w], n_workers)] = (
        np.arange(n_arcs)
    )
    use_firm = max_per_firm is not None
    if use_firm:
        _, firm_idx = np.unique(firm_of_job, return_inverse=True)
        arc_f = firm_idx[arc_j]
    held_arc = np.full(n_workers, -1, dtype=np.int64)  # position in `order`
    held_at_job: np.ndarray = np.full(n_workers, -1, dtype=np.int64)
    free = np.flatnonzero(counts > 0)
    while free.size:
        props = ptr[free]
        ptr[free] += 1
        touched = np.unique(arc_j[props])
        # Holders at the jobs (or firms) that got proposals compete again with the newcomers.
        holders = np.flatnonzero(held_arc >= 0)
        if use_firm:
            touched_f = np.unique(arc_f[props])
            holders = holders[np.isin(arc_f[held_arc[holders]], touched_f)]
        else:
            holders = holders[np.isin(held_at_job[holders], touched)]
        pool = np.concatenate([held_arc[holders], props])
        # Keep the best `places` per job.
        pool = pool[np.argsort(prio[pool], kind="stable")]
        pj = arc_j[pool]
        by_job = np.argsort(pj, kind="stable")
        sj = pj[by_job]
        first = np.r_[0, np.flatnonzero(sj[1:] != sj[:-1]) + 1]
        rank = np.arange(len(sj)) - np.repeat(first, np.diff(np.r_[first, len(sj)]))
        keep = np.zeros(len(pool), dtype=bool)
        keep[by_job] = rank < places[sj]
        if use_firm:
            # then the best `max_per_firm` per firm among those its jobs kept
            kept = np.flatnonzero(keep)
            pf = arc_f[pool[kept]]
            by_firm = np.argsort(pf, kind="stable")
            sf = pf[by_firm]
            first = np.r_[0, np.flatnonzero(sf[1:] != sf[:-1]) + 1]
            rank = np.arange(len(sf)) - np.repeat(first, np.diff(np.r_[first, len(sf)]))
            keep[kept[by_firm[rank >= max_per_firm]]] = False
        winners = pool[keep]
        losers = pool[~keep]
        held_arc[arc_w[losers]] = -1
        held_at_job[arc_w[losers]] = -1
        held_arc[arc_w[winners]] = winners
        held_at_job[arc_w[winners]] = arc_j[winners]
        cand = arc_w[losers]
        free = cand[ptr[cand] < end[cand]]
    matched = held_arc[held_arc >= 0]
    used[order[matched]] = True
    return used, "STABLE"


# --------------------------------------------------------------------------- public API


def allocate(
    candidates: pd.DataFrame,
    jobs: pd.DataFrame,
    workers: pd.DataFrame,
    *,
    mode: Literal["welfare", "stable"] = "welfare",
    poverty_priority: float = 0.0,
    max_per_firm: int | None = None,
    keep_groups: bool = False,
    time_limit_s: float = 30,
) -> AllocationResult:
    """Place the workers on the open jobs, all at once.

    Parameters
    ----------
    candidates : DataFrame
        ``worker_id, job_id, score``: the engine's candidate pairs, already filtered by the hard
        rules; ``score`` in [0, 1]. Extra columns (e.g. ``reasons``) are copied to the
        assignments they belong to.
    jobs : DataFrame
        ``job_id, firm_id, headcount, hired_count, city`` and optionally ``status``; a job not
        ``open`` has no places.
    workers : DataFrame
        ``worker_id`` and optionally ``poverty_registered`` (建档立卡) and ``group_id``. Every
        worker of this table is either assigned or listed in ``unassigned``.
    mode : {"welfare", "stable"}
        Maximise the total predicted success, or the worker-optimal stable matching.
    poverty_priority : float, default 0
        Bonus added to the score of 建档立卡 workers (objective / jobs' ranking), >= 0.
    max_per_firm : int, optional
        At most this many workers of this allocation to one firm (>= 1).
    keep_groups : bool, default False
        Keep workers with the same non-empty ``group_id`` in one city, or leave the whole
        group out with a reason (see the module docstring for the method).
    time_limit_s : float, default 30
        Budget for the ``keep_groups`` repair rounds. The flow and deferred-acceptance solvers
        are exact and are not cut short; when the budget is spent between rounds, the groups
        still split are left out without solving again (their places stay free) and
        ``stats["status"]`` says ``TIME_LIMIT``.

    Returns
    -------
    AllocationResult

    Raises
    ------
    ValueError
        On empty candidates, no open jobs, ids unknown to the tables, a score outside [0, 1],
        a repeated pair, or an invalid option.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"worker_id": [1, 2], "job_id": [10, 10], "score": [0.9, 0.5]})
    >>> j = pd.DataFrame({"job_id": [10], "firm_id": [1], "headcount": [1],
    ...                   "hired_count": [0], "city": ["苏州市"]})
    >>> w = pd.DataFrame({"worker_id": [1, 2]})
    >>> r = allocate(c, j, w)
    >>> r.assignments, r.unassigned[0]["worker_id"]
    ([{'worker_id': 1, 'job_id': 10, 'score': 0.9}], 2)
    """
    t0 = time.perf_counter()
    if mode not in _MODES:
        raise ValueError(f"mode {mode!r} is not supported; use one of {list(_MODES)}.")
    if (
        isinstance(poverty_priority, bool)
        or not isinstance(poverty_priority, (int, float))
        or not np.isfinite(poverty_priority)
        or poverty_priority < 0
    ):
        raise ValueError(f"poverty_priority {poverty_priority!r} must be a number >= 0.")
    if max_per_firm is not None and (
        isinstance(max_per_firm, bool)
        or not isinstance(max_per_firm, (int, np.integer))
        or max_per_firm < 1
    ):
        raise ValueError(f"max_per_firm {max_per_firm!r} must be a whole number >= 1 or None.")
    if (
        isinstance(time_limit_s, bool)
        or not isinstance(time_limit_s, (int, float))
        or not time_limit_s > 0
    ):
        raise ValueError(f"time_limit_s {time_limit_s!r} must be a number of seconds > 0.")
    if max_per_firm is not None:
        max_per_firm = int(max_per_firm)

    _require_columns(jobs, "jobs", ("job_id", "firm_id", "headcount", "hired_count"))
    _require_columns(workers, "workers", ("worker_id",))
    if keep_groups:
        _require_columns(jobs, "jobs", ("city",))
    if len(workers) == 0:
        raise ValueError("workers is empty: there is nobody to allocate.")
    job_ids = _unique_ids(jobs, "jobs", "job_id")
    worker_ids = _unique_ids(workers, "workers", "worker_id")
    places = _places_left(jobs)
    if places.sum() == 0:
        raise ValueError(
            "no open jobs: every job is filled, closed or has no places left "
            "(headcount − hired_count = 0), so nobody can be allocated."
        )
    w_all, j_all, score_all = _validate_candidates(candidates, worker_ids, job_ids)
    n_workers = len(worker_ids)

    poverty = (
        workers["poverty_registered"].fillna(False).astype(bool).to_numpy()
        if "poverty_registered" in workers.columns
        else np.zeros(n_workers, dtype=bool)
    )
    weight_all = score_all + poverty_priority * poverty[w_all]

    reason = np.full(n_workers, "", dtype=object)
    has_candidate = np.bincount(w_all, minlength=n_workers) > 0
    reason[~has_candidate] = REASON_NO_CANDIDATE

    open_arc = places[j_all] > 0
    has_open = np.bincount(w_all[open_arc], minlength=n_workers) > 0
    reason[has_candidate & ~has_open] = REASON_JOBS_CLOSED
    arc_idx = np.flatnonzero(open_arc)

    # Groups: restrict every member to the group's chosen city.
    group_of = np.full(n_workers, -1, dtype=np.int64)
    n_groups = 0
    groups_no_city = 0
    if keep_groups and "group_id" in workers.columns:
        gid = workers["group_id"].fillna("").astype(str).str.strip().to_numpy()
        in_group = gid != ""
        if in_group.any():
            codes, inv = np.unique(gid[in_group], return_inverse=True)
            group_of[in_group] = inv
            n_groups = len(codes)
            arc_idx, dropped = _restrict_groups_to_city(
                arc_idx, w_all, j_all, score_all, group_of, jobs["city"].to_numpy(), n_groups
            )
            groups_no_city = len(dropped)
            members = np.isin(group_of, dropped) & (reason == "")
            reason[members] = REASON_GROUP_NO_CITY

    firm_of_job = jobs["firm_id"].to_numpy() if max_per_firm is not None else None
    active = np.ones(n_workers, dtype=bool)
    rounds = 0
    groups_split = 0
    status = ""
    solver = "ortools.SimpleMinCostFlow" if mode == "welfare" else "deferred_acceptance"
    while True:
        rounds += 1
        sub = arc_idx[active[w_all[arc_idx]]]
        if mode == "welfare":
            used_sub, status = _solve_welfare(
                w_all[sub],
                j_all[sub],
                weight_all[sub],
                n_workers,
                places,
                firm_of_job,
                max_per_firm,
            )
        else:
            used_sub, status = _solve_stable(
                w_all[sub],
                j_all[sub],
                score_all[sub],
                weight_all[sub],
                worker_ids,
                job_ids,
                n_workers,
                places,
                firm_of_job,
                max_per_firm,
            )
        chosen = sub[used_sub]
        if n_groups == 0:
            break
        split = _split_groups(chosen, w_all, group_of, active, n_groups)
        if len(split) == 0:
            break
        groups_split += len(split)
        members = np.isin(group_of, split)
        active &= ~members
        reason[members & (reason == "")] = REASON_GROUP_SPLIT
        if time.perf_counter() - t0 > time_limit_s:
            chosen = chosen[active[w_all[chosen]]]
            status = "TIME_LIMIT"
            break

    assigned = np.zeros(n_workers, dtype=bool)
    assigned[w_all[chosen]] = True
    _explain_left_out(
        reason, assigned, chosen, arc_idx, w_all, j_all, places, firm_of_job, max_per_firm, active
    )

    chosen = chosen[np.argsort(w_all[chosen], kind="stable")]
    extra = [c for c in candidates.columns if c not in ("worker_id", "job_id", "score")]
    assign_df = pd.DataFrame(
        {
            "worker_id": worker_ids[w_all[chosen]],
            "job_id": job_ids[j_all[chosen]],
            "score": score_all[chosen],
        }
    )
    for c in extra:
        assign_df[c] = candidates[c].to_numpy()[chosen]
    assignments = assign_df.to_dict("records")
    for rec in assignments:  # plain Python ids for JSON
        rec["worker_id"] = _py(rec["worker_id"])
        rec["job_id"] = _py(rec["job_id"])
        rec["score"] = float(rec["score"])
    left = np.flatnonzero(~assigned)
    unassigned = [
        {"worker_id": _py(worker_ids[i]), "why": str(reason[i]) or REASON_TAKEN} for i in left
    ]

    stats: dict[str, Any] = {
        "mode": mode,
        "solver": solver,
        "status": status,
        "n_workers": int(n_workers),
        "n_jobs_open": int((places > 0).sum()),
        "places_open": int(places.sum()),
        "n_candidates": int(len(w_all)),
        "n_candidates_open": int(len(arc_idx)),
        "n_assigned": int(assigned.sum()),
        "n_unassigned": int(len(left)),
        "n_poverty_assigned": int((assigned & poverty).sum()),
        "total_score": float(score_all[chosen].sum()),
        "objective": float(weight_all[chosen].sum()),
        "poverty_priority": float(poverty_priority),
        "max_per_firm": max_per_firm,
        "time_s": round(time.perf_counter() - t0, 3),
    }
    if keep_groups:
        stats.update(
            n_groups=int(n_groups),
            groups_no_common_city=int(groups_no_city),
            groups_split_left_out=int(groups_split),
            rounds=int(rounds),
        )
    return AllocationResult(assignments=assignments, unassigned=unassigned, stats=stats)


def _py(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _restrict_groups_to_city(
    arc_idx: np.ndarray,
    w_all: np.ndarray,
    j_all: np.ndarray,
    score_all: np.ndarray,
    group_of: np.ndarray,
    city_of_job: np.ndarray,
    n_groups: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Cut group members' arcs to the group's best common city; return (arcs, groups dropped)."""
    g_arc = group_of[w_all[arc_idx]]
    member_arcs = arc_idx[g_arc >= 0]
    size = np.bincount(group_of[group_of >= 0], minlength=n_groups)
    df = pd.DataFrame(
        {
            "g": group_of[w_all[member_arcs]],
            "w": w_all[member_arcs],
            "city": city_of_job[j_all[member_arcs]],
            "score": score_all[member_arcs],
        }
    )
    best = df.groupby(["g", "city", "w"], sort=False)["score"].max().reset_index()
    per_city = best.groupby(["g", "city"]).agg(n=("w", "size"), total=("score", "sum"))
    per_city = per_city.reset_index()
    per_city = per_city[per_city["n"].to_numpy() == size[per_city["g"].to_numpy()]]
    per_city = per_city.sort_values(["g", "total", "city"], ascending=[True, False, True])
    choice = per_city.drop_duplicates("g")
    city_of_group = np.full(n_groups, None, dtype=object)
    city_of_group[choice["g"].to_numpy()] = choice["city"].to_numpy()
    dropped = np.flatnonzero(pd.isna(city_of_group))
    keep = g_arc < 0
    gm = g_arc >= 0
    keep[gm] = city_of_job[j_all[arc_idx[gm]]] == city_of_group[g_arc[gm]]
    return arc_idx[keep], dropped


def _split_groups(
    chosen: np.ndarray, w_all: np.ndarray, group_of: np.ndarray, active: np.ndarray, n: int
) -> np.ndarray:
    """Groups still active of which some but not all members were placed."""
    in_group = (group_of >= 0) & active
    size = np.bincount(group_of[in_group], minlength=n)
    placed_w = w_all[chosen]
    placed_g = group_of[placed_w]
    placed = np.bincount(placed_g[placed_g >= 0], minlength=n)
    return np.flatnonzero((placed > 0) & (placed < size))


def _explain_left_out(
    reason: np.ndarray,
    assigned: np.ndarray,
    chosen: np.ndarray,
    arc_idx: np.ndarray,
    w_all: np.ndarray,
    j_all: np.ndarray,
    places: np.ndarray,
    firm_of_job: np.ndarray | None,
    max_per_firm: int | None,
    active: np.ndarray,
) -> None:
    """Fill the reason of workers who had open candidate jobs but were not placed."""
    todo = ~assigned & (reason == "")
    if not todo.any() or max_per_firm is None:
        return
    # With a firm cap, say so when every still-open candidate job sits in a firm at its cap.
    used = np.bincount(j_all[chosen], minlength=len(places))
    job_has_room = used < places
    firm_codes, firm_idx = np.unique(firm_of_job, return_inverse=True)
    firm_used = np.bincount(firm_idx[j_all[chosen]], minlength=len(firm_codes))
    firm_full = firm_used >= max_per_firm
    arcs = arc_idx[todo[w_all[arc_idx]]]
    room = job_has_room[j_all[arcs]]
    blocked_by_cap = room & firm_full[firm_idx[j_all[arcs]]]
    open_not_capped = np.bincount(w_all[arcs[room & ~blocked_by_cap]], minlength=len(reason))
    capped = np.bincount(w_all[arcs[blocked_by_cap]], minlength=len(reason))
    reason[todo & (capped > 0) & (open_not_capped == 0)] = REASON_FIRM_CAP


def blocking_pairs(
    result: AllocationResult,
    candidates: pd.DataFrame,
    jobs: pd.DataFrame,
    workers: pd.DataFrame,
    *,
    poverty_priority: float = 0.0,
    max_per_firm: int | None = None,
) -> list[tuple[Any, Any]]:
    """List the candidate pairs that block ``result`` under the stable-mode preferences.

    A pair (worker, job) blocks when the worker ranks the job above its assignment (or has
    none) and the job's firm would take the worker under the choice rule of ``mode="stable"``:
    the job has a free place and the firm is below its cap, or the worker outranks the job's
    lowest holder, or (job not full, firm at its cap) the worker outranks the firm's lowest
    holder. An empty list means the allocation is stable. Used by the tests and benchmarks.
    """
    job_ids = jobs["job_id"].to_numpy()
    places = dict(zip(job_ids.tolist(), _places_left(jobs).tolist(), strict=True))
    firm = dict(zip(job_ids.tolist(), jobs["firm_id"].tolist(), strict=True))
    poverty = (
        dict(
            zip(
                workers["worker_id"].tolist(),
                workers["poverty_registered"].fillna(False).astype(bool).tolist(),
                strict=True,
            )
        )
        if "poverty_registered" in workers.columns
        else {}
    )
    score = {
        (w, j): s
        for w, j, s in zip(
            candidates["worker_id"].tolist(),
            candidates["job_id"].tolist(),
            candidates["score"].tolist(),
            strict=True,
        )
    }

    def job_key(w: Any, j: Any) -> tuple[float, Any]:
        # larger is better for the job: weight, then smaller worker_id
        return (score[(w, j)] + poverty_priority * poverty.get(w, False), -w)

    match = {a["worker_id"]: a["job_id"] for a in result.assignments}
    holders: dict[Any, list] = {}
    firm_holders: dict[Any, list] = {}
    for w, j in match.items():
        holders.setdefault(j, []).append(job_key(w, j))
        firm_holders.setdefault(firm[j], []).append(job_key(w, j))
    out = []
    for (w, j), s in score.items():
        if places[j] <= 0 or match.get(w) == j:
            continue
        cur = match.get(w)
        if cur is not None and (score[(w, cur)], -cur) >= (s, -j):
            continue  # worker prefers (or is indifferent to) the current job
        k = job_key(w, j)
        held = holders.get(j, [])
        fh = firm_holders.get(firm[j], [])
        if cur is not None and firm[cur] == firm[j]:
            # the worker would leave its current job at the same firm
            fh = [x for x in fh if x != job_key(w, cur)]
        if len(held) >= places[j]:
            takes = k > min(held)
        elif max_per_firm is not None and len(fh) >= max_per_firm:
            takes = k > min(fh)
        else:
            takes = True
        if takes:
            out.append((w, j))
    return out
