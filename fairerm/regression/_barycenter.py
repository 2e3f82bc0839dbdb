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

__all__ = ["randomized_cdf_levels", "empirical_quantiles", "barycenter_predictions",
           "weighted_randomized_cdf_levels", "weighted_empirical_quantiles"]


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


def weighted_randomized_cdf_levels(sorted_values: np.ndarray, weights: np.ndarray, t: np.ndarray,
                                   uniform: np.ndarray, test_weights: np.ndarray) -> np.ndarray:
    r"""Weighted randomised CDF: sample :math:`v_i` weighs :math:`w_i`, the query :math:`t` weighs :math:`w_0`.

    .. math::

        \hat F^w(t) = \frac{\sum_i w_i \mathbf 1\{v_i < t\} + U\,\big(w_0 + \sum_i w_i \mathbf 1\{v_i = t\}\big)}
                           {w_0 + \sum_i w_i}.

    With every weight 1 this is :func:`randomized_cdf_levels`; with integer :math:`w_i` and
    :math:`w_0 = 1` it is :func:`randomized_cdf_levels` of the sample with :math:`v_i` repeated :math:`w_i`
    times. If the sample is drawn from :math:`P` and the query from :math:`P_w`, :math:`dP_w \propto w\,dP`
    (importance weights; :math:`w_i = w(z_i)`, :math:`w_0 = w(z_0)`), :math:`\hat F^w(t)` is *exactly*
    :math:`\mathcal U[0, 1]`: given the multiset of the :math:`N + 1` points, the query is point :math:`j`
    with probability :math:`w(z_j) / \sum_k w(z_k)` (the joint density is
    :math:`w(z_0)\prod_k p(z_k)`), and then :math:`\hat F^w` is uniform on the :math:`j`-th of the
    intervals of lengths :math:`w(z_k)/\sum_l w(z_l)` that tile :math:`[0, 1]` in the order of the values
    (a block of ties shares one interval; Tibshirani et al. 2019, "Conformal prediction under covariate
    shift", call this weighted exchangeability).
    """
    order = np.argsort(t)
    below, ties_end = np.empty(t.shape[0], dtype=np.int64), np.empty(t.shape[0], dtype=np.int64)
    below[order] = np.searchsorted(sorted_values, t[order], side="left")
    ties_end[order] = np.searchsorted(sorted_values, t[order], side="right")
    cumulative = np.concatenate([[0.0], np.cumsum(weights)])
    tied = cumulative[ties_end] - cumulative[below]
    return (cumulative[below] + uniform * (test_weights + tied)) / (cumulative[-1] + test_weights)


def weighted_empirical_quantiles(sorted_values: np.ndarray, weights: np.ndarray, levels: np.ndarray) -> np.ndarray:
    r"""Weighted empirical quantile function :math:`\hat Q^w(u) = \inf\{t : \sum_{v_i\le t} w_i \ge u\sum_i w_i\}`.

    The first sorted value whose cumulative weight reaches :math:`uW` (:math:`v_{(1)}` at :math:`u = 0`);
    with integer weights it is :func:`empirical_quantiles` of the sample with repeated values
    (``numpy.quantile(..., weights=w, method="inverted_cdf")`` computes the same). The weights must be
    positive (zero-weight points are dropped when the model is fitted).
    """
    cumulative = np.cumsum(weights)
    index = np.searchsorted(cumulative, levels * cumulative[-1], side="left")
    return sorted_values[np.clip(index, 0, sorted_values.shape[0] - 1)]


def barycenter_predictions(
    predictions: np.ndarray,
    codes: np.ndarray,
    cdf_values: list[np.ndarray],
    quantile_values: list[np.ndarray],
    group_weights: np.ndarray,
    uniform: np.ndarray,
    cdf_weights: list[np.ndarray] | None = None,
    quantile_weights: list[np.ndarray] | None = None,
    test_weights: np.ndarray | None = None,
) -> np.ndarray:
    r"""Map jittered predictions :math:`t_i = f(x_i, s_i) + \varepsilon_i` of groups ``codes``
    to :math:`\sum_{s'} \hat p_{s'} \hat Q_{s'}(\hat F_{s_i}(t_i))`.

    ``cdf_values[s]`` and ``quantile_values[s]`` are the two sorted, independent halves of group
    :math:`s`'s jittered calibration predictions that define :math:`\hat F_s` and
    :math:`\hat Q_s`; ``group_weights`` are :math:`\hat p_s`; ``uniform`` the :math:`U_i` of
    :func:`randomized_cdf_levels`. With sample weights, ``cdf_weights[s]`` and ``quantile_weights[s]``
    are the weights of those sorted values and ``test_weights`` the :math:`w_0` of each prediction
    (:func:`weighted_randomized_cdf_levels`, :func:`weighted_empirical_quantiles`). Returns an array of
    shape ``(n,)``.
    """
    levels = np.empty_like(predictions)
    for group, values in enumerate(cdf_values):
        rows = codes == group
        if cdf_weights is None:
            levels[rows] = randomized_cdf_levels(values, predictions[rows], uniform[rows])
        else:
            levels[rows] = weighted_randomized_cdf_levels(values, cdf_weights[group], predictions[rows], uniform[rows],
                                                          test_weights[rows])
    fair = np.zeros_like(predictions)
    for group, (weight, values) in enumerate(zip(group_weights, quantile_values)):
        if quantile_weights is None:
            fair += weight * empirical_quantiles(values, levels)
        else:
            fair += weight * weighted_empirical_quantiles(values, quantile_weights[group], levels)
    return fair
