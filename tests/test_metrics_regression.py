"""Regression fairness metrics against scipy's two-sample statistics and closed forms."""

import warnings
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from fairerm.exceptions import FairermTypeError, FairermValueError
from fairerm.metrics import (
    distances_between_groups,
    ks_distance_between_groups,
    wasserstein_distance_between_groups,
)


def scipy_ks(a, b):
    """scipy's two-sample KS statistic (its p-value, which warns on tiny samples, is not used)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return stats.ks_2samp(a, b, method="asymp").statistic


def _two_groups(rng, n_a, n_b, shift, discrete=False):
    a = rng.normal(size=n_a)
    b = rng.normal(loc=shift, scale=1.5, size=n_b)
    if discrete:  # many ties, inside and across the groups
        a, b = np.round(a), np.round(b)
    y = np.concatenate([a, b])
    s = np.array(["a"] * n_a + ["b"] * n_b)
    perm = rng.permutation(n_a + n_b)
    return y[perm], s[perm], a, b


@pytest.mark.parametrize("discrete", [False, True])
@pytest.mark.parametrize("sizes", [(1, 1), (7, 3), (200, 350)])
def test_two_groups_match_scipy(sizes, discrete):
    rng = np.random.default_rng(sum(sizes) + discrete)
    y, s, a, b = _two_groups(rng, *sizes, shift=0.4, discrete=discrete)
    assert ks_distance_between_groups(y, sensitive_features=s) == pytest.approx(
        scipy_ks(a, b), abs=1e-12
    )
    assert wasserstein_distance_between_groups(y, sensitive_features=s) == pytest.approx(
        stats.wasserstein_distance(a, b), rel=1e-10, abs=1e-12
    )


def test_several_groups_largest_pairwise_and_table():
    rng = np.random.default_rng(3)
    groups = {0: rng.normal(0.0, 1.0, 80), 1: rng.normal(0.5, 1.0, 120), 2: rng.normal(2.0, 0.3, 60)}
    y = np.concatenate(list(groups.values()))
    s = np.concatenate([[g] * len(v) for g, v in groups.items()])
    for distance, reference in (("ks", scipy_ks),
                                ("wasserstein", stats.wasserstein_distance)):
        table = distances_between_groups(y, sensitive_features=s, distance=distance)
        assert list(table.index) == [0, 1, 2] and list(table.columns) == [0, 1, 2]
        np.testing.assert_allclose(table.to_numpy(), table.to_numpy().T)
        np.testing.assert_array_equal(np.diag(table.to_numpy()), 0.0)
        for g, h in combinations(groups, 2):
            assert table.loc[g, h] == pytest.approx(reference(groups[g], groups[h]), rel=1e-10)
        largest = max(reference(groups[g], groups[h]) for g, h in combinations(groups, 2))
        fn = ks_distance_between_groups if distance == "ks" else wasserstein_distance_between_groups
        assert fn(y, sensitive_features=s) == pytest.approx(largest, rel=1e-10)


def test_closed_forms():
    base = np.linspace(-1.0, 3.0, 50)
    y = np.concatenate([base, base + 0.75])
    s = np.repeat(["x", "y"], 50)
    # A constant shift moves every quantile by the shift: W1 is the shift.
    assert wasserstein_distance_between_groups(y, sensitive_features=s) == pytest.approx(0.75)
    # Identical samples: both distances vanish; disjoint supports: KS is one.
    same = np.concatenate([base, base[::-1]])
    assert ks_distance_between_groups(same, sensitive_features=s) == 0.0
    assert wasserstein_distance_between_groups(same, sensitive_features=s) == 0.0
    apart = np.concatenate([base, base + 10.0])
    assert ks_distance_between_groups(apart, sensitive_features=s) == 1.0


def test_pandas_input_and_dataframe_groups():
    rng = np.random.default_rng(0)
    y, s, a, b = _two_groups(rng, 40, 30, shift=1.0)
    frame = pd.DataFrame({"sex": s, "race": np.where(np.arange(70) % 2 == 0, "p", "q")})
    got = ks_distance_between_groups(pd.Series(y), sensitive_features=frame)
    combos = frame["sex"] + "," + frame["race"]
    expected = max(
        scipy_ks(y[combos == g], y[combos == h])
        for g, h in combinations(sorted(set(combos)), 2)
    )
    assert got == pytest.approx(expected)


@pytest.mark.parametrize(
    "y_pred, sensitive, error, match",
    [
        ([0.0, np.nan, 1.0, 2.0], [0, 0, 1, 1], FairermValueError, "y_pred contains NaN"),
        ([0.0, 1.0, 2.0], [0, 0, 1, 1], FairermValueError, "sensitive_features has 4 entries"),
        ([0.0, 1.0, 2.0], [0, 0, 0], FairermValueError, "at least 2"),
        ([[0.0, 1.0], [2.0, 3.0]], [0, 1], FairermValueError, "y_pred must be 1-D"),
        (["a", "b"], [0, 1], FairermTypeError, "y_pred must hold numbers"),
        (None, [0, 1], FairermValueError, "y_pred is required"),
    ],
)
def test_errors_name_the_argument(y_pred, sensitive, error, match):
    with pytest.raises(error, match=match):
        ks_distance_between_groups(y_pred, sensitive_features=sensitive)


def test_unknown_distance_is_rejected():
    with pytest.raises(FairermValueError, match="distance must be one of"):
        distances_between_groups([0.0, 1.0], sensitive_features=[0, 1], distance="energy")


# Multiples of 1/8 and power-of-two scales keep every value and every map exact in floating point.
finite = st.integers(-8000, 8000).map(lambda v: v / 8)


@settings(max_examples=60, deadline=None)
@given(
    a=st.lists(finite, min_size=1, max_size=30),
    b=st.lists(finite, min_size=1, max_size=30),
    shift=st.integers(-800, 800).map(lambda v: v / 8),
    scale=st.sampled_from([0.25, 0.5, 2.0, 8.0]),
)
def test_properties_of_the_distances(a, b, shift, scale):
    y = np.array(a + b)
    s = np.array([0] * len(a) + [1] * len(b))
    ks = ks_distance_between_groups(y, sensitive_features=s)
    w1 = wasserstein_distance_between_groups(y, sensitive_features=s)
    assert 0.0 <= ks <= 1.0 and w1 >= 0.0
    # KS is invariant under a common increasing map; W1 is translation invariant and 1-homogeneous.
    moved = scale * y + shift
    assert ks_distance_between_groups(moved, sensitive_features=s) == pytest.approx(ks, abs=1e-12)
    assert wasserstein_distance_between_groups(moved, sensitive_features=s) == pytest.approx(
        scale * w1, rel=1e-6, abs=1e-6 * scale * (1 + np.abs(y).max())
    )
    # Swapping the group labels changes nothing.
    assert ks_distance_between_groups(y, sensitive_features=1 - s) == ks
    # W1 is at least the gap between the means (Jensen), and KS is the scipy statistic.
    assert w1 >= abs(np.mean(a) - np.mean(b)) - 1e-9 * (1 + np.abs(y).max())
    assert ks == pytest.approx(scipy_ks(a, b), abs=1e-12)
