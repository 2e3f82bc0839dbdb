r"""Fairness constraints of FERM as linear functionals of the weight vector.

Donini et al. (2018) constrain the difference of the empirical risks, measured with the
*linear loss*, of the positively-labelled examples of two groups. Because the linear loss is
affine in the score :math:`f(x) = \langle w, \phi(x)\rangle + b`, that difference is a scalar
product (the intercept cancels):

.. math::

    \hat L^{a,+}(f) - \hat L^{b,+}(f) \;\propto\; \langle w, u\rangle, \qquad
    u = \frac{1}{n_{a,+}} \sum_{i: y_i=+1, s_i=a} \phi(x_i)
      - \frac{1}{n_{b,+}} \sum_{i: y_i=+1, s_i=b} \phi(x_i).

Every constraint here is therefore a set of vectors :math:`u_1, \dots, u_k` that are
*weighted sums of training feature maps*, :math:`u_j = \sum_i c_{ji}\,\phi(x_i)`. The weight
matrix :math:`C \in \mathbb{R}^{k\times n}` is all a solver needs: in the linear case
:math:`U = C X`, in the kernel case :math:`\langle u_j, \phi(x)\rangle = (C K(X, x))_j` and
:math:`\langle u_j, u_l\rangle = (C K C^\top)_{jl}`.

Notions (``sel`` is the subset of examples a notion compares):

* ``"equal_opportunity"`` (the paper's): positives only (``y = +1``);
* ``"demographic_parity"``: all examples;
* ``"equalized_odds"``: positives and negatives separately (two sets of rows).

With two groups a notion gives the single row "mean of group a minus mean of group b" (the
paper's :math:`u`). With :math:`G > 2` groups it gives one row per group, "mean of group g
minus the pooled mean", so :math:`|\langle w, u_g\rangle| \le \epsilon` bounds each group's
deviation from the population (these rows are linearly dependent: their span has dimension
:math:`G-1`; solvers handle that).

References
----------
M. Donini, L. Oneto, S. Ben-David, J. Shawe-Taylor, M. Pontil. "Empirical Risk Minimization
Under Fairness Constraints". NeurIPS 2018. arXiv:1802.08626.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ._validation import (
    SensitiveEncoding,
    check_binary_target,
    check_features,
    check_sensitive_features,
)
from .exceptions import FairermTypeError, FairermValueError

__all__ = [
    "FairnessConstraint",
    "EqualOpportunity",
    "DemographicParity",
    "EqualizedOdds",
    "ConstraintWeights",
    "make_constraint",
    "constraint_weights",
    "constraint_vectors",
    "CONSTRAINT_NAMES",
]

ConstraintName = Literal["equal_opportunity", "demographic_parity", "equalized_odds"]
CONSTRAINT_NAMES: tuple[str, ...] = ("equal_opportunity", "demographic_parity", "equalized_odds")


@dataclass(frozen=True)
class ConstraintWeights:
    """The weight matrix of a constraint on a given sample.

    Attributes
    ----------
    weights : ndarray of shape (n_constraints, n_samples)
        Row ``j`` holds :math:`c_{j\\cdot}` with :math:`u_j = \\sum_i c_{ji} \\phi(x_i)`.
    labels : list of str
        A human-readable name per row, e.g. ``"y=+1: a - b"``.
    """

    weights: np.ndarray
    labels: list

    @property
    def n_constraints(self) -> int:
        return self.weights.shape[0]


def _difference_rows(mask: np.ndarray, sens: SensitiveEncoding, what: str) -> tuple[list, list]:
    """Rows "mean over group a - mean over group b" (two groups) or "group - pooled" (more)."""
    n = mask.shape[0]
    counts = np.bincount(sens.codes[mask], minlength=sens.n_groups)
    empty = [str(g) for g, c in zip(sens.groups, counts) if c == 0]
    if empty:
        raise FairermValueError(
            f"sensitive_features: group(s) {empty} have no {what}; the constraint compares the mean over "
            f"each group's {what}, so every group needs at least one. Choose another constraint or merge groups."
        )
    indicator = [(sens.codes == g) & mask for g in range(sens.n_groups)]
    rows, labels = [], []
    if sens.n_groups == 2:
        row = np.zeros(n)
        row[indicator[0]] = 1.0 / counts[0]
        row[indicator[1]] = -1.0 / counts[1]
        rows.append(row)
        labels.append(f"{sens.groups[0]} - {sens.groups[1]}")
    else:
        pooled = mask.sum()
        for g in range(sens.n_groups):
            row = np.zeros(n)
            row[mask] = -1.0 / pooled
            row[indicator[g]] += 1.0 / counts[g]
            rows.append(row)
            labels.append(f"{sens.groups[g]} - pooled")
    return rows, labels


class FairnessConstraint:
    """A fairness notion that yields scalar-product constraints :math:`|\\langle w, u_j\\rangle| \\le \\epsilon`.

    Subclasses implement :meth:`weights`.
    """

    name: str = ""

    def weights(self, y_signed: np.ndarray, sens: SensitiveEncoding) -> ConstraintWeights:
        """Weight matrix :math:`C` for labels in ``{-1, +1}`` and encoded groups."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))


class EqualOpportunity(FairnessConstraint):
    """Equal opportunity: compare the positively-labelled examples of each group (Donini et al. 2018)."""

    name = "equal_opportunity"

    def weights(self, y_signed, sens):
        rows, labels = _difference_rows(y_signed > 0, sens, "positive examples (y = +1)")
        return ConstraintWeights(np.vstack(rows), [f"y=+1: {lab}" for lab in labels])


class DemographicParity(FairnessConstraint):
    """Demographic parity: compare all examples of each group."""

    name = "demographic_parity"

    def weights(self, y_signed, sens):
        rows, labels = _difference_rows(np.ones(y_signed.shape[0], dtype=bool), sens, "examples")
        return ConstraintWeights(np.vstack(rows), labels)


class EqualizedOdds(FairnessConstraint):
    """Equalized odds: equal opportunity on the positives and on the negatives (two sets of rows)."""

    name = "equalized_odds"

    def weights(self, y_signed, sens):
        pos_rows, pos_labels = _difference_rows(y_signed > 0, sens, "positive examples (y = +1)")
        neg_rows, neg_labels = _difference_rows(y_signed < 0, sens, "negative examples (y = -1)")
        labels = [f"y=+1: {lab}" for lab in pos_labels] + [f"y=-1: {lab}" for lab in neg_labels]
        return ConstraintWeights(np.vstack(pos_rows + neg_rows), labels)


_BY_NAME = {cls.name: cls for cls in (EqualOpportunity, DemographicParity, EqualizedOdds)}


def make_constraint(constraint: Any, *, name: str = "constraint") -> FairnessConstraint:
    """Turn a name (``"equal_opportunity"``, ``"demographic_parity"``, ``"equalized_odds"``)
    or a :class:`FairnessConstraint` instance into a constraint object."""
    if isinstance(constraint, FairnessConstraint):
        return constraint
    if isinstance(constraint, str):
        if constraint in _BY_NAME:
            return _BY_NAME[constraint]()
        raise FairermValueError(f"{name} must be one of {list(_BY_NAME)}; got {constraint!r}.")
    raise FairermTypeError(
        f"{name} must be a string in {list(_BY_NAME)} or a FairnessConstraint; got {type(constraint).__name__}."
    )


def constraint_weights(y, sensitive_features, constraint: Any = "equal_opportunity") -> ConstraintWeights:
    """Validate labels and groups and return the constraint's weight matrix :math:`C`.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Two class labels; the larger one is the positive class.
    sensitive_features : array-like of shape (n_samples,)
        Group of each sample (two or more groups).
    constraint : str or FairnessConstraint

    Returns
    -------
    ConstraintWeights
    """
    target = check_binary_target(y)
    sens = check_sensitive_features(sensitive_features, target.signed.shape[0])
    return make_constraint(constraint).weights(target.signed, sens)


def constraint_vectors(X, y, sensitive_features, constraint: Any = "equal_opportunity") -> np.ndarray:
    r"""The constraint vectors :math:`U = C X` of a linear model, shape ``(n_constraints, n_features)``.

    For equal opportunity with two groups this is the single row
    :math:`u = \bar x_{a,+} - \bar x_{b,+}` of Donini et al. (2018), eq. (10).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [5.0, 5.0]])
    >>> constraint_vectors(X, [1, 1, 1, 0], ["a", "a", "b", "b"])
    array([[ 2., -2.]])
    """
    X = check_features(X)
    target = check_binary_target(y, X.shape[0])
    sens = check_sensitive_features(sensitive_features, X.shape[0])
    return make_constraint(constraint).weights(target.signed, sens).weights @ X
