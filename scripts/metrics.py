"""Reduce per-tile confusion counts (and boundary-distance summaries) to metrics: pooled over the
sample, per slice, and per tile."""

import json

from segval.boundary import DISTANCE_KEYS, TileDistances, merge, reduce
from segval.errors import combined_status
from segval.metrics import COUNT_NAMES, SCORE_NAMES, add_counts, scores
from segval.runner import run_step
from segval.tables import read_tsv, write_tsv

COLUMNS = (
    ("sample", "prep", "method", "scope", "z", "threshold", "status")
    + COUNT_NAMES
    + SCORE_NAMES
    + ("edge_case",)
    + DISTANCE_KEYS
)
TILE_COLUMNS = (
    ("sample", "prep", "method", "z", "row", "col", "y0", "y1", "x0", "x1")
    + COUNT_NAMES
    + ("f1", "mcc", "edge_case")
)


def boundary_columns(summaries):
    """HD, HD95, ASSD (+ bounds) of merged slice summaries; empty when boundary metrics are off."""
    if not summaries:
        return {}
    result = reduce([merge(summaries)])
    return {name: result[name] for name in DISTANCE_KEYS}


def main(smk):
    thresholds = []  # none for masks given in the sheet
    if smk.input.threshold:
        with open(smk.input.threshold[0]) as handle:
            thresholds = json.load(handle)["thresholds"]
    ids = {
        "sample": smk.wildcards.sample,
        "prep": smk.wildcards.prep,
        "method": smk.wildcards.method,
    }
    policy = smk.params.policy
    status = combined_status(t["status"] for t in thresholds)
    image_threshold = thresholds[0]["threshold"] if len(thresholds) == 1 else None
    tiles = [row for path in smk.input.counts for row in read_tsv(path)]
    distances = {}  # slice -> summaries
    for path in smk.input.boundary:
        with open(path) as handle:
            for z, summary in json.load(handle).items():
                distances.setdefault(int(z), []).append(TileDistances.from_dict(summary))
    rows = []
    if not tiles:  # no ground truth: the threshold is all there is to report
        rows.append(
            {**ids, "scope": "image", "threshold": image_threshold, "status": "no_ground_truth"}
        )
    else:
        everything = [s for summaries in distances.values() for s in summaries]
        rows.append(
            {
                **ids,
                "scope": "image",
                "threshold": image_threshold,
                "status": status,
                **_scored(tiles, policy),
                **boundary_columns(everything),
            }
        )
        slices = sorted({row["z"] for row in tiles})
        if len(slices) > 1:
            by_z = {t["z"]: t for t in thresholds if t["z"] is not None}
            for z in slices:
                subset = [row for row in tiles if row["z"] == z]
                threshold = by_z[z]["threshold"] if z in by_z else image_threshold
                rows.append(
                    {
                        **ids,
                        "scope": "slice",
                        "z": z,
                        "threshold": threshold,
                        "status": status,
                        **_scored(subset, policy),
                        **boundary_columns(distances.get(z, [])),
                    }
                )
    write_tsv(smk.output.metrics, rows, COLUMNS)
    tile_rows = [
        {
            **ids,
            **row,
            **{k: v for k, v in scores(row, policy).items() if k in ("f1", "mcc", "edge_case")},
        }
        for row in tiles
    ]
    write_tsv(smk.output.tiles, tile_rows, TILE_COLUMNS)


def _scored(tile_rows, policy):
    counts = add_counts(*tile_rows)
    return {**counts, **scores(counts, policy)}


if __name__ == "__main__":  # run by Snakemake; importable by scripts/run_batch.py
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
