"""fairerm.plotting on inputs at the edge: undefined rates, non-finite or misshapen Pareto inputs."""

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from fairerm.exceptions import FairermValueError  # noqa: E402
from fairerm.plotting import ParetoFrontDisplay, pareto_mask, plot_group_rates  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# ------------------------------------------------------------------ plot_group_rates: undefined gaps
def test_group_rates_title_says_a_gap_is_undefined_naming_the_group():
    """Group b has no positive example (its TPR is undefined) and group a no negative one (FPR undefined):
    the title must not report a gap of 0 computed from the one defined value."""
    y, p, s = [1, 1, 0, 0], [1, 0, 1, 0], ["a", "a", "b", "b"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        title = plot_group_rates(y, p, sensitive_features=s).get_title()
    assert "tpr gap 0.000" not in title and "fpr gap 0.000" not in title
    assert "tpr gap undefined (no tpr for group b)" in title
    assert "fpr gap undefined (no fpr for group a)" in title
    assert "selection_rate gap 0.000" in title  # defined in both groups, and equal: a true 0


def test_group_rates_title_undefined_in_every_group_and_defined_gap_kept():
    y, p, s = [1, 1, 1, 1], [1, 0, 1, 1], ["a", "a", "b", "b"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "All-NaN slice" RuntimeWarning
        title = plot_group_rates(y, p, sensitive_features=s, rates=("tpr", "fpr"), pos_label=1).get_title()
    assert "tpr gap 0.500" in title
    assert "fpr gap undefined (no fpr for groups a, b)" in title


# ------------------------------------------------------------------ pareto_mask / ParetoFrontDisplay
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_pareto_mask_refuses_non_finite_values_naming_the_argument(bad):
    with pytest.raises(FairermValueError, match=r"accuracy contains NaN or infinite values at points \[0\]"):
        pareto_mask([bad, 0.9, 0.8], [0.1, 0.2, 0.3])
    with pytest.raises(FairermValueError, match=r"unfairness contains NaN or infinite values at points \[2\]"):
        pareto_mask([0.7, 0.9, 0.8], [0.1, 0.2, bad])


def test_pareto_mask_refuses_input_that_is_not_1d():
    with pytest.raises(FairermValueError, match=r"accuracy must be 1-D \(one value per point\); got shape \(2, 2\)"):
        pareto_mask(np.ones((2, 2)), np.ones(4))
    with pytest.raises(FairermValueError, match=r"unfairness must be 1-D .*got shape \(\)"):
        pareto_mask([0.5], 0.1)


def test_pareto_mask_refuses_non_numbers():
    with pytest.raises(TypeError, match="accuracy must hold numbers"):
        pareto_mask(["high", "low"], [0.1, 0.2])


def test_pareto_mask_still_takes_lists_series_and_no_points():
    import pandas as pd

    assert pareto_mask(pd.Series([0.8, 0.9, 0.7]), [0.1, 0.2, 0.3]).tolist() == [True, True, False]
    assert pareto_mask([], []).tolist() == []


def test_pareto_display_refuses_nan_and_2d_input():
    with pytest.raises(FairermValueError, match=r"unfairness contains NaN or infinite values at points \[1\]"):
        ParetoFrontDisplay([0.1, np.nan, 0.3], [0.8, 0.9, 0.7], [0, 1, 2])
    with pytest.raises(FairermValueError, match=r"param_values contains NaN or infinite values at points \[2\]"):
        ParetoFrontDisplay([0.1, 0.2, 0.3], [0.8, 0.9, 0.7], [0, 1, np.nan])
    with pytest.raises(FairermValueError, match=r"accuracy must be 1-D .*got shape \(1, 3\)"):
        ParetoFrontDisplay([0.1, 0.2, 0.3], [[0.8, 0.9, 0.7]], [0, 1, 2])
    with pytest.raises(FairermValueError, match="inconsistent numbers of samples"):
        ParetoFrontDisplay([0.1, 0.2], [0.8, 0.9, 0.7], [0, 1, 2])
    display = ParetoFrontDisplay([0.1, 0.2, 0.3], [0.8, 0.9, 0.7], [0, 1, 2]).plot()
    assert display.on_front_.tolist() == [True, True, False]
