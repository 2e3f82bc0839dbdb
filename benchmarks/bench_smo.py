"""pytest-benchmark suite of the SMO solver and the compiled kernels.

Run with::

    python -m pytest benchmarks/bench_smo.py --benchmark-enable --benchmark-group-by=group

Each group holds fairerm next to its baseline (libsvm through scikit-learn's SVC, numpy/BLAS),
so the ratios can be read from one table. ``benchmarks/smo_vs_svc.py`` prints the larger
comparison (time and memory, n up to 10^4, synthetic and Adult data).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.svm import SVC

from fairerm import kernels as km
from fairerm.kernels import _maps as maps
from fairerm.kernels import KernelSpec, gram_block, kernel_matvec
from fairerm.solvers.smo import solve_svm_dual

C, TOL = 1.0, 1e-3


def synthetic(n: int, d: int = 20, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    score = X[:, 0] * X[:, 1] + np.sin(2 * X[:, 2]) + 0.5 * X[:, 3] - 0.2
    y = np.where(score > 0, 1.0, -1.0)
    flip = rng.random(n) < 0.1
    y[flip] = -y[flip]
    return X, y


@pytest.fixture(scope="module", params=[1000, 2000])
def problem(request):
    X, y = synthetic(request.param)
    gamma = km.resolve_gamma(X, "scale")
    solve_svm_dual(X[:50], y[:50], KernelSpec("rbf", gamma=gamma))  # load the compiled code
    return X, y, gamma


def test_smo_rbf(benchmark, problem):
    X, y, gamma = problem
    benchmark.group = f"svm-dual-n{len(y)}"
    result = benchmark(solve_svm_dual, X, y, KernelSpec("rbf", gamma=gamma), upper=C, tol=TOL)
    assert result.converged


def test_libsvm_rbf(benchmark, problem):
    X, y, gamma = problem
    benchmark.group = f"svm-dual-n{len(y)}"
    model = benchmark(lambda: SVC(C=C, gamma=gamma, tol=TOL).fit(X, y))
    assert model.n_iter_[0] > 0


def test_smo_warm_start_along_mu(benchmark, problem):
    """One step of a mu path (the fair SVM's multiplier), warm-started from the previous solution."""
    X, y, gamma = problem
    benchmark.group = f"svm-dual-n{len(y)}"
    spec = KernelSpec("rbf", gamma=gamma)
    shift = np.random.default_rng(1).normal(scale=0.1, size=len(y))
    previous = solve_svm_dual(X, y, spec, p=-1.0 - 0.50 * y * shift, upper=C, tol=TOL)
    result = benchmark(solve_svm_dual, X, y, spec, p=-1.0 - 0.51 * y * shift, upper=C, tol=TOL,
                       alpha0=previous.alpha)
    assert result.converged


@pytest.mark.parametrize("d", [20, 100])
def test_gram_block_gemm(benchmark, d):
    A, _ = synthetic(2000, d)
    spec = KernelSpec("rbf", gamma=1.0 / d)
    gram_block(A[:10], A[:10], spec)
    benchmark.group = f"gram-2000x2000-d{d}"
    benchmark(gram_block, A, A, spec)


@pytest.mark.parametrize("d", [20, 100])
def test_gemm_only(benchmark, d):
    """The physical limit: the BLAS product A A^T alone, without the kernel map."""
    A, _ = synthetic(2000, d)
    benchmark.group = f"gram-2000x2000-d{d}"
    benchmark(np.matmul, A, A.T.copy())


@pytest.mark.parametrize("d", [20, 100])
def test_gram_block_numba_loop(benchmark, d):
    A, _ = synthetic(2000, d)
    spec = KernelSpec("rbf", gamma=1.0 / d)
    maps.gram_loop(spec.code, A[:10], A[:10], *spec.params())
    benchmark.group = f"gram-2000x2000-d{d}"
    benchmark(maps.gram_loop, spec.code, A, A, *spec.params())


@pytest.mark.parametrize("d", [20, 100])
def test_gram_block_sklearn(benchmark, d):
    from sklearn.metrics.pairwise import rbf_kernel

    A, _ = synthetic(2000, d)
    benchmark.group = f"gram-2000x2000-d{d}"
    benchmark(rbf_kernel, A, A, gamma=1.0 / d)


def test_kernel_matvec_k_u(benchmark):
    """k_u = K(X, X_s) C_s^T for n = 20,000 and a support of 5,000 (blocks of 64 MiB)."""
    X, _ = synthetic(20_000)
    W = np.random.default_rng(2).normal(size=(5_000, 1))
    spec = KernelSpec("rbf", gamma=0.05)
    benchmark.group = "kernel-matvec"
    benchmark(kernel_matvec, X, X[:5_000], W, spec)


@pytest.mark.parametrize("d", [10, 100])
@pytest.mark.parametrize("rows", ["vectorised", "libm"])
def test_kernel_rows(benchmark, d, rows):
    """100 SMO-style RBF rows of n = 4,000: the vectorised rows (call-free exp, four dot products per
    pass; ``fairerm.kernels._vector``) against the point-by-point loop with libm's exp (``_maps``)."""
    from fairerm.kernels import _vector as vector

    X, _ = synthetic(4000, d)
    sq = np.einsum("ij,ij->i", X, X)
    out, work, no_index = np.empty(4000), np.empty(2 * vector.BLOCK), np.empty(0, dtype=np.int64)
    gamma = 1.0 / d

    def run():
        for i in range(100):
            if rows == "vectorised":
                vector.kernel_row_t(1, X[i], sq[i], X, sq, no_index, 0, 0, gamma, 0.0, 3, out, work)
            else:
                maps.kernel_row_into(1, X, i, X, no_index, 0, 0, gamma, 0.0, 3, out)

    run()
    benchmark.group = f"kernel-rows-4000-d{d}"
    benchmark(run)
