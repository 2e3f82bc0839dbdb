"""Baselines for the reproduction of the FERM paper's experiments (``benchmarks/reproduce_ferm.py``).

Comparators, not part of the fairerm package:

* naive linear and RBF SVMs (scikit-learn);
* :class:`HardtPostProcessing`: Hardt et al. (2016) equal-opportunity thresholds (fairlearn);
* :class:`CovarianceConstrainedClassifier`: Zafar et al. (2017) covariance constraint (cvxpy);
* :class:`ExponentiatedGradientClassifier`: Agarwal et al. (2018) reductions with
  true-positive-rate parity (fairlearn), around logistic regression or a linear SVM;

and :data:`METHODS`, the registry of every method compared (FERM's included) with its grids.
"""

from .fairlearn_ import ExponentiatedGradientClassifier, HardtPostProcessing
from .methods import METHODS, Method, ProjectedLinearSVC, select_candidate
from .zafar import CovarianceConstrainedClassifier, covariance_rows

__all__ = [
    "CovarianceConstrainedClassifier",
    "ExponentiatedGradientClassifier",
    "HardtPostProcessing",
    "METHODS",
    "Method",
    "ProjectedLinearSVC",
    "covariance_rows",
    "select_candidate",
]
