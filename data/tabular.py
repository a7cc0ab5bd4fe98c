"""Import and export of job and worker spreadsheets (CSV or XLSX).

Reading is two steps so that the CLI and the HTTP API can report problems the same way:
:func:`read_table` turns an uploaded file into a frame of strings (index = spreadsheet
row number, header = row 1), then :func:`validate_jobs` / :func:`validate_workers`
normalise each row to the records of :mod:`data.schema` and list *every* bad cell.
:func:`write_table` writes records back with Chinese headers in a form that reads back to
the same records.

Examples
--------
>>> import io
>>> raw = "岗位名称,工作城市,月薪下限,月薪上限,招聘人数\\n普工,昆山,5000,7000,30\\n".encode("gbk")
>>> result = validate_jobs(read_table(io.BytesIO(raw), filename="jobs.csv"))
>>> result.ok, result.records[0]["city"], result.records[0]["district"], result.records[0]["row"]
(True, '苏州市', '昆山市', 2)
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

import pandas as pd

from data.idcard import validate_id_number
from data.normalize import (
    certificate_name,
    city_suggestions,
    fold_width,
    normalize_certificates,
    normalize_city,
    normalize_county,
    normalize_education,
)
from data.reader import FORMULA_START, ReadLimits, TableError, read_rows
from data.schema import (
    GENDERS,
    JOB_COLUMNS,
    JOB_DEFAULTS,
    JOB_STATUSES,
    LIMITS,
    WORKER_COLUMNS,
    WORKER_DEFAULTS,
)

DEFAULT_MAX_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True)
class RowError:
    """One bad cell. ``row`` is the spreadsheet row (header = 1, first data row = 2;
    0 for a problem with the header); ``column`` the header as written in the file (or the
    Chinese header when the column is missing); ``field`` the schema name."""

    row: int
    column: str
    message: str
    field: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "field": self.field,
            "message": self.message,
        }


@dataclass
class ValidationResult:
    """Valid rows as schema records (each with its ``row``), and every error found."""

    records: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


# --------------------------------------------------------------------------- headers

#: Accepted headers per schema field; the first Chinese one is written on export.
JOB_HEADERS: dict[str, tuple[str, ...]] = {
    "job_id": ("岗位ID", "岗位编号", "职位ID"),
    "firm_id": ("企业ID", "企业编号"),
    "firm_name": ("企业名称", "公司名称", "单位名称", "用人单位"),
    "title": ("岗位名称", "职位", "职位名称", "岗位", "招聘岗位"),
    "description": ("岗位描述", "职位描述", "岗位职责", "工作内容"),
    "occupation_code": ("职业编码", "职业代码", "职业分类代码"),
    "city": ("工作城市", "工作地点", "城市", "工作地"),
    "district": ("工作区县", "区县", "县市区"),
    "wage_min": ("月薪下限", "最低月薪", "薪资下限", "工资下限"),
    "wage_max": ("月薪上限", "最高月薪", "薪资上限", "工资上限"),
    "headcount": ("招聘人数", "人数", "需求人数"),
    "hired_count": ("已招人数", "已录用人数"),
    "age_min": ("年龄下限", "最小年龄"),
    "age_max": ("年龄上限", "最大年龄"),
    "education_min": ("最低学历", "学历要求"),
    "certificates_required": ("所需证书", "证书要求"),
    "dormitory": ("包住", "提供宿舍", "宿舍"),
    "meals": ("包吃", "提供餐食", "工作餐"),
    "halal_canteen": ("清真食堂", "清真餐"),
    "novice_ok": ("无经验可", "接受无经验", "可培训", "无经验可做"),
    "status": ("状态", "岗位状态"),
    "posted_at": ("发布日期", "发布时间"),
}
WORKER_HEADERS: dict[str, tuple[str, ...]] = {
    "worker_id": ("劳动力ID", "人员编号", "编号"),
    "name": ("姓名",),
    "id_number": ("身份证号", "身份证号码", "公民身份号码", "身份证"),
    "gender": ("性别",),
    "ethnicity": ("民族",),
    "birth_date": ("出生日期", "出生年月日"),
    "county_code": ("县区代码", "户籍县", "户籍县区", "县区", "所在县"),
    "township": ("乡镇", "乡镇街道"),
    "village": ("村", "村社区", "行政村"),
    "phone": ("手机号", "手机号码", "联系电话", "电话"),
    "education": ("学历", "文化程度"),
    "skills_text": ("技能", "工作经历", "技能/工作经历", "技能特长", "工作经验"),
    "desired_jobs": ("求职意向", "意向岗位", "期望工种"),
    "certificates": ("证书", "持有证书", "资格证书"),
    "certificates_unrecognised": ("未识别证书",),
    "preferred_cities": ("意向城市", "意向地区", "期望工作地"),
    "min_wage": ("期望月薪", "最低期望月薪", "期望工资"),
    "needs_dormitory": ("需要宿舍", "需宿舍", "住宿需求"),
    "needs_halal": ("清真饮食", "需要清真"),
    "poverty_registered": ("建档立卡", "是否建档立卡", "建档立卡户", "脱贫户"),
    "group_id": ("同行组", "结伴组", "组号"),
    "registered_at": ("登记日期", "登记时间"),
}
JOB_REQUIRED = ("title", "city", "wage_min", "wage_max", "headcount")
WORKER_REQUIRED = ("name", "id_number", "county_code", "education")

_HEADER_NOISE = re.compile(r"[\s*＊:：]|[(（][^)）]*[)）]")


def _header_key(text: str) -> str:
    # "*月薪下限（元/月）" → "月薪下限"; English schema names are matched case-insensitively.
    return _HEADER_NOISE.sub("", fold_width(text)).lower()


def _header_map(headers: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, aliases in headers.items():
        for alias in (name, *aliases):
            out[_header_key(alias)] = name
    return out


# --------------------------------------------------------------------------- reading


def _read_limited(source: str | os.PathLike[str] | BinaryIO, max_bytes: int) -> bytes:
    if isinstance(source, (str, os.PathLike)):
        try:
            size = os.path.getsize(source)
            if size > max_bytes:
                raise _too_large(size, max_bytes)
            with open(source, "rb") as fh:
                return fh.read()
        except OSError as exc:
            raise TableError(f"无法读取文件 {os.fspath(source)!r}：{exc.strerror}。") from None
    try:  # a seekable file object tells its size without being read
        pos = source.tell()
        size = source.seek(0, io.SEEK_END) - pos
        source.seek(pos)
        if size > max_bytes:
            raise _too_large(size, max_bytes)
    except (AttributeError, OSError, io.UnsupportedOperation):
        pass
    data = source.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _too_large(len(data), max_bytes)
    return data


def _too_large(size: int, max_bytes: int) -> TableError:
    return TableError(
        f"文件过大：{size:,} 字节，超过 {max_bytes:,} 字节的上限；请分成几个文件导入。",
        status=413,
    )


def _quote_formula(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def read_table(
    source: str | os.PathLike[str] | BinaryIO,
    *,
    filename: str,
    max_bytes: int = DEFAULT_MAX_BYTES,
    limits: ReadLimits | None = None,
) -> pd.DataFrame:
    """Read an uploaded ``.csv`` (UTF-8 with or without BOM, or GBK/GB18030) or ``.xlsx``.

    The file is read by :func:`data.reader.read_rows`, which checks every limit of
    ``limits`` while it streams, whatever the file says about its own size.

    Parameters
    ----------
    source : path or binary file object
    filename : str
        The name as uploaded; its extension decides the format.
    max_bytes : int
        Larger files are refused before they are read in full.
    limits : ReadLimits, optional
        Rows, columns, cells and decompressed sizes read at most (:class:`ReadLimits`).

    Returns
    -------
    pandas.DataFrame
        All cells as stripped ``str`` (``''`` when empty), the header as written, and the
        index (named ``row``) holding spreadsheet row numbers: the first data row is 2.
        Blank rows are dropped but keep the numbering.

    Raises
    ------
    TableError
        With ``status`` 413 for a file past ``max_bytes`` or a limit, 422 for an unknown
        extension, an empty or unreadable file, a fake ``.xlsx``, a missing or duplicated
        header. Its message is one Chinese sentence; no other exception is raised for
        anything the file holds.
    """
    ext = Path(filename).suffix.lower()
    if ext not in (".csv", ".xlsx"):
        hint = "，请另存为 .xlsx" if ext == ".xls" else ""
        raise TableError(f"不支持的文件类型 {ext or filename!r}{hint}；可用 .csv 或 .xlsx。")
    data = _read_limited(source, max_bytes)
    if not data or data.isspace():
        raise TableError(f"文件 {filename!r} 是空的。")
    rows = read_rows(data, filename=filename, limits=limits)
    del data
    if not rows or rows[0][0] != 1:
        raise TableError(f"文件 {filename!r} 第1行没有表头。")
    header = [fold_width(h) for h in rows[0][1]]
    width = max(len(cells) for _, cells in rows)
    header += [""] * (width - len(header))
    # A column with data but no header (or beyond the last header) gets a name such as
    # 第14列, so that validation lists it as ignored instead of its cells vanishing.
    filled = [False] * width
    for _, cells in rows[1:]:
        for i, value in enumerate(cells):
            if value:
                filled[i] = True
    header = [h or (f"第{i + 1}列" if filled[i] else "") for i, h in enumerate(header)]
    while header and not header[-1]:
        header.pop()
    width = len(header)
    seen: set[str] = set()
    for h in header:
        if h and h in seen:
            raise TableError(f"表头 {h!r} 出现了两次。")
        seen.add(h)
    body = [(cells + [""] * (width - len(cells)))[:width] for _, cells in rows[1:]]
    numbers = [number for number, _ in rows[1:]]
    del rows
    frame = pd.DataFrame(body, columns=header, index=pd.Index(numbers, name="row"), dtype=object)
    keep = [h for h in header if h]
    return frame[keep] if len(keep) != width else frame


# --------------------------------------------------------------------------- cell parsers

_LIST_SEPARATORS = "、，,;；/\n|"
_OPEN, _CLOSE = "([（【《", ")]）】》"
_TRUE = {"是", "有", "y", "yes", "1", "true", "√", "✓", "包", "提供", "需要", "要"}
_FALSE = {"否", "无", "n", "no", "0", "false", "×", "✗", "不包", "不提供", "不需要", "不要", ""}
_STATUS = {"招聘中": "open", "开放": "open", "已招满": "filled", "招满": "filled",
           "已关闭": "closed", "关闭": "closed", "停止招聘": "closed"}  # fmt: skip
_STATUS_ZH = {"open": "招聘中", "filled": "已招满", "closed": "已关闭"}
_NO_REQUIREMENT = {"", "不限", "无", "无要求", "不限学历", "学历不限"}
_ANYWHERE = {"不限", "江苏", "江苏省", "全省", "均可", "都可以", "无"}


def split_list(text: str) -> list[str]:
    """Split a list cell on 、，,;；/ and newlines, but not inside brackets."""
    parts, current, depth = [], [], 0
    for ch in fold_width(text):
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        if depth == 0 and ch in _LIST_SEPARATORS:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _int(text: str) -> int:
    cleaned = re.sub(r"[,\s]|元|人|岁|/月|每月", "", fold_width(text))
    if re.fullmatch(r"[+-]?\d+(\.0*)?", cleaned):
        return int(float(cleaned))
    raise ValueError(f"{text!r} 不是整数")


def _bool(text: str) -> bool:
    key = fold_width(text).lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError(f"{text!r} 不是 是/否（可写 是/否、有/无、Y/N、1/0、true/false）")


def _date(text: str) -> dt.date:
    t = fold_width(text)
    m = re.fullmatch(
        r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]\d{1,2}:\d{2}(:\d{2})?)?", t
    )
    m = m or re.fullmatch(r"(\d{4})(\d{2})(\d{2})", t)
    if m:
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            pass
    raise ValueError(f"{text!r} 不是有效日期，请写成 2024-03-01")


def _text(text: str) -> str:
    return fold_width(text)


def _code(text: str) -> str:
    return fold_width(text)


def _education(text: str) -> str:
    return normalize_education(text)


def _education_min(text: str) -> str | None:
    return None if fold_width(text) in _NO_REQUIREMENT else normalize_education(text)


def _status(text: str) -> str:
    key = fold_width(text).lower() or "open"
    key = _STATUS.get(key, key)
    if key not in JOB_STATUSES:
        raise ValueError(f"岗位状态 {text!r} 无法识别；可用: 招聘中、已招满、已关闭")
    return key


def _gender(text: str) -> str:
    value = fold_width(text)
    value = {"男性": "男", "女性": "女", "m": "男", "f": "女"}.get(value.lower(), value)
    if value not in GENDERS:
        raise ValueError(f"性别 {text!r} 应为 男 或 女")
    return value


def _phone(text: str) -> str:
    digits = re.sub(r"^(\+?86)(?=1\d{10}$)", "", re.sub(r"[\s-]", "", fold_width(text)))
    if digits and not re.fullmatch(r"1\d{10}", digits):
        raise ValueError(f"手机号 {text!r} 应为以1开头的11位数字")
    return digits


#: What Excel makes of an 18-digit number typed into a cell in number format: 6.10621E+17.
_SCIENTIFIC = re.compile(r"\d(?:\.\d+)?E\+?\d+", re.IGNORECASE)
_EXCEL_HINT = "；如该列在 Excel 中是数字格式，末几位已被改成0，请设为文本格式后重新录入"


def _id_number(text: str) -> str:
    folded = fold_width(text).strip()
    if _SCIENTIFIC.fullmatch(folded):
        raise ValueError(
            f"身份证号 {text!r} 被 Excel 存成了科学计数法数字，已无法还原；"
            "请把该列设为文本格式后重新录入"
        )
    try:
        return validate_id_number(text)
    except ValueError as exc:
        if _looks_excel_rounded(folded):
            raise ValueError(f"{exc}{_EXCEL_HINT}") from None
        raise


def _looks_excel_rounded(digits: str) -> bool:
    """Excel keeps 15 significant digits of a number: an ID typed into a number cell comes
    back as ``…000`` (a CSV it saved) or as the double nearest that (an XLSX cell read as a
    float, ``…032``). A real ID is either only by a one-in-a-thousand chance."""
    if not (digits.isdigit() and len(digits) == 18):
        return False
    return digits.endswith("000") or int(float(f"{int(digits):.15g}")) == int(digits)


def _county(text: str) -> str:
    return normalize_county(text)


def _list(text: str) -> list[str]:
    return split_list(text)


def _not_a_city(label: str, names: list[str]) -> str:
    """The sentence for place names :func:`normalize_city` refuses, with the near known ones
    (the words of the API's message for the same mistake)."""
    shown = "、".join(repr(n) for n in names)
    near = city_suggestions(names[0]) if len(names) == 1 else []
    hint = f"；相近的有：{'、'.join(near)}" if near else "（可写 苏州、苏州市、昆山市）"
    return f"{label} {shown} 不是江苏省已知的地级市或县区{hint}"


def _cities(text: str) -> list[str]:
    if fold_width(text) in _ANYWHERE:
        return []
    out, bad = [], []
    for part in split_list(text):
        found = normalize_city(part)
        if found is None:
            bad.append(part)
        elif found[0] not in out:
            out.append(found[0])
    if bad:
        raise ValueError(_not_a_city("意向城市", bad))
    return out


_Parser = Callable[[str], Any]

_JOB_FIELDS: dict[str, tuple[_Parser, Any]] = {
    "job_id": (_int, None),
    "firm_id": (_int, None),
    "firm_name": (_text, ""),
    "title": (_text, ""),
    "description": (_text, ""),
    "occupation_code": (_code, ""),
    "city": (_text, ""),  # resolved with district below
    "district": (_text, ""),
    "wage_min": (_int, None),
    "wage_max": (_int, None),
    "headcount": (_int, None),
    # Defaults and bounds: the record contract of data.schema, shared with the API and storage.
    "hired_count": (_int, JOB_DEFAULTS["hired_count"]),
    "age_min": (_int, JOB_DEFAULTS["age_min"]),
    "age_max": (_int, JOB_DEFAULTS["age_max"]),
    "education_min": (_education_min, None),
    "certificates_required": (_list, []),
    "dormitory": (_bool, False),
    "meals": (_bool, False),
    "halal_canteen": (_bool, False),
    "novice_ok": (_bool, False),
    "status": (_status, JOB_DEFAULTS["status"]),
    "posted_at": (_date, None),
}
_WORKER_FIELDS: dict[str, tuple[_Parser, Any]] = {
    "worker_id": (_int, None),
    "name": (_text, ""),
    "id_number": (_id_number, None),
    "gender": (_gender, None),
    "ethnicity": (_text, ""),
    "birth_date": (_date, None),
    "county_code": (_county, None),
    "township": (_text, ""),
    "village": (_text, ""),
    "phone": (_phone, ""),
    "education": (_education, None),
    "skills_text": (_text, ""),
    "desired_jobs": (_list, []),
    "certificates": (_list, []),
    "certificates_unrecognised": (_list, []),
    "preferred_cities": (_cities, []),
    "min_wage": (_int, WORKER_DEFAULTS["min_wage"]),
    "needs_dormitory": (_bool, False),
    "needs_halal": (_bool, False),
    "poverty_registered": (_bool, False),
    "group_id": (_text, ""),
    "registered_at": (_date, None),
}
# Ids and dates that storage assigns are left out of a record when the file lacks them.
_OMIT_WHEN_ABSENT = {"job_id", "firm_id", "posted_at", "worker_id", "registered_at"}


# --------------------------------------------------------------------------- validation


def _columns(
    df: pd.DataFrame, headers: Mapping[str, tuple[str, ...]], required: Iterable[str]
) -> tuple[dict[str, str], list[RowError], list[str]]:
    lookup = _header_map(headers)
    columns: dict[str, str] = {}
    errors: list[RowError] = []
    ignored: list[str] = []
    for col in df.columns:
        name = lookup.get(_header_key(str(col)))
        if name is None:
            ignored.append(str(col))
        elif name in columns:
            errors.append(
                RowError(
                    0, str(col), f"列 {col!r} 与 {columns[name]!r} 表示同一字段，只能保留一列", name
                )
            )
        else:
            columns[name] = str(col)
    for name in required:
        if name not in columns:
            zh = headers[name][0]
            errors.append(RowError(0, zh, f"缺少必填列 {zh}（英文表头 {name} 亦可）", name))
    return columns, errors, ignored


def _row_numbers(df: pd.DataFrame) -> list[int]:
    if df.index.name == "row":
        return [int(i) for i in df.index]
    return list(range(2, len(df) + 2))


def _validate(
    df: pd.DataFrame,
    headers: Mapping[str, tuple[str, ...]],
    fields: Mapping[str, tuple[_Parser, Any]],
    required: tuple[str, ...],
    finish: Callable[[dict[str, Any], dict[str, str], Callable[[str, str], None]], None],
) -> ValidationResult:
    columns, header_errors, ignored = _columns(df, headers, required)
    result = ValidationResult(errors=header_errors, ignored_columns=ignored)
    if header_errors:
        return result
    present = [(name, columns[name], fields[name][0]) for name in fields if name in columns]
    values = {col: df[col].astype(str).tolist() for _, col, _ in present}
    for i, row_number in enumerate(_row_numbers(df)):
        record: dict[str, Any] = {"row": row_number}
        row_errors: list[RowError] = []

        def fail(name: str, message: str, _row: int = row_number, _errs: list = row_errors) -> None:
            _errs.append(RowError(_row, columns.get(name, headers[name][0]), message, name))

        for name, col, parse in present:
            text = values[col][i]
            if text in ("", "nan", "None"):
                text = ""
                if name in required:
                    fail(name, f"{col} 为必填项，不能为空")
                    continue
            try:
                record[name] = parse(text) if text or name == "status" else fields[name][1]
            except ValueError as exc:
                fail(name, str(exc))
        for name, (_, default) in fields.items():
            if name not in columns and name not in _OMIT_WHEN_ABSENT:
                record[name] = list(default) if isinstance(default, list) else default
        finish(record, columns, fail)
        if row_errors:
            result.errors.extend(row_errors)
        else:
            result.records.append(record)
    return result


def _finish_job(record: dict[str, Any], columns: dict[str, str], fail) -> None:
    # Cross-field checks run even when a cell failed, skipping what could not be parsed,
    # so that every bad cell of the row is reported at once.
    if record.get("city"):
        place = normalize_city(record["city"])
        if place is None:
            fail("city", _not_a_city("工作城市", [record["city"]]))
        else:
            city, district = place
            if record.get("district"):
                found = normalize_city(city + record["district"])
                if found is None or not found[1]:
                    fail("district", f"区县 {record['district']!r} 不属于 {city}")
                elif district and found[1] != district:
                    fail(
                        "district", f"区县 {record['district']!r} 与工作城市中的 {district} 不一致"
                    )
                else:
                    district = found[1]
            record["city"], record["district"] = city, district
    wage_min, wage_max = record.get("wage_min"), record.get("wage_max")
    if wage_min is not None and wage_min < 0:
        fail("wage_min", f"月薪下限 {wage_min} 不能为负数")
    if wage_min is not None and wage_max is not None and wage_min > wage_max:
        fail("wage_max", f"月薪下限 {wage_min} 高于月薪上限 {wage_max}")
    if record.get("headcount") is not None and record["headcount"] <= 0:
        fail("headcount", f"招聘人数 {record['headcount']} 必须大于0")
    if record.get("hired_count") is not None and record["hired_count"] < 0:
        fail("hired_count", f"已招人数 {record['hired_count']} 不能为负数")
    age_min, age_max = record.get("age_min"), record.get("age_max")
    if age_min is not None and age_max is not None and age_min > age_max:
        fail("age_max", f"年龄下限 {age_min} 高于年龄上限 {age_max}")
    low, high = LIMITS["age"]
    for name, label in (("age_min", "年龄下限"), ("age_max", "年龄上限")):
        value = record.get(name)
        if value is not None and not low <= value <= high:
            fail(name, f"{label} {value} 不在{low}至{high}之间")
    top = LIMITS["money"][1]
    for name, label in (("wage_min", "月薪下限"), ("wage_max", "月薪上限")):
        if record.get(name) is not None and record[name] > top:
            fail(name, f"{label} {record[name]} 超过上限 {top}")
    if record.get("headcount") is not None and record["headcount"] > LIMITS["headcount"][1]:
        fail("headcount", f"招聘人数 {record['headcount']} 超过上限 {LIMITS['headcount'][1]}")
    ids, unknown = normalize_certificates(record.get("certificates_required") or [])
    # Unrecognised requirements are kept (nobody's input is lost) so the engine can say
    # what it could not check; they never reject the row.
    record["certificates_required"] = ids
    record["certificates_unrecognised"] = unknown


def validate_jobs(df: pd.DataFrame) -> ValidationResult:
    """Normalise a job table (from :func:`read_table`) to :data:`data.schema.JOB_COLUMNS`.

    Required columns: 岗位名称, 工作城市, 月薪下限, 月薪上限, 招聘人数. Absent optional
    columns take defaults (age 16–60, no education requirement, no certificates, status
    ``open``); ``job_id``/``firm_id``/``posted_at`` are left out when absent. Required
    certificates that match no catalogue entry go to ``certificates_unrecognised``.
    """
    return _validate(df, JOB_HEADERS, _JOB_FIELDS, JOB_REQUIRED, _finish_job)


def _finish_worker(duplicates: dict[str, int]):
    def finish(record: dict[str, Any], columns: dict[str, str], fail) -> None:
        number = record.get("id_number")
        if number is not None:
            first = duplicates.setdefault(number, record["row"])
            if first != record["row"]:
                fail("id_number", f"身份证号与第 {first} 行重复")
            from_id = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
            gender_id = "男" if int(number[16]) % 2 else "女"
            # An empty or absent 出生日期/性别 is taken from the ID number; a written one
            # must agree with it (a typo in either is likely).
            if record.get("birth_date") is None:
                record["birth_date"] = from_id
            elif record["birth_date"] != from_id:
                fail(
                    "birth_date", f"出生日期 {record['birth_date']} 与身份证号中的 {from_id} 不一致"
                )
            if record.get("gender") is None:
                record["gender"] = gender_id
            elif record["gender"] != gender_id:
                fail("gender", f"性别 {record['gender']} 与身份证号（{gender_id}）不一致")
        if record.get("min_wage") is not None and record["min_wage"] < 0:
            fail("min_wage", f"期望月薪 {record['min_wage']} 不能为负数")
        ids, unknown = normalize_certificates(record.get("certificates") or [])
        for name in record.get("certificates_unrecognised") or []:
            if name not in unknown:
                unknown.append(name)
        record["certificates"], record["certificates_unrecognised"] = ids, unknown

    return finish


def validate_workers(df: pd.DataFrame) -> ValidationResult:
    """Normalise a worker table (from :func:`read_table`) to :data:`data.schema.WORKER_COLUMNS`.

    Required columns: 姓名, 身份证号, 县区代码 (or 户籍县, a code or a county name), 学历.
    性别 and 出生日期 are taken from the ID number when absent and checked against it when
    present; an ID number repeated within the file is an error on each later row.
    """
    duplicates: dict[str, int] = {}
    return _validate(
        df, WORKER_HEADERS, _WORKER_FIELDS, WORKER_REQUIRED, _finish_worker(duplicates)
    )


# --------------------------------------------------------------------------- writing


def _export_cell(name: str, value: Any, record: Mapping[str, Any]) -> Any:
    if name in ("certificates", "certificates_required"):
        names = [certificate_name(c) for c in value or []]
        return "、".join(names + list(record.get("certificates_unrecognised") or []))
    if isinstance(value, bool):
        return "是" if value else "否"
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, (list, tuple)):
        return "、".join(str(v) for v in value)
    if isinstance(value, (dt.date, pd.Timestamp)):
        return value.isoformat()[:10]
    if name == "status":
        return _STATUS_ZH.get(value, value)
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return value


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    # openpyxl turns any str starting with "=" into a formula: force text instead.
    if isinstance(value, str) and value.startswith("="):
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value


def write_table(
    records: Iterable[Mapping[str, Any]] | pd.DataFrame,
    *,
    kind: Literal["jobs", "workers"],
    fmt: Literal["csv", "xlsx"],
) -> bytes:
    """Write records with Chinese headers, as ``.csv`` (UTF-8 with BOM, for Excel) or ``.xlsx``.

    Columns are those of the schema present in the records, in schema order. Lists are
    joined with ``、``; certificate ids are written as their Chinese names followed by the
    unrecognised names, so :func:`read_table` + ``validate_*`` give the same records back.
    The ID number is written as the records hold it: mask it first where the reader must
    not see it.
    """
    if kind not in ("jobs", "workers"):
        raise ValueError(f"kind {kind!r} is not supported; valid: 'jobs', 'workers'")
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"fmt {fmt!r} is not supported; valid: 'csv', 'xlsx'")
    rows = records.to_dict("records") if isinstance(records, pd.DataFrame) else list(records)
    schema, headers = (
        (JOB_COLUMNS, JOB_HEADERS) if kind == "jobs" else (WORKER_COLUMNS, WORKER_HEADERS)
    )
    present = {key for row in rows for key in row}
    names = [
        n for n in schema if n in present and n != "certificates_unrecognised"
    ]  # merged into the certificate column
    if (
        kind == "jobs"
        and "certificates_unrecognised" in present
        and "certificates_required" not in names
    ):
        names.append("certificates_required")
    header = [headers[n][0] for n in names]
    body = [[_export_cell(n, row.get(n), row) for n in names] for row in rows]
    if fmt == "csv":
        buf = io.StringIO(newline="")
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows([[_quote_formula(v) for v in row] for row in body])
        return buf.getvalue().encode("utf-8-sig")
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    sheet = wb.create_sheet("岗位" if kind == "jobs" else "劳动力")
    sheet.append(header)
    for row in body:
        sheet.append([_xlsx_cell(sheet, v) for v in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


__all__ = [
    "DEFAULT_MAX_BYTES",
    "JOB_HEADERS",
    "JOB_REQUIRED",
    "ReadLimits",
    "RowError",
    "TableError",
    "ValidationResult",
    "WORKER_HEADERS",
    "WORKER_REQUIRED",
    "read_table",
    "split_list",
    "validate_jobs",
    "validate_workers",
    "write_table",
]
