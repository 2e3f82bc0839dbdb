r"""Numba kernels of the linear FERM DCD solver (:mod:`fairerm.solvers.linear_dcd`), and a numpy entry point.

The box QP :math:`\min_{0\le\alpha\le c}\tfrac12\alpha^\top Q_P\alpha - m^\top\alpha` with
:math:`(Q_P)_{il} = y_iy_l\langle Px_i, Px_l\rangle`, :math:`P = I - QQ^\top`, solved by dual coordinate
descent (Hsieh et al. 2008) without forming :math:`P x_i`: the state is :math:`\tilde w = \sum_i\alpha_iy_ix_i`
and :math:`c = \sum_i\alpha_iy_iQ^\top x_i`, so :math:`w_\perp = \tilde w - Qc`.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp

from ..problem import row_squared_norms

__all__ = ["dcd_box_qp", "dcd_box_qp_inplace", "dcd_box_qp_inplace_csr", "run_dcd", "canonical_csr", "row_sq_norms"]


@numba.njit(cache=True, nogil=True)
def _duality_gap(X, y, Z, margin, upper, alpha, w, c):
    """Primal minus dual value of the fixed-intercept problem, and the primal value.

    Primal :math:`\\tfrac12\\|w_\\perp\\|^2 + \\sum_i c_i(m_i - y_i\\langle w_\\perp, Px_i\\rangle)_+`, dual
    :math:`m^\\top\\alpha - \\tfrac12\\|w_\\perp\\|^2`; :math:`\\|w_\\perp\\|^2 = \\|\\tilde w\\|^2 - \\|c\\|^2`.
    """
    n, d = X.shape
    r = Z.shape[1]
    norm_sq = 0.0
    for f in range(d):
        norm_sq += w[f] * w[f]
    for f in range(r):
        norm_sq -= c[f] * c[f]
    hinge = 0.0
    linear = 0.0
    for i in range(n):
        dot = 0.0
        for f in range(d):
            dot += w[f] * X[i, f]
        for f in range(r):
            dot -= c[f] * Z[i, f]
        slack = margin[i] - y[i] * dot
        if slack > 0.0:
            hinge += upper[i] * slack
        linear += margin[i] * alpha[i]
    primal = 0.5 * norm_sq + hinge
    return primal - (linear - 0.5 * norm_sq), primal


@numba.njit(cache=True, nogil=True)
def dcd_box_qp_inplace(X, y, Z, margin, upper, sq_norm, alpha, w, c, tol, gap_tol, max_epochs, seed, shrinking):
    """Dual coordinate descent on :math:`\\min_{0\\le\\alpha\\le c} \\tfrac12\\alpha^\\top Q_P\\alpha - m^\\top\\alpha`.

    Updates ``alpha``, ``w`` (:math:`\\sum\\alpha_i y_i x_i`) and ``c`` (:math:`\\sum\\alpha_i y_i Z_i`) in
    place; ``sq_norm[i]`` is :math:`\\|Px_i\\|^2`. Stops when the spread of the projected gradient,
    :math:`\\max PG - \\min PG`, is at most ``tol`` on the full set (liblinear's rule), or when the
    duality gap (checked every 10 epochs) is at most ``gap_tol`` times :math:`\\max(1, \\text{primal})`:
    degenerate problems (many more points than features) can keep the spread large long after the
    objective has converged. Returns (epochs, final spread, final relative gap or NaN).
    """
    n, d = X.shape
    r = Z.shape[1]
    np.random.seed(seed)
    index = np.arange(n)
    active = n
    pg_max_old = np.inf
    pg_min_old = -np.inf
    spread = np.inf
    rel_gap = np.nan
    epoch = 0
    while epoch < max_epochs:
        epoch += 1
        for k in range(active - 1):  # Fisher-Yates shuffle of the active prefix
            j = k + np.random.randint(active - k)
            tmp = index[k]
            index[k] = index[j]
            index[j] = tmp
        pg_max = -np.inf
        pg_min = np.inf
        s = 0
        while s < active:
            i = index[s]
            dot = 0.0
            for f in range(d):
                dot += w[f] * X[i, f]
            for f in range(r):
                dot -= c[f] * Z[i, f]
            G = y[i] * dot - margin[i]
            pg = 0.0
            if alpha[i] <= 0.0:
                if shrinking and G > pg_max_old:
                    active -= 1
                    index[s] = index[active]
                    index[active] = i
                    continue
                if G < 0.0:
                    pg = G
            elif alpha[i] >= upper[i]:
                if shrinking and G < pg_min_old:
                    active -= 1
                    index[s] = index[active]
                    index[active] = i
                    continue
                if G > 0.0:
                    pg = G
            else:
                pg = G
            if pg > pg_max:
                pg_max = pg
            if pg < pg_min:
                pg_min = pg
            if pg != 0.0:
                old = alpha[i]
                if sq_norm[i] > 0.0:
                    new = old - G / sq_norm[i]
                else:  # the point vanishes under P: its coordinate is linear
                    new = upper[i] if G < 0.0 else 0.0
                if new < 0.0:
                    new = 0.0
                elif new > upper[i]:
                    new = upper[i]
                step = (new - old) * y[i]
                if step != 0.0:
                    alpha[i] = new
                    for f in range(d):
                        w[f] += step * X[i, f]
                    for f in range(r):
                        c[f] += step * Z[i, f]
            s += 1
        if pg_max == -np.inf:
            pg_max = 0.0
        if pg_min == np.inf:
            pg_min = 0.0
        spread = pg_max - pg_min
        if spread <= tol:
            if active == n:
                break
            active = n  # converged on the shrunk set: check everything once more
            pg_max_old = np.inf
            pg_min_old = -np.inf
            continue
        if gap_tol > 0.0 and epoch % 10 == 0:
            gap, primal = _duality_gap(X, y, Z, margin, upper, alpha, w, c)
            rel_gap = gap / max(1.0, primal)
            if rel_gap <= gap_tol:
                break
        pg_max_old = pg_max if pg_max > 0.0 else np.inf
        pg_min_old = pg_min if pg_min < 0.0 else -np.inf
    return epoch, spread, rel_gap


def dcd_box_qp(X, y, margin, upper, *, basis=None, alpha=None, tol=1e-6, gap_tol=0.0, max_epochs=1000, seed=0,
               shrinking=True):
    """Solve the intercept-free box QP of the module docstring (projected data, given margins).

    Parameters
    ----------
    X : ndarray (n, d), C-contiguous float64, or a scipy.sparse matrix (run on its CSR rows)
    y : ndarray (n,) of +/-1
    margin : ndarray (n,), :math:`m_i`
    upper : ndarray (n,), the boxes :math:`c_i`
    basis : ndarray (d, r) or None
        Orthonormal :math:`Q`; the data are projected by :math:`P = I - QQ^\\top` (implicitly).
    alpha : ndarray (n,) or None
        Warm start (clipped to the box).

    Returns
    -------
    alpha, w_perp, epochs, spread, rel_gap : the multipliers, :math:`w_\\perp`, epochs run, final
    projected-gradient spread and relative duality gap (NaN if never checked); converged iff
    ``spread <= tol`` or ``rel_gap <= gap_tol``.
    """
    if sp.issparse(X):
        X = canonical_csr(X)
    Q = np.zeros((X.shape[1], 0)) if basis is None else np.asarray(basis, dtype=np.float64)
    Z = np.ascontiguousarray(X @ Q)
    sq_norm = row_sq_norms(X) - np.einsum("ij,ij->i", Z, Z)
    alpha = np.zeros(X.shape[0]) if alpha is None else np.clip(np.array(alpha, dtype=np.float64), 0.0, upper)
    w = np.ascontiguousarray(X.T @ (alpha * y), dtype=np.float64)
    c = Z.T @ (alpha * y)
    epochs, spread, rel_gap = run_dcd(X, y, Z, np.ascontiguousarray(margin, dtype=np.float64), upper, sq_norm, alpha,
                                      w, c, float(tol), float(gap_tol), int(max_epochs), int(seed), bool(shrinking))
    return alpha, w - Q @ c, epochs, spread, rel_gap


# ------------------------------------------------------------------------------------------------
# The same loops on CSR rows (scipy.sparse ``indptr``, ``indices``, ``data``): a row costs its nonzeros
# plus r, the rank of the projection, instead of d + r. Kept apart from the dense kernels above.
# ------------------------------------------------------------------------------------------------
@numba.njit(cache=True, nogil=True)
def _row_dot_csr(indptr, indices, data, i, w, Z, c):
    r""":math:`\langle w_\perp, Px_i\rangle = \langle\tilde w, x_i\rangle - \langle c, Q^\top x_i\rangle`."""
    dot = 0.0
    for p in range(indptr[i], indptr[i + 1]):
        dot += w[indices[p]] * data[p]
    for f in range(Z.shape[1]):
        dot -= c[f] * Z[i, f]
    return dot


@numba.njit(cache=True, nogil=True)
def _duality_gap_csr(indptr, indices, data, y, Z, margin, upper, alpha, w, c):
    """:func:`_duality_gap` for CSR rows."""
    n = indptr.shape[0] - 1
    norm_sq = 0.0
    for f in range(w.shape[0]):
        norm_sq += w[f] * w[f]
    for f in range(Z.shape[1]):
        norm_sq -= c[f] * c[f]
    hinge = 0.0
    linear = 0.0
    for i in range(n):
        slack = margin[i] - y[i] * _row_dot_csr(indptr, indices, data, i, w, Z, c)
        if slack > 0.0:
            hinge += upper[i] * slack
        linear += margin[i] * alpha[i]
    primal = 0.5 * norm_sq + hinge
    return primal - (linear - 0.5 * norm_sq), primal


@numba.njit(cache=True, nogil=True)
def dcd_box_qp_inplace_csr(indptr, indices, data, y, Z, margin, upper, sq_norm, alpha, w, c, tol, gap_tol,
                           max_epochs, seed, shrinking):
    """:func:`dcd_box_qp_inplace` on a CSR matrix given by its ``indptr``, ``indices`` and ``data``.

    The same coordinate order (same seed), shrinking and stopping rules, so dense and CSR inputs
    holding the same matrix take the same steps (up to the order of the floating-point sums in a
    row's scalar product).
    """
    n = indptr.shape[0] - 1
    r = Z.shape[1]
    np.random.seed(seed)
    index = np.arange(n)
    active = n
    pg_max_old = np.inf
    pg_min_old = -np.inf
    spread = np.inf
    rel_gap = np.nan
    epoch = 0
    while epoch < max_epochs:
        epoch += 1
        for k in range(active - 1):  # Fisher-Yates shuffle of the active prefix
            j = k + np.random.randint(active - k)
            tmp = index[k]
            index[k] = index[j]
            index[j] = tmp
        pg_max = -np.inf
        pg_min = np.inf
        s = 0
        while s < active:
            i = index[s]
            G = y[i] * _row_dot_csr(indptr, indices, data, i, w, Z, c) - margin[i]
            pg = 0.0
            if alpha[i] <= 0.0:
                if shrinking and G > pg_max_old:
                    active -= 1
                    index[s] = index[active]
                    index[active] = i
                    continue
                if G < 0.0:
                    pg = G
            elif alpha[i] >= upper[i]:
                if shrinking and G < pg_min_old:
                    active -= 1
                    index[s] = index[active]
                    index[active] = i
                    continue
                if G > 0.0:
                    pg = G
            else:
                pg = G
            if pg > pg_max:
                pg_max = pg
            if pg < pg_min:
                pg_min = pg
            if pg != 0.0:
                old = alpha[i]
                if sq_norm[i] > 0.0:
                    new = old - G / sq_norm[i]
                else:  # the point vanishes under P: its coordinate is linear
                    new = upper[i] if G < 0.0 else 0.0
                if new < 0.0:
                    new = 0.0
                elif new > upper[i]:
                    new = upper[i]
                step = (new - old) * y[i]
                if step != 0.0:
                    alpha[i] = new
                    for p in range(indptr[i], indptr[i + 1]):
                        w[indices[p]] += step * data[p]
                    for f in range(r):
                        c[f] += step * Z[i, f]
            s += 1
        if pg_max == -np.inf:
            pg_max = 0.0
        if pg_min == np.inf:
            pg_min = 0.0
        spread = pg_max - pg_min
        if spread <= tol:
            if active == n:
                break
            active = n  # converged on the shrunk set: check everything once more
            pg_max_old = np.inf
            pg_min_old = -np.inf
            continue
        if gap_tol > 0.0 and epoch % 10 == 0:
            gap, primal = _duality_gap_csr(indptr, indices, data, y, Z, margin, upper, alpha, w, c)
            rel_gap = gap / max(1.0, primal)
            if rel_gap <= gap_tol:
                break
        pg_max_old = pg_max if pg_max > 0.0 else np.inf
        pg_min_old = pg_min if pg_min < 0.0 else -np.inf
    return epoch, spread, rel_gap


def canonical_csr(X):
    """``X`` as a canonical CSR matrix of float64 (sorted indices, no duplicates); copies only when needed."""
    X = sp.csr_matrix(X, dtype=np.float64)
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    return X


def row_sq_norms(X) -> np.ndarray:
    r""":math:`\|x_i\|^2` of every row of a dense array or a CSR matrix (:func:`fairerm.problem.row_squared_norms`)."""
    return row_squared_norms(X)


def run_dcd(X, y, Z, margin, upper, sq_norm, alpha, w, c, tol, gap_tol, max_epochs, seed, shrinking):
    """:func:`dcd_box_qp_inplace` or :func:`dcd_box_qp_inplace_csr`, whichever fits ``X``."""
    if sp.issparse(X):
        return dcd_box_qp_inplace_csr(X.indptr, X.indices, X.data, y, Z, margin, upper, sq_norm, alpha, w, c, tol,
                                      gap_tol, max_epochs, seed, shrinking)
    return dcd_box_qp_inplace(X, y, Z, margin, upper, sq_norm, alpha, w, c, tol, gap_tol, max_epochs, seed,
                              shrinking)
