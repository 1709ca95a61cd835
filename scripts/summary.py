"""One table for the whole run: a row per (sample, method), and per method a pooled row (sample ALL)
computed from the summed confusion counts, not from averaged scores."""

from segval.checks import POOLED
from segval.columns import SUMMARY_COLUMNS
from segval.errors import NO_GROUND_TRUTH, combined_status
from segval.metrics import add_counts, scores
from segval.runner import run_step
from segval.tables import read_tsv, write_tsv


def main(smk):
    rows = [row for path in smk.params.metrics for row in read_tsv(path) if row["scope"] == "image"]
    for row in rows:
        row["images"] = 1
    pooled = []
    for prep, method in dict.fromkeys((row["prep"], row["method"]) for row in rows):
        scored = [
            r
            for r in rows
            if (r["prep"], r["method"]) == (prep, method) and r["status"] != NO_GROUND_TRUTH
        ]
        if not scored:
            continue
        counts = add_counts(*scored)
        status = combined_status(r["status"] for r in scored)
        pooled.append(
            {
                "sample": POOLED,
                "prep": prep,
                "method": method,
                "status": status,
                "images": len(scored),
                **counts,
                **scores(counts, smk.params.policy),
            }
        )
    write_tsv(smk.output[0], rows + pooled, SUMMARY_COLUMNS)


if __name__ == "__main__":  # run by Snakemake; importable by scripts/run_batch.py
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
