"""Stitch a sample's chunk files into one tiled, compressed OME-TIFF (with a pyramid when large)."""

from segval.io import write_stitched
from segval.runner import run_step
from segval.tiling import Plan


def main(smk):
    plan = Plan.load(smk.input.plan)
    write_stitched(smk.output[0], list(smk.input.chunks), plan, reduce=smk.params.reduce, description=smk.params.name)


run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
