"""Speed of the fair-regression pieces (pytest-benchmark).

Run: ``python -m pytest benchmarks/bench_postprocessing.py --benchmark-only``.

The barycenter map costs one ``searchsorted`` per prediction in its own group's CDF sample and
one indexed read per group's quantile sample, O(n log N) in all; fitting adds one sort per group.
The base regressor (here a fixed linear map) is outside what is measured where possible.
"""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from fairerm.metrics import ks_distance_between_groups, wasserstein_distance_between_groups
from fairerm.postprocessing import WassersteinFairRegressor
from fairerm.regression import FairRidge


def _data(n, n_groups=3, seed=0):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, n_groups, n)
    X = np.column_stack([rng.normal(loc=s, scale=1.0 + s), rng.normal(size=n)])
    return X, X[:, 0] + rng.normal(scale=0.1, size=n), s


@pytest.fixture(scope="module")
def base_model():
    X, y, _ = _data(1000)
    return LinearRegression().fit(X, y)


@pytest.mark.parametrize("n", [10_000, 1_000_000])
def test_calibrate(benchmark, base_model, n):
    X, _, s = _data(n)
    model = WassersteinFairRegressor(base_model, prefit=True, random_state=0)
    benchmark(model.fit, X, sensitive_features=s)


@pytest.mark.parametrize("n", [10_000, 1_000_000])
def test_predict(benchmark, base_model, n):
    X, _, s = _data(n)
    model = WassersteinFairRegressor(base_model, prefit=True, random_state=0).fit(X, sensitive_features=s)
    benchmark(model.predict, X, sensitive_features=s)


@pytest.mark.parametrize("metric", [ks_distance_between_groups, wasserstein_distance_between_groups])
def test_group_distances(benchmark, metric):
    _, y, s = _data(1_000_000)
    benchmark(metric, y, sensitive_features=s)


@pytest.mark.parametrize("epsilon", [0.0, 0.05])
def test_fair_ridge_fit(benchmark, epsilon):
    rng = np.random.default_rng(1)
    s = rng.integers(0, 4, 100_000)
    X = rng.normal(size=(100_000, 50)) + 0.3 * s[:, None]
    y = X @ rng.normal(size=50) + s + rng.normal(size=100_000)
    benchmark(FairRidge(alpha=1.0, epsilon=epsilon).fit, X, y, sensitive_features=s)
