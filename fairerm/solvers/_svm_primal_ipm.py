r"""A primal-dual interior-point method for the linear SVM that keeps :math:`w` as a variable.

Problem (the same as :mod:`fairerm.solvers._svm_ipm`: rows :math:`x_i`, labels :math:`y_i=\pm1`, offsets
:math:`o_i`, boxes :math:`c_i`, a linear pull :math:`(p, p_b)`; :math:`a_i = y_ix_i`,
:math:`h_i = 1 - y_io_i`):

.. math::

    \min_{w,b,\xi}\; \tfrac12\|w\|^2 - p^\top w - p_b b + c^\top\xi
    \quad\text{s.t.}\quad r := Aw + by + \xi - h \ge 0,\ \ \xi \ge 0,

with multipliers :math:`\alpha \ge 0` of :math:`r \ge 0` and :math:`z \ge 0` of :math:`\xi \ge 0`. Its dual is
:math:`\max\{h^\top\alpha - \tfrac12\|p + A^\top\alpha\|^2 : 0\le\alpha\le c,\ y^\top\alpha = -p_b\}`.

**Why a second method.** :mod:`fairerm.solvers._svm_ipm` works in :math:`\alpha` and returns
:math:`w = p + A^\top\alpha`. When the box is large against the data's scale (feature scale
:math:`10^6` with :math:`C = 1` is the problem at scale 1 with :math:`C = 10^{12}`), most multipliers
sit at their bound, and :math:`w` is a difference of sums whose terms are :math:`10^{15}` times larger
than the result: in float64 the dual representation cannot hold :math:`w` to more than a digit, and
the hinge terms computed from it are off by tenths (measured on the trust issue's 3,000 x 6 example
at scale :math:`10^6`: :math:`|p| \approx 10^9`, :math:`\|w\| \approx 10^{-6}`). Here :math:`w` is
an iterate of its own: the margins are linear in it and exact to round-off, and only the stationarity
residual :math:`w - p - A^\top\alpha` carries the cancellation, which is why it is measured against
the size of the terms it sums.

**Newton step.** Linearising the KKT conditions (residuals :math:`R_w = w - p - A^\top\alpha`,
:math:`R_b = -p_b - y^\top\alpha`, :math:`R_\xi = c - \alpha - z`, :math:`R_p = Aw + by + \xi - h - r`,
complementarity targets :math:`s_1` for :math:`\alpha\circ r` and :math:`s_2` for :math:`z\circ\xi`) and
eliminating :math:`\Delta z = R_\xi - \Delta\alpha`, :math:`\Delta\xi = (s_2 - \xi R_\xi + \xi\Delta\alpha)/z`,
:math:`\Delta r = (s_1 - r\Delta\alpha)/\alpha` leaves, with :math:`E = \xi/z + r/\alpha`,
:math:`g = -R_p - (s_2 - \xi R_\xi)/z + s_1/\alpha` and :math:`D = E^{-1}`,

.. math::

    \begin{pmatrix} I + A^\top DA & A^\top Dy\\ y^\top DA & y^\top Dy\end{pmatrix}
    \begin{pmatrix}\Delta w\\ \Delta b\end{pmatrix} =
    \begin{pmatrix}-R_w + A^\top Dg\\ -R_b + y^\top Dg\end{pmatrix},\qquad
    \Delta\alpha = D(g - A\Delta w - y\Delta b),

a :math:`(d+1)\times(d+1)` system (:math:`O(md^2)` to form), solved after a symmetric diagonal scaling,
with one step of iterative refinement. Mehrotra's predictor-corrector (Nocedal & Wright, *Numerical
Optimization*, 2nd ed., Alg. 16.4) chooses the centring.

**Certificate.** Each iterate's primal value is computed at the hinge slacks
:math:`\xi_i = \max(0, h_i - (Aw + by)_i)` (so :math:`(w, b)` is always primal feasible), its dual value at
:math:`\alpha` clipped to the box, plus :math:`|b\,(y^\top\alpha + p_b)|` for the equality's residual;
the method stops when that gap is below ``tol`` relative to :math:`1 + |\text{primal}|`.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from ._svm_ipm import SVMIPMResult

__all__ = ["reduced_gap_holds", "svm_primal_ipm"]


def _arrays(X, y, upper, offsets, pull):
    r"""float64 :math:`A = \operatorname{diag}(y)X`, :math:`y`, :math:`c`, :math:`h = 1 - y\circ o` and :math:`p`."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    m, d = X.shape
    h = 1.0 - y * (np.zeros(m) if offsets is None else np.asarray(offsets, dtype=np.float64))
    p = np.zeros(d) if pull is None else np.asarray(pull, dtype=np.float64)
    return X * y[:, None], y, np.asarray(upper, dtype=np.float64), h, p


def _objectives(A, y, c, h, p, p_b, w, b, alpha, A_t_alpha=None):
    """Primal value at the hinge slacks, dual value at the clipped alpha (with the equality's residual).

    ``A_t_alpha``, :math:`A^\top\alpha` of the unclipped alpha when the caller has it, is reused when
    clipping changes nothing."""
    clipped = np.clip(alpha, 0.0, c)
    slack = np.maximum(0.0, h - (A @ w + b * y))
    primal = 0.5 * float(w @ w) - float(p @ w) - p_b * b + float(c @ slack)
    reuse = A_t_alpha is not None and np.array_equal(clipped, alpha)
    v = p + (A_t_alpha if reuse else A.T @ clipped)
    alpha = clipped
    dual = float(h @ alpha) - 0.5 * float(v @ v) - abs(b * (float(y @ alpha) + p_b))
    return primal, dual, alpha


def reduced_gap_holds(result: SVMIPMResult, X, y, upper, *, offsets=None, pull=None, pull_intercept=0.0,
                      tol: float = 1e-8) -> bool:
    r"""Whether a result's :math:`(w, b, \alpha)` has a relative duality gap of at most ``tol``, recomputed.

    The primal value from the margins :math:`Aw + by` of the rows, the dual value from the vector
    :math:`p + A^\top\alpha` formed before it is squared (never expanded in :math:`p`, which cancels
    when :math:`\|p\| \gg \|w\|`): an independent check of :func:`fairerm.solvers._svm_ipm.svm_ipm`'s own test.
    """
    A, y, c, h, p = _arrays(X, y, upper, offsets, pull)
    primal, dual, _ = _objectives(A, y, c, h, p, float(pull_intercept), result.w, result.b, result.alpha)
    return bool(np.isfinite(primal) and np.isfinite(dual) and primal - dual <= tol * (1.0 + abs(primal)))


def _solve_scaled(M: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve the symmetric positive definite ``M x = rhs`` after Jacobi scaling; least squares if singular."""
    scale = 1.0 / np.sqrt(np.maximum(np.diag(M), np.finfo(float).tiny))
    Ms = M * scale[:, None] * scale[None, :]
    try:
        factor = scipy.linalg.cho_factor(Ms, lower=True, check_finite=False)
        x = scipy.linalg.cho_solve(factor, rhs * scale, check_finite=False)
    except (np.linalg.LinAlgError, ValueError):
        x = scipy.linalg.lstsq(Ms, rhs * scale, check_finite=False)[0]
    return x * scale


def svm_primal_ipm(X, y, upper, *, offsets=None, pull=None, pull_intercept=0.0, tol=1e-10,
                   max_iter=150) -> SVMIPMResult:
    """Solve the problem of the module docstring; arguments as :func:`fairerm.solvers._svm_ipm.svm_ipm`.

    Returns
    -------
    SVMIPMResult
        ``w`` is the primal iterate (not :math:`p + A^\\top\\alpha`), ``alpha`` the multipliers clipped
        to the box, ``gap`` the relative duality gap of the certificate, ``residual`` the stationarity
        residual relative to the size of its terms.
    """
    A, y, c, h, p = _arrays(X, y, upper, offsets, pull)
    m, d = A.shape
    p_b = float(pull_intercept)
    low, high = -float(c[y < 0].sum()), float(c[y > 0].sum())
    if not low - 1e-12 * (high - low) <= -p_b <= high + 1e-12 * (high - low):
        return SVMIPMResult(alpha=np.zeros(m), w=p.copy(), b=0.0, status="infeasible_dual", n_iter=0,
                            gap=np.inf, residual=np.inf)
    abs_A = np.abs(A)
    w, b = np.zeros(d), 0.0
    alpha, z = 0.5 * c, 0.5 * c
    r = np.ones(m)
    xi = np.ones(m)
    status, gap, residual, iteration = "max_iter_reached", np.inf, np.inf, 0
    best = None
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        try:
            for iteration in range(1, max_iter + 1):
                A_t_alpha = A.T @ alpha  # once per iteration: the dual value and the stationarity residual
                primal, dual, alpha_box = _objectives(A, y, c, h, p, p_b, w, b, alpha, A_t_alpha)
                gap = max(primal - dual, 0.0) / (1.0 + abs(primal))
                size_w = float(np.abs(p).max(initial=0.0)) + float((abs_A.T @ np.abs(alpha)).max(initial=0.0))
                R_w = w - p - A_t_alpha
                residual = float(np.abs(R_w).max(initial=0.0)) / (1.0 + size_w)
                if best is None or gap < best[0]:
                    best = (gap, w.copy(), b, alpha_box, residual)
                if gap <= tol:
                    status = "optimal"
                    break
                R_b = -p_b - float(y @ alpha)
                R_xi = c - alpha - z
                R_p = A @ w + b * y + xi - h - r
                mu = (alpha @ r + z @ xi) / (2 * m)
                D = 1.0 / (xi / z + r / alpha)
                AD = A * D[:, None]
                M = np.empty((d + 1, d + 1))
                M[:d, :d] = A.T @ AD
                M[np.diag_indices(d)] += 1.0
                M[:d, d] = M[d, :d] = AD.T @ y
                M[d, d] = float(D @ (y * y))

                def direction(s1, s2):
                    g = -R_p - (s2 - xi * R_xi) / z + s1 / alpha
                    Dg = D * g
                    rhs = np.concatenate([-R_w + A.T @ Dg, [-R_b + float(y @ Dg)]])
                    step = _solve_scaled(M, rhs)
                    step = step + _solve_scaled(M, rhs - M @ step)  # one refinement step
                    dw, db = step[:d], float(step[d])
                    da = D * (g - A @ dw - y * db)
                    dz = R_xi - da
                    dxi = (s2 - xi * R_xi + xi * da) / z
                    dr = (s1 - r * da) / alpha
                    return dw, db, da, dz, dxi, dr

                def step_length(da, dz, dxi, dr):
                    ratio = 1.0
                    for value, change in ((alpha, da), (z, dz), (xi, dxi), (r, dr)):
                        negative = change < 0
                        if negative.any():
                            ratio = min(ratio, float(np.min(-value[negative] / change[negative])))
                    return ratio

                dw, db, da, dz, dxi, dr = direction(-alpha * r, -z * xi)
                t = step_length(da, dz, dxi, dr)
                mu_aff = ((alpha + t * da) @ (r + t * dr) + (z + t * dz) @ (xi + t * dxi)) / (2 * m)
                sigma = (mu_aff / mu) ** 3 if mu > 0 else 0.0
                dw, db, da, dz, dxi, dr = direction(sigma * mu - alpha * r - da * dr, sigma * mu - z * xi - dz * dxi)
                t = min(1.0, 0.995 * step_length(da, dz, dxi, dr))
                w = w + t * dw
                b += t * db
                alpha = np.maximum(alpha + t * da, 1e-300)
                z = np.maximum(z + t * dz, 1e-300)
                xi = np.maximum(xi + t * dxi, 1e-300)
                r = np.maximum(r + t * dr, 1e-300)
                if not (np.all(np.isfinite(w)) and np.isfinite(b)):
                    status = "numerical_error"
                    break
        except (FloatingPointError, ZeroDivisionError):
            status = "numerical_error"
    gap, w, b, alpha, residual = best if best is not None else (np.inf, w, b, np.clip(alpha, 0.0, c), np.inf)
    return SVMIPMResult(alpha=alpha, w=w, b=float(b), status=status, n_iter=iteration, gap=float(gap),
                        residual=float(residual))
