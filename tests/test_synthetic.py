"""Synthetic phantoms: shapes, determinism, ground-truth consistency, knobs, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from radlab.data import synthetic
from radlab.data.synthetic import (
    HU, MU_WATER, PhantomSet, PhantomVolume, chest_phantoms, ct_phantoms, ct_volume,
)


@pytest.fixture(scope="module")
def chest():
    return chest_phantoms(300, 64, seed=7, finding="both", lesions_per_image=(1, 2))


@pytest.fixture(scope="module")
def ct():
    return ct_phantoms(60, 96, seed=3)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def assert_boxes_match_masks(data: PhantomSet):
    h, w = data.images.shape[1:]
    for i, boxes in enumerate(data.boxes):
        assert boxes.dtype == np.float32 and boxes.ndim == 2 and boxes.shape[1] == 4
        mask = data.lesion_masks[i]
        if data.labels[i] == 0:
            assert boxes.shape == (0, 4)
            continue
        assert len(boxes) >= 1
        covered = np.zeros_like(mask)
        for x0, y0, x1, y1 in boxes:
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
            inside = mask[int(y0):int(y1), int(x0):int(x1)]
            assert inside.any(), f"image {i}: box without lesion pixels"
            # tight: the box's outer rows and columns touch the lesion
            assert inside[0].any() or inside[-1].any() or inside[:, 0].any()
            covered[int(y0):int(y1), int(x0):int(x1)] = True
        assert not (mask & ~covered).any(), f"image {i}: lesion pixels outside every box"


# ---------------------------------------------------------------------------
# chest radiographs
# ---------------------------------------------------------------------------
def test_chest_shapes_dtypes_ranges(chest):
    n = 300
    assert len(chest) == n and chest.shape == (n, 64, 64)
    assert chest.images.dtype == np.float32
    assert 0.0 <= chest.images.min() and chest.images.max() <= 1.0
    assert chest.lung_masks.dtype == bool and chest.lesion_masks.dtype == bool
    assert chest.lung_masks.shape == chest.lesion_masks.shape == (n, 64, 64)
    assert chest.labels.dtype == np.int64 and chest.labels.shape == (n,)
    assert len(chest.boxes) == n
    assert chest.x.shape == (n, 64, 64, 1) and chest.x.dtype == np.float32
    assert np.array_equal(chest.y, chest.labels)
    assert chest.pixel_spacing_mm == pytest.approx(400.0 / 64)
    assert chest.modality == "DX" and chest.units == "intensity"
    assert set(np.unique(chest.finding)) == {"none", "nodule", "pneumonia"}
    assert np.all(chest.scanner == "A")


def test_chest_anatomy_is_plausible(chest):
    images, lungs = chest.images, chest.lung_masks
    # every image has two lungs, well inside the frame, covering a sensible area
    for mask in lungs[:50]:
        assert ndimage.label(mask)[1] == 2
    fraction = lungs.mean(axis=(1, 2))
    assert np.all((fraction > 0.15) & (fraction < 0.5))
    assert not lungs[:, 0].any() and not lungs[:, -1].any()
    assert not lungs[:, :, 0].any() and not lungs[:, :, -1].any()
    # lungs are dark, the midline (mediastinum, spine) and the abdomen bright, the air black
    lung_mean = np.array([im[m].mean() for im, m in zip(images, lungs)])
    midline = images[:, 20:45, 30:34].mean(axis=(1, 2))
    abdomen = images[:, 58:62, 24:40].mean(axis=(1, 2))
    assert np.all(lung_mean + 0.15 < midline)
    assert np.all(lung_mean + 0.15 < abdomen)
    assert images[:, :4, :3].mean() < 0.15  # air above the shoulders
    # the right lung (image left) is the larger one: the heart takes room on the left
    half = 32
    right, left = lungs[:, :, :half].sum(axis=(1, 2)), lungs[:, :, half:].sum(axis=(1, 2))
    assert np.mean(right > left) > 0.9


def test_chest_lesions_consistent(chest):
    assert not (chest.lesion_masks & ~chest.lung_masks).any(), "lesion outside the lungs"
    has_lesion = chest.lesion_masks.any(axis=(1, 2))
    assert np.array_equal(chest.labels, has_lesion.astype(np.int64))
    assert np.array_equal(chest.labels == 1, chest.finding != "none")
    assert np.array_equal(chest.lesion_area_px, chest.lesion_masks.sum(axis=(1, 2)))
    assert np.allclose(chest.lesion_area_mm2, chest.lesion_area_px * chest.pixel_spacing_mm**2)
    assert_boxes_match_masks(chest)


def test_lesions_add_density():
    kwargs = dict(seed=8, finding="both", prevalence=1.0)
    with_lesions = chest_phantoms(60, 64, **kwargs)
    invisible = chest_phantoms(60, 64, lesion_contrast=0.0, **kwargs)
    # the same patients and masks; only the lesions' brightness differs
    assert np.array_equal(with_lesions.lesion_masks, invisible.lesion_masks)
    for a, b, mask in zip(with_lesions.images, invisible.images, with_lesions.lesion_masks):
        assert a[mask].mean() > b[mask].mean() + 0.03


def test_chest_multiple_lesions_give_multiple_boxes():
    data = chest_phantoms(40, 128, seed=1, finding="nodule", prevalence=1.0, lesions_per_image=3,
                          lesion_size=12.0)
    counts = np.array([len(b) for b in data.boxes])
    assert np.all(counts == 3)
    assert_boxes_match_masks(data)


def test_chest_attributes_describe_each_image(chest):
    assert set(chest.attributes) == {"sex", "location"}
    assert set(np.unique(chest.attributes["sex"])) == {"F", "M"}
    location = chest.attributes["location"]
    assert np.array_equal(location != "", chest.labels == 1)
    for where, finding in zip(location, chest.finding):
        if finding == "pneumonia":
            assert where.endswith("lobe") or where == "lingula" or "lobe;" in where
        elif finding == "nodule":
            assert "lung," in where and "zone" in where
    assert np.array_equal(chest[5:9].attributes["sex"], chest.attributes["sex"][5:9])


def test_pneumonia_stays_in_one_lung():
    data = chest_phantoms(60, 64, seed=2, finding="pneumonia", prevalence=1.0)
    for lesion, lung in zip(data.lesion_masks, data.lung_masks):
        labels, _ = ndimage.label(lung)
        assert len(np.unique(labels[lesion])) == 1


def test_chest_deterministic_by_seed():
    kwargs = dict(finding="both", marker="spurious", scanner="B")
    a = chest_phantoms(40, 64, seed=11, **kwargs)
    b = chest_phantoms(40, 64, seed=11, **kwargs)
    c = chest_phantoms(40, 64, seed=12, **kwargs)
    for name in ("images", "lung_masks", "lesion_masks", "labels", "marker", "finding"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert all(np.array_equal(x, y) for x, y in zip(a.boxes, b.boxes))
    assert not np.array_equal(a.images, c.images)
    assert not np.array_equal(a.labels, c.labels)


def test_chest_independent_of_chunk_size(monkeypatch):
    kwargs = dict(seed=4, finding="both", marker="spurious", lesions_per_image=(1, 2))
    a = chest_phantoms(30, 64, **kwargs)
    monkeypatch.setattr(synthetic._common, "CHUNK_PIXELS", 7 * 64 * 64)
    b = chest_phantoms(30, 64, **kwargs)
    assert np.array_equal(a.images, b.images)
    assert np.array_equal(a.lesion_masks, b.lesion_masks)


def test_prevalence_is_respected():
    for prevalence in (0.0, 0.2, 0.5, 1.0):
        data = chest_phantoms(50, 32, seed=0, prevalence=prevalence)
        assert data.labels.sum() == round(prevalence * 50)
    normal = chest_phantoms(20, 32, seed=0, finding=None)
    assert normal.labels.sum() == 0 and not normal.lesion_masks.any()
    assert all(b.shape == (0, 4) for b in normal.boxes)


def test_spurious_marker_correlates_with_label():
    data = chest_phantoms(1000, 32, seed=5, marker="spurious", marker_correlation=0.9)
    agreement = np.mean(data.marker == (data.labels == 1))
    assert 0.86 < agreement < 0.94
    assert 0.4 < data.marker.mean() < 0.6
    # the marker is burnt in: the top-right corner is much brighter where it is present
    corner = data.images[:, :8, 24:].max(axis=(1, 2))
    assert corner[data.marker].mean() > corner[~data.marker].mean() + 0.2
    useless = chest_phantoms(1000, 32, seed=5, marker="spurious", marker_correlation=0.5)
    assert abs(np.mean(useless.marker == (useless.labels == 1)) - 0.5) < 0.06
    assert not chest_phantoms(50, 32, seed=5).marker.any()


def test_scanner_shift_changes_intensity_statistics():
    a = chest_phantoms(100, 64, seed=3, scanner="A")
    b = chest_phantoms(100, 64, seed=3, scanner="B")
    # same patients and labels, different look
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.lung_masks, b.lung_masks)
    assert np.all(b.scanner == "B")
    assert b.images.mean() > a.images.mean() + 0.03  # brighter
    lung_a = np.mean([im[m].mean() for im, m in zip(a.images, a.lung_masks)])
    lung_b = np.mean([im[m].mean() for im, m in zip(b.images, b.lung_masks)])
    mid_a, mid_b = a.images[:, 20:45, 30:34].mean(), b.images[:, 20:45, 30:34].mean()
    assert (mid_b - lung_b) < (mid_a - lung_a)  # less contrast
    custom = chest_phantoms(20, 64, seed=3, scanner={"name": "C", "noise": 4.0})
    assert np.all(custom.scanner == "C")
    # more noise: a larger pixel-to-pixel difference in the flat air region
    air = np.s_[:, 40:60, 0:2]
    assert np.diff(custom.images[air], axis=1).std() >= np.diff(a.images[:20][air], axis=1).std()


def test_lesion_knobs_change_lesions():
    small = chest_phantoms(80, 128, seed=6, finding="nodule", prevalence=1.0, lesion_size=10.0)
    large = chest_phantoms(80, 128, seed=6, finding="nodule", prevalence=1.0, lesion_size=30.0)
    assert large.lesion_area_mm2.mean() > 4 * small.lesion_area_mm2.mean()
    # a 30 mm nodule covers about pi * 15^2 mm^2
    assert large.lesion_area_mm2.mean() == pytest.approx(np.pi * 15**2, rel=0.25)
    faint = chest_phantoms(40, 64, seed=6, finding="nodule", prevalence=1.0, lesion_contrast=0.0,
                           noise=0.0)
    clear = chest_phantoms(40, 64, seed=6, finding="nodule", prevalence=1.0, lesion_contrast=0.5,
                           noise=0.0)
    assert np.array_equal(faint.lesion_masks, clear.lesion_masks)
    assert clear.images[clear.lesion_masks].mean() > faint.images[faint.lesion_masks].mean() + 0.1


def test_sizes_and_image_conversion():
    for size in (32, 128, 256):
        data = chest_phantoms(2, size, seed=0, finding="nodule", prevalence=1.0)
        assert data.images.shape == (2, size, size)
        assert data.lesion_masks.any(axis=(1, 2)).all()
    image = data.image(0)
    assert image.shape == (256, 256) and image.modality == "DX"
    assert image.spacing == pytest.approx((400 / 256, 400 / 256))


def test_indexing_gives_smaller_sets(chest):
    head = chest[:10]
    assert isinstance(head, PhantomSet) and len(head) == 10
    assert np.array_equal(head.images, chest.images[:10])
    positives = chest[chest.labels == 1]
    assert positives.labels.all() and len(positives.boxes) == len(positives)
    one = chest[-1]
    assert len(one) == 1 and np.array_equal(one.lesion_masks[0], chest.lesion_masks[-1])
    picked = chest[np.array([3, 1])]
    assert np.array_equal(picked.labels, chest.labels[[3, 1]])
    with pytest.raises(IndexError):
        chest[len(chest)]
    assert "PhantomSet(chest radiograph, 300 images 64x64" in repr(chest)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n=0), "positive integer"),
        (dict(n=-3), "positive integer"),
        (dict(n=2.5), "positive integer"),
        (dict(size=16), "too small"),
        (dict(prevalence=1.5), "prevalence"),
        (dict(prevalence=-0.1), "prevalence"),
        (dict(finding="fracture"), "unknown finding"),
        (dict(scanner="Z"), "unknown scanner"),
        (dict(scanner={"volume": 11}), "unknown scanner setting"),
        (dict(scanner={"gamma": 0}), "gamma"),
        (dict(marker="tattoo"), "unknown marker"),
        (dict(marker_correlation=2), "marker_correlation"),
        (dict(noise=-1), "noise"),
        (dict(blur=-1), "blur"),
        (dict(lesion_size=(30, 10)), "lesion_size"),
        (dict(lesion_size=0), "lesion_size"),
        (dict(lesion_contrast=2.0), "lesion_contrast"),
        (dict(lesions_per_image=0), "lesions_per_image"),
        (dict(seed=-1), "seed"),
    ],
)
def test_chest_bad_arguments(kwargs, message):
    args = {"n": 4, **kwargs}
    with pytest.raises(ValueError, match=message):
        chest_phantoms(**args)


# ---------------------------------------------------------------------------
# CT slices
# ---------------------------------------------------------------------------
def test_ct_shapes_and_metadata(ct):
    assert ct.images.shape == (60, 96, 96) and ct.images.dtype == np.float32
    assert ct.units == "HU" and ct.modality == "CT" and ct.window == (-600.0, 1500.0)
    assert ct.pixel_spacing_mm == pytest.approx(380.0 / 96)
    assert ct.sinograms is None and ct.reference is None
    assert ct.labels.sum() == 30
    image = ct.image(0)
    assert image.units == "HU" and image.modality == "CT"


def test_ct_tissue_values(ct):
    images, lungs = ct.images, ct.lung_masks
    lung = images[lungs]
    assert -900 < lung.mean() < -750
    assert -900 < np.median(lung) < -780
    # air outside the patient, including the corners outside the scan field of view
    assert np.allclose(images[:, :3, :3], HU["air"])
    assert abs(np.median(images[:, 2:6, 40:56]) - HU["air"]) < 40
    # fat, soft tissue and bone are all present in every slice
    for img in images[:10]:
        assert np.mean((img > -140) & (img < -60)) > 0.01  # subcutaneous and mediastinal fat
        assert np.mean((img > 20) & (img < 80)) > 0.05  # muscle, heart, blood
        assert img.max() > 450  # cortical bone (ribs, vertebra)
    assert images.min() > -1150 and images.max() < 1100
    for mask in lungs[:20]:
        # two lungs (a sliver of lingula in front of the heart may appear on its own)
        labels, count = ndimage.label(mask)
        sizes = np.sort(np.bincount(labels.ravel())[1:])[::-1]
        assert count >= 2 and sizes[:2].sum() > 0.9 * mask.sum()
        assert abs(np.mean(np.nonzero(mask)[1]) - 48) < 12  # one on each side of the midline


def test_ct_nodules_consistent(ct):
    assert not (ct.lesion_masks & ~ct.lung_masks).any()
    assert np.array_equal(ct.labels, ct.lesion_masks.any(axis=(1, 2)).astype(np.int64))
    assert set(np.unique(ct.finding)) == {"none", "nodule"}
    assert_boxes_match_masks(ct)
    # nodules are soft tissue: their brightest pixels are near +30 HU, far above lung
    peaks = [ct.images[i][ct.lesion_masks[i]].max() for i in np.flatnonzero(ct.labels)]
    assert np.median(peaks) > -200


def test_ct_deterministic_and_knobs(monkeypatch):
    a = ct_phantoms(6, 64, seed=9, nodules=(1, 3))
    b = ct_phantoms(6, 64, seed=9, nodules=(1, 3))
    c = ct_phantoms(6, 64, seed=10, nodules=(1, 3))
    assert np.array_equal(a.images, b.images) and not np.array_equal(a.images, c.images)
    monkeypatch.setattr(synthetic._common, "CHUNK_PIXELS", 2 * 64 * 64)
    assert np.array_equal(a.images, ct_phantoms(6, 64, seed=9, nodules=(1, 3)).images)
    plain = ct_phantoms(8, 64, seed=1, noise=0.0)
    enhanced = ct_phantoms(8, 64, seed=1, noise=0.0, contrast=True)
    assert np.array_equal(plain.lung_masks, enhanced.lung_masks)
    assert np.percentile(enhanced.images, 99) > np.percentile(plain.images, 99)
    assert np.mean(enhanced.images > 150) > np.mean(plain.images > 150) + 0.02  # bright blood
    quiet = ct_phantoms(4, 64, seed=1, noise=0.0)
    noisy = ct_phantoms(4, 64, seed=1, noise=40.0)
    assert np.std(noisy.images - quiet.images) == pytest.approx(40.0, rel=0.15)


def test_ct_radon_round_trip_and_dose():
    high = ct_phantoms(2, 64, seed=2, radon=True, dose=1e7, n_angles=90)
    low = ct_phantoms(2, 64, seed=2, radon=True, dose=3e2, n_angles=90)
    assert high.sinograms.shape == (2, 64, 90) and high.sinograms.dtype == np.float32
    assert high.angles.shape == (90,) and high.angles.max() < 180
    assert np.array_equal(high.reference, low.reference)
    assert np.corrcoef(high.images.ravel(), high.reference.ravel())[0, 1] > 0.9
    err_high = np.abs(high.images - high.reference).mean()
    err_low = np.abs(low.images - low.reference).mean()
    assert err_low > 1.5 * err_high
    # units: line integrals are mu (1/mm) times path length (mm), a few for a chest
    assert 2.0 < high.sinograms.max() < 12.0
    # HU are restored after reconstruction: air near -1000, lung far below water
    assert np.median(high.images[high.lung_masks]) < -600
    assert abs(np.median(high.images[:, :3, 28:36]) + 1000) < 100
    assert MU_WATER == pytest.approx(0.0193)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n=0), "positive integer"),
        (dict(size=20), "too small"),
        (dict(prevalence=2), "prevalence"),
        (dict(nodule_shape="spiky"), "nodule_shape"),
        (dict(nodule_size=-4), "nodule_size"),
        (dict(radon=True, noise=5.0), "dose"),
        (dict(radon=True, dose=0), "dose"),
        (dict(radon=True, n_angles=1), "n_angles"),
        (dict(pixel_spacing_mm=0), "pixel_spacing_mm"),
        (dict(nodules=(2, 1)), "nodules"),
    ],
)
def test_ct_bad_arguments(kwargs, message):
    args = {"n": 2, "size": 64, **kwargs}
    with pytest.raises(ValueError, match=message):
        ct_phantoms(**args)


def test_ct_volume_known_nodule_volume():
    vol = ct_volume(size=64, slices=24, seed=1, nodule_diameter_mm=16.0, noise=0.0)
    assert isinstance(vol, PhantomVolume)
    assert vol.volume.shape == (24, 64, 64) and vol.volume.dtype == np.float32
    assert vol.spacing == pytest.approx((2.5, 380 / 64, 380 / 64))
    assert vol.nodule_volume_mm3 == pytest.approx(4 / 3 * np.pi * 8.0**3)
    assert vol.voxel_volume_mm3 == pytest.approx(vol.nodule_volume_mm3, rel=0.3)
    assert not (vol.lesion_mask & ~vol.lung_mask).any()
    # the stored centre lies inside the nodule mask
    idx = tuple(int(round(c / s)) for c, s in zip(vol.nodule_center_mm, vol.spacing))
    assert vol.lesion_mask[idx]
    assert -900 < vol.volume[vol.lung_mask].mean() < -700
    image = vol.to_image()
    assert image.is_volume and image.spacing == pytest.approx(vol.spacing)
    longer = ct_volume(size=64, slices=24, seed=1, nodule_diameter_mm=16.0, elongation=1.8)
    assert longer.nodule_volume_mm3 == pytest.approx(vol.nodule_volume_mm3)
    with pytest.raises(ValueError, match="slices"):
        ct_volume(slices=2)
    with pytest.raises(ValueError, match="spacing"):
        ct_volume(spacing=(1.0, 2.0, 3.0))


def test_lazy_names_resolve():
    import radlab.data

    assert radlab.data.chest_phantoms is chest_phantoms
    assert radlab.data.ct_phantoms is ct_phantoms
    assert radlab.data.PhantomSet is PhantomSet
