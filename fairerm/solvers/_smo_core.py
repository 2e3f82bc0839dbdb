r"""Compiled core of the SMO solver (Numba): gradients, working-set selection, the update, shrinking.

It solves the SVM-type dual

.. math::

    \min_\alpha \tfrac12 \alpha^\top Q \alpha + p^\top \alpha \quad\text{s.t.}\quad
    y^\top \alpha = 0,\; 0 \le \alpha_i \le C_i, \qquad
    Q_{ij} = y_i y_j \big(k(x_i, x_j) - z_i^\top z_j\big),

following libsvm's ``Solver`` (Fan, Chen and Lin 2005; Chang and Lin 2011) step by step:
second-order working-set selection, the analytic two-variable step with clipping, ``tau`` for
non-positive curvature, the gradient :math:`G = Q\alpha + p` kept up to date,
:math:`\bar G_j = \sum_{i: \alpha_i = C_i} C_i Q_{ij}` for gradient reconstruction, and
shrinking. Rows of :math:`Q` are computed on demand and kept in an LRU cache of whole rows.

The rows, the cache and the active set live in :mod:`fairerm.solvers._smo_cache` and travel as
one tuple, ``rows``.

Everything here works on raw arrays prepared and validated by :mod:`fairerm.solvers.smo`.

References
----------
R.-E. Fan, P.-H. Chen, C.-J. Lin. "Working set selection using second order information for
training support vector machines". JMLR 6, 2005.
C.-C. Chang, C.-J. Lin. "LIBSVM: a library for support vector machines". ACM TIST 2(3), 2011.
"""

from __future__ import annotations

import numba
import numpy as np

from ._smo_cache import (
    R_ACTIVE,
    R_SHRUNK_AT,
    R_STATE,
    R_X,
    R_Y,
    S_ACTIVE_SIZE,
    S_COUNTER,
    S_EPOCH,
    S_ITER,
    S_STAMP,
    S_UNSHRUNK,
    get_row,
    reset_active,
)

__all__ = ["TAU", "status_codes", "compute_gradient", "compute_g_bar", "smo_iterate", "compute_intercept"]

TAU = 1e-12
INF = np.inf

# alpha status codes
LOWER, UPPER, FREE, FIXED = 0, 1, 2, 3

# ------------------------------------------------------------------------------------------------
# Status helpers
# ------------------------------------------------------------------------------------------------
@numba.njit(cache=True)
def _status_of(a, c):
    if c <= 0.0:
        return FIXED
    if a >= c:
        return UPPER
    if a <= 0.0:
        return LOWER
    return FREE


@numba.njit(cache=True)
def status_codes(alpha, C):
    """The status (LOWER, UPPER, FREE or FIXED) of every alpha."""
    out = np.empty(alpha.shape[0], dtype=np.int8)
    for i in range(alpha.shape[0]):
        out[i] = _status_of(alpha[i], C[i])
    return out


@numba.njit(cache=True)
def _is_upper(s):
    return s == UPPER or s == FIXED


@numba.njit(cache=True)
def _is_lower(s):
    return s == LOWER or s == FIXED


# ------------------------------------------------------------------------------------------------
# Gradient
# ------------------------------------------------------------------------------------------------
@numba.njit(cache=True)
def compute_gradient(rows, p, C, alpha, status, G, G_bar):
    """G = Q alpha + p and G_bar = sum over alpha_i = C_i of C_i Q_i, from the rows of nonzero alpha."""
    X = rows[R_X]
    n = X.shape[0]
    for j in range(n):
        status[j] = _status_of(alpha[j], C[j])
        G[j] = p[j]
        G_bar[j] = 0.0
    for i in range(n):
        if not _is_lower(status[i]):
            row = get_row(i, True, rows)
            a = alpha[i]
            for j in range(n):
                G[j] += a * row[j]
            if _is_upper(status[i]):
                c = C[i]
                for j in range(n):
                    G_bar[j] += c * row[j]


@numba.njit(cache=True)
def compute_g_bar(rows, C, alpha, status, G_bar):
    """Status of every alpha and G_bar = sum over alpha_i = C_i of C_i Q_i (G itself is known)."""
    X = rows[R_X]
    n = X.shape[0]
    for j in range(n):
        status[j] = _status_of(alpha[j], C[j])
        G_bar[j] = 0.0
    for i in range(n):
        if status[i] == UPPER:
            row = get_row(i, True, rows)
            c = C[i]
            for j in range(n):
                G_bar[j] += c * row[j]


@numba.njit(cache=True)
def reconstruct_gradient(rows, p, alpha, status, G, G_bar):
    """Recompute G on the shrunk (inactive) indices from G_bar and the free alphas (libsvm)."""
    X, active, state = rows[R_X], rows[R_ACTIVE], rows[R_STATE]
    n = X.shape[0]
    active_size = state[S_ACTIVE_SIZE]
    if active_size == n:
        return
    for t in range(active_size, n):
        j = active[t]
        G[j] = G_bar[j] + p[j]
    nr_free = 0
    for t in range(active_size):
        if status[active[t]] == FREE:
            nr_free += 1
    if nr_free * n > 2 * active_size * (n - active_size):
        for t in range(active_size, n):
            i = active[t]
            row = get_row(i, False, rows)
            acc = 0.0
            for s in range(active_size):
                j = active[s]
                if status[j] == FREE:
                    acc += alpha[j] * row[j]
            G[i] += acc
    else:
        for s in range(active_size):
            i = active[s]
            if status[i] == FREE:
                row = get_row(i, True, rows)
                a = alpha[i]
                for t in range(active_size, n):
                    j = active[t]
                    G[j] += a * row[j]


# ------------------------------------------------------------------------------------------------
# Working set selection (WSS 3 of Fan, Chen and Lin 2005) and shrinking
# ------------------------------------------------------------------------------------------------
@numba.njit(cache=True)
def select_working_set(tol, rows, QD, status, G):
    """(i, j, gap): the second-order pair, or i = -1 when the maximal violation gap <= tol."""
    y, active, state = rows[R_Y], rows[R_ACTIVE], rows[R_STATE]
    active_size = state[S_ACTIVE_SIZE]
    every = active_size == active.shape[0]  # then active[t] = t: index directly (no gather)
    Gmax = -INF
    Gmax2 = -INF
    Gmax_idx = -1
    Gmin_idx = -1
    obj_diff_min = INF
    for t in range(active_size):
        k = t if every else active[t]
        if y[k] > 0:
            if not _is_upper(status[k]) and -G[k] >= Gmax:
                Gmax = -G[k]
                Gmax_idx = k
        else:
            if not _is_lower(status[k]) and G[k] >= Gmax:
                Gmax = G[k]
                Gmax_idx = k
    i = Gmax_idx
    if i >= 0:
        Q_i = get_row(i, False, rows)
        yi = y[i]
        QDi = QD[i]
        for t in range(active_size):
            j = t if every else active[t]
            if y[j] > 0:
                if not _is_lower(status[j]):
                    grad_diff = Gmax + G[j]
                    if G[j] >= Gmax2:
                        Gmax2 = G[j]
                    if grad_diff > 0.0:
                        quad_coef = QDi + QD[j] - 2.0 * yi * Q_i[j]
                        if quad_coef <= 0.0:
                            quad_coef = TAU
                        obj_diff = -(grad_diff * grad_diff) / quad_coef
                        if obj_diff <= obj_diff_min:
                            Gmin_idx = j
                            obj_diff_min = obj_diff
            else:
                if not _is_upper(status[j]):
                    grad_diff = Gmax - G[j]
                    if -G[j] >= Gmax2:
                        Gmax2 = -G[j]
                    if grad_diff > 0.0:
                        quad_coef = QDi + QD[j] + 2.0 * yi * Q_i[j]
                        if quad_coef <= 0.0:
                            quad_coef = TAU
                        obj_diff = -(grad_diff * grad_diff) / quad_coef
                        if obj_diff <= obj_diff_min:
                            Gmin_idx = j
                            obj_diff_min = obj_diff
    else:  # no index can move up: only the second maximum matters for the gap
        for t in range(active_size):
            j = t if every else active[t]
            if y[j] > 0:
                if not _is_lower(status[j]) and G[j] >= Gmax2:
                    Gmax2 = G[j]
            elif not _is_upper(status[j]) and -G[j] >= Gmax2:
                Gmax2 = -G[j]
    gap = Gmax + Gmax2
    if gap < tol or Gmin_idx == -1:
        return -1, -1, gap
    return Gmax_idx, Gmin_idx, gap


@numba.njit(cache=True)
def _be_shrunk(k, Gmax1, Gmax2, y, status, G):
    s = status[k]
    if _is_upper(s):
        if y[k] > 0:
            return -G[k] > Gmax1
        return -G[k] > Gmax2
    if _is_lower(s):
        if y[k] > 0:
            return G[k] > Gmax2
        return G[k] > Gmax1
    return False


@numba.njit(cache=True)
def do_shrinking(tol, rows, p, alpha, status, G, G_bar, work):
    y, active, shrunk_at, state = rows[R_Y], rows[R_ACTIVE], rows[R_SHRUNK_AT], rows[R_STATE]
    active_size = state[S_ACTIVE_SIZE]
    Gmax1 = -INF  # max over I_up of -y_k G_k
    Gmax2 = -INF  # max over I_low of y_k G_k
    for t in range(active_size):
        k = active[t]
        s = status[k]
        if y[k] > 0:
            if not _is_upper(s) and -G[k] >= Gmax1:
                Gmax1 = -G[k]
            if not _is_lower(s) and G[k] >= Gmax2:
                Gmax2 = G[k]
        else:
            if not _is_upper(s) and -G[k] >= Gmax2:
                Gmax2 = -G[k]
            if not _is_lower(s) and G[k] >= Gmax1:
                Gmax1 = G[k]
    if state[S_UNSHRUNK] == 0 and Gmax1 + Gmax2 <= tol * 10.0:
        state[S_UNSHRUNK] = 1
        reconstruct_gradient(rows, p, alpha, status, G, G_bar)
        reset_active(rows)
    n = active.shape[0]
    active_size = state[S_ACTIVE_SIZE]
    kept = 0
    n_shrunk = 0
    for t in range(active_size):
        k = active[t]
        if _be_shrunk(k, Gmax1, Gmax2, y, status, G):
            work[n_shrunk] = k
            n_shrunk += 1
        else:
            active[kept] = k
            kept += 1
    if n_shrunk > 0:
        state[S_STAMP] += 1
        current = shrunk_at[state[S_EPOCH] % 2]
        for t in range(n_shrunk):
            current[work[t]] = state[S_STAMP]
        # the previously inactive indices move up behind the newly shrunk ones
        for t in range(active_size, n):
            work[n_shrunk + t - active_size] = active[t]
        for t in range(n - kept):
            active[kept + t] = work[t]
        state[S_ACTIVE_SIZE] = kept


# ------------------------------------------------------------------------------------------------
# The iteration
# ------------------------------------------------------------------------------------------------
@numba.njit(cache=True)
def _two_variable_step(i, j, Q_i, y, C, QD, alpha, G):
    """The analytic minimiser over (alpha_i, alpha_j) along y_i a_i + y_j a_j = const, clipped (libsvm)."""
    C_i = C[i]
    C_j = C[j]
    if y[i] != y[j]:
        quad_coef = QD[i] + QD[j] + 2.0 * Q_i[j]
        if quad_coef <= 0.0:
            quad_coef = TAU
        delta = (-G[i] - G[j]) / quad_coef
        diff = alpha[i] - alpha[j]
        alpha[i] += delta
        alpha[j] += delta
        if diff > 0.0:
            if alpha[j] < 0.0:
                alpha[j] = 0.0
                alpha[i] = diff
        elif alpha[i] < 0.0:
            alpha[i] = 0.0
            alpha[j] = -diff
        if diff > C_i - C_j:
            if alpha[i] > C_i:
                alpha[i] = C_i
                alpha[j] = C_i - diff
        elif alpha[j] > C_j:
            alpha[j] = C_j
            alpha[i] = C_j + diff
    else:
        quad_coef = QD[i] + QD[j] - 2.0 * Q_i[j]
        if quad_coef <= 0.0:
            quad_coef = TAU
        delta = (G[i] - G[j]) / quad_coef
        total = alpha[i] + alpha[j]
        alpha[i] -= delta
        alpha[j] += delta
        if total > C_i:
            if alpha[i] > C_i:
                alpha[i] = C_i
                alpha[j] = total - C_i
        elif alpha[j] < 0.0:
            alpha[j] = 0.0
            alpha[i] = total
        if total > C_j:
            if alpha[j] > C_j:
                alpha[j] = C_j
                alpha[i] = total - C_j
        elif alpha[i] < 0.0:
            alpha[i] = 0.0
            alpha[j] = total


@numba.njit(cache=True)
def _update_g_bar(k, was_upper, rows, C, status, G_bar):
    if was_upper != _is_upper(status[k]):
        row = get_row(k, True, rows)
        c = C[k] if not was_upper else -C[k]
        for t in range(row.shape[0]):
            G_bar[t] += c * row[t]


@numba.njit(cache=True)
def _update_all(G, Q_i, Q_j, d_i, d_j):
    """G += d_i Q_i + d_j Q_j on every index (no active-set indirection; the same arithmetic as the indexed loop)."""
    for k in range(G.shape[0]):
        G[k] += Q_i[k] * d_i + Q_j[k] * d_j


@numba.njit(cache=True)
def smo_iterate(n_chunk, max_iter, tol, shrinking, rows, p, C, QD, alpha, status, G, G_bar, work):
    """Run at most ``n_chunk`` SMO iterations. Returns (flag, gap): flag 0 optimal, 1 chunk done, 2 max_iter."""
    X, y, active, state = rows[R_X], rows[R_Y], rows[R_ACTIVE], rows[R_STATE]
    n = X.shape[0]
    gap = INF
    for _ in range(n_chunk):
        if state[S_ITER] >= max_iter:
            reconstruct_gradient(rows, p, alpha, status, G, G_bar)
            reset_active(rows)
            return 2, gap
        state[S_COUNTER] -= 1
        if state[S_COUNTER] == 0:
            state[S_COUNTER] = min(n, 1000)
            if shrinking:
                do_shrinking(tol, rows, p, alpha, status, G, G_bar, work)
        i, j, gap = select_working_set(tol, rows, QD, status, G)
        if i < 0:
            reconstruct_gradient(rows, p, alpha, status, G, G_bar)
            reset_active(rows)
            i, j, gap = select_working_set(tol, rows, QD, status, G)
            if i < 0:
                return 0, gap
            state[S_COUNTER] = 1  # shrink at the next iteration
        state[S_ITER] += 1
        Q_i = get_row(i, False, rows)
        Q_j = get_row(j, False, rows)
        old_i = alpha[i]
        old_j = alpha[j]
        _two_variable_step(i, j, Q_i, y, C, QD, alpha, G)
        d_i = alpha[i] - old_i
        d_j = alpha[j] - old_j
        active_size = state[S_ACTIVE_SIZE]
        if active_size == n:  # every index active (active is 0..n-1): a contiguous loop, which vectorises
            _update_all(G, Q_i, Q_j, d_i, d_j)
        else:
            for t in range(active_size):
                k = active[t]
                G[k] += Q_i[k] * d_i + Q_j[k] * d_j
        up_i = _is_upper(status[i])
        up_j = _is_upper(status[j])
        status[i] = _status_of(alpha[i], C[i])
        status[j] = _status_of(alpha[j], C[j])
        _update_g_bar(i, up_i, rows, C, status, G_bar)
        _update_g_bar(j, up_j, rows, C, status, G_bar)
    return 1, gap


@numba.njit(cache=True)
def compute_intercept(y, status, G):
    """b = -rho: minus the mean of y_i G_i over free alphas, else minus the midpoint of the feasible interval."""
    ub = INF
    lb = -INF
    nr_free = 0
    sum_free = 0.0
    for i in range(y.shape[0]):
        yG = y[i] * G[i]
        s = status[i]
        if s == FIXED:
            continue
        if s == UPPER:
            if y[i] < 0:
                ub = min(ub, yG)
            else:
                lb = max(lb, yG)
        elif s == LOWER:
            if y[i] > 0:
                ub = min(ub, yG)
            else:
                lb = max(lb, yG)
        else:
            nr_free += 1
            sum_free += yG
    if nr_free > 0:
        rho = sum_free / nr_free
    elif ub < INF and lb > -INF:
        rho = (ub + lb) / 2.0
    elif ub < INF:
        rho = ub
    elif lb > -INF:
        rho = lb
    else:
        rho = 0.0
    return -rho
