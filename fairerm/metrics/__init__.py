"""Fairness metrics: classification gaps (DEO, DDP, equalized odds), per-group tables, distances
between group-conditional distributions of regression outputs or scores, and bootstrap
confidence intervals of any metric over a test sample."""

from ._bootstrap import *  # noqa: F401,F403
from ._bootstrap import __all__ as _bootstrap_all
from ._classification import *  # noqa: F401,F403
from ._classification import __all__ as _classification_all
from ._regression import *  # noqa: F401,F403
from ._regression import __all__ as _regression_all

__all__ = list(_classification_all) + list(_regression_all) + list(_bootstrap_all)
