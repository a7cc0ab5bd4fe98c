from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from api import storage as st
from data.idcard import make_id_number
from data.schema import JOB_COLUMNS, OUTCOME_COLUMNS, WORKER_COLUMNS


def _firm(session, **kw):
    return st.create_firm(
        session, {"name": "昆山立讯精密", "city": "苏州市", "district": "昆山市", **kw}
    )


def _job(session, firm_id, **kw):
    data = {
        "firm_id": firm_id,
        "title": "普工+包吃住+月入6000",
        "city": "苏州市",
        "district": "昆山市",
        "occupation_code": "6-25-04-01",
        "wage_min": 5000,
        "wage_max": 6500,
        "headcount": 2,
        "age_min": 18,
        "age_max": 45,
        "education_min": "初中",
        "certificates_required": ["special_equipment.forklift"],
        "dormitory": True,
        "meals": True,
        "posted_at": dt.date(2026, 3, 1),
    }
    data.update(kw)
    return st.create_job(session, data)


def _worker_data(seq=1, county="630224", **kw):
    data = {
        "name": "马小军",
        "id_number": make_id_number(county, dt.date(1985, 5, 5), seq, "男"),
        "gender": "男",
        "ethnicity": "回族",
        "birth_date": dt.date(1985, 5, 5),
        "county_code": county,
        "township": "巴燕镇",
        "village": "下加合村",
        "phone": "13800000000",
        "education": "初中",
        "skills_text": "在服装厂踩过三年缝纫机",
        "desired_jobs": ["缝纫工"],
        "certificates": [],
        "certificates_unrecognised": ["挖机证"],
        "preferred_cities": ["苏州市"],
        "min_wage": 4500,
        "needs_dormitory": True,
        "needs_halal": True,
        "poverty_registered": True,
        "group_id": "",
        "registered_at": dt.date(2026, 2, 1),
    }
    data.update(kw)
    return data


def test_migration_creates_every_table_and_downgrades(engine):
    tables = set(inspect(engine).get_table_names())
    expected = {
        "firms",
        "jobs",
        "workers",
        "outcome_events",
        "api_keys",
        "audit_log",
        "fairs",
        "fair_firms",
        "fair_invitations",
        "fair_interviews",
        "allocations",
        "changes",
        "users",
        "alembic_version",
    }
    assert expected <= tables
    from alembic.script import ScriptDirectory

    from api.storage.db import alembic_config

    heads = ScriptDirectory.from_config(alembic_config(engine)).get_heads()
    assert len(heads) == 1, f"the migrations must form one chain, found heads {heads}"
    assert st.current_revision(engine) == heads[0]
    # The models and the migration agree (no autogenerate diff).
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), st.Base.metadata)
    assert diff == []
    indexes = {i["name"] for i in inspect(engine).get_indexes("jobs")}
    assert {"ix_jobs_status", "ix_jobs_city", "ix_jobs_occupation_code"} <= indexes
    st.downgrade(engine, "base")
    assert "workers" not in inspect(engine).get_table_names()
    st.init_db(engine)
    assert "workers" in inspect(engine).get_table_names()


def test_job_crud_and_optimistic_locking(session):
    firm = _firm(session)
    job = _job(session, firm.id)
    session.commit()
    assert job.version == 1 and job.status == "open" and job.hired_count == 0
    got = st.get_job(session, job.id)
    record = st.job_record(got)
    assert set(JOB_COLUMNS) <= set(record)
    assert record["firm_name"] == "昆山立讯精密"
    assert record["certificates_required"] == ["special_equipment.forklift"]

    st.update_job(session, job.id, {"wage_max": 7000}, expected_version=1)
    session.commit()
    assert st.get_job(session, job.id).version == 2
    with pytest.raises(st.StaleVersion) as info:
        st.update_job(session, job.id, {"wage_max": 7100}, expected_version=1)
    assert info.value.status == 412 and info.value.current == 2
    assert st.get_job(session, job.id).wage_max == 7000

    with pytest.raises(st.Invalid) as info:
        st.update_job(session, job.id, {"wage_min": 9000}, expected_version=2)
    assert info.value.status == 422 and info.value.errors[0]["field"] == "wage_min"

    st.delete_job(session, job.id, expected_version=2)
    session.commit()
    with pytest.raises(st.NotFound, match="岗位"):
        st.get_job(session, job.id)


def test_concurrent_update_is_stale(engine):
    with Session(engine) as s:
        firm = _firm(s)
        job_id = _job(s, firm.id).id
        s.commit()
    a, b = Session(engine), Session(engine)
    try:
        ja = st.get_job(a, job_id)
        st.get_job(b, job_id)
        st.update_job(b, job_id, {"headcount": 5}, expected_version=1)
        b.commit()
        # a read version 1 before b's commit: its own check passes, the UPDATE … WHERE
        # version=1 then fails.
        assert ja.version == 1
        with pytest.raises(st.StaleVersion):
            st.update_job(a, job_id, {"headcount": 9}, expected_version=1)
    finally:
        a.close()
        b.close()


def test_invalid_job_lists_every_problem(session):
    firm = _firm(session)
    with pytest.raises(st.Invalid) as info:
        _job(session, firm.id, wage_min=8000, wage_max=6000, age_min=50, age_max=20, headcount=0)
    fields = {e["field"] for e in info.value.errors}
    assert fields == {"wage_min", "age_min", "headcount"}
    with pytest.raises(st.Invalid) as info:
        _job(session, firm.id, education_min="博士后", status="paused", colour="red")
    messages = " ".join(e["message"] for e in info.value.errors)
    assert "博士后" in messages and "paused" in messages and "colour" in messages
    with pytest.raises(st.NotFound, match="企业 999"):
        _job(session, 999)


def test_list_jobs_filters_and_pages(session):
    firm = _firm(session)
    ids = [_job(session, firm.id, city="苏州市" if i % 2 else "无锡市").id for i in range(7)]
    st.update_job(session, ids[0], {"status": "closed"}, expected_version=1)
    session.commit()
    page = st.list_jobs(session, status="open", limit=2)
    assert page.total == 6 and len(page.items) == 2 and page.next_cursor == page.items[-1].id
    seen = [j.id for j in page.items]
    while page.next_cursor is not None:
        page = st.list_jobs(session, status="open", limit=2, after=page.next_cursor)
        seen += [j.id for j in page.items]
    assert seen == ids[1:]
    assert [j.id for j in st.list_jobs(session, city="无锡市", offset=1, limit=10).items] == ids[
        2::2
    ]
    with pytest.raises(st.Invalid):
        st.list_jobs(session, limit=0)
    with pytest.raises(ValueError, match="paused"):
        st.list_jobs(session, status="paused")


def test_firm_delete_refused_while_jobs(session):
    firm = _firm(session)
    _job(session, firm.id)
    with pytest.raises(st.Conflict, match="仍有岗位"):
        st.delete_firm(session, firm.id)
    updated = st.update_firm(session, firm.id, {"industry": "电子"}, expected_version=1)
    assert updated.version == 2
    assert st.list_firms(session, name_contains="立讯").total == 1


def test_worker_register_masks_and_refuses_duplicate(session, protector):
    data = _worker_data()
    worker = st.register_worker(session, data, protector=protector)
    session.commit()
    assert worker.id_masked == data["id_number"][:4] + "*" * 10 + data["id_number"][-4:]
    assert protector.decrypt(worker.id_cipher) == data["id_number"]
    record = st.worker_record(worker)
    assert record["id_number"] == worker.id_masked
    assert list(record)[: len(WORKER_COLUMNS)] == list(WORKER_COLUMNS)
    assert (
        st.worker_record(worker, protector=protector, reveal_id=True)["id_number"]
        == data["id_number"]
    )

    with pytest.raises(st.DuplicateWorker) as info:
        st.register_worker(session, _worker_data(name="另一个人"), protector=protector)
    assert info.value.status == 409 and info.value.existing_id == worker.id
    # Lower-case x or surrounding spaces are the same person.
    assert (
        st.find_worker_by_id_number(session, " " + data["id_number"].lower(), protector).id
        == worker.id
    )

    other = st.register_worker(session, _worker_data(seq=2), protector=protector)
    with pytest.raises(st.DuplicateWorker):
        st.update_worker(
            session,
            other.id,
            {"id_number": data["id_number"]},
            expected_version=1,
            protector=protector,
        )


def test_worker_bad_id_and_fields_reported_together(session, protector):
    good = _worker_data()["id_number"]
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(st.Invalid) as info:
        st.register_worker(
            session,
            _worker_data(id_number=bad, education="幼儿园", county_code="63"),
            protector=protector,
        )
    fields = sorted(e["field"] for e in info.value.errors)
    assert fields == ["county_code", "education", "id_number"]
    assert "校验位" in info.value.errors[0]["message"]


def test_worker_update_delete_and_region_listing(session, protector):
    a = st.register_worker(session, _worker_data(seq=1, county="630224"), protector=protector)
    st.register_worker(session, _worker_data(seq=2, county="632823"), protector=protector)
    st.register_worker(session, _worker_data(seq=3, county="610623"), protector=protector)
    session.commit()
    assert [w.county_code for w in st.list_workers(session, region_prefix="63").items] == [
        "630224",
        "632823",
    ]
    assert st.list_workers(session, county_code="610623").total == 1
    with pytest.raises(st.Invalid, match="地区代码"):
        st.list_workers(session, region_prefix="Qinghai")
    st.update_worker(session, a.id, {"min_wage": 5000}, expected_version=1)
    with pytest.raises(st.StaleVersion):
        st.update_worker(session, a.id, {"min_wage": 5500}, expected_version=1)
    st.delete_worker(session, a.id)
    assert st.list_workers(session).total == 2


def test_id_number_never_in_database_file(tmp_path, protector):
    url = f"sqlite:///{tmp_path / 'plain.db'}"
    engine = st.init_db(url)
    numbers = []
    with st.session_scope(engine) as s:
        for seq in range(20):
            data = _worker_data(seq=seq)
            numbers.append(data["id_number"])
            st.register_worker(s, data, protector=protector)
    engine.dispose()  # checkpoints the WAL into the main file
    blob = b"".join(p.read_bytes() for p in Path(tmp_path).glob("plain.db*"))
    for number in numbers:
        assert number.encode() not in blob
        assert number[6:14].encode() + number[14:].encode() not in blob
    assert "马小军".encode() in blob  # the file is readable: the test would see a plain ID


def test_record_outcome_counts_hires(session, protector):
    firm = _firm(session)
    job = _job(session, firm.id, headcount=1)
    worker = st.register_worker(session, _worker_data(), protector=protector)
    st.record_outcome(session, worker.id, job.id, "applied", dt.date(2026, 3, 2))
    st.record_outcome(session, worker.id, job.id, "hired", "2026-03-05")
    session.commit()
    assert job.hired_count == 1 and job.status == "filled"
    events = st.list_outcomes(session, worker_id=worker.id)
    assert [e.stage for e in events.items] == ["applied", "hired"]
    with pytest.raises(st.Invalid, match="promoted"):
        st.record_outcome(session, worker.id, job.id, "promoted")
    with pytest.raises(st.NotFound):
        st.record_outcome(session, 12345, job.id, "applied")


def test_api_keys_hashed_authenticated_revoked(session):
    firm = _firm(session)
    key, token = st.create_api_key(session, name="立讯HR", role="hr", firm_id=firm.id)
    session.commit()
    stored = session.scalar(select(st.ApiKey.key_hash).where(st.ApiKey.id == key.id))
    assert token not in stored and stored == st.hash_token(token) and len(stored) == 64
    assert st.authenticate(session, token).id == key.id
    assert st.authenticate(session, token + "x") is None
    assert st.authenticate(session, "") is None
    st.revoke_api_key(session, key.id)
    session.commit()
    assert st.authenticate(session, token) is None
    assert st.list_api_keys(session, include_revoked=False) == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"role": "hr"}, "firm_id"),
        ({"role": "bureau"}, "region_prefix"),
        ({"role": "bureau", "region_prefix": "Xining"}, "region_prefix"),
        ({"role": "root"}, "role"),
        # A scope must name something that exists, and one the role has.
        ({"role": "bureau", "region_prefix": "9999"}, "region_prefix"),
        ({"role": "bureau", "region_prefix": "6302", "firm_id": 1}, "firm_id"),
        ({"role": "organiser", "region_prefix": "6302"}, "region_prefix"),
        ({"role": "admin", "firm_id": 1}, "firm_id"),
        ({"role": "hr", "firm_id": 424242}, "firm_id"),
    ],
)
def test_api_key_role_rules(session, kwargs, field):
    with pytest.raises(st.Invalid) as info:
        st.create_api_key(session, name="k", **kwargs)
    assert field in {e["field"] for e in info.value.errors}


def test_audit_rows_written(session, protector):
    key, _ = st.create_api_key(session, name="海东人社局", role="bureau", region_prefix="6302")
    worker = st.register_worker(session, _worker_data(), protector=protector)
    st.audit(
        session,
        actor=key,
        action="read",
        object_type="worker",
        object_id=worker.id,
        fields=["id_number", "phone"],
    )
    st.audit(session, actor="cli", action="export", object_type="worker")
    session.commit()
    page = st.list_audit(session, object_type="worker", object_id=worker.id)
    assert page.total == 1
    entry = page.items[0]
    assert (entry.api_key_id, entry.actor, entry.action, entry.fields) == (
        key.id,
        "海东人社局",
        "read",
        ["id_number", "phone"],
    )
    assert isinstance(entry.at, dt.datetime)


def test_fair_interview_slots_are_unique(session, protector):
    firm = _firm(session)
    job = _job(session, firm.id)
    w1 = st.register_worker(session, _worker_data(seq=1), protector=protector)
    w2 = st.register_worker(session, _worker_data(seq=2), protector=protector)
    fair = st.Fair(
        name="化隆县专场招聘会",
        county_code="630224",
        date=dt.date(2026, 4, 1),
        start_time=dt.time(9),
        end_time=dt.time(12),
        booths=2,
    )
    session.add(fair)
    session.flush()
    start = dt.datetime(2026, 4, 1, 9)
    end = start + dt.timedelta(minutes=15)
    common = {"fair_id": fair.id, "job_id": job.id, "firm_id": firm.id, "start": start, "end": end}
    session.add(st.FairInterview(worker_id=w1.id, booth=1, **common))
    session.flush()
    session.add(st.FairInterview(worker_id=w2.id, booth=1, **common))  # same booth, same slot
    with pytest.raises(Exception, match="(?i)unique"):
        session.flush()
    session.rollback()


def _tiny_world(n_workers=30, n_jobs=6):
    firms = pd.DataFrame(
        {
            "firm_id": [1, 2],
            "name": ["立讯精密", "波司登"],
            "city": ["苏州市", "苏州市"],
            "district": ["昆山市", "常熟市"],
        }
    )
    jobs = pd.DataFrame(
        {
            "job_id": range(1, n_jobs + 1),
            "firm_id": [1 + i % 2 for i in range(n_jobs)],
            "firm_name": ["立讯精密" if i % 2 == 0 else "波司登" for i in range(n_jobs)],
            "title": [f"普工{i}" for i in range(n_jobs)],
            "description": "",
            "occupation_code": "6-25-04-01",
            "city": "苏州市",
            "district": "昆山市",
            "wage_min": 5000,
            "wage_max": 6000,
            "headcount": 3,
            "hired_count": 0,
            "age_min": 18,
            "age_max": 50,
            "education_min": [None if i % 2 else "初中" for i in range(n_jobs)],
            "certificates_required": [
                [] if i % 3 else ["special_equipment.forklift"] for i in range(n_jobs)
            ],
            "dormitory": True,
            "meals": False,
            "halal_canteen": [bool(i % 2) for i in range(n_jobs)],
            "novice_ok": True,
            "status": "open",
            "posted_at": [dt.date(2026, 1, 1 + i) for i in range(n_jobs)],
        }
    )
    workers = pd.DataFrame(
        [
            {**{k: v for k, v in _worker_data(seq=i).items()}, "worker_id": 100 + i}
            for i in range(n_workers)
        ]
    )
    workers["birth_date"] = pd.to_datetime(workers["birth_date"])  # a datetime64 column too
    events = pd.DataFrame(
        {
            "worker_id": [100, 100, 101],
            "job_id": [1, 1, 2],
            "stage": ["applied", "hired", "applied"],
            "date": [dt.date(2026, 2, 1)] * 3,
        }
    )
    return {"firms": firms, "jobs": jobs, "workers": workers}, events


def test_bulk_load_small_world_round_trips(engine, protector):
    world, events = _tiny_world()
    result = st.bulk_load_world(engine, world, events, protector=protector, show_progress=False)
    assert (result["firms"], result["jobs"], result["workers"], result["events"]) == (2, 6, 30, 3)
    with Session(engine) as s:
        jobs, workers, ev = st.read_world(s)
        assert list(jobs.columns) == list(JOB_COLUMNS)
        assert list(workers.columns) == list(WORKER_COLUMNS)
        assert list(ev.columns) == list(OUTCOME_COLUMNS)
        assert (
            jobs["certificates_required"].tolist()
            == world["jobs"]["certificates_required"].tolist()
        )
        assert jobs["education_min"].tolist() == world["jobs"]["education_min"].tolist()
        assert jobs["firm_name"].tolist() == world["jobs"]["firm_name"].tolist()
        assert jobs["posted_at"].tolist() == world["jobs"]["posted_at"].tolist()
        assert workers["worker_id"].tolist() == list(range(100, 130))
        assert workers["birth_date"].iloc[0] == dt.date(1985, 5, 5)
        assert workers["certificates_unrecognised"].iloc[0] == ["挖机证"]
        assert workers["needs_halal"].iloc[0] is True or workers["needs_halal"].iloc[0] == True  # noqa: E712
        assert (
            workers["id_number"].iloc[0].startswith("6302") and "*" in workers["id_number"].iloc[0]
        )
        _, revealed, _ = st.read_world(s, protector=protector, reveal_ids=True)
        assert revealed["id_number"].tolist() == world["workers"]["id_number"].tolist()
        # The ORM reads the bulk rows, and new rows get ids past the loaded ones.
        worker = st.get_worker(s, 100)
        assert (
            worker.version == 1
            and protector.decrypt(worker.id_cipher) == world["workers"]["id_number"][0]
        )
        new = st.register_worker(s, _worker_data(seq=400), protector=protector)
        job = st.create_job(
            s,
            {
                k: v
                for k, v in st.job_record(st.get_job(s, 1)).items()
                if k in JOB_COLUMNS and k not in ("job_id", "firm_name")
            },
        )
        s.commit()
        assert new.id > 129 and job.id > 6
        with pytest.raises(st.DuplicateWorker):
            st.register_worker(s, _worker_data(seq=3), protector=protector)


def test_bulk_load_is_all_or_nothing(engine, protector):
    world, events = _tiny_world()
    world["workers"].loc[5, "id_number"] = world["workers"].loc[4, "id_number"]
    with pytest.raises(st.Conflict, match="未保存任何数据"):
        st.bulk_load_world(engine, world, events, protector=protector, show_progress=False)
    assert st.is_empty(engine)
    world, events = _tiny_world()
    events.loc[0, "stage"] = "promoted"
    with pytest.raises(st.Invalid, match="promoted"):
        st.bulk_load_world(engine, world, events, protector=protector, show_progress=False)
    assert st.is_empty(engine)


def test_require_schema_says_run_init_db(database_url):
    engine = st.make_engine(database_url)
    with pytest.raises(RuntimeError, match="init-db"):
        st.is_empty(engine)
    engine.dispose()


def test_sqlite_enforces_foreign_keys(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL always enforces them")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_bulk_load_refuses_events_of_unknown_workers(engine, protector):
    world, events = _tiny_world()
    events.loc[2, "worker_id"] = 999
    with pytest.raises(st.Conflict, match="未保存任何数据"):
        st.bulk_load_world(engine, world, events, protector=protector, show_progress=False)
    assert st.is_empty(engine)
    # The indexes dropped for the load are back after a failed one.
    indexes = {i["name"] for i in inspect(engine).get_indexes("workers")}
    assert "ix_workers_id_hash" in indexes


def test_explicit_ids_do_not_collide_with_generated_ones(session, protector):
    firm = _firm(session, firm_id=50)
    assert firm.id == 50 and _firm(session).id == 51
    job = _job(session, firm.id, job_id=700)
    assert job.id == 700 and _job(session, firm.id).id == 701
    with pytest.raises(st.Conflict, match="岗位 700 已存在"):
        _job(session, firm.id, job_id=700)
    worker = st.register_worker(
        session, {**_worker_data(seq=1), "worker_id": 9000}, protector=protector
    )
    assert worker.id == 9000
    assert st.register_worker(session, _worker_data(seq=2), protector=protector).id == 9001
    session.commit()


def test_import_keeps_given_ids_and_generates_the_rest(session, protector):
    from api.storage import import_workers

    records = [{**_worker_data(seq=i), "row": i + 2} for i in range(3)]
    records[1]["worker_id"] = 500
    result = import_workers(session, records, protector=protector)
    assert result.created[1] == 500 and result.created[0] != 500 and result.created[2] > 500
    assert [st.get_worker(session, i).name for i in result.created] == ["马小军"] * 3
    session.commit()
    later = st.register_worker(session, _worker_data(seq=9), protector=protector)
    assert later.id > 500
