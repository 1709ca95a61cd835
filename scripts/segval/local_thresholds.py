"""Local (adaptive) threshold methods that run on padded tiles and stitch bit-identically.

Every method here computes, for each pixel of a tile's *core*, a threshold (or a foreground
decision) from a window centred on that pixel.  The caller passes a **padded tile**: the core plus a
halo of ``h = local_halo(method, params)`` pixels on each side, read from the neighbouring pixels of
the image; where the halo falls outside the image, segval fills it by mirror reflection
(``np.pad(image, h, mode="symmetric")``, which is ``scipy.ndimage`` ``mode="reflect"``).  The whole
image is processed the same way: ``local_threshold(np.pad(image, h, mode="symmetric"), ...)``.

Exactness contract
------------------
For every method and every supported dtype, each output pixel is a deterministic function of the
values in its window, computed by the same sequence of floating-point operations wherever the tile
starts.  Hence processing tile by tile and stitching gives results **bit-identical** to processing
the whole image.  Concretely:

* Window sums and sums of squares of *integer* images are exact: OpenCV box filters with float64
  accumulators on integer data keep every partial sum an integer below 2**53, so each sum is the
  exact integer whatever the summation order (a check enforces the 2**53 bound).  The final float
  expressions then follow the reference tool's expression order.
* Window sums of *float* images use a fixed summation order relative to the window (never running
  sums), so they are origin-independent too; they differ from the reference's running/integral sums
  by rounding only.
* Gaussian filtering (a correlation whose every output uses the same inputs in the same order),
  medians, minima and maxima are origin-independent by nature.
* The local Otsu threshold is evaluated from exact integer window histograms.

Foreground convention
---------------------
segval's foreground is ``value > threshold``.  :func:`local_threshold` returns, for every method, a
float64 surface ``T`` such that ``local_mask(...) == (core > T)`` exactly.  For the scikit-image
methods ``T`` *is* the reference threshold.  For Fiji's Bernsen, Contrast and local Otsu, whose
reference decides foreground with ``>=``, with a low-contrast fallback or with an extra rule, ``T``
is an *equivalent* surface (half-integers, see each method) and :func:`local_mask` gives exactly the
reference's foreground; prefer :func:`local_mask` for those.

Methods
-------
``local_mean``, ``local_gaussian``, ``local_median``
    scikit-image ``threshold_local(image, block_size, method, offset)``: the weighted mean (box,
    Gaussian with ``sigma = (block_size - 1) / 6`` unless given, or median) of the
    ``block_size x block_size`` neighbourhood, minus ``offset``.
``niblack``
    scikit-image ``threshold_niblack``: ``T = m - k * s`` (window mean ``m``, population standard
    deviation ``s``) [1]_.
``sauvola``
    scikit-image ``threshold_sauvola``: ``T = m * (1 + k * (s / r - 1))``, ``r`` defaulting to half
    the dtype's range [2]_.
``phansalkar``, ``bernsen``, ``contrast``, ``midgrey``, ``local_otsu``
    Fiji "Auto Local Threshold" (G. Landini's plugin [6]_) methods of the same names [3]_ [4]_ [5]_,
    with ImageJ's circular windows of integer ``radius``.

Relation to the reference tools (summary; details in each method's notes)
-------------------------------------------------------------------------
==================  ==========================================  ====================================
method              equal to the reference on whole images?     border handling of the reference
==================  ==========================================  ====================================
local_gaussian      bit-identical (all dtypes)                  same as segval ("symmetric")
local_median        bit-identical (all dtypes)                  same as segval ("symmetric")
local_mean          to ~1e-13 relative, not bitwise (see note)  same as segval ("symmetric")
niblack, sauvola    bit-identical for integer images*           numpy "reflect" (pass it to compare)
bernsen, contrast,  identical masks (checked against Fiji)      ImageJ "edge", equivalent here to
midgrey                                                         segval's "symmetric"
phansalkar          identical masks with stretch (Fiji)         ImageJ "edge"
local_otsu          identical masks (Fiji) inside the image     ImageJ clips the window
==================  ==========================================  ====================================

\\* as long as skimage's own float64 integral image stays exact (below 2**53: always for uint8,
for uint16 up to about 2 megapixels in the worst case); beyond that skimage itself depends on the
pixel position and segval's result is the exact one.

Fiji's methods are defined for 8-bit images.  segval applies the *same formulas* to uint16 images
with the dtype's range: Bernsen's mid-grey level 128 becomes 32768, local Otsu's histogram has 65536
levels and its "value == 255" rule becomes "value == 65535", Phansalkar normalises by 65535 instead
of 255.  Parameters given in grey levels (``contrast_threshold``, ``offset``) are in the image's own
units (for uint16 data pass e.g. ``contrast_threshold=15 * 257`` to mimic an 8-bit setting).  Fiji's
methods accept only uint8 and uint16 input.

References
----------
.. [1] W. Niblack, "An Introduction to Digital Image Processing", Prentice-Hall, 1986,
       pp. 115-116.
.. [2] J. Sauvola and M. Pietikäinen, "Adaptive document image binarization", Pattern Recognition
       33(2): 225-236, 2000. :DOI:`10.1016/S0031-3203(99)00055-2`
.. [3] N. Phansalkar, S. More, A. Sabale and M. Joshi, "Adaptive local thresholding for detection
       of nuclei in diversity stained cytology images", International Conference on Communications
       and Signal Processing (ICCSP), 2011, pp. 218-220. :DOI:`10.1109/ICCSP.2011.5739305`
.. [4] J. Bernsen, "Dynamic thresholding of grey-level images", Proc. 8th International
       Conference on Pattern Recognition, Paris, 1986, pp. 1251-1255.
.. [5] N. Otsu, "A threshold selection method from gray-level histograms", IEEE Transactions on
       Systems, Man, and Cybernetics 9(1): 62-66, 1979. :DOI:`10.1109/TSMC.1979.4310076`
.. [6] G. Landini, "Auto Local Threshold" (Fiji plugin, v1.11),
       https://imagej.net/plugins/auto-local-threshold ; source:
       https://github.com/fiji/Auto_Local_Threshold (src/main/java/fiji/threshold/
       Auto_Local_Threshold.java).  Window shapes from ImageJ 1.x ``RankFilters.makeLineRadii``
       and ``OvalRoi.getMask`` (https://github.com/imagej/ImageJ).
.. [7] scikit-image, ``skimage.filters.threshold_local``, ``threshold_niblack``,
       ``threshold_sauvola``, https://scikit-image.org/docs/stable/api/skimage.filters.html
"""

from __future__ import annotations

import cv2
import numpy as np

from segval.spec import (
    DEFAULT_PARAMS,
    LOCAL_METHODS,
    TRUNCATE,
    _gaussian_sigma,
    _halo,
    _imagej_kernel_radius,
    local_halo,
    resolve_params,
)

__all__ = [
    "LOCAL_METHODS",
    "DEFAULT_PARAMS",
    "REFERENCE_PAD_MODE",
    "local_halo",
    "local_threshold",
    "local_mask",
    "resolve_params",
]

#: The ``np.pad`` mode with which the reference tool extends the *image* at its borders.  segval
#: always uses "symmetric"; to compare a whole-image result with the reference right up to the
#: border, pad with this mode instead.  ``None``: not expressible as padding (ImageJ clips the
#: local Otsu window to the image, so border windows hold fewer pixels).  For bernsen, contrast
#: and midgrey (local minimum and maximum) "symmetric" and "edge" give identical results.
REFERENCE_PAD_MODE = {
    "local_mean": "symmetric",
    "local_gaussian": "symmetric",
    "local_median": "symmetric",
    "niblack": "reflect",
    "sauvola": "reflect",
    "phansalkar": "edge",
    "bernsen": "edge",
    "contrast": "edge",
    "midgrey": "edge",
    "local_otsu": None,
}

_FIJI_METHODS = frozenset(LOCAL_METHODS[5:])
_INT_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.int8), np.dtype(np.int16))
_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_FIJI_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16))
_EXACT = 2.0**53


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _core(a, h):
    return a[h : a.shape[0] - h, h : a.shape[1] - h]


def _check_padded(padded, method, h):
    if not isinstance(padded, np.ndarray):
        raise TypeError(f"{method}: padded must be a numpy array, got {type(padded)}")
    if padded.ndim != 2:
        raise ValueError(
            f"{method}: padded must be a 2-D grayscale array, got shape {padded.shape}"
        )
    if not padded.dtype.isnative:  # e.g. big-endian TIFF data
        padded = padded.astype(padded.dtype.newbyteorder("="))
    allowed = _FIJI_DTYPES if method in _FIJI_METHODS else _INT_DTYPES + _FLOAT_DTYPES
    if padded.dtype not in allowed:
        raise TypeError(
            f"{method}: unsupported dtype {padded.dtype}; accepted dtypes: "
            + ", ".join(str(d) for d in allowed)
        )
    if padded.shape[0] <= 2 * h or padded.shape[1] <= 2 * h:
        raise ValueError(
            f"{method}: padded tile of shape {padded.shape} is too small for a halo of {h} pixels "
            f"(each side must exceed 2 * halo = {2 * h})"
        )
    return np.ascontiguousarray(padded)


def _work_dtype(dtype):
    # skimage computes in float32 for float32 input, in float64 otherwise.
    return np.dtype(np.float32) if dtype == np.float32 else np.dtype(np.float64)


def _dtype_max(dtype):
    return int(np.iinfo(dtype).max)


def _cv_src(a):
    """An array OpenCV's box filters accept, holding the same (integer) values."""
    return a if a.dtype in (np.uint8, np.uint16) else a.astype(np.float64)


def _check_exact(method, n_points, dtype):
    info = np.iinfo(dtype)
    big = max(abs(int(info.min)), int(info.max))
    if n_points * big * big >= _EXACT:
        raise ValueError(
            f"{method}: window of {n_points} pixels is too large for exact float64 sums of squares "
            f"of {dtype} data (needs n * max**2 < 2**53)"
        )


def _box_sums_int(padded, w):
    """Exact sums of values and of squares over w x w windows (float64 holding integers)."""
    h = w // 2
    src = _cv_src(padded)
    s = cv2.boxFilter(src, cv2.CV_64F, (w, w), normalize=False, borderType=cv2.BORDER_REFLECT)
    s2 = cv2.sqrBoxFilter(src, cv2.CV_64F, (w, w), normalize=False, borderType=cv2.BORDER_REFLECT)
    return _core(s, h), _core(s2, h)


def _window_sum_fixed(x, w):
    """Sum over w x w windows in a fixed order relative to each window (origin-independent)."""
    hc, wc = x.shape[0] - w + 1, x.shape[1] - w + 1
    rows = x[:, 0:wc].copy()
    for j in range(1, w):
        rows += x[:, j : j + wc]
    out = rows[0:hc].copy()
    for i in range(1, w):
        out += rows[i : i + hc]
    return out


def _mean_and_sq_mean(padded, w, method):
    """Window mean m and mean of squares g2 in the work dtype, as skimage's ``_mean_std``."""
    n = w * w
    wd = _work_dtype(padded.dtype)
    if padded.dtype.kind in "ui":
        _check_exact(method, n, padded.dtype)
        s, s2 = _box_sums_int(padded, w)  # exact integers in float64
    else:
        x = padded.astype(wd)
        sq = (x * x).astype(np.float64)  # skimage squares in the work dtype
        x = x.astype(np.float64)
        s, s2 = _window_sum_fixed(x, w), _window_sum_fixed(sq, w)
    m = s.astype(wd, copy=False)
    m /= n
    g2 = s2.astype(wd, copy=False)
    g2 /= n
    return m, g2


def _imagej_disk(radius):
    """ImageJ's circular kernel (RankFilters) of the given radius as a uint8 0/1 array."""
    k_radius, half_widths = _imagej_kernel_radius(radius)
    size = 2 * k_radius + 1
    kernel = np.zeros((size, size), np.uint8)
    for i, d in enumerate(half_widths):
        kernel[i, k_radius - d : k_radius + d + 1] = 1
    return kernel


def _imagej_oval(radius):
    """ImageJ ``OvalRoi(0, 0, 2r, 2r).getMask()``: the local Otsu window, (2r, 2r) bool.

    Mask pixel (i, j) lies at offset (i - r, j - r) from the pixel being thresholded, so the
    window covers offsets -r .. r-1 and is centred on the pixel's top-left corner.
    """
    a = float(radius)  # width / 2 == height / 2
    a2 = a * a
    c = a - 0.5
    jj = np.arange(2 * radius, dtype=np.float64)
    xx = (jj - c)[None, :]
    yy = (jj - c)[:, None]
    return (xx * xx / a2 + yy * yy / a2) <= 1.0


def _min_max_disk(padded, radius):
    kernel = _imagej_disk(radius)
    h = kernel.shape[0] // 2
    mx = cv2.dilate(padded, kernel, borderType=cv2.BORDER_REPLICATE)
    mn = cv2.erode(padded, kernel, borderType=cv2.BORDER_REPLICATE)
    return _core(mn, h).astype(np.int64), _core(mx, h).astype(np.int64)


def _disk_sums(x, radius):
    """Exact sums of values and squares over ImageJ's circular kernel (float64 integers)."""
    k_radius, half_widths = _imagej_kernel_radius(radius)
    h = k_radius
    hc, wc = x.shape[0] - 2 * h, x.shape[1] - 2 * h
    n = sum(2 * d + 1 for d in half_widths)
    if x.dtype == np.uint8:
        # int32 is exact here (n * 255**2 < 2**31 for radius < 180) and halves memory traffic
        if n * 255 * 255 >= 2**31:
            raise ValueError(f"phansalkar: radius {radius} is too large (window of {n} pixels)")
        src, sq, depth, acc = x, x.astype(np.uint16) ** 2, cv2.CV_32S, np.int32
    else:
        src, sq, depth, acc = _cv_src(x), None, cv2.CV_64F, np.float64
    s = np.zeros((hc, wc), acc)
    s2 = np.zeros((hc, wc), acc)
    for d in sorted(set(half_widths)):
        ksize = (2 * d + 1, 1)  # horizontal run sums of half-width d, for every row
        hs = cv2.boxFilter(src, depth, ksize, normalize=False, borderType=cv2.BORDER_REFLECT)
        if sq is None:
            hs2 = cv2.sqrBoxFilter(
                src, depth, ksize, normalize=False, borderType=cv2.BORDER_REFLECT
            )
        else:
            hs2 = cv2.boxFilter(sq, depth, ksize, normalize=False, borderType=cv2.BORDER_REFLECT)
        for i, dd in enumerate(half_widths):
            if dd == d:  # kernel row i (offset i - h) has half-width d
                s += hs[i : i + hc, h : h + wc]
                s2 += hs2[i : i + hc, h : h + wc]
    return s.astype(np.float64, copy=False), s2.astype(np.float64, copy=False), n


# --------------------------------------------------------------------------------------------
# Local Otsu (Fiji's "Otsu" local method)
# --------------------------------------------------------------------------------------------


def _otsu_hist(padded, radius, chunk=128):
    """Local Otsu thresholds via sliding window histograms over the tile's grey range (exact).

    The histograms cover levels ``padded.min() .. padded.max()`` (256 bins at most for uint8);
    moving down one row removes the top pixel and adds a new bottom pixel of each window column.
    """
    r = radius
    oval = _imagej_oval(r)
    n = int(oval.sum())
    hc, wc = padded.shape[0] - 2 * r, padded.shape[1] - 2 * r
    base_level = int(padded.min())
    n_levels = int(padded.max()) - base_level + 1
    # The oval is convex: each window column j (offset j - r) is one run of rows top..bottom.
    runs = []
    for j in range(2 * r):
        ii = np.flatnonzero(oval[:, j])
        runs.append((j, int(ii[0]), int(ii[-1])))
    hist = np.zeros((n_levels, wc), np.int32)  # level-major: hist[v - base_level, x]
    flat = hist.reshape(-1)
    itype = np.int32 if n_levels * wc < 2**31 else np.intp
    base = np.arange(wc, dtype=itype)
    pw = (padded.astype(itype) - base_level) * wc  # flat offset of level v
    for j, top, bottom in runs:
        for i in range(top, bottom + 1):
            flat[base + pw[i, j : j + wc]] += 1  # indices are distinct within one update
    term = 1.0 / n
    levels = np.arange(base_level, base_level + n_levels, dtype=np.float64)[:, None]
    out = np.empty((hc, wc), np.int64)
    for y in range(hc):
        if y:
            for j, top, bottom in runs:
                flat[base + pw[y - 1 + top, j : j + wc]] -= 1
                flat[base + pw[y + bottom, j : j + wc]] += 1
        band = pw[y : y + 2 * r]
        for x0 in range(0, wc, chunk):
            x1 = min(wc, x0 + chunk)
            # Levels outside [lo, hi] of every window in this chunk have zero counts: they add
            # exact zeros to the cumulative sums and can never win the strict maximum, so leaving
            # them out changes nothing (bit for bit).
            sub = band[:, x0 : x1 + 2 * r - 1]
            lo, hi = int(sub.min()) // wc, int(sub.max()) // wc
            out[y, x0:x1] = _otsu_levels(
                hist[lo : hi + 1, x0:x1], term, levels[lo : hi + 1], lo + base_level
            )
    return out


def _otsu_levels(counts, term, levels, lo):
    """Otsu threshold per column of ``counts`` (levels x pixels), Fiji/Celebi arithmetic."""
    histo = counts * term  # normalised histogram (term * count, as Fiji)
    cnh = np.cumsum(histo, axis=0)  # sequential cumulative sums, same order as Fiji's loop
    histo *= levels
    mean = np.cumsum(histo, axis=0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        num = mean[-1] * cnh  # total_mean * cnh[ih] - mean[ih]
        num -= mean
        den = 1.0 - cnh
        den *= cnh
        np.divide(num, den, out=den)  # bcv *= bcv / (cnh * (1 - cnh))
        den *= num
    np.fmax(den, 0.0, out=den)  # NaN and values <= 0 never win Fiji's "max_bcv < bcv"
    k = np.argmax(den, axis=0)  # first maximum, like the strict comparison
    best = den[k, np.arange(den.shape[1])]
    return np.where(best > 0.0, k + lo, 0)


def _otsu_sorted(padded, radius, max_elements=1 << 21):
    """Local Otsu thresholds for any integer dtype from sorted window values (exact).

    Equivalent bit for bit to evaluating Fiji's loop over all 2**bits levels: empty levels add
    exact zeros to the cumulative sums and never win the strict maximum, so only the levels present
    in the window (the ends of runs of equal sorted values) need evaluating.
    """
    r = radius
    oval = _imagej_oval(r)
    offsets = np.argwhere(oval)
    n = len(offsets)
    term = 1.0 / n
    hc, wc = padded.shape[0] - 2 * r, padded.shape[1] - 2 * r
    out = np.empty((hc, wc), np.int64)
    rows_per_chunk = max(1, max_elements // (n * wc))
    for y0 in range(0, hc, rows_per_chunk):
        y1 = min(hc, y0 + rows_per_chunk)
        v = np.empty((y1 - y0, wc, n), padded.dtype)
        for k, (i, j) in enumerate(offsets):
            v[:, :, k] = padded[y0 + i : y1 + i, j : j + wc]
        v = v.reshape(-1, n)
        v.sort(axis=1, kind="stable")  # radix sort for 8/16-bit integers
        last = np.empty(v.shape, bool)  # last element of each run of equal values
        np.not_equal(v[:, 1:], v[:, :-1], out=last[:, :-1])
        last[:, -1] = True
        # Every row ends with a run end, so differences of the flat run-end positions are the run
        # lengths (the first run of a row is measured from the previous row's last element).
        ends = np.flatnonzero(last)
        histo = np.zeros(v.shape)
        histo.reshape(-1)[ends] = np.diff(ends, prepend=-1) * term  # term * count, as Fiji
        cnh = np.cumsum(histo, axis=1)
        histo *= v
        mean = np.cumsum(histo, axis=1)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            num = mean[:, -1:] * cnh
            num -= mean
            den = 1.0 - cnh
            den *= cnh
            np.divide(num, den, out=den)
            den *= num
        den[~last] = 0.0  # only the levels present in the window are Fiji's candidates
        np.fmax(den, 0.0, out=den)
        k = np.argmax(den, axis=1)
        rr = np.arange(v.shape[0])
        best = den[rr, k]
        out[y0:y1] = np.where(best > 0.0, v[rr, k], 0).reshape(y1 - y0, wc)
    return out


def _local_otsu_levels(padded, radius):
    # Sliding histograms cost ~ (local grey range) per pixel, sorting ~ (window size): histograms
    # for uint8 and for uint16 tiles spanning few grey levels, sorting otherwise (crossover
    # measured near 10-bit ranges at radius 15).  Both are exact, so the choice is only speed.
    n_levels = int(padded.max()) - int(padded.min()) + 1
    if padded.dtype == np.uint8 or n_levels <= 1024:
        return _otsu_hist(padded, radius)
    return _otsu_sorted(padded, radius)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def _compute(padded, method, params):
    """Return (core, T) with T float64 and the foreground exactly ``core > T``."""
    p = resolve_params(method, params)
    h = _halo(method, p)
    padded = _check_padded(padded, method, h)
    core = _core(padded, h)
    dt = padded.dtype
    wd = _work_dtype(dt)

    if method == "local_mean":
        b = p["block_size"]
        if dt.kind in "ui":
            _check_exact(method, b * b, dt)
            s = _core(
                cv2.boxFilter(
                    _cv_src(padded),
                    cv2.CV_64F,
                    (b, b),
                    normalize=False,
                    borderType=cv2.BORDER_REFLECT,
                ),
                h,
            )
        else:
            s = _window_sum_fixed(padded.astype(np.float64), b)
        # (Python float offset: numpy keeps float32 for float32 m, as skimage's result)
        t = (s / (b * b)).astype(wd, copy=False) - p["offset"]
    elif method == "local_gaussian":
        import scipy.ndimage as ndi

        g = ndi.gaussian_filter(
            padded.astype(wd), _gaussian_sigma(p), mode="reflect", truncate=TRUNCATE
        )
        t = _core(g, h) - p["offset"]
    elif method == "local_median":
        b = p["block_size"]
        if (dt == np.uint8 and 3 <= b <= 255) or (dt == np.uint16 and b in (3, 5)):
            med = cv2.medianBlur(padded, b)  # exact (histogram-based for large b)
        else:
            import scipy.ndimage as ndi

            med = ndi.median_filter(padded, size=b, mode="reflect")
        t = _core(med, h).astype(wd) - p["offset"]
    elif method in ("niblack", "sauvola"):
        m, g2 = _mean_and_sq_mean(padded, p["window_size"], method)
        s = np.sqrt(np.clip(g2 - m * m, 0, None))
        k = p["k"]
        if method == "niblack":
            t = m - k * s
        else:
            r = p["r"]
            if r is None:
                if dt.kind in "ui":
                    info = np.iinfo(dt)
                    r = 0.5 * (int(info.max) - int(info.min))
                else:
                    r = 1.0  # skimage dtype_limits for floats: (-1, 1)
            t = m * (1 + k * ((s / r) - 1))
    elif method == "phansalkar":
        t, core = _phansalkar(padded, p, h)
    else:
        if method == "local_otsu":
            lev = _local_otsu_levels(padded, p["radius"])
            top = _dtype_max(dt)
            # Fiji: foreground if value > t or value == 255 (here: the dtype's maximum).
            t = np.where(lev >= top, top - 0.5, lev.astype(np.float64))
        else:
            mn, mx = _min_max_disk(padded, p["radius"])
            if method == "midgrey":
                t = ((mx + mn) // 2).astype(np.float64) - p["offset"]
            elif method == "contrast":
                # |max - v| <= |v - min| and v != 0  <=>  2 v >= max + min and v > 0
                t = np.maximum((mx + mn - 1) / 2.0, 0.0)
            else:  # bernsen
                mid = (mx + mn) // 2
                low = (mx - mn) < p["contrast_threshold"]
                half = (_dtype_max(dt) + 1) // 2
                t = np.where(
                    low,
                    np.where(mid >= half, mn - 0.5, mx + 0.5),  # all foreground / all background
                    mid - 0.5,  # v >= mid
                )
    return core, np.asarray(t, dtype=np.float64)


def _phansalkar(padded, p, h):
    dt = padded.dtype
    top = _dtype_max(dt)
    x = padded
    if p["stretch"] is not None:
        lo, hi = p["stretch"]
        if not (0 <= lo <= top and 0 <= hi <= top):
            raise ValueError(
                f"phansalkar: parameter 'stretch' must lie within the dtype's range 0..{top}, "
                f"got {p['stretch']!r}"
            )
        if hi > lo:  # ImageJ ContrastEnhancer.normalize (Fiji stretches only when max > min)
            i = np.arange(top + 1, dtype=np.float64)
            lut = np.floor(((i - lo) / (hi - lo)) * top)
            lut[i <= lo] = 0
            lut[i >= hi] = top
            x = lut.astype(dt)[padded]
    _check_exact("phansalkar", int(_imagej_disk(p["radius"]).sum()), dt)
    s, s2, n = _disk_sums(x, p["radius"])
    mean = s / (n * float(top))  # window mean of x / top
    var = (s2 - s * s / n) / n  # population variance (ImageJ RankFilters VARIANCE)
    np.maximum(var, 0.0, out=var)
    sd = np.sqrt(var) / top
    thr = mean * (1.0 + p["p"] * np.exp(-p["q"] * mean) + p["k"] * ((sd / p["r"]) - 1.0))
    return thr * top, _core(x, h)


def local_threshold(padded, method, params=None) -> np.ndarray:
    """Threshold surface of a tile's core; foreground is ``core > surface``.

    Parameters
    ----------
    padded : (H + 2h, W + 2h) ndarray
        The tile's core plus a halo of ``h = local_halo(method, params)`` pixels on each side
        (image pixels, or mirror reflection at the image border).  dtypes: uint8, uint16, int8,
        int16, float32, float64 for the skimage methods; uint8 and uint16 for Fiji's methods.
    method : str
        One of :data:`LOCAL_METHODS`.
    params : dict, optional
        Parameters overriding :data:`DEFAULT_PARAMS` ``[method]``.

    Returns
    -------
    (H, W) ndarray of float64
        For the skimage methods, the reference's threshold.  For Fiji's methods, a surface ``T``
        with ``local_mask(padded, method, params) == (core > T)`` (see Notes).  With phansalkar's
        ``stretch``, ``T`` is in the units of the *stretched* image; use :func:`local_mask`.

    Raises
    ------
    ValueError
        Unknown method or parameter, invalid parameter value, tile smaller than the halo.
    TypeError
        Unsupported dtype.

    Notes
    -----
    **local_mean** (``block_size``, ``offset``): ``sum(window) / block_size**2 - offset``.  For
    integer images the window sum is exact and the mean correctly rounded.  skimage's
    ``threshold_local(method='mean')`` uses ``scipy.ndimage.uniform_filter``, a *running mean* that
    adds ``(new - old) / size`` along each line, so its values depend on the position in the line
    and differ from the exact mean by rounding (up to ~1e-13 relative); bit-identity with skimage
    is impossible for any tile-exact implementation.  Masks can differ only where a pixel equals
    its local mean to within that rounding.  Float images: fixed-order window sums.

    **local_gaussian** (``block_size``, ``offset``, ``sigma``): ``scipy.ndimage.gaussian_filter``
    with ``sigma = (block_size - 1) / 6`` unless given, ``truncate = 4``, minus ``offset``; the halo
    is the kernel radius ``int(4 * sigma + 0.5)``.  Bit-identical to skimage for every dtype
    (computed in float32 for float32 input, as skimage does, then widened).

    **local_median** (``block_size``, ``offset``): window median minus ``offset`` (OpenCV's
    ``medianBlur`` for uint8, and for uint16 with block_size 3 or 5; scipy's ``median_filter``
    otherwise, which is slow for large windows, ~0.04 MP/s for uint16 at block_size 35, as in
    skimage); bit-identical to skimage.

    **niblack** (``window_size``, ``k``): ``m - k * s``; **sauvola** (``window_size``, ``k``,
    ``r``): ``m * (1 + k * (s / r - 1))``, ``m`` and ``s`` the mean and population standard
    deviation of the ``window_size**2`` window, evaluated with skimage's expressions in skimage's
    order from exact integer sums: bit-identical to ``threshold_niblack`` / ``threshold_sauvola``
    for integer images when the same padding is used.  skimage pads these two with numpy's
    ``"reflect"`` (not ``"symmetric"``), so near the image border segval's tiled result differs
    from skimage's unless the caller pads with ``REFERENCE_PAD_MODE[method]``.  Float images:
    fixed-order sums, equal to skimage to rounding.  Note that skimage's Niblack has
    ``T = m - k * s`` (Fiji's Niblack uses ``m + k * s`` and truncates to an integer).

    **phansalkar** (``radius``, ``k``, ``r``, ``p``, ``q``, ``stretch``) [3]_: with ``x`` the image
    scaled to [0, 1] by the dtype's maximum (255 / 65535), ``m`` and ``s`` the mean and population
    standard deviation of ``x`` over ImageJ's circular kernel, ``t = m * (1 + p * exp(-q * m) +
    k * (s / r - 1))`` and ``T = t * max``.  Fiji first stretches the image's *global* grey range
    to 0..255 (``ContrastEnhancer`` "normalize", saturated 0); a tile cannot know the global range,
    so segval does not stretch unless ``stretch=(global_min, global_max)`` is given, which applies
    Fiji's look-up table ``floor((v - min) / (max - min) * 255)``.  Fiji computes in float32 from
    running double sums and compares ``x > t`` in [0, 1]; segval uses float64 from exact sums and
    compares in grey levels, so decisions can differ only where a pixel is within float32
    rounding of the threshold.

    **bernsen** (``radius``, ``contrast_threshold``) [4]_: with ``min``/``max`` over ImageJ's
    circular kernel and ``mid = (min + max) // 2``: if ``max - min < contrast_threshold`` the pixel
    is foreground iff ``mid >= 128`` (uint16: 32768), else iff ``value >= mid``.  Equivalent
    surface: ``mid - 0.5``; ``min - 0.5`` (all foreground) or ``max + 0.5`` (all background) in
    low-contrast windows.

    **contrast** (``radius``): foreground iff the pixel is at least as close to the local maximum
    as to the local minimum and is not 0 (Fiji's "Contrast", after Soille's toggle contrast).
    Equivalent surface: ``max((min + max - 1) / 2, 0)``.

    **midgrey** (``radius``, ``offset``): ``T = (min + max) // 2 - offset`` (Fiji's "MidGrey";
    Fiji truncates ``offset`` to an integer, segval does not).

    **local_otsu** (``radius``) [5]_: Fiji's local "Otsu": for each pixel, Otsu's threshold ``t``
    (E. Celebi's between-class-variance code, reproduced operation for operation in float64) of
    the histogram of the pixels inside ImageJ's ``OvalRoi`` of diameter ``2 * radius`` placed at
    ``(x - radius, y - radius)``, i.e. offsets ``-radius .. radius - 1``, centred on the pixel's
    top-left corner.  Foreground iff ``value > t`` or ``value == 255`` (uint16: 65535);
    surface ``t`` (``max - 0.5`` where ``t`` reaches the dtype maximum).  This differs from
    ``skimage.filters.rank.otsu`` (centred footprint, different Otsu arithmetic).  Fiji clips
    the window at the image border; segval's windows always hold the full oval (halo).  Speed:
    uint8 tiles (and uint16 tiles spanning at most 1024 grey levels) use sliding window
    histograms, ~0.2-0.3 MP/s at radius 15; other uint16 tiles sort every window, ~0.02-0.03
    MP/s.  Both paths give bit-identical thresholds, so tiles may take different paths.

    For all Fiji methods, ImageJ replicates edge pixels (or clips windows) at the image border,
    while segval's halo mirrors.  Checked against Fiji itself (Auto_Local_Threshold v1.11 with
    ImageJ 1.54u, run headless on test images, radius 2 to 15): masks identical wherever the
    window lies inside the image, for all five methods; Bernsen, Contrast and MidGrey identical
    on the whole image (the minimum and maximum over a mirrored window equal those over ImageJ's
    edge-replicated window); Phansalkar identical on the whole image when padded with "edge";
    local Otsu differs only within ``radius`` of the border.  Fiji's "white objects on black
    background" option is assumed (bright foreground).  In Fiji's dialog a parameter value of 0
    means "use the default"; here 0 means 0.
    """
    return _compute(padded, method, params)[1]


def local_mask(padded, method, params=None) -> np.ndarray:
    """Foreground mask of a tile's core, exactly as the reference method decides it.

    Parameters
    ----------
    padded, method, params
        As for :func:`local_threshold`.

    Returns
    -------
    (H, W) ndarray of bool
        ``core > local_threshold(padded, method, params)`` (``core`` =
        ``padded[h:-h, h:-h]``, stretched first for phansalkar with ``stretch``); this equals
        the reference's own foreground rule for every method, including Fiji's ``>=`` (Bernsen,
        Contrast), low-contrast fallback (Bernsen), ``value != 0`` (Contrast) and
        ``value == 255`` (local Otsu) rules.  Tile-exact like :func:`local_threshold`.

    See Also
    --------
    local_threshold : definitions and the relation of each method to its reference.
    """
    core, t = _compute(padded, method, params)
    return core > t
