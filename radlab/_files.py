"""Atomic file writes: a temporary file next to the target, renamed into place only when complete.

``tempfile.mkstemp`` creates its file readable by its owner only (mode 0600). Renamed
into place as it is, a dataset downloaded into a shared ``RADLAB_DATA_DIR`` or a model
saved for colleagues would be unreadable by everyone else, so :func:`publish` gives the
file the permissions ``open()`` would have given it (0666 minus the umask) first.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_output", "default_file_mode", "publish"]


def default_file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file: 0o666 minus the process umask."""
    mask = os.umask(0)  # reading the umask means setting it; put it back at once
    os.umask(mask)
    return 0o666 & ~mask


def publish(tmp: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Give ``tmp`` ordinary file permissions and rename it onto ``dest`` (atomic on one filesystem)."""
    os.chmod(tmp, default_file_mode())
    os.replace(tmp, dest)
    return Path(dest)


@contextmanager
def atomic_output(dest: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``dest``; publish it there if the block succeeds.

    The temporary file (hidden, ``.<name>.<random><suffix>``) already exists, empty.
    Whatever happens in the block, it never remains: on success it becomes ``dest``,
    on any exception it is deleted and ``dest`` is left as it was.

    Parameters
    ----------
    dest : path-like
        The file to write; its folder must exist.
    suffix : str, default ""
        Ending of the temporary name, for writers that choose the format by it
        (``".keras"``, ``".nii.gz"``).
    """
    dest = Path(dest)
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        publish(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
