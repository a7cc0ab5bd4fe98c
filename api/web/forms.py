"""What the pages do with a form, as plain functions: form → the API's request model → storage.

The forms are validated by the same pydantic models as the JSON API (:mod:`api.schemas`), so a
page and the API refuse the same values with the same Chinese words; each error is keyed by the
form field it belongs to, and the typed values come back for the form to show again. Writes go
through the storage functions the API views call, with the same scope checks and audit rows.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from werkzeug.datastructures import MultiDict

from api import auth, storage
from api import schemas as s
from api.errors import ApiError, pydantic_errors
from api.service import audit, begin_write, commit, get_protector, get_session
from api.storage.errors import DuplicateWorker, Invalid, StaleVersion, StorageError
from api.storage.outcomes import today_in_china

#: Form fields of a worker, with their labels (the order of the form).
WORKER_FIELDS: dict[str, str] = {
    "name": "姓名",
    "id_number": "身份证号",
    "gender": "性别",
    "birth_date": "出生日期",
    "ethnicity": "民族",
    "county_code": "户籍县区",
    "township": "乡镇",
    "village": "村",
    "phone": "手机号",
    "education": "学历",
    "skills_text": "技能与工作经历",
    "desired_jobs": "意向工种",
    "certificates": "证书",
    "preferred_cities": "意向城市",
    "min_wage": "期望月薪（元）",
    "needs_dormitory": "需要宿舍",
    "needs_halal": "需要清真餐",
    "poverty_registered": "建档立卡户",
}

JOB_FIELDS: dict[str, str] = {
    "title": "岗位名称",
    "description": "岗位描述",
    "city": "工作城市",
    "district": "区县",
    "headcount": "招聘人数",
    "wage_min": "最低月薪（元）",
    "wage_max": "最高月薪（元）",
    "education_min": "最低学历",
    "age_min": "最小年龄",
    "age_max": "最大年龄",
    "certificates_required": "所需证书",
    "dormitory": "提供宿舍",
    "meals": "包餐",
    "halal_canteen": "清真食堂",
    "novice_ok": "接受新手",
}

_LIST_FIELDS = {"desired_jobs", "certificates", "preferred_cities", "certificates_required"}
_BOOL_FIELDS = {
    "needs_dormitory",
    "needs_halal",
    "poverty_registered",
    "dormitory",
    "meals",
    "halal_canteen",
    "novice_ok",
}
_INT_FIELDS = {"min_wage", "headcount", "wage_min", "wage_max", "age_min", "age_max"}
_DATE_FIELDS = {"birth_date"}
_SPLIT = re.compile(r"[、，,；;\s]+")


@dataclass
class FormResult:
    """The outcome of a form: the stored object, or the errors by field and the typed values."""

    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    obj: Any = None
    #: An error about the whole form (not one field), shown above it.
    general: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors and self.general is None


def split_list(text: str) -> list[str]:
    """``焊工、叉车司机, 电工`` → ``['焊工', '叉车司机', '电工']``."""
    return [part for part in _SPLIT.split(text or "") if part]


def form_values(form: MultiDict, fields: dict[str, str]) -> dict[str, Any]:
    """What was typed, as the form shows it again (text as typed, checkboxes as booleans)."""
    values: dict[str, Any] = {}
    for name in fields:
        if name in _BOOL_FIELDS:
            values[name] = form.get(name) in ("1", "on", "true", "是")
        else:
            values[name] = (form.get(name) or "").strip()
    return values


def _model_input(values: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """Form text → the types the API's JSON carries. Empty text is left out (a missing field),
    so that pydantic names what is required and applies the API's defaults otherwise."""
    data: dict[str, Any] = {}
    for name, value in values.items():
        if name in _BOOL_FIELDS:
            data[name] = bool(value)
        elif value == "" or value is None:
            if partial and name in _LIST_FIELDS:
                data[name] = []
            continue
        elif name in _LIST_FIELDS:
            data[name] = split_list(value)
        elif name in _INT_FIELDS:
            data[name] = int(value) if re.fullmatch(r"-?\d{1,12}", value) else value
        elif name in _DATE_FIELDS:
            try:
                data[name] = dt.date.fromisoformat(value)
            except ValueError:
                data[name] = value
        else:
            data[name] = value
    return data


#: The API models check some fields together, after each field alone (a city against the
#: place names, a wage or age range): their errors name no field, so the page puts them next to
#: the field their sentence begins with.
_WHOLE_MODEL_ERRORS = {"城市": "city", "最低工资": "wage_max", "最小年龄": "age_max"}


def _errors_by_field(errors: list[dict[str, Any]], labels: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for error in errors:
        name = str(error.get("field") or "").split(".")[0]
        message = str(error.get("message") or "")
        if name not in labels:
            name = next(
                (f for word, f in _WHOLE_MODEL_ERRORS.items() if message.startswith(word)),
                "__all__",
            )
            if name not in labels:
                name = "__all__"
        if error.get("type") == "missing":
            message = f"请填写{labels.get(name, '')}"
        out.setdefault(name, message)
    return out


def validate(
    model: type[BaseModel], values: dict[str, Any], labels: dict[str, str], **extra: Any
) -> tuple[BaseModel | None, dict[str, str]]:
    """Validate form values with an API model; errors by form field, in Chinese."""
    data = _model_input(values, partial=False)
    data.update(extra)
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        return None, _errors_by_field(_with_types(exc), labels)


def _with_types(exc: ValidationError) -> list[dict[str, Any]]:
    """The API's Chinese messages of a pydantic error, each with its error type."""
    out = []
    for item, err in zip(pydantic_errors(exc), exc.errors(include_url=False), strict=True):
        item = {**item, "type": err.get("type")}
        if err.get("type") == "value_error" and (err.get("ctx") or {}).get("error"):
            # Our validators' own sentence, without pydantic's English prefix.
            item["message"] = str(err["ctx"]["error"])
        out.append(item)
    return out


def _split_general(result: FormResult) -> FormResult:
    if "__all__" in result.errors:
        result.general = result.errors.pop("__all__")
    return result


# --------------------------------------------------------------------------- workers
def fill_from_id_number(values: dict[str, Any]) -> None:
    """Birth date and gender are written in a valid ID number: fill them when left empty."""
    from data.idcard import birth_date_of, gender_of, is_valid_id_number

    number = (values.get("id_number") or "").upper()
    if number and is_valid_id_number(number):
        if not values.get("birth_date"):
            values["birth_date"] = birth_date_of(number).isoformat()
        if not values.get("gender"):
            values["gender"] = gender_of(number)


def register_worker(form: MultiDict) -> FormResult:
    """Register a worker from the clerk's form (the API's ``POST /workers``, as a function)."""
    values = form_values(form, WORKER_FIELDS)
    fill_from_id_number(values)
    result = FormResult(values=values)
    body, result.errors = validate(s.WorkerCreate, values, WORKER_FIELDS)
    if body is None:
        return _split_general(result)
    principal = auth.current()
    if principal.role == "bureau" and not principal.in_region(body.county_code):
        result.errors["county_code"] = f"该县区不在您的辖区（{principal.region_prefix}）内"
        return result
    record = body.stored_values(exclude_unset=False)
    begin_write()
    session = get_session()
    try:
        worker = storage.register_worker(session, record, protector=get_protector())
    except DuplicateWorker as exc:
        from api.auth import scoped_error

        shown = scoped_error(exc)  # no worker id from outside the clerk's region
        result.errors["id_number"] = shown.detail
        result.obj = exc.existing_id if shown is exc else None
        return result
    except Invalid as exc:
        result.errors = _errors_by_field(exc.errors, WORKER_FIELDS)
        return _split_general(result)
    audit("create", "worker", worker.id, sorted(record))
    commit()
    result.obj = worker
    return result


# --------------------------------------------------------------------------- jobs
def job_form_values(form: MultiDict) -> dict[str, Any]:
    return form_values(form, JOB_FIELDS)


def job_values_of(job: Any) -> dict[str, Any]:
    """A stored job as the form shows it (certificates by their Chinese names)."""
    from api.web.labels import certificate_label

    values: dict[str, Any] = {}
    for name in JOB_FIELDS:
        value = getattr(job, name)
        if name == "certificates_required":
            names = [certificate_label(c) for c in value or []]
            value = "、".join(names + list(job.certificates_unrecognised or []))
        elif name in _BOOL_FIELDS:
            value = bool(value)
        elif value is None:
            value = ""
        values[name] = value if name in _BOOL_FIELDS else str(value)
    return values


def post_job(form: MultiDict) -> FormResult:
    """Post a job for the signed-in HR's firm (the API's ``POST /jobs``, as a function)."""
    principal = auth.current()
    values = job_form_values(form)
    result = FormResult(values=values)
    body, result.errors = validate(s.JobCreate, values, JOB_FIELDS, firm_id=principal.firm_id)
    if body is None:
        return _split_general(result)
    begin_write()
    session = get_session()
    try:
        job = storage.create_job(session, body.model_dump())
    except Invalid as exc:
        result.errors = _errors_by_field(exc.errors, JOB_FIELDS)
        return _split_general(result)
    audit("create", "job", job.id, sorted(body.model_fields_set | {"firm_id"}))
    commit()
    result.obj = job
    return result


def edit_job(job: Any, form: MultiDict) -> FormResult:
    """Change a job (the API's ``PATCH /jobs/{id}``: the form's version guards a stale edit)."""
    values = job_form_values(form)
    result = FormResult(values=values)
    data = _model_input(values, partial=True)
    # An emptied optional field is a change too: no minimum education, no certificates.
    if not values.get("education_min"):
        data["education_min"] = None
    try:
        body = s.JobUpdate.model_validate(data)
    except ValidationError as exc:
        result.errors = _errors_by_field(_with_types(exc), JOB_FIELDS)
        return _split_general(result)
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    version = _int(form.get("version"))
    begin_write()
    try:
        job = storage.update_job(get_session(), job.id, changes, expected_version=version)
    except Invalid as exc:
        result.errors = _errors_by_field(exc.errors, JOB_FIELDS)
        return _split_general(result)
    except StaleVersion:
        result.general = (
            "该岗位在您打开修改页之后已被他人修改，本次修改未保存；请重新打开修改页，核对后再保存。"
        )
        return result
    except StorageError as exc:  # conflicts
        result.general = exc.detail
        return result
    audit("update", "job", job.id, sorted(changes))
    commit()
    result.obj = job
    return result


def set_job_status(job: Any, status: str, version: int | None) -> str | None:
    """Close or reopen a job; the Chinese reason when refused, else ``None``."""
    try:
        body = s.JobUpdate.model_validate({"status": status})
    except ValidationError as exc:
        return pydantic_errors(exc)[0]["message"]
    begin_write()
    try:
        storage.update_job(get_session(), job.id, {"status": body.status}, expected_version=version)
    except StorageError as exc:
        return exc.detail
    audit("update", "job", job.id, ["status"])
    commit()
    return None


# --------------------------------------------------------------------------- outcomes
def record_outcome(worker_id: int, job_id: int, stage: str, date: str) -> str | None:
    """Record an outcome through the API's own ``POST /outcomes`` function; the Chinese reason
    when refused, else ``None``.

    The page calls the view function itself (not over HTTP), so who may record which stage,
    the order of stages and the audit rows are exactly the API's.
    """
    from api.views import outcomes

    try:
        body = s.OutcomeCreate.model_validate(
            {"worker_id": worker_id, "job_id": job_id, "stage": stage, "date": _date(date)}
        )
    except ValidationError as exc:
        errors = pydantic_errors(exc)
        field_name = {"stage": "结果", "date": "日期"}.get(errors[0]["field"], "")
        return f"{field_name}：{errors[0]['message']}" if field_name else errors[0]["message"]
    begin_write()
    try:
        outcomes.create_outcome.__wrapped__(body=body)
    except (ApiError, StorageError) as exc:
        from api.service import rollback_session

        rollback_session()
        return exc.detail
    return None


def _date(text: str | None) -> Any:
    if not text:
        return today_in_china()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return text


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


__all__ = [
    "JOB_FIELDS",
    "WORKER_FIELDS",
    "FormResult",
    "edit_job",
    "fill_from_id_number",
    "form_values",
    "job_values_of",
    "post_job",
    "record_outcome",
    "register_worker",
    "set_job_status",
    "split_list",
    "validate",
]
