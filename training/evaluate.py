"""Offline evaluation of the matching engine on a held-out split of a demo world.

What is measured
----------------
*Split.* Workers are split at random into a training and a test group
(:func:`split_events`); the ranker learns only from the training workers' pairs recommended
before a cutoff date (the 80th percentile of recommendation dates), and everything below is
measured on the test workers, the retention metrics on their pairs recommended after the
cutoff. The engine under test indexes all open jobs and only the test workers.

*Relevance.* The graded relevance of a pair is its ground-truth success probability
:func:`data.outcomes.true_pair_utility`: the noise-free chance that recommending the pair
ends in six months of employment, computed from the world's hidden truth (true occupation,
experience, reliability, work quality) and 0 where the world's own hard rules forbid a hire.
The engine never sees that truth.

*Ranking metrics*, for jobs recommended to a sample of test workers (among all open jobs)
and for workers recommended to a sample of open jobs (among all test workers):

* NDCG@10 with linear gain: ``sum(u_i / log2(i + 2))`` over the top 10, divided by the same
  sum over the 10 best candidates;
* Recall@50: the share of the 10 best candidates (by true utility, utility > 0) found in the
  top 50;
* violations@10: pairs in the top 10 that break a hard rule, checked with the world's own
  implementation (:func:`data.outcomes.hard_rules_ok`), independent of :mod:`matcher.rules`.

*Methods*, all computed in the same run on the same candidates: ``random``; ``tfidf``
(character n-gram TF-IDF cosine only); ``tfidf+rules``; ``embeddings+rules`` (the encoder's
cosine); ``hybrid+rules`` (the engine's retrieval score without the ranker); and
``full engine`` (:meth:`MatchingEngine.recommend_jobs` / ``recommend_workers``).

*Coding* (independent world only, :func:`coding_accuracy`): the share of workers whose main
trade the engine read from their own words (``在老家踩过几年缝纫机，会开叉车``) as the world's true
main trade, exactly and within the minor group, and the share of job titles coded right.

*Retention prediction*: AUC, Brier score (against a constant predictor at the training base
rate), expected calibration error and a reliability table (10 equal-width bins) of
``p_success`` against the observed ``retained_6m`` label.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

from matcher.engine import MatchingEngine
from matcher.ranker import label_pairs
from matcher.rules import jobs_mask_for_worker, workers_mask_for_job

METHODS: tuple[str, ...] = (
    "random",
    "tfidf",
    "tfidf+rules",
    "embeddings+rules",
    "hybrid+rules",
    "full engine",
)
BASELINE = "tfidf+rules"
FULL = "full engine"


# ---------------------------------------------------------------------------------------
# split


@dataclass
class Split:
    """Which workers and events train, which test."""

    train_workers: np.ndarray
    test_workers: np.ndarray
    cutoff: pd.Timestamp | None
    train_events: pd.DataFrame
    test_events: pd.DataFrame


def split_events(
    workers: pd.DataFrame,
    events: pd.DataFrame,
    *,
    test_fraction: float = 0.2,
    seed: int = 0,
    cutoff_quantile: float = 0.8,
) -> Split:
    """Split by worker (a random ``test_fraction`` of workers) and by time (events of pairs
    first recommended before / after the ``cutoff_quantile`` of recommendation dates)."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction {test_fraction!r} must lie strictly between 0 and 1")
    ids = workers["worker_id"].to_numpy(dtype=np.int64)
    rng = np.random.default_rng(seed)
    is_test = rng.random(len(ids)) < test_fraction
    if is_test.all() or not is_test.any():
        is_test[: max(1, len(ids) // 5)] = True
        is_test[max(1, len(ids) // 5) :] = False
    train_ids, test_ids = ids[~is_test], ids[is_test]
    cutoff = None
    first = None
    if len(events) and "date" in events.columns:
        dates = pd.to_datetime(events["date"])
        first = dates.groupby([events["worker_id"], events["job_id"]]).transform("min")
        cutoff = first.quantile(cutoff_quantile)
    in_train = events["worker_id"].isin(train_ids)
    in_test = events["worker_id"].isin(test_ids)
    if cutoff is not None:
        train_ev = events[in_train & (first <= cutoff)]
        test_ev = events[in_test & (first > cutoff)]
        if test_ev.empty:
            test_ev = events[in_test]
    else:
        train_ev, test_ev = events[in_train], events[in_test]
    return Split(
        train_ids, test_ids, cutoff, train_ev.reset_index(drop=True), test_ev.reset_index(drop=True)
    )


# ---------------------------------------------------------------------------------------
# metrics


def ndcg_at(gains_ranked: np.ndarray, gains_all: np.ndarray, k: int) -> float | None:
    """NDCG@k with linear gain; None when no candidate has a positive gain."""
    ideal = np.sort(gains_all)[::-1][:k]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    idcg = float((ideal * discounts[: len(ideal)]).sum())
    if idcg <= 0:
        return None
    top = np.asarray(gains_ranked[:k], dtype=np.float64)
    return float((top * discounts[: len(top)]).sum() / idcg)


def recall_at(
    ranked: np.ndarray, gains_all: np.ndarray, k: int, n_relevant: int = 10
) -> float | None:
    """Share of the ``n_relevant`` best candidates (gain > 0) found in ``ranked[:k]``."""
    order = np.argsort(-gains_all, kind="stable")[:n_relevant]
    relevant = set(order[gains_all[order] > 0].tolist())
    if not relevant:
        return None
    return len(relevant & set(np.asarray(ranked[:k]).tolist())) / len(relevant)


def reliability_table(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> list[dict[str, float]]:
    """Mean prediction and observed rate per equal-width probability bin (non-empty bins)."""
    edges = np.linspace(0, 1, n_bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, n_bins - 1)
    out = []
    for b in range(n_bins):
        m = which == b
        if m.any():
            out.append(
                {
                    "bin": f"{edges[b]:.1f}–{edges[b + 1]:.1f}",
                    "count": int(m.sum()),
                    "mean_predicted": float(p[m].mean()),
                    "observed": float(y[m].mean()),
                }
            )
    return out


# ---------------------------------------------------------------------------------------
# report


@dataclass
class EvaluationReport:
    """Figures of one evaluation run (see the module docstring for definitions)."""

    jobs_for_workers: dict[str, dict[str, float | None]]
    workers_for_jobs: dict[str, dict[str, float | None]]
    retention: dict[str, Any]
    setup: dict[str, Any] = field(default_factory=dict)
    #: The independent world's figures (:func:`independent_figures`), or None.
    independent: dict[str, Any] | None = None
    #: Crowding before and after the capacity-aware re-ranking, per world (:func:`crowding`).
    crowding: dict[str, Any] | None = None

    def improvement(self, side: str = "jobs_for_workers", metric: str = "ndcg@10") -> float | None:
        """Relative gain of the full engine over TF-IDF + hard rules (0.1 = +10%)."""
        table = getattr(self, side)
        if FULL not in table or BASELINE not in table:
            return None
        full, base = table[FULL].get(metric), table[BASELINE].get(metric)
        if full is None or not base:
            return None
        return float(full / base - 1.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "setup": self.setup,
            "jobs_for_workers": self.jobs_for_workers,
            "workers_for_jobs": self.workers_for_jobs,
            "retention": self.retention,
            "improvement_ndcg@10_vs_tfidf_rules": {
                "jobs_for_workers": self.improvement("jobs_for_workers"),
                "workers_for_jobs": self.improvement("workers_for_jobs"),
            },
            "independent": self.independent,
            "crowding": self.crowding,
        }

    def to_text(self) -> str:
        def f(x: Any, pct: bool = False) -> str:
            if x is None:
                return "—"
            return f"{x:+.1%}" if pct else (f"{x:.3f}" if isinstance(x, float) else str(x))

        s = self.setup
        lines = [
            "匹配引擎评估（留出集） / engine evaluation on a held-out split",
            f"测试劳动力 {s.get('n_test_workers', '—')} 人，"
            f"评估劳动力 {s.get('n_eval_workers', '—')} 人、"
            f"岗位 {s.get('n_eval_jobs', '—')} 个，在招岗位 {s.get('n_open_jobs', '—')} 个；"
            f"时间切分点 {s.get('cutoff', '—')}",
            "相关度：data.outcomes.true_pair_utility（真实6个月留存概率，违反硬规则为0）",
            "",
            f"{'method':<18}{'jobs→worker':>14}{'':>11}{'':>9}  {'workers→job':>14}{'':>11}{'':>9}",
            f"{'':<18}{'NDCG@10':>14}{'Recall@50':>11}{'viol@10':>9}  "
            f"{'NDCG@10':>14}{'Recall@50':>11}{'viol@10':>9}",
        ]
        for m in METHODS:
            a = self.jobs_for_workers.get(m, {})
            b = self.workers_for_jobs.get(m, {})
            if not a and not b:
                continue
            lines.append(
                f"{m:<18}{f(a.get('ndcg@10')):>14}{f(a.get('recall@50')):>11}"
                f"{f(a.get('violations@10')):>9}  "
                f"{f(b.get('ndcg@10')):>14}{f(b.get('recall@50')):>11}{f(b.get('violations@10')):>9}"
            )
        lines.append("")
        lines.append(
            "完整引擎 vs TF-IDF+硬规则 NDCG@10："
            f"岗位→人 {f(self.improvement('jobs_for_workers'), True)}，"
            f"人→岗位 {f(self.improvement('workers_for_jobs'), True)}（要求 ≥ +10%）"
        )
        r = self.retention
        if r.get("auc") is not None:
            lines.append(
                f"留存预测（{r['n_pairs']} 对，正例率 {r['base_rate']:.3f}）：AUC {r['auc']:.3f}，"
                f"Brier {r['brier']:.4f}（常数基线 {r['brier_constant']:.4f}），ECE {r['ece']:.4f}"
            )
            lines.append(f"  {'bin':<10}{'count':>8}{'predicted':>11}{'observed':>10}")
            for row in r["reliability"]:
                lines.append(
                    f"  {row['bin']:<10}{row['count']:>8}{row['mean_predicted']:>11.3f}"
                    f"{row['observed']:>10.3f}"
                )
        else:
            lines.append(f"留存预测：{r.get('note', '无')}")
        blend = s.get("blend")
        if blend:
            tried = "，".join(
                f"{row['weight']:g}{'' if row['passes'] else '✗'}" for row in blend["table"]
            )
            lines.append(
                f"排序模型在混合中的份额（验证选定）：{blend['learned_weight']:g}"
                f"（试过 {tried}；✗ = 独立世界验证种子上低于先验）"
            )
            if "firm_weight" in blend:
                lines.append(
                    f"企业以往半年留用率在混合中的权重（验证 AUC 选定）：{blend['firm_weight']:g}"
                )
            if blend.get("seen_weight") is not None:
                lines.append(
                    "结果历史覆盖的企业上排序模型的份额（按企业历史证据逐对过渡，验证 AUC 选定）："
                    f"{blend['seen_weight']:g}"
                )
        lines += self._independent_text(f)
        lines += self._crowding_text()
        return "\n".join(lines)

    def _independent_text(self, f: Any) -> list[str]:
        ind = self.independent
        if not ind:
            return []
        base, trained = ind.get("base") or {}, ind.get("trained") or {}
        setup = (trained or base).get("setup", {})
        lines = [
            "",
            "两个世界并列 / both worlds side by side (NDCG@10, viol@10 = 前10名中违反硬规则的对数)",
            f"独立评估世界：data.eval_world（岗位 {setup.get('n_open_jobs', '—')} 个、"
            f"劳动力 {setup.get('n_workers', '—')} 人，自有措辞、企业和地点；"
            "相关度 3 主业 / 2 第二技能或同族 / 1 收新手，意向外城市 -1，低于期望工资 -1，违规 0）",
            f"职业编码：劳动力主业编码正确 {f(setup.get('main_trade_accuracy'))}"
            f"（同小类 {f(setup.get('main_trade_family_accuracy'))}，"
            f"有行当者 {setup.get('n_workers_with_trade', '—')} 人），"
            f"岗位标题编码正确 {f(setup.get('job_code_accuracy'))}",
            f"{'method':<22}{'演示 岗位→人':>12}{'演示 人→岗位':>12}"
            f"{'独立 岗位→人':>12}{'独立 人→岗位':>12}{'独立 viol':>10}",
        ]

        def row(name: str, demo_a: Any, demo_b: Any, table: dict[str, Any], m: str) -> str:
            a = table.get("jobs_for_workers", {}).get(m, {})
            b = table.get("workers_for_jobs", {}).get(m, {})
            viol = (a.get("violations@10") or 0) + (b.get("violations@10") or 0) if a else None
            return (
                f"{name:<22}{f(demo_a):>16}{f(demo_b):>16}"
                f"{f(a.get('ndcg@10')):>16}{f(b.get('ndcg@10')):>16}{f(viol):>10}"
            )

        for m in ("tfidf+rules", "embeddings+rules", "hybrid+rules"):
            lines.append(
                row(
                    m,
                    self.jobs_for_workers.get(m, {}).get("ndcg@10"),
                    self.workers_for_jobs.get(m, {}).get("ndcg@10"),
                    trained or base,
                    m,
                )
            )
        if base:
            lines.append(row("base（无结果历史）", None, None, base, FULL))
        if trained:
            lines.append(
                row(
                    "full engine（训练后）",
                    self.jobs_for_workers.get(FULL, {}).get("ndcg@10"),
                    self.workers_for_jobs.get(FULL, {}).get("ndcg@10"),
                    trained,
                    FULL,
                )
            )
        return lines

    def _crowding_text(self) -> list[str]:
        if not self.crowding:
            return []
        lines = ["", "拥挤：前10名推荐位中给了被推荐最多的1%岗位的份额"]
        for world, c in self.crowding.items():
            before, after = c["before"], c["after"]
            if c.get("path") == "product":
                who = (
                    f"产品路径，登记册 {c['n_register']} 人逐人推荐"
                    f"（NDCG 取样本 {c['n_workers']} 人）、"
                    f"{c['n_jobs']} 岗位，spread={c['spread']:g}、per_place={c['per_place']:g}"
                )
            else:
                who = f"批量推荐 {c['n_workers']} 人、{c['n_jobs']} 岗位，spread={c['spread']}"
            lines.append(
                f"  {world}: {who}："
                f"份额 {before['top1pct_share']:.3f} → {after['top1pct_share']:.3f}，"
                f"NDCG@10 {before['ndcg@10']:.3f} → {after['ndcg@10']:.3f}"
                f"（代价 {before['ndcg@10'] - after['ndcg@10']:+.3f}）"
            )
        return lines


# ---------------------------------------------------------------------------------------
# evaluation


def _top(scores: np.ndarray, mask: np.ndarray | None, n: int) -> np.ndarray:
    s = scores if mask is None else np.where(mask, scores, -np.inf)
    keep = int(np.isfinite(s).sum())
    n = min(n, keep)
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    top = np.argpartition(-s, n - 1)[:n] if n < len(s) else np.arange(len(s))
    top = top[np.isfinite(s[top])]
    return top[np.lexsort((top, -s[top]))]


def _aggregate(
    values: dict[str, dict[str, list[float]]], violations: dict[str, int]
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for m, metrics in values.items():
        out[m] = {name: (float(np.mean(v)) if v else None) for name, v in metrics.items()}
        out[m]["violations@10"] = int(violations[m])
    return out


def _baselines(
    lex: np.ndarray,
    dense: np.ndarray,
    mask: np.ndarray,
    w: float,
    rng: np.random.Generator,
    recall_k: int,
) -> dict[str, np.ndarray]:
    """The baseline methods' rankings (positions in the candidate list) for one query."""
    return {
        "random": rng.permutation(len(lex))[:recall_k],
        "tfidf": _top(lex, None, recall_k),
        "tfidf+rules": _top(lex, mask, recall_k),
        "embeddings+rules": _top(dense, mask, recall_k),
        "hybrid+rules": _top((1 - w) * dense + w * lex, mask, recall_k),
    }


def _record(
    ranked: dict[str, np.ndarray],
    util: np.ndarray,
    vals: dict[str, dict[str, list[float]]],
    viol: dict[str, int],
    rules_ok: Any,
    k: int,
    recall_k: int,
) -> None:
    """Add one query's NDCG@k, Recall@recall_k and hard-rule violations in the top k
    (``rules_ok(positions)`` gives True for each pair that breaks no rule) to each method."""
    for m, r in ranked.items():
        nd = ndcg_at(util[r], util, k)
        rc = recall_at(r, util, recall_k)
        if nd is not None:
            vals[m]["ndcg@10"].append(nd)
        if rc is not None:
            vals[m]["recall@50"].append(rc)
        top = r[:k]
        if len(top):
            viol[m] += int((~rules_ok(top)).sum())


def ranking_tables(
    engine: MatchingEngine,
    utility: Any,
    rules_ok: Any,
    *,
    n_workers: int,
    n_jobs: int,
    k: int = 10,
    recall_k: int = 50,
    rng: np.random.Generator,
    setup: dict[str, Any] | None = None,
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Jobs-for-worker and workers-for-job tables of every method on a fitted engine.

    ``utility(worker_ids, job_ids)`` grades pairs, ``rules_ok(worker_ids, job_ids)`` says
    which break no hard rule (both from the world under test, never from the engine).
    """
    jidx, widx = engine.jobs_index_, engine.workers_index_
    w = float(engine.lexical_weight)
    job_rows = np.flatnonzero(jidx.active)
    worker_rows = np.flatnonzero(widx.active)
    sample_w = rng.choice(worker_rows, size=min(n_workers, len(worker_rows)), replace=False)
    sample_j = rng.choice(job_rows, size=min(n_jobs, len(job_rows)), replace=False)
    if setup is not None:
        setup["n_eval_workers"], setup["n_eval_jobs"] = int(len(sample_w)), int(len(sample_j))
    job_ids = jidx.ids[job_rows]
    worker_ids = widx.ids[worker_rows]
    pw, pj = widx.prepared, jidx.prepared

    # --- jobs for workers -------------------------------------------------------------
    vals = {m: {"ndcg@10": [], "recall@50": []} for m in METHODS}
    viol = dict.fromkeys(METHODS, 0)
    dense_all = widx.embeddings[sample_w] @ jidx.embeddings[job_rows].T
    jpos = {int(j): i for i, j in enumerate(job_ids.tolist())}
    for n, wr in enumerate(sample_w.tolist()):
        wid = int(widx.ids[wr])
        util = utility(np.full(len(job_ids), wid), job_ids)
        lex = jidx.lexical_scores(widx.lexical[wr])[job_rows]
        dense = dense_all[n]
        mask = jobs_mask_for_worker(pw.rules, wr, pj.rules)[job_rows]
        ranked = _baselines(lex, dense, mask, w, rng, recall_k)
        full_ids = [it["job_id"] for it in engine.recommend_jobs(wid, k=recall_k)]
        ranked[FULL] = np.array([jpos[j] for j in full_ids], dtype=np.int64)
        _record(
            ranked,
            util,
            vals,
            viol,
            lambda top: rules_ok(np.full(len(top), wid), job_ids[top]),  # noqa: B023
            k,
            recall_k,
        )
    jobs_table = _aggregate(vals, viol)

    # --- workers for jobs -------------------------------------------------------------
    vals = {m: {"ndcg@10": [], "recall@50": []} for m in METHODS}
    viol = dict.fromkeys(METHODS, 0)
    dense_all = jidx.embeddings[sample_j] @ widx.embeddings[worker_rows].T
    wpos = {int(i): n for n, i in enumerate(worker_ids.tolist())}
    for n, jr in enumerate(sample_j.tolist()):
        jid = int(jidx.ids[jr])
        util = utility(worker_ids, np.full(len(worker_ids), jid))
        lex = widx.lexical_scores(jidx.lexical[jr])[worker_rows]
        dense = dense_all[n]
        mask = workers_mask_for_job(pj.rules, jr, pw.rules)[worker_rows]
        ranked = _baselines(lex, dense, mask, w, rng, recall_k)
        full_ids = [it["worker_id"] for it in engine.recommend_workers(jid, k=recall_k)]
        ranked[FULL] = np.array([wpos[i] for i in full_ids], dtype=np.int64)
        _record(
            ranked,
            util,
            vals,
            viol,
            lambda top: rules_ok(worker_ids[top], np.full(len(top), jid)),  # noqa: B023
            k,
            recall_k,
        )
    workers_table = _aggregate(vals, viol)
    return jobs_table, workers_table


def evaluate(
    world: Any,
    events: pd.DataFrame,
    engine: MatchingEngine,
    *,
    n_workers: int = 300,
    n_jobs: int = 200,
    k: int = 10,
    recall_k: int = 50,
    seed: int = 0,
    base_rate: float | None = None,
    cutoff: Any = None,
    jobs: pd.DataFrame | None = None,
    workers: pd.DataFrame | None = None,
) -> EvaluationReport:
    """Evaluate a fitted engine against baselines on a demo world's ground truth.

    Parameters
    ----------
    world : data.demo.DemoWorld or None
        The world whose hidden truth grades the rankings; None skips the ranking metrics
        (real data has no ground truth) and keeps the retention metrics.
    events : DataFrame
        Held-out outcome events (test workers, after the cutoff) for the retention metrics.
    engine : MatchingEngine
        Fitted on the open jobs and the test workers, with the ranker trained on the
        training split.
    n_workers, n_jobs : int
        How many test workers / open jobs to rank for (a seeded sample).
    base_rate : float, optional
        The training positive rate, for the constant Brier baseline (default: the ranker's).
    jobs, workers : DataFrame, optional
        Tables holding the held-out events' jobs and workers (any status); default: the
        world's, else the engine's index.

    Returns
    -------
    EvaluationReport
    """
    rng = np.random.default_rng(seed)
    jidx, widx = engine.jobs_index_, engine.workers_index_
    job_rows = np.flatnonzero(jidx.active)
    worker_rows = np.flatnonzero(widx.active)
    setup: dict[str, Any] = {
        "n_open_jobs": int(len(job_rows)),
        "n_test_workers": int(len(worker_rows)),
        "k": k,
        "recall_k": recall_k,
        "seed": seed,
        "cutoff": None if cutoff is None else str(pd.Timestamp(cutoff).date()),
        "relevance": "data.outcomes.true_pair_utility (noise-free P(retained 6 months | "
        "recommended), 0 if a hard rule is broken)",
    }
    jobs_table: dict[str, dict[str, Any]] = {}
    workers_table: dict[str, dict[str, Any]] = {}
    if world is not None and len(job_rows) and len(worker_rows):
        from data.outcomes import hard_rules_ok, true_pair_utility

        jobs_table, workers_table = ranking_tables(
            engine,
            lambda w_ids, j_ids: true_pair_utility(world, w_ids, j_ids),
            lambda w_ids, j_ids: hard_rules_ok(world, w_ids, j_ids),
            n_workers=n_workers,
            n_jobs=n_jobs,
            k=k,
            recall_k=recall_k,
            rng=rng,
            setup=setup,
        )
    elif world is None:
        setup["note"] = "no ground truth (not a demo world): ranking metrics skipped"

    if jobs is None and world is not None:
        jobs, workers = world.jobs, world.workers
    retention = _retention(engine, jobs, workers, events, base_rate)
    return EvaluationReport(jobs_table, workers_table, retention, setup)


def evaluate_independent(
    params: dict[str, Any],
    world: Any = None,
    *,
    n_jobs: int = 200,
    k: int = 10,
    recall_k: int = 50,
    seed: int = 0,
) -> dict[str, Any]:
    """Rank the independent evaluation world (:mod:`data.eval_world`) with an engine built
    from ``params`` (the encoder, coder, ranker and settings under test).

    The engine indexes the world's jobs and workers; every worker is ranked jobs for, and
    ``n_jobs`` sampled jobs are ranked workers for. Relevance and hard rules are the world's
    own (:func:`data.eval_world.relevance`, :func:`data.eval_world.hard_rules_ok`).

    Returns
    -------
    dict
        ``setup``, ``jobs_for_workers`` and ``workers_for_jobs`` tables by method.
    """
    from data import eval_world as ew

    world = world if world is not None else ew.generate_eval_world()
    params = {**params, "as_of": world.as_of}
    engine = MatchingEngine(**params).fit(world.jobs, world.workers)
    setup: dict[str, Any] = {
        "world": "data.eval_world",
        "seed": world.seed,
        "n_open_jobs": int(engine.jobs_index_.active.sum()),
        "n_workers": int(engine.workers_index_.active.sum()),
        "k": k,
        "relevance": "3 main trade, 2 second trade or same family, 1 novices welcome; "
        "-1 unwished city, -1 wage under floor; 0 if a hard rule breaks",
        "ranker": None
        if getattr(engine, "ranker_", None) is None
        else type(engine.ranker_).__name__,
    }
    setup.update(coding_accuracy(engine, world))
    jobs_table, workers_table = independent_tables(
        engine, world, n_jobs=n_jobs, k=k, recall_k=recall_k, seed=seed, setup=setup
    )
    return {"setup": setup, "jobs_for_workers": jobs_table, "workers_for_jobs": workers_table}


def independent_tables(
    engine: MatchingEngine,
    world: Any,
    *,
    n_jobs: int = 200,
    k: int = 10,
    recall_k: int = 50,
    seed: int = 0,
    setup: dict[str, Any] | None = None,
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """:func:`ranking_tables` of ``engine`` (which indexes ``world``) on an independent world
    (:mod:`data.eval_world`), by the world's own relevance and hard rules: every worker is
    ranked jobs for, ``n_jobs`` sampled jobs (``seed``) are ranked workers for."""
    from data import eval_world as ew

    return ranking_tables(
        engine,
        lambda w_ids, j_ids: ew.relevance(world, w_ids, j_ids),
        lambda w_ids, j_ids: ew.hard_rules_ok(world, w_ids, j_ids),
        n_workers=len(world.workers),
        n_jobs=n_jobs,
        k=k,
        recall_k=recall_k,
        rng=np.random.default_rng(seed),
        setup=setup,
    )


def coding_accuracy(engine: MatchingEngine, world: Any) -> dict[str, Any]:
    """How well the engine read the independent world's texts, against the world's truth
    (see :func:`score_coding`): the workers' main-trade codes (``exp_code``, from their own
    words) and the jobs' occupation codes as the engine's index holds them."""
    pw = engine.workers_index_.prepared.frame
    pj = engine.jobs_index_.prepared.frame
    return score_coding(
        dict(zip(pw["worker_id"].tolist(), pw["exp_code"].tolist(), strict=True)),
        dict(zip(pj["job_id"].tolist(), pj["occ_code"].tolist(), strict=True)),
        world,
    )


def score_coding(
    worker_codes: Mapping[int, str], job_codes: Mapping[int, str], world: Any
) -> dict[str, Any]:
    """Coding figures of ``worker_codes`` (worker id → main-trade code) and ``job_codes``
    (job id → occupation code) against the independent world's truth.

    * ``main_trade_accuracy``: share of the workers with a trade whose main-trade code is the
      code of their true main trade; ``main_trade_family_accuracy`` counts a code of the same
      minor group as right too;
    * ``job_code_accuracy``: share of the coded jobs whose code is their trade's code.
    """
    from data import eval_world as ew

    code_of = {t.key: t.code for t in ew.TRADES}
    truth = world.truth_workers[world.truth_workers["main_trade"] != ""]
    want = [code_of[t] for t in truth["main_trade"]]
    have = [str(worker_codes.get(int(w), "") or "") for w in truth["worker_id"]]
    exact = [a == b for a, b in zip(have, want, strict=True)]
    family = [a.split("-")[:3] == b.split("-")[:3] for a, b in zip(have, want, strict=True)]
    tj = world.truth_jobs[world.truth_jobs["job_id"].isin(job_codes)]
    jobs_ok = [
        job_codes[int(j)] == code_of[t] for j, t in zip(tj["job_id"], tj["trade"], strict=True)
    ]
    return {
        "n_workers_with_trade": len(want),
        "main_trade_accuracy": float(np.mean(exact)) if exact else None,
        "main_trade_family_accuracy": float(np.mean(family)) if family else None,
        "job_code_accuracy": float(np.mean(jobs_ok)) if jobs_ok else None,
    }


#: Default strength of the capacity-aware re-ranking measured by :func:`crowding`: the most
#: score points a crowded job may lose (:func:`matcher.engine.capacity_prices`). On the demo
#: world (300 held-out workers, benchmarks/bench_crowding.py) 0.05 cut the top-1% share from
#: 0.101 to 0.087 for 0.006 of NDCG@10; 0.08 to 0.079 for 0.011.
DEFAULT_SPREAD = 0.05


def top_share(job_lists: list[list[int]], share: float = 0.01) -> float:
    """Share of all recommendation slots that go to the ``share`` most-recommended jobs."""
    counts = pd.Series([j for jobs in job_lists for j in jobs], dtype=np.int64).value_counts()
    if counts.empty:
        return 0.0
    n_top = max(1, int(np.ceil(share * len(counts))))
    return float(counts.iloc[:n_top].sum() / counts.sum())


def crowding(
    engine: MatchingEngine,
    worker_ids: Any,
    utility: Any,
    *,
    spread: float = DEFAULT_SPREAD,
    k: int = 10,
) -> dict[str, Any]:
    """Crowding of one batch of workers, before and after the capacity-aware re-ranking.

    The batch is answered twice with :meth:`MatchingEngine.recommend_jobs_batch`, with
    ``spread`` 0 and ``spread``; for each, the share of all top-``k`` slots that go to the 1%
    most-recommended jobs (:func:`top_share`) and the mean NDCG@k graded by ``utility``
    (among all open jobs). Jobs are counted among those recommended at least once.
    """
    ids = [int(i) for i in worker_ids]
    jidx = engine.jobs_index_
    all_jobs = jidx.ids[np.flatnonzero(jidx.active)]
    gains = {wid: utility(np.full(len(all_jobs), wid), all_jobs) for wid in ids}
    out: dict[str, Any] = {
        "spread": float(spread),
        "n_workers": len(ids),
        "n_jobs": int(len(all_jobs)),
        "k": k,
    }
    for name, s in (("before", 0.0), ("after", float(spread))):
        batch = engine.recommend_jobs_batch(ids, k=k, with_reasons=False, spread=s)
        lists = [[it["job_id"] for it in batch[w]] for w in ids]
        nd = []
        for w, jobs in zip(ids, lists, strict=True):
            v = ndcg_at(
                utility(np.full(len(jobs), w), np.asarray(jobs, dtype=np.int64)), gains[w], k
            )
            if v is not None:
                nd.append(v)
        out[name] = {
            "top1pct_share": top_share(lists),
            "ndcg@10": float(np.mean(nd)) if nd else 0.0,
        }
    return out


#: The service's crowding settings (``CROWDING_SPREAD``, ``CROWDING_SAMPLE`` and
#: ``CROWDING_PER_PLACE`` of ``api.config.DEFAULTS``; ``training/`` does not import ``api``, and
#: a test holds the two equal): what :func:`product_crowding` prices with.
PRODUCT_CROWDING: dict[str, Any] = {"spread": 0.01, "sample": 20_000, "per_place": 30.0}


def product_crowding(
    engine: MatchingEngine,
    worker_ids: Any,
    utility: Any,
    *,
    spread: float = PRODUCT_CROWDING["spread"],
    sample: int | None = PRODUCT_CROWDING["sample"],
    per_place: float = PRODUCT_CROWDING["per_place"],
    k: int = 10,
) -> dict[str, Any]:
    """Crowding as the product gives it, before and after its prices.

    The product path (``GET /api/v1/workers/{id}/matches``): the index's prices are computed
    once from the whole register (:meth:`MatchingEngine.price_crowding` with ``spread``,
    ``sample`` and ``per_place``, as ``jobbridge index build`` does) and every indexed worker
    is answered alone by :meth:`MatchingEngine.recommend_jobs`, without prices and with them.
    ``top1pct_share`` is the share of the whole register's top-``k`` slots that go to its 1%
    most-recommended jobs (:func:`top_share`); ``ndcg@10`` the mean NDCG@k of the
    ``worker_ids`` sample's lists, graded by ``utility`` among all open jobs. The engine's
    own prices (``crowding_``) are put back afterwards.
    """
    ids = [int(i) for i in worker_ids]
    jidx = engine.jobs_index_
    all_jobs = jidx.ids[np.flatnonzero(jidx.active)]
    register = [int(i) for i in engine.workers_index_.active_ids()]
    held = getattr(engine, "crowding_", None)
    out: dict[str, Any] = {
        "path": "product",
        "spread": float(spread),
        "sample": sample,
        "per_place": float(per_place),
        "n_register": len(register),
        "n_workers": len(ids),
        "n_jobs": int(len(all_jobs)),
        "k": k,
    }
    try:
        for name in ("before", "after"):
            engine.crowding_ = None
            if name == "after":
                out["pricing"] = dict(
                    engine.price_crowding(
                        float(spread), sample=sample, k=k, per_place=float(per_place)
                    ).facts
                )
            lists = {w: [it["job_id"] for it in engine.recommend_jobs(w, k=k)] for w in register}
            nd = []
            for w in ids:
                jobs = np.asarray(lists[w], dtype=np.int64)
                gains = utility(np.full(len(all_jobs), w), all_jobs)
                v = ndcg_at(utility(np.full(len(jobs), w), jobs), gains, k)
                if v is not None:
                    nd.append(v)
            out[name] = {
                "top1pct_share": top_share(list(lists.values())),
                "ndcg@10": float(np.mean(nd)) if nd else 0.0,
            }
    finally:
        engine.crowding_ = held
    return out


def independent_figures(
    params: dict[str, Any], ranker: Any = None, *, seed: int = 0
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The independent world for the base model (``params`` without a ranker, the engine's
    prior alone) and, with ``ranker``, after training; plus its crowding figures.

    Returns
    -------
    (independent, crowding) : dict, dict
        ``{"base": ..., "trained": ...}`` tables of :func:`evaluate_independent`, and the
        :func:`product_crowding` figures of the trained engine (the base one without a
        ranker).
    """
    from data import eval_world as ew

    world = ew.generate_eval_world()
    out: dict[str, Any] = {
        "base": evaluate_independent({**params, "ranker": None}, world, seed=seed)
    }
    final = {**params, "ranker": ranker}
    if ranker is not None:
        out["trained"] = evaluate_independent(final, world, seed=seed)
    engine = MatchingEngine(**{**final, "as_of": world.as_of}).fit(world.jobs, world.workers)
    crowd = product_crowding(
        engine,
        world.workers["worker_id"],
        lambda w_ids, j_ids: ew.relevance(world, w_ids, j_ids),
    )
    return out, crowd


def _retention(
    engine: MatchingEngine,
    jobs: pd.DataFrame | None,
    workers: pd.DataFrame | None,
    events: pd.DataFrame,
    base_rate: float | None,
) -> dict[str, Any]:
    ranker = getattr(engine, "ranker_", None)
    if ranker is None:
        return {"auc": None, "note": "引擎没有排序模型 (no ranker)"}
    if events is None or events.empty:
        return {"auc": None, "note": "没有留出的结果事件 (no held-out events)"}
    labels = label_pairs(events)
    known_jobs = jobs["job_id"] if jobs is not None else pd.Series(engine.jobs_index_.active_ids())
    known_workers = (
        workers["worker_id"]
        if workers is not None
        else pd.Series(engine.workers_index_.active_ids())
    )
    labels = labels[labels["job_id"].isin(known_jobs) & labels["worker_id"].isin(known_workers)]
    labels = labels.reset_index(drop=True)
    if labels.empty:
        return {"auc": None, "note": "留出事件的岗位或劳动力不在数据中 (held-out pairs unknown)"}
    feats = engine.pair_features(labels, jobs=jobs, workers=workers)
    p = ranker.predict_proba(feats)[:, 1]
    y = labels["label"].to_numpy()
    if len(set(y.tolist())) < 2:
        return {"auc": None, "note": f"留出事件只有一种结果 (held-out labels are all {int(y[0])})"}
    rate = float(base_rate if base_rate is not None else getattr(ranker, "base_rate_", y.mean()))
    table = reliability_table(y, p)
    ece = float(sum(r["count"] * abs(r["mean_predicted"] - r["observed"]) for r in table) / len(y))
    return {
        "n_pairs": int(len(y)),
        "base_rate": float(y.mean()),
        "auc": float(roc_auc_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "brier_constant": float(brier_score_loss(y, np.full(len(y), rate))),
        "ece": ece,
        "reliability": table,
    }


__all__ = [
    "BASELINE",
    "coding_accuracy",
    "DEFAULT_SPREAD",
    "crowding",
    "evaluate_independent",
    "PRODUCT_CROWDING",
    "product_crowding",
    "independent_figures",
    "ranking_tables",
    "score_coding",
    "top_share",
    "FULL",
    "METHODS",
    "EvaluationReport",
    "Split",
    "evaluate",
    "ndcg_at",
    "recall_at",
    "reliability_table",
    "split_events",
]
