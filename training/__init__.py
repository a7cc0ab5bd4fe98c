"""Training and evaluation of the engine's models (imports ``matcher`` and ``data`` only).

Public names are re-exported lazily so that ``import training`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, tuple[str, ...]] = {
    "training.pipeline": (
        "build_geography",
        "demo_world_and_events",
        "train_default",
        "train_models",
    ),
    "training.evaluate": ("METHODS", "EvaluationReport", "Split", "evaluate", "split_events"),
    "training.encoder": ("occupation_pairs", "train_encoder", "world_pairs"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'training' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
