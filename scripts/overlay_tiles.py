"""Full-resolution overlay tiles (on request): one PNG per tile of each traced slice."""

import numpy as np

from segval.files import atomic_output
from segval.io import ImageReader, write_png
from segval.metrics import TN, TP
from segval.overlay import overlay, to_uint8
from segval.runner import run_step
from segval.tiling import load_manifest


def main(smk):
    manifest, plan = load_manifest(smk.input.plan)
    traced = manifest["truth"]["slices"] if smk.params.has_truth else list(range(plan.shape[0]))
    label_slice = {z: i for i, z in enumerate(traced)} if smk.params.has_truth else None
    with atomic_output(smk.output[0]) as folder:
        folder.mkdir()
        with (
            ImageReader(smk.input.image, channel=smk.params.channel) as image,
            ImageReader(smk.input.labels) as labels,
        ):
            low = high = None
            if image.dtype != np.uint8:  # one display range for every tile: from a coarse sample
                sample = image.read(traced[0], 0, plan.shape[1], 0, plan.shape[2])[::16, ::16]
                low, high = np.percentile(sample, [0.5, 99.5])
            for chunk in plan.chunks:
                for tile in plan.tiles(chunk):
                    if tile.z not in traced:
                        continue
                    gray = image.read(tile.z, tile.y0, tile.y1, tile.x0, tile.x1)
                    z_label = label_slice[tile.z] if label_slice else tile.z
                    code = labels.read(z_label, tile.y0, tile.y1, tile.x0, tile.x1)
                    if not smk.params.has_truth:
                        code = np.where(code != 0, TP, TN).astype(np.uint8)
                    name = f"z{tile.z:04d}_y{tile.y0:06d}_x{tile.x0:06d}.png"
                    write_png(
                        folder / name,
                        overlay(
                            to_uint8(gray, low, high), code, smk.params.alpha, smk.params.colours
                        ),
                        atomic=False,  # the folder is renamed into place once complete
                    )


if __name__ == "__main__":  # run by Snakemake; importable by scripts/run_batch.py
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
