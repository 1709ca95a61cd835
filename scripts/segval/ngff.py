"""OME-Zarr (OME-NGFF) images: reading their metadata, and writing segval's masks and confusion maps.

Reading.  A sample's image or mask may be an OME-Zarr image (NGFF 0.4 on Zarr v2, NGFF 0.5 on Zarr
v3, and the older 0.1-0.3), a ``bioformats2raw`` folder holding one (its image ``0``), or a plain
Zarr array (a folder with ``.zarray`` or ``zarr.json``).  :func:`describe` finds the full-resolution
array (level 0), the name of each of its axes (a subset of ``t c z y x``) and the physical pixel
size from the ``scale`` coordinate transformations.  It reads a few JSON files with the standard
library only, because the Snakefile asks it for pixel sizes while it is parsed; the pixels
themselves are read by :class:`segval.io.ImageReader` with zarr-python.

Writing.  With ``outputs.format: ome-zarr``, masks and confusion maps are written as NGFF 0.4 images
(Zarr v2: what napari, Fiji/BigDataViewer, QuPath and Neuroglancer all read today) straight from
the chunk jobs that compute them, in parallel, with no stitching copy:

1. :func:`create` (one small job) writes the metadata of every pyramid level into a folder beside
   the final name: shapes, chunks of one tile (``1 x tile x tile`` at full resolution), dtype,
   codec;
2. every chunk job hands its tiles to a :class:`segval.stitching.BandWriter`, which writes each
   band of one tile row at full resolution and its reductions at every pyramid level.  Level
   ``k``'s chunks are ``tile / 2**k`` rows high, so they hold exactly one tile row's reduction: no
   two jobs ever write the same Zarr chunk, and a job needs only one band of its slice in memory;
3. :func:`finish` writes the ``multiscales`` metadata that makes the folder an OME-Zarr image, and
   renames it to its final name (so the image is complete or absent).

Pyramid levels halve the slice (not the stack) until it fits in one tile, as long as the factor
does not exceed the tile size (a level-``k`` chunk must keep at least one row).
"""

import json
import os
from dataclasses import dataclass

from segval.errors import SegvalError

#: Axis names segval understands, in NGFF's order.
AXES = "tczyx"
#: NGFF version of the images segval writes.
WRITE_VERSION = "0.4"
#: Attribute (of the folder being written) holding what the chunk jobs need to know.
_PLAN_ATTRIBUTE = "segval"


def is_zarr(path):
    """Whether ``path`` is a Zarr folder (array or group; Zarr v2 or v3).

    >>> is_zarr("/nonexistent.ome.zarr")
    False
    """
    return os.path.isdir(path) and any(
        os.path.isfile(os.path.join(path, name))
        for name in ("zarr.json", ".zarray", ".zgroup", ".zattrs")
    )


@dataclass(frozen=True)
class ZarrImage:
    """Where an OME-Zarr image's full-resolution pixels are and what its axes mean.

    Attributes
    ----------
    path : str
        The folder given (image group or array).
    array : str
        The folder of the full-resolution array.
    axes : tuple of str
        Name of each array dimension, e.g. ``("c", "y", "x")``.
    scale : tuple of float or None
        Physical size of a pixel along each axis, or None when the metadata gives none.
    units : tuple of (str or None)
        Unit of each axis (``"micrometer"``), None where unknown.
    version : str
        NGFF version, ``""`` for a plain Zarr array.
    """

    path: str
    array: str
    axes: tuple
    scale: tuple
    units: tuple
    version: str

    def pixel_size(self):
        """``(y, x)`` physical pixel size, or None when the metadata gives none."""
        if self.scale is None:
            return None
        return (float(self.scale[self.axes.index("y")]), float(self.scale[self.axes.index("x")]))

    def unit(self):
        """The unit of the y axis (None when unknown)."""
        return self.units[self.axes.index("y")]


def _read_json(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise SegvalError(
            f"cannot read Zarr metadata {os.path.basename(path)} ({error})",
            os.path.dirname(path),
            "re-export the image",
        ) from None


def _node(path):
    """``(kind, attributes, array metadata)`` of a Zarr node: kind is "array", "group" or None."""
    v3 = _read_json(os.path.join(path, "zarr.json"))
    if v3 is not None:
        return v3.get("node_type"), v3.get("attributes", {}) or {}, v3
    attributes = _read_json(os.path.join(path, ".zattrs")) or {}
    v2 = _read_json(os.path.join(path, ".zarray"))
    if v2 is not None:
        return "array", attributes, v2
    if os.path.isfile(os.path.join(path, ".zgroup")) or attributes:
        return "group", attributes, None
    return None, {}, None


def _fail(
    path, problem, fix="give the folder of an OME-Zarr image (NGFF 0.4 or 0.5) or of a Zarr array"
):
    raise SegvalError(problem, path, fix)


def describe(path):
    """Find an OME-Zarr image's (or Zarr array's) full-resolution array, axes and pixel size.

    Parameters
    ----------
    path : str
        An OME-Zarr image folder, a ``bioformats2raw`` folder (its image ``0`` is read), or a Zarr
        array folder.

    Returns
    -------
    ZarrImage

    Raises
    ------
    SegvalError
        When the folder is no Zarr image, or its metadata is inconsistent.
    """
    path = str(path)
    kind, attributes, meta = _node(path)
    if kind == "array":
        return _plain_array(path, attributes, meta)
    if kind != "group":
        _fail(path, "not a Zarr folder (no zarr.json, .zarray or .zgroup)")
    ome = attributes.get("ome", attributes)  # NGFF 0.5 nests its metadata under "ome"
    if (
        "multiscales" not in ome
        and "bioformats2raw.layout" in ome
        and os.path.isdir(os.path.join(path, "0"))
    ):
        inner = describe(
            os.path.join(path, "0")
        )  # bioformats2raw: the images are 0, 1, ...; read 0
        return ZarrImage(path, inner.array, inner.axes, inner.scale, inner.units, inner.version)
    multiscales = ome.get("multiscales")
    if not multiscales or not multiscales[0].get("datasets"):
        _fail(
            path,
            "Zarr group without OME-NGFF multiscales metadata (an HCS plate, labels or a plain group?)",
            "give the folder of one OME-Zarr image (the group holding `multiscales`) or of a Zarr array",
        )
    multiscale = multiscales[0]
    version = str(ome.get("version") or multiscale.get("version") or "")
    dataset = multiscale["datasets"][0]  # datasets go from full to lowest resolution
    array = os.path.join(path, dataset["path"])
    array_kind, _, array_meta = _node(array)
    if array_kind != "array":
        _fail(
            path,
            f"its multiscales dataset {dataset['path']!r} is not a Zarr array",
            "re-export the image",
        )
    ndim = len(array_meta["shape"])
    raw_axes = multiscale.get("axes") or list(AXES[-ndim:])  # NGFF 0.1/0.2: always 5-D t c z y x
    names = tuple(axis["name"] if isinstance(axis, dict) else str(axis) for axis in raw_axes)
    units = tuple(axis.get("unit") if isinstance(axis, dict) else None for axis in raw_axes)
    if len(names) != ndim:
        _fail(
            path,
            f"the metadata names {len(names)} axes ({''.join(names)}) but the array has {ndim} dimensions",
            "re-export the image",
        )
    scale = _scale(dataset.get("coordinateTransformations"), ndim)
    overall = _scale(multiscale.get("coordinateTransformations"), ndim)
    if scale is not None and overall is not None:
        scale = tuple(a * b for a, b in zip(scale, overall))
    return ZarrImage(path, array, names, scale if scale is not None else overall, units, version)


def _scale(transformations, ndim):
    """The product of the ``scale`` transformations in a list (None if there is none)."""
    result = None
    for transformation in transformations or []:
        if transformation.get("type") == "scale" and "scale" in transformation:
            values = [float(v) for v in transformation["scale"]]
            if len(values) == ndim:
                result = (
                    tuple(values)
                    if result is None
                    else tuple(a * b for a, b in zip(result, values))
                )
    return result


def _plain_array(path, attributes, meta):
    """A Zarr array without NGFF metadata: axes from its dimension names (Zarr v3, or xarray's
    ``_ARRAY_DIMENSIONS``), else ``yx`` for 2-D and ``zyx`` for 3-D."""
    ndim = len(meta["shape"])
    names = meta.get("dimension_names") or attributes.get("_ARRAY_DIMENSIONS")
    if (
        names
        and all(isinstance(n, str) and n.lower() in AXES for n in names)
        and len(names) == ndim
    ):
        axes = tuple(n.lower() for n in names)
    elif ndim in (2, 3):
        axes = tuple("zyx"[-ndim:])
    else:
        _fail(
            path,
            f"a {ndim}-D Zarr array without axis names",
            "save it as an OME-Zarr image (with `multiscales` axes), or as a 2-D (y, x) or 3-D (z, y, x) array",
        )
    return ZarrImage(path, path, axes, None, (None,) * ndim, "")


# --- writing ---------------------------------------------------------------------------------


def pyramid_factors(shape, tile):
    """Downsampling factors of the pyramid levels below full resolution: halve the slice until it
    fits in one tile, with factors at most ``tile`` (so a level's chunks keep whole rows).

    >>> pyramid_factors((1, 5000, 3000), 1024), pyramid_factors((3, 64, 64), 64)
    ([2, 4, 8], [])
    """
    _, height, width = shape
    factors = []
    while max(height, width) / 2 ** len(factors) > tile and 2 ** (len(factors) + 1) <= tile:
        factors.append(2 ** (len(factors) + 1))
    return factors


def _level_shape(shape, factor):
    slices, height, width = shape
    return (slices, -(-height // factor), -(-width // factor))


def _dims(shape, slices):
    """A single slice is written as a 2-D ``yx`` image, a stack as ``zyx`` (as the OME-TIFFs are)."""
    return tuple(shape[1:]) if slices == 1 else tuple(shape)


def create(path, shape, dtype, tile, reduce, pixel_size=(1.0, 1.0), unit=None, name=None):
    """Write the arrays' metadata of an OME-Zarr image to be filled by
    :class:`segval.stitching.BandWriter`.

    Parameters
    ----------
    path : str or Path
        The folder to create (it must not exist; :func:`finish` renames it to the final name).
    shape : tuple of int
        ``(slices, height, width)``.
    dtype : numpy dtype
    tile : int
        The plan's tile size: chunks are one tile at full resolution.
    reduce : {"max", "mean", "confusion"}
        How pyramid levels summarise 2 x 2 blocks (see :mod:`segval.downsample`).
    pixel_size : tuple of float
        ``(y, x)`` physical pixel size, written as the levels' ``scale``.
    unit : str, optional
        Unit of the pixel size (e.g. ``"micrometer"``).
    name : str, optional
        The image's name in the metadata.
    """
    import numcodecs
    import numpy as np
    import zarr

    path = str(path)
    slices, height, width = (int(n) for n in shape)
    factors = pyramid_factors((slices, height, width), tile)
    # Blosc is the codec every Zarr v2 reader supports; bit-shuffled zstd at level 1 shrinks a 0/255
    # mask ~100x at ~800 MP/s (level 5: 30 % smaller, 4x slower; see bench/bench_zarr.py).
    compressor = numcodecs.Blosc(cname="zstd", clevel=1, shuffle=numcodecs.Blosc.BITSHUFFLE)
    group = zarr.open_group(path, mode="w", zarr_format=2)
    for level, factor in enumerate([1] + factors):
        level_shape = _level_shape((slices, height, width), factor)
        chunks = (1, tile // factor, tile)  # one tile row's reduction per chunk row (see above)
        group.create_array(
            str(level),
            shape=_dims(level_shape, slices),
            chunks=_dims(chunks, slices),
            dtype=np.dtype(dtype),
            compressor=compressor,
            fill_value=0,
            chunk_key_encoding={"name": "v2", "separator": "/"},  # NGFF 0.4 asks for "/"
        )
    group.attrs[_PLAN_ATTRIBUTE] = {
        "shape": [slices, height, width],
        "tile": int(tile),
        "factors": factors,
        "reduce": reduce,
        "pixel_size": [float(v) for v in pixel_size],
        "unit": unit,
        "name": name or os.path.basename(path),
    }


def written_plan(path):
    """What :func:`create` recorded for the chunk jobs: shape, tile, factors, reduce, pixel size."""
    import zarr

    return dict(zarr.open_group(str(path), mode="r").attrs[_PLAN_ATTRIBUTE])


def finish(path, final):
    """Write the NGFF ``multiscales`` metadata of an image filled by the chunk jobs and rename
    its folder to ``final`` (which must not exist)."""
    import zarr

    plan = written_plan(path)
    slices = plan["shape"][0]
    y_size, x_size = plan["pixel_size"]
    unit = plan["unit"]
    axes = [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}]
    if slices > 1:
        axes.insert(0, {"name": "z", "type": "space"})
    if unit:
        for axis in axes:
            if axis["name"] != "z":
                axis["unit"] = unit
    datasets = []
    for level, factor in enumerate([1] + plan["factors"]):
        scale = [y_size * factor, x_size * factor]
        translation = [(factor - 1) * y_size / 2, (factor - 1) * x_size / 2]  # pixel centres
        if slices > 1:
            scale.insert(0, 1.0)
            translation.insert(0, 0.0)
        datasets.append(
            {
                "path": str(level),
                "coordinateTransformations": [
                    {"type": "scale", "scale": scale},
                    {"type": "translation", "translation": translation},
                ],
            }
        )
    multiscale = {
        "version": WRITE_VERSION,
        "name": plan["name"],
        "axes": axes,
        "datasets": datasets,
        "type": {"max": "max", "mean": "local_mean", "confusion": "priority"}[plan["reduce"]],
    }
    group = zarr.open_group(str(path), mode="r+")
    group.attrs.put({"multiscales": [multiscale]})  # the folder is an OME-Zarr image from here on
    os.replace(path, final)
