"""Bounded reading of uploaded spreadsheets: CSV and XLSX bytes → numbered rows of text.

Every file a user uploads (``POST /workers/import``, ``jobbridge import``) is read here, and
nothing in a file decides how much memory or time reading it takes: each limit of
:class:`ReadLimits` is checked *while* the bytes stream through, so a file past one stops at
that point with a :class:`TableError` whose ``status`` is 413 and whose sentence names the
limit; a file that is not what it claims (truncated, corrupt, a DTD, a bad encoding) is a
``TableError`` with status 422 naming its fault. No other exception leaves :func:`read_rows`.

An XLSX is read without openpyxl's reader: a workbook states its own size (the sheet's
``<dimension>``), and openpyxl pads every row to it, so a 5 KB file declaring ``A1:XFD1048576``
made it allocate gigabytes. Here the zip's directory is sized before :mod:`zipfile` parses it,
each part is decompressed in 64 KiB steps with its bytes counted, and the XML goes through
expat with handlers that keep only the current cell; DTDs are refused outright (what
``defusedxml`` does, set on expat directly: its ElementTree parser is the pure-Python one and
read sheets 2–3 times slower). Only cells with a value take memory, so empty styled cells
out to column XFD cost nothing.

>>> rows = read_rows("姓名,学历\\n张三,初中\\n\\n李四,高中\\n".encode(), filename="w.csv")
>>> rows
[(1, ['姓名', '学历']), (2, ['张三', '初中']), (4, ['李四', '高中'])]
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.parsers import expat

KIB, MIB, GIB = 1024, 1024 * 1024, 1024 * 1024 * 1024

#: What :func:`read_rows` returns: (spreadsheet row number, cells as text), blank rows left out.
Rows = list[tuple[int, list[str]]]


class TableError(ValueError):
    """The file as a whole cannot be read; ``status`` is 413 past a limit, else 422.

    The message is one Chinese sentence for the person who made the file.
    """

    def __init__(self, message: str, *, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ReadLimits:
    """How much of one file :func:`read_rows` reads before refusing it (413).

    The defaults fit the largest real sheets of a county bureau (up to 100,000 workers and
    60 columns) with room to spare, and keep one upload to a few hundred MB of memory.

    Attributes
    ----------
    max_rows : int
        Non-blank data rows (the header not counted); the service's ``MAX_IMPORT_ROWS``.
    max_columns : int
        Rightmost column holding a value; 256 is the old .xls limit (IV), 4× the widest
        bureau sheet.
    max_cells : int
        Rows × columns of the table as read (what the rows take in memory):
        100,000 × 60.
    max_cell_chars : int
        Characters in one cell: Excel's own limit, so no file Excel wrote is refused.
    max_line_chars : int
        Characters in one CSV record (a line, or lines inside quotes).
    max_sheet_bytes : int
        The worksheet XML, decompressed; a 100,000 × 60 sheet is about 350 MB.
    max_shared_strings : int
        Entries of the shared-strings table (at most one per cell of a real file).
    max_shared_strings_bytes : int
        The shared-strings XML, decompressed.
    max_part_bytes : int
        Any other part read (workbook, relationships, styles), decompressed.
    max_unpacked_bytes : int
        All parts read, decompressed.
    max_zip_entries : int
        Entries of the zip (a workbook has 10–30; with many sheets and images a few hundred).
    max_compression_ratio : int
        Decompressed bytes per compressed byte of a part, checked once past 1 MiB; real
        sheets measure 5–40, a zip bomb about 1,000.
    """

    max_rows: int = 100_000
    max_columns: int = 256
    max_cells: int = 6_000_000
    max_cell_chars: int = 32_767
    max_line_chars: int = 1 * MIB
    max_sheet_bytes: int = 512 * MIB
    max_shared_strings: int = 6_000_000
    max_shared_strings_bytes: int = 256 * MIB
    max_part_bytes: int = 16 * MIB
    max_unpacked_bytes: int = 1 * GIB
    max_zip_entries: int = 1_000
    max_compression_ratio: int = 100


def _n(value: int) -> str:
    return f"{value:,}"


def _bytes(value: int) -> str:
    if value >= GIB and value % GIB == 0:
        return f"{value // GIB} GB"
    if value >= MIB:
        return f"{value / MIB:,.0f} MB"
    return f"{_n(value)} 字节"


def _limit(message: str) -> TableError:
    return TableError(message, status=413)


# --------------------------------------------------------------------------- table assembly


class _Table:
    """Collects non-blank rows and enforces the row, column and area limits as they arrive."""

    __slots__ = ("rows", "width", "limits", "where")

    def __init__(self, limits: ReadLimits, where: str) -> None:
        self.rows: Rows = []
        self.width = 0
        self.limits = limits
        self.where = where

    def add(self, number: int, cells: list[str]) -> None:
        while cells and not cells[-1]:
            cells.pop()
        if not cells:
            return
        limits = self.limits
        if len(cells) > limits.max_columns:
            raise self.too_wide(number, len(cells))
        if len(self.rows) > limits.max_rows:  # the header plus max_rows data rows already
            raise _limit(
                f"{self.where}超过 {_n(limits.max_rows)} 行的上限（不含表头）；请分成几个文件导入。"
            )
        self.width = max(self.width, len(cells))
        if (len(self.rows) + 1) * self.width > limits.max_cells:
            raise _limit(
                f"{self.where}超过 {_n(limits.max_cells)} 个单元格（行数 × 列数）的上限"
                f"（已读到第 {_n(number)} 行，{_n(self.width)} 列）；请删去多余的列或分批导入。"
            )
        self.rows.append((number, cells))

    def too_wide(self, number: int, columns: int) -> TableError:
        return _limit(
            f"{self.where}第 {_n(number)} 行有数据的列到第 {_n(columns)} 列，"
            f"超过 {_n(self.limits.max_columns)} 列的上限；请删去多余的列后重新上传。"
        )


def cell_text(value: Any) -> str:
    """The text of a cell value as a clerk reads it (``5000.0`` → ``5000``, a date → ISO)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


#: Spreadsheet programs run a cell that starts with one of these as a formula (CSV
#: injection); exports quote such text with a leading apostrophe, imports remove it again.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def unquote_formula(text: str) -> str:
    if text.startswith("'") and text[1:].startswith(FORMULA_START):
        return text[1:]
    return text


# --------------------------------------------------------------------------- CSV


def _first_bad_byte(data: bytes, encoding: str) -> int | None:
    """Offset of the first byte that does not decode, or ``None``; decoded in steps and
    thrown away, so checking takes no memory."""
    decoder = codecs.getincrementaldecoder(encoding)()
    step = 1 * MIB
    for start in range(0, len(data), step):
        try:
            decoder.decode(data[start : start + step], final=start + step >= len(data))
        except UnicodeDecodeError as exc:
            return max(0, start + exc.start)
    return None


def _csv_encoding(data: bytes) -> str:
    """UTF-8 (with or without BOM) when the whole file decodes as such, else GB18030.

    A file that is UTF-8 for a while and then is not (two encodings pasted together) is
    refused, since either reading would garble part of it.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise TableError(
            "文件是 UTF-16 编码（Excel 的“Unicode 文本”格式），不是 CSV；"
            "请在 Excel 中另存为“CSV UTF-8（逗号分隔）”后重新上传。"
        )
    bad = _first_bad_byte(data, "utf-8")
    if bad is None:
        return "utf-8-sig"
    prefix = data[:bad]
    # Lead bytes of multi-byte UTF-8 sequences before the first bad byte: a GBK file almost
    # never begins with eight characters that happen to be valid UTF-8.
    if sum(prefix.count(bytes([lead])) for lead in range(0xC2, 0xF5)) >= 8:
        line = prefix.count(b"\n") + 1
        raise TableError(
            f"文件前面是 UTF-8 编码，第 {_n(line)} 行起却不是"
            "（混用了两种编码）；请在 Excel 或记事本中把整个文件另存为 UTF-8 或 GBK 后重新上传。"
        )
    bad = _first_bad_byte(data, "gb18030")
    if bad is not None:
        line = data[:bad].count(b"\n") + 1
        raise TableError(
            f"CSV 第 {_n(line)} 行有无法识别的字节，"
            "既不是 UTF-8 也不是 GBK 编码的文本；请另存为 UTF-8 或 GBK 后重新上传。"
        )
    return "gb18030"


class _BoundedLines:
    """Lines for :mod:`csv`, refusing a record longer than the limit before it is built."""

    def __init__(self, text: io.TextIOBase, limits: ReadLimits) -> None:
        self.text = text
        self.limit = limits.max_line_chars
        self.pending = 0  # characters handed out since the last record ended
        self.line = 0

    def __iter__(self) -> _BoundedLines:
        return self

    def __next__(self) -> str:
        line = self.text.readline(self.limit + 1 - self.pending)
        if not line:
            raise StopIteration
        self.line += 1
        self.pending += len(line)
        if self.pending > self.limit:
            raise _limit(
                f"CSV 第 {_n(self.line)} 行超过 {_n(self.limit)} 个字符的上限"
                "（可能是引号没有配对，或不是 CSV 文件）。"
            )
        if "\x00" in line:
            raise TableError(
                f"CSV 第 {_n(self.line)} 行含有空字符（NUL），不是文本表格；"
                "可能是改了扩展名的 Excel 或其他二进制文件。"
            )
        return line


def _csv_rows(data: bytes, limits: ReadLimits) -> Rows:
    encoding = _csv_encoding(data)
    text = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    lines = _BoundedLines(text, limits)
    table = _Table(limits, "CSV 文件")
    max_chars = limits.max_cell_chars
    number = 0
    try:
        for record in csv.reader(lines):
            lines.pending = 0
            number += 1
            cells = []
            for value in record:
                if len(value) > max_chars:
                    raise _cell_too_long(f"CSV 第 {_n(number)} 行", max_chars)
                cells.append(unquote_formula(value.strip()))
            table.add(number, cells)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise _cell_too_long(f"CSV 第 {_n(number + 1)} 行", max_chars) from None
        raise TableError(
            f"CSV 格式错误（第 {_n(lines.line)} 行附近）：引号或分隔符不成对；"
            "请在 Excel 中打开后另存为 CSV。"
        ) from None
    return table.rows


def _cell_too_long(where: str, limit: int) -> TableError:
    return _limit(f"{where}有单元格超过 {_n(limit)} 个字符的上限（Excel 单元格的最大长度）。")


# --------------------------------------------------------------------------- XLSX: the zip

_MAIN_NS = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",  # "Strict Open XML"
)
_REL_NS = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_SEP = "\x1f"  # expat joins namespace and local name with this (a char no name contains)


def _names(namespaces: tuple[str, ...], *locals_: str) -> dict[str, str]:
    return {f"{ns}{_SEP}{local}": local for ns in namespaces for local in locals_}


_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_EOCD = struct.Struct("<4s4H2LH")
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")


def _not_a_workbook(reason: str) -> TableError:
    return TableError(
        f"文件扩展名为 .xlsx，但{reason}；请在 Excel 中打开后另存为“Excel 工作簿（.xlsx）”再上传。"
    )


def _check_zip_directory(data: bytes, limits: ReadLimits) -> None:
    """Size the zip's central directory from its end record, before :mod:`zipfile` reads it.

    ``zipfile`` makes an object per entry of the directory on opening, so a 100 MB file of
    tiny entries would cost a gigabyte before any limit could be checked on ``infolist()``.
    """
    if data.startswith(_OLE2_MAGIC):
        raise _not_a_workbook("内容是旧版 .xls 或设了打开密码的工作簿（加密的工作簿无法读取）")
    if not data.startswith(b"PK\x03\x04"):
        raise _not_a_workbook("内容不是 Excel 工作簿")
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65535 - _EOCD.size))
    if end < 0 or len(data) - end < _EOCD.size:
        raise _not_a_workbook("文件不完整（zip 目录缺失，可能没有上传完）")
    _, _, _, _, entries, dir_size, _, _ = _EOCD.unpack_from(data, end)
    if entries == 0xFFFF or dir_size == 0xFFFFFFFF:  # ZIP64: the sizes are in another record
        locator = end - _EOCD64_LOCATOR.size
        if locator >= 0 and data[locator : locator + 4] == b"PK\x06\x07":
            _, _, offset, _ = _EOCD64_LOCATOR.unpack_from(data, locator)
            if offset + _EOCD64.size <= len(data) and data[offset : offset + 4] == b"PK\x06\x06":
                fields = _EOCD64.unpack_from(data, offset)
                entries, dir_size = fields[6], fields[7]
    if entries > limits.max_zip_entries or dir_size > limits.max_zip_entries * KIB:
        raise _limit(
            f"Excel 工作簿含有 {_n(entries)} 个压缩条目，"
            f"超过 {_n(limits.max_zip_entries)} 个的上限；这不是正常的工作簿。"
        )


class _Budget:
    """Decompressed bytes read so far, over every part of one workbook."""

    __slots__ = ("used", "limit")

    def __init__(self, limit: int) -> None:
        self.used = 0
        self.limit = limit


_PART_LABELS = {
    "sheet": "工作表",
    "sharedStrings": "共享字符串表",
    "styles": "样式表",
    "workbook": "工作簿目录",
    "rels": "关系表",
}

_EXPAT_FAULTS = {
    expat.errors.codes[expat.errors.XML_ERROR_NO_ELEMENTS]: "内容在中途截断",
    expat.errors.codes[expat.errors.XML_ERROR_UNCLOSED_TOKEN]: "内容在中途截断",
    expat.errors.codes[expat.errors.XML_ERROR_INVALID_TOKEN]: "含有 XML 不允许的字符",
    expat.errors.codes[expat.errors.XML_ERROR_TAG_MISMATCH]: "标签不配对",
    expat.errors.codes[expat.errors.XML_ERROR_BAD_CHAR_REF]: "含有无效的字符引用",
    expat.errors.codes[expat.errors.XML_ERROR_UNDEFINED_ENTITY]: "引用了未定义的实体",
    expat.errors.codes[expat.errors.XML_ERROR_JUNK_AFTER_DOC_ELEMENT]: "结尾有多余内容",
}


class _Forbidden(Exception):
    """A DTD in a part: refused before any entity is declared or expanded."""


def _forbid(*_args: Any) -> None:
    raise _Forbidden


class _Part:
    """Streams one zip entry through expat with the limits of its kind."""

    def __init__(
        self, zf: zipfile.ZipFile, name: str, kind: str, limit: int, budget: _Budget, ratio: int
    ) -> None:
        self.zf, self.name, self.kind = zf, name, kind
        self.limit, self.budget, self.ratio = limit, budget, ratio
        self.label = f"{_PART_LABELS[kind]}（{name}）"

    def parse(
        self,
        start: Callable[[str, dict[str, str]], None],
        end: Callable[[str], None] | None = None,
        text: Callable[[str], None] | None = None,
    ) -> None:
        try:
            info = self.zf.getinfo(self.name)
        except KeyError:
            raise TableError(
                f"Excel 工作簿缺少{self.label}，文件已损坏；请在 Excel 中打开后另存为 .xlsx。"
            ) from None
        if info.file_size > self.limit:
            raise self._too_big()
        parser = expat.ParserCreate(namespace_separator=_SEP)
        parser.buffer_text = True
        parser.buffer_size = 64 * KIB
        parser.StartDoctypeDeclHandler = _forbid
        parser.EntityDeclHandler = _forbid
        parser.UnparsedEntityDeclHandler = _forbid
        parser.ExternalEntityRefHandler = _forbid
        parser.StartElementHandler = start
        if end is not None:
            parser.EndElementHandler = end
        if text is not None:
            parser.CharacterDataHandler = text
        threshold = max(MIB, self.ratio * max(info.compress_size, 1))
        read = 0
        try:
            with self.zf.open(info) as stream:
                while chunk := stream.read(64 * KIB):
                    read += len(chunk)
                    self.budget.used += len(chunk)
                    if read > self.limit:
                        raise self._too_big()
                    if self.budget.used > self.budget.limit:
                        raise _limit(
                            f"Excel 工作簿解压后超过 {_bytes(self.budget.limit)} 的上限；"
                            "这不是正常的工作簿（疑似压缩炸弹）。"
                        )
                    if read > threshold:
                        raise _limit(
                            f"Excel 工作簿的{self.label}压缩比超过 {self.ratio}:1 的上限，"
                            "不是正常的工作簿（疑似压缩炸弹）。"
                        )
                    parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except expat.ExpatError as exc:
            fault = _EXPAT_FAULTS.get(exc.args[0].split(":")[0], "不是有效的 XML")
            raise TableError(
                f"Excel 工作簿的{self.label}{fault}"
                f"（第 {_n(exc.lineno)} 行第 {_n(exc.offset)} 列），"
                "文件已损坏；请在 Excel 中打开后另存为 .xlsx。"
            ) from None
        except _Forbidden:
            raise TableError(
                f"Excel 工作簿的{self.label}含有 DTD 或实体声明，正常的工作簿没有这些；已拒绝读取。"
            ) from None
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise TableError(
                f"Excel 工作簿中的{self.label}无法解压（{type(exc).__name__}），"
                "文件已损坏或未上传完整。"
            ) from None
        except (NotImplementedError, RuntimeError):
            raise TableError(
                f"Excel 工作簿中的{self.label}使用了不支持的压缩方式或设了密码；"
                "请在 Excel 中取消密码并另存为 .xlsx。"
            ) from None

    def _too_big(self) -> TableError:
        return _limit(f"Excel 工作簿的{self.label}解压后超过 {_bytes(self.limit)} 的上限。")


def _join(base: str, target: str) -> str:
    """Resolve a relationship target against the part that holds the relationship."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), target))


def _rels_of(part_name: str) -> str:
    folder, name = posixpath.split(part_name)
    return posixpath.join(folder, "_rels", f"{name}.rels")


# --------------------------------------------------------------------------- XLSX: the parts


def _relationships(part: _Part) -> list[tuple[str, str, str]]:
    """``(Id, Type, Target)`` of a ``.rels`` part."""
    found: list[tuple[str, str, str]] = []
    tag = f"{_PKG_REL_NS}{_SEP}Relationship"

    def start(name: str, attrs: dict[str, str]) -> None:
        if name == tag and attrs.get("TargetMode") != "External":
            found.append((attrs.get("Id", ""), attrs.get("Type", ""), attrs.get("Target", "")))

    part.parse(start)
    return found


def _workbook_sheets(part: _Part) -> tuple[list[tuple[str, str]], bool]:
    """``(name, relationship id)`` of each sheet in order, and whether dates count from 1904."""
    sheets: list[tuple[str, str]] = []
    date1904 = [False]
    tags = _names(_MAIN_NS, "sheet", "workbookPr")
    rid = [f"{ns}{_SEP}id" for ns in _REL_NS]

    def start(name: str, attrs: dict[str, str]) -> None:
        local = tags.get(name)
        if local == "sheet":
            sheets.append((attrs.get("name", ""), attrs.get(rid[0]) or attrs.get(rid[1], "")))
        elif local == "workbookPr":
            date1904[0] = attrs.get("date1904", "").lower() in ("1", "true")

    part.parse(start)
    return sheets, date1904[0]


#: Built-in number formats shown as dates or times (ECMA-376 Part 1, 18.8.30): the
#: international ones, and those of Excel in a Chinese locale (27–36, 50–58), which openpyxl
#: does not know: a 出生日期 saved as 1990年1月1日 (format 31) would come back as 32874.
_BUILTIN_DATES = frozenset((*range(14, 23), 45, 46, 47, *range(27, 37), *range(50, 59)))
_BUILTIN_DURATIONS = frozenset((46,))  # [h]:mm:ss
# How openpyxl tells a custom format code is a date (openpyxl.styles.numbers.is_date_format):
# a d/m/h/y/s outside quoted text and [locale] brackets, in the positive section.
_FORMAT_NOISE = re.compile(r'"[^"]*"|\[(?!hh?\]|mm?\]|ss?\])[^\]]*\]')
_DATE_CODE = re.compile(r"(?<![_\\])[dmhysDMHYS]")
_DURATION_CODE = re.compile(r"\[hh?\](:mm(:ss(\.0*)?)?)?|\[mm?\](:ss(\.0*)?)?|\[ss?\](\.0*)?", re.I)
#: Excel refuses a number format longer than this; a longer one is a broken styles part.
_MAX_FORMAT_CHARS = 255


def _date_styles(part: _Part) -> tuple[list[bool], list[bool]]:
    """For each cell style (``s`` of a cell): is it a date format, is it a duration format."""
    tags = _names(_MAIN_NS, "numFmt", "cellXfs", "xf")
    custom: dict[int, str] = {}
    style_formats: list[int] = []
    in_xfs = [False]

    def broken(what: str) -> TableError:
        return TableError(
            f"Excel 工作簿的{part.label}损坏：{what}；请在 Excel 中打开后另存为 .xlsx。"
        )

    def number(attrs: dict[str, str], key: str) -> int:
        value = attrs.get(key, "0")
        if not value.isdigit() or len(value) > 9:
            raise broken(f"{key}={value[:20]!r} 不是编号")
        return int(value)

    def start(name: str, attrs: dict[str, str]) -> None:
        local = tags.get(name)
        if local == "numFmt":
            code = attrs.get("formatCode", "")
            if len(code) > _MAX_FORMAT_CHARS:
                raise broken(f"数字格式超过 {_MAX_FORMAT_CHARS} 个字符")
            custom[number(attrs, "numFmtId")] = code
        elif local == "cellXfs":
            in_xfs[0] = True
        elif local == "xf" and in_xfs[0]:
            style_formats.append(number(attrs, "numFmtId"))

    def end(name: str) -> None:
        if tags.get(name) == "cellXfs":
            in_xfs[0] = False

    part.parse(start, end)
    dates, durations = [], []
    for fmt_id in style_formats:
        code = custom.get(fmt_id)
        if code is None:
            dates.append(fmt_id in _BUILTIN_DATES)
            durations.append(fmt_id in _BUILTIN_DURATIONS)
        else:
            first = code.split(";")[0]
            dates.append(_DATE_CODE.search(_FORMAT_NOISE.sub("", first)) is not None)
            durations.append(_DURATION_CODE.search(first) is not None)
    return dates, durations


_WINDOWS_EPOCH, _MAC_EPOCH = dt.datetime(1899, 12, 30), dt.datetime(1904, 1, 1)


def _from_excel(value: float, epoch: dt.datetime, duration: bool) -> Any:
    """A date serial as Python reads it (what ``openpyxl.utils.datetime.from_excel`` gives)."""
    if duration:
        return dt.timedelta(milliseconds=round(value * 86_400_000))
    day, fraction = divmod(value, 1)
    diff = dt.timedelta(milliseconds=round(fraction * 86_400_000))
    if 0 <= value < 1 and diff.days == 0:
        minutes, seconds = divmod(diff.seconds, 60)
        return dt.time(minutes // 60, minutes % 60, seconds, diff.microseconds)
    if 0 < value < 60 and epoch == _WINDOWS_EPOCH:
        day += 1  # Excel's 1900-02-29, a day that never was
    return epoch + dt.timedelta(days=day) + diff


_ESCAPED = re.compile("_x([0-9A-Fa-f]{4})_")


def _unescape(text: str) -> str:
    # OOXML writes characters XML cannot hold as _xHHHH_ (ST_Xstring).
    if "_x" in text:
        return _ESCAPED.sub(lambda m: chr(int(m[1], 16)), text)
    return text


def _shared_strings(part: _Part, limits: ReadLimits) -> list[str]:
    strings: list[str] = []
    tags = _names(_MAIN_NS, "si", "t", "rPh")
    state = {"parts": None, "rph": 0, "length": 0}
    parts: list[str] = []
    max_count, max_chars = limits.max_shared_strings, limits.max_cell_chars

    def start(name: str, attrs: dict[str, str]) -> None:
        local = tags.get(name)
        if local == "si":
            parts.clear()
            state["length"] = 0
        elif local == "t" and not state["rph"]:
            state["parts"] = parts
        elif local == "rPh":  # phonetic guide (furigana): not part of the text
            state["rph"] += 1

    def end(name: str) -> None:
        local = tags.get(name)
        if local == "t":
            state["parts"] = None
        elif local == "rPh":
            state["rph"] -= 1
        elif local == "si":
            if len(strings) >= max_count:
                raise _limit(f"Excel 工作簿的共享字符串超过 {_n(max_count)} 条的上限；请分批导入。")
            strings.append(_unescape("".join(parts)))

    def text(data: str) -> None:
        if state["parts"] is not None:
            state["length"] += len(data)
            if state["length"] > max_chars:
                raise _cell_too_long("Excel 工作簿的共享字符串表中", max_chars)
            parts.append(data)

    part.parse(start, end, text)
    return strings


_MAX_EXCEL_ROW, _MAX_EXCEL_COLUMN = 1_048_576, 16_384


def _column_number(ref: str) -> int:
    """``"AB12"`` → 28; 0 when ``ref`` is not a cell reference."""
    number = 0
    for i, ch in enumerate(ref):
        if "A" <= ch <= "Z":
            number = number * 26 + ord(ch) - 64
        elif "a" <= ch <= "z":
            number = number * 26 + ord(ch) - 96
        else:
            return number if i and ref[i:].isdigit() else 0
        if i >= 3:
            return 0
    return 0


class _SheetReader:
    """expat handlers that turn a worksheet into rows, holding only the current row."""

    def __init__(
        self,
        table: _Table,
        shared: list[str],
        dates: list[bool],
        durations: list[bool],
        epoch: dt.datetime,
        limits: ReadLimits,
    ) -> None:
        self.table, self.shared, self.dates, self.durations = table, shared, dates, durations
        self.epoch, self.max_chars = epoch, limits.max_cell_chars
        self.tags = _names(_MAIN_NS, "row", "c", "v", "is", "t", "rPh")
        self.cells: list[str] | None = None
        self.row_number = 0
        self.column = 0
        self.kind = "n"
        self.style = 0
        self.parts: list[str] = []
        self.capture = False
        self.length = 0
        self.in_inline = False
        self.rph = 0

    def _broken(self, what: str) -> TableError:
        return TableError(
            f"Excel 工作表第 {_n(self.row_number)} 行{what}，文件已损坏；"
            "请在 Excel 中打开后另存为 .xlsx。"
        )

    def start(self, name: str, attrs: dict[str, str]) -> None:
        local = self.tags.get(name)
        if local is None:
            return
        if local == "c":
            if self.cells is None:
                raise self._broken("之外出现了单元格")
            ref = attrs.get("r")
            column = _column_number(ref) if ref else self.column + 1
            if column <= self.column or column > _MAX_EXCEL_COLUMN:
                raise self._broken(f"的单元格位置 {ref or column!r} 无效或顺序错乱")
            self.column = column
            self.kind = attrs.get("t", "n")
            style = attrs.get("s")
            self.style = int(style) if style and style.isdigit() else 0
            self.parts = []
            self.length = 0
        elif local == "v":
            self.capture = not self.in_inline
        elif local == "t":
            self.capture = self.in_inline and not self.rph
        elif local == "is":
            self.in_inline = True
        elif local == "rPh":
            self.rph += 1
        elif local == "row":
            ref = attrs.get("r")
            number = int(ref) if ref and ref.isdigit() else self.row_number + 1
            if number <= self.row_number or number > _MAX_EXCEL_ROW:
                self.row_number = max(self.row_number, 1)
                raise self._broken(f"之后出现了行号 {ref!r}（行号无效或顺序错乱）")
            self.row_number = number
            self.cells = []
            self.column = 0

    def text(self, data: str) -> None:
        if self.capture:
            self.length += len(data)
            if self.length > self.max_chars:
                raise _cell_too_long(f"Excel 工作表第 {_n(self.row_number)} 行", self.max_chars)
            self.parts.append(data)

    def end(self, name: str) -> None:
        local = self.tags.get(name)
        if local is None:
            return
        if local in ("v", "t"):
            self.capture = False
        elif local == "c":
            if self.parts:
                self._cell("".join(self.parts))
        elif local == "is":
            self.in_inline = False
        elif local == "rPh":
            self.rph -= 1
        elif local == "row":
            cells, self.cells = self.cells, None
            if cells:
                self.table.add(self.row_number, cells)

    def _cell(self, raw: str) -> None:
        kind = self.kind
        if kind == "s":
            try:
                text = self.shared[int(raw)].strip()
            except (ValueError, IndexError):
                raise self._broken(f"引用了不存在的共享字符串 {raw[:20]!r}") from None
        elif kind in ("inlineStr", "str", "e"):
            text = _unescape(raw).strip() if kind == "inlineStr" else raw.strip()
        elif kind == "b":
            text = cell_text(raw.strip() not in ("0", "false", ""))
        elif kind == "d":
            try:
                text = cell_text(dt.datetime.fromisoformat(raw.strip().rstrip("Z")))
            except ValueError:
                raise self._broken(f"的日期 {raw[:30]!r} 无效") from None
        elif kind == "n":
            text = self._number(raw.strip())
        else:
            raise self._broken(f"的单元格类型 {kind[:20]!r} 无法识别")
        if not text:
            return
        if "\x00" in text:
            raise self._broken("的单元格含有空字符（NUL）")
        cells = self.cells
        assert cells is not None
        if self.column > self.table.limits.max_columns:
            raise self.table.too_wide(self.row_number, self.column)
        gap = self.column - 1 - len(cells)
        if gap > 0:
            cells.extend([""] * gap)
        cells.append(text)

    def _number(self, raw: str) -> str:
        try:
            value: float | int = float(raw) if any(c in raw for c in ".eE") else int(raw)
        except ValueError:
            raise self._broken(f"的数字 {raw[:30]!r} 无效") from None
        style = self.style
        if style >= len(self.dates):
            if style and self.dates:
                raise self._broken(f"引用了不存在的样式 {style}")
            return cell_text(value)
        if self.dates[style]:
            try:
                return cell_text(_from_excel(value, self.epoch, self.durations[style]))
            except (OverflowError, ValueError):
                pass  # outside the dates Excel can show: keep the number, validation says why
        return cell_text(value)


def _xlsx_rows(data: bytes, limits: ReadLimits) -> Rows:
    _check_zip_directory(data, limits)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, struct.error):
        raise _not_a_workbook("zip 结构已损坏") from None
    with zf:
        if len(zf.infolist()) > limits.max_zip_entries:
            raise _limit(
                f"Excel 工作簿含有超过 {_n(limits.max_zip_entries)} 个压缩条目，"
                "这不是正常的工作簿。"
            )
        budget = _Budget(limits.max_unpacked_bytes)
        names = set(zf.namelist())

        def part(name: str, kind: str, limit: int | None = None) -> _Part:
            return _Part(
                zf,
                name,
                kind,
                limits.max_part_bytes if limit is None else limit,
                budget,
                limits.max_compression_ratio,
            )

        workbook = "xl/workbook.xml"
        if "_rels/.rels" in names:
            for _, kind, target in _relationships(part("_rels/.rels", "rels")):
                if kind.endswith("/officeDocument"):
                    workbook = _join("", target)
        if workbook not in names:
            raise _not_a_workbook("其中没有工作簿目录（xl/workbook.xml）")
        sheets, date1904 = _workbook_sheets(part(workbook, "workbook"))
        rels_name = _rels_of(workbook)
        rels = _relationships(part(rels_name, "rels")) if rels_name in names else []
        targets = {rid: (kind, _join(workbook, target)) for rid, kind, target in rels}
        sheet = next(
            (
                targets[rid][1]
                for _, rid in sheets
                if rid in targets and targets[rid][0].endswith("/worksheet")
            ),
            None,
        )
        if sheet is None:
            raise _not_a_workbook("其中没有工作表")
        shared: list[str] = []
        dates: list[bool] = []
        durations: list[bool] = []
        for kind, target in targets.values():
            if kind.endswith("/sharedStrings") and target in names:
                shared = _shared_strings(
                    part(target, "sharedStrings", limits.max_shared_strings_bytes), limits
                )
            elif kind.endswith("/styles") and target in names:
                dates, durations = _date_styles(part(target, "styles"))
        table = _Table(limits, "工作表")
        reader = _SheetReader(
            table,
            shared,
            dates,
            durations,
            _MAC_EPOCH if date1904 else _WINDOWS_EPOCH,
            limits,
        )
        part(sheet, "sheet", limits.max_sheet_bytes).parse(reader.start, reader.end, reader.text)
    return table.rows


# --------------------------------------------------------------------------- entry point


def read_rows(data: bytes, *, filename: str, limits: ReadLimits | None = None) -> Rows:
    """Read the first worksheet of an ``.xlsx``, or a ``.csv`` (UTF-8 or GBK/GB18030).

    Parameters
    ----------
    data : bytes
        The whole file (its size is the caller's limit: ``MAX_CONTENT_LENGTH``).
    filename : str
        The name as uploaded; its extension decides the format.
    limits : ReadLimits, optional
        Defaults to :class:`ReadLimits`.

    Returns
    -------
    list of (int, list of str)
        Each non-blank row's spreadsheet number (the first row is 1) and its cells as
        stripped text, up to its last non-empty cell. Numbers read as a clerk typed them
        (``5000``), dates as ISO dates, booleans as 是/否.

    Raises
    ------
    TableError
        ``status`` 413 when the file is past a limit, 422 when it is not a readable file of
        its kind; nothing else.
    """
    limits = limits or ReadLimits()
    ext = Path(filename).suffix.lower()
    try:
        if ext == ".csv":
            return _csv_rows(data, limits)
        if ext == ".xlsx":
            return _xlsx_rows(data, limits)
    except TableError:
        raise
    except RecursionError:
        raise TableError(f"文件 {filename!r} 嵌套过深，不是正常的表格文件。") from None
    except MemoryError:
        raise _limit(f"文件 {filename!r} 超出了服务器读取表格的内存上限；请分批导入。") from None
    raise TableError(f"不支持的文件类型 {ext or filename!r}；可用 .csv 或 .xlsx。")


__all__ = ["FORMULA_START", "ReadLimits", "Rows", "TableError", "cell_text", "read_rows"]
