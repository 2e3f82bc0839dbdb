r"""``generalization_report``: bounds on the true risk and true unfairness of a fitted model."""

from __future__ import annotations

import numbers
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._validation import (
    check_binary_target,
    check_option,
    check_scalar,
    check_sensitive_features,
)
from ..constraints import DemographicParity, EqualizedOdds, EqualOpportunity, FairnessConstraint, make_constraint
from ..exceptions import FairermTypeError, FairermValueError
from ._model import ModelView, inspect_model
from ._report import GeneralizationReport
from ._terms import (
    NormGridCell,
    binomial_lower_bound,
    binomial_upper_bound,
    expected_ramp_class_complexity,
    lower_ramp,
    mean_embedding_deviation,
    monte_carlo_rademacher,
    norm_grid_cell,
    ramp_class_complexity,
    ramp_loss,
    ramp_uniform_deviation,
    upper_ramp,
)

__all__ = ["generalization_report"]

_RATE_GAP_NAMES = {"equal_opportunity": "DEO", "demographic_parity": "DDP", "equalized_odds": "equalized odds gap"}

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


def _strata(constraint: FairnessConstraint, y_signed: np.ndarray) -> list[tuple[str, np.ndarray]]:
    if isinstance(constraint, EqualizedOdds):
        return [("y=+1", y_signed > 0), ("y=-1", y_signed < 0)]
    if isinstance(constraint, EqualOpportunity):
        return [("y=+1", y_signed > 0)]
    if isinstance(constraint, DemographicParity):
        return [("all", np.ones(y_signed.shape[0], dtype=bool))]
    raise FairermValueError(
        f"notion: the bounds know 'equal_opportunity', 'demographic_parity' and 'equalized_odds'; got "
        f"{constraint!r}."
    )


def _validate_options(delta, margin, intercept_scale, feature_bound, norm_bound, norm_grid,
                      rademacher_draws) -> tuple[float, float]:
    check_scalar(delta, "delta", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    check_scalar(margin, "margin", low=0.0, low_inclusive=False)
    check_scalar(intercept_scale, "intercept_scale", low=0.0, low_inclusive=False)
    if feature_bound is not None:
        check_scalar(feature_bound, "feature_bound", low=0.0, low_inclusive=False)
    if norm_bound is not None:
        check_scalar(norm_bound, "norm_bound", low=0.0, low_inclusive=False)
    if not isinstance(norm_grid, (tuple, list)) or len(norm_grid) != 2:
        raise FairermTypeError(f"norm_grid must be a pair (r0, ratio); got {norm_grid!r}.")
    base = check_scalar(norm_grid[0], "norm_grid[0] (r0)", low=0.0, low_inclusive=False)
    ratio = check_scalar(norm_grid[1], "norm_grid[1] (ratio)", low=1.0, low_inclusive=False)
    check_scalar(rademacher_draws, "rademacher_draws", kind=numbers.Integral, low=0)
    if rademacher_draws == 1:
        raise FairermValueError("rademacher_draws must be 0 (no Monte Carlo estimate) or >= 2; got 1.")
    return float(base), float(ratio)


def _signed_labels(y: Any, n: int, classes: np.ndarray) -> np.ndarray:
    target = check_binary_target(y, n)
    if not np.array_equal(np.asarray(target.classes), np.asarray(classes)):
        raise FairermValueError(
            f"y has classes {list(target.classes)!r} but the model was fitted on {list(classes)!r}; the sample must "
            "use the model's labels (both classes present)."
        )
    return target.signed


def _feature_scale(view: ModelView, feature_bound: float | None) -> tuple[float, float, str]:
    """kappa >= sup ||phi(x)||, Delta >= sup ||phi(x) - phi(x')|| and where they come from."""
    sample_max = float(np.sqrt(np.max(view.sq_feature_norms)))
    if feature_bound is not None:
        if sample_max > feature_bound * (1 + 1e-9):
            raise FairermValueError(
                f"feature_bound={feature_bound!r} is violated by the sample: max_i ||phi(x_i)|| = {sample_max:.6g}. "
                "It must bound the feature norm of every point the distribution can produce."
            )
        return float(feature_bound), 2.0 * float(feature_bound), "given"
    if view.exact_feature_bound is not None:
        return view.exact_feature_bound, view.exact_feature_diameter, "exact"
    return sample_max, 2.0 * sample_max, "estimated"


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


def _cell_table(view, y_signed, sens, strata, r, margin, intercept_scale, kappa, diameter, delta_score, delta_rate,
                weight, kind):
    rows = []
    for stratum, mask in strata:
        for g, group in enumerate(sens.groups):
            idx = np.flatnonzero(mask & (sens.codes == g))
            if idx.size == 0:
                raise FairermValueError(
                    f"sensitive_features: group {group!r} has no examples with {stratum}; the fairness bounds need "
                    "every group in every compared cell."
                )
            f = view.scores[idx]
            expectation, confidence = mean_embedding_deviation(idx.size, kappa, diameter, delta_score)
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
                "stratum": stratum, "group": group, "n": int(idx.size), "mean_score": float(f.mean()),
                "mean_deviation": expectation + confidence, "score_slack": view.weight_norm * (expectation + confidence),
                "rate": float(np.mean(f > 0)), "lower_ramp_mean": float(lower_ramp(f, margin).mean()),
                "upper_ramp_mean": float(upper_ramp(f, margin).mean()), "rate_complexity": complexity,
                "rate_confidence": rate_confidence,
                "rate_lower_bound": lower, "rate_upper_bound": upper,
            })
    return pd.DataFrame(rows)


def _gaps(cells: pd.DataFrame) -> tuple[float, float, float, float]:
    """Largest empirical gaps and their bounds, over strata and ordered pairs of groups."""
    emp_score = bound_score = emp_rate = bound_rate = 0.0
    for _, block in cells.groupby("stratum", sort=False):
        m, slack = block["mean_score"].to_numpy(), block["score_slack"].to_numpy()
        rate = block["rate"].to_numpy()
        upper, lower = block["rate_upper_bound"].to_numpy(), block["rate_lower_bound"].to_numpy()
        pair_score = np.abs(m[:, None] - m[None, :]) + slack[:, None] + slack[None, :]
        pair_rate = upper[:, None] - lower[None, :]
        off = ~np.eye(len(m), dtype=bool)
        emp_score = max(emp_score, float(m.max() - m.min()))
        bound_score = max(bound_score, float(pair_score[off].max()))
        emp_rate = max(emp_rate, float(rate.max() - rate.min()))
        bound_rate = max(bound_rate, float(pair_rate[off].max()))
    return emp_score, bound_score, emp_rate, min(bound_rate, 1.0)


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


def generalization_report(
    model: Any,
    X: Any,
    y: Any,
    *,
    sensitive_features: Any,
    delta: float = 0.05,
    margin: float = 1.0,
    intercept_scale: float = 1.0,
    feature_bound: float | None = None,
    norm_bound: float | None = None,
    norm_grid: tuple[float, float] = (0.01, 1.1),
    notion: Any = None,
    complexity: Literal["auto", "empirical", "expected"] = "auto",
    holdout: bool = False,
    rademacher_draws: int = 0,
    random_state: int | None = None,
) -> GeneralizationReport:
    r"""Upper bounds on the true risk and true fairness violation of a fitted model.

    For a fitted score :math:`f(x) = \langle w, \phi(x)\rangle + b` with decisions
    :math:`h(x) = \mathbf 1[f(x) > 0]`, an i.i.d. sample :math:`S` of size :math:`n` with groups
    :math:`s_i` and labels :math:`y_i \in \{-1, +1\}`, the report gives, with probability at least
    :math:`1 - \delta` for all of them at once:

    * (R) the true 0-1 error :math:`P(h(x) \ne y) \le \hat L_\gamma(f) + 2\hat{\mathfrak R}_S +
      3\sqrt{\ln(2/(\delta_R\pi_k))/(2n)}`, through the ramp loss
      :math:`\ell_\gamma(t) = \min(1, \max(0, 1 - t/\gamma))`, with the norm-based bound
      :math:`\hat{\mathfrak R}_S \le r\sqrt{\operatorname{tr}K + nc^2}/(n\gamma)`: Donini et al.'s
      ``r sqrt(tr K)/n`` for the kernel :math:`k + c^2`, whose extra constant feature :math:`c`
      carries the intercept, :math:`r \ge \rho = (\|w\|^2 + (b/c)^2)^{1/2}`;
    * (F) the theorem's fairness quantity, the gap between groups' true mean scores on the
      notion's examples, :math:`|\mathbb E[f\mid y{=}1, s{=}a] - \mathbb E[f\mid y{=}1, s{=}b]| \le
      |\hat m_a - \hat m_b| + \|w\|(D_a + D_b)` with :math:`D_g = \kappa/\sqrt{n_{g,+}} +
      \Delta\sqrt{\ln(1/\delta_F)/(2n_{g,+})}` (each group's positives enter with their size);
    * (T) the gap of the thresholded classifier (DEO for equal opportunity), bounded through the
      ramps :math:`\mathrm{clip}(f/\gamma, 0, 1) \le \mathbf 1[f > 0] \le \mathrm{clip}(1 + f/\gamma, 0, 1)`
      on each group's cell.

    Here :math:`\kappa \ge \sup_x\|\phi(x)\|`, :math:`\Delta \ge \sup\|\phi(x) - \phi(x')\|`,
    :math:`r` is the smallest radius :math:`r_k = r_0 t^k \ge \rho` of a grid fixed in advance
    (weight :math:`\pi_k = 1/((k+1)(k+2))`), and :math:`\delta` is split by a union bound:
    :math:`\delta_R = \delta/3`, :math:`\delta_F = \delta/(3m)` per cell and
    :math:`\delta_T = \delta/(6m)` per cell and side, for :math:`m` cells (groups x strata). The
    derivations are in :mod:`fairerm.bounds._terms`; the theorem and assumptions are printed with
    the report.

    Parameters
    ----------
    model : fitted estimator
        :class:`~fairerm.FairKernelSVC` (``"rbf"``, ``"linear"``, ``"poly"`` kernels),
        :class:`~fairerm.FairLinearSVC`, or any binary classifier whose ``decision_function`` is
        affine in ``X`` (e.g. a Pipeline of :class:`~fairerm.FairProjection` and ``LinearSVC``).
    X : array-like of shape (n_samples, n_features)
        The raw numeric features of the sample (training sample or an independent one).
    y : array-like of shape (n_samples,)
        Labels, the model's two classes.
    sensitive_features : array-like of shape (n_samples,)
        Group of each sample (two or more groups).
    delta : float in (0, 1), default=0.05
        Total failure probability of all the bounds together.
    margin : float > 0, default=1.0
        :math:`\gamma` of the ramp losses (1: the SVM's functional margin). Fix it before seeing data.
    intercept_scale : float > 0, default=1.0
        :math:`c`, the value of the constant feature that carries the intercept; fix it before
        seeing data (the best value, :math:`c^2 = |b|\,(\overline{k(x,x)})^{1/2}/\|w\|`, depends on
        the fit; 1 suits standardised features and the RBF kernel).
    feature_bound : float or None
        A bound :math:`\kappa` on :math:`\|\phi(x)\|` known a priori (linear models: on
        :math:`\|x\|`); needed for (F) to be rigorous unless the kernel is RBF. ``None``: exact for
        RBF, else the sample maximum (stated as an assumption in the report).
    norm_bound : float or None
        A radius :math:`r \ge \rho` fixed before seeing the data; ``None`` uses the grid.
    norm_grid : (r0, t), default=(0.01, 1.1)
        The radius grid :math:`r_k = r_0 t^k`.
    notion : None, str or FairnessConstraint
        ``"equal_opportunity"``, ``"demographic_parity"`` or ``"equalized_odds"``; ``None`` takes the
        model's own constraint (equal opportunity if it has none).
    complexity : {"auto", "empirical", "expected"}, default="auto"
        How (R) and (T) bound the Rademacher complexity: ``"empirical"`` from the sample's
        :math:`\sum_i k(x_i, x_i)` (no assumption on the data, confidence term
        :math:`3\sqrt{\ln(2/\delta)/2n}`), ``"expected"`` from :math:`\kappa` (needs a known
        :math:`\kappa`; confidence term :math:`\sqrt{\ln(1/\delta)/2n}`). ``"auto"``: expected when
        :math:`\kappa` is known (RBF, or ``feature_bound`` given), else empirical.
    holdout : bool, default=False
        ``True`` if the sample was not used to fit the model (nor to choose it): (R) and (T) then
        use exact binomial (Clopper-Pearson) bounds for the fixed classifier, much tighter than
        the uniform bounds (``complexity`` is then not used). Never set it for the training sample.
    rademacher_draws : int, default=0
        If > 0, also report a Monte Carlo estimate of :math:`\frac{r}{n\gamma}\mathbb E\|\sum_i\sigma_i\phi(x_i)\|`
        from that many sign vectors (costs :math:`O(n^2)` kernel evaluations per draw for kernels; not used in the bound).
    random_state : int or None
        Seed of the Monte Carlo draws.

    Returns
    -------
    GeneralizationReport
        ``str(report)`` is a table with the theorem and assumptions; ``to_frame()``, ``to_dict()``.

    Raises
    ------
    FairermValueError
        ``delta`` not in (0, 1), invalid options, a model outside the covered classes (precomputed or
        sigmoid kernel, non-affine decision function), labels that are not the model's, a group
        without examples in a compared cell, ``feature_bound`` or ``norm_bound`` violated.
    FairermTypeError
        A model that is not a binary score-based classifier (e.g. a random forest).
    NotFittedError
        The model is not fitted.

    References
    ----------
    M. Donini, L. Oneto, S. Ben-David, J. Shawe-Taylor, M. Pontil. "Empirical Risk Minimization
    Under Fairness Constraints". NeurIPS 2018. arXiv:1802.08626.
    P. Bartlett, S. Mendelson. "Rademacher and Gaussian complexities: risk bounds and structural
    results". JMLR 3, 2002.

    Examples
    --------
    >>> from fairerm import FairLinearSVC
    >>> from fairerm.bounds import generalization_report
    >>> from fairerm.datasets import make_synthetic
    >>> d = make_synthetic(n_samples=2000, n_features=3, include_sensitive=False, random_state=0)
    >>> model = FairLinearSVC(C=0.1).fit(d.data, d.target, sensitive_features=d.sensitive)
    >>> report = generalization_report(model, d.data, d.target, sensitive_features=d.sensitive)
    >>> bounds = report.to_dict()
    >>> bool(bounds["empirical_risk"] <= bounds["risk_bound"] <= 1.0)
    True
    """
    base, ratio = _validate_options(delta, margin, intercept_scale, feature_bound, norm_bound, norm_grid,
                                    rademacher_draws)
    view = inspect_model(model, X)
    n = view.scores.shape[0]
    sens = check_sensitive_features(sensitive_features, n)
    y_signed = _signed_labels(y, n, view.classes)
    constraint = view.constraint if notion is None else make_constraint(notion, name="notion")
    strata = _strata(constraint, y_signed)
    kappa, diameter, scale_source = _feature_scale(view, feature_bound)
    class_norm = float(np.hypot(view.weight_norm, view.intercept / intercept_scale))
    cell, norm_source = _norm_cell(class_norm, norm_bound, base, ratio)
    r = cell.radius

    n_cells = len(strata) * sens.n_groups
    delta_risk, delta_score, delta_rate = delta / 3.0, delta / (3.0 * n_cells), delta / (6.0 * n_cells)
    kind = _complexity_kind(complexity, scale_source, holdout)
    cells = _cell_table(view, y_signed, sens, strata, r, margin, intercept_scale, kappa, diameter, delta_score,
                        delta_rate, cell.weight, kind)
    emp_score, bound_score, emp_rate, bound_rate = _gaps(cells)

    risk = _risk_terms(view, y_signed, kind, r, kappa, intercept_scale, margin, delta_risk * cell.weight,
                       delta_risk)
    mc, mc_se = _monte_carlo_complexity(view, intercept_scale, rademacher_draws, random_state)
    return GeneralizationReport(
        model_name=view.name, feature_map=view.feature_map, n_samples=n, delta=float(delta), margin=float(margin),
        notion=constraint.name, rate_gap_name=_RATE_GAP_NAMES[constraint.name], empirical_error=risk["error"],
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
    )
