"""The ``fairerm`` command: ``fairerm demo`` (the main job), ``fairerm reproduce``, ``fairerm fetch``.

``fairerm demo`` fits an unconstrained linear SVM and FERM on a dataset (Adult by default, its
official train/test split) and prints accuracy, DEO, DDP and fit time for each (after a warm-up
fit, so Numba's compilation is not counted), then the fair model's guarantees: the PAC-Bayes bounds
from the training sample next to the exact binomial bounds from the held-out test split
(``--verbose``: the full reports). ``--json`` prints the same numbers for a program.
``fairerm reproduce`` runs the FERM paper's table against baselines from the installed package
(:mod:`fairerm.baselines`), writing into a folder of the user's choice. ``fairerm fetch`` fills
the dataset cache. Every option is checked by the parser (exit status 2, naming the option)
before any work starts; a command that fails later exits with status 1 and one message: the
package's own errors (:class:`~fairerm.exceptions.FairermError`, e.g. a subsample too small for the
constraint, or a dataset that cannot be obtained) are printed as ``fairerm demo: error: ...``; any
other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from . import _argtypes

__all__ = ["main"]

DATASETS = ("adult", "compas", "german", "synthetic")
FETCHABLE = ("adult", "compas", "german")
SEED_MAX = _argtypes.SEED_MAX


def _progress(message: str, *, quiet: bool) -> None:
    if not quiet:
        print(f"[fairerm] {message}", file=sys.stderr, flush=True)


def _load_split(name: str, seed: int, quiet: bool):
    """Training and test frames, labels and groups (Adult: the official split; others: 70/30 stratified)."""
    from sklearn.model_selection import train_test_split

    from . import datasets

    _progress(f"loading {name} ...", quiet=quiet)
    if name == "adult":
        train, test = datasets.load_adult(subset="train"), datasets.load_adult(subset="test")
        return train, (train.data, train.target, train.sensitive), (test.data, test.target, test.sensitive)
    if name == "synthetic":
        bunch = datasets.make_synthetic(n_samples=4000, bias=2.0, include_sensitive=False, random_state=seed)
    else:
        bunch = getattr(datasets, f"load_{name}")()
    strata = bunch.target.astype(str) + "|" + bunch.sensitive.astype(str)
    parts = train_test_split(bunch.data, bunch.target, bunch.sensitive, test_size=0.3, random_state=seed,
                             stratify=strata)
    return bunch, (parts[0], parts[2], parts[4]), (parts[1], parts[3], parts[5])


def _subsample(frame, target, sensitive, n: int | None, seed: int):
    import numpy as np

    if n is None or n >= len(target):
        return frame, target, sensitive
    rows = np.random.default_rng(seed).choice(len(target), size=n, replace=False)
    rows.sort()
    return frame.iloc[rows], target.iloc[rows], sensitive.iloc[rows]


def run_demo(args) -> dict:
    """Fit the unconstrained SVM and FERM; return the results as plain data."""
    import numpy as np
    from sklearn.svm import LinearSVC

    from .bounds import generalization_report
    from .datasets import make_preprocessor
    from .metrics import fairness_summary
    from .preprocessing import FairProjection
    from .svm import FairLinearSVC

    quiet = args.json
    warmup_seconds = _warm_up(args, quiet)
    bunch, train, test = _load_split(args.dataset, args.seed, quiet)
    n_train = None if args.n_train == "all" else int(args.n_train)
    X_frame, y_train, s_train = _subsample(*train, n_train, args.seed)
    _check_two_classes(y_train, n_train, args.seed)
    preprocessor = make_preprocessor(bunch).fit(X_frame)
    X_train = np.asarray(preprocessor.transform(X_frame), dtype=float)
    X_test = np.asarray(preprocessor.transform(test[0]), dtype=float)
    y_test, s_test = test[1], test[2]
    models = {
        "SVM (unconstrained, liblinear)": (LinearSVC(C=args.C, loss="hinge", max_iter=100_000), {}),
        "FERM projection + LinearSVC": (
            _projection_pipeline(FairProjection(), LinearSVC(C=args.C, loss="hinge", max_iter=100_000)),
            {"fairprojection__sensitive_features": s_train},
        ),
        f"FERM FairLinearSVC (eps={args.epsilon:g})": (FairLinearSVC(C=args.C, epsilon=args.epsilon),
                                                       {"sensitive_features": s_train}),
    }
    rows, fitted = [], {}
    for name, (model, fit_params) in models.items():
        _progress(f"fitting {name} on {X_train.shape[0]} x {X_train.shape[1]} ...", quiet=quiet)
        start = time.perf_counter()
        model.fit(X_train, y_train, **fit_params)
        seconds = time.perf_counter() - start
        summary = fairness_summary(y_test, model.predict(X_test), sensitive_features=s_test)
        rows.append({
            "model": name,
            "accuracy": summary["accuracy"],
            "deo": summary["equal_opportunity_difference"],
            "ddp": summary["demographic_parity_difference"],
            "fit_seconds": seconds,
        })
        fitted[name] = model
    fair_name = list(models)[-1]
    _progress("computing the generalization reports (the PAC-Bayes priors refit the model once for the risk "
              "and once per group) ...", quiet=quiet)
    start = time.perf_counter()
    report = generalization_report(fitted[fair_name], X_train, y_train, sensitive_features=s_train, delta=args.delta)
    report_seconds = time.perf_counter() - start
    # The same model reported on the independent test split: exact binomial bounds, much tighter.
    holdout = generalization_report(fitted[fair_name], X_test, y_test, sensitive_features=s_test, delta=args.delta,
                                    holdout=True)
    result = {
        "dataset": args.dataset,
        "n_train": int(X_train.shape[0]),
        "n_test": int(X_test.shape[0]),
        "n_features": int(X_train.shape[1]),
        "sensitive_attribute": str(getattr(bunch, "sensitive_name", "group")),
        "C": args.C,
        "epsilon": args.epsilon,
        "models": rows,
        "warmup_seconds": warmup_seconds,
        "report_seconds": report_seconds,
        "generalization_report": {"model": fair_name, "method": report.method, **report.to_dict()},
        "holdout_report": {"model": fair_name, "method": holdout.method, **holdout.to_dict()},
    }
    if args.plot:
        _plot_front(args, fitted[fair_name], X_train, y_train, s_train, X_test, y_test, s_test, rows, quiet)
        result["plot"] = str(args.plot)
    return result, (report, holdout)


def _check_two_classes(y_train, n_train: int | None, seed: int) -> None:
    """Refuse a training subsample of a single class (the SVMs need both), naming ``--n-train``."""
    from .exceptions import FairermValueError

    classes = sorted(set(y_train.tolist()))
    if len(classes) < 2:
        drawn = (f"the {len(y_train)} training rows drawn by --n-train {n_train} (seed {seed})"
                 if n_train is not None and len(y_train) == n_train else f"the {len(y_train)} training rows")
        raise FairermValueError(f"{drawn} hold only class {classes[0]!r}; the classifiers need two classes.")


def _warm_up(args, quiet: bool) -> float:
    """Fit FairLinearSVC once on a small synthetic problem (1,200 rows: the same DCD solver path as
    the real fit), so that Numba's first-call compilation, or the loading of its on-disk cache, is
    not counted in the fit times; returns the seconds the warm-up took."""
    import numpy as np

    from .datasets import make_synthetic
    from .svm import FairLinearSVC

    _progress("warming up the solvers (Numba compilation on a first run) ...", quiet=quiet)
    data = make_synthetic(n_samples=1200, n_features=3, include_sensitive=False, random_state=0)
    start = time.perf_counter()
    FairLinearSVC(C=args.C, epsilon=args.epsilon).fit(np.asarray(data.data, dtype=float), data.target,
                                                      sensitive_features=data.sensitive)
    return time.perf_counter() - start


def _projection_pipeline(projection, learner):
    from sklearn.pipeline import Pipeline

    return Pipeline([("fairprojection", projection), ("svm", learner)])


def _plot_front(args, fair_model, X_train, y_train, s_train, X_test, y_test, s_test, rows, quiet):
    import numpy as np

    from .path import fair_path
    from .plotting import plot_pareto_front

    _progress(f"tracing the epsilon path for {args.plot} ...", quiet=quiet)
    scale = max(float(np.max(np.abs(fair_model.constraint_vectors_ @ fair_model.coef_[0]))), 1e-3)
    path = fair_path(fair_model, X_train, y_train, sensitive_features=s_train,
                     epsilons=np.concatenate([[0.0], np.geomspace(1e-3, 1.0, 9)]) * max(scale, 1.0),
                     X_test=X_test, y_test=y_test, sensitive_features_test=s_test)
    baseline = rows[0]
    ax = plot_pareto_front(path, reference_points={baseline["model"]: (baseline["deo"], baseline["accuracy"])})
    ax.figure.savefig(args.plot, dpi=120, bbox_inches="tight")


def _format_table(result: dict) -> str:
    header = f"{'model':<40} {'accuracy':>9} {'DEO':>8} {'DDP':>8} {'fit (s)':>8}"
    lines = [
        f"fairerm demo: {result['dataset']} (sensitive attribute: {result['sensitive_attribute']}), "
        f"trained on {result['n_train']} x {result['n_features']}, tested on {result['n_test']}",
        f"C = {result['C']:g}; FERM constraint: equal opportunity, |<w, u>| <= epsilon = {result['epsilon']:g}",
        "",
        header,
        "-" * len(header),
    ]
    for row in result["models"]:
        lines.append(f"{row['model']:<40} {row['accuracy']:>9.4f} {row['deo']:>8.4f} {row['ddp']:>8.4f} "
                     f"{row['fit_seconds']:>8.2f}")
    lines.append("(accuracy, DEO = |TPR gap|, DDP = |selection-rate gap| measured on the test set; fit (s)")
    lines.append(f" after a warm-up fit, so Numba's one-off compilation, {result['warmup_seconds']:.2f} s here, is not "
                 "counted)")
    return "\n".join(lines)


def _format_guarantees(result: dict, report, holdout, verbose: bool) -> str:
    """The training-sample and held-out bounds side by side, the theorem once; all of it with verbose."""
    from .bounds import side_by_side
    from .bounds._pac_bayes import THEOREM_SHORT

    if verbose:
        return "\n\n".join([
            "Bounds from the training sample (PAC-Bayes, data-dependent priors; no test row used):", str(report),
            "Bounds from the held-out test split (the fitted model is fixed; exact binomial tails):", str(holdout)])
    pb = report.pac_bayes
    lines = [f"Guarantees for {result['generalization_report']['model']}, delta = {report.delta:g} (each column "
             f"holds w.p. >= {1 - report.delta:g})", ""]
    lines += side_by_side({"training (PAC-Bayes)": report, f"held-out ({result['n_test']} rows)": holdout}
                          ).splitlines()
    lines += ["",
              f"Training sample: priors refitted on {pb.get('n_prior', 0)} of the {report.n_samples} rows (risk) and "
              "on all rows but",
              "  3/4 of each group's cell (rates), each bound evaluated on rows its prior did not see; kept:",
              "  the better of that and the N(0, I) prior on all rows (risk: "
              f"{pb.get('risk_attained_by', '')}).",
              *_limits_lines(report),
              "Held-out: exact Clopper-Pearson tails for the fitted (then fixed) classifier on the test rows.",
              "Both columns bound the deployed deterministic classifier h(x) = 1[f(x) > 0] (predict).", ""]
    lines += THEOREM_SHORT.splitlines()
    lines += ["(--verbose: every term, each event of the union bound, the assumptions and the full theorem)"]
    return "\n".join(lines)


def _limits_lines(report) -> list[str]:
    """What the training column could reach at best (the route floors of ``fairerm.bounds._floors``)."""
    pb = report.pac_bayes
    if "risk_floor" not in pb:
        return []
    gap = report.rate_gap_name
    lines = ["What limits it: with these splits and an ideal posterior (KL 0), the statements with a refitted prior",
             f"  give at best risk {pb['risk_floor']:.4f}, {gap} {pb['rate_gap_floor']:.4f}; a classifier fixed before "
             f"seeing these rows would get",
             f"  {pb['fixed_risk']:.4f}, {pb['fixed_rate_gap']:.4f} (smallest cell: {int(report.cells['n'].min())} "
             "rows; route floors, docs/bounds.rst)."]
    beaten = report.floors_beaten_by_the_prior_free_statements()
    if beaten:
        lines.append(f"  Below that floor ({' and '.join(beaten)}): there the N(0, I) statements did better.")
    return lines


def run_reproduce(argv: list[str]) -> int:
    """``fairerm reproduce ARGS``: the package's own protocol (nothing is read from the current folder)."""
    from .baselines._command import main as reproduce_main

    return reproduce_main(argv, prog="fairerm reproduce", command="fairerm reproduce")


def run_fetch(args) -> int:
    """Put a verified copy of each dataset's raw files in the cache; exit status 1 if one cannot be."""
    from . import datasets
    from .datasets import _fetch, _real
    from .exceptions import DataSourceError

    for name in dict.fromkeys(args.datasets or FETCHABLE):
        start = time.perf_counter()
        try:
            paths = [_fetch.fetch_file(remote) for remote in _real.dataset_files(name)]
            bunch = datasets.load_adult(subset="all") if name == "adult" else getattr(datasets, f"load_{name}")()
        except DataSourceError as exc:
            print(f"fairerm fetch: error: {name}: {exc}", file=sys.stderr)
            return 1
        print(f"{name}: {len(bunch.target)} rows ready in {paths[0].parent} "
              f"({', '.join(p.name for p in paths)}; {time.perf_counter() - start:.1f} s)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fairerm", description="Fair empirical risk minimization.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="fit an unconstrained SVM and FERM, print accuracy, fairness and bounds",
                          description="Fit an unconstrained linear SVM and FERM (equal opportunity) on a dataset "
                                      "and print test accuracy, DEO, DDP, fit time and the generalization report.")
    demo.add_argument("--dataset", choices=DATASETS, default="adult", help="dataset (default: adult)")
    demo.add_argument("--n-train", type=_argtypes.n_train, default="all",
                      help="training rows to subsample (>= 10), or 'all' (the default; Adult's train split has 32,561)")
    demo.add_argument("--C", type=_argtypes.real_number(0.0, low_inclusive=False), default=0.1,
                      help="SVM regularisation C > 0 (default: 0.1)")
    demo.add_argument("--epsilon", type=_argtypes.real_number(0.0), default=0.0,
                      help="FERM tolerance epsilon >= 0 (default: 0)")
    demo.add_argument("--delta", type=_argtypes.real_number(0.0, 1.0, low_inclusive=False, high_inclusive=False),
                      default=0.05, help="confidence parameter of the bounds, in (0, 1) (default: 0.05)")
    demo.add_argument("--seed", type=_argtypes.seed(), default=0, help=f"random seed in [0, {SEED_MAX}] (default: 0)")
    demo.add_argument("--json", action="store_true", help="print the results as JSON instead of tables")
    demo.add_argument("--plot", metavar="FILE", type=_argtypes.figure_path,
                      help="also trace the epsilon path and save the Pareto front here (.png, .pdf, .svg, ...; "
                           "the folder must exist)")
    demo.add_argument("--verbose", action="store_true", help="print the full generalization reports (terms, events, "
                      "assumptions, theorem)")
    reproduce = sub.add_parser("reproduce", help="reproduce the FERM paper's table against baselines",
                               description="Run the FERM paper's protocol against baselines (fairerm.baselines) and "
                                           "write the table into --output-dir (default: the current folder); "
                                           "try 'fairerm reproduce --help'.",
                               add_help=False)
    reproduce.add_argument("args", nargs=argparse.REMAINDER)
    fetch = sub.add_parser("fetch", help="download and verify datasets into the cache",
                           description="Download (or find) and checksum-verify datasets into the cache folder "
                                       "(FAIRERM_DATA, default ~/.cache/fairerm).")
    fetch.add_argument("datasets", nargs="*", type=_argtypes.choice(FETCHABLE), metavar="DATASET",
                       help=f"datasets to fetch: {', '.join(FETCHABLE)} (default: all three)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if argv and argv[0] == "reproduce":
        return run_reproduce(argv[1:])
    args = parser.parse_args(argv)
    if args.command == "fetch":
        return run_fetch(args)
    from .exceptions import DataSourceError, FairermError

    try:
        result, (report, holdout) = run_demo(args)
    except FairermError as exc:  # the package's own, deliberate errors: one message; anything else is a bug
        hint = ""
        if args.n_train != "all" and not isinstance(exc, DataSourceError) and "--n-train" not in str(exc):
            hint = f" (with --n-train {args.n_train}: a larger --n-train may avoid this)"
        print(f"fairerm demo: error: {exc}{hint}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2, default=float))
    else:
        print(_format_table(result))
        print()
        print(_format_guarantees(result, report, holdout, verbose=getattr(args, "verbose", False)))
        if args.plot:
            print(f"\nPareto front written to {args.plot}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
