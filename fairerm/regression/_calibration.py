"""The calibration sample of the barycenter post-processing: boundary checks and the stratified split.

A meta-estimator passes ``X`` to its base regressor untouched, so the checks here look at ``X``
only as far as they must (its length, missing values the base estimator does not accept) and
check what comes back (finite 1-D predictions).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils import get_tags

from .._validation import SensitiveEncoding
from ..exceptions import FairermTypeError, FairermValueError
from ..metrics._regression import check_predictions

__all__ = ["MIN_CALIBRATION_SAMPLES_PER_GROUP", "check_meta_X", "check_sensitive_names", "base_predictions",
           "stratified_calibration_split"]

#: Fewest calibration samples a group may have. They are halved (CDF / quantile function), so
#: each estimate rests on at least five points; with fewer the barycenter is mostly noise.
MIN_CALIBRATION_SAMPLES_PER_GROUP = 10


def _has_missing(X: Any) -> bool:
    if isinstance(X, pd.DataFrame):
        numeric = X.select_dtypes(include="number").to_numpy(dtype=np.float64)
        return bool(X.isna().to_numpy().any() or not np.all(np.isfinite(numeric)))
    if sp.issparse(X):
        return X.dtype.kind in "fc" and not np.all(np.isfinite(X.data))
    values = np.asarray(X)
    if values.dtype.kind in "fc":
        return not np.all(np.isfinite(values))
    if values.dtype == object:
        return bool(pd.isna(values).any())
    return False


def check_meta_X(X: Any, estimator: Any) -> int:
    """Length of ``X``; refuse NaN/inf unless the base estimator declares it handles them."""
    if X is None or not (hasattr(X, "__len__") or hasattr(X, "__array__")):
        raise FairermTypeError(f"X must be an array-like of shape (n_samples, n_features); got {type(X).__name__}.")
    n_samples = int(X.shape[0]) if hasattr(X, "shape") else len(X) if hasattr(X, "__len__") else np.asarray(X).shape[0]
    try:
        allow_nan = get_tags(estimator).input_tags.allow_nan
    except (AttributeError, TypeError, ValueError):
        allow_nan = False
    if not allow_nan and _has_missing(X):
        raise FairermValueError(
            f"X contains NaN or infinite values, which the base estimator {type(estimator).__name__} "
            "does not accept; impute them first (e.g. a Pipeline starting with SimpleImputer) or use "
            "an estimator that handles missing values."
        )
    if n_samples == 0:
        shape = tuple(X.shape) if hasattr(X, "shape") else (0,)
        raise FairermValueError(f"X has 0 samples (shape={shape}); at least one is required.")
    return n_samples


def _positional(names: list) -> bool:
    """Whether ``names`` are the positional ones given to unnamed columns (``sensitive_feature_<j>``)."""
    return names == [f"sensitive_feature_{j}" for j in range(len(names))]


def _describe(names: list | None) -> str:
    return "1 column" if names is None else f"{len(names)} columns {names}"


def check_sensitive_names(fitted: list | None, names: list | None, kind: str) -> None:
    """Refuse sensitive columns that differ, in number, name or order, from those seen in fit.

    ``fitted`` and ``names`` are :attr:`SensitiveEncoding.names` at fit and now (None for one column).
    With several columns each group is the tuple of the row's values in column order, so columns in
    another order would map every row through another group's CDF (or a group unseen in fit). As for
    ``X`` in scikit-learn, columns without names (an array, or non-string labels: named
    ``sensitive_feature_<j>`` by position) are checked by position only, with a warning when the other
    side had names.

    Raises
    ------
    FairermValueError
        Another number of columns, or named columns in another order or with other names.
    """
    if fitted == names:
        return
    if fitted is None or names is None or len(fitted) != len(names):
        raise FairermValueError(
            f"sensitive_features has {_describe(names)} but {kind} was fitted with {_describe(fitted)}; pass the "
            "same sensitive columns as in fit, in the same order."
        )
    if _positional(names) != _positional(fitted):
        message = (f"sensitive_features has no column names, but {kind} was fitted with named sensitive columns {fitted}"
                   if _positional(names) else
                   f"sensitive_features has column names, but {kind} was fitted with unnamed sensitive columns")
        warnings.warn(message + "; the columns are matched by position.", UserWarning, stacklevel=4)
        return
    if sorted(names) == sorted(fitted):
        raise FairermValueError(
            f"sensitive_features: the columns are the same as in fit but in another order; each group is the tuple "
            f"of the column values in order, so {kind} would map rows through the wrong group's CDF. Fitted order: "
            f"{fitted}; got: {names}. Reorder the columns (e.g. S[model.sensitive_feature_names_])."
        )
    raise FairermValueError(
        f"sensitive_features: the column names should match those seen in fit; fitted with {fitted}, got {names}."
    )


def base_predictions(estimator: Any, X: Any) -> np.ndarray:
    """The base regressor's predictions as a finite 1-D float64 array, or a clear error."""
    return check_predictions(estimator.predict(X), name=f"the predictions of estimator {type(estimator).__name__}")


def stratified_calibration_split(
    sens: SensitiveEncoding, calibration_size: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, calibration): in every group, a ``calibration_size`` share goes to calibration."""
    train, calibration = [], []
    for group, label in enumerate(sens.groups.tolist()):
        members = rng.permutation(np.flatnonzero(sens.codes == group))
        n_calibration = int(round(calibration_size * members.shape[0]))
        if n_calibration < MIN_CALIBRATION_SAMPLES_PER_GROUP:
            raise FairermValueError(
                f"sensitive_features: group {label!r} has {members.shape[0]} samples, of which "
                f"calibration_size={calibration_size} puts {n_calibration} in the calibration part; each "
                f"group needs at least {MIN_CALIBRATION_SAMPLES_PER_GROUP} there to estimate its CDF and "
                "quantile function. Use more data, a larger calibration_size, or merge small groups."
            )
        calibration.append(members[:n_calibration])
        train.append(members[n_calibration:])
    train_rows, calibration_rows = np.sort(np.concatenate(train)), np.sort(np.concatenate(calibration))
    if train_rows.shape[0] == 0:
        raise FairermValueError(
            f"calibration_size={calibration_size} leaves no sample to fit the base estimator on; lower it."
        )
    return train_rows, calibration_rows
