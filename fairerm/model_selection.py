r"""Model selection with fairness: scorers for DEO/DDP and "best accuracy subject to DEO <= t".

For a classifier :math:`h` and a validation fold, the scorers measure

.. math::

    \mathrm{DEO}(h) = \max_g P(h=1 \mid y=1, s=g) - \min_g P(h=1 \mid y=1, s=g), \qquad
    \mathrm{DDP}(h) = \max_g P(h=1 \mid s=g) - \min_g P(h=1 \mid s=g),

(for two groups :math:`|\cdot_a - \cdot_b|`, Donini et al. 2018) and the equalized-odds gap
(the larger of the TPR and FPR gaps), estimated on the fold. The selection rule of
:class:`BestAccuracyUnderFairness` picks, among the candidates of a grid search,

.. math:: \hat\theta = \arg\max_{\theta:\ \overline{\mathrm{DEO}}(\theta) \le t} \overline{\mathrm{Acc}}(\theta),

where the bars are means over the cross-validation folds and :math:`t` the allowed unfairness;
if no candidate satisfies the constraint it falls back to the fairest candidate.

The scorers need ``sensitive_features`` of the validation rows. scikit-learn's metadata routing
carries it: enable routing (``sklearn.set_config(enable_metadata_routing=True)``), ask the
estimator for it (``set_fit_request(sensitive_features=True)``) and pass
``sensitive_features=...`` to ``GridSearchCV.fit`` / ``cross_validate(params=...)``; the scorers
made here already request it. The splitter then slices it with ``X`` and ``y``.

Examples
--------
>>> import sklearn
>>> from sklearn.model_selection import GridSearchCV
>>> from fairerm import FairLinearSVC
>>> from fairerm.datasets import make_synthetic
>>> from fairerm.model_selection import BestAccuracyUnderFairness, fairness_scoring
>>> d = make_synthetic(200, include_sensitive=False, random_state=0)
>>> with sklearn.config_context(enable_metadata_routing=True):
...     search = GridSearchCV(FairLinearSVC().set_fit_request(sensitive_features=True),
...                           {"epsilon": [0.0, 1.0]}, scoring=fairness_scoring(),
...                           refit=BestAccuracyUnderFairness(0.1), cv=3)
...     _ = search.fit(d.data, d.target, sensitive_features=d.sensitive)
>>> sorted(search.best_params_)
['epsilon']

References
----------
M. Donini, L. Oneto, S. Ben-David, J. Shawe-Taylor, M. Pontil. "Empirical Risk Minimization
Under Fairness Constraints". NeurIPS 2018. arXiv:1802.08626.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal, Mapping, Sequence

import numpy as np
import sklearn
from sklearn.metrics import make_scorer

from ._validation import check_option, check_scalar
from .exceptions import FairermTypeError, FairermValueError, FairermWarning
from .metrics import demographic_parity_difference, equal_opportunity_difference, equalized_odds_difference

__all__ = ["make_fairness_scorer", "fairness_scoring", "BestAccuracyUnderFairness", "FAIRNESS_METRICS"]

#: Short names of the fairness gaps and the metric functions that compute them.
FAIRNESS_METRICS = {
    "deo": equal_opportunity_difference,
    "ddp": demographic_parity_difference,
    "equalized_odds": equalized_odds_difference,
}


def make_fairness_scorer(metric: Literal["deo", "ddp", "equalized_odds"] = "deo", *,
                         greater_is_better: bool = False, pos_label: Any = None):
    """A scikit-learn scorer of a fairness gap that requests ``sensitive_features``.

    Parameters
    ----------
    metric : {"deo", "ddp", "equalized_odds"}, default="deo"
        Difference of equal opportunity, of demographic parity, or the equalized-odds gap
        (module docstring).
    greater_is_better : bool, default=False
        With ``False`` (scikit-learn's convention for losses) the scorer returns the *negated*
        gap, so larger is better and ``GridSearchCV`` maximises it; with ``True`` it returns the
        gap itself (in :math:`[0, 1]`), handy for reports.
    pos_label : optional
        The positive class (default: the larger of the two labels in sorted order, the estimators'
        ``classes_[1]``; scikit-learn's metrics default to ``pos_label=1`` instead, which differs for
        labels such as {1, 2}).

    Returns
    -------
    scorer : callable ``scorer(estimator, X, y, sensitive_features=...)``
        Its score request for ``sensitive_features`` is set, so metadata routing passes the
        validation rows' groups (routing must be enabled when it is used).
    """
    check_option(metric, "metric", tuple(FAIRNESS_METRICS))
    if not isinstance(greater_is_better, bool):
        raise FairermTypeError(f"greater_is_better must be True or False; got {greater_is_better!r}.")
    kwargs = {} if pos_label is None else {"pos_label": pos_label}
    scorer = make_scorer(FAIRNESS_METRICS[metric], greater_is_better=greater_is_better, **kwargs)
    with sklearn.config_context(enable_metadata_routing=True):
        scorer.set_score_request(sensitive_features=True)
    return scorer


def fairness_scoring(metrics: Sequence[str] = ("deo", "ddp"), *, accuracy: bool = True) -> dict:
    """A ``scoring=`` dict for ``GridSearchCV`` / ``cross_validate``: accuracy and fairness gaps.

    Parameters
    ----------
    metrics : sequence of {"deo", "ddp", "equalized_odds"}, default=("deo", "ddp")
    accuracy : bool, default=True
        Include ``"accuracy"`` (scikit-learn's accuracy scorer).

    Returns
    -------
    dict
        ``{"accuracy": "accuracy", "deo": <scorer>, ...}``; the fairness scorers return the
        negated gap (see :func:`make_fairness_scorer`), so ``cv_results_["mean_test_deo"]`` is
        :math:`-\\overline{\\mathrm{DEO}}`.
    """
    if isinstance(metrics, str):
        metrics = (metrics,)
    scoring: dict[str, Any] = {"accuracy": "accuracy"} if accuracy else {}
    for metric in metrics:
        scoring[metric] = make_fairness_scorer(metric)
    if not scoring:
        raise FairermValueError("fairness_scoring needs at least one metric or accuracy=True; got neither.")
    return scoring


class BestAccuracyUnderFairness:
    r"""``refit=`` rule for ``GridSearchCV``: the most accurate candidate whose mean gap is <= ``threshold``.

    Called with ``cv_results_``, returns the index of

    .. math:: \arg\max_{\theta:\ \overline{U}(\theta) \le t} \overline{\mathrm{Acc}}(\theta),

    with :math:`\overline{U}` the mean over folds of the fairness gap named ``fairness`` and
    :math:`t` = ``threshold``; ties in accuracy go to the fairer candidate, then the first one.
    If **no** candidate has :math:`\overline{U} \le t`, it returns the fairest candidate (the
    smallest :math:`\overline{U}`, ties to the more accurate) and warns with a
    :class:`~fairerm.exceptions.FairermWarning` naming the smallest gap found.

    The gap is read as the absolute value of ``cv_results_["mean_test_<fairness>"]``, so scorers
    that return the gap or its negation (:func:`make_fairness_scorer`) both work.

    Parameters
    ----------
    threshold : float in [0, 1]
        Largest acceptable mean gap :math:`t`.
    fairness : str, default="deo"
        Key of the fairness scorer in the ``scoring`` dict.
    accuracy : str, default="accuracy"
        Key of the accuracy scorer in the ``scoring`` dict.

    Examples
    --------
    >>> rule = BestAccuracyUnderFairness(0.05)
    >>> rule({"mean_test_accuracy": [0.9, 0.85, 0.8], "mean_test_deo": [-0.2, -0.04, -0.01]})
    1
    """

    def __init__(self, threshold: float, *, fairness: str = "deo", accuracy: str = "accuracy"):
        self.threshold = check_scalar(threshold, "threshold", low=0.0, high=1.0)
        if not isinstance(fairness, str) or not isinstance(accuracy, str):
            raise FairermTypeError(f"fairness and accuracy must be scorer names (str); got {fairness!r}, {accuracy!r}.")
        self.fairness = fairness
        self.accuracy = accuracy

    def __repr__(self) -> str:
        return f"BestAccuracyUnderFairness({self.threshold!r}, fairness={self.fairness!r}, accuracy={self.accuracy!r})"

    def _column(self, cv_results: Mapping[str, Any], name: str) -> np.ndarray:
        key = f"mean_test_{name}"
        if key not in cv_results:
            available = sorted(k[len("mean_test_"):] for k in cv_results if k.startswith("mean_test_"))
            raise FairermValueError(
                f"cv_results_ has no {key!r}: the scoring dict must contain a scorer named {name!r}; "
                f"scorers found: {available!r}. Use scoring=fairness_scoring() or rename with fairness=/accuracy=."
            )
        return np.asarray(cv_results[key], dtype=float)

    def __call__(self, cv_results: Mapping[str, Any]) -> int:
        accuracy = self._column(cv_results, self.accuracy)
        gap = np.abs(self._column(cv_results, self.fairness))
        valid = np.isfinite(accuracy) & np.isfinite(gap)
        if not np.any(valid):
            raise FairermValueError("every candidate has a NaN mean accuracy or gap (did each fit fail?).")
        feasible = valid & (gap <= self.threshold)
        if np.any(feasible):
            candidates = np.flatnonzero(feasible)
            order = np.lexsort((candidates, gap[candidates], -accuracy[candidates]))
            return int(candidates[order[0]])
        candidates = np.flatnonzero(valid)
        order = np.lexsort((candidates, -accuracy[candidates], gap[candidates]))
        best = int(candidates[order[0]])
        warnings.warn(
            FairermWarning(
                f"no candidate has a mean {self.fairness} <= {self.threshold:g} (the smallest is {gap[best]:.4g}); "
                f"selected the fairest candidate (index {best}) instead. Loosen the threshold or add stricter "
                "candidates (smaller epsilon) to the grid."
            ),
            stacklevel=2,
        )
        return best

