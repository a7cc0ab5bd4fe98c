from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pytest

from data.idcard import (
    birth_date_of,
    check_char,
    gender_of,
    is_valid_id_number,
    make_id_number,
    make_id_numbers,
    mask_id_number,
    validate_id_number,
)

# The worked examples printed in GB 11643-1999 itself, computed independently of this code.
STANDARD_EXAMPLES = ["11010519491231002X", "440524188001010014"]


@pytest.mark.parametrize("number", STANDARD_EXAMPLES)
def test_standard_examples_are_valid(number):
    assert validate_id_number(number) == number


def test_check_char_by_hand():
    # 11010519491231002: weighted sum 167, 167 % 11 = 2 -> 'X'
    assert check_char("11010519491231002") == "X"
    assert check_char("44052418800101001") == "4"


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("11010519491231002x", "11010519491231002X"),
        ("１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X"),
        (" 110105 19491231 002X ", "11010519491231002X"),
    ],
)
def test_validate_folds_width_case_and_spaces(written, canonical):
    assert validate_id_number(written) == canonical


@pytest.mark.parametrize(
    ("number", "match"),
    [
        ("11010519491231002", "长度"),
        ("1101051949123100XX", "非法字符"),
        ("99010519491231002X", "地区码"),
        ("110105194902300021", "出生日期"),
        ("110105209901010011", "出生日期"),  # in the future
        ("110105194912310021", "校验位"),
    ],
)
def test_validate_names_the_failed_check(number, match):
    with pytest.raises(ValueError, match=match):
        validate_id_number(number)
    assert not is_valid_id_number(number)


def test_future_birth_relative_to_today():
    n = make_id_number("630224", dt.date(2020, 1, 1), 0, "男")
    with pytest.raises(ValueError, match="出生日期"):
        validate_id_number(n, today=dt.date(2019, 12, 31))


@pytest.mark.parametrize("gender", ["男", "女"])
@pytest.mark.parametrize("sequence", [0, 7, 499])
def test_make_encodes_birth_and_gender(gender, sequence):
    n = make_id_number("610621", dt.date(1992, 2, 29), sequence, gender)
    assert validate_id_number(n) == n
    assert n.startswith("61062119920229")
    assert gender_of(n) == gender
    assert int(n[16]) % 2 == (1 if gender == "男" else 0)
    assert birth_date_of(n) == dt.date(1992, 2, 29)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("61062", dt.date(1990, 1, 1), 1, "男"), "region"),
        (("990000", dt.date(1990, 1, 1), 1, "男"), "region"),
        (("610621", dt.date(1990, 1, 1), 500, "男"), "sequence"),
        (("610621", dt.date(1990, 1, 1), 1, "M"), "gender"),
    ],
)
def test_make_rejects_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        make_id_number(*args)


def test_make_id_numbers_matches_scalar_version():
    rng = np.random.default_rng(3)
    n = 500
    regions = rng.choice(["630224", "610621", "520602"], n)
    dates = np.datetime64("1960-01-01") + rng.integers(0, 20000, n)
    seq = rng.integers(0, 500, n)
    genders = rng.choice(["男", "女"], n)
    out = make_id_numbers(regions, dates, seq, genders)
    expected = [
        make_id_number(r, d.astype(dt.date), int(s), g)
        for r, d, s, g in zip(regions, dates, seq, genders, strict=True)
    ]
    assert out.tolist() == expected


def test_make_id_numbers_million_rows_fast():
    n = 1_000_000
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    out = make_id_numbers(
        np.full(n, "630224"),
        np.datetime64("1970-01-01") + rng.integers(0, 15000, n),
        rng.integers(0, 500, n),
        rng.choice(["男", "女"], n),
    )
    elapsed = time.perf_counter() - start
    assert len(out) == n
    assert all(is_valid_id_number(x) for x in out[:: n // 200])
    assert elapsed < 60, f"make_id_numbers took {elapsed:.1f}s for a million rows"


def test_make_id_numbers_rejects_bad_input():
    with pytest.raises(ValueError, match="gender"):
        make_id_numbers(["630224"], np.array(["1990-01-01"], "datetime64[D]"), [1], ["x"])
    with pytest.raises(ValueError, match="same length"):
        make_id_numbers(
            ["630224", "630224"], np.array(["1990-01-01"], "datetime64[D]"), [1], ["男"]
        )


@pytest.mark.parametrize(
    ("number", "masked"),
    [("61062119920229123X", "6106**********123X"), ("11010519491231002x", "1101**********002X")],
)
def test_mask(number, masked):
    assert mask_id_number(number) == masked
