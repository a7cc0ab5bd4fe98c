"""The shape of the records that flow between the demo world, storage and the engine.

Every package speaks in these column names. A *table* here is a ``pandas.DataFrame``
with at least the columns listed; a *record* is one row as a ``dict``. Lists are Python
lists of ``str``; dates are ``datetime.date``; money is whole yuan per month.

Values are already normalised when they reach the engine:

* ``city`` / ``preferred_cities`` hold canonical prefecture names of Jiangsu
  (``"苏州市"``), ``district`` the county-level city or district (``"昆山市"``) or ``""``;
* ``certificates`` / ``certificates_required`` hold canonical certificate ids from
  ``data/reference/certificates.csv`` (``"special_equipment.forklift"``); names that no
  catalogue entry matches are kept in ``certificates_unrecognised`` so that nobody's input
  is lost and the engine can say what it could not use;
* ``education`` / ``education_min`` hold the canonical level label (``"初中"``), see
  :data:`EDUCATION_LEVELS`; ``education_min`` may be ``None`` (no requirement).

Protected attributes (``name``, ``gender``, ``ethnicity``) are carried for the clerks but
must never influence a ranking.
"""

from __future__ import annotations

from typing import Any

#: Ordered education levels, lowest first; equal ranks are equivalent
#: (高中 = 中专 = 技校 = 职高). 研究生 is listed so that no form value is lost.
EDUCATION_LEVELS: dict[str, int] = {
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

JOB_STATUSES = ("open", "filled", "closed")

#: Stages of an outcome event, in the order they normally happen. ``left`` ends a placement.
OUTCOME_STAGES = (
    "recommended",
    "applied",
    "interviewed",
    "hired",
    "retained_3m",
    "retained_6m",
    "left",
)

GENDERS = ("男", "女")

#: Columns of a job table.
JOB_COLUMNS: dict[str, str] = {
    "job_id": "int, unique",
    "firm_id": "int",
    "firm_name": "str",
    "title": "str, as HR wrote it (may be a marketing title such as 普工+包吃住+月入6000)",
    "description": "str, may be empty",
    "occupation_code": "str, CSCO 2022 detailed code such as 6-28-01-02, or '' when not coded",
    "city": "str, canonical Jiangsu prefecture (苏州市)",
    "district": "str, county-level city or district (昆山市) or ''",
    "wage_min": "int yuan/month",
    "wage_max": "int yuan/month, >= wage_min",
    "headcount": "int > 0",
    "hired_count": "int >= 0",
    "age_min": "int",
    "age_max": "int >= age_min",
    "education_min": "str level label or None",
    "certificates_required": "list[str] canonical certificate ids",
    "certificates_unrecognised": (
        "list[str] required certificates as written, not matched to the catalogue"
    ),
    "dormitory": "bool",
    "meals": "bool",
    "halal_canteen": "bool",
    "novice_ok": "bool, 无经验可/可培训",
    "status": "open|filled|closed",
    "posted_at": "date",
}

#: Columns of a worker table.
WORKER_COLUMNS: dict[str, str] = {
    "worker_id": "int, unique",
    "name": "str (protected: never used for ranking)",
    "id_number": "str, 18-character resident ID (GB 11643); storage keeps it encrypted",
    "gender": "男|女 (protected)",
    "ethnicity": "str such as 汉族, 回族, 撒拉族 (protected)",
    "birth_date": "date",
    "county_code": "str, 6-digit administrative code of the home county",
    "township": "str, 乡镇 (for the bureau's phone lists)",
    "village": "str, 村",
    "phone": "str, 11 digits",
    "education": "str level label",
    "skills_text": "str, colloquial experience as the clerk typed it; may be empty",
    "desired_jobs": "list[str], free text",
    "certificates": "list[str] canonical certificate ids",
    "certificates_unrecognised": "list[str] as written, not matched to the catalogue",
    "preferred_cities": "list[str] canonical prefectures; empty = anywhere",
    "min_wage": "int yuan/month, 0 = no floor",
    "needs_dormitory": "bool",
    "needs_halal": "bool, the worker's stated wish",
    "poverty_registered": "bool, 建档立卡",
    "group_id": "str, family/village group that asked to be placed together, or ''",
    "registered_at": "date",
}

#: Columns of an outcome event table.
OUTCOME_COLUMNS: dict[str, str] = {
    "worker_id": "int",
    "job_id": "int",
    "stage": "one of OUTCOME_STAGES",
    "date": "date",
}

# --------------------------------------------------------------------------- the record contract
#: Inclusive bounds of the numeric fields, the same in the API models, the import parser and
#: storage. Ages: 16 is the legal minimum working age; 100 leaves a job's upper bound free.
#: Money is whole yuan per month. A PostgreSQL INTEGER would hold more, but no wage is larger.
LIMITS: dict[str, tuple[int, int]] = {
    "age": (16, 100),
    "money": (0, 1_000_000),
    "headcount": (1, 100_000),
    "hired_count": (0, 100_000),
}

#: What an optional field of a job holds when a record leaves it out: one declaration that
#: storage (models and repository), the API models, the import parser and the engine read.
JOB_DEFAULTS: dict[str, Any] = {
    "description": "",
    "occupation_code": "",
    "district": "",
    "hired_count": 0,
    # 16 is the legal minimum working age; 60 the statutory retirement age for men.
    "age_min": 16,
    "age_max": 60,
    "education_min": None,
    "certificates_required": [],
    "certificates_unrecognised": [],
    "dormitory": False,
    "meals": False,
    "halal_canteen": False,
    "novice_ok": False,
    "status": "open",
}

#: What an optional field of a worker holds when a record leaves it out.
WORKER_DEFAULTS: dict[str, Any] = {
    "ethnicity": "",
    "township": "",
    "village": "",
    "phone": "",
    "skills_text": "",
    "desired_jobs": [],
    "certificates": [],
    "certificates_unrecognised": [],
    "preferred_cities": [],
    "min_wage": 0,
    "needs_dormitory": False,
    "needs_halal": False,
    "poverty_registered": False,
    "group_id": "",
}

#: What an optional field of a firm holds when a record leaves it out.
FIRM_DEFAULTS: dict[str, Any] = {
    "district": "",
    "industry": "",
    "contact_name": "",
    "contact_phone": "",
}


def defaults(declared: dict[str, Any]) -> dict[str, Any]:
    """A fresh copy of one of the ``*_DEFAULTS`` (lists copied, so no record shares one).

    >>> d = defaults(JOB_DEFAULTS)
    >>> d["age_max"], d["certificates_required"] is JOB_DEFAULTS["certificates_required"]
    (60, False)
    """
    return {k: list(v) if isinstance(v, list) else v for k, v in declared.items()}


def default_factory(declared: dict[str, Any], name: str) -> Any:
    """A zero-argument callable returning the default of ``name`` (for column defaults)."""
    value = declared[name]
    if isinstance(value, list):
        return lambda: list(value)
    return lambda: value


__all__ = [
    "EDUCATION_LEVELS",
    "FIRM_DEFAULTS",
    "JOB_DEFAULTS",
    "LIMITS",
    "WORKER_DEFAULTS",
    "default_factory",
    "defaults",
    "GENDERS",
    "JOB_COLUMNS",
    "JOB_STATUSES",
    "OUTCOME_COLUMNS",
    "OUTCOME_STAGES",
    "WORKER_COLUMNS",
]
