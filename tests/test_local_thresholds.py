"""Tests for segval.local_thresholds: tile-exactness, equality with skimage, Fiji definitions."""

import math

import numpy as np
import pytest

from segval import local_thresholds as lt
from segval.local_thresholds import (
    DEFAULT_PARAMS,
    LOCAL_METHODS,
    REFERENCE_PAD_MODE,
    local_halo,
    local_mask,
    local_threshold,
)

SHAPE = (97, 131)


def make_image(dtype, seed=0):
    """Smooth gradient + noise, with flat patches, a saturated patch and a zero patch."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0 : SHAPE[0], 0 : SHAPE[1]]
    base = 0.15 + 0.5 * xx / SHAPE[1] + 0.25 * yy / SHAPE[0] + 0.1 * np.sin(xx / 7.0)
    img = base + rng.normal(0.0, 0.08, SHAPE)
    img[10:30, 20:45] = 0.52  # flat, low contrast
    img[60:80, 90:120] = 1.0  # saturated
    img[70:90, 5:25] = 0.0  # zero
    img = np.clip(img, 0.0, 1.0)
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return img.astype(dtype)
    info = np.iinfo(dtype)
    return np.round(info.min + img * (int(info.max) - int(info.min))).astype(dtype)


def tiled(func, img, method, params, tile):
    """Apply func tile by tile on padded tiles cut from the symmetric-padded image; stitch."""
    h = local_halo(method, params)
    padded = np.pad(img, h, mode="symmetric")
    out = None
    for y0 in range(0, img.shape[0], tile):
        for x0 in range(0, img.shape[1], tile):
            y1, x1 = min(img.shape[0], y0 + tile), min(img.shape[1], x0 + tile)
            part = func(padded[y0 : y1 + 2 * h, x0 : x1 + 2 * h], method, params)
            if out is None:
                out = np.empty(img.shape, part.dtype)
            out[y0:y1, x0:x1] = part
    return out


def whole(func, img, method, params=None, mode="symmetric"):
    h = local_halo(method, params)
    return func(np.pad(img, h, mode=mode), method, params)


# --------------------------------------------------------------------------------------------
# Tile exactness
# --------------------------------------------------------------------------------------------

CASES = [
    ("local_mean", {"block_size": 15, "offset": 3}),
    ("local_gaussian", {"block_size": 35, "offset": -2}),
    ("local_gaussian", {"block_size": 15, "sigma": 1.7}),
    ("local_median", {"block_size": 9, "offset": 1}),
    ("niblack", {"window_size": 25, "k": -0.3}),
    ("sauvola", {}),
    ("phansalkar", {"radius": 7}),
    ("bernsen", {"radius": 5, "contrast_threshold": 40}),
    ("contrast", {"radius": 5}),
    ("midgrey", {"radius": 5, "offset": 2}),
    ("local_otsu", {"radius": 4}),
]
SKIMAGE_METHODS = LOCAL_METHODS[:5]


def _id(case):
    return case[0] + "".join(f"-{k}={v}" for k, v in case[1].items())


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_tiles_stitch_bit_identically(case, dtype):
    method, params = case
    img = make_image(dtype, seed=1)
    if method == "bernsen" and dtype == np.uint16:
        params = {**params, "contrast_threshold": params["contrast_threshold"] * 257}
    ref_t = whole(local_threshold, img, method, params)
    ref_m = whole(local_mask, img, method, params)
    assert ref_t.dtype == np.float64 and ref_t.shape == SHAPE
    assert ref_m.dtype == bool and ref_m.shape == SHAPE
    assert 0 < ref_m.sum() < ref_m.size  # a non-trivial segmentation
    np.testing.assert_array_equal(ref_m, img > ref_t)
    for tile in (16, 40, 64, max(SHAPE)):  # dividing or not; the last: one tile = whole image
        assert np.array_equal(tiled(local_threshold, img, method, params, tile), ref_t), tile
        assert np.array_equal(tiled(local_mask, img, method, params, tile), ref_m), tile


@pytest.mark.parametrize("method", LOCAL_METHODS)
def test_tiles_default_params_uint8(method):
    img = make_image(np.uint8, seed=2)
    ref = whole(local_threshold, img, method)
    assert np.array_equal(tiled(local_threshold, img, method, None, 40), ref)
    assert np.array_equal(tiled(local_mask, img, method, None, 40), img > ref)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
@pytest.mark.parametrize("method", SKIMAGE_METHODS)
def test_tiles_float_and_signed(method, dtype):
    params = {
        "local_mean": {"block_size": 15},
        "local_gaussian": {"block_size": 15},
        "local_median": {"block_size": 9},
        "niblack": {},
        "sauvola": {},
    }[method]
    img = make_image(dtype, seed=3)
    ref = whole(local_threshold, img, method, params)
    for tile in (16, 40):
        assert np.array_equal(tiled(local_threshold, img, method, params, tile), ref)


def test_phansalkar_stretch_tiles_and_definition():
    img = (make_image(np.uint8, seed=4) // 2 + 40).astype(np.uint8)  # range 40..167
    lo, hi = int(img.min()), int(img.max())
    params = {"radius": 5, "stretch": (lo, hi)}
    ref_m = whole(local_mask, img, "phansalkar", params)
    assert np.array_equal(tiled(local_mask, img, "phansalkar", params, 40), ref_m)
    # Fiji's ContrastEnhancer look-up table, applied by hand, then no stretch
    i = np.arange(256)
    lut = np.where(i <= lo, 0, np.where(i >= hi, 255, ((i - lo) / (hi - lo) * 255).astype(int)))
    stretched = lut[img].astype(np.uint8)
    assert stretched.min() == 0 and stretched.max() == 255
    np.testing.assert_array_equal(ref_m, whole(local_mask, stretched, "phansalkar", {"radius": 5}))


# --------------------------------------------------------------------------------------------
# Equality with scikit-image on whole images
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def skf():
    """skimage.filters (a test-only dependency: the reference segval is compared with)."""
    return pytest.importorskip("skimage.filters")


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("block_size", [3, 5, 15, 35])
@pytest.mark.parametrize("offset", [0, 5])
@pytest.mark.parametrize("method", ["gaussian", "median"])
def test_threshold_local_bit_identical(method, offset, block_size, dtype, skf):
    img = make_image(dtype)
    params = {"block_size": block_size, "offset": offset}
    ours = whole(local_threshold, img, "local_" + method, params)
    ref = skf.threshold_local(img, block_size, method=method, offset=offset)
    assert np.array_equal(ours, ref)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("block_size", [15, 35])
@pytest.mark.parametrize("offset", [0, 5])
def test_threshold_local_mean_to_rounding(offset, block_size, dtype, skf):
    """scipy's uniform_filter is a running mean (tmp += (new - old) / size): position-dependent
    rounding, so bitwise equality is impossible; segval returns the correctly rounded mean."""
    img = make_image(dtype)
    params = {"block_size": block_size, "offset": offset}
    ours = whole(local_threshold, img, "local_mean", params)
    ref = skf.threshold_local(img, block_size, method="mean", offset=offset)
    top = np.iinfo(dtype).max
    assert np.abs(ours - ref).max() <= 1e-13 * top
    # and ours is the exact mean: sum of the window (exact int64) / n
    h = block_size // 2
    p = np.pad(img.astype(np.int64), h, mode="symmetric")
    c = np.zeros((p.shape[0] + 1, p.shape[1] + 1), np.int64)
    c[1:, 1:] = p.cumsum(0).cumsum(1)
    b = block_size
    s = c[b:, b:] - c[:-b, b:] - c[b:, :-b] + c[:-b, :-b]
    assert np.array_equal(ours, s / (b * b) - offset)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16])
@pytest.mark.parametrize("window_size", [15, 25])
@pytest.mark.parametrize("method", ["niblack", "sauvola"])
def test_niblack_sauvola_bit_identical(method, window_size, dtype, skf):
    img = make_image(dtype)
    fn = skf.threshold_niblack if method == "niblack" else skf.threshold_sauvola
    ref = fn(img, window_size=window_size)
    params = {"window_size": window_size}
    # skimage pads with numpy "reflect": same padding -> identical everywhere
    assert REFERENCE_PAD_MODE[method] == "reflect"
    ours = whole(local_threshold, img, method, params, mode="reflect")
    assert np.array_equal(ours, ref)
    # segval's own ("symmetric") padding: identical away from the border
    h = window_size // 2
    ours_sym = whole(local_threshold, img, method, params)
    assert np.array_equal(ours_sym[h:-h, h:-h], ref[h:-h, h:-h])
    # non-default k (and r for sauvola)
    kw = {"k": 0.5} if method == "niblack" else {"k": 0.34, "r": 100.0}
    ref = fn(img, window_size=window_size, **kw)
    ours = whole(local_threshold, img, method, {**params, **kw}, mode="reflect")
    assert np.array_equal(ours, ref)


def test_niblack_sauvola_extreme_values_exact(skf):
    img = np.full((40, 50), 65535, np.uint16)
    img[::2, ::3] = 0
    for method, fn in (("niblack", skf.threshold_niblack), ("sauvola", skf.threshold_sauvola)):
        ours = whole(local_threshold, img, method, {"window_size": 35}, mode="reflect")
        assert np.array_equal(ours, fn(img, window_size=35))
    flat = np.full((30, 30), 65535, np.uint16)
    t = whole(local_threshold, flat, "niblack", {"window_size": 35})
    assert np.all(t == 65535.0)  # mean exact, std exactly 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", SKIMAGE_METHODS)
def test_float_images_match_skimage(method, dtype, skf):
    img = make_image(dtype)
    if method.startswith("local_"):
        ref = skf.threshold_local(img, 15, method=method[6:], offset=0.01)
        ours = whole(local_threshold, img, method, {"block_size": 15, "offset": 0.01})
    else:
        fn = skf.threshold_niblack if method == "niblack" else skf.threshold_sauvola
        ref = fn(img, window_size=15)
        ours = whole(local_threshold, img, method, {"window_size": 15}, mode="reflect")
    if method in ("local_gaussian", "local_median"):
        assert np.array_equal(ours, ref)  # origin-independent: bitwise, even for float32
    else:
        # Different (fixed-order vs running/integral) float summation: equal to rounding.  In flat
        # regions s = sqrt(g2 - m*m) amplifies the rounding of g2 - m*m to ~sqrt(eps).
        tol = 1e-6 if dtype == np.float32 else 1e-12 if method == "local_mean" else 1e-7
        np.testing.assert_allclose(ours, ref, rtol=0, atol=tol)


# --------------------------------------------------------------------------------------------
# Fiji methods: hand-computed examples (radius 1 = ImageJ's 3x3 kernel)
# --------------------------------------------------------------------------------------------


def window3(center, ring):
    """3x3 padded tile: one core pixel `center` whose 3x3 window holds `ring` around it."""
    a = np.array(ring[:4] + [center] + ring[4:], np.uint8).reshape(3, 3)
    return a


@pytest.mark.parametrize(
    "center, ring, params, expected",
    [
        # window min 10 max 101 -> mid (10 + 101) // 2 = 55; contrast 91 >= 15: value >= mid
        (55, [10, 10, 10, 10, 101, 101, 101, 101], {}, True),
        (54, [10, 10, 10, 10, 101, 101, 101, 101], {}, False),
        # contrast 15 is not < 15: normal rule, mid = 107
        (107, [100, 100, 100, 100, 115, 115, 115, 115], {}, True),
        (106, [100, 100, 100, 100, 115, 115, 115, 115], {}, False),
        # low contrast (1 < 15): foreground iff mid >= 128, whatever the pixel
        (130, [131] * 8, {}, True),  # mid 130: the window's minimum is foreground
        (125, [120] * 8, {}, False),  # mid 122: the window's maximum is background
        (127, [128] * 8, {}, False),  # mid (127 + 128) // 2 = 127 < 128
        # a larger contrast_threshold turns the first case into a low-contrast one
        (55, [10, 10, 10, 10, 101, 101, 101, 101], {"contrast_threshold": 100}, False),
    ],
)
def test_bernsen_hand(center, ring, params, expected):
    p = {"radius": 1, **params}
    tile = window3(center, ring)
    assert local_mask(tile, "bernsen", p)[0, 0] == expected
    assert (center > local_threshold(tile, "bernsen", p)[0, 0]) == expected


def test_bernsen_uint16_mid_level():
    tile = np.full((3, 3), 32768, np.uint16)
    tile[1, 1] = 32767  # low contrast, mid (32767 + 32768) // 2 = 32767 < 32768
    assert not local_mask(tile, "bernsen", {"radius": 1})[0, 0]
    tile[0, 0] = 32769  # mid 32768 >= 32768
    assert local_mask(tile, "bernsen", {"radius": 1})[0, 0]


@pytest.mark.parametrize(
    "center, ring, expected",
    [
        (55, [10, 10, 10, 10, 100, 100, 100, 100], True),  # |100-55| = 45 <= |55-10| = 45
        (54, [10, 10, 10, 10, 100, 100, 100, 100], False),  # 46 > 44
        (0, [0] * 8, False),  # tie, but value 0 is never foreground
        (200, [200] * 8, True),  # tie at a non-zero value
        (1, [0, 0, 0, 0, 2, 2, 2, 2], True),
    ],
)
def test_contrast_hand(center, ring, expected):
    tile = window3(center, ring)
    assert local_mask(tile, "contrast", {"radius": 1})[0, 0] == expected
    assert (center > local_threshold(tile, "contrast", {"radius": 1})[0, 0]) == expected


@pytest.mark.parametrize(
    "center, offset, expected_t",
    [(56, 0, 55.0), (55, 0, 55.0), (51, 5, 50.0), (50, 5, 50.0), (58, -3, 58.0)],
)
def test_midgrey_hand(center, offset, expected_t):
    tile = window3(center, [10, 10, 10, 10, 101, 101, 101, 101])
    t = local_threshold(tile, "midgrey", {"radius": 1, "offset": offset})[0, 0]
    assert t == expected_t  # (10 + 101) // 2 - offset
    assert local_mask(tile, "midgrey", {"radius": 1, "offset": offset})[0, 0] == (center > t)


def test_phansalkar_hand():
    tile = np.array([[0, 0, 255], [0, 128, 255], [0, 255, 255]], np.uint8)
    # sum 1148, sum of squares 276484, n 9; x = value / 255
    m = 1148 / (9 * 255)  # 0.50021786...
    sd = math.sqrt((276484 - 1148 * 1148 / 9) / 9) / 255  # 0.47140492...
    t = m * (1 + 2 * math.exp(-10 * m) + 0.25 * (sd / 0.5 - 1))  # p=2, q=10, k=0.25, r=0.5
    assert t == pytest.approx(0.49979219, abs=1e-8)
    got = local_threshold(tile, "phansalkar", {"radius": 1})[0, 0]
    assert got == pytest.approx(t * 255, rel=1e-14)  # 127.447...
    assert local_mask(tile, "phansalkar", {"radius": 1})[0, 0]  # 128 > 127.447
    got = local_threshold(tile, "phansalkar", {"radius": 1, "k": 0.5, "r": 0.25})[0, 0]
    assert got == pytest.approx(255 * m * (1 + 2 * math.exp(-10 * m) + 0.5 * (sd / 0.25 - 1)))


@pytest.mark.parametrize(
    "tile, expected_t, expected_fg",
    [
        # radius 1: the window is the 2x2 block up and left of the pixel: rows/cols -1..0
        # {10, 200, 210, 50}: between-class variance 3852.08 (t=10), 7656.25 (t=50), 2852.08
        ([[10, 200, 0], [210, 50, 0], [0, 0, 0]], 50.0, False),
        ([[10, 50, 99], [210, 200, 99], [99, 99, 99]], 50.0, True),  # 200 > 50; 99s are outside
        # {10, 10, 10, 200}: t = 10 (the only level with cnh < 1)
        ([[10, 10, 255], [200, 10, 255], [255, 255, 255]], 10.0, False),
        # uniform window: every level gives 0/0 = NaN, t stays 0 -> any non-zero value is fg
        ([[200, 200, 0], [200, 200, 0], [0, 0, 0]], 0.0, True),
        ([[0, 0, 9], [0, 0, 9], [9, 9, 9]], 0.0, False),
    ],
)
def test_local_otsu_hand(tile, expected_t, expected_fg):
    tile = np.array(tile, np.uint8)
    assert local_threshold(tile, "local_otsu", {"radius": 1})[0, 0] == expected_t
    assert local_mask(tile, "local_otsu", {"radius": 1})[0, 0] == expected_fg


def test_local_otsu_oval_window_radius2():
    # ImageJ OvalRoi(0, 0, 4, 4): the 4x4 block at offsets -2..1 without its corners (12 pixels)
    tile = np.full((5, 5), 10, np.uint8)
    tile[4, :] = 250  # offset +2: outside
    tile[:, 4] = 250
    for i, j in [(0, 0), (0, 3), (3, 0), (3, 3)]:  # corners: outside
        tile[i, j] = 250
    tile[1, 1] = 100
    tile[2, 2] = 60  # the pixel itself
    # window {10 x 10, 60, 100}: bcv(10) = 680.6 > bcv(60) = 557.8 -> t = 10
    assert local_threshold(tile, "local_otsu", {"radius": 2})[0, 0] == 10.0
    tile[0, 1] = 250  # inside: now {10 x 9, 60, 100, 250}
    assert local_threshold(tile, "local_otsu", {"radius": 2})[0, 0] == 100.0


def test_local_otsu_max_value_rule(monkeypatch):
    # Fiji: "value > t || value == 255"; where t reaches the dtype's max the surface is max - 0.5
    for dtype in (np.uint8, np.uint16):
        top = np.iinfo(dtype).max
        tile = np.array([[0, 0, 0, 0], [0, top, top - 1, 0], [0, 0, 0, 0]], dtype)
        monkeypatch.setattr(
            lt, "_local_otsu_levels", lambda p, r, top=top: np.full((1, 2), top, np.int64)
        )
        assert local_threshold(tile, "local_otsu", {"radius": 1}).tolist() == [[top - 0.5] * 2]
        assert local_mask(tile, "local_otsu", {"radius": 1}).tolist() == [[True, False]]


# --------------------------------------------------------------------------------------------
# Fiji methods: masks produced by Fiji itself
# --------------------------------------------------------------------------------------------


def fiji_fixture_image():
    y, x = np.mgrid[0:24, 0:28]
    v = (3 * x * x + 7 * y * y + 5 * x * y + 11 * x + 13 * y) % 97 + 4 * x + 3 * y
    v[14:22, 2:10] = 131  # flat patch above mid-grey
    v[2:7, 18:25] = 60  # flat patch below mid-grey
    return v.astype(np.uint8)  # values 0..250


# Auto_Local_Threshold v1.11 (fiji/Auto_Local_Threshold) run headless on fiji_fixture_image() with
# ImageJ 1.54u, "white objects on black background": the 255-pixels, np.packbits'ed, as hex.
FIJI_MASKS = {
    ("bernsen", 3, 0): (
        "1a9fcbb353ddbecb3f8052a7e4039a388035b0640059f94076c0ddbfb3c55e34fe56febcedb0678c"
        "a4067195806f32b18d7fd301a3fd3065fd93dda3f11e6bff1c3aff0231aff01fdae7831dbf94e195"
        "f29c1abc"
    ),
    ("bernsen", 2, 40): (
        "1a98cbb353ddbecb3f8052a7e4039238803530640059f94064c0ddbfb3c55e04fe54febe6db8678c"
        "a4026195806e32b18d7fd301a3393065ff13bdb3f11e6aff9c3abff231af601fcaef03bdb794e095"
        "f69d9abc"
    ),
    ("contrast", 3, 0): (
        "1a9fcbb3539dbecb3f8052a7e4039a38803530640059f94076c0ddbfb3c55e34fe56febcedb0670c"
        "a4067195806f32b18d7fd301a3fd3065fd93dda3f11e6bff1c3aff0231aff01fcae7831dbf94e195"
        "f29c1abc"
    ),
    ("midgrey", 3, 2): (
        "1a9fcbb353ddbecb3f8052a7e4039a388035b0640059f94076c0ddbfb3c55e34fe56febcedb0678c"
        "a4067195806f32b18d7fd301a3fd3065fd93ddb3f11e6bff1e3aff0231aff01fdae7831dbf94e195"
        "f69c1abc"
    ),
    ("phansalkar", 3, 0): (
        "1adfdbb35bfffedb3f8052b7ec079b398075b8ec0459fb407ee1ddffb3cd7ff4fed7ffbfeffff7bd"
        "f7ff7fb7f1fff7fdbf7ffb8ff3fdbfefffdbfff3fddefffffffeffff33efffdfdfefffffffbeffbf"
        "f7dffffc"
    ),
    ("local_otsu", 3, 0): (
        "1a9ccbf353cdfedb3f8052a7e40392388075306c0459f94076c0ddffb3c55ff4fe56febcedb8e7cc"
        "a4067195806f76b18d7fd301a3fd3065fd93fdb3f99e6bff9e3abffa30aff01fcaec039db794c195"
        "f29c3abc"
    ),
}


@pytest.mark.parametrize("key", list(FIJI_MASKS), ids=[f"{m}-r{r}-{p}" for m, r, p in FIJI_MASKS])
def test_fiji_reference_masks(key):
    method, r, par = key
    img = fiji_fixture_image()
    expected = np.unpackbits(np.frombuffer(bytes.fromhex(FIJI_MASKS[key]), np.uint8))
    expected = expected[: img.size].reshape(img.shape).astype(bool)
    params = {"radius": r}
    if method == "bernsen" and par:
        params["contrast_threshold"] = par
    if method == "midgrey":
        params["offset"] = par
    if method == "phansalkar":
        params["stretch"] = (int(img.min()), int(img.max()))  # Fiji stretches the global range
    ours = whole(local_mask, img, method, params)
    inner = (slice(r + 1, -r - 1), slice(r + 1, -r - 1))
    np.testing.assert_array_equal(ours[inner], expected[inner])  # windows inside the image
    if method in ("bernsen", "contrast", "midgrey"):
        # min/max over a mirrored window equal those over ImageJ's edge-replicated one
        np.testing.assert_array_equal(ours, expected)
    elif method == "phansalkar":
        # ImageJ replicates edge pixels: with that padding the whole image agrees
        edge = whole(local_mask, img, method, params, mode=REFERENCE_PAD_MODE[method])
        np.testing.assert_array_equal(edge, expected)


# --------------------------------------------------------------------------------------------
# Fiji methods: literal per-pixel references on small random images
# --------------------------------------------------------------------------------------------


def imagej_disk_offsets(r):
    """ImageJ's circular kernel for an integer radius: dx**2 + dy**2 <= r**2 + 1."""
    rng = range(-r, r + 1)
    return [(dy, dx) for dy in rng for dx in rng if dx * dx + dy * dy <= r * r + 1]


def imagej_oval(r):
    a = r
    return np.array(
        [
            [
                ((x - (a - 0.5)) ** 2 / a**2 + (y - (a - 0.5)) ** 2 / a**2) <= 1.0
                for x in range(2 * r)
            ]
            for y in range(2 * r)
        ]
    )


def celebi_otsu(values, levels):
    """Fiji's local Otsu for one window (Celebi's code), looping over all levels."""
    data = np.bincount(values, minlength=levels)
    term = 1.0 / int(data.sum())
    histo = term * data.astype(np.float64)
    cnh = np.cumsum(histo)  # sequential, like the Java loop
    mean = np.cumsum(np.arange(levels) * histo)
    with np.errstate(all="ignore"):
        num = mean[-1] * cnh - mean
        bcv = num * (num / (cnh * (1.0 - cnh)))
    best, thr = 0.0, 0
    for ih in np.flatnonzero(bcv > 0):  # "if (max_bcv < bcv)" in increasing ih
        if best < bcv[ih]:
            best, thr = bcv[ih], int(ih)
    return thr


def literal_fiji(img, method, r, **kw):
    p = np.pad(img, r, mode="symmetric")
    out = np.zeros(img.shape, bool)
    top = np.iinfo(img.dtype).max
    offs = imagej_disk_offsets(r)
    oval = imagej_oval(r)
    for y in range(img.shape[0]):
        for x in range(img.shape[1]):
            v = int(img[y, x])
            if method == "local_otsu":
                win = p[y : y + 2 * r, x : x + 2 * r][oval]
                t = celebi_otsu(win, top + 1)
                out[y, x] = v > t or v == top
                continue
            win = np.array([int(p[y + r + dy, x + r + dx]) for dy, dx in offs])
            mn, mx = int(win.min()), int(win.max())
            if method == "bernsen":
                mid = (mn + mx) // 2
                if mx - mn < kw.get("contrast_threshold", 15):
                    out[y, x] = mid >= (top + 1) // 2
                else:
                    out[y, x] = v >= mid
            elif method == "contrast":
                out[y, x] = abs(mx - v) <= abs(v - mn) and v != 0
            elif method == "midgrey":
                out[y, x] = v > (mx + mn) // 2 - kw.get("offset", 0)
    return out


FIJI_LITERAL = [
    (m, r, dt)
    for m, r in [
        ("bernsen", 3),
        ("contrast", 2),
        ("midgrey", 3),
        ("local_otsu", 2),
        ("local_otsu", 3),
    ]
    for dt in (np.uint8, np.uint16)
]


@pytest.mark.parametrize("method, r, dtype", FIJI_LITERAL)
def test_fiji_literal_reference(method, r, dtype):
    rng = np.random.default_rng(5)
    top = np.iinfo(dtype).max
    # (the uint16 Otsu reference loops over 65536 levels per pixel: keep that image small)
    shape = (8, 9) if (method == "local_otsu" and dtype == np.uint16) else (14, 17)
    img = rng.integers(0, top + 1, shape).astype(dtype)
    img[3:9, 4:11] = img[3, 4]  # a flat patch
    img[10:, :5] = top // 2 + 3  # a flat patch above mid-grey
    img[0, :4] = top
    kw = {}
    if method == "bernsen":
        kw = {"contrast_threshold": 60 * (1 if dtype == np.uint8 else 257)}
    expected = literal_fiji(img, method, r, **kw)
    got = whole(local_mask, img, method, {"radius": r, **kw})
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype, shift", [(np.uint8, 0), (np.uint16, 4), (np.uint16, 7)])
def test_local_otsu_histogram_and_sorted_paths_agree(dtype, shift):
    # (local_mask picks one path per tile by the tile's grey range; both must agree bit for bit)
    img = make_image(dtype, seed=6)[:40, :50] >> shift  # uint16 >> 4: 12-bit, >> 7: 9-bit
    p = np.pad(img, 6, mode="symmetric")
    a = lt._otsu_hist(p, 6, chunk=16)
    b = lt._otsu_sorted(p, 6, max_elements=50_000)
    assert np.array_equal(a, b)


def test_local_otsu_mixed_paths_stitch(monkeypatch):
    # dim tiles (< 1024 grey levels) take the histogram path, the others the sorting path
    rng = np.random.default_rng(8)
    img = rng.integers(100, 600, (40, 64)).astype(np.uint16)
    img[:, 40:] = rng.integers(0, 65536, (40, 24))
    params = {"radius": 3}
    calls = []
    hist, srt = lt._otsu_hist, lt._otsu_sorted
    monkeypatch.setattr(lt, "_otsu_hist", lambda *a: calls.append("hist") or hist(*a))
    monkeypatch.setattr(lt, "_otsu_sorted", lambda *a: calls.append("sorted") or srt(*a))
    ref = whole(local_threshold, img, "local_otsu", params)
    assert calls == ["sorted"]
    assert np.array_equal(tiled(local_threshold, img, "local_otsu", params, 16), ref)
    assert {"hist", "sorted"} <= set(calls)


def test_phansalkar_matches_direct_definition():
    img = make_image(np.uint8, seed=7)[:30, :40]
    r = 3
    t = whole(local_threshold, img, "phansalkar", {"radius": r})
    p = np.pad(img, r, mode="symmetric").astype(np.float64) / 255
    offs = imagej_disk_offsets(r)
    exp = np.empty(img.shape)
    for y in range(img.shape[0]):
        for x in range(img.shape[1]):
            w = np.array([p[y + r + dy, x + r + dx] for dy, dx in offs])
            m, s = w.mean(), w.std()
            exp[y, x] = 255 * m * (1 + 2 * math.exp(-10 * m) + 0.25 * (s / 0.5 - 1))
    np.testing.assert_allclose(t, exp, rtol=1e-12)


# --------------------------------------------------------------------------------------------
# API and parameter validation
# --------------------------------------------------------------------------------------------


def test_api_names_and_halos():
    assert set(DEFAULT_PARAMS) == set(LOCAL_METHODS) == set(REFERENCE_PAD_MODE)
    assert len(LOCAL_METHODS) == 10
    assert local_halo("local_mean", {"block_size": 15}) == 7
    assert local_halo("local_gaussian", {"block_size": 35}) == 23  # int(4 * 34/6 + 0.5)
    assert local_halo("local_gaussian", {"sigma": 2.0}) == 8
    assert local_halo("niblack") == 7
    assert local_halo("local_otsu") == 15
    assert local_halo("bernsen", {"radius": 4}) == 4
    for method in LOCAL_METHODS:
        assert local_halo(method, DEFAULT_PARAMS[method]) >= 1


@pytest.mark.parametrize(
    "method, params, match",
    [
        ("local_mean", {"block_size": 4}, r"'block_size' must be an odd integer >= 1"),
        ("local_gaussian", {"block_size": 0}, r"'block_size' must be an odd integer"),
        ("local_median", {"block_size": 2.5}, r"'block_size' must be an odd integer"),
        ("niblack", {"window_size": 16}, r"'window_size' must be an odd integer"),
        ("sauvola", {"window_size": True}, r"'window_size' must be an odd integer"),
        ("niblack", {"k": float("nan")}, r"'k' must be a finite real number"),
        ("sauvola", {"k": "0.2"}, r"'k' must be a finite real number"),
        ("phansalkar", {"k": float("inf")}, r"'k' must be a finite real number"),
        ("sauvola", {"r": 0}, r"'r' must be a finite real number > 0 or None"),
        ("phansalkar", {"r": -1}, r"'r' must be a finite real number > 0"),
        ("bernsen", {"radius": 0}, r"'radius' must be an integer >= 1"),
        ("local_otsu", {"radius": 2.5}, r"'radius' must be an integer >= 1"),
        ("phansalkar", {"stretch": (200, 100)}, r"'stretch' must be None or a pair"),
        ("local_gaussian", {"sigma": -1}, r"'sigma' must be a finite real number >= 0 or None"),
        (
            "niblack",
            {"block_size": 15},
            r"unknown parameter\(s\) 'block_size'; accepted "
            r"parameters: window_size, k",
        ),
        ("otsu", None, r"unknown local threshold method 'otsu'; accepted methods: local_mean, "),
    ],
)
def test_parameter_validation(method, params, match):
    with pytest.raises(ValueError, match=match):
        local_halo(method, params)
    with pytest.raises(ValueError, match=match):
        local_threshold(np.zeros((40, 40), np.uint8), method, params)


def test_input_validation():
    with pytest.raises(
        TypeError,
        match=r"bernsen: unsupported dtype float32; accepted dtypes: "
        r"uint8, uint16",
    ):
        local_mask(np.zeros((40, 40), np.float32), "bernsen")
    with pytest.raises(TypeError, match="unsupported dtype int32"):
        local_threshold(np.zeros((40, 40), np.int32), "niblack")
    with pytest.raises(ValueError, match="too small for a halo of 7"):
        local_threshold(np.zeros((14, 40), np.uint8), "niblack")
    with pytest.raises(ValueError, match="2-D"):
        local_threshold(np.zeros((20, 20, 3), np.uint8), "niblack")
    with pytest.raises(ValueError, match="within the dtype's range"):
        local_threshold(np.zeros((40, 40), np.uint8), "phansalkar", {"stretch": (0, 300)})
    # a tile of exactly 2 * halo + 1 is fine
    assert local_threshold(np.zeros((15, 15), np.uint8), "niblack").shape == (1, 1)
    # non-native byte order (e.g. big-endian TIFF data) gives the same result
    img = make_image(np.uint16)[:40, :40]
    for method in ("niblack", "bernsen", "local_otsu"):
        assert np.array_equal(
            local_threshold(img.astype(">u2"), method, {}), local_threshold(img, method)
        )
    # integral floats are accepted for integer parameters
    assert local_halo("local_mean", {"block_size": 15.0}) == 7
