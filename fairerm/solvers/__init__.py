r"""Solvers for the FERM problems: one front door, one module per way of solving.

:func:`solve` takes a problem of :mod:`fairerm.problem` (:class:`~fairerm.problem.LinearFermProblem`
or :class:`~fairerm.problem.KernelFermProblem`), looks the backend up in the registry
(:mod:`fairerm.solvers._registry`, which also maps ``tol`` and ``max_iter`` to each backend's own
options), runs it, and makes of its raw output a :class:`Solution` whose status is a certificate:

1. the returned :math:`w` is moved within :math:`\operatorname{span}\{u_j\}` until
   :math:`|\langle w,u_j\rangle|\le\epsilon` holds exactly (:mod:`._constraint_space`);
2. the primal and dual objectives are recomputed from the returned variables and the data
   (:mod:`._certificate`): ``status == "optimal"`` exactly when the relative duality gap is at most
   ``gap_tol`` and no constraint is violated. A backend's own claim is kept as ``backend_status``;
3. a backend that claims convergence the certificate does not confirm is restarted, warm, with a
   ten times tighter tolerance (at most ``max_refinements`` times); then ``"auto"`` moves on to the
   next backend and records why in ``Solution.fallbacks``.

=========  ==============================================  ============================
name       linear FERM                                     kernel FERM
=========  ==============================================  ============================
cvxpy      the primal, written plainly (any cvxpy solver)  the dual in (alpha, mu)
osqp       the primal, sparse                              the primal on K = R R^T
dcd        dual coordinate descent, then an exact          --
           working-set step (interior point, d x d
           Newton systems) with the unpenalised
           intercept (large n; Numba; memory ~ data;
           dense or CSR rows)
exact      --                                              SMO on the projected kernel
                                                           (eps = 0) or the active set over
                                                           the fairness constraints
=========  ==============================================  ============================

A :class:`~fairerm.problem_dask.DaskLinearFermProblem` (dask arrays that no process holds) goes to
:mod:`fairerm.solvers.dask_ipm`, the interior-point method whose passes are maps over the chunks and tree
sums of :math:`d\times d` pieces, certified from the chunks.

``"auto"``: linear FERM tries dcd first from :data:`DCD_MIN_SAMPLES` rows when the problem is well
conditioned (:data:`DCD_MAX_CONDITIONING`), else cvxpy (CLARABEL), then dcd, then osqp (dense or sparse
``X`` alike; the QP statements only while their constraint matrix has at most :math:`2\cdot 10^7` entries,
counted as :math:`n(d+2)` dense or :math:`\text{nnz} + 2n` sparse); kernel FERM
tries exact, then (up to 1,000 rows, where the dense QP is affordable) osqp and cvxpy.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from ..exceptions import FairermValueError, SolverError
from ..problem import KernelFermProblem, LinearFermProblem
from ._certificate import DEFAULT_GAP_TOL, certify
from ._constraint_space import RowSpace, enforce_feasibility, live_constraints, noise_floor, orthonormal_basis
from ._registry import BACKENDS, backend, tighter, translate_options
from ._solution import BackendResult, Certificate, Fallback, Solution
from ._working_memory import keep_working_memory, release_or_keep
from .ridge import FairRidgeSolution, solve_fair_ridge

__all__ = [
    "solve",
    "solve_linear",
    "solve_kernel",
    "auto_chain",
    "available_solvers",
    "Solution",
    "Certificate",
    "Fallback",
    "LINEAR_SOLVERS",
    "KERNEL_SOLVERS",
    "DCD_MIN_SAMPLES",
    "DCD_MAX_CONDITIONING",
    "DEFAULT_GAP_TOL",
    "FairRidgeSolution",
    "solve_fair_ridge",
    "orthonormal_basis",
    "noise_floor",
    "live_constraints",
    "RowSpace",
    "keep_working_memory",
]

LINEAR_SOLVERS: tuple[str, ...] = ("auto", "osqp", "cvxpy", "dcd")
KERNEL_SOLVERS: tuple[str, ...] = ("auto", "exact", "osqp", "cvxpy")

#: From this many samples on ``solve(..., solver="auto")`` tries ``"dcd"`` first for linear FERM (dual
#: coordinate descent and the exact interior-point working-set step). Measured (best of 2, C = 0.1,
#: shared 2-core machine), CLARABEL vs DCD: Adult n = 1,000: 0.046 s vs 0.013 s; n = 4,000: 0.19 s
#: vs 0.033 s; synthetic 4,000 x 100: 3.1 s vs 0.08 s; same objective to 1e-9 (eps = 0 and 0.05).
#: Below 1,000 rows both take milliseconds and the interior-point solve of the whole problem is the simplest.
DCD_MIN_SAMPLES: int = 1_000

#: Above this conditioning :math:`\kappa = \max_i c_i\|x_i\|^2` (:attr:`LinearFermProblem.conditioning`)
#: ``"auto"`` tries the interior-point statement first: DCD's speed depends on :math:`\kappa` only (it is
#: invariant under rescaling the features), and measured on 5,000 x 20 rows it takes 0.09 s at
#: :math:`\kappa = 60` but 1.7-3.0 s at :math:`5\cdot 10^4`-:math:`6\cdot 10^5`, where CLARABEL takes 0.3-0.4 s;
#: at :math:`\kappa \ge 6\cdot 10^8` (features of size :math:`10^4` and more, C = 1) its iterations do not converge
#: and only the exact step's primal form (:mod:`fairerm.solvers._svm_primal_ipm`) certifies it (the trust issue's
#: 3,000 x 6 rows at scale :math:`10^6`: 0.6 s against CLARABEL's 0.4 s), when the working set fits.
DCD_MAX_CONDITIONING: float = 1e4

#: Largest problems the general-purpose QP statements are tried on as fallbacks of ``"auto"``.
_QP_FALLBACK_MAX_ENTRIES = 20_000_000
_KERNEL_QP_FALLBACK_MAX_SAMPLES = 1_000


def available_solvers(kind: str) -> list[str]:
    """The installed backends for ``kind`` (``"linear"`` or ``"kernel"``)."""
    return [name for name, spec in BACKENDS.items() if kind in spec.kinds and spec.available()]


def auto_chain(problem: LinearFermProblem | KernelFermProblem) -> list[str]:
    """The backends ``solver="auto"`` tries on ``problem``, in order."""
    n = problem.n_samples
    if problem.kind == "linear":
        dcd_first = n >= DCD_MIN_SAMPLES and problem.conditioning <= DCD_MAX_CONDITIONING
        chain = ["dcd", "cvxpy", "osqp"] if dcd_first else ["cvxpy", "dcd", "osqp"]
        X = problem.X
        entries = X.nnz + 2 * n if sp.issparse(X) else n * (problem.n_features + 2)  # the QP's constraint matrix
        if entries > _QP_FALLBACK_MAX_ENTRIES:
            chain = ["dcd"]
    else:
        chain = ["exact"] + (["osqp", "cvxpy"] if n <= _KERNEL_QP_FALLBACK_MAX_SAMPLES else [])
    return [name for name in chain if name in available_solvers(problem.kind)]


#: A kernel QP backend's multiplier at most this share of its box is interior-point / ADMM noise.
DUAL_NOISE_RTOL = 1e-8


def _without_dual_noise(problem: KernelFermProblem, raw: BackendResult, name: str) -> BackendResult:
    r"""A general-purpose QP's :math:`\alpha` with the noise below ``DUAL_NOISE_RTOL`` times the box set to 0.

    Interior-point and ADMM backends return every :math:`\alpha_i > 0`; the expansion of :math:`w` would hold
    every training point. The zeroing happens here, before the feasibility step and the certificate, so
    that the model certified is the one the estimator stores (zeroed after them, it moved
    :math:`\langle w, u_j\rangle` by 5 times the violation tolerance, uncertified). The SMO's own
    multipliers are exact zeros already.
    """
    noise = (raw.alpha > 0.0) & (raw.alpha <= DUAL_NOISE_RTOL * problem.upper)
    if name == "exact" or not np.any(noise):
        return raw
    alpha = raw.alpha.copy()
    alpha[noise] = 0.0
    return replace(raw, alpha=alpha)


def _finish(problem, raw: BackendResult, name: str, gap_tol: float) -> Solution:
    """Feasibility, then the certificate, then the status, from a backend's raw output."""
    if problem.kind == "linear":
        primal = raw.coef if raw.coef is not None else problem.weight_from_duals(raw.alpha, raw.mu)
        scores = problem.scores(primal)
        convex = True
    else:
        if raw.expansion_coef is not None:
            primal, scores = raw.expansion_coef, problem.kernel_times(raw.expansion_coef)
        else:
            raw = _without_dual_noise(problem, raw, name)
            primal, scores = problem.expansion(raw.alpha, raw.mu), problem.scores_from_duals(raw.alpha, raw.mu)
        convex = problem.convex
    primal, mu, intercept, scores, corrected = enforce_feasibility(problem, primal, raw.mu, raw.intercept, scores)
    certificate, w_norm_sq = certify(problem, primal, intercept, raw.alpha, mu, scores, gap_tol=gap_tol,
                                     convex=convex)
    if certificate.holds:
        status = "optimal" if convex else "stationary_point"
    else:
        status = "inaccurate" if raw.converged else raw.status
    values = problem.U @ primal if problem.kind == "linear" else problem.constraint_weights @ scores
    values = values + problem.constraint_offset  # the constrained quantity <w, u_j> + c_j
    return Solution(
        solver=name, status=status, converged=status == "optimal", intercept=float(intercept), mu=mu,
        constraint_value=values, primal_objective=certificate.primal_objective,
        dual_objective=certificate.dual_objective, alpha=raw.alpha,
        coef=primal if problem.kind == "linear" else None,
        expansion_coef=primal if problem.kind == "kernel" else None,
        w_norm_sq=w_norm_sq, training_decision_values=scores + intercept, n_iter=raw.n_iter,
        backend_status=raw.status, certificate=certificate,
        info={**raw.info, "feasibility_correction": corrected}, warm_state=raw.warm_state,
    )


def _check_solver(solver, kind: str) -> str:
    allowed = LINEAR_SOLVERS if kind == "linear" else KERNEL_SOLVERS
    if not isinstance(solver, str) or solver not in allowed:
        raise FairermValueError(f"solver must be one of {list(allowed)} for {kind} FERM; got {solver!r}.")
    return solver


def _refinable(name: str, options: dict) -> bool:
    return name != "cvxpy" or options.get("cvxpy_solver", "CLARABEL") == "CLARABEL"


def solve(
    problem: LinearFermProblem | KernelFermProblem,
    solver: str = "auto",
    *,
    warm_start: Solution | None = None,
    tol: float | None = None,
    max_iter: int | None = None,
    options: dict | None = None,
    gap_tol: float = DEFAULT_GAP_TOL,
    max_refinements: int = 2,
) -> Solution:
    """Solve a FERM problem with the named backend (or ``"auto"``) and certify the result.

    Parameters
    ----------
    problem : LinearFermProblem or KernelFermProblem
    solver : str
        ``"auto"`` or a backend name (:data:`LINEAR_SOLVERS`, :data:`KERNEL_SOLVERS`).
    warm_start : Solution, optional
        A previous solution (of the same data, e.g. the neighbour on an epsilon path); each backend
        reuses what it can and checks that it fits.
    tol, max_iter : optional
        The backend's stopping tolerance and iteration budget, in its own words (table in
        :mod:`fairerm.solvers._registry`); ``None``: the backend's default.
    options : dict, optional
        The backend's own options (``solver_options`` of the estimators). With ``"auto"``, which may
        run several backends, a mapping ``{backend name: its options}`` instead.
    gap_tol : float
        Relative duality gap up to which a result is certified optimal.
    max_refinements : int
        Restarts with a tighter tolerance when a backend's claimed convergence is not certified.

    Returns
    -------
    Solution

    Raises
    ------
    FairermValueError
        Unknown solver or options.
    SolverError
        A named backend failed outright (``"auto"`` then tries the next one).
    """
    start = time.perf_counter()
    if getattr(problem, "distributed", False):
        return _solve_distributed(problem, solver, tol, max_iter, options, gap_tol)
    solver = _check_solver(solver, problem.kind)
    if solver == "auto":
        chain = auto_chain(problem)
        per_backend = dict(options or {})
        stray = [key for key, value in per_backend.items() if key not in BACKENDS or not isinstance(value, dict)]
        if stray:
            raise FairermValueError(f"solver_options {sorted(map(str, stray))} need a named solver: solver='auto' may "
                                    f"run {chain}; choose one of them.")
    else:
        backend(solver)
        chain = [solver]
        per_backend = {solver: options}
    fallbacks: list[Fallback] = []
    best: Solution | None = None
    n_iter = 0
    for name in chain:
        kwargs = translate_options(name, tol, max_iter, per_backend.get(name))
        previous, solution, refinements = warm_start, None, 0
        while True:
            try:
                raw = backend(name).entry(problem.kind)(problem, warm_start=previous, **kwargs)
            except SolverError as exc:
                if solver != "auto":
                    raise
                fallbacks.append(Fallback(name, f"failed: {exc}"))
                break
            n_iter += raw.n_iter
            solution = _finish(problem, raw, name, gap_tol)
            solution.refinements = refinements
            if (solution.certificate.holds or not raw.converged or refinements >= max_refinements
                    or not _refinable(name, kwargs)):
                break
            kwargs, previous, refinements = tighter(name, kwargs), solution, refinements + 1
        if solution is None:
            continue
        if best is None or solution.certificate.relative_gap < best.certificate.relative_gap:
            best = solution
        if solution.certificate.holds:
            best = solution
            break
        stopped_by_user_budget = max_iter is not None and not raw.converged
        if solver != "auto" or stopped_by_user_budget:
            break
        fallbacks.append(Fallback(name, f"not certified (status {solution.status!r}): "
                                        f"{solution.certificate.describe()}"))
    if best is None:
        reasons = "; ".join(f"{f.solver}: {f.reason}" for f in fallbacks)
        raise SolverError(f"every solver failed on this problem ({reasons}).")
    best.fallbacks = [f for f in fallbacks if f.solver != best.solver]
    best.n_iter = n_iter
    best.solve_time = time.perf_counter() - start
    # a backend's working memory (the SMO row cache) is not kept by the model, except until the end of
    # a keep_working_memory() block (a path of fits on the same data)
    release_or_keep(best.warm_state)
    return best


def _solve_distributed(problem, solver, tol, max_iter, options, gap_tol) -> Solution:
    """A :class:`~fairerm.problem_dask.DaskLinearFermProblem`: the distributed interior point (``"auto"``)."""
    if solver not in ("auto", "dask_ipm"):
        raise FairermValueError(f"solver={solver!r} needs the data in memory; on dask arrays use solver='auto' (the "
                                "distributed interior-point method, fairerm.solvers.dask_ipm).")
    options = dict(options or {})
    options = dict(options.get("dask_ipm", {})) if solver == "auto" else options
    unknown = sorted(set(options) - {"callback", "rank_rtol"})
    if unknown:
        raise FairermValueError(f"solver_options {unknown} are not options of the distributed solver; it accepts "
                                "['callback', 'rank_rtol'].")
    from .dask_ipm import solve_distributed

    return solve_distributed(problem, tol=tol, max_iter=max_iter, gap_tol=gap_tol, **options)


def solve_linear(problem: LinearFermProblem, solver: str = "auto", *, warm_start: Solution | None = None,
                 **options) -> Solution:
    """:func:`solve` for a linear problem, with the backend's options as keywords (``tol``,
    ``max_iter`` and ``gap_tol`` are the front door's)."""
    return _solve_with_keywords(problem, solver, warm_start, options)


def solve_kernel(problem: KernelFermProblem, solver: str = "auto", *, warm_start: Solution | None = None,
                 **options) -> Solution:
    """:func:`solve` for a kernel problem, with the backend's options as keywords (``tol``,
    ``max_iter`` and ``gap_tol`` are the front door's)."""
    return _solve_with_keywords(problem, solver, warm_start, options)


def _solve_with_keywords(problem, solver, warm_start, options: dict) -> Solution:
    common = {key: options.pop(key) for key in ("tol", "max_iter", "gap_tol") if key in options}
    gap_tol = common.pop("gap_tol", DEFAULT_GAP_TOL)
    return solve(problem, solver, warm_start=warm_start, options=options or None, gap_tol=gap_tol, **common)
