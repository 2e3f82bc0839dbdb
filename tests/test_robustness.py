"""Numerical robustness of the FERM estimators on awkward data (issue 11).

Each test states a fact that follows from the mathematics and checks it against an independent
computation: scikit-learn's SVC for unconstrained problems, the fairness constraint recomputed
from the data, exact invariances (duplicating every point and halving C; adding a constant
column; rescaling the features with gamma="scale"), and the solver's report when it stops early.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.svm import SVC

from fairerm import FairKernelSVC, FairLinearSVC, FairProjection
from fairerm.exceptions import ConvergenceWarning


def _problem(n=80, d=3, seed=0, shift=1.0):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 2, size=n)
    X = rng.normal(size=(n, d))
    X[:, 0] += shift * s
    y = np.where(X[:, 0] + X[:, 1] + 0.5 * rng.normal(size=n) > 0.5, 1, -1)
    return X, y, s


def _positive_gap(X, y, s):
    """u = mean of group 0's positives - mean of group 1's positives, from the data."""
    return X[(y == 1) & (s == 0)].mean(axis=0) - X[(y == 1) & (s == 1)].mean(axis=0)


def _kernel_constraint(model, X, y, s):
    """<w, u> of a fitted rbf FairKernelSVC, recomputed from its expansion and the kernel of the data."""
    from sklearn.metrics.pairwise import rbf_kernel

    K = rbf_kernel(X, X, gamma=model.gamma_)
    beta = np.zeros(X.shape[0])
    beta[model.expansion_indices_] = model.expansion_coef_
    k_u = K[:, (y == 1) & (s == 0)].mean(axis=1) - K[:, (y == 1) & (s == 1)].mean(axis=1)
    return float(beta @ k_u)


# -- groups already balanced: u = 0 ----------------------------------------------------------------
@pytest.fixture(scope="module")
def balanced():
    """Group 1 is an exact copy of group 0, so u = 0 and the constraint is void."""
    X, y, _ = _problem(n=40, shift=0.0)
    return np.vstack([X, X]), np.r_[y, y], np.r_[np.zeros(40, int), np.ones(40, int)]


def test_zero_u_linear_equals_unconstrained_svm(balanced):
    X, y, s = balanced
    assert np.allclose(_positive_gap(X, y, s), 0.0)
    model = FairLinearSVC(C=0.7).fit(X, y, sensitive_features=s)
    reference = SVC(kernel="linear", C=0.7, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(model.coef_[0], reference.coef_[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=1e-4, atol=1e-4)


def test_zero_u_kernel_equals_unconstrained_svm(balanced):
    X, y, s = balanced
    model = FairKernelSVC(C=2.0, gamma=0.5, tol=1e-6).fit(X, y, sensitive_features=s)
    reference = SVC(kernel="rbf", C=2.0, gamma=0.5, tol=1e-6).fit(X, y)
    np.testing.assert_allclose(model.decision_function(X), reference.decision_function(X), atol=1e-3)


def test_zero_u_projection_removes_nothing(balanced):
    X, y, s = balanced
    projection = FairProjection().fit(X, y, sensitive_features=s)
    assert projection.removed_directions_.shape[0] == 0
    np.testing.assert_array_equal(projection.transform(X), X)


# -- duplicated points, constant features, scales ----------------------------------------------------
@pytest.mark.parametrize("epsilon", [0.0, 0.05])
def test_duplicating_every_point_and_halving_C_changes_nothing(epsilon):
    """sum of hinges doubles and the group means are unchanged, so (2n points, C/2) = (n points, C)."""
    X, y, s = _problem()
    once = FairLinearSVC(C=1.0, epsilon=epsilon).fit(X, y, sensitive_features=s)
    twice = FairLinearSVC(C=0.5, epsilon=epsilon).fit(np.vstack([X, X]), np.r_[y, y], sensitive_features=np.r_[s, s])
    np.testing.assert_allclose(twice.coef_, once.coef_, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(twice.intercept_, once.intercept_, rtol=1e-4, atol=1e-4)


def test_constant_feature_gets_zero_weight():
    """A constant column is absorbed by the intercept; its penalised weight is 0, the rest unchanged."""
    X, y, s = _problem()
    with_constant = np.c_[X, np.full(X.shape[0], 3.0)]
    plain = FairLinearSVC(C=1.0, epsilon=0.02).fit(X, y, sensitive_features=s)
    padded = FairLinearSVC(C=1.0, epsilon=0.02).fit(with_constant, y, sensitive_features=s)
    assert abs(padded.coef_[0, -1]) < 1e-6
    np.testing.assert_allclose(padded.coef_[0, :-1], plain.coef_[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(padded.decision_function(with_constant), plain.decision_function(X), atol=1e-4)


@pytest.mark.parametrize("scale", [1e-6, 1e6])
def test_kernel_with_gamma_scale_is_invariant_to_feature_scale(scale):
    """gamma='scale' = 1/(d Var X) makes gamma ||x - x'||^2, hence the whole problem, scale-free."""
    X, y, s = _problem()
    plain = FairKernelSVC(C=1.0, tol=1e-6).fit(X, y, sensitive_features=s)
    scaled = FairKernelSVC(C=1.0, tol=1e-6).fit(X * scale, y, sensitive_features=s)
    np.testing.assert_allclose(scaled.gamma_ * scale**2, plain.gamma_, rtol=1e-10)
    np.testing.assert_allclose(scaled.decision_function(X * scale), plain.decision_function(X), atol=1e-6)
    assert abs(_kernel_constraint(scaled, X * scale, y, s)) < 1e-8


@pytest.mark.parametrize("scale", [1e-6, 1e-3, 1e3, 1e6])
def test_linear_rescaled_features_with_rescaled_C(scale):
    """x -> t x with C -> C / t^2 maps the solution w -> w / t (substitute v = t w in the primal)."""
    X, y, s = _problem()
    plain = FairLinearSVC(C=1.0, epsilon=0.05).fit(X, y, sensitive_features=s)
    scaled = FairLinearSVC(C=1.0 / scale**2, epsilon=0.05).fit(X * scale, y, sensitive_features=s)
    np.testing.assert_allclose(scaled.coef_[0] * scale, plain.coef_[0], rtol=1e-3, atol=1e-4)
    assert abs(scaled.coef_[0] @ _positive_gap(X * scale, y, s)) <= 0.05 + 1e-6


@pytest.mark.parametrize("scale", [1e-6, 1e6])
def test_projection_is_scale_equivariant(scale):
    X, y, s = _problem()
    plain = FairProjection().fit(X, y, sensitive_features=s)
    scaled = FairProjection().fit(X * scale, y, sensitive_features=s)
    np.testing.assert_allclose(scaled.transform(X * scale), scale * plain.transform(X), rtol=1e-9,
                               atol=1e-9 * scale)


# -- imbalanced groups, one positive, extreme C and gamma -------------------------------------------
def _imbalanced(n_small, n_small_positive):
    X, y, _ = _problem(n=120, seed=3)
    s = np.zeros(X.shape[0], dtype=int)
    positives, negatives = np.flatnonzero(y == 1), np.flatnonzero(y == -1)
    s[positives[:n_small_positive]] = 1
    s[negatives[:n_small - n_small_positive]] = 1
    return X, y, s


@pytest.mark.parametrize("n_small, n_small_positive", [(3, 2), (1, 1), (20, 1)])
def test_tiny_or_single_positive_group_satisfies_the_constraint(n_small, n_small_positive):
    X, y, s = _imbalanced(n_small, n_small_positive)
    u = _positive_gap(X, y, s)
    linear = FairLinearSVC(C=1.0).fit(X, y, sensitive_features=s)
    assert abs(linear.coef_[0] @ u) < 1e-6 * (1 + np.linalg.norm(linear.coef_) * np.linalg.norm(u))
    kernel = FairKernelSVC(C=1.0, gamma=0.3, epsilon=0.01).fit(X, y, sensitive_features=s)
    assert kernel.converged_
    assert abs(_kernel_constraint(kernel, X, y, s)) <= 0.01 + 1e-6


@pytest.mark.parametrize("C", [1e-6, 1e6])
def test_extreme_C_linear_is_fair_or_reports(C):
    X, y, s = _problem(n=60)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model = FairLinearSVC(C=C, epsilon=0.01).fit(X, y, sensitive_features=s)
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    assert warned == (not model.converged_)
    assert np.all(np.isfinite(model.decision_function(X)))
    if model.converged_:
        w = model.coef_[0]
        assert abs(w @ _positive_gap(X, y, s)) <= 0.01 + 1e-6 * (1 + np.linalg.norm(w))
    if C == 1e-6:  # w -> 0 as C -> 0: ||w||^2 / 2 <= C * sum(hinge at w = 0, b = 0) = C n
        assert np.linalg.norm(model.coef_) <= np.sqrt(2 * C * X.shape[0]) + 1e-8


@pytest.mark.parametrize("C", [1e-6, 1e6])
def test_extreme_C_kernel_matches_the_qp(C):
    X, y, s = _problem(n=40)
    exact = FairKernelSVC(C=C, gamma=0.5, epsilon=0.02, tol=1e-8).fit(X, y, sensitive_features=s)
    qp = FairKernelSVC(C=C, gamma=0.5, epsilon=0.02, solver="cvxpy").fit(X, y, sensitive_features=s)
    assert exact.converged_
    rel = abs(exact.objective_ - qp.objective_) / max(1.0, abs(qp.objective_))
    assert rel < 1e-3, (exact.objective_, qp.objective_)  # SMO's tol is absolute: C = 1e6 leaves ~5e-4 here
    assert abs(_kernel_constraint(exact, X, y, s)) <= 0.02 + 1e-6


@pytest.mark.parametrize("gamma", [1e-8, 1e8])
def test_extreme_gamma_is_finite_and_fair(gamma):
    X, y, s = _problem(n=60)
    model = FairKernelSVC(C=1.0, gamma=gamma).fit(X, y, sensitive_features=s)
    scores = model.decision_function(X)
    assert np.all(np.isfinite(scores))
    assert abs(_kernel_constraint(model, X, y, s)) < 1e-6
    if gamma == 1e8:  # K = I: every point is its own support vector, the training scores are y-ish
        assert model.support_.size == X.shape[0]


# -- solvers that stop early report it -----------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: FairKernelSVC(C=10.0, gamma=1.0, max_iter=2),
    lambda: FairKernelSVC(C=10.0, gamma=1.0, epsilon=0.05, max_iter=2),
    lambda: FairLinearSVC(C=10.0, solver="osqp", max_iter=3),
], ids=["kernel eps=0", "kernel eps>0", "linear osqp"])
def test_early_stop_warns_with_status_and_is_recorded(make):
    X, y, s = _problem(n=100)
    model = make()
    with pytest.warns(ConvergenceWarning) as record:
        model.fit(X, y, sensitive_features=s)
    message = str(record[0].message)
    assert model.converged_ is False
    assert model.status_ in message and "max_iter" in message  # status and a hint
    assert model.status_ != "optimal"
    assert np.all(np.isfinite(model.decision_function(X)))


# -- settings without a meaningful solution are refused -------------------------------------------
@pytest.mark.parametrize("estimator", [FairLinearSVC(), FairKernelSVC(), FairProjection()],
                         ids=["linear", "kernel", "projection"])
@pytest.mark.parametrize("case, match", [
    ("group without positives", "sensitive_features"),
    ("one group", "sensitive_features"),
    ("one class", "y"),
])
def test_degenerate_settings_are_refused(estimator, case, match):
    X, y, s = _problem(n=30)
    if case == "group without positives":
        s = np.where(y == 1, 0, s)
    elif case == "one group":
        s = np.zeros_like(s)
    else:
        y = np.ones_like(y)
    with pytest.raises(ValueError, match=match):
        estimator.fit(X, y, sensitive_features=s)


@pytest.mark.parametrize("estimator", [FairLinearSVC(), FairKernelSVC()], ids=["linear", "kernel"])
def test_a_failed_fit_leaves_the_model_unfitted(estimator):
    """fit validates (and sets classes_) before it can fail; predict must then say 'not fitted'."""
    from sklearn.exceptions import NotFittedError

    X, y, s = _problem(n=30)
    with pytest.raises(ValueError, match="sensitive_features"):
        estimator.fit(X, y, sensitive_features=np.where(y == 1, 0, s))
    with pytest.raises(NotFittedError):
        estimator.predict(X)


def test_column_vector_targets_are_accepted_with_sklearns_warning():
    """An (n, 1) y is used as 1-D (same model), and said so with a DataConversionWarning, as scikit-learn does."""
    from sklearn.exceptions import DataConversionWarning

    from fairerm import FairRidge

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    s = np.arange(120) % 2
    y = np.where(X[:, 0] + 0.3 * rng.normal(size=120) > 0, 1, -1)
    flat = FairLinearSVC(C=0.5).fit(X, y, sensitive_features=s)
    with pytest.warns(DataConversionWarning, match="A column-vector y was passed"):
        column = FairLinearSVC(C=0.5).fit(X, y[:, None], sensitive_features=s)
    np.testing.assert_allclose(column.coef_, flat.coef_)
    target = X @ np.array([1.0, -2.0, 0.5])
    with pytest.warns(DataConversionWarning, match="A column-vector y was passed"):
        ridge = FairRidge(epsilon=0.1).fit(X, target[:, None], sensitive_features=s)
    np.testing.assert_allclose(ridge.coef_, FairRidge(epsilon=0.1).fit(X, target, sensitive_features=s).coef_)
    with warnings.catch_warnings():  # groups given as one column are not a target: no warning
        warnings.simplefilter("error", DataConversionWarning)
        FairLinearSVC(C=0.5).fit(X, y, sensitive_features=s[:, None])
