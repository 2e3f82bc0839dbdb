r"""The terms of the generalization bounds: plain numpy formulas, no model in sight.

Every function here implements one inequality that :mod:`fairerm.bounds` chains together; each
is derived in its docstring (from first principles: the paper, Donini et al. 2018,
arXiv:1802.08626, was not at hand, so constants are ours and stated where they may differ).

Symbols used throughout:

* :math:`n` -- the number of i.i.d. examples a statement is about (the whole sample, or one
  group's positives, :math:`n_{g,+}`);
* :math:`\sigma_1, \dots, \sigma_n` -- independent Rademacher signs, :math:`P(\sigma_i = \pm 1) = 1/2`;
* :math:`\mathcal G_\rho = \{x \mapsto \langle w, \phi(x)\rangle + b : \|w\|^2 + (b/c)^2 \le \rho^2\}`
  -- the model class, :math:`\phi` the feature map (:math:`\phi(x) = x` for linear models),
  :math:`c > 0` the scale of the intercept;
* :math:`\gamma > 0` -- the margin of the ramp losses, :math:`\delta \in (0, 1)` -- a failure probability.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import beta as _beta

__all__ = [
    "ramp_loss",
    "lower_ramp",
    "upper_ramp",
    "NormGridCell",
    "norm_grid_cell",
    "ramp_class_complexity",
    "expected_ramp_class_complexity",
    "ramp_uniform_deviation",
    "mean_embedding_deviation",
    "monte_carlo_rademacher",
    "binomial_upper_bound",
    "binomial_lower_bound",
]


def ramp_loss(margins: np.ndarray, gamma: float = 1.0) -> np.ndarray:
    r"""The ramp (clipped hinge) loss :math:`\ell_\gamma(t) = \min(1, \max(0, 1 - t/\gamma))` of
    :math:`t = y f(x)`: in :math:`[0, 1]`, :math:`1/\gamma`-Lipschitz, and :math:`\ge \mathbf 1[t \le 0]`
    (so it upper-bounds the 0-1 loss of the rule "positive iff :math:`f > 0`")."""
    return np.clip(1.0 - np.asarray(margins, dtype=float) / gamma, 0.0, 1.0)


def lower_ramp(scores: np.ndarray, gamma: float = 1.0) -> np.ndarray:
    r""":math:`\underline\rho_\gamma(f) = \min(1, \max(0, f/\gamma)) \le \mathbf 1[f > 0]`."""
    return np.clip(np.asarray(scores, dtype=float) / gamma, 0.0, 1.0)


def upper_ramp(scores: np.ndarray, gamma: float = 1.0) -> np.ndarray:
    r""":math:`\overline\rho_\gamma(f) = \min(1, \max(0, 1 + f/\gamma)) \ge \mathbf 1[f > 0]`."""
    return np.clip(1.0 + np.asarray(scores, dtype=float) / gamma, 0.0, 1.0)


class NormGridCell:
    r"""The cell of the norm grid :math:`r_k = r_0 \rho^k` (:math:`k = 0, 1, \dots`) holding a norm.

    The bound is stated for every :math:`\mathcal G_{r_k}` at once with failure probability
    :math:`\delta\,\pi_k`, :math:`\pi_k = 1/((k+1)(k+2))` (:math:`\sum_{k\ge 0}\pi_k = 1`), so the
    union over the grid fails with probability at most :math:`\delta`; the fitted :math:`\|w\|`
    is then covered by the smallest :math:`r_k \ge \|w\|`. This is what lets a data-dependent norm
    enter the bound honestly (stratification; :math:`r_0, \rho` are fixed before seeing data).

    Attributes
    ----------
    index : int
        :math:`k`.
    radius : float
        :math:`r_k`.
    weight : float
        :math:`\pi_k`.
    """

    def __init__(self, index: int, radius: float, weight: float):
        self.index = index
        self.radius = radius
        self.weight = weight

    def __repr__(self) -> str:
        return f"NormGridCell(index={self.index}, radius={self.radius:.6g}, weight={self.weight:.6g})"


def norm_grid_cell(norm: float, base: float, ratio: float) -> NormGridCell:
    """The smallest grid radius :math:`r_k = base \\cdot ratio^k \\ge norm` and its weight."""
    if norm <= base:
        k = 0
    else:
        k = int(math.ceil(math.log(norm / base) / math.log(ratio) - 1e-12))
        while base * ratio**k < norm:  # guard against rounding in the logarithms
            k += 1
    return NormGridCell(k, float(base * ratio**k), 1.0 / ((k + 1) * (k + 2)))


def ramp_class_complexity(radius: float, sq_norms: np.ndarray, intercept_scale: float = 1.0,
                          gamma: float = 1.0) -> float:
    r"""Upper bound on the empirical Rademacher complexity of a ramp loss over the linear class.

    The intercept is treated as the weight of a constant feature :math:`c` (``intercept_scale``,
    fixed in advance): :math:`\langle w, \phi(x)\rangle + b = \langle (w, b/c), (\phi(x), c)\rangle`,
    so the class is :math:`\mathcal G_\rho = \{x \mapsto \langle w, \phi(x)\rangle + b :
    \|w\|^2 + (b/c)^2 \le \rho^2\}`, a ball in the feature space of the kernel :math:`k + c^2`.
    For a loss :math:`\ell(y f)` that is :math:`1/\gamma`-Lipschitz (:func:`ramp_loss`,
    :func:`lower_ramp`, :func:`upper_ramp`), on a sample with :math:`k(x_i, x_i) = \|\phi(x_i)\|^2`:

    .. math::

        \hat{\mathfrak R}_S(\ell\circ\mathcal G_\rho) \le \frac1\gamma \hat{\mathfrak R}_S(\mathcal G_\rho)
        = \frac{\rho}{n\gamma}\,\mathbb E_\sigma\Big\|\sum_i\sigma_i(\phi(x_i), c)\Big\|
        \le \frac{\rho\sqrt{\sum_i k(x_i, x_i) + n c^2}}{n\gamma}.

    Derivation: Talagrand's contraction lemma (losses :math:`t \mapsto \ell(y_i t)`, each
    :math:`1/\gamma`-Lipschitz), Cauchy-Schwarz for the supremum over the ball, Jensen for the
    expectation (:math:`\mathbb E\|\sum_i\sigma_i z_i\|^2 = \sum_i\|z_i\|^2`). With :math:`c \to 0`
    it is the paper's :math:`r\sqrt{\operatorname{tr}K}/n`, which is only valid without an intercept.
    """
    sq_norms = np.asarray(sq_norms, dtype=float)
    n = sq_norms.shape[0]
    if n == 0:
        return math.inf
    return radius * math.sqrt(float(np.sum(sq_norms)) + n * intercept_scale**2) / n / gamma


def expected_ramp_class_complexity(radius: float, n: int, kappa: float, intercept_scale: float = 1.0,
                                   gamma: float = 1.0) -> float:
    r"""Upper bound on the expected Rademacher complexity :math:`\mathfrak R_n = \mathbb E_S\hat{\mathfrak R}_S`
    of the ramp class of :func:`ramp_class_complexity`, when :math:`\kappa^2 \ge \sup_x k(x, x)` is known:

    .. math:: \mathfrak R_n \le \frac{\rho}{n\gamma}\,\mathbb E_S\sqrt{\textstyle\sum_i k(x_i,x_i) + nc^2}
              \le \frac{\rho}{\gamma}\sqrt{\frac{\kappa^2 + c^2}{n}}

    (Jensen over the sample). It is data-free, which saves a McDiarmid step in
    :func:`ramp_uniform_deviation`.
    """
    if n == 0:
        return math.inf
    return radius * math.sqrt((kappa**2 + intercept_scale**2) / n) / gamma


def ramp_uniform_deviation(complexity: float, n: int, delta: float, *, empirical: bool = True) -> tuple[float, float]:
    r"""One-sided uniform deviation of a class :math:`\mathcal G` of :math:`[0, 1]`-valued functions.

    With probability at least :math:`1 - \delta` over an i.i.d. sample of size :math:`n`, for
    every :math:`g \in \mathcal G`:

    .. math:: \mathbb E\,g \le \hat{\mathbb E}_S\,g + 2\hat{\mathfrak R}_S(\mathcal G)
              + 3\sqrt{\frac{\ln(2/\delta)}{2n}}

    (symmetrisation, then McDiarmid twice, each with :math:`\delta/2`: once for the supremum of
    the deviations, once to pass from the expected to the empirical Rademacher complexity;
    Bartlett & Mendelson 2002, Thm 11; Mohri et al., *Foundations of ML*, Thm 3.3). With a
    data-free bound on the expected complexity :math:`\mathfrak R_n` (``empirical=False``) the
    second McDiarmid step is not needed:

    .. math:: \mathbb E\,g \le \hat{\mathbb E}_S\,g + 2\mathfrak R_n(\mathcal G) + \sqrt{\frac{\ln(1/\delta)}{2n}}.

    Either holds for :math:`\hat{\mathbb E}_S g - \mathbb E g` too (apply it to :math:`1 - g`).

    Returns
    -------
    (complexity_term, confidence_term) : tuple of float
        :math:`2\hat{\mathfrak R}_S` and :math:`3\sqrt{\ln(2/\delta)/(2n)}` (or :math:`2\mathfrak R_n`
        and :math:`\sqrt{\ln(1/\delta)/(2n)}`).
    """
    if n == 0:
        return math.inf, math.inf
    if empirical:
        return 2.0 * complexity, 3.0 * math.sqrt(math.log(2.0 / delta) / (2.0 * n))
    return 2.0 * complexity, math.sqrt(math.log(1.0 / delta) / (2.0 * n))


def mean_embedding_deviation(n: int, kappa: float, diameter: float, delta: float) -> tuple[float, float]:
    r"""High-probability bound on :math:`\|\hat m - m\|`, the error of an empirical mean embedding.

    Let :math:`x_1, \dots, x_n` be i.i.d., :math:`\hat m = \frac1n\sum_i\phi(x_i)`,
    :math:`m = \mathbb E\phi(x)`, :math:`\kappa^2 \ge \sup_x k(x, x)` and
    :math:`\Delta \ge \sup_{x,x'}\|\phi(x) - \phi(x')\|` (:math:`\le 2\kappa`; :math:`\sqrt2` for
    the RBF kernel). With probability at least :math:`1 - \delta`:

    .. math:: \|\hat m - m\| \le \frac{\kappa}{\sqrt n} + \Delta\sqrt{\frac{\ln(1/\delta)}{2n}}.

    Derivation: :math:`\mathbb E\|\hat m - m\| \le (\mathbb E\|\phi(x) - m\|^2/n)^{1/2} \le \kappa/\sqrt n`
    (Jensen; independence), and replacing one :math:`x_i` moves :math:`\|\hat m - m\|` by at most
    :math:`\Delta/n` (McDiarmid). Since :math:`\sup_{\|w\|\le r}|\langle w, \hat m - m\rangle| =
    r\|\hat m - m\|`, this *is* the uniform deviation of the linear loss over :math:`\{\|w\| \le r\}`
    on one group's positives, for every :math:`r` at once (no grid over :math:`r` is needed), and
    it is tighter than the generic Rademacher route (no factor 2 from symmetrisation).

    Returns
    -------
    (expectation_term, confidence_term) : tuple of float
    """
    if n == 0:
        return math.inf, math.inf
    return kappa / math.sqrt(n), diameter * math.sqrt(math.log(1.0 / delta) / (2.0 * n))


def monte_carlo_rademacher(gram_matvec, n: int, n_draws: int, rng: np.random.Generator) -> tuple[float, float]:
    r"""Monte Carlo estimate of :math:`\frac1n\mathbb E_\sigma\|\sum_i\sigma_i\phi(x_i)\| =
    \frac1n\mathbb E_\sigma\sqrt{\sigma^\top K\sigma}`, the empirical Rademacher complexity of the
    unit ball :math:`\{\langle w, \phi(\cdot)\rangle : \|w\| \le 1\}` on the sample.

    ``gram_matvec(S)`` must return :math:`K S` for a matrix :math:`S` of shape ``(n, m)``.

    Returns
    -------
    (estimate, standard_error) : tuple of float
    """
    sigma = rng.choice(np.array([-1.0, 1.0]), size=(n, n_draws))
    quad = np.einsum("ij,ij->j", sigma, gram_matvec(sigma))
    values = np.sqrt(np.maximum(quad, 0.0)) / n
    se = float(values.std(ddof=1) / math.sqrt(n_draws)) if n_draws > 1 else math.nan
    return float(values.mean()), se


def binomial_upper_bound(k: int, n: int, delta: float) -> float:
    r"""Exact one-sided upper confidence bound (Clopper-Pearson) on a probability :math:`p` from
    :math:`k` successes in :math:`n` independent trials: the largest :math:`p` with
    :math:`P_p(\mathrm{Bin}(n, p) \le k) \ge \delta`, i.e. the :math:`1-\delta` quantile of
    :math:`\mathrm{Beta}(k+1, n-k)` (1 when :math:`k = n`). :math:`P(p > \text{bound}) \le \delta`.

    Valid only for a *fixed* event, e.g. the errors of a model on a sample it was not fitted on.
    """
    if n == 0 or k >= n:
        return 1.0
    return float(_beta.ppf(1.0 - delta, k + 1, n - k))


def binomial_lower_bound(k: int, n: int, delta: float) -> float:
    r"""Exact one-sided lower confidence bound (Clopper-Pearson): the :math:`\delta` quantile of
    :math:`\mathrm{Beta}(k, n-k+1)` (0 when :math:`k = 0`). :math:`P(p < \text{bound}) \le \delta`."""
    if n == 0 or k <= 0:
        return 0.0
    return float(_beta.ppf(delta, k, n - k + 1))
