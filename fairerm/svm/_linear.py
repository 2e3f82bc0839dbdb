"""Linear FERM: the hinge-loss linear SVM under the scalar-product fairness constraint."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._validation import check_binary_target, check_sample_weight, check_sensitive_features
from ..constraints import make_constraint, weighted_constraint
from ..exceptions import FairermValueError
from ..problem import LinearFermProblem, per_sample_box
from ..problem_dask import DaskLinearFermProblem, check_dask_features, is_dask_array, lazy_linear_scores
from .._memory import check_memory
from ..solvers import LINEAR_SOLVERS, noise_floor, orthonormal_basis
from ._base import BaseFairSVC

__all__ = ["FairLinearSVC"]


_is_dask_array = is_dask_array


class FairLinearSVC(BaseFairSVC):
    r"""Linear SVM under a fairness constraint (linear FERM, Donini et al. 2018).

    Solves

    .. math::

        \min_{w, b}\; \tfrac12\|w\|^2 + C\sum_{i=1}^n \max\big(0, 1 - y_i(\langle w, x_i\rangle + b)\big)
        \quad\text{s.t.}\quad |\langle w, u_j\rangle| \le \epsilon,\; j = 1..k,

    where, for equal opportunity with two groups, :math:`u = \bar x_{a,+} - \bar x_{b,+}` is the
    difference of the mean feature vectors of the positively-labelled examples of the two groups
    (Donini et al. 2018, eq. (10)); :math:`\langle w, u\rangle` is then (a multiple of) the difference
    of the groups' mean scores on their positives, and :math:`\epsilon = 0` makes them equal on the
    training sample. Other notions and more groups give several rows :math:`u_j` (see
    :mod:`fairerm.constraints`). The intercept is not penalised and does not enter the constraint.
    With ``sample_weight`` the hinge term of sample :math:`i` is weighted by :math:`C w_i` and the group
    means in :math:`u_j` are weighted means (``fit``). ``X`` may be a scipy.sparse CSR/CSC matrix: it is
    never densified (dual coordinate descent runs on its CSR rows).

    Parameters
    ----------
    C : float, default=1.0
        Weight :math:`C > 0` of the hinge losses.
    epsilon : float, default=0.0
        Tolerance :math:`\epsilon \ge 0` on :math:`|\langle w, u_j\rangle|`, in the units of the
        scores (so it depends on the scale of ``X``; standardise features first).
    constraint : {"equal_opportunity", "demographic_parity", "equalized_odds"} or FairnessConstraint
    solver : {"auto", "cvxpy", "osqp", "dcd"}, default="auto"
        ``"cvxpy"``: the primal written plainly in cvxpy and solved by the interior-point solver
        CLARABEL (``solver_options={"cvxpy_solver": ...}`` picks another). ``"osqp"``: the same
        primal in sparse form handed to OSQP. ``"dcd"``: dual coordinate descent in Numba, finished
        by an exact working-set step (an interior-point method with :math:`d\times d` Newton systems)
        that certifies the KKT conditions with the unpenalised intercept
        (:mod:`fairerm.solvers.linear_dcd`); memory is the data plus :math:`O(n)`. ``"auto"``:
        dcd first from 1,000 samples when the problem is well conditioned
        (:math:`\kappa = \max_i c_i\|x_i\|^2 \le 10^4`, :data:`fairerm.solvers.DCD_MAX_CONDITIONING`), else
        cvxpy first, each falling back to the others when its result
        is not certified (``fallbacks_`` records it); on a dask array, the distributed interior-point method
        (:mod:`fairerm.solvers.dask_ipm`; ``tol`` is its stopping gap, default 1e-11, and ``max_iter`` its
        iterations, default 100).
    tol : float or None, default=None
        The solver's stopping tolerance, in its own terms (``"dcd"``: the KKT tolerance of the exact
        step, default 1e-7; ``"osqp"``: ``eps_abs = eps_rel``, default 1e-7; ``"cvxpy"``: CLARABEL's
        gap and feasibility tolerances, default 1e-8). ``None``: the solver's default.
    max_iter : int or None, default=None
        The solver's iteration budget (``"dcd"``: epochs per inner solve; ``"osqp"``, ``"cvxpy"``:
        iterations). A fit stopped by it warns and is not refitted by another solver.
    solver_options : dict or None
        The named solver's own options (OSQP settings, ``cvxpy_solver`` and its options, or the DCD
        options of :func:`fairerm.solvers.linear_dcd.solve_linear`); an option the solver does not
        know is an error.
    fairness_loss : {"linear", "ramp"}, default="linear"
        The loss the fairness constraint measures the groups' positives with. ``"linear"``: the paper's
        convex constraint on the mean scores, :math:`|\langle w, u_j\rangle| \le \epsilon` (units of the
        scores). ``"ramp"``: the ramp :math:`R(t) = \min(1, \max(0, (1+t)/2))`, much closer to the 0-1 loss
        of DEO: :math:`|\sum_i C^u_{ji} R(f(x_i))| \le \epsilon` (units of a rate: for equal opportunity the
        ramp DEO of the training sample). Non-convex; solved by a short sequence of linear-loss FERM
        problems whose constraint keeps only the positives inside the band :math:`|f| < 1`, with an offset,
        warm-started from the linear-loss fit with :math:`\epsilon = 0` (``fairerm/svm/_ramp.py``,
        ``docs/maths.rst``).
    cccp_max_iter : int, default=10
        ``fairness_loss="ramp"``: at most this many linearised steps.
    cccp_tol : float, default=1e-6
        ``fairness_loss="ramp"``: stop when the objective changes by at most this (relative).
    ramp_tol : float or None, default=None
        ``fairness_loss="ramp"``: an iterate meets the ramp constraint when :math:`|G_j| \le \epsilon` +
        ``ramp_tol``; ``None``: half the weight of one point of the smallest group (for equal opportunity
        :math:`1/(2n_{\min,+})`), the resolution of a rate on the sample.
    warm_start : bool, default=False
        Start from the previous fit's solution (scikit-learn's convention; used by
        :func:`~fairerm.fair_path`).

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features)
    intercept_ : ndarray of shape (1,)
    classes_ : ndarray of shape (2,)
        ``classes_[1]`` is the positive class (:math:`y = +1`).
    constraint_vectors_ : ndarray of shape (n_constraints, n_features)
        The :math:`u_j` on the training sample.
    constraint_value_ : ndarray of shape (n_constraints,)
        :math:`\langle w, u_j\rangle` recomputed from ``coef_``.
    mu_ : ndarray of shape (n_constraints,)
        Multipliers of the fairness constraints (:math:`\mu_j > 0` iff :math:`\langle w,u_j\rangle = \epsilon`).
    constraint_labels_ : list of str
    status_ : str
        ``"optimal"`` when the duality gap and the constraint violation recomputed from the returned
        primal and dual variables are within tolerance (``solution_.certificate``); otherwise the
        solver's own reason for stopping, or ``"inaccurate"``.
    converged_, n_iter_, solver_, objective_, duality_gap_, fit_time_
    cccp_objectives_, cccp_ramp_values_, cccp_band_sizes_ : ndarray
        ``fairness_loss="ramp"``: the objective, the ramp constraint values :math:`G_j` and the number of
        constrained points inside the band, of the start (index 0) and of each linearised step.
    n_cccp_iter_, cccp_stop_reason_, cccp_chosen_, cccp_feasible_, ramp_tol_
        The number of steps, why they stopped (``"fixed_point"``, ``"objective_change_below_tol"``,
        ``"cycle"``, ``"max_steps"``), the index of the returned iterate (the smallest objective among
        those meeting the ramp constraint), whether one met it, and the tolerance used.
    ramp_constraint_value_ : ndarray of shape (n_constraints,)
        :math:`G_j` of the returned model on the training sample.
    cccp_interpolation_ : tuple (k, theta) or None
        When the returned model is the point :math:`(1-\theta)` step :math:`k` + :math:`\theta` step
        :math:`k+1` that meets the ramp constraint exactly (``status_ == "ramp_interpolant"``).
    fallbacks_ : list of (solver, reason)
        The solvers ``"auto"`` tried before ``solver_``, and why each was left.
    solution_ : Solution
        The full report (:class:`~fairerm.solvers.Solution`).

    References
    ----------
    M. Donini, L. Oneto, S. Ben-David, J. Shawe-Taylor, M. Pontil. "Empirical Risk Minimization
    Under Fairness Constraints". NeurIPS 2018. arXiv:1802.08626.

    Examples
    --------
    >>> from fairerm import FairLinearSVC
    >>> from fairerm.datasets import make_synthetic
    >>> data = make_synthetic(n_samples=300, include_sensitive=False, random_state=0)
    >>> model = FairLinearSVC(C=1.0).fit(data.data, data.target, sensitive_features=data.sensitive)
    >>> bool(abs(model.constraint_value_[0]) < 1e-6)
    True
    """

    _solvers = LINEAR_SOLVERS

    def __init__(self, C=1.0, *, epsilon=0.0, constraint="equal_opportunity", solver="auto", tol=None,
                 max_iter=None, solver_options=None, warm_start=False, fairness_loss="linear", cccp_max_iter=10,
                 cccp_tol=1e-6, ramp_tol=None):
        self.C = C
        self.epsilon = epsilon
        self.constraint = constraint
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.solver_options = solver_options
        self.warm_start = warm_start
        self.fairness_loss = fairness_loss
        self.cccp_max_iter = cccp_max_iter
        self.cccp_tol = cccp_tol
        self.ramp_tol = ramp_tol

    def fit(self, X, y, *, sensitive_features=None, sample_weight=None):
        """Fit the fair linear SVM.

        Parameters
        ----------
        X : array-like or scipy.sparse CSR/CSC matrix of shape (n_samples, n_features), or a dask array
            Sparse ``X`` is never densified: the constraint vectors are sparse products, the DCD solver
            works on CSR rows (a CSC matrix is converted to CSR once, a copy of its nonzeros) and the
            certificate's scores are ``X @ w``. A ``dask.array.Array`` (with ``y``, ``sensitive_features``
            and ``sample_weight`` as dask arrays or arrays) is fitted where its chunks lie: with
            ``solver="auto"`` the constraint vectors come from one pass over the chunks and the
            interior-point method of :mod:`fairerm.solvers.dask_ipm` maps over the chunks and sums
            :math:`d\\times d` pieces, so no process holds more than a chunk and :math:`O(d^2)` (nothing
            :math:`n`-long is collected; ``solution_.alpha`` is empty). A named in-memory solver instead
            collects the (projected) rows and solves in memory.
        y : array-like of shape (n_samples,), two classes
        sensitive_features : array-like of shape (n_samples,) or DataFrame
            Group of each sample (two or more groups; several columns: each combination of values is a
            group, a tuple). Required.
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights: sample :math:`i`'s hinge term is weighted by :math:`w_i` (the dual box
            becomes :math:`c_i = C w_i`, as in :class:`sklearn.svm.SVC`) and the group means of the
            constraint vectors are weighted means, :math:`\\sum_{i\\in g} w_i x_i / \\sum_{i\\in g} w_i`.
            Integer weights give the model fitted on repeated rows; a zero weight, the model without the row.

        Returns
        -------
        self
        """
        if _is_dask_array(X):
            return self._fit_dask(X, y, sensitive_features, sample_weight)
        self._check_params()
        problem, _ = self._validated_problem(X, y, sensitive_features, sample_weight)
        return self._fit_validated(problem, self._previous_solution())

    def _check_params(self) -> None:
        self._check_common_params()

    def _validated_problem(self, X, y, sensitive_features, sample_weight):
        """The problem on the validated data (dense or sparse) and the validated weights; ``None`` for a dask array."""
        if _is_dask_array(X):
            return None
        X, y_signed, weights, sample_weight = self._validate_training_data(X, y, sensitive_features, sample_weight,
                                                                           accept_sparse=True)
        problem = LinearFermProblem(X, y_signed, per_sample_box(self.C, sample_weight, X.shape[0]), weights.weights,
                                    float(self.epsilon))
        return problem, sample_weight

    def _fit_validated(self, problem: LinearFermProblem, previous):
        """Solve ``problem`` from the warm start ``previous``, store the weights and report."""
        solution, _ = self._fit_problem(problem, self.solver, previous=previous)
        self.coef_ = solution.coef.reshape(1, -1)
        self.intercept_ = np.array([solution.intercept])
        self.constraint_vectors_ = problem.U
        self.constraint_value_ = self.constraint_vectors_ @ self.coef_[0]
        self._record_solution(solution)
        return self

    def _fit_dask(self, X, y, sensitive_features, sample_weight=None):
        """Fit on a dask array: ``solver="auto"`` solves where the chunks lie (:mod:`fairerm.solvers.dask_ipm`)."""
        self._check_common_params()
        if self.fairness_loss != "linear":
            raise FairermValueError(f"fairness_loss={self.fairness_loss!r} is not available for a dask array X (its "
                                    "steps re-weight the rows by their scores); pass a numpy array or use "
                                    "fairness_loss='linear'.")
        if sensitive_features is None:
            self._validate_training_data(X, y, None)  # the usual error
        check_dask_features(X, estimator=type(self).__name__)  # shape, dtype, known chunk sizes: nothing computed
        if self.solver != "auto":
            return self._fit_dask_in_memory(X, y, sensitive_features, sample_weight)
        problem = DaskLinearFermProblem(X, y, sensitive_features, self.C, self.epsilon, self.constraint, sample_weight)
        self.classes_, self.constraint_, self.groups_ = problem.classes, problem.constraint, problem.groups
        self.sensitive_feature_names_ = problem.group_names
        self.constraint_labels_ = list(problem.labels)
        self.n_features_in_ = problem.n_features
        solution = self._solve(problem, "auto")
        self.coef_ = solution.coef.reshape(1, -1)
        self.intercept_ = np.array([solution.intercept])
        self.constraint_vectors_ = problem.U
        self.constraint_value_ = problem.U @ self.coef_[0]
        self._record_solution(solution)
        return self

    def _fit_dask_in_memory(self, X, y, sensitive_features, sample_weight=None):
        """A named in-memory solver on a dask array: constraint vectors and projection by chunks, solved in memory."""
        import dask
        import dask.array as da

        if X.ndim != 2:
            return self.fit(np.asarray(X), y, sensitive_features=sensitive_features,
                            sample_weight=sample_weight)  # the usual errors
        X = X.astype(np.float64)
        n, d = X.shape
        y, sensitive_features = (np.asarray(v.compute() if _is_dask_array(v) else v) for v in (y, sensitive_features))
        if _is_dask_array(sample_weight):
            sample_weight = sample_weight.compute()
        target = check_binary_target(y, n)
        sens = check_sensitive_features(sensitive_features, n)
        sample_weight = check_sample_weight(sample_weight, n)
        constraint = make_constraint(self.constraint)
        weights = weighted_constraint(constraint, target.signed, sens, sample_weight)
        # the rows come to this process: the array, the solver's contiguous copy and the projection's block
        check_memory(3.0 * 8.0 * n * d, f"solver={self.solver!r} on a {n} x {d} dask array (collected in memory)",
                     "Use solver='auto', which fits on the chunks where they lie (fairerm.solvers.dask_ipm).")
        Cw = da.from_array(weights.weights, chunks=(weights.weights.shape[0], X.chunks[0]))
        column_sizes = da.maximum(abs(X.max(axis=0)), abs(X.min(axis=0)))
        U, finite, column_sizes = dask.compute(Cw @ X, da.isfinite(X).all(), column_sizes)
        if not finite:
            raise FairermValueError("X contains NaN or infinity; got a dask array with non-finite values. "
                                    "Impute or drop them before fitting.")
        if float(self.epsilon) == 0.0:  # w orthogonal to every u_j: exact for epsilon = 0
            Q = orthonormal_basis(U, noise_floor(weights.weights), column_sizes=np.asarray(column_sizes, float))
            X = X - (X @ Q) @ Q.T
        X_local = np.ascontiguousarray(X.compute(), dtype=np.float64)
        self.classes_, self.constraint_, self.groups_ = target.classes, constraint, sens.groups
        self.sensitive_feature_names_ = sens.names
        self.constraint_labels_ = list(weights.labels)
        self.n_features_in_ = d
        problem = LinearFermProblem(X_local, target.signed, per_sample_box(self.C, sample_weight, n), weights.weights,
                                    float(self.epsilon))
        solution = self._solve(problem, self.solver)
        self.coef_ = solution.coef.reshape(1, -1)
        self.intercept_ = np.array([solution.intercept])
        self.constraint_vectors_ = U
        self.constraint_value_ = U @ self.coef_[0]
        self._record_solution(solution)
        return self

    def decision_function(self, X):
        """Scores :math:`\\langle w, x\\rangle + b`; positive means ``classes_[1]`` (lazy for a dask ``X``)."""
        if is_dask_array(X):
            check_is_fitted(self, "solution_")
            return lazy_linear_scores(X, self.coef_[0], self.intercept_[0], type(self).__name__)
        X = self._check_predict_input(X, accept_sparse=True)
        return np.asarray(X @ self.coef_[0]).ravel() + self.intercept_[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # CSR/CSC X, never densified
        return tags
