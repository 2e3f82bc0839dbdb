"""The report object of :func:`fairerm.bounds.generalization_report`: numbers, theorem, assumptions."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["GeneralizationReport", "side_by_side"]

_WIDTH = 78


def _fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    if np.isinf(value):
        return "inf"
    return f"{value:.4f}" if abs(value) < 1e4 else f"{value:.3e}"


def _wrap(text: str, indent: str = "  ", width: int = _WIDTH) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width=width, initial_indent=indent, subsequent_indent=indent + "  ")


@dataclass
class GeneralizationReport:
    r"""High-probability upper bounds on the true risk and true unfairness of a fitted model.

    Produced by :func:`~fairerm.bounds.generalization_report`; every number is named below. With
    :math:`f` the model's score, :math:`h(x) = \mathbf 1[f(x) > 0]` its decisions, :math:`\|w\|` its
    weight norm, and the stated assumptions, with probability at least :math:`1 - \delta` over the
    sample *all* the bounds hold at once.

    Attributes
    ----------
    model_name, feature_map : str
    n_samples : int
    delta : float
        The total failure probability, split over the events in ``events``.
    margin : float
        :math:`\gamma` of the ramp losses.
    notion : str
        The fairness notion (``"equal_opportunity"``: each group's positives).
    rate_gap_name : str
        ``"DEO"``, ``"DDP"`` or ``"equalized odds gap"``.
    empirical_error : float
        :math:`\hat P(h(x) \ne y)`, the 0-1 error on the sample.
    empirical_ramp_loss : float
        :math:`\hat L_\gamma(f)`, mean ramp loss :math:`\min(1, \max(0, 1 - y f/\gamma))`.
    risk_bound : float
        Upper bound on the true 0-1 error (and, except with ``holdout=True``, on the true ramp risk), capped at 1.
    weight_norm, intercept, intercept_scale : float
        :math:`\|w\|`, :math:`b` and :math:`c`.
    class_norm, grid_radius : float
        :math:`\rho = (\|w\|^2 + (b/c)^2)^{1/2}` and the grid radius :math:`r \ge \rho` that the
        risk and rate statements use.
    grid_index : int
    grid_weight : float
        :math:`\pi_k` (the share of each event's :math:`\delta` spent on the grid cell :math:`k`).
    rademacher_bound : float
        ``"empirical"``: :math:`r\sqrt{\sum_i k(x_i,x_i) + nc^2}/(n\gamma) \ge \hat{\mathfrak R}_S`;
        ``"expected"``: :math:`r\sqrt{(\kappa^2 + c^2)/n}/\gamma \ge \mathfrak R_n` (of the ramp class).
    complexity_kind : str
        ``"empirical"``, ``"expected"`` or ``"holdout"`` (exact binomial bounds on a held-out sample;
        see :func:`~fairerm.bounds.generalization_report`).
    rademacher_monte_carlo, rademacher_monte_carlo_se : float
        Monte Carlo estimate of :math:`\frac rn\mathbb E\|\sum_i\sigma_i\phi(x_i)\|` (NaN if not asked);
        for comparison with ``rademacher_bound``, not used in the bound.
    risk_complexity_term, risk_confidence_term, risk_delta : float
        :math:`2\hat{\mathfrak R}_S`, :math:`3\sqrt{\ln(2/(\delta_R\pi_k))/(2n)}` and :math:`\delta_R`.
    feature_bound, feature_diameter : float
        :math:`\kappa \ge \sup\|\phi(x)\|` and :math:`\Delta \ge \sup\|\phi(x) - \phi(x')\|`.
    feature_bound_source : str
        ``"exact"`` (RBF), ``"given"`` or ``"estimated"`` (max over the sample: an assumption).
    empirical_fairness : float
        Largest gap between two groups' mean scores on the notion's examples (the linear-loss
        constraint value of FERM, in score units).
    fairness_bound : float
        Upper bound on the same gap under the true distribution.
    empirical_rate_gap, rate_gap_bound : float
        The thresholded classifier's gap (DEO for equal opportunity) and its upper bound (capped at 1).
    cells : DataFrame
        One row per (stratum, group): sizes, empirical means and every per-cell term.
    events : list of (str, float)
        The events of the union bound, each with its failure probability. With
        ``method="pac-bayes"`` every event is listed on its own and the shares sum to ``delta``.
        With ``"rademacher"`` and ``"holdout"`` each (T) entry, labelled ``(each)``, stands for two
        events, the upper and the lower bound on the cell's rate, each with the share shown: it
        counts twice, so the listed shares plus the ``(each)`` shares once more sum to ``delta``
        (listed once, they sum to less).
    theorem : str
    assumptions : list of str
    method : str
        ``"pac-bayes"`` (the default: PAC-Bayes bounds with data-dependent priors), ``"rademacher"``
        (uniform bounds over the norm ball) or ``"holdout"`` (exact binomial bounds on a sample the
        model was not fitted on).
    majority_error : float
        The error of the constant classifier predicting the sample's majority class: a risk bound
        at or above it is vacuous.
    classifier : str
        Which classifier the bounds are about (always the deterministic ``h`` of the model passed in).
    statements : DataFrame or None
        ``"pac-bayes"``: one row per margin statement (risk, each cell's upper and lower rate) with
        its sample size, share of delta, union size, the posterior that attains it (theta, a, eta,
        mu, KL), its Gibbs and deterministic empirical losses and its binomial part.
    pac_bayes : dict
        ``"pac-bayes"``: the split sizes, the prior, and the terms of the risk statement.
    splits : dict
        ``"pac-bayes"``: ``splits["risk"]`` holds the ``prior_rows`` and ``bound_rows`` of the
        risk statements, ``splits[(stratum, group)]`` each cell's ``bound_rows`` (the part its
        data-dependent statements are evaluated on; the prior was fitted on every other row) and
        ``kept_rows``; ``splits["landmarks"]`` the prior rows a kernel model's prior covariance
        was estimated on.
    """

    model_name: str
    feature_map: str
    n_samples: int
    delta: float
    margin: float
    notion: str
    rate_gap_name: str
    empirical_error: float
    empirical_ramp_loss: float
    risk_bound: float
    weight_norm: float
    intercept: float
    intercept_scale: float
    class_norm: float
    grid_radius: float
    grid_index: int
    grid_weight: float
    norm_source: str
    rademacher_bound: float
    complexity_kind: str
    rademacher_monte_carlo: float
    rademacher_monte_carlo_se: float
    risk_complexity_term: float
    risk_confidence_term: float
    risk_delta: float
    feature_bound: float
    feature_diameter: float
    feature_bound_source: str
    empirical_fairness: float
    fairness_bound: float
    empirical_rate_gap: float
    rate_gap_bound: float
    cells: pd.DataFrame
    events: list = field(default_factory=list)
    theorem: str = ""
    assumptions: list = field(default_factory=list)
    method: str = "rademacher"
    majority_error: float = np.nan
    classifier: str = ""
    statements: pd.DataFrame | None = None
    pac_bayes: dict = field(default_factory=dict)
    splits: dict = field(default_factory=dict)

    @property
    def _ramp_bound(self) -> float:
        """The bound on the true ramp risk: only the Rademacher method bounds it."""
        return self.risk_bound if self.method == "rademacher" else np.nan

    @property
    def vacuous(self) -> dict:
        r"""Which bounds say nothing: ``risk`` at or above the majority-class error (or 1),
        ``rate_gap`` at 1 (the range of a difference of rates), ``fairness`` (the score gap) at or
        above :math:`2\|w\|\kappa`, what holds for every score of that norm."""
        trivial_risk = min(1.0, self.majority_error) if np.isfinite(self.majority_error) else 1.0
        return {"risk": bool(self.risk_bound >= trivial_risk - 1e-12),
                "rate_gap": bool(self.rate_gap_bound >= 1.0 - 1e-12),
                "fairness": bool(self.fairness_bound >= 2.0 * self.weight_norm * self.feature_bound - 1e-12)}

    # ------------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Every scalar of the report as a plain ``float`` (keys as in the attribute list).

        Always: ``empirical_risk`` (the 0-1 error of the deployed classifier), ``risk_bound``,
        ``empirical_fairness``, ``fairness_bound``, ``empirical_rate_gap``, ``rate_gap_bound``,
        ``delta``, ``majority_error`` and the ``vacuous_*`` flags (0/1); for equal opportunity also
        ``empirical_deo``/``deo_bound``. The Rademacher and holdout methods add their complexity
        terms, the PAC-Bayes method its split and risk-statement terms (``pac_bayes_*``). No value is NaN.
        """
        out = {
            "delta": self.delta,
            "n_samples": self.n_samples,
            "empirical_risk": self.empirical_error,
            "empirical_error": self.empirical_error,
            "risk_bound": self.risk_bound,
            "majority_error": self.majority_error,
            "weight_norm": self.weight_norm,
            "intercept": self.intercept,
            "class_norm": self.class_norm,
            "feature_bound": self.feature_bound,
            "feature_diameter": self.feature_diameter,
            "empirical_fairness": self.empirical_fairness,
            "fairness_bound": self.fairness_bound,
            "empirical_rate_gap": self.empirical_rate_gap,
            "rate_gap_bound": self.rate_gap_bound,
        }
        if self.method == "pac-bayes":
            out.update({f"pac_bayes_{key}": value for key, value in self.pac_bayes.items()
                        if isinstance(value, (int, float, np.floating, np.integer)) and np.isfinite(value)})
        else:
            out.update({
                "margin": self.margin,
                "empirical_ramp_loss": self.empirical_ramp_loss,
                "grid_radius": self.grid_radius,
                "rademacher_bound": self.rademacher_bound,
                "risk_complexity_term": self.risk_complexity_term,
                "risk_confidence_term": self.risk_confidence_term,
                "risk_delta": self.risk_delta,
            })
            if not np.isnan(self.rademacher_monte_carlo):  # only when asked for (keeps JSON output NaN-free)
                out["rademacher_monte_carlo"] = self.rademacher_monte_carlo
        out.update({f"vacuous_{key}": float(flag) for key, flag in self.vacuous.items()})
        if self.notion == "equal_opportunity":
            out["empirical_deo"] = self.empirical_rate_gap
            out["deo_bound"] = self.rate_gap_bound
        return {key: float(value) for key, value in out.items() if np.isfinite(float(value))}

    def to_frame(self) -> pd.DataFrame:
        """The headline quantities as a DataFrame: columns ``empirical``, ``bound``, ``description``
        (which bounds are vacuous: :attr:`vacuous`)."""
        rows = [
            ("risk (0-1 error)", self.empirical_error, self.risk_bound,
             f"P(h(x) != y) of {self.classifier or 'h'}"),
            ("ramp loss", self.empirical_ramp_loss, self._ramp_bound,
             f"mean of min(1, max(0, 1 - y f(x) / {self.margin:g})) (Rademacher method only)"),
            ("fairness (score gap)", self.empirical_fairness, self.fairness_bound,
             "largest gap between groups' mean scores f on the notion's examples (linear-loss constraint)"),
            (f"fairness ({self.rate_gap_name})", self.empirical_rate_gap, self.rate_gap_bound,
             "largest gap between groups' rates of h(x) = 1 (thresholded classifier)"),
        ]
        return pd.DataFrame(rows, columns=["quantity", "empirical", "bound", "description"]).set_index("quantity")

    # ------------------------------------------------------------------------------------------
    def _headline_rows(self) -> list[tuple[str, float, float, bool]]:
        vacuous = self.vacuous
        rows = [("risk: 0-1 error P(h(x) != y)", self.empirical_error, self.risk_bound, vacuous["risk"])]
        if self.method == "rademacher":
            rows.append((f"risk: ramp loss (margin {self.margin:g})", self.empirical_ramp_loss, self._ramp_bound,
                         False))
        rows += [("fairness: score gap (theorem, linear loss)", self.empirical_fairness, self.fairness_bound,
                  vacuous["fairness"]),
                 (f"fairness: {self.rate_gap_name} of h (thresholded)", self.empirical_rate_gap, self.rate_gap_bound,
                  vacuous["rate_gap"])]
        return rows

    def _headline_lines(self) -> list[str]:
        lines = [f"{'quantity':<44}{'empirical':>11}{'true <=':>10}", "-" * 74]
        for label, emp, bound, vacuous in self._headline_rows():
            weak = " (weak: >= 0.5)" if "thresholded" in label and not vacuous and bound >= 0.5 else ""
            lines.append(f"{label:<44}{_fmt(emp):>11}{_fmt(bound):>10}{'  VACUOUS' if vacuous else weak}")
        lines.append(f"(VACUOUS: risk >= {_fmt(self.majority_error)}, the majority-class error; gap >= 1;")
        lines.append("  score gap >= 2 ||w|| kappa, what holds for every score of that norm)")
        return lines

    def _pac_bayes_lines(self) -> list[str]:
        pb = self.pac_bayes
        rows = self.statements[self.statements["stratum"] == "(risk)"]
        lines = _wrap(f"prior: {pb['prior']}; {pb['n_prior']} prior rows, {pb['n_bound']} bound rows")
        if np.isfinite(pb.get("prior_cosine", np.nan)):
            lines.append(f"  cos_M(f, f_prior) = {pb['prior_cosine']:.5f} (prior mean against the model)")
        for row in rows.itertuples(index=False):
            binomial = f"{_fmt(row.binomial)} (errors of h_p) + " if np.isfinite(row.binomial) else ""
            lines.append(f"  [{row.part}] risk <= {binomial}{_fmt(row.margin_bound)} (margin) = {_fmt(row.value)}")
            lines.append(f"    theta {row.theta:g}, a {row.shrink_a:.3g}, eta {row.eta:g}, mu {row.mu:.4g}, "
                         f"KL {row.kl:.4g}, Gibbs loss {_fmt(row.gibbs_loss)}, m {row.n}, J {row.union}")
        if "risk_floor" in pb:
            gap = self.rate_gap_name
            beaten = self.floors_beaten_by_the_prior_free_statements()
            lines += _wrap(f"what limits it: with an ideal posterior (KL 0, J 1, Gibbs loss = deterministic) the "
                           f"statements with a refitted prior give at best risk {_fmt(pb['risk_floor'])}, "
                           f"{gap} {_fmt(pb['rate_gap_floor'])}; a classifier fixed before seeing these rows would get "
                           f"{_fmt(pb['fixed_risk'])}, {_fmt(pb['fixed_rate_gap'])} (route floors, docs/bounds.rst)"
                           + (f"; the N(0, I) statements do better than that floor for the {' and the '.join(beaten)}"
                              if beaten else ""))
        return lines

    def floors_beaten_by_the_prior_free_statements(self) -> list[str]:
        """The reported bounds (``"risk"``, the rate gap's name) that lie below the route floor of the
        statements with a refitted prior: there the prior-free N(0, I) statements gave the bound."""
        pb = self.pac_bayes
        if "risk_floor" not in pb:
            return []
        out = ["risk"] if self.risk_bound < pb["risk_floor"] - 1e-12 else []
        return out + ([self.rate_gap_name] if self.rate_gap_bound < pb["rate_gap_floor"] - 1e-12 else [])

    def _terms_lines(self) -> list[str]:
        if self.method == "pac-bayes":
            return self._pac_bayes_lines()
        lines = [
            f"  ||w|| = {self.weight_norm:.4g}, b = {self.intercept:.4g}, c = {self.intercept_scale:g}: "
            f"rho = sqrt(||w||^2 + (b/c)^2) = {self.class_norm:.4g}",
            f"  covered by r = {self.grid_radius:.4g} ({self.norm_source})",
        ]
        if self.complexity_kind == "holdout":
            return lines[:1] + [
                "  held-out sample: (R) and (T) are exact binomial (Clopper-Pearson) bounds",
                "  for the fixed classifier, no complexity term (the ramp loss is not bounded).",
                f"  error bound - error = {_fmt(self.risk_confidence_term)} (d_R = {self.risk_delta:.3g})",
                f"  feature bound kappa = {self.feature_bound:.4g}, diameter Delta = {self.feature_diameter:.4g} "
                f"({self.feature_bound_source})",
            ]
        if self.complexity_kind == "empirical":
            lines.append(f"  Rhat_S <= r*sqrt(sum_i k(x_i,x_i) + n*c^2)/(n*gamma) = {_fmt(self.rademacher_bound)}")
        else:
            lines.append(f"  R_n <= r*sqrt((kappa^2 + c^2)/n)/gamma = {_fmt(self.rademacher_bound)}")
        if not np.isnan(self.rademacher_monte_carlo):
            lines.append(f"  Monte Carlo r*E||sum_i sigma_i (phi(x_i), c)||/(n*gamma) = "
                         f"{_fmt(self.rademacher_monte_carlo)}")
            lines.append(f"    (standard error {self.rademacher_monte_carlo_se:.1e}; for comparison, not used)")
        lines += [
            f"  risk ({self.complexity_kind} complexity): 2*Rademacher = {_fmt(self.risk_complexity_term)}",
            ("        confidence 3*sqrt(ln(2/(d_R*pi_k))/(2n)) = " if self.complexity_kind == "empirical" else
             "        confidence sqrt(ln(1/(d_R*pi_k))/(2n)) = ") + _fmt(self.risk_confidence_term)
            + f" (d_R = {self.risk_delta:.3g})",
            f"  feature bound kappa = {self.feature_bound:.4g}, diameter Delta = {self.feature_diameter:.4g} "
            f"({self.feature_bound_source})",
        ]
        return lines

    def _cells_lines(self) -> list[str]:
        pac = self.method == "pac-bayes"
        lines = [f"  {'cell':<22}{'n':>7}{'bound n' if pac else '':>8}{'mean f':>8}{'D_g':>7}{'rate':>7}"
                 f"{'rate in [lo, hi]':>18}"]
        for row in self.cells.itertuples(index=False):
            label = f"{row.stratum} {row.group}"[:22]
            interval = f"[{max(row.rate_lower_bound, 0.0):.3f}, {min(row.rate_upper_bound, 1.0):.3f}]"
            bound_n = f"{row.n_bound:>8d}" if pac else " " * 8
            lines.append(f"  {label:<22}{row.n:>7d}{bound_n}{row.mean_score:>8.3f}{row.mean_deviation:>7.3f}"
                         f"{row.rate:>7.3f}{interval:>18}")
        return lines

    def _title_lines(self) -> list[str]:
        title = f"Generalization report ({self.method}): {self.model_name}"
        lines = [title, "=" * min(len(title), _WIDTH)]
        lines += _wrap(f"n = {self.n_samples}, delta = {self.delta:g} (all bounds hold together with probability "
                       f">= {1 - self.delta:g}), notion = {self.notion}, features: {self.feature_map}. Bounds on "
                       f"{self.classifier}.", indent="")
        return lines

    def summary(self) -> str:
        """The headline table and the key terms, without the theorem, the events and the assumptions."""
        lines = self._title_lines() + [""] + self._headline_lines() + self._terms_lines()
        return "\n".join(lines)

    def __str__(self) -> str:
        lines = self._title_lines() + [""] + self._headline_lines()
        lines += ["", "Terms"] + self._terms_lines()
        lines += ["", "Per cell (D_g: bound on the mean-embedding error, score slack = ||w||*D_g)"]
        lines += self._cells_lines()
        paired = any(name.endswith("(each)") for name, _ in self.events)  # one entry for an upper and a lower event
        lines += [""] + _wrap("Union bound over the events (failure probabilities sum to delta"
                              + ("; an entry marked (each) is the share of each of its two events)" if paired
                                 else ")"), indent="")
        for name, share in self.events:
            lines += _wrap(f"{share:.3g}  {name}")
        lines += ["", "Theorem"] + [("  " + line) if line else "" for line in self.theorem.splitlines()]
        lines += ["", "Assumptions"]
        for i, text in enumerate(self.assumptions, 1):
            lines += _wrap(f"{i}. {text}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"GeneralizationReport(method={self.method!r}, model={self.model_name!r}, n={self.n_samples}, "
                f"delta={self.delta:g}, risk={self.empirical_error:.4f}<= {self.risk_bound:.4f}, "
                f"fairness={self.empirical_fairness:.4f}<= {self.fairness_bound:.4f}, "
                f"{self.rate_gap_name}={self.empirical_rate_gap:.4f}<= {self.rate_gap_bound:.4f})")


def side_by_side(reports: dict) -> str:
    """The headline quantities of several reports as one table (e.g. training sample and held-out).

    Parameters
    ----------
    reports : dict of str to GeneralizationReport
        Column titles and the reports (of the same model, notion and delta).
    """
    items = list(reports.items())
    first = items[0][1]  # labels from the first report
    head = f"{'quantity':<26}" + "".join(f"{title[:24]:>26}" for title, _ in items)
    sub = f"{'':<26}" + "".join(f"{'empirical':>12}{'true <=':>14}" for _ in items)
    lines = [head, sub, "-" * len(sub)]
    labels = ["risk: 0-1 error of h", "score gap (theorem)", f"{first.rate_gap_name} of h"]
    for k, label in enumerate(labels):
        cells = ""
        for _, report in items:
            _, emp, bound, vacuous = [row for row in report._headline_rows() if "ramp" not in row[0]][k]
            mark = "*" if vacuous else ("~" if k == 2 and bound >= 0.5 else " ")
            cells += f"{_fmt(emp):>12}{_fmt(bound) + mark:>14}"
        lines.append(f"{label:<26}{cells}")
    majority = ", ".join(f"{_fmt(report.majority_error)}" for _, report in items)
    lines.append(f"* vacuous: risk >= the sample's majority-class error ({majority}), gap >= 1, score gap")
    lines.append("  >= 2 ||w|| kappa (what holds for any score of that norm); ~ weak: gap >= 0.5")
    return "\n".join(lines)
