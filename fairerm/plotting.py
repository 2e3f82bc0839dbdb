r"""Figures of accuracy and fairness: the Pareto front along an epsilon path, group score
distributions, and per-group error rates.

Every function takes ``ax=None`` (a new figure is made when it is ``None``) and returns the
:class:`matplotlib.axes.Axes` it drew on, as scikit-learn's displays do; ``matplotlib.pyplot``
is imported only when a function is called.

The Pareto front. Along a FERM path (:func:`fairerm.fair_path`) each fitted model :math:`h_\epsilon`
gives a point :math:`(U(h_\epsilon), A(h_\epsilon))` with :math:`A` the accuracy and :math:`U` an
unfairness measure, the difference of equal opportunity

.. math:: \mathrm{DEO}(h) = \big|P(h=1 \mid y=1, s=a) - P(h=1 \mid y=1, s=b)\big|

or of demographic parity :math:`\mathrm{DDP}(h) = |P(h=1 \mid s=a) - P(h=1 \mid s=b)|` (largest
gap between groups when there are more than two), both estimated on a sample. A point is on the
front when no other point is at least as accurate *and* at least as fair, and strictly better in
one of the two. The front is drawn as a staircase: for an allowed unfairness :math:`t` on the
horizontal axis, the best accuracy reachable by a model of the path with :math:`U \le t`.

References
----------
M. Donini, L. Oneto, S. Ben-David, J. Shawe-Taylor, M. Pontil. "Empirical Risk Minimization
Under Fairness Constraints". NeurIPS 2018. arXiv:1802.08626.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal, Mapping

import numpy as np
import pandas as pd

from ._validation import check_consistent_length, check_option, check_scalar, check_sensitive_features
from .exceptions import FairermTypeError, FairermValueError, FairermWarning
from .metrics import group_table

__all__ = [
    "ParetoFrontDisplay",
    "pareto_mask",
    "plot_pareto_front",
    "plot_group_score_distributions",
    "plot_group_rates",
]

_FAIRNESS_LABELS = {
    "deo": "DEO = |TPR gap between groups|",
    "ddp": "DDP = |selection-rate gap between groups|",
}
_REFERENCE_MARKERS = ("*", "D", "s", "^", "P", "X", "v", "h")
_RATE_LABELS = {
    "tpr": "true-positive rate",
    "fpr": "false-positive rate",
    "selection_rate": "selection rate",
    "base_rate": "base rate",
    "accuracy": "accuracy",
    "precision": "precision",
    "fnr": "false-negative rate",
    "tnr": "true-negative rate",
}


def _pyplot():
    import matplotlib.pyplot as plt

    return plt


def _new_axes(ax):
    if ax is None:
        _, ax = _pyplot().subplots(figsize=(6.4, 4.6))
    return ax


def _refuse_complex(values: Any, name: str) -> None:
    """Refuse complex input (even with zero imaginary parts), as
    :func:`fairerm.metrics._regression.check_predictions` does: casting it to float would silently drop the
    imaginary parts (numpy only gives a ComplexWarning)."""
    dtype = getattr(values, "dtype", None)
    if not isinstance(dtype, np.dtype):  # lists, DataFrames, pandas extension dtypes, other array libraries
        try:
            dtype = np.asarray(values).dtype
        except (TypeError, ValueError):  # ragged or odd input: the float conversion reports it
            return
    if dtype.kind == "c":
        raise FairermValueError(f"Complex data not supported: {name} must hold real numbers; got dtype {dtype}.")


def _as_real(values: Any, name: str, refusal: str) -> np.ndarray:
    """``values`` as a float array: None, complex values and non-numbers refused (``refusal`` ends the message)."""
    if values is None:
        raise FairermValueError(f"{name} is required; got None.")
    _refuse_complex(values, name)
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise FairermTypeError(f"{name} {refusal}; got {type(values).__name__} ({exc}).") from exc


def _check_points(values: Any, name: str) -> np.ndarray:
    """``values`` as a 1-D float array of finite numbers, one per point, or a clear error."""
    points = _as_real(values, name, "must hold numbers (one per point)")
    if points.ndim != 1:
        raise FairermValueError(f"{name} must be 1-D (one value per point); got shape {points.shape}.")
    bad = ~np.isfinite(points)
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        raise FairermValueError(
            f"{name} contains NaN or infinite values at points {rows}{' ...' if bad.sum() > 5 else ''}; every "
            "point needs a finite value (a point whose metric is undefined cannot be placed on the front)."
        )
    return points


def pareto_mask(accuracy: Any, unfairness: Any) -> np.ndarray:
    """Boolean mask of the points not dominated in (higher accuracy, lower unfairness).

    Point :math:`i` is dominated when some :math:`j` has :math:`A_j \\ge A_i`, :math:`U_j \\le U_i`
    and one of the two strictly. Duplicated points are all kept.

    Parameters
    ----------
    accuracy, unfairness : array-like of shape (n_points,)
        Finite numbers, one per point.

    Returns
    -------
    ndarray of bool, shape (n_points,)

    Raises
    ------
    FairermValueError
        Input that is None, not 1-D, of different lengths, complex, or holding NaN or infinite values.
    FairermTypeError
        Input that is not numbers.

    Examples
    --------
    >>> pareto_mask([0.8, 0.9, 0.7], [0.1, 0.2, 0.3]).tolist()
    [True, True, False]
    """
    acc = _check_points(accuracy, "accuracy")
    unf = _check_points(unfairness, "unfairness")
    check_consistent_length(accuracy=acc, unfairness=unf)
    # O(n log n) sweep, no n x n temporaries: i is dominated iff a point of strictly higher accuracy has
    # unfairness <= U_i, or a point of the same accuracy has unfairness < U_i.
    if acc.size == 0:
        return np.zeros(0, dtype=bool)
    levels, level_of = np.unique(acc, return_inverse=True)  # ascending accuracies, exact ties merged
    level_of = level_of.reshape(-1)
    order = np.argsort(level_of, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(level_of[order]) != 0])
    level_min = np.minimum.reduceat(unf[order], starts)  # smallest unfairness at each accuracy
    higher_min = np.minimum.accumulate(level_min[::-1])[::-1]  # ... at that accuracy or above
    has_higher = level_of < levels.size - 1
    above = higher_min[np.minimum(level_of + 1, levels.size - 1)]  # smallest at a strictly higher accuracy
    dominated = (has_higher & (above <= unf)) | (level_min[level_of] < unf)
    return ~dominated


def _results_frame(path: Any) -> tuple[pd.DataFrame, str]:
    results = getattr(path, "results", path)
    if not isinstance(results, pd.DataFrame):
        raise FairermTypeError(
            f"path must be a FairPath (from fairerm.fair_path) or its results DataFrame; got {type(path).__name__}."
        )
    param_name = getattr(path, "param_name", None)
    if param_name is None:
        param_name = next((c for c in ("epsilon", "C") if c in results), None)
    if param_name is None or param_name not in results:
        raise FairermValueError(
            f"path results need an 'epsilon' or 'C' column; got columns {list(results.columns)!r}."
        )
    return results, param_name


def _color_norm(values: np.ndarray):
    from matplotlib.colors import Normalize, SymLogNorm

    positive = values[values > 0]
    low, high = float(np.min(values)), float(np.max(values))
    if positive.size and high / positive.min() > 100:
        return SymLogNorm(linthresh=float(positive.min()), vmin=low, vmax=high, base=10)
    return Normalize(vmin=low, vmax=high if high > low else low + 1.0)


class ParetoFrontDisplay:
    """Accuracy against unfairness along an epsilon (or C) path, with its Pareto front.

    Build it with :meth:`from_path`, or with the constructor on arrays and then :meth:`plot`.

    Parameters
    ----------
    unfairness, accuracy : array-like of shape (n_points,)
        DEO (or DDP) and accuracy of each model of the path, finite numbers.
    param_values : array-like of shape (n_points,)
        The parameter of each model (epsilon or C), finite numbers, used for the colours.
    param_name : str, default="epsilon"
    fairness : {"deo", "ddp"}, default="deo"
    split : str, default="test"
        Name of the sample the numbers were measured on (for the axis labels).
    reference_points : dict of str to (float, float), optional
        ``name -> (unfairness, accuracy)`` of other models (the unconstrained SVM, baselines),
        each marked with its own marker and legend entry.

    Attributes
    ----------
    ax_ : matplotlib.axes.Axes
    figure_ : matplotlib.figure.Figure
    scatter_ : matplotlib.collections.PathCollection
        The path's points (one per model).
    front_line_ : matplotlib.lines.Line2D
        The staircase through the Pareto-optimal points.
    reference_artists_ : dict of str to matplotlib.lines.Line2D
    colorbar_ : matplotlib.colorbar.Colorbar
    on_front_ : ndarray of bool
        Which points are on the front.
    """

    def __init__(self, unfairness, accuracy, param_values, *, param_name: str = "epsilon",
                 fairness: Literal["deo", "ddp"] = "deo", split: str = "test",
                 reference_points: Mapping[str, tuple[float, float]] | None = None):
        self.unfairness = _check_points(unfairness, "unfairness")
        self.accuracy = _check_points(accuracy, "accuracy")
        self.param_values = _check_points(param_values, "param_values")
        check_consistent_length(unfairness=self.unfairness, accuracy=self.accuracy, param_values=self.param_values)
        if self.accuracy.size == 0:
            raise FairermValueError("the path is empty; nothing to plot.")
        self.param_name = param_name
        self.fairness = check_option(fairness, "fairness", tuple(_FAIRNESS_LABELS))
        self.split = split
        self.reference_points = _check_reference_points(reference_points)

    @classmethod
    def from_path(cls, path, *, reference_points=None, fairness: Literal["deo", "ddp"] = "deo",
                  split: str = "test", ax=None) -> "ParetoFrontDisplay":
        """Read a :class:`~fairerm.FairPath` (or its ``results``) and plot it.

        ``split="test"`` uses the ``test_*`` columns; when the path has none (``fair_path`` was
        called without a test set) the training columns are used and a warning says so.
        """
        results, param_name = _results_frame(path)
        check_option(fairness, "fairness", tuple(_FAIRNESS_LABELS))
        check_option(split, "split", ("test", "train"))
        if f"{split}_accuracy" not in results and split == "test":
            warnings.warn(FairermWarning("the path has no test columns (fair_path was called without X_test); "
                                         "plotting the training accuracy and fairness instead."), stacklevel=2)
            split = "train"
        for column in (f"{split}_accuracy", f"{split}_{fairness}"):
            if column not in results:
                raise FairermValueError(f"path results have no column {column!r}; got {list(results.columns)!r}.")
        display = cls(results[f"{split}_{fairness}"], results[f"{split}_accuracy"], results[param_name],
                      param_name=param_name, fairness=fairness, split=split, reference_points=reference_points)
        return display.plot(ax=ax)

    def plot(self, ax=None, *, colorbar: bool = True, annotate: bool = False) -> "ParetoFrontDisplay":
        """Draw the points, the front and the reference points on ``ax`` (a new one if ``None``).

        ``annotate=True`` also writes each point's parameter value next to it.
        """
        ax = _new_axes(ax)
        self.on_front_ = pareto_mask(self.accuracy, self.unfairness)
        norm = _color_norm(self.param_values)
        self.scatter_ = ax.scatter(self.unfairness, self.accuracy, c=self.param_values, cmap="viridis", norm=norm,
                                   s=42, edgecolors="0.25", linewidths=0.6, zorder=3, label=f"{self.param_name} path")
        front_x, front_y = _staircase(self.unfairness[self.on_front_], self.accuracy[self.on_front_],
                                      right_end=float(np.max(self.unfairness)))
        (self.front_line_,) = ax.plot(front_x, front_y, drawstyle="steps-post", color="C3", linewidth=1.4,
                                      zorder=2, label="Pareto front")
        if annotate:
            for x, y, value in zip(self.unfairness, self.accuracy, self.param_values):
                ax.annotate(f"{value:.3g}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
        self.reference_artists_ = {}
        for k, (name, (x, y)) in enumerate(self.reference_points.items()):
            (artist,) = ax.plot([x], [y], linestyle="none", marker=_REFERENCE_MARKERS[k % len(_REFERENCE_MARKERS)],
                                markersize=11, color=f"C{(k + 1) % 10}", markeredgecolor="black", zorder=4,
                                label=name)
            self.reference_artists_[name] = artist
        self.colorbar_ = ax.figure.colorbar(self.scatter_, ax=ax, label=self.param_name) if colorbar else None
        ax.set_xlabel(f"{_FAIRNESS_LABELS[self.fairness]} ({self.split})")
        ax.set_ylabel(f"accuracy ({self.split})")
        ax.set_title(f"Accuracy-fairness trade-off along the {self.param_name} path")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize=8)
        self.ax_, self.figure_ = ax, ax.figure
        return self


def _staircase(unfairness: np.ndarray, accuracy: np.ndarray, right_end: float) -> tuple[np.ndarray, np.ndarray]:
    """Front points sorted by unfairness, the last level carried on to ``right_end``."""
    order = np.lexsort((-accuracy, unfairness))
    x, y = unfairness[order], accuracy[order]
    if right_end > x[-1]:
        x, y = np.append(x, right_end), np.append(y, y[-1])
    return x, y


def _check_reference_points(reference_points) -> dict[str, tuple[float, float]]:
    if reference_points is None:
        return {}
    if not isinstance(reference_points, Mapping):
        raise FairermTypeError(
            "reference_points must be a dict name -> (unfairness, accuracy); "
            f"got {type(reference_points).__name__}."
        )
    checked = {}
    for name, point in reference_points.items():
        _refuse_complex(point, f"reference_points[{name!r}]")
        values = np.asarray(point, dtype=float).ravel() if np.ndim(point) else np.array([])
        if values.shape != (2,) or not np.all(np.isfinite(values)):
            raise FairermValueError(
                f"reference_points[{name!r}] must be a pair (unfairness, accuracy) of finite numbers; got {point!r}."
            )
        checked[str(name)] = (float(values[0]), float(values[1]))
    return checked


def plot_pareto_front(path, *, reference_points: Mapping[str, tuple[float, float]] | None = None,
                      fairness: Literal["deo", "ddp"] = "deo", split: str = "test", ax=None):
    """Plot accuracy (vertical) against DEO or DDP (horizontal) along a fairness path.

    Each model of the path is a point coloured by its epsilon (or C); the Pareto front (module
    docstring) is drawn as a staircase; ``reference_points`` are marked with their own markers.

    Parameters
    ----------
    path : FairPath or pandas.DataFrame
        The result of :func:`fairerm.fair_path`, or its ``results`` table.
    reference_points : dict of str to (float, float), optional
        ``name -> (unfairness, accuracy)``, e.g. ``{"SVM": (0.21, 0.84)}``.
    fairness : {"deo", "ddp"}, default="deo"
    split : {"test", "train"}, default="test"
        Falls back to ``"train"`` with a warning when the path has no test columns.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    See Also
    --------
    ParetoFrontDisplay : the same figure, keeping its artists as attributes.
    """
    return ParetoFrontDisplay.from_path(path, reference_points=reference_points, fairness=fairness,
                                        split=split, ax=ax).ax_


def _check_scores(scores: Any, name: str = "scores") -> np.ndarray:
    values = _as_real(scores, name, "must be numbers (one score per sample)")
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1 or values.size == 0:
        raise FairermValueError(f"{name} must be a non-empty 1-D array of scores; got shape {values.shape}.")
    if not np.all(np.isfinite(values)):
        raise FairermValueError(f"{name} contains NaN or infinite values.")
    return values


def plot_group_score_distributions(scores, *, sensitive_features, kind: Literal["hist", "ecdf"] = "hist",
                                   bins: int = 30, threshold: float | None = None, ax=None):
    r"""Distribution of a score (or a regression output) in each group.

    For each group :math:`g`, the histogram (``kind="hist"``, as a density, so groups of different
    sizes compare) or the empirical CDF :math:`\hat F_g(t) = \frac{1}{n_g}\#\{i: s_i = g, f(x_i) \le t\}`
    (``kind="ecdf"``) of the scores :math:`f(x_i)`. Demographic parity of the thresholded classifier
    holds at every threshold exactly when the :math:`\hat F_g` coincide; the largest vertical gap
    between two ECDFs is their Kolmogorov-Smirnov distance.

    Parameters
    ----------
    scores : array-like of shape (n_samples,)
        Decision values, probabilities or predictions.
    sensitive_features : array-like of shape (n_samples,)
    kind : {"hist", "ecdf"}, default="hist"
    bins : int, default=30
        Number of histogram bins (shared by the groups).
    threshold : float, optional
        Draw a vertical line there (e.g. 0 for decision values); a finite real number.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        One line (ECDF) or one step histogram per group, labelled ``"<group> (n=<n_g>)"``.
    """
    values = _check_scores(scores)
    encoding = check_sensitive_features(sensitive_features, values.shape[0], reference="scores")
    check_option(kind, "kind", ("hist", "ecdf"))
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise FairermValueError(f"bins must be a positive integer; got {bins!r}.")
    if threshold is not None:
        threshold = float(check_scalar(threshold, "threshold"))  # a finite real number (not a string, NaN or inf)
    ax = _new_axes(ax)
    edges = np.histogram_bin_edges(values, bins=int(bins))
    for code, group in enumerate(encoding.groups):
        member = np.sort(values[encoding.codes == code])
        label = f"{group} (n={member.size})"
        if kind == "hist":
            ax.hist(member, bins=edges, density=True, histtype="step", linewidth=1.6, color=f"C{code % 10}",
                    label=label)
        else:
            ax.plot(member, np.arange(1, member.size + 1) / member.size, drawstyle="steps-post",
                    color=f"C{code % 10}", linewidth=1.6, label=label)
    if threshold is not None:
        ax.axvline(threshold, color="0.3", linestyle="--", linewidth=1.0, label=f"threshold {threshold:g}")
    ax.set_xlabel("score")
    ax.set_ylabel("density" if kind == "hist" else "empirical CDF")
    ax.set_title("Score distribution by group")
    ax.grid(True, alpha=0.3)
    ax.legend(title=_legend_title(encoding.names), fontsize=8)
    return ax


def _gap_text(table: pd.DataFrame, rate: str) -> str:
    """``"<rate> gap 0.123"`` (largest minus smallest over the groups), or, when the rate is undefined
    (NaN in ``group_table``) for some group, ``"<rate> gap undefined (no <rate> for group(s) ...)"``."""
    values = table[rate].to_numpy(dtype=float)
    undefined = ~np.isfinite(values)
    if undefined.any():
        groups = ", ".join(str(group) for group in table.index[undefined])
        return f"{rate} gap undefined (no {rate} for group{'s' if undefined.sum() > 1 else ''} {groups})"
    return f"{rate} gap {np.max(values) - np.min(values):.3f}"


def _legend_title(names) -> str:
    """``"group"``, or for intersectional groups the tuple of the sensitive columns, e.g. ``"(sex, race)"``."""
    return "group" if not names else f"({', '.join(map(str, names))})"


def plot_group_rates(y_true, y_pred, *, sensitive_features, rates=("tpr", "fpr", "selection_rate"),
                     pos_label: Any = None, ax=None):
    r"""Bars of per-group rates of a binary classifier: the fairness report at a glance.

    With :math:`h` the classifier, for each group :math:`g`: the true-positive rate
    :math:`P(h=1 \mid y=1, s=g)` (``"tpr"``; its largest gap is the DEO), the false-positive rate
    :math:`P(h=1 \mid y=0, s=g)` (``"fpr"``; with the TPR gap, equalized odds) and the selection
    rate :math:`P(h=1 \mid s=g)` (``"selection_rate"``; its gap is the DDP), estimated by
    :func:`fairerm.metrics.group_table`. The title reports the largest gap of each rate, or says the
    gap is undefined, naming the groups, when the rate is undefined in some group (NaN in
    ``group_table``, e.g. the TPR of a group with no positive example; its bar is drawn empty and
    labelled ``n/a``), as :func:`~fairerm.metrics.equal_opportunity_difference` refuses to compute it.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    sensitive_features : array-like of shape (n_samples,)
    rates : sequence of str, default=("tpr", "fpr", "selection_rate")
        Columns of :func:`~fairerm.metrics.group_table` to show, among ``"tpr"``, ``"fpr"``,
        ``"selection_rate"``, ``"base_rate"``, ``"accuracy"``, ``"precision"``, ``"fnr"``, ``"tnr"``.
    pos_label : optional
        The positive class. Default: the larger of the two labels in sorted order, ``classes_[1]``
        of a fitted classifier (not scikit-learn's metrics' ``pos_label=1``); see
        :func:`~fairerm.metrics.equal_opportunity_difference`.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        One bar container per group (``ax.containers``), the rates on the horizontal axis.
    """
    if isinstance(rates, str):
        rates = (rates,)
    rates = list(rates)
    if not rates:
        raise FairermValueError("rates must name at least one rate.")
    for rate in rates:
        check_option(rate, "rates", tuple(_RATE_LABELS))
    table = group_table(y_true, y_pred, sensitive_features=sensitive_features, pos_label=pos_label)
    ax = _new_axes(ax)
    positions = np.arange(len(rates))
    width = 0.8 / len(table.index)
    for k, group in enumerate(table.index):
        heights = table.loc[group, rates].to_numpy(dtype=float)
        bars = ax.bar(positions + (k - (len(table.index) - 1) / 2) * width, np.nan_to_num(heights), width,
                      label=f"{group} (n={int(table.loc[group, 'count'])})", color=f"C{k % 10}")
        ax.bar_label(bars, labels=[f"{h:.2f}" if np.isfinite(h) else "n/a" for h in heights], fontsize=7, padding=2)
    ax.set_xticks(positions, [_RATE_LABELS[r] for r in rates])
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("rate")
    gaps = ", ".join(_gap_text(table, r) for r in rates)
    ax.set_title(f"Rates by group ({gaps})", fontsize=9)
    ax.legend(title=_legend_title(list(table.index.names)) if isinstance(table.index, pd.MultiIndex)
              else str(table.index.name), fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    return ax
