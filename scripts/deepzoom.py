"""Deep Zoom pyramid (DZI) of the confusion codes of each traced slice shown, tile by tile: the
overlay's layer that the viewer draws over the image's pyramid (scripts/deepzoom_image.py)."""

from segval.deepzoom import palette_png, pyramid_bands, write_pyramid
from segval.downsample import block_confusion
from segval.files import atomic_output
from segval.io import ImageReader
from segval.overlay import overlay_palette
from segval.runner import run_step
from segval.tiling import load_manifest


def main(smk):
    manifest, plan = load_manifest(smk.input.plan)
    _, height, width = plan.shape
    palette = overlay_palette(smk.params.alpha, smk.params.colours)

    def write_tile(path, codes):
        path.write_bytes(palette_png(codes, palette))  # the folder is renamed into place whole

    with atomic_output(smk.output[0]) as folder, ImageReader(smk.input.labels) as labels:
        folder.mkdir()
        for index, z in enumerate(manifest["truth"]["slices"][: smk.params.max_slices]):
            bands = pyramid_bands(  # the confusion map's own pyramid levels, if it has them
                labels, index, smk.params.max_pixels, block_confusion, levels=True
            )
            write_pyramid(folder, f"z{z:04d}", width, height, bands, write_tile)


if __name__ == "__main__":  # run by Snakemake; importable by scripts/run_batch.py
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
