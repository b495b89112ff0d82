"""feature_map_explorer: headless construction, in-place updates, caching, errors, state."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")

import ipywidgets as widgets  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backend_bases import MouseEvent  # noqa: E402

keras = pytest.importorskip("keras")

from radlab.activations import feature_maps  # noqa: E402
from radlab.models import small_cnn  # noqa: E402
from radlab.widgets import _base  # noqa: E402
from radlab.widgets.feature_maps import MAX_IMAGES, channel_grid, feature_map_explorer  # noqa: E402


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return small_cnn((32, 32, 1), 1, depth=2, width=4)


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    x = rng.random((4, 32, 32, 1)).astype(np.float32)
    x[1, 8:16, 8:16] += 2.0  # one image with a bright "lesion"
    return x


pytestmark = pytest.mark.usefixtures("no_pyplot_figures")


def _click(state, ax, x, y):
    px, py = ax.transData.transform((x, y))
    event = MouseEvent("button_press_event", state.figure.canvas, px, py, button=1)
    state.figure.canvas.callbacks.process("button_press_event", event)


@pytest.mark.parametrize("interactive", [None, False])
def test_constructs_headless(model, images, interactive):
    explorer = feature_map_explorer(model, images, titles=["a", "b", "c", "d"], interactive=interactive)
    assert isinstance(explorer, widgets.VBox)
    state = explorer.state
    assert state.errors in explorer.children and state.view.widget in explorer.children
    assert state.layer_names == ["block1_relu", "block2_relu"]
    assert (state.layer, state.channel, state.image_index) == ("block1_relu", 0, 0)
    assert state.channel_slider.max == 3 and state.image_slider.max == 3
    assert state.map_artist.get_array().shape == (32, 32)
    expected = feature_maps(model, images, ["block1_relu"])["block1_relu"][0, :, :, 0]
    assert np.allclose(state.activation, expected, atol=1e-6)
    assert "image 0 · a" == state.input_title.get_text()
    if interactive is False:
        assert state.view.widget.value[:4] == b"\x89PNG"


def test_slider_changes_update_in_place(model, images):
    state = feature_map_explorer(model, images, interactive=False).state
    figure, map_artist, grid_artist = state.figure, state.map_artist, state.grid_artist
    n_axes = len(figure.axes)
    before_png = state.view.widget.value

    state.channel_slider.value = 2
    assert state.channel == 2
    expected = feature_maps(model, images, ["block1_relu"])["block1_relu"]
    assert np.allclose(np.asarray(map_artist.get_array()), expected[0, :, :, 2], atol=1e-6)
    assert state.view.widget.value != before_png  # redrawn

    state.image_slider.value = 1
    assert state.image_index == 1
    assert np.allclose(np.asarray(map_artist.get_array()), expected[1, :, :, 2], atol=1e-6)

    state.layer_dropdown.value = "block2_relu"
    assert state.layer == "block2_relu" and state.channel == 2  # kept: block2 has 8 channels
    assert state.channel_slider.max == 7
    assert np.asarray(map_artist.get_array()).shape == (16, 16)
    # the coarser map still covers the input's extent
    assert tuple(map_artist.get_extent()) == (0, 32, 32, 0)

    # same figure, same artists, no new axes
    assert state.figure is figure and state.map_artist is map_artist and state.grid_artist is grid_artist
    assert len(figure.axes) == n_axes and not state.errors.outputs


def test_updates_use_set_data_not_new_artists(model, images, monkeypatch):
    state = feature_map_explorer(model, images, interactive=False).state
    calls = []
    original = type(state.map_artist).set_data
    monkeypatch.setattr(state.map_artist, "set_data", lambda data: (calls.append(1), original(state.map_artist, data)))
    n_images = len(state.map_ax.images)
    state.set_channel(1)
    state.set_image(2)
    assert len(calls) == 2 and len(state.map_ax.images) == n_images


def test_activations_are_computed_once_per_layer_and_image(model, images):
    state = feature_map_explorer(model, images, interactive=False).state
    assert state.n_forward_passes == 1
    for channel in range(4):
        state.set_channel(channel)
    for index in range(4):
        state.set_image(index)
    assert state.n_forward_passes == 1
    state.set_layer("block2_relu")
    state.set_layer("block1_relu")
    state.set_layer("block2_relu")
    assert state.n_forward_passes == 2


def test_shared_colour_scale_per_channel(model, images):
    state = feature_map_explorer(model, images, interactive=False).state
    maps = state.maps("block1_relu")
    state.set_channel(1)
    low, high = state.limits
    assert low == 0.0 and high == pytest.approx(float(maps[..., 1].max()))
    state.set_image(3)
    assert state.limits == (low, high)
    assert state.map_artist.get_clim() == pytest.approx((low, high))


def test_channel_grid_and_outline(model, images):
    state = feature_map_explorer(model, images, interactive=False).state
    grid = np.asarray(state.grid_artist.get_array())
    assert grid.shape == (2 * 32 + 1, 2 * 32 + 1)  # 4 channels: 2 x 2 tiles with a 1-pixel gap
    state.set_channel(3)
    assert state.outline.get_xy() == (33 - 0.5, 33 - 0.5)
    tiles, ncols = channel_grid(np.ones((2, 2, 5)), np.array([[0.0, 2.0]] * 5))
    assert ncols == 3 and tiles.shape == (2 * 3 - 1, 3 * 3 - 1)
    assert np.nanmax(tiles) == 0.5 and np.isnan(tiles[2, 0]) and np.isnan(tiles[3, 7])


def test_max_channels_limits_the_grid_not_the_slider(model, images):
    state = feature_map_explorer(model, images, max_channels=2, layer="block2_relu", interactive=False).state
    assert state.channel_slider.max == 7
    assert "first 2 of 8" in state.grid_title.get_text()
    state.set_channel(5)
    assert not state.outline.get_visible()


@pytest.mark.skipif(not _base.ipympl_available(), reason="ipympl not installed")
def test_clicking_a_tile_chooses_its_channel(model, images):
    state = feature_map_explorer(model, images).state
    assert state.view.interactive
    _click(state, state.grid_ax, 33 + 5, 10)  # top-right tile = channel 1
    assert state.channel == 1 and state.channel_slider.value == 1
    _click(state, state.input_ax, 5, 5)  # elsewhere: nothing happens
    assert state.channel == 1 and not state.errors.outputs


def test_callback_errors_land_in_the_output(model, images, monkeypatch):
    state = feature_map_explorer(model, images, interactive=False).state

    def broken():
        raise RuntimeError("draw exploded")

    monkeypatch.setattr(state, "_render", broken)
    state.channel_slider.value = 1  # must not raise
    assert "RuntimeError: draw exploded" in "".join(o["text"] for o in state.errors.outputs)


def test_direct_calls_raise_clear_errors(model, images):
    state = feature_map_explorer(model, images, interactive=False).state
    with pytest.raises(ValueError, match="channels 0..3"):
        state.set_channel(4)
    with pytest.raises(ValueError, match="outside"):
        state.set_image(9)
    with pytest.raises(ValueError, match="unknown layer"):
        state.set_layer("block7_relu")
    assert not state.errors.outputs
    with pytest.raises(ValueError, match="titles"):
        feature_map_explorer(model, images, titles=["only one"])
    with pytest.raises(ValueError, match="too many"):
        feature_map_explorer(model, np.zeros((MAX_IMAGES + 1, 32, 32, 1), np.float32))
    with pytest.raises(ValueError, match="not one of"):
        feature_map_explorer(model, images, layer="block1_conv")


def test_state_reflects_choices_and_grey_images_without_channel_axis(model, images):
    explorer = feature_map_explorer(
        model, images[..., 0], layer_names=["block1_conv", "block2_relu"], layer="block2_relu",
        channel=5, image_index=2, interactive=False,
    )
    state = explorer.state
    assert (state.layer, state.channel, state.image_index) == ("block2_relu", 5, 2)
    assert state.layer_dropdown.value == "block2_relu" and state.channel_slider.value == 5
    assert state.image_slider.value == 2
    state.layer_dropdown.value = "block1_conv"  # 4 channels: channel 5 falls back to 0
    assert state.channel == 0 and state.channel_slider.value == 0
    assert "block1_conv · channel 0" in state.map_title.get_text()
