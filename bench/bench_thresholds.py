"""Time of every global threshold method on one histogram (8-bit: the KESM tile's; 16-bit: a
synthetic 65536-bin one).  Global methods cost nothing next to the pixel work: they see the
histogram only, whatever the image size.

Run: `python bench/bench_thresholds.py`; prints microseconds per method.
"""

import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

from segval.errors import ThresholdNotFound
from segval.thresholds import GLOBAL_METHODS, threshold_from_histogram

KESM = REPO.parent / "shared" / "data" / "kesm" / "grayscale.png"


def histograms():
    import cv2

    rng = np.random.default_rng(0)
    image = (
        255 - cv2.imread(str(KESM), cv2.IMREAD_UNCHANGED)
        if KESM.exists()
        else rng.integers(0, 256, (512, 512), dtype=np.uint8)
    )
    eight = np.bincount(cv2.medianBlur(image, 3).ravel(), minlength=256)
    values = np.concatenate([rng.normal(9000, 1500, 300_000), rng.normal(30000, 4000, 60_000)])
    sixteen = np.bincount(np.clip(values, 0, 65535).astype(np.int64), minlength=65536)
    return {"8-bit (256 bins)": eight, "16-bit (65536 bins)": sixteen}


def time_method(counts, method, repeats):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        try:
            threshold_from_histogram(counts, method)
        except ThresholdNotFound:
            pass
        best = min(best, time.perf_counter() - start)
    return best


def main():
    for name, counts in histograms().items():
        print(f"{name}:")
        total = 0.0
        for spec in GLOBAL_METHODS:
            method = {"manual": "manual:100", "percentile": "percentile:95"}.get(spec, spec)
            seconds = time_method(counts, method, repeats=5 if "16" in name else 20)
            total += seconds
            print(f"  {method:18s} {seconds * 1e3:9.3f} ms")
        print(f"  {'all methods':18s} {total * 1e3:9.3f} ms")


if __name__ == "__main__":
    main()
