"""Mask clean-up: bit-identical to scikit-image 0.26's remove_small_objects / remove_small_holes."""

import numpy as np
import pytest
from skimage import morphology

from segval.postprocess import fill_small_holes, remove_small_objects


def random_masks():
    rng = np.random.default_rng(0)
    for density in (0.2, 0.45, 0.6, 0.8):
        yield rng.random((150, 230)) < density
    # blobby masks (large components and real holes)
    noise = rng.random((180, 200))
    from scipy import ndimage

    smooth = ndimage.uniform_filter(noise, 5)
    yield smooth > 0.52
    yield smooth > 0.48


@pytest.mark.parametrize("connectivity", [1, 2])
def test_remove_small_objects_equals_skimage(connectivity):
    for mask in random_masks():
        for min_size in (0, 1, 2, 3, 5, 17, 60):
            got = remove_small_objects(mask, min_size, connectivity)
            expected = morphology.remove_small_objects(
                mask, max_size=max(min_size - 1, 0), connectivity=connectivity
            )
            assert got.dtype == bool
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("connectivity", [1, 2])
def test_fill_small_holes_equals_skimage(connectivity):
    for mask in random_masks():
        for max_size in (0, 1, 2, 4, 16, 60):
            got = fill_small_holes(mask, max_size, connectivity)
            expected = morphology.remove_small_holes(
                mask, max_size=max_size, connectivity=connectivity
            )
            np.testing.assert_array_equal(got, expected)


def test_defaults_and_edge_cases():
    diagonal = np.eye(4, dtype=bool)  # one 8-connected object of 4 pixels, four 4-connected ones
    assert remove_small_objects(diagonal, 4).sum() == 4  # default connectivity 2
    assert remove_small_objects(diagonal, 2, connectivity=1).sum() == 0
    ring = np.ones((5, 5), bool)
    ring[2, 2] = False
    assert fill_small_holes(ring, 1).all()
    assert not fill_small_holes(ring, 0)[2, 2]
    assert not remove_small_objects(np.zeros((3, 3), bool), 5).any()
    assert fill_small_holes(np.ones((3, 3), bool), 5).all()
    # 0/1 integer input is read as a bool mask; the input is never modified
    ints = diagonal.astype(np.uint8)
    assert remove_small_objects(ints, 5).sum() == 0 and ints.sum() == 4
    with pytest.raises(ValueError, match="2-D"):
        remove_small_objects(np.zeros((2, 2, 2), bool), 3)
    with pytest.raises(ValueError, match="connectivity"):
        fill_small_holes(ring, 3, connectivity=4)
