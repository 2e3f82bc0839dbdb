r"""Kernel FERM by SMO: one SVM on the projected kernel (eps = 0), or the fairness active set (eps > 0).

Notation of :mod:`fairerm.problem`; :math:`K C^{u\top}` (``problem.constraint_columns``) is the
(n, k) matrix whose column :math:`j` is :math:`k_{u_j}[i] = \langle\phi(x_i), u_j\rangle`, and
:math:`M = C^u K C^{u\top}` the Gram matrix of the :math:`u_j`.

**epsilon = 0** (zero offsets; with offsets :math:`c^u` the equalities :math:`\langle w,u_j\rangle = -c^u_j` are one
equality solve of the kind below). For fixed :math:`\alpha` the dual is a convex quadratic in :math:`\mu` minimised
by :math:`\mu^\star = M^{+} (K C^{u\top})^\top (y\circ\alpha)`; substituting it leaves the standard
SVM dual on the projected kernel

.. math:: K' = K - K C^{u\top} M^{+} C^u K = K - Z Z^\top, \qquad Z = K C^{u\top} V_r D_r^{-1/2},

(:math:`M = V D V^\top`, rank :math:`r`): the kernel of the feature maps projected orthogonally to
:math:`\operatorname{span}\{u_j\}`. One SVM solve with a rank-:math:`r` correction, exact.

**epsilon > 0.** The primal-dual active-set method of :mod:`fairerm.solvers._active_set`: for a
guessed active set :math:`A` with signs :math:`\sigma_A`, the equalities
:math:`\langle w,u_j\rangle = \sigma_j\epsilon - c^u_j` (:math:`j\in A`; :math:`c^u` the problem's constraint
offsets, zero for the linear-loss constraint) split :math:`w` into a fixed part
:math:`\sum_{j\in A}t_ju_j` (:math:`M_{AA}t = \sigma_A\epsilon - c^u_A`) and a free part orthogonal to
:math:`u_A`, which is a standard SVM on the projected kernel with shifted margins
(:func:`_equality_solve`): one warm-started SVM solve per step (SMO moves its state and its row cache
to the step's new low-rank part in :math:`O(nr)` per row). A cold fit starts the active set from the
constraints that an unconstrained solve to a :data:`GUESS_TOL_FACTOR` times looser tolerance violates
(:func:`_guess_active_set`) instead of solving the unconstrained SVM to the fit's tolerance first.

Beware the tempting shortcut (the standard dual on :math:`K` plus
:math:`\sum_i\alpha_i y_i k_u[i] = 0`): it is not this problem, it amounts to an extra unregularised
feature :math:`k_u(x)` (``docs/maths.rst``). Here :math:`\mu` stays a variable.

References
----------
M. Donini, L. Oneto, S. Ben-David, J. Shawe-Taylor, M. Pontil. "Empirical Risk Minimization
Under Fairness Constraints". NeurIPS 2018. arXiv:1802.08626.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from ..problem import KernelFermProblem
from ._active_set import _consistent, fairness_active_set
from ._certificate import project_dual
from ._constraint_space import gram_basis, live_constraints, noise_floor
from ._solution import BackendResult
from .smo import SMOResult, check_row_cache, solve_svm_dual

__all__ = ["solve_kernel", "SMOWarmState"]


@dataclass(frozen=True)
class SMOWarmState:
    r"""What a later solve of the same data restarts from: the last SMO state and its low-rank correction.

    ``data`` holds what the problem computed from the data and a later problem on the same data
    reuses (:meth:`~fairerm.problem.KernelFermProblem.adopt_cache`): the constraint columns, the
    kernel diagonal and the certificate's last scores :math:`K(y\circ\alpha)` (O(n) arrays each),
    filled in as the problem computes them, and the certificate's kernel rows
    (:class:`~fairerm.kernels._row_store.KernelRowStore`, working memory: cleared by :meth:`release`).
    """

    result: SMOResult
    low_rank: np.ndarray | None
    fingerprint: str
    data: dict | None = None

    def release(self) -> None:
        """Drop the SMO row cache and the certificate's kernel rows (the front door calls it when it returns
        its solution, or at the end of a :func:`~fairerm.solvers.keep_working_memory` block)."""
        self.result.row_cache = None
        store = (self.data or {}).get("rows")
        if store is not None:
            store.clear()


@dataclass
class _Step:
    """One SVM solve of the sequence: its multipliers and dual variables."""

    mu: np.ndarray
    alpha: np.ndarray
    intercept: float


def _to_stderr(message: str) -> None:
    print(f"[fairerm] {message}", file=sys.stderr, flush=True)


class _WarmStartedSMO:
    """The sequence of SVM solves of one fit, each warm-started from the previous one's full state."""

    def __init__(self, problem: KernelFermProblem, smo_options: dict, warm_state: SMOWarmState | None,
                 alpha0: np.ndarray | None, kernel_rows: tuple | None = None):
        self.problem = problem
        self.kernel_rows = kernel_rows
        self.smo_options = smo_options
        self.state = (warm_state.result, warm_state.low_rank) if warm_state is not None else None
        self.alpha0 = alpha0
        self.n_solves = self.n_iter = 0
        self.all_converged = True

    def solve(self, p: np.ndarray, Z: np.ndarray | None, tol: float | None = None) -> SMOResult:
        r"""One SVM solve on :math:`K - ZZ^\top` with linear term ``p`` (to ``tol``, default the fit's)."""
        problem = self.problem
        options = dict(self.smo_options)
        if tol is not None:
            options["tol"] = tol
        if self.state is not None and np.all(self.state[0].alpha <= problem.upper):
            options["warm_start"] = self.state[0]  # SMO moves its state and its row cache to the new Z in O(nr)
        elif self.alpha0 is not None and np.all(self.alpha0 <= problem.upper):
            options["alpha0"] = self.alpha0
        result = solve_svm_dual(problem.X, problem.y, problem.kernel, p=p, upper=problem.upper, low_rank=Z,
                                kernel_rows=self.kernel_rows, **options)
        self.kernel_rows = None  # they became the first solve's cache
        self.state = (result, Z)
        self.n_solves += 1
        self.n_iter += result.n_iter
        self.all_converged &= result.converged
        return result


def _equality_solve(smo: _WarmStartedSMO, M: np.ndarray, active: list, signs: np.ndarray, epsilon: float,
                    rank_rtol: float, floor: float) -> _Step | None:
    r"""Solve with the constraints in ``active`` as equalities :math:`\langle w,u_j\rangle = \sigma_j\epsilon`.

    Write :math:`w = w_\perp + \sum_{j\in A} t_j u_j` with :math:`w_\perp \perp u_A`; :math:`w_\perp`
    solves an SVM on the kernel projected orthogonally to :math:`u_A` whose margins are shifted by
    :math:`o_i = \langle\sum_j t_j u_j, \phi(x_i)\rangle`: linear term :math:`p = -\mathbf 1 + y\circ o`.
    The multipliers follow from :math:`w = \sum_i\alpha_i y_i\phi(x_i) - \sum_{j\in A}\mu_j u_j`:
    :math:`\mu_A = M_{AA}^{+}(K C^{u\top})_{:A}^\top(y\circ\alpha) - t`. ``None`` when the equalities are
    inconsistent.
    """
    problem = smo.problem
    y, KCt = problem.y, problem.constraint_columns
    mu = np.zeros(M.shape[0])
    if not active:
        result = smo.solve(-np.ones_like(y), None)
        return _Step(mu, result.alpha.copy(), result.intercept)
    A = np.asarray(active)
    V, D = gram_basis(M[np.ix_(A, A)], floor, rank_rtol)
    rhs = signs * epsilon - problem.constraint_offset[A]
    t = V @ ((V.T @ rhs) / D) if D.size else np.zeros(A.size)
    if np.linalg.norm(M[np.ix_(A, A)] @ t - rhs) > 1e-9 * (1.0 + np.linalg.norm(rhs)):
        return None
    KCt_A = KCt[:, A]
    offsets = KCt_A @ t
    Z = KCt_A @ (V / np.sqrt(D)) if D.size else None
    p = -1.0 + y * offsets
    result = smo.solve(p, Z)
    y_alpha = y * result.alpha
    if D.size:
        mu[A] = V @ ((V.T @ (KCt_A.T @ y_alpha)) / D) - t
    return _Step(mu, result.alpha.copy(), result.intercept)


#: A cold fit with eps > 0 guesses its active constraints from an unconstrained solve to this many times the
#: fit's tol (0: no guess, the active set starts from the unconstrained solve to tol)
GUESS_TOL_FACTOR = 100.0


def _guess_active_set(smo: _WarmStartedSMO, M: np.ndarray, live: list, epsilon: float, offset: np.ndarray,
                      loose_tol: float) -> dict:
    r"""The constraints an unconstrained solve to ``loose_tol`` violates, with their signs: the active set's start.

    Without a warm start the active set first solves the unconstrained SVM to the fit's tolerance, only to
    learn which constraints it violates, and then solves again with them held. A loose solve tells the same
    far sooner, and the constrained solve warm-starts from it. The guess only chooses where the active set
    starts: a constraint wrongly guessed active has a multiplier of the wrong sign and leaves the set
    (one more warm-started solve), one wrongly guessed inactive is found violated and joins it.
    """
    result = smo.solve(-np.ones_like(smo.problem.y), None, tol=loose_tol)
    values = smo.problem.constraint_columns.T @ (smo.problem.y * result.alpha) + offset
    guess: dict = {}
    for j in sorted(live, key=lambda j: -abs(values[j])):
        if abs(values[j]) > epsilon:
            trial = dict(guess)
            trial[j] = float(np.sign(values[j]))
            if _consistent(M, trial, epsilon, offset):
                guess = trial
    return guess


def solve_kernel(
    problem: KernelFermProblem,
    *,
    warm_start=None,
    tol: float = 1e-3,
    max_iter: int | None = None,
    cache_size: float = 200.0,
    shrinking: bool = True,
    rank_rtol: float = 1e-10,
    verbose: bool = False,
) -> BackendResult:
    """Solve kernel FERM with SMO: projected kernel for eps = 0, active set over the constraints for eps > 0.

    Parameters
    ----------
    problem : KernelFermProblem
    warm_start : Solution, optional
        A previous solution; its SMO state is reused when it comes from the same data (same
        :attr:`~fairerm.problem.KernelFermProblem.fingerprint`), its ``alpha`` otherwise.
    tol, max_iter, cache_size, shrinking
        Passed to :func:`fairerm.solvers.smo.solve_svm_dual` (``max_iter`` per SVM solve). When the
        kernel rows of the constraint's points fit in ``cache_size`` MB too, they are computed first
        (:meth:`~fairerm.problem.KernelFermProblem.constraint_rows`): :math:`KC^{u\top}` is their
        weighted sum and the first SVM solve starts with them in its row cache (the same memory: the
        rows are computed into the cache's storage); otherwise :math:`KC^{u\top}` comes from :func:`fairerm.kernels.kernel_matvec`.
    rank_rtol : float
        Relative eigenvalue threshold for the rank of :math:`M` (dependent constraint rows).
    verbose : bool
        Report the SMO's progress to ``problem.progress`` (or standard error).
    """
    y, epsilon = problem.y, problem.epsilon
    n_rows = check_row_cache(problem.n_samples, float(cache_size))  # before the O(n n_+) kernel columns
    smo_options = dict(tol=tol, max_iter=max_iter, cache_size=cache_size, shrinking=shrinking)
    if verbose:
        smo_options["progress"] = problem.progress or _to_stderr
    warm_state = getattr(warm_start, "warm_state", None)
    if not isinstance(warm_state, SMOWarmState) or warm_state.fingerprint != problem.fingerprint:
        warm_state = None
    elif warm_state.data is not None:  # same data: no kernel column, diagonal or score computed twice
        problem.adopt_cache(warm_state.data)
    alpha0 = None
    if warm_start is not None and warm_start.alpha is not None and warm_start.alpha.shape == y.shape:
        # a hint: projected onto this problem's {0 <= alpha <= c, y'alpha = 0} (other labels, weights or C: the
        # previous alpha as it was made the SMO refuse the start, y'alpha = -5.7); a no-op on the same problem
        alpha0 = project_dual(np.asarray(warm_start.alpha, dtype=np.float64), y, problem.upper)
    # The kernel rows of the constraint's points, when they fit in the cache budget: k_u is their weighted
    # sum, and SMO's row cache starts with them (each kernel value is computed once).
    K_rows = problem.constraint_rows(8.0 * n_rows * problem.n_samples, total_rows=n_rows)
    kernel_rows = (problem.constraint_support, K_rows) if K_rows is not None else None
    M = problem.constraint_gram
    floor = noise_floor(problem.constraint_weights, problem.feature_size)
    V, D = gram_basis(M, floor, rank_rtol)
    smo = _WarmStartedSMO(problem, smo_options, warm_state, alpha0, kernel_rows)
    info = {"constraint_rank": int(D.size)}
    offset = problem.constraint_offset
    if D.size == 0 or (epsilon == 0.0 and not np.any(offset)):
        # Rank-r update of the kernel; mu minimised out in closed form.
        KCt = problem.constraint_columns
        Z = KCt @ (V / np.sqrt(D)) if D.size else None
        result = smo.solve(-np.ones_like(y), Z)
        mu = (V / D) @ (V.T @ (KCt.T @ (y * result.alpha))) if D.size else np.zeros(problem.n_constraints)
        alpha, intercept = result.alpha, result.intercept
        status, converged = result.status, result.converged
        info.update(n_svm_solves=1, method="projected_kernel")
    elif epsilon == 0.0:
        # <w, u_j> = -c_j on every live row: one equality solve (fixed part from the offsets, projected kernel)
        live = [int(j) for j in np.flatnonzero(live_constraints(problem))]
        step = _equality_solve(smo, M, live, np.zeros(len(live)), epsilon, rank_rtol, floor)
        set_converged = step is not None
        if step is None:  # inconsistent offsets on dependent rows: the problem is infeasible
            step = _equality_solve(smo, M, [], np.zeros(0), epsilon, rank_rtol, floor)
        mu, alpha, intercept = step.mu, step.alpha, step.intercept
        converged = smo.all_converged and set_converged
        status = "optimal" if converged else ("active_set_not_converged" if not set_converged else "max_iter_reached")
        info.update(n_svm_solves=smo.n_solves, method="offset_equalities")
    else:
        initial = {}
        if warm_start is not None and warm_start.mu is not None and len(warm_start.mu) == problem.n_constraints:
            initial = {j: float(np.sign(m)) for j, m in enumerate(np.asarray(warm_start.mu)) if m != 0.0}
        live = [int(j) for j in np.flatnonzero(live_constraints(problem))]
        KCt = problem.constraint_columns
        if not initial and warm_state is None and GUESS_TOL_FACTOR:
            initial = _guess_active_set(smo, M, live, epsilon, offset, GUESS_TOL_FACTOR * tol)
        step, set_converged = fairness_active_set(
            lambda active, signs: _equality_solve(smo, M, active, signs, epsilon, rank_rtol, floor),
            lambda step: KCt.T @ (y * step.alpha) - M @ step.mu,
            M, live, epsilon, initial=initial, ctol=1e-6 * max(1.0, epsilon), offset=offset)
        if step is None:  # the first set was inconsistent: solve without constraints as the iterate
            step = _equality_solve(smo, M, [], np.zeros(0), epsilon, rank_rtol, floor)
        mu, alpha, intercept = step.mu, step.alpha, step.intercept
        converged = smo.all_converged and set_converged
        status = "optimal" if converged else ("active_set_not_converged" if not set_converged else "max_iter_reached")
        info.update(n_svm_solves=smo.n_solves, method="active_set")
    last_result, last_Z = smo.state
    return BackendResult(
        alpha=np.asarray(alpha, dtype=float), mu=np.asarray(mu, dtype=float), intercept=float(intercept),
        status=status, converged=bool(converged), n_iter=int(smo.n_iter), info=info,
        warm_state=SMOWarmState(last_result, last_Z, problem.fingerprint, problem.shared_cache()),
    )
