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

from ._validation import check_binary_target, check_sensitive_features, sensitive_column_names
from .constraints import DemographicParity, EqualizedOdds, EqualOpportunity, make_constraint, weighted_constraint
from .exceptions import FairermError, FairermTypeError, FairermValueError, SolverError

__all__ = ["DaskLinearFermProblem", "is_dask_array", "tree_reduce"]

_BUILTIN = (EqualOpportunity, DemographicParity, EqualizedOdds)


def is_dask_array(X) -> bool:
    """Whether ``X`` is a dask array (without importing dask when it is not installed)."""
    return type(X).__module__.startswith("dask.") and hasattr(X, "chunks") and hasattr(X, "compute")


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


def _cell_stats(X, y, s, sample_weight) -> dict:
    """Per chunk: weight totals, counts and weighted row sums of every (label, group) cell; finiteness; max |x|."""
    X = np.asarray(X, dtype=np.float64)
    y, s = np.asarray(y), np.asarray(s)
    weight = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
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
        key = ("cell", labels[code // len(groups)].item(), groups[code % len(groups)])
        out[key] = np.concatenate([[np.count_nonzero(rows), weight[rows].sum()], weight[rows] @ X[rows]])
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

        if X.ndim != 2:
            raise FairermValueError(f"X must be 2-D; got a dask array of shape {X.shape}.")
        if any(np.isnan(size) for size in X.shape):
            raise FairermValueError("X has unknown chunk sizes (nan); call X.compute_chunk_sizes() first.")
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
            if values is None:
                return None
            if not is_dask_array(values):
                values = np.asarray(values)
                values = da.from_array(values, chunks=(rows,) + values.shape[1:])
            if values.ndim not in ndim or values.shape[0] != n:
                raise FairermValueError(f"{name} must have {n} rows (one per row of X); got shape {values.shape}.")
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
        stats = tree_reduce([dask.delayed(_cell_stats, pure=True)(xb, yb, sb, wb)
                             for xb, yb, sb, wb in zip(self.blocks, self.y_blocks, s_blocks, w_blocks)])
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
