"""Input checks of the regression estimators and metrics that used to let bad input through silently.

Regression tests:

* ``WassersteinFairRegressor.predict`` accepted the sensitive columns in another order (or renamed)
  than at fit, and mapped each row through the wrong group's CDF;
* ``predict`` on 0 rows said "0 distinct group(s) ... needed to measure or constrain a difference";
* ``FairRidge(constraint=np.array(...))`` raised numpy's "truth value of an array is ambiguous";
* complex predictions lost their imaginary part in the regression metrics (and in the barycenter
  map), with only numpy's ComplexWarning.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from fairerm.constraints import DemographicParity, EqualOpportunity
from fairerm.exceptions import FairermTypeError, FairermValueError
from fairerm.metrics import distances_between_groups, ks_distance_between_groups, wasserstein_distance_between_groups
from fairerm.regression import FairRidge, WassersteinFairRegressor


@pytest.fixture(scope="module")
def intersectional():
    rng = np.random.default_rng(0)
    n = 800
    sex, race = rng.integers(0, 2, n), rng.integers(0, 2, n)
    X = np.column_stack([rng.normal(size=n) + 2 * sex - race, sex, race])
    y = X[:, 0] + rng.normal(scale=0.1, size=n)
    S = pd.DataFrame({"sex": sex, "race": race})
    model = WassersteinFairRegressor(LinearRegression(), random_state=0).fit(X, y, sensitive_features=S)
    return model, X, y, S


def test_intersectional_names_are_recorded_and_the_same_columns_predict(intersectional):
    model, X, y, S = intersectional
    assert model.sensitive_feature_names_ == ["sex", "race"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(model.predict(X, sensitive_features=S), model.predict(X, sensitive_features=S.copy()))
        assert np.isfinite(model.score(X, y, sensitive_features=S))


@pytest.mark.parametrize("method", ["predict", "score"])
def test_reordered_sensitive_columns_are_refused(intersectional, method):
    model, X, y, S = intersectional
    args = (X, y) if method == "score" else (X,)
    with pytest.raises(FairermValueError, match=r"sensitive_features: the columns are the same as in fit but in another "
                                                r"order.*\['sex', 'race'\].*\['race', 'sex'\]"):
        getattr(model, method)(*args, sensitive_features=S[["race", "sex"]])


def test_renamed_sensitive_columns_are_refused(intersectional):
    model, X, _, S = intersectional
    with pytest.raises(FairermValueError, match=r"sensitive_features: the column names should match those seen in fit.*"
                                                r"\['sex', 'race'\].*\['gender', 'race'\]"):
        model.predict(X, sensitive_features=S.rename(columns={"sex": "gender"}))


def test_another_number_of_sensitive_columns_is_refused(intersectional):
    model, X, _, S = intersectional
    with pytest.raises(FairermValueError, match=r"sensitive_features has 1 column but .* fitted with 2 columns \['sex', 'race'\]"):
        model.predict(X, sensitive_features=S["sex"])
    three = S.assign(age=0)
    with pytest.raises(FairermValueError, match=r"sensitive_features has 3 columns \['sex', 'race', 'age'\] but .* "
                                                r"fitted with 2 columns \['sex', 'race'\]"):
        model.predict(X, sensitive_features=three)
    one = WassersteinFairRegressor(LinearRegression(), random_state=0).fit(X, X[:, 0], sensitive_features=S["sex"])
    with pytest.raises(FairermValueError, match=r"sensitive_features has 2 columns \['sex', 'race'\] but .* fitted with 1 column;"):
        one.predict(X, sensitive_features=S)


def test_unnamed_sensitive_columns_warn_as_unnamed_features_do(intersectional):
    model, X, _, S = intersectional
    expected = model.predict(X, sensitive_features=S)
    with pytest.warns(UserWarning, match="sensitive_features has no column names, but WassersteinFairRegressor was "
                                         r"fitted with named sensitive columns \['sex', 'race'\]"):
        np.testing.assert_array_equal(model.predict(X, sensitive_features=S.to_numpy()), expected)
    unnamed = WassersteinFairRegressor(LinearRegression(), random_state=0).fit(X, X[:, 0], sensitive_features=S.to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        unnamed.predict(X, sensitive_features=S.to_numpy())
        unnamed.predict(X, sensitive_features=pd.DataFrame(S.to_numpy()))  # integer column labels: positional too
    with pytest.warns(UserWarning, match="sensitive_features has column names, but WassersteinFairRegressor was "
                                         "fitted with unnamed sensitive columns"):
        unnamed.predict(X, sensitive_features=S)


def test_predict_on_zero_rows_says_so(intersectional):
    model, X, _, S = intersectional
    with pytest.raises(FairermValueError, match=r"X has 0 samples .* at least one is required"):
        model.predict(X[:0], sensitive_features=S.iloc[:0])
    with pytest.raises(FairermValueError, match=r"X has 0 samples .* at least one is required"):
        WassersteinFairRegressor(LinearRegression()).fit(X[:0], X[:0, 0], sensitive_features=S.iloc[:0])


def test_predict_on_one_row_given_as_a_1d_array_says_to_reshape(intersectional):
    model, X, _, S = intersectional
    # one row as a 1-D array has 3 entries: the message is about its shape, not about the length of the groups
    with pytest.raises(FairermValueError, match=r"X is 1-D \(shape \(3,\)\).*fitted on 3 features\. Reshape your data.*reshape\(1, -1\)"):
        model.predict(X[0], sensitive_features=S.iloc[:1])
    np.testing.assert_array_equal(model.predict(X[:1], sensitive_features=S.iloc[:1]),
                                  model.predict(X, sensitive_features=S)[:1])


@pytest.mark.parametrize("constraint, error, match", [
    (np.array(["demographic_parity"]), FairermTypeError, r"constraint must be 'demographic_parity' or a "
                                                         r"DemographicParity instance; got ndarray"),
    (np.array([1.0, 2.0]), FairermTypeError, "got ndarray"),
    (None, FairermTypeError, "got NoneType"),
    ("equal_opportunity", FairermValueError, r"constraint must be 'demographic_parity'.*got 'equal_opportunity'"),
    (EqualOpportunity(), FairermValueError, r"got EqualOpportunity"),
])
def test_fair_ridge_refuses_other_constraints_clearly(constraint, error, match):
    rng = np.random.default_rng(0)
    X, s = rng.normal(size=(40, 3)), np.arange(40) % 2
    with pytest.raises(error, match=match):
        FairRidge(constraint=constraint).fit(X, X[:, 0], sensitive_features=s)
    FairRidge(constraint=DemographicParity()).fit(X, X[:, 0], sensitive_features=s)


@pytest.mark.parametrize("metric", [ks_distance_between_groups, wasserstein_distance_between_groups,
                                    distances_between_groups])
def test_regression_metrics_refuse_complex_predictions(metric):
    s = ["a", "a", "b", "b"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning before the error
        with pytest.raises(FairermValueError, match=r"Complex data not supported: y_pred must hold real numbers; got dtype "
                                                    r"complex128"):
            metric(np.array([0 + 5j, 1, 0 - 5j, 1]), sensitive_features=s)
        with pytest.raises(FairermValueError, match="Complex data not supported"):
            metric(pd.Series([0 + 0j, 1, 0, 1]), sensitive_features=s)  # even with zero imaginary parts
    assert ks_distance_between_groups([0.0, 1, 0, 1], sensitive_features=s) == 0.0


class _ComplexRegressor(LinearRegression):
    def predict(self, X):
        return super().predict(X) + 1j


def test_a_base_regressor_with_complex_predictions_is_refused():
    rng = np.random.default_rng(0)
    s = np.arange(200) % 2
    X = np.column_stack([rng.normal(size=200), s])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FairermValueError, match="Complex data not supported: the predictions of estimator "
                                                    "_ComplexRegressor must hold real numbers"):
            WassersteinFairRegressor(_ComplexRegressor(), random_state=0).fit(X, X[:, 0], sensitive_features=s)


def test_predictions_do_not_depend_on_the_container_of_mixed_rows():
    """A number in an object column was hashed as a Python object, not by the float64 route of a numeric
    column: the same rows gave outputs 0.19 apart from a DataFrame and from its object ndarray."""
    from sklearn.base import BaseEstimator, RegressorMixin

    class FirstColumn(RegressorMixin, BaseEstimator):
        def fit(self, X, y, sample_weight=None):
            self.fitted_ = True
            return self

        def predict(self, X):
            return np.asarray(pd.DataFrame(X).iloc[:, 0], dtype=float)

    rng = np.random.default_rng(0)
    s = rng.integers(0, 2, 200)
    frame = pd.DataFrame({"x": rng.normal(size=200) + s, "c": np.where(s == 1, "u", "v")})
    model = WassersteinFairRegressor(FirstColumn().fit(None, None), prefit=True, random_state=0)
    model.fit(frame, None, sensitive_features=s)
    reference = model.predict(frame, sensitive_features=s)
    np.testing.assert_array_equal(model.predict(frame.to_numpy(), sensitive_features=s), reference)
    np.testing.assert_array_equal(model.predict(frame.astype({"x": object}), sensitive_features=s), reference)
