"""The calibration sample of the barycenter post-processing: boundary checks and the stratified split.

A meta-estimator passes ``X`` to its base regressor untouched, so the checks here look at ``X``
only as far as they must (its length, missing values the base estimator does not accept) and
check what comes back (finite 1-D predictions).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils import get_tags

from .._validation import SensitiveEncoding
from ..exceptions import FairermTypeError, FairermValueError
from ..metrics._regression import check_predictions

__all__ = ["MIN_CALIBRATION_SAMPLES_PER_GROUP", "check_meta_X", "base_predictions", "stratified_calibration_split"]

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
    if X is None or not hasattr(X, "__len__"):
        raise FairermTypeError(f"X must be an array-like of shape (n_samples, n_features); got {type(X).__name__}.")
    n_samples = int(X.shape[0]) if hasattr(X, "shape") else len(X)
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
    return n_samples


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
