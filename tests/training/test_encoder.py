"""Tests of training.encoder (pairs, tokenizer, training) and training.coder_eval."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from training.coder_eval import evaluate_coder, is_match
from training.encoder import (
    occupation_pairs,
    train_encoder,
    train_tokenizer,
    world_pairs,
)


@pytest.fixture(scope="module")
def occupations() -> pd.DataFrame:
    from data.reference import load_occupations

    return load_occupations(4)


@pytest.fixture(scope="module")
def small_pairs(occupations) -> list[tuple[str, str]]:
    # 40 occupations: a few hundred pairs, trains in a second or two
    return occupation_pairs(occupations.iloc[1200:1240])


@pytest.fixture(scope="module")
def trained(small_pairs, tmp_path_factory):
    path = tmp_path_factory.mktemp("enc") / "model"
    model = train_encoder(
        small_pairs,
        path,
        embedding_dim=48,
        epochs=12,
        batch_size=64,
        vocab_size=1500,
        seed=3,
        show_progress=False,
    )
    return model, path


# -- pairs ------------------------------------------------------------------------------------


def test_occupation_pairs_from_a_row():
    df = pd.DataFrame(
        {
            "code": ["6-05-01-03"],
            "name": ["缝纫工"],
            "definition": ["操作缝纫机缝制服装的人员。"],
            "tasks": ["1.操作缝纫机 2.检验缝制质量。"],
            "alias": ["缝纫工,服装领班,手缝工"],  # raw csv spelling of the column
        }
    )
    assert occupation_pairs(df) == [
        ("服装领班", "缝纫工"),
        ("手缝工", "缝纫工"),
        ("操作缝纫机", "缝纫工"),
        ("检验缝制质量", "缝纫工"),
        ("操作缝纫机缝制服装的人员", "缝纫工"),
    ]


def test_occupation_pairs_from_the_classification(occupations, small_pairs):
    pairs = occupation_pairs(occupations)
    assert len(pairs) > 10_000
    assert ("叉车司机", "起重装卸机械操作工") in pairs
    assert len(set(pairs)) == len(pairs)
    assert all(a and b and a != b for a, b in pairs)
    assert 200 <= len(small_pairs) <= 600


def test_occupation_pairs_bad_table():
    with pytest.raises(ValueError, match="tasks"):
        occupation_pairs(pd.DataFrame({"name": ["焊工"], "definition": [""], "aliases": [[]]}))
    with pytest.raises(TypeError, match="DataFrame"):
        occupation_pairs([("焊工", "焊接")])


def test_world_pairs_from_a_small_world(occupations):
    world = SimpleNamespace(
        jobs=pd.DataFrame(
            {
                "title": ["缝纫工+包吃住", "保安"],
                "description": ["流水线车缝，计件工资", ""],
                "occupation_code": ["6-05-01-03", ""],
            }
        ),
        workers=pd.DataFrame(
            {
                "worker_id": [1, 2, 3],
                "skills_text": ["在服装厂踩过缝纫机", "", "开过叉车"],
                "desired_jobs": [["车工", "缝纫"], [], ["叉车"]],
            }
        ),
        truth=pd.DataFrame(
            {"worker_id": [1, 2, 3], "true_occupation_code": ["6-05-01-03", "4-07-05-01", ""]}
        ),
    )
    pairs = world_pairs(world, occupations)
    assert pairs == [
        ("缝纫工+包吃住", "流水线车缝，计件工资"),
        ("缝纫工+包吃住", "缝纫工"),
        ("在服装厂踩过缝纫机", "缝纫工"),
        ("车工", "缝纫工"),
        ("缝纫", "缝纫工"),
    ]  # worker 3 has no true code: nothing to pair with


def test_world_pairs_rejects_non_worlds():
    with pytest.raises(TypeError, match="jobs"):
        world_pairs(object(), pd.DataFrame({"code": [], "name": []}))


def test_world_pairs_from_the_demo_generator(occupations):
    demo = pytest.importorskip("data.demo")
    world = demo.generate_world(60, 80, seed=5)
    pairs = world_pairs(world, occupations)
    names = set(occupations["name"])
    assert len(pairs) > 80
    # job titles are paired with their coded occupation's name, workers with their true one
    assert sum(b in names for _, b in pairs) > 60


# -- tokenizer --------------------------------------------------------------------------------


def test_tokenizer_learns_short_chinese_words(small_pairs):
    texts = [t for pair in small_pairs for t in pair]
    tok = train_tokenizer(texts, vocab_size=1500)
    vocab = tok.get_vocab()
    assert "[UNK]" in vocab
    assert max(len(t) for t in vocab if t != "[UNK]") <= 3
    assert any(len(t) >= 2 for t in vocab)
    # its own normaliser folds full-width input
    assert tok.encode("ＡＢ１").tokens == tok.encode("ab1").tokens


def test_tokenizer_rejects_empty_corpus():
    with pytest.raises(ValueError, match="empty corpus"):
        train_tokenizer(["", None, "  "])


# -- training ---------------------------------------------------------------------------------


def test_trained_model_saves_and_reloads_identically(trained, small_pairs):
    from sentence_transformers import SentenceTransformer

    from matcher.encoders import load_encoder

    model, path = trained
    assert (path / "modules.json").is_file()
    info = json.loads((path / "jobbridge_encoder.json").read_text(encoding="utf-8"))
    assert info["seed"] == 3 and info["pairs"] == len(small_pairs)
    from matcher.text import normalize_text

    # load_encoder normalises first (、→, and so on); the plain model sees the same text
    texts = [normalize_text(a) for a, _ in small_pairs[:20]] + ["没见过的词"]
    via_load = load_encoder(path).encode(texts)
    plain = SentenceTransformer(str(path), device="cpu").encode(texts, convert_to_numpy=True)
    direct = model.encode(texts, convert_to_numpy=True)
    np.testing.assert_allclose(via_load, plain, atol=1e-6)
    np.testing.assert_allclose(plain, direct, atol=1e-6)
    assert via_load.shape == (21, 48)


def test_training_learns_the_pairs(trained, small_pairs):
    """Each anchor's own name must rank first among the 40 names far more often than chance
    (1/40); an untrained or broken loop scores near chance."""
    from matcher.encoders import load_encoder

    _, path = trained
    enc = load_encoder(path)
    names = sorted({b for _, b in small_pairs})
    name_vecs = enc.encode(names)
    anchors = [a for a, _ in small_pairs]
    best = np.argmax(enc.encode(anchors) @ name_vecs.T, axis=1)
    accuracy = np.mean([names[i] == b for i, (_, b) in zip(best, small_pairs, strict=True)])
    assert accuracy > 0.6


def test_training_is_seeded(small_pairs, tmp_path, trained):
    from matcher.encoders import load_encoder

    _, first = trained
    again = tmp_path / "again"
    train_encoder(
        small_pairs,
        again,
        embedding_dim=48,
        epochs=12,
        batch_size=64,
        vocab_size=1500,
        seed=3,
        show_progress=False,
    )
    texts = ["缝纫工", small_pairs[0][0]]
    np.testing.assert_array_equal(
        load_encoder(first).encode(texts), load_encoder(again).encode(texts)
    )


@pytest.mark.parametrize(
    ("pairs", "kwargs", "error", "match"),
    [
        ([], {}, ValueError, "at least 2 pairs"),
        ([("焊工", "")], {}, ValueError, "at least 2 pairs"),
        ([("焊工", "焊接", "多余")], {}, ValueError, "pair 0"),
        ("焊工", {}, TypeError, "list of"),
        ([("焊工", "焊接"), ("电工", "电")], {"epochs": 0}, ValueError, "epochs"),
        ([("焊工", "焊接"), ("电工", "电")], {"learning_rate": -1}, ValueError, "learning_rate"),
    ],
)
def test_train_encoder_bad_input(tmp_path, pairs, kwargs, error, match):
    with pytest.raises(error, match=match):
        train_encoder(pairs, tmp_path / "m", show_progress=False, **kwargs)
    assert not (tmp_path / "m").exists()  # nothing half-written


# -- coder evaluation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("predicted", "expected", "ok"),
    [
        ("6-05-01-03", "6-05-01-03", True),
        ("6-05-01-04", "6-05-01-03", False),
        ("2-02-30-01", "2-02-00-00", True),  # group code: prefix of the non-zero part
        ("2-06-03-02", "2-06-03-00", True),
        ("2-03-01-01", "2-02-00-00", False),
        ("6-20-04-01", "6-20-04-00", False),  # 6-20-04-00 is itself a detailed code
        ("6-20-04-00", "6-20-04-00", True),
        ("", "6-05-01-03", False),
    ],
)
def test_is_match(predicted, expected, ok):
    detailed = {"6-05-01-03", "6-05-01-04", "2-02-30-01", "6-20-04-00", "2-06-03-02"}
    assert is_match(predicted, expected, detailed) is ok


def test_evaluate_coder_counts(occupations):
    from matcher.occupations import OccupationCoder

    coder = OccupationCoder(classifier=False).fit(occupations)
    cases = pd.DataFrame(
        {
            "job_name": ["缝纫工+包吃住", "叉车司机", "包吃住", "焊工"],
            "expected_code": ["6-05-01-03", "6-30-05-01", "6-05-01-03", "6-00-00-00"],
        }
    )
    r = evaluate_coder(coder, cases)
    assert r["n"] == 4
    # 缝纫工 and 叉车司机 exact; 包吃住 codes to nothing; 焊工 (6-18-02-04) lies in major group 6
    assert r["top1"] == pytest.approx(3 / 4)
    assert r["major_top1"] == pytest.approx(3 / 4)
    assert r["n_group_codes"] == 1 and r["n_unknown_codes"] == 0
    assert r["top5"] >= r["top1"]


def test_evaluate_coder_bad_input(occupations):
    from matcher.occupations import OccupationCoder

    coder = OccupationCoder(classifier=False).fit(occupations.head(10))
    with pytest.raises(ValueError, match="expected_code"):
        evaluate_coder(coder, pd.DataFrame({"job_name": ["焊工"]}))
    with pytest.raises(ValueError, match="empty"):
        evaluate_coder(coder, pd.DataFrame({"job_name": [], "expected_code": []}))
