"""segval.overlay and segval.downsample: the article's overlay test, ROI handling, tile-exact previews."""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segval.downsample import REDUCERS, block_confusion, block_max, block_mean, factor_for
from segval.metrics import FN, FP, IGNORED, TN, TP, confusion_map
from segval.overlay import ARTICLE_COLOURS, overlay, to_uint8

ORIGINAL = np.array([1, 0, 1, 0, 1, 1, 0, 0, 0], np.uint8).reshape(3, 3)
PREDICTED = np.array([1, 0, 1, 0, 0, 1, 1, 0, 0], np.uint8).reshape(3, 3)


# ------------------------------------------------------------------------------------------------
# Overlay
# ------------------------------------------------------------------------------------------------


def test_article_overlay():
    """The article's test: image = truth = ORIGINAL (0/1 values), prediction PREDICTED, alpha 0.5."""
    out = overlay(ORIGINAL, confusion_map(ORIGINAL, PREDICTED), alpha=0.5, colours=ARTICLE_COLOURS)
    assert out.dtype == np.uint8 and out.shape == (3, 3, 3)
    # fmt: off
    assert out.ravel().tolist() == [
        0, 128, 128,   0, 0, 0,     0, 128, 128,
        0, 0, 0,       128, 128, 0, 0, 128, 128,
        128, 0, 128,   0, 0, 0,     0, 0, 0,
    ]
    # fmt: on
    # Default colours are the article's.
    np.testing.assert_array_equal(overlay(ORIGINAL, confusion_map(ORIGINAL, PREDICTED)), out)


def test_article_colours():
    assert ARTICLE_COLOURS == {
        "tp": (0, 255, 255),
        "fp": (255, 0, 255),
        "fn": (255, 255, 0),
        "tn": (0, 0, 0),
    }


def _reference_blend(image, code, alpha, colours):
    lut = np.zeros((5, 3))
    for name, value in (("tn", TN), ("fp", FP), ("fn", FN), ("tp", TP)):
        lut[value] = colours[name]
    blended = alpha * image[..., None].astype(np.float64) + (1 - alpha) * lut[code]
    out = np.clip(np.rint(blended), 0, 255).astype(np.uint8)  # OpenCV rounds half to even
    out[code == IGNORED] = np.repeat(image[..., None], 3, axis=2)[code == IGNORED]
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(1, 40),
    st.integers(1, 40),
    st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]),
    st.booleans(),
)
def test_overlay_equals_a_numpy_blend(seed, height, width, alpha, custom):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (height, width), dtype=np.uint8)
    truth = rng.random((height, width)) < 0.4
    predicted = rng.random((height, width)) < 0.4
    roi = rng.random((height, width)) < 0.8
    code = confusion_map(truth, predicted, roi=roi)
    colours = dict(ARTICLE_COLOURS)
    if custom:
        colours["tp"] = (10, 200, 30)
        colours["tn"] = (5, 5, 250)
    out = overlay(
        image,
        code,
        alpha=alpha,
        colours={"tp": colours["tp"], "tn": colours["tn"]} if custom else None,
    )
    np.testing.assert_array_equal(out, _reference_blend(image, code, alpha, colours))


def test_outside_the_roi_keeps_the_image():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (20, 30), dtype=np.uint8)
    truth = rng.random(image.shape) < 0.5
    roi = np.zeros(image.shape, bool)
    roi[5:15, 10:20] = True
    code = confusion_map(truth, ~truth, roi=roi)
    out = overlay(image, code, alpha=0.5)
    outside = ~roi
    for channel in range(3):
        np.testing.assert_array_equal(out[..., channel][outside], image[outside])
    # Inside, every pixel is an error here (prediction = not truth): blended, not the image.
    assert not np.array_equal(out[roi], np.repeat(image[roi][:, None], 3, axis=1))
    # Only code 4 is "outside": a fully ignored map is the gray image itself.
    np.testing.assert_array_equal(
        overlay(image, np.full(image.shape, IGNORED, np.uint8)),
        np.repeat(image[..., None], 3, axis=2),
    )


def test_overlay_rejects_bad_inputs():
    code = np.zeros((3, 3), np.uint8)
    with pytest.raises(ValueError, match="uint8"):
        overlay(ORIGINAL.astype(np.uint16), code)
    with pytest.raises(ValueError, match="2-D"):
        overlay(np.zeros((3, 3, 3), np.uint8), code)
    with pytest.raises(ValueError, match="shape"):
        overlay(ORIGINAL, np.zeros((3, 4), np.uint8))


def test_to_uint8():
    image = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert to_uint8(image) is image
    np.testing.assert_array_equal(to_uint8(np.array([True, False])), [255, 0])
    np.testing.assert_array_equal(
        to_uint8(np.array([100, 102, 104], np.uint16)), [0, 128, 255]
    )  # 127.5 -> 128
    np.testing.assert_array_equal(to_uint8(np.array([0.0, 0.5, 2.0]), low=0, high=1), [0, 128, 255])
    np.testing.assert_array_equal(to_uint8(np.array([-5.0, 5.0]), low=0, high=10), [0, 128])
    np.testing.assert_array_equal(
        to_uint8(np.full(4, 7, np.uint16)), [0, 0, 0, 0]
    )  # constant: no division by 0
    values = np.random.default_rng(1).integers(0, 4096, 1000).astype(np.uint16)
    reference = np.clip(
        np.rint((values - values.min()) * (255 / (values.max() - values.min()))), 0, 255
    )
    np.testing.assert_array_equal(to_uint8(values), reference.astype(np.uint8))


# ------------------------------------------------------------------------------------------------
# Downsampling (previews, pyramid levels)
# ------------------------------------------------------------------------------------------------

_PRIORITY = [FN, FP, TP, TN, IGNORED]  # most informative first


def _blocks(image, factor):
    height, width = image.shape
    for y in range(0, height, factor):
        for x in range(0, width, factor):
            yield y // factor, x // factor, image[y : y + factor, x : x + factor]


def _reference(image, factor, kind):
    height, width = image.shape
    rows, cols = -(-height // factor), -(-width // factor)
    dtype = np.uint8 if kind == "confusion" else image.dtype
    out = np.empty((rows, cols), dtype)
    for r, c, block in _blocks(image, factor):
        if kind == "mean":
            if np.issubdtype(image.dtype, np.integer):  # exact mean, halves rounded up
                out[r, c] = math.floor(
                    Fraction(int(block.astype(np.int64).sum()), block.size) + Fraction(1, 2)
                )
            else:
                out[r, c] = block.astype(np.float64).mean()
        elif kind == "max":
            out[r, c] = block.max()
        else:
            present = set(block.ravel().tolist())
            out[r, c] = next(code for code in _PRIORITY if code in present)
    return out


def _image(kind, shape, dtype, seed):
    rng = np.random.default_rng(seed)
    if kind == "confusion":
        code = rng.choice(
            [TN, FP, FN, TP, IGNORED], size=shape, p=[0.9, 0.02, 0.02, 0.04, 0.02]
        ).astype(np.uint8)
        code[: shape[0] // 2, : shape[1] // 2] = IGNORED  # some blocks wholly outside the ROI
        return code
    if np.dtype(dtype).kind == "f":
        return rng.normal(0, 10, shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, int(info.max) + 1, shape).astype(dtype)


CASES = [
    ("mean", np.uint8),
    ("mean", np.uint16),
    ("mean", np.int16),
    ("mean", np.float32),
    ("max", np.uint8),
    ("max", np.uint16),
    ("max", np.int16),
    ("max", np.float32),
    ("confusion", np.uint8),
]


@pytest.mark.parametrize("kind, dtype", CASES, ids=[f"{k}-{np.dtype(d).name}" for k, d in CASES])
@pytest.mark.parametrize("factor", [1, 2, 3, 4, 8, 16, 64])
def test_reducers_against_a_block_loop(kind, dtype, factor):
    image = _image(kind, (37, 50), dtype, seed=factor)
    got = REDUCERS[kind](image, factor)
    expected = _reference(image, factor, kind)
    assert got.shape == expected.shape
    if np.dtype(dtype).kind == "f" and kind == "mean":
        np.testing.assert_allclose(got, expected, rtol=1e-6)
    else:
        np.testing.assert_array_equal(got, expected)
    assert got.dtype == image.dtype


@pytest.mark.parametrize("kind, dtype", CASES, ids=[f"{k}-{np.dtype(d).name}" for k, d in CASES])
@pytest.mark.parametrize("factor", [2, 4, 8])
def test_bands_and_tiles_reduce_like_the_whole(kind, dtype, factor):
    image = _image(kind, (101, 77), dtype, seed=10 + factor)
    whole = REDUCERS[kind](image, factor)
    band = 3 * factor
    stacked = np.concatenate(
        [REDUCERS[kind](image[y : y + band], factor) for y in range(0, 101, band)]
    )
    np.testing.assert_array_equal(stacked, whole)
    tile = 2 * factor
    rows = [
        np.concatenate(
            [REDUCERS[kind](image[y : y + tile, x : x + tile], factor) for x in range(0, 77, tile)],
            axis=1,
        )
        for y in range(0, 101, tile)
    ]
    np.testing.assert_array_equal(np.concatenate(rows), whole)


@pytest.mark.parametrize("factor", [2, 5, 8, 16, 64])
def test_block_confusion_keeps_a_single_false_negative_visible(factor):
    code = np.full((128, 128), TN, np.uint8)
    code[40:60, 70:90] = TP  # a vessel
    code[53, 77] = FN  # one missed pixel inside it
    code[100, 3] = FP
    reduced = block_confusion(code, factor)
    assert reduced[53 // factor, 77 // factor] == FN
    assert reduced[100 // factor, 3 // factor] == FP
    assert (reduced == FN).sum() == 1
    assert set(np.unique(reduced).tolist()) <= {TN, FP, FN, TP}


def test_block_confusion_priority():
    for codes, expected in [
        ((TN, TP), TP),
        ((TP, FP), FP),
        ((FP, FN), FN),
        ((IGNORED, TN), TN),
        ((IGNORED, IGNORED), IGNORED),
        ((TN, TN), TN),
        ((IGNORED, FN), FN),
    ]:
        assert block_confusion(np.array([list(codes)], np.uint8), 2).tolist() == [[expected]], codes


def test_block_max_keeps_any_foreground_of_a_uint8_mask():
    mask = np.zeros((9, 9), np.uint8)
    mask[8, 8] = 255  # in a partial edge block
    reduced = block_max(mask, 4)
    assert reduced.tolist() == [[0, 0, 0], [0, 0, 0], [0, 0, 255]]


def test_block_max_on_a_bool_mask_with_partial_blocks():
    mask = np.zeros((5, 5), bool)
    np.testing.assert_array_equal(block_max(mask, 2), np.zeros((3, 3), bool))


def test_block_mean_rounds_halves_up():
    image = np.array([[0, 1], [0, 0]], np.uint8)  # mean 0.25 -> 0
    assert block_mean(image, 2).tolist() == [[0]]
    image = np.array([[1, 1], [0, 0]], np.uint8)  # mean 0.5 -> 1
    assert block_mean(image, 2).tolist() == [[1]]
    image = np.array([[3, 0], [0, 3]], np.uint8)  # mean 1.5 -> 2
    assert block_mean(image, 2).tolist() == [[2]]
    image = np.array([[-1, -1], [0, 0]], np.int16)  # mean -0.5 -> 0 (up, towards +inf)
    assert block_mean(image, 2).tolist() == [[0]]
    image = np.array([[65535, 65535], [65535, 65534]], np.uint16)  # no overflow: 65534.75 -> 65535
    assert block_mean(image, 2).tolist() == [[65535]]
    # A partial block averages only the pixels it holds.
    assert block_mean(np.array([[10, 20, 200]], np.uint8), 2).tolist() == [[15, 200]]


def test_factor_one_returns_the_input():
    image = np.arange(9, dtype=np.uint8).reshape(3, 3)
    for reducer in REDUCERS.values():
        assert reducer(image, 1) is image


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 3000), st.integers(1, 3000), st.integers(1, 10**6))
def test_factor_for_is_the_smallest_sufficient_power_of_two(height, width, max_pixels):
    factor = factor_for((height, width), max_pixels)

    def size(f):
        return -(-height // f) * -(-width // f)

    assert factor & (factor - 1) == 0  # a power of two: divides tile sizes, matches pyramid levels
    assert size(factor) <= max_pixels
    assert factor == 1 or size(factor // 2) > max_pixels
