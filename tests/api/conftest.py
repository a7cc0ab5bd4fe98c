"""Fixtures of the service tests: ``app`` → ``client`` on a fresh database per test (SQLite, and
PostgreSQL when ``JOBBRIDGE_TEST_POSTGRES_URL`` is set), a small seeded ``world`` with one key per
role, and a training-free engine (char n-gram encoder, reference vocabulary, no ranker) instead of
``models/current``.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from data.idcard import make_id_number

ROOT = Path(__file__).resolve().parents[2]

HAIDONG = "6302"  # the test bureau's region: 海东市
HUALONG = "630224"  # 化隆回族自治县, inside it
YANCHANG = "610621"  # 延长县 (陕西), outside it


@functools.cache
def _learned_small_engine():
    from matcher.engine import MatchingEngine
    from training.base import reference_corpus

    return MatchingEngine(candidate_pool=50).learn(reference_corpus())


def small_engine():
    """A learned engine (char n-grams, vocabulary of the reference text, no ranker), learned
    once per session: the service only indexes what a factory gives it."""
    return copy.deepcopy(_learned_small_engine()), "test-char-ngram"


def make_app(database_url: str, id_key: str, tmp_path, **overrides: Any):
    from api import create_app

    config = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "ID_KEY": id_key,
        "MODELS_DIR": str(tmp_path / "models"),
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "ENGINE_FACTORY": small_engine,
        "MAX_CONTENT_LENGTH": 256 * 1024,
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory, id_key: str):
    """A migrated and seeded SQLite file, built once; each test gets a copy (a fresh database
    without paying for migrations and ID encryption every time)."""
    from api.storage import init_db

    folder = tmp_path_factory.mktemp("template")
    url = f"sqlite:///{folder / 'template.db'}"
    init_db(url).dispose()
    app = make_app(url, id_key, folder)
    world = seed_world(app)
    dispose(app)
    return folder / "template.db", world


def dispose(app) -> None:
    """Stop the app's feed follower (if it runs) and close its database connections."""
    from api.service import EXTENSION

    state = app.extensions[EXTENSION]
    state.matching.stop_following()
    state.engine.dispose()


@pytest.fixture
def host(app, database_url, id_key, tmp_path):
    """Apps on the seeded database sharing one host folder: each stands for a process."""
    made = []

    def start(**overrides):
        a = make_app(database_url, id_key, tmp_path / "host", **overrides)
        made.append(a)
        return a

    yield start
    for a in made:
        dispose(a)


def start_service_process(child: str, config: dict) -> tuple[subprocess.Popen, dict]:
    """Run the Python source ``child`` with ``config`` (JSON) as its argument in a process of
    its own; returns the process once it printed its first line, and that line parsed."""
    process = subprocess.Popen(
        [sys.executable, "-c", child, json.dumps(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )
    line = process.stdout.readline()
    if not line:
        process.kill()
        pytest.fail(f"service process exited with {process.wait()} before it was ready")
    return process, json.loads(line)


@pytest.fixture
def app(database_url: str, id_key: str, tmp_path, request):
    """The service on a fresh database holding the seeded :class:`World` (``app.test_world``)."""
    if database_url.startswith("sqlite"):
        template, world = request.getfixturevalue("sqlite_template")
        # copy, not copyfile: the mode (0600) comes along, or the app refuses a loose file.
        shutil.copy(template, database_url.removeprefix("sqlite:///"))
        app = make_app(database_url, id_key, tmp_path)
    else:
        from api.storage import init_db

        init_db(database_url).dispose()
        app = make_app(database_url, id_key, tmp_path)
        world = seed_world(app)
    app.test_world = world
    yield app
    dispose(app)


@pytest.fixture
def client(app):
    return app.test_client()


def worker_payload(n: int, county: str = HUALONG, **overrides: Any) -> dict[str, Any]:
    """A valid registration form; ``n`` makes the ID number unique."""
    birth = dt.date(1985, 1, 1) + dt.timedelta(days=97 * n)
    gender = "男" if n % 2 else "女"
    body = {
        "name": f"测试{n}",
        "id_number": make_id_number(county, birth, n + 1, gender),
        "gender": gender,
        "birth_date": birth.isoformat(),
        "county_code": county,
        "phone": f"138{n:08d}",
        "education": "初中毕业",
        "skills_text": ["在西宁干过电焊", "做过缝纫工", "开过叉车", "饭店帮厨"][n % 4],
        "desired_jobs": [["焊工"], ["缝纫工"], ["叉车司机"], ["厨师"]][n % 4],
        "certificates": [["焊工证"], [], ["叉车证"], []][n % 4],
        "preferred_cities": ["苏州"] if n % 3 else [],
        "min_wage": 3000,
        "needs_dormitory": True,
        "needs_halal": False,
        "poverty_registered": n % 2 == 0,
    }
    body.update(overrides)
    return body


def job_payload(firm_id: int, n: int = 0, **overrides: Any) -> dict[str, Any]:
    titles = ["电焊工（包吃住）", "缝纫工 计件", "叉车司机 持证", "后厨帮工"]
    body = {
        "firm_id": firm_id,
        "title": titles[n % 4],
        "description": ["焊接钢结构，有经验优先", "服装厂缝纫", "仓库叉车", "食堂帮厨"][n % 4],
        "city": ["苏州", "无锡市", "昆山", "南京"][n % 4],
        "headcount": 5,
        "wage_min": 4000,
        "wage_max": 6500,
        "education_min": None,
        "age_min": 18,
        "age_max": 55,
        "certificates_required": [],
        "dormitory": True,
        "meals": True,
        "halal_canteen": False,
    }
    body.update(overrides)
    return body


@dataclass
class World:
    """Seeded rows and one key per role (``tokens[role]``)."""

    tokens: dict[str, str] = field(default_factory=dict)
    firm: int = 0
    other_firm: int = 0
    jobs: list[int] = field(default_factory=list)
    other_jobs: list[int] = field(default_factory=list)
    closed_job: int = 0
    workers: list[int] = field(default_factory=list)  # in the bureau's region
    other_workers: list[int] = field(default_factory=list)  # outside it

    def headers(self, role: str | None, **extra: str) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        h.update(extra)
        return h


@pytest.fixture
def world(app) -> World:
    """Two firms (the hr key's own and another), their jobs, workers in and out of the region."""
    return app.test_world


def seed_world(app) -> World:
    from api import storage
    from api.service import state
    from api.storage import session_scope

    w = World()
    with app.app_context():
        protector = state().protector
        with session_scope(state().engine) as session:
            own = storage.create_firm(
                session, {"name": "昆山测试电子厂", "city": "苏州市", "industry": "电子"}
            )
            other = storage.create_firm(
                session, {"name": "无锡测试服装厂", "city": "无锡市", "industry": "服装"}
            )
            w.firm, w.other_firm = own.id, other.id
            for n in range(4):
                w.jobs.append(storage.create_job(session, _job_record(job_payload(own.id, n))).id)
                w.other_jobs.append(
                    storage.create_job(session, _job_record(job_payload(other.id, n))).id
                )
            w.closed_job = storage.create_job(
                session, _job_record(job_payload(other.id, 0, status="closed"))
            ).id
            for n in range(6):
                w.workers.append(
                    storage.register_worker(
                        session, _worker_record(worker_payload(n)), protector=protector
                    ).id
                )
            for n in range(6, 9):
                w.other_workers.append(
                    storage.register_worker(
                        session,
                        _worker_record(worker_payload(n, county=YANCHANG)),
                        protector=protector,
                    ).id
                )
            for role, kwargs in {
                "admin": {},
                "hr": {"firm_id": own.id},
                "bureau": {"region_prefix": HAIDONG},
                "organiser": {},
            }.items():
                _, token = storage.create_api_key(session, name=f"test-{role}", role=role, **kwargs)
                w.tokens[role] = token
    return w


def _job_record(body: dict[str, Any]) -> dict[str, Any]:
    from api import schemas

    return schemas.JobCreate.model_validate(body).model_dump()


#: When the seeded workers were registered: before any outcome date the tests record.
SEED_REGISTERED = dt.date(2025, 6, 1)


def _worker_record(body: dict[str, Any]) -> dict[str, Any]:
    from api import schemas

    record = schemas.WorkerCreate.model_validate(body).stored_values(exclude_unset=False)
    return {**record, "registered_at": SEED_REGISTERED}
