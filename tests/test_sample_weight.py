"""sample_weight (issue 19) against independent references: repeated rows, dropped rows, scikit-learn's
SVC and Ridge with weights, fairlearn's metrics with weights, scipy's weighted Wasserstein distance.

Every reference here is computed by code that knows nothing of our weights: the same estimator on the
data with each row repeated ``w_i`` times (integer weights) or with the zero-weight rows removed, or
another library's weighted implementation.
"""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn import config_context
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from fairerm import FairKernelSVC, FairLinearSVC, FairProjection, WassersteinFairRegressor, fair_path
from fairerm.constraints import EqualOpportunity, FairnessConstraint, constraint_vectors
from fairerm.exceptions import FairermTypeError, FairermValueError
from fairerm.metrics import (
    demographic_parity_difference,
    distances_between_groups,
    equal_opportunity_difference,
    equalized_odds_difference,
    fairness_summary,
    group_table,
    ks_distance_between_groups,
    wasserstein_distance_between_groups,
)
from fairerm.regression import (
    FairRidge,
    empirical_quantiles,
    randomized_cdf_levels,
)
from fairerm.regression._barycenter import weighted_empirical_quantiles, weighted_randomized_cdf_levels


def _problem(n=160, d=4, seed=0):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 2, n)
    X = rng.normal(size=(n, d))
    X[:, 0] += s
    y = np.where(X[:, 0] + X[:, 1] + 0.6 * rng.normal(size=n) > 0.5, 1, -1)
    w = rng.integers(0, 4, n)
    w[:4] = [0, 1, 2, 3]
    return X, y, s, w


def _repeat(w, *arrays):
    return [np.repeat(a, w, axis=0) for a in arrays]


# ------------------------------------------------------------------ the fair SVMs
@pytest.mark.parametrize("epsilon", [0.0, 0.05])
@pytest.mark.parametrize("solver", ["cvxpy", "dcd"])
def test_linear_integer_weights_equal_repeated_rows(epsilon, solver):
    X, y, s, w = _problem()
    weighted = FairLinearSVC(C=0.7, epsilon=epsilon, solver=solver).fit(X, y, sensitive_features=s, sample_weight=w)
    Xr, yr, sr = _repeat(w, X, y, s)
    repeated = FairLinearSVC(C=0.7, epsilon=epsilon, solver=solver).fit(Xr, yr, sensitive_features=sr)
    assert weighted.status_ == repeated.status_ == "optimal"
    np.testing.assert_allclose(weighted.decision_function(X), repeated.decision_function(X), atol=1e-6)
    np.testing.assert_allclose(weighted.constraint_vectors_, repeated.constraint_vectors_, atol=1e-12)
    assert weighted.objective_ == pytest.approx(repeated.objective_, rel=1e-7)


def test_linear_zero_weight_equals_dropping_the_row():
    X, y, s, w = _problem(seed=1)
    w = np.where(w == 0, 0.0, 1.0 + 0.5 * np.arange(w.size) % 3)  # real-valued weights, some zero
    weighted = FairLinearSVC(C=0.5, solver="dcd").fit(X, y, sensitive_features=s, sample_weight=w)
    keep = w > 0
    dropped = FairLinearSVC(C=0.5, solver="dcd").fit(X[keep], y[keep], sensitive_features=s[keep],
                                                     sample_weight=w[keep])
    np.testing.assert_allclose(weighted.coef_, dropped.coef_, atol=1e-7)
    np.testing.assert_allclose(weighted.intercept_, dropped.intercept_, atol=1e-7)
    assert np.all(weighted.solution_.alpha[~keep] == 0.0)  # a zero box: alpha_i = 0


def test_linear_eps_huge_equals_sklearn_svc_with_weights():
    """Unconstrained, the weighted hinge SVM with an unpenalised intercept is libsvm's weighted linear SVC."""
    X, y, s, w = _problem(seed=2)
    w = w + 0.25 * (np.arange(w.size) % 5)  # non-integer
    ours = FairLinearSVC(C=0.3, epsilon=1e6, solver="cvxpy").fit(X, y, sensitive_features=s, sample_weight=w)
    reference = SVC(kernel="linear", C=0.3, tol=1e-10).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ours.decision_function(X), reference.decision_function(X), atol=1e-5)


def test_kernel_eps_huge_equals_sklearn_svc_with_weights():
    X, y, s, w = _problem(seed=3)
    w = w * 0.5 + 0.1 * (np.arange(w.size) % 3)
    ours = FairKernelSVC(C=2.0, gamma=0.4, epsilon=1e6, tol=1e-7).fit(X, y, sensitive_features=s, sample_weight=w)
    reference = SVC(kernel="rbf", gamma=0.4, C=2.0, tol=1e-10).fit(X, y, sample_weight=w)
    assert ours.status_ == "optimal"
    np.testing.assert_allclose(ours.decision_function(X), reference.decision_function(X), atol=1e-4)


@pytest.mark.parametrize("epsilon", [0.0, 0.02])
def test_kernel_integer_weights_equal_repeated_rows_and_zero_weight_drops(epsilon):
    X, y, s, w = _problem(n=120, seed=4)
    model = dict(C=1.0, gamma=0.3, epsilon=epsilon, tol=1e-7)
    weighted = FairKernelSVC(**model).fit(X, y, sensitive_features=s, sample_weight=w)
    Xr, yr, sr = _repeat(w, X, y, s)
    repeated = FairKernelSVC(**model).fit(Xr, yr, sensitive_features=sr)
    assert weighted.status_ == repeated.status_ == "optimal"
    np.testing.assert_allclose(weighted.decision_function(X), repeated.decision_function(X), atol=1e-5)
    np.testing.assert_allclose(weighted.constraint_value_, repeated.constraint_value_, atol=1e-6)
    assert not np.isin(np.flatnonzero(w == 0), weighted.support_).any()


def test_default_gamma_scale_is_that_of_the_repeated_rows():
    """gamma="scale" was the variance of every row, zero weights included: 0.0137 kept against 0.3216 dropped,
    decision functions 2.6 apart. It is now the weighted variance (scikit-learn's SVC ignores the weights)."""
    X, y, s, w = _problem(n=120, seed=4)
    X[w == 0] *= 10.0  # rows that would change the variance if they counted
    Xr, yr, sr = _repeat(w, X, y, s)
    weighted = FairKernelSVC(C=1.0, tol=1e-7).fit(X, y, sensitive_features=s, sample_weight=w)
    repeated = FairKernelSVC(C=1.0, tol=1e-7).fit(Xr, yr, sensitive_features=sr)
    assert weighted.gamma_ == pytest.approx(1.0 / (X.shape[1] * Xr.var()), rel=1e-12)
    assert weighted.gamma_ == pytest.approx(repeated.gamma_, rel=1e-12)
    np.testing.assert_allclose(weighted.decision_function(X), repeated.decision_function(X), atol=1e-5)
    unweighted = FairKernelSVC(C=1.0, tol=1e-7).fit(X, y, sensitive_features=s)
    assert unweighted.gamma_ == pytest.approx(1.0 / (X.shape[1] * X.var()), rel=1e-12)  # unchanged without weights


@pytest.mark.parametrize("route", ["sparse", "dask"])
def test_approximate_kernels_resolve_gamma_on_the_weighted_rows(route):
    import scipy.sparse as sp

    X, y, s, w = _problem(n=120, seed=4)
    X[w == 0] *= 10.0
    Xr = np.repeat(X, w, axis=0)
    if route == "dask":
        da = pytest.importorskip("dask.array")
        data = da.from_array(X, chunks=(40, 4))
    else:
        data = sp.csr_matrix(X)
    model = FairKernelSVC(C=1.0, approximation="rff", n_components=50, random_state=0)
    model.fit(data, y, sensitive_features=s, sample_weight=w)
    assert model.gamma_ == pytest.approx(1.0 / (X.shape[1] * Xr.var()), rel=1e-10)


def test_weighted_constraint_vectors_are_weighted_group_means():
    X, y, s, w = _problem(seed=5)
    w = w.astype(float) + 0.3
    pos = y > 0
    expected = (np.average(X[pos & (s == 0)], axis=0, weights=w[pos & (s == 0)])
                - np.average(X[pos & (s == 1)], axis=0, weights=w[pos & (s == 1)]))
    np.testing.assert_allclose(constraint_vectors(X, y, s, sample_weight=w)[0], expected, atol=1e-13)
    model = FairProjection().fit(X, y, sensitive_features=s, sample_weight=w)
    np.testing.assert_allclose(model.constraint_vectors_[0], expected, atol=1e-13)
    # the transform removes the weighted direction and keeps the orthogonal part
    Z = model.transform(X)
    np.testing.assert_allclose(Z @ expected, 0.0, atol=1e-10)


def test_projection_integer_weights_equal_repeated_rows():
    X, y, s, w = _problem(seed=6)
    s = np.arange(len(s)) % 3  # three groups: two dependent directions
    weighted = FairProjection("equalized_odds").fit(X, y, sensitive_features=s, sample_weight=w)
    Xr, yr, sr = _repeat(w, X, y, s)
    repeated = FairProjection("equalized_odds").fit(Xr, yr, sensitive_features=sr)
    np.testing.assert_allclose(weighted.transform(X), repeated.transform(X), atol=1e-12)


def test_zero_weight_of_every_positive_of_a_group_is_refused():
    X, y, s, _ = _problem(seed=7)
    w = np.ones(len(y))
    w[(y > 0) & (s == 1)] = 0.0
    with pytest.raises(FairermValueError, match=r"group\(s\) \[1\] have no positive examples .* sample_weight"):
        FairLinearSVC().fit(X, y, sensitive_features=s, sample_weight=w)


def test_a_constraint_without_sample_weight_support_is_refused_not_ignored():
    class Old(FairnessConstraint):  # the pre-issue-19 signature of a user's constraint
        def weights(self, y_signed, sens):
            return EqualOpportunity().weights(y_signed, sens)

    X, y, s, w = _problem(seed=8)
    FairLinearSVC(constraint=Old()).fit(X, y, sensitive_features=s)  # still works without weights
    with pytest.raises(FairermTypeError, match="takes no sample_weight"):
        FairLinearSVC(constraint=Old()).fit(X, y, sensitive_features=s, sample_weight=w)


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize("bad, error, match", [
    (np.ones(5), FairermValueError, "sample_weight has 5 entries but X has 160"),
    (np.ones((160, 1)), FairermValueError, "sample_weight must be 1-D"),
    (np.r_[np.nan, np.ones(159)], FairermValueError, r"sample_weight contains NaN or infinite values at rows \[0\]"),
    (np.r_[np.ones(10), -1.0, np.ones(149)], FairermValueError,
     "sample_weight must be non-negative; got -1.0 at row 10"),
    (np.zeros(160), FairermValueError, "sample_weight is zero for every sample"),
    (np.array(["a"] * 160), FairermTypeError, "sample_weight must hold real numbers"),
])
@pytest.mark.parametrize("make", [
    lambda: FairLinearSVC(), lambda: FairKernelSVC(), lambda: FairProjection(), lambda: FairRidge(),
    lambda: WassersteinFairRegressor(LinearRegression()),
], ids=["FairLinearSVC", "FairKernelSVC", "FairProjection", "FairRidge", "WassersteinFairRegressor"])
def test_bad_weights_are_refused_naming_sample_weight(make, bad, error, match):
    X, y, s, _ = _problem()
    with pytest.raises(error, match=match):
        make().fit(X, y, sensitive_features=s, sample_weight=bad)


def test_weights_of_one_class_all_zero_are_refused():
    X, y, s, _ = _problem()
    w = np.where(y > 0, 1.0, 0.0)
    with pytest.raises(FairermValueError, match="sample_weight is zero for every sample of class -1"):
        FairLinearSVC(constraint="demographic_parity").fit(X, y, sensitive_features=s, sample_weight=w)


def test_the_callers_weights_are_not_modified():
    X, y, s, w = _problem()
    w = w.astype(float)
    before = w.copy()
    FairLinearSVC().fit(X, y, sensitive_features=s, sample_weight=w)
    FairRidge().fit(X, X[:, 0], sensitive_features=s, sample_weight=w)
    np.testing.assert_array_equal(w, before)


# ------------------------------------------------------------------ fair ridge
def test_ridge_eps_huge_equals_sklearn_ridge_with_weights():
    X, y, s, w = _problem(seed=9)
    target = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 3.0 * s
    w = w + 0.2
    ours = FairRidge(alpha=0.7, epsilon=1e6).fit(X, target, sensitive_features=s, sample_weight=w)
    reference = Ridge(alpha=0.7).fit(X, target, sample_weight=w)
    np.testing.assert_allclose(ours.coef_, reference.coef_, atol=1e-10)
    assert ours.intercept_ == pytest.approx(reference.intercept_, abs=1e-10)


@pytest.mark.parametrize("epsilon", [0.0, 0.05])
def test_ridge_integer_weights_equal_repeated_rows(epsilon):
    X, y, s, w = _problem(seed=10)
    target = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 3.0 * s
    weighted = FairRidge(alpha=0.7, epsilon=epsilon).fit(X, target, sensitive_features=s, sample_weight=w)
    Xr, tr, sr = _repeat(w, X, target, s)
    repeated = FairRidge(alpha=0.7, epsilon=epsilon).fit(Xr, tr, sensitive_features=sr)
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, atol=1e-10)
    assert weighted.intercept_ == pytest.approx(repeated.intercept_, abs=1e-10)
    # the weighted mean predictions of the groups differ by at most epsilon
    pred = weighted.predict(X)
    gap = np.average(pred[s == 0], weights=w[s == 0]) - np.average(pred[s == 1], weights=w[s == 1])
    assert abs(gap) <= epsilon + 1e-9


# ------------------------------------------------------------------ fair_path
def test_fair_path_passes_the_weights_and_weights_its_scores():
    X, y, s, w = _problem(seed=11)
    path = fair_path(FairLinearSVC(C=0.5), X, y, sensitive_features=s, epsilons=[0.0, 0.1], sample_weight=w)
    for row, model in zip(path.results.itertuples(), path.estimators):
        single = FairLinearSVC(C=0.5, epsilon=row.epsilon).fit(X, y, sensitive_features=s, sample_weight=w)
        np.testing.assert_allclose(model.decision_function(X), single.decision_function(X), atol=1e-6)
        pred = single.predict(X)
        assert row.train_accuracy == pytest.approx(np.average(pred == y, weights=w))
        assert row.train_deo == pytest.approx(equal_opportunity_difference(y, pred, sensitive_features=s,
                                                                           sample_weight=w))


# ------------------------------------------------------------------ metrics
def test_classification_metrics_equal_fairlearns_with_weights():
    fairlearn = pytest.importorskip("fairlearn.metrics")
    rng = np.random.default_rng(12)
    n = 500
    y_true, y_pred = rng.integers(0, 2, n), rng.integers(0, 2, n)
    sens = rng.choice(["a", "b", "c"], n)
    w = rng.exponential(size=n)
    w[:20] = 0.0
    for ours, theirs in [(equal_opportunity_difference, fairlearn.equal_opportunity_difference),
                         (demographic_parity_difference, fairlearn.demographic_parity_difference),
                         (equalized_odds_difference, fairlearn.equalized_odds_difference)]:
        assert ours(y_true, y_pred, sensitive_features=sens, sample_weight=w) == pytest.approx(
            theirs(y_true, y_pred, sensitive_features=sens, sample_weight=w), abs=1e-12)
        assert ours(y_true, y_pred, sensitive_features=sens, sample_weight=w) != pytest.approx(
            ours(y_true, y_pred, sensitive_features=sens), abs=1e-6)  # the weights change the value


def test_group_table_and_summary_with_integer_weights_equal_repeated_rows():
    rng = np.random.default_rng(13)
    n = 300
    y_true, y_pred = rng.integers(0, 2, n), rng.integers(0, 2, n)
    sens = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "race": rng.choice(["x", "y"], n)})
    w = rng.integers(0, 4, n)
    weighted = group_table(y_true, y_pred, sensitive_features=sens, sample_weight=w)
    repeated = group_table(*_repeat(w, y_true, y_pred), sensitive_features=sens.loc[np.repeat(np.arange(n), w)])
    pd.testing.assert_frame_equal(weighted, repeated, check_dtype=False)
    assert fairness_summary(y_true, y_pred, sensitive_features=sens, sample_weight=w) == pytest.approx(
        fairness_summary(*_repeat(w, y_true, y_pred), sensitive_features=sens.loc[np.repeat(np.arange(n), w)]))


def test_regression_distances_with_weights_equal_scipy_and_repeated_rows():
    rng = np.random.default_rng(14)
    n = 400
    pred = np.round(rng.normal(size=n), 1)  # ties
    sens = rng.integers(0, 2, n)
    w = rng.integers(0, 5, n).astype(float)
    a, b = sens == 0, sens == 1
    expected = stats.wasserstein_distance(pred[a], pred[b], u_weights=w[a], v_weights=w[b])
    assert wasserstein_distance_between_groups(pred, sensitive_features=sens, sample_weight=w) == pytest.approx(
        expected, abs=1e-12)
    pr, sr = _repeat(w.astype(int), pred, sens)
    assert ks_distance_between_groups(pred, sensitive_features=sens, sample_weight=w) == pytest.approx(
        stats.ks_2samp(pr[sr == 0], pr[sr == 1]).statistic, abs=1e-12)
    table = distances_between_groups(pred, sensitive_features=sens, sample_weight=w, distance="wasserstein")
    assert table.loc[0, 1] == pytest.approx(expected, abs=1e-12)


# ------------------------------------------------------------------ the barycenter post-processing
def test_weighted_cdf_and_quantiles_equal_repeated_values():
    rng = np.random.default_rng(15)
    values = np.sort(rng.integers(0, 6, 25).astype(float))
    weights = rng.integers(1, 4, 25).astype(float)
    repeated = np.repeat(values, weights.astype(int))
    t, u = rng.integers(-1, 7, 300).astype(float), rng.uniform(size=300)
    np.testing.assert_allclose(weighted_randomized_cdf_levels(values, weights, t, u, np.ones(300)),
                               randomized_cdf_levels(repeated, t, u), rtol=0, atol=1e-15)
    levels = np.concatenate([[0.0, 1.0], np.arange(1, repeated.size) / repeated.size, u])
    np.testing.assert_array_equal(weighted_empirical_quantiles(values, weights, levels),
                                  empirical_quantiles(repeated, levels))
    np.testing.assert_array_equal(weighted_empirical_quantiles(values, weights, levels),
                                  np.quantile(values, levels, method="inverted_cdf", weights=weights))


def test_weighted_cdf_level_is_exactly_uniform_under_covariate_shift():
    """Calibration points from P, the new one from P_w (dP_w ~ w dP) with its own weight: the level is U[0, 1]."""
    rng = np.random.default_rng(16)
    weight = lambda x: np.exp(x)  # noqa: E731 - the likelihood ratio of N(1, 1) against N(0, 1), up to a constant
    levels, unweighted = [], []
    for _ in range(3000):
        sample = np.sort(rng.normal(size=9))
        new = rng.normal(1.0, 1.0, size=1)  # drawn from P_w
        u = rng.uniform(size=1)
        levels.append(weighted_randomized_cdf_levels(sample, weight(sample), new, u, weight(new))[0])
        unweighted.append(randomized_cdf_levels(sample, new, u)[0])
    assert stats.kstest(levels, "uniform").pvalue > 0.01
    assert stats.kstest(unweighted, "uniform").pvalue < 1e-6  # the shift is real: the plain rank is not uniform


def _shifted_groups(n, seed):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 2, n)
    x = rng.normal(size=n) + 1.5 * s
    X = np.column_stack([x, s]).astype(float)
    y = 2 * x + rng.normal(scale=0.2, size=n)
    return X, y, s


def test_unit_weights_give_the_unweighted_model_and_scale_does_not_matter():
    X, y, s = _shifted_groups(600, 17)
    plain = WassersteinFairRegressor(LinearRegression(), random_state=0).fit(X, y, sensitive_features=s)
    ones = WassersteinFairRegressor(LinearRegression(), random_state=0).fit(X, y, sensitive_features=s,
                                                                            sample_weight=np.ones(600))
    scaled = WassersteinFairRegressor(LinearRegression(), random_state=0).fit(X, y, sensitive_features=s,
                                                                              sample_weight=np.full(600, 7.0))
    expected = plain.predict(X, sensitive_features=s)
    np.testing.assert_allclose(ones.predict(X, sensitive_features=s), expected, atol=1e-12)
    np.testing.assert_allclose(scaled.predict(X, sensitive_features=s), expected, atol=1e-12)


def test_weighted_barycenter_is_fair_under_the_weighted_population():
    X, y, s = _shifted_groups(40_000, 18)
    w = np.exp(0.8 * X[:, 0] * s)  # the population the sample stands for: group 1 shifted to larger x
    model = WassersteinFairRegressor(LinearRegression(), random_state=0).fit(X, y, sensitive_features=s,
                                                                             sample_weight=w)
    assert np.allclose(model.group_weights_, np.bincount(s, weights=w) / w.sum(), atol=0.02)
    X_new, _, s_new = _shifted_groups(30_000, 19)
    w_new = np.exp(0.8 * X_new[:, 0] * s_new)
    pred = model.predict(X_new, sensitive_features=s_new, sample_weight=w_new)
    gap = distances_between_groups(pred, sensitive_features=s_new, sample_weight=w_new).to_numpy().max()
    base_gap = distances_between_groups(model.estimator_.predict(X_new), sensitive_features=s_new,
                                        sample_weight=w_new).to_numpy().max()
    # weighted KS between the groups' outputs under P_w; for one fitted model the levels are uniform up to the
    # calibration sample's fluctuation (~1/sqrt(effective first-half size) per group: about 0.03 here)
    assert base_gap > 0.5 and gap < 0.05
    unweighted = WassersteinFairRegressor(LinearRegression(), random_state=0).fit(X, y, sensitive_features=s)
    wrong = unweighted.predict(X_new, sensitive_features=s_new)
    assert distances_between_groups(wrong, sensitive_features=s_new, sample_weight=w_new).to_numpy().max() > 0.2


def test_barycenter_weights_errors():
    X, y, s = _shifted_groups(200, 20)
    from sklearn.neighbors import KNeighborsRegressor  # its fit takes no sample_weight

    with pytest.raises(FairermTypeError, match="KNeighborsRegressor.fit takes no sample_weight"):
        WassersteinFairRegressor(KNeighborsRegressor()).fit(X, y, sensitive_features=s, sample_weight=np.ones(200))
    plain = WassersteinFairRegressor(LinearRegression(), random_state=0).fit(X, y, sensitive_features=s)
    with pytest.raises(FairermValueError, match="fitted without sample_weight"):
        plain.predict(X, sensitive_features=s, sample_weight=np.ones(200))


# ------------------------------------------------------------------ metadata routing
def test_metadata_routing_requests_sample_weight_like_sensitive_features():
    X, y, s, w = _problem(n=200, seed=21)
    with config_context(enable_metadata_routing=True):
        pipe = make_pipeline(StandardScaler().set_fit_request(sample_weight=False),
                             FairLinearSVC(C=0.5).set_fit_request(sensitive_features=True, sample_weight=True))
        pipe.fit(X, y, sensitive_features=s, sample_weight=w)
        direct = FairLinearSVC(C=0.5).fit(StandardScaler().fit_transform(X), y, sensitive_features=s, sample_weight=w)
        np.testing.assert_allclose(pipe[-1].coef_, direct.coef_, atol=1e-6)
        search = GridSearchCV(
            make_pipeline(FairRidge().set_fit_request(sensitive_features=True, sample_weight=True)
                          .set_score_request(sample_weight=True)),
            {"fairridge__alpha": [0.1, 1.0]}, cv=KFold(3),
        )
        target = X[:, 0] + s
        search.fit(X, target, sensitive_features=s, sample_weight=w)
        assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))  # scored with the weights, not failed
        reference = FairRidge(alpha=search.best_params_["fairridge__alpha"]).fit(X, target, sensitive_features=s,
                                                                                  sample_weight=w)
        np.testing.assert_allclose(search.best_estimator_[-1].coef_, reference.coef_, atol=1e-12)


def test_weighted_nystroem_with_every_landmark_is_the_exact_weighted_kernel_model():
    """With n landmarks the Nystroem features reproduce the training kernel: same weighted model as exact SMO."""
    X, y, s, w = _problem(n=100, seed=22)
    exact = FairKernelSVC(C=1.0, gamma=0.3, tol=1e-7).fit(X, y, sensitive_features=s, sample_weight=w)
    approximate = FairKernelSVC(C=1.0, gamma=0.3, approximation="nystroem", n_components=100, random_state=0,
                                solver="cvxpy").fit(X, y, sensitive_features=s, sample_weight=w)
    np.testing.assert_allclose(approximate.decision_function(X), exact.decision_function(X), atol=1e-4)


def test_dask_input_with_weights_equals_numpy():
    da = pytest.importorskip("dask.array")
    X, y, s, w = _problem(n=300, seed=23)
    reference = FairLinearSVC(C=0.5).fit(X, y, sensitive_features=s, sample_weight=w)
    chunked = FairLinearSVC(C=0.5).fit(da.from_array(X, chunks=(100, 4)), y, sensitive_features=s,
                                       sample_weight=da.from_array(w.astype(float), chunks=100))
    np.testing.assert_allclose(chunked.decision_function(X), reference.decision_function(X), atol=1e-6)
