"""The bounded file reader: every limit, the hostile corpus, and a fuzzing harness.

The Hypothesis runs are derandomized (the same examples in CI every time) and sized to a few
seconds each; each example's allocations are traced and bounded, and the process's peak RSS
is recorded (``-s`` prints it).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import resource
import time
import tracemalloc

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data.reader import ReadLimits, TableError, cell_text, read_rows
from data.tabular import read_table, validate_workers
from tests.data import hostile_files as hf
from tests.data.fuzz import mutated_csvs, mutated_workbooks

CJK = re.compile(r"[\u4e00-\u9fff]")
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: Bound on what one small file may allocate while it is read (the figure of issue 12: 50 MB).
PEAK_BYTES = 50 * 1024 * 1024


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _read(data: bytes, filename: str, limits: ReadLimits | None = None):
    """Read under tracemalloc; return (rows or the TableError, peak bytes, seconds)."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        outcome: object = read_table(io.BytesIO(data), filename=filename, limits=limits)
    except TableError as exc:
        outcome = exc
    finally:
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return outcome, peak, seconds


def _assert_reader_error(exc: TableError) -> None:
    assert exc.status in (413, 422)
    assert CJK.search(str(exc)), str(exc)
    assert "Traceback" not in str(exc)


# --------------------------------------------------------------------------- the bomb


def test_dimension_bomb_is_refused_in_a_second_with_little_memory():
    data = hf.dimension_bomb()
    assert 4_000 < len(data) < 10_000  # the size of the file in the issue
    outcome, peak, seconds = _read(data, "bomb.xlsx")
    assert isinstance(outcome, TableError)
    assert outcome.status == 422 and "第1行没有表头" in str(outcome)
    # The old reader was still running after 20 s; the 1 s figure is measured by
    # benchmarks/bench_hostile_files.py, this bound only catches a reader that runs away.
    assert seconds < 10.0
    assert peak < PEAK_BYTES


def test_dimension_bomb_with_a_header_names_the_column_limit():
    outcome, peak, seconds = _read(hf.dimension_bomb_with_header(), "bomb.xlsx")
    assert isinstance(outcome, TableError) and outcome.status == 413
    assert "超过 256 列的上限" in str(outcome)
    assert seconds < 10.0 and peak < PEAK_BYTES


def test_declared_dimension_is_ignored_for_a_valid_sheet():
    rows = hf.inline_row(1, ["姓名", "学历"]) + hf.inline_row(3, ["张三", "初中"])
    data = hf.xlsx(hf.sheet(rows, dimension="A1:XFD1048576"))
    assert read_rows(data, filename="w.xlsx") == [(1, ["姓名", "学历"]), (3, ["张三", "初中"])]


# --------------------------------------------------------------------------- the corpus


@pytest.mark.parametrize(
    ("name", "filename", "data", "status"), hf.corpus(), ids=[c[0] for c in hf.corpus()]
)
def test_hostile_corpus(name, filename, data, status):
    outcome, peak, seconds = _read(data, filename)
    if status is None:
        assert not isinstance(outcome, TableError), outcome
    else:
        assert isinstance(outcome, TableError), f"{name} was read: {outcome!r}"
        _assert_reader_error(outcome)
        assert outcome.status == status, str(outcome)
    assert peak < PEAK_BYTES, f"{name}: {peak / 1e6:.1f} MB"
    assert seconds < 60, f"{name}: {seconds:.1f} s"  # runaway guard; figures in the benchmark


# --------------------------------------------------------------------------- each limit


def _sheet_of(rows: list[list[object]]) -> bytes:
    return hf.xlsx(hf.sheet("".join(hf.inline_row(i + 1, r) for i, r in enumerate(rows))))


def _csv_of(rows: list[list[object]]) -> bytes:
    return "".join(",".join(map(str, r)) + "\n" for r in rows).encode()


@pytest.mark.parametrize("make,filename", [(_sheet_of, "t.xlsx"), (_csv_of, "t.csv")])
def test_row_limit_counts_data_rows(make, filename):
    rows = [["a", "b"]] + [[i, i] for i in range(10)]
    assert len(read_rows(make(rows), filename=filename, limits=ReadLimits(max_rows=10))) == 11
    with pytest.raises(TableError, match="超过 9 行的上限") as caught:
        read_rows(make(rows), filename=filename, limits=ReadLimits(max_rows=9))
    assert caught.value.status == 413


@pytest.mark.parametrize("make,filename", [(_sheet_of, "t.xlsx"), (_csv_of, "t.csv")])
def test_column_limit_is_the_rightmost_value(make, filename):
    rows = [["a", "b", "c"], [1, 2, 3]]
    assert read_rows(make(rows), filename=filename, limits=ReadLimits(max_columns=3))
    with pytest.raises(TableError, match="超过 2 列的上限") as caught:
        read_rows(make(rows), filename=filename, limits=ReadLimits(max_columns=2))
    assert caught.value.status == 413
    # empty trailing cells are not columns
    trailing = [["a", "b", "", ""], [1, 2, "", ""]]
    assert read_rows(make(trailing), filename=filename, limits=ReadLimits(max_columns=2))


@pytest.mark.parametrize("make,filename", [(_sheet_of, "t.xlsx"), (_csv_of, "t.csv")])
def test_cell_limit_is_rows_times_columns(make, filename):
    rows = [["a", "b", "c", "d"]] + [[1, 2, 3, 4]] * 4  # 5 × 4 = 20
    assert read_rows(make(rows), filename=filename, limits=ReadLimits(max_cells=20))
    with pytest.raises(TableError, match="19 个单元格") as caught:
        read_rows(make(rows), filename=filename, limits=ReadLimits(max_cells=19))
    assert caught.value.status == 413


@pytest.mark.parametrize("make,filename", [(_sheet_of, "t.xlsx"), (_csv_of, "t.csv")])
def test_cell_length_limit(make, filename):
    rows = [["a"], ["长" * 50]]
    assert read_rows(make(rows), filename=filename, limits=ReadLimits(max_cell_chars=50))
    with pytest.raises(TableError, match="超过 49 个字符") as caught:
        read_rows(make(rows), filename=filename, limits=ReadLimits(max_cell_chars=49))
    assert caught.value.status == 413


def test_shared_string_limits():
    data = hf.xlsx(
        hf.sheet('<row r="1"><c r="A1" t="s"><v>2</v></c></row>'),
        parts={"xl/sharedStrings.xml": hf.shared_strings(["a", "b", "学历"])},
    )
    assert read_rows(data, filename="s.xlsx") == [(1, ["学历"])]
    with pytest.raises(TableError, match="超过 2 条") as caught:
        read_rows(data, filename="s.xlsx", limits=ReadLimits(max_shared_strings=2))
    assert caught.value.status == 413
    with pytest.raises(TableError, match="共享字符串表.*解压后超过") as caught:
        read_rows(data, filename="s.xlsx", limits=ReadLimits(max_shared_strings_bytes=100))
    assert caught.value.status == 413


def test_many_shared_strings_stay_bounded():
    outcome, peak, seconds = _read(
        hf.many_shared_strings(200_000), "ss.xlsx", ReadLimits(max_shared_strings=100_000)
    )
    assert isinstance(outcome, TableError) and "100,000 条" in str(outcome)
    assert peak < PEAK_BYTES


def test_sheet_and_total_size_limits():
    data = _sheet_of([["a"], ["b" * 2000]])
    with pytest.raises(TableError, match="工作表.*解压后超过") as caught:
        read_rows(data, filename="t.xlsx", limits=ReadLimits(max_sheet_bytes=1000))
    assert caught.value.status == 413
    with pytest.raises(TableError, match="解压后超过.*压缩炸弹") as caught:
        read_rows(data, filename="t.xlsx", limits=ReadLimits(max_unpacked_bytes=2000))
    assert caught.value.status == 413


def test_compression_ratio_is_checked_while_reading():
    outcome, peak, _ = _read(hf.zip_bomb(8), "zb.xlsx")
    assert isinstance(outcome, TableError) and "压缩比超过 100:1" in str(outcome)
    assert outcome.status == 413 and peak < PEAK_BYTES
    # a normal sheet compresses 5-40 times and is read
    assert read_rows(_sheet_of([["a"]] + [["张三", 5000]] * 20_000), filename="t.xlsx")


def test_zip_entry_limit_before_the_directory_is_parsed():
    with pytest.raises(TableError, match="5,007 个压缩条目") as caught:
        read_rows(hf.many_entries(5_000), filename="m.xlsx")
    assert caught.value.status == 413
    assert read_rows(hf.many_entries(100), filename="m.xlsx")


def test_csv_record_limit_covers_lines_inside_quotes():
    with pytest.raises(TableError, match="超过 1,000 个字符") as caught:
        read_rows(b'a\n"' + b"x\n" * 1000 + b'"\n', filename="q.csv", limits=_line(1000))
    assert caught.value.status == 413
    assert read_rows(b'a\n"' + b"x\n" * 100 + b'"\n', filename="q.csv", limits=_line(1000))


def _line(chars: int) -> ReadLimits:
    return ReadLimits(max_line_chars=chars)


# --------------------------------------------------------------------------- what real files hold


def test_chinese_date_formats_and_1904_dates():
    styles = hf.STYLES
    rows = (
        hf.inline_row(1, ["出生日期", "登记日期"])
        + '<row r="2"><c r="A2" s="2"><v>32874</v></c><c r="B2" s="1"><v>45352</v></c></row>'
    )
    assert read_rows(hf.xlsx(hf.sheet(rows), parts={"xl/styles.xml": styles}), filename="d.xlsx")[
        1
    ] == (2, ["1990-01-01", "2024-03-01"])
    workbook_1904 = hf.WORKBOOK.replace("<sheets>", '<workbookPr date1904="1"/><sheets>')
    got = read_rows(
        hf.xlsx(hf.sheet(rows), parts={"xl/workbook.xml": workbook_1904}), filename="d.xlsx"
    )
    assert got[1] == (2, ["1994-01-02", "2028-03-02"])


def test_custom_date_format_and_rich_text_and_escapes():
    styles = (
        f'<styleSheet xmlns="{hf.MAIN}"><numFmts count="1">'
        '<numFmt numFmtId="180" formatCode="yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;"/>'
        '</numFmts><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="180"/></cellXfs>'
        "</styleSheet>"
    )
    shared = (
        f'<sst xmlns="{hf.MAIN}"><si><r><t>张</t></r><r><rPr><b/></rPr><t>三</t></r>'
        "<rPh><t>ちょう</t></rPh></si><si><t>a_x000D_b_x005F_x</t></si></sst>"
    )
    rows = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
        '<c r="C1" s="1"><v>32874.5</v></c><c r="D1" t="b"><v>1</v></c>'
        '<c r="E1" t="str"><f>1+1</f><v>2</v></c><c r="F1" t="e"><v>#N/A</v></c>'
        '<c r="G1" t="d"><v>2024-03-01T00:00:00</v></c><c r="H1"><v>5000.0</v></c></row>'
    )
    got = read_rows(
        hf.xlsx(hf.sheet(rows), parts={"xl/styles.xml": styles, "xl/sharedStrings.xml": shared}),
        filename="r.xlsx",
    )
    assert got == [
        (
            1,
            [
                "张三",
                "a\rb_x",
                "1990-01-01T12:00:00",
                "是",
                "2",
                "#N/A",
                "2024-03-01",
                "5000",
            ],
        )
    ]


def test_prefixed_namespace_and_cells_without_references():
    # The .NET Open XML SDK writes x:-prefixed elements; some writers leave out r=.
    xml = (
        f'<x:worksheet xmlns:x="{hf.MAIN}"><x:sheetData>'
        '<x:row><x:c t="inlineStr"><x:is><x:t>姓名</x:t></x:is></x:c><x:c><x:v>1</x:v></x:c>'
        "</x:row><x:row><x:c/><x:c><x:v>2</x:v></x:c></x:row></x:sheetData></x:worksheet>"
    )
    assert read_rows(hf.xlsx(xml), filename="n.xlsx") == [(1, ["姓名", "1"]), (2, ["", "2"])]


def test_first_worksheet_is_read_whatever_its_path():
    workbook = hf.WORKBOOK.replace(
        "<sheets>", '<sheets><sheet name="图表" sheetId="9" r:id="rId9"/>'
    )
    rels = hf.WORKBOOK_RELS.replace("worksheets/sheet1.xml", "/xl/data/first.xml").replace(
        "</Relationships>",
        f'<Relationship Id="rId9" Type="{hf.REL}/chartsheet" Target="chartsheets/c.xml"/>'
        "</Relationships>",
    )
    data = hf.xlsx(
        "",
        parts={
            "xl/worksheets/sheet1.xml": None,
            "xl/data/first.xml": hf.sheet(hf.inline_row(1, ["姓名"])),
            "xl/workbook.xml": workbook,
            "xl/_rels/workbook.xml.rels": rels,
        },
    )
    assert read_rows(data, filename="p.xlsx") == [(1, ["姓名"])]


def test_valid_corpus_seeds_validate():
    for data, name in ((hf.valid_worker_xlsx(), "w.xlsx"), (hf.valid_worker_csv(), "w.csv")):
        result = validate_workers(read_table(io.BytesIO(data), filename=name))
        assert result.ok and len(result.records) == 3, result.errors


# --------------------------------------------------------------------------- fuzzing

_TEXT = st.text(
    alphabet=st.characters(
        codec="utf-8", exclude_categories=("Cc", "Cs", "Co", "Cn"), exclude_characters="="
    ),
    max_size=12,
)
_VALUE = st.one_of(
    st.none(),
    _TEXT,
    st.integers(-(10**12), 10**12),
    st.floats(-1e9, 1e9, allow_nan=False).map(lambda f: round(f, 6)),
    st.booleans(),
    st.dates(dt.date(1901, 1, 1), dt.date(2100, 1, 1)),
    st.datetimes(dt.datetime(1901, 1, 1), dt.datetime(2100, 1, 1)).map(
        lambda d: d.replace(microsecond=0)
    ),
)


def _expected(rows: list[list[object]]) -> list[tuple[int, list[str]]]:
    out = []
    for number, row in enumerate(rows, start=1):
        cells = [cell_text(v) for v in row]
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            out.append((number, cells))
    return out


@settings(FUZZ, max_examples=40)
@given(st.lists(st.lists(_VALUE, max_size=6), min_size=1, max_size=6))
def test_reads_what_openpyxl_writes_as_openpyxl_reads_it(rows):
    wb = openpyxl.Workbook()  # not write-only: shared strings and date styles
    ws = wb.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    reference = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    expected = _expected([list(r) for r in reference.worksheets[0].iter_rows(values_only=True)])
    reference.close()
    assert read_rows(data, filename="o.xlsx") == expected


def _fuzz_one(data: bytes, filename: str) -> None:
    outcome, peak, seconds = _read(data, filename)
    if isinstance(outcome, TableError):
        _assert_reader_error(outcome)
    assert peak < PEAK_BYTES
    assert seconds < 30  # runaway guard, loose enough for a loaded CI machine


@FUZZ
@given(mutated_workbooks())
def test_mutated_workbooks_fail_only_with_the_readers_error(data):
    _fuzz_one(data, "fuzz.xlsx")


@FUZZ
@given(mutated_csvs())
def test_mutated_csvs_fail_only_with_the_readers_error(data):
    _fuzz_one(data, "fuzz.csv")


@FUZZ
@given(st.binary(max_size=4096), st.sampled_from(["x.csv", "x.xlsx"]))
def test_random_bytes_fail_only_with_the_readers_error(data, filename):
    _fuzz_one(b"PK\x03\x04" + data if filename.endswith("xlsx") else data, filename)
