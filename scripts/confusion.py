"""Compare one mask chunk with the ground truth on its traced slices: confusion map (0 TN, 1 FP, 2 FN,
3 TP) and per-tile confusion counts."""

import json

from segval.io import ImageReader
from segval.masks import MaskReader
from segval.stitching import write_tiles
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
    traced = [z for z in range(chunk.z0, chunk.z1) if z in set(manifest["truth"]["slices"])]
    rows = []
    roi = MaskReader(smk.input.roi[0]) if smk.input.roi else None  # outside: not compared (code 4)
    truths = MaskReader(smk.input.truth, smk.params.truth_rule, slices=manifest["truth"]["slices"])
    with ImageReader(smk.input.mask) as masks, truths:

        def code_tiles():
            for tile in plan.tiles(chunk):
                if not truths.covers(tile.z):  # untraced slices are segmented, not compared
                    continue
                predicted = masks.read(tile.z - chunk.z0, tile.y0 - chunk.y0, tile.y1 - chunk.y0, tile.x0, tile.x1) != 0
                truth = truths.read(tile.z, tile.y0, tile.y1, tile.x0, tile.x1)
                inside = roi.read(tile.z, tile.y0, tile.y1, tile.x0, tile.x1) if roi else None
                rows.append({**tile.__dict__, **confusion_counts(truth, predicted, inside)})
                yield confusion_map(truth, predicted, inside)

        # One page per traced slice of the chunk: the confusion stack holds the traced slices only.
        shape = (len(traced), chunk.y1 - chunk.y0, width)
        write_tiles(smk.output.confusion, code_tiles(), shape, "uint8", plan.tile_size, pyramid=plan.pyramid(chunk, "confusion"))
    write_tsv(smk.output.counts, rows, TILE_COLUMNS)


run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
