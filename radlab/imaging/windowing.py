"""Window/level: mapping Hounsfield units (or raw values) to display grey levels."""

from __future__ import annotations

from typing import Mapping

import numpy as np

__all__ = ["WINDOW_PRESETS", "auto_window", "resolve_window", "window", "window_uint8"]

#: Standard CT display windows, as (center, width) in HU.
WINDOW_PRESETS: Mapping[str, tuple[float, float]] = {
    "lung": (-600.0, 1500.0),
    "mediastinum": (50.0, 350.0),
    "soft_tissue": (40.0, 400.0),
    "bone": (400.0, 1800.0),
    "brain": (40.0, 80.0),
    "liver": (60.0, 160.0),
}


def auto_window(image, low: float = 1.0, high: float = 99.0) -> tuple[float, float]:
    """A window from the image's own intensity percentiles (for radiographs, MR).

    Radiographs and MR have no calibrated unit like HU, so a fixed preset does
    not fit; this spans the ``low``..``high`` percentile of the pixel values.

    Parameters
    ----------
    image : array_like or Image
        Pixel values.
    low, high : float, default 1 and 99
        Percentiles (0-100) that map to black and white.

    Returns
    -------
    (center, width) : tuple of float
        In the image's units. Width is at least 1e-6.
    """
    values = np.asarray(image, dtype=np.float32)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(values, [low, high])
    width = max(float(hi - lo), 1e-6)
    return float(lo + width / 2), width


def resolve_window(image, center=None, width=None) -> tuple[float, float]:
    """Turn a preset name, ``"auto"``, a file default or numbers into (center, width).

    ``center`` may be a preset name from :data:`WINDOW_PRESETS`, ``"auto"``, or
    a number (then ``width`` is required). With neither given, the image's own
    stored window is used when it has one, else ``"auto"``.
    """
    if isinstance(center, str):
        name = center.lower().replace(" ", "_").replace("/", "_")
        if name == "auto":
            return auto_window(image)
        if name not in WINDOW_PRESETS:
            raise ValueError(
                f"unknown window preset {center!r}; choose one of "
                f"{', '.join(WINDOW_PRESETS)} or 'auto'"
            )
        return WINDOW_PRESETS[name]
    if center is None and width is None:
        stored = getattr(image, "window", None)
        return tuple(map(float, stored)) if stored else auto_window(image)
    if center is None or width is None:
        raise ValueError("give both center and width (or a preset name such as 'lung')")
    if width <= 0:
        raise ValueError(f"window width must be positive, got {width}")
    return float(center), float(width)


def window(hu, center=None, width=None) -> np.ndarray:
    """Apply a display window: values in ``[center - width/2, center + width/2]`` map to 0..1.

    Parameters
    ----------
    hu : array_like or Image
        Hounsfield units for CT, raw values otherwise.
    center : float or str, optional
        Window centre (level), or a preset name (``"lung"``, ``"mediastinum"``,
        ``"soft_tissue"``, ``"bone"``, ``"brain"``, ``"liver"``) or ``"auto"``.
    width : float, optional
        Window width, in the same units as ``hu``.

    Returns
    -------
    numpy.ndarray
        float32 array of the same shape, clipped to ``[0, 1]`` (0 black, 1 white).

    Examples
    --------
    >>> window([-1000, -600, 150], "lung").round(2).tolist()
    [0.23, 0.5, 1.0]
    """
    c, w = resolve_window(hu, center, width)
    values = np.asarray(hu, dtype=np.float32)
    out = (values - np.float32(c - w / 2)) / np.float32(w)
    return np.clip(out, 0.0, 1.0, out=out)


def window_uint8(hu, center=None, width=None) -> np.ndarray:
    """Apply a display window straight to 8-bit grey levels (0..255), fast.

    The same mapping as :func:`window` followed by ``round(255 * v)`` (to within
    one grey level, from float32 rounding), computed without the float
    intermediate where possible: interactive viewers call it on every slider move. 8- and 16-bit integer pixels (stored DICOM values)
    go through a lookup table, one gather per pixel; other dtypes through one
    fused multiply-add and clip.

    Parameters
    ----------
    hu : array_like or Image
        Hounsfield units for CT, raw values otherwise.
    center, width : float or str, optional
        As for :func:`window`: numbers, a preset name, ``"auto"``, or neither
        (the image's stored window, else ``"auto"``).

    Returns
    -------
    numpy.ndarray
        uint8 array of the same shape: 0 at or below ``center - width/2``, 255
        at or above ``center + width/2``. NaN pixels become 0 (black).

    Examples
    --------
    >>> window_uint8([-1000, -600, 150], "lung").tolist()
    [60, 128, 255]
    """
    c, w = resolve_window(hu, center, width)
    values = np.asarray(hu)
    scale = 255.0 / w
    # +0.5 then truncation == round half up, as window() * 255 rounded.
    offset = 0.5 - (c - w / 2) * scale
    if values.dtype.kind in "iub" and values.dtype.itemsize <= 2:
        if values.dtype.kind == "b":
            values = values.view(np.uint8)
        nbits = 8 * values.dtype.itemsize
        index_dtype = np.dtype(f"uint{nbits}")
        # The table is indexed by the unsigned view of the pixels, so negative
        # int16 values (two's complement) land in the upper half.
        levels = np.arange(2**nbits, dtype=index_dtype)
        if values.dtype.kind == "i":
            levels = levels.view(values.dtype)
        lut = levels.astype(np.float32) * np.float32(scale) + np.float32(offset)
        lut = np.clip(lut, 0.0, 255.0).astype(np.uint8)
        return lut[values.view(index_dtype)]
    if values.dtype.kind != "f":
        values = values.astype(np.float64)
    ftype = values.dtype.type
    out = values * ftype(scale)
    out += ftype(offset)
    # fmax/fmin (not clip) send NaN to 0 instead of an invalid cast.
    np.fmax(out, 0, out=out)
    np.fmin(out, 255, out=out)
    return out.astype(np.uint8)
