"""Deep Zoom pyramid (DZI) of the image's traced slices shown, as grayscale PNG tiles: the layer the
viewer draws every method's confusion pyramid over (scripts/deepzoom.py)."""

import numpy as np

from segval.deepzoom import preview_copy, pyramid_bands, write_pyramid
from segval.downsample import block_mean
from segval.files import atomic_output
from segval.io import ImageReader, write_png
from segval.overlay import to_uint8
from segval.runner import run_step
from segval.tiling import load_manifest


def main(smk):
    manifest, plan = load_manifest(smk.input.plan)
    _, height, width = plan.shape

    def write_tile(path, tile):
        write_png(path, tile, atomic=False)  # the folder is renamed into place whole

    with (
        atomic_output(smk.output[0]) as folder,
        ImageReader(smk.input.image, channel=smk.params.channel) as image,
    ):
        folder.mkdir()
        for z in manifest["truth"]["slices"][: smk.params.max_slices]:
            max_pixels = smk.params.max_pixels
            preview, low, high = None, None, None  # uint8: shown as it is
            if image.dtype != np.uint8:  # the overlay preview's display range, read first
                preview = preview_copy(image, z, plan.tile_size, max_pixels, block_mean)
                low, high = np.percentile(preview, [0.5, 99.5])
            bands = pyramid_bands(image, z, max_pixels, block_mean, reduced=preview)
            write_pyramid(
                folder,
                f"z{z:04d}",
                width,
                height,
                ((level, y0, to_uint8(band, low, high)) for level, y0, band in bands),
                write_tile,
            )


if __name__ == "__main__":  # run by Snakemake; importable by scripts/run_batch.py
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
