"""Prepare the OME-Zarr image of a mask or confusion map: the arrays of every pyramid level, which the
chunk jobs then fill (see segval.ngff)."""

from segval.ngff import create
from segval.runner import run_step
from segval.tiling import load_manifest


def main(smk):
    manifest, plan = load_manifest(smk.input.plan)
    shape = plan.shape
    if smk.wildcards.kind == "confusion":  # confusion maps hold the traced slices only
        shape = (len(manifest["truth"]["slices"]),) + tuple(shape[1:])
    image = manifest["image"]
    pixel_size = tuple(smk.params.pixel_size)
    # The image's own unit applies to its own pixel size, not to one given in the sheet or config.
    unit = image.get("unit") if tuple(image.get("pixel_size") or ()) == pixel_size else None
    reduce = "max" if smk.wildcards.kind == "masks" else "confusion"
    create(smk.output[0], shape, "uint8", plan.tile_size, reduce, pixel_size, unit, smk.params.name)


if __name__ == "__main__":  # run by Snakemake; importable by scripts/run_batch.py
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
