"""``If-Match`` as RFC 9110 §13.1.1 reads it: ``*`` matches any current version, a list matches
when one of its strong tags does, and any tag that matches no current version is a 412."""

from __future__ import annotations

import pytest

API = "/api/v1"


@pytest.fixture
def job(client, world):
    h = world.headers("admin")
    r = client.get(f"{API}/jobs/{world.jobs[0]}", headers=h)
    return f"{API}/jobs/{world.jobs[0]}", h, r.headers["ETag"]


def test_star_matches_any_current_version(client, job):
    url, h, etag = job
    assert (
        client.patch(url, json={"headcount": 7}, headers={**h, "If-Match": etag}).status_code == 200
    )
    r = client.patch(url, json={"headcount": 8}, headers={**h, "If-Match": "*"})
    assert r.status_code == 200 and r.get_json()["headcount"] == 8
    assert client.delete(url, headers={**h, "If-Match": " * "}).status_code == 204


def test_star_on_a_missing_job_is_404(client, world):
    h = world.headers("admin")
    assert client.delete(f"{API}/jobs/999999", headers={**h, "If-Match": "*"}).status_code == 404


@pytest.mark.parametrize(
    "value", ['"stale-version"', "garbage", 'W/"1"', "1", '"99"', "", '"1', '"0"']
)
def test_a_tag_matching_no_current_version_is_412(client, job, value):
    url, h, etag = job
    assert etag == '"1"'
    r = client.patch(url, json={"headcount": 9}, headers={**h, "If-Match": value})
    assert r.status_code == 412, r.get_json()
    body = r.get_json()
    assert body["status"] == 412 and body["title"] == "数据已被他人修改"
    assert "请重新读取后再修改" in body["detail"]
    assert client.get(url, headers=h).get_json()["headcount"] == 5  # unchanged


def test_a_list_matches_when_one_strong_tag_does(client, job):
    url, h, _ = job
    r = client.patch(url, json={"headcount": 6}, headers={**h, "If-Match": '"7", W/"2", "1"'})
    assert r.status_code == 200
    r = client.patch(url, json={"headcount": 6}, headers={**h, "If-Match": '"7", "1"'})
    assert r.status_code == 412
    assert '当前 ETag 是 "2"' in r.get_json()["detail"]
