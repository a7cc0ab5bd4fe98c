"""Spreadsheet import (all-or-nothing, or skip_invalid) and export round trips; outcomes and the
summary report."""

from __future__ import annotations

import datetime as dt
import io

from data.idcard import make_id_number
from tests.api.conftest import HUALONG, YANCHANG

API = "/api/v1"


def _upload(client, url, text: str, headers, filename="rows.csv", encoding="utf-8"):
    data = {"file": (io.BytesIO(text.encode(encoding)), filename)}
    return client.post(url, data=data, headers=headers, content_type="multipart/form-data")


def _ids(n: int, county: str = HUALONG) -> list[str]:
    return [
        make_id_number(county, dt.date(1990, 1, 1) + dt.timedelta(days=i), 100 + i, "男")
        for i in range(n)
    ]


def test_job_import_is_all_or_nothing_with_every_row_error(client, world):
    csv = (
        "岗位名称,企业名称,工作城市,月薪下限,月薪上限,招聘人数\n"
        "普工,昆山测试电子厂,昆山,5000,7000,30\n"
        "包装工,昆山测试电子厂,上海,4000,5000,10\n"
        "质检员,不存在的厂,苏州,4000,3000,5\n"
    )
    h = world.headers("admin")
    before = client.get(f"{API}/jobs?limit=500", headers=h).get_json()["items"]
    r = _upload(client, f"{API}/jobs/import", csv, h)
    assert r.status_code == 422
    body = r.get_json()
    assert body["detail"].startswith("共有 2 行不合规（第 3、4 行）")
    rows = {(e["row"], e.get("field")) for e in body["errors"]}
    assert (3, "city") in rows and (4, "wage_max") in rows
    city_error = next(e for e in body["errors"] if e["row"] == 3)
    assert city_error["column"] == "工作城市" and "上海" in city_error["message"]
    assert client.get(f"{API}/jobs?limit=500", headers=h).get_json()["items"] == before

    r = _upload(client, f"{API}/jobs/import?skip_invalid=true", csv, h, encoding="gbk")
    assert r.status_code == 200, r.get_json()
    out = r.get_json()
    assert out["created"] == 1 and len(out["ids"]) == 1
    assert sorted({e["row"] for e in out["rejected"]}) == [3, 4]
    job = client.get(f"{API}/jobs/{out['ids'][0]}", headers=h).get_json()
    assert (job["title"], job["city"], job["district"], job["firm_id"]) == (
        "普工",
        "苏州市",
        "昆山市",
        world.firm,
    )


def test_hr_imports_only_for_its_firm(client, world):
    header = "岗位名称,企业ID,工作城市,月薪下限,月薪上限,招聘人数\n"
    csv = f"{header}普工,{world.other_firm},苏州,5000,7000,3\n"
    r = _upload(client, f"{API}/jobs/import", csv, world.headers("hr"))
    assert r.status_code == 422
    assert r.get_json()["errors"][0]["field"] == "firm_id"
    csv = "岗位名称,工作城市,月薪下限,月薪上限,招聘人数\n普工,苏州,5000,7000,3\n"
    r = _upload(client, f"{API}/jobs/import", csv, world.headers("hr"))
    assert r.status_code == 200
    assert (
        client.get(f"{API}/jobs/{r.get_json()['ids'][0]}", headers=world.headers("hr")).get_json()[
            "firm_id"
        ]
        == world.firm
    )


def test_worker_import_region_duplicates_and_export_round_trip(client, world):
    a, b, c = _ids(3)
    outside = _ids(1, YANCHANG)[0]
    csv = (
        "姓名,身份证号,户籍县,学历,手机号,证书,意向城市\n"
        f"甲,{a},化隆县,初中,13800000001,叉车证,苏州\n"
        f"乙,{b},630224,高中,13800000002,,\n"
        f"丙,{a},化隆,初中,13800000003,,\n"
        f"丁,{outside},延长县,初中,13800000004,,\n"
        f"戊,{c[:-1]}0,化隆,初中,13800000005,,\n"
    )
    h = world.headers("bureau")
    r = _upload(client, f"{API}/workers/import", csv, h)
    assert r.status_code == 422
    assert sorted({e["row"] for e in r.get_json()["errors"]}) == [4, 5, 6]
    r = _upload(client, f"{API}/workers/import?skip_invalid=true", csv, h)
    assert r.status_code == 200
    out = r.get_json()
    assert out["created"] == 2
    assert sorted({e["row"] for e in out["rejected"]}) == [4, 5, 6]

    export = client.get(f"{API}/workers/export?format=csv", headers=h)
    assert export.status_code == 200
    assert export.headers["Content-Type"].startswith("text/csv")
    text = export.get_data().decode("utf-8-sig")
    assert a in text and b in text and outside not in text
    # the export reads back as the same records
    from data.tabular import read_table, validate_workers

    back = validate_workers(read_table(io.BytesIO(export.get_data()), filename="w.csv"))
    assert back.ok
    got = {r["id_number"]: r for r in back.records}
    assert got[a]["certificates"] == ["special_equipment.forklift"]
    assert got[a]["preferred_cities"] == ["苏州市"]

    xlsx = client.get(f"{API}/workers/export?format=xlsx", headers=h)
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert client.get(f"{API}/workers/export?format=pdf", headers=h).status_code == 422


def test_import_without_file_or_with_a_bad_file(client, world):
    h = world.headers("admin")
    r = client.post(f"{API}/jobs/import", data={}, headers=h, content_type="multipart/form-data")
    assert r.status_code == 422 and r.get_json()["errors"] == [
        {"field": "file", "message": "缺少上传文件"}
    ]
    r = _upload(client, f"{API}/jobs/import", "x", h, filename="jobs.xls")
    assert r.status_code == 422 and ".xls" in r.get_json()["detail"]


def test_jobs_export_by_scope(client, world):
    r = client.get(f"{API}/jobs/export?format=csv", headers=world.headers("hr"))
    text = r.get_data().decode("utf-8-sig")
    assert text.count("\r\n") == 1 + len(world.jobs)
    assert "无锡测试服装厂" not in text
    from data.tabular import read_table, validate_jobs

    back = validate_jobs(read_table(io.BytesIO(r.get_data()), filename="j.csv"))
    assert back.ok and sorted(rec["job_id"] for rec in back.records) == world.jobs


def test_outcomes_and_summary_report(client, world):
    h = world.headers("admin")
    w, j = world.workers[0], world.jobs[0]
    for stage, day in (
        ("applied", "2026-01-10"),
        ("hired", "2026-02-01"),
        ("retained_3m", "2026-05-01"),
    ):
        r = client.post(
            f"{API}/outcomes",
            json={"worker_id": w, "job_id": j, "stage": stage, "date": day},
            headers=h,
        )
        assert r.status_code == 201
        assert r.headers["Location"] == f"{API}/outcomes/{r.get_json()['id']}"
    r = client.post(
        f"{API}/outcomes",
        json={"worker_id": w, "job_id": j, "stage": "promoted", "date": "2026-02-01"},
        headers=h,
    )
    assert r.status_code == 422 and r.get_json()["errors"][0]["field"] == "stage"
    # hr may record outcomes of its own jobs only; a bureau of its own workers only
    r = client.post(
        f"{API}/outcomes",
        json={
            "worker_id": w,
            "job_id": world.other_jobs[0],
            "stage": "interviewed",
            "date": "2026-02-01",
        },
        headers=world.headers("hr"),
    )
    assert r.status_code == 404
    r = client.post(
        f"{API}/outcomes",
        json={
            "worker_id": world.other_workers[0],
            "job_id": j,
            "stage": "applied",
            "date": "2026-02-01",
        },
        headers=world.headers("bureau"),
    )
    assert r.status_code == 404

    county = client.get(f"{API}/reports/summary?by=county", headers=h).get_json()
    rows = {row["key"]: row for row in county["items"]}
    assert rows[HUALONG] == {
        "key": HUALONG,
        "label": rows[HUALONG]["label"],
        "registered": len(world.workers),
        "recommended": 0,
        "hired": 1,
        "retained_3m": 1,
        "retained_6m": 0,
    }
    assert "化隆" in rows[HUALONG]["label"]
    assert rows[YANCHANG]["registered"] == len(world.other_workers)
    city = client.get(f"{API}/reports/summary?by=city", headers=h).get_json()
    assert [(r["key"], r["hired"]) for r in city["items"]] == [("苏州市", 1)]
    bureau = client.get(
        f"{API}/reports/summary?by=county", headers=world.headers("bureau")
    ).get_json()
    assert [r["key"] for r in bureau["items"]] == [HUALONG]
    assert client.get(f"{API}/reports/summary?by=gender", headers=h).status_code == 422
