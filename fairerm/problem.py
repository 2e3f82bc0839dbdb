r"""The FERM hinge-loss problem as plain data, and the quantities every solver shares.

Primal (Donini et al. 2018, eq. (8) with the hinge loss and the linear-loss constraint):

.. math::

    \min_{w, b, \xi}\; \tfrac12 \|w\|^2 + \sum_{i=1}^n c_i \xi_i
    \quad\text{s.t.}\quad y_i(\langle w, \phi(x_i)\rangle + b) \ge 1 - \xi_i,\;\; \xi_i \ge 0,\;\;
    -\epsilon \le \langle w, u_j \rangle \le \epsilon \;\; (j = 1..k),

with :math:`c_i = C` (or :math:`C` times a sample weight), :math:`y_i \in \{-1, +1\}` and
:math:`u_j = \sum_i C^{u}_{ji} \phi(x_i)` given by a weight matrix :math:`C^u` (see
:mod:`fairerm.constraints`).

Dual (derived in :func:`dual_objective`): with :math:`Q_{il} = y_i y_l K_{il}`,
:math:`B = \operatorname{diag}(y) K C^{u\top}` and :math:`M = C^u K C^{u\top}`,

.. math::

    \min_{\alpha, \mu}\; \tfrac12 \alpha^\top Q \alpha - \mu^\top B^\top \alpha
    + \tfrac12 \mu^\top M \mu - \mathbf 1^\top \alpha + \epsilon \|\mu\|_1
    \quad\text{s.t.}\quad 0 \le \alpha_i \le c_i,\;\; y^\top \alpha = 0,

and :math:`w = \sum_i \alpha_i y_i \phi(x_i) - \sum_j \mu_j u_j`. Writing
:math:`\beta = y \circ \alpha - C^{u\top} \mu` (the *expansion coefficients*), the quadratic
part is :math:`\tfrac12 \beta^\top K \beta = \tfrac12\|w\|^2` and the decision function is
:math:`f(x) = \sum_i \beta_i K(x_i, x) + b`. The sign convention: :math:`\mu_j > 0` exactly when
:math:`\langle w, u_j\rangle = +\epsilon` is active.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "LinearFermProblem",
    "KernelFermProblem",
    "hinge_primal_objective",
    "dual_objective",
    "optimal_intercept",
]


@dataclass
class LinearFermProblem:
    """Linear FERM: :math:`\\phi(x) = x`, constraint vectors :math:`U = C^u X`.

    Attributes
    ----------
    X : ndarray (n, d) or scipy.sparse CSR matrix
    y : ndarray (n,) of +/-1
    upper : ndarray (n,), the per-sample box :math:`c_i`
    constraint_weights : ndarray (k, n)
    epsilon : float
    """

    X: np.ndarray
    y: np.ndarray
    upper: np.ndarray
    constraint_weights: np.ndarray
    epsilon: float
    U: np.ndarray = field(init=False)

    def __post_init__(self):
        self.U = np.asarray(self.constraint_weights @ self.X)

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def n_constraints(self) -> int:
        return self.constraint_weights.shape[0]


@dataclass
class KernelFermProblem:
    """Kernel FERM on a precomputed (dense) Gram matrix ``K``; used by the QP solvers.

    The fast solvers never build ``K``; they take the data and a kernel specification.
    """

    K: np.ndarray
    y: np.ndarray
    upper: np.ndarray
    constraint_weights: np.ndarray
    epsilon: float

    @property
    def n_samples(self) -> int:
        return self.K.shape[0]

    @property
    def n_constraints(self) -> int:
        return self.constraint_weights.shape[0]


def hinge_primal_objective(w_norm_sq: float, decision_values: np.ndarray, y: np.ndarray, upper: np.ndarray) -> float:
    """:math:`\\tfrac12\\|w\\|^2 + \\sum_i c_i \\max(0, 1 - y_i f(x_i))` for a given model."""
    return 0.5 * float(w_norm_sq) + float(np.sum(upper * np.maximum(0.0, 1.0 - y * decision_values)))


def dual_objective(beta_K_beta: float, alpha: np.ndarray, mu: np.ndarray, epsilon: float) -> float:
    """Dual objective written as a *maximisation* so that weak duality reads primal >= dual.

    Minimising the Lagrangian over :math:`(w, b, \\xi)` at :math:`w = \\sum_i \\beta_i\\phi(x_i)`
    leaves :math:`-\\tfrac12 \\beta^\\top K \\beta + \\mathbf 1^\\top\\alpha - \\epsilon\\|\\mu\\|_1`.
    """
    return -0.5 * float(beta_K_beta) + float(np.sum(alpha)) - float(epsilon) * float(np.sum(np.abs(mu)))


def optimal_intercept(f_without_intercept: np.ndarray, y: np.ndarray, upper: np.ndarray) -> float:
    """The intercept that minimises the primal objective for a fixed :math:`w`.

    With :math:`t_i = y_i - f_i` (``f`` without intercept) the hinge part is

    .. math:: h(b) = \\sum_{y_i=+1} c_i (t_i - b)_+ + \\sum_{y_i=-1} c_i (b - t_i)_+,

    convex and piecewise linear with right derivative
    :math:`-\\sum_{y_i=+1, t_i > b} c_i + \\sum_{y_i=-1, t_i \\le b} c_i`. We return a point where
    zero lies in the subdifferential (the midpoint of the optimal interval when it is not a
    single point), so every dual solver shares one exact, solver-independent intercept. When
    ``w`` is the optimal weight vector this ``b`` is an optimal intercept of the primal.
    """
    t = y - f_without_intercept
    order = np.argsort(t, kind="stable")
    t_sorted, y_sorted, c_sorted = t[order], y[order], upper[order]
    # Right derivative just after the k-th breakpoint (k = 0..n-1), and before the first one.
    pos_weight = np.where(y_sorted > 0, c_sorted, 0.0)
    neg_weight = np.where(y_sorted < 0, c_sorted, 0.0)
    total_pos = pos_weight.sum()
    slope_after = -(total_pos - np.cumsum(pos_weight)) + np.cumsum(neg_weight)
    slope_before_first = -total_pos
    if slope_before_first >= 0:  # no positive weight at all: any b <= t_min is optimal
        return float(t_sorted[0] - 1.0)
    k = int(np.searchsorted(slope_after, 0.0, side="left"))  # first breakpoint whose right slope >= 0
    if k >= len(t_sorted):  # only negatives weigh: any b >= t_max
        return float(t_sorted[-1] + 1.0)
    if slope_after[k] > 0 or k + 1 >= len(t_sorted):
        return float(t_sorted[k])
    # slope exactly zero on (t_k, t_{k+1}]: every point there is optimal; take the midpoint
    # of the maximal flat stretch.
    j = k
    while j + 1 < len(t_sorted) and slope_after[j + 1] == 0:
        j += 1
    upper_end = t_sorted[j + 1] if j + 1 < len(t_sorted) else t_sorted[j]
    return float(0.5 * (t_sorted[k] + upper_end))
