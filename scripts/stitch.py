"""Stitch a sample's chunk files into one tiled, compressed OME-TIFF (with a pyramid when large)."""

from segval.io import ChunkSet, write_stitched
from segval.runner import run_step
from segval.tiling import Plan


def main(smk):
    plan = Plan.load(smk.input.plan)
    with ChunkSet(list(smk.input.chunks), plan) as chunks:
        write_stitched(smk.output[0], chunks, plan.tile_size, reduce=smk.params.reduce, description=smk.params.name)


run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
