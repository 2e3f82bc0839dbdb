"""scikit-learn's estimator checks (``parametrize_with_checks``) on every fairerm estimator.

What an estimator does without ``sensitive_features`` (the decision of issue 11)
--------------------------------------------------------------------------------
A fair estimator cannot be fitted without the group of each sample: the fairness constraint (or
the barycenter, or the representation penalty) compares groups. Like fairlearn, ``fit(X, y)``
therefore *raises*, it never guesses the groups:

* ``FairLinearSVC``, ``FairKernelSVC`` and ``FairProjection`` raise ``FairermValueError`` (a
  ``ValueError``) whose message names ``sensitive_features`` and says how to route it through a
  ``Pipeline`` (metadata routing, ``set_fit_request``);
* ``FairRidge``, ``WassersteinFairRegressor`` and ``FairRepresentation`` declare
  ``sensitive_features`` as a required keyword-only argument, so Python raises a ``TypeError``
  naming it before any work is done.

scikit-learn's checks call ``fit(X, y)``, so every check that fits fails on the real estimators
for that one documented reason. They run twice:

1. **the real estimators**, with each failing check listed in ``_EXPECTED_FAILURES_REAL`` (the
   checks that do not fit, e.g. ``check_no_attributes_set_in_init``, ``check_get_params_invariance``,
   ``check_parameters_default_constructible``, really run and pass). ``test_real_estimator_checks``
   (``parametrize_with_checks``, marked slow: pytest renders ~250 expected-failure tracebacks) and
   its fast twin ``test_real_estimator_checks_summary`` (one ``check_estimator`` call per estimator,
   which also asserts that every listed check does fail, and with an error naming
   ``sensitive_features`` where that is the reason given);
2. **test-only subclasses** (``_With*Groups`` below) whose ``fit`` draws a deterministic synthetic
   group from the data when ``sensitive_features`` is None, so that the other checks (fitting,
   pickling, dtypes, NaN/inf, sparse input, idempotence, sample-order invariance, ...) really run
   on the estimator's code. The few checks that still fail there are listed in
   ``_EXPECTED_FAILURES_WRAPPED`` with the specific reason of each.

Both lists are exact: an expected failure that starts passing shows up as XPASS in ``-ra``.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.utils.estimator_checks import parametrize_with_checks

from fairerm import FairKernelSVC, FairLinearSVC, FairProjection, WassersteinFairRegressor
from fairerm.regression import _calibration as postprocessing
from fairerm.regression import FairRidge
from fairerm.representation import torch_available

_NO_GROUPS = "calls fit(X, y) without sensitive_features; fit refuses to guess the groups and raises {err} naming it"
_VALUE = _NO_GROUPS.format(err="FairermValueError")
_KEYWORD = _NO_GROUPS.format(err="TypeError (sensitive_features is a required keyword-only argument)")

# Checks that call fit(X, y) (and so fail on the real estimators for the reason above), per estimator.
_FIT_CHECKS_COMMON = [
    "check_fit_score_takes_y", "check_estimators_overwrite_params", "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self", "check_readonly_memmap_input", "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit", "check_estimators_dtypes", "check_complex_data", "check_dtype_object",
    "check_estimators_empty_data_messages", "check_pipeline_consistency", "check_estimators_nan_inf",
    "check_estimator_sparse_tag", "check_estimator_sparse_array", "check_estimator_sparse_matrix",
    "check_estimators_pickle", "check_f_contiguous_array_estimator", "check_methods_sample_order_invariance",
    "check_methods_subset_invariance", "check_fit2d_1sample", "check_fit2d_1feature", "check_dict_unchanged",
    "check_fit_idempotent", "check_fit_check_is_fitted", "check_n_features_in", "check_fit2d_predict1d",
]
_FIT_CHECKS_CLASSIFIER = [
    "check_classifier_data_not_an_array", "check_classifiers_one_label",
    "check_classifiers_train", "check_classifiers_regression_target", "check_supervised_y_2d",
    "check_classifiers_classes", "check_classifiers_multilabel_output_format_predict",
    "check_classifiers_multilabel_output_format_decision_function", "check_classifier_not_supporting_multiclass",
    "check_requires_y_none", "check_non_transformer_estimators_n_iter", "check_classifiers_predictions",
]
_FIT_CHECKS_REGRESSOR = [
    "check_regressors_train", "check_regressor_data_not_an_array", "check_regressors_no_decision_function",
    "check_supervised_y_2d", "check_supervised_y_no_nan", "check_regressors_int", "check_fit1d", "check_requires_y_none",
    "check_regressor_multioutput",
]
_FIT_CHECKS_TRANSFORMER = [
    "check_transformer_data_not_an_array", "check_transformer_general", "check_transformer_preserve_dtypes",
    "check_transformers_unfitted_stateless", "check_requires_y_none",
    "check_set_output_transform", "check_global_output_transform_pandas", "check_global_set_output_transform_polars",
    "check_set_output_transform_pandas", "check_set_output_transform_polars",
]

# The estimators that take sample_weight (issue 19) also get scikit-learn's sample-weight checks, which fit.
_FIT_CHECKS_SAMPLE_WEIGHT = [
    "check_sample_weights_pandas_series", "check_sample_weights_not_an_array", "check_sample_weights_list",
    "check_sample_weights_shape", "check_sample_weights_not_overwritten",
    "check_sample_weight_equivalence_on_dense_data", "check_all_zero_sample_weights_error",
]
_SPARSE_SAMPLE_WEIGHT = "check_sample_weight_equivalence_on_sparse_data"
_ONE_LABEL_SAMPLE_WEIGHT = "check_classifiers_one_label_sample_weights"

_EXPECTED_FAILURES_REAL = {
    "FairLinearSVC": dict.fromkeys(_FIT_CHECKS_COMMON + _FIT_CHECKS_CLASSIFIER + _FIT_CHECKS_SAMPLE_WEIGHT
                                   + [_SPARSE_SAMPLE_WEIGHT, _ONE_LABEL_SAMPLE_WEIGHT], _VALUE),
    # the exact kernels refuse sparse X before looking for the groups, so the three sparse checks pass
    "FairKernelSVC": dict.fromkeys([c for c in _FIT_CHECKS_COMMON if not c.startswith("check_estimator_sparse")]
                                   + _FIT_CHECKS_CLASSIFIER + _FIT_CHECKS_SAMPLE_WEIGHT + [_ONE_LABEL_SAMPLE_WEIGHT],
                                   _VALUE),
    "FairProjection": dict.fromkeys(_FIT_CHECKS_COMMON + _FIT_CHECKS_TRANSFORMER + _FIT_CHECKS_SAMPLE_WEIGHT
                                    + [_SPARSE_SAMPLE_WEIGHT], _VALUE),
    "FairRidge": dict.fromkeys(_FIT_CHECKS_COMMON + _FIT_CHECKS_REGRESSOR + _FIT_CHECKS_SAMPLE_WEIGHT, _KEYWORD),
    "WassersteinFairRegressor": {
        **dict.fromkeys(_FIT_CHECKS_COMMON + _FIT_CHECKS_REGRESSOR + _FIT_CHECKS_SAMPLE_WEIGHT, _KEYWORD),
        "check_estimators_unfitted": "predict(X) has sensitive_features as a required keyword (the barycenter map "
                                     "depends on the group), so the check's predict(X) raises TypeError first",
    },
    "FairRepresentation": {
        **dict.fromkeys(_FIT_CHECKS_COMMON + _FIT_CHECKS_TRANSFORMER, _KEYWORD),
        "check_fit1d": _KEYWORD,
        # fit(X, y, sample_weight=w) without the groups; the weights' semantics (repeated rows, dropped rows, errors)
        # are tested in tests/test_representation_weights.py
        **dict.fromkeys(["check_sample_weights_pandas_series", "check_sample_weights_not_an_array", "check_sample_weights_list",
                         "check_all_zero_sample_weights_error", "check_sample_weights_shape",
                         "check_sample_weights_not_overwritten"], _KEYWORD),
        "check_sample_weight_equivalence_on_dense_data": "fit(X, y=y, sample_weight=w): the multitask target is named Y, "
                                                         "and fit needs sensitive_features",
    },
}

_SYNTHETIC_GROUP_ACCURACY = (
    "check_classifiers_train asks for accuracy > 0.83 on 2-feature blobs; with eps = 0 the synthetic groups' "
    "direction u removes one of the only two feature directions from w, so a fair linear model cannot reach it "
    "(the kernel model can: its feature space is infinite-dimensional)"
)
_BINARY_MESSAGE = ("check_classifier_not_supporting_multiclass wants the literal 'Only binary classification is "
                   "supported'; ours says 'y must have exactly two classes for a binary classifier; got 3: [...]'")
_CONTINUOUS_MESSAGE = ("check_classifiers_regression_target wants 'Unknown label type'/'continuous'; a continuous y "
                       "is refused with 'y must have exactly two classes ...; got N: [...]'")
_Y_NONE_MESSAGE = ("check_requires_y_none wants scikit-learn's literal wording for y=None; ours is "
                   "'y is required; got None.'")
_N_FEATURES_MESSAGE = ("predict refuses a wrong number of features with its own wording ('X has 1 features but "
                       "... was fitted with 4'), not scikit-learn's literal 'is expecting 4 features as input'")
_META_SPARSE = ("a meta-estimator passes X to the base estimator untouched; the sparse error comes from the "
                "synthetic-group helper / base estimator, without the literal 'sparse' wording")
_REPEATS_CHANGE_GROUPS = (
    "the synthetic groups alternate over the rows in their order (within each class), and the check repeats some "
    "rows and shuffles the weighted ones, so a repeated row and its weighted original get different groups, "
    "hence different constraints; tests/test_sample_weight.py checks this equivalence with real groups"
)
_RANDOM_SPLIT_OF_ROWS = (
    "the calibration split and the halves are random draws over rows: a row of weight 3 and its three copies are "
    "split differently, so weights equal repetitions in law only; tests/test_sample_weight.py checks the weighted "
    "CDF and quantile functions against repeated values exactly"
)
_EXPECTED_FAILURES_WRAPPED = {
    "FairLinearSVC": {
        "check_sample_weight_equivalence_on_dense_data": _REPEATS_CHANGE_GROUPS,
        _SPARSE_SAMPLE_WEIGHT: _REPEATS_CHANGE_GROUPS,
        "check_classifiers_train": _SYNTHETIC_GROUP_ACCURACY,
        "check_classifier_not_supporting_multiclass": _BINARY_MESSAGE,
        "check_classifiers_regression_target": _CONTINUOUS_MESSAGE,
        "check_requires_y_none": _Y_NONE_MESSAGE,
    },
    "FairKernelSVC": {
        "check_sample_weight_equivalence_on_dense_data": _REPEATS_CHANGE_GROUPS,
        "check_classifier_not_supporting_multiclass": _BINARY_MESSAGE,
        "check_classifiers_regression_target": _CONTINUOUS_MESSAGE,
        "check_requires_y_none": _Y_NONE_MESSAGE,
    },
    "FairProjection": {
        "check_sample_weight_equivalence_on_dense_data": _REPEATS_CHANGE_GROUPS,
        _SPARSE_SAMPLE_WEIGHT: _REPEATS_CHANGE_GROUPS,
    },
    "FairRidge": {
        "check_sample_weight_equivalence_on_dense_data": _REPEATS_CHANGE_GROUPS,
        "check_n_features_in_after_fitting": _N_FEATURES_MESSAGE,
        "check_requires_y_none": _Y_NONE_MESSAGE,
        "check_fit2d_1sample": "one sample makes one group; the error names sensitive_features, not 'one sample'",
    },
    "WassersteinFairRegressor": {
        "check_sample_weight_equivalence_on_dense_data": _RANDOM_SPLIT_OF_ROWS,
        "check_estimator_sparse_tag": _META_SPARSE,
        "check_estimator_sparse_array": _META_SPARSE,
        "check_estimator_sparse_matrix": _META_SPARSE,
        "check_fit2d_1sample": "one sample is one group; the error names sensitive_features, not 'one sample'",
        "check_requires_y_none": _Y_NONE_MESSAGE,
    },
    "FairRepresentation": {
        "check_n_features_in_after_fitting": _N_FEATURES_MESSAGE,
        "check_dtype_object": "an object y with non-numeric labels is refused with 'Y column ... non-numeric "
                              "labels', not the literal 'Unknown label type'",
        "check_fit2d_1sample": "one sample is one group; the error names sensitive_features, not 'one sample'",
    },
}


# ------------------------------------------------------------------------------------------------
# Test-only subclasses that draw a deterministic synthetic group from the data.
# ------------------------------------------------------------------------------------------------
def _alternating_within_classes(y, n_samples: int) -> np.ndarray:
    """Group 0/1 alternating inside each class (so every group has examples of every class)."""
    if y is None:
        return np.arange(n_samples) % 2
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:  # a column-vector y (check_supervised_y_2d): the same groups as 1-D
        y = y[:, 0]
    if y.ndim != 1 or y.shape[0] != n_samples:
        return np.arange(n_samples) % 2
    groups = np.zeros(n_samples, dtype=int)
    for label in np.unique(y):
        index = np.flatnonzero(y == label)
        groups[index] = np.arange(index.size) % 2
    return groups


def _groups_from_rows(X, *, fallback: bool = True) -> np.ndarray:
    """A group that depends only on each row's values (CRC32 of its bytes), so it is the same at predict.

    At fit (``fallback``), a sample whose rows all hash alike gets index-parity groups instead."""
    X = np.asarray(X)
    n = X.shape[0] if X.ndim >= 1 else 0
    if X.ndim != 2 or X.dtype.kind not in "biuf":
        return np.arange(n) % 2
    rows = np.ascontiguousarray(X, dtype=np.float64)
    groups = np.array([zlib.crc32(row.tobytes()) % 2 for row in rows], dtype=int)
    return groups if np.unique(groups).size == 2 or not fallback else np.arange(n) % 2


def _n_rows(X) -> int:
    return X.shape[0] if hasattr(X, "shape") else len(X) if hasattr(X, "__len__") else np.asarray(X).shape[0]


class _WithGroupsLinearSVC(FairLinearSVC):
    def fit(self, X, y=None, sensitive_features=None, sample_weight=None):
        if sensitive_features is None:
            sensitive_features = _alternating_within_classes(y, _n_rows(X))
        return super().fit(X, y, sensitive_features=sensitive_features, sample_weight=sample_weight)


class _WithGroupsKernelSVC(FairKernelSVC):
    def fit(self, X, y=None, sensitive_features=None, sample_weight=None):
        if sensitive_features is None:
            sensitive_features = _alternating_within_classes(y, _n_rows(X))
        return super().fit(X, y, sensitive_features=sensitive_features, sample_weight=sample_weight)


class _WithGroupsProjection(FairProjection):
    def fit(self, X, y=None, sensitive_features=None, sample_weight=None):
        if sensitive_features is None:
            sensitive_features = _alternating_within_classes(y, _n_rows(X))
        return super().fit(X, y, sensitive_features=sensitive_features, sample_weight=sample_weight)


class _WithGroupsRidge(FairRidge):
    def fit(self, X, y=None, sensitive_features=None, sample_weight=None):
        if sensitive_features is None:
            sensitive_features = np.arange(_n_rows(X)) % 2
        return super().fit(X, y, sensitive_features=sensitive_features, sample_weight=sample_weight)


class _WithGroupsWasserstein(WassersteinFairRegressor):
    def fit(self, X, y=None, sensitive_features=None, sample_weight=None):
        if sensitive_features is None:
            sensitive_features = _groups_from_rows(X)
        # The checks' data sets have fewer than 10 calibration samples per group; lower the minimum to 2
        # (each half of a group's calibration sample then has a point) for the duration of this fit only.
        minimum = postprocessing.MIN_CALIBRATION_SAMPLES_PER_GROUP
        postprocessing.MIN_CALIBRATION_SAMPLES_PER_GROUP = 2
        try:
            return super().fit(X, y, sensitive_features=sensitive_features, sample_weight=sample_weight)
        finally:
            postprocessing.MIN_CALIBRATION_SAMPLES_PER_GROUP = minimum

    def predict(self, X, sensitive_features=None):
        if sensitive_features is None:
            sensitive_features = _groups_from_rows(X, fallback=False)
        return super().predict(X, sensitive_features=sensitive_features)

    def score(self, X, y, sensitive_features=None, sample_weight=None):
        if sensitive_features is None:
            sensitive_features = _groups_from_rows(X)
        return super().score(X, y, sensitive_features=sensitive_features, sample_weight=sample_weight)


for _cls, _name in [(_WithGroupsLinearSVC, "FairLinearSVC"), (_WithGroupsKernelSVC, "FairKernelSVC"),
                    (_WithGroupsProjection, "FairProjection"), (_WithGroupsRidge, "FairRidge"),
                    (_WithGroupsWasserstein, "WassersteinFairRegressor")]:
    _cls.__doc__ = f"{_name} that draws a deterministic synthetic group when sensitive_features is None (tests only)."


def _real_estimators():
    estimators = [
        FairLinearSVC(),
        FairKernelSVC(),
        FairProjection(),
        FairRidge(),
        WassersteinFairRegressor(Ridge(), random_state=0),
    ]
    if torch_available():
        from fairerm import FairRepresentation

        estimators.append(FairRepresentation(max_epochs=2, hidden_layer_sizes=(4,), representation_dim=2,
                                             random_state=0))
    return estimators


def _wrapped_estimators():
    estimators = [
        _WithGroupsLinearSVC(),
        _WithGroupsKernelSVC(),
        _WithGroupsProjection(constraint="demographic_parity"),  # the checks' y may be multiclass or continuous
        _WithGroupsRidge(),
        _WithGroupsWasserstein(Ridge(), random_state=0),
    ]
    if torch_available():
        estimators.append(_with_groups_representation()(max_epochs=2, hidden_layer_sizes=(4,),
                                                        representation_dim=2, random_state=0))
    return estimators


_REPRESENTATION_WRAPPER = []


def _with_groups_representation():
    """The FairRepresentation wrapper, defined only where torch is installed (cached: one class)."""
    if not _REPRESENTATION_WRAPPER:
        from fairerm import FairRepresentation

        global _WithGroupsRepresentation

        class _WithGroupsRepresentation(FairRepresentation):
            """FairRepresentation that draws index-parity groups when sensitive_features is None (tests only)."""

            def fit(self, X, y=None, sensitive_features=None):
                if sensitive_features is None:
                    sensitive_features = np.arange(_n_rows(X)) % 2
                return super().fit(X, y, sensitive_features=sensitive_features)

        _REPRESENTATION_WRAPPER.append(_WithGroupsRepresentation)
    return _REPRESENTATION_WRAPPER[0]


def _public_name(estimator) -> str:
    for cls in type(estimator).__mro__:
        if cls.__module__.startswith("fairerm"):
            return cls.__name__
    return type(estimator).__name__  # pragma: no cover


def _expected_failed_real(estimator):
    return _EXPECTED_FAILURES_REAL[_public_name(estimator)]


def _expected_failed_wrapped(estimator):
    return _EXPECTED_FAILURES_WRAPPED[_public_name(estimator)]


@pytest.mark.slow  # ~250 expected failures: pytest renders each traceback; the summary test below is the fast twin
@parametrize_with_checks(_real_estimators(), expected_failed_checks=_expected_failed_real)
def test_real_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", _real_estimators(), ids=_public_name)
def test_real_estimator_checks_summary(estimator):
    """All checks on the real estimator in one go: nothing fails unexpectedly, every listed check does fail,
    and every failure that is blamed on the missing groups is an error naming sensitive_features."""
    import warnings

    from sklearn.utils.estimator_checks import check_estimator

    expected = _expected_failed_real(estimator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, on_fail=None, expected_failed_checks=expected)
    unexpected = [(r["check_name"], repr(r["exception"])[:200]) for r in results if r["status"] == "failed"]
    assert unexpected == []
    by_name = {}
    for r in results:
        by_name.setdefault(r["check_name"], []).append(r)
    for name, reason in expected.items():
        if name not in by_name:
            continue  # a check that this scikit-learn version does not run for this estimator
        outcomes = by_name[name]
        assert any(r["status"] == "xfail" for r in outcomes), f"{name} is listed but passes: remove it"
        if reason in (_VALUE, _KEYWORD):
            for r in outcomes:
                chain, exc = [], r["exception"]
                while exc is not None:
                    chain.append(str(exc))
                    exc = exc.__cause__ or exc.__context__
                assert any("sensitive_features" in text for text in chain), (name, chain[:1])


@parametrize_with_checks(_wrapped_estimators(), expected_failed_checks=_expected_failed_wrapped)
def test_estimator_checks_with_synthetic_groups(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", _real_estimators(), ids=_public_name)
def test_fit_without_sensitive_features_names_it(estimator):
    """The documented decision: fit(X, y) raises a ValueError/TypeError that names sensitive_features."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = np.where(X[:, 0] > 0, 1, 0)
    with pytest.raises((ValueError, TypeError), match="sensitive_features"):
        estimator.fit(X, y)
