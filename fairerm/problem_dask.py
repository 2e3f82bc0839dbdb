r"""Linear FERM on a Dask array: the problem of :mod:`fairerm.problem`, its data left where it lies.

The primal is the one of :class:`fairerm.problem.LinearFermProblem`,

.. math::

    \min_{w, b}\; \tfrac12\|w\|^2 + \sum_i c_i\big(1 - y_i(\langle w, x_i\rangle + b)\big)_+
    \quad\text{s.t.}\quad |\langle w, u_j\rangle| \le \epsilon,

but :math:`X`, :math:`y`, the groups :math:`s` and the weights are dask arrays that no process holds
whole. Every built-in notion (:mod:`fairerm.constraints`) gives weights :math:`C^u_{ji}` that depend
on the sample only through its *cell* (its label and group) and its weight:
:math:`C^u_{ji} = W_{j,\text{cell}(i)}\,w_i`. So one pass over the chunks that sums, per cell, the
weights and the weighted rows :math:`\sum_{i\in\text{cell}} w_i x_i` gives the classes, the groups,
:math:`W` (the notion evaluated on one representative per cell, weighted by the cell's total) and
:math:`U = \sum_{\text{cells}} W_{\cdot,\text{cell}} \sum_{i\in\text{cell}} w_ix_i` (Donini et al.
2018, eq. (10) for equal opportunity), without the :math:`n`-long :math:`y` or :math:`s` ever reaching
the client. The solver is :mod:`fairerm.solvers.dask_ipm`.
"""

from __future__ import annotations

import numpy as np

from ._validation import (_missing, check_binary_target, check_sample_weight, check_sensitive_features,
                          sensitive_column_names, warn_column_vector)
from .constraints import DemographicParity, EqualizedOdds, EqualOpportunity, make_constraint, weighted_constraint
from .exceptions import FairermError, FairermTypeError, FairermValueError, SolverError

__all__ = ["DaskLinearFermProblem", "is_dask_array", "tree_reduce", "check_dask_features", "check_known_sizes",
           "refuse_non_finite"]

_BUILTIN = (EqualOpportunity, DemographicParity, EqualizedOdds)


def is_dask_array(X) -> bool:
    """Whether ``X`` is a dask array (without importing dask when it is not installed)."""
    return type(X).__module__.startswith("dask.") and hasattr(X, "chunks") and hasattr(X, "compute")


def check_known_sizes(values, name: str = "X", *, rows: bool = True) -> None:
    """Refuse a dask array whose chunk sizes are unknown (``nan``, e.g. after a boolean filter), saying how to fix it
    (``rows=False``: only those along the other axes)."""
    if any(np.isnan(size) for size in values.shape[(0 if rows else 1):]):
        raise FairermValueError(
            f"{name} has unknown chunk sizes (nan); got a dask array of shape {values.shape}. Call "
            f"{name}.compute_chunk_sizes() first (for a dask DataFrame, use to_dask_array(lengths=True)).")


def check_dask_features(X, *, name: str = "X", estimator: str | None = None, min_samples: int = 2,
                        n_features: int | None = None) -> None:
    """The checks of :func:`sklearn.utils.check_array` that a dask array allows without computing it.

    Refuses, with the numpy path's wording: not 2-D, unknown chunk sizes, complex or non-numeric values,
    no column, fewer than ``min_samples`` rows. Finiteness needs the values: the passes over the chunks check it.

    Parameters
    ----------
    X : dask.array.Array
    name : str, default="X"
        The argument's name, for the messages.
    estimator : str, optional
        The estimator's name, for the messages (as scikit-learn names it).
    min_samples : int, default=2
        The fewest rows accepted; ``0`` (prediction) also accepts unknown row chunk sizes (the scores are
        mapped chunk by chunk).
    n_features : int, optional
        The number of columns the fitted model expects (prediction).

    Raises
    ------
    FairermValueError
        Not 2-D, unknown chunk sizes, complex values, too few rows or columns.
    FairermTypeError
        Values that are not numbers (strings, dates).
    """
    if X.ndim != 2:
        raise FairermValueError(f"{name} must be 2-D; got a dask array of shape {X.shape}.")
    check_known_sizes(X, name, rows=bool(min_samples))
    kind = np.dtype(X.dtype).kind
    if kind == "c":
        raise FairermValueError(f"Complex data not supported; got a dask array {name} of dtype {X.dtype}. Pass its "
                                "real part (or its modulus) if that is what you mean.")
    if kind not in "biufO":
        raise FairermTypeError(f"{name} must hold real numbers; got a dask array of dtype {X.dtype}.")
    by = f" by {estimator}" if estimator else ""
    if X.shape[1] < 1:
        raise FairermValueError(f"Found array with {X.shape[1]} feature(s) (shape={X.shape}) while a minimum of 1 is "
                                f"required{by}.")
    if min_samples and X.shape[0] < min_samples:
        raise FairermValueError(f"Found array with {X.shape[0]} sample(s) (shape={X.shape}) while a minimum of "
                                f"{min_samples} is required{by}.")
    if n_features is not None and X.shape[1] != n_features:
        raise FairermValueError(f"{name} has {X.shape[1]} features, but {estimator} is expecting {n_features} features "
                                "as input.")


def refuse_non_finite(block, estimator: str) -> None:
    """A chunk of ``X`` with NaN or infinite values refused with scikit-learn's message (as for numpy ``X``)."""
    from sklearn.utils import assert_all_finite

    try:
        assert_all_finite(block, allow_nan=False, estimator_name=estimator, input_name="X")
    except ValueError as exc:
        raise FairermValueError(str(exc)) from exc


def _checked_scores(block, coef, intercept, estimator):
    """One chunk's scores; NaN or infinite values refused (:func:`refuse_non_finite`)."""
    block = np.asarray(block, dtype=np.float64)
    refuse_non_finite(block, estimator)
    return block @ coef + intercept


def lazy_linear_scores(X, coef, intercept, estimator: str):
    r"""Lazy scores :math:`\langle w, x\rangle + b` of a dask ``X``.

    Its shape and dtype are checked now (:func:`check_dask_features`); its values chunk by chunk as they are
    scored (a chunk with NaN or infinite values raises :class:`~fairerm.exceptions.FairermValueError` when the
    result is computed): no pass over the data besides the one that computes the scores.
    """
    check_dask_features(X, estimator=estimator, min_samples=0, n_features=len(coef))
    X = X.rechunk({1: -1})
    return X.map_blocks(_checked_scores, np.asarray(coef, dtype=np.float64), float(intercept), estimator,
                        drop_axis=1, dtype=np.float64)


def _missing_entries(values, name: str, offset: int, column=None) -> dict:
    """Count and first rows (global indices) of the missing entries of one chunk's labels or groups."""
    missing = _missing(values)
    count = int(np.count_nonzero(missing))
    if not count:
        return {}
    return {("missing", name, column): count, ("missing_rows", name, column): (np.flatnonzero(missing)[:5] + offset).tolist()}


def _refuse_missing_entries(stats: dict, name: str, kind: str, groups: bool) -> None:
    """:func:`fairerm._validation._refuse_missing`'s error, from the counts and rows of the chunks."""
    for key in sorted((k for k in stats if isinstance(k, tuple) and k[0] == "missing" and k[1] == name),
                      key=lambda k: (k[2] is not None, k[2] if k[2] is not None else 0)):
        column, count = key[2], stats[key]
        rows = sorted(stats[("missing_rows", name, column)])[:5]
        where = f"{name} column {column!r}" if column is not None else name
        what = "NaN or infinite values" if kind == "f" else "missing values (NaN/None)"
        found = f"{where} contains {what} at rows {rows}{' ...' if count > 5 else ''}"
        if groups:
            raise FairermValueError(
                f"{found}; every sample needs a group{' in every column' if column is not None else ''}. Impute "
                "or drop those rows first.")
        raise FairermValueError(
            f"{found}; every sample needs a label (NaN is not a class). Drop those rows (or fill in their labels) "
            "first.")


def combine(*parts: dict) -> dict:
    """Merge the summaries of several chunks: keys ``max_*`` by maximum, ``min_*`` by minimum, others summed."""
    out = dict(parts[0])
    for part in parts[1:]:
        for key, value in part.items():
            if key not in out:
                out[key] = value
            elif isinstance(key, str) and key.startswith("max_"):
                out[key] = np.maximum(out[key], value)
            elif isinstance(key, str) and key.startswith("min_"):
                out[key] = np.minimum(out[key], value)
            else:
                out[key] = out[key] + value
    return out


def tree_reduce(parts: list, fan_in: int = 8):
    """A dask tree reduction of delayed summaries with :func:`combine` (depth :math:`\\log_8` of the chunks)."""
    import dask

    merge = dask.delayed(combine, pure=True)
    while len(parts) > 1:
        parts = [merge(*parts[i:i + fan_in]) for i in range(0, len(parts), fan_in)]
    return parts[0]


def _cell_stats(X, y, s, sample_weight, offset: int = 0) -> dict:
    """Per chunk: weight totals, counts and weighted row sums of every (label, group) cell; finiteness; max |x|;
    the missing labels and groups (their count and first rows, ``offset`` the chunk's first row)."""
    X = np.asarray(X, dtype=np.float64)
    y, s = np.asarray(y), np.asarray(s)
    weight = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    gaps = _missing_entries(y, "y", offset)
    if s.ndim == 2:
        for j in range(s.shape[1]):
            gaps.update(_missing_entries(s[:, j], "sensitive_features", offset, j))
    else:
        gaps.update(_missing_entries(s, "sensitive_features", offset))
    if gaps:  # the error is raised from the sums (with the rows of every chunk); no cell of these rows
        keep = ~_missing(y) & (~np.any([_missing(s[:, j]) for j in range(s.shape[1])], axis=0) if s.ndim == 2
                               else ~_missing(s))
        X, y, s, weight = X[keep], y[keep], s[keep], weight[keep]
    labels, label_code = np.unique(y, return_inverse=True)
    if s.ndim == 2:  # several columns: a group is a tuple of values
        seen: dict = {}
        group_code = np.array([seen.setdefault(tuple(row), len(seen)) for row in s.tolist()], dtype=np.int64)
        groups = list(seen)
    else:
        groups, group_code = np.unique(s, return_inverse=True)
        groups = groups.tolist()
    cell = label_code.ravel() * len(groups) + group_code.ravel()
    column_max = np.maximum(np.abs(X.max(axis=0)), np.abs(X.min(axis=0))) if X.shape[0] else np.zeros(X.shape[1])
    out = {"max_abs": float(column_max.max(initial=0.0)), "max_abs_columns": column_max, "n_rows": X.shape[0],
           "nonfinite": int(np.count_nonzero(~np.isfinite(X))) + int(np.count_nonzero(~np.isfinite(weight))),
           "negative_weight": int(np.count_nonzero(weight < 0))}
    for code in np.unique(cell):
        rows = cell == code
        label = labels[code // len(groups)]
        key = ("cell", label.item() if isinstance(label, np.generic) else label, groups[code % len(groups)])
        out[key] = np.concatenate([[np.count_nonzero(rows), weight[rows].sum()], weight[rows] @ X[rows]])
    out.update(gaps)
    return out


class DaskLinearFermProblem:
    r"""Linear FERM on dask arrays, from one pass over the chunks (see the module docstring).

    Parameters
    ----------
    X : dask.array.Array (n, d)
    y : dask array or array-like (n,), two classes
    sensitive_features : dask array or array-like (n,) or (n, m)
    C : float
    epsilon : float
    constraint : str or a built-in FairnessConstraint
    sample_weight : dask array, array-like (n,) or None

    Attributes
    ----------
    classes, groups, labels, U (k, d), cell_weights (k, cells), constraint_l1 (k,) (:math:`\|C^u_{j\cdot}\|_1`),
    feature_size (:math:`\max|x_{ij}|`), column_sizes (:math:`\max_i|x_{ik}|`, d), n_samples, n_features,
    upper_sum (:math:`\sum_i c_i`), blocks.
    """

    kind = "linear"
    distributed = True

    def __init__(self, X, y, sensitive_features, C, epsilon, constraint="equal_opportunity", sample_weight=None):
        import dask
        import dask.array as da

        check_dask_features(X)
        self.constraint = make_constraint(constraint)
        if not isinstance(self.constraint, _BUILTIN):
            raise FairermTypeError(f"constraint {self.constraint!r} on a dask array: the distributed fit supports the "
                                   "built-in notions (equal_opportunity, demographic_parity, equalized_odds), whose "
                                   "weights depend on a sample's label and group only; pass a numpy array instead.")
        self.C, self.epsilon = float(C), float(epsilon)
        X = X.rechunk({1: -1})
        n, d = X.shape
        rows = X.chunks[0]

        def aligned(values, name, ndim=(1,)):
            """A dask array (n,) or (n, m) chunked as the rows of X; arrays in memory are checked as numpy's are."""
            if values is None:
                return None
            if not is_dask_array(values):
                if name == "y":  # fairerm's own checks (1-D, missing labels, length, two classes), then the values
                    check_binary_target(values, n)
                elif name == "sensitive_features":
                    check_sensitive_features(values, n)
                else:
                    number = np.ndim(values) == 0 and not isinstance(values, (bool, np.bool_))
                    values = check_sample_weight(values, min(n, 6) if number else n)
                    if number:  # broadcast as in scikit-learn, without an n-long array on the client
                        return da.full(n, float(values[0]), chunks=(rows,))
                values = np.asarray(values)
                if values.ndim == 2 and values.shape[1] == 1:  # one column: taken as 1-D, as numpy's are
                    values = values[:, 0]
                return da.from_array(values, chunks=(rows,) + values.shape[1:])
            check_known_sizes(values, name)
            if values.ndim == 2 and values.shape[1] == 1 and values.shape[0] == n:  # a column: 1-D, as numpy's
                if name == "y":
                    warn_column_vector(name)
                values = values[:, 0]
            if values.ndim not in ndim or values.shape[0] != n:
                what = "label" if name == "y" else "group" if name == "sensitive_features" else "weight"
                raise FairermValueError(f"{name} must have {n} rows (one {what} per row of X); got a dask array of "
                                        f"shape {values.shape}.")
            return values.rechunk((rows,) + values.shape[1:])

        self._column_names = None if is_dask_array(sensitive_features) else sensitive_column_names(sensitive_features)
        self.X = X
        self.y = aligned(y, "y")
        self.s = aligned(sensitive_features, "sensitive_features", (1, 2))
        self.sample_weight = aligned(sample_weight, "sample_weight")
        self.blocks = [b for b in X.to_delayed().ravel()]
        self.y_blocks = list(self.y.to_delayed().ravel())
        s_blocks = self.s.to_delayed().ravel()
        w_blocks = [None] * len(rows) if self.sample_weight is None else list(self.sample_weight.to_delayed().ravel())
        offsets = np.concatenate([[0], np.cumsum(rows)[:-1]]).astype(int).tolist()
        stats = tree_reduce([dask.delayed(_cell_stats, pure=True)(xb, yb, sb, wb, offset)
                             for xb, yb, sb, wb, offset in zip(self.blocks, self.y_blocks, s_blocks, w_blocks,
                                                               offsets)])
        self.w_blocks = w_blocks
        try:
            stats = dask.compute(stats)[0]
        except FairermError:
            raise
        except Exception as exc:  # a task failed for good
            raise SolverError(f"the distributed fit failed in its first pass over the chunks: {type(exc).__name__}: "
                              f"{exc}. No model was fitted; check the data and the workers and fit again.") from exc
        self._from_stats(stats, n, d)

    def _from_stats(self, stats: dict, n: int, d: int) -> None:
        if stats["nonfinite"]:
            raise FairermValueError(f"X or sample_weight contains NaN or infinity ({stats['nonfinite']} values in "
                                    "the dask arrays). Impute or drop them before fitting.")
        if stats["negative_weight"]:
            raise FairermValueError(f"sample_weight must be non-negative; got {stats['negative_weight']} negative "
                                    "weights in the dask array.")
        _refuse_missing_entries(stats, "y", np.dtype(self.y.dtype).kind, groups=False)
        _refuse_missing_entries(stats, "sensitive_features", np.dtype(self.s.dtype).kind, groups=True)
        cells = [key for key in stats if isinstance(key, tuple) and key[0] == "cell"]
        labels = np.array([key[1] for key in cells])
        groups = [key[2] for key in cells]
        target = check_binary_target(labels)
        sens = check_sensitive_features(np.array(groups, dtype=object) if isinstance(groups[0], tuple)
                                        else np.array(groups))
        totals = np.array([stats[key] for key in cells])  # (cells, 2 + d): count, weight total, weighted row sum
        if not (totals[target.signed > 0, 1].sum() > 0 and totals[target.signed < 0, 1].sum() > 0):
            raise FairermValueError("sample_weight is zero for every sample of one class; a binary classifier needs "
                                    "a positive weight in both classes.")
        weights = weighted_constraint(self.constraint, target.signed, sens, totals[:, 1])
        with np.errstate(divide="ignore", invalid="ignore"):
            self.cell_weights = np.where(totals[:, 1] > 0, weights.weights / totals[:, 1], 0.0)
        self.U = self.cell_weights @ totals[:, 2:]
        self.constraint_l1 = np.abs(self.cell_weights) @ totals[:, 1]
        self.constraint_weights_norm = float(self.constraint_l1.max(initial=0.0))
        self.classes, self.groups = target.classes, sens.groups
        self.group_names = self._column_names if self._column_names is not None else sens.names
        self.labels = list(weights.labels)
        self.feature_size = float(stats["max_abs"])
        self.column_sizes = np.asarray(stats["max_abs_columns"], dtype=np.float64)
        self.n_samples, self.n_features = n, d
        self.upper_sum = self.C * float(totals[:, 1].sum())
        self.class_weight = (self.C * float(totals[target.signed < 0, 1].sum()),
                             self.C * float(totals[target.signed > 0, 1].sum()))

    @property
    def n_constraints(self) -> int:
        return self.U.shape[0]

    @property
    def constraint_norms(self) -> np.ndarray:
        return np.linalg.norm(self.U, axis=1)

    @property
    def positive_class(self):
        return self.classes[1]

    def live(self) -> np.ndarray:
        """Rows :math:`u_j` above the round-off floor, each coordinate against its column's size (as
        :func:`fairerm.solvers.live_constraints` does for numpy data)."""
        from .solvers._constraint_space import NOISE_RTOL, scaled_rows

        norms = np.linalg.norm(scaled_rows(self.U, self.column_sizes), axis=1)
        return norms > NOISE_RTOL * self.constraint_weights_norm
