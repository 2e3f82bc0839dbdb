r"""Rows of the SMO matrix :math:`Q` on demand, kept in a bounded LRU cache (compiled with Numba).

:math:`Q_{ik} = y_i y_k (k(x_i, x_k) - z_i^\top z_k)`: one row costs :math:`n` kernel values
(:func:`fairerm.kernels._vector.kernel_row_t`, vectorised) plus :math:`O(nr)` for the low-rank part. The cache
holds whole rows in a preallocated ``(n_rows, n)`` array; ``meta`` keeps, per slot, its owner, the
epoch and time at which it was computed, whether it is complete, and the LRU links.

Shrinking (see :mod:`fairerm.solvers._smo_core`) makes rows cheaper: only the active entries
are computed. The data are never permuted: ``active[:active_size]`` lists the active indices and
``active[active_size:]`` the shrunk ones; when every index is active, ``active`` is ``0, ..., n-1`` in order
(it starts so, and only :func:`reset_active` makes the set whole again), so the solver's loops then index
directly. Between two resets of the active set to all indices
(an *epoch*) the active set only shrinks; each shrinking round that removes indices advances a
clock and records in ``shrunk_at[epoch % 2, k]`` when ``k`` left. A row computed at time ``c``
holds exactly the entries ``k`` with ``shrunk_at[k] > c``, and a row asked for on a larger set
(all indices, or the active set of the next epoch) has only its missing entries computed, as
libsvm extends its shorter rows.

All the arrays travel together as one tuple, ``rows`` (see :func:`make_rows`), so the solver's
functions take a single argument for them.
"""

from __future__ import annotations

import numba
import numpy as np

from ..kernels import kernel_row_into
from ..kernels._spec import PRECOMPUTED
from ..kernels._vector import (BLOCK, PARALLEL_ROW_WORK, feature_major, full_row_pays, kernel_row_fm,
                               kernel_row_parallel, kernel_row_parallel_fm, kernel_row_t)

__all__ = ["STATE_SIZE", "initial_state", "make_rows", "get_row", "reset_active", "preload", "restart",
           "change_low_rank"]

# positions in the int64 state vector
S_ACTIVE_SIZE, S_EPOCH, S_COUNTER, S_UNSHRUNK, S_ITER, S_HITS, S_MISSES, S_HEAD, S_TAIL, S_USED, S_STAMP = range(11)
STATE_SIZE = 11

# rows of the int64 per-slot metadata of the row cache
M_OWNER, M_EPOCH, M_STAMP, M_FULL, M_PREV, M_NEXT = range(6)
META_ROWS = 6
NEVER_SHRUNK = np.iinfo(np.int64).max


def initial_state(n: int) -> np.ndarray:
    state = np.zeros(STATE_SIZE, dtype=np.int64)
    state[S_ACTIVE_SIZE] = n
    state[S_COUNTER] = min(n, 1000) + 1
    state[S_HEAD] = -1
    state[S_TAIL] = -1
    return state


# positions in the ``rows`` tuple
(R_CODE, R_X, R_Z, R_Y, R_GAMMA, R_COEF0, R_DEGREE, R_ACTIVE,
 R_CACHE, R_SLOT_OF, R_META, R_SHRUNK_AT, R_MISSING, R_STATE, R_SQ, R_WORK, R_THREADS, R_XT) = range(18)


def make_rows(code, X, Z, y, gamma, coef0, degree, n_rows, storage=None):
    """The ``rows`` tuple: kernel data, the active set, an empty cache of ``n_rows`` rows and the state.

    ``storage``: an (n_rows, n) float64 array to hold the cache (default: a new one). At few features
    the tuple also holds the feature-major copy :math:`X^\top` (:func:`fairerm.kernels._vector.feature_major`,
    :math:`8d` bytes a point) from which whole rows are computed; otherwise an empty array.
    """
    n = X.shape[0]
    XT = None if int(code) == PRECOMPUTED else feature_major(X, "data of the SMO rows")
    meta = np.full((META_ROWS, n_rows), -1, dtype=np.int64)
    meta[M_FULL] = 0
    shrunk_at = np.full((2, n), NEVER_SHRUNK, dtype=np.int64)
    sq = np.zeros(n) if int(code) == PRECOMPUTED else np.einsum("ij,ij->i", X, X)
    return (
        int(code), X, Z, y, float(gamma), float(coef0), int(degree), np.arange(n, dtype=np.int64),
        np.empty((n_rows, n)) if storage is None else storage, np.full(n, -1, dtype=np.int64), meta, shrunk_at, np.empty(n, dtype=np.int64),
        initial_state(n), sq, np.empty(2 * BLOCK), int(numba.get_num_threads()),
        np.empty((0, 0)) if XT is None else XT,
    )


@numba.njit(cache=True)
def _fill_row(rows, i, index, lo, hi, row):
    """row[k] = Q[i, k] = y_i y_k (k(x_i, x_k) - z_i.z_k) for k = index[t], lo <= t < hi (all k if no index).

    Kernel values by :func:`fairerm.kernels._vector.kernel_row_fm` for a whole row at few features (from the
    feature-major copy), else :func:`fairerm.kernels._vector.kernel_row_t` (vectorised; split among the
    threads from :data:`~fairerm.kernels._vector.PARALLEL_ROW_WORK` multiply-adds), or read from the matrix
    for a precomputed kernel.
    """
    code, X, Z, y, gamma, coef0, degree = rows[:7]
    if code == PRECOMPUTED:
        kernel_row_into(code, X, i, X, index, lo, hi, gamma, coef0, degree, row)
    else:
        sq, XT = rows[R_SQ], rows[R_XT]
        count = X.shape[0] if index.shape[0] == 0 else hi - lo
        threads = rows[R_THREADS]
        parallel = threads > 1 and count * X.shape[1] >= PARALLEL_ROW_WORK
        if index.shape[0] == 0 and XT.shape[0] > 0:  # a whole row from the feature-major copy
            if parallel:
                kernel_row_parallel_fm(code, X[i], sq[i], XT, sq, gamma, coef0, degree, row, threads)
            else:
                kernel_row_fm(code, X[i], sq[i], XT, sq, gamma, coef0, degree, row)
        elif parallel:
            kernel_row_parallel(code, X[i], sq[i], X, sq, index, lo, hi, gamma, coef0, degree, row, threads)
        else:
            kernel_row_t(code, X[i], sq[i], X, sq, index, lo, hi, gamma, coef0, degree, row, rows[R_WORK])
    if index.shape[0] == 0:
        _to_q_row(Z, y, i, row)
        return
    r = Z.shape[1]
    yi = y[i]
    for t in range(lo, hi):
        k = index[t]
        value = row[k]
        for s in range(r):
            value -= Z[i, s] * Z[k, s]
        row[k] = yi * y[k] * value


@numba.njit(cache=True, fastmath={"contract"})
def _to_q_row(Z, y, i, row):
    """row <- y_i y (row - Z z_i): a whole kernel row made a row of Q, loops along the row (vectorised)."""
    n = row.shape[0]
    for s in range(Z.shape[1]):
        zis = Z[i, s]
        for k in range(n):
            row[k] -= zis * Z[k, s]
    yi = y[i]
    for k in range(n):
        row[k] *= yi * y[k]


@numba.njit(cache=True)
def _fill_full_row(rows, i, row):
    _fill_row(rows, i, np.empty(0, dtype=np.int64), 0, 0, row)


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
def _compute_row(i, full, rows, row, slot):
    """Compute row i afresh: on all indices, or on the active set only (stamped with the current time).

    A row on a large active set is computed whole (:func:`fairerm.kernels._vector.full_row_pays`).
    """
    X, active = rows[R_X], rows[R_ACTIVE]
    meta, state = rows[R_META], rows[R_STATE]
    n = X.shape[0]
    active_size = state[S_ACTIVE_SIZE]
    if full or active_size == n or full_row_pays(active_size, n, X.shape[1]):
        _fill_full_row(rows, i, row)
        meta[M_FULL, slot] = 1
    else:
        _fill_row(rows, i, active, 0, active_size, row)
        meta[M_FULL, slot] = 0
    meta[M_EPOCH, slot] = state[S_EPOCH]
    meta[M_STAMP, slot] = state[S_STAMP]


@numba.njit(cache=True)
def _complete_row(i, full, rows, row, slot):
    """Add the entries a row of the current or previous epoch lacks; False if it lacked none."""
    X, active = rows[R_X], rows[R_ACTIVE]
    meta, shrunk_at, missing, state = rows[R_META], rows[R_SHRUNK_AT], rows[R_MISSING], rows[R_STATE]
    shrunk = shrunk_at[meta[M_EPOCH, slot] % 2]
    stamp = meta[M_STAMP, slot]
    n = X.shape[0]
    m = 0
    if full:
        for k in range(n):
            if shrunk[k] <= stamp:
                missing[m] = k
                m += 1
    else:
        for t in range(state[S_ACTIVE_SIZE]):
            k = active[t]
            if shrunk[k] <= stamp:
                missing[m] = k
                m += 1
    if m > 0 and full_row_pays(m, n, X.shape[1]):
        _fill_full_row(rows, i, row)
        meta[M_FULL, slot] = 1
        meta[M_EPOCH, slot] = state[S_EPOCH]
        meta[M_STAMP, slot] = state[S_STAMP]
        return True
    if m > 0:
        _fill_row(rows, i, missing, 0, m, row)
    if full:
        meta[M_FULL, slot] = 1
    else:  # now valid on the current active set
        meta[M_EPOCH, slot] = state[S_EPOCH]
        meta[M_STAMP, slot] = state[S_STAMP]
    return m > 0


@numba.njit(cache=True)
def get_row(i, full, rows):
    """Row i of Q, valid on the active set (``full=False``) or on all indices; returns the cache row.

    A cached row of the current or the previous epoch gets only its missing entries computed;
    older ones are recomputed. A miss counts every call that computed some entry.
    """
    cache, slot_of, meta, state = rows[R_CACHE], rows[R_SLOT_OF], rows[R_META], rows[R_STATE]
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
        _compute_row(i, full, rows, row, slot)
        _lru_push_front(slot, meta, state)
        return row
    _lru_unlink(slot, meta, state)
    row = cache[slot]
    age = state[S_EPOCH] - meta[M_EPOCH, slot]
    if meta[M_FULL, slot] == 1 or (age == 0 and not full):
        state[S_HITS] += 1
    elif age <= 1:
        if _complete_row(i, full, rows, row, slot):
            state[S_MISSES] += 1
        else:
            state[S_HITS] += 1
    else:
        state[S_MISSES] += 1
        _compute_row(i, full, rows, row, slot)
    _lru_push_front(slot, meta, state)
    return row


@numba.njit(cache=True)
def reset_active(rows):
    """Make every index active again: a new epoch, whose shrink times start at 'never'."""
    active, shrunk_at, state = rows[R_ACTIVE], rows[R_SHRUNK_AT], rows[R_STATE]
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
def preload(rows, indices, K_rows, in_place):
    """Put kernel rows already computed, ``K_rows[j] = k(x_{indices[j]}, X)``, into the cache as rows of Q.

    Each becomes :math:`y_i y_k (K_{ik} - z_i^\\top z_k)`, complete, as if computed now; as many as the
    cache has free slots. ``in_place``: ``K_rows`` are the first rows of the cache's own storage (the
    indices distinct, the cache empty), converted where they lie. Returns how many were put in.
    """
    cache, slot_of, meta, state = rows[R_CACHE], rows[R_SLOT_OF], rows[R_META], rows[R_STATE]
    Z, y = rows[R_Z], rows[R_Y]
    done = 0
    for j in range(indices.shape[0]):
        if state[S_USED] >= cache.shape[0]:
            break
        i = indices[j]
        if slot_of[i] >= 0:
            continue
        slot = state[S_USED]
        state[S_USED] += 1
        row = cache[slot]
        if not in_place:
            row[:] = K_rows[j]
        _to_q_row(Z, y, i, row)
        meta[M_OWNER, slot] = i
        slot_of[i] = slot
        meta[M_FULL, slot] = 1
        meta[M_EPOCH, slot] = state[S_EPOCH]
        meta[M_STAMP, slot] = state[S_STAMP]
        _lru_push_front(slot, meta, state)
        done += 1
    return done


@numba.njit(cache=True)
def restart(rows):
    """Ready the cache for a new solve on the same Q (a warm restart): every index active, the counters
    at zero; complete rows stay valid, rows on a shrunk set will be recomputed (their epoch is made old)."""
    state, shrunk_at = rows[R_STATE], rows[R_SHRUNK_AT]
    reset_active(rows)
    state[S_EPOCH] += 2
    for e in range(2):
        for k in range(shrunk_at.shape[1]):
            shrunk_at[e, k] = NEVER_SHRUNK
    n = shrunk_at.shape[1]
    state[S_ITER] = 0
    state[S_HITS] = 0
    state[S_MISSES] = 0
    state[S_UNSHRUNK] = 0
    state[S_COUNTER] = min(n, 1000) + 1


@numba.njit(cache=True, fastmath={"contract"})
def _shift_rows(cache, meta, used, yZt_old, yZt_new):
    """cache[slot] += y_i (z_old_i . yZ_old - z_new_i . yZ_new) for the owner i of every used slot.

    ``yZt``: the low-rank factors transposed and scaled by the labels, (r, n), so that the inner loop
    runs along contiguous rows (vectorised) and :math:`y_i` is the sign of column i.
    """
    for slot in range(used):
        i = meta[M_OWNER, slot]
        row = cache[slot]
        for s in range(yZt_old.shape[0]):
            a = yZt_old[s, i]
            source = yZt_old[s]
            for k in range(row.shape[0]):
                row[k] += a * source[k]
        for s in range(yZt_new.shape[0]):
            a = yZt_new[s, i]
            source = yZt_new[s]
            for k in range(row.shape[0]):
                row[k] -= a * source[k]


def change_low_rank(rows, Z_new):
    r"""The cache of :math:`Q = Y(K - Z_{old}Z_{old}^\top)Y` made that of :math:`Y(K - Z_{new}Z_{new}^\top)Y`.

    Only the low-rank part of :math:`Q` changes, so each cached row moves by
    :math:`y_iy_k(z^{old}_i\cdot z^{old}_k - z^{new}_i\cdot z^{new}_k)`, :math:`O(n(r_{old} + r_{new}))`
    per row instead of :math:`n` kernel values (the rows' valid entries stay valid; the others are
    recomputed when asked for, as before). Returns the new ``rows`` tuple (it holds ``Z_new``);
    the caller then restarts it (:func:`restart`).
    """
    Z_new = np.ascontiguousarray(Z_new, dtype=np.float64)
    y = rows[R_Y]
    scaled = [np.ascontiguousarray((Z * y[:, None]).T) for Z in (rows[R_Z], Z_new)]  # y_i y_k z_i.z_k = (y_i z_i).(y_k z_k)
    _shift_rows(rows[R_CACHE], rows[R_META], int(rows[R_STATE][S_USED]), scaled[0], scaled[1])
    return rows[:R_Z] + (Z_new,) + rows[R_Z + 1:]
