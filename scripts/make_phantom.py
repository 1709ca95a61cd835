"""Generate a synthetic KESM-like phantom image and its exact ground truth (the embedded demo data)."""

import numpy as np

from segval.io import write_tiff
from segval.phantom import make_phantom
from segval.runner import run_step


def main(smk):
    shape = list(smk.params.shape)
    slices, (height, width) = (shape[0] if len(shape) == 3 else 1), shape[-2:]
    truths = []

    def image_pages():
        for z in range(slices):
            image, truth = make_phantom(
                (height, width), seed=smk.params.seed, z=z, dtype=smk.params.dtype
            )
            truths.append(np.packbits(truth))  # 1 bit per pixel until the truth file is written
            yield image

    page = {"photometric": "minisblack", "metadata": {"axes": "ZYX" if slices > 1 else "YX"}}
    stack_shape = (slices, height, width) if slices > 1 else (height, width)
    write_tiff(smk.output.image, image_pages(), shape=stack_shape, dtype=smk.params.dtype, **page)
    masks = (
        np.unpackbits(bits, count=height * width).reshape(height, width) * np.uint8(255)
        for bits in truths
    )
    write_tiff(
        smk.output.truth, masks, shape=stack_shape, dtype=np.uint8, compression="zlib", **page
    )


if __name__ == "__main__":  # run by Snakemake; importable by scripts/run_batch.py
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
