r"""The covariance constraint of Zafar et al. (2017), stated in cvxpy.

Zafar, Valera, Gomez Rodriguez and Gummadi bound the empirical covariance between the sensitive
attribute and the signed distance to the decision boundary. With a linear score
:math:`d(x) = \langle w, x\rangle + b`, labels :math:`y_i \in \{-1, +1\}`, group indicators
:math:`z_{ig} = 1[s_i = g]` and a subset :math:`S` of the training indices (all of them in the
original paper; the positively-labelled ones, :math:`S = \{i : y_i = +1\}`, for an
equal-opportunity version),

.. math::

    \min_{w, b}\; \frac{1}{n}\sum_{i=1}^n \ell(y_i\, d(x_i)) + \frac{1}{2Cn}\|w\|^2
    \quad\text{s.t.}\quad
    \Big|\frac{1}{|S|}\sum_{i \in S} (z_{ig} - \bar z_g)\, d(x_i)\Big| \le c_g,
    \quad g = 2..G,

where :math:`\bar z_g` is the share of group :math:`g` in :math:`S`, :math:`\ell` the logistic
loss :math:`\log(1 + e^{-t})` or the hinge loss :math:`\max(0, 1 - t)`, and
:math:`c_g = \tau\,|\mathrm{cov}_g(\hat w)|` a fraction :math:`\tau` of the covariance reached by the
unconstrained model :math:`\hat w` (the same problem without the constraint), as the authors
choose their thresholds. The constraint is linear in :math:`(w, b)`, so the problem stays convex.
Because :math:`\sum_g (z_{ig} - \bar z_g) = 0`, the constraint of group 1 is implied by the others.

The objective is scikit-learn's (``LogisticRegression(C)`` / a hinge-loss SVM with the intercept
unpenalised) divided by :math:`Cn`, so ``C`` means the same thing as in scikit-learn.

References
----------
M. B. Zafar, I. Valera, M. Gomez Rodriguez, K. P. Gummadi. "Fairness Constraints: Mechanisms for
Fair Classification". AISTATS 2017.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import check_binary_target, check_option, check_scalar, check_sensitive_features
from ..exceptions import ConvergenceWarning, FairermValueError

__all__ = ["CovarianceConstrainedClassifier", "covariance_rows"]

_OK = ("optimal", "optimal_inaccurate")


def covariance_rows(y_signed: np.ndarray, codes: np.ndarray, n_groups: int, subset: str) -> np.ndarray:
    r"""Rows :math:`a_g` with :math:`a_g^\top d = \frac{1}{|S|}\sum_{i\in S}(z_{ig} - \bar z_g) d_i`.

    Returns an array of shape ``(n_groups - 1, n_samples)`` (groups ``2..G``; zero outside ``S``).
    """
    in_subset = np.ones_like(y_signed, dtype=bool) if subset == "all" else y_signed > 0
    size = int(in_subset.sum())
    rows = np.zeros((n_groups - 1, len(y_signed)))
    for g in range(1, n_groups):
        z = (codes == g).astype(float)
        z_bar = z[in_subset].mean()
        rows[g - 1, in_subset] = (z[in_subset] - z_bar) / size
    return rows


class CovarianceConstrainedClassifier(ClassifierMixin, BaseEstimator):
    r"""Linear classifier under Zafar et al.'s decision-boundary covariance constraint.

    See the module docstring for the problem. ``fit`` solves it twice: once without the
    constraint (to measure :math:`\mathrm{cov}_g(\hat w)`; scikit-learn's ``LogisticRegression``
    for the logistic loss, which minimises the same objective, cvxpy for the hinge), once in cvxpy with
    :math:`c_g = \tau |\mathrm{cov}_g(\hat w)|`.

    Parameters
    ----------
    C : float, default=1.0
        Inverse regularisation strength :math:`C > 0` (scikit-learn's meaning).
    covariance_fraction : float, default=0.1
        :math:`\tau \in [0, 1]`: the bound as a fraction of the unconstrained covariance
        (0 forces zero covariance, 1 leaves the unconstrained model feasible).
    loss : {"logistic", "hinge"}, default="logistic"
    subset : {"all", "positives"}, default="positives"
        The examples over which the covariance is taken: ``"all"`` as in the paper (aimed at
        demographic parity) or ``"positives"`` (:math:`y = +1`, aimed at equal opportunity).
    solver : str, default="CLARABEL"
        A cvxpy solver name.

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features)
    intercept_ : ndarray of shape (1,)
    classes_ : ndarray of shape (2,)
    covariance_unconstrained_ : ndarray of shape (n_groups - 1,)
    covariance_ : ndarray of shape (n_groups - 1,)
        The covariances of the fitted model, recomputed from ``coef_``.
    status_ : str
        The cvxpy status of the constrained solve.
    """

    def __init__(self, C: float = 1.0, *, covariance_fraction: float = 0.1,
                 loss: Literal["logistic", "hinge"] = "logistic",
                 subset: Literal["all", "positives"] = "positives", solver: str = "CLARABEL"):
        self.C = C
        self.covariance_fraction = covariance_fraction
        self.loss = loss
        self.subset = subset
        self.solver = solver

    def fit(self, X, y, *, sensitive_features=None):
        """Fit the unconstrained model, then the covariance-constrained one."""
        check_scalar(self.C, "C", low=0.0, low_inclusive=False)
        check_scalar(self.covariance_fraction, "covariance_fraction", low=0.0, high=1.0)
        check_option(self.loss, "loss", ["logistic", "hinge"])
        check_option(self.subset, "subset", ["all", "positives"])
        if sensitive_features is None:
            raise FairermValueError("CovarianceConstrainedClassifier.fit needs sensitive_features=...; got None.")
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite=True, reset=True)
        target = check_binary_target(y, X.shape[0])
        sens = check_sensitive_features(sensitive_features, X.shape[0])
        weights = covariance_rows(target.signed, sens.codes, sens.n_groups, self.subset)
        rows, row_sums = weights @ X, weights.sum(axis=1)
        if self.loss == "logistic":  # the same unconstrained objective, solved faster by lbfgs
            reference = LogisticRegression(C=self.C, tol=1e-8, max_iter=5000).fit(X, target.signed)
            w0, b0 = reference.coef_[0], float(reference.intercept_[0])
        else:
            w0, b0, _ = self._solve(X, target.signed, rows, row_sums, None)
        self.covariance_unconstrained_ = rows @ w0 + row_sums * b0
        bound = self.covariance_fraction * np.abs(self.covariance_unconstrained_)
        w, b, status = self._solve(X, target.signed, rows, row_sums, bound)
        self.classes_ = target.classes
        self.coef_ = w.reshape(1, -1)
        self.intercept_ = np.array([b])
        self.covariance_ = rows @ w + row_sums * b
        self.status_ = status
        if status != "optimal":
            warnings.warn(ConvergenceWarning(f"CovarianceConstrainedClassifier: cvxpy status {status!r}."),
                          stacklevel=2)
        return self

    def _solve(self, X, y_signed, rows, row_sums, bound):
        """Solve the problem; ``bound=None`` drops the covariance constraint."""
        import cvxpy as cp

        n, d = X.shape
        w, b = cp.Variable(d), cp.Variable()
        margin = cp.multiply(y_signed, X @ w + b)
        if self.loss == "logistic":
            risk = cp.sum(cp.logistic(-margin)) / n
        else:
            risk = cp.sum(cp.pos(1 - margin)) / n
        constraints = [] if bound is None else [cp.abs(rows @ w + row_sums * b) <= bound]
        problem = cp.Problem(cp.Minimize(risk + cp.sum_squares(w) / (2.0 * self.C * n)), constraints)
        try:
            problem.solve(solver=self.solver)
        except cp.error.SolverError:
            problem.solve(solver="SCS")
        if w.value is None:
            raise FairermValueError(
                f"the covariance-constrained problem could not be solved: cvxpy status {problem.status!r}."
            )
        return np.asarray(w.value, dtype=float), float(b.value), problem.status

    def decision_function(self, X):
        r"""Scores :math:`\langle w, x\rangle + b`."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite=True, reset=False)
        return X @ self.coef_[0] + self.intercept_[0]

    def predict(self, X):
        """``classes_[1]`` where the score is positive, else ``classes_[0]``."""
        scores = self.decision_function(X)  # checks that the model is fitted, before classes_ is read
        return self.classes_[(scores > 0).astype(int)]
