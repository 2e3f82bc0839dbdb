"""A standard, unfitted preprocessing step for the tabular datasets."""

from __future__ import annotations

from typing import Iterable, Sequence

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils import Bunch

from ..exceptions import FairermTypeError, FairermValueError

__all__ = ["make_preprocessor"]


def _infer_categorical(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns
            if pd.api.types.is_bool_dtype(frame[c]) or not pd.api.types.is_numeric_dtype(frame[c])]


def make_preprocessor(
    dataset: Bunch | pd.DataFrame,
    *,
    categorical_features: str | Sequence[str] | None = None,
    sparse_output: bool = False,
) -> ColumnTransformer:
    r"""An unfitted :class:`~sklearn.compose.ColumnTransformer` for a dataset's features.

    Categorical columns are one-hot encoded (``handle_unknown="ignore"``: a category unseen in
    training becomes a row of zeros); numeric columns are standardised,
    :math:`x_j \mapsto (x_j - \bar x_j) / s_j` with the mean and standard deviation of the data it
    is fitted on. Fit it on the training rows only (or put it first in a
    :class:`~sklearn.pipeline.Pipeline`), never on training and test rows together.

    Parameters
    ----------
    dataset : Bunch or DataFrame
        A Bunch from a fairerm loader (its ``data`` columns and ``categorical_features`` are
        used), or a DataFrame of features (non-numeric and boolean columns are categorical).
    categorical_features : str or sequence of str, optional
        Overrides the categorical columns (each named once; a string is one column name); every
        other column is numeric.
    sparse_output : bool
        Return a sparse matrix from the one-hot part (default: dense arrays).

    Returns
    -------
    ColumnTransformer
        With transformers ``"categorical"`` and ``"numeric"``.

    Examples
    --------
    >>> from fairerm.datasets import make_synthetic
    >>> bunch = make_synthetic(100, n_features=3, random_state=0)
    >>> make_preprocessor(bunch).fit_transform(bunch.data).shape  # x0, x1, x2 and group a / b
    (100, 5)
    """
    if isinstance(dataset, Bunch) and "data" in dataset:
        frame = dataset.data
        default_categorical = dataset.get("categorical_features")
    elif isinstance(dataset, pd.DataFrame):
        frame, default_categorical = dataset, None
    else:
        raise FairermTypeError(
            "dataset must be a Bunch returned by a fairerm.datasets loader or a pandas DataFrame of features; "
            f"got {type(dataset).__name__}."
        )
    if not isinstance(frame, pd.DataFrame):
        raise FairermTypeError(f"dataset.data must be a pandas DataFrame; got {type(frame).__name__}.")
    if categorical_features is None:
        categorical_features = default_categorical if default_categorical is not None else _infer_categorical(frame)
    elif isinstance(categorical_features, str):  # one column name, never its characters
        categorical_features = [categorical_features]
    elif isinstance(categorical_features, (bytes, bytearray)) or not isinstance(categorical_features, Iterable):
        raise FairermTypeError(
            "categorical_features must be a column name or a sequence of column names; "
            f"got {categorical_features!r} ({type(categorical_features).__name__})."
        )
    categorical = list(categorical_features)
    repeated = sorted({str(c) for c in categorical if categorical.count(c) > 1})
    if repeated:
        raise FairermValueError(
            f"categorical_features must name each column once; got {categorical!r} (repeated: {repeated!r})."
        )
    unknown = [c for c in categorical if c not in frame.columns]
    if unknown:
        raise FairermValueError(
            f"categorical_features names columns that are not in the data: {unknown!r}; "
            f"columns are {list(frame.columns)!r}."
        )
    numeric = [c for c in frame.columns if c not in categorical]
    not_numeric = [c for c in numeric if not pd.api.types.is_numeric_dtype(frame[c])]
    if not_numeric:
        raise FairermValueError(
            f"columns {not_numeric!r} are not numeric but are not listed in categorical_features; add them there."
        )
    if not isinstance(sparse_output, bool):
        raise FairermTypeError(f"sparse_output must be True or False; got {sparse_output!r}.")
    return ColumnTransformer(
        [
            ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=sparse_output), categorical),
            ("numeric", StandardScaler(), numeric),
        ],
        sparse_threshold=1.0 if sparse_output else 0.0,
    )
