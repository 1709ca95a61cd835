"""Take one chunk of a mask made by another segmenter (a prediction column of the sheet), so that it
is validated exactly like a threshold method's mask."""

import numpy as np

from segval.masks import MaskReader
from segval.runner import run_step
from segval.stitching import write_mask_chunk
from segval.tiling import Plan


def main(smk):
    plan = Plan.load(smk.input.plan)
    chunk = plan.chunk(smk.wildcards.chunk)
    _, _, width = plan.shape
    roi = MaskReader(smk.input.roi[0]) if smk.input.roi else None
    with MaskReader(smk.input.prediction, smk.params.rule) as prediction:

        def mask_tiles():
            for tile in plan.tiles(chunk):
                mask = prediction.read(tile.z, tile.y0, tile.y1, tile.x0, tile.x1)
                if roi:  # as for threshold masks: background outside the ROI
                    mask &= roi.read(tile.z, tile.y0, tile.y1, tile.x0, tile.x1)
                yield mask.view(np.uint8) * np.uint8(255)

        shape = (chunk.z1 - chunk.z0, chunk.y1 - chunk.y0, width)
        tiles = mask_tiles()
        positions = [(t.z, t.y0, t.x0) for t in plan.tiles(chunk)]
        zarr_image = smk.input.zarr[0] if smk.input.zarr else None
        pyramid = plan.pyramid(chunk, "max")
        write_mask_chunk(
            smk.output[0], tiles, shape, plan.tile_size, pyramid, zarr_image, positions
        )


if __name__ == "__main__":  # run by Snakemake; importable by scripts/run_batch.py
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
