r"""A bounded store of kernel rows :math:`k(x_j, X)` of one data matrix, for products :math:`K(X, X_J)\,c`.

The certificate of a kernel fit recomputes its scores :math:`K(y\circ\alpha)` from the data
(:meth:`fairerm.problem.KernelFermProblem.scores_from_duals`); along a warm-started epsilon path
only the entries of :math:`\alpha` that moved need kernel rows, and they are mostly the same few
hundred entries (the free support vectors) from one fit to the next: measured on 2,000 Adult rows,
a 20-point path moves about 185 entries per fit and 237 over the whole path. The store keeps the
rows it computed, as :func:`~fairerm.kernels.kernel_matvec` computes them (the certificate's own kernel
code, not the solver's row cache), up to :data:`ROW_STORE_BYTES`, least recently used first out.

It is working memory: copies and pickles of it are empty (nor do they hold ``X``), and the owner clears it
when its work is done (:meth:`clear`; :class:`fairerm.solvers.kernel_smo.SMOWarmState` does so with the SMO row cache).
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ._gram import GEMM_MIN_FEATURES, gram_block, kernel_matvec
from ._spec import KernelSpec
from ._vector import kernel_rows_t

__all__ = ["KernelRowStore", "ROW_STORE_BYTES"]

#: At most this many bytes of rows are kept (at 2,000 rows: every row; at 100,000 rows: 40).
ROW_STORE_BYTES = 32 * 2**20


class KernelRowStore:
    """Rows :math:`k(x_j, X)` of the fixed ``X`` under ``spec``, computed on demand and kept (bounded).

    The rows live in one array that grows by doubling up to ``capacity`` rows; ``_slot`` maps a
    sample index to its row there, in least-recently-used order."""

    def __init__(self, X: np.ndarray, spec: KernelSpec, max_bytes: int = ROW_STORE_BYTES):
        self.X, self.spec = X, spec
        self.capacity = int(max_bytes // (8 * max(1, X.shape[0])))
        self._slot: OrderedDict[int, int] = OrderedDict()
        self._storage = np.empty((0, X.shape[0]))
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._slot)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_slot"], state["_storage"], state["X"] = OrderedDict(), np.empty((0, 0)), None
        return state

    def clear(self) -> None:
        """Drop the rows and the reference to ``X`` (the owner sets ``X`` again before the next product)."""
        self._slot.clear()
        self._storage = np.empty((0, 0))
        self.X = None

    def _free_slots(self, count: int) -> list[int]:
        """``count`` slots for new rows: unused ones, then a grown array, then the least recently used."""
        used = set(self._slot.values())
        free = [k for k in range(self._storage.shape[0]) if k not in used][:count]
        if len(free) < count and self._storage.shape[0] < self.capacity:
            size = min(self.capacity, max(2 * self._storage.shape[0], len(self._slot) + count, 64))
            grown = np.empty((size, self.X.shape[0]))
            grown[: self._storage.shape[0]] = self._storage
            free += list(range(self._storage.shape[0], size))[: count - len(free)]
            self._storage = grown
        while len(free) < count:
            free.append(self._slot.popitem(last=False)[1])
        return free

    def _rows(self, indices: np.ndarray) -> np.ndarray:
        r""":math:`k(x_j, X)` for ``indices``, as :func:`~fairerm.kernels.kernel_matvec` computes them: a Gram block
        (BLAS) from :data:`~fairerm.kernels._gram.GEMM_MIN_FEATURES` features on, else the vectorised rows with
        explicit differences (with features of size 1e5, the block's :math:`\|a\|^2 + \|b\|^2 - 2a^\top b` moved
        :math:`k(x, x)` by 1e-7, and the certificate's objective off the model's by more than 1e-9)."""
        X = self.X
        if X.shape[1] >= GEMM_MIN_FEATURES:
            return gram_block(X[indices], X, self.spec)
        sq = np.einsum("ij,ij->i", X, X)
        gamma, coef0, degree = self.spec.params()
        out = np.empty((indices.size, X.shape[0]))
        kernel_rows_t(self.spec.code, np.ascontiguousarray(X[indices]), sq[indices], X, sq, gamma, coef0, degree, out)
        return out

    def times(self, indices: np.ndarray, weights: np.ndarray) -> np.ndarray:
        r""":math:`\sum_t w_t\,k(x_{j_t}, X) = K(X, X_J)\,w` for distinct ``indices`` :math:`J`."""
        indices = np.asarray(indices, dtype=np.int64)
        weights = np.asarray(weights, dtype=np.float64)
        if self._storage.shape[1] != self.X.shape[0]:  # cleared (or new): an empty array of this X's rows
            self._slot.clear()
            self._storage = np.empty((0, self.X.shape[0]))
        if indices.size > self.capacity:  # more than the store holds: the plain product, nothing kept
            self.misses += indices.size
            return kernel_matvec(self.X, self.X[indices], weights, self.spec)
        wanted = indices.tolist()
        for j in wanted:  # the rows asked for now are the most recently used: never evicted below
            if j in self._slot:
                self._slot.move_to_end(j)
        missing = [j for j in wanted if j not in self._slot]
        if missing:
            slots = self._free_slots(len(missing))
            self._storage[slots] = self._rows(np.asarray(missing, dtype=np.int64))
            for j, k in zip(missing, slots):
                self._slot[j] = k
        self.hits += indices.size - len(missing)
        self.misses += len(missing)
        # one matrix-vector product over the stored rows (zero weight on the others): no gathered copy
        slots = np.fromiter((self._slot[j] for j in wanted), dtype=np.int64, count=len(wanted))
        used = int(slots.max()) + 1
        coefficients = np.zeros(used)
        coefficients[slots] = weights
        return coefficients @ self._storage[:used]
