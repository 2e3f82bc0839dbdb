"""Kernel FERM against libsvm on the shapes of issue 18: Adult and synthetic, low and high dimension.

For each data set, one process builds the data, compiles fairerm's code on its first 1,000 rows (so that the first launch of the parallel loops is
not timed either), then
fits, ``--repeat`` times in turn (so that the machine's noise hits every method alike):

* ``svc``: :class:`sklearn.svm.SVC` (libsvm, one core), unconstrained, the baseline;
* ``eps0``: :class:`fairerm.FairKernelSVC`, ``epsilon = 0`` (the projected kernel, one SMO solve);
* ``eps``: ``epsilon = 0.05`` (the fairness active set; the constraint is active on these data);
* ``plain``: ``epsilon = 1e6`` (the constraint inactive: the plain SVM through our SMO and the
  front door's certificate).

All with C = 1, tol = 1e-3, a 200 MB kernel cache and the same numeric gamma. The table reports the
median wall-clock time and its ratio to ``svc`` measured in the same run, the median CPU time of
the process and its ratio (all threads summed; with one thread, the measure least disturbed by the
other jobs of a shared machine), the iterations (SMO steps; libsvm's
``n_iter_``), test accuracy and DEO (Adult: 5,000 rows of its test split; synthetic: 5,000 fresh
rows), the traced peak of the Python/numpy allocations during one more, untimed fit (``tracemalloc``,
which slows Python code, so it never runs during a timed fit; libsvm's C allocations are not traced,
so read it for fairerm only), the dual objective and
:math:`|\\langle w, u\\rangle|` recomputed from the fitted model (its decision function on the
constraint's points).

``NUMBA_NUM_THREADS`` sets the threads of fairerm's parallel loops (libsvm uses one core).

Usage::

    python benchmarks/kernel_shapes.py --quick            # n = 4,000 synthetic, Adult 5,000
    python benchmarks/kernel_shapes.py                    # the rows of issue 18
    python benchmarks/kernel_shapes.py --rows adult:20000 --methods svc eps0
    python benchmarks/kernel_shapes.py --rows adult_noisy:100000 --methods svc eps0 --repeat 1

``adult_noisy``: n rows drawn with replacement from Adult's training split (preprocessed), plus
Gaussian noise of standard deviation 0.1 on every feature (issue 18's n = 100,000 row).

The table is printed and written to ``benchmarks/results/speed_table_shapes[_quick].md``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import statistics
import time
import tracemalloc
from pathlib import Path

import numpy as np

C, TOL, EPS, CACHE_MB = 1.0, 1e-3, 0.05, 200.0
# (data, n, d, gamma): the rows of issue 18's table
ROWS = [("adult", 5000, None, 0.01), ("adult", 10_000, None, 0.01), ("adult", 20_000, None, 0.01),
        ("synthetic", 4000, 10, 0.1), ("synthetic", 4000, 10, 0.01), ("synthetic", 4000, 100, 0.01),
        ("synthetic", 8000, 10, 0.1)]
QUICK = [("synthetic", 4000, 10, 0.1), ("synthetic", 4000, 100, 0.01), ("adult", 5000, None, 0.01)]
METHODS = ["svc", "eps0", "eps", "plain"]


def load(data: str, n: int, d: int | None, seed: int = 0):
    """(X, y, s, X_test, y_test, s_test); labels in {-1, +1}, s in {0, 1}."""
    if data == "adult_noisy":  # n rows of Adult's training split drawn with replacement, plus noise
        X, y, s, Xt, yt, st = load("adult", 32_561, None, seed)
        rng = np.random.default_rng(seed)
        rows = rng.integers(0, X.shape[0], n)
        X = X[rows] + 0.1 * rng.normal(size=(n, X.shape[1]))
        return X, y[rows], s[rows], Xt, yt, st
    if data == "adult":
        import sys
        sys.path.insert(0, str(Path(__file__).parent))
        from speed_table import adult

        X, y, s, Xt, yt, st = adult(n, seed=seed)
    else:
        from fairerm.datasets import make_synthetic

        bunch = make_synthetic(n + 5000, d, include_sensitive=False, random_state=seed)
        X_all = np.ascontiguousarray(np.asarray(bunch.data, dtype=float))
        y_all = np.asarray(bunch.target)
        s_all = np.asarray(bunch.sensitive)
        X, Xt, y, yt, s, st = X_all[:n], X_all[n:], y_all[:n], y_all[n:], s_all[:n], s_all[n:]
    y, yt = np.where(np.asarray(y) == np.max(y), 1, -1), np.where(np.asarray(yt) == np.max(y), 1, -1)
    groups = np.unique(s)
    s, st = (np.asarray(s) == groups[-1]).astype(int), (np.asarray(st) == groups[-1]).astype(int)
    return X, y, s, Xt, yt, st


def make_model(method: str, gamma: float):
    from sklearn.svm import SVC

    from fairerm import FairKernelSVC

    if method == "svc":
        return SVC(C=C, gamma=gamma, tol=TOL, cache_size=CACHE_MB)
    epsilon = {"eps0": 0.0, "eps": EPS, "plain": 1e6}[method]
    return FairKernelSVC(C=C, gamma=gamma, epsilon=epsilon, solver="exact", tol=TOL, cache_size=CACHE_MB)


def evaluate(model, method: str, X, y, s, Xt, yt, st) -> dict:
    """Accuracy and DEO on the test rows; dual objective and |<w,u>| recomputed from the fitted model."""
    from fairerm.constraints import constraint_weights
    from fairerm.metrics import equal_opportunity_difference

    pred = model.predict(Xt)
    out = {"acc": float(np.mean(pred == yt)), "deo": float(equal_opportunity_difference(yt, pred, sensitive_features=st))}
    weights = constraint_weights(y, s).weights
    support = np.flatnonzero(np.any(weights != 0, axis=0))
    f = model.decision_function(X[support]) - float(model.intercept_[0])
    out["wu"] = float(np.max(np.abs(weights[:, support] @ f)))
    if method == "svc":
        out["iter"] = int(model.n_iter_[0])
        alpha = np.abs(model.dual_coef_[0])
        from fairerm.kernels import KernelSpec, kernel_matvec

        Kv = kernel_matvec(X[model.support_], X[model.support_], model.dual_coef_[0], KernelSpec("rbf", gamma=model.gamma))
        out["dual"] = float(alpha.sum() - 0.5 * model.dual_coef_[0] @ Kv)
    else:
        out["iter"] = int(model.n_iter_)
        out["dual"] = float(model.solution_.dual_objective)
        out["status"] = model.status_
    return out


def run_row(queue, data: str, n: int, d: int | None, gamma: float, methods: list, repeat: int,
            traced: bool = True) -> None:
    try:
        X, y, s, Xt, yt, st = load(data, n, d)
        warm = min(n, 1000)  # large enough for the parallel loops to start (their first launch costs ~0.2 s)
        for method in methods:  # compile and import outside the timing
            if method != "svc":
                make_model(method, gamma).fit(X[:warm], y[:warm], sensitive_features=s[:warm])
        times = {m: [] for m in methods}
        cpu = {m: [] for m in methods}
        peaks, scores = {}, {}
        for rep in range(0 if traced else 1, repeat + 1):  # rep 0: traced (peak memory, scores), never timed
            for method in methods:
                model = make_model(method, gamma)
                fit = (lambda: model.fit(X, y)) if method == "svc" else (lambda: model.fit(X, y, sensitive_features=s))
                if rep == 0:
                    tracemalloc.start()
                    fit()
                    peaks[method] = tracemalloc.get_traced_memory()[1] / 2**20
                    tracemalloc.stop()
                    scores[method] = evaluate(model, method, X, y, s, Xt, yt, st)
                    continue
                start, start_cpu = time.perf_counter(), time.process_time()
                fit()
                times[method].append(time.perf_counter() - start)
                cpu[method].append(time.process_time() - start_cpu)
                print(f"[{data} {n}] {method} fit {times[method][-1]:.1f} s, process peak RSS so far "
                      f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB", flush=True)
                if method not in scores:  # untraced run (--no-trace): no peak, scores of the first timed fit
                    peaks[method] = float("nan")
                    scores[method] = evaluate(model, method, X, y, s, Xt, yt, st)
        queue.put({"times": times, "cpu": cpu, "peaks": peaks, "scores": scores, "d": X.shape[1]})
    except Exception as exc:  # report, do not hang the parent
        import traceback

        queue.put({"error": f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"})


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rows", nargs="*", default=None, help="data:n[:d[:gamma]], e.g. synthetic:4000:10:0.1")
    parser.add_argument("--methods", nargs="*", default=METHODS)
    parser.add_argument("--output", default=None, help="file name under benchmarks/results/ ('-': none)")
    parser.add_argument("--no-trace", action="store_true",
                        help="no extra traced fit per method (large n: the traced peak column shows nan)")
    args = parser.parse_args(argv)
    rows = QUICK if args.quick else ROWS
    if args.rows:
        rows = []
        for text in args.rows:
            parts = text.split(":") + [None, None]
            data, n = parts[0], int(parts[1])
            adult_like = data.startswith("adult")
            d = int(parts[2]) if parts[2] not in (None, "", "-") else (None if adult_like else 10)
            rows.append((data, n, d, float(parts[3]) if parts[3] else (0.01 if adult_like else 0.1)))
    threads = os.environ.get("NUMBA_NUM_THREADS", str(os.cpu_count()))
    lines = [f"# Kernel FERM vs libsvm by shape (median of {args.repeat}, interleaved in one process; "
             f"fairerm threads: {threads}; shared 2-core machine, noisy)", "",
             "| data | n | d | gamma | method | time (s) | ratio vs SVC | CPU time (s) | CPU ratio | iterations | "
             "accuracy | DEO | traced peak (MB) | dual objective | max abs <w,u> | status |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    ctx = mp.get_context("spawn")
    for data, n, d, gamma in rows:
        queue = ctx.Queue()
        proc = ctx.Process(target=run_row, args=(queue, data, n, d, gamma, args.methods, args.repeat,
                                                   not args.no_trace))
        proc.start()
        result = queue.get()
        proc.join()
        if "error" in result:
            print(result["error"])
            lines.append(f"| {data} | {n} | {d} | {gamma} | - | error: {result['error'].splitlines()[0]} |")
            continue
        med = {m: statistics.median(t) for m, t in result["times"].items()}
        med_cpu = {m: statistics.median(t) for m, t in result["cpu"].items()}
        base, base_cpu = med.get("svc"), med_cpu.get("svc")
        for method in args.methods:
            sc = result["scores"][method]
            ratio = f"{med[method] / base:.2f}" if base else "-"
            cpu_ratio = f"{med_cpu[method] / base_cpu:.2f}" if base_cpu else "-"
            lines.append(f"| {data} | {n} | {result['d']} | {gamma} | {method} | {med[method]:.3f} | {ratio} | "
                         f"{med_cpu[method]:.3f} | {cpu_ratio} | "
                         f"{sc['iter']} | {sc['acc']:.4f} | {sc['deo']:.3f} | {result['peaks'][method]:.1f} | "
                         f"{sc['dual']:.8g} | {sc['wu']:.2e} | {sc.get('status', '-')} |")
            print(lines[-1], flush=True)
    table = "\n".join(lines) + "\n"
    if args.output != "-":
        name = args.output or ("speed_table_shapes_quick.md" if args.quick else "speed_table_shapes.md")
        (Path(__file__).parent / "results" / name).write_text(table)
    print(table)
    return table


if __name__ == "__main__":
    main()
