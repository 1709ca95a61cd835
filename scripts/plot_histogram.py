"""Histogram of the preprocessed image with every method's threshold marked."""

import json

import matplotlib

matplotlib.use("Agg")  # no display on clusters
import matplotlib.pyplot as plt
import numpy as np

from segval.files import atomic_output
from segval.runner import run_step
from segval.scales import group_thresholds, original_threshold


def main(smk):
    results = []
    for path in smk.input.thresholds:
        with open(path) as handle:
            results.append(json.load(handle))
    parts = [np.load(path) for path in smk.input.histograms]
    counts = sum(p["counts"].sum(axis=0) for p in parts)
    if counts.size:
        values = np.arange(counts.size) + int(parts[0]["offset"])
    else:  # float image: the bins the threshold step used over the shared range
        binned = results[0]["float_histogram"]
        edges = np.asarray(binned["edges"])
        values, counts = (edges[:-1] + edges[1:]) / 2, np.asarray(binned["counts"])
    nonzero = np.flatnonzero(counts)
    lo, hi = (nonzero[0], nonzero[-1] + 1) if nonzero.size else (0, counts.size)
    fig, ax = plt.subplots(figsize=(8, 4))
    # Fixed margins (inches / figure size): room for the symlog tick labels, the axis label and the
    # two-line title; constrained layout measured every text several times for the same result.
    fig.subplots_adjust(left=0.7 / 8, right=1 - 0.15 / 8, bottom=0.5 / 4, top=1 - 0.5 / 4)
    ax.fill_between(values[lo:hi], counts[lo:hi], step="mid", color="0.6", linewidth=0)
    ax.set_yscale("symlog", linthresh=1)
    colours = plt.get_cmap("tab10")
    with open(smk.input.plan) as handle:
        dtype = json.load(handle)["image"]["dtype"]
    inverted, rescalable = smk.params.invert, smk.params.rescalable
    named = []
    for result in results:
        found = [t["threshold"] for t in result["thresholds"] if t["threshold"] is not None]
        if found:  # local methods (and methods that found none) have no line to draw
            name = result["method"] + (" (per slice: first)" if len(found) > 1 else "")
            named.append((name, found[0]))
    # Identical thresholds share one line and one label ("otsu = isodata = 79"), else one hides the other.
    for index, (methods, threshold) in enumerate(group_thresholds(named)):
        label = f"{' = '.join(methods)} = {threshold:.6g}"
        if inverted and rescalable:  # what a Fiji user types on the original image
            label += f"  (original: < {original_threshold(threshold, dtype, True):.6g})"
        ax.axvline(threshold, color=colours(index % 10), linewidth=1.2, label=label)
    scale = "inverted (max - x), then " if inverted else ""
    ax.set_xlabel(f"intensity after preprocessing: {scale}{smk.wildcards.prep}")
    ax.set_ylabel("pixels")
    rule = "value > threshold" + (
        " on this inverted scale; original < (max - threshold)" if inverted else ""
    )
    ax.set_title(
        f"{smk.wildcards.sample}: histogram and thresholds\n(foreground = {rule})",
        fontsize="medium",
        y=1.0,  # where it goes anyway (no ticks on top), without measuring the tick labels first
    )
    if named:
        ax.legend(fontsize="small", ncols=1 if inverted else 2)
    with atomic_output(smk.output[0]) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)  # batch jobs plot many samples in one process


if __name__ == "__main__":  # run by Snakemake; importable by scripts/run_batch.py
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
