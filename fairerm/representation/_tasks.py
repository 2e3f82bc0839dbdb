"""Tasks of a multitask target: detect each column's type and encode it for training (numpy only).

A target ``Y`` of shape ``(n,)`` or ``(n, n_tasks)`` holds one task per column. A task is

* ``"binary"``: exactly two distinct labels (any labels; the larger, as sorted by
  ``numpy.unique``, is the positive class, as in scikit-learn), encoded as ``{0.0, 1.0}`` and
  trained with the binary cross-entropy;
* ``"regression"``: real values, standardised with the training mean and standard deviation
  (weighted by ``sample_weight`` when given; so tasks of different scales weigh alike) and
  trained with the squared error.

``task_types="auto"`` calls a column binary when it has exactly two distinct values and
regression when it is numeric with more than two; anything else is an error (a single class,
or more than two non-numeric labels: split a multiclass task into one-vs-rest columns).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..exceptions import FairermTypeError, FairermValueError

__all__ = ["TASK_TYPES", "TaskSpec", "encode_targets", "decode_outputs"]

TASK_TYPES: tuple[str, ...] = ("binary", "regression")


@dataclass
class TaskSpec:
    """How one target column is encoded.

    Attributes
    ----------
    kind : {"binary", "regression"}
    name : str
        Column name (from a DataFrame) or ``"task <j>"``.
    classes : ndarray of shape (2,) or None
        For a binary task, the original labels; ``classes[1]`` is encoded as 1.
    mean, scale : float
        For a regression task, the standardisation ``(y - mean) / scale``.
    """

    kind: str
    name: str
    classes: np.ndarray | None = None
    mean: float = 0.0
    scale: float = 1.0


def _target_columns(Y: Any, n_samples: int) -> tuple[list[np.ndarray], list[str], bool]:
    """Split ``Y`` into 1-D columns; also say whether ``Y`` was 1-D."""
    if Y is None:
        raise FairermValueError("Y is required; got None. Pass one column per task, shape (n_samples,) or (n_samples, n_tasks).")
    if isinstance(Y, pd.Series):
        return [Y.to_numpy()], [str(Y.name) if Y.name is not None else "task 0"], True
    if isinstance(Y, pd.DataFrame):
        return [Y[c].to_numpy() for c in Y.columns], [str(c) for c in Y.columns], False
    arr = np.asarray(Y)
    if arr.ndim == 1:
        return [arr], ["task 0"], True
    if arr.ndim == 2 and arr.shape[1] >= 1:
        return [arr[:, j] for j in range(arr.shape[1])], [f"task {j}" for j in range(arr.shape[1])], False
    raise FairermValueError(f"Y must have shape (n_samples,) or (n_samples, n_tasks); got an array of shape {arr.shape}.")


def _missing(column: np.ndarray) -> np.ndarray:
    """Missing or infinite entries: NaN, inf and, in object columns, None, ``pd.NA`` and ``pd.NaT`` too."""
    if column.dtype.kind in "fc":
        return ~np.isfinite(column)
    if column.dtype == object:
        infinite = np.array([isinstance(v, (float, np.floating)) and np.isinf(v) for v in column], dtype=bool)
        return np.asarray(pd.isna(column), dtype=bool) | infinite
    return np.zeros(column.shape[0], dtype=bool)


def _resolve_types(task_types: Any, n_tasks: int) -> list[str]:
    if isinstance(task_types, str):
        allowed = ("auto",) + TASK_TYPES
        if task_types not in allowed:
            raise FairermValueError(f"task_types must be one of {list(allowed)!r} or a sequence of them; got {task_types!r}.")
        return [task_types] * n_tasks
    if not isinstance(task_types, Sequence):
        raise FairermTypeError(
            f"task_types must be 'auto', 'binary', 'regression' or a sequence of those (one per task); got {task_types!r}."
        )
    types = list(task_types)
    if len(types) != n_tasks:
        raise FairermValueError(f"task_types has {len(types)} entries but Y has {n_tasks} task column(s); give one per column.")
    for j, kind in enumerate(types):
        if kind not in ("auto",) + TASK_TYPES:
            raise FairermValueError(f"task_types[{j}] must be 'auto', 'binary' or 'regression'; got {kind!r}.")
    return types


def _decide_task(column: np.ndarray, kind: str, name: str, weights: np.ndarray | None = None) -> TaskSpec:
    """The task of ``column`` (type, classes, standardisation); ``column`` holds the rows that count."""
    classes = np.unique(column)
    numeric = column.dtype.kind in "biuf"
    if kind == "auto":
        if len(classes) == 2:
            kind = "binary"
        elif len(classes) > 2 and numeric and column.dtype.kind != "b":
            kind = "regression"
        elif len(classes) < 2:
            raise FairermValueError(
                f"Y column {name!r} has a single value ({classes[0]!r}): a task with one class cannot be learned. "
                "Drop the column or give it both classes."
            )
        else:
            raise FairermValueError(
                f"Y column {name!r} has {len(classes)} non-numeric labels ({list(classes[:5])!r}...); only binary "
                "classification and regression tasks are supported. Split it into one-vs-rest binary columns."
            )
    if kind == "binary":
        if len(classes) != 2:
            raise FairermValueError(
                f"Y column {name!r} is a binary task but has {len(classes)} distinct value(s) "
                f"({list(classes[:5])!r}); a binary task needs exactly two classes."
            )
        return TaskSpec("binary", name, classes=classes)
    if not numeric:
        raise FairermTypeError(f"Y column {name!r} is a regression task but holds non-numeric values of dtype {column.dtype}.")
    values = column.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        mean = float(np.average(values, weights=weights))
        scale = float(np.sqrt(np.average((values - mean) ** 2, weights=weights)))
    if not (np.isfinite(mean) and np.isfinite(scale)):
        raise FairermValueError(
            f"Y column {name!r} is a regression task whose values (up to {float(np.abs(values).max()):.3g} in magnitude) "
            "overflow its mean or standard deviation; rescale it."
        )
    if scale == 0.0:
        raise FairermValueError(f"Y column {name!r} is a regression task with a constant value ({mean!r}); it cannot be learned.")
    return TaskSpec("regression", name, mean=mean, scale=scale)


def _apply(spec: TaskSpec, column: np.ndarray) -> np.ndarray:
    """Encode ``column`` with a task already decided (0/1 for binary, standardised for regression)."""
    if spec.kind == "binary":
        return (column == spec.classes[1]).astype(np.float64)
    return (column.astype(np.float64) - spec.mean) / spec.scale


def encode_targets(
    Y: Any, n_samples: int, task_types: Any = "auto", *, sample_weight: np.ndarray | None = None
) -> tuple[list[TaskSpec], np.ndarray, bool]:
    """Validate a multitask target and encode it (regression columns standardised with ``sample_weight``).

    With ``sample_weight`` the tasks (type, classes, standardisation) are decided by the rows of positive
    weight only: a zero weight is the same as dropping the row (a label seen only in zero-weight rows is
    no class, and cannot turn a binary column into a regression one). Every row is still validated
    (length, missing values), and encoded with the task so decided (a label of a zero-weight row that is
    not a class encodes as 0; such rows are not trained on).

    Returns
    -------
    specs : list of TaskSpec
        One per column.
    encoded : ndarray of shape (n_samples, n_tasks), float64
        0/1 for binary tasks, standardised values for regression tasks.
    one_dimensional : bool
        Whether ``Y`` was 1-D (then ``predict`` returns a 1-D array).

    Raises
    ------
    FairermValueError
        Wrong shape or length, missing values, a column with one class, an unknown task type.
    """
    columns, names, one_dimensional = _target_columns(Y, n_samples)
    types = _resolve_types(task_types, len(columns))
    counted = None if sample_weight is None else np.flatnonzero(np.asarray(sample_weight) > 0)
    specs, encoded = [], []
    for column, name, kind in zip(columns, names, types):
        if column.shape[0] != n_samples:
            raise FairermValueError(f"Y has {column.shape[0]} rows but X has {n_samples} samples; they must have the same length.")
        bad = _missing(column)
        if bad.any():
            raise FairermValueError(
                f"Y column {name!r} has {int(bad.sum())} missing or infinite value(s) (first at row "
                f"{int(np.flatnonzero(bad)[0])}); every sample needs a finite target."
            )
        spec = (_decide_task(column, kind, name) if counted is None
                else _decide_task(column[counted], kind, name, sample_weight[counted]))
        specs.append(spec)
        encoded.append(_apply(spec, column))
    return specs, np.column_stack(encoded), one_dimensional


def decode_outputs(specs: list[TaskSpec], outputs: np.ndarray, one_dimensional: bool) -> np.ndarray:
    """Map network outputs (logits / standardised values) back to labels and target units."""
    columns = []
    for j, spec in enumerate(specs):
        if spec.kind == "binary":
            columns.append(spec.classes[(outputs[:, j] > 0.0).astype(np.int64)])
        else:
            columns.append(outputs[:, j] * spec.scale + spec.mean)
    if one_dimensional:
        return columns[0]
    if all(np.asarray(c).dtype.kind in "biuf" for c in columns):
        return np.column_stack(columns)
    return np.column_stack([np.asarray(c, dtype=object) for c in columns])
