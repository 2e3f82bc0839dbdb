"""Memory guards of the group divergences, the Pareto mask and the exact DCD step.

Each refusal must come before the allocation it refuses (peak memory far below the amount it
names) and say what needed the memory, how much, and what to do instead.
"""

from __future__ import annotations

import re
import tracemalloc
from types import SimpleNamespace

import numpy as np
import pytest

import fairerm._memory as memory_module
from fairerm.exceptions import MemoryBudgetError
from fairerm.plotting import pareto_mask

torch = pytest.importorskip("torch")

from fairerm.representation import group_divergence  # noqa: E402
from fairerm.representation._divergences import mmd2_unbiased, sinkhorn_divergence  # noqa: E402

MiB = 2**20
_UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def _needed_bytes(message: str) -> float:
    match = re.search(r"needs ([0-9.]+) (B|KiB|MiB|GiB|TiB)", message)
    assert match, message
    return float(match.group(1)) * _UNITS[match.group(2)]


def _reset_peak_rss() -> bool:
    """Reset the process's peak RSS (VmHWM); False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _status_bytes(field: str) -> int:
    """A memory field of /proc/self/status (``VmHWM``: the peak resident size, ``VmRSS``: the current one)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field}")  # pragma: no cover


def _peak_rss_bytes() -> int:
    return _status_bytes("VmHWM")


def _current_rss_bytes() -> int:
    return _status_bytes("VmRSS")


def _two_groups(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, 8))
    s = rng.integers(0, 2, n)
    return Z, s


@pytest.mark.parametrize("divergence, option", [("mmd", {"bandwidth": 1.0}), ("sinkhorn", {"epsilon": 4.0})])
def test_group_divergence_refuses_before_the_kernel_matrices(monkeypatch, divergence, option):
    n = 8000
    Z, s = _two_groups(n)
    n_a, n_b = int((s == 0).sum()), int((s == 1).sum())
    monkeypatch.setattr(memory_module, "available_memory_bytes", lambda: 64 * MiB)
    rss_reset = _reset_peak_rss()
    rss_before = _current_rss_bytes()
    tracemalloc.start()
    try:
        with pytest.raises(MemoryBudgetError) as info:
            group_divergence(Z, s, divergence=divergence, **option)
        _, traced_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(info.value)
    needed = _needed_bytes(message)
    # the amount is at least the n_a x n_b matrix (8 bytes an entry) and of the measured size
    assert needed >= 3 * 8.0 * n_a * n_b
    assert str(n_a) in message and str(n_b) in message  # names the groups' sizes
    assert "subsampl" in message.lower()  # and a remedy
    assert traced_peak < needed / 20
    if rss_reset:  # the torch tensors are not seen by tracemalloc: the process's peak RSS
        assert _peak_rss_bytes() - rss_before < needed / 5


def test_mmd_and_sinkhorn_refusals_name_the_samples(monkeypatch):
    rng = np.random.default_rng(1)
    x, z = torch.tensor(rng.normal(size=(3000, 4))), torch.tensor(rng.normal(size=(2500, 4)))
    monkeypatch.setattr(memory_module, "available_memory_bytes", lambda: 16 * MiB)
    with pytest.raises(MemoryBudgetError, match=r"3000.*2500") as info:
        mmd2_unbiased(x, z, 1.0)
    assert "subsampl" in str(info.value).lower()
    with pytest.raises(MemoryBudgetError, match=r"3000.*2500") as info:
        sinkhorn_divergence(x, z, 1.0)
    assert "subsampl" in str(info.value).lower()


def test_divergence_guard_lets_training_batches_through(monkeypatch):
    """Batches of a few hundred points (FairRepresentation's path) are not refused at a modest budget."""
    rng = np.random.default_rng(2)
    x = torch.tensor(rng.normal(size=(300, 6)), requires_grad=True)
    z = torch.tensor(rng.normal(size=(200, 6)) + 0.5)
    reference_mmd = mmd2_unbiased(x, z, 1.0)
    reference_sinkhorn = sinkhorn_divergence(x, z, 2.0)
    monkeypatch.setattr(memory_module, "available_memory_bytes", lambda: 64 * MiB)
    value = mmd2_unbiased(x, z, 1.0)
    value.backward()
    assert value.item() == reference_mmd.item()
    assert sinkhorn_divergence(x, z, 2.0).item() == reference_sinkhorn.item()


# ----------------------------------------------------------------------------------------- pareto_mask


def _dense_pareto_mask(accuracy, unfairness):
    """The former O(n^2) implementation, the reference of the sweep."""
    acc = np.asarray(accuracy, dtype=float)
    unf = np.asarray(unfairness, dtype=float)
    better_or_equal = (acc[None, :] >= acc[:, None]) & (unf[None, :] <= unf[:, None])
    strictly = (acc[None, :] > acc[:, None]) | (unf[None, :] < unf[:, None])
    return ~np.any(better_or_equal & strictly, axis=1)


def test_pareto_mask_sweep_equals_the_pairwise_definition():
    rng = np.random.default_rng(0)
    for trial in range(3000):
        n = int(rng.integers(1, 60))
        kind = trial % 4
        if kind == 0:  # many ties: few distinct values
            acc = rng.integers(0, 4, n).astype(float)
            unf = rng.integers(0, 4, n).astype(float)
        elif kind == 1:  # continuous values
            acc, unf = rng.random(n), rng.random(n)
        elif kind == 2:  # duplicated points and signed zeros
            base_a = rng.choice([-0.0, 0.0, 0.5, 1.0], size=max(1, n // 3))
            base_u = rng.choice([-0.0, 0.0, 0.25, 1.0], size=base_a.size)
            pick = rng.integers(0, base_a.size, n)
            acc, unf = base_a[pick], base_u[pick]
        else:  # ties in one coordinate only, extreme magnitudes
            acc = rng.choice([-1e300, 1e-300, 3.0], size=n)
            unf = rng.normal(size=n) * 1e200
        expected = _dense_pareto_mask(acc, unf)
        got = pareto_mask(acc, unf)
        assert got.dtype == bool and got.shape == (n,)
        np.testing.assert_array_equal(got, expected, err_msg=f"trial {trial}: {acc!r} {unf!r}")
    assert pareto_mask([0.8, 0.9, 0.7], [0.1, 0.2, 0.3]).tolist() == [True, True, False]
    assert pareto_mask([0.5, 0.5], [0.1, 0.1]).tolist() == [True, True]


def test_pareto_mask_needs_no_quadratic_memory():
    n = 20_000  # the pairwise form held 3 n^2 bytes (1.2 GB)
    rng = np.random.default_rng(3)
    acc, unf = rng.random(n).round(3), rng.random(n).round(3)
    tracemalloc.start()
    try:
        mask = pareto_mask(acc, unf)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * n * 8  # O(n): a few dozen arrays of n doubles at most
    assert mask.any()


# ------------------------------------------------------------------------------------ the exact DCD step


def test_dcd_exact_gram_refusal_names_a_remedy(monkeypatch):
    from fairerm.solvers import _dcd_exact_step

    m = 400
    inner = SimpleNamespace(X=None, y=None, upper=None, Q=None, offsets=None, Z=None)
    monkeypatch.setattr(memory_module, "available_memory_bytes", lambda: 2**10)
    with pytest.raises(MemoryBudgetError) as info:
        _dcd_exact_step._reduced_primal_gram(inner, np.arange(m), np.zeros(3), 0.0)
    message = str(info.value)
    assert str(m) in message
    hint = message.split("is available.", 1)[1].strip()
    assert hint, message


def test_dcd_whole_problem_guard_follows_the_memory_module(monkeypatch):
    from fairerm.solvers import _dcd_exact_step

    calls = []
    monkeypatch.setattr(_dcd_exact_step, "_reduced_primal", lambda *a, **k: calls.append(1))
    inner = SimpleNamespace(X=np.ones((1000, 5)), upper=np.ones(1000))
    monkeypatch.setattr(memory_module, "available_memory_bytes", lambda: 2**10)
    assert _dcd_exact_step.whole_problem(inner) is None
    assert calls == []  # declined on the budget, before the step
