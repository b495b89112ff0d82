"""Hand-crafted image features: first-order statistics and Haralick/Galloway texture.

Before deep learning, a radiology classifier was two steps (the review's Fig. 4):
a person chose *features* that describe an image or a region, then a classifier
(logistic regression, a random forest) learned how to weigh them. This module
computes the classic radiomics features for a batch of 2D images, optionally
inside a mask (a lung, a tumour):

* **first order** - statistics of the grey values alone: mean, standard
  deviation, skewness, kurtosis, percentiles, histogram entropy;
* **GLCM** (Haralick et al. 1973) - how often grey level *i* sits next to grey
  level *j* at a given distance and angle, summarised as contrast,
  dissimilarity, homogeneity, ASM, energy, correlation and entropy;
* **GLRLM** (Galloway 1975) - how long the straight runs of equal grey level
  are: short- and long-run emphasis, grey-level and run-length non-uniformity,
  run percentage.

The GLCM comes from scikit-image (:func:`skimage.feature.graycomatrix` and
:func:`skimage.feature.graycoprops`). scikit-image has no run-length matrix, and
the library that has one, pyradiomics, publishes source packages only, which
often fail to build on current Python and NumPy (pyradiomics issues #859, #872,
#932, #949), so :func:`run_length_matrix` is a short, vectorised implementation
checked against hand-counted examples in the tests.

Pure NumPy/scikit-image; no TensorFlow, no plotting.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "GLCM_PROPERTIES",
    "RUN_LENGTH_FEATURES",
    "FIRST_ORDER_FEATURES",
    "quantize",
    "standardize",
    "lung_sides",
    "glcm",
    "run_length_matrix",
    "run_length_features",
    "first_order_features",
    "glcm_features",
    "texture_features",
]

#: Haralick features, named as :func:`skimage.feature.graycoprops` names them.
GLCM_PROPERTIES = ("contrast", "dissimilarity", "homogeneity", "ASM", "energy", "correlation", "entropy")
#: Galloway (1975) run-length features.
RUN_LENGTH_FEATURES = ("sre", "lre", "gln", "rln", "rp")
#: First-order (histogram) features.
FIRST_ORDER_FEATURES = ("mean", "std", "skewness", "kurtosis", "p10", "p50", "p90", "entropy")

# Images per chunk: bounds the memory of the GLCM and run-length work arrays whatever n is.
_CHUNK = 256


# ---------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------
def _as_batch(images, masks=None) -> tuple[np.ndarray, np.ndarray]:
    """Images as float64 (n, H, W) and masks as bool (n, H, W); a single image becomes n = 1."""
    images = np.asarray(images)
    if images.dtype == object or not (np.issubdtype(images.dtype, np.number) or images.dtype == bool):
        raise TypeError(f"images must be a numeric array, got dtype {images.dtype}")
    if images.ndim == 4 and images.shape[-1] == 1:  # Keras layout (n, H, W, 1)
        images = images[..., 0]
    if images.ndim == 2:
        images = images[None]
    if images.ndim != 3:
        raise ValueError(
            f"images must be one 2D image (H, W) or a batch (n, H, W), got shape {images.shape}; "
            "for a CT volume pass one slice, or the slices as a batch"
        )
    if images.shape[0] == 0 or images.shape[1] < 2 or images.shape[2] < 2:
        raise ValueError(f"need at least one image of at least 2 x 2 pixels, got shape {images.shape}")
    images = images.astype(np.float64, copy=False)
    if not np.all(np.isfinite(images)):
        raise ValueError("images contain NaN or infinite values; replace them (np.nan_to_num) or mask them out")
    if masks is None:
        return images, np.ones(images.shape, bool)
    masks = np.asarray(masks)
    if masks.ndim == 4 and masks.shape[-1] == 1:
        masks = masks[..., 0]
    if masks.ndim == 2:
        masks = masks[None]
    if masks.shape != images.shape:
        raise ValueError(
            f"masks have shape {masks.shape} but images have shape {images.shape}: pass one mask per image, "
            "the same size as the image (e.g. data.lung_masks with data.images)"
        )
    if masks.dtype != bool:
        if not np.isin(np.unique(masks), [0, 1]).all():
            raise ValueError("masks must be boolean (or 0/1): True where the features are measured")
        masks = masks.astype(bool)
    counts = masks.sum(axis=(1, 2))
    if np.any(counts < 2):
        bad = int(np.flatnonzero(counts < 2)[0])
        raise ValueError(
            f"the mask of image {bad} has {int(counts[bad])} pixel(s); texture needs at least 2 "
            "(check that the mask belongs to this image and is not empty)"
        )
    return images, masks


def _check_levels(levels) -> int:
    if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or not 2 <= levels <= 256:
        raise ValueError(f"levels must be an integer from 2 to 256 (grey levels after quantisation), got {levels!r}")
    return int(levels)


def _check_distances(distances) -> tuple[int, ...]:
    distances = (distances,) if np.isscalar(distances) else tuple(distances)
    if not distances or any(isinstance(d, bool) or int(d) != d or d < 1 for d in distances):
        raise ValueError(f"distances must be positive whole numbers of pixels, e.g. (1, 2); got {distances!r}")
    return tuple(int(d) for d in distances)


def _check_angles(angles) -> np.ndarray:
    if isinstance(angles, bool) or not isinstance(angles, (int, np.integer)) or angles < 1:
        raise ValueError(
            f"angles must be a positive integer: the number of directions, evenly spaced over 180 degrees "
            f"(4 gives 0, 45, 90 and 135 degrees); got {angles!r}"
        )
    return np.arange(int(angles)) * (np.pi / int(angles))


# ---------------------------------------------------------------------------
# Quantisation
# ---------------------------------------------------------------------------
def quantize(images, masks=None, *, levels: int = 32, value_range=None) -> np.ndarray:
    """Map grey values to ``levels`` integer grey levels (0 .. levels-1); -1 outside the mask.

    Texture matrices count pairs and runs of *equal* grey levels, so the
    continuous intensities are binned first (radiomics calls this
    discretisation).

    Parameters
    ----------
    images : array_like, shape (H, W) or (n, H, W)
        Grey values in any unit (0-1 intensity, HU...).
    masks : array_like of bool, same shape, optional
        Where to measure; pixels outside become -1. Default: the whole image.
    levels : int, default 32
        Number of grey levels, 2-256.
    value_range : (low, high) or None, default None
        None: each image's own minimum and maximum inside its mask (a fixed
        number of bins; the texture then ignores brightness and contrast, e.g.
        exposure). ``(low, high)`` in image units: the same bins for every image
        (a fixed bin width; values outside are clipped), e.g. ``(-1000, 400)`` HU.

    Returns
    -------
    numpy.ndarray of int16, shape (n, H, W)
        Always a batch, even for one image.
    """
    images, masks = _as_batch(images, masks)
    return _quantize(images, masks, _check_levels(levels), value_range)


def _quantize(images: np.ndarray, masks: np.ndarray, levels: int, value_range) -> np.ndarray:
    if value_range is None:
        big = np.finfo(np.float64).max
        lo = np.where(masks, images, big).min(axis=(1, 2))
        hi = np.where(masks, images, -big).max(axis=(1, 2))
    else:
        try:
            lo, hi = (float(v) for v in value_range)
        except (TypeError, ValueError):
            raise ValueError(f"value_range must be (low, high) in image units, got {value_range!r}") from None
        if not hi > lo:
            raise ValueError(f"value_range must be (low, high) with high > low, got {value_range!r}")
        lo, hi = np.full(len(images), lo), np.full(len(images), hi)
    span = hi - lo
    scale = np.divide(levels, span, out=np.zeros_like(span), where=span > 0)  # constant image -> level 0
    q = np.floor((images - lo[:, None, None]) * scale[:, None, None])
    q = np.clip(q, 0, levels - 1).astype(np.int16)
    q[~masks] = -1
    return q


def standardize(images, masks=None) -> np.ndarray:
    """Per-image z-score: subtract each image's mean and divide by its standard deviation.

    Radiographs of different patients differ in exposure (overall brightness)
    and contrast; a fixed rule or a network must otherwise learn to ignore that.
    This is pyradiomics' ``normalize`` step, and a common first step before a CNN.

    Parameters
    ----------
    images : array_like, shape (H, W), (n, H, W) or (n, H, W, 1)
    masks : array_like of bool, optional
        Compute mean and standard deviation inside the mask only (every pixel is
        still transformed).

    Returns
    -------
    numpy.ndarray of float32, the shape of ``images``
        A constant image becomes all zeros.
    """
    shape = np.shape(images)
    batch, masks = _as_batch(images, masks)
    w = masks.astype(np.float64)
    count = w.sum(axis=(1, 2))[:, None, None]
    mean = (batch * w).sum(axis=(1, 2))[:, None, None] / count
    sd = np.sqrt((((batch - mean) * w) ** 2).sum(axis=(1, 2))[:, None, None] / count)
    out = np.divide(batch - mean, sd, out=np.zeros_like(batch), where=sd > 0)
    return out.astype(np.float32).reshape(shape)


def lung_sides(masks) -> tuple[np.ndarray, np.ndarray]:
    """Split frontal (PA/AP) lung masks into the patient's right and left lung.

    On a frontal radiograph the patient's right lung is on the image's left.
    Each connected region of a mask goes to the side of the image its centre
    lies on, so a patient who is off-centre or slightly rotated is split
    correctly (a plain cut down the middle column would not be).

    Parameters
    ----------
    masks : array_like of bool, shape (H, W) or (n, H, W)
        Lung masks, e.g. ``data.lung_masks`` from :func:`radlab.data.chest_phantoms`.

    Returns
    -------
    right, left : numpy.ndarray of bool, shape (n, H, W)
        The patient's right lung (image left) and left lung (image right).
        ``right | left`` equals the input.
    """
    from scipy import ndimage

    masks = np.asarray(masks)
    if masks.ndim == 2:
        masks = masks[None]
    if masks.ndim != 3 or not (masks.dtype == bool or np.isin(np.unique(masks), [0, 1]).all()):
        raise ValueError(f"masks must be boolean, shape (H, W) or (n, H, W); got {masks.dtype} {masks.shape}")
    masks = masks.astype(bool)
    # 4-connected within each image, never across images
    structure = np.zeros((3, 3, 3), bool)
    structure[1] = ndimage.generate_binary_structure(2, 1)
    labels, count = ndimage.label(masks, structure)
    if count == 0:
        return masks.copy(), masks.copy()
    region = labels[masks]  # the region of each lung pixel
    columns = np.broadcast_to(np.arange(masks.shape[2], dtype=np.float64), masks.shape)[masks]
    size = np.bincount(region, minlength=count + 1)
    centre = np.bincount(region, columns, minlength=count + 1) / np.maximum(size, 1)
    right = np.zeros_like(masks)
    right[masks] = centre[region] < (masks.shape[2] - 1) / 2.0
    return right, masks & ~right


# ---------------------------------------------------------------------------
# GLCM (Haralick 1973), via scikit-image
# ---------------------------------------------------------------------------
def _glcm_counts(q: np.ndarray, levels: int, distances, angles) -> np.ndarray:
    """Symmetric co-occurrence counts summed over directions, float64 (levels, levels, n, len(distances)).

    Masked pixels (-1) are shifted to an extra grey level 0 that is cut off
    afterwards, so pairs that touch the outside of the mask are not counted.
    """
    from skimage.feature import graycomatrix

    shifted = (q + 1).astype(np.uint16)
    out = np.empty((levels, levels, len(q), len(distances)))
    for i, image in enumerate(shifted):
        counts = graycomatrix(image, distances, angles, levels=levels + 1, symmetric=True)
        out[:, :, i] = counts[1:, 1:].sum(axis=-1)
    return out


def _check_pairs(counts: np.ndarray, distances, first: int = 0) -> None:
    empty = counts.sum(axis=(0, 1)) == 0  # (n, d)
    if empty.any():
        i, d = np.argwhere(empty)[0]
        raise ValueError(
            f"the mask of image {first + i} has no pair of pixels {distances[d]} pixel(s) apart: "
            "use smaller distances or a larger mask"
        )


def glcm(image, mask=None, *, levels: int = 32, distance: int = 1, angles: int = 4, value_range=None) -> np.ndarray:
    """Grey-level co-occurrence matrix of one image, over all directions, normalised.

    Entry ``[i, j]`` is the fraction of neighbouring pixel pairs (``distance``
    pixels apart, in any of the ``angles`` directions) with grey levels ``i``
    and ``j``. The matrix is symmetric (a pair counts both ways) and sums to 1.
    A smooth region concentrates it on the diagonal; a coarse or patchy one
    spreads it away from the diagonal.

    Parameters
    ----------
    image : array_like, shape (H, W)
    mask : array_like of bool, shape (H, W), optional
        Only pairs with both pixels inside the mask count.
    levels : int, default 32
    distance : int, default 1
        Pixels between the two members of a pair.
    angles : int, default 4
        Number of directions pooled (4: 0, 45, 90, 135 degrees).
    value_range : see :func:`quantize`

    Returns
    -------
    numpy.ndarray of float64, shape (levels, levels)
    """
    if np.ndim(image) != 2:
        raise ValueError(f"glcm takes one 2D image, got shape {np.shape(image)}; use texture_features for a batch")
    levels = _check_levels(levels)
    distances = _check_distances(distance)
    q = quantize(image, mask, levels=levels, value_range=value_range)
    counts = _glcm_counts(q, levels, distances, _check_angles(angles))
    _check_pairs(counts, distances)
    return counts[:, :, 0, 0] / counts[:, :, 0, 0].sum()


def glcm_features(
    images, masks=None, *, levels: int = 32, distances=(1, 2), angles: int = 4, value_range=None,
    properties: Sequence[str] = GLCM_PROPERTIES,
) -> tuple[np.ndarray, list[str]]:
    """Haralick features of each image, one set per distance, directions pooled.

    The co-occurrence counts of all directions are added up before the
    features are computed (the IBSI's "merged" aggregation): the features do not
    depend on the orientation of the texture, and are cheaper than averaging
    features over directions.

    Parameters
    ----------
    images, masks, levels, value_range
        As in :func:`quantize`.
    distances : sequence of int, default (1, 2)
        Pixel distances of the pairs.
    angles : int, default 4
        Number of directions, evenly spaced over 180 degrees.
    properties : sequence of str
        Any of :data:`GLCM_PROPERTIES` (as :func:`skimage.feature.graycoprops` names them).

    Returns
    -------
    features : numpy.ndarray of float64, shape (n, len(properties) * len(distances))
    names : list of str
        ``"glcm_<property>_d<distance>"``, properties in the outer loop.
    """
    images, masks = _as_batch(images, masks)
    levels = _check_levels(levels)
    q = _quantize(images, masks, levels, value_range)
    return _glcm_features(q, levels, _check_distances(distances), _check_angles(angles), properties)


def _glcm_features(q, levels, distances, theta, properties=GLCM_PROPERTIES):
    from skimage.feature import graycoprops

    unknown = [p for p in properties if p not in GLCM_PROPERTIES]
    if unknown or not properties:
        raise ValueError(f"unknown GLCM properties {unknown}; choose from {', '.join(GLCM_PROPERTIES)}")
    out = np.empty((len(q), len(properties), len(distances)))
    for start in range(0, len(q), _CHUNK):
        chunk = q[start:start + _CHUNK]
        counts = _glcm_counts(chunk, levels, distances, theta)
        _check_pairs(counts, distances, start)
        # graycoprops takes (levels, levels, distances, angles) and treats every
        # (distance, angle) slice on its own: put images x distances on one axis
        flat = counts.reshape(levels, levels, -1, 1)
        for j, prop in enumerate(properties):
            out[start:start + len(chunk), j] = graycoprops(flat, prop).reshape(len(chunk), len(distances))
    names = [f"glcm_{p}_d{d}" for p in properties for d in distances]
    return out.reshape(len(q), -1), names


# ---------------------------------------------------------------------------
# GLRLM (Galloway 1975)
# ---------------------------------------------------------------------------
def _lines(q: np.ndarray, direction: int) -> np.ndarray:
    """The pixel lines of a batch along one direction, (n, lines, length), padded with -1.

    direction: 0 = along rows (0 degrees), 1 = 45 degrees (up-right), 2 = along
    columns (90 degrees), 3 = 135 degrees (up-left).
    """
    n, h, w = q.shape
    if direction == 0:
        return q
    if direction == 2:
        return q.transpose(0, 2, 1)
    # shear the diagonals into columns: pixel (i, j) goes to column i + j (45 degrees)
    # or i - j + w - 1 (135 degrees); cells not covered stay -1 and break runs
    rows, cols = np.indices((h, w))
    target = rows + cols if direction == 1 else rows - cols + (w - 1)
    sheared = np.full((n, h, h + w - 1), -1, dtype=q.dtype)
    sheared[:, rows, target] = q
    return sheared.transpose(0, 2, 1)


def _run_length_counts(q: np.ndarray, levels: int, direction: int, max_run: int | None = None) -> np.ndarray:
    """Run-length matrices (n, levels, max_run) for one direction; runs outside the mask dropped."""
    lines = _lines(q, direction)
    n, m, length = lines.shape
    max_run = length if max_run is None else max_run
    # a -1 after every line, so that no run continues from one line into the next
    padded = np.concatenate([lines, np.full((n, m, 1), -1, lines.dtype)], axis=2).ravel()
    starts = np.flatnonzero(np.r_[True, padded[1:] != padded[:-1]])
    run = np.diff(np.r_[starts, padded.size])
    value = padded[starts].astype(np.int64)
    keep = value >= 0
    owner = starts[keep] // (m * (length + 1))
    index = (owner * levels + value[keep]) * max_run + (run[keep] - 1)
    return np.bincount(index, minlength=n * levels * max_run).reshape(n, levels, max_run).astype(np.float64)


def run_length_matrix(image, mask=None, *, levels: int | None = None, direction: int = 0) -> np.ndarray:
    """Grey-level run-length matrix (Galloway 1975) of one image, for one direction.

    Entry ``[i, j]`` counts the maximal straight runs of grey level ``i`` that
    are ``j + 1`` pixels long. A fine, busy texture has many short runs; a
    coarse or homogeneous one has few long runs.

    Parameters
    ----------
    image : array_like of int, shape (H, W)
        Grey levels 0 .. levels-1 (quantise first with :func:`quantize`, or pass
        a small integer image, as in the notebook's worked example).
    mask : array_like of bool, shape (H, W), optional
        Pixels outside the mask end a run and are not counted.
    levels : int, optional
        Number of grey levels (rows of the matrix); default ``image.max() + 1``.
    direction : {0, 1, 2, 3}, default 0
        0: along rows (0 degrees), 1: 45 degrees (bottom-left to top-right),
        2: along columns (90 degrees), 3: 135 degrees (bottom-right to top-left).

    Returns
    -------
    numpy.ndarray of int64, shape (levels, longest possible run)
        The longest possible run is the image width (0 and 90 degrees: height),
        or the shorter side for the diagonals.

    Examples
    --------
    >>> run_length_matrix([[0, 0, 1], [1, 1, 1]])
    array([[0, 1, 0],
           [1, 0, 1]])
    """
    q = np.asarray(image)
    if q.ndim != 2 or not np.issubdtype(q.dtype, np.integer):
        raise ValueError(
            f"run_length_matrix takes one 2D image of integer grey levels, got shape {q.shape} and dtype "
            f"{q.dtype}; quantise grey values first with radlab.features.quantize"
        )
    if q.size and q.min() < 0:
        raise ValueError("grey levels must be >= 0 (use the mask to leave pixels out)")
    levels = int(q.max()) + 1 if levels is None else _check_levels(levels)
    if q.size and q.max() >= levels:
        raise ValueError(f"the image has grey level {int(q.max())}, which needs levels > {int(q.max())}")
    if direction not in (0, 1, 2, 3):
        raise ValueError(f"direction must be 0, 1, 2 or 3 (0, 45, 90, 135 degrees), got {direction!r}")
    q = q.astype(np.int16)[None]
    if mask is not None:
        mask = np.asarray(mask, bool)
        if mask.shape != q.shape[1:]:
            raise ValueError(f"mask has shape {mask.shape} but the image has shape {q.shape[1:]}")
        q = np.where(mask[None], q, -1).astype(np.int16)
    counts = _run_length_counts(q, levels, direction)[0]
    longest = {0: q.shape[2], 2: q.shape[1]}.get(direction, min(q.shape[1:]))
    return counts[:, :longest].astype(np.int64)


def _galloway(counts: np.ndarray, n_pixels: np.ndarray) -> np.ndarray:
    """The five Galloway features from run-length matrices (..., levels, max_run)."""
    j = np.arange(1, counts.shape[-1] + 1, dtype=np.float64)
    runs = counts.sum(axis=(-2, -1))
    safe = np.where(runs > 0, runs, 1.0)
    sre = (counts / j**2).sum(axis=(-2, -1)) / safe
    lre = (counts * j**2).sum(axis=(-2, -1)) / safe
    gln = (counts.sum(axis=-1) ** 2).sum(axis=-1) / safe
    rln = (counts.sum(axis=-2) ** 2).sum(axis=-1) / safe
    rp = runs / n_pixels
    return np.stack([sre, lre, gln, rln, rp], axis=-1)


def run_length_features(images, masks=None, *, levels: int = 32, value_range=None) -> tuple[np.ndarray, list[str]]:
    """Galloway's run-length features, from the runs of all four directions pooled.

    ``sre`` short-run emphasis (near 1 for fine texture), ``lre`` long-run
    emphasis (large for coarse or homogeneous regions), ``gln`` grey-level
    non-uniformity and ``rln`` run-length non-uniformity (both normalised by the
    number of runs), ``rp`` run percentage (runs per pixel, 1 when every run is
    one pixel long). As for the GLCM, the run counts of the four directions
    (0, 45, 90, 135 degrees) are added up before the features are computed.

    Parameters
    ----------
    images, masks, levels, value_range
        As in :func:`quantize`.

    Returns
    -------
    features : numpy.ndarray of float64, shape (n, 5)
    names : list of str
        ``"glrlm_<feature>"``.
    """
    images, masks = _as_batch(images, masks)
    levels = _check_levels(levels)
    return _run_length_features(_quantize(images, masks, levels, value_range), levels)


def _run_length_features(q, levels):
    n_pixels = (q >= 0).sum(axis=(1, 2)).astype(np.float64)
    max_run = max(q.shape[1:])
    out = np.empty((len(q), len(RUN_LENGTH_FEATURES)))
    for start in range(0, len(q), _CHUNK):
        chunk = q[start:start + _CHUNK]
        counts = sum(_run_length_counts(chunk, levels, d, max_run) for d in range(4))
        # every pixel starts one run per direction: four chances in all
        out[start:start + len(chunk)] = _galloway(counts, 4.0 * n_pixels[start:start + len(chunk)])
    return out, [f"glrlm_{name}" for name in RUN_LENGTH_FEATURES]


# ---------------------------------------------------------------------------
# First order
# ---------------------------------------------------------------------------
def first_order_features(images, masks=None, *, levels: int = 32, value_range=None) -> tuple[np.ndarray, list[str]]:
    """Statistics of the grey values inside each mask, ignoring where they are.

    ``mean``, ``std`` (in image units), ``skewness`` (asymmetry of the
    histogram; 0 for a symmetric one), ``kurtosis`` (excess kurtosis: 0 for a
    normal distribution, > 0 for heavy tails), the 10th, 50th and 90th
    percentiles ``p10``, ``p50``, ``p90`` (image units), and ``entropy`` (bits)
    of the histogram of the ``levels`` quantised grey levels. Skewness and
    kurtosis are 0 for a constant region.

    Parameters
    ----------
    images, masks, levels, value_range
        As in :func:`quantize`.

    Returns
    -------
    features : numpy.ndarray of float64, shape (n, 8)
    names : list of str
        ``"first_<feature>"``.
    """
    images, masks = _as_batch(images, masks)
    levels = _check_levels(levels)
    return _first_order(images, masks, _quantize(images, masks, levels, value_range), levels)


def _first_order(images, masks, q, levels):
    n = len(images)
    w = masks.astype(np.float64)
    count = w.sum(axis=(1, 2))
    mean = (images * w).sum(axis=(1, 2)) / count
    centred = (images - mean[:, None, None]) * w
    c2 = centred * centred
    m2 = c2.sum(axis=(1, 2)) / count
    m3 = (c2 * centred).sum(axis=(1, 2)) / count
    m4 = (c2 * c2).sum(axis=(1, 2)) / count
    flat_var = m2 <= 1e-12 * np.maximum(1.0, mean**2)
    safe = np.where(flat_var, 1.0, m2)
    skewness = np.where(flat_var, 0.0, m3 / safe**1.5)
    kurtosis = np.where(flat_var, 0.0, m4 / safe**2 - 3.0)
    percentiles = _masked_percentiles(images, masks, count, (10, 50, 90))
    inside = q >= 0
    owner = np.broadcast_to(np.arange(n)[:, None, None], q.shape)[inside]
    hist = np.bincount(owner * levels + q[inside], minlength=n * levels).reshape(n, levels) / count[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.where(hist > 0, hist * np.log2(hist), 0.0).sum(axis=1)
    features = np.stack([mean, np.sqrt(m2), skewness, kurtosis, *percentiles, entropy], axis=1)
    return features, [f"first_{name}" for name in FIRST_ORDER_FEATURES]


def _masked_percentiles(images, masks, count, percents):
    """Percentiles of the masked pixels of each image (NumPy's default linear interpolation)."""
    values = np.sort(np.where(masks, images, np.inf).reshape(len(images), -1), axis=1)
    rows = np.arange(len(images))
    out = []
    for p in percents:
        position = p / 100.0 * (count - 1)
        lo = np.floor(position).astype(np.int64)
        hi = np.minimum(lo + 1, count.astype(np.int64) - 1)
        frac = position - lo
        out.append(values[rows, lo] * (1.0 - frac) + values[rows, hi] * frac)
    return out


# ---------------------------------------------------------------------------
# All together
# ---------------------------------------------------------------------------
def texture_features(
    images, masks=None, *, levels: int = 32, distances=(1, 2), angles: int = 4, value_range=None,
    run_lengths: bool = True,
) -> tuple[np.ndarray, list[str]]:
    """The classic radiomics feature vector of each image: first order, GLCM and run lengths.

    Parameters
    ----------
    images : array_like, shape (H, W), (n, H, W) or (n, H, W, 1)
        Grey values in any unit (0-1 intensity, HU...).
    masks : array_like of bool, same shape, optional
        Measure only inside the mask (e.g. the lungs); default the whole image.
        Pixel pairs and runs that leave the mask are not counted.
    levels : int, default 32
        Grey levels after quantisation (see :func:`quantize`).
    distances : sequence of int, default (1, 2)
        GLCM pair distances, pixels.
    angles : int, default 4
        Number of GLCM directions (evenly spaced over 180 degrees), averaged.
    value_range : (low, high) or None, default None
        Quantisation range in image units; None uses each image's own range
        inside its mask (texture independent of exposure). See :func:`quantize`.
    run_lengths : bool, default True
        Add Galloway's run-length features (always over 0, 45, 90, 135 degrees).

    Returns
    -------
    features : numpy.ndarray of float64, shape (n, k)
        One row per image. With the defaults k = 8 + 7 * 2 + 5 = 27.
    names : list of str
        One name per column: ``first_*``, ``glcm_<property>_d<distance>``, ``glrlm_*``.

    Raises
    ------
    ValueError
        Wrong shapes, masks that do not match the images or hold fewer than 2
        pixels, NaNs, or invalid levels, distances or angles.

    Examples
    --------
    >>> data = rl.data.chest_phantoms(500)                                 # doctest: +SKIP
    >>> x, names = texture_features(data.images, data.lung_masks)          # doctest: +SKIP
    >>> x.shape, names[:2]                                                 # doctest: +SKIP
    ((500, 27), ['first_mean', 'first_std'])
    """
    images, masks = _as_batch(images, masks)
    levels = _check_levels(levels)
    distances = _check_distances(distances)
    theta = _check_angles(angles)
    q = _quantize(images, masks, levels, value_range)  # once, for all three families
    parts = [_first_order(images, masks, q, levels), _glcm_features(q, levels, distances, theta)]
    if run_lengths:
        parts.append(_run_length_features(q, levels))
    features = np.concatenate([f for f, _ in parts], axis=1)
    names = [name for _, names in parts for name in names]
    return features, names
