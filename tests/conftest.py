import os

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")


def make_problem(n=200, d=4, n_groups=2, seed=0, shift=1.0):
    """A small two-class problem whose groups differ in the first feature."""
    rng = np.random.default_rng(seed)
    s = rng.integers(0, n_groups, size=n)
    X = rng.normal(size=(n, d))
    X[:, 0] += shift * s
    y = np.where(X[:, 0] + X[:, 1] + 0.5 * rng.normal(size=n) > 0.5, 1, -1)
    return X, y, s


@pytest.fixture(name="make_problem")
def make_problem_fixture():
    """The problem factory, as a fixture (tests/ is not a package)."""
    return make_problem


def pytest_terminal_summary(terminalreporter):
    """The fuzz suites' tally (inputs tried, valid, refused by type, per entry point), when they ran."""
    import sys

    helpers = sys.modules.get("fuzz_helpers")
    if helpers is None or not helpers.TALLY:
        return
    terminalreporter.write_sep("-", "fuzz tally")
    terminalreporter.write_line(helpers.write_tally())
