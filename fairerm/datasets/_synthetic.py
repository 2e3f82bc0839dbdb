r"""A synthetic binary classification problem with a tunable amount of group bias.

Generating process, for :math:`i = 1, \dots, n` and :math:`d \ge 2` features:

.. math::

    s_i &\in \{a, b\}, \quad \text{exactly } n_b = \mathrm{round}(p\, n) \text{ rows in group } b
          \text{ (at least one per group), in random order},\\
    x_i &= z_i - \beta\, [s_i = b]\, m, \qquad z_i \sim \mathcal N(0, I_d),
          \quad m = (1, 1, 0, \dots, 0),\\
    y_i &= [\, \langle w, x_i \rangle + \sigma\, e_i > 0 \,], \qquad e_i \sim \mathcal N(0, 1),
          \quad w = (1, 0, \tfrac12, \dots, \tfrac12),

with :math:`p` the ``group_proportion``, :math:`\beta \ge 0` the ``bias`` and :math:`\sigma` the
``label_noise``. Feature ``x0`` is informative and shifted by the group, ``x1`` is a pure proxy of
the group (it does not enter :math:`y`), the others are informative and independent of the group.
With :math:`\beta = 0`, :math:`(x, y)` is independent of :math:`s`: fair by construction. With
:math:`\beta > 0` group ``b`` has a lower base rate, and a classifier of the form
:math:`[\langle w, x\rangle > t]` has a lower true-positive rate on ``b``: its population DEO is

.. math::

    \Big| P(A_a > 0 \mid A_a + \sigma E > 0) - P(A_b > 0 \mid A_b + \sigma E > 0) \Big|,
    \quad A_g \sim \mathcal N(\mu_g, \|w\|^2),\ \mu_a = 0,\ \mu_b = -\beta,

which grows with :math:`\beta` from 0 (for :math:`\sigma > 0`; with :math:`\sigma = 0` the labels
are a deterministic function of :math:`x` and the Bayes rule is perfect, hence fair).
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.utils import Bunch, check_random_state

from .._memory import check_memory
from .._validation import check_scalar
from ..exceptions import FairermTypeError, FairermValueError

__all__ = ["make_synthetic"]


def _true_coefficients(n_features: int) -> tuple[np.ndarray, np.ndarray]:
    coef = np.full(n_features, 0.5)
    coef[:2] = (1.0, 0.0)
    shift = np.zeros(n_features)
    shift[:2] = 1.0
    return coef, shift


def _random_state(random_state):
    """sklearn's ``check_random_state`` (a Generator is used as it is), its refusals naming ``random_state``."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    try:
        return check_random_state(random_state)
    except ValueError:
        error = FairermValueError if isinstance(random_state, numbers.Integral) else FairermTypeError
        raise error(f"random_state must be None, an integer in [0, 4294967295], a numpy Generator or RandomState; "
                    f"got {random_state!r}.") from None


def make_synthetic(
    n_samples: int = 1000,
    n_features: int = 5,
    *,
    bias: float = 1.0,
    group_proportion: float = 0.3,
    label_noise: float = 0.5,
    include_sensitive: bool = True,
    random_state: int | np.random.Generator | np.random.RandomState | None = None,
) -> Bunch:
    """Draw a two-group classification problem whose unfairness grows with ``bias``.

    The generating process is in the module docstring.

    Parameters
    ----------
    n_samples : int, >= 2
    n_features : int, >= 2
    bias : float, >= 0
        Shift :math:`\\beta` of group ``b``'s first two features; 0 gives a fair problem.
    group_proportion : float in (0, 1)
        Fraction :math:`p` of rows in group ``b``.
    label_noise : float, >= 0
        Standard deviation :math:`\\sigma` of the noise added before thresholding the label.
    include_sensitive : bool
        Keep the column ``group`` (``"a"`` / ``"b"``) among the features, as the real-data loaders do.
    random_state : int, Generator, RandomState or None

    Returns
    -------
    Bunch
        ``data`` (DataFrame: ``x0`` ... ``x{d-1}``, and ``group`` if included), ``target``
        (Series ``y`` of 0/1), ``sensitive`` (Series ``group``), ``frame``, ``feature_names``,
        ``categorical_features``, ``target_name``, ``sensitive_name``, ``coef`` (:math:`w`),
        ``group_shift`` (:math:`\\beta m`), ``DESCR``.

    Raises
    ------
    MemoryBudgetError
        The arrays would not fit in the available memory (about three :math:`n \\times d` arrays of
        doubles at the peak); refused before anything is drawn.

    Examples
    --------
    >>> bunch = make_synthetic(200, bias=2.0, random_state=0)
    >>> bunch.data.shape, sorted(bunch.sensitive.unique())
    ((200, 6), ['a', 'b'])
    """
    check_scalar(n_samples, "n_samples", kind=numbers.Integral, low=2)
    check_scalar(n_features, "n_features", kind=numbers.Integral, low=2)
    check_scalar(bias, "bias", low=0.0)
    check_scalar(group_proportion, "group_proportion", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    check_scalar(label_noise, "label_noise", low=0.0)
    if not isinstance(include_sensitive, bool):
        raise FairermTypeError(f"include_sensitive must be True or False; got {include_sensitive!r}.")
    rng = _random_state(random_state)
    n_samples, n_features = int(n_samples), int(n_features)
    # the draw, the group shift and their difference: three n x d arrays of doubles at the peak
    check_memory(3 * 8.0 * n_samples * n_features,
                 f"make_synthetic(n_samples={n_samples}, n_features={n_features})",
                 "Ask for fewer samples or features.")
    n_b = int(min(max(round(group_proportion * n_samples), 1), n_samples - 1))
    in_b = np.zeros(n_samples, dtype=bool)
    in_b[:n_b] = True
    in_b = in_b[rng.permutation(n_samples)]
    coef, shift = _true_coefficients(n_features)
    x = rng.standard_normal((n_samples, n_features)) - bias * np.outer(in_b, shift)
    y = (x @ coef + label_noise * rng.standard_normal(n_samples) > 0).astype(np.int64)
    names = [f"x{j}" for j in range(n_features)]
    frame = pd.DataFrame(x, columns=names)
    frame["group"] = np.where(in_b, "b", "a")
    frame["y"] = y
    features = names + (["group"] if include_sensitive else [])
    descr = (
        f"Synthetic two-group problem (fairerm.datasets.make_synthetic): n = {n_samples}, d = {n_features}, "
        f"bias = {bias}, group b proportion = {n_b / n_samples:.4f}, label noise = {label_noise}. "
        f"Positive rate: group a {y[~in_b].mean():.4f}, group b {y[in_b].mean():.4f}."
    )
    return Bunch(
        data=frame[features].copy(),
        target=frame["y"].copy(),
        sensitive=frame["group"].copy(),
        frame=frame,
        feature_names=features,
        categorical_features=["group"] if include_sensitive else [],
        target_name="y",
        sensitive_name="group",
        coef=coef,
        group_shift=bias * shift,
        DESCR=descr,
    )
