"""The job-fair pages (:mod:`api.web.fairs`): an organiser creates a fair, plans it in the
background, sees the timetable as booths × slots, moves and cancels an interview, fills the
freed slot, prints the lists and downloads the XLSX. Flask test-client tests (guards, CSRF,
form errors), then the same in a real browser (Playwright)."""

from __future__ import annotations

import io
import re

import pytest

from tests.web.conftest import csrf_token

FAIR_FORM = {
    "name": "化隆县春风行动苏州专场招聘会",
    "county_code": "630224",
    "date": "2026-03-01",
    "start_time": "09:00",
    "end_time": "10:00",
    "slot_minutes": "15",
    "booths": "2",
}


@pytest.fixture
def immediate(web_app):
    """Tasks run inside ``submit`` (no consumer thread)."""
    from huey import Huey

    from api.tasks import EXTENSION, TaskQueue

    web_app.extensions[EXTENSION] = TaskQueue(web_app, Huey("test-fair-pages", immediate=True))
    return web_app


def create_fair(client, **changes) -> int:
    data = {**FAIR_FORM, **changes, "csrf_token": csrf_token(client, "/fairs/new")}
    r = client.post("/fairs/new", data=data)
    assert r.status_code == 302, r.get_data(as_text=True)
    return int(re.search(r"/fairs/(\d+)$", r.headers["Location"]).group(1))


def plan_fair(client, fair_id: int) -> None:
    token = csrf_token(client, f"/fairs/{fair_id}")
    r = client.post(
        f"/fairs/{fair_id}/plan",
        data={"max_workers": "6", "time_limit_s": "5", "csrf_token": token},
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    done = client.get(r.headers["Location"])  # the task ran: its page sends on to the fair
    assert done.status_code == 302 and done.headers["Location"] == f"/fairs/{fair_id}"


def grid(app, fair_id: int) -> dict:
    from api import fair_plans
    from api.service import get_session

    with app.app_context():
        session = get_session()
        from api.storage.models import Fair

        return fair_plans.timetable(session, session.get(Fair, fair_id))


def movable(app, fair_id: int) -> tuple[dict, dict]:
    """An interview that can move, and its first free slot."""
    for row in grid(app, fair_id)["rows"]:
        for cell in row["cells"]:
            for iv in cell["interviews"]:
                if iv["moves"]:
                    return iv, iv["moves"][0]
    raise AssertionError("no interview of the plan can move")


def xlsx_timetable(data: bytes) -> list[dict]:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True)
    rows = list(book["展位面试时间表"].iter_rows(values_only=True))
    header = rows[1]  # row 1 is the title
    return [dict(zip(header, r, strict=True)) for r in rows[2:]]


def test_create_shows_the_error_next_to_the_field_and_keeps_the_input(signed_in):
    client = signed_in("organiser")
    data = {**FAIR_FORM, "end_time": "08:00", "csrf_token": csrf_token(client, "/fairs/new")}
    r = client.post("/fairs/new", data=data)
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "不晚于开始时间" in html
    assert 'value="化隆县春风行动苏州专场招聘会"' in html
    data = {**FAIR_FORM, "booths": "", "csrf_token": csrf_token(client, "/fairs/new")}
    r = client.post("/fairs/new", data=data)
    assert r.status_code == 422
    assert re.search(r'id="e-booths">请填写展位数', r.get_data(as_text=True))


def test_plan_move_cancel_replan_and_the_lists(immediate, signed_in, world):
    client = signed_in("organiser")
    fair_id = create_fair(client, end_time="11:00")  # 8 slots: room to move into
    page = client.get(f"/fairs/{fair_id}").get_data(as_text=True)
    assert "尚未规划" in page and "开始规划" in page
    plan_fair(client, fair_id)

    page = client.get(f"/fairs/{fair_id}").get_data(as_text=True)
    assert "面试时间表" in page and "09:00" in page and "10:45" in page
    assert "1 号展位" in page and "下载 Excel 名单" in page

    iv, slot = movable(immediate, fair_id)
    token = csrf_token(client, f"/fairs/{fair_id}")
    r = client.post(
        f"/fairs/{fair_id}/move",
        data={
            "worker_id": iv["worker_id"],
            "firm_id": iv["firm_id"],
            "start": slot["start"],
            "csrf_token": token,
        },
        follow_redirects=True,
    )
    assert "已调整面试时间" in r.get_data(as_text=True)
    after = grid(immediate, fair_id)
    moved = [
        (row["booth"], cell["slot"])
        for row in after["rows"]
        for cell in row["cells"]
        for other in cell["interviews"]
        if (other["worker_id"], other["firm_id"]) == (iv["worker_id"], iv["firm_id"])
    ]
    assert len(moved) == 1
    assert after["slots"][moved[0][1]]["label"] == slot["label"]

    r = client.get(f"/fairs/{fair_id}/lists.xlsx")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert f"fair-{fair_id}-lists.xlsx" in r.headers["Content-Disposition"]
    rows = xlsx_timetable(r.data)
    assert any(
        row["姓名"] == iv["name"] and str(row["时间"]).startswith(slot["label"]) for row in rows
    )

    # A move into a taken slot is refused with the reason; nothing changes.
    r = client.post(
        f"/fairs/{fair_id}/move",
        data={
            "worker_id": iv["worker_id"],
            "firm_id": iv["firm_id"],
            "start": slot["start"],
            "csrf_token": token,
        },
        follow_redirects=True,
    )
    assert "未调整面试时间：无法调整这场面试" in r.get_data(as_text=True)

    before = grid(immediate, fair_id)["n_interviews"]
    r = client.post(
        f"/fairs/{fair_id}/cancel",
        data={"worker_id": iv["worker_id"], "firm_id": iv["firm_id"], "csrf_token": token},
        follow_redirects=True,
    )
    assert "已取消这场面试" in r.get_data(as_text=True)
    assert grid(immediate, fair_id)["n_interviews"] == before - 1
    r = client.post(f"/fairs/{fair_id}/replan", data={"csrf_token": token}, follow_redirects=True)
    assert "已重新安排" in r.get_data(as_text=True)

    printed = client.get(f"/fairs/{fair_id}/print")
    html = printed.get_data(as_text=True)
    assert printed.status_code == 200 and "@page" in html and "A4" in html
    assert "展位面试时间表" in html and "求职者面试单" in html
    # An organiser prints names, not the phone numbers (the county bureau calls).
    assert "138****" in html
    assert not re.search(r"138\d{8}", html)
    # On screen: a way back to the fair and a print button, both hidden by the print CSS.
    assert f'<a href="/fairs/{fair_id}">← 返回招聘会</a>' in html
    assert '<button type="button" onclick="window.print()">打印</button>' in html
    assert "@media print { .toolbar { display: none; } }" in html


def test_hand_picks_on_the_plan_form_limit_the_plan(immediate, signed_in, world):
    client = signed_in("organiser")
    fair_id = create_fair(client)
    page = client.get(f"/fairs/{fair_id}").get_data(as_text=True)
    # 化隆 is paired with 无锡: its open jobs are listed by firm, and the county's workers.
    assert "手工挑选企业、岗位和劳动力" in page and "无锡市的在招岗位" in page
    listed_jobs = {int(v) for v in re.findall(r'name="job_ids" value="(\d+)"', page)}
    with immediate.app_context():
        from sqlalchemy import select

        from api.service import get_session
        from api.storage.models import Job

        wuxi = set(
            get_session().scalars(
                select(Job.id).where(
                    Job.city == "无锡市", Job.status == "open", Job.hired_count < Job.headcount
                )
            )
        )
    assert listed_jobs == wuxi and wuxi
    listed_firms = {int(v) for v in re.findall(r'name="firm_ids" value="(\d+)"', page)}
    listed_workers = {int(v) for v in re.findall(r'name="worker_ids" value="(\d+)"', page)}
    assert listed_firms and set(world.workers) <= listed_workers
    assert not listed_workers & set(world.other_workers)

    plan_fair(client, fair_id)  # free choice first: who fits where
    free = grid(immediate, fair_id)
    row = next(
        r
        for r in free["rows"]
        if r["firm_id"] in listed_firms and any(c["interviews"] for c in r["cells"])
    )
    people = sorted({iv["worker_id"] for c in row["cells"] for iv in c["interviews"]})[:2]
    token = csrf_token(client, f"/fairs/{fair_id}")
    data = {
        "time_limit_s": "5",
        "csrf_token": token,
        "firm_ids": [str(row["firm_id"])],
        "worker_ids": [str(w) for w in people],
    }
    r = client.post(f"/fairs/{fair_id}/plan", data=data)
    assert r.status_code == 302, r.get_data(as_text=True)
    assert client.get(r.headers["Location"]).headers["Location"] == f"/fairs/{fair_id}"
    picked = grid(immediate, fair_id)
    assert [r["firm_id"] for r in picked["rows"]] == [row["firm_id"]]
    who = {iv["worker_id"] for r in picked["rows"] for c in r["cells"] for iv in c["interviews"]}
    assert who and who <= set(people)

    # A bad number next to the picks: the form comes back with the picks still ticked.
    data = {**data, "time_limit_s": "0", "csrf_token": csrf_token(client, f"/fairs/{fair_id}")}
    r = client.post(f"/fairs/{fair_id}/plan", data=data)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert re.search(rf'name="firm_ids" value="{row["firm_id"]}" checked', html)
    assert re.search(rf'name="worker_ids" value="{people[0]}" checked', html)


def test_publish_then_finish_from_the_fair_page(immediate, signed_in):
    client = signed_in("organiser")
    fair_id = create_fair(client)
    page = client.get(f"/fairs/{fair_id}").get_data(as_text=True)
    assert "取消招聘会" in page and "发布招聘会" not in page  # nothing to publish yet
    plan_fair(client, fair_id)
    page = client.get(f"/fairs/{fair_id}").get_data(as_text=True)
    assert "发布招聘会" in page and "取消面试" in page

    def step(action: str) -> str:
        token = csrf_token(client, f"/fairs/{fair_id}")
        r = client.post(
            f"/fairs/{fair_id}/status",
            data={"action": action, "csrf_token": token},
            follow_redirects=True,
        )
        assert r.status_code == 200
        return r.get_data(as_text=True)

    page = step("publish")
    assert "已发布招聘会" in page and "已发布" in page
    assert "开始规划" not in page and 'id="plan-h"' not in page and "结束招聘会" in page
    page = step("publish")
    assert "未发布：" in page and "只有已规划的招聘会可以发布" in page
    page = step("finish")
    assert "已结束招聘会" in page
    assert "取消面试" not in page and ">补排空位</button>" not in page
    assert "招聘会状态" not in page
    assert "打印名单" in page  # the lists stay printable
    r = client.post(f"/fairs/{fair_id}/status", data={"action": "cancel"})
    assert r.status_code in (400, 403)  # no CSRF token: refused


def test_a_waiting_plan_shows_on_the_fair_page_after_a_reload(signed_in):
    """No consumer runs (the app's own queue): the plan waits, and both its page and the
    fair's page show its progress bar, reload after reload."""
    client = signed_in("organiser")
    fair_id = create_fair(client)
    token = csrf_token(client, f"/fairs/{fair_id}")
    r = client.post(f"/fairs/{fair_id}/plan", data={"csrf_token": token})
    task_path = r.headers["Location"]
    for _ in range(2):
        html = client.get(task_path).get_data(as_text=True)
        assert 'role="progressbar"' in html and "排队中" in html
        assert f'hx-get="{task_path}"' in html  # it keeps polling
        html = client.get(f"/fairs/{fair_id}").get_data(as_text=True)
        assert 'role="progressbar"' in html and "招聘会规划" in html
    # Another fair's address does not show this task.
    other = create_fair(client, name="另一场")
    assert (
        client.get(task_path.replace(f"/fairs/{fair_id}/", f"/fairs/{other}/")).status_code == 404
    )


def test_a_failed_plan_says_why_in_chinese(immediate, signed_in):
    from api.web.labels import county_options

    empty = next(code for code, _ in county_options("6302") if code != "630224")
    client = signed_in("organiser")
    fair_id = create_fair(client, county_code=empty)
    token = csrf_token(client, f"/fairs/{fair_id}")
    r = client.post(f"/fairs/{fair_id}/plan", data={"csrf_token": token})
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "任务失败" in html and "没有登记的劳动力，无法规划招聘会" in html


def test_plan_form_errors_stay_on_the_fair_page(signed_in):
    client = signed_in("organiser")
    fair_id = create_fair(client)
    token = csrf_token(client, f"/fairs/{fair_id}")
    r = client.post(f"/fairs/{fair_id}/plan", data={"max_workers": "0", "csrf_token": token})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert 'id="e-max_workers"' in html and 'value="0"' in html
    r = client.post(f"/fairs/{fair_id}/move", data={"worker_id": "x", "csrf_token": token})
    assert r.status_code == 400 and "表单缺少要调整的面试" in r.get_data(as_text=True)


def test_lists_of_an_unplanned_fair_say_why(signed_in):
    client = signed_in("organiser")
    fair_id = create_fair(client)
    r = client.get(f"/fairs/{fair_id}/lists.xlsx")
    assert r.status_code == 409
    assert "尚未规划" in r.get_data(as_text=True)


def test_forms_without_csrf_token_are_refused(immediate, signed_in):
    client = signed_in("organiser")
    r = client.post("/fairs/new", data=FAIR_FORM)
    assert r.status_code == 400 and "安全令牌" in r.get_data(as_text=True)
    fair_id = create_fair(client)
    for path, data in {
        "plan": {"max_workers": "6"},
        "move": {"worker_id": "1", "firm_id": "1", "start": "2026-03-01T09:15:00"},
        "cancel": {"worker_id": "1", "firm_id": "1"},
        "replan": {},
    }.items():
        r = client.post(f"/fairs/{fair_id}/{path}", data=data)
        assert r.status_code == 400, path


@pytest.mark.parametrize("who", ["hr", "hr_other"])
def test_hr_gets_404_on_fair_pages(signed_in, who):
    organiser = signed_in("organiser")
    fair_id = create_fair(organiser)
    client = signed_in(who)
    for path in ("/fairs", "/fairs/new", f"/fairs/{fair_id}", f"/fairs/{fair_id}/lists.xlsx"):
        assert client.get(path).status_code == 404, path


def test_a_clerk_sees_only_the_fairs_of_the_region(immediate, signed_in):
    organiser = signed_in("organiser")
    fair_id = create_fair(organiser)
    plan_fair(organiser, fair_id)
    own = signed_in("bureau")
    assert own.get(f"/fairs/{fair_id}").status_code == 200
    other = signed_in("bureau_other")
    assert "化隆县春风行动" not in other.get("/fairs").get_data(as_text=True)
    for path in ("", "/print", "/lists.xlsx"):
        assert other.get(f"/fairs/{fair_id}{path}").status_code == 404, path
    token = csrf_token(other, "/fairs")
    r = other.post(f"/fairs/{fair_id}/replan", data={"csrf_token": token})
    assert r.status_code == 404
    # Nor can the other region's clerk create a fair in this county.
    data = {**FAIR_FORM, "csrf_token": csrf_token(other, "/fairs/new")}
    r = other.post("/fairs/new", data=data)
    assert r.status_code in (403, 422)


def test_the_organiser_cannot_open_the_county_page(signed_in):
    assert signed_in("organiser").get("/county").status_code == 404


# --------------------------------------------------------------------------- in a browser
@pytest.fixture
def consumer(live_server):
    """A huey consumer thread on the live server's queue for the test's length."""
    from api import tasks

    _, app = live_server
    running = tasks.start_consumer(tasks.get_queue(app))
    yield running
    running.stop(graceful=True)


@pytest.mark.slow
def test_plan_a_fair_move_an_interview_download_the_xlsx(
    page, accounts, screenshot_dir, consumer, tmp_path
):
    from playwright.sync_api import expect

    from tests.web.conftest import browser_sign_in

    browser_sign_in(page, accounts.users["organiser"])
    expect(page.get_by_role("heading", name="专场招聘会")).to_be_visible()
    page.get_by_role("link", name="创建招聘会").first.click()
    page.get_by_label("招聘会名称").fill("化隆县浏览器测试专场")
    page.get_by_label("举办县区").select_option("630224")
    page.get_by_label("日期").fill("2026-03-02")
    page.get_by_label("开始时间").fill("09:00")
    page.get_by_label("结束时间").fill("11:00")
    page.get_by_label("每场面试（分钟）").fill("15")
    page.get_by_label("展位数").fill("2")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("heading", name="化隆县浏览器测试专场")).to_be_visible()
    expect(page.get_by_text("尚未规划")).to_be_visible()

    page.get_by_label("最多邀请劳动力数").fill("6")
    page.get_by_label("求解时间上限（秒）").fill("5")
    page.get_by_role("button", name="开始规划").click()
    expect(page.get_by_role("heading", name="面试时间表")).to_be_visible(timeout=60_000)
    grid = page.get_by_role("table", name="展位 × 时段 面试时间表")
    expect(grid.get_by_role("columnheader", name="09:00")).to_be_visible()
    expect(grid.get_by_role("rowheader").first).to_contain_text("1 号展位")
    page.screenshot(path=str(screenshot_dir / "fair_timetable.png"), full_page=True)

    # Move the first interview that has a free slot, with the keyboard.
    card = page.locator(".interview").filter(has=page.locator("select")).first
    name = card.locator(".interview__who").inner_text()
    card.locator("summary").focus()
    page.keyboard.press("Enter")  # opens 调整
    select = card.get_by_label("改到")
    expect(select).to_be_visible()
    target = select.locator("option").first.inner_text()
    select.focus()
    card.get_by_role("button", name="移动").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("已调整面试时间")
    moved_cell = page.locator(f'td[data-slot="{target}"]').filter(has_text=name)
    expect(moved_cell).to_have_count(1)

    with page.expect_download() as info:
        page.get_by_role("link", name="下载 Excel 名单").click()
    path = tmp_path / "lists.xlsx"
    info.value.save_as(path)
    rows = xlsx_timetable(path.read_bytes())
    assert any(r["姓名"] == name and str(r["时间"]).startswith(target) for r in rows), rows

    page.set_viewport_size({"width": 360, "height": 740})
    page.screenshot(path=str(screenshot_dir / "fair_timetable_360.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    # The A4 lists: print media hides nothing of the lists themselves.
    page.get_by_role("link", name="打印名单").click()
    expect(page.get_by_role("heading", name="企业展位表")).to_be_visible()
    toolbar = page.get_by_role("navigation", name="操作")
    expect(toolbar.get_by_role("button", name="打印")).to_be_visible()
    page.emulate_media(media="print")
    expect(toolbar).to_be_hidden()
    page.screenshot(path=str(screenshot_dir / "fair_lists_print.png"), full_page=True)
    page.emulate_media(media="screen")
    toolbar.get_by_role("link", name="返回招聘会").click()
    expect(page.get_by_role("link", name="打印名单")).to_be_visible()
