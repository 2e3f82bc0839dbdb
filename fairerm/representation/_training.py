r"""Mini-batch training of the multitask network with a group-divergence penalty.

Each step minimises, on a mini-batch :math:`B`,

.. math::

    \sum_{t=1}^{T} \frac{1}{|B|} \sum_{i \in B} \ell_t\big(o_t(x_i), y_{it}\big)
      + \lambda\, \frac{1}{|P_B|} \sum_{(g, g') \in P_B} D\big(h(X_B) \mid S = g,\ h(X_B) \mid S = g'\big),

with :math:`\ell_t` the binary cross-entropy on logits (binary task) or the squared error
(standardised regression task), :math:`\lambda` the ``penalty_weight``, :math:`D` the unbiased
MMD\ :sup:`2` or the Sinkhorn divergence, and :math:`P_B` the pairs of groups with at least
two points in the batch (a batch with fewer than two such groups contributes no penalty).
Batches are stratified by group, so each holds every group in proportion whenever
``batch_size * n_g / n >= 2``. The optimiser is AdamW.

The MMD bandwidth (when not given) is the median heuristic on the pooled batch, recomputed for
every batch and not differentiated: it follows the scale of :math:`h` as it trains, so the
penalty cannot be lowered by merely shrinking the representation. Likewise the Sinkhorn
:math:`\varepsilon` defaults to ``0.1 * median_bandwidth(batch) ** 2``.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..exceptions import SolverError
from ._divergences import default_epsilon, median_bandwidth, mmd2_unbiased, pairwise_group_divergence, sinkhorn_divergence

__all__ = ["TrainingConfig", "TrainingResult", "stratified_batches", "stratified_split", "make_penalty", "train_network"]


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


def make_penalty(config: TrainingConfig) -> Callable[[torch.Tensor, torch.Tensor], tuple[Any, int]]:
    """The batch penalty ``(h_batch, codes_batch) -> (mean pairwise divergence or None, n_pairs)``."""

    def penalty(representation: torch.Tensor, codes: torch.Tensor) -> tuple[Any, int]:
        if config.penalty == "mmd":
            bandwidth = config.bandwidth if config.bandwidth is not None else median_bandwidth(representation)

            def divergence(first, second):
                return mmd2_unbiased(first, second, bandwidth)

        else:
            epsilon = config.epsilon if config.epsilon is not None else default_epsilon(representation)

            def divergence(first, second):
                return sinkhorn_divergence(first, second, epsilon, max_iter=config.sinkhorn_max_iter, tol=1e-4, warn=False)

        return pairwise_group_divergence(representation, codes, divergence)

    return penalty


def _task_loss(outputs: torch.Tensor, targets: torch.Tensor, binary: torch.Tensor) -> torch.Tensor:
    """Sum over tasks of the mean BCE-with-logits (binary) or squared error (regression)."""
    bce = F.binary_cross_entropy_with_logits(outputs, targets, reduction="none")
    squared = (outputs - targets) ** 2
    return torch.where(binary[None, :], bce, squared).mean(dim=0).sum()


def _run_epoch(network, optimiser, data, batches, penalty, config, train: bool) -> dict:
    features, targets, codes, binary = data
    totals = {"loss": 0.0, "task_loss": 0.0, "penalty": 0.0}
    n_seen, n_penalised = 0, 0
    network.train(train)
    for batch in batches:
        index = torch.as_tensor(batch, device=features.device)
        with torch.set_grad_enabled(train):
            representation, outputs = network(features[index])
            task_loss = _task_loss(outputs, targets[index], binary)
            value = None
            if config.penalty_weight > 0.0:
                value, _ = penalty(representation, codes[index])
            loss = task_loss if value is None else task_loss + config.penalty_weight * value
        if not torch.isfinite(loss):
            raise SolverError(
                f"FairRepresentation: the training loss became {float(loss)} (task loss {float(task_loss)}); "
                f"lower learning_rate (now {config.learning_rate:g}) or penalty_weight (now {config.penalty_weight:g})."
            )
        if train:
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
        size = len(batch)
        n_seen += size
        totals["loss"] += float(loss.detach()) * size
        totals["task_loss"] += float(task_loss.detach()) * size
        if value is not None:
            totals["penalty"] += float(value.detach()) * size
            n_penalised += size
    return {
        "loss": totals["loss"] / n_seen,
        "task_loss": totals["task_loss"] / n_seen,
        "penalty": totals["penalty"] / n_penalised if n_penalised else math.nan,
    }


def train_network(
    network: torch.nn.Module,
    data: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    validation: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor] | None,
    config: TrainingConfig,
    rng: np.random.Generator,
) -> TrainingResult:
    """Train ``network`` in place; with ``validation``, restore the weights of the best epoch.

    Stops when the monitored loss (validation loss if given, else training loss) has not
    decreased by more than ``tol`` for ``n_iter_no_change`` consecutive epochs, or after
    ``max_epochs``.
    """
    optimiser = torch.optim.AdamW(network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    penalty = make_penalty(config)
    train_codes = data[2].cpu().numpy()
    validation_batches = None
    if validation is not None:
        validation_batches = stratified_batches(validation[2].cpu().numpy(), config.batch_size, np.random.default_rng(0))
    history = {"loss": [], "task_loss": [], "penalty": []}
    if validation is not None:
        history.update(val_loss=[], val_task_loss=[], val_penalty=[])
    best, best_epoch, best_state, stale = math.inf, 0, None, 0
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
            best, best_epoch, stale = monitored, epoch, 0
            if validation is not None:
                best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
        else:
            stale += 1
        if stale >= config.n_iter_no_change:
            result.stopped_early = True
            break
    progress.close()
    if best_state is not None:
        network.load_state_dict(best_state)
    result.best_epoch = best_epoch if best_epoch else result.n_epochs
    watched = "validation loss" if validation is not None else "training loss"
    if result.stopped_early:
        result.status = (
            f"stopped at epoch {result.n_epochs}: the {watched} did not improve by more than tol={config.tol:g} "
            f"for n_iter_no_change={config.n_iter_no_change} epochs (best {best:.6g} at epoch {result.best_epoch})"
        )
    else:
        result.status = (
            f"max_epochs={config.max_epochs} reached while the {watched} was still improving by more than "
            f"tol={config.tol:g} (best {best:.6g} at epoch {result.best_epoch})"
        )
    return result
