"""FairRidge against the cvxpy statement of the same problem, sklearn's Ridge, and invariants
recomputed from its predictions."""

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest
from sklearn import config_context
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
)

from fairerm.constraints import DemographicParity
from fairerm.exceptions import FairermTypeError, FairermValueError, NotFittedError
from fairerm.regression import FairRidge


def make_data(n_groups, n=300, d=6, seed=0):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, n_groups, n)
    X = rng.normal(size=(n, d)) + 0.8 * s[:, None] * rng.normal(size=d)
    y = X @ rng.normal(size=d) + 1.5 * s + rng.normal(scale=0.5, size=n)
    return X, y, s


def gap_vectors(X, s):
    """Mean-feature gaps, built here independently: a - b for two groups, g - pooled for more."""
    groups = np.unique(s)
    if len(groups) == 2:
        return (X[s == groups[0]].mean(0) - X[s == groups[1]].mean(0))[None, :]
    return np.array([X[s == g].mean(0) - X.mean(0) for g in groups])


def cvxpy_fair_ridge(X, y, s, alpha, epsilon, fit_intercept):
    w = cp.Variable(X.shape[1])
    b = cp.Variable() if fit_intercept else 0.0
    U = gap_vectors(X, s)
    problem = cp.Problem(
        cp.Minimize(cp.sum_squares(y - X @ w - b) + alpha * cp.sum_squares(w)),
        [cp.abs(U @ w) <= epsilon],
    )
    problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    return w.value, (b.value if fit_intercept else 0.0), problem.value


def objective(X, y, w, b, alpha):
    return np.sum((y - X @ w - b) ** 2) + alpha * np.sum(w**2)


def mean_prediction_gaps(pred, s):
    groups = np.unique(s)
    if len(groups) == 2:
        return np.array([pred[s == groups[0]].mean() - pred[s == groups[1]].mean()])
    return np.array([pred[s == g].mean() - pred.mean() for g in groups])


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("n_groups", [2, 3, 5])
@pytest.mark.parametrize("epsilon_fraction", [0.0, 0.1, 0.5, 2.0])
def test_matches_cvxpy(n_groups, epsilon_fraction, fit_intercept):
    X, y, s = make_data(n_groups, seed=n_groups)
    unconstrained = Ridge(alpha=2.0, fit_intercept=fit_intercept).fit(X, y).predict(X)
    epsilon = epsilon_fraction * np.abs(mean_prediction_gaps(unconstrained, s)).max()
    model = FairRidge(alpha=2.0, epsilon=epsilon, fit_intercept=fit_intercept).fit(X, y, sensitive_features=s)
    w_ref, b_ref, value_ref = cvxpy_fair_ridge(X, y, s, 2.0, epsilon, fit_intercept)
    scale = np.abs(w_ref).max()
    np.testing.assert_allclose(model.coef_, w_ref, atol=1e-6 * scale)
    assert model.intercept_ == pytest.approx(b_ref, abs=1e-6 * max(1.0, abs(b_ref)))
    # Our objective is never worse than the interior-point one (up to its tolerance).
    assert objective(X, y, model.coef_, model.intercept_, 2.0) <= value_ref * (1 + 1e-9)
    gaps = mean_prediction_gaps(model.predict(X), s)
    assert np.all(np.abs(gaps) <= epsilon + 1e-9)
    np.testing.assert_allclose(model.constraint_values_, gaps, atol=1e-9)


def test_epsilon_zero_is_ridge_on_projected_features():
    X, y, s = make_data(3, seed=11)
    model = FairRidge(alpha=0.7, epsilon=0.0, fit_intercept=False).fit(X, y, sensitive_features=s)
    U = gap_vectors(X, s)
    basis = np.linalg.svd(U, full_matrices=False)[2][: np.linalg.matrix_rank(U)]
    projected = X - X @ basis.T @ basis
    reference = Ridge(alpha=0.7, fit_intercept=False).fit(projected, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-9, atol=1e-12)
    assert model.solution_.method == "projection"
    np.testing.assert_allclose(mean_prediction_gaps(model.predict(X), s), 0.0, atol=1e-10)


def test_one_active_constraint_is_met_exactly():
    X, y, s = make_data(2, seed=5)
    model = FairRidge(alpha=1.0, epsilon=0.05).fit(X, y, sensitive_features=s)
    assert model.solution_.method == "closed_form"
    assert abs(mean_prediction_gaps(model.predict(X), s)[0]) == pytest.approx(0.05, abs=1e-12)
    assert model.dual_coef_[0] != 0.0


def test_loose_epsilon_gives_sklearn_ridge():
    X, y, s = make_data(4, seed=6)
    model = FairRidge(alpha=3.0, epsilon=1e6).fit(X, y, sensitive_features=s)
    reference = Ridge(alpha=3.0).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-10)
    assert model.intercept_ == pytest.approx(reference.intercept_, rel=1e-10)
    np.testing.assert_array_equal(model.dual_coef_, 0.0)


def test_constraint_vectors_come_from_the_constraint_machinery():
    X, y, s = make_data(3, seed=7)
    model = FairRidge(constraint=DemographicParity()).fit(X, y, sensitive_features=s)
    np.testing.assert_allclose(model.constraint_vectors_, gap_vectors(X, s), atol=1e-12)
    assert model.constraint_labels_ == ["0 - pooled", "1 - pooled", "2 - pooled"]


def test_pandas_input():
    X, y, s = make_data(2, seed=8)
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    labels = pd.Series(np.where(s == 0, "w", "m"))
    model = FairRidge(epsilon=0.1).fit(frame, pd.Series(y), sensitive_features=labels)
    reference = FairRidge(epsilon=0.1).fit(X, y, sensitive_features=np.where(s == 0, "w", "m"))
    np.testing.assert_allclose(model.predict(frame), reference.predict(X))
    assert list(model.feature_names_in_) == list(frame.columns)


@pytest.mark.parametrize(
    "params, data, error, match",
    [
        (dict(alpha=0.0), {}, FairermValueError, "alpha must be > 0"),
        (dict(epsilon=-1.0), {}, FairermValueError, "epsilon must be >= 0"),
        (dict(constraint="equal_opportunity"), {}, FairermValueError, "constraint must be 'demographic_parity'"),
        (dict(fit_intercept="yes"), {}, FairermTypeError, "fit_intercept must be True or False"),
        ({}, dict(y_short=True), FairermValueError, "y has 49 entries but X has 50 samples"),
        ({}, dict(one_group=True), FairermValueError, "at least 2"),
        ({}, dict(y_nan=True), FairermValueError, "y contains NaN"),
        ({}, dict(y_complex=True), FairermValueError, "Complex data not supported: y must hold real numbers"),
        ({}, dict(X_nan=True), FairermValueError, "X"),
    ],
)
def test_errors(params, data, error, match):
    X, y, s = make_data(2, n=50, seed=9)
    if data.get("y_short"):
        y = y[:-1]
    if data.get("one_group"):
        s = np.zeros_like(s)
    if data.get("y_nan"):
        y[0] = np.nan
    if data.get("y_complex"):
        y = y + 1j
    if data.get("X_nan"):
        X[0, 0] = np.nan
    with pytest.raises(error, match=match):
        FairRidge(**params).fit(X, y, sensitive_features=s)


def test_predict_errors():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        FairRidge().predict(np.zeros((2, 3)))
    X, y, s = make_data(2, n=50, seed=10)
    model = FairRidge().fit(X, y, sensitive_features=s)
    with pytest.raises(FairermValueError, match="X has 2 features but FairRidge was fitted with 6"):
        model.predict(X[:, :2])


@pytest.mark.parametrize(
    "check", [check_no_attributes_set_in_init, check_get_params_invariance, check_parameters_default_constructible]
)
def test_sklearn_constructor_contract(check):
    check("FairRidge", FairRidge(alpha=0.3, epsilon=0.1))


def test_pipeline_routes_sensitive_features():
    X, y, s = make_data(3, seed=12)
    X = 50.0 * X + 3.0
    with config_context(enable_metadata_routing=True):
        step = FairRidge(epsilon=0.0).set_fit_request(sensitive_features=True)
        pipe = make_pipeline(StandardScaler(), step).fit(X, y, sensitive_features=s)
    gaps = mean_prediction_gaps(pipe.predict(X), s)
    np.testing.assert_allclose(gaps, 0.0, atol=1e-9)


def test_predict_refuses_reordered_dataframe_columns():
    """Fit on df[["age", "income", "hours"]], predict on another order: refused, not silently wrong (issue 16)."""
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 300
    s = rng.integers(0, 2, n)
    df = pd.DataFrame({"age": rng.normal(40, 10, n), "income": rng.normal(50, 20, n), "hours": rng.normal(40, 5, n)})
    y = df["age"] + 2 * df["income"] + rng.normal(size=n)
    model = FairRidge(epsilon=0.1).fit(df[["age", "income", "hours"]], y, sensitive_features=s)
    model.predict(df[["age", "income", "hours"]])
    with pytest.raises(FairermValueError, match="another order"):
        model.predict(df[["income", "age", "hours"]])
    with pytest.raises(FairermValueError, match="feature names should match"):
        model.predict(df.rename(columns={"hours": "minutes"})[["age", "income", "minutes"]])
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        model.predict(df[["age", "income", "hours"]].to_numpy())


@pytest.mark.parametrize("epsilon", [0.0, 0.1])
def test_wide_data_uses_the_n_by_n_form_and_matches_the_d_by_d_one(epsilon):
    """d > n: the Woodbury (n x n) form of the normal equations gives the d x d form's solution (issue 16)."""
    from fairerm.solvers import ridge

    rng = np.random.default_rng(1)
    n, d = 60, 400
    s = rng.integers(0, 2, n)
    X = rng.normal(size=(n, d)) + 0.5 * s[:, None] * (rng.random(d) < 0.1)
    y = X[:, :5].sum(axis=1) + rng.normal(size=n)
    wide = FairRidge(alpha=2.0, epsilon=epsilon).fit(X, y, sensitive_features=s)
    Xc = X - X.mean(0)
    assert ridge._RidgeInverse(Xc, 2.0).wide
    A = Xc.T @ Xc + 2.0 * np.eye(d)  # the d x d statement, solved here by KKT directly
    u = X[s == 0].mean(0) - X[s == 1].mean(0)
    w0 = np.linalg.solve(A, Xc.T @ (y - y.mean()))
    Ainv_u = np.linalg.solve(A, u)
    gap = u @ w0
    mu = np.sign(gap) * max(abs(gap) - epsilon, 0.0) / (u @ Ainv_u)
    np.testing.assert_allclose(wide.coef_, w0 - mu * Ainv_u, rtol=1e-7, atol=1e-10)
    assert abs(wide.coef_ @ u) <= epsilon + 1e-9


def test_wide_ridge_memory_is_checked_before_the_normal_equations(monkeypatch):
    from fairerm import _memory
    from fairerm.exceptions import MemoryBudgetError

    monkeypatch.setattr(_memory, "available_memory_bytes", lambda: 2**20)
    rng = np.random.default_rng(2)
    X, s = rng.normal(size=(400, 2000)), rng.integers(0, 2, 400)
    with pytest.raises(MemoryBudgetError, match="400 x 400 normal equations"):
        FairRidge().fit(X, X[:, 0], sensitive_features=s)
