"""Reading DICOM files and series into :class:`~radlab.imaging.image.Image` (pydicom 3).

What this module does for the learner, so notebooks don't have to:

* stored values become physical ones: Rescale Slope/Intercept or a Modality LUT
  is applied (pydicom's :func:`~pydicom.pixels.apply_modality_lut`), so CT is
  in Hounsfield units;
* MONOCHROME1 images (many radiographs, where high stored values are *dark*)
  are inverted, so in every radlab image a higher value is whiter;
* geometry comes from the header: spacing in mm (z, y, x), origin and
  orientation in patient coordinates (LPS), the stored display window;
* a series is sorted by slice *position* along the slice normal, never by
  file name, and irregular series (a missing slice, a scout image of another
  size) are reported with :class:`~radlab.errors.SeriesWarning`;
* only non-identifying header values are copied into ``Image.meta``.

Every failure is an :class:`~radlab.errors.ImageReadError` (or
:class:`ImageNotFoundError` for a missing path) whose message names the file
and the fix.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ..errors import ImageNotFoundError, ImageReadError, SeriesWarning
from .image import Image

__all__ = ["read_dicom", "read_image", "read_series"]

#: Suffixes read by Pillow in :func:`read_image` (ordinary picture files).
PICTURE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif"})
NIFTI_SUFFIXES = (".nii", ".nii.gz")

# Files that are never images and are skipped silently in a series folder.
_QUIET_SKIP = frozenset({"dicomdir", "thumbs.db", "desktop.ini", "readme", "readme.txt"})

# A gap between slices larger than this multiple of the median spacing is
# reported as a missing slice.
GAP_FACTOR = 1.5


# ---------------------------------------------------------------------------
# small helpers shared with nifti.py and privacy.py
# ---------------------------------------------------------------------------
def require_path(path: str | os.PathLike, *, kind: str = "file") -> Path:
    """Return ``path`` as a Path, or raise :class:`ImageNotFoundError` naming it."""
    p = Path(path).expanduser()
    if not p.exists():
        parent = p.parent if str(p.parent) else Path(".")
        hint = (
            f"the folder {parent} does not exist either"
            if not parent.exists()
            else f"check the name; {parent} exists"
        )
        raise ImageNotFoundError(
            f"{p}: no such {kind} ({hint}). Fix: pass the path of an existing {kind}; "
            f"relative paths are resolved from the working directory {Path.cwd()}."
        )
    return p


def _first(value: Any) -> Any:
    """First value of a multi-valued element (WindowCenter can hold several)."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return value[0] if len(value) else None
    return value


def _floats(value: Any, n: int) -> tuple[float, ...] | None:
    """``n`` floats from a DS/FD element value, or None when absent or malformed."""
    if value is None:
        return None
    try:
        items = [value] if isinstance(value, (int, float)) else value
        values = tuple(float(v) for v in items)
    except (TypeError, ValueError):
        return None
    return values if len(values) == n and all(np.isfinite(values)) else None


def _read_dataset(path: Path, *, stop_before_pixels: bool = False):
    """``pydicom.dcmread`` with errors turned into ImageReadError naming the file."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    if path.is_dir():
        raise ImageReadError(
            f"{path} is a folder. Fix: read a whole series with rl.read_series({str(path)!r}) "
            "(or rl.read_image, which dispatches), or pass one file to read_dicom."
        )
    try:
        return pydicom.dcmread(path, stop_before_pixels=stop_before_pixels)
    except InvalidDicomError:
        pass  # maybe a bare data set without the 128-byte preamble: try below
    except (EOFError, OSError, ValueError, KeyError, TypeError, OverflowError) as exc:
        raise _damaged(path, exc) from exc
    # Old files sometimes lack the preamble and file meta header. Accept them
    # only when they parse into something that looks like an image header.
    try:
        ds = pydicom.dcmread(path, force=True, stop_before_pixels=stop_before_pixels)
        looks_dicom = "SOPClassUID" in ds or ("Rows" in ds and "Columns" in ds)
    except Exception:
        looks_dicom = False
    if not looks_dicom:
        raise ImageReadError(
            f"{path}: not a DICOM file (no 'DICM' marker and no readable DICOM header). "
            "Fix: check that this is the file you meant; NIfTI files must end in .nii or "
            ".nii.gz, and PNG/JPEG files in .png/.jpg (rl.read_image dispatches on the suffix)."
        )
    _ensure_transfer_syntax(ds)
    return ds


def _ensure_transfer_syntax(ds) -> None:
    """Give a data set read without file meta the transfer syntax it was encoded with."""
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

    meta = getattr(ds, "file_meta", None)
    if meta is not None and "TransferSyntaxUID" in meta:
        return
    implicit, little = getattr(ds, "original_encoding", (True, True))
    uid = ImplicitVRLittleEndian if implicit else (
        ExplicitVRLittleEndian if little is not False else ExplicitVRBigEndian
    )
    if meta is None:
        ds.file_meta = meta = FileMetaDataset()
    meta.TransferSyntaxUID = uid


def _damaged(path: Path, exc: BaseException) -> ImageReadError:
    size = path.stat().st_size if path.exists() else 0
    return ImageReadError(
        f"{path}: damaged or truncated DICOM file ({size} bytes; pydicom says: {exc}). "
        "Fix: copy or export the file again from the source (PACS, USB stick, archive); "
        "an interrupted download or copy leaves the file short."
    )


def _transfer_syntax(ds):
    from pydicom.uid import UID

    meta = getattr(ds, "file_meta", None)
    return UID(meta.TransferSyntaxUID) if meta is not None and "TransferSyntaxUID" in meta else None


def _decoder_hint(tsyntax) -> str:
    """pip command that installs a decoder for a compressed transfer syntax."""
    from pydicom.uid import (
        JPEG2000TransferSyntaxes, JPEGLSTransferSyntaxes, JPEGTransferSyntaxes,
        RLETransferSyntaxes,
    )

    if tsyntax in JPEG2000TransferSyntaxes:
        return "pip install pylibjpeg pylibjpeg-openjpeg   (or: pip install python-gdcm)"
    if tsyntax in JPEGLSTransferSyntaxes or tsyntax in JPEGTransferSyntaxes:
        return "pip install pylibjpeg pylibjpeg-libjpeg   (or: pip install python-gdcm)"
    if tsyntax in RLETransferSyntaxes:
        return "pip install pylibjpeg pylibjpeg-rle"
    return "pip install python-gdcm"


def _decode(ds, path: Path) -> np.ndarray:
    """The stored pixel values (frames first when multi-frame), via pydicom."""
    if not any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        sop = getattr(ds.get("SOPClassUID"), "name", None) or "unknown"
        raise ImageReadError(
            f"{path}: DICOM file without pixel data (SOP class: {sop}; "
            f"{path.stat().st_size} bytes). It is not an image (e.g. a structured report, "
            "RT plan, DICOMDIR or presentation state), or it was cut short before the "
            "pixels. Fix: pick an image file of the series (rl.read_series reads a "
            "folder and skips such files), or copy the file again if it should be an image."
        )
    tsyntax = _transfer_syntax(ds)
    if tsyntax is not None and tsyntax.is_transfer_syntax and tsyntax.is_compressed:
        from pydicom.pixels import get_decoder

        try:
            decoder = get_decoder(tsyntax)
        except NotImplementedError:
            raise ImageReadError(
                f"{path}: pixel data in transfer syntax '{tsyntax.name}' ({tsyntax}), "
                "which pydicom cannot decode. Fix: convert the file to an uncompressed "
                "transfer syntax (e.g. with dcmtk: dcmdjpeg/dcmconv +te in.dcm out.dcm)."
            ) from None
        if not decoder.is_available:
            missing = "; ".join(decoder.missing_dependencies)
            raise ImageReadError(
                f"{path}: pixel data compressed as '{tsyntax.name}' ({tsyntax}) and no "
                f"installed package can decode it (pydicom plugins: {missing}). "
                f"Fix: {_decoder_hint(tsyntax)}, then restart the kernel."
            )
    try:
        return ds.pixel_array
    except ValueError as exc:
        text = str(exc).lower()
        if "less than expected" in text or "length" in text or "bytes" in text:
            raise _damaged(path, exc) from exc
        raise ImageReadError(
            f"{path}: pixel data could not be decoded ({exc}). Fix: check the file with "
            "`python -m pydicom show FILE`, or export it again uncompressed."
        ) from exc
    except Exception as exc:
        known = tsyntax is not None and tsyntax.is_transfer_syntax and tsyntax.is_compressed
        fix = _decoder_hint(tsyntax) if known else "export the file again uncompressed"
        raise ImageReadError(
            f"{path}: pixel data could not be decoded ({type(exc).__name__}: {exc}). Fix: {fix}."
        ) from exc


# ---------------------------------------------------------------------------
# per-frame attributes (enhanced multi-frame objects keep them in functional groups)
# ---------------------------------------------------------------------------
def _group_value(ds, sequence: str, keyword: str, frame: int = 0) -> Any:
    """``keyword`` from a functional group (per-frame first, then shared), else top level."""
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame and frame < len(per_frame):
        seq = per_frame[frame].get(sequence)
        if seq and keyword in seq[0]:
            return seq[0][keyword].value
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        seq = shared[0].get(sequence)
        if seq and keyword in seq[0]:
            return seq[0][keyword].value
    return ds[keyword].value if keyword in ds else None


def _orientation(iop: Any) -> np.ndarray | None:
    """3×3 rows (row direction, column direction, normal) from ImageOrientationPatient."""
    values = _floats(iop, 6)
    if values is None:
        return None
    row, col = np.array(values[:3]), np.array(values[3:])
    if np.linalg.norm(row) < 1e-6 or np.linalg.norm(col) < 1e-6:
        return None
    row, col = row / np.linalg.norm(row), col / np.linalg.norm(col)
    normal = np.cross(row, col)
    return np.vstack([row, col, normal / (np.linalg.norm(normal) or 1.0)])


def _pixel_spacing(ds, frame: int = 0) -> tuple[tuple[float, float] | None, str, str | None]:
    """(row spacing, column spacing) in mm, where it came from, and a note."""
    spacing = _floats(_group_value(ds, "PixelMeasuresSequence", "PixelSpacing", frame), 2)
    if spacing and min(spacing) > 0:
        return spacing, "PixelSpacing", None
    imager = _floats(ds.get("ImagerPixelSpacing"), 2)
    if imager and min(imager) > 0:
        return imager, "ImagerPixelSpacing", (
            "ImagerPixelSpacing is measured at the detector: the X-ray beam diverges, so "
            "anatomy is magnified by roughly 5-20% and true sizes are a little smaller"
        )
    return None, "unknown", (
        "no usable PixelSpacing or ImagerPixelSpacing in the header: spacing set to "
        "1.0 (pixels), so distances and areas are in pixels, not mm"
    )


# ---------------------------------------------------------------------------
# values: rescale / modality LUT, MONOCHROME1 inversion, window
# ---------------------------------------------------------------------------
@dataclass
class _Pixels:
    array: np.ndarray            # (frames, y, x) float32, or (y, x, 3) RGB
    units: str
    window: tuple[float, float] | None
    inverted: bool
    rescaled: bool
    rgb: bool = False


def _stored_range(ds) -> np.ndarray:
    bits = int(ds.get("BitsStored", ds.get("BitsAllocated", 16)) or 16)
    if int(ds.get("PixelRepresentation", 0) or 0) == 1:
        return np.array([-(2 ** (bits - 1)), 2 ** (bits - 1) - 1], dtype=np.int64)
    return np.array([0, 2**bits - 1], dtype=np.int64)


def _units(ds, rescaled: bool) -> str:
    lut = ds.get("ModalityLUTSequence")
    declared = None
    if lut:
        declared = str(lut[0].get("ModalityLUTType", "") or "")
    elif rescaled:
        declared = str(ds.get("RescaleType", "") or "")
    declared = (declared or "").strip().upper()
    if declared == "HU" or (rescaled and ds.get("Modality") == "CT" and declared in ("", "HU")):
        return "HU"
    if declared and declared != "US":  # "US" means unspecified in DICOM
        return declared
    return "raw"


def _window(ds, frame: int = 0) -> tuple[float, float] | None:
    center = _first(_group_value(ds, "FrameVOILUTSequence", "WindowCenter", frame))
    width = _first(_group_value(ds, "FrameVOILUTSequence", "WindowWidth", frame))
    try:
        center, width = float(center), float(width)
    except (TypeError, ValueError):
        return None
    return (center, width) if width > 0 and np.isfinite(center) else None


def _values(ds, stored: np.ndarray, path: Path) -> _Pixels:
    """Stored values -> physical values, MONOCHROME1 inverted; frames first."""
    from pydicom.pixels import apply_color_lut, apply_modality_lut

    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    n_frames = int(ds.get("NumberOfFrames", 1) or 1)
    samples = int(ds.get("SamplesPerPixel", 1) or 1)

    if photometric == "PALETTE COLOR":
        stored = apply_color_lut(stored, ds)
        samples = 3
    if samples > 1:
        if n_frames > 1:
            raise ImageReadError(
                f"{path}: a colour multi-frame object ({n_frames} frames, {photometric}), "
                "e.g. an ultrasound cine loop; radlab images are greyscale volumes or one "
                "RGB picture. Fix: read it with pydicom and pick a frame: "
                "pydicom.dcmread(path).pixel_array[i]."
            )
        rgb = stored[..., :3]
        if rgb.dtype != np.uint8:  # 16-bit colour or palette: scale to 0..255
            bits = 16 if photometric == "PALETTE COLOR" else int(ds.get("BitsStored", 16) or 16)
            top = float(max(2**bits - 1, 1))
            rgb = np.rint(rgb.astype(np.float32) * (255.0 / top)).clip(0, 255).astype(np.uint8)
        return _Pixels(rgb, "raw", None, False, False, rgb=True)

    frames = stored.reshape((n_frames, *stored.shape[-2:])) if n_frames > 1 else stored[None]
    enhanced = "PerFrameFunctionalGroupsSequence" in ds or "SharedFunctionalGroupsSequence" in ds
    rescaled = False
    if enhanced and "ModalityLUTSequence" not in ds:
        # Enhanced objects can rescale each frame differently.
        out = np.empty(frames.shape, dtype=np.float32)
        for i, frame in enumerate(frames):
            slope = _group_value(ds, "PixelValueTransformationSequence", "RescaleSlope", i)
            intercept = _group_value(ds, "PixelValueTransformationSequence", "RescaleIntercept", i)
            if slope is not None and intercept is not None:
                out[i] = frame * np.float32(slope) + np.float32(intercept)
                rescaled = True
            else:
                out[i] = frame
        rescale_type = _group_value(ds, "PixelValueTransformationSequence", "RescaleType")
        units = "HU" if rescaled and (ds.get("Modality") == "CT" or rescale_type == "HU") else "raw"
        bounds = _stored_range(ds).astype(np.float64)
        slope = _group_value(ds, "PixelValueTransformationSequence", "RescaleSlope")
        intercept = _group_value(ds, "PixelValueTransformationSequence", "RescaleIntercept")
        if slope is not None and intercept is not None:
            bounds = bounds * float(slope) + float(intercept)
    else:
        rescaled = "ModalityLUTSequence" in ds or (
            "RescaleSlope" in ds and "RescaleIntercept" in ds
        )
        out = np.asarray(apply_modality_lut(frames, ds), dtype=np.float32)
        units = _units(ds, rescaled)
        bounds = np.asarray(apply_modality_lut(_stored_range(ds), ds), dtype=np.float64)

    window = _window(ds, n_frames // 2)
    inverted = photometric == "MONOCHROME1"
    if inverted:
        # Invert within the stored range, so values stay in it and the stored
        # window maps to the same anatomy: v' = (lo + hi) - v.
        total = np.float32(bounds.min() + bounds.max())
        out = np.subtract(total, out, out=out)
        if window is not None:
            window = (float(total) - window[0], window[1])
    return _Pixels(out, units, window, inverted, rescaled)


# ---------------------------------------------------------------------------
# non-identifying metadata
# ---------------------------------------------------------------------------
# keyword -> meta key. Only acquisition and image-format facts: nothing here
# identifies a patient, a person or an institution (see privacy.py).
_SAFE_META = {
    "Modality": "modality",
    "SOPClassUID": "sop_class",
    "PhotometricInterpretation": "photometric_interpretation",
    "BitsAllocated": "bits_allocated",
    "BitsStored": "bits_stored",
    "PixelRepresentation": "pixel_representation",
    "Rows": "rows",
    "Columns": "columns",
    "NumberOfFrames": "number_of_frames",
    "SamplesPerPixel": "samples_per_pixel",
    "ImageType": "image_type",
    "StudyDescription": "study_description",
    "SeriesDescription": "series_description",
    "SeriesNumber": "series_number",
    "BodyPartExamined": "body_part",
    "ViewPosition": "view_position",
    "PatientPosition": "patient_position",
    "Manufacturer": "manufacturer",
    "ManufacturerModelName": "manufacturer_model",
    "SliceThickness": "slice_thickness",
    "SpacingBetweenSlices": "spacing_between_slices",
    "KVP": "kvp",
    "XRayTubeCurrent": "tube_current_ma",
    "ConvolutionKernel": "convolution_kernel",
    "MagneticFieldStrength": "field_strength_t",
    "RepetitionTime": "repetition_time_ms",
    "EchoTime": "echo_time_ms",
    "InversionTime": "inversion_time_ms",
    "FlipAngle": "flip_angle_deg",
    "ScanningSequence": "scanning_sequence",
    "RescaleSlope": "rescale_slope",
    "RescaleIntercept": "rescale_intercept",
    "RescaleType": "rescale_type",
    "LossyImageCompression": "lossy_compression",
}


def _plain(value: Any) -> Any:
    """A header value as plain Python (str, int, float, list), for meta."""
    from pydicom.uid import UID

    if isinstance(value, UID):
        return value.name
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return [_plain(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def _safe_meta(ds) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for keyword, key in _SAFE_META.items():
        value = ds[keyword].value if keyword in ds else None
        if value is None or value == "":
            continue
        meta[key] = _plain(value)
    tsyntax = _transfer_syntax(ds)
    if tsyntax is not None:
        meta["transfer_syntax"] = tsyntax.name
    return meta


# ---------------------------------------------------------------------------
# geometry of a stack of slices (series or multi-frame)
# ---------------------------------------------------------------------------
def _stack_geometry(
    positions: np.ndarray, normal: np.ndarray, source: str, *, what: str = "slice"
) -> tuple[np.ndarray, float | None, list[str]]:
    """Sort positions along the normal; return (order, z spacing, warning texts).

    The spacing is the median distance between consecutive distinct
    positions. A step larger than ``GAP_FACTOR`` × median is reported as a
    probable missing slice, with the indices and positions on both sides.
    """
    along = positions @ normal
    order = np.argsort(along, kind="stable")
    z = along[order]
    notes: list[str] = []
    steps = np.diff(z)
    if steps.size == 0:
        return order, None, notes
    distinct = steps[steps > 1e-3]
    if distinct.size < steps.size:
        notes.append(
            f"{source}: {steps.size - distinct.size + 1} {what}s share a position along the "
            "slice normal (several echoes, time points or duplicated files?); they are "
            "kept in order, so the volume's z axis is not purely spatial."
        )
    if distinct.size == 0:
        return order, None, notes
    spacing = float(np.median(distinct))
    for i in np.nonzero(steps > GAP_FACTOR * spacing)[0]:
        notes.append(
            f"{source}: gap of {steps[i]:.2f} mm between {what} {i} (at {z[i]:.2f} mm) and "
            f"{what} {i + 1} (at {z[i + 1]:.2f} mm) along the slice normal, where the median "
            f"spacing is {spacing:.2f} mm - about {round(steps[i] / spacing) - 1} {what}(s) "
            "missing. The volume is kept; distances across the gap are wrong. Fix: "
            "export the complete series."
        )
    return order, spacing, notes


def _thickness_spacing(ds) -> tuple[float | None, str]:
    for keyword in ("SpacingBetweenSlices", "SliceThickness"):
        value = _floats(_group_value(ds, "PixelMeasuresSequence", keyword), 1)
        if value and value[0] > 0:
            return value[0], keyword
    return None, "unknown"


# ---------------------------------------------------------------------------
# public readers
# ---------------------------------------------------------------------------
def read_dicom(path: str | os.PathLike) -> Image:
    """Read one DICOM file into an :class:`~radlab.imaging.image.Image`.

    Stored values are turned into physical ones (Rescale Slope/Intercept or a
    Modality LUT, through pydicom), MONOCHROME1 images are inverted so that a
    higher value is always whiter, and a multi-frame file becomes a volume.

    Parameters
    ----------
    path : str or os.PathLike
        A DICOM file (``.dcm`` or no suffix).

    Returns
    -------
    Image
        float32 array ``(y, x)`` for a single frame or ``(z, y, x)`` for a
        multi-frame file (colour images: ``(y, x, 3)`` uint8). ``units`` is
        ``"HU"`` for CT with a rescale, the Modality LUT's unit where one is
        declared, else ``"raw"``. ``spacing`` in mm from Pixel Spacing (or
        Imager Pixel Spacing for projection radiographs: at the detector, see
        ``meta["spacing_note"]``); 1.0 with ``meta["spacing_known"] = False``
        when the header has none. ``window`` is the stored (center, width)
        (first value if there are several), mirrored like the pixels for
        MONOCHROME1. ``meta`` holds only non-identifying header facts.

    Raises
    ------
    ImageNotFoundError
        The file does not exist.
    ImageReadError
        Not DICOM, truncated, no pixel data, or compressed with a codec that
        is not installed (the message gives the ``pip install`` line).

    Examples
    --------
    >>> ct = rl.read_dicom("CT_small.dcm")          # doctest: +SKIP
    >>> ct.units, ct.spacing                         # doctest: +SKIP
    ('HU', (0.661468, 0.661468))
    """
    path = require_path(path)
    ds = _read_dataset(path)
    return _image_from_dataset(ds, path)


def _image_from_dataset(ds, path: Path) -> Image:
    pixels = _values(ds, _decode(ds, path), path)
    meta = _safe_meta(ds)
    meta["inverted"] = pixels.inverted
    if pixels.inverted:
        meta["inversion"] = (
            "MONOCHROME1 (high stored value = dark) inverted to MONOCHROME2: "
            "value = (lo + hi) - stored, with lo..hi the stored range; the window centre too"
        )
    meta["rescale_applied"] = pixels.rescaled
    in_plane, source, note = _pixel_spacing(ds)
    meta["spacing_source"] = source
    meta["spacing_known"] = in_plane is not None
    if note:
        meta["spacing_note"] = note
    in_plane = in_plane or (1.0, 1.0)

    orientation = _orientation(
        _group_value(ds, "PlaneOrientationSequence", "ImageOrientationPatient")
    )
    origin = _floats(_group_value(ds, "PlanePositionSequence", "ImagePositionPatient"), 3)
    array = pixels.array
    if pixels.rgb:
        spacing: tuple[float, ...] = in_plane
    elif array.shape[0] == 1:
        array = array[0]
        spacing = in_plane
    else:
        array, spacing_z, origin, orientation = _multiframe_geometry(
            ds, array, path, meta, origin, orientation
        )
        spacing = (spacing_z, *in_plane)

    return Image(
        array=array,
        spacing=spacing,
        origin=origin or (0.0, 0.0, 0.0),
        orientation=orientation if orientation is not None else np.eye(3),
        units=pixels.units,
        modality=str(ds.get("Modality", "") or ""),
        window=pixels.window,
        meta=meta,
        source=str(path),
    )


def _multiframe_geometry(ds, array, path, meta, origin, orientation):
    """Order frames by position when the header has per-frame positions; z spacing."""
    n = array.shape[0]
    positions = [
        _floats(_group_value(ds, "PlanePositionSequence", "ImagePositionPatient", i), 3)
        for i in range(n)
    ]
    if orientation is not None and all(p is not None for p in positions) and (
        "PerFrameFunctionalGroupsSequence" in ds
    ):
        order, spacing, notes = _stack_geometry(
            np.array(positions), orientation[2], str(path), what="frame"
        )
        for text in notes:
            warnings.warn(text, SeriesWarning, stacklevel=4)
        if spacing is not None:
            array = array[order]
            origin = positions[int(order[0])]
            meta["z_spacing_source"] = "frame positions"
            return array, spacing, origin, orientation
    spacing, source = _thickness_spacing(ds)
    meta["z_spacing_source"] = source
    if spacing is None:
        meta["spacing_known"] = False
        meta["z_spacing_note"] = (
            "no frame positions or slice spacing in the header: z spacing set to 1.0"
        )
        spacing = 1.0
    return array, spacing, origin, orientation


@dataclass
class _Header:
    path: Path
    ds: Any  # header only (no pixels)

    @property
    def size(self) -> tuple[int, int]:
        return int(self.ds.get("Rows", 0) or 0), int(self.ds.get("Columns", 0) or 0)


def _series_files(folder_or_files) -> tuple[str, list[Path]]:
    if isinstance(folder_or_files, (str, os.PathLike)):
        folder = require_path(folder_or_files, kind="folder")
        if not folder.is_dir():
            return str(folder), [folder]
        files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
        if not files:
            subfolders = sorted(p.name for p in folder.iterdir() if p.is_dir())
            listed = ", ".join(subfolders[:8]) + ("..." if len(subfolders) > 8 else "")
            hint = f" It has subfolders ({listed}): pass one of them." if subfolders else ""
            raise ImageReadError(f"{folder}: the folder holds no files.{hint}")
        return str(folder), files
    files = [require_path(p) for p in folder_or_files]
    if not files:
        raise ImageReadError(
            "read_series got an empty list of files. Fix: pass a folder or file paths."
        )
    return f"{len(files)} files under {os.path.commonpath([str(p.parent) for p in files])}", files


def read_series(
    folder_or_files: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    series_uid: str | None = None,
) -> Image:
    """Read the DICOM files of one series into a volume ``(z, y, x)``.

    Slices are sorted by their position along the slice normal (Image
    Position Patient projected on the normal from Image Orientation Patient),
    not by file name, and the z spacing is measured from those positions.

    Irregular series are read, not refused, and reported with a
    :class:`~radlab.errors.SeriesWarning`:

    * a gap larger than 1.5 × the median spacing (a missing slice): the
      warning gives the slice indices and positions around the gap, and the
      volume is kept as is;
    * slices of another size or orientation than the majority (often a scout
      or localizer exported with the series): they are skipped;
    * missing positions: the slices are ordered by Instance Number instead;
    * files that are not DICOM images (notes, thumbnails, DICOMDIR): skipped
      and listed in ``meta["skipped_files"]``.

    Parameters
    ----------
    folder_or_files : path or iterable of paths
        A folder (its files, not subfolders) or a list of DICOM files.
    series_uid : str, optional
        Series Instance UID to read when the folder holds several series.
        Without it, such a folder is an error that lists the series found.

    Returns
    -------
    Image
        float32 volume ``(z, y, x)`` (a single-slice series gives ``(y, x)``),
        spacing ``(z, y, x)`` in mm, origin = position of the first slice,
        orientation rows = (row direction, column direction, slice direction),
        CT in HU.

    Raises
    ------
    ImageReadError
        No DICOM images, several series without ``series_uid``, or an unknown
        ``series_uid``.
    """
    source, files = _series_files(folder_or_files)
    headers: list[_Header] = []
    skipped: list[str] = []
    noisy: list[str] = []
    for path in files:
        if path.suffix.lower() in PICTURE_SUFFIXES or path.name.lower().endswith(NIFTI_SUFFIXES):
            skipped.append(path.name)
            noisy.append(path.name)
            continue
        try:
            ds = _read_dataset(path, stop_before_pixels=True)
        except ImageReadError:
            skipped.append(path.name)
            if path.name.lower() not in _QUIET_SKIP:
                noisy.append(path.name)
            continue
        if "Rows" not in ds or "Columns" not in ds:  # DICOMDIR, SR, RT plan...
            skipped.append(path.name)
            continue
        headers.append(_Header(path, ds))

    if not headers:
        pictures = [n for n in skipped if Path(n).suffix.lower() in PICTURE_SUFFIXES]
        hint = (
            f" It holds {len(pictures)} picture files (PNG/JPEG...): read each with "
            "rl.read_image(path)."
            if pictures else " Fix: point to the folder that holds the .dcm files of one series."
        )
        raise ImageReadError(
            f"{source}: no DICOM images found ({len(files)} files looked at).{hint}"
        )
    if noisy:
        shown = ", ".join(noisy[:5]) + (" ..." if len(noisy) > 5 else "")
        warnings.warn(
            f"{source}: skipped {len(noisy)} file(s) that are not DICOM images: {shown}",
            SeriesWarning, stacklevel=2,
        )

    headers = _pick_series(headers, series_uid, source)
    headers = _majority(headers, source)
    if len(headers) == 1 and int(headers[0].ds.get("NumberOfFrames", 1) or 1) > 1:
        image = read_dicom(headers[0].path)
        image.meta["skipped_files"] = skipped
        return image
    if any(int(h.ds.get("NumberOfFrames", 1) or 1) > 1 for h in headers):
        raise ImageReadError(
            f"{source}: the series has several multi-frame files; radlab stacks single-frame "
            "files only. Fix: read each file with rl.read_dicom(path)."
        )
    return _stack(headers, source, skipped)


def _describe_series(uid: str, group: list[_Header]) -> str:
    ds = group[0].ds
    parts = [
        f"series_uid={uid!r}",
        f"{len(group)} file(s)",
        str(ds.get("Modality", "?")),
    ]
    if ds.get("SeriesNumber") not in (None, ""):
        parts.append(f"series number {ds.SeriesNumber}")
    if ds.get("SeriesDescription"):
        parts.append(repr(str(ds.SeriesDescription)))
    rows, cols = group[0].size
    parts.append(f"{rows}x{cols}")
    return "  - " + ", ".join(parts)


def _pick_series(headers: list[_Header], series_uid: str | None, source: str) -> list[_Header]:
    groups: dict[str, list[_Header]] = {}
    for h in headers:
        groups.setdefault(str(h.ds.get("SeriesInstanceUID", "") or ""), []).append(h)
    if series_uid is not None:
        if series_uid not in groups:
            listing = "\n".join(_describe_series(u, g) for u, g in groups.items())
            raise ImageReadError(
                f"{source}: no series with series_uid={series_uid!r}. Series found:\n{listing}"
            )
        return groups[series_uid]
    if len(groups) > 1:
        listing = "\n".join(
            _describe_series(u, g) for u, g in sorted(groups.items(), key=lambda kv: -len(kv[1]))
        )
        raise ImageReadError(
            f"{source}: the folder holds {len(groups)} series. Fix: choose one with "
            f"read_series(..., series_uid=...):\n{listing}"
        )
    return next(iter(groups.values()))


def _majority(headers: list[_Header], source: str) -> list[_Header]:
    """Keep slices of the most common size and orientation; warn about the rest."""
    def key(h: _Header):
        o = _orientation(h.ds.get("ImageOrientationPatient"))
        return h.size, None if o is None else tuple(np.round(o[:2].ravel(), 3))

    counts = Counter(key(h) for h in headers)
    if len(counts) == 1:
        return headers
    keep = counts.most_common(1)[0][0]
    dropped = [h for h in headers if key(h) != keep]
    shown = ", ".join(f"{h.path.name} ({h.size[0]}x{h.size[1]})" for h in dropped[:5])
    warnings.warn(
        f"{source}: {len(dropped)} of {len(headers)} slices differ in size or orientation from "
        f"the majority ({keep[0][0]}x{keep[0][1]}) and were skipped (a scout/localizer?): "
        f"{shown}{' ...' if len(dropped) > 5 else ''}",
        SeriesWarning, stacklevel=3,
    )
    return [h for h in headers if key(h) == keep]


def _stack(headers: list[_Header], source: str, skipped: list[str]) -> Image:
    first = headers[0].ds
    orientation = _orientation(first.get("ImageOrientationPatient"))
    positions = [_floats(h.ds.get("ImagePositionPatient"), 3) for h in headers]
    notes: list[str] = []
    meta_extra: dict[str, Any] = {}
    if orientation is not None and all(p is not None for p in positions):
        order, z_spacing, notes = _stack_geometry(np.array(positions), orientation[2], source)
        meta_extra["sorted_by"] = "position along the slice normal"
        z_source = "slice positions"
    else:
        numbers = [h.ds.get("InstanceNumber") for h in headers]
        if all(n not in (None, "") for n in numbers):
            order = np.argsort([int(n) for n in numbers], kind="stable")
            meta_extra["sorted_by"] = "InstanceNumber"
            why = "InstanceNumber"
        else:
            order = np.arange(len(headers))
            meta_extra["sorted_by"] = "file name"
            why = "file name (no InstanceNumber either)"
        if len(headers) > 1:
            notes.append(
                f"{source}: slices lack ImagePositionPatient/ImageOrientationPatient, so they "
                f"are ordered by {why} and the z spacing comes from the header, not measured."
            )
        z_spacing = None
        z_source = "unknown"
    if z_spacing is None:
        z_spacing, z_source = _thickness_spacing(first)
    for text in notes:
        warnings.warn(text, SeriesWarning, stacklevel=3)

    ordered = [headers[int(i)] for i in order]
    slices: list[np.ndarray] = []
    units: set[str] = set()
    window = None
    meta: dict[str, Any] = {}
    inverted = rescaled = False
    middle = len(ordered) // 2
    for i, h in enumerate(ordered):
        ds = _read_dataset(h.path)
        pixels = _values(ds, _decode(ds, h.path), h.path)
        if pixels.rgb or pixels.array.shape[0] != 1:
            raise ImageReadError(
                f"{h.path}: colour or multi-frame slice in a series; radlab stacks greyscale "
                "single-frame slices. Fix: read this file with rl.read_dicom(path)."
            )
        slices.append(pixels.array[0])
        units.add(pixels.units)
        inverted |= pixels.inverted
        rescaled |= pixels.rescaled
        if i == middle:
            window, meta = pixels.window, _safe_meta(ds)
    volume = np.stack(slices).astype(np.float32, copy=False)

    in_plane, source_xy, note = _pixel_spacing(first)
    meta.update(meta_extra)
    meta.update(
        number_of_slices=len(ordered),
        inverted=inverted,
        rescale_applied=rescaled,
        spacing_source=source_xy,
        z_spacing_source=z_source,
        spacing_known=in_plane is not None and z_spacing is not None,
        skipped_files=skipped,
    )
    if note:
        meta["spacing_note"] = note
    if len(units) > 1:
        warnings.warn(
            f"{source}: slices have different units {sorted(units)}", SeriesWarning, stacklevel=3
        )
    spacing = (z_spacing or 1.0, *(in_plane or (1.0, 1.0)))
    if volume.shape[0] == 1:
        volume, spacing = volume[0], spacing[1:]
    origin = positions[int(order[0])] if positions[int(order[0])] is not None else (0.0, 0.0, 0.0)
    return Image(
        array=volume,
        spacing=spacing,
        origin=origin,
        orientation=orientation if orientation is not None else np.eye(3),
        units=units.pop() if len(units) == 1 else "raw",
        modality=str(first.get("Modality", "") or ""),
        window=window,
        meta=meta,
        source=source,
    )


def _read_picture(path: Path) -> Image:
    """A PNG/JPEG/TIFF via Pillow: 2D greyscale float32 (or RGB uint8), spacing unknown."""
    from PIL import Image as PILImage, UnidentifiedImageError

    try:
        with PILImage.open(path) as pic:
            pic.load()
            mode = pic.mode
            if mode in ("RGBA", "P", "PA", "CMYK", "YCbCr", "LAB", "HSV"):
                pic = pic.convert("RGB")
            elif mode == "LA":
                pic = pic.convert("L")
            array = np.asarray(pic)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(
            f"{path}: not a readable picture file ({exc}). Fix: check the file opens in an "
            "image viewer; re-export it as PNG."
        ) from exc
    if array.ndim == 2:
        array = array.astype(np.float32)
    meta = {
        "picture_mode": mode,
        "spacing_known": False,
        "spacing_note": "picture files carry no pixel spacing: spacing set to 1.0 (pixels)",
    }
    return Image(array=array, units="raw", meta=meta, source=str(path))


def read_image(path: str | os.PathLike, **kwargs: Any) -> Image:
    """Read any image radlab understands, choosing the reader from the path.

    * a folder -> :func:`read_series` (one DICOM series);
    * ``.nii`` / ``.nii.gz`` -> :func:`~radlab.imaging.nifti.read_nifti`;
    * ``.png``, ``.jpg``, ``.tif``, ``.bmp`` ... -> Pillow: a 2D ``"raw"``
      image with spacing 1.0 (picture files carry no spacing;
      ``meta["spacing_known"]`` is False);
    * anything else -> :func:`read_dicom`.

    Parameters
    ----------
    path : str or os.PathLike
        File or folder.
    **kwargs
        Passed to the reader (e.g. ``series_uid=`` for a folder,
        ``units="HU"`` for a CT NIfTI).

    Returns
    -------
    Image
    """
    p = require_path(path, kind="file or folder")
    if p.is_dir():
        return read_series(p, **kwargs)
    name = p.name.lower()
    if name.endswith(NIFTI_SUFFIXES):
        from .nifti import read_nifti

        return read_nifti(p, **kwargs)
    if kwargs:
        raise TypeError(f"read_image got options {sorted(kwargs)} that a single file does not take")
    if p.suffix.lower() in PICTURE_SUFFIXES:
        return _read_picture(p)
    return read_dicom(p)
