"""Check a sample's files and cut it into tiles and chunks (the `plan` checkpoint).

Reads the image header and every mask of the sample (ground truth, ROI, predictions) and fails
early, before any processing, on what would otherwise fail late: unreadable files, a missing
channel, masks of another size or slice count, masks that are not binary.
"""

import json

from segval.errors import SegvalError
from segval.files import atomic_output
from segval.io import ImageReader, read_info
from segval.masks import check_binary, distinct_values
from segval.runner import run_step
from segval.tiling import parse_slices, plan


def check_mask(path, image, rule, band_rows, what, slices="all"):
    """A mask must match the image's slice size, cover the slices it claims, and be binary under
    ``rule``.  Returns its info and the image slice each of its slices belongs to.

    ``slices``: "all" (one mask slice per image slice), "one-or-all" (also a single slice applying
    to every image slice), or a truth_slices list such as "0,100,200-203".
    """
    info = read_info(path)
    if info.shape[1:] != image.shape[1:]:
        raise SegvalError(
            f"{what} is {info.shape[2]} x {info.shape[1]} pixels but the image {image.path} is "
            f"{image.shape[2]} x {image.shape[1]}",
            path,
            f"give the {what} of this image (same width and height)",
        )
    if slices not in ("all", "one-or-all"):
        try:
            mapped = parse_slices(slices, image.shape[0])
        except ValueError as error:
            raise SegvalError(f"truth_slices: {error}", path, "correct the truth_slices column") from None
        if len(mapped) != info.shape[0]:
            raise SegvalError(
                f"truth_slices lists {len(mapped)} slice(s) but the {what} has {info.shape[0]}",
                path,
                f"list one image slice per {what} slice in truth_slices",
            )
    elif info.shape[0] == image.shape[0] or (slices == "one-or-all" and info.shape[0] == 1):
        mapped = list(range(image.shape[0])) if info.shape[0] == image.shape[0] else [0]
    else:
        fix = f"give one {what} slice per image slice"
        if what == "ground truth":
            fix += ", or list in the sheet's truth_slices column which image slices it traces (e.g. 0,100,200-203)"
        if slices == "one-or-all":
            fix += ", or a single slice for all"
        raise SegvalError(f"{what} has {info.shape[0]} slice(s) but the image has {image.shape[0]}", path, fix)
    values = set()
    with ImageReader(path, channel=0 if info.channels > 1 else None) as reader:
        mask_slices, height, width = info.shape
        for z in range(mask_slices):
            for y0 in range(0, height, band_rows):  # by bands: memory ~ band, not slice
                band = reader.read(z, y0, min(y0 + band_rows, height), 0, width)
                values.update(distinct_values(band).tolist())
                check_binary(sorted(values), rule, path, what, complete=False)  # fail early
    check_binary(sorted(values), rule, path, what)
    return info, mapped


def main(smk):
    image = read_info(smk.input.image)
    ImageReader(smk.input.image, channel=smk.params.channel).close()  # checks the channel
    band = smk.params.tile_size
    manifest = {"sample": smk.wildcards.sample, "image": image.to_dict(), "truth": None, "roi": None, "predictions": {}}
    if smk.input.truth:
        spec = smk.params.truth_slices or "all"
        info, traced = check_mask(smk.input.truth[0], image, smk.params.truth_rule, band, "ground truth", spec)
        manifest["truth"] = dict(info.to_dict(), slices=traced)
    if smk.input.roi:
        info, _ = check_mask(smk.input.roi[0], image, "nonzero", band, "ROI", "one-or-all")
        manifest["roi"] = info.to_dict()
    for label, path in zip(smk.params.prediction_labels, smk.input.predictions):
        info, _ = check_mask(path, image, smk.params.prediction_rule, band, f"prediction {label!r}")
        manifest["predictions"][label] = info.to_dict()
    cuts = plan(image.shape, smk.params.tile_size, smk.params.chunk_megapixels, smk.params.whole_slices)
    manifest.update(cuts.to_dict())
    with atomic_output(smk.output[0]) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1) + "\n")


run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
