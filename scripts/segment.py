"""Apply the method's threshold to one denoised chunk: mask = value > threshold (0/255)."""

import json

import numpy as np

from segval.io import ImageReader, write_tiles
from segval.runner import run_step
from segval.masks import ThresholdTable, apply_threshold
from segval.tiling import Plan


def main(smk):
    plan = Plan.load(smk.input.plan)
    chunk = plan.chunk(smk.wildcards.chunk)
    with open(smk.input.threshold) as handle:
        table = ThresholdTable(json.load(handle))
    _, _, width = plan.shape

    with ImageReader(smk.input.denoised) as denoised:

        def mask_tiles():
            for tile in plan.tiles(chunk):
                values = denoised.read(tile.z - chunk.z0, tile.y0 - chunk.y0, tile.y1 - chunk.y0, tile.x0, tile.x1)
                mask = apply_threshold(values, table.threshold(tile.z, tile.row, tile.col))
                yield mask.view(np.uint8) * np.uint8(255)

        shape = (chunk.z1 - chunk.z0, chunk.y1 - chunk.y0, width)
        write_tiles(smk.output[0], mask_tiles(), shape, np.uint8, plan.tile_size)


run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
