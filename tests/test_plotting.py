"""Static figures and the overlay helpers the viewer shares with them."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

import radlab as rl  # noqa: E402
from radlab.imaging.image import Image  # noqa: E402
from radlab.imaging.windowing import WINDOW_PRESETS, auto_window  # noqa: E402
from radlab.plotting import (  # noqa: E402
    MASK_COLORS,
    _as_boxes,
    _check_mask,
    composite,
    display_window,
    draw_boxes,
    heatmap_rgba,
    mask_rgba,
    plot_grid,
    plot_image,
)


@pytest.fixture
def ct():
    """A 64x64 'CT': air around a soft-tissue square with a bright bone spot."""
    hu = np.full((64, 64), -1000.0, np.float32)
    hu[16:48, 16:48] = 40.0
    hu[30:34, 30:34] = 700.0
    return hu


@pytest.fixture(autouse=True)
def _no_pyplot_figures():
    before = plt.get_fignums()
    yield
    assert plt.get_fignums() == before, "plot helpers must not leave figures in pyplot"
    plt.close("all")


def test_plot_image_returns_a_figure_outside_pyplot(ct):
    fig = plot_image(ct, "lung", title="chest")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_title() == "chest"
    (artist,) = ax.images
    center, width = WINDOW_PRESETS["lung"]
    assert artist.get_clim() == pytest.approx((center - width / 2, center + width / 2))
    # continuous pixel coordinates: x 0..W, y H..0 (top-left origin)
    assert ax.get_xlim() == (0, 64) and ax.get_ylim() == (64, 0)
    assert not ax.axison


def test_plot_image_draws_into_given_axes():
    fig = Figure()
    ax1, ax2 = fig.subplots(1, 2)
    out = plot_image(np.eye(8), (0.5, 1.0), ax=ax2)
    assert out is fig
    assert len(ax2.images) == 1 and len(ax1.images) == 0
    assert ax2.images[0].get_clim() == pytest.approx((0.0, 1.0))


def test_plot_image_uses_stored_window_and_units_for_colorbar(ct):
    image = Image(ct, spacing=(0.5, 0.5), units="HU", window=(40.0, 400.0))
    fig = plot_image(image, colorbar=True)
    image_ax = fig.axes[0]
    assert image_ax.images[0].get_clim() == pytest.approx((-160.0, 240.0))
    assert len(fig.axes) == 2
    assert fig.axes[1].get_ylabel() == "HU"


def test_plot_image_auto_window_without_stored_one(ct):
    fig = plot_image(ct)
    center, width = auto_window(ct)
    assert fig.axes[0].images[0].get_clim() == pytest.approx((center - width / 2, center + width / 2))


def test_plot_image_overlays_mask_heatmap_boxes(ct):
    mask = np.zeros(ct.shape, np.uint8)
    mask[16:48, 16:32] = 1
    mask[16:48, 32:48] = 2
    fig = plot_image(
        ct, "soft_tissue", mask=mask, heatmap=np.arange(49.0).reshape(7, 7),
        boxes=[(16, 16, 48, 48), (30, 30, 34, 34)], labels=["body", "bone"], colorbar=True,
    )
    ax = fig.axes[0]
    assert len(ax.images) == 3  # image, heatmap, mask
    mask_layer = np.asarray(ax.images[2].get_array())
    assert mask_layer.shape == (64, 64, 4)
    assert mask_layer[20, 20, :3] == pytest.approx(to_rgb(MASK_COLORS[0]), abs=1e-6)
    assert mask_layer[20, 40, :3] == pytest.approx(to_rgb(MASK_COLORS[1]), abs=1e-6)
    assert mask_layer[0, 0, 3] == 0
    assert ax.images[1].get_array().shape == (64, 64, 4)  # 7x7 heatmap resized to the image
    rects = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert [(r.get_x(), r.get_y(), r.get_width(), r.get_height()) for r in rects] == [
        (16, 16, 32, 32), (30, 30, 4, 4)]
    assert [t.get_text() for t in ax.texts] == ["body", "bone"]
    assert ax.get_xlim() == (0, 64)  # boxes did not autoscale the view
    assert [a.get_ylabel() for a in fig.axes[1:]] == ["raw value", "heatmap"]


def test_plot_image_rejects_volumes_and_bad_overlays(ct):
    with pytest.raises(ValueError, match="volume"):
        plot_image(np.zeros((3, 8, 8)))
    with pytest.raises(ValueError, match="shape"):
        plot_image(ct, mask=np.zeros((10, 10), bool))
    with pytest.raises(ValueError, match="without boxes"):
        plot_image(ct, labels=["a"])
    with pytest.raises(ValueError, match="one label per box"):
        plot_image(ct, boxes=[(0, 0, 4, 4)], labels=["a", "b"])
    with pytest.raises(ValueError, match="unknown window preset"):
        plot_image(ct, "lungs")


def test_plot_image_rgb_and_keras_style_channel_axis():
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 0] = 255
    fig = plot_image(rgb)
    shown = fig.axes[0].images[0].get_array()
    assert shown.dtype == np.uint8 and shown[0, 0].tolist() == [255, 0, 0]
    fig = plot_image(np.ones((8, 8, 1)), (0.5, 1.0))
    assert fig.axes[0].images[0].get_array().shape == (8, 8)
    # float colour images are declared as such on the Image (floats are never guessed RGB)
    fig = plot_image(Image(rgb.astype(np.float32) / 255, rgb=True))
    assert fig.axes[0].images[0].get_array()[0, 0].tolist() == [255, 0, 0]


def test_mask_rgba_label_colours_and_alpha():
    labels = np.array([[0, 1, 2, 8]])
    rgba = mask_rgba(labels, alpha=0.5)
    assert rgba.dtype == np.float32 and rgba.shape == (1, 4, 4)
    assert rgba[0, 0].tolist() == [0, 0, 0, 0]
    assert rgba[0, 1, :3] == pytest.approx(to_rgb(MASK_COLORS[0]))
    assert rgba[0, 2, :3] == pytest.approx(to_rgb(MASK_COLORS[1]))
    assert rgba[0, 3, :3] == pytest.approx(to_rgb(MASK_COLORS[(8 - 1) % len(MASK_COLORS)]))
    assert rgba[0, 1:, 3] == pytest.approx([0.5] * 3)
    assert mask_rgba(np.array([[True, False]]))[0, 0, :3] == pytest.approx(to_rgb(MASK_COLORS[0]))
    # huge label values take the sparse path and keep the same colour rule
    big = np.array([[0, 3, 10**9]])
    sparse = mask_rgba(big, colors=["red", "green", "blue"])
    assert sparse[0, 1, :3] == pytest.approx(to_rgb("blue"))
    assert sparse[0, 2, :3] == pytest.approx(to_rgb(["red", "green", "blue"][(10**9 - 1) % 3]))
    assert sparse[0, 0, 3] == 0


def test_check_mask_accepts_float_labels_rejects_probabilities():
    assert _check_mask(np.array([[0.0, 2.0]]), (1, 2)).dtype.kind == "i"
    with pytest.raises(ValueError, match="threshold"):
        _check_mask(np.array([[0.2, 0.9]]), (1, 2))
    with pytest.raises(ValueError, match="negative"):
        _check_mask(np.array([[-1, 0]]), (1, 2))


def test_heatmap_rgba_limits_alpha_and_nan():
    values = np.array([[0.0, 0.5, 1.0, np.nan]])
    rgba = heatmap_rgba(values, alpha=0.3, cmap="viridis")
    cmap = matplotlib.colormaps["viridis"]
    assert rgba[0, 0, :3] == pytest.approx(cmap(0.0)[:3], abs=1e-6)
    assert rgba[0, 2, :3] == pytest.approx(cmap(1.0)[:3], abs=1e-6)
    assert rgba[0, :3, 3] == pytest.approx([0.3] * 3)
    assert rgba[0, 3, 3] == 0
    clipped = heatmap_rgba(values, vmin=0.0, vmax=0.5, cmap="viridis")
    assert clipped[0, 1, :3] == pytest.approx(cmap(1.0)[:3], abs=1e-6)


def test_composite_blends_layers_in_order():
    grey = np.full((2, 2), 100, np.uint8)
    red = np.zeros((2, 2, 4), np.float32)
    red[..., 0], red[..., 3] = 1.0, 0.5
    blue = np.zeros((2, 2, 4), np.float32)
    blue[0, 0, 2], blue[0, 0, 3] = 1.0, 1.0
    out = composite(grey, [red, blue])
    assert out.dtype == np.uint8 and out.shape == (2, 2, 3)
    assert out[1, 1].tolist() == [178, 50, 50]  # 100 * 0.5 + 255 * 0.5 = 177.5 -> 178
    assert out[0, 0].tolist() == [0, 0, 255]  # opaque blue on top hides red
    assert composite(grey, []).tolist() == np.repeat(grey[..., None], 3, axis=2).tolist()


def test_draw_boxes_validates_coordinates():
    fig = Figure()
    ax = fig.add_subplot()
    artists = draw_boxes(ax, np.array([1, 2, 5, 9]), ["x"], color="red")
    assert len(artists) == 2 and artists[1].get_text() == "x"
    with pytest.raises(ValueError, match="x1 < x0"):
        _as_boxes([(5, 0, 1, 4)])
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        _as_boxes([(1, 2, 3)])
    assert _as_boxes(None).shape == (0, 4) and _as_boxes([]).shape == (0, 4)


def test_display_window_choices(ct):
    assert display_window(ct, (10, 20)) == (10.0, 20.0)
    assert display_window(ct, "bone") == WINDOW_PRESETS["bone"]
    assert display_window(ct) == pytest.approx(auto_window(ct))
    stored = Image(ct, window=(1.0, 2.0))
    assert display_window(stored) == (1.0, 2.0)
    assert display_window(stored, "default") == (1.0, 2.0)
    with pytest.raises(ValueError, match="no stored display window"):
        display_window(ct, "default")
    with pytest.raises(ValueError, match="center, width"):
        display_window(ct, 40)


def test_plot_grid_panels_titles_and_per_image_settings(ct):
    batch = np.stack([ct, ct + 100, ct + 200])[..., None]  # Keras-style (n, y, x, 1)
    fig = plot_grid(batch, titles=["a", "b", 2], ncols=2, window=["lung", (40, 400), None],
                    masks=[None, ct > 0, None], boxes=[None, None, [(0, 0, 8, 8)]], title="batch")
    axes = fig.axes
    assert len(axes) == 4 and not axes[3].get_visible()
    assert [ax.get_title() for ax in axes[:3]] == ["a", "b", "2"]
    assert axes[1].images[0].get_clim() == pytest.approx((-160, 240))
    assert len(axes[1].images) == 2 and len(axes[0].images) == 1
    assert len(axes[2].patches) == 1
    assert fig.get_suptitle() == "batch"


def test_plot_grid_one_window_for_all_and_volume_input(ct):
    volume = Image(np.stack([ct] * 5), units="HU")
    fig = plot_grid(volume, window=(40, 400))
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 5
    assert all(ax.images[0].get_clim() == pytest.approx((-160, 240)) for ax in fig.axes[:5])
    with pytest.raises(ValueError, match="one per image"):
        plot_grid([ct, ct], titles=["only one"])
    with pytest.raises(ValueError, match="no images"):
        plot_grid([])


def test_top_level_names_are_lazy_aliases():
    assert rl.plot_image is plot_image
    assert rl.plot_grid is plot_grid
