r"""Differentiable distances between two samples: MMD and the Sinkhorn divergence (PyTorch).

Both compare the empirical distributions of two samples :math:`x_1, \dots, x_m` and
:math:`z_1, \dots, z_n` in :math:`\mathbb{R}^d` (in :class:`FairRepresentation`, the
representations :math:`h(x)` of two sensitive groups).

**Maximum mean discrepancy.** With the Gaussian kernel
:math:`k(u, v) = \exp(-\|u - v\|^2 / (2\sigma^2))`, the unbiased estimator (a U-statistic) of
:math:`\mathrm{MMD}^2 = \|\mu_P - \mu_Q\|^2_{\mathcal H}` is

.. math::

    \widehat{\mathrm{MMD}}^2_u = \frac{1}{m(m-1)} \sum_{i \ne j} k(x_i, x_j)
      + \frac{1}{n(n-1)} \sum_{i \ne j} k(z_i, z_j) - \frac{2}{mn} \sum_{i, j} k(x_i, z_j).

It is unbiased, hence can be slightly negative when the two distributions are equal.

**Sinkhorn divergence.** With the squared Euclidean cost :math:`C_{ij} = \|x_i - z_j\|^2`,
weights :math:`a \in \Delta_m`, :math:`b \in \Delta_n` (uniform by default) and
:math:`\varepsilon > 0`, entropic optimal transport is

.. math::

    \mathrm{OT}_\varepsilon(a, b) = \min_{\pi \ge 0,\ \pi 1 = a,\ \pi^\top 1 = b}
        \langle \pi, C\rangle + \varepsilon\, \mathrm{KL}(\pi \,\|\, a \otimes b)
      = \max_{f, g}\ \langle a, f\rangle + \langle b, g\rangle
        - \varepsilon \langle a \otimes b, e^{(f \oplus g - C)/\varepsilon} - 1\rangle,

and the (debiased) Sinkhorn divergence is
:math:`S_\varepsilon(a, b) = \mathrm{OT}_\varepsilon(a, b) - \tfrac12 \mathrm{OT}_\varepsilon(a, a)
- \tfrac12 \mathrm{OT}_\varepsilon(b, b)`, which is non-negative and zero iff the two
measures coincide (Feydy et al., 2019). The dual is maximised by log-domain Sinkhorn
iterations :math:`f_i \leftarrow -\varepsilon \log \sum_j b_j e^{(g_j - C_{ij})/\varepsilon}`,
:math:`g_j \leftarrow -\varepsilon \log \sum_i a_i e^{(f_i - C_{ij})/\varepsilon}` (stable for any
:math:`\varepsilon`); at the optimum the plan is
:math:`\pi_{ij} = a_i b_j e^{(f_i + g_j - C_{ij})/\varepsilon}` and the value is
:math:`\langle a, f\rangle + \langle b, g\rangle`.

**Gradients (envelope theorem).** The iterations run without autograd; the value returned is
:math:`\langle a, T(g^\star)\rangle + \langle b, g^\star\rangle` with :math:`g^\star` detached and
one differentiable update :math:`T(g^\star)_i = -\varepsilon \log \sum_j b_j
e^{(g^\star_j - C_{ij})/\varepsilon}`. Its derivative in :math:`C_{ij}` is exactly
:math:`\pi_{ij}`, the derivative of :math:`\mathrm{OT}_\varepsilon` (Danskin), so the gradient
costs one extra pass and no memory for the iterations.

**Weighted samples.** A sample may carry non-negative *frequency weights* :math:`w_i` (as
scikit-learn's ``sample_weight``: an integer weight counts as that many copies of the point), and
stands for the weighted empirical measure :math:`\sum_i (w_i / W) \delta_{x_i}`, :math:`W = \sum_i w_i`.
The unbiased MMD is then the U-statistic of the sample in which point :math:`i` appears
:math:`w_i` times: its within-sample term is

.. math::

    \frac{1}{W(W-1)} \sum_{p \ne q} k(x_p, x_q) = \frac{w^\top K w - \sum_i w_i k(x_i, x_i)}{W (W - 1)}
      = \frac{w^\top K w - W}{W (W - 1)}

(copies of one point are distinct pairs at distance 0, the diagonal removes only :math:`p = q`;
defined when :math:`W > 1`), and the cross term is :math:`w^\top K_{xz} v / (W V)`. With unit
weights this is the formula above, and for integer weights it equals the unweighted estimator on the
sample with repeated rows exactly. The Sinkhorn divergence takes the normalised weights
:math:`a = w / W` as its marginals; entropic OT gives the same value whether a point carries
mass :math:`a_i` or is split into copies (the optimal plan splits its row evenly, and
:math:`\mathrm{KL}(\pi \,\|\, a \otimes b)` is unchanged), so weights again equal repeated rows.
A zero weight removes the point.

References
----------
L. Oneto, M. Donini, G. Luise, C. Ciliberto, A. Maurer, M. Pontil. "Exploiting MMD and Sinkhorn
Divergences for Fair and Transferable Representation Learning". NeurIPS 2020.
A. Gretton, K. Borgwardt, M. Rasch, B. Schoelkopf, A. Smola. "A Kernel Two-Sample Test". JMLR 2012.
J. Feydy, T. Sejourne, F.-X. Vialard, S. Amari, A. Trouve, G. Peyre. "Interpolating between
Optimal Transport and MMD using Sinkhorn Divergences". AISTATS 2019.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .. import _memory
from ..exceptions import FairermValueError
from ._backend import require_torch

__all__ = [
    "squared_distances",
    "median_bandwidth",
    "default_epsilon",
    "mmd2_unbiased",
    "EntropicOTResult",
    "entropic_ot",
    "sinkhorn_divergence",
    "pairwise_group_divergence",
    "check_weights",
]

#: Largest sample on which the median heuristic looks at all pairs (evenly spaced subset above).
MEDIAN_MAX_POINTS = 2048
#: Default ratio of the entropic regularisation to the median squared distance. At 0.1 the
#: finite-sample floor of the Sinkhorn divergence between two samples of one law drowns the signal
#: of a shift in 16 dimensions (docs/maths.rst, "A penalty of the representation up to scale").
EPSILON_RATIO = 1.0
#: Estimates below this many bytes are not checked against the available memory (a training batch of a
#: few hundred points needs a few MiB: no read of ``/proc/meminfo`` per batch).
MEMORY_CHECK_FLOOR_BYTES = 16 * 2**20
#: The remedy every refusal of a pairwise matrix names.
SUBSAMPLE_HINT = ("Subsample: evaluate it on fewer rows, e.g. a random subset of a few thousand points of each group "
                  "(group_divergence on a subsample of the representation); in FairRepresentation, a smaller batch_size.")


def check_pairwise_memory(entries: float, like: Any, what: str, hint: str = SUBSAMPLE_HINT) -> None:
    """Refuse up front ``entries`` elements of ``like``'s dtype that would not fit (:func:`fairerm._memory.check_memory`).

    Estimates under :data:`MEMORY_CHECK_FLOOR_BYTES` pass without looking at the available memory.
    """
    n_bytes = float(entries) * like.element_size()
    if n_bytes >= MEMORY_CHECK_FLOOR_BYTES:
        _memory.check_memory(n_bytes, what, hint)


def _records_graph(*tensors: Any) -> bool:
    torch = require_torch()
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


def _as_tensor(value: Any, name: str, like: Any = None) -> Any:
    torch = require_torch()
    if not isinstance(value, torch.Tensor):
        dtype = like.dtype if like is not None else torch.float64
        device = like.device if like is not None else None
        value = torch.as_tensor(np.asarray(value, dtype=np.float64), dtype=dtype, device=device)
        if not bool(torch.isfinite(value).all()):
            raise FairermValueError(
                f"{name} holds values that are not finite in {dtype} (NaN, infinite, or beyond "
                f"{torch.finfo(dtype).max:.3g} in magnitude); rescale it."
            )
    if value.ndim == 1:
        value = value[:, None]
    if value.ndim != 2:
        raise FairermValueError(f"{name} must be 2-D (n_points, dim); got a tensor of shape {tuple(value.shape)}.")
    if value.shape[0] < 1:
        raise FairermValueError(f"{name} is empty; it needs at least one point.")
    return value


def _check_pair(x: Any, z: Any, min_points: int = 1) -> tuple[Any, Any]:
    x = _as_tensor(x, "x")
    z = _as_tensor(z, "z", like=x)
    if x.shape[1] != z.shape[1]:
        raise FairermValueError(f"x and z must have the same dimension; got x {tuple(x.shape)} and z {tuple(z.shape)}.")
    for name, t in (("x", x), ("z", z)):
        if t.shape[0] < min_points:
            raise FairermValueError(f"{name} has {t.shape[0]} point(s); this estimator needs at least {min_points}.")
    if z.dtype != x.dtype or z.device != x.device:
        torch = require_torch()
        cast = z.to(dtype=x.dtype, device=x.device)
        if bool(torch.isfinite(z).all()) and not bool(torch.isfinite(cast).all()):
            raise FairermValueError(
                f"z does not fit x's dtype {x.dtype}: its values up to {float(z.abs().max()):.3g} overflow "
                f"(largest {torch.finfo(x.dtype).max:.3g}); rescale it or pass x in a wider dtype."
            )
        z = cast
    return x, z


def check_weights(weights: Any, n_points: int, name: str, like: Any) -> Any:
    """``weights`` as a 1-D tensor on ``like``'s device and dtype, or ``None`` (unit weights).

    Raises
    ------
    FairermValueError
        Wrong length, or a negative or non-finite weight.
    """
    if weights is None:
        return None
    torch = require_torch()
    if not isinstance(weights, torch.Tensor):
        weights = torch.as_tensor(np.asarray(weights, dtype=np.float64))
    weights = weights.to(dtype=like.dtype, device=like.device)
    if weights.ndim != 1 or weights.shape[0] != n_points:
        raise FairermValueError(f"{name} must have shape ({n_points},), one weight per point; got {tuple(weights.shape)}.")
    if not bool(torch.isfinite(weights).all()) or bool((weights < 0).any()):
        raise FairermValueError(f"{name} must be finite and non-negative (frequency weights).")
    return weights


def squared_distances(x: Any, z: Any) -> Any:
    """Matrix of squared Euclidean distances ``D[i, j] = ||x_i - z_j||^2`` (clamped at 0)."""
    sq = (x * x).sum(1)[:, None] + (z * z).sum(1)[None, :] - 2.0 * (x @ z.T)
    return sq.clamp_min(0.0)


def _weighted_median(values: Any, weights: Any) -> float:
    """Median of the multiset holding ``values[k]`` with multiplicity ``weights[k]`` (the mean of
    the lower and upper medians, as ``numpy.median`` of the expanded multiset for integer weights)."""
    torch = require_torch()
    order = torch.argsort(values)
    sorted_values, cumulative = values[order], torch.cumsum(weights[order], 0)
    half = 0.5 * float(cumulative[-1])
    lower = int(torch.searchsorted(cumulative, torch.tensor([half], dtype=cumulative.dtype, device=cumulative.device)))
    upper = int(torch.searchsorted(cumulative, torch.tensor([half], dtype=cumulative.dtype, device=cumulative.device), right=True))
    last = sorted_values.shape[0] - 1
    return 0.5 * (float(sorted_values[min(lower, last)]) + float(sorted_values[min(upper, last)]))


def median_bandwidth(*samples: Any, weights: Sequence[Any] | None = None) -> float:
    r"""Median heuristic: the median Euclidean distance between distinct points of the pooled sample.

    :math:`\sigma = \mathrm{median}\{\|w_i - w_j\| : i < j\}` over the pooled points :math:`w`
    (an evenly spaced subset of :data:`MEDIAN_MAX_POINTS` points if there are more). If that
    median is 0 (more than half the pairs coincide) the mean distance is used, and 1.0 if all
    points coincide. Computed without autograd: the bandwidth is a choice, not a parameter.

    ``weights`` (one array per sample, frequency weights) take the median over the pairs of
    copies: pair :math:`i < j` counts :math:`w_i w_j` times and the :math:`w_i (w_i - 1) / 2`
    pairs of copies of point :math:`i` (for :math:`w_i > 1`) count at distance 0, so integer
    weights give the median of the sample with repeated rows.
    """
    torch = require_torch()
    with torch.no_grad():
        tensors = [_as_tensor(s, "sample").detach() for s in samples]
        pooled = torch.cat([t.to(tensors[0]) for t in tensors], dim=0)
        pooled_weights = None
        if weights is not None:
            if len(weights) != len(tensors):
                raise FairermValueError(f"weights must hold one array per sample ({len(tensors)}); got {len(weights)}.")
            parts = [torch.ones(t.shape[0], dtype=pooled.dtype, device=pooled.device) if w is None
                     else check_weights(w, t.shape[0], "weights", pooled) for w, t in zip(weights, tensors)]
            pooled_weights = torch.cat(parts)
            keep = pooled_weights > 0
            pooled, pooled_weights = pooled[keep], pooled_weights[keep]
        if pooled.shape[0] > MEDIAN_MAX_POINTS:
            index = torch.linspace(0, pooled.shape[0] - 1, MEDIAN_MAX_POINTS).round().long().to(pooled.device)
            pooled = pooled[index]
            pooled_weights = None if pooled_weights is None else pooled_weights[index]
        n_points = pooled.shape[0]
        if n_points < (2 if pooled_weights is None else 1):
            return 1.0
        # measured peak: 3.1 (unweighted) and 6.6 (weighted) n^2 doubles at 2,048 points
        check_pairwise_memory((3.5 if pooled_weights is None else 7.0) * n_points * n_points, pooled,
                              f"The median heuristic's {n_points} x {n_points} pairwise distances",
                              "Pass the bandwidth (or epsilon) explicitly, or lower "
                              "fairerm.representation._divergences.MEDIAN_MAX_POINTS (the number of points it looks at).")
        upper = torch.ones(n_points, n_points, dtype=torch.bool, device=pooled.device).triu(1)
        if pooled_weights is None:
            squared = squared_distances(pooled, pooled)[upper].double()
            # median of the distances = sqrt of the middle squared distance(s): two O(n) selections, no sort
            count = squared.shape[0]
            lower = float(torch.kthvalue(squared, (count + 1) // 2).values)
            higher = float(torch.kthvalue(squared, count // 2 + 1).values) if count % 2 == 0 else lower
            sigma = 0.5 * (np.sqrt(lower) + np.sqrt(higher))
            if sigma <= 0.0:
                sigma = float(squared.sqrt().mean())
            return sigma if sigma > 0.0 else 1.0
        dist = squared_distances(pooled, pooled)[upper].sqrt().double()
        pair_weights = (pooled_weights[:, None] * pooled_weights[None, :])[upper].double()
        self_pairs = (0.5 * pooled_weights * (pooled_weights - 1.0)).clamp_min(0.0).sum().double()
        dist = torch.cat([dist, torch.zeros(1, dtype=dist.dtype, device=dist.device)])
        pair_weights = torch.cat([pair_weights, self_pairs.reshape(1)])
        if float(pair_weights.sum()) <= 0.0:
            return 1.0
        sigma = _weighted_median(dist, pair_weights)
        if sigma <= 0.0:
            sigma = float((dist * pair_weights).sum() / pair_weights.sum())
        return sigma if sigma > 0.0 else 1.0


def default_epsilon(*samples: Any, ratio: float = EPSILON_RATIO, weights: Sequence[Any] | None = None) -> float:
    r"""Scale-aware entropic regularisation: ``ratio * median_bandwidth(*samples, weights=weights) ** 2``."""
    return ratio * median_bandwidth(*samples, weights=weights) ** 2


def _within_term(kernel: Any, weights: Any, name: str) -> Any:
    """The U-statistic mean of ``k`` over distinct pairs of copies (see the module docstring)."""
    if weights is None:
        m = kernel.shape[0]
        return (kernel.sum() - kernel.diagonal().sum()) / (m * (m - 1))
    total = weights.sum()
    if float(total) <= 1.0:
        raise FairermValueError(
            f"{name} sum to {float(total):.6g}; the unbiased MMD needs a total weight above 1 (frequency weights: "
            "an integer weight counts as that many copies of the point)."
        )
    return (weights @ kernel @ weights - (weights * kernel.diagonal()).sum()) / (total * (total - 1.0))


def mmd2_unbiased(x: Any, z: Any, bandwidth: float | None = None, *, x_weights: Any = None, z_weights: Any = None) -> Any:
    r"""Unbiased estimate of the squared MMD between two samples, Gaussian kernel (differentiable).

    .. math::

        \widehat{\mathrm{MMD}}^2_u = \frac{\sum_{i \ne j} k(x_i, x_j)}{m(m-1)}
          + \frac{\sum_{i \ne j} k(z_i, z_j)}{n(n-1)} - \frac{2 \sum_{i,j} k(x_i, z_j)}{mn},
        \qquad k(u, v) = e^{-\|u - v\|^2 / (2\sigma^2)};

    with weights, the U-statistic of the samples with repeated points (module docstring).

    Parameters
    ----------
    x : tensor or array-like of shape (m, d)
        First sample, ``m >= 2`` points (a 1-D input is one coordinate per point).
    z : tensor or array-like of shape (n, d)
        Second sample, ``n >= 2`` points, same ``d``.
    bandwidth : float, optional
        Kernel width :math:`\sigma > 0`. ``None``: :func:`median_bandwidth` of the pooled
        (weighted) sample.
    x_weights, z_weights : array-like of shape (m,), (n,), optional
        Non-negative frequency weights; each sample's total must exceed 1. ``None``: unit weights.

    Returns
    -------
    tensor of shape ()
        The estimate, differentiable in ``x`` and ``z`` (array-likes become float64 tensors).

    References
    ----------
    Gretton et al., JMLR 2012, Lemma 6; Oneto et al., NeurIPS 2020.
    """
    x, z = _check_pair(x, z, min_points=1 if (x_weights is not None or z_weights is not None) else 2)
    wx = check_weights(x_weights, x.shape[0], "x_weights", x)
    wz = check_weights(z_weights, z.shape[0], "z_weights", x)
    for name, t, w in (("x", x, wx), ("z", z, wz)):
        if w is None and t.shape[0] < 2:
            raise FairermValueError(f"{name} has {t.shape[0]} point(s); this estimator needs at least 2.")
    if bandwidth is None:
        bandwidth = median_bandwidth(x, z, weights=None if wx is None and wz is None else [wx, wz])
    elif not (np.isscalar(bandwidth) and np.isfinite(bandwidth) and bandwidth > 0):
        raise FairermValueError(f"bandwidth must be a positive finite number or None; got {bandwidth!r}.")
    m, n = x.shape[0], z.shape[0]
    # Measured peak (float64, no graph): k_xx, k_zz and k_xz held, plus 3 matrices of temporaries while
    # each is formed (5 n^2 at m = n, 9.7 mn at m = 2000, n = 6000); twice that with a graph (10 n^2 at m = n).
    entries = m * m + n * n + m * n + 2 * max(m * m, n * n, m * n)
    check_pairwise_memory((2 if _records_graph(x, z) else 1) * entries, x,
                          f"The unbiased MMD between samples of {m} and {n} points (its {m} x {m}, {n} x {n} and "
                          f"{m} x {n} kernel matrices and their temporaries)")
    gamma = 1.0 / (2.0 * float(bandwidth) ** 2)
    k_xx = (-gamma * squared_distances(x, x)).exp()
    k_zz = (-gamma * squared_distances(z, z)).exp()
    k_xz = (-gamma * squared_distances(x, z)).exp()
    within_x = _within_term(k_xx, wx, "x_weights")
    within_z = _within_term(k_zz, wz, "z_weights")
    if wx is None and wz is None:
        cross = k_xz.mean()
    else:
        ax = k_xz.new_full((x.shape[0],), 1.0 / x.shape[0]) if wx is None else wx / wx.sum()
        az = k_xz.new_full((z.shape[0],), 1.0 / z.shape[0]) if wz is None else wz / wz.sum()
        cross = ax @ k_xz @ az
    return within_x + within_z - 2.0 * cross


def pairwise_group_divergence(
    representation: Any,
    group_codes: Any,
    divergence: Callable[..., Any],
    *,
    weights: Any = None,
    min_group_size: int = 2,
) -> tuple[Any, int]:
    r"""Mean divergence over all pairs of groups present in a sample.

    :math:`\frac{1}{|P|} \sum_{(g, g') \in P} D(h \mid S = g,\ h \mid S = g')`, where :math:`P`
    holds the pairs :math:`g < g'` of groups with at least ``min_group_size`` points here (with
    ``weights``: a total weight above ``min_group_size - 1``). With two groups this is
    :math:`D(h \mid a, h \mid b)`. ``divergence(first, second)`` is called without weights, and
    ``divergence(first, second, first_weights, second_weights)`` with them.

    Returns
    -------
    (tensor or None, int)
        The mean divergence (``None`` if no pair qualifies) and the number of pairs.
    """
    torch = require_torch()
    codes = torch.as_tensor(group_codes, device=representation.device)
    present = []
    for g in torch.unique(codes).tolist():
        members = codes == g
        size = float(weights[members].sum()) if weights is not None else int(members.sum())
        if size > min_group_size - 1 if weights is not None else size >= min_group_size:
            present.append(int(g))
    total, n_pairs = None, 0
    for position, first in enumerate(present):
        for second in present[position + 1 :]:
            a, b = codes == first, codes == second
            if weights is None:
                value = divergence(representation[a], representation[b])
            else:
                value = divergence(representation[a], representation[b], weights[a], weights[b])
            total = value if total is None else total + value
            n_pairs += 1
    if n_pairs == 0:
        return None, 0
    return total / n_pairs, n_pairs


from ._sinkhorn import EntropicOTResult, entropic_ot, sinkhorn_divergence  # noqa: E402  (re-exported)
