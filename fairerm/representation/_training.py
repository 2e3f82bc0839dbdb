r"""Mini-batch training of the multitask network with a group-divergence penalty.

Each step minimises, on a mini-batch :math:`B` (with frequency weights :math:`w_i`, all 1 by default),

.. math::

    \sum_{t=1}^{T} \frac{\sum_{i \in B} w_i\, \ell_t\big(o_t(x_i), y_{it}\big)}{\sum_{i \in B} w_i}
      + \rho\, \frac{\sum_{i \in B} w_i \|A h(x_i) + c - \tilde x_i\|^2 / d}{\sum_{i \in B} w_i}
      + \lambda\, \frac{1}{|P_B|} \sum_{(g, g') \in P_B} D\big(\tilde h_B \mid S = g,\ \tilde h_B \mid S = g'\big),

with :math:`\ell_t` the binary cross-entropy on logits (binary task) or the squared error
(standardised regression task), :math:`\tilde x` the standardised features and :math:`A, c` the
linear decoder (when :math:`\rho > 0`), :math:`\lambda` the ``penalty_weight``, :math:`D` the
unbiased MMD\ :sup:`2` or the Sinkhorn divergence of the groups' weighted empirical measures, and
:math:`P_B` the pairs of groups with at least two points (total weight above 1) in the batch; a
batch with fewer than two such groups contributes no penalty. Batches are stratified by group,
so each holds every group in proportion whenever ``batch_size * n_g / n >= 2``. AdamW.

**A penalty of the representation up to scale.** With the default bandwidth / epsilon the
divergence is computed on :math:`\tilde h_B = h_B / s(h_B)`, where
:math:`s(h)^2 = \overline{\|h - \bar h\|^2}` is the batch's mean squared distance to its mean
(differentiated), with the MMD bandwidth the median distance of :math:`\tilde h_B` and the Sinkhorn
:math:`\varepsilon` its square (:data:`~fairerm.representation._divergences.EPSILON_RATIO` = 1).
The penalty is then a function of :math:`h` up to a positive factor, and its gradient has no
component along :math:`h \mapsto c\,h`: the network cannot lower it by shrinking the
representation (which a downstream linear model undoes). For the MMD this changes the gradient
only (the value with the median bandwidth is already scale-free); for Sinkhorn it also changes the
units (the divergence is in units of :math:`s^2`). Without it, the Sinkhorn divergence, whose
finite-sample value between two samples of one law is positive, rewarded shrinking: on Adult the
representation's mean per-dimension standard deviation fell from 0.84 (unpenalised) to 0.06-0.14. A given ``bandwidth`` or
``epsilon`` is in the units of :math:`h` and used as is.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm  # the plain bar: tqdm.auto warns inside Jupyter without ipywidgets, even when disabled

from ..exceptions import SolverError
from ._divergences import default_epsilon, median_bandwidth, mmd2_unbiased, pairwise_group_divergence, sinkhorn_divergence

__all__ = ["TrainingConfig", "TrainingData", "TrainingResult", "stratified_batches", "stratified_split", "make_penalty", "train_network"]


@dataclass
class TrainingConfig:
    """Validated hyper-parameters of one training run (see :class:`FairRepresentation`)."""

    penalty: str
    penalty_weight: float
    bandwidth: float | None
    epsilon: float | None
    sinkhorn_max_iter: int
    batch_size: int
    max_epochs: int
    learning_rate: float
    weight_decay: float
    early_stopping: bool
    n_iter_no_change: int
    tol: float
    verbose: int
    device: Any
    reconstruction_weight: float = 0.0


@dataclass
class TrainingData:
    """Tensors of one split, on the training device.

    ``weights`` (frequency weights) and ``reconstruction`` (standardised features, the target of
    the decoder) are ``None`` when unused.
    """

    features: torch.Tensor
    targets: torch.Tensor
    codes: torch.Tensor
    binary: torch.Tensor
    weights: torch.Tensor | None = None
    reconstruction: torch.Tensor | None = None


@dataclass
class TrainingResult:
    """What a training run produced: the history and how it stopped."""

    history: dict = field(default_factory=dict)
    n_epochs: int = 0
    best_epoch: int = 0
    stopped_early: bool = False
    status: str = ""


def stratified_batches(codes: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffle the indices into batches that each hold every group in proportion.

    Sample ``i`` of group ``g`` gets the key ``(rank_i + u_g) / n_g`` (``rank`` a random
    permutation inside the group, ``u_g ~ U[0, 1)``); sorting by key interleaves the groups
    evenly, and consecutive chunks of ``batch_size`` are the batches.
    """
    keys = np.empty(codes.shape[0])
    for group in np.unique(codes):
        members = np.flatnonzero(codes == group)
        keys[members] = (rng.permutation(members.shape[0]) + rng.uniform()) / members.shape[0]
    order = np.argsort(keys, kind="stable")
    return [order[start : start + batch_size] for start in range(0, order.shape[0], batch_size)]


def stratified_split(codes: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, validation)``: ``round(fraction * n_g)`` of each group go to validation."""
    train, validation = [], []
    for group in np.unique(codes):
        members = rng.permutation(np.flatnonzero(codes == group))
        n_validation = int(round(fraction * members.shape[0]))
        validation.append(members[:n_validation])
        train.append(members[n_validation:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(validation))


def make_penalty(config: TrainingConfig) -> Callable[..., tuple[Any, int]]:
    """The batch penalty ``(h_batch, codes_batch, weights_batch=None) -> (mean pairwise divergence or None, n_pairs)``.

    With weights, each group is the weighted empirical measure of its points (frequency weights,
    see :mod:`fairerm.representation._divergences`) and the default bandwidth / epsilon is the
    weighted median heuristic.
    """

    def penalty(representation: torch.Tensor, codes: torch.Tensor, weights: torch.Tensor | None = None) -> tuple[Any, int]:
        pooled_weights = None if weights is None else [weights]
        scale_free = config.bandwidth is None if config.penalty == "mmd" else config.epsilon is None
        if scale_free:
            representation = representation / _total_scale(representation, weights)
        if config.penalty == "mmd":
            bandwidth = config.bandwidth if config.bandwidth is not None else median_bandwidth(representation, weights=pooled_weights)

            def divergence(first, second, first_weights=None, second_weights=None):
                return mmd2_unbiased(first, second, bandwidth, x_weights=first_weights, z_weights=second_weights)

        else:
            epsilon = config.epsilon if config.epsilon is not None else default_epsilon(representation, weights=pooled_weights)

            def divergence(first, second, first_weights=None, second_weights=None):
                return sinkhorn_divergence(first, second, epsilon, x_weights=first_weights, z_weights=second_weights,
                                           max_iter=config.sinkhorn_max_iter, tol=1e-4, warn=False)

        return pairwise_group_divergence(representation, codes, divergence, weights=weights)

    return penalty


def _total_scale(representation: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    r"""The batch's root mean squared distance to its mean, :math:`s(h) = (\overline{\|h - \bar h\|^2})^{1/2}`
    (weighted), differentiable; ``h / s(h)`` does not change when ``h`` is rescaled."""
    mean = _weighted_mean(representation, weights, dim=0)
    spread = _weighted_mean(((representation - mean) ** 2).sum(dim=1), weights)
    return spread.clamp_min(1e-24).sqrt()


def _weighted_mean(values: torch.Tensor, weights: torch.Tensor | None, dim: int | None = None) -> torch.Tensor:
    """``mean(values)``, or ``sum(w * values) / sum(w)`` (the mean over the sample with repeated rows), over ``dim``."""
    if weights is None:
        return values.mean() if dim is None else values.mean(dim=dim)
    if dim is None:
        return (weights * values).sum() / weights.sum()
    return (weights[:, None] * values).sum(dim=dim) / weights.sum()


def _task_loss(outputs: torch.Tensor, targets: torch.Tensor, binary: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Sum over tasks of the (weighted) mean BCE-with-logits (binary) or squared error (regression)."""
    bce = F.binary_cross_entropy_with_logits(outputs, targets, reduction="none")
    squared = (outputs - targets) ** 2
    per_task = torch.where(binary[None, :], bce, squared)
    if weights is None:
        return per_task.mean(dim=0).sum()
    return _weighted_mean(per_task.sum(dim=1), weights)


def batch_objective(network, data: TrainingData, index: Any, penalty, config: TrainingConfig) -> dict:
    """The loss terms of one batch: ``loss = task_loss + rho * reconstruction + lambda * penalty``.

    Returns a dict of tensors ``loss``, ``task_loss`` and, when used, ``reconstruction`` and
    ``penalty`` (``penalty`` is ``None`` if no pair of groups qualifies in the batch).
    """
    weights = None if data.weights is None else data.weights[index]
    representation, outputs = network(data.features[index])
    terms = {"task_loss": _task_loss(outputs, data.targets[index], data.binary, weights)}
    loss = terms["task_loss"]
    if config.reconstruction_weight > 0.0:
        error = ((network.decoder(representation) - data.reconstruction[index]) ** 2).mean(dim=1)
        terms["reconstruction"] = _weighted_mean(error, weights)
        loss = loss + config.reconstruction_weight * terms["reconstruction"]
    if config.penalty_weight > 0.0:
        value, _ = penalty(representation, data.codes[index], weights)
        terms["penalty"] = value
        if value is not None:
            loss = loss + config.penalty_weight * value
    terms["loss"] = loss
    return terms


def _run_epoch(network, optimiser, data: TrainingData, batches, penalty, config, train: bool) -> dict:
    keys = ["loss", "task_loss"] + (["reconstruction"] if config.reconstruction_weight > 0.0 else [])
    totals = dict.fromkeys(keys + ["penalty"], 0.0)
    n_seen, n_penalised = 0.0, 0.0
    network.train(train)
    for batch in batches:
        index = torch.as_tensor(batch, device=data.features.device)
        with torch.set_grad_enabled(train):
            terms = batch_objective(network, data, index, penalty, config)
        loss = terms["loss"]
        if not torch.isfinite(loss):
            raise SolverError(
                f"FairRepresentation: the training loss became {float(loss)} (task loss {float(terms['task_loss'])}); "
                f"lower learning_rate (now {config.learning_rate:g}) or penalty_weight (now {config.penalty_weight:g})."
            )
        if train:
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
        size = float(len(batch)) if data.weights is None else float(data.weights[index].sum())
        n_seen += size
        for key in keys:
            totals[key] += float(terms[key].detach()) * size
        if terms.get("penalty") is not None:
            totals["penalty"] += float(terms["penalty"].detach()) * size
            n_penalised += size
    stats = {key: totals[key] / n_seen for key in keys}
    stats["penalty"] = totals["penalty"] / n_penalised if n_penalised else math.nan
    return stats


def train_network(
    network: torch.nn.Module,
    data: TrainingData,
    validation: TrainingData | None,
    config: TrainingConfig,
    rng: np.random.Generator,
) -> TrainingResult:
    """Train ``network`` in place; with ``validation``, restore the weights of the best epoch.

    Stops when the monitored loss (validation loss if given, else training loss) has not
    decreased by more than ``tol`` below the lowest value so far for ``n_iter_no_change``
    consecutive epochs, or after ``max_epochs``. As in scikit-learn's MLP, ``tol`` governs only
    this patience counter: the best epoch (``best_epoch``, and the weights restored with
    ``validation``) is the one with the lowest monitored loss, however small its improvement.
    Without ``validation`` the network keeps the last epoch's weights.
    """
    optimiser = torch.optim.AdamW(network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    penalty = make_penalty(config)
    train_codes = data.codes.cpu().numpy()
    validation_batches = None
    if validation is not None:
        validation_batches = stratified_batches(validation.codes.cpu().numpy(), config.batch_size, np.random.default_rng(0))
    keys = ["loss", "task_loss", "penalty"] + (["reconstruction"] if config.reconstruction_weight > 0.0 else [])
    history = {key: [] for key in keys}
    if validation is not None:
        history.update({"val_" + key: [] for key in keys})
    # best: the lowest monitored loss so far (its epoch and, with validation, its weights); stale: epochs since
    # the last one that beat the then-best by more than tol (the patience counter).
    best, best_epoch, best_state, stale, last_significant = math.inf, 0, None, 0, 0
    show = config.verbose > 0 and sys.stderr.isatty()
    progress = tqdm(range(1, config.max_epochs + 1), desc="FairRepresentation", unit="epoch", disable=not show)
    result = TrainingResult(history=history)
    for epoch in progress:
        batches = stratified_batches(train_codes, config.batch_size, rng)
        epoch_stats = _run_epoch(network, optimiser, data, batches, penalty, config, train=True)
        for key, value in epoch_stats.items():
            history[key].append(value)
        monitored = epoch_stats["loss"]
        if validation is not None:
            val_stats = _run_epoch(network, None, validation, validation_batches, penalty, config, train=False)
            for key, value in val_stats.items():
                history["val_" + key].append(value)
            monitored = val_stats["loss"]
        progress.set_postfix(loss=f"{epoch_stats['loss']:.4f}", monitored=f"{monitored:.4f}")
        result.n_epochs = epoch
        if monitored < best - config.tol:
            stale, last_significant = 0, epoch
        else:
            stale += 1
        if monitored < best:
            best, best_epoch = monitored, epoch
            if validation is not None:
                best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
        if stale >= config.n_iter_no_change:
            result.stopped_early = True
            break
    progress.close()
    if best_state is not None:
        network.load_state_dict(best_state)
    result.best_epoch = best_epoch if best_epoch else result.n_epochs
    watched = "validation loss" if validation is not None else "training loss"
    kept = (f"the weights of epoch {result.best_epoch} restored" if best_state is not None
            else f"the weights of the last epoch ({result.n_epochs}) kept")
    if result.stopped_early:
        result.status = (
            f"stopped at epoch {result.n_epochs}: the {watched} did not improve by more than tol={config.tol:g} "
            f"on its best value for n_iter_no_change={config.n_iter_no_change} epochs (last such improvement at "
            f"epoch {last_significant}; lowest {best:.6g} at epoch {result.best_epoch}; {kept})"
        )
    else:
        result.status = (
            f"max_epochs={config.max_epochs} reached before the stopping rule was met: the last improvement of the "
            f"{watched} by more than tol={config.tol:g} was at epoch {last_significant}, {stale} epoch(s) before the end "
            f"(n_iter_no_change={config.n_iter_no_change}); lowest {best:.6g} at epoch {result.best_epoch}; {kept}"
        )
    return result
