r"""Input checks of :class:`FairRepresentation` beyond the package-wide ones (numpy only).

* The network computes in ``float32``: a value that is finite in ``float64`` but beyond
  :math:`\approx 3.4 \times 10^{38}` would become ``inf`` in the cast (and NaN after the first
  layer), so such input is refused, naming the argument, in every entry point that casts
  (``fit``, ``transform``, ``predict``, ``decision_function``, ``predict_proba``, ``score``);
  an output that still overflows inside the network is refused the same way.
* ``sample_weight`` holds frequency weights (scikit-learn's convention): shape ``(n_samples,)``,
  finite, non-negative, not all zero, with a total that fits ``float32``.
* With a penalty, every group needs about two points (a total weight of at least 2) per batch,
  with or without weights, and a run in which no batch computed the penalty is refused.
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
    "check_penalty_applied",
    "check_training_groups",
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


def check_group_weights(weights: np.ndarray | None, codes: np.ndarray, groups: np.ndarray, batch_size: int) -> None:
    """Refuse a group that cannot bring two points (a total weight of at least 2) to an average batch.

    A group's divergence term needs two of its points in a batch (with weights, a total weight above
    1; unit weights are the same as none). Batches are stratified by group, so each holds about
    ``per_batch = W_g * b / n`` of group ``g`` (``W_g`` its number of rows or total weight, ``b =
    min(batch_size, n)``, ``n`` the rows). ``per_batch >= 2`` is required: a typical batch then has two
    points of the group, and since an epoch has ``ceil(n / b) < n / b + 1`` batches, their average
    weight of ``g`` is ``> per_batch / (1 + b / n) >= 1``, so at least one batch of every epoch can
    penalise it. With ``per_batch < 2`` a group is left out of most batches' penalty, or of all.
    What remains (weights gathered on few rows) is caught after training by
    :func:`check_penalty_applied`.

    Raises
    ------
    FairermValueError
        A group with a positive total but ``per_batch < 2``, naming the group and what would help.
    """
    n_rows = codes.shape[0]
    batch = min(batch_size, n_rows)
    for g, group in enumerate(groups.tolist()):
        members = codes == g
        total = float(members.sum()) if weights is None else float(weights[members].sum())
        per_batch = total * batch / n_rows
        if not 0.0 < per_batch < 2.0:
            continue
        needed = int(np.ceil(2.0 * n_rows / total))
        remedy = (f"Use batch_size >= {needed} (2 * n_samples / {'n_group' if weights is None else 'group weight'}), more "
                  "data or merge small groups" if needed <= n_rows else
                  f"No batch_size helps, as the group {'has fewer than two rows' if weights is None else 'weighs under 2'} "
                  "in all: merge it with another group or drop it")
        if weights is None:
            what = f"sensitive_features: group {group!r} has {int(total)} row(s), about {per_batch:.3g} per batch"
            needs = "two points of the group in a batch"
        else:
            what = f"sample_weight: group {group!r} has total weight {total:.4g}, about {per_batch:.3g} per batch"
            needs = ("a total weight above 1 in a batch, i.e. about two points per batch (sample_weight are "
                     "frequency weights: an integer weight counts as that many copies of the row; rescaling them, e.g. "
                     "sample_weight * len(sample_weight) / sample_weight.sum(), may help)")
        raise FairermValueError(
            f"{what} of {batch} rows, but its divergence term needs {needs}; below that the group is left out of "
            f"the penalty in most batches or all of them. {remedy}, or set penalty_weight=0 to train without the "
            "penalty."
        )


def check_training_groups(groups: np.ndarray, codes: np.ndarray, weights: np.ndarray | None, batch_size: int,
                          validation_fraction: float) -> None:
    """:func:`check_group_weights` on the training part of the validation split (``early_stopping``).

    The rule is checked on every row first; a validation split can still leave a group with no or too
    few training rows (28, 28 and 4 rows with ``validation_fraction=0.9``: 3, 3 and 0), which the
    penalty would then never see.

    Raises
    ------
    FairermValueError
        A group with no training row, or too few per batch, naming the split.
    """
    missing = sorted(set(range(len(groups))) - set(np.unique(codes).tolist()))
    where = f"after the validation split (validation_fraction={validation_fraction!r})"
    if missing:
        raise FairermValueError(f"sensitive_features: group(s) {np.asarray(groups)[missing].tolist()!r} have no "
                                f"training row {where}, so the penalty could never see them. Lower "
                                "validation_fraction, set early_stopping=False or merge small groups.")
    try:
        check_group_weights(weights, codes, groups, batch_size)
    except FairermValueError as exc:
        raise FairermValueError(f"{where}: {exc} Or lower validation_fraction / set early_stopping=False.") from None


def check_penalty_applied(penalty_history: list, penalty_weight: float) -> None:
    """Refuse a training run in which no batch of any epoch computed the penalty (all-NaN history).

    :func:`check_group_weights` makes it impossible for a group alone; it still happens when the
    groups never meet in one batch with two points (a total weight above 1) each, e.g. weights
    gathered on one row per group. The network would be an unpenalised one, silently.

    Raises
    ------
    FairermValueError
        ``penalty_weight > 0`` and every entry of ``penalty_history`` is NaN.
    """
    if penalty_weight > 0.0 and len(penalty_history) and np.isnan(np.asarray(penalty_history, dtype=float)).all():
        raise FairermValueError(
            f"FairRepresentation: no batch of any epoch ({len(penalty_history)}) held two groups with two points (a "
            "total weight above 1) each, so the fairness penalty was never computed and the network would be trained "
            "without it. Spread each group's sample_weight over more rows, or use a larger batch_size or more epochs; "
            "penalty_weight=0 trains without the penalty on purpose."
        )


def standardisation(X: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean and standard deviation of each column (scale 1 for a constant column)."""
    mean = np.average(X, axis=0, weights=weights)
    scale = np.sqrt(np.average((X - mean) ** 2, axis=0, weights=weights))
    scale[~(scale > 0)] = 1.0
    return mean, scale
