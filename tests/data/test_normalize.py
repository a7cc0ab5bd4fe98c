from __future__ import annotations

import pytest

from data.normalize import (
    _cert_key,
    _cert_lookup,
    certificate_name,
    education_rank,
    fold_width,
    normalize_certificate,
    normalize_certificates,
    normalize_city,
    normalize_county,
    normalize_education,
)
from data.reference import load_certificates
from data.schema import EDUCATION_LEVELS


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("１２３ＡＢｃ", "123ABc"),
        ("（叉车）", "(叉车)"),
        ("\u3000苏州\u3000", "苏州"),
        (None, ""),
        ("a，b", "a,b"),
    ],
)
def test_fold_width(text, folded):
    assert fold_width(text) == folded


@pytest.mark.parametrize(
    ("name", "cert_id"),
    [
        ("叉车证", "special_equipment.forklift"),
        ("叉车操作证", "special_equipment.forklift"),
        ("N1证", "special_equipment.forklift"),
        ("ｎ１", "special_equipment.forklift"),
        ("叉 车 证", "special_equipment.forklift"),
        ("特种设备作业人员证（叉车司机）", "special_equipment.forklift"),
        ("特种设备作业人员证(叉车司机 N1)", "special_equipment.forklift"),
        ("特种设备作业人员证（叉车司机 N1）", "special_equipment.forklift"),
        ("电工证", "special_work.electrician_low_voltage"),
        ("低压电工证", "special_work.electrician_low_voltage"),
        ("特种作业操作证（低压电工作业）", "special_work.electrician_low_voltage"),
        ("焊工证", "special_work.welding"),
        ("电焊证", "special_work.welding"),
        ("特种作业操作证（焊接与热切割作业）", "special_work.welding"),
        ("登高证", "special_work.height"),
        ("高空作业证", "special_work.height"),
        ("制冷证", "special_work.refrigeration"),
        ("Q2证", "special_equipment.crane"),
        ("行车证", "special_equipment.crane"),
        ("锅炉证", "special_equipment.boiler"),
        ("A2驾照", "driving.A2"),
        ("a2驾驶证", "driving.A2"),
        ("B2驾驶证", "driving.B2"),
        ("Ｂ２", "driving.B2"),
        ("驾照C1", "driving.C1"),
        ("C照", "driving.C1"),
        ("C1驾驶证", "driving.C1"),
        ("健康证", "health"),
        ("健康证明", "health"),
        ("保安证", "security_guard"),
        ("护工证", "nursing_assistant"),
        ("养老护理员证", "elderly_care"),
        ("中式烹调师证", "chinese_cook"),
        ("育婴师证", "childcare"),
        ("家政服务员", "housekeeping"),
        ("中级电工证", "electrician_vocational"),
        ("高级焊工证", "welder_vocational"),
        ("数控车床操作证", "cnc_operator"),
    ],
)
def test_normalize_certificate(name, cert_id):
    assert normalize_certificate(name) == cert_id


@pytest.mark.parametrize("name", ["挖掘机证", "", "   ", "教师资格证", "xyz"])
def test_unknown_certificate_is_none(name):
    assert normalize_certificate(name) is None


def test_every_catalogue_spelling_and_name_maps_to_its_own_id():
    for row in load_certificates().itertuples(index=False):
        for spelling in [row.name, *row.spellings]:
            assert normalize_certificate(spelling) == row.cert_id, spelling


def test_no_spelling_key_collides():
    # _cert_lookup raises on a spelling claimed by two ids; building it must succeed
    lookup = _cert_lookup()
    assert lookup[_cert_key("叉车证")] == "special_equipment.forklift"


def test_normalize_certificates_dedups_and_keeps_unknown():
    ids, unknown = normalize_certificates(["叉车证", "N1证", "挖掘机证", "健康证", "", "挖掘机证"])
    assert ids == ["special_equipment.forklift", "health"]
    assert unknown == ["挖掘机证"]


def test_certificate_name():
    assert certificate_name("special_equipment.forklift").startswith("特种设备作业人员证")
    with pytest.raises(ValueError, match="special_equipment.forklift"):
        certificate_name("forklift")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("苏州", ("苏州市", "")),
        ("苏州市", ("苏州市", "")),
        ("ＳＵ州", None),
        ("昆山", ("苏州市", "昆山市")),
        ("昆山市", ("苏州市", "昆山市")),
        ("江苏省苏州市昆山市", ("苏州市", "昆山市")),
        ("江苏苏州昆山", ("苏州市", "昆山市")),
        ("苏州 昆山", ("苏州市", "昆山市")),
        ("\u3000无锡市\u3000", ("无锡市", "")),
        ("江阴", ("无锡市", "江阴市")),
        ("张家港市", ("苏州市", "张家港市")),
        ("南京鼓楼", ("南京市", "鼓楼区")),
        ("徐州市鼓楼区", ("徐州市", "鼓楼区")),
        ("淮安", ("淮安市", "")),
        ("淮安区", ("淮安市", "淮安区")),
        ("海门市", ("南通市", "海门区")),
        ("海安县", ("南通市", "海安市")),
        ("连云港", ("连云港市", "")),
        ("苏州市江阴市", None),
        ("苏州工业园区", ("苏州市", "")),
        ("江苏省无锡市新吴区", ("无锡市", "新吴区")),
    ],
)
def test_normalize_city(name, expected):
    assert normalize_city(name) == expected


@pytest.mark.parametrize("name", ["鼓楼", "鼓楼区", "西安", "上海市", "陕西省西安市", "江苏省", ""])
def test_normalize_city_unknown_or_ambiguous(name):
    assert normalize_city(name) is None


@pytest.mark.parametrize(
    ("label", "level"),
    [
        ("初中", "初中"), ("初中毕业", "初中"), ("初中及以上", "初中"), ("高中/中专", "高中"),
        ("中技", "技校"), ("技工学校", "技校"), ("职业高中", "职高"), ("大学专科", "大专"),
        ("专科", "大专"), ("大学本科", "本科"), ("小学及以下", "小学"), ("文盲", "小学"),
        ("半文盲", "小学"), ("初中以下", "小学"), ("大专及以上学历", "大专"),
        ("　高中　", "高中"), ("硕士", "研究生"),
    ],
)  # fmt: skip
def test_normalize_education(label, level):
    assert normalize_education(label) == level
    assert level in EDUCATION_LEVELS


@pytest.mark.parametrize("label", ["", "幼儿园", "高等", "xx"])
def test_normalize_education_rejects(label):
    with pytest.raises(ValueError, match="初中"):  # the valid levels are listed
        normalize_education(label)


def test_education_rank():
    assert education_rank("中专") == education_rank("高中") == 3
    assert education_rank("初中毕业") < education_rank("大学专科")


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("化隆", "630224"), ("化隆县", "630224"), ("化隆回族自治县", "630224"),
        ("630224", "630224"), (630224, "630224"), ("６３０２２４", "630224"),
        ("海东市化隆县", "630224"), ("青海省海东市化隆回族自治县", "630224"),
        ("循化", "630225"), ("印江", "520625"), ("洋县", "610723"), ("南郑区", "610721"),
        ("610703", "610721"), ("镇安县", "611025"), ("青海海东化隆", "630224"),
        ("陕西省商洛市镇安县", "611025"),
    ],
)  # fmt: skip
def test_normalize_county(value, code):
    assert normalize_county(value) == code


@pytest.mark.parametrize("value", ["昆山市", "110105", "不知道", "", "63022"])
def test_normalize_county_rejects(value):
    with pytest.raises(ValueError, match="75"):
        normalize_county(value)
