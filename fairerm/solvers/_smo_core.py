r"""Compiled core of the SMO solver (Numba): row cache, working-set selection, update, shrinking.

It solves the SVM-type dual

.. math::

    \min_\alpha \tfrac12 \alpha^\top Q \alpha + p^\top \alpha \quad\text{s.t.}\quad
    y^\top \alpha = 0,\; 0 \le \alpha_i \le C_i, \qquad
    Q_{ij} = y_i y_j \big(k(x_i, x_j) - z_i^\top z_j\big),

following libsvm's ``Solver`` (Fan, Chen and Lin 2005; Chang and Lin 2011) step by step:
second-order working-set selection, the analytic two-variable step with clipping, ``tau`` for
non-positive curvature, the gradient :math:`G = Q\alpha + p` kept up to date,
:math:`\bar G_j = \sum_{i: \alpha_i = C_i} C_i Q_{ij}` for gradient reconstruction, and
shrinking. Rows of :math:`Q` are computed on demand (:func:`fairerm.kernels.kernel_value`, plus
:math:`O(r)` per entry for the low-rank part) and kept in an LRU cache of whole rows.

Unlike libsvm, the data are never permuted: ``active[:active_size]`` lists the active indices in
increasing order and ``active[active_size:]`` the shrunk ones. Between two resets of the active
set to all indices (an *epoch*) the active set only shrinks; each shrinking round that removes
indices advances a clock and records, in ``shrunk_at[epoch % 2, k]``, when ``k`` left. A cached
row computed at time ``c`` therefore holds exactly the entries ``k`` with ``shrunk_at[k] > c``,
and a row asked for on a larger set (all indices, or the active set of the next epoch) has only
its missing entries computed, as libsvm extends its shorter rows.

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

from ..kernels import kernel_row_into

__all__ = ["TAU", "STATE_SIZE", "initial_cache", "initial_state", "compute_gradient", "compute_g_bar", "smo_iterate", "compute_intercept"]

TAU = 1e-12
INF = np.inf

# alpha status codes
LOWER, UPPER, FREE, FIXED = 0, 1, 2, 3

# positions in the int64 state vector
S_ACTIVE_SIZE, S_EPOCH, S_COUNTER, S_UNSHRUNK, S_ITER, S_HITS, S_MISSES, S_HEAD, S_TAIL, S_USED, S_STAMP = range(11)
STATE_SIZE = 11

# rows of the int64 per-slot metadata of the row cache
M_OWNER, M_EPOCH, M_STAMP, M_FULL, M_PREV, M_NEXT = range(6)
META_ROWS = 6
NEVER_SHRUNK = np.iinfo(np.int64).max


def initial_cache(n: int, n_rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(cache, slot_of, meta, shrunk_at, missing): an empty row cache of n_rows rows of length n."""
    meta = np.full((META_ROWS, n_rows), -1, dtype=np.int64)
    meta[M_FULL] = 0
    shrunk_at = np.full((2, n), NEVER_SHRUNK, dtype=np.int64)
    return np.empty((n_rows, n)), np.full(n, -1, dtype=np.int64), meta, shrunk_at, np.empty(n, dtype=np.int64)


def initial_state(n: int) -> np.ndarray:
    state = np.zeros(STATE_SIZE, dtype=np.int64)
    state[S_ACTIVE_SIZE] = n
    state[S_COUNTER] = min(n, 1000) + 1
    state[S_HEAD] = -1
    state[S_TAIL] = -1
    return state


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
# Rows of Q and the LRU cache
# ------------------------------------------------------------------------------------------------
@numba.njit(cache=True)
def _fill_row(code, X, Z, y, gamma, coef0, degree, i, index, lo, hi, row):
    """row[k] = Q[i, k] = y_i y_k (k(x_i, x_k) - z_i.z_k) for k = index[t], lo <= t < hi (all k if index is empty)."""
    kernel_row_into(code, X, i, X, index, lo, hi, gamma, coef0, degree, row)
    all_rows = index.shape[0] == 0
    count = X.shape[0] if all_rows else hi - lo
    r = Z.shape[1]
    yi = y[i]
    for t in range(count):
        k = t if all_rows else index[lo + t]
        value = row[k]
        for s in range(r):
            value -= Z[i, s] * Z[k, s]
        row[k] = yi * y[k] * value


@numba.njit(cache=True)
def _fill_full_row(code, X, Z, y, gamma, coef0, degree, i, row):
    _fill_row(code, X, Z, y, gamma, coef0, degree, i, np.empty(0, dtype=np.int64), 0, 0, row)


@numba.njit(cache=True)
def _lru_unlink(slot, meta, state):
    p, q = meta[M_PREV, slot], meta[M_NEXT, slot]
    if p >= 0:
        meta[M_NEXT, p] = q
    else:
        state[S_HEAD] = q
    if q >= 0:
        meta[M_PREV, q] = p
    else:
        state[S_TAIL] = p


@numba.njit(cache=True)
def _lru_push_front(slot, meta, state):
    meta[M_PREV, slot] = -1
    meta[M_NEXT, slot] = state[S_HEAD]
    if state[S_HEAD] >= 0:
        meta[M_PREV, state[S_HEAD]] = slot
    state[S_HEAD] = slot
    if state[S_TAIL] < 0:
        state[S_TAIL] = slot


@numba.njit(cache=True)
def _compute_row(i, full, code, X, Z, y, gamma, coef0, degree, active, row, slot, meta, state):
    """Compute row i afresh: on all indices, or on the active set only (stamped with the current time)."""
    n = X.shape[0]
    active_size = state[S_ACTIVE_SIZE]
    if full or active_size == n:
        _fill_full_row(code, X, Z, y, gamma, coef0, degree, i, row)
        meta[M_FULL, slot] = 1
    else:
        _fill_row(code, X, Z, y, gamma, coef0, degree, i, active, 0, active_size, row)
        meta[M_FULL, slot] = 0
    meta[M_EPOCH, slot] = state[S_EPOCH]
    meta[M_STAMP, slot] = state[S_STAMP]


@numba.njit(cache=True)
def get_row(i, full, code, X, Z, y, gamma, coef0, degree, active, cache, slot_of, meta, shrunk_at, missing, state):
    """Row i of Q, valid on the active set (``full=False``) or on all indices; returns the cache row.

    A cached row computed at shrink time ``c`` of epoch ``e`` holds the entries ``k`` that were
    active then, i.e. ``shrunk_at[e % 2, k] > c``; only the missing entries are computed. Rows
    older than the previous epoch are recomputed.
    """
    n = X.shape[0]
    active_size = state[S_ACTIVE_SIZE]
    epoch = state[S_EPOCH]
    slot = slot_of[i]
    if slot < 0:
        state[S_MISSES] += 1
        if state[S_USED] < cache.shape[0]:
            slot = state[S_USED]
            state[S_USED] += 1
        else:  # evict the least recently used row
            slot = state[S_TAIL]
            _lru_unlink(slot, meta, state)
            slot_of[meta[M_OWNER, slot]] = -1
        meta[M_OWNER, slot] = i
        slot_of[i] = slot
        row = cache[slot]
        _compute_row(i, full, code, X, Z, y, gamma, coef0, degree, active, row, slot, meta, state)
        _lru_push_front(slot, meta, state)
        return row
    _lru_unlink(slot, meta, state)
    row = cache[slot]
    age = epoch - meta[M_EPOCH, slot]
    if meta[M_FULL, slot] == 1 or (age == 0 and not full):
        state[S_HITS] += 1
    elif age <= 1:
        shrunk = shrunk_at[meta[M_EPOCH, slot] % 2]
        stamp = meta[M_STAMP, slot]
        m = 0
        if full:
            for k in range(n):
                if shrunk[k] <= stamp:
                    missing[m] = k
                    m += 1
        else:
            for t in range(active_size):
                k = active[t]
                if shrunk[k] <= stamp:
                    missing[m] = k
                    m += 1
        if m > 0:
            state[S_MISSES] += 1
            _fill_row(code, X, Z, y, gamma, coef0, degree, i, missing, 0, m, row)
        else:
            state[S_HITS] += 1
        if full:
            meta[M_FULL, slot] = 1
        else:  # now valid on the current active set
            meta[M_EPOCH, slot] = epoch
            meta[M_STAMP, slot] = state[S_STAMP]
    else:
        state[S_MISSES] += 1
        _compute_row(i, full, code, X, Z, y, gamma, coef0, degree, active, row, slot, meta, state)
    _lru_push_front(slot, meta, state)
    return row


# ------------------------------------------------------------------------------------------------
# Gradient
# ------------------------------------------------------------------------------------------------
@numba.njit(cache=True)
def compute_gradient(code, X, Z, y, gamma, coef0, degree, p, C, alpha, status, G, G_bar, active, cache, slot_of, meta, shrunk_at, missing, state):
    """G = Q alpha + p and G_bar = sum over alpha_i = C_i of C_i Q_i, from the rows of nonzero alpha."""
    n = X.shape[0]
    for j in range(n):
        status[j] = _status_of(alpha[j], C[j])
        G[j] = p[j]
        G_bar[j] = 0.0
    for i in range(n):
        if not _is_lower(status[i]):
            row = get_row(i, True, code, X, Z, y, gamma, coef0, degree, active, cache, slot_of, meta, shrunk_at, missing, state)
            a = alpha[i]
            for j in range(n):
                G[j] += a * row[j]
            if _is_upper(status[i]):
                c = C[i]
                for j in range(n):
                    G_bar[j] += c * row[j]


@numba.njit(cache=True)
def compute_g_bar(code, X, Z, y, gamma, coef0, degree, C, alpha, status, G_bar, active, cache, slot_of, meta,
                  shrunk_at, missing, state):
    """Status of every alpha and G_bar = sum over alpha_i = C_i of C_i Q_i (G itself is known)."""
    n = X.shape[0]
    for j in range(n):
        status[j] = _status_of(alpha[j], C[j])
        G_bar[j] = 0.0
    for i in range(n):
        if status[i] == UPPER:
            row = get_row(i, True, code, X, Z, y, gamma, coef0, degree, active, cache, slot_of, meta, shrunk_at,
                          missing, state)
            c = C[i]
            for j in range(n):
                G_bar[j] += c * row[j]


@numba.njit(cache=True)
def _reset_active(active, shrunk_at, state):
    """Make every index active again: a new epoch, whose shrink times start at 'never'."""
    n = active.shape[0]
    if state[S_ACTIVE_SIZE] < n:
        for t in range(n):
            active[t] = t
        state[S_ACTIVE_SIZE] = n
        state[S_EPOCH] += 1
        current = shrunk_at[state[S_EPOCH] % 2]
        for k in range(n):
            current[k] = NEVER_SHRUNK


@numba.njit(cache=True)
def reconstruct_gradient(code, X, Z, y, gamma, coef0, degree, p, alpha, status, G, G_bar, active, cache, slot_of, meta, shrunk_at, missing, state):
    """Recompute G on the shrunk (inactive) indices from G_bar and the free alphas (libsvm)."""
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
            row = get_row(i, False, code, X, Z, y, gamma, coef0, degree, active, cache, slot_of, meta, shrunk_at, missing, state)
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
                row = get_row(i, True, code, X, Z, y, gamma, coef0, degree, active, cache, slot_of, meta, shrunk_at, missing, state)
                a = alpha[i]
                for t in range(active_size, n):
                    j = active[t]
                    G[j] += a * row[j]


# ------------------------------------------------------------------------------------------------
# Working set selection (WSS 3 of Fan, Chen and Lin 2005) and shrinking
# ------------------------------------------------------------------------------------------------
@numba.njit(cache=True)
def select_working_set(tol, code, X, Z, y, gamma, coef0, degree, QD, status, G, active, cache, slot_of, meta, shrunk_at, missing, state):
    """(i, j, gap): the second-order pair, or i = -1 when the maximal violation gap <= tol."""
    active_size = state[S_ACTIVE_SIZE]
    Gmax = -INF
    Gmax2 = -INF
    Gmax_idx = -1
    Gmin_idx = -1
    obj_diff_min = INF
    for t in range(active_size):
        k = active[t]
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
        Q_i = get_row(i, False, code, X, Z, y, gamma, coef0, degree, active, cache, slot_of, meta, shrunk_at, missing, state)
        yi = y[i]
        QDi = QD[i]
        for t in range(active_size):
            j = active[t]
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
            j = active[t]
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
def do_shrinking(tol, code, X, Z, y, gamma, coef0, degree, p, alpha, status, G, G_bar, active, work, cache, slot_of, meta, shrunk_at, missing, state):
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
        reconstruct_gradient(code, X, Z, y, gamma, coef0, degree, p, alpha, status, G, G_bar, active, cache, slot_of, meta, shrunk_at, missing, state)
        _reset_active(active, shrunk_at, state)
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
def _update_g_bar(k, was_upper, code, X, Z, y, gamma, coef0, degree, C, status, G_bar, active, cache, slot_of, meta, shrunk_at, missing, state):
    if was_upper != _is_upper(status[k]):
        row = get_row(k, True, code, X, Z, y, gamma, coef0, degree, active, cache, slot_of, meta, shrunk_at, missing, state)
        c = C[k] if not was_upper else -C[k]
        for t in range(row.shape[0]):
            G_bar[t] += c * row[t]


@numba.njit(cache=True)
def smo_iterate(n_chunk, max_iter, tol, shrinking, code, X, Z, y, gamma, coef0, degree, p, C, QD, alpha, status, G,
                G_bar, active, work, cache, slot_of, meta, shrunk_at, missing, state):
    """Run at most ``n_chunk`` SMO iterations. Returns (flag, gap): flag 0 optimal, 1 chunk done, 2 max_iter."""
    n = X.shape[0]
    gap = INF
    for _ in range(n_chunk):
        if state[S_ITER] >= max_iter:
            reconstruct_gradient(code, X, Z, y, gamma, coef0, degree, p, alpha, status, G, G_bar, active, cache, slot_of, meta, shrunk_at, missing, state)
            _reset_active(active, shrunk_at, state)
            return 2, gap
        state[S_COUNTER] -= 1
        if state[S_COUNTER] == 0:
            state[S_COUNTER] = min(n, 1000)
            if shrinking:
                do_shrinking(tol, code, X, Z, y, gamma, coef0, degree, p, alpha, status, G, G_bar, active, work,
                             cache, slot_of, meta, shrunk_at, missing, state)
        i, j, gap = select_working_set(tol, code, X, Z, y, gamma, coef0, degree, QD, status, G, active, cache, slot_of, meta, shrunk_at, missing, state)
        if i < 0:
            reconstruct_gradient(code, X, Z, y, gamma, coef0, degree, p, alpha, status, G, G_bar, active, cache, slot_of, meta, shrunk_at, missing, state)
            _reset_active(active, shrunk_at, state)
            i, j, gap = select_working_set(tol, code, X, Z, y, gamma, coef0, degree, QD, status, G, active, cache, slot_of, meta, shrunk_at, missing, state)
            if i < 0:
                return 0, gap
            state[S_COUNTER] = 1  # shrink at the next iteration
        state[S_ITER] += 1
        Q_i = get_row(i, False, code, X, Z, y, gamma, coef0, degree, active, cache, slot_of, meta, shrunk_at, missing, state)
        Q_j = get_row(j, False, code, X, Z, y, gamma, coef0, degree, active, cache, slot_of, meta, shrunk_at, missing, state)
        old_i = alpha[i]
        old_j = alpha[j]
        _two_variable_step(i, j, Q_i, y, C, QD, alpha, G)
        d_i = alpha[i] - old_i
        d_j = alpha[j] - old_j
        for t in range(state[S_ACTIVE_SIZE]):
            k = active[t]
            G[k] += Q_i[k] * d_i + Q_j[k] * d_j
        up_i = _is_upper(status[i])
        up_j = _is_upper(status[j])
        status[i] = _status_of(alpha[i], C[i])
        status[j] = _status_of(alpha[j], C[j])
        _update_g_bar(i, up_i, code, X, Z, y, gamma, coef0, degree, C, status, G_bar, active, cache, slot_of, meta, shrunk_at, missing, state)
        _update_g_bar(j, up_j, code, X, Z, y, gamma, coef0, degree, C, status, G_bar, active, cache, slot_of, meta, shrunk_at, missing, state)
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
