"""Tiles, chunks and halos: how segval cuts huge images so that the pieces stitch back exactly.

Two levels of cutting, each for its own reason:

- a **tile** is a ``tile_size`` x ``tile_size`` square of one slice.  Steps process one tile at a time
  (so a job's memory depends on the tile size, not on the image), read it with a **halo** of
  neighbouring pixels for neighbourhood operations (median, Gaussian, local thresholds), and report
  per-tile confusion counts.  At the image's true borders the halo is mirrored exactly as
  ``scipy.ndimage``'s ``mode="reflect"`` (numpy's ``"symmetric"``) would, so every tile's core equals
  the same pixels of the whole-image result;
- a **chunk** is the unit of a Snakemake job: several whole slices of a stack, or, for a slice larger
  than the chunk budget, a band of whole tile rows.  Chunks keep the job count in the range Snakemake
  and SLURM handle well (thousands, not millions) while each job still streams tile by tile.
"""

import json
from dataclasses import dataclass

#: The most a chunk's pyramid levels are held in memory while it is written (a third of a 17480 x
#: 8026 slice's mask is 47 MB); larger ones go to scratch files.
LEVELS_IN_MEMORY_BYTES = 256 * 2**20


@dataclass(frozen=True)
class Tile:
    """One tile: slice ``z``, grid position ``(row, col)``, pixel bounds ``[y0:y1, x0:x1]``."""

    z: int
    row: int
    col: int
    y0: int
    y1: int
    x0: int
    x1: int


@dataclass(frozen=True)
class Chunk:
    """One job's share of a sample: slices ``[z0:z1]``, rows ``[y0:y1]``, all columns."""

    index: int
    z0: int
    z1: int
    y0: int
    y1: int

    @property
    def id(self):
        return chunk_id(self.index)

    @property
    def shape(self):
        return (self.z1 - self.z0, self.y1 - self.y0)

    def to_dict(self):
        return {"id": self.id, "z": [self.z0, self.z1], "y": [self.y0, self.y1]}


def load_manifest(path):
    """The ``plan`` step's manifest (image, masks, tiles, chunks) and its :class:`Plan`."""
    with open(path) as handle:
        manifest = json.load(handle)
    return manifest, Plan.from_dict(manifest)


def chunk_id(index):
    """File-name id of chunk ``index``: ``c0000``, ``c0001``, ..."""
    return f"c{index:04d}"


@dataclass(frozen=True)
class Plan:
    """How one sample is cut: its shape ``(slices, height, width)``, tile size and chunks."""

    shape: tuple
    tile_size: int
    chunks: tuple

    @property
    def grid(self):
        """Tiles per slice as ``(rows, columns)``."""
        _, height, width = self.shape
        return (-(-height // self.tile_size), -(-width // self.tile_size))

    def chunk(self, chunk_id):
        """The chunk with this id (``"c0003"``)."""
        for chunk in self.chunks:
            if chunk.id == chunk_id:
                return chunk
        raise KeyError(f"no chunk {chunk_id!r} in this plan")

    def subset(self, chunk_ids):
        """The same image with only the chunks ``chunk_ids`` (e.g. to read a few chunk files)."""
        wanted = set(chunk_ids)
        return Plan(self.shape, self.tile_size, tuple(c for c in self.chunks if c.id in wanted))

    def same_slices(self, chunk):
        """Ids of the chunks that hold ``chunk``'s slices (itself, and the other bands of a split
        slice): what a neighbourhood operation across band borders needs to read."""
        return [c.id for c in self.chunks if c.z0 < chunk.z1 and chunk.z0 < c.z1]

    def pyramid(self, chunk, reduce):
        """``reduce`` if ``chunk`` holds whole slices (so it can carry its slices' pyramid levels
        for stitching to copy), else None: bands of a split slice leave the pyramid to stitching."""
        return reduce if (chunk.y0, chunk.y1) == (0, self.shape[1]) else None

    def restrict(self, slices):
        """The plan of the sub-stack made of ``slices`` (sorted image slice indices), e.g. the slices
        that have ground truth.  Chunks keep their ids and hold their own slices of the sub-stack;
        chunks without any of these slices are dropped.

        Examples
        --------
        >>> p = plan((6, 100, 100), tile_size=64, chunk_megapixels=0.02)
        >>> sub = p.restrict([1, 4, 5])
        >>> sub.shape, [(c.id, c.z0, c.z1) for c in sub.chunks]
        ((3, 100, 100), [('c0000', 0, 1), ('c0002', 1, 3)])
        """
        rank = {z: i for i, z in enumerate(slices)}
        chunks = []
        for chunk in self.chunks:
            inside = [rank[z] for z in range(chunk.z0, chunk.z1) if z in rank]
            if inside:
                chunks.append(Chunk(chunk.index, inside[0], inside[-1] + 1, chunk.y0, chunk.y1))
        return Plan((len(slices),) + tuple(self.shape[1:]), self.tile_size, tuple(chunks))

    def tiles(self, chunk):
        """Tiles of ``chunk`` in slice, row, column order (the order TIFF tiles are written in)."""
        _, _, width = self.shape
        size = self.tile_size
        for z in range(chunk.z0, chunk.z1):
            for y0 in range(chunk.y0, chunk.y1, size):
                y1 = min(y0 + size, chunk.y1)
                for x0 in range(0, width, size):
                    yield Tile(z, y0 // size, x0 // size, y0, y1, x0, min(x0 + size, width))

    def to_dict(self):
        return {
            "shape": list(self.shape),
            "tile_size": self.tile_size,
            "grid": list(self.grid),
            "chunks": [c.to_dict() for c in self.chunks],
        }

    @classmethod
    def load(cls, path):
        """Read the plan part of a manifest written by the ``plan`` step."""
        return load_manifest(path)[1]

    @classmethod
    def from_dict(cls, data):
        chunks = tuple(
            Chunk(i, c["z"][0], c["z"][1], c["y"][0], c["y"][1])
            for i, c in enumerate(data["chunks"])
        )
        return cls(tuple(data["shape"]), int(data["tile_size"]), chunks)


def plan(shape, tile_size, chunk_megapixels, whole_slices=False):
    """Cut an image of ``shape`` ``(slices, height, width)`` into chunks of about ``chunk_megapixels``.

    Whole slices are grouped while they fit the budget (at least one slice per chunk); a slice larger
    than the budget is cut into bands of whole tile rows.

    Parameters
    ----------
    shape : tuple of int
        ``(slices, height, width)``.
    tile_size : int
        Edge of the square tiles, in pixels.
    chunk_megapixels : float
        Target pixels per chunk (job), in millions.
    whole_slices : bool
        Never cut a slice into bands, whatever its size (for steps that need whole slices).

    Returns
    -------
    Plan

    Examples
    --------
    >>> p = plan((10, 1000, 1000), tile_size=256, chunk_megapixels=3)
    >>> [(c.z0, c.z1) for c in p.chunks]
    [(0, 3), (3, 6), (6, 9), (9, 10)]
    >>> p = plan((1, 5000, 1000), tile_size=256, chunk_megapixels=1)
    >>> [(c.y0, c.y1) for c in p.chunks][:2], len(p.chunks)
    ([(0, 768), (768, 1536)], 7)
    """
    slices, height, width = (int(n) for n in shape)
    if min(slices, height, width) < 1:
        raise ValueError(f"empty image shape {shape}")
    budget = max(1, int(chunk_megapixels * 1e6))
    chunks = []
    if height * width <= budget or whole_slices:
        per_chunk = max(1, budget // (height * width))
        for z0 in range(0, slices, per_chunk):
            chunks.append(Chunk(len(chunks), z0, min(z0 + per_chunk, slices), 0, height))
    else:
        band = max(1, budget // (tile_size * width)) * tile_size
        for z in range(slices):
            for y0 in range(0, height, band):
                chunks.append(Chunk(len(chunks), z, z + 1, y0, min(y0 + band, height)))
    return Plan((slices, height, width), int(tile_size), tuple(chunks))


def read_padded(read, shape, z, y0, y1, x0, x1, halo):
    """Read ``[y0:y1, x0:x1]`` of slice ``z`` with ``halo`` extra pixels on every side.

    Pixels inside the image are read (through ``read``); beyond the image's borders the block is
    mirrored like ``np.pad(image, halo, mode="symmetric")`` (= scipy.ndimage ``mode="reflect"``), so
    the result equals the same window of the padded whole image.

    Parameters
    ----------
    read : callable
        ``read(z, y0, y1, x0, x1) -> 2-D array`` for in-bounds regions (e.g. ``ImageReader.read``).
    shape : tuple of int
        ``(slices, height, width)`` of the image behind ``read``.
    z, y0, y1, x0, x1 : int
        The core region.
    halo : int
        Pixels to add on each side.

    Returns
    -------
    numpy.ndarray
        Shape ``(y1 - y0 + 2 * halo, x1 - x0 + 2 * halo)``.
    """
    if halo == 0:
        return read(z, y0, y1, x0, x1)
    _, height, width = shape
    ya, yb = max(0, y0 - halo), min(height, y1 + halo)
    xa, xb = max(0, x0 - halo), min(width, x1 + halo)
    block = read(z, ya, yb, xa, xb)
    pad = ((ya - (y0 - halo), (y1 + halo) - yb), (xa - (x0 - halo), (x1 + halo) - xb))
    if any(p for pair in pad for p in pair):
        block = _pad_symmetric(block, pad, (ya, yb, xa, xb), (height, width))
    return block


def _pad_symmetric(block, pad, bounds, image_size):
    """Mirror ``block`` outwards where it touches the image border.

    numpy reflects a padded axis repeatedly when the pad is wider than the block; that equals padding
    the whole image only if the block spans the image along that axis, which holds whenever more
    than the block's width is missing (the block then reaches both borders).
    """
    import numpy as np  # here, not at the top: the Snakefile imports this module (Plan)

    ya, yb, xa, xb = bounds
    height, width = image_size
    for axis, (before, after), span, full in (
        (0, pad[0], yb - ya, height),
        (1, pad[1], xb - xa, width),
    ):
        if max(before, after) > span and span != full:  # pragma: no cover - guarded by geometry
            raise AssertionError("halo wider than the block but the block is not the whole axis")
        if before or after:
            widths = [(0, 0), (0, 0)]
            widths[axis] = (before, after)
            block = np.pad(block, widths, mode="symmetric")
    return block


def parse_slices(text, slices=None):
    """Slice indices from a list like ``"0, 10, 20-25"`` (ranges inclusive), sorted and unique.

    Parameters
    ----------
    text : str
        Comma-separated indices and ``a-b`` ranges; empty means none.
    slices : int, optional
        Number of slices of the image, to check the indices against.

    Raises
    ------
    ValueError
        On malformed items, descending ranges, duplicates or indices beyond ``slices``.

    Examples
    --------
    >>> parse_slices("0, 10, 20-23")
    [0, 10, 20, 21, 22, 23]
    """
    indices = []
    for item in filter(None, (part.strip() for part in str(text).split(","))):
        first, dash, last = item.partition("-")
        if not first.isdigit() or (dash and not last.isdigit()):
            raise ValueError(f"{item!r} is not a slice index or an a-b range")
        low, high = int(first), int(last) if dash else int(first)
        if high < low:
            raise ValueError(f"range {item!r} runs backwards")
        indices.extend(range(low, high + 1))
    if len(set(indices)) != len(indices):
        raise ValueError("a slice is listed twice")
    if slices is not None and indices and max(indices) >= slices:
        raise ValueError(
            f"slice {max(indices)} does not exist (the image has {slices}: 0..{slices - 1})"
        )
    return sorted(indices)
