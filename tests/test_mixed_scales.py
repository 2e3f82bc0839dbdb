"""Features of very different sizes in one matrix: a genuine u_j in a small column is not round-off.

The data: a column of size 1e6 whose cell means are equal (so its coordinate of u is round-off,
about 1e-10 after the sum), the informative column of size 1e-6 correlated with the group (its
coordinate of u is 5.6e-7: genuine), and a column of size 1. Judged against max |x_ij| = 3e6 the
whole row u looked like round-off: the certificate left it out and a fit with |<w, u>| = 1.83 at
epsilon = 0 was called 'optimal' without a warning. Every constraint below is recomputed from X, y,
s and the fitted coef_.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from fairerm import FairLinearSVC, FairProjection
from fairerm.constraints import constraint_weights
from fairerm.problem import LinearFermProblem, column_magnitudes
from fairerm.solvers import RowSpace, live_constraints
from scale_helpers import mixed_scales


_mixed = mixed_scales


def _u(X, y, s):
    """Equal opportunity's u from its definition: the difference of the groups' positives' means."""
    return X[(y == 1) & (s == 0)].mean(axis=0) - X[(y == 1) & (s == 1)].mean(axis=0)


def _problem(X, y, s, epsilon=0.0):
    y_signed = np.where(y == 1, 1.0, -1.0)
    return LinearFermProblem(X, y_signed, np.ones(len(y)), constraint_weights(y_signed, s).weights, epsilon)


def test_a_genuine_row_in_a_small_column_is_live_and_a_balanced_one_is_not():
    X, y, s = _mixed()
    assert live_constraints(_problem(X, y, s)).tolist() == [True]
    X0, y0, s0 = _mixed(balanced_small=True)  # every column balanced: u is round-off in every coordinate
    assert live_constraints(_problem(X0, y0, s0)).tolist() == [False]


@pytest.mark.parametrize("solver", ["dcd", "cvxpy"])
@pytest.mark.parametrize("epsilon", [0.0, 5e-8])
def test_fit_meets_the_constraint_and_the_solvers_agree(solver, epsilon):
    X, y, s = _mixed()
    u = _u(X, y, s)
    free = FairLinearSVC(C=1e3, epsilon=1e9, solver="dcd").fit(X, y, sensitive_features=s)
    free_value = abs(float(u @ free.coef_[0]))
    assert free_value > 5 * epsilon  # the constraint binds (free: 2.8e-7)
    fit = FairLinearSVC(C=1e3, epsilon=epsilon, solver=solver).fit(X, y, sensitive_features=s)
    assert fit.status_ == "optimal"
    assert abs(float(u @ fit.coef_[0])) <= epsilon + 1e-6 * free_value
    reference = FairLinearSVC(C=1e3, epsilon=epsilon, solver="cvxpy").fit(X, y, sensitive_features=s)
    assert fit.objective_ == pytest.approx(reference.objective_, rel=1e-6)
    assert fit.objective_ > free.objective_ * (1 + 1e-8)  # the constraint costs 2e-7 of the objective


def test_an_unmet_small_row_is_not_certified():
    """A w that ignores the small column's row: the certificate counts it (formerly left out as round-off)."""
    from fairerm.solvers._certificate import certify

    X, y, s = _mixed()
    problem = _problem(X, y, s)
    free = FairLinearSVC(C=1.0, epsilon=1e9, solver="dcd").fit(X, y, sensitive_features=s)
    w, b = free.coef_[0], float(free.intercept_[0])
    w = w + np.array([0.0, 1e6, 0.0])  # |<w, u>| about 0.6 at epsilon = 0
    alpha = np.zeros(len(y))
    certificate, _ = certify(problem, w, b, alpha, np.zeros(1), X @ w)
    assert certificate.max_violation == pytest.approx(abs(float(_u(X, y, s) @ w)), rel=1e-9)
    assert certificate.max_violation > 0.1 > certificate.violation_tol


def test_projection_removes_the_small_columns_direction():
    X, y, s = _mixed()
    projection = FairProjection().fit(X, y, sensitive_features=s)
    assert projection.removed_directions_.shape == (1, 3)
    Z = projection.transform(X)
    gap = _u(Z, y, s)
    assert np.all(np.abs(gap) <= 1e-9 * column_magnitudes(X))  # each coordinate at its own column's round-off
    assert abs(gap[1]) < 1e-6 * abs(_u(X, y, s)[1])


def test_row_space_keeps_rows_of_different_sizes_and_drops_a_dependent_one():
    rng = np.random.default_rng(1)
    sizes = np.array([1e6, 1e-6, 1.0])
    a = rng.normal(size=3) * sizes * np.array([1.0, 0.0, 1.0])  # rows of very different sizes
    b = rng.normal(size=3) * sizes * np.array([1e-16, 1.0, 1.0])
    U = np.vstack([a, b, a + b])  # rank 2
    space = RowSpace(U, sizes, floor=1e-12)
    assert space.rank == 2
    np.testing.assert_allclose(space.Q.T @ space.Q, np.eye(2), atol=1e-12)
    rhs = U @ rng.normal(size=3)  # consistent right-hand side
    z, residual = space.point(rhs)
    v = space.Q @ z  # every row to 1e-10 of ||u_j|| ||v||, the scale of the certificate's tolerance
    assert np.all(np.abs(U @ v - rhs) <= 1e-10 * np.linalg.norm(U, axis=1) * np.linalg.norm(v))
    assert residual <= 1e-12 * np.linalg.norm(rhs)
    c = rng.normal(size=2)
    mu = space.multipliers(c)
    assert np.linalg.norm(U.T @ mu - space.Q @ c) <= 1e-10 * np.linalg.norm(np.abs(U).T @ np.abs(mu))
    _, inconsistent = space.point(np.array([0.0, 0.0, 1.0]))
    assert inconsistent > 0.1
    gram = U @ U.T  # what the Gram's eigenvalues say: the small row is below 1e-10 of the top
    assert np.sum(np.linalg.eigvalsh(gram) > 1e-10 * np.linalg.eigvalsh(gram).max()) == 1


def test_column_magnitudes_of_sparse_equal_dense():
    X, _, _ = _mixed(n=200)
    X[np.abs(X) < np.median(np.abs(X), axis=0)] = 0.0
    X[:, 2] = -np.abs(X[:, 2])  # a column whose largest magnitude is negative
    np.testing.assert_array_equal(column_magnitudes(sp.csr_matrix(X)), np.abs(X).max(axis=0))
    np.testing.assert_array_equal(column_magnitudes(sp.csc_matrix(X)), np.abs(X).max(axis=0))
    np.testing.assert_array_equal(column_magnitudes(X), np.abs(X).max(axis=0))


def test_dask_problem_and_projection_see_the_small_row():
    da = pytest.importorskip("dask.array")
    from fairerm.problem_dask import DaskLinearFermProblem

    X, y, s = _mixed()
    problem = DaskLinearFermProblem(da.from_array(X, chunks=(150, 3)), y, s, 1.0, 0.0)
    assert problem.live().tolist() == [True]
    np.testing.assert_array_equal(problem.column_sizes, column_magnitudes(X))
    projection = FairProjection().fit(da.from_array(X, chunks=(150, 3)), y, sensitive_features=s)
    reference = FairProjection().fit(X, y, sensitive_features=s)
    assert projection.removed_directions_.shape == (1, 3)
    np.testing.assert_allclose(np.abs(projection.removed_directions_), np.abs(reference.removed_directions_),
                               atol=1e-9)  # the big and the unit column's entries are round-off of their sums
