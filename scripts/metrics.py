"""Reduce per-tile confusion counts (and boundary-distance summaries) to metrics: pooled over the
sample, per slice, and per tile."""

import json

from segval.boundary import TileDistances
from segval.columns import METRICS_COLUMNS, TILE_METRICS_COLUMNS
from segval.runner import run_step
from segval.sample_metrics import sample_metrics
from segval.tables import read_tsv, write_tsv


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
    tiles = [row for path in smk.input.counts for row in read_tsv(path)]
    distances = {}  # slice -> summaries
    for path in smk.input.boundary:
        with open(path) as handle:
            for z, summary in json.load(handle).items():
                distances.setdefault(int(z), []).append(TileDistances.from_dict(summary))
    rows, tile_rows = sample_metrics(ids, thresholds, tiles, distances, smk.params.policy)
    write_tsv(smk.output.metrics, rows, METRICS_COLUMNS)
    write_tsv(smk.output.tiles, tile_rows, TILE_METRICS_COLUMNS)


if __name__ == "__main__":  # run by Snakemake; importable by scripts/run_batch.py
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
