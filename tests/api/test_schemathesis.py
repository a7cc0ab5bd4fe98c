"""Property-based run of the whole OpenAPI document (schemathesis, offline against the WSGI app):
every operation, driven with an admin key by generated requests, answers without a 5xx, with a
status the spec lists, the content type it declares and a body that matches its schema.

The app is built when the module is collected (schemathesis' fixture-based loader does not run
under pytest 9), on a temporary SQLite file seeded like the other API tests. CI draws 8 examples
per operation; ``JOBBRIDGE_SCHEMATHESIS_EXAMPLES=50`` draws more for a longer run.
"""

from __future__ import annotations

import base64
import os
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.specs.openapi import checks as openapi_checks

from tests.api.conftest import make_app, seed_world

CHECKS = [
    checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
]


def _build_app():
    from api.storage import init_db

    folder = Path(tempfile.mkdtemp(prefix="jobbridge-schemathesis-"))
    url = f"sqlite:///{folder / 'st.db'}"
    init_db(url).dispose()
    app = make_app(url, base64.b64encode(bytes(range(32))).decode("ascii"), folder)
    app.test_world = seed_world(app)
    client, admin = app.test_client(), app.test_world.headers("admin")
    # A planned fair (id 1) and an allocation (id 1), so the examples phase (path ids = 1) reaches
    # the fair and allocation views rather than their 404s; this also warms the engine.
    fair = {
        "name": "样例招聘会",
        "county_code": "630224",
        "date": "2026-04-01",
        "start_time": "09:00",
        "end_time": "10:00",
        "slot_minutes": 20,
        "booths": 2,
    }
    assert client.post("/api/v1/fairs", json=fair, headers=admin).status_code == 201
    assert (
        client.post("/api/v1/fairs/1/plan", json={"time_limit_s": 3}, headers=admin).status_code
        == 200
    )
    assert (
        client.post("/api/v1/allocations", json={"counties": ["630224"]}, headers=admin).status_code
        == 201
    )
    assert (
        client.post(
            "/api/v1/outcomes",
            json={"worker_id": 1, "job_id": 1, "stage": "applied", "date": "2026-01-02"},
            headers=admin,
        ).status_code
        == 201
    )
    return app


APP = _build_app()
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", APP)


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("JOBBRIDGE_SCHEMATHESIS_EXAMPLES", "8")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_conforms_and_never_fails(case):
    case.call_and_validate(headers=APP.test_world.headers("admin"), checks=CHECKS)
