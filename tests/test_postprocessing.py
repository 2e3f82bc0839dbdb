"""WassersteinFairRegressor against closed forms (Gaussian barycenters), scipy/numpy references,
and the scikit-learn contract (Pipeline, metadata routing, pandas)."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn import config_context
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeRegressor
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
)

from fairerm.exceptions import FairermTypeError, FairermValueError, NotFittedError
from fairerm.postprocessing import (
    MIN_CALIBRATION_SAMPLES_PER_GROUP,
    WassersteinFairRegressor,
    empirical_quantiles,
    randomized_cdf_levels,
)

# Three Gaussian groups: x | s ~ N(m_s, sd_s^2), y = x + small noise, so f(x, s) ~= x.
WEIGHTS = np.array([0.5, 0.3, 0.2])
MEANS = np.array([0.0, 2.0, -1.0])
STDS = np.array([1.0, 0.5, 2.0])


def gaussian_groups(n, seed):
    rng = np.random.default_rng(seed)
    s = rng.choice(3, size=n, p=WEIGHTS)
    x = rng.normal(MEANS[s], STDS[s])
    X = np.column_stack([x, s == 1, s == 2]).astype(float)
    y = x + rng.normal(scale=0.1, size=n)
    return X, y, s


def ks_max(pred, s):
    groups = np.unique(s)
    return max(stats.ks_2samp(pred[s == a], pred[s == b]).statistic for a in groups for b in groups if a < b)


@pytest.fixture(scope="module")
def gaussian_fit():
    X, y, s = gaussian_groups(60_000, seed=1)
    model = WassersteinFairRegressor(LinearRegression(), random_state=0).fit(X, y, sensitive_features=s)
    X_new, y_new, s_new = gaussian_groups(20_000, seed=2)
    return model, X_new, y_new, s_new


# ---------------------------------------------------------------- the mathematics, in isolation
def test_randomized_cdf_matches_brute_force_with_ties():
    rng = np.random.default_rng(0)
    values = np.sort(rng.integers(0, 5, 30).astype(float))
    t = rng.integers(-1, 6, 200).astype(float)
    u = rng.uniform(size=200)
    expected = [((values < ti).sum() + ui * (1 + (values == ti).sum())) / 31 for ti, ui in zip(t, u)]
    np.testing.assert_allclose(randomized_cdf_levels(values, t, u), expected, rtol=0, atol=1e-15)


def test_empirical_quantiles_match_numpy_inverted_cdf():
    rng = np.random.default_rng(1)
    values = np.sort(rng.normal(size=37))
    levels = np.concatenate([[0.0, 1.0], np.arange(1, 37) / 37, rng.uniform(size=500)])
    expected = np.quantile(values, levels, method="inverted_cdf")
    np.testing.assert_array_equal(empirical_quantiles(values, levels), expected)


def test_randomized_cdf_is_exactly_uniform_under_exchangeability():
    # Draw N + 1 exchangeable tied values many times; the level of the extra one must be U[0, 1].
    rng = np.random.default_rng(2)
    levels = []
    for _ in range(4000):
        sample = rng.integers(0, 3, 8).astype(float)
        levels.append(randomized_cdf_levels(np.sort(sample[:7]), sample[7:], rng.uniform(size=1))[0])
    assert stats.kstest(levels, "uniform").pvalue > 0.01


# ---------------------------------------------------------------- acceptance: Gaussian groups
def test_gaussian_groups_reach_the_closed_form_barycenter(gaussian_fit):
    model, X_new, _, s_new = gaussian_fit
    pred = model.predict(X_new, sensitive_features=s_new)
    base = model.estimator_.predict(X_new)
    assert ks_max(base, s_new) > 0.3
    assert ks_max(pred, s_new) < 0.04
    # The barycenter of N(m_s, sd_s^2) is N(sum p_s m_s, (sum p_s sd_s)^2); every group's
    # predictions follow it.
    bary_mean, bary_std = WEIGHTS @ MEANS, WEIGHTS @ STDS
    assert abs(pred.mean() - bary_mean) < 0.05
    assert abs(pred.std() - bary_std) < 0.05
    for g in range(3):
        assert abs(pred[s_new == g].mean() - bary_mean) < 0.05
        assert abs(pred[s_new == g].std() - bary_std) < 0.05


def test_gaussian_groups_follow_the_optimal_transport_map(gaussian_fit):
    # g*(x, s) = bary_mean + bary_std * (f - m_s) / sd_s, the monotone map onto the barycenter.
    model, X_new, _, s_new = gaussian_fit
    pred = model.predict(X_new, sensitive_features=s_new)
    base = model.estimator_.predict(X_new)
    optimal = WEIGHTS @ MEANS + (WEIGHTS @ STDS) * (base - MEANS[s_new]) / STDS[s_new]
    assert np.mean(np.abs(pred - optimal)) < 0.05
    assert model.group_weights_ == pytest.approx(WEIGHTS, abs=0.01)


@pytest.mark.parametrize("alpha", [0.25, 0.5, 0.75])
def test_partial_fairness_shrinks_group_distances_by_one_minus_alpha(gaussian_fit, alpha):
    model, X_new, _, s_new = gaussian_fit
    base = model.estimator_.predict(X_new)
    partial = model.set_params(alpha=alpha).predict(X_new, sensitive_features=s_new)
    model.set_params(alpha=1.0)
    for a, b in ((0, 1), (0, 2), (1, 2)):
        w_base = stats.wasserstein_distance(base[s_new == a], base[s_new == b])
        w_partial = stats.wasserstein_distance(partial[s_new == a], partial[s_new == b])
        assert w_partial == pytest.approx((1 - alpha) * w_base, abs=0.05)


def test_alpha_zero_is_the_base_regressor():
    X, y, s = gaussian_groups(3000, seed=3)
    base = Ridge(alpha=0.1).fit(X, y)
    model = WassersteinFairRegressor(base, alpha=0.0, prefit=True, random_state=0).fit(X, sensitive_features=s)
    np.testing.assert_array_equal(model.predict(X, sensitive_features=s), base.predict(X))
    split = WassersteinFairRegressor(Ridge(), alpha=0.0, random_state=0).fit(X, y, sensitive_features=s)
    np.testing.assert_array_equal(split.predict(X, sensitive_features=s), split.estimator_.predict(X))


# ---------------------------------------------------------------- ties, small samples, seeds
@pytest.mark.parametrize("jitter", [1e-5, 0.0])
def test_shallow_tree_with_few_values_still_gives_a_fair_output(jitter):
    X, y, s = gaussian_groups(60_000, seed=4)
    model = WassersteinFairRegressor(DecisionTreeRegressor(max_depth=2), jitter=jitter, random_state=0)
    model.fit(X, y, sensitive_features=s)
    X_new, _, s_new = gaussian_groups(20_000, seed=5)
    base = model.estimator_.predict(X_new)
    assert len(np.unique(base)) <= 4 and ks_max(base, s_new) > 0.3
    assert ks_max(model.predict(X_new, sensitive_features=s_new), s_new) < 0.04


@pytest.mark.slow
def test_demographic_parity_is_exact_even_with_a_tiny_calibration_sample():
    # With 10 + 25 calibration points the guarantee is still exact: over fresh calibration
    # samples and one fresh test point per group, the two groups' outputs have the same law
    # (a finite-sample statement, so the KS test must not reject), while the base regressor's
    # outputs are far apart.
    rng = np.random.default_rng(6)
    base = LinearRegression().fit(np.array([[0.0], [1.0]]), np.array([0.0, 1.0]))  # f(x) = x
    s_cal, s_new = np.repeat([0, 1], [10, 25]), np.array([0, 1])

    def draw(s):
        return rng.normal(loc=np.where(s == 1, 3.0, 0.0), scale=np.where(s == 1, 0.5, 1.0))[:, None]

    outputs, inputs = [], []
    for trial in range(1500):
        model = WassersteinFairRegressor(base, prefit=True, random_state=trial)
        model.fit(draw(s_cal), sensitive_features=s_cal)
        X_new = draw(s_new)
        outputs.append(model.predict(X_new, sensitive_features=s_new))
        inputs.append(X_new[:, 0])
    outputs, inputs = np.array(outputs), np.array(inputs)
    assert stats.ks_2samp(outputs[:, 0], outputs[:, 1]).pvalue > 0.001
    assert stats.ks_2samp(inputs[:, 0], inputs[:, 1]).statistic > 0.8


def test_same_seed_gives_bit_identical_outputs():
    X, y, s = gaussian_groups(2000, seed=7)
    first = WassersteinFairRegressor(Ridge(), random_state=42).fit(X, y, sensitive_features=s)
    second = WassersteinFairRegressor(Ridge(), random_state=42).fit(X, y, sensitive_features=s)
    other = WassersteinFairRegressor(Ridge(), random_state=43).fit(X, y, sensitive_features=s)
    p1 = first.predict(X, sensitive_features=s)
    np.testing.assert_array_equal(p1, second.predict(X, sensitive_features=s))
    np.testing.assert_array_equal(p1, first.predict(X, sensitive_features=s))
    assert not np.array_equal(p1, other.predict(X, sensitive_features=s))
    rng_model = WassersteinFairRegressor(Ridge(), random_state=np.random.RandomState(0))
    rng_model.fit(X, y, sensitive_features=s)
    assert rng_model.random_seed_ >= 0


def test_a_row_gets_the_same_output_alone_or_in_a_batch():
    X, y, s = gaussian_groups(2000, seed=14)
    model = WassersteinFairRegressor(Ridge(), random_state=5).fit(X, y, sensitive_features=s)
    batch = model.predict(X[:50], sensitive_features=s[:50])
    one_by_one = [model.predict(X[i : i + 1], sensitive_features=s[i : i + 1])[0] for i in range(50)]
    np.testing.assert_array_equal(batch, one_by_one)
    reordered = model.predict(X[:50][::-1], sensitive_features=s[:50][::-1])[::-1]
    np.testing.assert_array_equal(batch, reordered)


def test_repeated_rows_get_fresh_draws_and_stay_fair():
    # Only six distinct rows (group x a three-level feature): every prediction is a tie with
    # thousands of others. Fairness must survive through the per-occurrence draws.
    rng = np.random.default_rng(15)

    def draw(n):
        s = rng.choice(2, size=n, p=[0.7, 0.3])
        level = np.where(s == 1, rng.choice(3, size=n, p=[0.6, 0.3, 0.1]), rng.choice(3, size=n, p=[0.1, 0.3, 0.6]))
        X = np.column_stack([level, s]).astype(float)
        return X, level + 0.5 * s + rng.normal(scale=0.1, size=n), s

    X, y, s = draw(20_000)
    model = WassersteinFairRegressor(LinearRegression(), random_state=0).fit(X, y, sensitive_features=s)
    X_new, _, s_new = draw(20_000)
    pred = model.predict(X_new, sensitive_features=s_new)
    assert len(np.unique(X_new, axis=0)) == 6 and len(np.unique(pred)) > 1000
    assert ks_max(model.estimator_.predict(X_new), s_new) > 0.4
    assert ks_max(pred, s_new) < 0.04


def test_fitted_attributes():
    X, y, s = gaussian_groups(1000, seed=8)
    labels = np.array(["a", "b", "c"])[s]
    model = WassersteinFairRegressor(Ridge(), calibration_size=0.3, random_state=0)
    model.fit(X, y, sensitive_features=labels)
    assert model.groups_.tolist() == ["a", "b", "c"]
    counts = np.bincount(s)
    np.testing.assert_array_equal(model.n_calibration_samples_, np.round(0.3 * counts).astype(int))
    np.testing.assert_allclose(model.group_weights_, model.n_calibration_samples_ / model.n_calibration_samples_.sum())
    for cdf_part, quantile_part, n in zip(model.cdf_values_, model.quantile_values_, model.n_calibration_samples_):
        assert cdf_part.shape == (n // 2,) and quantile_part.shape == (n - n // 2,)
        assert np.all(np.diff(cdf_part) >= 0) and np.all(np.diff(quantile_part) >= 0)
        assert np.intersect1d(cdf_part, quantile_part).size == 0
    assert model.jitter_scale_ > 0
    # The base regressor saw only the other 70 %: its coefficients differ from a fit on all data.
    assert not np.allclose(model.estimator_.coef_, Ridge().fit(X, y).coef_)
    # n_features_in_ is the base regressor's, and absent before fit
    assert model.n_features_in_ == X.shape[1] == model.estimator_.n_features_in_
    assert not hasattr(WassersteinFairRegressor(Ridge()), "n_features_in_")


# ---------------------------------------------------------------- scikit-learn contract
def test_pipeline_and_metadata_routing():
    X, y, s = gaussian_groups(3000, seed=9)
    X = X * 100.0
    standalone = WassersteinFairRegressor(Ridge(), random_state=0)
    standalone.fit(StandardScaler().fit_transform(X), y, sensitive_features=s)
    expected = standalone.predict(StandardScaler().fit(X).transform(X), sensitive_features=s)

    pipe = make_pipeline(StandardScaler(), WassersteinFairRegressor(Ridge(), random_state=0))
    pipe.fit(X, y, wassersteinfairregressor__sensitive_features=s)
    np.testing.assert_allclose(pipe.predict(X, sensitive_features=s), expected, rtol=1e-12)

    with config_context(enable_metadata_routing=True):
        step = WassersteinFairRegressor(Ridge(), random_state=0)
        step.set_fit_request(sensitive_features=True).set_predict_request(sensitive_features=True)
        step.set_score_request(sensitive_features=True)
        routed = make_pipeline(StandardScaler(), step).fit(X, y, sensitive_features=s)
        np.testing.assert_allclose(routed.predict(X, sensitive_features=s), expected, rtol=1e-12)
        assert routed.score(X, y, sensitive_features=s) == pytest.approx(
            1 - np.sum((y - expected) ** 2) / np.sum((y - y.mean()) ** 2)
        )


def test_grid_search_routes_sensitive_features_to_fit_and_score():
    X, y, s = gaussian_groups(3000, seed=13)
    with config_context(enable_metadata_routing=True):
        model = WassersteinFairRegressor(Ridge(), random_state=0)
        model.set_fit_request(sensitive_features=True).set_score_request(sensitive_features=True)
        search = GridSearchCV(model, {"alpha": [0.0, 0.5, 1.0]}, cv=KFold(3)).fit(X, y, sensitive_features=s)
    scores = search.cv_results_["mean_test_score"]
    assert scores[0] > scores[1] > scores[2]  # fairness costs accuracy here: the groups' means differ
    # Fold 0 by hand: fit on rows 1000.., score on rows ..1000, with the groups of those rows.
    by_hand = WassersteinFairRegressor(Ridge(), alpha=0.5, random_state=0)
    by_hand.fit(X[1000:], y[1000:], sensitive_features=s[1000:])
    expected = by_hand.score(X[:1000], y[:1000], sensitive_features=s[:1000])
    assert search.cv_results_["split0_test_score"][1] == pytest.approx(expected, rel=1e-12)


def test_pandas_input_gives_the_same_predictions():
    X, y, s = gaussian_groups(2000, seed=10)
    frame = pd.DataFrame(X, columns=["x", "is_1", "is_2"])
    groups = pd.Series(np.array(["a", "b", "c"])[s], name="group")
    on_pandas = WassersteinFairRegressor(Ridge(), random_state=3).fit(frame, pd.Series(y), sensitive_features=groups)
    on_numpy = WassersteinFairRegressor(Ridge(), random_state=3).fit(X, y, sensitive_features=groups.to_numpy())
    np.testing.assert_allclose(
        on_pandas.predict(frame, sensitive_features=groups),
        on_numpy.predict(X, sensitive_features=groups.to_numpy()),
        rtol=0, atol=1e-10,
    )
    assert list(on_pandas.estimator_.feature_names_in_) == ["x", "is_1", "is_2"]


# ---------------------------------------------------------------- errors
@pytest.fixture(scope="module")
def small_data():
    return gaussian_groups(600, seed=11)


def test_unseen_group_at_predict_time(small_data):
    X, y, s = small_data
    model = WassersteinFairRegressor(Ridge(), random_state=0).fit(X, y, sensitive_features=s)
    with pytest.raises(FairermValueError, match=r"group\(s\) \[7\] not seen in fit"):
        model.predict(X[:3], sensitive_features=[0, 7, 1])
    only_one = model.predict(X[:5], sensitive_features=[2] * 5)  # one known group is fine
    assert only_one.shape == (5,)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(sensitive=np.zeros(600)), FairermValueError, "at least 2 are needed"),
        (dict(y=np.ones(599)), FairermValueError, "y has 599 entries but X has 600"),
        (dict(sensitive=np.zeros(10)), FairermValueError, "sensitive_features has 10 entries"),
        (dict(y_nan=True), FairermValueError, "y contains NaN"),
        (dict(X_nan=True), FairermValueError, "X contains NaN"),
        (dict(sensitive_nan=True), FairermValueError, "sensitive_features contains NaN"),
        (dict(params=dict(alpha=1.5)), FairermValueError, "alpha must be <= 1"),
        (dict(params=dict(calibration_size=1.0)), FairermValueError, "calibration_size must be < 1"),
        (dict(params=dict(jitter=-1.0)), FairermValueError, "jitter must be >= 0"),
        (dict(params=dict(random_state="seed")), FairermTypeError, "random_state must be None"),
        (dict(params=dict(estimator="ridge")), FairermTypeError, "estimator must be a regressor"),
        (dict(params=dict(prefit=True)), NotFittedError, "prefit=True but the estimator Ridge is not fitted"),
    ],
)
def test_fit_errors_name_the_argument(small_data, kwargs, error, match):
    X, y, s = small_data
    X, y, s = X.copy(), kwargs.get("y", y.copy()), kwargs.get("sensitive", s.astype(float))
    if kwargs.get("y_nan"):
        y[3] = np.nan
    if kwargs.get("X_nan"):
        X[4, 0] = np.nan
    if kwargs.get("sensitive_nan"):
        s = s.copy()
        s[5] = np.nan
    params = dict(estimator=Ridge(), random_state=0) | kwargs.get("params", {})
    with pytest.raises(error, match=match):
        WassersteinFairRegressor(**params).fit(X, y, sensitive_features=s)


def test_too_small_calibration_part_for_a_group():
    X, y, _ = gaussian_groups(300, seed=12)
    s = np.zeros(300, dtype=int)
    s[:15] = 1  # 15 samples: calibration_size=0.5 puts 8 (< 10) in calibration
    with pytest.raises(FairermValueError, match=f"group 1 has 15 samples.*at least {MIN_CALIBRATION_SAMPLES_PER_GROUP}"):
        WassersteinFairRegressor(Ridge(), random_state=0).fit(X, y, sensitive_features=s)
    with pytest.raises(FairermValueError, match=r"group\(s\) 1 \(9\) have fewer than 10"):
        WassersteinFairRegressor(Ridge().fit(X, y), prefit=True).fit(X[6:], sensitive_features=s[6:])
    WassersteinFairRegressor(Ridge(), calibration_size=0.7, random_state=0).fit(X, y, sensitive_features=s)


def test_predict_before_fit_and_bad_predict_input(small_data):
    X, y, s = small_data
    with pytest.raises(NotFittedError, match="not fitted yet"):
        WassersteinFairRegressor(Ridge()).predict(X, sensitive_features=s)
    model = WassersteinFairRegressor(Ridge(), random_state=0).fit(X, y, sensitive_features=s)
    with pytest.raises(FairermValueError, match="sensitive_features has 600 entries but X has 10"):
        model.predict(X[:10], sensitive_features=s)
    X_nan = X.copy()
    X_nan[0, 0] = np.inf
    with pytest.raises(FairermValueError, match="X contains NaN or infinite"):
        model.predict(X_nan, sensitive_features=s)


@pytest.mark.parametrize(
    "check", [check_no_attributes_set_in_init, check_get_params_invariance, check_parameters_default_constructible]
)
def test_sklearn_constructor_contract(check):
    check("WassersteinFairRegressor", WassersteinFairRegressor(Ridge(), alpha=0.5, random_state=1))


def test_fit_does_not_touch_the_parameters_or_a_prefit_estimator(small_data):
    X, y, s = small_data
    base = Ridge().fit(X, y)
    coef = base.coef_.copy()
    model = WassersteinFairRegressor(base, prefit=True, random_state=np.random.RandomState(0))
    params = model.get_params(deep=False)
    model.fit(X, sensitive_features=s)
    assert model.get_params(deep=False) == params
    assert model.estimator_ is base
    np.testing.assert_array_equal(base.coef_, coef)
    unfitted = Ridge()
    WassersteinFairRegressor(unfitted, random_state=0).fit(X, y, sensitive_features=s)
    assert not hasattr(unfitted, "coef_")  # cloned, not fitted in place


def test_per_row_draws_depend_on_the_values_not_the_container():
    """The same rows as dense float64, float32 (same values), DataFrame, CSR and CSC get the same
    fair predictions: the jitter and U of a row are a hash of its values (issue 16)."""
    import pandas as pd
    import scipy.sparse as sp
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(5)
    n = 20_000
    s = rng.integers(0, 2, n)
    X32 = (rng.normal(size=(n, 4)) * (rng.random((n, 4)) < 0.5)).astype(np.float32)  # many zeros
    X32[:, 0] += 2 * s
    X = X32.astype(np.float64)
    y = X @ np.array([1.0, 0.5, -0.3, 0.0]) + 0.1 * rng.normal(size=n)
    model = WassersteinFairRegressor(Ridge(), random_state=0).fit(X, y, sensitive_features=s)
    reference = model.predict(X, sensitive_features=s)
    for container in (X32, pd.DataFrame(X), sp.csr_matrix(X), sp.csc_matrix(X32)):
        np.testing.assert_array_equal(model.predict(container, sensitive_features=s), reference)
    # and the draws still differ between different rows (not one shared draw)
    jitter_free = model.estimator_.predict(X)
    assert np.unique(np.round(reference - jitter_free, 12)).size > n // 2
