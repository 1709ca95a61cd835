"""Artifact corrections before thresholding, as tile-exact preprocessing steps.

Every step here follows the contract of :mod:`segval.denoise`'s neighbourhood filters: it takes a
*padded tile* (the tile's core plus a halo read from the neighbouring pixels, mirrored like
``np.pad(image, halo, mode="symmetric")`` beyond the image border) and returns an array of the same
shape whose outermost ``radius`` pixels on each side may be garbage; the chain crops them.  Running
a step on a padded tile and cropping gives, pixel for pixel, the same values as running it on the
whole image with ``scipy.ndimage``'s ``mode="reflect"`` borders (= ``np.pad(..., "symmetric")``):
each output pixel is computed from the same input values by the same operations wherever the tile
starts.  The tests check every step bit for bit, alone and in chains, for uint8 and uint16 images
and tile sizes that do and do not divide the image.

Steps
-----
:func:`gaussian`
    Gaussian blur, ``scipy.ndimage.gaussian_filter(..., mode="reflect", truncate=4.0)`` in float64.
:func:`background`
    Background subtraction for uneven illumination: ``"median"`` (image minus a large median),
    ``"tophat"`` (white top-hat: image minus its grey opening with a flat disk or square) and
    ``"rolling_ball"`` (image minus its grey opening with a ball-shaped, non-flat structuring
    element: Sternberg's rolling ball).
:func:`clahe`
    Contrast-limited adaptive histogram equalisation whose contextual regions are a fixed size in
    pixels, aligned to the image origin, so that it becomes a local operation with a finite halo; it
    needs to know where the padded tile lies in the image (``origin``, ``image_size``).
:func:`equalization_lut` and :func:`apply_lut`
    Global histogram equalisation: a mapping computed once from the full-resolution histogram of the
    whole scope (summed over tiles, like the global thresholds) and applied to each tile as a lookup
    table, hence exact by construction.

Output dtype
------------
Integer images (uint8, uint16) keep their dtype, so that the full-resolution histograms of
:mod:`segval.histograms` still apply: real-valued results are **rounded half to even** (``np.rint``,
OpenCV's ``cvRound``) and **clipped** to the dtype's range.  Float images stay float (the input's
float dtype).

Using the steps in a chain
--------------------------
:data:`CHAIN_STEPS` maps chain step names to ``function(tile, value)``, as
``segval.denoise._FILTERS`` does, and their halos are :data:`segval.spec.STEP_RADIUS`;
:data:`GEOMETRY_STEPS` does the same for steps that also need the padded tile's global position, called as ``function(tile, value, origin, image_size)``
where ``origin = (y0 - halo, x0 - halo)`` is the image coordinate of the padded tile's first pixel
(``halo`` being the halo the tile still has when the step runs) and ``image_size = (height,
width)``.  Only :func:`clahe` needs it.  Global equalisation is not a chain step: it needs the
histogram of the whole scope first (a pass like the global thresholds' histogram pass), then maps
each tile with :func:`apply_lut`.

Start-up cost: this module imports only numpy; OpenCV and ``scipy.ndimage`` are imported inside the
functions that use them.

References
----------
.. [1] K. Zuiderveld, "Contrast limited adaptive histogram equalization", in *Graphics Gems IV*,
       P. Heckbert (ed.), Academic Press, 1994, pp. 474-485.
.. [2] S. R. Sternberg, "Biomedical image processing", *Computer* 16(1), 1983, pp. 22-34.
       :doi:`10.1109/MC.1983.1654163`
.. [3] R. C. Gonzalez and R. E. Woods, *Digital Image Processing*, 4th ed., Pearson, 2018,
       section 3.3 (histogram equalization).
"""

import math

import numpy as np

from segval.spec import (
    BACKGROUND_METHODS,
    CLAHE_REGION_PX,
    TRUNCATE,
    _as_int,
    _odd_size,
    background_radius,
    clahe_radius,
    gaussian_radius,
)

__all__ = [
    "CHAIN_STEPS",
    "CLAHE_REGION_PX",
    "GEOMETRY_STEPS",
    "apply_lut",
    "background",
    "background_radius",
    "clahe",
    "clahe_radius",
    "equalization_lut",
    "equalize",
    "gaussian",
    "gaussian_radius",
]


# --------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------
def _to_dtype(values, dtype):
    """Cast real values back to ``dtype``: round half to even and clip for integer dtypes."""
    dtype = np.dtype(dtype)
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        out = np.rint(values)
        np.clip(out, info.min, info.max, out=out)
        return out.astype(dtype)
    return np.asarray(values).astype(dtype, copy=False)


def _check_unsigned(tile, what):
    if tile.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"{what} supports uint8 and uint16 images, got {tile.dtype}")


# --------------------------------------------------------------------------------------------------
# Gaussian
# --------------------------------------------------------------------------------------------------
def gaussian(tile, sigma):
    """Gaussian blur of a padded tile, exact with respect to whole-image filtering.

    Equal, on the tile's core, to ``scipy.ndimage.gaussian_filter(image.astype(np.float64), sigma,
    mode="reflect", truncate=4.0)`` on the whole image, rounded half to even and clipped back to the
    integer dtype (float images: cast back to their float dtype).

    Parameters
    ----------
    tile : numpy.ndarray
        2-D padded tile with at least :func:`gaussian_radius` pixels of halo.
    sigma : float
        Standard deviation in pixels (0 = no filtering).

    Returns
    -------
    numpy.ndarray
        Same shape and dtype as ``tile``; the outer ``gaussian_radius(sigma)`` pixels are garbage.

    Notes
    -----
    Why it is bit-identical: scipy filters one axis after the other in float64, and its 1-D
    correlation with a symmetric kernel computes every output as
    ``w0 * x[i] + w1 * (x[i-1] + x[i+1]) + ...`` in the same order whatever ``i`` (the border
    extension is copied into the line buffer first).  The first pass (axis 0) on halo columns that
    lie beyond the image border gives the mirror image of the in-image columns' results, which is
    exactly what the whole-image second pass reads through ``mode="reflect"``.  The tests check it.
    """
    if gaussian_radius(sigma) == 0:
        return tile
    from scipy import ndimage

    blurred = ndimage.gaussian_filter(
        tile.astype(np.float64), float(sigma), mode="reflect", truncate=TRUNCATE
    )
    return _to_dtype(blurred, tile.dtype)


# --------------------------------------------------------------------------------------------------
# Median (exact, fast for uint8 and uint16 of any odd size)
# --------------------------------------------------------------------------------------------------
def _median(tile, size):
    """Square median of odd ``size``; the outer ``size // 2`` pixels are garbage.

    uint8: OpenCV's ``medianBlur`` (any odd size up to 255).  uint16: ``medianBlur`` directly up to
    size 5, beyond by :func:`_median_uint16` (exact, from 8-bit medians).  Other dtypes:
    ``scipy.ndimage.median_filter`` (slow for large sizes).
    """
    if size <= 1:
        return tile
    import cv2

    fits = min(tile.shape) >= size
    if tile.dtype == np.uint8 and size <= 255 and fits:
        return cv2.medianBlur(np.ascontiguousarray(tile), size)
    if tile.dtype in (np.uint16, np.float32) and size <= 5 and fits:
        return cv2.medianBlur(np.ascontiguousarray(tile), size)
    if tile.dtype == np.uint16 and size <= 255 and fits:
        return _median_uint16(tile, size)
    from scipy import ndimage

    return ndimage.median_filter(tile, size=size, mode="reflect")


def _median_uint16(tile, size, block=None):
    """Exact square median of a uint16 tile from 8-bit medians (OpenCV), for sizes up to 255.

    The median of an odd number of values commutes with any non-decreasing function ``f``:
    ``median(f(x)) = f(median(x))``.  With ``f(x) = x >> 8`` an 8-bit median gives the high byte
    ``h`` of every output pixel.  With ``f(x) = clip(x - 256 h, 0, 255)`` an 8-bit median gives
    ``clip(m - 256 h, 0, 255)``, which is the low byte of the median ``m`` wherever the high byte of
    ``m`` is ``h``.  So one 8-bit median per high-byte value present in the output, each on the
    bounding box of the pixels having that high byte, gives the exact 16-bit median.  The output is
    processed in square blocks of ``block`` pixels (default ``max(64, 2 * size)``), so that a smooth
    background needs only a few 8-bit medians per block.  Cost: about 5-20 8-bit medians of the
    tile for smooth images; at worst 257 (every high byte present in every block).
    """
    import cv2

    r = size // 2
    block = block or max(64, 2 * size)
    tile = np.ascontiguousarray(tile)
    height, width = tile.shape
    out = np.zeros_like(tile)
    high = cv2.medianBlur((tile >> 8).astype(np.uint8), size)[r : height - r, r : width - r]
    for a in range(0, height - 2 * r, block):
        for c in range(0, width - 2 * r, block):
            part = high[a : a + block, c : c + block]
            counts = np.bincount(part.ravel(), minlength=256)
            for h in np.flatnonzero(counts):
                select = part == h if counts[h] < part.size else None
                if select is None:
                    ya, yb, xa, xb = 0, part.shape[0], 0, part.shape[1]
                else:
                    rows = np.flatnonzero(select.any(axis=1))
                    cols = np.flatnonzero(select.any(axis=0))
                    ya, yb, xa, xb = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
                # Interior pixel (i, j) is tile pixel (i + r, j + r), its window starts at (i, j).
                y0, x0 = a + ya, c + xa
                window = tile[y0 : a + yb + 2 * r, x0 : c + xb + 2 * r]
                low = cv2.min(cv2.subtract(window, int(h) << 8), 255).astype(np.uint8)
                median = cv2.medianBlur(low, size)[r : r + yb - ya, r : r + xb - xa]
                median = median.astype(np.uint16) + np.uint16(int(h) << 8)
                target = out[y0 + r : a + yb + r, x0 + r : c + xb + r]
                if select is None:
                    target[...] = median
                else:
                    np.copyto(target, median, where=select[ya:yb, xa:xb])
    return out


# --------------------------------------------------------------------------------------------------
# Background subtraction
# --------------------------------------------------------------------------------------------------
def background(tile, method, size, *, shape="disk", offset=0):
    """Subtract a smooth background estimate (uneven illumination) from a padded tile.

    The result is ``image - background + offset``, rounded and clipped to the dtype's range for
    integer images (so with the default ``offset=0`` everything darker than the background becomes
    0).  Use it on images whose *foreground is bright* (invert dark-vessel images first, as segval
    does before thresholding).

    Parameters
    ----------
    tile : numpy.ndarray
        2-D padded tile with at least ``background_radius(method, size)`` pixels of halo.
    method : {"median", "tophat", "rolling_ball"}
        ``"median"``: background = square median of ``size`` x ``size`` pixels (e.g. 51): robust
        and parameter-free apart from the size, which must exceed about twice the width of the
        largest foreground structure.  Exact for every dtype; fast for uint8 (OpenCV) and uint16
        (OpenCV through :func:`_median_uint16`), slow for floats (scipy).

        ``"tophat"``: white top-hat, background = grey opening (erosion then dilation) with a
        flat structuring element of radius ``size // 2``: a disk (``x**2 + y**2 <= r**2``, like
        ``skimage.morphology.disk``) or a square (``shape="square"``).  Equal to
        ``scipy.ndimage.white_tophat(image, footprint=..., mode="reflect")``.  OpenCV's
        ``erode``/``dilate``; any dtype OpenCV supports.

        ``"rolling_ball"``: Sternberg's rolling ball [2]_: background = grey opening with a ball
        of radius ``R = size // 2`` as a non-flat structuring element, heights
        ``floor(sqrt(R**2 - dy**2 - dx**2))`` grey levels on the disk ``dy**2 + dx**2 <= R**2``.
        Equal to ``scipy.ndimage.grey_opening(image, footprint=disk, structure=heights,
        mode="reflect")``.  uint8 and uint16 only.  See Notes for how it relates to ImageJ.
    size : int
        Odd window width in pixels (median), or diameter ``2 r + 1`` of the structuring element;
        1 = off (the tile is returned unchanged, as a chain skips steps of radius 0).
    shape : {"disk", "square"}
        Structuring element of ``"tophat"``.
    offset : int or float
        Added after the subtraction, to keep part of the below-background range (e.g. 10).

    Returns
    -------
    numpy.ndarray
        Same shape and dtype as ``tile``; the outer ``background_radius(method, size)`` pixels are
        garbage.

    Notes
    -----
    *Rolling ball.*  ImageJ's "Subtract Background" rolls a ball whose radius is given in pixels
    and whose height is measured in grey levels, like here, and takes the opening as background;
    but it (a) shrinks the image by 2-8 (minimum of blocks) for radii above 10 and interpolates the
    background back, (b) smooths the image with 3 x 3 filters before rolling unless "Disable
    smoothing" is ticked, (c) uses float ball heights and its own edge handling.  segval rolls the
    exact ball on the full-resolution image, with heights rounded down to whole grey levels (at
    most 1 grey level below the true sphere), which makes the computation integer and exact.  It
    computes the non-flat erosion through flat ones: with integer heights,
    ``min_q (x(p+q) - b(q))`` is the minimum over levels ``k`` of the flat erosion by the disk
    ``{b >= k}`` minus ``k``; each disk is cut into horizontal runs whose flat 1-D erosions are
    shared by all levels.  Cost: about ``R**2 / 2`` (run, level) pairs of two array operations
    each per pass, i.e. it slows down quadratically with the radius (uint8, one thread: 12 MP/s for
    size 25, 2.4 MP/s for size 51).  scikit-image's ``restoration.rolling_ball`` is different
    again: it returns the ball's *apex*, ``erosion + R`` (truncated to the dtype), not the
    opening.  The white top-hat with a flat disk is the cheap alternative (a ball flattened to a
    cylinder).  For 16-bit images a ball of radius R is only R grey levels high, i.e. nearly flat:
    the top-hat is then practically the same.
    """
    if method not in BACKGROUND_METHODS:
        raise ValueError(
            f"unknown background method {method!r}; choose one of {BACKGROUND_METHODS}"
        )
    size = _odd_size(size, method)
    if method == "rolling_ball":
        _check_unsigned(tile, "rolling_ball")
    if shape not in ("disk", "square"):
        raise ValueError(f"unknown structuring element {shape!r}; choose 'disk' or 'square'")
    if size == 1:  # off, as in a chain (radius 0)
        return tile
    if method == "median":
        estimate = _median(tile, size)
    elif method == "tophat":
        estimate = _opening_flat(tile, size // 2, shape)
    else:
        estimate = _opening_ball(tile, size // 2)
    return _subtract(tile, estimate, offset)


def _subtract(tile, estimate, offset):
    if tile.dtype.kind in "ui":
        if offset == 0 and tile.dtype in (np.uint8, np.uint16):
            import cv2

            return cv2.subtract(np.ascontiguousarray(tile), np.ascontiguousarray(estimate))
        difference = tile.astype(np.int64) - estimate.astype(np.int64)
        return _to_dtype(difference + offset, tile.dtype)
    return (tile - estimate + offset).astype(tile.dtype, copy=False)


def _disk(radius):
    """Flat disk ``x**2 + y**2 <= r**2`` as a uint8 kernel (skimage.morphology.disk's footprint)."""
    y, x = np.ogrid[-radius : radius + 1, -radius : radius + 1]
    return (x * x + y * y <= radius * radius).astype(np.uint8)


def _opening_flat(tile, radius, shape):
    if shape == "disk":
        kernel = _disk(radius)
    elif shape == "square":
        kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    else:
        raise ValueError(f"unknown structuring element {shape!r}; choose 'disk' or 'square'")
    import cv2

    eroded = cv2.erode(np.ascontiguousarray(tile), kernel)
    return cv2.dilate(eroded, kernel)


def _ball_pairs(radius):
    """For each row offset ``dy`` (0..R): the ``(w, k)`` pairs of the integer ball's staircase.

    ``b(dy, dx) >= k`` iff ``dx**2 <= R**2 - dy**2 - k**2``, so the row's level-``k`` run is
    ``|dx| <= w_k`` with ``w_k = isqrt(R**2 - dy**2 - k**2)``.  Only the largest ``k`` of each
    distinct ``w`` matters (the others are dominated).
    """
    pairs = []
    for dy in range(radius + 1):
        rho2 = radius * radius - dy * dy
        best = {}
        for k in range(math.isqrt(rho2) + 1):
            best[math.isqrt(rho2 - k * k)] = k
        pairs.append(sorted(best.items()))
    return pairs


def _ball_pass(x, radius, pairs, dilate):
    """Non-flat erosion (or dilation) of ``x`` (signed ints) by the integer ball; valid part only.

    Returns shape ``(H - 2R, W - 2R)``: output pixel ``(i, j)`` is centred on ``x[i + R, j + R]``.
    """
    op = np.maximum if dilate else np.minimum
    height, width = x.shape
    out_w = width - 2 * radius
    # runs[w][:, j] = op(x[:, j : j + 2w + 1]), centred on column j + w.
    # runs[1] takes three columns; from then on two overlapping runs of w - 1 cover a run of w.
    runs = [x, op(op(x[:, :-2], x[:, 1:-1]), x[:, 2:])]
    for _ in range(2, radius + 1):
        previous = runs[-1]
        runs.append(op(previous[:, :-2], previous[:, 2:]))
    out = None
    tmp = np.empty((height, out_w), x.dtype)
    row_best = np.empty((height, out_w), x.dtype)
    for dy, levels in enumerate(pairs):
        first = True
        for w, k in levels:
            run = runs[w][:, radius - w : radius - w + out_w]
            if first:
                np.add(run, k if dilate else -k, out=row_best)
                first = False
            else:
                np.add(run, k if dilate else -k, out=tmp)
                op(row_best, tmp, out=row_best)
        below = row_best[radius + dy : height - radius + dy]
        above = row_best[radius - dy : height - radius - dy]
        if out is None:
            out = op(below, above)
        else:
            op(out, below, out=out)
            op(out, above, out=out)
    return out


def _opening_ball(tile, radius, band=256):
    """Grey opening with the integer ball of radius ``radius``; outer ``2 * radius`` pixels zero."""
    if radius == 0:
        return tile
    work = np.int16 if tile.dtype == np.uint8 else np.int32
    pairs = _ball_pairs(radius)
    height, width = tile.shape
    halo = 2 * radius
    out = np.zeros_like(tile)
    for a in range(halo, height - halo, band):
        b = min(a + band, height - halo)
        block = tile[a - halo : b + halo].astype(work)
        eroded = _ball_pass(block, radius, pairs, dilate=False)
        opened = _ball_pass(eroded, radius, pairs, dilate=True)
        out[a:b, halo : width - halo] = opened
    return out


# --------------------------------------------------------------------------------------------------
# CLAHE with fixed-size contextual regions
# --------------------------------------------------------------------------------------------------
def clahe(tile, clip_limit=2.0, region_px=CLAHE_REGION_PX, *, origin, image_size):
    """Contrast-limited adaptive histogram equalisation (CLAHE) [1]_ of a padded tile, tile-exact.

    The image is divided into square contextual regions of ``region_px`` pixels aligned to the image
    origin (region ``(i, j)`` covers rows ``[i s, (i + 1) s)`` and columns ``[j s, (j + 1) s)``);
    regions that cross the bottom or right border are completed with the mirrored pixels (the
    padded tile's halo).  Each region's histogram is clipped and turned into a mapping (its
    cumulative distribution); each pixel's output interpolates bilinearly between the mappings of
    the four regions whose centres surround it (the nearest one or two near the image's borders).
    The output of a pixel depends only on the pixels of those regions and on its global position,
    so the result is the same whatever the tiling.

    The arithmetic follows OpenCV's ``cv2.createCLAHE`` (version 4.x source): the clip limit is
    ``max(int(clip_limit * s**2 / n_bins), 1)`` counts (``clip_limit`` is a multiple of the mean bin
    height; 0 disables clipping), the clipped excess is redistributed uniformly with the remainder
    spread with a regular step, the mapping is ``cvRound(cumsum * (n_bins - 1) / s**2)`` in float32,
    and the interpolation coordinate of pixel ``x`` is ``x / s - 0.5`` in float32.

    Parameters
    ----------
    tile : numpy.ndarray
        2-D uint8 or uint16 padded tile with at least ``clahe_radius(region_px)`` pixels of halo.
    clip_limit : float
        Contrast limit relative to a uniform histogram (OpenCV's ``clipLimit``; 2-4 is typical).
    region_px : int
        Contextual region size in pixels (e.g. 128).
    origin : tuple of int
        ``(y, x)`` image coordinates of ``tile[0, 0]`` (negative inside the top/left halo).
    image_size : tuple of int
        ``(height, width)`` of the image: regions are ``ceil(height / s) x ceil(width / s)``.

    Returns
    -------
    numpy.ndarray
        Same shape and dtype as ``tile``.  The outer ``clahe_radius(region_px)`` pixels, and the
        pixels that lie beyond the image border, are zero: unlike a symmetric filter's, CLAHE's
        output beyond the border is not the mirror image of its output inside (the interpolation
        weights depend on the position), so the chain must mirror them again after the step, as
        :func:`segval.denoise.apply_chain` does after every step.

    Notes
    -----
    Differences from the whole-image tools (measured with OpenCV 5.0.0 and scikit-image 0.26):

    * ``cv2.createCLAHE(clip_limit, (width // s, height // s)).apply(image)``: when the image size
      is a multiple of ``s``, OpenCV uses the same regions and the same arithmetic, and segval's
      result is **bit-identical** (tested for uint8 and uint16, regions of 32 and 64, clip limits
      0-4).  For other sizes OpenCV stretches its regions to ``ceil``-divide the image into the
      requested *number* of regions (padding it with ``BORDER_REFLECT_101``), whereas segval keeps
      square regions of ``s`` pixels and pads with ``"symmetric"`` mirroring: mean absolute
      differences of 1-4 grey levels (uint8) on the test images.
    * ``skimage.exposure.equalize_adapthist(image, kernel_size=s, clip_limit=c)`` also uses regions
      of ``s`` pixels aligned to the origin with the same centres, but rescales to 14 bits and bins
      into ``nbins=256`` grey levels, counts its clip limit as ``c * s**2`` pixels (so ``c``
      corresponds to segval's ``256 * c``), redistributes the excess iteratively, pads with numpy's
      ``"reflect"``, and returns floats in [0, 1].  With ``clip_limit = 256 * c`` the results differ
      by 0.3-5 grey levels on average (at most 20) on uint8 test images, mostly from the clipping.
    * Zuiderveld's original code [1]_ requires the image size to be a multiple of the region size
      and maps to the image's own ``[min, max]``; segval maps to the dtype's full range like OpenCV.
    """
    _check_unsigned(tile, "clahe")
    s = _as_int(region_px, "region_px")
    radius = clahe_radius(s)
    height, width = (int(n) for n in image_size)
    oy, ox = (int(n) for n in origin)
    th, tw = tile.shape
    out = np.zeros_like(tile)
    if th <= 2 * radius or tw <= 2 * radius:
        return out
    n_bins = 256 if tile.dtype == np.uint8 else 65536
    regions = (-(-height // s), -(-width // s))

    # The pixels computed: at least `radius` from the tile's edges, and inside the image (those
    # beyond its border are left at zero: the chain mirrors them again from the in-image ones).
    row_start, row_stop = max(radius, -oy), min(th - radius, height - oy)
    col_start, col_stop = max(radius, -ox), min(tw - radius, width - ox)
    if row_start >= row_stop or col_start >= col_stop:
        return out

    # Interpolation coordinates of those rows and columns, computed the OpenCV way (float32).
    axes = []
    for start, stop, n_regions in (
        (oy + row_start, oy + row_stop, regions[0]),
        (ox + col_start, ox + col_stop, regions[1]),
    ):
        inv = np.float32(1.0) / np.float32(s)
        coord = np.arange(start, stop).astype(np.float32) * inv - np.float32(0.5)
        first = np.floor(coord).astype(np.int64)
        weight = (coord - first.astype(np.float32)).astype(np.float32)
        second = np.minimum(first + 1, n_regions - 1)
        first = np.maximum(first, 0)
        axes.append((first, second, weight, np.float32(1.0) - weight))
    (ry1, ry2, ya, ya1), (rx1, rx2, xa, xa1) = axes

    # Regions used, and their position in the padded tile.
    r0y, r1y = int(ry1.min()), int(ry2.max()) + 1
    r0x, r1x = int(rx1.min()), int(rx2.max()) + 1
    top, left = r0y * s - oy, r0x * s - ox
    bottom, right = r1y * s - oy, r1x * s - ox
    if top < 0 or left < 0 or bottom > th or right > tw:  # pragma: no cover - see clahe_radius
        raise ValueError(
            "the padded tile does not contain the contextual regions it needs: check that origin "
            f"{origin} and image_size {image_size} describe it (tile shape {tile.shape}) and that "
            f"its halo is at least clahe_radius({s}) = {radius} pixels"
        )
    ny, nx = r1y - r0y, r1x - r0x
    blocks = tile[top:bottom, left:right].reshape(ny, s, nx, s).transpose(0, 2, 1, 3)
    luts = _clahe_luts(blocks.reshape(ny * nx, s * s), clip_limit, n_bins, tile.dtype)

    # Bilinear interpolation of the four mappings, in float32 in OpenCV's order of operations.
    values = tile[row_start:row_stop, col_start:col_stop].astype(np.int64)
    col1 = ((rx1 - r0x) * n_bins)[None, :]
    col2 = ((rx2 - r0x) * n_bins)[None, :]
    row1 = ((ry1 - r0y) * nx * n_bins)[:, None]
    row2 = ((ry2 - r0y) * nx * n_bins)[:, None]
    xa, xa1 = xa[None, :], xa1[None, :]
    ya, ya1 = ya[:, None], ya1[:, None]
    flat = luts.ravel()

    def mapped(row, col):
        return flat[row + col + values].astype(np.float32)

    upper = mapped(row1, col1) * xa1 + mapped(row1, col2) * xa
    lower = mapped(row2, col1) * xa1 + mapped(row2, col2) * xa
    result = upper * ya1 + lower * ya
    out[row_start:row_stop, col_start:col_stop] = _to_dtype(result, tile.dtype)
    return out


def _clahe_luts(pixels, clip_limit, n_bins, dtype):
    """Clipped-histogram mappings of the regions given as rows of ``pixels``: (regions, n_bins).

    Regions are processed in chunks of at most 2**22 histogram bins (64 regions of a 16-bit image),
    which bounds the temporary memory to a few tens of megabytes.
    """
    n_regions, area = pixels.shape
    luts = np.empty((n_regions, n_bins), dtype)
    limit = max(int(float(clip_limit) * area / n_bins), 1) if clip_limit > 0 else 0
    scale = np.float32(n_bins - 1) / np.float32(area)
    chunk = max(1, 2**22 // n_bins)
    for start in range(0, n_regions, chunk):
        part = pixels[start : start + chunk]
        count = part.shape[0]
        index = part.astype(np.int64) + (np.arange(count, dtype=np.int64) * n_bins)[:, None]
        hist = np.bincount(index.ravel(), minlength=count * n_bins).reshape(count, n_bins)
        if limit:
            excess = np.maximum(hist - limit, 0).sum(axis=1)
            np.minimum(hist, limit, out=hist)
            batch = excess // n_bins
            hist += batch[:, None]
            residual = excess - batch * n_bins
            for region in np.flatnonzero(residual):
                step = max(n_bins // int(residual[region]), 1)
                hist[region, np.arange(0, n_bins, step)[: residual[region]]] += 1
        cumulative = np.cumsum(hist, axis=1).astype(np.float32) * scale
        luts[start : start + count] = _to_dtype(cumulative, dtype)
    return luts


# --------------------------------------------------------------------------------------------------
# Global histogram equalisation
# --------------------------------------------------------------------------------------------------
def equalization_lut(counts, dtype):
    """Histogram-equalisation mapping of a whole scope, from its full-resolution histogram [3]_.

    ``lut[v] = rint(max * cdf(v))`` with ``cdf(v) = (pixels <= v) / pixels`` computed in float64
    (``max`` = 255 or 65535): Gonzalez & Woods' ``s_k = (L - 1) * sum_{j <= k} p_j``, rounded half
    to even.  On the scope's pixels this equals ``np.rint(skimage.exposure.equalize_hist(image) *
    max)`` exactly (scikit-image returns the cdf itself, a float in (0, 1]).

    Parameters
    ----------
    counts : array_like of int
        Full-resolution histogram (one bin per value: 256 for uint8, 65536 for uint16), e.g. the
        sum of the tiles' :func:`segval.histograms.tile_histogram` over a slice or a stack.
    dtype : numpy dtype
        uint8 or uint16.

    Returns
    -------
    numpy.ndarray
        The lookup table, ``dtype``, one entry per value; apply it with :func:`apply_lut`.
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.uint8, np.uint16):
        raise TypeError(f"equalisation supports uint8 and uint16 images, got {dtype}")
    maximum = int(np.iinfo(dtype).max)
    counts = np.asarray(counts)
    if counts.shape != (maximum + 1,):
        raise ValueError(f"a {dtype} histogram has {maximum + 1} bins, got shape {counts.shape}")
    cumulative = np.cumsum(counts.astype(np.int64))
    if cumulative[-1] <= 0:
        raise ValueError("the histogram is empty")
    cdf = cumulative / float(cumulative[-1])
    return _to_dtype(cdf * maximum, dtype)


def apply_lut(tile, lut):
    """Map every pixel of an integer tile through ``lut`` (OpenCV's ``LUT`` for uint8 tiles)."""
    lut = np.asarray(lut)
    if tile.dtype == np.uint8 and lut.shape == (256,):
        import cv2

        return cv2.LUT(np.ascontiguousarray(tile), lut).reshape(tile.shape)
    return lut[tile]


def equalize(tile, counts):
    """Equalise ``tile`` with the mapping of the histogram ``counts`` of its whole scope."""
    return apply_lut(tile, equalization_lut(counts, tile.dtype))


# --------------------------------------------------------------------------------------------------
# Chain registration (each step's halo is segval.spec.STEP_RADIUS)
# --------------------------------------------------------------------------------------------------
#: ``name: function(tile, value)`` for ``segval.denoise``'s chain steps.
CHAIN_STEPS = {
    "gaussian": gaussian,
    "bgmedian": lambda tile, size: background(tile, "median", size),
    "tophat": lambda tile, size: background(tile, "tophat", size),
    "rollingball": lambda tile, size: background(tile, "rolling_ball", size),
}

#: ``name: function(tile, value, origin, image_size)``: steps that need the tile's place in the image.
GEOMETRY_STEPS = {
    "clahe": lambda tile, clip, origin, image_size: clahe(
        tile, clip, CLAHE_REGION_PX, origin=origin, image_size=image_size
    ),
}
