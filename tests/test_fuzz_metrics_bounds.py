"""Property-based fuzzing of the fairness metrics and of the generalization bounds (issue 11).

Metrics: every gap in [0, 1] and equal to the same gap recomputed here with plain numpy (and
scipy's ``ks_2samp`` / ``wasserstein_distance`` for the distribution distances), or a
ValueError/TypeError naming an argument. Bounds: every reported number finite, the bounds above
the empirical values, risk and rate bounds in [0, 1], or an error naming an argument.
Profiles and tally: see tests/fuzz_helpers.py and tests/test_fuzz_estimators.py.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import strategies as st
from scipy.stats import ks_2samp, wasserstein_distance
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from fairerm.bounds import generalization_report
from fairerm.metrics import (
    demographic_parity_difference,
    equal_opportunity_difference,
    equalized_odds_difference,
    ks_distance_between_groups,
    wasserstein_distance_between_groups,
)
from fuzz_helpers import CI, INVARIANTS, QUICK, check_error, hostile_classification, record, run_property

_METRIC_ARGUMENTS = {"y_true", "y_pred", "sensitive_features", "pos_label"}


def _rate_gap(event, condition, s):
    rates = [event[condition & (s == g)].mean() for g in np.unique(s)]
    return max(rates) - min(rates)


for _name in ("equal_opportunity_difference", "demographic_parity_difference", "equalized_odds_difference"):
    INVARIANTS[_name] = "in [0, 1]; equal to max-min of the per-group rates recomputed with numpy"
INVARIANTS["equalized_odds_difference"] += "; = max(TPR gap, FPR gap)"


def _classification_metrics_property(data):
    X, y_true, s = data.draw(hostile_classification(), label="data")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="prediction seed"))
    classes = np.unique(y_true)
    y_pred = classes[rng.integers(0, classes.size, size=y_true.shape[0])]
    if data.draw(st.integers(0, 9), label="foreign prediction label") == 0:
        y_pred = y_pred.astype(object)
        y_pred[0] = "unexpected"
    pos_label = data.draw(st.sampled_from([None, "first class", "last class"]), label="pos_label")
    pos = None if pos_label is None else (classes[0] if pos_label == "first class" else classes[-1])
    positive = classes[-1] if pos is None else pos
    metrics = {
        "DEO": (equal_opportunity_difference,
                lambda: _rate_gap(y_pred == positive, y_true == positive, s)),
        "DDP": (demographic_parity_difference,
                lambda: _rate_gap(y_pred == positive, np.ones(len(s), dtype=bool), s)),
        "EOdds": (equalized_odds_difference,
                  lambda: max(_rate_gap(y_pred == positive, y_true == positive, s),
                              _rate_gap(y_pred == positive, y_true != positive, s))),
    }
    for name, (metric, reference) in metrics.items():
        entry = metric.__name__
        try:
            value = metric(y_true, y_pred, sensitive_features=s, pos_label=pos)
        except Exception as exc:  # noqa: BLE001
            check_error(entry, exc, _METRIC_ARGUMENTS)
            continue
        assert 0.0 <= value <= 1.0 and np.isfinite(value), (name, value)
        np.testing.assert_allclose(value, reference(), atol=1e-12, err_msg=name)
        record(entry, "ok")


INVARIANTS["ks_distance_between_groups"] = "in [0, 1]; = max over pairs of groups of scipy's ks_2samp statistic"
INVARIANTS["wasserstein_distance_between_groups"] = ">= 0, finite; = max over pairs of scipy's wasserstein_distance"


def _distance_metrics_property(data):
    X, _, s = data.draw(hostile_classification(), label="data")
    kind = data.draw(st.sampled_from(["continuous", "ties", "constant", "nan"]), label="predictions")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="prediction seed"))
    y_pred = X[:, -1] + rng.normal(size=X.shape[0]) * np.abs(X).max()
    if kind == "ties":
        y_pred = np.round(y_pred / (np.abs(y_pred).max() + 1e-300))
    elif kind == "constant":
        y_pred = np.full(X.shape[0], X[0, 0])
    elif kind == "nan":
        y_pred[rng.integers(0, X.shape[0])] = np.nan
    groups = np.unique(s)
    for metric, reference in [(ks_distance_between_groups, lambda a, b: ks_2samp(a, b).statistic),
                              (wasserstein_distance_between_groups, wasserstein_distance)]:
        entry = metric.__name__
        try:
            value = metric(y_pred, sensitive_features=s)
        except Exception as exc:  # noqa: BLE001
            check_error(entry, exc, {"y_pred", "sensitive_features"})
            continue
        assert np.isfinite(value) and value >= 0.0
        if metric is ks_distance_between_groups:
            assert value <= 1.0
        expected = max(reference(y_pred[s == a], y_pred[s == b]) for a, b in itertools.combinations(groups, 2))
        np.testing.assert_allclose(value, expected, rtol=1e-9, atol=1e-12 * (1 + np.abs(y_pred).max()))
        record(entry, "ok")


INVARIANTS["generalization_report"] = ("all numbers finite (NaN only for the Monte Carlo columns when not asked); "
                                       "empirical_error <= risk_bound <= 1; empirical gaps <= their bounds; "
                                       "rate bound <= 1; error recomputed from the model's predictions")


def _bounds_property(data):
    X, y, s = data.draw(hostile_classification(n_min=4), label="data")
    labels = np.unique(y)
    # scikit-learn cannot fit one class or float labels: fit on alternating 0/1 labels instead, so the report
    # still receives this (X, y, s) and must refuse the labels that are not the model's, naming y.
    y_fit = y if labels.size == 2 and labels.dtype.kind != "f" else np.arange(len(y)) % 2
    learner = data.draw(st.sampled_from(["LinearSVC", "LogisticRegression"]), label="model")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = (LinearSVC(C=1.0, max_iter=2000) if learner == "LinearSVC" else LogisticRegression()).fit(X, y_fit)
    valid = data.draw(st.integers(0, 4), label="valid options") > 0
    delta = data.draw(st.sampled_from([0.05, 0.5, 1e-6] if valid else [0.0, 1.0, -0.1, float("nan")]), label="delta")
    margin = data.draw(st.sampled_from([1.0, 0.1, 10.0] if valid else [0.0, -1.0, 1.0]), label="margin")
    holdout = data.draw(st.booleans(), label="holdout")
    notion = data.draw(st.sampled_from([None, "equal_opportunity", "demographic_parity", "equalized_odds",
                                        "parity"]), label="notion")
    entry = "generalization_report"
    try:
        report = generalization_report(model, X, y, sensitive_features=s, delta=delta, margin=margin,
                                       holdout=holdout, notion=notion, method="rademacher")
    except Exception as exc:  # noqa: BLE001
        check_error(entry, exc, {"model", "X", "y", "sensitive_features", "delta", "margin", "notion", "holdout"})
        return
    values = report.to_dict()
    for key in ("empirical_error", "risk_bound", "empirical_fairness", "fairness_bound", "empirical_rate_gap",
                "rate_gap_bound", "weight_norm", "feature_bound"):
        assert np.isfinite(values[key]), (key, values[key])
    error = np.mean(model.predict(X) != y)
    np.testing.assert_allclose(values["empirical_error"], error, atol=1e-12)
    assert values["empirical_error"] <= values["risk_bound"] <= 1.0
    assert values["empirical_fairness"] <= values["fairness_bound"] + 1e-12
    assert values["empirical_rate_gap"] <= values["rate_gap_bound"] + 1e-12 and values["rate_gap_bound"] <= 1.0
    assert str(report)  # the printed table renders
    record(entry, "ok")


INVARIANTS["generalization_report (pac-bayes)"] = (
    "all numbers finite; risk bound in [0, 1], equal to its best statement, whose margin part is >= its "
    "empirical loss; each cell's rate interval ordered inside [0, 1], every N(0, I) rate statement >= its "
    "empirical loss; the failure probabilities of the events sum to delta; empirical error recomputed from predict")


def _pac_bayes_bounds_property(data):
    X, y, s = data.draw(hostile_classification(n_min=4), label="data")
    labels = np.unique(y)
    y_fit = y if labels.size == 2 and labels.dtype.kind != "f" else np.arange(len(y)) % 2
    learner = data.draw(st.sampled_from(["LinearSVC", "LogisticRegression"]), label="model")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = (LinearSVC(C=1.0, max_iter=2000) if learner == "LinearSVC" else LogisticRegression()).fit(X, y_fit)
    delta = data.draw(st.sampled_from([0.05, 0.5, 1e-6]), label="delta")
    prior = data.draw(st.sampled_from(["refit", None]), label="prior")
    fraction = data.draw(st.sampled_from([0.5, 0.1, 0.9]), label="prior_fraction")
    notion = data.draw(st.sampled_from([None, "demographic_parity", "equalized_odds"]), label="notion")
    entry = "generalization_report (pac-bayes)"
    try:
        report = generalization_report(model, X, y, sensitive_features=s, delta=delta, prior=prior,
                                       prior_fraction=fraction, notion=notion)
    except Exception as exc:  # noqa: BLE001
        check_error(entry, exc, {"model", "X", "y", "sensitive_features", "delta", "notion"})
        return
    values = report.to_dict()
    assert all(np.isfinite(v) for v in values.values()), values
    predicted = model.predict(X)
    np.testing.assert_allclose(values["empirical_error"], np.mean(predicted != y), atol=1e-12)
    assert 0.0 <= values["risk_bound"] <= 1.0 and 0.0 <= values["rate_gap_bound"] <= 1.0
    wrong = (predicted != y)
    table = report.statements
    risk = table[table["stratum"] == "(risk)"]
    best = risk.loc[risk["value"].idxmin()]
    assert values["risk_bound"] == pytest.approx(best["value"])
    assert best["deterministic_loss"] <= best["margin_bound"] + 1e-12  # on its rows, with its weights
    if not np.isfinite(best["binomial"]):  # the N(0, I) statement on all rows: the plain training error
        assert np.mean(wrong) <= values["risk_bound"] + 1e-12 or best["n"] < len(y)
    for row in report.cells.itertuples(index=False):
        assert 0.0 <= row.rate_lower_bound <= row.rate_upper_bound <= 1.0
    whole = table[(table["stratum"] != "(risk)") & (table["part"] == "N(0, I), whole cell")]
    assert (whole["deterministic_loss"] <= whole["margin_bound"] + 1e-12).all()
    assert sum(share for _, share in report.events) == pytest.approx(delta, rel=1e-9)
    assert str(report) and report.summary()
    record(entry, "ok")


_PROPERTIES = {
    "classification_metrics": _classification_metrics_property,
    "distance_metrics": _distance_metrics_property,
    "bounds": _bounds_property,
    "bounds_pac_bayes": _pac_bayes_bounds_property,
}


_ENTRIES = {
    "classification_metrics": ("equal_opportunity_difference", "demographic_parity_difference",
                               "equalized_odds_difference"),
    "distance_metrics": ("ks_distance_between_groups", "wasserstein_distance_between_groups"),
    "bounds": ("generalization_report",),
    "bounds_pac_bayes": ("generalization_report (pac-bayes)",),
}


@pytest.mark.parametrize("name", sorted(_PROPERTIES))
def test_fuzz_quick(name):
    run_property(_PROPERTIES[name], QUICK, _ENTRIES[name])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(_PROPERTIES))
def test_fuzz_ci(name):
    run_property(_PROPERTIES[name], CI, _ENTRIES[name])
