"""Fit time and peak memory of fairerm's SMO solver against libsvm (scikit-learn's SVC).

Both solve the same C-SVM dual (RBF kernel, same C, gamma, tol = 1e-3, 200 MB kernel cache,
shrinking on) on the same data; the table reports the best of ``--repeat`` fits, the ratio
``fairerm / libsvm`` (below 1: fairerm is faster), the extra resident memory of one fit
(``VmHWM`` after resetting it through ``/proc/self/clear_refs``, minus the resident memory before
the fit), iterations, support vectors, the relative difference of the dual objectives and the
fraction of training points on which the two decision functions agree in sign.

Each solver fits in a fresh process (data loaded, compiled code warmed up on 50 points), so the
memory column is what one fit adds and nothing else.

Usage::

    python benchmarks/smo_vs_svc.py                  # synthetic and Adult, n = 1000, 2000, 5000
    python benchmarks/smo_vs_svc.py --n 1000 2000 5000 10000 --datasets adult
"""

from __future__ import annotations

import argparse
import ctypes
import multiprocessing as mp
import time

import numpy as np

C, TOL, CACHE_MB = 1.0, 1e-3, 200.0


def synthetic(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Twenty standardised features, a nonlinear boundary and 10 % label noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 20))
    score = X[:, 0] * X[:, 1] + np.sin(2 * X[:, 2]) + 0.5 * X[:, 3] - 0.2
    y = np.where(score > 0, 1.0, -1.0)
    flip = rng.random(n) < 0.1
    y[flip] = -y[flip]
    return X, y


def adult(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The first n rows of a random permutation of Adult (train), one-hot + standardised."""
    try:
        from fairerm.datasets import load_adult
    except ImportError:
        from fairerm.datasets._real import load_adult
    import pandas as pd

    bunch = load_adult()
    frame = pd.get_dummies(bunch.data, dtype=float)
    X = frame.to_numpy(dtype=np.float64)
    X = (X - X.mean(0)) / np.where(X.std(0) > 0, X.std(0), 1.0)
    y = np.where(np.asarray(bunch.target) == 1, 1.0, -1.0)
    order = np.random.default_rng(seed).permutation(len(y))[:n]
    return np.ascontiguousarray(X[order]), y[order]


DATASETS = {"synthetic": synthetic, "adult": adult}


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _measure(fit) -> tuple[float, float, object]:
    """(seconds, extra peak MiB, result) of one call."""
    try:  # hand freed heap pages back to the OS, so the fit cannot hide in already-resident memory
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # reset VmHWM to the current RSS
    except OSError:
        pass
    before = _rss_kib("VmRSS")
    start = time.perf_counter()
    result = fit()
    seconds = time.perf_counter() - start
    return seconds, max(0, _rss_kib("VmHWM") - before) / 1024, result


def fit_in_child(dataset: str, n: int, solver: str, repeat: int) -> dict:
    """Fit ``repeat`` times in this (fresh) process; best time, largest extra memory, the solution."""
    from sklearn.svm import SVC

    from fairerm.kernels import KernelSpec, resolve_gamma
    from fairerm.solvers.smo import solve_svm_dual

    X, y = DATASETS[dataset](n)
    gamma = resolve_gamma(X, "scale")
    spec = KernelSpec("rbf", gamma=gamma)
    if solver == "smo":
        solve_svm_dual(X[:50], y[:50], spec)  # load the compiled code outside the measurement
        runs = [_measure(lambda: solve_svm_dual(X, y, spec, upper=C, tol=TOL, cache_size=CACHE_MB))
                for _ in range(repeat)]
        res = runs[0][2]
        alpha, intercept, n_iter = res.alpha, res.intercept, res.n_iter
    else:
        runs = [_measure(lambda: SVC(C=C, gamma=gamma, tol=TOL, cache_size=CACHE_MB).fit(X, y))
                for _ in range(repeat)]
        svc = runs[0][2]
        alpha = np.zeros(n)
        alpha[svc.support_] = np.abs(svc.dual_coef_[0])
        intercept, n_iter = float(svc.intercept_[0]), int(svc.n_iter_[0])
    return {"time": min(r[0] for r in runs), "mem": max(r[1] for r in runs), "alpha": alpha,
            "intercept": intercept, "n_iter": n_iter}


def _child(queue, *args):
    queue.put(fit_in_child(*args))


def _in_fresh_process(ctx, *args) -> dict:
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue, *args))
    proc.start()
    out = queue.get()
    proc.join()
    return out


def compare(dataset: str, n: int, smo: dict, svc: dict) -> dict:
    """Dual objectives and sign agreement of the two decision functions on the training points."""
    from fairerm.kernels import KernelSpec, kernel_matvec, resolve_gamma

    X, y = DATASETS[dataset](n)
    spec = KernelSpec("rbf", gamma=resolve_gamma(X, "scale"))

    def objective_and_scores(alpha, intercept):
        support = np.flatnonzero(alpha > 0)
        Kv = kernel_matvec(X, X[support], (alpha * y)[support], spec)
        return 0.5 * (alpha * y) @ Kv - alpha.sum(), Kv + intercept

    obj_smo, f_smo = objective_and_scores(smo["alpha"], smo["intercept"])
    obj_svc, f_svc = objective_and_scores(svc["alpha"], svc["intercept"])
    return {"d": X.shape[1], "obj_rel": (obj_smo - obj_svc) / abs(obj_svc),
            "agree": float(np.mean(np.sign(f_smo) == np.sign(f_svc)))}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1000, 2000, 5000])
    parser.add_argument("--datasets", nargs="+", default=["synthetic", "adult"], choices=list(DATASETS))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    ctx = mp.get_context("spawn")
    print(f"RBF kernel, gamma='scale', C={C}, tol={TOL}, cache {CACHE_MB:.0f} MB, shrinking on; "
          f"best of {args.repeat}.\n")
    print("| data | n | d | fairerm SMO (s) | libsvm SVC (s) | time ratio | SMO peak extra MiB | SVC peak extra MiB "
          "| iter SMO / SVC | SV SMO / SVC | rel. objective diff | sign agreement |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for dataset in args.datasets:
        for n in args.n:
            smo = _in_fresh_process(ctx, dataset, n, "smo", args.repeat)
            svc = _in_fresh_process(ctx, dataset, n, "svc", args.repeat)
            row = compare(dataset, n, smo, svc)
            print(f"| {dataset} | {n} | {row['d']} | {smo['time']:.3f} | {svc['time']:.3f} "
                  f"| {smo['time'] / svc['time']:.2f} | {smo['mem']:.1f} | {svc['mem']:.1f} "
                  f"| {smo['n_iter']} / {svc['n_iter']} "
                  f"| {np.count_nonzero(smo['alpha'])} / {np.count_nonzero(svc['alpha'])} "
                  f"| {row['obj_rel']:+.1e} | {row['agree']:.4f} |", flush=True)

if __name__ == "__main__":
    main()
