r"""Kernel rows and kernel products that the compiler vectorises (SIMD), compiled with Numba.

A row :math:`(k(x, y_1), \dots, k(x, y_m))` of a dot-product kernel is computed by blocks of
:data:`BLOCK` points: the dot products :math:`x^\top y_k`, four points per pass over the features
(four independent sums: about twice the throughput of one dot product at a time at d = 10, a
third more at d = 100), then the elementwise map of the whole block, which LLVM vectorises
(AVX2/AVX-512). At few features (up to :data:`FEATURE_MAJOR_MAX_FEATURES`) whole rows are computed
from the feature-major copy :math:`Y^\top` of the points instead (:func:`kernel_row_fm`): one
contiguous pass along a block of points per feature, which vectorises across the points (the d
features are too few to fill the vector lanes); measured on one core, n = 4,000, RBF, map included:
1.8 against 2.4 ns an entry at d = 10 to 16. For the RBF
kernel

.. math:: k(x, y) = \exp\!\big(-\gamma\,\textstyle\sum_s (x_s - y_s)^2\big)

from explicit differences (not the expansion :math:`\|x\|^2 + \|y\|^2 - 2x^\top y` of the BLAS blocks of
:func:`fairerm.kernels.gram_block`, which cancels for close points: see :func:`_sq_dists`), with the exponential
:func:`exp_nonpositive`: Cody-Waite reduction :math:`t = k\ln 2 + f`, :math:`|f| \le \ln 2 / 2`,
the degree-12 Taylor polynomial of :math:`e^f` (truncation below :math:`2\cdot10^{-16}` relative)
and :math:`2^k` built from its exponent bits, so that the loop holds no call: about five times the
throughput of ``math.exp`` (a libm call per entry, which is what blocks the vectorisation of
:func:`fairerm.kernels._maps.kernel_row_into`), within :math:`4\cdot10^{-16}` relative of it
(``tests/test_kernels.py`` compares it with ``numpy.exp`` on the whole range, subnormal results
included).

:func:`kernel_matvec_t` is :math:`K(X, Y)W` row by row (rows in parallel, ``prange``), never forming
the block: the constraint columns :math:`k_u = K(X, X_P)\,c` of kernel FERM and the scores of the
certificate. Linear, polynomial and sigmoid kernels share the dot products; ``"precomputed"`` has
no rows to compute and stays with :mod:`._maps`.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

from .._memory import check_memory
from ._spec import POLY, RBF, SIGMOID

__all__ = ["exp_nonpositive", "exp_array", "kernel_row_t", "kernel_matvec_t", "kernel_matvec_t_serial",
           "full_row_pays", "kernel_rows_t", "kernel_row_parallel", "feature_major", "kernel_row_fm",
           "kernel_row_parallel_fm", "PARALLEL_ROW_WORK", "BLOCK", "FEATURE_MAJOR_MAX_FEATURES"]

#: Multiply-adds (n d) from which an SMO row is split among the threads: a row then takes a
#: millisecond or so, far above the cost of a parallel launch (tens of microseconds).
PARALLEL_ROW_WORK = 1 << 21
#: Entries per block of dot products: 2 KiB, in the first-level cache with the rows it reads.
BLOCK = 256
#: Up to this many features whole rows are computed from the feature-major copy :math:`Y^\top` of the
#: points (:func:`feature_major`): the loop along a block of points is then contiguous and vectorises
#: across points (the point-major loops vectorise at best along the d features). Its copy costs
#: :math:`8d` bytes a point, as much as the data; above this, rows read the data from memory and the
#: point-major loops are as fast.
FEATURE_MAJOR_MAX_FEATURES = 16
_FAST = {"contract", "reassoc", "nsz", "arcp"}  # no assumption on NaN/inf, no approximate functions
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
_EXP_MIN = -745.2  # below: exp rounds to 0 in float64


@intrinsic
def _bits_to_float(typingctx, bits):
    """The float64 whose IEEE bits are the int64 ``bits`` (an LLVM bitcast: no memory, vectorisable)."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return sig, codegen


@numba.njit(cache=True, inline="always", fastmath={"contract"})
def exp_nonpositive(x):
    r""":math:`e^x` for :math:`x \le 0` (finite), to within 2 ulp, without a library call.

    :math:`x = k\ln 2 + f` (``ln 2`` in two parts, exact products), :math:`e^f` by its degree-12
    Taylor polynomial (Horner), :math:`2^k = 2^{k_1}2^{k_2}` with :math:`k_1 = \lfloor k/2\rfloor`
    so that both factors are normal numbers down to the subnormal results near :math:`x = -745`.
    """
    x = max(x, _EXP_MIN)
    kf = math.floor(x * _INV_LN2 + 0.5)
    f = (x - kf * _LN2_HI) - kf * _LN2_LO
    p = 1.0 + f * (1.0 + f * (0.5 + f * (1.0 / 6.0 + f * (1.0 / 24.0 + f * (1.0 / 120.0 + f * (
        1.0 / 720.0 + f * (1.0 / 5040.0 + f * (1.0 / 40320.0 + f * (1.0 / 362880.0 + f * (
            1.0 / 3628800.0 + f * (1.0 / 39916800.0 + f * (1.0 / 479001600.0))))))))))))
    k = np.int64(kf)
    k1 = k >> 1
    return p * _bits_to_float((k1 + 1023) << 52) * _bits_to_float((k - k1 + 1023) << 52)


@numba.njit(cache=True, fastmath={"contract"})
def exp_array(x, out):
    """out[i] = exp(x[i]) for x <= 0 (the twin of ``numpy.exp`` the tests compare)."""
    for i in range(x.shape[0]):
        out[i] = exp_nonpositive(x[i])


@numba.njit(cache=True, inline="always", fastmath=_FAST)
def _map_block(code, acc, nb, sq_x, sq_y, gamma, coef0, degree):
    """acc[t] = k from the dot products acc[t] (t < nb) and sq_y[t] = the squared norms of the points."""
    if code == RBF:  # acc holds the squared distances (:func:`_sq_dists`), not dot products
        for t in range(nb):
            acc[t] = exp_nonpositive(-gamma * acc[t])
    elif code == POLY:
        for t in range(nb):
            acc[t] = (gamma * acc[t] + coef0) ** degree
    elif code == SIGMOID:
        for t in range(nb):
            acc[t] = math.tanh(gamma * acc[t] + coef0)


@numba.njit(cache=True, inline="always", fastmath=_FAST)
def _dots(x, Y, k0, k1, k2, k3):
    """The dot products of x with four points (one pass over the features: four independent sums)."""
    a0 = a1 = a2 = a3 = 0.0
    for s in range(x.shape[0]):
        xs = x[s]
        a0 += xs * Y[k0, s]
        a1 += xs * Y[k1, s]
        a2 += xs * Y[k2, s]
        a3 += xs * Y[k3, s]
    return a0, a1, a2, a3


@numba.njit(cache=True, inline="always", fastmath=_FAST)
def _sq_dists(x, Y, k0, k1, k2, k3):
    r"""The squared distances of x to four points, from explicit differences.

    Not :math:`\|x\|^2 + \|y\|^2 - 2\langle x, y\rangle`: that cancels when the points are close compared
    with their norms (features of size 1e6: an absolute error of about 1e-4 in the distance of duplicate
    points, different for each position of a point in a block), and the RBF kernel would not be
    symmetric, nor the same at fit and at predict time. The differences cost one subtraction more per
    feature and are exact to rounding relative to the distance itself.
    """
    a0 = a1 = a2 = a3 = 0.0
    for s in range(x.shape[0]):
        xs = x[s]
        d0 = xs - Y[k0, s]
        d1 = xs - Y[k1, s]
        d2 = xs - Y[k2, s]
        d3 = xs - Y[k3, s]
        a0 += d0 * d0
        a1 += d1 * d1
        a2 += d2 * d2
        a3 += d3 * d3
    return a0, a1, a2, a3


@numba.njit(cache=True, inline="always", fastmath=_FAST)
def _sq_dist(x, Y, k):
    total = 0.0
    for s in range(x.shape[0]):
        diff = x[s] - Y[k, s]
        total += diff * diff
    return total


@numba.njit(cache=True, inline="always", fastmath=_FAST)
def _dot(x, Y, k):
    total = 0.0
    for s in range(x.shape[0]):
        total += x[s] * Y[k, s]
    return total


@numba.njit(cache=True, fastmath=_FAST)
def _points_all(code, x, sq_x, Y, sq_y, gamma, coef0, degree, out, acc):
    m = Y.shape[0]
    for start in range(0, m, BLOCK):
        nb = min(BLOCK, m - start)
        nb4 = nb - nb % 4
        if code == RBF:
            for t in range(0, nb4, 4):
                k = start + t
                acc[t], acc[t + 1], acc[t + 2], acc[t + 3] = _sq_dists(x, Y, k, k + 1, k + 2, k + 3)
            for t in range(nb4, nb):
                acc[t] = _sq_dist(x, Y, start + t)
        else:
            for t in range(0, nb4, 4):
                k = start + t
                acc[t], acc[t + 1], acc[t + 2], acc[t + 3] = _dots(x, Y, k, k + 1, k + 2, k + 3)
            for t in range(nb4, nb):
                acc[t] = _dot(x, Y, start + t)
        _map_block(code, acc[:nb], nb, sq_x, sq_y[start:start + nb], gamma, coef0, degree)
        out[start:start + nb] = acc[:nb]


@numba.njit(cache=True, fastmath=_FAST)
def _points_indexed(code, x, sq_x, Y, sq_y, index, lo, hi, gamma, coef0, degree, out, acc):
    sq = acc[BLOCK:2 * BLOCK]
    for start in range(lo, hi, BLOCK):
        nb = min(BLOCK, hi - start)
        nb4 = nb - nb % 4
        if code == RBF:
            for t in range(0, nb4, 4):
                u = start + t
                acc[t], acc[t + 1], acc[t + 2], acc[t + 3] = _sq_dists(x, Y, index[u], index[u + 1], index[u + 2],
                                                                       index[u + 3])
            for t in range(nb4, nb):
                acc[t] = _sq_dist(x, Y, index[start + t])
        else:
            for t in range(0, nb4, 4):
                u = start + t
                acc[t], acc[t + 1], acc[t + 2], acc[t + 3] = _dots(x, Y, index[u], index[u + 1], index[u + 2],
                                                                   index[u + 3])
            for t in range(nb4, nb):
                acc[t] = _dot(x, Y, index[start + t])
        for t in range(nb):
            sq[t] = sq_y[index[start + t]]
        _map_block(code, acc[:nb], nb, sq_x, sq[:nb], gamma, coef0, degree)
        for t in range(nb):
            out[index[start + t]] = acc[t]


@numba.njit(cache=True)
def kernel_row_t(code, x, sq_x, Y, sq_y, index, lo, hi, gamma, coef0, degree, out, acc):
    r"""out[k] = k(x, y_k) for k = index[t], lo <= t < hi (every k when ``index`` is empty).

    ``Y`` (m, d) C-contiguous, ``sq_x``, ``sq_y`` the squared norms (used by RBF), ``acc`` a work
    array of ``2 * BLOCK`` entries. An entry of a whole row costs about half of one on a scattered
    ``index`` at d = 10 (:func:`full_row_pays`).
    """
    if index.shape[0] == 0:
        _points_all(code, x, sq_x, Y, sq_y, gamma, coef0, degree, out, acc)
    else:
        _points_indexed(code, x, sq_x, Y, sq_y, index, lo, hi, gamma, coef0, degree, out, acc)


@numba.njit(cache=True)
def full_row_pays(n_entries, n, d):
    """Whether computing all ``n`` entries of a row is cheaper than ``n_entries`` scattered ones.

    Measured per entry (RBF, n = 4,000, one core): 6.9 ns in a whole row and 12.9 ns scattered at
    d = 10, 12.9 and 18.9 ns at d = 30, 37 and 44 ns at d = 100 (libm's ``exp`` row of
    :func:`fairerm.kernels._maps.kernel_row_into`: 18, 18 and 52 ns whole).
    """
    return 2 * n_entries > n if d <= 32 else 5 * n_entries > 4 * n


def feature_major(Y: np.ndarray, what: str = "points") -> np.ndarray | None:
    r"""The points' feature-major copy :math:`Y^\top`, C-contiguous (d, m), for :func:`kernel_row_fm`; ``None``
    above :data:`FEATURE_MAJOR_MAX_FEATURES` features or without any (the point-major loops are used there).

    The copy is as large as ``Y``; it is refused up front, naming ``what``, when it does not fit in memory."""
    if not 0 < Y.shape[1] <= FEATURE_MAJOR_MAX_FEATURES:
        return None
    check_memory(8.0 * Y.size, f"The feature-major copy of the {Y.shape[0]} x {Y.shape[1]} {what}",
                 "Use fewer samples.")
    return np.ascontiguousarray(Y.T)


@numba.njit(cache=True, fastmath=_FAST)
def _points_fm(code, x, sq_x, YT, sq_y, lo, hi, gamma, coef0, degree, out):
    r"""out[k] = k(x, y_k) for lo <= k < hi, from the feature-major points ``YT`` (d, m), d >= 1.

    By blocks of :data:`BLOCK` entries of ``out`` (in the first-level cache): the first feature sets
    the block, each further one is a contiguous pass that adds its term, which vectorises across the
    points (about 3.5 times the throughput of :func:`_points_all` at d = 10). Each entry sums the same
    terms in the same order as :func:`_sq_dists` and :func:`_dots` (feature 0 first), so the values are
    those of the point-major loops up to the reassociation those allow.
    """
    d = YT.shape[0]
    x0 = x[0]
    for start in range(lo, hi, BLOCK):
        stop = min(start + BLOCK, hi)
        block = out[start:stop]
        nb = block.shape[0]
        source = YT[0, start:stop]
        if code == RBF:
            for t in range(nb):
                diff = x0 - source[t]
                block[t] = diff * diff
            for s in range(1, d):
                xs = x[s]
                source = YT[s, start:stop]
                for t in range(nb):
                    diff = xs - source[t]
                    block[t] += diff * diff
        else:
            for t in range(nb):
                block[t] = x0 * source[t]
            for s in range(1, d):
                xs = x[s]
                source = YT[s, start:stop]
                for t in range(nb):
                    block[t] += xs * source[t]
        _map_block(code, block, nb, sq_x, sq_y[start:stop], gamma, coef0, degree)


@numba.njit(cache=True)
def kernel_row_fm(code, x, sq_x, YT, sq_y, gamma, coef0, degree, out):
    r"""The whole row out[k] = k(x, y_k), k < m, from the feature-major points ``YT`` = :math:`Y^\top` (d, m)
    (:func:`feature_major`). The values of
    :func:`kernel_row_t`'s whole row, faster at few features (:data:`FEATURE_MAJOR_MAX_FEATURES`)."""
    _points_fm(code, x, sq_x, YT, sq_y, 0, YT.shape[1], gamma, coef0, degree, out)


@numba.njit(cache=True, parallel=True)
def kernel_row_parallel_fm(code, x, sq_x, YT, sq_y, gamma, coef0, degree, out, n_parts):
    """:func:`kernel_row_fm` with the row split into ``n_parts`` parts computed in parallel (long rows)."""
    count = YT.shape[1]
    for part in numba.prange(n_parts):
        _points_fm(code, x, sq_x, YT, sq_y, part * count // n_parts, (part + 1) * count // n_parts, gamma, coef0,
                   degree, out)


@numba.njit(cache=True, fastmath=_FAST)
def _matvec_rows(code, X, sq_x, Y, YT, sq_y, WT, gamma, coef0, degree, out, lo, hi, row, acc):
    no_index = np.empty(0, dtype=np.int64)
    m = Y.shape[0]
    for i in range(lo, hi):
        if YT.shape[0] > 0:
            _points_fm(code, X[i], sq_x[i], YT, sq_y, 0, m, gamma, coef0, degree, row)
        else:
            kernel_row_t(code, X[i], sq_x[i], Y, sq_y, no_index, 0, 0, gamma, coef0, degree, row, acc)
        for j in range(WT.shape[0]):
            w = WT[j]
            total = 0.0
            for k in range(m):
                total += row[k] * w[k]
            out[i, j] = total


@numba.njit(cache=True, parallel=True)
def _matvec_parallel(code, X, sq_x, Y, YT, sq_y, WT, gamma, coef0, degree, out, n_chunks):
    n = X.shape[0]
    for c in numba.prange(n_chunks):
        row = np.empty(Y.shape[0])
        acc = np.empty(2 * BLOCK)
        _matvec_rows(code, X, sq_x, Y, YT, sq_y, WT, gamma, coef0, degree, out, c * n // n_chunks,
                     (c + 1) * n // n_chunks, row, acc)


@numba.njit(cache=True)
def _matvec_serial(code, X, sq_x, Y, YT, sq_y, WT, gamma, coef0, degree, out):
    row = np.empty(Y.shape[0])
    acc = np.empty(2 * BLOCK)
    _matvec_rows(code, X, sq_x, Y, YT, sq_y, WT, gamma, coef0, degree, out, 0, X.shape[0], row, acc)


_NO_POINTS = np.empty((0, 0))


def kernel_matvec_t(code, X, sq_x, Y, sq_y, WT, gamma, coef0, degree, out, YT=None):
    r"""out = K(X, Y) W with ``WT`` = :math:`W^\top` (k, m): rows of X in parallel chunks, O(m) memory each
    (plus :math:`Y^\top`, :func:`feature_major`, at few features; ``YT``: that copy, when the caller keeps it
    for several calls)."""
    YT = feature_major(Y) if YT is None else YT
    n_chunks = max(1, min(X.shape[0], 8 * numba.get_num_threads()))
    _matvec_parallel(code, X, sq_x, Y, _NO_POINTS if YT is None else YT, sq_y, WT, gamma, coef0, degree, out,
                     n_chunks)


def kernel_matvec_t_serial(code, X, sq_x, Y, sq_y, WT, gamma, coef0, degree, out, YT=None):
    """Serial twin of :func:`kernel_matvec_t`, for products too small to pay a parallel launch."""
    YT = feature_major(Y) if YT is None else YT
    _matvec_serial(code, X, sq_x, Y, _NO_POINTS if YT is None else YT, sq_y, WT, gamma, coef0, degree, out)


@numba.njit(cache=True, parallel=True)
def _rows_parallel(code, A, sq_a, B, BT, sq_b, gamma, coef0, degree, out):
    no_index = np.empty(0, dtype=np.int64)
    for i in numba.prange(A.shape[0]):
        acc = np.empty(2 * BLOCK)
        if BT.shape[0] > 0:
            _points_fm(code, A[i], sq_a[i], BT, sq_b, 0, B.shape[0], gamma, coef0, degree, out[i])
        else:
            kernel_row_t(code, A[i], sq_a[i], B, sq_b, no_index, 0, 0, gamma, coef0, degree, out[i], acc)


def kernel_rows_t(code, A, sq_a, B, sq_b, gamma, coef0, degree, out, BT=None):
    """out[i] = (k(a_i, b_1), ..., k(a_i, b_m)): whole rows, in parallel over the rows of A (from
    :math:`B^\top`, :func:`feature_major`, at few features; ``BT``: that copy, when the caller keeps it
    for several calls)."""
    BT = feature_major(B) if BT is None else BT
    _rows_parallel(code, A, sq_a, B, _NO_POINTS if BT is None else BT, sq_b, gamma, coef0, degree, out)


@numba.njit(cache=True, parallel=True)
def kernel_row_parallel(code, x, sq_x, Y, sq_y, index, lo, hi, gamma, coef0, degree, out, n_parts):
    """:func:`kernel_row_t` with the row split into ``n_parts`` parts computed in parallel (long rows)."""
    all_cols = index.shape[0] == 0
    count = Y.shape[0] if all_cols else hi - lo
    no_index = np.empty(0, dtype=np.int64)
    for part in numba.prange(n_parts):
        a = part * count // n_parts
        b = (part + 1) * count // n_parts
        acc = np.empty(2 * BLOCK)
        if all_cols:
            kernel_row_t(code, x, sq_x, Y[a:b], sq_y[a:b], no_index, 0, 0, gamma, coef0, degree, out[a:b], acc)
        else:
            kernel_row_t(code, x, sq_x, Y, sq_y, index, lo + a, lo + b, gamma, coef0, degree, out, acc)
