"""Solvers for the FERM problems: one module per way of solving, one front door.

=========  ==============================================  ============================
name       linear FERM                                     kernel FERM
=========  ==============================================  ============================
cvxpy      the primal, written plainly (any cvxpy solver)  the dual in (alpha, mu)
osqp       the primal, sparse, warm-startable              the primal on K = R R^T
dcd        dual coordinate descent, then an exact          --
           working-set step (interior point, d x d
           Newton systems) with the unpenalised
           intercept (large n; Numba; memory ~ data)
exact      --                                              SMO on the projected kernel
                                                           (eps = 0) or active-set over
                                                           the fairness constraints
=========  ==============================================  ============================

:func:`solve_linear` and :func:`solve_kernel` dispatch by name; ``"auto"`` picks the fastest
exact method available for the problem.
"""

from __future__ import annotations

import numpy as np

from ..exceptions import FairermValueError, SolverError
from ..kernels import KernelSpec, check_memory, gram_symmetric
from ..problem import KernelFermProblem, LinearFermProblem
from ._solution import Solution, enforce_linear_feasibility
from .ridge import FairRidgeSolution, solve_fair_ridge

__all__ = ["Solution", "solve_linear", "solve_kernel", "LINEAR_SOLVERS", "KERNEL_SOLVERS", "DCD_MIN_SAMPLES"]

LINEAR_SOLVERS: tuple[str, ...] = ("auto", "osqp", "cvxpy", "dcd")

#: From this many samples on ``solve_linear(solver="auto")`` uses ``"dcd"`` (dual coordinate descent
#: and the exact interior-point working-set step). Measured (best of 2, C = 0.1, shared 2-core
#: machine), CLARABEL vs DCD: Adult n = 1,000: 0.046 s vs 0.013 s; n = 4,000: 0.19 s vs 0.033 s;
#: synthetic 4,000 x 100: 3.1 s vs 0.08 s; same objective to 1e-9 (eps = 0 and 0.05). Below 1,000
#: rows both take milliseconds and the interior-point solve of the whole problem is the simplest.
DCD_MIN_SAMPLES: int = 1_000
KERNEL_SOLVERS: tuple[str, ...] = ("auto", "exact", "osqp", "cvxpy")


def _check_solver(solver: str, allowed: tuple[str, ...], what: str) -> str:
    if not isinstance(solver, str) or solver not in allowed:
        raise FairermValueError(f"solver must be one of {list(allowed)} for {what}; got {solver!r}.")
    return solver


def solve_linear(problem: LinearFermProblem, solver: str = "auto", *, warm_start: Solution | None = None,
                 **options) -> Solution:
    """Solve linear FERM with the named solver.

    ``"auto"`` is ``"cvxpy"`` with the interior-point solver CLARABEL for small problems: on Adult
    (10,000 x 107) it needs 18 iterations, where OSQP's ADMM needs 16,600 for the same accuracy.
    From :data:`DCD_MIN_SAMPLES` (1,000) samples on (dense ``X``), ``"auto"`` is ``"dcd"``: dual
    coordinate descent finished by an exact working-set step with the unpenalised intercept
    (:mod:`fairerm.solvers.linear_dcd`), whose memory is the data plus :math:`O(n)`.
    """
    solver = _check_solver(solver, LINEAR_SOLVERS, "linear FERM")
    solution = _solve_linear(problem, solver, warm_start, options)
    return enforce_linear_feasibility(problem, solution)


def _solve_linear(problem: LinearFermProblem, solver: str, warm_start: Solution | None, options: dict) -> Solution:
    if solver == "auto" and problem.n_samples >= DCD_MIN_SAMPLES and isinstance(problem.X, np.ndarray):
        solver = "dcd"
    if solver == "dcd":
        from .linear_dcd import solve_linear_dcd

        if not isinstance(problem.X, np.ndarray):
            raise FairermValueError("solver='dcd' needs a dense X (numpy array); got "
                                    f"{type(problem.X).__name__}. Use solver='osqp' for sparse X.")
        options = {key: value for key, value in options.items() if key not in ("eps_abs", "eps_rel", "max_iter")}
        return solve_linear_dcd(problem, warm_start=warm_start, **options)
    if solver == "osqp":
        from .osqp_ import OSQPLinearFerm

        return OSQPLinearFerm(problem, **options).solve(warm_start=warm_start)
    from .cvxpy_ import solve_linear_cvxpy

    options = {key: value for key, value in options.items() if key not in ("eps_abs", "eps_rel", "max_iter")}
    if solver == "auto" and isinstance(problem.X, np.ndarray):
        try:
            return solve_linear_cvxpy(problem, **options)
        except SolverError:
            # CLARABEL can fail outright on badly scaled data (features ~1e6); dual coordinate descent
            # then returns its iterate with its own status (the estimator warns if it did not converge).
            from .linear_dcd import solve_linear_dcd

            try:
                return solve_linear_dcd(problem, warm_start=warm_start)
            except SolverError:
                # DCD's exact last step uses CLARABEL too; OSQP (ADMM) always returns an iterate
                # with its status.
                from .osqp_ import OSQPLinearFerm

                return OSQPLinearFerm(problem).solve()
    return solve_linear_cvxpy(problem, **options)


def dense_kernel_problem(X: np.ndarray, y: np.ndarray, kernel: KernelSpec, upper: np.ndarray,
                         constraint_weights: np.ndarray, epsilon: float, *, solver: str) -> KernelFermProblem:
    """Build the dense Gram matrix for the QP solvers, refusing sizes that do not fit in memory."""
    n = X.shape[0]
    # The QP solvers hold K, its eigenvectors and their own copies: about 4 n^2 doubles.
    check_memory(4 * 8.0 * n * n, f"solver={solver!r} on {n} samples (dense kernel QP, ~4 n^2 doubles)",
                 "Use solver='exact' (kernel rows on demand), a subsample, or an approximate kernel.")
    K = np.array(X, dtype=np.float64) if kernel.is_precomputed else gram_symmetric(X, kernel)
    return KernelFermProblem(K, y, upper, constraint_weights, epsilon)


def solve_kernel(
    X: np.ndarray,
    y: np.ndarray,
    kernel: KernelSpec,
    *,
    upper: np.ndarray,
    constraint_weights: np.ndarray,
    epsilon: float,
    solver: str = "auto",
    **options,
) -> Solution:
    """Solve kernel FERM with the named solver (``"auto"``: ``"exact"``).

    ``X`` is the (n, d) training data, or the (n, n) kernel when ``kernel`` is precomputed.
    Options go to the chosen solver (``tol``, ``max_iter``, ``cache_size``, ``warm_start`` for
    ``"exact"``; OSQP settings for ``"osqp"``; ``cvxpy_solver`` for ``"cvxpy"``).
    """
    solver = _check_solver(solver, KERNEL_SOLVERS, "kernel FERM")
    if solver in ("auto", "exact"):
        from .exact import solve_kernel_exact

        return solve_kernel_exact(X, y, kernel, upper=upper, constraint_weights=constraint_weights,
                                  epsilon=epsilon, **options)
    problem = dense_kernel_problem(X, y, kernel, upper, constraint_weights, epsilon, solver=solver)
    if solver == "osqp":
        from .osqp_ import solve_kernel_osqp

        return solve_kernel_osqp(problem, **options)
    from .cvxpy_ import solve_kernel_cvxpy

    return solve_kernel_cvxpy(problem, **options)
