"""The hand edits through HTTP (as the county and fair pages make them): drop proposals from an
allocation and confirm it; move or cancel one fair interview and refill the freed places."""

from __future__ import annotations

from tests.api.conftest import HUALONG, YANCHANG

API = "/api/v1"
FAIR = {
    "name": "化隆县手工调整专场",
    "county_code": HUALONG,
    "date": "2026-03-01",
    "start_time": "09:00",
    "end_time": "10:00",
    "slot_minutes": 15,
    "booths": 2,
}


def test_drop_then_confirm_an_allocation(client, world):
    h = world.headers("bureau")
    r = client.post(f"{API}/allocations", json={"counties": [HUALONG]}, headers=h)
    assert r.status_code == 201, r.get_json()
    alloc = r.get_json()
    assert alloc["status"] == "proposed" and alloc["dropped"] == []
    assert len(alloc["assignments"]) >= 2
    gone = alloc["assignments"][0]["worker_id"]
    url = f"{API}/allocations/{alloc['id']}"

    r = client.post(f"{url}/drop", json={"worker_ids": [gone]}, headers=h)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert gone not in {a["worker_id"] for a in body["assignments"]}
    assert [d["worker_id"] for d in body["dropped"]] == [gone]
    assert body["dropped"][0]["dropped_by"]
    assert len(body["assignments"]) == len(alloc["assignments"]) - 1
    assert client.get(url, headers=h).get_json() == body

    # Dropping someone who is not (or no longer) proposed says so and changes nothing.
    r = client.post(f"{url}/drop", json={"worker_ids": [gone]}, headers=h)
    assert r.status_code == 422 and "不在这份分配方案" in r.get_json()["detail"]
    r = client.post(f"{url}/drop", json={"worker_ids": []}, headers=h)
    assert r.status_code == 422

    r = client.post(f"{url}/confirm", headers=h)
    assert r.status_code == 200, r.get_json()
    confirmed = r.get_json()
    assert confirmed["status"] == "confirmed" and confirmed["confirmed_by"]
    assert confirmed["confirmed_at"]
    assert confirmed["assignments"] == body["assignments"]

    again = client.post(f"{url}/confirm", headers=h)
    assert again.status_code == 409 and "重复确认" in again.get_json()["detail"]
    late = client.post(
        f"{url}/drop", json={"worker_ids": [body["assignments"][0]["worker_id"]]}, headers=h
    )
    assert late.status_code == 409 and "不能再删除" in late.get_json()["detail"]
    assert client.get(url, headers=h).get_json()["assignments"] == body["assignments"]


def test_allocation_edits_are_the_clerks_and_only_in_their_region(client, world):
    admin = world.headers("admin")
    theirs = client.post(f"{API}/allocations", json={"counties": [YANCHANG]}, headers=admin)
    assert theirs.status_code == 201, theirs.get_json()
    url = f"{API}/allocations/{theirs.get_json()['id']}"
    bureau = world.headers("bureau")  # 化隆's bureau: 延长 lies outside its region
    outside = client.post(f"{url}/confirm", headers=bureau)
    absent = client.post(f"{API}/allocations/999999/confirm", headers=bureau)
    assert outside.status_code == absent.status_code == 404
    assert outside.get_json()["title"] == absent.get_json()["title"] == "未找到"
    r = client.post(f"{url}/drop", json={"worker_ids": [world.other_workers[0]]}, headers=bureau)
    assert r.status_code == 404
    # The organiser may run and read allocations, but confirming is the county clerk's.
    r = client.post(f"{url}/confirm", headers=world.headers("organiser"))
    assert r.status_code == 403
    assert client.get(url, headers=admin).get_json()["status"] == "proposed"


def _free_move(plan: dict) -> tuple[dict, str] | None:
    """An interview and a start time its booth and its worker both have free."""
    starts = sorted(
        {iv["start"] for iv in plan["interviews"]}
        | {f"2026-03-01T09:{m:02d}:00" for m in (0, 15, 30, 45)}
    )
    for iv in plan["interviews"]:
        busy = {
            x["start"]
            for x in plan["interviews"]
            if x["booth"] == iv["booth"] or x["worker_id"] == iv["worker_id"]
        }
        for start in starts:
            if start not in busy:
                return iv, start
    return None


def test_move_cancel_refill_an_interview(client, world):
    h = world.headers("organiser")
    fair = client.post(f"{API}/fairs", json=FAIR, headers=h).get_json()
    url = f"{API}/fairs/{fair['id']}"
    r = client.post(
        f"{url}/interviews/move",
        json={"worker_id": 1, "firm_id": 1, "start": "2026-03-01T09:15:00"},
        headers=h,
    )
    assert r.status_code == 409 and "尚未规划" in r.get_json()["detail"]

    planned = client.post(
        f"{url}/plan", json={"max_workers": 3, "time_limit_s": 5}, headers=h
    ).get_json()
    found = _free_move(planned)
    assert found, planned["interviews"]
    iv, start = found
    ref = {"worker_id": iv["worker_id"], "firm_id": iv["firm_id"]}
    r = client.post(f"{url}/interviews/move", json={**ref, "start": start}, headers=h)
    assert r.status_code == 200, r.get_json()
    moved = r.get_json()
    assert r.headers["ETag"] == f'"{moved["version"]}"' and moved["version"] > planned["version"]
    assert moved["changes"][0]["change"] == "moved"
    after = {(x["worker_id"], x["firm_id"]): x for x in moved["interviews"]}
    assert after[(iv["worker_id"], iv["firm_id"])]["start"] == start
    before = {(x["worker_id"], x["firm_id"]): x["start"] for x in planned["interviews"]}
    others = {k: v["start"] for k, v in after.items() if k != (iv["worker_id"], iv["firm_id"])}
    assert others == {k: v for k, v in before.items() if k in others}  # nobody else moved

    # Not a slot of this fair, or the slot it already has: refused in Chinese, nothing changes.
    r = client.post(
        f"{url}/interviews/move", json={**ref, "start": "2026-03-01T11:00:00"}, headers=h
    )
    assert r.status_code == 422 and "不是本场招聘会的面试时段" in r.get_json()["detail"]
    r = client.post(f"{url}/interviews/move", json={**ref, "start": start}, headers=h)
    assert r.status_code == 422 and "已经排在" in r.get_json()["detail"]
    r = client.post(f"{url}/interviews/move", json={**ref, "start": "九点"}, headers=h)
    assert r.status_code == 422
    assert client.get(url, headers=h).get_json()["version"] == moved["version"]

    r = client.post(f"{url}/interviews/cancel", json=ref, headers=h)
    assert r.status_code == 200, r.get_json()
    cancelled = r.get_json()
    assert cancelled["changes"][0]["change"] == "removed"
    assert (iv["worker_id"], iv["firm_id"]) not in {
        (x["worker_id"], x["firm_id"]) for x in cancelled["interviews"]
    }
    r = client.post(f"{url}/interviews/cancel", json=ref, headers=h)
    assert r.status_code == 422 and "没有已排定的面试" in r.get_json()["detail"]

    r = client.post(f"{url}/refill", json={"time_limit_s": 5}, headers=h)
    assert r.status_code == 200, r.get_json()
    refilled = r.get_json()
    kept = {(x["worker_id"], x["firm_id"], x["start"]) for x in cancelled["interviews"]}
    assert kept <= {(x["worker_id"], x["firm_id"], x["start"]) for x in refilled["interviews"]}
    assert all(c["change"] == "added" for c in refilled["changes"])
    assert (iv["worker_id"], iv["firm_id"]) not in {  # a cancelled interview is not rebooked
        (x["worker_id"], x["firm_id"]) for x in refilled["interviews"]
    }


def test_fair_edits_outside_the_region_read_as_absent(client, world):
    admin = world.headers("admin")
    theirs = client.post(f"{API}/fairs", json={**FAIR, "county_code": YANCHANG}, headers=admin)
    fid = theirs.get_json()["id"]
    bureau = world.headers("bureau")
    ref = {"worker_id": world.other_workers[0], "firm_id": world.firm}
    for path, body in (
        ("interviews/cancel", ref),
        ("interviews/move", {**ref, "start": "2026-03-01T09:15:00"}),
        ("refill", {}),
    ):
        outside = client.post(f"{API}/fairs/{fid}/{path}", json=body, headers=bureau)
        absent = client.post(f"{API}/fairs/999999/{path}", json=body, headers=bureau)
        assert outside.status_code == absent.status_code == 404, path
    assert (
        client.post(f"{API}/fairs/{fid}/refill", json={}, headers=world.headers("hr")).status_code
        == 403
    )


def test_plan_keeps_to_the_hand_picks(client, world):
    h = world.headers("organiser")
    url = f"{API}/fairs/{client.post(f'{API}/fairs', json=FAIR, headers=h).get_json()['id']}"
    free = client.post(f"{url}/plan", json={"time_limit_s": 5}, headers=h).get_json()
    firm = free["interviews"][0]["firm_id"]
    people = sorted({iv["worker_id"] for iv in free["interviews"] if iv["firm_id"] == firm})[:2]
    job = next(iv["job_id"] for iv in free["interviews"] if iv["firm_id"] == firm)

    r = client.post(
        f"{url}/plan", json={"firm_ids": [firm], "worker_ids": people, "time_limit_s": 5}, headers=h
    )
    assert r.status_code == 200, r.get_json()
    picked = r.get_json()
    assert {f["firm_id"] for f in picked["firms"]} == {firm}
    assert {i["worker_id"] for i in picked["invitations"]} <= set(people)
    assert picked["interviews"] and {iv["firm_id"] for iv in picked["interviews"]} == {firm}

    r = client.post(f"{url}/plan", json={"job_ids": [job], "time_limit_s": 5}, headers=h)
    assert r.status_code == 200, r.get_json()
    assert {iv["job_id"] for iv in r.get_json()["interviews"]} == {job}

    # Picks outside what may be planned are named and refused; the stored plan stays.
    version = client.get(url, headers=h).get_json()["version"]
    r = client.post(f"{url}/plan", json={"worker_ids": [world.other_workers[0]]}, headers=h)
    assert r.status_code == 422 and "不是县区 630224 登记的劳动力" in r.get_json()["detail"]
    r = client.post(f"{url}/plan", json={"job_ids": [world.closed_job]}, headers=h)
    assert r.status_code == 422 and "不存在、已关闭或已招满" in r.get_json()["detail"]
    assert r.get_json()["errors"][0]["field"] == "job_ids"
    r = client.post(f"{url}/plan", json={"firm_ids": [999999]}, headers=h)
    assert r.status_code == 422 and "没有在招且有空余名额的岗位" in r.get_json()["detail"]
    assert client.get(url, headers=h).get_json()["version"] == version


def test_publish_finish_cancel(client, world):
    h = world.headers("organiser")
    url = f"{API}/fairs/{client.post(f'{API}/fairs', json=FAIR, headers=h).get_json()['id']}"

    def step(action: str):
        return client.post(f"{url}/status", json={"action": action}, headers=h)

    r = step("publish")
    assert r.status_code == 409 and "只有已规划的招聘会可以发布" in r.get_json()["detail"]
    client.post(f"{url}/plan", json={"time_limit_s": 5}, headers=h)
    r = step("publish")
    assert r.status_code == 200 and r.get_json()["status"] == "published"
    assert r.headers["ETag"] == f'"{r.get_json()["version"]}"'
    r = client.post(f"{url}/plan", json={"time_limit_s": 5}, headers=h)
    assert r.status_code == 409 and "不能重新规划" in r.get_json()["detail"]
    assert client.post(f"{url}/refill", json={"time_limit_s": 3}, headers=h).status_code == 200
    assert step("publish").status_code == 409
    r = step("finish")
    assert r.status_code == 200 and r.get_json()["status"] == "done"
    r = step("cancel")
    assert r.status_code == 409 and "已结束" in r.get_json()["detail"]
    iv = r = client.get(url, headers=h).get_json()["interviews"][0]
    ref = {"worker_id": iv["worker_id"], "firm_id": iv["firm_id"]}
    r = client.post(f"{url}/interviews/cancel", json=ref, headers=h)
    assert r.status_code == 409 and "不能再调整" in r.get_json()["detail"]
    assert step("reopen").status_code == 422

    other = client.post(f"{API}/fairs", json=FAIR, headers=h).get_json()["id"]
    r = client.post(f"{API}/fairs/{other}/status", json={"action": "cancel"}, headers=h)
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"
    r = client.post(f"{API}/fairs/{other}/plan", json={"time_limit_s": 5}, headers=h)
    assert r.status_code == 409
