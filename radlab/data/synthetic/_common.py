"""Shared pieces of the synthetic phantoms: the result types, argument checks,
random streams, boxes from masks and point splatting.

Nothing here is radiology-specific; :mod:`.chest` and :mod:`.ct` draw the anatomy.
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass, field, replace
from numbers import Integral, Real
from typing import Any

import numpy as np
from scipy import ndimage

__all__ = ["PhantomSet", "PhantomVolume"]

#: Upper bound on pixels rendered at once (images x rows x columns). It bounds memory
#: (about 40 temporary float32 arrays of this size) and keeps arrays cache-friendly.
CHUNK_PIXELS = 1 << 18

#: Finding names used in :attr:`PhantomSet.finding`.
NO_FINDING = "none"


# ---------------------------------------------------------------------------
# Result types
# ---------------------------------------------------------------------------
@dataclass(eq=False)
class PhantomSet:
    """A labelled synthetic dataset: images, masks, boxes, labels and per-image facts.

    Returned by :func:`radlab.data.chest_phantoms` and :func:`radlab.data.ct_phantoms`.
    All per-image arrays share the first axis (``n`` images); index the set like an
    array (``phantoms[:800]``, ``phantoms[labels == 1]``) to get a smaller set.

    Attributes
    ----------
    images : numpy.ndarray, float32, shape (n, H, W)
        Chest radiographs: display intensity in [0, 1], higher = whiter = denser.
        CT slices: Hounsfield units (HU), air -1000, water 0.
    lung_masks : numpy.ndarray, bool, shape (n, H, W)
        True inside the lungs (excluding heart and mediastinum, as in the JSRT and
        Montgomery lung masks).
    lesion_masks : numpy.ndarray, bool, shape (n, H, W)
        True on the lesion (nodule or consolidation), always inside ``lung_masks``.
    boxes : list of numpy.ndarray, float32, shape (k_i, 4)
        One array per image with one row per lesion: ``(x0, y0, x1, y1)`` in pixels
        (x = column, y = row). Edges are pixel edges: ``x0`` is the first lesion
        column, ``x1`` one past the last, so ``image[int(y0):int(y1), int(x0):int(x1)]``
        is exactly the lesion's bounding rectangle. Shape ``(0, 4)`` when none.
    labels : numpy.ndarray, int64, shape (n,)
        1 when the image has a finding (a lesion), else 0.
    finding : numpy.ndarray of str, shape (n,)
        ``"none"``, ``"nodule"`` or ``"pneumonia"``.
    lesion_area_px : numpy.ndarray, int64, shape (n,)
        Lesion area in pixels (the number of True pixels in ``lesion_masks``).
    lesion_area_mm2 : numpy.ndarray, float64, shape (n,)
        Lesion area in mm², ``lesion_area_px * pixel_spacing_mm ** 2``.
    marker : numpy.ndarray, bool, shape (n,)
        True where a spurious corner marker was burnt in (shortcut-learning lesson).
    scanner : numpy.ndarray of str, shape (n,)
        Name of the simulated scanner/site (dataset-shift lesson).
    pixel_spacing_mm : float
        Nominal distance between pixel centres, in mm (same along rows and columns).
    modality : str
        DICOM modality code: ``"DX"`` (digital radiograph) or ``"CT"``.
    units : str
        ``"intensity"`` (0-1 display values) or ``"HU"``.
    window : tuple of float
        Suggested display ``(center, width)`` in ``units``.
    sinograms : numpy.ndarray, float32, shape (n, detectors, angles), or None
        CT only, with ``radon=True``: the measured (noisy) line integrals of the
        linear attenuation coefficient, dimensionless (mu in 1/mm times path in mm),
        as :func:`skimage.transform.radon` lays them out.
    angles : numpy.ndarray, float64, shape (angles,), or None
        Projection angles in degrees, with ``sinograms``.
    reference : numpy.ndarray, float32, shape (n, H, W), or None
        CT only, with ``radon=True``: the phantom in HU before projection and
        reconstruction, so the reconstruction error can be measured.
    attributes : dict of str -> numpy.ndarray, shape (n,)
        Further per-image facts, for subgroup analyses and error review. Chest:
        ``"sex"`` (``"F"`` images show breast shadows, ``"M"`` do not) and
        ``"location"`` (where the lesions are, e.g. ``"right middle lobe"`` or
        ``"left lung, upper zone"``; ``""`` when none).
    params : dict
        The arguments and derived settings that generated the set (seed, spacing,
        scanner settings...), for the record.
    """

    images: np.ndarray
    lung_masks: np.ndarray
    lesion_masks: np.ndarray
    boxes: list
    labels: np.ndarray
    finding: np.ndarray
    lesion_area_px: np.ndarray
    lesion_area_mm2: np.ndarray
    marker: np.ndarray
    scanner: np.ndarray
    pixel_spacing_mm: float
    modality: str = "DX"
    units: str = "intensity"
    window: tuple[float, float] | None = None
    sinograms: np.ndarray | None = None
    angles: np.ndarray | None = None
    reference: np.ndarray | None = None
    attributes: dict[str, np.ndarray] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    # -- Keras convenience ----------------------------------------------------
    @property
    def x(self) -> np.ndarray:
        """Images with a channel axis, float32 ``(n, H, W, 1)``, ready for Keras."""
        return self.images[..., None]

    @property
    def y(self) -> np.ndarray:
        """The labels, int64 ``(n,)`` (1 = finding present)."""
        return self.labels

    # -- array-like behaviour ---------------------------------------------------
    def __len__(self) -> int:
        return len(self.images)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of :attr:`images`, ``(n, H, W)``."""
        return self.images.shape

    def __getitem__(self, index) -> "PhantomSet":
        """A smaller set: ``index`` is an int, a slice, integer indices or a bool mask.

        Always returns a :class:`PhantomSet` (an int gives a set of one image); use
        :meth:`image` for a single :class:`radlab.Image`.
        """
        if isinstance(index, (Integral, np.integer)):
            i = int(index)
            if not -len(self) <= i < len(self):
                raise IndexError(f"image index {i} is out of range for {len(self)} images")
            index = [i % len(self)]
        if isinstance(index, slice):
            rows = np.arange(len(self))[index]
        else:
            rows = np.asarray(index)
            if rows.dtype == bool:
                if rows.shape != (len(self),):
                    raise IndexError(
                        f"a boolean index needs shape ({len(self)},), got {rows.shape}"
                    )
                rows = np.flatnonzero(rows)
            elif not np.issubdtype(rows.dtype, np.integer):
                raise IndexError(
                    "index a PhantomSet with an int, a slice, integer indices or a bool mask"
                )
            rows = rows.reshape(-1)
        per_image = {
            name: getattr(self, name)[rows]
            for name in (
                "images", "lung_masks", "lesion_masks", "labels", "finding",
                "lesion_area_px", "lesion_area_mm2", "marker", "scanner",
            )
        }
        extra = {}
        for name in ("sinograms", "reference"):
            value = getattr(self, name)
            extra[name] = None if value is None else value[rows]
        return replace(
            self, **per_image, **extra, boxes=[self.boxes[int(i)] for i in rows],
            attributes={name: value[rows] for name, value in self.attributes.items()},
            params=dict(self.params),
        )

    def image(self, i: int):
        """Image ``i`` as a :class:`radlab.Image` with its spacing, units and window."""
        from radlab.imaging.image import Image

        return Image(
            self.images[int(i)],
            spacing=(self.pixel_spacing_mm, self.pixel_spacing_mm),
            units="HU" if self.units == "HU" else "raw",
            modality=self.modality,
            window=self.window,
            meta={
                "synthetic": True,
                "label": int(self.labels[int(i)]),
                "finding": str(self.finding[int(i)]),
            },
            source=f"synthetic {self.params.get('kind', 'phantom')} #{int(i)}",
        )

    def __repr__(self) -> str:
        n = len(self)
        if n == 0:
            return f"PhantomSet({self.params.get('kind', '?')}, 0 images)"
        positive = float(np.mean(self.labels)) if n else 0.0
        kinds = sorted(set(self.finding.tolist()) - {NO_FINDING})
        parts = [
            f"{self.params.get('kind', '?')}",
            f"{n} images {self.images.shape[1]}x{self.images.shape[2]}",
            f"{self.pixel_spacing_mm:.3g} mm/pixel",
            f"{positive:.0%} positive ({', '.join(kinds) or 'no findings'})",
        ]
        if self.marker.any():
            parts.append(f"marker on {float(np.mean(self.marker)):.0%}")
        scanners = sorted(set(self.scanner.tolist()))
        parts.append("scanner " + "/".join(scanners))
        if self.sinograms is not None:
            parts.append(f"sinograms {self.sinograms.shape[1:]}")
        return "PhantomSet(" + ", ".join(parts) + ")"


@dataclass(eq=False)
class PhantomVolume:
    """A synthetic 3D chest CT volume with one nodule of known size (quantification).

    Returned by :func:`radlab.data.synthetic.ct_volume`.

    Attributes
    ----------
    volume : numpy.ndarray, float32, shape (z, y, x)
        Hounsfield units.
    lung_mask, lesion_mask : numpy.ndarray, bool, shape (z, y, x)
        Lungs, and the nodule (inside the lungs).
    spacing : tuple of float
        Voxel spacing (z, y, x) in mm.
    nodule_volume_mm3 : float
        The nodule's true (analytic) volume in mm³, before voxelisation.
    nodule_diameter_mm : float
        Diameter of the sphere with that volume, in mm.
    nodule_center_mm : tuple of float
        Nodule centre (z, y, x) in mm from the centre of the first voxel.
    voxel_volume_mm3 : float
        ``lesion_mask.sum() * prod(spacing)``: what counting voxels measures.
    params : dict
        Arguments that generated the volume.
    """

    volume: np.ndarray
    lung_mask: np.ndarray
    lesion_mask: np.ndarray
    spacing: tuple[float, float, float]
    nodule_volume_mm3: float
    nodule_diameter_mm: float
    nodule_center_mm: tuple[float, float, float]
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def voxel_volume_mm3(self) -> float:
        """Nodule volume measured by counting mask voxels, in mm³."""
        return float(self.lesion_mask.sum() * np.prod(self.spacing))

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.volume.shape

    def to_image(self):
        """The volume as a :class:`radlab.Image` (CT, HU, lung window)."""
        from radlab.imaging.image import Image

        return Image(
            self.volume, spacing=self.spacing, units="HU", modality="CT",
            window=(-600.0, 1500.0), meta={"synthetic": True}, source="synthetic ct_volume",
        )

    def __repr__(self) -> str:
        z, y, x = self.volume.shape
        spacing = " x ".join(f"{s:.3g}" for s in self.spacing)
        return (
            f"PhantomVolume({z}x{y}x{x} HU, spacing {spacing} mm, nodule "
            f"{self.nodule_volume_mm3:.0f} mm³ (d = {self.nodule_diameter_mm:.1f} mm))"
        )


# ---------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------
def check_count(n, name: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, (Integral, np.integer)):
        raise ValueError(f"{name} must be a positive integer (number of images), got {n!r}")
    if n <= 0:
        raise ValueError(f"{name} must be a positive integer (number of images), got {n}")
    return int(n)


def check_size(size, minimum: int, name: str = "size") -> int:
    if isinstance(size, bool) or not isinstance(size, (Integral, np.integer)):
        raise ValueError(f"{name} must be an integer number of pixels, got {size!r}")
    if size < minimum:
        raise ValueError(
            f"{name}={size} pixels is too small to draw the anatomy; use {name} >= {minimum}"
        )
    return int(size)


def check_fraction(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be a number between 0 and 1, got {value!r}")
    return float(value)


def check_nonnegative(value, name: str, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not float(value) >= 0.0:
        raise ValueError(f"{name} must be a number >= 0 ({unit}), got {value!r}")
    return float(value)


def check_range(value, name: str, unit: str, low: float = 0.0, high: float = np.inf,
                low_inclusive: bool = False) -> tuple[float, float]:
    """A scalar or a (min, max) pair -> (min, max) floats, both within (low, high]."""
    if isinstance(value, (Real, np.floating, np.integer)) and not isinstance(value, bool):
        pair = (float(value), float(value))
    else:
        try:
            a, b = value
            pair = (float(a), float(b))
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} must be a number or a (min, max) pair in {unit}, got {value!r}"
            ) from None
    lo_ok = (pair[0] >= low) if low_inclusive else (pair[0] > low)
    if not (lo_ok and pair[1] <= high and pair[0] <= pair[1]) or not np.all(np.isfinite(pair)):
        bound = "[" if low_inclusive else "("
        raise ValueError(
            f"{name} must lie in {bound}{low:g}, {high:g}] {unit} with min <= max, got {value!r}"
        )
    return pair


def check_count_range(value, name: str, high: int = 10) -> tuple[int, int]:
    """An int or (min, max) pair of ints -> (min, max), 1 <= min <= max <= high."""
    pair = (value, value) if isinstance(value, (Integral, np.integer)) else value
    try:
        a, b = pair
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be an int or a (min, max) pair of ints, got {value!r}"
        ) from None
    if any(isinstance(v, bool) or not isinstance(v, (Integral, np.integer)) for v in (a, b)) \
            or not 1 <= a <= b <= high:
        raise ValueError(f"{name} must be between 1 and {high} (min <= max), got {value!r}")
    return int(a), int(b)


def check_seed(seed):
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (Integral, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
    return int(seed)


# ---------------------------------------------------------------------------
# Random streams
# ---------------------------------------------------------------------------
class Streams:
    """Named, independent random generators derived from one seed.

    Per-image parameters are drawn for all images at once from ``streams["params"]``.
    Per-chunk randomness (textures, noise) is drawn chunk after chunk, in image
    order, each kind from its own named stream with one call per chunk, so an
    image's numbers do not depend on how the work is split into chunks.
    """

    def __init__(self, seed):
        self._root = np.random.SeedSequence(seed)
        self._cache: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        rng = self._cache.get(name)
        if rng is None:
            key = self._root.spawn_key + (zlib.crc32(name.encode()),)
            rng = np.random.default_rng(np.random.SeedSequence(self._root.entropy, spawn_key=key))
            self._cache[name] = rng
        return rng


def chunks(n: int, size: int):
    """Yield (start, stop) ranges of at most CHUNK_PIXELS pixels."""
    step = max(1, CHUNK_PIXELS // (size * size))
    for start in range(0, n, step):
        yield start, min(n, start + step)


# ---------------------------------------------------------------------------
# Geometry helpers
# ---------------------------------------------------------------------------
def grid(size: int) -> np.ndarray:
    """Pixel-centre coordinates normalised to [-1, 1] (float32, length ``size``)."""
    return ((np.arange(size, dtype=np.float32) + 0.5) * (2.0 / size) - 1.0).astype(np.float32)


def upsample(field: np.ndarray, size: int) -> np.ndarray:
    """Bilinear upsampling of (k, m, m) fields to (k, size, size), as two matrix products
    (much faster than :func:`scipy.ndimage.zoom` on a batch of small fields)."""
    w = _interp_matrix(field.shape[-1], size)
    return np.matmul(np.matmul(w, field), w.T)


@functools.lru_cache(maxsize=32)
def _interp_matrix(m: int, size: int) -> np.ndarray:
    """(size, m) float32 linear-interpolation weights, pixel centres aligned."""
    pos = np.clip((np.arange(size) + 0.5) * (m / size) - 0.5, 0.0, m - 1.0)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, m - 1)
    w = np.zeros((size, m), np.float32)
    np.add.at(w, (np.arange(size), lo), 1.0 - (pos - lo))
    np.add.at(w, (np.arange(size), hi), pos - lo)
    w.flags.writeable = False
    return w


def boxes_from_masks(masks: np.ndarray) -> np.ndarray:
    """Bounding boxes (x0, y0, x1, y1) of each mask in a (k, H, W) stack, pixel edges.

    Empty masks give a row of NaN.
    """
    k, h, w = masks.shape
    rows = masks.any(axis=2)
    cols = masks.any(axis=1)
    y0 = rows.argmax(axis=1)
    y1 = h - rows[:, ::-1].argmax(axis=1)
    x0 = cols.argmax(axis=1)
    x1 = w - cols[:, ::-1].argmax(axis=1)
    out = np.stack([x0, y0, x1, y1], axis=1).astype(np.float32)
    out[~rows.any(axis=1)] = np.nan
    return out


def splat(image_index: np.ndarray, rows: np.ndarray, cols: np.ndarray, weights: np.ndarray,
          shape: tuple[int, int, int]) -> np.ndarray:
    """Add point weights into a (k, H, W) float32 stack (nearest pixel; outside = dropped)."""
    k, h, w = shape
    r = np.floor(rows).astype(np.int64)
    c = np.floor(cols).astype(np.int64)
    i = np.floor(image_index).astype(np.int64)
    inside = (r >= 0) & (r < h) & (c >= 0) & (c < w) & (i >= 0) & (i < k)
    flat = (i * h + r) * w + c
    counts = np.bincount(flat[inside], weights=weights[inside], minlength=k * h * w)
    return counts.astype(np.float32).reshape(k, h, w)


def drop_specks(masks: np.ndarray, min_pixels: int) -> np.ndarray:
    """Remove connected components smaller than ``min_pixels`` from a (k, H, W) bool stack.

    Sharp anatomical angles (costophrenic, cardiophrenic) can leave a lone pixel
    when sampled on a coarse grid; a lung mask should not.
    """
    structure = np.zeros((3, 3, 3), bool)
    structure[1] = ndimage.generate_binary_structure(2, 1)  # 4-connected, within each image
    labels, count = ndimage.label(masks, structure=structure)
    if count == 0:
        return masks
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    keep = sizes >= min_pixels
    keep[0] = False
    return keep[labels]


def collect_boxes(n: int, owner: np.ndarray, boxes: np.ndarray) -> list[np.ndarray]:
    """Group box rows (owner image index per row) into one (k_i, 4) array per image."""
    out = [np.zeros((0, 4), np.float32) for _ in range(n)]
    if len(owner):
        keep = ~np.isnan(boxes[:, 0])
        owner, boxes = owner[keep], boxes[keep]
        order = np.argsort(owner, kind="stable")
        owner, boxes = owner[order], boxes[order]
        starts = np.searchsorted(owner, np.arange(n + 1))
        for i in np.unique(owner):
            out[i] = boxes[starts[i]:starts[i + 1]].copy()
    return out
