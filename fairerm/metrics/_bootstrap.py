r"""Percentile bootstrap confidence intervals of any metric over the rows of a test sample.

A metric :math:`T` evaluated on the :math:`n` rows of a test sample is an estimate of its value on
the population. The nonparametric bootstrap (Efron 1979) draws :math:`B` resamples of the rows,
with replacement, recomputes :math:`T^{*}_1, \dots, T^{*}_B`, and reads the percentile interval

.. math::

    \big[\, q_{\alpha/2}(T^{*}),\; q_{1 - \alpha/2}(T^{*}) \,\big], \qquad \alpha = 1 - \text{confidence},

with :math:`q_p` the empirical :math:`p`-quantile of the resampled values (Efron and Tibshirani 1993,
chapter 13). With ``stratify=True`` each group of ``sensitive_features`` is resampled within
itself, so every resample keeps the test sample's group sizes :math:`n_g` (the right scheme when
the group sizes were fixed by design, and it keeps small groups from vanishing in a resample).

The interval is about the sampling noise of the **test rows** only: the fitted model is held fixed.
It is approximate (its coverage tends to the nominal level as :math:`n` grows) and can be poor for a
metric that is a maximum over groups (the DEO, DDP) when the true gap is close to 0, where the
bootstrap distribution piles up on one side.

References
----------
B. Efron. "Bootstrap methods: another look at the jackknife". Annals of Statistics 7(1), 1979.
B. Efron, R. Tibshirani. *An Introduction to the Bootstrap*. Chapman & Hall, 1993.
"""

from __future__ import annotations

import functools
import inspect
import numbers
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .._validation import check_consistent_length, check_sample_weight, check_sensitive_features
from ..exceptions import FairermTypeError, FairermValueError, FairermWarning

__all__ = ["BootstrapCI", "bootstrap_ci"]


@dataclass(frozen=True)
class BootstrapCI:
    """A percentile bootstrap interval (the result of :func:`bootstrap_ci`).

    Attributes
    ----------
    estimate : float
        The metric on the whole test sample.
    low, high : float
        The interval's ends, the :math:`\\alpha/2` and :math:`1-\\alpha/2` quantiles of ``distribution``.
    confidence : float
        The nominal level :math:`1-\\alpha`.
    n_resamples : int
        Resamples drawn.
    n_failed : int
        Resamples on which the metric failed: it raised a ``ValueError`` (e.g. a group without
        positives) or returned a value that is not finite (NaN, e.g. ``zero_division=np.nan``, or
        infinite); they are left out of ``distribution``.
    stratified : bool
        Whether each group was resampled within itself.
    distribution : ndarray
        The metric on each successful resample (all finite).
    """

    estimate: float
    low: float
    high: float
    confidence: float
    n_resamples: int
    n_failed: int
    stratified: bool
    distribution: np.ndarray = field(repr=False)

    @property
    def width(self) -> float:
        """``high - low``."""
        return self.high - self.low

    def __iter__(self):
        """``estimate, low, high = bootstrap_ci(...)``."""
        return iter((self.estimate, self.low, self.high))

    def __str__(self) -> str:
        return f"{self.estimate:.3f} [{self.low:.3f}, {self.high:.3f}] ({100 * self.confidence:g} % bootstrap)"


_BY_KEYWORD = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _accepts(metric: Callable, keyword: str) -> bool:
    """Whether ``metric(..., keyword=value)`` is a valid call: a parameter of that name that can be passed by
    keyword, or ``**kwargs``. ``inspect.signature`` sees through ``functools.partial`` (bound arguments
    removed), ``functools.wraps`` decorators and callable objects (their ``__call__``)."""
    try:
        parameters = inspect.signature(metric).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature: assume they do (a wrong guess raises a
        return True                  # TypeError on the first call, it is never silent)
    return any((p.name == keyword and p.kind in _BY_KEYWORD) or p.kind is inspect.Parameter.VAR_KEYWORD
               for p in parameters)


def _metric_name(metric: Callable) -> str:
    target = metric.func if isinstance(metric, functools.partial) else metric
    name = getattr(target, "__qualname__", None) or getattr(target, "__name__", None) or type(target).__name__
    return f"functools.partial({name}, ...)" if isinstance(metric, functools.partial) else name


def _as_rows_named(values: Any, name: str) -> Any:
    """``values`` as rows (pandas kept, else an array), refusing None and scalars by name."""
    if values is None:
        raise FairermValueError(f"{name} is required; got None.")
    rows = _as_rows(values)
    if np.ndim(rows) == 0:
        raise FairermValueError(f"{name} must be an array-like with one entry per sample (1-D, or 2-D with one "
                                f"column per model); got the scalar {values!r} of type {type(values).__name__}.")
    return rows


def _take(values: Any, rows: np.ndarray) -> Any:
    if hasattr(values, "iloc"):  # pandas: positional rows, a fresh index (metrics must not align on it)
        return values.iloc[rows].reset_index(drop=True)
    return values[rows]


def _as_rows(values: Any) -> Any:
    return values if hasattr(values, "iloc") else np.asarray(values)


def _check_arguments(metric, n_resamples, confidence, stratify) -> None:
    if not callable(metric):
        raise FairermTypeError(f"metric must be a callable metric(y_true, y_pred, ...); got {type(metric).__name__}.")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, numbers.Integral) or n_resamples < 1:
        raise FairermValueError(f"n_resamples must be a positive integer; got {n_resamples!r}.")
    if (isinstance(confidence, bool) or not isinstance(confidence, numbers.Real)
            or not 0.0 < float(confidence) < 1.0):
        raise FairermValueError(f"confidence must be a number strictly between 0 and 1 (e.g. 0.95); "
                                f"got {confidence!r}.")
    if not isinstance(stratify, (bool, np.bool_)):
        raise FairermTypeError(f"stratify must be True or False; got {stratify!r}.")


def bootstrap_ci(metric: Callable[..., float], y_true: Any, y_pred: Any, *, sensitive_features: Any = None,
                 sample_weight: Any = None, n_resamples: int = 1000, confidence: float = 0.95, stratify: bool = False,
                 random_state: Any = None) -> BootstrapCI:
    r"""Percentile bootstrap confidence interval of ``metric`` over the rows of a test sample.

    Draws ``n_resamples`` resamples of the :math:`n` rows with replacement (within each group when
    ``stratify=True``), evaluates ``metric`` on each, and returns the :math:`\alpha/2` and
    :math:`1-\alpha/2` quantiles of the resampled values, :math:`\alpha = 1 - \text{confidence}`
    (Efron and Tibshirani 1993). The model is held fixed: only the sampling noise of the test
    rows is measured.

    Parameters
    ----------
    metric : callable
        ``metric(y_true, y_pred, **kwargs) -> float``. It receives ``sensitive_features=`` (the
        resampled rows) when ``sensitive_features`` is given and ``metric`` accepts that keyword
        (so ``sklearn.metrics.accuracy_score`` and
        :func:`~fairerm.metrics.equal_opportunity_difference` both work), and ``sample_weight=``
        likewise.
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels (or scores, for a metric that takes scores).
    sensitive_features : array-like of shape (n_samples,) or DataFrame, optional
        The group of each row (several columns: intersectional groups). Needed for ``stratify``.
    sample_weight : array-like of shape (n_samples,), optional
        Passed on as ``sample_weight=``, resampled with the rows. ``metric`` must accept that
        keyword (or ``**kwargs``): weights it cannot take are refused, not dropped, since the
        interval would otherwise be the unweighted one.
    n_resamples : int, default=1000
    confidence : float, default=0.95
        Strictly between 0 and 1.
    stratify : bool, default=False
        Resample each group within itself (keeps every group's size).
    random_state : int, numpy Generator or None
        Seeds the resampling (``numpy.random.default_rng(random_state)``): the same seed gives the
        same interval.

    Returns
    -------
    BootstrapCI
        ``estimate``, ``low``, ``high`` (also unpackable as a triple), ``distribution``,
        ``n_failed``.

    Raises
    ------
    ValueError
        ``n_resamples`` not a positive integer, ``confidence`` outside (0, 1), ``y_true`` or
        ``y_pred`` None or a scalar, inconsistent lengths, an empty sample, ``stratify=True``
        without ``sensitive_features``, the metric failing (raising a ``ValueError``, or giving
        NaN or an infinite value) on the whole sample, or failing on every resample.
    TypeError
        ``metric`` not callable, ``stratify`` not a bool, or ``sample_weight`` given to a metric
        that takes no ``sample_weight`` keyword.

    Warns
    -----
    FairermWarning
        When the metric failed on some resamples: it raised a ``ValueError`` or gave a value that
        is not finite (NaN or infinite). They are left out, and ``n_failed`` counts them.

    Notes
    -----
    The interval is approximate: its coverage tends to the nominal level as the sample grows. It
    can be poor for a gap that is an absolute value or a maximum over groups (DEO, DDP) when the
    true gap is near 0, where the resampled gaps fold onto one side; compare models through a
    signed gap, or the paired difference of two models' metrics on the same resampled rows
    (pass both predictions as the columns of ``y_pred``, notebook 07).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.metrics import accuracy_score
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 500)
    >>> pred = np.where(rng.random(500) < 0.8, y, 1 - y)
    >>> ci = bootstrap_ci(accuracy_score, y, pred, n_resamples=200, random_state=0)
    >>> ci.low < ci.estimate < ci.high
    True
    """
    _check_arguments(metric, n_resamples, confidence, stratify)
    true, pred = _as_rows_named(y_true, "y_true"), _as_rows_named(y_pred, "y_pred")
    n = check_consistent_length(y_true=true, y_pred=pred)
    if n == 0:
        raise FairermValueError("y_true is empty; a bootstrap needs at least one row.")
    weights = check_sample_weight(sample_weight, n, reference="y_true")
    if weights is not None and not _accepts(metric, "sample_weight"):
        raise FairermTypeError(
            f"sample_weight was given, but metric {_metric_name(metric)} takes no sample_weight keyword (its "
            f"signature has neither sample_weight nor **kwargs): the weights would be ignored and the interval "
            f"would be the unweighted one. Pass a metric that takes sample_weight=, or drop sample_weight."
        )
    groups = None
    if sensitive_features is not None:
        sensitive = _as_rows(sensitive_features)
        groups = check_sensitive_features(sensitive, n, min_groups=1, reference="y_true").codes
    elif stratify:
        raise FairermValueError("stratify=True resamples within the groups: pass sensitive_features as well.")
    pass_groups = sensitive_features is not None and _accepts(metric, "sensitive_features")
    pass_weights = weights is not None

    def evaluate(rows: np.ndarray | None) -> float:
        kwargs = {}
        if pass_groups:
            kwargs["sensitive_features"] = sensitive if rows is None else _take(sensitive, rows)
        if pass_weights:
            kwargs["sample_weight"] = weights if rows is None else weights[rows]
        if rows is None:
            return float(metric(true, pred, **kwargs))
        return float(metric(_take(true, rows), _take(pred, rows), **kwargs))

    estimate = evaluate(None)
    if not np.isfinite(estimate):
        raise FairermValueError(f"metric gave {estimate!r} on the whole sample; the estimate is undefined, so there "
                                "is no interval around it.")
    rng = np.random.default_rng(random_state)
    members = [np.flatnonzero(groups == code) for code in np.unique(groups)] if stratify else None
    values, raised, non_finite = [], 0, 0
    for _ in range(int(n_resamples)):
        if stratify:
            rows = np.concatenate([rng.choice(m, size=m.size, replace=True) for m in members])
        else:
            rows = rng.integers(0, n, size=n)
        try:
            value = evaluate(rows)
        except ValueError:
            raised += 1
            continue
        if np.isfinite(value):
            values.append(value)
        else:  # NaN ("undefined", e.g. zero_division=np.nan) or inf: a failed resample, as a ValueError is
            non_finite += 1
    failed = raised + non_finite
    how = " and ".join(([f"raised a ValueError on {raised}"] if raised else [])
                       + ([f"gave NaN or an infinite value on {non_finite}"] if non_finite else []))
    if not values:
        raise FairermValueError(f"metric failed on all {n_resamples} resamples (it {how}; e.g. a group without "
                                "positives in every resample); try stratify=True or a metric defined on small samples.")
    if failed:
        warnings.warn(FairermWarning(f"metric failed on {failed} of {n_resamples} resamples (it {how}); they are "
                                     "left out of the interval (see n_failed)."), stacklevel=2)
    distribution = np.asarray(values)
    alpha = 1.0 - float(confidence)
    low, high = np.quantile(distribution, [alpha / 2, 1 - alpha / 2])
    return BootstrapCI(estimate, float(low), float(high), float(confidence), int(n_resamples), failed, bool(stratify),
                       distribution)
