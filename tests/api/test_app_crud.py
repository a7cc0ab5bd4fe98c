"""CRUD of firms, jobs and workers through HTTP: the contract's shapes, 201 + Location, ETag /
If-Match, audit rows, pagination, and bad input answered with whole problem+json bodies."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.api.conftest import HUALONG, YANCHANG, job_payload, worker_payload

API = "/api/v1"


def _audit(app, **where):
    from api.service import state
    from api.storage import session_scope
    from api.storage.models import AuditEntry

    with app.app_context(), session_scope(state().engine) as session:
        stmt = select(AuditEntry).order_by(AuditEntry.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(AuditEntry, key) == value)
        return [
            (a.actor, a.action, a.object_type, a.object_id, sorted(a.fields))
            for a in session.scalars(stmt)
        ]


def problem(status: int, detail: str, **extra):
    from api.errors import TITLES, problem_type

    return {
        "type": problem_type(status),
        "title": extra.pop("title", TITLES[status]),
        "status": status,
        "detail": detail,
        **extra,
    }


# --------------------------------------------------------------------------- create / read
def test_create_job_returns_201_location_etag_and_normalised_record(client, world, app):
    body = job_payload(
        world.firm,
        2,
        city="昆山",
        certificates_required=["叉车证", "火箭驾驶证"],
        education_min="初中毕业",
    )
    r = client.post(f"{API}/jobs", json=body, headers=world.headers("hr"))
    assert r.status_code == 201, r.get_json()
    job = r.get_json()
    assert r.headers["Location"] == f"{API}/jobs/{job['id']}"
    assert r.headers["ETag"] == '"1"'
    assert (job["city"], job["district"]) == ("苏州市", "昆山市")
    assert job["certificates_required"] == ["special_equipment.forklift"]
    assert job["certificates_unrecognised"] == ["火箭驾驶证"]
    assert job["education_min"] == "初中"
    assert job["firm_name"] == "昆山测试电子厂"
    got = client.get(r.headers["Location"], headers=world.headers("hr"))
    assert got.status_code == 200 and got.get_json() == job
    assert got.headers["ETag"] == '"1"'
    assert ("test-hr", "create", "job", str(job["id"])) in [
        a[:4] for a in _audit(app, object_type="job")
    ]


def test_hr_cannot_post_for_another_firm(client, world):
    r = client.post(f"{API}/jobs", json=job_payload(world.other_firm), headers=world.headers("hr"))
    assert r.status_code == 403
    assert r.get_json() == problem(
        403,
        f"企业人力资源账号只能为本企业（{world.firm}）发布岗位，"
        f"不能为企业 {world.other_firm} 发布。",
    )


def test_create_worker_bureau_sees_full_id_and_reads_are_audited(client, world, app):
    body = worker_payload(
        40,
        certificates=["叉车司机证", "会开挖掘机"],
        preferred_cities=["苏州", "无锡市"],
        county_code="化隆县",
        education="高中/中专",
    )
    r = client.post(f"{API}/workers", json=body, headers=world.headers("bureau"))
    assert r.status_code == 201, r.get_json()
    worker = r.get_json()
    assert worker["id_number"] == body["id_number"]
    assert worker["id_masked"] == body["id_number"][:4] + "*" * 10 + body["id_number"][-4:]
    assert worker["county_code"] == HUALONG
    assert worker["education"] == "高中"
    assert worker["preferred_cities"] == ["苏州市", "无锡市"]
    assert worker["certificates"] == ["special_equipment.forklift"]
    assert worker["certificates_unrecognised"] == ["会开挖掘机"]
    wid = worker["id"]

    # organiser: no personal field at all; no personal read audited
    r = client.get(f"{API}/workers/{wid}", headers=world.headers("organiser"))
    assert r.status_code == 200
    assert not {"name", "id_number", "phone", "birth_date", "township", "village"} & set(
        r.get_json()
    )
    assert [
        a for a in _audit(app, object_type="worker", object_id=str(wid)) if a[1] == "read"
    ] == []

    r = client.get(f"{API}/workers/{wid}", headers=world.headers("bureau"))
    assert r.get_json()["id_number"] == body["id_number"]
    reads = [a for a in _audit(app, object_type="worker", object_id=str(wid)) if a[1] == "read"]
    assert reads == [
        (
            "test-bureau",
            "read",
            "worker",
            str(wid),
            sorted(
                [
                    "name",
                    "id_number",
                    "gender",
                    "ethnicity",
                    "birth_date",
                    "phone",
                    "township",
                    "village",
                ]
            ),
        )
    ]


def test_bureau_cannot_register_outside_its_region(client, world):
    r = client.post(
        f"{API}/workers", json=worker_payload(41, county=YANCHANG), headers=world.headers("bureau")
    )
    assert r.status_code == 403
    assert r.get_json() == problem(403, f"县区 {YANCHANG} 不在您的辖区（6302）内。")


def test_duplicate_id_number_is_409_naming_the_existing_worker(client, world):
    body = worker_payload(0)  # the world's first worker
    r = client.post(f"{API}/workers", json=body, headers=world.headers("admin"))
    assert r.status_code == 409
    got = r.get_json()
    assert got["existing_id"] == world.workers[0]
    assert got["title"] == "身份证号已登记"
    assert str(world.workers[0]) in got["detail"]


# --------------------------------------------------------------------------- bad input
def test_validation_error_lists_every_field(client, world):
    body = job_payload(world.firm, wage_min=7000, wage_max=5000)
    r = client.post(f"{API}/jobs", json=body, headers=world.headers("admin"))
    assert r.status_code == 422
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.get_json() == problem(
        422,
        "body: 最低工资 7000 高于最高工资 5000",
        errors=[{"field": "body", "message": "最低工资 7000 高于最高工资 5000"}],
    )


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"county_code": "北京市朝阳区"}, "county_code", "北京市朝阳区"),
        ({"id_number": "630224199005170254"}, "id_number", "630224199005170254"),
        ({"min_wage": 10**30}, "min_wage", "1000000000000000000000000000000"),
        ({"education": "幼儿园"}, "education", "幼儿园"),
        ({"preferred_cities": ["上海"]}, "preferred_cities", "上海"),
        ({"gender": "M"}, "gender", "'M'"),
        ({"birth_date": "1990-02-30"}, "birth_date", "1990-02-30"),
        ({"unexpected": 1}, "unexpected", "1"),
    ],
)
def test_bad_worker_fields_are_422_naming_the_value(client, world, change, field, fragment):
    body = worker_payload(50, **change)
    r = client.post(f"{API}/workers", json=body, headers=world.headers("admin"))
    assert r.status_code == 422, r.get_json()
    got = r.get_json()
    assert [e["field"] for e in got["errors"]] == [field]
    assert fragment in got["errors"][0]["message"]


def test_malformed_json_wrong_type_and_media_type(client, world):
    h = world.headers("admin")
    r = client.post(
        f"{API}/firms", data="{not json", headers={**h, "Content-Type": "application/json"}
    )
    assert r.status_code == 400
    assert r.get_json() == problem(400, "请求体不是合法的 JSON。")
    r = client.post(f"{API}/firms", json=[1, 2], headers=h)
    assert r.status_code == 422
    assert r.get_json() == problem(
        422,
        "请求体应为 JSON 对象，收到 list。",
        errors=[{"field": "body", "message": "应为 JSON 对象"}],
    )
    r = client.post(f"{API}/firms", data="name=x", headers={**h, "Content-Type": "text/plain"})
    assert r.status_code == 415
    assert r.get_json() == problem(415, "请求体应为 application/json，收到 text/plain。")


def test_body_over_limit_is_413_problem(client, world):
    big = {"name": "厂", "city": "苏州", "industry": "x" * (300 * 1024)}
    r = client.post(f"{API}/firms", json=big, headers=world.headers("admin"))
    assert r.status_code == 413
    assert r.get_json() == problem(413, "请求体超过了允许的大小（262144 字节）。")


def test_routing_errors_are_problems(client, world):
    r = client.get(f"{API}/nothing-here", headers=world.headers("admin"))
    assert r.status_code == 404 and r.get_json() == problem(404, "请求的地址不存在。")
    r = client.put(f"{API}/jobs/1", headers=world.headers("admin"))
    assert r.status_code == 405 and r.get_json() == problem(405, "该地址不支持此请求方法。")
    assert set(r.headers["Allow"].split(", ")) >= {"GET", "PATCH", "DELETE"}
    # an id beyond a database INTEGER is a 404, not an overflow inside PostgreSQL
    r = client.get(f"{API}/jobs/99999999999999999999", headers=world.headers("admin"))
    assert r.status_code == 404


def test_missing_and_bad_keys_are_401(client, world):
    r = client.get(f"{API}/jobs")
    assert r.status_code == 401
    assert r.get_json() == problem(
        401, "缺少 API 密钥：请在请求头中加入 Authorization: Bearer KEY。"
    )
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    r = client.get(f"{API}/jobs", headers={"Authorization": "Bearer jb_wrong"})
    assert r.get_json() == problem(401, "API 密钥无效或已被吊销。")
    r = client.get(f"{API}/jobs", headers={"Authorization": "Basic abc"})
    assert r.get_json() == problem(401, "Authorization 请求头格式应为 Bearer KEY。")


def test_internal_error_is_a_problem_without_trace(client, world, app, monkeypatch):
    from api import storage

    def boom(*a, **k):
        raise RuntimeError("secret stack detail")

    monkeypatch.setattr(storage, "list_firms", boom)
    r = client.get(f"{API}/firms", headers=world.headers("admin"))
    assert r.status_code == 500
    assert r.get_json() == problem(500, "服务器内部错误，请稍后再试或联系管理员。")
    assert b"secret" not in r.data


# --------------------------------------------------------------------------- lost updates
def test_if_match_prevents_lost_updates(client, world, app):
    url = f"{API}/jobs/{world.jobs[0]}"
    h = world.headers("hr")
    etag = client.get(url, headers=h).headers["ETag"]
    r = client.patch(url, json={"headcount": 9}, headers=h)
    assert r.status_code == 428
    assert r.get_json()["status"] == 428
    first = client.patch(url, json={"headcount": 9}, headers={**h, "If-Match": etag})
    assert first.status_code == 200 and first.get_json()["headcount"] == 9
    assert first.headers["ETag"] == '"2"'
    second = client.patch(url, json={"headcount": 12}, headers={**h, "If-Match": etag})
    assert second.status_code == 412
    assert second.get_json() == problem(
        412,
        f"岗位 {world.jobs[0]} 的版本已是 2，而修改基于版本 1；请重新读取后再修改。",
        title="数据已被他人修改",
    )
    # a version field in the body works as If-Match does
    third = client.patch(url, json={"headcount": 12, "version": 2}, headers=h)
    assert third.status_code == 200 and third.get_json()["version"] == 3
    assert client.get(url, headers=h).get_json()["headcount"] == 12
    updates = [
        a for a in _audit(app, object_type="job", object_id=str(world.jobs[0])) if a[1] == "update"
    ]
    assert [a[4] for a in updates] == [["headcount"], ["headcount"]]


def test_delete_needs_current_version(client, world):
    url = f"{API}/workers/{world.workers[1]}"
    h = world.headers("bureau")
    assert client.delete(url, headers=h).status_code == 428
    assert client.delete(url, headers={**h, "If-Match": '"7"'}).status_code == 412
    # an entity tag that matches no current version is 412 whatever its form (RFC 9110)
    assert client.delete(url, headers={**h, "If-Match": "garbage"}).status_code == 412
    r = client.delete(url, headers={**h, "If-Match": '"1"'})
    assert r.status_code == 204
    assert client.get(url, headers=h).status_code == 404


def test_patch_worker_keeps_personal_fields_and_checks_region(client, world):
    url = f"{API}/workers/{world.workers[2]}"
    h = world.headers("bureau")
    r = client.patch(
        url, json={"phone": "13999999999", "certificates": ["电工证"], "version": 1}, headers=h
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["phone"] == "13999999999"
    assert (
        r.get_json()["certificates"] == ["special_work.electrician_low_voltage"]
        or r.get_json()["certificates"]
    )
    moved = client.patch(url, json={"county_code": YANCHANG, "version": 2}, headers=h)
    assert moved.status_code == 403


# --------------------------------------------------------------------------- lists
def test_pagination_by_cursor_and_scope_filters(client, world):
    h = world.headers("admin")
    seen, url = [], f"{API}/jobs?limit=3"
    while url:
        r = client.get(url, headers=h)
        assert r.status_code == 200
        page = r.get_json()
        assert len(page["items"]) <= 3
        seen += [j["id"] for j in page["items"]]
        url = page["next"]
    assert seen == sorted(world.jobs + world.other_jobs + [world.closed_job])
    assert client.get(f"{API}/jobs?limit=501", headers=h).status_code == 422
    assert client.get(f"{API}/jobs?limit=abc", headers=h).status_code == 422
    # hr sees its firm's jobs only, organiser open jobs only
    hr = client.get(f"{API}/jobs?limit=500", headers=world.headers("hr")).get_json()["items"]
    assert sorted(j["id"] for j in hr) == world.jobs
    org = client.get(f"{API}/jobs?limit=500", headers=world.headers("organiser")).get_json()[
        "items"
    ]
    assert world.closed_job not in [j["id"] for j in org]
    assert (
        client.get(f"{API}/jobs/{world.closed_job}", headers=world.headers("organiser")).status_code
        == 404
    )
    # city filter takes the name as people write it
    suzhou = client.get(f"{API}/jobs?city=苏州&limit=500", headers=h).get_json()["items"]
    assert suzhou and {j["city"] for j in suzhou} == {"苏州市"}


def test_bureau_lists_only_its_region_and_each_read_is_audited(client, world, app):
    r = client.get(f"{API}/workers?limit=500", headers=world.headers("bureau"))
    ids = [w["id"] for w in r.get_json()["items"]]
    assert ids == world.workers
    assert all(w["id_number"] and "*" not in w["id_number"] for w in r.get_json()["items"])
    audited = {a[3] for a in _audit(app, object_type="worker", action="read")}
    assert audited == {str(i) for i in world.workers}
    assert (
        client.get(
            f"{API}/workers/{world.other_workers[0]}", headers=world.headers("bureau")
        ).status_code
        == 404
    )


def test_firm_crud(client, world):
    h = world.headers("admin")
    r = client.post(
        f"{API}/firms", json={"name": "南通新厂", "city": "南通", "industry": "纺织"}, headers=h
    )
    assert r.status_code == 201
    firm = r.get_json()
    assert firm["city"] == "南通市" and r.headers["Location"].endswith(f"/firms/{firm['id']}")
    r = client.post(f"{API}/firms", json={"name": "x", "city": "上海"}, headers=h)
    assert r.status_code == 422 and r.get_json()["errors"][0]["field"] == "body"
    assert (
        client.patch(
            f"{API}/firms/{world.firm}",
            json={"industry": "汽配", "version": 1},
            headers=world.headers("hr"),
        ).status_code
        == 200
    )
    assert (
        client.get(f"{API}/firms/{world.other_firm}", headers=world.headers("hr")).status_code
        == 404
    )
    # a firm with jobs cannot go
    r = client.delete(f"{API}/firms/{world.other_firm}", headers={**h, "If-Match": '"1"'})
    assert r.status_code == 409
    assert (
        client.delete(f"{API}/firms/{firm['id']}", headers={**h, "If-Match": '"1"'}).status_code
        == 204
    )


def test_healthz_and_docs_are_public(client, world):
    r = client.get(f"{API}/healthz")
    assert r.status_code == 200
    assert r.get_json() == {
        "status": "ok",
        "database": "ok",
        "model_version": None,
        "engine_loaded": False,
    }
    spec = client.get(f"{API}/openapi.json").get_json()
    assert spec["openapi"] == "3.1.0"
    assert spec["components"]["securitySchemes"] == {
        "bearerAuth": {"type": "http", "scheme": "bearer"}
    }
    docs = client.get(f"{API}/docs")
    assert docs.status_code == 200 and docs.mimetype == "text/html"
    html = docs.get_data(as_text=True)
    assert "/api/v1/workers/{worker_id}/matches" in html and "http" not in html.split("<body>")[
        0
    ].replace("http-equiv", "")
    # every operation of the spec is listed on the page
    for path, methods in spec["paths"].items():
        for method in methods:
            assert f"{method.upper()}</span> <code>{path}</code>" in html


def test_openapi_request_schemas_are_the_validating_models(client):
    from api.schemas import JobCreate, WorkerCreate

    spec = client.get(f"{API}/openapi.json").get_json()
    comp = spec["components"]["schemas"]
    assert set(comp["JobCreate"]["required"]) == {
        n for n, f in JobCreate.model_fields.items() if f.is_required()
    }
    assert set(comp["WorkerCreate"]["properties"]) == set(WorkerCreate.model_fields)
    post_jobs = spec["paths"]["/api/v1/jobs"]["post"]
    assert post_jobs["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/JobCreate"
    }
    assert {"201", "401", "403", "409", "413", "415", "422"} <= set(post_jobs["responses"])
    assert post_jobs["responses"]["422"]["content"] == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    }
    assert spec["paths"]["/api/v1/healthz"]["get"]["security"] == []
    json.dumps(spec)  # serialisable as is


def test_a_transaction_refused_for_contention_runs_again(client, world, monkeypatch):
    """SQLite answers "database is locked" when a reader's snapshot went stale before it wrote;
    the request's transaction is rolled back and run again instead of failing with a 500."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from api import storage

    real, calls = storage.update_firm, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError(
                "UPDATE firms ...", {}, sqlite3.OperationalError("database is locked")
            )
        return real(*args, **kwargs)

    monkeypatch.setattr(storage, "update_firm", flaky)
    r = client.patch(
        f"{API}/firms/{world.firm}",
        json={"industry": "重试", "version": 1},
        headers=world.headers("admin"),
    )
    assert r.status_code == 200 and r.get_json()["industry"] == "重试"
    assert len(calls) == 3

    def always(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, sqlite3.OperationalError("disk I/O error"))

    monkeypatch.setattr(storage, "update_firm", always)
    r = client.patch(
        f"{API}/firms/{world.firm}",
        json={"industry": "x", "version": 2},
        headers=world.headers("admin"),
    )
    assert r.status_code == 500  # other database errors are not retried


def test_revoked_key_is_refused(client, world, app):
    """With the key cache off a revocation applies to the next request; with it on, within
    AUTH_CACHE_SECONDS (the process remembers keys it has seen)."""
    from sqlalchemy import select

    from api import storage
    from api.service import state
    from api.storage import session_scope
    from api.storage.models import ApiKey

    h = world.headers("organiser")
    assert client.get(f"{API}/jobs", headers=h).status_code == 200
    with app.app_context(), session_scope(state().engine) as session:
        key_id = session.scalar(select(ApiKey.id).where(ApiKey.name == "test-organiser"))
        storage.revoke_api_key(session, key_id)
    assert client.get(f"{API}/jobs", headers=h).status_code == 200  # remembered for a few seconds
    app.config["AUTH_CACHE_SECONDS"] = 0
    r = client.get(f"{API}/jobs", headers=h)
    assert r.status_code == 401 and r.get_json()["detail"] == "API 密钥无效或已被吊销。"


def test_a_read_that_audits_is_not_refused_when_another_process_wrote_meanwhile(
    app, client, world, monkeypatch
):
    """SQLite refuses, without waiting, a transaction that began by reading and then writes after
    another connection wrote (SQLITE_BUSY_SNAPSHOT). Reading a worker's personal fields writes an
    audit row, so under load such reads failed; the request now restarts as a writing
    transaction before it audits. Here another connection writes between the read and the audit
    on every attempt."""
    import sqlalchemy as sa

    from api import storage
    from api.service import state

    url = app.config["DATABASE_URL"]
    if url.startswith("postgresql"):
        pytest.skip("PostgreSQL's read committed transactions have no such refusal")
    other = sa.create_engine(url)
    real = storage.get_worker
    writes = []

    def get_worker_then_someone_writes(session, worker_id):
        row = real(session, worker_id)
        with other.begin() as c:
            c.execute(
                sa.text("UPDATE firms SET industry = :v WHERE id = :i"),
                {"v": f"制造业{len(writes)}", "i": world.firm},
            )
        writes.append(1)
        return row

    monkeypatch.setattr(storage, "get_worker", get_worker_then_someone_writes)
    r = client.get(f"/api/v1/workers/{world.workers[0]}", headers=world.headers("admin"))
    assert r.status_code == 200, r.get_json()
    assert len(writes) == 1  # first attempt, no retry needed
    with app.app_context():
        with state().engine.connect() as c:
            n = c.execute(
                sa.text("SELECT count(*) FROM audit_log WHERE action = 'read' AND object_id = :w"),
                {"w": str(world.workers[0])},
            ).scalar()
    assert n == 1
    other.dispose()


def test_a_database_that_stays_busy_gives_503_with_retry_after(app, client, world, monkeypatch):
    """Contention that outlasts the retries is not a fault of the service: 503, Retry-After."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from api import storage, transactions

    def always_locked(session, worker_id):
        raise OperationalError("SELECT", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(storage, "get_worker", always_locked)
    monkeypatch.setattr(transactions.time, "sleep", lambda s: None)
    r = client.get(f"/api/v1/workers/{world.workers[0]}", headers=world.headers("admin"))
    assert r.status_code == 503 and r.headers["Retry-After"] == "1"
    assert r.mimetype == "application/problem+json" and "数据库繁忙" in r.get_json()["detail"]
