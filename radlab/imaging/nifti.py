"""Reading NIfTI files (``.nii``, ``.nii.gz``) with nibabel into radlab's conventions.

NIfTI and DICOM describe the same patient space with opposite signs:

* nibabel's world coordinates are **RAS+**: +x points to the patient's Right,
  +y Anterior, +z Superior;
* DICOM, and therefore radlab, uses **LPS+**: +x points Left, +y Posterior,
  +z Superior (head).

:func:`read_nifti` reorients the voxel array with nibabel's orientation tools
(:func:`~nibabel.orientations.io_orientation`, :func:`~nibabel.orientations.ornt_transform`,
:func:`~nibabel.orientations.apply_orientation`, :func:`~nibabel.orientations.inv_ornt_aff`
- what ``as_closest_canonical`` / ``as_reoriented`` use) so that voxel axes
(i, j, k) point to (L, P, S), then transposes to radlab's array order
``(z, y, x)`` = (k, j, i). An axial volume then looks the way a radiologist
expects with ``array[z]``: row 0 anterior, column 0 on the patient's right,
z increasing towards the head. Only flips and axis permutations happen
(no resampling); an oblique acquisition keeps its obliquity in
``Image.orientation``.
"""

from __future__ import annotations

import os

import numpy as np

from .._files import atomic_output
from ..errors import ImageReadError
from .dicom import require_path
from .image import Image

__all__ = ["read_nifti", "write_nifti"]

#: Axis codes (nibabel convention: the direction each voxel axis points to)
#: that give radlab's LPS layout before the (z, y, x) transpose.
LPS_AXCODES = ("L", "P", "S")
_RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0])


def read_nifti(path: str | os.PathLike, *, units: str = "raw") -> Image:
    """Read a NIfTI-1/NIfTI-2 file as a volume ``(z, y, x)`` in LPS orientation.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.nii`` or ``.nii.gz`` file.
    units : str, default "raw"
        Unit of the stored values after nibabel applies ``scl_slope`` /
        ``scl_inter``. NIfTI has no field that says "Hounsfield units", so pass
        ``units="HU"`` for a CT.

    Returns
    -------
    Image
        float32 array ``(z, y, x)`` (a 2D file gives ``(y, x)``): voxel axes
        reoriented to point Left, Posterior, Superior, then transposed.
        ``spacing`` in mm from the header zooms, in (z, y, x) order.
        ``origin`` is the LPS position (mm) of the centre of voxel
        ``[0, 0, 0]``, ``orientation`` the LPS direction of each array axis
        (rows x, y, z). ``window`` comes from ``cal_min``/``cal_max`` when set.
        ``meta["original_axcodes"]`` records the file's own orientation.

    Raises
    ------
    ImageNotFoundError
        The file does not exist.
    ImageReadError
        Not a NIfTI file, truncated or corrupt, or more than 3 spatial
        dimensions (a 4D time series: index it with nibabel first).

    Examples
    --------
    >>> ct = rl.read_nifti("ct.nii.gz", units="HU")   # doctest: +SKIP
    >>> ct.array.shape                                  # doctest: +SKIP
    (120, 512, 512)
    """
    import nibabel as nib
    from nibabel.filebasedimages import ImageFileError
    from nibabel.orientations import (
        apply_orientation, axcodes2ornt, inv_ornt_aff, io_orientation, ornt_transform,
    )

    path = require_path(path)
    try:
        img = nib.load(path)
    except ImageFileError as exc:
        raise ImageReadError(
            f"{path}: not a NIfTI file nibabel can read ({exc}). Fix: check the file; a "
            "DICOM file should be read with rl.read_dicom, a folder with rl.read_series."
        ) from exc
    except Exception as exc:
        raise _corrupt(path, exc) from exc
    if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
        raise ImageReadError(
            f"{path}: nibabel read it as {type(img).__name__}, not NIfTI. Fix: convert it to "
            "NIfTI (e.g. with nibabel or dcm2niix)."
        )

    shape = img.shape
    if any(n != 1 for n in shape[3:]):
        raise ImageReadError(
            f"{path}: {len(shape)}D NIfTI of shape {shape} (time points or channels after the "
            "3 spatial axes); radlab reads 2D and 3D images. Fix: pick one volume, e.g. "
            "nibabel.funcs.four_to_three(nibabel.load(path))[t], and save it."
        )
    try:
        data = img.get_fdata(dtype=np.float32)  # applies scl_slope / scl_inter
    except Exception as exc:  # short data block, bad gzip stream...
        raise _corrupt(path, exc) from exc
    was_2d = data.ndim == 2
    data = data.reshape(data.shape[:3] + (1,) * (3 - min(data.ndim, 3)))
    zooms_in = (tuple(float(z) for z in img.header.get_zooms()[:3]) + (1.0, 1.0, 1.0))[:3]

    # Flip/permute voxel axes so that they point Left, Posterior, Superior.
    transform = ornt_transform(io_orientation(img.affine), axcodes2ornt(LPS_AXCODES))
    affine = img.affine @ inv_ornt_aff(transform, data.shape)
    data = apply_orientation(data, transform)
    zooms = [1.0, 1.0, 1.0]
    for axis_in, (axis_out, _flip) in enumerate(transform):
        zooms[int(axis_out)] = zooms_in[axis_in]

    array = np.ascontiguousarray(np.transpose(data, (2, 1, 0)))  # (i, j, k) -> (z, y, x)
    spacing = (zooms[2], zooms[1], zooms[0])
    # Columns of the affine are the RAS steps of voxel axes i, j, k (= x, y, z).
    norms = np.linalg.norm(affine[:3, :3], axis=0)
    directions = affine[:3, :3] / np.where(norms > 0, norms, 1.0)
    orientation = (_RAS_TO_LPS @ directions).T
    origin = tuple(_RAS_TO_LPS @ affine[:3, 3])

    header = img.header
    cal_min, cal_max = float(header["cal_min"]), float(header["cal_max"])
    window = ((cal_min + cal_max) / 2, cal_max - cal_min) if cal_max > cal_min else None
    meta = {
        "format": f"NIfTI-{1 if isinstance(img, nib.Nifti1Image) else 2}",
        "original_axcodes": "".join(nib.aff2axcodes(img.affine)),
        "reoriented_to": "LPS; array (z, y, x) = voxel axes pointing (S, P, L)",
        "qform_code": int(header["qform_code"]),
        "sform_code": int(header["sform_code"]),
        "datatype": str(header.get_data_dtype()),
        "xyzt_units": header.get_xyzt_units()[0] or "unknown",
    }
    if was_2d:  # drop the length-1 axis the 2D file was padded with
        axis = 2 - int(transform[2, 0])
        array = np.take(array, 0, axis=axis)
        spacing = tuple(s for i, s in enumerate(spacing) if i != axis)
    return Image(
        array=array,
        spacing=spacing,
        origin=origin,
        orientation=orientation,
        units=units,
        window=window,
        meta=meta,
        source=str(path),
    )


def _corrupt(path, exc: BaseException) -> ImageReadError:
    size = os.path.getsize(path) if os.path.exists(path) else 0
    return ImageReadError(
        f"{path}: damaged or truncated NIfTI file ({size} bytes; nibabel says: "
        f"{type(exc).__name__}: {exc}). Fix: copy or download the file again; a .nii.gz must "
        "be a complete gzip stream."
    )


def write_nifti(image: Image, path: str | os.PathLike) -> "os.PathLike":
    """Save an :class:`Image` as NIfTI (``.nii`` or ``.nii.gz``), atomically.

    The inverse of :func:`read_nifti`: the (z, y, x) array, spacing, origin and
    orientation go into the NIfTI affine (converted from LPS to nibabel's RAS),
    and the image's default window into ``cal_min``/``cal_max``. The file is
    written to a temporary name in the same folder and renamed into place, so
    an interrupted save never leaves half a file.

    Parameters
    ----------
    image : Image
        A 2D image or 3D volume (not RGB).
    path : str or path-like
        Destination ending in ``.nii`` or ``.nii.gz``.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    from pathlib import Path

    import nibabel as nib

    path = Path(path)
    if not path.name.endswith((".nii", ".nii.gz")):
        raise ValueError(f"{path}: a NIfTI file name must end in .nii or .nii.gz")
    if image.is_rgb:
        raise ValueError(f"{path}: colour images cannot be saved as NIfTI by radlab; save a grey image")
    array = np.asarray(image.array)
    spacing = tuple(image.spacing)
    if array.ndim == 2:  # a 2D NIfTI: voxel axes (i, j) = (x, y)
        data, spacing = array.T, (1.0, *spacing)
    else:
        data = np.transpose(array, (2, 1, 0))  # (z, y, x) -> voxel axes (i, j, k)
    affine = np.eye(4)
    directions = _RAS_TO_LPS @ np.asarray(image.orientation, dtype=float).T
    affine[:3, :3] = directions * np.asarray(spacing[::-1])
    affine[:3, 3] = _RAS_TO_LPS @ np.asarray(image.origin, dtype=float)
    nifti = nib.Nifti1Image(data, affine)
    nifti.header.set_xyzt_units("mm")
    if image.window:
        center, width = image.window
        nifti.header["cal_min"], nifti.header["cal_max"] = center - width / 2, center + width / 2
    suffix = ".nii.gz" if path.name.endswith(".nii.gz") else ".nii"
    with atomic_output(path, suffix=suffix) as tmp:
        nib.save(nifti, tmp)
    return path
