"""The outcome forms offer only the stages the outcome rules (:mod:`api.storage.outcomes`) would
accept from the signed-in role for that pair today, never one the API would refuse."""

from __future__ import annotations

import datetime as dt
import re

from api.storage.outcomes import next_stages, today_in_china


def _options(html: str, select_id: str) -> list[str]:
    found = re.search(rf'<select id="{select_id}" name="stage">(.*?)</select>', html, re.S)
    return re.findall(r'<option value="(\w+)"', found.group(1)) if found else []


def _record(app, worker_id: int, job_id: int, stage: str, day: dt.date) -> None:
    from api.service import state
    from api.storage import session_scope
    from api.storage.outcomes import record_outcome

    with app.app_context(), session_scope(state().engine) as session:
        record_outcome(session, worker_id, job_id, stage, day)


class _Event:
    def __init__(self, stage: str, date: dt.date) -> None:
        self.stage, self.date = stage, date


def test_next_stages_follow_the_rules():
    today = dt.date(2026, 6, 1)
    hired = [_Event("applied", dt.date(2026, 1, 1)), _Event("hired", dt.date(2026, 2, 1))]
    assert next_stages("bureau", [], today=today) == ["applied"]
    assert next_stages("hr", [], today=today) == []
    assert next_stages("hr", hired[:1], today=today) == ["interviewed", "hired"]
    assert next_stages("hr", hired, today=today) == ["interviewed", "left"]
    # 120 days after the hire: 3 months may be recorded, 6 months not yet.
    assert next_stages("bureau", hired, today=today) == ["retained_3m", "left"]
    left = [*hired, _Event("left", dt.date(2026, 5, 1))]
    assert next_stages("bureau", left, today=today) == []
    assert next_stages("organiser", hired, today=today) == []
    assert "recommended" in next_stages("admin", hired, today=today)


def test_a_clerk_is_offered_what_comes_next_for_each_job(web_app, signed_in, world):
    worker, job = world.workers[0], world.jobs[0]
    client = signed_in("bureau")
    html = client.get(f"/workers/{worker}").get_data(as_text=True)
    assert _options(html, f"stage-m{job}") in (["applied"], [])  # [] when not ranked
    hire_day = today_in_china() - dt.timedelta(days=100)
    _record(web_app, worker, job, "applied", hire_day - dt.timedelta(days=5))
    _record(web_app, worker, job, "hired", hire_day)
    html = client.get(f"/workers/{worker}").get_data(as_text=True)
    assert _options(html, f"stage-e{job}") == ["retained_3m", "left"]
    form = re.search(rf'<form[^>]*>((?:(?!</form>).)*id="stage-e{job}".*?)</form>', html, re.S)
    assert form and 'name="csrf_token"' in form.group(1)
    assert f'name="job_id" value="{job}"' in form.group(1)


def test_hr_is_offered_interview_and_hire_only_for_applicants(web_app, signed_in, world):
    worker, job = world.workers[1], world.jobs[0]
    client = signed_in("hr")
    html = client.get(f"/jobs/{job}").get_data(as_text=True)
    assert _options(html, f"stage-a{worker}") == []
    assert not re.search(r'<select id="stage-c\d+" name="stage">\s*<option value="left"', html)
    _record(web_app, worker, job, "applied", today_in_china())
    html = client.get(f"/jobs/{job}").get_data(as_text=True)
    assert _options(html, f"stage-a{worker}") == ["interviewed", "hired"]
    form = re.search(rf'<form[^>]*>((?:(?!</form>).)*id="stage-a{worker}".*?)</form>', html, re.S)
    assert form and 'name="csrf_token"' in form.group(1)
    assert f'name="worker_id" value="{worker}"' in form.group(1)
