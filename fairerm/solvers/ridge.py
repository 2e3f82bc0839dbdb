r"""Fair ridge regression: squared loss under FERM's scalar-product demographic-parity constraint.

With a linear model :math:`f(x) = \langle w, x\rangle + b`, the difference between the mean
prediction of group :math:`g` and a reference (the other group, or the pooled sample when
there are more than two groups) is :math:`\langle w, u_g\rangle`, where :math:`u_g = C_g X` is
the same difference of feature means (the intercept cancels; Donini et al. 2018). Fair ridge solves

.. math::

    \min_{w, b}\; \|y - Xw - b\mathbf 1\|_2^2 + \lambda \|w\|_2^2
    \quad\text{s.t.}\quad |\langle w, u_j\rangle| \le \epsilon, \; j = 1, \dots, k,

with :math:`\lambda > 0` (``alpha``), :math:`U = [u_1, \dots, u_k]^\top = C X` the constraint
vectors of :class:`fairerm.constraints.DemographicParity`. Centring removes :math:`b`
(:math:`b = \bar y - \langle w, \bar x\rangle`, and :math:`C \mathbf 1 = 0` so :math:`U` is
unchanged). With :math:`A = X_c^\top X_c + \lambda I` and :math:`c = X_c^\top y_c`, the KKT
conditions give :math:`w(\mu) = A^{-1}(c - U^\top \mu)` for multipliers :math:`\mu \in
\mathbb R^k`, and :math:`\mu` solves the small dual

.. math::

    \min_{\mu \in \mathbb R^k}\; \tfrac12 \mu^\top M \mu - \mu^\top U w_0 + \epsilon \|\mu\|_1,
    \qquad M = U A^{-1} U^\top, \; w_0 = A^{-1} c,

(a :math:`k`-dimensional lasso; :math:`\mu_j > 0` where :math:`\langle w, u_j\rangle = \epsilon`,
:math:`\mu_j < 0` where it is :math:`-\epsilon`). Exact paths:

* :math:`\epsilon = 0` (``method="projection"``: :math:`w \perp \mathrm{span}(u_1, \dots, u_k)`):
  the equalities :math:`Uw = 0` give :math:`M\mu = Uw_0`, solved on the range of :math:`M` (dependent
  rows, e.g. :math:`G > 2` groups, have a zero eigenvalue there);
* one constraint (two groups): :math:`\mu = \mathrm{sign}(b)\max(|b| - \epsilon, 0) / M` with
  :math:`b = \langle u, w_0\rangle`, so the active constraint is met exactly;
* several constraints: cyclic coordinate descent on the dual, then the active set it finds is
  solved exactly (:math:`M_{JJ}\mu_J = (Uw_0)_J - \epsilon\,\mathrm{sign}(\mu_J)`) and the KKT
  conditions are checked.

**Memory.** :math:`A^{-1}` is applied to the :math:`k + 1` vectors :math:`c, u_1, \dots, u_k` only:
through a Cholesky factor of :math:`A` (:math:`d \times d`) when :math:`d \le n`, and through the
Woodbury identity :math:`A^{-1} = \lambda^{-1}\big(I - X_c^\top(\lambda I + X_cX_c^\top)^{-1}X_c\big)`,
an :math:`n \times n` factor, when :math:`d > n`. Either is checked against the available memory
before it is formed; no :math:`d \times d` matrix is built for wide data.

References
----------
M. Donini, L. Oneto, S. Ben-David, J. Shawe-Taylor, M. Pontil. "Empirical Risk Minimization
Under Fairness Constraints". NeurIPS 2018. arXiv:1802.08626.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from .._memory import check_memory

__all__ = ["FairRidgeSolution", "solve_fair_ridge"]


@dataclass(frozen=True)
class FairRidgeSolution:
    """Result of :func:`solve_fair_ridge`.

    Attributes
    ----------
    coef : ndarray of shape (n_features,)
        :math:`w`.
    intercept : float
        :math:`b` (zero without an intercept).
    multipliers : ndarray of shape (n_constraints,)
        :math:`\\mu`; nonzero entries mark active constraints.
    constraint_values : ndarray of shape (n_constraints,)
        :math:`U w`, each within :math:`[-\\epsilon, \\epsilon]` at the optimum.
    method : str
        ``"projection"``, ``"closed_form"``, ``"active_set"`` or ``"coordinate_descent"``.
    n_iter : int
        Coordinate-descent sweeps (0 for the closed forms).
    converged : bool
    """

    coef: np.ndarray
    intercept: float
    multipliers: np.ndarray
    constraint_values: np.ndarray
    method: str
    n_iter: int
    converged: bool


def _soft_threshold(value: float, threshold: float) -> float:
    return float(np.sign(value) * max(abs(value) - threshold, 0.0))


def _dual_coordinate_descent(M: np.ndarray, b: np.ndarray, epsilon: float, tol: float, max_iter: int):
    """Cyclic coordinate descent on ``1/2 mu'M mu - mu'b + eps |mu|_1``; returns (mu, sweeps, converged)."""
    mu = np.zeros_like(b)
    diag = np.diag(M)
    for sweep in range(1, max_iter + 1):
        largest_step = 0.0
        for j in np.flatnonzero(diag > 0):
            residual = b[j] - M[j] @ mu + diag[j] * mu[j]
            new = _soft_threshold(residual, epsilon) / diag[j]
            largest_step = max(largest_step, abs(new - mu[j]) * np.sqrt(diag[j]))
            mu[j] = new
        if largest_step <= tol:
            return mu, sweep, True
    return mu, max_iter, False


def _polish_active_set(M, b, epsilon, mu, U, w_of, tol):
    """Solve the equality system of the active set that ``mu`` suggests; None if KKT fails."""
    active = np.flatnonzero(mu != 0.0)
    polished = np.zeros_like(mu)
    if active.size:
        signs = np.sign(mu[active])
        rhs = b[active] - epsilon * signs
        polished[active] = np.linalg.lstsq(M[np.ix_(active, active)], rhs, rcond=None)[0]
        if np.any(signs * polished[active] < -tol):
            return None
    w = w_of(polished)
    if np.any(np.abs(U @ w) > epsilon + tol * max(1.0, epsilon)):
        return None
    return polished, w


class _RidgeInverse:
    r"""Apply :math:`A^{-1} = (X_c^\top X_c + \lambda I)^{-1}` without forming it for wide data."""

    def __init__(self, Xc: np.ndarray, alpha: float):
        n, d = Xc.shape
        self.Xc, self.alpha = Xc, alpha
        self.wide = d > n
        size = n if self.wide else d
        check_memory(2 * 8.0 * size * size, f"Fair ridge's {size} x {size} normal equations (n = {n}, d = {d})",
                     "Use fewer features or samples, or a linear SVM (FairLinearSVC) for very large problems.")
        gram = Xc @ Xc.T if self.wide else Xc.T @ Xc
        gram[np.diag_indices(size)] += alpha
        self.factor = scipy.linalg.cho_factor(gram, overwrite_a=True)

    def __call__(self, V: np.ndarray) -> np.ndarray:
        if not self.wide:
            return scipy.linalg.cho_solve(self.factor, V)
        return (V - self.Xc.T @ scipy.linalg.cho_solve(self.factor, self.Xc @ V)) / self.alpha


def solve_fair_ridge(
    X: np.ndarray,
    y: np.ndarray,
    U: np.ndarray,
    *,
    alpha: float,
    epsilon: float,
    fit_intercept: bool = True,
    tol: float = 1e-12,
    max_iter: int = 10_000,
    rank_rtol: float = 1e-12,
) -> FairRidgeSolution:
    r"""Solve fair ridge regression (see the module docstring) on clean arrays.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    U : ndarray of shape (n_constraints, n_features)
        Constraint vectors; must satisfy :math:`U = C X` with :math:`C\mathbf 1 = 0` for the
        intercept to cancel (true for :class:`fairerm.constraints.DemographicParity`).
    alpha : float > 0
        Ridge penalty :math:`\lambda`.
    epsilon : float >= 0
        Tolerance :math:`\epsilon`.
    fit_intercept : bool
    tol, max_iter
        Coordinate descent (only with several constraints and :math:`\epsilon > 0`).
    rank_rtol : float
        Eigenvalues of :math:`M` below ``rank_rtol`` times the largest are zero (dependent rows).

    Returns
    -------
    FairRidgeSolution

    Raises
    ------
    MemoryBudgetError
        When the :math:`\min(n, d)^2` normal equations would not fit in memory.
    """
    x_mean = X.mean(axis=0) if fit_intercept else np.zeros(X.shape[1])
    y_mean = float(y.mean()) if fit_intercept else 0.0
    Xc, yc = X - x_mean, y - y_mean
    inverse = _RidgeInverse(Xc, alpha)
    w0 = inverse(Xc.T @ yc)
    AinvUt = inverse(np.ascontiguousarray(U.T))
    M = U @ AinvUt
    M = 0.5 * (M + M.T)
    b = U @ w0

    def w_of(mu: np.ndarray) -> np.ndarray:
        return w0 - AinvUt @ mu

    def finish(w, mu, method, n_iter=0, converged=True):
        return FairRidgeSolution(w, y_mean - float(x_mean @ w), mu, U @ w, method, n_iter, converged)

    if epsilon == 0.0:
        # U w = 0: M mu = U w0, which lies in the range of M (= the range of U); solve there.
        eigval, eigvec = np.linalg.eigh(M)
        keep = eigval > rank_rtol * max(float(eigval.max(initial=0.0)), np.finfo(float).tiny)
        mu = eigvec[:, keep] @ ((eigvec[:, keep].T @ b) / eigval[keep])
        return finish(w_of(mu), mu, "projection")
    if U.shape[0] == 1:
        mu = np.array([_soft_threshold(b[0], epsilon) / M[0, 0]]) if M[0, 0] > 0 else np.zeros(1)
        return finish(w_of(mu), mu, "closed_form")
    scale = np.sqrt(max(float(np.max(np.diag(M))), np.finfo(float).tiny))
    mu, n_iter, converged = _dual_coordinate_descent(M, b, epsilon, tol * max(1.0, np.abs(b).max() / scale), max_iter)
    polished = _polish_active_set(M, b, epsilon, mu, U, w_of, 1e-9)
    if polished is not None:
        return finish(polished[1], polished[0], "active_set", n_iter, True)
    return finish(w_of(mu), mu, "coordinate_descent", n_iter, converged)
