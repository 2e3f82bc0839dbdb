r"""Fair regression by post-processing onto the Wasserstein barycenter of the groups' predictions.

References
----------
E. Chzhen, C. Denis, M. Hebiri, L. Oneto, M. Pontil. "Fair regression with Wasserstein
barycenters". NeurIPS 2020. arXiv:2006.07286.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, RegressorMixin, clone
from sklearn.metrics import r2_score
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import check_is_fitted

from .._validation import SensitiveEncoding, check_sample_weight, check_scalar, check_sensitive_features
from ..exceptions import FairermTypeError, FairermValueError, NotFittedError
from . import _calibration
from ._barycenter import barycenter_predictions
from ._calibration import base_predictions, check_meta_X, check_sensitive_names, stratified_calibration_split
from ._randomness import prediction_uniforms, seed_entropy
from ._targets import check_regression_target

__all__ = ["WassersteinFairRegressor"]


def _fit_accepts_sample_weight(estimator: Any) -> bool:
    """Whether ``estimator.fit`` takes ``sample_weight`` (by name, or through ``**kwargs`` as a Pipeline does)."""
    try:
        parameters = inspect.signature(estimator.fit).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return False
    return "sample_weight" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


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

    **Sample weights.** ``fit(..., sample_weight=w)`` reads the weights as importance (or survey
    design) weights: the sample is drawn from :math:`P` and stands for the population
    :math:`P_w`, :math:`dP_w \propto w\,dP`, with :math:`w_i = w(x_i, s_i)` (integer weights: row
    :math:`i` stands for :math:`w_i` units). The base regressor is fitted with them (its ``fit`` must
    accept ``sample_weight``); :math:`\hat p_s = W_s / W` are weighted proportions; :math:`\hat Q_s` is
    the weighted quantile function of the second half, :math:`\inf\{t : \sum_{v_i \le t} w_i \ge
    u\,W^Q_s\}`; and :math:`\hat F_s` gives the predicted point its own weight :math:`w_0`,
    :math:`\hat F_s(t) = \big(\sum_i w_i \mathbf 1\{v_i < t\} + U(w_0 + \sum_i w_i\mathbf 1\{v_i =
    t\})\big) / (w_0 + W^F_s)` (:func:`weighted_randomized_cdf_levels`). Zero-weight points are
    dropped from the calibration sample. What becomes of the guarantee, for a new point
    :math:`(X, S = s)` drawn from :math:`P_w`:

    * *exact*, when ``predict`` is given the new points' weights (``predict(..., sample_weight=w0)``,
      :math:`w_0 = w(X, s)` by the same weighting): given the multiset of the :math:`N^F_s + 1` points,
      the new point is point :math:`j` with probability :math:`w_j / \sum_k w_k` (weighted
      exchangeability, Tibshirani et al. 2019), and :math:`\hat F_s` is then uniform on the
      :math:`j`-th of the intervals of lengths :math:`w_k / \sum_l w_l` that tile :math:`[0, 1]`; so
      the level is exactly :math:`\mathcal U[0, 1]`, independent of the second halves, and
      demographic parity holds exactly under :math:`P_w`, as above. With every weight 1 this is the
      unweighted guarantee;
    * *exact* too when the weights are constant within each group (e.g. weights that re-balance the
      groups only), the default: without ``sample_weight`` at predict time each point weighs its
      group's mean first-half weight :math:`\bar w_s`;
    * otherwise *approximate*: since :math:`|\partial \hat F_s / \partial w_0| \le 1 / W^F_s`, the level
      moves by at most :math:`\delta_s = \sup_{w_0}|w_0 - \bar w_s| / W^F_s` from the exact one, so its law
      is within Kolmogorov distance :math:`\delta_s` of :math:`\mathcal U[0, 1]`, and (the map
      :math:`u \mapsto \sum_{s'}\hat p_{s'}\hat Q_{s'}(u)` being non-decreasing) the KS distance between
      the laws of two groups' outputs is at most :math:`\delta_s + \delta_{s'}`, of order
      :math:`\max_i w_i / W^F_s`, i.e. one over the group's effective calibration size. That is what
      is lost.

    Integer weights equal repeated rows in law, not draw for draw: the random split and halves are
    over rows.

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
        Sorted group labels seen in the calibration sample (tuples for several columns).
    sensitive_feature_names_ : list of str or None
        The names of the sensitive columns when there are several (else None); :meth:`predict`
        refuses sensitive columns in another number, order or with other names (unnamed columns,
        ``sensitive_feature_<j>``, are matched by position, with a warning if fit had names).
    group_weights_ : ndarray of shape (n_groups,)
        :math:`\hat p_s` (weighted proportions with ``sample_weight``).
    cdf_values_ : list of ndarray
        Per group, the sorted jittered predictions of the first half of its calibration sample
        (they define :math:`\hat F_s`).
    quantile_values_ : list of ndarray
        Per group, the sorted jittered predictions of the second half (they define
        :math:`\hat Q_s`).
    cdf_weights_, quantile_weights_ : list of ndarray, or None
        With ``sample_weight``: the weights of the sorted values of ``cdf_values_`` and
        ``quantile_values_`` (None when fitted without weights).
    n_calibration_samples_ : ndarray of shape (n_groups,)
        :math:`N_s` (with ``sample_weight``: the calibration samples of positive weight).
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

    def fit(self, X: Any, y: Any = None, *, sensitive_features: Any, sample_weight: Any = None
            ) -> "WassersteinFairRegressor":
        """Fit the base regressor (unless ``prefit``) and estimate the group CDFs and quantiles.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Passed to the base estimator as it is.
        y : array-like of shape (n_samples,); ignored (may be None) with ``prefit=True``
        sensitive_features : array-like of shape (n_samples,), Series or DataFrame
            Group of each sample; at least two groups (several columns: each combination of values is
            a group, a tuple).
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights (see "Sample weights" in the class docstring): passed to the base
            estimator's ``fit`` (which must accept them), and the group CDFs, quantile functions and
            proportions become weighted ones.

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
        n_samples = check_meta_X(X, self.estimator)
        if not hasattr(X, "__getitem__"):  # an array-like known only by __array__: its rows must be indexable
            X = np.asarray(X)
        sens = check_sensitive_features(sensitive_features, n_samples)
        sample_weight = check_sample_weight(sample_weight, n_samples)
        self.random_seed_ = seed_entropy(self.random_state)
        rng = np.random.default_rng(np.random.SeedSequence(self.random_seed_, spawn_key=(0,)))
        calibration_rows = self._fit_base_estimator(X, y, sens, rng, sample_weight)
        self._calibrate(_safe_indexing(X, calibration_rows), sens, sens.codes[calibration_rows], rng,
                        None if sample_weight is None else sample_weight[calibration_rows])
        return self

    def _fit_base_estimator(self, X: Any, y: Any, sens: SensitiveEncoding, rng: np.random.Generator,
                            sample_weight: np.ndarray | None = None) -> np.ndarray:
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
        train_rows, calibration_rows = stratified_calibration_split(sens, self.calibration_size, rng)
        weights = {} if sample_weight is None else {"sample_weight": sample_weight[train_rows]}
        if weights and not _fit_accepts_sample_weight(self.estimator):
            raise FairermTypeError(
                f"sample_weight was given, but the base estimator {type(self.estimator).__name__}.fit takes no "
                "sample_weight; fitting it unweighted would silently ignore the weights. Use a regressor whose fit "
                "accepts sample_weight, or fit it yourself and pass prefit=True."
            )
        self.estimator_ = clone(self.estimator).fit(_safe_indexing(X, train_rows), target[train_rows], **weights)
        return calibration_rows

    def _calibrate(self, X_calibration: Any, sens: SensitiveEncoding, codes: np.ndarray, rng: np.random.Generator,
                   sample_weight: np.ndarray | None = None):
        """Jitter the calibration predictions, halve each group, store the sorted halves and weights."""
        weighs = np.ones(codes.shape[0], dtype=bool) if sample_weight is None else sample_weight > 0
        counts = np.bincount(codes[weighs], minlength=sens.n_groups)
        minimum = _calibration.MIN_CALIBRATION_SAMPLES_PER_GROUP
        if counts.min() < minimum:
            small = [f"{label!r} ({count})" for label, count in zip(sens.groups.tolist(), counts)
                     if count < minimum]
            weighted = " with a positive sample_weight" if sample_weight is not None else ""
            raise FairermValueError(
                f"sensitive_features: group(s) {', '.join(small)} have fewer than "
                f"{minimum} calibration samples{weighted}; each group needs at least that many "
                "to estimate its CDF and quantile function. Use more data or merge small groups."
            )
        predictions = base_predictions(self.estimator_, X_calibration)
        if sample_weight is None:
            spread = float(np.std(predictions))
        else:
            mean = float(np.average(predictions, weights=sample_weight))
            spread = float(np.sqrt(np.average((predictions - mean) ** 2, weights=sample_weight)))
        self.jitter_scale_ = self.jitter * (spread if spread > 0 else 1.0)
        jittered = predictions + rng.uniform(-self.jitter_scale_, self.jitter_scale_, predictions.shape[0])
        self.groups_ = sens.groups
        self.sensitive_feature_names_ = sens.names
        self.n_calibration_samples_ = counts
        self.cdf_values_, self.quantile_values_ = [], []
        if sample_weight is None:
            self.group_weights_ = counts / counts.sum()
            self.cdf_weights_ = self.quantile_weights_ = None
            for group in range(sens.n_groups):
                members = rng.permutation(jittered[codes == group])
                half = members.shape[0] // 2
                self.cdf_values_.append(np.sort(members[:half]))
                self.quantile_values_.append(np.sort(members[half:]))
            return
        self.cdf_weights_, self.quantile_weights_ = [], []
        totals = np.bincount(codes, weights=sample_weight, minlength=sens.n_groups)
        self.group_weights_ = totals / totals.sum()
        for group in range(sens.n_groups):
            rows = np.flatnonzero((codes == group) & weighs)  # a zero weight carries no information: dropped
            members = rows[rng.permutation(rows.shape[0])]
            half = members.shape[0] // 2
            for part, values, weights in ((members[:half], self.cdf_values_, self.cdf_weights_),
                                          (members[half:], self.quantile_values_, self.quantile_weights_)):
                order = np.argsort(jittered[part], kind="stable")
                values.append(jittered[part][order])
                weights.append(sample_weight[part][order])

    def _encode_known_groups(self, sensitive_features: Any, n_samples: int) -> np.ndarray:
        """Each row's index into ``groups_``; the sensitive columns must be those of fit, in the same order."""
        sens = check_sensitive_features(sensitive_features, n_samples, min_groups=1)
        check_sensitive_names(getattr(self, "sensitive_feature_names_", None), sens.names, type(self).__name__)
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

    def predict(self, X: Any, *, sensitive_features: Any, sample_weight: Any = None) -> np.ndarray:
        """Predict :math:`g_\\alpha(x, s)`, an ndarray of shape (n_samples,).

        ``sensitive_features`` gives each row's group; every group must have been seen in
        :meth:`fit` (one group alone is fine here). ``sample_weight`` (only for a model fitted with
        sample weights) are the weights :math:`w_0` of the rows predicted, under the weighting used in
        fit: they make the fairness guarantee exact (class docstring, "Sample weights"); without them
        each row weighs its group's mean calibration weight. Several sensitive columns must come as in
        :meth:`fit`: the same number, names and order (``sensitive_feature_names_``). Raises
        :class:`NotFittedError` before :meth:`fit`, :class:`FairermValueError` for an unseen group,
        other sensitive columns, no rows, mismatched lengths or NaN.
        """
        try:
            check_is_fitted(self, "quantile_values_")
        except Exception as exc:
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit(X, y, sensitive_features=...) first."
            ) from exc
        n_samples = check_meta_X(X, self.estimator_)
        if not hasattr(X, "__getitem__"):  # an array-like known only by __array__
            X = np.asarray(X)
        n_features = getattr(self.estimator_, "n_features_in_", None)
        if getattr(X, "ndim", None) == 1 and n_features is not None and n_features > 1:
            raise FairermValueError(
                f"X is 1-D (shape {tuple(X.shape)}) but the base estimator was fitted on {n_features} features. "
                "Reshape your data to a 2-D array of shape (n_samples, n_features): X.reshape(1, -1) for a single "
                "sample."
            )
        codes = self._encode_known_groups(sensitive_features, n_samples)
        test_weights = self._test_weights(sample_weight, codes)
        base = base_predictions(self.estimator_, X)
        uniform_jitter, uniform = prediction_uniforms(X, codes, self.random_seed_)
        jitter = self.jitter_scale_ * (2.0 * uniform_jitter - 1.0)
        fair = barycenter_predictions(
            base + jitter, codes, self.cdf_values_, self.quantile_values_, self.group_weights_, uniform,
            getattr(self, "cdf_weights_", None), getattr(self, "quantile_weights_", None), test_weights,
        )
        return self.alpha * fair + (1.0 - self.alpha) * base

    def _test_weights(self, sample_weight: Any, codes: np.ndarray) -> np.ndarray | None:
        """The :math:`w_0` of each predicted row: given, or its group's mean calibration weight (first half)."""
        fitted_weights = getattr(self, "cdf_weights_", None)
        if fitted_weights is None:
            if sample_weight is not None:
                raise FairermValueError(
                    "sample_weight at predict time are the weights of the rows predicted under the weighting used "
                    "in fit; this model was fitted without sample_weight (every point weighs 1). Fit with "
                    "sample_weight, or predict without it."
                )
            return None
        if sample_weight is not None:
            return check_sample_weight(sample_weight, codes.shape[0])
        return np.array([float(np.mean(weights)) for weights in fitted_weights])[codes]

    def score(self, X: Any, y: Any, *, sensitive_features: Any, sample_weight: Any = None) -> float:
        """Coefficient of determination :math:`R^2` of :meth:`predict` on ``(X, y)``."""
        return float(r2_score(y, self.predict(X, sensitive_features=sensitive_features), sample_weight=sample_weight))
