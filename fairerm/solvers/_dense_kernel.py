r"""The dense kernel QP's data, shared by the QP statements (cvxpy, OSQP): the Gram matrix and a factor of it.

Both statements see the kernel through a factor :math:`K = RR^\top` (rows of :math:`R`: the
*empirical kernel map*, feature vectors whose scalar products are the kernel). Forming it costs
:math:`O(n^2)` memory and :math:`O(n^3)` time, so it is refused up front when the :math:`n \times n`
copies of the whole solve do not fit: the Gram matrix, its eigenvectors, the factor and the
backend's own copies, measured as the slope of the peak between :math:`n` = 200, 1,000 and 1,500
rows (:data:`GRAM_COPIES`: about 27 doubles per :math:`n^2` through cvxpy, 13 through OSQP; the
former check of four let cvxpy start at :math:`n` = 11,000 with 3.6 GiB free and need 24 GiB).
"""

from __future__ import annotations

import numpy as np

from ..problem import KernelFermProblem

__all__ = ["GRAM_COPIES", "gram_factor", "dense_gram_factor"]

#: Peak memory of a dense kernel QP in :math:`n^2` doubles, per backend (module docstring), rounded up.
GRAM_COPIES = {"cvxpy": 28.0, "osqp": 14.0}


def gram_factor(K: np.ndarray, *, rtol: float = 1e-12) -> np.ndarray:
    """A factor :math:`R` with :math:`K = R R^\\top` from the eigendecomposition of ``K``.

    Eigenvalues below ``rtol * max_eigenvalue`` (round-off of a PSD matrix) are dropped.
    """
    eigval, eigvec = np.linalg.eigh(0.5 * (K + K.T))
    keep = eigval > rtol * max(eigval.max(), 0.0)
    return eigvec[:, keep] * np.sqrt(eigval[keep])


def dense_gram_factor(problem: KernelFermProblem, solver: str) -> np.ndarray:
    """:math:`R` for ``problem``, after the memory check (:data:`GRAM_COPIES` :math:`n^2` doubles)."""
    K = problem.gram(what=f"solver={solver!r} (the dense kernel QP)", copies=GRAM_COPIES.get(solver, 28.0),
                     hint="Use solver='exact' (kernel rows on demand), a subsample, or an approximate kernel.")
    return gram_factor(K)
