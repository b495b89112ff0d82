"""radlab.convolution: convolution by hand, classic kernels, output sizes, receptive fields."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from scipy.signal import convolve2d, correlate2d  # noqa: E402

from radlab.convolution import (  # noqa: E402
    KERNEL_KINDS,
    KERNELS,
    ReceptiveFieldTable,
    conv_output_size,
    convolve2d_by_hand,
    plot_sliding_window,
    receptive_field,
    receptive_field_table,
)
from radlab.errors import ModelConfigError  # noqa: E402


# -- convolve2d_by_hand ---------------------------------------------------------------
@pytest.mark.parametrize("shape", [(7, 9), (12, 5), (3, 3)])
@pytest.mark.parametrize("ksize", [(3, 3), (1, 3), (5, 3)])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_matches_scipy_correlate2d(shape, ksize, padding):
    rng = np.random.default_rng(sum(shape) + sum(ksize))
    image, kernel = rng.normal(size=shape), rng.normal(size=ksize)
    if padding == "valid" and (ksize[0] > shape[0] or ksize[1] > shape[1]):
        with pytest.raises(ValueError, match="does not fit"):
            convolve2d_by_hand(image, kernel, padding=padding)
        return
    expected = correlate2d(image, kernel, mode=padding)
    assert np.allclose(convolve2d_by_hand(image, kernel, padding=padding), expected)


def test_is_cross_correlation_not_convolution():
    rng = np.random.default_rng(1)
    image = rng.normal(size=(6, 6))
    kernel = KERNELS["sobel_x"]
    ours = convolve2d_by_hand(image, kernel)
    # scipy's true convolution flips the kernel: for Sobel that is the negative.
    assert np.allclose(convolve2d(image, kernel, mode="valid"), -ours)
    assert np.allclose(convolve2d(image, kernel[::-1, ::-1], mode="valid"), ours)


def test_hand_worked_example():
    image = np.arange(16.0).reshape(4, 4)
    out = convolve2d_by_hand(image, np.ones((3, 3)))
    assert out.tolist() == [[45.0, 54.0], [81.0, 90.0]]
    # Top-left output: the 3x3 window at (0, 0) times the kernel, summed.
    kernel = np.array([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]])
    assert convolve2d_by_hand(image, kernel)[0, 0] == pytest.approx(np.sum(image[:3, :3] * kernel))


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("ksize", [(3, 3), (2, 2), (4, 3)])
def test_matches_keras_conv2d(padding, stride, ksize):
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(stride + ksize[0])
    image = rng.normal(size=(11, 10)).astype(np.float32)
    kernel = rng.normal(size=ksize).astype(np.float32)
    layer = keras.layers.Conv2D(1, ksize, strides=stride, padding=padding, use_bias=False)
    layer.build((None, 11, 10, 1))
    layer.set_weights([kernel[:, :, None, None]])
    expected = np.asarray(layer(image[None, :, :, None]))[0, :, :, 0]
    ours = convolve2d_by_hand(image, kernel, padding=padding, stride=stride)
    assert ours.shape == expected.shape
    assert np.allclose(ours, expected, atol=1e-5)
    assert ours.shape == (
        conv_output_size(11, ksize[0], stride, padding), conv_output_size(10, ksize[1], stride, padding)
    )


def test_bad_inputs_are_explained():
    with pytest.raises(ValueError, match="2D"):
        convolve2d_by_hand(np.zeros((2, 4, 4)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="kernel must be 2D"):
        convolve2d_by_hand(np.zeros((4, 4)), np.ones(3))
    with pytest.raises(ValueError, match="padding"):
        convolve2d_by_hand(np.zeros((4, 4)), np.ones((3, 3)), padding="full")
    with pytest.raises(ValueError, match="stride"):
        convolve2d_by_hand(np.zeros((4, 4)), np.ones((3, 3)), stride=0)
    with pytest.raises(ValueError, match="does not fit"):
        convolve2d_by_hand(np.zeros((2, 2)), np.ones((3, 3)))


# -- kernels ----------------------------------------------------------------------------
def test_kernel_sums():
    for name, kernel in KERNELS.items():
        kind = KERNEL_KINDS[name]
        expected = 0.0 if kind == "edge" else 1.0
        assert kernel.sum() == pytest.approx(expected), name
        assert kernel.shape == (3, 3)
    assert set(KERNEL_KINDS) == set(KERNELS)
    assert {KERNEL_KINDS[k] for k in ("sobel_x", "sobel_y", "laplacian")} == {"edge"}
    assert {KERNEL_KINDS[k] for k in ("box_blur", "gaussian_blur")} == {"blur"}


def test_kernels_are_read_only():
    with pytest.raises(ValueError):
        KERNELS["sobel_x"][0, 0] = 5.0


def test_kernels_do_what_their_names_say():
    # A vertical step edge: dark left half, bright right half.
    step = np.zeros((8, 8))
    step[:, 4:] = 1.0
    assert np.abs(convolve2d_by_hand(step, KERNELS["sobel_x"])).max() == pytest.approx(4.0)
    assert np.allclose(convolve2d_by_hand(step, KERNELS["sobel_y"]), 0.0)
    assert convolve2d_by_hand(step, KERNELS["sobel_x"]).min() >= 0.0  # brighter to the right: positive
    flat = np.full((6, 6), 7.0)
    for name in ("sobel_x", "sobel_y", "laplacian"):
        assert np.allclose(convolve2d_by_hand(flat, KERNELS[name]), 0.0), name
    for name in ("box_blur", "gaussian_blur", "sharpen", "identity"):
        assert np.allclose(convolve2d_by_hand(flat, KERNELS[name]), 7.0), name
    noise = np.random.default_rng(0).normal(size=(40, 40))
    assert convolve2d_by_hand(noise, KERNELS["box_blur"]).std() < 0.5 * noise.std()
    assert convolve2d_by_hand(noise, KERNELS["sharpen"]).std() > noise.std()


# -- output size -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "size, kernel, stride, padding, expected",
    [(64, 3, 1, "valid", 62), (64, 3, 1, "same", 64), (64, 3, 2, "same", 32), (65, 3, 2, "same", 33),
     (64, 3, 2, 1, 32), (28, 5, 1, 0, 24), (32, 2, 2, "valid", 16), (7, 7, 1, "valid", 1)],
)
def test_conv_output_size(size, kernel, stride, padding, expected):
    assert conv_output_size(size, kernel, stride, padding) == expected


def test_conv_output_size_errors():
    with pytest.raises(ValueError, match="does not fit"):
        conv_output_size(2, 3)
    with pytest.raises(ValueError, match="padding"):
        conv_output_size(8, 3, 1, "full")
    with pytest.raises(ValueError, match="stride"):
        conv_output_size(8, 3, 0)


# -- receptive field ----------------------------------------------------------------------
def test_receptive_field_of_known_stacks():
    assert receptive_field([(3, 1), (3, 1)]) == 5
    assert receptive_field([("conv", 3), ("conv", 3)]) == 5
    assert receptive_field([("conv", 3), ("pool", 2), ("conv", 3)]) == 8
    assert receptive_field([(3, 1)] * 3) == 7
    assert receptive_field([(7, 2), ("pool", 3, 2)]) == 11
    assert receptive_field([(3, 1, 2)]) == 5  # dilation 2: a 3x3 kernel spans 5 pixels
    assert receptive_field([]) == 1


def test_receptive_field_table_rows():
    table = receptive_field_table([("conv", 3), ("pool", 2), ("conv", 3)])
    assert isinstance(table, ReceptiveFieldTable)
    assert table.sizes == [3, 4, 8]
    assert [row.jump for row in table] == [1, 2, 2]
    assert [row.kind for row in table] == ["conv", "pool", "conv"]
    assert "receptive field" in str(table) and "<table>" in table._repr_html_()


def test_bad_specs_are_explained():
    with pytest.raises(ModelConfigError, match="kernel, stride"):
        receptive_field([("dense", 3)])
    with pytest.raises(ValueError):
        receptive_field([(0, 1)])


keras = pytest.importorskip("keras")


def test_receptive_field_of_small_cnn_grows_with_depth():
    from radlab.models import small_cnn

    model = small_cnn((64, 64, 1), 1, depth=3)
    table = receptive_field_table(model)
    assert table.names == [f"block{b}_{k}" for b in (1, 2, 3) for k in ("conv", "pool")]
    assert table.sizes == [3, 4, 8, 10, 18, 22]
    assert all(a < b for a, b in zip(table.sizes, table.sizes[1:]))
    assert receptive_field(model) == 22
    assert receptive_field(model.layers) == 22


def test_receptive_field_of_keras_layers_with_strides_and_dilation():
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((32, 32, 1)),
        layers.Conv2D(4, 5, strides=2, padding="same"),
        layers.BatchNormalization(),
        layers.Conv2D(4, 3, dilation_rate=2, padding="same"),
        layers.MaxPooling2D(3, strides=1),
        layers.GlobalAveragePooling2D(),
        layers.Dense(1),
    ])
    # 5 -> 5 + (5-1)*2 = 13 -> 13 + (3-1)*2 = 17
    assert receptive_field_table(model).sizes == [5, 13, 17]


def test_receptive_field_follows_branches():
    from radlab.models import resnet

    model = resnet((64, 64, 1), 1, widths=(8, 16), blocks_per_stage=1, stem_stride=1)
    table = receptive_field_table(model)
    by_name = {row.name: row for row in table}
    # The 1x1 projection shortcut adds nothing, and its stride is not counted twice.
    assert by_name["stage2_block1_shortcut"].size == by_name["stage1_block1_conv2"].size
    assert by_name["stage2_block1_shortcut"].jump == 2
    assert by_name["stage2_block1_conv2"].jump == 2
    # stem 3, +2, +2 = 7; stage 2: conv1 (stride 2) +2 = 9, conv2 +2*2 = 13
    assert by_name["stage2_block1_conv2"].size == 13
    assert receptive_field(model) == 13


def test_upsampling_is_refused():
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.UpSampling2D(2)])
    with pytest.raises(ModelConfigError, match="enlarges"):
        receptive_field(model)


# -- drawing ----------------------------------------------------------------------------
def test_plot_sliding_window_explains_one_position():
    image = np.arange(25.0).reshape(5, 5)
    fig = plot_sliding_window(image, KERNELS["sobel_x"], row=1, col=2)
    title = fig._suptitle.get_text()
    expected = convolve2d_by_hand(image, KERNELS["sobel_x"])[1, 2]
    assert title.endswith(f"= {expected:g}") and title.startswith("output[1, 2]")
    assert len(fig.axes) == 3
    window = fig.axes[0].patches[0]
    assert window.get_xy() == (1.5, 0.5) and window.get_width() == 3
    with pytest.raises(IndexError):
        plot_sliding_window(image, KERNELS["sobel_x"], row=3, col=0)


# -- the exercises of notebook 04 ---------------------------------------------------------
def _check(exercise_id, answer, monkeypatch, capsys, **context):
    from radlab.exercises import check

    monkeypatch.delenv("RADLAB_STRICT", raising=False)
    result = check(exercise_id, answer, **context)
    return bool(result), capsys.readouterr().out


def test_exercise_output_size(monkeypatch, capsys):
    context = dict(size=64, kernel_size=5, stride=2, padding="valid")
    assert _check("04.output_size", 30, monkeypatch, capsys, **context)[0]
    assert _check("04.output_size", np.int64(30), monkeypatch, capsys, **context)[0]
    for wrong, hint in [(60, "stride"), (29, "one short"), (32, "'same'"), (64, "shrinks"), (31, "slide")]:
        ok, out = _check("04.output_size", wrong, monkeypatch, capsys, **context)
        assert not ok and hint in out and "30" not in out, (wrong, out)
    assert not _check("04.output_size", 30.5, monkeypatch, capsys, **context)[0]


def test_exercise_horizontal_edge(monkeypatch, capsys):
    assert _check("04.horizontal_edge", KERNELS["sobel_y"], monkeypatch, capsys)[0]
    assert _check("04.horizontal_edge", -KERNELS["sobel_y"], monkeypatch, capsys)[0]  # either polarity
    assert _check("04.horizontal_edge", [[1, 1, 1], [0, 0, 0], [-1, -1, -1]], monkeypatch, capsys)[0]
    for wrong, hint in [
        (KERNELS["sobel_x"], "compare rows"),
        (KERNELS["box_blur"], "sum to zero"),
        (np.zeros((3, 3)), "opposite sign"),
        (np.ones((2, 2)), "3x3"),
        (np.array([[1.0, 1, 1], [0, 0, 0], [-1, -1, -1]]) + 0.5 * KERNELS["sobel_x"], "vertical edges"),
    ]:
        ok, out = _check("04.horizontal_edge", wrong, monkeypatch, capsys)
        assert not ok and hint in out, (wrong, out)


def test_exercise_receptive_field(monkeypatch, capsys):
    stack = [("conv", 3), ("conv", 3), ("pool", 2), ("conv", 3)]
    assert _check("04.receptive_field", 10, monkeypatch, capsys, stack=stack)[0]
    ok, out = _check("04.receptive_field", 8, monkeypatch, capsys, stack=stack)
    assert not ok and "pooling" in out and "10" not in out
    ok, out = _check("04.receptive_field", 12, monkeypatch, capsys, stack=stack)
    assert not ok and "too large" in out
    ok, out = _check("04.receptive_field", 6, monkeypatch, capsys, stack=stack)
    assert not ok and "start from 1" in out
    assert _check("04.receptive_field", 5, monkeypatch, capsys, stack=[("conv", 3), ("conv", 3)])[0]


def test_plot_kernels():
    from radlab.convolution import plot_kernels

    fig = plot_kernels(list(KERNELS.values()), titles=list(KERNELS), ncols=4)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == len(KERNELS) and len(fig.axes) == 8
    image = visible[0].images[0]
    assert image.get_clim() == (-2.0, 2.0)  # symmetric: white is a weight of 0
    assert len(visible[0].texts) == 9 and visible[0].get_title() == "sobel_x"
    learned = np.random.default_rng(0).normal(size=(16, 7, 7))
    fig = plot_kernels(learned)
    assert not fig.axes[0].texts  # no numbers on kernels larger than 5x5
    with pytest.raises(ValueError, match="2D"):
        plot_kernels(np.zeros((2, 3, 3, 1)))
    with pytest.raises(ValueError, match="titles"):
        plot_kernels(learned, titles=["a"])
