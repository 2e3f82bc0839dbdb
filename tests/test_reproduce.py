"""Tests of the FERM reproduction (fairerm.baselines): the baselines against independent references, the
model selection rule, the protocol, and runs of ``run_reproduction`` / ``fairerm reproduce`` whose table
must be well formed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from fairerm import FairLinearSVC
from fairerm.baselines import (
    METHODS,
    CovarianceConstrainedClassifier,
    ExponentiatedGradientClassifier,
    HardtPostProcessing,
    Method,
    ProjectedLinearSVC,
    SplitPlan,
    linear_svm,
    paired_differences,
    rebuild_report,
    run_reproduction,
    select_candidate,
)
from fairerm.baselines._protocol import default_split_plans
from fairerm.baselines._report import total_warnings
from fairerm.exceptions import FairermTypeError, FairermValueError, SolverNotInstalledError

ROOT = Path(__file__).resolve().parents[1]
REQUIRED_COLUMNS = ["dataset", "method", "accuracy_mean", "accuracy_std", "deo_mean", "deo_std", "fit_seconds"]


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
    keys = ("linear_svm", "hardt_linear", "ferm_linear", "rbf_svm", "ferm_rbf")
    methods = [m for m in METHODS if m.key in keys]
    settings = dict(datasets=["german"], quick=True, n_splits=1, output_dir=tmp_path, progress=False)
    table = run_reproduction(methods, **settings)
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
    runs = pd.read_csv(tmp_path / "ferm_runs_quick.csv")
    assert len(runs) == 7 and (runs["split"] == 0).all() and (runs["scheme"] == "random").all()
    runs.assign(dataset="compas").to_csv(tmp_path / "ferm_runs_quick.csv", index=False)
    merged = run_reproduction(methods, append=True, **settings)
    assert sorted(merged["dataset"].unique()) == ["compas", "german"]
    assert "MY NOTES" in (tmp_path / "ferm_table_quick.md").read_text()
    merged_runs = pd.read_csv(tmp_path / "ferm_runs_quick.csv")
    assert list(merged_runs["dataset"]) == ["compas"] * 7 + ["german"] * 7  # the per-split records are kept too
    # --append with fewer methods replaces only their rows of the data set, the others are kept
    again = run_reproduction([m for m in methods if m.key == "ferm_linear"], append=True, **settings)
    assert len(again) == 14 and (again["dataset"] == "german").sum() == 7
    assert list(pd.read_csv(tmp_path / "ferm_runs_quick.csv")["dataset"]).count("german") == 7


@pytest.mark.slow
@pytest.mark.realdata
def test_full_quick_smoke_run(tmp_path):
    """What CI runs: ``fairerm reproduce --quick`` on the three data sets, every method."""
    table = run_reproduction(quick=True, output_dir=tmp_path, progress=False, n_jobs=2)
    check_table(table, ["adult", "compas", "german"], {"adult": 1, "compas": 2, "german": 2})
    for name in ("adult", "compas", "german"):
        assert (tmp_path / f"ferm_scatter_{name}_quick.png").stat().st_size > 10_000


# ---------------------------------------------------------------- the public API: methods, errors, protocol

def test_method_definitions_are_checked():
    ok = dict(key="mine", family="linear", build=LogisticRegression, grid={"C": (1.0,)}, quick_grid={"C": (1.0,)},
              rows={"Mine": "fair"})
    assert Method(**ok).candidates(quick=False) == [{"C": 1.0}]
    for change, error, match in [
        ({"key": "my method"}, FairermValueError, "Method key must be a Python identifier"),
        ({"family": "tree"}, FairermValueError, "Method family must be one of"),
        ({"build": "LogisticRegression"}, FairermTypeError, "Method build must be callable"),
        ({"grid": {"C": 1.0}}, FairermValueError, "Method grid must map each hyperparameter"),
        ({"quick_grid": {"C": ()}}, FairermValueError, "Method quick_grid must map"),
        ({"rows": {}}, FairermValueError, "Method rows must map at least one"),
        ({"rows": {"Mine": "best"}}, FairermValueError, "selection rule must be one of"),
    ]:
        with pytest.raises(error, match=match):
            Method(**{**ok, **change})


def test_run_reproduction_checks_its_arguments_before_any_work(tmp_path):
    linear = [m for m in METHODS if m.key == "linear_svm"]
    with pytest.raises(FairermValueError, match=r"datasets must name one or more of \['adult', 'compas', 'german'\]"):
        run_reproduction(linear, datasets=["mnist"], output_dir=tmp_path)
    with pytest.raises(FairermValueError, match=r"distinct keys; repeated: \['linear_svm'\]"):
        run_reproduction(linear * 2, output_dir=tmp_path)
    with pytest.raises(FairermTypeError, match="methods must be a non-empty sequence"):
        run_reproduction(["linear_svm"], output_dir=tmp_path)
    with pytest.raises(FairermValueError, match="output_dir: .*inside the installed fairerm package"):
        run_reproduction(linear, output_dir=ROOT / "fairerm" / "out")
    with pytest.raises(FairermValueError, match="n_splits must be an integer >= 1; got 0"):
        run_reproduction(linear, n_splits=0, output_dir=tmp_path)
    with pytest.raises(FairermValueError, match="there is no table to rebuild"):
        rebuild_report(tmp_path)
    assert not (ROOT / "fairerm" / "out").exists() and not any(tmp_path.iterdir())


def test_missing_fairlearn_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "fairlearn", None)  # import fairlearn now fails
    X, y, s = biased_problem(n=100)
    for estimator in (HardtPostProcessing(linear_svm(1.0)), ExponentiatedGradientClassifier(LogisticRegression())):
        with pytest.raises(SolverNotInstalledError, match=re.escape('pip install "fairerm[baselines]"')):
            estimator.fit(X, y, sensitive_features=s)
    with pytest.raises(SolverNotInstalledError, match=r"the methods hardt_linear, expgrad_logistic, expgrad_svm, "
                                                      r"hardt_rbf need fairlearn"):
        run_reproduction(output_dir=tmp_path)
    assert [m.key for m in METHODS if m.missing_requirements()] == ["hardt_linear", "expgrad_logistic",
                                                                     "expgrad_svm", "hardt_rbf"]
    assert not any(tmp_path.iterdir())


def test_target_checks_pair_each_ferm_row_with_the_fairest_randomised_baseline():
    from fairerm.baselines._protocol import summarise
    from fairerm.baselines._report import target_checks

    rng = np.random.default_rng(0)
    records = []
    rows = [("FERM", "ferm_linear", True, 0.850, 0.010), ("Hardt", "hardt_linear", False, 0.851, 0.011),
            ("ExpGrad", "expgrad_svm", False, 0.852, 0.004), ("Naive", "linear_svm", False, 0.856, 0.080)]
    rows.append(("Old", "hardt_rbf", False, 0.860, 0.000))  # one split only (an earlier run): not comparable
    for name, key, ours, accuracy, deo in rows:
        for split in range(1 if name == "Old" else 6):
            records.append(dict(dataset="adult", split=split, scheme="random", method=name, key=key, family="linear",
                                ours=ours, selection="fair", params="{}", val_accuracy=np.nan, val_deo=np.nan,
                                n_train=10, n_test=10, n_candidates=1, selection_seconds=0.0,
                                accuracy=accuracy + 0.002 * rng.normal(), deo=deo + 0.004 * rng.normal(),
                                ddp=0.1, fit_seconds=1.0, warnings="", failures=""))
    runs = pd.DataFrame(records)
    checks = target_checks(summarise(runs), runs)
    assert len(checks) == 1
    check = checks.iloc[0]
    assert check["randomised"] == "ExpGrad" and check["best"] == "Naive" and check["n_pairs"] == 6
    paired = paired_differences(runs)
    expected = paired[(paired["ours"] == "FERM") & (paired["baseline"] == "ExpGrad")].iloc[0]
    assert check["deo_low"] == pytest.approx(expected["deo_low"])
    assert check["deo_ok"] == (expected["deo_low"] <= 0) and not check["accuracy_ok"]  # 0.6 point below Naive


def test_paired_differences_match_scipy_paired_t_interval():
    from scipy import stats

    rng = np.random.default_rng(0)
    n = 7
    records = []
    for name, ours, shift in [("FERM", True, 0.0), ("Hardt", False, 0.01), ("ZZ", False, -0.02)]:
        for split in range(n):
            records.append(dict(dataset="compas", split=split, method=name, ours=ours,
                                accuracy=0.66 + 0.01 * np.sin(split) + shift + 0.003 * rng.normal(),
                                deo=0.05 + 0.02 * np.cos(split) - shift + 0.004 * rng.normal()))
    runs = pd.DataFrame(records).sample(frac=1.0, random_state=1)  # row order must not matter
    paired = paired_differences(runs, confidence=0.9)
    assert sorted(zip(paired["ours"], paired["baseline"])) == [("FERM", "Hardt"), ("FERM", "ZZ")]
    for row in paired.itertuples(index=False):
        for metric in ("accuracy", "deo"):
            a = runs[runs.method == row.ours].sort_values("split")[metric].to_numpy()
            b = runs[runs.method == row.baseline].sort_values("split")[metric].to_numpy()
            interval = stats.ttest_rel(a, b).confidence_interval(0.9)
            assert getattr(row, f"{metric}_diff") == pytest.approx(np.mean(a - b), abs=1e-15)
            assert getattr(row, f"{metric}_low") == pytest.approx(interval.low, rel=1e-10)
            assert getattr(row, f"{metric}_high") == pytest.approx(interval.high, rel=1e-10)
        assert row.n_pairs == n
    as_text = paired_differences(runs.assign(ours=runs["ours"].astype(str)), confidence=0.9)  # a CSV's "True"
    pd.testing.assert_frame_equal(as_text, paired)
    one = paired_differences(runs[runs.split == 0])
    assert (one["n_pairs"] == 1).all() and one["deo_low"].isna().all()


def test_split_plans_are_checked():
    with pytest.raises(FairermValueError, match="needs official=True or n_random >= 1"):
        SplitPlan()
    with pytest.raises(FairermValueError, match="SplitPlan.test_size must be < 1"):
        SplitPlan(n_random=2, test_size=1.0)
    assert SplitPlan(official=True, n_random=10, test_size=1 / 3).describe() == (
        "the official train / test files and 10 random 67/33 splits stratified by label and group of the "
        "complete rows (missing values dropped) of both files")
    plans = default_split_plans(30, 10)  # issue 21: Adult official + 10 random 2/3 - 1/3, the others 30
    assert (plans["adult"].official, plans["adult"].n_random, plans["compas"].n_random) == (True, 10, 30)
    assert plans["adult"].test_size == pytest.approx(1 / 3)


@pytest.mark.realdata
def test_random_splits_are_stratified_disjoint_and_numbered_after_the_official_one():
    from fairerm.baselines import load_splits

    splits = load_splits("adult", SplitPlan(official=True, n_random=2, test_size=1 / 3), seed=3,
                         kernel_max_train=500)
    assert [(s.index, s.scheme) for s in splits] == [(0, "official"), (1, "random"), (2, "random")]
    assert (len(splits[0].y_train), len(splits[0].y_test)) == (32_561, 16_281)
    for split in splits[1:]:
        assert len(split.y_train) + len(split.y_test) == 45_222  # the complete rows of both files
        assert len(split.y_test) == pytest.approx(45_222 / 3, abs=1)
        for part_y, part_s in ((split.y_train, split.s_train), (split.y_test, split.s_test)):
            cell = np.mean((part_y == 1) & (part_s == "Female"))
            assert cell == pytest.approx(np.mean((splits[0].y_train == 1) & (splits[0].s_train == "Female")),
                                         abs=0.003)
        assert len(split.kernel_rows) == 500 and split.kernel_rows.max() < len(split.y_train)
    assert not splits[1].X_test.equals(splits[2].X_test)
    with pytest.raises(FairermValueError, match="only adult has an official"):
        load_splits("german", SplitPlan(official=True))


@pytest.mark.slow
def test_report_is_rebuilt_from_the_committed_table_by_the_script(tmp_path):
    """``python benchmarks/reproduce_ferm.py --report-only``: the thin script over the package, no fitting."""
    shutil.copy(ROOT / "benchmarks" / "results" / "ferm_table.csv", tmp_path / "ferm_table.csv")
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "reproduce_ferm.py"), "--report-only",
                          "--output-dir", str(tmp_path)], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, MPLBACKEND="Agg"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    text = (tmp_path / "ferm_table.md").read_text()
    committed = pd.read_csv(ROOT / "benchmarks" / "results" / "ferm_table.csv")
    assert text.split("## Checks")[0].count("\n| adult |") == (committed["dataset"] == "adult").sum()
    assert "DESIGN.md" not in text and "docs/reproduction.rst" in text
    assert ("Protocol: Adult (sex): the official train / test files and 10 random 67/33 splits stratified by label "
            "and group of the complete rows (missing values dropped) of both files, mean ± std; COMPAS") in text
    for name in ("adult", "compas", "german"):
        assert (tmp_path / f"ferm_scatter_{name}.png").stat().st_size > 10_000


def docs_example(title: str) -> str:
    """The first Python code block after the section ``title`` of docs/reproduction.rst."""
    text = (ROOT / "docs" / "reproduction.rst").read_text()
    section = text[text.index(f"\n{title}\n"):]
    block = section[section.index(".. code-block:: python"):].split("\n\n", 1)[1]
    lines = []
    for line in block.splitlines():
        if line and not line.startswith("   "):
            break
        lines.append(line[3:])
    return "\n".join(lines)


@pytest.mark.realdata
def test_docs_example_adds_a_method_to_the_same_table(tmp_path, monkeypatch):
    code = docs_example("Adding your own method to the table")
    assert "run_reproduction([*others, mine]" in code
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "docs/reproduction.rst", "exec"), namespace)  # noqa: S102 - our own documentation
    table = namespace["table"]
    assert list(table["method"]) == ["Naive linear SVM", "Linear SVM", "Linear FERM (eps=0)", "My logistic regression"]
    assert table[["accuracy_mean", "deo_mean"]].notna().all().all()
    assert ((table["accuracy_mean"] > 0.6) & (table["n_runs"] == 2)).all()
    assert table.loc[3, "selected_params"].startswith("{'C': ")
    markdown = (tmp_path / "my_results" / "ferm_table_quick.md").read_text()
    assert "| german | My logistic regression |" in markdown
    assert "## Paired comparisons" in markdown and "| german | Linear FERM (eps=0) | My logistic regression | 2 |" \
        in markdown
    runs = pd.read_csv(tmp_path / "my_results" / "ferm_runs_quick.csv")
    assert set(runs["method"]) == set(table["method"]) and len(runs) == 2 * len(table)
    paired = paired_differences(runs)
    assert set(paired["baseline"]) == {"Naive linear SVM", "Linear SVM", "My logistic regression"}


@pytest.mark.realdata
def test_docs_example_of_paired_comparisons_runs(tmp_path, monkeypatch):
    """The split-plan example, with two methods and 3 splits instead of every method and 30 (its API is what counts)."""
    import fairerm.baselines

    code = docs_example("Several random splits and paired comparisons")
    assert 'SplitPlan(n_random=30)' in code and 'paired_differences(pd.read_csv("out/ferm_runs.csv"))' in code
    calls = []

    def smaller(**kwargs):
        calls.append(kwargs)
        kwargs["split_plans"] = {name: SplitPlan(n_random=3) for name in kwargs["split_plans"]}
        methods = [m for m in METHODS if m.key in ("linear_svm", "ferm_linear")]
        return run_reproduction(methods, cv_folds=2, max_train=1500, progress=False, **kwargs)

    monkeypatch.setattr(fairerm.baselines, "run_reproduction", smaller)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "docs/reproduction.rst", "exec"), namespace)  # noqa: S102 - our own documentation
    assert calls and calls[0]["datasets"] == ["compas"]
    paired = namespace["paired"]
    assert list(paired["ours"]) == ["Linear FERM (eps=0)"] * 2 and (paired["n_pairs"] == 3).all()
    assert (paired["deo_low"] <= paired["deo_diff"]).all() and (paired["deo_diff"] <= paired["deo_high"]).all()


def test_reproduce_config_refuses_a_seed_numpy_cannot_take(tmp_path):
    from fairerm.baselines._command import ReproductionConfig
    from fairerm.exceptions import FairermValueError

    with pytest.raises(FairermValueError, match=r"seed must be an integer >= 0 and <= 4294967295; got 4294967296"):
        ReproductionConfig(seed=2**32, output_dir=tmp_path).resolved()
