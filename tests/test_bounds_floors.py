"""fairerm.bounds._floors: the route floor of a PAC-Bayes report (the best its statements could give
with an ideal posterior) and the fixed-classifier reference, against independent computations:
the kl inverse by root finding on scipy's own entropy, Maurer's constant as a sum of scipy's
binomial pmf, Clopper-Pearson from scipy's beta quantiles, and against the reported statements
themselves on linear and kernel models, all three fairness notions and without a prior."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq
from scipy.stats import beta, binom

from fairerm import FairKernelSVC, FairLinearSVC
from fairerm.bounds import generalization_report
from fairerm.bounds._floors import margin_floor, route_floors, statement_floors
from fairerm.bounds._kl import kl_inverse_upper_scalar
from fairerm.cli import _limits_lines

_HAS_PRIOR = "prior:"


def _kl(q, p):
    out = 0.0
    if q > 0:
        out += q * math.log(q / p)
    if q < 1:
        out += (1 - q) * math.log((1 - q) / (1 - p))
    return out


def _kl_inverse(q, eps):
    """The largest p >= q with kl(q || p) <= eps, by root finding (independent of fairerm._kl)."""
    if _kl(q, 1 - 1e-15) <= eps:
        return 1.0
    return brentq(lambda p: _kl(q, p) - eps, q, 1 - 1e-15, xtol=1e-14)


def _xi(m):
    k = np.arange(m + 1)
    return float(np.sum(binom.pmf(k, m, k / m)))


def test_kl_inverse_is_concave_so_a_scaled_margin_loss_never_beats_the_floor():
    """The floor's proof: q -> kl^-1(q, eps) is nondecreasing and concave with kl^-1(0, eps) >= 0, so
    kl^-1(L, eps) / c >= kl^-1(D, eps) whenever L >= c D, c in (0, 1]."""
    rng = np.random.default_rng(0)
    for eps in (1e-4, 0.003, 0.02, 0.1, 0.5, 2.0):
        grid = np.linspace(0.0, 1.0, 201)
        g = np.array([kl_inverse_upper_scalar(q, eps) for q in grid])
        assert np.all(np.diff(g) >= -1e-12)
        assert np.all(g[1:-1] >= 0.5 * (g[:-2] + g[2:]) - 1e-9)  # midpoint concavity on the grid
        assert g[0] == pytest.approx(1 - math.exp(-eps), abs=2e-8)  # the library pads its inverse by 1e-8
        for _ in range(200):
            d, c = rng.random() ** 3, rng.uniform(0.05, 1.0)
            loss = min(1.0, c * d + rng.random() * (1 - c * d) * rng.integers(0, 2))  # L >= c D, at times L = c D
            assert kl_inverse_upper_scalar(loss, eps) / c >= kl_inverse_upper_scalar(d, eps) - 1e-12


@pytest.mark.parametrize("loss,m,delta", [(0.0, 50, 0.01), (0.009, 885, 0.00104), (0.2, 1000, 0.05),
                                          (0.5, 7, 0.1), (1.0, 100, 0.001)])
def test_margin_floor_is_the_kl_inverse_of_the_deterministic_loss_at_zero_kl(loss, m, delta):
    expected = _kl_inverse(loss, math.log(_xi(m) / delta) / m)
    assert margin_floor(loss, m, delta) == pytest.approx(expected, abs=2e-8)
    assert margin_floor(loss, 0, delta) == 1.0
    with_grid = _kl_inverse(loss, math.log(360 * _xi(m) / delta) / m)
    assert margin_floor(loss, m, delta, union=360) == pytest.approx(with_grid, abs=2e-8)
    budget = _kl_inverse(loss, (7.5 + math.log(_xi(m) / delta)) / m)
    assert margin_floor(loss, m, delta, kl=7.5) == pytest.approx(budget, abs=2e-8)


def _sample(n=3000, seed=0, shift=0.6):
    rng = np.random.default_rng(seed)
    s = np.where(rng.random(n) < 0.3, "b", "a")
    X = rng.normal(size=(n, 4)) * np.array([1.0, 1e-3, 1e3, 1.0]) + (s == "b")[:, None] * np.array([shift, 0, 0, shift])
    y = ((X * np.array([2.0, 800.0, 1e-3, -0.5])).sum(1) + rng.normal(size=n) > 0).astype(int)
    return X, y, s


def _models():
    X, y, s = _sample()
    Xs = X / X.std(0)
    return [
        ("linear, EO", FairLinearSVC(C=0.1, epsilon=0.0).fit(X, y, sensitive_features=s), X, y, s, {}),
        ("linear, DP", FairLinearSVC(C=0.1, epsilon=0.0, constraint="demographic_parity").fit(
            X, y, sensitive_features=s), X, y, s, {}),
        ("linear, EOdds", FairLinearSVC(C=0.1, epsilon=0.05, constraint="equalized_odds").fit(
            X, y, sensitive_features=s), X, y, s, {}),
        ("linear, prior=None", FairLinearSVC(C=0.1).fit(X, y, sensitive_features=s), X, y, s, {"prior": None}),
        ("kernel", FairKernelSVC(C=1.0, gamma=0.25).fit(Xs[:1200], y[:1200], sensitive_features=s[:1200]),
         Xs[:1200], y[:1200], s[:1200], {}),
    ]


@pytest.fixture(scope="module")
def reports():
    return [(name, generalization_report(model, X, y, sensitive_features=s, **options), model, X, y, s)
            for name, model, X, y, s, options in _models()]


def test_every_statement_is_at_or_beyond_its_floor(reports):
    """Upper statements (risk, upper rate) never go below their floor, lower ones never above."""
    for name, report, *_ in reports:
        table = report.statements
        floors = statement_floors(table)
        lower = (table["statement"] == "lower rate").to_numpy()
        values = table["value"].to_numpy()
        assert np.all(values[~lower] >= floors[~lower] - 1e-12), name
        assert np.all(values[lower] <= floors[lower] + 1e-12), name
        assert np.all((floors >= 0) & (floors <= 1)), name
        grid = statement_floors(table, with_grid=True)  # the grid's own floor: between the two
        assert np.all(values[~lower] >= grid[~lower] - 1e-12) and np.all(grid[~lower] >= floors[~lower] - 1e-12)
        assert np.all(values[lower] <= grid[lower] + 1e-12) and np.all(grid[lower] <= floors[lower] + 1e-12)


def _recomputed_gap(lower_col, upper_col, cells):
    worst = 0.0
    for _, block in cells.groupby("stratum", sort=False):
        up, lo = block[upper_col].to_numpy(), block[lower_col].to_numpy()
        worst = max(worst, max(up[i] - lo[j] for i in range(len(up)) for j in range(len(lo)) if i != j))
    return min(worst, 1.0)


def test_route_floors_recomputed_from_the_statements_and_the_fitted_model(reports):
    """The report's floors, recomputed here from its statements with the independent kl inverse, and
    the fixed-classifier reference from the model's own predictions and scipy's beta quantiles."""
    for name, report, model, X, y, s in reports:
        pb, table = report.pac_bayes, report.statements
        dependent = table["part"].str.startswith(_HAS_PRIOR)
        has_prior = bool(dependent.any())
        assert has_prior == (name != "linear, prior=None")
        rows = []
        for row in table.itertuples(index=False):
            eps = math.log(_xi(int(row.n)) / row.delta) / row.n
            floor = _kl_inverse(row.deterministic_loss, eps)
            base = row.binomial if np.isfinite(row.binomial) else (1.0 if row.statement == "lower rate" else 0.0)
            rows.append(base - floor if row.statement == "lower rate" else base + floor)
        floors = np.clip(rows, 0.0, 1.0)
        use = dependent.to_numpy() if has_prior else np.ones(len(table), bool)
        risk = (table["stratum"] == "(risk)").to_numpy()
        assert pb["risk_floor"] == pytest.approx(floors[risk & use].min(), abs=2e-8), name
        assert pb["risk_floor"] <= table.loc[risk & use, "value"].min() + 1e-12
        predicted = model.predict(X)
        errors = int(np.sum(predicted != y))
        d_risk = float(table.loc[risk, "delta"].sum() + table.loc[risk, "binomial_delta"].sum())
        assert pb["fixed_risk"] == pytest.approx(beta.ppf(1 - d_risk, errors + 1, len(y) - errors), abs=1e-9)
        cells = pb["floor_cells"].copy()
        fixed_lo, fixed_hi, floor_lo, floor_hi = [], [], [], []
        for cell in cells.itertuples(index=False):
            mine = ((table["stratum"] == cell.stratum) & (table["group"] == cell.group)).to_numpy()
            stratum = np.ones(len(y), bool) if cell.stratum == "all" else (y == (1 if cell.stratum == "y=+1" else 0))
            in_cell = stratum & (s == cell.group)
            k, n = int(np.sum(predicted[in_cell] == 1)), int(in_cell.sum())
            assert n == cell.n
            for side, lo_list, fl_list in (("lower rate", fixed_lo, floor_lo), ("upper rate", fixed_hi, floor_hi)):
                part = mine & (table["statement"] == side).to_numpy()
                d_side = float(table.loc[part, "delta"].sum() + table.loc[part, "binomial_delta"].sum())
                if side == "lower rate":
                    lo_list.append(beta.ppf(d_side, k, n - k + 1) if k > 0 else 0.0)
                    fl_list.append(floors[part & use].max())
                else:
                    lo_list.append(beta.ppf(1 - d_side, k + 1, n - k) if k < n else 1.0)
                    fl_list.append(floors[part & use].min())
        np.testing.assert_allclose(cells["fixed_lower"], fixed_lo, atol=1e-9)
        np.testing.assert_allclose(cells["fixed_upper"], fixed_hi, atol=1e-9)
        np.testing.assert_allclose(cells["floor_lower"], floor_lo, atol=2e-8)
        np.testing.assert_allclose(cells["floor_upper"], floor_hi, atol=2e-8)
        assert pb["rate_gap_floor"] == pytest.approx(
            _recomputed_gap("floor_lower", "floor_upper", cells), abs=4e-8)
        assert pb["fixed_rate_gap"] == pytest.approx(
            _recomputed_gap("fixed_lower", "fixed_upper", cells), abs=1e-9)
        # the floor of the data-dependent route is below what that route reports
        reported = pd.DataFrame({"stratum": cells["stratum"], "lo": [
            table.loc[mine_rows & use, "value"].max() for mine_rows in _side_masks(table, cells, "lower rate")],
            "hi": [table.loc[mine_rows & use, "value"].min() for mine_rows in _side_masks(table, cells, "upper rate")]})
        assert pb["rate_gap_floor"] <= _recomputed_gap("lo", "hi", reported) + 1e-12, name


def _side_masks(table, cells, side):
    return [((table["stratum"] == c.stratum) & (table["group"] == c.group) & (table["statement"] == side)).to_numpy()
            for c in cells.itertuples(index=False)]


def test_floors_are_in_to_dict_and_in_the_summary(reports):
    _, report, *_ = reports[0]
    out = report.to_dict()
    for key in ("pac_bayes_risk_floor", "pac_bayes_rate_gap_floor", "pac_bayes_fixed_risk", "pac_bayes_fixed_rate_gap"):
        assert key in out and 0.0 <= out[key] <= 1.0
    text = report.summary()
    assert "what limits it" in text and f"{report.pac_bayes['rate_gap_floor']:.4f}" in text


def test_route_floors_on_a_hand_made_table():
    """Two cells, one side each with a prior statement and a prior-free one: the floor of a side is
    taken over its data-dependent statement only; the fixed reference uses the side's whole delta."""
    rows = []
    for group, binomial in (("a", 0.6), ("b", 0.5)):
        for side, sign in (("upper rate", 1), ("lower rate", -1)):
            rows.append(dict(stratum="y=+1", group=group, statement=side, n=400, delta=0.001,
                             binomial=np.nan, binomial_delta=0.0, deterministic_loss=0.55, value=np.nan))
            rows.append(dict(stratum="y=+1", group=group, statement=side, n=300, delta=0.0005,
                             binomial=binomial + sign * 0.05, binomial_delta=0.0005, deterministic_loss=0.01,
                             value=np.nan))
    rows.append(dict(stratum="(risk)", group="", statement="risk P(h != y)", n=1000, delta=0.01, binomial=np.nan,
                     binomial_delta=0.0, deterministic_loss=0.2, value=np.nan))
    table = pd.DataFrame(rows)
    cells = pd.DataFrame({"stratum": ["y=+1", "y=+1"], "group": ["a", "b"], "n": [400, 400], "rate": [0.6, 0.5]})
    out = route_floors(table, cells, n_errors=200, n=1000)
    eps = math.log(_xi(300) / 0.0005) / 300
    up_a, lo_b = 0.65 + _kl_inverse(0.01, eps), 0.45 - _kl_inverse(0.01, eps)
    assert out["rate_gap_floor"] == pytest.approx(up_a - lo_b, abs=4e-8)
    assert out["risk_floor"] == pytest.approx(_kl_inverse(0.2, math.log(_xi(1000) / 0.01) / 1000), abs=2e-8)
    d_side = 0.001 + 0.0005 + 0.0005
    assert out["fixed_rate_gap"] == pytest.approx(beta.ppf(1 - d_side, 241, 160) - beta.ppf(d_side, 200, 201),
                                                  abs=1e-9)


def test_a_report_says_where_the_prior_free_statements_beat_the_floor():
    """A constrained model that is unstable under refitting (three groups, epsilon = 0, features that
    barely predict y): its refitted priors point elsewhere, the N(0, I) statements give the bounds, and
    the summary says that the reported bounds are below the floor of the statements with a prior."""
    rng = np.random.default_rng(1)
    n = 3000
    s = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    X = rng.normal(size=(n, 3)) + (s == "b")[:, None] * 0.3
    y = (X @ np.array([1.0, -0.5, 0.3]) + rng.normal(size=n) > 0).astype(int)
    report = generalization_report(FairLinearSVC(C=0.1).fit(X, y, sensitive_features=s), X, y, sensitive_features=s)
    beaten = report.floors_beaten_by_the_prior_free_statements()
    pb = report.pac_bayes
    assert beaten == [name for name, bound, floor in (("risk", report.risk_bound, pb["risk_floor"]),
                                                       ("DEO", report.rate_gap_bound, pb["rate_gap_floor"]))
                      if bound < floor]
    assert beaten  # this model is such a case
    text = " ".join(report.summary().split())
    assert "the N(0, I) statements do better than that floor for the " + " and the ".join(beaten) in text
    demo_lines = _limits_lines(report)  # what `fairerm demo` prints under its table
    assert len(demo_lines) == 4 and demo_lines[-1].startswith(f"  Below that floor ({' and '.join(beaten)})")


def test_no_floor_note_where_the_prior_statements_give_the_bounds(reports):
    for name, report, *_ in reports:
        pb = report.pac_bayes
        expected = [label for label, bound, floor in (("risk", report.risk_bound, pb["risk_floor"]),
                                                        (report.rate_gap_name, report.rate_gap_bound,
                                                         pb["rate_gap_floor"])) if bound < floor - 1e-12]
        assert report.floors_beaten_by_the_prior_free_statements() == expected, name
        assert ("do better than that floor" in " ".join(report.summary().split())) == bool(expected), name
        assert len(_limits_lines(report)) == (4 if expected else 3), name
