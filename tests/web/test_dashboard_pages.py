"""The dashboard (:mod:`api.web.dashboard`, figures from :mod:`api.dashboard`): the funnel by
county, pairing city and month as SVG charts and tables, each county's progress against its
yearly target (admins edit the targets), and the same figures as XLSX."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook

from tests.api.conftest import HUALONG
from tests.web.conftest import csrf_token

YEAR = 2025


def add_events(app, world) -> None:
    """A small year of outcomes: two hires (one outside the 海东 region), a corrected hire,
    a retention, an interview, a worker recommended to two jobs."""
    from api.service import state
    from api.storage import session_scope
    from api.storage.outcomes import record_outcome

    d = dt.date
    w, o, j = world.workers, world.other_workers, world.jobs
    with app.app_context(), session_scope(state().engine) as session:
        for stage, day in [
            ("recommended", d(YEAR, 7, 1)),
            ("interviewed", d(YEAR, 7, 10)),
            ("hired", d(YEAR, 7, 20)),
            ("retained_3m", d(YEAR, 10, 25)),
        ]:
            record_outcome(session, w[0], j[0], stage, day)
        record_outcome(session, w[1], j[0], "recommended", d(YEAR, 8, 1))
        record_outcome(session, w[1], j[1], "recommended", d(YEAR, 8, 2))
        record_outcome(session, o[0], j[1], "recommended", d(YEAR, 9, 1))
        record_outcome(session, o[0], j[1], "hired", d(YEAR, 9, 3))
        record_outcome(session, w[2], j[1], "recommended", d(YEAR, 8, 3))
        wrong = record_outcome(session, w[2], j[1], "hired", d(YEAR, 8, 5))
        record_outcome(session, w[2], j[1], "interviewed", d(YEAR, 8, 5), corrects=wrong)


@pytest.fixture
def with_events(web_app, world):
    add_events(web_app, world)
    return web_app


def _kpis(html: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'data-figure="(\w+)">(\d+)<', html)}


def test_the_dashboard_counts_different_workers_and_skips_corrected_events(
    with_events, signed_in, world
):
    html = signed_in("admin").get(f"/dashboard?year={YEAR}").get_data(as_text=True)
    assert _kpis(html) == {
        "registered": len(world.workers) + len(world.other_workers),
        "recommended": 4,  # w0, w1 (twice: one worker), w2, o0
        "interviewed": 2,  # w0, and w2's correction of a hire
        "hired": 2,  # w0 and o0; w2's hire was corrected
        "retained_3m": 1,
        "retained_6m": 0,
    }
    assert html.count("<svg") == 4 and 'role="img"' in html
    assert "海东市化隆回族自治县" in html and "延安市延长县" in html
    assert "7月" in html


def test_a_bureau_sees_its_region_only(with_events, signed_in, world):
    html = signed_in("bureau").get(f"/dashboard?year={YEAR}").get_data(as_text=True)
    assert _kpis(html)["registered"] == len(world.workers)
    assert _kpis(html)["hired"] == 1
    assert "延安市延长县" not in html
    assert "设定年度目标" not in html  # only admins edit targets
    assert signed_in("hr").get("/dashboard").status_code == 404


def test_the_xlsx_holds_the_same_figures(with_events, signed_in, world):
    r = signed_in("admin").get(f"/dashboard/figures.xlsx?year={YEAR}")
    assert r.status_code == 200
    assert r.headers["Content-Disposition"] == f"attachment; filename=dashboard-{YEAR}.xlsx"
    book = load_workbook(io.BytesIO(r.data), read_only=True)
    assert book.sheetnames == ["按县区", "按结对城市", "按月份", "年度目标"]
    rows = list(book["按县区"].iter_rows(values_only=True))
    assert rows[0] == ("县区", "登记", "推荐", "面试", "录用", "在岗3个月", "在岗6个月")
    by_label = {row[0]: row[1:] for row in rows[1:]}
    assert by_label["海东市化隆回族自治县"] == (len(world.workers), 3, 2, 1, 1, 0)
    assert by_label["延安市延长县"] == (len(world.other_workers), 1, 0, 1, 0, 0)
    months = {row[0]: row[1:] for row in book["按月份"].iter_rows(min_row=2, values_only=True)}
    assert months["7月"] == (0, 1, 1, 1, 0, 0)
    assert months["10月"][4] == 1


def test_an_admin_sets_a_target_and_sees_the_progress(with_events, signed_in):
    client = signed_in("admin")
    token = csrf_token(client, "/dashboard")
    form = {"csrf_token": token, "county_code": HUALONG, "year": str(YEAR), "hired_target": "4"}
    r = client.post("/dashboard/targets", data=form)
    assert r.status_code == 302 and r.headers["Location"].endswith(f"year={YEAR}#targets")
    html = client.get(f"/dashboard?year={YEAR}").get_data(as_text=True)
    assert "完成 25%" in html  # 1 hire of 4
    # A bad value is named next to its field, keeping what was typed; nothing changes.
    r = client.post("/dashboard/targets", data={**form, "hired_target": "-3"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'id="e-hired_target"' in html and "应为 0 到" in html and 'value="-3"' in html
    assert "完成 25%" in html
    xlsx = client.get(f"/dashboard/figures.xlsx?year={YEAR}").data
    targets = list(load_workbook(io.BytesIO(xlsx))["年度目标"].iter_rows(values_only=True))
    assert ("海东市化隆回族自治县", HUALONG, 4, 1, 25) in targets
    # A bureau may not set targets (404), and a form without its token is refused.
    bureau = signed_in("bureau")
    token = csrf_token(bureau, "/dashboard")
    assert bureau.post("/dashboard/targets", data={**form, "csrf_token": token}).status_code == 404
    del form["csrf_token"]
    assert client.post("/dashboard/targets", data=form).status_code == 400


def test_a_county_outside_the_programme_is_refused(signed_in):
    client = signed_in("admin")
    form = {
        "csrf_token": csrf_token(client, "/dashboard"),
        "county_code": "110105",
        "year": str(YEAR),
        "hired_target": "10",
    }
    r = client.post("/dashboard/targets", data=form)
    assert r.status_code == 422 and "不是协作县区" in r.get_data(as_text=True)


# --------------------------------------------------------------------------- in a browser
@pytest.fixture(scope="module")
def dashboard_server(web_template, id_key, tmp_path_factory):
    """A live server of its own with :func:`add_events` (the shared one's outcomes stay as the
    other browser tests expect them)."""
    from tests.api.conftest import dispose
    from tests.web.conftest import own_live_app

    server, url, app = own_live_app(web_template, id_key, tmp_path_factory.mktemp("dashboard"))
    add_events(app, app.accounts.world)
    yield url, app
    server.shutdown()
    dispose(app)


@pytest.fixture
def dash_tab(browser, dashboard_server, screenshot_dir, request):
    from tests.web.conftest import new_tab

    context, tab = new_tab(browser, dashboard_server[0])
    yield tab
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    try:
        tab.screenshot(path=str(screenshot_dir / f"{name}.png"), full_page=True)
    finally:
        context.close()


@pytest.mark.slow
def test_open_the_dashboard_download_its_xlsx_and_edit_a_target(
    dash_tab, accounts, world, tmp_path, screenshot_dir
):
    from playwright.sync_api import expect

    from tests.web.conftest import browser_sign_in

    tab = dash_tab
    browser_sign_in(tab, accounts.users["admin"])
    tab.get_by_role("navigation", name="主导航").get_by_role("link", name="统计看板").click()
    tab.locator("form.toolbar").get_by_label("年份").select_option(str(YEAR))
    tab.get_by_role("button", name="查看").click()
    expect(tab.get_by_role("heading", name=f"统计看板 · {YEAR} 年")).to_be_visible()
    expect(tab.locator('[data-figure="hired"]')).to_have_text("2")
    expect(tab.get_by_role("img", name=re.compile(f"^{YEAR}年按县区"))).to_be_visible()

    with tab.expect_download() as info:
        tab.get_by_role("link", name="下载 Excel（.xlsx）").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.name == f"dashboard-{YEAR}.xlsx"
    book = load_workbook(path, read_only=True)
    by_label = {r[0]: r[1:] for r in book["按县区"].iter_rows(min_row=2, values_only=True)}
    assert by_label["海东市化隆回族自治县"] == (len(world.workers), 3, 2, 1, 1, 0)
    assert by_label["合计（人数不重复）"][3] == 2

    form = tab.locator("form.target-form")
    form.get_by_label("县区").select_option(HUALONG)
    form.get_by_label("年份").fill("1999")
    form.get_by_label("年度录用目标（人）").fill("2")
    form.get_by_role("button", name="保存目标").click()
    expect(tab.locator("#e-year")).to_contain_text("应在 2020–2040 之间")
    expect(form.get_by_label("年度录用目标（人）")).to_have_value("2")  # kept
    form.get_by_label("年份").fill(str(YEAR))
    form.get_by_role("button", name="保存目标").click()
    expect(tab.get_by_role("status")).to_contain_text("录用目标设为 2 人")
    expect(tab.get_by_role("img", name="完成 50%")).to_be_visible()


@pytest.mark.slow
def test_the_dashboard_fits_a_phone_and_prints(dash_tab, accounts, screenshot_dir):
    from playwright.sync_api import expect

    from tests.web.conftest import browser_sign_in

    tab = dash_tab
    tab.set_viewport_size({"width": 360, "height": 740})
    browser_sign_in(tab, accounts.users["bureau"])
    tab.goto(f"/dashboard?year={YEAR}")
    expect(tab.locator('[data-figure="hired"]')).to_have_text("1")
    # Nothing wider than the phone but the tables, which scroll inside their own box.
    assert tab.evaluate("document.documentElement.scrollWidth") <= 360
    tab.screenshot(path=str(screenshot_dir / "dashboard_360.png"), full_page=True)
    tab.emulate_media(media="print")
    assert tab.locator(".toolbar").is_hidden()
    assert tab.locator(".site-header").is_hidden()
    tab.pdf(path=str(screenshot_dir / "dashboard_print.pdf"), format="A4")
