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

References
----------
L. Oneto, M. Donini, G. Luise, C. Ciliberto, A. Maurer, M. Pontil. "Exploiting MMD and Sinkhorn
Divergences for Fair and Transferable Representation Learning". NeurIPS 2020.
A. Gretton, K. Borgwardt, M. Rasch, B. Schoelkopf, A. Smola. "A Kernel Two-Sample Test". JMLR 2012.
J. Feydy, T. Sejourne, F.-X. Vialard, S. Amari, A. Trouve, G. Peyre. "Interpolating between
Optimal Transport and MMD using Sinkhorn Divergences". AISTATS 2019.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..exceptions import ConvergenceWarning, FairermValueError
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
]

#: Largest sample on which the median heuristic looks at all pairs (evenly spaced subset above).
MEDIAN_MAX_POINTS = 2048
#: Default ratio of the entropic regularisation to the median squared distance.
EPSILON_RATIO = 0.1


def _as_tensor(value: Any, name: str, like: Any = None) -> Any:
    torch = require_torch()
    if not isinstance(value, torch.Tensor):
        dtype = like.dtype if like is not None else torch.float64
        device = like.device if like is not None else None
        value = torch.as_tensor(np.asarray(value, dtype=np.float64), dtype=dtype, device=device)
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
    return x, z.to(dtype=x.dtype, device=x.device)


def squared_distances(x: Any, z: Any) -> Any:
    """Matrix of squared Euclidean distances ``D[i, j] = ||x_i - z_j||^2`` (clamped at 0)."""
    sq = (x * x).sum(1)[:, None] + (z * z).sum(1)[None, :] - 2.0 * (x @ z.T)
    return sq.clamp_min(0.0)


def median_bandwidth(*samples: Any) -> float:
    r"""Median heuristic: the median Euclidean distance between distinct points of the pooled sample.

    :math:`\sigma = \mathrm{median}\{\|w_i - w_j\| : i < j\}` over the pooled points :math:`w`
    (an evenly spaced subset of :data:`MEDIAN_MAX_POINTS` points if there are more). If that
    median is 0 (more than half the pairs coincide) the mean distance is used, and 1.0 if all
    points coincide. Computed without autograd: the bandwidth is a choice, not a parameter.
    """
    torch = require_torch()
    with torch.no_grad():
        pooled = torch.cat([_as_tensor(s, "sample").detach() for s in samples], dim=0)
        if pooled.shape[0] > MEDIAN_MAX_POINTS:
            index = torch.linspace(0, pooled.shape[0] - 1, MEDIAN_MAX_POINTS).round().long().to(pooled.device)
            pooled = pooled[index]
        if pooled.shape[0] < 2:
            return 1.0
        upper = torch.triu_indices(pooled.shape[0], pooled.shape[0], offset=1, device=pooled.device)
        dist = squared_distances(pooled, pooled)[upper[0], upper[1]].sqrt()
        sigma = float(torch.quantile(dist.double(), 0.5))
        if sigma <= 0.0:
            sigma = float(dist.double().mean())
        return sigma if sigma > 0.0 else 1.0


def default_epsilon(*samples: Any, ratio: float = EPSILON_RATIO) -> float:
    r"""Scale-aware entropic regularisation: ``ratio * median_bandwidth(*samples) ** 2``."""
    return ratio * median_bandwidth(*samples) ** 2


def mmd2_unbiased(x: Any, z: Any, bandwidth: float | None = None) -> Any:
    r"""Unbiased estimate of the squared MMD between two samples, Gaussian kernel (differentiable).

    .. math::

        \widehat{\mathrm{MMD}}^2_u = \frac{\sum_{i \ne j} k(x_i, x_j)}{m(m-1)}
          + \frac{\sum_{i \ne j} k(z_i, z_j)}{n(n-1)} - \frac{2 \sum_{i,j} k(x_i, z_j)}{mn},
        \qquad k(u, v) = e^{-\|u - v\|^2 / (2\sigma^2)}.

    Parameters
    ----------
    x : tensor or array-like of shape (m, d)
        First sample, ``m >= 2`` points (a 1-D input is one coordinate per point).
    z : tensor or array-like of shape (n, d)
        Second sample, ``n >= 2`` points, same ``d``.
    bandwidth : float, optional
        Kernel width :math:`\sigma > 0`. ``None``: :func:`median_bandwidth` of the pooled sample.

    Returns
    -------
    tensor of shape ()
        The estimate, differentiable in ``x`` and ``z`` (array-likes become float64 tensors).

    References
    ----------
    Gretton et al., JMLR 2012, Lemma 6; Oneto et al., NeurIPS 2020.
    """
    x, z = _check_pair(x, z, min_points=2)
    if bandwidth is None:
        bandwidth = median_bandwidth(x, z)
    elif not (np.isscalar(bandwidth) and np.isfinite(bandwidth) and bandwidth > 0):
        raise FairermValueError(f"bandwidth must be a positive finite number or None; got {bandwidth!r}.")
    gamma = 1.0 / (2.0 * float(bandwidth) ** 2)
    m, n = x.shape[0], z.shape[0]
    k_xx = (-gamma * squared_distances(x, x)).exp()
    k_zz = (-gamma * squared_distances(z, z)).exp()
    k_xz = (-gamma * squared_distances(x, z)).exp()
    within_x = (k_xx.sum() - k_xx.diagonal().sum()) / (m * (m - 1))
    within_z = (k_zz.sum() - k_zz.diagonal().sum()) / (n * (n - 1))
    return within_x + within_z - 2.0 * k_xz.mean()


@dataclass
class EntropicOTResult:
    """Entropic optimal transport between two weighted samples.

    Attributes
    ----------
    value : tensor of shape ()
        :math:`\\mathrm{OT}_\\varepsilon`, differentiable in the points (envelope gradient).
    transport_cost : tensor of shape ()
        :math:`\\langle \\pi, C\\rangle` of the entropic plan (what POT's ``sinkhorn2`` returns).
    f, g : tensor of shape (m,), (n,)
        The dual potentials (detached).
    n_iter : int
        Sinkhorn iterations run.
    marginal_error : float
        :math:`\\sum_i |(\\pi 1)_i - a_i|` before the last update (0 at convergence).
    converged : bool
        Whether ``marginal_error <= tol``.
    """

    value: Any
    transport_cost: Any
    f: Any
    g: Any
    n_iter: int
    marginal_error: float
    converged: bool


def _softmin(eps: float, cost: Any, log_weights: Any, potential: Any) -> Any:
    """``-eps * log sum_j exp(log_weights_j + (potential_j - cost_ij) / eps)`` over the last axis."""
    torch = require_torch()
    return -eps * torch.logsumexp(log_weights[None, :] + (potential[None, :] - cost) / eps, dim=1)


def _sinkhorn_iterations(
    scaled_kernel: Any, log_a: Any, log_b: Any, a: Any, symmetric: bool, max_iter: int, tol: float
) -> tuple[Any, Any, int, float]:
    """Log-domain Sinkhorn on the scaled potentials ``u = f / eps``, ``v = g / eps``.

    ``scaled_kernel`` is ``-C / eps``; one iteration is ``u = -LSE_j(-C_ij/eps + log b_j + v_j)``
    then ``v = -LSE_i(-C_ij/eps + log a_i + u_i)`` (for ``OT(a, a)``: ``u = v = (u + T(u)) / 2``).
    The row-marginal error ``sum_i |a_i exp(u_i - T(v)_i) - a_i|`` is checked every few
    iterations (each check costs about one iteration).
    """
    torch = require_torch()
    u = torch.zeros(scaled_kernel.shape[0], dtype=scaled_kernel.dtype, device=scaled_kernel.device)
    transposed = scaled_kernel.T
    v = u if symmetric else -torch.logsumexp(transposed + (log_a + u)[None, :], dim=1)
    error, n_iter = float("inf"), 0
    while n_iter < max_iter:
        u_new = -torch.logsumexp(scaled_kernel + (log_b + v)[None, :], dim=1)
        n_iter += 1
        if n_iter % 5 == 0 or n_iter == max_iter:
            # Row marginals of the plan built from (u, v) are a_i exp(u_i - u_new_i).
            error = float((a * ((u - u_new).exp() - 1.0)).abs().sum())
        if symmetric:
            u = v = 0.5 * (u + u_new)
        else:
            u = u_new
            v = -torch.logsumexp(transposed + (log_a + u)[None, :], dim=1)
        if error <= tol:
            break
    return u, v, n_iter, error


def entropic_ot(
    x: Any,
    z: Any,
    epsilon: float,
    *,
    a: Any = None,
    b: Any = None,
    max_iter: int = 1000,
    tol: float = 1e-6,
    warn: bool = True,
) -> EntropicOTResult:
    r"""Entropic OT :math:`\mathrm{OT}_\varepsilon(a, b)` by log-domain Sinkhorn, squared Euclidean cost.

    Parameters
    ----------
    x, z : tensor or array-like of shape (m, d), (n, d)
        Support points of the two measures.
    epsilon : float
        Entropic regularisation :math:`\varepsilon > 0` (in units of squared distance).
    a, b : tensor of shape (m,), (n,), optional
        Weights summing to one; uniform when omitted.
    max_iter : int
        Maximal number of Sinkhorn iterations (one iteration updates ``f`` then ``g``).
    tol : float
        Stop when the row marginal error :math:`\|\pi 1 - a\|_1` is at most ``tol``.
    warn : bool
        Warn with :class:`~fairerm.exceptions.ConvergenceWarning` if ``tol`` was not reached.

    Returns
    -------
    EntropicOTResult
    """
    torch = require_torch()
    x, z = _check_pair(x, z)
    if not (np.isscalar(epsilon) and np.isfinite(epsilon) and epsilon > 0):
        raise FairermValueError(f"epsilon must be a positive finite number; got {epsilon!r}.")
    eps = float(epsilon)
    m, n = x.shape[0], z.shape[0]
    symmetric = x is z and a is None and b is None  # OT(a, a): f = g, averaged updates
    a = torch.full((m,), 1.0 / m, dtype=x.dtype, device=x.device) if a is None else torch.as_tensor(a).to(x)
    b = torch.full((n,), 1.0 / n, dtype=x.dtype, device=x.device) if b is None else torch.as_tensor(b).to(x)
    log_a, log_b = a.log(), b.log()
    cost = squared_distances(x, z)
    with torch.no_grad():
        _, v, n_iter, error = _sinkhorn_iterations(-cost.detach() / eps, log_a, log_b, a, symmetric, max_iter, tol)
        g = eps * v
    converged = error <= tol
    if warn and not converged:
        warnings.warn(
            f"entropic_ot: Sinkhorn stopped after max_iter={max_iter} iterations with marginal error "
            f"{error:.3g} > tol={tol:g} (epsilon={eps:g}); increase max_iter or epsilon.",
            ConvergenceWarning,
            stacklevel=2,
        )
    f_diff = _softmin(eps, cost, log_b, g)  # differentiable in the points through `cost`
    value = (a * f_diff).sum() + (b * g).sum()
    plan = (log_a[:, None] + log_b[None, :] + (f_diff[:, None] + g[None, :] - cost) / eps).exp()
    return EntropicOTResult(
        value=value,
        transport_cost=(plan * cost).sum(),
        f=f_diff.detach(),
        g=g,
        n_iter=n_iter,
        marginal_error=error,
        converged=converged,
    )


def sinkhorn_divergence(
    x: Any,
    z: Any,
    epsilon: float | None = None,
    *,
    max_iter: int = 1000,
    tol: float = 1e-6,
    warn: bool = True,
) -> Any:
    r"""Debiased Sinkhorn divergence between two uniform empirical measures (differentiable).

    .. math::

        S_\varepsilon(x, z) = \mathrm{OT}_\varepsilon(x, z)
            - \tfrac12 \mathrm{OT}_\varepsilon(x, x) - \tfrac12 \mathrm{OT}_\varepsilon(z, z),

    with :math:`\mathrm{OT}_\varepsilon` the KL-regularised transport of :func:`entropic_ot`
    (squared Euclidean cost). :math:`S_\varepsilon \ge 0`, with equality iff the measures are equal.

    Parameters
    ----------
    x, z : tensor or array-like of shape (m, d), (n, d)
        The two samples (uniform weights).
    epsilon : float, optional
        :math:`\varepsilon > 0`. ``None``: ``0.1 * median_bandwidth(x, z) ** 2`` (scale-aware).
    max_iter, tol, warn
        Passed to :func:`entropic_ot` for each of the three problems.

    Returns
    -------
    tensor of shape ()

    References
    ----------
    Feydy et al., AISTATS 2019; Oneto et al., NeurIPS 2020.
    """
    x, z = _check_pair(x, z)
    if epsilon is None:
        epsilon = default_epsilon(x, z)
    options = dict(max_iter=max_iter, tol=tol, warn=warn)
    cross = entropic_ot(x, z, epsilon, **options).value
    self_x = entropic_ot(x, x, epsilon, **options).value  # `x is x`: symmetric iterations
    self_z = entropic_ot(z, z, epsilon, **options).value
    return cross - 0.5 * (self_x + self_z)


def pairwise_group_divergence(
    representation: Any,
    group_codes: Any,
    divergence: Callable[[Any, Any], Any],
    *,
    min_group_size: int = 2,
) -> tuple[Any, int]:
    r"""Mean divergence over all pairs of groups present in a sample.

    :math:`\frac{1}{|P|} \sum_{(g, g') \in P} D(h \mid S = g,\ h \mid S = g')`, where :math:`P`
    holds the pairs :math:`g < g'` of groups with at least ``min_group_size`` points here. With
    two groups this is :math:`D(h \mid a, h \mid b)`.

    Returns
    -------
    (tensor or None, int)
        The mean divergence (``None`` if no pair qualifies) and the number of pairs.
    """
    torch = require_torch()
    codes = torch.as_tensor(group_codes, device=representation.device)
    present = [int(g) for g in torch.unique(codes).tolist() if int((codes == g).sum()) >= min_group_size]
    total, n_pairs = None, 0
    for position, first in enumerate(present):
        for second in present[position + 1 :]:
            value = divergence(representation[codes == first], representation[codes == second])
            total = value if total is None else total + value
            n_pairs += 1
    if n_pairs == 0:
        return None, 0
    return total / n_pairs, n_pairs
