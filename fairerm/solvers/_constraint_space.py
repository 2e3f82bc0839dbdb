r"""The span of the fairness vectors :math:`u_j`: which rows are live, its basis, and feasibility.

Every solver needs the same three facts about :math:`\mathcal U = \operatorname{span}\{u_1,\dots,u_k\}`,
and they are decided here once:

* **Live rows.** A :math:`u_j = \sum_i C^u_{ji}\phi(x_i)` whose norm is at the level of round-off
  (the groups already balanced, e.g. on projected data) is :math:`u_j = 0`: it holds for every
  :math:`w` and is not a direction to act on. For a kernel its computed norm is at most about
  :math:`10^{-16}\,\|C^u_{j\cdot}\|_1 \max_i\|\phi(x_i)\|`; the threshold is :math:`10^{4}` times that
  (:func:`noise_floor`). For explicit features the round-off of coordinate :math:`k` is at most about
  :math:`10^{-16}\|C^u_{j\cdot}\|_1 s_k` with :math:`s_k = \max_i|x_{ik}|` its column's size, so the test is
  made on the rows scaled column by column, :math:`\tilde U = U\operatorname{diag}(s)^{-1}`
  (:func:`scaled_rows`): with one column of size :math:`10^6` and a genuine :math:`u_j` of norm
  :math:`5.6\cdot10^{-7}` in a column of size :math:`10^{-6}`, the norm test against :math:`\max_{ik}|x_{ik}|`
  called the row round-off and a fit with :math:`|\langle w, u\rangle| = 1.8 \gg \epsilon` "optimal". The linear
  kernel has explicit features too (:attr:`~fairerm.problem.KernelFermProblem.explicit_features`): its rows
  :math:`U = C^uX`, their Gram :math:`UU^\top` and the move of :func:`enforce_feasibility` are those of the
  linear problem (judged against :math:`\max_i\|x_i\|` through the kernel, the same genuine row was called
  round-off and :func:`fairerm.solvers.solve` returned an "optimal" :class:`~fairerm.FairKernelSVC` with a
  negative objective).
* **Basis.** The rank of :math:`\mathcal U` (dependent rows: :math:`G` groups give :math:`G` rows
  spanning :math:`G-1` dimensions): singular values of :math:`\tilde U` (explicit features,
  :class:`RowSpace`) or eigenvalues of the Gram :math:`M = C^u K C^{u\top}` (kernels, whose square roots
  they are) above ``rank_rtol`` times the largest and above the noise floor.
* **Feasibility.** Solvers meet :math:`|\langle w, u_j\rangle + c^u_j| \le \epsilon` only to their
  tolerance; the smallest move of :math:`w` inside :math:`\mathcal U` that makes every violated row
  :math:`V` hold exactly is :math:`\Delta w = -U_V^\top (U_VU_V^\top)^{+}(U_Vw + c^u_V - \sigma_V\epsilon)`
  (:func:`enforce_feasibility`; :math:`c^u` the problem's offsets, zero for the linear-loss constraint).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_triangular

from ..problem import KernelFermProblem, LinearFermProblem, optimal_intercept

__all__ = ["NOISE_RTOL", "noise_floor", "scaled_rows", "live_constraints", "RowSpace", "orthonormal_basis", "gram_basis",
           "enforce_feasibility"]

#: Relative size of a round-off :math:`u_j` (see the module docstring).
NOISE_RTOL = 1e-12


def noise_floor(constraint_weights: np.ndarray, feature_size: float = 1.0) -> float:
    r"""Norm below which a :math:`u_j` is round-off: :math:`10^{-12}\max_j\|C^u_{j\cdot}\|_1\,\max_i\|\phi(x_i)\|`.

    With ``feature_size = 1`` it is the floor of the column-scaled rows :func:`scaled_rows`.
    """
    if constraint_weights.size == 0:
        return 0.0
    return NOISE_RTOL * float(np.abs(constraint_weights).sum(axis=1).max()) * float(feature_size)


def scaled_rows(U: np.ndarray, column_sizes: np.ndarray) -> np.ndarray:
    r""":math:`\tilde U = U\operatorname{diag}(s)^{-1}`, each column against its own size :math:`s_k = \max_i|x_{ik}|`.

    A column of zeros (:math:`s_k = 0`) has :math:`U_{jk} = 0` exactly and is left as it is.
    """
    sizes = np.asarray(column_sizes, dtype=np.float64)
    return np.asarray(U, dtype=np.float64) / np.where(sizes > 0.0, sizes, 1.0)


def live_constraints(problem: LinearFermProblem | KernelFermProblem) -> np.ndarray:
    r"""Boolean mask of the rows :math:`u_j` that are not round-off zeros (see the module docstring).

    Explicit features (:class:`~fairerm.problem.LinearFermProblem`, and a kernel problem with
    :attr:`~fairerm.problem.KernelFermProblem.explicit_features`, whose :math:`\langle w,u_j\rangle` the
    certificate measures as :math:`Uw`): the column-scaled rows :func:`scaled_rows`. Other kernels, whose
    :math:`\langle w, u_j\rangle` is measured as :math:`C^u_{j\cdot}(K\beta)` with a round-off of order
    :math:`10^{-16}\sum_i|C^u_{ji}|\,\|\phi(x_i)\|\,\sum_l|\beta_l|\|\phi(x_l)\|`: the norm
    :math:`\sqrt{M_{jj}}` against :func:`noise_floor` at :math:`\max_i\|\phi(x_i)\|` (the same floor as the
    rank of :math:`M` in :mod:`fairerm.solvers.kernel_smo`). A row below it moves :math:`\langle w,u_j\rangle`
    by at most :math:`10^{-12}\|C^u_{j\cdot}\|_1\max_i\|\phi(x_i)\|\,\|w\|`, a few thousand times that
    round-off: no measurement can tell it from zero.
    """
    if problem.kind == "linear" or getattr(problem, "explicit_features", False):
        norms = np.linalg.norm(scaled_rows(problem.U, problem.column_sizes), axis=1)
        return norms > noise_floor(problem.constraint_weights)
    return problem.constraint_norms > noise_floor(problem.constraint_weights, problem.feature_size)


class RowSpace:
    r"""The span of the rows of :math:`U` (k, d) with its round-off directions left out, and its solves.

    The rank is decided on the column-scaled rows :math:`\tilde U = U D^{-1}`, :math:`D = \operatorname{diag}(s)`
    (:func:`scaled_rows`), where every coordinate's round-off has the same size: the SVD
    :math:`\tilde U = P\Sigma W^\top` keeps the singular values above ``rank_rtol`` times the largest and above
    ``floor``. The rows of :math:`U = P\Sigma W^\top D` then span the columns of :math:`DW = QR` (QR
    decomposition), so :math:`U = P\Sigma R^\top Q^\top` with :math:`Q` (d, r) orthonormal, and

    * :meth:`point`: the :math:`v = Qz` with :math:`Uv = b` solves :math:`P\Sigma R^\top z = b`,
      :math:`z = R^{-\top}\Sigma^{-1}P^\top b`, consistent when :math:`b = PP^\top b`;
    * :meth:`multipliers`: the :math:`\mu` in the span of :math:`P` with :math:`U^\top\mu = Qc`,
      :math:`\mu = P\Sigma^{-1}R^{-1}c`.

    Unscaled, the rank test (and the Gram :math:`UU^\top` it replaces) drops a genuine row whose size
    is that of a small column next to the round-off of a large one.
    """

    def __init__(self, U: np.ndarray, column_sizes: np.ndarray, floor: float, rank_rtol: float = 1e-10):
        U = np.asarray(U, dtype=np.float64)
        k, d = U.shape
        sizes = np.asarray(column_sizes, dtype=np.float64)
        sizes = np.where(sizes > 0.0, sizes, 1.0)
        if U.size == 0:
            P, singular, Wt = np.zeros((k, 0)), np.zeros(0), np.zeros((0, d))
        else:
            P, singular, Wt = np.linalg.svd(U / sizes, full_matrices=False)
        top = float(singular.max(initial=0.0))
        keep = singular > max(rank_rtol * top, floor) if top > 0 else np.zeros(singular.shape, dtype=bool)
        self.P, self.sigma = P[:, keep], singular[keep]
        self.Q, self.R = np.linalg.qr(Wt[keep].T * sizes[:, None])
        self.rank = int(keep.sum())

    def point(self, rhs: np.ndarray) -> tuple[np.ndarray, float]:
        r"""``(z, residual)``: :math:`v = Qz` meets :math:`Uv = b` up to ``residual`` :math:`= \|b - PP^\top b\|`."""
        rhs = np.asarray(rhs, dtype=np.float64)
        if self.rank == 0:
            return np.zeros(0), float(np.linalg.norm(rhs))
        coords = self.P.T @ rhs
        z = solve_triangular(self.R, coords / self.sigma, trans="T")
        return z, float(np.linalg.norm(rhs - self.P @ coords))

    def multipliers(self, c: np.ndarray) -> np.ndarray:
        r""":math:`\mu = P\Sigma^{-1}R^{-1}c`, the multipliers with :math:`U^\top\mu = Qc`."""
        if self.rank == 0:
            return np.zeros(self.P.shape[0])
        return self.P @ (solve_triangular(self.R, np.asarray(c, dtype=np.float64)) / self.sigma)


def orthonormal_basis(U: np.ndarray, floor: float, rank_rtol: float = 1e-10,
                      column_sizes: np.ndarray | None = None) -> np.ndarray:
    r"""An orthonormal basis :math:`Q` (d, r) of the span of the rows of ``U``, round-off directions left out.

    With ``column_sizes`` (:math:`\max_i|x_{ik}|` of the features the rows are sums of) the rank is decided
    on the column-scaled rows and ``floor`` is in their units (:class:`RowSpace`).
    """
    if column_sizes is not None:
        return np.ascontiguousarray(RowSpace(U, column_sizes, floor, rank_rtol).Q)
    if U.size == 0:
        return np.zeros((U.shape[1] if U.ndim == 2 else 0, 0))
    _, singular, Vt = np.linalg.svd(U, full_matrices=False)
    top = float(singular.max(initial=0.0))
    keep = singular > max(rank_rtol * top, floor) if top > 0 else np.zeros(singular.shape, dtype=bool)
    return np.ascontiguousarray(Vt[keep].T)


def gram_basis(M: np.ndarray, floor: float, rank_rtol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    r"""Eigenvectors :math:`V_r` and eigenvalues :math:`D_r` of the constraint Gram :math:`M` that span :math:`\mathcal U`.

    Eigenvalues are squared singular values of the rows, so the thresholds are squared too.
    """
    eigval, eigvec = np.linalg.eigh(0.5 * (M + M.T))
    top = max(float(eigval.max(initial=0.0)), 0.0)
    keep = eigval > max(rank_rtol * top, floor * floor) if top > 0 else np.zeros(eigval.shape, dtype=bool)
    return eigvec[:, keep], eigval[keep]


def _violated(values: np.ndarray, epsilon: float, norms: np.ndarray, w_norm: float, live: np.ndarray) -> np.ndarray:
    round_off = 1e-12 * norms * w_norm
    return live & (np.abs(values) > epsilon + round_off)


def enforce_feasibility(problem, coef_or_beta: np.ndarray, mu: np.ndarray, intercept: float,
                        scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, bool]:
    r"""Move :math:`w` within :math:`\mathcal U` so that every :math:`|\langle w, u_j\rangle| \le \epsilon` holds.

    Linear problems move ``coef`` (:math:`w`); kernel problems move the multipliers,
    :math:`\mu_V \leftarrow \mu_V + \delta` (so :math:`\beta = y\circ\alpha - C^{u\top}\mu` moves by
    :math:`-C_V^{u\top}\delta`), with :math:`M_{VV}\delta = \langle w, u_V\rangle + c^u_V - \sigma_V\epsilon`.
    ``scores`` are :math:`\langle w, \phi(x_i)\rangle` (no intercept) and move with :math:`w`; when a
    correction is made the intercept is re-optimised for the new :math:`w`
    (:func:`fairerm.problem.optimal_intercept`). Returns ``(coef_or_beta, mu, intercept, scores,
    corrected)``.
    """
    if problem.n_constraints == 0:
        return coef_or_beta, mu, intercept, scores, False
    live = live_constraints(problem)
    norms = problem.constraint_norms
    if problem.kind == "linear":
        values = problem.U @ coef_or_beta
        w_norm = float(np.linalg.norm(coef_or_beta))
    elif problem.explicit_features:  # w = X'beta: <w, u_j> = U w and ||w|| without the kernel's round-off
        w = problem.weight(coef_or_beta)
        values = problem.U @ w
        w_norm = float(np.linalg.norm(w))
    else:
        values = problem.constraint_weights @ scores
        w_norm = float(np.sqrt(max(float(coef_or_beta @ scores), 0.0)))
    values = values + problem.constraint_offset  # the constrained quantity <w, u_j> + c_j
    violated = _violated(values, problem.epsilon, norms, w_norm, live)
    if not violated.any():
        return coef_or_beta, mu, intercept, scores, False
    target = np.sign(values[violated]) * problem.epsilon
    if problem.kind == "linear":  # the move within the span of u_V, decided on the column-scaled rows
        space = RowSpace(problem.U[violated], problem.column_sizes, noise_floor(problem.constraint_weights))
        step, _ = space.point(values[violated] - target)
        coef_or_beta = coef_or_beta - space.Q @ step
        scores = problem.scores(coef_or_beta)
    else:
        if problem.explicit_features:  # the move U_V' step within the span of u_V, on the column-scaled rows
            space = RowSpace(problem.U[violated], problem.column_sizes, noise_floor(problem.constraint_weights))
            z, _ = space.point(values[violated] - target)
            step = space.multipliers(z)
        else:
            M = problem.constraint_gram
            step, *_ = np.linalg.lstsq(M[np.ix_(violated, violated)], values[violated] - target, rcond=None)
        mu = mu.copy()
        mu[violated] += step
        coef_or_beta = coef_or_beta - problem.constraint_weights[violated].T @ step
        scores = scores - problem.constraint_columns[:, violated] @ step
    intercept = optimal_intercept(scores, problem.y, problem.upper)
    return coef_or_beta, mu, intercept, scores, True
