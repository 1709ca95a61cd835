"""Artifact corrections: tile-exactness of every step, and agreement with the whole-image tools."""

import numpy as np
import pytest
from scipy import ndimage

from segval import corrections as C
from segval import denoise, spec
from segval.tiling import read_padded

SHAPES = [(97, 131), (160, 200)]
TILES = [32, 48, 64, None]  # None: one tile holding the whole image


def structured(shape, dtype, seed=0):
    """Smooth gradient + Gaussian blobs + noise, scaled to most of the dtype's range."""
    rng = np.random.default_rng(seed)
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    base = 0.2 + 0.5 * (yy / h) * (xx / w) + 0.1 * np.sin(xx / 7.0)
    for _ in range(max(4, h * w // 1500)):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(1.5, 8)
        base += rng.uniform(0.2, 0.5) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
    base += rng.normal(0, 0.05, shape)
    top = np.iinfo(dtype).max
    return np.clip(base * top * 0.75, 0, top).astype(dtype)


# --------------------------------------------------------------------------------------------------
# The real preprocessing chain, with two more CLAHE region sizes registered for the tests
# --------------------------------------------------------------------------------------------------
TEST_GEOMETRY = {
    f"clahe{region}": lambda tile, clip, origin, size, region=region: C.clahe(
        tile, clip, region, origin=origin, image_size=size
    )
    for region in (32, 48)
}
TEST_RADIUS = {
    f"clahe{region}": lambda clip, region=region: C.clahe_radius(region) for region in (32, 48)
}


@pytest.fixture(autouse=True)
def small_clahe_regions(monkeypatch):
    monkeypatch.setattr(denoise, "_FILTERS", {**denoise._FILTERS, **TEST_GEOMETRY})
    monkeypatch.setattr(C, "GEOMETRY_STEPS", {**C.GEOMETRY_STEPS, **TEST_GEOMETRY})
    monkeypatch.setattr(spec, "STEP_RADIUS", {**spec.STEP_RADIUS, **TEST_RADIUS})


def chain_halo(chain):
    return denoise.chain_halo(chain)


def apply_chain(padded, chain, bounds, image_size):
    return denoise.apply_chain(padded, chain, bounds, image_size)


def whole(image, chain):
    halo = chain_halo(chain)
    padded = np.pad(image, halo, mode="symmetric")
    return apply_chain(padded, chain, (0, image.shape[0], 0, image.shape[1]), image.shape)


def tiled(image, chain, tile, chain_function=apply_chain):
    height, width = image.shape
    tile = tile or max(height, width)
    halo = chain_halo(chain)

    def read(z, y0, y1, x0, x1):
        return image[y0:y1, x0:x1]

    out = np.zeros_like(image)
    for y0 in range(0, height, tile):
        for x0 in range(0, width, tile):
            y1, x1 = min(y0 + tile, height), min(x0 + tile, width)
            padded = read_padded(read, (1,) + image.shape, 0, y0, y1, x0, x1, halo)
            out[y0:y1, x0:x1] = chain_function(padded, chain, (y0, y1, x0, x1), image.shape)
    return out


def assert_tile_exact(image, chain):
    reference = whole(image, chain)
    assert reference.dtype == image.dtype and reference.shape == image.shape
    for tile in TILES:
        np.testing.assert_array_equal(tiled(image, chain, tile), reference, err_msg=f"tile {tile}")
    return reference


# --------------------------------------------------------------------------------------------------
# Tile-exactness
# --------------------------------------------------------------------------------------------------
STEPS = [
    ("gaussian", 0.8),
    ("gaussian", 2.5),
    ("bgmedian", 15),
    ("tophat", 11),
    ("rollingball", 9),
    ("clahe32", 2.0),
    ("clahe48", 0),
]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("step", STEPS, ids=lambda s: f"{s[0]}{s[1]:g}")
def test_every_step_is_tile_exact(step, dtype):
    for seed, shape in enumerate(SHAPES):
        assert_tile_exact(structured(shape, dtype, seed), [step])


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_chain_of_corrections_is_tile_exact(dtype):
    # Several steps: halos re-mirrored between steps, CLAHE with a halo left for the steps after it.
    chain = [("median", 3), ("gaussian", 1.0), ("bgmedian", 21), ("clahe32", 3.0), ("tophat", 5)]
    shapes = SHAPES if dtype == np.uint8 else SHAPES[:1]  # the 16-bit median is the slow part
    for seed, shape in enumerate(shapes):
        assert_tile_exact(structured(shape, dtype, seed + 10), chain)


@pytest.mark.parametrize(
    "chain", [[("clahe32", 2.0), ("gaussian", 3.0)], [("clahe32", 2.0), ("clahe48", 1.0)]]
)
def test_clahe_before_steps_with_large_halos_is_tile_exact(chain):
    # The tile reaching CLAHE still holds the later steps' halo, beyond the image border too.
    assert_tile_exact(structured((97, 131), np.uint8, 12), chain)


def test_official_clahe_step_is_tile_exact():
    image = structured((300, 270), np.uint8, 4)
    reference = whole(image, [("clahe", 2.0)])
    for tile in (128, 100):
        np.testing.assert_array_equal(tiled(image, [("clahe", 2.0)], tile), reference)


def test_clahe_leaves_pixels_beyond_the_image_at_zero():
    image = structured((160, 200), np.uint8)
    out = C.clahe(image, 2.0, 32, origin=(-60, -60), image_size=(300, 300))
    radius = C.clahe_radius(32)
    assert not out[:60].any() and not out[:, :60].any() and not out[:radius].any()
    assert out[radius:-radius, radius:-radius].mean() > 50


# --------------------------------------------------------------------------------------------------
# Whole-image references
# --------------------------------------------------------------------------------------------------
def run_whole(image, function, radius):
    padded = np.pad(image, radius, mode="symmetric")
    out = function(padded)
    return out[radius:-radius, radius:-radius] if radius else out


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.5])
def test_gaussian_equals_scipy_rounded(sigma, dtype):
    image = structured((97, 131), np.uint16 if dtype == np.float32 else dtype).astype(dtype)
    radius = C.gaussian_radius(sigma)
    assert radius == int(4.0 * sigma + 0.5)
    got = run_whole(image, lambda t: C.gaussian(t, sigma), radius)
    blurred = ndimage.gaussian_filter(image.astype(np.float64), sigma, mode="reflect")
    if dtype == np.float32:
        expected = blurred.astype(np.float32)
    else:
        top = np.iinfo(dtype).max
        expected = np.clip(np.round(blurred), 0, top).astype(dtype)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, expected)


def test_gaussian_sigma_zero_is_identity():
    image = structured((20, 30), np.uint8)
    assert C.gaussian_radius(0) == 0 and C.gaussian(image, 0) is image


@pytest.mark.parametrize(
    "dtype, size, offset",
    [
        (np.uint8, 51, 0),
        (np.uint8, 15, 20),
        (np.uint16, 3, 0),  # OpenCV directly
        (np.uint16, 21, 0),  # exact 16-bit median from 8-bit medians
        (np.uint16, 51, 1000),
        (np.float32, 7, 0.5),  # scipy
    ],
)
def test_background_median_equals_scipy(dtype, size, offset):
    base = np.uint16 if dtype == np.float32 else dtype
    image = structured((97, 131), base, 1).astype(dtype)
    radius = C.background_radius("median", size)
    assert radius == size // 2
    got = run_whole(image, lambda t: C.background(t, "median", size, offset=offset), radius)
    estimate = ndimage.median_filter(image, size=size, mode="reflect")
    difference = image.astype(np.float64) - estimate + offset
    if dtype == np.float32:
        expected = difference.astype(np.float32)
    else:
        expected = np.clip(np.rint(difference), 0, np.iinfo(dtype).max).astype(dtype)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, expected)


def test_uint16_median_on_noise_spanning_the_whole_range():
    # Worst case of the 8-bit decomposition: every high byte present everywhere.
    image = np.random.default_rng(5).integers(0, 65536, (70, 90)).astype(np.uint16)
    for size in (7, 9):
        got = run_whole(image, lambda t, size=size: C._median(t, size), size // 2)
        np.testing.assert_array_equal(got, ndimage.median_filter(image, size, mode="reflect"))


def disk(radius):
    y, x = np.ogrid[-radius : radius + 1, -radius : radius + 1]
    return x * x + y * y <= radius * radius


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("shape, size", [("disk", 11), ("disk", 23), ("square", 15)])
def test_tophat_equals_scipy_white_tophat(shape, size, dtype):
    base = np.uint16 if dtype == np.float32 else dtype
    image = structured((97, 131), base, 2).astype(dtype)
    radius = C.background_radius("tophat", size)
    assert radius == 2 * (size // 2)
    got = run_whole(image, lambda t: C.background(t, "tophat", size, shape=shape), radius)
    r = size // 2
    footprint = disk(r) if shape == "disk" else np.ones((size, size), bool)
    expected = ndimage.white_tophat(image, footprint=footprint, mode="reflect")
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("size", [3, 9, 15])
def test_rolling_ball_equals_scipy_non_flat_opening(size, dtype):
    image = structured((97, 131), dtype, 3)
    if dtype == np.uint16:
        image //= 64  # a 16-bit image with an 10-bit range, so that the ball's height matters
    radius = C.background_radius("rolling_ball", size)
    got = run_whole(image, lambda t: C.background(t, "rolling_ball", size), radius)
    r = size // 2
    yy, xx = np.ogrid[-r : r + 1, -r : r + 1]
    squares = yy * yy + xx * xx
    heights = np.floor(np.sqrt(np.maximum(r * r - squares, 0)))
    opened = ndimage.grey_opening(
        image.astype(np.float64), footprint=squares <= r * r, structure=heights, mode="reflect"
    )
    np.testing.assert_array_equal(got, (image - opened).astype(dtype))


def test_background_rejects_bad_parameters():
    image = structured((40, 40), np.uint8)
    with pytest.raises(ValueError, match="odd"):
        C.background(image, "median", 10)
    with pytest.raises(ValueError, match="method"):
        C.background(image, "mean", 11)
    with pytest.raises(ValueError, match="structuring"):
        C.background(image, "tophat", 11, shape="diamond")
    with pytest.raises(TypeError):
        C.background(image.astype(np.float32), "rolling_ball", 5)
    for method in C.BACKGROUND_METHODS:
        assert C.background_radius(method, 1) == 0 and C.background(image, method, 1) is image


# --------------------------------------------------------------------------------------------------
# CLAHE against OpenCV and scikit-image
# --------------------------------------------------------------------------------------------------
def clahe_whole(image, clip, region):
    radius = C.clahe_radius(region)
    padded = np.pad(image, radius, mode="symmetric")
    out = C.clahe(padded, clip, region, origin=(-radius, -radius), image_size=image.shape)
    return out[radius:-radius, radius:-radius]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("clip", [0, 1.0, 2.0, 4.0])
def test_clahe_equals_opencv_on_multiples_of_the_region(clip, dtype):
    import cv2

    image = structured((192, 256), dtype, 6)
    for region in (32, 64):
        grid = (image.shape[1] // region, image.shape[0] // region)
        expected = cv2.createCLAHE(clipLimit=clip, tileGridSize=grid).apply(image)
        np.testing.assert_array_equal(clahe_whole(image, clip, region), expected)


def test_clahe_versus_opencv_and_skimage_elsewhere():
    """Documented differences: OpenCV stretches its regions when the size is not a multiple;
    scikit-image is a different implementation (float output, normalised clip limit)."""
    import cv2
    from skimage.exposure import equalize_adapthist

    image = structured((200, 300), np.uint8, 7)  # not multiples of 64
    ours = clahe_whole(image, 2.0, 64).astype(np.float64)
    cv = cv2.createCLAHE(2.0, (5, 3)).apply(image)  # OpenCV: regions of 60 x 67 pixels
    assert 0 < np.abs(ours - cv).mean() < 6  # measured 2.96
    sk = equalize_adapthist(image, kernel_size=64, clip_limit=0.01) * 255
    assert np.abs(ours - sk).mean() < 10  # measured 4.84
    assert np.corrcoef(ours.ravel(), sk.ravel())[0, 1] > 0.99


# --------------------------------------------------------------------------------------------------
# Global histogram equalisation
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_equalization_lut_matches_skimage(dtype):
    from skimage.exposure import equalize_hist

    from segval.histograms import tile_histogram

    image = structured((160, 200), dtype, 8)
    counts = sum(
        tile_histogram(image[y : y + 48, x : x + 48])
        for y in range(0, 160, 48)
        for x in range(0, 200, 48)
    )
    lut = C.equalization_lut(counts, dtype)
    assert lut.dtype == dtype
    top = np.iinfo(dtype).max
    expected = np.rint(equalize_hist(image) * top).astype(dtype)
    np.testing.assert_array_equal(C.apply_lut(image, lut), expected)
    stitched = np.zeros_like(image)
    for y in range(0, 160, 64):
        for x in range(0, 200, 64):
            stitched[y : y + 64, x : x + 64] = C.apply_lut(image[y : y + 64, x : x + 64], lut)
    np.testing.assert_array_equal(stitched, expected)
    np.testing.assert_array_equal(C.equalize(image, counts), expected)


def test_equalization_lut_checks_its_input():
    with pytest.raises(ValueError, match="bins"):
        C.equalization_lut(np.ones(100, np.int64), np.uint8)
    with pytest.raises(ValueError, match="empty"):
        C.equalization_lut(np.zeros(256, np.int64), np.uint8)
    with pytest.raises(TypeError):
        C.equalization_lut(np.ones(256, np.int64), np.float32)


# --------------------------------------------------------------------------------------------------
# Does it help?  Uneven illumination on the KESM-like phantom
# --------------------------------------------------------------------------------------------------
def test_median_background_rescues_otsu_under_a_steep_illumination_ramp():
    from segval.histograms import tile_histogram
    from segval.metrics import confusion_counts, scores
    from segval.phantom import make_phantom
    from segval.thresholds import threshold_from_histogram

    image, truth = make_phantom((1024, 1024), seed=3)
    ramp = np.linspace(0.5, 1.0, image.shape[1])[None, :]  # half as bright on the left
    inverted = 255 - np.rint(image * ramp).astype(np.uint8)
    cleaned = ndimage.median_filter(inverted, 3, mode="reflect")

    def f1(values):
        threshold = threshold_from_histogram(tile_histogram(values), "otsu")
        return scores(confusion_counts(truth, values > threshold))["f1"]

    corrected = run_whole(cleaned, lambda t: C.background(t, "median", 51), 25)
    before, after = f1(cleaned), f1(corrected)
    assert before < 0.2 and after > 0.8, (before, after)  # measured: 0.094 -> 0.847
