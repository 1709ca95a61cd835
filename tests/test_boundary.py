"""segval.boundary: HD, HD95 and ASSD against brute force, tiled against whole, edge cases.

The independent reference is brute force: boundaries with ``scipy.ndimage.binary_erosion`` (as
MetricsReloaded's ``border_map``), all pairwise distances between boundary pixel centres with
``scipy.spatial.distance.cdist`` on coordinates scaled by the spacing, the directed minima, and
``np.percentile``.  segval computes the same pixel pairs' distances through a different float
expression (``s * sqrt(dy**2 + dx**2)`` from the distance transform's offsets, sums with
``math.fsum``), so values are compared to 1e-12 relative; with spacing 1 HD and HD95 are equal.
Tiled against whole-image results is compared with ``==``: the module promises bit-identity when
nothing is unresolved.
"""

import json
import math
import random

import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.spatial.distance import cdist, directed_hausdorff
from skimage.metrics import hausdorff_distance

from segval.boundary import (
    EDGE_CASES,
    RESULT_KEYS,
    Histogram,
    TileDistances,
    boundary_distances,
    boundary_map,
    boundary_metrics,
    halo_to_resolve,
    histogram_percentile,
    merge,
    reduce,
    tiled_boundary_distances,
    tiled_boundary_metrics,
)

SPACINGS = [1.0, 0.5, (0.5, 0.7), (2.0, 1.0)]


def reference_boundary(mask):
    """MetricsReloaded's border map: mask minus its erosion (cross element, background outside)."""
    mask = np.asarray(mask, bool)
    return mask & ~ndi.binary_erosion(mask)


def directed_distances(truth, predicted, spacing, roi=None):
    """Brute-force directed distance lists (truth -> prediction, prediction -> truth)."""
    scale = np.broadcast_to(np.asarray(spacing, float), (2,))
    bt, bp = reference_boundary(truth), reference_boundary(predicted)
    st_, sp = (bt, bp) if roi is None else (bt & roi, bp & roi)
    pt = np.argwhere(bt) * scale
    pp = np.argwhere(bp) * scale
    d_tp = cdist(np.argwhere(st_) * scale, pp).min(axis=1)
    d_pt = cdist(np.argwhere(sp) * scale, pt).min(axis=1)
    return d_tp, d_pt


def brute_force(truth, predicted, spacing, roi=None):
    d_tp, d_pt = directed_distances(truth, predicted, spacing, roi)
    both = np.concatenate([d_tp, d_pt])
    return {
        "hd": both.max(),
        "hd95": max(np.percentile(d, 95) for d in (d_tp, d_pt) if d.size),
        "assd": both.sum() / both.size,
        "truth_boundary": d_tp.size,
        "predicted_boundary": d_pt.size,
    }


def blobs(shape, seed, sigma=3.0, level=0.6):
    """Smooth random blobs (a few percent to tens of percent foreground)."""
    rng = np.random.default_rng(seed)
    field = ndi.gaussian_filter(rng.random(shape), sigma)
    return field > np.quantile(field, level)


def pair(shape, seed):
    """A truth of blobs and a prediction: the truth shifted by a pixel, dilated, with specks."""
    truth = blobs(shape, seed)
    rng = np.random.default_rng(seed + 1000)
    predicted = ndi.binary_dilation(np.roll(truth, (1, -1), axis=(0, 1)))
    predicted ^= rng.random(shape) < 0.002
    return truth, predicted


def assert_same(result, expected, exact_keys=()):
    for key, value in expected.items():
        if key in exact_keys or isinstance(value, (int, np.integer)):
            assert result[key] == value, key
        else:
            assert result[key] == pytest.approx(value, rel=1e-12, abs=1e-12), key


# --------------------------------------------------------------------------------------------------
# Definitions: boundary, percentile, whole-image metrics vs brute force
# --------------------------------------------------------------------------------------------------


def test_boundary_map_is_metricsreloaded_border_map():
    for seed in range(5):
        mask = blobs((40, 50), seed, sigma=2, level=0.5 if seed % 2 else 0.1)
        np.testing.assert_array_equal(boundary_map(mask), reference_boundary(mask))
    frame = boundary_map(np.ones((4, 5), bool))  # the image edge is boundary
    assert frame.sum() == 2 * 4 + 2 * 5 - 4 and not frame[1:-1, 1:-1].any()


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.sampled_from([0.0, 0.5, 1.0, 1.4142135623730951, 2.2, 3.0, 7.25, 100.0]),
        min_size=1,
        max_size=60,
    ),
    q=st.sampled_from([0, 5, 50, 90, 95, 99, 99.9, 100]),
)
def test_histogram_percentile_equals_numpy_to_the_bit(values, q):
    assert histogram_percentile(Histogram.of(values), q) == np.percentile(values, q)


def test_histogram_percentile_with_infinite_upper_bounds():
    h = Histogram.of([1.0] * 19 + [math.inf])
    assert histogram_percentile(h, 95) == math.inf  # interpolates between 1 and inf
    h = Histogram.of([1.0] * 20 + [math.inf])
    assert histogram_percentile(h, 95) == 1.0  # the 95th percentile is exactly the 20th value
    assert math.isnan(histogram_percentile(Histogram.empty(), 95))


@pytest.mark.parametrize("spacing", SPACINGS)
def test_whole_image_equals_brute_force(spacing):
    for seed in range(4):
        truth, predicted = pair((37, 45), seed)
        result = boundary_metrics(truth, predicted, spacing)
        assert result["edge_case"] == "none" and result["unresolved"] == 0
        exact = ("hd", "hd95") if spacing == 1.0 else ()
        assert_same(result, brute_force(truth, predicted, spacing), exact)
        for name in ("hd", "hd95", "assd"):
            assert result[f"{name}_lower"] == result[name] == result[f"{name}_upper"]


@settings(max_examples=40, deadline=None)
@given(
    truth=hnp.arrays(bool, (9, 11)),
    predicted=hnp.arrays(bool, (9, 11)),
    spacing=st.sampled_from(SPACINGS),
)
def test_random_masks_equal_brute_force(truth, predicted, spacing):
    result = boundary_metrics(truth, predicted, spacing)
    if not truth.any() or not predicted.any():
        assert result["edge_case"] != "none" and math.isnan(result["hd"])
        return
    assert_same(result, brute_force(truth, predicted, spacing))


def test_roi_restricts_the_measured_pixels_only():
    truth, predicted = pair((40, 48), 7)
    roi = np.zeros(truth.shape, bool)
    roi[5:30, 10:40] = True
    result = boundary_metrics(truth, predicted, (0.5, 0.7), roi=roi)
    assert_same(result, brute_force(truth, predicted, (0.5, 0.7), roi=roi))
    assert boundary_metrics(truth, predicted, roi=np.zeros_like(roi))["edge_case"] == "empty"


def test_hausdorff_matches_skimage_and_scipy():
    """scikit-image's hausdorff_distance takes all nonzero pixels as points: give it the boundaries.
    scipy's directed_hausdorff takes point sets: give it the scaled boundary coordinates."""
    for seed in range(3):
        truth, predicted = pair((50, 60), seed)
        bt, bp = reference_boundary(truth), reference_boundary(predicted)
        assert boundary_metrics(truth, predicted)["hd"] == hausdorff_distance(bt, bp)
        scale = np.array([0.5, 0.7])
        a, b = np.argwhere(bt) * scale, np.argwhere(bp) * scale
        hd = max(directed_hausdorff(a, b)[0], directed_hausdorff(b, a)[0])
        assert boundary_metrics(truth, predicted, (0.5, 0.7))["hd"] == pytest.approx(hd, rel=1e-12)


# --------------------------------------------------------------------------------------------------
# Edge cases
# --------------------------------------------------------------------------------------------------


def test_edge_cases():
    empty = np.zeros((20, 30), bool)
    some = np.zeros((20, 30), bool)
    some[5:9, 5:12] = True
    for truth, predicted, case in (
        (empty, empty, "both_empty"),
        (empty, some, "reference_empty"),
        (some, empty, "prediction_empty"),
    ):
        for result in (
            boundary_metrics(truth, predicted),
            tiled_boundary_metrics(truth, predicted, 1.0, 8, 3),
        ):
            assert result["edge_case"] == case
            assert all(
                math.isnan(result[k])
                for k in RESULT_KEYS
                if k not in ("unresolved", "truth_boundary", "predicted_boundary")
            )
            assert result["unresolved"] == 0
    assert set(EDGE_CASES) >= {"both_empty", "reference_empty", "prediction_empty", "empty", "none"}


def test_identical_masks_have_zero_distances():
    truth, _ = pair((60, 70), 3)
    for spacing in SPACINGS:
        result = boundary_metrics(truth, truth, spacing)
        assert (result["hd"], result["hd95"], result["assd"], result["edge_case"]) == (
            0.0,
            0.0,
            0.0,
            "none",
        )
        assert result["truth_boundary"] == result["predicted_boundary"] == boundary_map(truth).sum()


def test_masks_touching_the_image_border():
    full = np.ones((12, 16), bool)
    left = np.zeros((12, 16), bool)
    left[:, :6] = True  # touches top, bottom and left edges
    result = boundary_metrics(full, full)
    assert result["hd"] == 0 and result["truth_boundary"] == 2 * 12 + 2 * 16 - 4
    result = boundary_metrics(full, left)
    assert_same(result, brute_force(full, left, 1.0), ("hd", "hd95"))
    assert result["hd"] == 10.0  # the right edge of the full mask is 10 px from column 5
    for spacing in SPACINGS:
        assert_same(boundary_metrics(left, full, spacing), brute_force(left, full, spacing))


# --------------------------------------------------------------------------------------------------
# Tiled = whole, and the bounds when the halo is too small
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spacing", [1.0, 0.5, (0.5, 0.7)])
def test_tiled_equals_whole_when_resolved(spacing):
    truth, predicted = pair((200, 300), 11)
    # objects at the image borders: mirrored halos would duplicate them
    truth[:, :2] = predicted[:, :3] = True
    truth[-4:, 100:140] = True
    predicted[-1:, 98:141] = True
    whole = boundary_metrics(truth, predicted, spacing)
    summaries = tiled_boundary_distances(truth, predicted, spacing, tile_size=64, halo=32)
    tiled = reduce(summaries)
    assert tiled["unresolved"] == 0 and whole["edge_case"] == "none"
    assert tiled == whole
    merged = merge(summaries)
    random.Random(0).shuffle(summaries)  # any order, any grouping
    assert merge([merge(summaries[:5]), merge(summaries[5:])]) == merged
    assert reduce([merge(summaries[:5]), merge(summaries[5:])]) == whole


def test_tiled_equals_whole_with_an_roi():
    truth, predicted = pair((130, 150), 5)
    roi = blobs(truth.shape, 99, sigma=8, level=0.4)
    whole = boundary_metrics(truth, predicted, 0.5, roi=roi)
    assert tiled_boundary_metrics(truth, predicted, 0.5, 48, 24, roi=roi) == whole


def test_halo_content_beyond_the_image_is_ignored():
    truth, predicted = pair((70, 90), 2)
    halo = 10
    padded = [np.pad(m, halo, mode="symmetric") for m in (truth, predicted)]
    garbage = np.random.default_rng(0).random(padded[0].shape) < 0.5
    inside = np.zeros(padded[0].shape, bool)
    inside[halo:-halo, halo:-halo] = True
    noisy = [np.where(inside, m, garbage) for m in padded]
    kwargs = {"origin": (0, 0), "image_shape": truth.shape}
    whole = boundary_distances(truth, predicted, 0)
    for t, p in (padded, noisy):
        summary = boundary_distances(t, p, halo, 1.0, **kwargs)
        assert reduce([summary]) == reduce([whole])


def test_mirrored_halo_would_hide_true_boundaries():
    """Why origin/image_shape matter: a band touching the left image edge, whose edge column is
    boundary.  Read as real data (origin placed inside a bigger image), the mirrored halo continues
    the band, hides that column and adds false boundary pixels of the prediction's mirror image."""
    truth = np.zeros((20, 20), bool)
    truth[:, :4] = True
    predicted = np.zeros((20, 20), bool)
    predicted[:, 2:4] = True
    halo = 4
    t, p = (np.pad(m, halo, mode="symmetric") for m in (truth, predicted))
    right = boundary_distances(t, p, halo, origin=(0, 0), image_shape=(20, 20))
    wrong = boundary_distances(
        t, p, halo, origin=(halo, halo), image_shape=(20 + 2 * halo, 20 + 2 * halo)
    )
    assert reduce([right]) == boundary_metrics(truth, predicted)
    assert reduce([right])["hd"] == 2.0  # column 0 of the truth to column 2 of the prediction
    assert reduce([wrong])["hd"] == 1.0


def test_far_blob_is_unresolved_and_bounded():
    truth, predicted = pair((200, 300), 21)
    truth[150:, 200:] = False
    predicted[150:, 200:] = False
    predicted[180:186, 280:286] = True  # isolated blob, far from every truth boundary pixel
    whole = boundary_metrics(truth, predicted, (0.5, 0.7))
    tiled = tiled_boundary_metrics(truth, predicted, (0.5, 0.7), tile_size=64, halo=8)
    assert tiled["unresolved"] > 0 and tiled["edge_case"] == "none"
    assert math.isnan(tiled["hd"]) and math.isnan(tiled["assd"])
    assert tiled["hd_lower"] >= 8 * 0.5  # the guaranteed lower bound: T = halo * min(spacing)
    for name in ("hd", "hd95", "assd"):
        assert tiled[f"{name}_lower"] <= whole[name] <= tiled[f"{name}_upper"]
        if not math.isnan(tiled[name]):
            assert tiled[name] == whole[name]
    halo = halo_to_resolve(tiled, (0.5, 0.7))
    assert halo is not None and halo > 8
    assert tiled_boundary_metrics(truth, predicted, (0.5, 0.7), tile_size=64, halo=halo) == whole


def test_no_partner_in_the_padded_tile_gives_infinite_upper_bound():
    truth = np.zeros((64, 64), bool)
    predicted = np.zeros((64, 64), bool)
    truth[2:6, 2:6] = True
    predicted[56:60, 56:60] = True
    tiled = tiled_boundary_metrics(truth, predicted, 1.0, tile_size=16, halo=4)
    assert tiled["unresolved"] == 24 and tiled["hd_upper"] == math.inf
    assert tiled["hd_lower"] == 4.0 and halo_to_resolve(tiled, 1.0) is None
    assert tiled["hd_lower"] <= boundary_metrics(truth, predicted)["hd"]


@pytest.mark.parametrize("right", [24, 30])
def test_outermost_ring_of_the_padded_tile(right):
    """A truth pixel at the right edge of the core of tile (0, 0) (columns 0-19, halo 5), inside a
    prediction block of columns 5..right.  With right = 24 the block's right boundary lies on the
    padded tile's outermost column, its background neighbour outside: the tile cannot see it, so the
    pixel is unresolved in [5, 10] (true: 5).  With right = 30 that column is not boundary; padding
    the tile with background would make it one (a false distance 5); segval finds [5, 10], true 10.
    A halo of 10 resolves both."""
    truth = np.zeros((40, 40), bool)
    truth[10, 19] = True
    predicted = np.zeros((40, 40), bool)
    predicted[:, 5 : right + 1] = True
    first = tiled_boundary_distances(truth, predicted, 1.0, tile_size=20, halo=5)[0]
    directed = first.truth_to_predicted
    assert directed.exact.total == 0
    assert directed.lower.values.tolist() == [5.0] and directed.upper.values.tolist() == [10.0]
    (true,) = directed_distances(truth, predicted, 1.0)[0]
    assert true == (5.0 if right == 24 else 10.0)
    wider = tiled_boundary_distances(truth, predicted, 1.0, tile_size=20, halo=10)[0]
    assert wider.truth_to_predicted.exact.values.tolist() == [true]


@settings(max_examples=40, deadline=None)
@given(
    truth=hnp.arrays(bool, (23, 31), elements=st.booleans()),
    shift=st.integers(0, 3),
    tile=st.integers(5, 17),
    halo=st.integers(1, 9),
    spacing=st.sampled_from(SPACINGS),
)
def test_tiled_is_exact_or_bounded(truth, shift, tile, halo, spacing):
    predicted = np.roll(truth, shift, axis=1)
    predicted[::7] = False
    whole = boundary_metrics(truth, predicted, spacing)
    tiled = tiled_boundary_metrics(truth, predicted, spacing, tile, halo)
    assert tiled["edge_case"] == whole["edge_case"]
    if whole["edge_case"] != "none":
        return
    if tiled["unresolved"] == 0:
        assert tiled == whole
    for name in ("hd", "hd95", "assd"):
        assert tiled[f"{name}_lower"] <= whole[name] <= tiled[f"{name}_upper"]
        if not math.isnan(tiled[name]):
            assert tiled[name] == whole[name]


# --------------------------------------------------------------------------------------------------
# API details
# --------------------------------------------------------------------------------------------------


def test_summaries_round_trip_through_json():
    truth, predicted = pair((60, 80), 4)
    summaries = tiled_boundary_distances(truth, predicted, (0.5, 0.7), tile_size=32, halo=4)
    loaded = [TileDistances.from_dict(json.loads(json.dumps(s.to_dict()))) for s in summaries]
    assert any(s.truth_to_predicted.unresolved or s.predicted_to_truth.unresolved for s in loaded)
    assert reduce(loaded) == reduce(summaries)


def test_argument_checks():
    mask = np.zeros((10, 10), bool)
    with pytest.raises(ValueError, match="origin"):
        boundary_distances(mask, mask, 2)
    with pytest.raises(ValueError, match="halo"):
        boundary_distances(mask, mask, 0, origin=(0, 0), image_shape=(20, 20))
    with pytest.raises(ValueError, match="inside the image"):
        boundary_distances(mask, mask, 2, origin=(5, 0), image_shape=(10, 10))
    with pytest.raises(ValueError, match="spacing"):
        boundary_metrics(mask, mask, (1.0, 0.0))
    with pytest.raises(ValueError, match="shape"):
        boundary_metrics(mask, mask[:5])
