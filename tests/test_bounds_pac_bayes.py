"""fairerm.bounds, PAC-Bayes method: each constant and formula against an independent computation
(exact binomial sums, textbook Gaussian KL with dense matrices, Monte Carlo over the posterior,
Woodbury for the kernel prior), and the report's bookkeeping (which rows each prior saw, the
delta split, the keys of to_dict). The coverage experiments are in test_bounds_coverage_pac_bayes.py."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtr
from scipy.stats import binom
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from fairerm import FairKernelSVC, FairLinearSVC, FairProjection
from fairerm.bounds import generalization_report, side_by_side
from fairerm.bounds._gaussian import (
    LandmarkCovariance,
    _shape_kl,
    explicit_family,
    kernel_family,
    margin_statement,
)
from fairerm.bounds._kl import (
    kl_bernoulli,
    kl_inverse_lower,
    kl_inverse_upper,
    kl_inverse_upper_scalar,
    log_maurer_xi,
    pac_bayes_kl_upper,
)
from fairerm.bounds._terms import binomial_upper_bound
from fairerm.kernels import KernelSpec, gram_block
from fairerm.exceptions import FairermTypeError, FairermValueError
from fairerm.metrics import equal_opportunity_difference


# --------------------------------------------------------------------------------------------
# kl, its inverses, Maurer's constant
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("m", [1, 2, 8, 57, 1000, 20000])
def test_maurer_xi_is_the_exact_sum_and_lies_between_sqrt_m_and_2_sqrt_m(m):
    k = np.arange(m + 1)
    direct = float(np.sum(binom.pmf(k, m, k / m)))  # C(m, k) (k/m)^k (1 - k/m)^(m-k), scipy's own pmf
    assert math.exp(log_maurer_xi(m)) == pytest.approx(direct, rel=1e-9)
    if m >= 8:
        assert math.sqrt(m) <= direct <= 2 * math.sqrt(m)
    if m >= 1000:  # xi(m) = 1 + Ramanujan's Q(m) = sqrt(pi m / 2) + 2/3 + O(m^-1/2)
        assert direct - math.sqrt(math.pi * m / 2) == pytest.approx(2 / 3, abs=0.01)


@pytest.mark.parametrize("p", [0.03, 0.3, 0.5, 0.9])
def test_maurer_identity_for_bernoulli_losses(p):
    """E exp(m kl(k/m || p)) over k ~ Bin(m, p) equals xi(m), whatever p: the constant of the theorem."""
    m = 40
    k = np.arange(m + 1)
    expectation = float(np.sum(binom.pmf(k, m, p) * np.exp(m * kl_bernoulli(k / m, p))))
    assert expectation == pytest.approx(math.exp(log_maurer_xi(m)), rel=1e-9)


@pytest.mark.parametrize("m,p", [(30, 0.1), (30, 0.5), (200, 0.02), (200, 0.35), (1000, 0.15)])
def test_pac_bayes_kl_for_one_hypothesis_misses_at_most_delta(m, p):
    """Q = P = a point mass (KL = 0): the exact probability that the bound falls below p is <= delta."""
    delta = 0.1
    k = np.arange(m + 1)
    upper = pac_bayes_kl_upper(k / m, np.zeros(m + 1), m, delta)
    miss = float(np.sum(binom.pmf(k, m, p)[upper < p]))
    assert miss <= delta
    # and the bound is within the Clopper-Pearson tail's order of magnitude (it is looser, by ln xi(m))
    cp = np.array([binomial_upper_bound(int(j), m, delta) for j in k])
    assert np.all(upper >= cp - 1e-9) or m < 50


def test_kl_inverses_against_a_dense_grid():
    rng = np.random.default_rng(0)
    grid = np.linspace(0.0, 1.0, 200_001)
    for q, bound in zip(rng.uniform(0, 1, 30), rng.exponential(0.05, 30)):
        inside = grid[kl_bernoulli(q, grid) <= bound]
        up, down = float(kl_inverse_upper(q, bound)), float(kl_inverse_lower(q, bound))
        assert inside.max() <= up <= inside.max() + 1e-5
        assert inside.min() - 1e-5 <= down <= inside.min()
        assert kl_inverse_upper_scalar(q, bound) == pytest.approx(up, abs=1e-12)
        assert kl_bernoulli(q, min(up + 1e-4, 1.0)) > bound or up + 1e-4 >= 1.0  # not looser than needed
    assert float(kl_inverse_upper(0.0, 0.0)) == pytest.approx(0.0, abs=1e-7)
    assert float(kl_inverse_upper(0.3, np.inf)) == 1.0 and float(kl_inverse_lower(0.3, np.inf)) == 0.0
    np.testing.assert_allclose(kl_bernoulli([0, 1, 0.5], [0.5, 0.5, 0.5]), [math.log(2), math.log(2), 0.0])
    assert np.isinf(kl_bernoulli(0.2, 1.0)) and np.isinf(kl_bernoulli(0.2, 0.0))


# --------------------------------------------------------------------------------------------
# Gaussian prior and posterior, against dense matrices and Monte Carlo
# --------------------------------------------------------------------------------------------
def _linear_problem(seed=0, n=300, d=4):
    rng = np.random.default_rng(seed)
    X = np.hstack([rng.normal(size=(n, d)) * np.linspace(2, 0.2, d), np.ones((n, 1))])
    w = np.append(rng.normal(size=d), 0.3)
    w_prior = w + 0.2 * rng.normal(size=d + 1)
    y = np.where(X @ w + 0.5 * rng.normal(size=n) > 0, 1.0, -1.0)
    return X, w, w_prior, y


def _gaussian_kl(m1, S1, m0, S0):
    """KL(N(m1, S1) || N(m0, S0)), the textbook formula."""
    S0_inv = np.linalg.inv(S0)
    diff = m0 - m1
    return 0.5 * (np.trace(S0_inv @ S1) + diff @ S0_inv @ diff - len(m1)
                  + np.linalg.slogdet(S0)[1] - np.linalg.slogdet(S1)[1])


def test_explicit_family_matches_dense_gaussians_and_monte_carlo():
    X, w, w_prior, y = _linear_problem()
    prior_rows, rows = np.arange(150), np.arange(150, 300)
    ridge_rel = 0.05
    family = explicit_family(X, w, X[prior_rows], w_prior, ridge_rel)
    C = X[prior_rows].T @ X[prior_rows] / 150
    M = C + ridge_rel * np.trace(C) * np.eye(X.shape[1])
    norm_M = math.sqrt(w @ M @ w)
    assert family.mean_norm == pytest.approx(norm_M)
    assert family.cosine == pytest.approx(w @ M @ w_prior / (norm_M * math.sqrt(w_prior @ M @ w_prior)))
    a, mu, eta, theta = 3.0, 4.0, 2.5, 1.5
    Sigma_Q = np.linalg.inv((1 + a) * C + ridge_rel * np.trace(C) * np.eye(X.shape[1]))  # M^-1/2 T M^-1/2
    mean_Q, mean_P = mu * w / norm_M, eta * w_prior / math.sqrt(w_prior @ M @ w_prior)
    t, kl_shape = _shape_kl(family.shrinkable, a)
    kl = kl_shape + 0.5 * (mu**2 + eta**2 - 2 * family.cosine * mu * eta)
    assert kl == pytest.approx(_gaussian_kl(mean_Q, Sigma_Q, mean_P, np.linalg.inv(M)), rel=1e-9)
    # the posterior's variance at each point and its Gibbs margin loss
    z, off = family.coordinates(rows)
    sigma = np.sqrt(z**2 @ t + off)
    np.testing.assert_allclose(sigma**2, np.einsum("ij,jk,ik->i", X[rows], Sigma_Q, X[rows]), rtol=1e-9)
    formula = ndtr(theta - mu * y[rows] * (X[rows] @ w) / (norm_M * sigma))
    draws = np.random.default_rng(1).multivariate_normal(mean_Q, Sigma_Q, size=40_000)  # v ~ Q
    g = X[rows] @ draws.T
    frequency = np.mean(y[rows][:, None] * g <= theta * sigma[:, None], axis=1)
    assert np.max(np.abs(frequency - formula)) < 4 * math.sqrt(0.25 / 40_000) + 1e-3
    # where y f <= 0 the posterior errs (with margin theta) with probability >= Phi(theta)
    wrong = y[rows] * (X[rows] @ w) <= 0
    assert wrong.any() and np.all(formula[wrong] >= ndtr(theta) - 1e-12)


def test_margin_statement_is_the_theorem_for_the_posterior_it_reports():
    X, w, w_prior, y = _linear_problem(seed=3, n=400)
    rows = np.arange(200, 400)
    family = explicit_family(X, w, X[:200], w_prior, 1e-3)
    weights = (np.arange(200) % 3 != 0).astype(float)
    signed = y[rows] * (X[rows] @ w)
    st = margin_statement(family, rows, signed, weights, delta=0.01)
    t, kl_shape = _shape_kl(family.shrinkable, st.shrink)
    z, off = family.coordinates(rows)
    gamma = signed / (family.mean_norm * np.sqrt(z**2 @ t + off))
    gibbs = float(np.sum(weights * ndtr(st.theta - st.mu * gamma)) / rows.size)
    kl = kl_shape + 0.5 * (st.mu**2 + st.eta**2 - 2 * family.cosine * st.mu * st.eta)
    assert st.gibbs_loss == pytest.approx(gibbs, rel=1e-9) and st.kl == pytest.approx(kl, rel=1e-9)
    expected = kl_inverse_upper(gibbs, (kl + log_maurer_xi(200) + math.log(st.union_size / 0.01)) / 200)
    assert st.bound == pytest.approx(min(1.0, float(expected) / ndtr(st.theta)), rel=1e-9)
    assert st.union_size == 3 * 8 * 15 and st.deterministic_loss <= gibbs / ndtr(st.theta) <= st.bound
    # the pointwise step: 1[y f <= 0] <= Phi(theta - mu gamma) / Phi(theta), for every point
    assert np.all((signed <= 0) <= ndtr(st.theta - st.mu * gamma) / ndtr(st.theta) + 1e-12)


def test_kernel_family_equals_the_explicit_one_for_the_linear_kernel():
    X, w, w_prior, y = _linear_problem(seed=5, n=200)
    landmarks = np.arange(0, 120)
    features = X[:, :-1]
    spec = KernelSpec("linear")
    cov = LandmarkCovariance(gram_block(features[landmarks], features[landmarks], spec) + 1.0,
                             lambda rows: gram_block(features[rows], features[landmarks], spec) + 1.0, 0.02)
    scores, prior_scores = X @ w, X @ w_prior
    kern = kernel_family(cov, np.einsum("ij,ij->i", X, X), scores[landmarks], w @ w, prior_scores[landmarks],
                         w_prior @ w_prior, w @ w_prior)
    expl = explicit_family(X, w, X[landmarks], w_prior, 0.02)
    assert kern.mean_norm == pytest.approx(expl.mean_norm, rel=1e-9)
    assert kern.cosine == pytest.approx(expl.cosine, rel=1e-9)
    rows = np.arange(120, 200)
    for a in (0.0, 10.0):
        (zk, ok), (ze, oe) = kern.coordinates(rows), expl.coordinates(rows)
        tk, kl_k = _shape_kl(kern.shrinkable, a)
        te, kl_e = _shape_kl(expl.shrinkable, a)
        np.testing.assert_allclose(zk**2 @ tk + ok, ze**2 @ te + oe, rtol=1e-7)
        assert kl_k == pytest.approx(kl_e, rel=1e-7)
    signed = y[rows] * scores[rows]
    assert margin_statement(kern, rows, signed, np.ones(80), 0.05).bound == pytest.approx(
        margin_statement(expl, rows, signed, np.ones(80), 0.05).bound, rel=1e-6)


def test_rbf_prior_variance_matches_woodbury():
    """k_M(x, x) = <phi(x), (C + lambda I)^-1 phi(x)> = (k(x,x) - k_L(x)'(K_LL + L lambda I)^-1 k_L(x)) / lambda."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(150, 3))
    spec, c2, ridge_rel = KernelSpec("rbf", 0.7), 1.0, 0.01
    landmarks = np.arange(60)
    K_LL = gram_block(X[landmarks], X[landmarks], spec) + c2
    cov = LandmarkCovariance(K_LL, lambda rows: gram_block(X[rows], X[landmarks], spec) + c2, ridge_rel)
    scores = rng.normal(size=150)  # any f on the landmarks; ||f||^2 given
    fam = kernel_family(cov, np.full(150, 1.0 + c2), scores[landmarks], 3.0)
    rows = np.arange(60, 150)
    z, off = fam.coordinates(rows)
    lam = ridge_rel * np.mean(np.diag(K_LL))
    K_xL = gram_block(X[rows], X[landmarks], spec) + c2
    woodbury = ((1.0 + c2) - np.einsum("ij,ij->i", K_xL @ np.linalg.inv(K_LL + 60 * lam * np.eye(60)), K_xL)) / lam
    np.testing.assert_allclose(np.einsum("ij,ij->i", z, z) + off, woodbury, rtol=1e-6)
    assert fam.mean_norm**2 == pytest.approx(np.mean(scores[landmarks] ** 2) + lam * 3.0, rel=1e-6)


# --------------------------------------------------------------------------------------------
# The report: which rows each prior saw, the delta split, the keys
# --------------------------------------------------------------------------------------------
FITTED_ON: list = []


class RecordingSVC(ClassifierMixin, BaseEstimator):
    """LinearSVC that records every training set it is fitted on (to audit the priors)."""

    def __init__(self, C=1.0):
        self.C = C

    def fit(self, X, y):
        FITTED_ON.append((np.array(X, copy=True), self))
        self.svc_ = LinearSVC(C=self.C).fit(X, y)
        self.classes_ = self.svc_.classes_
        return self

    def decision_function(self, X):
        return self.svc_.decision_function(X)

    def predict(self, X):
        return self.classes_[(self.decision_function(X) > 0).astype(int)]


def _data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    s = np.where(rng.random(n) < 0.3, "b", "a")
    X = rng.normal(size=(n, 3)) + (s == "b")[:, None] * 0.5
    y = (X @ np.array([2.0, 1.0, -0.5]) + rng.normal(size=n) > 0).astype(int)
    return X, y, s


def _rows_of(subset, X):
    index = {row.tobytes(): i for i, row in enumerate(X)}
    return np.array(sorted(index[row.tobytes()] for row in subset))


def test_no_prior_sees_the_rows_its_statement_is_evaluated_on():
    X, y, s = _data()
    model = RecordingSVC().fit(X, y)
    FITTED_ON.clear()
    report = generalization_report(model, X, y, sensitive_features=s)
    splits = report.splits
    prior_rows, bound_rows = splits["risk"]["prior_rows"], splits["risk"]["bound_rows"]
    assert np.intersect1d(prior_rows, bound_rows).size == 0 and prior_rows.size + bound_rows.size == len(y)
    assert len(FITTED_ON) == 3  # the risk prior and one prior per cell (y=+1 a, y=+1 b)
    risk_fit, risk_prior = FITTED_ON[0]
    np.testing.assert_array_equal(_rows_of(risk_fit, X), prior_rows)
    for (fit_X, _), key in zip(FITTED_ON[1:], [("y=+1", "a"), ("y=+1", "b")]):
        cell = np.flatnonzero((y == 1) & (s == key[1]))
        bound = splits[key]["bound_rows"]
        assert bound.size == math.ceil(0.75 * cell.size) and np.isin(bound, cell).all()
        seen = _rows_of(np.unique(fit_X, axis=0), X)
        assert np.intersect1d(seen, bound).size == 0 and seen.size == len(y) - bound.size
        assert len(fit_X) == len(y) - bound.size + 3 * splits[key]["kept_rows"].size  # the kept quarter 4 times
    # the risk bound is the smaller of its statements, each recomputed from its parts
    table = report.statements
    risk = table[table["stratum"] == "(risk)"]
    assert report.risk_bound == pytest.approx(risk["value"].min())
    prior_part = risk[risk["part"].str.startswith("prior")].iloc[0]
    errors = int(np.sum(risk_prior.predict(X[bound_rows]) != y[bound_rows]))
    assert prior_part["binomial"] == pytest.approx(binomial_upper_bound(errors, bound_rows.size, 0.05 / 12))
    assert prior_part["value"] == pytest.approx(min(1.0, prior_part["binomial"] + prior_part["margin_bound"]))
    assert sum(share for _, share in report.events) == pytest.approx(0.05, rel=1e-12)
    # (F) per cell; risk: N(0, I) + (binomial, margin); per cell and side: N(0, I) + (binomial, margin)
    assert len(report.events) == 2 + 3 + 2 * 2 * 3


def test_kernel_prior_covariance_uses_only_prior_rows():
    X, y, s = _data(n=400, seed=1)
    model = FairKernelSVC(C=1.0, gamma=0.5).fit(X, y, sensitive_features=s)
    report = generalization_report(model, X, y, sensitive_features=s)
    splits = report.splits
    landmarks = splits["landmarks"]
    assert landmarks.size > 0 and np.isin(landmarks, splits["risk"]["prior_rows"]).all()
    for key, value in splits.items():
        if isinstance(key, tuple):
            assert np.intersect1d(landmarks, value["bound_rows"]).size == 0
    assert 0.0 <= report.rate_gap_bound <= 1.0 and report.empirical_error <= report.risk_bound
    assert "cos_M" in report.summary()


def test_the_risk_priors_landmarks_do_not_move_with_a_bound_rows_label():
    """The risk statement's prior may depend on its prior rows and the seed only. Its landmarks were the
    cells' ones, drawn outside every cell's bound part, so flipping the label of one risk *bound* row
    moved them (103 -> 102 rows, 15 different). Now they are drawn from the risk prior rows alone."""
    X, y, s = _data(n=400, seed=1)
    model = FairKernelSVC(C=1.0, gamma=0.5).fit(X, y, sensitive_features=s)
    first = generalization_report(model, X, y, sensitive_features=s).splits
    flipped = y.copy()
    row = first["risk"]["bound_rows"][0]
    flipped[row] = 1 - flipped[row]
    second = generalization_report(model, X, flipped, sensitive_features=s).splits
    np.testing.assert_array_equal(first["risk"]["bound_rows"], second["risk"]["bound_rows"])
    assert first["risk_landmarks"].size > 0
    assert np.isin(first["risk_landmarks"], first["risk"]["prior_rows"]).all()
    np.testing.assert_array_equal(first["risk_landmarks"], second["risk_landmarks"])
    assert not np.array_equal(first["landmarks"], second["landmarks"])  # the cells' do move, as they may


def test_a_kernel_model_on_a_frame_refuses_reordered_columns():
    """The kernel view dropped the names before any check: reordered columns gave empirical error 0.265 for
    a model whose error is 0.100, and a bound on the wrong features."""
    X, y, s = _data(n=300, seed=3)
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    model = FairKernelSVC(C=1.0, gamma=0.5).fit(frame, y, sensitive_features=s)
    with pytest.raises(FairermValueError, match="feature names"):
        generalization_report(model, frame[frame.columns[::-1]], y, sensitive_features=s)
    with pytest.raises(FairermValueError, match="feature names"):
        generalization_report(model, frame.rename(columns={"x0": "other"}), y, sensitive_features=s)
    report = generalization_report(model, frame, y, sensitive_features=s)
    assert report.empirical_error == pytest.approx(np.mean(model.predict(frame) != y))


@pytest.mark.parametrize("seed", [-1, 1.5, "a", True, np.random.default_rng(0)])
def test_a_bad_random_state_is_refused_naming_it(seed):
    X, y, s = _data(n=200, seed=4)
    model = FairLinearSVC(C=0.1).fit(X, y, sensitive_features=s)
    with pytest.raises(FairermTypeError, match="random_state must be a non-negative integer or None"):
        generalization_report(model, X, y, sensitive_features=s, random_state=seed)


def test_norm_bound_is_refused_where_it_would_not_be_used():
    X, y, s = _data(n=200, seed=4)
    model = FairLinearSVC(C=0.1).fit(X, y, sensitive_features=s)
    with pytest.raises(FairermValueError, match="norm_bound applies to method='rademacher'"):
        generalization_report(model, X, y, sensitive_features=s, norm_bound=0.01)
    rho = float(np.hypot(np.linalg.norm(model.coef_), model.intercept_[0]))
    report = generalization_report(model, X, y, sensitive_features=s, norm_bound=2 * rho, method="rademacher")
    assert report.method == "rademacher"


def test_to_dict_keeps_its_keys_for_the_deployed_classifier():
    X, y, s = _data(n=800, seed=2)
    model = FairLinearSVC(C=0.1).fit(X, y, sensitive_features=s)
    report = generalization_report(model, X, y, sensitive_features=s)
    out = report.to_dict()
    predicted = model.predict(X)
    assert report.method == "pac-bayes" and "deterministic" in report.classifier
    assert out["empirical_risk"] == pytest.approx(np.mean(predicted != y))
    assert out["empirical_deo"] == pytest.approx(equal_opportunity_difference(y, predicted, sensitive_features=s))
    assert out["risk_bound"] == report.risk_bound and out["deo_bound"] == report.rate_gap_bound
    assert out["empirical_risk"] <= out["risk_bound"] < 1.0 and out["empirical_deo"] <= out["deo_bound"] <= 1.0
    assert all(type(v) is float and np.isfinite(v) for v in out.values())
    for key in ("empirical_fairness", "fairness_bound", "majority_error", "vacuous_risk", "vacuous_rate_gap",
                "pac_bayes_n_prior", "pac_bayes_n_bound", "pac_bayes_risk_kl"):
        assert key in out
    assert out["majority_error"] == pytest.approx(min(np.mean(y), 1 - np.mean(y)))
    # the same model, rademacher: a different (looser) bound under the same keys
    rad = generalization_report(model, X, y, sensitive_features=s, method="rademacher").to_dict()
    assert rad["risk_bound"] > out["risk_bound"] and rad["empirical_risk"] == out["empirical_risk"]


def test_vacuous_bounds_are_marked():
    X, y, s = _data(n=30, seed=4)
    model = LinearSVC().fit(X, y)
    report = generalization_report(model, X, y, sensitive_features=s, delta=1e-6)
    assert report.vacuous["risk"] and report.risk_bound >= report.majority_error
    assert report.vacuous["rate_gap"] == (report.rate_gap_bound >= 1.0)
    assert ("weak: >= 0.5" in report.summary()) == (0.5 <= report.rate_gap_bound < 1.0)
    big = _data(n=3000, seed=4)
    informative = generalization_report(LinearSVC().fit(big[0], big[1]), *big[:2], sensitive_features=big[2])
    assert not informative.vacuous["risk"] and "VACUOUS" not in informative.summary().split("(VACUOUS")[0]
    table = side_by_side({"training sample": report, "same, rademacher": generalization_report(
        model, X, y, sensitive_features=s, delta=1e-6, method="rademacher")})
    assert "training sample" in table and "*" in table and len(table.splitlines()) == 8


def test_prior_none_and_models_that_cannot_be_refitted():
    X, y, s = _data(n=500, seed=5)
    model = make_pipeline(FairProjection(), LinearSVC()).fit(X, y, fairprojection__sensitive_features=s)
    with_prior = generalization_report(model, X, y, sensitive_features=s)
    without = generalization_report(model, X, y, sensitive_features=s, prior=None)
    assert set(without.statements["part"]) == {"N(0, I), all rows", "N(0, I), whole cell"}
    assert without.pac_bayes["n_bound"] == len(y) and "prior=None" in without.pac_bayes["prior"]
    assert with_prior.pac_bayes["n_prior"] == 250 and len(with_prior.statements) == 1 + 1 + 4 + 4

    class Frozen(LinearSVC):
        def fit(self, X, y, sample_weight=None):
            if hasattr(self, "coef_"):
                raise RuntimeError("frozen")
            return super().fit(X, y, sample_weight=sample_weight)

    frozen = Frozen().fit(X, y)
    from fairerm.bounds import _model
    original = _model.clone
    _model.clone = lambda est: est  # every refit hits the frozen model: the prior fit fails
    try:
        report = generalization_report(frozen, X, y, sensitive_features=s)
    finally:
        _model.clone = original
    assert any("prior fit failed" in text for text in report.assumptions)
    assert not report.statements["part"].str.startswith("prior").any()
    assert 0.0 < report.risk_bound <= 1.0


def test_options_are_checked():
    X, y, s = _data(n=100)
    model = LinearSVC().fit(X, y)
    with pytest.raises(ValueError, match="method"):
        generalization_report(model, X, y, sensitive_features=s, method="vc")
    with pytest.raises(ValueError, match="prior"):
        generalization_report(model, X, y, sensitive_features=s, prior="zero")
    for bad in (0.0, 1.0, -0.2, 1.5):
        with pytest.raises(ValueError, match="prior_fraction"):
            generalization_report(model, X, y, sensitive_features=s, prior_fraction=bad)


def test_approximate_kernel_models_are_linear_in_their_features():
    X, y, s = _data(n=500, seed=6)
    model = FairKernelSVC(C=1.0, gamma=0.5, approximation="rff", n_components=50, random_state=0)
    model.fit(X, y, sensitive_features=s)
    report = generalization_report(model, X, y, sensitive_features=s)
    assert report.weight_norm == pytest.approx(np.linalg.norm(model.coef_[0]))
    assert "approximate features" in report.feature_map
    assert any("approximation='rff'" in text for text in report.assumptions)
    assert report.empirical_error == pytest.approx(np.mean(model.predict(X) != y))


@pytest.mark.parametrize("routing", [False, True])
def test_pipelines_are_refitted_as_they_were_fitted(routing):
    """An affine pipeline is refitted whole (its projection on the prior rows); a kernel pipeline's
    fixed preprocessing is kept and only the kernel model is refitted; with metadata routing on, the
    groups go through the routing."""
    import sklearn
    from sklearn.preprocessing import StandardScaler

    X, y, s = _data(n=400, seed=7)
    with sklearn.config_context(enable_metadata_routing=routing):
        if routing:
            affine = make_pipeline(FairProjection().set_fit_request(sensitive_features=True), LinearSVC())
            affine.fit(X, y, sensitive_features=s)
            kernel = make_pipeline(StandardScaler(), FairKernelSVC(gamma=0.5).set_fit_request(sensitive_features=True))
            kernel.fit(X, y, sensitive_features=s)
        else:
            affine = make_pipeline(FairProjection(), LinearSVC()).fit(X, y, fairprojection__sensitive_features=s)
            kernel = make_pipeline(StandardScaler(), FairKernelSVC(gamma=0.5)).fit(
                X, y, fairkernelsvc__sensitive_features=s)
        for model in (affine, kernel):
            report = generalization_report(model, X, y, sensitive_features=s)
            assert report.statements["part"].str.startswith("prior").any(), model
            assert not any("prior fit failed" in text for text in report.assumptions)
            assert report.empirical_error == pytest.approx(np.mean(model.predict(X) != y))
