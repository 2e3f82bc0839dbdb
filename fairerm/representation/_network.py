r"""The multitask network: a shared MLP representation :math:`h` and one linear head per task.

:math:`h(x) = W_L\,\rho(\cdots \rho(W_1 x + b_1) \cdots) + b_L \in \mathbb{R}^r` with activation
:math:`\rho`, followed by :math:`\rho` again (so the representation is the last hidden layer of
a standard MLP), and task outputs :math:`o_t(x) = \langle v_t, h(x)\rangle + c_t` (a logit for
a binary task, a standardised value for a regression task). With a reconstruction term the
network also has a linear decoder :math:`\hat x = A\,h(x) + c` of the standardised features.

This module imports torch at import time; only the estimator's ``fit`` imports it, lazily.
Parameters are drawn from a numpy generator (PyTorch's default ``nn.Linear`` law,
:math:`\mathcal U(-1/\sqrt{\text{fan\_in}}, 1/\sqrt{\text{fan\_in}})`), so a seed gives identical
networks on every device without touching torch's global random state.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

__all__ = ["ACTIVATIONS", "MultiTaskNetwork"]

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU, "sigmoid": nn.Sigmoid}


class MultiTaskNetwork(nn.Module):
    """Shared representation ``h`` (attribute ``encoder``), task heads (``heads``) and, when
    ``reconstruct`` is true, a linear decoder of the features (``decoder``, else ``None``)."""

    def __init__(
        self,
        n_features: int,
        hidden_layer_sizes: Sequence[int],
        representation_dim: int,
        n_tasks: int,
        activation: str,
        rng: np.random.Generator,
        reconstruct: bool = False,
    ):
        super().__init__()
        sizes = [n_features, *hidden_layer_sizes, representation_dim]
        layers: list[nn.Module] = []
        # nn.Linear draws a default initialisation from torch's global generator; fork it so that
        # fitting leaves the caller's random state untouched (the weights come from `rng` anyway).
        with torch.random.fork_rng(devices=[]):
            for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
                layers += [nn.Linear(fan_in, fan_out), ACTIVATIONS[activation]()]
            self.encoder = nn.Sequential(*layers)
            self.heads = nn.Linear(representation_dim, n_tasks)
            # registered last, so the encoder and heads draw the same initial weights with or without it
            self.decoder = nn.Linear(representation_dim, n_features) if reconstruct else None
        self._initialise(rng)

    def _initialise(self, rng: np.random.Generator) -> None:
        with torch.no_grad():
            for module in self.modules():
                if isinstance(module, nn.Linear):
                    bound = 1.0 / np.sqrt(module.in_features)
                    for parameter in (module.weight, module.bias):
                        values = rng.uniform(-bound, bound, size=tuple(parameter.shape))
                        parameter.copy_(torch.as_tensor(values, dtype=parameter.dtype))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        representation = self.encoder(x)
        return representation, self.heads(representation)
