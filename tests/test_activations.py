"""radlab.activations: feature maps through a sub-model, layer choice, first-layer filters."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from radlab.activations import (  # noqa: E402
    as_model_input,
    feature_extractor,
    feature_maps,
    first_layer_filters,
    image_layers,
)
from radlab.errors import DataFormatError, ModelConfigError  # noqa: E402
from radlab.models import small_cnn  # noqa: E402


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return small_cnn((32, 32, 1), 1, depth=2, width=4)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((5, 32, 32, 1)).astype(np.float32)


def test_image_layers_are_the_block_activations(model):
    assert image_layers(model) == ["block1_relu", "block2_relu"]
    every = image_layers(model, activations_only=False)
    assert every[:4] == ["block1_conv", "block1_bn", "block1_relu", "block1_pool"]
    assert "gap" not in every and "output" not in every and "input" not in every


def test_feature_maps_shapes_and_names(model, images):
    maps = feature_maps(model, images, ["block2_relu", "block1_conv", "block1_pool"])
    assert list(maps) == ["block2_relu", "block1_conv", "block1_pool"]
    assert maps["block1_conv"].shape == (5, 32, 32, 4)
    assert maps["block1_pool"].shape == (5, 16, 16, 4)
    assert maps["block2_relu"].shape == (5, 16, 16, 8)
    assert all(m.dtype == np.float32 for m in maps.values())
    assert maps["block2_relu"].min() >= 0.0  # after a ReLU
    default = feature_maps(model, images)
    assert list(default) == ["block1_relu", "block2_relu"]


def test_feature_maps_match_the_model_itself(model, images):
    # The sub-model shares the layers: a hand-rolled forward pass agrees.
    conv = model.get_layer("block1_conv")
    bn = model.get_layer("block1_bn")
    expected = np.maximum(np.asarray(bn(conv(images), training=False)), 0.0)
    got = feature_maps(model, images, "block1_relu")["block1_relu"]
    assert np.allclose(got, expected, atol=1e-5)
    # The last layer through feature_maps equals the model's prediction.
    out = feature_maps(model, images, ["output"])["output"]
    assert np.allclose(out, np.asarray(model(images, training=False)), atol=1e-6)


def test_batching_gives_the_same_result(model, images):
    whole = feature_maps(model, images, ["block2_relu"])["block2_relu"]
    pieces = feature_maps(model, images, ["block2_relu"], batch_size=2)["block2_relu"]
    assert np.allclose(whole, pieces, atol=1e-6)


def test_input_shapes_are_accepted(model, images):
    assert as_model_input(model, images).shape == (5, 32, 32, 1)
    assert as_model_input(model, images[..., 0]).shape == (5, 32, 32, 1)  # no channel axis
    assert as_model_input(model, images[0]).shape == (1, 32, 32, 1)  # one image
    assert as_model_input(model, images[0, ..., 0]).shape == (1, 32, 32, 1)
    single = feature_maps(model, images[2, ..., 0], ["block1_relu"])["block1_relu"]
    assert np.allclose(single[0], feature_maps(model, images, ["block1_relu"])["block1_relu"][2], atol=1e-6)
    with pytest.raises(DataFormatError, match="do not fit"):
        as_model_input(model, np.zeros((2, 31, 32, 1)))


def test_unknown_layer_lists_the_layers(model, images):
    with pytest.raises(ModelConfigError, match="block1_relu"):
        feature_maps(model, images, ["block9_relu"])
    with pytest.raises(ValueError, match="empty"):
        feature_maps(model, images, [])
    with pytest.raises(ValueError, match="batch_size"):
        feature_maps(model, images, batch_size=0)


def test_feature_extractor_shares_weights(model):
    extractor = feature_extractor(model, ["block1_conv"])
    assert extractor.get_layer("block1_conv") is model.get_layer("block1_conv")
    assert len(extractor.outputs) == 1


def test_first_layer_filters_shape_and_values(model):
    filters = first_layer_filters(model)
    assert filters.shape == (4, 3, 3, 1)
    kernel = model.get_layer("block1_conv").get_weights()[0]  # (kh, kw, in, out)
    assert np.array_equal(filters[2, :, :, 0], kernel[:, :, 0, 2])
    assert first_layer_filters(model, "block2_conv").shape == (8, 3, 3, 4)
    with pytest.raises(ModelConfigError, match="no 2D convolution"):
        first_layer_filters(model, "block1_bn")


def test_first_layer_filters_of_rgb_and_nested_models():
    inner = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(6, 5, name="c1")], name="inner")
    inputs = keras.Input((16, 16, 3))
    outer = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(inner(inputs)))
    assert first_layer_filters(outer).shape == (6, 5, 5, 3)
    dense_only = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ModelConfigError, match="no 2D convolution"):
        first_layer_filters(dense_only)


def test_models_without_symbolic_inputs_are_explained():
    class Tiny(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(ModelConfigError, match="symbolic inputs"):
        feature_maps(Tiny(), np.zeros((1, 4, 4, 1)), ["x"])
