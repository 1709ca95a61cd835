"""Histogram of the preprocessed image with every method's threshold marked."""

import json

import matplotlib

matplotlib.use("Agg")  # no display on clusters
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from segval.files import atomic_output  # noqa: E402
from segval.histograms import float_edges  # noqa: E402
from segval.runner import run_step  # noqa: E402


def main(smk):
    parts = [np.load(path) for path in smk.input.histograms]
    counts = sum(p["counts"].sum(axis=0) for p in parts)
    if counts.size:
        values = np.arange(counts.size) + int(parts[0]["offset"])
    else:  # float image: show the range in the usual 256 bins, from the chunk ranges
        low = min(float(p["low"].min()) for p in parts)
        high = max(float(p["high"].max()) for p in parts)
        edges = float_edges(low, high)
        values, counts = (edges[:-1] + edges[1:]) / 2, np.zeros(edges.size - 1)
    nonzero = np.flatnonzero(counts)
    lo, hi = (nonzero[0], nonzero[-1] + 1) if nonzero.size else (0, counts.size)
    fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
    ax.fill_between(values[lo:hi], counts[lo:hi], step="mid", color="0.6", linewidth=0)
    ax.set_yscale("symlog", linthresh=1)
    colours = plt.get_cmap("tab10")
    for index, path in enumerate(smk.input.thresholds):
        with open(path) as handle:
            result = json.load(handle)
        found = [t["threshold"] for t in result["thresholds"] if t["threshold"] is not None]
        if not found:
            continue
        label = f"{result['method']} = {found[0]:.4g}" + (" (per slice: first)" if len(found) > 1 else "")
        ax.axvline(found[0], color=colours(index % 10), linewidth=1.2, label=label)
    ax.set_xlabel(f"intensity after preprocessing ({smk.wildcards.prep})")
    ax.set_ylabel("pixels")
    ax.set_title(f"{smk.wildcards.sample}: histogram and thresholds (foreground = value > threshold)")
    ax.legend(fontsize="small", ncols=2)
    with atomic_output(smk.output[0]) as tmp:
        fig.savefig(tmp, dpi=110)


run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
