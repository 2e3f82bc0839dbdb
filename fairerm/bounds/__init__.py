r"""Generalization bounds for fair ERM: true risk and true unfairness of the deployed classifier.

:func:`generalization_report` bounds, for a fitted linear or kernel model and an i.i.d. sample,
the true 0-1 error of the deployed classifier :math:`h(x) = \mathbf 1[f(x) > 0]`, the true gap
between groups' mean scores (the FERM theorem's linear-loss fairness quantity) and the true gap of
:math:`h` between groups' rates (DEO for equal opportunity), all holding together with probability
at least :math:`1 - \delta`. The default method is PAC-Bayesian with data-dependent priors
(:mod:`fairerm.bounds._pac_bayes`, :mod:`fairerm.bounds._gaussian`, :mod:`fairerm.bounds._kl`);
``method="rademacher"`` gives the uniform bounds of Donini et al.'s Theorem 1
(:mod:`fairerm.bounds._rademacher`, :mod:`fairerm.bounds._terms`). The derivations and every
constant: ``docs/bounds.rst``.

References
----------
M. Donini, L. Oneto, S. Ben-David, J. Shawe-Taylor, M. Pontil. "Empirical Risk Minimization
Under Fairness Constraints". NeurIPS 2018. arXiv:1802.08626.
E. Parrado-Hernandez, A. Ambroladze, J. Shawe-Taylor, S. Sun. "PAC-Bayes bounds with data
dependent priors". JMLR 13, 2012.
"""

from ._api import generalization_report
from ._report import GeneralizationReport, side_by_side

__all__ = ["generalization_report", "GeneralizationReport", "side_by_side"]
