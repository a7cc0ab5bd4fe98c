"""No existence oracle (issue 12 §3): for every operation of the route table, every id it takes —
in its path, its JSON body or its query string — is sent once naming an object outside the
caller's scope and once naming nothing at all; the two answers must be the same status and the
same body once the id itself is blanked out. The ids an operation takes are read from its models
(integer fields bounded like ids), so a new route or field is walked without being listed, and
one whose kind is not known here fails :func:`test_every_id_input_is_walked`.

A duplicate resident ID number cannot be answered like an absent one (the registration would
succeed); it is a generic conflict that names nothing outside the caller's region.
"""

from __future__ import annotations

import copy
import io
import re
from dataclasses import dataclass
from typing import Any

import pytest

from api.openapi import ROUTES, Operation
from api.schemas import MAX_ID
from tests.api.conftest import worker_payload
from tests.api.test_matrix import QUERIES, _bodies, matrix  # noqa: F401 - the shared fixture

API = "/api/v1"
ABSENT = 2_000_000_000  # an id no test database reaches

#: The kind of object each id field names (None: not an object id).
FIELD_KINDS: dict[str, str | None] = {
    "firm_id": "firm",
    "job_id": "job",
    "worker_id": "worker",
    "corrects": "outcome",
    "worker_ids": "worker",
    "firm_ids": "firm",
    "job_ids": "job",
    "cancel_firms": "firm",
    "absent_workers": "worker",
    "version": None,
}

#: Roles whose scope leaves some objects of a kind out (admin sees everything; an organiser
#: every worker's public fields).
SCOPED: dict[str, tuple[str, ...]] = {
    "firm": ("hr",),
    "job": ("hr", "bureau", "organiser"),
    "worker": ("bureau", "hr"),
    "outcome": ("hr", "bureau"),
    "fair": ("bureau",),
    "allocation": ("bureau",),
}


def _is_id(schema: dict[str, Any]) -> bool:
    options = schema.get("anyOf", [schema])
    for option in options:
        if option.get("type") == "array":
            option = option.get("items", {})
        if (
            option.get("type") == "integer"
            and option.get("minimum") == 1
            and option.get("maximum") == MAX_ID
        ):
            return True
    return False


def id_fields(model: Any) -> list[tuple[str, bool]]:
    """``(name, is_list)`` of the fields of a request model that hold object ids."""
    if model is None:
        return []
    out = []
    for name, prop in model.model_json_schema().get("properties", {}).items():
        if _is_id(prop):
            options = prop.get("anyOf", [prop])
            out.append((name, any(o.get("type") == "array" for o in options)))
    return out


@dataclass(frozen=True)
class Slot:
    """One id input of one operation."""

    op: Operation
    where: str  # path | body | query
    name: str
    is_list: bool = False

    @property
    def kind(self) -> str | None:
        return self.op.scope if self.where == "path" else FIELD_KINDS.get(self.name, "?")

    def __str__(self) -> str:
        return f"{self.op.method} {self.op.path} {self.where}:{self.name}"


def slots() -> list[Slot]:
    out = []
    for op in ROUTES:
        out.extend(Slot(op, "path", name) for name in op.path_params)
        out.extend(Slot(op, "body", n, is_list) for n, is_list in id_fields(op.body))
        out.extend(Slot(op, "query", n, is_list) for n, is_list in id_fields(op.query))
    return out


SLOTS = slots()
WALK = [
    (slot, role)
    for slot in SLOTS
    if slot.kind not in (None, "?")
    for role in SCOPED.get(slot.kind, ())
    if role in slot.op.roles
]


def test_every_id_input_is_walked():
    unknown = [str(s) for s in SLOTS if s.kind == "?"]
    assert not unknown, f"id fields of unknown kind (add them to FIELD_KINDS): {unknown}"
    unscoped = [str(s) for s in SLOTS if s.kind is not None and s.kind not in SCOPED]
    assert not unscoped, f"kinds without a scope rule (add them to SCOPED): {unscoped}"
    walked = {s.op.endpoint for s, _ in WALK}
    # Every operation that takes an object id is walked by at least one scoped role, unless
    # only admin (who has no scope) may call it.
    for slot in SLOTS:
        if slot.kind is None:
            continue
        if any(r in slot.op.roles for r in SCOPED[slot.kind]):
            assert slot.op.endpoint in walked, f"{slot} is not walked"
    assert len(WALK) >= 30


def _outside_id(app, scope, kind: str, role: str, slot: Slot) -> int:
    """An object of ``kind`` that exists but lies outside ``role``'s scope."""
    if kind == "worker" and role == "hr":
        # hr sees a worker only as an applicant of its job: pick one with no events there.
        from sqlalchemy import select

        from api.service import state
        from api.storage import session_scope
        from api.storage.models import OutcomeEvent

        job = scope.inside["job"]
        with app.app_context(), session_scope(state().engine) as session:
            busy = set(
                session.scalars(select(OutcomeEvent.worker_id).where(OutcomeEvent.job_id == job))
            )
        return next(w for w in scope.world.workers + scope.world.other_workers if w not in busy)
    if kind == "worker":
        return scope.outside["worker"]["bureau"]
    return scope.outside[kind][role]


def _request(client, scope, slot: Slot, role: str, object_id: int):
    op = slot.op
    path_args = {name: scope.inside[op.scope] for name in op.path_params}
    query = dict(QUERIES.get(op.endpoint, {}))
    kwargs: dict[str, Any] = {"headers": scope.world.headers(role)}
    value: Any = [object_id] if slot.is_list else object_id
    if slot.where == "path":
        path_args[slot.name] = object_id
    elif slot.where == "query":
        query[slot.name] = object_id
    if op.body is not None:
        body = copy.deepcopy(_bodies(scope)[op.endpoint])
        if slot.where == "body":
            body[slot.name] = value
        kwargs["json"] = body
    if op.upload:
        kwargs.update(data=_bodies(scope)[op.endpoint], content_type="multipart/form-data")
    return client.open(op.path.format(**path_args), method=op.method, query_string=query, **kwargs)


def _blank(text: str, object_id: int) -> str:
    return re.sub(rf"(?<!\d){object_id}(?!\d)", "<id>", text)


def _answer(response, object_id: int) -> tuple[int, str]:
    return response.status_code, _blank(response.get_data(as_text=True), object_id)


@pytest.mark.parametrize(("slot", "role"), WALK, ids=lambda v: str(v))
def test_outside_the_scope_reads_as_absent(matrix, slot, role):  # noqa: F811
    app, client, scope = matrix
    outside = _outside_id(app, scope, slot.kind, role, slot)
    inside_scope = _answer(_request(client, scope, slot, role, outside), outside)
    absent = _answer(_request(client, scope, slot, role, ABSENT), ABSENT)
    assert inside_scope[0] < 500 and absent[0] < 500
    assert inside_scope == absent, (
        f"{slot} as {role}: out of scope {inside_scope} / absent {absent}"
    )


# --------------------------------------------------------------------------- duplicate ID numbers
def _other_id_number(app, scope) -> str:
    from api.service import state
    from api.storage import session_scope
    from api.storage.models import Worker

    with app.app_context(), session_scope(state().engine) as session:
        worker = session.get(Worker, scope.world.other_workers[1])
        return state().protector.decrypt(worker.id_cipher)


def test_a_duplicate_id_number_elsewhere_names_nothing(matrix):  # noqa: F811
    app, client, scope = matrix
    other = scope.world.other_workers[1]
    number = _other_id_number(app, scope)
    h = scope.world.headers("bureau")
    body = worker_payload(40, id_number=number)
    r = client.post(f"{API}/workers", json=body, headers=h)
    assert r.status_code == 409
    problem = r.get_json()
    assert "existing_id" not in problem
    assert not re.search(rf"(?<!\d){other}(?!\d)", problem["detail"])
    assert problem["detail"].startswith("该身份证号（")
    assert "已在其他地区登记" in problem["detail"]
    # The same through an update and an import.
    mine = scope.world.workers[2]
    version = client.get(f"{API}/workers/{mine}", headers=h).get_json()["version"]
    r = client.patch(
        f"{API}/workers/{mine}", json={"id_number": number, "version": version}, headers=h
    )
    assert r.status_code == 409 and "existing_id" not in r.get_json()
    assert not re.search(rf"(?<!\d){other}(?!\d)", r.get_json()["detail"])
    csv = f"姓名,身份证号,户籍县,学历\n重复,{number},化隆,初中\n".encode()
    r = client.post(
        f"{API}/workers/import",
        data={"file": (io.BytesIO(csv), "w.csv")},
        content_type="multipart/form-data",
        headers=h,
    )
    assert r.status_code == 422
    text = r.get_data(as_text=True)
    assert "已登记" in text and not re.search(rf"(?<!\d){other}(?!\d)", text)


def test_a_duplicate_in_ones_own_region_still_names_the_worker(matrix):  # noqa: F811
    app, client, scope = matrix
    admin = scope.world.headers("admin")
    mine = scope.world.workers[3]
    number = client.get(f"{API}/workers/{mine}", headers=admin).get_json()["id_number"]
    body = worker_payload(40, id_number=number)
    r = client.post(f"{API}/workers", json=body, headers=scope.world.headers("bureau"))
    assert r.status_code == 409, r.get_json()
    assert r.get_json()["existing_id"] == mine


# --------------------------------------------------------------------------- ids in import files
def _upload(client, path: str, csv: str, headers) -> tuple[int, Any]:
    r = client.post(
        f"{API}{path}",
        data={"file": (io.BytesIO(csv.encode()), "t.csv")},
        content_type="multipart/form-data",
        headers=headers,
    )
    return r.status_code, r.get_json()


def test_an_id_column_in_an_import_tells_a_scoped_caller_nothing(matrix):  # noqa: F811
    """An explicit 劳动力ID / 岗位ID answered "已存在" for an id taken in another region or firm
    and stored the row for a free one: an existence oracle through the file import. A scoped
    caller now gets one answer for an id taken elsewhere, a free one and its own."""
    app, client, scope = matrix
    world = scope.world
    n = 70
    answers = {}
    bureau = world.headers("bureau")
    for label, wid in [
        ("elsewhere", world.other_workers[0]),
        ("absent", ABSENT),
        ("own", world.workers[0]),
    ]:
        n += 1
        w = worker_payload(n)
        csv = (
            "劳动力ID,姓名,身份证号,性别,出生日期,户籍县,学历\n"
            f"{wid},{w['name']},{w['id_number']},{w['gender']},{w['birth_date']},化隆,初中\n"
        )
        status, problem = _upload(client, "/workers/import", csv, bureau)
        answers[label] = (status, repr(problem))  # the answer does not even echo the id
    assert answers["elsewhere"] == answers["absent"] == answers["own"], answers
    status, problem = answers["absent"][0], answers["absent"][1]
    assert status == 422
    assert "只有管理员可以指定劳动力ID" in problem and "已存在" not in problem

    hr = world.headers("hr")
    other_job = scope.outside["job"]["hr"]
    answers = {}
    for label, jid in [("elsewhere", other_job), ("absent", ABSENT), ("own", world.jobs[0])]:
        csv = f"岗位ID,岗位名称,工作城市,月薪下限,月薪上限,招聘人数\n{jid},普工,苏州,5000,6000,3\n"
        status, problem = _upload(client, "/jobs/import", csv, hr)
        answers[label] = (status, repr(problem))
    assert answers["elsewhere"] == answers["absent"] == answers["own"], answers
    assert answers["absent"][0] == 422 and "只有管理员可以指定岗位ID" in answers["absent"][1]

    # Admin numbers rows as before: a taken id is named as taken, a free one is used.
    admin = world.headers("admin")
    csv = (
        "岗位ID,企业ID,岗位名称,工作城市,月薪下限,月薪上限,招聘人数\n"
        f"{other_job},{world.firm},普工,苏州,5000,6000,3\n"
    )
    status, problem = _upload(client, "/jobs/import", csv, admin)
    assert status == 422 and f"岗位ID {other_job} 已存在" in repr(problem)
