"""Throughput of the per-slice chain on a full-size KESM slice (17480 x 8026), one core.

read TIFF -> median 3 -> histogram -> global threshold -> mask -> counts against the truth ->
write the compressed tiled mask + a downsampled preview PNG, tile by tile, with segval's library
functions (the same the workflow's steps call), OpenCV restricted to one thread.

Run: `python bench/bench_chain.py [--tile 1024]`; prints MP/s per stage and overall.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import tifffile

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

from segval.denoise import apply_chain, invert
from segval.downsample import block_confusion, block_mean, factor_for
from segval.histograms import SliceAccumulator
from segval.io import ImageReader, write_png
from segval.masks import apply_threshold
from segval.metrics import add_counts, confusion_counts, confusion_map
from segval.overlay import overlay
from segval.phantom import make_phantom
from segval.stitching import write_tiles
from segval.thresholds import threshold_from_histogram
from segval.tiling import plan, read_padded

HEIGHT, WIDTH = 8026, 17480


class Stopwatch:
    def __init__(self):
        self.seconds = {}

    def time(self, stage, function, *args):
        start = time.perf_counter()
        result = function(*args)
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start
        return result


def make_inputs(folder):
    image, truth = make_phantom((HEIGHT, WIDTH), seed=5)
    tifffile.imwrite(folder / "slice.tif", image, photometric="minisblack")
    tifffile.imwrite(folder / "truth.tif", truth.view(np.uint8), photometric="minisblack")


def run_chain(folder, tile_size):
    watch = Stopwatch()
    cuts = plan((1, HEIGHT, WIDTH), tile_size, 1e9)
    chunk = cuts.chunks[0]
    chain = [("median", 3)]
    # Pass 1: denoise and histogram (the workflow stores the denoised tiles; here they stay in memory
    # only to separate the stages' costs, not the chain's memory).
    denoised = {}
    stats = SliceAccumulator(np.uint8, 1)
    with ImageReader(folder / "slice.tif") as reader:
        for tile in cuts.tiles(chunk):
            region = (tile.y0, tile.y1, tile.x0, tile.x1)
            padded = watch.time("read TIFF", read_padded, reader.read, cuts.shape, 0, *region, 1)
            padded = watch.time("invert", invert, padded, np.uint8)
            core = watch.time("median 3", apply_chain, padded, chain, region, (HEIGHT, WIDTH))
            watch.time("histogram", stats.add, 0, core, tile.row, tile.col)
            denoised[tile] = core
    threshold = watch.time("threshold", threshold_from_histogram, stats.counts[0], "otsu")
    # Pass 2: mask, counts, compressed mask, preview.
    counts = []
    factor = factor_for((HEIGHT, WIDTH), 4 * 2**20)
    preview_rows, preview_codes = {}, {}
    with ImageReader(folder / "truth.tif") as truths, ImageReader(folder / "slice.tif") as reader:

        def mask_tiles():
            for tile in cuts.tiles(chunk):
                mask = watch.time("mask", apply_threshold, denoised[tile], threshold)
                truth = (
                    watch.time("read truth", truths.read, 0, tile.y0, tile.y1, tile.x0, tile.x1)
                    != 0
                )
                counts.append(watch.time("counts", confusion_counts, truth, mask))
                code = confusion_map(truth, mask)
                gray = reader.read(0, tile.y0, tile.y1, tile.x0, tile.x1)
                preview_rows.setdefault(tile.row, []).append(
                    watch.time("preview", block_mean, gray, factor)
                )
                preview_codes.setdefault(tile.row, []).append(
                    watch.time("preview", block_confusion, code, factor)
                )
                yield mask.view(np.uint8) * np.uint8(255)

        watch.time(
            "write mask (PackBits)",
            write_tiles,
            folder / "mask.tif",
            mask_tiles(),
            (1, HEIGHT, WIDTH),
            np.uint8,
            tile_size,
        )
    rows = sorted(preview_rows)
    gray = np.concatenate([np.concatenate(preview_rows[r], axis=1) for r in rows])
    code = np.concatenate([np.concatenate(preview_codes[r], axis=1) for r in rows])
    # The writer pulls the tiles, so its time includes the stages above: report it net of them.
    pulled = sum(watch.seconds[stage] for stage in ("mask", "read truth", "counts", "preview"))
    watch.seconds["write mask (PackBits)"] -= pulled
    watch.time("preview PNG", lambda: write_png(folder / "preview.png", overlay(gray, code)))
    return watch.seconds, add_counts(*counts), threshold


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tile", type=int, default=1024)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    megapixels = HEIGHT * WIDTH / 1e6
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        make_inputs(folder)
        started = time.perf_counter()
        seconds, counts, threshold = run_chain(folder, args.tile)
        total = time.perf_counter() - started
    print(
        f"slice {WIDTH} x {HEIGHT} = {megapixels:.0f} MP, tile {args.tile}, one thread; Otsu {threshold:g}"
    )
    for stage, value in seconds.items():
        print(f"  {stage:24s} {value:6.3f} s  {megapixels / value:8.0f} MP/s")
    print(f"  {'whole chain':24s} {total:6.3f} s  {megapixels / total:8.0f} MP/s")
    return total


if __name__ == "__main__":
    main()
