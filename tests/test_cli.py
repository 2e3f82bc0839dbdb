import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
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
    limits = next(i for i, line in enumerate(lines) if line.startswith("What limits it"))
    floors = lines[limits + 1].split()  # "give at best risk R, DEO D; ..."
    fixed = lines[limits + 2].split()
    assert floors[:4] == ["give", "at", "best", "risk"] and floors[5] == "DEO"
    risk_floor, deo_floor = float(floors[4].rstrip(",")), float(floors[6].rstrip(";"))
    fixed_risk, fixed_deo = float(fixed[0].rstrip(",")), float(fixed[1])
    assert 0.0 <= fixed_risk <= 1.0 and 0.0 <= fixed_deo <= 1.0 and 0.0 <= deo_floor <= 1.0
    assert risk[0] <= risk_floor <= 1.0  # the floor is a bound: at least the training error
    assert "[fairerm] warming up" in out.stderr and "[fairerm] computing the generalization reports" in out.stderr


def test_demo_subprocess_json():
    as_json = _run_demo("--n-train", "500", "--json")
    assert as_json.returncode == 0 and as_json.stderr == ""
    result = json.loads(as_json.stdout)
    assert result["generalization_report"]["method"] == "pac-bayes" and result["holdout_report"]["method"] == "holdout"
    assert result["warmup_seconds"] > 0 and all(row["fit_seconds"] >= 0 for row in result["models"])
    for key in ("risk_bound", "deo_bound", "empirical_risk", "empirical_deo", "vacuous_risk", "majority_error"):
        assert key in result["generalization_report"] and key in result["holdout_report"]


def test_bad_arguments():
    with pytest.raises(SystemExit):
        main(["demo", "--n-train", "five"])
    with pytest.raises(SystemExit):
        main(["demo", "--dataset", "mnist"])
    assert "reproduce" in build_parser().format_help()


def test_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "fairerm", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "demo" in out.stdout


# ---------------------------------------------------------------- the commands as a user runs them
ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, cwd=None, env=None, timeout=300, python_args=()):
    """``python -m fairerm ARGS`` in a subprocess (this source tree's package first on the path)."""
    environment = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    environment.update(env or {})
    return subprocess.run([sys.executable, *python_args, "-m", "fairerm", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=environment)


BAD_DEMO_OPTIONS = [
    (["--C", "-1"], "--C", "must be a finite number > 0; got '-1'"),
    (["--C", "nan"], "--C", "must be a finite number > 0; got 'nan'"),
    (["--C", "0"], "--C", "must be a finite number > 0; got '0'"),
    (["--epsilon", "-0.5"], "--epsilon", "must be a finite number >= 0; got '-0.5'"),
    (["--epsilon", "inf"], "--epsilon", "must be a finite number >= 0; got 'inf'"),
    (["--delta", "0"], "--delta", "must be a finite number > 0 and < 1; got '0'"),
    (["--delta", "1.5"], "--delta", "must be a finite number > 0 and < 1; got '1.5'"),
    (["--delta", "nan"], "--delta", "must be a finite number > 0 and < 1; got 'nan'"),
    (["--n-train", "5"], "--n-train", "must be an integer >= 10 or 'all'; got '5'"),
    (["--seed", "-3"], "--seed", "must be an integer >= 0 and <= 4294967295; got '-3'"),
    (["--seed", "99999999999"], "--seed", "must be an integer >= 0 and <= 4294967295; got '99999999999'"),
    (["--seed", "1.5"], "--seed", "must be an integer >= 0 and <= 4294967295; got '1.5'"),
    (["--plot", "front.txt"], "--plot", "the file name must end in one of .avif, .eps,"),
    (["--plot", "no/such/folder/front.png"], "--plot", "cannot write 'no/such/folder/front.png': the folder "
                                                       "no/such/folder does not exist"),
]


@pytest.mark.parametrize("argv, option, says", BAD_DEMO_OPTIONS)
def test_bad_demo_options_are_parser_errors(argv, option, says, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["demo", "--dataset", "synthetic", *argv])
    captured = capsys.readouterr()
    assert info.value.code == 2 and f"fairerm demo: error: argument {option}: {says}" in captured.err
    assert captured.out == "" and "[fairerm]" not in captured.err  # nothing was loaded or fitted


@pytest.mark.parametrize("case", [0, 6, 10, 13])
def test_bad_demo_options_as_a_user_meets_them(case, tmp_path):
    argv, option, says = BAD_DEMO_OPTIONS[case]
    out = run_cli("demo", "--dataset", "synthetic", *argv, cwd=tmp_path)
    assert out.returncode == 2 and f"fairerm demo: error: argument {option}: {says}" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and out.stdout == "" and "[fairerm]" not in out.stderr


def test_largest_seed_is_accepted_by_the_parser():
    assert build_parser().parse_args(["demo", "--seed", str(2**32 - 1)]).seed == 2**32 - 1


def _one_error_line(out, command="fairerm demo"):
    """Exit status 1, nothing on stdout, no traceback, and (``--json``: no progress lines) stderr holding
    one message, ``<command>: error: ...``; returns its first line."""
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr and out.stdout == "", out.stderr
    assert out.stderr.startswith(f"{command}: error: ") and out.stderr.count(f"{command}: error:") == 1, out.stderr
    return out.stderr.splitlines()[0]


def test_demo_on_a_sample_too_small_for_the_constraint_exits_1_with_one_message(tmp_path):
    """--n-train 10 is allowed by the parser, but the 10 rows drawn hold no positive example of group b:
    the package's own error is the message, with the option that made the sample small."""
    out = run_cli("demo", "--dataset", "synthetic", "--n-train", "10", "--json", cwd=tmp_path)
    line = _one_error_line(out)
    assert "group(s) ['b'] have no positive examples" in line
    assert "--n-train 10" in line and "a larger --n-train" in line


def test_demo_on_a_one_class_subsample_exits_1_naming_n_train(tmp_path):
    """Seed 184 draws 10 synthetic rows of class 0 only: said before any fit (was scikit-learn's traceback)."""
    out = run_cli("demo", "--dataset", "synthetic", "--n-train", "10", "--seed", "184", "--json", cwd=tmp_path)
    line = _one_error_line(out)
    assert "--n-train 10" in line and "only class 0" in line and "two classes" in line


def test_demo_without_the_dataset_offline_exits_1_with_one_message(tmp_path):
    out = run_cli("demo", "--dataset", "german", "--json", cwd=tmp_path,
                  env={"FAIRERM_DATA": str(tmp_path / "empty"), "FAIRERM_OFFLINE": "1"})
    line = _one_error_line(out)
    assert "Could not obtain german.data" in line and "--n-train" not in line


def test_demo_keeps_unexpected_errors_visible(monkeypatch):
    """Only the package's own errors become one message; anything else is a bug and keeps its traceback."""
    import fairerm.cli as cli

    def broken(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli, "run_demo", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main(["demo", "--dataset", "synthetic"])


def test_demo_error_in_process_returns_1(monkeypatch, capsys):
    import fairerm.cli as cli
    from fairerm.exceptions import FairermValueError

    def refuses(args):
        raise FairermValueError("y: something the user can fix.")

    monkeypatch.setattr(cli, "run_demo", refuses)
    assert cli.main(["demo", "--dataset", "synthetic"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "fairerm demo: error: y: something the user can fix.\n"


@pytest.mark.slow
def test_demo_plot_is_checked_then_written(tmp_path):
    out = run_cli("demo", "--dataset", "synthetic", "--n-train", "300", "--plot", "front.svg", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "front.svg").read_text().lstrip().startswith("<?xml")


@pytest.mark.slow
@pytest.mark.realdata
def test_fetch_without_names_fetches_all_three():
    out = run_cli("fetch", timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["adult", "compas", "german"]
    assert "adult: 48842 rows ready in" in lines[0] and "german: 1000 rows ready in" in lines[2]


def test_fetch_errors(tmp_path, monkeypatch, capsys):
    with pytest.raises(SystemExit) as info:
        main(["fetch", "german", "mnist"])
    assert info.value.code == 2
    assert "fairerm fetch: error: argument DATASET: must be one of adult, compas, german; got 'mnist'" in (
        capsys.readouterr().err)
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("FAIRERM_DATA", str(tmp_path / "a-file"))
    assert main(["fetch", "german"]) == 1
    assert f"fairerm fetch: error: german: Cannot cache german.data: the cache folder {tmp_path / 'a-file'} (from " \
           "FAIRERM_DATA) is a file, not a folder" in capsys.readouterr().err
    out = run_cli("fetch", "german", env={"FAIRERM_DATA": str(tmp_path / "empty"), "FAIRERM_OFFLINE": "1"})
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    assert "fairerm fetch: error: german: Could not obtain german.data" in out.stderr
    assert "unset FAIRERM_OFFLINE" in out.stderr


def test_reproduce_help_and_a_bad_option(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["reproduce", "--help"])
    out = capsys.readouterr().out
    assert info.value.code == 0 and "usage: fairerm reproduce" in out and "--output-dir" in out
    assert 'pip install "fairerm[baselines]"' in out
    out = run_cli("reproduce", "--n-jobs", "0", cwd=tmp_path)
    assert out.returncode == 2 and "fairerm reproduce: error: argument --n-jobs: must be an integer, not 0" in out.stderr
    assert "Traceback" not in out.stderr and not any(tmp_path.iterdir())


@pytest.mark.parametrize("argv, message", [
    (["--datasets", "mnist"], "argument --datasets: must be one of adult, compas, german; got 'mnist'"),
    (["--methods", "svm"], "argument --methods: must be one of linear_svm,"),
    (["--accuracy-tolerance", "2"], "argument --accuracy-tolerance: must be a finite number >= 0 and <= 1"),
    (["--cv-folds", "1"], "argument --cv-folds: must be an integer >= 2"),
    (["--seed", "99999999999"], "argument --seed: must be an integer >= 0 and <= 4294967295; got '99999999999'"),
    (["--output-dir", str(ROOT / "fairerm" / "results")], "is inside the installed fairerm package"),
    (["--output-dir", "{tmp}/file.txt"], "is a file, not a folder"),
])
def test_reproduce_bad_options_are_parser_errors(argv, message, tmp_path, capsys):
    (tmp_path / "file.txt").write_text("")
    with pytest.raises(SystemExit) as info:
        main(["reproduce", *[a.format(tmp=tmp_path) for a in argv]])
    assert info.value.code == 2 and message in capsys.readouterr().err
    assert not (ROOT / "fairerm" / "results").exists()


PLANTED = "import pathlib\npathlib.Path({marker!r}).write_text('planted code ran')\n"


@pytest.mark.realdata
def test_reproduce_from_an_installed_copy_runs_no_code_of_the_working_directory(tmp_path):
    """No source checkout: the package alone, in a folder of its own; the current folder holds a planted
    ``benchmarks/reproduce_ferm.py`` (what the old command executed) and is on ``sys.path``."""
    site = tmp_path / "site"
    shutil.copytree(ROOT / "fairerm", site / "fairerm", ignore=shutil.ignore_patterns("__pycache__"))
    work = tmp_path / "work"
    marker = tmp_path / "marker.txt"
    for relative in ("benchmarks/__init__.py", "benchmarks/reproduce_ferm.py", "benchmarks/baselines/__init__.py"):
        (work / relative).parent.mkdir(parents=True, exist_ok=True)
        (work / relative).write_text(PLANTED.format(marker=str(marker)) + "def main(argv=None):\n    return 0\n")
    out = subprocess.run(
        [sys.executable, "-c", "import sys; from fairerm.cli import main; sys.exit(main())", "reproduce", "--quick",
         "--datasets", "german", "--n-splits", "1", "--methods", "linear_svm", "ferm_linear", "--no-progress"],
        cwd=work, env=dict(os.environ, PYTHONPATH=str(site), MPLBACKEND="Agg"), capture_output=True, text=True,
        timeout=300)
    assert out.returncode == 0, out.stderr
    assert not marker.exists()
    assert sorted(p.name for p in work.iterdir() if p.is_file()) == [
        "ferm_runs_quick.csv", "ferm_scatter_german_quick.png", "ferm_table_quick.csv", "ferm_table_quick.md"]
    table = pd.read_csv(work / "ferm_table_quick.csv")
    assert list(table["method"]) == ["Naive linear SVM", "Linear SVM", "Linear FERM (eps=0)"]
    assert "| german | **Linear FERM (eps=0)** |" in out.stdout
    assert "`fairerm reproduce --quick --datasets german" in (work / "ferm_table_quick.md").read_text()
    written = [p for p in (site / "fairerm").rglob("*") if p.is_file() and "__pycache__" not in p.parts
               and p.suffix not in (".py", ".typed")]
    assert written == []  # nothing was written inside the installed package


def test_reproduce_without_fairlearn_names_the_extra_before_any_work(tmp_path):
    code = ("import sys; sys.modules['fairlearn'] = None\n"
            "from fairerm.cli import main\nsys.exit(main())")
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg", FAIRERM_DATA=str(tmp_path / "no-data"))
    out = subprocess.run([sys.executable, "-c", code, "reproduce", "--quick", "--datasets", "german"], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 1, out.stderr
    assert 'pip install "fairerm[baselines]"' in out.stderr and "Traceback" not in out.stderr
    assert "hardt_linear, expgrad_logistic, expgrad_svm, hardt_rbf need fairlearn" in out.stderr
    assert "--methods linear_svm zafar ferm_linear rbf_svm ferm_rbf" in out.stderr
    assert not (tmp_path / "no-data").exists() and not any(tmp_path.glob("ferm_*"))  # no data loaded, no file
