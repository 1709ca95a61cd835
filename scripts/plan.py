"""Check a sample's files and cut it into tiles and chunks (the `plan` checkpoint).

Reads the image header and every mask of the sample (ground truth, ROI, predictions) and fails
early, before any processing, on what would otherwise fail late: unreadable or truncated files, a
missing channel, masks of another size or slice count, masks that are not binary, colour masks, an
empty ROI, a float image without a finite pixel.  Every processing job waits for the plans of all
samples (rule `checked`), so a bad file in any sample stops the run before any processing.
"""

import json

from segval.files import atomic_output
from segval.io import ImageReader, check_complete, check_float_pixels, read_info
from segval.masks import check_mask
from segval.runner import run_step
from segval.tiling import plan


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


if __name__ == "__main__":  # run by Snakemake; importable by scripts/run_batch.py
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
