"""The Sphinx documentation builds with warnings as errors (``-W``), and renders in a browser.

The build reads the notebooks without executing them (``FAIRERM_DOCS_EXECUTE=off``):
tests/test_notebooks.py already runs them, and the docs check is about the markup of the pages
and of every public docstring (numpydoc + autodoc). Where Debian's MathJax (``libjs-mathjax``) is
installed the build points the pages at it (``FAIRERM_DOCS_MATHJAX``, docs/conf.py), so that they
render offline; where Chromium is installed too, docs/check_site.py renders the index and API pages
headless and fails on a broken page, a missing image or unrendered maths (skipped otherwise).
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
DEBIAN_MATHJAX = Path("/usr/share/javascript/mathjax/MathJax.js")


def _local_mathjax() -> str | None:
    given = os.environ.get("FAIRERM_DOCS_MATHJAX")
    return given if given else (str(DEBIAN_MATHJAX) if DEBIAN_MATHJAX.is_file() else None)


@pytest.fixture(scope="module")
def built_site(tmp_path_factory):
    out = tmp_path_factory.mktemp("html")
    env = dict(os.environ, FAIRERM_DOCS_EXECUTE="off", MPLBACKEND="Agg")
    if _local_mathjax():
        env["FAIRERM_DOCS_MATHJAX"] = _local_mathjax()
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
                   "metrics.equal_opportunity_difference", "metrics.bootstrap_ci", "plotting.plot_pareto_front",
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


def _site_checker():
    sys.path.insert(0, str(DOCS))
    try:
        import check_site
    finally:
        sys.path.remove(str(DOCS))
    if check_site.find_chromium() is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium); the browser check is skipped")
    return check_site


def test_index_and_api_pages_render_in_headless_chromium(built_site):
    check_site = _site_checker()
    if _local_mathjax() is None:
        pytest.skip("no local MathJax (Debian: apt-get install libjs-mathjax): offline, the CDN's cannot load")
    proc, out = built_site
    assert proc.returncode == 0, proc.stderr[-2000:]
    reports = check_site.check_site(out, ["index.html", "api.html"])
    assert [problem for report in reports for problem in report.problems] == []
    api = reports[1]
    assert api.n_maths > 100  # the API page's docstrings open with their maths: all of it was typeset


@pytest.mark.slow
def test_every_top_level_page_renders_in_headless_chromium(built_site):
    check_site = _site_checker()
    if _local_mathjax() is None:
        pytest.skip("no local MathJax (Debian: apt-get install libjs-mathjax)")
    _, out = built_site
    pages = sorted(p.name for p in out.glob("*.html") if p.name not in ("genindex.html", "search.html"))
    pages += sorted(f"notebooks/{p.name}" for p in (out / "notebooks").glob("*.html"))
    reports = check_site.check_site(out, pages)
    assert [problem for report in reports for problem in report.problems] == []


def test_the_browser_check_fails_on_a_missing_image_raw_maths_and_a_broken_link(tmp_path):
    """The check itself, attacked: a page with each fault must be reported, a clean page must not."""
    check_site = _site_checker()
    pixel = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                          "1f15c4890000000d49444154789c6300010000050001a5f645400000000049454e44ae426082")
    (tmp_path / "pixel.png").write_bytes(pixel)
    body = "<p>{}</p>" + "<p>text of the page, long enough to count as content.</p>"
    pages = {
        "clean.html": body.format('<img src="pixel.png"> <a href="clean.html#top">here</a>'),
        "broken.html": body.format('<img src="missing.png"> <span class="math notranslate nohighlight">\\(x^2\\)'
                                   '</span> <a href="nowhere.html">a page that is not there</a>'),
        "empty.html": "",
    }
    for name, content in pages.items():
        (tmp_path / name).write_text(f'<!DOCTYPE html><html><head><title>t</title></head><body>'
                                     f'<div role="main">{content}</div></body></html>', encoding="utf-8")
    reports = {r.page: r for r in check_site.check_site(tmp_path, list(pages) + ["absent.html"])}
    assert reports["clean.html"].ok, reports["clean.html"].problems
    assert reports["clean.html"].n_images == 1
    broken = reports["broken.html"].problems
    assert any("image 'missing.png' did not load" in p for p in broken), broken
    assert any("1 of 1 maths elements not typeset" in p for p in broken), broken
    assert any("link 'nowhere.html' points to a missing file" in p for p in broken), broken
    assert any("no main content" in p for p in reports["empty.html"].problems)
    assert any("does not exist" in p for p in reports["absent.html"].problems)


def test_gallery_collects_every_notebook_figure_with_a_link(tmp_path):
    # A site of two "notebooks" (pages under notebooks/, one with two figures under two sections, one
    # without) and the gallery page: the gallery shows both figures, captioned by their sections, and
    # links to the notebook that has figures; the other is left out.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    src = tmp_path / "src"
    (src / "notebooks").mkdir(parents=True)
    for name in ("front.png", "scores.png"):
        plt.figure(figsize=(1, 1))
        plt.plot([0, 1], [0, 1])
        plt.savefig(src / "notebooks" / name)
        plt.close("all")
    (src / "conf.py").write_text(f"import sys\nsys.path.insert(0, {str(DOCS)!r})\nextensions = ['gallery_ext']\n")
    (src / "index.rst").write_text("Site\n====\n\n.. toctree::\n\n   notebooks/a\n   notebooks/b\n   gallery\n")
    (src / "notebooks" / "a.rst").write_text("Notebook A\n==========\n\nPareto front\n------------\n\n"
                                            ".. image:: front.png\n\nScores\n------\n\n.. image:: scores.png\n")
    (src / "notebooks" / "b.rst").write_text("Notebook B\n==========\n\nNo figure here.\n")
    (src / "gallery.rst").write_text("Gallery\n=======\n\n.. notebook-gallery::\n")
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-E", "-b", "html", "-q", str(src), str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    gallery = (tmp_path / "out" / "gallery.html").read_text(encoding="utf-8")
    assert gallery.count("<img") == 2
    assert "Pareto front" in gallery and "Scores" in gallery
    assert gallery.count("Open the notebook") == 1  # notebook b has no figure: no section
    assert 'href="notebooks/a.html">Open the notebook (2 figures)' in gallery
    for image in ("front.png", "scores.png"):
        assert f"_images/{image}" in gallery and (tmp_path / "out" / "_images" / image).is_file()
