"""Linear FERM by dual coordinate descent against the cvxpy statement of the same problem."""

import numpy as np
import pytest
import scipy.sparse as sp

import fairerm.solvers as solvers
from fairerm import FairLinearSVC
from fairerm.constraints import constraint_weights
from fairerm.exceptions import FairermValueError
from fairerm.problem import LinearFermProblem
from fairerm.solvers import solve, solve_linear
from fairerm.solvers.linear_dcd import dcd_box_qp


def _rel(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12)


def _independent_u(X, y, s, labels=(1,)):
    """u_j from the definition: difference of the two groups' mean rows among the given labels."""
    groups = np.unique(s)
    return np.array([X[(y == lab) & (s == groups[0])].mean(0) - X[(y == lab) & (s == groups[1])].mean(0)
                     for lab in labels])


@pytest.mark.parametrize("epsilon", [0.0, 0.05, 0.2, 1e3])
def test_dcd_matches_cvxpy(make_problem, epsilon):
    X, y, s = make_problem(n=400, d=6, seed=1)
    y = y.astype(float)
    cw = constraint_weights(y, s).weights
    ref = solve_linear(LinearFermProblem(X, y, np.full(400, 0.5), cw, epsilon), "cvxpy")
    sol = solve(LinearFermProblem(X, y, np.full(400, 0.5), cw, epsilon), "dcd")
    assert sol.converged and sol.solver == "dcd"
    assert _rel(X @ sol.coef + sol.intercept, X @ ref.coef + ref.intercept) < 1e-4
    assert sol.primal_objective == pytest.approx(ref.primal_objective, rel=1e-6)
    value = _independent_u(X, y, s) @ sol.coef
    assert np.all(np.abs(value) <= epsilon + 1e-6)
    # the intercept is unpenalised: the dual's equality y'alpha = 0 holds at the returned point
    assert abs(sol.alpha @ y) <= 1e-6 * 0.5 * 400
    # objective recomputed here from (w, b)
    hinge = np.maximum(0.0, 1.0 - y * (X @ sol.coef + sol.intercept))
    assert sol.primal_objective == pytest.approx(0.5 * sol.coef @ sol.coef + 0.5 * hinge.sum(), rel=1e-12)


def test_dcd_several_constraints_match_cvxpy(make_problem):
    """Equalized odds: two rows u_j, active set over both."""
    from fairerm.constraints import make_constraint

    X, y, s = make_problem(n=500, d=5, seed=4, shift=2.0)
    y = y.astype(float)
    from fairerm._validation import check_sensitive_features

    cw = make_constraint("equalized_odds").weights(y, check_sensitive_features(s, len(y))).weights
    for eps in (0.0, 0.03):
        ref = solve_linear(LinearFermProblem(X, y, np.ones(500), cw, eps), "cvxpy")
        sol = solve(LinearFermProblem(X, y, np.ones(500), cw, eps), "dcd")
        assert sol.converged
        assert _rel(X @ sol.coef + sol.intercept, X @ ref.coef + ref.intercept) < 1e-4
        assert sol.primal_objective == pytest.approx(ref.primal_objective, rel=1e-6)
        assert np.all(np.abs(_independent_u(X, y, s, labels=(1, -1)) @ sol.coef) <= eps + 1e-6)


def test_box_qp_kernel_against_cvxpy_with_projection(make_problem):
    """The Numba DCD core on the fixed-intercept QP, projected data, against cvxpy on explicit P x."""
    import cvxpy as cp

    X, y, _ = make_problem(n=120, d=4, seed=2)
    y = y.astype(float)
    q = np.array([1.0, 2.0, 0.0, -1.0]) / np.sqrt(6.0)
    margin = 1.0 - y * 0.3
    upper = np.full(120, 0.7)
    alpha, w, _, spread, _ = dcd_box_qp(X, y, margin, upper, basis=q[:, None], tol=1e-10, max_epochs=100000)
    assert spread <= 1e-10
    PX = X - np.outer(X @ q, q)
    w_ref = cp.Variable(4)
    cp.Problem(cp.Minimize(0.5 * cp.sum_squares(w_ref) + upper @ cp.pos(margin - cp.multiply(y, PX @ w_ref)))).solve(
        solver="CLARABEL")
    assert np.allclose(w, w_ref.value, atol=1e-6)
    assert np.allclose(w, PX.T @ (alpha * y), atol=1e-10)  # w = sum alpha_i y_i P x_i
    assert abs(w @ q) < 1e-12


def test_estimator_dcd_auto_and_warm_start(make_problem, monkeypatch):
    X, y, s = make_problem(n=300, d=5, seed=5)
    ref = FairLinearSVC(C=0.3, solver="cvxpy").fit(X, y, sensitive_features=s)
    dcd = FairLinearSVC(C=0.3, solver="dcd").fit(X, y, sensitive_features=s)
    assert dcd.solver_ == "dcd" and dcd.converged_
    assert _rel(dcd.decision_function(X), ref.decision_function(X)) < 1e-4
    assert abs(_independent_u(X, y, s) @ dcd.coef_[0])[0] < 1e-8
    monkeypatch.setattr(solvers, "DCD_MIN_SAMPLES", 100)
    auto = FairLinearSVC(C=0.3).fit(X, y, sensitive_features=s)
    assert auto.solver_ == "dcd"
    monkeypatch.setattr(solvers, "DCD_MIN_SAMPLES", 10_000)
    assert FairLinearSVC(C=0.3).fit(X, y, sensitive_features=s).solver_ == "cvxpy"
    problem = LinearFermProblem(X, np.where(y > 0, 1.0, -1.0), np.full(300, 0.3),
                                constraint_weights(y, s).weights, 0.1)
    cold = solve(problem, "dcd")
    warm = solve(problem, "dcd", warm_start=cold)
    assert warm.info["epochs"] <= cold.info["epochs"]
    assert warm.primal_objective == pytest.approx(cold.primal_objective, rel=1e-8)


@pytest.mark.parametrize("epsilon", [0.0, 0.05])
def test_dcd_on_csr_rows_equals_dense(make_problem, epsilon):
    """The CSR loop (issue 19) takes the dense loop's steps: same certified optimum to 1e-10."""
    X, y, s = make_problem(n=300, d=5, seed=4)
    X[np.abs(X) < 0.6] = 0.0  # about half the entries zero
    weights = constraint_weights(y, s).weights
    dense = solve_linear(LinearFermProblem(X, y.astype(float), np.ones(300), weights, epsilon), "dcd")
    sparse = solve_linear(LinearFermProblem(sp.csr_matrix(X), y.astype(float), np.ones(300), weights, epsilon), "dcd")
    assert dense.status == sparse.status == "optimal"
    assert np.max(np.abs(dense.coef - sparse.coef)) < 1e-10
    assert abs(dense.intercept - sparse.intercept) < 1e-10


@pytest.mark.parametrize("epsilon", [0.0, 0.05])
def test_dask_input_equals_numpy(make_problem, epsilon):
    da = pytest.importorskip("dask.array")
    X, y, s = make_problem(n=300, d=5, seed=6)
    ref = FairLinearSVC(C=0.5, epsilon=epsilon, solver="cvxpy").fit(X, y, sensitive_features=s)
    model = FairLinearSVC(C=0.5, epsilon=epsilon, solver="dcd").fit(da.from_array(X, chunks=(70, 5)), y,
                                                                    sensitive_features=s)
    assert model.n_features_in_ == 5
    assert np.allclose(model.constraint_vectors_, _independent_u(X, y, s), atol=1e-12)
    assert _rel(model.decision_function(X), ref.decision_function(X)) < 1e-4
    assert np.all(np.abs(_independent_u(X, y, s) @ model.coef_[0]) <= epsilon + 1e-6)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(FairermValueError, match="NaN"):
        FairLinearSVC(solver="dcd").fit(da.from_array(bad, chunks=(70, 5)), y, sensitive_features=s)


def test_duality_gap_kernel_against_numpy(make_problem):
    from fairerm.solvers._dcd_core import _duality_gap

    X, y, _ = make_problem(n=80, d=4, seed=11)
    y = y.astype(float)
    rng = np.random.default_rng(0)
    Q = np.linalg.qr(rng.normal(size=(4, 2)))[0]
    Z = np.ascontiguousarray(X @ Q)
    alpha, upper, margin = rng.uniform(0, 0.5, 80), np.full(80, 0.5), 1.0 - 0.2 * y
    w, c = X.T @ (alpha * y), Z.T @ (alpha * y)
    gap, primal = _duality_gap(X, y, Z, margin, upper, alpha, w, c)
    w_perp = (X - Z @ Q.T).T @ (alpha * y)  # explicit projection
    primal_np = 0.5 * w_perp @ w_perp + upper @ np.maximum(0.0, margin - y * ((X - Z @ Q.T) @ w_perp))
    dual_np = margin @ alpha - 0.5 * w_perp @ w_perp
    assert primal == pytest.approx(primal_np, rel=1e-12)
    assert gap == pytest.approx(primal_np - dual_np, rel=1e-10)
    assert gap >= 0


def _gaussian_problem(n, d, epsilon, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    s = rng.integers(0, 2, n)
    X[:, 0] += s
    y = np.where(X @ rng.normal(size=d) / np.sqrt(d) + 0.3 * X[:, 0] + 0.5 * rng.normal(size=n) > 0, 1.0, -1.0)
    return LinearFermProblem(X, y, np.full(n, 0.05), constraint_weights(y, s).weights, epsilon), s


@pytest.mark.parametrize("epsilon", [0.0, 0.01])
def test_dcd_fast_path_certifies_the_optimum(epsilon):
    """One DCD solve + optimal intercept + interior-point working-set step: no intercept search,
    KKT certified, and the same optimum as CLARABEL on the whole problem."""
    problem, _ = _gaussian_problem(3000, 10, epsilon)
    sol = solve(problem, "dcd")
    assert sol.converged and sol.info["kkt_polished"]
    assert not sol.info["intercept_search"]
    assert sol.info["inner_solves"] <= (1 if epsilon == 0.0 else 3)
    ref = solve_linear(problem, "cvxpy")
    assert sol.primal_objective == pytest.approx(ref.primal_objective, rel=1e-8)
    assert _rel(problem.X @ sol.coef + sol.intercept, problem.X @ ref.coef + ref.intercept) < 1e-4
    assert np.all(np.abs(problem.U @ sol.coef) <= epsilon + 1e-9)


def test_dcd_falls_back_to_the_intercept_search(monkeypatch):
    """When the exact step declines after the first DCD solve, the bracketing search runs and the
    second exact step certifies the same optimum."""
    import fairerm.solvers.linear_dcd as module

    problem, _ = _gaussian_problem(1500, 6, 0.0, seed=3)
    real = module._polish
    calls = []

    def decline_first(inner, b, **kwargs):
        calls.append(b)
        return None if len(calls) == 1 else real(inner, b, **kwargs)

    monkeypatch.setattr(module, "_polish", decline_first)
    sol = solve(problem, "dcd")
    assert len(calls) == 2 and sol.info["intercept_search"] and sol.info["inner_solves"] > 1
    assert sol.converged and sol.info["kkt_polished"]
    ref = solve_linear(problem, "cvxpy")
    assert sol.primal_objective == pytest.approx(ref.primal_objective, rel=1e-8)


def test_exact_step_declines_a_too_large_working_set():
    """The working set is capped (memory of the interior-point step); over the cap it returns None."""
    import fairerm.solvers.linear_dcd as module

    problem, _ = _gaussian_problem(800, 4, 0.0, seed=5)
    inner = module._FixedActiveSet(problem.X, problem.y, problem.upper, np.zeros((4, 0)), np.zeros(800), None,
                                   tol=0.1, gap_tol=1e-3, max_epochs=50, seed=0, shrinking=True)
    inner.balance(0.0)
    assert module._polish(inner, 0.0, band=10.0, max_working=100) is None
    assert module._polish(inner, 0.0, band=10.0, max_working=800) is not None


def test_exact_step_from_an_empty_working_set():
    """From alpha = 0, w = 0, b = 0 every margin is 1 away: the band widens until points join, and the
    step still certifies the optimum of the whole problem."""
    import fairerm.solvers.linear_dcd as module

    problem, _ = _gaussian_problem(600, 4, 0.0, seed=7)
    inner = module._FixedActiveSet(problem.X, problem.y, problem.upper, np.zeros((4, 0)), np.zeros(600), None,
                                   tol=0.1, gap_tol=1e-3, max_epochs=50, seed=0, shrinking=True)
    alpha, b, w_step = module._polish(inner, 0.0)
    w = problem.X.T @ (alpha * problem.y)
    np.testing.assert_allclose(w_step, w, rtol=1e-9, atol=1e-12)
    value = 0.5 * w @ w + problem.upper @ np.maximum(0.0, 1.0 - problem.y * (problem.X @ w + b))
    from sklearn.svm import SVC  # libsvm: the same problem (unpenalised intercept), independently solved

    reference = SVC(kernel="linear", C=0.05, tol=1e-10).fit(problem.X, problem.y)
    w_ref, b_ref = reference.coef_[0], reference.intercept_[0]
    value_ref = 0.5 * w_ref @ w_ref + problem.upper @ np.maximum(0.0, 1.0 - problem.y * (problem.X @ w_ref + b_ref))
    assert value == pytest.approx(value_ref, rel=1e-7)
    assert np.allclose(w, w_ref, atol=1e-5)


def test_cold_active_fit_polishes_once_after_the_guessed_active_set(monkeypatch):
    """eps > 0, cold: a few unconstrained epochs guess the active constraint (issue 18), so the exact
    step runs once (on the constrained problem) and the optimum is CLARABEL's."""
    import fairerm.solvers.linear_dcd as module

    problem, _ = _gaussian_problem(3000, 10, 0.01, seed=2)
    real, calls = module._polish, []
    monkeypatch.setattr(module, "_polish", lambda inner, b, **kw: calls.append(inner.Q.shape[1]) or real(inner, b, **kw))
    sol = solve(problem, "dcd")
    ref = solve_linear(problem, "cvxpy")
    assert calls == [1] and sol.converged
    assert sol.primal_objective == pytest.approx(ref.primal_objective, rel=1e-8)
    assert np.all(np.abs(problem.U @ sol.coef) <= 0.01 + 1e-9) and abs(problem.U @ sol.coef)[0] > 0.0099


@pytest.mark.parametrize("guess", ["wrong_sign", "inactive_called_active", "active_called_inactive"])
def test_a_wrong_guess_of_the_active_set_costs_a_solve_and_changes_no_result(monkeypatch, guess):
    """The guess only orders the work: forced wrong, the active-set method's exact checks still reach
    the certified optimum of the plain cvxpy statement."""
    import fairerm.solvers.linear_dcd as module

    epsilon = 10.0 if guess == "inactive_called_active" else 0.01
    problem, _ = _gaussian_problem(2000, 8, epsilon, seed=7)
    ref = solve_linear(problem, "cvxpy")
    true_sign = float(np.sign(problem.U @ ref.coef)[0])
    forced = {"wrong_sign": {0: -true_sign}, "inactive_called_active": {0: 1.0}, "active_called_inactive": {}}[guess]
    real = module._EqualitySolves.guess_active_set

    def forced_guess(self, live, ctol):
        real(self, live, ctol)  # keep its state, replace its answer
        return dict(forced)

    monkeypatch.setattr(module._EqualitySolves, "guess_active_set", forced_guess)
    sol = solve(problem, "dcd")
    assert sol.converged
    assert sol.primal_objective == pytest.approx(ref.primal_objective, rel=1e-8)
    assert np.all(np.abs(problem.U @ sol.coef) <= epsilon + 1e-9)


def _eodds_problem(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(400, 4))
    X[:, 0] += rng.integers(0, 2, size=400)
    y = np.where(X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.5, size=400) > 0.5, 1, 0)
    s = np.random.default_rng(seed).integers(0, 3, 400)
    weight = np.random.default_rng(seed + 100).uniform(0, 3, 400)
    return X, y, s, weight


@pytest.mark.parametrize("seed, epsilon, weighted", [(2, 0.01, True), (4, 0.01, False), (6, 0.01, False),
                                                     (6, 0.01, True), (8, 0.05, True), (11, 0.05, False)])
def test_active_set_exchanges_a_dependent_row(seed, epsilon, weighted):
    """Equalized odds over three groups: six rows "group - pooled" in four dimensions. On these draws the
    violated row depends on the active ones and can only join in exchange for one of them; without the
    exchange the method stopped ('active_set_not_converged', relative gap up to 0.1, violation 0.015)."""
    X, y, s, weight = _eodds_problem(seed)
    weight = weight if weighted else None
    fits = {name: FairLinearSVC(C=1.0, epsilon=epsilon, solver=name, constraint="equalized_odds")
            .fit(X, y, sensitive_features=s, sample_weight=weight) for name in ("dcd", "cvxpy")}
    fit = fits["dcd"]
    assert fit.status_ == "optimal"
    assert fit.objective_ == pytest.approx(fits["cvxpy"].objective_, rel=1e-6)
    w = np.ones(400) if weight is None else weight
    for label in (0, 1):  # the constraint from its definition: weighted group mean minus pooled mean
        rows = y == label
        pooled = np.average(X[rows], axis=0, weights=w[rows])
        for g in range(3):
            cell = rows & (s == g)
            gap = (np.average(X[cell], axis=0, weights=w[cell]) - pooled) @ fit.coef_[0]
            assert abs(gap) <= epsilon + 1e-6
