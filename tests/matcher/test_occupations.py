from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from matcher.encoders import CharNgramEncoder
from matcher.occupations import OccupationCoder, prepare_occupations

FORKLIFT = "6-30-05-01"  # 起重装卸机械操作工, alias 叉车司机 in CSCO 2022
SEWING = "6-05-01-03"  # 缝纫工
SECURITY = "4-07-05-01"  # 保安员
WELDER = "6-18-02-04"  # 焊工
COURIER = "4-02-07-08"  # 快递员
ELECTRICIAN = "6-31-01-03"  # 电工


@pytest.fixture(scope="module")
def occupations() -> pd.DataFrame:
    from data.reference import load_occupations

    return load_occupations(4)


@pytest.fixture(scope="module")
def coder(occupations) -> OccupationCoder:
    return OccupationCoder().fit(occupations)


@pytest.fixture(scope="module")
def hybrid(occupations) -> OccupationCoder:
    return OccupationCoder(encoder=CharNgramEncoder(dim=128), alpha=0.3).fit(occupations)


@pytest.mark.parametrize(
    ("title", "code"),
    [
        ("叉车司机", FORKLIFT),
        ("急招叉车司机 包吃住 月入7000", FORKLIFT),
        ("缝纫工", SEWING),
        ("缝纫工（计件）+多劳多得+月入10100", SEWING),
        ("縫紉工", SEWING),
        ("保安", SECURITY),
        ("焊工包吃住", WELDER),
        ("快递员", COURIER),
        ("電工", ELECTRICIAN),
    ],
)
def test_codes_obvious_titles(coder, hybrid, title, code):
    assert coder.predict([title]) == [code]
    assert hybrid.predict([title]) == [code]


def test_predict_topk_shape_order_and_names(coder):
    top = coder.predict_topk(["叉车司机", "缝纫工"], k=3)
    assert len(top) == 2 and all(len(t) == 3 for t in top)
    for cands in top:
        scores = [s for _, _, s in cands]
        assert scores == sorted(scores, reverse=True)
        for code, name, _ in cands:
            assert coder.name_of(code) == name
    assert top[1][0][:2] == (SEWING, "缝纫工")
    assert len(coder.predict_topk(["焊工"])[0]) == coder.top_k


def test_noise_only_and_empty_titles_code_to_nothing(coder):
    assert coder.predict_topk(["包吃住 月入6000", "", None], k=3) == [[], [], []]
    assert coder.predict(["包吃住", "焊工"]) == ["", WELDER]


def test_similarity_matrix(coder):
    s = coder.similarities(["缝纫工", ""])
    assert s.shape == (2, len(coder.codes_))
    assert s.dtype == np.float32
    assert not s[1].any()
    assert coder.codes_[int(np.argmax(s[0]))] == SEWING


def test_name_of_unknown_code_names_it(coder):
    assert coder.name_of(SEWING) == "缝纫工"
    with pytest.raises(KeyError, match="9-99-99-99"):
        coder.name_of("9-99-99-99")


def test_not_fitted():
    with pytest.raises(NotFittedError):
        OccupationCoder().predict(["焊工"])


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"alpha": 1.5}, "alpha"),
        ({"top_k": 0}, "top_k"),
        ({"ngram_range": (2, 1)}, "ngram_range"),
    ],
)
def test_bad_params_fail_in_fit(occupations, params, match):
    coder = OccupationCoder(**params)  # __init__ only stores
    with pytest.raises(ValueError, match=match):
        coder.fit(occupations.head(5))


def test_bad_occupation_tables(occupations):
    with pytest.raises(ValueError, match="name"):
        OccupationCoder().fit(occupations[["code"]])
    with pytest.raises(TypeError, match="DataFrame"):
        OccupationCoder().fit([("6-05-01-03", "缝纫工")])
    with pytest.raises(ValueError, match="no row"):
        OccupationCoder().fit(pd.DataFrame({"code": [""], "name": [""]}))


def test_single_string_is_rejected(coder):
    with pytest.raises(TypeError, match="single str"):
        coder.predict("焊工")


def test_raw_csco_file_is_accepted():
    raw = pd.read_csv(
        __import__("pathlib").Path(__file__).parents[2] / "data" / "reference" / "csco22.csv",
        dtype=str,
    )
    prepared = prepare_occupations(raw)
    # level 4 only, duplicate codes dropped (6-20-05-03 is listed twice)
    assert prepared["code"].is_unique
    assert len(prepared) == raw.loc[raw["level"] == "4", "code"].nunique()
    assert prepared.loc[prepared["code"] == SEWING, "aliases"].iloc[0] == [
        "缝纫工",
        "服装领班",
        "手缝工",
    ]
    assert OccupationCoder().fit(raw).predict(["手缝工"]) == [SEWING]


def test_clone_and_pickle_round_trip(hybrid):
    params = clone(hybrid).get_params()
    assert params["alpha"] == 0.3 and params["top_k"] == 5
    again = pickle.loads(pickle.dumps(hybrid))
    titles = ["电子厂普工", "保洁阿姨", "叉车工"]
    assert again.predict_topk(titles) == hybrid.predict_topk(titles)


def test_dense_side_changes_scores(occupations, coder, hybrid):
    # alpha mixes the encoder in: with it the scores differ from lexical-only ones
    a = coder.similarities(["开叉车的"])
    b = hybrid.similarities(["开叉车的"])
    assert not np.allclose(a, b)
