"""The fair-representation benchmark's smoke mode runs as a user runs it (a subprocess), and every
table row carries the majority rate and a collapse flag."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quick_benchmark_writes_tables_with_majority_rates_and_collapse_flags(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, "benchmarks/fair_representation.py", "--quick", "--datasets", "synthetic",
                           "--results-dir", str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = pd.read_csv(tmp_path / "fair_representation_quick.csv")
    assert {"raw features", "representation"} <= set(table.method)
    for task in ("task", "transfer"):
        majority = table[f"{task}_test_majority"]
        assert majority.between(0.5, 1.0).all()
    text = (tmp_path / "fair_representation_quick.md").read_text()
    header = next(line for line in text.splitlines() if line.startswith("| method"))
    assert header.count("maj.") == 2 and header.count("collapsed") == 2
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| method")]
    assert len(rows) == len(table.groupby(["method", "penalty", "penalty_weight"], dropna=False))
    assert all(line.count("| no |") + line.count("**yes**") == 2 for line in rows)


def _benchmark_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("fair_representation_benchmark", ROOT / "benchmarks" / "fair_representation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _KnownProbability:
    """A fitted 'estimator' that returns a known probability stored in one column of X."""

    def __init__(self, column):
        self.column = column

    def fit(self, X, y):
        return self

    def predict_proba(self, X):
        p = np.asarray(X)[:, self.column]
        return np.column_stack([1.0 - p, p])


def test_group_blind_plug_in_is_the_best_rule_of_x_at_its_own_gap_on_a_known_population():
    """The population is a finite one written out row by row with exact counts: 14 cells of x with
    weights p_k, P(y = 1 | x) = eta_k and P(s = a | x) = q_k. Every rule of x then has the same
    accuracy and DDP on these rows as in the population, and the oracles are exact: scipy's linprog
    over randomised rules h in [0, 1]^14, brute force over the 2^14 deterministic rules, and the
    family h_lambda = 1[2 eta - 1 > lambda (q/pi_a - (1 - q)/pi_b)] at every midpoint between its
    breakpoints. The chosen rule is a rule of x within the target; it is the family's most accurate
    one within the target, no more accurate than the best deterministic rule; and (the Lagrangian
    argument of the docstring) no rule of x, randomised or not, is more accurate at a gap as small
    as its own."""
    import itertools

    from scipy.optimize import linprog

    bench = _benchmark_module()
    rng = np.random.default_rng(3)
    K, unit = 14, 8  # every count below is a whole number: the rows are the population
    cell_rows = rng.integers(2, 12, K) * 64
    q = rng.integers(1, unit, K) / unit
    eta = rng.integers(1, unit, K) / unit
    eta = np.where(eta == 0.5, 0.625, eta)
    X, y, s = [], [], []
    for k in range(K):
        for group, share in ((0, q[k]), (1, 1.0 - q[k])):
            rows = int(round(cell_rows[k] * share))
            positives = int(round(rows * eta[k]))
            X += [[k, eta[k], q[k]]] * rows
            y += [1] * positives + [0] * (rows - positives)
            s += [group] * rows
    X, y, s = np.asarray(X, float), np.asarray(y), np.asarray(s)
    assert np.allclose([y[X[:, 0] == k].mean() for k in range(K)], eta)
    p = cell_rows / cell_rows.sum()
    pi_a = float(np.mean(s == 0))
    assert np.isclose(pi_a, p @ q)
    gain, cost = p * (2 * eta - 1), p * (q / pi_a - (1 - q) / (1 - pi_a))
    base = float(np.mean(y == 0))
    rules = np.array(list(itertools.product((0, 1), repeat=K)))
    ratios = np.sort((2 * eta - 1) / (q / pi_a - (1 - q) / (1 - pi_a)))
    midpoints = np.concatenate([[ratios[0] - 1], (ratios[1:] + ratios[:-1]) / 2, [ratios[-1] + 1]])
    family = [((2 * eta - 1) > m * (q / pi_a - (1 - q) / (1 - pi_a))).astype(int) for m in midpoints]
    constant = max(base, 1 - base)
    for max_ddp in (0.02, 0.1, 0.15, 0.2, 0.3):
        made = iter([_KnownProbability(1), _KnownProbability(2)])
        model = bench.GroupBlindPlugIn(lambda: next(made)).fit(X, y, s, validation=(X, y, s), max_ddp=max_ddp)
        eligible = [base + gain @ f for f in family if abs(cost @ f) <= max_ddp + 1e-12]
        if not eligible or max(eligible) <= constant:  # here at 0.02: the family jumps over the target
            assert np.isnan(model.multiplier_) and np.isclose(np.mean(model.predict(X) == y), constant)
            continue
        assert max_ddp >= 0.1
        predicted = model.predict(X)
        h = np.array([predicted[X[:, 0] == k].mean() for k in range(K)])
        assert set(np.unique(h)) <= {0.0, 1.0}  # one prediction per cell: a rule of x alone
        accuracy, gap = float(np.mean(predicted == y)), bench.ddp(predicted, s)
        assert np.isclose(accuracy, base + gain @ h) and np.isclose(gap, abs(cost @ h)) and gap <= max_ddp
        assert np.isclose(accuracy, max(eligible))
        deterministic = (base + rules @ gain)[np.abs(rules @ cost) <= max_ddp + 1e-12].max()
        assert accuracy <= deterministic + 1e-12
        at_own_gap = linprog(-gain, A_ub=np.vstack([cost, -cost]), b_ub=[gap, gap], bounds=[(0, 1)] * K, method="highs")
        assert at_own_gap.status == 0 and base - at_own_gap.fun <= accuracy + 1e-9, (max_ddp, accuracy, base - at_own_gap.fun)
