"""Tests of training.augment: seeded, realistic, code-preserving variants."""

from __future__ import annotations

import random

import pytest

from matcher.text import clean_title, normalize_text
from training.augment import (
    COLLOQUIAL,
    augment_examples,
    colloquial_examples,
    firm_title,
    noise_titles,
    to_traditional,
    typo,
    worker_text,
)

EXAMPLES = [("缝纫工", "6-05-01-03"), ("叉车司机", "6-30-05-01"), ("快件处理员", "4-02-07-09")]


def test_same_seed_same_variants_other_seed_others():
    a = augment_examples(EXAMPLES, n_variants=4, seed=7)
    assert a == augment_examples(EXAMPLES, n_variants=4, seed=7)
    assert a != augment_examples(EXAMPLES, n_variants=4, seed=8)


def test_variants_keep_the_code_and_are_distinct():
    out = augment_examples(EXAMPLES, n_variants=4, seed=1)
    assert out[0] == EXAMPLES[0]  # the clean example comes first
    for text, code in EXAMPLES:
        rows = [t for t, c in out if c == code]
        assert rows[0] == text
        assert len(rows) == 5 and len(set(rows)) == 5
    assert augment_examples(EXAMPLES, n_variants=2, keep_original=False)[0] != EXAMPLES[0]
    assert augment_examples([("", "x")], n_variants=3) == []


def test_bad_n_variants():
    with pytest.raises(ValueError, match="n_variants"):
        augment_examples(EXAMPLES, n_variants=-1)


def test_firm_titles_add_noise_that_cleaning_removes():
    rng = random.Random(0)
    titles = [firm_title("焊工", rng) for _ in range(200)]
    assert all("焊工" in t for t in titles)
    assert all(t != "焊工" for t in titles)
    # Most of what a firm adds is pay/perk noise the cleaner knows: the occupation survives.
    assert sum("焊工" in clean_title(t) for t in titles) == 200
    assert sum(len(clean_title(t)) < len(normalize_text(t)) for t in titles) > 150


def test_worker_texts_use_colloquial_frames():
    rng = random.Random(0)
    texts = [worker_text("踩缝纫机", rng) for _ in range(200)]
    assert all("踩缝纫机" in t for t in texts)
    joined = "".join(texts)
    for word in ("干过", "做过", "跟师傅学过", "在厂里", "年"):
        assert word in joined


def test_typo_changes_little_and_traditional_converts():
    rng = random.Random(3)
    for _ in range(100):
        t = typo("缝纫机操作工", rng)
        assert t != "" and abs(len(t) - 6) <= 1
    assert to_traditional("缝纫工") == "縫紉工"
    assert normalize_text(to_traditional("电子厂质检员")) == "电子厂质检员"


def test_noise_titles_name_no_occupation():
    titles = noise_titles(100, seed=2)
    assert len(titles) == 100 == len(set(titles))
    assert titles == noise_titles(100, seed=2)
    from data.reference import load_occupations

    occ = load_occupations(4)
    words = {w for n, a in zip(occ["name"], occ["aliases"], strict=True) for w in [n, *a]}
    words = {w for w in words if len(w) >= 3}
    assert not [t for t in titles if any(w in t for w in words)]


def test_colloquial_table_codes_are_codes_of_the_coder():
    """Detailed occupations, or a residual group without any (6-02-99-00 其他食品、饮料…)."""
    from data.reference import load_occupations
    from matcher.occupations import prepare_occupations
    from training.coder import coder_occupations

    codes = set(prepare_occupations(coder_occupations())["code"])
    assert set(COLLOQUIAL) <= codes
    assert set(COLLOQUIAL) - set(load_occupations(4)["code"]) == {"6-02-99-00"}
    pairs = colloquial_examples()
    assert ("踩缝纫机", "6-05-01-03") in pairs
    # The near trades of issue 10 are kept apart.
    assert ("分拣快递", "4-02-07-09") in pairs and ("送快递", "4-02-07-08") in pairs
    assert ("扎钢筋", "6-29-01-04") in pairs and ("砌墙", "6-29-01-01") in pairs
    assert ("挡车", "6-04-03-03") in pairs
