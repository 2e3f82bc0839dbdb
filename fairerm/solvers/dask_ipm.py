r"""Linear FERM on a Dask array: a primal-dual interior-point method whose every pass is a map and a tree sum.

The dual of linear FERM (:mod:`fairerm.problem`) in :math:`x = (\alpha, \lambda)`, with
:math:`a_i = y_ix_i` and the fairness multipliers split as :math:`\mu = \lambda^+ - \lambda^-`
(rows :math:`R_\lambda = [-U; U]`), is the QP

.. math::

    \min\; \tfrac12\|A^\top\alpha + R_\lambda^\top\lambda\|^2 - \mathbf 1^\top\alpha + \epsilon\mathbf 1^\top\lambda
    \quad\text{s.t.}\quad 0\le\alpha\le c,\ \lambda\ge 0,\ y^\top\alpha = 0,

with :math:`w = A^\top\alpha + R_\lambda^\top\lambda` and :math:`b = -\nu` (:math:`\nu` the multiplier of
the equality). For :math:`\epsilon = 0` the rows are projected instead, :math:`x_i \leftarrow (I - QQ^\top)x_i`
with :math:`Q` an orthonormal basis of :math:`\operatorname{span}\{u_j\}`, and there is no :math:`\lambda`.
Mehrotra's predictor-corrector method (Nocedal & Wright, *Numerical Optimization*, 2nd ed., Alg. 16.4)
solves :math:`(D + RR^\top)\Delta x - \bar y\,\Delta\nu = r`, :math:`\bar y^\top\Delta x = -r_{eq}`, by
Sherman-Morrison-Woodbury (Ferris & Munson, SIAM J. Optim. 13(3), 2002): with
:math:`M = I + R^\top D^{-1}R` (:math:`d\times d`), :math:`g_r = R^\top D^{-1}r`, :math:`g_y = R^\top D^{-1}\bar y`,

.. math::

    \Delta\nu = \frac{-r_{eq} - \bar y^\top D^{-1}r + g_y^\top M^{-1}g_r}
                     {\bar y^\top D^{-1}\bar y - g_y^\top M^{-1}g_y},
    \qquad \Delta w = M^{-1}(g_r + \Delta\nu\, g_y),\qquad
    \Delta x_i = \frac{r_i + \Delta\nu\,\bar y_i - \langle R_i, \Delta w\rangle}{D_i},

and :math:`\Delta w = R^\top\Delta x` is the change of :math:`w`. The iterate carries :math:`w` as a variable of its
own, and the identity :math:`w = R^\top x` as one more residual: :math:`e = R^\top x - w` (recomputed from the
chunks in every pass A) is added to :math:`g_r` (:math:`\Delta w = M^{-1}(g_r + \Delta\nu\,g_y + e)`), so a step
of length :math:`t` shrinks it to :math:`(1 - t)e` like every other residual, and the residuals of the rows are
evaluated at that :math:`w`. Resetting :math:`w` to :math:`R^\top x` instead would feed the round-off of each
Newton solve (relative to :math:`\|M\|\,\|\Delta w\|`) back into the rows' residuals: with one column on a
large scale (an amount in dollars next to standardised features, where the start :math:`\alpha = 0.1c` puts
:math:`w` far from the solution) the iteration then stops making progress. The :math:`n`-long iterate (:math:`y, c,
\alpha` and the slacks :math:`z, s`: 25 bytes a row, 33 with sample weights) stays on the workers, chunk by
chunk, as persisted dask data; everything else a chunk needs (residuals, :math:`D`, the directions) is
recomputed in each pass from its rows and :math:`O(d)` arguments. The client holds :math:`O(d^2)`. One
iteration is three passes over the chunks of :math:`X`, each a map returning :math:`(d\times d, d,
\text{scalars})` and a tree sum (:func:`fairerm.problem_dask.tree_reduce`): **A** applies the last step (the
direction recomputed from the previous :math:`\Delta w, \Delta\nu`), forms the residuals, :math:`D`, :math:`M`
and the predictor's right-hand side; **B** the predictor direction, its step length, :math:`\mu_{\text{aff}}`
as a quadratic in the step, and the corrector's right-hand side (affine in :math:`\sigma\mu`); **C** the
corrector direction and its step length. A last pass recomputes the certificate from the data
(:func:`certify_distributed`).

Faults are dask's: a lost chunk is recomputed from its lineage (the data and the earlier passes); a task
that fails for good raises :class:`~fairerm.exceptions.SolverError` and no model is returned.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.linalg

from ..exceptions import FairermError, SolverError
from ..problem_dask import DaskLinearFermProblem, tree_reduce
from ._constraint_space import orthonormal_basis
from ._solution import Certificate, Solution

__all__ = ["solve_distributed", "certify_distributed", "DEFAULT_TOL"]

#: Relative gap and residual at which the iteration stops.
DEFAULT_TOL = 1e-11

#: The start :math:`\\alpha = 0.1c` (measured on 20,000 x 8 rows: 16-20 iterations for equal opportunity and
#: demographic parity where :math:`0.5c` takes 27-32; both about 50 for equalized odds with 3 groups).
START_FRACTION = 0.1

#: The iteration stops (status ``"stalled"``) after :data:`STALL_STEPS` iterations in a row whose step length is at
#: most :data:`STALL_STEP`: the iterate no longer moves, and each further iteration is three passes over the data.
STALL_STEP = 1e-12
STALL_STEPS = 3


def _rows(X, state, Q):
    X = np.asarray(X, dtype=np.float64)
    keep = state.get("keep")
    if keep is not None:
        X = X[keep]
    if Q is not None and Q.shape[1]:
        X = X - (X @ Q) @ Q.T
    return X


def _init_block(y_raw, weight, positive, C, scale, frac):
    y = np.where(np.asarray(y_raw) == positive, 1, -1).astype(np.int8)
    state = {}
    if weight is None:
        c = float(C)
    else:
        c = C * np.asarray(weight, dtype=np.float64)
        if np.any(c <= 0):  # a zero weight removes the row: alpha_i = 0
            state["keep"] = c > 0
            y, c = y[state["keep"]], c[state["keep"]]
    m = y.shape[0]
    state.update(y=y, c=c, alpha=np.full(m, frac) * c, z=np.full(m, scale), s=np.full(m, scale))
    return state


def _ratio(pairs) -> float:
    ratio = np.inf
    for value, change in pairs:
        negative = change < 0
        if negative.any():
            ratio = min(ratio, float(np.min(-value[negative] / change[negative])))
    return ratio


class _Point:
    """One chunk at an iterate :math:`(\\alpha, z, s, w, \\nu)`: residuals, :math:`D^{-1}`, and the Newton directions.

    Only :math:`(y, c, \\alpha, z, s)` are kept between passes; everything else is recomputed from the
    rows and the :math:`O(d)` arguments (a few matrix-vector products per pass).
    """

    def __init__(self, X, state, w, nu):
        self.X, self.y, self.c = X, state["y"].astype(np.float64), state["c"]
        self.alpha, self.z, self.s = state["alpha"], state["z"], state["s"]
        self.t = np.maximum(self.c - self.alpha, 1e-16 * self.c)
        self.f = X @ w
        self.r_dual = self.y * self.f - 1.0 - nu * self.y - self.z + self.s
        self.inv_d = 1.0 / (self.z / self.alpha + self.s / self.t)

    def affine(self, dw, dnu):
        """The predictor direction for :math:`(\\Delta w, \\Delta\\nu)`."""
        y, alpha, z, s, t = self.y, self.alpha, self.z, self.s, self.t
        da = (-self.r_dual - z + s + dnu * y - y * (self.X @ dw)) * self.inv_d
        return da, -z - z * da / alpha, -s + s * da / t

    def corrector_pieces(self, affine):
        """:math:`r = r_0 + \\sigma\\mu\\,e` of the corrector, and the second-order terms."""
        da, dz, ds = affine
        q_az, q_ts = -da * dz, da * ds
        r0 = -self.r_dual - self.z + self.s + q_az / self.alpha - q_ts / self.t
        return r0, 1.0 / self.alpha - 1.0 / self.t, q_az, q_ts

    def corrected(self, affine, dw, dnu, sigma_mu):
        """Mehrotra's corrector direction."""
        y, alpha, z, s, t = self.y, self.alpha, self.z, self.s, self.t
        _, _, q_az, q_ts = self.corrector_pieces(affine)
        r_az, r_ts = sigma_mu - alpha * z + q_az, sigma_mu - t * s + q_ts
        da = (-self.r_dual + r_az / alpha - r_ts / t + dnu * y - y * (self.X @ dw)) * self.inv_d
        return da, (r_az - z * da) / alpha, (r_ts + s * da) / t

    def ratio(self, direction) -> float:
        da, dz, ds = direction
        return _ratio(((self.alpha, da), (self.t, -da), (self.z, dz), (self.s, ds)))


def _pass_a(X, state, Q, w, nu, last, abs_ref):
    """Apply the last step (recomputed from ``last``); residuals, D, M and the predictor's right-hand side."""
    X = _rows(X, state, Q)
    st = dict(state)
    if last is not None:  # (w, nu, dw_aff, dnu_aff, dw, dnu, sigma_mu, step) of the previous iteration
        w0, nu0, dw_aff, dnu_aff, dw, dnu, sigma_mu, step = last
        old = _Point(X, state, w0, nu0)
        da, dz, ds = old.corrected(old.affine(dw_aff, dnu_aff), dw, dnu, sigma_mu)
        st.update(alpha=np.maximum(old.alpha + step * da, 1e-16 * old.c), z=old.z + step * dz, s=old.s + step * ds)
    p = _Point(X, st, w, nu)
    y, c, alpha, inv_d = p.y, p.c, p.alpha, p.inv_d
    r_aff = -p.r_dual - p.z + p.s
    weighted = X * inv_d[:, None]
    abs_X = np.abs(X)
    return st, {
        "gram": weighted.T @ X, "g_y": weighted.sum(axis=0), "g_r": weighted.T @ (y * r_aff),
        "yy": float(inv_d.sum()), "yr": float((y * r_aff) @ inv_d), "w_fresh": X.T @ (y * alpha),
        "abs_alpha": abs_X.T @ alpha, "comp": float(alpha @ p.z + p.t @ p.s), "sum_alpha": float(alpha.sum()),
        "y_alpha": float(y @ alpha), "hinge": float(np.sum(c * np.maximum(0.0, 1.0 - y * (p.f - nu)))),
        "max_rdual": float(np.max(np.abs(p.r_dual), initial=0.0)),
        "max_size": float(np.max(abs_X @ abs_ref, initial=0.0)), "rows": y.shape[0]}


def _pass_b(X, state, Q, w, nu, dw_aff, dnu_aff):
    """Predictor direction: its step length, mu_aff as a quadratic in the step, the corrector's pieces."""
    X = _rows(X, state, Q)
    p = _Point(X, state, w, nu)
    da, dz, ds = affine = p.affine(dw_aff, dnu_aff)
    r0, e, _, _ = p.corrector_pieces(affine)
    y, alpha, z, s, t, inv_d = p.y, p.alpha, p.z, p.s, p.t, p.inv_d
    return {"min_ratio": p.ratio(affine), "S0": float(alpha @ z + t @ s),
            "S1": float(alpha @ dz + da @ z + t @ ds - da @ s), "S2": float(da @ dz - da @ ds),
            "g0": X.T @ (y * r0 * inv_d), "ge": X.T @ (y * e * inv_d), "y0": float((y * r0) @ inv_d),
            "ye": float((y * e) @ inv_d)}


def _pass_c(X, state, Q, w, nu, dw_aff, dnu_aff, dw, dnu, sigma_mu):
    """Step length of the corrector direction (the direction itself is recomputed by the next pass A)."""
    X = _rows(X, state, Q)
    p = _Point(X, state, w, nu)
    return {"min_ratio": p.ratio(p.corrected(p.affine(dw_aff, dnu_aff), dw, dnu, sigma_mu))}


def _pass_certificate(X, state, w, b):
    """Hinge sum at (w, b) on the raw rows, and the class sums of alpha_i x_i for a feasible dual."""
    X = _rows(X, state, None)
    y, c = state["y"].astype(np.float64), state["c"]
    alpha = np.clip(state["alpha"], 0.0, c)
    positive = y > 0
    return {"hinge": float(np.sum(c * np.maximum(0.0, 1.0 - y * (X @ w + b)))),
            "g_pos": X[positive].T @ alpha[positive],
            "g_neg": X[~positive].T @ alpha[~positive], "s_pos": float(alpha[positive].sum()),
            "s_neg": float(alpha[~positive].sum())}


class _Passes:
    """The persisted per-chunk state and one map-and-tree-sum pass over it (dask graph in, summary out)."""

    def __init__(self, problem: DaskLinearFermProblem, scale: float):
        import dask

        self.dask = dask
        self.blocks = problem.blocks
        init = dask.delayed(_init_block, pure=True)
        positive = problem.positive_class
        states = [init(yb, wb, positive, problem.C, scale, START_FRACTION)
                  for yb, wb in zip(problem.y_blocks, problem.w_blocks)]
        self.states = list(self._run(lambda: dask.persist(*states), "initialisation"))
        self.n_passes = 0

    def _run(self, thunk, what):
        try:
            return thunk()
        except FairermError:
            raise
        except Exception as exc:  # a task failed for good (e.g. KilledWorker): no model from partial data
            raise SolverError(f"the distributed fit failed during {what}: {type(exc).__name__}: {exc}. No model was "
                              "fitted; check the workers (memory limits, logs) and fit again.") from exc

    def map(self, func, *args, what: str, with_state: bool = True):
        dask = self.dask
        task = dask.delayed(func, pure=False, nout=2 if with_state else None)
        outputs = [task(block, state, *args) for block, state in zip(self.blocks, self.states)]
        if not with_state:
            self.n_passes += 1
            return self._run(lambda: dask.compute(tree_reduce(outputs))[0], what)
        total = tree_reduce([out[1] for out in outputs])
        persisted = self._run(lambda: dask.persist(*[out[0] for out in outputs], total), what)
        summary = self._run(lambda: persisted[-1].compute(), what)
        self.states = list(persisted[:-1])
        self.n_passes += 1
        return summary


def _newton(M_factor, g_r, g_y, yr, yy, r_eq):
    """(dnu, dw) from the Woodbury pieces (module docstring)."""
    Mi_r = scipy.linalg.cho_solve(M_factor, g_r, check_finite=False)
    Mi_y = scipy.linalg.cho_solve(M_factor, g_y, check_finite=False)
    dnu = (-r_eq - (yr - g_y @ Mi_r)) / (yy - g_y @ Mi_y)
    return dnu, Mi_r + dnu * Mi_y


def solve_distributed(problem: DaskLinearFermProblem, *, tol: float | None = None, max_iter: int | None = None,
                      callback=None, rank_rtol: float = 1e-10, gap_tol: float | None = None) -> Solution:
    """Solve linear FERM on dask arrays (module docstring) and certify the result from the chunks.

    Parameters
    ----------
    problem : DaskLinearFermProblem
    tol : float, default :data:`DEFAULT_TOL`
        Stop when the relative gap and the relative residuals of the iterate are below ``tol``.
    max_iter : int, default 100
        Interior-point iterations (three passes over the data each). The iteration also stops, with status
        ``"stalled"``, after :data:`STALL_STEPS` steps in a row of length at most :data:`STALL_STEP`.
    callback : callable, optional
        ``callback(iteration, info)`` after each iteration's first pass (progress, tests).
    rank_rtol : float
        Relative singular-value threshold of the basis of the constraint span (``epsilon = 0``).
    gap_tol : float, default :data:`fairerm.solvers.DEFAULT_GAP_TOL`
        Relative duality gap up to which the certificate holds.
    """
    start = time.perf_counter()
    tol = DEFAULT_TOL if tol is None else float(tol)
    max_iter = 100 if max_iter is None else int(max_iter)
    d, eps = problem.n_features, problem.epsilon
    live = problem.live()
    U = problem.U[live]
    floor = 1e-12 * problem.constraint_weights_norm  # the column-scaled rows' round-off (fairerm.solvers.RowSpace)
    Q = orthonormal_basis(U, floor, rank_rtol, column_sizes=problem.column_sizes) if eps == 0.0 else None
    R_lam = np.vstack([-U, U]) if eps > 0.0 and U.shape[0] else np.zeros((0, d))
    n_lam = R_lam.shape[0]
    scale = 2.0
    z_lam = np.full(n_lam, max(scale, eps))  # lambda z_lambda = scale; r_lambda = 0 at w = 0 once epsilon > scale
    lam = scale / z_lam
    passes = _Passes(problem, scale)
    w, last, nu, abs_ref = R_lam.T @ lam, None, 0.0, np.zeros(d)
    status, gap, residual, iteration, w_exact = "max_iter_reached", np.inf, np.inf, 0, w
    best = {"merit": np.inf, "states": None}
    short_steps = 0
    for iteration in range(max_iter + 1):
        A = passes.map(_pass_a, Q, w, nu, last, abs_ref, what=f"pass A of iteration {iteration}")
        if not all(np.all(np.isfinite(v)) for v in A.values()):
            status = "numerical_error"
            break
        w_exact = A["w_fresh"] + R_lam.T @ lam  # R^T x from the chunks
        mismatch = w_exact - w  # the residual of w = R^T x (module docstring)
        rows = A["rows"]
        comp = A["comp"] + float(lam @ z_lam)
        mu = comp / (2 * rows + n_lam)
        r_lam = R_lam @ w + eps - z_lam
        r_eq = A["y_alpha"]
        size = max(scale, A["max_size"] + float(np.abs(R_lam).sum(axis=1).max(initial=0.0) * lam.sum()))
        # |<x_i, mismatch>| <= column_sizes . |mismatch| (also for projected rows: the mismatch is in their span)
        max_rdual = A["max_rdual"] + float(problem.column_sizes @ np.abs(mismatch))
        residual = max(max(max_rdual, float(np.max(np.abs(r_lam), initial=0.0))) / size,
                       abs(r_eq) / (1.0 + problem.upper_sum))
        primal = 0.5 * float(w @ w) + A["hinge"]
        # P(w, -nu) - D(alpha, lambda), D = -||R^T x||^2 / 2 + 1^T alpha - epsilon 1^T lambda
        duality_gap = (0.5 * float(w @ w) + 0.5 * float(w_exact @ w_exact) - A["sum_alpha"] + eps * float(lam.sum())
                       + A["hinge"] + abs(r_eq * nu))
        gap = max(comp / (1.0 + abs(primal)), duality_gap / (1.0 + abs(primal)))
        abs_ref = A["abs_alpha"]
        if callback is not None:
            callback(iteration, {"gap": gap, "residual": residual, "primal": primal})
        merit = max(gap, residual)
        if merit < best["merit"]:
            best = {"merit": merit, "states": passes.states, "w": w, "nu": nu, "lam": lam, "gap": gap,
                    "residual": residual, "iteration": iteration}
        elif best["merit"] < 1e-8 and (merit > 1e3 * best["merit"] or iteration - best["iteration"] >= 5):
            status = "stalled"  # round-off took over near the optimum: back to the best iterate
            break
        if residual <= tol and gap <= tol:
            status = "optimal"
            break
        if iteration == max_iter:
            break
        # predictor
        inv_lam = lam / z_lam  # 1 / D_lambda
        M = np.eye(d) + A["gram"] + (R_lam.T * inv_lam) @ R_lam
        try:
            factor = scipy.linalg.cho_factor(M, lower=True, check_finite=False)
        except (np.linalg.LinAlgError, ValueError):
            status = "numerical_error"
            break
        r_lam_aff = -r_lam - z_lam
        dnu_aff, dw_aff = _newton(factor, A["g_r"] + mismatch + R_lam.T @ (r_lam_aff * inv_lam), A["g_y"], A["yr"],
                                  A["yy"], r_eq)
        B = passes.map(_pass_b, Q, w, nu, dw_aff, dnu_aff, what=f"pass B of iteration {iteration}",
                       with_state=False)
        dl = (r_lam_aff - R_lam @ dw_aff) * inv_lam
        dzl = -z_lam - z_lam * dl / lam
        step_aff = min(1.0, B["min_ratio"], _ratio(((lam, dl), (z_lam, dzl))))
        S0 = B["S0"] + lam @ z_lam
        S1 = B["S1"] + lam @ dzl + dl @ z_lam
        S2 = B["S2"] + dl @ dzl
        mu_aff = (S0 + step_aff * S1 + step_aff ** 2 * S2) / (2 * rows + n_lam)
        sigma_mu = (mu_aff / mu) ** 3 * mu if mu > 0 else 0.0
        # corrector
        r_az_lam = sigma_mu - lam * z_lam - dl * dzl
        r_lam_c = -r_lam + r_az_lam / lam
        dnu, dw = _newton(factor, B["g0"] + sigma_mu * B["ge"] + mismatch + R_lam.T @ (r_lam_c * inv_lam), A["g_y"],
                          B["y0"] + sigma_mu * B["ye"], A["yy"], r_eq)
        Cs = passes.map(_pass_c, Q, w, nu, dw_aff, dnu_aff, dw, dnu, sigma_mu, what=f"pass C of iteration {iteration}",
                        with_state=False)
        dl = (r_lam_c - R_lam @ dw) * inv_lam
        dzl = (r_az_lam - z_lam * dl) / lam
        step = min(1.0, 0.995 * min(Cs["min_ratio"], _ratio(((lam, dl), (z_lam, dzl)))))
        short_steps = short_steps + 1 if step <= STALL_STEP else 0
        if short_steps >= STALL_STEPS:  # the iterate no longer moves: more passes would not change it
            status = "stalled"
            break
        last = (w, nu, dw_aff, dnu_aff, dw, dnu, sigma_mu, step)
        nu += step * dnu
        lam = np.maximum(lam + step * dl, 1e-300)
        z_lam = z_lam + step * dzl
        w = w + step * dw
    if best["states"] is not None and (status != "optimal" or best["merit"] < max(gap, residual)):
        passes.states = best["states"]
        w, nu, lam, gap, residual = (best[key] for key in ("w", "nu", "lam", "gap", "residual"))
    # the w of the last pass A: its hinge terms (at b = -nu) are the ones the gap above measured
    w = _feasible(problem, w, live)
    mu_signed = np.zeros(problem.n_constraints)
    if n_lam:
        mu_signed[live] = lam[:n_lam // 2] - lam[n_lam // 2:]
    certificate, mu_signed = certify_distributed(problem, passes, w, -nu, mu_signed, live, gap_tol)
    optimal = certificate.holds
    return Solution(
        solver="dask_ipm", status="optimal" if optimal else ("inaccurate" if status == "optimal" else status),
        converged=optimal, intercept=float(-nu), mu=mu_signed, constraint_value=problem.U @ w,
        primal_objective=certificate.primal_objective, dual_objective=certificate.dual_objective,
        alpha=np.zeros(0), coef=w, w_norm_sq=float(w @ w), n_iter=iteration, solve_time=time.perf_counter() - start,
        backend_status=status, certificate=certificate,
        info={"passes": passes.n_passes, "chunks": len(passes.blocks), "ipm_gap": gap, "ipm_residual": residual,
              "alpha": "kept on the workers, not collected"})


def _feasible(problem, w, live):
    r"""The smallest move of :math:`w` inside :math:`\operatorname{span}\{u_j\}` that makes every live row hold."""
    violated = np.zeros(problem.n_constraints, dtype=bool)
    for _ in range(5):  # a move for some rows may push others out: add them and move again
        values = problem.U @ w
        round_off = 1e-12 * problem.constraint_norms * float(np.linalg.norm(w))
        now = live & (np.abs(values) > problem.epsilon + round_off)
        if not now.any():
            break
        violated |= now
        U_V = problem.U[violated]
        target = np.clip(values[violated], -problem.epsilon, problem.epsilon)
        change, *_ = np.linalg.lstsq(U_V @ U_V.T, values[violated] - target, rcond=None)
        w = w - U_V.T @ change
    return w


def certify_distributed(problem: DaskLinearFermProblem, passes: _Passes, w, b, mu, live, gap_tol=None):
    r"""The certificate of :mod:`fairerm.solvers._certificate`, recomputed from the chunks in one pass.

    Primal :math:`P = \tfrac12\|w\|^2 + \sum_i c_i(1 - y_i(\langle w,x_i\rangle + b))_+` on the raw rows.
    Dual: :math:`\alpha` clipped to the box and made to satisfy :math:`y^\top\alpha = 0` by scaling the
    class with the larger sum down (:math:`\alpha_i \leftarrow \alpha_i S_-/S_+` on :math:`y_i = +1` when
    :math:`S_+ > S_-`; it stays in the box), then :math:`D = -\tfrac12\|w(\alpha,\mu)\|^2 + \mathbf 1^\top\alpha
    - \epsilon\|\mu\|_1`, with :math:`\mu` the least-squares fit of :math:`\sum_i\alpha_iy_ix_i` on the
    :math:`u_j` when :math:`\epsilon = 0` (the best :math:`\mu` for that :math:`\alpha`). Weak duality:
    :math:`D \le P^\star \le P`. Returns the certificate and :math:`\mu`.
    """
    from ._certificate import DEFAULT_GAP_TOL, _relative

    stats = passes.map(_pass_certificate, w, float(b), what="the certificate pass", with_state=False)
    s_pos, s_neg = stats["s_pos"], stats["s_neg"]
    if s_pos > s_neg:
        g, total = (s_neg / s_pos) * stats["g_pos"] - stats["g_neg"], 2.0 * s_neg
    else:
        g, total = stats["g_pos"] - (s_pos / s_neg if s_neg > 0 else 0.0) * stats["g_neg"], 2.0 * s_pos
    U = problem.U
    if problem.epsilon == 0.0 and live.any():
        mu = np.zeros(problem.n_constraints)
        mu[live] = np.linalg.lstsq(U[live].T, g, rcond=None)[0]
    w_dual = g - U.T @ mu
    primal = 0.5 * float(w @ w) + stats["hinge"]
    dual = -0.5 * float(w_dual @ w_dual) + total - problem.epsilon * float(np.abs(mu).sum())
    values = U[live] @ w
    violation = float(np.max(np.abs(values) - problem.epsilon, initial=0.0))
    w_scale = max(float(np.linalg.norm(w)), 1e-6 * np.sqrt(2.0 * problem.upper_sum))
    violation_tol = 1e-9 * max(float(np.max(problem.constraint_norms, initial=0.0)) * w_scale, problem.epsilon,
                               np.finfo(float).tiny)
    certificate = Certificate(primal_objective=primal, dual_objective=dual, duality_gap=primal - dual,
                              relative_gap=_relative(primal, dual), max_violation=max(violation, 0.0),
                              gap_tol=DEFAULT_GAP_TOL if gap_tol is None else float(gap_tol),
                              violation_tol=violation_tol)
    return certificate, mu
