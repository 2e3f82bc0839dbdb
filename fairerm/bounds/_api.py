r"""``generalization_report``: bounds on the true risk and true unfairness of a fitted model."""

from __future__ import annotations

import numbers
from typing import Any, Literal

import numpy as np

from .._validation import check_option, check_sample_weight, check_scalar, check_sensitive_features
from ..constraints import make_constraint
from ..exceptions import FairermTypeError, FairermValueError
from ._common import feature_scale, signed_labels, strata_of
from ._model import inspect_model
from ._pac_bayes import pac_bayes_report
from ._rademacher import rademacher_report
from ._report import GeneralizationReport

__all__ = ["generalization_report"]


def _validate_options(delta, margin, intercept_scale, feature_bound, norm_bound, norm_grid,
                      rademacher_draws, method, prior, prior_fraction, holdout=False,
                      random_state=0) -> tuple[float, float]:
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
    check_option(method, "method", ("pac-bayes", "rademacher"))
    if prior is not None and prior != "refit":
        raise FairermValueError(f"prior must be 'refit' (a copy of the model fitted on part of the sample) or None; "
                                f"got {prior!r}.")
    check_scalar(prior_fraction, "prior_fraction", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    if norm_bound is not None and method == "pac-bayes" and not holdout:
        raise FairermValueError(
            f"norm_bound applies to method='rademacher' (a radius of the class it bounds); the PAC-Bayes bounds need "
            f"no bound on ||w|| and would not use it. Got norm_bound={norm_bound!r} with method='pac-bayes'; pass "
            "method='rademacher' or leave norm_bound=None.")
    if random_state is not None and (isinstance(random_state, (bool, np.bool_))
                                     or not isinstance(random_state, numbers.Integral) or random_state < 0):
        raise FairermTypeError(f"random_state must be a non-negative integer or None (the seed of the splits, fixed "
                               f"before looking at the bounds); got {random_state!r}.")
    return float(base), float(ratio)




def _check_uniform_weights(sample_weight: Any, n: int) -> None:
    """Accept no weights or constant ones; refuse the others with the reason (see ``sample_weight``).

    Parameters
    ----------
    sample_weight : None, number or array-like of shape (n,)
    n : int
        The number of rows of ``X``.

    Raises
    ------
    FairermValueError
        Weights of another shape, NaN, infinite, negative or all zero, or that are not all equal.
    FairermTypeError
        Weights that are not real numbers, or a single boolean.
    """
    if sample_weight is None:
        return
    if not isinstance(sample_weight, (numbers.Number, np.bool_)):
        try:
            shape = np.shape(sample_weight)
        except ValueError:  # a ragged sequence
            shape = None
        if shape != (n,):
            raise FairermValueError(
                f"sample_weight must be None, a number or {n} weights (one per row of X); got "
                + (f"shape {shape}." if shape is not None else "a ragged sequence.")
            )
    # types (strings, booleans), NaN, negative and all-zero weights: the package's own messages
    weights = check_sample_weight(sample_weight, n)
    if np.ptp(weights) > 1e-12 * weights.max():
        raise FairermValueError(
            "sample_weight: generalization_report bounds the error of the distribution the sample was drawn from; "
            "non-uniform weights (repeated rows, or importance/survey weights that change the target distribution) "
            "are outside what its bounds prove (they need weighted concentration with a known bound on the "
            "weights). Bound the model on an unweighted i.i.d. sample of the population of interest (e.g. "
            "holdout=True on held-out rows), or pass constant weights."
        )


def generalization_report(
    model: Any,
    X: Any,
    y: Any,
    *,
    sensitive_features: Any,
    delta: float = 0.05,
    method: Literal["pac-bayes", "rademacher"] = "pac-bayes",
    prior: Literal["refit"] | None = "refit",
    prior_fraction: float = 0.5,
    margin: float = 1.0,
    intercept_scale: float = 1.0,
    feature_bound: float | None = None,
    norm_bound: float | None = None,
    norm_grid: tuple[float, float] = (0.01, 1.1),
    notion: Any = None,
    complexity: Literal["auto", "empirical", "expected"] = "auto",
    holdout: bool = False,
    rademacher_draws: int = 0,
    random_state: int | None = 0,
    sample_weight: Any = None,
) -> GeneralizationReport:
    r"""Upper bounds on the true risk and true unfairness of a fitted model's deployed classifier.

    For a fitted score :math:`f(x) = \langle w, \phi(x)\rangle + b`, the deployed classifier
    :math:`h(x) = \mathbf 1[f(x) > 0]` (what ``predict`` returns), an i.i.d. sample :math:`S` of size
    :math:`n` with groups :math:`s_i` and labels :math:`y_i \in \{-1, +1\}`, the report gives, with
    probability at least :math:`1 - \delta` for all of them at once, upper bounds on

    * (R) the true 0-1 error :math:`P(h(x) \ne y)`;
    * (F) the theorem's fairness quantity, the gap between groups' true mean scores on the notion's
      examples, :math:`|\mathbb E[f\mid y{=}1, s{=}a] - \mathbb E[f\mid y{=}1, s{=}b]| \le
      |\hat m_a - \hat m_b| + \|w\|(D_a + D_b)`, :math:`D_g = \kappa/\sqrt{n_{g,+}} +
      \Delta\sqrt{\ln(1/\delta_F)/(2n_{g,+})}` (Donini et al. 2018, with our constants);
    * (T) the gap of the thresholded classifier (DEO for equal opportunity), the largest upper
      minus the smallest lower bound on the groups' rates :math:`P(h = 1 \mid \text{cell})`.

    ``method="pac-bayes"`` (default): (R) and (T) by the PAC-Bayes-kl theorem (Seeger 2002; Maurer
    2004) with Gaussian posteriors around :math:`f` and priors learned on part of the sample
    (Ambroladze et al. 2006; Parrado-Hernandez et al. 2012): a copy of the model is refitted on a
    random ``prior_fraction`` of the rows (risk) and, per cell, on every row but a random three
    quarters of the cell, and each statement is evaluated only on rows its prior did not see. The
    deterministic :math:`h` is reached through a Gibbs margin loss, :math:`\mathbf 1[yf \le 0] \le
    Q(yg \le \theta\sigma)/\Phi(\theta)`, and the prior classifier's own errors and rates enter as
    exact binomial tails. Each statement is also made with the prior :math:`\mathcal N(0, I)` on all
    rows, and the smaller bound is kept (half of its delta each). Derivation and constants:
    ``docs/bounds.rst``; :mod:`fairerm.bounds._kl`, :mod:`fairerm.bounds._gaussian`.

    ``method="rademacher"``: the uniform bounds over the norm ball :math:`\|w\|^2 + (b/c)^2 \le r^2`
    of Donini et al.'s Theorem 1, (R) :math:`\hat L_\gamma(f) + 2\hat{\mathfrak R}_S +
    3\sqrt{\ln(2/(\delta_R\pi_k))/(2n)}` through the ramp loss, :math:`\hat{\mathfrak R}_S \le
    r\sqrt{\operatorname{tr}K + nc^2}/(n\gamma)`, and (T) through ramps on each cell
    (:mod:`fairerm.bounds._terms`). ``holdout=True`` (either method): the sample was not used to
    fit the model, and (R) and (T) are exact Clopper-Pearson tails.

    :math:`\delta` is split by a union bound: :math:`\delta/3` for (R), :math:`\delta/(3m)` per cell
    for (F) and :math:`\delta/(6m)` per cell and side for (T), for :math:`m` cells (groups x strata);
    ``report.events`` lists every event. :math:`\kappa \ge \sup_x\|\phi(x)\|` (only (F), and the
    ``"expected"`` Rademacher complexity, need it), :math:`\Delta \ge \sup\|\phi(x) - \phi(x')\|`.

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
    method : {"pac-bayes", "rademacher"}, default="pac-bayes"
        Which bounds (R) and (T) use (see above); ``"pac-bayes"`` is much tighter on every data
        set we measured (``benchmarks/results/bounds_tightness.md``).
    prior : {"refit"} or None, default="refit"
        ``"refit"``: data-dependent priors, from copies of the model (same hyperparameters, same
        kernel) fitted on the prior rows; ``None``: only the prior :math:`\mathcal N(0, I)` and every
        row. Models that cannot be refitted, and samples of fewer than 20 rows, get ``None``.
    prior_fraction : float in (0, 1), default=0.5
        Share of the rows that fit the risk statement's prior (``method="pac-bayes"``).
    margin : float > 0, default=1.0
        :math:`\gamma` of the ramp losses (1: the SVM's functional margin; ``"rademacher"`` only).
        Fix it before seeing data.
    intercept_scale : float > 0, default=1.0
        :math:`c`, the value of the constant feature that carries the intercept; fix it before
        seeing data (the best value, :math:`c^2 = |b|\,(\overline{k(x,x)})^{1/2}/\|w\|`, depends on
        the fit; 1 suits standardised features and the RBF kernel).
    feature_bound : float or None
        A bound :math:`\kappa` on :math:`\|\phi(x)\|` known a priori (linear models: on
        :math:`\|x\|`); needed for (F) to be rigorous unless the kernel is RBF. ``None``: exact for
        RBF, else the sample maximum (stated as an assumption in the report).
    norm_bound : float or None
        A radius :math:`r \ge \rho` fixed before seeing the data; ``None`` uses the grid. Only for
        ``method="rademacher"`` (and ``holdout``); the PAC-Bayes bounds refuse it, as they do not use it.
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
    random_state : int or None, default=0
        Seed of the random splits (``"pac-bayes"``) and of the Monte Carlo draws. The splits must
        not depend on the data: any fixed seed, chosen before looking at the bounds.
    sample_weight : float or array-like of shape (n_samples,), optional
        Accepted when it is constant, a number or equal weights (then every weighted empirical
        quantity equals the unweighted one and the bounds are unchanged). Non-uniform weights are
        refused, because none of the bounds here holds for them as stated: frequency weights
        (repeated rows) break the i.i.d. sampling every bound assumes, and importance or survey
        weights change the target distribution, whose risk needs weighted concentration inequalities
        with a known bound on the weights (Hoeffding or empirical Bernstein on :math:`w_i\ell_i`;
        Cortes, Mansour and Mohri 2010) in place of the binomial tails, the PAC-Bayes-kl theorem and
        the Rademacher term used here.

    Returns
    -------
    GeneralizationReport
        ``str(report)`` is a table with the theorem and assumptions; ``to_frame()``, ``to_dict()``.

    Raises
    ------
    FairermValueError
        ``delta`` not in (0, 1), invalid options, a model outside the covered classes (precomputed or
        sigmoid kernel, non-affine decision function), labels that are not the model's, a group
        without examples in a compared cell, ``feature_bound`` or ``norm_bound`` violated,
        ``sample_weight`` that is not constant, of the wrong shape, NaN, negative or all zero.
    FairermTypeError
        A model that is not a binary score-based classifier (e.g. a random forest), or a
        ``sample_weight`` that is not real numbers (strings, a single boolean).
    NotFittedError
        The model is not fitted.

    References
    ----------
    M. Donini, L. Oneto, S. Ben-David, J. Shawe-Taylor, M. Pontil. "Empirical Risk Minimization
    Under Fairness Constraints". NeurIPS 2018. arXiv:1802.08626.
    P. Bartlett, S. Mendelson. "Rademacher and Gaussian complexities: risk bounds and structural
    results". JMLR 3, 2002.
    J. Langford, J. Shawe-Taylor. "PAC-Bayes & margins". NIPS 2002.
    D. McAllester. "Simplified PAC-Bayesian margin bounds". COLT 2003.
    M. Seeger. "PAC-Bayesian generalisation error bounds for Gaussian process classification". JMLR 3, 2002.
    A. Maurer. "A note on the PAC Bayesian theorem". arXiv:cs/0411099, 2004.
    A. Ambroladze, E. Parrado-Hernandez, J. Shawe-Taylor. "Tighter PAC-Bayes bounds". NIPS 2006.
    E. Parrado-Hernandez, A. Ambroladze, J. Shawe-Taylor, S. Sun. "PAC-Bayes bounds with data
    dependent priors". JMLR 13, 2012.

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
                                    rademacher_draws, method, prior, prior_fraction, holdout, random_state)
    if not isinstance(holdout, (bool, np.bool_)):
        raise FairermTypeError(f"holdout must be True or False; got {holdout!r}.")
    check_option(complexity, "complexity", ("auto", "empirical", "expected"))
    view = inspect_model(model, X)
    n = view.scores.shape[0]
    _check_uniform_weights(sample_weight, n)
    sens = check_sensitive_features(sensitive_features, n)
    y_signed = signed_labels(y, n, view.classes)
    constraint = view.constraint if notion is None else make_constraint(notion, name="notion")
    strata = strata_of(constraint, y_signed)
    kappa, diameter, scale_source = feature_scale(view, feature_bound)
    if method == "rademacher" or holdout:
        return rademacher_report(view, y_signed, sens, strata, constraint, delta=delta, margin=margin,
                                 intercept_scale=intercept_scale, kappa=kappa, diameter=diameter,
                                 scale_source=scale_source, norm_bound=norm_bound, base=base, ratio=ratio,
                                 complexity=complexity, holdout=bool(holdout), rademacher_draws=rademacher_draws,
                                 random_state=random_state)
    labels = np.asarray(view.classes)[(y_signed > 0).astype(int)]
    groups = np.asarray(sens.groups, dtype=object)[sens.codes]
    return pac_bayes_report(view, y_signed, sens, strata, constraint, delta=delta, intercept_scale=intercept_scale,
                            kappa=kappa, diameter=diameter, scale_source=scale_source, prior=prior,
                            prior_fraction=prior_fraction, random_state=random_state, labels=labels, groups=groups)
