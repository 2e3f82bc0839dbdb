r"""Evaluate a representation: divergence between its group-conditional laws, and transfer to a new task.

Transfer (Oneto et al., 2020): a representation :math:`h` learned on some tasks is frozen, and a
new task's model :math:`f` is fitted on :math:`h(X)`. Its test accuracy and its demographic
parity difference

.. math::

    \mathrm{DDP}(f \circ h) = \max_{g, g'} \big| P(\hat y = 1 \mid S = g) - P(\hat y = 1 \mid S = g') \big|

(empirical, on the test sample; :math:`\hat y = 1` the positive, larger, class) measure how fair
and useful the representation is for tasks it never saw.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import clone

from .._validation import check_binary_target, check_features, check_option, check_scalar, check_sensitive_features
from ..exceptions import FairermValueError
from ._backend import require_torch

__all__ = ["group_divergence", "demographic_parity_gap", "TransferResult", "transfer_evaluate"]


def group_divergence(
    representation: Any,
    sensitive_features: Any,
    *,
    divergence: str = "mmd",
    bandwidth: float | None = None,
    epsilon: float | None = None,
) -> float:
    r"""Mean divergence between the group-conditional samples of a representation.

    :math:`\frac{1}{|P|}\sum_{(g, g') \in P} D(Z \mid S = g, Z \mid S = g')` over all pairs of
    groups, with :math:`D` the unbiased MMD\ :sup:`2` (median-heuristic bandwidth of the whole
    sample unless ``bandwidth`` is given) or the Sinkhorn divergence (``epsilon`` default
    ``median distance ** 2`` of the whole sample), computed in float64.

    Parameters
    ----------
    representation : array-like of shape (n_samples, dim)
        E.g. ``FairRepresentation.transform(X)``.
    sensitive_features : array-like of shape (n_samples,)
    divergence : {"mmd", "sinkhorn"}, default="mmd"
    bandwidth : float or None, default=None
        The MMD's Gaussian bandwidth :math:`\sigma > 0`; None: the median heuristic on the whole
        sample (every group together). Ignored by the Sinkhorn divergence.
    epsilon : float or None, default=None
        The Sinkhorn entropic regularisation :math:`\varepsilon > 0`; None: the median squared
        distance of the whole sample. Ignored by the MMD.

    Returns
    -------
    float
    """
    torch = require_torch()
    from ._divergences import default_epsilon, median_bandwidth, mmd2_unbiased, pairwise_group_divergence, sinkhorn_divergence

    check_option(divergence, "divergence", ("mmd", "sinkhorn"))
    for name, value in (("bandwidth", bandwidth), ("epsilon", epsilon)):
        if value is not None:
            check_scalar(value, name, low=0.0, low_inclusive=False)
    Z = check_features(representation, name="representation")
    sensitive = check_sensitive_features(sensitive_features, Z.shape[0])
    points = torch.as_tensor(Z, dtype=torch.float64)
    with torch.no_grad():
        if divergence == "mmd":
            sigma = median_bandwidth(points) if bandwidth is None else bandwidth

            def distance(first, second):
                return mmd2_unbiased(first, second, sigma)

        else:
            eps = default_epsilon(points) if epsilon is None else epsilon

            def distance(first, second):
                return sinkhorn_divergence(first, second, eps)

        value, n_pairs = pairwise_group_divergence(points, torch.as_tensor(sensitive.codes), distance)
    if n_pairs == 0:
        raise FairermValueError("sensitive_features: no two groups have at least two samples; the divergence is undefined.")
    return float(value)


def demographic_parity_gap(y_pred: Any, sensitive_features: Any, positive_label: Any) -> tuple[float, dict]:
    """DDP of predictions (largest minus smallest positive rate over groups) and each group's rate.

    The same quantity as :func:`fairerm.metrics.demographic_parity_difference`, computed from
    predictions alone (that metric also wants ``y_true`` to fix the classes).
    """
    predictions = np.asarray(y_pred)
    sensitive = check_sensitive_features(sensitive_features, predictions.shape[0])
    positive = predictions == positive_label
    rates = {group: float(positive[sensitive.codes == g].mean()) for g, group in enumerate(sensitive.groups)}
    values = list(rates.values())
    return float(max(values) - min(values)), rates


@dataclass
class TransferResult:
    """Outcome of :func:`transfer_evaluate`.

    Attributes
    ----------
    accuracy : float
        Test accuracy of the new task's model.
    demographic_parity_difference : float
        DDP of its test predictions (largest gap between groups of the positive rate).
    positive_rates : dict
        Group -> test rate of positive predictions.
    estimator : estimator
        The fitted clone of the new task's model.
    """

    accuracy: float
    demographic_parity_difference: float
    positive_rates: dict
    estimator: Any


def _accepts_sensitive_features(estimator: Any) -> bool:
    try:
        return "sensitive_features" in inspect.signature(estimator.fit).parameters
    except (TypeError, ValueError):
        return False


def transfer_evaluate(
    representation: Any,
    estimator: Any,
    X_train: Any,
    y_train: Any,
    X_test: Any,
    y_test: Any,
    *,
    sensitive_train: Any,
    sensitive_test: Any,
) -> TransferResult:
    """Fit a new binary task on a frozen representation and report accuracy and DDP on a test set.

    Parameters
    ----------
    representation : fitted transformer or None
        Anything with ``transform`` (a fitted :class:`FairRepresentation`); ``None`` uses the raw
        features (the baseline).
    estimator : scikit-learn classifier
        Cloned, then fitted on ``representation.transform(X_train)``; ``sensitive_features`` is
        passed to its ``fit`` when the signature has it (fairerm's fair models, fairlearn's).
    X_train, y_train, X_test, y_test : array-like
        The new task; ``y`` must be binary.
    sensitive_train, sensitive_test : array-like
        Groups of the training and test samples.

    Returns
    -------
    TransferResult
    """
    if representation is not None and not hasattr(representation, "transform"):
        raise FairermValueError(f"representation must be a fitted transformer or None; got {type(representation).__name__}.")
    X_train_checked = check_features(X_train, name="X_train")
    X_test_checked = check_features(X_test, name="X_test")
    target = check_binary_target(y_train, X_train_checked.shape[0], name="y_train")
    truth = np.asarray(y_test)
    if truth.shape != (X_test_checked.shape[0],):
        raise FairermValueError(f"y_test has shape {truth.shape}; expected ({X_test_checked.shape[0]},), one label per test sample.")
    check_sensitive_features(sensitive_train, X_train_checked.shape[0], name="sensitive_train")
    check_sensitive_features(sensitive_test, X_test_checked.shape[0], name="sensitive_test")
    Z_train = X_train_checked if representation is None else representation.transform(X_train_checked)
    Z_test = X_test_checked if representation is None else representation.transform(X_test_checked)
    model = clone(estimator)
    if _accepts_sensitive_features(model):
        model.fit(Z_train, np.asarray(y_train), sensitive_features=sensitive_train)
    else:
        model.fit(Z_train, np.asarray(y_train))
    predictions = model.predict(Z_test)
    gap, rates = demographic_parity_gap(predictions, sensitive_test, target.classes[1])
    return TransferResult(
        accuracy=float(np.mean(predictions == truth)),
        demographic_parity_difference=gap,
        positive_rates=rates,
        estimator=model,
    )
