r"""Linear FERM with epsilon = 0 as a pre-processing step (Donini et al. 2018, section 4).

A linear model :math:`f(x) = \langle w, x\rangle + b` satisfies :math:`\langle w, u_j\rangle = 0`
for every constraint vector :math:`u_j` exactly when :math:`w` is orthogonal to
:math:`\mathcal U = \operatorname{span}\{u_1, \dots, u_k\}`. Projecting the data,

.. math:: x \mapsto P x, \qquad P = I - Q^\top Q,

where the rows of :math:`Q` are an orthonormal basis of :math:`\mathcal U`, makes every linear
learner fitted afterwards satisfy the constraint: its effective weight vector on the original
features is :math:`P w \perp \mathcal U`. The paper eliminates one coordinate instead
(:math:`x \mapsto x - (x_j/u_j)\,u`, dropping column :math:`j`); for the decision function both
are equivalent, and the orthogonal projection keeps the feature names and treats every
coordinate alike. With the hinge loss and the same :math:`C`, a linear SVM with an unpenalised
intercept on :math:`P x` *is* the eps = 0 solution of :class:`~fairerm.FairLinearSVC`.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ._memory import check_memory
from ._validation import check_binary_target, check_option, check_scalar, check_sensitive_features, largest_magnitude
from .constraints import CONSTRAINT_NAMES, DemographicParity, FairnessConstraint, make_constraint
from .exceptions import FairermValueError
from .solvers import noise_floor, orthonormal_basis

__all__ = ["FairProjection"]


class FairProjection(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    r"""Remove the fairness directions :math:`u_j` from the features (linear FERM, eps = 0).

    ``fit`` computes the constraint vectors :math:`U = C^u X` on the training sample (for equal
    opportunity with two groups: :math:`u = \bar x_{a,+} - \bar x_{b,+}`) and an orthonormal basis
    :math:`Q` of their span; ``transform`` returns :math:`X - (X Q^\top) Q`. Memory is :math:`O(dr)`
    (:math:`r` the rank of :math:`U`): the :math:`d \times d` projection matrix is never stored.

    Parameters
    ----------
    constraint : {"equal_opportunity", "demographic_parity", "equalized_odds"} or FairnessConstraint
    rank_tol : float, default=1e-10
        Singular values of :math:`U` below ``rank_tol`` times the largest one are treated as zero
        (dependent rows: with :math:`G` groups the :math:`G` rows span :math:`G-1` dimensions). If
        every :math:`u_j` is exactly zero nothing is removed.

    Attributes
    ----------
    constraint_vectors_ : ndarray of shape (n_constraints, n_features)
    removed_directions_ : ndarray of shape (rank, n_features)
        Orthonormal rows :math:`Q`.
    projection_ : ndarray of shape (n_features, n_features)
        :math:`P = I - Q^\top Q` (symmetric), formed on request (and refused up front if
        :math:`d^2` doubles do not fit in memory); ``transform`` does not use it.
    constraint_labels_ : list of str
    groups_ : ndarray
    n_features_in_, feature_names_in_

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.svm import LinearSVC
    >>> from fairerm import FairProjection
    >>> from fairerm.datasets import make_synthetic
    >>> d = make_synthetic(n_samples=400, include_sensitive=False, random_state=0)
    >>> proj = FairProjection().fit(d.data, d.target, sensitive_features=d.sensitive)
    >>> w = proj.projection_ @ LinearSVC().fit(proj.transform(d.data), d.target).coef_[0]
    >>> bool(abs(proj.constraint_vectors_[0] @ w) < 1e-10)
    True
    """

    def __init__(self, constraint="equal_opportunity", *, rank_tol=1e-10):
        self.constraint = constraint
        self.rank_tol = rank_tol

    def fit(self, X, y=None, *, sensitive_features=None):
        """Compute the directions to remove.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Two classes; required unless ``constraint="demographic_parity"`` (which ignores it).
        sensitive_features : array-like of shape (n_samples,), required

        Returns
        -------
        self
        """
        if not isinstance(self.constraint, FairnessConstraint):
            check_option(self.constraint, "constraint", CONSTRAINT_NAMES)
        check_scalar(self.rank_tol, "rank_tol", low=0.0, high=1.0)
        if sensitive_features is None:
            raise FairermValueError(
                "FairProjection.fit needs sensitive_features=... (the group of each sample). In a Pipeline, pass "
                "fairprojection__sensitive_features=s or enable metadata routing and set_fit_request."
            )
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite=True, ensure_min_samples=2, reset=True)
        constraint = make_constraint(self.constraint)
        sens = check_sensitive_features(sensitive_features, X.shape[0])
        if y is None:
            if not isinstance(constraint, DemographicParity):
                raise FairermValueError(
                    f"y is required for constraint={constraint.name!r} (it selects the examples by label); "
                    "only 'demographic_parity' works without labels."
                )
            y_signed = np.ones(X.shape[0])
        elif isinstance(constraint, DemographicParity):
            y_signed = np.ones(X.shape[0])  # labels are not used; any target (even continuous) is fine
        else:
            y_signed = check_binary_target(y, X.shape[0]).signed
        weights = constraint.weights(y_signed, sens)
        U = weights.weights @ X
        # A u_j at the level of rounding noise (groups already balanced) is u_j = 0, not a direction to remove.
        floor = noise_floor(weights.weights, largest_magnitude(X))
        self.constraint_vectors_ = U
        self.removed_directions_ = np.ascontiguousarray(orthonormal_basis(U, floor, float(self.rank_tol)).T)
        self.constraint_labels_ = list(weights.labels)
        self.groups_ = sens.groups
        self.constraint_ = constraint
        return self

    @property
    def projection_(self) -> np.ndarray:
        """:math:`P = I - Q^\\top Q`, shape (n_features, n_features), formed on request."""
        check_is_fitted(self, "removed_directions_")
        d = self.removed_directions_.shape[1]
        check_memory(8.0 * d * d, f"FairProjection.projection_ ({d} x {d})",
                     "transform() applies X - (X Q^T) Q without it; use removed_directions_ (Q) directly.")
        Q = self.removed_directions_
        return np.eye(d) - Q.T @ Q

    def transform(self, X):
        """Project ``X`` orthogonally to the fairness directions: :math:`X - (XQ^\\top)Q`."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite=True, reset=False)
        Q = self.removed_directions_
        return X - (X @ Q.T) @ Q
