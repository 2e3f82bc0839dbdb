"""``type=`` functions for the command line: a bad value is a parser error (exit status 2) naming the option.

argparse prints ``argument --C: must be a finite number > 0; got '-1'`` for an
:class:`argparse.ArgumentTypeError` raised here; nothing is computed before the arguments are valid.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path
from typing import Callable

__all__ = ["SEED_MAX", "real_number", "integer", "seed", "n_train", "figure_path", "output_folder", "choice"]


def _number(value) -> str:
    """An integer bound in full (``4294967295``, not ``4.29497e+09``), a real one with ``:g``."""
    return str(value) if isinstance(value, int) else f"{value:g}"


def _interval(low, high, low_inclusive, high_inclusive) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>=' if low_inclusive else '>'} {_number(low)}")
    if high is not None:
        parts.append(f"{'<=' if high_inclusive else '<'} {_number(high)}")
    return " and ".join(parts)


def real_number(low: float | None = None, high: float | None = None, *, low_inclusive: bool = True,
                high_inclusive: bool = True) -> Callable[[str], float]:
    """A finite float in the interval (``nan`` and ``inf`` are refused)."""
    where = _interval(low, high, low_inclusive, high_inclusive)
    expected = "a finite number" + (f" {where}" if where else "")

    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {expected}; got {text!r}") from None
        if (not math.isfinite(value) or (low is not None and (value < low or (value == low and not low_inclusive)))
                or (high is not None and (value > high or (value == high and not high_inclusive)))):
            raise argparse.ArgumentTypeError(f"must be {expected}; got {text!r}")
        return value

    convert.__name__ = "real number"
    return convert


def integer(low: int | None = None, high: int | None = None, *, nonzero: bool = False) -> Callable[[str], int]:
    """An integer in ``[low, high]`` (and not 0 when ``nonzero``)."""
    where = _interval(low, high, True, True)
    expected = "an integer" + (f" {where}" if where else "") + (", not 0" if nonzero else "")

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {expected}; got {text!r}") from None
        if (low is not None and value < low) or (high is not None and value > high) or (nonzero and value == 0):
            raise argparse.ArgumentTypeError(f"must be {expected}; got {text!r}")
        return value

    convert.__name__ = "integer"
    return convert


#: The largest seed: numpy's legacy seeding (``RandomState``, used by scikit-learn's splits) takes [0, 2**32 - 1].
SEED_MAX = 2**32 - 1


def seed() -> Callable[[str], int]:
    """``--seed``: an integer in ``[0, 2**32 - 1]``, the range numpy's ``RandomState`` accepts."""
    convert = integer(0, SEED_MAX)
    convert.__name__ = "seed"
    return convert


def n_train(text: str) -> int | str:
    """``"all"`` or an integer >= 10."""
    if text == "all":
        return text
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < 10:
        raise argparse.ArgumentTypeError(f"must be an integer >= 10 or 'all'; got {text!r}")
    return value


def choice(options: tuple[str, ...]) -> Callable[[str], str]:
    """One of ``options`` (for ``nargs="*"`` positionals, where argparse's ``choices=`` rejects an empty list)."""
    def convert(text: str) -> str:
        if text not in options:
            raise argparse.ArgumentTypeError(f"must be one of {', '.join(options)}; got {text!r}")
        return text

    convert.__name__ = "choice"
    return convert


def _writable_folder(folder: Path) -> str | None:
    """None if a file can be created in ``folder``, else why not."""
    if not folder.is_dir():
        return f"the folder {folder} does not exist" if not folder.exists() else f"{folder} is not a folder"
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return f"the folder {folder} is not writable ({type(exc).__name__}: {exc})"
    return None


def figure_path(text: str) -> str:
    """A file name with an extension matplotlib can write, in an existing writable folder."""
    from matplotlib.backend_bases import FigureCanvasBase

    path = Path(text).expanduser()
    formats = sorted(FigureCanvasBase.get_supported_filetypes())
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in formats:
        raise argparse.ArgumentTypeError(f"the file name must end in one of .{', .'.join(formats)}; got {text!r}")
    problem = _writable_folder(path.parent if str(path.parent) else Path("."))
    if problem is not None:
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: {problem}")
    return text


def output_folder(text: str) -> Path:
    """A folder for result files: created if needed, writable, and not inside the installed package."""
    path = Path(text).expanduser()
    package = Path(__file__).resolve().parent
    resolved = path.resolve()
    if resolved == package or package in resolved.parents:
        raise argparse.ArgumentTypeError(f"{text!r} is inside the installed fairerm package ({package}); "
                                         "choose a folder of your own (the default is the current folder)")
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot create the folder {text!r} ({type(exc).__name__}: {exc})") from None
    problem = _writable_folder(path)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return path
