"""Every kind of method through the workflow: local (tile-exact across chunk borders), ImageJ,
manual and percentile thresholds, and a method that finds no threshold."""

import json

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.filters
import tifffile

from segval.histograms import tile_histogram
from segval.imagej import ij_threshold
from segval.local_thresholds import local_halo, local_mask
from segval.phantom import make_phantom
from segval.tables import read_tsv
from workflow_helpers import read_tiff, run_snakemake, write_sheet

pytestmark = pytest.mark.workflow

LOCAL = {
    "sauvola:window_size=31,k=0.1": ("sauvola", {"window_size": 31, "k": 0.1}),
    "bernsen:radius=7": ("bernsen", {"radius": 7}),
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("methods")
    image, truth = make_phantom((512, 448), seed=21)
    tifffile.imwrite(root / "image.tif", image, photometric="minisblack")
    cv2.imwrite(str(root / "truth.png"), truth.astype(np.uint8) * 255)
    sheet = write_sheet(
        root / "s.tsv",
        [{"sample": "p", "image": root / "image.tif", "ground_truth": root / "truth.png"}],
    )
    config = {
        "samples": str(sheet),
        "invert": True,
        "median_size": 3,
        "methods": [*LOCAL, "ij_huang", "manual:90", "percentile:97"],
        "tiling": {
            "tile_size": 64,
            "chunk_megapixels": 0.06,
        },  # bands of two tile rows: halos cross chunks
    }
    run_snakemake(root / "run", config)
    return root / "run", ndi.median_filter(255 - image, 3)


@pytest.mark.parametrize("spec", list(LOCAL))
def test_local_methods_are_tile_exact_across_chunk_borders(run, spec):
    workdir, filtered = run
    name, params = LOCAL[spec]
    halo = local_halo(name, params)
    expected = local_mask(np.pad(filtered, halo, mode="symmetric"), name, params)
    stem = spec.replace(":", "-").replace(",", "-").replace("=", "")
    mask = read_tiff(workdir / f"results/masks/p/median3.{stem}.ome.tif")
    np.testing.assert_array_equal(mask != 0, expected)
    assert (
        json.loads((workdir / f"results/thresholds/p/median3.{stem}.json").read_text())["scope"]
        == "local"
    )


def test_global_methods_of_every_family(run):
    workdir, filtered = run
    rows = {r["method"]: r for r in read_tsv(workdir / "results/summary.tsv") if r["sample"] == "p"}
    counts = tile_histogram(filtered)
    assert rows["ij_huang"]["threshold"] == ij_threshold(counts, "ij_huang")
    assert rows["manual-90"]["threshold"] == 90
    assert rows["percentile-97"]["threshold"] == np.percentile(filtered, 97, method="inverted_cdf")
    mask = read_tiff(workdir / "results/masks/p/median3.manual-90.ome.tif")
    np.testing.assert_array_equal(mask != 0, filtered > 90)


def flat_image_sheet(root):
    noise = np.random.default_rng(1).normal(128, 3, (256, 256)).clip(0, 255).astype(np.uint8)
    tifffile.imwrite(root / "flat.tif", noise, photometric="minisblack")
    cv2.imwrite(str(root / "flat_truth.png"), np.zeros((256, 256), np.uint8))
    return write_sheet(
        root / "s.tsv",
        [{"sample": "flat", "image": root / "flat.tif", "ground_truth": root / "flat_truth.png"}],
    )


def test_a_method_that_finds_no_threshold_is_reported_not_silent(tmp_path):
    sheet = flat_image_sheet(tmp_path)
    result = run_snakemake(
        tmp_path / "run",
        {"samples": str(sheet), "median_size": 0, "methods": ["otsu", "ij_intermodes"]},
    )
    assert (
        "ij_intermodes" in result.stderr and "bimodal" in result.stderr
    )  # the warning, on the terminal
    rows = {
        r["method"]: r
        for r in read_tsv(tmp_path / "run/results/summary.tsv")
        if r["sample"] == "flat"
    }
    assert rows["ij_intermodes"]["status"] == "threshold_not_found"
    assert rows["ij_intermodes"]["threshold"] is None
    assert rows["otsu"]["status"] == "ok"
    threshold = json.loads(
        (tmp_path / "run/results/thresholds/flat/raw.ij_intermodes.json").read_text()
    )
    assert threshold["thresholds"][0]["status"] == "threshold_not_found"
    selection = json.loads((tmp_path / "run/results/selection.json").read_text())
    assert {row["method"]: row["not_found"] for row in selection["ranking"]} == {
        "raw.otsu": 0,
        "raw.ij_intermodes": 1,
    }


def test_the_only_method_finding_no_threshold_is_an_error(tmp_path):
    sheet = flat_image_sheet(tmp_path)
    result = run_snakemake(
        tmp_path / "run",
        {"samples": str(sheet), "median_size": 0, "methods": ["ij_intermodes"]},
        check=False,
    )
    assert result.returncode != 0
    assert (
        "ij_intermodes" in result.stderr
        and "Fix:" in result.stderr
        and "Traceback" not in result.stderr
    )


def test_bad_local_parameters_fail_before_anything_runs(tmp_path):
    sheet = flat_image_sheet(tmp_path)
    result = run_snakemake(
        tmp_path / "run",
        {"samples": str(sheet), "methods": ["sauvola:window_size=4"]},
        "--dry-run",
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "window_size" in output and "odd" in output and "Fix:" in output


@pytest.mark.parametrize("dtype", ["uint16", "float32"])
def test_16_bit_and_float_images_threshold_like_scikit_image(tmp_path, dtype):
    image, truth = make_phantom((320, 384), seed=8, dtype="uint16")
    if dtype == "float32":
        image = (image / np.float32(65535)).astype(np.float32)
    tifffile.imwrite(tmp_path / "image.tif", image, photometric="minisblack")
    cv2.imwrite(str(tmp_path / "truth.png"), truth.astype(np.uint8) * 255)
    sheet = write_sheet(
        tmp_path / "s.tsv",
        [{"sample": "d", "image": tmp_path / "image.tif", "ground_truth": tmp_path / "truth.png"}],
    )
    methods = ["otsu", "yen", "triangle"]
    config = {
        "samples": str(sheet),
        "invert": True,
        "median_size": 3,
        "methods": methods,
        "metrics": {"boundary": False},
        "tiling": {"tile_size": 64, "chunk_megapixels": 0.05},
    }
    run_snakemake(tmp_path / "run", config)
    inverted = np.invert(image) if dtype == "uint16" else -image
    filtered = ndi.median_filter(inverted, size=3, mode="reflect")
    rows = {
        r["method"]: r for r in read_tsv(tmp_path / "run/results/summary.tsv") if r["sample"] == "d"
    }
    for method in methods:
        expected = getattr(skimage.filters, f"threshold_{method}")(filtered)
        assert rows[method]["threshold"] == expected, method
        mask = read_tiff(tmp_path / f"run/results/masks/d/median3.{method}.ome.tif")
        np.testing.assert_array_equal(mask != 0, filtered > expected)
