"""Deep Zoom (DZI) tile pyramids of full-resolution overlays, for slices larger than the preview.

A Deep Zoom image of ``width`` x ``height`` has levels ``0 .. top`` with ``top = ceil(log2(max(width,
height)))``; level ``k`` is the image reduced by ``2 ** (top - k)`` (level ``top`` is full
resolution), cut into ``tile`` x ``tile`` PNGs ``<name>_files/<k>/<column>_<row>.png`` (no overlap),
described by ``<name>.dzi``.  Viewers such as OpenSeadragon load only the tiles on screen.

An overlay is shown as two layers that the viewer (OpenSeadragon, in the sample pages) draws one over
the other: the image's pyramid (grayscale PNG, one per sample: every method shares it), and each
method's confusion pyramid, a palette PNG of the codes whose palette holds the overlay's colours at
the overlay's opacity (outside the ROI: transparent).  The browser's blend is the overlay's blend,
and a method's pyramid costs a few bytes per tile instead of an RGB picture.

Every level is reduced from the confusion codes, not from colours: a block shows FN, else FP, else
TP, else TN (:func:`segval.downsample.block_confusion`), so one-pixel errors stay visible at every
zoom level, as in the overlay previews.
"""

import math
import struct
import zlib

import numpy as np

from segval.downsample import factor_for, reduced_slice

#: Edge of the pyramid's tiles in pixels: 512 (rather than OpenSeadragon's 256) writes a quarter as
#: many files, and a slice's pyramid costs mostly its files' creation.
TILE = 512


def top_level(width, height):
    """Index of the full-resolution level.

    >>> top_level(1, 1), top_level(256, 256), top_level(257, 10), top_level(17480, 8026)
    (0, 8, 9, 15)
    """
    return max(0, math.ceil(math.log2(max(width, height))))


def level_shape(width, height, level, top):
    """``(width, height)`` of ``level`` (each halving rounds up).

    >>> level_shape(17480, 8026, 15, 15), level_shape(17480, 8026, 12, 15), level_shape(5, 3, 0, 3)
    ((17480, 8026), (2185, 1004), (1, 1))
    """
    factor = 2 ** (top - level)
    return -(-width // factor), -(-height // factor)


def tiles_of(width, height, tile=TILE):
    """``(column, row, x0, x1, y0, y1)`` of the tiles of a ``width`` x ``height`` level.

    >>> list(tiles_of(600, 200))
    [(0, 0, 0, 512, 0, 200), (1, 0, 512, 600, 0, 200)]
    """
    for row, y0 in enumerate(range(0, height, tile)):
        for column, x0 in enumerate(range(0, width, tile)):
            yield column, row, x0, min(x0 + tile, width), y0, min(y0 + tile, height)


def dzi_xml(width, height, tile=TILE):
    """The ``.dzi`` descriptor.

    >>> print(dzi_xml(300, 200), end="")
    <?xml version="1.0" encoding="UTF-8"?>
    <Image xmlns="http://schemas.microsoft.com/deepzoom/2008" Format="png" Overlap="0" TileSize="512">
    <Size Width="300" Height="200"/>
    </Image>
    """
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Image xmlns="http://schemas.microsoft.com/deepzoom/2008" Format="png" Overlap="0" TileSize="{tile}">\n'
        f'<Size Width="{width}" Height="{height}"/>\n</Image>\n'
    )


def pyramid_bands(reader, z, max_pixels, reduce, reduced=None, levels=False):
    """The Deep Zoom levels of slice ``z`` of ``reader``, as ``(level, y0, band)``: rows ``y0``
    onwards of ``level`` (one row of tiles of the finer levels, the whole of the coarser ones).

    The slice is read once, one row of tiles at a time; each finer level is reduced from the level
    above as pairs of its bands stream past, down to the ``max_pixels`` preview's scale, which is
    kept whole and gives the coarser levels.  Memory stays about two rows of tiles of the
    full-resolution slice (``reduce`` must compose: reducing by 2 twice equals reducing by 4, as
    the maximum and the confusion codes' ranking do; a mean differs only by rounding).
    ``reduced``: the preview's copy, if the caller has made it already (:func:`preview_copy`),
    which the coarse levels then come from.  ``levels``: read the finer levels and the preview's
    scale from the file's own pyramid instead, where it has them all (``reader.pyramid_level``;
    only for segval's confusion maps and masks, whose levels were reduced with ``reduce``).

    Examples
    --------
    >>> from segval.downsample import block_max
    >>> class Image:
    ...     shape = (1, 3, 600)
    ...     def read(self, z, y0, y1, x0, x1):
    ...         return np.arange(600, dtype=np.uint16)[None, x0:x1].repeat(y1 - y0, axis=0)
    >>> [(level, y0, band.shape, int(band.max())) for level, y0, band in
    ...  pyramid_bands(Image(), 0, 500, block_max)][:4]
    [(10, 0, (3, 600), 599), (9, 0, (2, 300), 599), (8, 0, (1, 150), 599), (7, 0, (1, 75), 599)]

    Every level equals the slice reduced in one step:

    >>> image = np.random.default_rng(1).integers(0, 9, (1100, 1300)).astype(np.uint8)
    >>> class Whole:
    ...     shape = (1,) + image.shape
    ...     def read(self, z, y0, y1, x0, x1):
    ...         return image[y0:y1, x0:x1]
    >>> levels = {}
    >>> for level, y0, band in pyramid_bands(Whole(), 0, 20_000, block_max):
    ...     levels.setdefault(level, []).append(band)
    >>> all(np.array_equal(np.concatenate(levels[11 - k]), block_max(image, 2**k)) for k in range(12))
    True

    The same levels, read from a file's own pyramid:

    >>> import tempfile, tifffile
    >>> from segval.io import ImageReader
    >>> path = tempfile.mkdtemp() + "/codes.ome.tif"
    >>> with tifffile.TiffWriter(path, ome=True) as tif:
    ...     tif.write(image, tile=(256, 256), subifds=4)
    ...     for k in range(1, 5):
    ...         tif.write(block_max(image, 2**k), tile=(256, 256), subfiletype=1)
    >>> with ImageReader(path) as reader:
    ...     read = list(pyramid_bands(reader, 0, 20_000, block_max, levels=True))
    >>> sorted((level, y0) for level, y0, _ in read) == sorted((level, y0) for level, y0, _ in
    ...     pyramid_bands(Whole(), 0, 20_000, block_max))
    True
    >>> all(np.array_equal(band, levels[level][y0 // TILE] if level > 7 else levels[level][0])
    ...     for level, y0, band in read)
    True
    """
    _, height, width = reader.shape
    top = top_level(width, height)
    coarse = factor_for((height, width), max_pixels)
    steps = coarse.bit_length() - 1  # the finer levels: factors 1, 2, ... coarse / 2
    held = {}  # step: the first band of a pair of that level, waiting for the second
    parts = []  # the preview's scale, band by band (unless given)

    def passing(step, y0, band):  # a band of the level reduced by 2 ** step, starting at row y0
        if step == steps:
            parts.append(band)
            return
        yield top - step, y0, band
        _, level_height = level_shape(width, height, top - step, top)
        if (y0 // TILE) % 2 == 0 and y0 + TILE < level_height:
            held[step] = band
            return
        first = held.pop(step, None)
        pair = band if first is None else np.concatenate([first, band])
        yield from passing(step + 1, (y0 - (0 if first is None else TILE)) // 2, reduce(pair, 2))

    own = [reader.pyramid_level(2**step) for step in range(steps + 1)] if levels else [None]
    if all(level is not None for level in own):  # the file's own levels: read, not reduced
        for step, level in enumerate(own[:-1]):
            _, level_height, level_width = level.shape
            for y0 in range(0, level_height, TILE):
                yield (
                    top - step,
                    y0,
                    level.read(z, y0, min(y0 + TILE, level_height), 0, level_width),
                )
        parts = [own[-1].read_slice(z)] if reduced is None else []
    else:
        for y0 in range(0, height, TILE):
            yield from passing(0, y0, reader.read(z, y0, min(y0 + TILE, height), 0, width))
    if reduced is None:
        reduced = np.concatenate(parts)
    for level in range(top - steps, -1, -1):  # the coarser levels, whole, from the preview's copy
        yield level, 0, reduce(reduced, 2 ** (top - level) // coarse)


def preview_copy(reader, z, tile_size, max_pixels, reduce):
    """Slice ``z`` reduced to at most ``max_pixels`` (the coarse levels of its pyramid)."""
    _, height, width = reader.shape
    return reduced_slice(reader, z, factor_for((height, width), max_pixels), tile_size, reduce)


def write_pyramid(folder, name, width, height, bands, write_tile):
    """Write ``<name>.dzi`` and ``<name>_files/<level>/<column>_<row>.png`` in ``folder`` from
    :func:`pyramid_bands`, each tile with ``write_tile(path, tile)``."""
    (folder / f"{name}.dzi").write_text(dzi_xml(width, height))
    for level, band_y0, band in bands:
        level_folder = folder / f"{name}_files" / str(level)
        level_folder.mkdir(parents=True, exist_ok=True)
        for column, row, x0, x1, y0, y1 in tiles_of(band.shape[1], band.shape[0]):
            tile_row = row + band_y0 // TILE
            write_tile(level_folder / f"{column}_{tile_row}.png", band[y0:y1, x0:x1])


#: Multipliers that gather the indices of 2 (4-bit) or 4 (2-bit) adjacent pixels, read as one
#: little-endian number, into its top byte in PNG's order (leftmost pixel in the high bits); the
#: partial products below that byte never overlap, so nothing carries into it.
_PACK = {4: (np.uint16, 2**12 + 1, 8), 2: (np.uint32, 2**30 + 2**20 + 2**10 + 1, 24)}


def _packed_rows(codes, depth):
    """Rows of ``depth``-bit indices, each preceded by its filter type (none)."""
    height, width = codes.shape
    per_byte = 8 // depth
    if depth == 8:
        packed = codes
    else:
        dtype, multiplier, shift = _PACK[depth]
        padded = np.zeros((height, -(-width // per_byte) * per_byte), np.uint8)
        padded[:, :width] = codes
        little_endian = padded.view(np.dtype(dtype).newbyteorder("<"))
        packed = ((little_endian * dtype(multiplier)) >> shift).astype(np.uint8)
    rows = np.zeros((height, packed.shape[1] + 1), np.uint8)
    rows[:, 1:] = packed
    return rows


def palette_png(codes, palette):
    """A palette PNG (no filter) of a 2-D uint8 array of palette indices.

    ``palette``: ``(red, green, blue, opacity)`` of each index, 0-255.  The encoder is this one
    function (zlib level 1), with 2 bits per pixel where the indices are below 4 (a confusion
    map's codes without outside-ROI pixels), else 4 or 8: a tile of codes compresses to a few
    hundred bytes, some twenty times faster than an RGB tile's PNG.

    >>> import io, PIL.Image
    >>> palette = [(0, 0, 0, 128), (255, 0, 255, 128), (255, 255, 0, 0), (1, 2, 3, 4), (5, 6, 7, 8)]
    >>> for codes in ([[0, 1, 3], [2, 1, 0]], [[0, 1, 4], [2, 1, 3]]):
    ...     picture = PIL.Image.open(io.BytesIO(palette_png(np.array(codes, np.uint8), palette)))
    ...     print(picture.mode, np.asarray(picture).tolist(), picture.convert("RGBA").getpixel((1, 0)))
    P [[0, 1, 3], [2, 1, 0]] (255, 0, 255, 128)
    P [[0, 1, 4], [2, 1, 3]] (255, 0, 255, 128)
    >>> rng = np.random.default_rng(0)  # any width, every bit depth
    >>> tiles = [rng.integers(0, n, (3, w), np.uint8) for n in (2, 4, 5, 16, 17) for w in range(1, 10)]
    >>> all(np.array_equal(np.asarray(PIL.Image.open(io.BytesIO(palette_png(t, palette)))), t)
    ...     for t in tiles)
    True
    """
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    height, width = codes.shape
    highest = int(codes.max())
    depth = 2 if highest < 4 else 4 if highest < 16 else 8
    palette = palette[: 2**depth]  # PLTE holds at most 2 ** depth entries

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, 3, 0, 0, 0)),
            chunk(b"PLTE", bytes(value for entry in palette for value in entry[:3])),
            chunk(b"tRNS", bytes(entry[3] for entry in palette)),
            chunk(b"IDAT", zlib.compress(_packed_rows(codes, depth).tobytes(), 1)),
            chunk(b"IEND", b""),
        ]
    )
