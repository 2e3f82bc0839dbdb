"""Fair support vector machines: linear and kernel FERM."""

from ._kernel import FairKernelSVC
from ._linear import FairLinearSVC

__all__ = ["FairLinearSVC", "FairKernelSVC"]
