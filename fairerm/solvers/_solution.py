r"""What a backend returns, and the certified :class:`Solution` the front door makes of it.

A backend (one module per way of solving) returns a :class:`BackendResult`: its primal and dual
variables and its *own* report (status, iterations, diagnostics). The front door
(:func:`fairerm.solvers.solve`) turns it into a :class:`Solution`, whose ``status`` is
``"optimal"`` only when the :class:`Certificate` computed from the returned variables holds
(see :mod:`fairerm.solvers._certificate`); the backend's own word is kept as ``backend_status``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["BackendResult", "Certificate", "Fallback", "Solution"]


@dataclass
class BackendResult:
    r"""The raw output of one backend.

    Attributes
    ----------
    alpha : ndarray (n,)
        Multipliers of the margin constraints.
    mu : ndarray (k,)
        Signed multipliers of the fairness constraints (:math:`\mu_j > 0` where
        :math:`\langle w, u_j\rangle = +\epsilon` is active).
    intercept : float
    coef : ndarray (d,) or None
        The primal :math:`w` of a linear problem (``None``: :math:`w = w(\alpha, \mu)`).
    expansion_coef : ndarray (n,) or None
        :math:`\beta` with :math:`w = \sum_i\beta_i\phi(x_i)` of a kernel problem (``None``:
        :math:`\beta = y\circ\alpha - C^{u\top}\mu`).
    status : str
        The backend's own status (``"optimal"``, ``"solved"``, ``"max_iter_reached"``, ...).
    converged : bool
        Whether the backend met its own stopping rule.
    n_iter : int
    info : dict
        Backend diagnostics (free form; estimators never read them).
    warm_state : object
        What the same backend can restart from (opaque to everyone else).
    """

    alpha: np.ndarray
    mu: np.ndarray
    intercept: float
    status: str
    converged: bool
    coef: np.ndarray | None = None
    expansion_coef: np.ndarray | None = None
    n_iter: int = 0
    info: dict[str, Any] = field(default_factory=dict)
    warm_state: Any = None


@dataclass(frozen=True)
class Certificate:
    r"""Optimality of a returned point, recomputed from its primal and dual variables.

    With :math:`P` the primal objective at the returned :math:`(w, b)` and :math:`D` the dual
    objective at the returned :math:`(\alpha, \mu)` made feasible (:math:`0\le\alpha\le c`,
    :math:`y^\top\alpha = 0`), weak duality gives :math:`D \le P^\star \le P` whenever the returned
    :math:`w` satisfies the constraints, so :math:`P - P^\star \le P - D`.

    Attributes
    ----------
    primal_objective, dual_objective : float
        :math:`P` and :math:`D` (a lower bound on the optimum).
    duality_gap : float
        :math:`P - D`.
    relative_gap : float
        :math:`(P - D) / \max(|P|, |D|)`.
    max_violation : float
        :math:`\max_j (|\langle w, u_j\rangle| - \epsilon)_+`.
    gap_tol, violation_tol : float
        The tolerances the certificate is judged by.
    convex : bool
        False for a kernel that is not positive semi-definite: the gap then certifies a stationary
        point, not a global optimum.
    round_off : float
        :math:`\rho`, a bound of the floating-point error of :math:`P - D` (:func:`fairerm.solvers._certificate.round_off`);
        included in ``relative_gap`` :math:`= (P - D + \rho)/\max(|P|,|D|)`, which is :math:`+\infty` when
        :math:`P - D < -\rho` (a dual above the primal: the numbers are wrong).
    w_norm_sq_below_zero : bool
        The computed :math:`\|w\|^2` was negative beyond its round-off (``relative_gap`` is then :math:`+\infty`).
    """

    primal_objective: float
    dual_objective: float
    duality_gap: float
    relative_gap: float
    max_violation: float
    gap_tol: float
    violation_tol: float
    convex: bool = True
    round_off: float = 0.0
    w_norm_sq_below_zero: bool = False

    @property
    def holds(self) -> bool:
        """Relative gap and constraint violation both within their tolerances."""
        return bool(self.relative_gap <= self.gap_tol and self.max_violation <= self.violation_tol)

    def describe(self) -> str:
        """One line for a warning: the measured gap and violation against their tolerances."""
        why = ""
        if self.w_norm_sq_below_zero:
            why = "; ||w||^2 computed below zero beyond round-off: the numbers are wrong"
        elif self.duality_gap < -self.round_off and not self.relative_gap < float("inf"):
            why = "; dual above primal beyond round-off: the numbers are wrong"
        rounding = f", round-off bound {self.round_off:.3g}" if self.round_off else ""
        return (f"relative duality gap {self.relative_gap:.3g} (primal {self.primal_objective:.8g}, dual "
                f"{self.dual_objective:.8g}{rounding}; tolerance {self.gap_tol:g}{why}), constraint violation "
                f"{self.max_violation:.3g} (tolerance {self.violation_tol:.3g})")


@dataclass(frozen=True)
class Fallback:
    """A solver that ``solver="auto"`` tried and left, and why."""

    solver: str
    reason: str


@dataclass
class Solution:
    r"""A solution of a FERM problem (see :mod:`fairerm.problem`), certified by the front door.

    Attributes
    ----------
    solver : str
        The backend that produced it.
    status : str
        ``"optimal"`` exactly when :attr:`certificate` holds. Otherwise the backend's own status
        when it stopped early (e.g. ``"max_iter_reached"``), or ``"inaccurate"`` when it claimed
        convergence that the certificate does not confirm.
    converged : bool
        ``status == "optimal"``.
    intercept : float
        :math:`b`.
    mu : ndarray (k,)
        Signed multipliers of the fairness constraints.
    constraint_value : ndarray (k,)
        :math:`\langle w, u_j\rangle`, computed from the returned :math:`w`.
    primal_objective, dual_objective : float
        From the certificate.
    alpha : ndarray (n,)
        Multipliers of the margin constraints.
    coef : ndarray (d,) or None
        :math:`w` (linear problems).
    expansion_coef : ndarray (n,) or None
        :math:`\beta`, :math:`w = \sum_i\beta_i\phi(x_i)` (kernel problems).
    w_norm_sq : float
        :math:`\|w\|^2`.
    training_decision_values : ndarray (n,)
        :math:`f(x_i) = \langle w, \phi(x_i)\rangle + b` on the training points (computed for the
        certificate, so free to the caller).
    n_iter : int
        Iterations of the backend (summed over refinements and fallbacks tried).
    solve_time : float
        Seconds, from the front door's call to its return.
    backend_status : str
        What the backend itself reported.
    certificate : Certificate
    fallbacks : list of Fallback
        The solvers ``"auto"`` tried before this one, with the reason each was left.
    refinements : int
        How many times the backend was restarted with a tighter tolerance to meet the certificate.
    info : dict
        Backend diagnostics (never read by the estimators).
    warm_state : object
        Backend state a later solve of the same data can restart from.
    """

    solver: str
    status: str
    converged: bool
    intercept: float
    mu: np.ndarray
    constraint_value: np.ndarray
    primal_objective: float
    dual_objective: float
    alpha: np.ndarray
    coef: np.ndarray | None = None
    expansion_coef: np.ndarray | None = None
    w_norm_sq: float = float("nan")
    training_decision_values: np.ndarray | None = field(default=None, repr=False)
    n_iter: int = 0
    solve_time: float = 0.0
    backend_status: str = ""
    certificate: Certificate | None = None
    fallbacks: list[Fallback] = field(default_factory=list)
    refinements: int = 0
    info: dict[str, Any] = field(default_factory=dict, repr=False)
    warm_state: Any = field(default=None, repr=False)

    @property
    def duality_gap(self) -> float:
        """Primal minus dual objective (non-negative up to round-off for a convex problem)."""
        return self.primal_objective - self.dual_objective

    @property
    def relative_gap(self) -> float:
        return float("nan") if self.certificate is None else self.certificate.relative_gap
