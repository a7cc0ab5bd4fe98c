"""Short Chinese reasons a clerk can read out for one recommendation.

:func:`explain` turns one pair's features and the two prepared rows into 2–4 reasons
("做过缝纫工，与岗位一致", "提供宿舍", "月薪4500–6500元，高于期望4000元", "结对城市：苏州"),
strongest first, followed by what could not be used ("技能描述为空，按学历、证书和意向匹配",
"证书'XX'无法识别"). Reasons come only from pair features and stated wishes, never from
protected attributes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

#: Upper bound of "drivers" per recommendation (notes on unusable input come on top).
MAX_REASONS = 4
MIN_REASONS = 2


def _short_city(city: str) -> str:
    return city[:-1] if city.endswith("市") and len(city) > 2 else city


def _num(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v


def explain(
    features: Mapping[str, float],
    worker: Mapping[str, Any],
    job: Mapping[str, Any],
    occupation_names: Mapping[str, str] | None = None,
) -> list[str]:
    """Reasons for one pair, best first.

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
    >>> f = {"occ_exp_match": 4, "wage_min_vs_floor": 1.1, "has_wage_floor": 1,
    ...      "dormitory": 1, "meals": 0, "paired_city": 1, "distance_km": 1180.0}
    >>> w = {"exp_code": "6-05-01-03", "min_wage": 4000, "has_skills_text": True,
    ...      "n_desired_jobs": 1, "paired_city": "苏州市", "needs_halal": False}
    >>> j = {"occ_code": "6-05-01-03", "wage_min": 4500, "wage_max": 6500, "city": "苏州市"}
    >>> explain(f, w, j, {"6-05-01-03": "缝纫工"})
    ['做过缝纫工，与岗位一致', '月薪4500–6500元，高于期望4000元', '结对城市：苏州', '提供宿舍']
    """
    names = occupation_names or {}
    scored: list[tuple[float, str]] = []

    occ = int(_num(features.get("occ_exp_match", 0)) or 0)
    exp_name = names.get(str(worker.get("exp_code", "")), "")
    if occ >= 4 and exp_name:
        scored.append((10, f"做过{exp_name}，与岗位一致"))
    elif occ >= 3 and exp_name:
        scored.append((9, f"做过{exp_name}，与岗位工种相近"))
    elif occ >= 2 and exp_name:
        scored.append((6, f"做过{exp_name}，属同类行业"))
    wish = int(_num(features.get("occ_wish_match", 0)) or 0)
    if wish >= 3 and worker.get("first_desired"):
        scored.append((8.5, f"符合求职意向：{worker['first_desired']}"))

    wmin, wmax = _num(job.get("wage_min")), _num(job.get("wage_max"))
    floor = _num(worker.get("min_wage", 0))
    if wmin > 0:
        wage = f"月薪{int(wmin)}–{int(wmax)}元" if wmax > wmin else f"月薪{int(wmin)}元"
        if floor > 0 and wmin >= floor:
            scored.append((8, f"{wage}，高于期望{int(floor)}元"))
        elif floor > 0 and wmax >= floor:
            scored.append((4, f"{wage}，可达期望{int(floor)}元"))
        elif floor > 0:
            scored.append((0.5, f"{wage}，低于期望{int(floor)}元"))
        else:
            scored.append((3, wage))

    city = str(job.get("city", "") or "")
    if _num(features.get("pref_city", 0)) > 0 and city:
        scored.append((7, f"在意向城市：{_short_city(city)}"))
    if _num(features.get("paired_city", 0)) > 0 and city:
        scored.append((7.5, f"结对城市：{_short_city(city)}"))

    dorm = _num(features.get("dormitory", 0)) > 0
    meals = _num(features.get("meals", 0)) > 0
    dorm_weight = 7.8 if worker.get("needs_dormitory") else 5
    if dorm and meals:
        scored.append((dorm_weight, "包吃住"))
    elif dorm:
        scored.append((dorm_weight, "提供宿舍"))
    elif meals:
        scored.append((3.5, "包吃"))
    if worker.get("needs_halal") and _num(features.get("halal_canteen", 0)) > 0:
        scored.append((7.9, "有清真食堂"))
    if _num(features.get("novice_ok", 0)) > 0 and occ < 3:
        scored.append((5.5, "无经验可，提供培训"))
    extra = _num(features.get("extra_certificates", 0))
    if extra > 0:
        scored.append((3, f"另持{int(extra)}项证书（第二技能）"))
    dist = _num(features.get("distance_km"))
    if not math.isnan(dist):
        rounded = max(50, int(round(dist / 50.0)) * 50)
        scored.append((1, f"离家约{rounded}公里"))
    left = _num(job.get("headcount_left"))
    if left > 0:
        scored.append((0.8, f"尚缺{int(left)}人"))

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
    if not bool(worker.get("education_known", True)) and worker.get("education"):
        notes.append(f"学历'{worker['education']}'无法识别，只匹配无学历要求的岗位")
    if "has_description" in features and _num(features.get("has_description")) == 0:
        notes.append("岗位无描述，按岗位名称和条件匹配")
    return reasons + notes


__all__ = ["MAX_REASONS", "MIN_REASONS", "explain"]
