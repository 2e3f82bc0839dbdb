r"""The independent optimality certificate: primal and dual objectives recomputed from the returned point.

Primal (hinge FERM, :mod:`fairerm.problem`) at the returned :math:`(w, b)`:

.. math:: P = \tfrac12\|w\|^2 + \sum_i c_i\,\big(1 - y_i(\langle w,\phi(x_i)\rangle + b)\big)_+ .

Dual at the returned multipliers :math:`(\alpha, \mu)`, first made feasible: :math:`\alpha'` is the
Euclidean projection of :math:`\alpha` onto :math:`\{0\le\alpha\le c,\ y^\top\alpha = 0\}` (the
Lagrangian is unbounded below in :math:`b` unless :math:`y^\top\alpha = 0`), then

.. math:: D = -\tfrac12\|w(\alpha',\mu)\|^2 + \mathbf 1^\top\alpha' - \epsilon\|\mu\|_1 + c^{u\top}\mu,\qquad
          w(\alpha,\mu) = \sum_i\alpha_iy_i\phi(x_i) - \sum_j\mu_ju_j .

For a convex problem weak duality gives :math:`D \le P^\star`, and :math:`P^\star \le P` when
:math:`|\langle w, u_j\rangle + c^u_j| \le \epsilon` (:math:`c^u`: the problem's constraint offsets, zero
for the linear-loss constraint); so the relative gap :math:`(P - D)/\max(|P|,|D|)` bounds
how far the returned objective is from the optimum. Kernel problems never form :math:`K`: the scores
:math:`K\beta` of the returned expansion are recomputed from the data by blocks
(:meth:`fairerm.problem.KernelFermProblem.kernel_times`), and for the projected dual the change
:math:`\Delta = \sum_i(\alpha'_i - \alpha_i)y_i\phi(x_i)` enters through
:math:`\|w+\Delta\|^2 \le \|w\|^2 + 2\langle w,\Delta\rangle + (\sum_i|\alpha'_i-\alpha_i|\sqrt{k(x_i,x_i)})^2`,
which keeps :math:`D` a valid lower bound.

**Round-off.** :math:`P` and :math:`D` are computed in floating point; what the certificate claims is a bound
of the true relative gap, so the relative gap is :math:`(P - D + \rho)/\max(|P|,|D|)` with :math:`\rho`
a bound of the round-off of :math:`P` and :math:`D` (:func:`round_off`), and a dual above the primal by more
than :math:`\rho` (or a computed :math:`\|w\|^2` below :math:`-\rho_w`) means the numbers are wrong: the relative
gap is then :math:`+\infty`, never certified (it used to be clipped to 0: a fit with
:math:`\beta^\top K\beta = -2.5\cdot 10^{12}` was called optimal). A sum
:math:`\sum_l a_lb_l` computed in floating point is off by at most about :math:`c\,\varepsilon\sum_l|a_l||b_l|`
(:data:`ROUND_OFF_FACTOR` :math:`c`, :math:`\varepsilon` the machine epsilon); the bounds, each one matrix-vector
product with :math:`|X|` or with the kernel's diagonal:

* linear problems: scores :math:`\delta f_i \le c\varepsilon(|x_i|^\top|w| + |b|)`, and
  :math:`w(\alpha,\mu)` of the dual to :math:`c\varepsilon(|X|^\top\alpha + |U|^\top|\mu|)`;
* kernels with explicit features (the linear kernel, :attr:`~fairerm.problem.KernelFermProblem.explicit_features`):
  :math:`w = X^\top\beta` to :math:`\Delta = c\varepsilon|X|^\top|\beta|`, so :math:`\|w\|^2` to
  :math:`2|w|^\top\Delta + \|\Delta\|^2`, the constraint values :math:`Uw` to :math:`|U|(\Delta + c\varepsilon|w|)`
  and the hinge terms, linear in :math:`w` away from their kinks, to :math:`|g|^\top\Delta` with :math:`g` their
  gradient (plus :math:`c_i|x_i|^\top\Delta` for the points within that of a kink);
* other kernels, with :math:`|k(x_i,x_l)| \le r_ir_l` (:meth:`~fairerm.problem.KernelFermProblem.round_off_scales`,
  :math:`r_i = \sqrt{k(x_i,x_i)}` for a positive semi-definite kernel) and :math:`S = \sum_l|\beta_l|r_l`:
  :math:`\delta(K\beta)_i \le c\varepsilon r_iS`, :math:`\delta(\beta^\top K\beta) \le 2c\varepsilon S^2`, and
  :math:`\langle w,u_j\rangle` to :math:`c\varepsilon S\sum_i|C^u_{ji}|r_i`, which the certificate adds to the
  measured violation.

On 400 rows with a feature of size :math:`10^6` the kernel's :math:`\beta^\top K\beta` was off by 0.2 (of
:math:`\|w\|^2 \approx 200`): a fit 3-6 times the tolerance from the optimum was certified. Through :math:`w`
its :math:`\|w\|^2` is exact to 16 digits, but the scores still carry the round-off of
:math:`w_0 = \sum_i\beta_ix_{i0}` (terms of size :math:`10^6` for a sum of size :math:`10^{-7}`): the certificate
says so and does not certify it.
"""

from __future__ import annotations

import numpy as np

from ..problem import KernelFermProblem, LinearFermProblem, abs_times, dual_objective, hinge_primal_objective
from ._constraint_space import live_constraints
from ._solution import Certificate

__all__ = ["DEFAULT_GAP_TOL", "ROUND_OFF_FACTOR", "project_dual", "round_off", "certify"]

#: Relative duality gap at which a point is certified optimal: its objective is then within
#: :math:`5\cdot 10^{-5}` (relative) of the optimum.
DEFAULT_GAP_TOL = 5e-5

#: :math:`c` of the round-off bound :math:`c\,\varepsilon\sum_l|a_l||b_l|` of a computed sum of products
#: (module docstring). The worst case grows with the number of terms; blocked and pairwise sums of
#: rounded terms stay far below it: measured on the sum :math:`w_0 = \sum_i\beta_ix_{i0}` of 250 terms of size
#: :math:`10^6`, the error was :math:`0.02\,\varepsilon\sum_i|\beta_ix_{i0}|`.
ROUND_OFF_FACTOR = 4.0

#: Without a round-off bound of its own (:func:`_relative` with ``round_off=None``), a dual above the primal by
#: more than this share of :math:`\max(|P|,|D|)` is not round-off.
NEGATIVE_GAP_RTOL = 1e-12

_EPS = float(np.finfo(float).eps)


def project_dual(alpha: np.ndarray, y: np.ndarray, upper: np.ndarray, *, max_iter: int = 200) -> np.ndarray:
    r"""Euclidean projection of :math:`\alpha` onto :math:`\{0 \le \alpha \le c,\ y^\top\alpha = 0\}`.

    The projection is :math:`\operatorname{clip}(\alpha - \lambda y, 0, c)` with :math:`\lambda` the
    root of the non-increasing piecewise-linear :math:`g(\lambda) = y^\top\operatorname{clip}(\alpha -
    \lambda y, 0, c)`, found by bracketing and bisection (a no-op when :math:`y^\top\alpha = 0`).
    """
    alpha = np.clip(alpha, 0.0, upper)
    residual = float(y @ alpha)
    scale = float(np.sum(upper))
    if abs(residual) <= 1e-15 * scale:
        return alpha

    def g(lam: float) -> float:
        return float(y @ np.clip(alpha - lam * y, 0.0, upper))

    step = residual / max(np.count_nonzero(upper), 1)
    lo, hi = (0.0, step) if residual > 0 else (step, 0.0)
    for _ in range(200):  # widen until the root is bracketed: g(lo) >= 0 >= g(hi)
        if g(lo) >= 0.0 >= g(hi):
            break
        lo, hi = (lo, 2.0 * hi) if residual > 0 else (2.0 * lo, hi)
    for _ in range(max_iter):
        mid = 0.5 * (lo + hi)
        value = g(mid)
        if abs(value) <= 1e-15 * scale or hi - lo <= 1e-18 * max(1.0, abs(mid)):
            break
        lo, hi = (mid, hi) if value > 0 else (lo, mid)
    return np.clip(alpha - 0.5 * (lo + hi) * y, 0.0, upper)


def _relative(primal: float, dual: float, round_off: float | None = None, convex: bool = True,
              slack: float = 0.0) -> float:
    r"""The relative gap :math:`(P - D + \rho)_+/\max(|P|,|D|)`, an upper bound of the true one.

    :math:`+\infty` when :math:`P - D < -\rho` for a convex problem: by weak duality the dual is never above
    the primal, so the numbers are wrong (``round_off=None``: :math:`\rho = 0`, and the allowance for a negative
    gap is :data:`NEGATIVE_GAP_RTOL` of the scale). A non-convex problem (an indefinite kernel) has no weak
    duality: its negative gap is clipped, as a stationary point's. ``slack``: how far below the dual a primal
    point may be because it is not quite feasible, :math:`\sum_j|\mu_j|(|\langle w,u_j\rangle + c^u_j| - \epsilon)_+`
    (weak duality bounds the objective of feasible points only).
    """
    if not (np.isfinite(primal) and np.isfinite(dual)) or (round_off is not None and not np.isfinite(round_off)):
        return np.inf
    denominator = max(abs(primal), abs(dual), np.finfo(float).tiny)
    rho = 0.0 if round_off is None else float(round_off)
    allowance = rho + 16.0 * _EPS * denominator if round_off is not None else NEGATIVE_GAP_RTOL * denominator
    allowance += max(float(slack), 0.0)
    gap = primal - dual
    if gap < -allowance and convex:
        return np.inf
    return max(gap + rho, 0.0) / denominator


def _violation_tol(problem, w_norm: float) -> float:
    r"""Round-off allowance on :math:`|\langle w,u_j\rangle| - \epsilon`: :math:`10^{-9}` of its natural scale.

    The scale is :math:`\max_j\|u_j\|\,\|w\|`, with :math:`\|w\|` floored at :math:`10^{-6}\sqrt{2\sum_i c_i}`
    (:math:`\sqrt{2\sum_i c_i}` bounds :math:`\|w^\star\|`, the objective at :math:`w = 0` being
    :math:`\sum_i c_i`): when the constraints force :math:`w \approx 0`, its direction is round-off.
    """
    w_scale = max(w_norm, 1e-6 * float(np.sqrt(2.0 * np.sum(problem.upper))))
    scale = float(np.max(problem.constraint_norms, initial=0.0)) * w_scale
    return 1e-9 * max(scale, problem.epsilon, np.finfo(float).tiny)


def round_off(problem: LinearFermProblem | KernelFermProblem, primal: np.ndarray, intercept: float,
              scores: np.ndarray, w: np.ndarray | None, feasible_alpha: np.ndarray, mu: np.ndarray,
              change: np.ndarray | None = None) -> dict:
    r"""Bounds of the round-off of what :func:`certify` computes (module docstring).

    ``primal``: :math:`w` (linear) or :math:`\beta` (kernel); ``w``: :math:`X^\top\beta` of a kernel problem with
    explicit features (else ``None``). Returns a dict: ``primal`` and ``dual`` (of :math:`P` and :math:`D`),
    ``w_norm_sq`` (of :math:`\|w\|^2`) and ``values`` (k,) (of each :math:`\langle w, u_j\rangle`).
    """
    c = ROUND_OFF_FACTOR * _EPS
    y, upper = problem.y, problem.upper
    hinge = np.maximum(0.0, 1.0 - y * (scores + intercept))
    sums = c * (float(upper @ hinge) + float(np.sum(feasible_alpha)) + abs(float(problem.constraint_offset @ mu)))
    k = problem.n_constraints
    if problem.kind == "linear" or w is not None:
        X = problem.X
        w_vec = primal if problem.kind == "linear" else w
        w_abs, w_sq = np.abs(w_vec), float(w_vec @ w_vec)
        if problem.kind == "linear":
            delta = np.zeros_like(w_abs)  # w is the variable itself
        else:
            support = np.flatnonzero(primal)
            delta = c * abs_times(X[support], np.abs(primal[support]), transpose=True)
        # scores x_i'w (+ b): their own rounding, and the error of w carried through x_i
        own = abs_times(X, c * w_abs) + c * abs(intercept)
        carried = abs_times(X, delta) if np.any(delta) else np.zeros_like(own)
        per_point = own + carried
        hinge_error = float(upper @ own)
        if np.any(delta):  # linear in w away from the kinks: the gradient times Delta; near a kink, all of it
            near = np.abs(1.0 - y * (scores + intercept)) <= per_point
            far_violated = np.where((~near) & (hinge > 0.0), upper * y, 0.0)
            gradient = np.asarray(X.T @ far_violated).ravel()
            hinge_error += float(np.abs(gradient) @ delta) + float(upper[near] @ carried[near])
        norm_error = 2.0 * float(w_abs @ delta) + float(delta @ delta) + c * w_sq
        primal_error = 0.5 * norm_error + hinge_error + sums
        if problem.kind == "linear":  # w(alpha, mu) = X'(y alpha) - U'mu of the dual, formed anew
            delta_dual = c * (abs_times(X, feasible_alpha, transpose=True) + np.abs(problem.U).T @ np.abs(mu))
            dual_error = float(w_abs @ delta_dual) + 0.5 * float(delta_dual @ delta_dual) + c * w_sq + sums
            values = c * (np.abs(problem.U) @ w_abs) if k else np.zeros(0)
        else:
            moved = np.zeros(0) if change is None else np.abs(change)
            cross = float(moved @ per_point) if moved.size else 0.0
            dual_error = 0.5 * norm_error + 2.0 * cross + sums
            values = np.abs(problem.U) @ (delta + c * w_abs) if k else np.zeros(0)
        return {"primal": primal_error, "dual": dual_error, "w_norm_sq": norm_error, "values": values}
    r = problem.round_off_scales()
    size = float(np.abs(primal) @ r)  # S = sum_l |beta_l| r_l
    per_point = c * size * r  # |delta (K beta)_i|
    norm_error = 2.0 * c * size * size
    hinge_error = float(upper @ per_point)
    moved = np.zeros(0) if change is None else np.abs(change)
    cross = float(moved @ per_point) if moved.size else 0.0
    values = c * size * (np.abs(problem.constraint_weights) @ r) if k else np.zeros(0)
    return {"primal": 0.5 * norm_error + hinge_error + sums, "dual": 0.5 * norm_error + 2.0 * cross + sums,
            "w_norm_sq": norm_error, "values": values}


def certify(problem: LinearFermProblem | KernelFermProblem, primal: np.ndarray, intercept: float,
            alpha: np.ndarray, mu: np.ndarray, scores: np.ndarray, *, gap_tol: float = DEFAULT_GAP_TOL,
            convex: bool = True) -> tuple[Certificate, float]:
    r"""The certificate of a returned point; also returns :math:`\|w\|^2`.

    ``primal`` is :math:`w` (linear) or :math:`\beta` (kernel); ``scores`` are
    :math:`\langle w, \phi(x_i)\rangle` without intercept, computed from the data by the caller. The relative
    gap includes the round-off bound :math:`\rho` of :math:`P - D` (:func:`round_off`); a dual above the
    primal by more than :math:`\rho`, or :math:`\|w\|^2 < 0` beyond its round-off, gives an infinite gap.
    A kernel problem's violation is the measured one plus the round-off of the measurement.
    """
    y, upper, epsilon, offset = problem.y, problem.upper, problem.epsilon, problem.constraint_offset
    w = None
    if problem.kind == "linear":
        w_norm_sq = float(primal @ primal)
        values = problem.U @ primal
    elif problem.explicit_features:  # through w = X'beta (see KernelFermProblem.explicit_features)
        w = problem.weight(primal)
        w_norm_sq = float(w @ w)
        values = problem.U @ w
    else:
        w_norm_sq = float(primal @ scores)
        values = problem.constraint_weights @ scores
    feasible_alpha = project_dual(alpha, y, upper)
    change = None if problem.kind == "linear" else feasible_alpha - alpha
    errors = round_off(problem, primal, intercept, scores, w, feasible_alpha, mu, change)
    # ||w||^2 = beta'K beta < 0 beyond round-off: the numbers are wrong (unless the kernel is indefinite)
    wrong_norm = convex and w_norm_sq < -errors["w_norm_sq"]
    norm_sq = max(w_norm_sq, 0.0) if convex else w_norm_sq  # >= 0 when K is PSD: the closer value
    primal_value = hinge_primal_objective(norm_sq, scores + intercept, y, upper)
    if problem.kind == "linear":
        w_dual = problem.weight_from_duals(feasible_alpha, mu)
        dual_value = dual_objective(w_dual @ w_dual, feasible_alpha, mu, epsilon, offset)
    else:
        bound = norm_sq
        if np.any(change):
            moved = np.flatnonzero(change)
            cross = float((change[moved] * y[moved]) @ scores[moved])
            spread = float(np.abs(change[moved]) @ np.sqrt(np.maximum(problem.diagonal[moved], 0.0)))
            bound = norm_sq + 2.0 * cross + spread * spread
            bound = max(bound, 0.0) if convex else bound
        dual_value = dual_objective(bound, feasible_alpha, mu, epsilon, offset)
    rho = errors["primal"] + errors["dual"]
    live = live_constraints(problem)  # a round-off u_j is u_j = 0: it holds for every w
    measured = np.abs(values + offset) - epsilon
    if problem.kind != "linear":  # an upper bound of the true violation: the measurement's round-off added
        measured = measured + errors["values"]
    violation = float(np.max(measured[live], initial=0.0))
    # a round-off row with an offset outside [-eps, eps] holds for no w
    violation = max(violation, float(np.max(np.abs(offset[~live]) - epsilon, initial=0.0)))
    # a slightly infeasible w may lie below the dual by up to the multipliers times its violation
    slack = float(np.abs(mu) @ np.maximum(measured, 0.0)) if mu.size == measured.size else 0.0
    relative = np.inf if wrong_norm else _relative(primal_value, dual_value, rho, convex, slack)
    certificate = Certificate(
        primal_objective=float(primal_value), dual_objective=float(dual_value),
        duality_gap=float(primal_value - dual_value), relative_gap=relative,
        max_violation=max(violation, 0.0), gap_tol=float(gap_tol),
        violation_tol=_violation_tol(problem, np.sqrt(max(norm_sq, 0.0))), convex=convex, round_off=float(rho),
        w_norm_sq_below_zero=bool(wrong_norm))
    return certificate, w_norm_sq
