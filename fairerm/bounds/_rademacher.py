r"""The uniform-convergence (Rademacher) bounds: Donini et al. (2018), Thm 1, constants derived here."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_option
from ..exceptions import FairermTypeError, FairermValueError
from ._common import RATE_GAP_NAMES, cell_indices, rate_gaps, score_gap_columns, score_gaps
from ._report import GeneralizationReport
from ._terms import (
    NormGridCell,
    binomial_lower_bound,
    binomial_upper_bound,
    expected_ramp_class_complexity,
    lower_ramp,
    monte_carlo_rademacher,
    norm_grid_cell,
    ramp_class_complexity,
    ramp_loss,
    ramp_uniform_deviation,
    upper_ramp,
)

__all__ = ["rademacher_report", "THEOREM"]

THEOREM = """\
After Donini et al. (2018), Thm 1 and its uniform-deviation assumption;
derived here from first principles (constants may differ from the paper's).
f(x) = <w, phi(x)> + b, h(x) = 1[f(x) > 0], g = margin gamma, c = intercept
scale, rho = sqrt(||w||^2 + (b/c)^2), r = smallest grid radius r_k >= rho.
With probability >= 1 - delta, all at once:
(R) P(h(x) != y) <= E ramp(y f(x)) <= mean_S ramp(y f) + B(n, d_R pi_k),
    ramp(t) = clip(1 - t/g, 0, 1), and B is one of (fixed in advance):
    empirical: B = 2 Rhat_S + 3 sqrt(ln(2/d) / (2n)),
      Rhat_S <= r sqrt(sum_i k(x_i, x_i) + n c^2) / (n g)  (the paper's
      r sqrt(tr K)/n for the kernel k + c^2; McDiarmid twice);
    expected (kappa known): B = 2 R_n + sqrt(ln(1/d) / (2n)),
      R_n <= r sqrt((kappa^2 + c^2) / n) / g  (McDiarmid once).
    (Symmetrisation and Talagrand's contraction for both.)
(F) for groups a, b: |E[f | C, a] - E[f | C, b]|
      <= |mean_(C,a) f - mean_(C,b) f| + ||w|| (D_a + D_b),
    D_g = kappa/sqrt(n_g) + Delta sqrt(ln(1/d_F) / (2 n_g))  (McDiarmid on
    the mean embedding ||m_hat_g - m_g||; holds for every w at once).
(T) for groups a, b: P(h=1 | C, a) - P(h=1 | C, b) <= U_a - L_b, with
    U_g = mean_g clip(1 + f/g, 0, 1) + dev_g >= P(h=1 | C, g),
    L_g = mean_g clip(f/g, 0, 1) - dev_g <= P(h=1 | C, g),
    dev_g = B(n_g, d_T pi_k) on cell (C, g), as in (R).
C is the notion's condition (y = +1 for equal opportunity), n_g the size of
cell (C, g). A FERM fit with |<w, u_hat>| <= eps_hat therefore has a true
score gap <= eps_hat + ||w|| (D_a + D_b): the paper's eps + sum_g B(n_g+).
Held-out sample (holdout=True; h fixed independently of the sample): in (R)
and (T) the errors and each cell's positives are binomial, and the exact
Clopper-Pearson tails (level d_R, d_T) replace ramp + complexity."""


def _norm_cell(class_norm: float, norm_bound: float | None, base: float, ratio: float) -> tuple[NormGridCell, str]:
    if norm_bound is not None:
        if class_norm > norm_bound * (1 + 1e-9):
            raise FairermValueError(
                f"norm_bound={norm_bound!r} is smaller than the model's norm sqrt(||w||^2 + (b/c)^2) = "
                f"{class_norm:.6g}; the fixed class does not contain the model. Leave norm_bound=None to use the "
                "radius grid."
            )
        return NormGridCell(0, float(norm_bound), 1.0), "given norm_bound"
    cell = norm_grid_cell(class_norm, base, ratio)
    return cell, f"grid r0*t^k, r0={base:g}, t={ratio:g}, k={cell.index}, pi_k={cell.weight:.2g}"


def _class_deviation(r: float, sq_norms: np.ndarray, kappa: float, intercept_scale: float, margin: float,
                     delta: float, kind: str) -> tuple[float, float, float]:
    """(Rademacher bound, complexity term, confidence term) of the ramp class on one sample or cell."""
    n = sq_norms.shape[0]
    if kind == "empirical":
        rademacher = ramp_class_complexity(r, sq_norms, intercept_scale, margin)
    else:
        rademacher = expected_ramp_class_complexity(r, n, kappa, intercept_scale, margin)
    complexity, confidence = ramp_uniform_deviation(rademacher, n, delta, empirical=kind == "empirical")
    return rademacher, complexity, confidence


def _cell_table(view, cells_idx, r, margin, intercept_scale, kappa, diameter, delta_score, delta_rate, weight, kind):
    rows = []
    for stratum, group, idx in cells_idx:
        f = view.scores[idx]
        if kind == "holdout":  # a fixed classifier: each rate is a binomial proportion
            positives = int(np.sum(f > 0))
            lower = binomial_lower_bound(positives, idx.size, delta_rate)
            upper = binomial_upper_bound(positives, idx.size, delta_rate)
            complexity, rate_confidence = 0.0, upper - positives / idx.size
        else:
            _, complexity, rate_confidence = _class_deviation(r, view.sq_feature_norms[idx], kappa,
                                                              intercept_scale, margin, delta_rate * weight, kind)
            lower = float(lower_ramp(f, margin).mean()) - complexity - rate_confidence
            upper = float(upper_ramp(f, margin).mean()) + complexity + rate_confidence
        rows.append({
            "stratum": stratum, "group": group, "n": int(idx.size),
            **score_gap_columns(view, idx, kappa, diameter, delta_score),
            "rate": float(np.mean(f > 0)), "lower_ramp_mean": float(lower_ramp(f, margin).mean()),
            "upper_ramp_mean": float(upper_ramp(f, margin).mean()), "rate_complexity": complexity,
            "rate_confidence": rate_confidence,
            "rate_lower_bound": lower, "rate_upper_bound": upper,
        })
    return pd.DataFrame(rows)


def _complexity_kind(complexity: str, scale_source: str, holdout: bool) -> str:
    check_option(complexity, "complexity", ("auto", "empirical", "expected"))
    if not isinstance(holdout, (bool, np.bool_)):
        raise FairermTypeError(f"holdout must be True or False; got {holdout!r}.")
    if holdout:
        return "holdout"
    if complexity == "auto":
        return "empirical" if scale_source == "estimated" else "expected"
    if complexity == "expected" and scale_source == "estimated":
        raise FairermValueError(
            "complexity='expected' needs a bound on ||phi(x)|| known before seeing the data: pass feature_bound=... "
            "(or use an RBF kernel), or use complexity='empirical'."
        )
    return complexity


def _assumptions(view, norm_source, base, ratio, scale_source, kappa, norm_bound, kind) -> list[str]:
    if norm_bound is None:
        norm_text = (f"The radius grid r_k = r0*t^k (r0 = {base:g}, t = {ratio:g}) is fixed before seeing data; "
                     "the statement for r_k gets delta*pi_k, pi_k = 1/((k+1)(k+2)), so the fitted, data-dependent "
                     f"rho is covered honestly ({norm_source}).")
    else:
        norm_text = "norm_bound was fixed before seeing the data (otherwise the risk and rate bounds are not valid)."
    scale = {
        "exact": f"sup_x ||phi(x)|| = kappa = {kappa:g} holds for every x (RBF kernel: k(x, x) = 1).",
        "given": f"sup_x ||phi(x)|| <= kappa = {kappa:g} (feature_bound, given by the user) holds for every x the "
                 "distribution can produce.",
        "estimated": f"ASSUMED, not guaranteed: sup_x ||phi(x)|| <= kappa = {kappa:.4g}, the largest norm in the "
                     "sample. Only (F) uses it ((R) and (T) then use the empirical complexity, which needs no "
                     "bound); pass feature_bound= (a bound known a priori) to make (F) rigorous.",
    }[scale_source]
    holdout = "The sample was NOT used to fit the model (holdout=True): (R) and (T) then bound a fixed classifier " \
        "with exact binomial (Clopper-Pearson) tails; no complexity term. " if kind == "holdout" else \
        "It may be the training sample: each statement is uniform over the class, so it holds for the fitted model. "
    items = [
        "The sample (x_i, s_i, y_i), i = 1..n, is i.i.d. from the distribution the bounds speak about. " + holdout
        + "Given all labels and groups, each cell's x are i.i.d. from P(x | cell) (used by (F) and (T)).",
        f"Class {{x -> <w, phi(x)> + b : ||w||^2 + (b/c)^2 <= r^2}}, phi: {view.feature_map}. {norm_text}",
        scale,
        "(R) and (T) treat the intercept as the weight of a constant feature c (intercept_scale, fixed in "
        "advance), so rho = sqrt(||w||^2 + (b/c)^2) is the norm that enters. "
        "(R) bounds the ramp (clipped hinge) loss, in [0, 1] and 1/gamma-Lipschitz; it dominates the 0-1 loss of "
        "h. The hinge loss the SVM minimises is unbounded and is not bounded here.",
        "(F) is the theorem's fairness quantity: FERM's linear loss is affine in f, so its group gap is a fixed "
        "multiple of the score gap |<w, u>| reported here (what the estimators constrain by epsilon). (T) is the "
        "gap of the thresholded classifier h (DEO for equal opportunity), a different quantity with its own bound.",
    ]
    items += view.caveats
    if view.feature_map.startswith("identity") and view.name.startswith("Pipeline") and not view.caveats:
        items.append("Pipeline: the steps before the final model are affine (checked on the sample), so f is linear "
                     "in the raw features; ||w|| is the norm of the effective weights.")
    return items


def _risk_terms(view, y_signed, kind, r, kappa, intercept_scale, margin, delta_grid, delta_risk) -> dict:
    """Empirical 0-1 error and ramp loss, and the (R) bound's terms (uniform, or binomial on a held-out sample)."""
    n = y_signed.shape[0]
    n_errors = int(np.sum((view.scores > 0) != (y_signed > 0)))
    out = {"error": n_errors / n, "ramp": float(ramp_loss(y_signed * view.scores, margin).mean())}
    if kind == "holdout":
        upper = binomial_upper_bound(n_errors, n, delta_risk)
        out.update(rademacher=0.0, complexity=0.0, confidence=upper - out["error"], upper=upper)
    else:
        rademacher, complexity, confidence = _class_deviation(r, view.sq_feature_norms, kappa, intercept_scale,
                                                              margin, delta_grid, kind)
        out.update(rademacher=rademacher, complexity=complexity, confidence=confidence,
                   upper=out["ramp"] + complexity + confidence)
    return out


def _monte_carlo_complexity(view, intercept_scale, draws, random_state) -> tuple[float, float]:
    """Monte Carlo (1/n) E||sum_i sigma_i (phi(x_i), c)|| and its standard error (NaN when not asked)."""
    if not draws:
        return np.nan, np.nan

    def augmented_matvec(S):  # the Gram matrix of the kernel k + c^2
        return view.gram_matvec(S) + intercept_scale**2 * S.sum(axis=0, keepdims=True)

    return monte_carlo_rademacher(augmented_matvec, view.scores.shape[0], int(draws),
                                  np.random.default_rng(random_state))


def _events(cells, n, kind, delta_risk, delta_score, delta_rate) -> list:
    """Every event of the union bound with its failure probability."""
    events = [(f"(R) risk, over the whole sample (n = {n}), spread over the radius grid", delta_risk)
              if kind != "holdout" else (f"(R) risk: binomial tail of the held-out errors (n = {n})", delta_risk)]
    keys = list(zip(cells["stratum"], cells["group"], cells["n"]))
    events += [(f"(F) mean embedding of cell {st}, group {g} (n = {m})", delta_score) for st, g, m in keys]
    events += [(f"(T) upper and lower rate of cell {st}, group {g} (each)", delta_rate) for st, g, _ in keys]
    return events




def rademacher_report(view, y_signed, sens, strata, constraint, *, delta, margin, intercept_scale, kappa, diameter,
                      scale_source, norm_bound, base, ratio, complexity, holdout, rademacher_draws,
                      random_state) -> GeneralizationReport:
    """The report of the uniform (Rademacher) bounds, or of the exact binomial ones with ``holdout``."""
    n = view.scores.shape[0]
    class_norm = float(np.hypot(view.weight_norm, view.intercept / intercept_scale))
    cell, norm_source = _norm_cell(class_norm, norm_bound, base, ratio)
    r = cell.radius
    cells_idx = cell_indices(strata, sens)
    n_cells = len(cells_idx)
    delta_risk, delta_score, delta_rate = delta / 3.0, delta / (3.0 * n_cells), delta / (6.0 * n_cells)
    kind = _complexity_kind(complexity, scale_source, holdout)
    cells = _cell_table(view, cells_idx, r, margin, intercept_scale, kappa, diameter, delta_score, delta_rate,
                        cell.weight, kind)
    emp_score, bound_score = score_gaps(cells)
    emp_rate, bound_rate = rate_gaps(cells)
    risk = _risk_terms(view, y_signed, kind, r, kappa, intercept_scale, margin, delta_risk * cell.weight,
                       delta_risk)
    mc, mc_se = _monte_carlo_complexity(view, intercept_scale, rademacher_draws, random_state)
    method = "holdout" if kind == "holdout" else "rademacher"
    return GeneralizationReport(
        model_name=view.name, feature_map=view.feature_map, n_samples=n, delta=float(delta), margin=float(margin),
        notion=constraint.name, rate_gap_name=RATE_GAP_NAMES[constraint.name], empirical_error=risk["error"],
        empirical_ramp_loss=risk["ramp"], risk_bound=min(1.0, risk["upper"]),
        weight_norm=view.weight_norm, intercept=view.intercept, intercept_scale=float(intercept_scale),
        class_norm=class_norm, grid_radius=r, grid_index=cell.index, grid_weight=cell.weight,
        norm_source=norm_source, rademacher_bound=risk["rademacher"], complexity_kind=kind,
        rademacher_monte_carlo=r * mc / margin, rademacher_monte_carlo_se=r * mc_se / margin,
        risk_complexity_term=risk["complexity"], risk_confidence_term=risk["confidence"], risk_delta=delta_risk,
        feature_bound=kappa,
        feature_diameter=diameter, feature_bound_source=scale_source, empirical_fairness=emp_score,
        fairness_bound=bound_score, empirical_rate_gap=emp_rate, rate_gap_bound=bound_rate, cells=cells,
        events=_events(cells, n, kind, delta_risk, delta_score, delta_rate), theorem=THEOREM,
        assumptions=_assumptions(view, norm_source, base, ratio, scale_source, kappa, norm_bound, kind),
        method=method, majority_error=float(min(np.mean(y_signed > 0), np.mean(y_signed < 0))),
        classifier=("the fixed classifier h(x) = 1[f(x) > 0], fitted on other data than this sample"
                    if kind == "holdout" else "the deployed classifier h(x) = 1[f(x) > 0] (every f of the class)"),
    )
