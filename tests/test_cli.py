import json
import subprocess
import sys

import pytest

from fairerm.cli import build_parser, main


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
    for key in ("empirical_risk", "risk_bound", "empirical_fairness", "fairness_bound", "delta"):
        assert key in report
    assert report["risk_bound"] >= report["empirical_risk"]
    holdout = result["holdout_report"]
    assert holdout["risk_bound"] >= holdout["empirical_risk"] and holdout["delta"] == 0.05


def test_demo_table_is_readable(capsys):
    assert main(["demo", "--dataset", "synthetic", "--n-train", "300"]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "DEO" in out and "DDP" in out
    assert "Generalization report" in out


def test_bad_arguments():
    with pytest.raises(SystemExit):
        main(["demo", "--n-train", "five"])
    with pytest.raises(SystemExit):
        main(["demo", "--dataset", "mnist"])
    assert "reproduce" in build_parser().format_help()


def test_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "fairerm", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "demo" in out.stdout
