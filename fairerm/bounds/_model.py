r"""What the bounds need to know about a fitted model, read through its public attributes.

The bounds of :mod:`fairerm.bounds` are about the class

.. math:: \mathcal F_r = \{x \mapsto \langle w, \phi(x)\rangle + b : \|w\| \le r,\ b \in \mathbb R\},

so a model is covered when its decision function has that form with a known feature map
:math:`\phi` and a known :math:`\|w\|`. :func:`inspect_model` returns a :class:`ModelView`: the
scores :math:`f(x_i)` on the sample, :math:`\|w\|`, the squared feature norms
:math:`k(x_i, x_i)` and a product with the Gram matrix (for the Monte Carlo complexity).

Covered: :class:`~fairerm.FairKernelSVC` (kernels ``"rbf"``, ``"linear"``, ``"poly"``), and any
binary classifier whose ``decision_function`` is affine in the raw features ``X``:
:class:`~fairerm.FairLinearSVC`, and scikit-learn ``Pipeline`` s of affine transformers
(:class:`~fairerm.FairProjection`, ``StandardScaler``) ending in a linear model (``LinearSVC``,
``LogisticRegression``, :class:`~fairerm.FairLinearSVC`). Such a model is
:math:`f(x) = \langle v, x\rangle + c` with :math:`v_j = f(e_j) - f(0)`, :math:`c = f(0)`;
that the scores on the sample match :math:`Xv + c` is checked. Data-dependent transforms (the
projection :math:`P` of :class:`~fairerm.FairProjection`, a scaler's statistics) do not weaken
the bound: it is uniform over every :math:`v` with :math:`\|v\| \le r`.
"""

from __future__ import annotations

import inspect
import math
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd
from sklearn import get_config
from sklearn.base import clone
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted

from .._memory import check_memory
from .._validation import check_feature_names, check_features
from ..constraints import EqualOpportunity, FairnessConstraint
from ..exceptions import FairermTypeError, FairermValueError, NotFittedError
from ..kernels import KernelSpec, kernel_diagonal, kernel_matvec

__all__ = ["ModelView", "inspect_model", "SUPPORTED_MODELS"]

SUPPORTED_MODELS = (
    "FairKernelSVC (kernel 'rbf', 'linear' or 'poly'), FairLinearSVC, or a binary classifier whose "
    "decision_function is affine in X (e.g. Pipeline(FairProjection, LinearSVC / LogisticRegression))"
)
_AFFINE_RTOL = 1e-7


@dataclass
class ModelView:
    r"""A fitted model seen as :math:`f(x) = \langle w, \phi(x)\rangle + b` on a sample.

    Attributes
    ----------
    name : str
        The model's class name (``"Pipeline(FairProjection, LinearSVC)"`` for a pipeline).
    feature_map : str
        ``"identity (linear model)"`` or the kernel, e.g. ``"RBF kernel, gamma=0.5"``.
    scores : ndarray of shape (n,)
        :math:`f(x_i)`.
    weight_norm : float
        :math:`\|w\|` (Euclidean for linear models, RKHS norm for kernels).
    intercept : float
        :math:`b`.
    sq_feature_norms : ndarray of shape (n,)
        :math:`\|\phi(x_i)\|^2 = k(x_i, x_i)`.
    classes : ndarray of shape (2,)
        ``classes[1]`` is predicted where :math:`f > 0`.
    constraint : FairnessConstraint
        The notion the model was fitted under (equal opportunity when it has none).
    exact_feature_bound : float or None
        :math:`\kappa = \sup_x\|\phi(x)\|` when it is known without data (RBF: 1), else ``None``.
    exact_feature_diameter : float or None
        :math:`\sup_{x,x'}\|\phi(x) - \phi(x')\|` when known (RBF: :math:`\sqrt2`).
    gram_matvec : callable
        ``gram_matvec(S)`` returns :math:`K S` for the Gram matrix of the sample.
    caveats : list of str
        Choices made on data that the bound treats as fixed in advance (a pipeline's fitted
        preprocessing when the model is not affine in the raw ``X``; ``gamma="scale"``).
    features : ndarray of shape (n, d)
        The points the feature map acts on (the raw ``X``, or ``X`` after a pipeline's fixed
        preprocessing).
    coef : ndarray of shape (d,) or None
        :math:`w` for a finite-dimensional feature map (affine models; approximate kernels, whose
        ``features`` are then the approximate features :math:`z(x)`); ``None`` for kernels.
    kernel : KernelSpec or None
        The kernel of a kernel model.
    expansion_rows, expansion_coef : ndarrays or None
        For a kernel model refitted by :attr:`refit`: the sample rows of its expansion points and
        their coefficients, :math:`w = \sum_l \beta_l\phi(x_{\text{row}_l})`.
    refit : callable or None
        ``refit(rows, labels, groups)`` fits a copy of the model (same hyperparameters, same
        feature map) on ``features[rows]`` and returns its view on the whole sample; ``None`` when
        the model cannot be refitted.
    """

    name: str
    feature_map: str
    scores: np.ndarray
    weight_norm: float
    intercept: float
    sq_feature_norms: np.ndarray
    classes: np.ndarray
    constraint: FairnessConstraint
    exact_feature_bound: float | None
    exact_feature_diameter: float | None
    gram_matvec: Callable[[np.ndarray], np.ndarray]
    caveats: list = field(default_factory=list)
    features: Any = None
    coef: Any = None
    kernel: Any = None
    expansion_rows: Any = None
    expansion_coef: Any = None
    refit: Any = None


def _model_name(model: Any) -> str:
    steps = getattr(model, "steps", None)
    if isinstance(steps, list):
        return f"Pipeline({', '.join(type(step).__name__ for _, step in steps)})"
    return type(model).__name__


def _find_constraint(model: Any) -> FairnessConstraint:
    candidates = [model] + [step for _, step in getattr(model, "steps", [])]
    for candidate in candidates:
        constraint = getattr(candidate, "constraint_", None)
        if isinstance(constraint, FairnessConstraint):
            return constraint
    return EqualOpportunity()


def _check_fitted(model: Any) -> None:
    try:
        check_is_fitted(model)
    except _SklearnNotFittedError as exc:
        raise NotFittedError(
            f"model: this {_model_name(model)} is not fitted yet; call fit(X, y, sensitive_features=...) before "
            "asking for its generalization report."
        ) from exc
    except TypeError as exc:  # not an estimator at all
        raise FairermTypeError(
            f"model must be a fitted scikit-learn-style estimator; got {type(model).__name__}. Supported: "
            f"{SUPPORTED_MODELS}."
        ) from exc


def _binary_classes(model: Any) -> np.ndarray:
    classes = getattr(model, "classes_", None)
    if classes is None or len(classes) != 2:
        raise FairermTypeError(
            f"model must be a binary classifier (classes_ of length 2); {_model_name(model)} has "
            f"classes_={None if classes is None else list(classes)!r}. Supported: {SUPPORTED_MODELS}."
        )
    return np.asarray(classes)


def _kernel_view(model: Any, X: np.ndarray, classes: np.ndarray, rows: np.ndarray | None = None) -> ModelView:
    kernel = model.kernel
    if kernel not in ("rbf", "linear", "poly"):
        why = ("a precomputed kernel has no feature map the bound could measure (k(x, x) of new points is "
               "unknown)" if kernel == "precomputed" else "the sigmoid kernel is not positive semi-definite, so "
               "it has no RKHS norm")
        raise FairermValueError(
            f"model: FairKernelSVC with kernel={kernel!r} is not covered: {why}. Refit with kernel='rbf', "
            "'linear' or 'poly'."
        )
    if X.shape[1] != model.n_features_in_:
        raise FairermValueError(
            f"X has {X.shape[1]} features but the model was fitted on {model.n_features_in_}; they must match."
        )
    caveats = []
    if kernel != "linear" and model.gamma == "scale":
        caveats.append(f"gamma='scale' was computed from the training data (gamma_ = {model.gamma_:.4g}); the bound "
                       "treats the kernel as chosen in advance. Pass a numeric gamma to remove this caveat.")
    if getattr(model, "feature_map_", None) is not None:
        return _approximate_kernel_view(model, X, classes, caveats)
    spec = KernelSpec(kernel, model.gamma_, model.degree, model.coef0)
    sq_norms = np.maximum(kernel_diagonal(X, spec), 0.0)
    if kernel == "rbf":
        feature_map = f"RBF kernel, gamma={model.gamma_:.4g}"
        exact_bound, exact_diameter = 1.0, math.sqrt(2.0)
    else:
        feature_map = ("linear kernel" if kernel == "linear"
                       else f"poly kernel, degree={model.degree}, gamma={model.gamma_:.4g}, coef0={model.coef0:.4g}")
        exact_bound, exact_diameter = None, None
    expansion_rows = None if rows is None else np.asarray(rows)[model.expansion_indices_]
    return ModelView(
        name=_model_name(model), feature_map=feature_map,
        scores=np.asarray(model.decision_function(_probe_frame(model, X, None)), float),
        weight_norm=float(model.weight_norm_), intercept=float(model.intercept_[0]), sq_feature_norms=sq_norms,
        classes=classes, constraint=_find_constraint(model), exact_feature_bound=exact_bound,
        exact_feature_diameter=exact_diameter, gram_matvec=lambda S: kernel_matvec(X, X, S, spec), caveats=caveats,
        features=X, kernel=spec, expansion_rows=expansion_rows, expansion_coef=np.asarray(model.expansion_coef_),
        refit=lambda fit_rows, labels, groups: _kernel_view(
            _fit_copy(model, X[fit_rows], labels[fit_rows], groups[fit_rows], numeric_gamma=True), X, classes,
            fit_rows),
    )


def _approximate_kernel_view(model: Any, X: np.ndarray, classes: np.ndarray, caveats: list) -> ModelView:
    """A kernel model fitted on approximate features z(x): linear in z, ||w|| = ||coef_||."""
    check_memory(2.0 * 8.0 * X.shape[0] * model.n_components_,
                 f"The approximate features z(x) of {X.shape[0]} rows x {model.n_components_} components "
                 "(the bounds read the model as linear in them)", "Bound the model on fewer rows.")
    Z = np.asarray(model.feature_map_.transform(X), dtype=float)
    coef = np.asarray(model.coef_[0], dtype=float)
    caveats = caveats + [f"approximation={model.approximation!r}: the bound is about the linear model on the "
                         "fitted approximate features z(x), which it treats as fixed in advance (Nystroem "
                         "landmarks are drawn from the training data)."]
    return ModelView(
        name=_model_name(model), feature_map=f"approximate features z(x) ({model.approximation}, "
        f"{Z.shape[1]} components)", scores=np.asarray(model.decision_function(_probe_frame(model, X, None)), float),
        weight_norm=float(np.linalg.norm(coef)), intercept=float(model.intercept_[0]),
        sq_feature_norms=np.einsum("ij,ij->i", Z, Z), classes=classes, constraint=_find_constraint(model),
        exact_feature_bound=None, exact_feature_diameter=None, gram_matvec=lambda S: Z @ (Z.T @ S),
        caveats=caveats, features=Z, coef=coef,
    )


def _accepts_sensitive_features(estimator: Any) -> bool:
    try:
        return "sensitive_features" in inspect.signature(estimator.fit).parameters
    except (TypeError, ValueError):
        return False


def _fit_copy(model: Any, X: Any, labels: np.ndarray, groups: np.ndarray, *, numeric_gamma: bool = False) -> Any:
    """A clone of ``model`` fitted on (X, labels, groups), the groups routed where fit takes them."""
    copy = clone(model)
    if numeric_gamma and isinstance(getattr(model, "gamma", None), str):
        copy.set_params(gamma=float(model.gamma_))  # the same kernel, not one re-estimated on the subsample
    params = {}
    if isinstance(getattr(copy, "steps", None), list) and get_config().get("enable_metadata_routing", False):
        params = {"sensitive_features": groups}  # routed to the steps that requested it
    elif isinstance(getattr(copy, "steps", None), list):
        params = {f"{name}__sensitive_features": groups for name, step in copy.steps
                  if step not in (None, "passthrough") and _accepts_sensitive_features(step)}
    elif _accepts_sensitive_features(copy):
        params = {"sensitive_features": groups}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a subsample's convergence warnings are not the user's model's
        return copy.fit(X, labels, **params)


def _probe_frame(model: Any, points: np.ndarray, columns: Any) -> Any:
    """The points as the model wants them: a DataFrame with its feature names if it was fitted on one."""
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        return points
    if columns is not None and list(columns) != list(names):
        raise FairermValueError(
            f"X has columns {list(columns)!r} but the model was fitted on {list(names)!r}; pass the same features."
        )
    return pd.DataFrame(points, columns=list(names))


#: The identity rows that read an affine model's coefficients are probed this many bytes at a time.
PROBE_BLOCK_BYTES = 64 * 2**20


def _probe_affine(model: Any, d: int, columns: Any) -> tuple[float, np.ndarray]:
    r"""``(b, w)`` of an affine score :math:`f(x) = \langle w, x\rangle + b`: :math:`f(0)` and :math:`f(e_k) - f(0)`.

    The identity rows go in blocks (the whole :math:`(d+1)\times d` probe peaked at :math:`2\cdot 8d^2` bytes:
    26 GB at :math:`d` = 40,000 for an X of 64 MB).
    """
    intercept = float(np.asarray(model.decision_function(_probe_frame(model, np.zeros((1, d)), columns)),
                                 float).ravel()[0])
    coef = np.empty(d)
    step = max(1, int(PROBE_BLOCK_BYTES // (8 * max(d, 1))))
    for start in range(0, d, step):
        stop = min(d, start + step)
        block = np.zeros((stop - start, d))
        block[np.arange(stop - start), np.arange(start, stop)] = 1.0
        coef[start:stop] = np.asarray(model.decision_function(_probe_frame(model, block, columns)), float).ravel()
    return intercept, coef - intercept


def _affine_view(model: Any, X: np.ndarray, columns: Any, classes: np.ndarray, refit_model: Any = None
                 ) -> ModelView:
    if not callable(getattr(model, "decision_function", None)):
        raise FairermTypeError(
            f"model: {_model_name(model)} has no decision_function, so it is not a score-based linear or kernel "
            f"classifier that the bounds cover. Supported: {SUPPORTED_MODELS}."
        )
    d = X.shape[1]
    try:
        intercept, coef = _probe_affine(model, d, columns)
        scores = np.asarray(model.decision_function(_probe_frame(model, X, columns)), float).ravel()
    except (ValueError, TypeError) as exc:
        raise FairermValueError(
            f"model: could not evaluate {_model_name(model)}.decision_function on X ({exc}). X must hold the raw "
            "numeric features the model was fitted on."
        ) from exc
    predicted = X @ coef + intercept
    scale = 1.0 + float(np.max(np.abs(scores))) + float(np.abs(X).max()) * float(np.abs(coef).sum())
    if scores.shape != predicted.shape or not np.allclose(scores, predicted, rtol=0.0, atol=_AFFINE_RTOL * scale):
        raise FairermValueError(
            f"model: the decision function of {_model_name(model)} is not affine in X (f(x) != <v, x> + c on the "
            f"sample), so the norm-bounded linear class does not contain it. Supported: {SUPPORTED_MODELS}."
        )
    return ModelView(
        name=_model_name(model), feature_map="identity (linear model)", scores=scores,
        weight_norm=float(np.linalg.norm(coef)), intercept=float(intercept), sq_feature_norms=np.einsum("ij,ij->i", X, X), classes=classes,
        constraint=_find_constraint(model), exact_feature_bound=None, exact_feature_diameter=None,
        gram_matvec=lambda S: X @ (X.T @ S), features=X, coef=coef,
        refit=None if refit_model is None else lambda fit_rows, labels, groups: _affine_view(
            _fit_copy(refit_model, _probe_frame(refit_model, X[fit_rows], columns), labels[fit_rows],
                      groups[fit_rows]), X, columns, classes),
    )


def _transformed(model: Any, X: Any, why: str) -> tuple[np.ndarray, list]:
    """The sample after a pipeline's preprocessing steps, and the caveat that they are treated as fixed."""
    steps = ", ".join(type(step).__name__ for _, step in model.steps[:-1])
    try:
        Xt = model[:-1].transform(X)
    except (ValueError, TypeError) as exc:
        raise FairermValueError(f"X: the preprocessing steps of {_model_name(model)} failed on X ({exc}).") from exc
    caveat = (f"The bound is about the features after the pipeline's fitted preprocessing ({steps}), treated as "
              f"fixed in advance ({why}); if it was fitted on this same sample that is an approximation.")
    return check_features(Xt, name="X after the pipeline's preprocessing"), [caveat]


def inspect_model(model: Any, X: Any) -> ModelView:
    """Check that ``model`` is fitted and covered, and read it as :math:`\\langle w, \\phi(x)\\rangle + b`.

    Parameters
    ----------
    model : estimator
        A fitted model (see the module docstring for the covered ones).
    X : array-like or DataFrame of shape (n, d)
        The sample's features, as the model takes them.

    Raises
    ------
    NotFittedError
        The model is not fitted.
    FairermTypeError, FairermValueError
        The model is not a binary score-based classifier of a covered kind.
    """
    _check_fitted(model)
    classes = _binary_classes(model)
    if _is_fair_kernel_svc(model):
        check_feature_names(model, X, reset=False)  # the names go with check_features: reordered columns refused here
        return _kernel_view(model, check_features(X), classes)
    steps = getattr(model, "steps", None)
    if isinstance(steps, list) and _is_fair_kernel_svc(steps[-1][1]):
        Xt, caveats = _transformed(model, X, "a kernel model after preprocessing")
        view = _kernel_view(steps[-1][1], Xt, classes)
        view.name, view.constraint = _model_name(model), _find_constraint(model)
        view.caveats = caveats + view.caveats
        return view
    columns = list(X.columns) if isinstance(X, pd.DataFrame) else None
    try:
        X_raw = check_features(X)
    except (ValueError, TypeError):
        if not isinstance(steps, list):
            raise
        X_raw = None
    if X_raw is not None:
        try:
            return _affine_view(model, X_raw, columns, classes, refit_model=model)
        except FairermValueError:
            if not isinstance(steps, list) or len(steps) < 2:
                raise
    # a pipeline that is affine in its preprocessed features, not in the raw X
    Xt, caveats = _transformed(model, X, "the model is not affine in the raw X")
    view = _affine_view(steps[-1][1], Xt, None, classes, refit_model=steps[-1][1])
    view.name, view.constraint = _model_name(model), _find_constraint(model)
    view.caveats = caveats
    return view


def _is_fair_kernel_svc(model: Any) -> bool:
    svm = sys.modules.get("fairerm.svm")  # not imported yet: then no FairKernelSVC exists to be passed
    return svm is not None and isinstance(model, svm.FairKernelSVC)
