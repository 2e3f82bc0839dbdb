"""scikit-learn integration: clone and pickle every estimator, route sensitive_features through a
Pipeline, check the fairness constraint recomputed from the data in the test."""

import pickle

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from fairerm import FairKernelSVC, FairLinearSVC, FairProjection, WassersteinFairRegressor
from fairerm.datasets import make_synthetic
from fairerm.regression import FairRidge
from fairerm.representation import torch_available


@pytest.fixture(scope="module")
def data():
    d = make_synthetic(200, bias=1.5, include_sensitive=False, random_state=0)
    return d.data.to_numpy(), d.target.to_numpy(), d.sensitive.to_numpy()


def _regression_target(X, s):
    rng = np.random.default_rng(0)
    return X @ np.arange(1, X.shape[1] + 1) + 2.0 * (s == "a") + 0.1 * rng.standard_normal(X.shape[0])


def _estimators():
    cases = [
        ("FairLinearSVC", lambda: FairLinearSVC(C=0.5, epsilon=0.1), "classify"),
        ("FairKernelSVC", lambda: FairKernelSVC(C=2.0, gamma=0.3, epsilon=0.05), "classify"),
        ("FairProjection", lambda: FairProjection(), "transform"),
        ("FairRidge", lambda: FairRidge(alpha=0.5), "regress"),
        ("WassersteinFairRegressor", lambda: WassersteinFairRegressor(Ridge(), random_state=0), "regress_s"),
    ]
    if torch_available():
        from fairerm import FairRepresentation

        cases.append(("FairRepresentation",
                      lambda: FairRepresentation(max_epochs=3, hidden_layer_sizes=(8,), representation_dim=4,
                                                 random_state=0), "transform"))
    return cases


def _fit_and_output(estimator, kind, X, y, s):
    if kind in ("regress", "regress_s"):
        estimator.fit(X, _regression_target(X, s), sensitive_features=s)
    else:
        estimator.fit(X, y, sensitive_features=s)
    if kind == "classify":
        return np.c_[estimator.decision_function(X), estimator.predict(X)]
    if kind == "transform":
        return estimator.transform(X)
    if kind == "regress_s":
        return estimator.predict(X, sensitive_features=s)
    return estimator.predict(X)


@pytest.mark.parametrize("name, make, kind", _estimators(), ids=[c[0] for c in _estimators()])
def test_clone_and_pickle_round_trip(data, name, make, kind):
    X, y, s = data
    template = make()
    cloned = clone(template)
    assert cloned is not template
    assert repr(cloned.get_params(deep=False)) == repr(template.get_params(deep=False))
    assert type(cloned) is type(template)
    assert repr(cloned) == repr(template)
    fitted = make()
    out = _fit_and_output(fitted, kind, X, y, s)
    restored = pickle.loads(pickle.dumps(fitted))
    if kind == "regress_s":
        again = restored.predict(X, sensitive_features=s)
    elif kind == "classify":
        again = np.c_[restored.decision_function(X), restored.predict(X)]
    elif kind == "transform":
        again = restored.transform(X)
    else:
        again = restored.predict(X)
    np.testing.assert_array_equal(out, again)
    # a clone of a fitted estimator is unfitted and refits to the same outputs
    refitted_out = _fit_and_output(clone(fitted), kind, X, y, s)
    np.testing.assert_allclose(refitted_out, out, rtol=1e-6, atol=1e-6)


def _positive_group_mean_gap(X, y, s):
    """u = mean of the positives of group a minus mean of the positives of group b, from the data."""
    pos = y == 1
    return X[pos & (s == "a")].mean(axis=0) - X[pos & (s == "b")].mean(axis=0)


def test_pipeline_routes_groups_to_fair_linear_svc(data):
    X, y, s = data
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = Pipeline([("scale", StandardScaler()),
                         ("svm", FairLinearSVC(C=1.0, epsilon=0.02).set_fit_request(sensitive_features=True))])
        pipe.fit(X, y, sensitive_features=s)
    Z = StandardScaler().fit_transform(X)
    u = _positive_group_mean_gap(Z, y, s)
    w = pipe.named_steps["svm"].coef_[0]
    assert abs(w @ u) <= 0.02 + 1e-6
    unconstrained = FairLinearSVC(C=1.0, epsilon=1e3).fit(Z, y, sensitive_features=s).coef_[0]
    assert abs(unconstrained @ u) > 0.1  # the constraint is active, so routing mattered


def test_pipeline_routes_groups_to_fair_projection(data):
    X, y, s = data
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = Pipeline([("scale", StandardScaler()),
                         ("project", FairProjection().set_fit_request(sensitive_features=True)),
                         ("svm", LinearSVC(C=1.0, loss="hinge", max_iter=100_000))])
        pipe.fit(X, y, sensitive_features=s)
    Z = StandardScaler().fit_transform(X)
    u = _positive_group_mean_gap(Z, y, s)
    # the effective weight on the scaled features is P w, orthogonal to u
    P = pipe.named_steps["project"].projection_
    w_effective = P @ pipe.named_steps["svm"].coef_[0]
    assert abs(w_effective @ u) <= 1e-8 * np.linalg.norm(w_effective) * np.linalg.norm(u)
    scores = pipe.decision_function(X)
    np.testing.assert_allclose(scores, Z @ w_effective + pipe.named_steps["svm"].intercept_[0], atol=1e-10)


def test_routing_off_gives_a_clear_error(data):
    X, y, s = data
    pipe = Pipeline([("scale", StandardScaler()), ("svm", FairLinearSVC())])
    with pytest.raises(ValueError, match="sensitive_features"):
        pipe.fit(X, y)
