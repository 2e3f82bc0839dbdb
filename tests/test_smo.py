"""Tests of the SMO solver against libsvm (scikit-learn's SVC), cvxpy, and the KKT conditions."""

from __future__ import annotations

from dataclasses import replace

import cvxpy as cp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics.pairwise import pairwise_kernels
from sklearn.svm import SVC

from fairerm.exceptions import FairermTypeError, FairermValueError
from fairerm.kernels import KernelSpec
from fairerm.solvers import _smo_cache as rows_cache
from fairerm.solvers import _smo_core as core
from fairerm.solvers import smo
from fairerm.solvers.smo import SMOResult, check_row_cache, solve_svm_dual

KERNELS = {
    "linear": ({}, {}),
    "rbf": ({"gamma": 0.2}, {"gamma": 0.2}),
    "poly": ({"gamma": 0.3, "degree": 2, "coef0": 1.0}, {"gamma": 0.3, "degree": 2, "coef0": 1.0}),
}


def make_problem(n: int, d: int = 4, seed: int = 0):
    """Two overlapping classes (so that there are bounded, free and zero alphas)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    score = X[:, 0] - 0.7 * X[:, 1] + 0.5 * X[:, 2] ** 2 - 0.4 + 0.6 * rng.normal(size=n)
    return X, np.where(score > 0, 1.0, -1.0)


def dense_kernel(X, name, params, Z=None):
    K = pairwise_kernels(X, metric=name, **params)
    return K if Z is None else K - Z @ Z.T


def check_kkt(Q, p, y, C, result: SMOResult, tol: float):
    """The KKT conditions of min 1/2 a'Qa + p'a s.t. y'a = 0, 0 <= a <= C, recomputed densely.

    With b the multiplier of y'a = 0: G_i + b y_i >= 0 where a_i = 0, <= 0 where a_i = C_i,
    = 0 where 0 < a_i < C_i, and G = Qa + p.
    """
    a, b = result.alpha, result.intercept
    G = Q @ a + p
    np.testing.assert_allclose(result.gradient, G, rtol=1e-9, atol=1e-9)
    assert abs(y @ a) <= 1e-10 * max(1.0, np.abs(a).sum())
    assert np.all(a >= 0) and np.all(a <= C)
    r = G + b * y
    at_lower, at_upper = a <= 0, a >= C
    free = ~at_lower & ~at_upper
    assert np.all(r[at_lower & (C > 0)] >= -tol)
    assert np.all(r[at_upper & (C > 0)] <= tol)
    assert np.all(np.abs(r[free]) <= tol)
    # the maximal violating pair gap, recomputed
    up = ((y > 0) & (a < C)) | ((y < 0) & (a > 0))
    low = ((y > 0) & (a > 0)) | ((y < 0) & (a < C))
    gap = (-y * G)[up].max() - (-y * G)[low].min() if up.any() and low.any() else 0.0
    assert gap <= tol
    assert result.kkt_gap == pytest.approx(gap, abs=1e-12)


# ----------------------------------------------------------------------------------------------
# (i) against libsvm
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kernel", list(KERNELS))
@pytest.mark.parametrize("n,C,seed", [(50, 1.0, 0), (150, 0.5, 1), (400, 2.0, 2)])
def test_matches_libsvm(kernel, n, C, seed):
    X, y = make_problem(n, seed=seed)
    spec_params, sk_params = KERNELS[kernel]
    result = solve_svm_dual(X, y, KernelSpec(kernel, **spec_params), upper=C, tol=1e-6)
    svc = SVC(kernel=kernel, C=C, tol=1e-6, **sk_params).fit(X, y)
    assert result.status == "optimal" and result.converged
    K = dense_kernel(X, kernel, sk_params)
    ours = K @ (result.alpha * y) + result.intercept
    theirs = svc.decision_function(X)
    scale = np.abs(theirs).max()
    np.testing.assert_allclose(ours, theirs, atol=1e-3 * scale)
    np.testing.assert_array_equal(np.flatnonzero(result.alpha > 0), np.sort(svc.support_))
    alpha_svc = np.zeros(n)
    alpha_svc[svc.support_] = np.abs(svc.dual_coef_[0])
    np.testing.assert_allclose(result.alpha, alpha_svc, atol=1e-3 * C)
    assert result.n_support == len(svc.support_)


def test_default_tolerance_against_libsvm_and_check_kkt():
    X, y = make_problem(300, seed=3)
    result = solve_svm_dual(X, y, KernelSpec("rbf", gamma="scale"), upper=1.0)
    svc = SVC(kernel="rbf", C=1.0, gamma="scale").fit(X, y)
    K = dense_kernel(X, "rbf", {"gamma": svc._gamma})
    check_kkt((y[:, None] * y[None, :]) * K, -np.ones(300), y, np.ones(300), result, tol=1e-3)
    ours = K @ (result.alpha * y) + result.intercept
    assert np.mean(np.sign(ours) == np.sign(svc.decision_function(X))) > 0.99


# ----------------------------------------------------------------------------------------------
# (ii) general p, per-sample upper bounds and a low-rank correction, against cvxpy
# ----------------------------------------------------------------------------------------------
def fair_problem(n: int, seed: int):
    """A rank-one fair projection: Z = K c / sqrt(c'Kc), so K' = K - ZZ' is PSD."""
    X, y = make_problem(n, seed=seed)
    rng = np.random.default_rng(seed + 100)
    K = dense_kernel(X, "rbf", {"gamma": 0.3})
    c = np.zeros(n)
    group = rng.random(n) < 0.5
    pos = y > 0
    c[pos & group] = 1 / np.sum(pos & group)
    c[pos & ~group] = -1 / np.sum(pos & ~group)
    k_u = K @ c
    Z = (k_u / np.sqrt(c @ k_u))[:, None]
    mu = 0.8
    p = -1.0 - mu * y * k_u
    upper = rng.uniform(0.2, 2.0, size=n)
    upper[:3] = 0.0  # fixed at zero
    return X, y, K, Z, p, upper


def solve_with_cvxpy(K_prime, y, p, upper):
    w, V = np.linalg.eigh(K_prime)
    R = V * np.sqrt(np.clip(w, 0, None))
    a = cp.Variable(len(y))
    objective = 0.5 * cp.sum_squares(R.T @ cp.multiply(y, a)) + p @ a
    problem = cp.Problem(cp.Minimize(objective), [y @ a == 0, a >= 0, a <= upper])
    problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    return a.value, problem.value


@pytest.mark.parametrize("n,seed", [(60, 0), (200, 1)])
def test_general_p_bounds_and_low_rank_match_cvxpy(n, seed):
    X, y, K, Z, p, upper = fair_problem(n, seed)
    result = solve_svm_dual(X, y, KernelSpec("rbf", gamma=0.3), p=p, upper=upper, low_rank=Z, tol=1e-9)
    K_prime = K - Z @ Z.T
    a_ref, obj_ref = solve_with_cvxpy(K_prime, y, p, upper)
    Q = (y[:, None] * y[None, :]) * K_prime
    objective = 0.5 * result.alpha @ Q @ result.alpha + p @ result.alpha
    assert objective == pytest.approx(obj_ref, rel=1e-6)
    assert result.objective == pytest.approx(objective, rel=1e-10)
    np.testing.assert_allclose(result.alpha, a_ref, atol=1e-4 * upper.max())
    assert np.all(result.alpha[:3] == 0.0)
    check_kkt(Q, p, y, upper, result, tol=1e-8)
    # the fairness direction is projected out: sum_i a_i y_i z_i does not enter the scores
    scores = K_prime @ (result.alpha * y) + result.intercept
    assert np.all(np.isfinite(scores))


def test_q_rows_match_numpy_twin():
    X, y, K, Z, p, upper = fair_problem(30, 5)
    spec = KernelSpec("rbf", gamma=0.3)
    Q = (y[:, None] * y[None, :]) * (K - Z @ Z.T)
    rows = rows_cache.make_rows(spec.code, X, Z, y, *spec.params(), 2)
    row = np.full(30, np.nan)
    rows_cache._fill_full_row(rows, 4, row)
    np.testing.assert_allclose(row, Q[4], rtol=1e-12, atol=1e-12)
    index = np.array([3, 9, 1, 22], dtype=np.int64)
    row = np.full(30, np.nan)
    rows_cache._fill_row(rows, 7, index, 1, 4, row)
    np.testing.assert_allclose(row[index[1:]], Q[7, index[1:]], rtol=1e-12, atol=1e-12)
    assert np.isnan(row[3]) and np.isnan(row[0])


@pytest.mark.parametrize("d", [3, 12, 60])
def test_rows_from_the_feature_major_copy_solve_the_same_dual(d, monkeypatch):
    """At few features whole rows come from the feature-major copy X^T (kernel_row_fm, in the cache tuple);
    above FEATURE_MAJOR_MAX_FEATURES, and with it switched off, from the point-major loops. Same Q rows
    to rounding, same dual objective (checked against the plain numpy Q), on 2,000 points with shrinking."""
    from fairerm.kernels import _vector as vector

    rng = np.random.default_rng(d)
    X = rng.normal(size=(2000, d)) * np.logspace(-1, 1, d)
    y = np.where(X[:, 0] + 0.5 * rng.normal(size=2000) > 0, 1.0, -1.0)
    spec = KernelSpec("rbf", gamma=1.0 / d)
    rows = rows_cache.make_rows(spec.code, X, np.zeros((2000, 0)), y, *spec.params(), 2)
    XT = rows[rows_cache.R_XT]
    assert XT.shape == ((d, 2000) if d <= vector.FEATURE_MAJOR_MAX_FEATURES else (0, 0))
    on = solve_svm_dual(X, y, spec, upper=1.0, tol=1e-6)
    monkeypatch.setattr(vector, "FEATURE_MAJOR_MAX_FEATURES", 0)
    assert rows_cache.make_rows(spec.code, X, np.zeros((2000, 0)), y, *spec.params(), 2)[rows_cache.R_XT].size == 0
    off = solve_svm_dual(X, y, spec, upper=1.0, tol=1e-6)
    K = pairwise_kernels(X, metric="rbf", gamma=1.0 / d)
    Q = (y[:, None] * y[None, :]) * K

    def dual(alpha):
        return 0.5 * alpha @ Q @ alpha - alpha.sum()

    assert dual(on.alpha) == pytest.approx(dual(off.alpha), rel=1e-6)
    np.testing.assert_allclose(on.alpha, off.alpha, atol=1e-3)


def test_intercept_numpy_twin():
    rng = np.random.default_rng(0)
    y = np.where(rng.random(40) < 0.5, 1.0, -1.0)
    G = rng.normal(size=40)
    status = rng.integers(0, 3, size=40).astype(np.int8)
    free = status == core.FREE
    assert core.compute_intercept(y, status, G) == pytest.approx(-np.mean(y[free] * G[free]))
    status[free] = core.LOWER
    yG = y * G
    ub = min(yG[(status == core.UPPER) & (y < 0)].min(), yG[(status == core.LOWER) & (y > 0)].min())
    lb = max(yG[(status == core.UPPER) & (y > 0)].max(), yG[(status == core.LOWER) & (y < 0)].max())
    assert core.compute_intercept(y, status, G) == pytest.approx(-(ub + lb) / 2)


# ----------------------------------------------------------------------------------------------
# (iii)-(iv) KKT conditions, cache evictions, shrinking, chunking
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shrinking", [True, False])
@pytest.mark.parametrize("cache_size", [200.0, 0.0])
def test_kkt_with_and_without_cache_and_shrinking(shrinking, cache_size):
    X, y, K, Z, p, upper = fair_problem(150, 2)
    result = solve_svm_dual(
        X, y, KernelSpec("rbf", gamma=0.3), p=p, upper=upper, low_rank=Z, tol=1e-6,
        cache_size=cache_size, shrinking=shrinking,
    )
    Q = (y[:, None] * y[None, :]) * (K - Z @ Z.T)
    check_kkt(Q, p, y, upper, result, tol=1e-6)
    if cache_size == 0.0:
        assert result.cache_rows == 2
        assert result.cache_misses > 150  # rows had to be recomputed after eviction


def test_tiny_cache_gives_the_same_answer():
    X, y = make_problem(250, seed=4)
    spec = KernelSpec("rbf", gamma=0.5)
    big = solve_svm_dual(X, y, spec, upper=1.0, tol=1e-8)
    small = solve_svm_dual(X, y, spec, upper=1.0, tol=1e-8, cache_size=3 * 250 * 8 / 2**20)
    assert small.cache_rows == 3 and big.cache_rows == 250
    assert small.cache_misses > big.cache_misses
    np.testing.assert_allclose(small.alpha, big.alpha, atol=1e-6)
    assert small.intercept == pytest.approx(big.intercept, abs=1e-6)


def test_chunked_iterations_give_identical_results(monkeypatch):
    X, y = make_problem(120, seed=6)
    spec = KernelSpec("poly", gamma=0.3, degree=2, coef0=1.0)
    whole = solve_svm_dual(X, y, spec, upper=1.0, tol=1e-6)
    monkeypatch.setattr(smo, "_chunk_size", lambda n: 7)
    chunked = solve_svm_dual(X, y, spec, upper=1.0, tol=1e-6)
    np.testing.assert_array_equal(chunked.alpha, whole.alpha)
    assert chunked.n_iter == whole.n_iter
    assert chunked.intercept == whole.intercept


# ----------------------------------------------------------------------------------------------
# (v) warm starts
# ----------------------------------------------------------------------------------------------
def test_warm_start_along_a_mu_path_cuts_iterations():
    X, y, K, Z, _, _ = fair_problem(400, 3)
    c_vec = Z[:, 0]
    spec = KernelSpec("rbf", gamma=0.3)
    previous = solve_svm_dual(X, y, spec, p=-1.0 - 0.5 * y * c_vec, upper=1.0, tol=1e-5)
    cold_iters, warm_iters = [], []
    for mu in (0.505, 0.51, 0.515):
        p = -1.0 - mu * y * c_vec
        cold = solve_svm_dual(X, y, spec, p=p, upper=1.0, tol=1e-5)
        warm = solve_svm_dual(X, y, spec, p=p, upper=1.0, tol=1e-5, alpha0=previous.alpha)
        assert warm.objective == pytest.approx(cold.objective, rel=1e-6)
        cold_iters.append(cold.n_iter)
        warm_iters.append(warm.n_iter)
        previous = warm
    assert sum(warm_iters) < 0.35 * sum(cold_iters), (warm_iters, cold_iters)


def test_warm_start_when_upper_grows():
    """Along a C path, alpha * C_new / C_old is feasible and close to the new solution."""
    X, y = make_problem(300, seed=7)
    spec = KernelSpec("rbf", gamma=0.3)
    first = solve_svm_dual(X, y, spec, upper=1.0, tol=1e-5)
    cold = solve_svm_dual(X, y, spec, upper=1.02, tol=1e-5)
    warm = solve_svm_dual(X, y, spec, upper=1.02, tol=1e-5, alpha0=first.alpha * 1.02)
    assert warm.objective == pytest.approx(cold.objective, rel=1e-6)
    assert warm.n_iter < 0.6 * cold.n_iter, (warm.n_iter, cold.n_iter)


def test_warm_start_from_the_solution_needs_no_iteration():
    X, y = make_problem(100, seed=8)
    spec = KernelSpec("linear")
    first = solve_svm_dual(X, y, spec, upper=1.0, tol=1e-6)
    again = solve_svm_dual(X, y, spec, upper=1.0, tol=1e-6, alpha0=first.alpha)
    assert again.n_iter == 0 and again.converged
    np.testing.assert_array_equal(again.alpha, first.alpha)


# ----------------------------------------------------------------------------------------------
# (vi) max_iter, (vii) precomputed kernels, errors
# ----------------------------------------------------------------------------------------------
def test_max_iter_reached_is_reported():
    X, y = make_problem(200, seed=9)
    spec = KernelSpec("rbf", gamma=0.3)
    result = solve_svm_dual(X, y, spec, upper=1.0, max_iter=5)
    assert result.status == "max_iter_reached" and not result.converged
    assert result.n_iter == 5
    assert result.kkt_gap > 1e-3
    K = dense_kernel(X, "rbf", {"gamma": 0.3})
    np.testing.assert_allclose(result.gradient, (y[:, None] * y[None, :] * K) @ result.alpha - 1.0, atol=1e-10)
    assert abs(y @ result.alpha) < 1e-12


def test_precomputed_kernel_matches_feature_kernel():
    X, y = make_problem(180, seed=10)
    K = dense_kernel(X, "rbf", {"gamma": 0.4})
    from_features = solve_svm_dual(X, y, KernelSpec("rbf", gamma=0.4), upper=1.5, tol=1e-7)
    from_matrix = solve_svm_dual(K, y, KernelSpec("precomputed"), upper=1.5, tol=1e-7)
    np.testing.assert_allclose(from_matrix.alpha, from_features.alpha, atol=1e-6)
    assert from_matrix.intercept == pytest.approx(from_features.intercept, abs=1e-6)
    svc = SVC(kernel="precomputed", C=1.5, tol=1e-7).fit(K, y)
    np.testing.assert_array_equal(from_matrix.support, np.sort(svc.support_))
    with pytest.raises(FairermValueError, match=r"X must be the precomputed kernel matrix of shape \(180, 180\)"):
        solve_svm_dual(K[:, :100], y, KernelSpec("precomputed"))


def test_sigmoid_kernel_terminates_feasibly():
    X, y = make_problem(150, seed=11)
    result = solve_svm_dual(X, y, KernelSpec("sigmoid", gamma=0.1, coef0=0.0), upper=1.0)
    svc = SVC(kernel="sigmoid", gamma=0.1, coef0=0.0, C=1.0).fit(X, y)
    assert result.converged
    assert abs(y @ result.alpha) < 1e-10
    assert np.all((result.alpha >= 0) & (result.alpha <= 1.0))
    assert abs(result.n_support - len(svc.support_)) <= 0.05 * len(svc.support_)


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"y": np.r_[np.ones(5), -np.ones(5)] * 2}, FairermValueError, r"y must contain only -1.0 and \+1.0"),
        ({"y": np.ones(10)}, FairermValueError, "single class"),
        ({"y": np.ones(9)}, FairermValueError, r"y must have shape \(10,\)"),
        ({"p": np.ones(3)}, FairermValueError, r"p must be a scalar or an array of shape \(10,\)"),
        ({"upper": -1.0}, FairermValueError, "upper must be >= 0"),
        ({"low_rank": np.ones((4, 1))}, FairermValueError, r"low_rank must have shape \(10, r\)"),
        ({"alpha0": np.r_[1.0, np.zeros(9)]}, FairermValueError, r"alpha0 is not feasible: y \. alpha0 = 1.0"),
        ({"alpha0": np.r_[2.0, 2.0, np.zeros(8)]}, FairermValueError, r"alpha0\[0\] = 2.0 is outside"),
        ({"tol": 0.0}, FairermValueError, "tol must be > 0"),
        ({"max_iter": 2.5}, FairermTypeError, "max_iter must be"),
        ({"kernel": "rbf"}, FairermTypeError, "kernel must be a fairerm.kernels.KernelSpec"),
        ({"shrinking": "yes"}, FairermTypeError, "shrinking must be a bool"),
    ],
)
def test_invalid_arguments_raise_clear_errors(kwargs, error, match):
    rng = np.random.default_rng(0)
    args = {"X": rng.normal(size=(10, 2)), "y": np.r_[np.ones(5), -np.ones(5)], "kernel": KernelSpec("linear")}
    args.update(kwargs)
    X, y, kernel = args.pop("X"), args.pop("y"), args.pop("kernel")
    with pytest.raises(error, match=match):
        solve_svm_dual(X, y, kernel, **args)


def test_nonfinite_data_is_refused():
    X = np.ones((4, 2))
    X[1, 1] = np.nan
    with pytest.raises(FairermValueError, match="X contains NaN"):
        solve_svm_dual(X, np.array([1.0, -1.0, 1.0, -1.0]), KernelSpec("linear"))


def test_row_cache_contract_under_shrinking_resets_and_evictions():
    """get_row returns exact rows of Q on what is asked for, whatever the cache history.

    The test drives the cache with the bookkeeping the solver documents: ``active[:active_size]``
    lists the active indices, ``shrunk_at[epoch % 2, k]`` is the shrink time of ``k`` in the
    current epoch, and ``reset_active`` starts a new epoch.
    """
    X, y, K, Z, p, upper = fair_problem(40, 6)
    spec = KernelSpec("rbf", gamma=0.3)
    Q = (y[:, None] * y[None, :]) * (K - Z @ Z.T)
    n = 40
    rows = rows_cache.make_rows(spec.code, X, Z, y, *spec.params(), 12)
    active, shrunk_at, state = rows[rows_cache.R_ACTIVE], rows[rows_cache.R_SHRUNK_AT], rows[rows_cache.R_STATE]
    rng = np.random.default_rng(0)
    for _ in range(600):
        action = rng.random()
        size = state[rows_cache.S_ACTIVE_SIZE]
        if action < 0.15 and size > 3:  # shrink a few active indices
            chosen = rng.choice(active[:size], size=rng.integers(1, 3), replace=False)
            state[rows_cache.S_STAMP] += 1
            shrunk_at[state[rows_cache.S_EPOCH] % 2, chosen] = state[rows_cache.S_STAMP]
            keep = np.array([k for k in active[:size] if k not in chosen], dtype=np.int64)
            rest = np.array([k for k in active if k not in keep], dtype=np.int64)
            active[:] = np.concatenate([keep, rest])
            state[rows_cache.S_ACTIVE_SIZE] = len(keep)
        elif action < 0.2:
            rows_cache.reset_active(rows)
        else:
            i = int(rng.integers(16))
            full = bool(rng.random() < 0.3)
            row = rows_cache.get_row(i, full, rows)
            wanted = np.arange(n) if full else active[: state[rows_cache.S_ACTIVE_SIZE]]
            np.testing.assert_allclose(row[wanted], Q[i, wanted], rtol=1e-12, atol=1e-12)
    assert state[rows_cache.S_EPOCH] > 5 and state[rows_cache.S_HITS] > 50 and state[rows_cache.S_MISSES] > 50


def test_shrinking_does_not_change_the_solution():
    X, y = make_problem(1500, d=3, seed=12)
    spec = KernelSpec("rbf", gamma=1.0)
    with_shrinking = solve_svm_dual(X, y, spec, upper=5.0, tol=1e-6, cache_size=1.0)
    without = solve_svm_dual(X, y, spec, upper=5.0, tol=1e-6, cache_size=1.0, shrinking=False)
    assert with_shrinking.n_iter > 2000  # long enough for several shrinking rounds
    assert with_shrinking.objective == pytest.approx(without.objective, rel=1e-8)
    np.testing.assert_allclose(with_shrinking.alpha, without.alpha, atol=1e-4)


def test_warm_start_from_a_result_reuses_its_gradient():
    """warm_start=previous result: same optimum as a cold start, no rows spent on the initial gradient."""
    X, y, K, Z, _, upper = fair_problem(300, 13)
    c_vec = Z[:, 0]
    spec = KernelSpec("rbf", gamma=0.3)
    Q = (y[:, None] * y[None, :]) * (K - Z @ Z.T)
    previous = solve_svm_dual(X, y, spec, p=-1.0 - 0.5 * y * c_vec, upper=upper, low_rank=Z, tol=1e-7)
    np.testing.assert_allclose(previous.q_alpha, Q @ previous.alpha, atol=1e-9)
    p = -1.0 - 0.505 * y * c_vec
    cold = solve_svm_dual(X, y, spec, p=p, upper=upper, low_rank=Z, tol=1e-7)
    from_alpha = solve_svm_dual(X, y, spec, p=p, upper=upper, low_rank=Z, tol=1e-7, alpha0=previous.alpha)
    from_result = solve_svm_dual(X, y, spec, p=p, upper=upper, low_rank=Z, tol=1e-7, warm_start=previous)
    check_kkt(Q, p, y, upper, from_result, tol=1e-7)
    assert from_result.objective == pytest.approx(cold.objective, rel=1e-9)
    assert abs(from_result.n_iter - from_alpha.n_iter) <= 0.1 * from_alpha.n_iter + 5  # rounding differs
    n_nonzero = np.count_nonzero(previous.alpha)
    assert from_alpha.cache_misses >= n_nonzero
    assert from_result.cache_misses < from_alpha.cache_misses - 0.5 * n_nonzero
    # bounds that grow: the old alpha stays feasible, G_bar is rebuilt from the rows at the bound
    bigger = upper * 1.1
    grown = solve_svm_dual(X, y, spec, p=p, upper=bigger, low_rank=Z, tol=1e-7, warm_start=from_result)
    check_kkt(Q, p, y, bigger, grown, tol=1e-7)


def test_warm_start_argument_errors():
    X, y = make_problem(30, seed=14)
    spec = KernelSpec("linear")
    previous = solve_svm_dual(X, y, spec)
    with pytest.raises(FairermValueError, match="either alpha0 or warm_start"):
        solve_svm_dual(X, y, spec, alpha0=previous.alpha, warm_start=previous)
    with pytest.raises(FairermTypeError, match="warm_start must be the SMOResult"):
        solve_svm_dual(X, y, spec, warm_start=previous.alpha)
    with pytest.raises(FairermValueError, match="warm_start comes from a problem with 30 samples; this one has 20"):
        solve_svm_dual(X[:20], y[:20], spec, warm_start=previous)
    with pytest.raises(FairermValueError, match="alpha0 is not feasible"):
        solve_svm_dual(X, y, spec, upper=previous.alpha.max() / 2, warm_start=previous)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 25),
    d=st.integers(1, 4),
    seed=st.integers(0, 2**31 - 1),
    kernel=st.sampled_from(["linear", "rbf", "poly"]),
    low_rank=st.booleans(),
)
def test_kkt_conditions_hold_on_random_problems(n, d, seed, kernel, low_rank):
    """Any small problem (duplicate points, zero bounds, rank-deficient Q): the KKT conditions hold."""
    rng = np.random.default_rng(seed)
    X = np.round(rng.normal(size=(n, d)), 1)  # rounding makes duplicate points likely
    y = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    y[0], y[-1] = 1.0, -1.0
    upper = np.where(rng.random(n) < 0.15, 0.0, rng.uniform(0.1, 3.0, size=n))
    p = rng.normal(-1.0, 0.5, size=n)
    spec_params, sk_params = KERNELS[kernel]
    K = dense_kernel(X, kernel, sk_params)
    Z = None
    if low_rank:
        c = rng.normal(size=n)
        k_c = K @ c
        if c @ k_c > 1e-8:
            Z = (k_c / np.sqrt(c @ k_c))[:, None]
    result = solve_svm_dual(X, y, KernelSpec(kernel, **spec_params), p=p, upper=upper, low_rank=Z, tol=1e-8)
    assert result.converged
    K_prime = K if Z is None else K - Z @ Z.T
    check_kkt((y[:, None] * y[None, :]) * K_prime, p, y, upper, result, tol=1e-8)


@pytest.mark.parametrize("in_place", [True, False])
def test_kernel_rows_fill_the_cache_and_change_nothing(in_place):
    """Rows passed in (issue 18: the constraint's kernel rows) give the same solution, fewer row computations."""
    X, y, K, Z, p, upper = fair_problem(120, 3)
    spec = KernelSpec("rbf", gamma=0.3)
    reference = solve_svm_dual(X, y, spec, p=p, upper=upper, low_rank=Z, tol=1e-9, cache_size=1.0)
    n_rows = check_row_cache(120, 1.0)
    indices = np.flatnonzero(y > 0)[:40]
    storage = np.full((n_rows if in_place else 40, 120), np.nan)
    storage[:40] = K[indices]
    result = solve_svm_dual(X, y, spec, p=p, upper=upper, low_rank=Z, tol=1e-9, cache_size=1.0,
                            kernel_rows=(indices, storage))
    np.testing.assert_allclose(result.alpha, reference.alpha, rtol=0, atol=1e-6)
    assert result.objective == pytest.approx(reference.objective, rel=1e-10)
    assert result.cache_misses < reference.cache_misses
    with pytest.raises(FairermValueError, match="distinct"):
        solve_svm_dual(X, y, spec, kernel_rows=(np.array([1, 1]), K[[1, 1]]))
    with pytest.raises(FairermValueError, match="shape"):
        solve_svm_dual(X, y, spec, kernel_rows=(np.array([1, 2]), K[:1]))


def test_warm_restart_keeps_the_row_cache_and_the_front_door_releases_it():
    """A restart on the same Q (the front door's tighter-tolerance refinement) reuses the previous row cache
    (issue 18): same solution as a cold solve at that tolerance, fewer row computations; a fitted model
    does not keep the cache."""
    from fairerm import FairKernelSVC

    X, y, K, Z, p, upper = fair_problem(150, 4)
    spec = KernelSpec("rbf", gamma=0.3)
    first = solve_svm_dual(X, y, spec, p=p, upper=upper, low_rank=Z, tol=1e-2)
    assert first.row_cache is not None
    cold = solve_svm_dual(X, y, spec, p=p, upper=upper, low_rank=Z, tol=1e-6, warm_start=replace(first, row_cache=None))
    warm = solve_svm_dual(X, y, spec, p=p, upper=upper, low_rank=Z, tol=1e-6, warm_start=first)
    assert first.row_cache is None  # taken over by the restart
    np.testing.assert_allclose(warm.alpha, cold.alpha, rtol=0, atol=1e-12)
    assert warm.n_iter == cold.n_iter and warm.cache_misses < cold.cache_misses
    other = solve_svm_dual(X, y, spec, p=p, upper=upper, tol=1e-6, warm_start=warm)  # another low-rank part
    assert warm.row_cache is None and other.converged and other.row_cache is not None
    model = FairKernelSVC(C=1.0).fit(X, y, sensitive_features=(np.arange(150) % 2))
    assert model.solution_.warm_state.result.row_cache is None


@pytest.mark.parametrize("shrinking, cache_size", [(True, 200.0), (True, 0.05), (False, 0.05)])
def test_a_new_low_rank_part_carries_the_row_cache_over(shrinking, cache_size):
    """The steps of the fairness active set change only Z (issue 18): the cached rows of Q are moved to the
    new Z in O(nr) each, not recomputed; every solve of a chain Z -> none -> rank 2 -> Z equals a cold
    solve of its Q (KKT recomputed densely) with fewer kernel rows (a cache of all 300 rows), and the same
    solution when the cache evicts rows (0.05 MB: 21 of 300) and holds rows of a shrunk active set."""
    X, y, K, Z, p, upper = fair_problem(300, 21)
    spec = KernelSpec("rbf", gamma=0.3)
    rng = np.random.default_rng(5)
    Z2 = np.column_stack([Z[:, 0], 0.3 * K @ rng.normal(size=300) / 300])
    previous = solve_svm_dual(X, y, spec, p=p, upper=upper, low_rank=Z, tol=1e-8, shrinking=shrinking,
                              cache_size=cache_size)
    for low_rank in (None, Z2, Z):
        K_prime = K if low_rank is None else K - low_rank @ low_rank.T
        Q = (y[:, None] * y[None, :]) * K_prime
        cold = solve_svm_dual(X, y, spec, p=p, upper=upper, low_rank=low_rank, tol=1e-8, shrinking=shrinking,
                              cache_size=cache_size, warm_start=replace(previous, row_cache=None))
        warm = solve_svm_dual(X, y, spec, p=p, upper=upper, low_rank=low_rank, tol=1e-8, shrinking=shrinking,
                              cache_size=cache_size, warm_start=previous)
        assert previous.row_cache is None and warm.row_cache is not None
        check_kkt(Q, p, y, upper, warm, tol=1e-8)
        assert warm.objective == pytest.approx(cold.objective, rel=1e-10)
        np.testing.assert_allclose(warm.alpha, cold.alpha, rtol=0, atol=1e-6)
        if cache_size > 1.0:
            assert warm.cache_misses < cold.cache_misses
        else:  # the 21 rows kept may not be the ones asked for next
            assert warm.cache_misses <= cold.cache_misses
        previous = warm
