"""The result object every FERM solver returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import largest_magnitude
from ..problem import LinearFermProblem, dual_objective, hinge_primal_objective

__all__ = ["Solution", "linear_solution", "enforce_linear_feasibility"]


@dataclass
class Solution:
    """Solution of a FERM problem (see :mod:`fairerm.problem`).

    Attributes
    ----------
    solver : str
        Name of the solver that produced it (``"cvxpy"``, ``"osqp"``, ``"exact"``, ...).
    status : str
        The solver's own status string (e.g. ``"optimal"``, ``"solved"``, ``"max_iter_reached"``).
    converged : bool
        Whether the solver met its tolerance. A solution with ``converged=False`` is the last
        iterate; callers warn with the status.
    intercept : float
        :math:`b`.
    alpha : ndarray (n,) or None
        Multipliers of the margin constraints (dual variables), when the solver has them.
    mu : ndarray (k,)
        Multipliers of the fairness constraints, signed: :math:`\\mu_j > 0` iff
        :math:`\\langle w, u_j\\rangle = +\\epsilon` is active.
    coef : ndarray (d,) or None
        Primal weight vector :math:`w` (linear problems).
    expansion_coef : ndarray (n,) or None
        :math:`\\beta = y\\circ\\alpha - C^{u\\top}\\mu`, so :math:`w = \\sum_i\\beta_i\\phi(x_i)` (kernel problems).
    constraint_value : ndarray (k,)
        :math:`\\langle w, u_j \\rangle` computed from the returned solution.
    primal_objective, dual_objective : float
        Objective values (``dual_objective`` is NaN when the solver has no dual).
    n_iter : int
    solve_time : float
        Seconds spent in the solver.
    info : dict
        Anything else a solver reports (e.g. number of inner SVM solves, residuals).
    """

    solver: str
    status: str
    converged: bool
    intercept: float
    mu: np.ndarray
    constraint_value: np.ndarray
    primal_objective: float
    alpha: np.ndarray | None = None
    coef: np.ndarray | None = None
    expansion_coef: np.ndarray | None = None
    dual_objective: float = float("nan")
    n_iter: int = 0
    solve_time: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def duality_gap(self) -> float:
        """Primal minus dual objective (non-negative up to solver accuracy)."""
        return self.primal_objective - self.dual_objective


def linear_solution(problem: LinearFermProblem, coef: np.ndarray, intercept: float, alpha: np.ndarray,
                    mu: np.ndarray, **report) -> Solution:
    r"""Assemble the :class:`Solution` of a linear problem from its primal and dual variables.

    The constraint value and the primal objective come from ``coef``; the dual objective from
    :math:`w(\alpha,\mu) = \sum_i (\alpha_i y_i - (C^{u\top}\mu)_i) x_i`. ``report`` holds
    ``solver``, ``status``, ``converged``, ``n_iter``, ``solve_time`` and ``info``.
    """
    decision = np.asarray(problem.X @ coef).ravel() + intercept
    w_from_duals = np.asarray((alpha * problem.y - problem.constraint_weights.T @ mu) @ problem.X).ravel()
    return Solution(
        intercept=float(intercept),
        mu=mu,
        constraint_value=problem.U @ coef,
        primal_objective=hinge_primal_objective(coef @ coef, decision, problem.y, problem.upper),
        dual_objective=dual_objective(w_from_duals @ w_from_duals, alpha, mu, problem.epsilon),
        alpha=alpha,
        coef=coef,
        **report,
    )


def enforce_linear_feasibility(problem: LinearFermProblem, solution: Solution) -> Solution:
    r"""Move :math:`w` along :math:`\operatorname{span}\{u_j\}` so that :math:`|\langle w,u_j\rangle| \le \epsilon` holds.

    Solvers meet the constraint only to their tolerance, and on badly scaled data (features of
    size :math:`10^6`, fuzzing found it) an interior-point "optimal" point violated it by far more.
    The smallest change of :math:`w` that fixes the violated rows :math:`V` is
    :math:`\Delta w = -U_V^\top (U_V U_V^\top)^{+} (U_V w - \sigma_V\epsilon)` (the intercept does not
    enter the constraint and is kept). Violations at round-off level are left alone;
    ``info["feasibility_correction"]`` records whether a correction was made.
    """
    if solution.coef is None or problem.n_constraints == 0:
        return solution
    values = problem.U @ solution.coef
    row_norms = np.linalg.norm(problem.U, axis=1)
    round_off = 1e-12 * row_norms * np.linalg.norm(solution.coef)
    # u_j at rounding-noise level (groups already balanced) is u_j = 0, not a direction to act on.
    live = row_norms > 1e-12 * max(1.0, largest_magnitude(problem.X))
    violated = live & (np.abs(values) > problem.epsilon + round_off)
    solution.info["feasibility_correction"] = bool(violated.any())
    if not violated.any():
        return solution
    U_V = problem.U[violated]
    target = np.sign(values[violated]) * problem.epsilon
    step, *_ = np.linalg.lstsq(U_V @ U_V.T, values[violated] - target, rcond=None)
    coef = solution.coef - U_V.T @ step
    info = dict(solution.info)
    return linear_solution(problem, coef, solution.intercept, solution.alpha, solution.mu, solver=solution.solver,
                           status=solution.status, converged=solution.converged, n_iter=solution.n_iter,
                           solve_time=solution.solve_time, info=info)
