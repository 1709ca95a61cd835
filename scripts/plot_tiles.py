"""Map of a per-tile score over each traced slice: where on the slice the method fails."""

import matplotlib

matplotlib.use("Agg")  # no display on clusters
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from segval.files import atomic_output
from segval.runner import run_step
from segval.tables import read_tsv


def main(smk):
    metric = smk.params.metric
    rows = read_tsv(smk.input.tiles)
    slices = sorted({row["z"] for row in rows})[: smk.params.max_slices]
    grid = (
        (max(row["row"] for row in rows) + 1, max(row["col"] for row in rows) + 1)
        if rows
        else (1, 1)
    )
    columns = int(np.ceil(np.sqrt(len(slices)))) or 1
    lines = -(-max(len(slices), 1) // columns)
    aspect = grid[1] / grid[0]
    fig, axes = plt.subplots(
        lines,
        columns,
        figsize=(min(4 * aspect, 8) * columns, 4 * lines),
        squeeze=False,
        layout="constrained",
    )
    image = None
    for ax, z in zip(axes.flat, slices):
        values = np.full(grid, np.nan)
        for row in rows:
            # Tiles whose score is undefined (e.g. no foreground in truth nor mask) stay blank.
            if row["z"] == z and row["edge_case"] == "none":
                values[row["row"], row["col"]] = row[metric]
        image = ax.imshow(
            values,
            vmin=-1 if metric == "mcc" else 0,
            vmax=1,
            cmap="RdYlGn",
            interpolation="nearest",
        )
        ax.set_title(f"z={z}" if len(slices) > 1 or z else smk.wildcards.sample, fontsize="small")
        ax.set_xlabel("tile column")
        ax.set_ylabel("tile row")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in axes.flat[len(slices) :]:
        ax.axis("off")
    if image is not None:
        fig.colorbar(
            image, ax=axes, label=f"{metric.upper()} per tile (blank: undefined)", shrink=0.8
        )
    fig.suptitle(
        f"{smk.wildcards.sample}, {smk.wildcards.prep}.{smk.wildcards.method}: {metric.upper()} per tile"
    )
    with atomic_output(smk.output[0]) as tmp:
        fig.savefig(tmp, dpi=100)


if __name__ == "__main__":  # run by Snakemake; importable by scripts/run_batch.py
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
