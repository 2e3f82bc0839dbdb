"""Every fast path against the plain cvxpy statement of the same problem."""

import numpy as np
import pytest
from sklearn.metrics.pairwise import pairwise_kernels

from fairerm.constraints import constraint_weights
from fairerm.kernels import KernelSpec
from fairerm.problem import KernelFermProblem, LinearFermProblem
from fairerm.solvers import solve, solve_kernel, solve_linear

KERNELS = {
    "linear": ({"metric": "linear"}, KernelSpec("linear")),
    "rbf": ({"metric": "rbf", "gamma": 0.3}, KernelSpec("rbf", gamma=0.3)),
    "poly": ({"metric": "poly", "gamma": 0.3, "degree": 2, "coef0": 1.0}, KernelSpec("poly", gamma=0.3, degree=2, coef0=1.0)),
}


def _rel(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12)


def test_linear_cvxpy_and_osqp_agree_on_500_samples(make_problem):
    X, y, s = make_problem(n=500, d=8, seed=3)
    cw = constraint_weights(y, s).weights
    for eps in (0.0, 0.05, 1e3):
        a = solve_linear(LinearFermProblem(X, y.astype(float), np.full(500, 1.0), cw, eps), "cvxpy")
        b = solve_linear(LinearFermProblem(X, y.astype(float), np.full(500, 1.0), cw, eps), "osqp")
        assert a.converged and b.converged
        assert _rel(X @ b.coef + b.intercept, X @ a.coef + a.intercept) < 1e-4
        assert b.primal_objective == pytest.approx(a.primal_objective, rel=1e-6)
        # primal = dual at the optimum (strong duality of the QP)
        assert b.dual_objective == pytest.approx(b.primal_objective, rel=1e-5)
        U = cw @ X
        assert np.all(np.abs(U @ b.coef) <= eps + 1e-6)


def _independent_constraint_value(X, y, s, constraint, kernel_kwargs, alpha_y_sv, sv, mu, coef_expansion=None):
    """<w, u_j> from the pieces of the fitted model and a u_j built here from its definition."""
    labels = np.asarray(y)
    rows = []
    groups = np.unique(s)
    masks = [labels == 1] if constraint != "equalized_odds" else [labels == 1, labels == -1]
    for mask in masks:
        if len(groups) == 2:
            c = np.zeros(len(y))
            c[mask & (s == groups[0])] = 1 / np.sum(mask & (s == groups[0]))
            c[mask & (s == groups[1])] = -1 / np.sum(mask & (s == groups[1]))
            rows.append(c)
        else:
            for g in groups:
                c = np.zeros(len(y))
                c[mask] = -1 / mask.sum()
                c[mask & (s == g)] += 1 / np.sum(mask & (s == g))
                rows.append(c)
    Cu = np.array(rows)
    K = pairwise_kernels(X, X, **kernel_kwargs)
    # w = sum_sv alpha_i y_i phi_i - sum_j mu_j u_j
    return Cu @ K[:, sv] @ alpha_y_sv - (Cu @ K @ Cu.T) @ mu


@pytest.mark.parametrize("kernel", sorted(KERNELS))
@pytest.mark.parametrize("epsilon", [0.0, 0.01, 0.1, 1e4])
def test_three_kernel_solvers_agree(make_problem, kernel, epsilon):
    X, y, s = make_problem(n=150, d=4, seed=7)
    kw, spec = KERNELS[kernel]
    cw = constraint_weights(y, s).weights
    K = pairwise_kernels(X, X, **kw)
    ref = solve(KernelFermProblem(K, y.astype(float), np.ones(150), cw, epsilon), "cvxpy")
    f_ref = K @ ref.expansion_coef + ref.intercept
    for solver, opts in (("exact", {"tol": 1e-6}), ("osqp", {})):
        sol = solve_kernel(KernelFermProblem(X, y.astype(float), np.ones(150), cw, epsilon, spec), solver, **opts)
        assert sol.converged, sol.status
        assert _rel(K @ sol.expansion_coef + sol.intercept, f_ref) < 1e-3
        assert sol.primal_objective == pytest.approx(ref.primal_objective, rel=1e-5)
        sv = np.flatnonzero(sol.alpha > 0)
        value = _independent_constraint_value(X, y, s, "equal_opportunity", kw, (y * sol.alpha)[sv], sv, sol.mu)
        assert np.all(np.abs(value) <= epsilon + 1e-5)


@pytest.mark.parametrize("constraint,n_groups", [("equalized_odds", 2), ("equal_opportunity", 3),
                                                 ("demographic_parity", 3), ("equalized_odds", 3)])
@pytest.mark.parametrize("epsilon", [0.0, 0.02])
def test_exact_solver_with_several_constraints_matches_cvxpy(make_problem, constraint, n_groups, epsilon):
    X, y, s = make_problem(n=150, d=3, n_groups=n_groups, seed=11)
    kw, spec = KERNELS["rbf"]
    cw = constraint_weights(y, s, constraint).weights
    K = pairwise_kernels(X, X, **kw)
    ref = solve(KernelFermProblem(K, y.astype(float), np.ones(150), cw, epsilon), "cvxpy")
    sol = solve_kernel(KernelFermProblem(X, y.astype(float), np.ones(150), cw, epsilon, spec), tol=1e-6)
    assert sol.converged
    assert sol.primal_objective == pytest.approx(ref.primal_objective, rel=1e-5)
    assert np.all(np.abs(cw @ K @ sol.expansion_coef) <= epsilon + 1e-5)


def test_exact_solver_on_a_precomputed_kernel(make_problem):
    X, y, s = make_problem(n=120, seed=2)
    kw, spec = KERNELS["rbf"]
    cw = constraint_weights(y, s).weights
    K = pairwise_kernels(X, X, **kw)
    a = solve_kernel(KernelFermProblem(X, y.astype(float), np.ones(120), cw, 0.05, spec), tol=1e-6)
    b = solve_kernel(KernelFermProblem(K, y.astype(float), np.ones(120), cw, 0.05, KernelSpec("precomputed")),
                     tol=1e-6)
    np.testing.assert_allclose(K @ a.expansion_coef + a.intercept, K @ b.expansion_coef + b.intercept, atol=1e-5)


def test_unknown_solver_is_a_clear_error(make_problem):
    X, y, s = make_problem(n=20)
    cw = constraint_weights(y, s).weights
    with pytest.raises(ValueError, match="solver must be one of"):
        solve_linear(LinearFermProblem(X, y.astype(float), np.ones(20), cw, 0.0), "gurobi")
    with pytest.raises(ValueError, match="solver must be one of"):
        solve_kernel(KernelFermProblem(X, y.astype(float), np.ones(20), cw, 0.0, KernelSpec("linear")), "libsvm")
