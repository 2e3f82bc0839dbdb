"""scikit-learn conventions of the reproduction's baseline estimators (fairerm.baselines): NotFittedError
before fit, predict-time checks of the features, ``score`` with the sensitive attribute (and its metadata
routing), and any two class labels (predictions drawn from ``classes_``)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from fairerm.baselines import (
    CovarianceConstrainedClassifier,
    ExponentiatedGradientClassifier,
    HardtPostProcessing,
    ProjectedLinearSVC,
    linear_svm,
)
from fairerm.exceptions import FairermValueError

pytest.importorskip("fairlearn")

from test_reproduce import biased_problem as _reproduce_problem  # noqa: E402


def biased_problem(n=300, d=4, seed=0):
    """test_reproduce's two-group problem, smaller by default."""
    return _reproduce_problem(n=n, d=d, seed=seed)


def hardt():
    return HardtPostProcessing(LogisticRegression(), grid_size=50)


def expgrad():
    return ExponentiatedGradientClassifier(LogisticRegression(), max_iter=10)


def fit_quiet(estimator, X, y, s):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(X, y, sensitive_features=s)


# ---------------------------------------------------------------- B2: NotFittedError before fit

@pytest.mark.parametrize("build", [ProjectedLinearSVC, CovarianceConstrainedClassifier, hardt, expgrad],
                         ids=["projected", "zafar", "hardt", "expgrad"])
def test_predict_before_fit_raises_not_fitted_error(build):
    X, _, s = biased_problem(n=20)
    estimator = build()
    methods = ["predict"] + (["decision_function"] if hasattr(estimator, "decision_function") else [])
    for method in methods:
        with pytest.raises(NotFittedError):
            getattr(estimator, method)(X, **({"sensitive_features": s} if method == "predict"
                                              and isinstance(estimator, HardtPostProcessing) else {}))


# ---------------------------------------------------------------- B3: predict-time checks of X

def test_projected_linear_svc_records_and_checks_the_features():
    X, y, s = biased_problem()
    frame = pd.DataFrame(X, columns=list("abcd"))
    model = ProjectedLinearSVC().fit(frame, y, sensitive_features=s)
    assert model.n_features_in_ == 4
    np.testing.assert_array_equal(model.feature_names_in_, list("abcd"))
    with pytest.warns(UserWarning, match="fitted with feature names"):
        np.testing.assert_array_equal(model.predict(frame), model.predict(X))  # same columns, same predictions
    with pytest.raises(ValueError, match="order"):
        model.predict(frame[list("dcba")])
    with pytest.raises(ValueError, match="order"):
        model.decision_function(frame[list("dcba")])
    plain = ProjectedLinearSVC().fit(X, y, sensitive_features=s)
    assert plain.n_features_in_ == 4 and not hasattr(plain, "feature_names_in_")
    with pytest.raises(ValueError, match="4 features"):
        plain.predict(X[:, :3])
    # a refit on arrays forgets the names of an earlier fit on a DataFrame
    assert not hasattr(model.fit(X, y, sensitive_features=s), "feature_names_in_")
    with pytest.raises(ValueError, match="4 features"):
        plain.decision_function(X[:, :3])


# ---------------------------------------------------------------- B4: HardtPostProcessing.score

def test_hardt_score_is_accuracy_with_the_groups():
    X, y, s = biased_problem(n=400, seed=1)
    model = hardt().fit(X, y, sensitive_features=s)
    pred = model.predict(X, sensitive_features=s)
    assert model.score(X, y, sensitive_features=s) == pytest.approx(np.mean(pred == y))
    w = np.linspace(0.1, 2.0, len(y))
    assert model.score(X, y, sensitive_features=s, sample_weight=w) == pytest.approx(np.average(pred == y, weights=w))
    with pytest.raises(FairermValueError, match="sensitive_features"):
        model.score(X, y, sensitive_features=None)


def test_hardt_score_routes_sensitive_features_in_a_grid_search():
    X, y, s = biased_problem(n=400, seed=2)
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        model = hardt().set_fit_request(sensitive_features=True).set_score_request(sensitive_features=True)
        search = GridSearchCV(model, {"grid_size": [20, 50]}, cv=cv).fit(X, y, sensitive_features=s)
    train, test = next(cv.split(X, y))
    by_hand = HardtPostProcessing(LogisticRegression(), grid_size=50).fit(X[train], y[train],
                                                                          sensitive_features=s[train])
    expected = by_hand.score(X[test], y[test], sensitive_features=s[test])
    assert search.cv_results_["split0_test_score"][1] == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------- B5: any two labels

LABELS = {
    "strings": np.array(["no", "yes"]),
    "one_two": np.array([1, 2]),
    "signed": np.array([-1, 1]),
    "bool": np.array([False, True]),
}


@pytest.mark.parametrize("build", [hardt, expgrad], ids=["hardt", "expgrad"])
@pytest.mark.parametrize("labels", list(LABELS), ids=list(LABELS))
def test_fairlearn_baselines_take_any_two_labels(build, labels):
    X, y, s = biased_problem(n=300, seed=3)
    classes = LABELS[labels]
    reference = fit_quiet(build(), X, y, s)
    model = fit_quiet(build(), X, classes[y], s)  # classes[1] (the larger label) is the positive class
    np.testing.assert_array_equal(model.classes_, classes)
    pred = model.predict(X, sensitive_features=s)
    assert pred.dtype == classes.dtype
    np.testing.assert_array_equal(pred, classes[reference.predict(X, sensitive_features=s)])
    groups = {"sensitive_features": s} if isinstance(model, HardtPostProcessing) else {}
    assert model.score(X, classes[y], **groups) == pytest.approx(np.mean(pred == classes[y]))


@pytest.mark.parametrize("build", [hardt, expgrad], ids=["hardt", "expgrad"])
def test_fairlearn_baselines_refuse_other_than_two_labels(build):
    X, y, s = biased_problem(n=60)
    with pytest.raises(FairermValueError, match="y must have exactly two classes"):
        build().fit(X, y + (np.arange(60) % 3 == 0), sensitive_features=s)


def test_fairlearn_baselines_on_01_labels_are_fairlearn_itself():
    """On 0/1 labels the wrappers hand fairlearn the labels unchanged: the reproduction's rows stay the same."""
    from fairlearn.postprocessing import ThresholdOptimizer
    from fairlearn.reductions import ExponentiatedGradient, TruePositiveRateParity

    X, y, s = biased_problem(n=400, seed=4)
    direct = ThresholdOptimizer(estimator=linear_svm(1.0), constraints="true_positive_rate_parity",
                                objective="accuracy_score", grid_size=1000, predict_method="decision_function",
                                prefit=False).fit(X, y, sensitive_features=s)
    wrapped = HardtPostProcessing(linear_svm(1.0)).fit(X, y, sensitive_features=s)
    expected = direct.predict(X, sensitive_features=s, random_state=0)
    got = wrapped.predict(X, sensitive_features=s)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = ExponentiatedGradient(LogisticRegression(C=1.0, max_iter=2000), TruePositiveRateParity(),
                                       eps=0.02, max_iter=50).fit(X, y, sensitive_features=s)
        wrapped = ExponentiatedGradientClassifier(LogisticRegression(C=1.0, max_iter=2000),
                                                  eps=0.02).fit(X, y, sensitive_features=s)
    expected = direct.predict(X, random_state=0)
    got = wrapped.predict(X)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
