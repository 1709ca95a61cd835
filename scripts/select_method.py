"""Rank the methods by a pooled score and estimate, honestly, how good the chosen one is on images
that did not choose it (the sheet's test images, or leave-one-image-out)."""

import json
import math

from segval.columns import SELECTION_COLUMNS
from segval.evaluation import images_by_method, select
from segval.files import atomic_output
from segval.runner import log, run_step
from segval.tables import read_tsv, write_tsv


def main(smk):
    grouped = images_by_method(row for path in smk.params.metrics for row in read_tsv(path))
    table = {
        f"{prep}.{method}": {row["sample"]: row for row in images}
        for (prep, method), images in grouped.items()
    }
    result = select(
        table,
        smk.params.metric,
        smk.params.policy,
        smk.params.split,
        smk.params.resamples,
        smk.params.seed,
        references=smk.params.references,
    )
    # References (another expert) follow the ranking, labelled `reference` in the rank column.
    write_tsv(smk.output.tsv, result["ranking"] + result["references"], SELECTION_COLUMNS)
    for method, missing in result["left_out"].items():
        log.warning(
            "selection: %s left out of the ranking: no counts for %s (methods are compared on the same images)",
            method,
            ", ".join(missing),
        )
    with atomic_output(smk.output.json) as tmp:
        tmp.write_text(json.dumps(_without_nan(result), indent=1) + "\n")


def _without_nan(value):
    """JSON has no NaN: undefined numbers become null."""
    if isinstance(value, dict):
        return {key: _without_nan(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nan(item) for item in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


if __name__ == "__main__":  # run by Snakemake; importable by scripts/run_batch.py
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
