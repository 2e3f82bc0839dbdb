r"""Exact fast paths for kernel FERM around an SVM solver (DESIGN.md 2.3).

Notation of :mod:`fairerm.problem`; :math:`K C^{u\top}` is the (n, k) matrix whose column
:math:`j` is :math:`k_{u_j}`, :math:`k_{u_j}[i] = \langle \phi(x_i), u_j\rangle`, and
:math:`M = C^u K C^{u\top}` the Gram matrix of the :math:`u_j`.

**epsilon = 0.** For fixed :math:`\alpha` the dual is a convex quadratic in :math:`\mu` minimised
by :math:`\mu^\star = M^{+} (K C^{u\top})^\top (y\circ\alpha)`; substituting it leaves the standard
SVM dual on the projected kernel

.. math:: K' = K - K C^{u\top} M^{+} C^u K = K - Z Z^\top, \qquad Z = K C^{u\top} V_r D_r^{-1/2},

(:math:`M = V D V^\top`, rank :math:`r`): the kernel of the feature maps projected orthogonally to
:math:`\operatorname{span}\{u_j\}`. One SVM solve with a rank-:math:`r` correction, exact.

**epsilon > 0.** For fixed :math:`\mu` the dual in :math:`\alpha` is a standard SVM dual with the
linear term :math:`p(\mu) = -\mathbf 1 - y\circ(K C^{u\top}\mu)`. The value function
:math:`\varphi(\mu) = \min_\alpha D(\alpha, \mu)` is convex, and by Danskin's theorem
:math:`\partial\varphi/\partial\mu_j = -\langle w(\mu), u_j\rangle + \epsilon\,\partial|\mu_j|`.
Rather than searching :math:`\mu` directly (a root search needs 10-30 SVM solves; we measured it),
we solve the primal by a *primal-dual active-set method* over the :math:`k` fairness constraints:
for a guessed active set :math:`A` with signs :math:`\sigma_A`, the constraints
:math:`\langle w,u_j\rangle = \sigma_j\epsilon` (:math:`j\in A`) split :math:`w` into a fixed part in
:math:`\operatorname{span}\{u_A\}` and a free part orthogonal to it, which is a standard SVM on the
projected kernel with shifted margins (:func:`_equality_solve`): *one* SVM solve. The KKT conditions
(:math:`\sigma_j\mu_j \ge 0` on :math:`A`, :math:`|\langle w,u_l\rangle|\le\epsilon` off :math:`A`) are then
checked and :math:`A` updated; the paper's case (one constraint) needs at most two solves, and
every problem of our tests (up to six constraints) at most six. A last step moves :math:`w` by a multiple of
the :math:`u_j` so that the returned model satisfies the constraint exactly.

Beware the tempting shortcut (standard dual on :math:`K` plus :math:`\sum_i\alpha_i y_i k_u[i] = 0`):
it is not this problem (DESIGN.md 2.3). Here :math:`\mu` stays a variable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from ..kernels import KernelSpec, kernel_diagonal, kernel_matvec
from ..problem import dual_objective, hinge_primal_objective, optimal_intercept
from ._solution import Solution
from .smo import SMOResult, solve_svm_dual

__all__ = ["solve_kernel_exact", "constraint_kernel_columns"]


def constraint_kernel_columns(X: np.ndarray, constraint_weights: np.ndarray, kernel: KernelSpec) -> np.ndarray:
    """:math:`K C^{u\\top}`, shape (n, k), by blocks (only the columns of points that enter :math:`C^u`)."""
    support = np.flatnonzero(np.any(constraint_weights != 0.0, axis=0))
    weights = constraint_weights[:, support].T
    if kernel.is_precomputed:
        return np.asarray(X[:, support] @ weights)
    return kernel_matvec(X, X[support], weights, kernel)


@dataclass
class _Evaluation:
    mu: np.ndarray
    alpha: np.ndarray
    intercept: float
    K_y_alpha: np.ndarray  # K (y * alpha)
    n_iter: int
    converged: bool


def _low_rank_product(Z: np.ndarray | None, v: np.ndarray) -> np.ndarray | float:
    return 0.0 if Z is None else Z @ (Z.T @ v)


def _rebase_warm_state(result: SMOResult, Z_old, Z_new, y: np.ndarray) -> SMOResult:
    r"""Carry a solver state from the kernel :math:`K - Z_{old}Z_{old}^\top` to :math:`K - Z_{new}Z_{new}^\top`.

    SMO warm-starts from :math:`\alpha`, :math:`Q\alpha` and :math:`\bar G = \sum_{j:\alpha_j = C_j} C_j Q_{:j}`;
    only the low-rank part of :math:`Q` changes, so both are updated in :math:`O(nr)`, without a
    single kernel row.
    """
    if Z_old is Z_new:
        return result
    ya = y * result.alpha
    at_upper = y * np.where(result.alpha >= result.upper, result.upper, 0.0)
    return replace(
        result,
        q_alpha=result.q_alpha + y * (_low_rank_product(Z_old, ya) - _low_rank_product(Z_new, ya)),
        g_bar=result.g_bar + y * (_low_rank_product(Z_old, at_upper) - _low_rank_product(Z_new, at_upper)),
    )


class _FairDualSearch:
    """SVM solves for the fair dual, each warm-started from the previous one's full state."""

    def __init__(self, X, y, kernel, upper, KCt, M, smo_options, warm_state=None, alpha0=None):
        self.X, self.y, self.kernel, self.upper = X, y, kernel, upper
        self.KCt, self.M = KCt, M
        self.smo_options = smo_options
        self.n_solves = 0
        self.n_iter = 0
        self.all_converged = True
        self.last: _Evaluation | None = None
        self.state = warm_state  # (SMOResult, Z) of the last solve
        self.alpha0 = alpha0

    def smo(self, p: np.ndarray, Z: np.ndarray | None) -> SMOResult:
        r"""One SVM solve on :math:`K - ZZ^\top` with linear term ``p``, warm-started."""
        options = dict(self.smo_options)
        if self.state is not None and np.all(self.state[0].alpha <= self.upper):
            options["warm_start"] = _rebase_warm_state(self.state[0], self.state[1], Z, self.y)
        elif self.alpha0 is not None and np.all(self.alpha0 <= self.upper):
            options["alpha0"] = self.alpha0
        res = solve_svm_dual(self.X, self.y, self.kernel, p=p, upper=self.upper, low_rank=Z, **options)
        self.state = (res, Z)
        self.n_solves += 1
        self.n_iter += res.n_iter
        self.all_converged &= res.converged
        return res

    def evaluate(self, mu: np.ndarray) -> _Evaluation:
        p = -1.0 - self.y * (self.KCt @ mu)
        res = self.smo(p, None)
        # G = Q alpha + p  =>  K (y * alpha) = y * (G - p)
        evaluation = _Evaluation(mu.copy(), res.alpha.copy(), res.intercept, self.y * (res.gradient - p),
                                 res.n_iter, res.converged)
        self.last = evaluation
        return evaluation

    def constraint_values(self, ev: _Evaluation) -> np.ndarray:
        """:math:`g(\\mu) = (K C^{u\\top})^\\top (y\\circ\\alpha) - M\\mu`."""
        return self.KCt.T @ (self.y * ev.alpha) - self.M @ ev.mu


def _equality_solve(search: "_FairDualSearch", active: list, signs: np.ndarray, epsilon: float,
                    rank_rtol: float):
    r"""Solve FERM with the constraints in ``active`` as equalities :math:`\langle w,u_j\rangle = \sigma_j\epsilon`.

    Write :math:`w = w_\perp + \sum_{j\in A} t_j u_j` with :math:`w_\perp \perp u_A`; the equalities
    fix :math:`M_{AA} t = \sigma_A\epsilon`, and :math:`w_\perp` solves an SVM on the kernel projected
    orthogonally to :math:`u_A` whose margins are shifted by :math:`o_i = \langle \textstyle\sum_j t_j u_j,
    \phi(x_i)\rangle`: linear term :math:`p = -\mathbf 1 + y\circ o`. The multipliers follow from
    :math:`w = \sum_i\alpha_i y_i\phi(x_i) - \sum_{j\in A}\mu_j u_j`:
    :math:`\mu_A = M_{AA}^{+}(K C^{u\top})_{:A}^\top(y\circ\alpha) - t`.

    Returns ``None`` when the equalities are inconsistent (dependent rows asked for values
    that their dependence forbids).
    """
    k = search.M.shape[0]
    mu = np.zeros(k)
    if not active:
        ev = search.evaluate(mu)
        return ev, mu
    A = np.asarray(active)
    M_AA = search.M[np.ix_(A, A)]
    eigval, eigvec = np.linalg.eigh(M_AA)
    keep = eigval > rank_rtol * max(float(eigval.max()), 1e-300)
    rhs = signs * epsilon
    V, D = eigvec[:, keep], eigval[keep]
    t = V @ ((V.T @ rhs) / D)
    if np.linalg.norm(M_AA @ t - rhs) > 1e-9 * (1.0 + np.linalg.norm(rhs)):
        return None
    KCt_A = search.KCt[:, A]
    offsets = KCt_A @ t
    Z = KCt_A @ (V / np.sqrt(D))
    p = -1.0 + search.y * offsets
    res = search.smo(p, Z)
    y_alpha = search.y * res.alpha
    mu[A] = V @ ((V.T @ (KCt_A.T @ y_alpha)) / D) - t
    # G = Q' alpha + p with Q' on K - Z Z^T  =>  K (y alpha) = y (G - p) + Z Z^T (y alpha)
    K_y_alpha = search.y * (res.gradient - p) + Z @ (Z.T @ y_alpha)
    ev = _Evaluation(mu.copy(), res.alpha.copy(), res.intercept, K_y_alpha, res.n_iter, res.converged)
    search.last = ev
    return ev, mu


def _active_set_search(search: "_FairDualSearch", epsilon: float, rank_rtol: float, ctol: float,
                       initial_active: dict, max_steps: int):
    """Primal-dual active-set method over the fairness constraints (each step: one SVM solve)."""
    k = search.M.shape[0]
    active = dict(initial_active)  # index -> sign
    for _ in range(max_steps):
        order = sorted(active)
        outcome = _equality_solve(search, order, np.array([active[j] for j in order], dtype=float), epsilon,
                                  rank_rtol)
        if outcome is None:
            return None
        ev, mu = outcome
        g = search.KCt.T @ (search.y * ev.alpha) - search.M @ mu
        wrong_sign = [j for j in order if mu[j] * active[j] < -ctol * (1.0 + abs(mu[j]))]
        if wrong_sign:
            worst = min(wrong_sign, key=lambda j: mu[j] * active[j])
            del active[worst]
            continue
        violated = [l for l in range(k) if l not in active and abs(g[l]) > epsilon + ctol]
        if not violated:
            return ev, mu, True
        added = False
        for l in sorted(violated, key=lambda l: -abs(g[l])):
            trial = dict(active)
            trial[l] = float(np.sign(g[l]))
            idx = sorted(trial)
            M_T = search.M[np.ix_(idx, idx)]
            rhs = np.array([trial[j] for j in idx]) * epsilon
            t, *_ = np.linalg.lstsq(M_T, rhs, rcond=None)
            if np.linalg.norm(M_T @ t - rhs) <= 1e-9 * (1.0 + np.linalg.norm(rhs)):
                active, added = trial, True
                break
        if not added:
            return ev, mu, False
    return None


def solve_kernel_exact(
    X: np.ndarray,
    y: np.ndarray,
    kernel: KernelSpec,
    *,
    upper: np.ndarray,
    constraint_weights: np.ndarray,
    epsilon: float,
    tol: float = 1e-3,
    max_iter: int | None = None,
    cache_size: float = 200.0,
    shrinking: bool = True,
    warm_start: Solution | None = None,
    rank_rtol: float = 1e-10,
) -> Solution:
    """Solve kernel FERM exactly with SMO: projected kernel for eps = 0, multiplier search for eps > 0.

    Parameters
    ----------
    X : ndarray (n, d), or the (n, n) kernel matrix when ``kernel`` is precomputed
    y : ndarray (n,) of +/-1
    kernel : KernelSpec (gamma resolved)
    upper : ndarray (n,), the box :math:`c_i`
    constraint_weights : ndarray (k, n), :math:`C^u`
    epsilon : float
    tol, max_iter, cache_size, shrinking
        Passed to :func:`fairerm.solvers.smo.solve_svm_dual`.
    warm_start : Solution, optional
        A previous solution (e.g. the neighbour on an epsilon path).
    rank_rtol : float
        Relative eigenvalue threshold for the rank of :math:`M` (dependent constraint rows).

    Returns
    -------
    Solution
        With ``expansion_coef`` :math:`\\beta` over all training points.
    """
    start = time.perf_counter()
    smo_options = dict(tol=tol, max_iter=max_iter, cache_size=cache_size, shrinking=shrinking)
    reused = warm_start.info.get("constraint_kernel_columns") if warm_start is not None else None
    if reused is not None and reused.shape == (X.shape[0], constraint_weights.shape[0]):
        KCt = reused  # same data, kernel and constraint along a path (fairerm.fair_path)
    else:
        KCt = constraint_kernel_columns(X, constraint_weights, kernel)
    M = constraint_weights[:, np.any(constraint_weights != 0.0, axis=0)] @ KCt[np.any(constraint_weights != 0.0, axis=0)]
    M = 0.5 * (M + M.T)
    k = constraint_weights.shape[0]
    eigval, eigvec = np.linalg.eigh(M)
    scale = max(float(eigval.max()), 0.0)
    # ||u_j||^2 at the level of rounding noise (groups already balanced) is u_j = 0, not a direction:
    # M_jj <= (sum_l |C_jl|)^2 max_l k(x_l, x_l), and rounding in M is ~1e-16 of that bound.
    support = np.any(constraint_weights != 0.0, axis=0)
    diag = np.diag(X)[support] if kernel.is_precomputed else kernel_diagonal(X[support], kernel)
    noise_floor = 1e-12 * float(np.abs(constraint_weights).sum(axis=1).max()) ** 2 * float(np.abs(diag).max())
    keep = eigval > max(rank_rtol * scale, noise_floor) if scale > 0 else np.zeros(k, dtype=bool)
    info: dict = {"constraint_rank": int(keep.sum())}
    alpha0 = warm_start.alpha if warm_start is not None and warm_start.alpha is not None else None
    warm_state = warm_start.info.get("smo_warm_state") if warm_start is not None else None
    if warm_state is not None and warm_state[0].alpha.shape != y.shape:
        warm_state = None
    search = _FairDualSearch(X, y, kernel, upper, KCt, M, smo_options, warm_state=warm_state, alpha0=alpha0)

    if epsilon == 0.0 or not keep.any():
        # Rank-r update of the kernel; mu minimised out in closed form.
        Z = KCt @ (eigvec[:, keep] / np.sqrt(eigval[keep])) if keep.any() else None
        res = search.smo(-np.ones_like(y), Z)
        M_pinv = (eigvec[:, keep] / eigval[keep]) @ eigvec[:, keep].T
        mu = M_pinv @ (KCt.T @ (y * res.alpha))
        K_y_alpha = y * (res.gradient + 1.0) + (Z @ (Z.T @ (y * res.alpha)) if Z is not None else 0.0)
        alpha, intercept = res.alpha, res.intercept
        n_iter, converged = res.n_iter, res.converged
        status = res.status
        info.update(n_svm_solves=1, method="projected_kernel")
    else:
        initial = {}
        if warm_start is not None:
            initial = {j: float(np.sign(m)) for j, m in enumerate(np.asarray(warm_start.mu)) if m != 0.0}
        ctol = 1e-6 * max(1.0, epsilon)
        outcome = _active_set_search(search, epsilon, rank_rtol, ctol, initial, max_steps=4 * k + 10)
        search_converged = outcome is not None and outcome[2]
        mu = outcome[1] if outcome is not None else np.zeros(k)
        final = search.last if outcome is not None else search.evaluate(mu)
        alpha, intercept, K_y_alpha = final.alpha, final.intercept, final.K_y_alpha
        n_iter = search.n_iter
        converged = search.all_converged and search_converged
        status = "optimal" if converged else ("active_set_not_converged" if not search_converged else "max_iter_reached")
        info.update(n_svm_solves=search.n_solves, method="active_set")

    # Exact feasibility: move w along span{u_j} so that every |<w, u_j>| <= epsilon holds exactly.
    values = KCt.T @ (y * alpha) - M @ mu
    excess = np.abs(values) - epsilon
    corrected = False
    if np.any(excess > 0) and keep.any():
        violated = excess > 0
        target = np.sign(values[violated]) * epsilon
        delta, *_ = np.linalg.lstsq(M[np.ix_(violated, violated)], values[violated] - target, rcond=None)
        mu = mu.copy()
        mu[violated] += delta
        corrected = True
    f_without_intercept = K_y_alpha - KCt @ mu
    if corrected:
        intercept = optimal_intercept(f_without_intercept, y, upper)
    info["feasibility_correction"] = corrected
    info["smo_warm_state"] = search.state  # reused by the next fit of a path (fairerm.fair_path)
    info["constraint_kernel_columns"] = KCt
    beta = y * alpha - constraint_weights.T @ mu
    beta_K_beta = float(beta @ f_without_intercept)
    info["w_norm_sq"] = beta_K_beta
    info["training_decision_values"] = f_without_intercept + intercept
    return Solution(
        solver="exact",
        status=status,
        converged=bool(converged),
        intercept=float(intercept),
        mu=mu,
        constraint_value=KCt.T @ (y * alpha) - M @ mu,
        primal_objective=hinge_primal_objective(beta_K_beta, f_without_intercept + intercept, y, upper),
        dual_objective=dual_objective(beta_K_beta, alpha, mu, epsilon),
        alpha=alpha,
        expansion_coef=beta,
        n_iter=int(n_iter),
        solve_time=time.perf_counter() - start,
        info=info,
    )
