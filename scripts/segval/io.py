"""Reading images by region, and writing outputs completely or not at all.

segval sees every image as a stack of 2-D slices, shape ``(slices, height, width)``: a PNG is one
slice, a multi-page TIFF or a folder of per-slice files is many.  :class:`ImageReader` reads any
rectangle of any slice without decoding more than it must:

- uncompressed TIFF pages are memory-mapped, so a region costs only its own bytes;
- compressed tiled or striped TIFF pages decode only the tiles/strips that meet the region (the last
  few are cached, so reading a row of tiles decodes each strip once);
- PNG, JPEG, BMP and other raster formats cannot be read partially: the slice is decoded whole (use
  TIFF for images too large for that);
- OME-Zarr images and plain Zarr arrays (:mod:`segval.ngff`) are read at full resolution, decoding
  only the Zarr chunks that meet the region; axes come from the metadata (``z`` = slices, ``c`` =
  channels, ``t`` of size 1).

Colour images need a ``channel`` (0 = red, 1 = green, 2 = blue for RGB).  Writers go through
:func:`segval.files.atomic_output`, which writes beside the target and renames, so an interrupted
step never leaves a half-written file under the final name.  Tiled chunk files and the stitched
OME-TIFF outputs are written by :mod:`segval.stitching`.
"""

import contextlib
import logging
import os
import re
import struct
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import tifffile

from segval import ngff
from segval.errors import SegvalError
from segval.files import atomic_output

TIFF_SUFFIXES = (".tif", ".tiff", ".btf", ".tf8", ".tf2")
RASTER_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".ppm", ".pbm", ".webp")
SUPPORTED_SUFFIXES = TIFF_SUFFIXES + RASTER_SUFFIXES
SUPPORTED_DTYPES = ("bool", "uint8", "uint16", "int8", "int16", "float32", "float64")

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG colour type -> channels: palette images (3) are read as their palette indices, gray + alpha
# (4) as 0 gray, 1 alpha.
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_SEGMENT_CACHE_BYTES = 256 * 2**20


@dataclass(frozen=True)
class ImageInfo:
    """What segval needs to know about an image before reading its pixels.

    Attributes
    ----------
    path : str
        The file or folder.
    shape : tuple of int
        ``(slices, height, width)``; a 2-D image has one slice.
    dtype : str
        Numpy dtype name of the pixels.
    channels : int
        Samples per pixel (1 = grayscale, 3 = RGB, ...).
    kind : str
        ``"tiff"``, ``"raster"`` (PNG, JPEG, ...), ``"folder"`` (one file per slice) or ``"zarr"``
        (OME-Zarr image or Zarr array).
    pixel_size : tuple of float, optional
        ``(y, x)`` physical pixel size, where the file's metadata gives one (OME-Zarr).
    unit : str, optional
        Its unit (``"micrometer"``), where the metadata gives one.
    """

    path: str
    shape: tuple
    dtype: str
    channels: int
    kind: str
    pixel_size: tuple = None
    unit: str = None

    @property
    def is_stack(self):
        return self.shape[0] > 1

    def to_dict(self):
        info = {
            "path": self.path,
            "shape": list(self.shape),
            "dtype": self.dtype,
            "channels": self.channels,
            "kind": self.kind,
        }
        if self.pixel_size is not None:  # only OME-Zarr metadata gives one
            info.update(pixel_size=list(self.pixel_size), unit=self.unit)
        return info


def natural_key(name):
    """Sort key that orders ``z2.png`` before ``z10.png``."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", str(name))]


def list_slice_files(folder):
    """The image files of a folder-of-slices, in natural order."""
    folder = Path(folder)
    files = sorted(
        (p for p in folder.iterdir() if p.is_file() and _suffix(p) in SUPPORTED_SUFFIXES),
        key=lambda p: natural_key(p.name),
    )
    if not files:
        raise SegvalError(
            "folder contains no image files",
            folder,
            f"put one image per slice in it (suffixes: {', '.join(SUPPORTED_SUFFIXES)}), or give an "
            "OME-Zarr image or Zarr array folder (with zarr.json, .zarray or .zgroup)",
        )
    return files


def _suffix(path):
    return Path(path).suffix.lower()


def _check_exists(path):
    if not os.path.exists(path):
        raise SegvalError("file not found", path, "check the path in the sample sheet")


def read_info(path):
    """Read an image's geometry and pixel type without decoding its pixels where possible.

    Parameters
    ----------
    path : str or Path
        A TIFF (2-D, multi-page or BigTIFF), a raster image (PNG, JPEG, ...) or a folder of slices.

    Returns
    -------
    ImageInfo
    """
    path = str(path)
    _check_exists(path)
    if ngff.is_zarr(path):
        return _ZarrLayout(path).info
    if os.path.isdir(path):
        files = list_slice_files(path)
        first = read_info(files[0])
        if first.is_stack:
            raise SegvalError(
                f"{files[0].name} has {first.shape[0]} slices; a folder must hold one 2-D image per "
                "slice",
                path,
                "give the multi-page TIFF itself in the sample sheet",
            )
        for other in files[1:]:
            info = read_info(other)
            if (info.shape, info.dtype, info.channels) != (
                first.shape,
                first.dtype,
                first.channels,
            ):
                raise SegvalError(
                    f"slice {other.name} is {info.shape[1:]} {info.dtype} with {info.channels} "
                    f"channel(s) but {files[0].name} is {first.shape[1:]} {first.dtype} with "
                    f"{first.channels}",
                    path,
                    "every slice of a stack must have the same size and pixel type",
                )
        return ImageInfo(
            path, (len(files),) + first.shape[1:], first.dtype, first.channels, "folder"
        )
    suffix = _suffix(path)
    if suffix in TIFF_SUFFIXES:
        with _open_tiff(path) as tif:
            layout = _tiff_layout(tif, path)
            return ImageInfo(path, layout.shape, layout.dtype, layout.channels, "tiff")
    if suffix == ".png":
        return _png_info(path)
    if suffix in RASTER_SUFFIXES:
        return _info_from_array(path, _decode_raster(path))
    raise SegvalError(
        f"unsupported file type {suffix!r}",
        path,
        f"convert it to TIFF or PNG (supported: {', '.join(SUPPORTED_SUFFIXES)})",
    )


def check_complete(path):
    """Raise a :class:`SegvalError` if an image file (or a folder's slice file) is cut short.

    Cheap, without decoding pixels: a TIFF's pages must have their data inside the file; a PNG must
    end with its IEND chunk, a JPEG with its end-of-image marker (else it is decoded, and must
    decode).  A copy or download interrupted midway is then caught by the first job instead of by
    the step that first decodes the missing part.  A Zarr image is many chunk files, each checked
    by its codec when it is read: nothing to check here.
    """
    path = str(path)
    if ngff.is_zarr(path):
        return
    if os.path.isdir(path):
        for file in list_slice_files(path):
            check_complete(file)
        return
    size = os.path.getsize(path)
    suffix = _suffix(path)
    fix = "copy or export the file again (it is cut short)"
    if suffix in TIFF_SUFFIXES:
        with _open_tiff(path) as tif:
            try:
                for index, page in enumerate(tif.pages):
                    ends = [o + n for o, n in zip(page.dataoffsets, page.databytecounts) if n]
                    if ends and max(ends) > size:
                        raise SegvalError(
                            f"the file is truncated: page {index} needs {max(ends)} bytes but the file has {size}",
                            path,
                            fix,
                        )
            except (IndexError, ValueError, OSError, struct.error, tifffile.TiffFileError) as error:
                raise SegvalError(
                    f"cannot read as TIFF ({error})", path, "re-export the image"
                ) from None
        return
    trailers = {".png": b"IEND\xaeB`\x82", ".jpg": b"\xff\xd9", ".jpeg": b"\xff\xd9"}
    if suffix in trailers:
        with open(path, "rb") as handle:
            handle.seek(max(0, size - 64))
            tail = handle.read()
        if trailers[suffix] not in tail:  # no end marker near the end: decode to be sure
            try:
                _decode_raster(path)
            except SegvalError:
                raise SegvalError(
                    f"the file is truncated: no {suffix[1:].upper()} end marker", path, fix
                ) from None


def _info_from_array(path, array):
    channels = array.shape[2] if array.ndim == 3 else 1
    return ImageInfo(
        path, (1,) + array.shape[:2], _dtype_name(array.dtype, path), channels, "raster"
    )


def _dtype_name(dtype, path):
    name = np.dtype(dtype).name
    if name not in SUPPORTED_DTYPES:
        raise SegvalError(
            f"pixel type {name} is not supported",
            path,
            f"convert the image to one of {', '.join(SUPPORTED_DTYPES)}",
        )
    return name


def _png_info(path):
    with open(path, "rb") as handle:
        head = handle.read(33)
    if len(head) < 33 or head[:8] != _PNG_SIGNATURE or head[12:16] != b"IHDR":
        raise SegvalError("not a valid PNG file (bad header)", path, "re-export the image")
    width, height, bit_depth, colour_type = struct.unpack(">IIBB", head[16:26])
    if colour_type not in _PNG_CHANNELS:
        raise SegvalError(f"invalid PNG colour type {colour_type}", path, "re-export the image")
    dtype = "uint16" if bit_depth == 16 and colour_type != 3 else "uint8"
    return ImageInfo(path, (1, height, width), dtype, _PNG_CHANNELS[colour_type], "raster")


def _is_palette(path):
    suffix = _suffix(path)
    if suffix == ".gif":
        return True
    if suffix == ".png":
        with open(path, "rb") as handle:
            head = handle.read(26)
        return len(head) == 26 and head[25] == 3
    return False


def _decode_palette(path):
    """Palette images (GIF, palette PNG) as their palette indices: masks drawn with a palette keep
    their labels (0/1, or one index per class) whatever colours the palette gives them."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            if image.mode not in ("P", "L", "1"):
                return np.asarray(image.convert("RGB"))
            return np.asarray(image if image.mode != "1" else image.convert("L"))
    except OSError as error:
        raise SegvalError(f"cannot decode the image ({error})", path, "re-export it") from None


def _decode_raster(path):
    if _is_palette(path):
        return _decode_palette(path)
    array = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if array is None:
        raise SegvalError("cannot decode the image (corrupt or unsupported)", path, "re-export it")
    if array.ndim == 3:
        if _suffix(path) == ".png" and _png_info(path).channels == 2:
            return array[:, :, [0, 3]]  # OpenCV expands gray + alpha to BGRA: keep gray, alpha
        # OpenCV decodes colour as BGR(A); segval numbers channels as stored, RGB(A).
        array = array[:, :, [2, 1, 0, 3][: array.shape[2]]] if array.shape[2] in (3, 4) else array
    return array


@contextlib.contextmanager
def _open_tiff(path):
    try:
        tif = tifffile.TiffFile(path)
    except (tifffile.TiffFileError, ValueError, OSError, IndexError, struct.error) as error:
        raise SegvalError(f"cannot read as TIFF ({error})", path, "re-export the image") from None
    try:
        yield tif
    finally:
        tif.close()


def _tiff_layout(tif, path, level=0):
    """The layout of a TIFF's first series (or of its pyramid ``level``); a file that breaks while
    being parsed is reported."""
    try:
        return _TiffLayout(tif, path, level)
    except SegvalError:
        raise
    except (IndexError, ValueError, OSError, struct.error, tifffile.TiffFileError) as error:
        raise SegvalError(f"cannot read as TIFF ({error})", path, "re-export the image") from None


class _TiffLayout:
    """Map segval's (slice, channel) to the pages of a TIFF's first series."""

    def __init__(self, tif, path, level=0):
        if not tif.series:
            raise SegvalError("the TIFF holds no image", path, "re-export the image")
        series = tif.series[0].levels[level] if level else tif.series[0]
        axes, shape = series.axes, tuple(series.shape)
        separate = series.keyframe.planarconfig == 2 and axes.endswith("SYX")
        if axes.endswith("YXS") or separate:  # colour samples stored per pixel, or as planes
            self.samples, plane_axes = (shape[-3] if separate else shape[-1]), axes[:-3]
        elif axes.endswith("YX"):
            self.samples, plane_axes = 1, axes[:-2]
        else:
            raise SegvalError(
                f"unsupported TIFF layout (axes {axes!r}, shape {shape})",
                path,
                "save the image as 2-D pages (axes YX or YXS)",
            )
        self.series = series
        self.height, self.width = shape[-2:] if not axes.endswith("YXS") else shape[-3:-1]
        self.plane_shape = shape[: len(plane_axes)]
        self.channel_axis = plane_axes.find("C") if "C" in plane_axes else None
        planes = int(np.prod(self.plane_shape)) if self.plane_shape else 1
        n_channels_as_planes = shape[self.channel_axis] if self.channel_axis is not None else 1
        self.slices = planes // n_channels_as_planes
        self.channels = self.samples * n_channels_as_planes
        self.shape = (self.slices, self.height, self.width)
        self.dtype = _dtype_name(series.dtype, path)

    def page_index(self, z, channel):
        """Index into ``series.pages`` of slice ``z`` (and ``channel`` when channels are pages)."""
        if self.channel_axis is None:
            return z
        z_shape = [n for i, n in enumerate(self.plane_shape) if i != self.channel_axis]
        z_index = list(np.unravel_index(z, z_shape)) if z_shape else []
        z_index.insert(self.channel_axis, channel)
        return int(np.ravel_multi_index(z_index, self.plane_shape))


class _ZarrLayout:
    """Map segval's (slice, channel, region) to an OME-Zarr image's (or Zarr array's) level 0."""

    def __init__(self, path):
        import zarr  # only where a Zarr image is read: 0.2 s less start-up for every other job

        image = ngff.describe(path)
        try:
            self.array = zarr.open_array(image.array, mode="r")
        except Exception as error:  # zarr raises many types for a broken store; all mean the same
            raise SegvalError(
                f"cannot open as Zarr ({type(error).__name__}: {error})",
                path,
                "re-export the image",
            ) from None
        sizes = dict(zip(image.axes, self.array.shape))
        for axis, size in sizes.items():
            if axis == "t" and size > 1:
                raise SegvalError(
                    f"the image has {size} time points; segval segments one",
                    path,
                    "save the time point to analyse as its own OME-Zarr image (or one sample per time point)",
                )
            if axis not in ngff.AXES and size > 1:
                raise SegvalError(
                    f"axis {axis!r} (size {size}) is not one of t, c, z, y, x",
                    path,
                    "save the image with axes among t, c, z, y, x (one image per value of the other axis)",
                )
        if "y" not in sizes or "x" not in sizes:
            raise SegvalError(
                f"the image has no y and x axes (axes {''.join(image.axes)})",
                path,
                "re-export the image",
            )
        self.axes = image.axes
        # Regions come out in the array's axis order: x before y means they are transposed back.
        self.transposed = image.axes.index("x") < image.axes.index("y")
        shape = (sizes.get("z", 1), sizes["y"], sizes["x"])
        pixel_size = image.pixel_size()
        self.info = ImageInfo(
            path,
            shape,
            _dtype_name(self.array.dtype, path),
            sizes.get("c", 1),
            "zarr",
            pixel_size,
            image.unit() if pixel_size else None,
        )

        self._chunks = OrderedDict()  # decoded Zarr chunks, most recently used last
        self._chunk_bytes = 0
        # Three rows of chunks across the slice (a tile row's, and its halo's above and below: the
        # next tile row then finds its chunks), at most 256 MB: memory grows with the slice width,
        # like a band of tiles, not with the image.
        size = dict(zip(self.axes, self.array.chunks))
        chunk_bytes = int(np.prod(self.array.chunks)) * self.array.dtype.itemsize
        self._cache_bytes = min(
            _SEGMENT_CACHE_BYTES, (3 * -(-shape[2] // size["x"]) + 3) * chunk_bytes
        )

    def read(self, z, channel, y0, y1, x0, x1):
        """Region ``[y0:y1, x0:x1]`` of slice ``z`` assembled from whole decoded chunks, which are
        kept a while (three rows of chunks): the halos of neighbouring tiles then cost no second
        decoding, and chunks larger than a tile are decoded once for all its tiles."""
        point = {"t": 0, "c": channel or 0, "z": z}
        size = dict(zip(self.axes, self.array.chunks))
        out = np.empty((y1 - y0, x1 - x0), self.array.dtype.newbyteorder("="))
        for cy in range(y0 // size["y"], -(-y1 // size["y"])):
            for cx in range(x0 // size["x"], -(-x1 // size["x"])):
                origin = {axis: point.get(axis, 0) // size[axis] * size[axis] for axis in self.axes}
                origin.update(y=cy * size["y"], x=cx * size["x"])
                chunk = self._chunk(tuple(origin[axis] for axis in self.axes))
                ya, yb = max(y0, origin["y"]), min(y1, origin["y"] + size["y"])
                xa, xb = max(x0, origin["x"]), min(x1, origin["x"] + size["x"])
                where = {axis: point.get(axis, 0) - origin[axis] for axis in self.axes}
                where.update(
                    y=slice(ya - origin["y"], yb - origin["y"]),
                    x=slice(xa - origin["x"], xb - origin["x"]),
                )
                piece = chunk[tuple(where[axis] for axis in self.axes)]
                out[ya - y0 : yb - y0, xa - x0 : xb - x0] = piece.T if self.transposed else piece
        return out

    def _chunk(self, origin):
        if origin in self._chunks:
            self._chunks.move_to_end(origin)
            return self._chunks[origin]
        region = tuple(slice(start, start + size) for start, size in zip(origin, self.array.chunks))
        chunk = self.array[region]  # exactly one chunk: zarr decodes it alone
        self._chunks[origin] = chunk
        self._chunk_bytes += chunk.nbytes
        while self._chunk_bytes > self._cache_bytes and len(self._chunks) > 1:
            _, evicted = self._chunks.popitem(last=False)
            self._chunk_bytes -= evicted.nbytes
        return chunk


class ImageReader:
    """Read rectangles of an image's slices, one channel, decoding as little as possible.

    Parameters
    ----------
    path : str or Path
        Image file or folder of slices (see :func:`read_info`).
    channel : int, optional
        Channel to read from a multi-channel image.  Required when the image has more than one
        channel; must be left unset (or 0) for grayscale images.

    Examples
    --------
    >>> with ImageReader("big.tif") as reader:                     # doctest: +SKIP
    ...     tile = reader.read(z=0, y0=0, y1=1024, x0=2048, x1=3072)
    """

    def __init__(self, path, channel=None):
        self.path = str(path)
        self.info = read_info(self.path)
        self.channel = _check_channel(self.info, channel)
        self._tif = None
        self._layout = None
        self._zarr = _ZarrLayout(self.path) if self.info.kind == "zarr" else None
        self._files = list_slice_files(self.path) if self.info.kind == "folder" else None
        self._raster = None  # (z, decoded 2-D array) of the last raster slice
        self._segments = OrderedDict()
        self._segment_bytes = 0
        self._levels = {}  # factor: reader of that pyramid level (see pyramid_level)
        if self.info.kind == "tiff":
            self._tif = tifffile.TiffFile(self.path)
            self._layout = _tiff_layout(self._tif, self.path)

    @property
    def shape(self):
        return self._layout.shape if self._layout else self.info.shape

    def pyramid_level(self, factor):
        """A reader of this TIFF's pyramid level reduced by ``factor``, or None without one.

        The level is the SubIFD level whose slices are ``ceil(height / factor) x ceil(width /
        factor)``, as segval writes them (:mod:`segval.stitching`).  Only for files whose levels
        were reduced the way the caller needs: segval's masks (``max``) and confusion maps.

        >>> import tempfile
        >>> path = tempfile.mkdtemp() + "/mask.ome.tif"
        >>> mask = np.zeros((600, 300), np.uint8); mask[401, 7] = 255
        >>> with tifffile.TiffWriter(path, ome=True) as tif:
        ...     tif.write(mask, tile=(256, 256), subifds=1)
        ...     tif.write(mask.reshape(300, 2, 150, 2).max(axis=(1, 3)), tile=(256, 256), subfiletype=1)
        >>> with ImageReader(path) as reader:
        ...     level = reader.pyramid_level(2)
        ...     level.shape, np.argwhere(level.read_slice(0)).tolist(), reader.pyramid_level(4)
        ((1, 300, 150), [[200, 3]], None)
        """
        if factor == 1:
            return self
        if factor not in self._levels:
            self._levels[factor] = None
            if self._layout is not None and self._layout.samples == 1 and self.channel is None:
                slices, height, width = self.shape
                wanted = (slices, -(-height // factor), -(-width // factor))
                for index in range(1, len(self._layout.series.levels)):
                    layout = _tiff_layout(self._tif, self.path, index)
                    if layout.shape == wanted and layout.dtype == self._layout.dtype:
                        self._levels[factor] = _LevelReader(self, layout)
                        break
        return self._levels[factor]

    @property
    def dtype(self):
        return np.dtype(self.info.dtype)

    def close(self):
        if self._tif is not None:
            self._tif.close()
            self._tif = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def read(self, z, y0, y1, x0, x1):
        """Pixels ``[y0:y1, x0:x1]`` of slice ``z`` as a 2-D array (a copy or a read-only view)."""
        slices, height, width = self.shape
        if not (0 <= z < slices and 0 <= y0 < y1 <= height and 0 <= x0 < x1 <= width):
            raise IndexError(f"region z={z} y={y0}:{y1} x={x0}:{x1} outside {self.shape}")
        try:
            if self.info.kind == "tiff":
                return self._read_tiff(z, y0, y1, x0, x1)
            if self._zarr is not None:
                return self._zarr.read(z, self.channel, y0, y1, x0, x1)
            return self._raster_slice(z)[y0:y1, x0:x1]
        except SegvalError:
            raise
        except (
            ValueError,
            OSError,
            RuntimeError,
            struct.error,
            tifffile.TiffFileError,
        ) as error:  # zarr's are ValueErrors
            # Truncated data, a corrupt compressed tile, a codec failing: the file, not the code.
            raise SegvalError(
                f"cannot read slice {z} rows {y0}:{y1} ({type(error).__name__}: {error}); the file "
                "is probably truncated or corrupt",
                self.path,
                "re-export or re-copy the image",
            ) from None

    def read_slice(self, z):
        """The whole slice ``z`` (2-D)."""
        _, height, width = self.shape
        return self.read(z, 0, height, 0, width)

    def _select_channel(self, array):
        if array.ndim == 3:
            return array[:, :, self.channel or 0]
        return array

    def _raster_slice(self, z):
        if self._raster is None or self._raster[0] != z:
            path = self._files[z] if self._files is not None else self.path
            if _suffix(path) in TIFF_SUFFIXES:
                array = tifffile.imread(path)
            else:
                array = _decode_raster(path)
            self._raster = (z, self._select_channel(array))
        return self._raster[1]

    def _read_tiff(self, z, y0, y1, x0, x1):
        layout = self._layout
        plane_channel = 0
        sample = 0
        if layout.channel_axis is not None:
            plane_channel, sample = divmod(self.channel or 0, layout.samples)
        else:
            sample = self.channel or 0
        page = layout.series.pages[layout.page_index(z, plane_channel)]
        key = page.keyframe
        if page.is_memmappable:
            separate = key.planarconfig == 2 and layout.samples > 1
            shape = (layout.height, layout.width, layout.samples)
            array = np.memmap(
                self._tif.filehandle.path,
                dtype=key.dtype.newbyteorder(self._tif.byteorder),
                mode="r",
                offset=page.dataoffsets[0],
                shape=(shape[2],) + shape[:2] if separate else shape,
            )
            region = array[sample, y0:y1, x0:x1] if separate else array[y0:y1, x0:x1, sample]
            # Native byte order, so that OpenCV and numpy's fast paths accept it.
            return np.asarray(
                region.astype(key.dtype.newbyteorder("="), copy=not region.dtype.isnative)
            )
        return self._read_segments(page, key, y0, y1, x0, x1, sample)

    def _read_segments(self, page, key, y0, y1, x0, x1, sample):
        layout = self._layout
        separate = key.planarconfig == 2 and layout.samples > 1
        out = np.empty((y1 - y0, x1 - x0), dtype=key.dtype)
        if key.is_tiled:
            seg_h, seg_w = key.tilelength, key.tilewidth
        else:
            seg_h, seg_w = key.rowsperstrip, layout.width
        segs_y = -(-layout.height // seg_h)
        segs_x = -(-layout.width // seg_w)
        plane_offset = sample * segs_y * segs_x if separate else 0
        for sy in range(y0 // seg_h, -(-y1 // seg_h)):
            for sx in range(x0 // seg_w, -(-x1 // seg_w)):
                index = plane_offset + sy * segs_x + sx
                segment = self._segment(page, key, index)
                seg = segment[:, :, 0 if separate else sample]
                top, left = sy * seg_h, sx * seg_w
                ya, yb = max(y0, top), min(y1, top + seg.shape[0])
                xa, xb = max(x0, left), min(x1, left + seg.shape[1])
                out[ya - y0 : yb - y0, xa - x0 : xb - x0] = seg[
                    ya - top : yb - top, xa - left : xb - left
                ]
        return out

    def _segment(self, page, key, index):
        cache_key = (id(page), page.dataoffsets[index])
        if cache_key in self._segments:
            self._segments.move_to_end(cache_key)
            return self._segments[cache_key]
        handle = self._tif.filehandle
        with handle.lock:
            handle.seek(page.dataoffsets[index])
            data = handle.read(page.databytecounts[index])
        kwargs = {"_fullsize": key.is_tiled}
        if key.compression in (6, 7, 34892, 33007):  # JPEG variants need their tables
            kwargs.update(jpegtables=page.jpegtables, jpegheader=key.jpegheader)
        decoded, _, shape = key.decode(data or None, index, **kwargs)
        if decoded is None:  # an empty (sparse) segment reads as zeros
            decoded = np.zeros(shape, key.dtype)
        segment = decoded.reshape(decoded.shape[-3:])
        self._segments[cache_key] = segment
        self._segment_bytes += segment.nbytes
        while self._segment_bytes > _SEGMENT_CACHE_BYTES and len(self._segments) > 1:
            _, evicted = self._segments.popitem(last=False)
            self._segment_bytes -= evicted.nbytes
        return segment


class _LevelReader(ImageReader):
    """An :class:`ImageReader` of one pyramid level of an open TIFF (see ``pyramid_level``): it
    shares the file, and reads the level's pages."""

    def __init__(self, parent, layout):
        self.__dict__.update(parent.__dict__)  # the open file, its path and info
        self._layout, self._segments, self._segment_bytes, self._levels = (
            layout,
            OrderedDict(),
            0,
            {},
        )

    def close(self):  # the file is its parent's
        pass


def _check_channel(info, channel):
    if info.channels == 1:
        if channel not in (None, 0):
            raise SegvalError(
                f"channel {channel} requested but the image has one channel",
                info.path,
                "remove the `channel` option (or set it to null) for grayscale images",
            )
        return None
    if channel is None:
        raise SegvalError(
            f"the image has {info.channels} channels but no channel was chosen",
            info.path,
            f"set `channel` in the config to one of 0..{info.channels - 1} "
            "(0 = red, 1 = green, 2 = blue for RGB)",
        )
    if not 0 <= channel < info.channels:
        raise SegvalError(
            f"channel {channel} requested but the image has {info.channels} channels",
            info.path,
            f"set `channel` to one of 0..{info.channels - 1}",
        )
    return channel


def check_float_pixels(path, channel, band_rows):
    """Raise a :class:`SegvalError` if a float image has no finite pixel; warn if some are not finite.

    The thresholds' histograms leave NaN and infinite pixels out (NaN and -inf then end up
    background in the masks, +inf foreground), so an image with no finite pixel has nothing to
    threshold, and one with some gets their count in the log.  Read band by band: memory follows
    ``band_rows``, not the slice.

    Parameters
    ----------
    path : str
        The image file.
    channel : int or None
        Its channel (None for grayscale images), as for :class:`ImageReader`.
    band_rows : int
        Rows read at a time.

    Raises
    ------
    SegvalError
        Every pixel is NaN or infinite.
    """
    finite = total = 0
    with ImageReader(path, channel=channel) as reader:
        slices, height, width = reader.shape
        for z in range(slices):
            for y0 in range(0, height, band_rows):
                band = reader.read(z, y0, min(y0 + band_rows, height), 0, width)
                finite += int(np.count_nonzero(np.isfinite(band)))
                total += band.size
    if finite == 0:
        raise SegvalError(
            "the image has no finite pixel (all NaN or infinite): there is nothing to threshold",
            path,
            "give the image with its values (check the export: NaN often marks missing data)",
        )
    if finite < total:
        logging.getLogger("segval").warning(
            "%s: %d of %d pixels are NaN or infinite: the thresholds ignore them; NaN and -inf pixels are "
            "background in the masks, +inf foreground",
            path,
            total - finite,
            total,
        )


def write_png(path, image, atomic=True):
    """Write a uint8/uint16 gray, RGB or RGBA array (channels in RGB order) as PNG, atomically
    (``atomic=False``: directly, for the many tiles of a folder that is itself written
    atomically; a temporary name per tile would cost more than the tile)."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] in (3, 4):
        image = image[:, :, [2, 1, 0, 3][: image.shape[2]]]  # OpenCV writes BGR(A)
    with atomic_output(path) if atomic else contextlib.nullcontext(path) as target:
        if not cv2.imwrite(str(target), np.ascontiguousarray(image)):
            raise SegvalError("could not write PNG", path, "check the disk and permissions")


def write_tiff(path, data, **kwargs):
    """Write ``data`` (array or tile iterator, see :meth:`tifffile.TiffWriter.write`) atomically."""
    with atomic_output(path) as tmp:
        tifffile.imwrite(tmp, data, **kwargs)
