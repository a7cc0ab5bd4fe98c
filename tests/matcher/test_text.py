from __future__ import annotations

import time

import numpy as np
import pytest

from matcher.text import char_ngrams, clean_title, normalize_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＣＮＣ操作工１２人", "cnc操作工12人"),  # full-width letters and digits
        ("月薪５０００－６０００元", "月薪5000-6000元"),
        ("縫紉工，電腦平車", "缝纫工,电脑平车"),  # traditional -> simplified
        ("叉車司機（持證）", "叉车司机(持证)"),
        ("理髮師", "理发师"),
        ("【急招】普工！！", "急招 普工"),  # decoration dropped
        ("★高薪★ 厨师😀🍳", "高薪 厨师"),  # emoji dropped
        ("焊工、电工；钳工：", "焊工,电工;钳工:"),  # Chinese punctuation unified
        ("  多个\t空格\n换行  ", "多个 空格 换行"),
        ("包装工——计件", "包装工--计件"),
        ("周碧…招聘", "周碧...招聘"),
        ("SMT Operator", "smt operator"),
        ("", ""),
        (None, ""),
        (float("nan"), ""),
    ],
)
def test_normalize_text(raw, expected):
    assert normalize_text(raw) == expected


def test_normalize_text_keeps_simplified_text_unchanged():
    # Characters shared by both scripts must not be "converted" (干 stays 干, 后 stays 后).
    assert normalize_text("干燥工 后勤 发货员") == "干燥工 后勤 发货员"


def test_normalize_text_accepts_numpy_strings():
    assert normalize_text(np.str_("縫紉")) == "缝纫"


@pytest.mark.parametrize("bad", [42, 3.5, ["普工"], b"bytes"])
def test_normalize_text_rejects_non_text_naming_the_value(bad):
    with pytest.raises(TypeError, match=type(bad).__name__):
        normalize_text(bad)


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("普工+包吃住+月入6000", "普工"),
        ("【急招】电子厂质检员（月7000）18-45岁 长白班", "电子厂质检员"),
        ("叉车司机/仓管 五险一金", "叉车司机 仓管"),
        ("缝纫工（计件）+多劳多得+月入10100", "缝纫工 计件 多劳多得"),
        ("萍乡市安源区周碧...招聘店员/营业员", "店员 营业员"),
        ("长白班文员月薪5-6K无需经验", "文员"),
        ("销售代表(J18843)", "销售代表"),
        ("盐城焊工电工包吃住月7000+", "盐城焊工电工"),
        ("电影院检票员300/天包吃包住", "电影院检票员"),
        ("CNC操作工12人 无经验可", "cnc操作工"),
        ("電子廠普工 45歲以下", "电子厂普工"),
        ("高端月子中心急聘1W起", "高端月子中心"),
        ("包吃住", ""),
        ("", ""),
    ],
)
def test_clean_title_removes_marketing_noise(title, expected):
    assert clean_title(title) == expected


@pytest.mark.parametrize("office_title", ["招聘专员", "社保专员", "宿舍管理员", "福利经理"])
def test_clean_title_keeps_office_titles_that_start_like_noise(office_title):
    assert clean_title(office_title) == office_title


def test_clean_title_keeps_occupation_words_in_brackets():
    assert clean_title("普工（仪表工）") == "普工 仪表工"


def test_char_ngrams():
    assert char_ngrams("叉车司机", (2, 2)) == ["叉车", "车司", "司机"]
    assert char_ngrams("叉車 工", (1, 2)) == ["叉", "车", "叉车", "工"]
    assert char_ngrams("", (1, 3)) == []


def test_char_ngrams_rejects_bad_range():
    with pytest.raises(ValueError, match=r"\(3, 1\)"):
        char_ngrams("普工", (3, 1))


def test_cleaning_is_fast():
    # 20,000 distinct titles (no cache hits); 100k in ~2 s is the target, this keeps 5x slack
    # for a busy CI machine.
    titles = [f"缝纫工+包吃住+月入{4000 + i}（急招）{i}岁" for i in range(20_000)]
    t0 = time.perf_counter()
    out = [clean_title(t) for t in titles]
    assert time.perf_counter() - t0 < 2.0
    assert set(out) == {"缝纫工"}
