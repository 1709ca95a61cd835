"""Dataset statistics per method and score: pooled (summed counts) and per image (mean ± sd, median),
with bootstrap 95 % intervals and how many images the edge-case policy replaced or excluded."""

from segval.columns import DATASET_STATISTICS_COLUMNS
from segval.evaluation import BOUNDARY, SUMMARISED, images_by_method, summarise
from segval.runner import run_step
from segval.tables import read_tsv, write_tsv


def main(smk):
    rows = []
    for (prep, method), images in images_by_method(
        row for path in smk.params.metrics for row in read_tsv(path)
    ).items():
        for metric in SUMMARISED + BOUNDARY:
            stats = summarise(
                images, metric, smk.params.policy, smk.params.resamples, smk.params.seed
            )
            rows.append({"prep": prep, "method": method, "metric": metric, **stats})
    write_tsv(smk.output[0], rows, DATASET_STATISTICS_COLUMNS)


if __name__ == "__main__":  # run by Snakemake; importable by scripts/run_batch.py
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
