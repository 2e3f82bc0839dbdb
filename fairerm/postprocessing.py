"""Post-processing for fair regression (:class:`WassersteinFairRegressor`): the names as they were.

The implementation lives in :mod:`fairerm.regression`; this module keeps the import path
``fairerm.postprocessing`` that earlier releases documented.
"""

from .regression import (
    MIN_CALIBRATION_SAMPLES_PER_GROUP,
    WassersteinFairRegressor,
    barycenter_predictions,
    empirical_quantiles,
    randomized_cdf_levels,
)

__all__ = [
    "WassersteinFairRegressor",
    "MIN_CALIBRATION_SAMPLES_PER_GROUP",
    "randomized_cdf_levels",
    "empirical_quantiles",
    "barycenter_predictions",
]
