"""Deep Zoom pyramid (DZI) of the full-resolution overlay of each traced slice, tile by tile."""

import numpy as np

from segval.deepzoom import TILE, dzi_xml, level_shape, tiles_of, top_level
from segval.downsample import block_confusion, block_mean, factor_for, reduced_slice
from segval.files import atomic_output
from segval.io import ImageReader, write_png
from segval.overlay import overlay, to_uint8
from segval.runner import run_step
from segval.tiling import load_manifest

BAND = 1024  # rows read at once: memory ~ BAND x (TILE x factor) pixels


def reduced_region(reader, z, y0, y1, x0, x1, factor, reduce):
    """Region of slice ``z`` reduced by ``factor``, read in bands (blocks aligned to the region's
    origin, a multiple of ``factor`` from the slice's, so results equal reducing the whole slice)."""
    band = max(factor, BAND - BAND % factor)
    parts = [
        reduce(reader.read(z, top, min(top + band, y1), x0, x1), factor)
        for top in range(y0, y1, band)
    ]
    return np.concatenate(parts, axis=0)


def write_slice(folder, name, image, labels, z, z_label, shape, params, tile_size):
    height, width = shape
    top = top_level(width, height)
    # Levels at least as coarse as the preview come from one reduced copy held in memory; finer ones
    # are read from the full-resolution files, one row of tiles at a time.
    coarse = factor_for((height, width), params.max_pixels)
    gray0 = reduced_slice(image, z, coarse, tile_size, block_mean)
    code0 = reduced_slice(labels, z_label, coarse, tile_size, block_confusion)
    low, high = (None, None) if gray0.dtype == np.uint8 else np.percentile(gray0, [0.5, 99.5])
    (folder / f"{name}.dzi").write_text(dzi_xml(width, height))
    for level in range(top, -1, -1):
        factor = 2 ** (top - level)
        level_width, level_height = level_shape(width, height, level, top)
        (folder / f"{name}_files" / str(level)).mkdir(parents=True)
        if factor >= coarse:  # the whole level, from the reduced copy
            step = factor // coarse
            bands = [(0, level_height, block_mean(gray0, step), block_confusion(code0, step))]
        else:  # bands of one tile row, from the full-resolution files
            bands = (
                (
                    y0,
                    y1,
                    reduced_region(
                        image,
                        z,
                        y0 * factor,
                        min(y1 * factor, height),
                        0,
                        width,
                        factor,
                        block_mean,
                    ),
                    reduced_region(
                        labels,
                        z_label,
                        y0 * factor,
                        min(y1 * factor, height),
                        0,
                        width,
                        factor,
                        block_confusion,
                    ),
                )
                for y0 in range(0, level_height, TILE)
                for y1 in [min(y0 + TILE, level_height)]
            )
        for band_y0, band_y1, gray, code in bands:
            picture = overlay(to_uint8(gray, low, high), code, params.alpha, params.colours)
            for column, row, x0, x1, y0, y1 in tiles_of(level_width, level_height, TILE):
                if band_y0 <= y0 < band_y1:
                    write_png(
                        folder / f"{name}_files" / str(level) / f"{column}_{row}.png",
                        picture[y0 - band_y0 : y1 - band_y0, x0:x1],
                        atomic=False,  # the pyramid's folder is renamed into place once complete
                    )


def main(smk):
    manifest, plan = load_manifest(smk.input.plan)
    traced = manifest["truth"]["slices"]
    with atomic_output(smk.output[0]) as folder:
        folder.mkdir()
        with (
            ImageReader(smk.input.image, channel=smk.params.channel) as image,
            ImageReader(smk.input.labels) as labels,
        ):
            for index, z in enumerate(traced[: smk.params.max_slices]):
                write_slice(
                    folder,
                    f"z{z:04d}",
                    image,
                    labels,
                    z,
                    index,
                    plan.shape[1:],
                    smk.params,
                    plan.tile_size,
                )


if __name__ == "__main__":  # run by Snakemake; importable by scripts/run_batch.py
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
