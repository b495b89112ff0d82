"""Transfer learning: finding ImageNet weights offline, the cached in-kit source model,
frozen / fine-tuned / from-scratch classifiers, and the data-efficiency curve."""

from __future__ import annotations

import numpy as np
import pytest

from radlab import transfer
from radlab.data.registry import REGISTRY
from radlab.errors import ChecksumError, ModelFileNotFoundError

MOBILENET = REGISTRY["mobilenetv2_imagenet_notop"]


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    home = tmp_path / "keras_home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


def _fake_weights(path, size_bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * size_bytes)
    return path


# -- imagenet_weights: never downloads, checks what it finds --------------------------
def test_no_weights_anywhere_gives_none(keras_home, tmp_path):
    assert transfer.imagenet_weights("mobilenet_v2", data_dir=tmp_path / "data") is None


def test_weights_found_in_the_keras_cache(keras_home, tmp_path):
    path = _fake_weights(keras_home / "models" / MOBILENET.filename, MOBILENET.size_bytes)
    assert transfer.imagenet_weights("mobilenet_v2", data_dir=tmp_path / "data") == path


def test_the_radlab_data_dir_copy_comes_first(keras_home, tmp_path):
    _fake_weights(keras_home / "models" / MOBILENET.filename, MOBILENET.size_bytes)
    mine = _fake_weights(tmp_path / "data" / MOBILENET.filename, MOBILENET.size_bytes)
    assert transfer.imagenet_weights("mobilenet_v2", data_dir=tmp_path / "data") == mine


def test_a_truncated_file_names_the_file_and_the_fix(keras_home, tmp_path):
    path = _fake_weights(keras_home / "models" / MOBILENET.filename, 1000)
    with pytest.raises(ChecksumError) as info:
        transfer.imagenet_weights("mobilenet_v2", data_dir=tmp_path / "data")
    message = str(info.value)
    assert str(path) in message and "truncated" in message
    assert "radlab fetch mobilenetv2_imagenet_notop" in message
    # your own weights file of that name is accepted when asked
    assert transfer.imagenet_weights("mobilenet_v2", data_dir=tmp_path / "data", verify=False) == path


def test_a_file_with_the_wrong_checksum_is_refused(keras_home, tmp_path):
    info = REGISTRY["resnet50_imagenet_notop"]
    _fake_weights(tmp_path / "data" / info.filename, 2000)
    with pytest.raises(ChecksumError, match="radlab fetch resnet50_imagenet_notop"):
        transfer.imagenet_weights("resnet50", data_dir=tmp_path / "data")


def test_unknown_backbone_is_a_clear_error():
    with pytest.raises(ValueError, match="mobilenet_v2"):
        transfer.imagenet_weights("vgg16")


# -- the ImageNet path, with a weights file in Keras's own format --------------------------
def test_imagenet_path_loads_a_weights_file_in_keras_format(keras_home, tmp_path):
    import keras

    keras.utils.set_random_seed(1)
    base = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(32, 32, 3))
    # Keras's published no-top files are legacy HDF5 ('.h5', not '.weights.h5'); model.save
    # to a '.h5' name writes that format, and MobileNetV2(weights=path) reads it.
    path = keras_home / "models" / MOBILENET.filename
    path.parent.mkdir(parents=True)
    base.save(path)
    # The registry size check refuses this small file: point at it explicitly.
    chosen = transfer.backbone_for_transfer((32, 32, 1), prefer="imagenet", weights=path,
                                            data_dir=tmp_path / "data")
    assert chosen.kind == "imagenet" and "ImageNet mobilenet_v2" in chosen.path_taken
    assert chosen.source is None and chosen.weights_path == path
    loaded = chosen.features.get_layer("backbone")
    for mine, theirs in zip(base.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(mine, theirs)


def test_prefer_imagenet_without_weights_says_how_to_get_them(keras_home, tmp_path):
    with pytest.raises(ModelFileNotFoundError, match="radlab fetch mobilenetv2_imagenet_notop"):
        transfer.backbone_for_transfer((32, 32, 1), prefer="imagenet", data_dir=tmp_path / "data")


# -- the offline path: a cached in-kit source model ----------------------------------------
TINY_SOURCE = dict(input_shape=(32, 32, 1), n=120, steps=4, batch_size=32, verbose=False)


def test_pretrain_source_caches_then_reloads(tmp_path):
    first = transfer.pretrain_source("chest_nodule", data_dir=tmp_path, **TINY_SOURCE)
    assert not first.from_cache and first.path.is_file()
    assert first.path.parent == tmp_path / "pretrained" and first.path.suffix == ".keras"
    assert 0.0 <= first.source_auc <= 1.0
    assert first.features.output_shape == (None, 128)
    second = transfer.pretrain_source("chest_nodule", data_dir=tmp_path, **TINY_SOURCE)
    assert second.from_cache and second.path == first.path and second.train_seconds == 0
    for a, b in zip(first.model.get_weights(), second.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert second.source_auc == pytest.approx(first.source_auc)
    # other settings, another file
    other = transfer.pretrain_source("chest_nodule", data_dir=tmp_path, seed=1, **TINY_SOURCE)
    assert other.path != first.path


def test_a_corrupt_cache_file_is_trained_again(tmp_path):
    first = transfer.pretrain_source("chest_nodule", data_dir=tmp_path, **TINY_SOURCE)
    first.path.write_bytes(first.path.read_bytes()[:500])  # an interrupted copy
    with pytest.warns(UserWarning, match="Training the source model again"):
        again = transfer.pretrain_source("chest_nodule", data_dir=tmp_path, **TINY_SOURCE)
    assert not again.from_cache
    assert transfer.pretrain_source("chest_nodule", data_dir=tmp_path, **TINY_SOURCE).from_cache


def test_auto_without_imagenet_weights_takes_the_in_kit_path(keras_home, tmp_path):
    chosen = transfer.backbone_for_transfer(data_dir=tmp_path, source="ct_nodule", **TINY_SOURCE)
    assert chosen.kind == "in-kit" and chosen.weights_path is None
    assert chosen.path_taken.startswith("offline: pretrained in-kit on axial chest CT")
    assert chosen.features.input_shape == (None, 32, 32, 1)


def test_bad_source_settings_are_refused(tmp_path):
    with pytest.raises(ValueError, match="ct_nodule"):
        transfer.pretrain_source("mri", data_dir=tmp_path)
    with pytest.raises(ValueError, match="square grey"):
        transfer.pretrain_source(input_shape=(32, 48, 1), data_dir=tmp_path)


# -- frozen / fine-tune / scratch --------------------------------------------------------
@pytest.fixture(scope="module")
def features():
    from radlab.models import small_cnn

    import keras

    keras.utils.set_random_seed(3)
    model = small_cnn((32, 32, 1), 1, depth=2, width=4, bn_momentum=0.5)
    # Non-trivial BN statistics, as a pretrained model has.
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(np.full(layer.moving_mean.shape, 0.3, "float32"))
            layer.moving_variance.assign(np.full(layer.moving_variance.shape, 2.0, "float32"))
    return model


@pytest.fixture(scope="module")
def tiny_data():
    rng = np.random.default_rng(0)
    y = np.arange(64) % 2
    x = rng.uniform(0, 0.3, (64, 32, 32, 1)).astype("float32")
    x[y == 1, 8:20, 8:20] += 0.6
    return x, y


def _backbone_weights(model):
    return {w.path: np.array(w) for w in model.get_layer("features").weights}


def _one_step(model, data):
    from radlab import fit

    x, y = data
    fit(model, (x, y[:, None].astype("float32")), epochs=1, batch_size=32, dashboard=False)


def _bn_stats(weights):
    return {k: v for k, v in weights.items() if "moving" in k}


def test_frozen_trains_only_the_head(features, tiny_data):
    model = transfer.transfer_classifier(features, "frozen")
    before_backbone = _backbone_weights(model)
    head_before = model.get_layer("transfer_output").get_weights()[0].copy()
    _one_step(model, tiny_data)
    after = _backbone_weights(model)
    assert all(np.array_equal(before_backbone[k], after[k]) for k in before_backbone)
    assert not np.array_equal(head_before, model.get_layer("transfer_output").get_weights()[0])
    # the pretrained weights were copied, and the model passed in is untouched
    np.testing.assert_array_equal(features.get_layer("block1_conv").get_weights()[0],
                                  model.get_layer("features").get_layer("block1_conv").get_weights()[0])


def test_finetune_changes_the_filters_but_not_the_batchnorm_statistics(features, tiny_data):
    original = [w.copy() for w in features.get_weights()]
    model = transfer.transfer_classifier(features, "finetune", learning_rate=1e-2)
    before = _backbone_weights(model)
    _one_step(model, tiny_data)
    after = _backbone_weights(model)
    conv = [k for k in before if "conv" in k and "kernel" in k]
    assert conv and all(not np.array_equal(before[k], after[k]) for k in conv)
    stats = _bn_stats(before)
    assert stats and all(np.array_equal(stats[k], after[k]) for k in stats)
    # gamma/beta of BatchNormalization are frozen too
    bn_params = [k for k in before if "bn" in k and ("gamma" in k or "beta" in k)]
    assert bn_params and all(np.array_equal(before[k], after[k]) for k in bn_params)
    for a, b in zip(original, features.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_finetune_top_layers_only(features):
    model = transfer.transfer_classifier(features, "finetune", trainable_layers=1)
    trainable = {w.path for w in model.get_layer("features").trainable_weights}
    assert trainable and all("block2_conv" in p for p in trainable)


def test_scratch_has_the_same_architecture_with_new_weights(features):
    model = transfer.transfer_classifier(features, "scratch")
    backbone = model.get_layer("features")
    assert backbone.count_params() == transfer._features_of(features).count_params()
    mine = backbone.get_layer("block1_conv").get_weights()[0]
    assert mine.shape == features.get_layer("block1_conv").get_weights()[0].shape
    assert not np.allclose(mine, features.get_layer("block1_conv").get_weights()[0])
    assert backbone.trainable and len(model.trainable_weights) > 2


def test_unfreeze_is_stage_two(features, tiny_data):
    model = transfer.transfer_classifier(features, "frozen")
    assert len(model.trainable_weights) == 2  # kernel and bias of the head
    transfer.unfreeze(model, learning_rate=1e-2)
    before = _backbone_weights(model)
    _one_step(model, tiny_data)
    after = _backbone_weights(model)
    assert not np.array_equal(before["block1_conv/kernel"] if "block1_conv/kernel" in before
                              else next(v for k, v in before.items() if "block1_conv" in k),
                              next(v for k, v in after.items() if "block1_conv" in k))
    assert all(np.array_equal(v, after[k]) for k, v in _bn_stats(before).items())


def test_unknown_mode_is_refused(features):
    with pytest.raises(ValueError, match="frozen"):
        transfer.transfer_classifier(features, "partial")


# -- the data-efficiency curve ---------------------------------------------------------------
def test_nested_stratified_subsets():
    y = np.r_[np.ones(30), np.zeros(70)].astype(int)
    subsets = transfer.nested_subsets(y, (4, 10, 40), seed=0)
    assert [len(subsets[n]) for n in (4, 10, 40)] == [4, 10, 40]
    for n, index in subsets.items():
        assert 0 < y[index].sum() < n
    assert set(subsets[4]) <= set(subsets[10]) <= set(subsets[40])
    assert y[subsets[40]].sum() == 12
    with pytest.raises(ValueError, match="between 2 and 100"):
        transfer.nested_subsets(y, (1,))


def test_data_efficiency_rows_and_plot(features, tiny_data):
    x, y = tiny_data
    result = transfer.data_efficiency(
        x[:40], y[:40], x[40:52], y[40:52], x[52:], y[52:], features=features, sizes=(8, 16),
        methods=("scratch", "frozen", "finetune"), steps=2, batch_size=8, n_boot=20, verbose=False,
    )
    assert [(r["method"], r["n_train"]) for r in result.rows] == [
        ("scratch", 8), ("frozen", 8), ("finetune", 8), ("scratch", 16), ("frozen", 16), ("finetune", 16)]
    for row in result.rows:
        assert 0 <= row["ci_low"] <= row["auc"] <= row["ci_high"] <= 1 and row["seconds"] > 0
    assert result.sizes == [8, 16] and result.methods == ["scratch", "frozen", "finetune"]
    assert result.gain("frozen")[8] == pytest.approx(result.auc("frozen", 8) - result.auc("scratch", 8))
    assert "finetune" in result.table() and "test AUC" in repr(result)
    fig = result.plot()
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and len(ax.get_lines()) == 3 + 1  # three methods + chance line
    with pytest.raises(KeyError, match="n_train=99"):
        result.auc("frozen", 99)


def test_data_efficiency_checks_its_inputs(features, tiny_data):
    x, y = tiny_data
    with pytest.raises(ValueError, match="methods"):
        transfer.data_efficiency(x, y, x, y, x, y, features=features, methods=("imagenet",))


def test_cli_pretrain_caches_the_source_model_once(tmp_path, monkeypatch, capsys):
    """`radlab pretrain` (for instructors) trains and caches; a second run finds the cache."""
    from radlab import transfer
    from radlab.cli import main as cli_main

    real = transfer.pretrain_source
    monkeypatch.setattr(transfer, "pretrain_source",
                        lambda **kwargs: real(n=64, steps=2, batch_size=16, **kwargs))
    assert cli_main(["pretrain", "--size", "32", "--quiet", "--data-dir", str(tmp_path)]) == 0
    first = capsys.readouterr().out
    assert "trained in" in first and str(tmp_path / "pretrained") in first
    assert len(list((tmp_path / "pretrained").glob("*.keras"))) == 1
    assert cli_main(["pretrain", "--size", "32", "--quiet", "--data-dir", str(tmp_path)]) == 0
    assert "already cached" in capsys.readouterr().out
    assert cli_main(["pretrain", "no_such_source", "--size", "32", "--quiet",
                     "--data-dir", str(tmp_path)]) == 1
    assert "known sources" in capsys.readouterr().err


def test_pretrain_source_is_reproducible_from_the_first_call_of_a_process():
    """Same settings, same source model: even the first model a fresh process builds."""
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from radlab.transfer import pretrain_source\n"
        "kw = dict(input_shape=(32, 32, 1), n=80, steps=3, batch_size=16, cache=False, verbose=False)\n"
        "a = pretrain_source(**kw).model.get_weights()\n"
        "b = pretrain_source(**kw).model.get_weights()\n"
        "print(all(np.array_equal(x, y) for x, y in zip(a, b)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "True"
