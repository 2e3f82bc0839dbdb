"""fairerm.metrics (and the shared checks of fairerm._validation) on bad or edge-case inputs: the
messages name the argument, what was received and what is allowed."""

import warnings

import numpy as np
import pandas as pd
import pytest

from fairerm._validation import check_sample_weight
from fairerm.exceptions import FairermTypeError, FairermValueError
from fairerm.metrics import (demographic_parity_difference, equal_opportunity_difference, fairness_summary,
                             group_table)

Y = [1, 0, 1, 0, 1, 0]
P = [1, 1, 0, 0, 1, 0]
S = ["a", "a", "b", "b", "c", "c"]
METRICS = [equal_opportunity_difference, demographic_parity_difference, fairness_summary, group_table]


# ------------------------------------------------------------------ group_table: a group of zero weight
def test_group_table_with_a_zero_weight_group_gives_nan_rates_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # was: three "invalid value encountered in divide" RuntimeWarnings
        table = group_table(Y, P, sensitive_features=S, sample_weight=[1, 1, 1, 1, 0, 0])
    assert table.loc["c", "count"] == 0 and table.loc["c", "proportion"] == 0
    for rate in ("base_rate", "selection_rate", "accuracy", "tpr", "fpr", "precision"):
        assert np.isnan(table.loc["c", rate]), rate
    assert table.loc["a", "selection_rate"] == 1.0 and table.loc["b", "accuracy"] == 0.5
    np.testing.assert_allclose(table["proportion"], [0.5, 0.5, 0.0])


def test_group_table_rates_unchanged_for_positive_weights():
    w = [1.0, 2.0, 3.0, 1.0, 2.0, 0.5]
    table = group_table(Y, P, sensitive_features=S, sample_weight=w)
    np.testing.assert_allclose(table["selection_rate"], [1.0, 0.0, 2 / 2.5])
    np.testing.assert_allclose(table["base_rate"], [1 / 3, 0.75, 2 / 2.5])
    np.testing.assert_allclose(table["accuracy"], [1 / 3, 0.25, 1.0])


# ------------------------------------------------------------------ sample_weight
@pytest.mark.parametrize("metric", METRICS)
def test_wrong_length_weights_name_what_they_are_compared_with(metric):
    """The metrics take no X: the length is that of y_true (was "... but X has 6 samples")."""
    with pytest.raises(FairermValueError, match=r"^sample_weight has 5 entries but y_true has 6 samples; they "
                                                r"must have the same length\.$"):
        metric(Y, P, sensitive_features=S, sample_weight=[1] * 5)


def test_other_functions_without_x_name_their_reference():
    from fairerm.metrics import bootstrap_ci, ks_distance_between_groups
    from fairerm.plotting import plot_group_score_distributions

    values = np.arange(6.0)
    with pytest.raises(FairermValueError, match=r"sample_weight has 5 entries but y_pred has 6 samples"):
        ks_distance_between_groups(values, sensitive_features=S, sample_weight=np.ones(5))
    with pytest.raises(FairermValueError, match=r"sensitive_features has 5 entries but y_pred has 6 samples"):
        ks_distance_between_groups(values, sensitive_features=S[:5])
    with pytest.raises(FairermValueError, match=r"sample_weight has 5 entries but y_true has 6 samples"):
        bootstrap_ci(equal_opportunity_difference, Y, P, sensitive_features=S, sample_weight=np.ones(5))
    with pytest.raises(FairermValueError, match=r"sensitive_features has 5 entries but y_true has 6 samples"):
        bootstrap_ci(equal_opportunity_difference, Y, P, sensitive_features=S[:5])
    with pytest.raises(FairermValueError, match=r"sensitive_features has 5 entries but scores has 6 samples"):
        plot_group_score_distributions(values, sensitive_features=S[:5])


def test_estimators_still_compare_weights_with_x():
    with pytest.raises(FairermValueError, match="sample_weight has 5 entries but X has 6 samples"):
        check_sample_weight(np.ones(5), 6)


@pytest.mark.parametrize("flag", [True, False, np.True_, np.bool_(False)])
@pytest.mark.parametrize("metric", METRICS)
def test_a_boolean_is_not_a_weight(metric, flag):
    with pytest.raises(FairermTypeError, match=rf"sample_weight must be a number or one weight per sample; got the "
                                               rf"boolean {flag!r}, which is not a weight"):
        metric(Y, P, sensitive_features=S, sample_weight=flag)


def test_boolean_arrays_stay_0_1_weights_and_numbers_broadcast():
    mask = np.array([True, True, True, True, False, False])
    np.testing.assert_array_equal(check_sample_weight(mask, 6), [1, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(check_sample_weight(2, 3), [2.0, 2.0, 2.0])
    assert demographic_parity_difference(Y, P, sensitive_features=S, sample_weight=2.0) == pytest.approx(
        demographic_parity_difference(Y, P, sensitive_features=S))


# ------------------------------------------------------------------ missing labels
@pytest.mark.parametrize("name", ["y_true", "y_pred"])
@pytest.mark.parametrize("missing", [np.nan, None, pd.NA])
def test_a_missing_label_is_said_as_a_label_not_a_group(name, missing):
    values = pd.Series([1, 0, missing, 0, 1, 0], dtype=float if missing is np.nan else object)
    args = {"y_true": Y, "y_pred": P, name: values}
    with pytest.raises(FairermValueError, match=rf"^{name} contains .* at rows \[2\]; every sample needs a label") \
            as info:
        demographic_parity_difference(args["y_true"], args["y_pred"], sensitive_features=S)
    assert "group" not in str(info.value)


def test_nan_in_y_true_array_says_label():
    with pytest.raises(FairermValueError, match=r"y_true contains NaN or infinite values at rows \[2\]; every "
                                                r"sample needs a label \(NaN is not a class\)\. Drop those rows"):
        demographic_parity_difference([1, 0, np.nan, 0, 1, 0], P, sensitive_features=S)


def test_missing_group_keeps_the_group_wording():
    with pytest.raises(FairermValueError, match=r"sensitive_features contains missing values \(NaN/None\) at rows "
                                                r"\[1\]; every sample needs a group"):
        demographic_parity_difference(Y, P, sensitive_features=["a", None, "b", "b", "c", "c"])
    frame = pd.DataFrame({"sex": ["F", "M"] * 3, "race": ["A", "A", np.nan, "B", "B", "B"]})
    with pytest.raises(FairermValueError, match=r"sensitive_features column 'race' .* needs a group in every column"):
        group_table(Y, P, sensitive_features=frame)
