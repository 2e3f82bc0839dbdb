r"""PAC-Bayes bounds with data-dependent priors for the deployed classifier (the default method).

The derivation, every constant and the grids are in ``docs/bounds.rst``; the two inequalities it
chains are in :mod:`fairerm.bounds._kl` (the PAC-Bayes-kl theorem) and
:mod:`fairerm.bounds._gaussian` (Gaussian posteriors, and the deterministic classifier from a Gibbs
margin loss). In short, for the fitted score :math:`f` and the deployed :math:`h = \mathbf 1[f > 0]`:

* **risk** -- the sample is split at random (``random_state``, independent of the data) into a
  prior part and a bound part of :math:`m` rows. A copy of the model fitted on the prior part
  gives the prior classifier :math:`h_p` and the prior's mean and covariance. Pointwise
  :math:`\mathbf 1[h \ne y] \le \mathbf 1[yf_p \le 0] + \mathbf 1[yf_p > 0]\mathbf 1[yf \le 0]`:
  the first term is a fixed event on the bound part (exact Clopper-Pearson tail), the second is
  bounded by the margin statement;
* **rates** -- for each cell :math:`C` (group x label), a random three quarters :math:`C_b` of the
  cell are the bound part and the prior is fitted on every other row, with the remaining quarter of
  :math:`C` counted four times (so that the cell keeps its weight): given all labels and groups, the
  :math:`x` of :math:`C_b` are i.i.d. from :math:`P(x \mid C)` and independent of that prior. Then
  :math:`P_C(h = 1) \le P_C(h_p = 1) + P_C(f \ge 0, h_p = 0)` and
  :math:`P_C(h = 1) \ge P_C(h_p = 1) - P_C(f \le 0, h_p = 1)`, binomial tails for the first terms
  and margin statements for the second. The gap bound is the largest upper minus the smallest
  lower rate.

Without a prior (``prior=None``, a model that cannot be refitted, or fewer than 20 rows) the
prior is :math:`\mathcal N(0, I)` on :math:`(\phi(x), c)`, the whole sample (or cell) is the bound
part and the margin statements bound :math:`P(\tilde yf \le 0)` directly.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..kernels import gram_block
from ._common import RATE_GAP_NAMES, cell_indices, rate_gaps, score_gap_columns, score_gaps
from ._floors import route_floors
from ._gaussian import (
    ETA_GRID,
    SHRINK_GRID,
    THETA_GRID,
    LandmarkCovariance,
    explicit_family,
    kernel_family,
    margin_statement,
)
from ._report import GeneralizationReport
from ._terms import binomial_lower_bound, binomial_upper_bound

__all__ = ["pac_bayes_report", "THEOREM", "THEOREM_SHORT", "RIDGE_REL", "N_LANDMARKS", "MIN_SPLIT"]

RIDGE_REL = 1e-3  # lambda = 1e-3 tr(C_prior) in M = C_prior + lambda I
N_LANDMARKS = 1500  # kernel models: the prior covariance is estimated on at most this many prior rows
CELL_BOUND_SHARE = 0.75  # each cell's rates are bounded on this share of the cell; the rest is counted 4 times
MIN_SPLIT = 20  # fewer rows (or a cell of one row): no data-dependent prior
_EXPLICIT_MAX = 2000  # finite-dimensional features up to this dimension get the prior's covariance
RISK = "(risk)"  # the stratum name of the risk statements in ``report.statements``

THEOREM = f"""\
PAC-Bayes-kl (Seeger 2002, Maurer 2004): for a loss in [0, 1] and a prior P
fixed before the m bound rows, w.p. >= 1 - d, for every posterior Q at once:
  kl(E_Q emp loss || E_Q true loss) <= (KL(Q||P) + ln(xi(m)/d)) / m,
  xi(m) = sum_k C(m,k) (k/m)^k (1-k/m)^(m-k) <= 2 sqrt(m).
Scores g(x) = <v, (phi(x), c)>. Prior P = GP(eta f_p/|f_p|_M, k_M), f_p fitted
on the prior rows, k_M(x,x') = <phi~(x), M^-1 phi~(x')>, M = C_prior + lambda I.
Posterior Q = GP(mu f/|f|_M, covariance of P shrunk by t_k = 1/(1+a q_k)),
mu > 0 free: KL = sum_k (t_k-1-ln t_k)/2 + (mu^2+eta^2-2 mu eta cos_M)/2,
g(x) ~ N(mu f(x)/|f|_M, s_a(x)^2). Deployed h(x) = 1[f(x) > 0]: where
y f(x) <= 0, Q(y g(x) <= theta s_a(x)) >= Phi(theta), so
  P(y f <= 0, w) <= kl^-1(mean_i w_i Phi(theta - mu y_i f_i/(|f|_M s_a(x_i))),
                   (KL + ln(J xi(m)/d))/m) / Phi(theta),
minimised over mu and over the grid fixed in advance (J = |theta| |a| |eta|):
theta in {THETA_GRID}, a in {{0, 10^(k/2): k = 0..6}},
eta in {{0, 2^k: k = 0..13}} (a = 0 only for kernels without a prior,
eta = 0 only without a prior). w = 1 [prior classifier right] for the risk,
1[h_p = 0] / 1[h_p = 1] for the upper / lower rate of a cell; the prior
classifier's own errors and rates on the bound rows are exact binomial
(Clopper-Pearson) tails. (F), the mean-score gap, is Donini et al.'s uniform
statement: |mean_a f - mean_b f| + ||w|| (D_a + D_b), D_g as in the
Rademacher report. delta: d_R = d/3 (half binomial, half margin), d/(3m)
per cell for (F), d/(6m) per cell and side for the rates (halved likewise)."""


THEOREM_SHORT = """\
Theorem used for the training sample (docs/bounds.rst; the held-out column is Clopper-Pearson):
  with probability >= 1 - delta, for the deployed h(x) = 1[f(x) > 0],
  P(h(x) != y) <= CP(errors of h_p) + kl^-1(L, (KL(Q||P) + ln(J xi(m)/d)) / m) / Phi(theta),
  h_p = the model refitted on the prior rows, CP its Clopper-Pearson tail on the m bound rows,
  L = mean over the bound rows where h_p is right of Phi(theta - mu y f(x) / (|f|_M s(x))),
  Q = Gaussian around f, P = Gaussian around h_p's score (PAC-Bayes-kl, Seeger 2002 / Maurer 2004);
  each group's rate likewise on 3/4 of its cell; DEO <= largest upper - smallest lower rate."""


def _refit(view, rows, labels, groups):
    """The prior: a copy of the model fitted on ``rows`` (None and the reason if that is not possible)."""
    if view.refit is None:
        return None, "the model cannot be refitted (no prior)"
    try:
        return view.refit(rows, labels, groups), None
    except Exception as exc:  # noqa: BLE001 - any failure to fit on the prior rows means "no prior"
        return None, f"the prior fit failed on its rows ({type(exc).__name__}: {str(exc)[:120]})"


def _landmark_covariance(view, candidates, intercept_scale, rng):
    """The prior covariance of a kernel model, on at most N_LANDMARKS rows drawn from ``candidates``."""
    if view.coef is not None or candidates.size == 0:
        return None
    landmarks = np.sort(rng.choice(candidates, size=min(N_LANDMARKS, candidates.size), replace=False))
    points, spec, c2 = view.features, view.kernel, intercept_scale**2
    covariance = LandmarkCovariance(gram_block(points[landmarks], points[landmarks], spec) + c2,
                                    lambda rows: gram_block(points[rows], points[landmarks], spec) + c2, RIDGE_REL)
    covariance.landmarks = landmarks
    return covariance


def _family(view, prior_view, cov_rows, intercept_scale, covariance):
    """The Gaussian prior/posterior family of a statement whose prior was fitted on ``cov_rows``."""
    c = intercept_scale
    if view.coef is not None:
        features = np.hstack([view.features, np.full((view.features.shape[0], 1), c)])
        weights = np.append(view.coef, view.intercept / c)
        if prior_view is None:
            return explicit_family(features, weights)
        prior_weights = np.append(prior_view.coef, prior_view.intercept / c)
        prior_features = features[cov_rows] if features.shape[1] <= _EXPLICIT_MAX else None
        return explicit_family(features, weights, prior_features, prior_weights, RIDGE_REL)
    sq_norms = view.sq_feature_norms + c * c
    class_sq_norm = view.weight_norm**2 + (view.intercept / c) ** 2
    if prior_view is None or covariance is None:
        return kernel_family(None, sq_norms, class_sq_norm=class_sq_norm)
    inner = float(prior_view.expansion_coef @ (view.scores[prior_view.expansion_rows] - view.intercept)
                  + view.intercept * prior_view.intercept / c**2)
    prior_sq_norm = prior_view.weight_norm**2 + (prior_view.intercept / c) ** 2
    landmarks = covariance.landmarks
    return kernel_family(covariance, sq_norms, view.scores[landmarks], class_sq_norm, prior_view.scores[landmarks],
                         prior_sq_norm, inner)


def _risk_stream(random_state):
    """The random stream of the risk statement's landmarks: a child of the seed, independent of the splits."""
    return np.random.default_rng(np.random.SeedSequence(random_state).spawn(1)[0])


def _splits(n, cells_idx, use_prior, prior_fraction, rng):
    """Every random split, drawn first from the seed alone: (prior rows, bound rows), and per cell
    (bound part, kept part) or None."""
    if not use_prior:
        return (np.arange(0), np.arange(n)), [None] * len(cells_idx)
    perm = rng.permutation(n)
    size = min(max(int(round(prior_fraction * n)), 1), n - 1)
    risk = (np.sort(perm[:size]), np.sort(perm[size:]))
    cells = []
    for _, _, idx in cells_idx:
        if idx.size < 2:
            cells.append(None)
            continue
        shuffled = rng.permutation(idx)
        size = min(int(math.ceil(idx.size * CELL_BOUND_SHARE)), idx.size - 1)
        cells.append((np.sort(shuffled[:size]), np.sort(shuffled[size:])))
    return risk, cells


def _statement_row(name, part, st, binomial=np.nan):
    """One statement: its margin part ``st`` and, with a prior, the binomial tail of the prior
    classifier (spent with the same share of delta as the margin part)."""
    has_binomial = np.isfinite(binomial)
    if name == "lower rate":
        value = max(0.0, (binomial if has_binomial else 1.0) - st.bound)
    else:
        value = min(1.0, (binomial if has_binomial else 0.0) + st.bound)
    return {"statement": name, "part": part, "n": st.n, "delta": st.delta, "union": st.union_size,
            "theta": st.theta, "shrink_a": st.shrink, "eta": st.eta, "mu": st.mu, "kl": st.kl,
            "gibbs_loss": st.gibbs_loss, "deterministic_loss": st.deterministic_loss, "binomial": binomial,
            "binomial_delta": st.delta if has_binomial else 0.0, "margin_bound": st.bound, "value": value,
            "prior_cosine": np.nan}


def _risk(view, y_signed, split, use_prior, labels, groups, intercept_scale, covariance, delta_risk):
    """Risk bound: the smaller of the prior-free statement on every row and, with a prior, the
    data-dependent one on the bound rows (each with half of ``delta_risk``)."""
    prior_rows, rows = split
    signed = y_signed * view.scores
    everything = np.arange(y_signed.shape[0])
    level = delta_risk / 2 if use_prior else delta_risk
    free = margin_statement(_family(view, None, prior_rows, intercept_scale, None), everything, signed,
                            np.ones(everything.size), level)
    statements = [_statement_row("risk P(h != y)", "N(0, I), all rows", free)]
    if not use_prior:
        return free.bound, statements, None
    prior_view, note = _refit(view, prior_rows, labels, groups)
    family = _family(view, prior_view, prior_rows, intercept_scale, covariance)
    if prior_view is None:
        st = margin_statement(family, rows, signed[rows], np.ones(rows.size), level)
        statements.append(_statement_row("risk P(h != y)", "N(0, I), bound rows", st))
        return min(free.bound, statements[-1]["value"]), statements, note
    prior_wrong = y_signed[rows] * prior_view.scores[rows] <= 0
    binomial = binomial_upper_bound(int(prior_wrong.sum()), rows.size, level / 2)
    st = margin_statement(family, rows, signed[rows], (~prior_wrong).astype(float), level / 2)
    statements.append(_statement_row("risk P(h != y)", "prior: errors of h_p + margin", st, binomial))
    statements[-1]["prior_cosine"] = family.cosine
    return min(free.bound, statements[-1]["value"]), statements, note


def _cell(view, idx, others, split, labels, groups, intercept_scale, covariance, delta_side):
    """(lower, upper) bounds on P(h = 1 | cell), the statement rows, the bound rows, the prior note, prior rate.

    Each side is the better of the prior-free statement on the whole cell and, with a split, the
    data-dependent one on the cell's bound part (half of ``delta_side`` each)."""
    level = delta_side / 2 if split is not None else delta_side
    f_all = view.scores[idx]
    free = _family(view, None, idx[:0], intercept_scale, None)
    free_up = margin_statement(free, idx, -f_all, np.ones(idx.size), level)
    free_down = margin_statement(free, idx, f_all, np.ones(idx.size), level)
    statements = [_statement_row("upper rate", "N(0, I), whole cell", free_up),
                  _statement_row("lower rate", "N(0, I), whole cell", free_down)]
    upper, lower = min(1.0, free_up.bound), max(0.0, 1.0 - free_down.bound)
    if split is None:
        return lower, upper, statements, idx, None, np.nan
    bound_rows, kept = split
    copies = int(round(1.0 / (1.0 - CELL_BOUND_SHARE)))  # the kept part repeated: the cell keeps its weight
    fit_rows = np.concatenate([others] + [kept] * copies)
    prior_view, note = _refit(view, fit_rows, labels, groups)
    family = _family(view, prior_view, fit_rows, intercept_scale, covariance)
    f = view.scores[bound_rows]
    if prior_view is None:
        up = margin_statement(family, bound_rows, -f, np.ones(f.size), level)
        down = margin_statement(family, bound_rows, f, np.ones(f.size), level)
        statements += [_statement_row("upper rate", "N(0, I), bound part", up),
                       _statement_row("lower rate", "N(0, I), bound part", down)]
        return (max(lower, statements[-1]["value"]), min(upper, statements[-2]["value"]), statements, bound_rows,
                note, np.nan)
    prior_positive = prior_view.scores[bound_rows] > 0
    k, m = int(prior_positive.sum()), bound_rows.size
    upper_binomial = binomial_upper_bound(k, m, level / 2)
    lower_binomial = binomial_lower_bound(k, m, level / 2)
    up = margin_statement(family, bound_rows, -f, (~prior_positive).astype(float), level / 2)
    down = margin_statement(family, bound_rows, f, prior_positive.astype(float), level / 2)
    statements += [_statement_row("upper rate", "prior: rate of h_p + margin", up, upper_binomial),
                   _statement_row("lower rate", "prior: rate of h_p - margin", down, lower_binomial)]
    for row in statements[-2:]:
        row["prior_cosine"] = family.cosine
    return (max(lower, statements[-1]["value"]), min(upper, statements[-2]["value"]), statements, bound_rows,
            note, k / m)


def pac_bayes_report(view, y_signed, sens, strata, constraint, *, delta, intercept_scale, kappa, diameter,
                     scale_source, prior, prior_fraction, random_state, labels, groups) -> GeneralizationReport:
    """The PAC-Bayes report (see the module docstring)."""
    n = y_signed.shape[0]
    rng = np.random.default_rng(random_state)
    cells_idx = cell_indices(strata, sens)
    n_cells = len(cells_idx)
    delta_risk, delta_score, delta_side = delta / 3.0, delta / (3.0 * n_cells), delta / (6.0 * n_cells)
    use_prior = prior is not None and view.refit is not None and n >= MIN_SPLIT
    risk_split, cell_splits = _splits(n, cells_idx, use_prior, prior_fraction, rng)
    covariance = risk_covariance = None
    if use_prior:  # kernel models: the prior covariance, on prior rows that no statement is evaluated on
        held = np.concatenate([risk_split[1]] + [split[0] for split in cell_splits if split is not None])
        covariance = _landmark_covariance(view, np.setdiff1d(risk_split[0], held), intercept_scale, rng)
        # The cells' parts depend on every row's label and group (the cells' statements are conditional on
        # them); the risk statement's prior may not: its landmarks are drawn from its prior rows alone, by a
        # stream of the seed that no label moves.
        risk_covariance = _landmark_covariance(view, risk_split[0], intercept_scale, _risk_stream(random_state))
    risk_bound, statements, risk_note = _risk(view, y_signed, risk_split, use_prior, labels, groups,
                                                      intercept_scale, risk_covariance, delta_risk)
    for row in statements:
        row.update(stratum=RISK, group="")
    rows, notes = [], ([f"risk: {risk_note}"] if risk_note else [])
    if not use_prior:
        risk_note = ("prior=None" if prior is None else "the model cannot be refitted" if view.refit is None
                     else f"fewer than {MIN_SPLIT} rows") + ": no data-dependent prior, N(0, I) on every row"
    everything = np.arange(n)
    for (stratum, group, idx), split in zip(cells_idx, cell_splits):
        lower, upper, cell_statements, cell_bound, note, prior_rate = _cell(
            view, idx, np.setdiff1d(everything, idx), split, labels, groups, intercept_scale, covariance,
            delta_side)
        for row in cell_statements:
            row.update(stratum=stratum, group=group)
        statements += cell_statements
        if note and split is not None:
            notes.append(f"cell {stratum} {group}: {note}")
        rows.append({"stratum": stratum, "group": group, "n": int(idx.size), "n_bound": int(cell_bound.size),
                     **score_gap_columns(view, idx, kappa, diameter, delta_score),
                     "rate": float(np.mean(view.scores[idx] > 0)), "prior_rate": prior_rate,
                     "rate_lower_bound": lower, "rate_upper_bound": upper})
    cells = pd.DataFrame(rows)
    emp_score, bound_score = score_gaps(cells)
    emp_rate, bound_rate = rate_gaps(cells)
    n_errors = int(np.sum((view.scores > 0) != (y_signed > 0)))
    error = n_errors / n
    table = pd.DataFrame(statements)
    limits = route_floors(table, cells, n_errors, n)
    risk_rows = table[table["stratum"] == RISK]
    risk_row = risk_rows.loc[risk_rows["value"].idxmin()]
    prior_rows, bound_rows = risk_split
    return GeneralizationReport(
        model_name=view.name, feature_map=view.feature_map, n_samples=n, delta=float(delta), margin=np.nan,
        notion=constraint.name, rate_gap_name=RATE_GAP_NAMES[constraint.name], empirical_error=error,
        empirical_ramp_loss=np.nan, risk_bound=float(risk_bound), weight_norm=view.weight_norm,
        intercept=view.intercept, intercept_scale=float(intercept_scale),
        class_norm=float(np.hypot(view.weight_norm, view.intercept / intercept_scale)), grid_radius=np.nan,
        grid_index=-1, grid_weight=np.nan, norm_source="", rademacher_bound=np.nan, complexity_kind="pac-bayes",
        rademacher_monte_carlo=np.nan, rademacher_monte_carlo_se=np.nan, risk_complexity_term=np.nan,
        risk_confidence_term=np.nan, risk_delta=delta_risk, feature_bound=kappa, feature_diameter=diameter,
        feature_bound_source=scale_source, empirical_fairness=emp_score, fairness_bound=bound_score,
        empirical_rate_gap=emp_rate, rate_gap_bound=bound_rate, cells=cells,
        events=_events(table, cells, delta_score), theorem=THEOREM,
        assumptions=_assumptions(view, scale_source, kappa, prior_fraction, use_prior, random_state) + notes,
        method="pac-bayes", majority_error=float(min(np.mean(y_signed > 0), np.mean(y_signed < 0))),
        classifier="the deployed classifier h(x) = 1[f(x) > 0] of the model passed in (deterministic)",
        statements=table, splits=_split_record(risk_split, cells_idx, cell_splits, covariance, risk_covariance),
        pac_bayes={"n_prior": int(prior_rows.size), "n_bound": int(bound_rows.size),
                   "prior": risk_note or "a copy of the model refitted on the prior rows",
                   "risk_attained_by": risk_row["part"], "risk_binomial": risk_row["binomial"],
                   "risk_margin": risk_row["margin_bound"], "risk_kl": risk_row["kl"], "risk_mu": risk_row["mu"],
                   "risk_theta": risk_row["theta"], "risk_gibbs_loss": risk_row["gibbs_loss"],
                   "prior_cosine": risk_rows["prior_cosine"].max(), "union_size": int(risk_row["union"]),
                   "risk_floor": limits["risk_floor"], "rate_gap_floor": limits["rate_gap_floor"],
                   "fixed_risk": limits["fixed_risk"], "fixed_rate_gap": limits["fixed_rate_gap"],
                   "floor_cells": limits["cells"]},
    )


def _split_record(risk_split, cells_idx, cell_splits, covariance, risk_covariance=None) -> dict:
    """The rows of every split, for inspection: which rows each prior may have seen (``landmarks``: the
    cells' prior covariance; ``risk_landmarks``: the risk statement's)."""
    record = {"risk": {"prior_rows": risk_split[0], "bound_rows": risk_split[1]},
              "landmarks": np.arange(0) if covariance is None else covariance.landmarks,
              "risk_landmarks": np.arange(0) if risk_covariance is None else risk_covariance.landmarks}
    for (stratum, group, idx), split in zip(cells_idx, cell_splits):
        bound, kept = (idx, idx[:0]) if split is None else split
        record[(stratum, group)] = {"bound_rows": bound, "kept_rows": kept}
    return record


def _events(table, cells, delta_score) -> list:
    """Every event of the union bound with its failure probability (they sum to delta)."""
    events = [(f"(F) mean embedding of cell {row.stratum} {row.group} (n = {row.n})", delta_score)
              for row in cells.itertuples(index=False)]
    for row in table.itertuples(index=False):
        where = "all rows" if row.stratum == RISK else f"cell {row.stratum} {row.group}"
        name = "(R) risk" if row.stratum == RISK else f"(T) {row.statement}"
        if row.binomial_delta > 0:
            events.append((f"{name}, {where}: binomial tail of the prior classifier on its {row.n} bound rows",
                           row.binomial_delta))
        events.append((f"{name}, {where}: margin statement ({row.part}, m = {row.n}, J = {row.union})", row.delta))
    return events


def _assumptions(view, scale_source, kappa, prior_fraction, use_prior, random_state) -> list[str]:
    split = (f"The sample is split by a random permutation (random_state={random_state!r}), independent of the "
             f"data: {prior_fraction:g} of the rows fit the risk's prior, the rest bound it; each cell's rates are "
             "bounded on a random three quarters of the cell, with a prior fitted on every other row (the remaining "
             "quarter four times). "
             "No prior sees the rows its statement is evaluated on." if use_prior else
             "No data-dependent prior: the prior N(0, I) on (phi(x), c) is fixed in advance and every row is used.")
    scale = {
        "exact": f"(F) uses sup_x ||phi(x)|| = kappa = {kappa:g} (RBF kernel: k(x, x) = 1).",
        "given": f"(F) uses sup_x ||phi(x)|| <= kappa = {kappa:g} (feature_bound, given by the user).",
        "estimated": f"(F) ASSUMES sup_x ||phi(x)|| <= kappa = {kappa:.4g}, the largest norm in the sample (pass "
                     "feature_bound= to make it rigorous); the risk and rate bounds need no bound on the features.",
    }[scale_source]
    items = [
        "The sample (x_i, s_i, y_i) is i.i.d. from the distribution the bounds speak about; given all labels and "
        "groups, each cell's x are i.i.d. from P(x | cell). The model was fitted on this sample (or on any data): "
        "the PAC-Bayes statements hold for every posterior at once, so the deployed model may depend on all rows.",
        split,
        "The model's hyperparameters, the kernel, intercept_scale c, the prior's covariance ridge "
        f"({RIDGE_REL:g} tr C) and the grids of theta, a and eta are fixed before seeing the data.",
        "The bounds are about the deterministic classifier h(x) = 1[f(x) > 0] that predict() uses (the Gibbs "
        "classifiers only serve the proof).",
        scale,
    ]
    return items + view.caveats


def grid_description() -> str:
    return (f"theta in {THETA_GRID}, a in {{0, 10^(k/2)}} ({len(SHRINK_GRID)} values), "
            f"eta in {{0, 2^k}} ({len(ETA_GRID)} values)")
