"""ImageJ's automatic thresholds, ported from ``ij.process.AutoThresholder`` (ImageJ 1.52i).

This module reproduces, bin for bin, the thresholds that ImageJ 1.52i's
``AutoThresholder.getThreshold(Method, int[])`` returns: the code behind ImageJ's *Image > Adjust >
Threshold* dialog and ``setAutoThreshold("<Method> dark")``.  Its methods come from G. Landini's
*Auto Threshold* plugin (Fiji's *Image > Adjust > Auto Threshold*, most methods ported from
M. E. Celebi's *fourier* library and A. Niemistö's *HistThresh* toolbox); that plugin has its own
copy of the code, which cuts the histogram to its occupied range first and has since diverged in
places, so its numbers can differ from these.  Each function below cites the paper it implements.
Every method is a pure function of a histogram of integer counts; there is no image here.

Convention
----------
A threshold ``t`` is a **bin index**: bins ``0..t`` form one class (background) and bins
``t+1..`` the other (foreground), i.e. ``mask = image > t`` for an image whose grey levels are the
bin indices ("dark background").  This is ImageJ's convention; for an 8-bit image thresholded
with ``setAutoThreshold("<Method> dark")`` ImageJ selects ``t+1..255``.

How this differs from scikit-image
----------------------------------
``skimage.filters.threshold_*`` also return a value with foreground ``> threshold``, but they are
a different family of definitions, not the same algorithms.  They work on the image (or a
histogram of bin centres over its min..max) rather than on ImageJ's integer bins, and differ in
the details: skimage's Li shifts the image to be positive and iterates on floating-point means to
a tolerance, ImageJ's iterates on rounded integers of the unshifted bins; skimage's IsoData takes
the first bin centre satisfying the intermeans condition, ImageJ's scans upward excluding bin g
from both means and truncating the lower mean to an integer; skimage's Triangle joins the peak to
the outermost occupied bin, ImageJ's to the empty bin beyond it and steps one bin back; skimage's
Minimum smooths with reflected edges, recognises plateau maxima and takes the lowest bin between
the modes, ImageJ's pads with zeros, counts only strict maxima and takes the first dip.  For the
3 x 3 median-filtered KESM tile, for instance, ImageJ gives Li = 44 (skimage 34.1), Triangle = 56
(55), IsoData = 35 (36), Minimum = 176 (6).  Neither family is wrong; use this module where
results must agree with ImageJ.

Failures and degenerate histograms
----------------------------------
ImageJ returns 0 where a method finds nothing (its internal sentinel is -1).  Here such failures
raise :class:`ThresholdNotFound` (a ``ValueError``) instead of returning a silent 0:

* Intermodes and Minimum, when the histogram does not become bimodal within 10000 smoothing
  iterations (ImageJ logs "... not found after 10000 iterations");
* IsoData, when no grey level satisfies its fixed-point rule;
* the entropy and moment methods, when their criterion is undefined or nowhere positive (Huang,
  MaxEntropy, Moments, Shanbhag and Yen on a single occupied bin; MaxEntropy and Yen on two);
* any result ImageJ's code would return outside the histogram (Triangle can give -1 or
  ``len(counts)`` when no bin rises above its line; MinError's iteration can run off), and
  iterations that would never terminate in ImageJ (Li or MinError cycling between values).

Every other answer is ImageJ's, even where it is degenerate.  For a 256-bin histogram with a single
occupied bin b, ImageJ 1.52i returns: Default 128 (``len(counts) // 2``), Otsu 254
(``len(counts) - 2``), Mean and MinError b, Percentile, Li and RenyiEntropy 0, Triangle b - 2
(b >= 2); the other methods fail.  (ImageJ 1.54a and later special-case one- and two-level
histograms before running any method; 1.52i does not.)  An all-zero histogram is rejected with
``ValueError("empty histogram ...")`` before any method runs.

Arithmetic
----------
ImageJ's Java arithmetic is reproduced: ``int`` sums and products wrap around at 32 bits where the
Java code uses ``int`` (IsoData's lower-class sums, MinError's products ``i*count`` and
``i*i*count``, Default's ``2 * count``), integer division truncates toward zero, ``(int)`` casts
truncate (NaN -> 0, saturating), ``Math.round`` rounds half up, and every ``double`` sum is
accumulated in ImageJ's order (``numpy.cumsum`` is strictly sequential).  Sums of integers are
exact, as in ImageJ, while they stay below 2**53 (any real image).  ``numpy.log``/``sqrt`` may
differ from Java's ``Math.log`` in the last bit in rare cases, which could only matter for an
exact tie between two thresholds.  The wrap-around is faithful but not harmless: MinError's
``i*i*count`` overflows once ``count > 2**31 / i**2`` (33000 pixels in bin 255; a few hundred in
bin 3000 of a 16-bit histogram), and from then on its result is ImageJ's, not Kittler &
Illingworth's.

Histogram length and 16-bit images
----------------------------------
ImageJ 1.52i's ``AutoThresholder`` takes only 256-bin histograms: ``setAutoThreshold`` (the
*Threshold* dialog, macros) on a 16-bit image resets the display range to the pixels' min..max,
converts to 8 bits (256 bins spanning min..max), thresholds that histogram and scales the
threshold back.  Later versions can threshold the full 16-bit histogram instead (the *Threshold*
dialog's "16-bit histogram" option; ImageJ >= 1.54g's ``AutoThresholder`` accepts histograms
longer than 256 bins), and Fiji's *Auto Threshold* plugin always uses the full 65536-bin histogram
of a 16-bit image; both first cut a long histogram to its occupied range and add the offset back.

segval passes the full histogram (e.g. 65536 bins for 16-bit data), so these functions accept any
length >= 2.  Up to 256 bins the histogram is used whole, exactly as ImageJ 1.52i does (the Java
code's 256-bin constants 255, 254, ... are generalised to the histogram's length).  Longer
histograms are first cut to their occupied range ``lo..hi``, the 1.52i method runs on that and
``lo`` is added back, as in the full-16-bit-histogram paths above (a histogram with one occupied
bin b then gives b, as Fiji's *Auto Threshold* does).  Results for 16-bit data therefore
correspond to full-histogram thresholding, not to ImageJ's default 256-bin binning of 16-bit
images, and can differ from the latter by more than one 256th of the range.  Huang, MaxEntropy,
RenyiEntropy and Shanbhag cost O(K**2) for K occupied bins (as in ImageJ; about a second for
K = 3000) and Intermodes/Minimum may smooth the occupied range 10000 times.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from segval.errors import ThresholdNotFound
from segval.spec import IJ_METHODS

__all__ = ["IJ_METHODS", "ThresholdNotFound", "ij_threshold", *IJ_METHODS]


# Java constants.
_INT_MAX = 2**31 - 1
_INT_MIN = -(2**31)
_DBL_EPSILON = 2.220446049250313e-16  # the literal ImageJ compares with
_DBL_MIN_VALUE = 5e-324  # Double.MIN_VALUE: the smallest positive double
_DBL_MAX_VALUE = np.finfo(np.float64).max
_MAX_ITERATIONS = 10000  # Intermodes / Minimum smoothing limit
_BLOCK_ELEMENTS = 1 << 20  # size of the candidate x bin blocks of the quadratic methods


# ---------------------------------------------------------------------------------------------
# Input validation and Java arithmetic helpers
# ---------------------------------------------------------------------------------------------


def _validate(counts) -> np.ndarray:
    """Return *counts* as a 1-D int64 array, or raise ValueError."""
    arr = np.asarray(counts)
    if arr.ndim != 1:
        raise ValueError(f"histogram must be 1-D, got an array of shape {arr.shape}")
    if arr.size < 2:
        raise ValueError(f"histogram must have at least 2 bins, got {arr.size}")
    if arr.dtype == object and all(isinstance(v, numbers.Integral) for v in arr):
        arr = np.array([int(v) for v in arr], dtype=object)  # Python ints beyond int64
    elif not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"histogram counts must be integers, got dtype {arr.dtype}")
    if (arr < 0).any():
        raise ValueError("histogram counts must be non-negative")
    if (arr > _INT_MAX).any():
        raise ValueError(
            f"histogram counts must fit ImageJ's Java int (<= {_INT_MAX}), got {int(arr.max())}"
        )
    hist = arr.astype(np.int64)
    if not hist.any():
        raise ValueError("empty histogram: all counts are zero")
    return hist


def _wrap32(values):
    """Java ``int`` wrap-around of int64 values (scalars or arrays)."""
    return ((np.asarray(values, dtype=np.int64) + 2**31) & 0xFFFFFFFF) - 2**31


def _d2i(x) -> int:
    """Java's ``(int)`` cast of a double: truncate toward zero, NaN -> 0, saturate."""
    x = float(x)
    if math.isnan(x):
        return 0
    if x >= _INT_MAX:
        return _INT_MAX
    if x <= _INT_MIN:
        return _INT_MIN
    return int(x)


def _java_round(x) -> int:
    """Java's ``(int) Math.round(double)``: floor(x + 1/2), NaN -> 0."""
    x = float(x)
    if math.isnan(x):
        return 0
    if math.isinf(x):
        return _INT_MAX if x > 0 else _INT_MIN
    floor = math.floor(x)
    rounded = floor + 1 if x - floor >= 0.5 else floor
    return int(_wrap32(max(min(rounded, 2**63 - 1), -(2**63))))


def _java_trunc_div(num, den):
    """Java integer division (truncation toward zero) of int64 arrays, den > 0."""
    return np.sign(num) * (np.abs(num) // den)


def _seqsum(values, axis=-1):
    """Left-to-right floating-point sum (Java's loop order), along *axis*."""
    values = np.asarray(values, dtype=np.float64)
    if values.shape[axis] == 0:
        return np.zeros(np.delete(values.shape, axis % values.ndim), dtype=np.float64)
    return np.take(np.cumsum(values, axis=axis), -1, axis=axis)


def _first_max(values, init) -> int:
    """Index ImageJ's ``if (v > best) {best = v; t = i;}`` scan ends on, or -1 if never."""
    values = np.asarray(values, dtype=np.float64)
    ok = values > init  # NaN never qualifies, as in Java
    if not ok.any():
        return -1
    masked = np.where(ok, values, -np.inf)
    return int(np.flatnonzero(masked == masked.max())[0])


def _first_min(values, init) -> int:
    """Index ImageJ's ``if (v < best) {best = v; t = i;}`` scan ends on, or -1 if never."""
    values = np.asarray(values, dtype=np.float64)
    ok = values < init
    if not ok.any():
        return -1
    masked = np.where(ok, values, np.inf)
    return int(np.flatnonzero(masked == masked.min())[0])


def _last_max_ge(values, init) -> int:
    """Index ImageJ's ``if (v >= best) {best = v; t = i;}`` scan ends on, or -1 if never."""
    values = np.asarray(values, dtype=np.float64)
    ok = values >= init
    if not ok.any():
        return -1
    masked = np.where(ok, values, -np.inf)
    return int(np.flatnonzero(masked == masked.max())[-1])


def _blocks(n_candidates: int, n_bins: int):
    """Slices of candidate thresholds so that a block holds about _BLOCK_ELEMENTS values."""
    step = max(1, _BLOCK_ELEMENTS // max(1, n_bins))
    for start in range(0, n_candidates, step):
        yield slice(start, min(start + step, n_candidates))


def _normalised(hist):
    """ImageJ's normalised histogram and its cumulative sums P1 and P2 = 1 - P1."""
    total = float(hist.sum())  # exact: a sum of integers below 2**53
    norm = hist.astype(np.float64) / total
    p1 = np.cumsum(norm)
    p2 = 1.0 - p1
    return norm, p1, p2


def _entropy_range(p1, p2):
    """First and last bins of the threshold scan of MaxEntropy, RenyiEntropy and Shanbhag.

    ImageJ takes the first bin whose cumulative sum is not below DBL_EPSILON and the last one
    whose complement is not; rounding of the cumulative sum can push the latter past the last
    non-empty bin, and if no bin qualifies the defaults (0 and the last bin) stay.
    """
    n = p1.size
    above = np.flatnonzero(~(np.abs(p1) < _DBL_EPSILON))
    first = int(above[0]) if above.size else 0
    tail = np.flatnonzero(~(np.abs(p2[first:]) < _DBL_EPSILON))
    last = first + int(tail[-1]) if tail.size else n - 1
    return first, last


def _run_starts(hist, first, last):
    """Candidate thresholds in first..last where an entropy criterion can change.

    Over a run of empty bins every cumulative quantity is unchanged, so the criterion is the same
    at each of them and ImageJ's strict comparisons keep the run's first bin, which is a non-empty
    bin (``first`` is one).  Evaluating only these gives ImageJ's answer at a fraction of the cost.
    """
    nonzero = np.flatnonzero(hist)
    return nonzero[(nonzero >= first) & (nonzero <= last)]


def _kapur_entropy(norm, p1, p2, nonzero, candidates):
    """Kapur's total entropy (background + object) at each candidate threshold.

    Only non-empty bins contribute (ImageJ skips empty ones), summed in increasing bin order.
    """
    out = np.empty(candidates.size)
    w = norm[nonzero]
    for sl in _blocks(candidates.size, nonzero.size):
        cand = candidates[sl, None]
        below = nonzero[None, :] <= cand
        denom = np.where(below, p1[cand], p2[cand])
        ratio = w / denom
        term = ratio * np.log(ratio)
        ent_back = -_seqsum(np.where(below, term, 0.0), axis=1)
        ent_obj = -_seqsum(np.where(below, 0.0, term), axis=1)
        out[sl] = ent_back + ent_obj
    return out


def _not_found(method: str, why: str) -> ThresholdNotFound:
    return ThresholdNotFound(f"{method}: {why}")


def _run(method: str, algorithm, counts) -> int:
    """Validate *counts*, run ImageJ's *algorithm* on it and check the result.

    Histograms longer than 256 bins are first cut to their occupied range (the result is shifted
    back), as ImageJ >= 1.54g's AutoThresholder and Fiji's Auto Threshold do with 16-bit
    histograms; 256-bin (and shorter) histograms are used whole, as ImageJ 1.52i does.
    """
    hist = _validate(counts)
    offset = 0
    if hist.size > 256:
        occupied = np.flatnonzero(hist)
        offset = int(occupied[0])
        hist = hist[offset : int(occupied[-1]) + 1]
        if hist.size < 2:  # one occupied bin: Fiji's Auto Threshold returns that bin
            return offset
    return _in_range(method, algorithm(hist), hist.size) + offset


def _in_range(method: str, threshold: int, n: int) -> int:
    """*threshold* if it is a bin of an n-bin histogram, else ThresholdNotFound."""
    if threshold == -1:
        raise _not_found(method, "no threshold found (ImageJ's -1, which it reports as 0)")
    if not 0 <= threshold < n:
        raise _not_found(method, f"ImageJ's result t = {threshold} lies outside bins 0..{n - 1}")
    return threshold


# ---------------------------------------------------------------------------------------------
# IsoData variants
# ---------------------------------------------------------------------------------------------


def _ij_isodata_plain(hist) -> int:
    """ImageJ's original IsoData (``IJ_IsoData``), ignoring the first and last bins."""
    n = hist.size
    data = hist.copy()
    data[0] = 0  # ImageJ ignores the end bins (erased / saturated pixels)
    data[n - 1] = 0
    nonzero = np.flatnonzero(data)
    lo = int(nonzero[0]) if nonzero.size else n - 1
    hi = int(nonzero[-1]) if nonzero.size else 0
    if lo >= hi:
        return n // 2
    idx = np.arange(n, dtype=np.int64)
    seg = slice(lo, hi + 1)
    cum_n = np.cumsum(data[seg])  # exact integer sums from lo
    cum_s = np.cumsum(idx[seg] * data[seg])
    k = np.arange(lo, hi)  # movingIndex values that can be reached
    below_n = cum_n[: k.size].astype(np.float64)
    below_s = cum_s[: k.size].astype(np.float64)
    above_n = (cum_n[-1] - cum_n[: k.size]).astype(np.float64)
    above_s = (cum_s[-1] - cum_s[: k.size]).astype(np.float64)
    result = (below_s / below_n + above_s / above_n) / 2.0
    # ImageJ moves on while (k + 1) + 1 <= result and k + 1 < hi - 1, and rounds the result of
    # the first k that fails this test.
    goes_on = ((k + 2) <= result) & ((k + 1) < hi - 1)
    stop = int(np.argmin(goes_on))  # the first False; k = hi - 2 (or lo) always fails
    return _java_round(result[stop])


def ij_default(counts) -> int:
    """ImageJ's "Default" method: its IsoData variant with the mode clipped.

    The variant of the isodata / intermeans algorithm that ImageJ's *Threshold* dialog uses by
    default: if the histogram's mode is more than twice as high as the next-highest bin, the mode
    is lowered to 1.5 times that bin; then ImageJ's original IsoData ("IJ_IsoData") runs, ignoring
    the first and last bins (erased and saturated pixels): starting from the lowest occupied bin,
    the candidate threshold k moves up while ``k + 1 <= (mean(<= k) + mean(> k)) / 2``, and the
    rounded average of the two class means is returned.  If at most one bin between the end bins
    is occupied, ImageJ returns the middle bin, ``len(counts) // 2``.

    References
    ----------
    T. W. Ridler and S. Calvard, "Picture thresholding using an iterative selection method",
    IEEE Trans. Systems, Man and Cybernetics, 8(8):630-632, 1978.
    """
    return _run("ij_default", _default, counts)


def _default(hist) -> int:
    data = hist.copy()
    mode = int(np.argmax(data))  # first highest bin
    others = np.delete(data, mode)
    second = int(others.max()) if others.size else 0
    if data[mode] > int(_wrap32(second * 2)) and second != 0:
        data[mode] = _d2i(second * 1.5)
    return _ij_isodata_plain(data)


def ij_isodata(counts) -> int:
    """ImageJ's "IsoData" method (Ridler & Calvard's intermeans, NIH Image's formulation).

    Starting just above the first occupied bin after bin 0, grey level g moves up until
    ``g == round((L + H) / 2)``, where L is the mean of bins ``< g`` (truncated to an integer, as
    ImageJ's ``int`` arithmetic does) and H the mean of bins ``> g`` (bin g itself belongs to
    neither).  Raises :class:`ThresholdNotFound` if g passes ``len(counts) - 2``.

    References
    ----------
    T. W. Ridler and S. Calvard, "Picture thresholding using an iterative selection method",
    IEEE Trans. Systems, Man and Cybernetics, 8(8):630-632, 1978.
    """
    return _run("ij_isodata", _isodata, counts)


def _isodata(hist) -> int:
    n = hist.size
    occupied = np.flatnonzero(hist[1:])
    start = int(occupied[0]) + 2 if occupied.size else 0
    if start > n - 2:
        raise _not_found("ij_isodata", "no grey level satisfies g = (mean below + mean above) / 2")
    idx = np.arange(n, dtype=np.int64)
    cum_n = np.concatenate(([0], np.cumsum(hist)))  # cum_n[g] = sum of bins < g
    cum_s = np.concatenate(([0], np.cumsum(idx * hist)))
    g = np.arange(start, n - 1)
    low_n = _wrap32(cum_n[g])  # Java int sums
    low_s = _wrap32(cum_s[g])
    high_n = (cum_n[n] - cum_n[g + 1]).astype(np.float64)  # bins > g, Java double sums
    high_s = (cum_s[n] - cum_s[g + 1]).astype(np.float64)
    valid = (low_n > 0) & (high_n > 0)
    low_mean = _java_trunc_div(low_s, np.where(valid, low_n, 1))  # Java int division
    with np.errstate(divide="ignore", invalid="ignore"):
        middle = (low_mean.astype(np.float64) + high_s / high_n) / 2.0
        floor = np.floor(middle)
        rounded = floor + (middle - floor >= 0.5)  # Math.round: half up
    hits = np.flatnonzero(valid & (rounded == g))
    if hits.size:
        return int(g[hits[0]])
    raise _not_found("ij_isodata", "no grey level satisfies g = (mean below + mean above) / 2")


# ---------------------------------------------------------------------------------------------
# Entropy and fuzziness methods
# ---------------------------------------------------------------------------------------------


def ij_huang(counts) -> int:
    """Huang's fuzzy thresholding: minimise the Shannon measure of fuzziness.

    Each grey level's membership of its class is ``1 / (1 + |g - class mean| / (last - first))``
    (first/last: the extreme occupied bins); the threshold minimises the Shannon entropy of the
    memberships summed over pixels (memberships outside [1e-6, 1 - 1e-6] contribute nothing).
    Raises :class:`ThresholdNotFound` for a single occupied bin, where the criterion is undefined.

    References
    ----------
    L.-K. Huang and M.-J. J. Wang, "Image thresholding by minimizing the measures of fuzziness",
    Pattern Recognition, 28(1):41-51, 1995.
    """
    return _run("ij_huang", _huang, counts)


def _huang(hist) -> int:
    n = hist.size
    nonzero = np.flatnonzero(hist)
    first, last = int(nonzero[0]), int(nonzero[-1])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        term = np.float64(1.0) / np.float64(last - first)  # inf for a single bin, as in Java
        values = hist.astype(np.float64)
        idx = np.arange(n, dtype=np.float64)
        # mu0[t]: mean of bins <= t (0 below the first occupied bin)
        mu0 = np.zeros(n)
        mu0[first:] = np.cumsum(idx[first:] * values[first:]) / np.cumsum(values[first:])
        # mu1[t]: mean of bins > t, accumulated downward from the last occupied bin (0 from there)
        mu1 = np.zeros(n)
        if last > 0:
            top = slice(last, 0, -1)  # bins last, last-1, ..., 1
            mean_from = np.cumsum(idx[top] * values[top]) / np.cumsum(values[top])
            mu1[last - 1 :: -1] = mean_from
        # Thresholds below the first occupied bin all score the same, so do those inside a run of
        # empty bins: bin 0 and the occupied bins are the only distinct candidates.
        candidates = np.union1d([0], nonzero)
        weights = values[nonzero]
        ent = np.empty(candidates.size)
        for sl in _blocks(candidates.size, nonzero.size):
            cand = candidates[sl, None]
            mu = np.where(nonzero[None, :] <= cand, mu0[cand], mu1[cand])
            mu_x = 1.0 / (1.0 + term * np.abs(nonzero - mu))
            keep = ~((mu_x < 1e-06) | (mu_x > 0.999999))
            shannon = -mu_x * np.log(mu_x) - (1.0 - mu_x) * np.log(1.0 - mu_x)
            ent[sl] = _seqsum(np.where(keep, weights * shannon, 0.0), axis=1)
    best = _first_min(ent, _DBL_MAX_VALUE)
    if best < 0:
        raise _not_found("ij_huang", "the fuzzy entropy is undefined for every threshold")
    return int(candidates[best])


def ij_maxentropy(counts) -> int:
    """Kapur, Sahoo & Wong's maximum entropy thresholding.

    The threshold maximises the sum of the Shannon entropies of the background and object
    grey-level distributions.  Raises :class:`ThresholdNotFound` if no threshold gives a positive
    total entropy (a single occupied bin).

    References
    ----------
    J. N. Kapur, P. K. Sahoo and A. K. C. Wong, "A new method for gray-level picture thresholding
    using the entropy of the histogram", Computer Vision, Graphics, and Image Processing,
    29(3):273-285, 1985.
    """
    return _run("ij_maxentropy", _maxentropy, counts)


def _maxentropy(hist) -> int:
    norm, p1, p2 = _normalised(hist)
    first, last = _entropy_range(p1, p2)
    candidates = _run_starts(hist, first, last)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ent = _kapur_entropy(norm, p1, p2, np.flatnonzero(hist), candidates)
    best = _first_max(ent, _DBL_MIN_VALUE)
    if best < 0:
        raise _not_found("ij_maxentropy", "no threshold gives a positive total entropy")
    return int(candidates[best])


def ij_renyientropy(counts) -> int:
    """Rényi entropy thresholding (Kapur's method generalised to Rényi entropies).

    Thresholds maximising the total Rényi entropy of orders 0.5, 1 (Kapur's Shannon entropy) and
    2 are combined, weighted according to how far apart they are, as in Sahoo et al. (1997).
    ImageJ cites Kapur et al. (1985).

    References
    ----------
    J. N. Kapur, P. K. Sahoo and A. K. C. Wong, "A new method for gray-level picture thresholding
    using the entropy of the histogram", Computer Vision, Graphics, and Image Processing,
    29(3):273-285, 1985.

    P. Sahoo, C. Wilkins and J. Yeager, "Threshold selection using Renyi's entropy", Pattern
    Recognition, 30(1):71-84, 1997.
    """
    return _run("ij_renyientropy", _renyientropy, counts)


def _renyientropy(hist) -> int:
    norm, p1, p2 = _normalised(hist)
    first, last = _entropy_range(p1, p2)
    candidates = _run_starts(hist, first, last)
    nonzero = np.flatnonzero(hist)
    w = norm[nonzero]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        kapur = _kapur_entropy(norm, p1, p2, nonzero, candidates)
        half = np.empty(candidates.size)  # alpha = 0.5
        two = np.empty(candidates.size)  # alpha = 2
        for sl in _blocks(candidates.size, nonzero.size):
            cand = candidates[sl, None]
            below = nonzero[None, :] <= cand
            root_b = np.sqrt(w / p1[cand])
            root_o = np.sqrt(w / p2[cand])
            back = _seqsum(np.where(below, root_b, 0.0), axis=1)
            obj = _seqsum(np.where(below, 0.0, root_o), axis=1)
            prod = back * obj
            half[sl] = 2.0 * np.where(prod > 0.0, np.log(np.where(prod > 0.0, prod, 1.0)), 0.0)
            sq = w * w
            back = _seqsum(np.where(below, sq / (p1[cand] * p1[cand]), 0.0), axis=1)
            obj = _seqsum(np.where(below, 0.0, sq / (p2[cand] * p2[cand])), axis=1)
            prod = back * obj
            two[sl] = -1.0 * np.where(prod > 0.0, np.log(np.where(prod > 0.0, prod, 1.0)), 0.0)

    def pick(values):
        best = _first_max(values, 0.0)
        return int(candidates[best]) if best >= 0 else 0  # ImageJ's default is 0 here

    t1, t2, t3 = sorted((pick(half), pick(kapur), pick(two)))
    close12, close23 = abs(t1 - t2) <= 5, abs(t2 - t3) <= 5
    if close12 == close23:
        beta1, beta2, beta3 = 1, 2, 1
    elif close12:
        beta1, beta2, beta3 = 0, 1, 3
    else:
        beta1, beta2, beta3 = 3, 1, 0
    p1_1, p1_3, p2_3 = float(p1[t1]), float(p1[t3]), float(p2[t3])
    omega = p1_3 - p1_1
    value = (
        t1 * (p1_1 + 0.25 * omega * beta1)
        + 0.25 * t2 * omega * beta2
        + t3 * (p2_3 + 0.25 * omega * beta3)
    )
    return _d2i(value)


def ij_shanbhag(counts) -> int:
    """Shanbhag's information-measure thresholding.

    Each grey level's membership of the background (object) decreases with its distance, in
    cumulative probability, from the threshold; the threshold minimises the difference between
    the two classes' information measures.  Raises :class:`ThresholdNotFound` when the measure is
    undefined for every threshold (a single occupied bin).

    References
    ----------
    A. G. Shanbhag, "Utilization of information measure as a means of image thresholding",
    CVGIP: Graphical Models and Image Processing, 56(5):414-419, 1994.
    """
    return _run("ij_shanbhag", _shanbhag, counts)


def _shanbhag(hist) -> int:
    norm, p1, p2 = _normalised(hist)
    first, last = _entropy_range(p1, p2)
    candidates = _run_starts(hist, first, last)
    nonzero = np.flatnonzero(hist)
    w = norm[nonzero]
    prev_p1 = p1[np.maximum(nonzero - 1, 0)]  # P1 of the bin below (bin 0 never contributes)
    own_p2 = p2[nonzero]
    ent = np.empty(candidates.size)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for sl in _blocks(candidates.size, nonzero.size):
            cand = candidates[sl, None]
            below = (nonzero[None, :] <= cand) & (nonzero[None, :] >= 1)
            above = nonzero[None, :] > cand
            term_b = 0.5 / p1[cand]
            term_o = 0.5 / p2[cand]
            back = -_seqsum(np.where(below, w * np.log(1.0 - term_b * prev_p1), 0.0), axis=1)
            obj = -_seqsum(np.where(above, w * np.log(1.0 - term_o * own_p2), 0.0), axis=1)
            ent[sl] = np.abs(back * term_b[:, 0] - obj * term_o[:, 0])
    best = _first_min(ent, _DBL_MAX_VALUE)
    if best < 0:
        raise _not_found("ij_shanbhag", "the information measure is undefined for every threshold")
    return int(candidates[best])


def ij_yen(counts) -> int:
    """Yen, Chang & Chang's maximum correlation criterion.

    The threshold maximises ``-log(sum p_<=t^2 * sum p_>t^2) + 2 log(P(t) (1 - P(t)))``.  Raises
    :class:`ThresholdNotFound` if the criterion is nowhere positive (a single occupied bin).

    References
    ----------
    J.-C. Yen, F.-J. Chang and S. Chang, "A new criterion for automatic multilevel thresholding",
    IEEE Trans. Image Processing, 4(3):370-378, 1995.
    """
    return _run("ij_yen", _yen, counts)


def _yen(hist) -> int:
    norm, p1, _ = _normalised(hist)
    sq = norm * norm
    p1_sq = np.cumsum(sq)
    p2_sq = np.zeros(norm.size)
    p2_sq[:-1] = np.cumsum(sq[:0:-1])[::-1]  # accumulated downward from the top bin
    a = p1_sq * p2_sq
    b = p1 * (1.0 - p1)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_a = np.where(a > 0.0, np.log(np.where(a > 0.0, a, 1.0)), 0.0)
        log_b = np.where(b > 0.0, np.log(np.where(b > 0.0, b, 1.0)), 0.0)
    crit = -1.0 * log_a + 2 * log_b
    best = _first_max(crit, _DBL_MIN_VALUE)
    if best < 0:
        raise _not_found("ij_yen", "the correlation criterion is not positive for any threshold")
    return best


# ---------------------------------------------------------------------------------------------
# Smoothing methods
# ---------------------------------------------------------------------------------------------


def _smooth_until_bimodal(values, method: str) -> np.ndarray:
    """Smooth with a 3-point running mean (zeros outside) until exactly two local maxima remain.

    ImageJ tests the histogram before each smoothing pass and gives up after 10000 passes.
    Passes are computed one by one (each exactly as ImageJ rounds it) and tested in blocks.
    """
    y = np.asarray(values, dtype=np.float64)
    length = y.size

    def modes(rows):
        mid = rows[:, 1:-1]
        return ((rows[:, :-2] < mid) & (rows[:, 2:] < mid)).sum(axis=1)

    if modes(y[None, :])[0] == 2:
        return y
    rows_per_block = max(1, min(256, _BLOCK_ELEMENTS // length))
    # Row 0 holds the current histogram, rows 1.. the next passes; columns 0 and -1 stay zero.
    block = np.zeros((rows_per_block + 1, length + 2))
    block[0, 1:-1] = y
    passes = [
        (block[k - 1, :-2], block[k - 1, 1:-1], block[k - 1, 2:], block[k, 1:-1])
        for k in range(1, rows_per_block + 1)
    ]
    done = 0
    while done < _MAX_ITERATIONS:
        count = min(rows_per_block, _MAX_ITERATIONS - done)
        for left, centre, right, out in passes[:count]:
            np.add(left, centre, out=out)  # (left + centre) + right, as ImageJ adds
            np.add(out, right, out=out)
            np.divide(out, 3.0, out=out)
        hits = np.flatnonzero(modes(block[1 : count + 1, 1:-1]) == 2)
        if hits.size:
            return block[hits[0] + 1, 1:-1].copy()
        block[0] = block[count]
        done += count
    raise _not_found(
        method,
        f"the histogram did not become bimodal after {_MAX_ITERATIONS} smoothing iterations",
    )


def ij_intermodes(counts) -> int:
    """Prewitt & Mendelsohn's intermodes method.

    The occupied range of the histogram is smoothed with a 3-point running mean until it has
    exactly two local maxima; the threshold is the (floored) midpoint of the two.  Raises
    :class:`ThresholdNotFound` if that does not happen within 10000 smoothing passes (ImageJ logs
    "Intermodes Threshold not found after 10000 iterations" and returns 0): histograms with very
    unequal peaks or a broad flat valley are unsuitable.

    References
    ----------
    J. M. S. Prewitt and M. L. Mendelsohn, "The analysis of cell images", Annals of the New York
    Academy of Sciences, 128:1035-1053, 1966.

    C. A. Glasbey, "An analysis of histogram-based thresholding algorithms", CVGIP: Graphical
    Models and Image Processing, 55(6):532-537, 1993.
    """
    return _run("ij_intermodes", _intermodes, counts)


def _intermodes(hist) -> int:
    nonzero = np.flatnonzero(hist)
    lo, hi = int(nonzero[0]), int(nonzero[-1])
    y = _smooth_until_bimodal(hist[lo : hi + 1], "ij_intermodes")
    mid = y[1:-1]
    peaks = np.flatnonzero((y[:-2] < mid) & (y[2:] < mid)) + 1
    return int(peaks.sum()) // 2 + lo


def ij_minimum(counts) -> int:
    """Prewitt & Mendelsohn's minimum method.

    The whole histogram is smoothed with a 3-point running mean until it has exactly two local
    maxima; the threshold is the first bin ``i`` with ``y[i-1] > y[i] <= y[i+1]``.  Raises
    :class:`ThresholdNotFound` if the histogram does not become bimodal within 10000 smoothing
    passes (ImageJ logs "Minimum: threshold not found after 10000 iterations" and returns 0).

    References
    ----------
    J. M. S. Prewitt and M. L. Mendelsohn, "The analysis of cell images", Annals of the New York
    Academy of Sciences, 128:1035-1053, 1966.

    C. A. Glasbey, "An analysis of histogram-based thresholding algorithms", CVGIP: Graphical
    Models and Image Processing, 55(6):532-537, 1993.
    """
    return _run("ij_minimum", _minimum, counts)


def _minimum(hist) -> int:
    y = _smooth_until_bimodal(hist, "ij_minimum")
    mid = y[1:-1]
    minima = np.flatnonzero((y[:-2] > mid) & (y[2:] >= mid))
    if not minima.size:  # cannot happen between two strict maxima; kept for safety
        raise _not_found("ij_minimum", "no minimum between the two modes")
    return int(minima[0]) + 1


# ---------------------------------------------------------------------------------------------
# Moment and iterative methods
# ---------------------------------------------------------------------------------------------


def ij_li(counts) -> int:
    """Li's minimum cross entropy thresholding, iterative version (Li & Tam 1998).

    Starting from the mean grey level, the threshold is iterated as the rounded logarithmic mean
    of the two class means, ``(m_b - m_o) / (ln m_b - ln m_o)``, until it moves by at most 0.5.
    Raises :class:`ThresholdNotFound` if the iteration cycles (ImageJ would never return).

    References
    ----------
    C. H. Li and C. K. Lee, "Minimum cross entropy thresholding", Pattern Recognition,
    26(4):617-625, 1993.

    C. H. Li and P. K. S. Tam, "An iterative algorithm for minimum cross entropy thresholding",
    Pattern Recognition Letters, 18(8):771-776, 1998.
    """
    return _run("ij_li", _li, counts)


def _li(hist) -> int:
    n = hist.size
    idx = np.arange(n, dtype=np.int64)
    cum_n = np.cumsum(hist)
    cum_s = np.cumsum(idx * hist)
    total_n, total_s = int(cum_n[-1]), int(cum_s[-1])
    new = np.float64(total_s) / np.float64(total_n)
    seen = set()
    while True:
        old = new
        t = _d2i(old + 0.5)
        if not 0 <= t < n:  # impossible (the logarithmic mean lies between the class means)
            raise _not_found("ij_li", f"the iteration left the histogram (t = {t})")
        num_back, sum_back = int(cum_n[t]), int(cum_s[t])
        num_obj, sum_obj = total_n - num_back, total_s - sum_back
        mean_back = np.float64(0.0) if num_back == 0 else np.float64(sum_back) / num_back
        mean_obj = np.float64(0.0) if num_obj == 0 else np.float64(sum_obj) / num_obj
        with np.errstate(divide="ignore", invalid="ignore"):
            temp = (mean_back - mean_obj) / (np.log(mean_back) - np.log(mean_obj))
        new = np.float64(_d2i(temp - 0.5) if temp < -_DBL_EPSILON else _d2i(temp + 0.5))
        if not abs(new - old) > 0.5:
            return t
        if float(new) in seen:
            raise _not_found("ij_li", "the iteration cycles (ImageJ would not terminate)")
        seen.add(float(new))


def ij_mean(counts) -> int:
    """The mean grey level, floored.

    References
    ----------
    C. A. Glasbey, "An analysis of histogram-based thresholding algorithms", CVGIP: Graphical
    Models and Image Processing, 55(6):532-537, 1993.
    """
    return _run("ij_mean", _mean, counts)


def _mean(hist) -> int:
    idx = np.arange(hist.size, dtype=np.int64)
    return int(math.floor(float(int((idx * hist).sum())) / float(int(hist.sum()))))


def ij_minerror(counts) -> int:
    """Kittler & Illingworth's minimum error thresholding, iterative version (MinError(I)).

    Starting from the mean, the threshold is iterated as the floored larger root of the quadratic
    that equates two Gaussians fitted to the classes, until it no longer changes; if the root
    becomes imaginary, the current threshold is returned (ImageJ logs "MinError(I): not
    converging").  ImageJ's moment sums use Java ``int`` products ``i*count`` and ``i*i*count``,
    which wrap around for large counts; that is reproduced.  Raises :class:`ThresholdNotFound`
    if the iteration cycles (ImageJ would never return) or ends outside the histogram.

    References
    ----------
    J. Kittler and J. Illingworth, "Minimum error thresholding", Pattern Recognition,
    19(1):41-47, 1986.

    C. A. Glasbey, "An analysis of histogram-based thresholding algorithms", CVGIP: Graphical
    Models and Image Processing, 55(6):532-537, 1993.
    """
    return _run("ij_minerror", _minerror, counts)


def _minerror(hist) -> int:
    n = hist.size
    idx = np.arange(n, dtype=np.int64)
    # Cumulative sums of counts, of Java-int i*count and of Java-int (i*i)*count (exact doubles).
    a_cum = np.cumsum(hist).astype(np.float64)
    b_cum = np.cumsum(_wrap32(idx * hist)).astype(np.float64)
    c_cum = np.cumsum(_wrap32(_wrap32(idx * idx) * hist)).astype(np.float64)

    def upto(cum, j):
        if j < 0:
            return np.float64(0.0)
        return cum[min(j, n - 1)]

    a_all, b_all, c_all = a_cum[-1], b_cum[-1], c_cum[-1]
    threshold = _mean(hist)
    previous = -2
    seen = {threshold}
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        while threshold != previous:
            a_t, b_t, c_t = upto(a_cum, threshold), upto(b_cum, threshold), upto(c_cum, threshold)
            mu = b_t / a_t
            nu = (b_all - b_t) / (a_all - a_t)
            p = a_t / a_all
            q = (a_all - a_t) / a_all
            sigma2 = c_t / a_t - mu * mu
            tau2 = (c_all - c_t) / (a_all - a_t) - nu * nu
            w0 = 1.0 / sigma2 - 1.0 / tau2
            w1 = mu / sigma2 - nu / tau2
            w2 = (
                (mu * mu) / sigma2
                - (nu * nu) / tau2
                + np.log10((sigma2 * (q * q)) / (tau2 * (p * p)))
            )
            sqterm = w1 * w1 - w0 * w2
            if sqterm < 0:  # ImageJ: "MinError(I): not converging."
                break
            previous = threshold
            temp = (w1 + np.sqrt(sqterm)) / w0
            if np.isnan(temp):
                threshold = previous
            else:
                threshold = _d2i(math.floor(temp) if np.isfinite(temp) else temp)
            if threshold != previous and threshold in seen:
                raise _not_found("ij_minerror", "the iteration cycles (ImageJ would not terminate)")
            seen.add(threshold)
    return threshold


def ij_moments(counts) -> int:
    """Tsai's moment-preserving thresholding.

    The threshold is the grey level closest to the p0-tile of the histogram, where p0 is the
    object fraction of the two-level image with the same first three moments.  Raises
    :class:`ThresholdNotFound` when p0 is undefined (a single occupied bin).

    References
    ----------
    W.-H. Tsai, "Moment-preserving thresholding: a new approach", Computer Vision, Graphics, and
    Image Processing, 29(3):377-393, 1985.
    """
    return _run("ij_moments", _moments, counts)


def _moments(hist) -> int:
    norm, _, _ = _normalised(hist)
    di = np.arange(hist.size, dtype=np.float64)
    m0 = 1.0
    m1 = float(_seqsum(di * norm))
    m2 = float(_seqsum(di * di * norm))
    m3 = float(_seqsum(di * di * di * norm))
    with np.errstate(divide="ignore", invalid="ignore"):
        cd = np.float64(m0 * m2 - m1 * m1)
        c0 = (-m2 * m2 + m1 * m3) / cd
        c1 = (m0 * -m3 + m2 * m1) / cd
        root = np.sqrt(c1 * c1 - 4.0 * c0)
        z0 = 0.5 * (-c1 - root)
        z1 = 0.5 * (-c1 + root)
        p0 = (z1 - m1) / (z1 - z0)
    above = np.flatnonzero(np.cumsum(norm) > p0)
    if not above.size:
        raise _not_found("ij_moments", f"the moment-preserving object fraction is p0 = {p0}")
    return int(above[0])


def ij_otsu(counts) -> int:
    """Otsu's method: maximise the between-class variance.

    Ties go to the highest threshold, and thresholds 0 and ``len(counts) - 1`` are never
    considered (ImageJ's loop); if the variance is zero everywhere (a single occupied bin),
    ImageJ returns ``len(counts) - 2``.

    References
    ----------
    N. Otsu, "A threshold selection method from gray-level histograms", IEEE Trans. Systems, Man,
    and Cybernetics, 9(1):62-66, 1979.
    """
    return _run("ij_otsu", _otsu, counts)


def _otsu(hist) -> int:
    n = hist.size
    idx = np.arange(n, dtype=np.int64)
    total_n = np.float64(hist.sum())
    total_s = np.float64((idx * hist).sum())
    k = np.arange(1, n - 1)
    if not k.size:
        return 0
    n1 = np.cumsum(hist)[k].astype(np.float64)
    sk = np.cumsum(idx * hist)[k].astype(np.float64)
    denom = n1 * (total_n - n1)
    with np.errstate(divide="ignore", invalid="ignore"):
        num = (n1 / total_n) * total_s - sk
        bcv = np.where(denom != 0, (num * num) / denom, 0.0)
    best = _last_max_ge(bcv, 0.0)
    return int(k[best]) if best >= 0 else 0


def ij_percentile(counts) -> int:
    """Doyle's percentile method with ImageJ's fixed 50 %: the bin closest to the median.

    The threshold is the first bin whose cumulative fraction is closest to 0.5.

    References
    ----------
    W. Doyle, "Operations useful for similarity-invariant pattern recognition", Journal of the
    ACM, 9(2):259-267, 1962.
    """
    return _run("ij_percentile", _percentile, counts)


def _percentile(hist) -> int:
    cum = np.cumsum(hist).astype(np.float64)
    gap = np.abs(cum / cum[-1] - 0.5)
    return _first_min(gap, 1.0)


def ij_triangle(counts) -> int:
    """Zack et al.'s triangle method, on the longer side of the histogram's peak.

    A line joins the peak to the empty bin just beyond the farther end of the occupied range
    (the end bin itself at the histogram's edge; the histogram is flipped when that end is above
    the peak); the threshold is one bin below
    the bin farthest from that line (on the flipped histogram, mapped back).  Raises
    :class:`ThresholdNotFound` when that lands outside the histogram (ImageJ's -1 or
    ``len(counts)``: no bin rises above the line, e.g. a single occupied bin 1).

    References
    ----------
    G. W. Zack, W. E. Rogers and S. A. Latt, "Automatic measurement of sister chromatid exchange
    frequency", Journal of Histochemistry and Cytochemistry, 25(7):741-753, 1977.
    """
    return _run("ij_triangle", _triangle, counts)


def _triangle(hist) -> int:
    n = hist.size
    nonzero = np.flatnonzero(hist)
    lo = int(nonzero[0])
    if lo > 0:
        lo -= 1  # the empty bin below the occupied range
    upper = nonzero[nonzero > 0]
    hi = int(upper[-1]) if upper.size else 0
    if hi < n - 1:
        hi += 1  # the empty bin above it
    peak = int(np.argmax(hist))  # first highest bin
    data = hist
    inverted = (peak - lo) < (hi - peak)
    if inverted:
        data = hist[::-1]
        lo = n - 1 - hi
        peak = n - 1 - peak
    if lo == peak:
        return lo
    nx = np.float64(data[peak])
    ny = np.float64(lo - peak)
    d = np.sqrt(nx * nx + ny * ny)
    nx /= d
    ny /= d
    d = nx * lo + ny * np.float64(data[lo])
    i = np.arange(lo + 1, peak + 1)
    distance = nx * i + ny * data[i].astype(np.float64) - d
    best = _first_max(distance, 0.0)
    split = (int(i[best]) if best >= 0 else lo) - 1
    return n - 1 - split if inverted else split  # -1 or n when no bin rises above the line


# ---------------------------------------------------------------------------------------------
# Dispatch
# ---------------------------------------------------------------------------------------------

_FUNCTIONS = {
    "ij_default": ij_default,
    "ij_huang": ij_huang,
    "ij_intermodes": ij_intermodes,
    "ij_isodata": ij_isodata,
    "ij_li": ij_li,
    "ij_maxentropy": ij_maxentropy,
    "ij_mean": ij_mean,
    "ij_minerror": ij_minerror,
    "ij_minimum": ij_minimum,
    "ij_moments": ij_moments,
    "ij_otsu": ij_otsu,
    "ij_percentile": ij_percentile,
    "ij_renyientropy": ij_renyientropy,
    "ij_shanbhag": ij_shanbhag,
    "ij_triangle": ij_triangle,
    "ij_yen": ij_yen,
}


def ij_threshold(counts, method: str) -> int:
    """ImageJ's automatic threshold of a histogram.

    Parameters
    ----------
    counts : array_like of int
        1-D histogram of non-negative integer counts (each at most 2**31 - 1, ImageJ's Java
        ``int``), at least 2 bins, not all zero; bin i counts the pixels of grey level i.
        ImageJ 1.52i itself only takes 256 bins: for a 16-bit image, ImageJ's ``setAutoThreshold``
        histograms the pixels into 256 bins over the image's min..max and scales the threshold
        back (newer ImageJ's "16-bit histogram" option and Fiji's *Auto Threshold* plugin use the
        full 16-bit histogram instead).  segval passes the full histogram (65536 bins for 16-bit
        data): histograms longer than 256 bins are cut to their occupied range, thresholded with
        the 1.52i method (its 256-bin constants generalised to that range's length) and shifted
        back, as the full-16-bit paths of ImageJ and Fiji do; see the module docstring.
    method : str
        One of :data:`IJ_METHODS` (``"ij_default"`` is ImageJ's "Default").

    Returns
    -------
    int
        The threshold t: bins ``0..t`` are background, foreground is ``value > t``.

    Raises
    ------
    ThresholdNotFound
        Where ImageJ finds no threshold (and would return 0), e.g. Intermodes and Minimum on a
        histogram that does not become bimodal within 10000 smoothing iterations.
    ValueError
        For an unknown method or an invalid histogram (not 1-D, fewer than 2 bins, non-integer or
        negative counts, or all counts zero: "empty histogram").
    """
    try:
        function = _FUNCTIONS[method]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown ImageJ method {method!r}; expected one of {', '.join(IJ_METHODS)}"
        ) from None
    return function(counts)
