"""Download one file safely: stream to a temporary file, hash, verify, rename.

This module knows nothing about *which* files exist; :mod:`radlab.data.registry`
holds the table and calls :func:`download_file`. The rules here are the ones every
radlab download follows:

* Nothing half-written: bytes go to a hidden ``.<name>.*.part`` file in the
  destination folder, which is renamed over the final name (``os.replace``, atomic
  on one file system) only after the checksum matched. Any failure, including
  Ctrl-C, removes the temporary file.
* Checksums are ``"md5:<hex>"`` or ``"sha256:<hex>"``, the algorithm the data's
  publisher uses. A verified file gets a small ``.<name>.verified`` note (checksum,
  size, modification time), so the next check of a multi-gigabyte file is a
  ``stat`` instead of a full re-hash.
* Errors say what to do: :class:`~radlab.errors.OfflineError` (network),
  :class:`~radlab.errors.ChecksumError` (wrong bytes),
  :class:`~radlab.errors.DataDirError` (cannot write),
  :class:`~radlab.errors.DownloadError` (the server said no).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

from .._files import publish
from .._version import __version__
from ..errors import ChecksumError, DataDirError, DownloadError, OfflineError

__all__ = [
    "CHUNK_BYTES",
    "TIMEOUT_S",
    "download_file",
    "ensure_writable_dir",
    "file_digest",
    "format_bytes",
    "parse_checksum",
    "verify_file",
]

CHUNK_BYTES = 1 << 20  # 1 MiB reads: few Python calls, little memory
TIMEOUT_S = 30.0  # seconds without data before a connection counts as dead
_ALGORITHMS = ("md5", "sha256")


def parse_checksum(checksum: str) -> tuple[str, str]:
    """Split ``"md5:<hex>"`` / ``"sha256:<hex>"`` into (algorithm, lower-case hex)."""
    algorithm, sep, digest = str(checksum).partition(":")
    algorithm = algorithm.strip().lower()
    digest = digest.strip().lower()
    lengths = {"md5": 32, "sha256": 64}
    if (
        not sep
        or algorithm not in lengths
        or len(digest) != lengths[algorithm]
        or any(c not in "0123456789abcdef" for c in digest)
    ):
        raise ValueError(
            f"Checksum {checksum!r} is not of the form 'md5:<32 hex digits>' or "
            "'sha256:<64 hex digits>'."
        )
    return algorithm, digest


def format_bytes(n: int | None) -> str:
    """Human-readable size: ``format_bytes(4_170_669) == '4.2 MB'`` (decimal units)."""
    if n is None:
        return "size unknown"
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def file_digest(path: str | os.PathLike, algorithm: str) -> str:
    """Hex digest of a file, read in 1 MiB chunks (memory stays flat)."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            h.update(chunk)
    return h.hexdigest()


def _note_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.verified")


def _stat_key(path: Path) -> dict:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _write_note(path: Path, checksum: str | None) -> None:
    """Remember that ``path`` was verified; a read-only data folder simply skips it."""
    try:
        _note_path(path).write_text(json.dumps({"checksum": checksum, **_stat_key(path)}))
    except OSError:
        pass


def verify_file(
    path: str | os.PathLike,
    checksum: str | None,
    size_bytes: int | None = None,
    *,
    use_note: bool = True,
) -> tuple[bool, str | None]:
    """Check a file against its checksum (or, if none is published, its size).

    Parameters
    ----------
    path : path-like
        File to check.
    checksum : str or None
        ``"md5:<hex>"`` or ``"sha256:<hex>"``. None checks ``size_bytes`` only.
    size_bytes : int, optional
        Expected size in bytes; checked only when there is no checksum.
    use_note : bool, default True
        Trust an earlier ``.<name>.verified`` note if the file's size and
        modification time have not changed since, instead of hashing again.

    Returns
    -------
    (bool, str or None)
        Whether the file matches, and what was found: the digest as
        ``"<algorithm>:<hex>"`` or ``"<n> bytes"``; None when nothing was computed.
    """
    path = Path(path)
    if not path.is_file():
        return False, None
    if use_note:
        try:
            note = json.loads(_note_path(path).read_text())
            if note == {"checksum": checksum, **_stat_key(path)}:
                return True, checksum
        except (OSError, ValueError):
            pass
    if checksum is None:
        size = path.stat().st_size
        ok = size_bytes is not None and size == size_bytes
        found = f"{size} bytes"
    else:
        algorithm, expected = parse_checksum(checksum)
        got = file_digest(path, algorithm)
        ok = got == expected
        found = f"{algorithm}:{got}"
    if ok:
        _write_note(path, checksum)
    return ok, found


def ensure_writable_dir(folder: str | os.PathLike) -> Path:
    """Create ``folder`` if needed and make sure radlab can write files in it.

    Raises
    ------
    DataDirError
        The folder cannot be created (a file of that name exists, no permission)
        or does not accept new files. The message names the folder and says how
        to choose another one.
    """
    folder = Path(folder).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not folder.is_dir():
            raise NotADirectoryError(f"{folder} is not a directory")
        # os.access is not enough (root passes it; network drives lie): really
        # create and remove a file.
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".radlab-write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise _data_dir_error(folder, exc) from exc
    return folder


def _data_dir_error(folder: Path, exc: BaseException) -> DataDirError:
    return DataDirError(
        f"radlab cannot write to the data directory {folder} ({exc}). "
        "Choose a folder you can write to by setting the RADLAB_DATA_DIR environment "
        "variable before starting Python or Jupyter, e.g. "
        "`export RADLAB_DATA_DIR=~/radlab_data` (Windows: `set RADLAB_DATA_DIR=...`), "
        "or pass data_dir=... to the function."
    )


class _Progress:
    """One line of download progress on stderr, redrawn at most every 0.5 s.

    A notebook gets a handful of updates per download instead of thousands of
    lines; ``\\r`` redraws the line in Jupyter and in terminals.
    """

    def __init__(self, label: str, total: int | None, stream: IO[str] | None = None,
                 min_interval_s: float = 0.5):
        self.label = label
        self.total = total
        self.stream = stream or sys.stderr
        self.min_interval_s = min_interval_s
        self.start = time.monotonic()
        self.last = 0.0
        self.done = 0

    def _line(self) -> str:
        elapsed = max(time.monotonic() - self.start, 1e-6)
        rate = format_bytes(int(self.done / elapsed)) + "/s"
        if self.total:
            pct = min(100.0, 100.0 * self.done / self.total)
            return (f"\r  {self.label}: {format_bytes(self.done)} of "
                    f"{format_bytes(self.total)} ({pct:3.0f}%), {rate}")
        return f"\r  {self.label}: {format_bytes(self.done)}, {rate}"

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.last >= self.min_interval_s:
            self.last = now
            self.stream.write(self._line())
            self.stream.flush()

    def close(self) -> None:
        self.stream.write(self._line() + "\n")
        self.stream.flush()


def _open_url(url: str, timeout: float):
    """Open ``url`` (http, https or file). Tests replace ``urllib.request.urlopen``."""
    request = urllib.request.Request(url, headers={"User-Agent": f"radlab/{__version__}"})
    return urllib.request.urlopen(request, timeout=timeout)


_NETWORK_ERRORS = (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError,
                   http.client.HTTPException, socket.gaierror)


def download_file(
    url: str,
    dest: str | os.PathLike,
    *,
    checksum: str | None,
    size_bytes: int | None = None,
    progress: bool = True,
    manual_hint: str = "",
    timeout_s: float = TIMEOUT_S,
) -> Path:
    """Download ``url`` to ``dest``, verified, with nothing half-written left behind.

    Parameters
    ----------
    url : str
        ``https://``, ``http://`` or ``file://`` URL.
    dest : path-like
        Final path. Its folder is created if needed.
    checksum : str or None
        ``"md5:<hex>"`` or ``"sha256:<hex>"``, computed while the bytes stream in.
        None only where the publisher gives none: then ``size_bytes`` is checked.
    size_bytes : int, optional
        Expected size in bytes (for the progress line, and the check above).
    progress : bool, default True
        Show one self-updating progress line on stderr.
    manual_hint : str
        Extra advice appended to network and checksum errors (e.g. the
        ``radlab fetch`` command for this file).
    timeout_s : float, default 30
        Seconds without any data before the connection counts as dead.

    Returns
    -------
    pathlib.Path
        ``dest``, complete and verified.

    Raises
    ------
    OfflineError
        The network or server is unreachable, or the connection broke off. The
        message names the URL and the exact path to save the file to by hand.
    ChecksumError
        The bytes received do not match ``checksum`` (or ``size_bytes``); the
        download was deleted.
    DownloadError
        The server answered with an HTTP error (404, 403, 5xx...).
    DataDirError
        The destination folder cannot be created or written.
    """
    dest = Path(dest).expanduser().absolute()
    folder = ensure_writable_dir(dest.parent)
    expected = parse_checksum(checksum) if checksum is not None else None
    if expected is None and size_bytes is None:
        raise ValueError(f"Refusing to download {url} with neither a checksum nor a size to "
                         "verify it against.")
    hint = f" {manual_hint}" if manual_hint else ""
    manual = (
        f"To get it by hand, download\n    {url}\nand save it, named exactly "
        f"{dest.name!r}, as\n    {dest}\n"
        + (f"(its {expected[0]} checksum should be {expected[1]})." if expected else "")
        + hint
    )

    try:
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{dest.name}.", suffix=".part")
    except OSError as exc:
        raise _data_dir_error(folder, exc) from exc
    tmp = Path(tmp_name)
    hasher = hashlib.new(expected[0]) if expected else None
    received = 0
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                response = _open_url(url, timeout_s)
            except urllib.error.HTTPError as exc:
                raise DownloadError(
                    f"The server refused {url}: HTTP {exc.code} {exc.reason}. "
                    + ("It may be busy: try again in a few minutes. "
                       if exc.code in (429, 500, 502, 503, 504) else
                       "The file may have moved; check radlab's data registry for an "
                       "update. ")
                    + manual
                ) from exc
            except _NETWORK_ERRORS + (OSError,) as exc:
                reason = getattr(exc, "reason", exc)
                raise OfflineError(
                    f"Could not reach {url} ({reason}): the network seems to be "
                    f"unavailable. {manual}"
                ) from exc
            with response:
                length = response.headers.get("Content-Length") if response.headers else None
                total = int(length) if length and length.isdigit() else size_bytes
                bar = _Progress(dest.name, total) if progress else None
                if bar:
                    print(f"Downloading {url}\n  to {dest}", file=bar.stream, flush=True)
                while True:
                    try:
                        chunk = response.read(CHUNK_BYTES)
                    except _NETWORK_ERRORS + (OSError,) as exc:
                        raise OfflineError(
                            f"The connection to {url} broke off after "
                            f"{format_bytes(received)} ({exc}). Run the same command "
                            f"again to retry. {manual}"
                        ) from exc
                    if not chunk:
                        break
                    try:
                        out.write(chunk)
                    except OSError as exc:  # disk full, quota...
                        raise DataDirError(
                            f"Writing {dest} failed after {format_bytes(received)} "
                            f"({exc}). Free some disk space or set RADLAB_DATA_DIR to a "
                            "folder on a larger disk."
                        ) from exc
                    if hasher:
                        hasher.update(chunk)
                    received += len(chunk)
                    if bar:
                        bar.update(len(chunk))
                if bar:
                    bar.close()
            if length and length.isdigit() and received < int(length):
                raise OfflineError(
                    f"The connection to {url} closed after {format_bytes(received)} of "
                    f"{format_bytes(int(length))}. Run the same command again to retry. "
                    f"{manual}"
                )
        if expected:
            got = hasher.hexdigest()
            if got != expected[1]:
                raise ChecksumError(
                    f"The download of {url} is corrupt or not the expected file: "
                    f"expected {expected[0]}:{expected[1]}, got {expected[0]}:{got} "
                    f"({format_bytes(received)}). The download was deleted; nothing was "
                    f"saved as {dest}. Retry later (a proxy or captive portal can "
                    "return a web page instead of the file); if it keeps failing, the "
                    f"file on the server has changed.{hint}"
                )
        elif received != size_bytes:
            raise ChecksumError(
                f"The download of {url} has {received} bytes, expected {size_bytes}. "
                f"The download was deleted; nothing was saved as {dest}. Retry later; "
                f"if it keeps failing, the file on the server has changed.{hint}"
            )
        publish(tmp, dest)  # readable as any new file, e.g. in a shared data folder
    except BaseException:
        # Covers our own errors, anything unexpected, and KeyboardInterrupt.
        tmp.unlink(missing_ok=True)
        raise
    _write_note(dest, checksum)
    return dest
