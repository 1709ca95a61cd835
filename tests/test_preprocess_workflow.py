"""Artifact correction and mask clean-up through the workflow: chains of steps stay tile-exact,
equalisation is exact, clean-up equals scikit-image's, the try-all view is drawn."""

import json

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.exposure
import skimage.filters
import skimage.morphology
import tifffile

from segval.phantom import make_phantom
from segval.tables import read_tsv
from workflow_helpers import read_tiff, run_snakemake, write_sheet

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def uneven(tmp_path_factory):
    """A phantom under a steep illumination ramp, the case background subtraction is for."""
    root = tmp_path_factory.mktemp("uneven")
    image, truth = make_phantom((480, 544), seed=12)
    ramp = np.linspace(0.45, 1.0, image.shape[1])[None, :]
    image = np.clip(image * ramp, 0, 255).astype(np.uint8)
    tifffile.imwrite(root / "image.tif", image, photometric="minisblack")
    cv2.imwrite(str(root / "truth.png"), truth.astype(np.uint8) * 255)
    sheet = write_sheet(
        root / "s.tsv",
        [{"sample": "u", "image": root / "image.tif", "ground_truth": root / "truth.png"}],
    )
    return root, sheet, image, truth


def test_background_subtraction_chain_is_tile_exact_and_helps(uneven):
    root, sheet, image, truth = uneven
    config = {
        "samples": str(sheet),
        "invert": True,
        "methods": ["otsu"],
        "metrics": {"boundary": False},
        "preprocess": [{"bgmedian": 51}, {"median": 3}],
        "tiling": {"tile_size": 64, "chunk_megapixels": 0.05},  # bands: halos of 26 px cross chunks
        "outputs": {"denoised": True},
    }
    run_snakemake(root / "bg", config)
    inverted = 255 - image
    background = ndi.median_filter(inverted, size=51, mode="reflect")
    corrected = np.clip(inverted.astype(np.int32) - background, 0, 255).astype(np.uint8)
    expected = ndi.median_filter(corrected, size=3, mode="reflect")
    np.testing.assert_array_equal(
        read_tiff(root / "bg/results/denoised/u/bgmedian51-median3.ome.tif"), expected
    )
    mask = read_tiff(root / "bg/results/masks/u/bgmedian51-median3.otsu.ome.tif") != 0
    np.testing.assert_array_equal(mask, expected > skimage.filters.threshold_otsu(expected))
    corrected_f1 = read_tsv(root / "bg/results/summary.tsv")[0]["f1"]
    run_snakemake(root / "plain", dict(config, preprocess=None))
    plain_f1 = read_tsv(root / "plain/results/summary.tsv")[0]["f1"]
    assert corrected_f1 > plain_f1 + 0.2, (plain_f1, corrected_f1)


def test_equalisation_and_clean_up_are_exact(uneven):
    root, sheet, image, truth = uneven
    config = {
        "samples": str(sheet),
        "invert": True,
        "methods": ["otsu"],
        "metrics": {"boundary": False},
        "equalize": True,
        "postprocess": {"min_object_size": 12, "max_hole_size": 9},
        "tiling": {"tile_size": 64, "chunk_megapixels": 0.05},
    }
    run_snakemake(root / "eq", config)
    plan = json.loads((root / "eq/results/plans/u.json").read_text())
    assert len(plan["chunks"]) == 1  # clean-up needs whole slices: no bands
    filtered = ndi.median_filter(255 - image, size=3, mode="reflect")
    equalized = np.rint(skimage.exposure.equalize_hist(filtered) * 255).astype(np.uint8)
    expected = equalized > skimage.filters.threshold_otsu(equalized)
    expected = skimage.morphology.remove_small_objects(expected, max_size=11, connectivity=2)
    expected = skimage.morphology.remove_small_holes(expected, max_size=9, connectivity=1)
    mask = read_tiff(root / "eq/results/masks/u/median3.otsu.ome.tif") != 0
    np.testing.assert_array_equal(mask, expected)


def test_try_all_view_and_histogram_with_every_method(uneven, tmp_path):
    root, sheet, image, truth = uneven
    methods = ["otsu", "yen", "ij_huang", "sauvola", "manual:120"]
    run_snakemake(
        tmp_path,
        {"samples": str(sheet), "invert": True, "methods": methods, "metrics": {"boundary": False}},
    )
    for plot in ("methods", "histogram"):
        picture = cv2.imread(str(tmp_path / f"results/plots/u/median3.{plot}.png"))
        assert picture is not None and picture.shape[0] > 200
    # Each panel is titled with the method's threshold and, with ground truth, its F1 and MCC.
    panels = "".join(log.read_text() for log in (tmp_path / "logs").rglob("*.log"))
    summary = {
        r["method"]: r for r in read_tsv(tmp_path / "results/summary.tsv") if r["sample"] == "u"
    }
    for method in ("otsu", "yen", "ij_huang", "manual-120"):
        row = summary[method]
        assert (
            f"panel: {method}: t = {row['threshold']:.4g} | F1 {row['f1']:.3f}  MCC {row['mcc']:.3f}"
            in panels
        )
    assert f"panel: sauvola (local) | F1 {summary['sauvola']['f1']:.3f}" in panels
