"""DICOM reading: values, geometry, series sorting, irregular series and bad input."""

from __future__ import annotations

import random
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image as PILImage
from pydicom.pixels import get_decoder

from _imaging_fixtures import (
    FAKE_ID, FAKE_NAME, bundled, make_dataset, write, write_series,
)
from radlab.errors import ImageReadError, SeriesWarning
from radlab.imaging import Image, read_dicom, read_image, read_series
from radlab.errors import ImageNotFoundError


# ---------------------------------------------------------------------------
# single files
# ---------------------------------------------------------------------------
def test_ct_small_is_hu_with_geometry():
    image = read_dicom(bundled("CT_small.dcm"))
    raw = pydicom.dcmread(bundled("CT_small.dcm"))
    assert isinstance(image, Image)
    assert image.shape == (128, 128) and image.dtype == np.float32
    assert image.units == "HU" and image.modality == "CT"
    # HU = stored * slope + intercept (slope 1, intercept -1024 in this file)
    np.testing.assert_array_equal(image.array, raw.pixel_array.astype(np.float32) - 1024)
    assert image.spacing == pytest.approx((0.661468, 0.661468))
    assert image.origin == pytest.approx((-158.135803, -179.035797, -75.699997))
    np.testing.assert_allclose(image.orientation, np.eye(3), atol=1e-6)
    assert image.meta["transfer_syntax"] == "Explicit VR Little Endian"
    assert image.meta["rows"] == 128 and image.meta["bits_stored"] == 16
    assert image.meta["inverted"] is False


def test_meta_never_holds_identifiers(tmp_path):
    path = write(make_dataset(), tmp_path / "ct.dcm")
    image = read_dicom(path)
    text = repr(image.meta) + repr(image)
    for secret in (FAKE_NAME, FAKE_ID, "Lovelace", "St. Example", "ACC-99812", "19361210"):
        assert secret not in text
    assert image.meta["series_description"] == "AXIAL 2.5 mm"


def test_window_first_value_and_units_raw_for_mr():
    image = read_dicom(bundled("MR_small.dcm"))
    assert image.units == "raw" and image.modality == "MR"
    assert image.window == (600.0, 1600.0)
    multi = read_dicom(pydicom.data.get_testdata_file(
        "MR-SIEMENS-DICOM-WithOverlays.dcm", download=False))
    assert multi.window == (450.0, 790.0)  # header holds [450, 200] / [790, 443]


def test_rescale_slope_and_intercept_are_applied(tmp_path):
    hu = np.array([[-1000.0, 0.0], [40.0, 1000.0]])
    path = write(make_dataset(hu, slope=2.0, intercept=-2048.0), tmp_path / "s.dcm")
    image = read_dicom(path)
    np.testing.assert_array_equal(image.array, hu.astype(np.float32))
    assert image.units == "HU" and image.meta["rescale_applied"] is True


def test_monochrome1_is_inverted_with_its_window(tmp_path):
    stored = np.array([[0, 100], [2000, 4095]], dtype=np.uint16)
    ds = make_dataset(modality="DX", photometric="MONOCHROME1", bits_stored=12, signed=False,
                      slope=1.0, intercept=0.0, hu=stored,
                      extra={"WindowCenter": 1000, "WindowWidth": 500})
    del ds.RescaleSlope, ds.RescaleIntercept
    image = read_dicom(write(ds, tmp_path / "m1.dcm"))
    np.testing.assert_array_equal(image.array, 4095 - stored.astype(np.float32))
    assert image.meta["inverted"] is True and "MONOCHROME1" in image.meta["inversion"]
    assert image.window == (3095.0, 500.0)
    assert image.units == "raw"


def test_imager_pixel_spacing_is_used_and_noted(tmp_path):
    ds = make_dataset(modality="DX", pixel_spacing=None, iop=None, z=None,
                      extra={"ImagerPixelSpacing": [0.143, 0.143]})
    image = read_dicom(write(ds, tmp_path / "dx.dcm"))
    assert image.spacing == pytest.approx((0.143, 0.143))
    assert image.meta["spacing_source"] == "ImagerPixelSpacing"
    assert "detector" in image.meta["spacing_note"]


def test_missing_spacing_is_flagged(tmp_path):
    ds = make_dataset(pixel_spacing=None)
    image = read_dicom(write(ds, tmp_path / "nospacing.dcm"))
    assert image.spacing == (1.0, 1.0)
    assert image.meta["spacing_known"] is False


def test_multiframe_volume_from_pydicom_data():
    path = pydicom.data.get_testdata_file("emri_small.dcm", download=False)
    if path is None:
        pytest.skip("pydicom-data not installed")
    image = read_dicom(path)
    assert image.is_volume and image.shape == (10, 64, 64)
    assert image.spacing[0] == pytest.approx(1.2)  # SpacingBetweenSlices
    assert image.meta["z_spacing_source"] == "SpacingBetweenSlices"


def _enhanced(frames_z, stored):
    """A multi-frame data set with per-frame positions (given out of order)."""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    ds = make_dataset(np.zeros((6, 6)), intercept=0.0, iop=None, z=None)
    del ds.RescaleSlope, ds.RescaleIntercept, ds.PixelSpacing
    ds.set_pixel_data(stored, "MONOCHROME2", 16)
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    shared = Dataset()
    measures = Dataset()
    measures.PixelSpacing = [0.5, 0.5]
    measures.SliceThickness = 9.0
    orient = Dataset()
    orient.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    transform = Dataset()
    transform.RescaleSlope, transform.RescaleIntercept = 1.0, -1024.0
    shared.PixelMeasuresSequence = Sequence([measures])
    shared.PlaneOrientationSequence = Sequence([orient])
    shared.PixelValueTransformationSequence = Sequence([transform])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    per_frame = []
    for z in frames_z:
        item, plane = Dataset(), Dataset()
        plane.ImagePositionPatient = [0.0, 0.0, z]
        item.PlanePositionSequence = Sequence([plane])
        per_frame.append(item)
    ds.PerFrameFunctionalGroupsSequence = Sequence(per_frame)
    return ds


def test_enhanced_multiframe_sorted_by_frame_position(tmp_path):
    # 6x6, not 4x4: Image treats a last axis of 3 or 4 as colour channels
    stored = np.stack([np.full((6, 6), 1024 + v, dtype=np.int16) for v in (30, 10, 20)])
    ds = _enhanced([30.0, 10.0, 20.0], stored)  # frames stored out of order
    image = read_dicom(write(ds, tmp_path / "enh.dcm"))
    assert image.shape == (3, 6, 6)
    np.testing.assert_array_equal(image.array[:, 0, 0], [10.0, 20.0, 30.0])  # HU, sorted
    assert image.spacing == pytest.approx((10.0, 0.5, 0.5))  # from positions, not thickness
    assert image.origin == pytest.approx((0.0, 0.0, 10.0))
    assert image.units == "HU"


def test_colour_dicom_stays_rgb():
    path = pydicom.data.get_testdata_file("US1_UNCR.dcm", download=False)
    if path is None:
        pytest.skip("pydicom-data not installed")
    image = read_dicom(path)
    assert image.is_rgb and image.shape == (480, 640, 3) and image.dtype == np.uint8


def test_compressed_decodes_when_a_plugin_is_installed():
    if not get_decoder(pydicom.uid.JPEG2000Lossless).is_available:
        pytest.skip("no JPEG 2000 decoder (Pillow with OpenJPEG) installed")
    lossless = read_dicom(bundled("MR_small_jp2klossless.dcm"))
    plain = read_dicom(bundled("MR_small.dcm"))
    np.testing.assert_array_equal(lossless.array, plain.array)


def test_compressed_without_decoder_names_the_pip_package():
    if get_decoder(pydicom.uid.JPEGLSLossless).is_available:
        pytest.skip("a JPEG-LS decoder is installed here")
    path = bundled("MR_small_jpeg_ls_lossless.dcm")
    with pytest.raises(ImageReadError) as info:
        read_dicom(path)
    message = str(info.value)
    assert path in message
    assert "JPEG-LS Lossless" in message
    assert "pip install pylibjpeg pylibjpeg-libjpeg" in message


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------
def test_truncated_pixel_data(tmp_path):
    data = Path(bundled("CT_small.dcm")).read_bytes()
    path = tmp_path / "cut.dcm"
    path.write_bytes(data[: len(data) - 5000])
    with pytest.raises(ImageReadError, match="truncated") as info:
        read_dicom(path)
    assert str(path) in str(info.value) and "copy" in str(info.value)


def test_truncated_header_reports_missing_pixels(tmp_path):
    data = Path(bundled("CT_small.dcm")).read_bytes()
    path = tmp_path / "cut_early.dcm"
    path.write_bytes(data[:2000])
    with pytest.raises(ImageReadError, match="without pixel data") as info:
        read_dicom(path)
    assert str(path) in str(info.value) and "cut short" in str(info.value)


def test_dicom_without_pixel_data(tmp_path):
    ds = make_dataset()
    del ds.PixelData
    path = write(ds, tmp_path / "nopixels.dcm")
    with pytest.raises(ImageReadError, match="without pixel data") as info:
        read_dicom(path)
    assert str(path) in str(info.value) and "Fix" in str(info.value)


def test_not_a_dicom_file(tmp_path):
    path = tmp_path / "notes.dcm"
    path.write_text("patient seen on Tuesday\n" * 20)
    with pytest.raises(ImageReadError, match="not a DICOM file") as info:
        read_dicom(path)
    assert str(path) in str(info.value)


def test_missing_file_names_the_path(tmp_path):
    path = tmp_path / "nowhere" / "scan.dcm"
    with pytest.raises(FileNotFoundError) as info:
        read_dicom(path)
    assert isinstance(info.value, ImageReadError) and isinstance(info.value, ImageNotFoundError)
    assert str(path) in str(info.value)


def test_bare_dataset_without_preamble_is_read(tmp_path):
    ds = make_dataset(np.full((6, 6), 40.0))
    del ds.file_meta
    ds.preamble = None
    path = tmp_path / "old.dcm"
    pydicom.dcmwrite(path, ds, implicit_vr=True, little_endian=True)
    assert path.read_bytes()[128:132] != b"DICM"
    image = read_dicom(path)
    assert image.units == "HU" and float(image.array.max()) == 40.0
    assert image.meta["transfer_syntax"] == "Implicit VR Little Endian"


def test_folder_given_to_read_dicom_points_to_read_series(tmp_path):
    with pytest.raises(ImageReadError, match="read_series"):
        read_dicom(tmp_path)


# ---------------------------------------------------------------------------
# series
# ---------------------------------------------------------------------------
def test_series_sorted_by_position_not_file_name(tmp_path):
    z = [10.0, 12.5, 15.0, 17.5, 20.0]
    names = ["e.dcm", "a.dcm", "d.dcm", "b.dcm", "c.dcm"]  # alphabetical != spatial
    order = list(range(5))
    random.Random(0).shuffle(order)
    write_series(tmp_path, [z[i] for i in order], names=names)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SeriesWarning)
        volume = read_series(tmp_path)
    assert volume.shape == (5, 16, 16) and volume.units == "HU"
    # slice written as number i holds 100*i HU; sorted by z it must follow `order`
    expected = [100.0 * order.index(k) for k in range(5)]
    np.testing.assert_array_equal(volume.array[:, 5, 5], expected)
    assert volume.spacing == pytest.approx((2.5, 0.7, 0.8))
    assert volume.origin == pytest.approx((-50.0, -60.0, 10.0))
    assert volume.array[0, 0, 0] == -1000.0
    assert volume.meta["sorted_by"] == "position along the slice normal"


def test_series_uses_the_slice_normal_for_oblique_planes(tmp_path):
    # Sagittal slices: rows along +y, columns along -z, so the normal is along -x.
    iop = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)
    xs = [0.0, -3.0, -6.0, -9.0]  # moving along the normal (-x) means decreasing x
    for i, x in enumerate([xs[2], xs[0], xs[3], xs[1]]):
        ds = make_dataset(np.full((8, 8), 10.0 * i), iop=iop, position=(x, 5.0, 7.0), instance=i)
        write(ds, tmp_path / f"{i}.dcm")
    volume = read_series(tmp_path)
    np.testing.assert_allclose(volume.orientation[2], [-1.0, 0.0, 0.0], atol=1e-9)
    assert volume.spacing[0] == pytest.approx(3.0)
    # written values by x: x=-6 -> 0, 0 -> 10, -9 -> 20, -3 -> 30; along -x: 0, -3, -6, -9
    np.testing.assert_array_equal(volume.array[:, 0, 0], [10.0, 30.0, 0.0, 20.0])
    assert volume.origin[0] == pytest.approx(0.0)


def test_series_gap_warns_with_location_and_keeps_volume(tmp_path):
    write_series(tmp_path, [0.0, 2.0, 4.0, 8.0, 10.0])  # 6.0 is missing
    with pytest.warns(SeriesWarning, match="gap") as record:
        volume = read_series(tmp_path)
    message = str(record[0].message)
    assert "slice 2" in message and "slice 3" in message
    assert "4.00 mm" in message and "8.00 mm" in message
    assert volume.shape[0] == 5 and volume.spacing[0] == pytest.approx(2.0)


def test_series_with_repeated_positions_warns(tmp_path):
    write_series(tmp_path, [0.0, 2.0, 2.0, 4.0])  # e.g. two echoes at one position
    with pytest.warns(SeriesWarning, match="share a position"):
        volume = read_series(tmp_path)
    assert volume.shape[0] == 4 and volume.spacing[0] == pytest.approx(2.0)


def test_series_mixed_sizes_skips_the_odd_slice(tmp_path):
    write_series(tmp_path, [0.0, 2.0, 4.0, 6.0])
    write(make_dataset(np.zeros((8, 8)), z=-30.0, instance=99), tmp_path / "scout.dcm")
    with pytest.warns(SeriesWarning, match="differ in size") as record:
        volume = read_series(tmp_path)
    assert "scout.dcm" in str(record[0].message)
    assert volume.shape == (4, 16, 16)


def test_several_series_need_a_choice(tmp_path):
    write_series(tmp_path, [0.0, 2.0, 4.0], series_uid="1.2.3.100",
                 extra={"SeriesDescription": "lung kernel"})
    write_series(tmp_path, [0.0, 5.0], names=["x1.dcm", "x2.dcm"], series_uid="1.2.3.200",
                 extra={"SeriesDescription": "soft kernel"})
    with pytest.raises(ImageReadError) as info:
        read_series(tmp_path)
    message = str(info.value)
    assert "1.2.3.100" in message and "1.2.3.200" in message
    assert "3 file(s)" in message and "2 file(s)" in message
    assert "lung kernel" in message and "series_uid=" in message
    assert FAKE_NAME not in message and FAKE_ID not in message
    chosen = read_series(tmp_path, series_uid="1.2.3.200")
    assert chosen.shape == (2, 16, 16) and chosen.spacing[0] == pytest.approx(5.0)
    with pytest.raises(ImageReadError, match="no series"):
        read_series(tmp_path, series_uid="9.9.9")


def test_series_without_positions_falls_back_to_instance_number(tmp_path):
    for i, name in enumerate(["c.dcm", "a.dcm", "b.dcm"]):
        ds = make_dataset(np.full((6, 6), 100.0 * i), instance=i + 1, z=None)  # no position
        write(ds, tmp_path / name)
    with pytest.warns(SeriesWarning, match="InstanceNumber"):
        volume = read_series(tmp_path)
    np.testing.assert_array_equal(volume.array[:, 0, 0], [0.0, 100.0, 200.0])
    assert volume.spacing[0] == pytest.approx(2.5)  # SliceThickness from the header
    assert volume.meta["sorted_by"] == "InstanceNumber"


def test_series_skips_non_dicom_files(tmp_path):
    write_series(tmp_path, [0.0, 1.0, 2.0])
    (tmp_path / "notes.txt").write_text("series exported from PACS")
    (tmp_path / ".DS_Store").write_bytes(b"\0\1")
    with pytest.warns(SeriesWarning, match="notes.txt"):
        volume = read_series(tmp_path)
    assert volume.shape[0] == 3
    assert volume.meta["skipped_files"] == ["notes.txt"]


def test_series_from_a_list_of_files(tmp_path):
    paths = write_series(tmp_path, [4.0, 0.0, 2.0])
    volume = read_series(paths[::-1])
    np.testing.assert_array_equal(volume.array[:, 5, 5], [100.0, 200.0, 0.0])


def test_series_errors_for_empty_and_picture_folders(tmp_path):
    with pytest.raises(ImageReadError, match="no files"):
        read_series(tmp_path)
    PILImage.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "a.png")
    with pytest.raises(ImageReadError, match="read_image"):
        read_series(tmp_path)


# ---------------------------------------------------------------------------
# read_image dispatch
# ---------------------------------------------------------------------------
def test_read_image_dispatches(tmp_path):
    write_series(tmp_path / "series", [0.0, 3.0])
    assert read_image(tmp_path / "series").shape == (2, 16, 16)
    assert read_image(bundled("CT_small.dcm")).units == "HU"

    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    PILImage.fromarray(grey).save(tmp_path / "g.png")
    image = read_image(tmp_path / "g.png")
    assert image.dtype == np.float32 and image.units == "raw"
    np.testing.assert_array_equal(image.array, grey)
    assert image.spacing == (1.0, 1.0) and image.meta["spacing_known"] is False

    rgb = np.zeros((3, 4, 3), np.uint8)
    rgb[..., 0] = 200
    PILImage.fromarray(rgb).save(tmp_path / "c.jpg", quality=100)
    colour = read_image(tmp_path / "c.jpg")
    assert colour.is_rgb and colour.dtype == np.uint8

    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(ImageReadError, match="broken.png"):
        read_image(tmp_path / "broken.png")
    with pytest.raises(ImageNotFoundError):
        read_image(tmp_path / "missing.png")
