"""NIfTI reading: RAS+ files become (z, y, x) arrays in LPS orientation."""

from __future__ import annotations

import gzip

import nibabel as nib
import numpy as np
import pytest

from radlab.errors import ImageReadError
from radlab.imaging import read_image, read_nifti
from radlab.errors import ImageNotFoundError

SHAPE = (5, 6, 7)  # i, j, k - all different, so a swapped axis cannot pass


def _asymmetric(shape=SHAPE) -> np.ndarray:
    i, j, k = np.indices(shape)
    return (i + 10 * j + 100 * k).astype(np.float32)


def _save(tmp_path, data, affine, name="vol.nii.gz", **header):
    img = nib.Nifti1Image(data, affine)
    for key, value in header.items():
        img.header[key] = value
    path = tmp_path / name
    nib.save(img, path)
    return path


def _world_lps(affine, ijk):
    ras = affine[:3, :3] @ np.asarray(ijk, dtype=float) + affine[:3, 3]
    return np.array([-ras[0], -ras[1], ras[2]])


def _lookup(image, lps):
    """Value of the radlab image at an LPS point (nearest voxel)."""
    spacing_xyz = np.array(image.spacing[::-1])
    steps = image.orientation @ (lps - np.array(image.origin)) / spacing_xyz
    x, y, z = np.rint(steps).astype(int)
    return image.array[z, y, x]


def test_ras_volume_becomes_lps_zyx(tmp_path):
    data = _asymmetric()
    affine = np.diag([2.0, 3.0, 4.0, 1.0])  # i -> R, j -> A, k -> S
    image = read_nifti(_save(tmp_path, data, affine))
    assert image.shape == (7, 6, 5)  # (k, j, i)
    assert image.spacing == pytest.approx((4.0, 3.0, 2.0))
    assert image.dtype == np.float32 and image.units == "raw"
    # i and j are flipped (R -> L, A -> P), k kept: array[z, y, x] = data[4 - x, 5 - y, z]
    z, y, x = 2, 1, 3
    assert image.array[z, y, x] == data[4 - x, 5 - y, z]
    np.testing.assert_allclose(image.orientation, np.eye(3), atol=1e-12)
    # voxel [0, 0, 0] is original voxel (4, 5, 0): RAS (8, 15, 0) -> LPS (-8, -15, 0)
    assert image.origin == pytest.approx((-8.0, -15.0, 0.0))
    assert image.meta["original_axcodes"] == "RAS"


def test_lps_file_is_only_transposed(tmp_path):
    data = _asymmetric()
    affine = np.diag([-2.0, -3.0, 4.0, 1.0])  # i -> L, j -> P, k -> S already
    image = read_nifti(_save(tmp_path, data, affine))
    np.testing.assert_array_equal(image.array, np.transpose(data, (2, 1, 0)))
    assert image.meta["original_axcodes"] == "LPS"


def test_round_trip_of_a_permuted_oblique_file(tmp_path):
    data = _asymmetric()
    # Voxel axes stored as (I, A, R) with a small rotation about z and an offset.
    theta = np.deg2rad(10)
    c, s = np.cos(theta), np.sin(theta)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    # columns = RAS step of each voxel axis: i -> Inferior, j -> Anterior, k -> Right
    axes = np.column_stack([(0.0, 0.0, -1.5), (0.0, 2.5, 0.0), (3.0, 0.0, 0.0)])
    affine = np.eye(4)
    affine[:3, :3] = rot @ axes
    affine[:3, 3] = [10.0, -20.0, 30.0]
    image = read_nifti(_save(tmp_path, data, affine))
    assert sorted(image.shape) == sorted(SHAPE)
    # all three flipped; k (3 mm) is now x, j (2.5 mm) y, i (1.5 mm) z
    assert image.shape == (5, 6, 7)
    assert image.spacing == pytest.approx((1.5, 2.5, 3.0))
    assert image.meta["original_axcodes"] == "IAR"
    # Every voxel keeps its physical position: compare values at the same LPS point.
    rng = np.random.default_rng(0)
    for ijk in rng.integers(0, SHAPE, size=(25, 3)):
        assert _lookup(image, _world_lps(affine, ijk)) == data[tuple(ijk)]
    # orientation rows are unit vectors and the obliquity is kept
    np.testing.assert_allclose(np.linalg.norm(image.orientation, axis=1), 1.0)
    assert abs(image.orientation[0, 1]) > 0.1


def test_units_scaling_and_window(tmp_path):
    data = np.arange(2 * 3 * 5, dtype=np.int16).reshape(2, 3, 5)
    img = nib.Nifti1Image(data, np.eye(4))
    img.header.set_slope_inter(2.0, -1024.0)
    img.header["cal_min"], img.header["cal_max"] = -100.0, 300.0
    path = tmp_path / "ct.nii"
    nib.save(img, path)
    image = read_nifti(path, units="HU")
    assert image.units == "HU"
    assert image.array.min() == -1024.0 and image.array.max() == 2 * 29 - 1024.0
    assert image.window == (100.0, 400.0)


def test_2d_nifti_gives_an_image(tmp_path):
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    image = read_nifti(_save(tmp_path, data, np.diag([-0.5, -0.25, 1.0, 1.0]), name="a.nii"))
    assert image.shape == (4, 3)  # (y, x) = (j, i)
    assert image.spacing == pytest.approx((0.25, 0.5))
    np.testing.assert_array_equal(image.array, data.T)


def test_4d_is_refused_with_a_fix(tmp_path):
    path = _save(tmp_path, np.zeros((3, 3, 3, 2), np.float32), np.eye(4))
    with pytest.raises(ImageReadError, match="four_to_three"):
        read_nifti(path)


def test_truncated_nifti(tmp_path):
    path = _save(tmp_path, _asymmetric(), np.eye(4), name="full.nii")
    cut = tmp_path / "cut.nii"
    cut.write_bytes(path.read_bytes()[:600])
    with pytest.raises(ImageReadError, match="truncated") as info:
        read_nifti(cut)
    assert str(cut) in str(info.value)


def test_truncated_gzip(tmp_path):
    path = _save(tmp_path, _asymmetric(), np.eye(4), name="full.nii.gz")
    cut = tmp_path / "cut.nii.gz"
    cut.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ImageReadError) as info:
        read_nifti(cut)
    assert str(cut) in str(info.value)


def test_not_nifti(tmp_path):
    path = tmp_path / "fake.nii.gz"
    path.write_bytes(gzip.compress(b"this is not a nifti header" * 20))
    with pytest.raises(ImageReadError) as info:
        read_nifti(path)
    assert str(path) in str(info.value)
    with pytest.raises(ImageNotFoundError):
        read_nifti(tmp_path / "missing.nii")


def test_read_image_dispatches_nifti(tmp_path):
    path = _save(tmp_path, _asymmetric(), np.eye(4), name="v.nii.gz")
    assert read_image(path, units="HU").units == "HU"


def test_write_nifti_round_trip_keeps_geometry(tmp_path):
    from radlab.imaging import Image, read_nifti, write_nifti

    rng = np.random.default_rng(0)
    theta = np.deg2rad(20)
    orientation = np.array([[np.cos(theta), np.sin(theta), 0], [-np.sin(theta), np.cos(theta), 0], [0, 0, 1.0]])
    image = Image(rng.normal(size=(4, 5, 6)).astype(np.float32), spacing=(2.5, 0.7, 0.8),
                  origin=(-100.0, 20.0, 35.0), orientation=orientation, window=(40.0, 400.0))
    path = write_nifti(image, tmp_path / "vol.nii.gz")
    back = read_nifti(path)
    assert np.array_equal(back.array, image.array)
    assert np.allclose(back.spacing, image.spacing)
    assert np.allclose(back.origin, image.origin)
    assert np.allclose(back.orientation, orientation)
    assert back.window == pytest.approx((40.0, 400.0))
    assert [p.name for p in tmp_path.iterdir()] == ["vol.nii.gz"]  # no temp file left


def test_write_nifti_2d_and_bad_name(tmp_path):
    from radlab.imaging import Image, read_nifti, write_nifti

    image = Image(np.arange(12, dtype=np.float32).reshape(3, 4), spacing=(0.5, 0.25))
    back = read_nifti(write_nifti(image, tmp_path / "slice.nii"))
    assert back.shape == (3, 4) and back.spacing == pytest.approx((0.5, 0.25))
    with pytest.raises(ValueError, match=r"\.nii"):
        write_nifti(image, tmp_path / "slice.png")
