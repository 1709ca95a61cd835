"""Try-all view: every method's mask side by side, titled with its threshold (and F1/MCC when
ground truth exists) — like scikit-image's try_all_threshold, for any list of methods."""

import json

import matplotlib

matplotlib.use("Agg")  # no display on clusters
import matplotlib.pyplot as plt
import numpy as np

from segval.downsample import block_max, block_mean, reduced_slice
from segval.files import atomic_output
from segval.io import ImageReader
from segval.overlay import to_uint8
from segval.runner import log, run_step
from segval.tables import read_tsv
from segval.tiling import load_manifest

DPI = 100
PANEL_INCHES = (3.2, 3.6)  # a panel's cell (width per unit aspect, height), title included
MARGIN, GAP = 0.05, 0.1  # inches: around the figure, between panels
SUPTITLE, TITLE = 0.3, 0.38  # inches: the figure's title band, a panel's (two small lines) band


def grid(count, aspect):
    """Fixed layout of ``count`` image panels: the figure size and each panel's cell ``(left,
    bottom, width, height)`` below its title, in inches, row by row.

    Examples
    --------
    >>> size, cells = grid(8, 1.0)
    >>> size, len(cells)
    ((12.8, 7.2), 8)
    """
    columns = min(4, count)
    rows = -(-count // columns)
    fig_width, fig_height = PANEL_INCHES[0] * aspect * columns, PANEL_INCHES[1] * rows
    cell_width = (fig_width - 2 * MARGIN - (columns - 1) * GAP) / columns
    cell_height = (fig_height - SUPTITLE - MARGIN - rows * TITLE - (rows - 1) * GAP) / rows
    cells = []
    for index in range(count):
        row, column = divmod(index, columns)
        top = fig_height - SUPTITLE - row * (TITLE + cell_height + GAP) - TITLE
        cells.append(
            (MARGIN + column * (cell_width + GAP), top - cell_height, cell_width, cell_height)
        )
    return (fig_width, fig_height), cells


def fitted(cell, shape):
    """``(left, right, bottom, top)`` of a ``(height, width)`` picture scaled to fit ``cell``
    (keeping its aspect), centred in it.

    Examples
    --------
    >>> fitted((0, 0, 4, 2), (1, 1))
    (1.0, 3.0, 0.0, 2.0)
    """
    left, bottom, width, height = cell
    scale = min(width / shape[1], height / shape[0])
    drawn_width, drawn_height = shape[1] * scale, shape[0] * scale
    x0, y0 = left + (width - drawn_width) / 2, bottom + (height - drawn_height) / 2
    return (x0, x0 + drawn_width, y0, y0 + drawn_height)


def panel_factor(shape, box_pixels):
    """Smallest power of two that brings a ``(height, width)`` image within a panel's drawn
    ``(height, width)`` in pixels: drawing more pixels than the screen shows costs resampling time,
    and the block maximum that reduces masks keeps thin foreground that resampling could drop.

    Examples
    --------
    >>> panel_factor((584, 565), (310, 300)), panel_factor((100, 100), (310, 300))
    (2, 1)
    """
    height, width = shape
    factor = 1
    while -(-height // factor) > box_pixels[0] or -(-width // factor) > box_pixels[1]:
        factor *= 2
    return factor


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
    count = 1 + len(smk.input.masks)  # the image, then one panel per mask
    size, cells = grid(count, width / height)
    factor = panel_factor((height, width), (cells[0][3] * DPI, cells[0][2] * DPI))
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
                    reduced_slice(reader, z, factor, plan.tile_size, block_max, levels=True),
                )
            )
    # One axes in inches over the whole figure, every panel an image in it: a fixed layout costs
    # nothing to compute, unlike constrained layout or one axes (with its ticks) per panel.
    fig = plt.figure(figsize=size)
    ax = fig.add_axes((0, 0, 1, 1), xlim=(0, size[0]), ylim=(0, size[1]))
    ax.axis("off")
    for cell, (label, picture) in zip(cells, panels):
        log.info("panel: %s", label.replace("\n", " | "))
        extent = fitted(cell, picture.shape)
        # Each image keeps its own colour scaling, as one axes per panel did.
        ax.imshow(picture, cmap="gray", interpolation="nearest", extent=extent, aspect="auto")
        ax.text(
            (extent[0] + extent[1]) / 2,
            extent[3] + 6 / 72,  # matplotlib's title pad: 6 points
            label,
            ha="center",
            va="bottom",
            fontsize="small",
        )
    fig.suptitle(
        f"{smk.wildcards.sample} ({smk.wildcards.prep}): masks of every method (foreground white)",
        y=1 - MARGIN / size[1],
        va="top",
    )
    with atomic_output(smk.output[0]) as tmp:
        fig.savefig(tmp, dpi=DPI)
    plt.close(fig)


if __name__ == "__main__":  # run by Snakemake; importable by scripts/run_batch.py
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
