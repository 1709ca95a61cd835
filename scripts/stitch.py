"""Stitch a sample's chunk files into one tiled, compressed OME-TIFF (with a pyramid when large)."""

from segval.runner import run_step
from segval.stitching import palette, write_stitched
from segval.tiling import load_manifest


def main(smk):
    manifest, plan = load_manifest(smk.input.plan)
    if smk.params.traced_only:  # confusion maps exist for the slices with ground truth only
        plan = plan.restrict(manifest["truth"]["slices"])
    colours = smk.params.get("colours")  # confusion maps: a colour table, as in the overlays
    write_stitched(
        smk.output[0],
        list(smk.input.chunks),
        plan,
        reduce=smk.params.reduce,
        description=smk.params.name,
        pixel_size=smk.params.get("pixel_size"),
        colormap=palette(colours) if colours else None,
    )


if __name__ == "__main__":  # run by Snakemake; importable by scripts/run_batch.py
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
