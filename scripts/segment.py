"""Segment one denoised chunk: mask = value > threshold (0/255), with the method's global threshold,
or a local threshold computed on tiles with halos (read across chunk borders where needed)."""

import json

import numpy as np

from segval.local_thresholds import local_halo, local_mask
from segval.masks import MaskReader, ThresholdTable, apply_threshold
from segval.runner import run_step
from segval.stitching import ChunkSet, write_tiles
from segval.tiling import Plan, read_padded


def main(smk):
    plan = Plan.load(smk.input.plan)
    chunk = plan.chunk(smk.wildcards.chunk)
    with open(smk.input.threshold) as handle:
        result = json.load(handle)
    _, _, width = plan.shape
    neighbours = plan.subset(smk.params.denoised_chunks)  # the chunks holding this chunk's slices
    local = result.get("local")
    if local:
        name, params = local["name"], local["params"]
        halo = local_halo(name, params)
    else:
        table = ThresholdTable(result)

    roi = MaskReader(smk.input.roi[0]) if smk.input.roi else None  # background outside the ROI
    with ChunkSet(list(smk.input.denoised), neighbours) as denoised:

        def mask_tiles():
            for tile in plan.tiles(chunk):
                if local:
                    padded = read_padded(denoised.read, plan.shape, tile.z, tile.y0, tile.y1, tile.x0, tile.x1, halo)
                    mask = local_mask(padded, name, params)
                else:
                    values = denoised.read(tile.z, tile.y0, tile.y1, tile.x0, tile.x1)
                    mask = apply_threshold(values, table.threshold(tile.z, tile.row, tile.col))
                if roi:
                    mask &= roi.read(tile.z, tile.y0, tile.y1, tile.x0, tile.x1)
                yield mask.view(np.uint8) * np.uint8(255)

        shape = (chunk.z1 - chunk.z0, chunk.y1 - chunk.y0, width)
        write_tiles(smk.output[0], mask_tiles(), shape, np.uint8, plan.tile_size, pyramid=plan.pyramid(chunk, "max"))


run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
