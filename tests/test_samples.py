"""Real offline samples from pydicom and pydicom-data."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

import radlab.data.samples as samples_module
from radlab.data.samples import SAMPLES, sample, sample_path
from radlab.imaging import Image
from radlab.errors import ImageNotFoundError

# name -> (modality, shape, units, spacing or None when the header has none)
EXPECTED = {
    "ct_small": ("CT", (128, 128), "HU", (0.661468, 0.661468)),
    "mr_small": ("MR", (64, 64), "raw", (0.3125, 0.3125)),
    "mr_abdomen": ("MR", (484, 484), "raw", (0.72314, 0.72314)),
    "chest_xray": ("CR", (1955, 1841), "raw", None),
    "leg_xray": ("CR", (1760, 1760), "raw", None),
    "head_ct": ("CT", (512, 512), "HU", (0.478516, 0.478516)),
    "shoulder_mr": ("MR", (1024, 1024), "raw", (0.195313, 0.195313)),
    "mr_volume": ("MR", (10, 64, 64), "raw", None),
}


@pytest.fixture(autouse=True)
def _no_downloads(monkeypatch):
    """Any attempt by pydicom to download a file fails the test."""
    import pydicom.data.data_manager as manager

    def refuse(*args, **kwargs):
        raise AssertionError("a sample tried to download a file")

    monkeypatch.setattr(manager, "data_path_with_download", refuse)


def test_registry_matches_expectations():
    assert set(SAMPLES) == set(EXPECTED)
    for name, info in SAMPLES.items():
        assert info.description and info.source and info.licence, name
        assert info.package in ("pydicom", "pydicom-data")
        assert info.modality == EXPECTED[name][0]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_sample_loads_offline(name):
    modality, shape, units, spacing = EXPECTED[name]
    image = sample(name)
    assert isinstance(image, Image)
    assert image.modality == modality and image.shape == shape and image.units == units
    assert image.dtype == np.float32 and np.isfinite(image.array).all()
    if spacing is None:
        assert image.meta["spacing_known"] is False
    else:
        assert image.spacing[-2:] == pytest.approx(spacing, rel=1e-5)
    assert image.meta["sample"] == name
    # no identifiers in meta: the files' patient names must not leak
    header = pydicom.dcmread(sample_path(name), stop_before_pixels=True)
    patient = str(header.get("PatientName", "") or "")
    if patient:
        assert patient not in repr(image.meta)


def test_ct_values_are_hounsfield_units():
    head = sample("head_ct").array
    inside = head[head > -2000]  # outside the scan field is padded with -3024
    assert np.mean((inside > -1100) & (inside < -900)) > 0.3  # air around the head
    assert 0 < np.median(head[200:300, 200:300]) < 100  # brain
    chest = sample("ct_small").array
    assert np.mean(chest < -700) > 0.1  # lung
    soft = chest[(chest > -200) & (chest < 200)]
    assert 0 < np.median(soft) < 100  # soft tissue


def test_radiographs_are_inverted_so_bone_is_white():
    chest = sample("chest_xray")
    assert chest.meta["inverted"] is True
    raw = pydicom.dcmread(sample_path("chest_xray")).pixel_array.astype(np.float32)
    np.testing.assert_array_equal(chest.array, (2**15 - 1) - raw)  # 15 bits stored
    rows, cols = chest.shape
    band = slice(int(0.3 * rows), int(0.6 * rows))
    mediastinum = chest.array[band, int(0.47 * cols):int(0.53 * cols)].mean()
    lung = chest.array[band, int(0.25 * cols):int(0.32 * cols)].mean()
    assert mediastinum > lung  # the air-filled lung is darker than the mediastinum
    assert sample("leg_xray").meta["inverted"] is True


def test_volume_sample():
    volume = sample("mr_volume")
    assert volume.is_volume and volume.spacing[0] == pytest.approx(1.2)


def test_samples_are_copies():
    first = sample("ct_small")
    first.array[:] = 0
    first.meta["image_type"].append("CHANGED")
    second = sample("ct_small")
    assert second.array.max() > 0
    assert "CHANGED" not in second.meta["image_type"]


def test_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match="chest_xray") as info:
        sample("knee_mri")
    assert "knee_mri" in str(info.value)


def test_missing_file_says_which_package_to_install(monkeypatch):
    monkeypatch.setattr("pydicom.data.get_testdata_file", lambda name, download=True: None)
    samples_module._load.cache_clear()
    try:
        with pytest.raises(ImageNotFoundError, match="pip install pydicom-data"):
            sample("chest_xray")
    finally:
        samples_module._load.cache_clear()
