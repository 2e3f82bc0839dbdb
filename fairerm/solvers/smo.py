r"""Sequential minimal optimisation (SMO) for the SVM dual with a low-rank kernel correction.

Solves

.. math::

    \min_{\alpha \in \mathbb{R}^n} \tfrac12 \alpha^\top Q \alpha + p^\top \alpha
    \quad\text{s.t.}\quad y^\top \alpha = 0, \quad 0 \le \alpha_i \le C_i,
    \qquad Q_{ij} = y_i y_j \big(k(x_i, x_j) - z_i^\top z_j\big),

where :math:`x_i \in \mathbb{R}^d` are the training points, :math:`y_i \in \{-1, +1\}` their
labels, :math:`k` a kernel (:class:`fairerm.kernels.KernelSpec`), :math:`z_i \in \mathbb{R}^r`
the rows of a low-rank correction :math:`Z` (so the kernel used is :math:`K' = K - Z Z^\top`),
:math:`p \in \mathbb{R}^n` a linear term and :math:`C_i > 0` per-sample upper bounds.

With :math:`p = -\mathbf 1`, :math:`C_i = C` and :math:`Z = 0` this is the standard C-SVM dual.
The fair kernel SVM of Donini et al. (2018) needs the two generalisations
(:mod:`fairerm.solvers.kernel_smo`): with :math:`\epsilon = 0` the kernel of the features projected
orthogonally to the fairness vector :math:`u` is :math:`K' = K - k_u k_u^\top / \|u\|^2`
(:math:`Z = k_u/\|u\|`, rank one; rank :math:`r` for several constraints); with :math:`\epsilon > 0`
each step of the active set over the fairness constraints holds some of them at
:math:`\langle w, u_j\rangle = \sigma_j\epsilon`, which projects the kernel the same way and shifts the
margins: :math:`p = -\mathbf 1 + y\odot o`.

The returned intercept :math:`b` follows libsvm (:math:`b = -\rho`), so the decision function is
:math:`f(x) = \sum_i \alpha_i y_i k'(x_i, x) + b`.

The algorithm is libsvm's (Fan, Chen and Lin 2005) with rows of :math:`Q` computed on demand by
:mod:`fairerm.kernels` and kept in a bounded LRU cache: the :math:`n \times n` matrix is never
formed (unless the user passes it, ``kernel="precomputed"``). The compiled loop lives in
:mod:`fairerm.solvers._smo_core` (rows and cache in :mod:`fairerm.solvers._smo_cache`) and
runs in chunks of iterations so that ``KeyboardInterrupt`` lands between chunks.

References
----------
M. Donini, L. Oneto, S. Ben-David, J. Shawe-Taylor, M. Pontil. "Empirical Risk Minimization
Under Fairness Constraints". NeurIPS 2018. arXiv:1802.08626.
R.-E. Fan, P.-H. Chen, C.-J. Lin. "Working set selection using second order information for
training support vector machines". JMLR 6, 2005.
"""

from __future__ import annotations

import numbers
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .._validation import check_scalar
from ..exceptions import FairermTypeError, FairermValueError
from ..kernels import KernelSpec, check_memory, check_precomputed_kernel, kernel_diagonal
from . import _smo_cache as rows_cache
from . import _smo_core as core

__all__ = ["SMOResult", "solve_svm_dual", "check_row_cache"]

SMOStatus = Literal["optimal", "max_iter_reached"]


@dataclass
class SMOResult:
    r"""The outcome of :func:`solve_svm_dual`.

    Attributes
    ----------
    alpha : ndarray of shape (n,)
        The dual variables :math:`\alpha`.
    intercept : float
        :math:`b = -\rho` (libsvm): :math:`f(x) = \sum_i \alpha_i y_i k'(x_i, x) + b`.
    gradient : ndarray of shape (n,)
        :math:`G = Q\alpha + p` at the returned :math:`\alpha`.
    objective : float
        :math:`\tfrac12 \alpha^\top Q\alpha + p^\top\alpha = \tfrac12 \alpha^\top (G + p)`.
    n_iter : int
        Number of two-variable steps.
    status : {"optimal", "max_iter_reached"}
    converged : bool
        True when the maximal violating pair gap is below ``tol``.
    kkt_gap : float
        :math:`m(\alpha) - M(\alpha) = \max_{I_{up}} -y_i G_i - \min_{I_{low}} -y_i G_i` at the end.
    n_support : int
        Number of :math:`\alpha_i > 0`.
    time : float
        Wall-clock seconds of the solve.
    cache_hits, cache_misses : int
        Row-cache statistics (a miss computes a row or completes one).
    cache_rows : int
        Number of rows the cache can hold.
    q_alpha : ndarray of shape (n,)
        :math:`Q\alpha = G - p`; with ``g_bar`` and ``upper``, what ``warm_start`` reuses.
    g_bar : ndarray of shape (n,)
        :math:`\bar G = \sum_{i: \alpha_i = C_i} C_i Q_{i\cdot}`.
    upper : ndarray of shape (n,)
        The bounds :math:`C` the problem was solved with.
    low_rank : ndarray of shape (n, r)
        The low-rank part :math:`Z` the problem was solved with (a warm start from this result on another
        :math:`Z` moves ``q_alpha`` and ``g_bar`` to it).
    row_cache : object
        The row cache, which a warm restart on the same ``X``, ``y``, kernel and ``low_rank`` (the
        front door's refinement with a tighter tolerance) keeps using; ``None`` once released
        (:func:`fairerm.solvers.solve` releases it when it returns, so a fitted model does not hold it).
    """

    alpha: np.ndarray
    intercept: float
    gradient: np.ndarray
    objective: float
    n_iter: int
    status: SMOStatus
    converged: bool
    kkt_gap: float
    n_support: int
    time: float
    cache_hits: int = 0
    cache_misses: int = 0
    cache_rows: int = 0
    q_alpha: np.ndarray | None = field(default=None, repr=False)
    g_bar: np.ndarray | None = field(default=None, repr=False)
    upper: np.ndarray | None = field(default=None, repr=False)
    low_rank: np.ndarray | None = field(default=None, repr=False)
    row_cache: Any = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict:
        """Copies and pickles leave the row cache behind (working memory, never part of the result)."""
        state = dict(self.__dict__)
        state["row_cache"] = None
        return state

    @property
    def support(self) -> np.ndarray:
        """Indices of the support vectors (:math:`\\alpha_i > 0`)."""
        return np.flatnonzero(self.alpha > 0)


def _check_vector(value: Any, n: int, name: str, default: float | None) -> np.ndarray:
    if value is None:
        return np.full(n, float(default))
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return np.full(n, float(check_scalar(value, name)))
    arr = np.ascontiguousarray(value, dtype=np.float64)
    if arr.shape != (n,):
        raise FairermValueError(f"{name} must be a scalar or an array of shape ({n},); got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise FairermValueError(f"{name} contains NaN or infinite values.")
    return arr


def _check_labels(y: Any, n: int) -> np.ndarray:
    y = np.ascontiguousarray(y, dtype=np.float64)
    if y.shape != (n,):
        raise FairermValueError(f"y must have shape ({n},) (one label per row of X); got shape {y.shape}.")
    if not np.all((y == 1.0) | (y == -1.0)):
        bad = np.unique(y[(y != 1.0) & (y != -1.0)])[:5]
        raise FairermValueError(f"y must contain only -1.0 and +1.0; got other values such as {bad.tolist()}.")
    if np.all(y > 0) or np.all(y < 0):
        raise FairermValueError("y contains a single class; the SVM dual needs both -1 and +1.")
    return y


def _check_warm_start(alpha0: Any, y: np.ndarray, upper: np.ndarray) -> np.ndarray:
    a0 = _check_vector(alpha0, y.shape[0], "alpha0", 0.0).copy()
    scale = max(1.0, float(np.abs(a0).sum()))
    slack = 1e-10 * max(1.0, float(upper.max()))
    if np.any(a0 < -slack) or np.any(a0 > upper + slack):
        worst = int(np.argmax(np.maximum(-a0, a0 - upper)))
        raise FairermValueError(
            f"alpha0 is not feasible: alpha0[{worst}] = {float(a0[worst])!r} is outside [0, upper[{worst}]] = "
            f"[0, {float(upper[worst])!r}]. Pass a previous solution whose entries fit the new bounds (for "
            "example scaled by C_new / C_old, which keeps y . alpha0 = 0) or None."
        )
    np.clip(a0, 0.0, upper, out=a0)
    balance = float(y @ a0)
    if abs(balance) > 1e-9 * scale:
        raise FairermValueError(
            f"alpha0 is not feasible: y . alpha0 = {balance!r} but the equality constraint needs 0. "
            "Pass a previous solution of a problem with the same y, or None."
        )
    return a0


def _check_previous_result(warm_start: Any, alpha0: Any, n: int) -> SMOResult | None:
    if warm_start is None:
        return None
    if alpha0 is not None:
        raise FairermValueError("Pass either alpha0 or warm_start, not both (warm_start already holds an alpha).")
    if not isinstance(warm_start, SMOResult) or warm_start.q_alpha is None:
        raise FairermTypeError(
            f"warm_start must be the SMOResult of a previous solve_svm_dual call; got {type(warm_start).__name__}."
        )
    if warm_start.alpha.shape != (n,):
        raise FairermValueError(
            f"warm_start comes from a problem with {warm_start.alpha.shape[0]} samples; this one has {n}."
        )
    return warm_start


def _check_low_rank(low_rank: Any, n: int) -> np.ndarray:
    if low_rank is None:
        return np.zeros((n, 0))
    Z = np.ascontiguousarray(low_rank, dtype=np.float64)
    if Z.ndim == 1:
        Z = Z.reshape(-1, 1)
    if Z.ndim != 2 or Z.shape[0] != n:
        raise FairermValueError(f"low_rank must have shape ({n}, r); got shape {np.shape(low_rank)}.")
    if not np.all(np.isfinite(Z)):
        raise FairermValueError("low_rank contains NaN or infinite values.")
    return Z


def _moved_to_low_rank(previous: SMOResult, Z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`Q\alpha` and :math:`\bar G` of ``previous`` on :math:`Q = Y(K - ZZ^\top)Y` instead of its own :math:`Z_{old}`.

    Only the low-rank part of :math:`Q` changes, so both move by :math:`Y(Z_{old}Z_{old}^\top - ZZ^\top)Yv`
    (:math:`v = \alpha`, and :math:`\alpha` where it is at its bound, else 0): :math:`O(nr)`, no kernel row.
    """
    Z_old = previous.low_rank if previous.low_rank is not None else np.zeros((y.shape[0], 0))
    if Z_old is Z or (Z_old.shape == Z.shape and np.array_equal(Z_old, Z)):
        return previous.q_alpha, previous.g_bar

    def shift(v):
        return y * (Z_old @ (Z_old.T @ (y * v)) - Z @ (Z.T @ (y * v)))

    at_upper = np.where(previous.alpha >= previous.upper, previous.upper, 0.0)
    return previous.q_alpha + shift(previous.alpha), previous.g_bar + shift(at_upper)


def _reusable_rows(previous: SMOResult | None, X, Z, y, kernel: KernelSpec, n_rows: int):
    """The previous solve's row cache when its kernel rows are this problem's (same data, labels, kernel,
    as many rows), readied for a restart; else None, and the previous cache is released (two caches are
    never alive together). A different low-rank part is carried over in O(n r) per cached row
    (:func:`~fairerm.solvers._smo_cache.change_low_rank`): the steps of the fairness active set change it."""
    if previous is None or previous.row_cache is None:
        return None
    rows, X0, Z0, y0, kernel0 = previous.row_cache
    previous.row_cache = None
    same = (X0 is X or (X0.shape == X.shape and np.array_equal(X0, X))) and kernel0 == kernel \
        and np.array_equal(y0, y) and rows[rows_cache.R_CACHE].shape[0] == n_rows
    if not same:
        return None
    if Z0.shape != Z.shape or not np.array_equal(Z0, Z):
        rows = rows_cache.change_low_rank(rows, Z)
    rows_cache.restart(rows)
    return rows


def _check_kernel_rows(kernel_rows: Any, n: int, n_rows: int, kernel: KernelSpec):
    """(indices, rows, storage): ``storage`` is the rows' array when it can hold the cache itself."""
    if kernel_rows is None:
        return None, None, None
    if kernel.is_precomputed:
        raise FairermValueError("kernel_rows is for kernels computed from features; a precomputed kernel has its rows.")
    if not isinstance(kernel_rows, tuple) or len(kernel_rows) != 2:
        raise FairermTypeError(f"kernel_rows must be a tuple (indices, rows); got {type(kernel_rows).__name__}.")
    indices = np.ascontiguousarray(kernel_rows[0], dtype=np.int64)
    given = kernel_rows[1]
    K_rows = np.ascontiguousarray(given, dtype=np.float64)
    if indices.ndim != 1 or K_rows.ndim != 2 or K_rows.shape[0] < indices.size or K_rows.shape[1] != n:
        raise FairermValueError(f"kernel_rows must be (indices of shape (m,), rows of shape (m' >= m, {n})); got "
                                f"shapes {indices.shape} and {np.shape(given)}.")
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        raise FairermValueError(f"kernel_rows indices must lie in [0, {n}); got [{indices.min()}, {indices.max()}].")
    if np.unique(indices).size != indices.size:
        raise FairermValueError("kernel_rows indices must be distinct.")
    in_place = K_rows is given and K_rows.shape[0] == n_rows and K_rows.flags.writeable
    return indices, K_rows, (K_rows if in_place else None)


def _check_data(X: Any, kernel: KernelSpec) -> tuple[np.ndarray, KernelSpec]:
    if not isinstance(kernel, KernelSpec):
        raise FairermTypeError(f"kernel must be a fairerm.kernels.KernelSpec; got {type(kernel).__name__}.")
    X = np.ascontiguousarray(X, dtype=np.float64)
    if not X.flags.writeable:  # read-only input (joblib memmaps) would compile every Numba kernel anew
        X = X.copy()
    if X.ndim != 2 or X.shape[0] == 0:
        raise FairermValueError(f"X must be a non-empty 2-D array; got shape {X.shape}.")
    if kernel.is_precomputed:
        return check_precomputed_kernel(X, X.shape[0], X.shape[0], name="X"), kernel
    if not np.all(np.isfinite(X)):
        raise FairermValueError("X contains NaN or infinite values.")
    return X, kernel.resolve(X)


def check_row_cache(n: int, cache_size: float) -> int:
    """Rows the cache of ``cache_size`` MB holds for ``n`` points (at least 2, at most ``n``), refused up
    front when they do not fit in memory."""
    n_rows = int(min(n, max(2, cache_size * 2**20 // (8 * n))))
    check_memory(8.0 * n_rows * n, f"The SMO row cache ({n_rows} rows of {n}; cache_size={cache_size:g} MB)",
                 "Lower cache_size.")
    return n_rows


def _chunk_size(n: int) -> int:
    """Iterations per compiled call: about 5e7 / n entry updates, so a chunk lasts well under a second."""
    return max(1_000, int(5e7 // max(n, 1)))


def solve_svm_dual(
    X: Any,
    y: Any,
    kernel: KernelSpec,
    *,
    p: Any = None,
    upper: Any = 1.0,
    low_rank: Any = None,
    alpha0: Any = None,
    warm_start: SMOResult | None = None,
    tol: float = 1e-3,
    max_iter: int | None = None,
    cache_size: float = 200.0,
    shrinking: bool = True,
    progress=None,
    kernel_rows: tuple | None = None,
) -> SMOResult:
    r"""Solve the SVM dual with a general linear term, per-sample bounds and a low-rank correction.

    See the module docstring for the problem. The stopping rule is libsvm's: the maximal
    violating pair gap :math:`m(\alpha) - M(\alpha) \le` ``tol``, where
    :math:`m(\alpha) = \max_{i \in I_{up}} -y_i G_i`, :math:`M(\alpha) = \min_{i \in I_{low}} -y_i G_i`,
    :math:`I_{up} = \{i: \alpha_i < C_i, y_i = 1\} \cup \{i: \alpha_i > 0, y_i = -1\}` and
    :math:`I_{low}` the same with the roles of the bounds swapped.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Training points; for ``kernel.name == "precomputed"``, the (n, n) kernel matrix :math:`K`.
    y : ndarray of shape (n,)
        Labels in :math:`\{-1, +1\}` (both present).
    kernel : KernelSpec
        The kernel :math:`k`; ``gamma="scale"``/``"auto"`` is resolved on ``X``.
    p : ndarray of shape (n,), optional
        Linear term :math:`p` (default :math:`-\mathbf 1`).
    upper : float or ndarray of shape (n,)
        Upper bounds :math:`C_i \ge 0` (a zero bound fixes :math:`\alpha_i = 0`).
    low_rank : ndarray of shape (n, r), optional
        :math:`Z`, so that :math:`K' = K - ZZ^\top`.
    alpha0 : ndarray of shape (n,), optional
        A feasible warm start (:math:`y^\top\alpha_0 = 0` to :math:`10^{-9}` relative, a residual
        that SMO then keeps; :math:`0 \le \alpha_0 \le C`); the gradient is initialised from the
        rows of its nonzero entries.
    warm_start : SMOResult, optional
        The result of a previous solve with the same ``X``, ``y`` and ``kernel`` (``p``, ``upper`` and
        ``low_rank`` may differ; its ``alpha`` must be feasible for the new ``upper``).
        Starts from its :math:`\alpha` *and* its :math:`Q\alpha` (moved to the new ``low_rank`` in
        :math:`O(nr)`), and takes over its row cache (the cached rows moved the same way), so no kernel
        row is computed to initialise the gradient (and none at all for :math:`\bar G` when ``upper`` is unchanged):
        along the steps of the fairness active set and along epsilon paths this is much cheaper
        than ``alpha0``. Not together with ``alpha0``.
    tol : float
        Stopping tolerance on the maximal violating pair gap (libsvm's ``eps``).
    max_iter : int, optional
        Maximum number of iterations (default ``max(10_000_000, 100 n)``); reaching it returns
        ``status="max_iter_reached"``, ``converged=False`` (the caller warns).
    cache_size : float
        Row cache in MB of float64 rows, so ``cache_size * 2**20 / (8 n)`` rows (at least two,
        at most ``n``); libsvm stores float32 rows, twice as many in the same budget.
    shrinking : bool
        Use libsvm's shrinking heuristic.
    progress : callable, optional
        ``progress(message)`` receives the iteration count and the violating-pair gap after each
        chunk of iterations (``KeyboardInterrupt`` lands between chunks too).
    kernel_rows : (indices, rows), optional
        Kernel rows already computed, ``rows[j] = (k(x_{indices[j]}, x_1), ..., k(x_{indices[j]}, x_n))``
        for ``j < len(indices)`` (without the labels and the low-rank part): they fill the row cache
        first, so SMO does not compute them again (kernel FERM passes the rows of the constraint's
        points, which :math:`k_u` is made of). When ``rows`` is a writeable float64 array with as many
        rows as the cache holds (``check_row_cache``), it *becomes* the cache and is overwritten
        (no copy); otherwise the rows are copied. Not with a precomputed kernel.

    Returns
    -------
    SMOResult

    Raises
    ------
    FairermValueError
        Inconsistent shapes, labels other than :math:`\pm 1`, a negative bound or an infeasible
        ``alpha0``.

    Examples
    --------
    >>> import numpy as np
    >>> from fairerm.kernels import KernelSpec
    >>> X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0], [3.0, 1.0]])
    >>> y = np.array([-1.0, -1.0, 1.0, 1.0])
    >>> res = solve_svm_dual(X, y, KernelSpec("linear"), upper=10.0, tol=1e-8)
    >>> w = (res.alpha * y) @ X  # the primal weights of the linear kernel
    >>> res.status, w.round(6).tolist(), round(res.intercept, 6)
    ('optimal', [1.0, -1.0], -1.0)
    """
    start = time.perf_counter()
    X, kernel = _check_data(X, kernel)
    n = X.shape[0]
    y = _check_labels(y, n)
    p = _check_vector(p, n, "p", -1.0)
    C = _check_vector(upper, n, "upper", 1.0)
    if np.any(C < 0):
        raise FairermValueError(f"upper must be >= 0; got a minimum of {C.min()!r}.")
    Z = _check_low_rank(low_rank, n)
    previous = _check_previous_result(warm_start, alpha0, n)
    if previous is not None:
        alpha = _check_warm_start(previous.alpha, y, C)
    else:
        alpha = _check_warm_start(alpha0, y, C) if alpha0 is not None else np.zeros(n)
    tol = float(check_scalar(tol, "tol", low=0.0, low_inclusive=False))
    if max_iter is None:
        max_iter = max(10_000_000, 100 * n)
    max_iter = int(check_scalar(max_iter, "max_iter", kind=numbers.Integral, low=0))
    cache_size = float(check_scalar(cache_size, "cache_size", low=0.0))
    if not isinstance(shrinking, (bool, np.bool_)):
        raise FairermTypeError(f"shrinking must be a bool; got {shrinking!r}.")

    gamma, coef0, degree = (1.0, 0.0, 1) if kernel.is_precomputed else kernel.params()
    QD = kernel_diagonal(X, kernel) - np.einsum("ij,ij->i", Z, Z)
    n_rows = check_row_cache(n, cache_size)
    indices, K_rows, storage = _check_kernel_rows(kernel_rows, n, n_rows, kernel)
    rows = _reusable_rows(previous, X, Z, y, kernel, n_rows) if indices is None else None
    if rows is None:
        rows = rows_cache.make_rows(kernel.code, X, Z, y, gamma, coef0, degree, n_rows, storage)
    state = rows[rows_cache.R_STATE]
    if indices is not None:
        rows_cache.preload(rows, indices, K_rows, storage is not None)
    work = np.empty(n, dtype=np.int64)
    status = np.empty(n, dtype=np.int8)
    G = np.empty(n)
    G_bar = np.empty(n)
    if previous is not None and np.array_equal(alpha, previous.alpha):
        q_alpha, g_bar = _moved_to_low_rank(previous, Z, y)
        np.add(q_alpha, p, out=G)
        if np.array_equal(previous.upper, C):
            G_bar[:] = g_bar
            status[:] = core.status_codes(alpha, C)
        else:
            core.compute_g_bar(rows, C, alpha, status, G_bar)
    else:
        core.compute_gradient(rows, p, C, alpha, status, G, G_bar)
    chunk = _chunk_size(n)
    while True:
        flag, gap = core.smo_iterate(chunk, max_iter, tol, bool(shrinking), rows, p, C, QD, alpha, status, G,
                                     G_bar, work)
        if progress is not None:
            progress(f"SMO: {int(state[rows_cache.S_ITER])} iterations, violating-pair gap {gap:.3g} (tol {tol:g})")
        if flag != 1:
            break
    converged = flag == 0
    intercept = float(core.compute_intercept(y, status, G))
    return SMOResult(
        alpha=alpha,
        intercept=intercept,
        gradient=G,
        objective=float(0.5 * alpha @ (G + p)),
        n_iter=int(state[rows_cache.S_ITER]),
        status="optimal" if converged else "max_iter_reached",
        converged=converged,
        kkt_gap=_violation_gap(y, alpha, C, G),
        n_support=int(np.count_nonzero(alpha > 0)),
        time=time.perf_counter() - start,
        cache_hits=int(state[rows_cache.S_HITS]),
        cache_misses=int(state[rows_cache.S_MISSES]),
        cache_rows=n_rows,
        q_alpha=G - p,
        g_bar=G_bar,
        upper=C,
        low_rank=Z,
        row_cache=(rows, X, Z, y, kernel),
    )


def _violation_gap(y: np.ndarray, alpha: np.ndarray, C: np.ndarray, G: np.ndarray) -> float:
    r""":math:`m(\alpha) - M(\alpha)` over all indices (after the final gradient reconstruction)."""
    minus_yG = -y * G
    movable = C > 0
    up = movable & (((y > 0) & (alpha < C)) | ((y < 0) & (alpha > 0)))
    low = movable & (((y > 0) & (alpha > 0)) | ((y < 0) & (alpha < C)))
    if not up.any() or not low.any():
        return 0.0
    return float(minus_yG[up].max() - minus_yG[low].min())
