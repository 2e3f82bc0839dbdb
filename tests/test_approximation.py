"""FairKernelSVC with an approximate feature map (Nystroem, random Fourier features)."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics.pairwise import rbf_kernel

from fairerm import FairKernelSVC
from fairerm.approximation import make_feature_map
from fairerm.exceptions import FairermValueError
from fairerm.kernels import KernelSpec


def _u_in_features(Z, y, s):
    """Equal-opportunity direction from its definition, in the feature space Z."""
    groups = np.unique(s)
    return Z[(y == 1) & (s == groups[0])].mean(0) - Z[(y == 1) & (s == groups[1])].mean(0)


@pytest.mark.parametrize("epsilon", [0.0, 0.02])
def test_nystroem_with_all_landmarks_matches_exact_kernel(make_problem, epsilon):
    X, y, s = make_problem(n=150, d=3, seed=7)
    exact = FairKernelSVC(C=1.0, gamma=0.2, epsilon=epsilon, solver="cvxpy").fit(X, y, sensitive_features=s)
    approx = FairKernelSVC(C=1.0, gamma=0.2, epsilon=epsilon, approximation="nystroem", n_components=150,
                           random_state=0).fit(X, y, sensitive_features=s)
    assert approx.n_components_ == 150 and approx.converged_
    # the features reproduce the training kernel, so the two problems coincide
    Z = approx.feature_map_.transform(X)
    assert np.max(np.abs(Z @ Z.T - rbf_kernel(X, gamma=0.2))) < 1e-6
    X_new = np.random.default_rng(1).normal(size=(40, 3))
    f_exact, f_approx = exact.decision_function(X), approx.decision_function(X)
    assert np.max(np.abs(f_approx - f_exact)) < 1e-3 * np.max(np.abs(f_exact))
    assert np.mean(approx.predict(X_new) == exact.predict(X_new)) >= 0.95
    assert approx.objective_ == pytest.approx(exact.objective_, rel=1e-4)


@pytest.mark.parametrize("approximation", ["nystroem", "rff"])
def test_constraint_holds_in_feature_space_and_predictions_use_the_map(make_problem, approximation):
    X, y, s = make_problem(n=400, d=4, seed=8)
    model = FairKernelSVC(C=1.0, epsilon=0.01, approximation=approximation, n_components=60,
                          random_state=3).fit(X, y, sensitive_features=s)
    Z = model.feature_map_.transform(X)
    assert Z.shape == (400, 60)
    u = _u_in_features(Z, y, s)
    assert np.allclose(model.constraint_vectors_[0], u, atol=1e-12)
    assert abs(model.coef_[0] @ u) <= 0.01 + 1e-6
    assert np.allclose(model.decision_function(X), Z @ model.coef_[0] + model.intercept_[0])
    assert model.weight_norm_ == pytest.approx(np.linalg.norm(model.coef_[0]))
    # seeded: the same random_state gives the same model, another one a different map
    again = FairKernelSVC(C=1.0, epsilon=0.01, approximation=approximation, n_components=60,
                          random_state=3).fit(X, y, sensitive_features=s)
    assert np.array_equal(again.decision_function(X), model.decision_function(X))
    other = clone(model).set_params(random_state=4).fit(X, y, sensitive_features=s)
    assert not np.allclose(other.feature_map_.transform(X[:5]), Z[:5])


def test_rff_approaches_the_exact_kernel_as_components_grow(make_problem):
    X, y, s = make_problem(n=200, d=3, seed=9)
    spec = KernelSpec("rbf", gamma=0.3)
    K = rbf_kernel(X, gamma=0.3)
    errors = []
    for D in (50, 5000):
        Z = make_feature_map("rff", spec, D, random_state=0).fit_transform(X)
        errors.append(np.max(np.abs(Z @ Z.T - K)))
    assert errors[1] < errors[0] / 3


def test_approximation_none_is_the_exact_model_and_params_round_trip(make_problem):
    X, y, s = make_problem(n=120, d=3, seed=10)
    default = FairKernelSVC(C=1.0).fit(X, y, sensitive_features=s)
    explicit = FairKernelSVC(C=1.0, approximation=None, n_components=7, random_state=5).fit(X, y, sensitive_features=s)
    assert explicit.feature_map_ is None
    assert np.array_equal(default.decision_function(X), explicit.decision_function(X))
    params = FairKernelSVC(approximation="rff", n_components=30, random_state=2).get_params()
    assert params["approximation"] == "rff" and params["n_components"] == 30 and params["random_state"] == 2
    cloned = clone(FairKernelSVC(approximation="nystroem", n_components=30))
    assert cloned.approximation == "nystroem" and not hasattr(cloned, "feature_map_")


def test_approximation_errors(make_problem):
    X, y, s = make_problem(n=60, d=3)
    with pytest.raises(FairermValueError, match="approximation must be one of"):
        FairKernelSVC(approximation="fourier").fit(X, y, sensitive_features=s)
    with pytest.raises(FairermValueError, match="RBF kernel only; got kernel='poly'"):
        FairKernelSVC(kernel="poly", approximation="rff").fit(X, y, sensitive_features=s)
    with pytest.raises(FairermValueError, match="n_components"):
        FairKernelSVC(approximation="rff", n_components=0).fit(X, y, sensitive_features=s)
    K = rbf_kernel(X)
    with pytest.raises(FairermValueError, match="kernel='precomputed'"):
        FairKernelSVC(kernel="precomputed", approximation="nystroem").fit(K, y, sensitive_features=s)
