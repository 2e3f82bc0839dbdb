r"""Accuracy-fairness paths: fit a fair estimator along a grid of epsilons (or of C).

Along an :math:`\epsilon` path the FERM solutions move continuously (the optimal :math:`w` is a
continuous function of :math:`\epsilon`), so each fit starts from its neighbour's solution through
the estimators' public ``warm_start=True``: the exact kernel solver reuses its SMO state, the kernel
columns of the constraint and the active set of fairness constraints, DCD its dual variables, OSQP
its primal and dual iterates. Sorted from the strictest :math:`\epsilon` to the loosest, the path
traces the accuracy-fairness Pareto front (``docs/maths.rst``).

With ``n_jobs`` other than ``None``/1 the fits are independent (no warm start) and run through
joblib, so a user with a Dask or Ray cluster runs them there by choosing the joblib backend
(``with joblib.parallel_backend("dask"): fair_path(...)``).
"""

from __future__ import annotations

import contextlib
import copy
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone

from ._validation import _as_1d_labels, check_option, check_sample_weight, check_scalar
from .exceptions import FairermTypeError, FairermValueError, FairermWarning
from .metrics import demographic_parity_difference, equal_opportunity_difference
from .metrics._classification import _BinaryPredictions, _gap
from .solvers import keep_working_memory

__all__ = ["fair_path", "FairPath"]


def _n_rows(X) -> int:
    return int(X.shape[0]) if hasattr(X, "shape") else len(X)


@dataclass
class FairPath:
    """The result of :func:`fair_path`.

    Attributes
    ----------
    param_name : str
        ``"epsilon"`` or ``"C"``.
    results : pandas.DataFrame
        One row per value: the parameter, training (and test, if given) accuracy, DEO and DDP,
        the largest :math:`|\\langle w,u_j\\rangle|`, fit time, iterations, solver status.
    estimators : list
        The fitted estimators, in the order of ``results``.
    """

    param_name: str
    results: pd.DataFrame
    estimators: list = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return self.results.copy()

    def pareto_front(self, accuracy: str = "accuracy", fairness: str = "deo", split: str = "test") -> pd.DataFrame:
        """The rows not dominated in (higher accuracy, lower unfairness) on ``split``.

        ``accuracy`` is ``"accuracy"``; ``fairness`` is ``"deo"`` or ``"ddp"``; ``split`` is ``"test"`` or
        ``"train"``. A path without test columns (:func:`fair_path` called without ``X_test``) ranks on the
        training split, with a :class:`~fairerm.exceptions.FairermWarning` (as
        :func:`~fairerm.plotting.plot_pareto_front` does).
        """
        check_option(accuracy, "accuracy", ("accuracy",))
        check_option(fairness, "fairness", ("deo", "ddp"))
        check_option(split, "split", ("test", "train"))
        if f"{split}_{accuracy}" not in self.results:
            warnings.warn(FairermWarning("the path has no test columns (fair_path was called without X_test); "
                                         "the front is that of the training accuracy and fairness."), stacklevel=2)
            split = "train"
        acc = self.results[f"{split}_{accuracy}"].to_numpy()
        unf = self.results[f"{split}_{fairness}"].to_numpy()
        keep = [i for i in range(len(acc))
                if not np.any((acc >= acc[i]) & (unf <= unf[i]) & ((acc > acc[i]) | (unf < unf[i])))]
        return self.results.iloc[keep].sort_values(f"{split}_{fairness}")


def _scores(model, X, y, sensitive_features, prefix: str, decision_values=None, sample_weight=None) -> dict:
    pred = model.predict(X) if decision_values is None else model.classes_[(decision_values > 0).astype(int)]
    weights = {} if sample_weight is None else {"sample_weight": sample_weight}
    return {
        f"{prefix}_accuracy": float(np.average(np.asarray(pred) == np.asarray(y), weights=sample_weight)),
        f"{prefix}_deo": equal_opportunity_difference(y, pred, sensitive_features=sensitive_features, **weights),
        f"{prefix}_ddp": demographic_parity_difference(y, pred, sensitive_features=sensitive_features, **weights),
    }


class _TrainingScores:
    """The training sample's labels, groups and weights, validated once for every fit of the path (the
    values of :func:`~fairerm.metrics.equal_opportunity_difference` and
    :func:`~fairerm.metrics.demographic_parity_difference`, which validate them on each call)."""

    def __init__(self, y, sensitive_features, sample_weight):
        self.inputs, self.data = (y, sensitive_features, sample_weight), None

    def __call__(self, classes, decision_values) -> dict:
        if self.data is None:  # after the first fit, which validated the inputs with its own messages
            y, sensitive_features, sample_weight = self.inputs
            self.labels = np.asarray(y)
            self.data = _BinaryPredictions(y, y, sensitive_features, None, sample_weight)
        data = self.data
        pred = np.asarray(classes)[(np.asarray(decision_values) > 0).astype(int)]
        data.pred_positive = pred == data.pos_label
        tpr = data.rate(data.pred_positive, data.true_positive, "true-positive rate", "y_true == pos_label")
        selection = data.rate(data.pred_positive, np.ones_like(data.pred_positive), "selection rate", "any label")
        return {"train_accuracy": float(np.average(pred == self.labels, weights=data.sample_weight)),
                "train_deo": _gap(tpr), "train_ddp": _gap(selection)}


def _fit_one(model, param_name, value, X, y, sensitive_features, test, sample_weight=None, train_scores=None,
             prepared=None, previous=None):
    """Fit ``model`` at ``value`` and return it with its row of results.

    With ``prepared`` (the validated data of :meth:`~fairerm.svm._base.BaseFairSVC._prepare`) the fit starts
    from them and from the solution ``previous`` instead of validating ``X, y, sensitive_features`` again.
    """
    setattr(model, param_name, value)  # "epsilon" or "C", the estimators' own parameters
    start = time.perf_counter()
    if prepared is not None:
        model._fit_prepared(prepared, previous)
    else:
        model.fit(X, y, sensitive_features=sensitive_features,
                  **({} if sample_weight is None else {"sample_weight": sample_weight}))
    row = {param_name: value, "fit_seconds": time.perf_counter() - start}
    # The solver's certificate already computed f(x_i) on the training points: no kernel evaluations.
    decision_values = model.solution_.training_decision_values
    if train_scores is not None:
        row.update(train_scores(model.classes_, decision_values))
    else:
        row.update(_scores(model, X, y, sensitive_features, "train", decision_values, sample_weight))
    if test is not None:
        X_test, y_test, sensitive_test, weight_test = test
        row.update(_scores(model, X_test, y_test, sensitive_test, "test", sample_weight=weight_test))
    row.update(
        max_abs_constraint=float(np.max(np.abs(model.constraint_value_))),
        n_iter=model.n_iter_,
        status=model.status_,
        converged=model.converged_,
    )
    return model, row


def _sequential_fits(estimator, param_name, values, X, y, sensitive_features, test, sample_weight, warm_start):
    """The fits of the path one after the other, each warm-started from the previous one's solution.

    The data are validated and the problem built once (:meth:`~fairerm.svm._base.BaseFairSVC._prepare`);
    each value gets its own estimator (a copy of the unfitted template), so no fitted model is copied.
    An estimator without that route is refitted in place and copied after each fit.
    """
    template = clone(estimator).set_params(warm_start=bool(warm_start))
    prepare = getattr(template, "_prepare", None)
    prepared = prepare(X, y, sensitive_features, sample_weight) if prepare is not None else None
    # warm-started fits on the same data keep the SMO row cache from one fit to the next (released at
    # the end; the fitted models never hold it)
    train_scores = _TrainingScores(y, sensitive_features, sample_weight)
    fitted, previous = [], None
    with keep_working_memory() if warm_start else contextlib.nullcontext():
        for value in values:
            if prepared is not None:
                model, row = _fit_one(copy.deepcopy(template), param_name, value, X, y, sensitive_features, test,
                                      sample_weight, train_scores, prepared, previous if warm_start else None)
                previous = model.solution_
            else:
                model, row = _fit_one(template if warm_start else clone(template), param_name, value, X, y,
                                      sensitive_features, test, sample_weight, train_scores)
                model = copy.deepcopy(model) if warm_start else model
            fitted.append((model, row))
    return fitted


def fair_path(
    estimator,
    X,
    y,
    *,
    sensitive_features,
    epsilons=None,
    Cs=None,
    X_test=None,
    y_test=None,
    sensitive_features_test=None,
    sample_weight=None,
    sample_weight_test=None,
    warm_start: bool = True,
    n_jobs: int | None = None,
    verbose: int = 0,
) -> FairPath:
    """Fit ``estimator`` along a grid of ``epsilons`` (or of ``Cs``) and measure accuracy and fairness.

    Parameters
    ----------
    estimator : FairLinearSVC or FairKernelSVC
        Unfitted template; cloned for each value.
    X, y, sensitive_features
        Training data.
    epsilons, Cs : sequence of float
        Exactly one of them: the values of ``epsilon`` (>= 0) or ``C`` (> 0), distinct (one fit and one
        row of ``results`` each).
    X_test, y_test, sensitive_features_test : optional
        A held-out sample to score on as well: all three, or none.
    sample_weight : array-like of shape (n_samples,), optional
        Passed to every ``fit`` (per-sample :math:`C` and weighted group means); the training accuracy,
        DEO and DDP of ``results`` are then weighted too (as :func:`~fairerm.metrics.equal_opportunity_difference`
        with ``sample_weight``).
    sample_weight_test : array-like, optional
        Weights of the held-out sample's scores (unweighted without it).
    warm_start : bool, default=True
        Start each fit from the previous solution (values are visited in increasing order). ``True`` or
        ``False``, as the estimators' own ``warm_start``.
    n_jobs : int or None
        ``None`` or 1: sequential with warm starts. Otherwise independent fits through joblib.
    verbose : int
        0: silent; 1: a progress bar (tqdm) when attached to a terminal.

    Returns
    -------
    FairPath

    Examples
    --------
    >>> from fairerm import FairLinearSVC, fair_path
    >>> from fairerm.datasets import make_synthetic
    >>> d = make_synthetic(n_samples=300, include_sensitive=False, random_state=0)
    >>> path = fair_path(FairLinearSVC(), d.data, d.target, sensitive_features=d.sensitive, epsilons=[0.0, 0.1, 1.0])
    >>> list(path.results["epsilon"])
    [0.0, 0.1, 1.0]
    """
    if not hasattr(estimator, "warm_start") or not hasattr(estimator, "epsilon") or not hasattr(estimator, "fit"):
        raise FairermTypeError(
            f"estimator must be a fairerm fair SVM (FairLinearSVC or FairKernelSVC); got {type(estimator).__name__}."
        )
    if not isinstance(warm_start, (bool, np.bool_)):  # bool("False") is True: refused, as the estimators do
        raise FairermTypeError(f"warm_start must be True or False; got {warm_start!r}.")
    if (epsilons is None) == (Cs is None):
        raise FairermValueError("Give exactly one of epsilons=... or Cs=....")
    param_name, values = ("epsilon", epsilons) if epsilons is not None else ("C", Cs)
    values = [float(check_scalar(v, f"{param_name} values", low=0.0, low_inclusive=param_name == "epsilon"))
              for v in np.atleast_1d(np.asarray(values, dtype=object))]
    if not values:
        raise FairermValueError(f"{param_name} values must not be empty.")
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:  # one fit and one row of results per value: a repeated one would misalign the user's arrays
        raise FairermValueError(f"{param_name} values must be distinct; got {repeated} more than once in {values}.")
    values = sorted(values)
    # The labels as one label per sample, as the estimators take them (a column vector with scikit-learn's
    # DataConversionWarning, once here): the scores compare them with 1-D predictions.
    y = _as_1d_labels(y, "y", warn_column=True)
    test = None
    if X_test is not None:
        if y_test is None or sensitive_features_test is None:
            raise FairermValueError("X_test needs y_test and sensitive_features_test too.")
        test = (X_test, _as_1d_labels(y_test, "y_test", warn_column=True), sensitive_features_test,
                check_sample_weight(sample_weight_test, _n_rows(X_test), name="sample_weight_test"))
    elif y_test is not None or sensitive_features_test is not None:
        given = " and ".join(name for name, value in (("y_test", y_test), ("sensitive_features_test",
                                                                            sensitive_features_test))
                             if value is not None)
        raise FairermValueError(f"{given} without X_test: the held-out sample is scored only with its features; "
                                "give X_test, y_test and sensitive_features_test together (or none of them).")
    elif sample_weight_test is not None:
        raise FairermValueError("sample_weight_test weights the scores of X_test; give X_test, y_test and "
                                "sensitive_features_test too.")
    sample_weight = check_sample_weight(sample_weight, _n_rows(X))
    if n_jobs not in (None, 1):
        fitted = Parallel(n_jobs=n_jobs)(
            delayed(_fit_one)(clone(estimator).set_params(warm_start=False), param_name, v, X, y,
                              sensitive_features, test, sample_weight)
            for v in values
        )
    else:
        iterator = values
        if verbose:
            from tqdm.auto import tqdm

            iterator = tqdm(values, desc=f"{param_name} path", unit="fit")
        fitted = _sequential_fits(estimator, param_name, iterator, X, y, sensitive_features, test, sample_weight,
                                  warm_start)
    estimators = [m for m, _ in fitted]
    for model in estimators:
        model.warm_start = estimator.warm_start  # the template's own setting (set_params without its validation)
    return FairPath(param_name, pd.DataFrame([row for _, row in fitted]), estimators)
