r"""Fair regression by post-processing onto the Wasserstein barycenter of the groups' predictions.

For the squared loss, the best predictor under demographic parity is
:math:`g^*(x, s) = \sum_{s'} p_{s'} Q_{s'}(F_s(f^*(x, s)))` (Chzhen et al. 2020): it maps the
Bayes regressor :math:`f^*` onto the Wasserstein-2 barycenter of its group-conditional laws.
:class:`WassersteinFairRegressor` (whose docstring defines every symbol and derives the
guarantee) plugs in any fitted regressor and estimates :math:`F_s, Q_s, p_s` on an unlabelled
calibration sample; the functions below are the same mathematics on plain sorted arrays.

References
----------
E. Chzhen, C. Denis, M. Hebiri, L. Oneto, M. Pontil. "Fair regression with Wasserstein
barycenters". NeurIPS 2020. arXiv:2006.07286.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, MetaEstimatorMixin, RegressorMixin, clone
from sklearn.metrics import r2_score
from sklearn.utils import _safe_indexing, get_tags
from sklearn.utils.validation import check_is_fitted

from ._validation import SensitiveEncoding, check_scalar, check_sensitive_features
from .exceptions import FairermTypeError, FairermValueError, NotFittedError
from .metrics._regression import check_predictions
from .regression import check_regression_target

__all__ = [
    "WassersteinFairRegressor",
    "MIN_CALIBRATION_SAMPLES_PER_GROUP",
    "randomized_cdf_levels",
    "empirical_quantiles",
    "barycenter_predictions",
]

#: Fewest calibration samples a group may have. They are halved (CDF / quantile function), so
#: each estimate rests on at least five points; with fewer the barycenter is mostly noise.
MIN_CALIBRATION_SAMPLES_PER_GROUP = 10


# The mathematics, on plain sorted arrays
def randomized_cdf_levels(sorted_values: np.ndarray, t: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    r"""Randomised empirical CDF :math:`\hat F(t)` of a sample, with ties broken at random.

    .. math::

        \hat F(t) = \frac{1}{N + 1}\Big(\sum_{i=1}^N \mathbf 1\{v_i < t\}
                    + U\,\big(1 + \sum_{i=1}^N \mathbf 1\{v_i = t\}\big)\Big),
        \qquad U \sim \mathcal U[0, 1],

    for the sample :math:`v_1, \dots, v_N` (``sorted_values``, ascending). If :math:`t` and the
    :math:`v_i` are exchangeable, :math:`\hat F(t)` is *exactly* uniform on :math:`[0, 1]`:
    the position of :math:`t` among the :math:`N + 1` values, ties broken uniformly, is uniform
    on :math:`\{0, \dots, N\}`, and :math:`U` spreads each position over an interval of length
    :math:`1/(N + 1)`.
    """
    # Sorted queries make searchsorted walk the sample once instead of jumping about in memory.
    order = np.argsort(t)
    below, ties = np.empty(t.shape[0], dtype=np.int64), np.empty(t.shape[0], dtype=np.int64)
    below[order] = np.searchsorted(sorted_values, t[order], side="left")
    ties[order] = np.searchsorted(sorted_values, t[order], side="right")
    ties -= below
    return (below + uniform * (1.0 + ties)) / (sorted_values.shape[0] + 1.0)


def empirical_quantiles(sorted_values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    r"""Empirical quantile function :math:`\hat Q(u) = \inf\{t : \hat F_N(t) \ge u\}`.

    For the ascending sample :math:`v_{(1)} \le \dots \le v_{(N)}` this is
    :math:`v_{(\lceil uN \rceil)}` (and :math:`v_{(1)}` at :math:`u = 0`): exact, no grid;
    ``numpy.quantile(..., method="inverted_cdf")`` computes the same.
    """
    n = sorted_values.shape[0]
    rank = np.clip(np.ceil(levels * n).astype(np.int64), 1, n)
    return sorted_values[rank - 1]


def barycenter_predictions(
    predictions: np.ndarray,
    codes: np.ndarray,
    cdf_values: list[np.ndarray],
    quantile_values: list[np.ndarray],
    group_weights: np.ndarray,
    uniform: np.ndarray,
) -> np.ndarray:
    r"""Map jittered predictions :math:`t_i = f(x_i, s_i) + \varepsilon_i` of groups ``codes``
    to :math:`\sum_{s'} \hat p_{s'} \hat Q_{s'}(\hat F_{s_i}(t_i))`.

    ``cdf_values[s]`` and ``quantile_values[s]`` are the two sorted, independent halves of group
    :math:`s`'s jittered calibration predictions that define :math:`\hat F_s` and
    :math:`\hat Q_s`; ``group_weights`` are :math:`\hat p_s`; ``uniform`` the :math:`U_i` of
    :func:`randomized_cdf_levels`. Returns an array of shape ``(n,)``.
    """
    levels = np.empty_like(predictions)
    for group, values in enumerate(cdf_values):
        rows = codes == group
        levels[rows] = randomized_cdf_levels(values, predictions[rows], uniform[rows])
    fair = np.zeros_like(predictions)
    for weight, values in zip(group_weights, quantile_values):
        fair += weight * empirical_quantiles(values, levels)
    return fair


# Boundary checks specific to a meta-estimator (X goes to the base estimator untouched)
def _has_missing(X: Any) -> bool:
    if isinstance(X, pd.DataFrame):
        numeric = X.select_dtypes(include="number").to_numpy(dtype=np.float64)
        return bool(X.isna().to_numpy().any() or not np.all(np.isfinite(numeric)))
    if sp.issparse(X):
        return X.dtype.kind in "fc" and not np.all(np.isfinite(X.data))
    values = np.asarray(X)
    if values.dtype.kind in "fc":
        return not np.all(np.isfinite(values))
    if values.dtype == object:
        return bool(pd.isna(values).any())
    return False


def _check_X(X: Any, estimator: Any) -> int:
    """Length of ``X``; refuse NaN/inf unless the base estimator declares it handles them."""
    if X is None or not hasattr(X, "__len__"):
        raise FairermTypeError(f"X must be an array-like of shape (n_samples, n_features); got {type(X).__name__}.")
    n_samples = int(X.shape[0]) if hasattr(X, "shape") else len(X)
    try:
        allow_nan = get_tags(estimator).input_tags.allow_nan
    except (AttributeError, TypeError, ValueError):
        allow_nan = False
    if not allow_nan and _has_missing(X):
        raise FairermValueError(
            f"X contains NaN or infinite values, which the base estimator {type(estimator).__name__} "
            "does not accept; impute them first (e.g. a Pipeline starting with SimpleImputer) or use "
            "an estimator that handles missing values."
        )
    return n_samples


def _base_predictions(estimator: Any, X: Any) -> np.ndarray:
    """The base regressor's predictions as a finite 1-D float64 array, or a clear error."""
    return check_predictions(estimator.predict(X), name=f"the predictions of estimator {type(estimator).__name__}")


def _seed_entropy(random_state: Any) -> int:
    """A non-negative integer from which every random draw of a fit and its predictions derives."""
    if random_state is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool) and random_state >= 0:
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, np.iinfo(np.int64).max, dtype=np.int64))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, np.iinfo(np.int64).max))
    raise FairermTypeError(
        "random_state must be None, a non-negative int, a numpy RandomState or a numpy Generator; "
        f"got {random_state!r}."
    )


_GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser (Steele, Lea, Flood 2014): a bijective mixing of 64-bit words."""
    z = np.asarray(z, dtype=np.uint64) + _GOLDEN_GAMMA
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _row_keys(X: Any) -> np.ndarray:
    """A 64-bit hash of each row's content (any dtypes; sparse rows by their nonzero cells)."""
    if sp.issparse(X):
        cells = X.tocoo()
        cell_keys = _splitmix64(pd.util.hash_array(cells.col.astype(np.int64)) ^ pd.util.hash_array(cells.data))
        keys = np.zeros(X.shape[0], dtype=np.uint64)
        np.add.at(keys, cells.row, cell_keys)
        return keys
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))
    return pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)


def _prediction_uniforms(X: Any, codes: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two U[0, 1) draws per row, a deterministic function of (row content, group, seed, rank of
    the row among identical rows of ``X``)."""
    keys = _row_keys(X) ^ _splitmix64(codes.astype(np.uint64))
    rank = pd.Series(keys).groupby(keys).cumcount().to_numpy(dtype=np.uint64)
    state = _splitmix64(keys ^ _splitmix64(np.uint64(seed & 0xFFFFFFFFFFFFFFFF) + rank * _GOLDEN_GAMMA))
    first = _splitmix64(state)
    second = _splitmix64(first)
    return (first >> np.uint64(11)) * 2.0**-53, (second >> np.uint64(11)) * 2.0**-53


def _stratified_calibration_split(
    sens: SensitiveEncoding, calibration_size: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, calibration): in every group, a ``calibration_size`` share goes to calibration."""
    train, calibration = [], []
    for group, label in enumerate(sens.groups.tolist()):
        members = rng.permutation(np.flatnonzero(sens.codes == group))
        n_calibration = int(round(calibration_size * members.shape[0]))
        if n_calibration < MIN_CALIBRATION_SAMPLES_PER_GROUP:
            raise FairermValueError(
                f"sensitive_features: group {label!r} has {members.shape[0]} samples, of which "
                f"calibration_size={calibration_size} puts {n_calibration} in the calibration part; each "
                f"group needs at least {MIN_CALIBRATION_SAMPLES_PER_GROUP} there to estimate its CDF and "
                "quantile function. Use more data, a larger calibration_size, or merge small groups."
            )
        calibration.append(members[:n_calibration])
        train.append(members[n_calibration:])
    train_rows, calibration_rows = np.sort(np.concatenate(train)), np.sort(np.concatenate(calibration))
    if train_rows.shape[0] == 0:
        raise FairermValueError(
            f"calibration_size={calibration_size} leaves no sample to fit the base estimator on; lower it."
        )
    return train_rows, calibration_rows


# The estimator
class WassersteinFairRegressor(MetaEstimatorMixin, RegressorMixin, BaseEstimator):
    r"""Make any regressor fair under demographic parity by mapping it to the Wasserstein barycenter.

    For a base regressor :math:`f` (``estimator``) and groups :math:`s \in \mathcal S`, predicts

    .. math::

        g_\alpha(x, s) = \alpha\, \hat g(x, s) + (1 - \alpha)\, f(x, s), \qquad
        \hat g(x, s) = \sum_{s' \in \mathcal S} \hat p_{s'}\, \hat Q_{s'}\big(\hat F_s(f(x, s) + \varepsilon)\big),

    where the unlabelled calibration sample of group :math:`s` is split at random into two halves
    of sizes :math:`N^F_s` and :math:`N^Q_s` (:math:`N_s = N^F_s + N^Q_s`, :math:`N = \sum_s N_s`):

    * :math:`\varepsilon, \varepsilon^s_i \sim \mathcal U[-\sigma, \sigma]` are independent jitters
      and :math:`v^s_i = f(x^s_i, s) + \varepsilon^s_i` the jittered calibration predictions;
    * :math:`\hat F_s` is the randomised empirical CDF of the first half,
      :math:`\hat F_s(t) = \frac{1}{N^F_s + 1}\big(\#\{i: v^s_i < t\} + U (1 + \#\{i: v^s_i = t\})\big)`,
      :math:`U \sim \mathcal U[0, 1]` drawn afresh for each prediction;
    * :math:`\hat Q_{s'}(u) = v^{s'}_{(\lceil u N^Q_{s'} \rceil)}` is the exact empirical quantile
      function of the second half of group :math:`s'` (order statistics, no grid);
    * :math:`\hat p_s = N_s / N` are the group proportions *of the calibration sample* (the only
      sample there is with ``prefit=True``; with ``prefit=False`` the split is stratified by group,
      so they are also the proportions of the data passed to ``fit``, up to rounding).

    :math:`f(x, s)` is ``estimator.predict(X)``: put the sensitive attribute in ``X`` if the base
    regressor should see it (the paper's setting).

    **Guarantee (exact, finite-sample).** Let a new point :math:`(X, S = s)` be drawn from the
    distribution of group :math:`s`, independently of the calibration sample. Its jittered
    prediction and the :math:`N^F_s` jittered predictions of the first half are i.i.d., so its
    rank among them, ties broken at random, is uniform on :math:`\{0, \dots, N^F_s\}` and
    :math:`\hat F_s(f(X, s) + \varepsilon)` is exactly :math:`\mathcal U[0, 1]` (see
    :func:`randomized_cdf_levels`: the :math:`U` term is what makes the law continuous and the
    same for every :math:`N^F_s`; the plain :math:`\#\{v_i \le t\} / N_s` would be uniform on a
    grid that differs between groups). That level depends only on the test point and the first
    half, so it is independent of the second half; and the map
    :math:`u \mapsto \sum_{s'} \hat p_{s'} \hat Q_{s'}(u)` does not depend on :math:`s`.
    Hence, conditionally on the second halves (and the group counts), :math:`\hat g(X, S) \mid S = s`
    has the same law for every :math:`s`: demographic parity holds exactly, whatever :math:`f`,
    however small the calibration sample (with :math:`\varepsilon, U` pseudo-random, see
    ``random_state``). Using the same points for :math:`\hat F_s` and
    :math:`\hat Q_s` breaks this independence and leaves only asymptotic fairness, which is why
    the sample is split. The jitter (scale :math:`\sigma`) makes the laws of the jittered
    predictions atomless, which the paper's risk bound needs (with atoms the barycenter is not
    reached by a deterministic map); it moves each value by at most :math:`\sigma`. As
    :math:`N_s \to \infty` and if :math:`f` is consistent, :math:`\hat g` approaches the optimal
    fair predictor :math:`g^*`.

    **Partial fairness** (``0 < alpha < 1``). For the population quantities, the law of
    :math:`g_\alpha \mid S = s` has quantile function :math:`\alpha \bar Q + (1 - \alpha) Q_s`
    (the McCann interpolant; :math:`\bar Q = \sum_s p_s Q_s`), so, with
    :math:`U(h) = \min_\nu \sum_s p_s W_2^2(\mathrm{law}(h \mid S = s), \nu)` the unfairness:

    * :math:`U(g_\alpha) = (1 - \alpha)^2\, U(f)` and every pairwise :math:`W_1`, :math:`W_2`
      between groups shrinks by the factor :math:`1 - \alpha`;
    * :math:`E(g_\alpha - f)^2 = \alpha^2\, U(f)`: the risk paid is quadratic in ``alpha``.

    This is the optimal trade-off (derivation: in the Hilbert space of quantile functions,
    minimise :math:`\sum_s p_s \|Q_s - M_s\|^2` subject to
    :math:`\sum_s p_s \|M_s - \bar M\|^2 \le \beta\, U(f^*)`; the solution shrinks each
    :math:`Q_s - \bar Q` by :math:`\sqrt\beta`): among all predictors :math:`h` with
    :math:`U(h) \le \beta\, U(f^*)`, the least excess risk :math:`E(h - f^*)^2` is attained by
    :math:`g_\alpha` with :math:`\alpha = 1 - \sqrt\beta`. The paper states the same trade-off
    as a *relative improvement* of the unfairness by a factor :math:`\beta`; to ask for one, set
    ``alpha = 1 - sqrt(beta)``.

    Parameters
    ----------
    estimator : regressor
        The base regressor :math:`f` (any object with ``fit`` and ``predict``). Cloned and fitted
        in :meth:`fit` unless ``prefit=True``.
    alpha : float in [0, 1], default=1.0
        Weight of the fair predictor: 1 is the barycenter (demographic parity), 0 the base
        regressor.
    calibration_size : float in (0, 1), default=0.5
        With ``prefit=False``, the share of each group held out (unlabelled) to estimate
        :math:`\hat F_s, \hat Q_s, \hat p_s`; the rest fits the base regressor. Each group needs at
        least ``MIN_CALIBRATION_SAMPLES_PER_GROUP`` (10) calibration samples (five per half).
    prefit : bool, default=False
        If True, ``estimator`` is already fitted and :meth:`fit` uses all of ``X`` (unlabelled) as
        the calibration sample.
    jitter : float >= 0, default=1e-5
        Jitter half-width relative to the spread of the calibration predictions:
        :math:`\sigma = \text{jitter} \times \operatorname{std}(f(\text{calibration}))`
        (times 1 if that std is zero).
    random_state : None, int, numpy RandomState or Generator, default=None
        Seeds the split, the jitters and the :math:`U`; the same seed gives the same fitted model
        and bit-identical predictions. At predict time the draws of a row are a hash of its
        content, its group, the seed and its rank among identical rows of the call, so a row
        gets the same output whether predicted alone or in a batch, distinct rows get
        independent-looking draws even one call at a time, and repeated rows of one call get
        fresh draws (ties stay randomised).

    Attributes
    ----------
    estimator_ : regressor
        The fitted base regressor.
    groups_ : ndarray of shape (n_groups,)
        Sorted group labels seen in the calibration sample.
    group_weights_ : ndarray of shape (n_groups,)
        :math:`\hat p_s`.
    cdf_values_ : list of ndarray
        Per group, the sorted jittered predictions of the first half of its calibration sample
        (they define :math:`\hat F_s`).
    quantile_values_ : list of ndarray
        Per group, the sorted jittered predictions of the second half (they define
        :math:`\hat Q_s`).
    n_calibration_samples_ : ndarray of shape (n_groups,)
        :math:`N_s`.
    jitter_scale_ : float
        :math:`\sigma`.
    random_seed_ : int
        Entropy from which the fit-time and predict-time draws derive.

    References
    ----------
    E. Chzhen, C. Denis, M. Hebiri, L. Oneto, M. Pontil. "Fair regression with Wasserstein
    barycenters". NeurIPS 2020. arXiv:2006.07286.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> rng = np.random.default_rng(0)
    >>> s = rng.integers(0, 2, 20_000)
    >>> X = np.column_stack([rng.normal(size=20_000) + 2 * s, s])
    >>> y = X[:, 0] + rng.normal(scale=0.1, size=20_000)
    >>> model = WassersteinFairRegressor(LinearRegression(), random_state=0)
    >>> model = model.fit(X, y, sensitive_features=s)
    >>> pred = model.predict(X, sensitive_features=s)
    >>> bool(abs(pred[s == 0].mean() - pred[s == 1].mean()) < 0.1)  # 2.0 before post-processing
    True
    """

    def __init__(
        self,
        estimator: Any,
        *,
        alpha: float = 1.0,
        calibration_size: float = 0.5,
        prefit: bool = False,
        jitter: float = 1e-5,
        random_state: Any = None,
    ):
        self.estimator = estimator
        self.alpha = alpha
        self.calibration_size = calibration_size
        self.prefit = prefit
        self.jitter = jitter
        self.random_state = random_state

    def _validate_params_values(self) -> None:
        check_scalar(self.alpha, "alpha", low=0.0, high=1.0)
        check_scalar(self.calibration_size, "calibration_size", low=0.0, high=1.0,
                     low_inclusive=False, high_inclusive=False)
        check_scalar(self.jitter, "jitter", low=0.0)
        if not isinstance(self.prefit, (bool, np.bool_)):
            raise FairermTypeError(f"prefit must be True or False; got {self.prefit!r}.")
        if not (hasattr(self.estimator, "fit") and hasattr(self.estimator, "predict")):
            raise FairermTypeError(
                f"estimator must be a regressor with fit and predict methods; got {type(self.estimator).__name__}."
            )

    def fit(self, X: Any, y: Any = None, *, sensitive_features: Any) -> "WassersteinFairRegressor":
        """Fit the base regressor (unless ``prefit``) and estimate the group CDFs and quantiles.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Passed to the base estimator as it is.
        y : array-like of shape (n_samples,); ignored (may be None) with ``prefit=True``
        sensitive_features : array-like of shape (n_samples,), Series or DataFrame
            Group of each sample; at least two groups.

        Returns
        -------
        self

        Raises
        ------
        FairermValueError
            Bad parameter, mismatched lengths, NaN, one group, too few calibration samples.
        NotFittedError
            ``prefit=True`` with an unfitted estimator.
        """
        self._validate_params_values()
        n_samples = _check_X(X, self.estimator)
        sens = check_sensitive_features(sensitive_features, n_samples)
        self.random_seed_ = _seed_entropy(self.random_state)
        rng = np.random.default_rng(np.random.SeedSequence(self.random_seed_, spawn_key=(0,)))
        calibration_rows = self._fit_base_estimator(X, y, sens, rng)
        self._calibrate(_safe_indexing(X, calibration_rows), sens, sens.codes[calibration_rows], rng)
        return self

    def _fit_base_estimator(self, X: Any, y: Any, sens: SensitiveEncoding, rng: np.random.Generator) -> np.ndarray:
        """Set ``estimator_``; return the rows of ``X`` that form the calibration sample."""
        n_samples = sens.codes.shape[0]
        if self.prefit:
            try:
                check_is_fitted(self.estimator)
            except Exception as exc:  # sklearn's NotFittedError or a non-sklearn estimator's error
                raise NotFittedError(
                    f"prefit=True but the estimator {type(self.estimator).__name__} is not fitted; fit it "
                    "first or use prefit=False."
                ) from exc
            self.estimator_ = self.estimator
            return np.arange(n_samples)
        target = check_regression_target(y, n_samples)
        train_rows, calibration_rows = _stratified_calibration_split(sens, self.calibration_size, rng)
        self.estimator_ = clone(self.estimator).fit(_safe_indexing(X, train_rows), target[train_rows])
        return calibration_rows

    def _calibrate(self, X_calibration: Any, sens: SensitiveEncoding, codes: np.ndarray, rng: np.random.Generator):
        """Jitter the calibration predictions, halve each group, store the sorted halves and weights."""
        counts = np.bincount(codes, minlength=sens.n_groups)
        if counts.min() < MIN_CALIBRATION_SAMPLES_PER_GROUP:
            small = [f"{label!r} ({count})" for label, count in zip(sens.groups.tolist(), counts)
                     if count < MIN_CALIBRATION_SAMPLES_PER_GROUP]
            raise FairermValueError(
                f"sensitive_features: group(s) {', '.join(small)} have fewer than "
                f"{MIN_CALIBRATION_SAMPLES_PER_GROUP} calibration samples; each group needs at least that many "
                "to estimate its CDF and quantile function. Use more data or merge small groups."
            )
        predictions = _base_predictions(self.estimator_, X_calibration)
        spread = float(np.std(predictions))
        self.jitter_scale_ = self.jitter * (spread if spread > 0 else 1.0)
        jittered = predictions + rng.uniform(-self.jitter_scale_, self.jitter_scale_, predictions.shape[0])
        self.groups_ = sens.groups
        self.n_calibration_samples_ = counts
        self.group_weights_ = counts / counts.sum()
        self.cdf_values_, self.quantile_values_ = [], []
        for group in range(sens.n_groups):
            members = rng.permutation(jittered[codes == group])
            half = members.shape[0] // 2
            self.cdf_values_.append(np.sort(members[:half]))
            self.quantile_values_.append(np.sort(members[half:]))

    def _encode_known_groups(self, sensitive_features: Any, n_samples: int) -> np.ndarray:
        sens = check_sensitive_features(sensitive_features, n_samples, min_groups=1)
        known = {label: index for index, label in enumerate(self.groups_.tolist())}
        unseen = [label for label in sens.groups.tolist() if label not in known]
        if unseen:
            raise FairermValueError(
                f"sensitive_features contains group(s) {unseen!r} not seen in fit; the fitted groups are "
                f"{self.groups_.tolist()!r}. A group's CDF must be estimated before its members can be mapped."
            )
        return np.array([known[label] for label in sens.groups.tolist()], dtype=np.int64)[sens.codes]

    @property
    def n_features_in_(self) -> int:
        """Number of features the fitted base regressor saw (``estimator_.n_features_in_``)."""
        try:
            return self.estimator_.n_features_in_
        except AttributeError as exc:
            raise AttributeError(f"{type(self).__name__} has no n_features_in_: it is not fitted, or its base "
                                 "estimator does not record one.") from exc

    def predict(self, X: Any, *, sensitive_features: Any) -> np.ndarray:
        """Predict :math:`g_\\alpha(x, s)`, an ndarray of shape (n_samples,).

        ``sensitive_features`` gives each row's group; every group must have been seen in
        :meth:`fit` (one group alone is fine here). Raises :class:`NotFittedError` before
        :meth:`fit`, :class:`FairermValueError` for an unseen group, mismatched lengths or NaN.
        """
        try:
            check_is_fitted(self, "quantile_values_")
        except Exception as exc:
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit(X, y, sensitive_features=...) first."
            ) from exc
        n_samples = _check_X(X, self.estimator_)
        codes = self._encode_known_groups(sensitive_features, n_samples)
        base = _base_predictions(self.estimator_, X)
        uniform_jitter, uniform = _prediction_uniforms(X, codes, self.random_seed_)
        jitter = self.jitter_scale_ * (2.0 * uniform_jitter - 1.0)
        fair = barycenter_predictions(
            base + jitter, codes, self.cdf_values_, self.quantile_values_, self.group_weights_, uniform
        )
        return self.alpha * fair + (1.0 - self.alpha) * base

    def score(self, X: Any, y: Any, *, sensitive_features: Any, sample_weight: Any = None) -> float:
        """Coefficient of determination :math:`R^2` of :meth:`predict` on ``(X, y)``."""
        return float(r2_score(y, self.predict(X, sensitive_features=sensitive_features), sample_weight=sample_weight))
