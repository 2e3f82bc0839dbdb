r"""Group fairness metrics of a binary classifier.

For a binary classifier :math:`h`, true labels :math:`y`, a sensitive attribute :math:`s` with
groups :math:`g \in G` and the positive class written :math:`1`, define the per-group rates

.. math::

    \mathrm{SR}_g  = P(h = 1 \mid s = g),                \quad
    \mathrm{TPR}_g = P(h = 1 \mid y = 1, s = g),         \quad
    \mathrm{FPR}_g = P(h = 1 \mid y = 0, s = g),

estimated by the empirical frequencies on the sample. The positive class is ``pos_label``, by default the
larger of the two labels in sorted order (``classes_[1]`` of a fitted classifier). The fairness gaps are

* difference of equal opportunity (DEO, Donini et al. 2018, Definition 1 with the 0-1 loss):
  :math:`\max_g \mathrm{TPR}_g - \min_g \mathrm{TPR}_g`;
* difference of demographic parity (DDP): :math:`\max_g \mathrm{SR}_g - \min_g \mathrm{SR}_g`;
* equalized odds (Hardt et al. 2016): the larger of the TPR gap and the FPR gap.

With two groups :math:`a, b` the DEO is :math:`|\mathrm{TPR}_a - \mathrm{TPR}_b|`; with more groups
the largest pairwise gap, which is the range ``max - min``. All three lie in :math:`[0, 1]`. With
``sample_weight`` every frequency is a ratio of sums of weights (fairlearn's convention), e.g.
:math:`\mathrm{TPR}_g = \sum_{\hat y_i = 1, y_i = 1, s_i = g} w_i / \sum_{y_i = 1, s_i = g} w_i`. Several
sensitive columns make intersectional groups, the tuples of the column values.

References
----------
M. Donini, L. Oneto, S. Ben-David, J. Shawe-Taylor, M. Pontil. "Empirical Risk Minimization
under Fairness Constraints". NeurIPS 2018 (arXiv:1802.08626).
M. Hardt, E. Price, N. Srebro. "Equality of Opportunity in Supervised Learning". NeurIPS 2016.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._validation import (_as_1d_labels, check_consistent_length, check_sample_weight, check_sensitive_features,
                           sensitive_column_names)
from ..exceptions import FairermTypeError, FairermValueError

__all__ = [
    "equal_opportunity_difference",
    "demographic_parity_difference",
    "equalized_odds_difference",
    "group_table",
    "fairness_summary",
]


class _BinaryPredictions:
    """Validated ``y_true``, ``y_pred`` (as booleans: is the positive class) and group codes."""

    def __init__(self, y_true: Any, y_pred: Any, sensitive_features: Any, pos_label: Any, sample_weight: Any = None):
        true = _as_1d_labels(y_true, "y_true")
        pred = _as_1d_labels(y_pred, "y_pred")
        sensitive = _as_1d_labels(sensitive_features, "sensitive_features", multi_column=True, groups=True)
        check_consistent_length(y_true=true, y_pred=pred, sensitive_features=sensitive)
        if true.shape[0] == 0:
            raise FairermValueError("y_true is empty; at least one sample per group is needed.")
        encoding = check_sensitive_features(sensitive, true.shape[0], name="sensitive_features", reference="y_true")
        self.sample_weight = check_sample_weight(sample_weight, true.shape[0], reference="y_true")
        classes = _unique_labels(true, "y_true")
        if len(classes) > 2:
            shown = classes[:10].tolist()
            raise FairermValueError(
                f"y_true must hold two classes (a binary target); got {len(classes)}: {shown!r}"
                + (" ..." if len(classes) > 10 else "")
                + ". Binarise the target first."
            )
        true_classes = classes.tolist()
        if len(classes) == 1:
            # A one-class sample: the second label may come from y_pred or pos_label.
            classes = _unique_labels(np.asarray([*classes.tolist(), *_unique_labels(pred, "y_pred").tolist(),
                                                 *([] if pos_label is None else [pos_label])], dtype=object),
                                     "y_pred")
            if len(classes) > 2:
                raise FairermValueError(
                    f"y_true, y_pred and pos_label together hold {len(classes)} labels {classes.tolist()!r}; "
                    "a binary classifier uses two."
                )
            if pos_label is None:
                raise FairermValueError(
                    f"y_true holds a single class {true_classes!r}, so the positive class is "
                    "ambiguous; pass pos_label=<the positive label>."
                )
        if pos_label is None:
            pos_label = classes[-1]
        elif pos_label not in classes.tolist():
            raise FairermValueError(f"pos_label={pos_label!r} is not one of the classes {classes.tolist()!r}.")
        unknown = _labels_outside(pred, classes)
        if unknown:
            raise FairermValueError(
                f"y_pred holds labels {unknown[:10]!r} that are not classes of y_true {classes.tolist()!r}; "
                "the predictions must use the same two labels as the targets."
            )
        self.classes = classes
        self.pos_label = pos_label
        self.true_positive = true == pos_label
        self.pred_positive = pred == pos_label
        self.codes = encoding.codes
        self.groups = encoding.groups
        self.column_names = sensitive_column_names(sensitive_features)
        # Only a Series or an Index has a name that labels it: ``.name`` of a DataFrame is its column "name", if any.
        self.name = sensitive_features.name if isinstance(sensitive_features, (pd.Series, pd.Index)) else None

    def index(self) -> pd.Index:
        """The groups as a table index: a MultiIndex named after the columns for several columns (fairlearn's
        ``MetricFrame.by_group``), else an Index named after a named Series (or ``"group"``)."""
        if self.column_names is not None:
            return pd.MultiIndex.from_tuples(self.groups.tolist(), names=self.column_names)
        return pd.Index(self.groups, name=self.name if self.name is not None else "group")

    def counts(self, mask: np.ndarray) -> np.ndarray:
        """Number (with ``sample_weight``: total weight) of the samples of each group where ``mask`` holds."""
        weights = None if self.sample_weight is None else self.sample_weight[mask]
        return np.bincount(self.codes[mask], weights=weights, minlength=len(self.groups))

    def rate(self, event: np.ndarray, condition: np.ndarray, rate_name: str, condition_name: str) -> np.ndarray:
        """``P(event | condition, s = g)`` for every group; raise if a group never meets the condition."""
        denominators = self.counts(condition)
        empty = np.flatnonzero(denominators == 0)
        if empty.size:
            groups = self.groups[empty].tolist()
            weighted = " and a positive sample_weight" if self.sample_weight is not None else ""
            raise FairermValueError(
                f"The {rate_name} is undefined for sensitive_features group(s) {groups!r}: they have no sample "
                f"with {condition_name}{weighted}. Merge or drop those groups, or use a metric that does not need "
                f"{rate_name}."
            )
        return self.counts(event & condition) / denominators


def _unique_labels(values: np.ndarray, name: str) -> np.ndarray:
    try:
        return np.unique(values)
    except TypeError as exc:
        raise FairermTypeError(f"{name} mixes label types that cannot be compared ({exc}); use one type.") from exc


def _labels_outside(values: np.ndarray, classes: np.ndarray) -> list:
    allowed = set(classes.tolist())
    return sorted({v for v in _unique_labels(values, "y_pred").tolist() if v not in allowed}, key=repr)


def _gap(rates: np.ndarray) -> float:
    return float(np.max(rates) - np.min(rates))


def equal_opportunity_difference(y_true: Any, y_pred: Any, *, sensitive_features: Any, pos_label: Any = None,
                                 sample_weight: Any = None) -> float:
    r"""Difference of equal opportunity: the largest gap in true-positive rate between groups.

    .. math::

        \mathrm{DEO} = \max_{g} \mathrm{TPR}_g - \min_{g} \mathrm{TPR}_g,
        \qquad \mathrm{TPR}_g = \frac{|\{i : \hat y_i = 1, y_i = 1, s_i = g\}|}{|\{i : y_i = 1, s_i = g\}|},

    which for two groups is :math:`|\mathrm{TPR}_a - \mathrm{TPR}_b|` (Donini et al. 2018).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels, two classes of any type.
    y_pred : array-like of shape (n_samples,)
        Predicted labels, a subset of the classes of ``y_true``.
    sensitive_features : array-like of shape (n_samples,) or DataFrame
        Group of each sample (several columns: each combination is a group); at least two groups.
    pos_label : scalar, optional
        The positive class. Default: the larger of the two labels in sorted order (``numpy.unique``
        order), which is ``classes_[1]``, the class predicted where the decision function is
        positive, of fairerm's classifiers and scikit-learn's; for labels ``{0, 1}`` or ``{-1, 1}``
        it is 1, as in fairlearn. It is not the default of scikit-learn's *metrics*
        (``recall_score`` etc. take ``pos_label=1``): for labels ``{1, 2}`` fairerm takes 2, pass
        ``pos_label=1`` to compare with them. With a single class in ``y_true`` it must be given.
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative weights: every count in the rates becomes a sum of weights,
        :math:`\mathrm{TPR}_g = \sum_{\hat y_i = 1, y_i = 1, s_i = g} w_i / \sum_{y_i = 1, s_i = g} w_i`
        (fairlearn's ``sample_weight``; integer weights equal repeated rows).

    Returns
    -------
    float
        A value in ``[0, 1]``; 0 means equal true-positive rates.

    Raises
    ------
    ValueError
        Inconsistent lengths, missing values, more than two classes, unknown predicted labels,
        fewer than two groups, or a group with no positive example (its TPR is undefined).

    Examples
    --------
    >>> equal_opportunity_difference([1, 1, 0, 1, 1, 0], [1, 0, 0, 1, 1, 1],
    ...                              sensitive_features=["a", "a", "a", "b", "b", "b"])
    0.5
    """
    data = _BinaryPredictions(y_true, y_pred, sensitive_features, pos_label, sample_weight)
    return _gap(data.rate(data.pred_positive, data.true_positive, "true-positive rate", "y_true == pos_label"))


def demographic_parity_difference(y_true: Any, y_pred: Any, *, sensitive_features: Any, pos_label: Any = None,
                                  sample_weight: Any = None) -> float:
    r"""Difference of demographic parity: the largest gap in selection rate between groups.

    .. math::

        \mathrm{DDP} = \max_{g} \mathrm{SR}_g - \min_{g} \mathrm{SR}_g,
        \qquad \mathrm{SR}_g = \frac{|\{i : \hat y_i = 1, s_i = g\}|}{|\{i : s_i = g\}|}.

    ``y_true`` does not enter the value; it fixes the two classes and the positive one.
    Parameters, return value and errors as in :func:`equal_opportunity_difference`.

    Examples
    --------
    >>> demographic_parity_difference([1, 1, 0, 1, 1, 0], [1, 0, 0, 1, 1, 1],
    ...                               sensitive_features=["a", "a", "a", "b", "b", "b"])
    0.6666666666666667
    """
    data = _BinaryPredictions(y_true, y_pred, sensitive_features, pos_label, sample_weight)
    everyone = np.ones_like(data.pred_positive)
    return _gap(data.rate(data.pred_positive, everyone, "selection rate", "any label"))


def equalized_odds_difference(y_true: Any, y_pred: Any, *, sensitive_features: Any, pos_label: Any = None,
                              sample_weight: Any = None) -> float:
    r"""Equalized-odds difference: the larger of the TPR gap and the FPR gap between groups.

    .. math::

        \mathrm{EOdds} = \max_{y \in \{0, 1\}} \Big( \max_g P(\hat y = 1 \mid y, g)
                                                     - \min_g P(\hat y = 1 \mid y, g) \Big)
                       = \max(\mathrm{DEO}, \max_g \mathrm{FPR}_g - \min_g \mathrm{FPR}_g).

    Both rates must be defined in every group (each group needs a positive and a negative example).
    Parameters, return value and errors as in :func:`equal_opportunity_difference`.
    """
    data = _BinaryPredictions(y_true, y_pred, sensitive_features, pos_label, sample_weight)
    tpr = data.rate(data.pred_positive, data.true_positive, "true-positive rate", "y_true == pos_label")
    fpr = data.rate(data.pred_positive, ~data.true_positive, "false-positive rate", "y_true != pos_label")
    return max(_gap(tpr), _gap(fpr))


def _safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    out = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def group_table(y_true: Any, y_pred: Any, *, sensitive_features: Any, pos_label: Any = None,
                sample_weight: Any = None) -> pd.DataFrame:
    r"""Per-group confusion counts and rates of a binary classifier.

    For each group :math:`g` with :math:`n_g` samples, :math:`P_g` positive and :math:`N_g`
    negative true labels, and :math:`TP_g, FP_g, TN_g, FN_g` its confusion counts:

    ========================  ==================================================
    column                    value
    ========================  ==================================================
    ``count``                 :math:`n_g`
    ``proportion``            :math:`n_g / n`
    ``positives``             :math:`P_g` (true positive labels)
    ``negatives``             :math:`N_g`
    ``predicted_positives``   :math:`TP_g + FP_g`
    ``base_rate``             :math:`P_g / n_g`
    ``selection_rate``        :math:`(TP_g + FP_g) / n_g`
    ``tpr``                   :math:`TP_g / P_g` (recall)
    ``fpr``                   :math:`FP_g / N_g`
    ``fnr``                   :math:`FN_g / P_g`
    ``tnr``                   :math:`TN_g / N_g`
    ``precision``             :math:`TP_g / (TP_g + FP_g)`
    ``accuracy``              :math:`(TP_g + TN_g) / n_g`
    ``tp, fp, tn, fn``        the confusion counts
    ========================  ==================================================

    A rate whose denominator is zero in a group (no positive example for ``tpr``; with
    ``sample_weight``, a group whose weights are all zero for every rate) is NaN in this table,
    without a warning (the difference functions raise instead). The index holds the group labels,
    sorted, and is named after ``sensitive_features`` when it is a named Series or Index (else ``"group"``,
    also for a one-column DataFrame);
    with several columns (intersectional groups) it is a MultiIndex whose entries are the tuples of
    column values, named after the columns (``sensitive_feature_0, ...`` for an unnamed 2-D array),
    as fairlearn's ``MetricFrame.by_group``. With ``sample_weight`` every count (``count``,
    ``positives``, ..., ``tp``) is the sum of the weights of the samples it counts, and every rate a
    ratio of such sums. Parameters and errors as in :func:`equal_opportunity_difference`.
    """
    data = _BinaryPredictions(y_true, y_pred, sensitive_features, pos_label, sample_weight)
    t, p = data.true_positive, data.pred_positive
    tp, fp, tn, fn = data.counts(t & p), data.counts(~t & p), data.counts(~t & ~p), data.counts(t & ~p)
    count = tp + fp + tn + fn
    positives, negatives = tp + fn, fp + tn
    table = pd.DataFrame(
        {
            "count": count,
            "proportion": count / count.sum(),  # > 0: check_sample_weight refuses weights that are all zero
            "positives": positives,
            "negatives": negatives,
            "predicted_positives": tp + fp,
            "base_rate": _safe_ratio(positives, count),
            "selection_rate": _safe_ratio(tp + fp, count),
            "tpr": _safe_ratio(tp, positives),
            "fpr": _safe_ratio(fp, negatives),
            "fnr": _safe_ratio(fn, positives),
            "tnr": _safe_ratio(tn, negatives),
            "precision": _safe_ratio(tp, tp + fp),
            "accuracy": _safe_ratio(tp + tn, count),
            "tp": tp,
            "fp": fp,
            "tn": tn,
            "fn": fn,
        },
        index=data.index(),
    )
    return table


def fairness_summary(
    y_true: Any, y_pred: Any, *, sensitive_features: Any, pos_label: Any = None, sample_weight: Any = None
) -> dict[str, float]:
    """Accuracy and the three fairness gaps of a binary classifier, as a dict.

    Keys: ``accuracy`` (overall), ``equal_opportunity_difference`` (DEO),
    ``demographic_parity_difference`` (DDP), ``equalized_odds_difference``, ``n_groups``.
    Definitions in the module docstring; ``sample_weight`` weights the accuracy and the rates as in
    :func:`equal_opportunity_difference`; errors as in :func:`equalized_odds_difference`.

    Examples
    --------
    >>> summary = fairness_summary([1, 1, 0, 1, 1, 0], [1, 0, 0, 1, 1, 1],
    ...                            sensitive_features=["a", "a", "a", "b", "b", "b"])
    >>> round(summary["accuracy"], 3), summary["equal_opportunity_difference"]
    (0.667, 0.5)
    """
    data = _BinaryPredictions(y_true, y_pred, sensitive_features, pos_label, sample_weight)
    tpr = data.rate(data.pred_positive, data.true_positive, "true-positive rate", "y_true == pos_label")
    fpr = data.rate(data.pred_positive, ~data.true_positive, "false-positive rate", "y_true != pos_label")
    sr = data.rate(data.pred_positive, np.ones_like(data.pred_positive), "selection rate", "any label")
    return {
        "accuracy": float(np.average(data.true_positive == data.pred_positive, weights=data.sample_weight)),
        "equal_opportunity_difference": _gap(tpr),
        "demographic_parity_difference": _gap(sr),
        "equalized_odds_difference": max(_gap(tpr), _gap(fpr)),
        "n_groups": int(len(data.groups)),
    }
