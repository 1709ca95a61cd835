"""segval.tiling and segval.denoise: plans cover every pixel once, tiles stitch back bit for bit.

The reference for every neighbourhood filter is ``scipy.ndimage`` run on the whole image with
``mode="reflect"``; segval runs the filter tile by tile, each tile read with a halo
(:func:`segval.tiling.read_padded`), and the stitched cores must be identical.
"""

import itertools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from segval import denoise
from segval.denoise import apply_chain, chain_halo, describe_chain, invert, step_radius
from segval.tiling import Chunk, Plan, Tile, chunk_id, plan, read_padded

# ------------------------------------------------------------------------------------------------
# plan()
# ------------------------------------------------------------------------------------------------


def test_plan_groups_whole_slices():
    p = plan((10, 1000, 1000), tile_size=256, chunk_megapixels=3)
    assert [(c.z0, c.z1, c.y0, c.y1) for c in p.chunks] == [
        (0, 3, 0, 1000),
        (3, 6, 0, 1000),
        (6, 9, 0, 1000),
        (9, 10, 0, 1000),
    ]
    assert p.grid == (4, 4)
    assert p.shape == (10, 1000, 1000) and p.tile_size == 256


def test_plan_cuts_a_huge_slice_into_bands_of_whole_tile_rows():
    p = plan((1, 5000, 1000), tile_size=256, chunk_megapixels=1)
    assert [(c.y0, c.y1) for c in p.chunks] == [
        (0, 768),
        (768, 1536),
        (1536, 2304),
        (2304, 3072),
        (3072, 3840),
        (3840, 4608),
        (4608, 5000),
    ]
    assert all((c.z0, c.z1) == (0, 1) for c in p.chunks)


def test_plan_one_tile_row_per_band_when_a_row_exceeds_the_budget():
    p = plan((2, 100, 1000), tile_size=32, chunk_megapixels=0.01)  # 10 000 px < 32 x 1000
    assert [(c.z0, c.y0, c.y1) for c in p.chunks] == [
        (z, y, min(y + 32, 100)) for z in range(2) for y in range(0, 100, 32)
    ]


def test_plan_rejects_empty_shapes():
    for shape in [(0, 10, 10), (1, 0, 10), (1, 10, 0)]:
        with pytest.raises(ValueError, match="empty"):
            plan(shape, 16, 1)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 5),
    st.integers(1, 200),
    st.integers(1, 200),
    st.sampled_from([5, 7, 16, 64, 256]),
    st.sampled_from([1e-6, 1e-4, 0.001, 0.005, 0.02, 0.1, 10.0]),
)
def test_plan_covers_every_pixel_exactly_once(slices, height, width, tile_size, megapixels):
    p = plan((slices, height, width), tile_size, megapixels)
    budget = max(1, int(megapixels * 1e6))
    covered = np.zeros((slices, height, width), np.int32)
    previous = None
    for index, chunk in enumerate(p.chunks):
        assert chunk.index == index and chunk.id == chunk_id(index) == f"c{index:04d}"
        assert p.chunk(chunk.id) is chunk
        assert 0 <= chunk.z0 < chunk.z1 <= slices and 0 <= chunk.y0 < chunk.y1 <= height
        assert chunk.y0 % tile_size == 0  # bands are whole tile rows
        assert chunk.shape == (chunk.z1 - chunk.z0, chunk.y1 - chunk.y0)
        if chunk.z1 - chunk.z0 > 1:
            assert (chunk.y0, chunk.y1) == (0, height)  # several slices: only whole slices
            assert (chunk.z1 - chunk.z0) * height * width <= budget
        elif (chunk.y0, chunk.y1) != (0, height):
            # A band: within the budget unless a single tile row already exceeds it.
            assert (chunk.y1 - chunk.y0) * width <= budget or chunk.y1 - chunk.y0 <= tile_size
        tiles = list(p.tiles(chunk))
        keys = [(t.z, t.row, t.col) for t in tiles]
        assert keys == sorted(keys)  # slice, row, column order
        for t in tiles:
            assert isinstance(t, Tile)
            assert (t.row, t.col) == (t.y0 // tile_size, t.x0 // tile_size)
            assert t.y0 % tile_size == 0 and t.x0 % tile_size == 0
            assert 0 < t.y1 - t.y0 <= tile_size and 0 < t.x1 - t.x0 <= tile_size
            assert chunk.z0 <= t.z < chunk.z1 and chunk.y0 <= t.y0 < t.y1 <= chunk.y1
            covered[t.z, t.y0 : t.y1, t.x0 : t.x1] += 1
        first = (chunk.z0, chunk.y0)
        assert previous is None or first > previous  # chunks in slice, row order
        previous = first
    assert (covered == 1).all()
    rows, cols = p.grid
    assert rows == -(-height // tile_size) and cols == -(-width // tile_size)
    assert sum(len(list(p.tiles(c))) for c in p.chunks) == slices * rows * cols


def test_plan_round_trips_through_json(tmp_path):
    p = plan((3, 500, 700), tile_size=128, chunk_megapixels=0.2)
    data = p.to_dict()
    assert data["grid"] == [4, 6]
    assert data["chunks"][0] == {"id": "c0000", "z": [0, 1], "y": [0, 256]}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(data))
    loaded = Plan.load(path)
    assert loaded == p
    # 0.2 MP / (128 x 700) = 2 tile rows per band: two bands per slice.
    assert [(c.z0, c.y0, c.y1) for c in loaded.chunks] == [
        (0, 0, 256),
        (0, 256, 500),
        (1, 0, 256),
        (1, 256, 500),
        (2, 0, 256),
        (2, 256, 500),
    ]
    assert loaded.chunk("c0003") == Chunk(3, 1, 2, 256, 500)


# ------------------------------------------------------------------------------------------------
# read_padded
# ------------------------------------------------------------------------------------------------


def _reader(image, calls=None):
    height, width = image.shape

    def read(z, y0, y1, x0, x1):
        assert z == 0 and 0 <= y0 < y1 <= height and 0 <= x0 < x1 <= width, (y0, y1, x0, x1)
        if calls is not None:
            calls.append((y0, y1, x0, x1))
        return image[y0:y1, x0:x1]

    return read


def _grid(height, width, tile):
    for y0 in range(0, height, tile):
        for x0 in range(0, width, tile):
            yield y0, min(y0 + tile, height), x0, min(x0 + tile, width)


@pytest.mark.parametrize("shape", [(97, 131), (64, 64), (3, 5), (1, 1), (2, 9), (1, 40)], ids=str)
def test_read_padded_is_a_window_of_the_symmetric_padded_image(shape):
    image = np.arange(np.prod(shape), dtype=np.int32).reshape(shape)
    for halo in (0, 1, 2, 3, 7):
        padded = np.pad(image, halo, mode="symmetric")
        for tile in [1, 3, 16, 40, 1000] if shape[0] * shape[1] <= 50 else [3, 16, 40, 1000]:
            calls = []
            for y0, y1, x0, x1 in _grid(*shape, tile):
                block = read_padded(_reader(image, calls), (1,) + shape, 0, y0, y1, x0, x1, halo)
                np.testing.assert_array_equal(
                    block,
                    padded[y0 : y1 + 2 * halo, x0 : x1 + 2 * halo],
                    err_msg=f"halo {halo} tile {tile} at {y0}, {x0}",
                )
            # Only in-bounds regions were read (checked in _reader), one read per tile.
            assert len(calls) == len(list(_grid(*shape, tile)))


# ------------------------------------------------------------------------------------------------
# Tile-exact filtering
# ------------------------------------------------------------------------------------------------


def _test_image(shape, dtype, seed=0):
    """Noise with plateaus and the dtype's extremes, so ties and saturation are exercised."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        image = rng.normal(0, 100, shape).astype(dtype)
        image[: shape[0] // 3, : shape[1] // 4] = np.float32(-7.25)
        return image
    info = np.iinfo(dtype)
    image = rng.integers(info.min, int(info.max) + 1, shape, dtype=dtype)
    image[: shape[0] // 3, : shape[1] // 4] = info.max
    image[shape[0] // 2 :, -max(1, shape[1] // 5) :] = info.min
    image[shape[0] // 4 : shape[0] // 2, shape[1] // 3 : shape[1] // 2] = rng.integers(0, 3)
    return image


def tiled_chain(image, chain, tile):
    """Run ``chain`` tile by tile through read_padded + apply_chain and stitch the cores."""
    height, width = image.shape
    halo = chain_halo(chain)
    out = np.empty_like(image)
    for y0, y1, x0, x1 in _grid(height, width, tile):
        padded = read_padded(_reader(image), (1, height, width), 0, y0, y1, x0, x1, halo)
        assert padded.shape == (y1 - y0 + 2 * halo, x1 - x0 + 2 * halo)
        core = apply_chain(padded, chain, (y0, y1, x0, x1), (height, width))
        assert core.shape == (y1 - y0, x1 - x0) and core.dtype == image.dtype
        out[y0:y1, x0:x1] = core
    return out


def scipy_chain(image, chain):
    for name, size in chain:
        assert name == "median"
        image = ndimage.median_filter(image, size=size, mode="reflect")
    return image


SHAPES = [(97, 131), (200, 200), (64, 64)]
TILES = [16, 40, 64, 100, 10_000]  # 10 000: the whole image as one tile


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("tile", TILES, ids=lambda t: "whole" if t == 10_000 else str(t))
@pytest.mark.parametrize(
    "dtype, size",
    [
        (np.uint8, 3),
        (np.uint8, 5),
        (np.uint8, 7),
        (np.uint16, 3),
        (np.uint16, 5),
        (np.uint16, 7),
        (np.float32, 3),
        (np.float32, 5),
    ],
    ids=lambda v: np.dtype(v).name if isinstance(v, type) else f"median{v}",
)
def test_tiled_median_equals_scipy(shape, tile, dtype, size):
    image = _test_image(shape, dtype)
    expected = ndimage.median_filter(image, size=size, mode="reflect")
    np.testing.assert_array_equal(tiled_chain(image, [("median", size)], tile), expected)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize(
    "chain",
    [
        [("median", 5), ("median", 3)],
        [("median", 3), ("median", 7)],
        [("median", 3), ("median", 1), ("median", 3)],
    ],
    ids=["m5-m3", "m3-m7", "m3-off-m3"],
)
@pytest.mark.parametrize("tile", [16, 40, 10_000], ids=["16", "40", "whole"])
def test_tiled_chain_of_medians_equals_scipy_applied_in_turn(dtype, chain, tile):
    image = _test_image((97, 131), dtype, seed=1)
    np.testing.assert_array_equal(tiled_chain(image, chain, tile), scipy_chain(image, chain))


@pytest.mark.parametrize("shape", [(3, 5), (1, 1), (2, 9), (1, 40), (6, 2), (4, 4)], ids=str)
@pytest.mark.parametrize(
    "chain",
    [
        [("median", 7)],
        [("median", 5)],
        [("median", 5), ("median", 3)],
        [("median", 7), ("median", 7)],
    ],
    ids=["m7", "m5", "m5-m3", "m7-m7"],
)
def test_images_smaller_than_the_halo(shape, chain):
    for dtype in (np.uint8, np.uint16, np.float32):
        image = _test_image(shape, dtype, seed=2)
        expected = scipy_chain(image, chain)
        for tile in (2, 10_000):
            np.testing.assert_array_equal(
                tiled_chain(image, chain, tile), expected, err_msg=f"{dtype} {tile}"
            )


def test_kesm_tiled_median3_equals_the_article_filter(kesm_inverted, kesm_median3):
    for tile in (64, 100):
        np.testing.assert_array_equal(
            tiled_chain(kesm_inverted, [("median", 3)], tile), kesm_median3
        )


def test_invert():
    u8 = np.array([[0, 1, 79, 254, 255]], np.uint8)
    np.testing.assert_array_equal(invert(u8, np.uint8), [[255, 254, 176, 1, 0]])
    assert invert(u8, np.uint8).dtype == np.uint8
    u16 = np.array([0, 1, 65535], np.uint16)
    np.testing.assert_array_equal(invert(u16, np.uint16), [65535, 65534, 0])
    assert invert(u16, np.uint16).dtype == np.uint16
    i16 = np.array([0, 1, 32767], np.int16)
    np.testing.assert_array_equal(invert(i16, np.int16), [-1, -2, -32768])
    f32 = np.array([-1.5, 0.0, 2.0], np.float32)
    np.testing.assert_array_equal(invert(f32, np.float32), [1.5, -0.0, -2.0])
    np.testing.assert_array_equal(invert(np.array([True, False]), bool), [False, True])


@pytest.mark.parametrize("dtype", [np.int8, np.int16])
def test_invert_signed_integers_reverses_the_scale(dtype):
    info = np.iinfo(dtype)
    values = np.arange(info.min, int(info.max) + 1, dtype=np.int64).astype(dtype)  # increasing
    inverted = invert(values, dtype)
    assert inverted.dtype == np.dtype(dtype)
    assert (np.diff(inverted.astype(np.int64)) < 0).all()  # strictly decreasing: scale reversed
    np.testing.assert_array_equal(inverted, int(info.max) + int(info.min) - values.astype(np.int64))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_invert_then_tiled_median_equals_whole_image(dtype):
    image = _test_image((97, 131), dtype, seed=3)
    inverted_whole = invert(image, dtype)
    # Inverting tile by tile and stitching is the inverse of the whole image (pointwise).
    stitched = np.empty_like(image)
    for y0, y1, x0, x1 in _grid(97, 131, 40):
        stitched[y0:y1, x0:x1] = invert(image[y0:y1, x0:x1], dtype)
    np.testing.assert_array_equal(stitched, inverted_whole)
    expected = ndimage.median_filter(inverted_whole, size=5, mode="reflect")
    np.testing.assert_array_equal(tiled_chain(inverted_whole, [("median", 5)], 40), expected)
    # Median and inversion commute for integers (order statistics of a decreasing map).
    if np.dtype(dtype).kind == "u":
        np.testing.assert_array_equal(
            expected, invert(ndimage.median_filter(image, size=5, mode="reflect"), dtype)
        )


def test_chain_bookkeeping():
    assert step_radius("median", 1) == 0
    assert step_radius("median", 3) == 1 and step_radius("median", 7) == 3
    assert chain_halo([]) == 0
    assert chain_halo([("median", 5), ("median", 3)]) == 3
    assert describe_chain([]) == "raw"
    assert describe_chain([("median", 1)]) == "raw"
    assert describe_chain([("median", 3)]) == "median3"
    assert describe_chain([("median", 5), ("median", 3)]) == "median5-median3"
    assert set(denoise.STEPS) == {
        "median",
        "gaussian",
        "bgmedian",
        "tophat",
        "rollingball",
        "clahe",
    }


def test_median_size_one_is_identity_and_even_sizes_are_rejected():
    image = _test_image((10, 12), np.uint8)
    assert denoise.median(image, 1) is image
    with pytest.raises(ValueError, match="odd"):
        denoise.median(image, 4)
    np.testing.assert_array_equal(
        apply_chain(image, [("median", 1)], (0, 10, 0, 12), (10, 12)), image
    )


@pytest.mark.parametrize(
    "dtype, size", [(np.uint8, 9), (np.uint16, 7), (np.float32, 7), (np.int16, 3), (np.float64, 3)]
)
def test_median_on_every_backend_matches_scipy_in_the_core(dtype, size):
    # OpenCV where it supports the size and dtype, scipy elsewhere: the core (away from the
    # library's own borders) must be the same.
    image = _test_image((40, 50), dtype, seed=4)
    r = size // 2
    got = denoise.median(image, size)
    expected = ndimage.median_filter(image, size=size, mode="reflect")
    np.testing.assert_array_equal(got[r:-r, r:-r], expected[r:-r, r:-r])
    assert got.dtype == image.dtype


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 70),
    st.integers(1, 70),
    st.sampled_from([3, 5, 7]),
    st.integers(1, 50),
    st.sampled_from([np.uint8, np.uint16, np.float32]),
    st.integers(0, 2**16),
)
def test_tiled_median_random_geometry(height, width, size, tile, dtype, seed):
    if np.dtype(dtype) == np.float32 and size == 7:
        size = 5
    image = _test_image((height, width), dtype, seed)
    chain = [("median", size)]
    np.testing.assert_array_equal(tiled_chain(image, chain, tile), scipy_chain(image, chain))


def test_every_combination_is_listed():
    # The parametrisations above really cover the brief's grid.
    combos = set(itertools.product(SHAPES, TILES))
    assert len(combos) == 15
