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
:math:`\mu_j < 0` where it is :math:`-\epsilon`). With :math:`G > 2` groups the :math:`G` rows span
:math:`G - 1` dimensions (:math:`\sum_g p_g u_g = 0`), so :math:`M` is singular and this dual is flat
along its null direction (coordinate descent on it crawls there). Every path therefore works on the
row space: :math:`U = PU_r` with :math:`P` (k, r) and :math:`U_r` (r, d) of full rank :math:`r` (from the SVD
of the column-scaled rows, :class:`~fairerm.solvers._constraint_space.RowSpace`, which decides the rank),
:math:`w = w_0 - A^{-1}U_r^\top\nu`, :math:`M_r = U_rA^{-1}U_r^\top` positive definite and the gaps
:math:`Uw = Pz` with :math:`z = z_0 - M_r\nu`, :math:`z_0 = U_rw_0`. Exact paths:

* :math:`\epsilon = 0` (``method="projection"``: :math:`w \perp \mathrm{span}(u_1, \dots, u_k)`):
  :math:`z = 0`, i.e. :math:`M_r\nu = z_0`;
* one constraint (two groups): :math:`\mu = \mathrm{sign}(b)\max(|b| - \epsilon, 0) / M` with
  :math:`b = \langle u, w_0\rangle`, so the active constraint is met exactly;
* several constraints (``method="active_set"``): the primal problem in :math:`z`,
  :math:`\min \tfrac12(z - z_0)^\top M_r^{-1}(z - z_0)` s.t. :math:`|P_jz| \le \epsilon`, by a primal
  active-set method from the feasible :math:`z = 0` (finite; each equality problem is
  :math:`M_{WW}\lambda = (Uw_0)_W - \epsilon\sigma_W` on linearly independent rows :math:`W`, so a row
  that only touches a vertex never enters).

Whatever the path, ``converged`` is a certificate: :math:`Uw` is recomputed from the returned
:math:`w` and the bounds, complementarity and the multipliers' signs are checked with tolerances
relative to :math:`\epsilon` and to the scale of the gaps (:class:`FairRidgeSolution`); the fit is
equivariant in the units of :math:`y` (:math:`y, \epsilon \to cy, c\epsilon` gives :math:`w, b \to cw, cb`).

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
from ._constraint_space import RowSpace

__all__ = ["FairRidgeSolution", "solve_fair_ridge"]


@dataclass(frozen=True)
class FairRidgeSolution:
    r"""Result of :func:`solve_fair_ridge`.

    Attributes
    ----------
    coef : ndarray of shape (n_features,)
        :math:`w`.
    intercept : float
        :math:`b` (zero without an intercept).
    multipliers : ndarray of shape (n_constraints,)
        :math:`\mu`; nonzero entries mark active constraints.
    constraint_values : ndarray of shape (n_constraints,)
        :math:`U w`, each within :math:`[-\epsilon, \epsilon]` at the optimum.
    method : str
        ``"projection"``, ``"closed_form"`` or ``"active_set"``.
    n_iter : int
        Active-set iterations (0 for the closed forms).
    converged : bool
        The certificate: every measured condition below is within ``tolerance`` (and the
        active-set method stopped at its optimality test, not at ``max_iter``).
    max_violation : float
        :math:`\max_j(|\langle w, u_j\rangle| - \epsilon)_+`, measured as :math:`Uw` from ``coef``.
    complementarity : float
        :math:`\max_{j:\mu_j\ne0}(\epsilon - |\langle w, u_j\rangle|)_+`: how far a row with a multiplier is from
        its bound (measured).
    sign_violation : float
        :math:`\max_{j:\mu_j\ne0}(-\mathrm{sign}\langle w, u_j\rangle\,\mu_j)_+ / \max_j|\mu_j|` (relative; a
        multiplier must push towards its bound). Zero when :math:`\epsilon = 0` (the multipliers are free).
    tolerance : float
        Allowed ``max_violation`` and ``complementarity``: :math:`10^{-9}\epsilon` plus :math:`10^{-12}` times
        the size of the gaps' terms (:math:`\max(\|Uw_0\|_\infty, \max_j\sum_k|U_{jk}w_k|)`, the scale of
        round-off), so it scales with ``y`` and ``epsilon``. ``sign_violation`` is allowed :math:`10^{-9}`.
    """

    coef: np.ndarray
    intercept: float
    multipliers: np.ndarray
    constraint_values: np.ndarray
    method: str
    n_iter: int
    converged: bool
    max_violation: float = 0.0
    complementarity: float = 0.0
    sign_violation: float = 0.0
    tolerance: float = 0.0


def _soft_threshold(value: float, threshold: float) -> float:
    return float(np.sign(value) * max(abs(value) - threshold, 0.0))


#: Relative size of round-off in the constraint values :math:`Uw` (a thousand machine epsilons).
_ROUND_OFF = 1e3 * np.finfo(float).eps


def _primal_active_set(P, M_r, z0, epsilon, tol, max_iter):
    r"""Primal active-set method on the reduced problem (module docstring); returns ``(lam, working, z, n_iter, done)``.

    Minimises :math:`\tfrac12 (z - z_0)^\top M_r^{-1}(z - z_0)` subject to :math:`|P_i z| \le \epsilon` for every
    row :math:`P_i` of ``P`` (k, r), from the feasible :math:`z = 0` (Nocedal & Wright, Algorithm 16.3). The working
    set ``working`` holds ``(row, sign)`` pairs whose rows are linearly independent; its equality problem
    :math:`P_Wz = \sigma_W\epsilon` has :math:`z^* = z_0 - M_rP_W^\top\lambda` with
    :math:`(P_WM_rP_W^\top)\lambda = P_Wz_0 - \sigma_W\epsilon`. A constraint blocks a step only when the step's end
    breaks it by more than ``tol`` (relative to :math:`\epsilon` and to the size of :math:`z_0`), so a constraint
    that merely touches a vertex (dependent rows) never enters. ``lam`` are the multipliers of ``working``.
    """
    k = P.shape[0]
    scale = max(float(np.abs(P @ z0).max(initial=0.0)), epsilon)
    block_tol = tol * epsilon + _ROUND_OFF * scale
    sign_tol = 1e-10
    z = np.zeros_like(z0)
    working: list[tuple[int, float]] = []
    lam = np.zeros(0)
    for n_iter in range(1, max_iter + 1):
        if working:
            rows = np.array([i for i, _ in working])
            signs = np.array([sg for _, sg in working])
            PW = P[rows]
            try:
                lam = np.linalg.solve(PW @ M_r @ PW.T, PW @ z0 - signs * epsilon)
            except np.linalg.LinAlgError:  # numerically dependent rows: stop at the (feasible) iterate, uncertified
                return lam, working, z, n_iter, False
            z_star = z0 - M_r @ (PW.T @ lam)
        else:
            rows, signs, lam, z_star = np.zeros(0, dtype=int), np.zeros(0), np.zeros(0), z0.copy()
        v, v_star = P @ z, P @ z_star
        free = np.ones(k, dtype=bool)
        free[rows] = False
        sigma = np.sign(v_star)
        breaks = free & (np.abs(v_star) > epsilon + block_tol)
        if breaks.any():
            idx = np.flatnonzero(breaks)
            slack = epsilon - sigma[idx] * v[idx]
            rise = sigma[idx] * (v_star[idx] - v[idx])
            ratios = np.clip(slack / rise, 0.0, 1.0)
            j = int(np.argmin(ratios))  # ties: the smallest row (Bland)
            z = z + ratios[j] * (z_star - z)
            working.append((int(idx[j]), float(sigma[idx[j]])))
            continue
        z = z_star
        signed = signs * lam
        if signed.size == 0 or signed.min() >= -sign_tol * float(np.abs(lam).max()):
            return lam, working, z, n_iter, True
        working.pop(int(np.argmin(signed)))
    return lam, working, z, max_iter, False


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


#: Relative tolerances of the certificate (see :class:`FairRidgeSolution`).
_FEASIBILITY_RTOL = 1e-9
_ROUND_OFF_RTOL = 1e-12
_SIGN_RTOL = 1e-9


def _certify(U, w, mu, epsilon, b, method, n_iter, stopped, x_mean, y_mean):
    """Measure the KKT conditions of ``(w, mu)`` from ``U @ w`` and package the solution."""
    values = U @ w
    terms = float((np.abs(U) @ np.abs(w)).max(initial=0.0))
    tolerance = _FEASIBILITY_RTOL * epsilon + _ROUND_OFF_RTOL * max(float(np.abs(b).max(initial=0.0)), terms)
    max_violation = float(np.maximum(np.abs(values) - epsilon, 0.0).max(initial=0.0))
    active = mu != 0.0
    complementarity = sign_violation = 0.0
    if epsilon > 0.0 and active.any():
        complementarity = float(np.maximum(epsilon - np.abs(values[active]), 0.0).max())
        wrong = np.maximum(-np.sign(values[active]) * mu[active], 0.0).max()
        sign_violation = float(wrong / np.abs(mu).max())
    converged = bool(stopped and max_violation <= tolerance and complementarity <= tolerance
                     and sign_violation <= _SIGN_RTOL)
    return FairRidgeSolution(w, y_mean - float(x_mean @ w), mu, values, method, n_iter, converged,
                             max_violation, complementarity, sign_violation, tolerance)


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
    rank_rtol: float = 1e-10,
    column_sizes: np.ndarray | None = None,
    floor: float = 0.0,
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
        Active-set method (several constraints and :math:`\epsilon > 0`): a constraint enters the working
        set when a step would break it by more than ``tol`` times :math:`\epsilon` (plus round-off of the
        gaps' size); at most ``max_iter`` iterations.
    rank_rtol : float
        Singular values of the column-scaled :math:`U` below ``rank_rtol`` times the largest are zero
        (dependent rows; :class:`fairerm.solvers._constraint_space.RowSpace`).
    column_sizes : ndarray of shape (n_features,), optional
        :math:`\max_i|x_{ik}|` of the features :math:`U` is built from (default: those of ``X``).
    floor : float
        Singular values of the column-scaled :math:`U` at or below it are round-off
        (:func:`fairerm.solvers._constraint_space.noise_floor`).

    Returns
    -------
    FairRidgeSolution
        ``converged`` is the certificate: the constraints and the KKT conditions recomputed from ``coef``
        hold within ``tolerance`` (relative to :math:`\epsilon` and to the scale of the gaps).

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
    b = U @ w0
    k = U.shape[0]
    sizes = np.abs(X).max(axis=0, initial=0.0) if column_sizes is None else np.asarray(column_sizes, dtype=float)
    space = RowSpace(U, sizes, floor, rank_rtol)

    def done(w, mu, method, n_iter=0, stopped=True):
        return _certify(U, w, mu, epsilon, b, method, n_iter, stopped, x_mean, y_mean)

    if space.rank == 0:  # every row is round-off: no direction to constrain
        return done(w0, np.zeros(k), "projection" if epsilon == 0.0 else "active_set")
    if k == 1:
        AinvUt = inverse(np.ascontiguousarray(U.T))
        M00 = float(U[0] @ AinvUt[:, 0])
        mu = np.array([_soft_threshold(b[0], epsilon) / M00])
        return done(w0 - AinvUt @ mu, mu, "projection" if epsilon == 0.0 else "closed_form")
    # The r = rank(U) independent directions: U = P U_r with U_r (r, d) of full rank. With dependent rows
    # (G > 2 groups) the dual in mu is singular along the null direction of P'; on U_r it is not. From the SVD
    # U D^-1 = P_o Sigma W' (RowSpace), P = P_o Sigma and U_r = Sigma^-1 P_o'U = W'D, whose rows are as well
    # conditioned as the columns' sizes D (not as Sigma: M_r would square its spread).
    P = space.P * space.sigma
    Ur = (space.P.T @ U) / space.sigma[:, None]
    AinvUrt = inverse(np.ascontiguousarray(Ur.T))
    M_r = Ur @ AinvUrt
    M_r = 0.5 * (M_r + M_r.T)
    z0 = Ur @ w0  # U w0 = P z0
    if epsilon == 0.0:  # U w = 0: z = z0 - M_r nu = 0
        nu = scipy.linalg.solve(M_r, z0, assume_a="pos")
        return done(w0 - AinvUrt @ nu, P @ nu, "projection")
    if float(np.abs(P @ z0).max()) <= epsilon:  # the unconstrained ridge is feasible
        return done(w0, np.zeros(k), "active_set")
    lam, working, z, n_iter, stopped = _primal_active_set(P, M_r, z0, epsilon, tol, max_iter)
    mu = np.zeros(k)
    if stopped:
        rows = np.array([i for i, _ in working], dtype=int)
        mu[rows] = lam
        nu = P[rows].T @ lam  # U'mu = U_r'P_W'lam
    else:  # the last (feasible) iterate: z0 - M_r nu = z
        nu = scipy.linalg.solve(M_r, z0 - z, assume_a="pos")
        mu = P @ nu
    return done(w0 - AinvUrt @ nu, mu, "active_set", n_iter, stopped)
