"""Complete an OME-Zarr mask or confusion map filled by the chunk jobs: write its multiscales
metadata and rename it to its final name (a rename, not a copy)."""

from segval.ngff import finish
from segval.runner import run_step


def main(smk):
    finish(smk.input.building, smk.output[0])


if __name__ == "__main__":  # run by Snakemake; importable by scripts/run_batch.py
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
