r"""Fair and transferable representation learning with MMD and Sinkhorn divergences.

Oneto, Donini, Luise, Ciliberto, Maurer and Pontil (NeurIPS 2020) learn a representation
:math:`h(x)` shared by several tasks while penalising a divergence :math:`D` between the
group-conditional distributions of :math:`h(X)`:

.. math::

    \min_{h, o_1, \dots, o_T}\ \sum_{t=1}^{T} \hat L_t(o_t \circ h)
        + \lambda\, D\big(h(X) \mid S = a,\ h(X) \mid S = b\big),

with :math:`D` the squared maximum mean discrepancy (Gaussian kernel) or the Sinkhorn divergence,
optionally with a reconstruction term that keeps information for tasks to come, and with sample
weights (frequency weights: the divergences compare weighted empirical measures). Models fitted later
on :math:`h(X)` for *new* tasks inherit its demographic parity to the extent that :math:`D` is small
*for them*: a small divergence does not bound every downstream gap (see ``docs/maths.rst``).

Public API
----------
:class:`FairRepresentation`
    The scikit-learn-style estimator (``fit(X, Y, *, sensitive_features)``, ``transform``, ``predict``).
:func:`mmd2_unbiased`, :func:`sinkhorn_divergence`, :func:`entropic_ot`, :func:`median_bandwidth`
    The differentiable divergences, on torch tensors (array-likes become float64 tensors).
:func:`group_divergence`, :func:`transfer_evaluate`
    Evaluation of a learned representation.

PyTorch is the optional extra ``fairerm[torch]``: this module imports without it, and the
names above raise :class:`~fairerm.exceptions.SolverNotInstalledError` (an ``ImportError``)
naming ``pip install "fairerm[torch]"`` when they are used.
"""

from __future__ import annotations

from ._backend import INSTALL_HINT, require_torch, torch_available
from ._divergences import (
    EntropicOTResult,
    default_epsilon,
    entropic_ot,
    median_bandwidth,
    mmd2_unbiased,
    sinkhorn_divergence,
)
from ._estimator import PENALTIES, FairRepresentation
from ._evaluation import TransferResult, demographic_parity_gap, group_divergence, transfer_evaluate

__all__ = [
    "FairRepresentation",
    "PENALTIES",
    "mmd2_unbiased",
    "sinkhorn_divergence",
    "entropic_ot",
    "EntropicOTResult",
    "median_bandwidth",
    "default_epsilon",
    "group_divergence",
    "demographic_parity_gap",
    "transfer_evaluate",
    "TransferResult",
    "torch_available",
    "require_torch",
    "INSTALL_HINT",
]
