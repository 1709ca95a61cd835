"""Compare one mask chunk with the ground truth on its traced slices: confusion map (0 TN, 1 FP, 2 FN,
3 TP) and per-tile confusion counts."""

import json

from segval.io import ImageReader
from segval.stitching import write_tiles
from segval.masks import binarize
from segval.metrics import COUNT_NAMES, confusion_counts, confusion_map
from segval.runner import run_step
from segval.tables import write_tsv
from segval.tiling import Plan

TILE_COLUMNS = ("z", "row", "col", "y0", "y1", "x0", "x1") + COUNT_NAMES


def main(smk):
    with open(smk.input.plan) as handle:
        manifest = json.load(handle)
    plan = Plan.from_dict(manifest)
    chunk = plan.chunk(smk.wildcards.chunk)
    _, _, width = plan.shape
    truth_info = manifest["truth"]
    truth_channel = 0 if truth_info["channels"] > 1 else None
    truth_page = {z: page for page, z in enumerate(truth_info["slices"])}  # image slice -> truth slice
    traced = [z for z in range(chunk.z0, chunk.z1) if z in truth_page]
    rows = []
    with ImageReader(smk.input.mask) as masks, ImageReader(smk.input.truth, channel=truth_channel) as truths:

        def code_tiles():
            for tile in plan.tiles(chunk):
                if tile.z not in truth_page:  # untraced slices are segmented, not compared
                    continue
                predicted = masks.read(tile.z - chunk.z0, tile.y0 - chunk.y0, tile.y1 - chunk.y0, tile.x0, tile.x1) != 0
                truth = binarize(truths.read(truth_page[tile.z], tile.y0, tile.y1, tile.x0, tile.x1), smk.params.truth_rule)
                rows.append({**tile.__dict__, **confusion_counts(truth, predicted)})
                yield confusion_map(truth, predicted)

        # One page per traced slice of the chunk: the confusion stack holds the traced slices only.
        shape = (len(traced), chunk.y1 - chunk.y0, width)
        write_tiles(smk.output.confusion, code_tiles(), shape, "uint8", plan.tile_size, pyramid=plan.pyramid(chunk, "confusion"))
    write_tsv(smk.output.counts, rows, TILE_COLUMNS)


run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
