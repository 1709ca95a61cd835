"""Block reductions for previews and pyramid levels.

Blocks are aligned to the image origin, so reducing bands (or tiles) whose size is a multiple of the
factor and putting the results side by side equals reducing the whole image.  Partial blocks at the
right and bottom edges reduce what they hold.  Maxima compose exactly (reducing by 2 twice equals
reducing by 4), so pyramid levels can be built one from the other.
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


def _padded(image, factor, fill):
    """``image`` padded with ``fill`` to whole ``factor`` x ``factor`` blocks."""
    height, width = image.shape
    rows, cols = -(-height // factor), -(-width // factor)
    if (rows * factor, cols * factor) == (height, width):
        return image
    padded = np.full((rows * factor, cols * factor), fill, dtype=image.dtype)
    padded[:height, :width] = image
    return padded


def _combine(image, factor, ufunc, dtype=None):
    """``ufunc`` over the ``factor**2`` pixels of each block, as ``factor**2`` strided array operations
    (much faster than reducing a reshaped view over two short axes)."""
    out = image[::factor, ::factor].astype(dtype or image.dtype, copy=True)
    for dy in range(factor):
        for dx in range(factor):
            if dy or dx:
                ufunc(out, image[dy::factor, dx::factor], out=out)
    return out


def block_mean(image, factor):
    """Mean of each ``factor`` x ``factor`` block (of the pixels it holds), rounded to the dtype."""
    if factor == 1:
        return image
    height, width = image.shape
    sums = _combine(_padded(image, factor, 0), factor, np.add, np.float64)
    rows = np.minimum(factor, height - np.arange(0, height, factor))
    cols = np.minimum(factor, width - np.arange(0, width, factor))
    means = sums / np.outer(rows, cols)
    if np.issubdtype(image.dtype, np.integer):
        return np.rint(means).astype(image.dtype)
    return means.astype(image.dtype)


def block_max(image, factor):
    """Maximum of each block (a mask keeps any foreground)."""
    if factor == 1:
        return image
    lowest = np.iinfo(image.dtype).min if np.issubdtype(image.dtype, np.integer) else -np.inf
    return _combine(_padded(image, factor, lowest), factor, np.maximum)


def block_confusion(code, factor):
    """Most informative confusion code of each block: FN, else FP, else TP, else TN.

    A block entirely outside the ROI (code 4) stays 4, so that one-pixel errors and vessels remain
    visible at any scale while masked-out areas stay recognisable.
    """
    if factor == 1:
        return code
    return _CODE_OF_RANK[block_max(_RANK[code], factor)]


REDUCERS = {"mean": block_mean, "max": block_max, "confusion": block_confusion}
