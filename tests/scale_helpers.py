"""Shared test data: mixed feature scales (tests/test_mixed_scales.py, tests/test_kernel_certificate.py).

A helper module, not a test module (no ``test_`` prefix): the tests folder is on ``sys.path`` under
pytest's default import mode."""

from __future__ import annotations

import numpy as np


def mixed_scales(n=600, seed=0, balanced_small=False):
    """Two groups; a column of size 1e6 whose cell means are equal (its part of u is round-off), the informative
    column at size 1e-6 (a genuine u row of norm about 1e-6), and a unit column. ``balanced_small``: the small
    column's cell means are equal too."""
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 2, n)
    informative = rng.normal(size=n) + 1.5 * s
    y = np.where(informative + 0.3 * rng.normal(size=n) > 0.75, 1, 0)
    big, unit = rng.normal(size=n), rng.normal(size=n) + y
    for g in (0, 1):
        for label in (0, 1):
            cell = (s == g) & (y == label)
            big[cell] -= big[cell].mean()  # equal cell means: round-off in u
            unit[cell] -= unit[cell].mean() - label
            if balanced_small:
                informative[cell] -= informative[cell].mean()
    return np.c_[big * 1e6, informative * 1e-6, unit], y, s
