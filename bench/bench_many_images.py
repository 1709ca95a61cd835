"""Cost follows pixels: the workflow against a plain single-process script, on many ordinary images.

For each case the script generates its own images (KESM-like phantoms with exact truth, written as
RGB TIFFs with a circular field-of-view ROI, like a retinal data set), runs

- the workflow (`snakemake --cores N` in a fresh directory; jobs counted from its benchmark files), and
- a baseline: one Python process that reads the same files and writes the same kind of outputs with
  segval's library (median, histogram in the ROI, every method's threshold, mask PNG, overlay PNG,
  confusion counts in the ROI),

side by side, checks that both found the same counts, and prints wall times, their ratio and the
job count.  Cases (`--cases`, comma-separated):

| case | what | goal (issue "cost follows pixels") |
|---|---|---|
| `small` | 20 RGB images ~600 x 600, ROI, 7 global methods, `--cores 2` | wall <= 5 x baseline, <= 100 jobs |
| `many` | 500 images 512 x 512, 10 methods, `--cores 2` | wall <= 3 x baseline |
| `dry` | 10 000 images x 10 methods, dry run only | < 30 s |

(One full-size slice against `bench/bench_chain.py` and the 799-slice projection are
`bench/bench_workflow.py`'s.)

Run: `python bench/bench_many_images.py [--cases small,many,dry] [--many-images 500] [--keep DIR]`.
Prints a Markdown table and writes it to bench/out/many_images.md.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import tifffile
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

from segval.denoise import apply_chain, invert
from segval.errors import ThresholdNotFound
from segval.histograms import tile_histogram
from segval.metrics import confusion_counts, confusion_map
from segval.overlay import overlay
from segval.phantom import make_phantom
from segval.thresholds import threshold_from_histogram

SEVEN = ["otsu", "li", "yen", "triangle", "isodata", "mean", "minimum"]
TEN = SEVEN + ["ij_huang", "ij_moments", "percentile:88"]
CASES = {
    # name: (images, (height, width), methods, cores, dry run only)
    "small": (20, (584, 565), SEVEN, 2, False),
    "many": (500, (512, 512), TEN, 2, False),
    "dry": (10_000, (512, 512), TEN, 2, True),
}


def make_images(folder, count, shape, write_pixels=True):
    """``count`` RGB phantoms (green channel = the phantom) with truth and a disc ROI; the sheet."""
    folder.mkdir(parents=True, exist_ok=True)
    height, width = shape
    yy, xx = np.mgrid[:height, :width]
    roi = ((yy - height / 2) / (0.48 * height)) ** 2 + ((xx - width / 2) / (0.48 * width)) ** 2 <= 1
    roi = roi.astype(np.uint8) * 255
    cv2.imwrite(str(folder / "roi.png"), roi)
    rows = ["sample\timage\tground_truth\troi"]
    for index in range(count):
        name = f"img{index:05d}"
        image_path, truth_path = folder / f"{name}.tif", folder / f"{name}_truth.png"
        if write_pixels or index == 0:
            gray, truth = make_phantom(shape, seed=index)
            rgb = np.dstack([gray // 2, gray, gray // 3])
            tifffile.imwrite(image_path, rgb, photometric="rgb")
            cv2.imwrite(str(truth_path), truth.astype(np.uint8) * 255)
        else:
            # A dry run needs real headers (the workflow plans its jobs from the image shapes; an
            # empty file would be planned as a large image, chunk by chunk), not distinct pixels:
            # hard links to the first image cost no disk.
            os.link(folder / "img00000.tif", image_path)
            os.link(folder / "img00000_truth.png", truth_path)
        rows.append(f"{name}\t{image_path}\t{truth_path}\t{folder / 'roi.png'}")
    sheet = folder / "samples.tsv"
    sheet.write_text("\n".join(rows) + "\n")
    return sheet


def baseline(sheet, methods, out):
    """One process, the same work: per image, median 3 of the inverted green channel, histogram in
    the ROI, each method's threshold, mask PNG, overlay PNG and counts in the ROI."""
    out.mkdir(parents=True, exist_ok=True)
    lines = sheet.read_text().splitlines()[1:]
    roi_cache = {}
    counts = {}
    start = time.perf_counter()
    for line in lines:
        name, image_path, truth_path, roi_path = line.split("\t")
        green = tifffile.imread(image_path)[..., 1]
        truth = cv2.imread(truth_path, cv2.IMREAD_GRAYSCALE) > 0
        roi = roi_cache.setdefault(roi_path, cv2.imread(roi_path, cv2.IMREAD_GRAYSCALE) > 0)
        padded = np.pad(invert(green, green.dtype), 1, mode="symmetric")
        denoised = apply_chain(
            padded, [("median", 3)], (0, green.shape[0], 0, green.shape[1]), green.shape
        )
        histogram = tile_histogram(denoised, roi)
        for method in methods:
            try:
                threshold = threshold_from_histogram(histogram, method)
            except ThresholdNotFound:  # the workflow reports it (status), with no counts
                continue
            mask = (denoised > threshold) & roi
            counts[name, method] = confusion_counts(truth, mask, roi=roi)
            stem = f"{name}.{method.replace(':', '-')}"
            cv2.imwrite(str(out / f"{stem}.mask.png"), mask.astype(np.uint8) * 255)
            code = confusion_map(truth, mask, roi=roi)
            cv2.imwrite(str(out / f"{stem}.overlay.png"), overlay(green, code)[..., ::-1])
    return time.perf_counter() - start, counts


def workflow(sheet, methods, cores, workdir, dry_run):
    """Wall time and job count of the workflow (a dry run: the planned jobs before the checkpoint)."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = {
        "samples": str(sheet),
        "invert": True,
        "channel": 1,
        "median_size": 3,
        "methods": methods,
        "metrics": {"boundary": False},
    }
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(workdir / "config.yaml"),
        "--cores",
        str(cores),
    ]
    command += ["--dry-run", "--quiet", "rules"] if dry_run else ["--quiet", "all"]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"workflow failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    if dry_run:
        total = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("total")]
        return wall, int(total[0]) if total else None
    return wall, sum(1 for _ in (workdir / "benchmarks").rglob("*.tsv"))


def workflow_counts(workdir, methods, names):
    """The workflow's (sample, method) counts, from its summary table."""
    import csv

    with open(workdir / "results" / "summary.tsv") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    by_key = {(row["sample"], row["method"]): row for row in rows}
    counts = {}
    for name in names:
        for method in methods:
            row = by_key.get((name, method.replace(":", "-")))
            if row and row["tp"] not in ("", None):
                counts[name, method] = {k: int(row[k]) for k in ("tp", "fp", "fn", "tn")}
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default="small,many,dry")
    parser.add_argument("--many-images", type=int, default=500, help="images in the `many` case")
    parser.add_argument("--dry-images", type=int, default=10_000, help="images in the `dry` case")
    parser.add_argument("--keep", type=Path, help="keep the data and runs in this folder")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        root = args.keep or Path(scratch)
        for case in args.cases.split(","):
            count, shape, methods, cores, dry_run = CASES[case]
            count = {"many": args.many_images, "dry": args.dry_images}.get(case, count)
            folder = root / case
            sheet = make_images(folder / "data", count, shape, write_pixels=not dry_run)
            wall, jobs = workflow(sheet, methods, cores, folder / "run", dry_run)
            print(f"{case}: workflow {wall:.1f} s, {jobs} jobs", flush=True)
            if dry_run:
                rows.append((case, count, len(methods), cores, jobs, f"{wall:.1f}", "", ""))
                print(rows[-1], flush=True)
                continue
            base, expected = baseline(sheet, methods, folder / "baseline")
            got = workflow_counts(folder / "run", methods, [f"img{i:05d}" for i in range(count)])
            # Pairs where a method found no threshold are reported by the workflow, skipped by
            # the baseline: compared are the pairs the baseline counted.
            differ = sum(got.get(key) != value for key, value in expected.items())
            same = "yes" if not differ else f"NO ({differ} of {len(expected)} differ)"
            rows.append(
                (
                    case,
                    count,
                    len(methods),
                    cores,
                    jobs,
                    f"{wall:.1f}",
                    f"{base:.1f}",
                    f"{wall / base:.1f}",
                    same,
                )
            )
            print(rows[-1], flush=True)
    header = (
        "| case | images | methods | cores | jobs | workflow s | baseline s | ratio | same counts |"
    )
    table = [header, "|" + "---|" * 9] + [
        "| " + " | ".join(str(v) for v in row) + " |" for row in rows
    ]
    text = "\n".join(table)
    print(text)
    out = REPO / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "many_images.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
