"""Execute every teaching notebook in notebooks/ top to bottom; any error fails the test.

The kernel is ``python3`` run by this interpreter (jupyter_client substitutes ``sys.executable``
for the kernelspec's ``python``), with ``MPLBACKEND=Agg`` and the notebooks folder as working
directory. Each notebook runs in well under a minute on 2 cores.
"""

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def test_the_teaching_notebooks_are_there():
    names = [path.stem for path in NOTEBOOKS]
    for topic in ("fairness_notions", "linear_ferm", "kernel_ferm", "generalization", "wasserstein", "representation"):
        assert any(topic in name for name in names), (topic, names)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: clear the outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=240, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    errors = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
              if output.output_type == "error"]
    assert errors == []
    assert sum(cell.cell_type == "code" and len(cell.outputs) > 0 for cell in notebook.cells) >= 2
