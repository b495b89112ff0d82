"""The classification recipe: input checks, class balance, a short training run,
predictions, and atomic save / checked reload with clear errors."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from radlab import classification as clf
from radlab.errors import DataFormatError, RadlabError


def _tiny_resnet(widths=(4, 8)):
    from radlab.models import resnet

    return resnet((28, 28, 1), 1, widths=widths, blocks_per_stage=1)


@pytest.fixture(scope="module")
def images():
    """Bright-blob vs plain 28 px images: learnable in one short epoch."""
    rng = np.random.default_rng(0)
    n = 96
    y = (np.arange(n) % 3 == 0).astype(np.uint8)  # 1/3 positive: imbalanced
    x = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
    x[y == 1, 10:18, 10:18] += 150
    return x, y[:, None]  # MedMNIST-style (n, 1) labels


# -- input checks ------------------------------------------------------------------------
def test_check_split_accepts_medmnist_labels(images):
    x, y = images
    x2, y2 = clf.check_split(x, y, "train")
    assert x2 is x or np.shares_memory(x2, x)
    assert y2.shape == (96,) and y2.dtype == np.int64 and y2.sum() == 32


def test_labels_that_do_not_match_the_images_name_both_shapes(images):
    x, y = images
    with pytest.raises(DataFormatError, match=r"train labels have shape \(95, 1\).*\(96, 28, 28\)"):
        clf.check_split(x, y[:95], "train")
    with pytest.raises(DataFormatError, match=r"shape \(96, 2\)"):
        clf.check_split(x, np.zeros((96, 2)), "val")


def test_single_class_split_says_which_split_and_how_to_fix(images):
    x, y = images
    with pytest.raises(DataFormatError, match=r"the val split has only one class \(0\).*stratify=y"):
        clf.check_split(x, np.zeros(96), "val")
    with pytest.raises(DataFormatError, match="the val split has only one class"):
        clf.train_classifier(x, y, x[:10], np.zeros(10), epochs=1)


def test_labels_must_be_binary_and_images_image_shaped(images):
    x, y = images
    with pytest.raises(DataFormatError, match=r"0 \(no finding\) or 1"):
        clf.check_split(x, y * 2, "test")
    with pytest.raises(DataFormatError, match="expected"):
        clf.check_split(x.reshape(96, -1), y, "train")


def test_class_weights_balanced_by_hand():
    weights = clf.class_weights([0, 0, 0, 1])  # n / (2 * n_class): 4/6 and 4/2
    assert weights == pytest.approx({0: 2 / 3, 1: 2.0})
    assert clf.class_weights([0, 1], None) is None
    assert clf.class_weights([0, 1], {0: 1, 1: 3}) == {0: 1.0, 1: 3.0}
    with pytest.raises(ValueError, match="class_weight"):
        clf.class_weights([0, 1], "inverse")
    with pytest.raises(ValueError, match="positive weights"):
        clf.class_weights([0, 1], {0: 1.0, 1: -1.0})


def test_oversample_balances_reproducibly(images):
    x, y = images
    x2, y2 = clf.oversample(x, y, seed=1)
    assert y2.shape == (128, 1) and y2.sum() == 64 and x2.shape == (128, 28, 28)
    # every oversampled image is one of the originals, with its own label
    originals = {img.tobytes(): int(lab) for img, lab in zip(x, y[:, 0])}
    assert all(originals[img.tobytes()] == int(lab) for img, lab in zip(x2, y2[:, 0]))
    x3, y3 = clf.oversample(x, y, seed=1)
    np.testing.assert_array_equal(y2, y3)
    with pytest.raises(DataFormatError, match="both classes"):
        clf.oversample(x, np.ones(96))
    with pytest.raises(DataFormatError, match="shape"):
        clf.oversample(x, y[:10])


# -- training and prediction ----------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(images):
    x, y = images
    model, history = clf.train_classifier(
        x[:72], y[:72], x[72:], y[72:], model=_tiny_resnet(), epochs=2, batch_size=16,
        learning_rate=3e-3, seed=0,
    )
    return model, history


def test_train_classifier_runs_the_recipe(trained, images):
    model, history = trained
    assert {"loss", "auc", "accuracy", "val_loss", "val_auc"} <= set(history.history)
    assert len(history.history["loss"]) == 2
    assert history.params["stopped_by_time_limit"] is False
    assert history.params["class_weight"] == pytest.approx({0: 0.75, 1: 1.5})
    assert history.params["best_epoch"] in (0, 1)
    scores = clf.predict_scores(model, images[0][72:])
    assert scores.shape == (24,) and np.all((scores >= 0) & (scores <= 1))


def test_time_limit_stops_training(images):
    x, y = images
    _, history = clf.train_classifier(x, y, x, y, model=_tiny_resnet(), epochs=5, batch_size=32,
                                      time_limit_s=1e-6, keep_best=False, class_weight=None)
    assert history.params["stopped_by_time_limit"] is True
    assert len(history.history["loss"]) == 1
    with pytest.raises(ValueError, match="time_limit_s"):
        clf.train_classifier(x, y, x, y, model=_tiny_resnet(), epochs=1, time_limit_s=0)


def test_unknown_model_name_is_an_error(images):
    x, y = images
    with pytest.raises(ValueError, match="resnet"):
        clf.train_classifier(x, y, x, y, model="vgg", epochs=1)


def test_nan_predictions_are_reported():
    class Diverged:
        def predict(self, data, verbose=0):
            return np.full((4, 1), np.nan, np.float32)

    with pytest.raises(ValueError, match="4 of 4 predictions are NaN.*learning rate"):
        clf.predict_scores(Diverged(), np.zeros((4, 28, 28), np.uint8))


# -- saving and loading ------------------------------------------------------------------------
def test_save_and_load_round_trip(trained, images, tmp_path):
    model, _ = trained
    path = clf.save_model(model, tmp_path / "models" / "pneumonia.keras")
    assert path.is_file() and [p.name for p in path.parent.iterdir()] == ["pneumonia.keras"]
    loaded = clf.load_model(path)
    x = images[0][:8]
    np.testing.assert_allclose(clf.predict_scores(loaded, x), clf.predict_scores(model, x), atol=1e-6)
    with pytest.raises(ValueError, match=r"'\.keras' file"):
        clf.save_model(model, tmp_path / "model.h5")


def test_an_interrupted_save_keeps_the_old_file(tmp_path):
    path = tmp_path / "model.keras"
    path.write_bytes(b"previous model")

    class Crashing:
        def save(self, filename):
            with open(filename, "wb") as f:
                f.write(b"half a fi")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        clf.save_model(Crashing(), path)
    assert path.read_bytes() == b"previous model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]  # no temp file left


def test_load_model_errors(tmp_path):
    with pytest.raises(clf.ModelFileNotFoundError, match="No model file") as info:
        clf.load_model(tmp_path / "missing.keras")
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, RadlabError)
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(clf.ModelFileError, match="truncated.keras.*truncated or corrupt"):
        clf.load_model(truncated)
    empty_zip = tmp_path / "empty.keras"
    with zipfile.ZipFile(empty_zip, "w") as archive:
        archive.writestr("readme.txt", "no model here")
    with pytest.raises(clf.ModelFileError, match="empty.keras could not be loaded"):
        clf.load_model(empty_zip)
    weights = tmp_path / "model.weights.h5"
    weights.write_bytes(b"")
    with pytest.raises(clf.ModelFileError, match="load_weights_checked"):
        clf.load_model(weights)


def test_load_weights_of_another_architecture_names_file_shapes_and_fix(trained, tmp_path):
    model, _ = trained
    path = tmp_path / "tiny.weights.h5"
    model.save_weights(path)
    same = clf.load_weights_checked(_tiny_resnet(), path)
    np.testing.assert_array_equal(same.get_weights()[0], model.get_weights()[0])
    with pytest.raises(clf.WeightsMismatchError) as info:
        clf.load_weights_checked(_tiny_resnet(widths=(8, 16)), path)
    message = str(info.value)
    assert "tiny.weights.h5" in message
    assert "expects (3, 3, 1, 8)" in message and "the file has (3, 3, 1, 4)" in message
    assert "same builder and arguments" in message
    assert isinstance(info.value, ValueError)
    with pytest.raises(clf.ModelFileNotFoundError):
        clf.load_weights_checked(model, tmp_path / "nope.weights.h5")


def test_build_classifier_by_name_settles_batch_norm_faster():
    import keras

    model = clf.build_classifier("small_cnn", (28, 28, 1))
    norms = [la for la in model.layers if isinstance(la, keras.layers.BatchNormalization)]
    assert norms and all(la.momentum == 0.9 for la in norms)
    assert model.output_shape == (None, 1) and model.optimizer is not None
    mine = _tiny_resnet()
    assert clf.build_classifier(mine, (28, 28, 1)) is mine  # compiled here, otherwise untouched
    assert all(la.momentum == 0.99 for la in mine.layers if isinstance(la, keras.layers.BatchNormalization))
    with pytest.raises(TypeError, match="keras.Model"):
        clf.build_classifier(object(), (28, 28, 1))
