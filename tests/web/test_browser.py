"""The pages in a real browser (Playwright on Debian's Chromium), as a clerk and an HR officer
use them. Each test leaves a screenshot in ``<pytest basetemp>/screenshots/``."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from data.idcard import make_id_number
from tests.api.conftest import HUALONG
from tests.web.conftest import browser_sign_in

pytestmark = pytest.mark.slow


def _id_number(seq: int, gender: str = "男") -> str:
    return make_id_number(HUALONG, dt.date(1992, 3, 4), seq, gender)


def test_sign_in_on_a_phone(page, accounts, screenshot_dir):
    page.set_viewport_size({"width": 360, "height": 740})
    browser_sign_in(page, accounts.users["bureau"], "wrong password")
    expect(page.get_by_role("alert")).to_have_text("用户名或密码错误。")
    page.screenshot(path=str(screenshot_dir / "sign_in_refused_360.png"), full_page=True)
    browser_sign_in(page, accounts.users["bureau"])
    expect(page.get_by_role("heading", name="劳动力", exact=True)).to_be_visible()
    nav = page.get_by_role("navigation", name="主导航")
    expect(nav.get_by_role("link", name="登记劳动力")).to_be_visible()
    # A clerk's navigation lists no HR page.
    expect(nav.get_by_role("link", name="发布岗位")).to_have_count(0)


def test_register_a_worker_see_the_error_fix_it(page, accounts):
    browser_sign_in(page, accounts.users["bureau"])
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="登记劳动力").click()
    good = _id_number(301)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")  # a wrong check digit
    page.get_by_label("姓名").fill("马福海")
    page.get_by_label("身份证号").fill(bad)
    page.get_by_label("户籍县区").select_option(HUALONG)
    page.get_by_label("学历").select_option("初中")
    page.get_by_label("手机号").fill("13912345678")
    page.get_by_label("意向工种").fill("焊工、叉车司机")
    page.get_by_label("证书").fill("叉车证")
    page.get_by_role("button", name="保存").click()

    error = page.locator("#e-id_number")
    expect(error).to_be_visible()
    expect(error).to_contain_text("校验")
    expect(page.get_by_label("身份证号")).to_have_attribute("aria-invalid", "true")
    # What was typed is still there.
    expect(page.get_by_label("姓名")).to_have_value("马福海")
    expect(page.get_by_label("意向工种")).to_have_value("焊工、叉车司机")

    page.get_by_label("身份证号").fill(good)
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("heading", name="马福海")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("已登记劳动力 马福海")
    # The certificate is shown by its Chinese name, never by its catalogue id.
    expect(page.get_by_text("特种设备作业人员证（叉车司机")).to_be_visible()
    expect(page.get_by_text("special_equipment")).to_have_count(0)


def test_import_an_xlsx_with_one_bad_row(page, accounts, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    header = ["姓名", "身份证号", "县区代码", "学历", "手机号", "意向城市", "期望月薪", "建档立卡"]
    sheet.append(header)
    for i in range(5):
        number = _id_number(320 + i, "女")
        if i == 2:  # spreadsheet row 4
            number = number[:-1] + ("0" if number[-1] != "0" else "1")
        sheet.append([f"韩{i}", number, HUALONG, "初中", f"1370000000{i}", "苏州", 4500, "是"])
    path = tmp_path / "劳动力.xlsx"
    book.save(path)

    browser_sign_in(page, accounts.users["bureau"])
    page.get_by_role("navigation", name="主导航").get_by_role(
        "link", name="批量导入", exact=True
    ).click()
    page.get_by_label("文件").set_input_files(str(path))
    page.get_by_role("button", name="上传并导入").click()

    expect(page.get_by_role("heading", name="未导入任何数据")).to_be_visible()
    rows = page.get_by_role("row").filter(has_text="第 4 行")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("身份证号")
    expect(page.get_by_role("row").filter(has_text="第 3 行")).to_have_count(0)


def test_open_a_workers_matches_and_print_the_slip(page, accounts, world, screenshot_dir):
    browser_sign_in(page, accounts.users["bureau"])
    # Search by name: the list narrows as the clerk types (htmx, no full reload).
    page.get_by_label("姓名").fill("测试3")
    results = page.locator("#results")
    expect(results.get_by_role("link", name="测试3")).to_be_visible()
    expect(results.get_by_role("link", name="测试1")).to_have_count(0)
    results.get_by_role("link", name="测试3").click()

    expect(page.get_by_role("heading", name="推荐岗位")).to_be_visible()
    first = page.locator(".match").first
    expect(first.locator(".reasons li").first).to_be_visible()
    expect(page.get_by_text("special_equipment")).to_have_count(0)
    page.set_viewport_size({"width": 360, "height": 740})
    page.screenshot(path=str(screenshot_dir / "worker_matches_360.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    first.get_by_role("link", name="打印推荐单").click()
    expect(page.get_by_role("heading", name="东西部劳务协作 岗位推荐单")).to_be_visible()
    expect(page.locator(".slip__qr svg")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="打印")).to_be_hidden()
    page.screenshot(path=str(screenshot_dir / "slip_print.png"), full_page=True)
    page.emulate_media(media="screen")


def test_hr_posts_a_job_and_sees_candidates(page, accounts):
    browser_sign_in(page, accounts.users["hr"])
    expect(page.get_by_role("heading", name="本企业岗位")).to_be_visible()
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="发布岗位").click()
    page.get_by_label("岗位名称").fill("缝纫工（包吃住）")
    page.get_by_label("工作城市").fill("无锡")
    page.get_by_label("招聘人数").fill("8")
    page.get_by_label("最低月薪（元）").fill("6000")
    page.get_by_label("最高月薪（元）").fill("5000")
    page.get_by_label("岗位描述").fill("服装厂缝纫，计件")
    page.get_by_label("提供宿舍").check()
    page.get_by_role("button", name="发布").click()
    # The wage range is refused with the API's words, and nothing typed is lost.
    expect(page.get_by_role("alert").last).to_contain_text("最低工资 6000 高于最高工资 5000")
    expect(page.get_by_label("岗位名称")).to_have_value("缝纫工（包吃住）")
    page.get_by_label("最高月薪（元）").fill("7500")
    page.get_by_role("button", name="发布").click()

    expect(page.get_by_role("heading", name="缝纫工（包吃住）")).to_be_visible()
    candidates = page.locator("#candidates .match")
    expect(candidates.first).to_be_visible()
    # Personal data is masked for HR.
    expect(candidates.first.locator(".match__score")).to_contain_text("*")
    expect(candidates.first.locator(".reasons li").first).to_be_visible()
