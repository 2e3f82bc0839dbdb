r"""Generalization bounds for fair ERM (Donini et al. 2018): true risk and true unfairness.

:func:`generalization_report` bounds, for a fitted linear or kernel model and an i.i.d. sample,
the true 0-1 error (through the ramp loss and a norm-based Rademacher complexity), the true
gap between groups' mean scores (the FERM theorem's linear-loss fairness quantity, through the
deviation of each group's mean embedding), and the true gap of the thresholded classifier
(DEO for equal opportunity), all holding together with probability at least :math:`1 - \delta`.
The terms and their derivations live in :mod:`fairerm.bounds._terms`.

References
----------
M. Donini, L. Oneto, S. Ben-David, J. Shawe-Taylor, M. Pontil. "Empirical Risk Minimization
Under Fairness Constraints". NeurIPS 2018. arXiv:1802.08626.
"""

from ._api import generalization_report
from ._report import GeneralizationReport

__all__ = ["generalization_report", "GeneralizationReport"]
