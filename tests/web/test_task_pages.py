"""The big import page and the pages of background tasks (:mod:`api.web.imports`,
:mod:`api.web.tasks`): an upload becomes a task, its page shows the progress, survives a
reload, and at the end names every bad row (line, column) in Chinese; a failed task says why.

The test-client tests run the queued task with :meth:`api.tasks.TaskQueue.run` (what the
consumer does); the browser tests run a real consumer thread on the live server.
"""

from __future__ import annotations

import io
import re
import time

import pytest

from tests.api.test_tasks import workers_csv
from tests.web.conftest import csrf_token


def _upload(client, data: bytes, name: str = "劳动力.csv", **form):
    return client.post(
        "/imports",
        data={
            "csrf_token": csrf_token(client, "/imports"),
            "kind": "workers",
            "file": (io.BytesIO(data), name),
            **form,
        },
        content_type="multipart/form-data",
    )


def _task_id(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    found = re.search(r"/tasks/(\d+)$", response.headers["Location"])
    assert found, response.headers["Location"]
    return int(found.group(1))


def _run(app, task_id: int) -> None:
    from api.tasks import get_queue

    get_queue(app).run(task_id)


def test_an_import_is_queued_then_its_page_shows_the_outcome(web_app, signed_in):
    client = signed_in("bureau")
    task_id = _task_id(_upload(client, workers_csv(30, first=7000)))
    queued = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "排队中" in queued
    assert f'hx-get="/tasks/{task_id}/progress"' in queued  # it polls while not finished
    _run(web_app, task_id)
    partial = client.get(f"/tasks/{task_id}/progress", headers={"HX-Request": "true"})
    html = partial.get_data(as_text=True)
    assert "<html" not in html  # the partial alone
    assert "已完成" in html and 'aria-valuenow="100"' in html
    assert "hx-trigger" not in html  # polling stops once the task ended
    assert "已导入 30 名劳动力" in html
    # A reload (the task's own URL) shows the same, read from storage.
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "已导入 30 名劳动力" in page
    assert f"/tasks/{task_id}" in client.get("/tasks").get_data(as_text=True)


def test_a_failed_import_says_why_and_names_each_bad_row(web_app, signed_in):
    client = signed_in("bureau")
    task_id = _task_id(_upload(client, workers_csv(12, first=7100, bad_rows=(3, 8))))
    _run(web_app, task_id)
    html = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "失败" in html
    assert "共有 2 行不合规（第 5、10 行），未导入任何数据" in html  # header is line 1
    rows = re.findall(r"<tr><td class=\"num\">第 (\d+) 行</td><td>([^<]*)</td>", html)
    assert rows == [("5", "身份证号"), ("10", "身份证号")]


def test_a_file_of_another_type_is_refused_next_to_the_field(signed_in):
    client = signed_in("bureau")
    r = _upload(client, b"not a table", name="名单.pdf")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'id="e-file"' in html and "不是 .xlsx 或 .csv 文件" in html


def test_tasks_of_another_scope_are_404(web_app, signed_in):
    client = signed_in("bureau")
    task_id = _task_id(_upload(client, workers_csv(3, first=7200)))
    other = signed_in("bureau_other")
    assert other.get(f"/tasks/{task_id}").status_code == 404
    assert other.get(f"/tasks/{task_id}/progress").status_code == 404
    assert signed_in("hr").get(f"/tasks/{task_id}").status_code == 404
    # HR may import jobs, never workers; an organiser has no import page.
    hr = signed_in("hr")
    r = hr.post(
        "/imports",
        data={"csrf_token": csrf_token(hr, "/imports"), "kind": "workers"},
        content_type="multipart/form-data",
    )
    assert r.status_code == 404
    assert signed_in("organiser").get("/imports").status_code == 404
    assert signed_in("admin").get(f"/tasks/{task_id}").status_code == 200


def test_an_import_without_its_csrf_token_is_refused(signed_in):
    client = signed_in("bureau")
    r = client.post(
        "/imports",
        data={"kind": "workers", "file": (io.BytesIO(workers_csv(2)), "a.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 400


# --------------------------------------------------------------------------- in a browser
BIG_ROWS = 100_000


@pytest.fixture(scope="module")
def import_server(web_template, id_key, tmp_path_factory):
    """A live server of its own (the big import must not slow the other browser tests' world)
    that takes big files, with a consumer thread running its queue."""
    from api.tasks import get_queue, start_consumer
    from tests.api.conftest import dispose
    from tests.web.conftest import own_live_app

    folder = tmp_path_factory.mktemp("imports")
    server, url, app = own_live_app(
        web_template, id_key, folder, MAX_CONTENT_LENGTH=64 * 1024 * 1024
    )
    consumer = start_consumer(get_queue(app))
    yield url, app
    server.shutdown()
    consumer.stop(graceful=True)
    dispose(app)


@pytest.fixture
def import_page(browser, import_server, screenshot_dir, request):
    from tests.web.conftest import new_tab

    context, tab = new_tab(browser, import_server[0])
    yield tab
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    try:
        tab.screenshot(path=str(screenshot_dir / f"{name}.png"), full_page=True)
    finally:
        context.close()


def _percent(tab) -> int:
    return int(tab.get_by_role("progressbar").get_attribute("aria-valuenow") or 0)


@pytest.mark.slow
def test_an_import_shows_progress_and_finishes_after_a_reload(
    import_page, accounts, tmp_path, screenshot_dir, monkeypatch
):
    """Through the browser with 10,000 rows in chunks of 500, so that the bar has 20 steps to
    show: 100,000 rows take minutes on a loaded 2-core machine (the next test imports them
    through the task itself). Each chunk is held 0.2 s after it reports: on an idle machine
    the 10,000 rows were written between two of the page's 1 s polls, and the bar went from
    0 to 100 with nothing between to see."""
    from playwright.sync_api import expect

    from api import background_import
    from api.storage import transfer
    from tests.web.conftest import browser_sign_in

    monkeypatch.setattr(background_import, "CHUNK_ROWS", 500)
    real_import_table = transfer.import_table

    def paced_import_table(*args, progress, **kwargs):
        def paced(*report):
            progress(*report)
            time.sleep(0.2)

        return real_import_table(*args, progress=paced, **kwargs)

    monkeypatch.setattr(transfer, "import_table", paced_import_table)
    tab = import_page
    rows = 10_000
    path = tmp_path / "一万名劳动力.csv"
    path.write_bytes(workers_csv(rows, first=200_000))
    browser_sign_in(tab, accounts.users["bureau"])
    tab.goto("/imports")
    tab.get_by_label("文件").set_input_files(str(path))
    tab.get_by_role("button", name="上传并在后台导入").click()
    expect(tab).to_have_url(re.compile(r"/tasks/\d+$"))
    bar = tab.get_by_role("progressbar")
    expect(bar).to_be_visible()
    # The bar moves while the rows are checked and written (htmx polls the partial) ...
    seen: set[int] = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(0 < p < 100 for p in seen):
        seen.add(_percent(tab))
        tab.wait_for_timeout(100)
    assert any(0 < p < 100 for p in seen), seen
    tab.screenshot(path=str(screenshot_dir / "import_running.png"), full_page=True)
    # ... and a reload in the middle shows the same task, which then ends.
    tab.reload()
    expect(bar).to_be_visible()
    expect(tab.get_by_text(f"已导入 {rows} 名劳动力")).to_be_visible(timeout=180_000)
    assert _percent(tab) == 100


@pytest.mark.slow
def test_a_100000_row_import_reports_progress_and_its_page_shows_the_end(web_app, signed_in):
    """100,000 rows through the import task itself (what the consumer runs), its progress
    reported chunk by chunk, then its page after a reload."""
    from api import tasks

    web_app.config["MAX_CONTENT_LENGTH"] = 64 * 1024 * 1024
    client = signed_in("bureau")
    task_id = _task_id(_upload(client, workers_csv(BIG_ROWS, first=200_000)))
    queue = tasks.get_queue(web_app)
    reported: list[tuple[int, int]] = []
    report = queue.report

    def spy(task, done, total, stage, *, force=False):
        reported.append((done, total))
        report(task, done, total, stage, force=force)

    queue.report = spy
    queue.run(task_id)
    steps = sorted({d for d, t in reported if t == BIG_ROWS and 0 < d < BIG_ROWS})
    assert len(steps) >= 10, steps
    html = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert f"已导入 {BIG_ROWS} 名劳动力" in html and 'aria-valuenow="100"' in html


@pytest.mark.slow
def test_a_failed_import_in_the_browser_says_why(import_page, accounts, tmp_path):
    from playwright.sync_api import expect

    from tests.web.conftest import browser_sign_in

    tab = import_page
    path = tmp_path / "有错行.csv"
    path.write_bytes(workers_csv(20, first=400_000, bad_rows=(6,)))
    browser_sign_in(tab, accounts.users["bureau"])
    tab.goto("/imports")
    tab.get_by_label("文件").set_input_files(str(path))
    tab.get_by_role("button", name="上传并在后台导入").click()
    expect(tab.get_by_role("alert")).to_contain_text("任务失败：共有 1 行不合规（第 8 行）")
    expect(tab.get_by_role("cell", name="第 8 行")).to_be_visible()
    tab.reload()
    expect(tab.get_by_role("alert")).to_contain_text("未导入任何数据")
