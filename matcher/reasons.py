"""Short Chinese reasons a clerk can read out for one recommendation.

:func:`explain` turns one pair's features and the two prepared rows into 2–4 reasons,
the ones that moved this pair's score most first, followed by what could not be used
("技能描述为空，按学历、证书和意向匹配", "证书'XX'无法识别", "未写明学历，未能核对").

Each reason carries the weight its feature has in the prior ranking
(:func:`matcher.features.prior_score`), which every score contains: the trade first
("主业缝纫工，与岗位一致", "会开叉车（第二技能）", "符合求职意向：缝纫工", "无经验可，提供培训"),
then what cost the pair a grade ("工资比期望低500元", "不在意向城市（苏州）"), then what
only broke ties (a wage above the floor, the paired city, a dormitory). A wage above the
floor therefore never leads for a job outside the worker's trades. Reasons come only from
pair features and stated wishes, never from protected attributes.

:func:`no_trade_notice` says when the hard rules leave none of the worker's own trade among
the answers ("暂无同时提供清真食堂和宿舍的缝纫工岗位").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from matcher.features import ALT_READING_WEIGHT, HIERARCHY_SIMILARITY, hierarchy_similarity

#: Upper bound of "drivers" per recommendation (notes on unusable input come on top).
MAX_REASONS = 4
MIN_REASONS = 2
#: Longest clause of the worker's own words quoted in a reason.
_MAX_QUOTE = 12


def _short_city(city: str) -> str:
    return city[:-1] if city.endswith("市") and len(city) > 2 else city


def _num(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v


def _trade_name(code: str, names: Mapping[str, str]) -> str:
    name = names.get(str(code), "")
    # The classification marks some names with a letter (保洁员L) that no clerk says.
    return name.rstrip("SLP/") if name else ""


def _second_trade(worker: Mapping[str, Any], job_code: str) -> tuple[str, str, float]:
    """(code, the worker's words, similarity) of the second trade closest to the job."""
    seconds = list(worker.get("second_codes", ()) or ())
    clauses = list(worker.get("trade_clauses", ()) or ())
    best = ("", "", 0.0)
    if not seconds or not job_code:
        return best
    sims = hierarchy_similarity(seconds, [job_code] * len(seconds))
    k = int(sims.argmax())
    said = clauses[k + 1] if len(clauses) > k + 1 else ""
    return seconds[k], said, float(sims[k])


def explain(
    features: Mapping[str, float],
    worker: Mapping[str, Any],
    job: Mapping[str, Any],
    occupation_names: Mapping[str, str] | None = None,
) -> list[str]:
    """Reasons for one pair, the ones that weigh most in its score first.

    Parameters
    ----------
    features : mapping
        The pair's features by name (:data:`matcher.features.FEATURE_NAMES`).
    worker, job : mapping
        The pair's rows of the prepared worker and job frames.
    occupation_names : mapping, optional
        CSCO code → occupation name.

    Examples
    --------
    >>> f = {"main_fit": 1.0, "skill_fit": 1.0, "wage_min_vs_floor": 1.1, "has_wage_floor": 1,
    ...      "dormitory": 1, "meals": 0, "paired_city": 1, "distance_km": 1180.0}
    >>> w = {"exp_code": "6-05-01-03", "min_wage": 4000, "has_skills_text": True,
    ...      "n_desired_jobs": 1, "paired_city": "苏州市", "needs_halal": False}
    >>> j = {"occ_code": "6-05-01-03", "wage_min": 4500, "wage_max": 6500, "city": "苏州市"}
    >>> explain(f, w, j, {"6-05-01-03": "缝纫工"})
    ['主业缝纫工，与岗位一致', '结对城市：苏州', '月薪4500–6500元，高于期望4000元', '提供宿舍']
    """
    names = occupation_names or {}
    scored: list[tuple[float, str]] = []
    job_code = str(job.get("occ_code", "") or "")
    alt_code = str(job.get("occ_alt_code", "") or "")

    main = _num(features.get("main_fit", 0))
    main = 0.0 if math.isnan(main) else main
    skill = max(main, _num(features.get("skill_fit", 0)) or 0.0)
    wish = _num(features.get("wish_fit", 0)) or 0.0
    main_name = _trade_name(str(worker.get("exp_code", "")), names)
    exact, minor, middle = HIERARCHY_SIMILARITY[4], HIERARCHY_SIMILARITY[3], HIERARCHY_SIMILARITY[2]
    exp_code = str(worker.get("exp_code", "") or "")
    # The job's second reading (matcher.features.ALT_READING_GAP) is the worker's own trade.
    by_alt = bool(alt_code) and alt_code == exp_code and main < exact
    # The wording follows the reading that fits: a title read two ways weighs its first
    # reading less (matcher.features.FIRST_READING_WEIGHT), but the trade is the same.
    level = main
    if alt_code and not by_alt and job_code and exp_code:
        level = max(main, float(hierarchy_similarity([exp_code], [job_code])[0]))
    if main_name and by_alt:
        scored.append((0.8 * main, f"主业{main_name}，岗位名称也可指此工种"))
    elif main_name and level >= exact:
        scored.append((0.8 * main, f"主业{main_name}，与岗位一致"))
    elif main_name and level >= minor:
        scored.append((0.8 * main, f"主业{main_name}，与岗位工种相近"))
    elif main_name and level >= middle:
        scored.append((0.8 * main, f"主业{main_name}，属同类行业"))
    if skill > main and 0.7 * skill > 0.8 * main:
        # A second trade that is the job's second reading fits as a near trade does.
        code, said, sim = "", "", 0.0
        for reading, weight in ((job_code, 1.0), (alt_code, ALT_READING_WEIGHT)):
            c, t, x = _second_trade(worker, reading)
            if c and weight * x > sim:
                code, said, sim = c, t, weight * x
        if code:
            text = said if said and len(said) <= _MAX_QUOTE else _trade_name(code, names)
            kind = "第二技能" if sim >= exact else "第二技能相近"
            scored.append((0.56 * sim, f"{text}（{kind}）"))
    if wish >= minor and worker.get("first_desired"):
        scored.append((0.48 * wish, f"符合求职意向：{worker['first_desired']}"))
    novice = _num(features.get("novice_ok", 0)) > 0
    if novice and 0.8 * max(main, 0.7 * skill, 0.6 * wish) < 0.28:
        scored.append((0.28, "无经验可，提供培训"))

    wmin, wmax = _num(job.get("wage_min")), _num(job.get("wage_max"))
    floor = _num(worker.get("min_wage", 0))
    if wmin > 0:
        wage = f"月薪{int(wmin)}–{int(wmax)}元" if wmax > wmin else f"月薪{int(wmin)}元"
        if floor > 0 and wmax < floor:
            scored.append((0.28, f"工资比期望低{int(floor - wmax)}元（{wage}）"))
        elif floor > 0 and wmin >= floor:
            excess = min(max(wmin / floor - 1.0, 0.0), 0.5)
            scored.append((0.05 + 0.04 * excess, f"{wage}，高于期望{int(floor)}元"))
        elif floor > 0:
            scored.append((0.04, f"{wage}，可达期望{int(floor)}元"))
        else:
            scored.append((0.03, wage))

    city = str(job.get("city", "") or "")
    prefs = [str(c) for c in (worker.get("preferred_cities", ()) or ())]
    if _num(features.get("pref_city", 0)) > 0 and city:
        scored.append((0.2, f"在意向城市：{_short_city(city)}"))
    elif prefs and city:
        wanted = "、".join(_short_city(c) for c in prefs[:3])
        scored.append((0.28, f"不在意向城市（{wanted}）"))
    if _num(features.get("paired_city", 0)) > 0 and city:
        scored.append((0.06, f"结对城市：{_short_city(city)}"))

    dorm = _num(features.get("dormitory", 0)) > 0
    meals = _num(features.get("meals", 0)) > 0
    dorm_weight = 0.1 if worker.get("needs_dormitory") else 0.035
    if dorm and meals:
        scored.append((dorm_weight, "包吃住"))
    elif dorm:
        scored.append((dorm_weight, "提供宿舍"))
    elif meals:
        scored.append((0.02, "包吃"))
    if worker.get("needs_halal") and _num(features.get("halal_canteen", 0)) > 0:
        scored.append((0.1, "有清真食堂"))
    extra = _num(features.get("extra_certificates", 0))
    if extra > 0:
        scored.append((0.015, f"另持{int(extra)}项证书"))
    dist = _num(features.get("distance_km"))
    if not math.isnan(dist):
        rounded = max(50, int(round(dist / 50.0)) * 50)
        scored.append((0.01, f"离家约{rounded}公里"))
    left = _num(job.get("headcount_left"))
    if left > 0:
        scored.append((0.005, f"尚缺{int(left)}人"))

    scored.sort(key=lambda t: -t[0])
    reasons = [text for _, text in scored[:MAX_REASONS]]
    if len(reasons) < MIN_REASONS:
        reasons.append("符合岗位年龄、学历和证书要求")

    notes: list[str] = []
    if not worker.get("has_skills_text", True):
        notes.append("技能描述为空，按学历、证书和意向匹配")
    if int(_num(worker.get("n_desired_jobs", 1)) or 0) == 0 and not worker.get("preferred_cities"):
        notes.append("未填写求职意向，按技能和岗位条件匹配")
    for name in list(worker.get("certificates_unrecognised", ()) or ())[:2]:
        notes.append(f"证书'{name}'无法识别")
    education = worker.get("education")
    if not bool(worker.get("education_known", True)):
        if isinstance(education, str) and education.strip():
            notes.append(f"学历'{education}'无法识别，只匹配无学历要求的岗位")
        else:
            notes.append("未写明学历，未能核对")
    if "has_description" in features and _num(features.get("has_description")) == 0:
        notes.append("岗位无描述，按岗位名称和条件匹配")
    return reasons + notes


def no_trade_notice(
    worker: Mapping[str, Any],
    trade_in_results: bool,
    occupation_names: Mapping[str, str] | None = None,
) -> str | None:
    """A sentence for a worker whose own trade is missing from the answers, else None.

    Parameters
    ----------
    worker : mapping
        The worker's prepared row (``exp_code``, ``needs_halal``, ``needs_dormitory``).
    trade_in_results : bool
        Whether any answer is in the worker's main trade or a second one.

    Examples
    --------
    >>> w = {"exp_code": "6-05-01-03", "needs_halal": True, "needs_dormitory": True}
    >>> no_trade_notice(w, False, {"6-05-01-03": "缝纫工"})
    '暂无同时提供清真食堂和宿舍的缝纫工岗位，以下为其他可选岗位'
    >>> no_trade_notice(w, True, {"6-05-01-03": "缝纫工"}) is None
    True
    """
    name = _trade_name(str(worker.get("exp_code", "") or ""), occupation_names or {})
    if trade_in_results or not name:
        return None
    needs: Sequence[str] = [
        n
        for n, on in (
            ("清真食堂", worker.get("needs_halal")),
            ("宿舍", worker.get("needs_dormitory")),
        )
        if on
    ]
    if len(needs) == 2:
        what = f"暂无同时提供{needs[0]}和{needs[1]}的{name}岗位"
    elif needs:
        what = f"暂无提供{needs[0]}的{name}岗位"
    else:
        what = f"暂无符合条件的{name}岗位"
    return f"{what}，以下为其他可选岗位"


__all__ = ["MAX_REASONS", "MIN_REASONS", "explain", "no_trade_notice"]
