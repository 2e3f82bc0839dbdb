"""fairerm.metrics.bootstrap_ci: coverage on problems with a known truth, agreement with a bootstrap
computed by hand, and validation of the arguments."""

import functools

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score

from fairerm.exceptions import FairermTypeError, FairermValueError, FairermWarning
from fairerm.metrics import BootstrapCI, bootstrap_ci, equal_opportunity_difference


def _accuracy(y_true, y_pred):
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def _two_group_sample(rng, n, tpr=(0.8, 0.7)):
    """Groups a (60 %) and b, base rate 0.5, TPR_a = 0.8, TPR_b = 0.7: true DEO 0.1."""
    s = np.where(rng.random(n) < 0.6, "a", "b")
    y = (rng.random(n) < 0.5).astype(int)
    hit = rng.random(n) < np.where(s == "a", tpr[0], tpr[1])
    pred = np.where(y == 1, hit, rng.random(n) < 0.2).astype(int)
    return y, pred, s


def test_accuracy_interval_covers_the_true_accuracy_at_the_nominal_rate():
    # predictions right with probability 0.8, independently: the true accuracy is 0.8
    rng = np.random.default_rng(0)
    n, draws, covered = 300, 200, 0
    for seed in range(draws):
        y = rng.integers(0, 2, n)
        pred = np.where(rng.random(n) < 0.8, y, 1 - y)
        ci = bootstrap_ci(_accuracy, y, pred, n_resamples=300, random_state=seed)
        covered += ci.low <= 0.8 <= ci.high
    # nominal 0.95; binomial sd over 200 draws is 0.015, and the percentile interval is slightly short
    assert 0.88 <= covered / draws <= 0.99, covered / draws


def test_deo_interval_covers_the_true_gap_with_stratified_resampling():
    rng = np.random.default_rng(1)
    draws, covered, widths = 40, 0, []
    for seed in range(draws):
        y, pred, s = _two_group_sample(rng, 1000)
        ci = bootstrap_ci(equal_opportunity_difference, y, pred, sensitive_features=s, stratify=True,
                          n_resamples=150, random_state=seed)
        covered += ci.low <= 0.1 <= ci.high
        widths.append(ci.width)
    assert covered / draws >= 0.85, covered / draws
    # the interval's width is about 2 x 1.96 x sd of the TPR gap (sd about 0.033 here)
    assert 0.09 < np.median(widths) < 0.17, np.median(widths)


def test_agrees_with_a_bootstrap_computed_by_hand():
    rng = np.random.default_rng(2)
    y, pred, s = _two_group_sample(rng, 400)
    ci = bootstrap_ci(equal_opportunity_difference, y, pred, sensitive_features=s, n_resamples=50,
                      confidence=0.9, random_state=7)
    hand_rng = np.random.default_rng(7)
    values = []
    for _ in range(50):
        rows = hand_rng.integers(0, 400, size=400)
        values.append(equal_opportunity_difference(y[rows], pred[rows], sensitive_features=s[rows]))
    np.testing.assert_allclose(ci.distribution, values)
    assert ci.low == pytest.approx(np.quantile(values, 0.05)) and ci.high == pytest.approx(np.quantile(values, 0.95))
    assert ci.estimate == equal_opportunity_difference(y, pred, sensitive_features=s)
    assert (ci.n_resamples, ci.n_failed, ci.confidence, ci.stratified) == (50, 0, 0.9, False)


def test_stratified_agrees_with_a_hand_computed_stratified_bootstrap():
    rng = np.random.default_rng(3)
    y, pred, s = _two_group_sample(rng, 300)
    weights = rng.uniform(0.5, 2.0, 300)
    ci = bootstrap_ci(equal_opportunity_difference, y, pred, sensitive_features=s, sample_weight=weights,
                      stratify=True, n_resamples=30, random_state=11)
    hand_rng = np.random.default_rng(11)
    members = [np.flatnonzero(s == g) for g in ("a", "b")]
    values = []
    for _ in range(30):
        rows = np.concatenate([hand_rng.choice(m, size=m.size, replace=True) for m in members])
        assert np.sum(s[rows] == "a") == members[0].size  # every resample keeps the group sizes
        values.append(equal_opportunity_difference(y[rows], pred[rows], sensitive_features=s[rows],
                                                   sample_weight=weights[rows]))
    np.testing.assert_allclose(ci.distribution, values)
    assert ci.stratified


def test_metric_without_sensitive_keyword_and_pandas_inputs():
    rng = np.random.default_rng(4)
    y, pred, s = _two_group_sample(rng, 200)
    frame_y, frame_pred = pd.Series(y, index=np.arange(200) + 1000), pd.Series(pred, index=np.arange(200) + 1000)
    frame_s = pd.Series(s, index=np.arange(200) + 1000)
    # accuracy_score accepts sample_weight but not sensitive_features: only what it accepts is passed
    ci = bootstrap_ci(accuracy_score, frame_y, frame_pred, sensitive_features=frame_s, stratify=True,
                      n_resamples=20, random_state=0)
    assert ci.estimate == accuracy_score(y, pred)
    same = bootstrap_ci(accuracy_score, y, pred, sensitive_features=s, stratify=True, n_resamples=20, random_state=0)
    np.testing.assert_allclose(ci.distribution, same.distribution)  # pandas and numpy: same rows
    estimate, low, high = ci
    assert isinstance(ci, BootstrapCI) and low <= estimate <= high and "bootstrap" in str(ci)


def test_several_sensitive_columns_stratify_by_their_combinations():
    rng = np.random.default_rng(5)
    y, pred, s = _two_group_sample(rng, 400)
    groups = pd.DataFrame({"s": s, "t": np.where(rng.random(400) < 0.5, "x", "y")})
    ci = bootstrap_ci(equal_opportunity_difference, y, pred, sensitive_features=groups, stratify=True,
                      n_resamples=20, random_state=0)
    assert ci.estimate == equal_opportunity_difference(y, pred, sensitive_features=groups) and ci.n_failed == 0


def test_same_seed_same_interval_other_seed_other_draws():
    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, 100)
    pred = rng.integers(0, 2, 100)
    first = bootstrap_ci(_accuracy, y, pred, n_resamples=40, random_state=3)
    np.testing.assert_array_equal(first.distribution, bootstrap_ci(_accuracy, y, pred, n_resamples=40,
                                                                   random_state=3).distribution)
    assert not np.array_equal(first.distribution, bootstrap_ci(_accuracy, y, pred, n_resamples=40,
                                                               random_state=4).distribution)


def test_failed_resamples_are_counted_and_warned():
    # group b has one positive: some resamples miss it and its TPR is undefined
    y = np.array([1] * 30 + [0] * 30 + [1] + [0] * 9)
    pred = y.copy()
    s = np.array(["a"] * 60 + ["b"] * 10)
    with pytest.warns(FairermWarning, match="resamples"):
        ci = bootstrap_ci(equal_opportunity_difference, y, pred, sensitive_features=s, stratify=True,
                          n_resamples=100, random_state=0)
    assert 0 < ci.n_failed < 100 and ci.distribution.size == 100 - ci.n_failed


@pytest.mark.parametrize("kwargs, exc, word", [
    ({"metric": "accuracy"}, TypeError, "metric"),
    ({"n_resamples": 0}, ValueError, "n_resamples"),
    ({"n_resamples": 2.5}, ValueError, "n_resamples"),
    ({"confidence": 1.0}, ValueError, "confidence"),
    ({"confidence": 95}, ValueError, "confidence"),
    ({"stratify": "yes"}, TypeError, "stratify"),
    ({"stratify": True}, ValueError, "sensitive_features"),
    ({"y_pred": np.zeros(9)}, ValueError, "y_pred"),
    ({"sample_weight": -np.ones(10)}, ValueError, "sample_weight"),
    ({"sensitive_features": np.array(["a"] * 9)}, ValueError, "sensitive_features"),
])
def test_bad_arguments_are_refused_by_name(kwargs, exc, word):
    arguments = {"metric": _accuracy, "y_true": np.arange(10) % 2, "y_pred": np.arange(10) % 2}
    arguments.update(kwargs)
    metric, y_true, y_pred = arguments.pop("metric"), arguments.pop("y_true"), arguments.pop("y_pred")
    with pytest.raises(exc, match=word):
        bootstrap_ci(metric, y_true, y_pred, **arguments)


def test_metric_failing_on_the_whole_sample_propagates():
    with pytest.raises(ValueError):
        bootstrap_ci(equal_opportunity_difference, [1, 0, 1], [1, 0, 1], sensitive_features=["a", "a", "a"])


# ---------------------------------------------------------------- non-finite values are failed resamples
def _rare_positive_sample(n=300):
    """One predicted positive among n rows: about 37 % of the resamples have none, and their precision is
    undefined."""
    y = np.zeros(n, dtype=int)
    y[:30] = 1
    pred = np.zeros(n, dtype=int)
    pred[0] = 1
    return y, pred


@pytest.mark.parametrize("undefined", [np.nan, np.inf, -np.inf])
def test_non_finite_resamples_are_counted_as_failed_and_warned(undefined):
    y, pred = _rare_positive_sample()

    def precision(y_true, y_pred):
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        return float(np.sum(y_true & y_pred) / np.sum(y_pred)) if y_pred.any() else undefined

    with pytest.warns(FairermWarning, match=r"failed on (\d+) of 200 resamples.*NaN or an infinite value") as caught:
        ci = bootstrap_ci(precision, y, pred, n_resamples=200, random_state=0)
    assert 0 < ci.n_failed < 200 and ci.distribution.size == 200 - ci.n_failed
    assert str(ci.n_failed) in str(caught[0].message)
    assert np.all(np.isfinite(ci.distribution)) and np.isfinite(ci.low) and np.isfinite(ci.high)
    assert (ci.low, ci.high) == (1.0, 1.0) and ci.estimate == 1.0


def test_non_finite_and_raising_resamples_are_counted_together():
    y, pred = _rare_positive_sample()
    y = y.copy()
    y[-1] = 1  # a second positive row: a resample without it ...

    def metric(y_true, y_pred):
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        if not y_pred.any():
            return np.nan
        if y_true.sum() < 25:
            raise ValueError("too few positives")
        return 0.5

    with pytest.warns(FairermWarning, match="raised a ValueError on .* and gave NaN or an infinite value on"):
        ci = bootstrap_ci(metric, y, pred, n_resamples=300, random_state=1)
    assert ci.distribution.size == 300 - ci.n_failed and np.all(ci.distribution == 0.5)


def test_metric_non_finite_on_every_resample_is_refused():
    y, pred = _rare_positive_sample(50)
    whole = y.copy()

    def defined_on_the_whole_sample_only(y_true, y_pred):
        return 0.5 if np.array_equal(np.asarray(y_true), whole) else np.nan

    with pytest.raises(FairermValueError, match="failed on all 30 resamples"):
        bootstrap_ci(defined_on_the_whole_sample_only, y, pred, n_resamples=30, random_state=0)


@pytest.mark.parametrize("undefined", [np.nan, np.inf])
def test_metric_non_finite_on_the_whole_sample_is_refused(undefined):
    with pytest.raises(FairermValueError, match="whole sample"):
        bootstrap_ci(lambda y_true, y_pred: undefined, [0, 1, 1], [0, 1, 0], n_resamples=10, random_state=0)


# ---------------------------------------------------------------- sample_weight is passed on or refused
def _weighted_problem():
    rng = np.random.default_rng(8)
    y = rng.integers(0, 2, 200)
    pred = np.where(rng.random(200) < 0.8, y, 1 - y)
    weights = np.where(pred == y, 3.0, 1.0)  # the weighted accuracy (0.92) is far from the unweighted (0.8)
    return y, pred, weights


def test_sample_weight_that_the_metric_cannot_take_is_refused_not_dropped():
    y, pred, weights = _weighted_problem()
    with pytest.raises(FairermTypeError, match=r"metric _accuracy takes no sample_weight.*would be ignored"):
        bootstrap_ci(_accuracy, y, pred, sample_weight=weights, n_resamples=10, random_state=0)
    # a sample_weight parameter that can only be passed by position cannot be passed by keyword either
    def positional_only(y_true, y_pred, sample_weight=None, /):
        return accuracy_score(y_true, y_pred, sample_weight=sample_weight)

    with pytest.raises(FairermTypeError, match="takes no sample_weight"):
        bootstrap_ci(positional_only, y, pred, sample_weight=weights, n_resamples=10, random_state=0)
    with pytest.raises(FairermTypeError, match=r"functools.partial\(_accuracy, ...\) takes no sample_weight"):
        bootstrap_ci(functools.partial(_accuracy), y, pred, sample_weight=weights, n_resamples=10)


def test_sample_weight_reaches_partial_kwargs_and_callable_object_metrics():
    y, pred, weights = _weighted_problem()
    weighted = accuracy_score(y, pred, sample_weight=weights)

    def forwarding(y_true, y_pred, **kwargs):
        return accuracy_score(y_true, y_pred, **kwargs)

    class Accuracy:
        def __call__(self, y_true, y_pred, *, sample_weight=None):
            return accuracy_score(y_true, y_pred, sample_weight=sample_weight)

    for metric in (accuracy_score, functools.partial(accuracy_score, normalize=True), forwarding, Accuracy()):
        ci = bootstrap_ci(metric, y, pred, sample_weight=weights, n_resamples=20, random_state=0)
        assert ci.estimate == pytest.approx(weighted)
    rows = np.random.default_rng(0).integers(0, 200, size=200)
    assert ci.distribution[0] == pytest.approx(accuracy_score(y[rows], pred[rows], sample_weight=weights[rows]))


# ---------------------------------------------------------------- None and scalar inputs
@pytest.mark.parametrize("name, value, word", [
    ("y_true", None, "y_true is required; got None"),
    ("y_pred", None, "y_pred is required; got None"),
    ("y_pred", 1, "y_pred must be an array-like with one entry per sample.*scalar 1"),
    ("y_true", np.float64(0.5), "y_true must be an array-like with one entry per sample"),
    ("y_true", "abc", "y_true must be an array-like"),
])
def test_none_or_scalar_y_is_refused_by_name(name, value, word):
    arguments = {"y_true": np.arange(10) % 2, "y_pred": np.arange(10) % 2, name: value}
    with pytest.raises(FairermValueError, match=word):
        bootstrap_ci(_accuracy, arguments["y_true"], arguments["y_pred"], n_resamples=5, random_state=0)
