"""Sparse X (issue 19): CSR/CSC give the dense results to 1e-8, and sparse X is never densified.

FairLinearSVC runs DCD on CSR rows (with the exact working-set step on a dense block of the working
rows for few columns, and tight inner tolerances when there are many); FairProjection fits in
O(nnz + dk); FairKernelSVC accepts sparse X with an approximate feature map and refuses it, with the
way out, for the exact kernels.
"""

import numpy as np
import pytest
import scipy.sparse as sp

import fairerm.solvers.linear_dcd as linear_dcd
from fairerm import FairKernelSVC, FairLinearSVC, FairProjection
from fairerm.constraints import constraint_vectors
from fairerm.exceptions import FairermTypeError, MemoryBudgetError


def _sparse_problem(n, d, density, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, format="csr", random_state=seed, data_rvs=rng.standard_normal)
    s = rng.integers(0, 2, n)
    X = sp.hstack([X, sp.csr_matrix(s[:, None].astype(float))], format="csr")  # a column tied to the group
    w_true = rng.normal(size=d + 1)
    y = np.where(X @ w_true + 0.3 * rng.normal(size=n) > 0.3 * s, 1, -1)
    return X, y, s


@pytest.mark.parametrize("epsilon", [0.0, 0.05])
@pytest.mark.parametrize("solver", ["auto", "cvxpy"])
def test_csr_and_csc_equal_dense_to_1e8(epsilon, solver):
    X, y, s = _sparse_problem(1200, 30, 0.3, seed=1)  # 1,200 rows: "auto" runs DCD
    dense = FairLinearSVC(C=0.5, epsilon=epsilon, solver=solver).fit(X.toarray(), y, sensitive_features=s)
    for container in (sp.csr_matrix, sp.csc_matrix, sp.csr_array):
        sparse = FairLinearSVC(C=0.5, epsilon=epsilon, solver=solver).fit(container(X), y, sensitive_features=s)
        assert sparse.status_ == dense.status_ == "optimal"
        assert sparse.solver_ == dense.solver_
        np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=0, atol=1e-8)
        np.testing.assert_allclose(sparse.intercept_, dense.intercept_, rtol=0, atol=1e-8)
        np.testing.assert_allclose(sparse.decision_function(container(X)), dense.decision_function(X.toarray()),
                                   rtol=0, atol=1e-8)
        np.testing.assert_allclose(sparse.constraint_vectors_, dense.constraint_vectors_, rtol=0, atol=1e-12)


def test_weighted_sparse_equals_weighted_dense():
    X, y, s = _sparse_problem(1100, 20, 0.3, seed=2)
    w = np.random.default_rng(2).integers(0, 3, X.shape[0]).astype(float)
    dense = FairLinearSVC(C=0.5).fit(X.toarray(), y, sensitive_features=s, sample_weight=w)
    sparse = FairLinearSVC(C=0.5).fit(X, y, sensitive_features=s, sample_weight=w)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(sparse.intercept_, dense.intercept_, rtol=0, atol=1e-8)


def _refuse_densifying(monkeypatch, n_features):
    """Make densifying any sparse matrix with ``n_features`` rows or columns raise (X, a block of its rows, X.T):
    an attacker's check of 'never densified'. Small dense results (an m x m Gram of working rows) are allowed."""
    for cls in (sp.csr_matrix, sp.csc_matrix, sp.coo_matrix, sp.csr_array, sp.csc_array):
        for method in ("toarray", "todense"):
            original = getattr(cls, method)

            def guarded(self, *args, _original=original, **kwargs):
                if n_features in self.shape:
                    raise AssertionError(f"a sparse matrix of shape {self.shape} was densified")
                return _original(self, *args, **kwargs)

            monkeypatch.setattr(cls, method, guarded)

    def refuse(self, *args, **kwargs):
        raise AssertionError(f"np.asarray of a sparse matrix of shape {self.shape}")

    monkeypatch.setattr(sp._base._spbase, "__array__", refuse, raising=False)


@pytest.mark.parametrize("epsilon", [0.0, 0.02])
def test_wide_sparse_fit_never_densifies_and_matches_the_qp(monkeypatch, epsilon):
    """More columns than the exact step's dense block allows: DCD on CSR rows with tight inner tolerances."""
    n, d = 200, linear_dcd.SPARSE_DENSE_BLOCK_MAX_FEATURES + 100
    X, y, s = _sparse_problem(n, d, 0.01, seed=3)
    with monkeypatch.context() as patch:
        _refuse_densifying(patch, X.shape[1])
        model = FairLinearSVC(C=1.0, epsilon=epsilon, solver="dcd").fit(X, y, sensitive_features=s)
        projection = FairProjection().fit(X, y, sensitive_features=s)  # O(nnz + dk), no dense copy either
        scores = model.decision_function(X)
    assert model.status_ == "optimal"
    assert model.solution_.certificate.relative_gap < 1e-6
    reference = FairLinearSVC(C=1.0, epsilon=epsilon, solver="cvxpy").fit(X, y, sensitive_features=s)
    assert model.objective_ == pytest.approx(reference.objective_, rel=1e-6)
    assert np.max(np.abs(scores - reference.decision_function(X))) < 1e-3
    assert np.all(np.abs(model.constraint_value_) <= epsilon + 1e-9)
    np.testing.assert_allclose(projection.constraint_vectors_, constraint_vectors(X, y, s), atol=0)


def test_projection_on_sparse_equals_dense_and_refuses_an_output_that_cannot_fit(monkeypatch):
    X, y, s = _sparse_problem(300, 40, 0.2, seed=4)
    dense = FairProjection("equalized_odds").fit(X.toarray(), y, sensitive_features=s)
    sparse = FairProjection("equalized_odds").fit(sp.csc_matrix(X), y, sensitive_features=s)
    np.testing.assert_allclose(sparse.removed_directions_, dense.removed_directions_, atol=1e-12)
    np.testing.assert_allclose(sparse.transform(X), dense.transform(X.toarray()), atol=1e-12)
    import fairerm._memory as memory

    monkeypatch.setattr(memory, "available_memory_bytes", lambda: 1000)
    with pytest.raises(MemoryBudgetError, match="FairLinearSVC\\(epsilon=0\\)"):
        sparse.transform(X)


def test_kernel_svc_sparse_with_approximations_and_refused_for_exact_kernels():
    X, y, s = _sparse_problem(300, 20, 0.3, seed=5)
    for approximation in ("nystroem", "rff"):
        make = lambda: FairKernelSVC(C=1.0, gamma=0.5, approximation=approximation, n_components=40,  # noqa: E731
                                     random_state=0)
        sparse, dense = make().fit(X, y, sensitive_features=s), make().fit(X.toarray(), y, sensitive_features=s)
        np.testing.assert_allclose(sparse.decision_function(X), dense.decision_function(X.toarray()), atol=1e-8)
    with pytest.raises(FairermTypeError, match="approximation='nystroem' or 'rff'.*X.toarray\\(\\)"):
        FairKernelSVC().fit(X, y, sensitive_features=s)
    fitted = FairKernelSVC(gamma=0.5).fit(X.toarray(), y, sensitive_features=s)
    with pytest.raises(FairermTypeError, match="exact kernel on dense rows"):
        fitted.decision_function(X)


def test_row_norms_of_sparse_rows_by_blocks(monkeypatch):
    import fairerm.objectives as problem  # the row norms live there (re-exported by fairerm.problem)

    X = sp.random(500, 40, density=0.05, format="csr", random_state=7)  # many empty rows
    X[3] = 0.0
    X.eliminate_zeros()
    expected = np.einsum("ij,ij->i", X.toarray(), X.toarray())
    for block in (1, 7, 1 << 20):  # one nonzero per block, a few, everything at once
        monkeypatch.setattr(problem, "_ROW_BLOCK_NONZEROS", block)
        np.testing.assert_allclose(problem.row_squared_norms(X), expected, rtol=1e-15, atol=0)
        np.testing.assert_allclose(problem.row_squared_norms(X.tocsc()), expected, rtol=1e-15, atol=0)


def test_gamma_scale_on_sparse_is_the_variance_of_all_entries():
    X, y, s = _sparse_problem(200, 15, 0.3, seed=6)
    sparse = FairKernelSVC(approximation="rff", random_state=0).fit(X, y, sensitive_features=s)
    dense = FairKernelSVC(approximation="rff", random_state=0).fit(X.toarray(), y, sensitive_features=s)
    assert sparse.gamma_ == pytest.approx(dense.gamma_, rel=1e-12)
    assert dense.gamma_ == pytest.approx(1.0 / (X.shape[1] * X.toarray().var()), rel=1e-12)


def test_a_wide_sparse_fit_allocates_far_less_than_a_copy_of_the_data(monkeypatch):
    """tracemalloc's peak during the fit (numpy and scipy allocations) stays a fraction of the CSR matrix.

    The fixed-size buffers are made small here, so that what is measured is what grows with the data:
    the exact step on the Gram of at most 500 working rows (a few MB whatever the data; at 100,000 x
    100,000 the working set is too large for it anyway) is turned off, and the row norms are summed by
    blocks of 4,096 nonzeros instead of 2^20.
    """
    import tracemalloc

    import fairerm.objectives as problem  # the row norms live there (re-exported by fairerm.problem)

    import fairerm.solvers._dcd_exact_step as exact_step

    monkeypatch.setattr(exact_step, "SPARSE_POLISH_MAX_WORKING", 0)
    monkeypatch.setattr(problem, "_ROW_BLOCK_NONZEROS", 4096)
    X, y, s = _sparse_problem(4000, 4000, 0.01, seed=8)  # 160,000 nonzeros: 1.9 MB of CSR arrays
    FairLinearSVC(solver="dcd").fit(X[:300], y[:300], sensitive_features=s[:300])  # compile outside the trace
    data_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    tracemalloc.start()
    try:
        model = FairLinearSVC(solver="dcd").fit(X, y, sensitive_features=s)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert model.status_ == "optimal"
    assert peak < 0.5 * data_bytes, (peak, data_bytes)
