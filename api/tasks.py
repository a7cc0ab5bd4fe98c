"""Long work in the background: imports of 100,000 rows, county allocations, fair plans, training.

A page (or the API) calls :func:`submit`: it writes a :class:`~api.storage.models.Task` row and
puts a message on a `huey <https://huey.readthedocs.io>`_ queue. ``jobbridge worker`` runs the
consumer, which executes the task inside an app context of its own, acting with the rights of
the person who asked (their role and scope are kept on the row). The queue is

* an embedded SQLite file ``INSTANCE_DIR/tasks-queue.db`` by default (:class:`huey.SqliteHuey`),
  which needs no server;
* Redis when ``JOBBRIDGE_REDIS_URL`` is set (:class:`huey.RedisHuey`), the same code;
* nothing at all with ``TASKS_IMMEDIATE`` (tests): the task runs at once in the caller.

Progress. The row says who asked for what, its state, and at the end what came out or why it
failed (in Chinese). While a task runs, how far it got (``done`` of ``total`` and a sentence)
goes to huey's key-value store instead of the row: an import writes its 100,000 rows in one
transaction, so that a failure loses nothing and leaves nothing half-imported, and on SQLite
that transaction holds the database's write lock until it commits, so that a progress write to
the same database would wait for the end. :func:`progress_of` reads the row, and the live
figures while the row says ``running``; a page that polls it survives a reload.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app, g
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.storage.models import TASK_KINDS, Task, utcnow

if TYPE_CHECKING:  # huey (with redis and psycopg) is imported when a queue is first used
    from huey import Huey

log = logging.getLogger(__name__)

EXTENSION = "jobbridge.tasks"
QUEUE_NAME = "jobbridge"
#: File of the embedded queue, inside ``INSTANCE_DIR``.
SQLITE_QUEUE_FILE = "tasks-queue.db"
#: Seconds between two progress writes of one task (a write per row would cost more than the row).
PROGRESS_EVERY_S = 0.25

KIND_NAMES = {
    "import_workers": "导入劳动力",
    "import_jobs": "导入岗位",
    "allocation": "整县分配",
    "fair_plan": "招聘会规划",
    "train": "训练模型",
}
STATUS_NAMES = {"queued": "排队中", "running": "进行中", "done": "已完成", "failed": "失败"}


class TaskFailed(Exception):
    """A task ends with this sentence (Chinese) as its reason, and optional details."""

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


def make_huey(config: Mapping[str, Any]) -> Huey:
    """The queue the settings name: Redis, the embedded SQLite file, or immediate mode.

    Parameters
    ----------
    config : mapping
        ``REDIS_URL``, ``INSTANCE_DIR``, ``TASKS_IMMEDIATE`` (see :mod:`api.config`).

    Examples
    --------
    >>> make_huey({"TASKS_IMMEDIATE": True}).immediate
    True
    """
    from huey import Huey, RedisHuey, SqliteHuey

    from api.config import as_bool

    name = str(config.get("TASK_QUEUE_NAME") or QUEUE_NAME)
    if as_bool(config.get("TASKS_IMMEDIATE")):
        return Huey(name, immediate=True)
    url = config.get("REDIS_URL")
    if url:
        return RedisHuey(name, url=url)
    from api.permissions import create_private

    path = Path(config["INSTANCE_DIR"]) / SQLITE_QUEUE_FILE
    create_private(path)  # queued work names people: owner-only, like the database
    return SqliteHuey(name, filename=str(path))


class TaskQueue:
    """The queue of one app and the one huey task that runs every kind of work on it.

    The producer (a web process) and the consumer (``jobbridge worker``) each build their own
    :class:`TaskQueue` from the same settings; the message names the task by its module and
    function name, so both register the same one.
    """

    def __init__(self, app: Flask, huey: Huey | None = None) -> None:
        self.app = app
        self._huey: Huey | None = None
        self._last_put: dict[int, float] = {}
        self._latest: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()
        if huey is not None:
            self._attach(huey)

    @property
    def huey(self) -> Huey:
        """The huey instance, made from the app's settings on first use.

        Not at app creation: importing huey (redis, psycopg, opentelemetry) and opening its
        SQLite file cost every web process its start-up time, and ``jobbridge serve`` creates
        the app before forking, where no file or connection should be opened yet.
        """
        if self._huey is None:
            with self._lock:
                if self._huey is None:
                    self._attach(make_huey(self.app.config))
        return self._huey  # type: ignore[return-value]

    def _attach(self, huey: Huey) -> None:
        queue = self

        @huey.task(name="jobbridge.run_task")
        def run_task(task_id: int) -> None:
            queue.run(task_id)

        self._run_task = run_task

        @huey.task(name="jobbridge.index_build")
        def index_build(after: str | None = None) -> None:
            queue.build_index(after)

        self._index_build = index_build
        self._huey = huey

    # ------------------------------------------------------------------ producer side
    def enqueue(self, task_id: int) -> str:
        """Put ``task_id`` on the queue (run it now in immediate mode); return the message id."""
        self.huey  # noqa: B018 - made (with its tasks) on first use
        result = self._run_task(task_id)
        return str(getattr(result, "id", "") or "")

    # ------------------------------------------------------------------ progress
    def _key(self, task_id: int) -> str:
        return f"jobbridge:progress:{task_id}"

    def report(self, task_id: int, done: int, total: int, stage: str, *, force: bool = False):
        """Record how far a running task got (throttled to one write per ``PROGRESS_EVERY_S``)."""
        now = time.monotonic()
        value = {"done": int(done), "total": int(total), "stage": str(stage)}
        with self._lock:
            self._latest[task_id] = value
            if not force and now - self._last_put.get(task_id, 0.0) < PROGRESS_EVERY_S:
                return
            self._last_put[task_id] = now
        self.huey.put(self._key(task_id), value)

    def live(self, task_id: int) -> dict[str, Any] | None:
        """The last progress a running task reported, or ``None``."""
        try:
            return self.huey.get(self._key(task_id), peek=True)
        except Exception:  # the queue store unreachable: the row still answers
            log.exception("reading the progress of task %s failed", task_id)
            return None

    def forget(self, task_id: int) -> None:
        with self._lock:
            self._last_put.pop(task_id, None)
            self._latest.pop(task_id, None)
        try:
            self.huey.delete(self._key(task_id))
        except Exception:
            log.exception("deleting the progress of task %s failed", task_id)

    # ------------------------------------------------------------------ consumer side
    def build_index(self, after: str | None) -> None:
        """The queued rebuild of the index snapshot (see :func:`queue_index_build`)."""
        from api.index_snapshots import BuildBusy, build_current

        try:
            built = build_current(self.app.config, after=after, wait=False)
        except BuildBusy:
            log.info("index rebuild after %s skipped: another build is running", after)
            return
        log.info("index rebuild after %s: %s", after, built)

    def run(self, task_id: int) -> None:
        """Execute task ``task_id`` in an app context of its own, and record how it ended."""
        from api.service import rollback_session

        with self.app.app_context():
            from api.service import state

            engine = state().engine
            with Session(bind=engine, expire_on_commit=False) as session:
                task = session.get(Task, task_id)
                if task is None or task.status != "queued":
                    log.warning("task %s is gone or no longer queued; skipped", task_id)
                    return
                task.status, task.started_at = "running", utcnow()
                task.stage = "开始执行"
                session.commit()
                kind, params = task.kind, dict(task.params or {})
                g.principal = principal_of(task)
            self.report(task_id, 0, 0, "开始执行", force=True)

            def progress(done: int, total: int, stage: str) -> None:
                self.report(task_id, done, total, stage)

            outcome: dict[str, Any] = {}
            try:
                outcome["result"] = HANDLERS[kind](params, progress)
                outcome["status"] = "done"
            except Exception as exc:
                rollback_session()
                outcome["status"] = "failed"
                outcome["error"], outcome["result"] = failure_reason(exc)
                if not isinstance(exc, TaskFailed):
                    log.error("task %s (%s) failed:\n%s", task_id, kind, traceback.format_exc())
            finally:
                rollback_session()
            with self._lock:
                last = dict(self._latest.get(task_id) or {})
            with Session(bind=engine, expire_on_commit=False) as session:
                task = session.get(Task, task_id)
                if task is None:
                    return
                task.status = outcome["status"]
                task.result = outcome.get("result")
                task.error = outcome.get("error")
                task.total = int(last.get("total") or task.total or 0)
                task.done = task.total if task.status == "done" else int(last.get("done") or 0)
                task.stage = "已完成" if task.status == "done" else "失败"
                task.finished_at = utcnow()
                session.commit()
            self.forget(task_id)


# --------------------------------------------------------------------------- index rebuilds
def queue_index_build(app: Flask, *, after: str | None = None) -> str:
    """Queue a rebuild of the current model's index snapshot (run by ``jobbridge worker``, or
    at once in immediate mode); ``after``: the snapshot it replaces (the rebuild does nothing
    when another one replaced it first). Returns the message id."""
    queue = get_queue(app)
    queue.huey  # noqa: B018 - made (with its tasks) on first use
    result = queue._index_build(after)
    return str(getattr(result, "id", "") or "")


def failure_reason(exc: BaseException) -> tuple[str, dict[str, Any] | None]:
    """The Chinese sentence a failed task records, and the details it keeps (an import's rows)."""
    from api.errors import ApiError
    from api.storage.errors import Invalid, StorageError

    if isinstance(exc, TaskFailed):
        return exc.message, exc.details
    if isinstance(exc, Invalid):
        return exc.detail, {"errors": list(exc.errors)[:500]}
    if isinstance(exc, ApiError):
        details = {"errors": list(exc.errors)[:500]} if getattr(exc, "errors", None) else None
        return exc.detail, details
    if isinstance(exc, StorageError):
        return str(exc), None
    try:
        from data.tabular import TableError

        if isinstance(exc, TableError):
            return str(exc), None
    except ImportError:  # pragma: no cover
        pass
    return f"内部错误（{type(exc).__name__}）：{exc}。请联系管理员查看服务日志。", None


def principal_of(task: Task):
    """The rights the task acts with: those of the person who asked for it."""
    from api.auth import Principal

    return Principal(
        key_id=task.api_key_id,
        name=task.actor,
        role=task.role,
        firm_id=task.firm_id,
        region_prefix=task.region_prefix,
        user_id=task.user_id,
    )


def create_consumer(queue: TaskQueue, *, threads: int = 2) -> Any:
    """huey's consumer for ``queue``: ``threads`` worker threads, polling at least every second
    (huey's default backs off to 10 s, too slow for a person watching a progress bar)."""
    return queue.huey.create_consumer(
        workers=threads,
        worker_type="thread",
        periodic=False,
        initial_delay=0.1,
        max_delay=1.0,
        check_worker_health=True,
    )


def start_consumer(queue: TaskQueue, *, threads: int = 1) -> Any:
    """Start a consumer inside this process (tests, an embedded server); ``.stop()`` ends it.

    Unlike ``jobbridge worker`` it leaves the process's signal handlers alone: the host
    process decides what Ctrl-C does.
    """
    consumer = create_consumer(queue, threads=threads)
    consumer._set_signal_handlers = lambda: None  # the host process keeps its own handlers
    consumer.start()
    return consumer


# --------------------------------------------------------------------------- the app side
def init_app(app: Flask) -> None:
    """Give ``app`` its queue (``app.extensions["jobbridge.tasks"]``)."""
    app.extensions[EXTENSION] = TaskQueue(app)


def get_queue(app: Flask | None = None) -> TaskQueue:
    return (app or current_app).extensions[EXTENSION]


def submit(
    session: Session,
    principal: Any,
    kind: str,
    title: str,
    params: Mapping[str, Any],
    *,
    user_id: int | None = None,
) -> Task:
    """Record a task asked for by ``principal`` and queue it; return the (committed) row.

    In immediate mode the task has run, and ended, when this returns.
    """
    if kind not in TASK_KINDS:
        raise ValueError(f"task kind {kind!r} is not one of {TASK_KINDS}")
    if kind not in HANDLERS:
        raise ValueError(f"task kind {kind!r} has no handler")
    task = Task(
        kind=kind,
        title=title[:200],
        status="queued",
        params=dict(params),
        done=0,
        total=0,
        stage="排队等待",
        actor=str(getattr(principal, "name", "") or "")[:100],
        role=principal.role,
        api_key_id=getattr(principal, "key_id", None),
        user_id=user_id if user_id is not None else getattr(principal, "user_id", None),
        firm_id=principal.firm_id,
        region_prefix=principal.region_prefix,
    )
    session.add(task)
    session.commit()
    queue = get_queue()
    try:
        queue_id = queue.enqueue(task.id)
    except Exception as exc:
        log.exception("queueing task %s failed", task.id)
        task.status, task.error, task.finished_at = (
            "failed",
            f"无法放入后台队列（{type(exc).__name__}）：{exc}。请确认队列服务可用后重试。",
            utcnow(),
        )
        session.commit()
        return task
    session.refresh(task)
    if task.status == "queued" and queue_id:
        task.queue_id = queue_id
        session.commit()
    return task


def visible_tasks(session: Session, principal: Any, *, limit: int = 50) -> list[Task]:
    """The tasks a person may see, newest first: an admin all, others those of their scope."""
    stmt = select(Task).order_by(Task.id.desc()).limit(limit)
    stmt = _scope(stmt, principal)
    return list(session.scalars(stmt))


def _scope(stmt: Any, principal: Any) -> Any:
    if principal.role == "admin":
        return stmt
    stmt = stmt.where(Task.role == principal.role)
    if principal.role == "hr":
        return stmt.where(Task.firm_id == principal.firm_id)
    if principal.role == "bureau":
        return stmt.where(Task.region_prefix == principal.region_prefix)
    return stmt


def get_task(session: Session, principal: Any, task_id: int) -> Task | None:
    """Task ``task_id`` when ``principal`` may see it, else ``None`` (a 404 either way)."""
    task = session.get(Task, task_id)
    if task is None:
        return None
    if principal.role == "admin":
        return task
    same = task.role == principal.role and (
        (principal.role == "hr" and task.firm_id == principal.firm_id)
        or (principal.role == "bureau" and task.region_prefix == principal.region_prefix)
        or principal.role == "organiser"
    )
    return task if same else None


def progress_of(task: Task, queue: TaskQueue | None = None) -> dict[str, Any]:
    """What a progress page shows: state, ``done``/``total``, percent, stage, result or error."""
    done, total, stage = task.done, task.total, task.stage
    if task.status == "running":
        live = (queue or get_queue()).live(task.id)
        if live:
            done, total, stage = live["done"], live["total"], live["stage"]
    if task.status == "done":
        percent = 100
    elif total:
        # A running task stops at 99 % until it is done; a failed one shows how far it got
        # (a refused file has been read to its end: 40/40 is 100 %, not 99 %).
        ceiling = 100 if task.status == "failed" else 99
        percent = max(0, min(ceiling, int(100 * done / total)))
    else:
        percent = 0
    return {
        "id": task.id,
        "kind": task.kind,
        "kind_name": KIND_NAMES.get(task.kind, task.kind),
        "title": task.title,
        "status": task.status,
        "status_name": STATUS_NAMES.get(task.status, task.status),
        "done": done,
        "total": total,
        "percent": percent,
        "stage": stage,
        "result": task.result,
        "error": task.error,
        "finished": task.status in ("done", "failed"),
        "created_at": task.created_at,
        "started_at": task.started_at,
        "finished_at": task.finished_at,
    }


# --------------------------------------------------------------------------- handlers
Handler = Callable[[dict[str, Any], Callable[[int, int, str], None]], dict[str, Any]]
HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return register


@handler("import_workers")
def _import_workers(params: dict[str, Any], progress) -> dict[str, Any]:
    from api.background_import import import_file

    return import_file("workers", params, progress)


@handler("import_jobs")
def _import_jobs(params: dict[str, Any], progress) -> dict[str, Any]:
    from api.background_import import import_file

    return import_file("jobs", params, progress)


@handler("allocation")
def _allocation(params: dict[str, Any], progress) -> dict[str, Any]:
    from api import allocation_runs
    from api.service import get_matching, get_session

    progress(0, 3, "载入匹配引擎")
    matching = get_matching().load()
    progress(1, 3, "计算候选岗位并求解分配")
    params = dict(params)
    # The county page asks for a proposal to review: recommended only once confirmed.
    review = bool(params.pop("review", False))
    row = allocation_runs.run_allocation(
        get_session(), g.principal, matching, allocation_runs.request_of(params), review=review
    )
    progress(3, 3, "已保存分配方案")
    return {"allocation_id": row.id, "assigned": len(row.result.get("assignments", []))}


@handler("fair_plan")
def _fair_plan(params: dict[str, Any], progress) -> dict[str, Any]:
    from api import fair_plans
    from api.service import get_matching, get_session

    progress(0, 3, "载入匹配引擎")
    matching = get_matching().load()
    progress(1, 3, "挑选企业、邀请劳动力并排面试时间")
    fair = fair_plans.plan(
        get_session(),
        g.principal,
        matching,
        int(params["fair_id"]),
        max_firms=params.get("max_firms"),
        max_workers=params.get("max_workers"),
        time_limit_s=float(params.get("time_limit_s", 20.0)),
        firm_ids=list(params.get("firm_ids") or []),
        job_ids=list(params.get("job_ids") or []),
        worker_ids=list(params.get("worker_ids") or []),
    )
    progress(3, 3, "已保存招聘会安排")
    return {"fair_id": fair.id, "interviews": len((fair.plan or {}).get("interviews", []))}


@handler("train")
def _train(params: dict[str, Any], progress) -> dict[str, Any]:
    from api.service import get_session
    from api.storage import read_world
    from api.storage.outcomes import filter_training_events, read_events
    from data.schema import OUTCOME_COLUMNS
    from training.pipeline import train_models

    progress(0, 2, "读取就业结果事件")
    jobs, workers, _ = read_world(get_session())
    stored = read_events(get_session())
    get_session().rollback()
    if len(stored) == 0:
        raise TaskFailed("数据库中没有就业结果事件，无法训练排序模型；请先导入或记录就业结果。")
    # Only events that pass the outcome rules (who, order, dates, corrections) become labels.
    checked = filter_training_events(stored, workers, jobs)
    if len(checked.kept) == 0:
        raise TaskFailed("没有通过检查的就业结果事件，无法训练排序模型。" + checked.report())
    events = checked.kept[list(OUTCOME_COLUMNS)]
    progress(1, 2, f"训练模型：{checked.report()}")
    encoder = params.get("encoder", "train")
    folder = train_models(
        jobs,
        workers,
        events,
        models_dir=current_app.config["MODELS_DIR"],
        encoder=None if encoder == "char-ngram" else encoder,
        show_progress=False,
    )
    progress(2, 2, "模型已保存并设为当前版本")
    return {"model": str(folder), "events": len(events), "dropped": dict(checked.dropped)}


__all__ = [
    "HANDLERS",
    "KIND_NAMES",
    "STATUS_NAMES",
    "TaskFailed",
    "TaskQueue",
    "create_consumer",
    "failure_reason",
    "get_queue",
    "get_task",
    "init_app",
    "make_huey",
    "progress_of",
    "queue_index_build",
    "start_consumer",
    "submit",
    "visible_tasks",
]
