"""Fit time and peak memory of fairerm's SMO solver against libsvm (scikit-learn's SVC).

Both solve the same C-SVM dual (RBF kernel, same C, gamma, tol = 1e-3, 200 MB kernel cache,
shrinking on) on the same data; the table reports the best of ``--repeat`` fits, the ratio
``fairerm / libsvm`` (below 1: fairerm is faster), the extra resident memory of one fit
(``VmHWM`` after resetting it through ``/proc/self/clear_refs``, minus the resident memory before
the fit), iterations, support vectors, the relative difference of the dual objectives and the
fraction of training points on which the two decision functions agree in sign.

Each (dataset, n) runs in a fresh process so that memory peaks do not leak between rows.

Usage::

    python benchmarks/smo_vs_svc.py                  # synthetic and Adult, n = 1000, 2000, 5000
    python benchmarks/smo_vs_svc.py --n 1000 2000 5000 10000 --datasets adult
"""

from __future__ import annotations

import argparse
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


def run_case(dataset: str, n: int, repeat: int) -> dict:
    from sklearn.metrics.pairwise import rbf_kernel
    from sklearn.svm import SVC

    from fairerm.kernels import KernelSpec, decision_values, resolve_gamma
    from fairerm.solvers.smo import solve_svm_dual

    X, y = DATASETS[dataset](n)
    gamma = resolve_gamma(X, "scale")
    spec = KernelSpec("rbf", gamma=gamma)
    solve_svm_dual(X[:50], y[:50], spec)  # load the compiled code outside the timing
    svc_runs = [_measure(lambda: SVC(C=C, gamma=gamma, tol=TOL, cache_size=CACHE_MB).fit(X, y)) for _ in range(repeat)]
    smo_runs = [_measure(lambda: solve_svm_dual(X, y, spec, upper=C, tol=TOL, cache_size=CACHE_MB))
                for _ in range(repeat)]
    svc, res = svc_runs[0][2], smo_runs[0][2]
    ours = decision_values(X, X[res.support], (res.alpha * y)[res.support], res.intercept, spec)
    theirs = svc.decision_function(X)
    alpha_svc = np.zeros(n)
    alpha_svc[svc.support_] = np.abs(svc.dual_coef_[0])

    def dual_objective(alpha):
        v = alpha[alpha > 0] * y[alpha > 0]
        K = rbf_kernel(X[alpha > 0], gamma=gamma)
        return 0.5 * v @ K @ v - alpha.sum()

    obj_svc, obj_smo = dual_objective(alpha_svc), dual_objective(res.alpha)
    return {
        "dataset": dataset, "n": n, "d": X.shape[1],
        "t_smo": min(r[0] for r in smo_runs), "t_svc": min(r[0] for r in svc_runs),
        "mem_smo": max(r[1] for r in smo_runs), "mem_svc": max(r[1] for r in svc_runs),
        "it_smo": res.n_iter, "it_svc": int(svc.n_iter_[0]),
        "sv_smo": res.n_support, "sv_svc": len(svc.support_),
        "obj_rel": (obj_smo - obj_svc) / abs(obj_svc),
        "agree": float(np.mean(np.sign(ours) == np.sign(theirs))),
    }


def _child(queue, dataset, n, repeat):
    queue.put(run_case(dataset, n, repeat))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1000, 2000, 5000])
    parser.add_argument("--datasets", nargs="+", default=["synthetic", "adult"], choices=list(DATASETS))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    ctx = mp.get_context("spawn")
    print(f"RBF kernel, gamma='scale', C={C}, tol={TOL}, cache {CACHE_MB:.0f} MB, shrinking on; best of {args.repeat}.\n")
    print("| data | n | d | fairerm SMO (s) | libsvm SVC (s) | time ratio | SMO extra MiB | SVC extra MiB "
          "| iter SMO / SVC | SV SMO / SVC | rel. objective diff | sign agreement |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for dataset in args.datasets:
        for n in args.n:
            queue = ctx.Queue()
            proc = ctx.Process(target=_child, args=(queue, dataset, n, args.repeat))
            proc.start()
            row = queue.get()
            proc.join()
            print(f"| {row['dataset']} | {row['n']} | {row['d']} | {row['t_smo']:.3f} | {row['t_svc']:.3f} "
                  f"| {row['t_smo'] / row['t_svc']:.2f} | {row['mem_smo']:.1f} | {row['mem_svc']:.1f} "
                  f"| {row['it_smo']} / {row['it_svc']} | {row['sv_smo']} / {row['sv_svc']} "
                  f"| {row['obj_rel']:+.1e} | {row['agree']:.4f} |", flush=True)


if __name__ == "__main__":
    main()
