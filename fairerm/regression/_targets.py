"""The regression target at the boundary: a finite 1-D float64 array, or a clear error."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._validation import warn_column_vector
from ..exceptions import FairermTypeError, FairermValueError

__all__ = ["check_regression_target"]


def check_regression_target(y: Any, n_samples: int) -> np.ndarray:
    """Return ``y`` as a finite 1-D float64 array of length ``n_samples``, or raise a clear error."""
    if y is None:
        raise FairermValueError("y is None; a real target per sample is needed to fit a regressor.")
    values = y.to_numpy() if isinstance(y, (pd.Series, pd.DataFrame)) else np.asarray(y)
    if values.ndim == 2 and values.shape[1] == 1:
        warn_column_vector("y")
        values = values[:, 0]
    if values.ndim != 1:
        raise FairermValueError(f"y must be 1-D (one real target per sample); got shape {values.shape}.")
    if values.shape[0] != n_samples:
        raise FairermValueError(
            f"y has {values.shape[0]} entries but X has {n_samples} samples; they must have the same length."
        )
    if np.iscomplexobj(values):  # astype(float) would drop the imaginary parts with only a warning
        raise FairermValueError(f"Complex data not supported: y must hold real numbers; got dtype {values.dtype}.")
    try:
        values = values.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise FairermTypeError(f"y must hold real numbers; got dtype {values.dtype}.") from exc
    if not np.all(np.isfinite(values)):
        raise FairermValueError("y contains NaN or infinite values; every target must be finite.")
    return values
