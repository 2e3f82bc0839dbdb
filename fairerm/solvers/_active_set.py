r"""The primal-dual active-set method over the fairness constraints, shared by the SMO and DCD solvers.

FERM with :math:`k` constraints :math:`|\langle w, u_j\rangle| \le \epsilon` (:math:`\epsilon > 0`) is
solved as a short sequence of problems in which a guessed set :math:`A` of constraints holds as
equalities :math:`\langle w, u_j\rangle = \sigma_j\epsilon - c^u_j` and the others are dropped
(:math:`c^u_j`: the problem's constraint offsets, zero for the linear-loss constraint). Each such
problem is one ordinary SVM solve (on the kernel or the features projected orthogonally to
:math:`u_A`, with shifted margins): the caller's ``equality_solve``. Its KKT conditions are those of
the full problem exactly when

* every active multiplier has the sign of its side, :math:`\sigma_j\mu_j \ge 0` (:math:`j\in A`), and
* every dropped constraint holds, :math:`|\langle w, u_l\rangle + c^u_l| \le \epsilon` (:math:`l\notin A`).

Otherwise the constraint with the most wrongly signed multiplier leaves :math:`A`, or the most
violated one joins it, and the step repeats. A violated row that depends on active rows whose
equalities forbid its value (dependent rows: :math:`G` groups give :math:`G` rows in :math:`G-1`
dimensions) joins in exchange for one of them, the one with the smallest :math:`|\mu_j|` that makes the
set consistent. Warm-started, the paper's case (one
constraint) needs at most two solves.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

__all__ = ["fairness_active_set"]


def _consistent(gram: np.ndarray, active: dict, epsilon: float, offset: np.ndarray) -> bool:
    """Whether :math:`\\langle w, u_j\\rangle = \\sigma_j\\epsilon - c^u_j` (:math:`j\\in A`) can all hold."""
    idx = sorted(active)
    M_A = gram[np.ix_(idx, idx)]
    rhs = np.array([active[j] for j in idx]) * epsilon - offset[idx]
    t, *_ = np.linalg.lstsq(M_A, rhs, rcond=None)
    return bool(np.linalg.norm(M_A @ t - rhs) <= 1e-9 * (1.0 + np.linalg.norm(rhs)))


def fairness_active_set(
    equality_solve: Callable[[list, np.ndarray], Any],
    constraint_values: Callable[[Any], np.ndarray],
    gram: np.ndarray,
    live: list,
    epsilon: float,
    *,
    initial: dict | None = None,
    ctol: float = 1e-7,
    sign_tol: float = 1e-7,
    max_steps: int | None = None,
    offset: np.ndarray | None = None,
) -> tuple[Any, bool]:
    r"""Run the active-set method; return ``(outcome, converged)``.

    Parameters
    ----------
    equality_solve : callable
        ``equality_solve(active, signs)`` solves with the constraints ``active`` (sorted indices)
        held at :math:`\langle w, u_j\rangle = \sigma_j\epsilon - c^u_j` and returns an outcome with an attribute ``mu`` (k,), or
        ``None`` when the equalities are inconsistent.
    constraint_values : callable
        :math:`\langle w, u_j\rangle` (k,) of an outcome.
    gram : ndarray (k, k)
        :math:`\langle u_j, u_l\rangle`, to test the consistency of a set before solving with it.
    live : list of int
        The rows that are not round-off zeros (the others hold for every :math:`w`).
    epsilon : float
    initial : dict, optional
        A starting set ``{index: sign}`` (e.g. the neighbour's on an epsilon path).
    ctol : float
        Tolerance on the violations :math:`|\langle w, u_l\rangle + c^u_l| - \epsilon` (callers scale it
        with :math:`\epsilon`).
    sign_tol : float
        Relative tolerance on the signs of the multipliers: :math:`\sigma_j\mu_j < -`\ ``sign_tol``
        :math:`(1 + |\mu_j|)` is wrong. Never scaled with :math:`\epsilon`: with the violations'
        tolerance there (:math:`10^{-6}\epsilon`, 1 at :math:`\epsilon = 10^6`) no sign could ever be
        wrong, and a warm start from :math:`\epsilon = 0` kept a constraint at
        :math:`\langle w, u\rangle = 10^6` (a fit the certificate refused, relative gap 1.33).
    max_steps : int, optional
        Default :math:`4k + 10`.
    offset : ndarray (k,), optional
        The constraint offsets :math:`c^u` (zeros by default).

    Returns
    -------
    outcome : the last equality solve (``None`` if the first was inconsistent)
    converged : bool
        True when the KKT conditions above hold at ``outcome``.
    """
    offset = np.zeros(gram.shape[0]) if offset is None else np.asarray(offset, dtype=float)
    active = {j: s for j, s in (initial or {}).items() if j in live}
    max_steps = 4 * len(live) + 10 if max_steps is None else max_steps
    last = None
    for _ in range(max_steps):
        order = sorted(active)
        outcome = equality_solve(order, np.array([active[j] for j in order], dtype=float))
        if outcome is None:
            return last, False
        last = outcome
        mu = outcome.mu
        wrong_sign = [j for j in order if mu[j] * active[j] < -sign_tol * (1.0 + abs(mu[j]))]
        if wrong_sign:
            del active[min(wrong_sign, key=lambda j: mu[j] * active[j])]
            continue
        values = constraint_values(outcome)
        violated = [j for j in live if j not in active and abs(values[j] + offset[j]) > epsilon + ctol]
        if not violated:
            return outcome, True
        joined = _join(active, violated, values, mu, gram, epsilon, offset)
        if joined is None:
            return outcome, False
        active = joined
    return last, False


def _join(active: dict, violated: list, values: np.ndarray, mu: np.ndarray, gram: np.ndarray, epsilon: float,
          offset: np.ndarray) -> dict | None:
    r"""The next active set: the most violated row that can join :math:`A`, else an exchange, else ``None``.

    A violated row :math:`u_l` that depends on the active rows (:math:`G` groups give :math:`G` rows in
    :math:`G - 1` dimensions) cannot join them when their equalities fix :math:`\langle w, u_l\rangle` at
    the violating value. One of the rows it depends on must leave at the same step: the exchange tried
    first is the one with the smallest :math:`|\mu_j|` (the constraint that costs least to release).
    """
    order = sorted(violated, key=lambda j: -abs(values[j] + offset[j]))
    for j in order:
        trial = dict(active)
        trial[j] = float(np.sign(values[j] + offset[j]))
        if _consistent(gram, trial, epsilon, offset):
            return trial
    for j in order:
        for leaving in sorted(active, key=lambda i: abs(mu[i])):
            trial = {i: s for i, s in active.items() if i != leaving}
            trial[j] = float(np.sign(values[j] + offset[j]))
            if _consistent(gram, trial, epsilon, offset):
                return trial
    return None
