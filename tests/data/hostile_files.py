"""A corpus of hostile spreadsheets and CSVs, made by code (nothing binary is committed).

Each entry of :func:`corpus` is ``(name, filename, bytes, expected status)``: what an attacker
with an ordinary key could upload, or what a broken tool could write. The fuzz tests
(``tests/data/test_reader_fuzz.py``), the API tests and ``benchmarks/bench_hostile_files.py``
all read from here. :func:`xlsx` builds a minimal valid workbook from its parts, so a test can
break exactly one of them.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.styles+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}">'
    f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{REL}">'
    '<sheets><sheet name="劳动力" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}">'
    f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{REL}/styles" Target="styles.xml"/>'
    f'<Relationship Id="rId3" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)
#: Style 0 is General, style 1 a date (built-in format 14), style 2 format 31 of zh-CN Excel.
STYLES = (
    f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{MAIN}">'
    '<cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="31"/></cellXfs>'
    "</styleSheet>"
)

WORKER_HEADER = ["姓名", "身份证号", "县区代码", "学历"]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shared_strings(strings: list[str]) -> str:
    items = "".join(f"<si><t>{_escape(s)}</t></si>" for s in strings)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}" count="{len(strings)}" '
        f'uniqueCount="{len(strings)}">{items}</sst>'
    )


def inline_row(number: int, values: list[object], *, start_column: int = 1) -> str:
    cells = []
    for i, value in enumerate(values):
        ref = f"{column_letters(start_column + i)}{number}"
        if isinstance(value, int | float) and not isinstance(value, bool):
            cells.append(f'<c r="{ref}"><v>{value}</v></c>')
        else:
            cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{_escape(str(value))}</t></is></c>')
    return f'<row r="{number}">{"".join(cells)}</row>'


def sheet(rows: str, *, dimension: str = "A1", before: str = "", after: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}" xmlns:r="{REL}">'
        f'{before}<dimension ref="{dimension}"/><sheetData>{rows}</sheetData>{after}</worksheet>'
    )


def column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def xlsx(
    sheet_xml: str | bytes,
    *,
    parts: Mapping[str, str | bytes | None] | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """A workbook of the standard parts with ``sheet_xml`` as its only sheet; ``parts``
    replaces (or, with ``None``, removes) any part by its name."""
    contents: dict[str, str | bytes | None] = {
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": ROOT_RELS,
        "xl/workbook.xml": WORKBOOK,
        "xl/_rels/workbook.xml.rels": WORKBOOK_RELS,
        "xl/styles.xml": STYLES,
        "xl/sharedStrings.xml": shared_strings([]),
        "xl/worksheets/sheet1.xml": sheet_xml,
    }
    contents.update(parts or {})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression, compresslevel=9) as zf:
        for name, content in contents.items():
            if content is not None:
                zf.writestr(name, content.encode() if isinstance(content, str) else content)
    return out.getvalue()


def valid_worker_xlsx(n: int = 3) -> bytes:
    """A small valid worker sheet (inline strings, a shared string, a date style)."""
    import datetime as dt

    from data.idcard import make_id_number

    rows = [inline_row(1, WORKER_HEADER + ["出生日期"])]
    for i in range(n):
        birth = dt.date(1991, 6, 1) + dt.timedelta(days=400 * i)
        number = make_id_number("630224", birth, i + 1, "男" if i % 2 else "女")
        serial = (birth - dt.date(1899, 12, 30)).days
        rows.append(
            f'<row r="{i + 2}"><c r="A{i + 2}" t="s"><v>0</v></c>'
            f'<c r="B{i + 2}" t="inlineStr"><is><t>{number}</t></is></c>'
            f'<c r="C{i + 2}"><v>630224</v></c>'
            f'<c r="D{i + 2}" t="inlineStr"><is><t>初中毕业</t></is></c>'
            f'<c r="E{i + 2}" s="1"><v>{serial}</v></c></row>'
        )
    return xlsx(sheet("".join(rows)), parts={"xl/sharedStrings.xml": shared_strings(["测试"])})


def valid_worker_csv(n: int = 3) -> bytes:
    import datetime as dt

    from data.idcard import make_id_number

    lines = [",".join(WORKER_HEADER)]
    for i in range(n):
        birth = dt.date(1991, 6, 1) + dt.timedelta(days=400 * i)
        number = make_id_number("630224", birth, i + 1, "男" if i % 2 else "女")
        lines.append(f"测试{i},{number},630224,初中毕业")
    return ("\n".join(lines) + "\n").encode("utf-8")


# --------------------------------------------------------------------------- hostile files


def dimension_bomb() -> bytes:
    """The file of issue 12: about 5 KB, declares A1:XFD1048576, one cell at A1048576."""
    padding = "<!-- " + "x" * 4000 + " -->"  # kept to the size the attacker used
    return xlsx(
        sheet(
            '<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>',
            dimension="A1:XFD1048576",
            before=padding,
        ),
        compression=zipfile.ZIP_STORED,
    )


def dimension_bomb_with_header() -> bytes:
    """The same declaration, with a real header in row 1 and the stray cell far below."""
    return xlsx(
        sheet(
            inline_row(1, WORKER_HEADER)
            + '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>',
            dimension="A1:XFD1048576",
        )
    )


def truncated_sheet() -> bytes:
    whole = sheet(inline_row(1, WORKER_HEADER) + inline_row(2, ["张三", "1", "630224", "初中"]))
    return xlsx(whole[: len(whole) * 2 // 3])


def broken_styles() -> bytes:
    return xlsx(
        sheet(inline_row(1, WORKER_HEADER) + '<row r="2"><c r="A2" s="1"><v>1</v></c></row>'),
        parts={"xl/styles.xml": STYLES[: len(STYLES) // 2]},
    )


def style_out_of_range() -> bytes:
    return xlsx(
        sheet(inline_row(1, WORKER_HEADER) + '<row r="2"><c r="A2" s="999"><v>1</v></c></row>')
    )


def billion_laughs() -> bytes:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{"&lol%s;" % ("" if i == 1 else i - 1) * 10}">' for i in range(1, 10)
    )
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE worksheet [{entities}]>'
        f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr">'
        "<is><t>&lol9;</t></is></c></row></sheetData></worksheet>"
    )
    return xlsx(xml)


def external_entity() -> bytes:
    xml = (
        '<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr">'
        "<is><t>&xxe;</t></is></c></row></sheetData></worksheet>"
    )
    return xlsx(xml)


def zip_bomb(megabytes: int = 64) -> bytes:
    """Whitespace between rows: tiny compressed, ``megabytes`` MB unpacked (ratio ~1,000)."""
    filler = " " * (megabytes * 1024 * 1024)
    return xlsx(sheet(inline_row(1, WORKER_HEADER) + filler))


def declared_size_bomb() -> bytes:
    """An entry whose header claims 10 GB unpacked."""
    data = bytearray(xlsx(sheet(inline_row(1, WORKER_HEADER))))
    # Patch the central-directory record of the sheet: uncompressed size at offset 24.
    at = data.rfind(b"xl/worksheets/sheet1.xml") - 46
    assert data[at : at + 4] == b"PK\x01\x02"
    data[at + 24 : at + 28] = (0xFFFFFFF0).to_bytes(4, "little")
    return bytes(data)


def huge_shared_string(chars: int = 100_000) -> bytes:
    return xlsx(
        sheet(inline_row(1, WORKER_HEADER) + '<row r="2"><c r="A2" t="s"><v>0</v></c></row>'),
        parts={"xl/sharedStrings.xml": shared_strings(["长" * chars])},
    )


def many_shared_strings(count: int = 300_000) -> bytes:
    return xlsx(
        sheet(inline_row(1, WORKER_HEADER)),
        parts={"xl/sharedStrings.xml": shared_strings([f"s{i}" for i in range(count)])},
    )


def shared_string_out_of_range() -> bytes:
    return xlsx(
        sheet(inline_row(1, WORKER_HEADER) + '<row r="2"><c r="A2" t="s"><v>7</v></c></row>')
    )


def all_columns() -> bytes:
    """Row 1 holds a value in every one of Excel's 16,384 columns."""
    return xlsx(sheet(inline_row(1, [f"列{i}" for i in range(16_384)]), dimension="A1:XFD1"))


def far_column() -> bytes:
    return xlsx(sheet(inline_row(1, WORKER_HEADER) + inline_row(2, ["x"], start_column=16_384)))


def blank_rows(count: int = 50_000) -> bytes:
    rows = "".join(f'<row r="{i}"/>' for i in range(2, count + 2))
    return xlsx(sheet(inline_row(1, WORKER_HEADER) + rows))


def rows_out_of_order() -> bytes:
    return xlsx(sheet(inline_row(5, WORKER_HEADER) + inline_row(2, ["a"])))


def bad_cell_reference() -> bytes:
    return xlsx(sheet('<row r="1"><c r="1A" t="inlineStr"><is><t>x</t></is></c></row>'))


def nul_in_xlsx() -> bytes:
    return xlsx(sheet(inline_row(1, WORKER_HEADER) + inline_row(2, ["张_x0000_三"])))


def deep_nesting(depth: int = 100_000) -> bytes:
    return xlsx(sheet(inline_row(1, WORKER_HEADER), after="<x>" * depth + "</x>" * depth))


def many_entries(count: int = 5_000) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx(sheet(inline_row(1, WORKER_HEADER))))) as src:
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
            for info in src.infolist():
                zf.writestr(info.filename, src.read(info))
            for i in range(count):
                zf.writestr(f"xl/media/x{i}", b"")
    return out.getvalue()


def no_worksheet() -> bytes:
    return xlsx(sheet(""), parts={"xl/workbook.xml": WORKBOOK.replace("<sheet ", "<other ")})


def missing_sheet_part() -> bytes:
    return xlsx(sheet(""), parts={"xl/worksheets/sheet1.xml": None})


def truncated_zip() -> bytes:
    whole = valid_worker_xlsx()
    return whole[: len(whole) // 2]


def corrupt_deflate() -> bytes:
    data = bytearray(xlsx(sheet(inline_row(1, WORKER_HEADER) * 1 + " " * 5000)))
    at = data.find(b"xl/worksheets/sheet1.xml") + 40
    for i in range(at, at + 30):
        data[i] ^= 0x5A
    return bytes(data)


def ole2_as_xlsx() -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4000


def csv_nul() -> bytes:
    return "姓名,身份证号\n张\x00三,1\n".encode()


def csv_mixed_encodings() -> bytes:
    return (
        "姓名,县区代码,学历,身份证号\n张三一二三四五,630224,初中,1\n".encode()
        + "李四,630224,高中,2\n".encode("gbk")
    )


def csv_utf16() -> bytes:
    return "姓名\t学历\n张三\t初中\n".encode("utf-16")


def csv_long_line(chars: int = 2_000_000) -> bytes:
    return b"a,b\n" + b"x" * chars + b"\n"


def csv_unclosed_quote(lines: int = 200_000) -> bytes:
    return b'a,b\n"' + b"x,y\n" * lines


def csv_many_columns() -> bytes:
    return (",".join(f"c{i}" for i in range(20_000)) + "\n").encode()


def csv_many_rows(rows: int = 100_001) -> bytes:
    return b"a\n" + b"1\n" * rows


def csv_huge_field() -> bytes:
    return b'a,b\n"' + b"x" * 200_000 + b'",1\n'


def csv_bad_gb18030() -> bytes:
    return "姓名,学历\n".encode("gbk") + b"\x81\x30\xff\xff,\x80\n"


def corpus() -> list[tuple[str, str, bytes, int | None]]:
    """``(name, filename, content, status)`` of every hostile file: the reader's status (413
    or 422), or ``None`` for a file it reads (bounded) and validation then judges."""
    return [
        ("dimension_bomb", "bomb.xlsx", dimension_bomb(), 422),
        ("dimension_bomb_with_header", "bomb2.xlsx", dimension_bomb_with_header(), 413),
        ("truncated_sheet_xml", "t.xlsx", truncated_sheet(), 422),
        ("broken_styles", "s.xlsx", broken_styles(), 422),
        ("style_out_of_range", "s2.xlsx", style_out_of_range(), 422),
        ("billion_laughs", "lol.xlsx", billion_laughs(), 422),
        ("external_entity", "xxe.xlsx", external_entity(), 422),
        ("zip_bomb", "zb.xlsx", zip_bomb(), 413),
        ("declared_size_bomb", "zb2.xlsx", declared_size_bomb(), 413),
        ("huge_shared_string", "ss.xlsx", huge_shared_string(), 413),
        ("shared_string_out_of_range", "ss2.xlsx", shared_string_out_of_range(), 422),
        ("all_16384_columns", "cols.xlsx", all_columns(), 413),
        ("cell_at_column_xfd", "xfd.xlsx", far_column(), 413),
        ("rows_out_of_order", "order.xlsx", rows_out_of_order(), 422),
        ("bad_cell_reference", "ref.xlsx", bad_cell_reference(), 422),
        ("nul_in_xlsx", "nul.xlsx", nul_in_xlsx(), 422),
        ("deep_nesting", "deep.xlsx", deep_nesting(), None),
        ("blank_rows_50000", "blank.xlsx", blank_rows(), None),
        ("many_zip_entries", "many.xlsx", many_entries(), 413),
        ("no_worksheet", "nows.xlsx", no_worksheet(), 422),
        ("missing_sheet_part", "nopart.xlsx", missing_sheet_part(), 422),
        ("truncated_zip", "half.xlsx", truncated_zip(), 422),
        ("corrupt_deflate", "deflate.xlsx", corrupt_deflate(), 422),
        ("not_a_zip", "fake.xlsx", b"this is not a workbook\n" * 10, 422),
        ("ole2_xls_renamed", "old.xlsx", ole2_as_xlsx(), 422),
        ("csv_nul_bytes", "nul.csv", csv_nul(), 422),
        ("csv_mixed_encodings", "mixed.csv", csv_mixed_encodings(), 422),
        ("csv_utf16", "u16.csv", csv_utf16(), 422),
        ("csv_bad_gb18030", "gb.csv", csv_bad_gb18030(), 422),
        ("csv_2m_char_line", "line.csv", csv_long_line(), 413),
        ("csv_unclosed_quote", "quote.csv", csv_unclosed_quote(), 413),
        ("csv_20000_columns", "cols.csv", csv_many_columns(), 413),
        ("csv_100001_rows", "rows.csv", csv_many_rows(), 413),
        ("csv_200k_char_field", "field.csv", csv_huge_field(), 413),
    ]


__all__ = ["corpus", "valid_worker_csv", "valid_worker_xlsx", "xlsx"]
