"""Global thresholds computed from a histogram, so that they can come from histograms summed over tiles.

Every global method here is a function of the image's histogram alone.  segval histograms integer
images at full resolution (one bin per value: 256 bins for 8-bit, 65536 for 16-bit), so the
histogram of a whole image is exactly the sum of its tiles' histograms, and a threshold computed from
the summed histogram equals the one computed from the whole image.

Conventions
-----------
- Foreground is ``value > threshold`` for every method (as in scikit-image and ImageJ).
- The scikit-image family (``otsu``, ``li``, ``yen``, ``triangle``, ``isodata``, ``mean``,
  ``minimum``) returns exactly what ``skimage.filters.threshold_<name>`` (scikit-image 0.26) returns
  for the image the histogram was taken of, float32 rounding of the counts included: the tests
  compare the two.  For float images skimage bins the image into 256 bins between its minimum and
  maximum; segval does the same over the range shared by all tiles, so Otsu, Yen, IsoData, Minimum
  and Triangle stay identical, while Li and Mean (which skimage computes from the raw float values)
  are computed from bin centres and the exact sum respectively, and can differ in the last digits.
- The ImageJ family (``ij_*``, see :mod:`segval.imagej`) returns ImageJ's bin index ``t`` (bins
  ``0..t`` are background), which is a threshold value under the same ``>`` convention once mapped
  through the bin values.
- ``manual:<value>`` is the given value; ``percentile:<p>`` is the smallest value with at least
  ``p`` % of the pixels at or below it (so about ``100 - p`` % are foreground).

References
----------
.. [1] N. Otsu, "A threshold selection method from gray-level histograms", IEEE Trans. Syst. Man
       Cybern. 9(1):62-66, 1979.
.. [2] C. H. Li and P. K. S. Tam, "An iterative algorithm for minimum cross entropy thresholding",
       Pattern Recognit. Lett. 19(8):771-776, 1998.
.. [3] J.-C. Yen, F.-J. Chang and S. Chang, "A new criterion for automatic multilevel thresholding",
       IEEE Trans. Image Process. 4(3):370-378, 1995.
.. [4] G. W. Zack, W. E. Rogers and S. A. Latt, "Automatic measurement of sister chromatid exchange
       frequency", J. Histochem. Cytochem. 25(7):741-753, 1977 (Triangle).
.. [5] T. W. Ridler and S. Calvard, "Picture thresholding using an iterative selection method",
       IEEE Trans. Syst. Man Cybern. 8:630-632, 1978 (IsoData).
.. [6] C. A. Glasbey, "An analysis of histogram-based thresholding algorithms", CVGIP: Graphical
       Models and Image Processing 55:532-537, 1993 (Mean, Minimum).
"""

import numpy as np

from segval.errors import OK, THRESHOLD_NOT_FOUND, SegvalError, ThresholdNotFound
from segval.histograms import by_scope, float_scope_counts
from segval.spec import (  # noqa: F401 - the method vocabulary, re-exported where it is used
    GLOBAL_METHODS,
    LOCAL_METHODS,
    METHODS,
    PARAMETRISED_METHODS,
    SKIMAGE_METHODS,
    is_local,
    method_file_id,
    parse_method,
)


def bin_values(n_bins, bin_edges=None, offset=0):
    """The value each bin stands for: ``offset + i`` for integer data, bin centres for float data."""
    if bin_edges is None:
        return np.arange(offset, offset + n_bins)
    edges = np.asarray(bin_edges)  # keep the data's float type: skimage's centres are in it
    if edges.shape != (n_bins + 1,):
        raise ValueError(f"{n_bins} bins need {n_bins + 1} edges, got {edges.shape[0]}")
    return (edges[:-1] + edges[1:]) / 2


def threshold_from_histogram(counts, method, bin_edges=None, *, offset=0, total=None):
    """Global threshold of the image whose histogram is ``counts``.

    Parameters
    ----------
    counts : array_like of int
        Pixel count per bin.  For integer images bin ``i`` holds value ``offset + i``.
    method : str
        A name from :data:`METHODS`, with ``:value`` for ``manual`` and ``percentile``.
    bin_edges : array_like of float, optional
        ``len(counts) + 1`` bin edges for float images (bins represent their centres).
    offset : int, optional
        Value of bin 0 for integer images (e.g. -32768 for int16).
    total : int or float, optional
        Exact sum of all pixel values, used by ``mean`` (without it the bin values are summed,
        which is exact for integer images).

    Returns
    -------
    float
        The threshold; foreground is ``value > threshold``.

    Raises
    ------
    ThresholdNotFound
        When the method cannot find a threshold on this histogram (``minimum`` and ``ij_minimum``,
        ``ij_intermodes`` on histograms that never become bimodal; any method on an empty one).

    Examples
    --------
    >>> counts = np.bincount([10, 10, 11, 12, 200, 201, 201, 202], minlength=256)
    >>> threshold_from_histogram(counts, "otsu")
    12.0
    """
    name, value = parse_method(method)
    if name in LOCAL_METHODS:
        raise ValueError(
            f"{name} is a local method: it has no global threshold (see segval.local_thresholds)"
        )
    counts = np.asarray(counts)
    if counts.ndim != 1 or counts.size < 1:
        raise ValueError(f"counts must be a 1-D histogram, got shape {counts.shape}")
    if np.any(counts < 0):
        raise ValueError("histogram counts must be non-negative")
    values = bin_values(counts.size, bin_edges, offset)
    if name == "manual":
        return float(value)
    if not counts.any():
        raise ThresholdNotFound(f"{method}: the histogram is empty (no pixels to threshold)")
    if name == "percentile":
        return float(_percentile(counts, values, value))
    if name.startswith("ij_"):
        from segval.imagej import ij_threshold

        return float(values[ij_threshold(counts.astype(np.int64), name)])
    if name == "mean":
        return float(_mean(counts, values, total))
    trimmed_counts, trimmed_values = _trim(counts, values)
    return float(_SKIMAGE[name](trimmed_counts, trimmed_values))


def _trim(counts, values):
    """Drop empty bins below the minimum and above the maximum, as skimage's histogram does."""
    nonzero = np.flatnonzero(counts)
    start, stop = nonzero[0], nonzero[-1] + 1
    return counts[start:stop], values[start:stop]


def _percentile(counts, values, percent):
    counts, values = _trim(counts, values)
    cumulative = np.cumsum(counts, dtype=np.int64)
    # count / total >= percent / 100, compared as count * 100 >= percent * total: no rounding of
    # percent / 100 (0.07 * 100 is 7.000000000000001) shifts the boundary.
    index = int(np.searchsorted(cumulative * 100, percent * cumulative[-1], side="left"))
    return values[min(index, counts.size - 1)]


def _mean(counts, values, total):
    n = int(counts.sum())
    if total is None:
        if np.issubdtype(values.dtype, np.integer):
            total = int(np.dot(counts.astype(np.int64), values.astype(np.int64)))
        else:
            total = float(np.dot(counts.astype(np.float64), values))
    # Same arithmetic as numpy's mean of the image: an exactly summed float64 total, divided once.
    return np.float64(total) / n


def _otsu(counts, values):
    if counts.size == 1:
        return values[0]
    counts = counts.astype(np.float32)
    weight_below = np.cumsum(counts)
    weight_above = np.cumsum(counts[::-1])[::-1]
    mean_below = np.cumsum(counts * values) / weight_below
    mean_above = (np.cumsum((counts * values)[::-1]) / weight_above[::-1])[::-1]
    between_variance = (
        weight_below[:-1] * weight_above[1:] * (mean_below[:-1] - mean_above[1:]) ** 2
    )
    return values[np.argmax(between_variance)]


def _yen(counts, values):
    if counts.size == 1:
        return values[0]
    pmf = counts.astype(np.float32) / counts.astype(np.float32).sum()
    cumulative = np.cumsum(pmf)
    squares_below = np.cumsum(pmf**2)
    squares_above = np.cumsum(pmf[::-1] ** 2)[::-1]
    criterion = np.log(
        ((squares_below[:-1] * squares_above[1:]) ** -1)
        * (cumulative[:-1] * (1.0 - cumulative[:-1])) ** 2
    )
    return values[criterion.argmax()]


def _isodata(counts, values):
    if counts.size == 1:
        return values[0]
    counts = counts.astype(np.float32)
    cumulative = np.cumsum(counts)
    cumulative_above = cumulative[-1] - cumulative
    weighted = np.cumsum(counts * values)
    # As scikit-image (float32 sums): on large images the sums above the top bins may round to
    # zero; those bins' inf/nan midpoints never satisfy the test below, so no warning.
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_below = weighted[:-1] / cumulative[:-1]
        mean_above = (weighted[-1] - weighted[:-1]) / cumulative_above[:-1]
    midpoint = (mean_below + mean_above) / 2.0
    bin_width = values[1] - values[0]
    distance = midpoint - values[:-1]
    return values[:-1][(distance >= 0) & (distance < bin_width)][0]


def _li(counts, values):
    if counts.size == 1:
        return values[0]
    low = values[0]
    shifted = values - low
    n = int(counts.sum())
    if np.issubdtype(values.dtype, np.integer):
        tolerance = 0.5
        current_mean = (
            np.float64(int(np.dot(counts.astype(np.int64), shifted.astype(np.int64)))) / n
        )
    else:
        tolerance = np.min(np.diff(shifted[counts > 0])) / 2
        current_mean = np.float64(np.dot(counts.astype(np.float64), shifted)) / n
    weights = counts.astype(np.float32)
    t_next, t_current = current_mean, -2 * tolerance
    while abs(t_next - t_current) > tolerance:
        t_current = t_next
        above = shifted > t_current
        mean_above = np.average(shifted[above], weights=weights[above])
        mean_below = np.average(shifted[~above], weights=weights[~above])
        if mean_below == 0:
            break
        t_next = (mean_below - mean_above) / (np.log(mean_below) - np.log(mean_above))
    return t_next + low


def _triangle(counts, values):
    counts = counts.astype(np.int64)
    n_bins = counts.size
    peak = int(np.argmax(counts))
    peak_height = counts[peak]
    low, high = np.flatnonzero(counts)[[0, -1]]
    if low == high:
        return values[low]
    # The longer tail decides the side: flip so that it always lies below the peak.
    flip = peak - low < high - peak
    if flip:
        counts = counts[::-1]
        low = n_bins - high - 1
        peak = n_bins - peak - 1
    width = peak - low
    x = np.arange(width)
    y = counts[x + low]
    # Python ints: skimage's int64 square would overflow for peaks above 3e9 pixels (huge stacks).
    norm = np.sqrt(float(int(peak_height) ** 2 + int(width) ** 2))
    distance = (peak_height / norm) * x - (width / norm) * y
    level = int(np.argmax(distance)) + low
    if flip:
        level = n_bins - level - 1
    return values[level]


def _local_maxima(smoothed):
    """Bins where a rise turns into a fall; flat runs keep the direction they were entered with.

    Vectorised form of scikit-image's scan: the direction before step ``i`` is the sign of the last
    non-flat step before it (rising at the start), and a peak is a falling step entered rising.
    """
    steps = np.sign(np.diff(smoothed))
    if steps.size == 0:
        return steps.astype(np.intp)
    last_moving = np.where(steps != 0, np.arange(steps.size), -1)
    np.maximum.accumulate(last_moving, out=last_moving)
    direction = np.where(last_moving >= 0, steps[np.maximum(last_moving, 0)], 1)
    direction_before = np.r_[1, direction[:-1]]
    return np.flatnonzero((steps < 0) & (direction_before > 0))


def _minimum(counts, values, max_iterations=10000):
    from scipy import ndimage

    smoothed = counts.astype(np.float32)
    for iteration in range(max_iterations):  # noqa: B007 - read after the loop
        smoothed = ndimage.uniform_filter1d(smoothed, 3)
        maxima = _local_maxima(smoothed)
        if len(maxima) < 3:
            break
    if len(maxima) != 2:
        raise ThresholdNotFound(
            "minimum: the smoothed histogram never had exactly two peaks "
            f"({len(maxima)} after {iteration + 1} smoothing passes)"
        )
    if iteration == max_iterations - 1:
        raise ThresholdNotFound(f"minimum: still more than two peaks after {max_iterations} passes")
    valley = int(np.argmin(smoothed[maxima[0] : maxima[1] + 1]))
    return values[maxima[0] + valley]


_SKIMAGE = {
    "otsu": _otsu,
    "yen": _yen,
    "isodata": _isodata,
    "li": _li,
    "triangle": _triangle,
    "minimum": _minimum,
}


def threshold_equalized(counts, method, dtype, *, offset=0):
    """Threshold of the histogram-equalised image, expressed as an intensity of the original image.

    The image is equalised with :func:`segval.corrections.equalization_lut` (from ``counts``, the
    full-resolution histogram of the scope), the method thresholds the equalised histogram at
    ``t_eq``, and since the mapping never decreases, ``lut[v] > t_eq`` exactly when ``v`` exceeds
    the returned value: the largest intensity that equalises to at most ``t_eq``.  So masks need no
    equalised copy of the image, and tiles still stitch exactly.

    Examples
    --------
    >>> counts = np.bincount([0, 0, 10, 10, 10, 200, 250], minlength=256)
    >>> threshold_equalized(counts, "otsu", np.uint8)  # 10 is foreground here; plain Otsu says 10.0
    9.0
    """
    from segval.corrections import equalization_lut

    counts = np.asarray(counts)
    lut = equalization_lut(counts, dtype).astype(np.int64)
    equalized = np.bincount(lut - offset, weights=counts, minlength=counts.size).astype(np.int64)
    cut = threshold_from_histogram(equalized, method, offset=offset)
    values = np.arange(counts.size) + offset
    below = values[lut <= cut]
    return float(below[-1]) if below.size else float(values[0] - 1)


# --------------------------------------------------------------------------------------------------
# The threshold step's result: one threshold per scope, or a local method's parameters
# --------------------------------------------------------------------------------------------------


def local_method_result(method):
    """The threshold step's result for a local method: no global threshold, only the parameters the
    segment step will use.

    >>> local_method_result("sauvola")["local"]["name"], local_method_result("sauvola")["thresholds"]
    ('sauvola', [])
    """
    name, params = parse_method(method)
    return {
        "method": method,
        "scope": "local",
        "local": {"name": name, "params": params},
        "thresholds": [],
    }


def scope_thresholds(
    hist, method, scope, equalize=False, open_denoised=None, plan=None, source=None
):
    """One global threshold per unit of ``scope`` (the image, each slice or each tile).

    Parameters
    ----------
    hist : dict
        The sample's merged chunk histograms (:func:`segval.histograms.load_histograms`).
    method : str
        A global method (see :data:`GLOBAL_METHODS`), e.g. ``"otsu"`` or ``"manual:79"``.
    scope : {"image", "slice", "tile"}
    equalize : bool
        Threshold the histogram-equalised image (:func:`threshold_equalized`); 8- and 16-bit only.
    open_denoised : callable, optional
        Opens the sample's denoised chunks (a context manager with ``read(z, y0, y1, x0, x1)``, e.g.
        a :class:`segval.stitching.ChunkSet`): float images have no full-resolution histogram, so
        each scope's histogram is taken from the pixels (:func:`segval.histograms.float_scope_counts`).
        Needed for float images only.
    plan : segval.tiling.Plan, optional
        The sample's plan; needed for float images only.
    source : str, optional
        The file named in error messages (the first chunk's histograms).

    Returns
    -------
    dict
        ``method``, ``scope``, ``dtype`` and ``thresholds``: per unit its ``z``, ``row``, ``col``
        (None where the scope spans it), ``threshold``, ``status`` and ``message``.  A unit where the
        method finds no threshold has threshold None, status :data:`THRESHOLD_NOT_FOUND` and the
        reason as message (the caller decides whether that fails the run).  For float images also
        ``float_histogram``, the ``counts`` and ``edges`` of the first unit's bins.

    Raises
    ------
    SegvalError
        ``equalize`` with a float or 8/16-bit-incompatible type, or ``scope="tile"`` for a float
        image.

    Examples
    --------
    >>> counts = np.bincount([10] * 5 + [200] * 5, minlength=256)
    >>> hist = {"z": np.array([0]), "counts": counts[None], "sums": np.array([1050]),
    ...         "offset": 0, "dtype": "uint8"}
    >>> result = scope_thresholds(hist, "otsu", "image")
    >>> result["thresholds"]
    [{'z': None, 'row': None, 'col': None, 'status': 'ok', 'message': '', 'threshold': 10.0}]
    """
    is_float = hist["counts"].shape[1] == 0
    if equalize and hist["dtype"] not in ("uint8", "uint16"):
        raise SegvalError(
            f"histogram equalisation needs an 8- or 16-bit image, this one is {hist['dtype']}",
            source,
            "set equalize: false, or convert the images",
        )
    if is_float and scope == "tile":
        raise SegvalError(
            "per-tile thresholds are not available for float images",
            source,
            "use threshold_scope: image or slice, or convert the images to 8- or 16-bit",
        )
    entries, float_histogram_used = [], None
    for key, counts, total, selector in by_scope(hist, scope):
        edges = None
        if is_float:
            with open_denoised() as denoised:
                counts, edges = float_scope_counts(denoised, plan, hist, selector)
            float_histogram_used = float_histogram_used or {
                "counts": counts.tolist(),
                "edges": edges.tolist(),
            }
        entry = dict(key, status=OK, message="")
        try:
            if equalize:
                entry["threshold"] = threshold_equalized(
                    counts, method, hist["dtype"], offset=hist["offset"]
                )
            else:
                entry["threshold"] = threshold_from_histogram(
                    counts,
                    method,
                    edges,
                    offset=hist["offset"],
                    total=None if total is None else total.item(),
                )
        except ThresholdNotFound as error:
            entry.update(threshold=None, status=THRESHOLD_NOT_FOUND, message=str(error))
        entries.append(entry)
    result = {"method": method, "scope": scope, "dtype": hist["dtype"], "thresholds": entries}
    if float_histogram_used:  # float data has no full-resolution histogram: keep the bins used
        result["float_histogram"] = float_histogram_used
    return result
