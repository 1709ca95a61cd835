"""Try-all view: every method's mask side by side, titled with its threshold (and F1/MCC when
ground truth exists) — like scikit-image's try_all_threshold, for any list of methods."""

import json

import matplotlib

matplotlib.use("Agg")  # no display on clusters
import matplotlib.pyplot as plt
import numpy as np

from segval.downsample import block_max, block_mean, factor_for, reduced_slice
from segval.files import atomic_output
from segval.io import ImageReader
from segval.overlay import to_uint8
from segval.runner import log, run_step
from segval.tables import read_tsv
from segval.tiling import load_manifest

PANEL_PIXELS = 512 * 512


def title(method, threshold_path, metrics_path, stack):
    result = {"scope": "given", "thresholds": []}
    if threshold_path:
        with open(threshold_path) as handle:
            result = json.load(handle)
    found = [t["threshold"] for t in result["thresholds"]]
    if result["scope"] == "given":
        text = f"{method} (given mask)"
    elif result["scope"] == "local":
        text = f"{method} (local)"
    elif any(t is None for t in found):
        text = f"{method}: no threshold found"
    elif len(found) == 1:
        text = f"{method}: t = {found[0]:.4g}"
    else:
        text = f"{method}: {len(found)} thresholds"
    if metrics_path:
        row = read_tsv(metrics_path)[0]
        if row["f1"] is not None:
            text += f"\nF1 {row['f1']:.3f}  MCC {row['mcc']:.3f}" + (
                " (traced slices)" if stack else ""
            )
    return text


def main(smk):
    manifest, plan = load_manifest(smk.input.plan)
    slices, height, width = plan.shape
    traced = manifest["truth"]["slices"] if manifest["truth"] else []
    z = traced[0] if traced else slices // 2  # one representative slice
    factor = factor_for((height, width), PANEL_PIXELS)
    with ImageReader(smk.input.image, channel=smk.params.channel) as reader:
        gray = reduced_slice(reader, z, factor, plan.tile_size, block_mean)
    low, high = (None, None) if gray.dtype == np.uint8 else np.percentile(gray, [0.5, 99.5])
    panels = [("image" + (f", slice {z}" if slices > 1 else ""), to_uint8(gray, low, high))]
    metrics = list(smk.input.metrics) or [None] * len(smk.input.masks)
    thresholds = list(smk.input.thresholds) + [None] * (
        len(smk.input.masks) - len(smk.input.thresholds)
    )
    for method, mask_path, threshold_path, metrics_path in zip(
        smk.params.methods, smk.input.masks, thresholds, metrics
    ):
        with ImageReader(mask_path) as reader:
            panels.append(
                (
                    title(method, threshold_path, metrics_path, slices > 1),
                    reduced_slice(reader, z, factor, plan.tile_size, block_max),
                )
            )
    columns = min(4, len(panels))
    rows = -(-len(panels) // columns)
    aspect = width / height
    fig, axes = plt.subplots(
        rows,
        columns,
        figsize=(3.2 * aspect * columns, 3.6 * rows),
        squeeze=False,
        layout="constrained",
    )
    for ax, (label, picture) in zip(axes.flat, panels):
        log.info("panel: %s", label.replace("\n", " | "))
        ax.imshow(picture, cmap="gray", interpolation="nearest")
        ax.set_title(label, fontsize="small")
    for ax in axes.flat:
        ax.axis("off")
    fig.suptitle(
        f"{smk.wildcards.sample} ({smk.wildcards.prep}): masks of every method (foreground white)"
    )
    with atomic_output(smk.output[0]) as tmp:
        fig.savefig(tmp, dpi=100)


if __name__ == "__main__":  # run by Snakemake; importable by scripts/run_batch.py
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
