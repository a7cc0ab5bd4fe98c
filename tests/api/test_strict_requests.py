"""Strict request parsing (issue 12 §2): JSON within size and depth limits, JSON's own types
only, exact place names with the near ones offered, no control characters, Chinese messages."""

from __future__ import annotations

import re

import pytest

from tests.api.conftest import job_payload, make_app, worker_payload

API = "/api/v1"
CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH = re.compile(r"Input should|Field required|Value error|Extra inputs|String should|valid")


def _post(client, world, path, body, role="admin"):
    return client.post(f"{API}{path}", json=body, headers=world.headers(role))


# --------------------------------------------------------------------------- JSON limits
@pytest.mark.parametrize("depth", [33, 1_000, 10_000])
def test_deeply_nested_json_is_a_400_not_a_recursion_error(client, world, depth):
    for opener, closer in (("[", "]"), ('{"a":', "}")):
        data = opener * depth + closer * depth
        r = client.post(
            f"{API}/jobs",
            data=data,
            content_type="application/json",
            headers=world.headers("admin"),
        )
        assert r.status_code == 400, r.get_data(as_text=True)[:300]
        body = r.get_json()
        assert body["detail"] == f"JSON 请求体嵌套 {depth} 层，超过了允许的 32 层。"


def test_nesting_inside_strings_does_not_count(client, world):
    body = job_payload(world.firm, description="[" * 3000 + "{" * 1000)
    assert _post(client, world, "/jobs", body).status_code == 201


def test_brackets_in_an_unterminated_string_are_still_a_4xx(client, world):
    r = client.post(
        f"{API}/jobs",
        data='{"title": "' + "[" * 50_000,
        content_type="application/json",
        headers=world.headers("admin"),
    )
    assert r.status_code == 400


def test_100_mb_of_brackets_is_refused_before_it_is_read(database_url, id_key, tmp_path):
    from api.storage import init_db
    from tests.api.conftest import dispose, seed_world

    init_db(database_url).dispose()
    app = make_app(database_url, id_key, tmp_path, MAX_CONTENT_LENGTH=100 * 1024 * 1024)
    world = seed_world(app)
    try:
        r = app.test_client().post(
            f"{API}/jobs",
            data=b"[" * (100 * 1000 * 1000),
            content_type="application/json",
            headers=world.headers("admin"),
        )
        assert r.status_code == 413
        assert r.get_json()["detail"] == (
            "JSON 请求体超过了允许的大小（4194304 字节）；批量数据请用文件导入。"
        )
        # Just under the JSON limit, all brackets: the depth scan answers, no parser recurses.
        r = app.test_client().post(
            f"{API}/jobs",
            data=b"[" * (4 * 1024 * 1024 - 10),
            content_type="application/json",
            headers=world.headers("admin"),
        )
        assert r.status_code == 400
    finally:
        dispose(app)


@pytest.mark.parametrize("data", ["NaN", '{"headcount": Infinity}', "\xff\xfe", "{"])
def test_not_json_is_a_400(client, world, data):
    r = client.post(
        f"{API}/jobs",
        data=data.encode("latin-1"),
        content_type="application/json",
        headers=world.headers("admin"),
    )
    assert r.status_code == 400
    assert CJK.search(r.get_json()["detail"])


# --------------------------------------------------------------------------- strict types
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("headcount", True, "应为整数（收到 True）"),
        ("headcount", "5", "应为整数（收到 '5'）"),
        ("headcount", 5.5, "应为整数"),
        ("wage_min", False, "应为整数（收到 False）"),
        ("dormitory", "yes", "应为 true 或 false（收到 'yes'）"),
        ("dormitory", 1, "应为 true 或 false（收到 1）"),
        ("meals", "true", "应为 true 或 false"),
        ("title", 123, "应为文本（收到 123）"),
        ("certificates_required", "叉车证", "应为列表"),
    ],
)
def test_no_coercion_between_json_types(client, world, field, value, message):
    r = _post(client, world, "/jobs", job_payload(world.firm, **{field: value}))
    assert r.status_code == 422, r.get_json()
    errors = r.get_json()["errors"]
    assert errors[0]["field"] == field
    assert errors[0]["message"].startswith(message)


def test_strict_worker_and_patch_bodies(client, world):
    r = _post(client, world, "/workers", worker_payload(50, needs_dormitory="yes"))
    assert r.status_code == 422
    assert r.get_json()["errors"][0]["field"] == "needs_dormitory"
    r = client.patch(
        f"{API}/jobs/{world.jobs[0]}",
        json={"headcount": True, "version": 1},
        headers=world.headers("admin"),
    )
    assert r.status_code == 422
    assert r.get_json()["errors"][0]["field"] == "headcount"


def test_dates_and_times_still_come_as_iso_strings(client, world):
    assert _post(client, world, "/workers", worker_payload(51)).status_code == 201
    fair = {
        "name": "严格模式招聘会",
        "county_code": "630224",
        "date": "2026-04-01",
        "start_time": "09:00",
        "end_time": "10:00",
        "booths": 2,
    }
    assert _post(client, world, "/fairs", fair).status_code == 201


# --------------------------------------------------------------------------- place names
def test_a_street_is_not_a_city_and_the_near_names_are_offered(client, world):
    r = _post(client, world, "/jobs", job_payload(world.firm, city="南京路"))
    assert r.status_code == 422
    message = r.get_json()["errors"][0]["message"]
    assert message.startswith("城市 '南京路' 不是江苏省已知的地级市或县区；相近的有：南京市")
    r = _post(client, world, "/firms", {"name": "路边厂", "city": "昆山路12号"})
    assert r.status_code == 422
    assert "苏州市昆山市" in r.get_json()["errors"][0]["message"]
    r = _post(client, world, "/workers", worker_payload(52, preferred_cities=["苏州", "南京路"]))
    assert r.status_code == 422
    assert "南京路" in r.get_json()["errors"][0]["message"]
    assert "南京市" in r.get_json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("city", "expected"),
    [("苏州", ("苏州市", "")), ("昆山", ("苏州市", "昆山市")), ("苏州工业园区", ("苏州市", ""))],
)
def test_short_forms_and_zones_are_still_places(client, world, city, expected):
    r = _post(client, world, "/jobs", job_payload(world.firm, city=city))
    assert r.status_code == 201, r.get_json()
    assert (r.get_json()["city"], r.get_json()["district"]) == expected


# --------------------------------------------------------------------------- control characters
@pytest.mark.parametrize("text", ["电子厂\x00流水线", "电子\x1b[31m厂", "\x7f", "a\x85b"])
def test_control_characters_are_refused(client, world, text):
    r = _post(client, world, "/jobs", job_payload(world.firm, description=text))
    assert r.status_code == 422, r.get_json()
    error = r.get_json()["errors"][0]
    assert error["field"] == "description"
    assert error["message"].startswith("文本中含有控制字符 U+")


def test_control_characters_in_lists_patches_and_queries(client, world):
    r = _post(client, world, "/workers", worker_payload(53, desired_jobs=["焊工\x00"]))
    assert r.status_code == 422
    assert r.get_json()["errors"][0]["field"] == "desired_jobs"
    r = client.patch(
        f"{API}/firms/{world.firm}",
        json={"industry": "电子\x00", "version": 1},
        headers=world.headers("admin"),
    )
    assert r.status_code == 422
    r = client.get(f"{API}/firms?name_contains=%00", headers=world.headers("admin"))
    assert r.status_code == 422


def test_tabs_and_line_breaks_are_kept(client, world):
    body = job_payload(world.firm, description="两班倒\n包吃住\t月休四天\r\n")
    r = _post(client, world, "/jobs", body)
    assert r.status_code == 201
    assert r.get_json()["description"] == "两班倒\n包吃住\t月休四天"


# --------------------------------------------------------------------------- Chinese messages
def test_every_validation_message_is_chinese(client, world):
    body = job_payload(
        world.firm,
        headcount=0,
        wage_min=-1,
        title="x" * 300,
        status="gone",
        dormitory="yes",
        certificates_required=["证"] * 40,
        bogus=1,
    )
    del body["city"]
    r = _post(client, world, "/jobs", body)
    assert r.status_code == 422
    problem = r.get_json()
    assert len(problem["errors"]) >= 7
    for item in [*problem["errors"], {"message": problem["detail"]}]:
        assert CJK.search(item["message"]), item
        assert not ENGLISH.search(item["message"]), item
    messages = {e["field"]: e["message"] for e in problem["errors"]}
    assert messages["city"] == "缺少必填字段"
    assert messages["bogus"] == "未知字段（不在本接口的字段之列）（收到 1）"
    assert messages["headcount"] == "应不小于 1（收到 0）"
    assert messages["status"] == "应为以下之一：'open'、'filled'、'closed'（收到 'gone'）"


def test_query_and_model_validator_messages_are_chinese(client, world):
    r = client.get(f"{API}/jobs?limit=0&status=gone", headers=world.headers("admin"))
    assert r.status_code == 422
    for item in r.get_json()["errors"]:
        assert CJK.search(item["message"]) and not ENGLISH.search(item["message"]), item
    r = _post(client, world, "/workers", worker_payload(54, county_code="9999"))
    assert r.status_code == 422
    message = r.get_json()["errors"][0]["message"]
    assert message.startswith("县区 '9999' 不在75个协作县之列") and "not one" not in message


# --------------------------------------------------------------------------- query strings
@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("/jobs?limit=abc", "limit", "应为整数（收到 'abc'）"),
        ("/jobs?limit=true", "limit", "应为整数（收到 'true'）"),
        ("/jobs?limit=1.0", "limit", "应为整数（收到 '1.0'）"),
        ("/jobs?limit=%2B5", "limit", "应为整数（收到 '+5'）"),
        ("/jobs?limit=%205", "limit", "应为整数（收到 ' 5'）"),
        ("/jobs?limit=1_0", "limit", "应为整数（收到 '1_0'）"),
        ("/jobs?limit=05", "limit", "应为整数（收到 '05'）"),
        ("/jobs?limit=", "limit", "应为整数（收到 ''）"),
        ("/jobs?limit=" + "9" * 5000, "limit", "应为整数（收到 '" + "9" * 76 + "...）"),
        ("/jobs?after=-0", "after", "应为整数（收到 '-0'）"),
        ("/jobs?offset=-1", "offset", "应不小于 0（收到 -1）"),
        ("/jobs?firm_id=1e0", "firm_id", "应为整数（收到 '1e0'）"),
        ("/jobs?page=-1", "page", "未知字段（不在本接口的字段之列）（收到 '-1'）"),
        ("/jobs?limit=1&limit=2", "limit", "只能给一次，收到 2 个值：'1'、'2'"),
        ("/jobs?status=open&status=open", "status", "只能给一次，收到 2 个值：'open'、'open'"),
        (
            "/workers?poverty_registered=yes",
            "poverty_registered",
            "应为 true 或 false（收到 'yes'）",
        ),
        ("/workers?poverty_registered=1", "poverty_registered", "应为 true 或 false（收到 '1'）"),
        (
            "/workers?poverty_registered=True",
            "poverty_registered",
            "应为 true 或 false（收到 'True'）",
        ),
        ("/jobs/export?format=csv&format=xlsx", "format", "只能给一次，收到 2 个值：'csv'、'xlsx'"),
        ("/jobs/1/matches?limit=1.5", "limit", "应为整数（收到 '1.5'）"),
    ],
)
def test_query_strings_are_strictly_typed(client, world, query, field, message):
    """A query value is read one way only: no 1.0, +5 or 'yes' quietly taken as 1, 5 or true,
    a parameter given twice is not silently one of its values, and a very long number is an
    error, not a crash of int()."""
    r = client.get(f"{API}{query}", headers=world.headers("admin"))
    assert r.status_code == 422, r.get_data(as_text=True)[:300]
    problem = r.get_json()
    assert {"field": field, "message": message} in problem["errors"]
    assert problem["detail"].endswith(f"{field}: {problem['errors'][0]['message']}")
    for item in problem["errors"]:
        assert CJK.search(item["message"]) and not ENGLISH.search(item["message"]), item


def test_well_formed_query_values_still_work(client, world):
    h = world.headers("admin")
    r = client.get(f"{API}/jobs?limit=2&offset=0&firm_id={world.firm}", headers=h)
    assert r.status_code == 200 and 1 <= len(r.get_json()["items"]) <= 2
    assert client.get(f"{API}/workers?poverty_registered=false", headers=h).status_code == 200
    assert client.get(f"{API}/jobs?after=0&limit=1", headers=h).status_code == 200


def test_every_query_problem_is_listed_at_once(client, world):
    r = client.get(f"{API}/jobs?limit=1&limit=2&offset=x&bogus=1", headers=world.headers("admin"))
    assert r.status_code == 422
    problem = r.get_json()
    assert [e["field"] for e in problem["errors"]] == ["limit", "offset", "bogus"]
    assert problem["detail"].startswith("共有 3 处数据不合规：limit: 只能给一次")
