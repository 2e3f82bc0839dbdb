r"""The FERM hinge-loss problem as plain data, and the quantities every solver shares.

Primal (Donini et al. 2018, eq. (8) with the hinge loss and the linear-loss constraint):

.. math::

    \min_{w, b, \xi}\; \tfrac12 \|w\|^2 + \sum_{i=1}^n c_i \xi_i
    \quad\text{s.t.}\quad y_i(\langle w, \phi(x_i)\rangle + b) \ge 1 - \xi_i,\;\; \xi_i \ge 0,\;\;
    -\epsilon \le \langle w, u_j \rangle + c^{u}_j \le \epsilon \;\; (j = 1..k),

with :math:`c_i = C` (or :math:`C` times a sample weight), :math:`y_i \in \{-1, +1\}` and
:math:`u_j = \sum_i C^{u}_{ji} \phi(x_i)` given by a weight matrix :math:`C^u` (see
:mod:`fairerm.constraints`). The *offsets* :math:`c^u_j` are zero for the paper's linear-loss
constraint (``constraint_offset=None``); the steps of the ramp-loss constraint
(``fairerm/svm/_ramp.py``) shift the interval to :math:`[-\epsilon - c^u_j, \epsilon - c^u_j]`.

Dual (derived in :func:`fairerm.objectives.dual_objective`): with :math:`Q_{il} = y_i y_l K_{il}`,
:math:`B = \operatorname{diag}(y) K C^{u\top}` and :math:`M = C^u K C^{u\top}`,

.. math::

    \min_{\alpha, \mu}\; \tfrac12 \alpha^\top Q \alpha - \mu^\top B^\top \alpha
    + \tfrac12 \mu^\top M \mu - \mathbf 1^\top \alpha + \epsilon \|\mu\|_1 - c^{u\top}\mu
    \quad\text{s.t.}\quad 0 \le \alpha_i \le c_i,\;\; y^\top \alpha = 0,

and :math:`w = \sum_i \alpha_i y_i \phi(x_i) - \sum_j \mu_j u_j`. Writing
:math:`\beta = y \circ \alpha - C^{u\top} \mu` (the *expansion coefficients*), the quadratic
part is :math:`\tfrac12 \beta^\top K \beta = \tfrac12\|w\|^2` and the decision function is
:math:`f(x) = \sum_i \beta_i K(x_i, x) + b`. The sign convention: :math:`\mu_j > 0` exactly when
:math:`\langle w, u_j\rangle + c^u_j = +\epsilon` is active.

The two problem objects hold the data of one problem and compute, from it alone, what every solver
and the certificate of :mod:`fairerm.solvers` need: the constraint vectors (:math:`U = C^u X`, or the
kernel columns :math:`K C^{u\top}` and Gram :math:`M = C^u K C^{u\top}` of the :math:`u_j`), the scores
:math:`K\beta` of an expansion, and (for the dense QP statements only) the Gram matrix itself, checked
against the available memory first. Nothing here imports a solver.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from ._memory import check_memory
from ._validation import largest_magnitude
from .kernels import KernelSpec, gram_symmetric, kernel_diagonal, kernel_matvec
from .kernels import gram_block
from .kernels._gram import GEMM_MIN_FEATURES
from .kernels._row_store import KernelRowStore
from .kernels._vector import feature_major, kernel_rows_t
from .objectives import (check_offset, dual_objective, hinge_primal_objective, optimal_intercept, per_sample_box,
                         row_squared_norms)

__all__ = [
    "per_sample_box",
    "row_squared_norms",
    "LinearFermProblem",
    "KernelFermProblem",
    "hinge_primal_objective",
    "dual_objective",
    "optimal_intercept",
    "check_offset",
]


#: Bytes of kernel rows computed per block by :meth:`KernelFermProblem.constraint_rows` (progress is
#: reported, and an interrupt lands, between blocks).
CONSTRAINT_ROWS_BLOCK_BYTES = 64 * 2**20


def column_magnitudes(X) -> np.ndarray:
    r""":math:`\max_i|X_{ik}|` for every column of a dense array or scipy.sparse matrix, without an :math:`|X|`
    temporary (0 for an empty column)."""
    if X.shape[0] == 0:
        return np.zeros(X.shape[1])
    if sp.issparse(X):  # the stored values by column index; the implicit zeros count as 0
        X = X.tocsr()
        high, low = np.zeros(X.shape[1]), np.zeros(X.shape[1])
        np.maximum.at(high, X.indices, X.data)
        np.minimum.at(low, X.indices, X.data)
        return np.maximum(high, -low)
    high, low = np.asarray(X.max(axis=0), dtype=np.float64), np.asarray(X.min(axis=0), dtype=np.float64)
    return np.maximum(np.abs(high), np.abs(low)).ravel()

#: Elements of dense :math:`|X|` formed per block by :func:`abs_times` (no :math:`|X|` temporary of the whole matrix).
ABS_BLOCK_ELEMENTS = 2**16


def abs_times(X, v: np.ndarray, *, transpose: bool = False) -> np.ndarray:
    r""":math:`|X|\,v` (or :math:`|X|^\top v` with ``transpose``) for a dense array or scipy.sparse matrix, by
    blocks of rows (dense) or from the stored values by blocks of nonzeros (sparse, as the row norms
    :func:`~fairerm.objectives.row_squared_norms`): the sizes the round-off bounds of the
    certificate (:mod:`fairerm.solvers._certificate`) are made of."""
    v = np.asarray(v, dtype=np.float64)
    if sp.issparse(X):  # |stored values| of a block of rows at a time (abs(X) would copy every nonzero)
        from . import objectives  # the row norms' block of nonzeros (read here: a test makes it small)

        block_nonzeros = int(objectives._ROW_BLOCK_NONZEROS)
        X = X.tocsr()
        n, d = X.shape
        out = np.zeros(d) if transpose else np.zeros(n)
        start = 0
        while start < n:
            stop = int(np.searchsorted(X.indptr, X.indptr[start] + block_nonzeros, side="right")) - 1
            stop = min(max(stop, start + 1), n)
            lo, hi = int(X.indptr[start]), int(X.indptr[stop])
            if hi > lo:
                values = np.abs(X.data[lo:hi])
                rows = np.repeat(np.arange(start, stop), np.diff(X.indptr[start:stop + 1]))
                if transpose:
                    out += np.bincount(X.indices[lo:hi], weights=values * v[rows], minlength=d)
                else:
                    out[start:stop] = np.bincount(rows - start, weights=values * v[X.indices[lo:hi]],
                                                  minlength=stop - start)
            start = stop
        return out
    X = np.asarray(X)
    n, d = X.shape
    step = max(1, ABS_BLOCK_ELEMENTS // max(d, 1))
    out = np.zeros(d) if transpose else np.empty(n)
    for start in range(0, n, step):
        block = np.abs(X[start:start + step])
        if transpose:
            out += v[start:start + step] @ block
        else:
            out[start:start + step] = block @ v
    return out


@dataclass
class LinearFermProblem:
    r"""Linear FERM: :math:`\phi(x) = x`, constraint vectors :math:`U = C^u X`.

    Attributes
    ----------
    X : ndarray (n, d) or scipy.sparse CSR matrix
    y : ndarray (n,) of +/-1
    upper : ndarray (n,), the per-sample box :math:`c_i`
    constraint_weights : ndarray (k, n)
    epsilon : float
    constraint_offset : ndarray (k,) or None
        :math:`c^u`: the constraint reads :math:`|\langle w, u_j\rangle + c^u_j| \le \epsilon`; ``None``: zeros.
    U : ndarray (k, d), computed
    """

    X: np.ndarray
    y: np.ndarray
    upper: np.ndarray
    constraint_weights: np.ndarray
    epsilon: float
    constraint_offset: np.ndarray | None = None
    U: np.ndarray = field(init=False, repr=False)
    kind = "linear"

    def __post_init__(self):
        self.constraint_offset = check_offset(self.constraint_offset, self.constraint_weights.shape[0])
        self.U = np.asarray(self.constraint_weights @ self.X).reshape(self.n_constraints, self.n_features)
        self._feature_size = None
        self._column_sizes = None
        self._conditioning = None

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def n_constraints(self) -> int:
        return self.constraint_weights.shape[0]

    @property
    def feature_size(self) -> float:
        r""":math:`\max_{ij}|X_{ij}|`, the scale against which round-off in :math:`u_j` is judged."""
        if self._feature_size is None:
            self._feature_size = largest_magnitude(self.X)
        return self._feature_size

    @property
    def column_sizes(self) -> np.ndarray:
        r""":math:`s_k = \max_i|X_{ik}|` (d,), the scale against which round-off in coordinate :math:`k` of :math:`u_j`
        is judged (:func:`fairerm.solvers.live_constraints`)."""
        if self._column_sizes is None:
            self._column_sizes = column_magnitudes(self.X)
        return self._column_sizes

    @property
    def constraint_norms(self) -> np.ndarray:
        r""":math:`\|u_j\|` for every row."""
        return np.linalg.norm(self.U, axis=1)

    @property
    def conditioning(self) -> float:
        r""":math:`\kappa = \max_i c_i\|x_i\|^2`, the weight of the hinge terms against the ridge.

        Dual coordinate descent is invariant under rescaling the features (:math:`x \to x/t` with
        :math:`c \to t^2c` is the same problem), so its speed depends on :math:`\kappa` alone: for
        :math:`\kappa \gg 1` the problem is nearly a linear program (almost no regularisation) and
        coordinate descent crawls; interior-point methods do not mind.
        """
        if self._conditioning is None:
            self._conditioning = float(np.max(self.upper * row_squared_norms(self.X), initial=0.0))
        return self._conditioning

    def scores(self, coef: np.ndarray) -> np.ndarray:
        r""":math:`\langle w, x_i\rangle` for every training point."""
        return np.asarray(self.X @ coef).ravel()

    def weight_from_duals(self, alpha: np.ndarray, mu: np.ndarray) -> np.ndarray:
        r""":math:`w(\alpha,\mu) = \sum_i \alpha_i y_i x_i - \sum_j \mu_j u_j` (stationarity of the Lagrangian)."""
        return np.asarray((alpha * self.y) @ self.X).ravel() - self.U.T @ mu

    def with_epsilon(self, epsilon: float) -> "LinearFermProblem":
        r"""The same data with another :math:`\epsilon` (arrays shared, not copied)."""
        return replace(self, epsilon=float(epsilon))

    def with_upper(self, upper: np.ndarray) -> "LinearFermProblem":
        r"""The same data with another per-sample box :math:`c_i` (another :math:`C`)."""
        return replace(self, upper=np.asarray(upper, dtype=np.float64))

    def precompute_shared(self) -> "LinearFermProblem":
        r"""Compute now what this problem's twins (:meth:`with_epsilon`, :meth:`with_upper`) share: nothing
        for a linear problem (its twins share the arrays themselves); returns ``self``."""
        return self

    def with_constraint(self, constraint_weights: np.ndarray, constraint_offset: np.ndarray | None,
                        epsilon: float) -> "LinearFermProblem":
        r"""The same data, labels and boxes under another constraint :math:`|\langle w, u_j\rangle + c^u_j| \le \epsilon`
        with :math:`U = C^u X`."""
        return LinearFermProblem(self.X, self.y, self.upper, np.asarray(constraint_weights, dtype=np.float64),
                                 float(epsilon), constraint_offset)


class KernelFermProblem:
    r"""Kernel FERM from the data and a kernel; the Gram matrix is formed only if a solver asks for it.

    Parameters
    ----------
    X : ndarray (n, d), or the (n, n) kernel matrix when ``kernel`` is precomputed (the default)
    y : ndarray (n,) of +/-1
    upper : ndarray (n,), the per-sample box :math:`c_i`
    constraint_weights : ndarray (k, n), :math:`C^u`
    epsilon : float
    kernel : KernelSpec, optional
        The kernel with a numeric ``gamma`` (:meth:`KernelSpec.resolve`); ``None`` means
        ``KernelSpec("precomputed")``, so ``KernelFermProblem(K, y, upper, C, eps)`` is the problem on
        the Gram matrix ``K``.
    constraint_offset : ndarray (k,), optional
        :math:`c^u`: the constraint reads :math:`|\langle w, u_j\rangle + c^u_j| \le \epsilon`; ``None``: zeros.
    psd : bool, optional
        Whether a precomputed kernel is known to be positive semi-definite (the estimator checks);
        ``None``: assumed.
    progress : callable, optional
        ``progress(message)`` receives a line after each block of the long kernel products
        (the estimators' ``verbose``).
    """

    kind = "kernel"

    def __init__(self, X, y, upper, constraint_weights, epsilon, kernel: KernelSpec | None = None,
                 psd: bool | None = None, progress=None, constraint_offset=None):
        self.kernel = KernelSpec("precomputed") if kernel is None else kernel
        self.psd = psd
        self.progress = progress
        self.X = X
        self.y = y
        self.upper = upper
        self.constraint_weights = constraint_weights
        self.epsilon = float(epsilon)
        self.constraint_offset = check_offset(constraint_offset, constraint_weights.shape[0])
        self.constraint_support = np.flatnonzero(np.any(constraint_weights != 0.0, axis=0))
        self._columns = None
        self._diagonal = None
        self._gram = None
        self._fingerprint = None
        self._shared = None  # see shared_cache
        self._U = None
        self._column_sizes = None

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def n_constraints(self) -> int:
        return self.constraint_weights.shape[0]

    @property
    def is_precomputed(self) -> bool:
        return self.kernel.is_precomputed

    @property
    def convex(self) -> bool:
        """Whether the problem is convex: the kernel is positive semi-definite.

        Linear, RBF and polynomial kernels with :math:`c_0 \\ge 0` are; the sigmoid kernel is not in
        general; a precomputed kernel is what the estimator's check found (``psd``).
        """
        name = self.kernel.name
        if name == "sigmoid":
            return False
        if name == "poly":
            return self.kernel.coef0 >= 0.0
        if name == "precomputed":
            return self.psd is not False
        return True

    @property
    def diagonal(self) -> np.ndarray:
        """:math:`k(x_i, x_i)` for every training point."""
        if self._diagonal is None:
            self._diagonal = kernel_diagonal(self.X, self.kernel)
        return self._diagonal

    @property
    def feature_size(self) -> float:
        r""":math:`\max_i \|\phi(x_i)\| = \max_i \sqrt{k(x_i, x_i)}`."""
        return float(np.sqrt(max(float(np.max(self.diagonal, initial=0.0)), 0.0)))

    @property
    def explicit_features(self) -> bool:
        r"""Whether :math:`\phi(x) = x` is at hand (the linear kernel on dense rows).

        Then :math:`w = X^\top\beta` is formed (d numbers) and everything the solvers and the certificate
        read is computed through it: the scores :math:`Xw`, :math:`\|w\|^2 = w^\top w`, the rows
        :math:`U = C^uX` of the constraint, their Gram :math:`UU^\top` and columns :math:`XU^\top`, and the
        round-off judgement of the rows column by column (:func:`fairerm.solvers.live_constraints`), as
        for :class:`LinearFermProblem`. Through the kernel, :math:`\beta^\top K\beta` of a feature of size
        :math:`10^6` carries a round-off of about :math:`10^{-16}(\sum_i|\beta_i|\|x_i\|)^2`, here far above
        :math:`\|w\|^2` itself: it came out negative, and a genuine :math:`u` of norm :math:`7\cdot 10^{-7}` in a
        column of size :math:`10^{-6}` was taken for the round-off of the large column.
        """
        return self.kernel.name == "linear" and isinstance(self.X, np.ndarray)

    @property
    def U(self) -> np.ndarray:
        r""":math:`U = C^uX` (k, d), the constraint's rows (:attr:`explicit_features` only)."""
        if not self.explicit_features:
            raise AttributeError("U: the feature map of this kernel is not explicit (explicit_features is False).")
        if self._U is None:
            support = self.constraint_support
            self._U = np.asarray(self.constraint_weights[:, support] @ self.X[support]).reshape(
                self.n_constraints, self.X.shape[1])
        return self._U

    @property
    def column_sizes(self) -> np.ndarray:
        r""":math:`s_k = \max_i|X_{ik}|` (:attr:`explicit_features` only), as :attr:`LinearFermProblem.column_sizes`."""
        if not self.explicit_features:
            raise AttributeError("column_sizes: the feature map of this kernel is not explicit.")
        if self._column_sizes is None:
            self._column_sizes = column_magnitudes(self.X)
        return self._column_sizes

    def weight(self, beta: np.ndarray) -> np.ndarray:
        r""":math:`w = X^\top\beta = \sum_i\beta_i x_i` from the points with :math:`\beta_i \ne 0`
        (:attr:`explicit_features` only)."""
        support = np.flatnonzero(beta)
        return np.asarray(beta[support] @ self.X[support]).reshape(self.X.shape[1])

    def constraint_values(self, beta: np.ndarray, scores: np.ndarray) -> np.ndarray:
        r""":math:`\langle w, u_j\rangle` (without offsets): :math:`Uw` with explicit features, else
        :math:`C^u(K\beta)` from the scores :math:`K\beta`."""
        if self.explicit_features:
            return self.U @ self.weight(beta)
        return self.constraint_weights @ scores

    def round_off_scales(self) -> np.ndarray:
        r""":math:`r_i` with :math:`|k(x_i, x_l)| \le r_ir_l` for every pair: the sizes the round-off of a kernel
        product is bounded with (:mod:`fairerm.solvers._certificate`).

        A positive semi-definite kernel: :math:`r_i = \sqrt{k(x_i,x_i)}` (Cauchy-Schwarz). The sigmoid
        kernel: :math:`|\tanh| \le 1`. A polynomial kernel with :math:`c_0 < 0`:
        :math:`r_i = (\gamma\|x_i\|^2 + |c_0|)^{p/2}`. A precomputed kernel found indefinite:
        :math:`\sqrt{\max_{il}|K_{il}|}`.
        """
        name = self.kernel.name
        n = self.n_samples
        if name == "sigmoid":
            return np.ones(n)
        if name == "poly" and self.kernel.coef0 < 0.0:
            gamma, coef0, degree = self.kernel.params()
            return (gamma * row_squared_norms(self.X) + abs(coef0)) ** (0.5 * degree)
        if name == "precomputed" and self.psd is False:
            K = self.X
            return np.full(n, np.sqrt(max(abs(float(np.max(K, initial=0.0))), abs(float(np.min(K, initial=0.0))))))
        return np.sqrt(np.maximum(self.diagonal, 0.0))

    @property
    def constraint_columns(self) -> np.ndarray:
        r""":math:`K C^{u\top}`, shape (n, k): column :math:`j` is :math:`\langle \phi(x_i), u_j\rangle`.

        Computed by blocks from the points that enter :math:`C^u` only (never the :math:`n\times n` Gram);
        with :attr:`explicit_features` as :math:`XU^\top`.
        """
        if self._columns is None and self.explicit_features:
            self._columns = np.asarray(self.X @ self.U.T)
        if self._columns is None:
            support = self.constraint_support
            weights = self.constraint_weights[:, support].T
            if self._gram is not None or self.is_precomputed:
                K = self._gram if self._gram is not None else self.X
                self._columns = np.asarray(K[:, support] @ weights)
            else:
                self._columns = kernel_matvec(self.X, self.X[support], weights, self.kernel,
                                              progress=self._reporter("kernel columns of the constraint"))
        return self._columns

    def constraint_rows(self, budget_bytes: float, total_rows: int = 0) -> np.ndarray | None:
        r"""The kernel rows :math:`K(X_S, X)` of the constraint's support :math:`S` (``constraint_support``),
        shape (|S|, n), when they take at most ``budget_bytes`` (``None`` otherwise, for a precomputed
        kernel, or when the constraint columns are already known).

        The constraint columns are then taken from them, :math:`KC^{u\top} = K(X_S, X)^\top C_S^{u\top}`
        (the same kernel values, no second evaluation), and the SMO solver puts the rows into its row
        cache (:func:`fairerm.solvers.smo.solve_svm_dual`'s ``kernel_rows``). The array returned has
        ``max(|S|, total_rows)`` rows, the rows of :math:`S` first (the rest uninitialised: room for
        the solver's cache).
        """
        support = self.constraint_support
        if self._columns is not None or self.is_precomputed or self._gram is not None:
            return None
        if 8.0 * support.size * self.n_samples > budget_bytes or support.size == 0:
            return None
        X = self.X
        sq = row_squared_norms(X)
        n_rows = max(support.size, int(total_rows))
        check_memory(8.0 * n_rows * self.n_samples, f"The {support.size} x {self.n_samples} kernel rows of the "
                     "constraint", "Lower cache_size.")
        rows = np.empty((n_rows, self.n_samples))
        gamma, coef0, degree = self.kernel.params()
        block = rows[:support.size]
        X_S, sq_S = X[support], sq[support]
        XT = feature_major(X, "data of the constraint's kernel rows")  # None at many features
        step = max(1, int(CONSTRAINT_ROWS_BLOCK_BYTES // (8 * self.n_samples)))
        report = self._reporter("kernel rows of the constraint's support")
        for start in range(0, support.size, step):  # by blocks: progress, and KeyboardInterrupt lands between them
            stop = min(start + step, support.size)
            if X.shape[1] >= GEMM_MIN_FEATURES:
                gram_block(X_S[start:stop], X, self.kernel, out=block[start:stop])
            else:
                kernel_rows_t(self.kernel.code, X_S[start:stop], sq_S[start:stop], X, sq, gamma, coef0, degree,
                              block[start:stop], XT)
            if report is not None:
                report(stop, support.size)
        if self.explicit_features:  # the rows go to the cache; the columns through U (see explicit_features)
            self._columns = np.asarray(X @ self.U.T)
        else:
            self._columns = block.T @ self.constraint_weights[:, support].T
        return rows

    @property
    def constraint_gram(self) -> np.ndarray:
        r""":math:`M = C^u K C^{u\top}`, the Gram matrix of the :math:`u_j` (symmetrised); :math:`UU^\top` with
        :attr:`explicit_features`."""
        if self.explicit_features:
            U = self.U
            return U @ U.T
        support = self.constraint_support
        M = self.constraint_weights[:, support] @ self.constraint_columns[support]
        return 0.5 * (M + M.T)

    @property
    def constraint_norms(self) -> np.ndarray:
        r""":math:`\|u_j\| = \sqrt{M_{jj}}`."""
        return np.sqrt(np.maximum(np.diag(self.constraint_gram), 0.0))

    def gram(self, *, what: str = "The dense kernel QP", copies: float = 1.0, hint: str = "") -> np.ndarray:
        """The dense Gram matrix :math:`K`, refused up front when ``copies`` :math:`n^2` doubles do not fit."""
        if self._gram is None:
            n = self.n_samples
            check_memory(copies * 8.0 * n * n, f"{what} on {n} samples (~{copies:g} n^2 doubles)", hint)
            if self.is_precomputed:
                self._gram = np.array(self.X, dtype=np.float64)
            else:
                self._gram = gram_symmetric(self.X, self.kernel)
        return self._gram

    @property
    def K(self) -> np.ndarray:
        """The dense Gram matrix (see :meth:`gram`)."""
        return self.gram()

    def kernel_times(self, beta: np.ndarray) -> np.ndarray:
        r""":math:`K\beta`, from the points with :math:`\beta_i \ne 0` only (blocks of rows; no :math:`n\times n` Gram);
        :math:`X(X^\top\beta)` with :attr:`explicit_features`."""
        if self.explicit_features:
            return np.asarray(self.X @ self.weight(beta))
        if self._gram is not None or self.is_precomputed:
            K = self._gram if self._gram is not None else self.X
            return np.asarray(K @ beta)
        support = np.flatnonzero(beta)
        if support.size == 0:
            return np.zeros(self.n_samples)
        return kernel_matvec(self.X, self.X[support], beta[support], self.kernel,
                             progress=self._reporter(f"scores from {support.size} expansion points"))

    def _reporter(self, what: str):
        """A ``progress(done, total)`` for :func:`~fairerm.kernels.kernel_matvec` that reports to :attr:`progress`."""
        if self.progress is None:
            return None
        return lambda done, total: self.progress(f"{what}: {done} / {total} rows")

    def scores_from_duals(self, alpha: np.ndarray, mu: np.ndarray) -> np.ndarray:
        r""":math:`K\beta = K(y\circ\alpha) - (KC^{u\top})\mu` for :math:`\beta = y\circ\alpha - C^{u\top}\mu`.

        Computed from the data: the kernel rows of the support vectors (:math:`\alpha_i > 0`) by
        blocks, and the constraint columns; cheaper than :meth:`kernel_times` of :math:`\beta`, whose
        support also holds every point that enters :math:`C^u`.
        """
        if self._gram is not None or self.is_precomputed or self.explicit_features:
            return self.kernel_times(self.expansion(alpha, mu))
        y_alpha = self.y * alpha
        base = (self._shared or {}).get("scores")
        if base is not None and base[0].shape == y_alpha.shape:
            # K(y a) = K(y a_0) + K(y (a - a_0)) from the kernel rows of the changed entries only (along a
            # warm-started path most of alpha stays at its bounds): still computed from the data
            change = y_alpha - base[0]
            moved = np.flatnonzero(change)
            if moved.size < np.count_nonzero(y_alpha):
                scores = base[1] + (self._row_store().times(moved, change[moved]) if moved.size else 0.0)
            else:
                scores = self.kernel_times(y_alpha)
        else:
            scores = self.kernel_times(y_alpha)
        if self._shared is not None:
            self._shared["scores"] = (y_alpha, scores)
        if np.any(mu):
            scores = scores - self.constraint_columns @ mu
        return scores

    def _row_store(self) -> KernelRowStore:
        """The kernel rows the certificate's scores were updated with, shared with later problems on the same
        data (:meth:`shared_cache`; working memory, cleared with the SMO row cache)."""
        shared = self.shared_cache()
        store = shared.get("rows")
        if store is None:
            store = shared["rows"] = KernelRowStore(self.X, self.kernel)
        store.X = self.X  # the same data (the fingerprint was checked); this problem's copy of it
        return store

    def expansion(self, alpha: np.ndarray, mu: np.ndarray) -> np.ndarray:
        r""":math:`\beta = y\circ\alpha - C^{u\top}\mu`, so that :math:`w = \sum_i \beta_i\phi(x_i)`."""
        return self.y * alpha - self.constraint_weights.T @ mu

    @property
    def fingerprint(self) -> str:
        """A hash of the data, labels, constraint weights and kernel: what a warm state may be reused for."""
        if self._fingerprint is None:
            digest = hashlib.sha256()  # hardware-accelerated: 1.6 ms for 1.7 MB here, blake2b 3.1 ms
            for array in (self.X, self.y, self.constraint_weights):
                array = np.ascontiguousarray(array)
                digest.update(repr((array.shape, array.dtype.str)).encode())
                digest.update(array.view(np.uint8).ravel() if array.size else b"")
            digest.update(repr(self.kernel).encode())
            self._fingerprint = digest.hexdigest()[:32]
        return self._fingerprint

    def adopt_cache(self, other: "KernelFermProblem | dict | None") -> None:
        r"""Reuse ``other``'s kernel columns and diagonal when it is the same data (same :attr:`fingerprint`).

        ``other`` may also be the :meth:`shared_cache` of such a problem (the caller checked the
        fingerprint): then the last certificate scores :math:`K(y\circ\alpha)` are reused too, and
        :meth:`scores_from_duals` computes only the kernel rows of the entries of :math:`\alpha` that changed.
        """
        if isinstance(other, dict):
            self._columns = other.get("columns") if self._columns is None else self._columns
            self._diagonal = other.get("diagonal") if self._diagonal is None else self._diagonal
            if other.get("scores") is not None:
                self.shared_cache()["scores"] = other["scores"]
            if other.get("rows") is not None:
                self.shared_cache()["rows"] = other["rows"]
            return
        if other is None or other is self or other.fingerprint != self.fingerprint:
            return
        self._columns = other._columns if self._columns is None else self._columns
        self._diagonal = other._diagonal if self._diagonal is None else self._diagonal

    def with_constraint(self, constraint_weights: np.ndarray, constraint_offset: np.ndarray | None,
                        epsilon: float) -> "KernelFermProblem":
        r"""The same data, labels, boxes and kernel under another constraint (its kernel columns are new;
        the diagonal and a formed Gram matrix are shared)."""
        twin = KernelFermProblem(self.X, self.y, self.upper, np.asarray(constraint_weights, dtype=np.float64),
                                 epsilon, self.kernel, self.psd, self.progress, constraint_offset)
        twin._diagonal, twin._gram, twin._column_sizes = self._diagonal, self._gram, self._column_sizes
        return twin

    def shared_cache(self) -> dict:
        r"""What a later problem on the same data may reuse (:meth:`adopt_cache`): the constraint columns,
        the diagonal and the last scores :math:`(y\circ\alpha, K(y\circ\alpha))` of :meth:`scores_from_duals`
        (filled in when they are computed; O(n) arrays, never the data or a kernel block)."""
        if self._shared is None:
            self._shared = {}
        self._shared["columns"], self._shared["diagonal"] = self._columns, self._diagonal
        return self._shared

    def precompute_shared(self) -> "KernelFermProblem":
        r"""Compute now what this problem's twins (:meth:`with_epsilon`, :meth:`with_upper`) share, so that a
        sequence of fits on the same data (:func:`fairerm.fair_path`) does it once: the data's
        :attr:`fingerprint` (the kernel columns and the diagonal are shared once computed); returns ``self``."""
        _ = self.fingerprint
        return self

    def with_epsilon(self, epsilon: float) -> "KernelFermProblem":
        r"""The same data and caches with another :math:`\epsilon`."""
        return self._twin(epsilon, self.upper)

    def with_upper(self, upper: np.ndarray) -> "KernelFermProblem":
        r"""The same data and caches with another per-sample box :math:`c_i` (another :math:`C`; the kernel
        columns, the diagonal and the fingerprint do not depend on it)."""
        return self._twin(self.epsilon, np.asarray(upper, dtype=np.float64))

    def _twin(self, epsilon: float, upper: np.ndarray) -> "KernelFermProblem":
        twin = KernelFermProblem(self.X, self.y, upper, self.constraint_weights, epsilon, self.kernel, self.psd,
                                 self.progress, self.constraint_offset)
        twin._U, twin._column_sizes = self._U, self._column_sizes
        twin._columns, twin._diagonal, twin._gram, twin._fingerprint = (self._columns, self._diagonal, self._gram,
                                                                        self._fingerprint)
        return twin
