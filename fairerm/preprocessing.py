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
import scipy.sparse as sp
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ._memory import check_memory
from ._validation import check_binary_target, check_option, check_sample_weight, check_scalar, check_sensitive_features
from .constraints import CONSTRAINT_NAMES, DemographicParity, FairnessConstraint, make_constraint, weighted_constraint
from .exceptions import FairermValueError
from .problem import column_magnitudes
from .problem_dask import DaskLinearFermProblem, check_dask_features, is_dask_array, refuse_non_finite
from .solvers import noise_floor, orthonormal_basis
from .solvers._constraint_space import NOISE_RTOL

__all__ = ["FairProjection"]


def _project_block(block, Q):
    """One chunk of rows, projected: :math:`X - (XQ^\\top)Q` (float32 chunks stay float32); NaN or infinite
    values refused with scikit-learn's message, as for numpy ``X`` (:func:`~fairerm.problem_dask.refuse_non_finite`)."""
    refuse_non_finite(block, "FairProjection")
    return block - (block @ Q.T.astype(block.dtype, copy=False)) @ Q.astype(block.dtype, copy=False)


class FairProjection(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    r"""Remove the fairness directions :math:`u_j` from the features (linear FERM, eps = 0).

    ``fit`` computes the constraint vectors :math:`U = C^u X` on the training sample (for equal
    opportunity with two groups: :math:`u = \bar x_{a,+} - \bar x_{b,+}`) and an orthonormal basis
    :math:`Q` of their span; ``transform`` returns :math:`X - (X Q^\top) Q`. Memory is :math:`O(dr)`
    (:math:`r` the rank of :math:`U`): the :math:`d \times d` projection matrix is never stored. ``fit``
    takes ``sample_weight`` (weighted group means) and sparse ``X`` (never densified).

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

    def fit(self, X, y=None, *, sensitive_features=None, sample_weight=None):
        """Compute the directions to remove.

        Parameters
        ----------
        X : array-like or scipy.sparse CSR/CSC matrix of shape (n_samples, n_features)
            Sparse ``X`` is never densified: :math:`U = C^uX` is a sparse product and the basis comes
            from the :math:`k\\times d` matrix :math:`U`, so memory is :math:`O(\\text{nnz} + dk)`.
        y : array-like of shape (n_samples,)
            Two classes; required unless ``constraint="demographic_parity"`` (which ignores it).
        sensitive_features : array-like of shape (n_samples,) or DataFrame, required
            Several columns: each combination of values is a group (a tuple).
        sample_weight : array-like of shape (n_samples,), optional
            Weighted group means in the constraint vectors,
            :math:`\\bar x_g = \\sum_{i\\in g} w_i x_i / \\sum_{i\\in g} w_i` (integer weights: the directions of
            the sample with repeated rows; a zero weight: those of the sample without the row).

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
        if is_dask_array(X):
            return self._fit_dask(X, y, sensitive_features, sample_weight)
        X = validate_data(self, X, accept_sparse=("csr", "csc"), dtype=np.float64, ensure_all_finite=True,
                          ensure_min_samples=2, reset=True)
        constraint = make_constraint(self.constraint)
        sens = check_sensitive_features(sensitive_features, X.shape[0])
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
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
        weights = weighted_constraint(constraint, y_signed, sens, sample_weight)
        U = np.asarray(weights.weights @ X)
        # A u_j at the level of rounding noise (groups already balanced) is u_j = 0, not a direction to remove.
        # (each coordinate against its own column's size: fairerm.solvers.RowSpace)
        floor = noise_floor(weights.weights)
        self.constraint_vectors_ = U
        basis = orthonormal_basis(U, floor, float(self.rank_tol), column_sizes=column_magnitudes(X))
        self.removed_directions_ = np.ascontiguousarray(basis.T)
        self.constraint_labels_ = list(weights.labels)
        self.groups_ = sens.groups
        self.sensitive_feature_names_ = sens.names
        self.constraint_ = constraint
        return self

    def _fit_dask(self, X, y, sensitive_features, sample_weight):
        """``fit`` on a dask array: :math:`U` from one pass over the chunks (:mod:`fairerm.problem_dask`)."""
        import dask.array as da

        constraint = make_constraint(self.constraint)
        if y is None and not isinstance(constraint, DemographicParity):
            raise FairermValueError(f"y is required for constraint={constraint.name!r} (it selects the examples by "
                                    "label); only 'demographic_parity' works without labels.")
        if isinstance(constraint, DemographicParity):  # labels unused: any two-valued stand-in gives the same rows
            y = da.arange(X.shape[0], chunks=X.chunks[0]) % 2
        problem = DaskLinearFermProblem(X, y, sensitive_features, 1.0, 0.0, constraint, sample_weight)
        floor = NOISE_RTOL * problem.constraint_weights_norm
        self.constraint_vectors_ = problem.U
        basis = orthonormal_basis(problem.U, floor, float(self.rank_tol), column_sizes=problem.column_sizes)
        self.removed_directions_ = np.ascontiguousarray(basis.T)
        self.constraint_labels_ = list(problem.labels)
        self.groups_ = problem.groups
        self.sensitive_feature_names_ = problem.group_names
        self.constraint_ = constraint
        self.n_features_in_ = problem.n_features
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
        """Project ``X`` orthogonally to the fairness directions: :math:`X - (XQ^\\top)Q`.

        The projected rows are dense whatever ``X`` is (:math:`x - Q^\\top(Qx)` has no zeros in general).
        For sparse ``X`` the result, an ``(n_samples, n_features)`` array, is checked against the available
        memory first and computed by blocks of rows (working memory :math:`O(\\text{nnz} + dr)` beyond
        it); a wide sparse problem that does not fit is refused with an error naming the alternative,
        :class:`~fairerm.FairLinearSVC` with ``epsilon=0``, which applies the same projection implicitly
        on the sparse rows.
        """
        check_is_fitted(self)
        Q = self.removed_directions_
        if is_dask_array(X):  # lazy: one map over the row chunks, so any dask-aware learner can follow
            if X.ndim != 2 or X.shape[1] != Q.shape[1]:
                raise FairermValueError(f"X has shape {X.shape}; FairProjection was fitted on {Q.shape[1]} features.")
            check_dask_features(X, estimator=type(self).__name__, min_samples=0, n_features=Q.shape[1])
            X = X.rechunk({1: -1})
            return X.map_blocks(_project_block, Q, dtype=np.result_type(X.dtype, np.float32))
        X = validate_data(self, X, accept_sparse=("csr", "csc"), dtype=np.float64, ensure_all_finite=True,
                          reset=False)
        if not sp.issparse(X):
            return X - (X @ Q.T) @ Q
        n, d = X.shape
        check_memory(8.0 * n * d, f"FairProjection.transform of a sparse {n} x {d} matrix (the projected rows are "
                     "dense)", "FairLinearSVC(epsilon=0) fits the same model on the sparse rows without forming "
                     "them; or transform fewer rows at a time.")
        X = X.tocsr()
        out = np.empty((n, d))
        step = max(1, (1 << 22) // max(d, 1))  # blocks of about 32 MB
        for start in range(0, n, step):
            block = X[start:start + step]
            out[start:start + step] = block.toarray() - np.asarray(block @ Q.T) @ Q
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # fit in O(nnz + dk); transform returns the (dense) projected rows
        return tags
