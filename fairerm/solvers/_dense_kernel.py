r"""The dense kernel QP's data, shared by the QP statements (cvxpy, OSQP): the Gram matrix and a factor of it.

Both statements see the kernel through a factor :math:`K = RR^\top` (rows of :math:`R`: the
*empirical kernel map*, feature vectors whose scalar products are the kernel). Forming it costs
:math:`O(n^2)` memory and :math:`O(n^3)` time, so it is refused up front when about four
:math:`n \times n` copies (the Gram matrix, its eigenvectors, the solver's own) do not fit.
"""

from __future__ import annotations

import numpy as np

from ..problem import KernelFermProblem

__all__ = ["gram_factor", "dense_gram_factor"]


def gram_factor(K: np.ndarray, *, rtol: float = 1e-12) -> np.ndarray:
    """A factor :math:`R` with :math:`K = R R^\\top` from the eigendecomposition of ``K``.

    Eigenvalues below ``rtol * max_eigenvalue`` (round-off of a PSD matrix) are dropped.
    """
    eigval, eigvec = np.linalg.eigh(0.5 * (K + K.T))
    keep = eigval > rtol * max(eigval.max(), 0.0)
    return eigvec[:, keep] * np.sqrt(eigval[keep])


def dense_gram_factor(problem: KernelFermProblem, solver: str) -> np.ndarray:
    """:math:`R` for ``problem``, after the memory check (about four :math:`n^2` doubles)."""
    K = problem.gram(what=f"solver={solver!r} (the dense kernel QP)", copies=4.0,
                     hint="Use solver='exact' (kernel rows on demand), a subsample, or an approximate kernel.")
    return gram_factor(K)
