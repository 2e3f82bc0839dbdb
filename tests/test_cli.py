import json
import subprocess
import sys
from pathlib import Path

import pytest

from fairerm.cli import build_parser, main

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("argv", [["--help"], ["demo", "--help"], ["fetch", "--help"]])
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0
    assert "usage: fairerm" in capsys.readouterr().out


def test_demo_json_on_synthetic(capsys):
    assert main(["demo", "--dataset", "synthetic", "--n-train", "400", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["dataset"] == "synthetic" and result["n_train"] == 400
    names = [row["model"] for row in result["models"]]
    assert any("FERM FairLinearSVC" in n for n in names) and any("unconstrained" in n for n in names)
    for row in result["models"]:
        assert 0.0 <= row["accuracy"] <= 1.0 and 0.0 <= row["deo"] <= 1.0 and row["fit_seconds"] >= 0
    report = result["generalization_report"]
    for key in ("empirical_risk", "risk_bound", "empirical_fairness", "fairness_bound", "delta", "empirical_deo",
                "deo_bound"):
        assert key in report
    assert report["risk_bound"] >= report["empirical_risk"]
    holdout = result["holdout_report"]
    assert holdout["risk_bound"] >= holdout["empirical_risk"] and holdout["delta"] == 0.05


def test_demo_table_is_readable(capsys):
    assert main(["demo", "--dataset", "synthetic", "--n-train", "300"]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "DEO" in out and "DDP" in out
    assert "training (PAC-Bayes)" in out and "held-out (1200 rows)" in out and "Theorem" in out
    assert "Generalization report" not in out and len(out.splitlines()) <= 60
    assert main(["demo", "--dataset", "synthetic", "--n-train", "300", "--verbose"]) == 0
    verbose = capsys.readouterr().out
    assert "Generalization report (pac-bayes)" in verbose and "Generalization report (holdout)" in verbose
    assert "Assumptions" in verbose and "Union bound over the events" in verbose


def _run_demo(*args):
    command = [sys.executable, "-m", "fairerm", "demo", "--dataset", "synthetic", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=REPO_ROOT)


def test_demo_as_a_user_runs_it():
    """`python -m fairerm demo --dataset synthetic` in a fresh process: exit code 0, at most 60 lines,
    the two guarantees side by side with their vacuity marks, the theorem once, fit times after a warm-up."""
    out = _run_demo("--n-train", "1000")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert 20 <= len(lines) <= 60
    assert lines[0].startswith("fairerm demo: synthetic") and "trained on 1000 x 5, tested on 1200" in lines[0]
    header = next(line for line in lines if line.startswith("quantity"))
    assert "training (PAC-Bayes)" in header and "held-out (1200 rows)" in header
    rows = {line.split("  ")[0]: line.split() for line in lines
            if line.startswith(("risk: 0-1 error of h", "score gap (theorem)", "DEO of h"))}
    assert len(rows) == 3
    risk = [float(token.rstrip("*~")) for token in rows["risk: 0-1 error of h"][-4:]]
    assert risk[0] <= risk[1] <= 1.0 and risk[2] <= risk[3] <= 1.0  # empirical <= bound, both columns
    assert any("vacuous: risk >= the sample's majority-class error (" in line for line in lines)
    assert sum(line.startswith("Theorem") for line in lines) == 1 and "Union bound" not in out.stdout
    assert "warm-up fit" in out.stdout and "Numba" in out.stdout
    assert "[fairerm] warming up" in out.stderr and "[fairerm] computing the generalization reports" in out.stderr


def test_demo_subprocess_json_and_bad_arguments():
    as_json = _run_demo("--n-train", "500", "--json")
    assert as_json.returncode == 0 and as_json.stderr == ""
    result = json.loads(as_json.stdout)
    assert result["generalization_report"]["method"] == "pac-bayes" and result["holdout_report"]["method"] == "holdout"
    assert result["warmup_seconds"] > 0 and all(row["fit_seconds"] >= 0 for row in result["models"])
    for key in ("risk_bound", "deo_bound", "empirical_risk", "empirical_deo", "vacuous_risk", "majority_error"):
        assert key in result["generalization_report"] and key in result["holdout_report"]
    bad = _run_demo("--n-train", "five")
    assert bad.returncode == 2 and "--n-train must be an integer" in bad.stderr


def test_bad_arguments():
    with pytest.raises(SystemExit):
        main(["demo", "--n-train", "five"])
    with pytest.raises(SystemExit):
        main(["demo", "--dataset", "mnist"])
    assert "reproduce" in build_parser().format_help()


def test_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "fairerm", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "demo" in out.stdout
