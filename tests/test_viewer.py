"""rl.show: headless construction, in-place updates, presets, slices, overlays,
cursor readout, error routing, and the fast frame path."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap

import matplotlib

matplotlib.use("agg")

import ipywidgets as widgets  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backend_bases import MouseEvent  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from PIL import Image as PILImage  # noqa: E402

import radlab as rl  # noqa: E402
from radlab.imaging.image import Image  # noqa: E402
from radlab.imaging.windowing import WINDOW_PRESETS, auto_window, window, window_uint8  # noqa: E402
from radlab.plotting import MASK_COLORS  # noqa: E402
from radlab.widgets import _base  # noqa: E402
from radlab.widgets.viewer import show  # noqa: E402

pytestmark = pytest.mark.skipif(not _base.ipympl_available(), reason="ipympl not installed")


@pytest.fixture
def ct():
    rng = np.random.default_rng(0)
    hu = np.full((96, 80), -1000.0, np.float32)
    hu[20:76, 16:64] = 40.0 + rng.normal(0, 10, (56, 48)).astype(np.float32)
    hu[44:52, 36:44] = 700.0
    return hu


@pytest.fixture
def ct_image(ct):
    return Image(ct, spacing=(0.7, 0.7), units="HU", modality="CT", window=(40.0, 400.0))


pytestmark = pytest.mark.usefixtures("no_pyplot_figures")


def _rgb(state):
    return np.asarray(state.frame)[..., :3]


def _move_mouse(state, row, col):
    """Send the canvas a motion event over the centre of pixel (row, col)."""
    x, y = state.ax.transData.transform((col + 0.5, row + 0.5))
    event = MouseEvent("motion_notify_event", state.figure.canvas, x, y)
    state.figure.canvas.callbacks.process("motion_notify_event", event)


# -- construction -------------------------------------------------------------------
def test_show_2d_array_headless(ct):
    viewer = show(ct)
    assert isinstance(viewer, widgets.VBox)
    state = viewer.state
    assert state.view.interactive and state.view.widget in viewer.children
    assert isinstance(state.view.widget, widgets.DOMWidget)  # ipympl's canvas is a widget
    assert state.errors in viewer.children
    # the figure is exactly the image's pixels, enlarged 5x (512 // 96): no resampling
    assert tuple(state.figure.get_size_inches() * state.figure.dpi) == pytest.approx((400, 480))
    assert np.asarray(state.frame).shape == (96, 80, 4)
    assert state.slice_slider is None and state.slice_index == 0
    assert (state.center, state.width) == pytest.approx(auto_window(ct))
    assert state.preset == "auto"
    assert "lung" in dict((key, label) for label, key in state.preset_dropdown.options)


def test_show_volume_starts_in_the_middle(ct):
    volume = np.stack([ct + 10 * k for k in range(9)])
    state = show(volume, window=(30, 300)).state
    assert state.is_volume and state.n_slices == 9
    assert state.slice_slider.max == 8 and state.slice_index == state.slice_slider.value == 4
    assert state.preset == "custom"
    state = show(volume, slice_index=0).state
    assert state.slice_index == 0
    with pytest.raises(ValueError, match="outside"):
        show(volume, slice_index=9)


def test_show_hu_image_uses_stored_window_units_and_presets(ct_image):
    state = show(ct_image).state
    assert (state.center, state.width) == (40.0, 400.0)
    assert state.preset == "default" and state.preset_dropdown.value == "default"
    assert state.units == "HU" and "HU" in state.level_slider.description
    keys = [key for _, key in state.preset_dropdown.options]
    assert keys[:2] == ["default", "auto"] and set(WINDOW_PRESETS) <= set(keys) and keys[-1] == "custom"
    state = show(ct_image, "bone").state
    assert (state.center, state.width) == WINDOW_PRESETS["bone"] and state.preset == "bone"


def test_raw_image_offers_no_ct_presets_unless_asked():
    mr = Image(np.linspace(0, 4000, 64 * 64).reshape(64, 64), units="raw", modality="MR", source="x.dcm")
    keys = [key for _, key in show(mr).state.preset_dropdown.options]
    assert keys == ["auto", "custom"]
    keys = [key for _, key in show(mr, "brain").state.preset_dropdown.options]
    assert "brain" in keys


# -- window / level -------------------------------------------------------------------
def test_sliders_update_the_frame_in_place(ct_image):
    state = show(ct_image).state
    figure, ax, artist = state.figure, state.ax, state.image_artist
    n_axes, n_images = len(figure.axes), len(ax.images)
    before = _rgb(state).copy()

    state.level_slider.value = -600
    assert state.center == -600 and state.width == 400 and state.preset == "custom"
    assert state.preset_dropdown.value == "custom"
    after_level = _rgb(state).copy()
    assert not np.array_equal(after_level, before)

    state.width_slider.value = 1500
    assert state.width == 1500 and state.preset == "lung"  # matches the lung preset
    assert not np.array_equal(_rgb(state), after_level)

    assert state.figure is figure and state.ax is ax and state.image_artist is artist
    assert figure.canvas is state.view.widget
    assert len(figure.axes) == n_axes == 1 and len(ax.images) == n_images == 1


def test_frame_is_the_windowed_image(ct_image, ct):
    state = show(ct_image).state
    state.set_window(-600, 1500)
    expected = np.round(window(ct, -600, 1500) * 255)
    assert np.abs(_rgb(state)[..., 0].astype(int) - expected).max() <= 1
    assert np.array_equal(_rgb(state)[..., 0], _rgb(state)[..., 2])  # grey
    assert (np.asarray(state.frame)[..., 3] == 255).all()


def test_preset_dropdown_moves_the_sliders(ct_image):
    state = show(ct_image).state
    state.preset_dropdown.value = "lung"
    assert (state.level_slider.value, state.width_slider.value) == WINDOW_PRESETS["lung"]
    assert (state.center, state.width, state.preset) == (-600, 1500, "lung")
    state.preset_dropdown.value = "auto"
    assert (state.center, state.width) == pytest.approx(auto_window(ct_image))
    state.set_preset("default")
    assert (state.level_slider.value, state.width_slider.value) == (40, 400)
    with pytest.raises(ValueError, match="unknown preset"):
        state.set_preset("kidney")
    with pytest.raises(ValueError, match="positive"):
        state.set_window(0, 0)


def test_window_outside_slider_range_extends_it():
    image = np.linspace(0, 1, 256).reshape(16, 16)
    state = show(image).state
    state.set_window(5.0, 30.0)
    assert state.level_slider.max >= 5.0 and state.level_slider.value == 5.0
    assert state.width_slider.value == 30.0


# -- slices ------------------------------------------------------------------------
def test_slice_slider_changes_the_displayed_slice(ct):
    volume = np.stack([np.full_like(ct, v) for v in (-100.0, 0.0, 100.0)])
    state = show(volume, window=(0, 200)).state
    assert state.slice_index == 1 and _rgb(state)[0, 0, 0] == 128
    state.slice_slider.value = 2
    assert state.slice_index == 2 and (_rgb(state) == 255).all()
    state.set_slice(0)
    assert state.slice_slider.value == 0 and (_rgb(state) == 0).all()
    with pytest.raises(ValueError, match="outside"):
        state.set_slice(3)


def test_scroll_wheel_steps_through_slices(ct):
    state = show(np.stack([ct] * 5)).state
    canvas = state.figure.canvas
    x, y = state.ax.transData.transform((10, 10))
    for button, expected in (("up", 3), ("up", 4), ("up", 4), ("down", 3)):
        event = MouseEvent("scroll_event", canvas, x, y, button=button, step=1 if button == "up" else -1)
        canvas.callbacks.process("scroll_event", event)
        assert state.slice_index == expected


# -- overlays ------------------------------------------------------------------------
def test_overlays_mask_labels_heatmap_and_boxes(ct):
    mask = np.zeros(ct.shape, np.uint8)
    mask[20:40, 16:40] = 1
    mask[20:40, 40:64] = 2
    heatmap = np.zeros((6, 5), np.float32)
    state = show(ct, (40, 400), mask=mask, mask_alpha=1.0, heatmap=heatmap, heatmap_alpha=0.0,
                 boxes=[(16, 20, 64, 76), (36, 44, 44, 52)], labels=["body", "bone"]).state
    rgb = _rgb(state).astype(int)
    assert rgb[25, 20].tolist() == [round(255 * c) for c in to_rgb(MASK_COLORS[0])]
    assert rgb[25, 50].tolist() == [round(255 * c) for c in to_rgb(MASK_COLORS[1])]
    assert rgb[60, 20, 0] == rgb[60, 20, 1] == rgb[60, 20, 2]  # unlabelled: grey
    rects = [a for a in state.box_artists if isinstance(a, Rectangle)]
    assert [(r.get_x(), r.get_y(), r.get_width(), r.get_height()) for r in rects] == [
        (16, 20, 48, 56), (36, 44, 8, 8)]
    assert [t.get_text() for t in state.box_artists if hasattr(t, "get_text")] == ["body", "bone"]
    assert all(a.axes is state.ax for a in state.box_artists)

    state.overlay_checkbox.value = False
    assert not state.overlays_visible and not any(a.get_visible() for a in state.box_artists)
    assert rgb[25, 20].tolist() != _rgb(state)[25, 20].tolist()
    assert _rgb(state)[25, 20, 0] == _rgb(state)[25, 20, 1]


def test_heatmap_tints_the_frame(ct):
    heatmap = np.zeros(ct.shape, np.float32)
    heatmap[:, 40:] = 1.0
    state = show(ct, (40, 400), heatmap=heatmap, heatmap_alpha=0.5, heatmap_cmap="gray").state
    rgb = _rgb(state).astype(int)
    plain = np.round(window(ct, 40, 400) * 255)
    # gray colormap: 0 -> black, 1 -> white, blended at 50 %
    assert abs(rgb[0, 0, 0] - round(plain[0, 0] * 0.5)) <= 1
    assert abs(rgb[0, 79, 0] - round(plain[0, 79] * 0.5 + 127.5)) <= 1


def test_volume_boxes_per_slice_dict_and_list(ct):
    volume = np.stack([ct] * 4)
    state = show(volume, boxes={1: [(0, 0, 10, 10)], 3: [(5, 5, 9, 9), (1, 1, 2, 2)]},
                 labels={3: ["a", "b"]}, slice_index=0).state
    assert state.box_artists == []
    state.set_slice(1)
    assert len(state.box_artists) == 1
    state.set_slice(3)
    assert len(state.box_artists) == 4 and len(state.ax.patches) == 2  # old boxes removed
    state = show(volume, boxes=[None, [], [(0, 0, 4, 4)], None], slice_index=2).state
    assert len(state.box_artists) == 1
    with pytest.raises(ValueError, match="per slice"):
        show(volume, boxes=[(0, 0, 4, 4)])
    with pytest.raises(ValueError, match="outside"):
        show(volume, boxes={7: [(0, 0, 4, 4)]})


def test_bad_inputs_get_clear_errors(ct):
    with pytest.raises(ValueError, match="shape"):
        show(ct, mask=np.zeros((4, 4), bool))
    with pytest.raises(ValueError, match="expected a 2D image"):
        show(np.zeros((2, 3, 4, 5)))
    with pytest.raises(ValueError, match="without boxes"):
        show(ct, labels=["x"])
    with pytest.raises(ValueError, match="heatmap"):
        show(np.stack([ct] * 3), heatmap=np.zeros((2, 4, 4)))


# -- cursor readout ------------------------------------------------------------------
def test_cursor_readout_reports_value_position_units(ct_image, ct):
    mask = np.zeros(ct.shape, bool)
    mask[44:52, 36:44] = True
    state = show(ct_image, mask=mask).state
    _move_mouse(state, 45, 37)
    readout = state.readout
    assert (readout["row"], readout["col"], readout["slice"]) == (45, 37, None)
    assert readout["value"] == pytest.approx(700.0) and readout["units"] == "HU"
    assert readout["mask"] == 1
    assert "row 45, col 37: 700 HU" in state.readout_widget.value

    volume = Image(np.stack([ct, ct + 1]), units="raw")
    state = show(volume, slice_index=1).state
    _move_mouse(state, 3, 2)
    assert (state.readout["row"], state.readout["col"], state.readout["slice"]) == (3, 2, 1)
    assert state.readout["value"] == pytest.approx(ct[3, 2] + 1) and state.readout["units"] == "raw"
    assert "slice 1" in state.readout_widget.value and "raw" in state.readout_widget.value

    # outside the image: the readout keeps its last value
    x, y = state.figure.transFigure.transform((1.5, 1.5))
    event = MouseEvent("motion_notify_event", state.figure.canvas, x, y)
    state.figure.canvas.callbacks.process("motion_notify_event", event)
    assert state.readout["row"] == 3


def test_large_image_is_block_averaged_but_reads_out_original_pixels():
    image = np.arange(1000 * 1500, dtype=np.float32).reshape(1000, 1500)
    state = show(image, display_size=500).state
    assert state.factor == 3
    assert np.asarray(state.frame).shape == (334, 500, 4)
    assert tuple(state.figure.get_size_inches() * state.figure.dpi) == pytest.approx((500, 334))
    _move_mouse(state, 700, 1234)
    assert state.readout["value"] == image[700, 1234]


def test_small_image_is_enlarged_by_a_whole_factor():
    state = show(np.eye(28)).state
    assert tuple(state.figure.get_size_inches() * state.figure.dpi) == pytest.approx((504, 504))
    _move_mouse(state, 5, 5)
    assert state.readout["value"] == 1.0


def test_rgb_image_has_no_window_controls():
    rgb = np.zeros((16, 16, 3), np.uint8)
    rgb[..., 1] = 200
    state = show(rgb).state
    assert state.is_rgb and state.level_slider is None and state.preset_dropdown is None
    assert _rgb(state)[0, 0].tolist() == [0, 200, 0]
    _move_mouse(state, 2, 2)
    assert state.readout["value"] == [0, 200, 0] and "RGB 0, 200, 0" in state.readout["text"]
    with pytest.raises(ValueError, match="RGB"):
        state.set_window(0, 1)


# -- errors in callbacks -------------------------------------------------------------
def test_callback_errors_land_in_the_output_widget(ct_image, monkeypatch):
    state = show(ct_image).state

    def broken():
        raise RuntimeError("render exploded")

    monkeypatch.setattr(state, "_render", broken)
    state.level_slider.value = 100  # must not raise
    texts = "".join(out["text"] for out in state.errors.outputs)
    assert "RuntimeError: render exploded" in texts

    monkeypatch.setattr(state, "readout_at", lambda row, col: 1 / 0)
    _move_mouse(state, 1, 1)
    assert "ZeroDivisionError" in state.errors.outputs[-1]["text"]

    for _ in range(10):  # a dragged slider failing repeatedly keeps only the last few
        state.width_slider.value += 1
    assert len(state.errors.outputs) == _base.MAX_ERRORS


def test_direct_method_calls_still_raise(ct_image):
    state = show(ct_image).state
    with pytest.raises(ValueError, match="no slices"):
        state.set_slice(1)  # 2D image
    with pytest.raises(ValueError, match="display_size"):
        show(ct_image, display_size=0)
    assert not state.errors.outputs


# -- display paths -------------------------------------------------------------------
def test_static_fallback_renders_png(ct_image):
    viewer = show(ct_image, interactive=False)
    state = viewer.state
    assert not state.view.interactive
    assert isinstance(state.view.widget, widgets.Image) and state.view.widget in viewer.children
    first = state.view.widget.value
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    assert PILImage.open(io.BytesIO(first)).size == (400, 480)
    state.level_slider.value = -600
    assert state.view.widget.value != first
    assert "needs ipympl" in state.readout_widget.value


def test_ipympl_frames_sent_to_the_browser_match_the_canvas(ct_image):
    """Simulate the front end: the PNG frames ipympl sends (radlab's level-1
    encoder) decode to exactly what Agg drew - full first, then a diff."""
    state = show(ct_image).state
    canvas = state.figure.canvas
    sent = []
    canvas.send_binary = sent.append
    canvas._handle_message(canvas, {"type": "initialized"}, [])
    canvas._handle_message(canvas, {"type": "draw"}, [])
    full = np.asarray(PILImage.open(io.BytesIO(sent[-1])))
    drawn = np.asarray(canvas.get_renderer().buffer_rgba())
    assert canvas._current_image_mode == "full" and np.array_equal(full, drawn)

    previous = drawn.copy()
    state.set_window(-600, 1500)
    canvas._handle_message(canvas, {"type": "draw"}, [])
    diff = np.asarray(PILImage.open(io.BytesIO(sent[-1])))
    drawn = np.asarray(canvas.get_renderer().buffer_rgba())
    changed = (previous != drawn).any(axis=-1)
    assert canvas._current_image_mode == "diff" and changed.any()
    assert np.array_equal(diff[changed], drawn[changed]) and not diff[~changed].any()


@pytest.mark.parametrize("scale", [1, 2, 3])
def test_frame_image_fast_path_draws_the_same_pixels(scale):
    rng = np.random.default_rng(scale)
    frame = rng.integers(0, 256, (30, 20, 4), dtype=np.uint8)
    frame[..., 3] = 255
    rendered = []
    for cls in (AxesImage, _base.FrameImage):
        fig = Figure(figsize=(20 * scale / 100, 30 * scale / 100), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        artist = cls(ax, interpolation="none", extent=(0, 20, 30, 0))
        artist.set_data(frame)
        ax.add_image(artist)
        ax.set_xlim(0, 20)
        ax.set_ylim(30, 0)
        fig.canvas.draw()
        rendered.append(np.asarray(fig.canvas.buffer_rgba()).copy())
        if cls is _base.FrameImage:  # zoomed in (toolbar): the normal path takes over
            ax.set_xlim(5, 15)
            fig.canvas.draw()
            zoomed = np.asarray(fig.canvas.buffer_rgba())
            assert zoomed[0, 0, :3].tolist() == frame[0, 5, :3].tolist()
    assert np.array_equal(rendered[0], rendered[1])


def test_showing_does_not_change_the_matplotlib_backend():
    """Importing ipympl calls matplotlib.use(); the widget must keep that from taking
    effect, or the learner's inline plots would turn into widgets (or vanish)."""
    code = textwrap.dedent("""
        import matplotlib
        {setup}
        import numpy as np
        import radlab as rl
        viewer = rl.show(np.zeros((8, 8)))
        assert type(viewer.state.figure.canvas).__name__ == "RadlabCanvas"
        assert matplotlib.use.__module__ == "matplotlib"  # only patched during the import
        {check}
        print("ok")
    """)
    cases = [
        ("matplotlib.use('agg'); import matplotlib.pyplot as plt",
         "assert matplotlib.get_backend() == 'agg', matplotlib.get_backend(); assert plt.get_fignums() == []"),
        ("", "assert 'ipympl' not in str(matplotlib.rcParams._get('backend'))"),
    ]
    for setup, check in cases:
        result = subprocess.run([sys.executable, "-c", code.format(setup=setup, check=check)],
                                capture_output=True, text=True, timeout=120,
                                env={k: v for k, v in os.environ.items() if k != "MPLBACKEND"})
        assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-2000:]


# -- fast windowing ------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.int16, np.uint16, np.uint8, np.int8, np.float32, np.float64, np.int32])
def test_window_uint8_matches_window(dtype):
    rng = np.random.default_rng(0)
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    values = rng.normal(0, 300, 5000)
    if info is not None:
        values = np.clip(values, info.min, info.max)
    values = values.astype(dtype)
    expected = np.floor(window(values, 20.0, 250.0).astype(np.float64) * 255 + 0.5)
    got = window_uint8(values, 20.0, 250.0)
    assert got.dtype == np.uint8 and got.shape == values.shape
    assert np.abs(got.astype(int) - expected).max() <= 1


def test_window_uint8_edges_nan_and_presets():
    assert window_uint8([-1000, -600, 150], "lung").tolist() == [60, 128, 255]
    assert window_uint8(np.array([np.nan, -1e9, 1e9]), 0, 10).tolist() == [0, 0, 255]
    assert window_uint8(np.array([True, False]), 0.5, 1.0).tolist() == [255, 0]
    stored = Image(np.array([[0.0, 100.0]]), window=(50.0, 100.0))
    assert window_uint8(stored).tolist() == [[0, 255]]


def test_top_level_show_is_the_viewer():
    assert rl.show is show
