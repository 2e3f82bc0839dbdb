r"""Kernel functions, Gram blocks, kernel rows and kernel products, compiled with Numba.

A kernel :math:`k(x, z) = \langle \phi(x), \phi(z)\rangle` on :math:`\mathbb{R}^d` is one of

* ``"linear"``: :math:`k(x, z) = x^\top z`;
* ``"rbf"``: :math:`k(x, z) = \exp(-\gamma \|x - z\|^2)`;
* ``"poly"``: :math:`k(x, z) = (\gamma\, x^\top z + c_0)^{p}` (``degree`` :math:`p \ge 1`);
* ``"sigmoid"``: :math:`k(x, z) = \tanh(\gamma\, x^\top z + c_0)` (not positive semi-definite);
* ``"precomputed"``: the user passes the kernel values :math:`K_{ij} = k(x_i, z_j)` themselves.

For data :math:`A \in \mathbb{R}^{m\times d}` and :math:`B \in \mathbb{R}^{l\times d}` the Gram
block is :math:`K(A, B)_{ij} = k(a_i, b_j)`. Fair kernel machines (Donini et al. 2018) need it
in a few shapes, none of which may cost :math:`O(n^2)` memory unless the caller asks for the
matrix itself:

* :func:`gram_block` / :func:`gram_symmetric`: the matrix, from one GEMM :math:`A B^\top` (BLAS)
  followed by an elementwise map compiled with Numba (for the RBF kernel,
  :math:`\|a - b\|^2 = \|a\|^2 + \|b\|^2 - 2 a^\top b`, clipped at 0);
* :func:`kernel_row`: one row :math:`k(x, X)` on demand (used by the SMO solver's row cache);
* :func:`kernel_matvec`: :math:`K(X, Y) W` by blocks of rows, memory :math:`O(\text{block}\cdot l)`.
  With the fairness weight matrix :math:`C` of :mod:`fairerm.constraints`,
  ``kernel_matvec(X, X[s], C[:, s].T)`` is :math:`k_u = K C^\top` where ``s`` is the support of
  :math:`C`;
* :func:`kernel_diagonal` and :func:`decision_values`
  :math:`f(x) = \sum_j c_j k(s_j, x) + b` for new points.

Every compiled function here has a plain-numpy twin in ``tests/test_kernels.py``.

References
----------
M. Donini, L. Oneto, S. Ben-David, J. Shawe-Taylor, M. Pontil. "Empirical Risk Minimization
Under Fairness Constraints". NeurIPS 2018. arXiv:1802.08626.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, replace
from typing import Literal

import numba
import numpy as np

from .exceptions import FairermTypeError, FairermValueError, MemoryBudgetError

__all__ = [
    "KERNEL_NAMES",
    "KernelName",
    "KernelSpec",
    "resolve_gamma",
    "check_precomputed_kernel",
    "available_memory_bytes",
    "check_memory",
    "gram_block",
    "gram_symmetric",
    "kernel_row",
    "kernel_row_into",
    "kernel_value",
    "kernel_diagonal",
    "kernel_matvec",
    "decision_values",
]

KernelName = Literal["linear", "rbf", "poly", "sigmoid", "precomputed"]
KERNEL_NAMES: tuple[str, ...] = ("linear", "rbf", "poly", "sigmoid", "precomputed")

# Integer codes used by the compiled kernels (and by the SMO core).
LINEAR, RBF, POLY, SIGMOID, PRECOMPUTED = 0, 1, 2, 3, 4

_DEFAULT_BLOCK_BYTES = 64 * 2**20
# Below this many entries a parallel launch (tens of microseconds, milliseconds when OpenMP threads
# spin against BLAS threads) costs more than the elementwise map itself.
_PARALLEL_MIN_ENTRIES = 1 << 18
# Let LLVM reorder the sums of the d-dimensional dot products so that they vectorise (SIMD): about 2x
# faster rows at d = 100; no approximate math functions and no assumptions on NaN/inf.
_REASSOCIATE = {"reassoc", "contract", "nsz", "arcp"}


# ----------------------------------------------------------------------------------------------
# Specification and validation
# ----------------------------------------------------------------------------------------------
def resolve_gamma(X: np.ndarray, gamma: float | str) -> float:
    r"""The numeric :math:`\gamma` for data ``X`` (n, d), as scikit-learn defines the options.

    ``"scale"``: :math:`\gamma = 1 / (d \cdot \operatorname{Var}(X))` (variance of all entries;
    :math:`1` when that variance is 0); ``"auto"``: :math:`\gamma = 1/d`; a positive number is
    returned as is.

    Raises
    ------
    FairermValueError
        ``gamma`` is a string other than ``"scale"``/``"auto"``, or a number that is not > 0.
    """
    if isinstance(gamma, str):
        if gamma == "scale":
            var = float(np.asarray(X).var())
            return 1.0 / (X.shape[1] * var) if var != 0.0 else 1.0
        if gamma == "auto":
            return 1.0 / X.shape[1]
        raise FairermValueError(f"gamma must be 'scale', 'auto' or a positive float; got {gamma!r}.")
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real):
        raise FairermTypeError(f"gamma must be 'scale', 'auto' or a positive float; got {type(gamma).__name__}.")
    if not (np.isfinite(gamma) and gamma > 0):
        raise FairermValueError(f"gamma must be a positive finite float (or 'scale'/'auto'); got {gamma!r}.")
    return float(gamma)


@dataclass(frozen=True)
class KernelSpec:
    r"""A kernel :math:`k` by name and parameters (see the module docstring for the formulas).

    Parameters
    ----------
    name : {"linear", "rbf", "poly", "sigmoid", "precomputed"}
    gamma : float or {"scale", "auto"}
        :math:`\gamma > 0` of the RBF, polynomial and sigmoid kernels; resolved against data by
        :meth:`resolve`.
    degree : int
        :math:`p \ge 1` of the polynomial kernel.
    coef0 : float
        :math:`c_0` of the polynomial and sigmoid kernels.

    Raises
    ------
    FairermValueError
        Unknown ``name``, ``gamma <= 0`` or ``degree < 1``.
    """

    name: KernelName = "rbf"
    gamma: float | str = "scale"
    degree: int = 3
    coef0: float = 0.0

    def __post_init__(self) -> None:
        if self.name not in KERNEL_NAMES:
            raise FairermValueError(f"kernel must be one of {list(KERNEL_NAMES)}; got {self.name!r}.")
        if isinstance(self.gamma, str):
            if self.gamma not in ("scale", "auto"):
                raise FairermValueError(f"gamma must be 'scale', 'auto' or a positive float; got {self.gamma!r}.")
        else:
            resolve_gamma(np.zeros((1, 1)), self.gamma)
        if isinstance(self.degree, bool) or not isinstance(self.degree, numbers.Integral):
            raise FairermTypeError(f"degree must be an integer >= 1; got {self.degree!r}.")
        if self.degree < 1:
            raise FairermValueError(f"degree must be an integer >= 1; got {self.degree!r}.")
        if isinstance(self.coef0, bool) or not isinstance(self.coef0, numbers.Real) or not np.isfinite(self.coef0):
            raise FairermValueError(f"coef0 must be a finite float; got {self.coef0!r}.")

    @property
    def code(self) -> int:
        """Integer code of the kernel in the compiled functions."""
        return KERNEL_NAMES.index(self.name)

    @property
    def is_precomputed(self) -> bool:
        return self.name == "precomputed"

    def resolve(self, X: np.ndarray) -> "KernelSpec":
        """A copy with ``gamma`` a number, resolved on the training data ``X``."""
        if self.is_precomputed or not isinstance(self.gamma, str):
            return self
        return replace(self, gamma=resolve_gamma(X, self.gamma))

    def params(self) -> tuple[float, float, int]:
        """``(gamma, coef0, degree)`` as plain numbers for the compiled code."""
        if isinstance(self.gamma, str) and self.name in ("linear", "precomputed"):
            return 1.0, float(self.coef0), int(self.degree)  # gamma is not used by these kernels
        if isinstance(self.gamma, str):
            raise FairermValueError(
                f"gamma={self.gamma!r} is not resolved yet; call KernelSpec.resolve(X) with the training data first."
            )
        return float(self.gamma), float(self.coef0), int(self.degree)


def check_precomputed_kernel(K, n_rows: int, n_cols: int, *, name: str = "X") -> np.ndarray:
    """Return a precomputed kernel block as a C-contiguous float64 array of shape (n_rows, n_cols).

    Raises
    ------
    FairermValueError
        Wrong shape or non-finite entries.
    """
    K = np.ascontiguousarray(K, dtype=np.float64)
    if K.shape != (n_rows, n_cols):
        raise FairermValueError(
            f"{name} must be the precomputed kernel matrix of shape ({n_rows}, {n_cols}) when "
            f"kernel='precomputed'; got an array of shape {K.shape}."
        )
    if not np.all(np.isfinite(K)):
        raise FairermValueError(f"{name}: the precomputed kernel matrix contains NaN or infinite values.")
    return K


def available_memory_bytes() -> int | None:
    """``MemAvailable`` of ``/proc/meminfo`` in bytes, or None where it cannot be read."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _human(n_bytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n_bytes) < 1024 or unit == "TiB":
            return f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.1f} TiB"  # pragma: no cover


def check_memory(n_bytes_needed: float, what: str, hint: str = "") -> None:
    """Refuse up front a dense allocation that would not fit in the available RAM.

    Raises
    ------
    MemoryBudgetError
        ``n_bytes_needed`` exceeds ``MemAvailable`` (nothing is checked where that is unknown).
    """
    available = available_memory_bytes()
    if available is not None and n_bytes_needed > available:
        raise MemoryBudgetError(
            f"{what} needs {_human(n_bytes_needed)} but only {_human(available)} of memory is available."
            + (f" {hint}" if hint else "")
        )


def _block_rows(n_cols: int, block_bytes: int = _DEFAULT_BLOCK_BYTES) -> int:
    return max(1, int(block_bytes // (8 * max(n_cols, 1))))


# ----------------------------------------------------------------------------------------------
# Compiled elementwise maps and rows
# ----------------------------------------------------------------------------------------------
@numba.njit(cache=True)
def _map_dot(code, dot, sq_a, sq_b, gamma, coef0, degree):
    """k(a, b) from a.b and the squared norms (codes LINEAR..SIGMOID)."""
    if code == RBF:
        d2 = sq_a + sq_b - 2.0 * dot
        return math.exp(-gamma * (d2 if d2 > 0.0 else 0.0))
    if code == POLY:
        return (gamma * dot + coef0) ** degree
    if code == SIGMOID:
        return math.tanh(gamma * dot + coef0)
    return dot


@numba.njit(cache=True, parallel=True)
def _map_block_inplace(G, sq_a, sq_b, code, gamma, coef0, degree):
    """Replace each G[i, j] = a_i.b_j by k(a_i, b_j), rows in parallel."""
    for i in numba.prange(G.shape[0]):
        for j in range(G.shape[1]):
            G[i, j] = _map_dot(code, G[i, j], sq_a[i], sq_b[j], gamma, coef0, degree)


@numba.njit(cache=True)
def _map_block_serial(G, sq_a, sq_b, code, gamma, coef0, degree):
    """Serial twin of _map_block_inplace, for blocks too small to pay a parallel launch."""
    for i in range(G.shape[0]):
        for j in range(G.shape[1]):
            G[i, j] = _map_dot(code, G[i, j], sq_a[i], sq_b[j], gamma, coef0, degree)


@numba.njit(cache=True, parallel=True)
def _map_symmetric_inplace(G, sq, code, gamma, coef0, degree):
    """Map the lower triangle of the symmetric G = A A^T and mirror it (half the exps)."""
    n = G.shape[0]
    for i in numba.prange(n):
        for j in range(i + 1):
            G[i, j] = _map_dot(code, G[i, j], sq[i], sq[j], gamma, coef0, degree)
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
def _gram_loop(code, A, B, gamma, coef0, degree):
    """The whole block by direct loops (no GEMM): the reference the GEMM path is timed against."""
    out = np.empty((A.shape[0], B.shape[0]))
    for i in numba.prange(A.shape[0]):
        for j in range(B.shape[0]):
            out[i, j] = kernel_value(code, A, i, B, j, gamma, coef0, degree)
    return out


@numba.njit(cache=True)
def _diagonal(code, X, gamma, coef0, degree):
    out = np.empty(X.shape[0])
    for i in range(X.shape[0]):
        out[i] = kernel_value(code, X, i, X, i, gamma, coef0, degree)
    return out


# ----------------------------------------------------------------------------------------------
# Public functions on feature arrays
# ----------------------------------------------------------------------------------------------
def _features(A, name: str) -> np.ndarray:
    A = np.ascontiguousarray(A, dtype=np.float64)
    if A.ndim != 2:
        raise FairermValueError(f"{name} must be a 2-D array (n_samples, n_features); got shape {A.shape}.")
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
        mapper = _map_block_inplace if G.size >= _PARALLEL_MIN_ENTRIES else _map_block_serial
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
        _map_symmetric_inplace(G, sq, spec.code, gamma, coef0, degree)
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
    return _diagonal(spec.code, X, gamma, coef0, degree)


def kernel_matvec(
    X: np.ndarray, Y: np.ndarray, W: np.ndarray, spec: KernelSpec, *, block_bytes: int = _DEFAULT_BLOCK_BYTES
) -> np.ndarray:
    r"""The product :math:`K(X, Y)\, W`, shape (n, k) (or (n,) for a 1-D ``W`` of shape (m,)).

    Computed by blocks of rows of ``X`` so that the temporary Gram block holds at most
    ``block_bytes`` (default 64 MiB): memory :math:`O(\text{block} \cdot m)`, never :math:`n m`.
    For ``"precomputed"``, ``X`` is the kernel block :math:`K(X, Y)` itself, shape (n, m), and
    ``Y`` is ignored.
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
    out = np.empty((X.shape[0], W2.shape[1]))
    step = _block_rows(Y.shape[0], block_bytes)
    buffer = np.empty((min(step, X.shape[0]), Y.shape[0]))
    for start in range(0, X.shape[0], step):
        stop = min(start + step, X.shape[0])
        block = gram_block(X[start:stop], Y, spec, out=buffer[: stop - start])
        np.matmul(block, W2, out=out[start:stop])
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
