r"""Linear FERM for large n: dual coordinate descent with an exact, unpenalised intercept.

Problem (:mod:`fairerm.problem`, :math:`\phi(x) = x`): with data :math:`x_i\in\mathbb R^d`, labels
:math:`y_i\in\{-1,+1\}`, boxes :math:`c_i` and fairness directions :math:`u_j = \sum_i C^u_{ji} x_i`,

.. math::

    \min_{w, b}\; \tfrac12\|w\|^2 + \sum_i c_i \max\big(0, 1 - y_i(\langle w, x_i\rangle + b)\big)
    \quad\text{s.t.}\quad |\langle w, u_j\rangle| \le \epsilon .

The intercept :math:`b` is *not* penalised, as FERM states it (liblinear's trick of a constant
feature penalises it and solves another problem).

**Fixed active set.** For a set :math:`A` of constraints held as equalities
:math:`\langle w, u_j\rangle = \sigma_j\epsilon - c^u_j` (:math:`A = \emptyset` off the constraint; every
live row with :math:`\sigma = 0` when :math:`\epsilon = 0`; :math:`c^u` the problem's constraint offsets, zero
for the linear-loss constraint), write :math:`w = w_\perp + v` with
:math:`v = U_A^\top t`, :math:`U_A U_A^\top t = \sigma_A\epsilon - c^u_A`, and :math:`w_\perp \perp
\operatorname{span}\{u_j\}_{j\in A}`. With :math:`P = I - QQ^\top` (:math:`Q`, :math:`d\times r`, an
orthonormal basis of that span) and :math:`o_i = \langle v, x_i\rangle`, the problem in :math:`w_\perp`
for a **fixed** :math:`b` is an SVM without intercept on the projected points :math:`Px_i`, with
margins :math:`m_i(b) = 1 - y_i(b + o_i)`. Its dual is the box QP

.. math::

    \min_{0\le\alpha\le c}\; \tfrac12\alpha^\top Q_P\alpha - m(b)^\top\alpha,\qquad
    (Q_P)_{il} = y_i y_l\langle Px_i, Px_l\rangle,\qquad w_\perp = \sum_i \alpha_i y_i P x_i,

solved by dual coordinate descent (Hsieh et al. 2008): one coordinate at a time, in random order,
with liblinear's shrinking. The projection is never formed: we keep :math:`\tilde w = \sum_i\alpha_i
y_i x_i` and :math:`c = \sum_i \alpha_i y_i Q^\top x_i`, so :math:`w_\perp = \tilde w - Qc` and
:math:`\langle w_\perp, Px_i\rangle = \langle\tilde w, x_i\rangle - \langle c, Q^\top x_i\rangle`: memory
is the data plus :math:`O(n r + d)`.

**The intercept.** The value :math:`V(b)` of that problem is convex in :math:`b` (a partial minimum
of a jointly convex function) and, by Danskin's theorem, :math:`V'(b) = -\sum_i\alpha_i(b) y_i =:
-g(b)`, non-decreasing. At the optimal intercept :math:`g(b) = 0`, the dual's equality constraint.

**An exact last step.** When many more points than features sit near the margin, the dual is
degenerate and coordinate descent crawls (measured: tens of thousands of epochs for the last
digits on 400 x 6 data). So the iterative part stops early, and :func:`~fairerm.solvers._dcd_exact_step.polish` finishes: the
points near the margin form a working set, the others' hinge terms are fixed (linear or zero), the
QP in :math:`(w, b, \xi_S)` is solved by an interior-point method whose Newton steps cost
:math:`O(|S|d^2)` (:mod:`fairerm.solvers._svm_ipm`), and the KKT conditions of the whole problem are
checked; points on the wrong side join the set. A certified result is the exact optimum
(``info["kkt_polished"]``). Its :math:`w` is the step's own, not :math:`X^\top(\alpha\circ y)`: when the box is
large against the data's scale (feature scale :math:`10^6`, C = 1) most multipliers sit at their bound and
that sum cancels to round-off, so the step's result is checked by a gap recomputed from its margins and,
where that fails, solved in the primal form that keeps :math:`w` as an iterate
(:mod:`fairerm.solvers._svm_primal_ipm`).

**Order of work.** One DCD solve at the starting intercept (0, or the warm start's), then the
intercept that is optimal for that :math:`w` (:func:`fairerm.problem.optimal_intercept`), then the
exact step: on 300,000 x 100 synthetic rows this certifies the optimum after 20 epochs, 2.5 s in
all. Only when the step cannot certify from there does the root of :math:`g` get searched for, by
a bracketing regula falsi (Illinois) over warm-started inner solves, before a second exact step
(``info["intercept_search"]``).

**Multipliers and the active set.** Stationarity :math:`w = \sum_i\alpha_i y_i x_i - U_A^\top\mu_A`
gives :math:`U_A^\top\mu_A = Qc - v`, i.e. :math:`\mu_A = (U_AU_A^\top)^{+}U_A(Qc) - t`. For
:math:`\epsilon > 0` the active set is updated by the method of :mod:`fairerm.solvers._active_set`
(drop a constraint whose multiplier has the wrong sign, add the most violated one), shared with the
kernel solver: one constraint needs at most two equality solves. A cold fit first runs
:data:`GUESS_EPOCHS` epochs of the unconstrained DCD and starts the method from the constraint they
violate most (or from none, continuing that run): with an active constraint the unconstrained problem
is then never solved exactly (1,000,000 x 100, eps = 0.01: 1.47x to 1.06x ``LinearSVC``'s time, see
``benchmarks/results/speed_table_linear.md``); a wrong guess costs one more solve and changes no result.

References
----------
C.-J. Hsieh, K.-W. Chang, C.-J. Lin, S. S. Keerthi, S. Sundararajan. "A dual coordinate descent
method for large-scale linear SVM". ICML 2008.
M. Donini, L. Oneto, S. Ben-David, J. Shawe-Taylor, M. Pontil. "Empirical Risk Minimization Under
Fairness Constraints". NeurIPS 2018. arXiv:1802.08626.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..exceptions import FairermValueError
from ..problem import LinearFermProblem, optimal_intercept
from ._active_set import fairness_active_set
from ._constraint_space import RowSpace, live_constraints, noise_floor, scaled_rows
from ._dcd_core import canonical_csr, dcd_box_qp, row_sq_norms, run_dcd
from ._solution import BackendResult
from ._dcd_exact_step import SPARSE_DENSE_BLOCK_MAX_FEATURES, polish as _polish, whole_problem as _whole_problem

__all__ = ["solve_linear", "solve_linear_dcd", "dcd_box_qp"]


class _FixedActiveSet:
    """Warm-started solves of the fixed-intercept QP for one active set (state kept between calls)."""

    def __init__(self, X, y, upper, Q, offsets, alpha0, tol, gap_tol, max_epochs, seed, shrinking, kkt_tol=1e-7):
        self.X, self.y, self.upper, self.Q = X, y, upper, Q
        self.offsets = offsets
        self.Z = np.ascontiguousarray(X @ Q, dtype=np.float64).reshape(X.shape[0], Q.shape[1])
        self.sq_norm = row_sq_norms(X) - np.einsum("ij,ij->i", self.Z, self.Z)
        np.maximum(self.sq_norm, 0.0, out=self.sq_norm)
        self.alpha = np.zeros(X.shape[0]) if alpha0 is None else np.clip(np.array(alpha0, dtype=float), 0.0, upper)
        self.w = np.ascontiguousarray(X.T @ (self.alpha * y), dtype=np.float64)
        self.c = self.Z.T @ (self.alpha * y)
        self.tol, self.gap_tol, self.max_epochs, self.seed, self.shrinking = tol, gap_tol, max_epochs, seed, shrinking
        self.kkt_tol = kkt_tol
        self.n_solves = self.epochs = 0
        self.converged = True

    def balance(self, b: float) -> float:
        """Solve at intercept ``b``; return :math:`g(b) = \\sum_i\\alpha_i(b) y_i`."""
        margin = 1.0 - self.y * (b + self.offsets)
        epochs, spread, rel_gap = run_dcd(self.X, self.y, self.Z, margin, self.upper, self.sq_norm, self.alpha, self.w,
                                          self.c, self.tol, self.gap_tol, self.max_epochs, self.seed + self.n_solves,
                                          self.shrinking)
        self.n_solves += 1
        self.epochs += epochs
        self.converged &= bool(spread <= self.tol or rel_gap <= self.gap_tol)
        return float(self.alpha @ self.y)

    def w_perp(self) -> np.ndarray:
        return self.w - self.Q @ self.c

    def dcd_is_hopeless(self) -> bool:
        """Whether the conditioning :math:`\\max_i c_i\\|Px_i\\|^2` exceeds :data:`WHOLE_PROBLEM_CONDITIONING`."""
        return float(np.max(self.upper * self.sq_norm, initial=0.0)) > WHOLE_PROBLEM_CONDITIONING


def _intercept_search(inner: _FixedActiveSet, b0: float, btol: float, max_solves: int) -> tuple[float, bool]:
    """Root of the non-increasing :math:`g(b)` by bracketing and Illinois regula falsi."""
    scale = float(np.sum(inner.upper))
    gtol = 1e-12 * scale
    g0 = inner.balance(b0)
    if abs(g0) <= gtol:
        return b0, True
    fixed = inner.X @ inner.w_perp() + inner.offsets
    b1 = optimal_intercept(fixed, inner.y, inner.upper)
    step = b1 - b0 if abs(b1 - b0) > 1e-3 else float(np.sign(g0))
    if np.sign(step) != np.sign(g0):  # g decreases in b: move towards the root
        step = float(np.sign(g0)) * max(abs(step), 1e-3)
    lo_b, lo_g, hi_b, hi_g = (b0, g0, None, None) if g0 > 0 else (None, None, b0, g0)
    b = b0 + step
    while inner.n_solves < max_solves:
        g = inner.balance(b)
        if abs(g) <= gtol:
            return b, True
        if g > 0:
            lo_b, lo_g = b, g
        else:
            hi_b, hi_g = b, g
        if lo_b is not None and hi_b is not None:
            break
        step *= 2.0
        b += step
    side = 0
    while inner.n_solves < max_solves:
        width = hi_b - lo_b
        if width <= btol * (1.0 + abs(lo_b) + abs(hi_b)):
            return (lo_b * (-hi_g) + hi_b * lo_g) / (lo_g - hi_g), True
        b = hi_b - hi_g * width / (hi_g - lo_g)
        if not lo_b < b < hi_b:
            b = 0.5 * (lo_b + hi_b)
        g = inner.balance(b)
        if abs(g) <= gtol:
            return b, True
        if g > 0:
            lo_b, lo_g = b, g
            if side == 1:
                hi_g *= 0.5
            side = 1
        else:
            hi_b, hi_g = b, g
            if side == -1:
                lo_g *= 0.5
            side = -1
    return b, False


#: Above this conditioning :math:`\max_i c_i\|Px_i\|^2` the exact step's primal form is tried on the whole
#: problem before any coordinate descent (:func:`~fairerm.solvers._dcd_exact_step.whole_problem`): measured on 100,000 x 6 rows at feature scale
#: :math:`10^6` (C = 1, :math:`\kappa \approx 10^{13}`), 600 epochs and an intercept search came first and cost 7 s.
WHOLE_PROBLEM_CONDITIONING = 1e8

@dataclass
class _Outcome:
    inner: _FixedActiveSet
    intercept: float
    w: np.ndarray
    mu: np.ndarray
    search_converged: bool


#: Epochs of the unconstrained DCD run that guesses the active set of a cold fit with :math:`\epsilon > 0`
#: (:meth:`_EqualitySolves.guess_active_set`). Measured on the 1,000,000 x 100 rows of
#: ``benchmarks/speed_table.py`` (eps = 0.01): :math:`\langle w, u\rangle` is -0.31 after one epoch, -0.43 after
#: three and -0.43 at the optimum; a wrong guess costs one more equality solve, as a cold start always did.
GUESS_EPOCHS = 3


class _EqualitySolves:
    """The equality solves of one fit, each warm-started from the previous one's alpha and intercept."""

    def __init__(self, X, y, upper, U, alpha0, b0, options, rank_rtol, floor, column_sizes):
        self.X, self.y, self.upper, self.U = X, y, upper, U
        self.alpha0, self.b0 = alpha0, b0
        self.options, self.rank_rtol, self.floor = options, rank_rtol, floor
        self.column_sizes = column_sizes
        self.last: _Outcome | None = None
        self._kept = None  # (key, inner, equality) of an inexact run that the next solve may continue

    def _equality(self, active: list, signs: np.ndarray):
        r"""``(Q, v, space, z)`` of the equalities (:math:`v = Qz`, :math:`U_Av = \sigma\epsilon - c^u_A`), or None
        when they are inconsistent."""
        X, U, options = self.X, self.U, self.options
        d = X.shape[1]
        if not active:
            return np.zeros((d, 0)), np.zeros(d), None, np.zeros(0)
        space = RowSpace(U[active], self.column_sizes, self.floor, self.rank_rtol)
        rhs = signs * options["epsilon"] - options["offset"][active]
        z, residual = space.point(rhs)
        if residual > 1e-9 * (1.0 + np.linalg.norm(rhs)):
            return None  # inconsistent equalities on dependent rows
        return space.Q, space.Q @ z, space, z

    @staticmethod
    def _key(active: list, signs: np.ndarray) -> tuple:
        return tuple(active), tuple(float(x) for x in signs)

    def _start(self, active: list, signs: np.ndarray):
        """The fixed-active-set state to run: the kept inexact one for the same set, or a new one."""
        key = self._key(active, signs)
        if self._kept is not None and self._kept[0] == key:
            _, inner, equality = self._kept
            self._kept = None
            inner.converged = True  # the guess's epoch cap is not this solve's
            return inner, equality
        self._kept = None
        equality = self._equality(active, signs)
        if equality is None:
            return None, None
        alpha0 = self.alpha0 if self.last is None else self.last.inner.alpha
        inner = _FixedActiveSet(self.X, self.y, self.upper, equality[0], self.X @ equality[1], alpha0,
                                **self.options["inner"])
        return inner, equality

    def _multipliers(self, active, equality, inner) -> np.ndarray:
        mu = np.zeros(self.U.shape[0])
        _, _, space, z = equality
        if active and space.rank:  # U_A' mu_A = X'(alpha y) - w = Q c - v = Q (c - z)
            mu[active] = space.multipliers(inner.c - z)
        return mu

    def guess_active_set(self, live: list, ctol: float) -> dict:
        r"""A starting active set for a cold fit: ``{j: sign}`` of the constraint that :data:`GUESS_EPOCHS`
        epochs of the unconstrained DCD violate most, or ``{}``.

        The run's state is kept: when the guess is ``{}`` the first equality solve continues it, otherwise
        its :math:`\alpha` and intercept warm-start the solve with the guessed constraint. The guess only
        orders the work; the active-set method still checks the signs and the violations of its exact
        solves, so a wrong guess costs one more solve and changes no result.
        """
        none, no_signs = [], np.zeros(0)
        inner, equality = self._start(none, no_signs)
        self._kept = (self._key(none, no_signs), inner, equality)  # the first solve may continue it
        if inner.dcd_is_hopeless():
            return {}  # coordinate descent would not approach the optimum; the exact step starts there
        b0 = self.b0 if self.last is None else self.last.intercept
        inner.max_epochs, cap = min(GUESS_EPOCHS, inner.max_epochs), inner.max_epochs
        inner.balance(b0)
        inner.max_epochs = cap
        w = inner.w_perp()
        self.last = _Outcome(inner, optimal_intercept(self.X @ w, self.y, self.upper), w,
                             np.zeros(self.U.shape[0]), False)
        values = self.U @ w + self.options["offset"]
        epsilon = self.options["epsilon"]
        excess = {j: abs(values[j]) - epsilon for j in live}
        worst = max(excess, key=excess.get, default=None)
        if worst is None or excess[worst] <= ctol:
            return {}
        return {worst: float(np.sign(values[worst]))}

    def __call__(self, active: list, signs: np.ndarray) -> _Outcome | None:
        r"""Solve with the constraints ``active`` held at :math:`\langle w,u_j\rangle = \sigma_j\epsilon - c^u_j`."""
        X, y, upper, options = self.X, self.y, self.upper, self.options
        b0 = self.b0 if self.last is None else self.last.intercept
        inner, equality = self._start(active, signs)
        if inner is None:
            return None
        v, offsets = equality[1], inner.offsets
        # Fast path: one DCD solve at the starting intercept, the intercept that is optimal for its w,
        # and the exact working-set step. Measured on 300,000 x 100 synthetic rows: 20 epochs + 1.4 s of
        # polish, where the full intercept search took 7 solves (110 epochs). The search below is the
        # fallback when the step cannot certify the KKT conditions from that iterate.
        polished = None
        if inner.dcd_is_hopeless():
            polished = _whole_problem(inner, primal_first=True)  # coordinate descent would not approach the optimum
        ok = True
        inner.searched = False
        if polished is None:
            inner.balance(b0)
            b = optimal_intercept(X @ inner.w_perp() + offsets, y, upper)
            polished = _polish(inner, b)
            inner.searched = polished is None
        if polished is None:
            b, ok = _intercept_search(inner, b, options["btol"], options["max_solves"])
            polished = _polish(inner, b)
        if polished is None:
            polished = _whole_problem(inner)
        if polished is not None:  # exact KKT point: replace the iterate
            inner.alpha[:], b, w_perp = polished
            inner.w[:] = X.T @ (inner.alpha * y)
            inner.c[:] = inner.Z.T @ (inner.alpha * y)
            ok = inner.converged = True
        else:
            w_perp = inner.w_perp()
        inner.polished = polished is not None
        # the exact step's own w: X'(alpha y) can cancel to round-off when most multipliers are at a
        # large box (fairerm.solvers._svm_primal_ipm), the step's w does not
        self.last = _Outcome(inner, b, w_perp + v, self._multipliers(active, equality, inner), ok)
        return self.last


def solve_linear(
    problem: LinearFermProblem,
    *,
    warm_start=None,
    kkt_tol: float = 1e-7,
    max_epochs: int = 200,
    inner_tol: float | None = None,
    inner_gap_tol: float | None = None,
    intercept_tol: float | None = None,
    max_solves: int = 200,
    shrinking: bool = True,
    random_state: int = 0,
    rank_rtol: float = 1e-10,
) -> BackendResult:
    r"""Solve linear FERM by dual coordinate descent and an exact working-set step (module docstring).

    Parameters
    ----------
    problem : LinearFermProblem
        Dense ``X`` (C-contiguous float64) or a scipy.sparse matrix (its CSR rows; a row costs its
        nonzeros); memory beyond it is :math:`O(n k + d k)`.
    warm_start : Solution, optional
        A previous solution (its ``alpha``, ``intercept`` and active constraints are reused).
    kkt_tol : float
        Tolerance of the KKT conditions that the exact working-set step (:func:`~fairerm.solvers._dcd_exact_step.polish`) certifies.
    max_epochs : int
        Passes over the data per inner DCD solve.
    inner_tol : float, optional
        Projected-gradient spread at which each inner DCD solve stops (liblinear's ``eps``); default
        0.1, or 1e-4 for sparse ``X`` with more than :data:`SPARSE_DENSE_BLOCK_MAX_FEATURES` columns.
    inner_gap_tol : float, optional
        Or when its duality gap is at most ``inner_gap_tol`` times :math:`\max(1, \text{primal value})`;
        default 1e-3 (1e-9 for wide sparse ``X``). The defaults stop the iterative part early and rely
        on the exact step for the last digits; ``info["kkt_polished"]`` says whether it certified the KKT
        conditions (it declines when more than :math:`\max(20000, n/10)` points lie near the margin).
        With sparse ``X`` and many columns the exact step is affordable only for small working sets
        (:data:`fairerm.solvers._dcd_exact_step.SPARSE_POLISH_MAX_WORKING`), so the iterative part and the intercept search are run to
        the certificate's accuracy instead.
    intercept_tol : float, optional
        Relative width of the bracket on :math:`b` at which the fallback intercept search stops;
        default 1e-3 (1e-8 for wide sparse ``X``).
    max_solves : int
        Inner solves allowed per active set.
    shrinking : bool
    random_state : int
        Seed of the coordinate order.
    rank_rtol : float
        Relative eigenvalue threshold for dependent constraint rows.

    Returns
    -------
    BackendResult
        ``coef`` :math:`w`, ``intercept`` :math:`b`, ``alpha``, signed ``mu``; ``info`` holds the number
        of inner solves, epochs, :math:`|y^\top\alpha|`, whether the exact step certified the optimum
        (``kkt_polished``) and whether the intercept search was needed (``intercept_search``).
    """
    if sp.issparse(problem.X):
        X = canonical_csr(problem.X)
    elif isinstance(problem.X, np.ndarray):
        X = np.ascontiguousarray(problem.X, dtype=np.float64)
    else:
        raise FairermValueError(f"solver='dcd' needs X as a numpy array or a scipy.sparse matrix; got "
                                f"{type(problem.X).__name__}.")
    y = np.ascontiguousarray(problem.y, dtype=np.float64)
    upper = np.ascontiguousarray(problem.upper, dtype=np.float64)
    U = np.asarray(problem.U, dtype=np.float64).reshape(problem.n_constraints, X.shape[1])
    wide_sparse = sp.issparse(X) and X.shape[1] > SPARSE_DENSE_BLOCK_MAX_FEATURES  # the exact step rarely affordable
    inner_tol = (1e-4 if wide_sparse else 0.1) if inner_tol is None else inner_tol
    inner_gap_tol = (1e-9 if wide_sparse else 1e-3) if inner_gap_tol is None else inner_gap_tol
    intercept_tol = (1e-8 if wide_sparse else 1e-3) if intercept_tol is None else intercept_tol
    epsilon = float(problem.epsilon)
    live = [int(j) for j in np.flatnonzero(live_constraints(problem))]
    floor = noise_floor(problem.constraint_weights)  # in the units of the column-scaled rows (RowSpace)
    options = {"inner": dict(tol=float(inner_tol), gap_tol=float(inner_gap_tol), max_epochs=int(max_epochs),
                             seed=int(random_state), shrinking=bool(shrinking), kkt_tol=float(kkt_tol)),
               "btol": float(intercept_tol), "max_solves": int(max_solves), "epsilon": epsilon,
               "offset": problem.constraint_offset}
    alpha0 = warm_start.alpha if warm_start is not None and warm_start.alpha is not None else None
    if alpha0 is not None and alpha0.shape != y.shape:
        alpha0 = None
    b0 = float(warm_start.intercept) if alpha0 is not None else 0.0
    solves = _EqualitySolves(X, y, upper, U, alpha0, b0, options, rank_rtol, floor, problem.column_sizes)
    if epsilon == 0.0:
        out = solves(live, np.zeros(len(live)))
        set_converged, method = out is not None, "projection"
        if out is None:  # dependent live rows are always consistent at 0; defensive
            out = solves([], np.zeros(0))
    else:
        initial = {}
        if warm_start is not None and warm_start.mu is not None and len(warm_start.mu) == problem.n_constraints:
            initial = {j: float(np.sign(m)) for j, m in enumerate(np.asarray(warm_start.mu)) if m != 0.0}
        ctol = 1e-7 * max(1.0, epsilon)
        if not initial and live:  # a cold start: guess the set from a few epochs instead of an exact solve
            initial = solves.guess_active_set(live, ctol)
        scaled = scaled_rows(U, problem.column_sizes)  # U_A w = b is consistent iff scaled_A (D w) = b is
        out, set_converged = fairness_active_set(solves, lambda outcome: U @ outcome.w, scaled @ scaled.T, live,
                                                 epsilon, initial=initial, ctol=ctol,
                                                 offset=problem.constraint_offset)
        if out is None:
            out = solves([], np.zeros(0))
        method = "active_set"
    inner = out.inner
    converged = inner.converged and out.search_converged and set_converged
    status = "optimal" if converged else ("max_epochs_reached" if not inner.converged else "intercept_search_failed"
                                          if not out.search_converged else "active_set_not_converged")
    return BackendResult(
        alpha=inner.alpha.copy(), mu=out.mu, intercept=float(out.intercept), coef=out.w, status=status,
        converged=bool(converged), n_iter=int(inner.epochs),
        info={"method": method, "inner_solves": inner.n_solves, "epochs": inner.epochs,
              "dual_equality_residual": float(abs(inner.alpha @ y)), "live_constraints": len(live),
              "kkt_polished": inner.polished, "intercept_search": inner.searched},
    )


#: The backend's entry point under its historical name.
solve_linear_dcd = solve_linear
