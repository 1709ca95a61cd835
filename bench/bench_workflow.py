"""The workflow on full-size KESM data: one 17480 x 8026 slice, and a stack of such slices.

Measures, from Snakemake's own `benchmark:` files (seconds and peak RSS of every job):
- per rule: jobs, summed seconds, peak RSS (the bounded-memory goal: <= 2 GB per job, whatever the
  number of slices);
- the whole run: wall time, summed job time, and wall / (summed job time / cores) — how much
  orchestration (Snakemake, Python start-up, waiting) adds to the compute;
- a projection to the full 799-slice volume on one 16-core node.

Run: `python bench/bench_workflow.py [--slices 16] [--cores 2] [--methods otsu,li] [--keep DIR]` (~15 min for 16 slices
on 2 cores; needs ~8 GB of disk).  Prints Markdown tables and writes them to bench/out/workflow.md.
"""

import argparse
import csv
import math
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

from segval.phantom import make_phantom
from segval.runner import peak_rss_by_rule

HEIGHT, WIDTH = 8026, 17480
DEFAULT_METHODS = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["methods"]
TRACED_EVERY = 5  # ground truth on every fifth slice, as expert tracing is expensive
DENOISED = (
    True  # --no-denoised: the setting for huge volumes (no stitched copy of the denoised image)
)


def make_stack(folder, slices):
    """A stack of phantom slices (uncompressed BigTIFF, written slice by slice) and its traced slices."""
    traced = list(range(0, slices, TRACED_EVERY))
    truths = {}

    def pages():
        for z in range(slices):
            image, truth = make_phantom((HEIGHT, WIDTH), seed=7, z=z)
            if z in traced:
                truths[z] = np.packbits(truth)
            yield image

    tifffile.imwrite(
        folder / "stack.tif",
        pages(),
        shape=(slices, HEIGHT, WIDTH),
        dtype=np.uint8,
        bigtiff=True,
        photometric="minisblack",
        metadata={"axes": "ZYX"},
    )
    masks = (
        np.unpackbits(truths[z], count=HEIGHT * WIDTH).reshape(HEIGHT, WIDTH) * np.uint8(255)
        for z in traced
    )
    tifffile.imwrite(
        folder / "truth.tif",
        masks,
        shape=(len(traced), HEIGHT, WIDTH),
        dtype=np.uint8,
        bigtiff=True,
        photometric="minisblack",
        metadata={"axes": "ZYX"},
        compression="packbits",
        rowsperstrip=256,
    )
    return traced


def run(workdir, sheet, traced, cores, methods):
    config = {
        "samples": str(sheet),
        "invert": True,
        "median_size": 3,
        "methods": methods,
        "metrics": {"boundary": False},
        "outputs": {"denoised": DENOISED},
    }
    workdir.mkdir(parents=True, exist_ok=True)
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
        "--quiet",
        "all",
    ]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


def job_table(workdir):
    """{rule: (jobs, seconds, peak MB)}: seconds from Snakemake's benchmark files (the whole job,
    Python start-up included), peak RSS from the steps' own last log line (getrusage: exact, where
    the benchmark's sampling misses short jobs)."""
    rules = {}
    for path in (workdir / "benchmarks").rglob("*.tsv"):
        parts = path.relative_to(workdir / "benchmarks").parts
        rule = parts[0].removesuffix(".tsv")
        if rule == "batch":  # batch/<batch>/<step>.tsv: the jobs of images that fit one chunk
            rule = "batch " + parts[-1].removesuffix(".tsv").split(".")[0]
        with open(path) as handle:
            row = next(csv.DictReader(handle, delimiter="\t"))
        jobs, seconds, peak = rules.get(rule, (0, 0.0, 0.0))
        rules[rule] = (jobs + 1, seconds + float(row["s"]), peak)
    for rule, megabytes in peak_rss_by_rule(workdir / "logs").items():
        batch = re.fullmatch(r"(\w+?)_b\d{4}(_\w+)?", rule)
        rule = f"batch {batch.group(1)}" if batch else rule
        if rule in rules:
            jobs, seconds, _ = rules[rule]
            rules[rule] = (jobs, seconds, float(megabytes))
    return rules


def disk_footprint(workdir):
    """Markdown table of the bytes under each folder of results/ (one per output kind)."""
    lines = ["| output kind | files | GB |", "|---|---|---|"]
    for folder in sorted(p for p in (workdir / "results").iterdir() if p.is_dir()):
        files = [f for f in folder.rglob("*") if f.is_file()]
        size = sum(f.stat().st_size for f in files)
        lines.append(f"| results/{folder.name} | {len(files)} | {size / 1e9:.3f} |")
    return "\n".join(lines) + "\n"


def report(title, rules, wall, cores, megapixels):
    total = sum(seconds for _, seconds, _ in rules.values())
    lines = [f"### {title}", "", "| rule | jobs | seconds | peak RSS (MB) |", "|---|---|---|---|"]
    for rule, (jobs, seconds, peak) in sorted(rules.items(), key=lambda item: -item[1][1]):
        lines.append(f"| {rule} | {jobs} | {seconds:.1f} | {peak:.0f} |")
    lines += [
        "",
        f"- wall time {wall:.1f} s at --cores {cores}; summed job time {total:.1f} s; "
        f"wall / (summed / cores) = {wall / (total / cores):.2f}",
        f"- throughput: {megapixels / wall:.1f} MP/s wall, {megapixels / total:.1f} MP/s per core of job time",
        "",
    ]
    return "\n".join(lines), total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=16)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument("--no-denoised", action="store_true", help="outputs.denoised: false")
    parser.add_argument(
        "--methods",
        default=",".join(DEFAULT_METHODS),
        help="comma-separated threshold methods (default: config/config.yaml's)",
    )
    args = parser.parse_args()
    methods = args.methods.split(",")
    global DENOISED
    DENOISED = not args.no_denoised
    out = []
    with tempfile.TemporaryDirectory() as scratch:
        root = args.keep or Path(scratch)
        root.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        traced = make_stack(root, args.slices)
        print(
            f"made a {args.slices}-slice stack in {time.perf_counter() - started:.0f} s", flush=True
        )
        # One full-size slice, one core: per-rule cost and memory of the per-slice chain.
        tifffile.imwrite(
            root / "slice.tif", tifffile.imread(root / "stack.tif", key=0), photometric="minisblack"
        )
        tifffile.imwrite(
            root / "slice_truth.tif",
            tifffile.imread(root / "truth.tif", key=0),
            photometric="minisblack",
            compression="packbits",
        )
        sheet = root / "slice.tsv"
        sheet.write_text(
            f"sample\timage\tground_truth\nslice\t{root / 'slice.tif'}\t{root / 'slice_truth.tif'}\n"
        )
        wall = run(root / "slice_run", sheet, [0], 1, methods)
        text, slice_total = report(
            "One 17480 x 8026 slice, --cores 1",
            job_table(root / "slice_run"),
            wall,
            1,
            HEIGHT * WIDTH / 1e6,
        )
        out.append(text)
        # The stack at the requested cores.
        sheet = root / "stack.tsv"
        sheet.write_text(
            f"sample\timage\tground_truth\ttruth_slices\nstack\t{root / 'stack.tif'}\t{root / 'truth.tif'}\t"
            + ",".join(map(str, traced))
            + "\n"
        )
        wall = run(root / "stack_run", sheet, traced, args.cores, methods)
        rules = job_table(root / "stack_run")
        text, total = report(
            f"{args.slices}-slice stack of 17480 x 8026, --cores {args.cores}",
            rules,
            wall,
            args.cores,
            args.slices * HEIGHT * WIDTH / 1e6,
        )
        out.append(text)
        out.append(
            f"### Disk footprint of the {args.slices}-slice run\n\n"
            + disk_footprint(root / "stack_run")
        )
        # Per-slice jobs run in parallel; stitching copies every slice's tiles in one job per output
        # (serial in the slices, but the outputs' jobs run side by side: the slowest one counts);
        # the rest (threshold, overlay, metrics, plots) does not grow with the slice count
        # (overlays show at most 9 slices).
        per_slice_rules = ("denoise", "segment", "confusion")
        per_slice = sum(rules[r][1] for r in per_slice_rules if r in rules) / args.slices
        stitch_jobs = {  # seconds per slice of one stitching job of each rule
            rule: rules[rule][1] / rules[rule][0] / args.slices
            for rule in ("stitch_denoised", "stitch_mask", "stitch_confusion")
            if rule in rules
        }
        stitched = sum(rules[r][1] for r in stitch_jobs)
        fixed = total - per_slice * args.slices - stitched
        slowest = max(stitch_jobs.values(), default=0.0)
        without = max([v for r, v in stitch_jobs.items() if r != "stitch_denoised"], default=0.0)
        projected = 799 * per_slice / 16 + 799 * slowest + fixed
        projected_without = 799 * per_slice / 16 + 799 * without + fixed
        out.append(
            "### Projection: 799 slices on one 16-core node\n\n"
            f"- per-slice jobs (denoise, segment, confusion; in parallel): {per_slice:.2f} s of one core per slice "
            f"-> 799 x {per_slice:.2f} / 16 = {799 * per_slice / 16:.0f} s\n"
            "- stitching (one job per output, side by side, each copying every slice's compressed tiles): "
            + ", ".join(f"{rule} {value:.3f} s per slice" for rule, value in stitch_jobs.items())
            + f" -> the slowest, {799 * slowest:.0f} s\n"
            f"- the rest (plan, threshold, metrics, overlay, plots): {fixed:.0f} s, independent of the slice count\n"
            f"- projection: {projected / 60:.1f} min; without the stitched denoised copy "
            f"(`outputs.denoised: false`): {projected_without / 60:.1f} min (assumes 16 jobs in parallel scale "
            "linearly, storage that sustains the measured per-slice I/O for 16 jobs, ground truth on every "
            f"fifth slice, {len(methods)} methods, boundary metrics off)\n"
        )
    text = "\n".join(out)
    print(text)
    (REPO / "bench" / "out").mkdir(parents=True, exist_ok=True)
    (REPO / "bench" / "out" / "workflow.md").write_text(text)
    return math.isfinite(projected)


if __name__ == "__main__":
    main()
