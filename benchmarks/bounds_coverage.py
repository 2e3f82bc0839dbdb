"""Coverage experiment of fairerm.bounds at larger scale: how often the true risk and the true
unfairness of a refitted model lie under the reported bounds, and how loose the bounds are.

Distribution (bounded, so ``feature_bound`` is known a priori; defined once, in tests/test_bounds_coverage.py):
s = b with probability 0.35, x ~ Uniform([-1, 1]^3) + [s = b](-0.5, 0, 0),
P(y = 1 | x) = sigmoid(<(4, 3, 2), x>). True values of a fitted model by midpoint quadrature on a
64^3 grid per group. For every draw the model is refitted on a fresh training sample; the report is
computed on that training sample (PAC-Bayes, the default method, and the uniform Rademacher bounds)
and on a fresh held-out sample of the same size (``holdout=True``: exact binomial bounds).

Usage::

    python benchmarks/bounds_coverage.py                 # the full table (several minutes)
    python benchmarks/bounds_coverage.py --quick         # a smoke run
    python benchmarks/bounds_coverage.py --draws 500 --sizes 1000 4000 16000 --models projection

Prints a Markdown table and writes it to benchmarks/results/bounds_coverage.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from fairerm import FairKernelSVC, FairLinearSVC, FairProjection
from fairerm.bounds import generalization_report


def _load_known_distribution():
    """The distribution and its quadrature truth, from the test that checks them (one definition)."""
    path = Path(__file__).resolve().parent.parent / "tests" / "test_bounds_coverage.py"
    spec = importlib.util.spec_from_file_location("known_distribution", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_KNOWN = _load_known_distribution()
FEATURE_BOUND = _KNOWN.FEATURE_BOUND
draw = _KNOWN.draw
true_values = _KNOWN.true_values  # midpoint quadrature on a 64^3 grid per group


def fit_projection(x, y, s):
    model = make_pipeline(FairProjection(), LinearSVC(C=1.0)).fit(x, y, fairprojection__sensitive_features=s)
    w, b = model[0].projection_ @ model[-1].coef_[0], model[-1].intercept_[0]
    return model, (lambda z: z @ w + b)


def fit_linear(x, y, s):
    model = FairLinearSVC(C=1.0, epsilon=0.02, solver="osqp").fit(x, y, sensitive_features=s)
    w, b = model.coef_[0], model.intercept_[0]
    return model, (lambda z: z @ w + b)


def fit_kernel(x, y, s):
    model = FairKernelSVC(C=1.0, gamma=0.5).fit(x, y, sensitive_features=s)
    return model, model.decision_function


MODELS = {
    "projection": ("FairProjection + LinearSVC(C=1)", fit_projection, {"feature_bound": FEATURE_BOUND}),
    "linear": ("FairLinearSVC(C=1, eps=0.02)", fit_linear, {"feature_bound": FEATURE_BOUND}),
    "kernel": ("FairKernelSVC(RBF, gamma=0.5, C=1)", fit_kernel, {}),
}


def experiment(model_key, n, draws, delta, seed, methods=("pac-bayes", "rademacher")):
    _, fit, options = MODELS[model_key]
    rng = np.random.default_rng(seed)
    modes = [(f"training ({method})", method) for method in methods] + [("holdout", "rademacher")]
    rows = {mode: [] for mode, _ in modes}
    for _ in range(draws):
        x, y, s = draw(n, rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model, score = fit(x, y, s)
        truth = true_values(score)
        held_out = draw(n, rng)
        for mode, method in modes:
            sample = held_out if mode == "holdout" else (x, y, s)
            rep = generalization_report(model, sample[0], sample[1], sensitive_features=sample[2], delta=delta,
                                        holdout=mode == "holdout", method=method, **options)
            rows[mode].append([rep.risk_bound, truth[0], rep.fairness_bound, truth[1], rep.rate_gap_bound, truth[2]])
    return {mode: np.array(table) for mode, table in rows.items()}


def markdown(records, delta, draws):
    head = ("| model | n | sample | risk: coverage | truth | bound | looseness "
            "| score gap: coverage | truth | bound | looseness | DEO: coverage | truth | bound | looseness | time (s) |")
    lines = [head, "|" + "---|" * 16]
    for model_key, n, mode, table, seconds in records:
        cells = []
        for j in range(3):
            bound, truth = table[:, 2 * j], table[:, 2 * j + 1]
            cells += [f"{np.mean(truth <= bound):.3f}", f"{truth.mean():.4f}", f"{bound.mean():.4f}",
                      f"{np.mean(bound - truth):.4f}"]
        lines.append(f"| {MODELS[model_key][0]} | {n} | {mode} | " + " | ".join(cells) + f" | {seconds:.1f} |")
    note = (f"\n{draws} independent draws per row, delta = {delta} (required coverage >= {1 - delta:g} for every "
            "column), truth by quadrature; looseness = mean(bound - truth). Training rows: the report on the "
            "training sample, PAC-Bayes with data-dependent priors (the default method) or the uniform Rademacher "
            "bounds (union over the radius grid); holdout rows: the same model reported on an independent sample of "
            "the same size (exact binomial bounds for risk and DEO). Bounds on risk and DEO are capped at 1. "
            "Machine: " + platform.machine() + ", Python " + platform.python_version() + ".\n")
    return "\n".join(lines) + "\n" + note


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=300)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 16000])
    parser.add_argument("--models", nargs="+", default=["projection", "linear", "kernel"], choices=list(MODELS))
    parser.add_argument("--methods", nargs="+", default=["pac-bayes", "rademacher"], choices=["pac-bayes", "rademacher"])
    parser.add_argument("--delta", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-n-solver", type=int, default=2000,
                        help="largest n for the QP-based models (FairLinearSVC osqp, FairKernelSVC)")
    parser.add_argument("--quick", action="store_true", help="20 draws, n = 1000 and 4000, projection model only")
    parser.add_argument("--output", default=str(Path(__file__).parent / "results" / "bounds_coverage.md"))
    args = parser.parse_args(argv)
    if args.quick:
        args.draws, args.sizes, args.models = 20, [1000, 4000], ["projection"]
    records = []
    for model_key in args.models:
        for n in args.sizes:
            if model_key != "projection" and n > args.max_n_solver:
                continue
            start = time.perf_counter()
            tables = experiment(model_key, n, args.draws, args.delta, args.seed, tuple(args.methods))
            seconds = time.perf_counter() - start
            for mode, table in tables.items():
                records.append((model_key, n, mode, table, seconds))
            print(f"done: {model_key} n={n} ({seconds:.1f} s)", flush=True)
    text = "# Coverage of fairerm.bounds\n\n" + markdown(records, args.delta, args.draws)
    print(text)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(text)


if __name__ == "__main__":
    main()
