"""The fair SVM estimators: constraint checked from the fitted model, errors, scikit-learn behaviour."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC, LinearSVC

from fairerm import FairKernelSVC, FairLinearSVC, FairProjection
from fairerm.datasets import make_synthetic
from fairerm.exceptions import ConvergenceWarning
from fairerm.metrics import equal_opportunity_difference


def _u_equal_opportunity(X, y, s):
    X = np.asarray(X, dtype=float)
    y, s = np.asarray(y), np.asarray(s)
    pos = y == np.max(y)
    groups = np.unique(s)
    return X[pos & (s == groups[0])].mean(0) - X[pos & (s == groups[1])].mean(0)


@pytest.fixture(scope="module")
def synthetic():
    d = make_synthetic(n_samples=500, include_sensitive=False, bias=1.5, random_state=0)
    return d.data, d.target, d.sensitive


@pytest.mark.parametrize("solver", ["osqp", "cvxpy"])
@pytest.mark.parametrize("epsilon", [0.0, 0.02, 0.2])
def test_linear_constraint_holds_from_coef_and_independent_u(synthetic, solver, epsilon):
    X, y, s = synthetic
    model = FairLinearSVC(C=1.0, epsilon=epsilon, solver=solver).fit(X, y, sensitive_features=s)
    u = _u_equal_opportunity(X, y, s)
    assert abs(model.coef_[0] @ u) <= epsilon + 1e-6
    np.testing.assert_allclose(model.constraint_value_, [model.coef_[0] @ u], atol=1e-10)
    assert model.converged_


def test_projection_then_any_linear_learner_satisfies_the_constraint(synthetic):
    X, y, s = synthetic
    pipe = make_pipeline(FairProjection(), LinearSVC(C=1.0))
    pipe.fit(X, y, fairprojection__sensitive_features=s)
    w = pipe[0].projection_ @ pipe[1].coef_[0]
    np.testing.assert_allclose(pipe.decision_function(X), np.asarray(X) @ w + pipe[1].intercept_[0], atol=1e-8)
    assert abs(w @ _u_equal_opportunity(X, y, s)) < 1e-8


def test_projection_with_hinge_svm_equals_fair_linear_svc_at_eps_zero(synthetic):
    X, y, s = synthetic
    Xp = FairProjection().fit(X, y, sensitive_features=s).transform(X)
    plain = FairLinearSVC(C=1.0, epsilon=1e6).fit(Xp, y, sensitive_features=s)
    fair = FairLinearSVC(C=1.0, epsilon=0.0).fit(X, y, sensitive_features=s)
    np.testing.assert_allclose(plain.decision_function(Xp), fair.decision_function(X), atol=1e-4)


def test_fair_model_reduces_training_deo(synthetic):
    X, y, s = synthetic
    svc = SVC(C=1.0).fit(X, y)
    fair = FairKernelSVC(C=1.0).fit(X, y, sensitive_features=s)
    deo_svc = equal_opportunity_difference(y, svc.predict(X), sensitive_features=s)
    deo_fair = equal_opportunity_difference(y, fair.predict(X), sensitive_features=s)
    assert deo_fair < 0.5 * deo_svc


def test_kernel_svc_with_large_epsilon_equals_sklearn_svc(synthetic):
    X, y, s = synthetic
    ours = FairKernelSVC(C=1.0, gamma=0.2, epsilon=1e6, tol=1e-6).fit(X, y, sensitive_features=s)
    ref = SVC(C=1.0, gamma=0.2, tol=1e-6).fit(X, y)
    np.testing.assert_allclose(ours.decision_function(X), ref.decision_function(X), atol=1e-3)
    np.testing.assert_array_equal(np.sort(ours.support_), np.sort(ref.support_))
    assert ours.mu_[0] == 0.0


@pytest.mark.parametrize("epsilon", [0.0, 0.05])
def test_kernel_attributes_reproduce_the_constraint_value(synthetic, epsilon):
    X, y, s = synthetic
    model = FairKernelSVC(C=1.0, gamma=0.2, epsilon=epsilon, tol=1e-5).fit(X, y, sensitive_features=s)
    Xa = np.asarray(X)
    ya, sa = np.asarray(y), np.asarray(s)
    pos = ya == 1
    c = np.zeros(len(ya))
    c[pos & (sa == "a")] = 1 / np.sum(pos & (sa == "a"))
    c[pos & (sa == "b")] = -1 / np.sum(pos & (sa == "b"))
    K = rbf_kernel(Xa, Xa, gamma=0.2)
    value = model.dual_coef_[0] @ K[model.support_] @ c - model.mu_[0] * (c @ K @ c)
    assert abs(value) <= epsilon + 1e-5
    assert value == pytest.approx(model.constraint_value_[0], abs=1e-8)
    # the decision function is the SV expansion minus mu * <u, phi(x)>
    f = model.dual_coef_[0] @ K[model.support_] - model.mu_[0] * (c @ K) + model.intercept_[0]
    np.testing.assert_allclose(model.decision_function(X), f, atol=1e-8)
    assert model.weight_norm_ == pytest.approx(np.sqrt(model.expansion_coef_ @ K[np.ix_(
        model.expansion_indices_, model.expansion_indices_)] @ model.expansion_coef_))


def test_precomputed_kernel_matches_rbf(synthetic):
    X, y, s = synthetic
    Xa = np.asarray(X)
    a = FairKernelSVC(gamma=0.2, epsilon=0.05, tol=1e-6).fit(Xa, y, sensitive_features=s)
    K = rbf_kernel(Xa, Xa, gamma=0.2)
    b = FairKernelSVC(kernel="precomputed", epsilon=0.05, tol=1e-6).fit(K, y, sensitive_features=s)
    np.testing.assert_allclose(a.decision_function(Xa[:50]), b.decision_function(K[:50]), atol=1e-5)
    with pytest.raises(ValueError, match="500 features"):
        b.decision_function(K[:50, :10])


def test_any_two_labels_pandas_and_pickle(synthetic):
    X, y, s = synthetic
    labels = pd.Series(np.where(np.asarray(y) == 1, "yes", "no"))
    model = FairKernelSVC(epsilon=0.01).fit(X, labels, sensitive_features=s)
    assert list(model.classes_) == ["no", "yes"]
    assert set(model.predict(X)) <= {"no", "yes"}
    assert list(model.feature_names_in_) == list(X.columns)
    clone_ = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(clone_.decision_function(X), model.decision_function(X))
    assert clone(model).get_params() == model.get_params()


@pytest.mark.parametrize("Estimator", [FairLinearSVC, FairKernelSVC])
def test_bad_input_gets_a_clear_error(Estimator, synthetic):
    X, y, s = synthetic
    Xa, ya, sa = np.asarray(X), np.asarray(y), np.asarray(s)
    with pytest.raises(ValueError, match="sensitive_features has 499 entries but X has 500"):
        Estimator().fit(Xa, ya, sensitive_features=sa[:-1])
    with pytest.raises(ValueError, match="y has 499 entries"):
        Estimator().fit(Xa, ya[:-1], sensitive_features=sa)
    Xnan = Xa.copy()
    Xnan[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Estimator().fit(Xnan, ya, sensitive_features=sa)
    with pytest.raises(ValueError, match="1 distinct group"):
        Estimator().fit(Xa, ya, sensitive_features=np.full(500, "a"))
    no_pos_b = sa.copy()
    no_pos_b[(ya == 1) & (sa == "b")] = "a"
    with pytest.raises(ValueError, match=r"group\(s\) \['b'\] have no positive"):
        Estimator().fit(Xa, ya, sensitive_features=no_pos_b)
    with pytest.raises(ValueError, match="exactly two classes"):
        Estimator().fit(Xa, np.arange(500) % 3, sensitive_features=sa)
    with pytest.raises(ValueError, match="C must be > 0"):
        Estimator(C=-1.0).fit(Xa, ya, sensitive_features=sa)
    with pytest.raises(ValueError, match="epsilon must be >= 0"):
        Estimator(epsilon=-0.1).fit(Xa, ya, sensitive_features=sa)
    with pytest.raises(ValueError, match="needs sensitive_features"):
        Estimator().fit(Xa, ya)
    with pytest.raises(ValueError, match="solver must be one of"):
        Estimator(solver="magic").fit(Xa, ya, sensitive_features=sa)


def test_kernel_specific_errors(synthetic):
    X, y, s = synthetic
    with pytest.raises(ValueError, match="kernel must be one of"):
        FairKernelSVC(kernel="laplace").fit(X, y, sensitive_features=s)
    with pytest.raises(ValueError, match="gamma must be a positive"):
        FairKernelSVC(gamma=0.0).fit(X, y, sensitive_features=s)
    with pytest.raises(ValueError, match="precomputed"):
        FairKernelSVC(kernel="precomputed").fit(np.asarray(X), y, sensitive_features=s)


def test_non_converged_solver_warns_with_its_status(synthetic):
    X, y, s = synthetic
    with pytest.warns(ConvergenceWarning, match="status"):
        model = FairLinearSVC(solver="osqp", max_iter=5, solver_options={"polishing": False}).fit(X, y, sensitive_features=s)
    assert not model.converged_
    with pytest.warns(ConvergenceWarning, match="max_iter_reached"):
        model = FairKernelSVC(max_iter=3).fit(X, y, sensitive_features=s)
    assert model.status_ == "max_iter_reached"


def test_converged_fit_is_silent(synthetic):
    X, y, s = synthetic
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        FairKernelSVC(epsilon=0.05).fit(X, y, sensitive_features=s)
        FairLinearSVC(epsilon=0.05).fit(X, y, sensitive_features=s)


@pytest.mark.realdata
@pytest.mark.slow
def test_adult_official_split_linear_ferm():
    from fairerm.datasets import load_adult, make_preprocessor

    try:
        train, test = load_adult(subset="train"), load_adult(subset="test")
    except OSError as exc:  # pragma: no cover - no source reachable
        pytest.skip(f"Adult not available: {exc}")
    pre = make_preprocessor(train).fit(train.data)
    X, Xt = pre.transform(train.data), pre.transform(test.data)
    y, s = train.target.to_numpy(), train.sensitive.to_numpy()
    proj = make_pipeline(FairProjection(), LinearSVC(C=0.1, loss="hinge", max_iter=100_000))
    proj.fit(X, y, fairprojection__sensitive_features=s)
    w = proj[0].projection_ @ proj[1].coef_[0]
    assert abs(w @ _u_equal_opportunity(X, y, s)) < 1e-8
    rows = np.random.default_rng(0).choice(len(y), 4000, replace=False)
    base = LinearSVC(C=0.1, loss="hinge", max_iter=100_000).fit(X[rows], y[rows])
    for eps in (0.0, 0.01):
        fair = FairLinearSVC(C=0.1, epsilon=eps).fit(X[rows], y[rows], sensitive_features=s[rows])
        assert abs(fair.coef_[0] @ _u_equal_opportunity(X[rows], y[rows], s[rows])) <= eps + 1e-6
    deo = lambda m: equal_opportunity_difference(test.target, m.predict(Xt), sensitive_features=test.sensitive)
    acc = lambda m: np.mean(m.predict(Xt) == test.target.to_numpy())
    assert deo(fair) < 0.5 * deo(base)
    assert acc(fair) > acc(base) - 0.02


def test_a_refit_with_other_settings_leaves_no_attribute_of_the_previous_fit(make_problem):
    """scikit-learn's refit semantics: a linear-loss refit after a ramp fit has no cccp_* record, an exact
    refit after an approximate one no coef_, an approximate refit after an exact one no expansion_*."""
    X, y, s = make_problem(n=200, d=4, seed=0)
    model = FairLinearSVC(fairness_loss="ramp", epsilon=0.05).fit(X, y, sensitive_features=s)
    assert hasattr(model, "cccp_objectives_") and hasattr(model, "ramp_tol_")
    model.set_params(fairness_loss="linear").fit(X, y, sensitive_features=s)
    assert not any(name.startswith(("cccp_", "n_cccp_", "ramp_")) and name.endswith("_") for name in vars(model))
    kernel = FairKernelSVC(approximation="rff", n_components=20, random_state=0).fit(X, y, sensitive_features=s)
    assert hasattr(kernel, "coef_") and not hasattr(kernel, "expansion_coef_")
    kernel.set_params(approximation=None).fit(X, y, sensitive_features=s)
    assert hasattr(kernel, "expansion_coef_") and not hasattr(kernel, "coef_")
    assert not hasattr(kernel, "n_components_") and not hasattr(kernel, "constraint_vectors_")
    kernel.set_params(approximation="nystroem", n_components=30).fit(X, y, sensitive_features=s)
    assert hasattr(kernel, "coef_") and not hasattr(kernel, "expansion_coef_")
    assert not hasattr(kernel, "constraint_support_")
