"""What the fair SVM estimators share: input validation, the call of the solver, the convergence report."""

from __future__ import annotations

import copy
import numbers
import warnings
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import (check_binary_target, check_option, check_sample_weight, check_scalar,
                           check_sensitive_features)
from ..constraints import CONSTRAINT_NAMES, ConstraintWeights, FairnessConstraint, make_constraint, weighted_constraint
from ..exceptions import ConvergenceWarning, FairermTypeError, FairermValueError
from ..problem import per_sample_box
from ..solvers import Solution, solve
from ._ramp import FAIRNESS_LOSSES, default_ramp_tol, ramp_cccp, ramp_constraint

__all__ = ["BaseFairSVC"]


def _interpolated_solution(a: Solution, b: Solution, theta: float, objective: float, scores, w_norm_sq) -> Solution:
    r"""The point :math:`(1-\theta)a + \theta b` of two ramp steps, as a :class:`~fairerm.solvers.Solution`.

    Its status is ``"ramp_interpolant"``: it meets the ramp constraint exactly and its objective is at
    most the larger of the two steps' (convexity); it is no optimum of a convex problem, so it has no dual
    objective (NaN), and ``certificate`` is that of step ``a``.
    """
    def mix(u, v):
        return None if u is None or v is None else (1.0 - theta) * np.asarray(u) + theta * np.asarray(v)

    return replace(a, status="ramp_interpolant", converged=True, coef=mix(a.coef, b.coef),
                   expansion_coef=mix(a.expansion_coef, b.expansion_coef), alpha=mix(a.alpha, b.alpha),
                   mu=mix(a.mu, b.mu), intercept=float((1.0 - theta) * a.intercept + theta * b.intercept),
                   primal_objective=float(objective), dual_objective=float("nan"),
                   training_decision_values=np.asarray(scores), constraint_value=mix(a.constraint_value,
                                                                                     b.constraint_value),
                   w_norm_sq=float(w_norm_sq), warm_state=None, info={**a.info, "ramp_interpolation": float(theta)})


@dataclass
class PreparedData:
    r"""The validated training data of a sequence of fits on the same data (:func:`fairerm.fair_path`).

    ``problem`` is the FERM problem at the template's :math:`\epsilon` and :math:`C`; ``attributes`` the
    fitted attributes that validation sets (``n_features_in_``, ``classes_``, ``groups_``, ...), copied
    into each fit; ``sample_weight`` the validated weights (the box of another :math:`C`).
    """

    problem: object
    attributes: dict
    sample_weight: np.ndarray | None
    C: float


#: The record of a ramp fit (``fairness_loss="ramp"``), dropped by a linear-loss refit.
RAMP_ATTRIBUTES = ("cccp_objectives_", "cccp_ramp_values_", "cccp_band_sizes_", "n_cccp_iter_", "cccp_stop_reason_",
                   "cccp_chosen_", "cccp_feasible_", "ramp_tol_", "ramp_constraint_value_", "cccp_interpolation_")

class BaseFairSVC(ClassifierMixin, BaseEstimator):
    """Shared machinery of :class:`~fairerm.FairLinearSVC` and :class:`~fairerm.FairKernelSVC`.

    A fit reads: validate -> build the problem (:mod:`fairerm.problem`) -> :func:`fairerm.solvers.solve`
    -> store the fitted attributes -> warn if the solution is not certified optimal.

    A subclass's in-memory route is split in two so that a sequence of fits on the same data
    validates it once (:meth:`_prepare`, then :meth:`_fit_prepared` per fit): ``_check_params()``,
    ``_validated_problem(X, y, sensitive_features, sample_weight)`` (the problem and the validated
    weights, or ``None`` when the data take another route: dask arrays, approximate kernels) and
    ``_fit_validated(problem, previous)`` (solve from the warm start ``previous``, store, report).
    """

    _solvers: tuple[str, ...] = ()

    def _check_common_params(self) -> None:
        check_scalar(self.C, "C", low=0.0, low_inclusive=False)
        check_scalar(self.epsilon, "epsilon", low=0.0)
        if not isinstance(self.constraint, FairnessConstraint):
            check_option(self.constraint, "constraint", CONSTRAINT_NAMES)
        check_option(self.solver, "solver", self._solvers)
        if self.tol is not None:
            check_scalar(self.tol, "tol", low=0.0, low_inclusive=False)
        if self.max_iter is not None:
            check_scalar(self.max_iter, "max_iter", kind=numbers.Integral, low=1)
        if self.solver_options is not None and not isinstance(self.solver_options, dict):
            raise FairermTypeError(f"solver_options must be a dict or None; got {type(self.solver_options).__name__}.")
        if not isinstance(self.warm_start, (bool, np.bool_)):
            raise FairermTypeError(f"warm_start must be True or False; got {self.warm_start!r}.")
        check_option(self.fairness_loss, "fairness_loss", FAIRNESS_LOSSES)
        check_scalar(self.cccp_max_iter, "cccp_max_iter", kind=numbers.Integral, low=1)
        check_scalar(self.cccp_tol, "cccp_tol", low=0.0)
        if self.ramp_tol is not None:
            check_scalar(self.ramp_tol, "ramp_tol", low=0.0)

    def _validate_training_data(self, X, y, sensitive_features, sample_weight=None, *, accept_sparse=False):
        """Validate ``X, y, sensitive_features, sample_weight``; return ``X``, the signed labels, the constraint
        weights (weighted group means when there are sample weights) and the weights (or None).

        With ``accept_sparse`` a CSR or CSC ``X`` is kept sparse (CSC converted to CSR, a copy of the
        nonzeros: the solvers work on rows); it is never densified.
        """
        if sensitive_features is None:
            raise FairermValueError(
                f"{type(self).__name__}.fit needs sensitive_features=... (the group of each sample): the fairness "
                "constraint compares groups. Pass it as a keyword, e.g. fit(X, y, sensitive_features=s); in a "
                "Pipeline or GridSearchCV enable metadata routing and call set_fit_request(sensitive_features=True)."
            )
        X = validate_data(self, X, accept_sparse=("csr", "csc") if accept_sparse else False, dtype=np.float64,
                          order="C", ensure_all_finite=True, ensure_min_samples=2, reset=True)
        if sp.issparse(X):
            X = sp.csr_matrix(X)  # CSC -> CSR copies the nonzeros only; CSR is kept as it is
        target = check_binary_target(y, X.shape[0])
        sens = check_sensitive_features(sensitive_features, X.shape[0])
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
        constraint = make_constraint(self.constraint)
        weights: ConstraintWeights = weighted_constraint(constraint, target.signed, sens, sample_weight)
        if sample_weight is not None:
            for label in (-1.0, 1.0):
                if not np.any(sample_weight[target.signed == label] > 0):
                    cls = target.classes.tolist()[int(label > 0)]
                    raise FairermValueError(
                        f"sample_weight is zero for every sample of class {cls!r}; a binary classifier needs a "
                        "positive weight in both classes."
                    )
        self.classes_ = target.classes
        self.constraint_ = constraint
        self.groups_ = sens.groups
        self.sensitive_feature_names_ = sens.names
        self.constraint_labels_ = list(weights.labels)
        return X, target.signed, weights, sample_weight

    def _prepare(self, X, y, sensitive_features, sample_weight=None) -> PreparedData | None:
        """Validate the data and build the problem once for several fits (``self`` is left unchanged);
        ``None`` when this estimator fits such data by another route (then call ``fit``)."""
        scratch = clone(self)
        scratch._check_params()
        validated = scratch._validated_problem(X, y, sensitive_features, sample_weight)
        if validated is None:
            return None
        problem, sample_weight = validated
        problem.precompute_shared()  # e.g. a kernel problem hashes its data once; each fit's twin shares it
        attributes = {key: value for key, value in vars(scratch).items()
                      if key.endswith("_") and not key.startswith("_")}
        return PreparedData(problem, attributes, sample_weight, float(self.C))

    def _fit_prepared(self, data: PreparedData, previous: Solution | None = None):
        r"""Fit on data validated by :meth:`_prepare`, at this estimator's :math:`\epsilon` and :math:`C`,
        warm-started from ``previous`` (a solution on the same data, or ``None``); the result is that of
        ``fit`` on the same data (the same problem, the same solver calls)."""
        self._check_params()
        for key, value in copy.deepcopy(data.attributes).items():
            setattr(self, key, value)
        problem = data.problem.with_epsilon(float(self.epsilon))
        if float(self.C) != data.C:
            problem = problem.with_upper(per_sample_box(self.C, data.sample_weight, problem.n_samples))
        return self._fit_validated(problem, previous)

    def _drop_fitted(self, names) -> None:
        """Remove fitted attributes of a previous fit that this fit does not set (scikit-learn's refit semantics)."""
        for name in names:
            self.__dict__.pop(name, None)

    def _previous_solution(self) -> Solution | None:
        """The last fit's solution when ``warm_start=True`` (the solvers check that it fits the new data)."""
        return getattr(self, "solution_", None) if self.warm_start else None

    def _fit_problem(self, problem, solver: str, backend_options: dict | None = None,
                     previous: Solution | None = None):
        r"""Solve under the chosen ``fairness_loss`` from the warm start ``previous`` (default: the last fit's
        solution when ``warm_start=True``); return the solution and the problem it solves.

        ``"linear"``: the problem as given. ``"ramp"``: the sequence of linearised steps of
        ``ramp_cccp`` (``fairerm/svm/_ramp.py``) started from the linear-loss problem with :math:`\epsilon = 0`,
        each warm-started from the previous one; its record is stored (``cccp_*_``, ``n_cccp_iter_``).
        """
        previous = self._previous_solution() if previous is None else previous
        if self.fairness_loss == "linear":
            self._drop_fitted(RAMP_ATTRIBUTES)  # a previous ramp fit's record does not describe this one
            return self._solve(problem, solver, backend_options, warm_start=previous), problem

        def step(step_problem, warm):
            return self._solve(step_problem, solver, backend_options, warm_start=previous if warm is None else warm)

        ramp_tol = self.ramp_tol
        if ramp_tol is None:  # one unit of sample weight: c_i = C w_i (objectives.per_sample_box)
            ramp_tol = default_ramp_tol(problem.constraint_weights, problem.upper / float(self.C))
        path = ramp_cccp(problem.with_epsilon(0.0), step, float(self.epsilon), max_steps=int(self.cccp_max_iter),
                         tol=float(self.cccp_tol), ramp_tol=ramp_tol, keep_problems=True)
        self.cccp_objectives_ = np.array(path.objectives)
        self.cccp_ramp_values_ = np.array(path.ramp_values)
        self.cccp_band_sizes_ = np.array(path.band_sizes)
        self.n_cccp_iter_ = path.n_steps
        self.cccp_stop_reason_ = path.stop_reason
        self.cccp_chosen_ = path.chosen
        self.cccp_feasible_ = path.feasible
        self.ramp_tol_ = path.ramp_tol
        self.ramp_constraint_value_ = path.ramp_values[path.chosen]
        self.cccp_interpolation_ = None
        if path.interpolant is not None:
            i, theta, objective, scores, w_norm_sq = path.interpolant
            self.cccp_interpolation_ = (i, theta)
            self.ramp_constraint_value_ = ramp_constraint(problem.constraint_weights, scores)
            return _interpolated_solution(path.solutions[i], path.solutions[i + 1], theta, objective, scores,
                                          w_norm_sq), path.problems[i + 1]
        if not path.feasible:
            worst = float(np.max(np.abs(self.ramp_constraint_value_), initial=0.0))
            warnings.warn(ConvergenceWarning(
                f"{type(self).__name__}(fairness_loss='ramp'): no iterate of the {path.n_steps} linearised steps "
                f"(stopped: {path.stop_reason}) meets the ramp constraint |G| <= epsilon + ramp_tol = "
                f"{float(self.epsilon):g} + {path.ramp_tol:g}; the least violating one is returned (|G| = {worst:.3g})."
                " Increase cccp_max_iter or ramp_tol, or raise epsilon."), stacklevel=3)
        return path.solutions[path.chosen], path.problems[path.chosen]

    def _solve(self, problem, solver: str, backend_options: dict | None = None, *,
               warm_start: Solution | None = None) -> Solution:
        """:func:`fairerm.solvers.solve` with this estimator's ``tol``, ``max_iter`` and solver options."""
        options = dict(self.solver_options or {})
        if solver == "auto":
            if options:
                raise FairermValueError(
                    f"solver_options {sorted(options)} are options of one solver; with solver='auto' several may "
                    f"run. Name the solver (e.g. solver={self._solvers[1]!r}) to pass them."
                )
            options = backend_options or {}
        else:
            options = {**((backend_options or {}).get(solver) or {}), **options}
        warm_start = self._previous_solution() if warm_start is None else warm_start
        return solve(problem, solver, warm_start=warm_start, tol=self.tol, max_iter=self.max_iter,
                     options=options or None)

    def _record_solution(self, solution: Solution) -> None:
        """Store the solver's report and warn when the solution is not certified optimal."""
        self.solution_ = solution
        self.mu_ = np.asarray(solution.mu, dtype=float)
        self.n_iter_ = int(solution.n_iter)
        self.status_ = solution.status
        self.converged_ = bool(solution.converged)
        self.solver_ = solution.solver
        self.fallbacks_ = [(fallback.solver, fallback.reason) for fallback in solution.fallbacks]
        self.objective_ = float(solution.primal_objective)
        self.duality_gap_ = float(solution.duality_gap)
        self.fit_time_ = float(solution.solve_time)
        if not solution.converged:
            what = ("the kernel is not positive semi-definite, so this is a stationary point of a non-convex "
                    "problem, not a certified optimum" if solution.status == "stationary_point"
                    else "the model is the last iterate")
            warnings.warn(
                ConvergenceWarning(
                    f"{type(self).__name__}: solver {solution.solver!r} stopped with status {solution.status!r} "
                    f"after {solution.n_iter} iterations: {solution.certificate.describe()}; {what}. Increase "
                    "max_iter, tighten tol, rescale the features (StandardScaler) or try another solver."
                ),
                stacklevel=3,
            )

    def predict(self, X):
        """Class labels: ``classes_[1]`` where the decision function is positive, else ``classes_[0]``."""
        scores = self.decision_function(X)
        if type(scores).__module__.startswith("dask."):  # a lazy dask array in, a lazy one out
            import dask.array as da

            return da.where(scores > 0, self.classes_[1], self.classes_[0])
        return self.classes_[(scores > 0).astype(int)]

    def _check_predict_input(self, X, *, accept_sparse=False):
        check_is_fitted(self, "solution_")  # set last: a fit that failed half-way is not fitted
        return validate_data(self, X, accept_sparse=("csr", "csc") if accept_sparse else False, dtype=np.float64,
                             order="C", ensure_all_finite=True, reset=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags
