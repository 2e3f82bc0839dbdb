"""The optional PyTorch backend: import it on demand, resolve devices, seed parameters.

``import fairerm.representation`` never imports torch; every function that needs it calls
:func:`require_torch`, which raises :class:`~fairerm.exceptions.SolverNotInstalledError`
naming the extra that installs it.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..exceptions import FairermValueError, SolverNotInstalledError

__all__ = ["require_torch", "torch_available", "resolve_device", "INSTALL_HINT"]

INSTALL_HINT = 'pip install "fairerm[torch]"'


def require_torch() -> Any:
    """Return the ``torch`` module, or raise a clear error if it is not installed.

    Raises
    ------
    SolverNotInstalledError
        If ``import torch`` fails (an ``ImportError``); the message names the fix.
    """
    try:
        return importlib.import_module("torch")
    except ImportError as exc:
        raise SolverNotInstalledError(
            "FairRepresentation and the MMD/Sinkhorn divergences need PyTorch, which is not installed "
            f"({exc}). Install the optional extra: {INSTALL_HINT} (a CPU-only build is enough; see "
            "https://pytorch.org for the wheel that matches your GPU)."
        ) from exc


def torch_available() -> bool:
    """Whether ``torch`` can be imported (without raising)."""
    try:
        require_torch()
    except SolverNotInstalledError:
        return False
    return True


def resolve_device(device: Any) -> Any:
    """Map the ``device`` parameter (``"cpu"``, ``"cuda"``, ``"cuda:k"``, ``"auto"``) to a ``torch.device``.

    ``"auto"`` picks ``"cuda"`` when a CUDA device is visible, else ``"cpu"``.

    Raises
    ------
    FairermValueError
        If the string is not one of the allowed forms, or CUDA is requested but unavailable.
    """
    torch = require_torch()
    if not isinstance(device, str):
        if isinstance(device, torch.device):
            device = str(device)
        else:
            raise FairermValueError(
                f"device must be 'cpu', 'cuda', 'cuda:<index>' or 'auto'; got {device!r} of type "
                f"{type(device).__name__}."
            )
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        return torch.device("cpu")
    if device == "cuda" or device.startswith("cuda:"):
        index_text = device[5:]
        if index_text and not index_text.isdigit():
            raise FairermValueError(f"device must be 'cpu', 'cuda', 'cuda:<index>' or 'auto'; got {device!r}.")
        if not torch.cuda.is_available():
            raise FairermValueError(
                f"device={device!r} was requested but torch.cuda.is_available() is False (torch "
                f"{torch.__version__}, CUDA build: {torch.version.cuda}). Use device='cpu' or 'auto', or "
                "install a CUDA build of PyTorch on a machine with an NVIDIA GPU."
            )
        if index_text and int(index_text) >= torch.cuda.device_count():
            raise FairermValueError(
                f"device={device!r} was requested but only {torch.cuda.device_count()} CUDA device(s) are visible."
            )
        return torch.device(device)
    raise FairermValueError(f"device must be 'cpu', 'cuda', 'cuda:<index>' or 'auto'; got {device!r}.")
