"""Job-fair (专场招聘) planning: which firms get a booth, who is invited, who meets whom when.

:func:`plan_fair` works in three steps.

1. **Firms.** Every firm with open jobs among the candidate pairs is valued by how well its
   jobs fit the county's workers: the sum of the best ``capacity`` worker scores at that firm
   (a worker counted once, at their best job there), where ``capacity = len(slots) ×
   desks_per_booth`` is how many interviews one booth can hold in the day. The best
   ``min(booths, max_firms)`` firms get booths 1, 2, … in that order.
2. **Invitations (requested interviews).** Workers are taken best match first (their best
   score at an invited firm; ties by ``worker_id``), up to ``max_workers``. A first pass gives
   every worker one request at the best firm that still has room; a second pass adds each
   invited worker's next best firms (one interview per firm, at the worker's best job there)
   up to ``interviews_per_worker``, best pairs first, while the firm has room. No firm is asked
   for more interviews than its booth can hold, and a worker asks for no more interviews than
   there are slots, so — the worker/firm graph being bipartite with degrees within those
   limits (König's edge-colouring theorem) — a clash-free timetable holding every request
   exists; the CP-SAT step finds it or, at its time limit, the best it has.
3. **Timetable (CP-SAT).** One Boolean per (request, slot). Each request in at most one slot;
   a worker in at most one interview per slot; a booth holds at most ``desks_per_booth``
   interviews per slot (each at its own desk — with the default of one desk, no booth has two
   interviews at once). The objective weighs a worker's best matches most (rank 1 first) and
   adds a large bonus for every invited worker who gets at least one interview. A greedy
   first-fit timetable is given as a hint, and is the fallback when the solver finds nothing
   in time. The status, objective, best bound and gap are reported.

A booth with several desks (``desks_per_booth``) stands for a firm that sends several
interviewers: 300 booths × 16 slots is 4,800 interview places, fewer than 5,000 workers, so a
large fair needs either more desks or fewer invitations, and the figures say which was used.

:func:`replan_fair` handles a cancelled firm or an absent worker: every other interview keeps
its booth, desk and time (they are fixed in the model unless ``allow_moves=True``, where they
are only heavily rewarded for staying), and the freed places go to requests left unscheduled
before and to replacement requests for workers who lost an interview with a cancelled firm
(their next best firms at the fair, kept in the plan as ``alternatives``). It returns the new
plan and the list of changes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date as Date
from datetime import datetime, timedelta
from datetime import time as Time
from typing import Any

import numpy as np
import pandas as pd

from matcher.allocation import (
    _places_left,
    _py,
    _require_columns,
    _unique_ids,
    _validate_candidates,
)

__all__ = [
    "FairPlan",
    "REASON_ABSENT",
    "REASON_CANCELLED",
    "REASON_FIRM_CANCELLED",
    "REASON_FIRM_FULL",
    "REASON_MAX_WORKERS",
    "REASON_MOVED",
    "REASON_NO_SLOT",
    "cancel_interview",
    "make_slots",
    "move_interview",
    "plan_fair",
    "replan_fair",
]

REASON_NO_SLOT = "面试时段已排满，未能安排"
REASON_FIRM_FULL = "受邀企业的面试名额已满"
REASON_MAX_WORKERS = "邀请人数已达上限"
REASON_FIRM_CANCELLED = "企业取消参会"
REASON_ABSENT = "求职者无法到场"
REASON_CANCELLED = "组织方取消了这场面试"
REASON_MOVED = "组织方调整了面试时间"
NOTE_TIME_LIMIT = "已达求解时限，返回目前找到的最好可行方案"
NOTE_GREEDY = "求解器在时限内未找到方案，返回贪心排出的可行方案"

#: Replacement options kept per worker for :func:`replan_fair`.
ALTERNATIVES_PER_WORKER = 5


@dataclass
class FairPlan:
    """A planned job fair.

    Attributes
    ----------
    firms : list of dict
        ``{"firm_id", "firm_name", "booth", "value", "n_requests"}``, by booth number.
    invitations : list of dict
        ``{"worker_id", "n_requested", "n_scheduled", "best_score"}`` per invited worker.
    requests : list of dict
        The requested interviews ``{"worker_id", "job_id", "firm_id", "score", "rank"}``
        (``rank`` 1 = the worker's best match at the fair).
    interviews : list of dict
        ``{"worker_id", "job_id", "firm_id", "booth", "desk", "slot", "start", "end"}``,
        sorted by booth, time and desk; ``start``/``end`` are ``datetime``.
    unscheduled : list of dict
        ``{"worker_id", "job_id", "why"}`` for requests without a time.
    not_invited : list of dict
        ``{"worker_id", "why"}``: workers who match an invited firm but got no request because
        the firms they match were full (or ``max_workers`` was reached).
    alternatives : list of dict
        Unrequested (worker, firm) options at the fair, ``{"worker_id", "job_id", "firm_id",
        "score"}``, used by :func:`replan_fair` for replacements.
    slots : list of (datetime, datetime)
    settings : dict
        ``booths``, ``desks_per_booth``, ``interviews_per_worker``, ``max_firms``,
        ``max_workers``.
    stats : dict
        ``status`` (CP-SAT: OPTIMAL / FEASIBLE / …), ``objective``, ``best_bound``, ``gap``,
        ``hit_time_limit``, ``note``, counts, ``scheduled_share`` and ``time_s``.
    """

    firms: list[dict[str, Any]]
    invitations: list[dict[str, Any]]
    requests: list[dict[str, Any]]
    interviews: list[dict[str, Any]]
    unscheduled: list[dict[str, Any]]
    not_invited: list[dict[str, Any]]
    alternatives: list[dict[str, Any]]
    slots: list[tuple[datetime, datetime]]
    settings: dict[str, Any]
    stats: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping; times as ISO 8601 strings. :meth:`from_dict` reads it back."""
        return {
            "firms": [dict(f) for f in self.firms],
            "invitations": [dict(i) for i in self.invitations],
            "requests": [dict(r) for r in self.requests],
            "interviews": [
                {**iv, "start": iv["start"].isoformat(), "end": iv["end"].isoformat()}
                for iv in self.interviews
            ],
            "unscheduled": [dict(u) for u in self.unscheduled],
            "not_invited": [dict(n) for n in self.not_invited],
            "alternatives": [dict(a) for a in self.alternatives],
            "slots": [[s.isoformat(), e.isoformat()] for s, e in self.slots],
            "settings": dict(self.settings),
            "stats": dict(self.stats),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FairPlan:
        """Rebuild a plan from :meth:`to_dict` output (e.g. read back from storage)."""
        missing = [
            k for k in ("firms", "requests", "interviews", "slots", "settings") if k not in data
        ]
        if missing:
            raise ValueError(f"a fair plan needs the keys {missing}; got {sorted(data)}.")
        return cls(
            firms=[dict(f) for f in data["firms"]],
            invitations=[dict(i) for i in data.get("invitations", [])],
            requests=[dict(r) for r in data["requests"]],
            interviews=[
                {**iv, "start": _as_datetime(iv["start"]), "end": _as_datetime(iv["end"])}
                for iv in data["interviews"]
            ],
            unscheduled=[dict(u) for u in data.get("unscheduled", [])],
            not_invited=[dict(n) for n in data.get("not_invited", [])],
            alternatives=[dict(a) for a in data.get("alternatives", [])],
            slots=[(_as_datetime(s), _as_datetime(e)) for s, e in data["slots"]],
            settings=dict(data["settings"]),
            stats=dict(data.get("stats", {})),
        )


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO date-time such as '2026-03-15T09:00'.") from None


# --------------------------------------------------------------------------- slots


def _as_date(value: Date | str) -> Date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, Date):
        return value
    try:
        return Date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"fair date {value!r} is not a date such as '2026-03-15'.") from None


def _as_time(value: Time | str, what: str) -> Time:
    if isinstance(value, Time):
        return value
    try:
        return Time.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a time of day such as '09:00'.") from None


def make_slots(
    date: Date | str, start_time: Time | str, end_time: Time | str, slot_minutes: int
) -> list[tuple[datetime, datetime]]:
    """Cut a fair day into back-to-back interview slots.

    Parameters
    ----------
    date : date or str
        The fair's day (``"2026-03-15"``).
    start_time, end_time : time or str
        Opening and closing time (``"09:00"``, ``"12:00"``); the end must be after the start.
    slot_minutes : int
        Length of one interview slot, 1 or more and not longer than the fair. Time left over
        at the end (when the fair is not a whole number of slots) is not used.

    Returns
    -------
    list of (datetime, datetime)

    Examples
    --------
    >>> [(s.strftime("%H:%M"), e.strftime("%H:%M"))
    ...  for s, e in make_slots("2026-03-15", "09:00", "10:00", 20)]
    [('09:00', '09:20'), ('09:20', '09:40'), ('09:40', '10:00')]
    """
    day = _as_date(date)
    start = datetime.combine(day, _as_time(start_time, "start_time"))
    end = datetime.combine(day, _as_time(end_time, "end_time"))
    if end <= start:
        raise ValueError(
            f"the fair ends at {end:%H:%M}, which is not after its start at {start:%H:%M}; "
            "end_time must be later than start_time."
        )
    if isinstance(slot_minutes, bool) or int(slot_minutes) != slot_minutes or slot_minutes < 1:
        raise ValueError(f"slot_minutes {slot_minutes!r} must be a whole number of minutes >= 1.")
    length = (end - start).total_seconds() / 60
    if slot_minutes > length:
        raise ValueError(
            f"a {slot_minutes}-minute slot is longer than the fair itself "
            f"({start:%H:%M}–{end:%H:%M}, {length:g} minutes)."
        )
    step = timedelta(minutes=int(slot_minutes))
    n = int(length // slot_minutes)
    return [(start + i * step, start + (i + 1) * step) for i in range(n)]


def _check_slots(slots: Sequence[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    if slots is None or len(slots) == 0:
        raise ValueError("slots is empty: a fair needs at least one interview slot.")
    out = []
    for i, pair in enumerate(slots):
        try:
            s, e = pair
        except (TypeError, ValueError):
            raise ValueError(
                f"slot {i} is {pair!r}; each slot must be a (start, end) pair."
            ) from None
        s, e = _as_datetime(s), _as_datetime(e)
        if e <= s:
            raise ValueError(f"slot {i} ends at {e:%H:%M}, not after its start at {s:%H:%M}.")
        if out and s < out[-1][1]:
            raise ValueError(
                f"slot {i} ({s:%H:%M}–{e:%H:%M}) starts before slot {i - 1} ends "
                f"({out[-1][1]:%H:%M}); slots must be in order and must not overlap."
            )
        out.append((s, e))
    return out


def _check_int(value: Any, name: str, minimum: int = 1, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        extra = " or None" if optional else ""
        raise ValueError(f"{name} {value!r} must be a whole number >= {minimum}{extra}.")


def _check_seconds(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"time_limit_s {value!r} must be a number of seconds > 0.")


# --------------------------------------------------------------------------- CP-SAT


def _request_weight(rank: int, score: float, k: int) -> int:
    # Rank dominates (a worker's best matches first), the score breaks ties between workers.
    return 100 * (k - rank + 1) + int(round(50 * score))


def _greedy(
    req_worker: np.ndarray,
    req_firm: np.ndarray,
    order: np.ndarray,
    n_slots: int,
    desks: int,
    fixed: dict[int, int],
) -> np.ndarray:
    """First-fit timetable: every request, in ``order``, to the first slot that fits."""
    slot_of = np.full(len(req_worker), -1, dtype=np.int64)
    worker_busy: dict[int, set[int]] = {}
    firm_load: dict[tuple[int, int], int] = {}
    for r, s in fixed.items():
        slot_of[r] = s
        worker_busy.setdefault(int(req_worker[r]), set()).add(s)
        firm_load[(int(req_firm[r]), s)] = firm_load.get((int(req_firm[r]), s), 0) + 1
    for r in order.tolist():
        if slot_of[r] >= 0:
            continue
        w, f = int(req_worker[r]), int(req_firm[r])
        busy = worker_busy.setdefault(w, set())
        for s in range(n_slots):
            if s not in busy and firm_load.get((f, s), 0) < desks:
                slot_of[r] = s
                busy.add(s)
                firm_load[(f, s)] = firm_load.get((f, s), 0) + 1
                break
    return slot_of


def _colour(
    req_worker: np.ndarray, req_firm: np.ndarray, n_slots: int, desks: int
) -> tuple[np.ndarray, np.ndarray]:
    """Clash-free timetable for *every* request, by bipartite edge colouring (König).

    A firm's requests are dealt round-robin to its desks; when no worker has more than
    ``n_slots`` requests and no desk more than ``n_slots``, the worker–desk multigraph is
    bipartite with maximum degree <= ``n_slots`` and its edges can be coloured with
    ``n_slots`` colours (slots) so that no two edges at a node share one. Each edge is coloured
    with a slot free at both ends, after swapping two slots along an alternating path if needed.
    Returns (slot, desk) per request, -1 where a degree bound is broken and no slot was found.
    """
    n = len(req_worker)
    slot_of = np.full(n, -1, dtype=np.int64)
    desk_of = np.zeros(n, dtype=np.int64)
    seen: dict[int, int] = {}
    desk_node: dict[tuple[int, int], int] = {}
    n_workers = int(req_worker.max()) + 1 if n else 0
    ends = []
    for r in range(n):
        f = int(req_firm[r])
        d = seen.get(f, 0) % desks
        seen[f] = seen.get(f, 0) + 1
        desk_of[r] = d + 1
        node = desk_node.setdefault((f, d), n_workers + len(desk_node))
        ends.append((int(req_worker[r]), node))
    at = [[-1] * n_slots for _ in range(n_workers + len(desk_node))]
    for r, (u, v) in enumerate(ends):
        au, av = at[u], at[v]
        a = next((c for c in range(n_slots) if au[c] < 0), -1)
        b = next((c for c in range(n_slots) if av[c] < 0), -1)
        if a < 0 or b < 0:
            continue  # a degree bound is broken: leave this one to the solver
        if av[a] >= 0:
            # Swap a/b along the path from v that starts with colour a; it cannot reach u.
            path, x, c = [], v, a
            while at[x][c] >= 0:
                e = at[x][c]
                path.append((e, c))
                x = ends[e][0] if ends[e][1] == x else ends[e][1]
                c = b if c == a else a
            for e, c in path:
                for node in ends[e]:
                    at[node][c] = -1
            for e, c in path:
                c2 = b if c == a else a
                slot_of[e] = c2
                for node in ends[e]:
                    at[node][c2] = e
        slot_of[r] = a
        au[a] = r
        av[a] = r
    return slot_of, desk_of


def _schedule(
    req_worker: np.ndarray,
    req_firm: np.ndarray,
    weight: np.ndarray,
    n_slots: int,
    desks: int,
    time_limit_s: float,
    *,
    fixed: dict[int, int] | None = None,
    keep: dict[int, int] | None = None,
    keep_bonus: int = 0,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Solve the timetable; returns (slot index per request or -1, solver stats)."""
    from ortools.sat.python import cp_model

    fixed = fixed or {}
    keep = keep or {}
    n = len(req_worker)
    if n == 0:
        return np.zeros(0, dtype=np.int64), {
            "status": "OPTIMAL",
            "objective": 0.0,
            "best_bound": 0.0,
            "gap": 0.0,
            "hit_time_limit": False,
            "note": "",
            "hint": "none",
        }
    cover_bonus = 10 * int(weight.max())
    # Hint: the colouring when nothing is pinned, else first-fit around the pinned ones.
    hint_name = "greedy"
    order = np.argsort(-weight, kind="stable")
    hint = _greedy(req_worker, req_firm, order, n_slots, desks, {**fixed, **keep})
    if not fixed and not keep:
        coloured, _ = _colour(req_worker, req_firm, n_slots, desks)
        if (coloured >= 0).sum() >= (hint >= 0).sum():
            hint, hint_name = coloured, "edge_colouring"
    hint_obj = _objective(hint, req_worker, weight, cover_bonus, keep, keep_bonus)

    t_start = time.perf_counter()
    # Interval model: one optional unit-length interval per request whose start is its slot.
    # A worker's intervals must not overlap; a booth's run on ``desks`` parallel desks
    # (cumulative of capacity ``desks``; no-overlap when it has one). Far fewer variables than
    # one Boolean per (request, slot), which matters at 15,000 requests × 16 slots.
    model = cp_model.CpModel()
    start = [model.new_int_var(0, n_slots - 1, f"t{r}") for r in range(n)]
    on = [model.new_bool_var(f"p{r}") for r in range(n)]
    iv = [model.new_optional_fixed_size_interval_var(start[r], 1, on[r], f"i{r}") for r in range(n)]
    by_worker: dict[int, list[int]] = {}
    by_firm: dict[int, list[int]] = {}
    for r in range(n):
        by_worker.setdefault(int(req_worker[r]), []).append(r)
        by_firm.setdefault(int(req_firm[r]), []).append(r)
    for rs in by_worker.values():
        if len(rs) > 1:
            model.add_no_overlap([iv[r] for r in rs])
    for rs in by_firm.values():
        if len(rs) <= desks:
            continue
        if desks == 1:
            model.add_no_overlap([iv[r] for r in rs])
        else:
            model.add_cumulative([iv[r] for r in rs], [1] * len(rs), desks)
    for r, slot in fixed.items():
        model.add(start[r] == slot)
        model.add(on[r] == 1)
    obj_vars: list[Any] = list(on)
    obj_coefs: list[int] = [int(v) for v in weight]
    covered = set(req_worker[hint >= 0].tolist())
    for w, rs in by_worker.items():
        y = model.new_bool_var(f"y{w}")
        model.add_bool_or([on[r] for r in rs] + [y.negated()])
        obj_vars.append(y)
        obj_coefs.append(cover_bonus)
        model.add_hint(y, int(w in covered))
    for r, slot in keep.items():
        stays = model.new_bool_var(f"k{r}")
        model.add(start[r] == slot).only_enforce_if(stays)
        model.add_implication(stays, on[r])
        obj_vars.append(stays)
        obj_coefs.append(keep_bonus)
        model.add_hint(stays, int(hint[r] == slot))
    for r in range(n):
        model.add_hint(on[r], int(hint[r] >= 0))
        model.add_hint(start[r], int(max(hint[r], 0)))
    model.maximize(cp_model.LinearExpr.weighted_sum(obj_vars, obj_coefs))

    t_build = time.perf_counter() - t_start
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit_s)
    solver.parameters.num_workers = max(1, min(8, os.cpu_count() or 1))
    t_solve = time.perf_counter()
    status = solver.solve(model)
    t_solve = time.perf_counter() - t_solve
    name = solver.status_name(status)
    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    note = ""
    if found and solver.objective_value >= hint_obj:
        slot_of = np.asarray(
            [solver.value(start[r]) if solver.boolean_value(on[r]) else -1 for r in range(n)],
            dtype=np.int64,
        )
        objective = solver.objective_value
        if status != cp_model.OPTIMAL:
            note = NOTE_TIME_LIMIT
    else:  # nothing better found in time: the hint is feasible by construction
        slot_of = hint
        objective = hint_obj
        note = NOTE_TIME_LIMIT if found else NOTE_GREEDY
    bound = float(solver.best_objective_bound) if found else None
    gap = abs(bound - objective) / max(1.0, abs(bound)) if found else None
    return slot_of, {
        "status": name,
        "objective": float(objective),
        "best_bound": bound,
        "gap": None if gap is None else round(float(gap), 6),
        "hit_time_limit": status != cp_model.OPTIMAL,
        "note": note,
        "hint": hint_name,
        "hint_scheduled": int((hint >= 0).sum()),
        "build_s": round(t_build, 3),
        "solve_s": round(t_solve, 3),
    }


def _objective(slot_of, req_worker, weight, cover_bonus, keep, keep_bonus) -> float:
    on = slot_of >= 0
    covered = len(set(req_worker[on].tolist()))
    kept = sum(1 for r, s in keep.items() if slot_of[r] == s)
    return float(weight[on].sum() + cover_bonus * covered + keep_bonus * kept)


# --------------------------------------------------------------------------- planning


def plan_fair(
    candidates: pd.DataFrame,
    jobs: pd.DataFrame,
    workers: pd.DataFrame,
    firms: pd.DataFrame,
    *,
    booths: int,
    slots: Sequence[tuple[datetime, datetime]],
    max_firms: int | None = None,
    max_workers: int | None = None,
    interviews_per_worker: int = 3,
    desks_per_booth: int = 1,
    time_limit_s: float = 20,
) -> FairPlan:
    """Choose the firms, invite the workers and timetable their interviews.

    Parameters
    ----------
    candidates : DataFrame
        ``worker_id, job_id, score`` — the engine's candidate pairs (hard rules applied).
    jobs : DataFrame
        ``job_id, firm_id, headcount, hired_count`` (optionally ``status``); only jobs with
        places left count.
    workers : DataFrame
        ``worker_id`` of the county's registered workers (the people who may be invited).
    firms : DataFrame
        ``firm_id`` and optionally ``firm_name``.
    booths : int
        Booths at the fair (>= 1); one firm per booth.
    slots : list of (datetime, datetime)
        Interview slots in order, not overlapping (see :func:`make_slots`).
    max_firms, max_workers : int, optional
        Caps on the firms invited (besides ``booths``) and on the workers invited.
    interviews_per_worker : int, default 3
        Interviews requested per worker (at different firms); cut to ``len(slots)`` when the
        fair has fewer slots (``settings`` records the number used).
    desks_per_booth : int, default 1
        Interviews a booth holds at the same time (interviewers the firm sends).
    time_limit_s : float, default 20
        CP-SAT time limit; at the limit the best plan found is returned and the stats say so.

    Returns
    -------
    FairPlan

    Raises
    ------
    ValueError
        Zero booths, no slots or overlapping/back-to-front slots, no workers, no open jobs,
        empty or unknown candidate pairs, a job whose firm is not in ``firms``.
    """
    t0 = time.perf_counter()
    _check_int(booths, "booths")
    slots = _check_slots(slots)
    _check_int(interviews_per_worker, "interviews_per_worker")
    _check_int(desks_per_booth, "desks_per_booth")
    _check_int(max_firms, "max_firms", optional=True)
    _check_int(max_workers, "max_workers", optional=True)
    # A worker can have one interview per slot: a short fair asks for fewer.
    interviews_per_worker = min(interviews_per_worker, len(slots))
    _check_seconds(time_limit_s)
    _require_columns(workers, "workers", ("worker_id",))
    _require_columns(jobs, "jobs", ("job_id", "firm_id", "headcount", "hired_count"))
    _require_columns(firms, "firms", ("firm_id",))
    if len(workers) == 0:
        raise ValueError("workers is empty: the county has no registered workers to invite.")
    if len(jobs) == 0:
        raise ValueError("jobs is empty: there are no jobs to hold interviews for.")
    worker_ids = _unique_ids(workers, "workers", "worker_id")
    job_ids = _unique_ids(jobs, "jobs", "job_id")
    firm_ids = _unique_ids(firms, "firms", "firm_id")
    places = _places_left(jobs)
    if places.sum() == 0:
        raise ValueError("no open jobs: every job is filled, closed or has no places left.")
    job_firm = pd.Index(firm_ids).get_indexer(jobs["firm_id"].to_numpy())
    if (job_firm < 0).any():
        bad = jobs.loc[job_firm < 0, "firm_id"].unique()[:5].tolist()
        raise ValueError(f"jobs name firm(s) {bad} that are not in the firms table.")
    w, j, score = _validate_candidates(candidates, worker_ids, job_ids)

    keep = places[j] > 0
    if not keep.any():
        raise ValueError(
            "none of the candidate pairs is on a job with places left; no firm can be invited."
        )
    pairs = pd.DataFrame({"w": w[keep], "j": j[keep], "f": job_firm[j[keep]], "score": score[keep]})
    pairs["job_id"] = job_ids[pairs["j"].to_numpy()]
    # One interview per (worker, firm): at the worker's best job there.
    pairs = pairs.sort_values(["w", "f", "score", "job_id"], ascending=[True, True, False, True])
    best = pairs.drop_duplicates(["w", "f"]).reset_index(drop=True)

    n_slots = len(slots)
    capacity = n_slots * desks_per_booth
    n_booths = min(booths, max_firms) if max_firms else booths
    top = best.sort_values(["f", "score"], ascending=[True, False])
    top = top[top.groupby("f").cumcount() < capacity]
    value = top.groupby("f")["score"].sum()
    value = value.reset_index().assign(fid=lambda d: firm_ids[d["f"].to_numpy()])
    value = value.sort_values(["score", "fid"], ascending=[False, True]).head(n_booths)
    chosen_f = value["f"].to_numpy()
    booth_of = {int(f): b + 1 for b, f in enumerate(chosen_f)}

    at_fair = best[best["f"].isin(chosen_f)]
    at_fair = at_fair.assign(wid=worker_ids[at_fair["w"].to_numpy()])
    at_fair = at_fair.sort_values(["score", "wid", "f"], ascending=[False, True, True])
    worker_best = at_fair.drop_duplicates("w")  # workers in order of their best match

    # Pass 1: one request per worker, at the best firm with room.
    load = {int(f): 0 for f in chosen_f}
    per_worker = at_fair.groupby("w", sort=False)
    options = {
        int(k): list(zip(g["f"].tolist(), g["j"].tolist(), g["score"].tolist(), strict=True))
        for k, g in per_worker
    }
    requested: dict[int, list[tuple[int, int, float]]] = {}
    not_invited = []
    for wi in worker_best["w"].tolist():
        if max_workers is not None and len(requested) >= max_workers:
            not_invited.append({"worker_id": _py(worker_ids[wi]), "why": REASON_MAX_WORKERS})
            continue
        for f, jj, s in options[wi]:
            if load[f] < capacity:
                requested[wi] = [(f, jj, s)]
                load[f] += 1
                break
        else:
            not_invited.append({"worker_id": _py(worker_ids[wi]), "why": REASON_FIRM_FULL})
    # Pass 2: further firms for the invited, best pairs first, while firms have room.
    extra = at_fair[at_fair["w"].isin(list(requested))]
    alternatives = []
    for wi, f, jj, s in zip(
        extra["w"].tolist(),
        extra["f"].tolist(),
        extra["j"].tolist(),
        extra["score"].tolist(),
        strict=True,
    ):
        mine = requested[wi]
        if any(f == g for g, _, _ in mine):
            continue
        if len(mine) < interviews_per_worker and load[f] < capacity:
            mine.append((f, jj, s))
            load[f] += 1
        else:
            alternatives.append((wi, f, jj, s))

    # Flatten the requests, ranked within each worker.
    rw, rf, rj, rs, rk = [], [], [], [], []
    for wi, mine in requested.items():
        mine.sort(key=lambda t: (-t[2], _py(job_ids[t[1]])))
        for rank, (f, jj, s) in enumerate(mine, start=1):
            rw.append(wi)
            rf.append(f)
            rj.append(jj)
            rs.append(s)
            rk.append(rank)
    req_worker = np.asarray(rw, dtype=np.int64)
    req_firm = np.asarray(rf, dtype=np.int64)
    weight = np.asarray(
        [_request_weight(k, s, interviews_per_worker) for k, s in zip(rk, rs, strict=True)],
        dtype=np.int64,
    )
    t_model = time.perf_counter()
    remaining = max(1.0, time_limit_s - (t_model - t0))
    slot_of, sstats = _schedule(req_worker, req_firm, weight, n_slots, desks_per_booth, remaining)

    names = _firm_names(firms, jobs)
    requests = [
        {
            "worker_id": _py(worker_ids[a]),
            "job_id": _py(job_ids[jj]),
            "firm_id": _py(firm_ids[f]),
            "score": float(s),
            "rank": int(k),
        }
        for a, f, jj, s, k in zip(rw, rf, rj, rs, rk, strict=True)
    ]
    settings = {
        "booths": int(booths),
        "desks_per_booth": int(desks_per_booth),
        "interviews_per_worker": int(interviews_per_worker),
        "max_firms": max_firms,
        "max_workers": max_workers,
    }
    firm_rows = [
        {
            "firm_id": _py(firm_ids[f]),
            "firm_name": names.get(_py(firm_ids[f]), ""),
            "booth": booth_of[int(f)],
            "value": round(float(v), 6),
        }
        for f, v in zip(chosen_f.tolist(), value["score"].tolist(), strict=True)
    ]
    alt_rows = _trim_alternatives(alternatives, worker_ids, job_ids, firm_ids)
    plan = _assemble(
        firm_rows, requests, slot_of, slots, settings, not_invited, alt_rows, desk_fixed={}
    )
    plan.stats.update(sstats)
    plan.stats["time_s"] = round(time.perf_counter() - t0, 3)
    plan.stats["model_time_s"] = round(time.perf_counter() - t_model, 3)
    return plan


def _firm_names(firms: pd.DataFrame, jobs: pd.DataFrame) -> dict[Any, str]:
    """Firm names from the firms table, else from the jobs table, else none."""
    table = firms if "firm_name" in firms.columns else jobs
    if "firm_name" not in table.columns:
        return {}
    named = table.drop_duplicates("firm_id")
    return dict(
        zip(
            named["firm_id"].tolist(),
            named["firm_name"].fillna("").astype(str).tolist(),
            strict=True,
        )
    )


def _trim_alternatives(alternatives, worker_ids, job_ids, firm_ids) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    count: dict[int, int] = {}
    for wi, f, jj, s in alternatives:  # already best first
        if count.get(wi, 0) >= ALTERNATIVES_PER_WORKER:
            continue
        count[wi] = count.get(wi, 0) + 1
        out.append(
            {
                "worker_id": _py(worker_ids[wi]),
                "job_id": _py(job_ids[jj]),
                "firm_id": _py(firm_ids[f]),
                "score": float(s),
            }
        )
    return out


def _assemble(
    firm_rows: list[dict[str, Any]],
    requests: list[dict[str, Any]],
    slot_of: np.ndarray,
    slots: list[tuple[datetime, datetime]],
    settings: dict[str, Any],
    not_invited: list[dict[str, Any]],
    alternatives: list[dict[str, Any]],
    *,
    desk_fixed: dict[int, int],
    unscheduled_why: dict[int, str] | None = None,
) -> FairPlan:
    """Build the FairPlan from requests and their slots; desks are numbered per booth-slot."""
    booth = {f["firm_id"]: f["booth"] for f in firm_rows}
    desks = settings["desks_per_booth"]
    taken: dict[tuple[int, int], set[int]] = {}
    for r, d in desk_fixed.items():
        taken.setdefault((booth[requests[r]["firm_id"]], int(slot_of[r])), set()).add(d)
    interviews, unscheduled = [], []
    order = sorted(range(len(requests)), key=lambda r: requests[r]["worker_id"])
    for r in order:
        req = requests[r]
        s = int(slot_of[r])
        if s < 0:
            why = (unscheduled_why or {}).get(r, REASON_NO_SLOT)
            unscheduled.append(
                {
                    "worker_id": req["worker_id"],
                    "job_id": req["job_id"],
                    "firm_id": req["firm_id"],
                    "why": why,
                }
            )
            continue
        b = booth[req["firm_id"]]
        used = taken.setdefault((b, s), set())
        d = desk_fixed.get(r)
        if d is None:
            d = next(k for k in range(1, desks + 1) if k not in used)
            used.add(d)
        interviews.append(
            {
                "worker_id": req["worker_id"],
                "job_id": req["job_id"],
                "firm_id": req["firm_id"],
                "booth": b,
                "desk": d,
                "slot": s,
                "start": slots[s][0],
                "end": slots[s][1],
            }
        )
    interviews.sort(key=lambda iv: (iv["booth"], iv["slot"], iv["desk"]))
    n_req = {f["firm_id"]: 0 for f in firm_rows}
    per_worker: dict[Any, dict[str, Any]] = {}
    for r, req in enumerate(requests):
        n_req[req["firm_id"]] += 1
        inv = per_worker.setdefault(
            req["worker_id"],
            {
                "worker_id": req["worker_id"],
                "n_requested": 0,
                "n_scheduled": 0,
                "best_score": req["score"],
            },
        )
        inv["n_requested"] += 1
        inv["n_scheduled"] += int(slot_of[r] >= 0)
        inv["best_score"] = max(inv["best_score"], req["score"])
    firms_out = [{**f, "n_requests": n_req[f["firm_id"]]} for f in firm_rows]
    invitations = sorted(per_worker.values(), key=lambda i: i["worker_id"])
    n_sched = len(interviews)
    stats = {
        "n_firms": len(firms_out),
        "n_invited": len(invitations),
        "n_invited_with_interview": sum(1 for i in invitations if i["n_scheduled"] > 0),
        "n_requested": len(requests),
        "n_scheduled": n_sched,
        "scheduled_share": round(n_sched / len(requests), 6) if requests else 1.0,
        "n_not_invited": len(not_invited),
        "interview_places": len(firms_out) * len(slots) * desks,
    }
    return FairPlan(
        firms=firms_out,
        invitations=invitations,
        requests=requests,
        interviews=interviews,
        unscheduled=unscheduled,
        not_invited=not_invited,
        alternatives=alternatives,
        slots=list(slots),
        settings=dict(settings),
        stats=stats,
    )


# --------------------------------------------------------------------------- replanning


def replan_fair(
    plan: FairPlan | dict[str, Any],
    *,
    cancelled_firms: Iterable[Any] = (),
    absent_workers: Iterable[Any] = (),
    allow_moves: bool = False,
    time_limit_s: float = 20,
) -> tuple[FairPlan, list[dict[str, Any]]]:
    """Re-plan after firms cancel or workers cannot come, changing as little as possible.

    Parameters
    ----------
    plan : FairPlan or dict
        The current plan (or its :meth:`FairPlan.to_dict`).
    cancelled_firms : iterable of firm ids
        Firms that will not come; their booths stay empty and their interviews are dropped.
    absent_workers : iterable of worker ids
        Invited workers who cannot come; their interviews are dropped.
    allow_moves : bool, default False
        False: every other interview keeps its booth, desk and time (fixed in the model).
        True: they may move when that lets more interviews in, but each one that stays earns
        a bonus larger than any new interview, so they move only where nothing is lost.
    time_limit_s : float, default 20
        CP-SAT time limit.

    Returns
    -------
    (FairPlan, list of dict)
        The new plan and the changes, each ``{"change": "removed" | "added" | "moved",
        "worker_id", "job_id", "firm_id", "booth", "start", "end", "why"}`` (``moved`` rows
        also carry ``from_start``, ``from_desk``).
    """
    t0 = time.perf_counter()
    if isinstance(plan, dict):
        plan = FairPlan.from_dict(plan)
    if not isinstance(plan, FairPlan):
        raise ValueError(f"plan must be a FairPlan or its dict, got {type(plan).__name__}.")
    _check_seconds(time_limit_s)
    cancelled = set(cancelled_firms)
    absent = set(absent_workers)
    known_firms = {f["firm_id"] for f in plan.firms}
    known_workers = {r["worker_id"] for r in plan.requests}
    if cancelled - known_firms:
        raise ValueError(
            f"firm(s) {sorted(cancelled - known_firms, key=str)[:5]} are not at this fair; "
            f"its firms are {sorted(known_firms, key=str)[:10]}…"
        )
    if absent - known_workers:
        raise ValueError(
            f"worker(s) {sorted(absent - known_workers, key=str)[:5]} are not invited to this fair."
        )
    k = plan.settings["interviews_per_worker"]
    desks = plan.settings["desks_per_booth"]
    slots = plan.slots
    n_slots = len(slots)
    slot_index = {s: i for i, (s, _) in enumerate(slots)}
    booth = {f["firm_id"]: f["booth"] for f in plan.firms}
    old = {(iv["worker_id"], iv["firm_id"]): iv for iv in plan.interviews}

    changes: list[dict[str, Any]] = []
    for iv in plan.interviews:
        if iv["firm_id"] in cancelled or iv["worker_id"] in absent:
            why = REASON_FIRM_CANCELLED if iv["firm_id"] in cancelled else REASON_ABSENT
            changes.append({"change": "removed", **_public(iv), "why": why})

    # The requests that remain, then replacements for those who lost a cancelled firm.
    requests = [
        dict(r)
        for r in plan.requests
        if r["firm_id"] not in cancelled and r["worker_id"] not in absent
    ]
    capacity = n_slots * desks
    load: dict[Any, int] = {}
    for r in requests:
        load[r["firm_id"]] = load.get(r["firm_id"], 0) + 1
    have: dict[Any, set] = {}
    for r in requests:
        have.setdefault(r["worker_id"], set()).add(r["firm_id"])
    lost = {
        r["worker_id"]
        for r in plan.requests
        if r["firm_id"] in cancelled and r["worker_id"] not in absent
    }
    alternatives = []
    for a in plan.alternatives:
        wid, fid = a["worker_id"], a["firm_id"]
        if fid in cancelled or wid in absent:
            continue
        mine = have.setdefault(wid, set())
        if wid in lost and len(mine) < k and fid not in mine and load.get(fid, 0) < capacity:
            requests.append(
                {
                    "worker_id": wid,
                    "job_id": a["job_id"],
                    "firm_id": fid,
                    "score": a["score"],
                    "rank": 0,
                    "replacement": True,
                }
            )
            mine.add(fid)
            load[fid] = load.get(fid, 0) + 1
        else:
            alternatives.append(dict(a))
    # Re-rank within each worker (best first) so the weights stay meaningful.
    by_worker: dict[Any, list[dict[str, Any]]] = {}
    for r in requests:
        by_worker.setdefault(r["worker_id"], []).append(r)
    for rs in by_worker.values():
        rs.sort(key=lambda r: (-r["score"], str(r["job_id"])))
        for rank, r in enumerate(rs, start=1):
            r["rank"] = rank

    wid_index = {w: i for i, w in enumerate(by_worker)}
    fid_index = {f: i for i, f in enumerate(booth)}
    req_worker = np.asarray([wid_index[r["worker_id"]] for r in requests], dtype=np.int64)
    req_firm = np.asarray([fid_index[r["firm_id"]] for r in requests], dtype=np.int64)
    weight = np.asarray(
        [_request_weight(r["rank"], r["score"], k) for r in requests], dtype=np.int64
    )
    stay: dict[int, int] = {}
    for i, r in enumerate(requests):
        iv = old.get((r["worker_id"], r["firm_id"]))
        if iv is not None and iv["job_id"] == r["job_id"]:
            stay[i] = slot_index[iv["start"]]
    if allow_moves:
        bonus = 10 * (int(weight.max()) if len(weight) else 1) * 10
        slot_of, sstats = _schedule(
            req_worker, req_firm, weight, n_slots, desks, time_limit_s, keep=stay, keep_bonus=bonus
        )
    else:
        slot_of, sstats = _schedule(
            req_worker, req_firm, weight, n_slots, desks, time_limit_s, fixed=stay
        )
    desk_fixed = {}
    for i, s in stay.items():
        if slot_of[i] == s:
            desk_fixed[i] = old[(requests[i]["worker_id"], requests[i]["firm_id"])]["desk"]
    firm_rows = [
        {key: f[key] for key in ("firm_id", "firm_name", "booth", "value")}
        for f in plan.firms
        if f["firm_id"] not in cancelled
    ]
    new_plan = _assemble(
        firm_rows,
        requests,
        slot_of,
        slots,
        plan.settings,
        [n for n in plan.not_invited if n["worker_id"] not in absent],
        alternatives,
        desk_fixed=desk_fixed,
    )
    for r in requests:
        r.pop("replacement", None)

    new = {(iv["worker_id"], iv["firm_id"]): iv for iv in new_plan.interviews}
    for key, iv in new.items():
        before = old.get(key)
        if before is None or before["job_id"] != iv["job_id"]:
            changes.append({"change": "added", **_public(iv), "why": "空出名额后新增面试"})
        elif (before["start"], before["desk"]) != (iv["start"], iv["desk"]):
            changes.append(
                {
                    "change": "moved",
                    **_public(iv),
                    "from_start": before["start"],
                    "from_desk": before["desk"],
                    "why": "为腾出时段安排更多面试而调整",
                }
            )
    for key, before in old.items():
        if key not in new and before["firm_id"] not in cancelled and key[0] not in absent:
            changes.append({"change": "removed", **_public(before), "why": REASON_NO_SLOT})
    new_plan.stats.update(sstats)
    new_plan.stats["time_s"] = round(time.perf_counter() - t0, 3)
    new_plan.stats["n_changes"] = len(changes)
    new_plan.stats["cancelled_firms"] = sorted(cancelled, key=str)
    new_plan.stats["absent_workers"] = sorted(absent, key=str)
    return new_plan, changes


def _public(iv: dict[str, Any]) -> dict[str, Any]:
    return {k: iv[k] for k in ("worker_id", "job_id", "firm_id", "booth", "desk", "start", "end")}


# --------------------------------------------------------------------------- hand edits


def _current_slots(plan: FairPlan) -> tuple[list[int], dict[int, int], dict[int, str]]:
    """Each request's slot (-1 when unscheduled), the desks it holds, and why not scheduled."""
    slot_index = {start: i for i, (start, _) in enumerate(plan.slots)}
    at = {(iv["worker_id"], iv["firm_id"], iv["job_id"]): iv for iv in plan.interviews}
    why_not = {
        (u["worker_id"], u["job_id"]): u.get("why", REASON_NO_SLOT) for u in plan.unscheduled
    }
    slot_of: list[int] = []
    desk_fixed: dict[int, int] = {}
    why: dict[int, str] = {}
    for r, req in enumerate(plan.requests):
        iv = at.get((req["worker_id"], req["firm_id"], req["job_id"]))
        if iv is None:
            slot_of.append(-1)
            why[r] = why_not.get((req["worker_id"], req["job_id"]), REASON_NO_SLOT)
        else:
            slot_of.append(slot_index[iv["start"]])
            desk_fixed[r] = iv["desk"]
    return slot_of, desk_fixed, why


def _rebuild(
    plan: FairPlan,
    requests: list[dict[str, Any]],
    slot_of: list[int],
    desk_fixed: dict[int, int],
    why: dict[int, str],
) -> FairPlan:
    firm_rows = [{k: f[k] for k in ("firm_id", "firm_name", "booth", "value")} for f in plan.firms]
    new = _assemble(
        firm_rows,
        requests,
        np.asarray(slot_of, dtype=np.int64),
        plan.slots,
        plan.settings,
        plan.not_invited,
        plan.alternatives,
        desk_fixed=desk_fixed,
        unscheduled_why=why,
    )
    new.stats = {**plan.stats, **new.stats}
    return new


def _interview_request(plan: FairPlan, worker_id: Any, firm_id: Any) -> int:
    scheduled = {(iv["worker_id"], iv["firm_id"], iv["job_id"]) for iv in plan.interviews}
    for r, req in enumerate(plan.requests):
        if (req["worker_id"], req["firm_id"], req["job_id"]) in scheduled and (
            req["worker_id"],
            req["firm_id"],
        ) == (worker_id, firm_id):
            return r
    raise ValueError(f"求职者 {worker_id} 在企业 {firm_id} 没有已排定的面试。")


def move_interview(
    plan: FairPlan | dict[str, Any], worker_id: Any, firm_id: Any, start: datetime | str
) -> tuple[FairPlan, dict[str, Any]]:
    """Move one interview to another time at the same booth, keeping every other one.

    Refused (``ValueError``, in Chinese) when the worker has another interview then, or the
    booth has no free desk then: a hand edit never makes a clash.

    Returns
    -------
    (FairPlan, dict)
        The new plan and the change (``"change": "moved"``, with ``from_start``).
    """
    plan = plan if isinstance(plan, FairPlan) else FairPlan.from_dict(plan)
    r = _interview_request(plan, worker_id, firm_id)
    start = _as_datetime(start)
    starts = [s for s, _ in plan.slots]
    if start not in starts:
        raise ValueError(f"{start:%H:%M} 不是本场招聘会的面试时段。")
    target = starts.index(start)
    slot_of, desk_fixed, why = _current_slots(plan)
    before = next(
        iv for iv in plan.interviews if (iv["worker_id"], iv["firm_id"]) == (worker_id, firm_id)
    )
    if slot_of[r] == target:
        raise ValueError(f"这场面试已经排在 {start:%H:%M}。")
    booth = before["booth"]
    for iv in plan.interviews:
        if iv is before or iv["start"] != start:
            continue
        if iv["worker_id"] == worker_id:
            raise ValueError(f"求职者在 {start:%H:%M} 已有另一场面试（展位 {iv['booth']}）。")
    used = sum(
        1
        for iv in plan.interviews
        if iv is not before and iv["booth"] == booth and iv["start"] == start
    )
    if used >= plan.settings["desks_per_booth"]:
        raise ValueError(f"展位 {booth} 在 {start:%H:%M} 已排满。")
    slot_of[r] = target
    desk_fixed.pop(r, None)
    new = _rebuild(plan, [dict(q) for q in plan.requests], slot_of, desk_fixed, why)
    after = next(
        iv for iv in new.interviews if (iv["worker_id"], iv["firm_id"]) == (worker_id, firm_id)
    )
    change = {
        "change": "moved",
        **_public(after),
        "from_start": before["start"],
        "from_desk": before["desk"],
        "why": REASON_MOVED,
    }
    return new, change


def cancel_interview(
    plan: FairPlan | dict[str, Any], worker_id: Any, firm_id: Any
) -> tuple[FairPlan, dict[str, Any]]:
    """Cancel one interview (its request too, so a re-plan does not book it again).

    Every other interview keeps its booth, desk and time; :func:`replan_fair` with no other
    change then gives the freed place to a request left unscheduled.
    """
    plan = plan if isinstance(plan, FairPlan) else FairPlan.from_dict(plan)
    r = _interview_request(plan, worker_id, firm_id)
    before = next(
        iv for iv in plan.interviews if (iv["worker_id"], iv["firm_id"]) == (worker_id, firm_id)
    )
    slot_of, desk_fixed, why = _current_slots(plan)
    requests = [dict(q) for i, q in enumerate(plan.requests) if i != r]
    keep = [i for i in range(len(plan.requests)) if i != r]
    renumber = {old: new for new, old in enumerate(keep)}
    new = _rebuild(
        plan,
        requests,
        [slot_of[i] for i in keep],
        {renumber[i]: d for i, d in desk_fixed.items() if i != r},
        {renumber[i]: w for i, w in why.items() if i != r},
    )
    return new, {"change": "removed", **_public(before), "why": REASON_CANCELLED}
