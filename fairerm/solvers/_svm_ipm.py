r"""A primal-dual interior-point method for the linear SVM with an unpenalised intercept, few features.

Problem (data rows :math:`x_i\in\mathbb R^d`, labels :math:`y_i=\pm1`, offsets :math:`o_i`, boxes
:math:`c_i`, and a linear pull :math:`(p, p_b)` that carries hinge terms fixed elsewhere):

.. math::

    \min_{w,b,\xi}\; \tfrac12\|w\|^2 - p^\top w - p_b b + \sum_i c_i\xi_i
    \quad\text{s.t.}\quad y_i(\langle w, x_i\rangle + b + o_i) \ge 1 - \xi_i,\ \xi_i\ge 0 .

With :math:`a_i = y_ix_i` and :math:`h_i = 1 - y_io_i` its dual is the box QP with one equality

.. math::

    \min_{0\le\alpha\le c}\; \tfrac12\alpha^\top AA^\top\alpha + (Ap - h)^\top\alpha
    \quad\text{s.t.}\quad y^\top\alpha = -p_b,
    \qquad w = p + A^\top\alpha,\quad b = -\nu,

where :math:`\nu` is the multiplier of the equality. Mehrotra's predictor-corrector method (Nocedal &
Wright, *Numerical Optimization*, 2nd ed., Alg. 16.4, for this QP) needs 15-30 Newton steps; each one
solves :math:`(D + AA^\top)\Delta\alpha = r` with :math:`D` diagonal. With the
Sherman-Morrison-Woodbury identity

.. math::

    (D + AA^\top)^{-1} = D^{-1} - D^{-1}A\,(I_d + A^\top D^{-1}A)^{-1}A^\top D^{-1}

that is one :math:`d\times d` Cholesky factorisation and :math:`O(md^2)` work (Ferris & Munson,
"Interior-point methods for massive support vector machines", SIAM J. Optim. 13(3), 2002), so the
method suits many points and few features -- the working set of :mod:`fairerm.solvers.linear_dcd`.
When :math:`m \le d` the :math:`m\times m` matrix is factorised directly. One step of iterative
refinement against the unfactorised matrix keeps the late, badly conditioned steps accurate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import scipy.linalg

from ..exceptions import FairermValueError

__all__ = ["SVMIPMResult", "svm_ipm"]


@dataclass
class SVMIPMResult:
    r"""Outcome of :func:`svm_ipm`: ``alpha`` (clipped to the box), ``w``, ``b``, ``status``
    (``"optimal"``, ``"max_iter_reached"``, ``"numerical_error"``, or ``"infeasible_dual"`` when
    :math:`-p_b` is not a value of :math:`y^\top\alpha` on the box, i.e. the primal is unbounded),
    Newton steps and final residuals (the dual residual relative to the size of its terms when the other
    tests passed, else relative to the smaller ``scale``: an upper bound)."""

    alpha: np.ndarray
    w: np.ndarray
    b: float
    status: str
    n_iter: int
    gap: float
    residual: float


@numba.njit(cache=True, nogil=True)
def _scale_rows(A, scale, out):
    """``out[i] = scale[i] * A[i]``: one pass (numpy's broadcast ``A * scale[:, None]`` took 2.7x as long
    on 42,000 x 100 rows)."""
    for i in range(A.shape[0]):
        factor = scale[i]
        for f in range(A.shape[1]):
            out[i, f] = A[i, f] * factor
    return out


def _times_A_transpose(A: np.ndarray, R: np.ndarray) -> np.ndarray:
    """:math:`A^\\top R` for a block R (m x k): as :math:`(R^\\top A)^\\top`, which OpenBLAS runs in half the
    time of the product with the transposed A for k = 2 (5.1 against 9.7 ms on 42,000 x 100)."""
    return (R.T @ A).T if R.shape[1] > 1 else A.T @ R


class _NewtonMatrix:
    """Solves :math:`(D + AA^\\top)V = R` for one diagonal :math:`D`, for a block of right-hand sides at once.

    The Woodbury form's :math:`d\\times d` matrix :math:`I + A^\\top D^{-1}A` is formed from :math:`D^{-1/2}A`,
    written into a buffer kept across the Newton steps; a block of :math:`k` right-hand sides costs one pass over
    :math:`A` per product, as one does (the products are memory-bound at the working set's sizes).
    """

    def __init__(self, A: np.ndarray, D: np.ndarray, woodbury: bool, buffer: np.ndarray | None = None):
        self.A, self.D = A, D
        self.woodbury = woodbury
        if self.woodbury:
            scaled = _scale_rows(A, 1.0 / np.sqrt(D), np.empty_like(A) if buffer is None else buffer)
            M = scaled.T @ scaled  # a general product: BLAS syrk took twice as long with two OpenBLAS threads
            M[np.diag_indices_from(M)] += 1.0
            self.factor = scipy.linalg.cho_factor(M, lower=True, check_finite=False, overwrite_a=True)
        else:
            H = A @ A.T
            H[np.diag_indices_from(H)] += D
            # a round-off-sized shift keeps the factorisation positive definite when AA' (rank <= d)
            # dwarfs D; the refinement step in solve() corrects for it
            H[np.diag_indices_from(H)] += 1e-14 * float(np.max(np.diag(H)))
            self.factor = scipy.linalg.cho_factor(H, lower=True, check_finite=False)

    def _solve_once(self, R: np.ndarray) -> np.ndarray:
        if not self.woodbury:
            return scipy.linalg.cho_solve(self.factor, R, check_finite=False)
        DR = R / self.D[:, None]
        inner = scipy.linalg.cho_solve(self.factor, _times_A_transpose(self.A, DR), check_finite=False)
        return DR - (self.A @ inner) / self.D[:, None]

    def solve(self, R: np.ndarray) -> np.ndarray:
        """One solve and one step of iterative refinement against the unfactorised matrix (R: m x k)."""
        V = self._solve_once(R)
        residual = R - self.D[:, None] * V - self.A @ (self.A.T @ V)  # the plain product: its round-off decides the hard cases
        return V + self._solve_once(residual)


def svm_ipm(X, y, upper, *, offsets=None, pull=None, pull_intercept=0.0, tol=1e-10, max_iter=100,
            newton="auto") -> SVMIPMResult:
    """Solve the problem of the module docstring.

    Parameters
    ----------
    X : ndarray (m, d)
    y : ndarray (m,) of +/-1
    upper : ndarray (m,) of boxes :math:`c_i > 0`
    offsets : ndarray (m,), optional
        :math:`o_i` (zero by default).
    pull : ndarray (d,), optional
        :math:`p` (zero by default).
    pull_intercept : float
        :math:`p_b`. The problem is bounded only if :math:`-p_b` lies in
        :math:`\\{y^\\top\\alpha : 0\\le\\alpha\\le c\\}`.
    tol : float
        Stop when the dual residual (relative to the size of the terms it sums), the equality
        residual, the complementarity and the duality gap computed from the primal and dual
        objective values (relative to :math:`1 + |\\text{primal}|`) are all below ``tol``; that gap
        certifies the returned :math:`(w, b)`.
    max_iter : int
    newton : {"auto", "woodbury", "direct"}
        How the Newton systems are solved: through the :math:`d\times d` Woodbury form, or by
        factorising the :math:`m\times m` matrix (stable when one direction of the data dominates
        by orders of magnitude, where the Woodbury form cancels; :math:`O(m^3)` per step).
        ``"auto"``: Woodbury when :math:`m > d`.

    Returns
    -------
    SVMIPMResult
    """
    if newton not in ("auto", "woodbury", "direct"):
        raise FairermValueError(f"newton must be 'auto', 'woodbury' or 'direct'; got {newton!r}.")
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    c = np.asarray(upper, dtype=np.float64)
    m, d = X.shape
    A = X * y[:, None]
    o = np.zeros(m) if offsets is None else np.asarray(offsets, dtype=np.float64)
    p = np.zeros(d) if pull is None else np.asarray(pull, dtype=np.float64)
    h = 1.0 - y * o
    q = A @ p - h
    e = -float(pull_intercept)
    scale = 1.0 + float(np.abs(q).max(initial=0.0))

    low, high = -float(c[y < 0].sum()), float(c[y > 0].sum())  # the range of y'alpha over the box
    if not low - 1e-12 * (high - low) <= e <= high + 1e-12 * (high - low):
        return SVMIPMResult(alpha=np.zeros(m), w=p.copy(), b=0.0, status="infeasible_dual", n_iter=0,
                            gap=np.inf, residual=np.inf)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        try:
            woodbury = m > d if newton == "auto" else newton == "woodbury"
            return _mehrotra(A, y, c, q, e, p, scale, tol, max_iter, woodbury)
        except (FloatingPointError, ZeroDivisionError):
            return SVMIPMResult(alpha=np.zeros(m), w=p.copy(), b=0.0, status="numerical_error",
                                n_iter=0, gap=np.inf, residual=np.inf)


def _dual_residual_scale(A, alpha, scale) -> float:
    """The size of the terms summed in the dual residual: round-off in :math:`K\\alpha = A(A^\\top\\alpha)`
    is of order :math:`\\epsilon_{mach}|A|(|A|^\\top\\alpha)`, which can dwarf :math:`q` on badly scaled data."""
    abs_A = np.abs(A)
    return max(scale, float((abs_A @ (abs_A.T @ alpha)).max()))


def _mehrotra(A, y, c, q, e, p, scale, tol, max_iter, woodbury) -> SVMIPMResult:
    m = A.shape[0]
    pp = float(p @ p)
    buffer = np.empty_like(A) if woodbury else None
    alpha = 0.5 * c
    t = c - alpha
    z = np.full(m, scale)
    s = np.full(m, scale)
    nu = 0.0
    status, gap, residual = "max_iter_reached", np.inf, np.inf
    iteration = 0
    for iteration in range(1, max_iter + 1):
        v = A.T @ alpha
        Kalpha = A @ v
        r_dual = Kalpha + q - nu * y - z + s
        r_eq = float(y @ alpha) - e
        mu = (alpha @ z + t @ s) / (2 * m)
        objective = 0.5 * v @ v + q @ alpha
        size = 1.0 + abs(objective)
        # Duality gap of the current point, computed from the objectives (the certificate): with
        # w = p + A'alpha and b = -nu, primal minus dual value is v'v + q'alpha - e nu + c'hinge,
        # hinge_i = max(0, -(K alpha + q - nu y)_i); |r_eq nu| covers the equality's residual.
        hinge = np.maximum(0.0, -(Kalpha + q - nu * y))
        primal = 0.5 * v @ v - 0.5 * pp - e * nu + c @ hinge
        duality_gap = v @ v + q @ alpha - e * nu + c @ hinge + abs(r_eq * nu)
        gap = max(2 * m * mu / size, duality_gap / (1.0 + abs(primal)))
        # the dual residual relative to the size of its terms (_dual_residual_scale, at least `scale`):
        # that size costs two passes over A, so it is computed only when the test could pass with it
        raw_dual = float(np.abs(r_dual).max())
        eq_residual = abs(r_eq) / (1.0 + float(c.sum()))
        residual = max(raw_dual / scale, eq_residual)
        if gap <= tol and residual > tol and eq_residual <= tol:
            residual = max(raw_dual / _dual_residual_scale(A, alpha, scale), eq_residual)
        if residual <= tol and gap <= tol:
            status = "optimal"
            break
        D = z / alpha + s / t
        try:
            newton = _NewtonMatrix(A, D, woodbury, buffer)
        except (np.linalg.LinAlgError, ValueError):
            status = "numerical_error"
            break

        def step_length(d_alpha, d_z, d_s):
            ratio = 1.0
            for value, change in ((alpha, d_alpha), (t, -d_alpha), (z, d_z), (s, d_s)):
                negative = change < 0
                if negative.any():
                    ratio = min(ratio, float(np.min(-value[negative] / change[negative])))
            return ratio

        def direction(Hinv_r, r_az, r_ts):
            d_nu = (-r_eq - float(y @ Hinv_r)) / y_Hinv_y
            d_alpha = Hinv_r + d_nu * Hinv_y
            d_z = (r_az - z * d_alpha) / alpha
            d_s = (r_ts + s * d_alpha) / t
            return d_alpha, d_nu, d_z, d_s

        # predictor (affine scaling), solved together with H^-1 y; then Mehrotra's centring and
        # second-order correction
        r_az, r_ts = -alpha * z, -t * s
        both = newton.solve(np.column_stack((y, -r_dual + r_az / alpha - r_ts / t)))
        Hinv_y = both[:, 0]
        y_Hinv_y = float(y @ Hinv_y)
        da, dn, dz, ds = direction(both[:, 1], r_az, r_ts)
        step = step_length(da, dz, ds)
        mu_aff = ((alpha + step * da) @ (z + step * dz) + (t - step * da) @ (s + step * ds)) / (2 * m)
        sigma = (mu_aff / mu) ** 3 if mu > 0 else 0.0
        r_az, r_ts = sigma * mu - alpha * z - da * dz, sigma * mu - t * s + da * ds
        Hinv_r = newton.solve((-r_dual + r_az / alpha - r_ts / t)[:, None])[:, 0]
        da, dn, dz, ds = direction(Hinv_r, r_az, r_ts)
        step = min(1.0, 0.995 * step_length(da, dz, ds))
        alpha = alpha + step * da
        t = c - alpha
        # keep alpha strictly inside the box despite round-off in t = c - alpha
        alpha = np.maximum(alpha, 1e-16 * c)
        t = np.maximum(t, 1e-16 * c)
        nu += step * dn
        z = z + step * dz
        s = s + step * ds
        if not (np.all(np.isfinite(alpha)) and np.isfinite(nu)):
            status = "numerical_error"
            break
    alpha = np.clip(alpha, 0.0, c)
    w = p + A.T @ alpha
    return SVMIPMResult(alpha=alpha, w=w, b=-float(nu), status=status, n_iter=iteration, gap=float(gap),
                        residual=float(residual))
