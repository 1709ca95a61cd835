"""Check a sample's files and cut it into tiles and chunks (the `plan` checkpoint).

Reads the image header (and the ground truth) and fails early, before any processing, on what would
otherwise fail late: unreadable files, a missing channel, ground truth of another shape or not binary.
"""

import json

from segval.errors import SegvalError
from segval.files import atomic_output
from segval.io import ImageReader, read_info
from segval.masks import check_binary, distinct_values
from segval.tiling import parse_slices, plan
from segval.runner import run_step


def check_truth(truth_path, image_info, rule, band_rows, truth_slices):
    """The ground truth must match the image's slice size, cover the slices it claims, and be binary
    under the foreground rule.  Returns its info and the image slice each of its slices traces."""
    info = read_info(truth_path)
    if info.shape[1:] != image_info.shape[1:]:
        raise SegvalError(
            f"ground truth is {info.shape[2]} x {info.shape[1]} pixels but the image "
            f"{image_info.path} is {image_info.shape[2]} x {image_info.shape[1]}",
            truth_path,
            "give the ground truth traced on this image (same width and height)",
        )
    try:
        traced = parse_slices(truth_slices, image_info.shape[0]) if truth_slices else None
    except ValueError as error:
        raise SegvalError(f"truth_slices: {error}", truth_path, "correct the truth_slices column") from None
    if traced is None:
        if info.shape[0] != image_info.shape[0]:
            raise SegvalError(
                f"ground truth has {info.shape[0]} slice(s) but the image has {image_info.shape[0]}",
                truth_path,
                "give one ground-truth slice per image slice, or list in the sheet's truth_slices "
                "column which image slices the ground truth's slices trace (e.g. 0,100,200-203)",
            )
        traced = list(range(info.shape[0]))
    elif len(traced) != info.shape[0]:
        raise SegvalError(
            f"truth_slices lists {len(traced)} slice(s) but the ground truth has {info.shape[0]}",
            truth_path,
            "list one image slice per ground-truth slice in truth_slices",
        )
    channel = 0 if info.channels > 1 else None  # colour masks: any channel carries the mask
    values = set()
    with ImageReader(truth_path, channel=channel) as reader:
        slices, height, width = info.shape
        for z in range(slices):
            for y0 in range(0, height, band_rows):  # by bands: memory ~ band, not slice
                band = reader.read(z, y0, min(y0 + band_rows, height), 0, width)
                values.update(distinct_values(band).tolist())
                check_binary(sorted(values), rule, truth_path)
    return info, traced


def main(smk):
    image = read_info(smk.input.image)
    ImageReader(smk.input.image, channel=smk.params.channel).close()  # checks the channel
    truth, traced = None, []
    if smk.input.truth:
        truth, traced = check_truth(
            smk.input.truth[0], image, smk.params.truth_rule, smk.params.tile_size, smk.params.truth_slices
        )
    cuts = plan(image.shape, smk.params.tile_size, smk.params.chunk_megapixels)
    manifest = {
        "sample": smk.wildcards.sample,
        "image": image.to_dict(),
        "truth": dict(truth.to_dict(), slices=traced) if truth else None,
        **cuts.to_dict(),
    }
    with atomic_output(smk.output[0]) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1) + "\n")


run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
