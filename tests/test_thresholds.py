"""segval.thresholds and segval.histograms against scikit-image, numpy and ImageJ's own numbers.

The reference for the scikit-image family is ``skimage.filters.threshold_<name>(image)`` on the whole
image; segval only ever sees the image's histogram (summed over tiles in the workflow).  Integer
images must give exactly (``==``) the same threshold.
"""

import functools
import math
from fractions import Fraction

import numpy as np
import pytest
import skimage.data
import skimage.filters
from test_imagej import COLUMNS as IMAGEJ_COLUMNS
from test_imagej import REFERENCE as IMAGEJ_TABLE

from segval.errors import ThresholdNotFound
from segval.histograms import (
    FLOAT_BINS,
    SliceAccumulator,
    bins_for,
    float_edges,
    float_histogram,
    tile_histogram,
)
from segval.masks import apply_threshold
from segval.thresholds import (
    GLOBAL_METHODS,
    METHODS,
    PARAMETRISED_METHODS,
    SKIMAGE_METHODS,
    bin_values,
    method_file_id,
    parse_method,
    threshold_from_histogram,
)

# ------------------------------------------------------------------------------------------------
# Test images
# ------------------------------------------------------------------------------------------------


def _bimodal_uint8(seed, shape=(128, 128)):
    rng = np.random.default_rng(seed)
    bright = rng.random(shape) < rng.uniform(0.1, 0.5)
    values = np.where(
        bright,
        rng.normal(rng.uniform(140, 200), rng.uniform(8, 25), shape),
        rng.normal(rng.uniform(40, 90), rng.uniform(8, 25), shape),
    )
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _bimodal_uint16(seed, shape=(128, 128)):
    """Two modes over a few hundred values: skimage's Python-loop ``minimum`` stays fast."""
    rng = np.random.default_rng(seed)
    bright = rng.random(shape) < 0.3
    values = np.where(bright, rng.normal(1400, 40, shape), rng.normal(1000 + 50 * seed, 60, shape))
    return np.clip(np.rint(values), 0, 65535).astype(np.uint16)


def _camera_uint16():
    camera = skimage.data.camera()
    noise = np.random.default_rng(5).integers(0, 200, camera.shape)
    return (camera.astype(np.uint16) * 200 + noise).astype(np.uint16)


def _bimodal_int16(seed=0, shape=(100, 100)):
    rng = np.random.default_rng(seed)
    bright = rng.random(shape) < 0.3
    values = np.where(bright, rng.normal(200, 30, shape), rng.normal(-100, 40, shape))
    return np.rint(values).astype(np.int16)


def _bimodal_float32(seed):
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(20, 120)), int(rng.integers(20, 120)))
    bright = rng.random(shape) < rng.uniform(0.1, 0.5)
    values = np.where(
        bright,
        rng.normal(rng.uniform(1, 3), rng.uniform(0.1, 0.5), shape),
        rng.normal(rng.uniform(-1, 0.5), rng.uniform(0.1, 0.5), shape),
    ).astype(np.float32)
    return values * np.float32(10.0 ** rng.integers(-3, 4))


_BUILDERS = {
    "camera": skimage.data.camera,
    "coins": skimage.data.coins,
    "moon": skimage.data.moon,
    **{f"bimodal8_{s}": functools.partial(_bimodal_uint8, s) for s in range(4)},
    **{f"bimodal16_{s}": functools.partial(_bimodal_uint16, s) for s in range(3)},
    "camera16": _camera_uint16,
    "bimodal_int16": _bimodal_int16,
}
KESM_IMAGES = ("kesm_inverted", "kesm_median3")  # conftest fixtures (skipped without the data)


@functools.cache
def _built(name):
    image = _BUILDERS[name]()
    image.setflags(write=False)
    return image


@pytest.fixture
def image_named(request):
    def get(name):
        if name in KESM_IMAGES:
            return request.getfixturevalue(name)
        return _built(name)

    return get


def full_histogram(image):
    """Independent full-resolution histogram: one bin per value of the dtype, via np.bincount."""
    n_bins, offset = bins_for(image.dtype)
    return np.bincount(image.astype(np.int64).ravel() - offset, minlength=n_bins), offset


def skimage_threshold(image, method):
    return getattr(skimage.filters, f"threshold_{method}")(image)


# ------------------------------------------------------------------------------------------------
# scikit-image family: exact on integer images
# ------------------------------------------------------------------------------------------------

INTEGER_CASES = [
    (image, method)
    for image in KESM_IMAGES + tuple(_BUILDERS)
    for method in SKIMAGE_METHODS
    # skimage's minimum loops in Python over 51 200 bins for 2 minutes: left out for camera16.
    if not (image == "camera16" and method == "minimum")
]


@pytest.mark.parametrize("name, method", INTEGER_CASES)
def test_integer_image_equals_skimage(image_named, name, method):
    image = image_named(name)
    counts = tile_histogram(image)
    reference_counts, offset = full_histogram(image)
    np.testing.assert_array_equal(counts, reference_counts)
    try:
        expected = skimage_threshold(image, method)
    except RuntimeError:
        with pytest.raises(ThresholdNotFound):
            threshold_from_histogram(counts, method, offset=offset)
        return
    got = threshold_from_histogram(counts, method, offset=offset)
    assert type(got) is float
    assert got == expected, (name, method, got, expected)


def test_kesm_article_otsu_is_79(kesm_median3):
    assert threshold_from_histogram(tile_histogram(kesm_median3), "otsu") == 79


@pytest.mark.parametrize(
    "image",
    [
        np.full((20, 20), 7, np.uint8),  # one value: skimage "Unable to find two maxima"
        np.array([[3, 3, 200, 200]], np.uint8),  # two values
        np.full((5, 5), 1234, np.uint16),
    ],
    ids=["constant", "two-values", "constant16"],
)
def test_minimum_raises_where_skimage_raises(image):
    with pytest.raises(RuntimeError):
        skimage.filters.threshold_minimum(image)
    with pytest.raises(ThresholdNotFound, match="minimum"):
        threshold_from_histogram(tile_histogram(image), "minimum")
    # The other methods still answer, as skimage does.
    for method in ("otsu", "li", "yen", "triangle", "isodata", "mean"):
        assert threshold_from_histogram(tile_histogram(image), method) == skimage_threshold(
            image, method
        )


@pytest.mark.parametrize(
    "method", [m for m in GLOBAL_METHODS if m not in PARAMETRISED_METHODS] + ["percentile:50"]
)
def test_empty_histogram_raises(method):
    with pytest.raises(ThresholdNotFound, match="empty"):
        threshold_from_histogram(np.zeros(256, np.int64), method)


def test_manual_needs_no_pixels():
    assert threshold_from_histogram(np.zeros(256, np.int64), "manual:79") == 79.0


@pytest.mark.parametrize("counts", [np.zeros((2, 256)), np.zeros(0), np.array([1, -1, 3])])
def test_malformed_histogram_is_a_value_error(counts):
    with pytest.raises(ValueError):
        threshold_from_histogram(counts, "otsu")


# ------------------------------------------------------------------------------------------------
# Float images
# ------------------------------------------------------------------------------------------------

FLOAT_EXACT = ("otsu", "yen", "isodata", "minimum", "triangle")
FLOAT_IMAGES = {
    "camera_float": lambda: skimage.data.camera().astype(np.float32) / np.float32(255),
    **{f"bimodal_float_{s}": functools.partial(_bimodal_float32, s) for s in (0, 1, 2, 8, 21)},
}


def _float_threshold(image, method, edges=None, **kwargs):
    low, high = float(image.min()), float(image.max())
    counts = float_histogram(image, low, high)
    edges = float_edges(low, high, image.dtype) if edges is None else edges
    return threshold_from_histogram(counts, method, edges, **kwargs)


@pytest.mark.parametrize("name", FLOAT_IMAGES)
@pytest.mark.parametrize("method", FLOAT_EXACT)
def test_float_image_selects_skimages_bin(name, method):
    """Same threshold as skimage: segval bins float images with numpy's edges in the image's type."""
    image = FLOAT_IMAGES[name]()
    low, high = float(image.min()), float(image.max())
    counts = float_histogram(image, low, high)
    np.testing.assert_array_equal(counts, np.histogram(image, bins=FLOAT_BINS)[0])
    try:
        expected = skimage_threshold(image, method)
    except RuntimeError:
        with pytest.raises(ThresholdNotFound):
            _float_threshold(image, method)
        return
    assert _float_threshold(image, method) == expected


@pytest.mark.parametrize("name", FLOAT_IMAGES)
@pytest.mark.parametrize("method", FLOAT_EXACT)
def test_float_image_equals_skimage_with_numpys_float32_edges(name, method):
    image = FLOAT_IMAGES[name]()
    low, high = float(image.min()), float(image.max())
    counts, edges = np.histogram(image, bins=FLOAT_BINS)  # what skimage bins with: float32 edges
    assert edges.dtype == np.float32
    np.testing.assert_array_equal(counts, float_histogram(image, low, high))
    try:
        expected = skimage_threshold(image, method)
    except RuntimeError:
        return
    assert threshold_from_histogram(counts, method, edges) == expected


@pytest.mark.parametrize("method", ["otsu", "yen", "isodata", "triangle"])
def test_float_image_equals_skimage_exactly_with_float_edges(method):
    image = _bimodal_float32(0)
    assert _float_threshold(image, method) == skimage_threshold(image, method)


def test_float_edges_are_the_edges_float_histogram_uses_for_float64():
    rng = np.random.default_rng(4)
    image = rng.normal(size=(50, 60))  # float64: no dtype mismatch
    low, high = float(image.min()), float(image.max())
    counts, edges = np.histogram(image, bins=FLOAT_BINS)
    np.testing.assert_array_equal(float_edges(low, high, image.dtype), edges)
    np.testing.assert_array_equal(float_histogram(image, low, high), counts)
    for method in FLOAT_EXACT:
        try:
            expected = skimage_threshold(image, method)
        except RuntimeError:
            continue
        assert (
            threshold_from_histogram(counts, method, float_edges(low, high, image.dtype))
            == expected
        ), method


@pytest.mark.parametrize("name", FLOAT_IMAGES)
def test_float_li_and_mean_are_close_to_skimage(name):
    image = FLOAT_IMAGES[name]()
    low, high = float(image.min()), float(image.max())
    bin_width = (high - low) / FLOAT_BINS
    # Mean: with the exact sum it is numpy's float64 mean; skimage's is numpy's float32 mean.
    total = float(image.sum(dtype=np.float64))
    mean = _float_threshold(image, "mean", total=total)
    assert mean == total / image.size
    assert math.isclose(
        mean, float(skimage_threshold(image, "mean")), rel_tol=1e-5, abs_tol=1e-6 * (high - low)
    )
    # Without the sum, from bin centres: within half a bin.
    assert abs(_float_threshold(image, "mean") - mean) <= bin_width / 2
    # Li: skimage iterates on the raw values, segval on bin centres.
    assert (
        abs(_float_threshold(image, "li") - float(skimage_threshold(image, "li"))) <= 2 * bin_width
    )


def test_bin_values():
    np.testing.assert_array_equal(bin_values(4), [0, 1, 2, 3])
    np.testing.assert_array_equal(bin_values(3, offset=-1), [-1, 0, 1])
    np.testing.assert_array_equal(bin_values(2, [0.0, 1.0, 3.0]), [0.5, 2.0])
    with pytest.raises(ValueError, match="edges"):
        bin_values(3, [0.0, 1.0])


# ------------------------------------------------------------------------------------------------
# Tile histograms add up exactly
# ------------------------------------------------------------------------------------------------


def _tiles(image, size):
    for y in range(0, image.shape[0], size):
        for x in range(0, image.shape[1], size):
            yield image[y : y + size, x : x + size]


@pytest.mark.parametrize(
    "name", ["kesm_median3", "coins", "bimodal16_0", "bimodal_int16", "camera16"]
)
@pytest.mark.parametrize("tile", [16, 40, 100])
def test_sum_of_tile_histograms_is_the_whole_histogram(image_named, name, tile):
    image = image_named(name)
    whole = tile_histogram(image)
    reference, offset = full_histogram(image)
    np.testing.assert_array_equal(whole, reference)
    assert whole.dtype == np.int64 and whole.size == bins_for(image.dtype)[0]
    summed = sum(tile_histogram(part) for part in _tiles(image, tile))
    np.testing.assert_array_equal(summed, whole)
    methods = [m for m in SKIMAGE_METHODS if not (name == "camera16" and m == "minimum")]
    for method in methods + ["ij_otsu", "percentile:90"]:
        try:
            expected = threshold_from_histogram(whole, method, offset=offset)
        except ThresholdNotFound:
            continue
        assert threshold_from_histogram(summed, method, offset=offset) == expected


def test_tile_histogram_extremes_and_mask():
    rng = np.random.default_rng(11)
    image = rng.integers(0, 65536, (64, 80), dtype=np.uint16)
    image[0, 0], image[0, 1] = 0, 65535
    mask = rng.random(image.shape) < 0.5
    np.testing.assert_array_equal(
        tile_histogram(image), np.bincount(image.ravel(), minlength=65536)
    )
    np.testing.assert_array_equal(
        tile_histogram(image, mask), np.bincount(image[mask], minlength=65536)
    )
    small = rng.integers(0, 256, (30, 7), dtype=np.uint8)
    m8 = (rng.random(small.shape) < 0.3).astype(np.uint8) * 255
    np.testing.assert_array_equal(
        tile_histogram(small, m8), np.bincount(small[m8 > 0], minlength=256)
    )
    # A non-contiguous view (a tile cut from a larger image) is histogrammed correctly.
    view = image[::2, 3::5]
    np.testing.assert_array_equal(tile_histogram(view), np.bincount(view.ravel(), minlength=65536))


def test_slice_accumulator_saves_the_sum_of_its_tiles(tmp_path):
    """Two slices cut into 40 x 40 tiles: the saved histograms, sums and ranges are the slices'."""
    stack = [_built("bimodal16_1"), _built("bimodal16_2")]
    accumulator = SliceAccumulator(np.uint16, slices=2, per_tile=True)
    for z, image in enumerate(stack):
        for y in range(0, image.shape[0], 40):
            for x in range(0, image.shape[1], 40):
                accumulator.add(z, image[y : y + 40, x : x + 40], y // 40, x // 40)
    accumulator.save(tmp_path / "h.npz", z0=5)
    saved = np.load(tmp_path / "h.npz")
    np.testing.assert_array_equal(saved["z"], [5, 6])
    assert int(saved["offset"]) == 0 and str(saved["dtype"]) == "uint16"
    for z, image in enumerate(stack):
        np.testing.assert_array_equal(saved["counts"][z], full_histogram(image)[0])
        assert int(saved["sums"][z]) == int(image.sum(dtype=np.int64))
        assert int(saved["pixels"][z]) == image.size
        assert (saved["low"][z], saved["high"][z]) == (image.min(), image.max())
        # The exact integer sum gives numpy's mean to the last bit.
        assert (
            threshold_from_histogram(saved["counts"][z], "mean", total=int(saved["sums"][z]))
            == image.mean()
        )
    tiles_per_slice = 4 * 4
    assert saved["tile_counts"].shape == (2 * tiles_per_slice, 65536)
    np.testing.assert_array_equal(saved["tile_index"][tiles_per_slice], [6, 0, 0])
    np.testing.assert_array_equal(saved["tile_counts"][1], full_histogram(stack[0][0:40, 40:80])[0])


def test_slice_accumulator_float_tiles_record_range_and_sum(tmp_path):
    image = _bimodal_float32(3)
    image[0, 0] = np.nan
    accumulator = SliceAccumulator(np.float32, slices=1)
    for y in range(0, image.shape[0], 16):
        accumulator.add(0, image[y : y + 16], y // 16, 0)
    accumulator.save(tmp_path / "f.npz", z0=0)
    saved = np.load(tmp_path / "f.npz")
    finite = image[np.isfinite(image)]
    assert saved["pixels"][0] == finite.size
    assert (saved["low"][0], saved["high"][0]) == (finite.min(), finite.max())
    assert math.isclose(saved["sums"][0], float(finite.sum(dtype=np.float64)), rel_tol=1e-12)


# ------------------------------------------------------------------------------------------------
# Method specs
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("otsu", ("otsu", None)),
        ("minimum", ("minimum", None)),
        ("ij_otsu", ("ij_otsu", None)),
        ("manual:79", ("manual", 79.0)),
        ("manual:-3.5", ("manual", -3.5)),
        ("manual:1e3", ("manual", 1000.0)),
        ("percentile:90", ("percentile", 90.0)),
        ("percentile:0", ("percentile", 0.0)),
        ("percentile:100", ("percentile", 100.0)),
        ("percentile:99.5", ("percentile", 99.5)),
    ],
)
def test_parse_method(spec, expected):
    assert parse_method(spec) == expected


@pytest.mark.parametrize(
    "spec, message",
    [
        ("otsuu", r"unknown threshold method 'otsuu'; known: otsu, li"),
        ("Otsu", "unknown threshold method"),
        ("", "unknown threshold method"),
        ("manual", r"manual needs a number, e.g. 'manual:79'; got 'manual'"),
        ("manual:", "manual needs a number"),
        ("manual:abc", r"manual needs a number.*'manual:abc'"),
        ("percentile", r"percentile needs a number, e.g. 'percentile:50'"),
        ("percentile:101", r"percentile must be within 0..100, got 'percentile:101'"),
        ("percentile:-1", "within 0..100"),
        ("otsu:3", r"method 'otsu' takes no value; got 'otsu:3'"),
        ("ij_otsu:3", "takes no value"),
    ],
)
def test_parse_method_errors(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_method(spec)
    with pytest.raises(ValueError, match=message):
        threshold_from_histogram(np.ones(256, np.int64), spec)


def test_method_lists():
    assert SKIMAGE_METHODS == ("otsu", "li", "yen", "triangle", "isodata", "mean", "minimum")
    assert set(SKIMAGE_METHODS) <= set(GLOBAL_METHODS) and set(PARAMETRISED_METHODS) <= set(
        GLOBAL_METHODS
    )
    assert "ij_otsu" in GLOBAL_METHODS
    assert set(GLOBAL_METHODS) <= set(METHODS)
    assert len(set(METHODS)) == len(METHODS)


def test_local_methods_have_no_global_threshold():
    for method in sorted(set(METHODS) - set(GLOBAL_METHODS)):
        with pytest.raises(ValueError, match="local method"):
            threshold_from_histogram(np.ones(256, np.int64), method)


@pytest.mark.parametrize(
    "spec, file_id",
    [
        ("otsu", "otsu"),
        ("manual:79", "manual-79"),
        ("percentile:99.5", "percentile-99.5"),
        ("ij_li", "ij_li"),
    ],
)
def test_method_file_id(spec, file_id):
    assert method_file_id(spec) == file_id
    assert ":" not in method_file_id(spec) and "/" not in method_file_id(spec)


def test_manual_returns_the_value():
    counts = np.bincount([1, 2, 3], minlength=256)
    assert threshold_from_histogram(counts, "manual:79") == 79.0
    assert threshold_from_histogram(counts, "manual:12.25") == 12.25
    assert type(threshold_from_histogram(counts, "manual:79")) is float


def _percentile_cases():
    rng = np.random.default_rng(2024)
    for seed in range(25):
        size = int(rng.integers(1, 400))
        dtype = np.uint8 if seed % 2 else np.uint16
        high = int(rng.integers(1, 256 if dtype == np.uint8 else 3000))
        image = rng.integers(0, high, size).astype(dtype).reshape(1, -1)
        for p in [
            0,
            0.1,
            1,
            5,
            10,
            12.5,
            25,
            33.3,
            50,
            75,
            90,
            95,
            99,
            99.9,
            100,
            *rng.uniform(0, 100, 4),
        ]:
            yield image, float(p)


def test_percentile_equals_numpy_inverted_cdf():
    n = 0
    for image, p in _percentile_cases():
        counts = tile_histogram(image)
        expected = np.percentile(image, p, method="inverted_cdf")
        assert threshold_from_histogram(counts, f"percentile:{p}") == expected, (image.size, p)
        n += 1
    assert n == 25 * 19


def test_percentile_semantics_on_kesm(kesm_median3):
    counts = tile_histogram(kesm_median3)
    for p in (50, 90, 97.2, 99):
        threshold = threshold_from_histogram(counts, f"percentile:{p}")
        # Smallest value with at least p % of the pixels at or below it.
        assert np.mean(kesm_median3 <= threshold) >= p / 100
        assert np.mean(kesm_median3 <= threshold - 1) < p / 100
        assert threshold == np.percentile(kesm_median3, p, method="inverted_cdf")


def test_percentile_exact_semantics_at_exact_boundaries():
    image = np.arange(100, dtype=np.uint8).reshape(
        10, 10
    )  # value v has v + 1 pixels at or below it
    counts = tile_histogram(image)
    for p in (7, 14, 28, 55, 56):
        # Smallest v with (v + 1) >= p % of 100 pixels, in exact arithmetic: v = p - 1.
        needed = Fraction(p) * 100 / 100
        assert threshold_from_histogram(counts, f"percentile:{p}") == math.ceil(needed) - 1, p


# ------------------------------------------------------------------------------------------------
# apply_threshold
# ------------------------------------------------------------------------------------------------

INT_THRESHOLDS = [
    79,
    79.0,
    79.5,
    78.9999,
    0,
    -0.5,
    -1,
    -1e20,
    254,
    254.5,
    255,
    255.5,
    300,
    65535,
    65534.5,
    1e20,
    -32768.5,
    -32769,
    32767,
    float("inf"),
    float("-inf"),
    np.float64(12.5),
    np.float32(99.5),
    np.int64(100),
]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.int8, bool])
def test_apply_threshold_integers(dtype):
    rng = np.random.default_rng(0)
    if dtype is bool:
        values = rng.random((20, 30)) < 0.5
    else:
        info = np.iinfo(dtype)
        values = rng.integers(info.min, int(info.max) + 1, (40, 50), dtype=dtype)
        values.flat[:2] = (info.min, info.max)
    exact = values.astype(np.float64)  # every 8/16-bit value is exact in float64
    for threshold in INT_THRESHOLDS:
        got = apply_threshold(values, threshold)
        assert got.dtype == bool and got.shape == values.shape
        np.testing.assert_array_equal(got, exact > float(threshold), err_msg=f"{dtype} {threshold}")


def test_apply_threshold_floats():
    rng = np.random.default_rng(1)
    for dtype in (np.float32, np.float64):
        values = rng.normal(size=(30, 40)).astype(dtype)
        values.flat[0] = np.nan
        for threshold in (
            0.0,
            0.25,
            -1.5,
            float(values.flat[5]),
            float(np.median(values[1:])),
            1e30,
            -1e30,
            float("inf"),
            float("-inf"),
        ):
            np.testing.assert_array_equal(apply_threshold(values, threshold), values > threshold)
            assert not apply_threshold(values, threshold).flat[0]  # NaN is never foreground


def test_apply_threshold_float32_compares_exactly():
    values = np.array([0.1, 0.2], np.float32)
    threshold = float(np.float32(0.1)) - 1e-10  # just below the float32 pixel value
    expected = values.astype(np.float64) > threshold  # [True, True]
    np.testing.assert_array_equal(apply_threshold(values, np.float64(threshold)), expected)
    np.testing.assert_array_equal(apply_threshold(values, threshold), expected)


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
def test_apply_threshold_nan_on_integers():
    values = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(apply_threshold(values, float("nan")), values > float("nan"))


def test_apply_threshold_none_is_all_background():
    for values in (np.arange(12, dtype=np.uint8).reshape(3, 4), np.ones((2, 2), np.float32)):
        got = apply_threshold(values, None)
        assert got.dtype == bool and got.shape == values.shape and not got.any()


# ------------------------------------------------------------------------------------------------
# ImageJ family through threshold_from_histogram
# ------------------------------------------------------------------------------------------------

IJ_COLUMNS = IMAGEJ_COLUMNS  # ImageJ method names -> segval's, as test_imagej reads them


def _imagej_row(case):
    if not IMAGEJ_TABLE.is_file():
        pytest.skip(f"ImageJ reference thresholds not present: {IMAGEJ_TABLE}")
    lines = IMAGEJ_TABLE.read_text().splitlines()
    header = lines[0].split("\t")
    for line in lines[1:]:
        fields = line.split("\t")
        if fields[0] == case:
            row = dict(zip(header[1:-1], map(int, fields[1:-1])))
            return np.array(fields[-1].split(), np.int64), row
    raise AssertionError(f"{case} missing from {IMAGEJ_TABLE}")


@pytest.mark.parametrize(
    "case, fixture", [("kesm_inverted", "kesm_inverted"), ("kesm_inverted_median3", "kesm_median3")]
)
def test_imagej_methods_through_threshold_from_histogram(request, case, fixture):
    image = request.getfixturevalue(fixture)
    histogram, row = _imagej_row(case)
    counts = tile_histogram(image)
    np.testing.assert_array_equal(counts, histogram)  # our invert/median give ImageJ's input
    for column, method in IJ_COLUMNS.items():
        assert threshold_from_histogram(counts, method) == row[column], column
    if case == "kesm_inverted_median3":
        assert threshold_from_histogram(counts, "ij_otsu") == 79


def test_imagej_methods_on_16bit_use_bin_values():
    # ImageJ returns a bin index; threshold_from_histogram maps it through the bin values.
    image = _built("bimodal_int16")
    counts, offset = full_histogram(image)
    t = threshold_from_histogram(counts, "ij_otsu", offset=offset)
    assert t == int(t) and image.min() <= t < image.max()
    shifted = threshold_from_histogram(
        np.r_[np.zeros(0, np.int64), counts], "ij_otsu", offset=offset + 7
    )
    assert shifted == t + 7
