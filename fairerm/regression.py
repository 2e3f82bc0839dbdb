r"""Fair ridge regression: squared loss under FERM's scalar-product demographic-parity constraint.

With a linear model :math:`f(x) = \langle w, x\rangle + b`, the difference between the mean
prediction of group :math:`g` and a reference (the other group, or the pooled sample when
there are more than two groups) is :math:`\langle w, u_g\rangle`, where :math:`u_g = C_g X` is
the same difference of feature means (the intercept cancels; Donini et al. 2018 and DESIGN.md
2.5). Fair ridge solves

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

* :math:`\epsilon = 0`: ridge on the features projected orthogonally to
  :math:`\mathrm{span}(u_1, \dots, u_k)` (the minimiser over all :math:`w` lies in that
  subspace, where the projection changes nothing);
* one constraint (two groups): :math:`\mu = \mathrm{sign}(b)\max(|b| - \epsilon, 0) / M` with
  :math:`b = \langle u, w_0\rangle`, so the active constraint is met exactly;
* several constraints: cyclic coordinate descent on the dual, then the active set it finds is
  solved exactly (:math:`M_{JJ}\mu_J = (Uw_0)_J - \epsilon\,\mathrm{sign}(\mu_J)`) and the KKT
  conditions are checked.

References
----------
M. Donini, L. Oneto, S. Ben-David, J. Shawe-Taylor, M. Pontil. "Empirical Risk Minimization
Under Fairness Constraints". NeurIPS 2018. arXiv:1802.08626.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.linalg
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from ._validation import check_features, check_scalar, check_sensitive_features, warn_column_vector
from .constraints import DemographicParity, FairnessConstraint
from .exceptions import ConvergenceWarning, FairermTypeError, FairermValueError, NotFittedError

__all__ = ["FairRidge", "FairRidgeSolution", "solve_fair_ridge"]


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

    Returns
    -------
    FairRidgeSolution
    """
    x_mean = X.mean(axis=0) if fit_intercept else np.zeros(X.shape[1])
    y_mean = float(y.mean()) if fit_intercept else 0.0
    Xc, yc = X - x_mean, y - y_mean
    A = Xc.T @ Xc + alpha * np.eye(X.shape[1])
    A_factor = scipy.linalg.cho_factor(A)
    c = Xc.T @ yc

    def w_of(mu: np.ndarray) -> np.ndarray:
        return scipy.linalg.cho_solve(A_factor, c - U.T @ mu)

    def finish(w, mu, method, n_iter=0, converged=True):
        return FairRidgeSolution(w, y_mean - float(x_mean @ w), mu, U @ w, method, n_iter, converged)

    if epsilon == 0.0:
        # Ridge on the features projected orthogonally to span(U): w = (P A P + lambda (I - P))^{-1} P c.
        left, singular, basis = np.linalg.svd(U, full_matrices=False)
        rank = int(np.sum(singular > singular.max(initial=0.0) * max(U.shape) * np.finfo(float).eps))
        Q = basis[:rank].T
        P = np.eye(X.shape[1]) - Q @ Q.T
        w = np.linalg.solve(P @ A @ P + alpha * (np.eye(X.shape[1]) - P), P @ c)
        mu = np.linalg.lstsq(U.T, c - A @ w, rcond=None)[0]
        return finish(w, mu, "projection")
    AinvUt = scipy.linalg.cho_solve(A_factor, U.T)
    M = U @ AinvUt
    b = U @ scipy.linalg.cho_solve(A_factor, c)
    if U.shape[0] == 1:
        mu = np.array([_soft_threshold(b[0], epsilon) / M[0, 0]]) if M[0, 0] > 0 else np.zeros(1)
        return finish(w_of(mu), mu, "closed_form")
    scale = np.sqrt(max(float(np.max(np.diag(M))), np.finfo(float).tiny))
    mu, n_iter, converged = _dual_coordinate_descent(M, b, epsilon, tol * max(1.0, np.abs(b).max() / scale), max_iter)
    polished = _polish_active_set(M, b, epsilon, mu, U, w_of, 1e-9)
    if polished is not None:
        return finish(polished[1], polished[0], "active_set", n_iter, True)
    return finish(w_of(mu), mu, "coordinate_descent", n_iter, converged)


def check_regression_target(y: Any, n_samples: int) -> np.ndarray:
    """Return ``y`` as a finite 1-D float64 array of length ``n_samples``, or raise a clear error."""
    if y is None:
        raise FairermValueError("y is None; a real target per sample is needed to fit a regressor.")
    values = y.to_numpy() if isinstance(y, (pd.Series, pd.DataFrame)) else np.asarray(y)
    if values.ndim == 2 and values.shape[1] == 1:
        warn_column_vector("y")
        values = values[:, 0]
    if values.ndim != 1:
        raise FairermValueError(f"y must be 1-D (one real target per sample); got shape {values.shape}.")
    if values.shape[0] != n_samples:
        raise FairermValueError(
            f"y has {values.shape[0]} entries but X has {n_samples} samples; they must have the same length."
        )
    if np.iscomplexobj(values):  # astype(float) would drop the imaginary parts with only a warning
        raise FairermValueError(f"Complex data not supported: y must hold real numbers; got dtype {values.dtype}.")
    try:
        values = values.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise FairermTypeError(f"y must hold real numbers; got dtype {values.dtype}.") from exc
    if not np.all(np.isfinite(values)):
        raise FairermValueError("y contains NaN or infinite values; every target must be finite.")
    return values


class FairRidge(RegressorMixin, BaseEstimator):
    r"""Ridge regression whose groups' mean predictions agree up to ``epsilon`` on the training set.

    Solves

    .. math::

        \min_{w, b}\; \|y - Xw - b\mathbf 1\|_2^2 + \alpha \|w\|_2^2
        \quad\text{s.t.}\quad |\langle w, u_j\rangle| \le \epsilon, \; j = 1, \dots, k,

    where :math:`u_j = \sum_i c_{ji} x_i` are the demographic-parity constraint vectors of
    :class:`fairerm.constraints.DemographicParity` (DESIGN.md 2.5): with two groups the single
    :math:`u = \bar x_a - \bar x_b`, so :math:`\langle w, u\rangle` is the difference of the two
    groups' mean predictions; with :math:`G > 2` groups one :math:`u_g = \bar x_g - \bar x` per
    group, the gap between group :math:`g`'s mean prediction and the overall mean. This is FERM
    (Donini et al. 2018) with the squared loss and demographic parity; see
    :func:`solve_fair_ridge` for the exact solution paths. It constrains only the *means* of the
    groups' predictions; :class:`fairerm.WassersteinFairRegressor` equalises their whole
    distributions.

    Parameters
    ----------
    alpha : float > 0, default=1.0
        Ridge penalty (as in :class:`sklearn.linear_model.Ridge`; the loss is a sum of squares).
    epsilon : float >= 0, default=0.0
        Largest allowed gap between mean predictions (in units of ``y``), on the training data.
    constraint : "demographic_parity" or DemographicParity, default="demographic_parity"
        The only notion that needs no class label.
    fit_intercept : bool, default=True
        Unpenalised intercept.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    constraint_vectors_ : ndarray of shape (n_constraints, n_features)
        :math:`U`.
    constraint_labels_ : list of str
    constraint_values_ : ndarray of shape (n_constraints,)
        :math:`U w`, the training mean-prediction gaps.
    dual_coef_ : ndarray of shape (n_constraints,)
        Multipliers :math:`\mu` of the constraints.
    groups_ : ndarray of shape (n_groups,)
    solution_ : FairRidgeSolution
    n_features_in_ : int

    References
    ----------
    M. Donini et al., "Empirical Risk Minimization Under Fairness Constraints", NeurIPS 2018.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> s = rng.integers(0, 2, 500)
    >>> X = np.column_stack([rng.normal(size=500) + s, s])
    >>> y = X @ np.array([1.0, 2.0]) + rng.normal(size=500)
    >>> model = FairRidge(epsilon=0.1).fit(X, y, sensitive_features=s)
    >>> pred = model.predict(X)
    >>> round(float(abs(pred[s == 0].mean() - pred[s == 1].mean())), 6)
    0.1
    """

    def __init__(
        self,
        alpha: float = 1.0,
        epsilon: float = 0.0,
        constraint: Any = "demographic_parity",
        fit_intercept: bool = True,
    ):
        self.alpha = alpha
        self.epsilon = epsilon
        self.constraint = constraint
        self.fit_intercept = fit_intercept

    def _constraint(self) -> FairnessConstraint:
        if self.constraint == "demographic_parity" or isinstance(self.constraint, DemographicParity):
            return DemographicParity()
        raise FairermValueError(
            f"constraint must be 'demographic_parity' (the only notion that needs no class label in "
            f"regression); got {self.constraint!r}."
        )

    def fit(self, X: Any, y: Any, *, sensitive_features: Any) -> "FairRidge":
        """Fit the constrained ridge model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sensitive_features : array-like of shape (n_samples,), Series or DataFrame
            At least two groups.

        Returns
        -------
        self
        """
        check_scalar(self.alpha, "alpha", low=0.0, low_inclusive=False)
        check_scalar(self.epsilon, "epsilon", low=0.0)
        if not isinstance(self.fit_intercept, (bool, np.bool_)):
            raise FairermTypeError(f"fit_intercept must be True or False; got {self.fit_intercept!r}.")
        constraint = self._constraint()
        X_arr = check_features(X)
        target = check_regression_target(y, X_arr.shape[0])
        sens = check_sensitive_features(sensitive_features, X_arr.shape[0])
        weights = constraint.weights(np.ones(X_arr.shape[0]), sens)
        U = weights.weights @ X_arr
        solution = solve_fair_ridge(
            X_arr, target, U, alpha=float(self.alpha), epsilon=float(self.epsilon), fit_intercept=bool(self.fit_intercept)
        )
        if not solution.converged:
            warnings.warn(
                f"FairRidge: the dual coordinate descent stopped after {solution.n_iter} sweeps without "
                f"converging (status: {solution.method}, not converged); constraint values "
                f"{solution.constraint_values.tolist()} for epsilon={self.epsilon}.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.coef_ = solution.coef
        self.intercept_ = solution.intercept
        self.constraint_vectors_ = U
        self.constraint_labels_ = list(weights.labels)
        self.constraint_values_ = solution.constraint_values
        self.dual_coef_ = solution.multipliers
        self.groups_ = sens.groups
        self.solution_ = solution
        self.n_features_in_ = X_arr.shape[1]
        if hasattr(X, "columns"):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predict :math:`\\langle w, x\\rangle + b`."""
        try:
            check_is_fitted(self, "coef_")
        except Exception as exc:
            raise NotFittedError(
                "This FairRidge is not fitted yet; call fit(X, y, sensitive_features=...) first."
            ) from exc
        X_arr = check_features(X)
        if X_arr.shape[1] != self.n_features_in_:
            raise FairermValueError(
                f"X has {X_arr.shape[1]} features but FairRidge was fitted with {self.n_features_in_}."
            )
        return X_arr @ self.coef_ + self.intercept_
