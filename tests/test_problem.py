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
