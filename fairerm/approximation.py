r"""Approximate kernel feature maps that turn kernel FERM into linear FERM (large n; docs/scaling.rst).

An explicit map :math:`z: \mathbb R^d \to \mathbb R^D` with :math:`\langle z(x), z(x')\rangle \approx
k(x, x')` replaces the reproducing-kernel feature map :math:`\phi`; linear FERM on the rows
:math:`z(x_i)` then costs :math:`O(nD)` per pass instead of :math:`O(n^2)`.

* **Nystroem** (Williams & Seeger 2001): with :math:`D` landmarks :math:`c_1..c_D` drawn from the
  training rows, :math:`z(x) = K_{cc}^{-1/2} (k(c_l, x))_{l=1..D}`, so
  :math:`\langle z(x), z(x')\rangle = k_c(x)^\top K_{cc}^{+} k_c(x')`, the kernel of the projection of
  :math:`\phi` onto :math:`\operatorname{span}\{\phi(c_l)\}`. With every training row as a landmark
  this is *exactly* :math:`K` on the training sample.
* **Random Fourier features** (Rahimi & Recht 2007), RBF kernel :math:`k(x,x') = e^{-\gamma\|x-x'\|^2}`:
  :math:`z(x) = \sqrt{2/D}\,(\cos(\omega_l^\top x + b_l))_l` with :math:`\omega_l\sim N(0, 2\gamma I)`,
  :math:`b_l\sim U[0, 2\pi]`; an unbiased estimate of :math:`k` whose error decays as :math:`D^{-1/2}`.

The fairness constraint :math:`|\langle w, u\rangle|\le\epsilon` is then imposed on
:math:`u = \frac1{n_{a,+}}\sum z(x_i) - \frac1{n_{b,+}}\sum z(x_i)`: exact in the approximate feature
space, approximate with respect to the exact kernel's :math:`\phi`.

This module is on the estimator side of the house (it builds scikit-learn transformers).
"""

from __future__ import annotations

from typing import Literal

from sklearn.kernel_approximation import Nystroem, RBFSampler

from .exceptions import FairermValueError
from .kernels import KernelSpec

__all__ = ["APPROXIMATIONS", "make_feature_map"]

APPROXIMATIONS: tuple[str, ...] = ("nystroem", "rff")


def make_feature_map(
    approximation: Literal["nystroem", "rff"],
    kernel: KernelSpec,
    n_components: int,
    random_state=None,
):
    """An unfitted scikit-learn transformer :math:`x \\mapsto z(x)` for ``kernel`` (``gamma`` resolved).

    Parameters
    ----------
    approximation : {"nystroem", "rff"}
    kernel : KernelSpec
        ``"rff"`` needs ``kernel="rbf"``; ``"nystroem"`` takes any non-precomputed kernel.
    n_components : int
        :math:`D`, the number of landmarks or random features.
    random_state : int, RandomState or None
        Seeds the landmarks / frequencies.

    Raises
    ------
    FairermValueError
        For a precomputed kernel, or ``"rff"`` with a kernel other than RBF.
    """
    if kernel.is_precomputed:
        raise FairermValueError(f"approximation={approximation!r} needs the features X; got kernel='precomputed'. "
                                "Use approximation=None with a precomputed kernel.")
    gamma, coef0, degree = kernel.params()
    if approximation == "rff":
        if kernel.name != "rbf":
            raise FairermValueError(f"approximation='rff' (random Fourier features) approximates the RBF kernel only; "
                                    f"got kernel={kernel.name!r}. Use approximation='nystroem' for it.")
        return RBFSampler(gamma=gamma, n_components=n_components, random_state=random_state)
    if approximation == "nystroem":
        return Nystroem(kernel=kernel.name, gamma=gamma, coef0=coef0, degree=degree, n_components=n_components,
                        random_state=random_state)
    raise FairermValueError(f"approximation must be one of [None, {', '.join(map(repr, APPROXIMATIONS))}]; "
                            f"got {approximation!r}.")
