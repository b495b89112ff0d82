"""MedMNIST loading and validation, on small files written in the official format."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from radlab.data import medmnist as mm
from radlab.data.medmnist import MEDMNIST, MedMNISTData, load_medmnist
from radlab.data.registry import REGISTRY
from radlab.errors import ChecksumError, DataFormatError

COUNTS = {"train": 6, "val": 3, "test": 4}


def make_arrays(flag: str, size: int = 28, counts=COUNTS, seed: int = 0) -> dict:
    """Arrays with MedMNIST's keys, dtypes and shapes for ``flag``."""
    info = MEDMNIST[flag]
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in counts.items():
        shape = (n,) + (size,) * info.ndim + ((3,) if info.n_channels == 3 else ())
        arrays[f"{split}_images"] = rng.integers(0, 256, shape, dtype=np.uint8)
        if info.multi_label:
            labels = rng.integers(0, 2, (n, len(info.labels)))
        else:
            labels = rng.integers(0, len(info.labels), (n, 1))
        arrays[f"{split}_labels"] = labels.astype(np.uint8)
    return arrays


def write(path: Path, arrays: dict) -> Path:
    np.savez_compressed(path, **arrays)
    return path


@pytest.mark.parametrize("flag", sorted(MEDMNIST))
def test_loads_every_flag_from_a_path(tmp_path, flag):
    arrays = make_arrays(flag)
    data = load_medmnist(flag, path=write(tmp_path / f"{flag}.npz", arrays))
    assert isinstance(data, MedMNISTData)
    assert data.size == 28
    for split, n in COUNTS.items():
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        np.testing.assert_array_equal(x, arrays[f"{split}_images"])
        np.testing.assert_array_equal(y, arrays[f"{split}_labels"])
        assert x.dtype == np.uint8 and len(x) == len(y) == n


def test_multilabel_chestmnist_and_3d_nodules(tmp_path):
    chest = load_medmnist("ChestMNIST", path=write(tmp_path / "c.npz", make_arrays("chestmnist")))
    assert chest.y_train.shape == (6, 14)
    assert chest.label_names[1] == "cardiomegaly" and len(chest.label_names) == 14
    nodules = load_medmnist("nodulemnist3d",
                            path=write(tmp_path / "n.npz", make_arrays("nodulemnist3d")))
    assert nodules.x_test.shape == (4, 28, 28, 28)
    assert nodules.y_test.shape == (4, 1)


def test_size_comes_from_the_file_or_is_checked(tmp_path):
    path = write(tmp_path / "p64.npz", make_arrays("pneumoniamnist", size=64))
    assert load_medmnist("pneumoniamnist", path=path).size == 64
    assert load_medmnist("pneumoniamnist", path=path, size=64).x_val.shape == (3, 64, 64)
    with pytest.raises(DataFormatError, match="64 pixels a side, but 28 from the size argument"):
        load_medmnist("pneumoniamnist", path=path, size=28)


def test_a_size_medmnist_does_not_publish_is_rejected(tmp_path):
    path = write(tmp_path / "p32.npz", make_arrays("pneumoniamnist", size=32))
    with pytest.raises(DataFormatError, match=r"comes in \[28, 64, 128, 224\]"):
        load_medmnist("pneumoniamnist", path=path)
    with pytest.raises(ValueError, match="sizes"):
        load_medmnist("nodulemnist3d", size=128, path=path)


def test_one_split_only(tmp_path):
    data = load_medmnist("breastmnist", split="test",
                         path=write(tmp_path / "b.npz", make_arrays("breastmnist")))
    assert data.x_test.shape == (4, 28, 28)
    assert data.x_train is None and data.y_val is None
    assert "test: x (4, 28, 28) uint8" in repr(data) and "train" not in repr(data)
    with pytest.raises(ValueError, match="split"):
        load_medmnist("breastmnist", split="validation", path=tmp_path / "b.npz")


def test_repr_is_short(tmp_path):
    data = load_medmnist("organamnist", path=write(tmp_path / "o.npz",
                                                   make_arrays("organamnist")))
    text = repr(data)
    assert "OrganAMNIST" in text and "multi-class" in text and len(text) < 400


def test_info_table_matches_medmnist():
    assert MEDMNIST["pneumoniamnist"].labels == ("normal", "pneumonia")
    assert MEDMNIST["pneumoniamnist"].task == "binary-class"
    chest = MEDMNIST["chestmnist"]
    assert chest.multi_label and chest.label_width == 14 and chest.labels[-1] == "hernia"
    assert MEDMNIST["organamnist"].labels[3] == "heart"
    assert MEDMNIST["nodulemnist3d"].ndim == 3 and MEDMNIST["nodulemnist3d"].sizes == (28, 64)
    assert MEDMNIST["chestmnist"].n_samples == {"train": 78468, "val": 11219, "test": 22433}
    for flag, info in MEDMNIST.items():
        for size in info.sizes:  # every loadable set has a registry entry
            assert f"{flag}{'' if size == 28 else f'_{size}'}" in REGISTRY
    with pytest.raises(ValueError, match="Unknown MedMNIST flag"):
        load_medmnist("dermamnist", path="x.npz")


# ------------------------------------------------------------- from the data directory


def test_missing_file_says_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        load_medmnist("chestmnist", size=64, data_dir=tmp_path)
    msg = str(err.value)
    assert "radlab fetch chestmnist_64" in msg
    assert "rl.data.fetch('chestmnist_64')" in msg
    assert str(tmp_path / "chestmnist_64.npz") in msg


def test_loads_a_verified_file_from_the_data_dir(tmp_path, monkeypatch):
    path = write(tmp_path / "pneumoniamnist.npz", make_arrays("pneumoniamnist"))
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    table = dict(REGISTRY)
    table["pneumoniamnist"] = replace(REGISTRY["pneumoniamnist"], checksum=f"md5:{md5}")
    monkeypatch.setattr(mm, "REGISTRY", table)
    data = load_medmnist("pneumoniamnist", data_dir=tmp_path)
    assert data.path == path and data.x_train.shape == (6, 28, 28)


def test_a_file_that_is_not_the_published_one_is_refused(tmp_path):
    write(tmp_path / "pneumoniamnist.npz", make_arrays("pneumoniamnist"))
    with pytest.raises(ChecksumError) as err:
        load_medmnist("pneumoniamnist", data_dir=tmp_path)
    msg = str(err.value)
    assert "28209eda62fecd6e6a2d98b1501bb15f" in msg and "path=" in msg
    assert (tmp_path / "pneumoniamnist.npz").exists()  # never deletes the user's file


def test_download_true_fetches(tmp_path, monkeypatch):
    calls = []

    def fake_fetch(name, *, data_dir=None, **kwargs):
        calls.append((name, data_dir))
        return write(Path(data_dir) / f"{name}.npz",
                     make_arrays("organsmnist", size=128, counts={"train": 2, "val": 1,
                                                                   "test": 1}))

    monkeypatch.setattr(mm, "fetch", fake_fetch)
    data = load_medmnist("organsmnist", size=128, data_dir=tmp_path, download=True)
    assert calls == [("organsmnist_128", tmp_path)]
    assert data.x_train.shape == (2, 128, 128)


# ------------------------------------------------------------------------ bad files


def corrupt(arrays: dict, **changes) -> dict:
    out = dict(arrays)
    for key, value in changes.items():
        if value is None:
            del out[key]
        else:
            out[key] = value
    return out


GOOD = make_arrays("pneumoniamnist")
BAD_CASES = {
    "missing key": (corrupt(GOOD, val_labels=None), r"lacks the arrays \['val_labels'\]"),
    "float images": (corrupt(GOOD, train_images=GOOD["train_images"].astype(np.float32)),
                     "dtype float32; MedMNIST images are uint8"),
    "float labels": (corrupt(GOOD, test_labels=GOOD["test_labels"].astype(np.float64)),
                     "labels are integers"),
    "count mismatch": (corrupt(GOOD, train_labels=GOOD["train_labels"][:5]),
                       "6 images but 5 labels"),
    "colour image": (corrupt(GOOD, val_images=np.zeros((3, 28, 28, 3), np.uint8)),
                     r"shape \(3, 28, 28, 3\).*\(n, s, s\)"),
    "not square": (corrupt(GOOD, val_images=np.zeros((3, 28, 27), np.uint8)),
                   "shape"),
    "flat labels": (corrupt(GOOD, train_labels=GOOD["train_labels"][:, 0]),
                    r"labels have shape \(n, 1\)"),
    "label out of range": (corrupt(GOOD, test_labels=np.full((4, 1), 2, np.uint8)),
                           "labels are 0..1"),
    "mixed sizes": (corrupt(GOOD, test_images=np.zeros((4, 64, 64), np.uint8)),
                    "64 pixels a side, but 28 from train_images"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_arrays_raise_data_format_error(tmp_path, case):
    arrays, pattern = BAD_CASES[case]
    path = write(tmp_path / "bad.npz", arrays)
    with pytest.raises(DataFormatError, match=pattern) as err:
        load_medmnist("pneumoniamnist", path=path)
    assert str(path) in str(err.value)


def test_chest_labels_need_14_columns(tmp_path):
    arrays = make_arrays("chestmnist")
    arrays["train_labels"] = arrays["train_labels"][:, :1]
    with pytest.raises(DataFormatError, match=r"\(n, 14\)"):
        load_medmnist("chestmnist", path=write(tmp_path / "c.npz", arrays))


def test_3d_set_needs_volumes(tmp_path):
    path = write(tmp_path / "n.npz", make_arrays("pneumoniamnist"))
    with pytest.raises(DataFormatError, match=r"\(n, s, s, s\)"):
        load_medmnist("nodulemnist3d", path=path)


def test_not_a_zip(tmp_path):
    path = tmp_path / "page.npz"
    path.write_text("<html>Proxy login required</html>")
    with pytest.raises(DataFormatError, match="not a readable MedMNIST .npz") as err:
        load_medmnist("pneumoniamnist", path=path)
    assert "radlab fetch pneumoniamnist" in str(err.value)


def test_truncated_file(tmp_path):
    full = write(tmp_path / "full.npz", GOOD).read_bytes()
    path = tmp_path / "cut.npz"
    path.write_bytes(full[: len(full) // 2])
    with pytest.raises(DataFormatError, match="truncated"):
        load_medmnist("pneumoniamnist", path=path)


def test_single_npy_array(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, GOOD["train_images"])
    with pytest.raises(DataFormatError, match="single array"):
        load_medmnist("pneumoniamnist", path=path)


def test_pickled_objects_are_never_loaded(tmp_path):
    arrays = corrupt(GOOD, train_labels=np.array([{"evil": 1}] * 6, dtype=object))
    path = tmp_path / "pickle.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataFormatError, match="pickle"):
        load_medmnist("pneumoniamnist", path=path)


def test_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="No MedMNIST file"):
        load_medmnist("pneumoniamnist", path=tmp_path / "nope.npz")
