"""Hand-crafted texture features (radlab.features): known images, masks, hand-counted run lengths."""

import numpy as np
import pytest
from skimage.feature import graycomatrix, graycoprops

from radlab import features as F

# The 4 x 4 example used in textbooks on run-length matrices (grey levels 0-3).
TINY = np.array([
    [0, 1, 2, 3],
    [0, 2, 3, 3],
    [2, 1, 1, 1],
    [3, 0, 3, 0],
])


def _by_name(features, names):
    return dict(zip(names, features[0]))


# ---------------------------------------------------------------------------
# Shapes, names, input handling
# ---------------------------------------------------------------------------
def test_shapes_and_names():
    rng = np.random.default_rng(0)
    images = rng.random((5, 16, 20))
    x, names = F.texture_features(images)
    assert x.shape == (5, len(names)) == (5, 8 + 7 * 2 + 5)
    assert len(set(names)) == len(names)
    assert names[0] == "first_mean" and "glcm_contrast_d2" in names and names[-1] == "glrlm_rp"
    assert np.all(np.isfinite(x))
    # one image (H, W) and Keras layout (n, H, W, 1) are accepted
    single, _ = F.texture_features(images[0])
    assert single.shape == (1, len(names))
    np.testing.assert_allclose(single[0], x[0])
    keras_layout, _ = F.texture_features(images[..., None])
    np.testing.assert_allclose(keras_layout, x)
    fewer, fewer_names = F.texture_features(images, distances=(1,), run_lengths=False)
    assert fewer.shape == (5, 8 + 7) and not any(n.startswith("glrlm") for n in fewer_names)


def test_batch_is_the_same_as_one_image_at_a_time():
    # chunking and batching must not mix images up (more images than one chunk)
    rng = np.random.default_rng(1)
    images = rng.random((F._CHUNK + 3, 8, 8)) * np.linspace(0.2, 1.0, F._CHUNK + 3)[:, None, None]
    batch, _ = F.texture_features(images)
    for i in (0, F._CHUNK - 1, F._CHUNK, F._CHUNK + 2):
        one, _ = F.texture_features(images[i])
        np.testing.assert_allclose(batch[i], one[0], rtol=1e-12)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"images": np.zeros(10)}, "one 2D image"),
        ({"images": np.zeros((2, 3, 8, 8))}, "one 2D image"),
        ({"images": np.array([["a", "b"], ["c", "d"]])}, "numeric"),
        ({"images": np.full((8, 8), np.nan)}, "NaN"),
        ({"images": np.zeros((8, 8)), "masks": np.ones((8, 9), bool)}, "one mask per image"),
        ({"images": np.zeros((8, 8)), "masks": np.zeros((8, 8), bool)}, "0 pixel"),
        ({"images": np.zeros((8, 8)), "masks": np.full((8, 8), 2)}, "boolean"),
        ({"images": np.zeros((8, 8)), "levels": 1}, "levels"),
        ({"images": np.zeros((8, 8)), "levels": 300}, "levels"),
        ({"images": np.zeros((8, 8)), "levels": 8.5}, "levels"),
        ({"images": np.zeros((8, 8)), "distances": (0,)}, "distances"),
        ({"images": np.zeros((8, 8)), "distances": ()}, "distances"),
        ({"images": np.zeros((8, 8)), "angles": 0}, "angles"),
        ({"images": np.zeros((8, 8)), "value_range": (1.0, 0.0)}, "value_range"),
        ({"images": np.zeros((8, 8)), "value_range": 1.0}, "value_range"),
    ],
)
def test_bad_input_is_explained(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        F.texture_features(**kwargs)


def test_mask_without_pairs_at_a_distance_is_explained():
    mask = np.zeros((8, 8), bool)
    mask[3, 3:5] = True  # two neighbours: pairs at distance 1, none at distance 3
    F.glcm_features(np.ones((8, 8)), mask, distances=(1,))
    with pytest.raises(ValueError, match="no pair of pixels 3 pixel"):
        F.glcm_features(np.ones((8, 8)), mask, distances=(1, 3))


def test_unknown_glcm_property():
    with pytest.raises(ValueError, match="unknown GLCM properties"):
        F.glcm_features(np.zeros((8, 8)), properties=("busyness",))


# ---------------------------------------------------------------------------
# Known images
# ---------------------------------------------------------------------------
def test_constant_image_has_no_texture():
    f = _by_name(*F.texture_features(np.full((8, 8), 0.3)))
    for d in (1, 2):
        assert f[f"glcm_contrast_d{d}"] == 0.0
        assert f[f"glcm_dissimilarity_d{d}"] == 0.0
        assert f[f"glcm_homogeneity_d{d}"] == 1.0
        assert f[f"glcm_ASM_d{d}"] == pytest.approx(1.0)
        assert f[f"glcm_energy_d{d}"] == pytest.approx(1.0)
        assert f[f"glcm_entropy_d{d}"] == pytest.approx(0.0, abs=1e-12)
    assert f["first_mean"] == pytest.approx(0.3)
    assert f["first_std"] == f["first_skewness"] == f["first_kurtosis"] == f["first_entropy"] == 0.0
    assert f["first_p10"] == f["first_p90"] == pytest.approx(0.3)
    # one grey level: every run is as long as its line, so long runs dominate
    assert f["glrlm_lre"] > 10 and f["glrlm_sre"] < 0.5


def test_checkerboard_has_high_contrast():
    board = (np.indices((8, 8)).sum(axis=0) % 2).astype(float)
    noise = np.random.default_rng(0).random((8, 8))
    fb = _by_name(*F.texture_features(board, levels=2, angles=2, distances=(1,)))
    # along rows and columns every neighbour differs: contrast (i - j)^2 = 1 for every pair
    assert fb["glcm_contrast_d1"] == pytest.approx(1.0)
    assert fb["glcm_homogeneity_d1"] == pytest.approx(0.5)
    assert fb["glcm_correlation_d1"] == pytest.approx(-1.0)
    # every run is one pixel long along rows and columns... but diagonals of a
    # checkerboard are constant, so with four directions long runs appear
    assert _by_name(*F.texture_features(board, levels=2))["glrlm_rp"] < 1.0
    fn = _by_name(*F.texture_features(noise, levels=2, angles=2, distances=(1,)))
    assert fb["glcm_contrast_d1"] > fn["glcm_contrast_d1"] > 0


def test_glcm_features_match_scikit_image():
    rng = np.random.default_rng(2)
    image = rng.integers(0, 8, (12, 10))
    angles = np.arange(4) * np.pi / 4
    got = _by_name(*F.glcm_features(image.astype(float), levels=8, distances=(1, 3), value_range=(0, 8)))
    counts = graycomatrix(image.astype(np.uint8), [1, 3], angles, levels=8, symmetric=True).sum(axis=3)
    for prop in F.GLCM_PROPERTIES:
        expected = graycoprops(counts[:, :, :, None].astype(float), prop)[:, 0]
        assert got[f"glcm_{prop}_d1"] == pytest.approx(expected[0]), prop
        assert got[f"glcm_{prop}_d3"] == pytest.approx(expected[1]), prop


def test_glcm_matrix_is_symmetric_and_normalised():
    rng = np.random.default_rng(3)
    image = rng.random((16, 16))
    m = F.glcm(image, levels=16)
    assert m.shape == (16, 16)
    assert m.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(m, m.T)
    with pytest.raises(ValueError, match="one 2D image"):
        F.glcm(np.zeros((2, 8, 8)))


def test_first_order_matches_numpy_and_scipy():
    from scipy import stats

    rng = np.random.default_rng(4)
    image = rng.gamma(2.0, size=(20, 20))
    f = _by_name(*F.first_order_features(image))
    flat = image.ravel()
    assert f["first_mean"] == pytest.approx(flat.mean())
    assert f["first_std"] == pytest.approx(flat.std())
    assert f["first_skewness"] == pytest.approx(stats.skew(flat))
    assert f["first_kurtosis"] == pytest.approx(stats.kurtosis(flat))
    for p in (10, 50, 90):
        assert f[f"first_p{p}"] == pytest.approx(np.percentile(flat, p))
    # 2 equally filled grey levels: 1 bit
    halves = np.r_[np.zeros(8), np.ones(8)].reshape(4, 4)
    assert _by_name(*F.first_order_features(halves, levels=2))["first_entropy"] == pytest.approx(1.0)


def test_features_do_not_depend_on_orientation():
    # directions are pooled: a 90-degree rotation swaps 0/90 and 45/135 degrees
    image = np.random.default_rng(5).random((12, 12))
    a, _ = F.texture_features(image)
    b, _ = F.texture_features(np.rot90(image))
    np.testing.assert_allclose(a, b, rtol=1e-10)


# ---------------------------------------------------------------------------
# Masks
# ---------------------------------------------------------------------------
def test_features_come_only_from_masked_pixels():
    rng = np.random.default_rng(6)
    image = rng.random((16, 16))
    image[:, 8:] = rng.random((16, 8)) * 50.0 + 100.0  # a very different right half
    mask = np.zeros((16, 16), bool)
    mask[:, :8] = True
    masked, names = F.texture_features(image, mask)
    cropped, _ = F.texture_features(image[:, :8])
    np.testing.assert_allclose(masked, cropped, rtol=1e-10)
    # and what lies outside the mask does not matter at all
    image[:, 8:] = 0.0
    np.testing.assert_allclose(F.texture_features(image, mask)[0], masked, rtol=1e-10)


def test_pairs_and_runs_do_not_cross_a_gap_in_the_mask():
    # two constant strips of different grey level, separated by one unmasked column
    image = np.zeros((6, 7))
    image[:, 4:] = 1.0
    mask = np.ones((6, 7), bool)
    mask[:, 3] = False
    f = _by_name(*F.texture_features(image, mask, levels=2, distances=(1,)))
    assert f["glcm_contrast_d1"] == 0.0  # no pair links the two strips
    rows = F.run_length_matrix(F.quantize(image, mask, levels=2)[0].clip(0), mask, direction=0)
    assert rows[0, 2] == 6 and rows[1, 2] == 6 and rows.sum() == 12  # runs of 3, never 7


def test_quantize():
    q = F.quantize(np.array([[0.0, 0.5], [0.99, 1.0]]), levels=4)
    np.testing.assert_array_equal(q[0], [[0, 2], [3, 3]])
    fixed = F.quantize(np.array([[-1000.0, 0.0], [400.0, 2000.0]]), levels=14, value_range=(-1000, 400))
    np.testing.assert_array_equal(fixed[0], [[0, 10], [13, 13]])  # clipped above the range
    mask = np.array([[True, False], [True, True]])
    assert F.quantize(np.ones((2, 2)), mask)[0, 0, 1] == -1
    assert F.quantize(np.ones((2, 2)))[0].max() == 0  # constant image: one level


# ---------------------------------------------------------------------------
# Run lengths (Galloway 1975), against hand counts
# ---------------------------------------------------------------------------
# rows: grey level 0-3; columns: run length 1-4
HAND = {
    0: [[4, 0, 0, 0], [1, 0, 1, 0], [3, 0, 0, 0], [3, 1, 0, 0]],  # along rows
    1: [[4, 0, 0, 0], [4, 0, 0, 0], [0, 0, 1, 0], [3, 1, 0, 0]],  # 45 degrees (anti-diagonals)
    2: [[2, 1, 0, 0], [4, 0, 0, 0], [3, 0, 0, 0], [3, 1, 0, 0]],  # along columns
    3: [[4, 0, 0, 0], [4, 0, 0, 0], [3, 0, 0, 0], [5, 0, 0, 0]],  # 135 degrees (diagonals)
}


@pytest.mark.parametrize("direction", [0, 1, 2, 3])
def test_run_length_matrix_matches_hand_count(direction):
    got = F.run_length_matrix(TINY, direction=direction)
    np.testing.assert_array_equal(got, HAND[direction])
    # every pixel is in exactly one run
    assert (got * np.arange(1, 5)).sum() == TINY.size


def test_run_length_features_match_hand_computation():
    f = _by_name(*F.run_length_features(TINY.astype(float), levels=4))
    # pooled over the four directions: 56 runs over 4 x 16 pixel visits
    assert f["glrlm_rp"] == pytest.approx(56 / 64)
    assert f["glrlm_sre"] == pytest.approx((50 + 1 / 4 + 3 / 4 + 2 / 9) / 56)
    assert f["glrlm_lre"] == pytest.approx(84 / 56)
    assert f["glrlm_gln"] == pytest.approx((15**2 + 14**2 + 10**2 + 17**2) / 56)
    assert f["glrlm_rln"] == pytest.approx((50**2 + 4**2 + 2**2) / 56)


def test_run_length_matrix_on_a_rectangle_and_with_a_mask():
    image = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 1, 1]])
    np.testing.assert_array_equal(F.run_length_matrix(image), [[1, 0, 0, 0, 0], [0, 2, 0, 0, 1]])
    assert F.run_length_matrix(image, direction=1).shape == (2, 2)  # diagonals are at most 2 long
    mask = np.ones_like(image, bool)
    mask[0, 2] = False  # splits the first row's run of 5 into 2 + 2
    np.testing.assert_array_equal(F.run_length_matrix(image, mask), [[1, 0, 0, 0, 0], [0, 4, 0, 0, 0]])


@pytest.mark.parametrize(
    "image, kwargs, message",
    [
        (np.zeros((2, 2, 2), int), {}, "one 2D image"),
        (np.zeros((2, 2)), {}, "integer"),
        (np.array([[0, -1]]), {}, ">= 0"),
        (np.array([[0, 5]]), {"levels": 4}, "levels"),
        (np.array([[0, 1]]), {"direction": 4}, "direction"),
        (np.array([[0, 1]]), {"mask": np.ones((2, 2), bool)}, "mask has shape"),
    ],
)
def test_run_length_matrix_bad_input(image, kwargs, message):
    with pytest.raises(ValueError, match=message):
        F.run_length_matrix(image, **kwargs)


# ---------------------------------------------------------------------------
# Helpers: standardize, lung_sides
# ---------------------------------------------------------------------------
def test_standardize():
    rng = np.random.default_rng(7)
    images = rng.random((3, 10, 10)) * np.array([1.0, 5.0, 100.0])[:, None, None] + 7.0
    z = F.standardize(images)
    assert z.dtype == np.float32 and z.shape == images.shape
    np.testing.assert_allclose(z.mean(axis=(1, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=(1, 2)), 1.0, atol=1e-5)
    assert np.all(F.standardize(np.full((4, 4), 3.0)) == 0.0)
    mask = np.zeros((10, 10), bool)
    mask[:5] = True
    zm = F.standardize(images[0], mask)
    assert zm[mask].mean() == pytest.approx(0.0, abs=1e-5) and zm[mask].std() == pytest.approx(1.0, abs=1e-5)
    assert F.standardize(images[..., None]).shape == (3, 10, 10, 1)


def test_lung_sides_follow_the_patient_not_the_middle_column():
    masks = np.zeros((2, 12, 20), bool)
    masks[0, 2:10, 1:8] = True   # patient's right lung (image left)
    masks[0, 2:10, 11:18] = True  # patient's left lung
    masks[1, 2:10, 5:11] = True  # a patient shifted right: the right lung crosses the middle column
    masks[1, 2:10, 13:19] = True
    right, left = F.lung_sides(masks)
    np.testing.assert_array_equal(right | left, masks)
    assert not (right & left).any()
    np.testing.assert_array_equal(right[0], masks[0] & (np.arange(20) < 10))
    assert right[0, 5, 3] and left[0, 5, 15]
    assert right[1, 5, 10] and not left[1, 5, 10]  # column 10 > 9.5, still the right lung
    assert left[1, 5, 14]
    with pytest.raises(ValueError, match="boolean"):
        F.lung_sides(np.zeros((2, 2, 2, 2)))


def test_on_chest_phantoms_consolidation_changes_the_lung_texture():
    from radlab.data import chest_phantoms

    data = chest_phantoms(120, 64, seed=3, lesion_contrast=(0.3, 0.4))
    x, names = F.texture_features(data.images, data.lung_masks)
    assert np.all(np.isfinite(x))
    from sklearn.metrics import roc_auc_score

    right, left = F.lung_sides(data.lung_masks)
    asymmetry = np.abs(F.first_order_features(data.images, right)[0][:, 0]
                       - F.first_order_features(data.images, left)[0][:, 0])
    assert roc_auc_score(data.labels, asymmetry) > 0.75
