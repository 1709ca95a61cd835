"""Compare one mask chunk with the ground truth on its traced slices: confusion map (0 TN, 1 FP, 2 FN,
3 TP; 4 outside the ROI), per-tile confusion counts, and per-slice boundary-distance summaries (tiles
read with a halo, across chunk borders where needed)."""

import json

from segval.boundary import merge, tile_boundary_distances
from segval.columns import TILE_COUNT_COLUMNS
from segval.files import atomic_output
from segval.masks import MaskReader
from segval.metrics import confusion_counts, confusion_map
from segval.runner import run_step, shared_reader
from segval.stitching import ChunkSet, write_mask_chunk
from segval.tables import write_tsv
from segval.tiling import load_manifest


def main(smk):
    manifest, plan = load_manifest(smk.input.plan)
    chunk = plan.chunk(smk.wildcards.chunk)
    _, _, width = plan.shape
    traced = [z for z in range(chunk.z0, chunk.z1) if z in set(manifest["truth"]["slices"])]
    rows, distances = [], {}
    roi = MaskReader(smk.input.roi[0]) if smk.input.roi else None  # outside: not compared (code 4)
    truths = MaskReader(smk.input.truth, smk.params.truth_rule, slices=manifest["truth"]["slices"])
    masks = ChunkSet(list(smk.input.masks), plan.subset(smk.params.mask_chunks))
    # Every method of the job is compared with the same truth: read once (SharedReads).
    slices = tuple(manifest["truth"]["slices"])
    read_truth = shared_reader(
        smk, "truth", (str(smk.input.truth), smk.params.truth_rule, slices), truths.read
    )
    read_roi = roi and shared_reader(smk, "roi", tuple(smk.input.roi), roi.read)
    with masks, truths:

        def code_tiles():
            for tile in plan.tiles(chunk):
                if not truths.covers(tile.z):  # untraced slices are segmented, not compared
                    continue
                bounds = (tile.y0, tile.y1, tile.x0, tile.x1)
                predicted = masks.read(tile.z, *bounds) != 0
                truth = read_truth(tile.z, *bounds)
                inside = read_roi(tile.z, *bounds) if roi else None
                rows.append({**tile.__dict__, **confusion_counts(truth, predicted, inside)})
                if smk.params.boundary:
                    summary = tile_boundary_distances(
                        truths.read,
                        masks.read,
                        plan.shape,
                        tile.z,
                        *bounds,
                        smk.params.halo,
                        smk.params.spacing,
                        inside,
                    )
                    distances.setdefault(tile.z, []).append(summary)
                yield confusion_map(truth, predicted, inside)

        # One page per traced slice of the chunk: the confusion stack holds the traced slices only.
        shape = (len(traced), chunk.y1 - chunk.y0, width)
        rank = {z: i for i, z in enumerate(manifest["truth"]["slices"])}  # the map's slice of z
        positions = [(rank[t.z], t.y0, t.x0) for t in plan.tiles(chunk) if t.z in rank]
        zarr_image = smk.input.zarr[0] if smk.input.zarr else None
        pyramid = plan.pyramid(chunk, "confusion")
        write_mask_chunk(
            smk.output.confusion,
            code_tiles(),
            shape,
            plan.tile_size,
            pyramid,
            zarr_image,
            positions,
        )
    write_tsv(smk.output.counts, rows, TILE_COUNT_COLUMNS)
    per_slice = {str(z): merge(summaries).to_dict() for z, summaries in distances.items()}
    with atomic_output(smk.output.boundary) as tmp:
        tmp.write_text(json.dumps(per_slice) + "\n")


if __name__ == "__main__":  # run by Snakemake; importable by scripts/run_batch.py
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
