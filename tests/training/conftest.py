"""A small demo world, its outcome events and one trained model folder, built once per session."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from matcher.encoders import CharNgramEncoder


@pytest.fixture(scope="session")
def demo() -> tuple[Any, pd.DataFrame]:
    from training.pipeline import demo_world_and_events

    return demo_world_and_events(n_workers=1000, n_jobs=300, seed=5)


@pytest.fixture(scope="session")
def _trained(demo, tmp_path_factory) -> Path:
    from training.pipeline import train_models

    world, events = demo
    models = tmp_path_factory.mktemp("models")
    return train_models(
        world.jobs,
        world.workers,
        events,
        models_dir=models,
        encoder=CharNgramEncoder(dim=64),
        world=world,
        show_progress=False,
        n_eval_workers=80,
        n_eval_jobs=40,
    )


@pytest.fixture
def trained(_trained: Path, tmp_path: Path) -> Path:
    """A copy of the trained models folder; returns the version folder inside it."""
    models = tmp_path / "models"
    shutil.copytree(_trained.parent, models)
    return models / _trained.name
