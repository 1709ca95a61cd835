"""An image's shape from its file headers alone, with the standard library only.

:func:`image_shape` answers ``(slices, height, width)`` exactly as
``segval.io.read_info(path).shape`` would, or None.  It is a cheap hint, used while the workflow is
planned to group images that fit in one job, so its contract is one-sided:

- it never returns a wrong shape: whenever the layout is anything but plain (an OME-TIFF, an
  ImageJ RGB hyperstack, a TIFF from a microscope vendor's software, pages of different sizes, an
  unknown format, an unreadable or odd file), it answers None rather than guess how tifffile,
  OpenCV or PIL would read it;
- it never raises: any problem is None;
- it is fast: a few hundred bytes per file (for a TIFF, the entries of each page's IFD, never the
  pixels; for a JPEG, its segment headers and last bytes), some 20-80 microseconds a file.

A folder of slices has the shape of its first slice with one slice per file when every slice's
header gives the same single-slice shape (read_info, which also compares pixel types, may still
reject it); a JPEG cut short, which OpenCV would not decode, is None.

Like :mod:`segval.ngff`, whose metadata reading it reuses for OME-Zarr images and Zarr arrays, it
is imported by Snakemake's own process while the Snakefile is parsed: no numpy, tifffile or OpenCV.
"""

import json
import os
import struct

from segval import ngff

# The same suffixes as segval.io (which needs numpy, so cannot be imported here).
TIFF_SUFFIXES = (".tif", ".tiff", ".btf", ".tf8", ".tf2")
RASTER_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".ppm", ".pbm", ".webp")
SUPPORTED_SUFFIXES = TIFF_SUFFIXES + RASTER_SUFFIXES

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_COLOUR_TYPES = (0, 2, 3, 4, 6)
# Baseline and common extension TIFF tags, plus ImageJ's metadata.  Any other tag may be how a
# vendor format (LSM, STK, FluoView, Micro-Manager, NDPI, ...) marks itself, which tifffile then
# reads as series of its own: such files are left to read_info.
_PLAIN_TAGS = {254, 255, 256, 257, 258, 259, 262, 263, 266, 269, 270, 271, 272, 273, 274, 277, 278}
_PLAIN_TAGS |= {279, 280, 281, 282, 283, 284, 285, 286, 287, 296, 297, 305, 306, 315, 316, 317}
_PLAIN_TAGS |= {318, 319, 320, 322, 323, 324, 325, 338, 339, 347, 530, 531, 532, 33432}
_PLAIN_TAGS |= {34665, 34675, 50838, 50839}
# (bits per sample, sample format) of the pixel types segval reads (bool, int/uint 8/16, float).
_SUPPORTED_PIXELS = {(1, 1), (8, 1), (16, 1), (8, 2), (16, 2), (32, 3), (64, 3)}
# TIFF field type -> struct code of one value (only the integer and ASCII types needed here).
_TYPES = {1: "B", 2: "s", 3: "H", 4: "I", 6: "b", 8: "h", 9: "i", 16: "Q", 17: "q"}
_MAX_PAGES = 100_000
# An IFD entry (tag, type, count, value or offset) in each byte order, classic and BigTIFF.
_ENTRIES = {
    (order, big): struct.Struct(order + ("HHQ8s" if big else "HHI4s"))
    for order in "<>"
    for big in (False, True)
}
# The tags that make a page's layout key (see _page_key).
_LAYOUT_TAGS = (254, 256, 257, 258, 259, 277, 284, 339)
# Tags that tifffile also compares (in TiffPage.hash) before it puts pages in one series:
# photometric, fill order, rows per strip, predictor, tile size, extra samples.
_SERIES_TAGS = (262, 266, 278, 317, 322, 323, 338)
# JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic), which hold the size,
# and the markers that have no length field.
_JPEG_FRAMES = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_JPEG_STANDALONE = {0x00, 0x01, 0xFF, *range(0xD0, 0xDA)}


def image_shape(path):
    """``(slices, height, width)`` of an image file or folder as :func:`segval.io.read_info` gives
    it, or None when the headers alone do not settle it (see the module's description).

    Parameters
    ----------
    path : str or Path
        A TIFF, PNG, JPEG or BMP file, a folder of per-slice files, or an OME-Zarr image or Zarr
        array folder.

    Returns
    -------
    tuple of int or None
    """
    try:
        path = os.fspath(path)
        if os.path.isdir(path):
            return _zarr_shape(path) if ngff.is_zarr(path) else _folder_shape(path)
        suffix = os.path.splitext(path)[1].lower()
        with open(path, "rb") as handle:
            if suffix in TIFF_SUFFIXES:
                return _tiff_shape(handle)
            if suffix == ".png":
                return _png_shape(handle.read(33))
            if suffix in (".jpg", ".jpeg"):
                return _jpeg_shape(handle)
            if suffix == ".bmp":
                return _bmp_shape(handle)
    except Exception:  # a hint: whatever goes wrong (odd metadata, I/O), read_info will tell
        return None
    return None


def _zarr_shape(path):
    image = ngff.describe(path)
    sizes = dict(zip(image.axes, ngff._node(image.array)[2]["shape"]))
    if sizes.get("t", 1) > 1 or "y" not in sizes or "x" not in sizes:
        return None
    if any(axis not in ngff.AXES and size > 1 for axis, size in sizes.items()):
        return None
    return (sizes.get("z", 1), sizes["y"], sizes["x"])


def _folder_shape(path):
    names = [
        name
        for name in os.listdir(path)
        if os.path.splitext(name)[1].lower() in SUPPORTED_SUFFIXES
        and os.path.isfile(os.path.join(path, name))
    ]
    shapes = {image_shape(os.path.join(path, name)) for name in names}
    if len(shapes) != 1 or None in shapes:  # no slices, a slice unknown, or slices that differ
        return None
    slices, height, width = shapes.pop()
    return (len(names), height, width) if slices == 1 else None


def _png_shape(head):
    if len(head) < 33 or head[:8] != _PNG_SIGNATURE or head[12:16] != b"IHDR":
        return None
    width, height, _, colour_type = struct.unpack(">IIBB", head[16:26])
    return (1, height, width) if colour_type in _PNG_COLOUR_TYPES and height and width else None


def _jpeg_shape(handle):
    """The frame header's size; None for Exif files (an orientation a decoder might apply) and
    files cut short."""
    if handle.read(2) != b"\xff\xd8":
        return None
    while True:
        marker, length = struct.unpack(">2sH", handle.read(4))
        if marker[0] != 0xFF or marker[1] in _JPEG_STANDALONE or length < 2:
            return None  # fill bytes or a marker without a length: a layout not worth following
        if marker[1] in _JPEG_FRAMES:
            _, height, width = struct.unpack(">BHH", handle.read(5))
            # A JPEG cut short does not decode, so read_info has no shape for it: as in
            # segval.io.check_complete, its end-of-image marker must be near the end.
            handle.seek(max(0, os.fstat(handle.fileno()).st_size - 64))
            return (1, height, width) if height and width and b"\xff\xd9" in handle.read() else None
        segment = handle.tell()
        if marker[1] == 0xE1 and handle.read(4) == b"Exif":
            return None
        handle.seek(segment + length - 2)


def _bmp_shape(handle):
    """The info header's size, for files holding as many bytes as their header says."""
    head = handle.read(26)
    if len(head) < 26 or head[:2] != b"BM":
        return None
    file_size, header_size, width, height = struct.unpack("<I8xIii", head[2:26])
    if file_size > os.fstat(handle.fileno()).st_size or header_size < 40:
        return None  # cut short (OpenCV would not decode it), or an OS/2 header
    return (1, abs(height), width) if width > 0 and height else None


def _tiff_shape(handle):
    keys, description, data_offset = _tiff_pages(handle)
    if not keys or len(set(keys)) != 1:
        return None  # tifffile makes pages of different sizes or types separate series
    samples, height, width, planar = keys[0][:4]
    if height < 2 or width < 2:  # tifffile squeezes length-1 axes: a 1-pixel row loses its Y
        return None
    if description is None:  # a generic series: one page per slice
        return (len(keys), height, width)
    if description.startswith("ImageJ="):
        ij = dict(line.split("=", 1) for line in description.splitlines() if "=" in line)
        images, channels = int(ij.get("images", 1)), int(ij.get("channels", 1))
        sizes = channels * int(ij.get("slices", 1)) * int(ij.get("frames", 1))
        if samples != 1 or images != len(keys) or sizes != images:
            return None  # RGB hyperstacks and pages stored without IFDs: left to tifffile
        page_bytes = height * width * keys[0][4][0] // 8
        if (
            keys[0][5] == 1
            and data_offset + images * page_bytes > os.fstat(handle.fileno()).st_size
        ):
            return None  # tifffile then falls back to a generic series, ignoring the channels
        return (images // channels, height, width)  # channels are pages, not slices
    if description.startswith("{") and '"shape"' in description:  # tifffile's own metadata
        metadata = json.loads(description)
        shape, axes = list(metadata["shape"]), metadata.get("axes", "")
        page_shape = [height, width] if samples == 1 else [height, width, samples]
        if samples > 1 and planar == 2:
            page_shape = [samples, height, width]
        planes = shape[: len(shape) - len(page_shape)]
        count = 1
        for size in planes:
            count *= size
        if shape[len(planes) :] != page_shape or count != len(keys) or "C" in axes.upper():
            return None
        return (count, height, width)
    return None  # OME-XML, a vendor's description, ...: tifffile may read other axes from it


def _tiff_pages(handle):
    """``(layout key of each page, first page's description, first page's first data offset)``
    from the IFD entries only; ``(None, None, None)`` for anything but plain pages."""
    head = handle.read(16)
    order = {b"II": "<", b"MM": ">"}[head[:2]]
    (version,) = struct.unpack(order + "H", head[2:4])
    if version not in (42, 43):
        return None, None, None
    big = version == 43  # BigTIFF: 8-byte counts and offsets
    count_format, count_size, value_size = ("Q", 8, 8) if big else ("H", 2, 4)
    entry = _ENTRIES[order, big]
    pointer = order + ("Q" if big else "I")
    (offset,) = struct.unpack(pointer, head[8:16] if big else head[4:8])
    size, keys, description, seen, known = os.fstat(handle.fileno()).st_size, [], None, set(), {}
    alike, data_offset = set(), None
    while offset:
        if offset in seen or offset + 2 > size or len(keys) >= _MAX_PAGES:
            return (
                None,
                None,
                None,
            )  # a loop, an offset past the end, or more pages than a hint walks
        seen.add(offset)
        handle.seek(offset)
        (n_entries,) = struct.unpack(order + count_format, handle.read(count_size))
        if offset + n_entries * entry.size > size:  # garbage: do not ask for gigabytes
            return None, None, None
        block = handle.read(n_entries * entry.size + value_size)
        if len(block) != n_entries * entry.size + value_size:
            return None, None, None
        tags = {
            tag: (kind, count, field)
            for tag, kind, count, field in entry.iter_unpack(block[:-value_size])
        }
        if len(tags) != n_entries or not tags.keys() <= _PLAIN_TAGS:
            return None, None, None  # a repeated tag, or a tag a vendor format may be known by
        if keys and 270 in tags:  # a description on a later page starts another series
            return None, None, None
        # Pages alike in their layout entries (a stack's) are decoded once.
        signature = tuple(map(tags.get, _LAYOUT_TAGS))
        if signature not in known:
            known[signature] = _page_key(handle, order, value_size, tags)
        if known[signature] is None:
            return None, None, None
        keys.append(known[signature])
        alike.add(tuple(map(tags.get, _SERIES_TAGS)))
        if len(keys) == 1:
            description = _description(handle, order, value_size, tags)
            data_offset = _values(handle, order, value_size, tags, 273, (0,))[0]
        (offset,) = struct.unpack(pointer, block[-value_size:])
    return (keys, description, data_offset) if len(alike) == 1 else (None, None, None)


def _values(handle, order, value_size, tags, tag, default):
    """The values of a tag (read from where they are stored when its entry cannot hold them)."""
    if tag not in tags:
        return default
    kind, count, field = tags[tag]
    if count > 65536:  # no value needed here is that long: garbage, or another format's
        raise ValueError(f"TIFF tag {tag} has {count} values")
    code = f"{order}{count}{_TYPES[kind]}"
    if struct.calcsize(code) > value_size:
        handle.seek(struct.unpack(order + ("I" if value_size == 4 else "Q"), field)[0])
        field = handle.read(struct.calcsize(code))
    return struct.unpack_from(code, field)


def _page_key(handle, order, value_size, tags):
    """``(samples, height, width, planar, pixel type, compression)``, or None for pages that are
    not plain image pages of a supported pixel type."""

    def single(tag, default):
        found = set(_values(handle, order, value_size, tags, tag, (default,)))
        return found.pop() if len(found) == 1 else None  # per-sample values must agree

    pixels = (single(258, 1), single(339, 1))
    if single(254, 0) != 0 or pixels not in _SUPPORTED_PIXELS:
        return None  # reduced-resolution or mask pages, or an unsupported pixel type
    samples = single(277, 1)
    key = (samples, single(257, None), single(256, None), single(284, 1), pixels, single(259, 1))
    return None if None in key or samples < 1 or key[3] not in (1, 2) else key


def _description(handle, order, value_size, tags):
    """The first page's description; "<other>" where tifffile may read a format of its own."""
    software = _values(handle, order, value_size, tags, 305, (b"",))[0][:64]
    if b"SI." in software or b"scanimage" in software.lower():  # ScanImage: frames x channels
        return "<other>"
    if 270 not in tags:
        return None
    if tags[270][1] > 65536:  # large descriptions are OME-XML or vendors' metadata: not read here
        return "<other>"
    raw = _values(handle, order, value_size, tags, 270, (b"",))[0]
    if not raw.endswith(b"\0"):  # not NUL-terminated: cut short, tifffile may read it otherwise
        return "<other>"
    return raw.split(b"\0", 1)[0].decode("utf-8")
