r"""FairRepresentation: a multitask representation whose group-conditional laws are kept close.

Given data :math:`(x_i, s_i, y_i)`, :math:`y_i \in \mathcal Y_1 \times \dots \times \mathcal Y_T`
(one entry per task), it learns a representation :math:`h: \mathbb{R}^d \to \mathbb{R}^r` (an
MLP) and linear task heads :math:`o_t = \langle v_t, h(x)\rangle + c_t` by minimising

.. math::

    \sum_{t=1}^{T} \hat L_t(o_t \circ h) + \rho\, \hat R(h)
      + \lambda\, D\big(h(X) \mid S = a,\ h(X) \mid S = b\big),

where :math:`\hat L_t` is the empirical binary cross-entropy (binary task) or squared error
(regression task, standardised), :math:`\hat R(h)` the mean squared error of a linear decoder
that reconstructs the standardised features from :math:`h(x)` (weight :math:`\rho` =
``reconstruction_weight``; it keeps in :math:`h` information that no training task asks for, so
that new tasks can use it), :math:`\lambda` is ``penalty_weight`` and :math:`D` the unbiased
squared maximum mean discrepancy with a Gaussian kernel (``penalty="mmd"``) or the debiased
Sinkhorn divergence (``penalty="sinkhorn"``). With more than two groups :math:`D` is averaged
over all pairs of groups. A representation whose group-conditional laws coincide makes every
model built on it satisfy demographic parity, which is why it transfers fairness to new tasks.

With ``sample_weight`` (frequency weights, as in scikit-learn: an integer weight counts as that
many copies of the row) every empirical mean above becomes a weighted mean and :math:`D` compares
the groups' weighted empirical measures (the weighted estimators are derived in
:mod:`fairerm.representation._divergences`); a zero weight is the same as dropping the row.

References
----------
L. Oneto, M. Donini, G. Luise, C. Ciliberto, A. Maurer, M. Pontil. "Exploiting MMD and Sinkhorn
Divergences for Fair and Transferable Representation Learning". NeurIPS 2020.
"""

from __future__ import annotations

import numbers
import warnings
from contextlib import contextmanager
from typing import Any, Iterator, Literal, Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if

from .._validation import check_feature_names, check_features, check_option, check_scalar, check_sensitive_features
from ..exceptions import ConvergenceWarning, FairermTypeError, FairermValueError, NotFittedError
from ._backend import require_torch, resolve_device
from ._inputs import (check_finite_outputs, check_fits_network, check_group_weights, check_penalty_applied,
                      check_sample_weight, check_training_groups, standardisation)
from ._tasks import decode_outputs, encode_targets

__all__ = ["FairRepresentation", "PENALTIES"]

PENALTIES: tuple[str, ...] = ("mmd", "sinkhorn")


@contextmanager
def _torch_threads(n_threads: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(n_threads)``, then restore the previous value."""
    torch = require_torch()
    previous = torch.get_num_threads()
    if n_threads is not None:
        torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)



class FairRepresentation(TransformerMixin, BaseEstimator):
    r"""Fair multitask representation learning with an MMD or Sinkhorn penalty (Oneto et al., 2020).

    Minimises :math:`\sum_t \hat L_t(o_t \circ h) + \lambda D(h(X) \mid S=a, h(X) \mid S=b)` over an
    MLP representation :math:`h` and one linear head :math:`o_t` per task (see the module
    docstring for every symbol), by mini-batch AdamW.

    Parameters
    ----------
    penalty : {"mmd", "sinkhorn"}
        The divergence :math:`D`: unbiased MMD\ :sup:`2` (Gaussian kernel) or debiased Sinkhorn.
    penalty_weight : float, default=1.0
        :math:`\lambda \ge 0`; 0 trains a plain multitask network.
    hidden_layer_sizes : tuple of int, default=(64,)
        Widths of the hidden layers of :math:`h` before the representation layer.
    representation_dim : int, default=16
        :math:`r`, the width of :math:`h(x)`.
    task_types : "auto", "binary", "regression" or sequence of those, default="auto"
        Type of each column of ``Y``; ``"auto"``: two distinct values make a binary task, more
        numeric values a regression task.
    activation : {"relu", "tanh", "elu", "sigmoid"}, default="relu"
        :math:`\rho`, also applied to the representation layer.
    bandwidth : float or None, default=None
        Gaussian kernel width :math:`\sigma` of the MMD. ``None``: the median heuristic on the
        pooled batch, recomputed for every batch (not differentiated), with the penalty taken of
        the representation up to scale (see :mod:`fairerm.representation._training`).
    epsilon : float or None, default=None
        Entropic regularisation of the Sinkhorn divergence. ``None``: the squared median pairwise
        distance of the batch (recomputed per batch), the divergence in units of the batch's mean
        squared distance to its mean (scale-free, as for the MMD).
    sinkhorn_max_iter : int, default=100
        Sinkhorn iterations per batch at most (marginal tolerance 1e-4).
    reconstruction_weight : float, default=0.0
        :math:`\rho \ge 0`, the weight of the reconstruction error :math:`\hat R(h)` (the mean
        over features of the squared error of a linear decoder of the standardised features);
        0 trains no decoder.
    batch_size : int, default=256
        Mini-batch size; batches are stratified by group. A batch in which fewer than two groups
        have two points contributes no penalty; with ``penalty_weight > 0``, ``fit`` refuses a group
        with fewer than two points per batch on average (``batch_size * n_group / n_samples < 2``,
        total weights with ``sample_weight``), and a fit in which no batch had a penalty.
    max_epochs : int, default=100
    learning_rate : float, default=1e-3
    weight_decay : float, default=1e-4
        AdamW's decoupled weight decay.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified by group), monitor its loss, stop
        after ``n_iter_no_change`` epochs without an improvement larger than ``tol`` on the lowest
        loss so far, and keep the weights of the epoch with the lowest validation loss (as
        scikit-learn's MLP: ``tol`` governs only the patience, so an improvement smaller than
        ``tol`` still makes the best epoch). Without it the training loss is monitored and the
        last epoch's weights are kept.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=10
    tol : float, default=1e-4
    random_state : int, RandomState or None, default=None
        Seeds the initial weights, the validation split and the batches. With a seed, CPU results
        are identical from run to run.
    device : {"cpu", "cuda", "cuda:<k>", "auto"}, default="cpu"
        Where training runs. The fitted network is moved back to the CPU, so the fitted model
        predicts and pickles anywhere.
    n_threads : int or None, default=1
        PyTorch intra-op CPU threads while fitting and predicting (restored afterwards; the
        setting is process-wide, so do not fit several models in threads of one process).
        Small batches run fastest on one thread, and a busy machine slows multi-threaded small
        kernels by orders of magnitude. ``None`` keeps torch's current setting.
    verbose : int, default=0
        ``> 0`` shows a tqdm progress bar when stderr is a terminal.

    Attributes
    ----------
    network_ : torch.nn.Module
        The trained network (on the CPU): ``network_.encoder`` is :math:`h`, ``network_.heads`` the heads.
    tasks_ : list of TaskSpec
        Type, classes (binary) or standardisation (regression) of each task.
    n_tasks_ : int
    classes_ : ndarray or list
        The two classes of a single binary task, else one entry per task (``None`` for regression).
    groups_ : ndarray
        The sensitive groups seen in ``fit``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` was a DataFrame with string column names; ``transform``, ``predict``, ...
        then refuse columns named differently or in another order.
    history_ : dict of lists
        Per epoch: ``loss``, ``task_loss``, ``penalty`` (means over batches, weighted by the
        batches' total sample weight; ``penalty`` over the batches that had one, NaN when
        ``penalty_weight == 0``, where it is not computed), ``reconstruction`` when
        ``reconstruction_weight > 0`` and, with early stopping, the same on the validation split
        prefixed ``val_``.
    n_epochs_, best_epoch_ : int
        Epochs run; the epoch with the lowest monitored loss (validation loss with early stopping,
        whose weights the network holds; else training loss).
    stopped_early_ : bool
    status_ : str
        Why training stopped. If ``max_epochs`` is reached without meeting the stopping rule a
        :class:`~fairerm.exceptions.ConvergenceWarning` carrying this status is issued.
    device_ : str
        The device the network was trained on.

    Raises
    ------
    SolverNotInstalledError
        On construction if PyTorch is not installed: ``pip install "fairerm[torch]"``.

    References
    ----------
    Oneto, Donini, Luise, Ciliberto, Maurer, Pontil. NeurIPS 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from fairerm.representation import FairRepresentation
    >>> rng = np.random.default_rng(0)
    >>> s = rng.integers(0, 2, 200); X = rng.normal(size=(200, 5)) + s[:, None]
    >>> Y = np.column_stack([X[:, 0] > 0.5, X[:, 1] + X[:, 2]])
    >>> model = FairRepresentation(representation_dim=4, max_epochs=5, random_state=0)
    >>> model.fit(X, Y, sensitive_features=s).transform(X).shape  # doctest: +SKIP
    (200, 4)
    """

    def __init__(
        self,
        penalty: Literal["mmd", "sinkhorn"] = "mmd",
        penalty_weight: float = 1.0,
        hidden_layer_sizes: Sequence[int] = (64,),
        representation_dim: int = 16,
        task_types: Any = "auto",
        *,
        activation: Literal["relu", "tanh", "elu", "sigmoid"] = "relu",
        bandwidth: float | None = None,
        epsilon: float | None = None,
        sinkhorn_max_iter: int = 100,
        reconstruction_weight: float = 0.0,
        batch_size: int = 256,
        max_epochs: int = 100,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-4,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        random_state: Any = None,
        device: str = "cpu",
        n_threads: int | None = 1,
        verbose: int = 0,
    ):
        require_torch()  # fail at once, naming the extra, rather than at the end of a pipeline's set-up
        self.penalty = penalty
        self.penalty_weight = penalty_weight
        self.hidden_layer_sizes = hidden_layer_sizes
        self.representation_dim = representation_dim
        self.task_types = task_types
        self.activation = activation
        self.bandwidth = bandwidth
        self.epsilon = epsilon
        self.sinkhorn_max_iter = sinkhorn_max_iter
        self.reconstruction_weight = reconstruction_weight
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.device = device
        self.n_threads = n_threads
        self.verbose = verbose

    # ------------------------------------------------------------------ validation
    def _check_params(self):
        from ._network import ACTIVATIONS
        from ._training import TrainingConfig

        check_option(self.penalty, "penalty", PENALTIES)
        check_option(self.activation, "activation", list(ACTIVATIONS))
        check_scalar(self.penalty_weight, "penalty_weight", low=0.0)
        check_scalar(self.reconstruction_weight, "reconstruction_weight", low=0.0)
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
            sizes = (sizes,)
        if not isinstance(sizes, Sequence) or isinstance(sizes, str):
            raise FairermTypeError(f"hidden_layer_sizes must be a sequence of positive ints; got {sizes!r}.")
        for width in sizes:
            check_scalar(width, "hidden_layer_sizes entry", kind=numbers.Integral, low=1)
        check_scalar(self.representation_dim, "representation_dim", kind=numbers.Integral, low=1)
        for name in ("bandwidth", "epsilon"):
            if getattr(self, name) is not None:
                check_scalar(getattr(self, name), name, low=0.0, low_inclusive=False)
        for name in ("sinkhorn_max_iter", "max_epochs", "n_iter_no_change"):
            check_scalar(getattr(self, name), name, kind=numbers.Integral, low=1)
        check_scalar(self.batch_size, "batch_size", kind=numbers.Integral, low=2)
        check_scalar(self.learning_rate, "learning_rate", low=0.0, low_inclusive=False)
        check_scalar(self.weight_decay, "weight_decay", low=0.0)
        check_scalar(self.tol, "tol", low=0.0)
        check_scalar(self.validation_fraction, "validation_fraction", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
        check_scalar(self.verbose, "verbose", kind=numbers.Integral, low=0)
        if self.n_threads is not None:
            check_scalar(self.n_threads, "n_threads", kind=numbers.Integral, low=1)
        if not isinstance(self.early_stopping, (bool, np.bool_)):
            raise FairermTypeError(f"early_stopping must be True or False; got {self.early_stopping!r}.")
        return tuple(int(w) for w in sizes), TrainingConfig(
            penalty=self.penalty,
            penalty_weight=float(self.penalty_weight),
            bandwidth=None if self.bandwidth is None else float(self.bandwidth),
            epsilon=None if self.epsilon is None else float(self.epsilon),
            sinkhorn_max_iter=int(self.sinkhorn_max_iter),
            batch_size=int(self.batch_size),
            max_epochs=int(self.max_epochs),
            learning_rate=float(self.learning_rate),
            weight_decay=float(self.weight_decay),
            early_stopping=bool(self.early_stopping),
            n_iter_no_change=int(self.n_iter_no_change),
            tol=float(self.tol),
            verbose=int(self.verbose),
            device=resolve_device(self.device),
            reconstruction_weight=float(self.reconstruction_weight),
        )

    def _check_X(self, X: Any, *, fit: bool) -> np.ndarray:
        """``X`` as float64; record (fit) or check its width and column names, as scikit-learn does."""
        X_checked = check_features(X, name="X")
        check_fits_network(X_checked, "X")
        if fit:
            self.n_features_in_ = X_checked.shape[1]
        elif X_checked.shape[1] != self.n_features_in_:
            raise FairermValueError(
                f"X has {X_checked.shape[1]} features, but this FairRepresentation was fitted with "
                f"{self.n_features_in_} features."
            )
        check_feature_names(self, X, reset=fit)
        return X_checked

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, Y: Any, *, sensitive_features: Any, sample_weight: Any = None) -> "FairRepresentation":
        """Learn the representation and the task heads.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Values must fit the network's float32 range (standardised features are best).
        Y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            One column per task (binary labels or real values).
        sensitive_features : array-like of shape (n_samples,) or DataFrame
            Group of each sample (at least two groups).
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative frequency weights: the task and reconstruction losses are weighted means
            and the penalty compares the groups' weighted empirical measures; an integer weight is
            the same as repeating the row, a zero weight the same as dropping it. Requested with
            ``set_fit_request(sample_weight=True)`` under metadata routing.

        Returns
        -------
        self

        Raises
        ------
        FairermValueError
            Bad input; with ``penalty_weight > 0``, a group with fewer than two points (total weight)
            per batch on average, or a training run in which no batch computed the penalty.
        """
        require_torch()
        hidden_sizes, config = self._check_params()
        with _torch_threads(self.n_threads):
            return self._fit(X, Y, sensitive_features, sample_weight, hidden_sizes, config)

    def _fit(self, X, Y, sensitive_features, sample_weight, hidden_sizes, config) -> "FairRepresentation":
        torch = require_torch()
        from ._network import MultiTaskNetwork
        from ._training import TrainingData, stratified_split, train_network

        X_checked = self._check_X(X, fit=True)
        n_samples = X_checked.shape[0]
        sensitive = check_sensitive_features(sensitive_features, n_samples)
        weights = check_sample_weight(sample_weight, n_samples)
        if n_samples < 4:
            raise FairermValueError(f"X has {n_samples} samples; FairRepresentation needs at least 4.")
        # With weights the tasks (types, classes, standardisation) are decided by the positive-weight rows only:
        # a zero weight is a dropped row. Other rows' encoded targets are never read.
        self.tasks_, targets, self._one_dimensional = encode_targets(Y, n_samples, self.task_types, sample_weight=weights)
        self.n_tasks_ = len(self.tasks_)
        self.classes_ = [spec.classes for spec in self.tasks_]
        if self._one_dimensional and self.tasks_[0].kind == "binary":
            self.classes_ = self.tasks_[0].classes
        self.groups_ = sensitive.groups
        rows = np.arange(n_samples) if weights is None else np.flatnonzero(weights > 0)  # zero weight = dropped row
        codes = sensitive.codes[rows]
        if np.unique(codes).shape[0] < 2:
            raise FairermValueError("sample_weight is zero for every row of all groups but one; the penalty needs two groups.")
        if config.penalty_weight > 0.0:  # the same rule with or without (unit) weights
            check_group_weights(None if weights is None else weights[rows], codes, sensitive.groups, config.batch_size)

        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        rng = np.random.default_rng(seed)
        device = config.device
        reconstruct = config.reconstruction_weight > 0.0
        network = MultiTaskNetwork(X_checked.shape[1], hidden_sizes, int(self.representation_dim), self.n_tasks_,
                                   self.activation, rng, reconstruct=reconstruct)
        self._check_network_outputs(network, X_checked[rows])
        network.to(device)
        binary = torch.as_tensor([spec.kind == "binary" for spec in self.tasks_], device=device)
        if reconstruct:
            mean, scale = standardisation(X_checked[rows], None if weights is None else weights[rows])

        def as_tensor(values):
            return torch.as_tensor(values, dtype=torch.float32, device=device)

        def to_device(index: np.ndarray) -> TrainingData:
            return TrainingData(
                features=as_tensor(X_checked[index]),
                targets=as_tensor(targets[index]),
                codes=torch.as_tensor(sensitive.codes[index], device=device),
                binary=binary,
                weights=None if weights is None else as_tensor(weights[index]),
                reconstruction=as_tensor((X_checked[index] - mean) / scale) if reconstruct else None,
            )

        validation = None
        train_index = rows
        if config.early_stopping:
            train_position, validation_position = stratified_split(codes, float(self.validation_fraction), rng)
            train_index, validation_index = rows[train_position], rows[validation_position]
            if validation_index.shape[0] == 0 or train_index.shape[0] < 2:
                raise FairermValueError(
                    f"validation_fraction={self.validation_fraction!r} leaves {validation_index.shape[0]} validation and "
                    f"{train_index.shape[0]} training samples out of {rows.shape[0]}; both need samples."
                )
            validation = to_device(validation_index)
            if config.penalty_weight > 0.0:  # the rule holds for the rows trained on, after the split
                check_training_groups(sensitive.groups, codes[train_position], None if weights is None else
                                      weights[train_index], config.batch_size, self.validation_fraction)
        result = train_network(network, to_device(train_index), validation, config, rng)
        check_penalty_applied(result.history["penalty"], config.penalty_weight)

        self.network_ = network.cpu().eval()
        self.device_ = str(device)
        self.history_ = result.history
        self.n_epochs_ = result.n_epochs
        self.best_epoch_ = result.best_epoch
        self.stopped_early_ = result.stopped_early
        self.status_ = result.status
        if not result.stopped_early:
            warnings.warn(f"FairRepresentation: {result.status}; increase max_epochs.", ConvergenceWarning, stacklevel=3)
        return self

    def _check_network_outputs(self, network, X_checked: np.ndarray) -> None:
        """One forward pass of the initial network: huge (finite) inputs that overflow it are refused now."""
        torch = require_torch()
        with torch.no_grad():
            for start in range(0, X_checked.shape[0], 65536):
                chunk = X_checked[start : start + 65536]
                representation, outputs = network(torch.from_numpy(np.array(chunk, dtype=np.float32)))
                check_finite_outputs(np.column_stack([representation.numpy(), outputs.numpy()]), chunk, "X")

    # ------------------------------------------------------------------ outputs
    def _forward(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        if not hasattr(self, "network_"):
            raise NotFittedError("This FairRepresentation instance is not fitted yet; call fit(X, Y, sensitive_features=...) first.")
        torch = require_torch()
        X_checked = self._check_X(X, fit=False)
        with torch.no_grad(), _torch_threads(getattr(self, "n_threads", None)):
            # a float32 copy: torch warns on (and must not alias) a read-only input such as a memmap
            representation, outputs = self.network_(torch.from_numpy(np.array(X_checked, dtype=np.float32)))
        representation, outputs = representation.numpy().astype(np.float64), outputs.numpy().astype(np.float64)
        check_finite_outputs(np.column_stack([representation, outputs]), X_checked, "X")
        return representation, outputs

    def transform(self, X: Any) -> np.ndarray:
        """The representation :math:`h(X)`, an array of shape (n_samples, representation_dim)."""
        return self._forward(X)[0]

    def fit_transform(self, X: Any, Y: Any = None, *, sensitive_features: Any = None, **fit_params) -> np.ndarray:
        """``fit(X, Y, sensitive_features=...)`` then ``transform(X)``.

        The targets may also be passed by scikit-learn's keyword ``y`` (``fit_transform(X, y=Y)``).
        """
        if "y" in fit_params:
            if Y is not None:
                raise FairermValueError("pass the targets once, as Y or as y, not both.")
            Y = fit_params.pop("y")
        return self.fit(X, Y, sensitive_features=sensitive_features, **fit_params).transform(X)

    def decision_function(self, X: Any) -> np.ndarray:
        """Raw head outputs: logits (binary tasks) and standardised values (regression tasks)."""
        outputs = self._forward(X)[1]
        return outputs[:, 0] if self._one_dimensional else outputs

    def predict(self, X: Any) -> np.ndarray:
        """Task outputs: class labels for binary tasks, values (original units) for regression tasks.

        Shape (n_samples,) if ``Y`` was 1-D in ``fit``, else (n_samples, n_tasks).
        """
        outputs = self._forward(X)[1]  # first: it raises NotFittedError before any fitted attribute is read
        return decode_outputs(self.tasks_, outputs, self._one_dimensional)

    def _all_tasks_binary(self) -> bool:
        """``predict_proba`` is offered before fit and after a fit on binary tasks only."""
        return not hasattr(self, "tasks_") or all(spec.kind == "binary" for spec in self.tasks_)

    @available_if(_all_tasks_binary)
    def predict_proba(self, X: Any) -> np.ndarray | list:
        """Class probabilities ``[P(classes[0]), P(classes[1])]`` of the binary tasks.

        An array of shape (n_samples, 2) for a single task, else a list with one such array per
        task (as scikit-learn's multi-output classifiers).

        Only available when every task is binary (``hasattr(model, "predict_proba")`` is False after
        a fit with a regression task).
        """
        outputs = self._forward(X)[1]
        regression = [spec.name for spec in self.tasks_ if spec.kind != "binary"]
        if regression:
            raise FairermValueError(f"predict_proba needs binary tasks only; task(s) {regression} are regression tasks.")
        positive = 1.0 / (1.0 + np.exp(-outputs))
        probabilities = [np.column_stack([1.0 - positive[:, j], positive[:, j]]) for j in range(self.n_tasks_)]
        return probabilities[0] if self._one_dimensional else probabilities

    def score(self, X: Any, Y: Any, sample_weight: Any = None) -> float:
        """Mean over tasks of the accuracy (binary tasks) and the R^2 (regression tasks)."""
        predictions = self.predict(X)
        truth = np.asarray(Y, dtype=object)
        if self._one_dimensional:
            predictions, truth = predictions[:, None], truth.reshape(-1, 1)
        if truth.shape != predictions.shape:
            raise FairermValueError(f"Y has shape {np.asarray(Y).shape}; expected {predictions.shape[:1] + (self.n_tasks_,)}.")
        scores = []
        for j, spec in enumerate(self.tasks_):
            if spec.kind == "binary":
                scores.append(accuracy_score(truth[:, j].astype(spec.classes.dtype), predictions[:, j].astype(spec.classes.dtype), sample_weight=sample_weight))
            else:
                scores.append(r2_score(truth[:, j].astype(np.float64), predictions[:, j].astype(np.float64), sample_weight=sample_weight))
        return float(np.mean(scores))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags
