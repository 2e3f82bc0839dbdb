"""pytest-benchmark suite of the fair SVMs (small sizes: ``pytest benchmarks --benchmark-disable`` is a smoke test).

Each benchmark fits on the same data as its baseline in the same module, so the saved runs give
ratios: ``FairKernelSVC`` (exact, eps = 0 and eps > 0) vs ``sklearn.svm.SVC``, the warm-started
epsilon path vs one fit, ``FairLinearSVC(solver="dcd")`` vs ``LinearSVC`` on the projected data,
and the Nystroem / random-features path; the exact working-set step of linear DCD (our interior-point
method) vs CLARABEL on the same QP. The speed table with the issue's sizes is
``benchmarks/speed_table.py``.
"""

import numpy as np
import pytest
from sklearn.svm import SVC, LinearSVC

from fairerm import FairKernelSVC, FairLinearSVC, fair_path
from fairerm.constraints import constraint_weights


def _data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    s = rng.integers(0, 2, n)
    X[:, 0] += s
    y = np.where(X[:, 0] * X[:, 1] + X[:, 2] + 0.3 * rng.normal(size=n) > 0.2, 1, -1)
    return X, y, s


@pytest.fixture(scope="module")
def kernel_data():
    return _data(600, 8)


@pytest.fixture(scope="module")
def linear_data():
    return _data(20_000, 50, seed=1)


def test_svc_unconstrained(benchmark, kernel_data):
    X, y, _ = kernel_data
    model = benchmark(lambda: SVC(C=1.0, gamma="scale", tol=1e-3).fit(X, y))
    assert model.score(X, y) > 0.7


@pytest.mark.parametrize("epsilon", [0.0, 0.05])
def test_fair_kernel_exact(benchmark, kernel_data, epsilon):
    X, y, s = kernel_data
    model = benchmark(lambda: FairKernelSVC(C=1.0, epsilon=epsilon, tol=1e-3).fit(X, y, sensitive_features=s))
    assert model.converged_ and np.all(np.abs(model.constraint_value_) <= epsilon + 1e-6)


def test_epsilon_path_20_points(benchmark, kernel_data):
    X, y, s = kernel_data
    path = benchmark(lambda: fair_path(FairKernelSVC(C=1.0, tol=1e-3), X, y, sensitive_features=s,
                                       epsilons=np.linspace(0.0, 0.2, 20)))
    assert len(path.to_frame()) == 20


def test_linearsvc_projected(benchmark, linear_data):
    X, y, s = linear_data
    u = constraint_weights(y, s).weights @ X
    q = u[0] / np.linalg.norm(u[0])
    Xp = X - np.outer(X @ q, q)
    model = benchmark(lambda: LinearSVC(C=0.01, loss="hinge", tol=1e-4, max_iter=1000).fit(Xp, y))
    assert abs(model.coef_[0] @ q) < 1e-8 * np.linalg.norm(model.coef_[0]) + 1e-10


def test_fair_linear_dcd(benchmark, linear_data):
    X, y, s = linear_data
    model = benchmark(lambda: FairLinearSVC(C=0.01, solver="dcd").fit(X, y, sensitive_features=s))
    assert model.converged_ and abs(model.constraint_value_[0]) < 1e-8


@pytest.mark.parametrize("approximation", ["nystroem", "rff"])
def test_fair_kernel_approximate(benchmark, linear_data, approximation):
    X, y, s = (a[:5000] for a in linear_data)
    model = benchmark(lambda: FairKernelSVC(C=0.1, approximation=approximation, n_components=100,
                                            random_state=0).fit(X[:, :8], y, sensitive_features=s))
    assert model.converged_ and abs(model.constraint_value_[0]) < 1e-6


@pytest.fixture(scope="module")
def working_set():
    """A working-set-sized SVM (5,000 x 50, unequal boxes, offsets): the exact last step of linear DCD."""
    X, y, _ = _data(5000, 50, seed=2)
    rng = np.random.default_rng(2)
    return X, y.astype(float), rng.uniform(0.005, 0.02, 5000), 0.1 * rng.normal(size=5000)


def test_working_set_step_ipm(benchmark, working_set):
    """Our interior-point method (Woodbury d x d Newton systems); baseline: the next benchmark."""
    from fairerm.solvers._svm_ipm import svm_ipm

    X, y, c, o = working_set
    result = benchmark(lambda: svm_ipm(X, y, c, offsets=o))
    assert result.status == "optimal"


def test_working_set_step_clarabel(benchmark, working_set):
    """The same QP stated in cvxpy and solved by CLARABEL (what the step used before)."""
    import cvxpy as cp

    X, y, c, o = working_set

    def solve():
        w, b, xi = cp.Variable(X.shape[1]), cp.Variable(), cp.Variable(X.shape[0])
        problem = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(w) + c @ xi),
                             [cp.multiply(y, X @ w + b + o) >= 1 - xi, xi >= 0])
        problem.solve(solver="CLARABEL")
        return problem

    assert benchmark(solve).status == "optimal"
