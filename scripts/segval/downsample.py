"""Block reductions for previews and pyramid levels.

Blocks are aligned to the image origin, so reducing bands (or tiles) whose size is a multiple of the
factor and putting the results side by side equals reducing the whole image.  Partial blocks at the
right and bottom edges reduce what they hold.
"""

import numpy as np

from segval.metrics import FN, FP, IGNORED, TN, TP

# Display priority of confusion codes when several fall in one block: errors first, then hits.
_RANK = np.array([1, 3, 4, 2, 0], dtype=np.uint8)  # rank of TN, FP, FN, TP, IGNORED
_CODE_OF_RANK = np.array([IGNORED, TN, TP, FP, FN], dtype=np.uint8)


def factor_for(shape, max_pixels):
    """Smallest integer factor that brings a ``(height, width)`` image within ``max_pixels``."""
    height, width = shape
    factor = 1
    while -(-height // factor) * -(-width // factor) > max_pixels:
        factor += 1
    return factor


def _block_starts(length, factor):
    return np.arange(0, length, factor)


def block_mean(image, factor):
    """Mean of each ``factor`` x ``factor`` block, rounded back to the image's dtype."""
    if factor == 1:
        return image
    height, width = image.shape
    sums = np.add.reduceat(image.astype(np.float64), _block_starts(height, factor), axis=0)
    sums = np.add.reduceat(sums, _block_starts(width, factor), axis=1)
    rows = np.minimum(factor, height - _block_starts(height, factor))
    cols = np.minimum(factor, width - _block_starts(width, factor))
    means = sums / np.outer(rows, cols)
    if np.issubdtype(image.dtype, np.integer):
        return np.rint(means).astype(image.dtype)
    return means.astype(image.dtype)


def block_max(image, factor):
    """Maximum of each block (a mask keeps any foreground)."""
    if factor == 1:
        return image
    height, width = image.shape
    out = np.maximum.reduceat(image, _block_starts(height, factor), axis=0)
    return np.maximum.reduceat(out, _block_starts(width, factor), axis=1)


def block_confusion(code, factor):
    """Most informative confusion code of each block: FN, else FP, else TP, else TN.

    A block entirely outside the ROI (code 4) stays 4, so that one-pixel errors and vessels remain
    visible at any scale while masked-out areas stay recognisable.
    """
    if factor == 1:
        return code
    return _CODE_OF_RANK[block_max(_RANK[code], factor)]


REDUCERS = {"mean": block_mean, "max": block_max, "confusion": block_confusion}
