"""Exceptions and warnings of fairerm.

Every error that fairerm raises on purpose derives from :class:`FairermError`, and
additionally from the built-in class that describes it (``ValueError`` for a bad value,
``TypeError`` for a bad type), so ``except ValueError`` keeps working for callers that do
not know about fairerm.
"""

from __future__ import annotations

from sklearn.exceptions import ConvergenceWarning as _SklearnConvergenceWarning
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

__all__ = [
    "FairermError",
    "FairermValueError",
    "FairermTypeError",
    "InfeasibleProblemError",
    "SolverNotInstalledError",
    "SolverError",
    "MemoryBudgetError",
    "DataSourceError",
    "NotFittedError",
    "FairermWarning",
    "ConvergenceWarning",
]


class FairermError(Exception):
    """Root of every exception raised on purpose by fairerm."""


class FairermValueError(FairermError, ValueError):
    """An argument has the right type but an invalid value."""


class FairermTypeError(FairermError, TypeError):
    """An argument has the wrong type."""


class InfeasibleProblemError(FairermValueError):
    """The optimisation problem, as stated, has no feasible point."""


class SolverNotInstalledError(FairermError, ImportError):
    """An optional solver backend is requested but its package is not installed."""


class SolverError(FairermError, RuntimeError):
    """A numerical solver failed outright (not merely an early stop)."""


class MemoryBudgetError(FairermValueError, MemoryError):
    """A computation would need more memory than is available; refused up front."""


class DataSourceError(FairermError, OSError):
    """A dataset could not be obtained from any of its sources, or failed verification."""


class NotFittedError(FairermError, _SklearnNotFittedError):
    """An estimator was used before ``fit``."""


class FairermWarning(UserWarning):
    """Base class of fairerm's warnings."""


class ConvergenceWarning(FairermWarning, _SklearnConvergenceWarning):
    """A solver stopped before meeting its tolerance; the message carries its status."""
