"""segval.io and segval.files: every reading path against numpy slicing of the array written.

Files are written with tifffile, Pillow and OpenCV directly (not through segval) wherever possible,
so that the reader is checked against an independent writer.
"""

import os

import numpy as np
import pytest
import tifffile
from PIL import Image

from segval import stitching
from segval.downsample import block_confusion, block_max, block_mean
from segval.errors import SegvalError
from segval.files import atomic_output, scratch_dir
from segval.io import (
    ImageReader,
    list_slice_files,
    natural_key,
    read_info,
    write_png,
    write_tiff,
)
from segval.stitching import ChunkSet, pyramid_factors, write_stitched, write_tiles
from segval.tiling import plan as make_plan

RNG_SEED = 1234


def _rng(salt=0):
    return np.random.default_rng(RNG_SEED + salt)


def _regions(height, width, cuts):
    """Regions whose edges fall on, just before and just after the segment boundaries ``cuts``."""
    ys = sorted({0, height, *(c + d for c in cuts[0] for d in (-1, 0, 1) if 0 < c + d < height)})
    xs = sorted({0, width, *(c + d for c in cuts[1] for d in (-1, 0, 1) if 0 < c + d < width)})
    for y0, y1 in zip(ys, ys[3:]):
        for x0, x1 in zip(xs, xs[2:]):
            yield y0, y1, x0, x1
    yield 0, height, 0, width
    yield height - 1, height, width - 1, width
    rng = _rng(99)
    for _ in range(20):
        y0, y1 = sorted(rng.choice(height + 1, 2, replace=False))
        x0, x1 = sorted(rng.choice(width + 1, 2, replace=False))
        yield int(y0), int(y1), int(x0), int(x1)


def _assert_reads(reader, stack, cuts=((), ()), channel_of=lambda a: a):
    """Every region of every slice read through ``reader`` equals numpy slicing of ``stack``."""
    slices, height, width = stack.shape[:3]
    assert reader.shape == (slices, height, width)
    for z in range(slices):
        expected = channel_of(stack[z])
        np.testing.assert_array_equal(reader.read(z, 0, height, 0, width), expected)
        if hasattr(reader, "read_slice"):
            np.testing.assert_array_equal(reader.read_slice(z), expected)
        for y0, y1, x0, x1 in _regions(height, width, cuts):
            got = reader.read(z, y0, y1, x0, x1)
            assert got.dtype == expected.dtype and got.dtype.isnative
            np.testing.assert_array_equal(
                got, expected[y0:y1, x0:x1], err_msg=f"z={z} {y0}:{y1} {x0}:{x1}"
            )


# ------------------------------------------------------------------------------------------------
# PNG and other rasters
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_gray_png(tmp_path, dtype):
    image = _rng().integers(0, np.iinfo(dtype).max + 1, (37, 53)).astype(dtype)
    path = tmp_path / "gray.png"
    Image.fromarray(image).save(path)
    info = read_info(path)
    assert (info.shape, info.dtype, info.channels, info.kind) == (
        (1, 37, 53),
        np.dtype(dtype).name,
        1,
        "raster",
    )
    assert not info.is_stack
    assert info.to_dict() == {
        "path": str(path),
        "shape": [1, 37, 53],
        "dtype": np.dtype(dtype).name,
        "channels": 1,
        "kind": "raster",
    }
    with ImageReader(path) as reader:
        assert reader.dtype == dtype
        _assert_reads(reader, image[None])
    with ImageReader(path, channel=0) as reader:  # 0 is accepted for grayscale
        np.testing.assert_array_equal(reader.read_slice(0), image)


@pytest.mark.parametrize("mode, channels", [("RGB", 3), ("RGBA", 4)])
def test_colour_png_channels_in_rgb_order(tmp_path, mode, channels):
    image = _rng(1).integers(0, 256, (21, 34, channels), dtype=np.uint8)
    path = tmp_path / "colour.png"
    Image.fromarray(image, mode).save(path)
    info = read_info(path)
    assert (info.shape, info.dtype, info.channels) == ((1, 21, 34), "uint8", channels)
    for channel in range(channels):
        with ImageReader(path, channel=channel) as reader:
            _assert_reads(reader, image[None], channel_of=lambda a, c=channel: a[:, :, c])


def test_rgb16_png(tmp_path):
    import cv2

    image = _rng(2).integers(0, 65536, (15, 22, 3)).astype(np.uint16)
    path = tmp_path / "rgb16.png"
    assert cv2.imwrite(str(path), image[:, :, ::-1])  # OpenCV writes BGR
    assert read_info(path).dtype == "uint16" and read_info(path).channels == 3
    with ImageReader(path, channel=2) as reader:
        np.testing.assert_array_equal(reader.read_slice(0), image[:, :, 2])


def test_write_png_round_trip(tmp_path):
    rgb = _rng(3).integers(0, 256, (9, 11, 3), dtype=np.uint8)
    write_png(tmp_path / "out.png", rgb)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out.png")), rgb)
    gray16 = _rng(4).integers(0, 65536, (9, 11)).astype(np.uint16)
    write_png(tmp_path / "g16.png", gray16)
    with ImageReader(tmp_path / "g16.png") as reader:
        np.testing.assert_array_equal(reader.read_slice(0), gray16)
    assert sorted(os.listdir(tmp_path)) == ["g16.png", "out.png"]  # no temporary left


def test_gray_alpha_png_channel_1_is_the_alpha(tmp_path):
    image = _rng(5).integers(0, 256, (10, 12, 2), dtype=np.uint8)
    path = tmp_path / "ga.png"
    Image.fromarray(image, "LA").save(path)
    assert read_info(path).channels == 2
    with ImageReader(path, channel=1) as reader:
        np.testing.assert_array_equal(reader.read_slice(0), image[:, :, 1])


# ------------------------------------------------------------------------------------------------
# TIFF
# ------------------------------------------------------------------------------------------------


def _is_memmappable(path):
    with tifffile.TiffFile(path) as tif:
        return tif.pages[0].is_memmappable


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32, np.float64])
def test_uncompressed_tiff_memmap_path(tmp_path, dtype):
    rng = _rng(6)
    image = (
        rng.normal(0, 1000, (45, 67))
        if np.dtype(dtype).kind == "f"
        else rng.integers(np.iinfo(dtype).min, int(np.iinfo(dtype).max) + 1, (45, 67))
    ).astype(dtype)
    path = tmp_path / "raw.tif"
    tifffile.imwrite(path, image)
    assert _is_memmappable(path)
    info = read_info(path)
    assert (info.shape, info.dtype, info.channels, info.kind) == (
        (1, 45, 67),
        np.dtype(dtype).name,
        1,
        "tiff",
    )
    with ImageReader(path) as reader:
        _assert_reads(reader, image[None])


@pytest.mark.parametrize(
    "layout",
    [
        {"tile": (16, 32)},
        {"tile": (32, 32)},
        {"rowsperstrip": 7},
        {"rowsperstrip": 1},
        {"rowsperstrip": 1000},
    ],
    ids=["tiles16x32", "tiles32", "strips7", "strips1", "one-strip"],
)
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_compressed_tiff_segment_path(tmp_path, layout, dtype):
    rng = _rng(7)
    shape = (2, 70, 101)
    stack = (
        rng.normal(0, 1, shape)
        if np.dtype(dtype).kind == "f"
        else rng.integers(0, int(np.iinfo(dtype).max) + 1, shape)
    ).astype(dtype)
    stack[:, 10:30, 20:60] = 0  # compressible runs
    path = tmp_path / "z.tif"
    tifffile.imwrite(path, stack, compression="zstd", photometric="minisblack", **layout)
    assert not _is_memmappable(path)
    seg_h, seg_w = layout.get("tile", (layout.get("rowsperstrip"), shape[2]))
    cuts = (list(range(0, shape[1], seg_h)), list(range(0, shape[2], seg_w)))
    with ImageReader(path) as reader:
        _assert_reads(reader, stack, cuts)


@pytest.mark.parametrize("compression", [None, "zlib", "packbits"])
def test_big_endian_tiff(tmp_path, compression):
    image = _rng(8).integers(0, 65536, (33, 41)).astype(np.uint16)
    path = tmp_path / "be.tif"
    tifffile.imwrite(
        path,
        np.stack([image, image[::-1]]),
        byteorder=">",
        compression=compression,
        rowsperstrip=8,
        photometric="minisblack",
    )
    with tifffile.TiffFile(path) as tif:
        assert tif.byteorder == ">"
    with ImageReader(path) as reader:
        assert reader.dtype == np.uint16
        _assert_reads(reader, np.stack([image, image[::-1]]), ([8, 16, 24, 32], []))


@pytest.mark.parametrize("compression", [None, "zstd"])
def test_rgb_tiff_contiguous(tmp_path, compression):
    image = _rng(9).integers(0, 65536, (40, 50, 3)).astype(np.uint16)
    path = tmp_path / "rgb.tif"
    kwargs = {"compression": compression, "tile": (16, 16)} if compression else {}
    tifffile.imwrite(path, image, photometric="rgb", **kwargs)
    info = read_info(path)
    assert (info.shape, info.channels) == ((1, 40, 50), 3)
    for channel in range(3):
        with ImageReader(path, channel=channel) as reader:
            _assert_reads(
                reader,
                image[None],
                ([16, 32], [16, 32]),
                channel_of=lambda a, c=channel: a[:, :, c],
            )


@pytest.mark.parametrize("compression", [None, "zstd"])
def test_rgb_tiff_planar_separate(tmp_path, compression):
    image = _rng(10).integers(0, 65536, (3, 40, 50)).astype(np.uint16)
    path = tmp_path / "planar.tif"
    kwargs = {"compression": compression, "tile": (16, 16)} if compression else {}
    tifffile.imwrite(path, image, photometric="rgb", planarconfig="separate", **kwargs)
    info = read_info(path)
    assert (info.shape, info.channels) == ((1, 40, 50), 3)
    with ImageReader(path, channel=2) as reader:
        np.testing.assert_array_equal(reader.read(0, 3, 37, 5, 49), image[2, 3:37, 5:49])


def test_imagej_hyperstack_channels_as_pages(tmp_path):
    stack = _rng(11).integers(0, 256, (2, 3, 20, 30)).astype(np.uint8)  # Z, C, Y, X
    path = tmp_path / "hyper.tif"
    tifffile.imwrite(path, stack, imagej=True, metadata={"axes": "ZCYX"})
    info = read_info(path)
    assert (info.shape, info.channels) == ((2, 20, 30), 3)
    for channel in range(3):
        with ImageReader(path, channel=channel) as reader:
            for z in range(2):
                np.testing.assert_array_equal(reader.read_slice(z), stack[z, channel])
                np.testing.assert_array_equal(
                    reader.read(z, 5, 15, 7, 29), stack[z, channel, 5:15, 7:29]
                )


@pytest.mark.parametrize("pages", [1, 3, 4, 5])
@pytest.mark.parametrize("compress", [True, False])
def test_write_tiles_stacks_are_not_taken_for_rgb(tmp_path, pages, compress):
    height, width, tile = 40, 50, 16
    stack = _rng(12).integers(0, 256, (pages, height, width)).astype(np.uint8)
    p = make_plan((pages, height, width), tile, 1)
    tiles = (stack[t.z, t.y0 : t.y1, t.x0 : t.x1] for c in p.chunks for t in p.tiles(c))
    path = tmp_path / "tiles.tif"
    write_tiles(path, tiles, (pages, height, width), np.uint8, tile, compress=compress)
    info = read_info(path)
    assert (info.shape, info.channels, info.dtype) == ((pages, height, width), 1, "uint8")
    with tifffile.TiffFile(path) as tif:
        assert (tif.pages[0].tilelength, tif.pages[0].tilewidth) == (tile, tile)
    with ImageReader(path) as reader:
        _assert_reads(reader, stack, ([16, 32], [16, 32, 48]))


def test_plain_multipage_tiff_stack(tmp_path):
    stack = _rng(13).integers(0, 256, (3, 20, 30)).astype(np.uint8)
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, stack, photometric="minisblack")
    assert read_info(path).shape == (3, 20, 30) and read_info(path).is_stack
    with ImageReader(path) as reader:
        _assert_reads(reader, stack)


def test_read_outside_the_image_is_an_index_error(tmp_path):
    path = tmp_path / "a.tif"
    tifffile.imwrite(path, np.zeros((10, 20), np.uint8))
    with ImageReader(path) as reader:
        for region in [
            (1, 0, 1, 0, 1),
            (0, 0, 11, 0, 1),
            (0, 5, 5, 0, 1),
            (0, 0, 1, 3, 21),
            (-1, 0, 1, 0, 1),
        ]:
            with pytest.raises(IndexError):
                reader.read(*region)


# ------------------------------------------------------------------------------------------------
# Folders of slices
# ------------------------------------------------------------------------------------------------


def test_folder_of_png_slices_in_natural_order(tmp_path):
    names = ["z10.png", "z2.png", "z1.png", "Z3.png", "z20.png"]
    order = ["z1.png", "z2.png", "Z3.png", "z10.png", "z20.png"]
    rng = _rng(14)
    slices = {name: rng.integers(0, 256, (12, 17)).astype(np.uint8) for name in names}
    for name, image in slices.items():
        Image.fromarray(image).save(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "sub").mkdir()
    assert [p.name for p in list_slice_files(tmp_path)] == order
    assert sorted(names, key=natural_key) == order
    info = read_info(tmp_path)
    assert (info.shape, info.dtype, info.channels, info.kind) == ((5, 12, 17), "uint8", 1, "folder")
    with ImageReader(tmp_path) as reader:
        _assert_reads(reader, np.stack([slices[n] for n in order]))


def test_folder_of_tiff_slices(tmp_path):
    stack = _rng(15).integers(0, 65536, (3, 9, 8)).astype(np.uint16)
    for z in range(3):
        tifffile.imwrite(tmp_path / f"slice_{z:03d}.tif", stack[z])
    with ImageReader(tmp_path) as reader:
        _assert_reads(reader, stack)


def test_folder_with_mismatched_slices(tmp_path):
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(tmp_path / "z1.png")
    Image.fromarray(np.zeros((10, 11), np.uint8)).save(tmp_path / "z2.png")
    with pytest.raises(SegvalError) as error:
        read_info(tmp_path)
    message = str(error.value)
    assert str(tmp_path) in message and "z2.png" in message and "same size" in message


def test_folder_with_a_16bit_slice_among_8bit(tmp_path):
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(tmp_path / "z1.png")
    Image.fromarray(np.zeros((10, 10), np.uint16)).save(tmp_path / "z2.png")
    with pytest.raises(SegvalError, match="uint16"):
        read_info(tmp_path)


def test_folder_holding_a_stack_is_rejected(tmp_path):
    tifffile.imwrite(tmp_path / "a.tif", np.zeros((2, 5, 5), np.uint8), photometric="minisblack")
    with pytest.raises(SegvalError, match="2 slices"):
        read_info(tmp_path)


def test_empty_folder(tmp_path):
    (tmp_path / "readme.md").write_text("x")
    with pytest.raises(SegvalError, match="no image files") as error:
        read_info(tmp_path)
    assert str(tmp_path) in str(error.value)


# ------------------------------------------------------------------------------------------------
# Errors name the file
# ------------------------------------------------------------------------------------------------


def _error(callable_, *args, **kwargs):
    with pytest.raises(SegvalError) as error:
        callable_(*args, **kwargs)
    return error.value


def test_missing_file(tmp_path):
    path = tmp_path / "nope.png"
    for call in (read_info, ImageReader):
        error = _error(call, path)
        assert str(path) in str(error) and "not found" in str(error)
        assert error.path == str(path)


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "image.xyz"
    path.write_bytes(b"data")
    error = _error(read_info, path)
    assert str(path) in str(error) and "'.xyz'" in str(error) and ".tif" in str(error)


def test_rgb_without_channel_and_channel_out_of_range(tmp_path):
    path = tmp_path / "rgb.png"
    Image.fromarray(np.zeros((4, 5, 3), np.uint8), "RGB").save(path)
    error = _error(ImageReader, path)
    assert str(path) in str(error) and "3 channels" in str(error) and "no channel" in str(error)
    for channel in (3, -1, 7):
        error = _error(ImageReader, path, channel=channel)
        assert (
            str(path) in str(error) and f"channel {channel}" in str(error) and "0..2" in str(error)
        )


def test_channel_on_a_grayscale_image(tmp_path):
    path = tmp_path / "gray.png"
    Image.fromarray(np.zeros((4, 5), np.uint8)).save(path)
    error = _error(ImageReader, path, channel=1)
    assert str(path) in str(error) and "one channel" in str(error)


def test_corrupt_png_header(tmp_path):
    path = tmp_path / "bad.png"
    path.write_bytes(b"this is not a png at all, not even close......")
    error = _error(read_info, path)
    assert str(path) in str(error) and "PNG" in str(error)


def test_truncated_png_body(tmp_path):
    good = tmp_path / "good.png"
    Image.fromarray(_rng(16).integers(0, 256, (30, 30), dtype=np.uint8)).save(good)
    path = tmp_path / "truncated.png"
    path.write_bytes(good.read_bytes()[:60])  # header intact, image data cut off
    assert read_info(path).shape == (1, 30, 30)  # the header alone is readable
    with ImageReader(path) as reader:
        error = _error(reader.read_slice, 0)
    assert str(path) in str(error) and "decode" in str(error)


def _corrupt_tiffs(directory):
    image = _rng(22).integers(0, 256, (64, 64)).astype(np.uint8)
    raw, compressed = directory / "ok.tif", directory / "okz.tif"
    tifffile.imwrite(raw, image)
    tifffile.imwrite(compressed, image, compression="zlib", tile=(16, 16))
    with tifffile.TiffFile(compressed) as tif:
        offset = tif.pages[0].dataoffsets[2]
    broken = bytearray(compressed.read_bytes())
    broken[offset : offset + 40] = bytes(40)
    return {
        "header-then-garbage": b"II*\x00" + b"\xff" * 20,
        "two-bytes": b"II",
        "truncated-raw": raw.read_bytes()[:2000],
        "corrupt-compressed-tile": bytes(broken),
    }


@pytest.mark.parametrize(
    "kind", ["header-then-garbage", "two-bytes", "truncated-raw", "corrupt-compressed-tile"]
)
def test_corrupt_tiff(tmp_path, kind):
    path = tmp_path / "bad.tif"
    path.write_bytes(_corrupt_tiffs(tmp_path)[kind])
    with pytest.raises(SegvalError) as error, ImageReader(path) as reader:
        reader.read_slice(0)
    assert str(path) in str(error.value)


def test_unsupported_pixel_type(tmp_path):
    path = tmp_path / "u32.tif"
    tifffile.imwrite(path, np.zeros((4, 4), np.uint32))
    error = _error(read_info, path)
    assert str(path) in str(error) and "uint32" in str(error)


# ------------------------------------------------------------------------------------------------
# Chunks, stitching, pyramids
# ------------------------------------------------------------------------------------------------


def _write_chunks(directory, image, tile, megapixels, compress=True, pyramid=None):
    """Write ``image`` (slices, height, width) as the chunk files of its plan; return (plan, paths)."""
    p = make_plan(image.shape, tile, megapixels)
    paths = []
    for chunk in p.chunks:
        path = directory / f"{chunk.id}.tif"
        tiles = (image[t.z, t.y0 : t.y1, t.x0 : t.x1] for t in p.tiles(chunk))
        write_tiles(
            path,
            tiles,
            (chunk.z1 - chunk.z0, chunk.y1 - chunk.y0, image.shape[2]),
            image.dtype,
            tile,
            compress=compress,
            pyramid=pyramid,
        )
        paths.append(str(path))
    return p, paths


def test_chunkset_reads_across_chunk_boundaries(tmp_path):
    image = _rng(17).integers(0, 65536, (2, 150, 70)).astype(np.uint16)
    p, paths = _write_chunks(tmp_path, image, 16, 0.0025)  # 2500 px: bands of 2 tile rows
    assert len(p.chunks) > 4 and all(c.z1 - c.z0 == 1 for c in p.chunks)
    bands = sorted({c.y0 for c in p.chunks})
    with ChunkSet(paths, p) as chunks:
        assert chunks.shape == image.shape and chunks.dtype == np.uint16
        _assert_reads(chunks, image, (bands, []))
    with pytest.raises(ValueError, match="chunk files"):
        ChunkSet(paths[:-1], p)


_PRIORITY_RANK = np.array([1, 3, 4, 2, 0])  # TN, FP, FN, TP, outside: FN > FP > TP > TN > outside
_CODE_OF_RANK = np.array([4, 0, 3, 1, 2])


def _pyramid_reference(image, levels, reduce):
    """Level k: ``reduce`` applied to 2 x 2 blocks k times, computed with plain numpy."""
    out = [image]
    for _ in range(levels):
        a = out[-1]
        h, w = a.shape
        if reduce == "confusion":
            ranks = np.zeros((h + h % 2, w + w % 2), np.int64)
            ranks[:h, :w] = _PRIORITY_RANK[a]
            out.append(
                _CODE_OF_RANK[ranks.reshape(ranks.shape[0] // 2, 2, -1, 2).max(axis=(1, 3))].astype(
                    a.dtype
                )
            )
        elif reduce == "max":
            padded = np.zeros((h + h % 2, w + w % 2), a.dtype)
            padded[:h, :w] = a
            out.append(padded.reshape(padded.shape[0] // 2, 2, -1, 2).max(axis=(1, 3)))
        else:  # mean of the pixels present, halves rounded up
            total = np.zeros((h + h % 2, w + w % 2))
            count = np.zeros_like(total)
            total[:h, :w], count[:h, :w] = a, 1
            sums = total.reshape(total.shape[0] // 2, 2, -1, 2).sum(axis=(1, 3))
            n = count.reshape(count.shape[0] // 2, 2, -1, 2).sum(axis=(1, 3))
            out.append(np.floor(sums / n + 0.5).astype(a.dtype))  # exact: n is 1, 2 or 4
    return out


@pytest.mark.parametrize("reduce", ["max", "mean"])
def test_write_stitched_round_trip_with_pyramid(tmp_path, reduce):
    rng = _rng(18)
    height, width = 4200, 40  # > 2 x PYRAMID_TOP: two pyramid levels, written in ~1 s
    image = (rng.random((1, height, width)) < 0.02).astype(np.uint8) * np.uint8(255)
    image[0, :, 5] = rng.integers(0, 256, height)
    assert pyramid_factors(image.shape) == [2, 4]
    p, paths = _write_chunks(tmp_path, image, 16, 0.05)
    assert len(p.chunks) >= 3
    out = tmp_path / "final" / "mask.ome.tif"
    write_stitched(out, paths, p, reduce=reduce, description="mask of sample A")
    with ImageReader(out) as reader:
        assert reader.shape == image.shape
        np.testing.assert_array_equal(reader.read_slice(0), image[0])
    expected = _pyramid_reference(image[0], 2, reduce)
    with tifffile.TiffFile(out) as tif:
        assert tif.is_ome and "mask of sample A" in tif.ome_metadata
        levels = tif.series[0].levels
        assert [lvl.shape for lvl in levels] == [(4200, 40), (2100, 20), (1050, 10)]
        for level, reference in zip(levels, expected):
            np.testing.assert_array_equal(level.asarray(), reference)
    assert [f for f in os.listdir(out.parent)] == [
        "mask.ome.tif"
    ]  # no scratch or partial file left
    if reduce == "max":  # maxima compose: level 2 is also the 4 x 4 block maximum
        np.testing.assert_array_equal(expected[2], block_max(image[0], 4))


def test_write_stitched_stack_without_pyramid(tmp_path):
    stack = _rng(19).integers(0, 4, (3, 50, 70)).astype(np.uint8)
    p, paths = _write_chunks(tmp_path, stack, 16, 0.004)  # one slice per chunk
    out = tmp_path / "confusion.ome.tif"
    write_stitched(out, paths, p, reduce="confusion")
    with ImageReader(out) as reader:
        _assert_reads(reader, stack)
    with tifffile.TiffFile(out) as tif:
        assert len(tif.series[0].levels) == 1


def test_write_stitched_is_deterministic(tmp_path):
    image = _rng(20).integers(0, 2, (1, 64, 48)).astype(np.uint8)
    p, paths = _write_chunks(tmp_path, image, 16, 0.001)
    write_stitched(tmp_path / "a" / "m.ome.tif", paths, p)
    write_stitched(tmp_path / "b" / "m.ome.tif", paths, p)
    assert (tmp_path / "a" / "m.ome.tif").read_bytes() == (
        tmp_path / "b" / "m.ome.tif"
    ).read_bytes()


def test_pyramid_factors():
    assert pyramid_factors((1, 2048, 100)) == []
    assert pyramid_factors((1, 2049, 100)) == [2]
    assert pyramid_factors((5, 100, 8193)) == [2, 4, 8]
    assert pyramid_factors((1, 1000, 1000), top=100) == [2, 4, 8, 16]


def test_pyramid_top_can_be_lowered(monkeypatch):
    monkeypatch.setattr(stitching, "PYRAMID_TOP", 100)
    assert pyramid_factors((1, 300, 300)) == [2, 4]


def _levels(path):
    with tifffile.TiffFile(path) as tif:
        return [level.asarray() for level in tif.series[0].levels]


@pytest.mark.parametrize("reduce", ["max", "mean", "confusion"])
@pytest.mark.parametrize("megapixels", [0.1, 0.02], ids=["whole-slices", "bands"])
def test_pyramids_with_a_lowered_top(tmp_path, monkeypatch, reduce, megapixels):
    """PYRAMID_TOP = 64: a 300 x 200 stack gets levels 2, 4, 8 in both directions.

    Whole-slice chunks carry their own pyramid, which stitching copies; bands do not, and stitching
    recomputes the levels.  Either way each level is the previous one reduced 2 x 2.
    """
    monkeypatch.setattr(stitching, "PYRAMID_TOP", 64)
    rng = _rng(23)
    if reduce == "confusion":
        stack = rng.choice(
            [0, 1, 2, 3, 4], size=(2, 300, 200), p=[0.9, 0.02, 0.02, 0.05, 0.01]
        ).astype(np.uint8)
    else:
        stack = rng.integers(0, 256, (2, 300, 200)).astype(np.uint8)
    p, paths = _write_chunks(tmp_path, stack, 32, megapixels, pyramid=reduce)
    assert pyramid_factors(stack.shape) == [2, 4, 8]
    out = tmp_path / "out.ome.tif"
    write_stitched(out, paths, p, reduce=reduce)
    levels = _levels(out)
    assert [lvl.shape for lvl in levels] == [(2, 300, 200), (2, 150, 100), (2, 75, 50), (2, 38, 25)]
    np.testing.assert_array_equal(levels[0], stack)
    for z in range(2):
        expected = _pyramid_reference(stack[z], 3, reduce)
        for k in range(1, 4):
            np.testing.assert_array_equal(levels[k][z], expected[k], err_msg=f"level {k} slice {z}")
    with ImageReader(out) as reader:  # the reader sees full resolution only
        assert reader.shape == stack.shape
        np.testing.assert_array_equal(reader.read(1, 31, 65, 0, 200), stack[1, 31:65])
    if megapixels == 0.1:  # whole-slice chunks: their own pyramid, readable level 0
        assert all(c.y0 == 0 and c.y1 == 300 for c in p.chunks)
        with tifffile.TiffFile(paths[0]) as tif:
            page = tif.pages[0]
            assert len(page.subifds) == 3  # the chunk's own levels, copied by stitching
            np.testing.assert_array_equal(
                page.pages[0].asarray(), _pyramid_reference(stack[0], 1, reduce)[1]
            )
        with ImageReader(paths[0]) as reader:
            np.testing.assert_array_equal(reader.read_slice(0), stack[0])


def test_downsample_reducers_used_by_pyramids_are_consistent():
    # block_mean of a band equals the matching rows of block_mean of the whole image.
    image = _rng(21).integers(0, 256, (64, 30)).astype(np.uint8)
    np.testing.assert_array_equal(block_mean(image[:32], 4), block_mean(image, 4)[:8])
    code = np.zeros((8, 8), np.uint8)
    code[3, 3] = 2
    assert block_confusion(code, 8).tolist() == [[2]]


# ------------------------------------------------------------------------------------------------
# Atomic outputs
# ------------------------------------------------------------------------------------------------


def test_atomic_output_leaves_nothing_when_the_block_raises(tmp_path):
    target = tmp_path / "deep" / "out.tsv"
    with pytest.raises(RuntimeError, match="boom"), atomic_output(target) as tmp:
        assert tmp.parent == target.parent and tmp.name.startswith(".") and tmp.suffix == ".tsv"
        tmp.write_text("half written")
        raise RuntimeError("boom")
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_atomic_output_replaces_only_on_success(tmp_path):
    target = tmp_path / "out.ome.tif"
    target.write_text("old")
    with pytest.raises(ValueError), atomic_output(target) as tmp:
        assert tmp.name.endswith(".ome.tif")  # writers that pick a format by suffix still work
        tmp.write_text("new but broken")
        raise ValueError
    assert target.read_text() == "old"
    with atomic_output(target) as tmp:
        tmp.write_text("new")
        assert target.read_text() == "old"  # not visible before the block ends
    assert target.read_text() == "new"
    assert sorted(os.listdir(tmp_path)) == ["out.ome.tif"]


def test_atomic_output_replaces_a_folder(tmp_path):
    # A rerun job (e.g. new overlay colours) writes its Deep Zoom folder again over the old one.
    target = tmp_path / "a.zoom"
    for version in ("old", "new"):
        with atomic_output(target) as tmp:
            tmp.mkdir()
            (tmp / f"{version}.png").write_text(version)
    assert sorted(os.listdir(target)) == ["new.png"]
    assert sorted(os.listdir(tmp_path)) == ["a.zoom"]


def test_the_next_write_removes_what_a_killed_writer_left(tmp_path):
    # A SIGKILLed job cannot clean up: its temporary file and scratch folder (another pid) stay
    # until the resumed run writes the same target.  Other targets' temporaries are left alone.
    target = tmp_path / "c0.tif"
    (tmp_path / ".c0.tif.partial-999.tif").write_text("half")
    (tmp_path / ".c0.tif.scratch-999").mkdir()
    (tmp_path / ".c0.tif.scratch-999" / "level1.raw").write_text("x")
    (tmp_path / ".c1.tif.partial-999.tif").write_text("another target's, maybe being written")
    with atomic_output(target) as tmp, scratch_dir(target) as scratch:
        assert scratch.is_dir()
        tmp.write_text("done")
    assert sorted(os.listdir(tmp_path)) == [".c1.tif.partial-999.tif", "c0.tif"]


def test_interrupted_tiff_writer_leaves_no_file(tmp_path):
    def tiles():
        yield np.zeros((16, 16), np.uint8)
        raise RuntimeError("disk full")

    target = tmp_path / "chunk.tif"
    with pytest.raises(RuntimeError, match="disk full"):
        write_tiles(target, tiles(), (1, 32, 32), np.uint8, 16)
    with pytest.raises(RuntimeError, match="disk full"):
        write_tiff(target, tiles(), shape=(32, 32), dtype=np.uint8, tile=(16, 16))
    assert os.listdir(tmp_path) == []
