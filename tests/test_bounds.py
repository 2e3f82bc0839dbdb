"""fairerm.bounds: each term against an independent computation, the report against sklearn and
fairerm.metrics, and every error path. The honesty (coverage) experiment is in test_bounds_coverage.py."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from scipy.stats import binom
from sklearn.svm import SVC, LinearSVC

from fairerm import FairKernelSVC, FairLinearSVC, FairProjection
from fairerm.bounds import GeneralizationReport, generalization_report
from fairerm.bounds._terms import (
    binomial_lower_bound,
    binomial_upper_bound,
    lower_ramp,
    mean_embedding_deviation,
    monte_carlo_rademacher,
    norm_grid_cell,
    ramp_class_complexity,
    ramp_loss,
    ramp_uniform_deviation,
    upper_ramp,
)
from fairerm.exceptions import FairermTypeError, FairermValueError, NotFittedError
from fairerm.metrics import equal_opportunity_difference, equalized_odds_difference


def make_data(n=400, d=3, n_groups=2, seed=0):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, n_groups, size=n)
    X = rng.uniform(-1.0, 1.0, size=(n, d))
    X[:, 0] -= 0.5 * s
    y = (X @ np.linspace(2.0, 0.5, d) + 0.5 * rng.standard_normal(n) > -0.2).astype(int)
    return X, y, np.array(["a", "b", "c", "d"])[s]


@pytest.fixture(scope="module")
def data():
    return make_data()


@pytest.fixture(scope="module")
def linear_model(data):
    X, y, s = data
    return FairLinearSVC(C=1.0, epsilon=0.05, solver="osqp").fit(X, y, sensitive_features=s)


@pytest.fixture(scope="module")
def kernel_model(data):
    X, y, s = data
    return FairKernelSVC(C=1.0, gamma=0.5).fit(X, y, sensitive_features=s)


# --------------------------------------------------------------------------------------------
# The terms, one inequality at a time
# --------------------------------------------------------------------------------------------
def test_ramps_sandwich_the_indicators():
    t = np.linspace(-3, 3, 601)
    for gamma in (0.5, 1.0, 2.0):
        assert np.all(ramp_loss(t, gamma) >= (t <= 0))  # dominates the 0-1 loss of sign(f) (f = 0 -> negative)
        assert np.all((0 <= ramp_loss(t, gamma)) & (ramp_loss(t, gamma) <= 1))
        assert np.all(lower_ramp(t, gamma) <= (t > 0)) and np.all((t > 0) <= upper_ramp(t, gamma))
        # 1/gamma-Lipschitz
        for fn in (ramp_loss, lower_ramp, upper_ramp):
            slopes = np.abs(np.diff(fn(t, gamma))) / np.diff(t)
            assert slopes.max() <= 1 / gamma + 1e-9


def test_norm_grid_cell_is_the_smallest_covering_radius():
    base, ratio = 0.01, 1.1
    for norm in (0.0, 0.005, 0.01, 0.0100001, 0.37, 2.0, 123.4):
        cell = norm_grid_cell(norm, base, ratio)
        assert cell.radius >= norm
        assert cell.radius == pytest.approx(base * ratio**cell.index)
        if cell.index > 0:
            assert base * ratio ** (cell.index - 1) < norm
        assert cell.weight == pytest.approx(1 / ((cell.index + 1) * (cell.index + 2)))
    # the weights of the union bound over the grid sum to 1 (partial sums 1 - 1/(K+1))
    assert sum(1 / ((k + 1) * (k + 2)) for k in range(100_000)) == pytest.approx(1.0, abs=1e-4)


def test_rademacher_bound_dominates_the_exact_empirical_complexity():
    """(rho/n) E||sum sigma_i (x_i, c)|| (the supremum over the ball, exactly) by brute force over
    all 2^n sign vectors, against the closed-form Jensen bound."""
    rng = np.random.default_rng(1)
    n, c, rho = 12, 0.7, 2.5
    X = rng.standard_normal((n, 3))
    Z = np.hstack([X, np.full((n, 1), c)])
    signs = np.array(np.meshgrid(*[[-1.0, 1.0]] * n)).reshape(n, -1)
    exact = rho * np.mean(np.linalg.norm(Z.T @ signs, axis=0)) / n
    bound = ramp_class_complexity(rho, np.sum(X**2, axis=1), intercept_scale=c, gamma=1.0)
    assert exact <= bound
    assert bound == pytest.approx(rho * math.sqrt(np.sum(Z**2)) / n)
    assert ramp_class_complexity(rho, np.sum(X**2, axis=1), c, gamma=0.5) == pytest.approx(2 * bound)
    # the Monte Carlo estimator agrees with the exhaustive average
    est, se = monte_carlo_rademacher(lambda S: Z @ (Z.T @ S), n, 20_000, np.random.default_rng(0))
    assert abs(rho * est - exact) < 4 * rho * se


def test_uniform_deviation_constants():
    complexity, confidence = ramp_uniform_deviation(0.1, 800, 0.01)
    assert complexity == pytest.approx(0.2)
    assert confidence == pytest.approx(3 * math.sqrt(math.log(200) / 1600))


def test_mean_embedding_deviation_holds_in_simulation():
    """||mean - E x|| for x uniform on a square (kappa = sqrt 2, Delta = 2 sqrt 2): the bound fails
    in at most delta of 4000 draws (it is conservative, so in far fewer)."""
    rng = np.random.default_rng(2)
    n, delta = 50, 0.1
    draws = rng.uniform(-1, 1, size=(4000, n, 2))
    errors = np.linalg.norm(draws.mean(axis=1), axis=1)
    expectation, confidence = mean_embedding_deviation(n, math.sqrt(2), 2 * math.sqrt(2), delta)
    assert expectation == pytest.approx(math.sqrt(2 / n))
    assert np.mean(errors > expectation + confidence) <= delta
    # Jensen with the true variance E||x - m||^2 = 2/3 is tight to ~10 %; kappa^2 = 2 >= 2/3 bounds it
    jensen = math.sqrt(2 / 3 / n)
    assert errors.mean() <= jensen <= 1.2 * errors.mean() and jensen <= expectation


@pytest.mark.parametrize("k,n", [(0, 20), (3, 20), (20, 20), (37, 400), (250, 400)])
def test_clopper_pearson_bounds_are_the_binomial_tail_inversions(k, n):
    delta = 0.05
    upper, lower = binomial_upper_bound(k, n, delta), binomial_lower_bound(k, n, delta)
    assert lower <= k / n <= upper
    if k < n:  # P_upper(X <= k) = delta, and any smaller p makes k less extreme
        assert binom.cdf(k, n, upper) == pytest.approx(delta, rel=1e-6)
        assert binom.cdf(k, n, upper * 0.99) > delta
    else:
        assert upper == 1.0
    if k > 0:  # P_lower(X >= k) = delta
        assert binom.sf(k - 1, n, lower) == pytest.approx(delta, rel=1e-6)
    else:
        assert lower == 0.0


@pytest.mark.parametrize("p", [0.02, 0.3, 0.5, 0.87])
def test_clopper_pearson_miss_probability_is_at_most_delta(p):
    """Exact miss probabilities, summed over the binomial distribution of the count."""
    n, delta = 60, 0.1
    pmf = binom.pmf(np.arange(n + 1), n, p)
    uppers = np.array([binomial_upper_bound(k, n, delta) for k in range(n + 1)])
    lowers = np.array([binomial_lower_bound(k, n, delta) for k in range(n + 1)])
    miss_upper, miss_lower = pmf[uppers < p].sum(), pmf[lowers > p].sum()
    assert miss_upper <= delta and miss_lower <= delta
    if 0.1 < p < 0.9:
        assert miss_upper > delta / 3 and miss_lower > delta / 3  # exact, not needlessly conservative


# --------------------------------------------------------------------------------------------
# The report against independent computations
# --------------------------------------------------------------------------------------------
def test_linear_report_matches_independent_computations(data, linear_model):
    X, y, s = data
    report = generalization_report(linear_model, X, y, sensitive_features=s, delta=0.05, feature_bound=2.0, method="rademacher")
    pred = linear_model.predict(X)
    assert report.empirical_error == pytest.approx(1 - accuracy_score(y, pred))
    assert report.empirical_rate_gap == pytest.approx(equal_opportunity_difference(y, pred, sensitive_features=s))
    w, b = linear_model.coef_[0], linear_model.intercept_[0]
    u = X[(y == 1) & (s == "a")].mean(axis=0) - X[(y == 1) & (s == "b")].mean(axis=0)
    assert report.empirical_fairness == pytest.approx(abs(w @ u), abs=1e-9)
    assert report.empirical_fairness == pytest.approx(0.05, abs=1e-4)  # the active constraint |<w, u>| = eps
    assert report.weight_norm == pytest.approx(np.linalg.norm(w))
    assert report.intercept == pytest.approx(b)
    margins = np.where(y == 1, 1, -1) * (X @ w + b)
    assert report.empirical_ramp_loss == pytest.approx(np.mean(np.clip(1 - margins, 0, 1)))
    # the risk bound, assembled by hand from the theorem's terms, for both complexity routes
    n = len(y)
    rho = math.hypot(np.linalg.norm(w), b)
    k = 0 if rho <= 0.01 else math.ceil(math.log(rho / 0.01) / math.log(1.1))
    r, delta_risk = 0.01 * 1.1**k, 0.05 / 3 / ((k + 1) * (k + 2))
    assert report.complexity_kind == "expected"  # feature_bound given -> kappa known
    assert report.rademacher_bound == pytest.approx(r * math.sqrt((2.0**2 + 1) / n))
    assert report.risk_confidence_term == pytest.approx(math.sqrt(math.log(1 / delta_risk) / (2 * n)))
    empirical = generalization_report(linear_model, X, y, sensitive_features=s, feature_bound=2.0,
                                      complexity="empirical", method="rademacher")
    assert empirical.rademacher_bound == pytest.approx(r * math.sqrt(np.sum(X**2) + n) / n)
    assert empirical.risk_confidence_term == pytest.approx(3 * math.sqrt(math.log(2 / delta_risk) / (2 * n)))
    for rep in (report, empirical):
        assert rep.risk_complexity_term == pytest.approx(2 * rep.rademacher_bound)
        assert rep.risk_bound == pytest.approx(min(1.0, rep.empirical_ramp_loss + rep.risk_complexity_term
                                                   + rep.risk_confidence_term))
    # the fairness bound, by hand: kappa = 2 given, Delta = 4, two cells with delta/6 each
    n_a, n_b = np.sum((y == 1) & (s == "a")), np.sum((y == 1) & (s == "b"))
    D = [2 / math.sqrt(m) + 4 * math.sqrt(math.log(6 / 0.05) / (2 * m)) for m in (n_a, n_b)]
    assert report.fairness_bound == pytest.approx(abs(w @ u) + np.linalg.norm(w) * sum(D))
    assert sum(share for _, share in report.events[:1]) + 2 * report.events[1][1] + 4 * report.events[3][1] \
        == pytest.approx(0.05)


def test_kernel_report(data, kernel_model):
    X, y, s = data
    report = generalization_report(kernel_model, X, y, sensitive_features=s, rademacher_draws=50, random_state=0, method="rademacher")
    assert report.feature_bound == 1.0 and report.feature_bound_source == "exact"
    assert report.feature_diameter == pytest.approx(math.sqrt(2))
    assert report.weight_norm == pytest.approx(kernel_model.weight_norm_)
    f = kernel_model.decision_function(X)
    gap = f[(y == 1) & (s == "a")].mean() - f[(y == 1) & (s == "b")].mean()
    assert report.empirical_fairness == pytest.approx(abs(gap), abs=1e-8)
    assert report.empirical_fairness == pytest.approx(abs(kernel_model.constraint_value_[0]), abs=1e-6)
    # RBF: sum_i k(x_i, x_i) = n, so Rhat <= r sqrt(n + n c^2) / n
    assert report.rademacher_bound == pytest.approx(report.grid_radius * math.sqrt(2 * len(y)) / len(y))
    # independent Monte Carlo estimate of the ball's complexity on the RBF Gram matrix (+ c^2) is below the bound
    K = np.exp(-0.5 * np.sum((X[:, None, :] - X[None, :, :]) ** 2, axis=2)) + 1.0
    sig = np.random.default_rng(5).choice([-1.0, 1.0], size=(len(y), 400))
    mc = report.grid_radius * np.mean(np.sqrt(np.einsum("ij,ij->j", sig, K @ sig))) / len(y)
    assert mc <= report.rademacher_bound
    assert report.rademacher_monte_carlo == pytest.approx(mc, rel=0.1)
    assert report.to_dict()["rademacher_monte_carlo"] == report.rademacher_monte_carlo


def test_poly_kernel_uses_the_sample_radius_as_an_assumption(data):
    X, y, s = data
    model = FairKernelSVC(C=1.0, kernel="poly", degree=2, gamma=0.5, coef0=1.0).fit(X, y, sensitive_features=s)
    report = generalization_report(model, X, y, sensitive_features=s, method="rademacher")
    diag = (0.5 * np.sum(X**2, axis=1) + 1.0) ** 2
    assert report.feature_bound == pytest.approx(math.sqrt(diag.max()))
    assert report.feature_bound_source == "estimated"
    assert "ASSUMED" in str(report)


@pytest.mark.parametrize("final", ["linearsvc", "logistic"])
def test_pipeline_effective_weights(data, final):
    X, y, s = data
    last = LinearSVC(C=1.0) if final == "linearsvc" else LogisticRegression(C=1.0)
    model = make_pipeline(StandardScaler(), FairProjection(), last)
    model.fit(X, y, fairprojection__sensitive_features=s)
    scaler, proj = model[0], model[1]
    v = (proj.projection_ @ last.coef_[0]) / scaler.scale_
    report = generalization_report(model, X, y, sensitive_features=s, method="rademacher")
    assert report.weight_norm == pytest.approx(np.linalg.norm(v), rel=1e-6)
    assert report.empirical_fairness < 1e-8  # FairProjection: <w, u> = 0 exactly on the training sample
    assert report.model_name == "Pipeline(StandardScaler, FairProjection, " + type(last).__name__ + ")"
    frame_report = generalization_report(model, pd.DataFrame(X, columns=["p", "q", "r"]), pd.Series(y),
                                         sensitive_features=pd.Series(s), method="rademacher")
    assert frame_report.to_dict() == pytest.approx(report.to_dict(), nan_ok=True)


def test_pipelines_with_preprocessing_are_reported_on_the_transformed_features(data):
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    X, y, s = data
    frame = pd.DataFrame(X, columns=["p", "q", "r"]).assign(colour=np.where(X[:, 1] > 0, "red", "blue"))
    prep = ColumnTransformer([("num", StandardScaler(), ["p", "q", "r"]), ("cat", OneHotEncoder(), ["colour"])])
    linear = make_pipeline(prep, LinearSVC(C=1.0)).fit(frame, y)
    report = generalization_report(linear, frame, y, sensitive_features=s, method="rademacher")
    Z = linear[0].transform(frame)
    assert report.weight_norm == pytest.approx(np.linalg.norm(linear[-1].coef_), rel=1e-6)
    assert report.feature_bound == pytest.approx(np.sqrt(np.max(np.sum(Z**2, axis=1))))
    assert any("treated as fixed" in a for a in report.assumptions)
    kernel = make_pipeline(StandardScaler(), FairKernelSVC(C=1.0, gamma="scale"))
    kernel.fit(X, y, fairkernelsvc__sensitive_features=s)
    report = generalization_report(kernel, X, y, sensitive_features=s, method="rademacher")
    assert report.weight_norm == pytest.approx(kernel[-1].weight_norm_)
    assert report.empirical_fairness == pytest.approx(abs(kernel[-1].constraint_value_[0]), abs=1e-6)
    text = " ".join(report.assumptions)
    assert "StandardScaler" in text and "gamma='scale'" in text


def test_more_groups_and_equalized_odds():
    X, y, s = make_data(n=600, n_groups=3, seed=3)
    model = FairLinearSVC(C=1.0, constraint="equalized_odds", solver="osqp").fit(X, y, sensitive_features=s)
    report = generalization_report(model, X, y, sensitive_features=s, method="rademacher")
    assert report.notion == "equalized_odds" and len(report.cells) == 6
    f = model.decision_function(X)
    gaps = []
    for label in (1, 0):
        means = [f[(y == label) & (s == g)].mean() for g in "abc"]
        gaps.append(max(means) - min(means))
    assert report.empirical_fairness == pytest.approx(max(gaps), abs=1e-9)
    assert report.empirical_rate_gap == pytest.approx(equalized_odds_difference(y, model.predict(X),
                                                                                sensitive_features=s))
    assert len(report.events) == 1 + 6 + 6
    assert sum(share for _, share in report.events[:7]) + 2 * sum(sh for _, sh in report.events[7:]) \
        == pytest.approx(report.delta)
    dp = generalization_report(model, X, y, sensitive_features=s, notion="demographic_parity", method="rademacher")
    assert dp.rate_gap_name == "DDP" and list(dp.cells["n"]) == [np.sum(s == g) for g in "abc"]


def test_holdout_report_uses_binomial_tails(data, linear_model):
    X, y, s = make_data(n=3000, seed=11)  # independent of the training sample
    report = generalization_report(linear_model, X, y, sensitive_features=s, holdout=True, method="rademacher")
    errors = int(np.sum(linear_model.predict(X) != y))
    assert report.complexity_kind == "holdout" and report.risk_complexity_term == 0.0
    assert report.risk_bound == pytest.approx(binomial_upper_bound(errors, len(y), 0.05 / 3))
    pos_b = (y == 1) & (s == "b")
    hits = int(np.sum(linear_model.predict(X[pos_b]) == 1))
    row = report.cells[report.cells["group"] == "b"].iloc[0]
    assert row["rate_upper_bound"] == pytest.approx(binomial_upper_bound(hits, int(pos_b.sum()), 0.05 / 12))
    assert row["rate_lower_bound"] == pytest.approx(binomial_lower_bound(hits, int(pos_b.sum()), 0.05 / 12))
    assert "Clopper-Pearson" in str(report) and "NOT used to fit" in str(report)
    assert max(len(line) for line in str(report).splitlines()) <= 80
    assert np.isnan(report.to_frame().loc["ramp loss", "bound"])  # only the 0-1 error is bounded here
    uniform = generalization_report(linear_model, X, y, sensitive_features=s, method="rademacher")
    assert report.risk_bound < uniform.risk_bound and report.rate_gap_bound < uniform.rate_gap_bound
    with pytest.raises(FairermTypeError, match="holdout"):
        generalization_report(linear_model, X, y, sensitive_features=s, holdout="yes", method="rademacher")


def test_bounds_dominate_empirical_values_and_grow_as_delta_shrinks(data, linear_model):
    X, y, s = data
    reports = [generalization_report(linear_model, X, y, sensitive_features=s, delta=d, method="rademacher") for d in (0.2, 0.05, 0.01)]
    for rep in reports:
        assert rep.risk_bound >= rep.empirical_error and rep.risk_bound >= rep.empirical_ramp_loss
        assert rep.fairness_bound >= rep.empirical_fairness and rep.rate_gap_bound >= rep.empirical_rate_gap
    for looser, tighter in zip(reports[1:], reports[:-1]):
        assert looser.risk_confidence_term > tighter.risk_confidence_term
        assert looser.fairness_bound > tighter.fairness_bound
        assert np.all(looser.cells["rate_upper_bound"] > tighter.cells["rate_upper_bound"])


def test_norm_bound_fixed_in_advance(data, linear_model):
    X, y, s = data
    rho = math.hypot(np.linalg.norm(linear_model.coef_), linear_model.intercept_[0])
    report = generalization_report(linear_model, X, y, sensitive_features=s, norm_bound=rho * 1.5, method="rademacher")
    assert report.grid_radius == pytest.approx(rho * 1.5) and report.grid_weight == 1.0
    with pytest.raises(FairermValueError, match="norm_bound"):
        generalization_report(linear_model, X, y, sensitive_features=s, norm_bound=rho / 2, method="rademacher")


# --------------------------------------------------------------------------------------------
# Output formats
# --------------------------------------------------------------------------------------------
def test_outputs(data, linear_model):
    X, y, s = data
    report = generalization_report(linear_model, X, y, sensitive_features=s, method="rademacher")
    assert isinstance(report, GeneralizationReport)
    out = report.to_dict()
    for key in ("empirical_risk", "risk_bound", "empirical_fairness", "fairness_bound", "delta", "empirical_deo",
                "deo_bound"):
        assert type(out[key]) is float
    assert all(type(v) is float and np.isfinite(v) for v in out.values())
    assert "rademacher_monte_carlo" not in out
    frame = report.to_frame()
    assert list(frame.columns) == ["empirical", "bound", "description"] and len(frame) == 4
    assert frame.loc["risk (0-1 error)", "bound"] == out["risk_bound"]
    text = str(report)
    assert max(len(line) for line in text.splitlines()) <= 80
    for needle in ("Theorem", "Assumptions", "Union bound", "Donini", "DEO", f"{out['risk_bound']:.4f}"):
        assert needle in text
    assert "risk=" in repr(report)


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("delta", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_invalid_delta(data, linear_model, delta):
    X, y, s = data
    with pytest.raises(FairermValueError, match="delta"):
        generalization_report(linear_model, X, y, sensitive_features=s, delta=delta, method="rademacher")


def test_invalid_options(data, linear_model):
    X, y, s = data
    with pytest.raises(FairermTypeError, match="delta"):
        generalization_report(linear_model, X, y, sensitive_features=s, delta="0.05", method="rademacher")
    with pytest.raises(FairermValueError, match="margin"):
        generalization_report(linear_model, X, y, sensitive_features=s, margin=0.0, method="rademacher")
    with pytest.raises(FairermValueError, match="ratio"):
        generalization_report(linear_model, X, y, sensitive_features=s, norm_grid=(0.1, 1.0), method="rademacher")
    with pytest.raises(FairermValueError, match="feature_bound"):
        generalization_report(linear_model, X, y, sensitive_features=s, complexity="expected", method="rademacher")
    with pytest.raises(FairermValueError, match="complexity"):
        generalization_report(linear_model, X, y, sensitive_features=s, complexity="vc", method="rademacher")
    with pytest.raises(FairermValueError, match="rademacher_draws"):
        generalization_report(linear_model, X, y, sensitive_features=s, rademacher_draws=1, method="rademacher")
    with pytest.raises(FairermValueError, match="feature_bound.*violated"):
        generalization_report(linear_model, X, y, sensitive_features=s, feature_bound=0.5, method="rademacher")
    with pytest.raises(FairermValueError, match="notion"):
        generalization_report(linear_model, X, y, sensitive_features=s, notion="calibration", method="rademacher")
    with pytest.raises(FairermValueError, match="classes"):
        generalization_report(linear_model, X, np.where(y == 1, "yes", "no"), sensitive_features=s, method="rademacher")
    with pytest.raises(FairermValueError, match="sensitive_features"):
        generalization_report(linear_model, X, y, sensitive_features=s[:-1], method="rademacher")


def test_unfitted_model(data):
    X, y, s = data
    for model in (FairLinearSVC(), FairKernelSVC(), make_pipeline(FairProjection(), LinearSVC())):
        with pytest.raises(NotFittedError, match="not fitted"):
            generalization_report(model, X, y, sensitive_features=s, method="rademacher")


def test_models_the_theory_does_not_cover(data):
    X, y, s = data
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    with pytest.raises(FairermTypeError, match="decision_function"):
        generalization_report(forest, X, y, sensitive_features=s, method="rademacher")
    rbf_svc = SVC(kernel="rbf").fit(X, y)
    with pytest.raises(FairermValueError, match="not affine"):
        generalization_report(rbf_svc, X, y, sensitive_features=s, method="rademacher")
    three = np.digitize(X[:, 0], [-0.5, 0.3])
    with pytest.raises(FairermTypeError, match="binary"):
        generalization_report(LogisticRegression().fit(X, three), X, three, sensitive_features=s, method="rademacher")
    K = X @ X.T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pre = FairKernelSVC(kernel="precomputed").fit(K, y, sensitive_features=s)
    with pytest.raises(FairermValueError, match="precomputed"):
        generalization_report(pre, K, y, sensitive_features=s, method="rademacher")
    with pytest.raises(FairermTypeError, match="estimator"):
        generalization_report(object(), X, y, sensitive_features=s, method="rademacher")


def test_sample_weight_is_accepted_when_constant_and_refused_with_the_reason_otherwise(linear_model, data):
    X, y, s = data
    plain = generalization_report(linear_model, X, y, sensitive_features=s).to_dict()
    same = generalization_report(linear_model, X, y, sensitive_features=s, sample_weight=np.full(len(y), 3.0))
    assert same.to_dict()["risk_bound"] == plain["risk_bound"] and same.to_dict()["deo_bound"] == plain["deo_bound"]
    weights = np.ones(len(y))
    weights[0] = 2.0
    with pytest.raises(ValueError, match="sample_weight: .*non-uniform weights"):
        generalization_report(linear_model, X, y, sensitive_features=s, sample_weight=weights)
    with pytest.raises(ValueError, match="sample_weight must be"):
        generalization_report(linear_model, X, y, sensitive_features=s, sample_weight=np.ones(3))
