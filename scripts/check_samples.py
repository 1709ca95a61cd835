"""Gather the plans of all samples into one table: every sample's files have passed the plan's checks.

Every processing job waits for this step's output (rule `checked`), so no sample's processing starts
before all samples' files are checked.
"""

import json
from pathlib import Path

from segval.columns import CHECKED_SAMPLES_COLUMNS
from segval.runner import run_step
from segval.tables import write_tsv
from segval.tiling import Plan


def main(smk):
    rows = []
    for sample, path in zip(smk.params.samples, smk.params.plans):
        manifest = json.loads(Path(path).read_text())
        plan = Plan.from_dict(manifest)
        slices, height, width = plan.shape
        rows.append(
            {
                "sample": sample,
                "slices": slices,
                "height": height,
                "width": width,
                "dtype": manifest["image"]["dtype"],
                "chunks": len(plan.chunks),
                "ground_truth": "yes" if manifest["truth"] else "no",
                "roi": "yes" if manifest["roi"] else "no",
                "predictions": ",".join(manifest["predictions"]),
            }
        )
    write_tsv(smk.output[0], rows, CHECKED_SAMPLES_COLUMNS)


if __name__ == "__main__":  # run by Snakemake; importable by scripts/run_batch.py
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
