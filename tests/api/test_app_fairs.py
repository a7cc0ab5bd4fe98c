"""Job fairs and allocations through HTTP: plan, replan, lists; bad input is a 4xx problem and
stores nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.api.conftest import HUALONG, YANCHANG

API = "/api/v1"
FAIR = {
    "name": "化隆县春风行动专场招聘会",
    "county_code": "化隆",
    "date": "2026-03-01",
    "start_time": "09:00",
    "end_time": "10:00",
    "slot_minutes": 15,
    "booths": 2,
}


def _count(app, model) -> int:
    from api.service import state
    from api.storage import session_scope

    with app.app_context(), session_scope(state().engine) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_fair_plan_get_replan(client, world, app):
    h = world.headers("organiser")
    r = client.post(f"{API}/fairs", json=FAIR, headers=h)
    assert r.status_code == 201, r.get_json()
    fair = r.get_json()
    assert fair["county_code"] == HUALONG and fair["status"] == "draft"
    assert r.headers["Location"] == f"{API}/fairs/{fair['id']}"

    r = client.post(
        f"{API}/fairs/{fair['id']}/plan", json={"max_workers": 6, "time_limit_s": 5}, headers=h
    )
    assert r.status_code == 200, r.get_json()
    planned = r.get_json()
    assert planned["status"] == "planned"
    assert 1 <= len(planned["firms"]) <= 2
    assert planned["interviews"] and planned["solver"]["status"] in (
        "OPTIMAL",
        "FEASIBLE",
        "GREEDY",
    )
    # no worker in two places at once, no booth with two interviews at once
    worker_slots = [(iv["worker_id"], iv["start"]) for iv in planned["interviews"]]
    booth_slots = [(iv["booth"], iv["start"]) for iv in planned["interviews"]]
    assert len(set(worker_slots)) == len(worker_slots)
    assert len(set(booth_slots)) == len(booth_slots)
    assert all(iv["start"].startswith("2026-03-01T09") for iv in planned["interviews"])
    assert client.get(f"{API}/fairs/{fair['id']}", headers=h).get_json() == planned

    cancelled = planned["firms"][0]["firm_id"]
    r = client.post(
        f"{API}/fairs/{fair['id']}/replan", json={"cancel_firms": [cancelled]}, headers=h
    )
    assert r.status_code == 200, r.get_json()
    replanned = r.get_json()
    assert cancelled not in {iv["firm_id"] for iv in replanned["interviews"]}
    removed = [c for c in replanned["changes"] if c["change"] == "removed"]
    assert removed and all(c["firm_id"] == cancelled for c in removed)
    kept_before = {
        (iv["worker_id"], iv["firm_id"], iv["start"])
        for iv in planned["interviews"]
        if iv["firm_id"] != cancelled
    }
    kept_after = {(iv["worker_id"], iv["firm_id"], iv["start"]) for iv in replanned["interviews"]}
    assert kept_before <= kept_after  # minimal change: nobody else moved

    r = client.post(f"{API}/fairs/{fair['id']}/replan", json={"cancel_firms": [999999]}, headers=h)
    assert r.status_code == 422

    html = client.get(f"{API}/fairs/{fair['id']}/lists?format=html", headers=h)
    assert html.status_code == 200 and html.mimetype == "text/html"
    page = html.get_data(as_text=True)
    assert "企业展位表" in page and "求职者面试单" in page and "@page" in page
    assert 'class="toolbar"' not in page  # the API's lists have no page to go back to
    some = replanned["interviews"][0]
    assert f"测试{world.workers.index(some['worker_id'])}" in page
    csv = client.get(f"{API}/fairs/{fair['id']}/lists?format=csv", headers=h)
    assert csv.status_code == 200 and csv.get_data().decode("utf-8-sig").startswith("清单")
    xlsx = client.get(f"{API}/fairs/{fair['id']}/lists?format=xlsx", headers=h)
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert client.get(f"{API}/fairs/{fair['id']}/lists?format=pdf", headers=h).status_code == 422

    # The phone list is the county bureau's to call: the organiser's copy above shows masked
    # phones, the bureau of the fair's county gets them in full.
    admin = world.headers("admin")
    phone = client.get(f"{API}/workers/{some['worker_id']}", headers=admin).get_json()["phone"]
    masked = f"{phone[:3]}****{phone[-4:]}"
    organiser_csv = csv.get_data().decode("utf-8-sig")
    assert phone not in organiser_csv and masked in organiser_csv
    bureau = client.get(
        f"{API}/fairs/{fair['id']}/lists?format=csv", headers=world.headers("bureau")
    )
    assert bureau.status_code == 200 and phone in bureau.get_data().decode("utf-8-sig")


def test_lists_of_an_unplanned_fair_are_409(client, world):
    fair = client.post(f"{API}/fairs", json=FAIR, headers=world.headers("admin")).get_json()
    r = client.get(f"{API}/fairs/{fair['id']}/lists", headers=world.headers("admin"))
    assert r.status_code == 409
    assert r.get_json()["detail"] == f"招聘会 {fair['id']} 尚未规划，没有名单可打印。"


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"end_time": "08:00"}, "不晚于开始时间"),
        ({"booths": 0}, "booths"),
        ({"slot_minutes": 90}, "长于招聘会时长"),
        ({"county_code": "北京"}, "北京"),
        ({"date": "2026-02-30"}, "date"),
    ],
)
def test_bad_fairs_are_422_and_store_nothing(client, world, app, change, fragment):
    from api.storage.models import Fair

    r = client.post(f"{API}/fairs", json={**FAIR, **change}, headers=world.headers("admin"))
    assert r.status_code == 422
    assert fragment in r.get_json()["detail"] + str(r.get_json()["errors"])
    assert _count(app, Fair) == 0


def test_fair_in_a_county_without_workers_cannot_be_planned(client, world, app):
    from api.storage.models import FairInterview

    fair = client.post(
        f"{API}/fairs", json={**FAIR, "county_code": "630225"}, headers=world.headers("admin")
    )
    r = client.post(
        f"{API}/fairs/{fair.get_json()['id']}/plan", json={}, headers=world.headers("admin")
    )
    assert r.status_code == 422
    assert r.get_json()["detail"] == "县区 630225 没有登记的劳动力，无法规划招聘会。"
    assert _count(app, FairInterview) == 0
    got = client.get(
        f"{API}/fairs/{fair.get_json()['id']}", headers=world.headers("admin")
    ).get_json()
    assert got["status"] == "draft" and got["interviews"] == []


def test_bureau_fairs_stay_in_its_region(client, world):
    r = client.post(
        f"{API}/fairs", json={**FAIR, "county_code": YANCHANG}, headers=world.headers("bureau")
    )
    assert r.status_code == 403
    fair = client.post(
        f"{API}/fairs", json={**FAIR, "county_code": YANCHANG}, headers=world.headers("admin")
    ).get_json()
    assert (
        client.get(f"{API}/fairs/{fair['id']}", headers=world.headers("bureau")).status_code == 404
    )
    assert client.get(f"{API}/fairs/{fair['id']}", headers=world.headers("hr")).status_code == 403


@pytest.mark.parametrize("mode", ["welfare", "stable"])
def test_allocation_respects_headcount_and_places_each_worker_once(client, world, app, mode):
    h = world.headers("bureau")
    r = client.post(
        f"{API}/allocations",
        json={"counties": ["化隆县"], "mode": mode, "options": {"max_per_firm": 3}},
        headers=h,
    )
    assert r.status_code == 201, r.get_json()
    plan = r.get_json()
    assert plan["mode"] == mode
    placed = [a["worker_id"] for a in plan["assignments"]]
    assert len(placed) == len(set(placed))
    assert set(placed) | {u["worker_id"] for u in plan["unassigned"]} == set(world.workers)
    assert all(a["reasons"] for a in plan["assignments"])
    per_job: dict[int, int] = {}
    for a in plan["assignments"]:
        per_job[a["job_id"]] = per_job.get(a["job_id"], 0) + 1
    assert all(n <= 5 for n in per_job.values())  # every seeded job has headcount 5
    assert world.closed_job not in per_job
    assert client.get(r.headers["Location"], headers=h).get_json() == plan
    # the plan counts as recommendations in the report
    county = client.get(f"{API}/reports/summary?by=county", headers=h).get_json()["items"]
    assert county[0]["recommended"] == len(set(placed))


def test_allocation_bad_input(client, world, app):
    from api.storage.models import Allocation

    h = world.headers("admin")
    r = client.post(f"{API}/allocations", json={"counties": ["630225"]}, headers=h)
    assert (
        r.status_code == 422
        and r.get_json()["detail"] == "县区 630225 没有登记的劳动力，无法分配。"
    )
    r = client.post(f"{API}/allocations", json={}, headers=h)
    assert r.status_code == 422
    r = client.post(f"{API}/allocations", json={"worker_ids": [424242]}, headers=h)
    assert r.status_code == 422 and "424242" in r.get_json()["detail"]
    r = client.post(
        f"{API}/allocations", json={"counties": [HUALONG], "mode": "lottery"}, headers=h
    )
    assert r.status_code == 422
    r = client.post(
        f"{API}/allocations", json={"counties": [YANCHANG]}, headers=world.headers("bureau")
    )
    assert r.status_code == 403
    # no open jobs at all
    for job in world.jobs + world.other_jobs:
        etag = client.get(f"{API}/jobs/{job}", headers=h).headers["ETag"]
        client.patch(
            f"{API}/jobs/{job}", json={"status": "closed"}, headers={**h, "If-Match": etag}
        )
    r = client.post(f"{API}/allocations", json={"counties": [HUALONG]}, headers=h)
    assert (
        r.status_code == 422
        and r.get_json()["detail"] == "当前没有在招且有空余名额的岗位，无法分配。"
    )
    assert _count(app, Allocation) == 0
