"""The tf.data input pipeline: shapes, scaling, seeded shuffling, augmentation."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from radlab.data.pipeline import AUGMENT_PRESETS, as_dataset, augmentation  # noqa: E402


def batches(ds):
    return [tuple(t.numpy() for t in b) if isinstance(b, tuple) else b.numpy() for b in ds]


def labelled_images(n=50, size=16):
    """Each image is filled with its own index, so a batch can be checked against y."""
    x = np.repeat(np.arange(n, dtype=np.uint8), size * size).reshape(n, size, size)
    y = np.arange(n, dtype=np.int64)
    return x, y


def order(ds):
    return np.concatenate([b[1] for b in batches(ds)])


def test_shapes_dtypes_and_scaling():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (10, 8, 8), dtype=np.uint8)
    y = rng.integers(0, 2, (10, 1), dtype=np.uint8)
    got = batches(as_dataset(x, y, batch_size=4, shuffle=False))
    assert [b[0].shape for b in got] == [(4, 8, 8, 1), (4, 8, 8, 1), (2, 8, 8, 1)]
    assert all(b[0].dtype == np.float32 for b in got)
    assert all(b[1].shape[1:] == (1,) and b[1].dtype == np.uint8 for b in got)
    images = np.concatenate([b[0] for b in got])
    np.testing.assert_allclose(images[..., 0], x / 255.0, rtol=1e-6)
    assert images.min() >= 0.0 and images.max() <= 1.0


def test_cardinality_is_known_and_drop_remainder():
    x = np.zeros((10, 4, 4, 3), np.uint8)
    ds = as_dataset(x, np.zeros(10), batch_size=4)
    assert int(ds.cardinality()) == 3
    dropped = as_dataset(x, np.zeros(10), batch_size=4, drop_remainder=True)
    assert int(dropped.cardinality()) == 2
    assert [b[0].shape[0] for b in batches(dropped)] == [4, 4]
    exact = as_dataset(x[:8], np.zeros(8), batch_size=4)
    assert int(exact.cardinality()) == 2


def test_images_only_multilabel_floats_and_masks():
    x = np.random.default_rng(1).random((6, 5, 5)).astype(np.float64)
    only_x = batches(as_dataset(x, batch_size=6, shuffle=False))
    assert only_x[0].shape == (6, 5, 5, 1) and only_x[0].dtype == np.float32
    np.testing.assert_allclose(only_x[0][..., 0], x, rtol=1e-6)  # not rescaled
    y = np.eye(6, 14, dtype=np.uint8)
    (xb, yb), = batches(as_dataset(x, y, batch_size=6, shuffle=False))
    np.testing.assert_array_equal(yb, y)
    masks = batches(as_dataset(np.ones((2, 3, 3), bool), batch_size=2, shuffle=False))
    assert masks[0].dtype == np.float32 and masks[0].max() == 1.0


def test_labels_stay_with_their_images():
    x, y = labelled_images()
    for images, labels in batches(as_dataset(x, y, batch_size=7, seed=3)):
        np.testing.assert_array_equal(np.round(images.mean(axis=(1, 2, 3)) * 255), labels)


def test_shuffle_is_seeded_new_each_epoch_and_complete():
    x, y = labelled_images()
    ds = as_dataset(x, y, batch_size=8, seed=0)
    first, second = order(ds), order(ds)
    assert sorted(first) == list(range(50)) and sorted(second) == list(range(50))
    assert not np.array_equal(first, second)  # reshuffled every epoch
    again = as_dataset(x, y, batch_size=8, seed=0)
    np.testing.assert_array_equal(order(again), first)  # same seed, same epochs
    np.testing.assert_array_equal(order(again), second)
    assert not np.array_equal(order(as_dataset(x, y, batch_size=8, seed=1)), first)
    np.testing.assert_array_equal(order(as_dataset(x, y, batch_size=8, shuffle=False)),
                                  np.arange(50))


def test_eval_pipeline_is_exact_and_unaugmented():
    x = np.random.default_rng(2).integers(0, 256, (9, 12, 12), dtype=np.uint8)
    ds = as_dataset(x, np.arange(9), batch_size=4, shuffle=False)
    for _ in range(2):  # every pass is identical
        images = np.concatenate([b[0] for b in batches(ds)])
        np.testing.assert_allclose(images[..., 0], x / 255.0, rtol=1e-6)


@pytest.mark.parametrize("preset", AUGMENT_PRESETS)
def test_augmentation_changes_images_keeps_shape_range_and_labels(preset):
    x = np.random.default_rng(3).integers(0, 256, (16, 24, 24), dtype=np.uint8)
    y = np.arange(16)
    plain = batches(as_dataset(x, y, batch_size=8, shuffle=False))
    augmented = batches(as_dataset(x, y, batch_size=8, shuffle=False, augment=preset))
    for (xa, ya), (xp, yp) in zip(augmented, plain):
        assert xa.shape == xp.shape and xa.dtype == np.float32
        assert xa.min() >= 0.0 and xa.max() <= 1.0
        np.testing.assert_array_equal(ya, yp)
        assert not np.allclose(xa, xp)


def test_augmentation_is_reproducible_with_a_seed():
    x = np.random.default_rng(4).integers(0, 256, (12, 20, 20), dtype=np.uint8)
    first = batches(as_dataset(x, batch_size=4, augment="radiograph", seed=5))
    same = batches(as_dataset(x, batch_size=4, augment="radiograph", seed=5))
    other = batches(as_dataset(x, batch_size=4, augment="radiograph", seed=6))
    for a, b in zip(first, same):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_presets_never_flip():
    for preset in AUGMENT_PRESETS:
        names = [type(layer).__name__ for layer in augmentation(preset).layers]
        assert "RandomFlip" not in names
        assert {"RandomRotation", "RandomZoom", "RandomTranslation"} <= set(names)
    assert "RandomContrast" not in [type(l).__name__ for l in augmentation("ct").layers]
    # A bright spot on the image's right stays on the right (no mirroring).
    x = np.zeros((8, 32, 32), np.uint8)
    x[:, 12:20, 24:30] = 255
    images = np.concatenate(batches(as_dataset(x, batch_size=8, shuffle=False,
                                               augment="radiograph")))
    assert (images[:, :, 16:, 0].sum(axis=(1, 2)) > images[:, :, :16, 0].sum(axis=(1, 2))).all()


def test_custom_augmentation_layers():
    custom = keras.Sequential([keras.layers.RandomBrightness(0.3, value_range=(0, 1), seed=0)])
    x = np.full((4, 8, 8), 128, np.uint8)
    images = batches(as_dataset(x, batch_size=4, shuffle=False, augment=custom))[0]
    assert images.shape == (4, 8, 8, 1)
    assert not np.allclose(images, 128 / 255)
    inverted = batches(as_dataset(x, batch_size=4, shuffle=False, augment=lambda b: 1.0 - b))[0]
    np.testing.assert_allclose(inverted, 1 - 128 / 255, rtol=1e-6)


def test_volumes_pass_through_without_augmentation():
    volumes = np.zeros((3, 4, 6, 6, 1), np.uint8)
    assert batches(as_dataset(volumes, np.zeros(3), batch_size=2))[0][0].shape == (2, 4, 6, 6, 1)
    with pytest.raises(ValueError, match="2D images"):
        as_dataset(volumes, augment="ct")


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        (dict(x=np.zeros((4, 5))), ValueError, r"shape \(n, H, W\)"),
        (dict(x=np.zeros((0, 5, 5))), ValueError, "no images"),
        (dict(x=np.zeros((4, 5, 5)), y=np.zeros(3)), ValueError, "4 images but 3 labels"),
        (dict(x=np.zeros((4, 5, 5)), y=np.zeros((4, 1, 1))), ValueError, r"\(n,\) or \(n, k\)"),
        (dict(x=np.zeros((4, 5, 5)), batch_size=0), ValueError, "positive"),
        (dict(x=np.zeros((4, 5, 5)), batch_size=8, drop_remainder=True), ValueError, "empty"),
        (dict(x=np.zeros((4, 5, 5)), augment="mri"), ValueError, "Unknown augmentation"),
        (dict(x=np.zeros((4, 5, 5)), augment=3), TypeError, "augment must be"),
        (dict(x=np.array([["a"]])), TypeError, "numeric"),
    ],
)
def test_bad_input(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        as_dataset(**kwargs)


def test_trains_a_model():
    x, y = labelled_images(n=32, size=8)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile("sgd", "binary_crossentropy")
    history = model.fit(as_dataset(x, (y % 2).astype("float32"), batch_size=8,
                                   augment="ct"),
                        epochs=2, verbose=0, shuffle=False)
    assert len(history.history["loss"]) == 2
