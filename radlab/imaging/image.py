"""The one image type every notebook uses: a pixel array plus physical metadata."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

__all__ = ["Image"]


@dataclass(eq=False)
class Image:
    """A 2D image or 3D volume with the metadata that gives its pixels meaning.

    It behaves like its array where that is convenient (``np.asarray(image)``,
    ``image.shape``, ``image[10]``), so NumPy, scikit-image and Keras code can
    take it directly.

    Parameters
    ----------
    array : numpy.ndarray
        Pixels, shape ``(y, x)`` for an image, ``(z, y, x)`` for a volume, or
        ``(y, x, 3)`` for RGB. CT values are Hounsfield units (float32).
    spacing : tuple of float
        Millimetres between pixel centres along each spatial array axis:
        ``(z, y, x)`` for a volume, ``(y, x)`` for an image.
    origin : tuple of float, default (0, 0, 0)
        Patient-coordinate position, in mm, of the centre of the first voxel
        (DICOM LPS convention: x to the patient's left, y posterior, z head).
    orientation : numpy.ndarray, default identity
        3×3 direction cosines in patient coordinates. Row 0 is the direction
        of increasing array column (x), row 1 of increasing row (y), row 2 of
        increasing slice index (the slice normal).
    units : str, default "raw"
        ``"HU"`` once CT rescale slope/intercept are applied, otherwise the
        scanner's stored values (``"raw"``).
    modality : str, default ""
        DICOM modality code: ``"CT"``, ``"MR"``, ``"CR"``, ``"DX"``, ...
    window : tuple of float or None
        Default ``(center, width)`` stored in the file, if any.
    rgb : bool or None, default None
        True for colour images ``(y, x, 3|4)``. None infers it: a uint8 array
        whose last axis has 3 or 4 entries is colour; float arrays never are,
        so a greyscale volume with 3 slices stays a volume.
    meta : dict
        Non-identifying metadata (e.g. photometric interpretation, bits
        stored, series description). Patient identifiers are never stored here.
    source : str
        File or folder the image was read from, for error messages.
    """

    array: np.ndarray
    spacing: tuple[float, ...] = ()
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    orientation: np.ndarray = field(default_factory=lambda: np.eye(3))
    units: str = "raw"
    modality: str = ""
    window: tuple[float, float] | None = None
    rgb: bool | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        self.array = np.asarray(self.array)
        if self.rgb is None:
            self.rgb = bool(
                self.array.ndim == 3 and self.array.dtype == np.uint8 and self.array.shape[-1] in (3, 4)
            )
        n_spatial = self.array.ndim - (1 if self.is_rgb else 0)
        if not self.spacing:
            self.spacing = (1.0,) * n_spatial
        self.spacing = tuple(float(s) for s in self.spacing)
        if len(self.spacing) != n_spatial:
            raise ValueError(
                f"spacing {self.spacing} has {len(self.spacing)} values but the array "
                f"{self.array.shape} has {n_spatial} spatial axes"
            )
        self.origin = tuple(float(v) for v in self.origin)
        self.orientation = np.asarray(self.orientation, dtype=float).reshape(3, 3)

    # -- array behaviour -------------------------------------------------
    @property
    def is_rgb(self) -> bool:
        """True for colour images, shape ``(y, x, 3)``."""
        return bool(self.rgb)

    @property
    def is_volume(self) -> bool:
        """True for a 3D volume ``(z, y, x)``."""
        return self.array.ndim == 3 and not self.is_rgb

    @property
    def shape(self) -> tuple[int, ...]:
        return self.array.shape

    @property
    def ndim(self) -> int:
        return self.array.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    def __array__(self, dtype=None, copy=None):
        if dtype is None:
            return self.array if not copy else self.array.copy()
        return self.array.astype(dtype, copy=bool(copy) or dtype != self.array.dtype)

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, index):
        """Index the array. An integer on a volume gives that slice as an Image."""
        if self.is_volume and isinstance(index, (int, np.integer)):
            return replace(
                self,
                array=self.array[index],
                spacing=self.spacing[1:],
                meta={**self.meta, "slice_index": int(index)},
            )
        return self.array[index]

    # -- physical size ----------------------------------------------------
    @property
    def voxel_volume_mm3(self) -> float:
        """Volume of one voxel (mm³), or area of one pixel (mm²) for a 2D image."""
        return float(np.prod(self.spacing))

    @property
    def extent_mm(self) -> tuple[float, ...]:
        """Physical size along each spatial axis, in mm."""
        return tuple(n * s for n, s in zip(self.array.shape, self.spacing))

    def with_array(self, array: np.ndarray, **changes: Any) -> "Image":
        """A copy with new pixels (same geometry), e.g. after filtering."""
        return replace(self, array=np.asarray(array), **changes)

    def __repr__(self) -> str:
        kind = "volume" if self.is_volume else "image"
        arr = self.array
        rng = f"{float(arr.min()):.6g}..{float(arr.max()):.6g}" if arr.size else "empty"
        spacing = " x ".join(f"{s:.3g}" for s in self.spacing)
        return (
            f"Image({self.modality or '?'} {kind} {arr.shape} {arr.dtype}, {rng} {self.units}, "
            f"spacing {spacing} mm)"
        )
