"""Run the reproduction: :func:`run_reproduction` (Python) and ``fairerm reproduce`` (the command line).

Both write, into the output folder (default: the current folder), ``ferm_table[_quick].csv``,
``ferm_table[_quick].md`` (the table, the authors' reference numbers beside ours, automatic checks;
a hand-written section at its end is kept when it is regenerated), ``ferm_runs[_quick].csv`` (one
record per split, method row) and ``ferm_scatter_<dataset>[_quick].png``. Nothing is read from
or run in the current folder, and no file is written inside the installed package.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .. import _argtypes
from ..exceptions import DataSourceError, FairermError, FairermTypeError, FairermValueError, SolverNotInstalledError
from ._fairlearn import INSTALL_HINT
from ._methods import METHODS, Method
from ._protocol import DATASETS, SplitPlan, check_cv_folds, default_split_plans, load_splits, run_task, summarise
from ._report import add_references, markdown_table, write_outputs

__all__ = ["ReproductionConfig", "run_reproduction", "rebuild_report", "build_parser", "main"]

_QUICK_DEFAULTS = dict(n_splits=(2, 30), adult_splits=(0, 10), cv_folds=(2, 3), kernel_max_train=(600, 5000),
                       max_train=(1500, None),
                       max_test=(3000, None))


@dataclass(frozen=True)
class ReproductionConfig:
    """Every setting of one reproduction run (see :func:`run_reproduction` for their meaning)."""

    quick: bool = False
    datasets: tuple[str, ...] = DATASETS
    output_dir: Path = Path(".")
    n_jobs: int = 1
    seed: int = 0
    n_splits: int | None = None
    adult_splits: int | None = None
    cv_folds: int | None = None
    kernel_max_train: int | None = None
    max_train: int | None = None
    max_test: int | None = None
    accuracy_tolerance: float = 0.02
    split_plans: Mapping[str, SplitPlan] = field(default_factory=dict)
    progress: bool = True

    def resolved(self) -> "ReproductionConfig":
        """The quick / full defaults filled in, the settings checked, the output folder created."""
        values = {name: getattr(self, name) if getattr(self, name) is not None else (quick if self.quick else full)
                  for name, (quick, full) in _QUICK_DEFAULTS.items()}
        for name, low in (("n_splits", 1), ("adult_splits", 0), ("cv_folds", 2), ("kernel_max_train", 10),
                          ("max_train", 10),
                          ("max_test", 10)):
            if values[name] is not None:
                _check_int(values[name], name, low)
        _check_int(self.seed, "seed", 0, _argtypes.SEED_MAX)
        _check_int(self.n_jobs, "n_jobs", None)
        if self.n_jobs == 0:
            raise FairermValueError("n_jobs must be a non-zero integer (negative: all cores but n_jobs + 1); got 0.")
        if not isinstance(self.accuracy_tolerance, (int, float)) or not 0 <= self.accuracy_tolerance <= 1:
            raise FairermValueError(f"accuracy_tolerance must be a number in [0, 1]; got {self.accuracy_tolerance!r}.")
        datasets = (self.datasets,) if isinstance(self.datasets, str) else tuple(self.datasets)
        unknown = [d for d in datasets if d not in DATASETS]
        if unknown or not datasets:
            raise FairermValueError(f"datasets must name one or more of {list(DATASETS)}; got {list(datasets)!r}.")
        plans = {**default_split_plans(values["n_splits"], values["adult_splits"]), **dict(self.split_plans)}
        if any(not isinstance(p, SplitPlan) for p in plans.values()):
            raise FairermTypeError(f"split_plans must map data set names to SplitPlan objects; got {plans!r}.")
        try:
            output = _argtypes.output_folder(str(self.output_dir))
        except argparse.ArgumentTypeError as exc:
            raise FairermValueError(f"output_dir: {exc}.") from None
        return replace(self, datasets=tuple(dict.fromkeys(datasets)), output_dir=output, split_plans=plans, **values)


def _check_int(value: Any, name: str, low: int | None, high: int | None = None) -> None:
    if (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or (low is not None and value < low)
            or (high is not None and value > high)):
        bound = (f" >= {low}" if low is not None else "") + (f" and <= {high}" if high is not None else "")
        raise FairermValueError(f"{name} must be an integer{bound}; got {value!r}.")


def _check_methods(methods: Sequence[Method] | None) -> list[Method]:
    methods = list(METHODS if methods is None else methods)
    if not methods or not all(isinstance(m, Method) for m in methods):
        raise FairermTypeError(f"methods must be a non-empty sequence of fairerm.baselines.Method; got {methods!r}.")
    keys = [m.key for m in methods]
    rows = [row for m in methods for row in m.rows]
    for what, names in (("keys", keys), ("row names", rows)):
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise FairermValueError(f"methods must have distinct {what}; repeated: {repeated}.")
    missing = {m.key: m.missing_requirements() for m in methods if m.missing_requirements()}
    if missing:
        modules = sorted({name for names in missing.values() for name in names})
        others = [m.key for m in methods if m.key not in missing]
        raise SolverNotInstalledError(
            f"the methods {', '.join(missing)} need {', '.join(modules)}, which is not installed. Install the optional "
            f"extra: {INSTALL_HINT}" + (f" (or leave them out: --methods {' '.join(others)})" if others else "") + "."
        )
    return methods


def run_reproduction(methods: Sequence[Method] | None = None, *, datasets: Sequence[str] = DATASETS,
                     output_dir: str | Path = ".", quick: bool = False, n_jobs: int = 1, seed: int = 0,
                     n_splits: int | None = None, adult_splits: int | None = None, cv_folds: int | None = None,
                     kernel_max_train: int | None = None,
                     max_train: int | None = None, max_test: int | None = None, accuracy_tolerance: float = 0.02,
                     split_plans: Mapping[str, SplitPlan] | None = None, append: bool = False,
                     progress: bool = True, command: str | None = None) -> pd.DataFrame:
    """Run the comparison, write the result files into ``output_dir``, and return the summary table.

    Parameters
    ----------
    methods : sequence of Method, optional
        The rows of the table (default: :data:`~fairerm.baselines.METHODS`); add your own
        :class:`~fairerm.baselines.Method` to compare it under the same protocol.
    datasets : sequence of {"adult", "compas", "german"}
    output_dir : path, default "."
        Folder of the result files (created if needed; never inside the installed package).
    quick : bool
        Smoke run: subsampled data, 2 splits, 2 folds, small grids; file names get ``_quick``.
    n_jobs : int
        joblib workers over the (data set, split, method) tasks.
    seed : int
        Seeds the splits, the subsamples and the cross-validation folds.
    n_splits, adult_splits, cv_folds, kernel_max_train, max_train, max_test : int, optional
        Random splits of COMPAS and German (30; quick 2), random 2/3 - 1/3 splits of Adult's 45,222 complete
        rows besides its official split (10; quick 0), cross-validation folds (3; quick 2),
        training rows of the kernel methods (5,000; quick 600) and of every method (all; quick
        1,500), Adult test rows (all; quick 3,000).
    accuracy_tolerance : float
        Fair selection: candidates within this (absolute) validation accuracy of the best.
    split_plans : mapping of str to SplitPlan, optional
        Overrides the splits of some data sets (default: Adult its official split, the others
        ``n_splits`` random ones); e.g. ``{"adult": SplitPlan(official=True, n_random=10)}``.
    append : bool
        Keep the rows already in the output CSVs that this run does not produce (other data sets, or other
        methods of the same data set: run data sets or methods one by one).
    progress : bool
        Show a progress bar on stderr.
    command : str, optional
        The command line recorded in the Markdown file ("Produced by").

    Returns
    -------
    DataFrame
        One row per (data set, method row): accuracy and DEO mean and std over the splits, DDP,
        fit time, the selected hyperparameters, warnings and failures.

    Raises
    ------
    SolverNotInstalledError
        A method needs a module that is not installed (fairlearn: ``pip install "fairerm[baselines]"``);
        checked before any data is loaded.
    FairermValueError
        A setting is invalid; ``cv_folds`` larger than the smallest (label, group) stratum of the training
        rows cross-validated is refused once the splits are drawn, before any fit.
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    methods = _check_methods(methods)
    config = ReproductionConfig(quick=quick, datasets=tuple(datasets) if not isinstance(datasets, str) else datasets,
                                output_dir=Path(output_dir), n_jobs=n_jobs, seed=seed, n_splits=n_splits,
                                adult_splits=adult_splits, cv_folds=cv_folds, kernel_max_train=kernel_max_train,
                                max_train=max_train,
                                max_test=max_test, accuracy_tolerance=accuracy_tolerance,
                                split_plans=dict(split_plans or {}), progress=progress).resolved()
    started = time.perf_counter()
    splits = [split for name in config.datasets
              for split in load_splits(name, config.split_plans[name], seed=config.seed, max_train=config.max_train,
                                       max_test=config.max_test, kernel_max_train=config.kernel_max_train)]
    check_cv_folds(splits, methods, config.cv_folds, quick=config.quick)  # before any fit
    tasks = [(split, method) for split in splits for method in methods]
    # Longest tasks first (kernel methods and cvxpy on the largest training sets) to balance the workers.
    tasks.sort(key=lambda t: -(len(t[0].kernel_rows) ** 2 / 2000 if t[1].family == "kernel" else len(t[0].y_train)))
    jobs = (delayed(run_task)(split, method, quick=config.quick, cv_folds=config.cv_folds,
                              tolerance=config.accuracy_tolerance, seed=config.seed) for split, method in tasks)
    records: list[dict[str, Any]] = []
    with tqdm(total=len(tasks), desc="fits (dataset x split x method)", disable=not config.progress) as bar:
        for result in Parallel(n_jobs=config.n_jobs, return_as="generator_unordered")(jobs):
            records.extend(result)
            bar.set_postfix_str(f"{result[0]['dataset']} {result[0]['key']}", refresh=False)
            bar.update()
    runs = pd.DataFrame.from_records(records)
    order = {name: i for i, name in enumerate(config.datasets)}
    method_order = {row: i for i, m in enumerate(methods) for row in m.rows}
    runs = runs.sort_values(["dataset", "method", "split"],
                            key=lambda c: c.map(order) if c.name == "dataset" else
                            (c.map(method_order) if c.name == "method" else c)).reset_index(drop=True)
    table = summarise(runs)
    elapsed = time.perf_counter() - started
    table["command"] = command if command is not None else "fairerm.baselines.run_reproduction(...)"
    table["run_minutes"] = elapsed / 60.0
    if append:
        table = _append_to_existing(table, config)
        runs = _append_runs(runs, config)
    write_outputs(table, config, runs)
    return table


def _table_path(config: ReproductionConfig) -> Path:
    return Path(config.output_dir) / f"ferm_table{'_quick' if config.quick else ''}.csv"


def _read_table(path: Path) -> pd.DataFrame:
    table = pd.read_csv(path, keep_default_na=False, na_values=[""])
    table["ours"] = table["ours"].astype(str).str.lower().eq("true")
    return table


def _append_to_existing(table: pd.DataFrame, config: ReproductionConfig) -> pd.DataFrame:
    """Put back the rows of the data sets not run now from the existing CSV (``append=True``)."""
    path = _table_path(config)
    if not path.exists():
        return table
    old = _read_table(path)
    produced = set(zip(table["dataset"], table["method"]))
    old = old[[pair not in produced for pair in zip(old["dataset"], old["method"])]]
    old = old[[c for c in table.columns if c in old.columns]]
    old = old.assign(**{c: "" for c in ("command", "run_minutes") if c not in old.columns})
    merged = pd.concat([old, table], ignore_index=True)
    rank = {name: i for i, name in enumerate(DATASETS)}
    return merged.sort_values("dataset", key=lambda c: c.map(rank), kind="stable").reset_index(drop=True)


def _runs_path(config: ReproductionConfig) -> Path:
    return Path(config.output_dir) / f"ferm_runs{'_quick' if config.quick else ''}.csv"


def _read_runs(config: ReproductionConfig) -> pd.DataFrame | None:
    path = _runs_path(config)
    if not path.is_file():
        return None
    runs = pd.read_csv(path, keep_default_na=False, na_values=[""])
    runs["ours"] = runs["ours"].astype(str).str.lower().eq("true")
    return runs


def _append_runs(runs: pd.DataFrame, config: ReproductionConfig) -> pd.DataFrame:
    """The per-split records of the data sets not run now, from the existing runs CSV, then these."""
    old = _read_runs(config)
    if old is None:
        return runs
    produced = set(zip(runs["dataset"], runs["method"]))
    old = old[[pair not in produced for pair in zip(old["dataset"], old["method"])]]
    rank = {name: i for i, name in enumerate(DATASETS)}
    merged = pd.concat([old, runs], ignore_index=True)
    return merged.sort_values("dataset", key=lambda c: c.map(rank), kind="stable").reset_index(drop=True)


def rebuild_report(output_dir: str | Path = ".", *, quick: bool = False, **settings: Any) -> pd.DataFrame:
    """Fit nothing: rebuild the Markdown file and the plots from the CSVs already in ``output_dir``.

    ``settings`` (``n_splits``, ``cv_folds``, ...) describe the protocol in the Markdown text.
    """
    config = ReproductionConfig(quick=quick, output_dir=Path(output_dir), **settings).resolved()
    path = _table_path(config)
    if not path.is_file():
        raise FairermValueError(f"there is no table to rebuild the report from: {path} does not exist "
                                "(run the reproduction first, or pass the folder that holds it).")
    table = _read_table(path)
    table = table.drop(columns=[c for c in table.columns if c.startswith("ref_")])
    write_outputs(table, config, _read_runs(config))
    return table


def build_parser(prog: str = "fairerm reproduce", default_output_dir: str = ".") -> argparse.ArgumentParser:
    """The options of ``fairerm reproduce`` (and of ``benchmarks/reproduce_ferm.py``)."""
    parser = argparse.ArgumentParser(
        prog=prog, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Reproduce the FERM paper's experiments (Donini et al., NeurIPS 2018) against baselines: "
                    "naive and fairly-selected SVMs, Hardt et al., Zafar et al., exponentiated gradient, linear "
                    "and RBF FERM, on Adult, COMPAS and German. The protocol is in docs/reproduction.rst.",
        epilog=f"The Hardt et al. and exponentiated-gradient rows need fairlearn: {INSTALL_HINT}.")
    count = _argtypes.integer
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: subsampled data, 2 splits, 2 folds, small grids; files get a _quick suffix")
    parser.add_argument("--datasets", nargs="+", type=_argtypes.choice(DATASETS), default=list(DATASETS),
                        metavar="NAME", help=f"data sets: one or more of {', '.join(DATASETS)} (default: all)")
    parser.add_argument("--methods", nargs="+", type=_argtypes.choice(tuple(m.key for m in METHODS)), default=None,
                        metavar="KEY", help=f"restrict to these methods: {', '.join(m.key for m in METHODS)} "
                                            "(default: all)")
    parser.add_argument("--output-dir", type=_argtypes.output_folder, default=None, metavar="DIR",
                        help=f"folder of the result files (default: {default_output_dir})")
    parser.add_argument("--n-jobs", type=count(nonzero=True), default=1,
                        help="joblib workers over (dataset, split, method) tasks (default: 1)")
    parser.add_argument("--seed", type=_argtypes.seed(), default=0,
                        help=f"seed of the splits and folds, in [0, {_argtypes.SEED_MAX}] (default: 0)")
    parser.add_argument("--n-splits", type=count(1), default=None,
                        help="random splits of COMPAS and German (30; quick 2)")
    parser.add_argument("--adult-splits", type=count(0), default=None,
                        help="random 2/3 - 1/3 splits of Adult's 45,222 complete rows besides the official one "
                             "(10; quick 0)")
    parser.add_argument("--cv-folds", type=count(2), default=None, help="cross-validation folds (3; quick 2)")
    parser.add_argument("--kernel-max-train", type=count(10), default=None,
                        help="training rows of the kernel methods (5000; quick 600)")
    parser.add_argument("--max-train", type=count(10), default=None, help="training rows of every method (all; quick 1500)")
    parser.add_argument("--max-test", type=count(10), default=None, help="Adult test rows (all; quick 3000)")
    parser.add_argument("--accuracy-tolerance", type=_argtypes.real_number(0.0, 1.0), default=0.02,
                        help="fair selection: candidates within this (absolute) validation accuracy of the best "
                             "(default: 0.02)")
    parser.add_argument("--append", action="store_true",
                        help="keep the rows of the output CSVs this run does not produce (run data sets or methods "
                             "one by one)")
    parser.add_argument("--report-only", action="store_true",
                        help="fit nothing: rebuild the Markdown table and the plots from the existing CSV")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def main(argv: Sequence[str] | None = None, *, prog: str = "fairerm reproduce", default_output_dir: str | Path = ".",
         command: str | None = None) -> int:
    """The command line: parse ``argv``, run, print the table; 0 on success, 1 on an error (2: bad arguments)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(prog, str(default_output_dir))
    args = parser.parse_args(argv)
    output_dir = args.output_dir if args.output_dir is not None else _argtypes.output_folder(str(default_output_dir))
    settings = dict(n_splits=args.n_splits, adult_splits=args.adult_splits, cv_folds=args.cv_folds,
                    kernel_max_train=args.kernel_max_train,
                    max_train=args.max_train, max_test=args.max_test, accuracy_tolerance=args.accuracy_tolerance,
                    seed=args.seed)
    try:
        if args.report_only:
            table = rebuild_report(output_dir, quick=args.quick, **settings)
        else:
            methods = [m for m in METHODS if args.methods is None or m.key in args.methods]
            table = run_reproduction(methods, datasets=args.datasets, output_dir=output_dir, quick=args.quick,
                                     n_jobs=args.n_jobs, append=args.append, progress=not args.no_progress,
                                     command=" ".join([command or prog, shlex.join(argv)]).strip(), **settings)
    except (FairermError, DataSourceError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    suffix = "_quick" if args.quick else ""
    print(markdown_table(add_references(table)))
    print(f"\n{len(table)} rows; wrote ferm_table{suffix}.csv, ferm_table{suffix}.md, "
          f"{'' if args.report_only else f'ferm_runs{suffix}.csv, '}ferm_scatter_*{suffix}.png in "
          f"{Path(output_dir).resolve()}")
    return 0
