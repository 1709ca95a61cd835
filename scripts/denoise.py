"""Denoise one chunk tile by tile (halo-exact) and histogram it for the global threshold."""

from segval.denoise import apply_chain, chain_halo, invert
from segval.files import atomic_output
from segval.histograms import SliceAccumulator
from segval.io import ImageReader
from segval.masks import MaskReader
from segval.runner import run_step
from segval.stitching import write_tiles
from segval.tiling import Plan, read_padded


def main(smk):
    plan = Plan.load(smk.input.plan)
    chunk = plan.chunk(smk.wildcards.chunk)
    chain = [tuple(step) for step in smk.params.chain]
    halo = chain_halo(chain)
    _, height, width = plan.shape
    roi = MaskReader(smk.input.roi[0]) if smk.input.roi else None  # thresholds see the ROI only
    with ImageReader(smk.input.image, channel=smk.params.channel) as reader:
        dtype = reader.dtype
        stats = SliceAccumulator(
            dtype, chunk.z1 - chunk.z0, per_tile=smk.params.per_tile_histograms
        )

        def denoised_tiles():
            for tile in plan.tiles(chunk):
                padded = read_padded(
                    reader.read, plan.shape, tile.z, tile.y0, tile.y1, tile.x0, tile.x1, halo
                )
                if smk.params.invert:
                    padded = invert(padded, dtype)
                core = apply_chain(
                    padded, chain, (tile.y0, tile.y1, tile.x0, tile.x1), (height, width)
                )
                inside = roi.read(tile.z, tile.y0, tile.y1, tile.x0, tile.x1) if roi else None
                stats.add(tile.z - chunk.z0, core, tile.row, tile.col, mask=inside)
                yield core

        # Stored raw: dense intermediate data barely compresses and is read back at disk speed.  No
        # pyramid levels: only the stitched denoised image (outputs.denoised, off by default) has
        # them, and its stitching job builds them.
        shape = (chunk.z1 - chunk.z0, chunk.y1 - chunk.y0, width)
        write_tiles(
            smk.output.denoised,
            denoised_tiles(),
            shape,
            dtype,
            plan.tile_size,
            compress=False,
        )
    with atomic_output(smk.output.histogram) as tmp:
        stats.save(tmp, chunk.z0)


if __name__ == "__main__":  # run by Snakemake; importable by scripts/run_batch.py
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
