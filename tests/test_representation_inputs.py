"""Input that does not fit FairRepresentation's float32 network is refused, naming the argument.

Regression test: ``transform(X * 1e39)`` (finite in float64) used to return NaN after the float32
cast with only a RuntimeWarning. Every entry point that casts is checked, with warnings as errors
(no RuntimeWarning may escape before the error).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fairerm.exceptions import FairermValueError  # noqa: E402
from fairerm.representation import FairRepresentation, group_divergence, mmd2_unbiased, sinkhorn_divergence, transfer_evaluate  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore::fairerm.exceptions.ConvergenceWarning")]


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    s = rng.integers(0, 2, 80)
    X = rng.normal(size=(80, 4)) + s[:, None]
    y = (X[:, 0] > 0.5).astype(int)
    model = FairRepresentation(hidden_layer_sizes=(8,), representation_dim=3, max_epochs=2, random_state=0)
    return model.fit(X, y, sensitive_features=s), X, y, s


def refuses(call, match):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning (overflow, invalid value) before the error
        warnings.simplefilter("ignore", category=DeprecationWarning)
        with pytest.raises(FairermValueError, match=match):
            call()


@pytest.mark.parametrize("method", ["transform", "predict", "decision_function", "predict_proba", "score"])
def test_prediction_entry_points_refuse_values_beyond_float32(fitted, method):
    model, X, y, _ = fitted
    huge = X * 1e39
    assert np.isfinite(huge).all()  # finite in float64: only the float32 cast would break it
    args = (huge, y) if method == "score" else (huge,)
    refuses(lambda: getattr(model, method)(*args), r"X has values up to 3\.\d+e\+39 in magnitude, beyond the range of the network's dtype float32")
    one_row = X.copy()
    one_row[5, 2] = -4e38
    refuses(lambda: getattr(model, method)(*((one_row, y) if method == "score" else (one_row,))), "X has values up to 4e\\+38")


def test_fit_and_fit_transform_refuse_values_beyond_float32(fitted):
    model, X, y, s = fitted
    refuses(lambda: FairRepresentation(max_epochs=1).fit(X * 1e39, y, sensitive_features=s), "X has values up to .* float32")
    refuses(lambda: FairRepresentation(max_epochs=1).fit_transform(X * 1e39, y, sensitive_features=s), "X has values up to")


def test_values_that_fit_float32_but_overflow_the_network_are_refused(fitted):
    import copy

    model, X, _, _ = fitted
    big = np.full_like(X, 3e38)  # every entry below float32's 3.4e38 ...
    positive = copy.deepcopy(model)
    with torch.no_grad():
        positive.network_.encoder[0].weight.fill_(1.0)  # ... but the first layer sums four of them
    refuses(lambda: positive.transform(big), "X: the network's float32 outputs overflow for 80 row\\(s\\) \\(first: row 0")
    refuses(lambda: positive.predict(big), "X: the network's float32 outputs overflow")
    # fit checks the initial network the same way, before any training
    refuses(lambda: _fit_with_overflowing_init(np.full((40, 40), 3e38)), "X: the network's float32 outputs overflow")


def _fit_with_overflowing_init(X):
    """A fit whose initial network has all-positive first-layer weights (patched initialisation)."""
    from fairerm.representation import _network

    original = _network.MultiTaskNetwork._initialise

    def positive(self, rng):
        original(self, rng)
        with torch.no_grad():
            self.encoder[0].weight.abs_()

    _network.MultiTaskNetwork._initialise = positive
    try:
        FairRepresentation(max_epochs=1, random_state=0).fit(X, np.arange(len(X)) % 2, sensitive_features=np.arange(len(X)) * 2 // len(X))
    finally:
        _network.MultiTaskNetwork._initialise = original


def test_transfer_evaluate_reports_the_same_error(fitted):
    model, X, y, s = fitted
    from sklearn.linear_model import LogisticRegression

    refuses(lambda: transfer_evaluate(model, LogisticRegression(), X * 1e39, y, X, y, sensitive_train=s, sensitive_test=s), "X has values up to")


def test_ordinary_large_but_safe_inputs_still_work(fitted):
    model, X, _, _ = fitted
    assert np.isfinite(model.transform(X * 1e3)).all()


def test_divergences_refuse_casts_that_overflow():
    x32 = torch.zeros((4, 2), dtype=torch.float32)
    z = np.full((4, 2), 1e39)
    refuses(lambda: mmd2_unbiased(x32, z, 1.0), "z holds values that are not finite in torch.float32")
    refuses(lambda: sinkhorn_divergence(x32, torch.tensor(z), 1.0), "z does not fit x's dtype torch.float32")
    # float64 array-likes are computed in float64: 1e39 is fine there
    assert np.isfinite(float(mmd2_unbiased(np.zeros((4, 2)), z, 1e39)))
    assert np.isfinite(group_divergence(np.r_[np.zeros((4, 2)), z], [0] * 4 + [1] * 4))


def test_a_regression_target_whose_moments_overflow_is_refused():
    rng = np.random.default_rng(1)
    X, s = rng.normal(size=(40, 3)), np.repeat([0, 1], 20)
    Y = rng.normal(size=40) * 1e300
    refuses(lambda: FairRepresentation(max_epochs=1, task_types="regression").fit(X, Y, sensitive_features=s), "Y column 'task 0' .* overflow")
