"""Speed, memory, accuracy and fairness of fairerm's fair SVMs against their baselines (issue 9).

Every measurement runs in a fresh process (``spawn``): the data are built there, compiled code
is warmed up on a few points, then one fit is timed and ``resource.getrusage`` gives the process's
peak resident memory; the same fit then runs again under ``tracemalloc`` for the peak of its
Python/numpy allocations (fits up to ``TRACED_REFIT_MAX_SECONDS``; tracing slows allocation-heavy
code, so it never runs during the timed fit). Each measurement is repeated ``--repeat`` times (3 by default; 1 with
``--quick``) and the median reported. The machine is shared (2 cores, other people's tests), so
the times are noisy: read ratios, not absolute numbers.

Sections (same data for a method and its baseline):

* kernel: ``FairKernelSVC`` (exact eps = 0, exact eps > 0, osqp, cvxpy) vs ``sklearn.svm.SVC``
  unconstrained, RBF, Adult subsamples (test accuracy and DEO on Adult's official test split);
* path: the 20-point epsilon path (``fairerm.fair_path``, warm-started) vs 20 separate fits vs one fit;
* linear: ``FairLinearSVC(solver="dcd")`` on synthetic n x 100 vs ``LinearSVC(loss="hinge")`` on
  the same data projected orthogonally to the fairness direction (projection not timed); eps = 0
  (the same problem up to the intercept's penalty) and eps = 0.01 (the active-set path; the
  "objective" note is then that of the eps = 0.01 problem); where ``liblinear-multicore`` is installed,
  multi-core LIBLINEAR on LinearSVC's data and problem with 1 and 2 threads (``liblinear_mc1``,
  ``liblinear_mc``), ratios against the same LinearSVC;
* sparse: ``FairLinearSVC`` (DCD on CSR rows; eps = 0 and eps = 0.01) vs ``LinearSVC(loss="hinge")``
  on the *same* scipy.sparse CSR matrix, n x n at 0.1 % density (issue 19: 100,000 x 100,000, 10^7
  nonzeros; ``LinearSVC`` is unconstrained and penalises its intercept, so it solves an easier
  problem: read the ratio as the price of the fairness constraint and the exact intercept). The
  "data" note is the CSR matrix's size; the fair fit must not add a dense copy of it;
* fairlearn: ``ExponentiatedGradient(TruePositiveRateParity)`` on Adult vs our fair model, both
  aiming at a test DEO <= 0.02;
* qp: the dense QP statement (``solver="cvxpy"``) against the exact solver, eps = 0, RBF,
  Adult n = 5,000 (the speed-up target of issue 9). A fit still running at ``--timeout`` is killed;
  its row then shows the time it had run and the ratio as lower bounds ("> ...").

Usage::

    python benchmarks/speed_table.py --quick       # small sizes, one repeat (a few minutes)
    python benchmarks/speed_table.py               # the sizes of issue 9 (long)

The table is printed and written to ``benchmarks/results/speed_table[_quick].md``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import time
import tracemalloc
from pathlib import Path

import numpy as np

C_KERNEL, TOL, EPS_KERNEL, C_LINEAR, C_SPARSE = 1.0, 1e-3, 0.05, 0.01, 1.0
#: Fits up to this long are run a second time, traced, for the peak of their Python/numpy allocations
#: (longer ones: "-"; maxrss is that of the timed fit)
TRACED_REFIT_MAX_SECONDS = 120.0


def adult(n: int, seed: int = 0, n_test: int = 5000):
    """n training rows of Adult (random, seeded) and n_test rows of its test split (all if None), preprocessed."""
    from fairerm.datasets import load_adult, make_preprocessor

    train, test = load_adult(subset="train"), load_adult(subset="test")
    rows = np.random.default_rng(seed).permutation(len(train.target))[:n]
    pre = make_preprocessor(train).fit(train.data.iloc[rows])
    X = np.ascontiguousarray(pre.transform(train.data.iloc[rows]), dtype=float)
    X_test = np.ascontiguousarray(pre.transform(test.data.iloc[:n_test]), dtype=float)
    return (X, np.asarray(train.target)[rows], np.asarray(train.sensitive)[rows],
            X_test, np.asarray(test.target)[:n_test], np.asarray(test.sensitive)[:n_test])


def synthetic_linear(n: int, d: int = 100, seed: int = 0):
    """n x d Gaussian rows, group shifts the first feature, labels from a noisy linear rule."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    s = rng.integers(0, 2, n)
    X[:, 0] += s
    beta = rng.normal(size=d) / np.sqrt(d)
    y = np.where(X @ beta + 0.3 * X[:, 0] + 0.5 * rng.normal(size=n) > 0, 1, -1)
    return X, y, s


def _scores(model, X, y, s) -> dict:
    from fairerm.metrics import equal_opportunity_difference

    pred = model.predict(X)
    return {"acc": float(np.mean(pred == y)), "deo": float(equal_opportunity_difference(y, pred, sensitive_features=s))}


def _kernel_model(method: str, n: int):
    from sklearn.svm import SVC

    from fairerm import FairKernelSVC

    if method == "svc":
        return SVC(C=C_KERNEL, gamma="scale", tol=TOL, cache_size=200)
    solver = {"exact_eps0": "exact", "exact_eps": "exact"}.get(method, method)
    epsilon = 0.0 if method in ("exact_eps0", "osqp", "cvxpy") else EPS_KERNEL
    return FairKernelSVC(C=C_KERNEL, epsilon=epsilon, solver=solver, tol=TOL, cache_size=200)


def run_kernel(method: str, n: int) -> dict:
    X, y, s, Xt, yt, st = adult(n)
    if method != "svc":
        _kernel_model(method, 50).fit(X[:60], y[:60], sensitive_features=s[:60])  # compile / import
    model = _kernel_model(method, n)
    fit = (lambda: model.fit(X, y)) if method == "svc" else (lambda: model.fit(X, y, sensitive_features=s))
    return {"fit": fit, "score": lambda: _scores(model, Xt, yt, st)}


def run_path(method: str, n: int) -> dict:
    from fairerm import FairKernelSVC, fair_path

    X, y, s, Xt, yt, st = adult(n)
    template = FairKernelSVC(C=C_KERNEL, tol=TOL)
    template.fit(X[:60], y[:60], sensitive_features=s[:60])
    epsilons = np.linspace(0.0, 0.2, 20)
    if method == "one_fit":
        model = FairKernelSVC(C=C_KERNEL, tol=TOL, epsilon=EPS_KERNEL)
        return {"fit": lambda: model.fit(X, y, sensitive_features=s), "score": lambda: _scores(model, Xt, yt, st)}
    warm = method == "path_warm"
    return {"fit": lambda: fair_path(template, X, y, sensitive_features=s, epsilons=epsilons, warm_start=warm),
            "score": lambda: {}}


def run_linear(method: str, n: int) -> dict:
    from sklearn.svm import LinearSVC

    from fairerm import FairLinearSVC
    from fairerm.constraints import constraint_weights

    X, y, s = synthetic_linear(n)
    if method.startswith("fair_dcd"):  # "fair_dcd": eps = 0 (the projected problem); "fair_dcd_eps": eps = 0.01
        epsilon = 0.01 if method == "fair_dcd_eps" else 0.0
        FairLinearSVC(C=C_LINEAR, solver="dcd").fit(X[:300], y[:300], sensitive_features=s[:300])
        model = FairLinearSVC(C=C_LINEAR, solver="dcd", epsilon=epsilon)
        fit = lambda: model.fit(X, y, sensitive_features=s)  # noqa: E731
        data = X
    else:
        u = constraint_weights(y, s).weights @ X
        q = u[0] / np.linalg.norm(u[0])
        data = X - np.outer(X @ q, q)
        del X
        if method.startswith("liblinear_mc"):  # multi-core LIBLINEAR, the same problem as LinearSVC
            model, fit = _multicore_liblinear(data, y, threads=1 if method == "liblinear_mc1" else 2)
        else:
            model = LinearSVC(C=C_LINEAR, loss="hinge", tol=1e-4, max_iter=1000)
            fit = lambda: model.fit(data, y)  # noqa: E731

    def score():
        w, b = model.coef_[0], float(model.intercept_[0])
        objective = 0.5 * w @ w + C_LINEAR * np.maximum(0.0, 1.0 - y * (data @ w + b)).sum()
        return {"acc": float(np.mean(np.where(data @ w + b > 0, 1, -1) == y)), "objective": float(objective),
                "data_mb": data.nbytes / 2**20}

    return {"fit": fit, "score": score}


def _multicore_liblinear(data, y, threads: int):
    """Multi-core LIBLINEAR (``liblinear-multicore``, its ``-m`` threads) on LinearSVC's problem.

    ``-s 3`` is the L1-loss SVM dual that ``LinearSVC(loss="hinge")`` solves, ``-B 1`` its penalised
    intercept (``intercept_scaling=1``) and ``-e 1e-4`` its ``tol``. Copying the rows into LIBLINEAR's
    sparse node format is not timed, like the projection. Returns an object with ``coef_`` and
    ``intercept_`` (set by the fit) and the fit.
    """
    from types import SimpleNamespace

    from liblinear import liblinearutil  # the optional benchmark dependency liblinear-multicore

    problem = liblinearutil.problem(y, data)
    parameter = liblinearutil.parameter(f"-s 3 -c {C_LINEAR} -e 1e-4 -B 1 -m {threads} -q")
    model = SimpleNamespace()

    def fit():
        trained = liblinearutil.train(problem, parameter)
        w, b = trained.get_decfun()
        sign = 1.0 if trained.get_labels()[0] == 1 else -1.0  # LIBLINEAR's decision value is for its first label
        model.coef_ = sign * np.asarray(w, dtype=float)[None, :]
        model.intercept_ = np.array([sign * b])

    return model, fit


def synthetic_sparse(n: int, d: int, density: float = 1e-3, seed: int = 0):
    """A text-like CSR problem: ``density * d`` random nonzeros per row (unit row norm on average), a
    column marking group 1 (as a one-hot attribute does), labels of a sparse linear model plus noise."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    k = max(1, int(round(density * d)))
    indices = rng.integers(0, d - 1, size=n * k).astype(np.int32)
    X = sp.csr_matrix((rng.normal(size=n * k) / np.sqrt(k), indices, np.arange(0, n * k + 1, k)), shape=(n, d))
    X.sum_duplicates()
    s = rng.integers(0, 2, n)
    X = sp.hstack([X[:, : d - 1], sp.csr_matrix(s[:, None].astype(float))], format="csr")
    w = rng.normal(size=d)
    y = np.where(X @ w + 0.3 * rng.normal(size=n) > 0.5 * s, 1, -1)
    return X, y, s


def run_sparse(method: str, n: int) -> dict:
    from sklearn.svm import LinearSVC

    from fairerm import FairLinearSVC

    X, y, s = synthetic_sparse(n, n)
    if method.startswith("fair_dcd"):
        epsilon = 0.01 if method == "fair_dcd_eps" else 0.0
        warm = synthetic_sparse(300, 3000, 0.01, seed=1)  # compile the CSR loops outside the timing
        FairLinearSVC(C=C_SPARSE, solver="dcd").fit(warm[0], warm[1], sensitive_features=warm[2])
        model = FairLinearSVC(C=C_SPARSE, solver="dcd", epsilon=epsilon)
        fit = lambda: model.fit(X, y, sensitive_features=s)  # noqa: E731
    else:
        model = LinearSVC(C=C_SPARSE, loss="hinge", tol=1e-4, max_iter=1000)
        fit = lambda: model.fit(X, y)  # noqa: E731

    def score():
        w, b = model.coef_[0], float(model.intercept_[0])
        f = X @ w + b
        objective = 0.5 * w @ w + C_SPARSE * np.maximum(0.0, 1.0 - y * f).sum()
        pos = y > 0
        deo = abs(np.mean(f[pos & (s == 0)] > 0) - np.mean(f[pos & (s == 1)] > 0))
        extra = {"certified": float(model.status_ == "optimal")} if hasattr(model, "status_") else {}
        return {"acc": float(np.mean(np.where(f > 0, 1, -1) == y)), "deo": float(deo), "objective": float(objective),
                "data_mb": (X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / 2**20, **extra}

    return {"fit": fit, "score": score}


def run_fairlearn(method: str, n: int) -> dict:
    from fairlearn.reductions import ExponentiatedGradient, TruePositiveRateParity
    from sklearn.linear_model import LogisticRegression

    from fairerm import FairLinearSVC

    X, y, s, Xt, yt, st = adult(n, n_test=None)  # DEO on all 16,281 test rows: the 0.02 target needs the precision
    if method.startswith("expgrad"):  # "expgrad": difference bound 0.01; "expgrad_loose": 0.02 (cheaper)
        bound = 0.02 if method == "expgrad_loose" else 0.01
        model = ExponentiatedGradient(LogisticRegression(max_iter=500), TruePositiveRateParity(difference_bound=bound))
        return {"fit": lambda: model.fit(X, y, sensitive_features=s), "score": lambda: _scores(model, Xt, yt, st)}
    model = FairLinearSVC(C=C_LINEAR, epsilon=0.0)
    return {"fit": lambda: model.fit(X, y, sensitive_features=s), "score": lambda: _scores(model, Xt, yt, st)}


SECTIONS = {"kernel": run_kernel, "path": run_path, "linear": run_linear, "sparse": run_sparse,
            "fairlearn": run_fairlearn, "qp": run_kernel}


def _child(queue, section: str, method: str, n: int) -> None:
    try:
        job = SECTIONS[section](method, n)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        queue.put({"fit_started": time.time()})
        start = time.perf_counter()
        job["fit"]()  # timed without tracemalloc, which slows allocation-heavy Python code (a 20-fit path by 35 %)
        seconds = time.perf_counter() - start
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        traced_peak = float("nan")
        if seconds <= TRACED_REFIT_MAX_SECONDS:  # the traced peak: the same fit again, traced
            tracemalloc.start()
            job["fit"]()
            traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        result = {"time": seconds, "traced_mb": traced_peak, "maxrss_mb": maxrss, "rss_before_mb": rss_before}
        result.update(job["score"]())
        queue.put(result)
    except Exception as exc:  # report, do not hang the parent
        queue.put({"error": f"{type(exc).__name__}: {exc}"})


def measure(section: str, method: str, n: int, repeat: int, timeout: float) -> dict:
    """Median over ``repeat`` fresh processes (time, memory, scores)."""
    ctx = mp.get_context("spawn")
    runs = []
    for _ in range(repeat):
        queue = ctx.Queue()
        proc = ctx.Process(target=_child, args=(queue, section, method, n))
        proc.start()
        proc.join(timeout)
        started = None
        if proc.is_alive():
            proc.kill()
            try:
                started = queue.get(timeout=1.0)["fit_started"]
            except Exception:  # the child never reached the fit
                return {"error": f"over {timeout:.0f} s before the fit started"}
            # the fit ran from `started` until the kill: a lower bound on its time
            bound = time.time() - started
            return {"error": f"fit unfinished after {bound:.0f} s (killed)", "time_lower_bound": bound}
        try:
            queue.get(timeout=5.0)  # the start announcement
            result = queue.get(timeout=5.0)
        except Exception:
            result = {"error": f"exit code {proc.exitcode}"}
        if "error" in result:
            return result
        runs.append(result)
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def _multicore_liblinear_methods() -> list:
    """The multi-core LIBLINEAR rows (1 and 2 threads) where ``liblinear-multicore`` is installed."""
    try:
        import liblinear.liblinearutil  # noqa: F401
    except ImportError:
        print("liblinear-multicore is not installed (pip install liblinear-multicore): its rows are left out")
        return []
    return ["liblinear_mc1", "liblinear_mc"]


def _fmt(value, digits=3):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--sections", nargs="*", default=list(SECTIONS))
    parser.add_argument("--output", default=None, help="file name under benchmarks/results/")
    args = parser.parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 3)
    if args.quick:
        plan = {"kernel": ([1000, 2000], {"osqp": 1000, "cvxpy": 1000}), "path": ([1000], {}),
                "linear": ([20_000, 100_000], {}), "sparse": ([20_000], {}), "fairlearn": ([5000], {}),
                "qp": ([1000], {})}
    else:
        plan = {"kernel": ([1000, 2000, 5000, 10_000, 20_000], {"osqp": 1000, "cvxpy": 1000}),
                "path": ([2000], {}), "linear": ([100_000, 1_000_000], {}), "sparse": ([100_000], {}),
                "fairlearn": ([32_561], {}), "qp": ([5000], {})}
    methods = {"kernel": (["svc", "exact_eps0", "exact_eps", "osqp", "cvxpy"], "svc"),
               "path": (["one_fit", "path_warm", "separate_fits"], "one_fit"),
               "linear": (["linearsvc", "fair_dcd", "fair_dcd_eps"] + _multicore_liblinear_methods(), "linearsvc"),
               "sparse": (["linearsvc", "fair_dcd", "fair_dcd_eps"], "linearsvc"),
               "fairlearn": (["expgrad", "expgrad_loose", "fair_linear"], "expgrad"),
               "qp": (["exact_eps0", "cvxpy"], "exact_eps0")}
    lines = [f"# Speed table ({'quick' if args.quick else 'full'}; median of {repeat} fresh-process runs; "
             "shared 2-core machine, noisy)", "",
             "| section | method | n | time (s) | ratio vs baseline | accuracy | DEO | traced peak (MB) | "
             "maxrss (MB) | note |", "|---|---|---|---|---|---|---|---|---|---|"]
    for section in args.sections:
        sizes, limits = plan[section]
        names, baseline = methods[section]
        for n in sizes:
            base = None
            for method in names:
                if n > limits.get(method, np.inf):
                    continue
                result = measure(section, method, n, repeat, args.timeout)
                if method == baseline:
                    base = result
                ratio = (result["time"] / base["time"]) if base and "error" not in base and "error" not in result else None
                note = result.get("error", "")
                if "time_lower_bound" in result:  # killed mid-fit: the time and the ratio are lower bounds
                    result["time"] = f"> {result['time_lower_bound']:.0f}"
                    if base and "error" not in base:
                        ratio = f"> {result['time_lower_bound'] / base['time']:.0f}"
                if "objective" in result:
                    note = f"objective {result['objective']:.6g}; data {result['data_mb']:.0f} MB"
                    if "certified" in result:
                        note += "; certified optimal" if result["certified"] == 1.0 else "; NOT certified"
                lines.append(f"| {section} | {method} | {n} | {_fmt(result.get('time'))} | {_fmt(ratio)} | "
                             f"{_fmt(result.get('acc'))} | {_fmt(result.get('deo'))} | {_fmt(result.get('traced_mb'))} | "
                             f"{_fmt(result.get('maxrss_mb'))} | {note} |")
                print(lines[-1], flush=True)
    table = "\n".join(lines) + "\n"
    name = args.output or ("speed_table_quick.md" if args.quick else "speed_table.md")
    out = Path(__file__).parent / "results" / name
    out.parent.mkdir(exist_ok=True)
    out.write_text(table)
    print(table)
    return table


if __name__ == "__main__":
    main()
