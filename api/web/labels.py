"""Chinese names of what storage keeps as codes: counties, certificates, occupations, stages.

A page never shows an internal id such as ``special_equipment.forklift`` or ``6-05-01-03``: the
names come from the reference data (:mod:`data.reference`, :mod:`data.normalize`). The
functions are also Jinja filters (``{{ worker.county_code|county }}``).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import Flask

STAGE_NAMES = {
    "recommended": "已推荐",
    "applied": "已投递",
    "interviewed": "已面试",
    "hired": "已录用",
    "retained_3m": "在岗满3个月",
    "retained_6m": "在岗满6个月",
    "left": "已离职",
}
JOB_STATUS_NAMES = {"open": "招聘中", "filled": "已招满", "closed": "已关闭"}


@cache
def _counties() -> dict[str, tuple[str, str, str]]:
    from data.reference import load_counties

    return {
        r.county_code: (r.province, r.prefecture, r.county)
        for r in load_counties().itertuples(index=False)
    }


def county_label(code: str | None, *, full: bool = True) -> str:
    """``630224`` → ``海东市化隆回族自治县`` (the county alone with ``full=False``)."""
    if not code:
        return ""
    found = _counties().get(str(code))
    if found is not None:
        return f"{found[1]}{found[2]}" if full else found[2]
    from data.reference import county_name

    try:
        return county_name(str(code))
    except ValueError:
        return "未知县区"


def county_options(region_prefix: str | None = None) -> list[tuple[str, str]]:
    """(code, name) of the programme's counties, in a bureau's region when one is given."""
    return sorted(
        (
            (code, f"{p[0]}{p[1]}{p[2]}")
            for code, p in _counties().items()
            if not region_prefix or code.startswith(region_prefix)
        ),
        key=lambda item: item[0],
    )


def certificate_label(cert_id: str) -> str:
    from data.normalize import certificate_name

    try:
        return certificate_name(cert_id)
    except ValueError:
        return "未知证书"


def certificates_label(cert_ids: Any, unrecognised: Any = ()) -> str:
    """Every certificate by name, then the ones no catalogue entry matched as written."""
    names = [certificate_label(c) for c in cert_ids or []]
    names += [f"{n}（未能识别）" for n in unrecognised or []]
    return "、".join(names) if names else "无"


@cache
def _occupations() -> dict[str, str]:
    from data.reference import load_occupations

    return dict(zip(load_occupations(4)["code"], load_occupations(4)["name"], strict=True))


def occupation_label(code: str | None) -> str:
    if not code:
        return "未归类"
    return _occupations().get(code, "未归类")


def stage_label(stage: str | None) -> str:
    if not stage:
        return "尚无进展"
    return STAGE_NAMES.get(stage, "其他")


def job_status_label(status: str | None) -> str:
    return JOB_STATUS_NAMES.get(status or "", "未知")


def yes_no(value: Any) -> str:
    return "是" if value else "否"


def wage_range(low: Any, high: Any) -> str:
    if low is None and high is None:
        return ""
    if low == high:
        return f"{low} 元/月"
    return f"{low}–{high} 元/月"


def city_short(city: str | None) -> str:
    """苏州市 → 苏州 (how clerks say it)."""
    if not city:
        return ""
    return city[:-1] if city.endswith("市") and len(city) > 2 else city


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        county=county_label,
        certificate=certificate_label,
        certificates=certificates_label,
        occupation=occupation_label,
        stage=stage_label,
        job_status=job_status_label,
        yes_no=yes_no,
        city=city_short,
    )
    app.jinja_env.globals.update(wage_range=wage_range)


__all__ = [
    "JOB_STATUS_NAMES",
    "STAGE_NAMES",
    "certificate_label",
    "certificates_label",
    "city_short",
    "county_label",
    "county_options",
    "init_app",
    "job_status_label",
    "occupation_label",
    "stage_label",
    "wage_range",
    "yes_no",
]
