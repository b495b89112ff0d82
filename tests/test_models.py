"""radlab.models: builders (shapes, heads, knobs, names), describe (params, FLOPs), saving."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

keras = pytest.importorskip("keras")
layers = keras.layers

from radlab.models import (  # noqa: E402
    ModelConfigError,
    describe,
    loss_for,
    mlp,
    pretrained_backbone,
    resnet,
    small_cnn,
    unet,
)


def _run(model, x) -> np.ndarray:
    """A forward pass in inference mode (eager: faster than predict for tiny inputs)."""
    return keras.ops.convert_to_numpy(model(x, training=False))


def _names(model) -> list[str]:
    return [layer.name for layer in model.layers]


def _of_type(model, cls) -> list:
    return [layer for layer in model.layers if type(layer) is cls]


def _activation(layer) -> str:
    return layer.activation.__name__


def test_import_does_not_load_keras():
    code = (
        "import sys, radlab; "
        "assert 'radlab.models' not in sys.modules, 'import radlab imported radlab.models'; "
        "import radlab.models; "
        "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules, 'eager import'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------- mlp


@pytest.mark.parametrize(
    ("n_classes", "output", "units", "activation"),
    [(1, "auto", 1, "sigmoid"), (3, "auto", 3, "softmax"), (14, "sigmoid", 14, "sigmoid"),
     (2, "linear", 2, "linear")],
)
def test_mlp_head_rule(n_classes, output, units, activation):
    model = mlp((28, 28), n_classes, output=output)
    head = model.get_layer("output")
    assert head.units == units and _activation(head) == activation
    assert model.output_shape == (None, units)


def test_mlp_layer_names_and_param_formula():
    model = mlp((28, 28), 10, depth=3, width=32, dropout=0.2)
    assert _names(model) == [
        "input", "flatten", "hidden_1", "dropout_1", "hidden_2", "dropout_2",
        "hidden_3", "dropout_3", "output",
    ]
    features, width, k = 28 * 28, 32, 10
    assert model.count_params() == (features + 1) * width + 2 * (width + 1) * width + (width + 1) * k


@pytest.mark.parametrize("depth", [0, 1, 4])
def test_mlp_depth_knob(depth):
    model = mlp((8, 8), 1, depth=depth, width=16)
    assert len(_of_type(model, layers.Dense)) == depth + 1
    expected = (64 + 1) * 1 if depth == 0 else 65 * 16 + (depth - 1) * 17 * 16 + 17
    assert model.count_params() == expected


def test_mlp_forward_probabilities():
    model = mlp((4, 4), 3, rescale=1 / 255)
    x = np.random.default_rng(0).integers(0, 256, (5, 4, 4)).astype("float32")
    y = _run(model, x)
    assert y.shape == (5, 3)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)
    assert model.get_layer("hidden_1").activation.__name__ == "relu"


@pytest.mark.parametrize(
    "kwargs",
    [dict(n_classes=0), dict(n_classes=1, output="softmax"), dict(n_classes=2, output="tanh"),
     dict(n_classes=2, depth=-1), dict(n_classes=2, width=2.5), dict(n_classes=2, dropout=1.0)],
)
def test_mlp_rejects_bad_arguments(kwargs):
    with pytest.raises(ModelConfigError):
        mlp((28, 28), **kwargs)


def test_mlp_needs_known_input_size():
    with pytest.raises(ModelConfigError, match="flattens"):
        mlp((None, 28), 2)


@pytest.mark.parametrize("shape", ["28", (28.5, 28), (28, 0), (), 28, (True, 28)])
def test_builders_reject_bad_input_shapes(shape):
    with pytest.raises(ModelConfigError, match="input_shape"):
        mlp(shape, 2)
    with pytest.raises(ModelConfigError, match="input_shape"):
        small_cnn(shape, 2)


# ---------------------------------------------------------------- small_cnn


def test_small_cnn_blocks_names_and_shapes():
    model = small_cnn((28, 28), 1, depth=3, width=8)
    assert model.input_shape == (None, 28, 28)  # channel axis added inside
    for b, (size, filters) in enumerate([(28, 8), (14, 16), (7, 32)], start=1):
        for part in ("conv", "bn", "relu", "pool"):
            assert f"block{b}_{part}" in _names(model)
        assert model.get_layer(f"block{b}_relu").output.shape == (None, size, size, filters)
        assert model.get_layer(f"block{b}_conv").use_bias is False  # BN follows
    assert _names(model)[-2:] == ["gap", "output"]
    assert _activation(model.get_layer("output")) == "sigmoid"
    y = _run(model, np.zeros((2, 28, 28), "float32"))
    assert y.shape == (2, 1) and np.all((y > 0) & (y < 1))


def test_small_cnn_knobs_change_params():
    base = small_cnn((32, 32, 1), 4, depth=2, width=8)
    deeper = small_cnn((32, 32, 1), 4, depth=3, width=8)
    wider = small_cnn((32, 32, 1), 4, depth=2, width=16)
    assert len(_of_type(deeper, layers.Conv2D)) == len(_of_type(base, layers.Conv2D)) + 1
    # conv params (no bias) = k*k*cin*cout, BN = 4*cout, head = (cout+1)*4
    assert base.count_params() == (9 * 1 * 8 + 4 * 8) + (9 * 8 * 16 + 4 * 16) + 17 * 4
    assert wider.count_params() > base.count_params()


def test_small_cnn_options():
    model = small_cnn((None, None, 3), 5, depth=2, batch_norm=False, pooling=None, dropout=0.5)
    assert not any(isinstance(layer, layers.BatchNormalization) for layer in model.layers)
    assert model.get_layer("block1_conv").use_bias
    assert "dropout" in _names(model) and "block1_pool" not in _names(model)
    assert _run(model, np.zeros((1, 20, 24, 3), "float32")).shape == (1, 5)
    avg = small_cnn((16, 16, 1), 2, depth=2, pooling="avg")
    assert isinstance(avg.get_layer("block1_pool"), layers.AveragePooling2D)


def test_small_cnn_rejects_too_small_images():
    with pytest.raises(ModelConfigError, match="at least 16x16"):
        small_cnn((8, 8, 1), 2, depth=4)
    with pytest.raises(ModelConfigError, match="pooling"):
        small_cnn((8, 8, 1), 2, pooling="median")
    with pytest.raises(ModelConfigError, match="channel"):
        small_cnn((None, None), 2)


# ---------------------------------------------------------------- resnet


def test_resnet_default_size_and_feature_maps():
    model = resnet((28, 28, 1), 1)
    assert 100_000 <= model.count_params() <= 1_000_000
    assert model.get_layer("stage1_block2_out").output.shape == (None, 28, 28, 16)
    assert model.get_layer("stage2_block1_out").output.shape == (None, 14, 14, 32)
    assert model.get_layer("stage3_block2_out").output.shape == (None, 7, 7, 64)
    # projection shortcuts only where the shape changes
    assert [layer.name for layer in model.layers if layer.name.endswith("_shortcut")] == [
        "stage2_block1_shortcut", "stage3_block1_shortcut"]
    y = _run(model, np.random.default_rng(0).random((2, 28, 28, 1), "float32"))
    assert y.shape == (2, 1) and np.all((y > 0) & (y < 1))


def test_resnet_knobs():
    model = resnet((28, 28), 3, widths=(8, 16), blocks_per_stage=3)
    assert len(_of_type(model, layers.Add)) == 2 * 3
    assert model.get_layer("stage2_block3_out").output.shape == (None, 14, 14, 16)
    assert _activation(model.get_layer("output")) == "softmax"
    assert model.get_layer("stage1_block1_bn2").gamma_initializer.__class__.__name__ == "Zeros"


@pytest.mark.parametrize(("size", "stride"), [(28, 1), (64, 2), (128, 4)])
def test_resnet_stem_stride_auto(size, stride):
    model = resnet((size, size, 1), 1, widths=(4, 8))
    last = "stem_pool" if stride == 4 else "stem_relu"
    assert model.get_layer(last).output.shape[1] == size // stride
    assert ("stem_pool" in _names(model)) == (stride == 4)


def test_resnet_rejects_bad_arguments():
    with pytest.raises(ModelConfigError, match="too small"):
        resnet((8, 8, 1), 1, widths=(4, 8, 16, 32, 64))
    with pytest.raises(ModelConfigError, match="stem_stride"):
        resnet((32, 32, 1), 1, stem_stride=3)
    with pytest.raises(ModelConfigError, match="stage"):
        resnet((32, 32, 1), 1, widths=())


# ---------------------------------------------------------------- unet


def test_unet_binary_mask_same_size():
    model = unet((32, 32), 1, depth=3, width=4)
    assert model.output_shape == (None, 32, 32, 1)
    assert _activation(model.get_layer("output")) == "sigmoid"
    for d, (size, filters) in enumerate([(32, 4), (16, 8), (8, 16)], start=1):
        assert model.get_layer(f"enc{d}_relu2").output.shape == (None, size, size, filters)
        assert model.get_layer(f"dec{d}_concat").output.shape == (None, size, size, 2 * filters)
    y = _run(model, np.zeros((1, 32, 32), "float32"))
    assert y.shape == (1, 32, 32, 1) and np.all((y >= 0) & (y <= 1))


def test_unet_multiclass_and_depth_knob():
    model = unet((None, None, 2), 4, depth=2, width=4, batch_norm=False)
    assert _activation(model.get_layer("output")) == "softmax"
    y = _run(model, np.zeros((1, 24, 16, 2), "float32"))
    assert y.shape == (1, 24, 16, 4)
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=1e-5)
    assert len(_of_type(model, layers.MaxPooling2D)) == 2
    assert len(_of_type(model, layers.Conv2DTranspose)) == 2
    deeper = unet((32, 32, 1), 1, depth=3, width=4)
    assert len(_of_type(deeper, layers.MaxPooling2D)) == 3


def test_unet_rejects_sizes_not_divisible():
    with pytest.raises(ModelConfigError) as info:
        unet((100, 100, 1), depth=4)
    message = str(info.value)
    assert "16" in message and "112x112" in message and "depth=2" in message
    with pytest.raises(ModelConfigError, match="divisible"):
        unet((64, 60, 1), depth=3)
    unet((64, 60, 1), depth=2, width=2)  # 60 = 4 * 15 works at depth 2


# ---------------------------------------------------------------- loss_for


def test_loss_for_matches_head():
    assert loss_for(mlp((4,), 1)) == "binary_crossentropy"
    assert loss_for(mlp((4,), 3)) == "sparse_categorical_crossentropy"
    assert loss_for(mlp((4,), 3, output="sigmoid")) == "binary_crossentropy"
    assert loss_for(mlp((4,), 3, output="linear")) == "mse"
    odd = keras.Sequential([keras.Input((4,)), layers.Dense(2, activation="tanh")])
    with pytest.raises(ModelConfigError, match="tanh"):
        loss_for(odd)


def test_tiny_fit_learns():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 64)
    x = rng.normal(0.0, 0.1, (64, 16, 16, 1)).astype("float32") + y[:, None, None, None]
    model = small_cnn((16, 16, 1), 1, depth=2, width=4)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=loss_for(model))
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]


# ---------------------------------------------------------------- describe


def test_describe_hand_computed_conv():
    # The docstring case: Conv2D 3x3, 1 -> 8 channels, 'same', on 28x28.
    model = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(8, 3, padding="same")])
    summary = describe(model)
    assert summary.flops == 28 * 28 * 8 * (3 * 3 * 1) * 2 + 28 * 28 * 8  # + bias
    assert summary.total_params == 3 * 3 * 1 * 8 + 8 == model.count_params()


def _tiny_model():
    inputs = keras.Input((8, 8, 2), name="input")
    a = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inputs)
    b = layers.Conv2D(4, 3, padding="same", groups=2, use_bias=False, name="grouped")(inputs)
    x = layers.Add(name="add")([a, b])
    x = layers.DepthwiseConv2D(3, padding="same", name="dw")(x)
    x = layers.SeparableConv2D(6, 3, padding="same", name="sep")(x)
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.Conv2DTranspose(3, 2, strides=2, name="up")(x)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.ReLU(name="relu")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(0.5, name="drop")(x)
    outputs = layers.Dense(5, activation="softmax", name="out")(x)
    return keras.Model(inputs, outputs, name="tiny")


def test_describe_hand_computed_layers():
    summary = describe(_tiny_model())
    flops = {row.name: row.flops for row in summary.rows}
    px = 8 * 8
    expected = {
        "input": 0,
        "conv": px * 9 * 2 * 4 * 2 + px * 4 + px * 4,  # MACs x2 + bias + relu
        "grouped": px * 9 * 1 * 4 * 2,  # 2 groups: each output sees 1 input channel
        "add": px * 4,
        "dw": px * 9 * 4 * 2 + px * 4,
        "sep": px * (9 * 4 + 4 * 6) * 2 + px * 6,  # depthwise + pointwise + bias
        "pool": 4 * 4 * 6 * 4,  # 2x2 window per output value
        "up": 4 * 4 * 6 * (2 * 2) * 3 * 2 + px * 3,  # per input pixel: 2x2x6x3 MACs
        "bn": 2 * px * 3,
        "relu": px * 3,
        "gap": px * 3,
        "drop": 0,
        "out": 3 * 5 * 2 + 5 + 5,  # MACs x2 + bias + softmax
    }
    assert flops == expected
    assert summary.flops == sum(expected.values())
    assert summary.uncounted == ()
    shapes = {row.name: row.output_shape for row in summary.rows}
    assert shapes["sep"] == (8, 8, 6) and shapes["gap"] == (3,) and shapes["up"] == (8, 8, 3)
    params = {row.name: row.params for row in summary.rows}
    assert params["sep"] == 9 * 4 + 4 * 6 + 6 and params["bn"] == 4 * 3


@pytest.mark.parametrize(
    "build",
    [lambda: mlp((28, 28), 10), lambda: small_cnn((28, 28, 1), 3),
     lambda: resnet((28, 28, 1), 1), lambda: unet((32, 32, 1), 2, depth=3, width=4),
     _tiny_model],
    ids=["mlp", "small_cnn", "resnet", "unet", "tiny"],
)
def test_describe_params_match_keras(build):
    model = build()
    summary = describe(model)
    assert summary.total_params == model.count_params() == sum(r.params for r in summary.rows)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert summary.trainable_params == trainable
    assert summary.non_trainable_params == summary.total_params - trainable
    assert summary.flops > 0 and summary.uncounted == ()
    assert [row.name for row in summary.rows if row.type != "InputLayer"] == [
        layer.name for layer in model.layers if not isinstance(layer, layers.InputLayer)]


def test_describe_small_cnn_totals():
    summary = describe(small_cnn((28, 28, 1), 1, depth=1, width=8, pooling=None))
    px = 28 * 28
    conv = px * 9 * 8 * 2  # no bias: BN follows
    expected = conv + 2 * px * 8 + px * 8 + px * 8 + (8 * 2 + 1 + 1)  # bn, relu, gap, dense+bias+sigmoid
    assert summary.flops == expected


def test_describe_recurses_into_nested_and_shared_models():
    inner = keras.Sequential(
        [keras.Input((8, 8, 2)), layers.Conv2D(4, 3, padding="same", name="c")], name="inner"
    )
    inner.trainable = False
    inputs = keras.Input((8, 8, 2))
    x = inner(inputs)
    x = layers.Flatten(name="flat")(x)
    outputs = layers.Dense(1, name="head")(x)
    model = keras.Model(inputs, outputs)
    summary = describe(model)
    names = [row.name for row in summary.rows]
    assert "inner/c" in names and "inner" not in names
    conv = 64 * 9 * 2 * 4 * 2 + 64 * 4
    assert dict((r.name, r.flops) for r in summary.rows)["inner/c"] == conv
    assert summary.trainable_params == 256 + 1 < summary.total_params == model.count_params()

    # the same sub-model applied twice (a Siamese pair) does its work twice
    a, b = keras.Input((8, 8, 2)), keras.Input((8, 8, 2))
    pair = keras.Model([a, b], layers.Subtract(name="diff")([inner(a), inner(b)]))
    flops = dict((r.name, r.flops) for r in describe(pair).rows)
    assert flops["inner/c"] == 2 * conv and flops["diff"] == 64 * 4


def test_describe_unknown_layers_and_unknown_sizes():
    inputs = keras.Input((4, 4, 1))
    x = layers.UpSampling2D(2, interpolation="bilinear", name="smooth_up")(inputs)
    model = keras.Model(inputs, layers.Conv2D(1, 1, name="c")(x))
    summary = describe(model)
    assert summary.uncounted == ("smooth_up",)
    assert summary.flops == 64 * 2 + 64
    assert "?" in str(summary) and "smooth_up" in str(summary)

    any_size = describe(small_cnn((None, None, 1), 1, depth=1))
    assert any_size.rows[1].name == "block1_conv" and any_size.rows[1].output_shape == (None, None, 16)
    assert "block1_conv" in any_size.uncounted


def test_describe_rendering_and_errors():
    summary = describe(mlp((28, 28), 10, depth=1, width=16, name="demo"))
    text = str(summary)
    assert "Model: demo" in text and "hidden_1" in text and "(784,)" in text
    assert f"{summary.total_params:,}" in text and "FLOPs per image" in text
    html = summary._repr_html_()
    assert html.count("<tr>") == len(summary.rows) + 1 and "hidden_1" in html
    assert "demo" in repr(summary)
    with pytest.raises(ModelConfigError, match="not built"):
        describe(keras.Sequential([layers.Dense(2)]))
    with pytest.raises(ModelConfigError, match="keras.Model"):
        describe("model")


# ---------------------------------------------------------------- saving


@pytest.mark.parametrize(
    "build",
    [lambda: mlp((6, 6), 3, dropout=0.1, rescale=1 / 255),
     lambda: small_cnn((16, 16), 1, depth=2, width=4, rescale=1 / 255),
     lambda: resnet((16, 16, 1), 2, widths=(4, 8), blocks_per_stage=1),
     lambda: unet((16, 16, 1), 2, depth=2, width=2)],
    ids=["mlp", "small_cnn", "resnet", "unet"],
)
def test_save_load_roundtrip_safe_mode(build, tmp_path):
    model = build()
    x = np.random.default_rng(1).random((2, *model.input_shape[1:]), "float32")
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert _names(loaded) == _names(model)
    np.testing.assert_allclose(_run(loaded, x), _run(model, x), rtol=1e-5, atol=1e-6)
    assert not any(isinstance(layer, layers.Lambda) for layer in model.layers)


# ---------------------------------------------------------------- pretrained_backbone


def test_backbone_grey_input_frozen():
    model = pretrained_backbone("mobilenet_v2", (32, 32), weights=None)
    assert model.input_shape == (None, 32, 32) and model.output_shape == (None, 1280)
    names = _names(model)
    assert names == ["input", "add_channel", "grey_to_rgb", "imagenet_preprocess", "backbone"]
    assert model.get_layer("backbone").trainable is False
    assert describe(model).trainable_params == 0
    maps = pretrained_backbone("mobilenet_v2", (64, 64, 3), weights=None, pooling=None)
    assert maps.output_shape == (None, 2, 2, 1280) and "grey_to_rgb" not in _names(maps)


@pytest.mark.slow
def test_backbone_roundtrip_safe_mode(tmp_path):
    model = pretrained_backbone("mobilenet_v2", (32, 32, 1), weights=None, trainable=True)
    assert describe(model).trainable_params > 2_000_000
    x = np.random.default_rng(0).integers(0, 256, (1, 32, 32, 1)).astype("float32")
    path = tmp_path / "backbone.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(_run(loaded, x), _run(model, x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["mobilenet_v2", "efficientnet_b0", "resnet50"])
@pytest.mark.parametrize("channels", [1, 3])
def test_backbone_preprocessing_matches_keras(name, channels, tmp_path):
    from radlab.models.backbones import _preprocess

    module = {"mobilenet_v2": keras.applications.mobilenet_v2,
              "efficientnet_b0": keras.applications.efficientnet,
              "resnet50": keras.applications.resnet50}[name]
    inputs = keras.Input((4, 4, channels))
    model = keras.Model(inputs, _preprocess(inputs, name, channels, (0.0, 1.0)))
    x01 = np.random.default_rng(2).random((2, 4, 4, channels)).astype("float32")
    rgb = np.repeat(x01, 3 // channels, axis=-1) * 255.0
    expected = module.preprocess_input(rgb.copy())
    np.testing.assert_allclose(_run(model, x01), expected, rtol=1e-4, atol=1e-3)
    # the fixed layers (grey_to_rgb, rgb_to_bgr, imagenet_preprocess) survive saving
    model.save(tmp_path / "pre.keras")
    loaded = keras.saving.load_model(tmp_path / "pre.keras", safe_mode=True)
    np.testing.assert_allclose(_run(loaded, x01), expected, rtol=1e-4, atol=1e-3)


def test_backbone_rejects_bad_arguments(tmp_path):
    with pytest.raises(ModelConfigError, match="unknown backbone"):
        pretrained_backbone("vgg99", (64, 64, 1), weights=None)
    with pytest.raises(ModelConfigError, match="32x32"):
        pretrained_backbone("mobilenet_v2", (28, 28, 1), weights=None)
    with pytest.raises(ModelConfigError, match="channels"):
        pretrained_backbone("mobilenet_v2", (64, 64, 2), weights=None)
    with pytest.raises(ModelConfigError, match="not found"):
        pretrained_backbone("mobilenet_v2", (64, 64, 1), weights=tmp_path / "missing.h5")
    with pytest.raises(ModelConfigError, match="value_range"):
        pretrained_backbone("mobilenet_v2", (64, 64, 1), weights=None, value_range=(1, 0))


def test_output_layer_stays_float32_under_mixed_precision():
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    try:
        cnn = small_cnn((16, 16, 1), 1, depth=1, width=4)
        seg = unet((16, 16, 1), 1, depth=1, width=2)
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    assert cnn.get_layer("block1_conv").compute_dtype == "float16"
    assert cnn.output.dtype == "float32" and seg.output.dtype == "float32"


def test_small_cnn_bn_momentum_reaches_every_batchnorm():
    import keras

    model = small_cnn((32, 32, 1), 1, depth=2, bn_momentum=0.9)
    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(bns) == 2 and all(layer.momentum == 0.9 for layer in bns)
    with pytest.raises(ValueError, match="bn_momentum"):
        small_cnn((32, 32, 1), 1, bn_momentum=1.5)


def test_resnet_bn_momentum_reaches_every_batchnorm():
    import keras

    model = resnet((28, 28, 1), 1, widths=(8, 16), blocks_per_stage=1, bn_momentum=0.9)
    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(bns) >= 4 and all(layer.momentum == 0.9 for layer in bns)
