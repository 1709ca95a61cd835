"""Shared fixtures: the KESM tile of the article (../shared/data/kesm), loaded without segval."""

from pathlib import Path

import numpy as np
import pytest

KESM_DIR = Path(__file__).resolve().parents[2] / "shared/data/kesm"


def _read_gray_png(path):
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None and image.ndim == 2 and image.dtype == np.uint8, path
    return image


@pytest.fixture(scope="session")
def kesm():
    """``(grayscale, groundtruth)`` of the 512 x 512 KESM tile, uint8; skipped when absent."""
    gray, truth = KESM_DIR / "grayscale.png", KESM_DIR / "groundtruth.png"
    if not (gray.is_file() and truth.is_file()):
        pytest.skip(
            f"KESM tile not present: {KESM_DIR} must hold grayscale.png and groundtruth.png "
            "(the article's data, shipped in the shared folder beside the checkout)"
        )
    return _read_gray_png(gray), _read_gray_png(truth)


@pytest.fixture(scope="session")
def kesm_inverted(kesm):
    """The KESM tile inverted (255 - x), vessels bright, as the article thresholds it."""
    return (255 - kesm[0].astype(np.int64)).astype(np.uint8)


@pytest.fixture(scope="session")
def kesm_median3(kesm_inverted):
    """The inverted tile after scipy's 3 x 3 median with ``mode="reflect"`` (the article's filter)."""
    from scipy import ndimage

    return ndimage.median_filter(kesm_inverted, size=3, mode="reflect")
