r"""FERM handed to OSQP directly: sparse matrices, set up once, warm-started along paths.

OSQP solves :math:`\min \tfrac12 z^\top P z + q^\top z` s.t. :math:`l \le A z \le u`.

**Linear FERM** (primal, :math:`z = (w, b, \xi)`):
:math:`P = \operatorname{diag}(I_d, 0, 0_n)`, :math:`q = (0, 0, c)`, and the rows of :math:`A`

* :math:`[\operatorname{diag}(y) X,\; y,\; I_n]\, z \ge 1` (margins; multipliers :math:`\alpha`),
* :math:`[0, 0, I_n]\, z \ge 0` (slacks),
* :math:`-\epsilon \le [U, 0, 0]\, z \le \epsilon` (fairness; multipliers :math:`\mu`).

**Kernel FERM**: the same primal on the empirical kernel map :math:`R` (:math:`K = RR^\top`),
see :class:`OSQPKernelFerm` for why not the dual.

OSQP's dual variable :math:`\lambda` is positive on an active upper bound and negative on an
active lower bound, so :math:`\alpha = -\lambda_{\text{margin}}` and :math:`\mu = \lambda_{\text{fair}}`.
``polish=True`` (default) refines the ADMM iterate by an equality-constrained solve on the
guessed active set, which gives solutions accurate to ~1e-9 when it succeeds.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from ..exceptions import SolverError, SolverNotInstalledError
from ..problem import KernelFermProblem, LinearFermProblem
from ._solution import Solution, linear_solution
from .cvxpy_ import kernel_solution_from_duals

__all__ = ["OSQPLinearFerm", "OSQPKernelFerm", "solve_linear_osqp", "solve_kernel_osqp", "DEFAULT_OSQP_SETTINGS"]

def _solve_takes_raise_error() -> bool:
    try:
        import inspect

        import osqp

        return "raise_error" in inspect.signature(osqp.OSQP.solve).parameters
    except (ImportError, ValueError, TypeError):  # pragma: no cover
        return False


_SOLVE_TAKES_RAISE_ERROR = _solve_takes_raise_error()

DEFAULT_OSQP_SETTINGS = {
    "eps_abs": 1e-7,
    "eps_rel": 1e-7,
    "max_iter": 200_000,
    "polishing": True,
    "polish_refine_iter": 10,
    "verbose": False,
}


def _import_osqp():
    try:
        import osqp
    except ImportError as exc:  # pragma: no cover - osqp is a hard dependency
        raise SolverNotInstalledError("solver='osqp' needs osqp: pip install osqp") from exc
    return osqp


def _settings(options: dict) -> dict:
    settings = dict(DEFAULT_OSQP_SETTINGS)
    settings.update(options)
    # osqp < 1.0 called the polishing switch "polish".
    osqp = _import_osqp()
    if not hasattr(osqp, "SolverStatus") and "polishing" in settings:
        settings["polish"] = settings.pop("polishing")
    return settings


def _check_result(result, what: str) -> tuple[str, bool]:
    status = str(result.info.status)
    lowered = status.lower()
    if "infeasible" in lowered or "non_cvx" in lowered or "non-convex" in lowered:
        raise SolverError(f"OSQP returned status {status!r} on {what}, which is always feasible and convex.")
    if result.x is None or not np.all(np.isfinite(result.x)):
        raise SolverError(f"OSQP returned no finite solution on {what} (status {status!r}).")
    return status, lowered == "solved"


class OSQPLinearFerm:
    """Linear FERM set up once in OSQP; :meth:`solve` may change ``epsilon`` and warm-start.

    Parameters
    ----------
    problem : LinearFermProblem
    **settings
        OSQP settings overriding :data:`DEFAULT_OSQP_SETTINGS`.
    """

    def __init__(self, problem: LinearFermProblem, **settings):
        osqp = _import_osqp()
        self.problem = problem
        n, d = problem.X.shape
        k = problem.n_constraints
        self._dims = (n, d, k)
        X = sp.csr_matrix(problem.X)
        y = problem.y
        eye_n = sp.identity(n, format="csr")
        margin_rows = sp.hstack([sp.diags(y) @ X, sp.csr_matrix(y.reshape(-1, 1)), eye_n])
        slack_rows = sp.hstack([sp.csr_matrix((n, d + 1)), eye_n])
        fair_rows = sp.hstack([sp.csr_matrix(problem.U), sp.csr_matrix((k, n + 1))])
        A = sp.vstack([margin_rows, slack_rows, fair_rows], format="csc")
        P = sp.block_diag([sp.identity(d), sp.csc_matrix((n + 1, n + 1))], format="csc")
        q = np.concatenate([np.zeros(d + 1), problem.upper])
        self._l, self._u = self._bounds(problem.epsilon)
        self._solver = osqp.OSQP()
        self._solver.setup(P, q, A, self._l, self._u, **_settings(settings))

    def _bounds(self, epsilon: float) -> tuple[np.ndarray, np.ndarray]:
        n, _, k = self._dims
        lower = np.concatenate([np.ones(n), np.zeros(n), np.full(k, -epsilon)])
        upper = np.concatenate([np.full(2 * n, np.inf), np.full(k, epsilon)])
        return lower, upper

    def solve(self, epsilon: float | None = None, warm_start: Solution | None = None) -> Solution:
        problem = self.problem
        n, d, k = self._dims
        if epsilon is not None and epsilon != problem.epsilon:
            problem.epsilon = float(epsilon)
            self._l, self._u = self._bounds(problem.epsilon)
            self._solver.update(l=self._l, u=self._u)
        if warm_start is not None and warm_start.coef is not None:
            decision = np.asarray(problem.X @ warm_start.coef).ravel() + warm_start.intercept
            slack = np.maximum(0.0, 1.0 - problem.y * decision)
            x0 = np.concatenate([warm_start.coef, [warm_start.intercept], slack])
            y0 = None
            if warm_start.alpha is not None:
                y0 = np.concatenate([-warm_start.alpha, np.zeros(n), warm_start.mu])
            self._solver.warm_start(x=x0, y=y0)
        start = time.perf_counter()
        result = self._solver.solve(raise_error=False) if _SOLVE_TAKES_RAISE_ERROR else self._solver.solve()
        elapsed = time.perf_counter() - start
        status, converged = _check_result(result, "linear FERM")
        coef = np.array(result.x[:d])
        intercept = float(result.x[d])
        alpha = np.clip(-result.y[:n], 0.0, problem.upper)
        mu = np.array(result.y[2 * n:])
        return linear_solution(problem, coef, intercept, alpha, mu, solver="osqp", status=status,
                               converged=converged, n_iter=int(result.info.iter), solve_time=elapsed,
                               info={"polish_status": str(getattr(result.info, "status_polish", ""))})


class OSQPKernelFerm:
    r"""Kernel FERM set up once in OSQP; :meth:`solve` may change ``epsilon`` and warm-start.

    OSQP is handed the primal of the *empirical kernel map*: with :math:`K = R R^\top`
    (:func:`~fairerm.solvers.cvxpy_.gram_factor`, rank :math:`r`), the rows of :math:`R` are
    feature vectors whose scalar products are the kernel, every :math:`u_j = (C^u R)_j` lies in
    their span, and the kernel problem *is* linear FERM on :math:`R`. Its multipliers give the
    expansion :math:`\beta = y\circ\alpha - C^{u\top}\mu` of the dual (DESIGN.md 2.2).

    We measured why not the dual itself: OSQP's ADMM on the dual in :math:`(\alpha,\mu^\pm)`
    stalls (200,000 iterations without "solved") whenever :math:`K` is rank-deficient, as the
    linear and polynomial kernels are; the primal on :math:`R` converges in a few thousand
    iterations for every kernel we tried, to the cvxpy solution within 1e-5.
    """

    def __init__(self, problem: KernelFermProblem, **settings):
        from .cvxpy_ import gram_factor

        self.problem = problem
        self._factor = gram_factor(problem.K)
        self._linear = OSQPLinearFerm(
            LinearFermProblem(self._factor, problem.y, problem.upper, problem.constraint_weights, problem.epsilon),
            **settings,
        )

    def solve(self, epsilon: float | None = None, warm_start: Solution | None = None) -> Solution:
        problem = self.problem
        if epsilon is not None:
            problem.epsilon = float(epsilon)
        linear_warm = None
        if warm_start is not None and warm_start.alpha is not None and warm_start.expansion_coef is not None:
            linear_warm = Solution(
                solver="osqp", status=warm_start.status, converged=warm_start.converged,
                intercept=warm_start.intercept, mu=warm_start.mu, constraint_value=warm_start.constraint_value,
                primal_objective=warm_start.primal_objective, alpha=warm_start.alpha,
                coef=self._factor.T @ warm_start.expansion_coef,
            )
        linear = self._linear.solve(epsilon=problem.epsilon, warm_start=linear_warm)
        solution = kernel_solution_from_duals(
            problem, linear.alpha, linear.mu, "osqp", linear.status, linear.converged,
            n_iter=linear.n_iter, solve_time=linear.solve_time,
            info={"factor_rank": self._factor.shape[1], **linear.info},
        )
        # The intercept of the primal solve is exact for this w; keep it.
        solution.intercept = linear.intercept
        return solution


def solve_linear_osqp(problem: LinearFermProblem, **settings) -> Solution:
    """Solve linear FERM once with OSQP (see :class:`OSQPLinearFerm` for paths)."""
    return OSQPLinearFerm(problem, **settings).solve()


def solve_kernel_osqp(problem: KernelFermProblem, **settings) -> Solution:
    """Solve kernel FERM once with OSQP (see :class:`OSQPKernelFerm` for paths)."""
    return OSQPKernelFerm(problem, **settings).solve()
