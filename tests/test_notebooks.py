"""Execute every teaching notebook in notebooks/, and every worked-solutions notebook in
notebooks/solutions/, top to bottom; any error fails the test.

Each notebook ends with a hidden "checks" cell that asserts the claims of its text, so a result that
stops supporting the text fails here. The kernel is ``python3`` run by this interpreter
(jupyter_client substitutes ``sys.executable`` for the kernelspec's ``python``), with
``MPLBACKEND=Agg`` and the notebook's folder as working directory.

Jobs: the teaching notebooks run in the default job except those listed in ``SLOW`` (real data and
more than about 25 s each); the solutions run in the slow job (``-m slow``), so every notebook runs in
some job. Measured kernel CPU time (about the wall time on a quiet 2-core machine, plus 1-2 s of
kernel start each): notebooks 01-05, 08, 09 about 60 s together, 06 about 40 s, 07 about 26 s; the
nine solutions about 130 s together (06's 51 s, 04's 22 s, 07's 21 s).
"""

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
SOLUTION_DIR = NOTEBOOK_DIR / "solutions"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
SOLUTIONS = sorted(SOLUTION_DIR.glob("*.ipynb"))
SLOW = {"06_fair_representations", "07_case_study_adult"}


def _param(path, slow):
    return pytest.param(path, id=path.stem, marks=[pytest.mark.slow] if slow else [])


def test_the_teaching_notebooks_are_there():
    names = [path.stem for path in NOTEBOOKS]
    for topic in ("fairness_notions", "linear_ferm", "kernel_ferm", "generalization", "wasserstein", "representation",
                  "case_study", "pitfalls", "groups"):
        assert any(topic in name for name in names), (topic, names)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_notebook_has_exercises_solutions_and_a_checks_cell(path):
    notebook = nbformat.read(path, as_version=4)
    text = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert "## Exercises" in text, f"{path.name}: no exercises"
    assert (SOLUTION_DIR / f"{path.stem}_solutions.ipynb").is_file(), f"{path.name}: no solutions notebook"
    last = notebook.cells[-1]
    assert last.cell_type == "code" and "remove-input" in last.metadata.get("tags", []), f"{path.name}: no checks cell"
    assert "assert" in last.source


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=[p.stem for p in NOTEBOOKS + SOLUTIONS])
def test_notebook_is_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: clear the outputs"


def _execute(path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=300, startup_timeout=180, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    errors = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
              if output.output_type == "error"]
    assert errors == []
    assert sum(cell.cell_type == "code" and len(cell.outputs) > 0 for cell in notebook.cells) >= 2


@pytest.mark.parametrize("path", [_param(p, p.stem in SLOW) for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path, monkeypatch):
    _execute(path, monkeypatch)


@pytest.mark.parametrize("path", [_param(p, True) for p in SOLUTIONS])
def test_solutions_run_top_to_bottom(path, monkeypatch):
    _execute(path, monkeypatch)
