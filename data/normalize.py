"""Normalisers: turn what clerks and HR departments type into the canonical values of
:mod:`data.schema`.

All of them fold full-width characters first (``ＡＢ１２`` → ``AB12``) and are cached, so
that validating a 10,000-row spreadsheet costs one lookup per distinct value.

Examples
--------
>>> normalize_certificate("叉车证")
'special_equipment.forklift'
>>> normalize_city("江苏省苏州市昆山市")
('苏州市', '昆山市')
>>> normalize_education("高中/中专")
'高中'
>>> normalize_county("化隆")
'630224'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache

from data.reference import (
    _certificates,
    _counties,
    _county_code_changes,
    _jiangsu_cities,
)
from data.schema import EDUCATION_LEVELS


def fold_width(text: str | None) -> str:
    """Fold full-width digits, letters, punctuation and spaces to half-width (NFKC), strip.

    ``None`` gives ``''``; ``（`` becomes ``(``, ``１２`` becomes ``12``, ``　`` a space.
    """
    if text is None:
        return ""
    return unicodedata.normalize("NFKC", str(text)).strip()


# --------------------------------------------------------------------------- certificates

_PUNCT = re.compile(r"[\s()\[\]{}<>《》【】「」『』〔〕·•・.,，、;；:：/\\|_\-—–~'\"“”‘’+＋]+")
# Suffixes people append to a certificate's name; stripped repeatedly from the end.
_CERT_SUFFIXES = (
    "职业技能等级证书", "职业资格证书", "资格证书", "操作证书", "上岗证书", "证书",
    "操作证", "上岗证", "资格证", "驾驶执照", "驾驶证", "驾照", "执照", "证件", "证", "照",
)  # fmt: skip
_CERT_PREFIXES = ("机动车驾驶证", "驾驶证", "驾照", "持有", "有")
# Generic headings under which the specific certificate is named in brackets:
# 特种设备作业人员证（叉车司机） → 叉车司机.
_CERT_GENERIC = (
    "特种设备作业人员证", "特种设备作业人员", "特种设备操作证", "特种设备",
    "特种作业操作证", "特种作业证", "特种作业", "职业技能等级证书", "职业资格证书",
    "职业资格", "国家职业资格", "高级技师", "技师", "初级", "中级", "高级",
    "五级", "四级", "三级", "二级", "一级",
)  # fmt: skip
_EQUIPMENT_CODE = re.compile(r"[a-z]\d?")


def _strip_affixes(key: str) -> str:
    changed = True
    while changed and key:
        changed = False
        for suffix in _CERT_SUFFIXES:
            if key.endswith(suffix) and len(key) > len(suffix):
                key, changed = key[: -len(suffix)], True
                break
        for prefix in _CERT_PREFIXES:
            if key.startswith(prefix) and len(key) > len(prefix):
                key, changed = key[len(prefix) :], True
                break
    return key


def _cert_key(text: str) -> str:
    return _strip_affixes(_PUNCT.sub("", fold_width(text).lower()))


@cache
def _cert_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    for row in _certificates().itertuples(index=False):
        for spelling in (row.cert_id, row.name, *row.spellings):
            key = _cert_key(spelling)
            other = lookup.setdefault(key, row.cert_id)
            if other != row.cert_id:
                raise ValueError(
                    f"certificates.csv: spelling {spelling!r} is claimed by both "
                    f"{other!r} and {row.cert_id!r}"
                )
    return lookup


def _cert_candidates(key: str) -> Iterable[str]:
    yield key
    stripped = key
    for _ in range(3):  # 特种作业操作证(高级焊工) peels more than one heading
        for generic in _CERT_GENERIC:
            if stripped.startswith(generic) and len(stripped) > len(generic):
                stripped = _strip_affixes(stripped[len(generic) :])
                yield stripped
    # 叉车司机n1 → 叉车司机 and n1
    codes = _EQUIPMENT_CODE.findall(stripped)
    rest = _strip_affixes(_EQUIPMENT_CODE.sub("", stripped))
    if codes and rest:
        yield rest
        yield from codes


@cache
def normalize_certificate(name: str) -> str | None:
    """Canonical certificate id for a name as written, or ``None`` when none matches.

    Width, spaces, brackets and suffixes such as 证/证书/操作证/驾照/驾驶证 do not matter;
    a generic heading with the specific certificate in brackets is understood
    (``特种设备作业人员证（叉车司机）`` → ``special_equipment.forklift``).

    A bare 电工证 means the 特种作业 low-voltage licence (what postings ask for);
    graded names (中级电工, 电工等级证) mean the vocational qualification.
    """
    key = _cert_key(name)
    if not key:
        return None
    lookup = _cert_lookup()
    for candidate in _cert_candidates(key):
        if candidate in lookup:
            return lookup[candidate]
    return None


def normalize_certificates(names: Iterable[str]) -> tuple[list[str], list[str]]:
    """Split names into (canonical ids de-duplicated in order, unrecognised names as written)."""
    ids: list[str] = []
    unknown: list[str] = []
    for name in names:
        written = fold_width(name)
        if not written:
            continue
        cert = normalize_certificate(written)
        if cert is None:
            if written not in unknown:
                unknown.append(written)
        elif cert not in ids:
            ids.append(cert)
    return ids, unknown


@cache
def _certificate_names() -> dict[str, str]:
    return dict(zip(_certificates()["cert_id"], _certificates()["name"], strict=True))


def certificate_name(cert_id: str) -> str:
    """Canonical Chinese name of a certificate id, for reasons shown to users."""
    names = _certificate_names()
    if cert_id not in names:
        raise ValueError(
            f"unknown certificate id {cert_id!r} (未知证书编号); valid: {', '.join(names)}"
        )
    return names[cert_id]


# --------------------------------------------------------------------------- cities

_PROVINCE_PREFIX = re.compile(r"^(中国)?江苏(省)?")


@cache
def _city_tables() -> tuple[dict[str, str], dict[str, set[tuple[str, str]]]]:
    """(prefecture key → prefecture, district key → {(prefecture, district)})."""
    cities = _jiangsu_cities()
    prefectures: dict[str, str] = {}
    for pref in cities["prefecture"].unique():
        prefectures[pref] = pref
        prefectures[pref.removesuffix("市")] = pref
    districts: dict[str, set[tuple[str, str]]] = {}
    for row in cities.itertuples(index=False):
        names = {row.district, row.short_name, *row.former_names.split("|")}
        for former in row.former_names.split("|"):
            if former:
                names.add(re.sub(r"[市区县]$", "", former))
        for name in names - {""}:
            districts.setdefault(name, set()).add((row.prefecture, row.district))
    return prefectures, districts


@cache
def normalize_city(name: str) -> tuple[str, str] | None:
    """Canonical ``(prefecture, district)`` of a place in Jiangsu, or ``None``.

    ``苏州``, ``苏州市`` → ``('苏州市', '')``; ``昆山``, ``昆山市``, ``苏州昆山``,
    ``江苏省苏州市昆山市`` → ``('苏州市', '昆山市')``. Former names (海门市, 港闸区,
    清河区) give today's district. A district name that exists in two prefectures
    (鼓楼区: 南京 and 徐州) is only resolved when the prefecture is written too
    (``南京鼓楼``); alone it is ambiguous and gives ``None``, as does any place outside
    Jiangsu. A prefecture name always wins over a same-named district (淮安 → 淮安市).
    A prefecture followed by one of its development zones (苏州工业园区, 南京高新区)
    gives the prefecture alone; followed by anything else (南京路, 苏州江阴: a street,
    another prefecture's district) it gives ``None`` — a city is a known place or nothing.
    """
    text = _PUNCT.sub("", fold_width(name))
    text = _PROVINCE_PREFIX.sub("", text)
    if not text:
        return None
    prefectures, districts = _city_tables()
    if text in prefectures:
        return prefectures[text], ""
    found = districts.get(text, set())
    if len(found) == 1:
        return next(iter(found))
    if found:
        return None  # ambiguous without its prefecture
    # prefecture written first: 苏州市昆山市, 苏州昆山, 南京鼓楼区
    for key in sorted(prefectures, key=len, reverse=True):
        if text.startswith(key):
            pref, rest = prefectures[key], text[len(key) :]
            rest = rest.removeprefix("市") if key == pref.removesuffix("市") else rest
            if not rest:
                return pref, ""
            for p, d in districts.get(rest, set()):
                if p == pref:
                    return p, d
            if rest in districts:  # a district of another prefecture: contradictory
                return None
            # 苏州工业园区, 南京高新区: a development zone of the prefecture, not a
            # county-level name; the prefecture alone is right. Anything else (南京路,
            # 昆山路12号) is a street or a typo, not a place this service can place a job in.
            if _ZONE_SUFFIX.fullmatch(rest):
                return pref, ""
            return None
    return None


#: What may follow a prefecture's name and still mean the prefecture: its development zones.
_ZONE_SUFFIX = re.compile(
    r"(工业园区?|园区|高新区|高新技术产业开发区|经济技术开发区|经济开发区|经开区|开发区|新区)"
)


def city_suggestions(name: str, limit: int = 5) -> list[str]:
    """Known Jiangsu cities and districts whose names are close to ``name`` (best first).

    What an error message offers when :func:`normalize_city` refuses a name: ``南京路`` →
    ``['南京市', …]``.

    >>> city_suggestions("南京路")[0]
    '南京市'
    """
    import difflib

    text = _PUNCT.sub("", fold_width(str(name)))
    text = _PROVINCE_PREFIX.sub("", text)
    if not text:
        return []
    prefectures, districts = _city_tables()
    canonical: dict[str, str] = {}
    for key, pref in prefectures.items():
        canonical.setdefault(key, pref)
    for key, places in districts.items():
        for pref, district in places:
            canonical.setdefault(key, pref + district)
    out: list[str] = []
    # A known name the text starts with (南京路 → 南京) comes first, then similar spellings.
    starts = sorted((k for k in canonical if text.startswith(k)), key=len, reverse=True)
    close = difflib.get_close_matches(text, list(canonical), n=limit * 3, cutoff=0.5)
    for key in [*starts, *close]:
        if canonical[key] not in out:
            out.append(canonical[key])
    return out[:limit]


# --------------------------------------------------------------------------- education

_EDUCATION_ALIASES = {
    # 文盲/半文盲 have no level of their own in the schema; they are mapped to the lowest
    # level so that the worker is still registered (no job requires less than 小学).
    "文盲": "小学", "半文盲": "小学", "未上学": "小学", "无": "小学", "小学以下": "小学",
    "小学及以下": "小学", "小学或以下": "小学", "初中以下": "小学", "高中以下": "初中",
    "初级中学": "初中", "普通初中": "初中",
    "普通高中": "高中", "高级中学": "高中",
    "中等专业学校": "中专", "中等专科": "中专", "中职": "中专",
    "技工学校": "技校", "中技": "技校", "技工": "技校", "技工院校": "技校",
    "职业高中": "职高",
    "大学专科": "大专", "专科": "大专", "高职": "大专", "高职高专": "大专", "大专高职": "大专",
    "大学本科": "本科", "学士": "本科", "大学": "本科",
    "硕士": "研究生", "硕士研究生": "研究生", "博士": "研究生", "博士研究生": "研究生",
}  # fmt: skip
_EDUCATION_SUFFIX = re.compile(r"(毕业|及以上|以上|学历|文化|程度|水平)+$")


@cache
def normalize_education(label: str) -> str:
    """Canonical education level (a key of :data:`data.schema.EDUCATION_LEVELS`).

    Accepts 初中毕业, 初中及以上, 高中/中专 (the first of equal-ranked alternatives),
    中技 and 技工学校 (技校), 职业高中 (职高), 大学专科/专科 (大专), 大学本科 (本科),
    小学及以下 (小学); 文盲/半文盲 are mapped to 小学, the lowest level the schema has.

    Raises
    ------
    ValueError
        Naming the value and the valid levels.
    """
    text = _PUNCT.sub("/", fold_width(label)).strip("/")
    for part in text.split("/"):
        part = _EDUCATION_SUFFIX.sub("", part) or part
        part = _EDUCATION_ALIASES.get(part, part)
        if part in EDUCATION_LEVELS:
            return part
    raise ValueError(f"学历 {label!r} 无法识别；可用：{'、'.join(EDUCATION_LEVELS)}")


def education_rank(label: str) -> int:
    """Rank of an education level, 1 (小学) … 6 (研究生); equal ranks are equivalent."""
    return EDUCATION_LEVELS[normalize_education(label)]


# --------------------------------------------------------------------------- counties

_ETHNIC_AUTONOMY = re.compile(r"((回|土|撒拉|苗|侗|土家|藏|蒙古)族)*自治县$")


@cache
def _county_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    counties = _counties()
    for row in counties.itertuples(index=False):
        county = row.county
        base = _ETHNIC_AUTONOMY.sub("", county)
        base = re.sub(r"[县区市]$", "", base) if len(base) > 2 else base
        names = {county, base, base + "县", base + "区", base + "市"}
        province_short = row.province.removesuffix("省")
        prefecture_short = row.prefecture.removesuffix("市")
        prefixes = {""}
        for prov in ("", row.province, province_short):
            for pref in (row.prefecture, prefecture_short):
                prefixes.add(prov + pref)
        for name in names:
            for prefix in prefixes:
                lookup[prefix + name] = row.county_code
    return lookup


@cache
def normalize_county(value: str | int) -> str:
    """6-digit code of one of the 75 counties from its code or name.

    ``630224``, ``化隆``, ``化隆县``, ``化隆回族自治县`` and ``海东市化隆县`` all give
    ``'630224'``. A county renamed since the 75-county file (南郑区 610703) gives the code
    used there (610721).

    Raises
    ------
    ValueError
        When the value is not one of the 75 counties.
    """
    text = _PUNCT.sub("", fold_width(str(value)))
    if re.fullmatch(r"\d{6}(\.0+)?", text):
        code = _county_code_changes().get(text[:6], text[:6])
        if code in set(_counties()["county_code"]):
            return code
    elif text in _county_lookup():
        return _county_lookup()[text]
    raise ValueError(
        f"县区 {value!r} 不在75个协作县之列；请填写6位行政区划代码或县名，如 630224 或 化隆县"
    )


__all__ = [
    "certificate_name",
    "education_rank",
    "fold_width",
    "normalize_certificate",
    "normalize_certificates",
    "city_suggestions",
    "normalize_city",
    "normalize_county",
    "normalize_education",
]
