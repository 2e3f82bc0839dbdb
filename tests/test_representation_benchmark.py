"""The fair-representation benchmark's smoke mode runs as a user runs it (a subprocess), and every
table row carries the majority rate and a collapse flag."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
