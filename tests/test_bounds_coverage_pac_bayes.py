"""Honesty of the PAC-Bayes bounds (the default method): refit on many independent draws of the
distribution of test_bounds_coverage.py, whose truth is known by quadrature, and count how often
each bound lies below the truth, in training-sample mode (the report gets the training sample).

Every statement is checked on its own (risk, the score gap, each group's upper and lower rate,
the DEO) and all of them jointly: the theorem says that with probability >= 1 - delta all hold at
once, and that each fails with probability at most its share of delta. A bound that falls below
the truth more often than its share allows fails the test (a binomial test at level 0.001).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom

from fairerm import FairKernelSVC, FairLinearSVC
from fairerm.bounds import generalization_report
from test_bounds_coverage import FEATURE_BOUND, GRIDS, P_B, draw, projection_svm, quadrature_grid, score_function

GRIDS.setdefault(32, quadrature_grid(32))  # kernel models: 32^3 points per group (a kernel row per point)


def true_rates(score, resolution):
    """(risk, score gap, TPR_a, TPR_b) of the classifier with score function ``score``, by quadrature."""
    points, probabilities = GRIDS[resolution]
    risk, means, tpr = 0.0, {}, {}
    for g, weight in (("a", 1 - P_B), ("b", P_B)):
        f, p = score(points[g]), probabilities[g]
        h = f > 0
        risk += weight * np.mean(np.where(h, 1 - p, p))
        means[g] = np.mean(f * p) / np.mean(p)
        tpr[g] = np.mean(h * p) / np.mean(p)
    return risk, abs(means["a"] - means["b"]), tpr["a"], tpr["b"]


def run(fit, n, n_draws, delta, seed, resolution=64, **options):
    """Per draw: the truth and every bound of the training-sample report."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n_draws):
        x, y, s = draw(n, rng)
        model = fit(x, y, s)
        risk, gap, tpr_a, tpr_b = true_rates(score_function(model), resolution)
        report = generalization_report(model, x, y, sensitive_features=s, delta=delta, **options)
        cells = report.cells.set_index("group")
        rows.append({
            "risk": risk, "risk_bound": report.risk_bound, "risk_empirical": report.empirical_error,
            "risk_vacuous": report.vacuous["risk"],
            "gap": gap, "gap_bound": report.fairness_bound,
            "tpr_a": tpr_a, "upper_a": cells.loc["a", "rate_upper_bound"], "lower_a": cells.loc["a", "rate_lower_bound"],
            "tpr_b": tpr_b, "upper_b": cells.loc["b", "rate_upper_bound"], "lower_b": cells.loc["b", "rate_lower_bound"],
            "deo": abs(tpr_a - tpr_b), "deo_bound": report.rate_gap_bound, "deo_empirical": report.empirical_rate_gap,
        })
    return {key: np.array([row[key] for row in rows]) for key in rows[0]}


def failures(r):
    """Boolean arrays: where each statement is below the truth."""
    return {
        "risk": r["risk"] > r["risk_bound"],
        "score gap": r["gap"] > r["gap_bound"],
        "upper a": r["tpr_a"] > r["upper_a"], "lower a": r["tpr_a"] < r["lower_a"],
        "upper b": r["tpr_b"] > r["upper_b"], "lower b": r["tpr_b"] < r["lower_b"],
        "deo": r["deo"] > r["deo_bound"],
    }


def check_honesty(r, delta):
    n_draws = r["risk"].size
    fails = failures(r)
    # each statement's failure probability is at most its share of delta (2 cells: d/3 risk, d/6 the score
    # gap, d/12 each side of each cell's rate, and the DEO at most the sum of the four rate sides, d/3)
    shares = {"risk": delta / 3, "score gap": delta / 3, "upper a": delta / 12, "lower a": delta / 12,
              "upper b": delta / 12, "lower b": delta / 12, "deo": delta / 3}
    for name, miss in fails.items():
        allowed = binom.ppf(0.999, n_draws, shares[name])
        assert miss.sum() <= allowed, (name, int(miss.sum()), allowed)
    for name in ("risk", "score gap", "deo"):
        assert np.mean(~fails[name]) >= 1 - delta, name
    any_fail = np.any(np.column_stack(list(fails.values())), axis=1)
    assert np.mean(~any_fail) >= 1 - delta  # all the bounds at once: the theorem's statement
    # the experiment has power: the empirical values are not upper bounds of the truth
    assert np.mean(r["risk"] <= r["risk_empirical"]) < 0.9


def summary(r):
    fails = failures(r)
    return ", ".join(f"{k} misses {int(v.sum())}" for k, v in fails.items()) + (
        f"; mean truth/bound: risk {r['risk'].mean():.4f}/{r['risk_bound'].mean():.4f}, "
        f"DEO {r['deo'].mean():.4f}/{r['deo_bound'].mean():.4f}; risk vacuous in {r['risk_vacuous'].mean():.3f}")


def test_pac_bayes_coverage_quick():
    """A short run for the default job (the 200-draw runs are below, marked slow)."""
    delta = 0.05
    r = run(projection_svm, n=800, n_draws=30, delta=delta, seed=11, feature_bound=FEATURE_BOUND)
    print("\n" + summary(r))
    check_honesty(r, delta)
    assert np.mean(r["risk_vacuous"]) < 0.1  # says something: below the majority-class error (about 0.41)


@pytest.mark.slow
@pytest.mark.parametrize("which", ["projection", pytest.param("fair_linear_svc", marks=pytest.mark.extended)])
def test_pac_bayes_coverage_linear_200_draws(which):
    delta = 0.05
    if which == "projection":
        r = run(projection_svm, n=2000, n_draws=200, delta=delta, seed=0, feature_bound=FEATURE_BOUND)
        assert np.all(r["risk_bound"] < 0.4) and np.mean(r["deo_bound"]) < 0.6
    else:
        def fit(x, y, s):
            return FairLinearSVC(C=0.1, epsilon=0.0).fit(x, y, sensitive_features=s)
        r = run(fit, n=1000, n_draws=200, delta=delta, seed=1, feature_bound=FEATURE_BOUND)
    print("\n" + summary(r))
    check_honesty(r, delta)


@pytest.mark.slow
@pytest.mark.parametrize("n", [400, pytest.param(1000, marks=pytest.mark.extended)])
def test_pac_bayes_coverage_kernel_200_draws(n):
    """RBF FERM. Each draw fits 4 kernel models (the model, the risk's prior, one prior per cell): n = 400
    in the slow job (the bounds are mostly vacuous there, the bookkeeping is exercised); n = 1000, where
    the risk bound says something in most draws, in the extended job (about 5 minutes of CPU)."""
    delta = 0.05

    def fit(x, y, s):
        return FairKernelSVC(C=1.0, gamma=0.2).fit(x, y, sensitive_features=s)

    r = run(fit, n=n, n_draws=200, delta=delta, seed=2, resolution=32)
    print("\n" + summary(r))
    check_honesty(r, delta)
    assert np.all(r["risk_bound"] < 1.0)
    if n == 1000:
        assert np.mean(r["risk_vacuous"]) < 0.5  # measured: 0.14
