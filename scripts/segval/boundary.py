"""Boundary (surface-distance) metrics: Hausdorff distance, HD95 and ASSD, whole or tile by tile.

Definitions
-----------
segval follows MetricsReloaded [1]_ (``BinaryPairwiseMeasures.measured_distance``), so that its
figures can be compared with that reference implementation and with MONAI's:

Boundary
    The boundary ``B(M)`` of a mask ``M`` is the set of its foreground pixels that have at least one
    **4-connected** neighbour (up, down, left, right) in the background, pixels outside the image
    counting as background: ``B(M) = M & ~binary_erosion(M)`` with scipy's default cross-shaped
    structuring element and ``border_value=0``.  So **the image edge is boundary**: a foreground
    pixel on the first or last row or column is a boundary pixel.  This is MetricsReloaded's
    ``MorphologyOps.border_map`` and MONAI's ``get_mask_edges`` (erosion XOR mask after a crop
    with a zero margin); medpy (``connectivity=1``) does the same, so segval's figures compare
    with theirs.  (Where a vessel is cut by the field of view, truth and prediction both get
    boundary along the image edge, at distance 0 from each other where they agree.)  The
    4-neighbour criterion gives a thin, 8-connected contour; an 8-neighbour criterion would give a
    thicker, 4-connected one.  A mask is empty exactly when its boundary is.
Distance
    ``d(p, B) = min over q in B of sqrt((sy * (py - qy))**2 + (sx * (px - qx))**2)``: Euclidean
    distance between pixel centres, with the pixel ``spacing = (sy, sx)`` (for ``(y, x)``;
    anisotropic allowed), found with ``scipy.ndimage.distance_transform_edt`` (never pairwise).
Directed distances
    ``D(T->P) = [d(p, B(P)) for p in B(T)]`` and ``D(P->T) = [d(q, B(T)) for q in B(P)]``
    (multisets, one value per boundary pixel; ``T`` the truth (reference), ``P`` the prediction).
HD
    ``max(max D(T->P), max D(P->T))`` (Huttenlocher et al. [2]_).
HD95
    ``max(P95(D(T->P)), P95(D(P->T)))``: the larger of the two *directed* 95th percentiles, each
    numpy's default ``np.percentile(..., 95)`` (linear interpolation between order statistics).
    This is MetricsReloaded's ``measured_hausdorff_distance_perc`` and MONAI's
    ``compute_hausdorff_distance(percentile=95)`` (``torch.quantile``, also linear).  DeepMind's
    ``surface_distance.compute_robust_hausdorff`` also takes the larger directed percentile, but on
    surface elements at pixel corners weighted by their length, without interpolation; medpy's
    ``hd95`` instead takes the 95th percentile of the *union* of both sets.  The ``percentile_q``
    argument of :func:`reduce` chooses another percentile.
ASSD
    ``(sum D(T->P) + sum D(P->T)) / (|B(T)| + |B(P)|)`` (Heimann et al. [3]_; MetricsReloaded's
    ``measured_average_distance``; MONAI's ``compute_average_surface_distance(symmetric=True)``).
    (MetricsReloaded's MASD, the mean of the two directed means, is a different metric.)

Edge cases
----------
``edge_case`` names them like :mod:`segval.metrics` does; in all of them every distance is NaN and
the caller applies segval's edge-case policy:

=====================  ==========================================================================
``both_empty``         neither mask has foreground.  (MetricsReloaded returns 0 for all distances,
                       MONAI NaN, scikit-image's ``hausdorff_distance`` 0.)
``reference_empty``    the truth is empty, the prediction is not: undefined.  (MetricsReloaded
``prediction_empty``   returns NaN "to be set to the worst case in aggregation"; MONAI, DeepMind
                       and scikit-image return inf.)
``empty``              both masks have a boundary, but ``core_mask``/``roi`` selected none of it.
``none``               the distances are defined.
=====================  ==========================================================================

Tiles and exactness
-------------------
A slice is processed in tiles read with a halo of ``h`` pixels (:func:`segval.tiling.read_padded`).
:func:`boundary_distances` measures, for each boundary pixel of the tile's core, the distance
``d_in`` to the nearest boundary pixel of the other mask *inside the padded tile*, and classifies
it:

* **exact** when ``d_in <= T``, with ``T = h * min(sy, sx)`` (more precisely the smallest
  ``h * s`` over the axes whose padded tile does not reach the image edge on both sides; ``inf``
  when the padded tile reaches every image edge).  Proof: a boundary pixel the tile did not see
  lies outside the padded tile, at ``|dy| > h`` or ``|dx| > h`` from every core pixel, or on the
  padded tile's outermost ring (``|dy| >= h`` or ``|dx| >= h``), the only pixels inside it whose
  boundary status the tile cannot decide; either way it is at least ``T`` away, so no unseen pixel
  is nearer than ``d_in``;
* **unresolved** otherwise: the true distance lies in ``[T, d_in]`` (``[T, inf]`` when the padded
  tile holds no boundary pixel of the other mask).

A tile's summary, :class:`TileDistances`, keeps per direction the exact distances as a histogram of
their distinct float64 values (no binning: the values are exact), and the unresolved pixels' lower
and upper bounds as histograms too.  Summaries merge exactly (:func:`merge`, integer counts added
per value) in any order and grouping, and :func:`reduce` computes the metrics from the merged
histograms: HD from the extreme values, HD95 from the order statistics (``np.percentile``'s formula,
to the bit), ASSD from ``math.fsum`` of the per-value products ``count * value`` (each rounded once,
then summed exactly and rounded once: no summation-order dependence).  Therefore:

* when no pixel is unresolved, the tiled result **equals the whole-image result bit for bit**
  (:func:`boundary_metrics` is the same computation with the whole image as the only tile);
* otherwise :func:`reduce` reports guaranteed bounds ``*_lower <= true value <= *_upper`` for each
  metric, from the order statistics of the exact values with the unresolved ones at their lower or
  upper bounds, and the metric itself only where both bounds coincide (HD95 often stays exact: its
  order statistics may all be exact values); the others are NaN and ``unresolved`` counts the
  pixels.

Ties and rounding.  With isotropic spacing ``s`` the distance transform runs on integer pixel
offsets (exactly, in double precision), a distance is ``s * sqrt(n)`` with ``n = dy**2 + dx**2``
an exact integer, and the exactness test is ``n <= h**2``: a pixel's distance does not depend on
which of several equally near pixels the transform picks, and tiled and whole results are
identical.  With anisotropic spacing a distance is ``sqrt((sy*dy)**2 + (sx*dx)**2)`` in float64,
and two different offsets at the same (or almost the same) real distance, e.g. ``(7, 0)`` and
``(0, 5)`` at 3.5 for spacing ``(0.5, 0.7)``, may round to different floats; if the tile's and the
whole image's transforms break such a tie differently, results may differ by a few units in the
last place.  (The tests have not met such a case.)  Against a brute-force pairwise computation (a
different float expression for the same pixel pairs) results agree to 1e-12 relative.

Whole-image fallback
--------------------
If a slice's :func:`reduce` reports ``unresolved > 0`` and exact figures are needed, either

* recompute that slice whole with :func:`boundary_metrics`: besides the two input masks it
  allocates about 12 bytes per pixel at its peak (the boundaries, an int8 copy and the two int32
  planes of the feature transform; 194 MiB measured at 4096 x 4096), i.e. about 1.7 GB for a
  17480 x 8026 slice; or
* re-tile it with the halo :func:`halo_to_resolve` returns (``floor(hd_upper / min(spacing)) + 1``):
  every true distance is at most ``hd_upper``, so that halo resolves every pixel (when ``hd_upper``
  is finite; when it is inf, a pixel saw no boundary of the other mask at all: go whole).

Memory per tile: the two padded boolean tiles, their boundaries, and one feature transform (two
int32 per pixel) at a time: about 13 bytes per padded pixel (17 MiB measured for a 1024-pixel tile
with a halo of 64), whatever the image size.

References
----------
.. [1] L. Maier-Hein et al., "Metrics reloaded: recommendations for image analysis validation",
       Nature Methods 21:195-212, 2024 (implementation: github.com/Project-MONAI/MetricsReloaded).
.. [2] D. P. Huttenlocher, G. A. Klanderman, W. J. Rucklidge, "Comparing images using the Hausdorff
       distance", IEEE Trans. Pattern Anal. Mach. Intell. 15(9):850-863, 1993.
.. [3] T. Heimann et al., "Comparison and evaluation of methods for liver segmentation from CT
       datasets", IEEE Trans. Med. Imaging 28(8):1251-1265, 2009.
"""

import math
from dataclasses import dataclass

import numpy as np

from segval.metrics import DISTANCE_KEYS
from segval.tiling import read_padded

#: Keys of :func:`reduce`'s result besides ``edge_case``.
RESULT_KEYS = DISTANCE_KEYS + ("truth_boundary", "predicted_boundary")
EDGE_CASES = ("both_empty", "reference_empty", "prediction_empty", "empty", "none")


# --------------------------------------------------------------------------------------------------
# Histograms of distance values
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Histogram:
    """Distinct distance values (float64, ascending) and how many pixels have each (int64)."""

    values: np.ndarray
    counts: np.ndarray

    def __eq__(self, other):
        if not isinstance(other, Histogram):
            return NotImplemented
        return np.array_equal(self.values, other.values) and np.array_equal(
            self.counts, other.counts
        )

    __hash__ = None

    @classmethod
    def empty(cls):
        return cls(np.zeros(0, np.float64), np.zeros(0, np.int64))

    @classmethod
    def of(cls, values):
        """Histogram of an array of distances."""
        values, counts = np.unique(np.asarray(values, dtype=np.float64), return_counts=True)
        return cls(values, counts.astype(np.int64))

    @classmethod
    def merge(cls, histograms):
        """Sum of histograms: counts of equal values added (exact, in any order)."""
        histograms = [h for h in histograms if h.counts.size]
        if not histograms:
            return cls.empty()
        if len(histograms) == 1:
            return histograms[0]
        values = np.concatenate([h.values for h in histograms])
        counts = np.concatenate([h.counts for h in histograms])
        order = np.argsort(values, kind="stable")
        values, counts = values[order], counts[order]
        starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
        return cls(values[starts], np.add.reduceat(counts, starts))

    @property
    def total(self):
        return int(self.counts.sum())

    def to_dict(self):
        return {"values": [float(v) for v in self.values], "counts": [int(c) for c in self.counts]}

    @classmethod
    def from_dict(cls, data):
        return cls(np.asarray(data["values"], np.float64), np.asarray(data["counts"], np.int64))


@dataclass(frozen=True)
class DirectedDistances:
    """One direction's distances (e.g. truth -> prediction) over some core pixels.

    ``exact`` holds the distances known exactly; each unresolved pixel contributes its lower bound
    to ``lower`` and its upper bound (``inf`` when unknown) to ``upper``.
    """

    exact: Histogram
    lower: Histogram
    upper: Histogram

    @classmethod
    def empty(cls):
        return cls(Histogram.empty(), Histogram.empty(), Histogram.empty())

    @property
    def unresolved(self):
        return self.lower.total

    @property
    def count(self):
        """Boundary pixels measured, exact or not."""
        return self.exact.total + self.unresolved

    @classmethod
    def merge(cls, many):
        many = list(many)
        return cls(
            *(Histogram.merge([getattr(d, k) for d in many]) for k in ("exact", "lower", "upper"))
        )

    def to_dict(self):
        return {k: getattr(self, k).to_dict() for k in ("exact", "lower", "upper")}

    @classmethod
    def from_dict(cls, data):
        return cls(*(Histogram.from_dict(data[k]) for k in ("exact", "lower", "upper")))


@dataclass(frozen=True)
class TileDistances:
    """Reducible summary of the boundary distances of one tile (or of merged tiles).

    Attributes
    ----------
    truth_to_predicted, predicted_to_truth : DirectedDistances
        Distances from the core's (selected) truth boundary pixels to the prediction's boundary, and
        the reverse.
    truth_pixels, predicted_pixels : int
        All boundary pixels of each mask in the core, ``core_mask`` ignored: they tell empty masks
        apart (a mask is empty iff its boundary is).
    """

    truth_to_predicted: DirectedDistances
    predicted_to_truth: DirectedDistances
    truth_pixels: int
    predicted_pixels: int

    def to_dict(self):
        """JSON-ready dict (``json.dump`` writes ``inf`` as ``Infinity``; ``json.load`` reads it)"""
        return {
            "truth_to_predicted": self.truth_to_predicted.to_dict(),
            "predicted_to_truth": self.predicted_to_truth.to_dict(),
            "truth_pixels": int(self.truth_pixels),
            "predicted_pixels": int(self.predicted_pixels),
        }

    @classmethod
    def from_dict(cls, data):
        return cls(
            DirectedDistances.from_dict(data["truth_to_predicted"]),
            DirectedDistances.from_dict(data["predicted_to_truth"]),
            int(data["truth_pixels"]),
            int(data["predicted_pixels"]),
        )


def merge(summaries):
    """Merge :class:`TileDistances` (exact, associative and commutative): the reduce step."""
    summaries = list(summaries)
    return TileDistances(
        DirectedDistances.merge(s.truth_to_predicted for s in summaries),
        DirectedDistances.merge(s.predicted_to_truth for s in summaries),
        sum(int(s.truth_pixels) for s in summaries),
        sum(int(s.predicted_pixels) for s in summaries),
    )


# --------------------------------------------------------------------------------------------------
# Boundaries and distances of one (padded) tile
# --------------------------------------------------------------------------------------------------


def _as_bool(array, name):
    array = np.asarray(array)
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {array.shape}")
    if array.dtype == bool:
        return array
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a boolean or numeric array, got {array.dtype}")
    return array != 0


def _spacing(spacing):
    values = np.broadcast_to(np.asarray(spacing, dtype=np.float64), (2,))
    sy, sx = float(values[0]), float(values[1])
    if not (sy > 0 and sx > 0 and math.isfinite(sy) and math.isfinite(sx)):
        raise ValueError(f"spacing must be positive and finite, got {spacing!r}")
    return sy, sx


def _boundary(mask, unknown_sides=(False, False, False, False)):
    """Boundary pixels of ``mask``: foreground with a 4-neighbour in the background.

    ``unknown_sides`` (top, bottom, left, right): True where the pixels beyond that side exist but
    are unknown (a tile's halo edge), which then count as foreground so that no false boundary pixel
    is created there (true ones on that outermost row/column may be missed); False where beyond is
    outside the image, i.e. background (MetricsReloaded's ``border_value=0``).
    """
    top, bottom, left, right = unknown_sides
    padded = np.pad(mask, 1, mode="constant", constant_values=((top, bottom), (left, right)))
    interior = padded[:-2, 1:-1] & padded[2:, 1:-1]
    interior &= padded[1:-1, :-2]
    interior &= padded[1:-1, 2:]
    return mask & ~interior


def boundary_map(mask):
    """Boundary of a whole-image mask (see the module docstring): ``mask & ~binary_erosion(mask)``.

    Examples
    --------
    >>> boundary_map(np.ones((3, 4), bool)).astype(int)
    array([[1, 1, 1, 1],
           [1, 0, 0, 1],
           [1, 1, 1, 1]])
    """
    return _boundary(_as_bool(mask, "mask"))


def _directed(sources, targets, core, selected, threshold, halo, spacing, isotropic):
    """Distances from the ``selected`` core pixels of ``sources`` to their nearest ``targets``."""
    cy, cx = core
    ys, xs = np.nonzero(sources[cy, cx] if selected is None else sources[cy, cx] & selected)
    if not ys.size:
        return DirectedDistances.empty()
    ys += cy.start
    xs += cx.start
    lower_all = Histogram(np.array([threshold]), np.array([ys.size], np.int64))
    if not targets.any():
        return DirectedDistances(
            Histogram.empty(), lower_all, Histogram(np.array([np.inf]), lower_all.counts)
        )
    from scipy import ndimage  # here, not at import: reducing summaries needs numpy only

    sy, sx = spacing
    feature = ndimage.distance_transform_edt(
        ~targets,
        sampling=None if isotropic else spacing,
        return_distances=False,
        return_indices=True,
    )
    dy = (feature[0][ys, xs] - ys).astype(np.int64)
    dx = (feature[1][ys, xs] - xs).astype(np.int64)
    del feature
    if isotropic:
        squared = dy * dy + dx * dx
        distance = sy * np.sqrt(squared.astype(np.float64))
        exact = squared <= halo * halo if math.isfinite(threshold) else np.ones(ys.size, bool)
    else:
        distance = np.sqrt(np.square(dy * sy) + np.square(dx * sx))
        exact = distance <= threshold
    if exact.all():
        return DirectedDistances(Histogram.of(distance), Histogram.empty(), Histogram.empty())
    unresolved = int(ys.size - np.count_nonzero(exact))
    return DirectedDistances(
        Histogram.of(distance[exact]),
        Histogram(np.array([threshold]), np.array([unresolved], np.int64)),
        Histogram.of(distance[~exact]),
    )


def boundary_distances(
    truth_padded,
    predicted_padded,
    halo,
    spacing=1.0,
    core_mask=None,
    *,
    origin=None,
    image_shape=None,
):
    """Boundary distances of one padded tile, as a reducible :class:`TileDistances`.

    Parameters
    ----------
    truth_padded, predicted_padded : array_like
        2-D masks of the tile's core with ``halo`` pixels on every side, read from the real
        neighbouring pixels (e.g. :func:`segval.tiling.read_padded`).  Where the padded tile extends
        beyond the image, its content is ignored (mirrored, zero or anything): those pixels are
        treated as outside the image, i.e. background, so mirroring cannot create false boundaries.
    halo : int
        Halo width ``h`` in pixels (>= 1 unless the tile is the whole image).
    spacing : float or (float, float)
        Pixel size along ``(y, x)``, in the unit the distances are wanted in.
    core_mask : array_like, optional
        Boolean mask of the core's shape: only the boundary pixels it selects are measured (e.g. a
        region of interest).  Boundaries themselves and the nearest-pixel search are not restricted.
    origin : (int, int)
        ``(y0, x0)``: position of the core's first pixel in the image.
    image_shape : (int, int)
        ``(height, width)`` of the image.  ``origin`` and ``image_shape`` may be left out only with
        ``halo=0``, meaning that the arrays are the whole image.

    Returns
    -------
    TileDistances
        Distances are exact when at most ``T = h * min(spacing)`` (see the module docstring), else
        recorded as unresolved with bounds ``[T, d_in]``.
    """
    truth = _as_bool(truth_padded, "truth")
    predicted = _as_bool(predicted_padded, "predicted")
    if truth.shape != predicted.shape:
        raise ValueError(
            f"truth and prediction differ in shape: {truth.shape} vs {predicted.shape}"
        )
    halo = int(halo)
    if halo < 0:
        raise ValueError(f"halo must be >= 0, got {halo}")
    spacing = _spacing(spacing)
    isotropic = spacing[0] == spacing[1]
    core_h, core_w = truth.shape[0] - 2 * halo, truth.shape[1] - 2 * halo
    if core_h < 1 or core_w < 1:
        raise ValueError(f"padded tile {truth.shape} has no core with halo {halo}")
    if origin is None and image_shape is None:
        if halo:
            raise ValueError("give origin and image_shape for a tile with a halo")
        origin, image_shape = (0, 0), truth.shape
    elif origin is None or image_shape is None:
        raise ValueError("give both origin and image_shape, or neither (whole image)")
    y0, x0 = (int(v) for v in origin)
    height, width = (int(v) for v in image_shape)
    if y0 < 0 or x0 < 0 or y0 + core_h > height or x0 + core_w > width:
        raise ValueError(
            f"core {(core_h, core_w)} at {(y0, x0)} is not inside the image {(height, width)}"
        )

    # The part of the padded tile inside the image; which of its sides are image edges.
    ra, rb = max(0, halo - y0), min(truth.shape[0], halo + height - y0)
    ca, cb = max(0, halo - x0), min(truth.shape[1], halo + width - x0)
    edge = (
        y0 - halo <= 0,
        y0 + core_h + halo >= height,
        x0 - halo <= 0,
        x0 + core_w + halo >= width,
    )
    unknown = tuple(not e for e in edge)
    if halo == 0 and any(unknown):
        raise ValueError("a tile that is not the whole image needs a halo >= 1")
    threshold = min(
        halo * spacing[0] if unknown[0] or unknown[1] else math.inf,
        halo * spacing[1] if unknown[2] or unknown[3] else math.inf,
    )
    truth_b = _boundary(truth[ra:rb, ca:cb], unknown)
    predicted_b = _boundary(predicted[ra:rb, ca:cb], unknown)
    core = (slice(halo - ra, halo - ra + core_h), slice(halo - ca, halo - ca + core_w))
    selected = None
    if core_mask is not None:
        selected = _as_bool(core_mask, "core_mask")
        if selected.shape != (core_h, core_w):
            raise ValueError(f"core_mask has shape {selected.shape}, the core {(core_h, core_w)}")
    args = (core, selected, threshold, halo, spacing, isotropic)
    return TileDistances(
        _directed(truth_b, predicted_b, *args),
        _directed(predicted_b, truth_b, *args),
        int(np.count_nonzero(truth_b[core])),
        int(np.count_nonzero(predicted_b[core])),
    )


# --------------------------------------------------------------------------------------------------
# Reduction to metrics
# --------------------------------------------------------------------------------------------------


def histogram_percentile(histogram, q):
    """``np.percentile(values, q)`` (linear method) of the values a histogram counts, to the bit.

    Infinite values are allowed (upper bounds): a percentile that interpolates towards ``inf`` is
    ``inf``.  NaN for an empty histogram.
    """
    n = histogram.total
    if n == 0:
        return math.nan
    cumulative = np.cumsum(histogram.counts)

    def order_statistic(k):
        return float(histogram.values[np.searchsorted(cumulative, k, side="right")])

    virtual = (n - 1) * (float(q) / 100)  # numpy: (n - 1) * true_divide(q, 100)
    if virtual >= n - 1:
        return float(histogram.values[-1])
    below = math.floor(virtual)
    gamma = virtual - below
    a, b = order_statistic(below), order_statistic(below + 1)
    if a == b:
        return a
    difference = b - a
    if math.isinf(difference):
        return a if gamma == 0 else math.inf
    if gamma >= 0.5:  # numpy's _lerp, which is exact at gamma = 1
        return b - difference * (1 - gamma)
    return a + difference * gamma


def _fsum(histograms):
    """Correctly rounded sum of ``count * value`` (each product rounded once) over histograms."""
    products = [np.asarray(h.counts, np.float64) * h.values for h in histograms]
    return math.fsum(np.concatenate(products)) if products else 0.0


def reduce(summaries, percentile_q=95.0):
    """HD, HD95 and ASSD of merged tile summaries (or of one whole-image summary).

    Parameters
    ----------
    summaries : iterable of TileDistances
        All the tiles of the scope (typically one slice).
    percentile_q : float
        The percentile of the robust Hausdorff distance (95 for HD95).

    Returns
    -------
    dict
        ``hd``, ``hd95``, ``assd``: the metric, or NaN when not exactly known (unresolved pixels) or
        undefined (edge case); ``*_lower``, ``*_upper``: guaranteed bounds (equal to the metric when
        it is exact; ``*_upper`` may be inf); ``unresolved``: pixels whose distance is not exactly
        known; ``truth_boundary``, ``predicted_boundary``: boundary pixels measured in each
        direction; ``edge_case``.
    """
    total = merge(summaries)
    directions = [d for d in (total.truth_to_predicted, total.predicted_to_truth) if d.count]
    out = dict.fromkeys(RESULT_KEYS, math.nan)
    out["unresolved"] = 0
    out["truth_boundary"] = total.truth_to_predicted.count
    out["predicted_boundary"] = total.predicted_to_truth.count
    if total.truth_pixels == 0 and total.predicted_pixels == 0:
        case = "both_empty"
    elif total.truth_pixels == 0:
        case = "reference_empty"
    elif total.predicted_pixels == 0:
        case = "prediction_empty"
    elif not directions:
        case = "empty"
    else:
        case = "none"
    out["edge_case"] = case
    if case != "none":
        return out
    bounded = {
        side: [Histogram.merge([d.exact, getattr(d, side)]) for d in directions]
        for side in ("lower", "upper")
    }
    for side, histograms in bounded.items():
        out[f"hd_{side}"] = max(float(h.values[-1]) for h in histograms)
        out[f"hd95_{side}"] = max(histogram_percentile(h, percentile_q) for h in histograms)
        count = sum(h.total for h in histograms)
        out[f"assd_{side}"] = _fsum(histograms) / count
    for name in ("hd", "hd95", "assd"):
        if out[f"{name}_lower"] == out[f"{name}_upper"]:
            out[name] = out[f"{name}_lower"]
    out["unresolved"] = sum(d.unresolved for d in directions)
    return out


def distance_columns(summaries):
    """The boundary columns (:data:`DISTANCE_KEYS`) of the merged ``summaries``: HD, HD95, ASSD and
    their bounds; empty when there are none (boundary metrics off, or no traced slice).

    >>> distance_columns([])
    {}
    """
    if not summaries:
        return {}
    result = reduce([merge(summaries)])
    return {name: result[name] for name in DISTANCE_KEYS}


def halo_to_resolve(result, spacing):
    """Halo that makes a re-tiled computation exact, from a :func:`reduce` result; None if unknown.

    0 when nothing is unresolved; ``floor(hd_upper / min(spacing)) + 1`` pixels when ``hd_upper`` is
    finite (every true distance is at most ``hd_upper``, so every nearest boundary pixel then lies
    strictly inside the padded tile); None when some pixel saw no boundary of the other mask at all
    (compute that slice whole with :func:`boundary_metrics`).
    """
    if not result["unresolved"]:
        return 0
    upper = result["hd_upper"]
    if not math.isfinite(upper):
        return None
    return math.floor(upper / min(_spacing(spacing))) + 1


# --------------------------------------------------------------------------------------------------
# Whole images and in-memory tiling
# --------------------------------------------------------------------------------------------------


def boundary_metrics(truth, predicted, spacing=1.0, roi=None, percentile_q=95.0):
    """HD, HD95 and ASSD of a whole 2-D image pair: the reference and the fallback of tiled runs.

    Parameters
    ----------
    truth, predicted : array_like
        Masks of the same shape (booleans, or numbers where non-zero is foreground).
    spacing : float or (float, float)
        Pixel size along ``(y, x)``.
    roi : array_like, optional
        Only boundary pixels inside it are measured (their nearest partners may lie outside).
    percentile_q : float
        Percentile of the robust Hausdorff distance.

    Returns
    -------
    dict
        As :func:`reduce`, always exact (``unresolved`` is 0).

    Examples
    --------
    >>> truth = np.zeros((5, 8), bool); truth[1:4, 1:4] = True
    >>> predicted = np.zeros((5, 8), bool); predicted[1:4, 3:6] = True
    >>> r = boundary_metrics(truth, predicted, spacing=(1.0, 0.5))
    >>> r["hd"], r["edge_case"]
    (1.0, 'none')
    """
    return reduce([boundary_distances(truth, predicted, 0, spacing, roi)], percentile_q)


def tile_boundary_distances(
    read_truth, read_predicted, shape, z, y0, y1, x0, x1, halo, spacing=1.0, core_mask=None
):
    """:func:`boundary_distances` of tile ``[y0:y1, x0:x1]`` of slice ``z``, read with
    :func:`segval.tiling.read_padded` (``read(z, y0, y1, x0, x1)`` callables, ``shape`` the
    ``(slices, height, width)`` of the images)."""
    truth = read_padded(read_truth, shape, z, y0, y1, x0, x1, halo)
    predicted = read_padded(read_predicted, shape, z, y0, y1, x0, x1, halo)
    return boundary_distances(
        truth, predicted, halo, spacing, core_mask, origin=(y0, x0), image_shape=tuple(shape[1:])
    )


def tiled_boundary_distances(truth, predicted, spacing=1.0, tile_size=1024, halo=64, roi=None):
    """Summaries of all tiles of an in-memory 2-D pair (as the workflow computes them)."""
    truth = _as_bool(truth, "truth")
    predicted = _as_bool(predicted, "predicted")
    if truth.shape != predicted.shape:
        raise ValueError(
            f"truth and prediction differ in shape: {truth.shape} vs {predicted.shape}"
        )
    roi = None if roi is None else _as_bool(roi, "roi")
    height, width = truth.shape
    shape = (1, height, width)

    def reader(image):
        return lambda z, ya, yb, xa, xb: image[ya:yb, xa:xb]

    summaries = []
    for y0 in range(0, height, tile_size):
        for x0 in range(0, width, tile_size):
            y1, x1 = min(y0 + tile_size, height), min(x0 + tile_size, width)
            core_mask = None if roi is None else roi[y0:y1, x0:x1]
            summaries.append(
                tile_boundary_distances(
                    reader(truth),
                    reader(predicted),
                    shape,
                    0,
                    y0,
                    y1,
                    x0,
                    x1,
                    halo,
                    spacing,
                    core_mask,
                )
            )
    return summaries


def tiled_boundary_metrics(
    truth, predicted, spacing=1.0, tile_size=1024, halo=64, roi=None, percentile_q=95.0
):
    """:func:`reduce` of :func:`tiled_boundary_distances`: equals :func:`boundary_metrics` when
    ``unresolved`` is 0."""
    return reduce(
        tiled_boundary_distances(truth, predicted, spacing, tile_size, halo, roi), percentile_q
    )
