r"""The Wasserstein-barycenter map of Chzhen et al. (2020) on plain sorted arrays.

For the squared loss, the best predictor under demographic parity is
:math:`g^*(x, s) = \sum_{s'} p_{s'} Q_{s'}(F_s(f^*(x, s)))`: it maps the Bayes regressor
:math:`f^*` onto the Wasserstein-2 barycenter of its group-conditional laws. The estimator
(:class:`fairerm.WassersteinFairRegressor`, whose docstring derives the guarantee) plugs estimates
of :math:`F_s, Q_s, p_s` into the functions below.

References
----------
E. Chzhen, C. Denis, M. Hebiri, L. Oneto, M. Pontil. "Fair regression with Wasserstein
barycenters". NeurIPS 2020. arXiv:2006.07286.
"""

from __future__ import annotations

import numpy as np

__all__ = ["randomized_cdf_levels", "empirical_quantiles", "barycenter_predictions"]


def randomized_cdf_levels(sorted_values: np.ndarray, t: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    r"""Randomised empirical CDF :math:`\hat F(t)` of a sample, with ties broken at random.

    .. math::

        \hat F(t) = \frac{1}{N + 1}\Big(\sum_{i=1}^N \mathbf 1\{v_i < t\}
                    + U\,\big(1 + \sum_{i=1}^N \mathbf 1\{v_i = t\}\big)\Big),
        \qquad U \sim \mathcal U[0, 1],

    for the sample :math:`v_1, \dots, v_N` (``sorted_values``, ascending). If :math:`t` and the
    :math:`v_i` are exchangeable, :math:`\hat F(t)` is *exactly* uniform on :math:`[0, 1]`:
    the position of :math:`t` among the :math:`N + 1` values, ties broken uniformly, is uniform
    on :math:`\{0, \dots, N\}`, and :math:`U` spreads each position over an interval of length
    :math:`1/(N + 1)`.
    """
    # Sorted queries make searchsorted walk the sample once instead of jumping about in memory.
    order = np.argsort(t)
    below, ties = np.empty(t.shape[0], dtype=np.int64), np.empty(t.shape[0], dtype=np.int64)
    below[order] = np.searchsorted(sorted_values, t[order], side="left")
    ties[order] = np.searchsorted(sorted_values, t[order], side="right")
    ties -= below
    return (below + uniform * (1.0 + ties)) / (sorted_values.shape[0] + 1.0)


def empirical_quantiles(sorted_values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    r"""Empirical quantile function :math:`\hat Q(u) = \inf\{t : \hat F_N(t) \ge u\}`.

    For the ascending sample :math:`v_{(1)} \le \dots \le v_{(N)}` this is
    :math:`v_{(\lceil uN \rceil)}` (and :math:`v_{(1)}` at :math:`u = 0`): exact, no grid;
    ``numpy.quantile(..., method="inverted_cdf")`` computes the same.
    """
    n = sorted_values.shape[0]
    rank = np.clip(np.ceil(levels * n).astype(np.int64), 1, n)
    return sorted_values[rank - 1]


def barycenter_predictions(
    predictions: np.ndarray,
    codes: np.ndarray,
    cdf_values: list[np.ndarray],
    quantile_values: list[np.ndarray],
    group_weights: np.ndarray,
    uniform: np.ndarray,
) -> np.ndarray:
    r"""Map jittered predictions :math:`t_i = f(x_i, s_i) + \varepsilon_i` of groups ``codes``
    to :math:`\sum_{s'} \hat p_{s'} \hat Q_{s'}(\hat F_{s_i}(t_i))`.

    ``cdf_values[s]`` and ``quantile_values[s]`` are the two sorted, independent halves of group
    :math:`s`'s jittered calibration predictions that define :math:`\hat F_s` and
    :math:`\hat Q_s`; ``group_weights`` are :math:`\hat p_s`; ``uniform`` the :math:`U_i` of
    :func:`randomized_cdf_levels`. Returns an array of shape ``(n,)``.
    """
    levels = np.empty_like(predictions)
    for group, values in enumerate(cdf_values):
        rows = codes == group
        levels[rows] = randomized_cdf_levels(values, predictions[rows], uniform[rows])
    fair = np.zeros_like(predictions)
    for weight, values in zip(group_weights, quantile_values):
        fair += weight * empirical_quantiles(values, levels)
    return fair
