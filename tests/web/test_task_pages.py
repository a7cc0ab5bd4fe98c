"""The big import page and the pages of background tasks (:mod:`api.web.imports`,
:mod:`api.web.tasks`): an upload becomes a task, its page shows the progress, survives a
reload, and at the end names every bad row (line, column) in Chinese; a failed task says why.

The test-client tests run the queued task with :meth:`api.tasks.TaskQueue.run` (what the
consumer does); the browser tests run a real consumer thread on the live server.
"""

from __future__ import annotations

import io
import re

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
