"""The workflow, end to end: the real snakemake on real files in temporary directories."""

import base64
import hashlib
import json
import re
import subprocess

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.filters
import yaml

from segval.metrics import confusion_counts, scores
from segval.phantom import make_phantom
from segval.tables import read_tsv
from workflow_helpers import (
    KESM,
    REPO,
    planned_jobs,
    read_tiff,
    run_snakemake,
    snakemake_command,
    write_sheet,
    write_tiff,
)

pytestmark = pytest.mark.workflow

METHODS = ["otsu", "li", "ij_otsu"]


def summary_rows(workdir):
    return {(r["sample"], r["method"]): r for r in read_tsv(workdir / "results" / "summary.tsv")}


@pytest.mark.skipif(
    not KESM.exists(), reason="../shared/data/kesm (the real KESM tile) is not present"
)
def test_kesm_tile_reproduces_the_published_figures_exactly(tmp_path):
    sheet = write_sheet(
        tmp_path / "samples.tsv",
        [
            {
                "sample": "kesm",
                "image": KESM / "grayscale.png",
                "ground_truth": KESM / "groundtruth.png",
            }
        ],
    )
    config = {"samples": str(sheet), "invert": True, "median_size": 3, "methods": ["otsu"]}
    run_snakemake(tmp_path / "run", config)

    row = summary_rows(tmp_path / "run")[("kesm", "otsu")]
    assert row["threshold"] == 79
    assert (row["tp"], row["fn"], row["fp"], row["tn"]) == (5595, 1863, 122, 254564)
    assert row["accuracy"] == 0.9924278259277344
    assert row["f1"] == 0.8493358633776091
    assert row["mcc"] == 0.8533910225863214
    assert row["edge_case"] == "none"
    pooled = summary_rows(tmp_path / "run")[("ALL", "otsu")]
    assert pooled["mcc"] == row["mcc"] and pooled["images"] == 1

    # The mask file is the article's prediction, computed independently here.
    image = 255 - cv2.imread(str(KESM / "grayscale.png"), cv2.IMREAD_UNCHANGED)
    filtered = ndi.median_filter(image, size=3, mode="reflect")
    expected = filtered > skimage.filters.threshold_otsu(filtered)
    mask = read_tiff(tmp_path / "run/results/masks/kesm/median3.otsu.ome.tif")
    np.testing.assert_array_equal(mask != 0, expected)


def make_dataset(root, size=512):
    """Two phantoms with ground truth and one image without."""
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for index, name in enumerate(["alpha", "beta", "gamma"]):
        image, truth = make_phantom((size, size + 64 * index), seed=10 + index)
        write_tiff(root / f"{name}.tif", image)
        cv2.imwrite(str(root / f"{name}_truth.png"), truth.astype(np.uint8) * 255)
        rows.append(
            {
                "sample": name,
                "image": root / f"{name}.tif",
                "ground_truth": root / f"{name}_truth.png",
            }
        )
    rows[2]["ground_truth"] = ""
    return write_sheet(root / "samples.tsv", rows)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, dataset):
    workdir = tmp_path_factory.mktemp("run")
    config = {
        "samples": str(dataset),
        "invert": True,
        "median_size": 3,
        "methods": METHODS,
        "outputs": {"denoised": True},
    }
    run_snakemake(workdir, config)
    return workdir, config


def expected_mask(image_path, method):
    image = 255 - read_tiff(image_path)
    filtered = ndi.median_filter(image, size=3, mode="reflect")
    threshold = getattr(skimage.filters, f"threshold_{method}")(filtered)
    return filtered > threshold, threshold


def test_outputs_match_an_independent_computation(demo_run, dataset):
    workdir, _ = demo_run
    rows = summary_rows(workdir)
    data = dataset.parent
    for sample in ("alpha", "beta"):
        truth = cv2.imread(str(data / f"{sample}_truth.png"), cv2.IMREAD_UNCHANGED) != 0
        for method in ("otsu", "li"):
            expected, threshold = expected_mask(data / f"{sample}.tif", method)
            stem = f"{sample}/median3.{method}"
            mask = read_tiff(workdir / f"results/masks/{stem}.ome.tif")
            np.testing.assert_array_equal(mask != 0, expected)
            code = read_tiff(workdir / f"results/confusion/{stem}.ome.tif")
            np.testing.assert_array_equal(code, truth.astype(np.uint8) * 2 + expected)
            counts = confusion_counts(truth, expected)
            row = rows[(sample, method)]
            assert row["threshold"] == threshold
            assert {k: row[k] for k in counts} == counts
            assert row["mcc"] == scores(counts)["mcc"]
            assert (workdir / f"results/overlays/{stem}.png").stat().st_size > 0
        assert (workdir / f"results/plots/{sample}/median3.histogram.png").exists()
        denoised = read_tiff(workdir / f"results/denoised/{sample}/median3.ome.tif")
        np.testing.assert_array_equal(
            denoised, ndi.median_filter(255 - read_tiff(data / f"{sample}.tif"), 3)
        )


def test_summary_pools_summed_counts_not_averaged_scores(demo_run):
    workdir, _ = demo_run
    rows = summary_rows(workdir)
    for method in METHODS:
        per_image = [rows[(s, method)] for s in ("alpha", "beta")]
        pooled = rows[("ALL", method)]
        for name in ("tp", "fp", "fn", "tn"):
            assert pooled[name] == sum(r[name] for r in per_image)
        assert pooled["mcc"] == scores(pooled)["mcc"]
        assert pooled["images"] == 2
    # The image without ground truth is segmented and reported, but not scored or pooled.
    unscored = rows[("gamma", "otsu")]
    assert unscored["status"] == "no_ground_truth" and unscored["threshold"] is not None
    assert unscored["tp"] is None
    assert (workdir / "results/masks/gamma/median3.otsu.ome.tif").exists()
    assert (workdir / "results/overlays/gamma/median3.otsu.png").exists()
    assert not (workdir / "results/confusion/gamma").exists()


def test_report_registers_summary_and_pages(demo_run, tmp_path):
    workdir, config = demo_run
    report = workdir / "report.html"
    run_snakemake(workdir, config, "--report", str(report))
    html = report.read_text(errors="replace")
    assert "summary.tsv" in html and "index.html" in html  # the answer page (tests/test_pages.py)
    # The sample pages (the demo's images are processed in batches, whose files the report does
    # not list one by one: their pages show them).
    assert "alpha.html" in html
    # No full-size overlay embedded (the report must not grow with the images): the start of each
    # overlay's bytes, as a data URI would hold it, is absent. (Its name may appear: the report
    # lists what each job wrote.)
    for overlay in (workdir / "results" / "overlays").rglob("*.png"):
        assert base64.b64encode(overlay.read_bytes()[:300]).decode() not in html, overlay
    assert "median3.otsu.tsv" in html  # per slice (one tile: no tile map)
    assert "selection.png" in html  # the method heatmap
    assert "true positive" in html  # the sample pages' caption with the overlay legend


def test_adding_a_method_reruns_only_what_depends_on_it(demo_run):
    workdir, config = demo_run
    assert planned_jobs(workdir, config) == {}
    jobs = planned_jobs(workdir, dict(config, methods=METHODS + ["yen"]))
    # The three small images are one batch: its masks, validation and plots are redone, not its
    # plans or denoising.
    assert jobs == {
        "segment_b0001": 1,
        "validate_b0001": 1,
        "plot_b0001": 1,
        "summary": 1,
        "all": 1,
        "aggregate": 1,
        "select_method": 1,
        "plot_selection": 1,
        "pages": 1,
    }


def test_a_batch_job_writes_its_files_again_when_one_has_gone(demo_run):
    # A batch job declares only its manifest; a file the manifest lists that has gone is declared
    # again, so the job that writes it (and nothing before it) is redone.
    workdir, config = demo_run
    overlay = workdir / "results/overlays/alpha/median3.otsu.png"
    kept = overlay.read_bytes()
    overlay.unlink()
    try:
        jobs = planned_jobs(workdir, config)
        assert jobs["plot_b0001"] == 1 and "segment_b0001" not in jobs, jobs
        assert "validate_b0001" not in jobs and "plan_b0001" not in jobs, jobs
    finally:
        overlay.write_bytes(kept)


def test_removing_a_method_and_its_files_reruns_cleanly(dataset, tmp_path):
    # The old manifest lists the removed method's files; they are not declared again (the job, whose
    # context changed, no longer writes them), so the rerun succeeds.
    config = {"samples": str(dataset), "invert": True, "median_size": 3, "methods": ["otsu", "li"]}
    run_snakemake(tmp_path, config)
    for overlay in (tmp_path / "results/overlays").rglob("median3.li.png"):
        overlay.unlink()
    run_snakemake(tmp_path, dict(config, methods=["otsu"]))
    assert (tmp_path / "results/overlays/alpha/median3.otsu.png").exists()
    assert not list((tmp_path / "results/overlays").rglob("median3.li.png"))


def test_one_file_of_a_batched_image_can_be_asked_for(demo_run, tmp_path):
    # `snakemake results/metrics/<sample>/<prep>.<method>.tsv` runs the batch jobs that lead to it.
    _, config = demo_run
    target = "results/metrics/alpha/median3.otsu.tsv"
    jobs = planned_jobs(tmp_path, config, "--", target)
    assert set(jobs) == {
        "plan_b0001",
        "checked",  # every sample's files checked before any work
        "denoise_b0001_median3",
        "segment_b0001",
        "validate_b0001",
    }


def test_changing_the_median_reruns_denoise_and_what_follows_only(demo_run):
    workdir, config = demo_run
    jobs = planned_jobs(workdir, dict(config, median_size=5))
    assert jobs["denoise_b0001_median5"] == 1 and jobs["segment_b0001"] == 1
    assert "plan_b0001" not in jobs  # the tiles of an image do not depend on its preprocessing


def digest_tree(root):
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted((root / "results").rglob("*"))
        if path.is_file()
    }


def test_outputs_are_byte_identical_whatever_the_cores(demo_run, tmp_path):
    workdir, config = demo_run
    run_snakemake(tmp_path, config, cores=1)
    assert digest_tree(tmp_path) == digest_tree(workdir)


def test_tiny_tiles_and_chunks_give_identical_results(dataset, demo_run, tmp_path):
    workdir, config = demo_run
    # 64-pixel tiles, chunks of two bands of tiles: every image is cut into four row bands.
    tiled = dict(config, tiling={"tile_size": 64, "chunk_megapixels": 0.085})
    run_snakemake(tmp_path, tiled)
    for sample in ("alpha", "beta", "gamma"):
        assert (
            len(json.loads((tmp_path / f"results/plans/{sample}.json").read_text())["chunks"]) == 4
        )
    for stem in ("alpha/median3.otsu", "beta/median3.li", "gamma/median3.ij_otsu"):
        np.testing.assert_array_equal(
            read_tiff(tmp_path / f"results/masks/{stem}.ome.tif"),
            read_tiff(workdir / f"results/masks/{stem}.ome.tif"),
        )
    whole = {k: v for k, v in summary_rows(workdir).items()}
    assert summary_rows(tmp_path) == whole


def test_user_options_channel_default_polarity_and_overlay_colours(tmp_path):
    """A user's config file replaces the demo's (options left out take the schema's defaults: no
    invert), `channel` picks the channel of a colour image, and the overlay and its legend in the
    report use the configured colours and alpha."""
    image, truth = make_phantom((256, 320), seed=5)
    bright_vessels = 255 - image  # invert: false (the default) is right for these
    noise = np.random.default_rng(0).integers(0, 256, image.shape, dtype=np.uint8)
    rgb = np.dstack([noise, bright_vessels, noise[::-1]])
    cv2.imwrite(str(tmp_path / "rgb.png"), rgb[:, :, ::-1])  # OpenCV writes BGR
    cv2.imwrite(str(tmp_path / "truth.png"), truth.astype(np.uint8) * 255)
    sheet = write_sheet(
        tmp_path / "s.tsv",
        [{"sample": "rgb", "image": tmp_path / "rgb.png", "ground_truth": tmp_path / "truth.png"}],
    )
    colours = {"tp": [10, 20, 30], "fp": [40, 50, 60], "fn": [70, 80, 90], "tn": [5, 5, 5]}
    config = {
        "samples": str(sheet),
        "channel": 1,
        "methods": ["otsu"],
        "overlay": {"alpha": 0.0, "colours": colours},
    }
    workdir = tmp_path / "run"
    run_snakemake(workdir, config)

    filtered = ndi.median_filter(bright_vessels, 3)
    expected = filtered > skimage.filters.threshold_otsu(filtered)
    mask = read_tiff(workdir / "results/masks/rgb/median3.otsu.ome.tif")
    np.testing.assert_array_equal(mask != 0, expected)
    assert summary_rows(workdir)[("rgb", "otsu")]["f1"] > 0.8

    codes = read_tiff(workdir / "results/confusion/rgb/median3.otsu.ome.tif")
    overlay = cv2.imread(str(workdir / "results/overlays/rgb/median3.otsu.png"))[:, :, ::-1]
    for code, name in ((0, "tn"), (1, "fp"), (2, "fn"), (3, "tp")):
        assert (codes == code).any()
        assert (overlay[codes == code] == colours[name]).all(), name

    report = workdir / "report.html"
    run_snakemake(workdir, config, "--report", str(report))
    html = report.read_text(errors="replace")
    assert "RGB (10, 20, 30)" in html and "true positive" in html


def test_the_demo_plans_from_its_own_config(tmp_path):
    """`snakemake` with no --configfile runs the demo: config/config.yaml, the demo sheet, three
    generated phantoms (one 4096 x 4096), seven methods."""
    result = subprocess.run(
        snakemake_command(
            tmp_path, "--cores", 1, "--dry-run", "--quiet", "rules", configfile=False
        ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    jobs = dict(
        line.split()
        for line in result.stdout.splitlines()
        if len(line.split()) == 2 and line.split()[1].isdigit()
    )
    # Three phantoms (1, 3 and 16.8 megapixels) in three batches, each a few jobs for all methods.
    batched = {rule.split("_")[0] for rule in jobs if re.fullmatch(r"\w+_b\d{4}(_\w+)?", rule)}
    assert jobs["make_phantom"] == "3" and batched == {
        "plan",
        "denoise",
        "segment",
        "validate",
        "plot",
    }
    assert int(jobs["total"]) == 3 + 3 * 5 + 7  # phantoms, 5 per batch, checked and the summaries
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    assert config["invert"] is True and len(config["methods"]) == 7
