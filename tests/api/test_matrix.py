"""Role × endpoint matrix, generated from the route table (:data:`api.openapi.ROUTES`): every
operation is called without a key (401), by every role it does not allow (403), by every role it
allows on an object in that role's scope (passes auth: neither 401, 403 nor 404, and no 5xx), and
by every scoped role on an object outside its scope (404). A route added without a matrix entry
fails :func:`test_every_route_is_in_the_table_and_the_matrix`.
"""

from __future__ import annotations

import io
import os
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from api.openapi import ALL_ROLES, API_PREFIX, ROUTES, Operation
from tests.api.conftest import (
    HUALONG,
    YANCHANG,
    dispose,
    job_payload,
    make_app,
    seed_world,
    worker_payload,
)

API = "/api/v1"
POSTGRES_URL = os.environ.get("JOBBRIDGE_TEST_POSTGRES_URL")


def _load_routes() -> None:
    """Import every blueprint (as the app factory does) so ROUTES is complete at collection."""
    from api import create_app

    dispose(create_app({"DATABASE_URL": "sqlite://", "TESTING": True}))


_load_routes()


def _csv(text: str) -> dict[str, Any]:
    return {"file": (io.BytesIO(text.encode("utf-8")), "rows.csv")}


def _bodies(s: Scope) -> dict[str, Any]:
    """A request body for every operation that takes one (JSON dict or multipart dict)."""
    return {
        "firms.create_firm": {"name": "矩阵测试厂", "city": "常州"},
        "firms.update_firm": {"industry": "机械"},
        "jobs.create_job": job_payload(s.world.firm, 1),
        "jobs.update_job": {"headcount": 7},
        "workers.create_worker": worker_payload(s.next_worker()),
        "workers.update_worker": {"min_wage": 3500},
        # Every role that may record it reaches the order check: no hire, so no departure (422).
        "outcomes.create_outcome": {
            "worker_id": s.world.workers[0],
            "job_id": s.world.jobs[0],
            "stage": "left",
            "date": "2026-01-03",
        },
        "imports.import_jobs": _csv(
            "岗位名称,工作城市,月薪下限,月薪上限,招聘人数\n普工,苏州,5000,7000,3\n"
        ),
        "imports.import_workers": _csv(
            f"姓名,身份证号,户籍县,学历\n矩阵,{worker_payload(s.next_worker())['id_number']},化隆,初中\n"
        ),
        "fairs.create_fair": {
            "name": "矩阵招聘会",
            "county_code": HUALONG,
            "date": "2026-04-01",
            "start_time": "09:00",
            "end_time": "10:00",
            "slot_minutes": 20,
            "booths": 2,
        },
        "fairs.plan": {"max_workers": 5, "time_limit_s": 3},
        "fairs.replan": {"absent_workers": [s.world.workers[0]], "time_limit_s": 3},
        "fairs.refill": {"time_limit_s": 3},
        "fairs.change_status": {"action": "publish"},
        "fairs.move_interview": {
            "worker_id": s.world.workers[0],
            "firm_id": s.world.firm,
            "start": "2026-04-01T09:20:00",
        },
        "fairs.cancel_interview": {"worker_id": s.world.workers[0], "firm_id": s.world.firm},
        "allocations.create_allocation": {"counties": [HUALONG], "mode": "welfare"},
        "allocations.drop_proposals": {"worker_ids": [s.world.workers[0]]},
    }


#: Query strings some operations need to be meaningful.
QUERIES = {
    "fairs.lists": {"format": "html"},
    "imports.export_jobs": {"format": "csv"},
    "imports.export_workers": {"format": "csv"},
}


@dataclass
class Scope:
    world: Any
    inside: dict[str, int] = field(default_factory=dict)
    outside: dict[str, dict[str, int]] = field(default_factory=dict)
    counter: int = 100

    def next_worker(self) -> int:
        self.counter += 1
        return self.counter

    def inside_id(self, kind: str, role: str) -> int:
        return self.inside[kind]


@pytest.fixture(
    scope="module",
    params=[
        "sqlite",
        pytest.param(
            "postgres",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(not POSTGRES_URL, reason="JOBBRIDGE_TEST_POSTGRES_URL not set"),
            ],
        ),
    ],
)
def matrix(request, tmp_path_factory, id_key):
    """One database for the whole matrix (mutations are harmless: versioned writes stop at 428)."""
    from sqlalchemy import create_engine, text

    from api.storage import init_db

    folder = tmp_path_factory.mktemp("matrix")
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'matrix.db'}"
    else:
        from sqlalchemy.engine import make_url

        schema = f"m_{uuid.uuid4().hex[:12]}"
        with create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT").connect() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = (
            make_url(POSTGRES_URL)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    init_db(url).dispose()
    app = make_app(url, id_key, folder)
    world = seed_world(app)
    client = app.test_client()
    scope = Scope(world=world)
    admin = world.headers("admin")

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = client.post(f"{API}{path}", json=body, headers=admin)
        assert r.status_code in (200, 201), (path, r.get_json())
        return r.get_json()

    fair = {
        "name": "范围内",
        "county_code": HUALONG,
        "date": "2026-04-01",
        "start_time": "09:00",
        "end_time": "10:00",
        "slot_minutes": 20,
        "booths": 2,
    }
    fair_in = post("/fairs", fair)["id"]
    post(f"/fairs/{fair_in}/plan", {"time_limit_s": 3})
    fair_out = post("/fairs", {**fair, "name": "范围外", "county_code": YANCHANG})["id"]
    alloc_in = post("/allocations", {"counties": [HUALONG]})["id"]
    alloc_out = post("/allocations", {"counties": [YANCHANG]})["id"]
    event = {"stage": "applied", "date": "2026-01-02"}
    outcome_in = post(
        "/outcomes", {**event, "worker_id": world.workers[0], "job_id": world.jobs[0]}
    )["id"]
    outcome_other_job = post(
        "/outcomes", {**event, "worker_id": world.workers[0], "job_id": world.other_jobs[0]}
    )["id"]
    outcome_other_worker = post(
        "/outcomes", {**event, "worker_id": world.other_workers[0], "job_id": world.jobs[0]}
    )["id"]
    scope.inside = {
        "firm": world.firm,
        "job": world.jobs[0],
        "worker": world.workers[0],
        "fair": fair_in,
        "allocation": alloc_in,
        "outcome": outcome_in,
    }
    scope.outside = {
        "firm": {"hr": world.other_firm},
        "job": {
            "hr": world.other_jobs[0],
            "bureau": world.closed_job,
            "organiser": world.closed_job,
        },
        "worker": {"bureau": world.other_workers[0]},
        "fair": {"bureau": fair_out},
        "allocation": {"bureau": alloc_out},
        "outcome": {"hr": outcome_other_job, "bureau": outcome_other_worker},
    }
    yield app, client, scope
    dispose(app)
    if schema:
        with create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT").connect() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def _call(client, scope: Scope, op: Operation, role: str | None, object_id: int | None = None):
    path_args = {}
    for name in op.path_params:
        path_args[name] = object_id if object_id is not None else scope.inside[op.scope]
    path = op.path.format(**path_args)
    headers = scope.world.headers(role) if role else {}
    kwargs: dict[str, Any] = {"headers": headers, "query_string": QUERIES.get(op.endpoint, {})}
    if op.body is not None or op.upload:
        body = _bodies(scope)[op.endpoint]
        if op.upload:
            kwargs.update(data=body, content_type="multipart/form-data")
        else:
            kwargs["json"] = body
    return client.open(path, method=op.method, **kwargs)


def _id(op: Operation) -> str:
    return f"{op.method} {op.path}"


PROTECTED = [op for op in ROUTES if not op.public]
ALLOWED = [(op, role) for op in PROTECTED for role in op.roles]
DENIED = [(op, role) for op in PROTECTED for role in ALL_ROLES if role not in op.roles]
OUTSIDE_KINDS = {
    "firm": ("hr",),
    "job": ("hr", "bureau", "organiser"),
    "worker": ("bureau",),
    "fair": ("bureau",),
    "allocation": ("bureau",),
    "outcome": ("hr", "bureau"),
}
OUTSIDE = [
    (op, role)
    for op in PROTECTED
    if op.scope
    for role in OUTSIDE_KINDS[op.scope]
    if role in op.roles
]


def test_every_route_is_in_the_table_and_the_matrix(matrix):
    app, _, scope = matrix
    declared = {(op.method, op.path) for op in ROUTES}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API_PREFIX):
            continue  # the pages (api.web) and their static files are not API operations
        path = rule.rule
        for arg in rule.arguments:
            path = path.replace(f"<id:{arg}>", "{" + arg + "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, path) in declared, f"{method} {path} is not declared in the route table"
    bodies = _bodies(scope)
    for op in ROUTES:
        if op.body is not None or op.upload:
            assert op.endpoint in bodies, f"{_id(op)}: add a request body for it to the matrix"
        if op.path_params:
            assert op.scope in scope.inside, (
                f"{_id(op)}: declare its scope kind and give it an object"
            )
    assert len(ALLOWED) + len(DENIED) == len(PROTECTED) * len(ALL_ROLES)


@pytest.mark.parametrize("op", PROTECTED, ids=_id)
def test_no_key_is_401(matrix, op):
    _, client, scope = matrix
    r = _call(client, scope, op, None)
    assert r.status_code == 401, r.get_data(as_text=True)
    assert r.get_json()["status"] == 401


@pytest.mark.parametrize("op", [op for op in ROUTES if op.public], ids=_id)
def test_public_operations_need_no_key(matrix, op):
    _, client, scope = matrix
    assert _call(client, scope, op, None).status_code == 200


@pytest.mark.parametrize(
    ("op", "role"), DENIED, ids=lambda v: _id(v) if isinstance(v, Operation) else v
)
def test_role_not_allowed_is_403(matrix, op, role):
    _, client, scope = matrix
    r = _call(client, scope, op, role)
    assert r.status_code == 403, r.get_data(as_text=True)
    assert role in r.get_json()["detail"]


@pytest.mark.parametrize(
    ("op", "role"), ALLOWED, ids=lambda v: _id(v) if isinstance(v, Operation) else v
)
def test_allowed_role_in_scope_passes(matrix, op, role):
    _, client, scope = matrix
    r = _call(client, scope, op, role)
    assert r.status_code < 500, r.get_data(as_text=True)
    assert r.status_code not in (401, 403, 404), (r.status_code, r.get_data(as_text=True))
    if op.versioned:
        assert r.status_code == 428  # reached the version check: nothing was changed without one


@pytest.mark.parametrize(
    ("op", "role"), OUTSIDE, ids=lambda v: _id(v) if isinstance(v, Operation) else v
)
def test_object_outside_scope_is_404(matrix, op, role):
    _, client, scope = matrix
    r = _call(client, scope, op, role, scope.outside[op.scope][role])
    assert r.status_code == 404, r.get_data(as_text=True)
    assert r.get_json()["title"] == "未找到"
