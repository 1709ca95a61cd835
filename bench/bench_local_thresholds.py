"""Speed of segval.local_thresholds, in megapixels per second, single thread.

Usage (from the repository root)::

    .venv/bin/python bench/bench_local_thresholds.py [--size 4096] [--dtype uint8]
        [--methods local_mean,niblack,...] [--repeat 1]

Each method runs with its default parameters (and the skimage ``threshold_local`` methods also with
``block_size=35``, since their default of 3 is tiny) on one padded ``size x size`` tile (a synthetic
microscopy-like image: smooth background, blobs, noise), timing ``local_threshold`` (the mask is one
comparison more).  OpenCV is limited to one thread; numpy and scipy.ndimage are single-threaded for
these operations.  Not a test: prints a table to stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import cv2
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))

from segval.local_thresholds import (
    DEFAULT_PARAMS,
    LOCAL_METHODS,
    local_halo,
    local_threshold,
)


def synthetic(size, dtype, seed=0, bits=None):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    img = 0.2 + 0.2 * xx + 0.1 * np.sin(6.0 * yy)
    # bright round blobs ("nuclei"), each drawn in its own bounding box
    for cy, cx, rad in rng.uniform([0, 0, 0.004], [1, 1, 0.012], (400, 3)):
        y0, y1 = max(0, int((cy - 4 * rad) * size)), min(size, int((cy + 4 * rad) * size) + 1)
        x0, x1 = max(0, int((cx - 4 * rad) * size)), min(size, int((cx + 4 * rad) * size) + 1)
        d2 = (yy[y0:y1, x0:x1] - cy) ** 2 + (xx[y0:y1, x0:x1] - cx) ** 2
        img[y0:y1, x0:x1] += 0.4 * np.exp(-d2 / (2 * rad * rad))
    img += rng.normal(0.0, 0.04, img.shape).astype(np.float32)
    top = np.iinfo(dtype).max if bits is None else 2**bits - 1
    return np.clip(img * top, 0, top).astype(dtype)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--dtype", default="uint8", choices=["uint8", "uint16"])
    ap.add_argument(
        "--bits",
        type=int,
        default=None,
        help="grey range of the data, e.g. 12 for 12-bit data in uint16",
    )
    ap.add_argument("--methods", default=",".join(LOCAL_METHODS))
    ap.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="best of N runs (a single run when one takes over 10 s)",
    )
    args = ap.parse_args()
    cv2.setNumThreads(1)
    dtype = np.dtype(args.dtype)
    img = synthetic(args.size, dtype, bits=args.bits)
    mpix = img.size / 1e6
    print(
        f"image {args.size}x{args.size} {dtype} (values {img.min()}..{img.max()}), "
        f"cv2 threads {cv2.getNumThreads()}, "
        f"numpy {np.__version__}, opencv {cv2.__version__}"
    )
    print(f"{'method':16s} {'params':58s} {'halo':>4s} {'seconds':>8s} {'MP/s':>8s}")
    runs = []
    for method in args.methods.split(","):
        runs.append((method, None))
        if method in ("local_mean", "local_gaussian", "local_median"):
            runs.append((method, {"block_size": 35}))
    for method, user_params in runs:
        h = local_halo(method, user_params)
        padded = np.pad(img, h, mode="symmetric")
        local_threshold(padded[: 2 * h + 8, : 2 * h + 8], method, user_params)  # warm-up, imports
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            t = local_threshold(padded, method, user_params)
            best = min(best, time.perf_counter() - t0)
            if best > 10:
                break
        assert t.shape == img.shape
        params = {**DEFAULT_PARAMS[method], **(user_params or {})}
        params = ", ".join(f"{k}={v}" for k, v in params.items())
        print(f"{method:16s} {params:58s} {h:4d} {best:8.2f} {mpix / best:8.2f}", flush=True)


if __name__ == "__main__":
    main()
