"""The occupation coder's training data and training, and the fixed held-out real titles.

The coder (:class:`matcher.occupations.OccupationCoder`) learns from

1. the classification (CSCO 2022): every detailed occupation's name and aliases — indexed
   by the coder itself — and noisy variants of them (:mod:`training.augment`: a firm's job
   title with pay, perks, employer and place; a worker's sentence with verbs, years and
   places; typos; traditional characters);
2. colloquial names of the common trades of the cooperation (``踩缝纫机``, ``扎钢筋``,
   ``分拣快递``; :data:`training.augment.COLLOQUIAL`) and their variants;
3. certificate spellings (``叉车证``, ``焊工证``) of the certificate catalogue
   (``data/reference/certificates.csv``) for the certificates that name one occupation
   (:data:`CERTIFICATE_OCCUPATIONS`), and their variants;
4. the **training part** of the 5,903 real job-board titles of
   ``data/reference/testcases.csv``, and a variant of each.

The **held-out part** of the real titles is fixed and committed:
``data/reference/testcases_heldout.csv`` lists its titles. It was drawn once by
:func:`draw_heldout` — titles grouped by their cleaned form (``行政专员月入8k`` and
``行政专员`` are one group, so no near-copy sits on the other side), 40% of the groups by a
hash of that form — leaving out titles that *are* a name or an alias of the classification
(``收银员``, ``保安``): the classification is training data, so those can never be held out,
and scoring them would measure nothing. Whatever text any training source produces that
equals a held-out title after normalisation (an augmented variant, a colloquial phrase, a
certificate spelling) is dropped (:func:`training_examples`); ``tests/training/test_coder.py``
fails if one gets through, here or in the encoder's training pairs.

The trained coder **ships** with the project (``models/base-coder/``: ``coder.pkl.gz`` and
``coder.json``), so that the base model ``jobbridge init-db`` builds codes as well as the trained
one from its first minute without a minute of training on the deployment's cores
(:func:`default_coder` loads it). ``coder.json`` records a digest of everything training reads
(:data:`SHIPPED_INPUTS`: the reference files and the code of cleaning, augmenting and the
coder) and the scikit-learn version it was pickled with: where either differs from this
checkout the shipped coder is not used and the coder is trained here instead, and
``tests/training/test_coder.py`` fails until it is shipped again.

Command line: ``python -m training.coder_eval`` prints the coders' figures on the held-out part;
``python -m training.coder --ship`` trains the coder and writes ``models/base-coder/``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import logging
import pickle
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from matcher.occupations import OccupationCoder, prepare_occupations
from matcher.text import clean_title, normalize_text
from training.augment import augment_examples, colloquial_examples, noise_titles

log = logging.getLogger(__name__)

__all__ = [
    "CERTIFICATE_OCCUPATIONS",
    "HELDOUT_PATH",
    "SHIPPED_DIR",
    "SHIPPED_INPUTS",
    "coder_occupations",
    "default_coder",
    "draw_heldout",
    "group_key",
    "heldout_keys",
    "inputs_digest",
    "is_heldout_text",
    "ship_coder",
    "shipped_coder",
    "split_testcases",
    "text_keys",
    "train_coder",
    "training_examples",
]

ROOT = Path(__file__).resolve().parents[1]
HELDOUT_PATH = ROOT / "data" / "reference" / "testcases_heldout.csv"
SHIPPED_DIR = ROOT / "models" / "base-coder"
#: What training the coder reads, relative to the project root: a shipped coder trained from
#: other versions of these is not used.
SHIPPED_INPUTS = (
    "data/reference/csco22.csv",
    "data/reference/certificates.csv",
    "data/reference/testcases.csv",
    "data/reference/testcases_heldout.csv",
    "data/reference.py",
    "matcher/occupations.py",
    "matcher/text.py",
    "training/augment.py",
    "training/coder.py",
)
HELDOUT_FRACTION = 0.4

# Certificates of the catalogue that name one occupation: their spellings teach the coder that
# a worker who writes "有叉车证" drives a forklift. Certificates shared by many trades (健康证,
# 驾照 C1, 登高证, 急救证, 危化证) are not listed.
CERTIFICATE_OCCUPATIONS: dict[str, str] = {
    "special_work.welding": "6-18-02-04",  # 焊工
    "special_work.electrician_low_voltage": "6-31-01-03",  # 电工
    "special_work.electrician_high_voltage": "6-31-01-03",
    "special_work.refrigeration": "6-29-03-05",  # 制冷空调系统安装维修工
    "special_equipment.forklift": "6-30-05-01",  # 起重装卸机械操作工 (叉车司机)
    "special_equipment.crane": "6-30-05-02",  # 起重工
    "special_equipment.boiler": "6-28-01-11",  # 锅炉操作工
    "special_equipment.elevator": "6-29-03-03",  # 电梯安装维修工
    "driving.A1": "4-02-02-01",  # 客运车辆驾驶员
    "driving.B1": "4-02-02-01",
    "driving.A2": "4-02-02-02",  # 道路货运汽车驾驶员
    "driving.B2": "4-02-02-02",
    "driving.road_freight": "4-02-02-02",
    "security_guard": "4-07-05-01",  # 保安员
    "elderly_care": "4-10-01-05",  # 养老护理员
    "nursing_assistant": "4-14-01-02",  # 医疗护理员
    "chinese_cook": "4-03-02-01",  # 中式烹调师
    "chinese_pastry_cook": "4-03-02-02",  # 中式面点师
    "childcare": "4-10-01-03",  # 保育师 (育婴员)
    "housekeeping": "4-10-01-06",  # 家政服务员
    "electrician_vocational": "6-31-01-03",
    "welder_vocational": "6-18-02-04",
    "cnc_operator": "6-18-01-01",  # 车工
    "electronics_assembler": "6-25-04-07",  # 电子设备装接工
    "fitter": "6-20-01-01",  # 装配钳工
    "sewing_worker": "6-05-01-03",  # 缝纫工
    "logistics_operator": "4-02-06-01",  # 仓储管理员
    "hairdresser": "4-10-03-02",  # 美发师
    "fire_safety": "4-07-05-03",  # 消防设施操作员
}

# Weight of a real job-board title next to a name, an alias or an augmented variant (1): real
# titles are few (≈3,300) and are the only texts written the way the titles to code are.
REAL_TITLE_WEIGHT = 3.0

# The classification's code for titles that name no occupation (``无责5000/五险一金/月入过万``).
UNCLASSIFIABLE = "8-00-00-00"
N_NOISE_TITLES = 400


def coder_occupations() -> pd.DataFrame:
    """The classification's rows the coder codes to, with a ``level`` column.

    All four levels of ``csco22.csv``; :func:`matcher.occupations.prepare_occupations` keeps
    the detailed occupations and the residual groups without any (``2-08-99-00`` 其他教学人员).
    """
    from data.reference import load_occupations

    return pd.concat(
        [load_occupations(level).assign(level=str(level)) for level in (1, 2, 3, 4)],
        ignore_index=True,
    )


def text_keys(text: Any) -> set[str]:
    """The forms under which two texts count as the same: normalised and cleaned.

    >>> sorted(text_keys("急招 行政专员 月入8k"))
    ['急招 行政专员 月入8k', '行政专员']
    """
    normal = normalize_text(text)
    keys = {normal, clean_title(text)} if normal else set()
    keys.discard("")
    return keys


def group_key(title: str) -> str:
    """The form titles are grouped by when the held-out part is drawn (and when the training
    titles are cut into folds, :func:`training.coder_eval.fold_of`): cleaned, or normalised
    where cleaning leaves nothing."""
    return clean_title(title) or normalize_text(title)


def _classification_keys(occupations: pd.DataFrame) -> set[str]:
    keys: set[str] = set()
    for name, aliases in zip(occupations["name"], occupations["aliases"], strict=True):
        for term in [str(name).rstrip("SLP"), str(name), *aliases]:
            keys |= text_keys(term)
    return keys


def draw_heldout(
    testcases: pd.DataFrame, occupations: pd.DataFrame, fraction: float = HELDOUT_FRACTION
) -> pd.DataFrame:
    """Draw the held-out titles (how ``testcases_heldout.csv`` was made; it is not redrawn).

    Titles are grouped by their cleaned form; a group is held out when the first 8 bytes of
    the BLAKE2b hash of that form, modulo 10,000, fall under ``fraction``. Titles that are a
    name or an alias of the classification stay out of the held-out part.

    Returns
    -------
    DataFrame
        ``job_name``, in the order of ``testcases``.
    """
    classification = _classification_keys(occupations)
    rows = []
    for title in testcases["job_name"].fillna("").astype(str):
        key = group_key(title)
        if not key:
            continue
        digest = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
        if digest % 10_000 >= fraction * 10_000:
            continue
        if text_keys(title) & classification:
            continue
        rows.append(title)
    return pd.DataFrame({"job_name": rows})


@cache
def _heldout_titles() -> frozenset[str]:
    df = pd.read_csv(HELDOUT_PATH, dtype=str, keep_default_na=False)
    return frozenset(df["job_name"])


def split_testcases(testcases: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The real titles as ``(train, heldout)`` by the committed held-out list.

    Training rows exclude any title that shares a normalised or cleaned form with a
    held-out title, so what is trained on can never be a held-out text.
    """
    if testcases is None:
        from data.reference import load_title_testcases

        testcases = load_title_testcases()
    titles = testcases["job_name"].fillna("").astype(str)
    heldout_set = _heldout_titles()
    is_heldout = titles.isin(heldout_set)
    keys = heldout_keys()
    clash = titles.map(lambda t: bool(text_keys(t) & keys)) & ~is_heldout
    return (
        testcases[~is_heldout & ~clash].reset_index(drop=True),
        testcases[is_heldout].reset_index(drop=True),
    )


@cache
def heldout_keys() -> frozenset[str]:
    """Normalised and cleaned forms of every held-out title (what training must never see)."""
    keys: set[str] = set()
    for title in _heldout_titles():
        keys |= text_keys(title)
    return frozenset(keys)


def is_heldout_text(text: Any) -> bool:
    """Whether ``text`` is a held-out real title after normalisation (or after cleaning).

    Every training-data builder (this module's :func:`training_examples`, the encoder's
    :func:`training.encoder.train_encoder`) drops such texts.

    >>> is_heldout_text("操作工"), is_heldout_text("缝纫工")
    (True, False)
    """
    return bool(text_keys(text) & heldout_keys())


def _certificate_examples() -> list[tuple[str, str]]:
    from data.reference import load_certificates

    certs = load_certificates()
    out: list[tuple[str, str]] = []
    for cert_id, name, spellings in zip(
        certs["cert_id"], certs["name"], certs["spellings"], strict=True
    ):
        code = CERTIFICATE_OCCUPATIONS.get(cert_id)
        if code is None:
            continue
        for text in [name, *spellings]:
            # "N1", "A2" alone say nothing a title would; "有N1证" is covered by the variants.
            if len(text) >= 2 and not text.isascii():
                out.append((f"有{text}" if text.endswith("证") else text, code))
    return out


def training_examples(
    occupations: pd.DataFrame | None = None,
    train_titles: pd.DataFrame | None = None,
    seed: int = 0,
    n_variants: int = 2,
    real_title_weight: float = REAL_TITLE_WEIGHT,
) -> pd.DataFrame:
    """Every labelled text the coder's classifier learns from, besides names and aliases.

    Parameters
    ----------
    occupations : DataFrame, optional
        The classification (:func:`coder_occupations` by default).
    train_titles : DataFrame, optional
        ``job_name, expected_code`` real titles to learn from; by default the training part
        of :func:`split_testcases`. Pass an empty frame to learn from public sources only.
    seed : int, default=0
    n_variants : int, default=2
        Augmented variants of each name, alias, colloquial phrase and certificate spelling
        (real titles get one); 0 for none.
    real_title_weight : float, default=3
        Weight of each real title (its variant and every other text weigh 1).

    Returns
    -------
    DataFrame
        ``text, code, weight, source`` (``source``: ``classification``, ``colloquial``,
        ``certificate``, ``noise`` — titles of nothing but pay and perks, coded 8-00-00-00
        不便分类的其他从业人员 — and ``real_title``). No text equals a held-out title after
        normalisation.
    """
    occ = prepare_occupations(coder_occupations() if occupations is None else occupations)
    if train_titles is None:
        train_titles = split_testcases()[0]
    aliases = occ["aliases"]

    frames = []
    clean_terms = [
        (term, code)
        for code, name, als in zip(occ["code"], occ["name"], aliases, strict=True)
        for term in dict.fromkeys(str(t).rstrip("SLP") for t in [name, *als])
    ]
    # The clean terms themselves are indexed by the coder: here only their variants.
    variants = augment_examples(clean_terms, n_variants=n_variants, seed=seed, keep_original=False)
    frames.append(
        pd.DataFrame(variants, columns=["text", "code"]).assign(weight=1.0, source="classification")
    )
    for source, examples, salt in (
        ("colloquial", colloquial_examples(), 1),
        ("certificate", _certificate_examples(), 2),
    ):
        rows = augment_examples(examples, n_variants=n_variants * 2, seed=seed + salt)
        frames.append(
            pd.DataFrame(rows, columns=["text", "code"]).assign(weight=1.0, source=source)
        )
    if UNCLASSIFIABLE in set(occ["code"]):
        frames.append(
            pd.DataFrame(
                {"text": noise_titles(N_NOISE_TITLES, seed=seed + 4), "code": UNCLASSIFIABLE}
            ).assign(weight=1.0, source="noise")
        )
    real = [
        (str(t), str(c).strip())
        for t, c in zip(train_titles["job_name"], train_titles["expected_code"], strict=True)
        if str(c).strip() and clean_title(t)
    ]
    real_rows = augment_examples(real, n_variants=min(n_variants, 1), seed=seed + 3)
    originals = {t for t, _ in real}
    frames.append(
        pd.DataFrame(real_rows, columns=["text", "code"]).assign(
            weight=[real_title_weight if t in originals else 1.0 for t, _ in real_rows],
            source="real_title",
        )
    )
    out = pd.concat(frames, ignore_index=True)
    return out[~out["text"].map(is_heldout_text)].reset_index(drop=True)


def _known_codes(codes: pd.Series, occupations: pd.DataFrame) -> pd.Series:
    """Whether each code is a code of the coder or a group of its codes."""
    detailed = set(prepare_occupations(occupations)["code"])
    prefixes: set[str] = set()
    for c in detailed:
        parts = c.split("-")
        for n in (1, 2, 3):
            prefixes.add("-".join(parts[:n]))

    def known(code: str) -> bool:
        if code in detailed:
            return True
        parts = code.split("-")
        while len(parts) > 1 and parts[-1].strip("0") == "":
            parts.pop()
        return len(parts) < 4 and "-".join(parts) in prefixes

    return codes.astype(str).map(known)


def train_coder(
    occupations: pd.DataFrame | None = None,
    train_titles: pd.DataFrame | None = None,
    seed: int = 0,
    n_variants: int = 2,
    real_title_weight: float = REAL_TITLE_WEIGHT,
    **params: Any,
) -> OccupationCoder:
    """The occupation coder the engine uses, fitted on :func:`training_examples`.

    Parameters
    ----------
    occupations, train_titles, seed, n_variants, real_title_weight
        As :func:`training_examples`.
    **params
        :class:`~matcher.occupations.OccupationCoder` parameters.

    Returns
    -------
    OccupationCoder
        Fitted; picklable (it rides inside the model folder).
    """
    if occupations is None:
        occupations = coder_occupations()
    examples = training_examples(
        occupations,
        train_titles,
        seed=seed,
        n_variants=n_variants,
        real_title_weight=real_title_weight,
    )
    # Titles whose code is outside the classification (a handful, typed by hand) teach nothing.
    examples = examples[_known_codes(examples["code"], occupations)]
    return OccupationCoder(**params).fit(occupations, examples=examples)


def inputs_digest(root: Path = ROOT) -> str:
    """SHA-256 over :data:`SHIPPED_INPUTS` (names and bytes) under ``root``."""
    digest = hashlib.sha256()
    for name in SHIPPED_INPUTS:
        digest.update(name.encode() + b"\0" + (root / name).read_bytes() + b"\0")
    return digest.hexdigest()


def _sklearn_version() -> str:
    import sklearn

    return sklearn.__version__


def ship_coder(folder: str | Path = SHIPPED_DIR) -> Path:
    """Train the coder (:func:`train_coder`, defaults) and write it to ``folder``.

    ``coder.pkl.gz`` is the pickled coder; ``coder.json`` the digest of the inputs
    (:func:`inputs_digest`), the scikit-learn version and the held-out figures. Returns the
    folder.
    """
    from training.coder_eval import evaluate_coder

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    coder = train_coder()
    figures = evaluate_coder(coder, split_testcases()[1])
    # mtime=0: no timestamp in the file, so its bytes depend on the coder alone.
    with (
        open(folder / "coder.pkl.gz", "wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as fh,
    ):
        pickle.dump(coder, fh, protocol=5)
    meta = {
        "inputs_sha256": inputs_digest(),
        "scikit-learn": _sklearn_version(),
        "heldout": {
            k: round(v, 4) if isinstance(v, float) else v
            for k, v in figures.items()
            if k not in ("seconds", "titles_per_s")
        },
    }
    (folder / "coder.json").write_text(
        json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return folder


def shipped_coder(folder: str | Path = SHIPPED_DIR) -> OccupationCoder | None:
    """The coder of ``folder`` (:func:`ship_coder`), or None — and why, in the log — when it
    is missing, was trained from other inputs than this checkout's, or pickled by another
    scikit-learn."""
    folder = Path(folder)
    try:
        meta = json.loads((folder / "coder.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.info("no shipped occupation coder in %s (%s): training one", folder, exc)
        return None
    if meta.get("inputs_sha256") != inputs_digest():
        log.warning("the shipped occupation coder was trained from other inputs: training one")
        return None
    if meta.get("scikit-learn") != _sklearn_version():
        log.warning(
            "the shipped occupation coder was saved by scikit-learn %s, this is %s: training one",
            meta.get("scikit-learn"),
            _sklearn_version(),
        )
        return None
    with gzip.open(folder / "coder.pkl.gz", "rb") as fh:
        coder = pickle.load(fh)
    if not isinstance(coder, OccupationCoder):
        raise TypeError(f"{folder / 'coder.pkl.gz'} holds a {type(coder).__name__}, not a coder")
    return coder


@cache
def _default_coder() -> OccupationCoder:
    return shipped_coder() or train_coder()


def default_coder() -> OccupationCoder:
    """The coder :func:`train_coder` trains with its defaults: the shipped one
    (:func:`shipped_coder`) where it is current, else trained here; once per process, copied
    out.
    """
    import copy

    return copy.deepcopy(_default_coder())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The occupation coder that ships.")
    parser.add_argument(
        "--ship", action="store_true", help=f"train the coder and write {SHIPPED_DIR}"
    )
    args = parser.parse_args(argv)
    if not args.ship:
        parser.print_help()
        return
    folder = ship_coder()
    meta = json.loads((folder / "coder.json").read_text(encoding="utf-8"))
    print(f"{folder}: held-out {meta['heldout']}")


if __name__ == "__main__":
    main()
