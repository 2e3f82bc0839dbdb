"""The ramp-loss fairness constraint and the constraint offsets it needs.

Oracles: every step of the ramp sequence, and every backend on a problem with offsets, against the
plain cvxpy statement of the same convex problem (CLARABEL); the ramp constraint recomputed from
the fitted model's decision function.
"""

import warnings

import cvxpy as cp
import numpy as np
import pytest

from fairerm import FairKernelSVC, FairLinearSVC
from fairerm.datasets import make_synthetic
from fairerm.exceptions import FairermValueError
from fairerm.kernels import KernelSpec
from fairerm.problem import KernelFermProblem, LinearFermProblem
from fairerm.solvers import solve
from fairerm.svm._ramp import (KINK_TOL, default_ramp_tol, linearised_constraint, on_kink, ramp, ramp_cccp,
                               ramp_constraint, ramp_pieces, ramp_slope)

GAMMA = 0.5


def _data(n=120, seed=0):
    data = make_synthetic(n_samples=n, include_sensitive=False, random_state=seed)
    X, s = np.asarray(data.data, dtype=float), np.asarray(data.sensitive)
    y = np.where(np.asarray(data.target) == np.unique(data.target)[1], 1.0, -1.0)
    groups = np.unique(s)
    W = np.zeros((1, len(y)))
    a, b = (y > 0) & (s == groups[0]), (y > 0) & (s == groups[1])
    W[0, a], W[0, b] = 1.0 / a.sum(), -1.0 / b.sum()
    return X, y, s, W


def _cvxpy_linear(X, y, upper, W, offset, eps):
    """min 1/2|w|^2 + sum c_i hinge  s.t.  |<w, W X> + offset| <= eps, written plainly."""
    w, b = cp.Variable(X.shape[1]), cp.Variable()
    objective = 0.5 * cp.sum_squares(w) + upper @ cp.pos(1 - cp.multiply(y, X @ w + b))
    problem = cp.Problem(cp.Minimize(objective), [cp.abs((W @ X) @ w + offset) <= eps])
    problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    return problem.value


def _cvxpy_kernel(K, y, upper, W, offset, eps):
    """The same in the expansion w = sum beta_i phi(x_i), with K = R R^T."""
    n = len(y)
    R = np.linalg.cholesky(K + 1e-10 * np.eye(n))
    beta, b = cp.Variable(n), cp.Variable()
    objective = 0.5 * cp.sum_squares(R.T @ beta) + upper @ cp.pos(1 - cp.multiply(y, K @ beta + b))
    problem = cp.Problem(cp.Minimize(objective), [cp.abs((W @ K) @ beta + offset) <= eps])
    problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    return problem.value


def test_ramp_is_a_difference_of_hinges():
    t = np.linspace(-4, 4, 81)
    assert np.allclose(ramp(t), 0.5 * (np.maximum(0, 1 + t) - np.maximum(0, t - 1)))
    assert np.array_equal(ramp_slope(np.array([-2.0, -1.0, 0.0, 0.999, 1.0])), [0, 0, 0.5, 0.5, 0])
    assert np.array_equal(ramp_pieces(np.array([-2.0, -1.0, 0.0, 1.0, 3.0])), [-1, -1, 0, 1, 1])


def test_linearisation_is_exact_on_the_pieces():
    """<w, u^(k)> + c^(k) equals G(w, b^(k)) for every w that keeps each point on its piece."""
    X, y, s, W = _data()
    rng = np.random.default_rng(1)
    w, b = rng.normal(size=X.shape[1]), 0.3
    f = X @ w + b
    weights, offset = linearised_constraint(W, f, b)
    w_new = w + 1e-6 * rng.normal(size=X.shape[1])  # small move: no point changes piece
    assert np.array_equal(ramp_pieces(X @ w_new + b), ramp_pieces(f))
    assert np.allclose((weights @ X) @ w_new + offset, ramp_constraint(W, X @ w_new + b), atol=1e-12)
    assert np.allclose(weights[0, ramp_slope(f) == 0], 0.0)  # outside the band: no weight


@pytest.mark.parametrize("eps", [0.0, 0.05])
@pytest.mark.parametrize("offset", [0.3, -0.2])
def test_offsets_every_backend_matches_cvxpy(eps, offset):
    X, y, _, W = _data(80)
    upper = np.full(len(y), 0.5)
    linear = LinearFermProblem(X, y, upper, W, eps, np.array([offset]))
    reference = _cvxpy_linear(X, y, upper, W, np.array([offset]), eps)
    for solver in ("cvxpy", "osqp", "dcd"):
        solution = solve(linear, solver)
        assert solution.status == "optimal", solver
        assert solution.primal_objective == pytest.approx(reference, rel=1e-5), solver
        assert abs(solution.constraint_value[0]) <= eps + 1e-8, solver  # <w, u> + c, recomputed
    spec = KernelSpec("rbf", gamma=GAMMA)
    K = KernelFermProblem(X, y, upper, W, eps, spec).K
    reference = _cvxpy_kernel(K, y, upper, W, np.array([offset]), eps)
    for solver in ("cvxpy", "osqp", "exact"):
        kernel = KernelFermProblem(X, y, upper, W, eps, spec, constraint_offset=np.array([offset]))
        solution = solve(kernel, solver)
        assert solution.status == "optimal", solver
        assert solution.primal_objective == pytest.approx(reference, rel=2e-4), solver
        beta = solution.expansion_coef
        assert abs((W @ K @ beta)[0] + offset) <= eps + 1e-7, solver


def test_offset_shape_is_checked():
    X, y, _, W = _data(40)
    with pytest.raises(FairermValueError, match="constraint_offset"):
        LinearFermProblem(X, y, np.ones(len(y)), W, 0.0, np.zeros(3))


@pytest.mark.parametrize("kind", ["linear", "kernel"])
def test_every_ramp_step_is_the_cvxpy_problem_of_that_step(kind):
    X, y, _, W = _data(90)
    upper = np.full(len(y), 1.0)
    eps = 0.02
    if kind == "linear":
        start = LinearFermProblem(X, y, upper, W, 0.0)
        solver = "dcd"
    else:
        start = KernelFermProblem(X, y, upper, W, 0.0, KernelSpec("rbf", gamma=GAMMA))
        solver = "exact"
    path = ramp_cccp(start, lambda p, warm: solve(p, solver, warm_start=warm), eps, max_steps=4,
                     keep_problems=True)
    assert 1 <= path.n_steps <= 4 and path.stop_reason in ("fixed_point", "objective_change_below_tol", "cycle",
                                                           "max_steps")
    K = start.K if kind == "kernel" else None
    for k in range(1, len(path.solutions)):
        previous, problem, solution = path.solutions[k - 1], path.problems[k], path.solutions[k]
        weights, offset = linearised_constraint(W, previous.training_decision_values, previous.intercept)
        assert np.array_equal(problem.constraint_weights, weights) and np.array_equal(problem.constraint_offset,
                                                                                      offset)
        assert problem.epsilon == eps
        reference = (_cvxpy_linear(X, y, upper, weights, offset, eps) if kind == "linear"
                     else _cvxpy_kernel(K, y, upper, weights, offset, eps))
        assert solution.status == "optimal"
        assert solution.primal_objective == pytest.approx(reference, rel=2e-4 if kind == "kernel" else 1e-5)
        # the record is the true ramp constraint of the step's model
        assert np.allclose(path.ramp_values[k], ramp_constraint(W, solution.training_decision_values))
    chosen = path.chosen
    feasible = [i for i, v in enumerate(path.ramp_values) if np.max(np.abs(v)) <= eps + path.ramp_tol]
    assert path.feasible and chosen in feasible
    assert path.objectives[chosen] == min(path.objectives[i] for i in feasible)


def test_ramp_fit_lowers_the_objective_and_stops_at_a_fixed_point():
    """Linear, eps = 0, the synthetic sample: the first step lowers the objective of the linear-loss start
    (the ramp constraint is looser where the scores are beyond the band), and the sequence stops at a
    fixed point whose ramp constraint holds to ramp_tol, within the step budget."""
    data = make_synthetic(n_samples=400, include_sensitive=False, random_state=0)
    X, y, s = data.data, data.target, data.sensitive
    model = FairLinearSVC(C=1.0, epsilon=0.0, fairness_loss="ramp", cccp_max_iter=20).fit(X, y, sensitive_features=s)
    objectives = model.cccp_objectives_
    assert model.cccp_stop_reason_ == "fixed_point" and model.n_cccp_iter_ < 20
    assert objectives[model.cccp_chosen_] < objectives[0]  # below the linear-loss FERM objective
    assert np.max(np.abs(model.cccp_ramp_values_[-1])) <= model.ramp_tol_  # the fixed point meets the constraint
    assert model.objective_ == pytest.approx(objectives[model.cccp_chosen_])
    # the ramp DEO surrogate recomputed from the fitted model
    positive = np.asarray(y) == model.classes_[1]
    groups = np.unique(s)
    f = model.decision_function(X)
    G = ramp(f[positive & (s == groups[0])]).mean() - ramp(f[positive & (s == groups[1])]).mean()
    assert G == pytest.approx(model.ramp_constraint_value_[0], abs=1e-9)
    assert abs(G) <= model.epsilon + model.ramp_tol_


@pytest.mark.parametrize("eps", [0.0, 0.05])
def test_kernel_ramp_fit_meets_its_constraint(eps):
    data = make_synthetic(n_samples=200, include_sensitive=False, random_state=1)
    X, y, s = data.data, data.target, data.sensitive
    model = FairKernelSVC(C=1.0, gamma=GAMMA, epsilon=eps, fairness_loss="ramp", cccp_max_iter=6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a feasible iterate exists: no warning
        model.fit(X, y, sensitive_features=s)
    positive = np.asarray(y) == model.classes_[1]
    groups = np.unique(s)
    f = model.decision_function(X)
    G = ramp(f[positive & (s == groups[0])]).mean() - ramp(f[positive & (s == groups[1])]).mean()
    assert G == pytest.approx(model.ramp_constraint_value_[0], abs=1e-7)
    assert abs(G) <= eps + model.ramp_tol_
    assert len(model.cccp_objectives_) == model.n_cccp_iter_ + 1 <= 7
    assert model.ramp_tol_ == pytest.approx(default_ramp_tol(np.array([[1.0 / np.sum(positive & (s == g))
                                                                         for g in groups]])))


def test_ramp_options_are_checked():
    X, y, s, _ = _data(40)
    with pytest.raises(FairermValueError, match="fairness_loss"):
        FairLinearSVC(fairness_loss="hinge").fit(X, y, sensitive_features=s)
    with pytest.raises(FairermValueError, match="cccp_max_iter"):
        FairLinearSVC(fairness_loss="ramp", cccp_max_iter=0).fit(X, y, sensitive_features=s)


@pytest.mark.parametrize("Estimator", [FairLinearSVC, FairKernelSVC])
def test_exact_ramp_constraint_by_interpolating_between_steps(Estimator):
    """ramp_tol=0: an iterate rarely meets G = 0 exactly, but where consecutive iterates lie on either side
    the point between them does; its objective (recomputed from the model) is at most the larger end's."""
    data = make_synthetic(n_samples=300, include_sensitive=False, random_state=0)
    X, y, s = np.asarray(data.data), data.target, data.sensitive
    extra = {"gamma": 0.1} if Estimator is FairKernelSVC else {}  # iterates on either side of G = 0 (measured)
    model = Estimator(C=1.0, epsilon=0.0, fairness_loss="ramp", cccp_max_iter=6, ramp_tol=0.0, **extra)
    model.fit(X, y, sensitive_features=s)
    i, theta = model.cccp_interpolation_
    assert model.status_ == "ramp_interpolant" and 0 < theta < 1
    positive = np.asarray(y) == model.classes_[1]
    groups = np.unique(s)
    f = model.decision_function(X)
    G = ramp(f[positive & (s == groups[0])]).mean() - ramp(f[positive & (s == groups[1])]).mean()
    assert abs(G) <= 1e-9 and abs(model.ramp_constraint_value_[0]) <= 1e-9
    signed = np.where(positive, 1.0, -1.0)
    hinge = np.sum(np.maximum(0.0, 1.0 - signed * f))
    if Estimator is FairLinearSVC:
        w_sq = float(model.coef_[0] @ model.coef_[0])
    else:
        w_sq = model.weight_norm_ ** 2
    assert model.objective_ == pytest.approx(0.5 * w_sq + hinge, rel=1e-7)
    assert model.objective_ <= max(model.cccp_objectives_[i], model.cccp_objectives_[i + 1]) + 1e-9


@pytest.mark.parametrize("Estimator", [FairLinearSVC, FairKernelSVC])
def test_default_ramp_tol_of_integer_weights_is_that_of_the_repeated_rows(Estimator):
    """One positive of weight 50: the default ramp_tol was half its weight 50/W_g, 38 times the repeated
    rows' 1/(2 n_g); it is now half the weight of one unit, 1/(2 min_g W_g), for both."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 4))
    s = rng.integers(0, 2, size=200)
    X[:, 0] += s
    y = np.where(X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.5, size=200) > 0.5, 1, 0)
    weight = np.ones(200)
    weight[np.flatnonzero(y == 1)[0]] = 50.0
    weight[np.flatnonzero(y == 0)[:3]] = 0.0  # zero weights: the rows dropped
    rows = np.repeat(np.arange(200), weight.astype(int))
    options = dict(C=1.0, epsilon=0.0, fairness_loss="ramp")
    weighted = Estimator(**options).fit(X, y, sensitive_features=s, sample_weight=weight)
    repeated = Estimator(**options).fit(X[rows], y[rows], sensitive_features=s[rows])
    positives = [weight[(y == 1) & (s == g)].sum() for g in (0, 1)]
    assert weighted.ramp_tol_ == pytest.approx(repeated.ramp_tol_, rel=1e-12)
    assert weighted.ramp_tol_ == pytest.approx(0.5 / min(positives), rel=1e-12)


def test_scores_at_a_kink_are_classified_the_same_way_whatever_their_round_off():
    """A free support vector sits on the margin f = +-1 to round-off: either side of it, it is on the kink,
    outside the band, on the piece beyond it, and its term of the step's offset is the same."""
    kinks = np.array([1.0, 1.0 - 1e-15, 1.0 + 1e-15, -1.0, -1.0 + 1e-15, -1.0 - 1e-15, 1.0 - 0.5 * KINK_TOL])
    assert on_kink(kinks).all()
    assert np.array_equal(ramp_slope(kinks), np.zeros(kinks.size))
    assert np.array_equal(ramp_pieces(kinks), [1, 1, 1, -1, -1, -1, 1])
    inside = np.array([0.0, 1.0 - 10 * KINK_TOL, -1.0 + 10 * KINK_TOL, 0.999])
    assert not on_kink(inside).any()
    assert np.array_equal(ramp_slope(inside), np.full(inside.size, 0.5))
    assert np.array_equal(ramp_pieces(inside), np.zeros(inside.size))
    W = np.array([[0.25, -0.25, 0.25, -0.25, 0.5, -0.5, 0.0]])
    f = np.array([1.0, 1.0, -1.0, -1.0, 0.3, -0.2, 2.0])
    jitter = np.array([1e-15, -1e-15, 1e-15, -1e-15, 0.0, 0.0, 0.0])
    weights, offset = linearised_constraint(W, f, 0.1)
    weights_j, offset_j = linearised_constraint(W, f + jitter, 0.1)
    assert np.array_equal(weights, weights_j)
    assert offset == pytest.approx(offset_j, abs=1e-14)


def _kink_data(n=300, seed=3):
    """hunt C's repro: the linear-loss start puts free support vectors exactly on f = 1."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    s = rng.integers(0, 2, n)
    X[:, 0] += s
    y = (X[:, 0] + X[:, 1] + rng.normal(size=n) > 0.5).astype(int)
    return X, y, s, rng.integers(0, 4, n).astype(float)


def test_ramp_fit_with_integer_weights_is_the_fit_on_repeated_rows():
    """hunt C: the same start to 1e-12 put 116 or 117 points in the band; the models differed by 0.016."""
    X, y, s, weight = _kink_data()
    rows = np.repeat(np.arange(len(y)), weight.astype(int))
    options = dict(fairness_loss="ramp", epsilon=0.05, solver="cvxpy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weighted = FairLinearSVC(**options).fit(X, y, sensitive_features=s, sample_weight=weight)
        repeated = FairLinearSVC(**options).fit(X[rows], y[rows], sensitive_features=s[rows])
    assert np.max(np.abs(weighted.coef_ - repeated.coef_)) <= 1e-6
    assert weighted.objective_ == pytest.approx(repeated.objective_, rel=1e-7)
    assert weighted.n_cccp_iter_ == repeated.n_cccp_iter_ and weighted.cccp_stop_reason_ == repeated.cccp_stop_reason_


def test_ramp_warm_start_gives_the_cold_fit():
    """warm_start only sets the solver's start: the path, and the model, are the cold fit's."""
    def data(seed, n=400):
        r = np.random.default_rng(seed)
        X = r.normal(size=(n, 4))
        s = r.integers(0, 2, n)
        X[:, 0] += s
        return X, (X[:, 0] + X[:, 1] + r.normal(size=n) > 0.5).astype(int), s

    X1, y1, s1 = data(1)
    X2, y2, s2 = data(2)
    options = dict(fairness_loss="ramp", epsilon=0.05, solver="dcd")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warm = FairLinearSVC(warm_start=True, **options)
        warm.fit(X1, y1, sensitive_features=s1).fit(X2, y2, sensitive_features=s2)
        cold = FairLinearSVC(**options).fit(X2, y2, sensitive_features=s2)
    assert np.array_equal(warm.cccp_band_sizes_, cold.cccp_band_sizes_)
    assert np.max(np.abs(warm.coef_ - cold.coef_)) <= 1e-6
    assert warm.objective_ == pytest.approx(cold.objective_, rel=1e-7)
