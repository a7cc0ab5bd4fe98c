from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time

import openpyxl
import pandas as pd
import pytest

from data.idcard import make_id_number, mask_id_number
from data.tabular import (
    TableError,
    read_table,
    split_list,
    validate_jobs,
    validate_workers,
    write_table,
)


def _csv_bytes(rows: list[dict[str, str]], encoding: str = "utf-8") -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode(encoding)


def _xlsx_bytes(rows: list[dict[str, object]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(rows[0]))
    for row in rows:
        ws.append(list(row.values()))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _errors(result) -> set[tuple[int, str]]:
    return {(e.row, e.field) for e in result.errors}


# --------------------------------------------------------------------------- read_table


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_read_csv_encodings(job_rows, encoding):
    df = read_table(io.BytesIO(_csv_bytes(job_rows, encoding)), filename="岗位.CSV")
    assert list(df.columns)[:2] == ["岗位名称", "企业名称"]
    assert df.iloc[0]["企业名称"] == "昆山华通电子有限公司"
    assert list(df.index) == [2, 3]


def test_read_from_path(tmp_path, job_rows):
    path = tmp_path / "jobs.csv"
    path.write_bytes(_csv_bytes(job_rows, "gbk"))
    assert len(read_table(path, filename=path.name)) == 2
    assert len(read_table(str(path), filename=path.name)) == 2


def test_read_xlsx_with_numbers_and_dates(job_rows):
    rows = [dict(r, 月薪下限=5000, 发布日期=dt.datetime(2024, 3, 1)) for r in job_rows]
    df = read_table(io.BytesIO(_xlsx_bytes(rows)), filename="jobs.xlsx")
    assert df.iloc[0]["月薪下限"] == "5000"
    assert df.iloc[0]["发布日期"] == "2024-03-01"
    result = validate_jobs(df)
    assert result.ok, result.errors
    assert result.records[0]["posted_at"] == dt.date(2024, 3, 1)


def test_blank_rows_keep_numbering(job_rows):
    raw = _csv_bytes(job_rows).decode().splitlines()
    raw.insert(2, ",,,,,,,,,,,,")
    df = read_table(io.BytesIO("\n".join(raw).encode()), filename="a.csv")
    assert list(df.index) == [2, 4]


@pytest.mark.parametrize(
    ("data", "filename", "match"),
    [
        (b"not a zip at all", "jobs.xlsx", "不是 Excel"),
        (b"PK\x03\x04garbage", "jobs.xlsx", "Excel"),
        (b"", "jobs.csv", "空"),
        (b"  \n ", "jobs.csv", "空"),
        (b"a,b\n1,2\n", "jobs.txt", "不支持"),
        (b"a,b\n1,2\n", "jobs.xls", "xlsx"),
        (b"a,a\n1,2\n", "jobs.csv", "两次"),
        (b",\n1,2\n", "jobs.csv", "表头"),
    ],
)
def test_read_rejects_bad_files(data, filename, match):
    with pytest.raises(TableError, match=match):
        read_table(io.BytesIO(data), filename=filename)


def test_cells_without_header_are_kept_as_ignored_columns(job_rows):
    raw = _csv_bytes(job_rows).decode().splitlines()
    raw[1] += ",多出来的备注"
    df = read_table(io.BytesIO("\n".join(raw).encode()), filename="a.csv")
    extra = f"第{len(job_rows[0]) + 1}列"
    assert df.loc[2, extra] == "多出来的备注"
    result = validate_jobs(df)
    assert result.ok and result.ignored_columns == [extra]


def test_xlsx_zip_bomb_refused(job_rows):
    from data.tabular import ReadLimits

    with pytest.raises(TableError, match="解压") as caught:
        read_table(
            io.BytesIO(_xlsx_bytes(job_rows)),
            filename="j.xlsx",
            limits=ReadLimits(max_unpacked_bytes=1000),
        )
    assert caught.value.status == 413


def test_table_error_is_value_error():
    assert issubclass(TableError, ValueError)


def test_oversize_refused_before_reading(tmp_path):
    class Tracking(io.BytesIO):
        read_sizes: list[int] = []

        def read(self, n=-1):
            self.read_sizes.append(n)
            return super().read(n)

    src = Tracking(b"a,b\n" + b"1,2\n" * 100)
    with pytest.raises(TableError, match="过大"):
        read_table(src, filename="big.csv", max_bytes=50)
    assert src.read_sizes == []  # refused from the size alone
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 100)
    with pytest.raises(TableError, match="404"):
        read_table(path, filename="big.csv", max_bytes=50)


def test_oversize_unseekable_stream():
    class Stream(io.RawIOBase):
        def __init__(self):
            self.left = 1000

        def readable(self):
            return True

        def seekable(self):
            return False

        def readinto(self, b):
            n = min(len(b), self.left)
            b[:n] = b"1" * n
            self.left -= n
            return n

    with pytest.raises(TableError, match="过大"):
        read_table(io.BufferedReader(Stream()), filename="s.csv", max_bytes=100)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("叉车证、健康证", ["叉车证", "健康证"]),
        ("a，b,c;d；e/f", ["a", "b", "c", "d", "e", "f"]),
        ("特种设备作业人员证（叉车司机、起重机司机）、健康证",
         ["特种设备作业人员证(叉车司机、起重机司机)", "健康证"]),
        ("", []),
        (" 、 ", []),
    ],
)  # fmt: skip
def test_split_list(text, parts):
    assert split_list(text) == parts


# --------------------------------------------------------------------------- validate_jobs


def test_validate_jobs_normalises(job_rows):
    result = validate_jobs(read_table(io.BytesIO(_csv_bytes(job_rows, "gbk")), filename="j.csv"))
    assert result.ok, result.errors
    first, second = result.records
    assert first["row"] == 2 and second["row"] == 3
    assert (first["city"], first["district"]) == ("苏州市", "昆山市")
    assert (second["city"], second["district"]) == ("无锡市", "")
    assert first["education_min"] == "初中" and second["education_min"] is None
    assert second["wage_min"] == 6000  # full-width digits
    assert second["certificates_required"] == ["special_equipment.forklift", "health"]
    assert first["dormitory"] is True and second["meals"] is False
    assert first["status"] == "open" and first["hired_count"] == 0
    assert "job_id" not in first  # storage assigns ids


def test_validate_jobs_english_headers():
    df = pd.DataFrame(
        [{"title": "电焊工", "city": "常州", "district": "溧阳", "wage_min": "7000",
          "wage_max": "9000", "headcount": "3", "certificates_required": "焊工证、登高证",
          "status": "招聘中", "job_id": "17"}]
    )  # fmt: skip
    result = validate_jobs(df)
    assert result.ok, result.errors
    rec = result.records[0]
    assert rec["row"] == 2 and rec["job_id"] == 17
    assert (rec["city"], rec["district"]) == ("常州市", "溧阳市")
    assert rec["certificates_required"] == ["special_work.welding", "special_work.height"]


def test_unknown_certificate_is_kept_not_an_error(job_rows):
    job_rows[0]["所需证书"] = "挖掘机证、叉车证"
    result = validate_jobs(pd.DataFrame(job_rows))
    assert result.ok
    assert result.records[0]["certificates_required"] == ["special_equipment.forklift"]
    assert result.records[0]["certificates_unrecognised"] == ["挖掘机证"]


def test_job_errors_every_bad_cell_of_every_row(job_rows):
    job_rows[0].update(
        {"月薪下限": "8000", "月薪上限": "6000", "招聘人数": "0", "最低学历": "幼儿园"}
    )
    job_rows[1].update({"年龄下限": "50", "年龄上限": "30", "月薪下限": "六千", "工作城市": "西安"})
    result = validate_jobs(pd.DataFrame(job_rows))
    assert not result.ok and result.records == []
    assert _errors(result) == {
        (2, "wage_max"), (2, "headcount"), (2, "education_min"),
        (3, "age_max"), (3, "wage_min"), (3, "city"),
    }  # fmt: skip
    messages = {e.field: e.message for e in result.errors}
    assert "8000" in messages["wage_max"] and "6000" in messages["wage_max"]
    assert "六千" in messages["wage_min"]
    assert "西安" in messages["city"]
    assert "幼儿园" in messages["education_min"]
    columns = {e.field: e.column for e in result.errors}
    assert columns["wage_min"] == "月薪下限"  # the header as written


def test_missing_required_column_is_one_error_row_zero(job_rows):
    for row in job_rows:
        del row["招聘人数"]
    result = validate_jobs(pd.DataFrame(job_rows))
    assert [(e.row, e.field, e.column) for e in result.errors] == [(0, "headcount", "招聘人数")]
    assert result.records == []


def test_required_cell_empty(job_rows):
    job_rows[1]["岗位名称"] = ""
    result = validate_jobs(pd.DataFrame(job_rows))
    assert _errors(result) == {(3, "title")}
    assert [r["row"] for r in result.records] == [2]


def test_two_columns_for_one_field(job_rows):
    for row in job_rows:
        row["职位"] = row["岗位名称"]
    result = validate_jobs(pd.DataFrame(job_rows))
    assert [(e.row, e.field) for e in result.errors] == [(0, "title")]


def test_unknown_columns_are_reported_as_ignored(job_rows):
    for row in job_rows:
        row["备注"] = "x"
    result = validate_jobs(pd.DataFrame(job_rows))
    assert result.ok and result.ignored_columns == ["备注"]


def test_district_must_belong_to_city(job_rows):
    for row in job_rows:
        row["工作区县"] = "江阴"
    result = validate_jobs(pd.DataFrame(job_rows))
    # row 2: city already says 昆山; row 3: 江阴 is in 无锡 — accepted
    assert _errors(result) == {(2, "district")}
    assert result.records[0]["district"] == "江阴市"


# --------------------------------------------------------------------------- validate_workers


def test_validate_workers_normalises(worker_rows, id_numbers):
    result = validate_workers(pd.DataFrame(worker_rows))
    assert result.ok, result.errors
    a, b = result.records
    assert a["county_code"] == "630224" and b["county_code"] == "610621"
    assert a["education"] == "初中" and b["education"] == "高中"
    assert a["certificates"] == ["health"] and a["certificates_unrecognised"] == ["挖掘机证"]
    assert a["preferred_cities"] == ["苏州市", "无锡市"] and b["preferred_cities"] == []
    assert a["desired_jobs"] == ["拉面", "厨师"]
    assert a["gender"] == "男" and b["gender"] == "女"  # from the ID number
    assert a["birth_date"] == dt.date(1985, 1, 10)
    assert a["needs_halal"] is True and b["poverty_registered"] is True
    assert b["min_wage"] == 0 and a["min_wage"] == 5000
    assert a["skills_text"] == "在拉面馆干过3年"


def test_worker_errors(worker_rows, id_numbers):
    bad_check = id_numbers[2][:17] + ("0" if id_numbers[2][17] != "0" else "1")
    worker_rows[0].update(
        {
            "身份证号": bad_check,
            "户籍县": "昆山市",
            "学历": "幼儿园",
            "期望月薪": "五千",
            "意向城市": "苏州、上海",
            "手机号": "12345",
        }
    )
    worker_rows[1].update({"建档立卡": "也许"})
    result = validate_workers(pd.DataFrame(worker_rows))
    assert _errors(result) == {
        (2, "id_number"), (2, "county_code"), (2, "education"), (2, "min_wage"),
        (2, "preferred_cities"), (2, "phone"), (3, "poverty_registered"),
    }  # fmt: skip
    msg = {e.field: e.message for e in result.errors}
    assert "校验位" in msg["id_number"]
    assert "上海" in msg["preferred_cities"] and "苏州" not in msg["preferred_cities"]
    assert "昆山市" in msg["county_code"]


def test_duplicate_id_numbers(worker_rows, id_numbers):
    worker_rows.append(dict(worker_rows[0], 姓名="马小军2"))
    worker_rows[2]["学历"] = "幼儿园"  # the duplicate row also has another error: both listed
    result = validate_workers(pd.DataFrame(worker_rows))
    assert _errors(result) == {(4, "id_number"), (4, "education")}
    dup = next(e for e in result.errors if e.field == "id_number")
    assert "第 2 行" in dup.message


def test_gender_and_birth_date_must_match_id(worker_rows):
    worker_rows[0]["性别"] = "女"
    worker_rows[0]["出生日期"] = "1990-01-01"
    worker_rows[1]["性别"] = "女"
    worker_rows[1]["出生日期"] = ""
    result = validate_workers(pd.DataFrame(worker_rows))
    assert _errors(result) == {(2, "gender"), (2, "birth_date")}
    assert result.records[0]["birth_date"] == dt.date(1986, 2, 11)


def test_missing_worker_columns(worker_rows):
    df = pd.DataFrame(worker_rows).drop(columns=["身份证号", "学历"])
    result = validate_workers(df)
    assert {(e.row, e.field) for e in result.errors} == {(0, "id_number"), (0, "education")}


def test_one_bad_row_among_ten_thousand_is_found_fast():
    day0 = dt.date(1980, 1, 1)
    ids = [
        make_id_number("630224", day0 + dt.timedelta(days=i // 500), i % 500, "男")
        for i in range(10_000)
    ]
    rows = {
        "姓名": ["王强"] * 10_000, "身份证号": ids, "户籍县": ["化隆县"] * 10_000,
        "学历": ["初中"] * 10_000, "证书": ["叉车证、健康证"] * 10_000,
        "意向城市": ["苏州、昆山"] * 10_000, "期望月薪": ["5000"] * 10_000,
        "需要宿舍": ["是"] * 10_000,
    }  # fmt: skip
    rows["身份证号"][7_321] = ids[7_321][:17] + ("1" if ids[7_321][17] != "1" else "2")
    data = _csv_bytes(
        [dict(zip(rows, vals, strict=True)) for vals in zip(*rows.values(), strict=True)], "gbk"
    )
    start = time.perf_counter()
    result = validate_workers(read_table(io.BytesIO(data), filename="w.csv"))
    elapsed = time.perf_counter() - start
    assert [(e.row, e.field) for e in result.errors] == [(7_323, "id_number")]
    assert len(result.records) == 9_999
    assert elapsed < 60, f"validating 10,000 rows took {elapsed:.1f}s"


# --------------------------------------------------------------------------- round trips


def _strip_rows(records):
    return [{k: v for k, v in r.items() if k != "row"} for r in records]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_jobs_round_trip(job_rows, fmt):
    job_rows[0]["所需证书"] = "挖掘机证、特种作业操作证（焊接与热切割作业）"
    first = validate_jobs(pd.DataFrame(job_rows))
    assert first.ok
    first.records[0]["posted_at"] = dt.date(2024, 5, 1)
    first.records[1]["posted_at"] = dt.date(2024, 5, 2)
    data = write_table(first.records, kind="jobs", fmt=fmt)
    df = read_table(io.BytesIO(data), filename=f"out.{fmt}")
    assert "岗位名称" in df.columns and "工作城市" in df.columns
    again = validate_jobs(df)
    assert again.ok, again.errors
    assert _strip_rows(again.records) == _strip_rows(first.records)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_workers_round_trip(worker_rows, fmt):
    first = validate_workers(pd.DataFrame(worker_rows))
    assert first.ok
    data = write_table(pd.DataFrame(first.records), kind="workers", fmt=fmt)
    df = read_table(io.BytesIO(data), filename=f"out.{fmt}")
    assert {"姓名", "身份证号", "证书"} <= set(df.columns)
    again = validate_workers(df)
    assert again.ok, again.errors
    assert _strip_rows(again.records) == _strip_rows(first.records)


def test_gbk_csv_written_by_excel_round_trip(worker_rows):
    # Excel on a Chinese Windows saves CSV in GBK: read it, export, read back.
    first = validate_workers(
        read_table(io.BytesIO(_csv_bytes(worker_rows, "gbk")), filename="w.csv")
    )
    again = validate_workers(
        read_table(
            io.BytesIO(write_table(first.records, kind="workers", fmt="csv")), filename="w.csv"
        )
    )
    assert _strip_rows(again.records) == _strip_rows(first.records)


def test_export_writes_the_id_number_as_given(worker_rows, id_numbers):
    records = validate_workers(pd.DataFrame(worker_rows)).records
    masked = [dict(r, id_number=mask_id_number(r["id_number"])) for r in records]
    text = write_table(masked, kind="workers", fmt="csv").decode("utf-8-sig")
    assert id_numbers[0] not in text and mask_id_number(id_numbers[0]) in text


def test_write_table_rejects_bad_options():
    with pytest.raises(ValueError, match="'jobs', 'workers'"):
        write_table([], kind="firms", fmt="csv")
    with pytest.raises(ValueError, match="'csv', 'xlsx'"):
        write_table([], kind="jobs", fmt="xls")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_formula_like_text_is_not_a_formula_on_export(job_rows, fmt):
    job_rows[0]["岗位名称"] = '=HYPERLINK("http://x","点我")'
    job_rows[1]["岗位名称"] = "-普工-"
    first = validate_jobs(pd.DataFrame(job_rows))
    data = write_table(first.records, kind="jobs", fmt=fmt)
    if fmt == "csv":
        assert "'=HYPERLINK" in data.decode("utf-8-sig")
    else:
        ws = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
        assert ws.cell(row=2, column=1).data_type == "s"
    again = validate_jobs(read_table(io.BytesIO(data), filename=f"j.{fmt}"))
    assert [r["title"] for r in again.records] == ['=HYPERLINK("http://x","点我")', "-普工-"]


@pytest.mark.parametrize(
    ("phone", "expected"), [("138 0000 1111", "13800001111"), ("+8613800001111", "13800001111")]
)
def test_phone_forms(worker_rows, phone, expected):
    worker_rows[0]["手机号"] = phone
    assert validate_workers(pd.DataFrame(worker_rows)).records[0]["phone"] == expected


def test_id_numbers_mangled_by_excel_say_so(worker_rows, id_numbers):
    """An ID column in Excel's number format loses digits; the clerk is told why, not only
    that the check digit is wrong."""
    worker_rows[0]["身份证号"] = int(id_numbers[0][:15] + "000")  # what a number cell keeps
    worker_rows[1]["身份证号"] = "6.10621E+17"  # what a CSV saved from it holds
    result = validate_workers(read_table(io.BytesIO(_xlsx_bytes(worker_rows)), filename="w.xlsx"))
    assert _errors(result) == {(2, "id_number"), (3, "id_number")}
    first, second = sorted(result.errors, key=lambda e: e.row)
    assert "校验位错误" in first.message and "文本格式" in first.message
    assert "科学计数法" in second.message and "文本格式" in second.message


# --------------------------------------------------------------------------- Chinese messages
#: Latin words a message may hold: the spellings a cell may be written in, not English prose.
_ALLOWED_LATIN = {"true", "false", "Y", "N", "X"}
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def _latin_words(message: str) -> set[str]:
    # Values echoed back (between quotes) are the user's own text; an English header named as
    # one the file may use instead is a spelling too.
    unquoted = re.sub(r"'[^']*'|英文表头 [a-z_]+", "", message)
    return set(_LATIN_WORD.findall(unquoted)) - _ALLOWED_LATIN


def test_every_import_message_is_chinese(job_rows, worker_rows, id_numbers):
    """Some messages of the import came back half English ("(not a city in Jiangsu)",
    "(required)", "(duplicate ID number)") inside a Chinese problem."""
    job_rows[0].update(
        {
            "工作城市": "南京路",
            "月薪下限": "六千",
            "包住": "也许",
            "招聘人数": "",
            "最低学历": "幼儿园",
        }
    )
    job_rows[0]["发布日期"] = ""
    job_rows[1].update({"工作城市": "西安", "发布日期": "昨天"})
    jobs = validate_jobs(pd.DataFrame(job_rows))
    worker_rows[0].update({"意向城市": "苏州、南京路", "学历": "幼儿园"})
    worker_rows[1].update({"身份证号": id_numbers[0]})
    workers = validate_workers(pd.DataFrame(worker_rows))
    missing = validate_jobs(
        pd.DataFrame([{k: v for k, v in job_rows[0].items() if k != "岗位名称"}])
    )
    errors = [*jobs.errors, *workers.errors, *missing.errors]
    fields = {(e.row, e.field) for e in errors}
    assert {(2, "city"), (2, "wage_min"), (2, "dormitory"), (2, "headcount")} <= fields
    assert {(3, "city"), (3, "posted_at"), (2, "preferred_cities"), (3, "id_number")} <= fields
    assert (0, "title") in fields
    for e in errors:
        assert re.search(r"[\u4e00-\u9fff]", e.message), e
        assert not _latin_words(e.message), e
    messages = {(e.row, e.field): e.message for e in jobs.errors}
    # A street is not a city, and the near known names are offered as the API offers them.
    assert messages[(2, "city")] == (
        "工作城市 '南京路' 不是江苏省已知的地级市或县区；相近的有：南京市"
        + messages[(2, "city")].split("相近的有：南京市", 1)[1]
    )
    assert messages[(3, "city")].startswith("工作城市 '西安' 不是江苏省已知的地级市或县区")
    assert "意向城市 '南京路' 不是江苏省已知的地级市或县区；相近的有：南京市" in {
        e.message for e in workers.errors
    }
