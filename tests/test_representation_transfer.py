"""transfer_evaluate: a new task on top of a representation, scored against fairlearn and by hand."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
fairlearn_metrics = pytest.importorskip("fairlearn.metrics")

from sklearn.base import BaseEstimator, ClassifierMixin  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from fairerm.exceptions import FairermValueError  # noqa: E402
from fairerm.representation import FairRepresentation, demographic_parity_gap, transfer_evaluate  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore::fairerm.exceptions.ConvergenceWarning")]


def make_data(n, seed):
    rng = np.random.default_rng(seed)
    s = rng.choice(["f", "m"], size=n)
    X = rng.normal(size=(n, 5))
    X[:, 0] += (s == "m") * 1.5
    y = np.where(X[:, 0] + X[:, 1] + 0.5 * rng.normal(size=n) > 0.7, "good", "bad")
    return X, y, s


@pytest.fixture(scope="module")
def split():
    return make_data(300, 0), make_data(300, 1)


def test_raw_feature_baseline_matches_a_direct_computation_and_fairlearn(split):
    (X, y, s), (X_test, y_test, s_test) = split
    result = transfer_evaluate(None, LogisticRegression(), X, y, X_test, y_test, sensitive_train=s, sensitive_test=s_test)
    prediction = LogisticRegression().fit(X, y).predict(X_test)
    assert result.accuracy == pytest.approx(np.mean(prediction == y_test))
    expected = fairlearn_metrics.demographic_parity_difference(
        y_test == "good", prediction == "good", sensitive_features=s_test
    )
    assert result.demographic_parity_difference == pytest.approx(expected)
    assert result.positive_rates["m"] == pytest.approx(np.mean(prediction[s_test == "m"] == "good"))
    assert result.demographic_parity_difference > 0.3  # the data are built unfair


def test_representation_is_used_for_training_and_test(split):
    (X, y, s), (X_test, y_test, s_test) = split
    representation = FairRepresentation(
        representation_dim=4, hidden_layer_sizes=(16,), max_epochs=3, batch_size=100, random_state=0
    ).fit(X, y, sensitive_features=s)
    result = transfer_evaluate(representation, LogisticRegression(), X, y, X_test, y_test, sensitive_train=s, sensitive_test=s_test)
    manual = LogisticRegression().fit(representation.transform(X), y)
    prediction = manual.predict(representation.transform(X_test))
    assert result.accuracy == pytest.approx(np.mean(prediction == y_test))
    np.testing.assert_allclose(result.estimator.coef_, manual.coef_)
    gap, rates = demographic_parity_gap(prediction, s_test, "good")
    assert result.demographic_parity_difference == pytest.approx(gap)
    assert result.positive_rates == rates


class RecordsSensitive(ClassifierMixin, BaseEstimator):
    """A majority-class classifier that records the sensitive features it was given."""

    def fit(self, X, y, *, sensitive_features=None):
        self.seen_ = np.asarray(sensitive_features)
        values, counts = np.unique(y, return_counts=True)
        self.classes_, self.majority_ = values, values[np.argmax(counts)]
        return self

    def predict(self, X):
        return np.full(len(X), self.majority_)


def test_sensitive_features_are_routed_to_fair_models(split):
    (X, y, s), (X_test, y_test, s_test) = split
    result = transfer_evaluate(None, RecordsSensitive(), X, y, X_test, y_test, sensitive_train=s, sensitive_test=s_test)
    np.testing.assert_array_equal(result.estimator.seen_, s)
    assert result.demographic_parity_difference == 0.0  # constant predictions


def test_works_with_fairerm_fair_linear_svc(split):
    svm = pytest.importorskip("fairerm.svm")
    (X, y, s), (X_test, y_test, s_test) = split
    plain = transfer_evaluate(None, LogisticRegression(), X, y, X_test, y_test, sensitive_train=s, sensitive_test=s_test)
    fair = transfer_evaluate(
        None, svm.FairLinearSVC(C=1.0, constraint="demographic_parity"), X, y, X_test, y_test, sensitive_train=s, sensitive_test=s_test
    )
    assert fair.demographic_parity_difference < plain.demographic_parity_difference


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(y_train=np.array(["a", "b", "c"] * 100)), "y_train must have exactly two classes"),
        (dict(sensitive_test=np.array(["f"] * 299)), "sensitive_test has 299 entries"),
        (dict(y_test=np.array(["good"] * 10)), "y_test has shape"),
        (dict(representation=object()), "representation must be a fitted transformer"),
    ],
)
def test_bad_input(split, kwargs, match):
    (X, y, s), (X_test, y_test, s_test) = split
    arguments = dict(
        representation=None, estimator=LogisticRegression(), X_train=X, y_train=y, X_test=X_test, y_test=y_test,
        sensitive_train=s, sensitive_test=s_test,
    )
    arguments.update(kwargs)
    with pytest.raises(FairermValueError, match=match):
        transfer_evaluate(**arguments)
