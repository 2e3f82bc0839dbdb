"""The Sphinx documentation builds with warnings as errors (``-W``).

The build reads the notebooks without executing them (``FAIRERM_DOCS_EXECUTE=off``):
tests/test_notebooks.py already runs them, and the docs check is about the markup of the pages
and of every public docstring (numpydoc + autodoc).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("numpydoc")
pytest.importorskip("myst_nb")

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def built_site(tmp_path_factory):
    out = tmp_path_factory.mktemp("html")
    env = dict(os.environ, FAIRERM_DOCS_EXECUTE="off", MPLBACKEND="Agg")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-b", "html", "-q", str(DOCS), str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    return proc, out


def test_docs_build_without_warnings(built_site):
    proc, _ = built_site
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert "WARNING" not in proc.stderr, proc.stderr[-5000:]


def test_api_reference_has_every_public_estimator(built_site):
    _, out = built_site
    api = (out / "api.html").read_text(encoding="utf-8")
    for target in ("svm.FairLinearSVC", "svm.FairLinearSVC.fit", "svm.FairKernelSVC", "preprocessing.FairProjection",
                   "path.fair_path", "postprocessing.WassersteinFairRegressor", "regression.FairRidge",
                   "representation.FairRepresentation", "bounds.generalization_report",
                   "metrics.equal_opportunity_difference", "plotting.plot_pareto_front",
                   "model_selection.BestAccuracyUnderFairness", "datasets.make_synthetic"):
        assert f'id="fairerm.{target}"' in api, target
    assert "fairerm.svm.FairLinearSVC.set_fit_request" not in api  # scikit-learn documents its setters


def test_user_guide_has_every_notebook(built_site):
    _, out = built_site
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks
    for stem in notebooks:
        page = out / "notebooks" / f"{stem}.html"
        assert page.is_file(), stem
    guide = (out / "user_guide.html").read_text(encoding="utf-8")
    assert all(f"notebooks/{stem}.html" in guide for stem in notebooks)
    maths = (out / "maths.html").read_text(encoding="utf-8")
    assert "Wasserstein" in maths and "Sinkhorn" in maths and "FERM" in maths
