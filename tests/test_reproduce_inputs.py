"""Edge inputs of the FERM reproduction (``fairerm reproduce`` / :func:`fairerm.baselines.run_reproduction`):
the largest seed, a run of our rows only, data sets whose baselines all failed, and ``--cv-folds`` larger
than a (label, group) stratum. The command line is run as a user runs it, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fairerm.baselines import METHODS, Split, paired_differences, run_reproduction, run_task
from fairerm.baselines._report import ferm_checks, target_checks, write_outputs
from fairerm.datasets import make_synthetic
from fairerm.exceptions import FairermValueError

ROOT = Path(__file__).resolve().parents[1]
SEED_MAX = 2**32 - 1


def run_cli(*args, timeout=300):
    """``python -m fairerm ARGS`` in a subprocess (this source tree's package first on the path)."""
    environment = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg", OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "fairerm", *args], capture_output=True, text=True, timeout=timeout,
                          env=environment)


def output_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


QUICK_FILES = ["ferm_runs_quick.csv", "ferm_scatter_{}_quick.png", "ferm_table_quick.csv", "ferm_table_quick.md"]


def synthetic_split(index: int, n: int = 120) -> Split:
    bunch = make_synthetic(2 * n, n_features=3, include_sensitive=False, random_state=index)
    X, y, s = bunch.data, bunch.target.to_numpy(), bunch.sensitive.to_numpy()
    return Split("synthetic", index, X.iloc[:n].reset_index(drop=True), y[:n], s[:n],
                 X.iloc[n:].reset_index(drop=True), y[n:], s[n:], [], np.arange(n))


# ---------------------------------------------------------------- 1. the largest seed

@pytest.mark.parametrize("seed, index, expected", [(0, 0, 0), (7, 1, 8), (SEED_MAX - 1, 1, SEED_MAX),
                                                   (SEED_MAX, 0, SEED_MAX), (SEED_MAX, 1, 0), (SEED_MAX, 3, 2)])
def test_fold_seed_is_the_seed_plus_the_split_index_modulo_2_32(monkeypatch, seed, index, expected):
    """Seeds that worked keep their folds (seed + index); beyond 2**32 - 1 the sum wraps around."""
    import sklearn.model_selection

    seen = []
    original = sklearn.model_selection.StratifiedKFold

    class Recording(original):
        def __init__(self, *args, **kwargs):
            seen.append(kwargs.get("random_state"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(sklearn.model_selection, "StratifiedKFold", Recording)
    method = next(m for m in METHODS if m.key == "linear_svm")
    records = run_task(synthetic_split(index), method, quick=True, cv_folds=2, tolerance=0.02, seed=seed)
    assert seen == [expected]
    assert all(np.isfinite(r["accuracy"]) for r in records)


@pytest.mark.realdata
def test_cli_runs_with_the_largest_seed_the_parser_accepts(tmp_path):
    result = run_cli("reproduce", "--quick", "--no-progress", "--datasets", "german", "--methods", "linear_svm",
                     "--seed", str(SEED_MAX), "--output-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert output_files(tmp_path) == sorted(f.format("german") for f in QUICK_FILES)
    runs = pd.read_csv(tmp_path / "ferm_runs_quick.csv")
    assert runs["accuracy"].notna().all() and sorted(runs["split"].unique()) == [0, 1]


# ---------------------------------------------------------------- 2. our rows only

def ours_only_runs() -> pd.DataFrame:
    return pd.DataFrame(dict(dataset="german", split=[0, 1], method="Linear FERM (eps=0)", key="ferm_linear",
                             ours=True, accuracy=[0.7, 0.72], deo=[0.05, 0.07]))


def test_paired_differences_of_our_rows_only_is_an_empty_frame_with_its_columns():
    paired = paired_differences(ours_only_runs())
    assert paired.empty
    assert {"dataset", "ours", "baseline", "n_pairs", "accuracy_diff", "deo_low", "deo_high"} <= set(paired.columns)


def test_target_checks_of_our_rows_only_is_empty():
    table = pd.DataFrame(dict(dataset=["german"], method=["Linear FERM (eps=0)"], ours=[True], n_runs=[2],
                              accuracy_mean=[0.71], deo_mean=[0.06]))
    assert target_checks(table, ours_only_runs()).empty


@pytest.mark.realdata
def test_cli_runs_our_rows_only_and_writes_the_full_report(tmp_path):
    result = run_cli("reproduce", "--quick", "--no-progress", "--datasets", "german", "--methods", "ferm_linear",
                     "--output-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert output_files(tmp_path) == sorted(f.format("german") for f in QUICK_FILES)
    markdown = (tmp_path / "ferm_table_quick.md").read_text()
    assert "| german | **Linear FERM (eps=0)** |" in markdown
    assert "## Checks" in markdown and "## Warnings raised during the runs" in markdown
    assert "Linear FERM (eps=0)" in result.stdout


# ---------------------------------------------------------------- 3. every baseline of a data set failed

def failed_baselines_table() -> pd.DataFrame:
    nan = np.nan
    return pd.DataFrame(dict(
        dataset="adult", method=["Naive linear SVM", "Linear SVM", "Linear FERM (eps=0)"], family="linear",
        ours=[False, False, True], selection=["naive", "fair", "fair"], accuracy_mean=[nan, nan, 0.8],
        accuracy_std=[nan, nan, 0.0], deo_mean=[nan, nan, 0.05], deo_std=[nan, nan, 0.0], ddp_mean=[nan, nan, 0.1],
        fit_seconds=[nan, nan, 0.5], selection_seconds=1.0, val_accuracy_mean=0.8, val_deo_mean=0.1, n_runs=1,
        n_train=100.0, n_test=10.0, selected_params="{'C': 1.0}", warnings="",
        failures=["refit: FairermValueError: undefined", "refit: FairermValueError: undefined", ""]))


def test_ferm_checks_report_a_data_set_whose_baselines_all_failed():
    checks = ferm_checks(failed_baselines_table())
    assert len(checks) == 1
    check = checks.iloc[0]
    assert check["method"] == "Linear FERM (eps=0)" and "failed" in check["best_baseline"]
    assert np.isnan(check["best_baseline_accuracy"]) and not check["accuracy_ok"] and not check["deo_ok"]


def test_ferm_checks_compare_with_the_baselines_that_did_not_fail():
    table = failed_baselines_table()
    table.loc[1, ["accuracy_mean", "deo_mean"]] = [0.81, 0.2]
    check = ferm_checks(table).iloc[0]
    assert check["best_baseline"] == "Linear SVM" and check["best_baseline_accuracy"] == 0.81
    assert check["accuracy_ok"] and check["deo_ok"]


def test_report_of_failed_baselines_is_written(tmp_path):
    from fairerm.baselines import ReproductionConfig

    config = ReproductionConfig(quick=True, datasets=("adult",), output_dir=tmp_path).resolved()
    paths = write_outputs(failed_baselines_table(), config)
    markdown = paths["markdown"].read_text()
    assert "| adult | Naive linear SVM | failed | failed |" in markdown
    assert "| adult | Linear FERM (eps=0) | 0.800 | 0.050 | every baseline failed (failed) |" in markdown
    assert (tmp_path / "ferm_scatter_adult_quick.png").stat().st_size > 1000


@pytest.mark.realdata
def test_cli_writes_every_file_when_every_baseline_failed(tmp_path):
    # ten Adult test rows: no positive woman among them, the test DEO is undefined and every refit fails
    result = run_cli("reproduce", "--quick", "--no-progress", "--datasets", "adult", "--methods", "linear_svm",
                     "--max-test", "10", "--output-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert output_files(tmp_path) == sorted(f.format("adult") for f in QUICK_FILES)
    markdown = (tmp_path / "ferm_table_quick.md").read_text()
    assert "| adult | Naive linear SVM | failed | failed |" in markdown
    assert "true-positive rate is undefined" in markdown  # the failure is reported with the row


# ---------------------------------------------------------------- 4. --cv-folds larger than a stratum

@pytest.mark.realdata
def test_cli_refuses_more_folds_than_the_smallest_stratum_before_any_work(tmp_path):
    result = run_cli("reproduce", "--quick", "--no-progress", "--datasets", "german", "--methods", "linear_svm",
                     "--cv-folds", "1000", "--output-dir", str(tmp_path / "out"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    error = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(error) == 1, result.stderr
    assert error[0].startswith("fairerm reproduce: error: cv_folds (--cv-folds) must be at most")
    assert "got 1000" in error[0] and "smallest (label, group) stratum" in error[0]
    assert not (tmp_path / "out").exists() or output_files(tmp_path / "out") == []


def test_run_task_refuses_more_folds_than_the_smallest_stratum():
    split = synthetic_split(0)
    strata = pd.Series(split.y_train).astype(str) + "|" + split.s_train
    smallest = int(strata.value_counts().min())
    method = next(m for m in METHODS if m.key == "linear_svm")
    with pytest.raises(FairermValueError, match=rf"cv_folds \(--cv-folds\) must be at most {smallest}, the size of the "
                                                rf"smallest \(label, group\) stratum .*; got {smallest + 1}\."):
        run_task(split, method, quick=True, cv_folds=smallest + 1, tolerance=0.02, seed=0)
    records = run_task(split, method, quick=True, cv_folds=min(smallest, 3), tolerance=0.02, seed=0)
    assert all(np.isfinite(r["accuracy"]) for r in records)


@pytest.mark.realdata
def test_run_reproduction_checks_cv_folds_before_fitting(monkeypatch, tmp_path):
    import fairerm.baselines._command as command

    def no_fit(*args, **kwargs):
        raise AssertionError("a task ran")

    monkeypatch.setattr(command, "run_task", no_fit)
    linear = [m for m in METHODS if m.key == "linear_svm"]
    with pytest.raises(FairermValueError, match=r"cv_folds \(--cv-folds\) must be at most \d+, .*german split 0.*"
                                                r"got 1000\."):
        run_reproduction(linear, datasets=["german"], quick=True, cv_folds=1000, output_dir=tmp_path, progress=False)
    assert not any(tmp_path.iterdir())
