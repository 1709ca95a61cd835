"""OME-Zarr against TIFF: reading a 4096 x 4096 uint8 phantom tile by tile (with a 16-pixel halo, as
the denoise step reads it), and writing a mask tile by tile (chunk TIFF vs OME-Zarr band writer).

Inputs: an uncompressed tiled TIFF (memory-mapped), a zlib tiled TIFF, an OME-Zarr image with
1024 x 1024 chunks as NGFF 0.4 (Zarr v2, Blosc-zstd) and as NGFF 0.5 (Zarr v3, zstd), written by
ome-zarr-py when it is installed (else by segval's own writer, 0.4 only).  One process, one core.

Run: `python bench/bench_zarr.py [--size 4096] [--tile 1024]`; prints MP/s.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import zarr

from segval import ngff
from segval.io import ImageReader
from segval.phantom import make_phantom
from segval.stitching import BandWriter, write_tiles
from segval.tiling import plan, read_padded

zarr.config.set({"threading.max_workers": 1})


def read_all(path, shape, tile, halo=16):
    """Seconds to read every tile of slice 0 with its halo, and a checksum."""
    cuts = plan(shape, tile, 1e9)
    start = time.perf_counter()
    total = 0
    with ImageReader(path) as reader:
        for t in cuts.tiles(cuts.chunks[0]):
            block = read_padded(reader.read, shape, t.z, t.y0, t.y1, t.x0, t.x1, halo)
            total += int(block[halo:-halo, halo:-halo].sum(dtype=np.int64))
    return time.perf_counter() - start, total


def write_ome_zarr(path, image, version, tile):
    from ome_zarr.format import FormatV04, FormatV05
    from ome_zarr.writer import write_image

    fmt = FormatV04() if version == "0.4" else FormatV05()
    group = zarr.open_group(str(path), mode="w", zarr_format=fmt.zarr_format)
    write_image(
        image,
        group,
        axes="yx",
        fmt=fmt,
        storage_options={"chunks": (tile, tile)},
        scale_factors=[2, 4],
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--tile", type=int, default=1024)
    args = parser.parse_args()
    size, tile = args.size, args.tile
    image, truth = make_phantom((size, size), seed=1)
    mask = truth.astype(np.uint8) * 255
    shape = (1, size, size)
    megapixels = size * size / 1e6
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        inputs = {}
        tifffile.imwrite(scratch / "raw.tif", image, tile=(tile, tile), photometric="minisblack")
        inputs["TIFF tiled, uncompressed"] = scratch / "raw.tif"
        tifffile.imwrite(
            scratch / "zlib.tif",
            image,
            tile=(tile, tile),
            photometric="minisblack",
            compression="zlib",
        )
        inputs["TIFF tiled, zlib"] = scratch / "zlib.tif"
        try:
            for version in ("0.4", "0.5"):
                write_ome_zarr(scratch / f"v{version}.ome.zarr", image, version, tile)
                codec = "Zarr v2" if version == "0.4" else "Zarr v3"
                inputs[f"OME-Zarr {version} ({codec}, ome-zarr-py's codec)"] = (
                    scratch / f"v{version}.ome.zarr"
                )
        except ImportError:
            pass
        ngff.create(scratch / "segval.building", shape, np.uint8, tile, "mean")
        writer = BandWriter(scratch / "segval.building")
        for t in plan(shape, tile, 1e9).tiles(plan(shape, tile, 1e9).chunks[0]):
            writer.put(t.z, t.y0, t.x0, image[t.y0 : t.y1, t.x0 : t.x1])
        ngff.finish(scratch / "segval.building", scratch / "segval.ome.zarr")
        inputs["OME-Zarr 0.4 (Zarr v2, segval's Blosc-zstd1)"] = scratch / "segval.ome.zarr"

        print(f"read {size} x {size} uint8 by {tile}-pixel tiles with a 16-pixel halo, one core:")
        checksums = set()
        for name, path in inputs.items():
            seconds, checksum = min(read_all(path, shape, tile) for _ in range(3))
            checksums.add(checksum)
            print(f"  {name:48s} {megapixels / seconds:8.0f} MP/s")
        assert len(checksums) == 1, "every format reads the same pixels"

        cuts = plan(shape, tile, 1e9)
        tiles = [(t, mask[t.y0 : t.y1, t.x0 : t.x1]) for t in cuts.tiles(cuts.chunks[0])]
        print(f"write a {size} x {size} 0/255 mask tile by tile:")
        start = time.perf_counter()
        write_tiles(
            scratch / "chunk.tif", (m for _, m in tiles), shape, np.uint8, tile, pyramid="max"
        )
        seconds = time.perf_counter() - start
        print(f"  {'chunk TIFF (PackBits, with pyramid)':48s} {megapixels / seconds:8.0f} MP/s")
        start = time.perf_counter()
        ngff.create(scratch / "mask.building", shape, np.uint8, tile, "max")
        for _ in BandWriter(scratch / "mask.building").passing(
            (m for _, m in tiles), [(t.z, t.y0, t.x0) for t, _ in tiles]
        ):
            pass
        ngff.finish(scratch / "mask.building", scratch / "mask.ome.zarr")
        seconds = time.perf_counter() - start
        print(f"  {'OME-Zarr 0.4 (Blosc-zstd, with pyramid)':48s} {megapixels / seconds:8.0f} MP/s")
        zarr_bytes = sum(
            f.stat().st_size for f in (scratch / "mask.ome.zarr").rglob("*") if f.is_file()
        )
        print(
            f"  sizes: chunk TIFF {(scratch / 'chunk.tif').stat().st_size / 1e6:.2f} MB, OME-Zarr {zarr_bytes / 1e6:.2f} MB"
        )


if __name__ == "__main__":
    main()
