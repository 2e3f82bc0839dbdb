"""Linear FERM on a Dask array read from a chunked on-disk store, against the in-memory fit (issue 20).

The benchmark writes the data as ``.npy`` chunks (``dask.array.to_npy_stack``; each chunk generated
by :func:`fairerm.datasets.make_synthetic_dask`, so the writer never holds more than a chunk), starts a
``LocalCluster`` of worker processes *in a subprocess* (so this process is only the client, as on a
real cluster), and fits ``FairLinearSVC(solver="auto")`` on ``dask.array.from_npy_stack`` of the
store: the distributed interior point of :mod:`fairerm.solvers.dask_ipm`. Reported: wall time,
iterations and passes over the data, the client's ``tracemalloc`` peak during the fit, each worker's
peak resident memory (the scheduler's heartbeat metrics, polled every 0.5 s), the certificate, and,
with ``--in-memory``, the in-memory ``FairLinearSVC`` on the same rows (time, objective, the largest
difference of decision values). With ``--subsample ROWS`` the in-memory fit is of the first ROWS
rows and its objective is scaled by ``n / ROWS`` (the large run of the issue: 2,000,000 of
20,000,000 rows).

Usage::

    python benchmarks/dask_scaling.py --rows 1000000 --in-memory            # the 1,000,000-row ratio
    python benchmarks/dask_scaling.py --rows 20000000 --subsample 2000000 \\
        --memory-limit 3GB                                                  # 4 GB float32 on 2 x 3 GB

A row of the table is appended to ``benchmarks/results/dask_scaling.md`` per run. The machine is
shared (2 cores, other sessions' tests): read ratios measured in one run, not absolute times.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results" / "dask_scaling.md"
_SERVE = """
import sys, distributed
cluster = distributed.LocalCluster(n_workers={workers}, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=None, memory_limit="{memory}", silence_logs=50)
print(cluster.scheduler_address, flush=True)
sys.stdin.read()
cluster.close()
"""
HEADER = ("| rows x features (dtype, data) | chunks | workers x limit | fit time | iterations (passes) | client peak "
          "(tracemalloc) | worker peak RSS | relative gap | in-memory fit (rows) | time ratio | objective vs "
          "in-memory | max decision diff |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n")


def write_store(path: Path, rows: int, features: int, chunk_rows: int, dtype) -> None:
    import dask.array as da

    from fairerm.datasets import make_synthetic_dask

    X, y, s = make_synthetic_dask(rows, features, chunk_rows=chunk_rows, dtype=dtype, random_state=0)
    table = da.concatenate([X, s[:, None].astype(dtype), y[:, None].astype(dtype)], axis=1)
    da.to_npy_stack(str(path), table, axis=0)


def start_cluster(workers: int, memory: str):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    server = subprocess.Popen([sys.executable, "-c", _SERVE.format(workers=workers, memory=memory)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    return server, server.stdout.readline().strip()


class WorkerMemory(threading.Thread):
    """Polls each worker's resident memory from the scheduler's heartbeat metrics; keeps the maximum."""

    def __init__(self, client):
        super().__init__(daemon=True)
        self.client, self.peak, self.done = client, {}, threading.Event()

    def run(self):
        while not self.done.is_set():
            try:
                for address, info in self.client.scheduler_info()["workers"].items():
                    self.peak[address] = max(self.peak.get(address, 0), info["metrics"]["memory"])
            except Exception:  # pragma: no cover - a worker restarting
                pass
            self.done.wait(0.5)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--chunk-rows", type=int, default=250_000)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="3GB")
    parser.add_argument("--epsilon", type=float, default=0.0)
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--in-memory", action="store_true", help="also fit in memory on the same rows")
    parser.add_argument("--subsample", type=int, default=None, help="in-memory fit of the first ROWS rows")
    parser.add_argument("--store", default=None, help="folder of the .npy chunks (default: a temporary one)")
    args = parser.parse_args(argv)

    import dask.array as da
    import distributed

    from fairerm import FairLinearSVC

    dtype = np.dtype(args.dtype)
    store = Path(args.store) if args.store else Path(tempfile.mkdtemp(prefix="fairerm_dask_scaling_"))
    started = time.perf_counter()
    if not (store / "info").exists():
        write_store(store, args.rows, args.features, args.chunk_rows, dtype)
    print(f"store {store}: {time.perf_counter() - started:.1f} s", flush=True)
    server, address = start_cluster(args.workers, args.memory_limit)
    client = distributed.Client(address)
    try:
        table = da.from_npy_stack(str(store), mmap_mode="r")
        d = args.features
        X, s, y = table[:, :d], table[:, d].astype(np.int16), table[:, d + 1].astype(np.int8)
        monitor = WorkerMemory(client)
        monitor.start()
        tracemalloc.start()
        started = time.perf_counter()
        model = FairLinearSVC(C=args.C, epsilon=args.epsilon).fit(X, y, sensitive_features=s)
        fit_time = time.perf_counter() - started
        _, client_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        monitor.done.set()
        monitor.join()
        print(f"distributed: {fit_time:.1f} s, {model.n_iter_} iterations, {model.status_}, "
              f"{model.solution_.certificate.describe()}", flush=True)
        data_bytes = args.rows * d * dtype.itemsize
        row = {"shape": f"{args.rows:,} x {d} ({dtype.name}, {data_bytes / 1e9:.2f} GB)",
               "chunks": f"{len(X.chunks[0])} x {args.chunk_rows:,}",
               "workers": f"{args.workers} x {args.memory_limit}", "time": f"{fit_time:.1f} s",
               "iterations": f"{model.n_iter_} ({model.solution_.info['passes']})",
               "client": f"{client_peak / 1e6:.1f} MB ({100 * client_peak / data_bytes:.2f} % of data)",
               "workers_peak": ", ".join(f"{v / 1e9:.2f} GB" for v in monitor.peak.values()),
               "gap": f"{model.solution_.certificate.relative_gap:.1e} ({model.status_})",
               "memory": "-", "ratio": "-", "objective": "-", "decision": "-"}
        if args.in_memory or args.subsample:
            m = args.subsample or args.rows
            Xl = np.asarray(X[:m].compute(), dtype=np.float64)
            yl, sl = np.asarray(y[:m].compute()), np.asarray(s[:m].compute())
            started = time.perf_counter()
            local = FairLinearSVC(C=args.C, epsilon=args.epsilon).fit(Xl, yl, sensitive_features=sl)
            local_time = time.perf_counter() - started
            scale = args.rows / m
            row.update(memory=f"{local_time:.1f} s ({m:,}, {local.solver_})", ratio=f"{fit_time / local_time:.2f}",
                       objective=f"{(model.objective_ - scale * local.objective_) / (scale * local.objective_):+.1e}"
                       + (" (scaled)" if m < args.rows else ""))
            if m == args.rows:
                row["decision"] = f"{np.max(np.abs(model.decision_function(Xl) - local.decision_function(Xl))):.1e}"
            print(f"in memory: {local_time:.1f} s, objective {local.objective_:.10g} vs {model.objective_:.10g}",
                  flush=True)
    finally:
        client.close()
        server.stdin.close()
        server.wait(timeout=120)
        if not args.store:
            shutil.rmtree(store, ignore_errors=True)
    line = "| " + " | ".join(row[key] for key in ("shape", "chunks", "workers", "time", "iterations", "client",
                                                   "workers_peak", "gap", "memory", "ratio", "objective",
                                                   "decision")) + " |\n"
    if not RESULTS.exists():
        RESULTS.write_text("# Linear FERM on a Dask array (benchmarks/dask_scaling.py)\n\n" + HEADER)
    with RESULTS.open("a") as handle:
        handle.write(line)
    print(line)


if __name__ == "__main__":
    main()
