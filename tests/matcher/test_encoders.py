from __future__ import annotations

import pickle

import numpy as np
import pytest

from matcher.encoders import (
    CallableEncoder,
    CharNgramEncoder,
    Encoder,
    SentenceTransformerEncoder,
    l2_normalize,
    load_encoder,
)

TEXTS = ["叉车司机", "叉車司機", "ＣＮＣ操作工", "cnc操作工", "缝纫工", "", None]


@pytest.fixture(scope="module")
def tiny_model_path(tmp_path_factory):
    """A tiny trained sentence-transformers model folder (seconds to build, once per module)."""
    from data.reference import load_occupations
    from training.encoder import occupation_pairs, train_encoder

    pairs = occupation_pairs(load_occupations(4).head(60))
    path = tmp_path_factory.mktemp("encoder") / "model"
    train_encoder(pairs, path, embedding_dim=32, epochs=2, vocab_size=800, show_progress=False)
    return path


def _check_contract(vectors: np.ndarray, n: int, dim: int, empty_rows: list[int]) -> None:
    assert vectors.dtype == np.float32
    assert vectors.shape == (n, dim)
    norms = np.linalg.norm(vectors, axis=1)
    for i in range(n):
        if i in empty_rows:
            assert norms[i] == 0.0
        else:
            assert norms[i] == pytest.approx(1.0, abs=1e-5)
    assert np.isfinite(vectors).all()


def test_char_ngram_encoder_contract():
    enc = CharNgramEncoder(dim=64)
    v = enc.encode(TEXTS)
    _check_contract(v, len(TEXTS), 64, empty_rows=[5, 6])
    assert enc.dimension == 64 and enc.name == "char-ngram-64"
    # normalisation happens before encoding: traditional/full-width spellings coincide
    assert v[0] @ v[1] == pytest.approx(1.0, abs=1e-5)
    assert v[2] @ v[3] == pytest.approx(1.0, abs=1e-5)
    # related titles are closer than unrelated ones
    w = enc.encode(["叉车司机", "叉车工", "缝纫工"])
    assert w[0] @ w[1] > w[0] @ w[2]


def test_char_ngram_encoder_is_deterministic_and_seeded():
    a = CharNgramEncoder(dim=32, seed=1).encode(["电子厂普工", "焊工"])
    b = CharNgramEncoder(dim=32, seed=1).encode(["电子厂普工", "焊工"])
    c = CharNgramEncoder(dim=32, seed=2).encode(["电子厂普工", "焊工"])
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_char_ngram_encoder_pickles_small_and_identical():
    enc = CharNgramEncoder(dim=32)
    before = enc.encode(["保洁员"])
    blob = pickle.dumps(enc)
    assert len(blob) < 2_000  # the projection is rebuilt from the seed, not stored
    np.testing.assert_array_equal(pickle.loads(blob).encode(["保洁员"]), before)


@pytest.mark.parametrize(
    ("params", "match"),
    [({"dim": 0}, "dim"), ({"ngram_range": (3, 1)}, "ngram_range"), ({"seed": -1}, "seed")],
)
def test_char_ngram_encoder_rejects_bad_params(params, match):
    with pytest.raises(ValueError, match=match):
        CharNgramEncoder(**params).encode(["普工"])


def test_encode_rejects_a_single_string_and_bad_batch_size():
    enc = CharNgramEncoder(dim=8)
    with pytest.raises(TypeError, match="single str"):
        enc.encode("普工")
    with pytest.raises(ValueError, match="batch_size"):
        enc.encode(["普工"], batch_size=0)


def test_empty_input_gives_empty_matrix():
    assert CharNgramEncoder(dim=8).encode([]).shape == (0, 8)


def test_l2_normalize_keeps_zero_rows():
    x = l2_normalize(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(x, [[0.6, 0.8], [0.0, 0.0]])
    with pytest.raises(ValueError, match="2-D"):
        l2_normalize(np.zeros(3))


class _Doubler:
    """An object with encode() only, as a third-party model might be."""

    def encode(self, texts):
        return np.array([[len(t), 1.0, 0.0] for t in texts])


def test_load_encoder_wraps_objects_with_encode():
    enc = load_encoder(_Doubler())
    assert isinstance(enc, CallableEncoder)
    assert enc.dimension == 3
    v = enc.encode(["ab", ""])
    _check_contract(v, 2, 3, empty_rows=[1])
    np.testing.assert_allclose(v[0], np.array([2.0, 1.0, 0.0]) / np.sqrt(5), rtol=1e-6)


def test_load_encoder_returns_encoders_as_is_and_parses_char_ngram():
    enc = CharNgramEncoder(dim=16)
    assert load_encoder(enc) is enc
    assert load_encoder("char-ngram:48").dimension == 48
    assert load_encoder("char-ngram").dimension == 256
    with pytest.raises(ValueError, match="char-ngram:abc"):
        load_encoder("char-ngram:abc")


def test_load_encoder_missing_path_names_it(tmp_path):
    missing = tmp_path / "no_such_model"
    with pytest.raises(FileNotFoundError, match="no_such_model"):
        load_encoder(missing)


def test_load_encoder_folder_that_is_not_a_model_names_it(tmp_path):
    folder = tmp_path / "just_a_folder"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(ValueError, match="just_a_folder"):
        load_encoder(folder)
    file = tmp_path / "weights.bin"
    file.write_bytes(b"\0")
    with pytest.raises(ValueError, match="weights.bin"):
        load_encoder(file)


def test_load_encoder_corrupt_model_names_path(tmp_path, tiny_model_path):
    import shutil

    broken = tmp_path / "broken_model"
    shutil.copytree(tiny_model_path, broken)
    (broken / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(ValueError, match="broken_model"):
        load_encoder(broken)


@pytest.mark.parametrize("bad", [42, 3.5, ["a"]])
def test_load_encoder_rejects_other_types(bad):
    with pytest.raises(TypeError, match="encoder spec"):
        load_encoder(bad)


def test_load_encoder_sentence_transformer_folder(tiny_model_path):
    enc = load_encoder(str(tiny_model_path))
    assert isinstance(enc, SentenceTransformerEncoder) and isinstance(enc, Encoder)
    assert enc.dimension == 32
    assert enc.name == str(tiny_model_path)
    v = enc.encode(TEXTS)
    _check_contract(v, len(TEXTS), 32, empty_rows=[5, 6])
    assert v[0] @ v[1] == pytest.approx(1.0, abs=1e-5)


def test_sentence_transformer_encoder_pickles_as_its_path(tiny_model_path):
    enc = load_encoder(tiny_model_path)
    before = enc.encode(["缝纫工"])
    blob = pickle.dumps(enc)
    assert len(blob) < 5_000  # the path, not the weights
    np.testing.assert_array_equal(pickle.loads(blob).encode(["缝纫工"]), before)


def test_load_encoder_wraps_a_loaded_sentence_transformer(tiny_model_path):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(tiny_model_path), device="cpu")
    enc = load_encoder(model)
    assert isinstance(enc, SentenceTransformerEncoder)
    np.testing.assert_allclose(
        enc.encode(["缝纫工"]), load_encoder(tiny_model_path).encode(["缝纫工"]), atol=1e-6
    )
