"""Tests of the FERM reproduction: the baselines against independent references, the model
selection rule, and a smoke run of ``benchmarks/reproduce_ferm.py`` whose table must be well formed."""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.baselines import (  # noqa: E402
    METHODS,
    CovarianceConstrainedClassifier,
    ExponentiatedGradientClassifier,
    HardtPostProcessing,
    ProjectedLinearSVC,
    select_candidate,
)
from benchmarks.baselines.methods import linear_svm  # noqa: E402
from benchmarks.baselines.report import total_warnings  # noqa: E402
from fairerm import FairLinearSVC  # noqa: E402
from fairerm.exceptions import FairermValueError  # noqa: E402

REQUIRED_COLUMNS = ["dataset", "method", "accuracy_mean", "accuracy_std", "deo_mean", "deo_std", "fit_seconds"]


def load_script():
    """Import benchmarks/reproduce_ferm.py by path, as ``fairerm reproduce`` does."""
    spec = importlib.util.spec_from_file_location("reproduce_ferm_under_test", ROOT / "benchmarks" / "reproduce_ferm.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def biased_problem(n=600, d=5, seed=0):
    """Two groups; group 1's positives sit further along feature 0, so unconstrained models have a TPR gap."""
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 2, size=n)
    X = rng.normal(size=(n, d))
    X[:, 0] += 1.2 * s
    y = (X[:, 0] + X[:, 1] + 0.7 * rng.normal(size=n) > 0.6).astype(int)
    return X, y, s


def tpr_gap(y, pred, s):
    rates = [np.mean(pred[(y == 1) & (s == g)] == 1) for g in np.unique(s)]
    return max(rates) - min(rates)


def hinge_objective(w, b, X, y01, C):
    ys = np.where(y01 == 1, 1.0, -1.0)
    return 0.5 * w @ w + C * np.maximum(0.0, 1.0 - ys * (X @ w + b)).sum()


# ---------------------------------------------------------------- model selection

def test_accuracy_rule_takes_best_accuracy_and_breaks_ties_by_deo():
    acc = np.array([0.80, 0.85, 0.85, 0.70])
    deo = np.array([0.01, 0.20, 0.10, 0.00])
    assert select_candidate(acc, deo, "accuracy", 0.02) == 2


def test_fair_rule_takes_lowest_deo_within_tolerance():
    acc = np.array([0.850, 0.835, 0.820, 0.700])
    deo = np.array([0.10, 0.05, 0.01, 0.00])
    assert select_candidate(acc, deo, "fair", 0.02) == 1  # 0.820 is 0.03 below the best: excluded
    assert select_candidate(acc, deo, "fair", 0.05) == 2
    assert select_candidate(acc, deo, "fair", 0.0) == 0


def test_failed_candidates_are_never_chosen():
    acc = np.array([-np.inf, 0.8])
    deo = np.array([np.inf, 0.3])
    assert select_candidate(acc, deo, "fair", 0.02) == 1
    assert select_candidate(acc, deo, "accuracy", 0.02) == 1


def test_warning_counts_add_up_over_runs():
    text = "ConvergenceWarning (svm/_base.py) x1; UserWarning (a/b.py) x2 | ConvergenceWarning (svm/_base.py) x3"
    assert total_warnings(text) == "ConvergenceWarning (svm/_base.py) x4; UserWarning (a/b.py) x2"
    assert total_warnings("") == ""


# ---------------------------------------------------------------- Zafar et al.

def covariance_in_test(model, X, y, s, subset):
    """Covariance of the group-1 indicator with the score over the subset, recomputed here."""
    keep = np.ones(len(y), bool) if subset == "all" else y == 1
    z = (s[keep] == 1).astype(float)
    score = X[keep] @ model.coef_[0] + model.intercept_[0]
    return np.mean((z - z.mean()) * score)


@pytest.mark.parametrize("subset", ["all", "positives"])
def test_zafar_fraction_one_is_sklearn_logistic_regression(subset):
    X, y, s = biased_problem()
    model = CovarianceConstrainedClassifier(C=0.5, covariance_fraction=1.0, subset=subset).fit(X, y, sensitive_features=s)
    reference = LogisticRegression(C=0.5, tol=1e-10, max_iter=10000).fit(X, y)
    np.testing.assert_allclose(model.coef_[0], reference.coef_[0], atol=2e-4)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, atol=2e-4)


@pytest.mark.parametrize("fraction", [0.0, 0.2])
@pytest.mark.parametrize("subset", ["all", "positives"])
def test_zafar_covariance_respects_bound(fraction, subset):
    X, y, s = biased_problem(seed=1)
    unconstrained = LogisticRegression(C=1.0, tol=1e-10, max_iter=10000).fit(X, y)
    bound = fraction * abs(covariance_in_test(unconstrained, X, y, s, subset))
    model = CovarianceConstrainedClassifier(C=1.0, covariance_fraction=fraction, subset=subset).fit(
        X, y, sensitive_features=s)
    assert abs(covariance_in_test(model, X, y, s, subset)) <= bound + 1e-6
    assert abs(covariance_in_test(unconstrained, X, y, s, subset)) > 0.05  # the constraint is active


def test_zafar_hinge_on_positives_with_zero_covariance_is_linear_ferm():
    """Zero covariance over the positives <=> <w, u> = 0, so hinge Zafar with fraction 0 is FERM, eps = 0."""
    X, y, s = biased_problem(n=300, seed=2)
    zafar = CovarianceConstrainedClassifier(C=0.3, covariance_fraction=0.0, loss="hinge", subset="positives").fit(
        X, y, sensitive_features=s)
    ferm = FairLinearSVC(C=0.3, epsilon=0.0, solver="cvxpy").fit(X, y, sensitive_features=s)
    ours = hinge_objective(zafar.coef_[0], zafar.intercept_[0], X, y, 0.3)
    theirs = hinge_objective(ferm.coef_[0], ferm.intercept_[0], X, y, 0.3)
    assert ours == pytest.approx(theirs, rel=1e-5)
    np.testing.assert_allclose(zafar.coef_[0], ferm.coef_[0], atol=1e-3)


def test_zafar_rejects_bad_arguments_with_named_messages():
    X, y, s = biased_problem(n=50)
    with pytest.raises(FairermValueError, match="covariance_fraction"):
        CovarianceConstrainedClassifier(covariance_fraction=1.5).fit(X, y, sensitive_features=s)
    with pytest.raises(FairermValueError, match="loss"):
        CovarianceConstrainedClassifier(loss="squared").fit(X, y, sensitive_features=s)
    with pytest.raises(FairermValueError, match="sensitive_features"):
        CovarianceConstrainedClassifier().fit(X, y)


# ---------------------------------------------------------------- linear FERM by projection

def test_projected_linear_svc_matches_fair_linear_svc():
    X, y, s = biased_problem(n=400, seed=3)
    projected = ProjectedLinearSVC(C=0.1).fit(X, y, sensitive_features=s)
    ferm = FairLinearSVC(C=0.1, epsilon=0.0, solver="cvxpy").fit(X, y, sensitive_features=s)
    u = X[(y == 1) & (s == 0)].mean(axis=0) - X[(y == 1) & (s == 1)].mean(axis=0)
    assert abs(projected.coef_[0] @ u) < 1e-10
    ours = hinge_objective(projected.coef_[0], projected.intercept_[0], X, y, 0.1)
    exact = hinge_objective(ferm.coef_[0], ferm.intercept_[0], X, y, 0.1)
    assert exact <= ours <= exact * (1 + 2e-3)  # liblinear penalises the intercept a little
    assert np.mean(projected.predict(X) == ferm.predict(X)) > 0.98


# ---------------------------------------------------------------- fairlearn wrappers

def test_hardt_equalises_training_true_positive_rates():
    X, y, s = biased_problem(n=4000, seed=4)
    plain = linear_svm(1.0).fit(X, y)
    hardt = HardtPostProcessing(linear_svm(1.0), random_state=0).fit(X, y, sensitive_features=s)
    pred = hardt.predict(X, sensitive_features=s)
    assert tpr_gap(y, plain.predict(X), s) > 0.1
    assert tpr_gap(y, pred, s) < 0.04
    np.testing.assert_array_equal(pred, hardt.predict(X, sensitive_features=s))  # reproducible


def test_hardt_needs_groups_at_prediction():
    X, y, s = biased_problem(n=200)
    hardt = HardtPostProcessing(linear_svm(1.0)).fit(X, y, sensitive_features=s)
    with pytest.raises(FairermValueError, match="sensitive_features"):
        hardt.predict(X)


def test_exponentiated_gradient_reduces_the_gap():
    X, y, s = biased_problem(n=1500, seed=5)
    plain = LogisticRegression().fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reduction = ExponentiatedGradientClassifier(LogisticRegression(), eps=0.01).fit(X, y, sensitive_features=s)
    pred = reduction.predict(X)
    assert set(np.unique(pred)) <= {0, 1}
    assert tpr_gap(y, pred, s) < tpr_gap(y, plain.predict(X), s) - 0.05


def test_every_method_names_our_rows_ferm():
    rows = {row: m.ours for m in METHODS for row in m.rows}
    assert all(("FERM" in row) == ours for row, ours in rows.items())
    assert {"linear", "kernel"} == {m.family for m in METHODS if m.ours}


# ---------------------------------------------------------------- the script

def check_table(table: pd.DataFrame, datasets, n_runs):
    assert list(table.columns[:2]) == ["dataset", "method"]
    assert set(REQUIRED_COLUMNS) <= set(table.columns)
    expected_rows = [row for m in METHODS for row in m.rows]
    for dataset in datasets:
        part = table[table["dataset"] == dataset]
        assert list(part["method"]) == expected_rows
        assert (part["n_runs"] == n_runs[dataset]).all()
    assert table[["accuracy_mean", "deo_mean"]].notna().all().all(), table[["method", "failures"]]
    assert ((table["accuracy_mean"] > 0.5) & (table["accuracy_mean"] <= 1)).all()
    assert ((table["deo_mean"] >= 0) & (table["deo_mean"] <= 1)).all()
    assert (table["accuracy_std"] >= 0).all() and (table["fit_seconds"] > 0).all()
    assert table.loc[table["method"].str.contains("FERM"), "ours"].all()


@pytest.mark.realdata
def test_quick_run_on_german_writes_a_well_formed_table(tmp_path):
    script = load_script()
    args = ["--quick", "--datasets", "german", "--n-splits", "1", "--output-dir", str(tmp_path), "--no-progress",
            "--methods", "linear_svm", "hardt_linear", "ferm_linear", "rbf_svm", "ferm_rbf"]
    table = script.main(args)
    csv = pd.read_csv(tmp_path / "ferm_table_quick.csv")
    assert len(csv) == len(table) == 7  # the linear and RBF SVMs give a naive and a fairly-selected row each
    assert set(REQUIRED_COLUMNS) <= set(csv.columns)
    assert csv["method"].str.contains("FERM").sum() == 2
    markdown = (tmp_path / "ferm_table_quick.md").read_text()
    assert markdown.split("## Checks")[0].count("| german |") == 7 and "## Checks" in markdown
    png = tmp_path / "ferm_scatter_german_quick.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    # --append keeps other data sets' rows and the hand-written part of the Markdown file.
    (tmp_path / "ferm_table_quick.md").write_text(markdown + "\nMY NOTES\n")
    csv.assign(dataset="compas").to_csv(tmp_path / "ferm_table_quick.csv", index=False)
    merged = script.main(args + ["--append"])
    assert sorted(merged["dataset"].unique()) == ["compas", "german"]
    assert "MY NOTES" in (tmp_path / "ferm_table_quick.md").read_text()


@pytest.mark.slow
@pytest.mark.realdata
def test_full_quick_smoke_run(tmp_path):
    """What CI runs: ``reproduce_ferm.py --quick`` on the three data sets, every method."""
    table = load_script().main(["--quick", "--output-dir", str(tmp_path), "--no-progress", "--n-jobs", "2"])
    check_table(table, ["adult", "compas", "german"], {"adult": 1, "compas": 2, "german": 2})
    for name in ("adult", "compas", "german"):
        assert (tmp_path / f"ferm_scatter_{name}_quick.png").stat().st_size > 10_000
