"""The county allocation pages (:mod:`api.web.allocations`): a clerk runs an allocation for a
county in the background, reviews the proposals (masked ID numbers), drops one, confirms the
rest; the confirmed ones become ``recommended`` outcome events. Flask test-client tests for
the guards and the CSRF refusal, then the same in a real browser (Playwright)."""

from __future__ import annotations

import re

import pytest

from tests.api.conftest import HUALONG, YANCHANG, worker_payload
from tests.web.conftest import csrf_token


@pytest.fixture
def immediate(web_app):
    """Tasks run inside ``submit`` (no consumer thread): the page shows them finished."""
    from huey import Huey

    from api.tasks import EXTENSION, TaskQueue

    web_app.extensions[EXTENSION] = TaskQueue(web_app, Huey("test-pages", immediate=True))
    return web_app


def _recommended(app, worker_ids) -> set[tuple[int, int]]:
    from sqlalchemy import select

    from api.service import get_session
    from api.storage.models import OutcomeEvent

    with app.app_context():
        rows = get_session().execute(
            select(OutcomeEvent.worker_id, OutcomeEvent.job_id).where(
                OutcomeEvent.stage == "recommended", OutcomeEvent.worker_id.in_(worker_ids)
            )
        )
        return {(r.worker_id, r.job_id) for r in rows}


def _run(client, county=HUALONG, **extra):
    data = {"county": county, "mode": "welfare", "csrf_token": csrf_token(client, "/county")}
    data.update(extra)
    return client.post("/county/run", data=data)


def _allocation_id(client, response) -> int:
    """Follow a run to its review page; return the allocation's id."""
    assert response.status_code == 302, response.get_data(as_text=True)
    task = client.get(response.headers["Location"])
    assert task.status_code == 302, task.get_data(as_text=True)
    found = re.search(r"/county/allocations/(\d+)$", task.headers["Location"])
    assert found, task.headers["Location"]
    return int(found.group(1))


def test_run_review_drop_confirm(immediate, signed_in, world):
    client = signed_in("bureau")
    allocation_id = _allocation_id(client, _run(client))
    page = client.get(f"/county/allocations/{allocation_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "待确认" in html and "确认分配方案" in html
    # Masked ID numbers only: the full number of no seeded worker appears.
    assert re.search(r">\d{4}\*{10}\d{3}[\dX]</td>", html)
    for n in range(6):
        assert worker_payload(n)["id_number"] not in html
    ids = [int(v) for v in re.findall(r'name="worker_id" value="(\d+)"', html)]
    assert ids and set(ids) <= set(world.workers)
    # Nothing is recorded as recommended while the proposal is under review.
    assert _recommended(immediate, world.workers) == set()

    dropped = ids[0]
    token = csrf_token(client, f"/county/allocations/{allocation_id}")
    r = client.post(
        f"/county/allocations/{allocation_id}/drop",
        data={"worker_id": str(dropped), "csrf_token": token},
        follow_redirects=True,
    )
    assert "已从方案中删除 1 条分配" in r.get_data(as_text=True)
    assert "已删除的分配" in r.get_data(as_text=True)

    r = client.post(
        f"/county/allocations/{allocation_id}/confirm",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    html = r.get_data(as_text=True)
    assert "已确认分配方案" in html and "已确认" in html
    recommended = _recommended(immediate, world.workers)
    assert {w for w, _ in recommended} == set(ids) - {dropped}

    # Confirmed: neither a second confirmation nor a drop goes through.
    r = client.post(
        f"/county/allocations/{allocation_id}/confirm",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "不能重复确认" in r.get_data(as_text=True)
    assert _recommended(immediate, world.workers) == recommended


def test_a_long_review_is_paged_and_a_drop_keeps_the_page(immediate, signed_in, monkeypatch):
    from api.web import allocations

    monkeypatch.setattr(allocations, "PER_PAGE", 2)
    client = signed_in("bureau")
    allocation_id = _allocation_id(client, _run(client))
    path = f"/county/allocations/{allocation_id}"
    pick = re.compile(r'name="worker_id" value="(\d+)" form="drop-form"')
    first = pick.findall(client.get(path).get_data(as_text=True))
    html = client.get(f"{path}?page=2").get_data(as_text=True)
    second = pick.findall(html)
    assert len(first) == 2 and len(second) == 2 and not set(first) & set(second)
    assert "第 2/3 页" in html and "上一页" in html and "下一页" in html
    r = client.post(
        f"{path}/drop",
        data={"worker_id": second[0], "page": "2", "csrf_token": csrf_token(client, path)},
    )
    assert r.status_code == 302 and r.headers["Location"] == f"{path}?page=2"
    assert second[0] not in pick.findall(client.get(r.headers["Location"]).get_data(as_text=True))


def test_failed_run_says_why_in_chinese(immediate, signed_in, web_app):
    """A county of the region with no registered worker: the task fails with the reason."""
    from api.web.labels import county_options

    empty = next(code for code, _ in county_options("6302") if code != HUALONG)
    client = signed_in("bureau")
    r = _run(client, county=empty)
    assert r.status_code == 302
    page = client.get(r.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "任务失败" in html and "没有登记的劳动力" in html


def test_run_form_refuses_a_county_outside_the_region(immediate, signed_in):
    client = signed_in("bureau")
    r = _run(client, county=YANCHANG)
    assert r.status_code == 422
    assert "请选择您辖区内的县区" in r.get_data(as_text=True)


def test_form_without_csrf_token_is_refused(immediate, signed_in):
    client = signed_in("bureau")
    r = client.post("/county/run", data={"county": HUALONG, "mode": "welfare"})
    assert r.status_code == 400
    assert "安全令牌" in r.get_data(as_text=True)
    allocation_id = _allocation_id(client, _run(client))
    for path in ("drop", "confirm"):
        r = client.post(f"/county/allocations/{allocation_id}/{path}", data={"worker_id": "1"})
        assert r.status_code == 400, path


@pytest.mark.parametrize("who", ["hr", "organiser"])
def test_other_roles_get_404(immediate, signed_in, who):
    owner = signed_in("bureau")
    allocation_id = _allocation_id(owner, _run(owner))
    client = signed_in(who)
    for path in ("/county", f"/county/allocations/{allocation_id}"):
        assert client.get(path).status_code == 404, path


def test_another_regions_clerk_gets_404(immediate, signed_in):
    owner = signed_in("bureau")
    r = _run(owner)
    task_path = r.headers["Location"]
    allocation_id = _allocation_id(owner, r)
    other = signed_in("bureau_other")
    assert other.get("/county").status_code == 200
    assert other.get(f"/county/allocations/{allocation_id}").status_code == 404
    assert other.get(task_path).status_code == 404
    token = csrf_token(other, "/county")
    r = other.post(f"/county/allocations/{allocation_id}/confirm", data={"csrf_token": token})
    assert r.status_code == 404


def test_not_signed_in_goes_to_sign_in(web_app):
    r = web_app.test_client().get("/county")
    assert r.status_code == 302 and r.headers["Location"].startswith("/?next=")


# --------------------------------------------------------------------------- in a browser
@pytest.fixture
def start_consumer(live_server):
    """``start_consumer()`` starts a huey consumer thread on the live server's queue (stopped
    after the test): a test can first see a task waiting, then let it run."""
    from api import tasks

    _, app = live_server
    started = []

    def start():
        started.append(tasks.start_consumer(tasks.get_queue(app)))

    yield start
    for consumer in started:
        consumer.stop(graceful=True)


@pytest.mark.slow
def test_county_allocation_in_a_browser(page, accounts, screenshot_dir, start_consumer):
    from playwright.sync_api import expect

    from tests.web.conftest import browser_sign_in

    browser_sign_in(page, accounts.users["bureau"])
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="整县分配").click()
    expect(page.get_by_role("heading", name="整县分配", exact=True)).to_be_visible()
    page.get_by_label("县区").select_option(HUALONG)
    page.get_by_label("分配方式").select_option("welfare")
    page.get_by_role("button", name="开始分配").click()

    # No consumer yet: the task waits, and its progress survives a reload.
    bar = page.get_by_role("progressbar")
    expect(bar).to_be_visible()
    expect(page.locator("#task-progress")).to_contain_text("排队中")
    page.reload()
    expect(page.get_by_role("progressbar")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "allocation_progress.png"), full_page=True)

    start_consumer()
    heading = page.get_by_role("heading", name=re.compile(r"^分配方案 \d+$"))
    expect(heading).to_be_visible(timeout=60_000)
    expect(page.get_by_text("待确认", exact=True)).to_be_visible()
    table = page.locator("table.proposals")
    rows = table.locator("tbody tr")
    n = rows.count()
    assert n >= 2
    # Masked ID numbers, and places by their Chinese names.
    expect(rows.first.locator("td").nth(2)).to_have_text(re.compile(r"^\d{4}\*{10}\d{3}[\dX]$"))
    first_name = rows.first.locator("td").nth(1).inner_text().split("\n")[0]

    # Drop the first proposal with the keyboard: focus its button, press Enter.
    drop = page.get_by_role("button", name=f"删除 {first_name} 的分配")
    drop.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("已从方案中删除 1 条分配")
    expect(page.locator("table.proposals tbody tr")).to_have_count(n - 1)
    expect(page.get_by_role("heading", name="已删除的分配")).to_be_visible()

    page.set_viewport_size({"width": 360, "height": 740})
    page.screenshot(path=str(screenshot_dir / "allocation_review_360.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name="确认分配方案").click()
    expect(page.get_by_role("status")).to_contain_text(f"{n - 1} 人的推荐已记录")
    expect(page.get_by_text("已确认", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="确认分配方案")).to_have_count(0)
