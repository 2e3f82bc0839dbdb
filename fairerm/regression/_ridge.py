r"""Fair ridge regression: the squared loss under FERM's demographic-parity constraint (the estimator).

The problem and its exact solution paths are derived in :mod:`fairerm.solvers.ridge`.

References
----------
M. Donini, L. Oneto, S. Ben-David, J. Shawe-Taylor, M. Pontil. "Empirical Risk Minimization
Under Fairness Constraints". NeurIPS 2018. arXiv:1802.08626.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from .._validation import (check_features, check_feature_names, check_sample_weight, check_scalar,
                           check_sensitive_features)
from ..constraints import DemographicParity, FairnessConstraint, weighted_constraint
from ..exceptions import ConvergenceWarning, FairermTypeError, FairermValueError, NotFittedError
from ..solvers import FairRidgeSolution, solve_fair_ridge
from ..solvers._constraint_space import noise_floor
from ._targets import check_regression_target

__all__ = ["FairRidge"]


def _weighted_fair_ridge(X, y, U, sample_weight, alpha, epsilon, fit_intercept, **rank) -> FairRidgeSolution:
    r"""Weighted fair ridge through the unweighted solver (the reduction of :meth:`FairRidge.fit`).

    :math:`\sum_i w_i(y_i - \langle w, x_i\rangle - b)^2` is minimised over :math:`b` at
    :math:`b = \bar y^w - \langle w, \bar x^w\rangle` (weighted means), which leaves
    :math:`\|\tilde y - \tilde Xw\|^2` with :math:`\tilde x_i = \sqrt{w_i}(x_i - \bar x^w)`,
    :math:`\tilde y_i = \sqrt{w_i}(y_i - \bar y^w)`: the intercept-free problem on those rows.
    """
    total = float(sample_weight.sum())
    x_mean = sample_weight @ X / total if fit_intercept else np.zeros(X.shape[1])
    y_mean = float(sample_weight @ y) / total if fit_intercept else 0.0
    root = np.sqrt(sample_weight)
    solution = solve_fair_ridge(root[:, None] * (X - x_mean), root * (y - y_mean), U, alpha=alpha, epsilon=epsilon,
                                fit_intercept=False, **rank)
    return replace(solution, intercept=y_mean - float(x_mean @ solution.coef))


class FairRidge(RegressorMixin, BaseEstimator):
    r"""Ridge regression whose groups' mean predictions agree up to ``epsilon`` on the training set.

    Solves

    .. math::

        \min_{w, b}\; \|y - Xw - b\mathbf 1\|_2^2 + \alpha \|w\|_2^2
        \quad\text{s.t.}\quad |\langle w, u_j\rangle| \le \epsilon, \; j = 1, \dots, k,

    where :math:`u_j = \sum_i c_{ji} x_i` are the demographic-parity constraint vectors of
    :class:`fairerm.constraints.DemographicParity`: with two groups the single
    :math:`u = \bar x_a - \bar x_b`, so :math:`\langle w, u\rangle` is the difference of the two
    groups' mean predictions; with :math:`G > 2` groups one :math:`u_g = \bar x_g - \bar x` per
    group, the gap between group :math:`g`'s mean prediction and the overall mean. This is FERM
    (Donini et al. 2018) with the squared loss and demographic parity; see
    :func:`fairerm.solvers.solve_fair_ridge` for the exact solution paths. It constrains only the *means* of the
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
        """The constraint object; any other value is refused (by type first: ``==`` on an array is elementwise)."""
        if isinstance(self.constraint, DemographicParity) or (
                isinstance(self.constraint, str) and self.constraint == "demographic_parity"):
            return DemographicParity()
        if not isinstance(self.constraint, (str, FairnessConstraint)):
            raise FairermTypeError(
                f"constraint must be 'demographic_parity' or a DemographicParity instance; got "
                f"{type(self.constraint).__name__} ({self.constraint!r})."
            )
        shown = repr(self.constraint) if isinstance(self.constraint, str) else type(self.constraint).__name__
        raise FairermValueError(
            f"constraint must be 'demographic_parity' (the only notion that needs no class label in "
            f"regression); got {shown}."
        )

    def fit(self, X: Any, y: Any, *, sensitive_features: Any, sample_weight: Any = None) -> "FairRidge":
        r"""Fit the constrained ridge model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sensitive_features : array-like of shape (n_samples,), Series or DataFrame
            At least two groups (several columns: each combination of values is a group).
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights, as in :class:`sklearn.linear_model.Ridge`: the loss becomes
            :math:`\sum_i w_i(y_i - \langle w, x_i\rangle - b)^2` and the constraint compares the groups'
            *weighted* mean predictions (:math:`u = \bar x^w_a - \bar x^w_b`). Solved exactly by the
            unweighted solver on :math:`\sqrt{w_i}(x_i - \bar x^w)` and :math:`\sqrt{w_i}(y_i - \bar y^w)`
            (weighted centring removes the intercept: :math:`b = \bar y^w - \langle w, \bar x^w\rangle`,
            and the weighted constraint rows sum to zero, so :math:`U` is unchanged by it).

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
        sample_weight = check_sample_weight(sample_weight, X_arr.shape[0])
        weights = weighted_constraint(constraint, np.ones(X_arr.shape[0]), sens, sample_weight)
        U = weights.weights @ X_arr
        # The rank of U (dependent rows: G > 2 groups) is decided on its column-scaled rows, against the
        # round-off of the features U is built from.
        rank = {"column_sizes": np.abs(X_arr).max(axis=0, initial=0.0), "floor": noise_floor(weights.weights)}
        if sample_weight is None:
            solution = solve_fair_ridge(X_arr, target, U, alpha=float(self.alpha), epsilon=float(self.epsilon),
                                        fit_intercept=bool(self.fit_intercept), **rank)
        else:
            solution = _weighted_fair_ridge(X_arr, target, U, sample_weight, float(self.alpha), float(self.epsilon),
                                            bool(self.fit_intercept), **rank)
        if not solution.converged:
            warnings.warn(
                f"FairRidge: the solution is not certified (method {solution.method}, {solution.n_iter} "
                f"iterations): measured max(|mean-prediction gap| - epsilon) = {solution.max_violation:.3g}, "
                f"largest distance of an active gap from epsilon = {solution.complementarity:.3g} "
                f"(tolerance {solution.tolerance:.3g}), wrong-signed multiplier (relative) = "
                f"{solution.sign_violation:.3g}; gaps {solution.constraint_values.tolist()} for "
                f"epsilon={self.epsilon}.",
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
        self.sensitive_feature_names_ = sens.names
        self.solution_ = solution
        self.n_features_in_ = X_arr.shape[1]
        check_feature_names(self, X, reset=True)
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
        check_feature_names(self, X, reset=False)
        return X_arr @ self.coef_ + self.intercept_
