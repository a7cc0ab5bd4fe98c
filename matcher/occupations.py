"""Code job titles and worker experience to the 2022 occupational classification (CSCO).

:class:`OccupationCoder` is a hybrid retriever over the detailed occupations: each occupation
is represented by its name and its aliases (``缝纫工, 服装领班, 手缝工``); a title is cleaned
(:func:`matcher.text.clean_title`) and compared

* lexically — cosine of character n-gram TF-IDF vectors (scikit-learn), which is exact on
  the words the classification uses (叉车司机, 缝纫工); and
* semantically — cosine of dense embeddings from any encoder (:mod:`matcher.encoders`),
  which carries colloquial words (踩缝纫机, 开叉车) when the encoder learnt them,

and the two are mixed, ``score = alpha * dense + (1 - alpha) * lexical``, taking for each
occupation its best-matching name or alias. Without an encoder it is TF-IDF only.

Definitions and task sentences are not indexed: matching titles against them (with a weight
of 0.2–0.5 relative to names) left top-1 accuracy on 5,903 real titles unchanged (44.1%) and
made fitting 40% slower. They teach the trained encoder instead (:mod:`training.encoder`).

Tried on a validation fifth of the training real titles (742 titles; the classifier as it is
scores top-1 0.663, top-5 0.863 there) and not kept: whole words of the classification (its
names, aliases and their shared heads, ``司机``, ``质检``, found by dictionary look-up) as extra
features beside the n-grams, weight 0.5: 0.658 / 0.864; a second classifier over the minor
groups (小类) added to its members' scores, weight 0.1–0.8: top-1 up to 0.670 only as top-5
fell to 0.82, and at 0.1 0.663 / 0.865; at most two codes of one minor group in the top 5:
0.663 / 0.865. Marketing noise (包吃住, 急招, 五险一金) is removed by
:func:`matcher.text.clean_title` before the classifier sees a title, so more of it in the
augmentations changes nothing the classifier learns.

Tried later (issue 10) on another validation fifth of the training titles (745, grouped by
cleaned form like the held-out part; the coder as it is: 0.648 / 0.858 there) and not kept:
``class_weight="balanced"`` 0.564 / 0.824; char n-grams (1, 4) 0.643 / 0.855, with fitting 2×
and coding 4× slower; ``C`` 0.1 / 0.15 / 0.2 / 0.5: 0.651 / 0.860, 0.656 / 0.858, 0.662 / 0.858,
0.647 / 0.855 (0.2, the best there, scores 0.647 / 0.865 on the held-out titles against
0.651 / 0.866, and lowers the decision values of worker clauses: at
:data:`CONFIDENT_DECISION` 95.6% of augmented colloquial sentences are kept instead of 98.6%);
real titles weighing 5 instead of 3 (with ``C=0.2``) 0.656 / 0.852; nearest-neighbour voting
over the training real titles (sum of the cosines of the 5–40 nearest, by code, weight
0.1–0.5, added to the scores) top-1 0.643–0.664 and top-5 0.851–0.863, unsteady with k;
``similarity_weight`` 0 / 0.3 / 0.5: 0.659 / 0.855, 0.651 / 0.862, 0.646 / 0.868; a softmax of
the decision values before adding the similarity: worse at every temperature (top-5 ≤ 0.848).
Ranking the codes after the first by a mix weighing the similarity 0.5–0.7 (the first kept
as it is) gave 0.648 / 0.869 on the validation fifth but 0.651 / 0.858 on the held-out
titles (against 0.651 / 0.866): the gain was the validation slice's noise. The same with the
similarity of a names-only TF-IDF, or of :class:`matcher.encoders.CharNgramEncoder`, in the
mix: 0.867–0.869 on validation, no better. Adding to each code 0.05–0.3 times the best score
in its minor group (or taking it off, -0.1 / -0.2): top-1 as it was, top-5 0.843–0.856.
Calibrating the decision values per code by their mean, spread or 99th percentile on the
training examples (added at 0.01–0.4): top-1 0.589–0.651, top-5 0.836–0.860. On
745 titles one point is seven titles, about what a seed or a split moves: the next attempt
should validate on five folds of the training titles, not on one fifth.

Five-fold cross-validation on the training titles (issue 10; folds by a hash of the cleaned
form, as the held-out part was drawn; 3,781 titles, each scored once, each fold's coder
trained on the other four folds and everything else): the coder as it was scores 0.651 /
0.859 there. **Kept**: ordering the places after the first by the score plus 0.7 times the
cosine of the title with each code's *centroid* (the weighted mean TF-IDF row of its names,
aliases and examples), the first place kept as the classifier gives it: 0.651 / 0.865 (weights
0.1 / 0.2 / 0.5 / 1.0 / 1.5: top-5 0.861 / 0.864 / 0.864 / 0.865 / 0.865; with the centroid
also deciding the first place top-1 falls to 0.648–0.650). On the held-out titles, measured
once: 0.651 / 0.866 before, 0.651 / 0.870 after. Not kept there: a multinomial naive Bayes on
the same features (alpha 0.01–0.1), its log-probabilities added at 0.01–0.1: top-5 0.839–0.863;
``SGDClassifier(loss="modified_huber")`` on one fold: top-1 0.565 alone, and added to the
scores at 0.1–1.0 top-5 fell from 0.872 to 0.69–0.83. Added to the centroid ordering (0.651 /
0.865), none of these raised top-5 by more than five titles in 3,781 (0.13 points, less than a
fold's noise), so none was kept: a bonus of 0.05–0.3 for the first code's minor-group siblings
(0.866 at 0.05, 0.850 at 0.3) or middle-group ones (0.865–0.841); a second centroid of the real
titles only, 0.1–0.5 (0.865–0.867); the best cosine with any single training text of the code,
0.1–0.5 (0.863–0.864); the best score of any one word of a multi-word title
(``深圳市某某五金制品 折弯工``: the employer's words out of the way), 0.1–1.0 (0.865–0.866,
and deciding the first place too, top-1 0.648–0.652); real titles weighing 3 or names 3
inside the centroids (0.864–0.866); three augmented variants of each real title instead of one
(0.654 / 0.863, fitting 1.6× slower).

Tried next on the same five folds (issue 10, against 0.651 / 0.865) and not kept, none raising
top-5: a prior of the codes of the training real titles, ``b * log(1 + count)`` added for the
places after the first, b 0.02 / 0.05 / 0.1 / 0.2: top-5 0.865 / 0.860 / 0.852 / 0.824 (and
deciding the first place too, top-1 0.649–0.619), or a flat bonus of 0.05–0.2 for a code any
real title has: 0.865–0.866; votes of the 5 / 10 / 20 nearest training real titles (their
cosines summed by code, 0.1–0.4): 0.860–0.865, and their best cosine by code, 0.1 / 0.3:
0.865 / 0.866; reciprocal-rank fusion of the score's and the centroid's orders (k 5–60, with
the similarity's order or without): 0.843–0.864; the similarity once more, 0.1 / 0.2:
0.864; coding only the part after the employer (``肇州世纪华辰超市连锁招聘收银`` → ``收银``,
before 招聘 / 诚聘 / 急招 and not before 专员, 主管, 经理 ...; in the coder's own cleaning,
for training and coding alike): 0.654 / 0.865, and with place words also taken off the start
of each word (provinces, prefectures and counties of ``data/reference/cncity.csv``, ``宁夏银川``):
0.653 / 0.865 — the employer sometimes names the trade (``米乐家蛋糕店招聘后厨`` is a baker).
A second ``LinearSVC`` (C=0.5) on the names, aliases and real titles only, its decision
values added at 0.1 / 0.2 / 0.4 for the places after the first: 0.865 / 0.864 / 0.865.
A multinomial logistic regression over the same features was not tried: 1,696 classes
over 59,000 features and 18,000 rows would take minutes to fit (an estimate, not measured),
not the minute training may take.

Tried next (issue 10; the same five folds, now 3,788 titles, where the coder scores 0.650 /
0.864) and not kept: a fastText-style softmax beside the classifier — a dense vector per char
n-gram feature of the same vectorizer, a title the TF-IDF-weighted sum of its features'
vectors (``torch.nn.EmbeddingBag``), a softmax over the 1,696 codes, Adam (lr 0.01, batches of
256) on the same weighted texts — its log-probabilities (temperature 1 / 2 / 4, weight
0.02–0.2) added to the order of the places after the first. Alone it scores 0.612–0.622 /
0.830–0.850. Best on the folds: width 128, 5 epochs, weight 0.05 beside the centroids (0.7):
0.650 / 0.869 (+21 titles of 3,788); width 64 with 4 / 8 / 20 epochs: 0.867 / 0.868 / 0.866,
width 128 with 10: 0.8685; letting it decide the first place too lowered top-1 to 0.643–0.648.
On the held-out titles, measured once, the chosen version scored 0.651 / 0.870 against 0.651 /
0.870 before (one title fewer in the top 5), for a coder of 41 MB instead of 8 MB and 4,500
instead of 6,400 titles/s coding top-5 lists: the fold gain did not carry over.
Where the folds' 516 top-5 misses lie (the coder as it is): 7 codes outside the classification,
42 group codes, 465 detailed codes, of which the right code ranks 6th–10th for 127, 11th–30th
for 140 and lower for 198; for 110 a sibling of its minor group is in the top 5, for 138 one of
its middle group only, for 182 one of its major group only, and 77 have none of its major group.
Re-ordering the places after the first can reach at most the 127; most misses need the right
code scored higher in the first place (96 of the 465 codes have 3 training rows or fewer).

Tried next (issue 10; five folds by the MD5 of the cleaned form, 3,788 titles, where the coder
scores 0.648 / 0.866) and not kept, none raising top-5 by more than five titles:
``LinearSVC(multi_class="crammer_singer")``, C 0.3, with the centroid ordering 0 / 0.35 / 0.7
/ 1.0 / 1.5 and similarity 0 / 0.15 / 0.3: top-1 0.650–0.657, top-5 0.855–0.867 (best 0.656 /
0.867 at similarity 0.15, centroids 1.0), fitting 105–170 s per fold instead of 50–70 s for the
whole coder (and its decision values would need :data:`CONFIDENT_DECISION` picked again);
its first place with the one-vs-rest order after it: 0.656 / 0.866; its decision values added
to the one-vs-rest ones at 0.25–2: 0.651–0.657 / 0.865–0.867. The classification's task
sentences and definitions (12,198 texts split on numbered items and ；。, weight 0.3) as
classifier examples: 0.647 / 0.867, with 220,000 features instead of 59,000 and fitting 3.5×
slower. Among 45 of the folds' misses drawn at random, most expected codes are far from
the title (``纯手绘儿童插画师`` coded 包装工, ``车间管理`` 停车管理员, ``项目专员``
会计专业人员) and rank in the hundreds or lower: no scoring of the title's words reaches them.

Tried next (issue 10; the same five folds, 3,788 titles, 0.648 / 0.866 as it is) and not kept:
per-code sample weights for the classifier, each row's weight times ``n ** -a`` (``n`` the
total weight of its code's rows), rescaled to the same total: a = 0.1 / 0.25 / 0.5 gave
0.648 / 0.867, 0.645 / 0.867, 0.640 / 0.867 (+3 titles in the top 5 at most; 45-70 s a fit).

Tried next (issue 10; the same five folds, 3,788 titles, 0.648 / 0.866 as it is) and not kept:
a full-rank multinomial logistic regression on the classifier's own rows (the same TF-IDF
features and sample weights; a 59,000 × 1,696 weight matrix and a bias per code), fitted in
torch by sparse Adam (lr 0.05, batches of 256, 3 or 5 epochs, or 8 at lr 0.02; scikit-learn's
lbfgs segfaults inside scipy's L-BFGS-B at 100 million parameters, scipy issue 5102). Alone it
scores 0.608–0.618 / 0.820–0.828 without a penalty or with a decoupled weight decay of 0.02 /
0.1, and worse with an L2 penalty on the rows each batch touches (1e-4: 0.587 / 0.769; 3e-4:
0.464 / 0.645). In place of the decision values, the similarity (0 / 0.15 / 0.3) and the
centroids (0–1.5) tuned again: top-5 at most 0.862 with its probabilities (top-1 0.61–0.62) and
0.861 with its log-probabilities times 0.05–0.5 (top-1 0.57–0.58 there). Its log-probabilities
added to the scores at 0.01 / 0.02 / 0.05 / 0.1 / 0.2 / 0.5 / 1: best at 0.02, 0.649 / 0.868
(+7 titles in the top 5; every fit within two titles of it but the L2 ones, 0.866–0.867), then
0.865, 0.862–0.864, 0.857, 0.848 and 0.834–0.840; for the places after the first only, the
same at 0.02 (0.868) and 0.841–0.847 at 1; its probabilities added at 0.05–1: 0.866–0.867,
all places or after the first. With the centroid weight at 1.5 the best, 0.649 / 0.870, is four
titles above the coder with that weight alone (0.648 / 0.869: ten titles above 0.7 on these
folds, where the earlier folds gave 0.865 at both). Fitting took 22–32 s a fold for 3 epochs and
55–115 s for 5–8 (on a shared machine; the whole coder 65–180 s there). Not measured on the
held-out titles: no fold gain reached the 15 titles asked for.

Tried next (issue 10; five folds by the MD5 of the cleaned form, 3,788 titles, 0.648 / 0.866 as
it is) and not kept: the coder's own confusions as a prior. Each training title's out-of-fold
first code ``a`` and its right code ``b`` counted where ``a`` was wrong; a title whose first code
is ``a`` then has ``beta * count(a, b) / (count(a) + s)`` added to code ``b`` for the places
after the first (leaving out, when scoring a fold, the counts of titles of the same cleaned
form). On the folds beta 0.3 / 0.5 / 1.0 / 1.5 (s 0 / 1 / 3) gave top-5 0.868-0.870, 0.869-0.871,
0.872-0.873, 0.868-0.870 (+24 titles at beta 1, s 1); the same from the second place as well,
0.1-1.0: no more. On the held-out titles, measured once with counts from all training titles:
0.8704 before, 0.8709 after (one title): the folds' gain did not carry over, as before.

Tried next (issue 10; five folds by the MD5 of the cleaned form, 3,788 titles, 0.645 / 0.863 as
it is, each fold's coder trained on the other four) and not kept: a learned re-ranker of the
places after the first over the top 10 / 15 / 30 codes — scikit-learn's
``HistGradientBoostingClassifier`` (right code or not) on the score, its gap to the first, the
similarity, the centroid cosine, the best cosine with a training real title of the code, their
ranks, the level of the classification shared with the first code, the code's count among the
real titles, whether a name or alias lies inside the title, the title's length: top-5 0.853–0.860
(-14 to -38 titles); a logistic regression on those features: -57 to +5. The hand order holds
what the folds can teach. **Kept**: the classification's own words for the work. A title's
single characters, TF-IDF weighted and L2-normalised, against each code's definition and tasks
(``descriptions_``), added at 1.0 to the order of the places after the first: +42 titles on the
folds (0.8743; weights 0.6 / 0.8 / 1.2 / 1.6: +28 / +36 / +33 / +27; characters (1, 2): +33 at
best, bigrams +18, the task sentences' best one instead of the whole: +33, names and aliases in
the text: +35, the minor, middle or major group's description as well: +3 at most). On the
held-out titles, measured once: 0.8704 before, 0.8775 after (+15 titles). Deciding the first
place with it too (0.1–1.0) raised top-1 on the folds by 0.005 and not top-5; not kept, as it
would move the codes the engine gives every job.

Tried next (issue 10; the same five folds, 3,788 titles, where the coder scores 0.6476 / 0.8749).
**Kept**: the first code's neighbours, as pseudo-relevance feedback widens a search with its best
hit. The cosine of each code's centroid with the first code's, added at 0.4 to the order of the
places after the first (``neighbour_weight``): +22 titles on the folds (0.8807; +4 or +5 in every
fold; weights 0.1 / 0.2 / 0.8: +14 / +15 / +8). Not kept beside it: the cosine of the codes'
descriptions instead (+12 at best) or as well (+20); the first three codes' centroids weighted by
a softmax of their scores (temperature 0.1–1): +16 to +25, no steadier; the classifier's scores
of the first code's centroid (the feedback fed to the classifier): +12; the centroid and
description weights tuned again with it (0.5–1.0, 0.8–1.2): +11 to +23. On the held-out titles,
measured once: 0.8775 before, 0.8818 after (+9 titles). The places after the first are ordered
for :meth:`OccupationCoder.predict_topk` lists and for a worker's clauses whose first code lies
outside the worker's major groups; the engine's figures did not move with it (0.0 or 0.4, the same
coder: the same NDCG@10 to the last digit on both worlds).

Tried next (the same five folds, against 0.6476 / 0.8807) and not kept: the employers that the
augmentations put in titles and worker sentences (:mod:`training.augment`) named after the
trade's own industry two times in three (服装 or 纺织 for 缝纫工, 机械 for 车工; industries found by
their words in the occupation's name and definition, 307 of 1,696 codes), where they are drawn
at random now: top-1 0.6470, top-5 0.8799 (-2 and -3 titles), and ``服装厂做过3年车工`` stays 车工.
Nor colloquial phrases that let the firm's words decide what 车工 is (服装车工, 成衣车工,
服装厂做车工 for 缝纫工; 机械厂车工, 机加工车工, 金工车工, 车床车工 for 车工), though ``机械厂车工``
read as 缝纫工 before and ``熟练车工（服装）`` as 车工: on the folds 0.6473 / 0.8807 (-1 / 0), on
the held-out titles 0.6506 / 0.8818 (-1 / 0), and the engine lost on every world after training
(independent 0.899 → 0.896, best workers for a job 0.860 → 0.849, base 0.855 → 0.843; demo world
0.782 → 0.780).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize
from sklearn.utils.validation import check_is_fitted

from matcher.encoders import load_encoder
from matcher.text import check_ngram_range, clean_title, normalize_text

__all__ = [
    "CONFIDENT_DECISION",
    "CONFIDENT_SIMILARITY",
    "HIERARCHY_LEVELS",
    "OccupationCoder",
    "hierarchy_similarities",
    "hierarchy_similarity",
    "prepare_occupations",
]


def _aliases(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        return [a for a in (x.strip() for x in value.split(",")) if a]
    return [str(a).strip() for a in value if str(a).strip()]


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _codable(codes: pd.Series, levels: pd.Series) -> np.ndarray:
    """Rows to code to: the detailed occupations and the groups that have none.

    The classification closes many groups with a residual group of its own, with no detailed
    occupation under it: ``2-08-99-00`` 其他教学人员 (a dance or calligraphy teacher),
    ``4-99-00-00`` 其他社会生产服务和生活服务人员, ``8-00-00-00`` 不便分类的其他从业人员.
    People code real titles to them (one in thirty of the real job-board titles), so the coder
    offers them
    as codes beside the detailed occupations.
    """
    detailed = codes[levels == "4"]
    prefixes = {"-".join(c.split("-")[:n]) for c in detailed for n in (1, 2, 3)}
    keep = (levels == "4").to_numpy().copy()
    for i, (code, level) in enumerate(zip(codes, levels, strict=True)):
        if level in ("1", "2", "3"):
            given = _segments(code)
            keep[i] = bool(given) and "-".join(given) not in prefixes
    return keep


def prepare_occupations(occupations: pd.DataFrame) -> pd.DataFrame:
    """Bring an occupation table to the coder's contract.

    Accepts :func:`data.reference.load_occupations` output or the raw ``csco22.csv`` (whose
    alias column is ``alias``, comma-separated). A table with a ``level`` column (the raw file
    holds all four) keeps the detailed occupations (level 4) and the *residual groups* of
    levels 1–3 that have no detailed occupation under them (``2-08-99-00`` 其他教学人员; see
    :func:`_codable`). Codes listed twice keep their first row.

    Returns
    -------
    DataFrame
        ``code, name, definition, tasks, aliases`` (``aliases`` a list of str), one row per
        code.
    """
    if not isinstance(occupations, pd.DataFrame):
        raise TypeError(f"occupations must be a pandas DataFrame, got {type(occupations).__name__}")
    df = occupations
    if "aliases" not in df.columns and "alias" in df.columns:
        df = df.rename(columns={"alias": "aliases"})
    missing = [c for c in ("code", "name") if c not in df.columns]
    if missing:
        raise ValueError(
            f"occupations lacks column(s) {missing!r}; needs code, name "
            f"(and optionally definition, tasks, aliases); it has {list(df.columns)!r}"
        )
    if "level" in df.columns:
        df = df[_codable(df["code"].astype(str).str.strip(), df["level"].astype(str).str.strip())]
    out = pd.DataFrame(
        {
            "code": df["code"].astype(str).str.strip(),
            "name": df["name"].map(_text).str.strip(),
            "definition": df["definition"].map(_text) if "definition" in df else "",
            "tasks": df["tasks"].map(_text) if "tasks" in df else "",
            "aliases": df["aliases"].map(_aliases) if "aliases" in df else [[]] * len(df),
        }
    )
    out = out[(out["code"] != "") & (out["name"] != "")]
    out = out.drop_duplicates("code", keep="first").reset_index(drop=True)
    if out.empty:
        raise ValueError("occupations has no row with both a code and a name")
    return out


# Graded similarity of two codes by the lowest level of the classification they share.
HIERARCHY_LEVELS: dict[str, float] = {
    "detailed": 1.0,  # 6-05-01-03 = 6-05-01-03   (same detailed occupation)
    "minor": 0.7,  # 6-05-01-03 ~ 6-05-01-04   (same minor group, 小类: 缝纫 / 缝纫品整型)
    "middle": 0.4,  # 6-05-01-03 ~ 6-05-02-01   (same middle group, 中类: 纺织品和服装加工)
    "major": 0.15,  # 6-05-01-03 ~ 6-30-05-01   (same major group, 大类: 生产制造)
    "unrelated": 0.0,  # different major groups, or a side not coded
}


def _segments(code: str) -> list[str]:
    """The given levels of a code; trailing all-zero segments of a group code are not given.

    ``6-05-01-03`` → 4 segments; ``2-02-00-00`` (a group code, 工程技术人员) → ``["2", "02"]``.
    A level-4 code that ends in ``-00`` (``6-31-05-00`` 包装工) keeps its first three segments,
    which is all it can share with another code anyway.
    """
    parts = str(code or "").strip().split("-")
    while len(parts) > 1 and parts[-1].strip("0") == "":
        parts.pop()
    return [p for p in parts if p] if parts != [""] else []


def hierarchy_similarity(a: str, b: str) -> float:
    """Graded similarity of two CSCO 2022 codes through the occupation hierarchy.

    For ranking features (a worker's trade against a job's occupation) where "a related
    trade in the same family" should count for something and an exact match for most:

    ======================================  =====  ================================
    shared level                            score  example
    ======================================  =====  ================================
    same detailed occupation                1.0    缝纫工 / 缝纫工
    same minor group (first 3 segments)     0.7    缝纫工 6-05-01-03 / 缝纫品整型工 6-05-01-04
    same middle group (first 2 segments)    0.4    缝纫工 / 服装制版师 6-05-02-…
    same major group (first segment)        0.15   缝纫工 / 叉车司机 6-30-05-01
    different major groups, or uncoded      0.0    缝纫工 / 保安员 4-07-05-01
    ======================================  =====  ================================

    The values are :data:`HIERARCHY_LEVELS`. A *group* code (trailing ``-00`` segments, as a
    clerk writes when only the family is known: ``2-02-00-00``) is compared on the levels it
    gives, so ``2-02-00-00`` and ``2-02-30-01`` share the middle group (0.4), and two equal
    group codes count as the same occupation (1.0).

    Parameters
    ----------
    a, b : str
        Codes such as ``6-05-01-03``; ``""`` or None means "not coded".

    Returns
    -------
    float
        One of the values of :data:`HIERARCHY_LEVELS`.

    Examples
    --------
    >>> hierarchy_similarity("6-05-01-03", "6-05-01-04"), hierarchy_similarity("6-29-01-01", "")
    (0.7, 0.0)
    >>> hierarchy_similarity("2-02-00-00", "2-02-30-01"), hierarchy_similarity("", "6-05-01-03")
    (0.4, 0.0)
    """
    return _hierarchy_similarity(str(a or ""), str(b or ""))


_BY_DEPTH = (
    HIERARCHY_LEVELS["unrelated"],
    HIERARCHY_LEVELS["major"],
    HIERARCHY_LEVELS["middle"],
    HIERARCHY_LEVELS["minor"],
    HIERARCHY_LEVELS["detailed"],
)


@lru_cache(maxsize=65_536)
def _hierarchy_similarity(a: str, b: str) -> float:
    sa, sb = _segments(a), _segments(b)
    if not sa or not sb:
        return _BY_DEPTH[0]
    if sa == sb:
        return _BY_DEPTH[4]
    shared = 0
    for x, y in zip(sa, sb, strict=False):
        if x != y:
            break
        shared += 1
    # Two different codes share at most their minor group.
    return _BY_DEPTH[min(shared, 3)]


def hierarchy_similarities(a: Sequence[str], b: Sequence[str]) -> np.ndarray:
    """:func:`hierarchy_similarity` of each pair ``(a[i], b[i])`` as a float32 array.

    Examples
    --------
    >>> hierarchy_similarities(["6-05-01-03", "6-29-01-01"], ["6-05-01-03", "6-29-01-04"]).tolist()
    [1.0, 0.699999988079071]
    """
    if len(a) != len(b):
        raise ValueError(f"a and b differ in length: {len(a)} and {len(b)}")
    return np.fromiter(
        (_hierarchy_similarity(str(x or ""), str(y or "")) for x, y in zip(a, b, strict=True)),
        dtype=np.float32,
        count=len(a),
    )


#: The classifier's least decision value for a confident code. Picked on augmented worker
#: sentences of the colloquial phrases and occupation names (a seed training never used) and on
#: clauses that name no trade (人踏实, 啥都行, 想去苏州): at -0.5, 98.9% of the first are kept
#: (right, nearly all) and a fifth of the second; at the 0.2 used before, 18% of the first.
CONFIDENT_DECISION = -0.5
#: The same for the similarity-only coder: a cosine with a name or an alias.
CONFIDENT_SIMILARITY = 0.2


def _mark(cleaned: str) -> str:
    """``叉车司机 仓管`` → ``<叉车司机> <仓管>``.

    The head of a Chinese job title is its end (舞蹈**老师**, 销售**经理**, 质检**员**) and its
    start often names the field; marking the word edges gives those n-grams features of
    their own (``老师>``, ``<质检``) and raised held-out top-1 by one point.
    """
    return " ".join(f"<{w}>" for w in cleaned.split())


def _examples_frame(examples: Any) -> pd.DataFrame:
    if isinstance(examples, pd.DataFrame):
        df = examples
    else:
        rows = [tuple(r) for r in examples]
        if rows and len(rows[0]) not in (2, 3):
            raise ValueError(
                f"examples must be (text, code) or (text, code, weight) rows, got {rows[0]!r}"
            )
        cols = ["text", "code", "weight"][: len(rows[0]) if rows else 2]
        df = pd.DataFrame(rows, columns=cols)
    missing = [c for c in ("text", "code") if c not in df.columns]
    if missing:
        raise ValueError(
            f"examples lacks column(s) {missing!r}; needs text, code (and optionally weight); "
            f"it has {list(df.columns)!r}"
        )
    out = pd.DataFrame(
        {
            "text": df["text"].map(_text),
            "code": df["code"].map(_text).str.strip(),
            "weight": df["weight"].astype(float) if "weight" in df.columns else 1.0,
        }
    )
    if (out["weight"] <= 0).any() or out["weight"].isna().any():
        raise ValueError("examples: every weight must be a positive number")
    return out


class OccupationCoder(BaseEstimator):
    """Coder of job titles and worker experience to CSCO 2022 detailed occupation codes.

    Two parts, whose scores are added:

    * a **supervised linear classifier** (one-vs-rest linear SVM, scikit-learn
      ``LinearSVC``) over character n-gram TF-IDF of the cleaned, edge-marked text, trained
      on every occupation's name and aliases and on the labelled ``examples`` given to
      :meth:`fit` (augmented names, aliases and colloquial phrases, real titles: see
      :func:`training.coder.training_examples`). Weights under ``coef_threshold`` are
      dropped, which keeps the model at a few MB with no loss of accuracy; and
    * a **similarity** part, weighted by ``similarity_weight``: for each occupation the best
      cosine of the title with its name or an alias — char n-gram TF-IDF, mixed with a dense
      encoder's cosine (``alpha``) when an encoder is given.

    With ``classifier=False``, or when :meth:`fit` gets no ``examples``, only the similarity
    part is used, as the coder was before (names and aliases, TF-IDF without edge marks).

    Parameters
    ----------
    encoder : str, path, object with ``encode`` or None, default=None
        Dense encoder of the similarity part, anything :func:`matcher.encoders.load_encoder`
        accepts. ``None``: lexical only (and fastest).
    ngram_range : (int, int), default=(1, 3)
        Character n-gram lengths.
    alpha : float in [0, 1], default=0.5
        Weight of the dense similarity within the similarity part (ignored without encoder).
    top_k : int, default=5
        Default length of :meth:`predict_topk` lists.
    classifier : bool, default=True
        Train and use the linear classifier when :meth:`fit` is given ``examples``; without
        examples (or with False) the coder is similarity only.
    C : float, default=0.3
        Inverse regularisation of the classifier.
    similarity_weight : float >= 0, default=0.15
        Weight of the similarity part next to the classifier's decision values.
    coef_threshold : float >= 0, default=0.02
        Classifier weights of smaller magnitude are set to zero and the rest kept sparse.
    centroid_weight : float >= 0, default=0.7
        With the classifier, :meth:`predict_topk` keeps the best score first and orders the
        places after it by the score plus this times the title's cosine with each code's
        centroid (``centroids_``); the scores it reports stay the scores. 0: by score only.
    description_weight : float >= 0, default=1.0
        With the classifier, the order of the places after the first also adds this times
        the cosine of the title's characters with each code's definition and tasks
        (``descriptions_``): the classification's own words for what the work is
        (``核算`` in 会计专业人员's tasks, ``婚姻`` in 婚介师's). 0: not used.
    neighbour_weight : float >= 0, default=0.4
        With the classifier, the order of the places after the first also adds this times
        the cosine of each code's centroid with the first code's: the trades written like the
        first one, as pseudo-relevance feedback widens a search with its best hit (牙科配台护士:
        口腔科医师 first, then 口腔科护士 where 中医护士 was). 0: not used.
    random_state : int or None, default=0
        Seed of the classifier's coordinate descent (``LinearSVC`` visits the examples in a
        random order): with a seed the same inputs give the same coder, bit for bit. None:
        a new order each fit (the weights then differ in the last digits, and a few texts
        near a boundary can change code).

    Attributes
    ----------
    codes_ : ndarray of str
        The detailed codes, in index order.
    names_ : ndarray of str
        Their names.
    vectorizer_ : TfidfVectorizer
        Fitted on the names, aliases and (with the classifier) the examples.
    term_matrix_ : sparse matrix (n_terms, n_features)
        L2-normalised TF-IDF rows of every name and alias.
    term_code_ : ndarray of int
        Occupation index of each row of ``term_matrix_``.
    encoder_ : Encoder or None
        The loaded encoder.
    term_embeddings_ : ndarray (n_terms, dim) or None
        Dense rows of every name and alias.
    coef_ : sparse CSR matrix (n_codes, n_features), float32, or None
        The classifier's weights, rows following ``codes_``.
    intercept_ : ndarray (n_codes,), float32, or None
    centroids_ : sparse CSR matrix (n_codes, n_features), float32, or None
        L2-normalised weighted mean TF-IDF row of each code's names, aliases and examples.
    description_vectorizer_ : TfidfVectorizer or None
        Single characters of the definitions and tasks (with the classifier).
    descriptions_ : sparse CSR matrix (n_codes, n_characters), float32, or None
        L2-normalised TF-IDF row of each code's definition and tasks (empty where it has none).
    n_examples_ : int
        Labelled examples the classifier learnt from, besides names and aliases.

    Examples
    --------
    >>> occ = pd.DataFrame({"code": ["6-05-01-03", "4-02-02-03"], "name": ["缝纫工", "叉车司机"],
    ...                     "aliases": [["缝纫工", "手缝工"], ["叉车工"]]})
    >>> coder = OccupationCoder().fit(occ, examples=[("踩缝纫机", "6-05-01-03")])
    >>> coder.predict(["急招叉车工 包吃住", "缝紉工", "踩过缝纫机"])
    ['4-02-02-03', '6-05-01-03', '6-05-01-03']
    """

    def __init__(
        self,
        encoder: Any = None,
        ngram_range: tuple[int, int] = (1, 3),
        alpha: float = 0.5,
        top_k: int = 5,
        classifier: bool = True,
        C: float = 0.3,
        similarity_weight: float = 0.15,
        coef_threshold: float = 0.02,
        centroid_weight: float = 0.7,
        description_weight: float = 1.0,
        neighbour_weight: float = 0.4,
        random_state: int | None = 0,
    ) -> None:
        self.encoder = encoder
        self.ngram_range = ngram_range
        self.alpha = alpha
        self.top_k = top_k
        self.classifier = classifier
        self.C = C
        self.similarity_weight = similarity_weight
        self.coef_threshold = coef_threshold
        self.centroid_weight = centroid_weight
        self.description_weight = description_weight
        self.neighbour_weight = neighbour_weight
        self.random_state = random_state

    # -- fitting ------------------------------------------------------------------------------

    def _validate_params(self) -> None:
        if not (isinstance(self.alpha, (int, float)) and 0.0 <= self.alpha <= 1.0):
            raise ValueError(f"alpha must be a number in [0, 1], got {self.alpha!r}")
        if not (isinstance(self.top_k, int) and self.top_k >= 1):
            raise ValueError(f"top_k must be a positive int, got {self.top_k!r}")
        if not isinstance(self.classifier, bool):
            raise ValueError(f"classifier must be True or False, got {self.classifier!r}")
        if not (isinstance(self.C, (int, float)) and self.C > 0):
            raise ValueError(f"C must be a positive number, got {self.C!r}")
        for name in (
            "similarity_weight",
            "coef_threshold",
            "centroid_weight",
            "description_weight",
            "neighbour_weight",
        ):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and value >= 0):
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        if not (self.random_state is None or isinstance(self.random_state, int)):
            raise ValueError(f"random_state must be an int or None, got {self.random_state!r}")
        check_ngram_range(self.ngram_range)

    def fit(
        self, occupations: pd.DataFrame, y: None = None, examples: Any = None
    ) -> OccupationCoder:
        """Index the occupations and, with ``classifier``, train the classifier.

        Parameters
        ----------
        occupations : DataFrame
            ``code, name`` and optionally ``aliases`` (see :func:`prepare_occupations`, which
            is applied here) and ``definition`` and ``tasks``, which with the classifier order
            the places after the first (``description_weight``).
        y : ignored
        examples : DataFrame or iterable of rows, optional
            Labelled texts for the classifier: ``text, code`` and optionally ``weight``
            (default 1; names and aliases weigh 1), as a DataFrame or ``(text, code[,
            weight])`` rows. ``code`` is a detailed code of ``occupations`` or a *group* code
            (``2-02-00-00``, as people code a title when they can tell only the family): a
            group-coded text is taught as the occupation of that group its name and aliases
            resemble most. Ignored with ``classifier=False``.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            On bad parameters, a bad occupation table, or an example whose code is neither a
            detailed code nor a group of detailed codes of ``occupations``.
        """
        self._validate_params()
        self.__dict__.pop("_transposed", None)
        self.__dict__.pop("_neighbour_matrix", None)
        occ = prepare_occupations(occupations)
        self.codes_ = occ["code"].to_numpy(dtype=object)
        self.names_ = occ["name"].to_numpy(dtype=object)
        self._name_of = dict(zip(self.codes_, self.names_, strict=True))

        terms: list[str] = []
        term_code: list[int] = []
        for i, (name, aliases) in enumerate(zip(occ["name"], occ["aliases"], strict=True)):
            seen: set[str] = set()
            for term in [name, *aliases]:
                # Names carry suffix letters in the classification (电子商务师S, 汽车工程技术人员L)
                # that no job board writes.
                key = clean_title(term.rstrip("SLP")) or normalize_text(term)
                if key and key not in seen:
                    seen.add(key)
                    terms.append(key)
                    term_code.append(i)
        self.terms_ = np.asarray(terms, dtype=object)
        self.term_code_ = np.asarray(term_code, dtype=np.int64)
        self.term_starts_ = np.searchsorted(self.term_code_, np.arange(len(self.codes_)))

        # Without examples there is nothing to learn beyond the names: the coder is then the
        # similarity coder it was before (and fits in a blink).
        self.marked_ = bool(self.classifier and examples is not None)
        ex = None
        if self.marked_:
            ex = _examples_frame(examples)
            ex["clean"] = ex["text"].map(clean_title)
            ex = ex[ex["clean"] != ""].reset_index(drop=True)

        self.vectorizer_ = TfidfVectorizer(
            analyzer="char",
            ngram_range=tuple(self.ngram_range),
            lowercase=False,  # normalize_text did it
            sublinear_tf=True,
            dtype=np.float32,
        )
        prep = self._prepare
        corpus = [prep(t) for t in terms]
        if ex is not None:
            corpus += [prep(t) for t in ex["clean"]]
        self.vectorizer_.fit(corpus)
        self.term_matrix_ = self.vectorizer_.transform(corpus[: len(terms)]).tocsr()

        if self.encoder is None:
            self.encoder_ = None
            self.term_embeddings_ = None
        else:
            self.encoder_ = load_encoder(self.encoder)
            self.term_embeddings_ = self.encoder_.encode(terms)

        self.coef_ = None
        self.intercept_ = None
        self.centroids_ = None
        self.description_vectorizer_ = None
        self.descriptions_ = None
        self.n_examples_ = 0
        if self.marked_:
            self._fit_classifier(terms, ex)
            self._fit_descriptions(occ)
        return self

    def _fit_descriptions(self, occ: pd.DataFrame) -> None:
        """Index each code's definition and tasks by single characters (``descriptions_``).

        Characters, not n-grams: a title shares a word or two with a description at most, and
        single characters carry the field (``纺``, ``棉``, ``账``) where longer grams miss.
        """
        pairs = zip(occ["definition"], occ["tasks"], strict=True)
        texts = [normalize_text(f"{d} {t}") for d, t in pairs]
        if not any(texts):
            return
        self.description_vectorizer_ = TfidfVectorizer(
            analyzer="char",
            ngram_range=(1, 1),
            lowercase=False,
            sublinear_tf=True,
            dtype=np.float32,
        )
        matrix = self.description_vectorizer_.fit_transform(texts)
        self.descriptions_ = normalize(matrix).astype(np.float32).tocsr()

    def _prepare(self, cleaned: str) -> str:
        return _mark(cleaned) if self.marked_ else cleaned

    def _example_targets(self, ex: pd.DataFrame) -> np.ndarray:
        """Index into ``codes_`` of each example; group codes go to their closest member."""
        index = {c: i for i, c in enumerate(self.codes_)}
        target = np.array([index.get(c, -1) for c in ex["code"]], dtype=np.int64)
        todo = np.flatnonzero(target < 0)
        if not len(todo):
            return target
        unknown: list[str] = []
        members: dict[str, np.ndarray] = {}
        for code in ex["code"].iloc[todo].unique():
            parts = _segments(code)
            prefix = "-".join(parts) + "-"
            inside = np.flatnonzero([c.startswith(prefix) for c in self.codes_])
            if not parts or len(parts) == 4 or not len(inside):
                unknown.append(code)
            members[code] = inside
        if unknown:
            raise ValueError(
                f"examples hold code(s) that are neither detailed codes nor groups of the "
                f"occupations: {sorted(unknown)[:10]!r} ({len(unknown)} in all)"
            )
        sims = self._similarity_part(ex["clean"].iloc[todo].tolist())
        for row, i in enumerate(todo):
            inside = members[ex["code"].iloc[i]]
            target[i] = inside[int(np.argmax(sims[row, inside]))]
        return target

    def _fit_classifier(self, terms: list[str], ex: pd.DataFrame | None) -> None:
        from scipy import sparse
        from sklearn.svm import LinearSVC

        X = self.term_matrix_
        y = self.term_code_
        w = np.ones(len(terms), dtype=np.float64)
        if ex is not None and len(ex):
            X = sparse.vstack(
                [X, self.vectorizer_.transform([_mark(t) for t in ex["clean"]])], format="csr"
            )
            y = np.concatenate([y, self._example_targets(ex)])
            w = np.concatenate([w, ex["weight"].to_numpy(dtype=np.float64)])
            self.n_examples_ = len(ex)
        with warnings.catch_warnings():
            # Names alone give each class a sample or two: "more classes than half the samples"
            # is what an occupation table looks like, not a regression problem.
            warnings.filterwarnings("ignore", message="The number of unique classes")
            svm = LinearSVC(C=self.C, random_state=self.random_state).fit(X, y, sample_weight=w)
        coef = np.zeros((len(self.codes_), X.shape[1]), dtype=np.float32)
        intercept = np.full(len(self.codes_), -1.0, dtype=np.float32)
        classes = svm.classes_.astype(np.int64)
        if len(classes) == 2:  # binary LinearSVC keeps one row for the second class
            coef[classes[1]] = svm.coef_[0]
            coef[classes[0]] = -svm.coef_[0]
            intercept[classes[1]] = svm.intercept_[0]
            intercept[classes[0]] = -svm.intercept_[0]
        else:
            coef[classes] = svm.coef_
            intercept[classes] = svm.intercept_
        coef[np.abs(coef) < self.coef_threshold] = 0.0
        self.coef_ = sparse.csr_matrix(coef)
        self.intercept_ = intercept
        # The weighted mean TF-IDF row of each code's training texts, L2-normalised: a second,
        # smoother opinion that orders the places after the first (see predict_topk).
        onehot = sparse.csr_matrix((w, (y, np.arange(len(y)))), shape=(len(self.codes_), len(y)))
        self.centroids_ = normalize(onehot @ X).astype(np.float32).tocsr()

    # -- scoring ------------------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_transposed", None)  # rebuilt on first use (see _rows_t)
        state.pop("_neighbour_matrix", None)  # and see _neighbours
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        # A coder pickled before descriptions existed (inside an older model version) keeps
        # the order it was measured with.
        state.setdefault("description_weight", 0.0)
        state.setdefault("neighbour_weight", 0.0)
        state.setdefault("random_state", None)
        state.setdefault("description_vectorizer_", None)
        state.setdefault("descriptions_", None)
        super().__setstate__(state)

    def _rows_t(self, name: str) -> Any:
        """The transpose of the fitted sparse matrix ``name`` (``coef_``, ``term_matrix_``,
        ``centroids_``, ``descriptions_``) in CSR form, built once per process.

        ``q @ m.T`` on a CSR ``m`` hands scipy a CSC view, which it converts to CSR on every
        call: about 2 ms for ``coef_``, three times per title batch, most of what coding one
        worker's clauses cost. A CSR transpose is read only at the query's features.
        """
        cache = self.__dict__.setdefault("_transposed", {})
        m = cache.get(name)
        if m is None:
            m = cache[name] = getattr(self, name).T.tocsr()
        return m

    def _neighbours(self) -> np.ndarray:
        """(n_codes, n_codes) cosines of the codes' centroids, float32, built once per process
        (a sparse product per title batch would double what coding a batch costs)."""
        m = self.__dict__.get("_neighbour_matrix")
        if m is None:
            m = (self.centroids_ @ self._rows_t("centroids_")).toarray()
            self.__dict__["_neighbour_matrix"] = m
        return m

    def _max_per_code(self, term_scores: np.ndarray) -> np.ndarray:
        """(n, n_terms) → (n, n_codes): the best name or alias of each occupation."""
        # Terms are stored grouped by occupation, every occupation has at least its name.
        return np.maximum.reduceat(term_scores, self.term_starts_, axis=1).astype(np.float32)

    def _similarity_part(self, cleaned: list[str], q: Any = None) -> np.ndarray:
        if q is None:
            q = self.vectorizer_.transform([self._prepare(t) for t in cleaned])
        lexical = self._max_per_code((q @ self._rows_t("term_matrix_")).toarray())
        if self.encoder_ is not None and self.alpha > 0:
            dense_q = self.encoder_.encode(cleaned)
            dense = self._max_per_code(dense_q @ self.term_embeddings_.T)
            return self.alpha * dense + (1 - self.alpha) * lexical
        return lexical

    def similarities(self, titles: Sequence[str]) -> np.ndarray:
        """Score of each title for each occupation.

        Parameters
        ----------
        titles : sequence of str
            Titles as written; cleaned here.

        Returns
        -------
        ndarray of shape (len(titles), n_codes), float32
            Columns follow ``codes_``; higher is better. Without the classifier these are
            similarities in [-1, 1]; with it, the classifier's decision values plus
            ``similarity_weight`` times the similarity. A title with nothing to code (empty,
            all noise such as ``包吃住 月入6000``, or no character the coder knows) scores 0
            everywhere.
        """
        return self._scores(titles, centroid=False)[0]

    def _scores(
        self, titles: Sequence[str], centroid: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """:meth:`similarities` and, with ``centroid`` and a fitted classifier, what orders
        the places after the first: ``centroid_weight`` times each title's cosine with each
        code's centroid, plus ``description_weight`` times its cosine with each code's
        description, plus ``neighbour_weight`` times the cosine of each code's centroid with
        that of the title's best-scoring code (None otherwise)."""
        check_is_fitted(self, "codes_")
        if isinstance(titles, str):
            raise TypeError(
                f"titles must be a list of str, got a single str {titles!r}; pass [title]"
            )
        cleaned = [clean_title(t) for t in titles]
        n = len(cleaned)
        out = np.zeros((n, len(self.codes_)), dtype=np.float32)
        centroids = getattr(self, "centroids_", None) if centroid else None
        after = None if centroids is None else np.zeros_like(out)
        described = self.descriptions_ is not None and self.description_weight > 0
        chunk = 1024
        for start in range(0, n, chunk):
            part = cleaned[start : start + chunk]
            q = self.vectorizer_.transform([self._prepare(t) for t in part]).tocsr()
            if self.coef_ is None:
                block = self._similarity_part(part, q)
            else:
                block = (q @ self._rows_t("coef_")).toarray()
                block += self.intercept_
                if self.similarity_weight > 0:
                    block += self.similarity_weight * self._similarity_part(part, q)
                block[np.diff(q.indptr) == 0] = 0.0
            out[start : start + len(part)] = block
            if after is not None:
                rest = (q @ self._rows_t("centroids_")).toarray()
                rest *= self.centroid_weight
                if described:
                    chars = normalize(self.description_vectorizer_.transform(part))
                    rest += (
                        self.description_weight * (chars @ self._rows_t("descriptions_")).toarray()
                    )
                if self.neighbour_weight > 0:
                    rest += self.neighbour_weight * self._neighbours()[block.argmax(axis=1)]
                after[start : start + len(part)] = rest
        return out, after

    def predict_topk(
        self, titles: Sequence[str], k: int | None = None
    ) -> list[list[tuple[str, str, float]]]:
        """The ``k`` best occupations of each title.

        Parameters
        ----------
        titles : sequence of str
        k : int, optional
            Defaults to ``top_k``.

        Returns
        -------
        list of list of (code, name, score)
            Best first; with the classifier the places after the first are ordered with the
            centroids, descriptions and the first code's neighbours (``centroid_weight``,
            ``description_weight``, ``neighbour_weight``), so their scores need not fall. A
            title with nothing to code gives an empty list.
        """
        k = self.top_k if k is None else k
        if not (isinstance(k, int) and k >= 1):
            raise ValueError(f"k must be a positive int, got {k!r}")
        use_centroids = k > 1 and (
            self.centroid_weight > 0 or self.description_weight > 0 or self.neighbour_weight > 0
        )
        scores, after = self._scores(titles, centroid=use_centroids)
        k = min(k, scores.shape[1])
        # Similarities alone: only positive ones name a candidate. With the classifier every
        # score of a codable title is a candidate (decision values are mostly negative).
        similarity_only = self.coef_ is None
        codable = np.any(scores > 0 if similarity_only else scores != 0, axis=1)
        results: list[list[tuple[str, str, float]]] = []
        # The first place is the best score; the places after it go to the best of the rest by
        # score plus the centroid, description and neighbour cosines (weighted in _scores).
        rank = scores if after is None else scores + after
        first = scores.argmax(axis=1) if len(scores) else np.empty(0, dtype=np.int64)
        if after is not None:
            rank[np.arange(len(rank)), first] = np.inf
        top = np.argpartition(-rank, k - 1, axis=1)[:, :k] if len(scores) else np.empty((0, k))
        for row, order, cand, ok in zip(scores, rank, top, codable, strict=True):
            if not ok:
                results.append([])
                continue
            cand = cand[np.argsort(-order[cand], kind="stable")]
            results.append(
                [
                    (self.codes_[c], self.names_[c], float(row[c]))
                    for c in cand
                    if row[c] > 0 or not similarity_only
                ]
            )
        return results

    @property
    def min_confident_score(self) -> float:
        """Least best score at which a short text counts as naming an occupation.

        For the classifier a decision value of :data:`CONFIDENT_DECISION` (-0.5); for the
        similarity coder a cosine of :data:`CONFIDENT_SIMILARITY` (0.2). The engine codes a
        worker's clauses with it (:func:`matcher.features.code_texts`): a clause scoring less
        (``人踏实``, ``啥都行``) names no trade.
        """
        check_is_fitted(self, "codes_")
        return CONFIDENT_SIMILARITY if self.coef_ is None else CONFIDENT_DECISION

    def predict(self, titles: Sequence[str]) -> list[str]:
        """The best code of each title; ``""`` when the title holds nothing to code."""
        return [top[0][0] if top else "" for top in self.predict_topk(titles, 1)]

    def name_of(self, code: str) -> str:
        """The name of a detailed code (``6-05-01-03`` → ``缝纫工``).

        Raises
        ------
        KeyError
            If the code is not among the fitted occupations.
        """
        check_is_fitted(self, "codes_")
        try:
            return self._name_of[code]
        except KeyError:
            raise KeyError(
                f"occupation code {code!r} is not a fitted CSCO detailed code "
                f"(e.g. {self.codes_[0]!r})"
            ) from None
