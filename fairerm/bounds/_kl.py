r"""The binary relative entropy, its inverses and Maurer's constant: the PAC-Bayes-kl theorem.

For :math:`q, p \in [0, 1]` the relative entropy of two Bernoulli distributions is

.. math:: \mathrm{kl}(q\,\|\,p) = q\ln\frac qp + (1-q)\ln\frac{1-q}{1-p}.

**The PAC-Bayes-kl theorem** (Seeger 2002; Maurer 2004, with the constant below). Let
:math:`\ell(h, z) \in [0, 1]` be a loss fixed in advance, :math:`P` a distribution on hypotheses
(the *prior*) that does not depend on the sample :math:`S = (z_1, \dots, z_m)` of i.i.d. examples,
:math:`\hat L_S(h) = \frac1m\sum_i\ell(h, z_i)` and :math:`L(h) = \mathbb E_z\,\ell(h, z)`. With
probability at least :math:`1 - \delta` over :math:`S`, *simultaneously for every* distribution
:math:`Q` on hypotheses (the *posterior*, which may depend on :math:`S`),

.. math:: \mathrm{kl}\big(\mathbb E_Q\hat L_S\,\big\|\,\mathbb E_Q L\big)
          \le \frac{\mathrm{KL}(Q\|P) + \ln(\xi(m)/\delta)}{m},
          \qquad \xi(m) = \sum_{k=0}^m\binom mk\Big(\frac km\Big)^k\Big(1-\frac km\Big)^{m-k}.

Derivation (what :func:`log_maurer_xi` and the tests check): (i) for one fixed :math:`h`,
:math:`\mathbb E_S\,e^{m\,\mathrm{kl}(\hat L_S(h)\|L(h))} \le \xi(m)`: by convexity of the
exponent in each :math:`\ell(h, z_i)`, the expectation is largest when the losses are
Bernoulli(:math:`L(h)`) (Maurer 2004, Thm 1), and then it equals
:math:`\sum_k\binom mk p^k(1-p)^{m-k}e^{m\,\mathrm{kl}(k/m\|p)} = \xi(m)`, whatever :math:`p`;
(ii) Markov's inequality for :math:`\mathbb E_{h\sim P}e^{m\,\mathrm{kl}}` (:math:`P` is fixed);
(iii) the change of measure :math:`\mathbb E_Q[\phi] \le \mathrm{KL}(Q\|P) + \ln\mathbb E_P e^{\phi}`
(Donsker-Varadhan); (iv) joint convexity of kl (Jensen). :math:`\sqrt m \le \xi(m) \le 2\sqrt m`
for :math:`m \ge 8`, and :math:`\xi(m) \sim \sqrt{\pi m/2}`.

The bound on :math:`\mathbb E_Q L` is then read off by inverting kl in its second argument
(:func:`kl_inverse_upper`, :func:`kl_inverse_lower`).

References
----------
M. Seeger. "PAC-Bayesian generalisation error bounds for Gaussian process classification". JMLR 3, 2002.
A. Maurer. "A note on the PAC Bayesian theorem". arXiv:cs/0411099, 2004.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy.special import gammaln, xlogy

__all__ = ["kl_bernoulli", "kl_inverse_upper", "kl_inverse_upper_scalar", "kl_inverse_lower", "log_maurer_xi",
           "pac_bayes_kl_upper"]

_BISECTION_STEPS = 56  # halves [0, 1] to 1.4e-17
# kl(q||p) is computed with an absolute rounding error of about 1e-16, which near p = q (kl ~ (p-q)^2)
# moves the root by up to ~1e-8: the inverses are padded outwards by 1e-8 so that they stay valid.
_PAD = 1e-8
_NEWTON_STEPS = 40


def kl_bernoulli(q, p) -> np.ndarray:
    r""":math:`\mathrm{kl}(q\|p)` elementwise, with :math:`0\ln 0 = 0` and :math:`+\infty` where
    :math:`p \in \{0, 1\}` differs from :math:`q`."""
    q = np.clip(np.asarray(q, dtype=float), 0.0, 1.0)
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return xlogy(q, q) - xlogy(q, p) + xlogy(1 - q, 1 - q) - xlogy(1 - q, 1 - p)


def _bisect(q: np.ndarray, bound: np.ndarray, lo: np.ndarray, hi: np.ndarray, upper: bool) -> np.ndarray:
    """Bisection for kl(q||p) = bound on [lo, hi]; kl(q||.) is monotone there (increasing for the
    upper inverse, decreasing for the lower). Returns the outer end of the final bracket, padded."""
    entropy = xlogy(q, q) + xlogy(1 - q, 1 - q)
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(_BISECTION_STEPS):
            mid = 0.5 * (lo + hi)
            outside = entropy - xlogy(q, mid) - xlogy(1 - q, 1 - mid) > bound
            if upper:
                hi = np.where(outside, mid, hi)
                lo = np.where(outside, lo, mid)
            else:
                lo = np.where(outside, mid, lo)
                hi = np.where(outside, hi, mid)
    return np.minimum(hi + _PAD, 1.0) if upper else np.maximum(lo - _PAD, 0.0)


def kl_inverse_upper(q, bound) -> np.ndarray:
    r"""The largest :math:`p \in [q, 1]` with :math:`\mathrm{kl}(q\|p) \le` ``bound``, elementwise.

    :math:`F(p) = \mathrm{kl}(q\|p) - \varepsilon` is convex and increasing on :math:`[q, 1)`, so
    Newton's method started right of the root stays right of it (each tangent lies below
    :math:`F`): every iterate is a valid upper bound, and it converges quadratically. The start
    :math:`p_0 = q + \varepsilon + \sqrt{\varepsilon^2 + 2q\varepsilon}` is right of the root because
    :math:`\mathrm{kl}(q\|p) \ge (p - q)^2/(2p)` for :math:`p \ge q`, or, when smaller,
    :math:`p_0 = 1 - (1-q)e^{-(\varepsilon - q\ln q)/(1-q)}`, because :math:`\mathrm{kl}(q\|p) \ge
    q\ln q + (1-q)\ln\frac{1-q}{1-p}`; where the start rounds to 1, bisection. The result is padded
    by ``1e-8`` (the rounding of kl near :math:`p = q`), so it never falls below :math:`p^*`.
    """
    q, bound = np.broadcast_arrays(np.clip(np.asarray(q, float), 0.0, 1.0), np.asarray(bound, float))
    shape = q.shape
    q, bound = q.ravel(), bound.ravel()
    eps = np.maximum(bound, 0.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        entropy = xlogy(q, q) + xlogy(1 - q, 1 - q)
        # two starts right of the root: refined Pinsker, and kl >= (1-q) ln((1-q)/(1-p)) + q ln q
        tail = 1.0 - (1.0 - q) * np.exp(-(eps - xlogy(q, q)) / np.maximum(1.0 - q, 1e-300))
        p = np.minimum(np.minimum(q + eps + np.sqrt(eps * eps + 2.0 * q * eps), tail), 1.0)
        far = (p >= 1.0) & (q < 1.0)  # the start rounds to 1: bisection there
        for _ in range(_NEWTON_STEPS):
            inside = (p < 1.0) & (p > q)
            value = entropy - xlogy(q, p) - xlogy(1 - q, 1 - p) - eps
            slope = (p - q) / (p * (1.0 - p))
            step = np.where(inside & (value > 0) & (slope > 0), value / slope, 0.0)
            p = np.maximum(p - step, q)
            if np.all(step <= 1e-15):
                break
    out = np.minimum(p + _PAD, 1.0)
    if np.any(far):
        out[far] = _bisect(q[far], eps[far], q[far].copy(), np.ones(int(far.sum())), upper=True)
    return np.where(np.isinf(bound), 1.0, out).reshape(shape)


def kl_inverse_lower(q, bound) -> np.ndarray:
    r"""The smallest :math:`p \in [0, q]` with :math:`\mathrm{kl}(q\|p) \le` ``bound`` (bisection,
    returning the left end of the final bracket minus ``1e-8``: never above the exact value)."""
    q, bound = np.broadcast_arrays(np.clip(np.asarray(q, float), 0.0, 1.0), np.asarray(bound, float))
    out = _bisect(q, bound, np.zeros_like(q), q.copy(), upper=False)
    return np.where(np.isinf(bound), 0.0, out)


def kl_inverse_upper_scalar(q: float, bound: float) -> float:
    """:func:`kl_inverse_upper` for one pair of floats (plain Python: the optimiser calls it often)."""
    q = min(max(float(q), 0.0), 1.0)
    if not math.isfinite(bound):
        return 1.0
    eps = max(float(bound), 0.0)
    entropy = (q * math.log(q) if q > 0 else 0.0) + ((1 - q) * math.log1p(-q) if q < 1 else 0.0)
    tail = 1.0 - (1.0 - q) * math.exp(-(eps - (q * math.log(q) if q > 0 else 0.0)) / (1.0 - q)) if q < 1 else 1.0
    p = min(q + eps + math.sqrt(eps * eps + 2.0 * q * eps), tail, 1.0)
    if p >= 1.0:  # the start was capped at 1: bisection (large bounds)
        lo, hi = q, 1.0
        for _ in range(_BISECTION_STEPS):
            mid = 0.5 * (lo + hi)
            if mid >= 1.0:
                break
            cross = (q * math.log(mid) if q > 0 else 0.0) + ((1 - q) * math.log1p(-mid) if q < 1 else 0.0)
            if entropy - cross > eps:
                hi = mid
            else:
                lo = mid
        return min(hi + _PAD, 1.0)
    for _ in range(_NEWTON_STEPS):
        if not q < p < 1.0:
            break
        value = entropy - (q * math.log(p) if q > 0 else 0.0) - (1 - q) * math.log(1 - p) - eps
        if value <= 0:
            break
        step = value * p * (1.0 - p) / (p - q)
        p = max(p - step, q)
        if step <= 1e-15:
            break
    return min(p + _PAD, 1.0)


@functools.lru_cache(maxsize=4096)
def log_maurer_xi(m: int) -> float:
    r""":math:`\ln\xi(m)`, :math:`\xi(m) = \sum_{k=0}^m\binom mk(k/m)^k(1-k/m)^{m-k}`, summed exactly
    in log space (:math:`O(m)`; :math:`\xi(0) = 1`)."""
    m = int(m)
    if m <= 0:
        return 0.0
    k = np.arange(m + 1, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = (gammaln(m + 1) - gammaln(k + 1) - gammaln(m - k + 1)
                 + np.where(k > 0, k * np.log(k / m), 0.0) + np.where(k < m, (m - k) * np.log1p(-k / m), 0.0))
    top = float(terms.max())
    return top + math.log(float(np.exp(terms - top).sum()))


def pac_bayes_kl_upper(empirical, kl, m: int, delta: float) -> np.ndarray:
    r"""Upper bound on :math:`\mathbb E_Q L` from the PAC-Bayes-kl theorem:
    ``kl_inverse_upper(empirical, (kl + ln(xi(m)/delta)) / m)`` (1 when :math:`m = 0`)."""
    if m <= 0:
        return np.ones_like(np.asarray(empirical, float))
    return kl_inverse_upper(empirical, (np.asarray(kl, float) + log_maurer_xi(m) - math.log(delta)) / m)
