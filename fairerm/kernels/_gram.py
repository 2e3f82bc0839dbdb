"""Gram blocks, rows, diagonals and kernel products on feature arrays (see :mod:`fairerm.kernels`)."""

from __future__ import annotations

import numpy as np

from .._memory import check_memory
from ..exceptions import FairermValueError
from ._maps import diagonal, kernel_row_into, map_block_inplace, map_block_serial, map_symmetric_inplace
from ._spec import KernelSpec
from ._vector import feature_major, kernel_matvec_t, kernel_matvec_t_serial

__all__ = ["gram_block", "gram_symmetric", "kernel_row", "kernel_diagonal", "kernel_matvec", "decision_values"]

_DEFAULT_BLOCK_BYTES = 64 * 2**20
#: From this many features kernel products and blocks go through BLAS (GEMM, then the map): the
#: vectorised row loops of :mod:`._vector` win below (measured at d = 10), lose at d = 108 (Adult).
GEMM_MIN_FEATURES = 32
# Below this many entries a parallel launch (tens of microseconds, milliseconds when OpenMP threads
# spin against BLAS threads) costs more than the elementwise map itself.
_PARALLEL_MIN_ENTRIES = 1 << 18


def _block_rows(n_cols: int, block_bytes: int = _DEFAULT_BLOCK_BYTES) -> int:
    return max(1, int(block_bytes // (8 * max(n_cols, 1))))


#: Entries per slice of the finiteness check (a boolean temporary of at most 1 MiB, whatever the input's size).
_FINITE_CHECK_ENTRIES = 1 << 20


def _features(A, name: str) -> np.ndarray:
    """``A`` as a C-contiguous float64 (n, d) array of finite values, refused otherwise, naming ``name``.

    A NaN or an infinite feature has no kernel value: the RBF map would clip its NaN squared distance
    to 0 and return 1, the dot-product kernels NaN, so it is refused rather than computed.
    """
    A = np.ascontiguousarray(A, dtype=np.float64)
    if A.ndim != 2:
        raise FairermValueError(f"{name} must be a 2-D array (n_samples, n_features); got shape {A.shape}.")
    step = max(1, _FINITE_CHECK_ENTRIES // max(A.shape[1], 1))
    for start in range(0, A.shape[0], step):
        finite = np.isfinite(A[start:start + step])
        if not finite.all():
            row, col = np.argwhere(~finite)[0]
            bad = A[start + row, col]
            count = int(np.count_nonzero(~np.isfinite(A)))
            raise FairermValueError(
                f"{name} contains {count} NaN or infinite value(s) (the first, {bad}, at row {start + row}, "
                f"column {col}); kernel values need finite features: impute or drop them first."
            )
    return A


def _needs_features(spec: KernelSpec, what: str) -> None:
    if spec.is_precomputed:
        raise FairermValueError(
            f"kernel='precomputed' has no feature map, so {what} cannot be computed from features; "
            "pass the kernel values themselves."
        )


def gram_block(A: np.ndarray, B: np.ndarray, spec: KernelSpec, *, out: np.ndarray | None = None) -> np.ndarray:
    r"""The Gram block :math:`K(A, B)_{ij} = k(a_i, b_j)`, shape (m, l).

    One BLAS GEMM :math:`A B^\top` then a parallel elementwise map (exp for RBF, power for poly).
    ``spec.gamma`` must be numeric (see :meth:`KernelSpec.resolve`). Refuses, with
    :class:`~fairerm.exceptions.MemoryBudgetError`, an output that would not fit in memory.
    """
    _needs_features(spec, "a Gram block")
    A, B = _features(A, "A"), _features(B, "B")
    if A.shape[1] != B.shape[1]:
        raise FairermValueError(f"A has {A.shape[1]} features but B has {B.shape[1]}; they must match.")
    gamma, coef0, degree = spec.params()
    if out is None:
        check_memory(8.0 * A.shape[0] * B.shape[0], f"A {A.shape[0]} x {B.shape[0]} Gram block",
                     "Use kernel_matvec or kernel rows, which work by blocks.")
    G = np.matmul(A, B.T, out=out)
    if spec.name != "linear":
        sq_a = np.einsum("ij,ij->i", A, A) if spec.name == "rbf" else np.empty(A.shape[0])
        sq_b = np.einsum("ij,ij->i", B, B) if spec.name == "rbf" else np.empty(B.shape[0])
        mapper = map_block_inplace if G.size >= _PARALLEL_MIN_ENTRIES else map_block_serial
        mapper(G, sq_a, sq_b, spec.code, gamma, coef0, degree)
    return G


def gram_symmetric(A: np.ndarray, spec: KernelSpec) -> np.ndarray:
    r"""The symmetric Gram matrix :math:`K(A, A)`, shape (n, n).

    :math:`A A^\top` uses BLAS ``syrk`` (numpy detects the transposed operand: half the flops of a
    GEMM) and the kernel map is evaluated on the lower triangle only, then mirrored.
    """
    _needs_features(spec, "a Gram matrix")
    A = _features(A, "A")
    gamma, coef0, degree = spec.params()
    n = A.shape[0]
    check_memory(8.0 * n * n, f"A dense {n} x {n} Gram matrix",
                 "Use the SMO solver (rows on demand) or kernel_matvec, which never form it.")
    G = A @ A.T
    if spec.name != "linear":
        sq = np.einsum("ij,ij->i", A, A) if spec.name == "rbf" else np.empty(n)
        map_symmetric_inplace(G, sq, spec.code, gamma, coef0, degree)
    return G


def kernel_row(x: np.ndarray, X: np.ndarray, spec: KernelSpec) -> np.ndarray:
    r"""One row :math:`(k(x, x_1), \dots, k(x, x_n))` for a point ``x`` of shape (d,)."""
    _needs_features(spec, "a kernel row")
    X = _features(X, "X")
    x2 = _features(np.asarray(x, dtype=np.float64).reshape(1, -1), "x")
    if x2.shape[1] != X.shape[1]:
        raise FairermValueError(f"x has {x2.shape[1]} features but X has {X.shape[1]}; they must match.")
    gamma, coef0, degree = spec.params()
    out = np.empty(X.shape[0])
    kernel_row_into(spec.code, x2, 0, X, np.empty(0, dtype=np.int64), 0, 0, gamma, coef0, degree, out)
    return out


def kernel_diagonal(X: np.ndarray, spec: KernelSpec) -> np.ndarray:
    r"""The diagonal :math:`(k(x_i, x_i))_i`; for ``"precomputed"`` ``X`` is the square kernel."""
    if spec.is_precomputed:
        K = np.asarray(X, dtype=np.float64)
        if K.ndim != 2 or K.shape[0] != K.shape[1]:
            raise FairermValueError(f"X must be a square precomputed kernel matrix; got an array of shape {K.shape}.")
        return np.ascontiguousarray(np.diag(K))
    X = _features(X, "X")
    gamma, coef0, degree = spec.params()
    return diagonal(spec.code, X, gamma, coef0, degree)


def kernel_matvec(
    X: np.ndarray, Y: np.ndarray, W: np.ndarray, spec: KernelSpec, *, block_bytes: int = _DEFAULT_BLOCK_BYTES,
    progress=None,
) -> np.ndarray:
    r"""The product :math:`K(X, Y)\, W`, shape (n, k) (or (n,) for a 1-D ``W`` of shape (m,)).

    Below :data:`GEMM_MIN_FEATURES` features, row by row in compiled, vectorised code
    (:func:`fairerm.kernels._vector.kernel_matvec_t`, rows in parallel): memory :math:`O(m)` per
    thread, the block :math:`K(X, Y)` is never formed; from there on by Gram blocks of at most
    ``block_bytes`` (BLAS).
    Progress is reported by blocks of rows of ``X`` (as many as a ``block_bytes`` Gram block would
    hold, default 64 MiB).
    For ``"precomputed"``, ``X`` is the kernel block :math:`K(X, Y)` itself, shape (n, m), and
    ``Y`` is ignored. ``progress(rows_done, n)`` is called after each block (a long product can
    show how far it is, and ``KeyboardInterrupt`` lands between blocks).
    """
    W = np.asarray(W, dtype=np.float64)
    vector = W.ndim == 1
    W2 = W.reshape(-1, 1) if vector else W
    if spec.is_precomputed:
        K = np.asarray(X, dtype=np.float64)
        if K.ndim != 2 or K.shape[1] != W2.shape[0]:
            raise FairermValueError(
                f"X must be the precomputed kernel block with {W2.shape[0]} columns (one per row of W); "
                f"got shape {K.shape}."
            )
        out = K @ W2
        return out[:, 0] if vector else out
    X, Y = _features(X, "X"), _features(Y, "Y")
    if W2.ndim != 2 or W2.shape[0] != Y.shape[0]:
        raise FairermValueError(f"W must have {Y.shape[0]} rows (one per row of Y); got shape {W.shape}.")
    if X.shape[1] != Y.shape[1]:
        raise FairermValueError(f"X has {X.shape[1]} features but Y has {Y.shape[1]}; they must match.")
    out = np.empty((X.shape[0], W2.shape[1]))
    if X.shape[1] >= GEMM_MIN_FEATURES:  # many features: BLAS blocks beat the row loops
        step = _block_rows(Y.shape[0], block_bytes)
        buffer = np.empty((min(step, X.shape[0]), Y.shape[0]))
        for start in range(0, X.shape[0], step):
            stop = min(start + step, X.shape[0])
            np.matmul(gram_block(X[start:stop], Y, spec, out=buffer[: stop - start]), W2, out=out[start:stop])
            if progress is not None:
                progress(stop, X.shape[0])
        return out[:, 0] if vector else out
    gamma, coef0, degree = spec.params()
    sq_x, sq_y = np.einsum("ij,ij->i", X, X), np.einsum("ij,ij->i", Y, Y)
    WT = np.ascontiguousarray(W2.T)
    YT = feature_major(Y)  # once for every block (None at many features)
    step = _block_rows(Y.shape[0], block_bytes)
    for start in range(0, X.shape[0], step):
        stop = min(start + step, X.shape[0])
        product = kernel_matvec_t if (stop - start) * Y.shape[0] >= _PARALLEL_MIN_ENTRIES else kernel_matvec_t_serial
        product(spec.code, X[start:stop], sq_x[start:stop], Y, sq_y, WT, gamma, coef0, degree, out[start:stop], YT)
        if progress is not None:
            progress(stop, X.shape[0])
    return out[:, 0] if vector else out


def decision_values(
    X_new: np.ndarray,
    support_vectors: np.ndarray,
    dual_coef: np.ndarray,
    intercept: float,
    spec: KernelSpec,
    *,
    block_bytes: int = _DEFAULT_BLOCK_BYTES,
) -> np.ndarray:
    r"""Scores :math:`f(x) = \sum_j c_j\, k(s_j, x) + b` of new points, by blocks.

    ``support_vectors`` :math:`s_j` (m, d), ``dual_coef`` :math:`c_j` (m,) (for an SVM,
    :math:`c_j = \alpha_j y_j`), ``intercept`` :math:`b`. For ``"precomputed"``, ``X_new`` is
    :math:`K(X_{new}, S)` of shape (n_new, m).
    """
    coef = np.asarray(dual_coef, dtype=np.float64).ravel()
    return kernel_matvec(X_new, support_vectors, coef, spec, block_bytes=block_bytes) + float(intercept)
