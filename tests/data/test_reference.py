from __future__ import annotations

import pytest

from data.reference import (
    county_name,
    distance_km,
    load_certificates,
    load_counties,
    load_jiangsu_cities,
    load_occupations,
    load_pairings,
    load_places,
    load_title_testcases,
    paired_city,
)

JIANGSU_PREFECTURES = {
    "南京市", "无锡市", "徐州市", "常州市", "苏州市", "南通市", "连云港市",
    "淮安市", "盐城市", "扬州市", "镇江市", "泰州市", "宿迁市",
}  # fmt: skip


def test_counties_shape_and_codes():
    c = load_counties()
    assert len(c) == 75
    assert c["county_code"].str.fullmatch(r"\d{6}").all()
    assert c["county_code"].is_unique
    assert c["province"].value_counts().to_dict() == {"陕西省": 56, "青海省": 9, "贵州省": 10}
    assert not c["jiangsu_partner"].str.contains(r"\?").any()
    assert set(c["jiangsu_partner"]) - {""} <= JIANGSU_PREFECTURES
    assert set(c["partner_confidence"]) <= {"sourced", "weak", "unknown"}
    assert (c.loc[c["jiangsu_partner"] == "", "partner_confidence"] == "unknown").all()


def test_counties_copy_does_not_corrupt_cache():
    c = load_counties()
    c.loc[:, "county"] = "x"
    assert load_counties()["county"].iloc[0] != "x"


def test_jiangsu_cities():
    j = load_jiangsu_cities()
    assert set(j["prefecture"]) == JIANGSU_PREFECTURES
    assert set(j["kind"]) == {"市辖区", "县级市", "县"}
    assert j["admin_code"].str.fullmatch(r"32\d{4}").all()
    assert j["admin_code"].is_unique
    by_district = dict(zip(j["district"], j["prefecture"], strict=True))
    for district, pref in [("昆山市", "苏州市"), ("江阴市", "无锡市"), ("张家港市", "苏州市"),
                           ("常熟市", "苏州市"), ("太仓市", "苏州市"), ("宜兴市", "无锡市"),
                           ("溧阳市", "常州市"), ("丹阳市", "镇江市"), ("句容市", "镇江市"),
                           ("扬中市", "镇江市"), ("靖江市", "泰州市"), ("泰兴市", "泰州市"),
                           ("兴化市", "泰州市"), ("如皋市", "南通市"), ("海安市", "南通市"),
                           ("启东市", "南通市"), ("邳州市", "徐州市"), ("新沂市", "徐州市"),
                           ("东台市", "盐城市")]:  # fmt: skip
        assert by_district[district] == pref


def test_places_cover_all_prefectures():
    p = load_places()
    needed = JIANGSU_PREFECTURES | set(load_counties()["prefecture"])
    assert needed <= set(p["prefecture"])
    assert p["lat"].between(20, 45).all() and p["lon"].between(95, 125).all()


def test_pairings_confirmed_pairs():
    pairs = dict(
        zip(load_pairings()["west_prefecture"], load_pairings()["jiangsu_partner"], strict=True)
    )
    for west, js in [("铜仁市", "苏州市"), ("商洛市", "南京市"), ("延安市", "无锡市"),
                     ("海东市", "无锡市"), ("渭南市", "镇江市"), ("咸阳市", "泰州市")]:  # fmt: skip
        assert pairs[west] == js
    assert set(load_pairings()["jiangsu_partner"]) <= JIANGSU_PREFECTURES
    assert "榆林市" not in pairs  # unknown is left out, not guessed


@pytest.mark.parametrize(
    ("code", "partner"),
    [("630224", "无锡市"), ("520602", "苏州市"), ("611002", "南京市"), ("610825", ""),
     ("630299", "无锡市"), ("610703", "")],
)  # fmt: skip
def test_paired_city(code, partner):
    assert paired_city(code) == partner


def test_paired_city_rejects_non_code():
    with pytest.raises(ValueError, match="6-digit"):
        paired_city("化隆")


def test_distance():
    d = distance_km("海东市", "无锡市")
    assert 1650 < d < 1800
    assert distance_km("海东", "无锡") == d
    assert distance_km("苏州市", "苏州市") == 0
    assert distance_km("铜仁市", "苏州市") < distance_km("西宁市", "苏州市")
    with pytest.raises(ValueError, match="北京"):
        distance_km("北京", "苏州")


def test_county_name():
    assert county_name("630224") == "化隆回族自治县"
    assert county_name("610703") == "南郑区"  # renamed code maps to the county file's row
    assert county_name("320583") == "昆山市"
    with pytest.raises(ValueError, match="999999"):
        county_name("999999")


def test_occupations():
    occ = load_occupations()
    assert len(occ) == 1634
    assert list(occ.columns) == ["code", "name", "definition", "tasks", "aliases", "major"]
    assert occ["code"].str.fullmatch(r"\d-\d{2}-\d{2}-\d{2}").all()
    assert all(isinstance(a, list) for a in occ["aliases"])
    assert (occ["major"] == occ["code"].str[0]).all()
    assert len(load_occupations(1)) == 8
    with pytest.raises(ValueError, match="level 5"):
        load_occupations(5)


def test_certificates_catalogue():
    certs = load_certificates()
    assert len(certs) >= 30
    assert certs["cert_id"].is_unique
    for cert_id in ["special_work.welding", "special_work.electrician_low_voltage",
                    "special_work.height", "special_work.refrigeration",
                    "special_equipment.forklift", "special_equipment.crane",
                    "special_equipment.boiler", "driving.A1", "driving.A2", "driving.B2",
                    "driving.C1", "security_guard", "health", "elderly_care", "chinese_cook",
                    "childcare", "housekeeping", "electrician_vocational", "welder_vocational",
                    "nursing_assistant", "cnc_operator"]:  # fmt: skip
        assert cert_id in set(certs["cert_id"])
    assert all(isinstance(s, list) and s for s in certs["spellings"])
    # names are written into list cells on export: they must not contain a separator
    assert not certs["name"].str.contains(r"[、，,;；/]").any()


def test_title_testcases():
    t = load_title_testcases()
    assert list(t.columns) == ["job_name", "expected_code", "expected_name"]
    assert len(t) > 100
