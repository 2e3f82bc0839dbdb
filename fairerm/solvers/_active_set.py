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
set consistent. A set already solved is never proposed again (the next candidate is): its solve would give
the same step, and these steps can cycle (measured with 4 and 6 groups, cold and warm, e.g. add a row,
drop it for a wrong sign, add it again). A starting set keeps only the rows that are consistent together
(:func:`_consistent_subset`). Warm-started, the paper's case (one
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


def _consistent_subset(gram: np.ndarray, initial: dict, epsilon: float, offset: np.ndarray, live: list) -> dict:
    r"""The live rows of ``initial`` that can be held together, taken greedily in the order given.

    A row joins when :func:`_consistent` accepts it with those already kept: the test every later join
    passes (:func:`_join`). A warm start from :math:`\epsilon = 0` has a nonzero multiplier on each of the
    :math:`G` rows of :math:`G` groups, which span :math:`G - 1` dimensions: held all at
    :math:`\pm\epsilon` they are (almost always) inconsistent, and the first equality solve refused them.
    """
    live_rows = set(live)
    kept: dict = {}
    for j, sign in initial.items():
        if j not in live_rows:
            continue
        trial = {**kept, j: sign}
        if _consistent(gram, trial, epsilon, offset):
            kept = trial
    return kept


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
        A starting set ``{index: sign}`` (e.g. the neighbour's on an epsilon path). Its live rows start
        the method as far as they are consistent together, taken in the order given
        (:func:`_consistent_subset`): a row that would contradict those before it is left out, to join
        later if it is violated.
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
    active = _consistent_subset(gram, initial or {}, epsilon, offset, live)
    max_steps = 4 * len(live) + 10 if max_steps is None else max_steps
    last, solved = None, set()
    for _ in range(max_steps):
        order = sorted(active)
        solved.add(_key(active))
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
        joined = _join(active, violated, values, mu, gram, epsilon, offset, solved)
        if joined is None:
            return outcome, False
        active = joined
    return last, False


def _key(active: dict) -> frozenset:
    """An active set with its signs, as a hashable key."""
    return frozenset(active.items())


def _join(active: dict, violated: list, values: np.ndarray, mu: np.ndarray, gram: np.ndarray, epsilon: float,
          offset: np.ndarray, solved: set = frozenset()) -> dict | None:
    r"""The next active set: the most violated row that can join :math:`A`, else an exchange, else ``None``.

    A violated row :math:`u_l` that depends on the active rows (:math:`G` groups give :math:`G` rows in
    :math:`G - 1` dimensions) cannot join them when their equalities fix :math:`\langle w, u_l\rangle` at
    the violating value. One of the rows it depends on must leave at the same step: the exchange tried
    first is the one with the smallest :math:`|\mu_j|` (the constraint that costs least to release).
    A candidate in ``solved`` (the sets already solved) is passed over: solving it again would repeat its
    step and close a cycle.
    """
    order = sorted(violated, key=lambda j: -abs(values[j] + offset[j]))
    for j in order:
        trial = dict(active)
        trial[j] = float(np.sign(values[j] + offset[j]))
        if _key(trial) not in solved and _consistent(gram, trial, epsilon, offset):
            return trial
    for j in order:
        for leaving in sorted(active, key=lambda i: abs(mu[i])):
            trial = {i: s for i, s in active.items() if i != leaving}
            trial[j] = float(np.sign(values[j] + offset[j]))
            if _key(trial) not in solved and _consistent(gram, trial, epsilon, offset):
                return trial
    return None
