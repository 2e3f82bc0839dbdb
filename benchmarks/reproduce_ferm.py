r"""Reproduce the experiments of the FERM paper (Donini et al., NeurIPS 2018) against baselines.

For every data set (Adult, COMPAS, German; sensitive attribute sex, race, sex) and every method
of :data:`baselines.METHODS` (naive and fairly-selected SVMs, Hardt et al., Zafar et al.,
exponentiated gradient, linear and RBF FERM), the protocol is:

1. **Splits.** Adult: the official train / test files (one run; the test file is never used
   before the final evaluation). COMPAS and German: ``--n-splits`` random 70 / 30 splits,
   stratified by label and group; numbers are mean +- std over the splits.
2. **Model selection** inside the training part only: ``--cv-folds``-fold stratified cross
   validation over the method's grid. The preprocessor (one-hot encoding, standardisation) is
   fitted on each training fold alone; the sensitive attribute is sliced with the same fold
   indices as ``X`` and ``y``. Two rules (:func:`baselines.select_candidate`): *naive* rows take
   the best validation accuracy; every other row (every fairness method, FERM included, and the
   "SVM" rows) keeps the candidates within ``--accuracy-tolerance`` (absolute) of the best
   validation accuracy and takes the one with the smallest validation DEO.
3. **Refit** with the chosen hyperparameters on the whole training part (preprocessor refitted
   on it), evaluate accuracy and DEO = :math:`|\mathrm{TPR}_a - \mathrm{TPR}_b|` on the test part.
   ``fit_seconds`` is the wall time of that refit.

Kernel methods train on at most ``--kernel-max-train`` random training rows (Adult only is
larger); linear methods on all of them. Outputs (``--output-dir``): ``ferm_table.csv``,
``ferm_table.md`` (the table, the reference numbers of the authors' code beside ours, and
automatic checks; a hand-written section at its end is kept when it is regenerated) and
``ferm_scatter_<dataset>.png``. ``--quick`` subsamples, uses 2 splits, 2 folds and small grids,
and appends ``_quick`` to the file names.

Usage::

    python benchmarks/reproduce_ferm.py --quick
    python benchmarks/reproduce_ferm.py --n-jobs 2            # the full table (about an hour on 2 cores)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple, Sequence

import numpy as np
import pandas as pd

_HERE = Path(__file__).resolve().parent
if str(_HERE.parent) not in sys.path:  # run by path (python, runpy, importlib): find benchmarks.baselines
    sys.path.insert(0, str(_HERE.parent))

from benchmarks.baselines import METHODS, Method, select_candidate  # noqa: E402
from benchmarks.baselines.report import write_outputs  # noqa: E402

__all__ = ["main", "build_parser", "Split", "load_splits", "run_task", "summarise"]

DATASETS = ("adult", "compas", "german")


class Split(NamedTuple):
    """One train / test split of a data set (feature frames, 0/1 targets, group labels)."""

    dataset: str
    index: int
    X_train: pd.DataFrame
    y_train: np.ndarray
    s_train: np.ndarray
    X_test: pd.DataFrame
    y_test: np.ndarray
    s_test: np.ndarray
    categorical: list[str]
    kernel_rows: np.ndarray  # training rows the kernel methods use


def _frame_parts(bunch) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    return bunch.data.reset_index(drop=True), bunch.target.to_numpy(), bunch.sensitive.astype(str).to_numpy()


def _subsample(n: int, limit: int | None, rng: np.random.Generator) -> np.ndarray:
    if limit is None or n <= limit:
        return np.arange(n)
    return np.sort(rng.choice(n, size=limit, replace=False))


def load_splits(name: str, args: argparse.Namespace) -> list[Split]:
    """The train / test splits of data set ``name`` under the protocol of the module docstring."""
    from sklearn.model_selection import StratifiedShuffleSplit

    from fairerm.datasets import load_adult, load_compas, load_german

    rng = np.random.default_rng(args.seed)
    if name == "adult":
        train, test = load_adult(subset="train"), load_adult(subset="test")
        X_tr, y_tr, s_tr = _frame_parts(train)
        X_te, y_te, s_te = _frame_parts(test)
        keep_tr = _subsample(len(y_tr), args.max_train, rng)
        keep_te = _subsample(len(y_te), args.max_test, rng)
        X_tr, y_tr, s_tr = X_tr.iloc[keep_tr].reset_index(drop=True), y_tr[keep_tr], s_tr[keep_tr]
        X_te, y_te, s_te = X_te.iloc[keep_te].reset_index(drop=True), y_te[keep_te], s_te[keep_te]
        kernel_rows = _subsample(len(y_tr), args.kernel_max_train, rng)
        return [Split(name, 0, X_tr, y_tr, s_tr, X_te, y_te, s_te, list(train.categorical_features), kernel_rows)]
    bunch = load_compas() if name == "compas" else load_german()
    X, y, s = _frame_parts(bunch)
    strata = pd.Series(y).astype(str).to_numpy() + "|" + s
    splitter = StratifiedShuffleSplit(n_splits=args.n_splits, test_size=0.3, random_state=args.seed)
    splits = []
    for k, (tr, te) in enumerate(splitter.split(X, strata)):
        tr = tr[_subsample(len(tr), args.max_train, rng)]
        kernel_rows = _subsample(len(tr), args.kernel_max_train, rng)
        splits.append(Split(name, k, X.iloc[tr].reset_index(drop=True), y[tr], s[tr],
                            X.iloc[te].reset_index(drop=True), y[te], s[te],
                            list(bunch.categorical_features), kernel_rows))
    return splits


def _preprocess(split: Split, train_frame: pd.DataFrame, other: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    from fairerm.datasets import make_preprocessor

    pre = make_preprocessor(train_frame, categorical_features=split.categorical)
    return pre.fit_transform(train_frame), pre.transform(other)


def _scores(y: np.ndarray, pred: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    from fairerm.metrics import equal_opportunity_difference

    return float(np.mean(pred == y)), float(equal_opportunity_difference(y, pred, sensitive_features=s))


def _warning_summary(caught: Sequence[warnings.WarningMessage]) -> str:
    counts = Counter(f"{w.category.__name__} ({Path(w.filename).parent.name}/{Path(w.filename).name})" for w in caught)
    return "; ".join(f"{name} x{count}" for name, count in sorted(counts.items()))


def run_task(split: Split, method: Method, *, quick: bool, cv_folds: int, tolerance: float,
             seed: int) -> list[dict[str, Any]]:
    """Cross-validate ``method`` on ``split``'s training part, refit, and evaluate on its test part.

    Returns one record per table row of the method (selection rule).
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):  # one BLAS thread per task: oversubscription made small fits 20x slower
        return _run_task(split, method, quick=quick, cv_folds=cv_folds, tolerance=tolerance, seed=seed)


def _run_task(split: Split, method: Method, *, quick: bool, cv_folds: int, tolerance: float,
              seed: int) -> list[dict[str, Any]]:
    from sklearn.model_selection import StratifiedKFold

    from fairerm.metrics import fairness_summary

    rows = split.kernel_rows if method.family == "kernel" else np.arange(len(split.y_train))
    X_frame, y, s = split.X_train.iloc[rows].reset_index(drop=True), split.y_train[rows], split.s_train[rows]
    candidates = method.candidates(quick)
    accuracy = np.full((len(candidates), cv_folds), np.nan)
    deo = np.full((len(candidates), cv_folds), np.nan)
    failures: list[str] = []
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        strata = pd.Series(y).astype(str).to_numpy() + "|" + s
        folds = StratifiedKFold(n_splits=cv_folds, shuffle=True, random_state=seed + split.index)
        for f, (tr, va) in enumerate(folds.split(X_frame, strata) if len(candidates) > 1 else []):
            X_tr, X_va = _preprocess(split, X_frame.iloc[tr], X_frame.iloc[va])
            for k, params in enumerate(candidates):
                try:
                    model = method.fit(params, X_tr, y[tr], s[tr])
                    accuracy[k, f], deo[k, f] = _scores(y[va], method.predict(model, X_va, s[va]), s[va])
                except Exception as exc:  # a failed candidate is reported, never silently dropped
                    failures.append(f"{params}: {type(exc).__name__}: {exc}"[:200])
        selection_seconds = time.perf_counter() - start
        if len(candidates) > 1:
            mean_acc = np.where(np.isnan(accuracy).any(axis=1), -np.inf, accuracy.mean(axis=1))
            mean_deo = np.where(np.isnan(deo).any(axis=1), np.inf, deo.mean(axis=1))
        else:  # a single candidate: nothing to select, no cross-validation
            mean_acc, mean_deo = np.full(1, np.nan), np.full(1, np.nan)
        X_train, X_test = _preprocess(split, X_frame, split.X_test)
        refits: dict[int, tuple[Any, float]] = {}
        records = []
        for row_name, rule in method.rows.items():
            chosen = select_candidate(mean_acc, mean_deo, rule, tolerance)
            record = dict(dataset=split.dataset, split=split.index, method=row_name, key=method.key,
                          family=method.family, ours=method.ours, selection=rule,
                          params=str(candidates[chosen]), val_accuracy=float(mean_acc[chosen]),
                          val_deo=float(mean_deo[chosen]), n_train=len(y), n_test=len(split.y_test),
                          n_candidates=len(candidates), selection_seconds=selection_seconds)
            try:
                if chosen not in refits:
                    t0 = time.perf_counter()
                    model = method.fit(candidates[chosen], X_train, y, s)
                    refits[chosen] = (model, time.perf_counter() - t0)
                model, fit_seconds = refits[chosen]
                pred = method.predict(model, X_test, split.s_test)
                summary = fairness_summary(split.y_test, pred, sensitive_features=split.s_test)
                record.update(accuracy=summary["accuracy"], deo=summary["equal_opportunity_difference"],
                              ddp=summary["demographic_parity_difference"], fit_seconds=fit_seconds)
            except Exception as exc:
                failures.append(f"refit {candidates[chosen]}: {type(exc).__name__}: {exc}"[:200])
                record.update(accuracy=np.nan, deo=np.nan, ddp=np.nan, fit_seconds=np.nan)
            records.append(record)
    for record in records:
        record.update(warnings=_warning_summary(caught), failures=" | ".join(failures))
    return records


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over splits of every (dataset, method) row."""
    def params_summary(values: pd.Series) -> str:
        return "; ".join(f"{p} x{c}" if c > 1 else p for p, c in Counter(values).most_common())

    def joined(values: pd.Series) -> str:
        return " | ".join(sorted({v for v in values if v}))

    grouped = runs.groupby(["dataset", "method"], sort=False)
    table = grouped.agg(
        family=("family", "first"), ours=("ours", "first"), selection=("selection", "first"),
        accuracy_mean=("accuracy", "mean"), accuracy_std=("accuracy", lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0),
        deo_mean=("deo", "mean"), deo_std=("deo", lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0),
        ddp_mean=("ddp", "mean"), fit_seconds=("fit_seconds", "mean"),
        selection_seconds=("selection_seconds", "mean"), val_accuracy_mean=("val_accuracy", "mean"),
        val_deo_mean=("val_deo", "mean"), n_runs=("split", "count"), n_train=("n_train", "mean"),
        n_test=("n_test", "mean"), selected_params=("params", params_summary),
        warnings=("warnings", joined), failures=("failures", joined),
    ).reset_index()
    return table


def _append_to_existing(table: pd.DataFrame, args: argparse.Namespace) -> pd.DataFrame:
    """Put back the rows of the data sets not run now from the existing CSV (``--append``)."""
    path = Path(args.output_dir) / f"ferm_table{'_quick' if args.quick else ''}.csv"
    if not path.exists():
        return table
    old = pd.read_csv(path, keep_default_na=False, na_values=[""])
    old = old[~old["dataset"].isin(table["dataset"].unique())][[c for c in table.columns if c in old.columns]]
    old["ours"] = old["ours"].astype(str).str.lower().eq("true")
    old = old.assign(**{c: "" for c in ("command", "run_minutes") if c not in old.columns})
    merged = pd.concat([old, table], ignore_index=True)
    rank = {name: i for i, name in enumerate(DATASETS)}
    return merged.sort_values("dataset", key=lambda c: c.map(rank), kind="stable").reset_index(drop=True)


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface (also used by ``fairerm reproduce``)."""
    parser = argparse.ArgumentParser(prog="reproduce_ferm", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: subsampled data, 2 splits, 2 folds, small grids; files get a _quick suffix")
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--methods", nargs="+", choices=[m.key for m in METHODS], default=None,
                        help="restrict to these methods (default: all)")
    parser.add_argument("--output-dir", type=Path, default=_HERE / "results")
    parser.add_argument("--n-jobs", type=int, default=1, help="joblib workers over (dataset, split, method) tasks")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-splits", type=int, default=None, help="random splits of COMPAS and German (10; quick 2)")
    parser.add_argument("--cv-folds", type=int, default=None, help="cross-validation folds (3; quick 2)")
    parser.add_argument("--kernel-max-train", type=int, default=None,
                        help="training rows of the kernel methods (5000; quick 600)")
    parser.add_argument("--max-train", type=int, default=None, help="training rows of every method (all; quick 1500)")
    parser.add_argument("--max-test", type=int, default=None, help="Adult test rows (all; quick 3000)")
    parser.add_argument("--accuracy-tolerance", type=float, default=0.02,
                        help="fair selection: candidates within this (absolute) validation accuracy of the best")
    parser.add_argument("--append", action="store_true",
                        help="keep the rows of other data sets already in the output CSV (run data sets one by one)")
    parser.add_argument("--report-only", action="store_true",
                        help="fit nothing: rebuild the Markdown table and the plots from the existing CSV")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def _apply_defaults(args: argparse.Namespace) -> argparse.Namespace:
    defaults = dict(n_splits=(2, 10), cv_folds=(2, 3), kernel_max_train=(600, 5000), max_train=(1500, None),
                    max_test=(3000, None))
    for name, (quick, full) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    if args.n_splits < 1 or args.cv_folds < 2 or args.n_jobs == 0:
        raise SystemExit("--n-splits must be >= 1, --cv-folds >= 2 and --n-jobs non-zero.")
    return args


def main(argv: Sequence[str] | None = None) -> pd.DataFrame:
    """Run the comparison; write the CSV, Markdown and PNG files; return the summary table."""
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    args = _apply_defaults(build_parser().parse_args(argv))
    if args.report_only:
        return _report_only(args)
    os.environ.setdefault("FAIRERM_OFFLINE", "1")
    methods = [m for m in METHODS if args.methods is None or m.key in args.methods]
    started = time.perf_counter()
    splits = [split for name in args.datasets for split in load_splits(name, args)]
    tasks = [(split, method) for split in splits for method in methods]
    # Longest tasks first (kernel methods and cvxpy on the largest training sets) to balance the workers.
    tasks.sort(key=lambda t: -(len(t[0].kernel_rows) ** 2 / 2000 if t[1].family == "kernel" else len(t[0].y_train)))
    jobs = (delayed(run_task)(split, method, quick=args.quick, cv_folds=args.cv_folds,
                              tolerance=args.accuracy_tolerance, seed=args.seed) for split, method in tasks)
    records: list[dict[str, Any]] = []
    with tqdm(total=len(tasks), desc="fits (dataset x split x method)", disable=args.no_progress) as bar:
        for result in Parallel(n_jobs=args.n_jobs, return_as="generator_unordered")(jobs):
            records.extend(result)
            bar.set_postfix_str(f"{result[0]['dataset']} {result[0]['key']}", refresh=False)
            bar.update()
    runs = pd.DataFrame.from_records(records)
    order = {name: i for i, name in enumerate(args.datasets)}
    method_order = {row: i for i, m in enumerate(methods) for row in m.rows}
    runs = runs.sort_values(["dataset", "method", "split"],
                            key=lambda c: c.map(order) if c.name == "dataset" else
                            (c.map(method_order) if c.name == "method" else c)).reset_index(drop=True)
    table = summarise(runs)
    elapsed = time.perf_counter() - started
    table["command"] = " ".join(["python benchmarks/reproduce_ferm.py", *(argv if argv is not None else sys.argv[1:])])
    table["run_minutes"] = elapsed / 60.0
    if args.append:
        table = _append_to_existing(table, args)
    paths = write_outputs(table, args)
    print(paths["markdown_table"])
    print(f"\nwrote {', '.join(str(p) for k, p in paths.items() if k != 'markdown_table')} in {elapsed:.0f} s")
    return table


def _report_only(args: argparse.Namespace) -> pd.DataFrame:
    """Rebuild the Markdown file and the plots from the existing CSV (``--report-only``)."""
    path = Path(args.output_dir) / f"ferm_table{'_quick' if args.quick else ''}.csv"
    table = pd.read_csv(path, keep_default_na=False, na_values=[""])
    table["ours"] = table["ours"].astype(str).str.lower().eq("true")
    table = table.drop(columns=[c for c in table.columns if c.startswith("ref_")])
    paths = write_outputs(table, args)
    print(paths["markdown_table"])
    return table


if __name__ == "__main__":
    main()
