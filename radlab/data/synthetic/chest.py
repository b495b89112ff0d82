"""Synthetic frontal (PA) chest radiographs with lung masks, nodules and consolidations.

The anatomy is drawn analytically, for a whole batch at once, in "body coordinates"
``(u, v)``: ``u`` runs from the image's left edge (the patient's right) at -1 to its
right edge (the patient's left) at +1, ``v`` from the top (-1) to the bottom (+1).
Each patient gets its own scale, rotation, position, inspiration depth, heart size
and rib spacing, so every image differs a little, as real patients do.

Brightness follows radiographic convention: denser = whiter. The picture is built
as a sum of densities (soft tissue of the trunk minus the air of the lungs, plus
ribs, clavicles, spine, vessels and lesions), then passed through a per-image
exposure and a per-scanner response, blurred (detector unsharpness) and made noisy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import ndimage

from ._common import (
    NO_FINDING, PhantomSet, boxes_from_masks, check_count, check_count_range, check_fraction,
    Streams, check_nonnegative, check_range, check_seed, check_size, chunks, collect_boxes,
    drop_specks, grid, splat, upsample,
)

__all__ = ["chest_phantoms", "SCANNERS", "FIELD_OF_VIEW_MM"]

#: Width of the simulated detector, mm (a 43 cm cassette, a little cropped). The
#: nominal pixel spacing is ``FIELD_OF_VIEW_MM / size``.
FIELD_OF_VIEW_MM = 400.0

#: Simulated scanners/sites for the dataset-shift lesson. ``contrast`` and ``gamma``
#: change the grey-level response, ``brightness`` adds an offset (0-1 units),
#: ``noise`` multiplies the noise level and ``blur`` adds detector unsharpness (mm,
#: Gaussian sigma, added in quadrature).
SCANNERS: dict[str, dict[str, float]] = {
    "A": {"contrast": 1.0, "brightness": 0.0, "gamma": 1.0, "noise": 1.0, "blur": 0.0},
    # A softer, brighter, noisier, blurrier system, as a bedside (portable) unit or
    # another vendor's processing might give.
    "B": {"contrast": 0.78, "brightness": 0.08, "gamma": 0.8, "noise": 2.0, "blur": 2.0},
}

_FINDINGS = ("pneumonia", "nodule", "both")
#: Range of the per-patient heart size factor when ``heart_size`` is not given: normal
#: hearts (1 = the standard heart).
NORMAL_HEART_SIZE = (0.9, 1.12)
_DEFAULT_SIZE_MM = {"nodule": (12.0, 30.0), "pneumonia": (70.0, 150.0)}
_DEFAULT_CONTRAST = {"nodule": (0.12, 0.25), "pneumonia": (0.18, 0.35)}

# Lobe-like regions for consolidation, as projected on a PA film. In lung coordinates:
# h = height within that lung (0 at the apex, 1 at the top of its diaphragm dome),
# a = distance from the midline towards that lung's side (body units). Columns: side
# (-1 = patient's right), h range, a range, and how soft the upper and lower borders
# are (in h; a fissure gives a sharp edge).
_LOBES = (
    # name, side, h_lo, h_hi, a_lo, a_hi, soft_lo, soft_hi
    ("right upper lobe", -1, -9.0, 0.52, 0.0, 9.0, 0.06, 0.01),  # sharp horizontal fissure
    ("right middle lobe", -1, 0.52, 9.0, 0.0, 0.48, 0.01, 0.06),  # hides the right heart border
    ("right lower lobe", -1, 0.62, 9.0, 0.0, 9.0, 0.06, 0.06),  # hides the hemidiaphragm
    ("left upper lobe", 1, -9.0, 0.50, 0.0, 9.0, 0.06, 0.06),
    ("lingula", 1, 0.48, 9.0, 0.0, 0.60, 0.06, 0.06),  # hides the left heart border
    ("left lower lobe", 1, 0.64, 9.0, 0.0, 9.0, 0.06, 0.06),
)
_LOBE_TABLE = np.array([lobe[1:] for lobe in _LOBES], dtype=np.float32)

# The lead "L" side marker, as a bitmap: 2 = lead letter, 1 = plastic holder.
_MARKER = np.array(
    [
        [1, 1, 1, 1, 1, 1, 1],
        [1, 2, 2, 1, 1, 1, 1],
        [1, 2, 2, 1, 1, 1, 1],
        [1, 2, 2, 1, 1, 1, 1],
        [1, 2, 2, 1, 1, 1, 1],
        [1, 2, 2, 2, 2, 2, 1],
        [1, 2, 2, 2, 2, 2, 1],
        [1, 1, 1, 1, 1, 1, 1],
    ],
    dtype=np.uint8,
)


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------
def chest_phantoms(
    n: int,
    size: int = 64,
    *,
    seed: int | None = 0,
    finding: str | None = "pneumonia",
    prevalence: float = 0.5,
    lesion_size=None,
    lesion_contrast=None,
    lesions_per_image=1,
    scanner=None,
    marker: str | None = None,
    marker_correlation: float = 0.9,
    noise: float = 0.015,
    blur: float = 1.5,
    heart_size=None,
) -> PhantomSet:
    """Synthetic frontal chest radiographs with lung masks, lesion masks, boxes and labels.

    Each image is a posteroanterior (PA) chest radiograph phantom: the soft tissue of
    the trunk, neck and shoulders; two dark lungs (the right one larger, the left one
    cut by the heart shadow) above the diaphragm domes (the right one higher); the
    heart bulging to the patient's left (image right), the mediastinum, trachea and
    spine in the midline; clavicles, posterior ribs and the vessels that fan out from
    the hila. Patients vary in size, rotation, position, inspiration, heart size and
    exposure. Generation is vectorised over the batch (over 1,000 images per second
    at 64 x 64 on one laptop core).

    Parameters
    ----------
    n : int
        Number of images (> 0).
    size : int, default 64
        Image height and width, pixels (>= 32). The field of view is always
        ``FIELD_OF_VIEW_MM`` (400 mm), so the pixel spacing is ``400 / size`` mm and
        the same patient looks alike at every size.
    seed : int or None, default 0
        Same seed and arguments -> identical arrays (whatever the chunking); None
        draws fresh randomness.
    finding : {"pneumonia", "nodule", "both", None}, default "pneumonia"
        What the positive images show. ``"pneumonia"``: a patchy, ill-defined
        consolidation confined to a lobe-like region of one lung (classification,
        segmentation, the silhouette sign). ``"nodule"``: small round soft-tissue
        densities in the lungs (detection). ``"both"``: each positive image gets one
        of the two at random. ``None``: all images normal, labels all 0 (lung
        segmentation).
    prevalence : float, default 0.5
        Fraction of images with the finding, in [0, 1]. The count is exactly
        ``round(prevalence * n)``, in random order (class balance, and the
        prevalence lesson: PPV changes with it).
    lesion_size : float or (min, max), mm, optional
        Lesion diameter in mm, drawn uniformly from the range per lesion. Defaults:
        nodules 12-30 mm, consolidations 70-150 mm. At 64 px one pixel is 6.25 mm,
        so small nodules are barely visible: the detection-limit lesson.
    lesion_contrast : float or (min, max), optional
        Peak added brightness of a lesion, in display units (0-1). Default 0.12-0.25.
        Lower it to make the task harder (ROC curves, reader studies).
    lesions_per_image : int or (min, max), default 1
        Number of lesions in each positive image (detection with several boxes).
        A consolidation is always one lobe; several give multilobar pneumonia.
    scanner : None, "A", "B" or dict, default None
        Simulated scanner/site (dataset shift). None is ``"A"``, the reference.
        ``"B"`` is softer, brighter, noisier and blurrier. A dict may set
        ``contrast``, ``brightness``, ``gamma``, ``noise`` (a factor), ``blur`` (mm)
        and ``name``; missing keys take scanner A's values. See :data:`SCANNERS`.
    marker : None or "spurious", default None
        ``"spurious"`` burns a bright lead "L" side marker into the top-right corner
        of some images, so that its presence agrees with the label in a fraction
        ``marker_correlation`` of images: a shortcut a CNN will happily learn
        (shortcut learning, Clever Hans).
    marker_correlation : float, default 0.9
        Fraction of images in which marker presence equals the label, in [0, 1]:
        a marker on about this fraction of positives and on ``1 - marker_correlation``
        of negatives. 0.5 makes the marker useless; 1.0 a perfect shortcut. (With
        ``finding=None`` all labels are 0, so the marker appears on a fraction
        ``1 - marker_correlation`` of the images.)
    noise : float, default 0.015
        Standard deviation of the added Gaussian noise, display units (0-1), before
        the scanner's noise factor.
    blur : float, default 1.5
        Detector unsharpness, Gaussian sigma in mm (a 0.5-pixel anti-aliasing blur is
        always added).
    heart_size : None, float, (min, max) tuple or array of shape (n,), optional
        Heart size factor (1 = the standard heart; it scales the heart's width and
        height). None draws normal hearts from :data:`NORMAL_HEART_SIZE`; a tuple
        draws uniformly from that range instead (the same random numbers, rescaled,
        so nothing else about the patients changes); a NumPy array gives one factor
        per image. All values must lie in [0.7, 1.7]. From about 1.3 the heart
        shadow is clearly enlarged (cardiomegaly): wider than half the thorax.

    Returns
    -------
    PhantomSet
        ``images`` float32 (n, size, size) in [0, 1]; ``lung_masks`` and
        ``lesion_masks`` bool; ``boxes`` (x0, y0, x1, y1) pixels per image;
        ``labels`` int64; per-image ``finding``, ``lesion_area_px``,
        ``lesion_area_mm2``, ``marker``, ``scanner``; ``x``/``y`` for Keras.

    Raises
    ------
    ValueError
        For n <= 0, size < 32, prevalence or marker_correlation outside [0, 1], an
        unknown finding, scanner or marker, or a negative noise or blur.

    Examples
    --------
    >>> data = chest_phantoms(1000, seed=0)                      # doctest: +SKIP
    >>> model.fit(data.x, data.y, epochs=5)                     # doctest: +SKIP
    >>> shortcut = chest_phantoms(1000, marker="spurious")        # doctest: +SKIP
    """
    n = check_count(n)
    size = check_size(size, 32)
    seed = check_seed(seed)
    if finding is not None and finding not in _FINDINGS:
        raise ValueError(
            f"unknown finding {finding!r}; use one of 'pneumonia', 'nodule', 'both' or None"
        )
    prevalence = check_fraction(prevalence, "prevalence")
    marker_correlation = check_fraction(marker_correlation, "marker_correlation")
    if marker not in (None, "spurious"):
        raise ValueError(f"unknown marker {marker!r}; use None or 'spurious'")
    noise = check_nonnegative(noise, "noise", "display units, 0-1")
    blur = check_nonnegative(blur, "blur", "mm")
    per_image = check_count_range(lesions_per_image, "lesions_per_image", high=6)
    heart = _check_heart_size(heart_size, n)
    if finding is None:
        kinds: tuple[str, ...] = ()
    else:
        kinds = ("nodule", "pneumonia") if finding == "both" else (finding,)
    size_mm = {k: check_range(lesion_size if lesion_size is not None else _DEFAULT_SIZE_MM[k],
                              "lesion_size", "mm", 0.0, 200.0) for k in kinds}
    contrast = {k: check_range(lesion_contrast if lesion_contrast is not None
                               else _DEFAULT_CONTRAST[k], "lesion_contrast",
                               "display units", 0.0, 1.0, low_inclusive=True) for k in kinds}
    scanner_name, scan = _resolve_scanner(scanner)

    spacing = FIELD_OF_VIEW_MM / size
    rng = Streams(seed)
    rng_param = rng["params"]

    # --- per-image parameters: all drawn up front, for every image ----------------
    p = _patient_params(rng_param, n)
    if heart is not None:  # rescale (or replace) the normal draw: the streams stay aligned
        lo, hi = NORMAL_HEART_SIZE
        t = (p["heart"] - np.float32(lo)) / np.float32(hi - lo)
        p["heart"] = (heart[0] + (heart[1] - heart[0]) * t if isinstance(heart, tuple)
                      else heart).astype(np.float32)
    labels = np.zeros(n, np.int64)
    labels[rng_param.permutation(n)[: int(round(prevalence * n))]] = 1 if kinds else 0
    kind_index = rng_param.integers(0, max(len(kinds), 1), n)
    finding_arr = np.full(n, NO_FINDING, dtype="<U9")
    if kinds:
        finding_arr[labels == 1] = np.asarray(kinds)[kind_index[labels == 1]]
    lesions = _lesion_params(rng_param, p, finding_arr, per_image, size_mm, contrast, spacing)
    if marker == "spurious":
        agree = rng_param.random(n) < marker_correlation
        has_marker = np.where(agree, labels == 1, labels == 0)
    else:
        rng_param.random(n)  # keep the stream aligned whatever the marker setting
        has_marker = np.zeros(n, bool)
    marker_offset = rng_param.uniform(-1.0, 1.0, (n, 2))

    # --- render chunk by chunk ----------------------------------------------------
    images = np.empty((n, size, size), np.float32)
    lung_masks = np.empty((n, size, size), bool)
    lesion_masks = np.zeros((n, size, size), bool)
    box_owner, box_rows = [], []
    # detector unsharpness (mm, in quadrature with the scanner's) plus anti-aliasing
    sigma_px = math.hypot(math.hypot(blur, scan["blur"]) / spacing, 0.5)
    noise_sd = noise * scan["noise"]
    for start, stop in chunks(n, size):
        sl = slice(start, stop)
        q = {k: v[sl] for k, v in p.items()}
        img, lung, vessels = _render_anatomy(q, size, spacing, sigma_px, rng)
        lung_mask = drop_specks(lung > 0, max(4, size * size // 400))
        les_img, les_mask, owner, rows = _render_lesions(lesions, start, stop, q, size,
                                                         lung_mask, vessels, rng)
        img += les_img
        _burn_marker(img, has_marker[sl], marker_offset[sl], size)
        img = _respond(img, q, scan)
        if sigma_px > 0:
            img = ndimage.gaussian_filter(img, (0, sigma_px, sigma_px), mode="nearest",
                                          truncate=3.0)
        if noise_sd > 0:
            img += rng["noise"].standard_normal(img.shape, dtype=np.float32) * np.float32(noise_sd)
        np.clip(img, 0.0, 1.0, out=img)
        images[sl] = img
        lung_masks[sl] = lung_mask
        lesion_masks[sl] = les_mask
        box_owner.append(owner + start)
        box_rows.append(rows)

    area_px = lesion_masks.sum(axis=(1, 2)).astype(np.int64)
    places: list[list[str]] = [[] for _ in range(n)]
    for i, where in zip(lesions["owner"], lesions["location"]):
        if where not in places[i]:
            places[i].append(str(where))
    attributes = {
        "sex": np.where(p["female"] > 0.5, "F", "M"),
        "location": np.array(["; ".join(x) for x in places], dtype=object).astype(str),
    }
    boxes = collect_boxes(n, np.concatenate(box_owner), np.concatenate(box_rows))
    params: dict[str, Any] = {
        "kind": "chest radiograph", "n": n, "size": size, "seed": seed, "finding": finding,
        "prevalence": prevalence, "lesion_size_mm": size_mm, "lesion_contrast": contrast,
        "lesions_per_image": per_image, "scanner": {"name": scanner_name, **scan},
        "marker": marker, "marker_correlation": marker_correlation, "noise": noise,
        "blur_mm": blur, "field_of_view_mm": FIELD_OF_VIEW_MM,
        "heart_size": "normal" if heart is None else (heart if isinstance(heart, tuple) else "per image"),
    }
    return PhantomSet(
        images=images, lung_masks=lung_masks, lesion_masks=lesion_masks, boxes=boxes,
        labels=labels, finding=finding_arr, lesion_area_px=area_px,
        lesion_area_mm2=area_px * spacing**2, marker=has_marker,
        scanner=np.full(n, scanner_name, dtype=f"<U{max(1, len(scanner_name))}"),
        pixel_spacing_mm=spacing, modality="DX", units="intensity", window=(0.5, 1.0),
        attributes=attributes, params=params,
    )


# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------
def _resolve_scanner(scanner) -> tuple[str, dict[str, float]]:
    if scanner is None:
        return "A", dict(SCANNERS["A"])
    if isinstance(scanner, str):
        if scanner not in SCANNERS:
            raise ValueError(
                f"unknown scanner {scanner!r}; use one of {sorted(SCANNERS)} or a dict of "
                f"settings ({', '.join(SCANNERS['A'])})"
            )
        return scanner, dict(SCANNERS[scanner])
    if isinstance(scanner, dict):
        unknown = set(scanner) - set(SCANNERS["A"]) - {"name"}
        if unknown:
            raise ValueError(
                f"unknown scanner setting(s) {sorted(unknown)}; allowed: "
                f"{', '.join(SCANNERS['A'])}, name"
            )
        settings = dict(SCANNERS["A"])
        for key, value in scanner.items():
            if key == "name":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
                    or not np.isfinite(value):
                raise ValueError(f"scanner setting {key!r} must be a number, got {value!r}")
            settings[key] = float(value)
        for key in ("contrast", "gamma"):
            if settings[key] <= 0:
                raise ValueError(f"scanner {key} must be > 0, got {settings[key]}")
        for key in ("noise", "blur"):
            if settings[key] < 0:
                raise ValueError(f"scanner {key} must be >= 0, got {settings[key]}")
        return str(scanner.get("name", "custom")), settings
    raise ValueError(f"scanner must be None, 'A', 'B' or a dict of settings, got {scanner!r}")


def _check_heart_size(value, n: int):
    """None, a (min, max) tuple of floats, or a float32 array (n,) of heart size factors."""
    low, high = 0.7, 1.7
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        if value.shape != (n,) or not np.issubdtype(value.dtype, np.number):
            raise ValueError(
                f"heart_size as an array needs one number per image, shape ({n},); got "
                f"{value.dtype} {value.shape}. For a range pass a (min, max) tuple"
            )
        if not (np.all(np.isfinite(value)) and value.min() >= low and value.max() <= high):
            raise ValueError(f"heart_size factors must lie in [{low}, {high}], got values from "
                             f"{value.min():g} to {value.max():g}")
        return value.astype(np.float32)
    return check_range(value, "heart_size", "(a factor; 1 = the standard heart)", low, high,
                       low_inclusive=True)


def _patient_params(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Per-patient anatomy and exposure, float32 arrays of shape (n,)."""
    f = {
        "scale": rng.uniform(0.93, 1.05, n),  # patient size relative to the detector
        "width": rng.uniform(0.95, 1.06, n),  # habitus: broad or slender
        "theta": np.clip(rng.normal(0.0, 0.025, n), -0.07, 0.07),  # rotation, radians
        "tx": rng.uniform(-0.035, 0.035, n),
        "ty": rng.uniform(-0.02, 0.05, n),
        "insp": rng.uniform(-0.07, 0.07, n),  # depth of inspiration: lower domes, taller lungs
        "heart": rng.uniform(*NORMAL_HEART_SIZE, n),  # heart size
        "heart_du": rng.uniform(-0.03, 0.03, n),
        "rib_sp": rng.uniform(0.112, 0.126, n),  # posterior rib spacing (body units)
        "rib_ph": rng.uniform(0.0, 1.0, n),
        "soft": rng.uniform(0.88, 1.12, n),  # soft-tissue thickness
        "expo": rng.normal(0.0, 0.02, n),  # exposure: brightness
        "gain": rng.uniform(0.93, 1.07, n),  # exposure: contrast
        "clav": rng.uniform(-0.04, 0.04, n),  # clavicle height
        "dome_r": rng.uniform(-0.03, 0.03, n),
        "dome_gap": rng.uniform(0.03, 0.08, n),  # left dome lower than the right
        "bubble": rng.uniform(0.0, 1.0, n),  # gastric air bubble: present if < 0.6
        "bubble_r": rng.uniform(0.05, 0.085, n),
        "bubble_du": rng.uniform(0.28, 0.45, n),
        "female": (rng.random(n) < 0.5).astype(float),  # breast shadows
        "breast": rng.uniform(0.6, 1.2, n),  # their size and density
    }
    return {k: v.astype(np.float32) for k, v in f.items()}


def _lesion_params(rng, p, finding, per_image, size_mm, contrast, spacing) -> dict[str, np.ndarray]:
    """Every lesion of every image: owner, kind, centre (body coords), size, contrast."""
    n = len(finding)
    counts = np.where(finding != NO_FINDING, rng.integers(per_image[0], per_image[1] + 1, n), 0)
    owner = np.repeat(np.arange(n), counts)
    kind = finding[owner]
    m = len(owner)
    diameter = np.zeros(m)
    peak = np.zeros(m)
    u01 = rng.random((2, m))
    for k in size_mm:
        sel = kind == k
        lo, hi = size_mm[k]
        diameter[sel] = lo + (hi - lo) * u01[0, sel]
        lo, hi = contrast[k]
        peak[sel] = lo + (hi - lo) * u01[1, sel]
    lobe = rng.integers(0, len(_LOBES), m)
    # candidate centres, filtered below with the analytic lung shape
    n_cand = 48
    cand_side = np.where(rng.random((m, n_cand)) < 0.5, -1.0, 1.0)
    cand_ta = rng.random((m, n_cand))  # across the lung, 0-1
    cand_tv = rng.random((m, n_cand))  # down the lung (or the lobe), 0-1
    stretch = rng.uniform(0.75, 1.3, m)  # consolidation aspect ratio
    angle = rng.uniform(0.0, np.pi, m)
    if m == 0:
        empty = np.zeros(0, np.float32)
        return {"owner": owner, "kind": kind, "location": np.zeros(0, "<U1"), "u": empty,
                "v": empty, "radius_px": empty,
                "peak": empty, "lobe": lobe, "stretch": empty, "angle": empty}
    q = {k: v[owner][:, None] for k, v in p.items()}
    # body units are (scale * FOV / 2) mm; the lesion radius in body units:
    radius_body = (diameter / 2.0) / (FIELD_OF_VIEW_MM / 2.0) / p["scale"][owner]
    is_pneu = kind == "pneumonia"
    lobes = _LOBE_TABLE[lobe]
    side = np.where(is_pneu[:, None], lobes[:, 0:1], cand_side)
    # nodules: anywhere in a box around the lungs; consolidations: within their lobe's
    # range of heights and distances from the midline, so that candidates rarely miss
    geo_r, geo_l = _lung_geometry(q, -1), _lung_geometry(q, 1)
    apex = np.where(side < 0, geo_r["vc"] - geo_r["B"], geo_l["vc"] - geo_l["B"])
    dome = np.where(side < 0, geo_r["dome"], geo_l["dome"])
    h_lo, h_hi = np.maximum(lobes[:, 1:2], 0.03), np.minimum(lobes[:, 2:3], 1.05)
    a_lo, a_hi = np.maximum(lobes[:, 3:4], 0.1), np.minimum(lobes[:, 4:5], 0.85)
    cand_v = np.where(is_pneu[:, None],
                      apex + (h_lo + (h_hi - h_lo) * cand_tv) * (dome - apex),
                      -0.75 + 1.3 * cand_tv)
    cand_a = np.where(is_pneu[:, None], a_lo + (a_hi - a_lo) * cand_ta, 0.12 + 0.7 * cand_ta)
    u = side * cand_a
    level = np.maximum(_lung_level(u, cand_v, q, -1), _lung_level(u, cand_v, q, 1))
    # a nodule must fit inside the lung; a consolidation's centre must lie well inside
    # its lobe-like region (its edge is clipped to the lung anyway)
    need = np.where(is_pneu, 0.05, radius_body + 0.015)[:, None]
    ok = level >= need
    a = side * u
    h = np.where(side < 0, _lung_height(cand_v, q, -1), _lung_height(cand_v, q, 1))
    lobe_margin = np.minimum.reduce([
        h - lobes[:, 1:2], lobes[:, 2:3] - h, a - lobes[:, 3:4], lobes[:, 4:5] - a,
    ])
    ok &= np.where(is_pneu[:, None], lobe_margin >= 0.05, True)
    score = np.where(ok, 1.0 + level, level - 10.0)  # first valid candidate, else the best
    first_ok = ok.argmax(axis=1)
    pick = np.where(ok.any(axis=1), first_ok, score.argmax(axis=1))
    rows = np.arange(m)
    # where each lesion is, in words: the lobe of a consolidation, lung and zone of a nodule
    zone = np.array(["upper", "middle", "lower"])[
        np.digitize(h[rows, pick], [0.4, 0.7])]
    lung_side = np.where(u[rows, pick] < 0, "right", "left")
    location = np.where(is_pneu, np.array([lobe[0] for lobe in _LOBES])[lobe],
                        np.char.add(np.char.add(lung_side, " lung, "), np.char.add(zone, " zone")))
    return {
        "owner": owner, "kind": kind, "location": location,
        "u": u[rows, pick].astype(np.float32), "v": cand_v[rows, pick].astype(np.float32),
        "radius_px": (diameter / 2.0 / spacing).astype(np.float32),
        "peak": peak.astype(np.float32), "lobe": lobe,
        "stretch": stretch.astype(np.float32), "angle": angle.astype(np.float32),
    }


# ---------------------------------------------------------------------------
# Anatomy
# ---------------------------------------------------------------------------
def _body_coords(q, size):
    """(u, v) body coordinates of every pixel, (k, H, W) float32 each."""
    g = grid(size)
    c, s = np.cos(q["theta"])[:, None, None], np.sin(q["theta"])[:, None, None]
    dx = g[None, None, :] - q["tx"][:, None, None]
    dy = g[None, :, None] - q["ty"][:, None, None]
    inv_s = (1.0 / q["scale"])[:, None, None]
    u = (c * dx + s * dy) * (inv_s / q["width"][:, None, None])
    v = (c * dy - s * dx) * inv_s
    return u, v


def _to_pixels(u, v, q, size):
    """Body coordinates -> (row, col) in pixels (continuous; pixel i spans [i, i+1))."""
    c, s = np.cos(q["theta"]), np.sin(q["theta"])
    bu = u * q["scale"] * q["width"]
    bv = v * q["scale"]
    x = c * bu - s * bv + q["tx"]
    y = s * bu + c * bv + q["ty"]
    half = size / 2.0
    return (y + 1.0) * half, (x + 1.0) * half


def _lung_geometry(q, side):
    """Shape parameters of one lung (side -1 = patient's right = image left)."""
    right = side < 0
    insp = q["insp"]
    return {
        "vc": 0.05 + 0.5 * insp,
        "A": 0.405 if right else 0.39,
        "B": 0.85 + 0.45 * insp,
        "dome": (0.33 + insp + q["dome_r"]) + (0.0 if right else q["dome_gap"]),
    }


def _heart_level(u, v, q):
    """Approximate signed distance (body units) outside the heart: > 0 outside."""
    hs = q["heart"]
    hu = u - (0.19 + q["heart_du"])
    hv = v - (0.25 + 0.6 * q["insp"])
    cphi, sphi = 0.91, 0.42  # long axis tilted down to the patient's left
    pa = (cphi * hu + sphi * hv) * (1.0 / (0.35 * hs))
    pb = (cphi * hv - sphi * hu) * (1.0 / (0.25 * hs))
    pb = np.minimum(pb, 0.5 * pb)  # the lower half reaches down onto the diaphragm
    return (np.sqrt(pa * pa + pb * pb) - 1.0) * (0.25 * hs)


def _lung_height(v, q, side):
    """Height within one lung: 0 at its apex, 1 at the top of its diaphragm dome."""
    g = _lung_geometry(q, side)
    apex = g["vc"] - g["B"]
    return (v - apex) / (g["dome"] - apex)


def _lung_level(u, v, q, side):
    """Approximate signed distance (body units) inside one lung: > 0 inside.

    Works on any broadcastable shapes: full (k, H, W) grids or (k, K) point sets.
    """
    g = _lung_geometry(q, side)
    a = -u if side < 0 else u  # distance from the midline towards this lung's side
    dv = v - g["vc"]
    # lateral and apical contour: an ellipse whose centre moves laterally downwards
    ac = 0.44 + 0.12 * dv
    ell = ((a - ac) * (1.0 / g["A"])) ** 2 + (dv * (1.0 / g["B"])) ** 2
    level = (1.0 - ell) * (0.5 * g["A"])
    # diaphragm dome: highest mid-lung, lower at the costophrenic and cardiophrenic angles
    dome = g["dome"] + 1.5 * (a - 0.40) ** 2
    level = np.minimum(level, dome - v)
    # mediastinum; on the left the aortic knob bulges into the lung
    if side > 0:
        dk = (v + 0.33) * (1.0 / 0.075)
        medial = 0.075 + 0.085 / (1.0 + dk * dk)
        return np.minimum(np.minimum(level, a - medial), _heart_level(u, v, q))
    # right border: superior vena cava (straight), then the gentle convexity of the
    # right atrium down to the diaphragm
    dh = (v - (0.27 + 0.6 * q["insp"])) * (1.0 / 0.33)
    atrium = (0.07 + 0.08 * q["heart"]) * np.sqrt(np.clip(1.0 - dh * dh, 0.0, 1.0))
    medial = 0.075 + np.maximum(0.05 * np.clip((v + 0.55) * 3.0, 0.0, 1.0), atrium)
    return np.minimum(level, a - medial)


def _render_anatomy(q, size, spacing, sigma_px, rng):
    """Normal chest radiographs (k, H, W) float32, the lung level (> 0 = lung) and the
    (unblurred) vessel density, which the final detector blur smooths."""
    u, v = _body_coords(q, size)
    q3 = {name: value[:, None, None] for name, value in q.items()}
    eps = np.float32(2.0 / size)  # about one pixel in body units
    inv_eps = np.float32(1.0 / eps)
    au = np.abs(u)
    # Structures confined to part of the frame are drawn on those rows or columns only
    # (with margins for the largest rotation, shift and scale of _patient_params).
    top, upper, lower = slice(0, size // 2), slice(0, int(size * 0.55)), slice(size // 2, size)
    hila = slice(int(size * 0.2), int(size * 0.7))

    # trunk, neck and rounded shoulders: half-width as a function of height
    t = np.clip((v + 1.12) * (1.0 / 0.42), 0.0, 1.0)
    half_width = 0.25 + 0.71 * np.sqrt(t * (2.0 - t)) - 0.03 * np.clip(v - 0.55, 0.0, None)
    body = np.clip((half_width - au) * inv_eps + 0.5, 0.0, 1.0)
    thickness = np.sqrt(np.clip(1.0 - (au / half_width) ** 2, 0.0, 1.0))
    img = body * (0.16 + 0.62 * thickness * np.sqrt(thickness) * q3["soft"])

    # lungs: air lowers the density; thin at the edges, so the edge is soft. Each lung
    # lies on its own side of the midline, so each is evaluated on ~55% of the columns.
    right, left = slice(0, int(size * 0.56)), slice(int(size * 0.44), size)
    lung = np.full(u.shape, -1.0, np.float32)
    lung[..., right] = _lung_level(u[..., right], v[..., right], q3, -1)
    np.maximum(lung[..., left], _lung_level(u[..., left], v[..., left], q3, 1),
               out=lung[..., left])
    lung_soft = np.clip(lung * inv_eps + 0.5, 0.0, 1.0)
    depth = np.sqrt(np.clip(lung * (1.0 / 0.10), 0.0, 1.0))
    img -= depth * (0.47 - 0.12 * np.clip(v + 0.1, 0.0, 0.7))  # bases greyer (soft-tissue overlap)

    # spine (vertebral bodies and discs) and the air column of trachea and main bronchi
    spine = np.clip((0.075 - au) * inv_eps, 0.0, 1.0)
    discs = np.cos((v - q3["rib_ph"] * 0.11) * np.float32(2 * np.pi / 0.115))
    img += spine * (0.06 + 0.015 * discs)
    ua, va = au[:, upper], v[:, upper]
    carina = -0.26
    airway = np.clip((0.036 - ua) * inv_eps, 0.0, 1.0) * np.clip((carina - va) * inv_eps, 0.0, 1.0)
    bronchus = np.clip((0.028 - np.abs(va - carina - 0.7 * ua)) * inv_eps, 0.0, 1.0)
    airway = np.maximum(airway, bronchus * np.clip((0.17 - ua) * inv_eps, 0.0, 1.0))
    img[:, upper] -= airway * 0.10 * body[:, upper]

    # ribs: posterior ribs arch upwards from the spine and turn down laterally;
    # anterior ribs, fainter, run down towards the midline. Seen through the lungs.
    cage = ((au - 0.44) * (1.0 / 0.47)) ** 2 + ((v - 0.03) * (1.0 / 0.98)) ** 2
    cage = np.clip((1.0 - cage) * 6.0, 0.0, 1.0) * np.clip((au - 0.06) * inv_eps, 0.0, 1.0)
    # Below the diaphragm the dense abdomen hides the lower ribs almost entirely.
    abdomen = np.clip((v - 0.30) * 5.0, 0.0, 1.0)
    show = cage * (0.02 * (1.0 - 0.85 * abdomen) + 0.04 * depth)
    lat = np.clip(au - 0.55, 0.0, None)
    w = v + 0.55 * au - 0.45 * au * au - 2.6 * lat * lat
    phase = w * (1.0 / q3["rib_sp"]) * (1.0 - 0.12 * w) + q3["rib_ph"]
    rib = np.clip((np.cos(phase * np.float32(2.0 * np.pi)) - 0.35) * (1.0 / 0.3), 0.0, 1.0)
    img += rib * show
    wa = v - 0.55 * (0.9 - au)
    phase = wa * (1.0 / (1.25 * q3["rib_sp"])) + q3["rib_ph"]
    rib = np.clip((np.cos(phase * np.float32(2.0 * np.pi)) - 0.55) * (1.0 / 0.3), 0.0, 1.0)
    img += rib * show * (0.5 * np.clip((au - 0.22) * 5.0, 0.0, 1.0))

    # clavicles: S-shaped bars from the sternal notch out to the shoulders
    ca = au[:, top] - 0.07
    cv = v[:, top] - (-0.53 + q3["clav"] - 0.42 * ca + 0.22 * ca * ca
                      + 0.5 * np.clip(0.12 - ca, 0.0, None))
    clav = np.clip(1.0 - (cv * (1.0 / (0.045 - 0.02 * ca))) ** 2, 0.0, 1.0)
    clav *= np.clip(ca * 12.0, 0.0, 1.0) * np.clip((0.64 - ca) * 10.0, 0.0, 1.0)
    img[:, top] += np.sqrt(clav) * 0.09

    # hila: the pulmonary arteries, dense near the mediastinum
    uh, vh = u[:, hila], v[:, hila]
    for hu, hv in ((-0.21, -0.05), (0.21, -0.09)):
        img[:, hila] += np.exp(((uh - hu) ** 2 + ((vh - hv) * 0.7) ** 2)
                               * np.float32(-1.0 / (2 * 0.05**2))) * 0.10

    # breast shadows over the lower zones, with a defined lower border, fading upwards
    female = q["female"] > 0.5
    if female.any():
        ub, vb = au[:, lower], v[:, lower]
        bs = q3["breast"]
        e = ((ub - 0.58) * (1.0 / (0.25 + 0.05 * bs))) ** 2 + ((vb - 0.38) * (1.0 / 0.22)) ** 2
        shadow = np.clip((1.0 - e) * 5.0, 0.0, 1.0) * np.clip((vb - 0.12) * 4.0, 0.0, 1.0)
        img[:, lower] += shadow * (0.05 * bs * female[:, None, None])

    # gastric air bubble under the left hemidiaphragm
    has_bubble = q["bubble"] < 0.6
    if has_bubble.any():
        g = _lung_geometry(q3, 1)
        bu = u[:, lower] - q3["bubble_du"]
        bv = v[:, lower] - (g["dome"] + 0.05 + q3["bubble_r"])
        r = q3["bubble_r"]
        e = (bu / (r * 1.6)) ** 2 + (bv / r) ** 2
        air = np.clip((1.0 - e) * 3.0, 0.0, 1.0) * np.clip((0.3 * r - bv) * inv_eps, 0.0, 1.0)
        img[:, lower] -= air * (0.18 * has_bubble[:, None, None])  # flat lower edge: fluid level

    # lung vessels fanning out from the hila
    vessels = _vessels(q, size, spacing, sigma_px, rng)
    img += vessels * lung_soft
    return img, lung, vessels


def _vessels(q, size, spacing, sigma_px, rng):
    """Branching vessel markings from both hila, (k, H, W) float32.

    The points are splatted but not blurred: the detector blur (``sigma_px``, applied
    to the whole image later) gives them their width.
    """
    k = len(q["scale"])
    b1, l1, b2, l2 = 8, 8, 18, 5
    step = 0.055  # body units per walk step (~11 mm)
    # one draw per stream and chunk, for every image: chunking cannot change the result
    base = rng["vessel base"].normal(0.0, 0.12, (k, 2, b1)) + np.linspace(-1.5, 1.45, b1)
    turns = rng["vessel turns"].normal(0.0, 0.16, (k, 2, b1, l1))
    fork_at = rng["vessel fork at"].integers(1, l1 - 2, (k, 2, b2))
    fork_of = rng["vessel fork of"].integers(0, b1, (k, 2, b2))
    fork_turn = rng["vessel fork turn"].uniform(-0.45, 0.45, (k, 2, b2))
    fork_turn += np.copysign(0.35, fork_turn)  # 0.35-0.8 rad either way
    turns2 = rng["vessel turns 2"].normal(0.0, 0.2, (k, 2, b2, l2))
    strength = rng["vessel strength"].uniform(0.6, 1.0, (k, 2, b1))
    # branches leave the hilum at slightly different points
    spread = rng["vessel spread"].normal(0.0, 0.025, (k, 2, b1, 2))

    angle1 = base[..., None] + np.cumsum(turns, axis=-1)  # (k, 2, b1, l1)
    start = np.array([[-0.20, -0.05], [0.20, -0.09]])[None, :, None, :] + spread  # (k, 2, b1, 2)
    lateral = np.array([-1.0, 1.0])[None, :, None, None]
    da = step * np.cos(angle1)
    dv = step * np.sin(angle1)
    pu1 = start[..., 0, None] + lateral * np.concatenate(
        [np.zeros((k, 2, b1, 1)), np.cumsum(da, axis=-1)], axis=-1)
    pv1 = start[..., 1, None] + np.concatenate(
        [np.zeros((k, 2, b1, 1)), np.cumsum(dv, axis=-1)], axis=-1)
    taper = np.minimum(np.linspace(0.4, 1.6, l1 + 1), np.linspace(1.2, 0.25, l1 + 1))
    w1 = strength[..., None] * taper
    # second generation: forks off the first
    kk, ss, bb = np.meshgrid(np.arange(k), np.arange(2), np.arange(b2), indexing="ij")
    parent = fork_of
    su = pu1[kk, ss, parent, fork_at]
    sv = pv1[kk, ss, parent, fork_at]
    a0 = angle1[kk, ss, parent, fork_at] + fork_turn
    angle2 = a0[..., None] + np.cumsum(turns2, axis=-1)
    step2 = 0.8 * step
    pu2 = su[..., None] + lateral * np.concatenate(
        [np.zeros((k, 2, b2, 1)), np.cumsum(step2 * np.cos(angle2), axis=-1)], axis=-1)
    pv2 = sv[..., None] + np.concatenate(
        [np.zeros((k, 2, b2, 1)), np.cumsum(step2 * np.sin(angle2), axis=-1)], axis=-1)
    w2 = (w1[kk, ss, parent, fork_at] * 0.6)[..., None] * np.linspace(1.0, 0.3, l2 + 1)

    step_px = step * size / 2.0
    sub = max(1, int(math.ceil(step_px / 0.8)))
    width_px = 1.6 / spacing  # vessel width scale near the hila, 1.6 mm
    # the detector blur widens the lines; on fine grids widen them to ~2.5 mm first
    extra = math.sqrt(max((2.5 / spacing) ** 2 - sigma_px**2, 0.0))
    total = max(math.hypot(extra, sigma_px), 0.6)
    pts_u, pts_v, pts_w, pts_k = [], [], [], []
    for pu, pv, pw in ((pu1, pv1, w1), (pu2, pv2, w2)):
        t = (np.arange(sub) / sub)[None, None, None, None, :]
        iu = pu[..., :-1, None] + t * np.diff(pu, axis=-1)[..., None]
        iv = pv[..., :-1, None] + t * np.diff(pv, axis=-1)[..., None]
        iw = pw[..., :-1, None] + t * np.diff(pw, axis=-1)[..., None]
        pts_u.append(iu.reshape(k, -1))
        pts_v.append(iv.reshape(k, -1))
        pts_w.append(iw.reshape(k, -1))
    pu = np.concatenate(pts_u, axis=1)
    pv = np.concatenate(pts_v, axis=1)
    pw = np.concatenate(pts_w, axis=1)
    qq = {kname: q[kname][:, None] for kname in ("scale", "width", "theta", "tx", "ty")}
    rows, cols = _to_pixels(pu, pv, qq, size)
    owner = np.broadcast_to(np.arange(k)[:, None], pu.shape)
    # weight per point so that the line's integrated density does not depend on size
    # (a line blurred to sigma_px keeps the density integral of a 1.6 mm-wide vessel)
    weight = pw * (0.2 * math.sqrt(2 * math.pi) * width_px * (step_px / sub) / total)
    density = splat(owner.ravel(), rows.ravel(), cols.ravel(), weight.ravel(), (k, size, size))
    if extra > 0.3:
        density = ndimage.gaussian_filter(density, (0, extra, extra), mode="constant", truncate=3.0)
    # where many branches overlap (at the hila, on coarse grids) the density saturates
    return np.minimum(density, np.float32(0.22), out=density)


# ---------------------------------------------------------------------------
# Lesions, marker, exposure
# ---------------------------------------------------------------------------
def _render_lesions(lesions, start, stop, q, size, lung_mask, vessels, rng):
    """Lesion density (k, H, W), lesion masks, and (owner, box) rows for this chunk."""
    k = stop - start
    # patchy texture for consolidations (coarse ~70 mm and fine ~20 mm blobs), drawn
    # for every image so that the random streams stay aligned
    coarse = rng["consolidation coarse"].random((k, 6, 6), dtype=np.float32)
    fine = rng["consolidation fine"].random((k, 20, 20), dtype=np.float32)
    density = np.zeros((k, size, size), np.float32)
    masks = np.zeros((k, size, size), bool)
    sel = np.flatnonzero((lesions["owner"] >= start) & (lesions["owner"] < stop))
    if len(sel) == 0:
        return density, masks, np.zeros(0, np.int64), np.zeros((0, 4), np.float32)
    owner = lesions["owner"][sel] - start
    lung_hard = lung_mask[owner]
    qq = {name: q[name][owner] for name in q}
    row, colp = _to_pixels(lesions["u"][sel], lesions["v"][sel], qq, size)
    radius = lesions["radius_px"][sel]
    peak = lesions["peak"][sel]
    kind = lesions["kind"][sel]
    g = np.arange(size, dtype=np.float32) + 0.5
    dy = g[None, :, None] - row[:, None, None].astype(np.float32)
    dx = g[None, None, :] - colp[:, None, None].astype(np.float32)
    r2 = dy * dy + dx * dx
    out = np.zeros((len(sel), size, size), np.float32)
    les_mask = np.zeros((len(sel), size, size), bool)

    nod = np.flatnonzero(kind == "nodule")
    if len(nod):
        rr = radius[nod][:, None, None]
        # a sphere's projected thickness: sqrt(1 - r²/R²)
        out[nod] = np.sqrt(np.clip(1.0 - r2[nod] / (rr * rr), 0.0, 1.0)) * peak[nod][:, None, None]
        les_mask[nod] = r2[nod] < np.maximum(rr, 0.75) ** 2

    pne = np.flatnonzero(kind == "pneumonia")
    if len(pne):
        o = owner[pne]
        # smooth random fields -> patchy, fluffy airspace opacity
        field = 0.55 * upsample(coarse[o], size) + 0.45 * upsample(fine[o], size)
        fluffy = np.clip((field - 0.25) * 2.0, 0.0, 1.0)
        # elliptical extent around the centre, fading out (ill-defined margin)
        rr = radius[pne][:, None, None]
        st = lesions["stretch"][sel][pne][:, None, None]
        ang = lesions["angle"][sel][pne][:, None, None]
        ca, sa = np.cos(ang), np.sin(ang)
        ex = (ca * dx[pne] + sa * dy[pne]) / (rr * st)
        ey = (ca * dy[pne] - sa * dx[pne]) / (rr / st)
        inner = 1.0 - (ex * ex + ey * ey)
        extent = np.clip(1.6 * inner, 0.0, 1.0)
        core = np.clip((inner - 0.8) * 5.0, 0.0, 1.0)  # a small confluent centre
        # confined to a lobe-like region: fissures give sharp edges
        lobes = _LOBE_TABLE[lesions["lobe"][sel][pne]]
        u, v = _body_coords(_subset(qq, pne), size)
        a = u * lobes[:, 0, None, None]
        eps = 2.0 / size
        q3 = {name: value[pne, None, None] for name, value in qq.items()}
        h = np.where(lobes[:, 0, None, None] < 0, _lung_height(v, q3, -1), _lung_height(v, q3, 1))

        def edge(d, soft):
            return np.clip(d / (soft + eps) + 0.5, 0.0, 1.0)

        col = lambda j: lobes[:, j, None, None]  # noqa: E731
        region = edge(h - col(1), col(5)) * edge(col(2) - h, col(6)) \
            * edge(a - col(3), 0.06) * edge(col(4) - a, 0.06)
        side_level = np.where(lobes[:, 0, None, None] < 0,
                              _lung_level(u, v, q3, -1), _lung_level(u, v, q3, 1))
        inside = np.clip(side_level * (size / 2.0) + 0.5, 0.0, 1.0)
        opacity = extent * np.maximum(fluffy, core) * region * inside
        # air bronchograms: the air-filled bronchi alongside the vessels stand out dark
        # against the consolidated lung (while the vessels themselves disappear)
        out[pne] = opacity * (peak[pne][:, None, None] - 1.6 * vessels[o])
        les_mask[pne] = (opacity > 0.3) & (side_level > 0)

    les_mask &= lung_hard
    boxes = boxes_from_masks(les_mask)
    if len(np.unique(owner)) == len(owner):
        density[owner] = out
    else:
        np.add.at(density, owner, out)
    for j in range(len(sel)):
        masks[owner[j]] |= les_mask[j]
    return density, masks, owner.astype(np.int64), boxes


def _subset(qq, idx):
    return {name: value[idx] for name, value in qq.items()}


def _burn_marker(img, has_marker, offset, size):
    """Burn the lead "L" marker into the top-right corner of the flagged images."""
    idx = np.flatnonzero(has_marker)
    if len(idx) == 0:
        return
    cell = max(1, int(round(size / 64)))
    glyph = np.kron(_MARKER, np.ones((cell, cell), np.uint8))
    gh, gw = glyph.shape
    value = np.where(glyph == 2, 1.0, 0.62).astype(np.float32)
    jitter = max(1, int(round(0.025 * size)))
    for i in idx:
        r = int(round(0.04 * size + jitter * offset[i, 0])) + jitter
        c = int(round(0.80 * size + jitter * offset[i, 1]))
        r = min(max(r, 0), size - gh)
        c = min(max(c, 0), size - gw)
        patch = img[i, r:r + gh, c:c + gw]
        np.maximum(patch, value, out=patch)


def _respond(img, q, scan):
    """Exposure (per patient) and the scanner's grey-level response."""
    col = lambda name: q[name][:, None, None]  # noqa: E731
    img = (img - 0.5) * col("gain") + (0.5 + col("expo"))
    np.clip(img, 0.0, 1.0, out=img)
    if scan["gamma"] != 1.0:
        img **= np.float32(scan["gamma"])
    if scan["contrast"] != 1.0 or scan["brightness"] != 0.0:
        img = (img - 0.5) * np.float32(scan["contrast"]) + np.float32(0.5 + scan["brightness"])
    return img
