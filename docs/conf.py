"""Sphinx configuration of the fairerm documentation.

Build:  python -m sphinx -W -b html docs docs/_build/html   (then open docs/_build/html/index.html)

The user guide is the teaching notebooks of ``notebooks/`` (``docs/notebooks`` links there), read
by myst-nb. They are committed without outputs; ``FAIRERM_DOCS_EXECUTE`` chooses whether the build
runs them to show the figures: ``auto`` (default: run notebooks that have no outputs, about 2-3
minutes on 2 cores) or ``off`` (text and code only; what the test suite uses to check the build).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "docs"))

import fairerm  # noqa: E402

project = "fairerm"
author = "fairerm developers"
copyright = "fairerm developers"
release = fairerm.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "myst_nb",
    "gallery_ext",  # docs/gallery_ext.py: the gallery page from the executed notebooks' figures
]

# notebooks/solutions: the worked solutions of the exercises stay out of the site (tests run them)
exclude_patterns = ["_build", "**.ipynb_checkpoints", "Thumbs.db", ".DS_Store", "notebooks/solutions"]
source_suffix = {".rst": "restructuredtext", ".ipynb": "myst-nb", ".md": "myst-nb"}
master_doc = "index"

# --- autodoc / numpydoc: the API reference comes from the docstrings --------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the numpydoc "Parameters" sections already give the types
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
autodoc_mock_imports: list[str] = []
try:  # the representation module imports without torch, but mock it if a build machine lacks it
    import torch  # noqa: F401
except ImportError:  # pragma: no cover
    autodoc_mock_imports.append("torch")
numpydoc_show_class_members = False  # no autosummary tables of every inherited scikit-learn method
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

# --- notebooks ----------------------------------------------------------------------------------
nb_execution_mode = os.environ.get("FAIRERM_DOCS_EXECUTE", "auto")
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
# The notebooks' kernels inherit this process's environment: with MPLBACKEND=Agg (as CI and many shells set
# it) matplotlib in the kernel draws nothing to the page, and the user guide and the gallery lose every
# figure. The kernels always get the inline backend, which is what a reader of the site needs.
if nb_execution_mode != "off":
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
myst_enable_extensions = ["dollarmath", "amsmath"]
suppress_warnings = ["mystnb.unknown_mime_type"]

intersphinx_mapping: dict = {}

# --- maths ----------------------------------------------------------------------------------------
# By default the pages load MathJax from Sphinx's CDN (what a published site wants). For a site that
# renders offline (and for docs/check_site.py on a machine without network), FAIRERM_DOCS_MATHJAX names a
# local MathJax: a MathJax 2 "MathJax.js" (Debian's libjs-mathjax: /usr/share/javascript/mathjax/MathJax.js)
# or a MathJax 3/4 "tex-mml-chtml.js"; the pages then load it by a file:// URL.
_local_mathjax = os.environ.get("FAIRERM_DOCS_MATHJAX", "").strip()
if _local_mathjax:
    _mathjax_file = Path(_local_mathjax).expanduser().resolve()
    if not _mathjax_file.is_file():
        raise FileNotFoundError(f"FAIRERM_DOCS_MATHJAX={_local_mathjax!r} is not a file; point it at MathJax.js "
                                "(MathJax 2, e.g. Debian's libjs-mathjax) or tex-mml-chtml.js (MathJax 3/4).")
    if _mathjax_file.name == "MathJax.js":  # MathJax 2: its own configuration API
        mathjax_path = _mathjax_file.as_uri() + "?config=TeX-AMS-MML_HTMLorMML"
        mathjax2_config = {"tex2jax": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]],
                                       "processEscapes": True, "processEnvironments": False,
                                       "ignoreClass": "document", "processClass": "math|output_area"}}
    else:
        mathjax_path = _mathjax_file.as_uri()

# --- HTML ---------------------------------------------------------------------------------------
try:
    import sphinx_rtd_theme  # noqa: F401

    html_theme = "sphinx_rtd_theme"
except ImportError:  # pragma: no cover
    html_theme = "alabaster"
html_title = f"fairerm {release}"
html_static_path: list[str] = []


def _skip_metadata_request_setters(app, what, name, obj, skip, options):
    """scikit-learn generates ``set_{method}_request`` on every estimator; its own docs cover them."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_request_setters)
