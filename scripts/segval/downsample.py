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
_RANK_LUT = np.zeros(256, np.uint8)
_RANK_LUT[: _RANK.size] = _RANK
_CODE_LUT = np.zeros(256, np.uint8)
_CODE_LUT[: _CODE_OF_RANK.size] = _CODE_OF_RANK


def factor_for(shape, max_pixels):
    """Smallest power of two that brings a ``(height, width)`` image within ``max_pixels``.

    Powers of two divide the tile sizes (multiples of 16), so tiles reduce without padding, and
    equal the factors of the OME pyramid levels.
    """
    height, width = shape
    factor = 1
    while -(-height // factor) * -(-width // factor) > max_pixels:
        factor *= 2
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


def _combine(image, factor, ufunc, fill, dtype=None):
    """``ufunc`` over the ``factor**2`` pixels of each block (partial blocks padded with ``fill``).

    Done as strided whole-array operations, much faster than reducing a reshaped view over two short
    axes; a power-of-two factor is applied as repeated halvings (4 operations each, on ever smaller
    arrays), which gives the same result for associative reductions (sums, maxima).
    """
    steps = [2] * (factor.bit_length() - 1) if factor & (factor - 1) == 0 else [factor]
    out, area = image, 1
    for step in steps:
        area *= step * step  # original pixels combined into each output pixel after this step
        out = _padded(out, step, fill)
        reduced = out[::step, ::step].astype(dtype(image.dtype, area) if dtype else out.dtype)
        for dy in range(step):
            for dx in range(step):
                if dy or dx:
                    ufunc(reduced, out[dy::step, dx::step], out=reduced)
        out = reduced
    return out


def _sum_dtype(dtype, area):
    """Narrowest integer type that holds the sum of ``area`` values of ``dtype`` (narrow types cut the
    memory traffic of each halving)."""
    info = np.iinfo(dtype)
    low, high = int(info.min) * area, int(info.max) * area
    return (
        np.result_type(np.min_scalar_type(high), np.min_scalar_type(low))
        if high < 2**63
        else np.float64
    )


def block_mean(image, factor):
    """Mean of each ``factor`` x ``factor`` block (of the pixels it holds), rounded to the dtype
    (halves up for integer images)."""
    if factor == 1:
        return image
    height, width = image.shape
    integer = np.issubdtype(image.dtype, np.integer)
    # Integer sums are exact and several times faster than float ones.
    sums = _combine(image, factor, np.add, 0, _sum_dtype if integer else lambda *_: np.float64)
    area = factor * factor
    if integer:
        means = (sums + area // 2) // area  # full blocks: one scalar divisor
    else:
        means = sums / area
    last_rows, last_cols = height % factor, width % factor
    if last_rows or last_cols:  # partial blocks at the bottom and right edges hold fewer pixels
        rows = np.full(sums.shape[0], factor)
        cols = np.full(sums.shape[1], factor)
        rows[-1] = last_rows or factor
        cols[-1] = last_cols or factor
        for index, counts in (
            ((slice(-1, None), slice(None)), rows[-1] * cols[None, :]),
            ((slice(None), slice(-1, None)), rows[:, None] * cols[-1]),
        ):
            means[index] = (
                (sums[index] + counts // 2) // counts if integer else sums[index] / counts
            )
    return means.astype(image.dtype)


def _halved_max_uint8(image):
    """:func:`block_max` by 2 of a uint8 image: the rows' maxima, then each pair of columns read as
    one 16-bit number (contiguous, about 3 x faster than strided columns).

    >>> image = np.array([[1, 9, 3, 0, 7], [4, 2, 8, 5, 6], [0, 0, 0, 0, 1]], np.uint8)
    >>> _halved_max_uint8(image).tolist() == _combine(image, 2, np.maximum, 0).tolist() == [
    ...     [9, 8, 7], [0, 0, 1]]
    True
    """
    rows = _padded(image, 2, 0)
    rows = np.maximum(rows[0::2], rows[1::2])
    pairs = rows.view(np.uint16)
    return np.maximum(pairs & 0xFF, pairs >> 8).astype(np.uint8)


def block_max(image, factor):
    """Maximum of each block (a mask keeps any foreground).

    >>> block_max(np.array([[0, 255, 0], [0, 0, 0], [0, 0, 255]], np.uint8), 2).tolist()
    [[255, 0], [0, 255]]
    """
    if factor == 1:
        return image
    if image.dtype == np.uint8 and factor & (factor - 1) == 0:
        for _ in range(factor.bit_length() - 1):
            image = _halved_max_uint8(image)
        return image
    if image.dtype == bool:
        lowest = False
    elif np.issubdtype(image.dtype, np.integer):
        lowest = np.iinfo(image.dtype).min
    else:
        lowest = -np.inf
    return _combine(image, factor, np.maximum, lowest)


def block_confusion(code, factor):
    """Most informative confusion code of each block: FN, else FP, else TP, else TN.

    A block entirely outside the ROI (code 4) stays 4, so that one-pixel errors and vessels remain
    visible at any scale while masked-out areas stay recognisable.
    """
    if factor == 1:
        return code
    import cv2  # its lookup tables are ~8x faster than numpy's fancy indexing

    return cv2.LUT(block_max(cv2.LUT(code, _RANK_LUT), factor), _CODE_LUT)


REDUCERS = {"mean": block_mean, "max": block_max, "confusion": block_confusion}


def reduced_slice(reader, z, factor, band_rows, reduce, rows=None, levels=False):
    """Slice ``z`` of an image-like ``reader`` (``shape``, ``read(z, y0, y1, x0, x1)``) reduced by
    ``factor`` with ``reduce``, read in bands of about ``band_rows`` rows (a multiple of the factor,
    so the result equals reducing the whole slice; memory ~ one band).  ``rows``: ``(y0, y1)``, only
    these rows (``y0`` a multiple of ``factor``).  ``levels``: read the file's own pyramid level of
    that factor instead, when it has one (``reader.pyramid_level``): only for segval's masks and
    confusion maps, whose levels were reduced with ``reduce`` (the same pixels, without decoding
    the full resolution)."""
    _, height, width = reader.shape
    first, last = rows or (0, height)
    level = reader.pyramid_level(factor) if levels else None
    if level is not None:
        return np.array(level.read(z, first // factor, -(-last // factor), 0, level.shape[2]))
    band_rows = max(factor, band_rows - band_rows % factor)
    bands = (
        reader.read(z, y0, min(y0 + band_rows, last), 0, width)
        for y0 in range(first, last, band_rows)
    )
    return np.concatenate([reduce(band, factor) for band in bands], axis=0)
