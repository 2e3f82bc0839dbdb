r"""The independent optimality certificate: primal and dual objectives recomputed from the returned point.

Primal (hinge FERM, :mod:`fairerm.problem`) at the returned :math:`(w, b)`:

.. math:: P = \tfrac12\|w\|^2 + \sum_i c_i\,\big(1 - y_i(\langle w,\phi(x_i)\rangle + b)\big)_+ .

Dual at the returned multipliers :math:`(\alpha, \mu)`, first made feasible: :math:`\alpha'` is the
Euclidean projection of :math:`\alpha` onto :math:`\{0\le\alpha\le c,\ y^\top\alpha = 0\}` (the
Lagrangian is unbounded below in :math:`b` unless :math:`y^\top\alpha = 0`), then

.. math:: D = -\tfrac12\|w(\alpha',\mu)\|^2 + \mathbf 1^\top\alpha' - \epsilon\|\mu\|_1 + c^{u\top}\mu,\qquad
          w(\alpha,\mu) = \sum_i\alpha_iy_i\phi(x_i) - \sum_j\mu_ju_j .

For a convex problem weak duality gives :math:`D \le P^\star`, and :math:`P^\star \le P` when
:math:`|\langle w, u_j\rangle + c^u_j| \le \epsilon` (:math:`c^u`: the problem's constraint offsets, zero
for the linear-loss constraint); so the relative gap :math:`(P - D)/\max(|P|,|D|)` bounds
how far the returned objective is from the optimum. Kernel problems never form :math:`K`: the scores
:math:`K\beta` of the returned expansion are recomputed from the data by blocks
(:meth:`fairerm.problem.KernelFermProblem.kernel_times`), and for the projected dual the change
:math:`\Delta = \sum_i(\alpha'_i - \alpha_i)y_i\phi(x_i)` enters through
:math:`\|w+\Delta\|^2 \le \|w\|^2 + 2\langle w,\Delta\rangle + (\sum_i|\alpha'_i-\alpha_i|\sqrt{k(x_i,x_i)})^2`,
which keeps :math:`D` a valid lower bound.
"""

from __future__ import annotations

import numpy as np

from ..problem import KernelFermProblem, LinearFermProblem, dual_objective, hinge_primal_objective
from ._constraint_space import live_constraints
from ._solution import Certificate

__all__ = ["DEFAULT_GAP_TOL", "project_dual", "certify"]

#: Relative duality gap at which a point is certified optimal: its objective is then within
#: :math:`5\cdot 10^{-5}` (relative) of the optimum.
DEFAULT_GAP_TOL = 5e-5


def project_dual(alpha: np.ndarray, y: np.ndarray, upper: np.ndarray, *, max_iter: int = 200) -> np.ndarray:
    r"""Euclidean projection of :math:`\alpha` onto :math:`\{0 \le \alpha \le c,\ y^\top\alpha = 0\}`.

    The projection is :math:`\operatorname{clip}(\alpha - \lambda y, 0, c)` with :math:`\lambda` the
    root of the non-increasing piecewise-linear :math:`g(\lambda) = y^\top\operatorname{clip}(\alpha -
    \lambda y, 0, c)`, found by bracketing and bisection (a no-op when :math:`y^\top\alpha = 0`).
    """
    alpha = np.clip(alpha, 0.0, upper)
    residual = float(y @ alpha)
    scale = float(np.sum(upper))
    if abs(residual) <= 1e-15 * scale:
        return alpha

    def g(lam: float) -> float:
        return float(y @ np.clip(alpha - lam * y, 0.0, upper))

    step = residual / max(np.count_nonzero(upper), 1)
    lo, hi = (0.0, step) if residual > 0 else (step, 0.0)
    for _ in range(200):  # widen until the root is bracketed: g(lo) >= 0 >= g(hi)
        if g(lo) >= 0.0 >= g(hi):
            break
        lo, hi = (lo, 2.0 * hi) if residual > 0 else (2.0 * lo, hi)
    for _ in range(max_iter):
        mid = 0.5 * (lo + hi)
        value = g(mid)
        if abs(value) <= 1e-15 * scale or hi - lo <= 1e-18 * max(1.0, abs(mid)):
            break
        lo, hi = (mid, hi) if value > 0 else (lo, mid)
    return np.clip(alpha - 0.5 * (lo + hi) * y, 0.0, upper)


def _relative(primal: float, dual: float) -> float:
    denominator = max(abs(primal), abs(dual), np.finfo(float).tiny)
    return max(primal - dual, 0.0) / denominator if np.isfinite(primal) and np.isfinite(dual) else np.inf


def _violation_tol(problem, w_norm: float) -> float:
    r"""Round-off allowance on :math:`|\langle w,u_j\rangle| - \epsilon`: :math:`10^{-9}` of its natural scale.

    The scale is :math:`\max_j\|u_j\|\,\|w\|`, with :math:`\|w\|` floored at :math:`10^{-6}\sqrt{2\sum_i c_i}`
    (:math:`\sqrt{2\sum_i c_i}` bounds :math:`\|w^\star\|`, the objective at :math:`w = 0` being
    :math:`\sum_i c_i`): when the constraints force :math:`w \approx 0`, its direction is round-off.
    """
    w_scale = max(w_norm, 1e-6 * float(np.sqrt(2.0 * np.sum(problem.upper))))
    scale = float(np.max(problem.constraint_norms, initial=0.0)) * w_scale
    return 1e-9 * max(scale, problem.epsilon, np.finfo(float).tiny)


def certify(problem: LinearFermProblem | KernelFermProblem, primal: np.ndarray, intercept: float,
            alpha: np.ndarray, mu: np.ndarray, scores: np.ndarray, *, gap_tol: float = DEFAULT_GAP_TOL,
            convex: bool = True) -> tuple[Certificate, float]:
    r"""The certificate of a returned point; also returns :math:`\|w\|^2`.

    ``primal`` is :math:`w` (linear) or :math:`\beta` (kernel); ``scores`` are
    :math:`\langle w, \phi(x_i)\rangle` without intercept, computed from the data by the caller.
    """
    y, upper, epsilon, offset = problem.y, problem.upper, problem.epsilon, problem.constraint_offset
    if problem.kind == "linear":
        w_norm_sq = float(primal @ primal)
        values = problem.U @ primal
    else:
        w_norm_sq = float(primal @ scores)
        values = problem.constraint_weights @ scores
    primal_value = hinge_primal_objective(w_norm_sq, scores + intercept, y, upper)
    feasible_alpha = project_dual(alpha, y, upper)
    if problem.kind == "linear":
        w_dual = problem.weight_from_duals(feasible_alpha, mu)
        dual_value = dual_objective(w_dual @ w_dual, feasible_alpha, mu, epsilon, offset)
    else:
        change = feasible_alpha - alpha
        bound = w_norm_sq
        if np.any(change):
            moved = np.flatnonzero(change)
            cross = float((change[moved] * y[moved]) @ scores[moved])
            spread = float(np.abs(change[moved]) @ np.sqrt(np.maximum(problem.diagonal[moved], 0.0)))
            bound = w_norm_sq + 2.0 * cross + spread * spread
        dual_value = dual_objective(bound, feasible_alpha, mu, epsilon, offset)
    live = live_constraints(problem)  # a round-off u_j is u_j = 0: it holds for every w
    violation = float(np.max(np.abs(values[live] + offset[live]) - epsilon, initial=0.0))
    # a round-off row with an offset outside [-eps, eps] holds for no w
    violation = max(violation, float(np.max(np.abs(offset[~live]) - epsilon, initial=0.0)))
    certificate = Certificate(
        primal_objective=float(primal_value), dual_objective=float(dual_value),
        duality_gap=float(primal_value - dual_value), relative_gap=_relative(primal_value, dual_value),
        max_violation=max(violation, 0.0), gap_tol=float(gap_tol),
        violation_tol=_violation_tol(problem, np.sqrt(max(w_norm_sq, 0.0))), convex=convex)
    return certificate, w_norm_sq
