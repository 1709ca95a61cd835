"""Chunk files and their stitching into one tiled, pyramidal OME-TIFF per sample.

A job writes its chunk (whole slices, or a band of whole tile rows) as a tiled TIFF; when slices are
large it also writes their downsampled pyramid levels as SubIFDs, computed from the tiles as they
stream past (level 1) and from the level above (deeper levels), held in memory (a third of the
chunk's pixels) or, for large chunks, in scratch files, so memory stays bounded.  Stitching then only copies compressed tiles, level by level, from the chunk files into the
sample's OME-TIFF: no decoding, no re-encoding, so it runs at disk speed whatever the stack size.
Only when a slice is split into bands (slices larger than the chunk budget) are its pyramid levels
recomputed while stitching.

With ``outputs.format: ome-zarr`` there is no stitching: the same jobs also hand their tiles to a
:class:`BandWriter`, which writes them straight into the sample's OME-Zarr image (see
:mod:`segval.ngff`).
"""

import math
from pathlib import Path
from uuid import NAMESPACE_URL, uuid5

import imagecodecs
import numpy as np
import tifffile

from segval.downsample import REDUCERS
from segval.files import atomic_output, scratch_dir
from segval.io import ImageReader
from segval.ngff import written_plan
from segval.tiling import LEVELS_IN_MEMORY_BYTES

#: Codec of masks and confusion maps, chunks and final files alike (so that stitching copies the
#: compressed tiles instead of re-encoding them): PackBits, the baseline TIFF codec every reader
#: (ImageJ, Fiji/Bio-Formats, napari, QuPath) supports; it shrinks binary masks ~40x at ~1 GP/s
#: (:func:`packbits_tiles`), several times faster than Deflate.
MASK_COMPRESSION = {"compression": "packbits"}
#: Longest PackBits packet: rows are encoded in pieces of this many bytes (see packbits_tiles).
PACKBITS_PIECE = 128
#: Pyramid levels are added (each halving the slice) until the largest side is at most this.
PYRAMID_TOP = 2048


def pyramid_factors(shape, top=None):
    """Downsampling factors of the pyramid levels below full resolution: ``[2, 4, ...]``."""
    top = PYRAMID_TOP if top is None else top
    _, height, width = shape
    factors = []
    while max(height, width) / (2 ** len(factors)) > top:
        factors.append(2 ** (len(factors) + 1))
    return factors


def _stack_shape(slices, height, width):
    return (slices, height, width) if slices > 1 else (height, width)


class _Level:
    """One pyramid level, readable like an image (``read``): kept in a raw scratch file at
    ``path`` (a stitched image's levels grow with the image), or in memory (``path`` None: a chunk's,
    which are a third of the chunk at most, and whose file pages would cost more than the pixels)."""

    def __init__(self, shape, dtype, path=None):
        self.shape, self.dtype = tuple(shape), np.dtype(dtype)
        if path is None:
            self._store = np.empty(self.shape, self.dtype)
        else:
            self._store = np.memmap(path, dtype=self.dtype, mode="w+", shape=self.shape)

    def put(self, z, y0, x0, block):
        self._store[z, y0 : y0 + block.shape[0], x0 : x0 + block.shape[1]] = block

    def read(self, z, y0, y1, x0, x1):
        return self._store[z, y0:y1, x0:x1]

    def tiles(self, tile):
        slices, height, width = self.shape
        for z in range(slices):
            for y0 in range(0, height, tile):
                for x0 in range(0, width, tile):
                    yield np.ascontiguousarray(self._store[z, y0 : y0 + tile, x0 : x0 + tile])


def _halved(source, reducer, tile, path=None):
    """The next pyramid level of ``source`` (an image-like), built block by block."""
    slices, height, width = source.shape
    level = _Level((slices, -(-height // 2), -(-width // 2)), source.dtype, path)
    block = 2 * tile
    for z in range(slices):
        for y0 in range(0, height, block):
            for x0 in range(0, width, block):
                region = source.read(z, y0, min(y0 + block, height), x0, min(x0 + block, width))
                level.put(z, y0 // 2, x0 // 2, reducer(region, 2))
    return level


def packbits_tiles(tiles, tile_size):
    """The PackBits encoding of each tile of a tiled TIFF (edge tiles padded with zeros to
    ``tile_size``, as TIFF wants), each row encoded in pieces of :data:`PACKBITS_PIECE` bytes.

    Any sequence of packets that stays within a row is valid PackBits, so every reader decodes it;
    pieces of 128 bytes (the longest packet) encode masks and confusion codes about twice as fast
    as whole rows (imagecodecs' encoder slows down on long runs), for some 8 % more bytes.

    >>> tile = np.zeros((256, 200), np.uint8); tile[3, 150:] = 255
    >>> data = next(packbits_tiles([tile], 256))
    >>> decoded = np.frombuffer(imagecodecs.packbits_decode(data), np.uint8).reshape(256, 256)
    >>> np.array_equal(decoded[:, :200], tile), int(decoded[:, 200:].max()), len(data)
    (True, 0, 1028)
    """
    for tile in tiles:
        height, width = tile.shape
        if (height, width) != (tile_size, tile_size):
            padded = np.zeros((tile_size, tile_size), tile.dtype)
            padded[:height, :width] = tile
            tile = padded
        rows = np.ascontiguousarray(tile).view(np.uint8).reshape(tile_size, -1)
        if rows.shape[1] % PACKBITS_PIECE == 0:
            rows = rows.reshape(tile_size, -1, PACKBITS_PIECE)
        yield imagecodecs.packbits_encode(rows, axis=-1)


def _encoded(tiles, tile_size, options):
    """``tiles`` as tifffile should get them: PackBits encoded here (see packbits_tiles), else as
    they are (tifffile encodes them, or stores them raw)."""
    if options.get("compression") in ("packbits", tifffile.COMPRESSION.PACKBITS):
        return packbits_tiles(tiles, tile_size)
    return tiles


def _write_levels(tif, first_level, factors, reducer, tile, scratch, options):
    """Write pyramid levels 1.. as SubIFD series (level 1 is given, deeper ones are built, in
    ``scratch`` files or, if None, in memory)."""
    level = first_level
    for index, _ in enumerate(factors):
        if index:
            store = Path(scratch) / f"level{index + 1}.raw" if scratch else None
            level = _halved(level, reducer, tile, store)
        tif.write(
            _encoded(level.tiles(tile), tile, options),
            shape=_stack_shape(*level.shape),
            subfiletype=1,
            **options,
        )


def write_mask_chunk(path, tiles, shape, tile_size, pyramid, zarr_image=None, positions=None):
    """Write a chunk's uint8 tiles (a mask or confusion codes) as a tiled TIFF and, for OME-Zarr
    output, also into the image being built (``positions``: each tile's ``(z, y0, x0)`` there)."""
    if zarr_image:  # this job writes its share of the image too: no stitching copy later
        tiles = BandWriter(zarr_image).passing(tiles, positions)
    write_tiles(path, tiles, shape, np.uint8, tile_size, pyramid=pyramid)


def write_tiles(path, tiles, shape, dtype, tile_size, compress=True, pyramid=None, **kwargs):
    """Write a tiled TIFF, atomically, from an iterator of tiles in slice, row, column order.

    Parameters
    ----------
    path : str or Path
        Output TIFF.
    tiles : iterator of numpy.ndarray
        Tiles of at most ``tile_size`` x ``tile_size`` (edge tiles may be smaller), page by page.
    shape : tuple of int
        ``(slices, height, width)``.
    dtype : numpy dtype
    tile_size : int
        TIFF tile edge (a multiple of 16).
    compress : bool
        Compress with :data:`MASK_COMPRESSION` (for masks); otherwise store raw, which is fastest
        for dense images that barely compress.
    pyramid : {"mean", "max", "confusion"}, optional
        Add downsampled levels (SubIFDs) for slices larger than :data:`PYRAMID_TOP`, reduced this
        way (see :mod:`segval.downsample`).  Only for chunks of whole slices.
    **kwargs
        Passed to :meth:`tifffile.TiffWriter.write` (e.g. ``description``).
    """
    slices, height, width = (int(n) for n in shape)
    dtype = np.dtype(dtype)
    factors = pyramid_factors(shape) if pyramid else []
    options = dict(MASK_COMPRESSION) if compress else {}
    # minisblack + axes: a 3- or 4-page stack must not be taken for an RGB(A) image.
    options.update(photometric="minisblack", tile=(tile_size, tile_size), dtype=dtype, maxworkers=1)
    level_shape = (slices, -(-height // 2), -(-width // 2))
    # Pyramid levels in memory (a third of the chunk) up to LEVELS_IN_MEMORY_BYTES, else in scratch
    # files: a job's memory stays bounded however large its chunk.
    in_memory = math.prod(level_shape) * dtype.itemsize * 4 / 3 <= LEVELS_IN_MEMORY_BYTES
    with atomic_output(path) as tmp, scratch_dir(path) as scratch:
        store = None if in_memory else Path(scratch) / "level1.raw"
        first = _Level(level_shape, dtype, store) if factors else None

        def level0():
            positions = (
                (z, y0, x0)
                for z in range(slices)
                for y0 in range(0, height, tile_size)
                for x0 in range(0, width, tile_size)
            )
            for (z, y0, x0), tile in zip(positions, tiles):
                if first is not None:  # level 1 is reduced from the tiles as they stream past
                    first.put(z, y0 // 2, x0 // 2, REDUCERS[pyramid](tile, 2))
                yield tile

        with tifffile.TiffWriter(
            tmp, bigtiff=slices * height * width * dtype.itemsize > 2**31
        ) as tif:
            tif.write(
                _encoded(level0(), tile_size, options),
                shape=(slices, height, width),
                subifds=len(factors),
                metadata={"axes": "ZYX"},
                **options,
                **kwargs,
            )
            if factors:
                _write_levels(
                    tif,
                    first,
                    factors,
                    REDUCERS[pyramid],
                    tile_size,
                    None if in_memory else scratch,
                    options,
                )


class ChunkSet:
    """The chunk files of one sample read as one image (e.g. to stitch them or read across them).

    Parameters
    ----------
    paths : list of str
        One TIFF per chunk of ``plan``, in the plan's chunk order.
    plan : segval.tiling.Plan
        The sample's plan: which slices and rows each chunk holds.
    """

    def __init__(self, paths, plan):
        if len(paths) != len(plan.chunks):
            raise ValueError(f"{len(paths)} chunk files for {len(plan.chunks)} chunks")
        self.plan = plan
        self.shape = plan.shape
        self._paths = list(paths)
        self._readers = {}
        self._position = {chunk.id: position for position, chunk in enumerate(plan.chunks)}

    def _reader(self, index):
        if index not in self._readers:
            if len(self._readers) >= 4:  # keep few files open: chunks are read in order
                self._readers.pop(next(iter(self._readers))).close()
            self._readers[index] = ImageReader(self._paths[index])
        return self._readers[index]

    def read(self, z, y0, y1, x0, x1):
        """Pixels ``[y0:y1, x0:x1]`` of slice ``z``, from whichever chunks hold them."""
        parts = []
        for chunk in self.plan.chunks:
            if chunk.z0 <= z < chunk.z1 and chunk.y0 < y1 and y0 < chunk.y1:
                ya, yb = max(y0, chunk.y0), min(y1, chunk.y1)
                reader = self._reader(self._position[chunk.id])
                parts.append(reader.read(z - chunk.z0, ya - chunk.y0, yb - chunk.y0, x0, x1))
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)

    @property
    def dtype(self):
        return self._reader(0).dtype

    def close(self):
        for reader in self._readers.values():
            reader.close()
        self._readers.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _encoded_tiles(chunk_paths, plan, level):
    """The compressed tile bytes of pyramid ``level`` (0 = full resolution) of the stitched image,
    page by page, copied from the chunk files: a slice's tiles in row-major order are its chunks'
    tiles one chunk after the other (chunks hold whole slices or bands of whole tile rows)."""
    for z in range(plan.shape[0]):
        for position, chunk in enumerate(plan.chunks):
            if chunk.z0 <= z < chunk.z1:
                with tifffile.TiffFile(chunk_paths[position]) as tif:
                    page = tif.pages[z - chunk.z0]
                    if level:
                        page = page.pages[level - 1]
                    handle = tif.filehandle
                    for offset, count in zip(page.dataoffsets, page.databytecounts):
                        handle.seek(offset)
                        yield handle.read(count)


def _chunk_encoding(chunk_paths, tile_size):
    """Dtype, compression and pyramid depth of the chunk files, checked to be uniform."""
    encodings = set()
    for path in chunk_paths:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages[0]
            if (page.tilelength, page.tilewidth) != (tile_size, tile_size):
                raise ValueError(
                    f"{path}: tiles {page.tilelength}x{page.tilewidth}, expected {tile_size}"
                )
            encodings.add((page.dtype.str, int(page.compression), len(page.subifds or ())))
    if len(encodings) != 1:
        raise ValueError(
            f"chunk files differ in dtype, compression or pyramid: {sorted(encodings)}"
        )
    dtype, compression, levels = encodings.pop()
    return np.dtype(dtype), compression, levels


def palette(colours, ignored=(128, 128, 128)):
    """TIFF colour map (3 x 256 uint16) for confusion codes (0 TN, 1 FP, 2 FN, 3 TP, 4 outside the
    ROI) in the overlay's colours, so that viewers (Fiji, napari) show a confusion map in colour.

    >>> cmap = palette({"tn": [0, 0, 0], "fp": [255, 0, 255], "fn": [255, 255, 0], "tp": [0, 255, 255]})
    >>> cmap.shape, cmap[:, 1].tolist(), cmap[:, 3].tolist()
    ((3, 256), [65535, 0, 65535], [0, 65535, 65535])
    """
    cmap = np.zeros((3, 256), np.uint16)
    for code, rgb in enumerate(
        (colours["tn"], colours["fp"], colours["fn"], colours["tp"], ignored)
    ):
        cmap[:, code] = np.asarray(rgb, np.uint16) * 257
    return cmap


def write_stitched(
    path, chunk_paths, plan, reduce="mean", description=None, pixel_size=None, colormap=None
):
    """Stitch a sample's chunk files into one tiled OME-TIFF, with a pyramid when it is large.

    Full resolution and, when the chunks carry them, the pyramid levels are stitched by copying the
    chunks' compressed tiles; otherwise (slices split into bands) each level halves the previous
    one with ``reduce``, read block by block, so memory stays within a few tiles.

    Parameters
    ----------
    path : str or Path
        Output, ending in ``.ome.tif``.
    chunk_paths : list of str
        The chunk files (written by :func:`write_tiles` with the plan's tile size), in chunk order.
    plan : segval.tiling.Plan
    reduce : {"mean", "max", "confusion"}
        How pyramid levels summarise 2 x 2 blocks (see :mod:`segval.downsample`).
    description : str, optional
        Stored in the OME metadata as the image name.
    pixel_size : (float, float), optional
        ``(y, x)`` physical pixel size, stored as OME ``PhysicalSizeY`` / ``PhysicalSizeX`` (in the
        unit of the sheet's ``pixel_size``; OME reads it as µm).
    colormap : numpy.ndarray, optional
        A TIFF palette (see :func:`palette`): the image is written with ``photometric="palette"``.
    """
    slices, height, width = plan.shape
    tile = plan.tile_size
    dtype, compression, chunk_levels = _chunk_encoding(chunk_paths, tile)
    factors = pyramid_factors(plan.shape)
    name = description or Path(path).name
    # A name-based UUID instead of tifffile's time-based one: same inputs, byte-identical file.
    uuid = uuid5(NAMESPACE_URL, f"segval:{Path(path).name}:{name}:{plan.shape}")
    metadata = {"axes": "ZYX" if slices > 1 else "YX", "Name": name, "UUID": f"urn:uuid:{uuid}"}
    if pixel_size is not None:
        metadata.update(PhysicalSizeY=float(pixel_size[0]), PhysicalSizeX=float(pixel_size[-1]))
    codec = {} if compression == 1 else {"compression": compression}
    options = dict(codec, tile=(tile, tile), dtype=dtype, photometric="minisblack", maxworkers=1)
    if colormap is not None:
        options.update(photometric="palette", colormap=colormap)
    copy_levels = chunk_levels == len(factors) and all(
        c.y0 == 0 and c.y1 == height for c in plan.chunks
    )
    big = slices * height * width * dtype.itemsize > 2**31
    with atomic_output(path) as tmp, scratch_dir(path) as scratch:
        with tifffile.TiffWriter(tmp, bigtiff=big, ome=True) as tif:
            shape = _stack_shape(slices, height, width)
            tif.write(
                _encoded_tiles(chunk_paths, plan, 0),
                shape=shape,
                subifds=len(factors),
                metadata=metadata,
                **options,
            )
            if copy_levels:
                for level, factor in enumerate(factors, start=1):
                    reduced = _stack_shape(slices, -(-height // factor), -(-width // factor))
                    tif.write(
                        _encoded_tiles(chunk_paths, plan, level),
                        shape=reduced,
                        subfiletype=1,
                        **options,
                    )
            elif factors:
                with ChunkSet(chunk_paths, plan) as full:
                    first = _halved(full, REDUCERS[reduce], tile, Path(scratch) / "level1.raw")
                    _write_levels(tif, first, factors, REDUCERS[reduce], tile, scratch, options)


class BandWriter:
    """Write tiles (in slice, row, column order) into an OME-Zarr image made by
    :func:`segval.ngff.create`, band by band (with ``outputs.format: ome-zarr``: the chunk jobs write
    the final image in parallel instead of chunk files being stitched).

    A band is one tile row of one slice, full width; when its last tile arrives it is written at
    full resolution and reduced into every pyramid level.  Bands must start on a tile row (chunk
    jobs hold whole tile rows), so every Zarr chunk is written by one job, whole, once.

    Parameters
    ----------
    path : str or Path
        The folder made by :func:`segval.ngff.create`.
    """

    def __init__(self, path):
        import zarr  # only with OME-Zarr output: 0.2 s less start-up for every other job

        self.path = str(path)
        self._plan = written_plan(path)
        self._reducer = REDUCERS[self._plan["reduce"]]
        group = zarr.open_group(self.path, mode="r+")
        self._levels = [group[str(level)] for level in range(len(self._plan["factors"]) + 1)]
        self._band = None  # [z, y0, array being filled]

    def put(self, z, y0, x0, tile):
        """Take the tile at ``[z, y0:, x0:]``; write its band once the band's last tile is in."""
        _, _, width = self._plan["shape"]
        tile = np.asarray(tile)
        if x0 == 0:
            if self._band is not None:
                raise ValueError(f"band z={self._band[0]} y={self._band[1]} left incomplete")
            if y0 % self._plan["tile"]:
                raise ValueError(
                    f"band at row {y0} does not start on a tile row of {self._plan['tile']}"
                )
            self._band = [z, y0, np.zeros((tile.shape[0], width), tile.dtype)]
        band_z, band_y0, band = self._band
        if (z, y0) != (band_z, band_y0):
            raise ValueError(f"tile z={z} y={y0} arrived inside band z={band_z} y={band_y0}")
        band[:, x0 : x0 + tile.shape[1]] = tile
        if x0 + tile.shape[1] == width:
            self._write(band_z, band_y0, band)
            self._band = None

    def passing(self, tiles, positions):
        """Yield ``tiles`` unchanged, putting each at its ``(z, y0, x0)`` of ``positions`` on the way
        (to write the Zarr image while the chunk's TIFF is written from the same tiles)."""
        for tile, (z, y0, x0) in zip(tiles, positions):
            self.put(z, y0, x0, tile)
            yield tile
        self.close()

    def close(self):
        if self._band is not None:
            raise ValueError(f"band z={self._band[0]} y={self._band[1]} left incomplete")

    def _write(self, z, y0, band):
        stack = self._plan["shape"][0] > 1
        for level, factor in enumerate([1] + self._plan["factors"]):
            block = band if factor == 1 else self._reducer(band, factor)
            top = y0 // factor
            region = (
                (z, slice(top, top + block.shape[0]))
                if stack
                else (slice(top, top + block.shape[0]),)
            )
            self._levels[level][region] = block
