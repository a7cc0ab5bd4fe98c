from __future__ import annotations

import json

import pandas as pd
import pytest

from matcher.persistence import (
    ModelLoadError,
    current_version,
    data_snapshot,
    list_versions,
    load_current,
    load_model,
    new_version_name,
    read_engine,
    read_metadata,
    save_model,
    set_current,
    write_engine,
)
from matcher.ranker import SuccessRanker, label_pairs


@pytest.fixture(scope="module")
def ranked_engine(_fitted_engine, labelled_events, world):
    import copy

    jobs, workers = world
    labels = label_pairs(labelled_events)
    feats = _fitted_engine.pair_features(labels, jobs=jobs, workers=workers)
    engine = copy.deepcopy(_fitted_engine)
    return engine.set_ranker(SuccessRanker(max_iter=40).fit(feats, labels["label"]))


def rankings(engine, worker_ids, job_ids):
    return (
        [
            [
                (it["job_id"], round(it["score"], 9), tuple(it["reasons"]))
                for it in engine.recommend_jobs(w, k=10)
            ]
            for w in worker_ids
        ],
        [
            [(it["worker_id"], round(it["score"], 9)) for it in engine.recommend_workers(j, k=20)]
            for j in job_ids
        ],
    )


def test_save_load_round_trip_gives_identical_rankings(ranked_engine, world, tmp_path):
    jobs, workers = world
    folder = save_model(
        ranked_engine,
        tmp_path / "v1",
        {"data": data_snapshot(jobs=jobs, workers=workers), "evaluation": {"ndcg@10": 0.5}},
    )
    assert {p.name for p in folder.iterdir()} == {"engine.pkl.gz", "metadata.json"}
    loaded = load_model(folder)
    wids = [int(w) for w in workers["worker_id"].iloc[:10]]
    jids = [int(j) for j in ranked_engine.jobs_index_.active_ids()[:5]]
    assert rankings(loaded, wids, jids) == rankings(ranked_engine, wids, jids)
    assert loaded.model_version_ == "v1"
    meta = read_metadata(folder)
    assert {"scikit-learn", "numpy", "sentence-transformers", "torch"} <= set(meta["libraries"])
    assert meta["data"]["jobs"]["rows"] == len(jobs) and len(meta["data"]["jobs"]["sha256"]) == 64
    assert meta["evaluation"] == {"ndcg@10": 0.5}
    assert meta["ranker"]["class"] == "SuccessRanker"
    assert "git_commit" in meta


def test_version_without_index_keeps_what_was_learned_and_indexes_identically(
    ranked_engine, world, tmp_path
):
    """Saved for serving (no index), a version keeps its vocabulary, coder context and ranker:
    build_index alone (nothing fitted) ranks as the engine that was saved."""
    jobs, workers = world
    folder = save_model(ranked_engine, tmp_path / "v2", include_index=False)
    loaded = load_model(folder)
    assert not hasattr(loaded, "jobs_index_")
    assert loaded.vectorizer_.vocabulary_ == ranked_engine.vectorizer_.vocabulary_
    loaded.build_index(jobs, workers)
    wids = [int(w) for w in workers["worker_id"].iloc[:5]]
    jids = [int(j) for j in ranked_engine.jobs_index_.active_ids()[:3]]
    assert rankings(loaded, wids, jids) == rankings(ranked_engine, wids, jids)
    meta = read_metadata(folder)
    assert meta["format"] == 3 and meta["fitted_index"] is False
    assert meta["vocabulary"]["ngrams"] == len(ranked_engine.vectorizer_.vocabulary_)


def test_sentence_transformer_encoder_is_saved_with_its_own_save(make_engine, world, tmp_path):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules.static_embedding import StaticEmbedding

    from training.encoder import train_tokenizer

    jobs, workers = world
    texts = list(jobs["title"]) + list(workers["skills_text"])
    model = SentenceTransformer(
        modules=[StaticEmbedding(train_tokenizer(texts, vocab_size=300), embedding_dim=16)],
        device="cpu",
    )
    engine = make_engine(jobs, workers, encoder=model)
    folder = save_model(engine, tmp_path / "st")
    assert (folder / "encoder" / "modules.json").is_file()
    assert read_engine(folder / "engine.pkl.gz")["engine"].encoder == "encoder"
    loaded = load_model(folder)
    wids = [int(w) for w in workers["worker_id"].iloc[:5]]
    assert rankings(loaded, wids, [])[0] == rankings(engine, wids, [])[0]
    assert read_metadata(folder)["encoder"]["kind"] == "sentence-transformers"


def test_missing_and_corrupt_folders_fail_naming_the_path(ranked_engine, tmp_path):
    with pytest.raises(ModelLoadError, match="nowhere.*does not exist"):
        load_model(tmp_path / "nowhere")
    folder = save_model(ranked_engine, tmp_path / "v1")
    (folder / "engine.pkl.gz").write_bytes(b"not a pickle")
    with pytest.raises(ModelLoadError, match=r"engine\.pkl\.gz.*corrupt"):
        load_model(folder)
    (folder / "metadata.json").write_text("{truncated", encoding="utf-8")
    with pytest.raises(ModelLoadError, match=r"metadata\.json.*corrupt"):
        load_model(folder)
    (folder / "metadata.json").unlink()
    with pytest.raises(ModelLoadError, match=f"{folder.name}.*no metadata.json"):
        load_model(folder)
    with pytest.raises(FileExistsError, match="not empty"):
        save_model(ranked_engine, folder)


def test_version_mismatch_is_refused(ranked_engine, tmp_path):
    folder = save_model(ranked_engine, tmp_path / "old")
    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    meta["libraries"]["scikit-learn"] = "0.24.2"
    (folder / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelLoadError, match=r"scikit-learn 0\.24\.2 but .* is installed"):
        load_model(folder)


def test_current_and_fallback_to_previous_when_new_version_is_corrupt(
    ranked_engine, tmp_path, caplog
):
    models = tmp_path / "models"
    with pytest.raises(ModelLoadError, match="no model version"):
        load_current(models)
    good = new_version_name(models)
    save_model(ranked_engine, models / good)
    set_current(models, good)
    assert load_current(models).model_version_ == good
    bad = new_version_name(models)
    assert bad != good
    save_model(ranked_engine, models / bad)
    set_current(models, bad)
    assert current_version(models) == bad and list_versions(models) == sorted([good, bad])
    (models / bad / "engine.pkl.gz").write_bytes(b"\x00garbage")
    engine = load_current(models)
    assert engine.model_version_ == good  # the previous version keeps serving
    assert "cannot be loaded" in caplog.text
    with pytest.raises(ModelLoadError):
        set_current(models, "v-missing")
    with pytest.raises(ValueError, match="not a folder name"):
        set_current(models, "../etc")


def test_data_snapshot_hash_changes_with_content():
    a = pd.DataFrame({"x": [1, 2], "l": [["a"], []]})
    b = pd.DataFrame({"x": [1, 3], "l": [["a"], []]})
    assert data_snapshot(t=a)["t"]["sha256"] == data_snapshot(t=a.copy())["t"]["sha256"]
    assert data_snapshot(t=a)["t"]["sha256"] != data_snapshot(t=b)["t"]["sha256"]


def test_folder_of_an_older_format_is_refused_naming_what_to_do(ranked_engine, tmp_path):
    """Format 2 refitted the vocabulary at boot; its folders are refused, not upgraded."""
    folder = save_model(ranked_engine, tmp_path / "v1", include_index=False)
    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    meta["format"] = 2
    (folder / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelLoadError, match=r"v1.*format 2.*format 3 only.*jobbridge train"):
        load_model(folder)
    meta["format"] = 3
    (folder / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    engine = read_engine(folder / "engine.pkl.gz")["engine"]
    write_engine(folder / "engine.pkl.gz", {"format": 2, "engine": engine})
    with pytest.raises(ModelLoadError, match="format 2"):
        load_model(folder)


def test_an_engine_that_learned_nothing_is_not_saved(tmp_path):
    from matcher.engine import MatchingEngine

    with pytest.raises(ValueError, match="learned nothing"):
        save_model(MatchingEngine(), tmp_path / "empty")
