"""Overlay PNG: confusion colours (or, without ground truth, the mask) over the original image."""

import numpy as np

from segval.downsample import block_confusion, block_max, block_mean, factor_for
from segval.io import ImageReader, write_png
from segval.metrics import TN, TP
from segval.overlay import overlay, to_uint8
from segval.runner import run_step
from segval.tiling import Plan


def preview(reader, z, factor, band_rows, reduce):
    """Slice ``z`` of ``reader`` reduced by ``factor``, read in bands (memory ~ one band)."""
    _, height, width = reader.shape
    band_rows = max(factor, band_rows - band_rows % factor)
    parts = [reduce(reader.read(z, y0, min(y0 + band_rows, height), 0, width), factor) for y0 in range(0, height, band_rows)]
    return np.concatenate(parts, axis=0)


def main(smk):
    plan = Plan.load(smk.input.plan)
    slices, height, width = plan.shape
    factor = factor_for((height, width), smk.params.max_pixels)
    z = 0  # 2-D images; stacks show their first slice
    with ImageReader(smk.input.image, channel=smk.params.channel) as image:
        gray = preview(image, z, factor, plan.tile_size, block_mean)
    with ImageReader(smk.input.labels) as labels:
        code = preview(labels, z, factor, plan.tile_size, block_confusion if smk.params.has_truth else block_max)
    if not smk.params.has_truth:  # no ground truth: predicted foreground in the TP colour
        code = np.where(code != 0, TP, TN).astype(np.uint8)
    low, high = (None, None) if gray.dtype == np.uint8 else np.percentile(gray, [0.5, 99.5])
    write_png(smk.output[0], overlay(to_uint8(gray, low, high), code, smk.params.alpha, smk.params.colours))


run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
