r"""The ramp-loss fairness constraint, solved as a short sequence of linear-loss FERM problems.

Donini et al. (2018) allow any loss in the fairness constraint; the linear loss makes it convex. The
difference of equal opportunity (DEO) itself compares the rates :math:`\frac1{n_g}\sum_{i\in g,+}
\mathbf 1\{f(x_i) > 0\}`; the *ramp*

.. math::

    R(t) = \min\big(1, \max(0, \tfrac{1+t}2)\big) = \tfrac12\big[(1+t)_+ - (t-1)_+\big],

a difference of two hinges, is 0 below the margin band, 1 above it and linear inside
(:math:`-1 < t < 1`), so it is much closer to the 0-1 loss. With the constraint weights :math:`C^u`
of :mod:`fairerm.constraints` (rows of group means, summing to zero) the ramp constraint reads

.. math:: |G_j(w, b)| \le \epsilon,\qquad G_j(w, b) = \sum_i C^u_{ji}\, R(\langle w,\phi(x_i)\rangle + b),

in the units of a rate (for equal opportunity with two groups, :math:`G` is the ramp DEO of the
training sample). It is not convex. Because :math:`R` is piecewise linear, its linearisation at the
current scores :math:`f^{(k)}_i` is *exact* as long as every point stays on its piece (below, inside
or above the band): with :math:`\rho_i = R'(f^{(k)}_i) = \tfrac12` inside the band and 0 outside,

.. math::

    G_j(w, b) = \langle w, u^{(k)}_j\rangle + s^{(k)}_j b + \sum_i C^u_{ji}\big[R(f^{(k)}_i)
    - \rho_i f^{(k)}_i\big], \qquad u^{(k)}_j = \sum_i C^u_{ji}\rho_i\phi(x_i),\;
    s^{(k)}_j = \sum_i C^u_{ji}\rho_i .

**Kinks.** An SVM solution puts its free support vectors exactly on the margin :math:`f = \pm 1`, the kinks of
:math:`R`, to round-off: which side of the kink they land on is chance, and equivalent fits (integer weights
and repeated rows, warm and cold starts) took different steps from the same start. The rule
(:func:`on_kink`): a score within :data:`KINK_TOL` :math:`\cdot\max(1,|f|)` of :math:`\pm 1` is *on* the kink,
and a point on a kink is outside the band (:math:`\rho_i = 0`) on the piece beyond it (value 1 at
:math:`f\approx 1`, 0 at :math:`f\approx -1`), deterministically; the linearisation is then exact to
:math:`\tfrac12` :data:`KINK_TOL` of the weight of those points.

So one step is a FERM problem with the *re-weighted* constraint matrix :math:`C^{(k)}_{ji} =
C^u_{ji}\rho_i` (only the points inside the band count) and an offset. The intercept: for the linear
loss :math:`s_j = \sum_i C^u_{ji}\cdot 1 = 0` and :math:`b` cancels; for the ramp it does not. The solvers
keep :math:`b` out of the constraint (their dual carries :math:`y^\top\alpha = 0`), so the step holds
:math:`b` at the current intercept :math:`b^{(k)}` *in the constraint* (it stays free in the hinge
terms): the step solves

.. math::

    \min_{w,b}\;\tfrac12\|w\|^2 + \sum_i c_i\big(1 - y_i(\langle w,\phi(x_i)\rangle + b)\big)_+
    \quad\text{s.t.}\quad |\langle w, u^{(k)}_j\rangle + c^{(k)}_j| \le \epsilon,\qquad
    c^{(k)}_j = \sum_i C^u_{ji}\big[R(f^{(k)}_i) - \rho_i(f^{(k)}_i - b^{(k)})\big],

a :class:`~fairerm.problem.LinearFermProblem` / :class:`~fairerm.problem.KernelFermProblem` with
``constraint_offset`` :math:`c^{(k)}`, solved by :func:`fairerm.solvers.solve` warm-started from the
previous step. Inside the band :math:`R(f) - \tfrac12(f - b) = \tfrac12(1 + b)`, so
:math:`c^{(k)}_j = \sum_{\text{band}} C^u_{ji}\tfrac{1 + b^{(k)}}2 + \sum_{\text{above}} C^u_{ji}`.

**What the sequence guarantees.** This is the concave-convex idea of linearising the non-convex part
at the current iterate (Yuille & Rangarajan 2003; ramp-loss SVMs, Collobert et al. 2006), but the
non-convexity sits in a *two-sided* constraint: a linear majorant of :math:`G` serves one side and
not the other, so no linear step can be an inner approximation of both, and the monotone decrease
that CCCP proves for a DC objective does not hold here in general. What does hold: when a step leaves
every constrained point on its piece and the intercept where it was, the step's constraint *is* the
ramp constraint near the new iterate, which therefore satisfies :math:`|G_j| \le \epsilon` exactly and
is a block-coordinate minimum of the ramp-constrained problem (optimal in :math:`w` for its
:math:`b`, and :math:`b` optimal for its :math:`w`). The loop (:func:`ramp_cccp`) stops there (the
pieces unchanged and :math:`|G_j| \le \epsilon` + ``ramp_tol``), when the objective changes by less
than ``tol`` (relative), when the pieces repeat an earlier step's (a cycle: measured on Adult, points
at the kinks flip back and forth with period two), or after ``max_steps``; it returns the iterate of
smallest objective among those that satisfy the ramp constraint to ``ramp_tol`` (the start included),
else the least violating one, and says which. **Between two iterates.** The scores are affine in
:math:`(w, b)`, so along the segment :math:`(1-\theta)(w_k,b_k) + \theta(w_{k+1},b_{k+1})` the ramp
constraint :math:`G_j(\theta)` is continuous and piecewise linear and the objective is convex (at most
the larger of the two ends'). Where consecutive iterates lie on either side of the constraint (on
Adult they alternate in sign), points between them meet it *exactly*; the best such point over all
segments (:func:`_best_interpolant`: a grid and bisection on the roots of :math:`G_j \mp \epsilon`)
is returned instead when no iterate meets the constraint or when its objective is lower (status
``"ramp_interpolant"``: no optimum of a convex problem, but exactly feasible, its objective recomputed).
The default ``ramp_tol`` is the resolution of a rate on the sample: half the weight :math:`\max_{ji}|C^u_{ji}|` of one point of the smallest group (for
equal opportunity :math:`1/(2n_{\min,+})`; with sample weights, of one unit of weight: :func:`default_ramp_tol`);
moving one point across a kink changes :math:`G` by up to that much, so no sequence of linear steps can
promise less.

References
----------
M. Donini, L. Oneto, S. Ben-David, J. Shawe-Taylor, M. Pontil. "Empirical Risk Minimization Under
Fairness Constraints". NeurIPS 2018. arXiv:1802.08626.
A. L. Yuille, A. Rangarajan. "The concave-convex procedure". Neural Computation 15(4), 2003.
R. Collobert, F. Sinz, J. Weston, L. Bottou. "Trading convexity for scalability". ICML 2006.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = ["FAIRNESS_LOSSES", "KINK_TOL", "ramp", "on_kink", "ramp_slope", "ramp_pieces", "ramp_constraint", "linearised_constraint",
           "RampPath", "default_ramp_tol", "ramp_cccp"]

#: The losses the fairness constraint can be measured with.
FAIRNESS_LOSSES: tuple[str, ...] = ("linear", "ramp")


def ramp(t: np.ndarray) -> np.ndarray:
    r""":math:`R(t) = \min(1, \max(0, (1+t)/2))`."""
    return np.clip(0.5 * (1.0 + np.asarray(t, dtype=float)), 0.0, 1.0)


#: Scores within this distance of a kink :math:`t = \pm 1` (the margin, in the units of the scores: the band is
#: :math:`|t| < 1`) are *on* the kink, whichever side round-off put them (:func:`on_kink`).
KINK_TOL = 1e-6


def on_kink(t: np.ndarray, kink_tol: float = KINK_TOL) -> np.ndarray:
    r"""Whether each score lies on a kink of :math:`R`: :math:`\big||t| - 1\big| \le` ``kink_tol`` :math:`\cdot\max(1, |t|)`.

    An SVM optimum puts its free support vectors *exactly* on the margin :math:`f = \pm 1` (the kinks of
    :math:`R`), and where they land, :math:`1 - 10^{-15}` or :math:`1 + 10^{-15}`, is the solver's round-off:
    equivalent fits (integer weights or repeated rows, warm or cold starts, two backends) differ there.
    With exact comparisons those points went in or out of the band by chance and the linearised steps,
    and the model, diverged (116 against 117 points in the band at the same start). The rule is
    deterministic: a point within the tolerance of a kink is on it, and a point on a kink is *outside*
    the band (:func:`ramp_slope` 0; :func:`ramp_pieces` the piece beyond it: +1 at :math:`t \approx 1`, -1 at
    :math:`t \approx -1`), as the exact kinks always were.
    """
    t = np.asarray(t, dtype=float)
    return np.abs(np.abs(t) - 1.0) <= float(kink_tol) * np.maximum(1.0, np.abs(t))


def ramp_slope(t: np.ndarray, kink_tol: float = KINK_TOL) -> np.ndarray:
    r""":math:`R'(t)`: :math:`\tfrac12` on the band :math:`-1 < t < 1`, 0 outside; the kinks, and the scores within
    ``kink_tol`` of them (:func:`on_kink`), count as outside."""
    t = np.asarray(t, dtype=float)
    return np.where((t > -1.0) & (t < 1.0) & ~on_kink(t, kink_tol), 0.5, 0.0)


def ramp_pieces(t: np.ndarray, kink_tol: float = KINK_TOL) -> np.ndarray:
    """The piece of :math:`R` each score lies on: -1 below the band (:math:`t \\le -1`), 0 inside, +1 above; a
    score within ``kink_tol`` of a kink (:func:`on_kink`) is on the piece beyond it (+1 near 1, -1 near -1)."""
    t = np.asarray(t, dtype=float)
    kink = on_kink(t, kink_tol)
    above = (t >= 1.0) | (kink & (t > 0.0))
    below = (t <= -1.0) | (kink & (t < 0.0))
    return np.where(above, 1, np.where(below, -1, 0)).astype(np.int8)


def ramp_constraint(constraint_weights: np.ndarray, decision_values: np.ndarray) -> np.ndarray:
    r""":math:`G_j = \sum_i C^u_{ji} R(f(x_i))`, the ramp fairness constraint of a model (scores with intercept)."""
    return np.asarray(constraint_weights @ ramp(decision_values)).ravel()


def linearised_constraint(constraint_weights: np.ndarray, decision_values: np.ndarray,
                          intercept: float) -> tuple[np.ndarray, np.ndarray]:
    r"""The step's constraint at the current model: weights :math:`C^u_{ji}\rho_i` and offsets :math:`c^{(k)}_j`.

    :math:`\langle w, \sum_i C^u_{ji}\rho_i\phi(x_i)\rangle + c^{(k)}_j` equals :math:`G_j(w, b^{(k)})` for every
    :math:`w` that leaves each point on its piece (module docstring).
    """
    f = np.asarray(decision_values, dtype=float)
    rho = ramp_slope(f)
    weights = np.asarray(constraint_weights, dtype=float) * rho[None, :]
    # a point on a kink (on_kink) counts with the value of the piece beyond it, 1 or 0 exactly: where
    # round-off put it does not enter the step (it changes G by at most KINK_TOL / 2 of its weight)
    value = np.where(on_kink(f), np.where(f > 0.0, 1.0, 0.0), ramp(f))
    offset = np.asarray(constraint_weights @ (value - rho * (f - float(intercept)))).ravel()
    return weights, offset


@dataclass
class RampPath:
    """The record of one ramp fit: every iterate's objective, ramp constraint and band, and the one chosen."""

    objectives: list = field(default_factory=list)
    ramp_values: list = field(default_factory=list)
    band_sizes: list = field(default_factory=list)
    solutions: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    stop_reason: str = ""
    chosen: int = 0
    feasible: bool = False
    ramp_tol: float = 0.0
    interpolant: tuple | None = None  # (i, theta, objective, scores, |w|^2) of the point returned between i, i + 1

    @property
    def n_steps(self) -> int:
        """Convex steps after the linear-loss start."""
        return max(len(self.objectives) - 1, 0)


def default_ramp_tol(constraint_weights: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    r"""Half the weight of one point of the smallest group, :math:`\tfrac12\max_{ji}|C^u_{ji}|` (module docstring).

    With sample weights :math:`w_i` a point weighs :math:`|C^u_{ji}| = w_i/W_g`; the resolution is that of one
    unit of weight, :math:`\tfrac12\max_{ji: w_i > 0}|C^u_{ji}|/w_i = 1/(2\min_g W_g)`, so that integer weights
    get the tolerance of the repeated rows (one row of weight 50 made it 38 times looser).
    """
    weights = np.abs(np.asarray(constraint_weights, dtype=float))
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=float)
        positive = sample_weight > 0.0
        weights = weights[:, positive] / sample_weight[positive]
    return 0.5 * float(np.max(weights, initial=0.0))


def ramp_cccp(start_problem, solve_step: Callable, epsilon: float, *, max_steps: int = 20, tol: float = 1e-6,
              ramp_tol: float | None = None, keep_problems: bool = False) -> RampPath:
    r"""Fit under the ramp constraint by the sequence of linearised FERM steps (module docstring).

    Parameters
    ----------
    start_problem : LinearFermProblem or KernelFermProblem
        The linear-loss problem with the base weights :math:`C^u` (its solution is the start; its
        :meth:`with_constraint` builds each step).
    solve_step : callable
        ``solve_step(problem, warm_start) -> Solution`` (:func:`fairerm.solvers.solve` with the estimator's options).
    epsilon : float
        The tolerance on :math:`|G_j|`, a rate.
    max_steps, tol, ramp_tol
        At most ``max_steps`` steps; stop when the relative objective change is at most ``tol``, at a
        fixed point (pieces unchanged and :math:`|G_j| \le \epsilon` + ``ramp_tol``) or on a cycle of
        pieces. ``ramp_tol=None``: :func:`default_ramp_tol`.
    keep_problems : bool
        Keep each step's problem in the record (the tests restate every step in cvxpy).
    """
    base = np.asarray(start_problem.constraint_weights, dtype=float)
    support = np.flatnonzero(np.any(base != 0.0, axis=0))
    ramp_tol = default_ramp_tol(base) if ramp_tol is None else float(ramp_tol)
    path = RampPath(ramp_tol=ramp_tol)

    def record(problem, solution):
        f = solution.training_decision_values
        path.objectives.append(float(solution.primal_objective))
        path.ramp_values.append(ramp_constraint(base, f))
        path.band_sizes.append(int(np.count_nonzero(ramp_slope(f[support]))))
        path.solutions.append(solution)
        if keep_problems:
            path.problems.append(problem)

    solution = solve_step(start_problem, None)
    record(start_problem, solution)
    pieces = ramp_pieces(solution.training_decision_values[support])
    seen = {pieces.tobytes()}
    path.stop_reason = "max_steps"
    for _ in range(int(max_steps)):
        weights, offset = linearised_constraint(base, solution.training_decision_values, solution.intercept)
        problem = start_problem.with_constraint(weights, offset, epsilon)
        solution = solve_step(problem, solution)
        record(problem, solution)
        new_pieces = ramp_pieces(solution.training_decision_values[support])
        fixed = (np.array_equal(new_pieces, pieces)
                 and np.max(np.abs(path.ramp_values[-1]), initial=0.0) <= epsilon + ramp_tol)
        change = abs(path.objectives[-2] - path.objectives[-1]) / max(1.0, abs(path.objectives[-1]))
        pieces, repeated = new_pieces, new_pieces.tobytes() in seen
        seen.add(pieces.tobytes())
        if fixed:
            path.stop_reason = "fixed_point"
            break
        if change <= tol:
            path.stop_reason = "objective_change_below_tol"
            break
        if repeated:
            path.stop_reason = "cycle"
            break
    excess = [float(np.max(np.abs(values), initial=0.0)) - epsilon for values in path.ramp_values]
    feasible = [i for i, e in enumerate(excess) if e <= ramp_tol]
    path.feasible = bool(feasible)
    path.chosen = (min(feasible, key=lambda i: path.objectives[i]) if feasible
                   else min(range(len(excess)), key=lambda i: (excess[i], path.objectives[i])))
    best = _best_interpolant(path, base, start_problem, epsilon)
    if best is not None and (not feasible or best[2] < path.objectives[path.chosen]):
        path.interpolant, path.feasible = best, True
    return path


def _segment(path: RampPath, i: int, problem) -> Callable:
    r"""``theta -> (objective, scores)`` on the segment from iterate ``i`` to ``i + 1``.

    The scores are affine in the parameters, :math:`f_\theta = (1-\theta)f_i + \theta f_{i+1}`, and
    :math:`\|w_\theta\|^2 = (1-\theta)^2\|w_i\|^2 + 2\theta(1-\theta)\langle w_i, w_{i+1}\rangle
    + \theta^2\|w_{i+1}\|^2`, with :math:`\langle w_i, w_{i+1}\rangle = \beta_i^\top K\beta_{i+1}` read from
    the training scores of :math:`i + 1` in the kernel case.
    """
    a, b = path.solutions[i], path.solutions[i + 1]
    f0, f1 = a.training_decision_values, b.training_decision_values
    if a.coef is not None:
        cross = float(a.coef @ b.coef)
    else:
        cross = float(a.expansion_coef @ (f1 - b.intercept))
    norms = (float(a.w_norm_sq), cross, float(b.w_norm_sq))
    y, upper = problem.y, problem.upper

    def evaluate(theta: float):
        f = (1.0 - theta) * f0 + theta * f1
        w_sq = (1 - theta) ** 2 * norms[0] + 2 * theta * (1 - theta) * norms[1] + theta ** 2 * norms[2]
        return 0.5 * w_sq + float(upper @ np.maximum(0.0, 1.0 - y * f)), f, w_sq

    return evaluate


def _best_interpolant(path: RampPath, base: np.ndarray, problem, epsilon: float, grid: int = 128):
    r"""The best point meeting :math:`|G_j| \le \epsilon` exactly on the segments between consecutive iterates.

    The objective is convex along a segment (so at most the larger of its ends') and :math:`G` is
    continuous and piecewise linear in :math:`\theta`: where consecutive iterates lie on either side of
    the constraint, points in between meet it exactly. Each segment is sampled at ``grid`` + 1 points; the
    roots of :math:`G_j(\theta) \mp \epsilon` between samples are found by bisection (for
    :math:`\epsilon = 0` the feasible points are such roots). A point counts when every row holds to
    :math:`10^{-10}`. Returns ``(i, theta, objective, scores, |w|^2)`` or ``None``.
    """
    best = None
    tiny = 1e-10
    for i in range(len(path.solutions) - 1):
        evaluate = _segment(path, i, problem)

        def values(theta):
            return ramp_constraint(base, evaluate(theta)[1])

        thetas = np.linspace(0.0, 1.0, grid + 1)
        G = np.array([values(t) for t in thetas])  # (grid + 1, k)
        candidates = list(thetas[np.max(np.abs(G), axis=1) - epsilon <= tiny])
        for side in (epsilon, -epsilon):
            for j in range(G.shape[1]):
                sign = np.sign(G[:, j] - side)
                for m in np.flatnonzero(sign[:-1] * sign[1:] < 0):
                    lo, hi = thetas[m], thetas[m + 1]
                    for _ in range(60):
                        mid = 0.5 * (lo + hi)
                        lo, hi = (mid, hi) if np.sign(values(mid)[j] - side) == sign[m] else (lo, mid)
                    for theta in (lo, hi):
                        if np.max(np.abs(values(theta))) - epsilon <= tiny:
                            candidates.append(theta)
        for theta in candidates:
            if theta in (0.0, 1.0):
                continue  # the iterates themselves are judged with ramp_tol
            objective, scores, w_sq = evaluate(float(theta))
            if best is None or objective < best[2]:
                best = (i, float(theta), objective, scores, w_sq)
    return best
