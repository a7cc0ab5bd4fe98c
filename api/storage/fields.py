"""What a firm, a job or a worker record may hold, and its stored form.

One spec per record (``name: (kind, required)``) and the plain functions that check a record
against it: every problem is collected into one :class:`~api.storage.errors.Invalid` with a
Chinese sentence per field. The API, the pages and ``jobbridge import`` all store through these.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from data.schema import EDUCATION_LEVELS, GENDERS, JOB_DEFAULTS, JOB_STATUSES

from .errors import Invalid

# kind: str | text | int | bool | date | list | education | status | gender | county
FIRM_FIELDS: dict[str, tuple[str, bool]] = {
    "name": ("str", True),
    "city": ("str", False),
    "district": ("str", False),
    "industry": ("str", False),
    "contact_name": ("str", False),
    "contact_phone": ("str", False),
}
JOB_FIELDS: dict[str, tuple[str, bool]] = {
    "firm_id": ("int", True),
    "title": ("str", True),
    "description": ("str", False),
    "occupation_code": ("str", False),
    "city": ("str", True),
    "district": ("str", False),
    "wage_min": ("int", True),
    "wage_max": ("int", True),
    "headcount": ("int", True),
    "hired_count": ("int", False),
    "age_min": ("int", False),
    "age_max": ("int", False),
    "education_min": ("education_or_none", False),
    "certificates_required": ("list", False),
    "certificates_unrecognised": ("list", False),
    "dormitory": ("bool", False),
    "meals": ("bool", False),
    "halal_canteen": ("bool", False),
    "novice_ok": ("bool", False),
    "status": ("status", False),
    "posted_at": ("date", False),
}
WORKER_FIELDS: dict[str, tuple[str, bool]] = {
    "name": ("str", True),
    "gender": ("gender", True),
    "ethnicity": ("str", False),
    "birth_date": ("date", True),
    "county_code": ("county", True),
    "township": ("str", False),
    "village": ("str", False),
    "phone": ("str", False),
    "education": ("education", True),
    "skills_text": ("str", False),
    "desired_jobs": ("list", False),
    "certificates": ("list", False),
    "certificates_unrecognised": ("list", False),
    "preferred_cities": ("list", False),
    "min_wage": ("int", False),
    "needs_dormitory": ("bool", False),
    "needs_halal": ("bool", False),
    "poverty_registered": ("bool", False),
    "group_id": ("str", False),
    "registered_at": ("date", False),
}
#: Keys a record may carry that are not editable fields (ignored on create, refused on update).
IGNORED_ON_CREATE = {
    "job_id",
    "worker_id",
    "firm_name",
    "version",
    "created_at",
    "updated_at",
    "id",
    "id_masked",
    "row",
}


#: Types whose values are never a missing marker (``pd.isna`` is False for all of them).
_NEVER_MISSING = frozenset({str, int, bool, list, tuple, dict, dt.date})


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    if type(value) in _NEVER_MISSING:  # the common cells, without pandas' per-call cost
        return False
    try:
        return bool(pd.isna(value)) if not isinstance(value, list | tuple | dict) else False
    except (TypeError, ValueError):
        return False


def coerce(kind: str, name: str, value: Any) -> Any:
    """Return the stored form of ``value`` or raise ``ValueError`` with a Chinese sentence."""
    if kind == "education_or_none":
        if is_missing(value) or value == "":
            return None
        kind = "education"
    if is_missing(value):
        raise ValueError(f"{name} 不能为空")
    if kind == "str":
        if not isinstance(value, str):
            raise ValueError(f"{name} 应为文本，收到 {value!r}")
        return value.strip()
    if kind == "int":
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float | str)
            and not hasattr(value, "__index__")
        ):
            raise ValueError(f"{name} 应为整数，收到 {value!r}")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"{name} 应为整数，收到 {value!r}") from None
        if not number.is_integer():
            raise ValueError(f"{name} 应为整数，收到 {value!r}")
        return int(number)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if hasattr(value, "item") and isinstance(value.item(), bool):
            return bool(value.item())
        raise ValueError(f"{name} 应为 true/false，收到 {value!r}")
    if kind == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                raise ValueError(f"{name} 应为日期 YYYY-MM-DD，收到 {value!r}") from None
        raise ValueError(f"{name} 应为日期 YYYY-MM-DD，收到 {value!r}")
    if kind == "list":
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{name} 应为文本列表，收到 {value!r}")
        return [v.strip() for v in value if v.strip()]
    if kind == "education":
        if value not in EDUCATION_LEVELS:
            raise ValueError(f"{name} {value!r} 不是已知学历，可选：{'、'.join(EDUCATION_LEVELS)}")
        return value
    if kind == "status":
        if value not in JOB_STATUSES:
            raise ValueError(f"{name} {value!r} 不是已知状态，可选：{', '.join(JOB_STATUSES)}")
        return value
    if kind == "gender":
        if value not in GENDERS:
            raise ValueError(f"{name} {value!r} 应为 男 或 女")
        return value
    if kind == "county":
        if not isinstance(value, str) or not re.fullmatch(r"\d{6}", value.strip()):
            raise ValueError(f"{name} {value!r} 应为 6 位行政区划代码")
        return value.strip()
    raise AssertionError(f"unknown field kind {kind!r}")


def clean(
    spec: Mapping[str, tuple[str, bool]],
    data: Mapping[str, Any],
    *,
    partial: bool,
    extra_allowed: Iterable[str] = (),
) -> dict[str, Any]:
    """Validate ``data`` against ``spec``; collect every problem into one :class:`Invalid`."""
    errors: list[dict[str, Any]] = []
    out: dict[str, Any] = {}
    allowed = set(extra_allowed)
    for key in data:
        if (
            key not in spec
            and key not in allowed
            and not (not partial and key in IGNORED_ON_CREATE)
        ):
            errors.append(
                {
                    "row": None,
                    "field": key,
                    "message": f"未知字段 {key!r}，可用字段：{', '.join(spec)}",
                }
            )
    for name, (kind, required) in spec.items():
        if name not in data:
            if required and not partial:
                errors.append({"row": None, "field": name, "message": f"缺少必填字段 {name}"})
            continue
        try:
            out[name] = coerce(kind, name, data[name])
        except ValueError as exc:
            errors.append({"row": None, "field": name, "message": str(exc)})
    if errors:
        raise Invalid(errors)
    return out


def check_job_ranges(values: Mapping[str, Any]) -> None:
    errors = []
    if values.get("wage_min", 0) > values.get("wage_max", 10**9):
        errors.append(
            {
                "row": None,
                "field": "wage_min",
                "message": f"最低工资 {values['wage_min']} 高于最高工资 {values['wage_max']}",
            }
        )
    if values.get("age_min", JOB_DEFAULTS["age_min"]) > values.get(
        "age_max", JOB_DEFAULTS["age_max"]
    ):
        errors.append(
            {
                "row": None,
                "field": "age_min",
                "message": f"最小年龄 {values['age_min']} 大于最大年龄 {values['age_max']}",
            }
        )
    if "headcount" in values and values["headcount"] <= 0:
        errors.append(
            {
                "row": None,
                "field": "headcount",
                "message": f"招聘人数 {values['headcount']} 必须大于 0",
            }
        )
    if values.get("hired_count", 0) < 0:
        errors.append(
            {
                "row": None,
                "field": "hired_count",
                "message": f"已录用人数 {values['hired_count']} 不能为负",
            }
        )
    for name in ("wage_min", "wage_max"):
        if values.get(name, 0) < 0:
            errors.append(
                {"row": None, "field": name, "message": f"{name} {values[name]} 不能为负"}
            )
    if errors:
        raise Invalid(errors)
