"""Full-resolution histograms of tiles, and their exact reduction to one histogram per scope.

Integer images get one bin per possible value (256 for 8-bit, 65536 for 16-bit), so histograms add
exactly: the histogram of a slice, a stack or a dataset is the sum of its tiles' histograms, and a
global threshold computed from the sum equals the one computed from the whole image.

Float images have no natural bins.  segval bins them like scikit-image does for a whole image
(``FLOAT_BINS`` equal bins between the minimum and maximum), but over the range shared by all the
tiles of the threshold's scope, found in a first pass (each chunk records its minimum and maximum);
the same bins for every tile make the histograms add exactly again.
"""

import numpy as np

#: Bins of float images, as scikit-image's default ``nbins``.
FLOAT_BINS = 256


def bins_for(dtype):
    """``(n_bins, offset)`` of the full-resolution histogram of an integer dtype; bin ``i`` holds
    value ``offset + i``.  ``None`` for float dtypes (binned over a shared range instead)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return 2, 0
    if dtype.kind in "ui":
        if dtype.itemsize > 2:
            raise ValueError(f"{dtype} images are not supported (8- and 16-bit integers, floats)")
        info = np.iinfo(dtype)
        return int(info.max) - int(info.min) + 1, int(info.min)
    return None


def tile_histogram(tile, mask=None):
    """Full-resolution histogram (int64) of an integer tile, optionally of the pixels under ``mask``.

    Uses OpenCV's ``calcHist`` for 8- and 16-bit unsigned tiles (about 10 x faster than
    ``np.bincount``); its float32 counts are exact below 2**24 pixels, which tiles of at most
    4096 x 4096 respect.
    """
    n_bins, offset = bins_for(tile.dtype)
    if tile.dtype in (np.uint8, np.uint16) and tile.size < 2**24:
        import cv2

        cv_mask = None if mask is None else np.ascontiguousarray(mask, dtype=np.uint8)
        if tile.strides[-1] != tile.itemsize:  # OpenCV takes strided rows, not strided pixels
            tile = np.ascontiguousarray(tile)
        counts = cv2.calcHist([tile], [0], cv_mask, [n_bins], [0, n_bins])
        return counts.ravel().astype(np.int64)
    values = tile if mask is None else tile[mask.astype(bool)]
    shifted = values.astype(np.int64).ravel() - offset
    return np.bincount(shifted, minlength=n_bins).astype(np.int64)


def _range(low, high, dtype):
    # The range as values of the data's type: numpy then computes edges and bin indices in that
    # type, exactly as for ``np.histogram(image, bins)`` on the whole image (what skimage does).
    kind = np.dtype(dtype).type
    return kind(low), kind(high)


def float_histogram(values, low, high, bins=FLOAT_BINS, mask=None):
    """Histogram of float values over the shared range ``[low, high]`` in ``bins`` equal bins."""
    if mask is not None:
        values = values[mask.astype(bool)]
    values = values[np.isfinite(values)]
    counts, _ = np.histogram(values, bins=bins, range=_range(low, high, values.dtype))
    return counts.astype(np.int64)


def float_edges(low, high, dtype, bins=FLOAT_BINS):
    """Bin edges of :func:`float_histogram` for data of ``dtype`` (in that type, like numpy's and
    hence scikit-image's edges and bin centres for a whole image)."""
    _, edges = np.histogram(np.empty(0, dtype=dtype), bins=bins, range=_range(low, high, dtype))
    return edges


class SliceAccumulator:
    """Per-slice (and optionally per-tile) histograms, sums and ranges of one chunk.

    Parameters
    ----------
    dtype : numpy dtype
        Pixel type of the tiles.
    slices : int
        Slices in the chunk.
    per_tile : bool
        Also keep one histogram per tile (needed for per-tile thresholds only: 512 KB per tile for
        16-bit images).
    """

    def __init__(self, dtype, slices, per_tile=False):
        self.dtype = np.dtype(dtype)
        self.bins = bins_for(self.dtype)
        self.slices = slices
        self.per_tile = per_tile
        n_bins = self.bins[0] if self.bins else 0
        self.counts = np.zeros((slices, n_bins), np.int64)
        self.sums = [0] * slices
        self.pixels = np.zeros(slices, np.int64)
        self.low = np.full(slices, np.inf)
        self.high = np.full(slices, -np.inf)
        self.tile_counts = []
        self.tile_index = []

    def add(self, z_in_chunk, tile, row, col, mask=None):
        """Account for one tile of slice ``z_in_chunk`` (grid position ``row, col``)."""
        if self.bins:  # integer data: sums, ranges and pixel counts all follow from the histogram
            counts = tile_histogram(tile, mask)
            self.counts[z_in_chunk] += counts
            if self.per_tile:
                self.tile_counts.append(counts)
                self.tile_index.append((z_in_chunk, row, col))
            return
        values = tile if mask is None else tile[mask.astype(bool)]
        values = values[np.isfinite(values)]
        self.pixels[z_in_chunk] += values.size
        self.sums[z_in_chunk] += float(values.sum(dtype=np.float64))
        if values.size:
            self.low[z_in_chunk] = min(self.low[z_in_chunk], float(values.min()))
            self.high[z_in_chunk] = max(self.high[z_in_chunk], float(values.max()))

    def _integer_statistics(self):
        """Pixels, exact sums and value ranges per slice, from the histograms."""
        _, offset = self.bins
        values = np.arange(self.counts.shape[1], dtype=np.int64) + offset
        self.pixels = self.counts.sum(axis=1)
        self.sums = [int(np.dot(row, values)) for row in self.counts]
        for z, row in enumerate(self.counts):
            present = np.flatnonzero(row)
            if present.size:
                self.low[z], self.high[z] = values[present[0]], values[present[-1]]

    def save(self, path, z0):
        """Write an ``.npz`` with everything the threshold step needs (``z0``: first slice)."""
        if self.bins:
            self._integer_statistics()
        n_bins, offset = self.bins if self.bins else (0, 0)
        arrays = {
            "z": np.arange(z0, z0 + self.slices),
            "counts": self.counts,
            "offset": np.int64(offset),
            "sums": np.array(self.sums, dtype=np.int64 if self.bins else np.float64),
            "pixels": self.pixels,
            "low": self.low,
            "high": self.high,
            "dtype": np.array(self.dtype.name),
        }
        if self.per_tile:
            arrays["tile_counts"] = np.array(self.tile_counts, np.int64).reshape(-1, n_bins)
            arrays["tile_index"] = np.array(self.tile_index, np.int64).reshape(-1, 3) + [z0, 0, 0]
        with open(path, "wb") as handle:
            np.savez(handle, **arrays)


def load_histograms(paths):
    """Merge the ``.npz`` histograms of a sample's chunks (written by :meth:`ChunkHistograms.save`).

    Parameters
    ----------
    paths : list of str
        The chunks' files, in chunk order.

    Returns
    -------
    dict
        Per-slice arrays concatenated over the chunks (``z``, ``counts``, ``sums``, ``pixels``,
        ``low``, ``high``; ``tile_counts`` and ``tile_index`` when per-tile histograms were kept),
        and the image's ``offset`` (value of bin 0) and ``dtype``.
    """
    parts = [np.load(path) for path in paths]
    merged = {
        key: np.concatenate([p[key] for p in parts])
        for key in ("z", "counts", "sums", "pixels", "low", "high")
    }
    merged["offset"] = int(parts[0]["offset"])
    merged["dtype"] = str(parts[0]["dtype"])
    if "tile_counts" in parts[0]:
        merged["tile_counts"] = np.concatenate([p["tile_counts"] for p in parts])
        merged["tile_index"] = np.concatenate([p["tile_index"] for p in parts])
    return merged


def by_scope(hist, scope):
    """The histograms a threshold of ``scope`` is computed from, summed exactly.

    Parameters
    ----------
    hist : dict
        Merged histograms (:func:`load_histograms`).
    scope : {"image", "slice", "tile"}

    Yields
    ------
    key : dict
        ``{"z", "row", "col"}`` of the unit (None where the scope spans it).
    counts : ndarray
        Its full-resolution histogram (empty for float images: see :func:`float_scope_counts`).
    total : numpy scalar or None
        Exact sum of its values (None per tile).
    selector : slice or list or None
        Its rows of the per-slice arrays (None per tile).

    Examples
    --------
    >>> hist = {"z": np.array([0, 1]), "counts": np.array([[1, 2], [3, 4]]), "sums": np.array([2, 4])}
    >>> [(key["z"], counts.tolist()) for key, counts, _, _ in by_scope(hist, "image")]
    [(None, [4, 6])]
    >>> [(key["z"], counts.tolist()) for key, counts, _, _ in by_scope(hist, "slice")]
    [(0, [1, 2]), (1, [3, 4])]
    """
    if scope == "image":
        yield (
            {"z": None, "row": None, "col": None},
            hist["counts"].sum(axis=0),
            hist["sums"].sum(),
            slice(None),
        )
    elif scope == "slice":
        for i, z in enumerate(hist["z"]):
            yield {"z": int(z), "row": None, "col": None}, hist["counts"][i], hist["sums"][i], [i]
    elif scope == "tile":
        for (z, row, col), counts in zip(hist["tile_index"], hist["tile_counts"]):
            yield {"z": int(z), "row": int(row), "col": int(col)}, counts, None, None
    else:
        raise ValueError(f"unknown threshold scope {scope!r}")


def float_scope_counts(denoised, plan, hist, selector):
    """Histogram float data over the range shared by the selected slices (the second pass).

    Parameters
    ----------
    denoised : segval.stitching.ChunkSet
        The sample's denoised chunks, open (anything with ``read(z, y0, y1, x0, x1)``).
    plan : segval.tiling.Plan
    hist : dict
        Merged histograms (:func:`load_histograms`): their ``low`` and ``high`` give the range.
    selector : slice or list
        The slices of the scope (from :func:`by_scope`).

    Returns
    -------
    counts : ndarray
        ``FLOAT_BINS`` counts of the scope's tiles.
    edges : ndarray
        The bins' edges (:func:`float_edges`).
    """
    low, high = float(np.min(hist["low"][selector])), float(np.max(hist["high"][selector]))
    slices = set(np.atleast_1d(hist["z"][selector]).tolist())
    counts = np.zeros(FLOAT_BINS, np.int64)
    for chunk in plan.chunks:
        for tile in plan.tiles(chunk):
            if tile.z in slices:
                values = denoised.read(tile.z, tile.y0, tile.y1, tile.x0, tile.x1)
                counts += float_histogram(values, low, high)
    return counts, float_edges(low, high, hist["dtype"])
