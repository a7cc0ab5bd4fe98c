"""Import of validated spreadsheet records and export of stored rows (used by the CLI).

:mod:`data.tabular` reads a file and normalises each row (every bad cell listed with its
spreadsheet row); the functions here add what only the database knows (an ID number already
registered, a ``job_id`` already taken, a firm that does not exist) and store the good rows in
one ``executemany`` — 10,000 workers in about a second, not one round trip each.

All or nothing by default: any rejected row raises :class:`~api.storage.errors.Invalid` listing
every one, and nothing is written. With ``skip_invalid`` the good rows are stored and the
rejected ones returned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from api.crypto import IdProtector
from data.schema import FIRM_DEFAULTS, JOB_DEFAULTS, WORKER_DEFAULTS, defaults
from data.tabular import JOB_HEADERS, WORKER_HEADERS

from . import changes
from .errors import Invalid
from .fields import JOB_FIELDS, WORKER_FIELDS, check_job_ranges, clean
from .jobs import job_record
from .models import AuditEntry, Firm, Job, Worker, utcnow
from .rows import bump_sequence
from .workers import clean_id_number, worker_record

#: The change kind of what an import of ``kind`` stores.
_KIND = {"jobs": "job", "workers": "worker"}
_IN_CHUNK = 500  # bound parameters per IN (…): well under SQLite's limit


@dataclass
class ImportResult:
    """What an import stored and what it refused.

    ``rejected`` holds ``{"row", "column", "field", "message"}``, sorted by row; ``row`` is the
    spreadsheet row (header = 1), ``column`` the header as written.
    """

    kind: str
    created: list[int] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    #: Columns of the file that no field is read from (said to the user, never an error).
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def rejected_rows(self) -> list[int]:
        return sorted({e["row"] for e in self.rejected})


def _error(
    row: int,
    name: str,
    message: str,
    headers: Mapping[str, Sequence[str]],
    columns: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    column = (columns or {}).get(name) or (headers[name][0] if name in headers else name)
    return {"row": row, "column": column, "field": name, "message": message}


def _prior(errors: Iterable[Any]) -> list[dict[str, Any]]:
    out = []
    for e in errors:
        d = e.as_dict() if hasattr(e, "as_dict") else dict(e)
        out.append(
            {
                "row": d.get("row"),
                "column": d.get("column", ""),
                "field": d.get("field", ""),
                "message": d.get("message", ""),
            }
        )
    return out


def _chunks(values: Sequence[Any], size: int = _IN_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _scoped_id(row: int, name: str, headers: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """The refusal of an explicit id from a caller with a scope (an hr or bureau key).

    Whether an id is free is a fact about every firm and region: "已存在" for an id taken
    elsewhere and a stored row for a free one would tell an hr or bureau user which ids exist
    outside its scope. So only an unscoped caller (admin, the CLI) numbers rows; anyone else
    gets this same answer whether the id is taken, free, or its own.
    """
    label = headers[name][0]
    return _error(row, name, f"只有管理员可以指定{label}；请留空或删除此列，由系统编号", headers)


def _existing(session: Session, column: Any, values: Sequence[Any], key: Any) -> dict[Any, Any]:
    found: dict[Any, Any] = {}
    for part in _chunks(list(dict.fromkeys(values))):
        for value, ident in session.execute(select(column, key).where(column.in_(part))):
            found[value] = ident
    return found


def _insert_numbered(session: Session, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` (no ``id``) in one ``executemany``; return their ids in order.

    Core, not the ORM's bulk insert (its per-row bookkeeping was most of an import's time).
    PostgreSQL batches ``INSERT … RETURNING`` in parameter order. SQLite cannot (SQLAlchemy
    falls back to one statement per row there), so the first row is inserted alone to learn
    its id and the rest are numbered after it: the import's transaction holds SQLite's only
    write lock from that first insert on, and the first id is above every stored one, so the
    ids after it are free.
    """
    if not rows:
        return []
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(connection.execute(stmt, rows).scalars())
    first = int(connection.execute(insert(table).returning(table.c.id), rows[0]).scalar_one())
    rest = [{**r, "id": first + k} for k, r in enumerate(rows[1:], 1)]
    if rest:
        connection.execute(insert(table), rest)
    return list(range(first, first + len(rows)))


def _finish(
    session: Session,
    kind: str,
    model: type,
    rows: list[dict[str, Any]],
    rejected: list[dict[str, Any]],
    skip_invalid: bool,
) -> ImportResult:
    rejected.sort(key=lambda e: e["row"] if e["row"] is not None else -1)
    header_problem = any(e["row"] in (0, None) for e in rejected)
    if rejected and (not skip_invalid or header_problem):
        bad = sorted({e["row"] for e in rejected if e["row"] is not None})
        shown = "、".join(str(r) for r in bad[:20]) + (" 等" if len(bad) > 20 else "")
        raise Invalid(
            rejected,
            detail=(
                "文件表头不合规，未导入任何数据。"
                if header_problem
                else f"共有 {len(bad)} 行不合规（第 {shown} 行），未导入任何数据；"
                "改正后重新导入，或选择只导入合格行"
                "（命令行加 --skip-invalid，接口加 ?skip_invalid=true）。"
            ),
        )
    result = ImportResult(kind=kind, rejected=rejected)
    # executemany needs one column set per batch: rows that name their id, then the rest.
    with_id = [r for r in rows if "id" in r]
    without = [r for r in rows if "id" not in r]
    table = model.__table__
    with session.begin_nested():
        if with_id:
            session.execute(insert(table), with_id)
            bump_sequence(session, model)
        ids_with = [r["id"] for r in with_id]
        ids_without = _insert_numbered(session, table, without)
    given, generated = iter(ids_with), iter(ids_without)
    result.created = [next(given) if "id" in r else next(generated) for r in rows]
    # Announced in the import's transaction: one change row per run of consecutive ids.
    changes.record(session, _KIND[kind], result.created)
    return result


def import_jobs(
    session: Session,
    records: Iterable[Mapping[str, Any]],
    *,
    errors: Iterable[Any] = (),
    skip_invalid: bool = False,
    create_firms: bool = False,
    owner_firm_id: int | None = None,
) -> ImportResult:
    """Store job records from :func:`data.tabular.validate_jobs` (each with its ``row``).

    The firm is named by ``firm_id`` (must exist) or ``firm_name`` (must be registered; with
    ``create_firms`` an unknown name is registered with the job's city — an administrator's
    explicit choice, since a typo in a firm's name would otherwise create a second firm). With
    ``owner_firm_id`` (an HR department's own firm) every row belongs to that firm and a row
    naming another is refused, as is a ``job_id`` (see :func:`_scoped_id`). ``errors`` are the
    validator's, so one report lists them all.
    Raises :class:`Invalid` unless every row is good or ``skip_invalid``.
    """
    rejected = _prior(errors)
    firm_by_name: dict[str, int] = {}
    new_firms: dict[str, dict[str, Any]] = {}
    staged: list[tuple[int, dict[str, Any], str | None]] = []
    for record in records:
        row = record["row"]
        data = {k: v for k, v in record.items() if k not in ("row", "firm_name", "job_id")}
        firm_name = record.get("firm_name") or None
        if owner_firm_id is not None:
            if data.get("firm_id") not in (None, owner_firm_id):
                rejected.append(
                    _error(row, "firm_id", f"企业 {data['firm_id']} 不是本账号的企业", JOB_HEADERS)
                )
                continue
            data["firm_id"], firm_name = owner_firm_id, None
        if data.get("firm_id") is None:
            data["firm_id"] = 0  # resolved below; keeps clean from reporting it missing
        try:
            values = {**defaults(JOB_DEFAULTS), **clean(JOB_FIELDS, data, partial=False)}
            check_job_ranges(values)
        except Invalid as exc:
            rejected += [_error(row, e["field"], e["message"], JOB_HEADERS) for e in exc.errors]
            continue
        if record.get("job_id") is not None:
            if owner_firm_id is not None:
                rejected.append(_scoped_id(row, "job_id", JOB_HEADERS))
                continue
            values["id"] = int(record["job_id"])
        if data["firm_id"] == 0 and not firm_name:
            rejected.append(_error(row, "firm_name", "缺少 企业ID 或 企业名称", JOB_HEADERS))
            continue
        staged.append((row, values, firm_name if data["firm_id"] == 0 else None))

    ids = [v["firm_id"] for _, v, name in staged if name is None]
    known_firms = _existing(session, Firm.id, ids, Firm.id)
    names = [name for _, _, name in staged if name]
    firm_by_name.update(_existing(session, Firm.name, names, Firm.id))
    taken = _existing(session, Job.id, [v["id"] for _, v, _ in staged if "id" in v], Job.id)
    rows: list[dict[str, Any]] = []
    stamp = utcnow()
    seen_ids: set[int] = set()
    for row, values, name in staged:
        if name is None and values["firm_id"] not in known_firms:
            rejected.append(
                _error(row, "firm_id", f"企业ID {values['firm_id']} 不存在", JOB_HEADERS)
            )
            continue
        if name is not None and name not in firm_by_name:
            if not create_firms:
                rejected.append(
                    _error(
                        row,
                        "firm_name",
                        f"企业 {name!r} 未登记；请先登记企业或填写企业ID"
                        "（管理员可选择导入时登记新企业）",
                        JOB_HEADERS,
                    )
                )
                continue
            new_firms.setdefault(
                name, {"name": name, "city": values["city"], "district": values.get("district", "")}
            )
        if "id" in values and (values["id"] in taken or values["id"] in seen_ids):
            rejected.append(_error(row, "job_id", f"岗位ID {values['id']} 已存在", JOB_HEADERS))
            continue
        seen_ids.add(values.get("id", -1))
        rows.append({**values, "_firm_name": name})
    if rejected and not skip_invalid:
        return _finish(session, "jobs", Job, [], rejected, skip_invalid)
    if new_firms:
        with session.begin_nested():
            created = session.execute(
                insert(Firm).returning(Firm.id, Firm.name, sort_by_parameter_order=True),
                [
                    {
                        **defaults(FIRM_DEFAULTS),
                        **f,
                        "version": 1,
                        "created_at": stamp,
                        "updated_at": stamp,
                    }
                    for f in new_firms.values()
                ],
            )
            firm_by_name.update({n: i for i, n in created})
            changes.record(session, "firm", [firm_by_name[n] for n in new_firms])
    final = []
    for values in rows:
        name = values.pop("_firm_name")
        if name is not None:
            values["firm_id"] = firm_by_name[name]
        values.setdefault("posted_at", stamp.date())
        final.append(
            {
                **defaults(JOB_DEFAULTS),
                **values,
                "version": 1,
                "created_at": stamp,
                "updated_at": stamp,
            }
        )
    return _finish(session, "jobs", Job, final, rejected, skip_invalid)


def import_workers(
    session: Session,
    records: Iterable[Mapping[str, Any]],
    *,
    protector: IdProtector,
    errors: Iterable[Any] = (),
    skip_invalid: bool = False,
    region_prefix: str | None = None,
) -> ImportResult:
    """Store worker records from :func:`data.tabular.validate_workers` (each with its ``row``).

    Adds to the validator's ``errors`` an ID number already registered or repeated in the file,
    a ``worker_id`` already taken, and — with ``region_prefix`` (a bureau's area) — a county
    outside it and any ``worker_id`` (:func:`_scoped_id`). Raises :class:`Invalid` unless every
    row is good or ``skip_invalid``.
    """
    rejected = _prior(errors)
    staged: list[tuple[int, dict[str, Any], str]] = []
    for record in records:
        row = record["row"]
        county = record.get("county_code")
        if region_prefix is not None and not str(county or "").startswith(region_prefix):
            rejected.append(
                _error(
                    row,
                    "county_code",
                    f"县区 {county} 不在本辖区（{region_prefix}）内",
                    WORKER_HEADERS,
                )
            )
            continue
        data = {k: v for k, v in record.items() if k not in ("row", "worker_id", "id_number")}
        problems: list[dict[str, Any]] = []
        id_number = ""
        try:
            id_number = clean_id_number(record.get("id_number"))
        except Invalid as exc:
            problems += exc.errors
        try:
            values = clean(WORKER_FIELDS, data, partial=False)
        except Invalid as exc:
            problems += exc.errors
        if problems:
            rejected += [_error(row, e["field"], e["message"], WORKER_HEADERS) for e in problems]
            continue
        if record.get("worker_id") is not None:
            if region_prefix is not None:
                rejected.append(_scoped_id(row, "worker_id", WORKER_HEADERS))
                continue
            values["id"] = int(record["worker_id"])
        staged.append((row, values, id_number))

    ciphers, hashes, masked = protector.protect_many([n for _, _, n in staged])
    registered = _existing(session, Worker.id_hash, hashes, Worker.id)
    taken = _existing(session, Worker.id, [v["id"] for _, v, _ in staged if "id" in v], Worker.id)
    rows: list[dict[str, Any]] = []
    first_row_of: dict[str, int] = {}
    stamp = utcnow()
    for (row, values, _), cipher, digest, mask in zip(staged, ciphers, hashes, masked, strict=True):
        if digest in registered:
            rejected.append(
                _error(
                    row,
                    "id_number",
                    # No worker id: the file's uploader may not see the region it lies in.
                    f"身份证号 {mask} 已登记，不能重复登记",
                    WORKER_HEADERS,
                )
            )
            continue
        if digest in first_row_of:
            rejected.append(
                _error(
                    row, "id_number", f"身份证号与第 {first_row_of[digest]} 行重复", WORKER_HEADERS
                )
            )
            continue
        first_row_of[digest] = row
        if "id" in values and values["id"] in taken:
            rejected.append(
                _error(row, "worker_id", f"劳动力ID {values['id']} 已存在", WORKER_HEADERS)
            )
            continue
        values.setdefault("registered_at", stamp.date())
        rows.append(
            {
                **defaults(WORKER_DEFAULTS),
                **values,
                "id_cipher": cipher,
                "id_hash": digest,
                "id_masked": mask,
                "version": 1,
                "created_at": stamp,
                "updated_at": stamp,
            }
        )
    return _finish(
        session,
        "workers",
        Worker,
        rows if not rejected or skip_invalid else [],
        rejected,
        skip_invalid,
    )


def import_table(
    session: Session,
    kind: str,
    frame: Any,
    *,
    protector: IdProtector | None = None,
    skip_invalid: bool = False,
    create_firms: bool = False,
    owner_firm_id: int | None = None,
    region_prefix: str | None = None,
    actor: Any = None,
    chunk_rows: int | None = None,
    progress: Callable[[int, int, int], None] | None = None,
) -> ImportResult:
    """Validate and store a table read by :func:`data.tabular.read_table` — the one import of
    jobs or workers, for the HTTP upload, ``jobbridge import`` and the background import alike.

    ``kind`` is ``"jobs"`` or ``"workers"``. All or nothing unless ``skip_invalid``; every
    refused row is named with its spreadsheet row and column. ``create_firms`` registers firms
    a job row names that are not registered yet (otherwise such a row is refused);
    ``owner_firm_id`` binds every job to one firm (an HR key), ``region_prefix`` refuses workers
    outside an area (a bureau key). Each stored row is audited as created by ``actor`` (an
    :class:`~api.storage.models.ApiKey` or a name such as ``"cli"``) and announced in the change
    feed, in the caller's transaction (the caller commits).

    With ``chunk_rows`` the table is validated and stored that many rows at a time (in one
    savepoint, so still all or nothing) and ``progress(done, total, rejected_rows)`` is called
    after each chunk; once a row is refused (without ``skip_invalid``) the rest is still
    checked, so that the refusal lists every bad row, but nothing is kept.
    """
    from data.tabular import validate_jobs, validate_workers

    if kind not in _KIND:
        raise ValueError(f"kind {kind!r} is not supported; valid: 'jobs', 'workers'")
    if kind == "workers" and protector is None:
        raise ValueError("import_table: importing workers needs the protector")
    n = len(frame)
    size = max(1, int(chunk_rows)) if chunk_rows else max(1, n)
    result = ImportResult(kind=kind)
    savepoint = session.begin_nested()
    try:
        for start in range(0, max(n, 1), size):
            chunk = frame.iloc[start : start + size] if chunk_rows else frame
            if kind == "jobs":
                checked = validate_jobs(chunk)
                part = import_jobs(
                    session,
                    checked.records,
                    errors=checked.errors,
                    skip_invalid=skip_invalid or bool(chunk_rows),
                    create_firms=create_firms,
                    owner_firm_id=owner_firm_id,
                )
            else:
                checked = validate_workers(chunk)
                part = import_workers(
                    session,
                    checked.records,
                    protector=protector,  # type: ignore[arg-type]
                    errors=checked.errors,
                    skip_invalid=skip_invalid or bool(chunk_rows),
                    region_prefix=region_prefix,
                )
            if start == 0:
                result.ignored_columns = list(checked.ignored_columns)
            result.created += part.created
            result.rejected += part.rejected
            if result.rejected and not skip_invalid and result.created:
                # Refused: what is stored so far goes; later chunks are checked, then go too.
                savepoint.rollback()
                savepoint = session.begin_nested()
                result.created = []
            if progress is not None:
                progress(min(n, start + size), n, len(result.rejected_rows))
        if result.rejected and not skip_invalid:
            savepoint.rollback()
            _finish(session, kind, Job if kind == "jobs" else Worker, [], result.rejected, False)
        savepoint.commit()
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    result.rejected.sort(key=lambda e: e["row"] if e["row"] is not None else -1)
    _audit_created(session, _KIND[kind], result.created, actor)
    return result


def _audit_created(session: Session, object_type: str, ids: Sequence[int], actor: Any) -> None:
    """One audit row per imported object, in one statement."""
    if not ids:
        return
    key_id = getattr(actor, "key_id", None) or getattr(actor, "id", None)
    if isinstance(actor, str) or actor is None:
        key_id, name = None, actor or ""
    else:
        name = actor.name
    stamp = utcnow()
    session.execute(
        insert(AuditEntry.__table__),
        [
            {
                "api_key_id": key_id,
                "actor": name,
                "action": "create",
                "object_type": object_type,
                "object_id": str(i),
                "fields": ["import"],
                "at": stamp,
            }
            for i in ids
        ],
    )


def export_records(
    session: Session,
    kind: str,
    *,
    protector: IdProtector | None = None,
    with_id_numbers: bool = False,
    batch: int = 5000,
) -> Iterator[dict[str, Any]]:
    """Yield every stored job or worker as a schema record, by id, in batches.

    Worker ID numbers are masked unless ``with_id_numbers`` (which needs ``protector``).
    """
    if kind == "jobs":
        stmt = select(Job, Firm.name).join(Firm, Firm.id == Job.firm_id).order_by(Job.id)
        for part in session.execute(stmt.execution_options(yield_per=batch)).partitions():
            for job, name in part:
                yield job_record(job, name)
    elif kind == "workers":
        if with_id_numbers and protector is None:
            raise ValueError("export_records: with_id_numbers needs the protector")
        stmt = select(Worker).order_by(Worker.id).execution_options(yield_per=batch)
        for worker in session.scalars(stmt):
            yield worker_record(worker, protector=protector, reveal_id=with_id_numbers)
    else:
        raise ValueError(f"kind {kind!r} is not supported; valid: 'jobs', 'workers'")


__all__ = ["ImportResult", "export_records", "import_jobs", "import_table", "import_workers"]
