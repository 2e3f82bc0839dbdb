"""fairerm.model_selection: fairness scorers and the constrained refit rule, against fairlearn and
cross-validation done by hand."""

import pickle

import numpy as np
import pytest
import sklearn
from fairlearn.metrics import (
    demographic_parity_difference as fl_ddp,
    equal_opportunity_difference as fl_deo,
    equalized_odds_difference as fl_eod,
)
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from fairerm import FairKernelSVC, FairLinearSVC
from fairerm.datasets import make_synthetic
from fairerm.exceptions import FairermTypeError, FairermValueError, FairermWarning
from fairerm.model_selection import BestAccuracyUnderFairness, fairness_scoring, make_fairness_scorer


@pytest.fixture(autouse=True)
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


@pytest.fixture(scope="module")
def data():
    d = make_synthetic(240, bias=1.5, include_sensitive=False, random_state=0)
    return d.data, d.target, d.sensitive


def _pipeline(**svm_params):
    return Pipeline([("scale", StandardScaler()),
                     ("svm", FairKernelSVC(**svm_params).set_fit_request(sensitive_features=True))])


@pytest.mark.parametrize("metric, reference", [("deo", fl_deo), ("ddp", fl_ddp), ("equalized_odds", fl_eod)])
def test_scorers_match_fairlearn(data, metric, reference):
    X, y, s = data
    model = FairLinearSVC(epsilon=0.5).fit(X, y, sensitive_features=s)
    expected = reference(y, model.predict(X), sensitive_features=s)
    assert expected > 0.01  # a biased model, so the sign convention is visible
    assert make_fairness_scorer(metric)(model, X, y, sensitive_features=s) == pytest.approx(-expected)
    assert make_fairness_scorer(metric, greater_is_better=True)(model, X, y, sensitive_features=s) == \
        pytest.approx(expected)


def test_scorer_requests_sensitive_features():
    scorer = make_fairness_scorer("ddp")
    assert scorer.get_metadata_routing().score.requests["sensitive_features"] is True
    assert set(fairness_scoring(("deo",))) == {"accuracy", "deo"}
    with pytest.raises(FairermValueError, match="metric must be one of"):
        make_fairness_scorer("auc")
    with pytest.raises(FairermTypeError, match="greater_is_better"):
        make_fairness_scorer("deo", greater_is_better="no")
    with pytest.raises(FairermValueError, match="at least one"):
        fairness_scoring((), accuracy=False)


def _rule_by_hand(acc, gap, t):
    feasible = [i for i in range(len(acc)) if gap[i] <= t]
    if feasible:
        return max(feasible, key=lambda i: (acc[i], -gap[i], -i))
    return min(range(len(acc)), key=lambda i: (gap[i], -acc[i], i))


@pytest.mark.parametrize("seed", range(6))
def test_rule_matches_definition(seed):
    rng = np.random.default_rng(seed)
    acc = rng.integers(60, 70, size=12) / 100
    gap = rng.integers(0, 20, size=12) / 100
    t = float(np.quantile(gap, 0.4))
    results = {"mean_test_accuracy": acc, "mean_test_deo": -gap}
    assert BestAccuracyUnderFairness(t)(results) == _rule_by_hand(acc, gap, t)
    assert BestAccuracyUnderFairness(t)({"mean_test_accuracy": acc, "mean_test_deo": gap}) == \
        _rule_by_hand(acc, gap, t)


def test_rule_falls_back_to_fairest_with_a_warning():
    results = {"mean_test_accuracy": [0.9, 0.7, 0.8], "mean_test_deo": [-0.3, -0.2, -0.2]}
    with pytest.warns(FairermWarning, match="no candidate has a mean deo <= 0.1.*smallest is 0.2"):
        assert BestAccuracyUnderFairness(0.1)(results) == 2


def test_rule_errors():
    with pytest.raises(FairermValueError, match="threshold must be <= 1"):
        BestAccuracyUnderFairness(2.0)
    with pytest.raises(FairermValueError, match="scorer named 'ddp'.*'accuracy', 'deo'"):
        BestAccuracyUnderFairness(0.1, fairness="ddp")({"mean_test_accuracy": [1.0], "mean_test_deo": [0.0]})
    with pytest.raises(FairermValueError, match="NaN"):
        BestAccuracyUnderFairness(0.1)({"mean_test_accuracy": [np.nan], "mean_test_deo": [0.0]})


def _cross_validate_by_hand(X, y, s, cv, params):
    """Fit on each training fold with the groups sliced by hand; fairlearn on each validation fold."""
    acc, deo = [], []
    for train, test in cv.split(X, y):
        model = clone(_pipeline()).set_params(**params)
        model.fit(X.iloc[train], y.iloc[train], sensitive_features=s.iloc[train])
        pred = model.predict(X.iloc[test])
        acc.append(np.mean(pred == y.iloc[test].to_numpy()))
        deo.append(fl_deo(y.iloc[test], pred, sensitive_features=s.iloc[test]))
    return np.mean(acc), np.mean(deo)


def test_grid_search_selects_by_fairness_with_routed_groups(data):
    X, y, s = data
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    grid = {"svm__epsilon": [0.0, 0.05, 0.2, 10.0], "svm__C": [1.0]}
    candidates = [{"svm__epsilon": e, "svm__C": 1.0} for e in grid["svm__epsilon"]]
    by_hand = np.array([_cross_validate_by_hand(X, y, s, cv, p) for p in candidates])
    assert np.ptp(by_hand[:, 1]) > 0.02  # epsilon changes the fairness of the candidates
    threshold = float(np.median(by_hand[:, 1]))
    search = GridSearchCV(_pipeline(), grid, scoring=fairness_scoring(), refit=BestAccuracyUnderFairness(threshold),
                          cv=cv)
    search.fit(X, y, sensitive_features=s)  # no slicing by hand: routing splits s with X and y
    np.testing.assert_allclose(search.cv_results_["mean_test_accuracy"], by_hand[:, 0])
    np.testing.assert_allclose(-search.cv_results_["mean_test_deo"], by_hand[:, 1])
    assert search.best_index_ == _rule_by_hand(by_hand[:, 0], by_hand[:, 1], threshold)
    assert by_hand[search.best_index_, 1] <= threshold
    refit = clone(_pipeline()).set_params(**candidates[search.best_index_])
    refit.fit(X, y, sensitive_features=s)
    np.testing.assert_array_equal(search.predict(X), refit.predict(X))
    assert search.best_estimator_.named_steps["svm"].epsilon == candidates[search.best_index_]["svm__epsilon"]
    restored = pickle.loads(pickle.dumps(search))  # the refit rule is a picklable object, not a closure
    np.testing.assert_array_equal(restored.predict(X), search.predict(X))
    assert restored.refit.threshold == threshold


def test_cross_validate_routes_groups_to_fit_and_scorers(data):
    X, y, s = data
    cv = StratifiedKFold(3, shuffle=True, random_state=1)
    out = cross_validate(_pipeline(epsilon=0.05), X, y, params={"sensitive_features": s}, cv=cv,
                         scoring=fairness_scoring(("deo",)))
    acc, deo = _cross_validate_by_hand(X, y, s, cv, {"svm__epsilon": 0.05})
    assert np.mean(out["test_accuracy"]) == pytest.approx(acc)
    assert -np.mean(out["test_deo"]) == pytest.approx(deo)
