r"""Distances between the group-conditional distributions of a regression output.

For a real-valued prediction :math:`\hat y` and a sensitive attribute :math:`S` with groups
:math:`s \in \mathcal S`, write :math:`\hat F_s(t) = \frac{1}{n_s}\sum_{i: s_i = s}
\mathbf 1\{\hat y_i \le t\}` for the empirical CDF of the predictions of group :math:`s`
(:math:`n_s` samples). Demographic parity of a regressor (Chzhen et al. 2020, Definition 2.1)
asks the laws of :math:`\hat y \mid S = s` to be equal for all :math:`s`; two distances measure
how far they are:

* Kolmogorov-Smirnov, :math:`\mathrm{KS}(s, s') = \sup_t |\hat F_s(t) - \hat F_{s'}(t)|`
  (the statistic of the two-sample KS test, in :math:`[0, 1]`);
* 1-Wasserstein, :math:`W_1(s, s') = \int_{\mathbb R} |\hat F_s(t) - \hat F_{s'}(t)|\,dt`
  (in the units of :math:`\hat y`).

Both are computed exactly from the sorted samples (no grid): the difference of two empirical
CDFs is a step function whose steps sit at the pooled sample points. With more than two groups
the functions below return the largest pairwise distance; :func:`distances_between_groups`
returns the whole table.

References
----------
E. Chzhen, C. Denis, M. Hebiri, L. Oneto, M. Pontil. "Fair regression with Wasserstein
barycenters". NeurIPS 2020. arXiv:2006.07286.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._validation import SensitiveEncoding, check_option, check_sample_weight, check_sensitive_features
from ..exceptions import FairermTypeError, FairermValueError

__all__ = [
    "ks_distance_between_groups",
    "wasserstein_distance_between_groups",
    "distances_between_groups",
]

DistanceName = Literal["ks", "wasserstein"]


def check_predictions(y_pred: Any, *, name: str = "y_pred") -> np.ndarray:
    """Return ``y_pred`` as a finite 1-D float64 array, or raise a clear error.

    Complex values are refused (even with zero imaginary parts), as the regression estimators
    refuse a complex ``y``: casting them to float would silently drop the imaginary parts.
    """
    if y_pred is None:
        raise FairermValueError(f"{name} is required; got None.")
    values = y_pred.to_numpy() if isinstance(y_pred, (pd.Series, pd.DataFrame)) else np.asarray(y_pred)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise FairermValueError(f"{name} must be 1-D (one prediction per sample); got shape {values.shape}.")
    if np.iscomplexobj(values):  # astype(float) would drop the imaginary parts with only a ComplexWarning
        raise FairermValueError(f"Complex data not supported: {name} must hold real numbers; got dtype {values.dtype}.")
    try:
        values = values.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise FairermTypeError(f"{name} must hold numbers; got dtype {values.dtype} ({exc}).") from exc
    if not np.all(np.isfinite(values)):
        raise FairermValueError(f"{name} contains NaN or infinite values; every prediction must be finite.")
    return values


def _group_samples(y_pred: Any, sensitive_features: Any, sample_weight: Any = None
                   ) -> tuple[list[tuple[np.ndarray, np.ndarray | None]], SensitiveEncoding]:
    """Per group, its sorted predictions and their weights (None without ``sample_weight``)."""
    values = check_predictions(y_pred)
    sens = check_sensitive_features(sensitive_features, values.shape[0], reference="y_pred")
    weights = check_sample_weight(sample_weight, values.shape[0], reference="y_pred")
    samples = []
    for g in range(sens.n_groups):
        members = sens.codes == g
        if weights is None:
            samples.append((np.sort(values[members]), None))
            continue
        members &= weights > 0  # a zero weight puts no mass on its value
        if not members.any():
            raise FairermValueError(f"sample_weight is zero for every sample of group {sens.groups[g]!r}; its "
                                    "prediction distribution is undefined. Drop the group or give it weight.")
        order = np.argsort(values[members], kind="stable")
        samples.append((values[members][order], weights[members][order]))
    return samples, sens


def _cdf(sample: tuple[np.ndarray, np.ndarray | None], support: np.ndarray) -> np.ndarray:
    """The (weighted) empirical CDF of a sorted sample at ``support``."""
    values, weights = sample
    ends = np.searchsorted(values, support, side="right")
    if weights is None:
        return ends / values.shape[0]
    cumulative = np.concatenate([[0.0], np.cumsum(weights)])
    return cumulative[ends] / cumulative[-1]


def _cdf_gaps(sample_a, sample_b) -> tuple[np.ndarray, np.ndarray]:
    """The pooled sorted support ``t`` and ``F_a(t) - F_b(t)`` at each of its points."""
    support = np.unique(np.concatenate([sample_a[0], sample_b[0]]))
    return support, _cdf(sample_a, support) - _cdf(sample_b, support)


def _ks_two_samples(sample_a, sample_b) -> float:
    # Both CDFs are right-continuous steps with jumps in the pooled support, so the supremum
    # of their difference is attained at one of those points.
    _, gaps = _cdf_gaps(sample_a, sample_b)
    return float(np.max(np.abs(gaps)))


def _wasserstein1_two_samples(sample_a, sample_b) -> float:
    # |F_a - F_b| is constant on [t_k, t_{k+1}) and zero outside [t_0, t_last).
    support, gaps = _cdf_gaps(sample_a, sample_b)
    return float(np.sum(np.abs(gaps[:-1]) * np.diff(support)))


_TWO_SAMPLE = {"ks": _ks_two_samples, "wasserstein": _wasserstein1_two_samples}


def _largest_pairwise(y_pred: Any, sensitive_features: Any, distance: str, sample_weight: Any = None) -> float:
    samples, _ = _group_samples(y_pred, sensitive_features, sample_weight)
    two_sample = _TWO_SAMPLE[distance]
    return max(two_sample(samples[a], samples[b]) for a, b in combinations(range(len(samples)), 2))


def ks_distance_between_groups(y_pred: Any, *, sensitive_features: Any, sample_weight: Any = None) -> float:
    r"""Largest Kolmogorov-Smirnov distance between two groups' prediction distributions.

    .. math::

        \max_{s \ne s'} \sup_{t \in \mathbb R} |\hat F_s(t) - \hat F_{s'}(t)|,

    where :math:`\hat F_s` is the empirical CDF of the predictions of group :math:`s`. Zero
    means the groups' empirical prediction distributions coincide (demographic parity of the
    sample); one means they are separated.

    Parameters
    ----------
    y_pred : array-like of shape (n_samples,)
        Real-valued predictions (finite).
    sensitive_features : array-like of shape (n_samples,) or DataFrame
        Group of each sample; at least two groups.
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative weights: :math:`\hat F_s(t) = \sum_{i \in s, \hat y_i \le t} w_i / \sum_{i \in s} w_i`
        (integer weights equal repeated rows).

    Returns
    -------
    float
        The distance, in :math:`[0, 1]`; exact (equal to ``scipy.stats.ks_2samp(...).statistic``
        for two groups).

    Raises
    ------
    FairermValueError
        Non-finite predictions, mismatched lengths, fewer than two groups.

    References
    ----------
    Chzhen et al., "Fair regression with Wasserstein barycenters", NeurIPS 2020, Section 6.

    Examples
    --------
    >>> ks_distance_between_groups([0.0, 1.0, 2.0, 3.0], sensitive_features=["a", "a", "b", "b"])
    1.0
    """
    return _largest_pairwise(y_pred, sensitive_features, "ks", sample_weight)


def wasserstein_distance_between_groups(y_pred: Any, *, sensitive_features: Any, sample_weight: Any = None) -> float:
    r"""Largest 1-Wasserstein distance between two groups' prediction distributions.

    .. math::

        \max_{s \ne s'} W_1(\hat\nu_s, \hat\nu_{s'}), \qquad
        W_1(\hat\nu_s, \hat\nu_{s'}) = \int_{\mathbb R} |\hat F_s(t) - \hat F_{s'}(t)|\, dt,

    where :math:`\hat\nu_s` is the empirical distribution of the predictions of group :math:`s`
    and :math:`\hat F_s` its CDF. It is in the units of the prediction: for two groups whose
    predictions differ by a constant shift :math:`c`, it is :math:`|c|`.

    Parameters
    ----------
    y_pred : array-like of shape (n_samples,)
        Real-valued predictions (finite).
    sensitive_features : array-like of shape (n_samples,) or DataFrame
        Group of each sample; at least two groups.
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative weights of weighted empirical CDFs, as in :func:`ks_distance_between_groups`.

    Returns
    -------
    float
        The distance, exact (equal to ``scipy.stats.wasserstein_distance`` for two groups, with
        ``u_weights``/``v_weights`` when weighted).

    Raises
    ------
    FairermValueError
        Non-finite predictions, mismatched lengths, fewer than two groups.

    References
    ----------
    Chzhen et al., "Fair regression with Wasserstein barycenters", NeurIPS 2020, Section 2.

    Examples
    --------
    >>> wasserstein_distance_between_groups([0.0, 1.0, 2.0, 3.0], sensitive_features=[0, 0, 1, 1])
    2.0
    """
    return _largest_pairwise(y_pred, sensitive_features, "wasserstein", sample_weight)


def distances_between_groups(
    y_pred: Any, *, sensitive_features: Any, distance: DistanceName = "ks", sample_weight: Any = None
) -> pd.DataFrame:
    r"""Table of the pairwise distances between the groups' prediction distributions.

    Entry :math:`(s, s')` is :math:`\mathrm{KS}(s, s')` or :math:`W_1(s, s')` (see
    :func:`ks_distance_between_groups`, :func:`wasserstein_distance_between_groups`); the table
    is symmetric with a zero diagonal, its largest entry is the value those functions return.

    Parameters
    ----------
    y_pred : array-like of shape (n_samples,)
    sensitive_features : array-like of shape (n_samples,) or DataFrame
    distance : {"ks", "wasserstein"}, default="ks"
    sample_weight : array-like of shape (n_samples,), optional
        Weighted empirical CDFs, as in :func:`ks_distance_between_groups`.

    Returns
    -------
    pandas.DataFrame of shape (n_groups, n_groups)
        Indexed and labelled by the sorted group labels.

    Examples
    --------
    >>> distances_between_groups([0.0, 1.0, 5.0, 0.0, 1.0], sensitive_features=list("aabcc"), distance="wasserstein")
         a    b    c
    a  0.0  4.5  0.0
    b  4.5  0.0  4.5
    c  0.0  4.5  0.0
    """
    check_option(distance, "distance", _TWO_SAMPLE)
    samples, sens = _group_samples(y_pred, sensitive_features, sample_weight)
    two_sample = _TWO_SAMPLE[distance]
    table = np.zeros((sens.n_groups, sens.n_groups))
    for a, b in combinations(range(sens.n_groups), 2):
        table[a, b] = table[b, a] = two_sample(samples[a], samples[b])
    return pd.DataFrame(table, index=list(sens.groups), columns=list(sens.groups))
