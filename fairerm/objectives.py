r"""The arithmetic every FERM problem and solver shares: row norms, the per-sample box, the constraint
offsets, the primal and dual objectives and the optimal intercept.

The problem they belong to is stated in :mod:`fairerm.problem` (primal, dual and notation); these
functions are re-exported there, so ``from fairerm.problem import dual_objective`` keeps working. They
depend on numpy only, so that the problem objects, the certificate and every backend compute the same
numbers the same way.
"""

from __future__ import annotations

import numpy as np

from .exceptions import FairermValueError

__all__ = ["row_squared_norms", "per_sample_box", "check_offset", "hinge_primal_objective", "dual_objective",
           "optimal_intercept"]


_ROW_BLOCK_NONZEROS = 1 << 20


def row_squared_norms(X) -> np.ndarray:
    r""":math:`\|x_i\|^2` of every row of a dense array or a scipy.sparse matrix.

    Sparse rows are summed from the stored values by blocks of about :math:`2^{20}` nonzeros, so the
    memory beyond the result is a few MB whatever the number of nonzeros (``X.multiply(X)`` would copy
    the whole matrix).
    """
    if isinstance(X, np.ndarray):
        return np.einsum("ij,ij->i", X, X)
    X = X.tocsr()
    if not X.has_canonical_format:  # duplicate entries of a cell add up before they are squared
        X = X.copy()
        X.sum_duplicates()
    n = X.shape[0]
    out = np.zeros(n)
    indptr, data = X.indptr, X.data
    rows_per_block = max(1, int(n * _ROW_BLOCK_NONZEROS // max(X.nnz, 1)))
    for first in range(0, n, rows_per_block):
        last = min(n, first + rows_per_block)
        begin, end = int(indptr[first]), int(indptr[last])
        if end == begin:
            continue
        squares = data[begin:end] ** 2
        starts = indptr[first:last] - begin
        nonempty = np.diff(indptr[first:last + 1]) > 0  # consecutive nonempty starts delimit each row's values
        out[first:last][nonempty] = np.add.reduceat(squares, starts[nonempty])
    return out


def per_sample_box(C: float, sample_weight: np.ndarray | None, n_samples: int) -> np.ndarray:
    r"""The per-sample box :math:`c_i = C w_i` of the dual (:math:`c_i = C` without weights), as libsvm does.

    Weighting the hinge term of sample :math:`i` by :math:`w_i` is the same as repeating it :math:`w_i`
    times for integer weights; a zero weight removes the sample from the loss (:math:`\alpha_i = 0`).
    """
    if sample_weight is None:
        return np.full(n_samples, float(C))
    return float(C) * np.asarray(sample_weight, dtype=np.float64)


def check_offset(offset, n_constraints: int) -> np.ndarray:
    r"""The constraint offsets :math:`c^u` as a float array of shape (k,); ``None`` means zeros."""
    if offset is None:
        return np.zeros(n_constraints)
    offset = np.asarray(offset, dtype=np.float64).reshape(-1)
    if offset.shape != (n_constraints,) or not np.all(np.isfinite(offset)):
        raise FairermValueError(f"constraint_offset must be {n_constraints} finite numbers (one per constraint row); "
                                f"got shape {offset.shape}.")
    return offset


def hinge_primal_objective(w_norm_sq: float, decision_values: np.ndarray, y: np.ndarray, upper: np.ndarray) -> float:
    """:math:`\\tfrac12\\|w\\|^2 + \\sum_i c_i \\max(0, 1 - y_i f(x_i))` for a given model."""
    return 0.5 * float(w_norm_sq) + float(np.sum(upper * np.maximum(0.0, 1.0 - y * decision_values)))


def dual_objective(beta_K_beta: float, alpha: np.ndarray, mu: np.ndarray, epsilon: float,
                   offset: np.ndarray | None = None) -> float:
    """Dual objective written as a *maximisation* so that weak duality reads primal >= dual.

    Minimising the Lagrangian over :math:`(w, b, \\xi)` at :math:`w = \\sum_i \\beta_i\\phi(x_i)`
    leaves :math:`-\\tfrac12 \\beta^\\top K \\beta + \\mathbf 1^\\top\\alpha - \\epsilon\\|\\mu\\|_1
    + c^{u\\top}\\mu` (the offsets :math:`c^u` enter through :math:`\\mu_j(\\langle w,u_j\\rangle + c^u_j)`).
    """
    value = -0.5 * float(beta_K_beta) + float(np.sum(alpha)) - float(epsilon) * float(np.sum(np.abs(mu)))
    if offset is not None:
        value += float(np.asarray(offset) @ np.asarray(mu))
    return value


def optimal_intercept(f_without_intercept: np.ndarray, y: np.ndarray, upper: np.ndarray) -> float:
    """The intercept that minimises the primal objective for a fixed :math:`w`.

    With :math:`t_i = y_i - f_i` (``f`` without intercept) the hinge part is

    .. math:: h(b) = \\sum_{y_i=+1} c_i (t_i - b)_+ + \\sum_{y_i=-1} c_i (b - t_i)_+,

    convex and piecewise linear with right derivative
    :math:`-\\sum_{y_i=+1, t_i > b} c_i + \\sum_{y_i=-1, t_i \\le b} c_i`. We return a point where
    zero lies in the subdifferential (the midpoint of the optimal interval when it is not a
    single point), so every dual solver shares one exact, solver-independent intercept. When
    ``w`` is the optimal weight vector this ``b`` is an optimal intercept of the primal.
    """
    t = y - f_without_intercept
    order = np.argsort(t, kind="stable")
    t_sorted, y_sorted, c_sorted = t[order], y[order], upper[order]
    # Right derivative just after the k-th breakpoint (k = 0..n-1), and before the first one.
    pos_weight = np.where(y_sorted > 0, c_sorted, 0.0)
    neg_weight = np.where(y_sorted < 0, c_sorted, 0.0)
    total_pos = pos_weight.sum()
    slope_after = -(total_pos - np.cumsum(pos_weight)) + np.cumsum(neg_weight)
    slope_before_first = -total_pos
    if slope_before_first >= 0:  # no positive weight at all: any b <= t_min is optimal
        return float(t_sorted[0] - 1.0)
    k = int(np.searchsorted(slope_after, 0.0, side="left"))  # first breakpoint whose right slope >= 0
    if k >= len(t_sorted):  # only negatives weigh: any b >= t_max
        return float(t_sorted[-1] + 1.0)
    if slope_after[k] > 0 or k + 1 >= len(t_sorted):
        return float(t_sorted[k])
    # slope exactly zero on (t_k, t_{k+1}]: every point there is optimal; take the midpoint
    # of the maximal flat stretch.
    j = k
    while j + 1 < len(t_sorted) and slope_after[j + 1] == 0:
        j += 1
    upper_end = t_sorted[j + 1] if j + 1 < len(t_sorted) else t_sorted[j]
    return float(0.5 * (t_sorted[k] + upper_end))
