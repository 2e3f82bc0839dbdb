"""Warm starts and the fairness active set with three or more groups.

With :math:`G` groups the equal-opportunity constraint has :math:`G` rows "group mean - pooled mean", which
span :math:`G - 1` dimensions. At :math:`\\epsilon = 0` every one of them carries a multiplier, so a fit
warm-started from there used to start the active set from all :math:`G` rows held at :math:`\\pm\\epsilon`:
inconsistent equalities, on which the method gave up at once (``active_set_not_converged``, a fit that
broke the constraint, and ``solver="auto"`` falling back to another solver). The starting set now keeps the
rows that are consistent together (``fairerm.solvers._active_set._consistent_subset``), and a set already
solved is never proposed again (the add-drop steps cycled, cold and warm, with 4 and 6 groups).

Every fit is compared with a plain cvxpy statement of the weighted FERM problem written here, and its
constraint is recomputed from ``X, y, s`` and the fitted weights.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone

from fairerm import FairKernelSVC, FairLinearSVC, fair_path

EPSILONS = [0.0, 0.01, 0.05]


def _data(n: int, n_groups: int, seed: int, shift: float = 0.5, n_features: int = 4):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, n_groups, n)
    X = rng.normal(size=(n, n_features)) + s[:, None] * shift
    y = (X[:, 0] + 0.5 * rng.normal(size=n) > 0.5).astype(int)
    return X, y, s


def _fairness_rows(X, y, s, sample_weight=None):
    """Equal opportunity with G > 2 groups: the weighted mean of each group's positives minus the pooled one."""
    weight = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    positive = y == y.max()
    pooled = np.average(X[positive], axis=0, weights=weight[positive])
    return np.array([np.average(X[positive & (s == g)], axis=0, weights=weight[positive & (s == g)]) - pooled
                     for g in np.unique(s)])


def _cvxpy_objective(X, y, s, C, epsilon, sample_weight=None):
    r""":math:`\min_{w,b} \tfrac12\|w\|^2 + C\sum_i w_i\max(0, 1 - y_i(\langle w, x_i\rangle + b))` s.t.
    :math:`|\langle w, u_g\rangle| \le \epsilon` for every group."""
    import cvxpy as cp

    signed = np.where(y == y.max(), 1.0, -1.0)
    box = C * (np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float))
    U = _fairness_rows(X, y, s, sample_weight)
    w, b = cp.Variable(X.shape[1]), cp.Variable()
    problem = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(w) + box @ cp.pos(1 - cp.multiply(signed, X @ w + b))),
                         [cp.abs(U @ w) <= epsilon])
    problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    assert problem.status == "optimal"
    return float(problem.value)


def _weights(model, X):
    """:math:`w` of a fitted model: ``coef_``, or the expansion's :math:`\\sum_i\\beta_i x_i` of a linear kernel."""
    if isinstance(model, FairKernelSVC):
        return model.expansion_coef_ @ model.expansion_vectors_
    return model.coef_[0]


def _check_optimal(model, X, y, s, sample_weight=None, rtol=1e-6):
    assert model.status_ == "optimal" and model.converged_
    epsilon = model.epsilon
    values = _fairness_rows(X, y, s, sample_weight) @ _weights(model, X)
    assert np.max(np.abs(values)) <= epsilon + 1e-6
    assert model.objective_ == pytest.approx(_cvxpy_objective(X, y, s, model.C, epsilon, sample_weight), rel=rtol)


@pytest.mark.parametrize("estimator, n, weighted", [
    (FairLinearSVC(C=0.5, solver="dcd"), 2000, False),
    (FairLinearSVC(C=0.5, solver="dcd"), 2000, True),
    (FairKernelSVC(C=0.5, kernel="linear", solver="exact", tol=1e-7), 1500, False),
])
def test_a_warm_path_from_zero_with_three_groups_certifies_the_optimum(estimator, n, weighted):
    """The fit after epsilon = 0 used to give up at once (its warm start held all three rows at +-epsilon)."""
    X, y, s = _data(n, 3, seed=1)
    weights = np.random.default_rng(2).uniform(0.2, 2.0, n) if weighted else None
    warm = fair_path(estimator, X, y, sensitive_features=s, epsilons=EPSILONS, sample_weight=weights)
    cold = fair_path(estimator, X, y, sensitive_features=s, epsilons=EPSILONS, sample_weight=weights,
                     warm_start=False)
    assert warm.results["status"].tolist() == ["optimal"] * len(EPSILONS)
    for fitted, reference in zip(warm.estimators, cold.estimators):
        _check_optimal(fitted, X, y, s, weights)
        assert fitted.objective_ == pytest.approx(reference.objective_, rel=1e-6)
        assert fitted.fallbacks_ == []


def test_a_users_warm_refit_from_zero_with_three_groups_is_optimal():
    X, y, s = _data(2000, 3, seed=1)
    model = FairLinearSVC(C=0.5, solver="dcd", warm_start=True).fit(X, y, sensitive_features=s)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning
        model.set_params(epsilon=0.01).fit(X, y, sensitive_features=s)
    _check_optimal(model, X, y, s)
    assert model.solution_.info["method"] == "active_set"


@pytest.mark.parametrize("estimator, n", [
    (FairLinearSVC(C=0.5), 2000),
    (FairKernelSVC(C=0.5), 1500),
])
def test_the_auto_solver_warm_path_runs_no_failing_solver_first(estimator, n):
    """``solver="auto"`` gave the right answer, but only after the warm-started solver had failed (its
    ``fallbacks_``): the warm start the path exists for was lost."""
    X, y, s = _data(n, 3, seed=1)
    path = fair_path(estimator, X, y, sensitive_features=s, epsilons=EPSILONS)
    assert path.results["status"].tolist() == ["optimal"] * len(EPSILONS)
    assert [m.fallbacks_ for m in path.estimators] == [[]] * len(EPSILONS)
    if isinstance(estimator, FairLinearSVC):
        for model in path.estimators:
            _check_optimal(model, X, y, s)


def _four_or_more_groups(n_groups: int, seed: int):
    rng = np.random.default_rng(100 + seed)
    s = rng.integers(0, n_groups, 1200)
    X = rng.normal(size=(1200, 5)) + s[:, None] * rng.uniform(0.2, 1.0)
    y = (X[:, 0] + 0.5 * rng.normal(size=1200) > 0.5).astype(int)
    weights = rng.uniform(0.2, 2.0, 1200) if seed % 2 else None
    return X, y, s, weights


@pytest.mark.parametrize("n_groups, seed, epsilon, estimator, n", [
    (4, 4, 0.05, FairLinearSVC(C=0.5, solver="dcd"), 1200),
    (4, 9, 0.01, FairLinearSVC(C=0.5, solver="dcd"), 1200),
    (4, 1, 0.005, FairKernelSVC(C=0.5, kernel="linear", solver="exact", tol=1e-6), 600),
    (6, 5, 0.02, FairKernelSVC(C=0.5, kernel="linear", solver="exact", tol=1e-6), 600),
])
def test_the_active_set_never_solves_a_set_twice(n_groups, seed, epsilon, estimator, n):
    """Cold fits with 4 and 6 groups whose add-drop steps cycled until ``max_steps`` (e.g. add a row, drop it
    for a wrong sign, add it again; or join a dependent row in exchange for the row just added, whose
    multiplier then has the wrong sign): 22 of 320 such fits were ``active_set_not_converged``."""
    X, y, s, weights = _four_or_more_groups(n_groups, seed)
    X, y, s = X[:n], y[:n], s[:n]
    weights = None if weights is None else weights[:n]
    model = clone(estimator).set_params(epsilon=epsilon).fit(X, y, sensitive_features=s, sample_weight=weights)
    _check_optimal(model, X, y, s, weights, rtol=1e-6)
