r"""Numba kernels of the linear FERM DCD solver (:mod:`fairerm.solvers.linear_dcd`), and a numpy entry point.

The box QP :math:`\min_{0\le\alpha\le c}\tfrac12\alpha^\top Q_P\alpha - m^\top\alpha` with
:math:`(Q_P)_{il} = y_iy_l\langle Px_i, Px_l\rangle`, :math:`P = I - QQ^\top`, solved by dual coordinate
descent (Hsieh et al. 2008) without forming :math:`P x_i`: the state is :math:`\tilde w = \sum_i\alpha_iy_ix_i`
and :math:`c = \sum_i\alpha_iy_iQ^\top x_i`, so :math:`w_\perp = \tilde w - Qc`.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["dcd_box_qp", "dcd_box_qp_inplace"]


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
    X : ndarray (n, d), C-contiguous float64
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
    Q = np.zeros((X.shape[1], 0)) if basis is None else np.asarray(basis, dtype=np.float64)
    Z = np.ascontiguousarray(X @ Q)
    sq_norm = np.einsum("ij,ij->i", X, X) - np.einsum("ij,ij->i", Z, Z)
    alpha = np.zeros(X.shape[0]) if alpha is None else np.clip(np.array(alpha, dtype=np.float64), 0.0, upper)
    w = X.T @ (alpha * y)
    c = Z.T @ (alpha * y)
    epochs, spread, rel_gap = dcd_box_qp_inplace(X, y, Z, np.ascontiguousarray(margin, dtype=np.float64), upper,
                                               sq_norm, alpha, w, c, float(tol), float(gap_tol), int(max_epochs),
                                               int(seed), bool(shrinking))
    return alpha, w - Q @ c, epochs, spread, rel_gap
