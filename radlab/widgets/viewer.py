"""``rl.show``: browse an image or a volume with window/level, overlays and a cursor readout.

How an update is drawn (and why)
--------------------------------
A window/level change must feel immediate while a slider is dragged. The target
(``bench/viewer_latency.py``) is <= 33 ms of Python-side work per frame for a
512 x 512 image and >= 3x faster than re-plotting. A re-plot (new figure +
``imshow`` + PNG, what ``clear_output()`` and plotting again costs) takes ~55 ms,
~175 ms with overlays. ipympl can update a figure in place, but its work per
frame is an Agg draw of the *whole* figure plus a PNG of the changed pixels
(``get_diff_image``), and with stock matplotlib both are slow for an image: an
``AxesImage`` is normalised, colour-mapped and resampled on every draw (~12 ms,
plus ~7 ms per overlay layer), and ipympl's zlib level-6 PNG of a CT frame costs
~20 ms. So:

* The figure is exactly the displayed pixels, one axes filling it, axis off, no
  text: small images are enlarged by a whole factor, large ones block-averaged
  once per slice (readouts still report original pixels).
* Windowing and overlays happen in NumPy: :func:`~radlab.imaging.windowing.window_uint8`
  (one multiply-add) and the mask and heatmap folded once per slice into
  ``grey * keep + add`` (:func:`radlab.plotting._flatten_layers`). The result is
  one uint8 RGBA frame in a single :class:`~radlab.widgets._base.FrameImage`,
  which hands Agg the frame itself when it maps 1:1 (or 1:k) onto the canvas
  (~1 ms instead of ~7 ms; same pixels).
* radlab's ipympl canvas encodes frames at zlib level 1 (~8 ms instead of ~20).
* Updates call ``set_data`` + ``draw_idle``: the figure, axes and artist are never
  re-created, and the browser requests a frame only after showing the previous
  one, so a fast drag coalesces instead of queueing.
* Boxes stay matplotlib rectangles and texts (crisp, and they zoom with the
  toolbar); each labelled box adds ~1 ms per frame (text rendering). The cursor
  readout is an HTML widget, so moving the mouse redraws nothing.

Measured on 2 shared CPU cores (real 512 x 512 CT): ~10 ms per update without
overlays, ~19 ms with a mask, a heatmap and three labelled boxes; a slice change
with overlays ~25-35 ms. On a HiDPI screen ipympl renders at 2x (4x the pixels,
~35 ms); pass a smaller ``display_size`` there if dragging feels slow.

Without ipympl the same figure is rendered to a PNG in an ``ipywidgets.Image``
(same update path; no cursor readout, as a static image gets no mouse events).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Mapping, Sequence

import numpy as np

from ..imaging.image import Image
from ..imaging.windowing import WINDOW_PRESETS, auto_window, window_uint8
from ..plotting import (
    BOX_COLOR,
    _apply_flat,
    _as_boxes,
    _as_image,
    _check_mask,
    _fit_heatmap,
    _flatten_layers,
    _heatmap_limits,
    _rgb_for_display,
    _stats_sample,
    display_window,
    draw_boxes,
    heatmap_rgba,
    mask_rgba,
)
from . import _base
from ._base import Syncing

__all__ = ["show"]


def show(
    image_or_volume,
    window=None,
    *,
    mask=None,
    mask_alpha: float = 0.4,
    mask_colors: Sequence[Any] | None = None,
    heatmap=None,
    heatmap_alpha: float = 0.4,
    heatmap_cmap: str = "turbo",
    boxes=None,
    labels=None,
    box_color: Any = BOX_COLOR,
    title: str | None = None,
    slice_index: int | None = None,
    display_size: int = 512,
    interactive: bool | None = None,
):
    """Browse an image or volume: window/level, presets, slices, overlays, cursor value.

    Parameters
    ----------
    image_or_volume : Image or array_like
        A :class:`radlab.Image` (its stored window, ``units`` and ``spacing`` are
        used) or an array: 2D image ``(y, x)``, volume ``(z, y, x)``, or colour
        ``(y, x, 3)`` uint8 (float colour images: ``Image(array, rgb=True)``).
        CT values in HU.
    window : None, str or (center, width)
        Starting window: ``None`` (the file's stored window, else ``"auto"``), a
        preset name (``"lung"``, ``"mediastinum"``, ``"soft_tissue"``, ``"bone"``,
        ``"brain"``, ``"liver"``), ``"auto"`` (1st..99th percentile), ``"default"``
        or ``(center, width)`` in the image's units.
    mask : array_like of bool or int, optional
        Same shape as the image/volume. 0 is background; labels 1, 2, ... get
        distinct colours (:data:`radlab.plotting.MASK_COLORS`).
    mask_alpha : float, default 0.4
        Mask opacity, 0..1.
    mask_colors : sequence of colours, optional
        Colours for labels 1, 2, ...
    heatmap : array_like of float, optional
        E.g. a saliency or Grad-CAM map. Same shape as the image/volume, or a
        coarser map (per slice for a volume, ``(z, h, w)``) that is resized.
        Colour limits are the heatmap's min and max over the whole volume.
    heatmap_alpha : float, default 0.4
    heatmap_cmap : str, default "turbo"
    boxes : optional
        Bounding boxes ``(x0, y0, x1, y1)`` in pixels along pixel edges
        (x = column, y = row). For a 2D image: an ``(N, 4)`` array. For a volume:
        a dict ``{slice_index: (N, 4) boxes}``, or a list with one ``(N, 4)`` entry
        per slice (``None`` or ``[]`` where there are none).
    labels : optional
        Text for each box, structured like ``boxes`` (a list per image; for a
        volume a dict or per-slice list of lists).
    box_color : matplotlib colour, default :data:`radlab.plotting.BOX_COLOR`
    title : str, optional
        Shown above the image.
    slice_index : int, optional
        First slice shown for a volume; default the middle slice.
    display_size : int, default 512
        Longest side on screen, in pixels: smaller images are enlarged by a whole
        factor, larger ones block-averaged (the readout still reports original
        pixels).
    interactive : bool, optional
        ``None``: an ipympl canvas (cursor readout, zoom/pan toolbar, mouse-wheel
        slice scrolling) when ipympl is installed, else a static PNG.
        ``False`` forces the static image, ``True`` requires ipympl.

    Returns
    -------
    ipywidgets.VBox
        The widget. ``.state`` holds the viewer behind it: ``center``, ``width``
        (the window, in the image's units), ``preset``, ``slice_index``,
        ``readout`` (last value under the cursor), ``figure``, ``image_artist``,
        the controls (``level_slider``, ``width_slider``, ``preset_dropdown``,
        ``slice_slider``), and methods ``set_window``, ``set_preset``,
        ``set_slice``, ``set_overlays``, ``readout_at``.

    Examples
    --------
    >>> viewer = show(ct, window="lung", mask=nodule_mask)    # doctest: +SKIP
    >>> viewer.state.set_preset("mediastinum")                # doctest: +SKIP
    """
    viewer = _Viewer(
        image_or_volume, window, mask=mask, mask_alpha=mask_alpha, mask_colors=mask_colors,
        heatmap=heatmap, heatmap_alpha=heatmap_alpha, heatmap_cmap=heatmap_cmap, boxes=boxes,
        labels=labels, box_color=box_color, title=title, slice_index=slice_index,
        display_size=display_size, interactive=interactive,
    )
    return viewer.container


def _downsample(array: np.ndarray, factor: int) -> np.ndarray:
    """Block-average the first two axes by ``factor`` (edges padded by replication)."""
    from skimage.transform import downscale_local_mean

    pad = [(0, (-array.shape[0]) % factor), (0, (-array.shape[1]) % factor)]
    pad += [(0, 0)] * (array.ndim - 2)
    padded = np.pad(array, pad, mode="edge")
    factors = (factor, factor) + (1,) * (array.ndim - 2)
    return downscale_local_mean(padded, factors).astype(np.float32)


def _boxes_per_slice(boxes, labels, n_slices: int, is_volume: bool) -> list:
    """One ``(boxes (N, 4), labels or None)`` pair per slice."""
    empty = (np.zeros((0, 4)), None)
    if boxes is None:
        if labels is not None:
            raise ValueError("labels were given without boxes; labels name the boxes, one per box")
        return [empty] * n_slices
    if not is_volume:
        return [(_as_boxes(boxes), None if labels is None else list(labels))]
    hint = (
        "for a volume give boxes per slice: a dict {slice_index: [(x0, y0, x1, y1), ...]} or a "
        f"list with one entry per slice ({n_slices} entries, None or [] where there are none)"
    )
    if isinstance(boxes, Mapping):
        by_slice = {int(k): v for k, v in boxes.items()}
        bad = [k for k in by_slice if not 0 <= k < n_slices]
        if bad:
            raise ValueError(f"boxes has slice indices {bad} outside 0..{n_slices - 1}")
    else:
        entries = list(boxes)
        if len(entries) != n_slices:
            raise ValueError(f"boxes has {len(entries)} entries but the volume has {n_slices} slices; {hint}")
        by_slice = dict(enumerate(entries))
    if labels is None:
        labels_by_slice = {}
    elif isinstance(labels, Mapping):
        labels_by_slice = {int(k): v for k, v in labels.items()}
    else:
        labels_by_slice = dict(enumerate(labels))
    out = []
    for k in range(n_slices):
        slice_boxes = _as_boxes(by_slice.get(k), name=f"boxes for slice {k}")
        slice_labels = labels_by_slice.get(k)
        if slice_labels is not None:
            slice_labels = list(slice_labels)
            if len(slice_labels) != len(slice_boxes):
                raise ValueError(
                    f"slice {k} has {len(slice_boxes)} boxes but {len(slice_labels)} labels; "
                    "give one label per box"
                )
        out.append((slice_boxes, slice_labels))
    return out


def _nice_step(span: float) -> float:
    return 10.0 ** math.floor(math.log10(span / 500.0)) if span > 0 else 1.0


class _Viewer(Syncing):
    """State and callbacks behind :func:`show` (reach it as ``show(...).state``)."""

    def __init__(
        self, image, window, *, mask, mask_alpha, mask_colors, heatmap, heatmap_alpha,
        heatmap_cmap, boxes, labels, box_color, title, slice_index, display_size, interactive,
    ):
        import ipywidgets as widgets

        img = _as_image(image, "image_or_volume")
        self.image = img
        self._from_array = not isinstance(image, Image)
        self.is_volume = img.is_volume
        self.is_rgb = img.is_rgb
        self.volume = img.array if img.is_volume else img.array[None]
        self.n_slices = self.volume.shape[0]
        height, width = self.volume.shape[1:3]
        self.shape = (height, width)
        self.units = "HU" if img.units == "HU" else "raw"
        spatial = img.array.shape[: img.array.ndim - (1 if img.is_rgb else 0)]

        # -- overlays, validated once ------------------------------------------
        self.mask = None if mask is None else _check_mask(mask, spatial).reshape(self.volume.shape[:3])
        self.mask_alpha, self.mask_colors = float(mask_alpha), mask_colors
        self.heatmap = None
        if heatmap is not None:
            self.heatmap = _fit_heatmap(heatmap, spatial).reshape(self.volume.shape[:3])
            self.heatmap_limits = _heatmap_limits(self.heatmap)
        self.heatmap_alpha, self.heatmap_cmap = float(heatmap_alpha), heatmap_cmap
        self.boxes = _boxes_per_slice(boxes, labels, self.n_slices, self.is_volume)
        self.box_color = box_color
        self.has_overlays = (
            self.mask is not None or self.heatmap is not None or any(len(b) for b, _ in self.boxes)
        )
        self.overlays_visible = True

        # -- state ---------------------------------------------------------------
        if slice_index is None:
            slice_index = self.n_slices // 2
        if not 0 <= int(slice_index) < self.n_slices:
            raise ValueError(f"slice_index {slice_index} is outside 0..{self.n_slices - 1}")
        self.slice_index = int(slice_index)
        self.center: float | None = None
        self.width: float | None = None
        self.preset: str | None = None
        self.readout: dict | None = None
        self._slice_data = None
        self.box_artists: list = []

        # -- figure: exactly the displayed pixels, one axes filling it -------------
        if int(display_size) < 16:
            raise ValueError(f"display_size is {display_size} pixels; use at least 16 (default 512)")
        display_size = int(display_size)
        longest = max(height, width)
        self.factor = max(1, math.ceil(longest / display_size))
        zoom = max(1, display_size // longest) if self.factor == 1 else 1
        disp_h, disp_w = math.ceil(height / self.factor), math.ceil(width / self.factor)
        spacing = img.spacing[-2:] if len(img.spacing) >= 2 else (1.0, 1.0)
        aspect = spacing[0] / spacing[1] if spacing[1] > 0 else 1.0
        if abs(aspect - 1.0) < 0.01:
            aspect = 1.0
        self.errors = _base.error_output()
        self.view = _base.new_figure_view(
            disp_w * zoom, max(1, round(disp_h * zoom * aspect)), interactive=interactive
        )
        self.figure = self.view.figure
        self.ax = self.figure.add_axes((0, 0, 1, 1))
        self.ax.set_axis_off()
        # Extent in original pixels (padded to whole blocks when downsampled), so
        # data coordinates are continuous pixel coordinates, as in plot_image.
        extent = (0, disp_w * self.factor, disp_h * self.factor, 0)
        self.image_artist = _base.FrameImage(self.ax, interpolation="none", extent=extent)
        self.image_artist.set_data(np.zeros((disp_h, disp_w, 4), np.uint8))
        self.ax.add_image(self.image_artist)
        self.image_artist.set_mouseover(False)  # the readout widget reports values
        self.ax.set_xlim(extent[0], extent[1])
        self.ax.set_ylim(extent[2], extent[3])
        self.ax.format_coord = lambda x, y: ""

        # -- controls ------------------------------------------------------------
        self.level_slider = self.width_slider = self.preset_dropdown = None
        self.slice_slider = self.overlay_checkbox = None
        self.window_options: dict[str, tuple[str, tuple[float, float]]] = {}
        style = {"description_width": "initial"}
        rows = []
        if title:
            rows.append(widgets.HTML(f"<b>{_escape(title)}</b>"))
        rows.append(self.view.widget)
        if not self.is_rgb:
            rows.append(self._build_window_controls(window, widgets, style))
        if self.is_volume:
            self.slice_slider = widgets.IntSlider(
                value=self.slice_index, min=0, max=self.n_slices - 1, description="Slice",
                style=style, continuous_update=True, layout=widgets.Layout(width="30em"),
            )
            _base.observe(self.slice_slider, self._on_slice_slider, self.errors)
            rows.append(self.slice_slider)
        if self.has_overlays:
            self.overlay_checkbox = widgets.Checkbox(value=True, description="Overlays", indent=False)
            _base.observe(self.overlay_checkbox, self._on_overlay_checkbox, self.errors)
            rows.append(self.overlay_checkbox)
        hint = "" if self.view.interactive else " (cursor readout needs ipympl: pip install ipympl)"
        self.readout_widget = widgets.HTML(f"<code>move the mouse over the image{hint}</code>")
        rows.append(self.readout_widget)
        rows.append(self.errors)
        self.container = widgets.VBox(rows)
        self.container.state = self

        canvas = self.figure.canvas
        canvas.mpl_connect("motion_notify_event", _base.guard(self.errors, self._on_motion))
        if self.is_volume and self.view.interactive:
            canvas.capture_scroll = True  # the wheel scrolls slices, not the notebook
            canvas.mpl_connect("scroll_event", _base.guard(self.errors, self._on_scroll))

        self._slice_data = self._prepare_slice(self.slice_index)
        self._draw_boxes()
        self._render()

    # -- construction helpers -----------------------------------------------------
    def _build_window_controls(self, window, widgets, style):
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN volume
            lo, hi = float(np.nanmin(self.volume)), float(np.nanmax(self.volume))
        if not (math.isfinite(lo) and math.isfinite(hi)):
            lo, hi = auto_window(_stats_sample(self.volume), 0.0, 100.0)
            lo, hi = lo - hi / 2, lo + hi / 2
        if hi <= lo:
            hi = lo + 1.0
        options = self.window_options
        stored = self.image.window
        if stored:
            c, w = float(stored[0]), float(stored[1])
            options["default"] = (f"file default ({c:g}/{w:g})", (c, w))
        options["auto"] = ("auto (1st-99th percentile)", auto_window(_stats_sample(self.volume)))
        wants_preset = isinstance(window, str) and window.strip().lower() not in ("auto", "default")
        # CT presets are in HU: offer them for HU images and for plain arrays whose
        # values reach below -500 (HU-like), or when one was asked for.
        looks_hu = self.units == "HU" or (self._from_array and lo < -500)
        if looks_hu or wants_preset:
            for name, (c, w) in WINDOW_PRESETS.items():
                options[name] = (f"{name.replace('_', ' ')} ({c:g}/{w:g})", (float(c), float(w)))
        center, width = display_window(self.image, window)

        span = hi - lo
        integer_like = self.volume.dtype.kind in "iub" or self.units == "HU"
        step = 1.0 if integer_like and span >= 50 else _nice_step(span)
        centers = [c for _, (c, _) in options.values()] + [center]
        widths = [w for _, (_, w) in options.values()] + [width]
        decimals = max(0, -int(math.floor(math.log10(step))))
        fmt = f".{decimals}f"
        unit = " (HU)" if self.units == "HU" else ""
        self.level_slider = widgets.FloatSlider(
            value=center, min=min([lo] + centers), max=max([hi] + centers), step=step,
            description=f"Level{unit}", readout_format=fmt, style=style, continuous_update=True,
        )
        self.width_slider = widgets.FloatSlider(
            value=width, min=step, max=max([2 * span] + widths), step=step,
            description=f"Width{unit}", readout_format=fmt, style=style, continuous_update=True,
        )
        self.preset_dropdown = widgets.Dropdown(
            options=[(label, key) for key, (label, _) in options.items()] + [("custom", "custom")],
            value="custom", description="Preset", style=style, layout=widgets.Layout(width="18em"),
        )
        requested = window.strip().lower() if isinstance(window, str) else None
        if window is None:
            requested = "default" if stored else "auto"
        self._apply_window(center, width, requested if requested in options else None)
        _base.observe(self.level_slider, self._on_window_slider, self.errors)
        _base.observe(self.width_slider, self._on_window_slider, self.errors)
        _base.observe(self.preset_dropdown, self._on_preset_dropdown, self.errors)
        return widgets.HBox([self.level_slider, self.width_slider, self.preset_dropdown])

    # -- public methods ---------------------------------------------------------------
    def set_window(self, center: float, width: float) -> None:
        """Show the window ``center`` +- ``width``/2 (image units); moves the sliders."""
        if self.is_rgb:
            raise ValueError("an RGB image has no window/level")
        self._apply_window(float(center), float(width), None)
        self._render()

    def set_preset(self, name: str) -> None:
        """Apply a window from the preset dropdown (``"lung"``, ``"auto"``, ``"default"``, ...)."""
        key = name.strip().lower()
        if key not in self.window_options:
            raise ValueError(
                f"unknown preset {name!r} for this image; choose one of {', '.join(self.window_options)}"
            )
        center, width = self.window_options[key][1]
        self._apply_window(center, width, key)
        self._render()

    def set_slice(self, index: int) -> None:
        """Show slice ``index`` of a volume (0-based)."""
        if not self.is_volume:
            raise ValueError("a 2D image has no slices")
        index = int(index)
        if not 0 <= index < self.n_slices:
            raise ValueError(f"slice {index} is outside 0..{self.n_slices - 1}")
        self.slice_index = index
        with self._sync():
            self.slice_slider.value = index
        self._slice_data = self._prepare_slice(index)
        self._draw_boxes()
        self._render()

    def set_overlays(self, visible: bool) -> None:
        """Show or hide the mask, heatmap and boxes."""
        self.overlays_visible = bool(visible)
        for artist in self.box_artists:
            artist.set_visible(self.overlays_visible)
        if self.overlay_checkbox is not None:
            with self._sync():
                self.overlay_checkbox.value = self.overlays_visible
        self._render()

    def readout_at(self, row: int, col: int) -> dict:
        """The value at a pixel of the current slice, with its position and units."""
        height, width = self.shape
        if not (0 <= row < height and 0 <= col < width):
            raise IndexError(f"pixel (row {row}, col {col}) is outside the {height}x{width} image")
        value = self.volume[self.slice_index, row, col]
        result = {
            "row": int(row), "col": int(col),
            "slice": self.slice_index if self.is_volume else None,
            "value": value.tolist() if self.is_rgb else float(value),
            "units": self.units,
        }
        if self.mask is not None:
            result["mask"] = int(self.mask[self.slice_index, row, col])
        if self.heatmap is not None:
            result["heatmap"] = float(self.heatmap[self.slice_index, row, col])
        result["text"] = _readout_text(result)
        return result

    @property
    def frame(self) -> np.ndarray:
        """The RGBA uint8 frame currently shown (display resolution)."""
        return self.image_artist.get_array()

    # -- rendering ------------------------------------------------------------------
    def _prepare_slice(self, k: int):
        """Per-slice work done once: display-resolution base and folded overlays."""
        base = self.volume[k]
        if self.is_rgb:
            base = _rgb_for_display(base)[..., :3]
        layers = []
        if self.heatmap is not None:
            layers.append(heatmap_rgba(self.heatmap[k], self.heatmap_alpha, self.heatmap_cmap,
                                       *self.heatmap_limits))
        if self.mask is not None:
            layers.append(mask_rgba(self.mask[k], self.mask_alpha, self.mask_colors))
        keep = add = None
        if layers:
            keep, add = _flatten_layers(layers, self.shape)
        if self.factor > 1:
            base = _downsample(base, self.factor)
            if self.is_rgb:
                base = (base + 0.5).astype(np.uint8)
            if layers:
                keep, add = _downsample(keep, self.factor), _downsample(add, self.factor)
        return base, keep, add

    def _render(self) -> None:
        base, keep, add = self._slice_data
        grey = base if self.is_rgb else window_uint8(base, self.center, self.width)
        if grey.ndim == 2 and (keep is None or not self.overlays_visible):
            # Grey to opaque RGBA in two passes: one uint32 per pixel, 0xAABBGGRR.
            frame = (grey.astype("<u4") * 0x010101 + 0xFF000000).view(np.uint8)
            frame = frame.reshape(*grey.shape, 4)
        else:
            frame = np.empty((*grey.shape[:2], 4), dtype=np.uint8)
            frame[..., 3] = 255
            overlay = keep is not None and self.overlays_visible
            frame[..., :3] = _apply_flat(grey, keep, add) if overlay else grey
        self.image_artist.set_data(frame)
        self.view.request_draw()

    def _draw_boxes(self) -> None:
        for artist in self.box_artists:
            artist.remove()
        slice_boxes, slice_labels = self.boxes[self.slice_index]
        self.box_artists = draw_boxes(self.ax, slice_boxes, slice_labels, color=self.box_color)
        for artist in self.box_artists:
            artist.set_visible(self.overlays_visible)

    def _apply_window(self, center: float, width: float, preset: str | None) -> None:
        if not width > 0:
            raise ValueError(f"window width must be positive, got {width}")
        self.center, self.width = center, width
        self.preset = preset or self._matching_preset(center, width)
        with self._sync():
            for slider, value in ((self.level_slider, center), (self.width_slider, width)):
                if value < slider.min:
                    slider.min = value
                if value > slider.max:
                    slider.max = value
                slider.value = value
            self.preset_dropdown.value = self.preset

    def _matching_preset(self, center: float, width: float) -> str:
        for key, (_, (c, w)) in self.window_options.items():
            if abs(c - center) < 1e-6 * max(1.0, abs(c)) and abs(w - width) < 1e-6 * max(1.0, w):
                return key
        return "custom"

    # -- callbacks (all wrapped by _base.guard) ------------------------------------------
    def _on_window_slider(self, change) -> None:
        if self._syncing:
            return
        self.set_window(self.level_slider.value, self.width_slider.value)

    def _on_preset_dropdown(self, change) -> None:
        if self._syncing or change["new"] == "custom":
            return
        self.set_preset(change["new"])

    def _on_slice_slider(self, change) -> None:
        if self._syncing:
            return
        self.set_slice(change["new"])

    def _on_overlay_checkbox(self, change) -> None:
        if self._syncing:
            return
        self.set_overlays(change["new"])

    def _on_motion(self, event) -> None:
        if event.inaxes is not self.ax or event.xdata is None or event.ydata is None:
            return
        row, col = int(math.floor(event.ydata)), int(math.floor(event.xdata))
        height, width = self.shape
        if not (0 <= row < height and 0 <= col < width):
            return
        self.readout = self.readout_at(row, col)
        self.readout_widget.value = f"<code>{_escape(self.readout['text'])}</code>"

    def _on_scroll(self, event) -> None:
        if event.inaxes is not self.ax:
            return
        step = 1 if event.button == "up" else -1
        target = min(max(self.slice_index + step, 0), self.n_slices - 1)
        if target != self.slice_index:
            self.set_slice(target)


def _readout_text(result: dict) -> str:
    where = f"row {result['row']}, col {result['col']}"
    if result["slice"] is not None:
        where += f", slice {result['slice']}"
    value = result["value"]
    if isinstance(value, list):
        shown = "RGB " + ", ".join(f"{v:g}" for v in value)
    else:
        shown = f"{value:.6g} {result['units']}"
    text = f"{where}: {shown}"
    if "mask" in result:
        text += f" | mask {result['mask']}"
    if "heatmap" in result:
        text += f" | heatmap {result['heatmap']:.3g}"
    return text


def _escape(text: str) -> str:
    import html

    return html.escape(str(text))
