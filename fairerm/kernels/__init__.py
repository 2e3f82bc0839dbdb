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

The package has three rooms: :mod:`._spec` (the kernel by name and parameters, validation),
:mod:`._maps` (the Numba-compiled elementwise maps and rows) and :mod:`._gram` (the functions above
on feature arrays). The memory budget they check lives in :mod:`fairerm._memory`.

References
----------
M. Donini, L. Oneto, S. Ben-David, J. Shawe-Taylor, M. Pontil. "Empirical Risk Minimization
Under Fairness Constraints". NeurIPS 2018. arXiv:1802.08626.

"""

from .._memory import available_memory_bytes, check_memory
from ._gram import decision_values, gram_block, gram_symmetric, kernel_diagonal, kernel_matvec, kernel_row
from ._maps import kernel_row_into, kernel_value
from ._spec import (KERNEL_NAMES, KernelName, KernelSpec, check_precomputed_kernel, check_training_kernel,
                    resolve_gamma)

__all__ = [
    "KERNEL_NAMES",
    "KernelName",
    "KernelSpec",
    "resolve_gamma",
    "check_precomputed_kernel",
    "check_training_kernel",
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
