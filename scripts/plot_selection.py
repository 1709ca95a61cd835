"""Heatmap of a score for every method (rows) on every image (columns), methods in ranking order."""

import json

import matplotlib

matplotlib.use("Agg")  # no display on clusters
import matplotlib.pyplot as plt
import numpy as np

from segval.evaluation import images_by_method
from segval.files import atomic_output
from segval.runner import run_step
from segval.tables import read_tsv


def main(smk):
    with open(smk.input.selection) as handle:
        selection = json.load(handle)
    metric = selection["metric"]
    grouped = images_by_method(row for path in smk.params.metrics for row in read_tsv(path))
    per_method = {
        f"{prep}.{method}": {r["sample"]: r[metric] for r in rows}
        for (prep, method), rows in grouped.items()
    }
    methods = [row["method"] for row in selection["ranking"]]
    references = [
        row["method"] for row in selection.get("references", [])
    ]  # the human level, unranked
    images = selection["images"]
    values = np.array(
        [[per_method[m].get(i, np.nan) for i in images] for m in methods + references], dtype=float
    )
    values = values.reshape(len(methods) + len(references), len(images))
    rows = len(methods) + len(references)
    fig, ax = plt.subplots(
        figsize=(4 + 0.9 * max(len(images), 1), 2 + 0.4 * max(rows, 1)), layout="constrained"
    )
    image = ax.imshow(
        values, cmap="viridis", vmin=-1 if metric in ("mcc", "kappa") else 0, vmax=1, aspect="auto"
    )
    ax.set_xticks(range(len(images)), images, rotation=45, ha="right")
    ax.set_yticks(
        range(rows),
        [f"{i + 1}. {m}" for i, m in enumerate(methods)] + [f"reference: {m}" for m in references],
    )
    if references:
        ax.axhline(len(methods) - 0.5, color="white", linewidth=3)
    for (row, column), value in np.ndenumerate(values):
        if np.isfinite(value):
            ax.text(
                column,
                row,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize="x-small",
                color="white" if value < 0.5 else "black",
            )
    fig.colorbar(image, ax=ax, label=metric.upper())

    def number(value):
        return "n/a" if value is None else f"{value:.3f}"

    pooled = selection["ranking"][0]["pooled"] if selection["ranking"] else None
    ax.set_title(  # on three lines: one line was clipped at both ends
        f"{metric.upper()} per image\nbest pooled: {selection['winner']} ({number(pooled)})\n"
        f"out of sample ({selection['scheme']}): {number(selection['out_of_sample'])}",
        fontsize="small",
    )
    with atomic_output(smk.output[0]) as tmp:
        fig.savefig(tmp, dpi=100)


if __name__ == "__main__":  # run by Snakemake; importable by scripts/run_batch.py
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
