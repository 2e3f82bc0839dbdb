"""A kernel by name and parameters, and the validation of precomputed kernels (see :mod:`fairerm.kernels`)."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from ..exceptions import FairermTypeError, FairermValueError

__all__ = ["KERNEL_NAMES", "KernelName", "KernelSpec", "resolve_gamma", "weighted_variance", "check_precomputed_kernel", "check_training_kernel",
           "LINEAR", "RBF", "POLY", "SIGMOID", "PRECOMPUTED"]

KernelName = Literal["linear", "rbf", "poly", "sigmoid", "precomputed"]
KERNEL_NAMES: tuple[str, ...] = ("linear", "rbf", "poly", "sigmoid", "precomputed")

# Integer codes used by the compiled kernels (and by the SMO core).
LINEAR, RBF, POLY, SIGMOID, PRECOMPUTED = 0, 1, 2, 3, 4


def weighted_variance(X, sample_weight) -> float:
    r"""The variance of all entries of ``X`` when row :math:`i` counts :math:`w_i` times (frequency weights).

    ``X`` dense, scipy.sparse or a dask array (then ``sample_weight`` a dask array of its row chunks: the
    sums are computed where the chunks lie); NaN when the weights do not sum to a positive number.
    """
    dask_array = hasattr(X, "compute")
    w = sample_weight if dask_array else np.asarray(sample_weight, dtype=np.float64)
    total = float(w.sum()) * X.shape[1]
    if not (np.isfinite(total) and total > 0):
        return float("nan")
    if hasattr(X, "multiply") and hasattr(X, "nnz"):  # scipy.sparse: E[x^2] - E[x]^2, as unweighted
        mean = float(w @ np.asarray(X.sum(axis=1)).ravel()) / total
        return float(w @ np.asarray(X.multiply(X).sum(axis=1)).ravel()) / total - mean**2
    X = X if dask_array else np.asarray(X)
    mean = float(w @ X.sum(axis=1)) / total
    return float(w @ ((X - mean) ** 2).sum(axis=1)) / total


def resolve_gamma(X: np.ndarray, gamma: float | str, sample_weight: np.ndarray | None = None) -> float:
    r"""The numeric :math:`\gamma` for data ``X`` (n, d), as scikit-learn defines the options.

    ``"scale"``: :math:`\gamma = 1 / (d \cdot \operatorname{Var}(X))` (variance of all entries;
    :math:`1` when that variance is 0); ``"auto"``: :math:`\gamma = 1/d`; a positive number is
    returned as is. With ``sample_weight`` the variance is that of the rows counted :math:`w_i` times,
    so that a zero weight is a dropped row and an integer weight repeated rows for ``"scale"`` too
    (:class:`sklearn.svm.SVC` ignores the weights there).

    Raises
    ------
    FairermValueError
        ``gamma`` is a string other than ``"scale"``/``"auto"``, or a number that is not > 0.
    """
    if isinstance(gamma, str):
        if gamma == "scale" and sample_weight is not None:
            var = weighted_variance(X, sample_weight)
            return 1.0 / (X.shape[1] * var) if var != 0.0 else 1.0
        if gamma == "scale":
            # scipy.sparse (approximate feature maps): E[x^2] - E[x]^2 over all entries, as scikit-learn's SVC
            var = (float(X.multiply(X).mean() - X.mean() ** 2) if hasattr(X, "multiply") and hasattr(X, "nnz")
                   else float(np.asarray(X).var()))
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

    def resolve(self, X: np.ndarray, sample_weight: np.ndarray | None = None) -> "KernelSpec":
        """A copy with ``gamma`` a number, resolved on the training data ``X`` (rows weighted by ``sample_weight``)."""
        if self.is_precomputed or not isinstance(self.gamma, str):
            return self
        return replace(self, gamma=resolve_gamma(X, self.gamma, sample_weight))

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


def check_training_kernel(K: np.ndarray, *, name: str = "X") -> bool | None:
    r"""Refuse a precomputed training kernel that is not symmetric; say whether it is positive semi-definite.

    Symmetry is checked to :math:`10^{-10}` of :math:`\max|K_{ij}|`, by blocks of rows (no second
    :math:`n\times n` array). Positive semi-definiteness is judged by the smallest eigenvalue
    (Lanczos, :func:`scipy.sparse.linalg.eigsh`) against the round-off of an :math:`n\times n` matrix,
    :math:`10^{-9}\,n\max|K_{ij}|`.

    Returns
    -------
    bool or None
        True (PSD), False (indefinite: FERM with it is not a convex problem), or None where the
        eigenvalue could not be computed.

    Raises
    ------
    FairermValueError
        ``K`` is not symmetric.
    """
    n = K.shape[0]
    scale = max(abs(float(K.max(initial=0.0))), abs(float(K.min(initial=0.0))))
    step = max(1, (8 << 20) // max(8 * n, 1))
    worst, where = 0.0, (0, 0)
    for start in range(0, n, step):
        block = np.abs(K[start:start + step] - K[:, start:start + step].T)
        if block.size and block.max() > worst:
            worst = float(block.max())
            i, j = np.unravel_index(int(block.argmax()), block.shape)
            where = (start + int(i), int(j))
    if worst > 1e-10 * scale:
        i, j = where
        raise FairermValueError(
            f"{name}: a precomputed training kernel must be symmetric (K[i, j] = K[j, i]); got |K[{i}, {j}] - "
            f"K[{j}, {i}]| = {worst:.3g} with max |K| = {scale:.3g}. Pass the Gram matrix of the training points "
            "with themselves, K[i, j] = k(x_i, x_j); if the asymmetry is round-off, use (K + K.T) / 2."
        )
    if n < 3:
        return bool(np.linalg.eigvalsh(K).min() >= -1e-9 * n * scale)
    from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, eigsh

    try:
        smallest = float(eigsh(K, k=1, which="SA", tol=1e-6, maxiter=max(1000, 10 * n),
                               v0=np.ones(n), return_eigenvectors=False)[0])
    except (ArpackNoConvergence, ArpackError):
        return None
    return bool(smallest >= -1e-9 * n * scale)
