"""jobbridge's matching engine: text, encoders, occupations, hard rules, retrieval, ranking,
firms' outcome history, reasons, persistence, allocation and job-fair scheduling.

The public names are re-exported here lazily (PEP 562): ``import matcher`` stays cheap
(no torch, no OR-Tools) and a module is imported on first use of one of its names, e.g.
``from matcher import MatchingEngine``.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, tuple[str, ...]] = {
    "matcher.engine": ("MatchingEngine", "resolve_encoder"),
    "matcher.rules": (
        "DEFAULT_EDUCATION_RANKS",
        "RULES",
        "RULE_LABELS",
        "jobs_mask_for_worker",
        "pair_mask",
        "workers_mask_for_job",
    ),
    "matcher.features": (
        "FEATURE_NAMES",
        "Geography",
        "NameOccupationCoder",
        "code_match_level",
        "haversine_km",
    ),
    "matcher.history": ("FirmRetention", "resolved_hires"),
    "matcher.index": ("ItemIndex",),
    "matcher.ranker": ("SuccessRanker", "label_pairs"),
    "matcher.reasons": ("explain",),
    "matcher.persistence": (
        "ModelLoadError",
        "current_version",
        "data_snapshot",
        "list_versions",
        "load_current",
        "load_model",
        "new_version_name",
        "read_metadata",
        "save_model",
        "set_current",
    ),
    "matcher.text": ("char_ngrams", "clean_title", "normalize_text"),
    "matcher.encoders": (
        "CallableEncoder",
        "CharNgramEncoder",
        "Encoder",
        "SentenceTransformerEncoder",
        "l2_normalize",
        "load_encoder",
    ),
    "matcher.occupations": (
        "HIERARCHY_LEVELS",
        "OccupationCoder",
        "hierarchy_similarities",
        "hierarchy_similarity",
        "prepare_occupations",
    ),
    "matcher.allocation": ("AllocationResult", "allocate", "blocking_pairs"),
    "matcher.fairs": ("FairPlan", "make_slots", "plan_fair", "replan_fair"),
}

_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'matcher' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
