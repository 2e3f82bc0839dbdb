"""The interior-point method for the working-set SVM (fairerm.solvers._svm_ipm) against CLARABEL."""

import cvxpy as cp
import numpy as np
import pytest

from fairerm.solvers._svm_ipm import svm_ipm


def _clarabel(X, y, c, o, p, pb):
    m, d = X.shape
    w, b, xi = cp.Variable(d), cp.Variable(), cp.Variable(m)
    margins = cp.multiply(y, X @ w + b + o) >= 1 - xi
    problem = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(w) - p @ w - pb * b + c @ xi), [margins, xi >= 0])
    problem.solve(solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    return w.value, float(b.value), problem.value, np.asarray(margins.dual_value)


def _objective(X, y, c, o, p, pb, w, b):
    return 0.5 * w @ w - p @ w - pb * b + c @ np.maximum(0.0, 1.0 - y * (X @ w + b + o))


@pytest.mark.parametrize("m, d", [(60, 4), (25, 40), (800, 12), (3000, 30)])
@pytest.mark.parametrize("seed", [0, 1])
def test_ipm_matches_clarabel(m, d, seed):
    """Woodbury (m > d) and direct (m <= d) Newton systems, offsets, pull and unequal boxes."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, d))
    y = np.where(X[:, 0] + 0.7 * rng.normal(size=m) > 0, 1.0, -1.0)
    c = rng.uniform(0.05, 2.0, m)
    o = 0.2 * rng.normal(size=m)
    p = 0.1 * rng.normal(size=d)
    pb = 0.05 * float(c.sum()) * rng.uniform(-1, 1)
    result = svm_ipm(X, y, c, offsets=o, pull=p, pull_intercept=pb)
    assert result.status == "optimal"
    w_ref, b_ref, value_ref, alpha_ref = _clarabel(X, y, c, o, p, pb)
    assert np.allclose(result.w, w_ref, atol=1e-6)
    assert result.b == pytest.approx(b_ref, abs=1e-6)
    assert _objective(X, y, c, o, p, pb, result.w, result.b) == pytest.approx(value_ref, rel=1e-8, abs=1e-9)
    # the dual variables are the margins' multipliers: in the box, balanced, and w = p + sum alpha_i y_i x_i
    assert np.all((result.alpha >= 0) & (result.alpha <= c))
    assert result.alpha @ y == pytest.approx(-pb, abs=1e-8 * c.sum())
    assert np.allclose(result.w, p + X.T @ (result.alpha * y), atol=1e-10)
    assert np.allclose(result.alpha, alpha_ref, atol=1e-5 * c.max())


def test_ipm_degenerate_duplicated_points():
    """Many identical rows (one-hot data): a whole face of optimal alphas; the primal is still unique."""
    rng = np.random.default_rng(3)
    base = rng.integers(0, 2, size=(12, 5)).astype(float)
    X = base[rng.integers(0, 12, 600)]
    y = np.where(rng.random(600) < 0.3 + 0.4 * X[:, 0], 1.0, -1.0)
    c = np.full(600, 0.5)
    zeros = np.zeros(600)
    result = svm_ipm(X, y, c)
    w_ref, b_ref, value_ref, _ = _clarabel(X, y, c, zeros, np.zeros(5), 0.0)
    assert result.status == "optimal"
    assert _objective(X, y, c, zeros, np.zeros(5), 0.0, result.w, result.b) == pytest.approx(value_ref, rel=1e-8)
    assert np.allclose(result.w, w_ref, atol=1e-5)


def test_ipm_unbounded_problem_is_not_reported_optimal():
    """-p_b outside {y'alpha : 0 <= alpha <= c}: the primal is unbounded in b; no 'optimal' status."""
    X = np.array([[1.0], [2.0], [-1.0]])
    y = np.array([1.0, 1.0, -1.0])
    result = svm_ipm(X, y, np.ones(3), pull_intercept=10.0, max_iter=60)
    assert result.status == "infeasible_dual"


def test_badly_scaled_duplicates_are_certified_by_the_duality_gap_or_not_at_all():
    """One feature 1e5 times the others and 50 identical rows: the Woodbury form cancels. "optimal"
    must then mean what it says (duality gap from the objectives), and the m x m form gets there."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3)) * np.array([1e5, 1.0, 1.0])
    X[:50] = X[0]
    y = np.where(rng.random(200) < 0.5, 1.0, -1.0)
    c = np.full(200, 1e-3)
    zeros = np.zeros(200)
    _, _, value_ref, _ = _clarabel(X, y, c, zeros, np.zeros(3), 0.0)
    for newton in ("woodbury", "direct"):
        for tol in (1e-10, 1e-9):
            result = svm_ipm(X, y, c, newton=newton, tol=tol)
            if result.status == "optimal":
                assert result.gap <= tol
                value = _objective(X, y, c, zeros, np.zeros(3), 0.0, result.w, result.b)
                assert value == pytest.approx(value_ref, rel=1e-8)
            else:
                assert result.gap > tol or result.residual > tol
    # The certificate itself is evaluated in float64: at the optimum w = A'alpha is ~0 along the 1e5
    # feature, a sum of terms of size ~1e2, so the margins carry round-off up to eps |A|(|A|'alpha) and the
    # gap computed from the objectives has a floor of order eps c'|A|(|A|'alpha) / (1 + primal) (2e-8 here,
    # worst case). Whether one run lands below 1e-10 depends on the CPU's rounding (it did on an Intel
    # machine, gap 1.4e-9 on an AMD one); the m x m form reaching 1e-9, twenty times under that floor,
    # does not.
    abs_A = np.abs(X)
    direct = svm_ipm(X, y, c, newton="direct", tol=1e-9)
    floor = np.finfo(float).eps * float(c @ (abs_A @ (abs_A.T @ direct.alpha)))
    assert floor > 1e-9
    assert direct.status == "optimal" and direct.gap <= 1e-9
    with pytest.raises(ValueError, match="newton must be"):
        svm_ipm(X, y, c, newton="cholesky")
