"""Stitch a sample's chunk files into one tiled, compressed OME-TIFF (with a pyramid when large)."""

import json

from segval.stitching import write_stitched
from segval.runner import run_step
from segval.tiling import Plan


def main(smk):
    with open(smk.input.plan) as handle:
        manifest = json.load(handle)
    plan = Plan.from_dict(manifest)
    if smk.params.traced_only:  # confusion maps exist for the slices with ground truth only
        plan = plan.restrict(manifest["truth"]["slices"])
    write_stitched(smk.output[0], list(smk.input.chunks), plan, reduce=smk.params.reduce, description=smk.params.name)


run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
