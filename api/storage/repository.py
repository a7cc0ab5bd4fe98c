"""Repository functions: plain functions over a :class:`~sqlalchemy.orm.Session`.

They validate, read and write rows and raise the domain errors of :mod:`api.storage.errors`; they
``flush`` but never ``commit``, so a view or a CLI command decides the transaction (one request,
one commit). Records in and out use the column names of :mod:`data.schema` (``job_id``,
``worker_id``…); :func:`job_record` / :func:`worker_record` shape a row for JSON or export.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import pandas as pd
from sqlalchemy import Select, func, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from api.crypto import IdProtector
from data.schema import (
    EDUCATION_LEVELS,
    GENDERS,
    JOB_COLUMNS,
    JOB_DEFAULTS,
    JOB_STATUSES,
    OUTCOME_STAGES,
    WORKER_COLUMNS,
    WORKER_DEFAULTS,
    defaults,
)

from . import changes
from .changes import job_select, worker_select
from .errors import Conflict, DuplicateWorker, Invalid, NotFound, StaleVersion
from .models import ROLES, ApiKey, AuditEntry, Firm, Job, OutcomeEvent, Worker, utcnow

T = TypeVar("T")

# --------------------------------------------------------------------------- field specs
# kind: str | text | int | bool | date | list | education | status | gender | county
_FIRM_FIELDS: dict[str, tuple[str, bool]] = {
    "name": ("str", True),
    "city": ("str", False),
    "district": ("str", False),
    "industry": ("str", False),
    "contact_name": ("str", False),
    "contact_phone": ("str", False),
}
_JOB_FIELDS: dict[str, tuple[str, bool]] = {
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
_WORKER_FIELDS: dict[str, tuple[str, bool]] = {
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
_IGNORED_ON_CREATE = {
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


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value)) if not isinstance(value, list | tuple | dict) else False
    except (TypeError, ValueError):
        return False


def _coerce(kind: str, name: str, value: Any) -> Any:
    """Return the stored form of ``value`` or raise ``ValueError`` with a Chinese sentence."""
    if kind == "education_or_none":
        if _is_missing(value) or value == "":
            return None
        kind = "education"
    if _is_missing(value):
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


def _clean(
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
            and not (not partial and key in _IGNORED_ON_CREATE)
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
            out[name] = _coerce(kind, name, data[name])
        except ValueError as exc:
            errors.append({"row": None, "field": name, "message": str(exc)})
    if errors:
        raise Invalid(errors)
    return out


def _check_job_ranges(values: Mapping[str, Any]) -> None:
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


SQLITE_BUSY_SNAPSHOT = 517


def _is_stale_snapshot(exc: OperationalError) -> bool:
    """SQLite in WAL mode refuses to turn a read transaction into a write once another
    connection has committed since the read: the rows we read are outdated."""
    return getattr(exc.orig, "sqlite_errorcode", None) == SQLITE_BUSY_SNAPSHOT


@contextmanager
def _savepoint(session: Session, object_type: str, row: Any, expected_version: Any = None):
    """Run a write in a savepoint and translate what the database refuses into domain errors.

    A savepoint per write: a refused row rolls back alone, and the caller's session (one
    request, or one import of thousands of rows) stays usable.
    """
    try:
        with session.begin_nested():
            yield
            session.flush()
    except StaleDataError:
        # Someone committed between our read and our write: UPDATE … WHERE version=… hit 0 rows.
        current = session.scalar(select(type(row).version).where(type(row).id == row.id))
        raise StaleVersion(object_type, row.id, expected_version, current) from None
    except OperationalError as exc:
        if not _is_stale_snapshot(exc):
            raise
        if expected_version is None and getattr(row, "version", None) is None:
            raise Conflict(f"{_label(object_type)} 保存时数据已被他人修改，请重试。") from None
        raise StaleVersion(object_type, row.id, expected_version, None) from None


def bump_sequence(session: Session, model: type) -> None:
    """After rows were inserted with explicit ids, move PostgreSQL's id sequence past them so the
    next generated id does not collide (SQLite takes max(rowid) + 1 by itself)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    table = model.__tablename__
    session.execute(
        text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        )
    )


def _add(session: Session, row: Any, object_type: str) -> None:
    """Insert ``row``; a refused row (same id, …) becomes a :class:`Conflict`."""
    explicit_id = row.id is not None
    if explicit_id and session.get(type(row), row.id) is not None:
        raise Conflict(f"{_label(object_type)} {row.id} 已存在。")
    try:
        with _savepoint(session, object_type, row):
            session.add(row)
    except IntegrityError as exc:
        raise Conflict(
            f"{_label(object_type)} {row.id if row.id is not None else ''} 无法保存：{exc.orig}"
        ) from None
    if explicit_id:
        bump_sequence(session, type(row))


def _label(object_type: str) -> str:
    from .errors import _LABELS

    return _LABELS.get(object_type, object_type)


# --------------------------------------------------------------------------- pagination
@dataclass
class Page(Generic[T]):
    """One page of a list.

    ``next_cursor`` is the last id on the page when more rows follow (pass it as ``after`` for
    keyset paging, which stays fast deep into a million rows); ``total`` counts every match.
    """

    items: list[T]
    limit: int
    offset: int = 0
    total: int | None = None
    next_cursor: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _paginate(
    session: Session,
    stmt: Select,
    id_column: Any,
    *,
    limit: int,
    offset: int,
    after: int | None,
    with_total: bool,
) -> Page:
    if limit <= 0:
        raise Invalid([{"row": None, "field": "limit", "message": f"limit {limit} 必须大于 0"}])
    if offset < 0:
        raise Invalid([{"row": None, "field": "offset", "message": f"offset {offset} 不能为负"}])
    total = None
    if with_total:
        total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    stmt = stmt.order_by(id_column)
    if after is not None:
        stmt = stmt.where(id_column > after)
    elif offset:
        stmt = stmt.offset(offset)
    items = list(session.scalars(stmt.limit(limit + 1)))
    more = len(items) > limit
    items = items[:limit]
    return Page(
        items=items,
        limit=limit,
        offset=offset if after is None else 0,
        total=total,
        next_cursor=items[-1].id if more and items else None,
    )


def _get(session: Session, model: type, object_type: str, object_id: int) -> Any:
    row = session.get(model, object_id)
    if row is None:
        raise NotFound(object_type, object_id)
    return row


def _stale(current: int, expected: int | frozenset[int] | None) -> bool:
    """Whether a write based on ``expected`` (a version, the versions an If-Match list names,
    or ``None`` for any) must be refused because the row is now at ``current``."""
    if expected is None:
        return False
    if isinstance(expected, frozenset):
        return current not in expected
    return current != expected


def _update(
    session: Session,
    row: Any,
    object_type: str,
    values: Mapping[str, Any],
    expected_version: int | frozenset[int] | None,
) -> Any:
    if _stale(row.version, expected_version):
        raise StaleVersion(object_type, row.id, expected_version, row.version)
    try:
        # Changes are made inside the savepoint: begin_nested() flushes what is pending first.
        with _savepoint(session, object_type, row, expected_version):
            for key, value in values.items():
                setattr(row, key, value)
    except IntegrityError as exc:
        raise Conflict(f"保存{object_type} {row.id} 违反数据库约束：{exc.orig}") from None
    return row


def _delete(
    session: Session, row: Any, object_type: str, expected_version: int | frozenset[int] | None
) -> None:
    if _stale(row.version, expected_version):
        raise StaleVersion(object_type, row.id, expected_version, row.version)
    try:
        with _savepoint(session, object_type, row, expected_version):
            session.delete(row)
    except IntegrityError:
        raise Conflict(f"{object_type} {row.id} 仍被其他数据引用，不能删除。") from None


# --------------------------------------------------------------------------- firms
def create_firm(session: Session, data: Mapping[str, Any]) -> Firm:
    """Create a firm from ``{"name", "city", "district", "industry", …}``."""
    values = _clean(_FIRM_FIELDS, data, partial=False, extra_allowed=("firm_id",))
    firm = Firm(**values)
    if "firm_id" in data and not _is_missing(data["firm_id"]):
        firm.id = _coerce("int", "firm_id", data["firm_id"])
    _add(session, firm, "firm")
    return firm


def get_firm(session: Session, firm_id: int) -> Firm:
    """Return the firm or raise :class:`NotFound`."""
    return _get(session, Firm, "firm", firm_id)


def find_firm_by_name(session: Session, name: str) -> Firm | None:
    """The first firm whose name is exactly ``name`` (imports attach jobs by firm name)."""
    return session.scalars(select(Firm).where(Firm.name == name).order_by(Firm.id).limit(1)).first()


def update_firm(
    session: Session,
    firm_id: int,
    changes: Mapping[str, Any],
    *,
    expected_version: int | frozenset[int] | None,
) -> Firm:
    """Apply ``changes``; :class:`StaleVersion` if the firm is no longer at ``expected_version``."""
    firm = get_firm(session, firm_id)
    return _update(
        session, firm, "firm", _clean(_FIRM_FIELDS, changes, partial=True), expected_version
    )


def delete_firm(
    session: Session, firm_id: int, *, expected_version: int | frozenset[int] | None = None
) -> None:
    """Delete a firm; :class:`Conflict` while jobs still belong to it."""
    firm = get_firm(session, firm_id)
    if session.scalar(select(Job.id).where(Job.firm_id == firm_id).limit(1)) is not None:
        raise Conflict(f"企业 {firm_id} 仍有岗位，请先删除或关闭其岗位。")
    _delete(session, firm, "firm", expected_version)


def list_firms(
    session: Session,
    *,
    name_contains: str | None = None,
    city: str | None = None,
    limit: int = 50,
    offset: int = 0,
    after: int | None = None,
    with_total: bool = True,
) -> Page[Firm]:
    """List firms by id, filtered by a name fragment and/or city."""
    stmt = select(Firm)
    if name_contains:
        stmt = stmt.where(Firm.name.contains(name_contains, autoescape=True))
    if city:
        stmt = stmt.where(Firm.city == city)
    return _paginate(
        session, stmt, Firm.id, limit=limit, offset=offset, after=after, with_total=with_total
    )


# --------------------------------------------------------------------------- jobs
def create_job(session: Session, data: Mapping[str, Any]) -> Job:
    """Create a job from a record of :data:`data.schema.JOB_COLUMNS` (``job_id`` optional).

    Raises :class:`Invalid` listing every bad field, :class:`NotFound` for an unknown firm.
    """
    values = {**defaults(JOB_DEFAULTS), **_clean(_JOB_FIELDS, data, partial=False)}
    _check_job_ranges(values)
    get_firm(session, values["firm_id"])
    job = Job(**values)
    if not _is_missing(data.get("job_id")):
        job.id = _coerce("int", "job_id", data["job_id"])
    _add(session, job, "job")
    return job


def get_job(session: Session, job_id: int) -> Job:
    """Return the job or raise :class:`NotFound`."""
    return _get(session, Job, "job", job_id)


def update_job(
    session: Session,
    job_id: int,
    changes: Mapping[str, Any],
    *,
    expected_version: int | frozenset[int] | None,
) -> Job:
    """Apply ``changes`` (any job field); :class:`StaleVersion` if someone saved in between."""
    job = get_job(session, job_id)
    values = _clean(_JOB_FIELDS, changes, partial=True)
    merged = {name: getattr(job, name) for name in _JOB_FIELDS} | values
    _check_job_ranges(merged)
    if "firm_id" in values:
        get_firm(session, values["firm_id"])
    return _update(session, job, "job", values, expected_version)


def delete_job(
    session: Session, job_id: int, *, expected_version: int | frozenset[int] | None = None
) -> None:
    """Delete a job (its outcome events go with it)."""
    _delete(session, get_job(session, job_id), "job", expected_version)


def list_jobs(
    session: Session,
    *,
    status: str | None = None,
    city: str | None = None,
    occupation_code: str | None = None,
    firm_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
    after: int | None = None,
    with_total: bool = True,
) -> Page[Job]:
    """List jobs by id; filters use the indexes (status, city, occupation, firm)."""
    stmt = select(Job)
    if status is not None:
        _coerce("status", "status", status)
        stmt = stmt.where(Job.status == status)
    if city:
        stmt = stmt.where(Job.city == city)
    if occupation_code:
        stmt = stmt.where(Job.occupation_code == occupation_code)
    if firm_id is not None:
        stmt = stmt.where(Job.firm_id == firm_id)
    return _paginate(
        session, stmt, Job.id, limit=limit, offset=offset, after=after, with_total=with_total
    )


def job_record(job: Job, firm_name: str | None = None) -> dict[str, Any]:
    """The job as a :data:`data.schema.JOB_COLUMNS` record plus ``version``/timestamps."""
    record = {
        "job_id": job.id,
        "firm_id": job.firm_id,
        "firm_name": firm_name if firm_name is not None else _firm_name(job),
    }
    record.update({name: getattr(job, name) for name in JOB_COLUMNS if name not in record})
    record.update(version=job.version, created_at=job.created_at, updated_at=job.updated_at)
    return record


def _firm_name(job: Job) -> str:
    session = Session.object_session(job)
    if session is None:
        return ""
    return session.scalar(select(Firm.name).where(Firm.id == job.firm_id)) or ""


# --------------------------------------------------------------------------- workers
def _validate_id_number(id_number: Any) -> str:
    from data.idcard import validate_id_number

    if not isinstance(id_number, str) or not id_number.strip():
        raise Invalid([{"row": None, "field": "id_number", "message": "身份证号不能为空"}])
    try:
        result = validate_id_number(id_number.strip())
    except ValueError as exc:
        raise Invalid([{"row": None, "field": "id_number", "message": str(exc)}]) from None
    return result if isinstance(result, str) else id_number.strip().upper()


def find_worker_by_id_number(
    session: Session, id_number: str, protector: IdProtector
) -> Worker | None:
    """The worker registered with this ID number, found through the keyed hash."""
    return session.scalars(
        select(Worker).where(Worker.id_hash == protector.fingerprint(id_number))
    ).first()


def register_worker(session: Session, data: Mapping[str, Any], *, protector: IdProtector) -> Worker:
    """Register a worker from a :data:`data.schema.WORKER_COLUMNS` record (``id_number`` in clear).

    The ID number is validated (GB 11643 check digit) and stored only as cipher, keyed hash and
    masked form. Raises :class:`DuplicateWorker` (409, with ``existing_id``) when the same person
    is already registered, :class:`Invalid` for bad fields.
    """
    errors: list[dict[str, Any]] = []
    id_number = None
    try:
        id_number = _validate_id_number(data.get("id_number"))
    except Invalid as exc:
        errors.extend(exc.errors)
    try:
        values = _clean(
            _WORKER_FIELDS, {k: v for k, v in data.items() if k != "id_number"}, partial=False
        )
    except Invalid as exc:
        errors.extend(exc.errors)
    if errors:
        raise Invalid(errors)
    values = {**defaults(WORKER_DEFAULTS), **values}
    values.setdefault("registered_at", dt.date.today())
    stored = protector.protect(id_number)
    existing = session.execute(
        select(Worker.id, Worker.county_code).where(Worker.id_hash == stored.hash)
    ).first()
    if existing is not None:
        raise DuplicateWorker(existing.id, stored.masked, existing.county_code)
    worker = Worker(**values, id_cipher=stored.cipher, id_hash=stored.hash, id_masked=stored.masked)
    if not _is_missing(data.get("worker_id")):
        worker.id = _coerce("int", "worker_id", data["worker_id"])
        if session.get(Worker, worker.id) is not None:
            raise Conflict(f"劳动力 {worker.id} 已存在。")
    try:
        with _savepoint(session, "worker", worker):
            session.add(worker)
    except IntegrityError:
        # A concurrent registration of the same ID won the race to the UNIQUE index.
        existing = session.execute(
            select(Worker.id, Worker.county_code).where(Worker.id_hash == stored.hash)
        ).first()
        if existing is not None:
            raise DuplicateWorker(existing.id, stored.masked, existing.county_code) from None
        raise Conflict(f"劳动力 {worker.id} 已存在。") from None
    if not _is_missing(data.get("worker_id")):
        bump_sequence(session, Worker)
    return worker


def get_worker(session: Session, worker_id: int) -> Worker:
    """Return the worker or raise :class:`NotFound`."""
    return _get(session, Worker, "worker", worker_id)


def worker_county(session: Session, worker_id: int) -> str:
    """The county code of a worker (what a scope check needs), or :class:`NotFound`.

    One column by primary key: a match request checks scope with this rather than loading the
    whole row, which costs several times more.
    """
    row = session.execute(select(Worker.county_code).where(Worker.id == worker_id)).first()
    if row is None:
        raise NotFound("worker", worker_id)
    return row[0]


def update_worker(
    session: Session,
    worker_id: int,
    changes: Mapping[str, Any],
    *,
    expected_version: int | frozenset[int] | None,
    protector: IdProtector | None = None,
) -> Worker:
    """Apply ``changes``; a new ``id_number`` needs ``protector`` and is checked for duplicates."""
    worker = get_worker(session, worker_id)
    plain = {k: v for k, v in changes.items() if k != "id_number"}
    values = _clean(_WORKER_FIELDS, plain, partial=True)
    if "id_number" in changes:
        if protector is None:
            raise ValueError("update_worker: changing id_number needs the protector")
        stored = protector.protect(_validate_id_number(changes["id_number"]))
        other = session.execute(
            select(Worker.id, Worker.county_code).where(
                Worker.id_hash == stored.hash, Worker.id != worker_id
            )
        ).first()
        if other is not None:
            raise DuplicateWorker(other.id, stored.masked, other.county_code)
        values.update(id_cipher=stored.cipher, id_hash=stored.hash, id_masked=stored.masked)
    return _update(session, worker, "worker", values, expected_version)


def delete_worker(
    session: Session, worker_id: int, *, expected_version: int | frozenset[int] | None = None
) -> None:
    """Delete a worker (and their outcome events, invitations and interviews)."""
    _delete(session, get_worker(session, worker_id), "worker", expected_version)


def list_workers(
    session: Session,
    *,
    county_code: str | None = None,
    region_prefix: str | None = None,
    poverty_registered: bool | None = None,
    limit: int = 50,
    offset: int = 0,
    after: int | None = None,
    with_total: bool = True,
) -> Page[Worker]:
    """List workers by id; ``region_prefix`` ('6326') limits a bureau to its area."""
    stmt = select(Worker)
    if county_code:
        stmt = stmt.where(Worker.county_code == county_code)
    if region_prefix:
        if not re.fullmatch(r"\d{2,6}", region_prefix):
            raise Invalid(
                [
                    {
                        "row": None,
                        "field": "region_prefix",
                        "message": f"地区代码前缀 {region_prefix!r} 应为 2–6 位数字",
                    }
                ]
            )
        stmt = stmt.where(Worker.county_code.startswith(region_prefix))
    if poverty_registered is not None:
        stmt = stmt.where(Worker.poverty_registered == poverty_registered)
    return _paginate(
        session, stmt, Worker.id, limit=limit, offset=offset, after=after, with_total=with_total
    )


def worker_record(
    worker: Worker, *, protector: IdProtector | None = None, reveal_id: bool = False
) -> dict[str, Any]:
    """The worker as a :data:`data.schema.WORKER_COLUMNS` record.

    ``id_number`` is the masked form unless ``reveal_id`` is true (which needs ``protector``; the
    caller audits it). ``id_masked`` and ``version`` are added.
    """
    if reveal_id:
        if protector is None:
            raise ValueError("worker_record: reveal_id needs the protector")
        id_number = protector.decrypt(worker.id_cipher)
    else:
        id_number = worker.id_masked
    record: dict[str, Any] = {"worker_id": worker.id, "id_number": id_number}
    for name in WORKER_COLUMNS:
        if name not in record:
            record[name] = getattr(worker, name)
    record.update(
        id_masked=worker.id_masked,
        version=worker.version,
        created_at=worker.created_at,
        updated_at=worker.updated_at,
    )
    return {
        k: record[k]
        for k in [
            "worker_id",
            *[c for c in WORKER_COLUMNS if c != "worker_id"],
            "id_masked",
            "version",
            "created_at",
            "updated_at",
        ]
    }


# --------------------------------------------------------------------------- outcomes
def record_outcome(
    session: Session,
    worker_id: int,
    job_id: int,
    stage: str,
    date: dt.date | str | None = None,
    *,
    corrects: OutcomeEvent | None = None,
) -> OutcomeEvent:
    """Record one outcome step. ``hired`` also counts against the job's headcount and marks the
    job ``filled`` when the headcount is reached (the engine stops offering it).

    This is the write alone; who may record what, and in which order, is
    :func:`api.storage.outcomes.record_checked_outcome`, which the API calls. With ``corrects``
    the new event replaces that one: a corrected hire stops counting (and reopens the job it
    had filled); :class:`Conflict` when the event was corrected already.
    """
    if stage not in OUTCOME_STAGES:
        raise Invalid(
            [
                {
                    "row": None,
                    "field": "stage",
                    "message": f"阶段 {stage!r} 未知，可选：{', '.join(OUTCOME_STAGES)}",
                }
            ]
        )
    day = dt.date.today() if date is None else _coerce_date_or_invalid(date)
    get_worker(session, worker_id)
    job = get_job(session, job_id)
    event = OutcomeEvent(
        worker_id=worker_id,
        job_id=job_id,
        stage=stage,
        date=day,
        corrects=None if corrects is None else corrects.id,
    )
    hires = int(stage == "hired") - int(corrects is not None and corrects.stage == "hired")
    try:
        with _savepoint(session, "job", job, job.version):
            session.add(event)
            if hires:
                job.hired_count = max(job.hired_count + hires, 0)
                if hires > 0 and job.status == "open" and job.hired_count >= job.headcount:
                    job.status = "filled"
                elif hires < 0 and job.status == "filled" and job.hired_count < job.headcount:
                    job.status = "open"  # the hire that filled it was a mistake
    except IntegrityError:
        # The unique constraint on ``corrects``: a concurrent correction of the same event won.
        raise Conflict(
            f"就业结果 {corrects.id if corrects else ''} 已被更正过；请更正最新的那条记录。"
        ) from None
    return event


def record_recommendations(
    session: Session, pairs: Iterable[tuple[int, int]], date: dt.date | None = None
) -> list[int]:
    """Record a ``recommended`` event for each ``(worker_id, job_id)`` in one statement (an
    allocation or a fair plan recommends thousands at once); return the events' ids."""
    rows = [
        {
            "worker_id": int(w),
            "job_id": int(j),
            "stage": "recommended",
            "date": date or dt.date.today(),
            "created_at": utcnow(),
        }
        for w, j in pairs
    ]
    if not rows:
        return []
    stmt = insert(OutcomeEvent).returning(OutcomeEvent.id, sort_by_parameter_order=True)
    ids = list(session.scalars(stmt, rows))
    changes.record(session, "outcome", ids)
    return ids


def _coerce_date_or_invalid(value: Any) -> dt.date:
    try:
        return _coerce("date", "date", value)
    except ValueError as exc:
        raise Invalid([{"row": None, "field": "date", "message": str(exc)}]) from None


def list_outcomes(
    session: Session,
    *,
    worker_id: int | None = None,
    job_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
    after: int | None = None,
    with_total: bool = True,
) -> Page[OutcomeEvent]:
    """List outcome events of a worker and/or a job."""
    stmt = select(OutcomeEvent)
    if worker_id is not None:
        stmt = stmt.where(OutcomeEvent.worker_id == worker_id)
    if job_id is not None:
        stmt = stmt.where(OutcomeEvent.job_id == job_id)
    return _paginate(
        session,
        stmt,
        OutcomeEvent.id,
        limit=limit,
        offset=offset,
        after=after,
        with_total=with_total,
    )


# --------------------------------------------------------------------------- API keys
TOKEN_PREFIX = "jb_"


def hash_token(token: str) -> str:
    """SHA-256 of the token, hex: what ``api_keys.key_hash`` holds. A 256-bit random token needs
    no slow password hash — it cannot be guessed, only stolen, and the hash protects a dump."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_api_key(
    session: Session,
    *,
    name: str,
    role: str,
    firm_id: int | None = None,
    region_prefix: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; return the row and the token, which is shown once and never stored.

    ``hr`` keys belong to a firm (``firm_id``), ``bureau`` keys to a region (``region_prefix``:
    2–6 digits of the administrative code, e.g. '6326' for 海东).
    """
    errors = []
    if not isinstance(name, str) or not name.strip():
        errors.append({"row": None, "field": "name", "message": "密钥名称不能为空"})
    if role not in ROLES:
        errors.append(
            {
                "row": None,
                "field": "role",
                "message": f"角色 {role!r} 未知，可选：{', '.join(ROLES)}",
            }
        )
    if role == "hr" and firm_id is None:
        errors.append(
            {"row": None, "field": "firm_id", "message": "hr 角色的密钥必须指定企业（--firm）"}
        )
    if role == "bureau" and not region_prefix:
        errors.append(
            {
                "row": None,
                "field": "region_prefix",
                "message": "bureau 角色的密钥必须指定地区代码（--region）",
            }
        )
    if region_prefix is not None and not re.fullmatch(r"\d{2,6}", str(region_prefix)):
        errors.append(
            {
                "row": None,
                "field": "region_prefix",
                "message": f"地区代码 {region_prefix!r} 应为 2–6 位数字",
            }
        )
    if not errors:
        errors = scope_errors(session, role, firm_id=firm_id, region_prefix=region_prefix)
    if errors:
        raise Invalid(errors)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name.strip(),
        role=role,
        key_hash=hash_token(token),
        firm_id=firm_id,
        region_prefix=region_prefix,
    )
    _add(session, key, "api_key")
    return key, token


def scope_errors(
    session: Session, role: str, *, firm_id: int | None, region_prefix: str | None
) -> list[dict[str, Any]]:
    """What is wrong with the scope of a new key or account (``[]`` when nothing is).

    A scope must be one the role has (a firm for hr only, a region for bureau only) and must
    name something that exists: a registered firm, a region prefix that at least one of the
    75 counties' codes starts with. Every path that creates a key or an account calls this.
    """
    from data.reference import load_counties

    errors: list[dict[str, Any]] = []
    if firm_id is not None and role != "hr":
        errors.append(
            {
                "row": None,
                "field": "firm_id",
                "message": f"{role} 角色的密钥不属于某个企业，不能指定企业（--firm）",
            }
        )
    if region_prefix is not None and role != "bureau":
        errors.append(
            {
                "row": None,
                "field": "region_prefix",
                "message": f"{role} 角色的密钥不属于某个地区，不能指定地区代码（--region）",
            }
        )
    if errors:
        return errors
    if firm_id is not None and session.get(Firm, firm_id) is None:
        errors.append(
            {"row": None, "field": "firm_id", "message": f"企业 {firm_id} 不存在，请先登记企业"}
        )
    if region_prefix is not None:
        codes = load_counties()["county_code"].astype(str)
        if not codes.str.startswith(str(region_prefix)).any():
            prefectures = sorted({c[:4] for c in codes})
            errors.append(
                {
                    "row": None,
                    "field": "region_prefix",
                    "message": (
                        f"地区代码 {region_prefix} 不是任何协作县代码的前缀；"
                        f"可用的地市代码：{'、'.join(prefectures)}"
                    ),
                }
            )
    return errors


def authenticate(session: Session, token: str | None) -> ApiKey | None:
    """The active key that ``token`` belongs to, or ``None`` (unknown, revoked or empty)."""
    if not token or not isinstance(token, str):
        return None
    key = session.scalars(
        select(ApiKey).where(ApiKey.key_hash == hash_token(token.strip()))
    ).first()
    if key is None or key.revoked_at is not None:
        return None
    return key


def revoke_api_key(session: Session, key_id: int) -> ApiKey:
    """Revoke a key (idempotent: the first revocation time is kept)."""
    key = _get(session, ApiKey, "api_key", key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
    return key


def list_api_keys(session: Session, *, include_revoked: bool = True) -> list[ApiKey]:
    """All keys by id."""
    stmt = select(ApiKey).order_by(ApiKey.id)
    if not include_revoked:
        stmt = stmt.where(ApiKey.revoked_at.is_(None))
    return list(session.scalars(stmt))


# --------------------------------------------------------------------------- audit
def audit(
    session: Session,
    *,
    actor: ApiKey | str | None,
    action: str,
    object_type: str,
    object_id: Any = None,
    fields: Sequence[str] = (),
) -> AuditEntry:
    """Write an audit row: who (a key or a name such as 'cli'), did what, to which object, which
    fields were read or written."""
    if isinstance(actor, ApiKey):
        key_id, actor_name = actor.id, actor.name
    else:
        key_id, actor_name = None, actor or ""
    entry = AuditEntry(
        api_key_id=key_id,
        actor=actor_name,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        fields=list(fields),
    )
    session.add(entry)
    session.flush()
    return entry


def list_audit(
    session: Session,
    *,
    object_type: str | None = None,
    object_id: Any = None,
    api_key_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
    after: int | None = None,
    with_total: bool = True,
) -> Page[AuditEntry]:
    """Audit rows by id, filtered by object and/or key."""
    stmt = select(AuditEntry)
    if object_type:
        stmt = stmt.where(AuditEntry.object_type == object_type)
    if object_id is not None:
        stmt = stmt.where(AuditEntry.object_id == str(object_id))
    if api_key_id is not None:
        stmt = stmt.where(AuditEntry.api_key_id == api_key_id)
    return _paginate(
        session, stmt, AuditEntry.id, limit=limit, offset=offset, after=after, with_total=with_total
    )


# --------------------------------------------------------------------------- world for training
def read_world(
    session: Session, *, protector: IdProtector | None = None, reveal_ids: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """All jobs, workers and outcome events as DataFrames in the shape of :mod:`data.schema`.

    ``workers.id_number`` holds the masked form (training never needs the number); with
    ``reveal_ids`` and a ``protector`` it holds the decrypted number. Core selects, not ORM
    objects, keep a million rows to seconds.
    """
    jobs = _frame(session.execute(job_select().order_by(Job.id)), list(JOB_COLUMNS))
    wstmt = worker_select(reveal_ids=reveal_ids).order_by(Worker.id)
    result = session.execute(wstmt)
    keys = list(result.keys())
    workers = pd.DataFrame(result.all(), columns=keys)
    first = keys[1]
    if reveal_ids:
        if protector is None:
            raise ValueError("read_world: reveal_ids needs the protector")
        workers[first] = protector.decrypt_many(workers[first].tolist()) if len(workers) else []
    workers = workers.rename(columns={first: "id_number"})[list(WORKER_COLUMNS)]

    estmt = select(
        OutcomeEvent.worker_id, OutcomeEvent.job_id, OutcomeEvent.stage, OutcomeEvent.date
    ).order_by(OutcomeEvent.id)
    events = _frame(session.execute(estmt), ["worker_id", "job_id", "stage", "date"])
    return jobs, workers, events


def _frame(result: Any, columns: list[str]) -> pd.DataFrame:
    keys = list(result.keys())
    frame = pd.DataFrame(result.all(), columns=keys)
    return frame[columns]


__all__ = [
    "Page",
    "bump_sequence",
    "TOKEN_PREFIX",
    "audit",
    "authenticate",
    "create_api_key",
    "create_firm",
    "create_job",
    "delete_firm",
    "delete_job",
    "delete_worker",
    "find_firm_by_name",
    "find_worker_by_id_number",
    "get_firm",
    "get_job",
    "get_worker",
    "hash_token",
    "job_record",
    "list_api_keys",
    "list_audit",
    "list_firms",
    "list_jobs",
    "list_outcomes",
    "list_workers",
    "read_world",
    "record_outcome",
    "record_recommendations",
    "register_worker",
    "revoke_api_key",
    "scope_errors",
    "update_firm",
    "update_job",
    "update_worker",
    "worker_record",
]
