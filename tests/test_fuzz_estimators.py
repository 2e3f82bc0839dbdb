"""Property-based fuzzing of the FERM estimators (issue 11): FairProjection, FairLinearSVC,
FairKernelSVC and WassersteinFairRegressor on hostile random data.

Every input gives either a valid result that satisfies the invariants below, recomputed here from
the data (never read from the estimator's own constraint attributes), or a ValueError/TypeError
whose message names an argument. Any other exception, a NaN, or an invariant broken fails.

Profiles (tests/fuzz_helpers.py): each property runs ``quick`` (40 inputs) in the default job
and ``ci`` (1,000 inputs, ``FAIRERM_FUZZ_EXAMPLES`` to change) in the slow job. The last test prints
the table of inputs tried and errors raised per entry point (``pytest -s``, or set
``FAIRERM_FUZZ_REPORT=path`` to append it to a file).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import strategies as st
from sklearn.linear_model import Ridge

from fairerm import FairKernelSVC, FairLinearSVC, FairProjection, WassersteinFairRegressor
from fairerm.exceptions import ConvergenceWarning
from fuzz_helpers import CI, INVARIANTS, QUICK, check_error, hostile_classification, positives_mean_gaps, record
from fuzz_helpers import CI_AGAINST_CVXPY, QUICK_SMALL, run_property

_FIT_ARGUMENTS = {"X", "y", "sensitive_features"}


def _fit_quietly(estimator, X, y, s):
    """Fit; return the ConvergenceWarnings raised (they must agree with ``converged_``)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        estimator.fit(X, y, sensitive_features=s)
    return [w for w in caught if issubclass(w.category, ConvergenceWarning)]


# ------------------------------------------------------------------------------------------------
INVARIANTS["FairProjection"] = ("transform finite; P w orthogonal to every m_g - m_pooled of the positives "
                                "(recomputed) for random w; P symmetric idempotent")


def _projection_property(data):
    X, y, s = data.draw(hostile_classification(), label="data")
    try:
        projection = FairProjection().fit(X, y, sensitive_features=s)
    except Exception as exc:  # noqa: BLE001 - the property is about which exceptions
        check_error("FairProjection", exc, _FIT_ARGUMENTS)
        return
    Z = projection.transform(X)
    assert np.all(np.isfinite(Z))
    P = projection.projection_
    np.testing.assert_allclose(P, P.T, atol=1e-12)
    np.testing.assert_allclose(P @ P, P, atol=1e-9)
    positive = y == np.unique(y)[1]
    gaps = positives_mean_gaps(X, positive, s)
    w = np.random.default_rng(0).normal(size=(X.shape[1], 3))
    values = gaps @ (P @ w)
    w_norm = np.linalg.norm(w, axis=0).max()
    # rounding in the group means is ~1e-16 |X|: balanced groups give a u made of rounding noise alone
    tol = 1e-8 * np.linalg.norm(gaps, axis=1).max() * w_norm + 1e-12 * np.abs(X).max() * w_norm
    assert np.all(np.abs(values) <= tol), (values, tol)
    # The effective linear model on the transformed data uses P w; its decision values agree.
    np.testing.assert_allclose(Z @ w, X @ (P @ w), rtol=1e-9, atol=1e-9 * np.abs(X).max() * np.abs(w).max())
    record("FairProjection", "ok")


# ------------------------------------------------------------------------------------------------
INVARIANTS["FairLinearSVC"] = ("converged => |<w, m_g - m_pooled>| <= eps + tol (recomputed); not converged => "
                               "ConvergenceWarning and converged_ False; scores finite; predict in classes_")


def _linear_property(data):
    X, y, s = data.draw(hostile_classification(n_max=40), label="data")
    C = 10.0 ** data.draw(st.sampled_from([-6, -3, -1, 0, 2, 6]), label="log10 C")
    epsilon = data.draw(st.sampled_from([0.0, 0.0, 1e-3, 0.1, 1.0]), label="epsilon")
    solver = data.draw(st.sampled_from(["auto", "dcd"]), label="solver")  # DCD + interior-point step too
    model = FairLinearSVC(C=C, epsilon=epsilon, solver=solver)
    try:
        warned = _fit_quietly(model, X, y, s)
    except Exception as exc:  # noqa: BLE001
        check_error("FairLinearSVC", exc, _FIT_ARGUMENTS)
        return
    assert bool(warned) == (not model.converged_), (model.status_, warned)
    scores = model.decision_function(X)
    assert np.all(np.isfinite(scores))
    assert set(model.predict(X)) <= set(model.classes_)
    if model.converged_:
        w = model.coef_[0]
        gaps = positives_mean_gaps(X, y == model.classes_[1], s)
        tol = 1e-6 * (1.0 + np.linalg.norm(w) * np.linalg.norm(gaps, axis=1).max())
        assert np.all(np.abs(gaps @ w) <= epsilon + tol), (gaps @ w, epsilon, tol)
    record("FairLinearSVC", "ok" if model.converged_ else "ok (not converged, warned)")


# ------------------------------------------------------------------------------------------------
INVARIANTS["FairKernelSVC"] = ("decision_function = sum_i beta_i k(x_i, x) + b with a numpy RBF from explicit differences; "
                               "|<w, u_g>| <= eps + tol from the kernel means of the positives (recomputed); "
                               "0 <= alpha <= C; scores finite")


def _kernel_property(data):
    X, y, s = data.draw(hostile_classification(), label="data")
    C = 10.0 ** data.draw(st.sampled_from([-3, -1, 0, 1, 3]), label="log10 C")
    gamma = data.draw(st.sampled_from(["scale", "auto", 1e-4, 1.0, 1e3]), label="gamma")
    epsilon = data.draw(st.sampled_from([0.0, 0.0, 1e-3, 0.1]), label="epsilon")
    model = FairKernelSVC(C=C, gamma=gamma, epsilon=epsilon, max_iter=200_000)
    try:
        warned = _fit_quietly(model, X, y, s)
    except Exception as exc:  # noqa: BLE001
        check_error("FairKernelSVC", exc, _FIT_ARGUMENTS | {"gamma", "C"})
        return
    assert bool(warned) == (not model.converged_)
    if gamma == "scale":
        expected_gamma = 1.0 / (X.shape[1] * X.var()) if X.var() > 0 else 1.0
        np.testing.assert_allclose(model.gamma_, expected_gamma, rtol=1e-12)
    # The reference kernel from explicit differences: exact to rounding even where ||x||^2 + ||x'||^2 - 2<x, x'>
    # (scikit-learn's rbf_kernel) cancels catastrophically (features with a large common offset).
    K = np.exp(-model.gamma_ * ((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=-1))
    beta = np.zeros(X.shape[0])
    beta[model.expansion_indices_] = model.expansion_coef_
    scores = model.decision_function(X)
    assert np.all(np.isfinite(scores))
    # The package (like libsvm) forms gamma (||x||^2 + ||x'||^2 - 2<x, x'>): each kernel value carries an
    # absolute rounding error of about gamma * eps * (||x||^2 + ||x'||^2), visible for unscaled features.
    kernel_rounding = 1e-14 * model.gamma_ * np.einsum("ij,ij->i", X, X).max()
    np.testing.assert_allclose(scores, K @ beta + model.intercept_[0], rtol=1e-7,
                               atol=(1e-7 + kernel_rounding) * (1.0 + np.abs(beta).sum()))
    assert np.all(np.abs(model.dual_coef_) <= C * (1 + 1e-9))
    if model.converged_:
        positive = y == model.classes_[1]
        groups = np.unique(s)
        kernel_means = np.array([K[:, positive & (s == g)].mean(axis=1) for g in groups])  # <phi(x_i), m_g>
        if len(groups) == 2:
            k_u = kernel_means[0] - kernel_means[1]
            values = np.array([beta @ k_u])
        else:
            values = (kernel_means - K[:, positive].mean(axis=1)) @ beta
        tol = (1e-6 + kernel_rounding) * (1.0 + np.abs(beta).sum())
        assert np.all(np.abs(values) <= epsilon + tol), (values, epsilon, tol)
    record("FairKernelSVC", "ok" if model.converged_ else "ok (not converged, warned)")


# ------------------------------------------------------------------------------------------------
INVARIANTS["FairLinearSVC = cvxpy"] = ("realistic sizes (200-5,000 rows), scales 1e-6..1e6: status 'optimal' => the "
                                       "objective recomputed from coef_ and intercept_ is within 1e-4 (relative) of "
                                       "CLARABEL's on the same problem and |<w, u>| <= eps (recomputed)")
INVARIANTS["FairKernelSVC = cvxpy"] = ("100-300 rows, scales 1e-6..1e6: status 'optimal' => objective within 1e-4 of the "
                                       "cvxpy dual on the same kernel")


def _objective(model, X, y, C):
    """The primal objective recomputed here from the fitted attributes."""
    signed = np.where(y == model.classes_[1], 1.0, -1.0)
    hinge = np.maximum(0.0, 1.0 - signed * model.decision_function(X))
    norm_sq = model.coef_[0] @ model.coef_[0] if hasattr(model, "coef_") else model.weight_norm_ ** 2
    return 0.5 * norm_sq + C * hinge.sum()


def _against_cvxpy(make, entry, sizes, X_y_s, data):
    X, y, s = X_y_s
    C = 10.0 ** data.draw(st.sampled_from([-2, -1, 0, 1, 2]), label="log10 C")
    epsilon = data.draw(st.sampled_from([0.0, 1e-3, 0.05]), label="epsilon")
    model = make(C, epsilon, data)
    try:
        warned = _fit_quietly(model, X, y, s)
    except Exception as exc:  # noqa: BLE001
        check_error(entry, exc, _FIT_ARGUMENTS)
        return
    assert bool(warned) == (not model.converged_), (model.status_, warned)
    if not model.converged_:
        record(entry, f"not certified, warned (solver={model.get_params()['solver']!r})")
        return
    params = {k: v for k, v in model.get_params().items() if k in ("kernel", "gamma")}
    reference = type(model)(C=C, epsilon=epsilon, solver="cvxpy", **params)
    if _fit_quietly(reference, X, y, s) or not reference.converged_:
        record(entry, "optimal (reference not certified)")
        return
    ours, theirs = _objective(model, X, y, C), _objective(reference, X, y, C)
    assert ours == pytest.approx(model.objective_, rel=1e-9)  # the reported objective is the model's
    assert abs(ours - theirs) <= 1e-4 * max(abs(theirs), 1e-300), (ours, theirs, model.solver_, model.status_)
    assert np.all(np.abs(model.constraint_value_) <= epsilon + 1e-6 * (1 + np.abs(model.constraint_value_).max()))
    record(entry, "optimal = cvxpy")


def _linear_vs_cvxpy_property(sizes):
    def prop(data):
        n = data.draw(st.sampled_from(sizes), label="n")
        data_set = data.draw(hostile_classification(n_min=n, n_max=n, d_max=8), label="data")
        solver = data.draw(st.sampled_from(["auto", "dcd", "osqp"]), label="solver")
        _against_cvxpy(lambda C, eps, d: FairLinearSVC(C=C, epsilon=eps, solver=solver), "FairLinearSVC = cvxpy",
                       sizes, data_set, data)
    return prop


def _kernel_vs_cvxpy_property(data):
    n = data.draw(st.sampled_from([100, 200, 300]), label="n")
    data_set = data.draw(hostile_classification(n_min=n, n_max=n, d_max=5), label="data")
    gamma = data.draw(st.sampled_from(["scale", 0.1, 1.0]), label="gamma")
    _against_cvxpy(lambda C, eps, d: FairKernelSVC(C=C, epsilon=eps, gamma=gamma), "FairKernelSVC = cvxpy", None,
                   data_set, data)


# ------------------------------------------------------------------------------------------------
INVARIANTS["WassersteinFairRegressor"] = ("predictions finite and inside [min f - sigma, max f + sigma] of the "
                                          "calibration predictions f (recomputed, sigma the jitter); same "
                                          "outputs twice")


def _wasserstein_property(data):
    X, y_class, s = data.draw(hostile_classification(n_min=2, n_max=60), label="data")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="target seed"))
    y = X @ rng.normal(size=X.shape[1]) + rng.normal(size=X.shape[0]) * np.abs(X).max()
    alpha = data.draw(st.sampled_from([1.0, 1.0, 0.5, 0.0]), label="alpha")
    prefit = data.draw(st.booleans(), label="prefit")
    base = Ridge(alpha=1.0).fit(X, y) if prefit else Ridge(alpha=1.0)
    model = WassersteinFairRegressor(base, alpha=alpha, prefit=prefit, random_state=0)
    try:
        model.fit(X, None if prefit else y, sensitive_features=s)
    except Exception as exc:  # noqa: BLE001
        check_error("WassersteinFairRegressor", exc, _FIT_ARGUMENTS | {"calibration_size"})
        return
    predictions = model.predict(X, sensitive_features=s)
    assert np.all(np.isfinite(predictions))
    np.testing.assert_array_equal(predictions, model.predict(X, sensitive_features=s))
    f = model.estimator_.predict(X)  # every row of X (prefit) or a superset of the calibration rows
    sigma = 1e-5 * (np.std(f) if np.std(f) > 0 else 1.0) if prefit else 1e-5 * (np.ptp(f) + 1.0)
    slack = 1e-9 * (1.0 + np.abs(f).max())
    assert predictions.min() >= f.min() - sigma - slack and predictions.max() <= f.max() + sigma + slack
    record("WassersteinFairRegressor", "ok")


# ------------------------------------------------------------------------------------------------
_PROPERTIES = {
    "projection": _projection_property,
    "linear": _linear_property,
    "kernel": _kernel_property,
    "wasserstein": _wasserstein_property,
}
_ENTRIES = {"projection": ("FairProjection",), "linear": ("FairLinearSVC",), "kernel": ("FairKernelSVC",),
            "wasserstein": ("WassersteinFairRegressor",)}
#: Objective against cvxpy at realistic sizes: a few inputs in the default job, hundreds in the slow one.
_QUICK_AGAINST_CVXPY = {"linear_vs_cvxpy": (_linear_vs_cvxpy_property([200, 1000, 2000]), QUICK_SMALL),
                        "kernel_vs_cvxpy": (_kernel_vs_cvxpy_property, QUICK_SMALL)}
_CI_AGAINST_CVXPY = {"linear_vs_cvxpy": (_linear_vs_cvxpy_property([200, 1000, 2000, 5000]), CI_AGAINST_CVXPY),
                     "kernel_vs_cvxpy": (_kernel_vs_cvxpy_property, CI_AGAINST_CVXPY)}
_ENTRIES.update(linear_vs_cvxpy=("FairLinearSVC = cvxpy",), kernel_vs_cvxpy=("FairKernelSVC = cvxpy",))


@pytest.mark.parametrize("name", sorted(_PROPERTIES))
def test_fuzz_quick(name):
    run_property(_PROPERTIES[name], QUICK, _ENTRIES[name])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(_PROPERTIES))
def test_fuzz_ci(name):
    run_property(_PROPERTIES[name], CI, _ENTRIES[name])


@pytest.mark.parametrize("name", sorted(_QUICK_AGAINST_CVXPY))
def test_fuzz_objective_against_cvxpy_quick(name):
    prop, profile = _QUICK_AGAINST_CVXPY[name]
    run_property(prop, profile, _ENTRIES[name])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(_CI_AGAINST_CVXPY))
def test_fuzz_objective_against_cvxpy_ci(name):
    prop, profile = _CI_AGAINST_CVXPY[name]
    run_property(prop, profile, _ENTRIES[name])


def test_positives_mean_gaps_by_hand():
    X = np.array([[1.0, 0.0], [3.0, 2.0], [5.0, 4.0], [7.0, 8.0], [100.0, 100.0]])
    positive = np.array([True, True, True, True, False])
    two = positives_mean_gaps(X, positive, np.array(["a", "a", "b", "b", "b"]))
    np.testing.assert_allclose(two, [[2.0 - 6.0, 1.0 - 6.0]])
    three = positives_mean_gaps(X, positive, np.array([0, 0, 1, 2, 2]))
    pooled = np.array([4.0, 3.5])
    np.testing.assert_allclose(three, [[2.0, 1.0] - pooled, [5.0, 4.0] - pooled, [7.0, 8.0] - pooled])
