"""Synthetic axial chest CT slices (and a small volume) in Hounsfield units.

The slice is drawn at the level of the heart, for a whole batch at once, in
millimetres: ``x`` towards the image's right (the patient's left), ``y`` down
(posterior), the origin at the centre of the field of view. Tissues get their
textbook HU (air -1000, lung about -850, fat about -100, muscle and blood about
+40, cancellous bone about +250, cortical bone about +800); edges get partial-volume
values, and noise has the fine-grained, slightly correlated look of CT noise.

With ``radon=True`` each slice then goes through a simulated scanner: HU ->
linear attenuation -> sinogram (:func:`skimage.transform.radon`) -> photon-counting
(Poisson) noise set by the dose -> filtered back-projection
(:func:`skimage.transform.iradon`) -> HU.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from scipy import ndimage

from ._common import (
    NO_FINDING, PhantomSet, PhantomVolume, Streams, boxes_from_masks, check_count,
    check_count_range, check_fraction, check_nonnegative, check_range, check_seed, check_size,
    chunks, collect_boxes, drop_specks, splat, upsample,
)

__all__ = ["ct_phantoms", "ct_volume", "MU_WATER", "HU"]

#: Linear attenuation coefficient of water, 1/mm, at an effective energy of about
#: 70 keV (a 120 kVp beam). HU = 1000 * (mu - MU_WATER) / MU_WATER.
MU_WATER = 0.0193

#: Reference tissue values used by the phantom, HU (the phantom varies them a little).
HU: dict[str, float] = {
    "air": -1000.0,
    "lung": -850.0,
    "fat": -100.0,
    "water": 0.0,
    "csf": 15.0,
    "nodule": 30.0,
    "blood": 40.0,
    "muscle": 45.0,
    "contrast blood": 250.0,
    "cancellous bone": 250.0,
    "cortical bone": 800.0,
}

_SHAPES = ("round", "lobulated", "mixed")
_DEFAULT_FOV_MM = 380.0


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------
def ct_phantoms(
    n: int,
    size: int = 128,
    *,
    seed: int | None = 0,
    prevalence: float = 0.5,
    nodules=1,
    nodule_size=(6.0, 25.0),
    nodule_shape: str = "mixed",
    vessels: bool = True,
    contrast: bool = False,
    table: bool = True,
    noise: float | None = None,
    radon: bool = False,
    n_angles: int = 180,
    dose: float = 1e5,
    pixel_spacing_mm: float | None = None,
) -> PhantomSet:
    """Synthetic axial chest CT slices in HU, with lung and nodule masks, boxes and labels.

    Each slice shows, at the level of the heart: air around the patient, the skin
    and subcutaneous fat, chest-wall and paraspinal muscles, rib cross-sections and
    the sternum, both lungs with vessels (dots where they cross the slice, short
    branches where they run in it), the heart, descending aorta and oesophagus in
    mediastinal fat, the vertebral body (cortex and cancellous bone), spinal canal
    and spinous process, and the table under the patient. Positive slices contain
    one or more solid lung nodules (round or lobulated, about +30 HU).

    Parameters
    ----------
    n : int
        Number of slices (> 0).
    size : int, default 128
        Image height and width, pixels (>= 48).
    seed : int or None, default 0
        Same seed and arguments -> identical arrays; None draws fresh randomness.
    prevalence : float, default 0.5
        Fraction of slices with nodules, in [0, 1]; exactly ``round(prevalence * n)``.
    nodules : int or (min, max), default 1
        Nodules per positive slice (detection with several boxes).
    nodule_size : float or (min, max), default (6, 25)
        Nodule diameter in mm (Fleischner: < 6 mm no follow-up, > 8 mm act).
    nodule_shape : {"mixed", "round", "lobulated"}, default "mixed"
        Lobulated margins are a malignancy sign; "mixed" draws either.
    vessels : bool, default True
        Draw pulmonary vessels. Without them nodule detection is trivial; with
        them a vessel seen end-on looks like a nodule (the classic pitfall).
    contrast : bool, default False
        Intravenous contrast: blood in the heart, aorta and lung vessels at about
        +250 HU instead of +40 HU.
    table : bool, default True
        Draw the scanner table under the patient.
    noise : float or None, default None
        Image noise, HU (standard deviation). Default 12 HU. Only without ``radon``:
        with ``radon=True`` the noise comes from ``dose`` (pass noise=None).
    radon : bool, default False
        Pass every slice through a simulated scanner (CT physics lesson): HU ->
        linear attenuation ``mu = MU_WATER * (1 + HU / 1000)`` -> sinogram ->
        Poisson photon noise -> filtered back-projection -> HU. ``sinograms``,
        ``angles`` and the noise-free ``reference`` are then returned as well.
        Slow: about 5 slices per second at 128 px.
    n_angles : int, default 180
        Projection angles over 180 degrees (``radon=True``). Fewer angles give
        streak artefacts (the angular-undersampling lesson).
    dose : float, default 1e5
        Incident photons per detector element and angle (``radon=True``). Noise
        in HU grows as 1/sqrt(dose); at 128 px in soft tissue it is about 170 HU
        at 1e3, 50 HU at 1e4, 18 HU at 1e5 and 10 HU at 1e6 (where the
        reconstruction's own interpolation error starts to dominate).
    pixel_spacing_mm : float or None
        Pixel spacing, mm. Default ``380 / size`` (a 380 mm field of view). Anything
        outside the circular scan field of view is air, as on a scanner.

    Returns
    -------
    PhantomSet
        ``images`` float32 (n, size, size) in HU; ``lung_masks``, ``lesion_masks``
        bool; ``boxes`` per slice; ``labels`` (1 = at least one nodule);
        ``finding`` ("none"/"nodule"); lesion areas in pixels and mm²; ``window``
        is the lung window (-600, 1500). With ``radon=True`` also ``sinograms``,
        ``angles`` (degrees) and ``reference``.

    Raises
    ------
    ValueError
        For n <= 0, size < 48, prevalence outside [0, 1], an unknown nodule shape,
        a non-positive dose, spacing or angle count, or noise given with radon.
    """
    n = check_count(n)
    size = check_size(size, 48)
    seed = check_seed(seed)
    prevalence = check_fraction(prevalence, "prevalence")
    per_image = check_count_range(nodules, "nodules", high=8)
    diameter_mm = check_range(nodule_size, "nodule_size", "mm", 0.0, 60.0)
    if nodule_shape not in _SHAPES:
        raise ValueError(f"unknown nodule_shape {nodule_shape!r}; use one of {', '.join(_SHAPES)}")
    if radon and noise is not None:
        raise ValueError(
            "noise is set by dose when radon=True; pass noise=None and choose dose "
            "(photons per ray, e.g. 1e4 low-dose, 1e6 nearly noise-free)"
        )
    noise = 12.0 if noise is None else check_nonnegative(noise, "noise", "HU")
    if isinstance(n_angles, bool) or not isinstance(n_angles, (int, np.integer)) or n_angles < 2:
        raise ValueError(f"n_angles must be an integer >= 2, got {n_angles!r}")
    if isinstance(dose, bool) or not isinstance(dose, (int, float, np.number)) or not dose > 0:
        raise ValueError(f"dose must be > 0 photons per ray, got {dose!r}")
    if pixel_spacing_mm is None:
        spacing = _DEFAULT_FOV_MM / size
    else:
        spacing = check_range(pixel_spacing_mm, "pixel_spacing_mm", "mm", 0.0, 20.0)[0]

    rng = Streams(seed)
    p = _patient_params(rng["params"], n, contrast)
    labels = np.zeros(n, np.int64)
    labels[rng["params"].permutation(n)[: int(round(prevalence * n))]] = 1
    lesions = _nodule_params(rng["params"], p, labels, per_image, diameter_mm, nodule_shape)

    images = np.empty((n, size, size), np.float32)
    lung_masks = np.empty((n, size, size), bool)
    lesion_masks = np.zeros((n, size, size), bool)
    owners, rows = [], []
    for start, stop in chunks(n, size):
        q = {k: v[start:stop] for k, v in p.items()}
        img, lung, les_mask, owner, box = _render(q, lesions, start, stop, size, spacing,
                                                  vessels, table, rng)
        if noise > 0 and not radon:
            img += _ct_noise(rng["noise"], img.shape, noise)
        _outside_fov(img)
        images[start:stop] = img
        lung_masks[start:stop] = lung
        lesion_masks[start:stop] = les_mask
        owners.append(owner + start)
        rows.append(box)

    sinograms = angles = reference = None
    if radon:
        reference = images.copy()
        angles = np.linspace(0.0, 180.0, int(n_angles), endpoint=False)
        sinograms, images = _scan(reference, spacing, angles, float(dose), rng["photons"])

    area = lesion_masks.sum(axis=(1, 2)).astype(np.int64)
    params: dict[str, Any] = {
        "kind": "chest CT", "n": n, "size": size, "seed": seed, "prevalence": prevalence,
        "nodules": per_image, "nodule_size_mm": diameter_mm, "nodule_shape": nodule_shape,
        "vessels": vessels, "contrast": contrast, "table": table,
        "noise_hu": None if radon else noise, "radon": radon,
        "n_angles": int(n_angles) if radon else None, "dose": float(dose) if radon else None,
        "mu_water_per_mm": MU_WATER, "field_of_view_mm": size * spacing,
    }
    return PhantomSet(
        images=images, lung_masks=lung_masks, lesion_masks=lesion_masks,
        boxes=collect_boxes(n, np.concatenate(owners), np.concatenate(rows)),
        labels=labels, finding=np.where(labels == 1, "nodule", NO_FINDING).astype("<U9"),
        lesion_area_px=area, lesion_area_mm2=area * spacing**2, marker=np.zeros(n, bool),
        scanner=np.full(n, "CT" if not radon else f"CT fbp {int(n_angles)}x{dose:.0e}"),
        pixel_spacing_mm=spacing, modality="CT", units="HU", window=(-600.0, 1500.0),
        sinograms=sinograms, angles=angles, reference=reference, params=params,
    )


def ct_volume(
    size: int = 96,
    slices: int = 48,
    *,
    seed: int | None = 0,
    nodule_diameter_mm: float = 12.0,
    elongation: float = 1.0,
    spacing: tuple[float, float, float] | None = None,
    noise: float = 12.0,
    vessels: bool = True,
) -> PhantomVolume:
    """A small 3D chest CT (HU) with one nodule of exactly known volume (quantification).

    The slices are drawn like :func:`ct_phantoms`, with the anatomy changing smoothly
    from slice to slice (the heart shrinks and the lungs grow towards the apex), and
    one solid nodule: an ellipsoid whose volume ``4/3 pi a b c`` is stored in
    ``nodule_volume_mm3``. Voxels get partial-volume values at its edge, so measuring
    the volume by thresholding and counting voxels shows the partial-volume error
    and its dependence on slice thickness.

    Parameters
    ----------
    size : int, default 96
        In-plane pixels (>= 48).
    slices : int, default 48
        Number of slices (>= 8).
    seed : int or None, default 0
        Same seed -> identical volume.
    nodule_diameter_mm : float, default 12
        Diameter of the sphere with the nodule's volume, mm (2-40).
    elongation : float, default 1.0
        Ratio of the nodule's longest to shortest axis (1 = sphere, up to 2).
    spacing : (z, y, x) mm, optional
        Voxel spacing. Default ``(2.5, 380 / size, 380 / size)``: 2.5 mm slices.
    noise : float, default 12
        Image noise, HU (standard deviation).
    vessels : bool, default True
        Draw lung vessels (continuous from slice to slice).

    Returns
    -------
    PhantomVolume
        ``volume`` float32 (slices, size, size) HU, ``lung_mask``, ``lesion_mask``,
        ``spacing`` (z, y, x) mm, ``nodule_volume_mm3`` (truth) and
        ``voxel_volume_mm3`` (what counting the mask's voxels gives).
    """
    size = check_size(size, 48)
    if isinstance(slices, bool) or not isinstance(slices, (int, np.integer)) or slices < 8:
        raise ValueError(f"slices must be an integer >= 8, got {slices!r}")
    seed = check_seed(seed)
    diameter = check_range(nodule_diameter_mm, "nodule_diameter_mm", "mm", 2.0, 40.0)[0]
    elongation = check_range(elongation, "elongation", "(ratio)", 1.0, 2.0, low_inclusive=True)[0]
    noise = check_nonnegative(noise, "noise", "HU")
    if spacing is None:
        spacing = (2.5, _DEFAULT_FOV_MM / size, _DEFAULT_FOV_MM / size)
    try:
        spacing = tuple(float(s) for s in spacing)
    except (TypeError, ValueError):
        raise ValueError(
            f"spacing must be three numbers (z, y, x) in mm, got {spacing!r}"
        ) from None
    if len(spacing) != 3 or not all(0 < s <= 20 for s in spacing) or spacing[1] != spacing[2]:
        raise ValueError(
            f"spacing must be (z, y, x) in mm, each in (0, 20], with y == x; got {spacing!r}"
        )
    dz, pix = spacing[0], spacing[1]

    rng = Streams(seed)
    base = _patient_params(rng["params"], 1, False)
    # the anatomy along z: t = -1 at the bottom slice, +1 at the top
    t = np.linspace(-1.0, 1.0, slices)
    extent_z = slices * dz
    p = {k: np.repeat(v, slices) for k, v in base.items()}
    p["heart"] = p["heart"] * np.clip(1.0 - 0.35 * (t + 0.2) ** 2 - 0.25 * t, 0.35, 1.2)
    p["body_a"] = p["body_a"] * (1.0 - 0.04 * t)
    p["lung_grow"] = (0.15 * t).astype(np.float32)
    # ribs run obliquely, so their cross-sections move round the chest from slice to slice
    p["rib_phase"] = p["rib_phase"] + (2.0 * np.pi / 30.0) * (t * extent_z / 2.0)
    p = {k: np.asarray(v, np.float32) for k, v in p.items()}

    # the nodule: an ellipsoid with semi-axes a >= b >= c, volume fixed by the diameter
    r_equiv = diameter / 2.0
    c_axis = r_equiv / elongation ** (1.0 / 3.0)
    axes = np.array([c_axis * elongation, c_axis, c_axis])  # z, y, x semi-axes, mm
    volume_true = 4.0 / 3.0 * np.pi * float(np.prod(axes))
    pr = rng["nodule"]
    mid = slices // 2
    q_mid = {k: v[mid:mid + 1, None] for k, v in p.items()}
    candidates = np.stack([pr.uniform(-120, 120, 64), pr.uniform(-70, 70, 64)], axis=-1)
    level = _lung_level_mm(candidates[None, :, 0], candidates[None, :, 1], q_mid)[0]
    best = int(np.argmax(np.where(level > axes.max() + 8, 1.0 + pr.random(64), level / 1000.0)))
    center_xy = candidates[best]
    center_z = pr.uniform(-0.15, 0.15) * extent_z

    volume = np.empty((slices, size, size), np.float32)
    lung_mask = np.empty((slices, size, size), bool)
    for start, stop in chunks(slices, size):
        q = {k: v[start:stop] for k, v in p.items()}
        empty = {"owner": np.zeros(0, int)}
        img, lung, _, _, _ = _render(q, empty, start, stop, size, pix, False, True, rng,
                                     lesions_ok=False)
        volume[start:stop] = img
        lung_mask[start:stop] = lung
    zc = (np.arange(slices) + 0.5 - slices / 2.0) * dz
    if vessels:
        _add_vessels_3d(volume, lung_mask, zc, pix, rng["vessels 3d"], p["blood"][0])

    # partial-volume nodule: supersample each voxel 3 x 3 x 3
    sub = (np.arange(3) + 0.5) / 3.0 - 0.5
    grid_xy = (np.arange(size) + 0.5 - size / 2.0) * pix
    fraction = np.zeros((slices, size, size), np.float32)
    for oz in sub:
        for oy in sub:
            for ox in sub:
                ez = ((zc + oz * dz - center_z) / axes[0]) ** 2
                ey = ((grid_xy + oy * pix - center_xy[1]) / axes[1]) ** 2
                ex = ((grid_xy + ox * pix - center_xy[0]) / axes[2]) ** 2
                fraction += (ez[:, None, None] + ey[None, :, None] + ex[None, None, :] <= 1.0)
    fraction /= 27.0
    nodule_hu = np.float32(HU["nodule"])
    volume += fraction * (nodule_hu - volume) * lung_mask
    lesion_mask = (fraction >= 0.5) & lung_mask
    if noise > 0:
        volume += _ct_noise(rng["noise"], volume.shape, noise)
    return PhantomVolume(
        volume=volume, lung_mask=lung_mask, lesion_mask=lesion_mask,
        spacing=(dz, pix, pix), nodule_volume_mm3=volume_true,
        nodule_diameter_mm=diameter,
        nodule_center_mm=(
            float(center_z + extent_z / 2.0 - dz / 2.0),
            float(center_xy[1] + size * pix / 2.0 - pix / 2.0),
            float(center_xy[0] + size * pix / 2.0 - pix / 2.0),
        ),
        params={"size": size, "slices": slices, "seed": seed, "elongation": elongation,
                "noise_hu": noise, "nodule_semi_axes_mm": tuple(float(a) for a in axes)},
    )


# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------
def _patient_params(rng, n, contrast):
    f = {
        "body_a": rng.uniform(138.0, 165.0, n),  # half-width, mm
        "body_b": rng.uniform(96.0, 116.0, n),  # half-depth, mm
        "fat": rng.uniform(6.0, 22.0, n),  # subcutaneous fat, mm
        "muscle": rng.uniform(9.0, 14.0, n),
        "theta": np.clip(rng.normal(0.0, 0.03, n), -0.08, 0.08),
        "tx": rng.uniform(-8.0, 8.0, n),
        "ty": rng.uniform(-12.0, -2.0, n),
        "heart": rng.uniform(0.9, 1.12, n),
        "heart_angle": rng.uniform(0.3, 0.55, n),
        "heart_dx": rng.uniform(-6.0, 6.0, n),
        "aorta_r": rng.uniform(10.5, 14.0, n),
        "rib_k": rng.integers(9, 12, n).astype(float),
        "rib_phase": rng.uniform(0.0, 2 * np.pi, n),
        "fat_hu": rng.uniform(-115.0, -85.0, n),
        "muscle_hu": rng.uniform(38.0, 55.0, n),
        "blood": rng.uniform(180.0, 320.0, n) if contrast else rng.uniform(35.0, 50.0, n),
        "lung_hu": rng.uniform(-890.0, -840.0, n),
        "lung_grow": np.zeros(n),
    }
    return {k: np.asarray(v, np.float32) for k, v in f.items()}


def _nodule_params(rng, p, labels, per_image, diameter_mm, shape):
    n = len(labels)
    counts = np.where(labels == 1, rng.integers(per_image[0], per_image[1] + 1, n), 0)
    owner = np.repeat(np.arange(n), counts)
    m = len(owner)
    diameter = rng.uniform(diameter_mm[0], diameter_mm[1], m) if diameter_mm[1] > diameter_mm[0] \
        else np.full(m, diameter_mm[0])
    lobulated = {"round": np.zeros(m, bool), "lobulated": np.ones(m, bool),
                 "mixed": rng.random(m) < 0.5}[shape]
    lobes = rng.integers(3, 7, m)
    lobe_amp = np.where(lobulated, rng.uniform(0.12, 0.22, m), 0.0)
    lobe_phase = rng.uniform(0.0, 2 * np.pi, m)
    cand = 48
    cx = rng.uniform(-135.0, 135.0, (m, cand))
    cy = rng.uniform(-85.0, 80.0, (m, cand))
    if m:
        q = {k: v[owner][:, None] for k, v in p.items()}
        level = _lung_level_mm(cx, cy, q)
        # mostly inside the lung; a nodule may touch the pleura (its mask stops there)
        need = (0.6 * diameter / 2.0 * (1.0 + lobe_amp) + 1.5)[:, None]
        ok = level >= need
        pick = np.where(ok.any(axis=1), ok.argmax(axis=1), level.argmax(axis=1))
        rows = np.arange(m)
        cx, cy = cx[rows, pick], cy[rows, pick]
    else:
        cx = cy = np.zeros(0)
    return {"owner": owner, "x": cx, "y": cy, "radius": diameter / 2.0, "lobes": lobes,
            "lobe_amp": lobe_amp, "lobe_phase": lobe_phase}


# ---------------------------------------------------------------------------
# Geometry (mm; level functions are approximate signed distances, > 0 inside)
# ---------------------------------------------------------------------------
def _ellipse_level(x, y, a, b):
    rho = np.sqrt((x * (1.0 / a)) ** 2 + (y * (1.0 / b)) ** 2)
    return (1.0 - rho) * np.minimum(a, b)


def _body_level(x, y, q):
    # the back is flatter than the front: the patient lies on it
    b = np.where(y > 0, q["body_b"] * 0.93, q["body_b"])
    return _ellipse_level(x, y, q["body_a"], b)


def _cavity_level(x, y, q):
    """Inside of the bony thorax (lungs + mediastinum)."""
    a = q["body_a"] - q["fat"] - q["muscle"] - 6.0
    b = q["body_b"] - 0.6 * q["fat"] - q["muscle"] - 4.0
    grow = 1.0 + q["lung_grow"]
    return _ellipse_level(x, y + 4.0, a * grow, b)


def _heart_level(x, y, q):
    hs = q["heart"]
    hx = x - (22.0 + q["heart_dx"])
    hy = y + 26.0
    c, s = np.cos(q["heart_angle"]), np.sin(q["heart_angle"])
    # long axis from posterior-right to anterior-left
    pa = c * hx - s * hy
    pb = s * hx + c * hy
    return _ellipse_level(pa, pb, 59.0 * hs, 44.0 * hs)


def _spine_y(q):
    return q["body_b"] * 0.93 - 50.0


def _mediastinum_level(x, y, q):
    sy = _spine_y(q)
    heart = _heart_level(x, y, q) + 4.0  # pericardial fat
    # central mediastinum behind the heart: left atrium, oesophagus, azygos
    column = np.minimum(np.minimum(15.0 - np.abs(x - 6.0), sy + 10.0 - y), y + 20.0)
    # anterior junction: a thin band of mediastinal fat keeps the two lungs apart
    column = np.maximum(column, 5.0 - np.abs(x - 4.0))
    aorta = 3.0 + q["aorta_r"] - np.sqrt((x - 24.0) ** 2 + (y - (sy - 12.0)) ** 2)
    spine = np.minimum(30.0 - np.abs(x), y - (sy - 22.0))  # vertebra and paraspinal muscles
    return np.maximum(np.maximum(heart, column), np.maximum(aorta, spine))


def _lung_level_mm(x, y, q):
    return np.minimum(_cavity_level(x, y, q), -_mediastinum_level(x, y, q))


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------
def _coords(q, size, spacing):
    g = ((np.arange(size, dtype=np.float32) + 0.5) - size / 2.0) * np.float32(spacing)
    c, s = np.cos(q["theta"])[:, None, None], np.sin(q["theta"])[:, None, None]
    dx = g[None, None, :] - q["tx"][:, None, None]
    dy = g[None, :, None] - q["ty"][:, None, None]
    return c * dx + s * dy, c * dy - s * dx


def _render(q, lesions, start, stop, size, spacing, vessels, table, rng, lesions_ok=True):
    """HU images (k, H, W), lung masks, lesion masks, lesion owners and boxes."""
    k = stop - start
    x, y = _coords(q, size, spacing)
    q3 = {name: value[:, None, None] for name, value in q.items()}
    inv = np.float32(1.0 / spacing)

    def soft(level):
        return np.clip(level * inv + 0.5, 0.0, 1.0)

    def paint(img, level, value):
        m = soft(level)
        img += m * (value - img)
        return m

    img = np.full((k, size, size), HU["air"], np.float32)
    body = _body_level(x, y, q3)
    paint(img, body, q3["fat_hu"])
    # muscles: chest wall (thicker at the front: pectorals) and paraspinal
    paint(img, body - q3["fat"] * (1.0 + 0.25 * np.clip(y / 60.0, -1.0, 0.0)), q3["muscle_hu"])
    sy = _spine_y(q3)
    for side in (-1.0, 1.0):
        para = _ellipse_level(x - side * 33.0, y - (sy + 28.0), 24.0, 21.0)
        paint(img, para, q3["muscle_hu"] + 5.0)
    # the thoracic cavity: mediastinal fat, then the lungs
    cavity = _cavity_level(x, y, q3)
    paint(img, cavity, q3["fat_hu"] + 10.0)
    medi = _mediastinum_level(x, y, q3)
    lung_level = np.minimum(cavity, -medi)
    lung_value = q3["lung_hu"] + 25.0 * np.clip((y - sy + 60.0) / 80.0, 0.0, 1.0)  # dependent lung
    lung_value = lung_value + 12.0 * _texture(rng["lung texture"], k, size)
    if vessels:
        lung_value = lung_value + np.minimum(
            _vessel_map(q, size, spacing, rng), q3["blood"] - lung_value)
    lung_soft = paint(img, lung_level, lung_value)
    # heart (myocardium and blood), aorta, oesophagus
    heart = _heart_level(x, y, q3)
    paint(img, heart, q3["blood"])
    if (q["blood"] > 100).any():  # with contrast the myocardium is greyer than the blood
        wall = np.clip(heart * inv + 0.5, 0.0, 1.0) * np.clip((6.0 - heart) * inv, 0.0, 1.0)
        img += wall * (100.0 - img) * (q3["blood"] > 100)
    aorta = q3["aorta_r"] - np.sqrt((x - 24.0) ** 2 + (y - (sy - 12.0)) ** 2)
    paint(img, aorta, q3["blood"])
    oes = 7.0 - np.sqrt((x - 4.0) ** 2 + (y - (sy - 24.0)) ** 2)
    paint(img, oes, 35.0)
    paint(img, 2.0 - np.sqrt((x - 4.0) ** 2 + (y - (sy - 24.0)) ** 2), HU["air"])
    # spine: vertebral body (cortex + cancellous bone), canal, spinous process
    vb = 17.0 - np.sqrt(x * x + ((y - sy) * 1.1) ** 2)
    paint(img, vb, HU["cortical bone"])
    paint(img, vb - 2.0, HU["cancellous bone"])
    canal = 8.0 - np.sqrt(x * x + (y - sy - 27.0) ** 2)
    arch = 15.0 - np.sqrt(x * x + (y - sy - 28.0) ** 2)
    paint(img, arch, 500.0)
    paint(img, np.minimum(4.0 - np.abs(x), np.minimum(y - sy - 30.0, sy + 44.0 - y)), 500.0)
    paint(img, canal, HU["csf"])
    # ribs: segments of a ring just outside the cavity; sternum at the front
    ring = 3.2 - np.abs(cavity + 6.0)
    angle = np.arctan2(y, x)
    along = np.cos(q3["rib_k"] * angle + q3["rib_phase"])
    front = (np.sin(angle) + 0.7) * 40.0  # no bony ribs at the front (costal cartilage)
    rib = np.minimum(np.minimum(ring, (along - 0.35) * 10.0), front)
    paint(img, rib, HU["cortical bone"])
    paint(img, rib - 1.4, HU["cancellous bone"] + 50.0)
    sternum = _ellipse_level(x, y + q3["body_b"] - q3["fat"] * 0.8 - 9.0, 14.0, 6.0)
    paint(img, sternum, HU["cortical bone"])
    paint(img, sternum - 1.5, HU["cancellous bone"])
    if table:
        top = q3["body_b"] * 0.93 + q3["ty"] + 1.0  # just under the patient's back
        gx = ((np.arange(size, dtype=np.float32) + 0.5) - size / 2.0) * np.float32(spacing)
        curve = top - (gx[None, None, :] ** 2) / 1500.0  # a shallow cradle
        gy = ((np.arange(size, dtype=np.float32) + 0.5) - size / 2.0)[None, :, None] * spacing
        d = gy - curve  # mm below the table top
        span = np.clip((140.0 - np.abs(gx))[None, None, :] * inv, 0.0, 1.0)
        # carbon-fibre skins (partial-volume averaged over the pixel) around a foam core
        half = max(0.5 * spacing, 1.0)
        thin = 1.0 / half  # a 2 mm skin spread over at least one pixel keeps its HU x mm
        skins = np.clip((half - np.abs(d - 1.0)) * np.float32(1.0 / half), 0.0, 1.0) \
            + np.clip((half - np.abs(d - 11.0)) * np.float32(1.0 / half), 0.0, 1.0)
        foam = np.clip(np.minimum(d - 2.0, 10.0 - d) * inv + 0.5, 0.0, 1.0) * span
        img += foam * (-900.0 - img)
        img += np.minimum(skins, 1.0) * span * ((-1000.0 + 1200.0 * min(1.0, thin)) - img)

    lung = drop_specks(lung_level > 0, max(4, size * size // 800))
    masks = np.zeros((k, size, size), bool)
    if not lesions_ok:
        return img, lung, masks, np.zeros(0, np.int64), np.zeros((0, 4), np.float32)
    sel = np.flatnonzero((lesions["owner"] >= start) & (lesions["owner"] < stop))
    if len(sel) == 0:
        return img, lung, masks, np.zeros(0, np.int64), np.zeros((0, 4), np.float32)
    owner = lesions["owner"][sel] - start
    # nodules, in image coordinates of their patient
    c, s = np.cos(q["theta"][owner]), np.sin(q["theta"][owner])
    px = c * lesions["x"][sel] - s * lesions["y"][sel] + q["tx"][owner]
    py = s * lesions["x"][sel] + c * lesions["y"][sel] + q["ty"][owner]
    g = ((np.arange(size, dtype=np.float32) + 0.5) - size / 2.0) * np.float32(spacing)
    dx = g[None, None, :] - px[:, None, None].astype(np.float32)
    dy = g[None, :, None] - py[:, None, None].astype(np.float32)
    r = np.sqrt(dx * dx + dy * dy)
    theta = np.arctan2(dy, dx)
    radius = (lesions["radius"][sel][:, None, None] * (1.0 + lesions["lobe_amp"][sel][:, None, None]
              * np.cos(lesions["lobes"][sel][:, None, None] * theta
                       + lesions["lobe_phase"][sel][:, None, None]))).astype(np.float32)
    frac = np.clip((radius - r) * inv + 0.5, 0.0, 1.0) * lung_soft[owner]
    les = (frac >= 0.5) & lung[owner]
    # at least the centre pixel, however small the nodule
    les |= (r <= 0.72 * spacing) & lung[owner]
    for j, i in enumerate(owner):
        img[i] += frac[j] * (HU["nodule"] - img[i])
        masks[i] |= les[j]
    return img, lung, masks, owner.astype(np.int64), boxes_from_masks(les)


def _texture(rng, k, size):
    """Smooth random texture, zero mean, unit-ish amplitude, (k, size, size)."""
    return upsample(rng.standard_normal((k, 24, 24), dtype=np.float32), size)


def _vessel_map(q, size, spacing, rng):
    """Excess HU of lung vessels over lung, (k, H, W): end-on dots and in-plane branches."""
    k = len(q["theta"])
    # end-on vessels: dots, bigger near the hila
    m = 130
    px = rng["ct vessel x"].uniform(-140.0, 140.0, (k, m))
    py = rng["ct vessel y"].uniform(-90.0, 85.0, (k, m))
    size_r = rng["ct vessel r"].uniform(0.6, 1.3, (k, m))
    qq = {name: value[:, None] for name, value in q.items()}
    inside = _lung_level_mm(px, py, qq) > 1.5
    hilum_d = np.sqrt((np.abs(px) - 50.0) ** 2 + (py - 10.0) ** 2)
    radius = size_r * (0.5 + 2.0 * np.exp(-hilum_d / 40.0))  # mm
    delta = 880.0
    weight = np.where(inside, delta * np.pi * radius**2, 0.0)
    # in-plane branches from each hilum
    b, steps = 5, 7
    base = rng["ct branch base"].uniform(-np.pi, np.pi, (k, 2, b))
    turns = rng["ct branch turns"].normal(0.0, 0.25, (k, 2, b, steps))
    lengths = rng["ct branch length"].uniform(3.0, 6.0, (k, 2, b))
    ang = base[..., None] + np.cumsum(turns, axis=-1)
    hx = np.array([-50.0, 50.0])[None, :, None, None]
    sub = max(1, int(math.ceil(6.0 / (0.6 * spacing))))  # 6 mm: the longest step
    t = (np.arange(steps * sub) + 0.5) / sub
    seg = np.floor(t).astype(int)
    frac = (t - seg)[None, None, None, :]
    cum_x = np.concatenate([np.zeros((k, 2, b, 1)), np.cumsum(np.cos(ang), axis=-1)], axis=-1)
    cum_y = np.concatenate([np.zeros((k, 2, b, 1)), np.cumsum(np.sin(ang), axis=-1)], axis=-1)
    bx = hx + (12.0 * np.cos(base))[..., None] + lengths[..., None] * (
        cum_x[..., seg] + frac * np.cos(ang[..., seg]))
    by = 10.0 + (12.0 * np.sin(base))[..., None] + lengths[..., None] * (
        cum_y[..., seg] + frac * np.sin(ang[..., seg]))
    bx = bx.reshape(k, -1)
    by = by.reshape(k, -1)
    br = 2.6 * (1.0 - 0.6 * t / steps)[None, None, None, :] * np.ones((k, 2, b, 1))
    br = br.reshape(k, -1)
    b_inside = _lung_level_mm(bx, by, qq) > 1.0
    step_mm = np.broadcast_to((lengths / sub)[..., None], (k, 2, b, steps * sub)).reshape(k, -1)
    b_weight = np.where(b_inside, delta * 2.0 * br * step_mm * 0.6, 0.0)

    all_x = np.concatenate([px, bx], axis=1)
    all_y = np.concatenate([py, by], axis=1)
    all_w = np.concatenate([weight, b_weight], axis=1)
    # patient -> image coordinates, then pixels
    c, s = np.cos(qq["theta"]), np.sin(qq["theta"])
    ix = c * all_x - s * all_y + qq["tx"]
    iy = s * all_x + c * all_y + qq["ty"]
    cols = ix / spacing + size / 2.0
    rows = iy / spacing + size / 2.0
    owner = np.broadcast_to(np.arange(k)[:, None], all_x.shape)
    sigma_mm = 1.6
    sigma = max(sigma_mm / spacing, 0.7)
    dens = splat(owner.ravel(), rows.ravel(), cols.ravel(), all_w.ravel() / spacing**2,
                 (k, size, size))
    return ndimage.gaussian_filter(dens, (0, sigma, sigma), mode="constant", truncate=3.0)


def _add_vessels_3d(volume, lung_mask, zc, pix, rng, blood):
    """Continuous vessel trees in 3D (random walks from both hila), splatted and blurred."""
    slices, size, _ = volume.shape
    dz = float(zc[1] - zc[0])
    trees, steps = 48, 40
    start = np.stack([np.repeat([-50.0, 50.0], trees // 2), np.full(trees, 10.0),
                      rng.uniform(-0.2, 0.2, trees) * slices * dz], axis=-1)
    direction = rng.normal(0.0, 1.0, (trees, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    steps_xyz = np.cumsum(
        direction[:, None, :] * 3.0 + rng.normal(0.0, 1.0, (trees, steps, 3)), axis=1)
    sub = max(1, int(math.ceil(3.0 / (0.6 * min(pix, dz)))))
    pts = start[:, None, :] + steps_xyz
    t = np.linspace(0.0, 1.0, sub, endpoint=False)
    seg = pts[:, :-1, None, :] + t[None, None, :, None] * np.diff(pts, axis=1)[:, :, None, :]
    seg = seg.reshape(-1, 3)
    radius = np.repeat(np.linspace(3.0, 0.8, steps - 1), sub)[None, :].repeat(trees, 0).ravel()
    cols = seg[:, 0] / pix + size / 2.0
    rows = seg[:, 1] / pix + size / 2.0
    planes = seg[:, 2] / dz + slices / 2.0
    weight = 880.0 * np.pi * radius**2 * (3.0 / sub) / (pix * pix * dz)
    dens = splat(np.floor(planes), rows, cols, weight, (slices, size, size))
    sigma = (max(1.4 / dz, 0.7), max(1.4 / pix, 0.7), max(1.4 / pix, 0.7))
    dens = ndimage.gaussian_filter(dens, sigma, mode="constant", truncate=3.0)
    volume += np.minimum(dens, np.float32(blood) - volume) * lung_mask


def _ct_noise(rng, shape, sd):
    """CT-like noise: white noise, slightly blurred (correlated), scaled to ``sd`` HU."""
    white = rng.standard_normal(shape, dtype=np.float32)
    axes = (0,) * (len(shape) - 2) + (0.6, 0.6)
    corr = ndimage.gaussian_filter(white, axes, mode="wrap")
    return corr * np.float32(sd * _noise_gain(0.6))


@functools.lru_cache(maxsize=8)
def _noise_gain(sigma):
    delta = np.zeros((33, 33), np.float32)
    delta[16, 16] = 1.0
    kernel = ndimage.gaussian_filter(delta, sigma)
    return float(1.0 / np.sqrt(np.sum(kernel**2)))


def _outside_fov(img):
    """Set everything outside the inscribed circle (the scan field of view) to air."""
    size = img.shape[-1]
    g = np.arange(size) + 0.5 - size / 2.0
    outside = (g[:, None] ** 2 + g[None, :] ** 2) > (size / 2.0) ** 2
    img[..., outside] = HU["air"]


def _scan(reference, spacing, angles, dose, rng):
    """Project, add photon noise and reconstruct each slice: (sinograms, images in HU)."""
    from skimage.transform import iradon, radon

    n, size, _ = reference.shape
    sinograms = np.empty((n, size, len(angles)), np.float32)
    images = np.empty_like(reference)
    for i in range(n):
        mu = MU_WATER * (1.0 + reference[i].astype(np.float64) / 1000.0)  # 1/mm
        np.clip(mu, 0.0, None, out=mu)
        line = radon(mu, theta=angles, circle=True) * spacing  # dimensionless line integrals
        counts = rng.poisson(dose * np.exp(-line))
        measured = -np.log(np.maximum(counts, 1) / dose)
        sinograms[i] = measured
        recon = iradon(measured / spacing, theta=angles, circle=True, filter_name="ramp",
                       output_size=size)
        images[i] = 1000.0 * (recon / MU_WATER - 1.0)
    _outside_fov(images)
    return sinograms, images
