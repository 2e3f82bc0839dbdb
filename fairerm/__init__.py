"""fairerm: convex solvers for fair empirical risk minimization.

Three published methods behind one scikit-learn-style API:

* FERM (Donini et al., NeurIPS 2018): linear and kernel SVMs under a scalar-product fairness
  constraint (:class:`FairProjection`, :class:`FairLinearSVC`, :class:`FairKernelSVC`);
* fair regression with Wasserstein barycenters (Chzhen et al., NeurIPS 2020):
  :class:`WassersteinFairRegressor`;
* MMD / Sinkhorn fair representation learning (Oneto et al., NeurIPS 2020):
  :class:`FairRepresentation` (optional ``torch`` extra);

plus :func:`generalization_report`, high-probability bounds on the true risk and the true
fairness violation of a fitted model.

Heavy modules (cvxpy, numba, torch) are imported lazily, on first use of the name.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "FairProjection": "fairerm.preprocessing",
    "FairLinearSVC": "fairerm.svm",
    "FairKernelSVC": "fairerm.svm",
    "fair_path": "fairerm.path",
    "FairPath": "fairerm.path",
    "WassersteinFairRegressor": "fairerm.regression",
    "FairRidge": "fairerm.regression",
    "FairRepresentation": "fairerm.representation",
    "generalization_report": "fairerm.bounds",
    "GeneralizationReport": "fairerm.bounds",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fairerm' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
