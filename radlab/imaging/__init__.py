"""Medical image I/O (DICOM, NIfTI), windowing and privacy: pure computation, no widgets."""

from .image import Image
from .windowing import WINDOW_PRESETS, auto_window, resolve_window, window, window_uint8
from .dicom import read_dicom, read_image, read_series
from .nifti import read_nifti, write_nifti
from .privacy import deidentify, deidentify_folder, metadata

__all__ = [
    "WINDOW_PRESETS",
    "Image",
    "auto_window",
    "deidentify",
    "deidentify_folder",
    "metadata",
    "read_dicom",
    "read_image",
    "read_nifti",
    "read_series",
    "resolve_window",
    "window",
    "window_uint8",
    "write_nifti",
]
