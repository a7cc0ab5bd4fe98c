"""Workers: registration (the ID number kept only as cipher, keyed hash and masked form), reads,
updates, deletes, lists, and a worker as a :data:`data.schema.WORKER_COLUMNS` record
(:func:`worker_record`)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ScalarSelect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.crypto import IdProtector
from data.schema import WORKER_COLUMNS, WORKER_DEFAULTS, defaults

from .errors import Conflict, DuplicateWorker, Invalid
from .fields import WORKER_FIELDS, clean, coerce, is_missing
from .models import Worker
from .rows import (
    Page,
    bump_sequence,
    delete_row,
    get_row,
    paginate,
    savepoint,
    update_row,
)


def clean_id_number(id_number: Any) -> str:
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
        id_number = clean_id_number(data.get("id_number"))
    except Invalid as exc:
        errors.extend(exc.errors)
    try:
        values = clean(
            WORKER_FIELDS, {k: v for k, v in data.items() if k != "id_number"}, partial=False
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
    if not is_missing(data.get("worker_id")):
        worker.id = coerce("int", "worker_id", data["worker_id"])
        if session.get(Worker, worker.id) is not None:
            raise Conflict(f"劳动力 {worker.id} 已存在。")
    try:
        with savepoint(session, "worker", worker):
            session.add(worker)
    except IntegrityError:
        # A concurrent registration of the same ID won the race to the UNIQUE index.
        existing = session.execute(
            select(Worker.id, Worker.county_code).where(Worker.id_hash == stored.hash)
        ).first()
        if existing is not None:
            raise DuplicateWorker(existing.id, stored.masked, existing.county_code) from None
        raise Conflict(f"劳动力 {worker.id} 已存在。") from None
    if not is_missing(data.get("worker_id")):
        bump_sequence(session, Worker)
    return worker


def get_worker(session: Session, worker_id: int) -> Worker:
    """Return the worker or raise :class:`NotFound`."""
    return get_row(session, Worker, "worker", worker_id)


def county_of(worker_id: int) -> ScalarSelect:
    """A worker's county code as a scalar subquery (NULL when there is no such worker).

    A match request reads it in the change feed's own statement
    (:meth:`api.service.MatchService.read_synced`): its scope check then costs no statement of
    its own. One column by primary key, not the whole row, which costs several times more.
    """
    return select(Worker.county_code).where(Worker.id == worker_id).scalar_subquery()


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
    values = clean(WORKER_FIELDS, plain, partial=True)
    if "id_number" in changes:
        if protector is None:
            raise ValueError("update_worker: changing id_number needs the protector")
        stored = protector.protect(clean_id_number(changes["id_number"]))
        other = session.execute(
            select(Worker.id, Worker.county_code).where(
                Worker.id_hash == stored.hash, Worker.id != worker_id
            )
        ).first()
        if other is not None:
            raise DuplicateWorker(other.id, stored.masked, other.county_code)
        values.update(id_cipher=stored.cipher, id_hash=stored.hash, id_masked=stored.masked)
    return update_row(session, worker, "worker", values, expected_version)


def delete_worker(
    session: Session, worker_id: int, *, expected_version: int | frozenset[int] | None = None
) -> None:
    """Delete a worker (and their outcome events, invitations and interviews)."""
    delete_row(session, get_worker(session, worker_id), "worker", expected_version)


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
    return paginate(
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
