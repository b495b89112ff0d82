"""``feature_map_explorer``: pick a layer, a channel and an image; see what the CNN computed.

Three panels, created once: the input image, the chosen feature map (one
channel of one layer, drawn over the same extent as the input, so a 16 x 16 map
of a deep layer shows as 16 x 16 coarse pixels), and a grid of all the layer's
channels with the chosen one outlined (click a tile to choose it when ipympl is
installed).

How updates stay cheap
----------------------
* The feature maps of a layer are computed for all the widget's images in one
  forward pass (:func:`radlab.activations.feature_maps`) the first time the
  layer is chosen, and kept: each ``(layer, image)`` pair is computed once.
  ``state.n_forward_passes`` counts the passes.
* Moving the channel or image slider only calls ``set_data`` on the existing
  artists, moves the outline and asks for a redraw (``draw_idle`` with ipympl,
  else a PNG); the figure and its axes are never re-created.
* The grid of channels for a ``(layer, image)`` pair is built once and kept.

Colour scale: each channel has one scale for all the widget's images (its
minimum and maximum over them), so a normal and an abnormal radiograph can be
compared by eye - a channel that "lights up" on the lesion is brighter there,
not merely rescaled.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..activations import as_model_input, feature_maps, image_layers
from . import _base
from ._base import Syncing

__all__ = ["feature_map_explorer", "MAX_IMAGES", "channel_grid"]

#: Most images one explorer holds (their feature maps are kept in memory).
MAX_IMAGES = 256

#: Gap between tiles of the channel grid, pixels of the feature map.
_GAP = 1


def feature_map_explorer(
    model,
    images,
    *,
    titles: Sequence[str] | None = None,
    layer_names: Sequence[str] | None = None,
    layer: str | None = None,
    channel: int = 0,
    image_index: int = 0,
    max_channels: int = 64,
    cmap: str = "magma",
    panel_px: int = 256,
    interactive: bool | None = None,
):
    """Explore a CNN's feature maps: choose a layer, a channel and an image.

    Parameters
    ----------
    model : keras.Model
        A trained functional or Sequential CNN, e.g. :func:`radlab.models.small_cnn`.
    images : array_like
        The images to look at, shaped as the model takes them (``(n, h, w, 1)``,
        or ``(n, h, w)`` for a grey model), scaled as in training. At most
        :data:`MAX_IMAGES`; a handful (normal and abnormal) is what you want.
    titles : sequence of str, optional
        One caption per image (e.g. ``"normal"``, ``"pneumonia"``).
    layer_names : sequence of str, optional
        The layers offered. Default :func:`radlab.activations.image_layers`
        (the activation of each conv block, e.g. ``block1_relu``).
    layer : str, optional
        First layer shown; default the first of ``layer_names``.
    channel : int, default 0
        First channel shown.
    image_index : int, default 0
        First image shown.
    max_channels : int, default 64
        Most channels drawn in the grid (the slider still reaches all).
    cmap : str, default "magma"
        Colour map of the feature maps (dark = 0, bright = strong response).
    panel_px : int, default 256
        Size of each of the three panels, screen pixels.
    interactive : bool, optional
        ``None``: an ipympl canvas (click a grid tile to choose its channel)
        when ipympl is installed, else a static PNG; ``False`` forces the PNG.

    Returns
    -------
    ipywidgets.VBox
        The widget; ``.state`` holds the explorer: ``layer``, ``channel``,
        ``image_index``, ``activation`` (the 2D map shown), ``limits`` (its
        colour scale), ``n_forward_passes``, ``figure``, the artists
        (``input_artist``, ``map_artist``, ``grid_artist``), the controls
        (``layer_dropdown``, ``channel_slider``, ``image_slider``), ``errors``
        (the Output where callback errors appear), and the methods
        ``set_layer``, ``set_channel``, ``set_image`` and ``maps``.

    Examples
    --------
    >>> explorer = feature_map_explorer(model, x_test[:8], titles=names)   # doctest: +SKIP
    >>> explorer.state.set_layer("block2_relu")                            # doctest: +SKIP
    """
    explorer = _FeatureMapExplorer(
        model, images, titles=titles, layer_names=layer_names, layer=layer, channel=channel,
        image_index=image_index, max_channels=max_channels, cmap=cmap, panel_px=panel_px,
        interactive=interactive,
    )
    return explorer.container


def channel_grid(maps: np.ndarray, limits: np.ndarray, ncols: int | None = None) -> tuple[np.ndarray, int]:
    """Tile the channels of one feature map into one image, each scaled to 0..1.

    Parameters
    ----------
    maps : numpy.ndarray, shape (h, w, channels)
    limits : numpy.ndarray, shape (channels, 2)
        ``(low, high)`` per channel; values are mapped to ``(v - low) / (high - low)``.
    ncols : int, optional
        Tiles per row; default ``ceil(sqrt(channels))``.

    Returns
    -------
    grid : numpy.ndarray, float32, shape (rows * (h + 1) - 1, ncols * (w + 1) - 1)
        NaN in the one-pixel gaps between tiles.
    ncols : int
    """
    h, w, n = maps.shape
    ncols = ncols or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    low, high = limits[:, 0], limits[:, 1]
    scaled = (maps - low) / np.where(high > low, high - low, 1.0)
    grid = np.full((nrows * (h + _GAP) - _GAP, ncols * (w + _GAP) - _GAP), np.nan, np.float32)
    for k in range(n):
        r, c = divmod(k, ncols)
        grid[r * (h + _GAP): r * (h + _GAP) + h, c * (w + _GAP): c * (w + _GAP) + w] = scaled[..., k]
    return grid, ncols


class _FeatureMapExplorer(Syncing):
    """State and callbacks behind :func:`feature_map_explorer` (``explorer.state``)."""

    def __init__(self, model, images, *, titles, layer_names, layer, channel, image_index,
                 max_channels, cmap, panel_px, interactive):
        import ipywidgets as widgets
        import matplotlib

        self.model = model
        self.x = as_model_input(model, images)
        n = len(self.x)
        if n == 0:
            raise ValueError("images is empty; give at least one image")
        if n > MAX_IMAGES:
            raise ValueError(
                f"{n} images is too many for the explorer (at most {MAX_IMAGES}: their feature "
                "maps are kept in memory); pass a few, e.g. images[:8]"
            )
        if titles is not None:
            titles = [str(t) for t in titles]
            if len(titles) != n:
                raise ValueError(f"titles has {len(titles)} entries for {n} images; give one per image")
        self.titles = titles
        self.layer_names = list(layer_names) if layer_names is not None else image_layers(model)
        if not self.layer_names:
            raise ValueError(f"model {model.name!r} has no layer with image-shaped output; pass layer_names")
        for name in self.layer_names:
            model.get_layer(name)  # unknown names fail now, with Keras' message
        if int(max_channels) < 1:
            raise ValueError(f"max_channels must be >= 1, got {max_channels}")
        self.max_channels = int(max_channels)
        self.cmap = cmap
        self.n_forward_passes = 0
        self._maps: dict[str, np.ndarray] = {}
        self._limits: dict[str, np.ndarray] = {}
        self._grids: dict[tuple[str, int], tuple[np.ndarray, int]] = {}
        self.layer = layer if layer is not None else self.layer_names[0]
        if self.layer not in self.layer_names:
            raise ValueError(f"layer {self.layer!r} is not one of {self.layer_names}")
        self.image_index = self._check_image(image_index)
        self.channel = 0

        # -- figure: three panels, created once -------------------------------------
        panel_px = int(panel_px)
        if panel_px < 64:
            raise ValueError(f"panel_px is {panel_px}; use at least 64 (default 256)")
        title_px = 36
        width_px, height_px = 3 * panel_px + 40, panel_px + title_px + 8
        self.errors = _base.error_output()
        self.view = _base.new_figure_view(width_px, height_px, interactive=interactive, facecolor="white")
        self.figure = self.view.figure
        axes = []
        for k in range(3):
            left = (10 + k * (panel_px + 10)) / width_px
            axes.append(self.figure.add_axes((left, 4 / height_px, panel_px / width_px, panel_px / height_px)))
        self.input_ax, self.map_ax, self.grid_ax = axes
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])

        height, width = self.x.shape[1:3]
        self.extent = (0, width, height, 0)
        first = self._display_input(0)
        self.input_artist = self.input_ax.imshow(
            first, cmap="gray", interpolation="nearest", extent=self.extent,
            vmin=0.0, vmax=1.0, aspect="equal",
        )
        colormap = matplotlib.colormaps[cmap].with_extremes(bad="white")  # the gaps between tiles
        self.map_artist = self.map_ax.imshow(
            np.zeros((2, 2), np.float32), cmap=colormap, interpolation="nearest", extent=self.extent,
            aspect="equal",
        )
        self.grid_artist = self.grid_ax.imshow(
            np.zeros((2, 2), np.float32), cmap=colormap, interpolation="nearest", vmin=0.0, vmax=1.0,
            aspect="equal",
        )
        from matplotlib.patches import Rectangle

        self.outline = Rectangle((0, 0), 1, 1, fill=False, edgecolor="#56B4E9", lw=2)
        self.grid_ax.add_patch(self.outline)
        style = {"fontsize": 9}
        self.input_title = self.input_ax.set_title("", **style)
        self.map_title = self.map_ax.set_title("", **style)
        self.grid_title = self.grid_ax.set_title("", **style)

        # -- controls -----------------------------------------------------------------
        desc = {"description_width": "initial"}
        self.layer_dropdown = widgets.Dropdown(
            options=self.layer_names, value=self.layer, description="Layer", style=desc,
        )
        self.channel_slider = widgets.IntSlider(
            value=0, min=0, max=0, description="Channel", style=desc, continuous_update=True,
        )
        self.image_slider = widgets.IntSlider(
            value=self.image_index, min=0, max=n - 1, description="Image", style=desc,
            continuous_update=True, disabled=n == 1,
        )
        _base.observe(self.layer_dropdown, self._on_layer, self.errors)
        _base.observe(self.channel_slider, self._on_channel, self.errors)
        _base.observe(self.image_slider, self._on_image, self.errors)
        hint = "click a tile to choose its channel" if self.view.interactive else ""
        self.help = widgets.HTML(f"<small>{hint}</small>")
        self.container = widgets.VBox([
            widgets.HBox([self.layer_dropdown, self.channel_slider, self.image_slider]),
            self.view.widget, self.help, self.errors,
        ])
        self.container.state = self
        self.figure.canvas.mpl_connect("button_press_event", _base.guard(self.errors, self._on_click))

        self._select_layer(self.layer, channel)
        self._render()

    # -- data -------------------------------------------------------------------------
    def maps(self, layer: str) -> np.ndarray:
        """Feature maps of ``layer`` for all images, ``(n, h, w, channels)``; computed once."""
        if layer not in self._maps:
            if layer not in self.layer_names:
                raise ValueError(f"unknown layer {layer!r}; choose one of {self.layer_names}")
            maps = feature_maps(self.model, self.x, [layer])[layer]
            self.n_forward_passes += 1
            if maps.ndim != 4:
                raise ValueError(
                    f"layer {layer!r} outputs shape {maps.shape[1:]}, not a stack of images "
                    "(height, width, channels)"
                )
            low = maps.min(axis=(0, 1, 2))
            high = maps.max(axis=(0, 1, 2))
            self._maps[layer] = maps
            self._limits[layer] = np.stack([np.minimum(low, 0.0), high], axis=1)
        return self._maps[layer]

    @property
    def n_channels(self) -> int:
        return self.maps(self.layer).shape[-1]

    @property
    def activation(self) -> np.ndarray:
        """The feature map shown: ``(h, w)`` of the chosen layer, channel and image."""
        return self.maps(self.layer)[self.image_index, :, :, self.channel]

    @property
    def limits(self) -> tuple[float, float]:
        """Colour scale of the chosen channel (the same for every image)."""
        self.maps(self.layer)
        low, high = self._limits[self.layer][self.channel]
        return float(low), (float(high) if high > low else float(low) + 1.0)

    def _grid(self) -> tuple[np.ndarray, int]:
        key = (self.layer, self.image_index)
        if key not in self._grids:
            maps = self.maps(self.layer)[self.image_index][..., : self.max_channels]
            limits = self._limits[self.layer][: self.max_channels]
            self._grids[key] = channel_grid(maps, limits)
        return self._grids[key]

    def _display_input(self, index: int) -> np.ndarray:
        image = self.x[index]
        image = image[..., 0] if image.shape[-1] == 1 else image[..., :3]
        low, high = np.percentile(image, [0.5, 99.5])
        return np.clip((image - low) / (high - low if high > low else 1.0), 0.0, 1.0)

    def _check_image(self, index) -> int:
        index = int(index)
        if not 0 <= index < len(self.x):
            raise ValueError(f"image index {index} is outside 0..{len(self.x) - 1}")
        return index

    # -- public methods ------------------------------------------------------------------
    def set_layer(self, name: str, channel: int | None = None) -> None:
        """Show layer ``name`` (channel kept when the layer has it, else 0)."""
        self._select_layer(name, self.channel if channel is None else channel)
        self._render()

    def set_channel(self, channel: int) -> None:
        """Show channel ``channel`` (0-based) of the current layer."""
        channel = int(channel)
        if not 0 <= channel < self.n_channels:
            raise ValueError(f"layer {self.layer!r} has channels 0..{self.n_channels - 1}, not {channel}")
        self.channel = channel
        with self._sync():
            self.channel_slider.value = channel
        self._render()

    def set_image(self, index: int) -> None:
        """Show image ``index`` (0-based) of the widget's images."""
        self.image_index = self._check_image(index)
        with self._sync():
            self.image_slider.value = self.image_index
        self._render()

    # -- drawing ---------------------------------------------------------------------------
    def _select_layer(self, name: str, channel: int) -> None:
        if name not in self.layer_names:
            raise ValueError(f"unknown layer {name!r}; choose one of {self.layer_names}")
        self.maps(name)
        self.layer = name
        n_channels = self.n_channels
        channel = int(channel)
        self.channel = channel if 0 <= channel < n_channels else 0
        with self._sync():
            self.layer_dropdown.value = name
            self.channel_slider.max = n_channels - 1
            self.channel_slider.value = self.channel
        grid, _ = self._grid()
        self.grid_artist.set_data(grid)
        self.grid_artist.set_extent((0, grid.shape[1], grid.shape[0], 0))
        self.grid_ax.set_xlim(0, grid.shape[1])
        self.grid_ax.set_ylim(grid.shape[0], 0)

    def _render(self) -> None:
        maps = self.maps(self.layer)
        _, h, w, n_channels = maps.shape
        label = f" · {self.titles[self.image_index]}" if self.titles else ""
        self.input_artist.set_data(self._display_input(self.image_index))
        self.input_title.set_text(f"image {self.image_index}{label}")
        self.map_artist.set_data(self.activation)
        low, high = self.limits
        self.map_artist.set_clim(low, high)
        peak = float(self.activation.max())
        self.map_title.set_text(f"{self.layer} · channel {self.channel}\n{h}x{w} px, max {peak:.3g}")
        grid, ncols = self._grid()
        self.grid_artist.set_data(grid)
        shown = min(n_channels, self.max_channels)
        more = f" (first {shown} of {n_channels})" if n_channels > shown else ""
        self.grid_title.set_text(f"all channels{more}")
        if self.channel < shown:
            r, c = divmod(self.channel, ncols)
            self.outline.set_xy((c * (w + _GAP) - 0.5, r * (h + _GAP) - 0.5))
            self.outline.set_width(w + 1)
            self.outline.set_height(h + 1)
            self.outline.set_visible(True)
        else:
            self.outline.set_visible(False)
        self.view.request_draw()

    # -- callbacks (wrapped by _base.guard) ------------------------------------------------
    def _on_layer(self, change) -> None:
        if not self._syncing:
            self.set_layer(change["new"])

    def _on_channel(self, change) -> None:
        if not self._syncing:
            self.set_channel(change["new"])

    def _on_image(self, change) -> None:
        if not self._syncing:
            self.set_image(change["new"])

    def _on_click(self, event) -> None:
        if event.inaxes is not self.grid_ax or event.xdata is None or event.ydata is None:
            return
        _, h, w, n_channels = self.maps(self.layer).shape
        _, ncols = self._grid()
        col, row = int(event.xdata // (w + _GAP)), int(event.ydata // (h + _GAP))
        channel = row * ncols + col
        if col < ncols and channel < min(n_channels, self.max_channels):
            self.set_channel(channel)
