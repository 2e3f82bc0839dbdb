import numpy as np
import pytest

from fairerm.problem import optimal_intercept


def _hinge(b, f, y, c):
    return np.sum(c * np.maximum(0.0, 1.0 - y * (f + b)))


@pytest.mark.parametrize("seed", range(20))
def test_optimal_intercept_minimises_the_hinge_part(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 40))
    f = rng.normal(size=n)
    y = rng.choice([-1.0, 1.0], size=n)
    if len(np.unique(y)) < 2:
        y[0] = -y[0]
    c = rng.uniform(0.1, 2.0, size=n) if seed % 2 else np.ones(n)
    b = optimal_intercept(f, y, c)
    grid = np.linspace(-10, 10, 20001)[:, None]
    best = np.min(np.sum(c * np.maximum(0.0, 1.0 - y * (f + grid)), axis=1))
    assert _hinge(b, f, y, c) <= best + 1e-9


def test_flat_optimum_gives_the_midpoint():
    # one positive at f=0 and one negative at f=0: any b in [-1, 1] is optimal (zero loss).
    b = optimal_intercept(np.zeros(2), np.array([1.0, -1.0]), np.ones(2))
    assert b == pytest.approx(0.0)


def test_row_squared_norms_of_a_csr_matrix_with_duplicate_entries():
    """A CSR matrix may store a cell twice (scipy sums them); the squares are of the sums, 9 not 1 + 4."""
    import scipy.sparse as sp

    from fairerm.objectives import row_squared_norms

    X = sp.csr_matrix((np.array([1.0, 2.0, 3.0]), np.array([0, 0, 1]), np.array([0, 2, 3])), shape=(2, 2))
    assert not X.has_canonical_format
    np.testing.assert_array_equal(row_squared_norms(X), [9.0, 9.0])
    np.testing.assert_array_equal(row_squared_norms(X), (X.toarray() ** 2).sum(axis=1))
    assert X.data.tolist() == [1.0, 2.0, 3.0]  # the caller's matrix is not modified
