"""Settings of the service and the CLI: defaults in code, overrides from ``JOBBRIDGE_*``.

This module and Flask's ``app.config.from_prefixed_env("JOBBRIDGE")`` are the only places that
read ``os.environ``. Every key below can be overridden by the environment variable of the same
name prefixed with ``JOBBRIDGE_`` (``JOBBRIDGE_DATABASE_URL=postgresql+psycopg://…``), and tests
pass a mapping of overrides instead.

Keys
----
DATABASE_URL : str
    SQLAlchemy URL. Default: the embedded SQLite file ``INSTANCE_DIR/jobbridge.db`` (so
    ``instance/jobbridge.db`` of the checkout unless ``INSTANCE_DIR`` moves it).
    PostgreSQL (what a province runs): ``postgresql+psycopg://user@host/db``.
INSTANCE_DIR : str
    Folder of machine-local state (the SQLite file, the development ID key). Not committed.
MODELS_DIR : str
    Folder of trained model versions; ``MODELS_DIR/current`` is the one the service loads.
ID_KEY : str or None
    Base64 of 32 random bytes: the master key that encrypts resident ID numbers and keys their
    de-duplication hash (see :mod:`api.crypto`). **Production sets** ``JOBBRIDGE_ID_KEY``; when
    it is unset the CLI creates ``INSTANCE_DIR/id_key`` (mode 0600) on first use and says so,
    which is fit for development only. Losing the key makes the stored ID numbers unreadable.
MAX_CONTENT_LENGTH : int
    Largest request body / import file accepted, in bytes (default 100 MiB). Flask reads the
    same key to refuse larger uploads with 413.
MAX_IMPORT_ROWS : int
    Largest number of data rows of one imported file; the reader stops at the next one (413).
ALLOW_LOOSE_PERMISSIONS : bool
    Start even when the SQLite database or ``INSTANCE_DIR/id_key`` can be read by the file's
    group or other users (``JOBBRIDGE_ALLOW_LOOSE_PERMISSIONS=1``). Off: such a file is a
    refusal to start that names the ``chmod 600`` to run. New files are created 0600 either way.
PAGE_SIZE : int
    Default number of rows of a list page.
MAX_PAGE_SIZE : int
    Largest page a client may ask for.
REDIS_URL : str or None
    Where the background queue (:mod:`api.tasks`) keeps its messages. Unset: an embedded
    SQLite queue file ``INSTANCE_DIR/tasks-queue.db`` that needs no server (one machine);
    ``redis://host:6379/0``: Redis, for consumers on several machines.
TASKS_IMMEDIATE : bool
    Run background tasks at once in the calling process instead of queueing them (tests; a
    one-process setup with no ``jobbridge worker``). Default false.
TASK_WORKERS : int
    Threads of ``jobbridge worker`` (tasks running at once). Default 2.
TASK_QUEUE_NAME : str
    Name of the queue inside its store (``jobbridge``); two installations sharing one Redis
    give different names.
INDEX_DIR : str or None
    Folder of the candidate index snapshots (:mod:`matcher.snapshot`), one subfolder per
    model version. Unset: ``INSTANCE_DIR/index``. Every process of a host maps the same files.
INDEX_SNAPSHOTS : bool
    Serve from index snapshots (default true). Off: each process indexes the database itself.
INDEX_OVERLAY_ROWS : int
    Rows a process may add on top of its snapshot before it queues a rebuild (``jobbridge
    index build`` as a background task). Default 50,000.
INDEX_SPARE_ROWS : int
    Spare rows written after each growing array of a snapshot, appended in place by the
    processes on it. Default 65,536.
FEED_FOLLOW : bool
    Follow the change feed, the index snapshots and the model version in a background thread
    of each process (on under ``jobbridge serve``; ``JOBBRIDGE_FEED_FOLLOW=0`` turns it off).
    Either way every match first applies the changes committed before it.
FEED_POLL_SECONDS : float
    How often that thread looks for new changes. Default 0.2.
FEED_SEGMENTS : bool
    A bulk change (an import, the demo loader) is prepared and encoded once per host and
    mapped by the other processes (:mod:`api.feed_segments`). Default true.
FEED_SEGMENT_ROWS : int
    Rows a change must name to get such a segment. Default 1,000.
FEED_PRUNE_KEEP_ROWS : int
    Newest changes ``jobbridge index build`` always keeps when it prunes the change table.
    Default 1,000.
FEED_PRUNE_MIN_AGE_S : float
    ... and every change younger than this many seconds. Default 3,600.
CROWDING_SPREAD : float
    The most score points a crowded job may lose in a worker's matches (capacity prices,
    :meth:`matcher.engine.MatchingEngine.price_crowding`), computed when an index snapshot
    is built and stored in it. 0 turns crowding off. Default 0.01: on the demo world's 3,960
    held-out workers (benchmarks/bench_crowding.py, every worker answered by recommend_jobs)
    it cut the register's top-1% share from 0.161 to 0.149 for 0.004 of NDCG@10 with the
    trained encoder, 0.154 to 0.146 for 0.0015 with char n-grams; 0.02 had cost 0.014 in an
    earlier run with the trained encoder.
CROWDING_SAMPLE : int
    Workers (a fixed sample, by a hash of their id) whose answers price the jobs; bounds the
    pricing time of a large register. Default 20,000.
CROWDING_PER_PLACE : float
    Recommendations per open place the register's lists may give a job before it is priced
    (:data:`matcher.engine.REGISTER_PER_PLACE`, 30: ten per worker, few applying to more
    than one).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

#: Root of the checkout (the folder that holds ``pyproject.toml``).
REPO_ROOT = Path(__file__).resolve().parent.parent

ENV_PREFIX = "JOBBRIDGE_"

#: Name of the embedded database file inside ``INSTANCE_DIR``.
SQLITE_FILE = "jobbridge.db"

DEFAULTS: dict[str, Any] = {
    # None: the SQLite file ``jobbridge.db`` of INSTANCE_DIR (see load_config). The instance
    # folder keeps the database out of the package and out of git.
    "DATABASE_URL": None,
    "INSTANCE_DIR": str(REPO_ROOT / "instance"),
    "MODELS_DIR": str(REPO_ROOT / "models"),
    "ID_KEY": None,
    "MAX_CONTENT_LENGTH": 100 * 1024 * 1024,
    # Largest number of data rows one import file may hold (HTTP and CLI): a county's
    # register is at most about 100,000 workers.
    "MAX_IMPORT_ROWS": 100_000,
    # A database or ID-key file that others can read is a refusal to start unless this is on
    # (api.permissions); for a host where a shared group is intended.
    "ALLOW_LOOSE_PERMISSIONS": False,
    "PAGE_SIZE": 50,
    "MAX_PAGE_SIZE": 1000,
    "REDIS_URL": None,
    "TASKS_IMMEDIATE": False,
    "TASK_WORKERS": 2,
    "TASK_QUEUE_NAME": "jobbridge",
    "INDEX_DIR": None,
    "INDEX_SNAPSHOTS": True,
    "INDEX_OVERLAY_ROWS": 50_000,
    "INDEX_SPARE_ROWS": 65_536,
    "FEED_FOLLOW": False,
    "FEED_POLL_SECONDS": 0.2,
    "FEED_SEGMENTS": True,
    "FEED_SEGMENT_ROWS": 1000,
    "FEED_PRUNE_KEEP_ROWS": 1000,
    "FEED_PRUNE_MIN_AGE_S": 3600.0,
    "CROWDING_SPREAD": 0.01,
    "CROWDING_SAMPLE": 20_000,
    "CROWDING_PER_PLACE": 30.0,
}

_FLOAT_KEYS = frozenset(k for k, v in DEFAULTS.items() if isinstance(v, float))
_BOOL_KEYS = frozenset(k for k, v in DEFAULTS.items() if isinstance(v, bool))

_INT_KEYS = frozenset(
    k for k, v in DEFAULTS.items() if isinstance(v, int) and not isinstance(v, bool)
)


def _coerce(key: str, value: Any, source: str) -> Any:
    if key in _INT_KEYS and not isinstance(value, int):
        try:
            value = int(str(value).strip())
        except ValueError:
            raise ValueError(f"配置项 {key} 的值 {value!r}（来自 {source}）不是整数。") from None
    if key in _FLOAT_KEYS and not isinstance(value, float | int):
        try:
            value = float(str(value).strip())
        except ValueError:
            raise ValueError(f"配置项 {key} 的值 {value!r}（来自 {source}）不是数字。") from None
    if key in _INT_KEYS and value <= 0:
        raise ValueError(f"配置项 {key} 的值 {value!r}（来自 {source}）必须大于 0。")
    if key in _FLOAT_KEYS and not value >= 0:
        raise ValueError(f"配置项 {key} 的值 {value!r}（来自 {source}）不能小于 0。")
    return value


def as_bool(value: Any) -> bool:
    """A setting's truth: ``true/1/yes/on`` (any case) from the environment, or a bool.

    >>> as_bool("True"), as_bool("0"), as_bool(None)
    (True, False, False)
    """
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def fill_database_url(config: MutableMapping[str, Any]) -> None:
    """Where ``DATABASE_URL`` is unset, point it at the SQLite file of ``INSTANCE_DIR``.

    >>> c = {"DATABASE_URL": None, "INSTANCE_DIR": "/srv/jobbridge"}; fill_database_url(c)
    >>> c["DATABASE_URL"]
    'sqlite:////srv/jobbridge/jobbridge.db'
    """
    if not config.get("DATABASE_URL"):
        config["DATABASE_URL"] = f"sqlite:///{Path(config['INSTANCE_DIR']) / SQLITE_FILE}"


def load_config(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Return the settings: defaults, then ``JOBBRIDGE_*`` variables, then ``overrides``.

    Parameters
    ----------
    overrides : mapping, optional
        Highest-priority values (tests, CLI options). Keys are the names without prefix.
    environ : mapping, optional
        The environment to read; ``os.environ`` when omitted (a parameter so tests need not
        patch the process environment).

    Returns
    -------
    dict
        Every key of :data:`DEFAULTS`, plus any extra ``JOBBRIDGE_*`` variable (without its
        prefix, as a string) and any extra override.

    Examples
    --------
    >>> load_config({"PAGE_SIZE": 10}, environ={"JOBBRIDGE_MAX_PAGE_SIZE": "20"})["MAX_PAGE_SIZE"]
    20
    """
    env = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    for name, value in env.items():
        if name.startswith(ENV_PREFIX) and len(name) > len(ENV_PREFIX):
            key = name[len(ENV_PREFIX) :]
            config[key] = _coerce(key, value, f"环境变量 {name}")
    for key, value in (overrides or {}).items():
        config[key] = _coerce(key, value, "overrides")
    fill_database_url(config)
    if config.get("ID_KEY") == "":
        config["ID_KEY"] = None
    if config.get("REDIS_URL") == "":
        config["REDIS_URL"] = None
    for key in _BOOL_KEYS:
        config[key] = as_bool(config.get(key))
    if config.get("INDEX_DIR") == "":
        config["INDEX_DIR"] = None
    return config


__all__ = [
    "DEFAULTS",
    "ENV_PREFIX",
    "REPO_ROOT",
    "SQLITE_FILE",
    "as_bool",
    "fill_database_url",
    "load_config",
]
