"""The clerk and HR pages through the Flask test client: who may open what (404 otherwise),
forms that keep what was typed and say what is wrong in Chinese, and the writes they make."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from api.storage.models import AuditEntry, Job, OutcomeEvent, Worker
from data.idcard import make_id_number
from tests.api.conftest import HUALONG
from tests.web.conftest import csrf_token

CLERK_PAGES = ["/workers", "/workers/new", "/workers/import"]
HR_PAGES = ["/jobs", "/jobs/new"]


def _rows(app, model, *where):
    from api.service import state
    from api.storage import session_scope

    with app.app_context(), session_scope(state().engine) as s:
        return list(s.scalars(select(model).where(*where)))


# --------------------------------------------------------------------------- the guard
@pytest.mark.parametrize("who", ["hr", "organiser"])
@pytest.mark.parametrize("path", CLERK_PAGES)
def test_other_roles_get_404_for_clerk_pages(signed_in, who, path):
    r = signed_in(who).get(path)
    assert r.status_code == 404
    assert "页面不存在，或您无权查看。" in r.get_data(as_text=True)


@pytest.mark.parametrize("who", ["bureau", "organiser", "admin"])
@pytest.mark.parametrize("path", HR_PAGES)
def test_other_roles_get_404_for_hr_pages(signed_in, who, path):
    assert signed_in(who).get(path).status_code == 404


@pytest.mark.parametrize("who", ["bureau", "admin"])
def test_clerk_pages_open_for_clerks(signed_in, who):
    client = signed_in(who)
    for path in CLERK_PAGES:
        assert client.get(path).status_code == 200, path


def test_a_clerk_cannot_open_another_countys_worker(signed_in, world):
    client = signed_in("bureau")
    inside, outside = world.workers[0], world.other_workers[0]
    assert client.get(f"/workers/{inside}").status_code == 200
    for path in (f"/workers/{outside}", f"/workers/{outside}/slip/{world.jobs[0]}"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert "测试6" not in r.get_data(as_text=True)
    # Nor record an outcome for them.
    r = client.post(
        f"/workers/{outside}/outcomes",
        data={"job_id": world.jobs[0], "stage": "applied", "csrf_token": csrf_token(client)},
    )
    assert r.status_code == 404
    # The other county's clerk sees them, and not ours.
    other = signed_in("bureau_other")
    assert other.get(f"/workers/{outside}").status_code == 200
    assert other.get(f"/workers/{inside}").status_code == 404


def test_the_list_holds_only_the_clerks_region(signed_in):
    page = signed_in("bureau").get("/workers").get_data(as_text=True)
    assert "测试0" in page and "测试5" in page
    assert "测试6" not in page and "延长县" not in page


def test_hr_cannot_open_another_firms_job(signed_in, world):
    client = signed_in("hr")
    assert client.get(f"/jobs/{world.jobs[0]}").status_code == 200
    for path in (f"/jobs/{world.other_jobs[0]}", f"/jobs/{world.other_jobs[0]}/edit"):
        assert client.get(path).status_code == 404, path
    token = csrf_token(client)
    r = client.post(
        f"/jobs/{world.other_jobs[0]}/status", data={"status": "closed", "csrf_token": token}
    )
    assert r.status_code == 404


def test_a_clerk_sees_open_jobs_but_not_closed_ones(signed_in, world):
    client = signed_in("bureau")
    assert client.get(f"/jobs/{world.other_jobs[0]}").status_code == 200
    assert client.get(f"/jobs/{world.closed_job}").status_code == 404


def test_navigation_lists_only_the_roles_pages(signed_in):
    clerk = signed_in("bureau").get("/workers").get_data(as_text=True)
    assert 'href="/workers/new"' in clerk and 'href="/jobs/new"' not in clerk
    hr = signed_in("hr").get("/jobs").get_data(as_text=True)
    assert 'href="/jobs/new"' in hr and 'href="/workers"' not in hr


# --------------------------------------------------------------------------- register a worker
def _worker_form(client, **overrides):
    form = {
        "name": "马福海",
        "id_number": make_id_number(HUALONG, dt.date(1990, 5, 17), 401, "男"),
        "county_code": HUALONG,
        "education": "初中毕业",
        "phone": "13912345678",
        "desired_jobs": "焊工、叉车司机",
        "certificates": "叉车证，不存在的证",
        "preferred_cities": "苏州 无锡",
        "min_wage": "4500",
        "needs_halal": "1",
        "csrf_token": csrf_token(client, "/workers/new"),
    }
    form.update(overrides)
    return form


def test_register_keeps_what_was_typed_and_names_each_error(web_app, signed_in):
    client = signed_in("bureau")
    r = client.post(
        "/workers/new",
        data=_worker_form(client, id_number="63022419900517025X", min_wage="很多", name=""),
    )
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert 'id="e-name"' in page and "请填写姓名" in page
    assert 'id="e-id_number"' in page
    assert 'id="e-min_wage"' in page
    assert 'value="焊工、叉车司机"' in page and 'value="很多"' in page
    assert _rows(web_app, Worker, Worker.name == "马福海") == []


def test_register_stores_the_worker_as_the_api_would(web_app, signed_in):
    client = signed_in("bureau")
    r = client.post("/workers/new", data=_worker_form(client))
    assert r.status_code == 302, r.get_data(as_text=True)
    (worker,) = _rows(web_app, Worker, Worker.name == "马福海")
    assert r.headers["Location"] == f"/workers/{worker.id}"
    # Birth date and gender come from the ID number; certificates are normalised.
    assert worker.birth_date == dt.date(1990, 5, 17) and worker.gender == "男"
    assert worker.education == "初中"
    assert worker.certificates == ["special_equipment.forklift"]
    assert worker.certificates_unrecognised == ["不存在的证"]
    assert worker.preferred_cities == ["苏州市", "无锡市"] and worker.needs_halal
    audits = _rows(
        web_app, AuditEntry, AuditEntry.object_id == str(worker.id), AuditEntry.action == "create"
    )
    assert audits and audits[0].actor == "测试bureau（t-bureau）" and audits[0].api_key_id is None
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "特种设备作业人员证（叉车司机" in page and "不存在的证（未能识别）" in page
    assert "special_equipment" not in page
    # The same ID number again: the error names the worker already registered.
    again = client.post("/workers/new", data=_worker_form(client, name="另一人"))
    assert again.status_code == 422
    assert f"已登记为劳动力 {worker.id}" in again.get_data(as_text=True)


def test_a_clerk_cannot_register_outside_the_region(signed_in):
    client = signed_in("bureau")
    r = client.post("/workers/new", data=_worker_form(client, county_code="610621"))
    assert r.status_code == 422
    assert "不在您的辖区" in r.get_data(as_text=True)


# --------------------------------------------------------------------------- search
def test_search_filters_by_name_trade_and_status(web_app, signed_in, world):
    client = signed_in("bureau")
    page = client.get("/workers?name=测试1").get_data(as_text=True)
    assert "测试1" in page and "测试2" not in page
    page = client.get("/workers?trade=缝纫").get_data(as_text=True)
    assert "测试1" in page and "测试5" in page and "测试0" not in page
    # htmx asks for the results alone.
    part = client.get("/workers?trade=缝纫", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in part and "测试1" in part
    r = client.post(
        f"/workers/{world.workers[2]}/outcomes",
        data={"job_id": world.jobs[2], "stage": "applied", "csrf_token": csrf_token(client)},
    )
    assert r.status_code == 302
    page = client.get("/workers?status=applied").get_data(as_text=True)
    assert "测试2" in page and "测试3" not in page
    page = client.get("/workers?status=none").get_data(as_text=True)
    assert "测试2" not in page and "测试3" in page


# --------------------------------------------------------------------------- import
def test_import_lists_every_bad_row_and_stores_nothing(web_app, signed_in):
    client = signed_in("bureau")
    ids = [make_id_number(HUALONG, dt.date(1991, 1, 1), 410 + i, "女") for i in range(3)]
    bad = ids[1][:-1] + ("0" if ids[1][-1] != "0" else "1")
    csv = "姓名,身份证号,县区代码,学历\n" + "\n".join(
        [f"甲,{ids[0]},{HUALONG},初中", f"乙,{bad},{HUALONG},初中", f"丙,{ids[2]},{HUALONG},博士后"]
    )
    data = {
        "file": (io.BytesIO(csv.encode("utf-8")), "劳动力.csv"),
        "csrf_token": csrf_token(client, "/workers/import"),
    }
    r = client.post("/workers/import", data=data, content_type="multipart/form-data")
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "第 3 行" in page and "第 4 行" in page and "第 2 行" not in page
    assert "身份证号" in page and "学历" in page
    assert _rows(web_app, Worker, Worker.name.in_(["甲", "乙", "丙"])) == []
    # Only the good rows, when asked.
    data = {
        "file": (io.BytesIO(csv.encode("utf-8")), "劳动力.csv"),
        "skip_invalid": "1",
        "csrf_token": csrf_token(client, "/workers/import"),
    }
    r = client.post("/workers/import", data=data, content_type="multipart/form-data")
    assert r.status_code == 200
    assert "已导入 1 名劳动力" in r.get_data(as_text=True)
    assert [w.name for w in _rows(web_app, Worker, Worker.name.in_(["甲", "乙", "丙"]))] == ["甲"]


def test_import_without_a_file_says_so(signed_in):
    client = signed_in("bureau")
    r = client.post("/workers/import", data={"csrf_token": csrf_token(client, "/workers/import")})
    assert r.status_code == 422
    assert "未导入任何数据" in r.get_data(as_text=True)


# ------------------------------------------------------------------ matches, slip, outcomes
def test_a_workers_page_ranks_jobs_with_reasons_in_chinese(signed_in, world):
    client = signed_in("bureau")
    page = client.get(f"/workers/{world.workers[0]}").get_data(as_text=True)
    assert "推荐岗位" in page and 'class="reasons"' in page
    assert "/slip/" in page
    assert "special_" not in page and "6-" not in page.split("推荐岗位")[1][:200]


def test_the_slip_has_a_qr_code_of_the_job_page(signed_in, world):
    client = signed_in("bureau")
    r = client.get(f"/workers/{world.workers[0]}/slip/{world.jobs[0]}")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "<svg" in page and "岗位推荐单" in page
    assert f"http://localhost/jobs/{world.jobs[0]}" in page
    assert "6302**********" in page  # the ID number masked on paper


def test_outcomes_go_through_the_api_function(web_app, signed_in, world):
    client = signed_in("bureau")
    worker, job = world.workers[1], world.jobs[1]
    token = csrf_token(client)
    r = client.post(
        f"/workers/{worker}/outcomes",
        data={"job_id": job, "stage": "applied", "date": "2026-11-30", "csrf_token": token},
        follow_redirects=True,
    )
    assert "已记录：已投递。" in r.get_data(as_text=True)
    (event,) = _rows(web_app, OutcomeEvent, OutcomeEvent.worker_id == worker)
    assert (event.job_id, event.stage, event.date) == (job, "applied", dt.date(2026, 11, 30))
    r = client.post(
        f"/workers/{worker}/outcomes",
        data={"job_id": job, "stage": "applied", "date": "2001-13-40", "csrf_token": token},
        follow_redirects=True,
    )
    assert "未记录：日期" in r.get_data(as_text=True)
    assert len(_rows(web_app, OutcomeEvent, OutcomeEvent.worker_id == worker)) == 1


# --------------------------------------------------------------------------- HR
def _job_form(client, **overrides):
    form = {
        "title": "缝纫工（计件）",
        "city": "无锡",
        "headcount": "6",
        "wage_min": "5000",
        "wage_max": "7000",
        "education_min": "",
        "age_min": "18",
        "age_max": "50",
        "certificates_required": "",
        "description": "服装厂缝纫",
        "dormitory": "1",
        "csrf_token": csrf_token(client, "/jobs/new"),
    }
    form.update(overrides)
    return form


def test_hr_posts_edits_and_closes_a_job(web_app, signed_in, world):
    client = signed_in("hr")
    r = client.post("/jobs/new", data=_job_form(client, headcount="0"))
    assert r.status_code == 422
    assert 'id="e-headcount"' in r.get_data(as_text=True)
    # The city is checked against the place names: its error stands next to the city field.
    r = client.post("/jobs/new", data=_job_form(client, city="火星"))
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert 'id="e-city"' in page and 'value="火星"' in page
    r = client.post("/jobs/new", data=_job_form(client))
    assert r.status_code == 302
    (job,) = _rows(web_app, Job, Job.title == "缝纫工（计件）")
    assert job.firm_id == world.firm and job.city == "无锡市" and job.dormitory
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "推荐人选" in page and "****" in page  # candidates, masked

    edit = client.get(f"/jobs/{job.id}/edit").get_data(as_text=True)
    assert 'value="缝纫工（计件）"' in edit
    form = _job_form(client, title="缝纫工（计件，包吃住）", certificates_required="电工证")
    form["version"] = str(job.version)
    r = client.post(f"/jobs/{job.id}/edit", data=form)
    assert r.status_code == 302, r.get_data(as_text=True)
    (job,) = _rows(web_app, Job, Job.id == job.id)
    assert job.title == "缝纫工（计件，包吃住）"
    assert job.certificates_required == ["special_work.electrician_low_voltage"]
    # A stale form (someone saved in between) is refused, nothing lost silently.
    form["version"] = str(job.version - 1)
    form["title"] = "过时的修改"
    r = client.post(f"/jobs/{job.id}/edit", data=form)
    assert r.status_code == 422 and "已被他人修改" in r.get_data(as_text=True)

    token = csrf_token(client, "/jobs")
    r = client.post(
        f"/jobs/{job.id}/status",
        data={"status": "closed", "version": str(job.version), "csrf_token": token},
        follow_redirects=True,
    )
    assert "岗位已关闭" in r.get_data(as_text=True)
    (job,) = _rows(web_app, Job, Job.id == job.id)
    assert job.status == "closed"


def test_hr_records_an_interview_and_a_hire(web_app, signed_in, world):
    clerk = signed_in("bureau")
    worker, job = world.workers[3], world.jobs[2]
    clerk.post(
        f"/workers/{worker}/outcomes",
        data={"job_id": job, "stage": "applied", "csrf_token": csrf_token(clerk)},
    )
    hr = signed_in("hr")
    page = hr.get(f"/jobs/{job}").get_data(as_text=True)
    assert "应聘者" in page and "测试3" in page and "已投递" in page
    token = csrf_token(hr, "/jobs")
    for stage in ("interviewed", "hired"):
        r = hr.post(
            f"/jobs/{job}/outcomes",
            data={"worker_id": worker, "stage": stage, "csrf_token": token},
            follow_redirects=True,
        )
        assert "已记录" in r.get_data(as_text=True), r.get_data(as_text=True)
    stages = [e.stage for e in _rows(web_app, OutcomeEvent, OutcomeEvent.worker_id == worker)]
    assert stages == ["applied", "interviewed", "hired"]
    (stored,) = _rows(web_app, Job, Job.id == job)
    assert stored.hired_count == 1


def test_every_form_page_carries_a_csrf_token(signed_in, world):
    client = signed_in("bureau")
    for path in ("/workers/new", "/workers/import", f"/workers/{world.workers[0]}"):
        page = client.get(path).get_data(as_text=True)
        assert page.count("<form") == page.count('name="csrf_token"'), path
    client = signed_in("hr")
    for path in ("/jobs/new", f"/jobs/{world.jobs[0]}", f"/jobs/{world.jobs[0]}/edit"):
        page = client.get(path).get_data(as_text=True)
        forms = page.count('method="post"')
        assert forms and forms == page.count('name="csrf_token"'), path


def test_a_page_form_without_its_token_writes_nothing(web_app, signed_in):
    client = signed_in("bureau")
    form = _worker_form(client)
    del form["csrf_token"]
    r = client.post("/workers/new", data=form)
    assert r.status_code == 400
    from api.service import state
    from api.storage import session_scope

    with web_app.app_context(), session_scope(state().engine) as s:
        assert s.scalar(select(func.count()).where(Worker.name == "马福海")) == 0
