"""Tests of fairerm.kernels against scikit-learn's pairwise kernels and plain-numpy twins."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics.pairwise import pairwise_kernels
from sklearn.svm import SVC

from fairerm import _memory as memory_module
from fairerm import kernels as km
from fairerm.kernels import _gram as gram_module
from fairerm.kernels import _maps as maps
from fairerm.kernels._spec import PRECOMPUTED
from fairerm.exceptions import FairermTypeError, FairermValueError, MemoryBudgetError
from fairerm.kernels import (
    KernelSpec,
    check_memory,
    check_precomputed_kernel,
    decision_values,
    gram_block,
    gram_symmetric,
    kernel_diagonal,
    kernel_matvec,
    kernel_row,
    resolve_gamma,
)

SPECS = [
    ("linear", {}),
    ("rbf", {"gamma": 0.37}),
    ("poly", {"gamma": 0.21, "degree": 3, "coef0": 1.5}),
    ("poly", {"gamma": 0.5, "degree": 1, "coef0": 0.0}),
    ("sigmoid", {"gamma": 0.05, "coef0": -0.3}),
]
SHAPES = [(1, 1, 1), (1, 5, 3), (6, 1, 1), (13, 9, 4), (40, 17, 1)]


def numpy_kernel(name: str, A: np.ndarray, B: np.ndarray, gamma=1.0, degree=3, coef0=0.0) -> np.ndarray:
    """Plain-numpy twin of the compiled kernels (RBF by explicit differences, no GEMM)."""
    if name == "rbf":
        return np.exp(-gamma * ((A[:, None, :] - B[None, :, :]) ** 2).sum(axis=2))
    dots = A @ B.T
    if name == "poly":
        return (gamma * dots + coef0) ** degree
    if name == "sigmoid":
        return np.tanh(gamma * dots + coef0)
    return dots


def _spec(name, params):
    return KernelSpec(name, **params)


def _data(n, m, d, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=(m, d))


@pytest.mark.parametrize("name,params", SPECS)
@pytest.mark.parametrize("n,m,d", SHAPES)
def test_gram_block_matches_sklearn_and_numpy_twin(name, params, n, m, d):
    A, B = _data(n, m, d)
    spec = _spec(name, params)
    reference = pairwise_kernels(A, B, metric=name, **params)
    np.testing.assert_allclose(gram_block(A, B, spec), reference, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(numpy_kernel(name, A, B, **params), reference, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(maps.gram_loop(spec.code, A, B, *spec.params()), reference, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name,params", SPECS)
@pytest.mark.parametrize("n,d", [(1, 1), (2, 3), (30, 1), (57, 8)])
def test_gram_symmetric_matches_sklearn(name, params, n, d):
    A, _ = _data(n, 1, d, seed=1)
    K = gram_symmetric(A, _spec(name, params))
    np.testing.assert_allclose(K, pairwise_kernels(A, metric=name, **params), rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(K, K.T)


@pytest.mark.parametrize("name,params", SPECS)
def test_parallel_and_serial_maps_agree(name, params):
    A, B = _data(35, 21, 4, seed=2)
    spec = _spec(name, params)
    G1, G2 = A @ B.T, A @ B.T
    sq_a, sq_b = (A**2).sum(1), (B**2).sum(1)
    maps.map_block_inplace(G1, sq_a, sq_b, spec.code, *spec.params())
    maps.map_block_serial(G2, sq_a, sq_b, spec.code, *spec.params())
    np.testing.assert_allclose(G1, G2, rtol=0, atol=0)
    np.testing.assert_allclose(G1, numpy_kernel(name, A, B, **params), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name,params", SPECS)
@pytest.mark.parametrize("n,m,d", SHAPES)
def test_rows_equal_blocks(name, params, n, m, d):
    A, B = _data(n, m, d, seed=3)
    spec = _spec(name, params)
    block = pairwise_kernels(A, B, metric=name, **params)
    for i in range(n):
        np.testing.assert_allclose(kernel_row(A[i], B, spec), block[i], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name,params", SPECS)
def test_kernel_row_into_writes_only_the_indexed_entries(name, params):
    A, B = _data(4, 25, 3, seed=4)
    spec = _spec(name, params)
    index = np.array([7, 2, 19, 11, 0, 24], dtype=np.int64)
    out = np.full(25, np.nan)
    km.kernel_row_into(spec.code, A, 1, B, index, 1, 5, *spec.params(), out)
    expected = numpy_kernel(name, A[1:2], B, **params)[0]
    written = index[1:5]
    np.testing.assert_allclose(out[written], expected[written], rtol=1e-10, atol=1e-10)
    untouched = np.setdiff1d(np.arange(25), written)
    assert np.all(np.isnan(out[untouched]))


def test_kernel_row_into_precomputed_reads_the_matrix():
    K = np.arange(12.0).reshape(3, 4)
    out = np.zeros(4)
    km.kernel_row_into(PRECOMPUTED, K, 2, K, np.empty(0, dtype=np.int64), 0, 0, 1.0, 0.0, 1, out)
    np.testing.assert_array_equal(out, K[2])


@pytest.mark.parametrize("name,params", SPECS)
@pytest.mark.parametrize("k", [None, 1, 3])
def test_kernel_matvec_by_blocks_equals_dense_product(name, params, k):
    A, B = _data(53, 19, 5, seed=5)
    rng = np.random.default_rng(6)
    W = rng.normal(size=19) if k is None else rng.normal(size=(19, k))
    spec = _spec(name, params)
    dense = pairwise_kernels(A, B, metric=name, **params) @ W
    # 8 rows of 19 entries per block: seven blocks, the last one partial
    result = kernel_matvec(A, B, W, spec, block_bytes=8 * 19 * 8)
    assert result.shape == dense.shape
    np.testing.assert_allclose(result, dense, rtol=1e-10, atol=1e-10)


def test_kernel_matvec_gives_k_u_of_a_constraint():
    """k_u = K C^T computed from the support of C only (how the fair SVM calls it)."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(40, 3))
    C = np.zeros((1, 40))
    C[0, :10] = 1 / 10
    C[0, 10:25] = -1 / 15
    support = np.flatnonzero(C[0])
    spec = KernelSpec("rbf", gamma=0.5)
    k_u = kernel_matvec(X, X[support], C[:, support].T, spec)
    np.testing.assert_allclose(k_u, pairwise_kernels(X, metric="rbf", gamma=0.5) @ C.T, rtol=1e-10, atol=1e-12)


def test_kernel_matvec_precomputed():
    rng = np.random.default_rng(8)
    K, W = rng.normal(size=(6, 4)), rng.normal(size=(4, 2))
    np.testing.assert_allclose(kernel_matvec(K, None, W, KernelSpec("precomputed")), K @ W)
    with pytest.raises(FairermValueError, match="precomputed kernel block with 4 columns"):
        kernel_matvec(K[:, :3], None, W, KernelSpec("precomputed"))


@pytest.mark.parametrize("name,params", SPECS)
def test_kernel_diagonal(name, params):
    A, _ = _data(23, 1, 6, seed=9)
    spec = _spec(name, params)
    np.testing.assert_allclose(
        kernel_diagonal(A, spec), np.diag(pairwise_kernels(A, metric=name, **params)), rtol=1e-10, atol=1e-12
    )
    K = pairwise_kernels(A, metric=name, **params)
    np.testing.assert_array_equal(kernel_diagonal(K, KernelSpec("precomputed")), np.diag(K))
    with pytest.raises(FairermValueError, match=r"square precomputed kernel matrix; got an array of shape \(23, 5\)"):
        kernel_diagonal(K[:, :5], KernelSpec("precomputed"))


@pytest.mark.parametrize("name,params", SPECS)
def test_decision_values(name, params):
    rng = np.random.default_rng(10)
    S, X_new, coef = rng.normal(size=(12, 3)), rng.normal(size=(31, 3)), rng.normal(size=12)
    spec = _spec(name, params)
    expected = pairwise_kernels(X_new, S, metric=name, **params) @ coef - 0.25
    got = decision_values(X_new, S, coef, -0.25, spec, block_bytes=5 * 12 * 8)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


def test_float32_and_fortran_inputs_are_converted():
    A, B = _data(9, 7, 3, seed=11)
    spec = KernelSpec("rbf", gamma=0.3)
    got = gram_block(np.asfortranarray(A.astype(np.float32)), B, spec)
    expected = pairwise_kernels(A.astype(np.float32).astype(np.float64), B, metric="rbf", gamma=0.3)
    np.testing.assert_allclose(got, expected, rtol=1e-10)


# --------------------------------------------------------------------------------------------
# KernelSpec, gamma and validation
# --------------------------------------------------------------------------------------------
def test_resolve_gamma_matches_sklearn():
    rng = np.random.default_rng(12)
    X = rng.normal(scale=3.0, size=(40, 5))
    y = (X[:, 0] > 0).astype(int)
    assert resolve_gamma(X, "scale") == pytest.approx(SVC(gamma="scale").fit(X, y)._gamma, rel=1e-12)
    assert resolve_gamma(X, "auto") == pytest.approx(1 / 5)
    assert resolve_gamma(X, 0.7) == 0.7
    assert resolve_gamma(np.ones((4, 2)), "scale") == 1.0
    spec = KernelSpec("rbf").resolve(X)
    assert spec.gamma == pytest.approx(1.0 / (5 * X.var()))
    with pytest.raises(FairermValueError, match="not resolved"):
        KernelSpec("rbf").params()


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"name": "gaussian"}, FairermValueError, "kernel must be one of .* got 'gaussian'"),
        ({"name": "rbf", "gamma": 0.0}, FairermValueError, "gamma must be a positive"),
        ({"name": "rbf", "gamma": -1.0}, FairermValueError, "gamma must be a positive"),
        ({"name": "rbf", "gamma": "large"}, FairermValueError, "gamma must be 'scale', 'auto'"),
        ({"name": "rbf", "gamma": [1.0]}, FairermTypeError, "gamma must be"),
        ({"name": "poly", "degree": 0}, FairermValueError, "degree must be an integer >= 1; got 0"),
        ({"name": "poly", "degree": 2.5}, FairermTypeError, "degree must be an integer"),
        ({"name": "poly", "coef0": float("nan")}, FairermValueError, "coef0 must be a finite"),
    ],
)
def test_kernel_spec_validation(kwargs, error, match):
    with pytest.raises(error, match=match):
        KernelSpec(**kwargs)


def test_precomputed_kernel_shape_is_checked():
    K = np.eye(4)
    assert check_precomputed_kernel(K, 4, 4) is not None
    with pytest.raises(FairermValueError, match=r"X must be the precomputed kernel matrix of shape \(4, 4\).*\(4, 3\)"):
        check_precomputed_kernel(K[:, :3], 4, 4)
    with pytest.raises(FairermValueError, match="NaN"):
        check_precomputed_kernel(np.full((2, 2), np.nan), 2, 2)
    with pytest.raises(FairermValueError, match="no feature map"):
        gram_block(K, K, KernelSpec("precomputed"))


def test_feature_mismatch_is_reported():
    with pytest.raises(FairermValueError, match="A has 3 features but B has 2"):
        gram_block(np.ones((2, 3)), np.ones((2, 2)), KernelSpec("linear"))
    with pytest.raises(FairermValueError, match="W must have 2 rows"):
        kernel_matvec(np.ones((2, 3)), np.ones((2, 3)), np.ones((5, 1)), KernelSpec("linear"))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["A", "B"])
def test_non_finite_features_are_refused_by_every_kernel_function(bad, where):
    """A NaN/inf feature would give k = 1 under the RBF map's clip (NaN squared distance -> 0): refused, named."""
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(30, 40)), rng.normal(size=(20, 40))
    (A if where == "A" else B)[7, 3] = bad
    spec = KernelSpec("rbf", gamma=0.1)
    message = rf"{where} contains 1 NaN or infinite value\(s\) \(the first, {bad}, at row 7, column 3\)"
    with pytest.raises(FairermValueError, match=message):
        gram_block(A, B, spec)
    matvec_names = {"A": "X", "B": "Y"}
    with pytest.raises(FairermValueError, match=matvec_names[where] + " contains 1 NaN"):
        kernel_matvec(A, B, np.ones(20), spec)
    with pytest.raises(FairermValueError, match=matvec_names[where] + " contains 1 NaN"):
        kernel_matvec(A[:, :4], B[:, :4], np.ones(20), spec)  # the row-loop path (d < 32) too
    if where == "A":
        with pytest.raises(FairermValueError, match="A contains 1 NaN"):
            gram_symmetric(A, spec)
        with pytest.raises(FairermValueError, match="X contains 1 NaN"):
            kernel_diagonal(A, spec)
        with pytest.raises(FairermValueError, match="X contains 1 NaN"):
            decision_values(A, B[:5], np.ones(5), 0.0, spec)
    else:
        with pytest.raises(FairermValueError, match="X contains 1 NaN"):
            kernel_row(A[0], B, spec)


def test_the_finiteness_check_scans_every_slice(monkeypatch):
    """The check works by slices of rows: a bad value in the last, partial slice is found too."""
    monkeypatch.setattr(gram_module, "_FINITE_CHECK_ENTRIES", 64)
    A = np.ones((50, 10))
    A[49, 9] = np.nan
    with pytest.raises(FairermValueError, match="at row 49, column 9"):
        gram_block(A, A[:3], KernelSpec("linear"))
    A[49, 9] = 1.0
    np.testing.assert_allclose(gram_block(A, A[:3], KernelSpec("linear")), np.full((50, 3), 10.0))


def test_check_memory_refuses_what_does_not_fit(monkeypatch):
    available = km.available_memory_bytes()
    assert available is None or available > 0
    check_memory(1024, "a small array")
    monkeypatch.setattr(memory_module, "available_memory_bytes", lambda: 10 * 2**30)
    with pytest.raises(MemoryBudgetError, match=r"needs 20\.0 GiB but only 10\.0 GiB .* Use rows") as info:
        check_memory(20 * 2**30, "The test matrix", "Use rows.")
    assert isinstance(info.value, MemoryError)
    check_memory(9 * 2**30, "a fitting array")
    monkeypatch.setattr(memory_module, "available_memory_bytes", lambda: 8 * 10**4 - 1)
    with pytest.raises(MemoryBudgetError, match="100 x 100 Gram block"):
        gram_block(np.ones((100, 2)), np.ones((100, 2)), KernelSpec("linear"))
    monkeypatch.setattr(memory_module, "available_memory_bytes", lambda: 8 * 1000 * 10 - 1)
    # the feature-major copy of the points (as large as the data), refused before it is made, for the SMO too
    from fairerm.kernels._vector import feature_major
    from fairerm.solvers.smo import solve_svm_dual

    X = np.ones((1000, 10))
    with pytest.raises(MemoryBudgetError, match="feature-major copy of the 1000 x 10 points needs 78.1 KiB"):
        feature_major(X)
    with pytest.raises(MemoryBudgetError, match="feature-major copy of the 1000 x 10 data of the SMO rows"):
        solve_svm_dual(X, np.where(np.arange(1000) % 2, 1.0, -1.0), KernelSpec("rbf", gamma=0.1), cache_size=0.0)
    assert feature_major(np.ones((1000, 40))) is None  # many features: no copy, nothing to check
    monkeypatch.setattr(memory_module, "available_memory_bytes", lambda: None)
    check_memory(1e30, "anything, where the available memory is unknown")


def test_kernel_matvec_never_forms_more_than_one_block(monkeypatch):
    """Few features: memory O(m) per row (issue 18; it used to be O(block * m)): no Gram block is formed, the
    traced peak stays far below the n x m block, and progress still comes by blocks of block_bytes."""
    import tracemalloc

    A, B = _data(100, 30, 2, seed=13)
    shapes = []
    original = gram_module.gram_block

    def recording_gram_block(X, Y, spec, *, out=None):
        shapes.append(X.shape[0] * Y.shape[0])
        return original(X, Y, spec, out=out)

    monkeypatch.setattr(gram_module, "gram_block", recording_gram_block)
    W = np.ones((30, 2))
    done = []
    result = kernel_matvec(A, B, W, KernelSpec("rbf", gamma=0.2), block_bytes=30 * 8 * 7,
                           progress=lambda rows, total: done.append(rows))
    assert shapes == [] and done[-1] == 100 and max(np.diff([0] + done)) <= 7
    big_A, big_B = _data(4000, 2000, 2, seed=14)
    kernel_matvec(big_A[:200], big_B, np.ones(2000), KernelSpec("rbf", gamma=0.2))  # compiled (parallel) before tracing
    tracemalloc.start()
    kernel_matvec(big_A, big_B, np.ones(2000), KernelSpec("rbf", gamma=0.2))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 0.05 * 8 * 4000 * 2000
    np.testing.assert_allclose(result, pairwise_kernels(A, B, metric="rbf", gamma=0.2) @ W, rtol=1e-10)


def test_vectorised_exp_matches_numpy_on_the_whole_range():
    """exp_nonpositive (the call-free exponential of the vectorised rows) against numpy.exp."""
    from fairerm.kernels._vector import exp_array

    rng = np.random.default_rng(21)
    x = np.concatenate([-rng.random(20_000) * 760.0, -rng.random(20_000) * 2.0, -np.abs(rng.normal(size=2000)) * 1e-12,
                        [0.0, -0.0, -1e-300, -np.log(2.0) / 2, -708.39, -744.44, -745.13, -746.0, -1e6]])
    out = np.empty_like(x)
    exp_array(x, out)
    ref = np.exp(x)
    normal = ref >= np.finfo(float).tiny
    np.testing.assert_allclose(out[normal], ref[normal], rtol=4e-16, atol=0.0)
    np.testing.assert_allclose(out[~normal], ref[~normal], rtol=0.0, atol=2 * np.finfo(float).smallest_subnormal)
    assert out[-1] == 0.0 and out[-9] == 1.0


@pytest.mark.parametrize("blocks", ["serial", "parallel", "symmetric"])
def test_rbf_block_map_matches_numpy_exp_from_one_to_underflow(blocks):
    """The RBF map of Gram blocks (call-free exponential) against numpy.exp at d = 108, exp(-gamma d2) from 1 to 0.

    Rows of very different norms (1e-3 to 30) so that -gamma ||a - b||^2 spans [-800, 0]: normal,
    subnormal and zero kernel values, and the clamp of a rounded negative squared distance to 0.
    """
    rng = np.random.default_rng(5)
    A = rng.normal(size=(700, 108)) * np.geomspace(1e-3, 30.0, 700)[:, None] / np.sqrt(108)
    A[1] = A[0]  # an exact duplicate: d2 rounds to 0 or a tiny negative number, k = 1
    B = A[np.r_[0:2, 2:700:3]] if blocks == "serial" else A
    gamma = 0.45
    sq_a, sq_b = (A * A).sum(1), (B * B).sum(1)
    G = A @ B.T
    ref = np.exp(-gamma * np.maximum(sq_a[:, None] + sq_b[None, :] - 2.0 * G, 0.0))
    code, params = km.KernelSpec("rbf", gamma=gamma).code, km.KernelSpec("rbf", gamma=gamma).params()
    if blocks == "serial":
        maps.map_block_serial(G, sq_a, sq_b, code, *params)
    elif blocks == "parallel":
        maps.map_block_inplace(G, sq_a, sq_b, code, *params)
    else:
        G = A @ A.T
        maps.map_symmetric_inplace(G, sq_a, code, *params)
        np.testing.assert_array_equal(G, G.T)
    assert ref.min() == 0.0 and (ref > 0).any() and ((ref > 0) & (ref < np.finfo(float).tiny)).any()
    normal = ref >= np.finfo(float).tiny
    np.testing.assert_allclose(G[normal], ref[normal], rtol=4e-16, atol=0.0)
    np.testing.assert_allclose(G[~normal], ref[~normal], rtol=0.0, atol=2 * np.finfo(float).smallest_subnormal)
    assert G[0, 1] == 1.0 and G[1, 0] == 1.0


@pytest.mark.parametrize("name,params", SPECS)
@pytest.mark.parametrize("d", [1, 7, 40])
def test_vectorised_rows_match_numpy_twin(name, params, d):
    """kernel_row_t on all points and on a scattered index (several blocks), and kernel_matvec_t."""
    from fairerm.kernels import _vector as vector

    A, B = _data(3, 600, d, seed=d)
    spec = _spec(name, params)
    gamma, coef0, degree = spec.params()
    K = numpy_kernel(name, A, B, **params)
    sq_a, sq_b = (A * A).sum(1), (B * B).sum(1)
    work = np.empty(2 * vector.BLOCK)
    row = np.full(600, np.nan)
    vector.kernel_row_t(spec.code, A[1], sq_a[1], B, sq_b, np.empty(0, dtype=np.int64), 0, 0, gamma, coef0, degree,
                        row, work)
    np.testing.assert_allclose(row, K[1], rtol=1e-12, atol=1e-12)
    index = np.random.default_rng(d).permutation(600)[:400].astype(np.int64)
    row = np.full(600, np.nan)
    vector.kernel_row_t(spec.code, A[2], sq_a[2], B, sq_b, index, 30, 390, gamma, coef0, degree, row, work)
    np.testing.assert_allclose(row[index[30:390]], K[2, index[30:390]], rtol=1e-12, atol=1e-12)
    assert np.isnan(np.delete(row, index[30:390])).all()
    for idx, lo, hi in ((np.empty(0, dtype=np.int64), 0, 0), (index, 30, 390)):  # the row split among threads
        split = np.full(600, np.nan)
        vector.kernel_row_parallel(spec.code, A[2], sq_a[2], B, sq_b, idx, lo, hi, gamma, coef0, degree, split, 3)
        wanted = np.arange(600) if idx.size == 0 else idx[lo:hi]
        np.testing.assert_allclose(split[wanted], K[2, wanted], rtol=1e-12, atol=1e-12)
    BT = vector.feature_major(B)
    assert (BT is None) == (d > vector.FEATURE_MAJOR_MAX_FEATURES)
    if BT is not None:  # whole rows from the feature-major copy: one thread, split among threads, many rows
        assert BT.shape == (d, 600) and BT.flags.c_contiguous
        row = np.full(600, np.nan)
        vector.kernel_row_fm(spec.code, A[1], sq_a[1], BT, sq_b, gamma, coef0, degree, row)
        np.testing.assert_allclose(row, K[1], rtol=1e-12, atol=1e-12)
        split = np.full(600, np.nan)
        vector.kernel_row_parallel_fm(spec.code, A[1], sq_a[1], BT, sq_b, gamma, coef0, degree, split, 3)
        np.testing.assert_array_equal(split, row)
    many = np.full((3, 600), np.nan)
    vector.kernel_rows_t(spec.code, A, sq_a, B, sq_b, gamma, coef0, degree, many)
    np.testing.assert_allclose(many, K, rtol=1e-12, atol=1e-12)
    W = np.random.default_rng(1).normal(size=(600, 2))
    for product in (vector.kernel_matvec_t, vector.kernel_matvec_t_serial):
        out = np.empty((3, 2))
        product(spec.code, A, sq_a, B, sq_b, np.ascontiguousarray(W.T), gamma, coef0, degree, out)
        np.testing.assert_allclose(out, K @ W, rtol=1e-11, atol=1e-11 * np.abs(K).sum())


def test_kernel_row_store_products_equal_the_plain_product_through_evictions():
    """KernelRowStore (the certificate's kept kernel rows, issue 18): every product equals kernel_matvec, over
    repeated, overlapping and evicting requests; more indices than it holds go straight to the product;
    copies and pickles are empty."""
    import copy
    import pickle

    from fairerm.kernels._row_store import KernelRowStore

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 7)) * np.logspace(-2, 2, 7)
    spec = KernelSpec("rbf", gamma=0.05)
    store = KernelRowStore(X, spec, max_bytes=8 * 300 * 40)  # 40 rows
    assert store.capacity == 40
    for step in range(30):
        size = int(rng.integers(1, 45))
        indices = np.sort(rng.choice(300 if step % 3 else 60, size=min(size, 60), replace=False))
        weights = rng.normal(size=indices.size)
        expected = kernel_matvec(X, X[indices], weights, spec)
        np.testing.assert_allclose(store.times(indices, weights), expected, rtol=1e-12, atol=1e-12)
        assert len(store) <= store.capacity
    assert store.hits > 0 and store.misses > 0
    copied, pickled = copy.deepcopy(store), pickle.loads(pickle.dumps(store))
    assert len(copied) == len(pickled) == 0 and copied.X is None and pickled.X is None and len(store) > 0
    store.clear()
    assert len(store) == 0 and store.X is None
    store.X = X  # the owner (KernelFermProblem._row_store) sets the data again before the next product
    np.testing.assert_allclose(store.times(np.array([3]), np.array([2.0])), 2.0 * kernel_matvec(
        X, X[[3]], np.array([1.0]), spec), rtol=1e-12)
