"""Loaders for the reference data in ``data/reference/``.

Every table is a plain UTF-8 CSV that people can edit (see ``data/reference/SOURCES.md``);
the loaders read each file once per process and hand out copies, so that a caller who
modifies a returned frame cannot corrupt the cache.

Examples
--------
>>> from data.reference import load_counties, paired_city, distance_km
>>> len(load_counties())
75
>>> paired_city("630224")
'无锡市'
>>> round(distance_km("海东市", "无锡市"))
1738
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import pandas as pd

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"

#: Confidence labels of a pairing, strongest first.
PARTNER_CONFIDENCES = ("sourced", "weak", "unknown")


def _read(name: str) -> pd.DataFrame:
    path = REFERENCE_DIR / name
    if not path.exists():
        raise FileNotFoundError(f"reference file {path} is missing (参考数据文件缺失)")
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def _split(value: str, sep: str) -> list[str]:
    return [part.strip() for part in value.split(sep) if part.strip()]


@cache
def _pairings() -> pd.DataFrame:
    df = _read("pairings.csv")
    bad = sorted(set(df["confidence"]) - set(PARTNER_CONFIDENCES))
    if bad:
        raise ValueError(
            f"pairings.csv: unknown confidence {bad!r}; valid: {list(PARTNER_CONFIDENCES)}"
        )
    dup = df["west_prefecture"][df["west_prefecture"].duplicated()].tolist()
    if dup:
        raise ValueError(f"pairings.csv: west_prefecture listed twice: {dup!r}")
    return df


def load_pairings() -> pd.DataFrame:
    """The Jiangsu–west city pairing.

    Returns
    -------
    pandas.DataFrame
        Columns ``west_prefecture, jiangsu_partner, confidence, source``; ``confidence`` is
        one of :data:`PARTNER_CONFIDENCES`. Prefectures with no known partner are absent.
    """
    return _pairings().copy()


@cache
def _counties() -> pd.DataFrame:
    df = _read("paired_counties_75.csv")
    # admin_code_cncity sometimes carries a remark ("610721 (as 南郑县, pre-2017 code)").
    df["county_code"] = df["admin_code_cncity"].str.extract(r"^\s*(\d{6})", expand=False)
    if df["county_code"].isna().any():
        bad = df.loc[df["county_code"].isna(), "county"].tolist()
        raise ValueError(f"paired_counties_75.csv: no 6-digit code for {bad!r}")
    df["exit_year"] = pd.to_numeric(df["exit_year"], errors="coerce").astype("Int64")
    df["partner_note"] = df["partner_confidence"]
    # pairings.csv is the one place to edit a pairing; the county file's own column is
    # only used for prefectures pairings.csv does not list.
    pairs = _pairings().set_index("west_prefecture")
    partner, confidence = [], []
    for pref, raw, note in zip(
        df["prefecture"], df["jiangsu_partner"], df["partner_confidence"], strict=True
    ):
        if pref in pairs.index:
            partner.append(pairs.at[pref, "jiangsu_partner"])
            confidence.append(pairs.at[pref, "confidence"])
        elif raw.strip():
            weak = raw.strip().endswith("?") or note.startswith("weak")
            partner.append(raw.strip().rstrip("?"))
            confidence.append("weak" if weak else "sourced")
        else:
            partner.append("")
            confidence.append("unknown")
    df["jiangsu_partner"] = partner
    df["partner_confidence"] = confidence
    columns = [
        "county_code", "province", "prefecture", "county", "exit_year", "exit_source",
        "jiangsu_partner", "partner_confidence", "partner_note", "partner_source",
        "admin_code_cncity",
    ]  # fmt: skip
    return df[columns]


def load_counties() -> pd.DataFrame:
    """The 75 western counties of the programme.

    Returns
    -------
    pandas.DataFrame
        One row per county: ``county_code`` (6-digit str), ``province``, ``prefecture``,
        ``county``, ``exit_year`` (nullable int), ``exit_source``, ``jiangsu_partner``
        (canonical Jiangsu prefecture, no ``?``; ``''`` when unknown),
        ``partner_confidence`` (``sourced|weak|unknown``), ``partner_note`` (the county
        file's original remark), ``partner_source``, ``admin_code_cncity``.
    """
    return _counties().copy()


@cache
def _county_code_changes() -> dict[str, str]:
    df = _read("county_code_changes.csv")
    return dict(zip(df["new_code"], df["old_code"], strict=True))


def county_code_changes() -> dict[str, str]:
    """Map of renamed counties' new codes to the code used in the 75-county file."""
    return dict(_county_code_changes())


@cache
def _jiangsu_cities() -> pd.DataFrame:
    return _read("jiangsu_cities.csv")


def load_jiangsu_cities() -> pd.DataFrame:
    """Jiangsu's county-level divisions with their prefecture.

    Returns
    -------
    pandas.DataFrame
        Columns ``prefecture, district, kind (市辖区|县级市|县), admin_code, short_name,
        former_names`` (``|``-separated names used before a merger or renaming).
    """
    return _jiangsu_cities().copy()


@cache
def _places() -> pd.DataFrame:
    df = _read("places.csv")
    df["lat"] = df["lat"].astype(float)
    df["lon"] = df["lon"].astype(float)
    return df


def load_places() -> pd.DataFrame:
    """Approximate prefecture centres (``prefecture, province, lat, lon, note``), 0.1° precision."""
    return _places().copy()


@cache
def _occupations(level: int) -> pd.DataFrame:
    df = _read("csco22.csv")
    df = df[df["level"] == str(level)].reset_index(drop=True)
    out = pd.DataFrame(
        {
            "code": df["code"],
            "name": df["name"],
            "definition": df["definition"],
            "tasks": df["tasks"],
            "aliases": [_split(a, ",") for a in df["alias"]],
            "major": df["code"].str[0],
        }
    )
    return out


def load_occupations(level: int = 4) -> pd.DataFrame:
    """Occupations of the 2022 Chinese occupational classification (职业分类大典).

    Parameters
    ----------
    level : {1, 2, 3, 4}, default 4
        4 gives the 1,634 detailed occupations; 1 the 8 major groups.

    Returns
    -------
    pandas.DataFrame
        ``code`` (``6-28-01-02``), ``name``, ``definition``, ``tasks``, ``aliases``
        (``list[str]``), ``major`` (first digit of the code, as str).
    """
    if level not in (1, 2, 3, 4):
        raise ValueError(f"level {level!r} is not a CSCO level; valid: 1, 2, 3, 4")
    df = _occupations(level).copy()
    df["aliases"] = [list(a) for a in df["aliases"]]
    return df


@cache
def _certificates() -> pd.DataFrame:
    df = _read("certificates.csv")
    dup = df["cert_id"][df["cert_id"].duplicated()].tolist()
    if dup:
        raise ValueError(f"certificates.csv: cert_id listed twice: {dup!r}")
    df["spellings"] = [_split(s, "|") for s in df["spellings"]]
    return df


def load_certificates() -> pd.DataFrame:
    """The certificate catalogue: ``cert_id, name, category, spellings`` (``list[str]``)."""
    df = _certificates().copy()
    df["spellings"] = [list(s) for s in df["spellings"]]
    return df


def load_title_testcases() -> pd.DataFrame:
    """Real job titles with their expected CSCO code: ``job_name, expected_code, expected_name``."""
    return _read("testcases.csv")


@cache
def _cncity() -> pd.DataFrame:
    return _read("cncity.csv").set_index("id")


@cache
def _county_index() -> dict[str, pd.Series]:
    return {row.county_code: row for row in _counties().itertuples(index=False)}


def _prefecture_of_code(code: str) -> str:
    code = _county_code_changes().get(code, code)
    row = _county_index().get(code)
    if row is not None:
        return row.prefecture
    cn = _cncity()
    parent = code[:4] + "00"
    return cn.at[parent, "name"] if parent in cn.index else ""


def paired_city(county_code: str) -> str:
    """The Jiangsu prefecture paired with a western county, or ``''`` when none is known.

    Counties outside the 75 get their prefecture's partner (a county of 海东 → 无锡市).
    """
    code = str(county_code).strip()
    if not (len(code) == 6 and code.isdigit()):
        raise ValueError(f"county code {county_code!r} is not a 6-digit administrative code")
    pref = _prefecture_of_code(code)
    pairs = _pairings().set_index("west_prefecture")["jiangsu_partner"]
    if pref in pairs.index:
        return pairs[pref]
    row = _county_index().get(_county_code_changes().get(code, code))
    return row.jiangsu_partner if row is not None else ""


def county_name(code: str) -> str:
    """Name of a county from its 6-digit code (the 75-county file first, then cncity)."""
    code = str(code).strip()
    row = _county_index().get(_county_code_changes().get(code, code))
    if row is not None:
        return row.county
    cn = _cncity()
    if code in cn.index:
        return cn.at[code, "name"]
    raise ValueError(f"unknown administrative code {code!r} (未知的行政区划代码)")


@cache
def _coordinates() -> dict[str, tuple[float, float]]:
    places = _places()
    return dict(
        zip(places["prefecture"], zip(places["lat"], places["lon"], strict=True), strict=True)
    )


def _place(name: str) -> tuple[float, float]:
    # A plain dict, built once: distance_km is called per worker-job pair in feature loops.
    coordinates = _coordinates()
    for candidate in (name, name + "市"):
        if candidate in coordinates:
            return coordinates[candidate]
    raise ValueError(f"no coordinates for {name!r} (无此地坐标); known: {', '.join(coordinates)}")


def distance_km(west_prefecture: str, jiangsu_prefecture: str) -> float:
    """Great-circle (haversine) distance between two prefecture centres, in km.

    Both names may be given with or without 市; coordinates are approximate (0.1°), so the
    result is good to roughly ±15 km.
    """
    lat1, lon1 = _place(west_prefecture)
    lat2, lon2 = _place(jiangsu_prefecture)
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


__all__ = [
    "PARTNER_CONFIDENCES",
    "REFERENCE_DIR",
    "county_code_changes",
    "county_name",
    "distance_km",
    "load_certificates",
    "load_counties",
    "load_jiangsu_cities",
    "load_occupations",
    "load_pairings",
    "load_places",
    "load_title_testcases",
    "paired_city",
]
