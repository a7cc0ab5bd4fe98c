"""The whole stored world (jobs, workers, outcome events) as DataFrames, for training."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.crypto import IdProtector
from data.schema import JOB_COLUMNS, WORKER_COLUMNS

from .changes import job_select, worker_select
from .models import Job, OutcomeEvent, Worker


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
