r"""The methods compared in the reproduction of the FERM paper, with their hyperparameter grids.

Every method is a :class:`Method`: how to build an unfitted estimator from hyperparameters,
the grid that cross-validation searches (a full one and a ``--quick`` one), whether ``fit`` and
``predict`` need the sensitive attribute, and the table rows it produces. A row is a method plus
a *selection rule* (see :func:`select_candidate`): ``"accuracy"`` (the plain model selection of
the paper's "naive" baselines) or ``"fair"`` (every fairness-aware row, FERM included).

The grids are small because the full table must run on two shared cores in well under an hour:
the exponentiated-gradient runs (50 refits of the base learner each) use one fixed target
:math:`\varepsilon = 0.02` and skip cross-validation (one candidate needs no selection).

Families: ``"linear"`` methods train on all training rows; ``"kernel"`` methods may train on a
random subset of them (``kernel_max_train`` of :func:`~fairerm.baselines.run_reproduction`).

A new method is one more :class:`Method` (see the docs page "Reproducing the FERM paper"):
``run_reproduction(methods=[*METHODS, Method(...)])`` puts it in the same table.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC, LinearSVC
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import check_feature_names, check_option
from ..exceptions import FairermTypeError, FairermValueError
from ._fairlearn import ExponentiatedGradientClassifier, HardtPostProcessing
from ._zafar import CovarianceConstrainedClassifier

__all__ = ["Method", "ProjectedLinearSVC", "METHODS", "select_candidate", "linear_svm", "rbf_svm", "ferm_rbf"]

Selection = Literal["accuracy", "fair"]


def linear_svm(C: float) -> LinearSVC:
    """Hinge-loss linear SVM (liblinear dual coordinate descent); the intercept is a feature of
    value 10, so its penalty is 100 times weaker than the weights'. The coordinate order is seeded,
    so a rerun reproduces the table."""
    return LinearSVC(C=C, loss="hinge", dual=True, max_iter=20000, intercept_scaling=10.0, tol=1e-4, random_state=0)


def rbf_svm(C: float, gamma: float) -> SVC:
    """libsvm's RBF SVM, :math:`k(x, z) = \\exp(-\\gamma\\|x - z\\|^2)`."""
    return SVC(C=C, kernel="rbf", gamma=gamma, cache_size=200.0)


class ProjectedLinearSVC(ClassifierMixin, BaseEstimator):
    r"""Linear FERM with :math:`\epsilon = 0`: :class:`~fairerm.FairProjection`, then a hinge SVM.

    The projection :math:`P = I - Q^\top Q` removes the span of the equal-opportunity vector
    :math:`u = \bar x_{a,+} - \bar x_{b,+}` (Donini et al. 2018, section 4), so the fitted
    :math:`w = P w'` satisfies :math:`\langle w, u\rangle = 0` on the training sample, and the hinge
    SVM on :math:`Px` is the :math:`\epsilon = 0` solution of :class:`~fairerm.FairLinearSVC`
    (up to liblinear's small intercept penalty). It is used here instead of ``FairLinearSVC``'s
    OSQP path because liblinear is about 10 times faster on Adult's 32,561 rows.

    Attributes
    ----------
    projection_ : FairProjection
    svm_ : LinearSVC
    coef_ : ndarray of shape (1, n_features)
        :math:`w = P w'` on the original features.
    intercept_ : ndarray of shape (1,)
    classes_ : ndarray
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        The column names of a DataFrame ``X`` in ``fit`` (only then); ``predict`` refuses other
        names or another order.
    """

    def __init__(self, C: float = 1.0):
        self.C = C

    def fit(self, X, y, *, sensitive_features=None):
        """Fit the projection and the SVM on the projected features."""
        from ..preprocessing import FairProjection

        self.projection_ = FairProjection().fit(X, y, sensitive_features=sensitive_features)
        self.svm_ = linear_svm(self.C).fit(self.projection_.transform(X), y)
        # w = P w' = w' - Q'(Q w'), with Q the removed directions (r x d): no d x d matrix
        w_prime = self.svm_.coef_[0]
        Q = self.projection_.removed_directions_
        self.coef_ = (w_prime - Q.T @ (Q @ w_prime)).reshape(1, -1)
        self.intercept_ = self.svm_.intercept_.copy()
        self.classes_ = self.svm_.classes_
        self.n_features_in_ = self.projection_.n_features_in_
        check_feature_names(self, X, reset=True)
        return self

    def decision_function(self, X):
        r"""Scores :math:`\langle w, x\rangle + b`."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=("csr", "csc"), dtype=np.float64, ensure_all_finite=True,
                          reset=False)
        return np.asarray(X @ self.coef_[0]).ravel() + self.intercept_[0]

    def predict(self, X):
        """``classes_[1]`` where the score is positive."""
        scores = self.decision_function(X)  # checks that the model is fitted, before classes_ is read
        return self.classes_[(scores > 0).astype(int)]


@dataclass(frozen=True)
class Method:
    """A method of the comparison.

    Attributes
    ----------
    key : str
        Identifier (``--methods`` filter).
    family : {"linear", "kernel"}
    build : callable
        ``build(**params)`` returns an unfitted estimator.
    grid, quick_grid : mapping of str to sequence
        Hyperparameter values searched by cross-validation (the product of the lists).
    rows : mapping of str to {"accuracy", "fair"}
        Table row name and the selection rule that produces it.
    fit_sensitive, predict_sensitive : bool
        Whether ``fit`` / ``predict`` take ``sensitive_features=``.
    ours : bool
        A row of fairerm's own FERM (bold in the table, checked against the baselines).
    requires : tuple of str
        Python modules the method needs beyond fairerm's dependencies (``("fairlearn",)``);
        a run that includes it checks them first (:meth:`missing_requirements`).
    """

    key: str
    family: Literal["linear", "kernel"]
    build: Callable[..., Any]
    grid: Mapping[str, Sequence[Any]]
    quick_grid: Mapping[str, Sequence[Any]]
    rows: Mapping[str, Selection]
    fit_sensitive: bool = True
    predict_sensitive: bool = False
    ours: bool = field(default=False)
    requires: tuple[str, ...] = ()

    def __post_init__(self):
        if not isinstance(self.key, str) or not self.key.isidentifier():
            raise FairermValueError(f"Method key must be a Python identifier (it names the method on the command "
                                    f"line); got {self.key!r}.")
        check_option(self.family, "Method family", ["linear", "kernel"])
        if not callable(self.build):
            raise FairermTypeError(f"Method build must be callable (it returns an unfitted estimator); "
                                   f"got {self.build!r}.")
        for name in ("grid", "quick_grid"):
            grid = getattr(self, name)
            if not isinstance(grid, Mapping) or any(isinstance(v, str) or not hasattr(v, "__len__") or len(v) == 0
                                                    for v in grid.values()):
                raise FairermValueError(f"Method {name} must map each hyperparameter to a non-empty sequence of "
                                        f"values; got {grid!r}.")
        if not isinstance(self.rows, Mapping) or not self.rows:
            raise FairermValueError(f"Method rows must map at least one table row name to 'accuracy' or 'fair'; "
                                    f"got {self.rows!r}.")
        for rule in self.rows.values():
            check_option(rule, "Method rows selection rule", ["accuracy", "fair"])

    def missing_requirements(self) -> list[str]:
        """The modules of :attr:`requires` that cannot be imported here."""
        return [name for name in self.requires if importlib.util.find_spec(name) is None]

    def candidates(self, quick: bool) -> list[dict[str, Any]]:
        """Every combination of the grid's values, as keyword dicts (sorted keys)."""
        grid = self.quick_grid if quick else self.grid
        combos: list[dict[str, Any]] = [{}]
        for name in sorted(grid):
            combos = [dict(c, **{name: v}) for c in combos for v in grid[name]]
        return combos

    def fit(self, params: Mapping[str, Any], X: np.ndarray, y: np.ndarray, s: np.ndarray):
        """Build and fit an estimator with ``params``."""
        estimator = self.build(**params)
        if self.fit_sensitive:
            return estimator.fit(X, y, sensitive_features=s)
        return estimator.fit(X, y)

    def predict(self, estimator: Any, X: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Predicted labels (the sensitive attribute is passed where the method needs it)."""
        if self.predict_sensitive:
            return np.asarray(estimator.predict(X, sensitive_features=s))
        return np.asarray(estimator.predict(X))


def select_candidate(accuracy: np.ndarray, deo: np.ndarray, rule: Selection, tolerance: float) -> int:
    r"""Index of the chosen hyperparameters from mean validation accuracies and DEOs.

    ``"accuracy"``: the largest validation accuracy (ties: the smaller DEO). ``"fair"``: the
    two-step rule of the FERM paper's experiments with an absolute tolerance :math:`\tau`: keep the
    candidates whose accuracy is at least :math:`\max_k \mathrm{acc}_k - \tau`, and among them take
    the smallest validation DEO (ties: the larger accuracy).
    """
    accuracy, deo = np.asarray(accuracy, dtype=float), np.asarray(deo, dtype=float)
    if accuracy.size == 1:
        return 0
    if rule == "accuracy":
        order = np.lexsort((deo, -accuracy))
        return int(order[0])
    shortlist = np.flatnonzero(accuracy >= accuracy.max() - tolerance)
    order = np.lexsort((-accuracy[shortlist], deo[shortlist]))
    return int(shortlist[order[0]])


def ferm_rbf(C: float, gamma: float):
    r"""fairerm's kernel FERM with an RBF kernel and :math:`\epsilon = 0`."""
    from ..svm import FairKernelSVC

    return FairKernelSVC(C=C, kernel="rbf", gamma=gamma, epsilon=0.0)


def ferm_linear_ramp(C: float):
    r"""fairerm's linear FERM with the ramp-loss constraint, :math:`\epsilon = 0` (``fairerm/svm/_ramp.py``)."""
    from ..svm import FairLinearSVC

    return FairLinearSVC(C=C, epsilon=0.0, fairness_loss="ramp", cccp_max_iter=RAMP_STEPS)


def ferm_rbf_ramp(C: float, gamma: float):
    r"""fairerm's kernel FERM (RBF) with the ramp-loss constraint, :math:`\epsilon = 0`."""
    from ..svm import FairKernelSVC

    return FairKernelSVC(C=C, kernel="rbf", gamma=gamma, epsilon=0.0, fairness_loss="ramp", cccp_max_iter=RAMP_STEPS)


#: Linearised steps of the ramp rows (each a warm-started FERM solve; measured on Adult's 32,561 training
#: rows, C = 0.01: 8 steps in 68 s on the shared machine, the ramp DEO alternating in sign with a decaying
#: amplitude, 0.025 to 0.0012).
RAMP_STEPS = 8

_LINEAR_C = (0.01, 0.1, 1.0)
_RBF = {"C": (1.0, 10.0), "gamma": (0.01, 0.1)}
_QUICK_RBF = {"C": (1.0, 10.0), "gamma": (0.01,)}

METHODS: tuple[Method, ...] = (
    Method("linear_svm", "linear", linear_svm, {"C": _LINEAR_C}, {"C": (0.01, 1.0)},
           {"Naive linear SVM": "accuracy", "Linear SVM": "fair"}, fit_sensitive=False),
    Method("hardt_linear", "linear", lambda C: HardtPostProcessing(linear_svm(C)), {"C": _LINEAR_C},
           {"C": (0.01, 1.0)}, {"Hardt et al. (linear SVM)": "fair"}, predict_sensitive=True,
           requires=("fairlearn",)),
    Method("zafar", "linear",
           lambda C, covariance_fraction: CovarianceConstrainedClassifier(
               C, covariance_fraction=covariance_fraction, loss="logistic", subset="positives"),
           {"C": (1.0,), "covariance_fraction": (0.05, 0.2, 0.5)},
           {"C": (1.0,), "covariance_fraction": (0.1,)},
           {"Zafar et al. (logistic, cov. on y=1)": "fair"}),
    Method("expgrad_logistic", "linear",
           lambda C, eps: ExponentiatedGradientClassifier(LogisticRegression(C=C, max_iter=2000), eps=eps),
           {"C": (1.0,), "eps": (0.02,)}, {"C": (1.0,), "eps": (0.02,)},
           {"ExpGrad TPR parity (logistic)": "fair"}, requires=("fairlearn",)),
    Method("expgrad_svm", "linear",
           lambda C, eps: ExponentiatedGradientClassifier(linear_svm(C), eps=eps),
           {"C": (0.1,), "eps": (0.02,)}, {"C": (0.1,), "eps": (0.02,)},
           {"ExpGrad TPR parity (linear SVM)": "fair"}, requires=("fairlearn",)),
    Method("ferm_linear", "linear", ProjectedLinearSVC, {"C": _LINEAR_C}, {"C": (0.01, 1.0)},
           {"Linear FERM (eps=0)": "fair"}, ours=True),
    Method("rbf_svm", "kernel", rbf_svm, _RBF, _QUICK_RBF,
           {"Naive RBF SVM": "accuracy", "RBF SVM": "fair"}, fit_sensitive=False),
    Method("hardt_rbf", "kernel", lambda C, gamma: HardtPostProcessing(rbf_svm(C, gamma)), _RBF, _QUICK_RBF,
           {"Hardt et al. (RBF SVM)": "fair"}, predict_sensitive=True, requires=("fairlearn",)),
    Method("ferm_rbf", "kernel", ferm_rbf, _RBF, _QUICK_RBF, {"RBF FERM (eps=0)": "fair"}, ours=True),
    # The ramp rows: smaller grids (each fit is a sequence of up to RAMP_STEPS FERM solves).
    Method("ferm_ramp", "linear", ferm_linear_ramp, {"C": (0.01, 0.1)}, {"C": (0.01,)},
           {"Linear FERM, ramp loss (eps=0)": "fair"}, ours=True),
    Method("ferm_rbf_ramp", "kernel", ferm_rbf_ramp, {"C": (1.0, 10.0), "gamma": (0.01,)},
           {"C": (1.0,), "gamma": (0.01,)},
           {"RBF FERM, ramp loss (eps=0)": "fair"}, ours=True),
)
