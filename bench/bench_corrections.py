"""Throughput of the artifact corrections and of the mask clean-up, one thread.

Image: a 4096 x 4096 KESM-like phantom (segval.phantom), inverted (vessels bright) and multiplied
by a steep illumination ramp, uint8; the uint16 figures use the same image times 257 plus random
low bytes.  Each step runs tile by tile (``--tile``, default 1024, segval's default tile size) on
tiles read with the step's halo through ``segval.tiling.read_padded``, as the workflow would; the
figure is megapixels of *image* per second (halo overhead included).  ``--tile 0`` runs each step
once on the whole padded image instead.  The mask clean-up runs on the Otsu mask of the same image
(a whole slice at once, as it must).

Run: ``python bench/bench_corrections.py [--size 4096] [--tile 1024] [--quick]``.
"""

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

from segval import corrections as C
from segval.histograms import tile_histogram
from segval.phantom import make_phantom
from segval.postprocess import fill_small_holes, remove_small_objects
from segval.thresholds import threshold_from_histogram
from segval.tiling import read_padded


def make_image(size):
    image, _ = make_phantom((size, size), seed=7)
    ramp = np.linspace(0.5, 1.0, size)[None, :]
    inverted = 255 - np.rint(image * ramp).astype(np.uint8)
    low = np.random.default_rng(0).integers(0, 256, inverted.shape, dtype=np.uint16)
    return inverted, inverted.astype(np.uint16) * 257 + low


def run_tiled(image, function, radius, tile, geometry=False):
    height, width = image.shape
    tile = tile or max(height, width)

    def read(z, y0, y1, x0, x1):
        return image[y0:y1, x0:x1]

    out = np.empty_like(image)
    for y0 in range(0, height, tile):
        for x0 in range(0, width, tile):
            y1, x1 = min(y0 + tile, height), min(x0 + tile, width)
            padded = read_padded(read, (1, height, width), 0, y0, y1, x0, x1, radius)
            if geometry:
                result = function(padded, (y0 - radius, x0 - radius), (height, width))
            else:
                result = function(padded)
            out[y0:y1, x0:x1] = result[radius:-radius, radius:-radius] if radius else result
    return out


def timed(label, pixels, function, repeat=1):
    """Print the best of ``repeat`` timings (after imports: the warm-up below)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    print(f"{label:<44s} {best:8.2f} s {pixels / best / 1e6:9.1f} MP/s", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--tile", type=int, default=1024)
    parser.add_argument("--quick", action="store_true", help="skip the slowest uint16 steps")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    image8, image16 = make_image(args.size)
    # Warm-up: import scipy.ndimage and OpenCV's code paths outside the timings.
    C.gaussian(image8[:64, :64], 1.0)
    C.background(image8[:64, :64], "median", 3)
    pixels = image8.size
    tile = args.tile
    print(
        f"{args.size} x {args.size}, tile {tile or 'whole'}, one thread, OpenCV {cv2.__version__}"
    )

    steps = [
        ("gaussian sigma 1", lambda t: C.gaussian(t, 1.0), C.gaussian_radius(1.0)),
        ("gaussian sigma 3", lambda t: C.gaussian(t, 3.0), C.gaussian_radius(3.0)),
    ]
    for method, size, shape in (
        ("median", 51, "disk"),
        ("tophat", 51, "disk"),
        ("tophat", 51, "square"),
        ("rolling_ball", 25, "disk"),
        ("rolling_ball", 51, "disk"),
    ):
        label = f"background {method} {size}" + (" square" if shape == "square" else "")
        steps.append(
            (
                label,
                lambda t, m=method, s=size, sh=shape: C.background(t, m, s, shape=sh),
                C.background_radius(method, size),
            )
        )
    for dtype, image in (("uint8", image8), ("uint16", image16)):
        print(f"-- {dtype}")
        for label, function, radius in steps:
            if dtype == "uint16" and args.quick and "rolling" in label:
                continue
            timed(label, pixels, lambda f=function, r=radius, im=image: run_tiled(im, f, r, tile))
        for region in (64, 128):
            radius = C.clahe_radius(region)
            timed(
                f"clahe clip 2, regions {region}",
                pixels,
                lambda reg=region, r=radius, im=image: run_tiled(
                    im,
                    lambda t, o, s: C.clahe(t, 2.0, reg, origin=o, image_size=s),
                    r,
                    tile,
                    geometry=True,
                ),
            )
        lut = C.equalization_lut(tile_histogram(image), image.dtype)
        timed("equalisation (apply the LUT)", pixels, lambda im=image, lu=lut: C.apply_lut(im, lu))

    corrected = run_tiled(image8, lambda t: C.background(t, "median", 51), 25, tile)
    threshold = threshold_from_histogram(tile_histogram(corrected), "otsu")
    mask = corrected > threshold
    print(f"-- mask: Otsu of the median-corrected image, {mask.mean():.1%} foreground")
    timed(
        "remove_small_objects 30 px, 8-conn.", pixels, lambda: remove_small_objects(mask, 30, 2), 3
    )
    timed(
        "remove_small_objects 30 px, 4-conn.", pixels, lambda: remove_small_objects(mask, 30, 1), 3
    )
    timed("fill_small_holes 30 px, 4-conn.", pixels, lambda: fill_small_holes(mask, 30, 1), 3)
    timed("fill_small_holes 30 px, 8-conn.", pixels, lambda: fill_small_holes(mask, 30, 2), 3)
    from skimage import morphology  # reference only, for comparison

    timed(
        "(skimage remove_small_objects, 8-conn.)",
        pixels,
        lambda: morphology.remove_small_objects(mask, max_size=29, connectivity=2),
    )
    timed(
        "(skimage remove_small_holes, 4-conn.)",
        pixels,
        lambda: morphology.remove_small_holes(mask, max_size=30, connectivity=1),
    )


if __name__ == "__main__":
    main()
