r"""The exact working-set step of linear FERM's DCD solver (:mod:`fairerm.solvers.linear_dcd`).

The DCD iterate tells which points lie inside, outside and near the margin. Fixing the hinge terms of
the points away from it (linear for :math:`\alpha_i = c_i`, zero for :math:`\alpha_i = 0`) leaves a QP in
:math:`(w, b, \xi_S)` over the working set :math:`S`, solved by an interior-point method: the
:math:`\alpha`-form of :mod:`fairerm.solvers._svm_ipm` (Woodbury, :math:`d\times d` systems), checked by a
gap recomputed from its margins, and where that fails the primal form of
:mod:`fairerm.solvers._svm_primal_ipm`, which keeps :math:`w` as an iterate (a box large against the data's
scale makes :math:`w = p + A^\top\alpha` cancel to round-off). :func:`polish` widens :math:`S` until the KKT
conditions of the whole problem hold; :func:`whole_problem` hands every row to the step when no small
working set certifies.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from .. import _memory
from .._memory import check_memory
from ._svm_ipm import svm_ipm
from ._svm_primal_ipm import reduced_gap_holds, svm_primal_ipm

__all__ = ["polish", "whole_problem", "DENSE_WORKING_BLOCK_ENTRIES", "SPARSE_DENSE_BLOCK_MAX_FEATURES",
           "SPARSE_POLISH_MAX_WORKING", "WHOLE_PROBLEM_MEMORY_SHARE"]

def _reduced_primal(inner, working: np.ndarray, bound: np.ndarray,
                    dense_block_entries: int | None = None, primal_first: bool = False):
    r"""The primal restricted to the working set, the other points' hinge terms fixed.

    Solved by the interior-point method of :mod:`fairerm.solvers._svm_ipm` on the projected working
    rows (:math:`O(|S| d^2)` per step; sparse rows: see :data:`DENSE_WORKING_BLOCK_ENTRIES`); when its
    Woodbury form fails (one direction of the data
    dominating by orders of magnitude cancels it) the :math:`m\times m` form is tried for up to 1,000
    rows (:math:`O(m^3)` per Newton step: at 2,000 rows a failing attempt cost 30 s). ``None`` when
    neither certifies the working-set problem. ``primal_first``: start with the primal form (a box large
    against the data's scale, where the alpha form cannot certify: measured, about half of the time of
    the 100,000 x 6 example of ``tests/test_trust.py`` went into its failing attempt).
    """
    X, y, upper, Q, offsets = inner.X, inner.y, inner.upper, inner.Q, inner.offsets
    d = X.shape[1]
    pull = X.T @ np.where(bound, upper * y, 0.0)  # the bound points' hinge terms are linear in (w, b)
    pull_b = float(np.sum(upper[bound] * y[bound]))
    if sp.issparse(X):  # few features: a dense block of the working rows; many: their m x m Gram
        block = DENSE_WORKING_BLOCK_ENTRIES if dense_block_entries is None else dense_block_entries
        if d > SPARSE_DENSE_BLOCK_MAX_FEATURES or working.size * d > block:
            return _reduced_primal_gram(inner, working, pull, pull_b)
        rows = X[working].toarray()
    else:
        rows = X[working]
    if Q.shape[1]:  # w lies in the complement of span(Q): work with the projected rows and pull
        rows = rows - inner.Z[working] @ Q.T
        pull = pull - Q @ (Q.T @ pull)
    arguments = dict(offsets=offsets[working], pull=pull, pull_intercept=pull_b)

    def primal_form():
        primal = svm_primal_ipm(rows, y[working], upper[working], **arguments)
        if Q.shape[1]:
            primal.w = primal.w - Q @ (Q.T @ primal.w)
        return primal

    def alpha_form():
        dual = svm_ipm(rows, y[working], upper[working], **arguments)
        if dual.status == "optimal" and not reduced_gap_holds(dual, rows, y[working], upper[working], **arguments):
            dual.status = "inaccurate"
        return dual

    # alpha-form first unless told otherwise: at a large box most multipliers at their bound make
    # w = p + A'alpha a cancelling sum (and its own gap, expanded in p, unreliable); the primal form
    # keeps w as an iterate
    first, second = (primal_form, alpha_form) if primal_first else (alpha_form, primal_form)
    result = first()
    if result.status != "optimal" and result.status != "infeasible_dual":
        result = second()
    if result.status != "optimal" and result.status != "infeasible_dual" and d < working.size <= 1000:
        result = svm_ipm(rows, y[working], upper[working], newton="direct", **arguments)
    if result.status == "optimal":
        return result.w, result.b, result.alpha
    return None


#: Sparse X with at most :data:`SPARSE_DENSE_BLOCK_MAX_FEATURES` columns: the exact step copies its working
#: rows into a dense block of at most this many entries (80 MB) and keeps the d x d Newton systems. With
#: more columns it works with their m x m Gram, for at most :data:`SPARSE_POLISH_MAX_WORKING` rows: each
#: Newton step then costs O(m^3) (measured on 5,000 x 5,000 sparse rows: 2,000 working rows took 100 s,
#: where DCD with the tight inner tolerances of the sparse defaults certified the optimum in 0.5 s).
DENSE_WORKING_BLOCK_ENTRIES = 10_000_000
SPARSE_DENSE_BLOCK_MAX_FEATURES = 2000
SPARSE_POLISH_MAX_WORKING = 500


def _reduced_primal_gram(inner, working: np.ndarray, pull: np.ndarray, pull_b: float):
    r""":func:`_reduced_primal` on sparse rows, through their :math:`m\times m` Gram (no dense :math:`m\times d` block).

    Writing :math:`w = p_\perp + w'` with :math:`p_\perp = Pp` (the pull, projected) turns the pull into
    offsets, :math:`o_i + \langle p_\perp, x_i\rangle`, and leaves an SVM in :math:`w'` whose dual needs only
    :math:`G = X_SPX_S^\top = X_SX_S^\top - Z_SZ_S^\top` (:math:`Z = XQ`); with :math:`G = RR^\top` the
    interior-point method runs on the rows of :math:`R` and :math:`w = p_\perp + P X_S^\top(\alpha\circ y_S)`.
    ``None`` when the working set is larger than :data:`SPARSE_POLISH_MAX_WORKING`.
    """
    X, y, upper, Q, offsets, Z = inner.X, inner.y, inner.upper, inner.Q, inner.offsets, inner.Z
    m = working.size
    if m > SPARSE_POLISH_MAX_WORKING:
        return None
    check_memory(4 * 8.0 * m * m, f"The exact step's Gram of {m} working rows (sparse X with more than "
                 f"{SPARSE_DENSE_BLOCK_MAX_FEATURES} columns)",
                 "Free some memory, or tighten inner_tol and inner_gap_tol so that fewer points lie near the margin "
                 f"(the step takes at most SPARSE_POLISH_MAX_WORKING = {SPARSE_POLISH_MAX_WORKING} rows).")
    rows, Z_S = X[working], Z[working]
    if Q.shape[1]:
        pull = pull - Q @ (Q.T @ pull)
    gram = np.asarray((rows @ rows.T).toarray()) - Z_S @ Z_S.T
    eigval, eigvec = scipy.linalg.eigh(0.5 * (gram + gram.T), check_finite=False)
    keep = eigval > 1e-12 * max(float(eigval.max(initial=0.0)), np.finfo(float).tiny)
    factor = eigvec[:, keep] * np.sqrt(eigval[keep])
    y_S = y[working]
    result = svm_ipm(factor, y_S, upper[working], offsets=offsets[working] + np.asarray(rows @ pull).ravel(),
                     pull_intercept=pull_b)
    if result.status != "optimal":
        return None
    weights = result.alpha * y_S
    w = pull + np.asarray(rows.T @ weights).ravel() - Q @ (Z_S.T @ weights)
    return w, result.b, result.alpha


def polish(inner, b: float, kkt_tol: float | None = None, band: float = 0.05,
            max_working: int | None = None, max_rounds: int = 12):
    r"""Finish with an exact working-set step; return ``(alpha, b, w)`` when the KKT conditions certify it.

    The DCD iterate tells which points are inside the margin (:math:`\alpha_i = c_i`), outside it
    (:math:`\alpha_i = 0`) or near it. Keeping the points with margin :math:`|y_if(x_i) - 1|` below ``band``
    (and the free ones) as a working set :math:`S`, and fixing the others' hinge terms (linear for
    :math:`\alpha_i = c_i`, zero for :math:`\alpha_i = 0`), leaves a small QP in :math:`(w, b, \xi_S)` solved
    by an interior-point method (:mod:`fairerm.solvers._svm_ipm`). Points outside :math:`S` whose margin
    contradicts their assumed side join :math:`S`, and the step repeats; when more points than
    :math:`S` holds are on the wrong side, :math:`S` was too narrow to pin the intercept down, and the
    band around the DCD iterate doubles instead. When no point is on the wrong side, every KKT
    condition of the problem with intercept holds (up to ``kkt_tol``): the result is the exact optimum.
    Returns None otherwise (or when :math:`|S|` would exceed ``max_working``, by default
    :math:`\max(20000, n/10)`: the interior-point method holds a few copies of the working rows).
    """
    X, y, upper, alpha = inner.X, inner.y, inner.upper, inner.alpha
    kkt_tol = inner.kkt_tol if kkt_tol is None else kkt_tol
    n = X.shape[0]
    max_working = max(20000, n // 10) if max_working is None else max_working
    yf_start = y * (X @ inner.w_perp() + b + inner.offsets)
    distance = np.abs(yf_start - 1.0)
    weighs = upper > 0.0  # a zero box (zero sample weight) fixes alpha_i = 0: never in the working set
    in_working = ((distance <= band) | ((alpha > 0.0) & (alpha < upper))) & weighs
    yf = yf_start
    for _ in range(max_rounds):
        if in_working.sum() > max_working:
            return None
        if not in_working.any():  # nothing near the margin yet: the intercept would be undetermined
            band *= 2.0
            in_working = (distance <= band) & weighs
            continue
        bound = ~in_working & (yf < 1.0)
        working = np.flatnonzero(in_working)
        reduced = _reduced_primal(inner, working, bound)
        if reduced is None:
            return None
        w, b_new, alpha_working = reduced
        yf_new = y * (X @ w + b_new + inner.offsets)
        wrong_side = ~in_working & weighs & ((bound & (yf_new > 1.0 + kkt_tol)) | (~bound & (yf_new < 1.0 - kkt_tol)))
        n_wrong = int(wrong_side.sum())
        if n_wrong == 0:
            new_alpha = np.where(bound, upper, 0.0)
            new_alpha[working] = alpha_working
            return new_alpha, b_new, w
        if n_wrong > working.size:  # the reduced problem ran away: widen around the trusted iterate
            band *= 2.0
            in_working |= (distance <= band) & weighs
        else:
            yf = yf_new
            in_working |= wrong_side
    return None



#: The whole problem is handed to the exact step's primal form when its working set would not fit
#: (:func:`whole_problem`) only while its copies of the rows take at most this share of the available memory.
WHOLE_PROBLEM_MEMORY_SHARE = 0.25


def whole_problem(inner, primal_first: bool = False):
    r"""The exact step on every row: the last resort when :func:`polish` cannot certify from the DCD iterate.

    With a box large against the data's scale (features of size :math:`10^6`, C = 1) coordinate descent
    does not approach the optimum (each step moves :math:`\alpha_i` by :math:`10^{-12}` of its box), so
    no working set around its iterate is small; the interior-point methods need no starting point and
    their Newton steps are :math:`(d+1)\times(d+1)` systems, :math:`O(nd^2)` to form. Dense (or narrow
    sparse) rows only, and only while the copies fit (:data:`WHOLE_PROBLEM_MEMORY_SHARE`). ``primal_first``
    as in :func:`_reduced_primal`.
    """
    X, n, d = inner.X, inner.X.shape[0], inner.X.shape[1]
    if sp.issparse(X) and d > SPARSE_DENSE_BLOCK_MAX_FEATURES:
        return None
    available = _memory.available_memory_bytes()
    if available is not None and 6 * 8.0 * n * (d + 2) > WHOLE_PROBLEM_MEMORY_SHARE * available:
        return None
    weighs = inner.upper > 0.0
    working = np.flatnonzero(weighs)
    if working.size == 0:
        return None
    reduced = _reduced_primal(inner, working, np.zeros(n, dtype=bool),
                              dense_block_entries=max(DENSE_WORKING_BLOCK_ENTRIES, n * d), primal_first=primal_first)
    if reduced is None:
        return None
    w, b, alpha_working = reduced
    alpha = np.zeros(n)
    alpha[working] = alpha_working
    return alpha, b, w
