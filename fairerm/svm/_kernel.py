"""Kernel FERM: the fair kernel SVM, exact for every epsilon."""

from __future__ import annotations

import numbers
import sys

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._memory import check_memory
from .._validation import check_option, check_scalar
from ..approximation import APPROXIMATIONS, make_feature_map
from ..exceptions import FairermTypeError, FairermValueError
from ..kernels import KernelSpec, check_precomputed_kernel, check_training_kernel, decision_values, gram_block
from ..kernels._spec import weighted_variance
from ..problem import KernelFermProblem, LinearFermProblem, per_sample_box
from ..problem_dask import DaskLinearFermProblem, check_dask_features, is_dask_array
from ..solvers import KERNEL_SOLVERS, Solution
from ._base import RAMP_ATTRIBUTES, BaseFairSVC


def _features(block, feature_map):
    """One chunk of rows through the fitted approximate feature map :math:`z`."""
    return np.asarray(feature_map.transform(np.asarray(block, dtype=np.float64)), dtype=np.float64)


def _scale_gamma(X, sample_weight=None) -> float:
    """``gamma="scale"`` on a dask array: :math:`1/(d\\operatorname{Var}(X))` by a tree reduction (rows
    counted :math:`w_i` times with ``sample_weight``, as :func:`fairerm.kernels.resolve_gamma`)."""
    import dask.array as da

    X = X.astype(np.float64)
    if sample_weight is not None and tuple(np.shape(sample_weight)) == (X.shape[0],):  # else refused next
        w = sample_weight if hasattr(sample_weight, "compute") else da.from_array(
            np.asarray(sample_weight, dtype=np.float64), chunks=(X.chunks[0],))
        var = weighted_variance(X, w.astype(np.float64).rechunk((X.chunks[0],)))
        if np.isfinite(var):  # bad weights (NaN): the problem's checks refuse them next
            return 1.0 / (X.shape[1] * var) if var != 0.0 else 1.0
    var = float(X.var().compute())
    return 1.0 / (X.shape[1] * var) if var != 0.0 else 1.0

__all__ = ["FairKernelSVC"]

#: ``decision_function`` of an approximate kernel maps this many bytes of z(x) at a time.
APPROXIMATE_BLOCK_BYTES = 64 * 2**20

#: Fitted only with ``approximation`` (a linear model on the approximate features), or only without it.
APPROXIMATE_ATTRIBUTES = ("coef_", "n_components_", "constraint_vectors_")
EXACT_ATTRIBUTES = ("expansion_indices_", "expansion_coef_", "expansion_vectors_", "constraint_support_",
                    "constraint_weights_")


class FairKernelSVC(BaseFairSVC):
    r"""Kernel SVM under a fairness constraint in feature space (kernel FERM, Donini et al. 2018).

    Solves, in the reproducing-kernel Hilbert space of :math:`k(x, z) = \langle\phi(x),\phi(z)\rangle`,

    .. math::

        \min_{w, b}\; \tfrac12\|w\|^2 + C\sum_{i=1}^n \max\big(0, 1 - y_i(\langle w, \phi(x_i)\rangle + b)\big)
        \quad\text{s.t.}\quad |\langle w, u_j\rangle| \le \epsilon,

    with :math:`u = \frac{1}{n_{a,+}}\sum_{y_i=+1,s_i=a}\phi(x_i) - \frac{1}{n_{b,+}}\sum_{y_i=+1,s_i=b}\phi(x_i)`
    for equal opportunity (other notions: :mod:`fairerm.constraints`). The solution has the form
    :math:`w = \sum_i \alpha_i y_i \phi(x_i) - \sum_j \mu_j u_j`, so the decision function is

    .. math:: f(x) = \sum_i \alpha_i y_i k(x_i, x) - \sum_j \mu_j \langle u_j, \phi(x)\rangle + b
              = \sum_i \beta_i k(x_i, x) + b,

    where :math:`\langle u_j, \phi(x)\rangle` needs only the training points that enter :math:`u_j`
    (the positives of the groups, for equal opportunity). With ``sample_weight`` the box of
    :math:`\alpha_i` is :math:`C w_i` (per-sample :math:`C`, as libsvm's weighted SVC) and the group means
    in :math:`u_j` are weighted means.

    Parameters
    ----------
    C : float, default=1.0
    kernel : {"rbf", "linear", "poly", "sigmoid", "precomputed"}, default="rbf"
        With ``"precomputed"``, ``X`` in ``fit`` is the (n, n) training kernel and in
        ``decision_function`` the (n_new, n_train) kernel between new and training points.
    gamma : float or {"scale", "auto"}, default="scale"
        As in :class:`sklearn.svm.SVC`.
    degree : int, default=3
    coef0 : float, default=0.0
    epsilon : float, default=0.0
        Tolerance :math:`\epsilon \ge 0` on :math:`|\langle w, u_j\rangle|`.
    constraint : str or FairnessConstraint, default="equal_opportunity"
    solver : {"auto", "exact", "osqp", "cvxpy"}, default="auto"
        ``"exact"`` (``"auto"``'s first choice): our SMO with kernel rows on demand; for
        :math:`\epsilon = 0` a single SVM solve on the projected kernel
        :math:`K' = K - K C^{u\top}M^{+}C^u K`, for :math:`\epsilon > 0` an active-set method over the
        fairness constraints (a few warm-started SVM solves). ``"osqp"`` and ``"cvxpy"``: the QP on the
        dense kernel (teaching and testing; they need :math:`O(n^2)` memory and :math:`O(n^3)` time;
        ``"auto"`` falls back to them up to 1,000 samples when the SMO result is not certified).
    tol : float or None, default=None
        The solver's stopping tolerance in its own terms (``"exact"``: libsvm's maximal-violating-pair
        gap, default 1e-3; ``"osqp"``: ``eps_abs = eps_rel``, default 1e-7; ``"cvxpy"``: CLARABEL's
        tolerances, default 1e-8). ``None``: the solver's default.
    max_iter : int or None
        The solver's iteration budget (``"exact"``: SMO steps per SVM solve).
    cache_size : float, default=200
        Kernel row cache of the SMO solver, in MB (``"exact"`` only).
    shrinking : bool, default=True
        libsvm's shrinking heuristic (``"exact"`` only).
    solver_options : dict or None
        The named solver's own options (OSQP settings, cvxpy's; with ``approximation``, the linear
        solver's); an option the solver does not know is an error.
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
        Start from the previous fit's solution (its SMO state when the data are the same; used by
        :func:`~fairerm.fair_path`).
    verbose : bool, default=False
        Report progress on standard error: the blocks of the kernel columns of the constraint and of
        the certificate's scores, and the SMO's iterations and violating-pair gap (a long fit can
        also be interrupted with Ctrl-C between blocks and chunks of iterations).
    approximation : {None, "nystroem", "rff"}, default=None
        ``None``: the exact kernel. ``"nystroem"`` / ``"rff"``: map ``X`` through an explicit feature
        map :math:`z` with :math:`\langle z(x), z(x')\rangle \approx k(x, x')` (Nystroem landmarks, or
        random Fourier features for the RBF kernel; :mod:`fairerm.approximation`), fitted in ``fit``
        and seeded by ``random_state``, and solve *linear* FERM on :math:`z(x_i)`. The constraint is
        then exact in the approximate feature space (:math:`u` is the difference of the groups' mean
        :math:`z`), approximate with respect to the exact kernel. Solvers: ``"auto"``/``"exact"`` use
        the linear DCD solver, ``"osqp"``/``"cvxpy"`` the linear QP. Scales to millions of rows.
        With ``"nystroem"`` and ``n_components = n`` the features reproduce the training kernel and
        the model is the exact one.
    n_components : int, default=100
        Number of landmarks / random features (``approximation`` only; Nystroem uses at most n).
    random_state : int, RandomState or None, default=None
        Seed of the approximation.

    Attributes
    ----------
    support_ : ndarray of shape (n_SV,)
        Indices of the training points with :math:`\alpha_i > 0`.
    support_vectors_ : ndarray of shape (n_SV, n_features) (empty for a precomputed kernel)
    n_support_ : ndarray of shape (2,), support vectors per class
    dual_coef_ : ndarray of shape (1, n_SV)
        :math:`\alpha_i y_i` of the support vectors (scikit-learn's convention).
    intercept_ : ndarray of shape (1,)
    mu_ : ndarray of shape (n_constraints,)
        Multipliers of the fairness constraints.
    constraint_value_ : ndarray of shape (n_constraints,)
        :math:`\langle w, u_j\rangle` recomputed from the fitted expansion and the kernel.
    expansion_indices_, expansion_coef_ : ndarrays
        Indices :math:`i` with :math:`\beta_i \ne 0` and the :math:`\beta_i`; ``expansion_vectors_``
        are those training points (the decision function uses them).
    constraint_support_, constraint_weights_ : ndarrays
        The training points that enter the :math:`u_j` and their weights: :math:`u_j = \sum_l
        \text{constraint\_weights\_}[j, l]\,\phi(x_{\text{constraint\_support\_}[l]})`.
    weight_norm_ : float
        :math:`\|w\|` in the feature space.
    gamma_ : float
        The numeric :math:`\gamma` used.
    classes_, constraint_labels_
    status_, converged_, n_iter_, solver_, fallbacks_, objective_, duality_gap_, fit_time_, solution_
        The solver's report, as in :class:`~fairerm.FairLinearSVC` (``status_ == "optimal"`` is certified
        by the duality gap recomputed from the fitted expansion).
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
    feature_map_ : fitted transformer or None
        The approximate feature map (``approximation`` set); the model is then ``coef_`` (its weight
        vector in the feature space), ``intercept_`` and ``constraint_vectors_`` (the :math:`u_j` in
        that space); the ``expansion_*`` and ``constraint_support_`` attributes are not set.

    References
    ----------
    M. Donini, L. Oneto, S. Ben-David, J. Shawe-Taylor, M. Pontil. "Empirical Risk Minimization
    Under Fairness Constraints". NeurIPS 2018. arXiv:1802.08626.
    """

    _solvers = KERNEL_SOLVERS

    def __init__(self, C=1.0, *, kernel="rbf", gamma="scale", degree=3, coef0=0.0, epsilon=0.0,
                 constraint="equal_opportunity", solver="auto", tol=None, max_iter=None, cache_size=200.0,
                 shrinking=True, solver_options=None, approximation=None, n_components=100, random_state=None,
                 warm_start=False, verbose=False, fairness_loss="linear", cccp_max_iter=10, cccp_tol=1e-6,
                 ramp_tol=None):
        self.C = C
        self.kernel = kernel
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.epsilon = epsilon
        self.constraint = constraint
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.cache_size = cache_size
        self.shrinking = shrinking
        self.solver_options = solver_options
        self.approximation = approximation
        self.n_components = n_components
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.fairness_loss = fairness_loss
        self.cccp_max_iter = cccp_max_iter
        self.cccp_tol = cccp_tol
        self.ramp_tol = ramp_tol

    def fit(self, X, y, *, sensitive_features=None, sample_weight=None):
        """Fit the fair kernel SVM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or (n_samples, n_samples) if precomputed
            A scipy.sparse CSR/CSC matrix is accepted with ``approximation="nystroem"`` or ``"rff"``
            (the feature maps take it as it is); the exact kernels evaluate dense rows in compiled code and
            refuse it with an error that says what to do (an approximation, :class:`~fairerm.FairLinearSVC`
            for the linear kernel, or ``X.toarray()`` when it fits in memory): it is never densified here.
        y : array-like of shape (n_samples,), two classes
        sensitive_features : array-like of shape (n_samples,) or DataFrame, required
            Several columns: each combination of values is a group (a tuple).
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights: per-sample :math:`C`, :math:`c_i = C w_i` (as libsvm and
            :class:`sklearn.svm.SVC` do), and weighted group means in the constraint,
            :math:`u_j = \\sum_{i\\in g} w_i\\phi(x_i)/\\sum_{i\\in g} w_i - \\dots`, and ``gamma="scale"``
            on the weighted variance. Integer weights give the model fitted on repeated rows; a zero
            weight, the model without the row (with ``approximation``, up to the random landmarks or
            frequencies, drawn from all rows).

        Returns
        -------
        self
        """
        self._check_params()
        spec = KernelSpec(self.kernel, self.gamma, self.degree, self.coef0)  # its errors before the data's
        validated = self._validated_problem(X, y, sensitive_features, sample_weight, spec)
        if validated is not None:
            return self._fit_validated(validated[0], self._previous_solution())
        if is_dask_array(X):
            return self._fit_dask(X, y, sensitive_features, sample_weight, spec)
        if sp.issparse(X) and self.approximation is None:
            raise FairermTypeError(
                f"FairKernelSVC(kernel={self.kernel!r}) evaluates the exact kernel on dense rows; got a sparse "
                f"{type(X).__name__} of shape {X.shape}, which is not densified silently. Use "
                "approximation='nystroem' or 'rff' (they accept sparse X), FairLinearSVC for the linear kernel "
                "(sparse X, DCD on CSR rows), or pass X.toarray() if the dense matrix fits in memory."
            )
        X, y_signed, weights, sample_weight = self._validate_training_data(X, y, sensitive_features, sample_weight,
                                                                           accept_sparse=True)
        self.feature_map_ = None
        return self._fit_approximate(X, y_signed, weights.weights, spec,
                                     per_sample_box(self.C, sample_weight, X.shape[0]), sample_weight)

    def _check_params(self) -> None:
        self._check_common_params()
        check_scalar(self.cache_size, "cache_size", low=0.0)
        if not isinstance(self.shrinking, (bool, np.bool_)):
            raise FairermValueError(f"shrinking must be True or False; got {self.shrinking!r}.")
        if self.approximation is not None:
            check_option(self.approximation, "approximation", (None,) + APPROXIMATIONS)
            check_scalar(self.n_components, "n_components", kind=numbers.Integral, low=1)

    def _validated_problem(self, X, y, sensitive_features, sample_weight, spec: KernelSpec | None = None):
        """The exact kernel's problem on the validated data and the validated weights; ``None`` for a dask
        array, an approximation or sparse ``X`` (``fit`` takes their routes, or refuses). ``spec``: the
        kernel of this estimator's parameters when the caller built it already."""
        if spec is None:
            spec = KernelSpec(self.kernel, self.gamma, self.degree, self.coef0)  # its errors before the data's
        if is_dask_array(X) or self.approximation is not None or sp.issparse(X):
            return None
        X, y_signed, weights, sample_weight = self._validate_training_data(X, y, sensitive_features, sample_weight)
        self.feature_map_ = None
        psd = None
        if spec.is_precomputed:
            X = check_precomputed_kernel(X, X.shape[0], X.shape[0], name="X")
            psd = check_training_kernel(X, name="X")
        problem = KernelFermProblem(X, y_signed, per_sample_box(self.C, sample_weight, X.shape[0]), weights.weights,
                                    float(self.epsilon), spec.resolve(X, sample_weight), psd=psd,
                                    progress=self._report if self.verbose else None)
        return problem, sample_weight

    def _fit_validated(self, problem: KernelFermProblem, previous: Solution | None):
        """Solve ``problem`` (SMO options from this estimator), store the expansion and report."""
        smo = {"cache_size": float(self.cache_size), "shrinking": bool(self.shrinking)}
        if self.verbose:
            smo["verbose"] = True
        solution, solved = self._fit_problem(problem, self.solver, {"exact": smo}, previous)
        self._store_expansion(solved, solution)
        if solved is not problem:  # a ramp step: report the linear-loss constraint of the base weights
            Cw = problem.constraint_weights
            self.constraint_support_ = problem.constraint_support
            self.constraint_weights_ = Cw[:, self.constraint_support_]
            self.constraint_value_ = Cw @ (solution.training_decision_values - solution.intercept)
        self._record_solution(solution)
        return self

    def _report(self, message: str) -> None:
        print(f"[{type(self).__name__}] {message}", file=sys.stderr, flush=True)

    def _store_expansion(self, problem: KernelFermProblem, solution: Solution) -> None:
        """The scikit-learn SVC attributes and the expansion :math:`w = \\sum_i\\beta_i\\phi(x_i)`."""
        X, y_signed, Cw, spec = problem.X, problem.y, problem.constraint_weights, problem.kernel
        # the certified expansion (the QP backends' dual noise was zeroed before the certificate)
        alpha = np.asarray(solution.alpha, dtype=float)
        beta = solution.expansion_coef
        self._drop_fitted(APPROXIMATE_ATTRIBUTES)  # an exact expansion: no approximate features' model
        self._kernel_spec = spec
        self.gamma_ = float(spec.params()[0]) if not spec.is_precomputed else float("nan")
        self.shape_fit_ = X.shape
        self.support_ = np.flatnonzero(alpha > 0)
        self.support_vectors_ = X[self.support_] if not spec.is_precomputed else np.empty((0, 0))
        self.n_support_ = np.array([np.sum(y_signed[self.support_] < 0), np.sum(y_signed[self.support_] > 0)],
                                   dtype=np.int32)
        self.dual_coef_ = (y_signed * alpha)[self.support_].reshape(1, -1)
        self.intercept_ = np.array([solution.intercept])
        self.expansion_indices_ = np.flatnonzero(beta != 0.0)
        self.expansion_coef_ = beta[self.expansion_indices_]
        self.expansion_vectors_ = X[self.expansion_indices_] if not spec.is_precomputed else np.empty((0, 0))
        self.constraint_support_ = problem.constraint_support
        self.constraint_weights_ = Cw[:, self.constraint_support_]
        # the front door computed <w, u_j> and ||w||^2 from this expansion and the data
        self.constraint_value_ = np.asarray(solution.constraint_value, dtype=float)
        self.weight_norm_ = float(np.sqrt(max(solution.w_norm_sq, 0.0)))

    def _fit_approximate(self, X, y_signed, constraint_weights, spec: KernelSpec, upper, sample_weight=None):
        """Linear FERM on the approximate features :math:`z(x_i)` (``approximation`` set)."""
        spec = spec.resolve(X, sample_weight)
        if spec.is_precomputed:
            make_feature_map(self.approximation, spec, 1)  # raises the explanatory error
        n_components = int(self.n_components)
        if self.approximation == "nystroem":
            n_components = min(n_components, X.shape[0])  # at most n landmarks (n_components_ records it)
        self.feature_map_ = make_feature_map(self.approximation, spec, n_components, self.random_state)
        # z(x) of every row, dense (the map's own temporaries about one more copy), before it is formed
        check_memory(2.0 * 8.0 * X.shape[0] * n_components,
                     f"The approximate features z(x) of {X.shape[0]} rows x {n_components} components",
                     "Lower n_components, or fit on a dask array (its chunks are mapped through z where they lie).")
        Z = np.ascontiguousarray(self.feature_map_.fit_transform(X), dtype=np.float64)
        problem = LinearFermProblem(Z, y_signed, upper, constraint_weights, float(self.epsilon))
        linear_solver = {"auto": "auto", "exact": "dcd"}.get(self.solver, self.solver)
        solution, _ = self._fit_problem(problem, linear_solver)
        self._drop_fitted(EXACT_ATTRIBUTES)  # a linear model on z(x): no kernel expansion
        self._kernel_spec = spec
        self.gamma_ = float(spec.params()[0])
        self.shape_fit_ = X.shape
        self.n_components_ = Z.shape[1]
        self.coef_ = solution.coef.reshape(1, -1)
        self.intercept_ = np.array([solution.intercept])
        alpha = np.asarray(solution.alpha, dtype=float)
        self.support_ = np.flatnonzero(alpha > (1e-8 * upper if solution.solver != "dcd" else 0.0))
        self.support_vectors_ = X[self.support_]
        self.n_support_ = np.array([np.sum(y_signed[self.support_] < 0), np.sum(y_signed[self.support_] > 0)],
                                   dtype=np.int32)
        self.dual_coef_ = (y_signed * alpha)[self.support_].reshape(1, -1)
        self.constraint_vectors_ = problem.U
        self.constraint_value_ = problem.U @ self.coef_[0]
        self.weight_norm_ = float(np.linalg.norm(self.coef_[0]))
        self._record_solution(solution)
        return self

    def _fit_dask(self, X, y, sensitive_features, sample_weight, spec: KernelSpec):
        """An approximate kernel on a dask array: chunks mapped through :math:`z`, the distributed linear solver."""
        if self.approximation is None or self.solver not in ("auto", "exact"):
            raise FairermValueError(
                f"FairKernelSVC on a dask array needs approximation='nystroem' or 'rff' and solver='auto' (the exact "
                f"kernel holds n x n interactions); got approximation={self.approximation!r}, solver={self.solver!r}.")
        if sensitive_features is None:
            self._validate_training_data(X, y, None)  # the usual error
        check_dask_features(X, estimator=type(self).__name__)  # shape, dtype, known chunk sizes: nothing computed
        X = X.rechunk({1: -1})
        n, d = X.shape
        if spec.is_precomputed:
            make_feature_map(self.approximation, spec, 1)  # raises the explanatory error
        if isinstance(spec.gamma, str):  # "scale" by a tree reduction; "auto" and bad strings need only d
            spec = KernelSpec(spec.name, _scale_gamma(X, sample_weight) if spec.gamma == "scale" else spec.gamma,
                              spec.degree,
                              spec.coef0).resolve(np.zeros((1, d)))
        n_components = int(self.n_components) if self.approximation == "rff" else min(int(self.n_components), n)
        self.feature_map_ = make_feature_map(self.approximation, spec, n_components, self.random_state)
        if self.approximation == "nystroem":  # landmarks: n_components rows drawn without replacement
            rows = np.sort(check_random_state(self.random_state).permutation(n)[:n_components])
            self.feature_map_.fit(np.asarray(X[rows].compute(), dtype=np.float64))
        else:
            self.feature_map_.fit(np.asarray(X[:2].compute(), dtype=np.float64))
        Z = X.map_blocks(_features, self.feature_map_, chunks=(X.chunks[0], (n_components,)), dtype=np.float64)
        problem = DaskLinearFermProblem(Z, y, sensitive_features, self.C, self.epsilon, self.constraint, sample_weight)
        self.classes_, self.constraint_, self.groups_ = problem.classes, problem.constraint, problem.groups
        self.sensitive_feature_names_, self.constraint_labels_ = problem.group_names, list(problem.labels)
        self.n_features_in_ = d
        solution = self._solve(problem, "auto")
        self._drop_fitted(EXACT_ATTRIBUTES + RAMP_ATTRIBUTES)
        self._kernel_spec, self.gamma_, self.shape_fit_ = spec, float(spec.params()[0]), (n, d)
        self.n_components_ = n_components
        self.coef_ = solution.coef.reshape(1, -1)
        self.intercept_ = np.array([solution.intercept])
        self.support_, self.support_vectors_ = np.zeros(0, dtype=np.intp), np.zeros((0, d))  # not collected
        self.n_support_, self.dual_coef_ = np.zeros(2, dtype=np.int32), np.zeros((1, 0))
        self.constraint_vectors_ = problem.U
        self.constraint_value_ = problem.U @ self.coef_[0]
        self.weight_norm_ = float(np.linalg.norm(self.coef_[0]))
        self._record_solution(solution)
        return self

    def kernel_matrix(self, A, B=None):
        """The fitted kernel :math:`K(A, B)` (``gamma`` resolved on the training data)."""
        if self._kernel_spec.is_precomputed:
            raise FairermValueError("kernel='precomputed' has no feature map; the kernel values are your input.")
        A = np.ascontiguousarray(A, dtype=np.float64)
        B = A if B is None else np.ascontiguousarray(B, dtype=np.float64)
        return gram_block(A, B, self._kernel_spec)

    def decision_function(self, X):
        """Scores :math:`f(x) = \\sum_i \\beta_i k(x_i, x) + b`; positive means ``classes_[1]``."""
        approximate = getattr(self, "feature_map_", None) is not None
        if sp.issparse(X) and not approximate and hasattr(self, "solution_"):
            raise FairermTypeError(
                f"This FairKernelSVC evaluates the exact kernel on dense rows; got a sparse {type(X).__name__}. "
                "Pass X.toarray(), or fit with approximation='nystroem' or 'rff' to predict from sparse X."
            )
        if is_dask_array(X) and approximate:  # lazy: chunks through z, then the linear scores
            check_is_fitted(self, "solution_")
            check_dask_features(X, estimator=type(self).__name__, min_samples=0, n_features=self.n_features_in_)
            X = X.rechunk({1: -1})
            Z = X.map_blocks(_features, self.feature_map_, chunks=(X.chunks[0], (self.n_components_,)),
                             dtype=np.float64)
            return Z @ self.coef_[0] + self.intercept_[0]
        X = self._check_predict_input(X, accept_sparse=approximate)
        spec = self._kernel_spec
        if approximate:  # by blocks of rows: z(x) of a block at a time, never the whole n x n_components
            out = np.empty(X.shape[0])
            step = max(1, int(APPROXIMATE_BLOCK_BYTES // (8 * max(self.n_components_, 1))))
            for start in range(0, X.shape[0], step):
                block = X[start:start + step]
                out[start:start + step] = self.feature_map_.transform(block) @ self.coef_[0] + self.intercept_[0]
            return out
        if spec.is_precomputed:
            if X.shape[1] != self.shape_fit_[0]:
                raise FairermValueError(
                    f"X must be the precomputed kernel between new points and the {self.shape_fit_[0]} training "
                    f"points, shape (n_new, {self.shape_fit_[0]}); got {X.shape}."
                )
            return X[:, self.expansion_indices_] @ self.expansion_coef_ + self.intercept_[0]
        return decision_values(X, self.expansion_vectors_, self.expansion_coef_, self.intercept_[0], spec)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = self.kernel == "precomputed"
        tags.input_tags.sparse = self.approximation is not None  # the exact kernels refuse sparse X
        return tags
