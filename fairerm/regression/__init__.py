r"""Fair regression: the Wasserstein-barycenter post-processing and fair ridge regression.

* :class:`WassersteinFairRegressor` (Chzhen et al., NeurIPS 2020): maps any regressor's
  predictions onto the Wasserstein barycenter of the groups' prediction laws, which makes them
  exactly fair under demographic parity; the maths on plain arrays is in :mod:`._barycenter`,
  the calibration sample in :mod:`._calibration`, the per-row draws in :mod:`._randomness`.
* :class:`FairRidge`: ridge regression under FERM's scalar-product demographic-parity
  constraint (Donini et al., NeurIPS 2018); its exact solver is
  :func:`fairerm.solvers.solve_fair_ridge`.

References
----------
E. Chzhen, C. Denis, M. Hebiri, L. Oneto, M. Pontil. "Fair regression with Wasserstein
barycenters". NeurIPS 2020. arXiv:2006.07286.
M. Donini, L. Oneto, S. Ben-David, J. Shawe-Taylor, M. Pontil. "Empirical Risk Minimization
Under Fairness Constraints". NeurIPS 2018. arXiv:1802.08626.
"""

from ..solvers import FairRidgeSolution, solve_fair_ridge
from ._barycenter import barycenter_predictions, empirical_quantiles, randomized_cdf_levels
from ._calibration import MIN_CALIBRATION_SAMPLES_PER_GROUP
from ._ridge import FairRidge
from ._wasserstein import WassersteinFairRegressor

__all__ = [
    "FairRidge",
    "FairRidgeSolution",
    "solve_fair_ridge",
    "WassersteinFairRegressor",
    "MIN_CALIBRATION_SAMPLES_PER_GROUP",
    "randomized_cdf_levels",
    "empirical_quantiles",
    "barycenter_predictions",
]
