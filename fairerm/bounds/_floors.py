r"""What limits a PAC-Bayes report: the best its statements could give, and a fixed classifier's bound.

Every statement of :mod:`fairerm.bounds._pac_bayes` has the form (binomial tail of the prior
classifier) :math:`\pm` (margin statement), and a margin statement over :math:`m` rows at level
:math:`\delta` is

.. math:: B = \frac{\mathrm{kl}^{-1}_+\big(L,\ (\mathrm{KL}(Q\|P) + \ln(J\xi(m)/\delta))/m\big)}{\Phi(\theta)},
          \qquad L \ge \Phi(\theta)\,D,

where :math:`D = \frac1m\sum_iw_i\mathbf 1[\tilde y_if(x_i) \le 0]` is the deterministic loss
the statement pays for (the disagreement of :math:`h` with the prior classifier for a rate, the
errors of :math:`h` where :math:`h_p` is right for the risk): pointwise
:math:`\mathbf 1[\tilde yf \le 0] \le \mathbb E_Q\ell_\theta/\Phi(\theta)`
(:mod:`fairerm.bounds._gaussian`).

**Floor.** :math:`B \ge F = \mathrm{kl}^{-1}_+(D,\ \ln(\xi(m)/\delta)/m)` for *every* posterior
:math:`Q`, grid and :math:`\theta`. Proof: :math:`\mathrm{KL} \ge 0`, :math:`J \ge 1` and
:math:`\mathrm{kl}^{-1}_+(q, \varepsilon)` increases in :math:`\varepsilon`, so it suffices that
:math:`\mathrm{kl}^{-1}_+(L, \varepsilon)/c \ge \mathrm{kl}^{-1}_+(D, \varepsilon)` for
:math:`c = \Phi(\theta) \in (0, 1]` and :math:`L \ge cD`. The map
:math:`g(q) = \mathrm{kl}^{-1}_+(q, \varepsilon)` is nondecreasing and concave on :math:`[0, 1]`
(its hypograph :math:`\{(q, p): q \le p,\ \mathrm{kl}(q\|p) \le \varepsilon\}` is convex, kl being
jointly convex) with :math:`g(0) = 1 - e^{-\varepsilon} \ge 0`; so
:math:`g(L) \ge g(cD) \ge c\,g(D) + (1 - c)\,g(0) \ge c\,g(D)`. :math:`F` is what the statement
would give with an ideal posterior: no KL, no grid, a Gibbs loss equal to the deterministic one.
Replacing each data-dependent statement's margin part by its floor, with the same binomial tails,
splits and shares of :math:`\delta`, gives the **route floor** of each reported bound: no choice of
posterior family or grid can bring the data-dependent statements below it; only more rows, other
splits or another decomposition can. (The prior-free statements, made next to them on every row
or the whole cell, and alone where there is no prior classifier, have the same floor, but it says
little: from :math:`P = \mathcal N(0, I)` a Gibbs loss near :math:`D` costs a large KL.)

**Fixed classifier.** For comparison, the exact binomial (Clopper-Pearson) bounds that the same
rows would give for a classifier fixed before seeing them, with the whole share of :math:`\delta`
of each statement group (all risk statements; each cell and side): what these rows would say if
nothing had to be paid for :math:`h` being learned from them, as a held-out sample of this size
would. It is a reference, not a bound on :math:`h`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ._common import rate_gaps
from ._kl import kl_inverse_upper_scalar, log_maurer_xi
from ._terms import binomial_lower_bound, binomial_upper_bound

__all__ = ["margin_floor", "statement_floors", "route_floors"]

RISK_STRATUM = "(risk)"


def margin_floor(deterministic_loss: float, m: int, delta: float, union: int = 1, kl: float = 0.0) -> float:
    r""":math:`F = \mathrm{kl}^{-1}_+(D, (K + \ln(J\xi(m)/\delta))/m)` with :math:`J` = ``union`` and
    :math:`K` = ``kl`` (1 and 0 by default): the smallest value a margin statement over ``m`` rows at
    level ``delta``, spread over a grid of ``union`` posterior settings, can take for the
    deterministic loss ``D`` with a posterior of KL at least ``kl``."""
    if m <= 0:
        return 1.0
    eps = (float(kl) + log_maurer_xi(m) + math.log(max(int(union), 1)) - math.log(delta)) / m
    return min(1.0, kl_inverse_upper_scalar(float(deterministic_loss), eps))


def statement_floors(statements: pd.DataFrame, with_grid: bool = False, kl: float = 0.0) -> np.ndarray:
    """The route floor of every statement row (same binomial tail, margin part replaced by its floor);
    ``with_grid``: keep each statement's union over its grid (column ``union``), the floor of that grid;
    ``kl``: the floor for posteriors whose KL is at least this (a KL budget, see :func:`route_floors`)."""
    out = np.empty(len(statements))
    for i, row in enumerate(statements.itertuples(index=False)):
        floor = margin_floor(row.deterministic_loss, int(row.n), float(row.delta),
                             int(row.union) if with_grid else 1, kl)
        has_binomial = np.isfinite(row.binomial)
        if row.statement == "lower rate":
            out[i] = max(0.0, (row.binomial if has_binomial else 1.0) - floor)
        else:
            out[i] = min(1.0, (row.binomial if has_binomial else 0.0) + floor)
    return out


def _side_delta(block: pd.DataFrame) -> float:
    return float(block["delta"].sum() + block["binomial_delta"].sum())


def route_floors(statements: pd.DataFrame, cells: pd.DataFrame, n_errors: int, n: int,
                 with_grid: bool = False, kl: float = 0.0) -> dict:
    r"""The route floors and the fixed-classifier bounds of a PAC-Bayes report.

    Parameters
    ----------
    statements : DataFrame
        ``report.statements`` (columns ``stratum``, ``group``, ``statement``, ``n``, ``delta``,
        ``binomial``, ``binomial_delta``, ``deterministic_loss``, ``value``).
    cells : DataFrame
        ``report.cells`` (columns ``stratum``, ``group``, ``n``, ``rate``).
    n_errors, n : int
        Errors of the deployed classifier on the sample and the sample size.
    with_grid : bool
        Keep each statement's union over its grid of posterior settings (the floor of that grid,
        higher); the default, :math:`J = 1`, is the floor of every grid.
    kl : float
        The same KL in every statement (0: the floor). The KL at which a floor reaches a target is
        the budget a posterior would have for it, at a Gibbs loss equal to the deterministic one.

    Returns
    -------
    dict
        ``risk_floor``, ``rate_gap_floor`` (of the data-dependent statements, or of the prior-free ones
        where there is no prior classifier; each at most what those statements report), ``fixed_risk``,
        ``fixed_rate_gap`` (Clopper-Pearson for a classifier fixed in advance with these errors and
        rates), and ``cells``: a DataFrame of each cell's rate floors (``floor_lower``, ``floor_upper``) and
        fixed-classifier interval (``fixed_lower``, ``fixed_upper``).
    """
    floors = statement_floors(statements, with_grid, kl)
    data_dependent = np.isfinite(statements["binomial"].to_numpy(float))

    def route(side):  # the data-dependent statements of a side, or all of them where there are none
        return side & data_dependent if np.any(side & data_dependent) else side

    risk = (statements["stratum"] == RISK_STRATUM).to_numpy()
    rows = []
    for cell in cells.itertuples(index=False):
        mine = ((statements["stratum"] == cell.stratum) & (statements["group"] == cell.group)).to_numpy()
        upper, lower = mine & (statements["statement"] == "upper rate").to_numpy(), \
            mine & (statements["statement"] == "lower rate").to_numpy()
        k = int(round(cell.rate * cell.n))
        rows.append({"stratum": cell.stratum, "group": cell.group, "n": int(cell.n), "rate": cell.rate,
                     # the reported lower rate is the largest of its statements, the upper the smallest
                     "floor_lower": float(floors[route(lower)].max()),
                     "floor_upper": float(floors[route(upper)].min()),
                     "fixed_lower": binomial_lower_bound(k, int(cell.n), _side_delta(statements[lower])),
                     "fixed_upper": binomial_upper_bound(k, int(cell.n), _side_delta(statements[upper]))})
    table = pd.DataFrame(rows)

    def gap(lower_column, upper_column):  # largest upper minus smallest lower, as the report's gap
        return rate_gaps(table.rename(columns={lower_column: "rate_lower_bound", upper_column: "rate_upper_bound"}))[1]

    risk_delta = _side_delta(statements[risk])
    return {"risk_floor": float(floors[route(risk)].min()),
            "rate_gap_floor": gap("floor_lower", "floor_upper"),
            "fixed_risk": binomial_upper_bound(int(n_errors), int(n), risk_delta),
            "fixed_rate_gap": gap("fixed_lower", "fixed_upper"),
            "cells": table}
