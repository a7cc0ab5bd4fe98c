"""Request and response models of the HTTP API (pydantic v2).

The same classes validate request bodies and query strings in the views and, through
``model_json_schema``, make the components of the OpenAPI document (:mod:`api.openapi`), so the
published contract is what the service accepts. Input validators normalise values as people type
them — 苏州 or 苏州市, 叉车证 or 特种设备作业人员证（叉车司机）, 初中毕业,
化隆县 or 630224 — into the
canonical values of :mod:`data.schema`; a value that cannot be understood is a 422 naming it.

Numbers are bounded (a PostgreSQL ``INTEGER`` holds 2**31-1) so that no input reaches the database
as an overflow.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from api.storage.outcomes import today_in_china
from data.idcard import validate_id_number
from data.normalize import (
    city_suggestions,
    normalize_certificates,
    normalize_city,
    normalize_county,
    normalize_education,
)
from data.schema import (
    EDUCATION_LEVELS,
    JOB_DEFAULTS,
    JOB_STATUSES,
    LIMITS,
    OUTCOME_STAGES,
    WORKER_DEFAULTS,
)

MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# Bounds and defaults come from the record contract (data.schema), shared with storage and imports.
Money = Annotated[int, Field(ge=LIMITS["money"][0], le=LIMITS["money"][1], description="元/月")]
Age = Annotated[int, Field(ge=LIMITS["age"][0], le=LIMITS["age"][1])]
Headcount = Annotated[int, Field(ge=LIMITS["headcount"][0], le=LIMITS["headcount"][1])]
ShortText = Annotated[str, StringConstraints(max_length=200)]
ListItem = Annotated[str, StringConstraints(max_length=100)]
LongText = Annotated[str, StringConstraints(max_length=5000)]
Phone = Annotated[str, StringConstraints(pattern=r"^(1\d{10})?$")]

_NO_EXTRA = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _near(value: str) -> str:
    near = city_suggestions(value)
    return f"；相近的有：{'、'.join(near)}" if near else "（可写 苏州、苏州市、昆山市）"


def _city(value: str) -> tuple[str, str]:
    found = normalize_city(value)
    if found is None:
        raise ValueError(f"城市 {value!r} 不是江苏省已知的地级市或县区{_near(value)}")
    return found


#: Characters no text field may hold: C0/C1 controls (NUL among them, which PostgreSQL refuses)
#: except tab and line breaks, and lone surrogates (not encodable, so not storable).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _no_control(value: Any) -> Any:
    texts = value if isinstance(value, list) else [value]
    for text in texts:
        if isinstance(text, str):
            found = _CONTROL.search(text)
            if found:
                code, at = ord(found.group()), found.start() + 1
                raise ValueError(f"文本中含有控制字符 U+{code:04X}（位置 {at}），请删除后再提交")
    return value


class _Request(BaseModel):
    """Base of every request model: no control characters in any text field."""

    @field_validator("*", mode="after")
    @classmethod
    def _plain_text(cls, value: Any) -> Any:
        return _no_control(value)


def _education(value: str) -> str:
    return normalize_education(value)


def _check_text(value: str, name: str) -> str:
    if not value.strip():
        raise ValueError(f"{name}不能为空")
    return value


# --------------------------------------------------------------------------- firms
class FirmCreate(_Request):
    """A Jiangsu employer."""

    model_config = ConfigDict(
        **_NO_EXTRA,
        json_schema_extra={
            "examples": [{"name": "昆山精密电子有限公司", "city": "苏州", "industry": "电子制造"}]
        },
    )

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    city: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    district: Annotated[str, StringConstraints(max_length=40)] = ""
    industry: Annotated[str, StringConstraints(max_length=100)] = ""
    contact_name: Annotated[str, StringConstraints(max_length=50)] = ""
    contact_phone: Annotated[str, StringConstraints(max_length=30)] = ""

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _check_text(v, "企业名称")

    @model_validator(mode="after")
    def _place(self) -> FirmCreate:
        city, district = _city(self.city)
        self.city = city
        if not self.district:
            self.district = district
        return self


class FirmUpdate(_Request):
    """Changes to a firm; ``version`` may stand in for ``If-Match``."""

    model_config = ConfigDict(
        **_NO_EXTRA, json_schema_extra={"examples": [{"industry": "汽车零部件"}]}
    )

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    city: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None
    district: Annotated[str, StringConstraints(max_length=40)] | None = None
    industry: Annotated[str, StringConstraints(max_length=100)] | None = None
    contact_name: Annotated[str, StringConstraints(max_length=50)] | None = None
    contact_phone: Annotated[str, StringConstraints(max_length=30)] | None = None
    version: Id | None = None

    @model_validator(mode="after")
    def _place(self) -> FirmUpdate:
        if self.name is not None:
            _check_text(self.name, "企业名称")
        if self.city is not None:
            city, district = _city(self.city)
            self.city = city
            if self.district is None:
                self.district = district
        return self


class Firm(BaseModel):
    id: int
    name: str
    city: str
    district: str
    industry: str
    contact_name: str
    contact_phone: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


# --------------------------------------------------------------------------- jobs
def _split_certs(names: list[str], unrecognised: list[str] | None) -> tuple[list[str], list[str]]:
    """(canonical ids, names no catalogue entry matches): nobody's input is dropped."""
    ids, unknown = normalize_certificates(names)
    for name in unrecognised or []:
        if name.strip() and name.strip() not in unknown:
            unknown.append(name.strip())
    return ids, unknown


class JobCreate(_Request):
    """A job posting as HR writes it."""

    model_config = ConfigDict(
        **_NO_EXTRA,
        json_schema_extra={
            "examples": [
                {
                    "firm_id": 1,
                    "title": "普工+包吃住+月入6000",
                    "description": "电子厂流水线，两班倒，无经验可",
                    "city": "苏州",
                    "headcount": 20,
                    "wage_min": 5000,
                    "wage_max": 6500,
                    "education_min": "初中",
                    "age_min": 18,
                    "age_max": 45,
                    "certificates_required": [],
                    "dormitory": True,
                    "meals": True,
                    "halal_canteen": False,
                }
            ]
        },
    )

    firm_id: Id
    title: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    description: LongText = ""
    occupation_code: Annotated[str, StringConstraints(max_length=20)] = ""
    city: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    district: Annotated[str, StringConstraints(max_length=40)] = ""
    headcount: Headcount
    wage_min: Money
    wage_max: Money
    education_min: Annotated[str, StringConstraints(max_length=20)] | None = None
    age_min: Age = JOB_DEFAULTS["age_min"]
    age_max: Age = JOB_DEFAULTS["age_max"]
    certificates_required: Annotated[list[ListItem], Field(max_length=30)] = Field(
        [],
        description=(
            "证书名称照常书写（叉车证、低压电工证）；无法识别的名称存入 certificates_unrecognised"
        ),
    )
    certificates_unrecognised: Annotated[list[ListItem], Field(max_length=30)] = []
    dormitory: bool = False
    meals: bool = False
    halal_canteen: bool = False
    novice_ok: bool = False
    status: Literal["open", "filled", "closed"] = "open"

    @field_validator("title")
    @classmethod
    def _title(cls, v: str) -> str:
        return _check_text(v, "岗位名称")

    @field_validator("education_min")
    @classmethod
    def _edu(cls, v: str | None) -> str | None:
        return None if v in (None, "", "不限") else _education(v)

    @model_validator(mode="after")
    def _ranges(self) -> JobCreate:
        self.certificates_required, self.certificates_unrecognised = _split_certs(
            self.certificates_required, self.certificates_unrecognised
        )
        if self.wage_min > self.wage_max:
            raise ValueError(f"最低工资 {self.wage_min} 高于最高工资 {self.wage_max}")
        if self.age_min > self.age_max:
            raise ValueError(f"最小年龄 {self.age_min} 大于最大年龄 {self.age_max}")
        city, district = _city(self.city)
        self.city = city
        if not self.district:
            self.district = district
        return self


class JobUpdate(_Request):
    """Changes to a job; ranges are checked against the stored values too."""

    model_config = ConfigDict(
        **_NO_EXTRA, json_schema_extra={"examples": [{"headcount": 30, "wage_max": 7000}]}
    )

    title: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    description: LongText | None = None
    occupation_code: Annotated[str, StringConstraints(max_length=20)] | None = None
    city: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None
    district: Annotated[str, StringConstraints(max_length=40)] | None = None
    headcount: Headcount | None = None
    wage_min: Money | None = None
    wage_max: Money | None = None
    education_min: Annotated[str, StringConstraints(max_length=20)] | None = None
    age_min: Age | None = None
    age_max: Age | None = None
    certificates_required: Annotated[list[ListItem], Field(max_length=30)] | None = None
    certificates_unrecognised: Annotated[list[ListItem], Field(max_length=30)] | None = None
    dormitory: bool | None = None
    meals: bool | None = None
    halal_canteen: bool | None = None
    novice_ok: bool | None = None
    status: Literal["open", "filled", "closed"] | None = None
    version: Id | None = None

    @field_validator("title")
    @classmethod
    def _title(cls, v: str | None) -> str | None:
        return None if v is None else _check_text(v, "岗位名称")

    @field_validator("education_min")
    @classmethod
    def _edu(cls, v: str | None) -> str | None:
        return None if v in (None, "", "不限") else _education(v)

    @model_validator(mode="after")
    def _place(self) -> JobUpdate:
        if self.certificates_required is not None:
            self.certificates_required, self.certificates_unrecognised = _split_certs(
                self.certificates_required, self.certificates_unrecognised
            )
        if self.city is not None:
            city, district = _city(self.city)
            self.city = city
            if self.district is None:
                self.district = district
        return self


class Job(BaseModel):
    id: int
    job_id: int
    firm_id: int
    firm_name: str
    title: str
    description: str
    occupation_code: str
    city: str
    district: str
    wage_min: int
    wage_max: int
    headcount: int
    hired_count: int
    age_min: int
    age_max: int
    education_min: str | None
    certificates_required: list[str]
    certificates_unrecognised: list[str] = []
    dormitory: bool
    meals: bool
    halal_canteen: bool
    novice_ok: bool
    status: str
    posted_at: dt.date
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class JobQuery(_Request):
    """Filters and page of ``GET /jobs``."""

    model_config = _NO_EXTRA

    status: Literal["open", "filled", "closed"] | None = Field(None, description="岗位状态")
    city: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        None, description="城市（苏州 或 苏州市）"
    )
    occupation_code: Annotated[str, StringConstraints(max_length=20)] | None = None
    firm_id: Id | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    offset: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    after: Annotated[int, Field(ge=0, le=MAX_ID)] | None = Field(
        None, description="游标：上一页 next 的 after 值"
    )

    @field_validator("city")
    @classmethod
    def _c(cls, v: str | None) -> str | None:
        return None if not v else _city(v)[0]


# --------------------------------------------------------------------------- workers
def _cities(values: list[str]) -> list[str]:
    out: list[str] = []
    bad: list[str] = []
    for value in values:
        found = normalize_city(value)
        if found is None:
            bad.append(value)
        elif found[0] not in out:
            out.append(found[0])
    if bad:
        raise ValueError(f"期望城市 {'、'.join(bad)} 不是江苏省已知的城市{_near(bad[0])}")
    return out


class _WorkerFields(_Request):
    @field_validator("id_number", check_fields=False)
    @classmethod
    def _id(cls, v: str | None) -> str | None:
        return None if v is None else validate_id_number(v)

    @field_validator("county_code", check_fields=False)
    @classmethod
    def _county(cls, v: str | None) -> str | None:
        return None if v is None else normalize_county(v)

    @field_validator("education", check_fields=False)
    @classmethod
    def _edu(cls, v: str | None) -> str | None:
        return None if v is None else _education(v)

    @field_validator("preferred_cities", check_fields=False)
    @classmethod
    def _pref(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else _cities(v)

    @field_validator("birth_date", check_fields=False)
    @classmethod
    def _birth(cls, v: dt.date | None) -> dt.date | None:
        if v is not None and not (dt.date(1900, 1, 1) <= v <= dt.date.today()):
            raise ValueError(f"出生日期 {v.isoformat()} 不合理")
        return v

    @field_validator("name", check_fields=False)
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        return None if v is None else _check_text(v, "姓名")

    def stored_values(self, *, exclude_unset: bool) -> dict[str, Any]:
        """The record for storage: certificates split into canonical ids and unrecognised names."""
        values = self.model_dump(exclude_unset=exclude_unset, exclude={"version"})
        if exclude_unset:
            values = {k: v for k, v in values.items() if v is not None}
        if "certificates" in values:
            ids, unknown = normalize_certificates(values["certificates"])
            values["certificates"] = ids
            values["certificates_unrecognised"] = unknown
        return values


class WorkerCreate(_WorkerFields):
    """A worker as the county clerk registers them."""

    model_config = ConfigDict(
        **_NO_EXTRA,
        json_schema_extra={
            "examples": [
                {
                    "name": "马小军",
                    "id_number": "630224199005170253",
                    "gender": "男",
                    "birth_date": "1990-05-17",
                    "county_code": "630224",
                    "phone": "13800000000",
                    "education": "初中",
                    "skills_text": "在西宁干过两年电焊，会开叉车",
                    "desired_jobs": ["焊工", "叉车司机"],
                    "certificates": ["叉车证"],
                    "preferred_cities": ["苏州"],
                    "min_wage": 4500,
                    "needs_dormitory": True,
                    "needs_halal": True,
                    "poverty_registered": True,
                }
            ]
        },
    )

    name: Annotated[str, StringConstraints(min_length=1, max_length=50)]
    id_number: Annotated[str, StringConstraints(min_length=15, max_length=20)]
    gender: Literal["男", "女"]
    ethnicity: Annotated[str, StringConstraints(max_length=20)] = ""
    birth_date: dt.date
    county_code: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    township: Annotated[str, StringConstraints(max_length=50)] = ""
    village: Annotated[str, StringConstraints(max_length=50)] = ""
    phone: Phone = ""
    education: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    skills_text: LongText = ""
    desired_jobs: Annotated[list[ListItem], Field(max_length=20)] = []
    certificates: Annotated[list[ListItem], Field(max_length=30)] = []
    preferred_cities: Annotated[list[ListItem], Field(max_length=13)] = []
    min_wage: Money = WORKER_DEFAULTS["min_wage"]
    needs_dormitory: bool = False
    needs_halal: bool = False
    poverty_registered: bool = False
    group_id: Annotated[str, StringConstraints(max_length=50)] = ""


class WorkerUpdate(_WorkerFields):
    """Changes to a worker; ``version`` may stand in for ``If-Match``."""

    model_config = ConfigDict(
        **_NO_EXTRA, json_schema_extra={"examples": [{"phone": "13900000000", "min_wage": 5000}]}
    )

    name: Annotated[str, StringConstraints(min_length=1, max_length=50)] | None = None
    id_number: Annotated[str, StringConstraints(min_length=15, max_length=20)] | None = None
    gender: Literal["男", "女"] | None = None
    ethnicity: Annotated[str, StringConstraints(max_length=20)] | None = None
    birth_date: dt.date | None = None
    county_code: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None
    township: Annotated[str, StringConstraints(max_length=50)] | None = None
    village: Annotated[str, StringConstraints(max_length=50)] | None = None
    phone: Phone | None = None
    education: Annotated[str, StringConstraints(min_length=1, max_length=20)] | None = None
    skills_text: LongText | None = None
    desired_jobs: Annotated[list[ListItem], Field(max_length=20)] | None = None
    certificates: Annotated[list[ListItem], Field(max_length=30)] | None = None
    preferred_cities: Annotated[list[ListItem], Field(max_length=13)] | None = None
    min_wage: Money | None = None
    needs_dormitory: bool | None = None
    needs_halal: bool | None = None
    poverty_registered: bool | None = None
    group_id: Annotated[str, StringConstraints(max_length=50)] | None = None
    version: Id | None = None


#: Fields of a worker that identify or locate a person: shown only to admin and the worker's bureau.
PERSONAL_FIELDS = (
    "name",
    "id_number",
    "gender",
    "ethnicity",
    "birth_date",
    "phone",
    "township",
    "village",
)


class WorkerPublic(BaseModel):
    """A worker without personal fields (what an organiser may read)."""

    id: int
    worker_id: int
    county_code: str
    education: str
    skills_text: str
    desired_jobs: list[str]
    certificates: list[str]
    certificates_unrecognised: list[str]
    preferred_cities: list[str]
    min_wage: int
    needs_dormitory: bool
    needs_halal: bool
    poverty_registered: bool
    group_id: str
    registered_at: dt.date
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class Worker(WorkerPublic):
    """A worker in full (admin; the bureau of the worker's county)."""

    name: str | None = None
    id_number: str | None = None
    id_masked: str | None = None
    gender: str | None = None
    ethnicity: str | None = None
    birth_date: dt.date | None = None
    phone: str | None = None
    township: str | None = None
    village: str | None = None


class WorkerQuery(_Request):
    """Filters and page of ``GET /workers``."""

    model_config = _NO_EXTRA

    county_code: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        None, description="县区代码或名称"
    )
    poverty_registered: bool | None = Field(None, description="只看建档立卡户")
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    offset: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    after: Annotated[int, Field(ge=0, le=MAX_ID)] | None = Field(
        None, description="游标：上一页 next 的 after 值"
    )

    @field_validator("county_code")
    @classmethod
    def _county(cls, v: str | None) -> str | None:
        return None if not v else normalize_county(v)


class Page(BaseModel):
    """A page of a list: ``next`` is the URL of the following page, or null on the last."""

    items: list[dict[str, Any]]
    next: str | None
    total: int | None = None


class FirmPage(Page):
    items: list[Firm]  # type: ignore[assignment]


class JobPage(Page):
    items: list[Job]  # type: ignore[assignment]


class WorkerPage(Page):
    items: list[Worker]  # type: ignore[assignment]


class ListQuery(_Request):
    """Page of a plain list."""

    model_config = _NO_EXTRA

    name_contains: Annotated[str, StringConstraints(max_length=100)] | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    offset: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    after: Annotated[int, Field(ge=0, le=MAX_ID)] | None = None


# --------------------------------------------------------------------------- matches
class MatchQuery(_Request):
    model_config = _NO_EXTRA

    limit: Annotated[int, Field(ge=1, le=100)] = 10


class JobMatch(BaseModel):
    """A job recommended to a worker, best first."""

    job_id: int
    score: float
    reasons: list[str]
    rank: int
    p_success: float | None = None
    title: str | None = None
    firm_id: int | None = None
    firm_name: str | None = None
    city: str | None = None
    wage_min: int | None = None
    wage_max: int | None = None


class WorkerMatch(BaseModel):
    """A worker recommended for a job, best first (ID number and phone masked for HR)."""

    worker_id: int
    score: float
    reasons: list[str]
    rank: int
    p_success: float | None = None
    name: str | None = None
    id_number: str | None = None
    phone: str | None = None
    county_code: str | None = None
    education: str | None = None


class JobMatches(BaseModel):
    items: list[JobMatch]
    model_version: str | None = None
    notice: str | None = Field(
        None,
        description="硬性条件下没有该劳动力本行当的岗位时的说明"
        "（如“暂无同时提供清真食堂和宿舍的缝纫工岗位，以下为其他可选岗位”），否则为 null",
    )


class WorkerMatches(BaseModel):
    items: list[WorkerMatch]
    model_version: str | None = None


# --------------------------------------------------------------------------- outcomes, reports
class OutcomeCreate(_Request):
    """One step of a placement."""

    model_config = ConfigDict(
        **_NO_EXTRA,
        json_schema_extra={
            "examples": [{"worker_id": 1, "job_id": 1, "stage": "hired", "date": "2026-03-01"}]
        },
    )

    worker_id: Id
    job_id: Id
    stage: Literal["applied", "interviewed", "hired", "retained_3m", "retained_6m", "left"]
    date: dt.date
    corrects: Id | None = Field(
        None,
        description=(
            "更正：被更正的就业结果 ID（同一劳动力与岗位）。原记录保留，不再计入统计与训练"
        ),
    )

    @field_validator("date")
    @classmethod
    def _d(cls, v: dt.date) -> dt.date:
        # A loose bound only (storage checks the exact one, today in China, with its own
        # message): the server's clock may be UTC, a day behind China's in the evening.
        if not (dt.date(2000, 1, 1) <= v <= today_in_china() + dt.timedelta(days=1)):
            raise ValueError(f"日期 {v.isoformat()} 不合理（应在 2000-01-01 与今天之间）")
        return v


class Outcome(BaseModel):
    id: int
    worker_id: int
    job_id: int
    stage: str
    date: dt.date
    corrects: int | None = None
    created_at: dt.datetime


class SummaryQuery(_Request):
    model_config = _NO_EXTRA

    by: Literal["county", "city", "occupation"] = "county"


class SummaryRow(BaseModel):
    key: str
    label: str
    registered: int
    recommended: int
    hired: int
    retained_3m: int
    retained_6m: int


class Summary(BaseModel):
    by: str
    items: list[SummaryRow]


# --------------------------------------------------------------------------- imports / exports
class ImportQuery(_Request):
    model_config = _NO_EXTRA

    skip_invalid: bool = Field(
        False, description="true：保存合格行并列出不合格行；false：全部合格才保存"
    )
    create_firms: bool = Field(
        False,
        description="仅管理员：true 时登记文件中尚未登记的企业名称；默认拒绝这些行并指明行号",
    )


class ImportResult(BaseModel):
    created: int
    ids: list[int]
    rejected: list[dict[str, Any]]


class ExportQuery(_Request):
    model_config = _NO_EXTRA

    format: Literal["csv", "xlsx"] = "csv"


# --------------------------------------------------------------------------- health
class Health(BaseModel):
    status: Literal["ok"]
    database: str
    model_version: str | None
    engine_loaded: bool


# --------------------------------------------------------------------------- allocations
class AllocationOptions(_Request):
    model_config = _NO_EXTRA

    poverty_priority: Annotated[float, Field(ge=0, le=1)] = Field(
        0.1, description="建档立卡户优先：加到其成功概率上的分值（0 表示不优先）"
    )
    max_per_firm: Annotated[int, Field(ge=1, le=100_000)] | None = Field(
        None, description="每家企业最多分配人数"
    )
    keep_groups: bool = Field(True, description="同组（家庭、同村）的人安排在同一城市")
    candidates_per_worker: Annotated[int, Field(ge=1, le=200)] = 50


class AllocationCreate(_Request):
    """Place a county's (or a list of) registered workers on open jobs at once."""

    model_config = ConfigDict(
        **_NO_EXTRA,
        json_schema_extra={"examples": [{"counties": ["630224"], "mode": "welfare"}]},
    )

    counties: Annotated[
        list[Annotated[str, StringConstraints(max_length=40)]], Field(max_length=100)
    ] = []
    worker_ids: Annotated[list[Id], Field(max_length=100_000)] = []
    mode: Literal["welfare", "stable"] = "welfare"
    options: AllocationOptions = AllocationOptions()

    @field_validator("counties")
    @classmethod
    def _counties(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(normalize_county(c) for c in v))

    @model_validator(mode="after")
    def _some(self) -> AllocationCreate:
        if not self.counties and not self.worker_ids:
            raise ValueError("请给出县区（counties）或劳动力名单（worker_ids）")
        return self


class Assignment(BaseModel):
    worker_id: int
    job_id: int
    score: float
    reasons: list[str]


class Allocation(BaseModel):
    id: int
    mode: str
    assignments: list[Assignment]
    unassigned: list[dict[str, Any]]
    stats: dict[str, Any]
    created_at: dt.datetime
    status: Literal["proposed", "confirmed"] = "proposed"
    confirmed_at: dt.datetime | None = None
    confirmed_by: str | None = None
    dropped: list[dict[str, Any]] = []


class AllocationDrop(_Request):
    """Proposals a clerk takes out of a proposed allocation before confirming it."""

    model_config = ConfigDict(**_NO_EXTRA, json_schema_extra={"examples": [{"worker_ids": [1]}]})

    worker_ids: Annotated[list[Id], Field(min_length=1, max_length=100_000)]


# --------------------------------------------------------------------------- fairs
class FairCreate(_Request):
    """A dedicated job fair (专场招聘) in a western county."""

    model_config = ConfigDict(
        **_NO_EXTRA,
        json_schema_extra={
            "examples": [
                {
                    "name": "化隆县2026年春风行动苏州专场招聘会",
                    "county_code": "630224",
                    "date": "2026-03-01",
                    "start_time": "09:00",
                    "end_time": "12:00",
                    "slot_minutes": 15,
                    "booths": 10,
                }
            ]
        },
    )

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    county_code: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    date: dt.date
    start_time: dt.time
    end_time: dt.time
    slot_minutes: Annotated[int, Field(ge=5, le=240)] = 15
    booths: Annotated[int, Field(ge=1, le=1000)]

    @field_validator("county_code")
    @classmethod
    def _county(cls, v: str) -> str:
        return normalize_county(v)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _check_text(v, "招聘会名称")

    @field_validator("start_time", "end_time")
    @classmethod
    def _naive(cls, v: dt.time) -> dt.time:
        # Fair times are local wall-clock times of the county; an offset would mean nothing.
        return v.replace(tzinfo=None, microsecond=0)

    @model_validator(mode="after")
    def _times(self) -> FairCreate:
        if self.end_time <= self.start_time:
            raise ValueError(
                f"结束时间 {self.end_time.isoformat('minutes')} "
                f"不晚于开始时间 {self.start_time.isoformat('minutes')}"
            )
        minutes = (
            dt.datetime.combine(self.date, self.end_time)
            - dt.datetime.combine(self.date, self.start_time)
        ).total_seconds() / 60
        if self.slot_minutes > minutes:
            raise ValueError(
                f"每场面试 {self.slot_minutes} 分钟，长于招聘会时长 {minutes:.0f} 分钟"
            )
        return self


class FairPlanRequest(_Request):
    model_config = ConfigDict(
        **_NO_EXTRA, json_schema_extra={"examples": [{"max_firms": 10, "max_workers": 200}]}
    )

    max_firms: Annotated[int, Field(ge=1, le=1000)] | None = None
    max_workers: Annotated[int, Field(ge=1, le=20_000)] | None = None
    time_limit_s: Annotated[float, Field(gt=0, le=120)] = 20.0
    firm_ids: Annotated[
        list[Id], Field(max_length=1000, description="只从这些企业的在招岗位中挑选（留空：不限）")
    ] = []
    job_ids: Annotated[
        list[Id], Field(max_length=5000, description="只从这些岗位中挑选（与 firm_ids 合并）")
    ] = []
    worker_ids: Annotated[
        list[Id], Field(max_length=20_000, description="只邀请这些本县劳动力（留空：全县）")
    ] = []


class FairReplanRequest(_Request):
    model_config = ConfigDict(
        **_NO_EXTRA, json_schema_extra={"examples": [{"cancel_firms": [1], "absent_workers": []}]}
    )

    cancel_firms: Annotated[list[Id], Field(max_length=1000)] = []
    absent_workers: Annotated[list[Id], Field(max_length=20_000)] = []
    time_limit_s: Annotated[float, Field(gt=0, le=120)] = 20.0

    @model_validator(mode="after")
    def _some_change(self) -> FairReplanRequest:
        if not self.cancel_firms and not self.absent_workers:
            raise ValueError("请给出取消的企业（cancel_firms）或不能到场的劳动力（absent_workers）")
        return self


class FairStatusChange(_Request):
    """publish: 已规划 → 已发布；finish: 已发布 → 已结束；cancel: 未结束 → 已取消。"""

    model_config = ConfigDict(**_NO_EXTRA, json_schema_extra={"examples": [{"action": "publish"}]})

    action: Literal["publish", "finish", "cancel"]


class FairRefillRequest(_Request):
    """Fill the places freed by cancelled interviews; every other interview stays put."""

    model_config = ConfigDict(**_NO_EXTRA, json_schema_extra={"examples": [{"time_limit_s": 10}]})

    time_limit_s: Annotated[float, Field(gt=0, le=120)] = 20.0


class FairInterviewRef(_Request):
    """One scheduled interview of a fair: the worker and the firm (one interview per pair)."""

    model_config = ConfigDict(
        **_NO_EXTRA, json_schema_extra={"examples": [{"worker_id": 1, "firm_id": 1}]}
    )

    worker_id: Id
    firm_id: Id


class FairMoveRequest(FairInterviewRef):
    """Move one interview to another slot at its booth (refused when it would clash)."""

    model_config = ConfigDict(
        **_NO_EXTRA,
        json_schema_extra={
            "examples": [{"worker_id": 1, "firm_id": 1, "start": "2026-04-01T09:20:00"}]
        },
    )

    start: Annotated[dt.datetime, Field(description="新时段的开始时间（本场招聘会的一个时段）")]


class Fair(BaseModel):
    id: int
    name: str
    county_code: str
    date: dt.date
    start_time: str
    end_time: str
    slot_minutes: int
    booths: int
    status: str
    version: int
    firms: list[dict[str, Any]] = []
    invitations: list[dict[str, Any]] = []
    interviews: list[dict[str, Any]] = []
    unscheduled: list[dict[str, Any]] = []
    solver: dict[str, Any] | None = None
    changes: list[dict[str, Any]] | None = None


class FairListQuery(_Request):
    model_config = _NO_EXTRA

    format: Literal["xlsx", "csv", "html"] = "html"


class OpenAPIDocument(BaseModel):
    """The OpenAPI 3.1 document of this service."""

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
    components: dict[str, Any]


class Problem(BaseModel):
    """RFC 9457 problem details: every error body."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None


__all__ = [
    "EDUCATION_LEVELS",
    "JOB_STATUSES",
    "OUTCOME_STAGES",
    "PERSONAL_FIELDS",
    "Allocation",
    "AllocationCreate",
    "Fair",
    "FairCreate",
    "FairPlanRequest",
    "FairReplanRequest",
    "Firm",
    "FirmCreate",
    "FirmUpdate",
    "Health",
    "Job",
    "JobCreate",
    "JobMatches",
    "JobQuery",
    "JobUpdate",
    "OutcomeCreate",
    "Page",
    "Problem",
    "Summary",
    "Worker",
    "WorkerCreate",
    "WorkerMatches",
    "WorkerPublic",
    "WorkerQuery",
    "WorkerUpdate",
]
