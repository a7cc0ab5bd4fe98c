"""The fast path that stores a whole demo world: a million workers in well under a minute.

SQLite: one transaction, ``executemany`` over chunks of plain tuples on the DBAPI connection, with
``synchronous=OFF`` while loading (the load is all-or-nothing, so a crash mid-way loses nothing
that a re-run does not rebuild) and WAL. PostgreSQL: psycopg 3 ``COPY … FROM STDIN`` in one
transaction, then the id sequences are moved past the loaded ids.

The ORM is bypassed on purpose: per-object bookkeeping costs ~50 µs a row, 50 s for the workers
alone. Values are converted column-wise to what the ORM would have written (ISO dates, JSON text
with Chinese kept, 0/1 booleans on SQLite), so the ORM reads the rows back unchanged.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, text
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint
from tqdm.auto import tqdm

from api.crypto import IdProtector
from data.schema import JOB_COLUMNS, OUTCOME_STAGES, WORKER_COLUMNS

from . import changes
from .db import is_empty, json_dumps, require_schema
from .errors import Conflict, Invalid
from .models import Firm, Job, OutcomeEvent, Worker, utcnow

CHUNK_ROWS = 50_000

_FIRM_COLS = [
    "id",
    "name",
    "city",
    "district",
    "industry",
    "contact_name",
    "contact_phone",
    "version",
    "created_at",
    "updated_at",
]
# certificates_unrecognised is optional in a world's job table (older generators lack it).
_JOB_SRC = [c for c in JOB_COLUMNS if c not in ("job_id", "firm_name", "certificates_unrecognised")]
_JOB_COLS = ["id", *_JOB_SRC, "certificates_unrecognised", "version", "created_at", "updated_at"]
_WORKER_SRC = [c for c in WORKER_COLUMNS if c not in ("worker_id", "id_number")]
_WORKER_COLS = [
    "id",
    "id_cipher",
    "id_hash",
    "id_masked",
    *_WORKER_SRC,
    "version",
    "created_at",
    "updated_at",
]
_EVENT_COLS = ["worker_id", "job_id", "stage", "date", "created_at"]

_LIST_COLS = {
    "certificates_required",
    "desired_jobs",
    "certificates",
    "certificates_unrecognised",
    "preferred_cities",
}
_BOOL_COLS = {
    "dormitory",
    "meals",
    "halal_canteen",
    "novice_ok",
    "needs_dormitory",
    "needs_halal",
    "poverty_registered",
}
_DATE_COLS = {"posted_at", "birth_date", "registered_at", "date"}
_INT_COLS = {
    "firm_id",
    "wage_min",
    "wage_max",
    "headcount",
    "hired_count",
    "age_min",
    "age_max",
    "min_wage",
    "worker_id",
    "job_id",
}
_NULLABLE_STR = {"education_min"}


_PLAIN = re.compile(r'^[^"\\\x00-\x1f]*$')


def _json_list_column(values: pd.Series) -> list[str]:
    """JSON text of each list; a million rows hold few distinct lists, so each is encoded once."""
    memo: dict[tuple[str, ...], str] = {(): "[]"}
    out = []
    append = out.append
    for value in values.tolist():
        if value is None or isinstance(value, float):  # None / NaN: no list
            append("[]")
            continue
        key = tuple(value)
        text = memo.get(key)
        if text is None:
            items = [str(v) for v in key]
            joined = '","'.join(items)
            # Plain strings (no quote, backslash or control character) need no escaping.
            text = f'["{joined}"]' if _PLAIN.match(joined) else json_dumps(items)
            memo[key] = text
        append(text)
    return out


def _date_column(values: pd.Series, name: str) -> list[str]:
    """ISO dates (what SQLAlchemy's Date stores on SQLite; PostgreSQL's COPY parses them)."""
    missing = values.isna().to_numpy()
    if missing.any():
        raise Invalid(
            [{"row": int(values.index[missing][0]), "field": name, "message": f"{name} 不能为空"}]
        )
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d").tolist()
    # Few distinct days among a million rows: format each once.
    memo: dict[Any, str] = {}
    out = []
    append = out.append
    for value in values.tolist():
        text = memo.get(value)
        if text is None:
            if isinstance(value, str):
                text = value
            elif hasattr(value, "isoformat"):
                text = value.isoformat()[:10]
            else:
                raise Invalid(
                    [{"row": None, "field": name, "message": f"{name} 含无法识别的日期 {value!r}"}]
                )
            memo[value] = text
        append(text)
    return out


def _column(frame: pd.DataFrame, name: str, *, sqlite: bool, default: Any = None) -> list[Any]:
    """One column as a list of Python values in the stored form."""
    if name not in frame.columns:
        if default is None and name not in _NULLABLE_STR:
            raise Invalid([{"row": None, "field": name, "message": f"数据缺少列 {name}"}])
        return [default] * len(frame)
    series = frame[name]
    if name in _LIST_COLS:
        return _json_list_column(series)
    if name in _DATE_COLS:
        return _date_column(series, name)
    if name in _BOOL_COLS:
        values = series.astype(bool)
        return values.astype(np.int8).tolist() if sqlite else values.tolist()
    if name in _INT_COLS:
        return series.astype(np.int64).tolist()
    if name in _NULLABLE_STR:
        return [
            None
            if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v == ""
            else str(v)
            for v in series.astype(object).tolist()
        ]
    values = series.astype(object)
    return values.where(values.notna(), "").tolist()


def _chunks(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


def _firm_rows(firms: pd.DataFrame, jobs: pd.DataFrame, stamp: str, sqlite: bool) -> list[tuple]:
    if firms is None or len(firms) == 0:
        # A world without a firm table: derive the firms from the jobs' firm_id/firm_name.
        firms = (
            jobs[["firm_id", "firm_name"]]
            .drop_duplicates("firm_id")
            .rename(columns={"firm_name": "name"})
        )
    else:
        firms = firms.rename(columns={"firm_name": "name"} if "name" not in firms.columns else {})
    id_col = "firm_id" if "firm_id" in firms.columns else "id"
    cols = [
        firms[id_col].astype(np.int64).tolist(),
        _column(firms, "name", sqlite=sqlite),
        *[
            _column(firms, c, sqlite=sqlite, default="")
            for c in ("city", "district", "industry", "contact_name", "contact_phone")
        ],
    ]
    n = len(firms)
    return list(zip(*cols, [1] * n, [stamp] * n, [stamp] * n, strict=True))


def _job_rows(jobs: pd.DataFrame, stamp: str, sqlite: bool) -> list[tuple]:
    cols = [jobs["job_id"].astype(np.int64).tolist()]
    cols += [_column(jobs, c, sqlite=sqlite) for c in _JOB_SRC]
    n = len(jobs)
    if "certificates_unrecognised" in jobs.columns:
        cols.append(_json_list_column(jobs["certificates_unrecognised"]))
    else:
        cols.append(["[]"] * n)
    return list(zip(*cols, [1] * n, [stamp] * n, [stamp] * n, strict=True))


def _worker_rows(
    chunk: pd.DataFrame, protector: IdProtector, stamp: str, sqlite: bool
) -> list[tuple]:
    ciphers, hashes, masked = protector.protect_many(chunk["id_number"].astype(str).tolist())
    cols: list[Sequence[Any]] = [
        chunk["worker_id"].astype(np.int64).tolist(),
        ciphers,
        hashes,
        masked,
    ]
    cols += [_column(chunk, c, sqlite=sqlite) for c in _WORKER_SRC]
    n = len(chunk)
    return list(zip(*cols, [1] * n, [stamp] * n, [stamp] * n, strict=True))


def _event_rows(chunk: pd.DataFrame, stamp: str, sqlite: bool) -> list[tuple]:
    cols = [_column(chunk, c, sqlite=sqlite) for c in ("worker_id", "job_id", "stage", "date")]
    return list(zip(*cols, [stamp] * len(chunk), strict=True))


def _check_events(events: pd.DataFrame) -> None:
    bad = ~events["stage"].isin(OUTCOME_STAGES)
    if bad.any():
        first = events.index[bad.to_numpy()][0]
        raise Invalid(
            [
                {
                    "row": int(first),
                    "field": "stage",
                    "message": f"阶段 {events.loc[first, 'stage']!r} 未知，"
                    f"可选：{', '.join(OUTCOME_STAGES)}",
                }
            ]
        )


def _prefetched(
    rows_of: Callable[[slice], list[tuple]], n: int, chunk_rows: int
) -> Iterator[tuple[slice, list[tuple]]]:
    """Yield ``(part, rows)`` chunk by chunk while the next chunk's rows are built in a thread.

    sqlite3 and psycopg release the GIL while the database works, so the next chunk's Python
    work (encryption, JSON) runs on the other core meanwhile.
    """
    parts = list(_chunks(n, chunk_rows))
    if not parts:
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(rows_of, parts[0])
        for k, part in enumerate(parts):
            rows = pending.result()
            if k + 1 < len(parts):
                pending = pool.submit(rows_of, parts[k + 1])
            yield part, rows


def _set_journal(cursor: Any, mode: str) -> None:
    """Best effort: leaving WAL needs the only connection to the file; another process or
    pool holding one keeps WAL, which is merely slower."""
    try:
        cursor.execute(f"PRAGMA journal_mode={mode}")
    except Exception as exc:  # sqlite3.OperationalError: database is locked
        if "locked" not in str(exc):
            raise


def _max_id(cur: Any, table: str) -> int:
    cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
    return int(cur.fetchone()[0])


def _announce(
    cur: Any,
    sqlite: bool,
    firm_rows: list[tuple],
    jobs: pd.DataFrame,
    workers: pd.DataFrame,
    events_before: int,
    n_events: int,
) -> None:
    """Announce the load in the change feed, in the load's transaction: one row per run of
    consecutive ids (a generated world is one run per table), so a running service follows a
    million loaded workers by reading one row."""
    rows = changes.change_rows("firm", [r[0] for r in firm_rows])
    rows += changes.change_rows("job", jobs["job_id"].to_numpy(dtype=np.int64))
    rows += changes.change_rows("worker", workers["worker_id"].to_numpy(dtype=np.int64))
    if n_events:
        # Events take consecutive generated ids after the previous maximum: one run.
        rows += changes.change_rows(
            "outcome", range(events_before + 1, events_before + n_events + 1)
        )
    mark = "?" if sqlite else "%s"
    sql = (
        "INSERT INTO changes (kind, object_id, last_object_id, op, at) "
        f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark})"
    )
    stamp = utcnow()
    cur.executemany(
        sql,
        [
            (
                r["kind"],
                r["object_id"],
                r["last_object_id"],
                r["op"],
                stamp.isoformat(sep=" ") if sqlite else stamp,
            )
            for r in rows
        ],
    )


def _world_part(world: Any, name: str) -> pd.DataFrame | None:
    if isinstance(world, dict):
        return world.get(name)
    return getattr(world, name, None)


def bulk_load_world(
    engine: Engine,
    world: Any,
    events: pd.DataFrame | None,
    *,
    protector: IdProtector,
    show_progress: bool = True,
    chunk_rows: int = CHUNK_ROWS,
) -> dict[str, Any]:
    """Store a demo world (firms, jobs, workers) and its outcome events, all or nothing.

    Parameters
    ----------
    engine : Engine
        A migrated database (``init_db``). Rows are added; the caller empties it first if needed.
    world : object or dict
        With DataFrames ``firms`` (optional), ``jobs`` and ``workers`` in the shape of
        :mod:`data.schema`; ``job_id``/``worker_id``/``firm_id`` become the primary keys.
    events : DataFrame or None
        Outcome events (``worker_id, job_id, stage, date``).
    protector : IdProtector
        Encrypts and hashes the workers' ``id_number``.
    show_progress : bool
        Show a tqdm bar per table on stderr.

    Returns
    -------
    dict
        ``{"firms": n, "jobs": n, "workers": n, "events": n, "seconds": {table: s}}``.

    Raises
    ------
    Conflict
        When a row collides with a stored one (same id, or same ID number twice); nothing is stored.
    Invalid
        When a column is missing or a stage unknown; nothing is stored.
    """
    require_schema(engine)
    jobs = _world_part(world, "jobs")
    workers = _world_part(world, "workers")
    firms = _world_part(world, "firms")
    if jobs is None or workers is None:
        raise Invalid(
            [
                {
                    "row": None,
                    "field": "world",
                    "message": "bulk_load_world 需要 jobs 与 workers 两张表",
                }
            ]
        )
    events = (
        events
        if events is not None
        else pd.DataFrame(columns=["worker_id", "job_id", "stage", "date"])
    )
    _check_events(events)
    for frame, cols, label in (
        (jobs, ["job_id", *_JOB_SRC], "jobs"),
        (workers, ["worker_id", "id_number", *_WORKER_SRC], "workers"),
    ):
        missing = [c for c in cols if c not in frame.columns and c not in _NULLABLE_STR]
        if missing:
            raise Invalid(
                [{"row": None, "field": c, "message": f"{label} 缺少列 {c}"} for c in missing]
            )

    stamp = utcnow().isoformat(sep=" ")
    backend = engine.dialect.name
    sqlite = backend == "sqlite"
    counts = {"firms": 0, "jobs": 0, "workers": 0, "events": 0}
    seconds: dict[str, float] = {}

    plan: list[tuple[str, list[str], int, Callable[[slice], list[tuple]]]] = []
    firm_rows = _firm_rows(firms, jobs, stamp, sqlite)
    plan.append((Firm.__tablename__, _FIRM_COLS, len(firm_rows), lambda s: firm_rows[s]))
    plan.append(
        (Job.__tablename__, _JOB_COLS, len(jobs), lambda s: _job_rows(jobs.iloc[s], stamp, sqlite))
    )
    plan.append(
        (
            Worker.__tablename__,
            _WORKER_COLS,
            len(workers),
            lambda s: _worker_rows(workers.iloc[s], protector, stamp, sqlite),
        )
    )
    plan.append(
        (
            OutcomeEvent.__tablename__,
            _EVENT_COLS,
            len(events),
            lambda s: _event_rows(events.iloc[s], stamp, sqlite),
        )
    )
    key_of = {"firms": "firms", "jobs": "jobs", "workers": "workers", "outcome_events": "events"}

    deferred = [idx for model in (Job, Worker, OutcomeEvent) for idx in model.__table__.indexes]
    foreign_keys = [
        fk for model in (Job, OutcomeEvent) for fk in model.__table__.foreign_key_constraints
    ]
    fresh = sqlite and is_empty(engine)
    if fresh:
        engine.dispose()  # leaving WAL needs the only connection to the file
    raw = engine.raw_connection()
    try:
        dbapi = raw.driver_connection
        if sqlite:
            cur = dbapi.cursor()
            # Into an empty database, a rollback journal in memory instead of WAL saves writing
            # every page twice; a crash mid-load can then damage the file, but it held nothing.
            if fresh:
                _set_journal(cur, "MEMORY")
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute("PRAGMA cache_size=-262144")  # 256 MiB page cache while loading
            # Checked once for the whole load below (foreign_key_check), not row by row.
            cur.execute("PRAGMA foreign_keys=OFF")
            cur.execute("BEGIN")
        else:
            cur = dbapi.cursor()
        try:
            # Secondary indexes are rebuilt after the load (inside the same transaction, so a
            # duplicate ID number still fails the whole load when the unique index is rebuilt).
            for idx in deferred:
                cur.execute(f"DROP INDEX {engine.dialect.identifier_preparer.quote(idx.name)}")
            if not sqlite:
                # PostgreSQL checks a foreign key row by row through triggers; re-adding the
                # constraint afterwards validates all rows in one join instead.
                for fk in foreign_keys:
                    cur.execute(str(DropConstraint(fk).compile(dialect=engine.dialect)))
            events_before = _max_id(cur, OutcomeEvent.__tablename__)
            for table, cols, n, rows_of in plan:
                t0 = time.perf_counter()
                bar = tqdm(
                    total=n, desc=f"写入 {table}", unit="行", disable=not show_progress, leave=False
                )
                if sqlite:
                    marks = ", ".join("?" * len(cols))
                    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})"
                    for part, rows in _prefetched(rows_of, n, chunk_rows):
                        cur.executemany(sql, rows)
                        bar.update(part.stop - part.start)
                else:
                    quoted = ", ".join(f'"{c}"' for c in cols)
                    with (
                        dbapi.cursor() as pcur,
                        pcur.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy,
                    ):
                        write_row = copy.write_row
                        for part, rows in _prefetched(rows_of, n, chunk_rows):
                            for row in rows:
                                write_row(row)
                            bar.update(part.stop - part.start)
                bar.close()
                counts[key_of[table]] = n
                seconds[key_of[table]] = round(time.perf_counter() - t0, 2)
            t0 = time.perf_counter()
            for idx in deferred:
                cur.execute(str(CreateIndex(idx).compile(dialect=engine.dialect)))
            if not sqlite:
                for fk in foreign_keys:
                    cur.execute(str(AddConstraint(fk).compile(dialect=engine.dialect)))
            if sqlite:
                problems = cur.execute("PRAGMA foreign_key_check").fetchall()
                if problems:
                    table, rowid, parent, _ = problems[0]
                    raise Conflict(
                        f"批量写入失败，未保存任何数据：{table} 第 {rowid} 行引用的 {parent} 不存在"
                        f"（共 {len(problems)} 处）。"
                    )
            seconds["indexes"] = round(time.perf_counter() - t0, 2)
            _announce(cur, sqlite, firm_rows, jobs, workers, events_before, len(events))
            if not sqlite:
                with dbapi.cursor() as pcur:
                    for table in ("firms", "jobs", "workers", "outcome_events"):
                        pcur.execute(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                        )
            dbapi.commit()
        except Conflict:
            dbapi.rollback()
            raise
        except Exception as exc:
            dbapi.rollback()
            name = type(exc).__name__
            if "Integrity" in name or "UniqueViolation" in name or "ForeignKeyViolation" in name:
                raise Conflict(f"批量写入失败，未保存任何数据：{exc}") from exc
            raise
        finally:
            if sqlite:
                if fresh:
                    _set_journal(cur, "WAL")
                cur.execute("PRAGMA synchronous=FULL")
                cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
    finally:
        raw.close()
    if sqlite:
        with engine.connect() as connection:
            # Fresh statistics so the planner uses the indexes on a table it has never seen filled.
            connection.execute(text("ANALYZE"))
    return {**counts, "seconds": seconds}


__all__ = ["CHUNK_ROWS", "bulk_load_world"]
