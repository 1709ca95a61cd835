"""Boundary metrics (HD, HD95, ASSD) on a 4096 x 4096 phantom: whole image vs tiles, one process.

Two mask pairs against the phantom's exact truth (``make_phantom((4096, 4096), seed=3)``):

- ``shifted``: the truth shifted by (2, -1) pixels (no wrap-around) and dilated once (its HD comes
  from a capillary tip on the bottom edge that the shift pushes out of the image);
- ``otsu``: the usual pipeline's prediction (invert, 3 x 3 median, Otsu's threshold), with its
  speckles and missed capillaries (some distances exceed a small halo).

For each: segval's whole-image ``boundary_metrics``; the tiled path (``tiled_boundary_distances``,
tiles of 1024 with a halo of 64, then ``reduce``), and, as a reference of what others pay, a
MetricsReloaded-style computation (two ``distance_transform_edt`` distance maps of the boundaries,
as ``BinaryPairwiseMeasures.border_distance``).  Prints seconds and the figures; checks that the
tiled result equals the whole one when nothing is unresolved.

Run: `python bench/bench_boundary.py [--size 4096] [--tile 1024] [--halo 64]` (~1-2 min).
"""

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import cv2
import numpy as np
import scipy.ndimage as ndi

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

from segval.boundary import (
    boundary_metrics,
    halo_to_resolve,
    reduce,
    tiled_boundary_distances,
    tiled_boundary_metrics,
)
from segval.phantom import make_phantom
from segval.thresholds import threshold_from_histogram


def metricsreloaded_style(truth, predicted):
    """HD, HD95, ASSD as MetricsReloaded computes them (distance maps of both boundaries)."""
    bt = truth & ~ndi.binary_erosion(truth)
    bp = predicted & ~ndi.binary_erosion(predicted)
    to_truth = ndi.distance_transform_edt(~bt)
    to_predicted = ndi.distance_transform_edt(~bp)
    d_tp, d_pt = to_predicted[bt], to_truth[bp]
    return {
        "hd": max(d_tp.max(), d_pt.max()),
        "hd95": max(np.percentile(d_tp, 95), np.percentile(d_pt, 95)),
        "assd": (d_tp.sum() + d_pt.sum()) / (d_tp.size + d_pt.size),
    }


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def peak_mib(function, *args):
    """Peak of numpy's (traced) allocations while ``function`` runs, in MiB, and its result."""
    tracemalloc.start()
    try:
        result = function(*args)
        return result, tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--tile", type=int, default=1024)
    parser.add_argument("--halo", type=int, default=64)
    args = parser.parse_args()
    shape = (args.size, args.size)

    (image, truth), seconds = timed(make_phantom, shape, seed=3)
    print(f"phantom {shape[0]} x {shape[1]}: {seconds:.1f} s, {truth.mean():.2%} vessel pixels")
    shifted = np.zeros_like(truth)
    shifted[2:, :-1] = truth[:-2, 1:]
    shifted = ndi.binary_dilation(shifted)
    denoised = cv2.medianBlur(255 - image, 3)
    threshold = threshold_from_histogram(np.bincount(denoised.ravel(), minlength=256), "otsu")
    otsu = denoised > np.floor(threshold)

    for name, predicted in (("shifted", shifted), ("otsu", otsu)):
        print(f"\n== truth vs {name} prediction ==")
        whole, t_whole = timed(boundary_metrics, truth, predicted)
        summaries, t_tiles = timed(
            tiled_boundary_distances, truth, predicted, 1.0, args.tile, args.halo
        )
        tiled, t_reduce = timed(reduce, summaries)
        reference, t_reference = timed(metricsreloaded_style, truth, predicted)
        _, whole_mib = peak_mib(boundary_metrics, truth, predicted)
        _, tiled_mib = peak_mib(
            tiled_boundary_distances, truth, predicted, 1.0, args.tile, args.halo
        )
        boundary = whole["truth_boundary"] + whole["predicted_boundary"]
        print(f"boundary pixels: {boundary:,}")
        print(f"whole image (boundary_metrics):          {t_whole:6.2f} s")
        print(
            f"tiled, {args.tile} + halo {args.halo} ({len(summaries)} tiles):  "
            f"{t_tiles:6.2f} s + reduce {t_reduce:.3f} s"
        )
        print(f"MetricsReloaded-style distance maps:      {t_reference:6.2f} s")
        print(
            f"peak traced allocations: whole {whole_mib:.0f} MiB, tiled {tiled_mib:.0f} MiB "
            f"(inputs not counted)"
        )
        for key in ("hd", "hd95", "assd"):
            print(
                f"  {key:5s} whole {whole[key]:.6f}   tiled {tiled[key]:.6f} "
                f"[{tiled[key + '_lower']:.6f}, {tiled[key + '_upper']:.6f}]   "
                f"MR-style {reference[key]:.6f}"
            )
        print(f"  unresolved (tiled): {tiled['unresolved']:,}")
        if tiled["unresolved"] == 0:
            assert tiled == whole, "tiled differs from whole"
            print("  tiled == whole: bit-identical")
        else:
            halo = halo_to_resolve(tiled, 1.0)
            print(f"  halo_to_resolve: {halo}")
            if halo is not None:
                resolved, t_resolved = timed(
                    tiled_boundary_metrics, truth, predicted, 1.0, args.tile, halo
                )
                assert resolved == whole, "re-tiled differs from whole"
                print(f"  re-tiled with halo {halo}: {t_resolved:.2f} s, == whole: bit-identical")


if __name__ == "__main__":
    main()
