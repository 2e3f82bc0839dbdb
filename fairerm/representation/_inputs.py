r"""Input checks of :class:`FairRepresentation` beyond the package-wide ones (numpy only).

* The network computes in ``float32``: a value that is finite in ``float64`` but beyond
  :math:`\approx 3.4 \times 10^{38}` would become ``inf`` in the cast (and NaN after the first
  layer), so such input is refused, naming the argument, in every entry point that casts
  (``fit``, ``transform``, ``predict``, ``decision_function``, ``predict_proba``, ``score``);
  an output that still overflows inside the network is refused the same way.
* ``sample_weight`` holds frequency weights (scikit-learn's convention): shape ``(n_samples,)``,
  finite, non-negative, not all zero, with a total that fits ``float32``.
* The reconstruction target: features standardised with their weighted mean and standard
  deviation (a constant feature keeps scale 1).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import largest_magnitude
from ..exceptions import FairermTypeError, FairermValueError

__all__ = [
    "NETWORK_DTYPE",
    "check_fits_network",
    "check_finite_outputs",
    "check_group_weights",
    "check_sample_weight",
    "standardisation",
]

#: The dtype the network computes in.
NETWORK_DTYPE = np.float32
_LARGEST = float(np.finfo(NETWORK_DTYPE).max)


def check_fits_network(X: np.ndarray, name: str = "X") -> None:
    """Refuse a (finite, float64) array with a value beyond the network dtype's range."""
    largest = largest_magnitude(X)
    if largest > _LARGEST:
        raise FairermValueError(
            f"{name} has values up to {largest:.3g} in magnitude, beyond the range of the network's dtype "
            f"{np.dtype(NETWORK_DTYPE).name} (largest {_LARGEST:.3g}): the cast would make them infinite and the "
            f"outputs NaN. Rescale {name} (e.g. with sklearn.preprocessing.StandardScaler) before FairRepresentation."
        )


def check_finite_outputs(values: np.ndarray, X: np.ndarray, name: str = "X") -> None:
    """Refuse network outputs that overflowed although ``X`` fits the dtype (huge but finite inputs)."""
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise FairermValueError(
            f"{name}: the network's float32 outputs overflow for {int(bad.sum())} row(s) (first: row {row}, largest "
            f"|{name}| there {float(np.abs(X[row]).max()):.3g}); rescale {name} (e.g. with StandardScaler)."
        )


def check_sample_weight(sample_weight: Any, n_samples: int) -> np.ndarray | None:
    """``sample_weight`` as a float64 array of shape (n_samples,), or ``None`` (unit weights).

    Raises
    ------
    FairermTypeError
        Non-numeric weights.
    FairermValueError
        Wrong shape, a NaN, infinite or negative weight, all weights zero, or a total beyond float32.
    """
    if sample_weight is None:
        return None
    try:
        weights = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise FairermTypeError(f"sample_weight must hold numbers; got {type(sample_weight).__name__} ({exc}).") from exc
    if weights.ndim != 1 or weights.shape[0] != n_samples:
        raise FairermValueError(
            f"sample_weight must have shape ({n_samples},), one weight per row of X; got shape {weights.shape}."
        )
    if not np.isfinite(weights).all():
        bad = np.flatnonzero(~np.isfinite(weights))
        raise FairermValueError(f"sample_weight has {bad.size} NaN or infinite value(s) (first at row {int(bad[0])}); weights must be finite.")
    if (weights < 0).any():
        bad = np.flatnonzero(weights < 0)
        raise FairermValueError(
            f"sample_weight has {bad.size} negative value(s) (first {weights[bad[0]]!r} at row {int(bad[0])}); "
            "weights must be >= 0 (frequency weights)."
        )
    total = float(weights.sum())
    if total == 0.0:
        raise FairermValueError("sample_weight is zero for every row; at least one row needs a positive weight.")
    if total > _LARGEST:
        raise FairermValueError(
            f"sample_weight sums to {total:.3g}, beyond the network's float32 range; rescale the weights "
            "(e.g. sample_weight / sample_weight.mean())."
        )
    return weights


def check_group_weights(weights: np.ndarray, codes: np.ndarray, groups: np.ndarray, batch_size: int) -> None:
    """Each group must bring a total weight above 1 to an average batch, or its penalty term is undefined."""
    n_rows = codes.shape[0]
    for g, group in enumerate(groups):
        total = float(weights[codes == g].sum())
        per_batch = total * min(batch_size, n_rows) / n_rows
        if 0.0 < per_batch <= 1.0:
            raise FairermValueError(
                f"sample_weight: group {group!r} has total weight {total:.4g}, about {per_batch:.3g} per batch of "
                f"{min(batch_size, n_rows)} rows, but its divergence term needs a total above 1 in a batch (sample_weight "
                "are frequency weights: an integer weight counts as that many copies of the row). Rescale the weights, "
                "e.g. sample_weight * len(sample_weight) / sample_weight.sum()."
            )


def standardisation(X: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean and standard deviation of each column (scale 1 for a constant column)."""
    mean = np.average(X, axis=0, weights=weights)
    scale = np.sqrt(np.average((X - mean) ** 2, axis=0, weights=weights))
    scale[~(scale > 0)] = 1.0
    return mean, scale
