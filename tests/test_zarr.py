"""OME-Zarr in and out: images written by ome-zarr-py (NGFF 0.4 on Zarr v2, 0.5 on Zarr v3) and plain
Zarr arrays read by region exactly; segval's own OME-Zarr masks accepted by ome-zarr-py's reader with
napari's conventions (multiscales, typed axes, scale per level)."""

import json

import numpy as np
import pytest
import tifffile
import zarr
from ome_zarr.format import FormatV04, FormatV05
from ome_zarr.io import parse_url
from ome_zarr.reader import Multiscales, Reader
from ome_zarr.writer import write_image

from segval import ngff
from segval.downsample import REDUCERS
from segval.errors import SegvalError
from segval.io import ImageReader, read_info
from segval.stitching import BandWriter
from segval.tiling import plan

FORMATS = {"0.4": FormatV04(), "0.5": FormatV05()}


def write_ome_zarr(path, array, axes, version, chunks=None, scale=None, units=None):
    """An OME-Zarr image written by ome-zarr-py (the reference implementation), with a pyramid."""
    fmt = FORMATS[version]
    group = zarr.open_group(str(path), mode="w", zarr_format=fmt.zarr_format)
    options = {"chunks": chunks} if chunks else {}
    write_image(
        array,
        group,
        axes=axes,
        fmt=fmt,
        storage_options=options,
        scale=scale,
        axes_units=units,
        scale_factors=[2],
    )
    return path


def stack_of(array, axes, channel=None):
    """The (slices, height, width) stack segval should see in an array with these axes."""
    index = tuple({"t": 0, "c": channel or 0}.get(a, slice(None)) for a in axes)
    kept = [a for a in axes if a not in "tc"]
    view = array[index]
    return view if "z" in kept else view[np.newaxis]


def check_regions(path, expected, channel=None):
    rng = np.random.default_rng(1)
    slices, height, width = expected.shape
    with ImageReader(path, channel=channel) as reader:
        assert reader.shape == expected.shape and reader.dtype == expected.dtype
        for _ in range(12):
            z = int(rng.integers(slices))
            y0, y1 = sorted(rng.choice(height + 1, 2, replace=False))
            x0, x1 = sorted(rng.choice(width + 1, 2, replace=False))
            np.testing.assert_array_equal(reader.read(z, y0, y1, x0, x1), expected[z, y0:y1, x0:x1])
        for z in range(slices):
            np.testing.assert_array_equal(reader.read_slice(z), expected[z])


@pytest.mark.parametrize("version", ["0.4", "0.5"])
@pytest.mark.parametrize(
    "axes, shape, channel",
    [
        ("yx", (45, 70), None),
        ("cyx", (3, 45, 70), 2),
        ("zyx", (4, 45, 70), None),
        ("tczyx", (1, 2, 3, 45, 70), 1),
    ],
)
def test_ome_zarr_regions_equal_the_array(tmp_path, version, axes, shape, channel):
    array = np.random.default_rng(0).integers(0, 4000, shape, dtype=np.uint16)
    chunks = tuple(1 if a in "tcz" else 16 for a in axes)
    path = write_ome_zarr(tmp_path / "image.ome.zarr", array, axes, version, chunks=chunks)
    expected = stack_of(array, axes, channel)
    info = read_info(path)
    assert (info.kind, info.shape, info.channels) == (
        "zarr",
        expected.shape,
        3 if axes == "cyx" else (2 if "c" in axes else 1),
    )
    check_regions(path, expected, channel)


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_pixel_size_and_unit_from_the_scale(tmp_path, version):
    array = np.zeros((2, 32, 48), np.uint8)
    scale = {"z": 2.0, "y": 0.5, "x": 0.25}
    units = {"z": "micrometer", "y": "micrometer", "x": "micrometer"}
    path = write_ome_zarr(
        tmp_path / "image.ome.zarr", array, "zyx", version, scale=scale, units=units
    )
    info = read_info(path)
    assert info.pixel_size == (0.5, 0.25) and info.unit == "micrometer"
    assert info.to_dict()["pixel_size"] == [0.5, 0.25]
    assert ngff.describe(path).pixel_size() == (0.5, 0.25)


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("dtype", ["uint8", ">u2", "float32"])
def test_plain_zarr_arrays(tmp_path, zarr_format, dtype):
    array = np.random.default_rng(2).integers(0, 200, (3, 40, 50)).astype(dtype)
    stored = zarr.create_array(
        str(tmp_path / "a.zarr"),
        shape=array.shape,
        chunks=(1, 16, 16),
        dtype=array.dtype,
        zarr_format=zarr_format,
    )
    stored[:] = array
    info = read_info(tmp_path / "a.zarr")
    assert (
        info.shape == (3, 40, 50) and info.dtype == np.dtype(dtype).name and info.pixel_size is None
    )
    check_regions(tmp_path / "a.zarr", array.astype(np.dtype(dtype).newbyteorder("=")))
    two_d = zarr.create_array(
        str(tmp_path / "b.zarr"),
        shape=(40, 50),
        chunks=(16, 16),
        dtype="uint8",
        zarr_format=zarr_format,
    )
    two_d[:] = array[0].astype("uint8")
    check_regions(tmp_path / "b.zarr", array[:1].astype("uint8"))


def test_sharded_zarr_v3_array(tmp_path):
    """Shards (Zarr v3) hold many chunks; regions decode only the inner chunks they meet."""
    array = np.random.default_rng(4).integers(0, 255, (2, 150, 130), dtype=np.uint8)
    stored = zarr.create_array(
        str(tmp_path / "s.zarr"),
        shape=array.shape,
        chunks=(1, 32, 32),
        shards=(1, 64, 64),
        dtype="uint8",
    )
    stored[:] = array
    check_regions(tmp_path / "s.zarr", array)


def test_tiles_with_halos_decode_each_chunk_once_in_bounded_memory(tmp_path):
    from segval.tiling import read_padded

    array = np.random.default_rng(5).integers(0, 255, (1, 512, 1024), dtype=np.uint8)
    stored = zarr.create_array(
        str(tmp_path / "a.zarr"), shape=array.shape, chunks=(1, 64, 64), dtype="uint8"
    )
    stored[:] = array
    cuts = plan(array.shape, 64, 1e9)
    with ImageReader(tmp_path / "a.zarr") as reader:
        layout = reader._zarr
        decoded = []
        original = layout.array

        class Counting:  # the array, counting the chunks it decodes
            chunks, dtype = original.chunks, original.dtype

            def __getitem__(self, key):
                decoded.append(tuple((k.start, k.stop) for k in key))
                return original[key]

        layout.array = Counting()
        for t in cuts.tiles(cuts.chunks[0]):
            block = read_padded(reader.read, array.shape, t.z, t.y0, t.y1, t.x0, t.x1, 8)
            np.testing.assert_array_equal(block[8:-8, 8:-8], array[0, t.y0 : t.y1, t.x0 : t.x1])
            assert layout._chunk_bytes <= layout._cache_bytes < 4 * 16 * 64 * 64
    assert len(decoded) == len(set(decoded)) == 8 * 16


def test_dimension_names_give_the_axes(tmp_path):
    array = np.arange(2 * 20 * 30, dtype=np.uint8).reshape(2, 20, 30)
    stored = zarr.create_array(
        str(tmp_path / "c.zarr"),
        shape=array.shape,
        chunks=(1, 8, 8),
        dtype="uint8",
        dimension_names=["c", "y", "x"],
    )
    stored[:] = array
    assert read_info(tmp_path / "c.zarr").channels == 2
    check_regions(tmp_path / "c.zarr", array[1:2], channel=1)


@pytest.mark.parametrize("version, axes", [("0.3", ["z", "y", "x"]), ("0.1", None)])
def test_older_ngff_versions(tmp_path, version, axes):
    """NGFF 0.3 names axes by strings, 0.1/0.2 not at all (always t c z y x)."""
    array = np.arange(2 * 16 * 24, dtype=np.uint16).reshape(2, 16, 24)
    shape = array.shape if axes else (1, 1) + array.shape
    group = zarr.open_group(str(tmp_path / "old.zarr"), mode="w", zarr_format=2)
    group.create_array("0", shape=shape, chunks=(1,) * (len(shape) - 2) + (8, 8), dtype="uint16")[
        :
    ] = array.reshape(shape)
    multiscale = {"version": version, "datasets": [{"path": "0"}]}
    if axes:
        multiscale["axes"] = axes
    group.attrs["multiscales"] = [multiscale]
    assert read_info(tmp_path / "old.zarr").pixel_size is None
    check_regions(tmp_path / "old.zarr", array)


def test_clear_failures(tmp_path):
    path = write_ome_zarr(
        tmp_path / "movie.ome.zarr", np.zeros((3, 16, 16), np.uint8), "tyx", "0.4"
    )
    with pytest.raises(SegvalError, match="3 time points"):
        read_info(path)
    path = write_ome_zarr(
        tmp_path / "colour.ome.zarr", np.zeros((3, 16, 16), np.uint8), "cyx", "0.5"
    )
    with pytest.raises(SegvalError, match="no channel was chosen"):
        ImageReader(path)
    zarr.open_group(str(tmp_path / "plate.zarr"), mode="w").attrs["plate"] = {}
    with pytest.raises(SegvalError, match="without OME-NGFF multiscales"):
        read_info(tmp_path / "plate.zarr")
    zarr.create_array(str(tmp_path / "4d.zarr"), shape=(2, 2, 8, 8), dtype="uint8")
    with pytest.raises(SegvalError, match="4-D Zarr array without axis names"):
        read_info(tmp_path / "4d.zarr")


def test_corrupt_chunk_is_reported_as_the_file(tmp_path):
    stored = zarr.create_array(
        str(tmp_path / "a.zarr"), shape=(32, 32), chunks=(16, 16), dtype="uint8", zarr_format=2
    )
    stored[:] = 1
    (tmp_path / "a.zarr" / "0.0").write_bytes(b"garbage")
    with ImageReader(tmp_path / "a.zarr") as reader, pytest.raises(SegvalError, match="corrupt"):
        reader.read(0, 0, 4, 0, 4)


# --- writing ---------------------------------------------------------------------------------


def write_with_bands(
    path,
    stack,
    tile,
    chunk_megapixels,
    reduce="max",
    pixel_size=(1.0, 1.0),
    unit=None,
    reverse=False,
):
    """What the workflow does: create, one BandWriter per chunk (here in turn), finish."""
    building = path.with_name(path.name + ".building")
    ngff.create(
        building, stack.shape, stack.dtype, tile, reduce, pixel_size, unit, name="test mask"
    )
    cuts = plan(stack.shape, tile, chunk_megapixels)
    assert any(c.y0 for c in cuts.chunks) or len(cuts.chunks) > 1
    for chunk in reversed(cuts.chunks) if reverse else cuts.chunks:
        tiles = list(cuts.tiles(chunk))
        writer = BandWriter(building)
        blocks = (stack[t.z, t.y0 : t.y1, t.x0 : t.x1] for t in tiles)
        for _ in writer.passing(blocks, [(t.z, t.y0, t.x0) for t in tiles]):
            pass
    ngff.finish(building, path)
    return path


@pytest.mark.parametrize("slices", [1, 3])
def test_written_ome_zarr_is_read_by_ome_zarr_py_with_napari_conventions(tmp_path, slices):
    rng = np.random.default_rng(3)
    stack = (rng.random((slices, 200, 330)) > 0.7).astype(np.uint8) * 255
    path = write_with_bands(
        tmp_path / "mask.ome.zarr", stack, 64, 0.03, pixel_size=(0.5, 0.25), unit="micrometer"
    )
    nodes = list(Reader(parse_url(str(path)))())
    assert nodes and nodes[0].specs and isinstance(nodes[0].specs[0], Multiscales)
    node = nodes[0]
    # napari-ome-zarr hands these to napari: a pyramid, its axes, a scale per level.
    data = [np.asarray(level) for level in node.data]
    assert len(data) == 1 + len(ngff.pyramid_factors(stack.shape, 64)) >= 3
    np.testing.assert_array_equal(data[0], stack[0] if slices == 1 else stack)
    assert [axis["name"] for axis in node.metadata["axes"]] == (
        ["y", "x"] if slices == 1 else ["z", "y", "x"]
    )
    # The NGFF 0.4 schema, as ome-zarr-models (the spec's pydantic models) checks it.
    from ome_zarr_models.v04.image import Image

    Image.from_zarr(zarr.open_group(str(path), mode="r"))
    attrs = json.loads((path / ".zattrs").read_text())["multiscales"][0]
    assert attrs["version"] == "0.4"
    assert all(axis["type"] == "space" for axis in attrs["axes"])
    assert [a.get("unit") for a in attrs["axes"] if a["name"] in "yx"] == ["micrometer"] * 2
    scales = [d["coordinateTransformations"][0]["scale"][-2:] for d in attrs["datasets"]]
    assert scales[0] == [0.5, 0.25] and scales[1] == [1.0, 0.5]
    assert node.metadata["coordinateTransformations"][1][0]["scale"][-2:] == [1.0, 0.5]
    # The pyramid levels equal segval's reduction of the whole slice (as the OME-TIFF's do).
    for level, factor in enumerate([1] + ngff.pyramid_factors(stack.shape, 64)):
        expected = np.stack([REDUCERS["max"](s, factor) for s in stack])
        np.testing.assert_array_equal(data[level], expected[0] if slices == 1 else expected)
    # And segval reads it back like any OME-Zarr input.
    info = read_info(path)
    assert info.shape == stack.shape and info.pixel_size == (0.5, 0.25)
    check_regions(path, stack)


def test_written_bytes_do_not_depend_on_the_order_of_the_chunk_jobs(tmp_path):
    stack = np.random.default_rng(6).integers(0, 5, (2, 200, 150), dtype=np.uint8)
    trees = []
    for reverse in (False, True):
        path = write_with_bands(
            tmp_path / f"{reverse}" / "c.ome.zarr", stack, 64, 0.01, "confusion", reverse=reverse
        )
        trees.append(
            {
                str(f.relative_to(path)): f.read_bytes()
                for f in sorted(path.rglob("*"))
                if f.is_file()
            }
        )
    assert trees[0] == trees[1] and len(trees[0]) > 20


def test_no_zarr_chunk_is_shared_by_two_bands(tmp_path):
    """Bands of whole tile rows own whole Zarr chunks at every level: one job, one chunk."""
    stack = np.ones((1, 300, 200), np.uint8)
    building = tmp_path / "m.building"
    ngff.create(building, stack.shape, np.uint8, 64, "max")
    for level, factor in enumerate([1] + ngff.pyramid_factors(stack.shape, 64)):
        array = zarr.open_array(str(building / str(level)))
        assert array.chunks == (64 // factor, 64)


def test_band_writer_refuses_misaligned_bands(tmp_path):
    ngff.create(tmp_path / "m", (1, 128, 128), np.uint8, 64, "max")
    writer = BandWriter(tmp_path / "m")
    with pytest.raises(ValueError, match="tile row"):
        writer.put(0, 32, 0, np.zeros((32, 64), np.uint8))


# --- the workflow ----------------------------------------------------------------------------


@pytest.mark.workflow
def test_workflow_ome_zarr_in_and_out_equals_tiff(tmp_path):
    """The same stack as a TIFF and as an OME-Zarr image (NGFF 0.5, pixel size in its metadata)
    gives the same masks and metrics; with outputs.format: ome-zarr the chunk jobs write OME-Zarr
    masks and confusion maps equal to the OME-TIFFs bit for bit, which ome-zarr-py reads."""
    from segval.phantom import make_phantom
    from workflow_helpers import run_snakemake, write_sheet

    images, truths = zip(*[make_phantom((128, 192), seed=5, z=z) for z in range(2)])
    stack = np.stack(images)
    tifffile.imwrite(tmp_path / "stack.tif", stack, photometric="minisblack")
    write_ome_zarr(
        tmp_path / "stack.ome.zarr",
        stack,
        "zyx",
        "0.5",
        chunks=(1, 48, 80),
        scale={"z": 1.0, "y": 0.5, "x": 0.5},
        units={"y": "micrometer", "x": "micrometer"},
    )
    tifffile.imwrite(
        tmp_path / "truth.tif", truths[1].astype(np.uint8) * 255, photometric="minisblack"
    )
    prediction = np.stack(truths).astype(
        np.uint8
    )  # another segmenter's masks, as a plain Zarr array
    zarr.create_array(
        str(tmp_path / "unet.zarr"), data=prediction, chunks=(1, 50, 50), zarr_format=2
    )
    sheet = write_sheet(
        tmp_path / "samples.tsv",
        [
            {
                "sample": "tif",
                "image": tmp_path / "stack.tif",
                "ground_truth": tmp_path / "truth.tif",
                "truth_slices": "1",
                "pixel_size": "0.5",
                "prediction_unet": "",
            },
            {
                "sample": "zarr",
                "image": tmp_path / "stack.ome.zarr",
                "ground_truth": tmp_path / "truth.tif",
                "truth_slices": "1",
                "pixel_size": "",
                "prediction_unet": tmp_path / "unet.zarr",
            },
        ],
    )
    config = {
        "samples": str(sheet),
        "invert": True,
        "methods": ["otsu", "sauvola:window_size=15"],
        "tiling": {
            "tile_size": 64,
            "chunk_megapixels": 0.01,
        },  # bands of one tile row: 4 jobs per sample
        "outputs": {"format": "ome-zarr", "denoised": False},
    }
    workdir = tmp_path / "run"
    tiffs = [f"results/{kind}/tif/median3.otsu.ome.tif" for kind in ("masks", "confusion")]
    run_snakemake(workdir, config, "all", *tiffs)  # the OME-TIFFs too, to compare
    results = workdir / "results"
    assert not list(results.glob("chunks/*/*/*.ome.zarr")), (
        "the folders being built are renamed, not left"
    )
    rerun = run_snakemake(workdir, config, "all", *tiffs, "--dry-run")
    assert "Nothing to be done" in rerun.stdout + rerun.stderr, (
        "the renamed (temp) folders must not cause reruns"
    )
    for method in ("otsu", "sauvola-window_size15"):
        stem = f"median3.{method}"
        tif_metrics = (results / f"metrics/tif/{stem}.tsv").read_text()
        assert (results / f"metrics/zarr/{stem}.tsv").read_text() == tif_metrics.replace(
            "tif", "zarr"
        )
        for kind, pages in (("masks", stack), ("confusion", stack[1:])):
            from_tif = read_info(results / f"{kind}/tif/{stem}.ome.zarr")
            assert from_tif.shape == pages.shape and from_tif.pixel_size == (0.5, 0.5)
            with (
                ImageReader(results / f"{kind}/tif/{stem}.ome.zarr") as a,
                ImageReader(results / f"{kind}/zarr/{stem}.ome.zarr") as b,
            ):
                for z in range(pages.shape[0]):
                    np.testing.assert_array_equal(a.read_slice(z), b.read_slice(z))
    with ImageReader(results / "masks/zarr/given.unet.ome.zarr") as given:
        np.testing.assert_array_equal(
            np.stack([given.read_slice(z) for z in range(2)]), prediction * 255
        )
    for kind in ("masks", "confusion"):
        path = results / f"{kind}/zarr/median3.otsu.ome.zarr"
        expected = tifffile.imread(results / f"{kind}/tif/median3.otsu.ome.tif")
        node = next(iter(Reader(parse_url(str(path)))()))
        np.testing.assert_array_equal(np.asarray(node.data[0]), expected)
        assert len(node.data) == 3 and [a["name"] for a in node.metadata["axes"]] == (
            ["z", "y", "x"] if kind == "masks" else ["y", "x"]
        )
        assert [a.get("unit") for a in node.metadata["axes"] if a["name"] != "z"] == [
            "micrometer"
        ] * 2
