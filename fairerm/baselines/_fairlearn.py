r"""fairlearn's post-processing and reductions, wrapped to one fit/predict interface.

* :class:`HardtPostProcessing`: Hardt, Price and Srebro (2016) equal-opportunity post-processing.
  A score :math:`f(x)` is fitted without fairness; then, per group :math:`g`, a (randomised)
  threshold rule :math:`\hat y = 1[f(x) > t_g]` (mixing two thresholds with a probability) is
  chosen to maximise training accuracy subject to equal true-positive rates
  :math:`P(\hat y = 1 | y = 1, s = g)` across groups: fairlearn's ``ThresholdOptimizer`` with
  ``constraints="true_positive_rate_parity"``. Predictions need the group of each point.
* :class:`ExponentiatedGradientClassifier`: Agarwal et al. (2018) reductions. It solves
  :math:`\min_Q \mathrm{err}(Q)` over randomised classifiers :math:`Q` (distributions over fits of
  the base learner) subject to :math:`|\mathrm{TPR}_g(Q) - \mathrm{TPR}(Q)| \le \varepsilon` for
  every group, by exponentiated-gradient play between the learner and a Lagrange multiplier
  player: fairlearn's ``ExponentiatedGradient`` with ``TruePositiveRateParity``.

Both predict at random; the wrappers fix the generator (``random_state``) so a prediction is
reproducible. Both take any two class labels: as everywhere in fairerm, ``classes_[1]`` (the larger
label, scikit-learn's order) is the positive class, the one whose true-positive rates are equalised;
fairlearn sees it as 1 and ``classes_[0]`` as 0, and predictions are mapped back to ``classes_``.
fairlearn is the optional extra ``fairerm[baselines]``: this module imports without it, and ``fit``
raises :class:`~fairerm.exceptions.SolverNotInstalledError` naming ``pip install "fairerm[baselines]"``
when it is missing.

References
----------
M. Hardt, E. Price, N. Srebro. "Equality of Opportunity in Supervised Learning". NeurIPS 2016.
A. Agarwal, A. Beygelzimer, M. Dudik, J. Langford, H. Wallach. "A Reductions Approach to Fair
Classification". ICML 2018.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from .._validation import check_binary_target, check_scalar
from ..exceptions import FairermValueError, SolverNotInstalledError

__all__ = ["HardtPostProcessing", "ExponentiatedGradientClassifier", "require_fairlearn", "INSTALL_HINT"]

INSTALL_HINT = 'pip install "fairerm[baselines]"'


def require_fairlearn(who: str = "this baseline") -> Any:
    """Return the ``fairlearn`` module, or raise a clear error naming the extra that installs it.

    Raises
    ------
    SolverNotInstalledError
        If ``import fairlearn`` fails (an ``ImportError``).
    """
    try:
        return importlib.import_module("fairlearn")
    except ImportError as exc:
        raise SolverNotInstalledError(
            f"{who} needs fairlearn, which is not installed ({exc}). Install the optional extra: {INSTALL_HINT}"
        ) from exc


def _require_sensitive(sensitive_features: Any, who: str) -> None:
    if sensitive_features is None:
        raise FairermValueError(f"{who} needs sensitive_features=... (the group of each sample); got None.")


def _encode_target(y: Any) -> tuple[np.ndarray, np.ndarray]:
    """``classes_`` and ``y`` as fairlearn's 0/1 labels (1 for ``classes_[1]``, the positive class).

    On 0/1 integer labels the codes equal ``y``, so fairlearn sees what it would have seen unwrapped.
    """
    target = check_binary_target(y)
    return target.classes, (target.signed > 0).astype(np.int64)


class HardtPostProcessing(ClassifierMixin, BaseEstimator):
    """Equal-opportunity thresholds per group on the scores of ``estimator`` (Hardt et al. 2016).

    Parameters
    ----------
    estimator : classifier with ``decision_function``
        Fitted (a clone) on the training data without fairness.
    grid_size : int, default=1000
        Thresholds that ``ThresholdOptimizer`` tries per group.
    random_state : int, default=0
        Seed of the randomised prediction.

    Attributes
    ----------
    postprocessor_ : fairlearn.postprocessing.ThresholdOptimizer
        Fitted on the labels coded 0/1 (1 for ``classes_[1]``).
    classes_ : ndarray of shape (2,)
        The two labels of ``y``; ``classes_[1]`` is the positive class, whose true-positive rates are
        equalised.
    """

    def __init__(self, estimator: Any, *, grid_size: int = 1000, random_state: int = 0):
        self.estimator = estimator
        self.grid_size = grid_size
        self.random_state = random_state

    def fit(self, X, y, *, sensitive_features=None):
        """Fit the score, then the group thresholds, on ``(X, y, sensitive_features)``."""
        _require_sensitive(sensitive_features, "HardtPostProcessing.fit")
        require_fairlearn("HardtPostProcessing")
        from fairlearn.postprocessing import ThresholdOptimizer

        classes, codes = _encode_target(y)
        self.postprocessor_ = ThresholdOptimizer(
            estimator=clone(self.estimator), constraints="true_positive_rate_parity",
            objective="accuracy_score", grid_size=self.grid_size, predict_method="decision_function",
            prefit=False,
        ).fit(X, codes, sensitive_features=sensitive_features)
        self.classes_ = classes
        return self

    def predict(self, X, *, sensitive_features=None):
        """Randomised thresholded predictions, labels of ``classes_`` (reproducible through ``random_state``)."""
        check_is_fitted(self)
        _require_sensitive(sensitive_features, "HardtPostProcessing.predict")
        codes = self.postprocessor_.predict(X, sensitive_features=sensitive_features, random_state=self.random_state)
        return self.classes_[np.asarray(codes, dtype=np.int64)]

    def score(self, X, y, *, sensitive_features, sample_weight=None):
        """Accuracy of :meth:`predict` on ``(X, y)``; ``sensitive_features`` gives each row's group.

        With metadata routing enabled (``sklearn.set_config(enable_metadata_routing=True)``), a
        ``GridSearchCV`` or ``cross_validate`` passes the groups here after
        ``set_score_request(sensitive_features=True)``, as ``set_fit_request`` does for :meth:`fit`.
        """
        from sklearn.metrics import accuracy_score

        _require_sensitive(sensitive_features, "HardtPostProcessing.score")
        return float(accuracy_score(y, self.predict(X, sensitive_features=sensitive_features),
                                    sample_weight=sample_weight))


class ExponentiatedGradientClassifier(ClassifierMixin, BaseEstimator):
    r"""Reductions (Agarwal et al. 2018) for true-positive-rate parity around ``estimator``.

    Parameters
    ----------
    estimator : classifier accepting ``sample_weight`` in ``fit``
    eps : float, default=0.01
        Allowed TPR gap :math:`\varepsilon` of each group to the overall TPR.
    max_iter : int, default=50
    random_state : int, default=0
        Seed of the randomised prediction.

    Attributes
    ----------
    reduction_ : fairlearn.reductions.ExponentiatedGradient
        Fitted on the labels coded 0/1 (1 for ``classes_[1]``).
    classes_ : ndarray of shape (2,)
        The two labels of ``y``; ``classes_[1]`` is the positive class, whose true-positive rates are
        constrained.
    """

    def __init__(self, estimator: Any, *, eps: float = 0.01, max_iter: int = 50, random_state: int = 0):
        self.estimator = estimator
        self.eps = eps
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X, y, *, sensitive_features=None):
        """Run exponentiated gradient on ``(X, y, sensitive_features)``."""
        _require_sensitive(sensitive_features, "ExponentiatedGradientClassifier.fit")
        check_scalar(self.eps, "eps", low=0.0, low_inclusive=False)
        require_fairlearn("ExponentiatedGradientClassifier")
        from fairlearn.reductions import ExponentiatedGradient, TruePositiveRateParity

        classes, codes = _encode_target(y)
        self.reduction_ = ExponentiatedGradient(
            clone(self.estimator), TruePositiveRateParity(), eps=self.eps, max_iter=self.max_iter,
        ).fit(X, codes, sensitive_features=sensitive_features)
        self.classes_ = classes
        return self

    def predict(self, X, *, sensitive_features=None):
        """Randomised predictions of the learned mixture, labels of ``classes_`` (``sensitive_features`` is
        not used)."""
        check_is_fitted(self)
        codes = self.reduction_.predict(X, random_state=self.random_state)
        return self.classes_[np.asarray(codes, dtype=np.int64)]
