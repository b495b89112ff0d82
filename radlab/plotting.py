"""Static figures - one image with overlays, a grid of images - and the overlay drawing
that the interactive viewer (:func:`radlab.show`) reuses.

* :func:`plot_image` - one 2D image, windowed, with a mask, a heatmap and boxes.
* :func:`plot_grid` - many images side by side (a batch, a dataset, model outputs).
* :func:`mask_rgba`, :func:`heatmap_rgba`, :func:`composite`, :func:`draw_boxes` -
  the overlay building blocks, shared with :mod:`radlab.widgets.viewer` so a mask
  looks the same in a static figure and in the viewer.

Conventions
-----------
Images are drawn with ``extent=(0, W, H, 0)``: axes coordinates are *continuous
pixel coordinates* whose origin is the top-left corner of the image. Pixel
(row ``r``, column ``c``) covers ``x`` in ``[c, c + 1)`` and ``y`` in ``[r, r + 1)``,
and a box ``(x0, y0, x1, y1)`` is drawn along pixel edges: ``x0`` is its first
column and ``x1`` one past its last, as in :mod:`radlab.data` (Pascal VOC order,
x = column, y = row).

Mask label ``k`` (``True`` counts as 1) is always drawn in ``MASK_COLORS[(k - 1) %
len(MASK_COLORS)]`` (the Okabe-Ito colour-blind-safe palette); label 0 is
transparent. Heatmaps are drawn *under* masks, boxes above both.

The figures are plain :class:`matplotlib.figure.Figure` objects that pyplot does
not manage: in a notebook one shows when it is the cell's last value (or with
``display(fig)``), exactly once, and nothing accumulates in pyplot's figure list.
Nothing here calls ``plt.show()``.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .imaging.image import Image
from .imaging.windowing import auto_window, resolve_window

__all__ = [
    "BOX_COLOR",
    "MASK_COLORS",
    "composite",
    "display_window",
    "draw_boxes",
    "heatmap_rgba",
    "mask_rgba",
    "plot_grid",
    "plot_image",
]

#: Colours of mask labels 1, 2, 3, ... (Okabe-Ito: distinguishable with colour blindness).
MASK_COLORS: tuple[str, ...] = (
    "#D55E00",  # vermillion
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#F0E442",  # yellow
    "#CC79A7",  # reddish purple
    "#0072B2",  # blue
    "#E69F00",  # orange
)
#: Colour of bounding boxes and their labels.
BOX_COLOR = "#FFD400"

_DEFAULT_HEATMAP_CMAP = "turbo"
# Percentiles for "auto" are computed on at most this many values (a strided
# sample), so a 500-slice volume does not cost a second per call.
_STATS_SAMPLE = 2**21


# -- inputs ---------------------------------------------------------------------
def _as_image(image, name: str = "image") -> Image:
    """Wrap an array (or pass an Image through), dropping singleton channel axes.

    Accepts ``(y, x)``, ``(z, y, x)``, ``(y, x, 3|4)`` and Keras-style ``(y, x, 1)``
    or ``(1, y, x, 1)`` arrays. Colour is inferred as :class:`Image` does (uint8 with
    3 or 4 channels); wrap float colour images in ``Image(array, rgb=True)``.
    """
    if isinstance(image, Image):
        img = image
    else:
        try:
            array = np.asarray(image)
        except Exception as exc:  # e.g. a list of differently shaped arrays
            raise TypeError(f"{name} must be an array or radlab.Image, got {type(image).__name__}") from exc
        if array.dtype == object or not (array.dtype.kind in "biuf"):
            raise TypeError(
                f"{name} must hold numbers (dtype {array.dtype}); pass a NumPy array of pixels "
                "or a radlab.Image"
            )
        while array.ndim > 2 and array.shape[-1] == 1:
            array = array[..., 0]
        while array.ndim > 3 and array.shape[0] == 1:
            array = array[0]
        img = Image(array)
    if img.array.ndim not in (2, 3) or img.array.size == 0:
        raise ValueError(
            f"{name} has shape {img.array.shape}; expected a 2D image (y, x), an RGB image "
            "(y, x, 3) or a volume (z, y, x)"
        )
    return img


def _stats_sample(array: np.ndarray) -> np.ndarray:
    """A strided view of at most ~2 million values, for percentiles."""
    if array.size <= _STATS_SAMPLE:
        return array
    step = math.ceil((array.size / _STATS_SAMPLE) ** (1 / array.ndim))
    return array[(slice(None, None, step),) * array.ndim]


def display_window(image, window=None) -> tuple[float, float]:
    """Resolve what the caller asked for into a display window (center, width).

    Parameters
    ----------
    image : array_like or Image
        The pixels (HU for CT). Its stored ``window`` is used for ``"default"``.
    window : None, str or (center, width)
        ``None`` - the image's stored window if it has one, else ``"auto"``;
        ``"default"`` - the stored window (error if there is none);
        ``"auto"`` - the 1st..99th percentile of the values;
        a preset name from :data:`radlab.WINDOW_PRESETS` (``"lung"``, ...);
        or a ``(center, width)`` pair in the image's units.

    Returns
    -------
    (center, width) : tuple of float
    """
    stored = getattr(image, "window", None)
    if window is None:
        window = "default" if stored else "auto"
    if isinstance(window, str):
        key = window.strip().lower()
        if key == "default":
            if not stored:
                raise ValueError(
                    "this image has no stored display window; use window='auto', a preset "
                    "such as 'lung', or (center, width)"
                )
            return float(stored[0]), float(stored[1])
        if key == "auto":
            return auto_window(_stats_sample(np.asarray(image)))
        return resolve_window(image, window)
    try:
        center, width = window
    except (TypeError, ValueError):
        raise ValueError(
            f"window={window!r}: give a preset name such as 'lung', 'auto', or a "
            "(center, width) pair"
        ) from None
    return resolve_window(image, float(center), float(width))


def _check_mask(mask, shape: tuple[int, ...], name: str = "mask") -> np.ndarray:
    """Validate a bool or integer-label mask of the image's spatial shape."""
    array = np.asarray(mask.array if isinstance(mask, Image) else mask)
    while array.ndim > len(shape) and array.shape[-1] == 1:
        array = array[..., 0]
    if array.shape != tuple(shape):
        raise ValueError(
            f"{name} has shape {array.shape} but the image is {tuple(shape)}; a mask needs "
            "one value per pixel (resample it to the image grid first)"
        )
    if array.dtype == bool:
        return array
    if array.dtype.kind in "iu":
        if array.size and array.min() < 0:
            raise ValueError(f"{name} has negative labels; use 0 for background and 1, 2, ... for classes")
        return array
    if array.dtype.kind == "f":
        # NIfTI label maps are often stored as floats: accept whole numbers.
        if np.all(np.isfinite(array)) and np.all(array == np.round(array)) and (
            array.size == 0 or array.min() >= 0
        ):
            return array.astype(np.int64)
        raise ValueError(
            f"{name} holds fractional values (a probability map?); threshold it first, "
            "e.g. mask=prob > 0.5, or show it with heatmap= instead"
        )
    raise ValueError(f"{name} must be boolean or integer labels, got dtype {array.dtype}")


def _fit_heatmap(heatmap, shape: tuple[int, ...], name: str = "heatmap") -> np.ndarray:
    """A float32 heatmap on the image grid; coarser maps (e.g. Grad-CAM 7x7) are
    resized bilinearly."""
    array = np.asarray(heatmap.array if isinstance(heatmap, Image) else heatmap, dtype=np.float32)
    while array.ndim > len(shape) and array.shape[-1] == 1:
        array = array[..., 0]
    if array.shape == tuple(shape):
        return array
    if array.ndim != len(shape) or (len(shape) == 3 and array.shape[0] != shape[0]):
        raise ValueError(
            f"{name} has shape {array.shape} but the image is {tuple(shape)}; give one "
            "heatmap value per pixel, or a coarser 2D map per slice (it is resized)"
        )
    from skimage.transform import resize

    return resize(array, shape, order=1, preserve_range=True, anti_aliasing=False).astype(np.float32)


def _heatmap_limits(heatmap: np.ndarray, vmin=None, vmax=None) -> tuple[float, float]:
    finite = heatmap[np.isfinite(heatmap)]
    lo = float(finite.min()) if vmin is None and finite.size else (0.0 if vmin is None else float(vmin))
    hi = float(finite.max()) if vmax is None and finite.size else (1.0 if vmax is None else float(vmax))
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi


def _as_boxes(boxes, name: str = "boxes") -> np.ndarray:
    """Validate boxes into an (N, 4) float array of (x0, y0, x1, y1) pixel edges."""
    if boxes is None:
        return np.zeros((0, 4), dtype=np.float64)
    array = np.asarray(boxes, dtype=np.float64)
    if array.size == 0:
        return np.zeros((0, 4), dtype=np.float64)
    if array.ndim == 1 and array.shape[0] == 4:
        array = array[None]
    if array.ndim != 2 or array.shape[1] != 4:
        raise ValueError(
            f"{name} has shape {array.shape}; expected (N, 4) rows of (x0, y0, x1, y1) in pixels"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite coordinates")
    if np.any(array[:, 2] < array[:, 0]) or np.any(array[:, 3] < array[:, 1]):
        raise ValueError(
            f"{name} has a box with x1 < x0 or y1 < y0; radlab boxes are (x0, y0, x1, y1), "
            "not (x, y, width, height) or (y0, x0, y1, x1)"
        )
    return array


# -- overlays -------------------------------------------------------------------
def _palette(colors: Sequence[Any] | None) -> np.ndarray:
    from matplotlib.colors import to_rgb

    return np.array([to_rgb(c) for c in (colors or MASK_COLORS)], dtype=np.float32)


def mask_rgba(mask, alpha: float = 0.4, colors: Sequence[Any] | None = None) -> np.ndarray:
    """Colour a mask: label ``k`` gets ``colors[(k - 1) % len(colors)]``, label 0 is transparent.

    Parameters
    ----------
    mask : array_like of bool or int
        ``True``/1 marks the structure; integer masks may hold several labels
        (0 = background).
    alpha : float, default 0.4
        Opacity of labelled pixels, 0..1.
    colors : sequence of matplotlib colours, optional
        Defaults to :data:`MASK_COLORS`.

    Returns
    -------
    numpy.ndarray
        float32 RGBA in 0..1, shape ``mask.shape + (4,)``.
    """
    labels = np.asarray(mask)
    if labels.dtype == bool:
        labels = labels.view(np.uint8)
    elif labels.dtype.kind not in "iu":
        labels = _check_mask(labels, labels.shape)
    palette = _palette(colors)
    top = int(labels.max()) if labels.size else 0
    if top < 2**16:
        values = np.arange(top + 1)
    else:  # a few huge label values: a table over the labels present only
        values, labels = np.unique(labels, return_inverse=True)
        labels = labels.reshape(np.shape(mask))
    lut = np.zeros((len(values), 4), dtype=np.float32)
    labelled = values > 0
    lut[labelled, :3] = palette[(values[labelled] - 1) % len(palette)]
    lut[labelled, 3] = alpha
    return lut[labels]


def heatmap_rgba(
    heatmap, alpha: float = 0.4, cmap: str = _DEFAULT_HEATMAP_CMAP, vmin=None, vmax=None
) -> np.ndarray:
    """Colour a heatmap (e.g. a saliency or Grad-CAM map) with a colormap.

    Parameters
    ----------
    heatmap : array_like of float
        Any units; NaN pixels are left transparent.
    alpha : float, default 0.4
        Opacity, 0..1.
    cmap : str, default "turbo"
        A matplotlib colormap name.
    vmin, vmax : float, optional
        Values mapped to the ends of the colormap; default the heatmap's own
        finite min and max.

    Returns
    -------
    numpy.ndarray
        float32 RGBA in 0..1, shape ``heatmap.shape + (4,)``.
    """
    values = np.asarray(heatmap, dtype=np.float32)
    lo, hi = _heatmap_limits(values, vmin, vmax)
    scaled = (values - lo) / (hi - lo)
    rgba = matplotlib.colormaps[cmap](scaled).astype(np.float32)
    rgba[..., 3] = np.where(np.isfinite(values), np.float32(alpha), np.float32(0))
    return rgba


def _flatten_layers(layers: Sequence[np.ndarray], shape: tuple[int, ...]):
    """Fold RGBA layers (drawn in order) into ``keep`` and ``add`` so that
    ``out = grey * keep + add`` composites them over any base in one step.

    ``keep`` (float32, shape) is the fraction of the base that shows through;
    ``add`` (float32, shape + (3,), 0..255) is the premultiplied overlay colour.
    The viewer caches these per slice, so a window change costs one multiply-add.
    """
    keep = np.ones(shape, dtype=np.float32)
    add = np.zeros((*shape, 3), dtype=np.float32)
    for i, rgba in enumerate(layers):
        a = rgba[..., 3].astype(np.float32, copy=False)
        if i:  # nothing to attenuate under the first layer
            keep *= 1 - a
            add *= (1 - a)[..., None]
        else:
            np.subtract(1, a, out=keep)
        add += rgba[..., :3] * (a * 255)[..., None]
    return keep, add


def _apply_flat(base: np.ndarray, keep: np.ndarray | None, add: np.ndarray | None) -> np.ndarray:
    """uint8 RGB from a uint8 grey (H, W) or RGB (H, W, 3) base and flattened overlays."""
    if keep is None:
        if base.ndim == 2:
            return np.repeat(base[..., None], 3, axis=2)
        return base
    if base.ndim == 2:
        out = add + (base * keep)[..., None]
    else:
        out = add + base * keep[..., None]
    out += 0.5  # round, then truncate in the cast
    return out.astype(np.uint8)


def composite(image_uint8, layers: Sequence[np.ndarray]) -> np.ndarray:
    """Draw RGBA overlay layers over a display image, in NumPy.

    Parameters
    ----------
    image_uint8 : numpy.ndarray of uint8
        The windowed image, grey ``(H, W)`` (e.g. from
        :func:`radlab.imaging.windowing.window_uint8`) or RGB ``(H, W, 3)``.
    layers : sequence of numpy.ndarray
        RGBA float layers in 0..1 from :func:`mask_rgba` / :func:`heatmap_rgba`,
        each ``(H, W, 4)``; later layers are drawn on top.

    Returns
    -------
    numpy.ndarray
        uint8 RGB, shape ``(H, W, 3)``.
    """
    base = np.asarray(image_uint8)
    if not layers:
        return _apply_flat(base, None, None)
    keep, add = _flatten_layers(layers, base.shape[:2])
    return _apply_flat(base, keep, add)


def draw_boxes(
    ax: Axes,
    boxes,
    labels: Sequence[Any] | None = None,
    *,
    color: Any = BOX_COLOR,
    linewidth: float = 1.5,
    fontsize: float = 8,
) -> list:
    """Draw bounding boxes, with optional text labels, on axes showing an image.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Axes in continuous pixel coordinates (as set up by :func:`plot_image`).
    boxes : array_like, shape (N, 4)
        ``(x0, y0, x1, y1)`` in pixels along pixel edges (x = column, y = row).
    labels : sequence, optional
        One label per box (class name, score...); drawn above the box's top-left corner.
    color : matplotlib colour, default :data:`BOX_COLOR`
    linewidth : float, default 1.5
        In points.
    fontsize : float, default 8
        In points.

    Returns
    -------
    list of matplotlib.artist.Artist
        The rectangles and texts, so a caller can remove them later.
    """
    from matplotlib.patches import Rectangle

    boxes = _as_boxes(boxes)
    if labels is not None:
        labels = list(labels)
        if len(labels) != len(boxes):
            raise ValueError(f"got {len(labels)} labels for {len(boxes)} boxes; give one label per box")
    artists = []
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        artists.append(
            ax.add_patch(
                Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=color, linewidth=linewidth)
            )
        )
        if labels is not None and labels[i] is not None and str(labels[i]) != "":
            artists.append(
                ax.text(
                    x0, y0, str(labels[i]), color="black", fontsize=fontsize, ha="left", va="bottom",
                    bbox={"facecolor": color, "edgecolor": "none", "pad": 1.0, "alpha": 0.85},
                    clip_on=True,
                )
            )
    return artists


# -- figures --------------------------------------------------------------------
def _rgb_for_display(array: np.ndarray) -> np.ndarray:
    """uint8 RGB(A) for colour images: uint8 as is, floats in 0..1 or 0..255 scaled."""
    if array.dtype == np.uint8:
        return array
    values = array.astype(np.float32)
    finite = values[np.isfinite(values)]
    if finite.size and finite.max() > 1.0:
        values = values / 255.0
    return (np.clip(np.nan_to_num(values), 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def _units_label(img: Image) -> str:
    return "HU" if img.units == "HU" else (img.units if img.units and img.units != "raw" else "raw value")


def plot_image(
    image,
    window=None,
    *,
    mask=None,
    mask_alpha: float = 0.4,
    mask_colors: Sequence[Any] | None = None,
    heatmap=None,
    heatmap_alpha: float = 0.4,
    heatmap_cmap: str = _DEFAULT_HEATMAP_CMAP,
    boxes=None,
    labels: Sequence[Any] | None = None,
    box_color: Any = BOX_COLOR,
    title: str | None = None,
    ax: Axes | None = None,
    colorbar: bool = False,
    axis: bool = False,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Draw one 2D image, windowed, with optional mask, heatmap and boxes.

    Parameters
    ----------
    image : array_like or Image
        A 2D image ``(y, x)`` (HU for CT) or RGB ``(y, x, 3)``. For a volume, pass
        one slice (``volume[k]``) or use :func:`radlab.show`.
    window : None, str or (center, width)
        Display window: ``None`` (the file's stored window, else ``"auto"``), a
        preset name (``"lung"``, ``"bone"``, ...), ``"auto"``, ``"default"`` or
        ``(center, width)`` in the image's units (HU for CT). Ignored for RGB.
    mask : array_like of bool or int, optional
        Same shape as the image; label 0 is background, labels 1, 2, ... get
        distinct colours (:data:`MASK_COLORS`).
    mask_alpha : float, default 0.4
        Mask opacity, 0..1.
    mask_colors : sequence of colours, optional
        Overrides :data:`MASK_COLORS`.
    heatmap : array_like of float, optional
        Saliency / probability map; coarser maps are resized to the image.
    heatmap_alpha : float, default 0.4
    heatmap_cmap : str, default "turbo"
    boxes : array_like, shape (N, 4), optional
        ``(x0, y0, x1, y1)`` in pixels, along pixel edges.
    labels : sequence of str, optional
        One text per box.
    box_color : matplotlib colour, default :data:`BOX_COLOR`
    title : str, optional
    ax : matplotlib.axes.Axes, optional
        Draw here; by default a new figure is created (not managed by pyplot).
    colorbar : bool, default False
        Add a grey-level colorbar in the image's units (and one for the heatmap).
    axis : bool, default False
        Show the pixel-coordinate axes.
    figsize : (float, float), optional
        Inches, when a figure is created.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding ``ax``. Not shown: in a notebook it displays as the
        cell's last value.

    Examples
    --------
    >>> import numpy as np
    >>> ct = np.full((64, 64), -1000.0); ct[16:48, 16:48] = 40.0
    >>> fig = plot_image(ct, "soft_tissue", mask=ct > 0, boxes=[(16, 16, 48, 48)], labels=["body"])
    >>> len(fig.axes[0].images)
    2
    """
    img = _as_image(image)
    if img.is_volume:
        raise ValueError(
            f"plot_image draws one 2D image but got a volume {img.shape}; pass one slice "
            "(volume[k]) or browse it with rl.show(volume)"
        )
    array = img.array
    height, width = array.shape[:2]
    if ax is None:
        size = figsize or ((6.2 if colorbar else 5.0), 5.0)
        fig = Figure(figsize=size, layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    extent = (0, width, height, 0)
    aspect = img.spacing[0] / img.spacing[1] if len(img.spacing) == 2 else 1.0
    if img.is_rgb:
        artist = ax.imshow(_rgb_for_display(array), extent=extent, aspect=aspect)
    else:
        center, wwidth = display_window(img, window)
        artist = ax.imshow(
            array, cmap="gray", vmin=center - wwidth / 2, vmax=center + wwidth / 2,
            extent=extent, aspect=aspect, interpolation="antialiased",
        )
    heat_limits = None
    if heatmap is not None:
        values = _fit_heatmap(heatmap, (height, width))
        heat_limits = _heatmap_limits(values)
        ax.imshow(
            heatmap_rgba(values, heatmap_alpha, heatmap_cmap, *heat_limits), extent=extent,
            aspect=aspect, interpolation="antialiased",
        )
    if mask is not None:
        labels_array = _check_mask(mask, (height, width))
        ax.imshow(
            mask_rgba(labels_array, mask_alpha, mask_colors), extent=extent, aspect=aspect,
            interpolation="nearest",
        )
    if boxes is not None:
        draw_boxes(ax, boxes, labels, color=box_color)
    elif labels is not None:
        raise ValueError("labels were given without boxes; labels name the boxes, one per box")
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    if not axis:
        ax.set_axis_off()
    if title:
        ax.set_title(title)
    if colorbar:
        if not img.is_rgb:
            fig.colorbar(artist, ax=ax, label=_units_label(img), shrink=0.8)
        if heat_limits is not None:
            from matplotlib.cm import ScalarMappable
            from matplotlib.colors import Normalize

            fig.colorbar(
                ScalarMappable(Normalize(*heat_limits), heatmap_cmap), ax=ax,
                label="heatmap", shrink=0.8,
            )
    return fig


def _as_image_list(images) -> list:
    if isinstance(images, Image):
        return [images[k] for k in range(len(images))] if images.is_volume else [images]
    if isinstance(images, np.ndarray) or (
        hasattr(images, "shape") and hasattr(images, "dtype") and not isinstance(images, (list, tuple))
    ):
        array = np.asarray(images)
        if array.ndim == 2 or Image(array).is_rgb:  # one image, RGB as Image infers it
            return [array]
        if array.ndim in (3, 4):
            return list(array)
        raise ValueError(
            f"images has shape {array.shape}; expected a batch (n, y, x), (n, y, x, 1|3) or a list"
        )
    return list(images)


def _per_image(value, n: int, name: str, is_single) -> list:
    """Broadcast one setting to n images, or check a per-image list."""
    if value is None:
        return [None] * n
    if is_single(value):
        return [value] * n
    values = list(value)
    if len(values) != n:
        raise ValueError(f"{name} has {len(values)} entries for {n} images; give one per image")
    return values


def _is_single_window(window) -> bool:
    if isinstance(window, str):
        return True
    if isinstance(window, tuple) and len(window) == 2 and all(
        isinstance(v, (int, float, np.number)) for v in window
    ):
        return True
    return False


def plot_grid(
    images,
    *,
    titles: Sequence[Any] | None = None,
    ncols: int | None = None,
    window=None,
    masks=None,
    heatmaps=None,
    boxes=None,
    labels=None,
    mask_alpha: float = 0.4,
    heatmap_alpha: float = 0.4,
    title: str | None = None,
    panel_size: float = 2.5,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """Draw several images in a grid (a batch, a dataset, predictions next to truth).

    Parameters
    ----------
    images : sequence of images, array (n, y, x[, c]) or volume Image
        Each image as accepted by :func:`plot_image` (2D or RGB). A volume
        ``Image`` is drawn slice by slice.
    titles : sequence, optional
        One title per image (e.g. labels, predicted probabilities).
    ncols : int, optional
        Panels per row; default ``min(n, 4)``.
    window : None, str, (center, width) or list of those
        One window for all images, or a list with one per image.
    masks, heatmaps : sequence of arrays, optional
        One per image (``None`` entries allowed).
    boxes : sequence of (N, 4) arrays, optional
        One array of boxes per image.
    labels : sequence of sequences of str, optional
        Box labels per image.
    mask_alpha, heatmap_alpha : float, default 0.4
    title : str, optional
        Figure title.
    panel_size : float, default 2.5
        Inches per panel when ``figsize`` is not given.
    figsize : (float, float), optional
        Inches.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per panel, in reading order (unused panels hidden).
    """
    items = _as_image_list(images)
    n = len(items)
    if n == 0:
        raise ValueError("plot_grid got no images")
    ncols = max(1, min(n, ncols or 4))
    nrows = math.ceil(n / ncols)
    windows = _per_image(window, n, "window", _is_single_window)
    no_single = lambda value: False  # noqa: E731 - per-image lists only
    per_masks = _per_image(masks, n, "masks", no_single)
    per_heatmaps = _per_image(heatmaps, n, "heatmaps", no_single)
    per_boxes = _per_image(boxes, n, "boxes", no_single)
    per_labels = _per_image(labels, n, "labels", no_single)
    per_titles = _per_image(titles, n, "titles", no_single)
    fig = Figure(figsize=figsize or (panel_size * ncols, panel_size * nrows + (0.4 if title else 0)),
                 layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for i, ax in enumerate(axes):
        if i >= n:
            ax.set_visible(False)
            continue
        plot_image(
            items[i], windows[i], mask=per_masks[i], mask_alpha=mask_alpha, heatmap=per_heatmaps[i],
            heatmap_alpha=heatmap_alpha, boxes=per_boxes[i], labels=per_labels[i],
            title=None if per_titles[i] is None else str(per_titles[i]), ax=ax,
        )
    if title:
        fig.suptitle(title)
    return fig
