"""The memory budget: refuse up front an allocation that would not fit in RAM.

Every large dense allocation in fairerm (a Gram matrix, the SMO row cache, a dense projection,
the normal equations of a wide ridge problem) is checked here first, so that a refusal arrives
before the work, with the amount needed and the amount available.
"""

from __future__ import annotations

from .exceptions import MemoryBudgetError

__all__ = ["available_memory_bytes", "check_memory", "human_bytes"]


def available_memory_bytes() -> int | None:
    """``MemAvailable`` of ``/proc/meminfo`` in bytes, or None where it cannot be read."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def human_bytes(n_bytes: float) -> str:
    """``n_bytes`` with a binary unit, e.g. ``"4.9 MiB"`` (what the refusals print)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n_bytes) < 1024 or unit == "TiB":
            return f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.1f} TiB"  # pragma: no cover


def check_memory(n_bytes_needed: float, what: str, hint: str = "") -> None:
    """Refuse up front a dense allocation that would not fit in the available RAM.

    Raises
    ------
    MemoryBudgetError
        ``n_bytes_needed`` exceeds ``MemAvailable`` (nothing is checked where that is unknown).
    """
    available = available_memory_bytes()
    if available is not None and n_bytes_needed > available:
        raise MemoryBudgetError(
            f"{what} needs {human_bytes(n_bytes_needed)} but only {human_bytes(available)} of memory is available."
            + (f" {hint}" if hint else "")
        )
