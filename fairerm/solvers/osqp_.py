r"""FERM handed to OSQP directly: sparse matrices, set up once, warm-started along paths.

OSQP solves :math:`\min \tfrac12 z^\top P z + q^\top z` s.t. :math:`l \le A z \le u`.

**Linear FERM** (primal, :math:`z = (w, b, \xi)`):
:math:`P = \operatorname{diag}(I_d, 0, 0_n)`, :math:`q = (0, 0, c)`, and the rows of :math:`A`

* :math:`[\operatorname{diag}(y) X,\; y,\; I_n]\, z \ge 1` (margins; multipliers :math:`\alpha`),
* :math:`[0, 0, I_n]\, z \ge 0` (slacks),
* :math:`-\epsilon \le [U, 0, 0]\, z \le \epsilon` (fairness; multipliers :math:`\mu`).

**Kernel FERM**: the same primal on the empirical kernel map :math:`R` (:math:`K = RR^\top`,
:mod:`fairerm.solvers._dense_kernel`): the rows of :math:`R` are feature vectors whose scalar
products are the kernel, every :math:`u_j = (C^u R)_j` lies in their span, and the kernel problem *is*
linear FERM on :math:`R`. Its multipliers give the expansion :math:`\beta = y\circ\alpha - C^{u\top}\mu`.
We measured why not the dual itself: OSQP's ADMM on the dual in :math:`(\alpha,\mu^\pm)` stalls
(200,000 iterations without "solved") whenever :math:`K` is rank-deficient, as the linear and
polynomial kernels are; the primal on :math:`R` converges in a few thousand iterations for every
kernel we tried, to the cvxpy solution within 1e-5.

OSQP's dual variable :math:`\lambda` is positive on an active upper bound and negative on an
active lower bound, so :math:`\alpha = -\lambda_{\text{margin}}` and :math:`\mu = \lambda_{\text{fair}}`.
``polish=True`` (default) refines the ADMM iterate by an equality-constrained solve on the
guessed active set, which gives solutions accurate to ~1e-9 when it succeeds.

FERM is always feasible (:math:`w = 0`, :math:`b = 0`, :math:`\xi = 1`) and bounded below (by 0), so
OSQP's infeasibility detection can only be wrong here, and with its default thresholds it was: when
:math:`\epsilon = 0` pins :math:`w` to the orthogonal complement of the constraint space (one feature
whose constraint vector is non-zero: :math:`w = 0`), what is left is a linear programme in
:math:`(b, \xi)`, and OSQP declared it "primal infeasible" after 50 iterations on 35 of 60 such draws
(n = 1000; ``tests/test_trust.py``). The thresholds ``eps_prim_inf`` and ``eps_dual_inf`` are therefore
set far below any attainable residual ratio, which switches the detection off; if a user's own
thresholds trigger it anyway, the solve is repeated once with ours before the claim is reported.
"""

from __future__ import annotations

import inspect

import numpy as np
import scipy.sparse as sp

from ..exceptions import FairermValueError, SolverError, SolverNotInstalledError
from ..problem import KernelFermProblem, LinearFermProblem
from ._dense_kernel import dense_gram_factor
from ._solution import BackendResult

__all__ = ["solve_linear", "solve_kernel", "DEFAULT_OSQP_SETTINGS"]

DEFAULT_OSQP_SETTINGS = {
    "eps_abs": 1e-7,
    "eps_rel": 1e-7,
    "max_iter": 200_000,
    "polishing": True,
    "polish_refine_iter": 10,
    # The problem is always feasible and bounded: infeasibility "certificates" are numerical artefacts.
    "eps_prim_inf": 1e-15,
    "eps_dual_inf": 1e-15,
    "verbose": False,
}

_NO_INFEASIBILITY_DETECTION = {"eps_prim_inf": DEFAULT_OSQP_SETTINGS["eps_prim_inf"],
                               "eps_dual_inf": DEFAULT_OSQP_SETTINGS["eps_dual_inf"]}


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


def _claims_infeasible(result) -> bool:
    return "infeasible" in str(result.info.status).lower()


def _check_result(result, what: str) -> tuple[str, bool]:
    status = str(result.info.status)
    lowered = status.lower()
    if _claims_infeasible(result) or "non_cvx" in lowered or "non-convex" in lowered:
        raise SolverError(f"OSQP returned status {status!r} on {what}, which is always feasible and convex.")
    if result.x is None or not np.all(np.isfinite(result.x)):
        raise SolverError(f"OSQP returned no finite solution on {what} (status {status!r}).")
    return status, lowered.startswith("solved") and "inaccurate" not in lowered


def _matrices(problem: LinearFermProblem):
    """:math:`P, q, A, l, u` of the primal in :math:`z = (w, b, \\xi)` (module docstring)."""
    n, d = problem.X.shape
    k = problem.n_constraints
    X = sp.csr_matrix(problem.X)
    y = problem.y
    eye_n = sp.identity(n, format="csr")
    margin_rows = sp.hstack([sp.diags(y) @ X, sp.csr_matrix(y.reshape(-1, 1)), eye_n])
    slack_rows = sp.hstack([sp.csr_matrix((n, d + 1)), eye_n])
    fair_rows = sp.hstack([sp.csr_matrix(problem.U), sp.csr_matrix((k, n + 1))])
    A = sp.vstack([margin_rows, slack_rows, fair_rows], format="csc")
    P = sp.block_diag([sp.identity(d), sp.csc_matrix((n + 1, n + 1))], format="csc")
    q = np.concatenate([np.zeros(d + 1), problem.upper])
    offset = problem.constraint_offset
    lower = np.concatenate([np.ones(n), np.zeros(n), -problem.epsilon - offset])
    upper = np.concatenate([np.full(2 * n, np.inf), problem.epsilon - offset])
    return P, q, A, lower, upper


def _solve_primal(problem: LinearFermProblem, warm_coef, warm_intercept, warm_alpha, warm_mu, settings: dict,
                  what: str):
    """Set up OSQP on the primal, warm-start it from a previous point if given, and solve."""
    n = problem.X.shape[0]
    result = _run(problem, warm_coef, warm_intercept, warm_alpha, warm_mu, settings)
    if _claims_infeasible(result) and any(settings.get(key, value) != value
                                          for key, value in _NO_INFEASIBILITY_DETECTION.items()):
        result = _run(problem, warm_coef, warm_intercept, warm_alpha, warm_mu,
                      {**settings, **_NO_INFEASIBILITY_DETECTION})
    status, converged = _check_result(result, what)
    alpha = np.clip(-result.y[:n], 0.0, problem.upper)
    mu = np.array(result.y[2 * n:])
    return result, status, converged, alpha, mu


def _run(problem: LinearFermProblem, warm_coef, warm_intercept, warm_alpha, warm_mu, settings: dict):
    osqp = _import_osqp()
    n = problem.X.shape[0]
    solver = osqp.OSQP()
    try:
        solver.setup(*_matrices(problem), **_settings(settings))
    except ValueError as exc:  # unknown settings
        raise FairermValueError(f"solver_options: OSQP refused {sorted(settings)}: {exc}") from exc
    if warm_coef is not None:
        decision = np.asarray(problem.X @ warm_coef).ravel() + warm_intercept
        slack = np.maximum(0.0, 1.0 - problem.y * decision)
        y0 = None if warm_alpha is None else np.concatenate([-warm_alpha, np.zeros(n), warm_mu])
        solver.warm_start(x=np.concatenate([warm_coef, [warm_intercept], slack]), y=y0)
    takes_raise_error = "raise_error" in inspect.signature(solver.solve).parameters
    return solver.solve(raise_error=False) if takes_raise_error else solver.solve()


def solve_linear(problem: LinearFermProblem, *, warm_start=None, **settings) -> BackendResult:
    """Solve linear FERM with OSQP (settings override :data:`DEFAULT_OSQP_SETTINGS`)."""
    n, d = problem.X.shape
    warm = (None, 0.0, None, None)
    if warm_start is not None and warm_start.coef is not None and warm_start.coef.shape == (d,):
        same_n = warm_start.alpha is not None and warm_start.alpha.shape == (n,)
        warm = (warm_start.coef, warm_start.intercept, warm_start.alpha if same_n else None,
                warm_start.mu if same_n else None)
    result, status, converged, alpha, mu = _solve_primal(problem, *warm, settings, "linear FERM")
    return BackendResult(alpha=alpha, mu=mu, intercept=float(result.x[d]), coef=np.array(result.x[:d]),
                         status=status, converged=converged, n_iter=int(result.info.iter),
                         info={"polish_status": str(getattr(result.info, "status_polish", ""))})


def solve_kernel(problem: KernelFermProblem, *, warm_start=None, **settings) -> BackendResult:
    """Solve kernel FERM with OSQP: linear FERM on the empirical kernel map :math:`R` (module docstring)."""
    R = dense_gram_factor(problem, "osqp")
    linear = LinearFermProblem(R, problem.y, problem.upper, problem.constraint_weights, problem.epsilon,
                               problem.constraint_offset)
    warm = (None, 0.0, None, None)
    if (warm_start is not None and warm_start.expansion_coef is not None
            and warm_start.expansion_coef.shape == (problem.n_samples,)):
        warm = (R.T @ warm_start.expansion_coef, warm_start.intercept, warm_start.alpha, warm_start.mu)
    result, status, converged, alpha, mu = _solve_primal(linear, *warm, settings, "kernel FERM")
    # The intercept of the primal solve is exact for its w; the expansion comes from the multipliers.
    return BackendResult(alpha=alpha, mu=mu, intercept=float(result.x[R.shape[1]]), status=status,
                         converged=converged, n_iter=int(result.info.iter),
                         info={"factor_rank": R.shape[1],
                               "polish_status": str(getattr(result.info, "status_polish", ""))})
