"""Exceptions raised by radlab.

Every error says which file is involved and what to do about it, so a learner
in a workshop can fix it without a stack-trace hunt.
"""

from __future__ import annotations

__all__ = [
    "RadlabError",
    "ImageReadError",
    "ImageNotFoundError",
    "SeriesWarning",
    "ModelConfigError",
    "ModelNotCompiledError",
    "ModelFileError",
    "ModelFileNotFoundError",
    "WeightsMismatchError",
    "DataFormatError",
    "DownloadError",
    "OfflineError",
    "ChecksumError",
    "DataDirError",
]


class RadlabError(Exception):
    """Base class for radlab's own errors."""


class ImageReadError(RadlabError, OSError):
    """A medical image file could not be read (corrupt, truncated, not DICOM...)."""


class ImageNotFoundError(ImageReadError, FileNotFoundError):
    """The image file or folder does not exist.

    Both ``except ImageReadError`` and ``except FileNotFoundError`` catch it.
    """


class SeriesWarning(UserWarning):
    """A DICOM series is irregular: mixed sizes, a missing slice, uneven spacing."""


class ModelConfigError(RadlabError, ValueError):
    """A model builder got arguments that cannot make a working model."""


class ModelNotCompiledError(RadlabError, RuntimeError):
    """``fit`` got a model that has not been compiled (no optimizer, no loss)."""


class ModelFileError(RadlabError, OSError):
    """A saved model or weights file cannot be used: corrupt, wrong format, unsafe."""


class ModelFileNotFoundError(ModelFileError, FileNotFoundError):
    """The model or weights file does not exist."""


class WeightsMismatchError(ModelFileError, ValueError):
    """A weights file was saved from a different architecture than the model it is loaded into."""


class DataFormatError(RadlabError, ValueError):
    """A data file (npz, labels file) has the wrong keys, shapes or dtypes."""


class DownloadError(RadlabError, OSError):
    """A dataset or weights file could not be downloaded."""


class OfflineError(DownloadError):
    """The network is unreachable; the message says which file to fetch by hand."""


class ChecksumError(DownloadError):
    """A downloaded file does not match the checksum in the registry."""


class DataDirError(RadlabError, OSError):
    """The data directory does not exist and cannot be created, or is not writable."""
