"""Transactions of a request: which database refusals are contention, and running a view
again when its transaction was refused for it.

Kept apart from the route table (:mod:`api.openapi`) and the error handlers (:mod:`api.errors`),
which both need it, so that neither imports the other.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from flask import request
from sqlalchemy.exc import OperationalError

#: Attempts of a request whose transaction the database refused for contention.
RETRIES = 6


def is_contention(exc: OperationalError) -> bool:
    """SQLite's "database is locked" (a reader's snapshot went stale before it wrote, or the
    writer lock stayed busy) and PostgreSQL's serialization/deadlock failures: the transaction
    can simply run again."""
    code = getattr(getattr(exc, "orig", None), "sqlite_errorname", "") or ""
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", "") or ""
    return (
        code.startswith("SQLITE_BUSY")
        or "database is locked" in str(exc.orig)
        or sqlstate in ("40001", "40P01")
    )


def run_with_retry(view: Callable[..., Any], call_args: dict[str, Any]) -> Any:
    """Run a view; when the database refused its transaction for contention, roll back and run
    it again (with backoff and rewound uploads), up to :data:`RETRIES` attempts."""
    from api.service import begin_write, rollback_session

    for attempt in range(RETRIES):
        try:
            if request.method not in ("GET", "HEAD"):
                begin_write()
            return view(**call_args)
        except OperationalError as exc:
            # A read that met a connection the server had dropped (a restart) runs again on
            # a new one; a write may have reached the server, so it is not run twice.
            reread = exc.connection_invalidated and request.method in ("GET", "HEAD")
            if attempt == RETRIES - 1 or not (is_contention(exc) or reread):
                raise
            rollback_session()
            for upload in request.files.values():
                upload.stream.seek(0)
            time.sleep(random.uniform(0.005, 0.02) * 2**attempt)
    raise AssertionError("unreachable")


__all__ = ["RETRIES", "is_contention", "run_with_retry"]
