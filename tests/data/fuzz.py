"""Hypothesis strategies that mutate valid spreadsheets and CSVs into hostile ones.

Used by the reader's fuzz tests (``tests/data/test_reader.py``) and the same run through the
API (``tests/api/test_hostile_uploads.py``). A workbook is mutated part by part inside the zip
(so the damage reaches the XML, not only the zip's checksums), and sometimes the zip too.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import openpyxl
from hypothesis import strategies as st

from tests.data import hostile_files as hf


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def _rezip(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in parts.items():
            zf.writestr(name, content)
    return out.getvalue()


def _openpyxl_seed() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["姓名", "身份证号", "县区代码", "学历", "出生日期"])
    ws.append(["张三", "630224198501010021", 630224, "初中", dt.date(1985, 1, 1)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


SEEDS = {"own": hf.valid_worker_xlsx(), "openpyxl": _openpyxl_seed()}
#: Fragments that reach the reader's corners when spliced into XML.
TOKENS = [
    b"<!DOCTYPE x [<!ENTITY a 'b'>]>",
    b"&a;",
    b'<row r="1048576">',
    b'<row r="0">',
    b'r="XFD1"',
    b'r="ZZZZ9"',
    b't="s"',
    b't="d"',
    b't="zz"',
    b's="99"',
    b"<v>1e400</v>",
    b"<v>-1</v>",
    b"<v>x</v>",
    b"_x0000_",
    b"<c>",
    b"</row>",
    b"<si>",
    b'numFmtId="14"',
    b'numFmtId="x"',
    b'formatCode="' + b'"' * 300 + b'"',
    b"\x00",
    b"\xff\xfe",
]


@st.composite
def mutated_workbooks(draw):
    parts = _parts(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(1, 3))):
        # the sheet most often: that is where the reader does most
        sheet = next(n for n in parts if n.startswith("xl/worksheets/"))
        name = draw(st.one_of(st.just(sheet), st.sampled_from(sorted(parts))))
        content = parts[name]
        at = draw(st.integers(0, len(content)))
        kind = draw(st.sampled_from(["cut", "insert", "token", "delete", "repeat"]))
        if kind == "cut":
            content = content[:at]
        elif kind == "insert":
            content = content[:at] + draw(st.binary(max_size=20)) + content[at:]
        elif kind == "token":
            content = content[:at] + draw(st.sampled_from(TOKENS)) + content[at:]
        elif kind == "delete":
            content = content[:at] + content[at + draw(st.integers(1, 40)) :]
        else:  # a slice repeated: rows, cells, strings many times over
            end = min(len(content), at + draw(st.integers(1, 200)))
            content = content[:at] + content[at:end] * draw(st.integers(2, 2000)) + content[end:]
        parts[name] = content
    data = _rezip(parts)
    if draw(st.booleans()):  # and sometimes the zip itself
        at = draw(st.integers(0, max(0, len(data) - 1)))
        data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    return data


_CSV_SEED = hf.valid_worker_csv()


@st.composite
def mutated_csvs(draw):
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"]))
    data = _CSV_SEED.decode().encode(encoding)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        piece = draw(
            st.one_of(
                st.binary(max_size=16),
                st.sampled_from([b'"', b"\x00", b"\r", b"\n" * 3, b",,,,", "李".encode("gbk")]),
                st.text(max_size=8).map(str.encode),
            )
        )
        data = data[:at] + piece * draw(st.integers(1, 500)) + data[at:]
    return data


__all__ = ["SEEDS", "TOKENS", "mutated_csvs", "mutated_workbooks"]
