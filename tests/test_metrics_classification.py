"""Classification fairness metrics against fairlearn, scikit-learn and closed forms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn import metrics as flm
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, confusion_matrix

from fairerm.exceptions import FairermTypeError, FairermValueError
from fairerm.metrics import (
    demographic_parity_difference,
    equal_opportunity_difference,
    equalized_odds_difference,
    fairness_summary,
    group_table,
)

LABEL_SETS = {
    "01": (0, 1),
    "pm1": (-1, 1),
    "strings": ("bad", "good"),
    "ints_3_7": (3, 7),
}


def random_problem(seed: int, n_groups: int, n: int = 300, labels=(0, 1)):
    """Random labels and predictions where every group has both true classes."""
    rng = np.random.default_rng(seed)
    while True:
        groups = rng.integers(0, n_groups, size=n)
        y01 = (rng.random(n) < rng.uniform(0.2, 0.8)).astype(int)
        # predictions correlated with y and with the group, so that the gaps are not all zero
        flip = rng.random(n) < (0.1 + 0.3 * groups / max(n_groups - 1, 1))
        p01 = np.where(flip, 1 - y01, y01)
        ok = all(len(np.unique(y01[groups == g])) == 2 for g in range(n_groups))
        if ok:
            break
    lab = np.array(labels, dtype=object if isinstance(labels[0], str) else None)
    return lab[y01], lab[p01], groups, y01, p01


FAIRLEARN = {
    equal_opportunity_difference: flm.equal_opportunity_difference,
    demographic_parity_difference: flm.demographic_parity_difference,
    equalized_odds_difference: flm.equalized_odds_difference,
}


@pytest.mark.parametrize("metric", list(FAIRLEARN), ids=lambda f: f.__name__)
@pytest.mark.parametrize("n_groups", [2, 3, 5])
@pytest.mark.parametrize("labels", list(LABEL_SETS), ids=str)
@pytest.mark.parametrize("container", ["numpy", "pandas", "list"])
def test_agrees_with_fairlearn(metric, n_groups, labels, container):
    y, p, s, y01, p01 = random_problem(seed=n_groups * 31 + len(labels), n_groups=n_groups, labels=LABEL_SETS[labels])
    group_names = np.array(["grp_" + "abcdefg"[g] for g in s])  # string group labels
    if container == "pandas":
        y, p, s_in = pd.Series(y, name="y"), pd.Series(p), pd.Series(group_names, name="race")
    elif container == "list":
        y, p, s_in = list(y), list(p), list(s)
    else:
        s_in = group_names
    expected = FAIRLEARN[metric](y01, p01, sensitive_features=s)  # fairlearn on the 0/1 mapping
    assert metric(y, p, sensitive_features=s_in) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("metric", list(FAIRLEARN), ids=lambda f: f.__name__)
def test_pos_label_switches_the_positive_class(metric):
    y, p, s, y01, p01 = random_problem(seed=7, n_groups=3, labels=("no", "yes"))
    expected = FAIRLEARN[metric](1 - y01, 1 - p01, sensitive_features=s)
    assert metric(y, p, sensitive_features=s, pos_label="no") == pytest.approx(expected, abs=1e-12)
    # default positive class is the larger label, "yes"
    assert metric(y, p, sensitive_features=s) == pytest.approx(
        FAIRLEARN[metric](y01, p01, sensitive_features=s), abs=1e-12
    )


def test_two_group_closed_forms():
    # group a: positives at 0,1,2 predicted 1,1,0 -> TPR 2/3; negatives 3,4 predicted 1,0 -> FPR 1/2
    # group b: positives at 5,6 predicted 0,1 -> TPR 1/2; negatives 7,8,9 predicted 0,0,0 -> FPR 0
    y = [1, 1, 1, 0, 0, 1, 1, 0, 0, 0]
    p = [1, 1, 0, 1, 0, 0, 1, 0, 0, 0]
    s = ["a"] * 5 + ["b"] * 5
    assert equal_opportunity_difference(y, p, sensitive_features=s) == pytest.approx(2 / 3 - 1 / 2)
    assert demographic_parity_difference(y, p, sensitive_features=s) == pytest.approx(3 / 5 - 1 / 5)
    assert equalized_odds_difference(y, p, sensitive_features=s) == pytest.approx(max(2 / 3 - 1 / 2, 1 / 2))


def test_multigroup_is_largest_pairwise_gap():
    y, p, s, y01, p01 = random_problem(seed=3, n_groups=4)
    tpr = {g: np.mean(p01[(s == g) & (y01 == 1)]) for g in range(4)}
    pairwise = max(abs(tpr[a] - tpr[b]) for a in range(4) for b in range(4))
    assert equal_opportunity_difference(y, p, sensitive_features=s) == pytest.approx(pairwise)


def test_group_table_matches_sklearn_confusion_matrix_per_group():
    y, p, s, y01, p01 = random_problem(seed=11, n_groups=3, labels=("neg", "pos"))
    names = pd.Series(np.array(["x", "y", "z"])[s], name="group_name")
    table = group_table(y, p, sensitive_features=names)
    assert list(table.index) == ["x", "y", "z"]
    assert table.index.name == "group_name"
    for g, name in enumerate(["x", "y", "z"]):
        mask = s == g
        tn, fp, fn, tp = confusion_matrix(y01[mask], p01[mask], labels=[0, 1]).ravel()
        row = table.loc[name]
        assert (row["tp"], row["fp"], row["tn"], row["fn"]) == (tp, fp, tn, fn)
        assert row["count"] == mask.sum()
        assert row["proportion"] == pytest.approx(mask.mean())
        assert row["positives"] == y01[mask].sum()
        assert row["base_rate"] == pytest.approx(y01[mask].mean())
        assert row["selection_rate"] == pytest.approx(p01[mask].mean())
        assert row["tpr"] == pytest.approx(tp / (tp + fn))
        assert row["fpr"] == pytest.approx(fp / (fp + tn))
        assert row["fnr"] == pytest.approx(1 - tp / (tp + fn))
        assert row["tnr"] == pytest.approx(tn / (fp + tn))
        assert row["precision"] == pytest.approx(tp / (tp + fp))
        assert row["accuracy"] == pytest.approx(accuracy_score(y01[mask], p01[mask]))


def test_group_table_agrees_with_fairlearn_metricframe():
    y, p, s, y01, p01 = random_problem(seed=5, n_groups=4)
    frame = flm.MetricFrame(
        metrics={"selection_rate": flm.selection_rate, "tpr": flm.true_positive_rate, "fpr": flm.false_positive_rate},
        y_true=y01,
        y_pred=p01,
        sensitive_features=s,
    )
    table = group_table(y, p, sensitive_features=s)
    for column in ["selection_rate", "tpr", "fpr"]:
        np.testing.assert_allclose(table[column].to_numpy(), frame.by_group[column].to_numpy(), atol=1e-12)


def test_group_table_undefined_rate_is_nan_and_difference_raises():
    y = [1, 0, 1, 0, 0, 0]
    p = [1, 0, 0, 1, 0, 1]
    s = ["a", "a", "a", "b", "b", "b"]  # group b has no positive example
    table = group_table(y, p, sensitive_features=s)
    assert np.isnan(table.loc["b", "tpr"])
    assert table.loc["b", "fpr"] == pytest.approx(2 / 3)
    undefined = r"true-positive rate is undefined for sensitive_features group\(s\) \['b'\]"
    with pytest.raises(FairermValueError, match=undefined):
        equal_opportunity_difference(y, p, sensitive_features=s)
    with pytest.raises(ValueError, match="sensitive_features"):
        equalized_odds_difference(y, p, sensitive_features=s)
    # demographic parity needs no positive example
    assert demographic_parity_difference(y, p, sensitive_features=s) == pytest.approx(2 / 3 - 1 / 3)


def test_fairness_summary_matches_the_individual_metrics():
    y, p, s, y01, p01 = random_problem(seed=19, n_groups=3, labels=(-1, 1))
    summary = fairness_summary(y, p, sensitive_features=s)
    assert summary["accuracy"] == pytest.approx(accuracy_score(y01, p01))
    for name in ("equal_opportunity_difference", "demographic_parity_difference", "equalized_odds_difference"):
        reference = getattr(flm, name)(y01, p01, sensitive_features=s)
        assert summary[name] == pytest.approx(reference), name
    assert summary["n_groups"] == 3


def test_dataframe_sensitive_features_make_intersectional_groups():
    y, p, s, y01, p01 = random_problem(seed=23, n_groups=4)
    frame = pd.DataFrame({"sex": s % 2, "race": s // 2})
    assert equal_opportunity_difference(y, p, sensitive_features=frame) == pytest.approx(
        flm.equal_opportunity_difference(y01, p01, sensitive_features=s)
    )


def test_one_class_y_true_needs_pos_label():
    y, p, s = [1, 1, 1, 1], [1, 0, 1, 1], ["a", "a", "b", "b"]
    with pytest.raises(FairermValueError, match="pos_label"):
        demographic_parity_difference(y, p, sensitive_features=s)
    assert demographic_parity_difference(y, p, sensitive_features=s, pos_label=1) == pytest.approx(0.5)
    assert equal_opportunity_difference(y, p, sensitive_features=s, pos_label=1) == pytest.approx(0.5)


# ---------------------------------------------------------------- errors
ALL_METRICS = [equal_opportunity_difference, demographic_parity_difference, equalized_odds_difference,
               group_table, fairness_summary]


@pytest.mark.parametrize("metric", ALL_METRICS, ids=lambda f: f.__name__)
def test_mismatched_lengths(metric):
    with pytest.raises(FairermValueError, match=r"y_true has 4, y_pred has 3"):
        metric([0, 1, 0, 1], [0, 1, 1], sensitive_features=[0, 0, 1, 1])
    with pytest.raises(FairermValueError, match=r"sensitive_features has 3"):
        metric([0, 1, 0, 1], [0, 1, 1, 1], sensitive_features=[0, 0, 1])


@pytest.mark.parametrize("metric", ALL_METRICS, ids=lambda f: f.__name__)
def test_missing_values(metric):
    with pytest.raises(FairermValueError, match="y_true contains NaN"):
        metric([0, 1, np.nan, 1], [0, 1, 1, 1], sensitive_features=[0, 0, 1, 1])
    with pytest.raises(FairermValueError, match="y_pred contains missing"):
        metric([0, 1, 0, 1], pd.Series([0, 1, None, 1]), sensitive_features=[0, 0, 1, 1])
    with pytest.raises(FairermValueError, match="sensitive_features contains missing"):
        metric([0, 1, 0, 1], [0, 1, 1, 1], sensitive_features=pd.Series(["a", None, "b", "b"]))


@pytest.mark.parametrize("metric", ALL_METRICS, ids=lambda f: f.__name__)
def test_one_group(metric):
    with pytest.raises(FairermValueError, match=r"sensitive_features has 1 distinct group"):
        metric([0, 1, 0, 1], [0, 1, 1, 1], sensitive_features=["a"] * 4)


@pytest.mark.parametrize("metric", ALL_METRICS, ids=lambda f: f.__name__)
def test_non_binary_targets(metric):
    with pytest.raises(FairermValueError, match=r"y_true must hold two classes.*got 3: \[0, 1, 2\]"):
        metric([0, 1, 2, 1], [0, 1, 1, 1], sensitive_features=[0, 0, 1, 1])
    with pytest.raises(FairermValueError, match=r"y_pred holds labels \[5\]"):
        metric([0, 1, 0, 1], [0, 1, 5, 1], sensitive_features=[0, 0, 1, 1])
    with pytest.raises(FairermValueError, match=r"y_pred holds labels \['1'\]"):
        metric(["0", "x", "0", "x"], ["0", "1", "0", "x"], sensitive_features=[0, 0, 1, 1])
    with pytest.raises(FairermValueError, match=r"pos_label=2 is not one of the classes \[0, 1\]"):
        metric([0, 1, 0, 1], [0, 1, 1, 1], sensitive_features=[0, 0, 1, 1], pos_label=2)
    with pytest.raises(FairermValueError, match=r"y_true must hold two classes.*got 4"):
        metric([0.1, 0.5, 0.7, 0.9], [0, 1, 1, 1], sensitive_features=[0, 0, 1, 1])


def test_unorderable_label_types():
    with pytest.raises(FairermTypeError, match="y_true mixes label types"):
        mixed = np.array([0, "a", 0, "a"], dtype=object)
        demographic_parity_difference(mixed, [0, 0, 0, 0], sensitive_features=[0, 0, 1, 1])


def test_numeric_predictions_of_other_dtype_are_accepted():
    # float predictions for int targets, bool predictions for 0/1 targets: same values, same classes
    y, p, s, y01, p01 = random_problem(seed=29, n_groups=2)
    expected = flm.equalized_odds_difference(y01, p01, sensitive_features=s)
    assert equalized_odds_difference(y01, p01.astype(float), sensitive_features=s) == pytest.approx(expected)
    assert equalized_odds_difference(y01, p01.astype(bool), sensitive_features=s) == pytest.approx(expected)


# ---------------------------------------------------------------- properties
@st.composite
def binary_problems(draw):
    n = draw(st.integers(4, 60))
    n_groups = draw(st.integers(2, 4))
    groups = draw(st.lists(st.integers(0, n_groups - 1), min_size=n, max_size=n))
    y = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    p = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    return np.array(y), np.array(p), np.array(groups)


def _defined(y, s):
    groups = np.unique(s)
    return len(groups) >= 2 and len(np.unique(y)) == 2 and all(len(np.unique(y[s == g])) == 2 for g in groups)


@settings(max_examples=150, deadline=None)
@given(binary_problems())
def test_property_values_in_unit_interval_and_ordering(problem):
    y, p, s = problem
    if not _defined(y, s):
        return
    deo = equal_opportunity_difference(y, p, sensitive_features=s)
    ddp = demographic_parity_difference(y, p, sensitive_features=s)
    eod = equalized_odds_difference(y, p, sensitive_features=s)
    for value in (deo, ddp, eod):
        assert 0.0 <= value <= 1.0
    assert eod >= deo  # equalized odds takes the max of the TPR gap and the FPR gap
    # swapping the roles of the two classes swaps TPR and TNR = 1 - FPR: equalized odds is unchanged
    assert equalized_odds_difference(1 - y, 1 - p, sensitive_features=s) == pytest.approx(eod)
    # complementing the predictions leaves the selection-rate gap unchanged
    assert demographic_parity_difference(y, 1 - p, sensitive_features=s) == pytest.approx(ddp)
    # perfect predictions satisfy equal opportunity and equalized odds exactly
    assert equalized_odds_difference(y, y, sensitive_features=s) == 0.0


@settings(max_examples=100, deadline=None)
@given(binary_problems(), st.permutations(range(4)))
def test_property_invariant_to_group_relabelling(problem, perm):
    y, p, s = problem
    if not _defined(y, s):
        return
    relabelled = np.array([f"g{perm[g]}" for g in s])
    for metric in (equal_opportunity_difference, demographic_parity_difference, equalized_odds_difference):
        assert metric(y, p, sensitive_features=relabelled) == pytest.approx(metric(y, p, sensitive_features=s))


# ---------------------------------------------------------------- the group index is named only after pandas names
class _NamedList(list):
    """A list that happens to have a ``name`` attribute (not a label of the groups)."""

    name = ["not", "a", "label"]


def test_group_table_one_column_dataframe_named_name_gives_the_usual_index():
    y, p, s, _, _ = random_problem(seed=41, n_groups=3)
    labels = np.array(["a", "b", "c"])[s]
    usual = group_table(y, p, sensitive_features=pd.DataFrame({"nom": labels}))
    # a DataFrame's attribute .name is its column "name" (a Series): it must not become the index name
    table = group_table(y, p, sensitive_features=pd.DataFrame({"name": labels}))
    pd.testing.assert_frame_equal(table, usual)
    assert table.index.name == "group" and table.index.tolist() == ["a", "b", "c"]
    assert group_table(y, p, sensitive_features=_NamedList(labels)).index.name == "group"
    # named pandas objects still name the index
    assert group_table(y, p, sensitive_features=pd.Series(labels, name="sex")).index.name == "sex"
    assert group_table(y, p, sensitive_features=pd.Index(labels, name="race")).index.name == "race"


# ---------------------------------------------------------------- the default positive class
def test_default_pos_label_is_the_larger_label_that_classifiers_predict_for_positive_scores():
    """Labels {1, 2} (German credit's coding): the default positive class is 2, the larger label in sorted order,
    which is classes_[1] of fairerm's classifiers (predicted where the decision function is positive); it is
    not scikit-learn's metrics' pos_label=1, and the docstrings say so."""
    from fairerm import FairLinearSVC
    from fairerm.plotting import plot_group_rates

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    s = np.where(rng.random(300) < 0.5, "a", "b")
    y = np.where(X[:, 0] + 0.5 * rng.normal(size=300) > 0, 2, 1)
    model = FairLinearSVC().fit(X, y, sensitive_features=s)
    pred = model.predict(X)
    assert model.classes_[1] == 2 and set(pred[model.decision_function(X) > 0]) == {2}
    for metric in FAIRLEARN:
        default = metric(y, pred, sensitive_features=s)
        assert default == metric(y, pred, sensitive_features=s, pos_label=model.classes_[1])
    table = group_table(y, pred, sensitive_features=s)
    np.testing.assert_allclose(table["tpr"], [np.mean(pred[(s == g) & (y == 2)] == 2) for g in ("a", "b")])
    for function in (equal_opportunity_difference, plot_group_rates):  # the others refer to the first
        doc = " ".join(function.__doc__.split())
        assert "larger of the two labels in sorted order" in doc and "classes_[1]" in doc
        assert "as in scikit-learn" not in doc and "pos_label=1" in doc
