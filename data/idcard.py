"""Resident identity numbers (公民身份号码, GB 11643-1999).

An 18-character number: 6-digit administrative code of the place of first registration,
8-digit birth date ``YYYYMMDD``, 3-digit order code whose last digit is odd for men and
even for women, and a check character (ISO 7064 MOD 11-2: ``0``–``9`` or ``X``).

Examples
--------
>>> import datetime
>>> n = make_id_number("630224", datetime.date(1990, 5, 17), 12, "男")
>>> n
'630224199005170253'
>>> validate_id_number(n) == n, gender_of(n), birth_date_of(n)
(True, '男', datetime.date(1990, 5, 17))
>>> mask_id_number(n)
'6302**********0253'
"""

from __future__ import annotations

import datetime as dt
import operator
import re

import numpy as np

from data.normalize import fold_width

_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
_CHECK_CHARS = "10X98765432"
#: The same weights as plain ints: the per-number check sums them in C (map), ~10x faster
#: than a generator over numpy scalars.
_WEIGHT_INTS = tuple(int(w) for w in _WEIGHTS)
_CHECK_TABLE = np.frombuffer(_CHECK_CHARS.encode("ascii"), dtype=np.uint8)
#: Two-digit province codes of GB/T 2260 (71 台湾, 81 香港, 82 澳门 included: their
#: residents' numbers follow the same scheme).
PROVINCE_CODES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
    "50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)
_SHAPE = re.compile(r"\d{17}[\dX]")
_EARLIEST = dt.date(1800, 1, 1)  # GB 11643's own example is born in 1880


def check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits."""
    if not (len(first17) == 17 and first17.isdigit()):
        raise ValueError(f"{first17!r} is not 17 digits (需要17位数字)")
    total = sum(map(operator.mul, map(int, first17), _WEIGHT_INTS))
    return _CHECK_CHARS[total % 11]


def validate_id_number(s: str, *, today: dt.date | None = None) -> str:
    """Validate a resident ID number and return it in canonical form.

    Full-width characters are folded, spaces dropped and a lower-case ``x`` upper-cased.

    Parameters
    ----------
    s : str
        The number as written.
    today : datetime.date, optional
        Reference date for "not in the future" (defaults to today).

    Raises
    ------
    ValueError
        With a Chinese message naming the check that failed: length, characters, region
        code, birth date or check digit.
    """
    number = re.sub(r"\s+", "", fold_width(s)).upper()
    if len(number) != 18:
        raise ValueError(f"身份证号 {s!r} 长度为 {len(number)} 位，应为18位")
    if not _SHAPE.fullmatch(number):
        raise ValueError(f"身份证号 {s!r} 含非法字符：前17位须为数字，末位为数字或X")
    if number[:2] not in PROVINCE_CODES:
        raise ValueError(f"身份证号 {s!r} 的地区码 {number[:6]} 不是有效的省级代码")
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValueError(f"身份证号 {s!r} 的出生日期 {number[6:14]} 不是有效日期") from None
    if birth > (today or dt.date.today()) or birth < _EARLIEST:
        raise ValueError(f"身份证号 {s!r} 的出生日期 {birth.isoformat()} 不在合理范围内")
    expected = check_char(number[:17])
    if number[17] != expected:
        raise ValueError(f"身份证号 {s!r} 校验位错误：应为 {expected}，实为 {number[17]}")
    return number


def is_valid_id_number(s: str) -> bool:
    """``True`` when :func:`validate_id_number` accepts ``s``."""
    try:
        validate_id_number(s)
    except ValueError:
        return False
    return True


def _order_code(sequence: int, gender: str) -> int:
    if gender not in ("男", "女"):
        raise ValueError(f"gender {gender!r} is not 男 or 女")
    if not 0 <= int(sequence) <= 499:
        raise ValueError(f"sequence {sequence!r} must be in 0..499 (顺序号)")
    return 2 * int(sequence) + (1 if gender == "男" else 0)


def make_id_number(region_code6: str, birth_date: dt.date, sequence: int, gender: str) -> str:
    """Build a valid number.

    The 3-digit order code is ``2 * sequence + 1`` for 男 and ``2 * sequence`` for 女, so
    that ``sequence`` (0..499) and ``gender`` together are unique per region and day.
    """
    region = str(region_code6)
    if not (len(region) == 6 and region.isdigit() and region[:2] in PROVINCE_CODES):
        raise ValueError(f"region code {region_code6!r} is not a 6-digit administrative code")
    first17 = f"{region}{birth_date:%Y%m%d}{_order_code(sequence, gender):03d}"
    return first17 + check_char(first17)


def make_id_numbers(
    region_codes: np.ndarray,
    birth_dates: np.ndarray,
    sequences: np.ndarray,
    genders: np.ndarray,
) -> np.ndarray:
    """Vectorised :func:`make_id_number` over equal-length arrays.

    Parameters
    ----------
    region_codes : array of str or int, 6 digits each
    birth_dates : array of ``datetime64`` (or anything ``numpy`` converts to ``datetime64[D]``)
    sequences : int array in 0..499
    genders : array of ``'男'``/``'女'``

    Returns
    -------
    numpy.ndarray of str (``<U18``); a million rows take about a second.
    """
    regions = np.asarray(region_codes).astype("U6")
    dates = np.asarray(birth_dates).astype("datetime64[D]")
    seq = np.asarray(sequences).astype(np.int64)
    genders = np.asarray(genders)
    n = len(regions)
    if not (len(dates) == len(seq) == len(genders) == n):
        raise ValueError("make_id_numbers: all arrays must have the same length")
    bad_gender = ~np.isin(genders, ["男", "女"])
    if bad_gender.any():
        raise ValueError(f"gender {genders[bad_gender][0]!r} is not 男 or 女")
    if ((seq < 0) | (seq > 499)).any():
        raise ValueError(f"sequence {seq[(seq < 0) | (seq > 499)][0]!r} must be in 0..499")
    order = 2 * seq + (genders == "男")
    ymd = np.char.replace(np.datetime_as_string(dates, unit="D"), "-", "")
    first17 = np.char.add(np.char.add(regions, ymd), np.char.zfill(order.astype("U3"), 3))
    raw = np.frombuffer(first17.astype("S17").tobytes(), dtype=np.uint8).reshape(n, 17)
    digits = raw.astype(np.int64) - 48
    if ((digits < 0) | (digits > 9)).any() or (np.char.str_len(regions) != 6).any():
        raise ValueError("make_id_numbers: region codes must be 6 digits and dates 0001-9999")
    check = _CHECK_TABLE[(digits @ _WEIGHTS) % 11]
    out = np.concatenate([raw, check[:, None]], axis=1)
    return out.view("S18").ravel().astype("U18")


def mask_id_number(s: str) -> str:
    """Keep the first 4 and last 4 characters: ``6106**********123X``."""
    number = re.sub(r"\s+", "", fold_width(s)).upper()
    if len(number) < 9:
        raise ValueError(f"身份证号 {s!r} 太短，无法脱敏")
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def birth_date_of(s: str) -> dt.date:
    """Birth date written in a valid number."""
    number = validate_id_number(s)
    return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def gender_of(s: str) -> str:
    """``'男'`` when the 17th digit is odd, ``'女'`` when even."""
    return "男" if int(validate_id_number(s)[16]) % 2 else "女"


__all__ = [
    "PROVINCE_CODES",
    "birth_date_of",
    "check_char",
    "gender_of",
    "is_valid_id_number",
    "make_id_number",
    "make_id_numbers",
    "mask_id_number",
    "validate_id_number",
]
