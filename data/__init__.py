"""Reference data, normalisers, resident-ID numbers and spreadsheet import/export.

The record contract is :mod:`data.schema`; everything here turns what people type into
those canonical values, or reads the reference tables in ``data/reference/``.
"""

from __future__ import annotations

from data.demo import DemoWorld, generate_world
from data.idcard import (
    birth_date_of,
    gender_of,
    is_valid_id_number,
    make_id_number,
    make_id_numbers,
    mask_id_number,
    validate_id_number,
)
from data.normalize import (
    certificate_name,
    education_rank,
    fold_width,
    normalize_certificate,
    normalize_certificates,
    normalize_city,
    normalize_county,
    normalize_education,
)
from data.outcomes import (
    OutcomeModel,
    hard_rules_ok,
    historical_pairs,
    simulate_outcomes,
    true_pair_utility,
)
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
from data.tabular import (
    RowError,
    TableError,
    ValidationResult,
    read_table,
    validate_jobs,
    validate_workers,
    write_table,
)

__all__ = [
    "DemoWorld",
    "OutcomeModel",
    "RowError",
    "TableError",
    "ValidationResult",
    "birth_date_of",
    "certificate_name",
    "county_name",
    "distance_km",
    "education_rank",
    "fold_width",
    "gender_of",
    "generate_world",
    "hard_rules_ok",
    "historical_pairs",
    "is_valid_id_number",
    "load_certificates",
    "load_counties",
    "load_jiangsu_cities",
    "load_occupations",
    "load_pairings",
    "load_places",
    "load_title_testcases",
    "make_id_number",
    "make_id_numbers",
    "mask_id_number",
    "normalize_certificate",
    "normalize_certificates",
    "normalize_city",
    "normalize_county",
    "normalize_education",
    "paired_city",
    "read_table",
    "simulate_outcomes",
    "true_pair_utility",
    "validate_id_number",
    "validate_jobs",
    "validate_workers",
    "write_table",
]
