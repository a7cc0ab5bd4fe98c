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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

from matcher.encoders import load_encoder
from matcher.text import check_ngram_range, clean_title, normalize_text

__all__ = ["OccupationCoder", "prepare_occupations"]


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


def prepare_occupations(occupations: pd.DataFrame) -> pd.DataFrame:
    """Bring an occupation table to the coder's contract.

    Accepts :func:`data.reference.load_occupations` output or the raw ``csco22.csv`` (whose
    alias column is ``alias``, comma-separated, and which holds all four levels: only level 4,
    the detailed occupations, is kept). Codes listed twice keep their first row.

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
        df = df[df["level"].astype(str) == "4"]
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


class OccupationCoder(BaseEstimator):
    """Hybrid (char n-gram TF-IDF + dense) coder of job titles to CSCO 2022 detailed codes.

    Parameters
    ----------
    encoder : str, path, object with ``encode`` or None, default=None
        Dense encoder, anything :func:`matcher.encoders.load_encoder` accepts. ``None``:
        lexical only.
    ngram_range : (int, int), default=(1, 3)
        Character n-gram lengths of the TF-IDF side.
    alpha : float in [0, 1], default=0.5
        Weight of the dense similarity (ignored without an encoder).
    top_k : int, default=5
        Default length of :meth:`predict_topk` lists.

    Attributes
    ----------
    codes_ : ndarray of str
        The detailed codes, in index order.
    names_ : ndarray of str
        Their names.
    vectorizer_ : TfidfVectorizer
        Fitted on the names and aliases.
    term_matrix_ : sparse matrix (n_terms, n_features)
        L2-normalised TF-IDF rows of every name and alias.
    term_code_ : ndarray of int
        Occupation index of each row of ``term_matrix_``.
    encoder_ : Encoder or None
        The loaded encoder.
    term_embeddings_ : ndarray (n_terms, dim) or None
        Dense rows of every name and alias.

    Examples
    --------
    >>> occ = pd.DataFrame({"code": ["6-05-01-03", "4-02-02-03"], "name": ["缝纫工", "叉车司机"],
    ...                     "aliases": [["缝纫工", "手缝工"], ["叉车工"]]})
    >>> coder = OccupationCoder().fit(occ)
    >>> coder.predict(["急招叉车工 包吃住", "缝紉工"])
    ['4-02-02-03', '6-05-01-03']
    """

    def __init__(
        self,
        encoder: Any = None,
        ngram_range: tuple[int, int] = (1, 3),
        alpha: float = 0.5,
        top_k: int = 5,
    ) -> None:
        self.encoder = encoder
        self.ngram_range = ngram_range
        self.alpha = alpha
        self.top_k = top_k

    # -- fitting ------------------------------------------------------------------------------

    def _validate_params(self) -> None:
        if not (isinstance(self.alpha, (int, float)) and 0.0 <= self.alpha <= 1.0):
            raise ValueError(f"alpha must be a number in [0, 1], got {self.alpha!r}")
        if not (isinstance(self.top_k, int) and self.top_k >= 1):
            raise ValueError(f"top_k must be a positive int, got {self.top_k!r}")
        check_ngram_range(self.ngram_range)

    def fit(self, occupations: pd.DataFrame, y: None = None) -> OccupationCoder:
        """Index the occupations.

        Parameters
        ----------
        occupations : DataFrame
            ``code, name`` and optionally ``aliases`` (see :func:`prepare_occupations`, which
            is applied here; ``definition`` and ``tasks`` are accepted and not indexed).
        y : ignored

        Returns
        -------
        self
        """
        self._validate_params()
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

        self.vectorizer_ = TfidfVectorizer(
            analyzer="char",
            ngram_range=tuple(self.ngram_range),
            lowercase=False,  # normalize_text did it
            sublinear_tf=True,
            dtype=np.float32,
        )
        self.term_matrix_ = self.vectorizer_.fit_transform(terms).tocsr()

        if self.encoder is None:
            self.encoder_ = None
            self.term_embeddings_ = None
        else:
            self.encoder_ = load_encoder(self.encoder)
            self.term_embeddings_ = self.encoder_.encode(terms)
        return self

    # -- scoring ------------------------------------------------------------------------------

    def _max_per_code(self, term_scores: np.ndarray) -> np.ndarray:
        """(n, n_terms) → (n, n_codes): the best name or alias of each occupation."""
        # Terms are stored grouped by occupation, every occupation has at least its name.
        return np.maximum.reduceat(term_scores, self.term_starts_, axis=1).astype(np.float32)

    def similarities(self, titles: Sequence[str]) -> np.ndarray:
        """Similarity of each title to each occupation.

        Parameters
        ----------
        titles : sequence of str
            Titles as written; cleaned here.

        Returns
        -------
        ndarray of shape (len(titles), n_codes), float32
            Hybrid scores in [-1, 1] (0 for an empty title); columns follow ``codes_``.
        """
        check_is_fitted(self, "codes_")
        if isinstance(titles, str):
            raise TypeError(
                f"titles must be a list of str, got a single str {titles!r}; pass [title]"
            )
        # A title that is all noise (包吃住 月入6000) has nothing to code: it scores 0 everywhere.
        cleaned = [clean_title(t) for t in titles]
        n = len(cleaned)
        out = np.zeros((n, len(self.codes_)), dtype=np.float32)
        chunk = 1024
        for start in range(0, n, chunk):
            part = cleaned[start : start + chunk]
            q = self.vectorizer_.transform(part)
            lexical = self._max_per_code((q @ self.term_matrix_.T).toarray())
            if self.encoder_ is not None and self.alpha > 0:
                dense_q = self.encoder_.encode(part)
                dense = self._max_per_code(dense_q @ self.term_embeddings_.T)
                block = self.alpha * dense + (1 - self.alpha) * lexical
            else:
                block = lexical
            out[start : start + len(part)] = block
        return out

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
            Best first. An empty title gives an empty list (nothing to code).
        """
        k = self.top_k if k is None else k
        if not (isinstance(k, int) and k >= 1):
            raise ValueError(f"k must be a positive int, got {k!r}")
        scores = self.similarities(titles)
        k = min(k, scores.shape[1])
        results: list[list[tuple[str, str, float]]] = []
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k] if len(scores) else np.empty((0, k))
        for row, cand in zip(scores, top, strict=True):
            if not np.any(row > 0):
                results.append([])
                continue
            cand = cand[np.argsort(-row[cand], kind="stable")]
            results.append(
                [(self.codes_[c], self.names_[c], float(row[c])) for c in cand if row[c] > 0]
            )
        return results

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
