"""A model version is everything learned: ``learn`` fits, ``build_index`` only indexes, and the
base model is learned from the reference data alone."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from matcher.engine import MatchingEngine
from matcher.persistence import current_version, load_current, load_model, read_metadata
from training.base import build_base_model, reference_corpus


@pytest.fixture(scope="module")
def base_folder(tmp_path_factory):
    return build_base_model(tmp_path_factory.mktemp("models"))


def _vocabulary_state(engine):
    v = engine.vectorizer_
    return dict(v.vocabulary_), np.asarray(v.idf_).copy()


def test_build_index_needs_a_learned_engine(world):
    jobs, workers = world
    with pytest.raises(NotFittedError, match=r"build_index needs a learned model.*init-db"):
        MatchingEngine().build_index(jobs, workers)


def test_build_index_fits_nothing(engine_params, world):
    """The vocabulary and idf weights stay what learn() made, whatever data is indexed."""
    jobs, workers = world
    engine = MatchingEngine(**engine_params).learn(["缝纫工 电焊工 叉车司机"])
    vocabulary, idf = _vocabulary_state(engine)
    engine.build_index(jobs, workers)
    assert engine.vectorizer_.vocabulary_ == vocabulary
    np.testing.assert_array_equal(engine.vectorizer_.idf_, idf)
    engine.build_index(jobs.iloc[:5], workers.iloc[:5])
    assert engine.vectorizer_.vocabulary_ == vocabulary
    # fit is learn + build_index on the same tables: its vocabulary holds their n-grams
    fitted = MatchingEngine(**engine_params).fit(jobs, workers)
    assert set(vocabulary) != set(fitted.vectorizer_.vocabulary_)


def test_learn_with_training_tables_adds_their_texts(engine_params, world):
    jobs, workers = world
    alone = MatchingEngine(**engine_params).learn(["缝纫工"])
    taught = MatchingEngine(**engine_params).learn(["缝纫工"], jobs=jobs, workers=workers)
    assert set(alone.vectorizer_.vocabulary_) < set(taught.vectorizer_.vocabulary_)


def test_empty_tables_index_and_then_grow(engine_params, world):
    """A fresh database: nothing to index at first, then the first job and the first worker."""
    jobs, workers = world
    engine = MatchingEngine(**engine_params).learn(reference_corpus())
    engine.build_index(jobs.iloc[:0], workers.iloc[:0])
    assert len(engine.jobs_index_) == 0 and len(engine.workers_index_) == 0
    job = jobs[jobs["status"] == "open"].iloc[:1]
    engine.add_jobs(job)
    assert list(engine.recommend_workers(int(job["job_id"].iloc[0]))) == []
    # the first worker the job's rules allow
    for _, row in workers.iterrows():
        engine.add_workers([row.to_dict()])
        if engine.recommend_jobs(int(row["worker_id"])):
            break
    else:
        pytest.fail("no worker of the world may take the first open job")
    found = engine.recommend_workers(int(job["job_id"].iloc[0]))
    assert [it["worker_id"] for it in found] == [int(row["worker_id"])]


def test_base_model_is_learned_from_reference_data_only(base_folder, world):
    meta = read_metadata(base_folder)
    assert meta["kind"] == "base" and meta["format"] == 3
    assert meta["ranker"] is None and meta["fitted_index"] is False
    assert meta["data"]["reference_texts"] == len(reference_corpus())
    assert current_version(base_folder.parent) == base_folder.name
    assert {p.name for p in base_folder.iterdir()} == {"engine.pkl.gz", "metadata.json"}
    size = sum(p.stat().st_size for p in base_folder.iterdir())
    assert size < 8 * 2**20, f"base model folder is {size} bytes"
    engine = load_model(base_folder)
    assert engine.is_learned and not hasattr(engine, "jobs_index_")
    # the vocabulary is the reference text's, not a table's
    assert "缝纫" in engine.vectorizer_.vocabulary_
    assert engine.context_.coder is not None and engine.context_.occupation_names
    jobs, workers = world
    vocabulary, _ = _vocabulary_state(engine)
    engine.build_index(jobs, workers)
    assert engine.vectorizer_.vocabulary_ == vocabulary
    wid = int(workers["worker_id"].iloc[0])
    assert all(it["p_success"] is None for it in engine.recommend_jobs(wid, k=5))


def test_two_loads_of_one_version_rank_identically(base_folder, world):
    jobs, workers = world
    a = load_current(base_folder.parent).build_index(jobs, workers)
    b = load_current(base_folder.parent).build_index(jobs, workers)
    for wid in workers["worker_id"].iloc[:20]:
        ra = [(it["job_id"], it["score"]) for it in a.recommend_jobs(int(wid), k=10)]
        rb = [(it["job_id"], it["score"]) for it in b.recommend_jobs(int(wid), k=10)]
        assert ra == rb
