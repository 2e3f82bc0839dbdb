"""FairRepresentation refuses what it cannot use faithfully, instead of fitting or predicting silently.

Regression tests:

* ``transform`` / ``predict`` / ``decision_function`` / ``score`` accepted reordered or renamed
  DataFrame columns although ``feature_names_in_`` was recorded (the features were silently mixed up);
* with a group too small to have two points in a batch the penalty was never computed
  (``history_["penalty"]`` all NaN) without a word when ``sample_weight`` was None, while unit weights
  raised for the same data;
* a fit in which no batch ever had a penalty passed silently;
* an object ``Y`` holding ``pd.NA`` raised a raw ``TypeError`` from inside the type detection.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from fairerm.exceptions import FairermValueError  # noqa: E402
from fairerm.representation import FairRepresentation  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore::fairerm.exceptions.ConvergenceWarning")]


def small_model(**options):
    params = dict(representation_dim=2, hidden_layer_sizes=(4,), max_epochs=2, random_state=0)
    params.update(options)
    return FairRepresentation(**params)


@pytest.fixture(scope="module")
def frame_fitted():
    rng = np.random.default_rng(0)
    n = 120
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    s = rng.integers(0, 2, n)
    y = (X["a"] > 0).astype(int).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = small_model().fit(X, y, sensitive_features=s)
    return model, X, y, s


def _call(model, method, X, y):
    return getattr(model, method)(*((X, y) if method == "score" else (X,)))


METHODS = ["transform", "predict", "decision_function", "predict_proba", "score"]


@pytest.mark.parametrize("method", METHODS)
def test_reordered_columns_are_refused(frame_fitted, method):
    model, X, y, _ = frame_fitted
    np.testing.assert_array_equal(model.feature_names_in_, ["a", "b", "c"])
    with pytest.raises(FairermValueError, match=r"same as in fit but in another order.*\['a', 'b', 'c'\].*\['c', 'b', 'a'\]"):
        _call(model, method, X[["c", "b", "a"]], y)


@pytest.mark.parametrize("method", METHODS)
def test_renamed_columns_are_refused(frame_fitted, method):
    model, X, y, _ = frame_fitted
    with pytest.raises(FairermValueError, match=r"feature names should match.*unseen at fit time: \['zzz'\].*missing: \['a'\]"):
        _call(model, method, X.rename(columns={"a": "zzz"}), y)


def test_same_columns_are_accepted_and_arrays_warn_as_in_scikit_learn(frame_fitted):
    model, X, y, s = frame_fitted
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the right columns: no warning
        expected = model.transform(X)
    with pytest.warns(UserWarning, match="X does not have valid feature names, but FairRepresentation was fitted with feature names"):
        np.testing.assert_array_equal(model.transform(X.to_numpy()), expected)
    unnamed = small_model().fit(X.to_numpy(), y, sensitive_features=s)
    assert not hasattr(unnamed, "feature_names_in_")
    with pytest.warns(UserWarning, match="X has feature names, but FairRepresentation was fitted without feature names"):
        unnamed.transform(X)


def test_a_refit_on_an_array_forgets_the_names(frame_fitted):
    _, X, y, s = frame_fitted
    model = small_model().fit(X, y, sensitive_features=s)
    model.fit(X.to_numpy(), y, sensitive_features=s)
    assert not hasattr(model, "feature_names_in_")


def _minority_data(k, n=90):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] > 0).astype(int)
    s = np.r_[np.zeros(n - k), np.ones(k)]
    return X, y, s


@pytest.mark.parametrize("unit_weights", [False, True])
@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_a_group_too_small_for_two_points_per_batch_is_refused_with_or_without_unit_weights(k, unit_weights):
    X, y, s = _minority_data(k)
    weights = np.ones(len(s)) if unit_weights else None
    with pytest.raises(FairermValueError, match=r"group 1\.0 .* per batch of 32 rows.*two points.*batch_size"):
        small_model(batch_size=32).fit(X, y, sensitive_features=s, sample_weight=weights)


@pytest.mark.parametrize("unit_weights", [False, True])
def test_a_group_with_two_points_per_batch_fits_and_is_penalised(unit_weights):
    X, y, s = _minority_data(6)  # 6 * 32 / 90 = 2.1 points per batch
    weights = np.ones(len(s)) if unit_weights else None
    model = small_model(batch_size=32).fit(X, y, sensitive_features=s, sample_weight=weights)
    assert np.isfinite(model.history_["penalty"]).all()
    if unit_weights:
        np.testing.assert_allclose(model.transform(X), small_model(batch_size=32).fit(X, y, sensitive_features=s).transform(X),
                                   rtol=1e-5, atol=1e-6)


def test_small_groups_are_fine_without_a_penalty():
    X, y, s = _minority_data(1)
    model = small_model(batch_size=32, penalty_weight=0.0).fit(X, y, sensitive_features=s)
    assert np.isnan(model.history_["penalty"]).all()


def test_a_fit_in_which_no_batch_had_a_penalty_is_refused():
    # each group's weight sits on one row (weight 20, 3.2 per batch on average: the up-front check passes),
    # and with this seed the two heavy rows never share a batch: no batch can compare the groups
    rng = np.random.default_rng(0)
    n = 200
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] > 0).astype(int)
    s = np.arange(n) % 2
    w = np.full(n, 1e-3)
    w[:2] = 20.0
    model = small_model(batch_size=32, max_epochs=1)
    with pytest.raises(FairermValueError, match=r"no batch of any epoch .* penalty"):
        model.fit(X, y, sensitive_features=s, sample_weight=w)
    assert not hasattr(model, "network_")


@pytest.mark.parametrize("missing", [pd.NA, None, np.nan])
def test_a_missing_value_in_an_object_target_is_refused_clearly(missing):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    Y = pd.Series(np.r_[[missing], rng.integers(0, 2, 39)].astype(object))
    with pytest.raises(FairermValueError, match=r"Y column 'task 0' has 1 missing or infinite value\(s\) \(first at row 0\)"):
        FairRepresentation(max_epochs=1).fit(X, Y, sensitive_features=np.arange(40) % 2)
    frame = pd.DataFrame({"t": pd.array([1, missing if missing is not np.nan else pd.NA] + [0, 1] * 19, dtype="Int64")})
    with pytest.raises(FairermValueError, match=r"Y column 't' has 1 missing"):
        FairRepresentation(max_epochs=1).fit(X, frame, sensitive_features=np.arange(40) % 2)


@pytest.mark.parametrize("fraction, message", [(0.7, "after the validation split"), (0.9, "have no training row")])
def test_the_small_group_rule_holds_after_the_validation_split(fraction, message):
    """Groups of 28, 28 and 4 rows pass the rule on all rows; early stopping's split left the third group
    1 training row (0.7) or none (0.9), and the fit went on with that group never penalised."""
    rng = np.random.default_rng(0)
    s = np.repeat([0, 1, 2], [28, 28, 4])
    X = rng.normal(size=(60, 3)) + s[:, None]
    y = (X[:, 0] > 1).astype(int)
    model = FairRepresentation(hidden_layer_sizes=(4,), representation_dim=2, max_epochs=2, batch_size=60,
                               penalty_weight=1.0, early_stopping=True, validation_fraction=fraction, random_state=0)
    with pytest.raises(FairermValueError, match=message):
        model.fit(X, y, sensitive_features=s)
    model.set_params(early_stopping=False).fit(X, y, sensitive_features=s)  # all 60 rows: the rule holds
