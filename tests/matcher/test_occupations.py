from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import normalize

from matcher.encoders import CharNgramEncoder
from matcher.occupations import (
    HIERARCHY_LEVELS,
    OccupationCoder,
    hierarchy_similarities,
    hierarchy_similarity,
    prepare_occupations,
)
from matcher.text import clean_title

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
    """The similarity-only coder (names and aliases, TF-IDF)."""
    return OccupationCoder(classifier=False).fit(occupations)


@pytest.fixture(scope="module")
def hybrid(occupations) -> OccupationCoder:
    return OccupationCoder(encoder=CharNgramEncoder(dim=128), alpha=0.3, classifier=False).fit(
        occupations
    )


# A slice of the classification small enough to train the classifier in a second: the
# production trades of major group 6 where the near trades of issue 10 live, and logistics.
@pytest.fixture(scope="module")
def small_occupations(occupations) -> pd.DataFrame:
    return occupations[occupations["code"].str.startswith(("6-04", "6-05", "6-29", "6-30", "4-02"))]


EXAMPLES = [
    ("踩过几年缝纫机", SEWING),
    ("服装厂车位", SEWING),
    ("纺织厂挡车工", "6-04-03-03"),
    ("看织机", "6-04-03-03"),
    ("分拣快递", "4-02-07-09"),
    ("中转场扫件分拣", "4-02-07-09"),
    ("送快递", COURIER),
    ("快递派件", COURIER),
    ("扎钢筋", "6-29-01-04"),
    ("砌墙贴砖", "6-29-01-01"),
    ("开叉车", FORKLIFT),
]


@pytest.fixture(scope="module")
def trained(small_occupations) -> OccupationCoder:
    return OccupationCoder().fit(small_occupations, examples=EXAMPLES)


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
        ({"C": 0}, "C"),
        ({"similarity_weight": -1}, "similarity_weight"),
        ({"coef_threshold": "x"}, "coef_threshold"),
        ({"classifier": "yes"}, "classifier"),
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
    # level 4 and the residual groups without detailed occupations (2-08-99-00 其他教学人员),
    # duplicate codes dropped (6-20-05-03 is listed twice)
    assert prepared["code"].is_unique
    n_detailed = raw.loc[raw["level"] == "4", "code"].nunique()
    residual = set(prepared["code"]) - set(raw.loc[raw["level"] == "4", "code"])
    assert len(prepared) == n_detailed + len(residual)
    assert {"2-08-99-00", "4-99-00-00", "8-00-00-00"} <= residual
    assert "2-08-00-00" not in residual and "6-05-01-00" not in residual
    assert prepared.loc[prepared["code"] == SEWING, "aliases"].iloc[0] == [
        "缝纫工",
        "服装领班",
        "手缝工",
    ]
    assert OccupationCoder(classifier=False).fit(raw).predict(["手缝工"]) == [SEWING]


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


# -- the classifier ---------------------------------------------------------------------------


def test_classifier_learns_colloquial_examples_and_keeps_near_trades_apart(trained):
    assert trained.predict(
        ["在老家踩过缝纫机", "在快递中转场分拣", "快递员 送件", "工地扎钢筋", "砌墙", "纺织厂挡车"]
    ) == [SEWING, "4-02-07-09", COURIER, "6-29-01-04", "6-29-01-01", "6-04-03-03"]
    assert trained.n_examples_ == 11
    assert trained.coef_.shape == (len(trained.codes_), len(trained.vectorizer_.vocabulary_))


def test_classifier_scores_and_empty_titles(trained):
    plain = trained.set_params(centroid_weight=0.0, description_weight=0.0, neighbour_weight=0.0)
    top = plain.predict_topk(["叉车司机 包吃住"], k=4)[0]
    trained.set_params(centroid_weight=0.7, description_weight=1.0, neighbour_weight=0.4)
    assert len(top) == 4 and top[0][0] == FORKLIFT
    scores = [s for _, _, s in top]
    assert scores == sorted(scores, reverse=True)
    assert trained.predict_topk(["包吃住 月入6000", "", "😀"], k=3) == [[], [], []]
    assert trained.predict(["包吃住"]) == [""]


def test_sparse_weights_and_similarity_weight(small_occupations, trained):
    dense = OccupationCoder(coef_threshold=0.0).fit(small_occupations, examples=EXAMPLES)
    assert OccupationCoder().fit(small_occupations).coef_ is None  # no examples: similarity
    assert trained.coef_.nnz < dense.coef_.nnz
    s0 = trained.set_params(similarity_weight=0.0).similarities(["缝纫工"])
    s1 = trained.set_params(similarity_weight=0.15).similarities(["缝纫工"])
    assert not np.allclose(s0, s1)


def test_centroids_order_the_places_after_the_first(trained):
    titles = ["叉车司机 包吃住", "踩缝纫机", "快递", "砌墙"]
    k = 4
    scores = trained.similarities(titles)
    q = trained.vectorizer_.transform([trained._prepare(clean_title(t)) for t in titles])
    near = (q @ trained.centroids_.T).toarray()
    assert trained.centroids_.shape == trained.coef_.shape
    assert np.allclose(np.sqrt(trained.centroids_.multiply(trained.centroids_).sum(1)), 1.0)
    plain = trained.set_params(
        centroid_weight=0.0, description_weight=0.0, neighbour_weight=0.0
    ).predict_topk(titles, k)
    # A weight large enough that the centroids alone order the places after the first.
    heavy = trained.set_params(centroid_weight=50.0).predict_topk(titles, k)
    trained.set_params(centroid_weight=0.7, description_weight=1.0, neighbour_weight=0.4)
    for row, top in enumerate(heavy):
        codes = [c for c, _, _ in top]
        first = int(scores[row].argmax())
        assert codes[0] == trained.codes_[first] == plain[row][0][0]
        assert [s for _, _, s in top] == pytest.approx(
            [float(scores[row, trained.codes_.tolist().index(c)]) for c in codes]
        )
        rank = scores[row] + 50.0 * near[row]
        rank[first] = -np.inf
        assert codes[1:] == list(trained.codes_[np.argsort(-rank, kind="stable")[: k - 1]])
        assert [c for c, _, _ in plain[row]] == list(trained.codes_[np.argsort(-scores[row])[:k]])
    assert heavy != plain
    # One place is the classifier's first.
    assert [t[0][0] for t in trained.predict_topk(titles, 1)] == trained.predict(titles)
    with pytest.raises(ValueError, match="centroid_weight"):
        OccupationCoder(centroid_weight=-1).fit(
            pd.DataFrame({"code": [SEWING], "name": ["缝纫工"]})
        )


def test_descriptions_order_the_places_after_the_first(small_occupations, trained):
    # 会计专业人员's tasks speak of 核算 and 账, words no name or alias of the slice holds.
    accounts = pd.DataFrame(
        {
            "code": ["2-06-03-01", "2-06-03-02"],
            "name": ["会计专业人员", "审计专业人员"],
            "definition": ["从事会计核算、记账和财务报告的专业人员", "从事审计监督的专业人员"],
            "tasks": ["1.进行会计核算；2.登记账簿", "1.审查财务收支；2.出具审计报告"],
        }
    )
    occ = pd.concat([small_occupations, accounts], ignore_index=True)
    coder = OccupationCoder(neighbour_weight=0.0).fit(occ, examples=EXAMPLES)
    assert coder.descriptions_.shape == (
        len(coder.codes_),
        len(coder.description_vectorizer_.vocabulary_),
    )
    assert np.allclose(np.sqrt(coder.descriptions_.multiply(coder.descriptions_).sum(1)), 1.0)
    titles = ["成本核算 记账", "叉车司机 包吃住"]
    scores = coder.similarities(titles)
    chars = normalize(coder.description_vectorizer_.transform([clean_title(t) for t in titles]))
    described = (chars @ coder.descriptions_.T).toarray()
    heavy = coder.set_params(centroid_weight=0.0, description_weight=50.0).predict_topk(titles, 3)
    for row, top in enumerate(heavy):
        first = int(scores[row].argmax())
        assert top[0][0] == coder.codes_[first]  # the first place is the classifier's
        rank = scores[row] + 50.0 * described[row]
        rank[first] = -np.inf
        assert [c for c, _, _ in top[1:]] == list(
            coder.codes_[np.argsort(-rank, kind="stable")[:2]]
        )
    assert "2-06-03-01" in [c for c, _, _ in heavy[0]]
    unordered = coder.set_params(description_weight=0.0).predict_topk(titles[:1], 3)[0]
    assert "2-06-03-01" not in [c for c, _, _ in unordered]  # the descriptions brought it
    # Their weight is not part of the scores, and 0 leaves the order to the score.
    assert np.array_equal(coder.similarities(titles), scores)
    plain = coder.set_params(description_weight=0.0).predict_topk(titles, 3)
    assert [c for c, _, _ in plain[0]] == list(coder.codes_[np.argsort(-scores[0])[:3]])
    # Without definitions and tasks, and without the classifier, there is nothing to index.
    assert trained.descriptions_ is not None
    bare = OccupationCoder().fit(small_occupations[["code", "name"]], examples=EXAMPLES)
    assert bare.descriptions_ is None and bare.predict_topk(["叉车司机"], 3)[0]
    assert OccupationCoder().fit(small_occupations).descriptions_ is None
    with pytest.raises(ValueError, match="description_weight"):
        OccupationCoder(description_weight=-1).fit(occ)


def test_the_first_codes_neighbours_order_the_places_after_the_first(trained):
    titles = ["叉车司机 包吃住", "踩缝纫机", "快递", "砌墙"]
    k = 4
    scores = trained.similarities(titles)
    cosines = (trained.centroids_ @ trained.centroids_.T).toarray()
    heavy = trained.set_params(
        centroid_weight=0.0, description_weight=0.0, neighbour_weight=50.0
    ).predict_topk(titles, k)
    trained.set_params(centroid_weight=0.7, description_weight=1.0, neighbour_weight=0.4)
    for row, top in enumerate(heavy):
        first = int(scores[row].argmax())
        assert top[0][0] == trained.codes_[first]
        rank = scores[row] + 50.0 * cosines[first]
        rank[first] = -np.inf
        assert [c for c, _, _ in top[1:]] == list(
            trained.codes_[np.argsort(-rank, kind="stable")[: k - 1]]
        )
    plain = trained.set_params(neighbour_weight=0.0).predict_topk(titles, k)
    trained.set_params(neighbour_weight=0.4)
    assert heavy != plain
    # Their weight is not part of the scores, and the cosines are not pickled.
    assert np.array_equal(trained.similarities(titles), scores)
    assert "_neighbour_matrix" in trained.__dict__
    assert "_neighbour_matrix" not in pickle.loads(pickle.dumps(trained)).__dict__
    with pytest.raises(ValueError, match="neighbour_weight"):
        OccupationCoder(neighbour_weight=-1).fit(
            pd.DataFrame({"code": [SEWING], "name": ["缝纫工"]})
        )


def test_a_coder_pickled_before_descriptions_keeps_its_order(trained):
    state = pickle.loads(pickle.dumps(trained)).__getstate__()
    for name in ("description_weight", "description_vectorizer_", "descriptions_"):
        del state[name]
    del state["neighbour_weight"]
    old = OccupationCoder.__new__(OccupationCoder)
    old.__setstate__(state)
    assert old.description_weight == 0.0 and old.descriptions_ is None
    assert old.neighbour_weight == 0.0
    titles = ["叉车司机 包吃住", "踩缝纫机"]
    assert old.predict_topk(titles, 4) == trained.set_params(
        description_weight=0.0, neighbour_weight=0.0
    ).predict_topk(titles, 4)
    trained.set_params(description_weight=1.0, neighbour_weight=0.4)


def test_classifier_pickle_round_trip(trained):
    again = pickle.loads(pickle.dumps(trained))
    titles = ["踩缝纫机", "分拣快递", "叉车"]
    assert again.predict_topk(titles) == trained.predict_topk(titles)
    assert clone(trained).get_params()["C"] == 0.3


def test_transposed_weights_are_built_once_and_never_stored(small_occupations):
    coder = OccupationCoder().fit(small_occupations, examples=EXAMPLES)
    titles = ["踩缝纫机", "叉车司机 包吃住", "分拣快递"]
    scores = coder.similarities(titles)
    q = coder.vectorizer_.transform([coder._prepare(clean_title(t)) for t in titles])
    plain = (q @ coder.coef_.T).toarray() + coder.intercept_
    plain += coder.similarity_weight * coder._max_per_code((q @ coder.term_matrix_.T).toarray())
    assert np.allclose(scores, plain, atol=1e-6)
    cached = coder.__dict__["_transposed"]
    assert set(cached) == {"coef_", "term_matrix_"}
    assert all(m.format == "csr" for m in cached.values())
    coder.predict_topk(titles, 3)
    assert "centroids_" in coder.__dict__["_transposed"]
    assert coder.__dict__["_transposed"]["coef_"] is cached["coef_"]  # built once
    assert "_transposed" not in pickle.loads(pickle.dumps(coder)).__dict__
    # A refit drops the transposes of the old weights.
    coder.fit(small_occupations, examples=EXAMPLES[:5])
    assert "_transposed" not in coder.__dict__
    q = coder.vectorizer_.transform([coder._prepare(clean_title(t)) for t in titles])
    assert np.allclose(
        coder.similarities(titles),
        (q @ coder.coef_.T).toarray()
        + coder.intercept_
        + coder.similarity_weight * coder._max_per_code((q @ coder.term_matrix_.T).toarray()),
        atol=1e-6,
    )


def test_bad_examples(small_occupations):
    with pytest.raises(ValueError, match="text, code"):
        OccupationCoder().fit(small_occupations, examples=pd.DataFrame({"title": ["x"]}))
    with pytest.raises(ValueError, match="rows"):
        OccupationCoder().fit(small_occupations, examples=[("x",)])
    with pytest.raises(ValueError, match="weight"):
        OccupationCoder().fit(
            small_occupations,
            examples=pd.DataFrame({"text": ["x"], "code": [SEWING], "weight": [0]}),
        )


# -- hierarchy ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        (SEWING, SEWING, "detailed"),
        (SEWING, "6-05-01-04", "minor"),  # 缝纫品整型工
        ("6-29-01-01", "6-29-01-04", "minor"),  # 砌筑工 / 钢筋工
        (SEWING, "6-05-02-01", "middle"),
        (SEWING, FORKLIFT, "major"),
        ("4-02-07-08", "4-02-07-09", "minor"),  # 快递员 / 快件处理员
        (SEWING, SECURITY, "unrelated"),
        ("2-02-00-00", "2-02-30-01", "middle"),  # a group code on the levels it gives
        ("2-02-00-00", "2-02-00-00", "detailed"),
        ("", SEWING, "unrelated"),
        (None, None, "unrelated"),
    ],
)
def test_hierarchy_similarity(a, b, level):
    assert hierarchy_similarity(a, b) == HIERARCHY_LEVELS[level]
    assert hierarchy_similarity(b, a) == HIERARCHY_LEVELS[level]


def test_hierarchy_levels_are_graded_and_vectorised():
    values = [HIERARCHY_LEVELS[k] for k in ("detailed", "minor", "middle", "major", "unrelated")]
    assert values == sorted(values, reverse=True) and values[0] == 1.0 and values[-1] == 0.0
    out = hierarchy_similarities([SEWING, SEWING, ""], [SEWING, "6-05-01-04", SEWING])
    assert out.dtype == np.float32
    assert out.tolist() == pytest.approx([1.0, 0.7, 0.0])
    with pytest.raises(ValueError, match="length"):
        hierarchy_similarities([SEWING], [])


def test_min_confident_score_follows_the_kind_of_coder(coder, trained):
    from matcher.occupations import CONFIDENT_DECISION, CONFIDENT_SIMILARITY

    assert coder.min_confident_score == CONFIDENT_SIMILARITY  # cosine of names and aliases
    assert trained.min_confident_score == CONFIDENT_DECISION  # classifier decision values
    with pytest.raises(NotFittedError):
        _ = OccupationCoder().min_confident_score


def test_the_same_inputs_give_the_same_coder(small_occupations, trained):
    again = OccupationCoder().fit(small_occupations, examples=EXAMPLES)
    assert again.random_state == 0
    assert (again.coef_ != trained.coef_).nnz == 0
    assert np.array_equal(again.intercept_, trained.intercept_)
    with pytest.raises(ValueError, match="random_state"):
        OccupationCoder(random_state="0").fit(small_occupations, examples=EXAMPLES)
