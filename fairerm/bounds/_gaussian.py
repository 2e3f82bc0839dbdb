r"""Gaussian priors and posteriors on score functions, and the margin bounds they give.

The hypotheses are score functions :math:`g(x) = \langle v, \tilde\phi(x)\rangle` on the feature
map :math:`\tilde\phi(x) = (\phi(x), c)` of the kernel :math:`\tilde k = k + c^2` (the constant
feature :math:`c` carries the intercept: the fitted :math:`f = \langle w, \phi\rangle + b` is
:math:`\tilde w = (w, b/c)`), each read as the classifier :math:`\mathbf 1[g(x) > 0]`.

**Prior.** A Gaussian process :math:`P = \mathcal{GP}(\eta\,f_p/\|f_p\|_M,\ k_M)` with covariance
:math:`k_M(x, x') = \langle\tilde\phi(x), M^{-1}\tilde\phi(x')\rangle`, where
:math:`M = \hat C + \lambda I`, :math:`\hat C = \frac1r\sum_j\tilde\phi(x_j)\tilde\phi(x_j)^\top` over
points :math:`x_j` of the *prior's* part of the sample (:math:`M = I` without a prior part),
:math:`\lambda = \lambda_{\rm rel}\operatorname{tr}\hat C` and :math:`f_p` a model fitted on that part
only (:math:`\eta = 0` without one). :math:`\|h\|_M^2 = \langle h, Mh\rangle`, and with
:math:`\hat C = \sum_k\lambda_k e_ke_k^\top`, :math:`q_k = \lambda_k/(\lambda_k + \lambda)`.

**Posterior.** :math:`Q = \mathcal{GP}(\mu f/\|f\|_M,\ k_{M,a})`, :math:`\mu > 0` free, with the
covariance of :math:`P` shrunk along each :math:`e_k` by :math:`t_k = 1/(1 + aq_k)`. Then

.. math::

    \mathrm{KL}(Q\|P) = \tfrac12\sum_k(t_k - 1 - \ln t_k) + \tfrac12(\mu^2 + \eta^2 - 2\mu\eta\cos_M),
    \qquad \cos_M = \frac{\langle f, f_p\rangle_M}{\|f\|_M\|f_p\|_M}

(the Gaussian KL on the finitely many :math:`e_k`, where the covariances differ, and the
Cameron-Martin formula :math:`\frac12\|m_Q - m_P\|_M^2` for the means; :math:`\|\cdot\|_M` is the
norm of the Cameron-Martin space of :math:`P`). At a point, :math:`g(x) \sim
\mathcal N(\mu f(x)/\|f\|_M, \sigma_a(x)^2)`, :math:`\sigma_a(x)^2 = \sum_k t_kz_k(x)^2 + \rho(x)`,
with :math:`z_k = \langle e_k, \tilde\phi\rangle/\sqrt{\lambda_k + \lambda}` and :math:`\rho(x)` the
prior variance off :math:`\operatorname{span}(e_k)`. So only :math:`f(x_i)`, :math:`\|f\|_M`,
:math:`\cos_M` and kernel values enter.

**From the Gibbs classifier to the deployed one.** For :math:`\theta > 0` the loss
:math:`\ell_{\theta,a}(g, x, \tilde y) = \mathbf 1[\tilde y\,g(x) \le \theta\sigma_a(x)]` is fixed once
:math:`(\theta, a)` and the prior part are, and :math:`\mathbb E_Q\ell_{\theta, a} =
\Phi(\theta - \mu\tilde yf(x)/(\|f\|_M\sigma_a(x)))`. Where :math:`\tilde yf(x) \le 0` that is
:math:`\ge \Phi(\theta)`, hence, pointwise,
:math:`\mathbf 1[\tilde yf(x) \le 0] \le \mathbb E_Q\ell_{\theta,a}/\Phi(\theta)`: the deterministic
:math:`f` pays its Gibbs margin loss divided by :math:`\Phi(\theta)` (McAllester 2003; Langford
and Shawe-Taylor 2002). :func:`margin_statement` minimises the PAC-Bayes-kl bound of
:mod:`fairerm.bounds._kl` over the grid of :math:`(\theta, a, \eta)` fixed in advance (a union
bound: :math:`\delta/J` each) and over :math:`\mu` (free: the theorem holds for every posterior).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from ._kl import kl_inverse_upper_scalar, log_maurer_xi, pac_bayes_kl_upper

__all__ = ["GaussianFamily", "LandmarkCovariance", "MarginStatement", "margin_statement", "explicit_family",
           "kernel_family", "THETA_GRID", "SHRINK_GRID", "ETA_GRID"]

THETA_GRID = (1.0, 2.0, 3.0)  # Phi(theta) = 0.841, 0.977, 0.9987
SHRINK_GRID = (0.0,) + tuple(10.0 ** (k / 2) for k in range(7))  # a = 0, 1, 3.2, ..., 1000
ETA_GRID = (0.0,) + tuple(2.0**k for k in range(14))  # eta = 0, 1, 2, ..., 8192
_MU_SEARCH = np.geomspace(1e-2, 1e6, 57)


@dataclass
class GaussianFamily:
    """The prior's covariance and both means, as far as the bounds need them.

    Attributes
    ----------
    eigenvalues : ndarray of shape (K,)
        :math:`\\lambda_k` of :math:`\\hat C` (empty without a prior part and for kernels).
    shrinkable : ndarray of shape (K,)
        :math:`q_k`.
    ridge : float
        :math:`\\lambda`.
    mean_norm : float
        :math:`\\|f\\|_M`.
    cosine : float
        :math:`\\cos_M(f, f_p)` (0 without a prior mean).
    has_prior_mean : bool
    coordinates : callable
        ``coordinates(rows)`` returns ``(z, rho)`` for the given sample rows.
    description : str
    """

    eigenvalues: np.ndarray
    shrinkable: np.ndarray
    ridge: float
    mean_norm: float
    cosine: float
    has_prior_mean: bool
    coordinates: object
    description: str

    def shrink_grid(self) -> tuple:
        return SHRINK_GRID if self.shrinkable.size else (0.0,)

    def eta_grid(self) -> tuple:
        return ETA_GRID if self.has_prior_mean else (0.0,)

    def union_size(self) -> int:
        return len(THETA_GRID) * len(self.shrink_grid()) * len(self.eta_grid())


def explicit_family(features, weights, prior_features=None, prior_weights=None, ridge_rel=1e-3) -> GaussianFamily:
    r"""Finite-dimensional features :math:`\tilde x_i` (rows of ``features``, constant column included)
    and weights :math:`\tilde w`; the prior part's rows ``prior_features`` and its model's weights."""
    w = np.asarray(weights, float)
    if prior_features is None:  # M = I: the coordinates are the features themselves
        norm, cosine = float(np.linalg.norm(w)), 0.0
        has_mean = prior_weights is not None and np.linalg.norm(prior_weights) > 0 and norm > 0
        if has_mean:
            cosine = float(w @ prior_weights / (norm * np.linalg.norm(prior_weights)))
        return GaussianFamily(np.ones(w.size), np.ones(w.size), 0.0, norm, cosine, bool(has_mean),
                              lambda rows: (features[rows], np.zeros(len(rows))),
                              "N(eta f_p, I) on (x, c)" if has_mean else "N(0, I) on (x, c)")
    second = prior_features.T @ prior_features / prior_features.shape[0]
    ridge = ridge_rel * float(np.trace(second))
    eigenvalues, basis = np.linalg.eigh(second)
    eigenvalues = np.maximum(eigenvalues, 0.0)
    scale = np.sqrt(eigenvalues + ridge)
    u = scale * (basis.T @ w)
    norm, cosine, has_mean = float(np.linalg.norm(u)), 0.0, prior_weights is not None
    if has_mean:
        u_prior = scale * (basis.T @ np.asarray(prior_weights, float))
        has_mean = norm > 0 and np.linalg.norm(u_prior) > 0
        cosine = float(u @ u_prior / (norm * np.linalg.norm(u_prior))) if has_mean else 0.0

    def coordinates(rows):
        return (features[rows] @ basis) / scale, np.zeros(len(rows))

    return GaussianFamily(eigenvalues, eigenvalues / (eigenvalues + ridge), ridge, norm, cosine, bool(has_mean),
                          coordinates, f"N(eta f_p, (C_prior + {ridge_rel:g} tr C_prior I)^-1) on (x, c)")


class LandmarkCovariance:
    r"""The empirical covariance operator :math:`\hat C` of landmark points (prior rows) in feature
    space, through the eigendecomposition of their Gram matrix :math:`\tilde K_{LL}/L = V\Lambda V^\top`:
    :math:`e_k = \sum_l V_{lk}\tilde\phi(x_l)/\sqrt{L\lambda_k}` are orthonormal and
    :math:`\langle e_k, \tilde\phi(x)\rangle = (\tilde k_L(x)^\top V)_k/\sqrt{L\lambda_k}`. Eigenvalues
    below :math:`10^{-12}\lambda_{\max}` are dropped (that is, :math:`\hat C` is replaced by its
    restriction to the kept :math:`e_k`, consistently in every formula).

    ``cross_gram(rows)`` returns :math:`[\tilde k(x_i, x_l)]` for sample rows against the landmarks."""

    def __init__(self, landmark_gram: np.ndarray, cross_gram, ridge_rel: float):
        self.n_landmarks = landmark_gram.shape[0]
        eigenvalues, vectors = np.linalg.eigh(landmark_gram / self.n_landmarks)
        keep = eigenvalues > 1e-12 * max(float(eigenvalues.max()), 1e-300)
        self.eigenvalues, self.vectors = eigenvalues[keep], vectors[:, keep]
        self.ridge = ridge_rel * float(np.mean(np.diag(landmark_gram)))
        self.ridge_rel = ridge_rel
        self.cross_gram = cross_gram

    def mean_square(self, a: np.ndarray, b: np.ndarray) -> float:
        r""":math:`\langle a, \hat Cb\rangle` for two score functions given on the landmarks."""
        return float((self.vectors.T @ a) @ (self.vectors.T @ b)) / self.n_landmarks


def kernel_family(covariance, sq_norms, scores_landmarks=None, class_sq_norm=None, prior_scores_landmarks=None,
                  prior_sq_norm=None, inner_product=None) -> GaussianFamily:
    r"""A kernel model: ``covariance`` a :class:`LandmarkCovariance` of prior rows (``None`` without
    a prior part: :math:`M = I`), ``sq_norms`` the :math:`\tilde k(x_i, x_i)` of the whole sample;
    on the landmarks :math:`f(x_l)` and :math:`f_p(x_l)`, with :math:`\|\tilde w\|^2`,
    :math:`\|\tilde w_p\|^2` and :math:`\langle\tilde w, \tilde w_p\rangle`."""
    if covariance is None:  # M = I: the GP with covariance k~, nothing to shrink
        return GaussianFamily(np.zeros(0), np.zeros(0), 0.0, math.sqrt(class_sq_norm), 0.0, False,
                              lambda rows: (np.zeros((len(rows), 0)), sq_norms[rows]), "GP(0, k + c^2)")
    cov, ridge = covariance, covariance.ridge
    sq_norm = cov.mean_square(scores_landmarks, scores_landmarks) + ridge * class_sq_norm
    cosine, has_mean = 0.0, prior_scores_landmarks is not None
    if has_mean:
        prior_norm = cov.mean_square(prior_scores_landmarks, prior_scores_landmarks) + ridge * prior_sq_norm
        cross = cov.mean_square(scores_landmarks, prior_scores_landmarks) + ridge * inner_product
        has_mean = prior_norm > 0
        cosine = cross / math.sqrt(sq_norm * prior_norm) if has_mean else 0.0
    scale = np.sqrt(cov.eigenvalues + ridge)

    def coordinates(rows):
        along = cov.cross_gram(rows) @ cov.vectors / np.sqrt(cov.n_landmarks * cov.eigenvalues)
        off = np.maximum(sq_norms[rows] - np.einsum("ij,ij->i", along, along), 0.0) / ridge
        return along / scale, off

    return GaussianFamily(cov.eigenvalues, cov.eigenvalues / (cov.eigenvalues + ridge), ridge, math.sqrt(sq_norm),
                          cosine, bool(has_mean), coordinates,
                          f"GP(eta f_p, k_M), M = C_{cov.n_landmarks} landmarks + {cov.ridge_rel:g} tr C I")


@dataclass
class MarginStatement:
    """One PAC-Bayes margin statement: the bound and the posterior that attains it."""

    bound: float
    n: int
    delta: float
    union_size: int
    theta: float
    shrink: float
    eta: float
    mu: float
    kl: float
    gibbs_loss: float
    deterministic_loss: float


def _shape_kl(shrinkable: np.ndarray, a: float) -> tuple[np.ndarray, float]:
    t = 1.0 / (1.0 + a * shrinkable)
    return t, 0.5 * float(np.sum(t - 1.0 - np.log(t)))


def margin_statement(family: GaussianFamily, rows: np.ndarray, signed_scores: np.ndarray, weights: np.ndarray,
                     delta: float) -> MarginStatement:
    r"""Upper bound on :math:`\mathbb E[w(x, y)\,\mathbf 1[\tilde y f(x) \le 0]]` from the sample rows
    ``rows`` (i.i.d. from the distribution the statement is about), where ``signed_scores`` are
    :math:`\tilde y_i f(x_i)` and ``weights`` :math:`w_i \in [0, 1]` (a fixed function of
    :math:`(x, y)`, e.g. "the prior classifier is right here"), both for those rows. With
    probability :math:`\ge 1 - \delta`, for :math:`m` = ``len(rows)``:

    .. math:: \mathbb E[w\,\mathbf 1[\tilde yf \le 0]] \le \min_{\theta, a, \eta, \mu}
              \frac{\mathrm{kl}^{-1}_+\big(\frac1m\sum_iw_i\Phi(\theta - \mu\gamma_i(a)),\
              (\mathrm{KL} + \ln(J\xi(m)/\delta))/m\big)}{\Phi(\theta)},
              \qquad \gamma_i(a) = \frac{\tilde y_if(x_i)}{\|f\|_M\sigma_a(x_i)}.
    """
    m = len(rows)
    signed_scores = np.asarray(signed_scores, float)
    weights = np.asarray(weights, float)
    det = float(np.sum(weights * (signed_scores <= 0)) / m) if m else 0.0
    union = family.union_size()
    if m == 0 or family.mean_norm <= 0.0:  # nothing to learn from, or f = 0 (every point on the boundary)
        return MarginStatement(1.0, m, delta, union, np.nan, np.nan, np.nan, np.nan, 0.0, np.nan, det)
    active = weights > 0
    z, off = family.coordinates(rows[active])
    s, wt = signed_scores[active] / family.mean_norm, weights[active]
    etas, thetas, shrinks = np.asarray(family.eta_grid()), np.asarray(THETA_GRID), family.shrink_grid()
    level = delta / union
    # empirical Gibbs losses for every (a, theta, mu); the KL is increasing in the kl inverse's second
    # argument, so for each (a, mu) only the eta of the grid with the smallest KL can attain the minimum
    cross = _MU_SEARCH[:, None] ** 2 + etas[None, :] ** 2 - 2 * family.cosine * _MU_SEARCH[:, None] * etas[None, :]
    best_eta = np.argmin(cross, axis=1)
    losses = np.empty((len(shrinks), thetas.size, _MU_SEARCH.size))
    kl = np.empty((len(shrinks), _MU_SEARCH.size))
    margin_sets = []
    for k, a in enumerate(shrinks):
        t, kl_shape = _shape_kl(family.shrinkable, a)
        margins = s / np.sqrt(np.maximum(z**2 @ t + off, 1e-300))
        margin_sets.append((margins, kl_shape))
        losses[k] = _gibbs_losses(thetas, _MU_SEARCH, margins, wt) / m
        kl[k] = kl_shape + 0.5 * cross[np.arange(_MU_SEARCH.size), best_eta]
    values = pac_bayes_kl_upper(losses, kl[:, None, :], m, level) / ndtr(thetas)[None, :, None]
    k, i_theta, i_mu = np.unravel_index(int(np.argmin(values)), values.shape)
    i_eta = best_eta[i_mu]
    value, theta, eta = float(values[k, i_theta, i_mu]), float(thetas[i_theta]), float(etas[i_eta])
    margins, kl_shape = margin_sets[k]

    def loss(mu):
        return float(_gibbs_losses(np.array([theta]), np.array([mu]), margins, wt)[0, 0]) / m

    mu, refined = _refine(loss, kl_shape, eta, family.cosine, i_mu, m, level)
    if refined / float(ndtr(theta)) < value:
        value = refined / float(ndtr(theta))
    else:
        mu = float(_MU_SEARCH[i_mu])
    kl_value = kl_shape + 0.5 * (mu**2 + eta**2 - 2 * family.cosine * mu * eta)
    return MarginStatement(min(value, 1.0), m, delta, union, theta, float(shrinks[k]), eta, mu, kl_value, loss(mu),
                           det)


def _gibbs_losses(thetas: np.ndarray, mus: np.ndarray, margins: np.ndarray, weights: np.ndarray) -> np.ndarray:
    r""":math:`\sum_i w_i\Phi(\theta - \mu\gamma_i)` for every :math:`(\theta, \mu)`, in row blocks."""
    out = np.zeros((thetas.size, mus.size))
    step = max(1, 2_000_000 // max(1, thetas.size * mus.size))
    for start in range(0, margins.size, step):
        block = margins[start:start + step]
        out += ndtr(thetas[:, None, None] - mus[None, :, None] * block[None, None, :]) @ weights[start:start + step]
    return out


def _refine(loss, kl_shape, eta, cosine, i, m, delta) -> tuple[float, float]:
    """Golden-section search of log mu between the grid neighbours of the best grid point."""
    lo = math.log(_MU_SEARCH[max(i - 1, 0)])
    hi = math.log(_MU_SEARCH[min(i + 1, len(_MU_SEARCH) - 1)])

    def value(log_mu):
        mu = math.exp(log_mu)
        kl = kl_shape + 0.5 * (mu * mu + eta * eta - 2 * cosine * mu * eta)
        return kl_inverse_upper_scalar(loss(mu), (kl + log_maurer_xi(m) - math.log(delta)) / m)

    ratio = (math.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = value(a), value(b)
    for _ in range(20):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = value(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = value(b)
    best = a if fa < fb else b
    return math.exp(best), min(fa, fb)
