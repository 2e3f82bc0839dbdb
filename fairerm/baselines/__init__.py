"""Baselines and the reproduction protocol of the FERM paper's experiments (``fairerm reproduce``).

The comparators of Donini et al. (NeurIPS 2018), with one fit / predict interface:

* :func:`linear_svm`, :func:`rbf_svm`: naive SVMs (scikit-learn);
* :class:`HardtPostProcessing`: Hardt et al. (2016) equal-opportunity thresholds (fairlearn);
* :class:`CovarianceConstrainedClassifier`: Zafar et al. (2017) covariance constraint (cvxpy);
* :class:`ExponentiatedGradientClassifier`: Agarwal et al. (2018) reductions with
  true-positive-rate parity (fairlearn), around logistic regression or a linear SVM;
* :class:`ProjectedLinearSVC`: linear FERM at :math:`\\epsilon = 0` (``FairProjection`` + liblinear);

the registry :data:`METHODS` of every method compared (FERM's included), each a :class:`Method`
with its hyperparameter grids and table rows; the protocol (:class:`SplitPlan`, :func:`load_splits`,
:func:`run_task`, :func:`select_candidate`, :func:`summarise`, :func:`paired_differences`); and
:func:`run_reproduction`, which runs it all and writes the table, the per-split records and the
plots into a folder of your choice. A method of your own joins the same table by adding a
:class:`Method` to the list (see the docs page "Reproducing the FERM paper").

fairlearn (Hardt et al., exponentiated gradient) is the optional extra
``pip install "fairerm[baselines]"``; everything else needs fairerm's own dependencies only.
"""

from ._command import ReproductionConfig, rebuild_report, run_reproduction
from ._fairlearn import ExponentiatedGradientClassifier, HardtPostProcessing
from ._methods import METHODS, Method, ProjectedLinearSVC, ferm_rbf, linear_svm, rbf_svm, select_candidate
from ._protocol import DATASETS, Split, SplitPlan, load_splits, paired_differences, run_task, summarise
from ._zafar import CovarianceConstrainedClassifier, covariance_rows

__all__ = [
    "CovarianceConstrainedClassifier",
    "DATASETS",
    "ExponentiatedGradientClassifier",
    "HardtPostProcessing",
    "METHODS",
    "Method",
    "ProjectedLinearSVC",
    "ReproductionConfig",
    "Split",
    "SplitPlan",
    "covariance_rows",
    "ferm_rbf",
    "linear_svm",
    "load_splits",
    "paired_differences",
    "rbf_svm",
    "rebuild_report",
    "run_reproduction",
    "run_task",
    "select_candidate",
    "summarise",
]
