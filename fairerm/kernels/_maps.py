"""Numba-compiled kernel maps: elementwise maps of a dot-product block, single values and rows.

Small module-level functions on raw arrays (the integer codes of :mod:`._spec`); each has a
plain-numpy twin in ``tests/test_kernels.py``.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ._spec import POLY, PRECOMPUTED, RBF, SIGMOID
from ._vector import exp_nonpositive

__all__ = ["map_dot", "map_block_inplace", "map_block_serial", "map_symmetric_inplace", "kernel_value",
           "kernel_row_into", "gram_loop", "diagonal"]

# Let LLVM reorder the sums of the d-dimensional dot products so that they vectorise (SIMD): about 2x
# faster rows at d = 100; no approximate math functions and no assumptions on NaN/inf.
_REASSOCIATE = {"reassoc", "contract", "nsz", "arcp"}


@numba.njit(cache=True)
def map_dot(code, dot, sq_a, sq_b, gamma, coef0, degree):
    r"""k(a, b) from a.b and the squared norms (codes LINEAR..SIGMOID).

    RBF through :func:`fairerm.kernels._vector.exp_nonpositive` (its argument is :math:`\le 0`: the
    squared distance clipped at 0, :math:`\gamma > 0`), not ``math.exp``: no library call, so the loops
    of the block maps below vectorise (about three times the throughput of libm's ``exp`` on the Gram
    blocks of the constraint columns and of the certificate's scores, Adult, d = 108), within
    :math:`4\cdot10^{-16}` relative of it.
    """
    if code == RBF:
        d2 = sq_a + sq_b - 2.0 * dot
        return exp_nonpositive(-gamma * (d2 if d2 > 0.0 else 0.0))
    if code == POLY:
        return (gamma * dot + coef0) ** degree
    if code == SIGMOID:
        return math.tanh(gamma * dot + coef0)
    return dot


@numba.njit(cache=True, fastmath={"contract"})
def _map_row(code, g, sq_a_i, sq_b, gamma, coef0, degree):
    """g[j] <- k(a, b_j) from g[j] = a.b_j: one row of a block (:func:`map_dot` entry by entry)."""
    for j in range(g.shape[0]):
        g[j] = map_dot(code, g[j], sq_a_i, sq_b[j], gamma, coef0, degree)


@numba.njit(cache=True, parallel=True)
def map_block_inplace(G, sq_a, sq_b, code, gamma, coef0, degree):
    """Replace each G[i, j] = a_i.b_j by k(a_i, b_j), rows in parallel."""
    for i in numba.prange(G.shape[0]):
        _map_row(code, G[i], sq_a[i], sq_b, gamma, coef0, degree)


@numba.njit(cache=True)
def map_block_serial(G, sq_a, sq_b, code, gamma, coef0, degree):
    """Serial twin of map_block_inplace, for blocks too small to pay a parallel launch."""
    for i in range(G.shape[0]):
        _map_row(code, G[i], sq_a[i], sq_b, gamma, coef0, degree)


@numba.njit(cache=True, parallel=True)
def map_symmetric_inplace(G, sq, code, gamma, coef0, degree):
    """Map the lower triangle of the symmetric G = A A^T and mirror it (half the exps)."""
    n = G.shape[0]
    for i in numba.prange(n):
        _map_row(code, G[i, : i + 1], sq[i], sq[: i + 1], gamma, coef0, degree)
    for i in numba.prange(n):
        for j in range(i + 1, n):
            G[i, j] = G[j, i]


@numba.njit(cache=True)
def kernel_value(code, X, i, Y, j, gamma, coef0, degree):
    """k(X[i], Y[j]) for feature rows; for PRECOMPUTED, X is the kernel and the value is X[i, j]."""
    if code == PRECOMPUTED:
        return X[i, j]
    d = X.shape[1]
    if code == RBF:
        acc = 0.0
        for t in range(d):
            diff = X[i, t] - Y[j, t]
            acc += diff * diff
        return math.exp(-gamma * acc)
    acc = 0.0
    for t in range(d):
        acc += X[i, t] * Y[j, t]
    if code == POLY:
        return (gamma * acc + coef0) ** degree
    if code == SIGMOID:
        return math.tanh(gamma * acc + coef0)
    return acc


@numba.njit(cache=True, fastmath=_REASSOCIATE)
def kernel_row_into(code, X, i, Y, index, lo, hi, gamma, coef0, degree, out):
    """out[k] = k(X[i], Y[k]) for k = index[t], lo <= t < hi; every k of Y when ``index`` is empty.

    The kernel branch is taken once per row, not once per entry (this is the SMO solver's hot
    loop). For PRECOMPUTED, X is the kernel and out[k] = X[i, k].
    """
    all_rows = index.shape[0] == 0
    n_cols = X.shape[1] if code == PRECOMPUTED else Y.shape[0]
    count = n_cols if all_rows else hi - lo
    d = X.shape[1]
    if code == PRECOMPUTED:
        for t in range(count):
            k = t if all_rows else index[lo + t]
            out[k] = X[i, k]
    elif code == RBF:
        for t in range(count):
            k = t if all_rows else index[lo + t]
            acc = 0.0
            for s in range(d):
                diff = X[i, s] - Y[k, s]
                acc += diff * diff
            out[k] = math.exp(-gamma * acc)
    else:
        for t in range(count):
            k = t if all_rows else index[lo + t]
            acc = 0.0
            for s in range(d):
                acc += X[i, s] * Y[k, s]
            if code == POLY:
                acc = (gamma * acc + coef0) ** degree
            elif code == SIGMOID:
                acc = math.tanh(gamma * acc + coef0)
            out[k] = acc


@numba.njit(cache=True, parallel=True)
def gram_loop(code, A, B, gamma, coef0, degree):
    """The whole block by direct loops (no GEMM): the reference the GEMM path is timed against."""
    out = np.empty((A.shape[0], B.shape[0]))
    for i in numba.prange(A.shape[0]):
        for j in range(B.shape[0]):
            out[i, j] = kernel_value(code, A, i, B, j, gamma, coef0, degree)
    return out


@numba.njit(cache=True)
def diagonal(code, X, gamma, coef0, degree):
    out = np.empty(X.shape[0])
    for i in range(X.shape[0]):
        out[i] = kernel_value(code, X, i, X, i, gamma, coef0, degree)
    return out
