"""FairRidge's "converged" is a certificate: the mean-prediction gaps recomputed here from X, s and coef_
hold within a tolerance relative to epsilon and to the scale of y, with 3+ groups (dependent rows), at small
epsilon and in any units of y; a fit that does not certify warns with the measured numbers."""

import warnings

import cvxpy as cp
import numpy as np
import pytest

from sklearn.linear_model import Ridge

from fairerm.exceptions import ConvergenceWarning
from fairerm.regression import FairRidge


def hunt_data(n_groups=3, n=80, d=4, seed=3):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, n_groups, n)
    shift, coef = np.zeros(d), np.resize([1.0, 2.0, -1.0, 0.5], d)
    shift[:2] = [1.0, 0.5]
    X = rng.normal(size=(n, d)) + s[:, None] * shift
    y = X @ coef + rng.normal(size=n)
    return X, y, s


def gap_vectors(X, s, w=None):
    """Group g's (weighted) mean features minus the pooled mean: one row per group (G > 2)."""
    w = np.ones(len(s)) if w is None else w
    pooled = w @ X / w.sum()
    return np.array([w[s == g] @ X[s == g] / w[s == g].sum() - pooled for g in np.unique(s)])


def cvxpy_objective(X, y, s, alpha, epsilon, w=None):
    """The plain statement, with the constraint in units of epsilon and the loss per sample (interior-point
    solvers lose ~1e-6 of the objective on a box of width 1e-6 against gaps of size 1 otherwise)."""
    w = np.ones(len(y)) if w is None else w
    beta, b = cp.Variable(X.shape[1]), cp.Variable()
    loss = cp.sum(cp.multiply(w, cp.square(y - X @ beta - b))) + alpha * cp.sum_squares(beta)
    gaps = gap_vectors(X, s, w) @ beta
    constraints = [gaps == 0] if epsilon == 0 else [cp.abs(gaps) / epsilon <= 1]
    cp.Problem(cp.Minimize(loss / len(y)), constraints).solve(
        solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    return objective(X, y, beta.value, b.value, alpha, w)


def objective(X, y, coef, intercept, alpha, w=None):
    w = np.ones(len(y)) if w is None else w
    return float(w @ (y - X @ coef - intercept) ** 2 + alpha * coef @ coef)


def fit_quietly(model, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        return model.fit(*args, **kwargs)


def assert_gaps_hold(X, y, s, model, epsilon, w=None):
    """|gaps| <= epsilon to a tolerance relative to epsilon and to the problem's scale (the unconstrained gaps)."""
    U = gap_vectors(X, s, w)
    gaps = U @ model.coef_
    scale = np.abs(U @ Ridge(alpha=model.alpha).fit(X, y, sample_weight=w).coef_).max()
    assert np.all(np.abs(gaps) <= epsilon * (1 + 1e-9) + 1e-13 * scale), (gaps, epsilon, scale)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_groups", [3, 4, 5])
@pytest.mark.parametrize("epsilon", [1e-6, 0.0])
def test_several_groups_certify_at_ordinary_settings_and_match_cvxpy(n_groups, epsilon, weighted):
    X, y, s = hunt_data(n_groups, n=120, d=6, seed=n_groups)
    w = np.random.default_rng(7).uniform(0.2, 3.0, len(y)) if weighted else None
    model = fit_quietly(FairRidge(alpha=1.0, epsilon=epsilon), X, y, sensitive_features=s, sample_weight=w)
    assert model.solution_.converged
    assert model.solution_.max_violation <= model.solution_.tolerance
    assert_gaps_hold(X, y, s, model, epsilon, w)
    reference = cvxpy_objective(X, y, s, 1.0, epsilon, w)
    assert objective(X, y, model.coef_, model.intercept_, 1.0, w) == pytest.approx(reference, rel=1e-7)


@pytest.mark.parametrize("epsilon", [1e-2, 1e-9, 1e-10, 1e-12])
def test_small_epsilon_is_not_broken_by_a_certified_fit(epsilon):
    """Was: an absolute 1e-9 feasibility test let a gap of 4/3 epsilon through with converged=True."""
    X, y, s = hunt_data()
    model = fit_quietly(FairRidge(alpha=1.0, epsilon=epsilon), X, y, sensitive_features=s)
    assert model.solution_.converged
    assert_gaps_hold(X, y, s, model, epsilon)
    np.testing.assert_allclose(model.constraint_values_, gap_vectors(X, s) @ model.coef_,
                               atol=1e-12 * epsilon + 1e-15)


@pytest.mark.parametrize("relative_epsilon", [0.05, 1e-6])
def test_fit_is_equivariant_in_the_units_of_y(relative_epsilon):
    """y -> c y and epsilon -> c epsilon give coef_ -> c coef_ and intercept_ -> c intercept_, any c."""
    X, y, s = hunt_data()
    base = fit_quietly(FairRidge(alpha=1.0, epsilon=relative_epsilon), X, y, sensitive_features=s)
    for c in [1e-12, 1e-6, 1e-3, 1e3, 1e6, 1e12]:
        model = fit_quietly(FairRidge(alpha=1.0, epsilon=relative_epsilon * c), X, y * c, sensitive_features=s)
        assert model.solution_.converged, c
        np.testing.assert_allclose(model.coef_ / c, base.coef_, rtol=1e-8, atol=1e-8 * np.abs(base.coef_).max())
        assert model.intercept_ / c == pytest.approx(base.intercept_, rel=1e-8)
        assert_gaps_hold(X, y * c, s, model, relative_epsilon * c)


def test_two_dependent_rows_active_at_a_vertex():
    """Equal-size groups: at the solution all G gaps may sit at +-epsilon (a degenerate vertex)."""
    rng = np.random.default_rng(0)
    s = np.repeat([0, 1, 2, 3], 30)
    X = rng.normal(size=(120, 3)) + np.array([[2.0, 0, 0], [-2.0, 0, 0], [0, 2.0, 0], [0, -2.0, 0]])[s]
    y = X @ np.array([1.0, 1.0, 0.5]) + rng.normal(size=120)
    model = fit_quietly(FairRidge(alpha=1.0, epsilon=0.01), X, y, sensitive_features=s)
    assert model.solution_.converged
    assert_gaps_hold(X, y, s, model, 0.01)
    assert objective(X, y, model.coef_, model.intercept_, 1.0) == pytest.approx(
        cvxpy_objective(X, y, s, 1.0, 0.01), rel=1e-7)


def test_a_fit_that_does_not_certify_warns_with_the_measured_numbers(monkeypatch):
    from fairerm.solvers import ridge

    original = ridge._primal_active_set
    monkeypatch.setattr(ridge, "_primal_active_set",
                        lambda P, M_r, z0, epsilon, tol, max_iter: original(P, M_r, z0, epsilon, tol, 1))
    X, y, s = hunt_data()
    with pytest.warns(ConvergenceWarning, match=r"not certified .*max\(\|mean-prediction gap\| - epsilon\) = "):
        model = FairRidge(alpha=1.0, epsilon=0.01).fit(X, y, sensitive_features=s)
    assert not model.solution_.converged
    # Even so, the returned iterate is feasible (the primal active-set method never leaves the feasible set).
    assert_gaps_hold(X, y, s, model, 0.01)


def test_certificate_catches_a_violation(monkeypatch):
    """A solver answer that breaks a constraint is reported as such, whatever the method claims."""
    from fairerm.solvers import ridge

    original = ridge._primal_active_set

    def sloppy(P, M_r, z0, epsilon, tol, max_iter):
        lam, working, z, n_iter, stopped = original(P, M_r, z0, epsilon, tol, max_iter)
        return 0.9 * lam, working, z, n_iter, stopped  # too little push: the active gaps overshoot

    monkeypatch.setattr(ridge, "_primal_active_set", sloppy)
    X, y, s = hunt_data()
    with pytest.warns(ConvergenceWarning, match="not certified"):
        model = FairRidge(alpha=1.0, epsilon=0.01).fit(X, y, sensitive_features=s)
    assert not model.solution_.converged
    assert model.solution_.max_violation > model.solution_.tolerance
    measured = np.abs(gap_vectors(X, s) @ model.coef_).max() - 0.01
    assert model.solution_.max_violation == pytest.approx(measured, rel=1e-9)
