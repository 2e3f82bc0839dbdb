"""Input validation at the package boundary.

Every public entry point validates its inputs once, here, and hands clean contiguous
``float64`` arrays to the layers below (which assume them). Errors name the argument,
say what was received and what is allowed.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any, Iterable

import numpy as np
import pandas as pd
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.validation import check_array

from .exceptions import FairermTypeError, FairermValueError

__all__ = [
    "check_features",
    "check_sensitive_features",
    "check_binary_target",
    "check_consistent_length",
    "check_scalar",
    "check_option",
    "check_feature_names",
    "check_sample_weight",
    "SensitiveEncoding",
    "BinaryTargetEncoding",
]


def check_features(X: Any, *, name: str = "X", dtype=np.float64, accept_sparse: bool = False) -> np.ndarray:
    """Return ``X`` as a finite 2-D C-contiguous array, or raise a clear error.

    With ``accept_sparse``, a scipy.sparse CSR or CSC matrix (or array) is returned as a CSR/CSC
    matrix of float64, never densified; other sparse formats are refused by scikit-learn's check.

    Raises
    ------
    ValueError
        If ``X`` is not 2-D, is empty, or holds NaN or infinite values.
    TypeError
        If ``X`` cannot be converted to numbers.
    """
    if X is None:
        raise FairermValueError(f"{name} is None; expected an array-like of shape (n_samples, n_features).")
    try:
        return check_array(
            X,
            accept_sparse=("csr", "csc") if accept_sparse else False,
            dtype=dtype,
            order="C",
            ensure_all_finite=True,
            input_name=name,
        )
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        if name not in msg:
            msg = f"{name}: {msg}"
        if isinstance(exc, TypeError):
            raise FairermTypeError(msg) from exc
        raise FairermValueError(msg) from exc


def _column_names(X: Any) -> np.ndarray | None:
    """The column names of a DataFrame-like ``X`` when they are all strings (scikit-learn's rule)."""
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    names = np.asarray(list(columns), dtype=object)
    if names.size and all(isinstance(name, str) for name in names):
        return names
    return None


def check_feature_names(estimator: Any, X: Any, *, reset: bool) -> None:
    """Record (``reset=True``) or check (``reset=False``) the column names of ``X``, as scikit-learn does.

    A model fitted on named columns refuses, at predict time, columns that are named differently or
    come in another order: predicting from reordered columns would silently mix up the features.

    Raises
    ------
    FairermValueError
        ``reset=False`` and the names of ``X`` differ from ``estimator.feature_names_in_``.
    """
    names = _column_names(X)
    if reset:
        if names is not None:
            estimator.feature_names_in_ = names
        elif hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
        return
    fitted = getattr(estimator, "feature_names_in_", None)
    kind = type(estimator).__name__
    if fitted is None:
        if names is not None:
            warnings.warn(f"X has feature names, but {kind} was fitted without feature names", UserWarning,
                          stacklevel=3)
        return
    if names is None:
        warnings.warn(f"X does not have valid feature names, but {kind} was fitted with feature names",
                      UserWarning, stacklevel=3)
        return
    if len(names) == len(fitted) and np.array_equal(names, fitted):
        return
    if sorted(names.tolist()) == sorted(fitted.tolist()):
        raise FairermValueError(
            f"X: the feature names are the same as in fit but in another order; {kind} would mix up the "
            f"features. Fitted order: {fitted.tolist()[:10]}; got: {names.tolist()[:10]}. Reorder the columns "
            f"(e.g. X[model.feature_names_in_])."
        )
    unseen = [name for name in names.tolist() if name not in set(fitted.tolist())][:5]
    missing = [name for name in fitted.tolist() if name not in set(names.tolist())][:5]
    raise FairermValueError(
        f"X: the feature names should match those that were passed during fit. Feature names unseen at fit "
        f"time: {unseen}; feature names seen at fit time, yet now missing: {missing}."
    )


class SensitiveEncoding:
    """Integer codes of a sensitive attribute and the group labels they stand for.

    Attributes
    ----------
    codes : ndarray of shape (n_samples,), int64
        ``codes[i]`` is the index into ``groups`` of sample ``i``'s group.
    groups : ndarray of shape (n_groups,)
        The distinct group labels, sorted; for several columns (intersectional groups) each label is
        the tuple of the column values, e.g. ``("F", "Black")``.
    names : list or None
        For several columns, the name of each (the DataFrame's column names, else
        ``"sensitive_feature_0"``, ``"sensitive_feature_1"``, ... as fairlearn names them); None for one.
    """

    def __init__(self, codes: np.ndarray, groups: np.ndarray, names: list | None = None):
        self.codes = codes
        self.groups = groups
        self.names = names

    @property
    def n_groups(self) -> int:
        return len(self.groups)

    def counts(self) -> np.ndarray:
        return np.bincount(self.codes, minlength=self.n_groups)


def largest_magnitude(X: Any) -> float:
    r""":math:`\max_{ij}|X_{ij}|` of a dense array or scipy.sparse matrix, without an :math:`|X|` temporary
    (800 MB for 1,000,000 x 100 dense rows; a copy of the nonzeros for sparse ones); 0 for an empty one."""
    if not X.size:
        return 0.0
    if isinstance(X, np.ndarray):
        return max(abs(float(X.max())), abs(float(X.min())))
    data = getattr(X, "data", None)  # scipy.sparse: the stored values (abs(X) would copy the whole matrix)
    if isinstance(data, np.ndarray) and data.ndim == 1:
        return max(abs(float(data.max())), abs(float(data.min()))) if data.size else 0.0
    return float(abs(X).max())


def warn_column_vector(name: str = "y") -> None:
    """scikit-learn's warning for an (n, 1) target: accepted as 1-D, but said (not silently reshaped)."""
    warnings.warn(f"A column-vector {name} was passed when a 1d array was expected. Please change the shape of "
                  f"{name} to (n_samples, ), for example using ravel().", DataConversionWarning, stacklevel=4)


def _missing(values: np.ndarray) -> np.ndarray:
    """Boolean mask of missing entries (NaN, None, pandas NA/NaT) of a 1-D array."""
    if values.dtype.kind == "f":
        return ~np.isfinite(values)
    if values.dtype == object:
        return np.asarray(pd.isna(values), dtype=bool)
    return np.zeros(values.shape[0], dtype=bool)


def _refuse_missing(values: np.ndarray, name: str, column: Any = None, *, from_pandas: bool = False,
                    groups: bool = True) -> None:
    """Refuse missing entries of ``values``, naming ``name`` (and ``column``) and the first rows.

    ``groups=True``: the values are a sensitive attribute (every sample needs a group); ``False``:
    class labels (every sample needs a label).
    """
    missing = _missing(values)
    if missing.any():
        rows = np.flatnonzero(missing)[:5].tolist()
        where = f"{name} column {column!r}" if column is not None else name
        what = ("NaN or infinite values" if values.dtype.kind == "f" and not from_pandas
                else "missing values (NaN/None)")
        found = f"{where} contains {what} at rows {rows}{' ...' if missing.sum() > 5 else ''}"
        if groups:
            raise FairermValueError(
                f"{found}; every sample needs a group{' in every column' if column is not None else ''}. Impute "
                "or drop those rows first."
            )
        raise FairermValueError(
            f"{found}; every sample needs a label (NaN is not a class). Drop those rows (or fill in their labels) "
            "first."
        )


def _columns(values: Any) -> list | None:
    """``[(column name, 1-D array), ...]`` for a 2-D input with several columns, else None."""
    if isinstance(values, pd.DataFrame):
        return [(column, values[column].to_numpy()) for column in values.columns] if values.shape[1] > 1 else None
    arr = np.asarray(values) if not isinstance(values, (pd.Series, pd.Index)) else None
    if arr is not None and arr.ndim == 2 and arr.shape[1] > 1:
        return [(j, arr[:, j]) for j in range(arr.shape[1])]
    return None


def sensitive_column_names(values: Any) -> list | None:
    """The names of the columns of a several-column sensitive attribute (fairlearn's convention), else None."""
    columns = _columns(values)
    if columns is None:
        return None
    if isinstance(values, pd.DataFrame):
        return [column if isinstance(column, str) else f"sensitive_feature_{column}" for column, _ in columns]
    return [f"sensitive_feature_{j}" for j, _ in columns]


def _as_1d_labels(values: Any, name: str, *, warn_column: bool = False, multi_column: bool = False,
                  groups: bool | None = None) -> np.ndarray:
    """One label per sample as a 1-D array, or a clear error.

    A single column (DataFrame, (n, 1) array) is taken as 1-D (with scikit-learn's
    ``DataConversionWarning`` when ``warn_column``). Several columns are refused, unless
    ``multi_column``: then each sample's label is the *tuple* of its column values (fairlearn's
    intersectional groups), and a missing value in any column is refused naming the column.
    ``groups`` says what a missing value lacks in the message: a group (a sensitive attribute) or a
    class label; ``None`` (default): a group when ``multi_column`` (only sensitive attributes take
    several columns), else a label.
    """
    if groups is None:
        groups = multi_column
    if values is None:
        raise FairermValueError(f"{name} is required; got None.")
    columns = _columns(values)
    if columns is not None:
        if not multi_column:
            shape = getattr(values, "shape", (len(values), len(columns)))
            raise FairermValueError(
                f"{name} must be 1-D (one label per sample); got {len(columns)} columns, shape {tuple(shape)}. "
                f"Multi-output targets are not supported: pass one column (a column vector is accepted)."
            )
        for column, column_values in columns:
            _refuse_missing(column_values, name, column, from_pandas=isinstance(values, pd.DataFrame), groups=groups)
        tuples = pd.Series(list(zip(*(column_values.tolist() for _, column_values in columns))), dtype=object)
        return tuples.to_numpy()
    if isinstance(values, pd.DataFrame):
        if warn_column:
            warn_column_vector(name)
        values = values.iloc[:, 0]
    from_pandas = isinstance(values, (pd.Series, pd.Index))
    arr = values.to_numpy() if from_pandas else np.asarray(values)
    if arr.ndim == 2 and arr.shape[1] == 1:
        if warn_column:
            warn_column_vector(name)
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise FairermValueError(f"{name} must be 1-D (one label per sample); got an array of shape {arr.shape}.")
    _refuse_missing(arr, name, from_pandas=from_pandas, groups=groups)
    return arr


def _unique(arr: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct labels and the code of each sample; mixed, unorderable types are refused."""
    try:
        labels, codes = np.unique(arr, return_inverse=True)
    except TypeError as exc:
        kinds = sorted({type(v).__name__ for v in arr.tolist()})
        raise FairermTypeError(
            f"{name} mixes label types that cannot be compared ({', '.join(kinds)}); use one type, e.g. "
            f"{name}.astype(str)."
        ) from exc
    return labels, codes.ravel()


def check_sensitive_features(
    sensitive_features: Any,
    n_samples: int | None = None,
    *,
    name: str = "sensitive_features",
    min_groups: int = 2,
    reference: str = "X",
) -> SensitiveEncoding:
    """Encode a sensitive attribute as integer group codes.

    Accepts a 1-D array-like, a pandas Series, or several columns (a DataFrame or a 2-D array): each
    sample's group is then the *tuple* of its column values (intersectional groups, as in fairlearn),
    e.g. ``("F", "Black")``.

    Raises
    ------
    ValueError
        Missing values (naming the column), wrong length, or fewer than ``min_groups`` distinct groups.
    TypeError
        Labels of types that cannot be compared.
    """
    names = sensitive_column_names(sensitive_features)
    arr = _as_1d_labels(sensitive_features, name, multi_column=True, groups=True)
    if n_samples is not None and arr.shape[0] != n_samples:
        raise FairermValueError(
            f"{name} has {arr.shape[0]} entries but {reference} has {n_samples} samples; they must have the same "
            "length."
        )
    groups, codes = _unique(arr, name)
    if len(groups) < min_groups:
        raise FairermValueError(
            f"{name} has {len(groups)} distinct group(s) ({list(groups)!r}); at least {min_groups} are needed "
            "to measure or constrain a difference between groups."
        )
    return SensitiveEncoding(codes.astype(np.int64).ravel(), groups, names)


def check_sample_weight(sample_weight: Any, n_samples: int, *, name: str = "sample_weight",
                        reference: str = "X") -> np.ndarray | None:
    """Return ``sample_weight`` as a fresh finite non-negative float64 array of length ``n_samples``.

    ``None`` stays ``None`` (every sample weighs 1); a number is broadcast, as in scikit-learn; an
    array of booleans is taken as 0/1 weights. The input is never modified (a copy is returned).

    Parameters
    ----------
    sample_weight : None, number or array-like of shape (n_samples,)
    n_samples : int
        The number of samples the weights must match.
    name : str, default="sample_weight"
        The argument's name, for the messages.
    reference : str, default="X"
        The argument ``n_samples`` was taken from, named in the wrong-length message (e.g.
        ``"y_true"`` for functions that take no ``X``).

    Returns
    -------
    ndarray of shape (n_samples,) or None

    Raises
    ------
    FairermValueError
        Not 1-D, wrong length, NaN or infinite values, negative values, or every weight zero.
    FairermTypeError
        Values that are not real numbers, or a single boolean (``True`` is not a weight).
    """
    if sample_weight is None:
        return None
    if isinstance(sample_weight, (bool, np.bool_)):
        raise FairermTypeError(
            f"{name} must be a number or one weight per sample; got the boolean {sample_weight!r}, which is not a "
            f"weight. Pass None to weigh every sample 1, a number, or an array (an array of booleans is taken as "
            f"0/1 weights)."
        )
    if isinstance(sample_weight, numbers.Number):
        values = np.full(n_samples, sample_weight)
    else:
        values = sample_weight.to_numpy() if isinstance(sample_weight, (pd.Series, pd.DataFrame)) else np.asarray(
            sample_weight)
    if values.ndim != 1:
        raise FairermValueError(f"{name} must be 1-D (one weight per sample) or a scalar; got shape {values.shape}.")
    if values.shape[0] != n_samples:
        raise FairermValueError(
            f"{name} has {values.shape[0]} entries but {reference} has {n_samples} samples; they must have the "
            "same length."
        )
    if values.dtype.kind not in "biuf":
        raise FairermTypeError(f"{name} must hold real numbers; got dtype {values.dtype}.")
    values = np.array(values, dtype=np.float64)  # a copy: the caller's array is never modified
    bad = ~np.isfinite(values)
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        raise FairermValueError(f"{name} contains NaN or infinite values at rows {rows}; every weight must be finite.")
    negative = values < 0
    if negative.any():
        rows = np.flatnonzero(negative)[:5].tolist()
        raise FairermValueError(
            f"{name} must be non-negative; got {float(values[rows[0]])!r} at row {rows[0]} (negative at rows {rows}"
            f"{' ...' if negative.sum() > 5 else ''})."
        )
    if n_samples and not values.any():
        raise FairermValueError(f"{name} is zero for every sample; at least one sample needs a positive weight.")
    return values


class BinaryTargetEncoding:
    """A binary target mapped to ``{-1, +1}``.

    ``classes[1]`` (the larger label, as in scikit-learn) is the positive class ``+1``.
    """

    def __init__(self, signed: np.ndarray, classes: np.ndarray):
        self.signed = signed
        self.classes = classes


def check_binary_target(y: Any, n_samples: int | None = None, *, name: str = "y") -> BinaryTargetEncoding:
    """Map any two class labels to ``{-1.0, +1.0}``.

    Raises
    ------
    ValueError
        If ``y`` is not 1-D, has missing values, has the wrong length, or has a number
        of distinct labels other than two.
    """
    arr = _as_1d_labels(y, name, warn_column=True)
    if n_samples is not None and arr.shape[0] != n_samples:
        raise FairermValueError(
            f"{name} has {arr.shape[0]} entries but X has {n_samples} samples; they must have the same "
            "length."
        )
    classes, codes = _unique(arr, name)
    if len(classes) != 2:
        shown = list(classes[:10])
        raise FairermValueError(
            f"{name} must have exactly two classes for a binary classifier; got {len(classes)}: {shown!r}"
            + (" ..." if len(classes) > 10 else "")
            + "."
        )
    return BinaryTargetEncoding(np.where(codes.ravel() == 1, 1.0, -1.0), classes)


def check_consistent_length(**arrays: Any) -> int:
    """Check that every named array has the same first dimension; return it."""
    lengths = {}
    for key, value in arrays.items():
        if value is None:
            continue
        lengths[key] = value.shape[0] if hasattr(value, "shape") else len(value)
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{k} has {v}" for k, v in lengths.items())
        raise FairermValueError(f"Inputs have inconsistent numbers of samples: {desc}.")
    return next(iter(lengths.values())) if lengths else 0


def check_scalar(
    value: Any,
    name: str,
    *,
    kind: type | tuple[type, ...] = numbers.Real,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> Any:
    """Check that ``value`` is a finite scalar of ``kind`` inside the given interval."""
    if isinstance(value, bool) or not isinstance(value, kind):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        expected = " or ".join(getattr(k, "__name__", str(k)) for k in kinds)
        raise FairermTypeError(f"{name} must be a {expected}; got {value!r} of type {type(value).__name__}.")
    if isinstance(value, numbers.Real) and not np.isfinite(value):
        raise FairermValueError(f"{name} must be finite; got {value!r}.")
    if low is not None and (value < low or (value == low and not low_inclusive)):
        op = ">=" if low_inclusive else ">"
        raise FairermValueError(f"{name} must be {op} {low}; got {value!r}.")
    if high is not None and (value > high or (value == high and not high_inclusive)):
        op = "<=" if high_inclusive else "<"
        raise FairermValueError(f"{name} must be {op} {high}; got {value!r}.")
    return value


def check_option(value: Any, name: str, options: Iterable[Any]) -> Any:
    """Check that ``value`` is one of ``options``."""
    options = list(options)
    if not isinstance(value, str) or value not in options:
        raise FairermValueError(f"{name} must be one of {options!r}; got {value!r}.")
    return value
