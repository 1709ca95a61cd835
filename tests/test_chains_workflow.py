"""Several preprocessing chains in one run: every chain x method is a candidate pipeline, each chain
is denoised once per chunk, and the job count follows a formula in samples, chunks, chains and
methods (the real snakemake on tiny images)."""

import json

import numpy as np
import pytest

from segval.tables import read_tsv
from workflow_helpers import planned_jobs, run_snakemake, write_sheet, write_tiff

pytestmark = pytest.mark.workflow

SAMPLES = ("a", "b")
METHODS = ["otsu", "li"]
CHAINS = {"m3": [{"median": 3}], "bg25": [{"bgmedian": 25}, {"median": 3}]}
THIRD = {"tophat15": [{"tophat": 15}, {"median": 3}]}
# 128 x 128 images in 64-px tiles, chunks of one tile row: 2 chunks per image, 4 tiles.
TILING = {"tile_size": 64, "chunk_megapixels": 0.008}


def make_data(root):
    """Bright discs on an uneven background (a gradient), with their exact ground truth."""
    rng = np.random.default_rng(7)
    rows = []
    yy, xx = np.mgrid[:128, :128]
    for index, sample in enumerate(SAMPLES):
        truth = np.zeros((128, 128), bool)
        for y, x in rng.integers(8, 120, size=(12, 2)):
            truth |= (yy - y) ** 2 + (xx - x) ** 2 <= 16
        background = 40 + 0.6 * xx + 20 * index
        image = np.clip(background + 60 * truth + rng.normal(0, 6, truth.shape), 0, 255)
        write_tiff(root / f"{sample}.tif", image.astype(np.uint8))
        write_tiff(root / f"{sample}_truth.tif", truth.astype(np.uint8) * 255)
        rows.append(
            {
                "sample": sample,
                "image": root / f"{sample}.tif",
                "ground_truth": root / f"{sample}_truth.tif",
            }
        )
    return write_sheet(root / "samples.tsv", rows)


# The jobs a run has once, whatever its data.
ONCE = ("checked", "summary", "aggregate", "select_method", "plot_selection", "pages", "all")
# Chunks of 0.04 MP: each image fits one chunk, so the images are grouped into batches of two.
BATCHED = {"tile_size": 64, "chunk_megapixels": 0.04}


def config_of(sheet, chains, methods=METHODS, tiling=TILING):
    return {
        "samples": str(sheet),
        "methods": methods,
        "preprocess": chains,
        "metrics": {"boundary": False},
        "tiling": tiling,
        "outputs": {"denoised": True},
    }


@pytest.fixture(scope="module")
def sheet(tmp_path_factory):
    return make_data(tmp_path_factory.mktemp("chains_data"))


@pytest.fixture(scope="module")
def chains_run(tmp_path_factory, sheet):
    workdir = tmp_path_factory.mktemp("chains_run")
    config = config_of(sheet, CHAINS)
    run_snakemake(workdir, config)
    return workdir, config


def test_selection_ranks_every_chain_x_method(chains_run):
    workdir, _ = chains_run
    selection = json.loads((workdir / "results/selection.json").read_text())
    candidates = {f"{prep}.{method}" for prep in CHAINS for method in METHODS}
    assert {row["method"] for row in selection["ranking"]} == candidates
    assert len(selection["ranking"]) == 4
    assert selection["scheme"] == "leave-one-image-out"
    assert set(selection["choices"].values()) <= candidates
    summary = read_tsv(workdir / "results/summary.tsv")
    assert {(row["prep"], row["method"]) for row in summary} == {
        (prep, method) for prep in CHAINS for method in METHODS
    }
    for sample in SAMPLES:
        for prep in CHAINS:  # each chain's own histogram and side-by-side plot
            assert (workdir / f"results/plots/{sample}/{prep}.histogram.png").exists()
            assert (workdir / f"results/plots/{sample}/{prep}.methods.png").exists()
            assert (workdir / f"results/denoised/{sample}/{prep}.ome.tif").exists()
        page = (workdir / f"results/samples/{sample}.html").read_text()
        for candidate in candidates:
            assert f"../overlays/{sample}/{candidate}.png" in page
        for prep in CHAINS:
            assert f"../plots/{sample}/{prep}.histogram.png" in page
            assert f"../plots/{sample}/{prep}.methods.png" in page
    index = (workdir / "results/index.html").read_text()
    assert all(candidate in index for candidate in candidates)


def test_adding_a_chain_denoises_only_that_chain(chains_run):
    workdir, config = chains_run
    assert planned_jobs(workdir, config) == {}
    jobs = planned_jobs(workdir, dict(config, preprocess={**CHAINS, **THIRD}))
    s, c, m = len(SAMPLES), 2, len(METHODS)
    per_candidate = ("stitch_mask", "stitch_confusion", "metrics", "overlay")
    assert jobs == {
        "denoise": s * c,  # the new chain's chunks only: m3 and bg25 are not redone
        "stitch_denoised": s,
        "threshold": s,
        "segment": s * c,  # every method of a chunk in one job
        "confusion": s * c,
        **{rule: s * m for rule in per_candidate},
        "plot_tiles": s * m,
        "plot_histogram": s,
        "plot_methods": s,
        **{r: 1 for r in ("summary", "aggregate", "select_method", "plot_selection", "pages")},
        "all": 1,
    }


@pytest.mark.parametrize("tiling", [TILING, BATCHED], ids=["chunked", "batched"])
def test_without_intermediates_results_chunks_keeps_no_file(tmp_path, sheet, tiling):
    config = dict(
        config_of(sheet, [{"median": 3}], methods=["otsu"], tiling=tiling),
        outputs={"keep_intermediates": False, "denoised": False},
    )
    run_snakemake(tmp_path, config)
    chunks = tmp_path / "results/chunks"
    assert not [path for path in chunks.rglob("*") if path.is_file()], list(chunks.rglob("*"))
    assert (tmp_path / "results/masks/a/median3.otsu.ome.tif").exists()
    assert (tmp_path / "results/confusion/b/median3.otsu.ome.tif").exists()
    assert read_tsv(tmp_path / "results/summary.tsv")


def test_job_count_of_batched_images_follows_the_data_not_the_methods(tmp_path, sheet):
    """Images that fit one chunk are grouped into B batches (of up to `tiling.chunk_megapixels`).
    Jobs, for P chains and any number of samples and methods:

    ========================================================  =============
    plan, segment, validate, plot (per batch)                 B each
    denoise (per batch and chain)                             B * P
    checked, summary, aggregate, select_method,
    plot_selection, pages, all                                1 each
    ========================================================  =============

    In all B * (4 + P) + 7 jobs: per-method or per-image jobs would fail this test.
    """
    rows = [
        {
            "sample": f"s{i}",
            "image": sheet.parent / f"{name}.tif",
            "ground_truth": sheet.parent / f"{name}_truth.tif",
        }
        for i, name in enumerate(["a", "b", "a", "b", "a"])
    ]
    five = write_sheet(tmp_path / "five.tsv", rows)  # 5 images of 128 x 128: 3 batches of <= 2
    p, b = len(CHAINS), 3
    for methods in (METHODS, ["otsu", "li", "yen", "triangle", "mean", "manual:100"]):
        jobs = planned_jobs(tmp_path / "run", config_of(five, CHAINS, methods, tiling=BATCHED))
        batches = [f"b{i:04d}" for i in range(1, b + 1)]
        expected = {
            **{
                f"{step}_{batch}": 1
                for step in ("plan", "segment", "validate", "plot")
                for batch in batches
            },
            **{f"denoise_{batch}_{prep}": 1 for batch in batches for prep in CHAINS},
            **{rule: 1 for rule in ONCE},
        }
        assert jobs == expected
        assert sum(jobs.values()) == b * (4 + p) + 7


def test_job_count_follows_the_formula(tmp_path, sheet):
    """Images larger than one chunk are processed chunk by chunk, each chunk job running its step
    for every method.  Jobs per rule, once the plans exist, for S samples (all with ground truth,
    one slice, more than one tile), C chunks per sample, P chains and M methods (OME-TIFF outputs,
    denoised images kept, no zoom):

    ========================================================  =============
    denoise, segment, confusion                               S * C * P
    threshold, stitch_denoised, plot_histogram, plot_methods  S * P
    stitch_mask, stitch_confusion, metrics, overlay,
    plot_tiles                                                S * P * M
    checked, summary, aggregate, select_method,
    plot_selection, pages, all                                1
    ========================================================  =============

    In all 3 * S * C * P + 4 * S * P + 5 * S * P * M + 7 jobs: the chunk jobs, which grow with the
    data, do not grow with the methods (per-method chunk jobs would fail this test).
    """
    config = config_of(sheet, CHAINS)
    run_snakemake(tmp_path, config, *[f"results/plans/{sample}.json" for sample in SAMPLES])
    chunks = {
        len(json.loads((tmp_path / f"results/plans/{sample}.json").read_text())["chunks"])
        for sample in SAMPLES
    }
    assert chunks == {2}
    s, c, p, m = len(SAMPLES), 2, len(CHAINS), len(METHODS)
    expected = {
        **{rule: s * c * p for rule in ("denoise", "segment", "confusion")},
        **{
            rule: s * p
            for rule in ("threshold", "stitch_denoised", "plot_histogram", "plot_methods")
        },
        **{
            rule: s * p * m
            for rule in ("stitch_mask", "stitch_confusion", "metrics", "overlay", "plot_tiles")
        },
        **{rule: 1 for rule in ONCE},
    }
    jobs = planned_jobs(tmp_path, config)
    assert jobs == expected
    assert sum(jobs.values()) == 3 * s * c * p + 4 * s * p + 5 * s * p * m + 7
