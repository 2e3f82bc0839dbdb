r"""FERM written plainly in cvxpy: the readable statement every fast path is tested against.

* Linear FERM, the primal of :mod:`fairerm.problem` verbatim (variables :math:`w, b, \xi`);
  the multipliers :math:`\alpha, \mu` are read from the constraints' dual values.
* Kernel FERM, the dual in :math:`(\alpha, \mu)` (:mod:`fairerm.problem`), with the quadratic form
  written through a factor :math:`K = R R^\top` so that cvxpy sees a sum of squares:

  .. math::

      \min_{\alpha,\mu}\; \tfrac12 \big\|R^\top (y\circ\alpha - C^{u\top}\mu)\big\|^2
      - \mathbf 1^\top\alpha + \epsilon\|\mu\|_1
      \quad\text{s.t.}\quad 0\le\alpha\le c,\; y^\top\alpha = 0.

  Expanding the square gives exactly :math:`\tfrac12\alpha^\top Q\alpha - \mu^\top B^\top\alpha
  + \tfrac12\mu^\top M\mu` of the dual.

Any installed cvxpy solver can be chosen with ``cvxpy_solver=``; the default is CLARABEL (an
interior-point method, accurate to ~1e-8).
"""

from __future__ import annotations

import time

import numpy as np

from ..exceptions import FairermValueError, SolverError, SolverNotInstalledError
from ..problem import KernelFermProblem, LinearFermProblem, optimal_intercept
from ._constraint_space import live_constraints
from ._dense_kernel import dense_gram_factor
from ._solution import BackendResult

__all__ = ["solve_linear", "solve_kernel"]


def _import_cvxpy():
    try:
        import cvxpy as cp
    except ImportError as exc:  # pragma: no cover - cvxpy is a hard dependency
        raise SolverNotInstalledError("solver='cvxpy' needs cvxpy: pip install cvxpy") from exc
    return cp


#: CLARABEL's thresholds of its infeasibility certificates (defaults 1e-8), set below round-off for the
#: one re-solve of :func:`_solve` after a false claim of infeasibility.
CLARABEL_NO_INFEASIBILITY = {"tol_infeas_abs": 1e-300, "tol_infeas_rel": 1e-300}


def _solve(problem, cvxpy_solver: str | None, verbose: bool, **options):
    cp = _import_cvxpy()
    solver = cvxpy_solver or ("CLARABEL" if "CLARABEL" in cp.installed_solvers() else None)
    try:
        problem.solve(solver=solver, verbose=verbose, **options)
    except (TypeError, ValueError) as exc:  # an option the cvxpy solver does not know
        raise FairermValueError(f"solver_options: the cvxpy solver {solver!r} refused {sorted(options)}: {exc}") from exc
    except cp.error.SolverError as exc:
        raise SolverError(f"cvxpy solver {solver!r} failed: {exc}. Try another cvxpy_solver or solver='osqp'.") from exc
    status = problem.status
    claims = ("infeasible", "unbounded", "infeasible_inaccurate", "unbounded_inaccurate")
    if status in claims and solver == "CLARABEL" and not set(options) & set(CLARABEL_NO_INFEASIBILITY):
        # FERM is always feasible (w = 0, xi = 1) and bounded below, so a certificate of infeasibility is
        # round-off (measured on 200 x 6 rows of size 1e6, C = 1, eps = 1e-3, at all three scalings of
        # solve_linear): re-solve once with the detection off; the front door's certificate judges the result.
        try:
            problem.solve(solver=solver, verbose=verbose, **options, **CLARABEL_NO_INFEASIBILITY)
        except cp.error.SolverError as exc:
            raise SolverError(f"cvxpy solver {solver!r} failed: {exc}. Try another cvxpy_solver or solver='osqp'.") from exc
        status = problem.status
    if status in claims or problem.value is None:
        # The FERM problem is always feasible (w = 0, xi = 1) and bounded below by 0.
        raise SolverError(f"cvxpy solver {solver!r} returned status {status!r} on a feasible, bounded problem.")
    return status, solver


def solve_linear(
    problem: LinearFermProblem, *, warm_start=None, cvxpy_solver: str | None = None, verbose: bool = False,
    **options
) -> BackendResult:
    r"""Solve linear FERM in its primal form with cvxpy.

    The problem is solved for :math:`w' = t w` on :math:`X / t` with the objective times :math:`t^2`
    (same minimiser, margins and constraint values). :math:`t` first balances the feature size
    :math:`|X|` (wants :math:`t \approx |X|`) against the hinge weight :math:`C t^2` (wants
    :math:`t \approx 1/\sqrt C`): their geometric mean. If the solver fails there, :math:`t = 1`
    and :math:`t = |X|` are tried. Unscaled, CLARABEL failed on :math:`|X| \sim 10^6` with
    :math:`C = 10^{-6}` and returned a 2000x suboptimal "optimal" point for :math:`|X| \sim 10^6`,
    :math:`C = 0.1`; scaled, it failed on integer-valued :math:`|X| \sim 10^6` with :math:`C = 10^6`.
    Dense :math:`X` is then tried centred (the intercept absorbs the shift).
    """
    x_size = problem.feature_size
    c_size = float(np.max(problem.upper, initial=0.0))
    scales = [float(np.sqrt(x_size / np.sqrt(c_size))) if x_size > 0 and c_size > 0 else 1.0, 1.0, x_size or 1.0]
    attempts = [(scale, False) for scale in dict.fromkeys(scales)]
    if isinstance(problem.X, np.ndarray):  # last resort, dense X only (centring sparse X would densify it)
        attempts += [(scales[0], True)]
    for attempt, (scale, centre) in enumerate(attempts):
        try:
            return _solve_linear_scaled(problem, scale, cvxpy_solver, verbose, centre=centre, **options)
        except SolverError:
            if attempt == len(attempts) - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _solve_linear_scaled(problem: LinearFermProblem, scale: float, cvxpy_solver: str | None, verbose: bool,
                         centre: bool = False, **options) -> BackendResult:
    cp = _import_cvxpy()
    n, d = problem.X.shape
    w = cp.Variable(d)
    b = cp.Variable()
    xi = cp.Variable(n)
    # w' = scale w on X / scale, objective times scale^2 (see solve_linear_cvxpy). With centre, X is centred:
    # <w, x_i - m> + b' with b' = b + <w, m> is the same problem (U is fixed, the intercept free), and
    # columns of size 1e6 with a tiny spread (constant ones: the slow fuzz suite's example, which CLARABEL
    # called infeasible at every scaling) no longer drown the intercept.
    shift = np.asarray(problem.X.mean(axis=0)).ravel() if centre else np.zeros(d)
    scores = ((problem.X - shift) / scale if shift.any() else problem.X / scale) @ w + b
    margin = cp.multiply(problem.y, scores) >= 1 - xi
    # Rows u_j = 0 (e.g. data already projected) hold for every w; interior-point solvers can
    # misreport such degenerate rows as infeasible, so they are left out (their mu_j is 0).
    U = problem.U
    live = live_constraints(problem)
    constraints = [margin, xi >= 0]
    if live.any():
        offset = problem.constraint_offset[live]
        upper_side = (U[live] / scale) @ w <= problem.epsilon - offset
        lower_side = (U[live] / scale) @ w >= -problem.epsilon - offset
        constraints += [upper_side, lower_side]
    objective = cp.Minimize(0.5 * cp.sum_squares(w) + (scale**2 * problem.upper) @ xi)
    qp = cp.Problem(objective, constraints)
    start = time.perf_counter()
    status, used = _solve(qp, cvxpy_solver, verbose, **options)
    elapsed = time.perf_counter() - start
    coef = np.asarray(w.value, dtype=float) / scale
    intercept = float(b.value) - float(shift @ coef)
    alpha = np.clip(np.asarray(margin.dual_value, dtype=float) / scale**2, 0.0, problem.upper)
    mu = np.zeros(problem.n_constraints)
    if live.any():
        mu[live] = (np.asarray(upper_side.dual_value, dtype=float)
                    - np.asarray(lower_side.dual_value, dtype=float)) / scale**2
    return BackendResult(alpha=alpha, mu=mu, intercept=intercept, coef=coef, status=status,
                         converged=status == "optimal", n_iter=int(qp.solver_stats.num_iters or 0),
                         info={"cvxpy_solver": used, "scale": scale, "seconds": elapsed})


def solve_kernel(
    problem: KernelFermProblem, *, warm_start=None, cvxpy_solver: str | None = None, verbose: bool = False,
    **options
) -> BackendResult:
    """Solve kernel FERM in its dual form :math:`(\\alpha, \\mu)` with cvxpy (intercept: the optimal one for :math:`w`)."""
    cp = _import_cvxpy()
    n = problem.n_samples
    k = problem.n_constraints
    R = dense_gram_factor(problem, "cvxpy")
    Cu = problem.constraint_weights
    alpha = cp.Variable(n)
    mu = cp.Variable(k)
    beta = cp.multiply(problem.y, alpha) - Cu.T @ mu
    objective = cp.Minimize(0.5 * cp.sum_squares(R.T @ beta) - cp.sum(alpha) + problem.epsilon * cp.norm1(mu)
                            - problem.constraint_offset @ mu)
    qp = cp.Problem(objective, [alpha >= 0, alpha <= problem.upper, problem.y @ alpha == 0])
    status, used = _solve(qp, cvxpy_solver, verbose, **options)
    alpha_value = np.clip(np.asarray(alpha.value, dtype=float), 0.0, problem.upper)
    mu_value = np.asarray(mu.value, dtype=float).reshape(k)
    scores = problem.K @ problem.expansion(alpha_value, mu_value)
    return BackendResult(alpha=alpha_value, mu=mu_value, intercept=optimal_intercept(scores, problem.y, problem.upper),
                         status=status, converged=status == "optimal", n_iter=int(qp.solver_stats.num_iters or 0),
                         info={"cvxpy_solver": used, "factor_rank": R.shape[1]})
