"""fairerm.plotting on inputs at the edge: undefined rates, non-finite or misshapen Pareto inputs."""

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from fairerm.exceptions import FairermTypeError, FairermValueError  # noqa: E402
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


# ------------------------------------------------------------------ a DataFrame column called "name"
def test_group_rates_with_a_one_column_dataframe_named_name():
    import pandas as pd

    y, p = [1, 0, 1, 0, 1, 0], [1, 0, 0, 0, 1, 1]
    groups = pd.DataFrame({"name": ["a", "a", "b", "b", "c", "c"]})
    ax = plot_group_rates(y, p, sensitive_features=groups)
    assert ax.get_legend().get_title().get_text() == "group"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a (n=2)", "b (n=2)", "c (n=2)"]


# ------------------------------------------------------------------ complex input and the threshold
def _complex_message(name):
    """The regression metrics' wording for complex input (fairerm.metrics._regression.check_predictions)."""
    from fairerm.metrics._regression import check_predictions

    with pytest.raises(FairermValueError) as caught:
        check_predictions(np.array([1.0 + 0j, 2.0]), name=name)
    return str(caught.value)


@pytest.mark.parametrize("imaginary", [5.0, 0.0])  # refused even with zero imaginary parts, as check_predictions
def test_complex_input_is_refused_as_the_regression_metrics_refuse_it(imaginary):
    from fairerm.plotting import plot_group_score_distributions

    z = np.array([0.8 + imaginary * 1j, 0.9 - imaginary * 1j, 0.7])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning either: refused before any cast
        for call, name in [(lambda: pareto_mask(z, [0.1, 0.2, 0.3]), "accuracy"),
                           (lambda: pareto_mask([0.8, 0.9, 0.7], list(z)), "unfairness"),
                           (lambda: ParetoFrontDisplay([0.1, 0.2, 0.3], [0.8, 0.9, 0.7], z), "param_values"),
                           (lambda: plot_group_score_distributions(z, sensitive_features=["a", "b", "a"]), "scores")]:
            with pytest.raises(FairermValueError) as caught:
                call()
            assert str(caught.value) == _complex_message(name)
        with pytest.raises(FairermValueError, match=r"Complex data not supported: reference_points\['SVM'\]"):
            ParetoFrontDisplay([0.1, 0.2], [0.8, 0.9], [0, 1], reference_points={"SVM": (0.2 + 1j * imaginary, 0.8)})


def test_none_scores_and_points_are_refused_by_name():
    from fairerm.plotting import plot_group_score_distributions

    with pytest.raises(FairermValueError, match="scores is required; got None"):
        plot_group_score_distributions(None, sensitive_features=["a", "b"])
    with pytest.raises(FairermValueError, match="accuracy is required; got None"):
        pareto_mask(None, [0.1])


@pytest.mark.parametrize("threshold, exc, word", [
    (np.nan, FairermValueError, "threshold must be finite"),
    (np.inf, FairermValueError, "threshold must be finite"),
    ("0", FairermTypeError, "threshold must be a Real; got '0'"),
    (True, FairermTypeError, "threshold must be a Real"),
    (1 + 0j, FairermTypeError, "threshold must be a Real"),
])
def test_threshold_must_be_a_finite_real_number(threshold, exc, word):
    from fairerm.plotting import plot_group_score_distributions

    with pytest.raises(exc, match=word):
        plot_group_score_distributions([0.1, 0.5, 0.9, 0.3], sensitive_features=["a", "b", "a", "b"],
                                       threshold=threshold)


@pytest.mark.parametrize("threshold, label", [(0, "threshold 0"), (np.float32(0.5), "threshold 0.5"),
                                              (np.int64(1), "threshold 1")])
def test_threshold_numbers_still_draw_the_line(threshold, label):
    from fairerm.plotting import plot_group_score_distributions

    ax = plot_group_score_distributions([0.1, 0.5, 0.9, 0.3], sensitive_features=["a", "b", "a", "b"], kind="ecdf",
                                        threshold=threshold)
    line = ax.get_lines()[-1]
    assert line.get_label() == label and list(line.get_xdata()) == [float(threshold)] * 2
