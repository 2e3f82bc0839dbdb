"""What the fair SVM estimators share: input validation, the constraint, the convergence report."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import check_binary_target, check_option, check_scalar, check_sensitive_features
from ..constraints import CONSTRAINT_NAMES, ConstraintWeights, FairnessConstraint, make_constraint
from ..exceptions import ConvergenceWarning, FairermValueError
from ..solvers import Solution

__all__ = ["BaseFairSVC"]


class BaseFairSVC(ClassifierMixin, BaseEstimator):
    """Shared machinery of :class:`~fairerm.FairLinearSVC` and :class:`~fairerm.FairKernelSVC`."""

    _solvers: tuple[str, ...] = ()

    def _check_common_params(self) -> None:
        check_scalar(self.C, "C", low=0.0, low_inclusive=False)
        check_scalar(self.epsilon, "epsilon", low=0.0)
        if not isinstance(self.constraint, FairnessConstraint):
            check_option(self.constraint, "constraint", CONSTRAINT_NAMES)
        check_option(self.solver, "solver", self._solvers)
        check_scalar(self.tol, "tol", low=0.0, low_inclusive=False)
        if self.max_iter is not None:
            check_scalar(self.max_iter, "max_iter", kind=numbers.Integral, low=1)

    def _validate_training_data(self, X, y, sensitive_features, *, accept_sparse=False):
        """Validate ``X, y, sensitive_features``; return arrays, encodings and the constraint weights."""
        if sensitive_features is None:
            raise FairermValueError(
                f"{type(self).__name__}.fit needs sensitive_features=... (the group of each sample): the fairness "
                "constraint compares groups. Pass it as a keyword, e.g. fit(X, y, sensitive_features=s); in a "
                "Pipeline or GridSearchCV enable metadata routing and call set_fit_request(sensitive_features=True)."
            )
        X = validate_data(self, X, accept_sparse="csr" if accept_sparse else False, dtype=np.float64,
                          order="C", ensure_all_finite=True, ensure_min_samples=2, reset=True)
        target = check_binary_target(y, X.shape[0])
        sens = check_sensitive_features(sensitive_features, X.shape[0])
        constraint = make_constraint(self.constraint)
        weights: ConstraintWeights = constraint.weights(target.signed, sens)
        self.classes_ = target.classes
        self.constraint_ = constraint
        self.groups_ = sens.groups
        self.constraint_labels_ = list(weights.labels)
        return X, target.signed, weights

    def _record_solution(self, solution: Solution) -> None:
        """Store the solver's report and warn when it did not converge."""
        self.solution_ = solution
        self.mu_ = np.asarray(solution.mu, dtype=float)
        self.n_iter_ = int(solution.n_iter)
        self.status_ = solution.status
        self.converged_ = bool(solution.converged)
        self.solver_ = solution.solver
        self.objective_ = float(solution.primal_objective)
        self.fit_time_ = float(solution.solve_time)
        if not solution.converged:
            warnings.warn(
                ConvergenceWarning(
                    f"{type(self).__name__}: solver {solution.solver!r} stopped with status {solution.status!r} "
                    f"after {solution.n_iter} iterations; the model is the last iterate. Increase max_iter, "
                    "loosen tol, rescale the features (StandardScaler) or try another solver."
                ),
                stacklevel=3,
            )

    def predict(self, X):
        """Class labels: ``classes_[1]`` where the decision function is positive, else ``classes_[0]``."""
        scores = self.decision_function(X)
        return self.classes_[(scores > 0).astype(int)]

    def _check_predict_input(self, X, *, accept_sparse=False):
        check_is_fitted(self, "solution_")  # set last: a fit that failed half-way is not fitted
        return validate_data(self, X, accept_sparse="csr" if accept_sparse else False, dtype=np.float64,
                             order="C", ensure_all_finite=True, reset=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags
