"""Notebook 06's data: the MedMNIST file when it is there, phantoms in its format when not."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import pytest

from radlab.data import chest_phantoms, load_medmnist
from radlab.data import chest_tasks as ct
from radlab.data import medmnist as mm
from radlab.errors import ChecksumError, DataFormatError

SMALL = {"train": 60, "val": 20, "test": 24}


def _official_file(tmp_path, monkeypatch, flag: str, counts=SMALL, seed: int = 0):
    """A small file in the official format, registered as the published one in the data dir."""
    info = mm.MEDMNIST[flag]
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in counts.items():
        arrays[f"{split}_images"] = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        if info.multi_label:
            labels = rng.integers(0, 2, (n, len(info.labels)))
        else:
            labels = (np.arange(n) % 4 != 0)[:, None]  # 75 % class 1, both classes
        arrays[f"{split}_labels"] = labels.astype(np.uint8)
    path = tmp_path / f"{flag}.npz"
    np.savez_compressed(path, **arrays)
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    table = dict(mm.REGISTRY)
    table[flag] = replace(mm.REGISTRY[flag], checksum=f"md5:{md5}")
    monkeypatch.setattr(mm, "REGISTRY", table)
    return path, arrays


# -- PneumoniaMNIST, or phantoms ---------------------------------------------------------
def test_auto_uses_the_npz_in_the_data_dir(tmp_path, monkeypatch):
    path, arrays = _official_file(tmp_path, monkeypatch, "pneumoniamnist")
    data = ct.pneumonia_data(data_dir=tmp_path)
    assert not data.is_synthetic and not data.multi_label and data.path == path
    assert data.source.startswith("PneumoniaMNIST (official, 28 px) from ") and str(path) in data.source
    np.testing.assert_array_equal(data.x_test, arrays["test_images"])
    np.testing.assert_array_equal(data.y_train, arrays["train_labels"])
    assert data.label_names == ("normal", "pneumonia")
    assert ct.pneumonia_data(source="medmnist", data_dir=tmp_path).path == path
    assert ct.pneumonia_data(source="synthetic", data_dir=tmp_path, n_train=20, n_val=10,
                             n_test=10).is_synthetic


def test_a_subset_of_the_real_file_is_stratified_and_named(tmp_path, monkeypatch):
    _official_file(tmp_path, monkeypatch, "pneumoniamnist")
    data = ct.pneumonia_data(data_dir=tmp_path, n_train=20, seed=3)
    assert data.x_train.shape == (20, 28, 28) and len(data.x_val) == SMALL["val"]
    assert data.prevalence("train")[0] == pytest.approx(0.75)
    assert "random subset: train 20 of 60" in data.source
    again = ct.pneumonia_data(data_dir=tmp_path, n_train=20, seed=3)
    np.testing.assert_array_equal(again.x_train, data.x_train)


def test_auto_falls_back_to_phantoms_in_the_official_format(tmp_path):
    data = ct.pneumonia_data(data_dir=tmp_path, n_train=40, n_val=20, n_test=16)
    assert data.is_synthetic and data.path is None
    assert "synthetic pneumonia phantoms" in data.source and "64 px resized to 28" in data.source
    for split, n in {"train": 40, "val": 20, "test": 16}.items():
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        assert x.shape == (n, 28, 28) and x.dtype == np.uint8
        assert y.shape == (n, 1) and y.dtype == np.uint8 and set(np.unique(y)) == {0, 1}
        assert x.max() > 200 and x.min() < 60, "the full grey range is used"
    # PneumoniaMNIST's class shares: 74 % pneumonia in train and val, 62.5 % in test
    assert data.prevalence("train")[0] == pytest.approx(30 / 40)
    assert data.prevalence("test")[0] == pytest.approx(10 / 16)
    # different patients in each split
    assert not np.array_equal(data.x_train[:16], data.x_test)


def test_medmnist_without_the_file_raises_the_loaders_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="radlab fetch pneumoniamnist"):
        ct.pneumonia_data(source="medmnist", data_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="radlab fetch chestmnist"):
        ct.chest_multilabel_data(source="medmnist", data_dir=tmp_path)


def test_a_wrong_file_is_an_error_not_a_silent_fallback(tmp_path, monkeypatch):
    (tmp_path / "pneumoniamnist.npz").write_bytes(b"not a zip file")
    with pytest.raises(ChecksumError, match="is not the published pneumoniamnist.npz"):
        ct.pneumonia_data(data_dir=tmp_path)
    bad = tmp_path / "elsewhere.npz"
    np.savez(bad, train_images=np.zeros((4, 28, 28), np.float32))
    with pytest.raises(DataFormatError, match="lacks the arrays"):
        ct.pneumonia_data(path=bad)
    with pytest.raises(ValueError, match="path= is a PneumoniaMNIST file"):
        ct.pneumonia_data(source="synthetic", path=bad)


def test_same_seed_same_data_other_seed_other_data(tmp_path):
    kwargs = dict(n_train=20, n_val=10, n_test=10, data_dir=tmp_path)
    a, b = ct.pneumonia_data(seed=1, **kwargs), ct.pneumonia_data(seed=1, **kwargs)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_train, ct.pneumonia_data(seed=2, **kwargs).x_train)


def test_written_file_loads_as_pneumoniamnist_and_matches_the_arrays(tmp_path):
    counts = {"train": 12, "val": 8, "test": 8}
    path = ct.write_synthetic_pneumoniamnist(tmp_path / "sub" / "pneumoniamnist.npz", counts,
                                             seed=4, prevalence=0.5)
    loaded = load_medmnist("pneumoniamnist", path=path)
    arrays = ct.synthetic_pneumoniamnist(counts, seed=4, prevalence=0.5)
    np.testing.assert_array_equal(loaded.x_val, arrays["val_images"])
    np.testing.assert_array_equal(loaded.y_train, arrays["train_labels"])
    assert loaded.y_train.mean() == pytest.approx(0.5)
    with pytest.raises(ValueError, match=".npz"):
        ct.write_synthetic_pneumoniamnist(tmp_path / "x.npy", counts)


def test_the_split_seeds_match_the_benchmarks_recipe():
    """Split k is chest_phantoms(seed + 101 k) at 64 px, shrunk to 28 px (the bench's numbers)."""
    from skimage.transform import resize

    arrays = ct.synthetic_pneumoniamnist({"train": 6, "val": 6, "test": 6}, seed=2, prevalence=0.5)
    films = chest_phantoms(6, size=64, seed=2 + 202, prevalence=0.5)
    expected = np.clip(np.round(resize(films.images, (6, 28, 28), anti_aliasing=True) * 255), 0, 255)
    np.testing.assert_array_equal(arrays["test_images"], expected.astype(np.uint8))
    np.testing.assert_array_equal(arrays["test_labels"][:, 0], films.labels)


@pytest.mark.parametrize("kwargs, match", [
    ({"source": "kaggle"}, "source must be one of"),
    ({"size": 16}, "size must be an integer"),
    ({"n_train": 1}, r"counts\['train'\] must be an integer >= 2"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ct.pneumonia_data(**kwargs)


# -- ChestMNIST, or multi-label phantoms -----------------------------------------------------
def test_multilabel_auto_uses_chestmnist_when_present(tmp_path, monkeypatch):
    path, arrays = _official_file(tmp_path, monkeypatch, "chestmnist")
    data = ct.chest_multilabel_data(data_dir=tmp_path, n_train=30)
    assert not data.is_synthetic and data.multi_label
    assert data.y_train.shape == (30, 14) and len(data.label_names) == 14
    assert data.label_names[1] == "cardiomegaly"
    assert "ChestMNIST (official, 28 px, 14 findings)" in data.source
    np.testing.assert_array_equal(data.y_test, arrays["test_labels"])


@pytest.fixture(scope="module")
def multilabel():
    return ct.chest_multilabel_data(source="synthetic", n_train=400, n_val=40, n_test=40, seed=5)


def test_synthetic_multilabel_shapes_names_and_honest_source(multilabel):
    data = multilabel
    assert data.is_synthetic and data.multi_label
    assert data.label_names == ("cardiomegaly", "mass", "nodule", "pneumonia")
    assert set(data.label_names) <= set(mm.MEDMNIST["chestmnist"].labels)
    assert "4 of ChestMNIST's 14 findings" in data.source
    for split, n in {"train": 400, "val": 40, "test": 40}.items():
        y = getattr(data, f"y_{split}")
        assert getattr(data, f"x_{split}").shape == (n, 28, 28) and y.shape == (n, 4) and y.dtype == np.uint8
        assert (y.min(axis=0) == 0).all() and (y.max(axis=0) == 1).all(), f"both classes per finding in {split}"
    expected = [info["prevalence"] for info in ct.CHEST_MULTILABEL_FINDINGS.values()]
    np.testing.assert_allclose(data.prevalence("train"), expected)


def test_synthetic_findings_are_independent(multilabel):
    y = multilabel.y_train.astype(float)
    correlation = np.corrcoef(y.T)[np.triu_indices(4, 1)]
    assert np.abs(correlation).max() < 0.15  # |phi| of independent labels, n = 400: SD ~0.05
    # every combination shows up: films with two or more findings, and films with none
    counts = y.sum(axis=1)
    assert (counts == 0).any() and (counts >= 2).sum() > 40


def test_each_finding_changes_the_film_where_the_phantom_says():
    """A film with no finding is the plain phantom; each finding adds its own change."""
    arrays = ct.synthetic_chest_multilabel({"train": 40, "val": 2, "test": 2}, size=64, seed=1)
    x, y = arrays["train_images"].astype(int), arrays["train_labels"]
    shares = [info["prevalence"] for info in ct.CHEST_MULTILABEL_FINDINGS.values()]
    labels, heart = ct._multilabel_plan(40, shares, 1, 0)
    np.testing.assert_array_equal(labels, y)
    assert (heart[y[:, 0] == 1] >= 1.3).all() and (heart[y[:, 0] == 0] <= 1.12).all()
    plain = chest_phantoms(40, size=64, seed=1 + 1000, finding=None, heart_size=heart).images
    plain = np.round(plain * 255).astype(int)
    none = y.sum(axis=1) == 0
    np.testing.assert_array_equal(x[none], plain[none])
    only_lesion = (y[:, 0] == 0) & (y[:, 1:].sum(axis=1) == 1)
    assert only_lesion.any()
    changed = np.abs(x[only_lesion] - plain[only_lesion]).max(axis=(1, 2))
    assert (changed > 10).all(), "a lesion visibly changes its film"


def test_cardiomegaly_films_have_bigger_hearts():
    arrays = ct.synthetic_chest_multilabel({"train": 60, "val": 2, "test": 2}, size=64, seed=2)
    y = arrays["train_labels"][:, 0]
    # the left heart border (image right, lower half) moves out into the dark lung: brighter there
    border = arrays["train_images"][:, 36:46, 48:56].astype(float).mean(axis=(1, 2))
    assert border[y == 1].mean() > border[y == 0].mean() + 15


def test_multilabel_prevalence_can_be_set_and_is_checked():
    arrays = ct.synthetic_chest_multilabel({"train": 20, "val": 4, "test": 4}, prevalence={"mass": 0.5})
    assert arrays["train_labels"][:, 1].mean() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="unknown finding"):
        ct.synthetic_chest_multilabel({"train": 20, "val": 4, "test": 4}, prevalence={"effusion": 0.2})
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        ct.synthetic_chest_multilabel({"train": 20, "val": 4, "test": 4}, prevalence={"mass": 1.0})


# -- chest_phantoms(heart_size=...) --------------------------------------------------------
def test_heart_size_option_keeps_everything_else_and_enlarges_the_heart():
    default = chest_phantoms(8, size=64, seed=3, finding=None)
    same = chest_phantoms(8, size=64, seed=3, finding=None, heart_size=(0.9, 1.12))
    np.testing.assert_array_equal(default.images, same.images)  # the normal range, rescaled to itself
    assert same.params["heart_size"] == (0.9, 1.12) and default.params["heart_size"] == "normal"
    big = chest_phantoms(8, size=64, seed=3, finding=None, heart_size=1.5)
    assert (big.lung_masks.sum(axis=(1, 2)) < default.lung_masks.sum(axis=(1, 2))).all(), \
        "a bigger heart leaves less lung"
    per_image = np.linspace(0.8, 1.6, 8)
    films = chest_phantoms(8, size=64, seed=3, finding=None, heart_size=per_image)
    one = chest_phantoms(8, size=64, seed=3, finding=None, heart_size=float(per_image[-1]))
    np.testing.assert_array_equal(films.images[-1], one.images[-1])  # each film gets its own factor
    assert not np.array_equal(films.images[0], one.images[0])


@pytest.mark.parametrize("value, match", [
    (2.0, "heart_size must lie in"),
    ((1.2, 1.0), "heart_size must lie in"),
    (np.ones(3), r"one number per image, shape \(8,\)"),
    (np.full(8, 0.5), r"must lie in \[0.7, 1.7\]"),
    ("big", "heart_size must be a number or a"),
])
def test_heart_size_errors(value, match):
    with pytest.raises(ValueError, match=match):
        chest_phantoms(8, size=64, heart_size=value)
