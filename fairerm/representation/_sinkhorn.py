r"""Entropic optimal transport and the debiased Sinkhorn divergence (PyTorch, log domain).

The formulas, the envelope-theorem gradient and the meaning of weights are in the docstring of
:mod:`fairerm.representation._divergences`, which re-exports these names.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..exceptions import ConvergenceWarning, FairermValueError
from ._backend import require_torch
from ._divergences import _check_pair, _records_graph, check_pairwise_memory, check_weights, default_epsilon, squared_distances

__all__ = ["EntropicOTResult", "entropic_ot", "sinkhorn_divergence"]


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
    x, z = _check_pair(x, z)
    m, n = x.shape[0], z.shape[0]
    # Measured peak (float64): 4 m x n matrices without a graph (the cost, -C/eps and the log-sum-exp
    # temporaries), about twice that with one.
    check_pairwise_memory((8 if _records_graph(x, z) else 4) * m * n, x,
                          f"Entropic OT between samples of {m} and {n} points (its {m} x {n} cost matrix and "
                          "temporaries)")
    return _entropic_ot(x, z, epsilon, a=a, b=b, max_iter=max_iter, tol=tol, warn=warn)


def _entropic_ot(x: Any, z: Any, epsilon: float, *, a: Any, b: Any, max_iter: int, tol: float,
                 warn: bool) -> EntropicOTResult:
    """:func:`entropic_ot` on checked samples, without the memory check (done by the caller)."""
    torch = require_torch()
    if not (np.isscalar(epsilon) and np.isfinite(epsilon) and epsilon > 0):
        raise FairermValueError(f"epsilon must be a positive finite number; got {epsilon!r}.")
    eps = float(epsilon)
    m, n = x.shape[0], z.shape[0]
    symmetric = x is z and a is b  # OT(a, a): f = g, averaged updates
    a = torch.full((m,), 1.0 / m, dtype=x.dtype, device=x.device) if a is None else torch.as_tensor(a).to(x)
    b = a if symmetric else (torch.full((n,), 1.0 / n, dtype=x.dtype, device=x.device) if b is None else torch.as_tensor(b).to(x))
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
    x_weights: Any = None,
    z_weights: Any = None,
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
        The two samples.
    epsilon : float, optional
        :math:`\varepsilon > 0`. ``None``: ``median_bandwidth(x, z) ** 2`` (scale-aware; with
        weights, the weighted median).
    x_weights, z_weights : array-like of shape (m,), (n,), optional
        Non-negative frequency weights (normalised to the marginals :math:`a, b`); ``None``: uniform.
    max_iter, tol, warn
        Passed to :func:`entropic_ot` for each of the three problems.

    Returns
    -------
    tensor of shape ()

    References
    ----------
    Feydy et al., AISTATS 2019; Oneto et al., NeurIPS 2020.
    """
    same = x is z and x_weights is z_weights
    x, z = _check_pair(x, z)
    if same:
        z = x
    wx = check_weights(x_weights, x.shape[0], "x_weights", x)
    wz = wx if same else check_weights(z_weights, z.shape[0], "z_weights", x)
    if wx is not None:  # a zero weight removes the point (and log 0 from the iterations)
        x, wx = x[wx > 0], wx[wx > 0]
    if same:
        z, wz = x, wx
    elif wz is not None:
        z, wz = z[wz > 0], wz[wz > 0]
    a, b = _normalised(wx, "x_weights"), (None if wz is None else (_normalised(wz, "z_weights")))
    if same:
        b = a
    m, n = x.shape[0], z.shape[0]
    # Measured peak (float64): without a graph, the 4 matrices of the largest of the three problems
    # (4 max(m, n)^2); with one, each problem's graph stays until the end (10 n^2 at m = n, 7.9 max^2 at
    # m = 2000, n = 6000).
    largest = max(m, n) ** 2
    entries = 2 * (m * m + n * n + m * n) + 6 * largest if _records_graph(x, z) else 4 * largest
    check_pairwise_memory(entries, x, f"The Sinkhorn divergence between samples of {m} and {n} points (its {m} x {n}, "
                          f"{m} x {m} and {n} x {n} cost matrices and temporaries)")
    if epsilon is None:
        epsilon = default_epsilon(x, z, weights=None if wx is None and wz is None else [wx, wz])
    options = dict(max_iter=max_iter, tol=tol, warn=warn)
    cross = _entropic_ot(x, z, epsilon, a=a, b=b, **options).value
    self_x = _entropic_ot(x, x, epsilon, a=a, b=a, **options).value  # `x is x`, `a is a`: symmetric iterations
    self_z = _entropic_ot(z, z, epsilon, a=b, b=b, **options).value
    return cross - 0.5 * (self_x + self_z)


def _normalised(weights: Any, name: str) -> Any:
    """Frequency weights as marginals ``w / sum(w)`` (``None`` stays ``None``: uniform)."""
    if weights is None:
        return None
    total = float(weights.sum())
    if weights.shape[0] == 0 or total <= 0.0:
        raise FairermValueError(f"{name} sum to 0; at least one point needs a positive weight.")
    return weights / total
