"""Overlay PNG: confusion colours (or, without ground truth, the mask) over the original image.

A 2-D image gives one overlay; a stack gives a montage of its traced slices (or of evenly spaced
slices when it has no ground truth), each labelled with its slice index.  Large slices are
downsampled so that the PNG stays within ``overlay.max_pixels``.
"""

import cv2
import numpy as np

from segval.downsample import block_confusion, block_max, block_mean, factor_for, reduced_slice
from segval.io import ImageReader, write_png
from segval.metrics import TN, TP
from segval.overlay import overlay, to_uint8
from segval.runner import run_step, shared_reader
from segval.tiling import load_manifest


def slices_to_show(manifest, most):
    """The traced slices (or evenly spaced ones without ground truth), at most ``most``."""
    slices = manifest["image"]["shape"][0]
    candidates = manifest["truth"]["slices"] if manifest["truth"] else list(range(slices))
    if len(candidates) <= most:
        return candidates
    return [candidates[round(i * (len(candidates) - 1) / (most - 1))] for i in range(most)]


def montage(panels, labels, columns):
    """Panels (same size, RGB) on a grid with a 4-pixel gap, each labelled in its corner."""
    height, width = panels[0].shape[:2]
    rows = -(-len(panels) // columns)
    gap = 4
    sheet = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap, 3), 255, np.uint8)
    for index, (panel, label) in enumerate(zip(panels, labels)):
        top, left = (index // columns) * (height + gap), (index % columns) * (width + gap)
        sheet[top : top + height, left : left + width] = panel
        cv2.putText(
            sheet,
            label,
            (left + 6, top + 22),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.7,
            (255, 255, 255),
            2,
            cv2.LINE_AA,
        )
    return sheet


def main(smk):
    manifest, plan = load_manifest(smk.input.plan)
    _, height, width = plan.shape
    shown = slices_to_show(manifest, smk.params.max_slices)
    columns = int(np.ceil(np.sqrt(len(shown))))
    rows = -(-len(shown) // columns)
    factor = factor_for((height * rows, width * columns), smk.params.max_pixels)
    panels = []
    # The confusion stack holds the traced slices only; a mask stack holds every slice.
    label_slice = (
        {z: i for i, z in enumerate(manifest["truth"]["slices"])} if smk.params.has_truth else None
    )
    with (
        ImageReader(smk.input.image, channel=smk.params.channel) as image,
        ImageReader(smk.input.labels) as labels,
    ):
        # Every method's overlay of the sample shows the same reduced image: made once per job.
        preview = shared_reader(
            smk,
            "preview",
            (str(smk.input.image), smk.params.channel, factor),
            lambda z: reduced_slice(image, z, factor, plan.tile_size, block_mean),
        )
        for z in shown:
            gray = preview(z)
            z_label = label_slice[z] if label_slice else z
            code = reduced_slice(
                labels,
                z_label,
                factor,
                plan.tile_size,
                block_confusion if smk.params.has_truth else block_max,
                levels=True,  # the confusion map's (or mask's) own pyramid level, if it has it
            )
            if not smk.params.has_truth:  # no ground truth: predicted foreground in the TP colour
                code = np.where(code != 0, TP, TN).astype(np.uint8)
            low, high = (None, None) if gray.dtype == np.uint8 else np.percentile(gray, [0.5, 99.5])
            panels.append(
                overlay(to_uint8(gray, low, high), code, smk.params.alpha, smk.params.colours)
            )
    if len(panels) == 1 and plan.shape[0] == 1:
        picture = panels[0]
    else:
        picture = montage(panels, [f"z={z}" for z in shown], columns)
    write_png(smk.output[0], picture)


if __name__ == "__main__":  # run by Snakemake; importable by scripts/run_batch.py
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
