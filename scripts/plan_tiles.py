"""Check a sample's files and cut it into tiles and chunks (the `plan` checkpoint).

Reads the image header and every mask of the sample (ground truth, ROI, predictions) and fails
early, before any processing, on what would otherwise fail late: unreadable or truncated files, a
missing channel, masks of another size or slice count, masks that are not binary, colour masks, an
empty ROI, a float image without a finite pixel.  Every processing job waits for the plans of all
samples (rule `checked`), so a bad file in any sample stops the run before any processing.
"""

import json
import logging

import numpy as np

from segval.errors import SegvalError
from segval.files import atomic_output
from segval.io import ImageReader, check_complete, read_info
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
            raise SegvalError(
                f"truth_slices: {error}", path, "correct the truth_slices column"
            ) from None
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
        raise SegvalError(
            f"{what} has {info.shape[0]} slice(s) but the image has {image.shape[0]}", path, fix
        )
    check_complete(path)
    values = set()
    # Masks are read as their first channel: a colour mask is accepted only when its colour
    # channels are equal (a grey mask saved as RGB), else green vessels would read as an empty red.
    colours = [ImageReader(path, channel=c) for c in range(1, 3)] if info.channels >= 3 else []
    with ImageReader(path, channel=0 if info.channels > 1 else None) as reader:
        mask_slices, height, width = info.shape
        for z in range(mask_slices):
            for y0 in range(0, height, band_rows):  # by bands: memory ~ band, not slice
                y1 = min(y0 + band_rows, height)
                band = reader.read(z, y0, y1, 0, width)
                for colour in colours:
                    if not np.array_equal(colour.read(z, y0, y1, 0, width), band):
                        raise SegvalError(
                            f"{what} is a colour image whose channels differ (segval reads a mask as one "
                            "grey channel, so a mask drawn in colour would read wrongly)",
                            path,
                            "save it as a grey or 1-bit mask (foreground non-zero, background 0), e.g. in "
                            "Fiji with Image > Type > 8-bit",
                        )
                values.update(distinct_values(band).tolist())
                check_binary(sorted(values), rule, path, what, complete=False)  # fail early
    for colour in colours:
        colour.close()
    check_binary(sorted(values), rule, path, what)
    if what == "ROI" and not any(values):
        raise SegvalError(
            "the ROI is empty (every pixel is 0): no pixel would be thresholded or counted",
            path,
            "give an ROI that is non-zero inside the region, or leave the sheet's roi column empty for "
            "the whole image",
        )
    return info, mapped


def check_float_pixels(path, channel, band_rows):
    """A float image needs finite pixels; NaN and infinite ones are counted and reported, since the
    thresholds' histograms leave them out (NaN and -inf are then background, +inf foreground)."""
    finite = total = 0
    with ImageReader(path, channel=channel) as reader:
        slices, height, width = reader.shape
        for z in range(slices):
            for y0 in range(0, height, band_rows):
                band = reader.read(z, y0, min(y0 + band_rows, height), 0, width)
                finite += int(np.count_nonzero(np.isfinite(band)))
                total += band.size
    if finite == 0:
        raise SegvalError(
            "the image has no finite pixel (all NaN or infinite): there is nothing to threshold",
            path,
            "give the image with its values (check the export: NaN often marks missing data)",
        )
    if finite < total:
        logging.getLogger("segval").warning(
            "%s: %d of %d pixels are NaN or infinite: the thresholds ignore them; NaN and -inf pixels are "
            "background in the masks, +inf foreground",
            path,
            total - finite,
            total,
        )


def main(smk):
    image = read_info(smk.input.image)
    ImageReader(smk.input.image, channel=smk.params.channel).close()  # checks the channel
    check_complete(smk.input.image)
    band = smk.params.tile_size
    if image.dtype.startswith("float"):
        check_float_pixels(smk.input.image, smk.params.channel, band)
    manifest = {
        "sample": smk.wildcards.sample,
        "image": image.to_dict(),
        "truth": None,
        "roi": None,
        "predictions": {},
    }
    if smk.input.truth:
        spec = smk.params.truth_slices or "all"
        info, traced = check_mask(
            smk.input.truth[0], image, smk.params.truth_rule, band, "ground truth", spec
        )
        manifest["truth"] = dict(info.to_dict(), slices=traced)
    if smk.input.roi:
        info, _ = check_mask(smk.input.roi[0], image, "nonzero", band, "ROI", "one-or-all")
        manifest["roi"] = info.to_dict()
    for label, path in zip(smk.params.prediction_labels, smk.input.predictions):
        info, _ = check_mask(path, image, smk.params.prediction_rule, band, f"prediction {label!r}")
        manifest["predictions"][label] = info.to_dict()
    cuts = plan(
        image.shape, smk.params.tile_size, smk.params.chunk_megapixels, smk.params.whole_slices
    )
    manifest.update(cuts.to_dict())
    with atomic_output(smk.output[0]) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1) + "\n")


run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
