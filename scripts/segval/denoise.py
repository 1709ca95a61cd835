"""Cleaning before thresholding: inversion and neighbourhood filters, tile-exact.

A preprocessing *chain* is an ordered list of steps, e.g. ``[("median", 3)]`` (the article's 3 x 3
median), or ``[("bgmedian", 51), ("median", 3)]`` (subtract a 51 x 51 median background first);
the artifact corrections (Gaussian, background subtraction, CLAHE) come from
:mod:`segval.corrections`.  :func:`apply_chain` runs a chain on a tile read with a halo of :func:`chain_halo` pixels and
returns the tile's core, equal pixel for pixel to running the chain on the whole image with
``scipy.ndimage``'s ``mode="reflect"`` borders: after each step the pixels that lie beyond the image
border are mirrored again from the step's output, exactly as a whole-image run would pad the
intermediate result.

The median uses OpenCV's ``medianBlur`` (thousands of megapixels per second) where it supports the
size and dtype, and ``scipy.ndimage.median_filter`` elsewhere; both give the same values on the
padded tile, since a median of an odd window is unambiguous.
"""

import numpy as np

from segval import corrections
from segval.spec import (  # noqa: F401 - the chain vocabulary, re-exported where it is used
    STEPS,
    chain_halo,
    check_chain,
    describe_chain,
    step_radius,
)
from segval.tiling import _pad_symmetric


def invert(tile, dtype):
    """Reverse the intensity scale, so that dark structures become bright foreground.

    Integer images map ``x -> max + min - x`` of their dtype (``255 - x`` for uint8, as the article
    does; the bitwise complement, which reverses signed ranges too); float images map ``x -> -x``.
    """
    dtype = np.dtype(dtype)
    if dtype.kind in "uib":
        return np.invert(tile.astype(dtype, copy=False))
    return -tile


def median(tile, size):
    """Median filter of a square ``size`` x ``size`` window (odd ``size``); same shape as ``tile``.

    The outermost ``size // 2`` pixels use the library's own border handling; callers crop them.
    """
    if size <= 1:
        return tile
    if size % 2 == 0:
        raise ValueError(f"median size must be odd, got {size}")
    if _opencv_median_supports(tile, size):
        import cv2

        return cv2.medianBlur(np.ascontiguousarray(tile), size)
    from scipy import ndimage

    return ndimage.median_filter(tile, size=size, mode="reflect")


def _opencv_median_supports(tile, size):
    # OpenCV: uint8 any odd size; uint16/float32 up to 5; and at most 4 channels-worth of width.
    if tile.dtype == np.uint8:
        return size <= 255 and min(tile.shape) >= size
    return tile.dtype in (np.uint16, np.float32) and size <= 5 and min(tile.shape) >= size


#: ``name: function`` of each chain step (halos: :data:`segval.spec.STEP_RADIUS`).
_FILTERS = {
    "median": median,
    **corrections.CHAIN_STEPS,
    **corrections.GEOMETRY_STEPS,
}


def apply_chain(padded, chain, bounds, image_size):
    """Run ``chain`` on a padded tile and return its core.

    Parameters
    ----------
    padded : numpy.ndarray
        2-D tile with ``chain_halo(chain)`` pixels of halo on every side (as from
        :func:`segval.tiling.read_padded`).
    chain : list of (str, number)
        Steps in order, e.g. ``[("median", 3)]``.
    bounds : tuple of int
        ``(y0, y1, x0, x1)``: where the core lies in the image.
    image_size : tuple of int
        ``(height, width)`` of the slice, to know which halo pixels lie beyond the border.

    Returns
    -------
    numpy.ndarray
        The filtered core, shape ``(y1 - y0, x1 - x0)``.
    """
    y0, y1, x0, x1 = bounds
    height, width = image_size
    halo = chain_halo(chain)
    out = padded
    for name, value in chain:
        radius = step_radius(name, value)
        if radius == 0:
            continue
        function = _FILTERS[name]
        if name in corrections.GEOMETRY_STEPS:  # e.g. CLAHE: its regions are aligned to the image
            out = function(out, value, (y0 - halo, x0 - halo), (height, width))
        else:
            out = function(out, value)
        out = out[radius:-radius, radius:-radius]
        halo -= radius
        if halo:
            out = _remirror(out, (y0 - halo, y1 + halo, x0 - halo, x1 + halo), (height, width))
    return out


def _remirror(block, bounds, image_size):
    """Replace the parts of ``block`` beyond the image border by mirror images of the inside part."""
    ya, yb, xa, xb = bounds
    height, width = image_size
    inside = (max(0, ya), min(height, yb), max(0, xa), min(width, xb))
    pad = ((inside[0] - ya, yb - inside[1]), (inside[2] - xa, xb - inside[3]))
    if not any(p for pair in pad for p in pair):
        return block
    core = block[pad[0][0] : block.shape[0] - pad[0][1], pad[1][0] : block.shape[1] - pad[1][1]]
    return _pad_symmetric(core, pad, inside, image_size)
