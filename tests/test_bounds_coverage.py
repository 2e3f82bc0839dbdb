"""Honesty of fairerm.bounds: refit on many independent draws of a distribution whose true risk and
true unfairness are known to high accuracy, and count how often the truth lies under the bounds.

The distribution (bounded, so that feature_bound is known a priori):

    s = b with probability 0.35, else a;   x ~ Uniform([-1, 1]^3) + [s = b] (-0.5, 0, 0);
    P(y = 1 | x, s) = sigmoid(<(4, 3, 2), x>),

so sup ||x|| = sqrt(1.5^2 + 2). For a fixed f(x) = <w, x> + b, h = 1[f > 0], the true quantities are
integrals over the cube of each group, computed by the midpoint rule on a 64^3 grid (40^3 for
kernel models; independent of the code under test):

    risk          = sum_g P(g) E_g[ h(x) (1 - p(x)) + (1 - h(x)) p(x) ],
    E[f | y=1, g] = E_g[f p] / E_g[p],          TPR_g = E_g[h p] / E_g[p].
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from fairerm import FairKernelSVC, FairLinearSVC, FairProjection
from fairerm.bounds import generalization_report

COEF = np.array([4.0, 3.0, 2.0])
SHIFT_B = np.array([-0.5, 0.0, 0.0])
P_B = 0.35
FEATURE_BOUND = float(np.sqrt(1.5**2 + 2.0))


def positive_probability(x):
    return 1.0 / (1.0 + np.exp(-(x @ COEF)))


def quadrature_grid(m):
    """Midpoints of an m^3 grid on each group's cube, and P(y = 1 | x) there."""
    mid = (np.arange(m) + 0.5) / m * 2.0 - 1.0
    grid = np.stack(np.meshgrid(mid, mid, mid, indexing="ij"), axis=-1).reshape(-1, 3)
    points = {"a": grid, "b": grid + SHIFT_B}
    return points, {g: positive_probability(x) for g, x in points.items()}


GRIDS = {64: quadrature_grid(64), 40: quadrature_grid(40)}  # 40^3 for kernel models (costly to evaluate)


def draw(n, rng):
    in_b = rng.random(n) < P_B
    x = rng.uniform(-1.0, 1.0, size=(n, 3)) + np.where(in_b[:, None], SHIFT_B, 0.0)
    y = (rng.random(n) < positive_probability(x)).astype(int)
    return x, y, np.where(in_b, "b", "a")


def true_values(score, resolution=64):
    """(risk, score gap, DEO) of the classifier with score function ``score``, by quadrature."""
    points, probabilities = GRIDS[resolution]
    risk, means, tpr = 0.0, {}, {}
    for g, weight in (("a", 1 - P_B), ("b", P_B)):
        f, p = score(points[g]), probabilities[g]
        h = f > 0
        risk += weight * np.mean(np.where(h, 1 - p, p))
        means[g] = np.mean(f * p) / np.mean(p)
        tpr[g] = np.mean(h * p) / np.mean(p)
    return risk, abs(means["a"] - means["b"]), abs(tpr["a"] - tpr["b"])


def test_quadrature_matches_a_large_independent_sample():
    """The oracle itself: quadrature against Monte Carlo on 400,000 fresh draws, for a fixed model;
    and the weights read from a fitted pipeline reproduce its decision function."""
    x, y, s = draw(500, np.random.default_rng(0))
    model = projection_svm(x, y, s)
    np.testing.assert_allclose(score_function(model)(x), model.decision_function(x), atol=1e-10)
    w, b = np.array([1.0, 2.0, -0.5]), 0.3
    risk, gap, deo = true_values(lambda z: z @ w + b)
    assert true_values(lambda z: z @ w + b, 40) == pytest.approx((risk, gap, deo), abs=3e-3)
    x, y, s = draw(400_000, np.random.default_rng(123))
    f, pos = x @ w + b, y == 1
    assert risk == pytest.approx(np.mean((f > 0) != pos), abs=4e-3)
    assert gap == pytest.approx(abs(f[pos & (s == "a")].mean() - f[pos & (s == "b")].mean()), abs=2e-2)
    tprs = [np.mean(f[pos & (s == g)] > 0) for g in "ab"]
    assert deo == pytest.approx(abs(tprs[0] - tprs[1]), abs=1e-2)


def run_coverage(fit, n, n_draws, delta, seed, holdout=False, **report_options):
    """Refit on ``n_draws`` independent samples; return, per quantity, an array of rows
    (empirical, bound, truth) for the report on the training sample and, with ``holdout``, a second
    dict for the report on an independent sample of the same size (``holdout=True``)."""
    rng = np.random.default_rng(seed)
    rows, held_rows = [], []
    for _ in range(n_draws):
        x, y, s = draw(n, rng)
        model = fit(x, y, s)
        truth = true_values(score_function(model), 40 if isinstance(model, FairKernelSVC) else 64)
        samples = [(x, y, s, False)] + ([(*draw(n, rng), True)] if holdout else [])
        for (xs, ys, ss, is_holdout), out in zip(samples, (rows, held_rows)):
            report = generalization_report(model, xs, ys, sensitive_features=ss, delta=delta, holdout=is_holdout,
                                           **report_options)
            out.append([report.empirical_error, report.risk_bound, truth[0],
                        report.empirical_fairness, report.fairness_bound, truth[1],
                        report.empirical_rate_gap, report.rate_gap_bound, truth[2]])

    def split(table):
        table = np.array(table)
        return {name: table[:, 3 * i:3 * i + 3] for i, name in enumerate(("risk", "score_gap", "deo"))}

    return (split(rows), split(held_rows)) if holdout else split(rows)


def summarise(results):
    lines = []
    for name, (emp, bound, truth) in ((k, v.T) for k, v in results.items()):
        lines.append(f"{name}: coverage {np.mean(truth <= bound):.3f}, empirical-as-bound coverage "
                     f"{np.mean(truth <= emp):.3f}, mean truth {truth.mean():.4f}, mean bound {bound.mean():.4f}, "
                     f"mean looseness {np.mean(bound - truth):.4f}")
    return "\n".join(lines)


def score_function(model):
    """The model's score on new points; for linear models from the weights, read independently of fairerm.bounds."""
    if isinstance(model, FairKernelSVC):
        return model.decision_function
    if isinstance(model, FairLinearSVC):
        w, b = model.coef_[0], model.intercept_[0]
    else:  # Pipeline(FairProjection, LinearSVC): f(x) = <coef, P x> + b = <P coef, x> + b (P symmetric)
        w, b = model[0].projection_ @ model[-1].coef_[0], model[-1].intercept_[0]
    return lambda z: z @ w + b


def projection_svm(x, y, s):
    return make_pipeline(FairProjection(), LinearSVC(C=1.0)).fit(x, y, fairprojection__sensitive_features=s)


def test_bounds_cover_the_truth_in_at_least_1_minus_delta_of_200_draws():
    delta = 0.05
    results, held_out = run_coverage(projection_svm, n=2000, n_draws=200, delta=delta, seed=0, holdout=True,
                                     feature_bound=FEATURE_BOUND, method="rademacher")
    print("\ntraining sample (uniform bounds):\n" + summarise(results))
    print("held-out sample (binomial bounds):\n" + summarise(held_out))
    for label, res in (("training", results), ("holdout", held_out)):
        for name, table in res.items():
            emp, bound, truth = table.T
            assert np.mean(truth <= bound) >= 1 - delta, (label, name)
    # the experiment has power: the empirical values alone are not upper bounds of the truth ...
    score_emp, _, score_truth = results["score_gap"].T
    assert np.mean(score_truth <= score_emp) < 0.5  # exactly fair on the sample, not in the population
    risk_emp, risk_bound, risk_truth = results["risk"].T
    assert np.mean(risk_truth <= risk_emp) < 0.9
    # ... and the bounds are not the trivial ones (on the training sample the DEO bound is, at this n)
    assert np.all(risk_bound < 1.0)
    assert np.all(held_out["risk"][:, 1] < 0.4) and np.all(held_out["deo"][:, 1] < 0.5)
    held_emp, held_bound, held_truth = held_out["risk"].T
    assert np.mean(held_bound - held_truth) < 0.06  # the exact binomial tail is tight


def test_bounds_shrink_at_the_root_n_rate_for_a_fixed_model():
    """Slack (bound - empirical) of each statement on samples of size n and 4n: ratio about 1/2."""
    rng = np.random.default_rng(7)
    model = projection_svm(*draw(2000, rng))
    slacks = []
    for n in (4000, 16000):
        x, y, s = draw(n, rng)
        rep = generalization_report(model, x, y, sensitive_features=s, feature_bound=FEATURE_BOUND, method="rademacher")
        rate_dev = (rep.cells["rate_complexity"] + rep.cells["rate_confidence"]).to_numpy()
        slacks.append(np.array([rep.risk_complexity_term + rep.risk_confidence_term,
                                rep.fairness_bound - rep.empirical_fairness, *rate_dev]))
    ratio = slacks[1] / slacks[0]
    assert np.all((ratio > 0.45) & (ratio < 0.56)), ratio
    # the bounds themselves come down with n
    assert slacks[1][0] < slacks[0][0]


@pytest.mark.slow
@pytest.mark.parametrize(
    "which",
    ["fair_linear_svc", pytest.param("fair_kernel_svc", marks=pytest.mark.extended)],  # ~20 min: make test-extended
)
def test_coverage_slow(which):
    delta = 0.1
    if which == "fair_linear_svc":
        def fit(x, y, s):
            return FairLinearSVC(C=1.0, epsilon=0.02, solver="osqp").fit(x, y, sensitive_features=s)
        results = run_coverage(fit, n=500, n_draws=200, delta=delta, seed=1, feature_bound=FEATURE_BOUND,
                               method="rademacher")
    else:
        def fit(x, y, s):
            return FairKernelSVC(C=1.0, gamma=0.5).fit(x, y, sensitive_features=s)
        results = run_coverage(fit, n=500, n_draws=200, delta=delta, seed=2, method="rademacher")
    print("\n" + summarise(results))
    for name, table in results.items():
        assert np.mean(table[:, 2] <= table[:, 1]) >= 1 - delta, name
