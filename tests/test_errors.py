"""Day-one mistakes fail early, with a message naming the file, the problem and the fix, and leave
no partial output."""

import cv2
import numpy as np
import pytest

from workflow_helpers import run_snakemake, write_sheet, write_tiff

pytestmark = pytest.mark.workflow


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (64, 80), dtype=np.uint8)
    write_tiff(tmp_path / "image.tif", image)
    cv2.imwrite(str(tmp_path / "truth.png"), (image > 128).astype(np.uint8) * 255)
    cv2.imwrite(str(tmp_path / "narrow_truth.png"), np.zeros((64, 70), np.uint8))
    cv2.imwrite(str(tmp_path / "gray_truth.png"), image)
    cv2.imwrite(str(tmp_path / "rgb.png"), np.dstack([image, image, image]))
    return tmp_path


def sheet(files, **row):
    base = {"sample": "s1", "image": files / "image.tif", "ground_truth": files / "truth.png"}
    return str(write_sheet(files / "samples.tsv", [dict(base, **row)]))


def fails(workdir, config, *expected, dry_run=False):
    """Run, expect failure, and check the message and that no result was written."""
    args = ["--dry-run"] if dry_run else []
    result = run_snakemake(workdir / "run", config, *args, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    for text in expected:
        assert text in output, f"{text!r} not in:\n{output[-4000:]}"
    assert "Traceback" not in output or "SegvalError" not in output
    results = workdir / "run" / "results"
    leftovers = [p for p in results.rglob("*") if p.is_file()] if results.exists() else []
    assert leftovers == [], leftovers
    return output


def test_ground_truth_of_another_shape(files):
    output = fails(
        files,
        {"samples": sheet(files, ground_truth=files / "narrow_truth.png")},
        "narrow_truth.png",
        "70 x 64 pixels",
        "80 x 64",
        "Fix:",
    )
    assert "Traceback" not in output


def test_ground_truth_that_is_not_binary(files):
    output = fails(
        files,
        {"samples": sheet(files, ground_truth=files / "gray_truth.png")},
        "gray_truth.png",
        "not binary",
        "foreground",
        "Fix:",
    )
    assert "Traceback" not in output


def test_ground_truth_without_the_foreground_value(files):
    # A 0/255 mask with `foreground: {value: 1}` would be all background: say so instead.
    output = fails(
        files,
        {"samples": sheet(files), "ground_truth": {"foreground": {"value": 1}}},
        "truth.png",
        "holds values 0, 255, not the foreground value 1",
        "Fix: set ground_truth.foreground",
    )
    assert "Traceback" not in output


def test_a_file_in_the_sheet_that_does_not_exist_is_caught_when_the_dag_is_built(files):
    fails(
        files,
        {"samples": sheet(files, image=files / "missing.tif")},
        "samples.tsv",
        "missing.tif",
        "does not exist",
        "Fix:",
        dry_run=True,
    )


def test_unknown_method_name(files):
    fails(
        files,
        {"samples": sheet(files), "methods": ["otsu", "otsuu"]},
        "unknown threshold method 'otsuu'",
        "Fix:",
        dry_run=True,
    )


def test_method_value_missing(files):
    fails(
        files,
        {"samples": sheet(files), "methods": ["manual"]},
        "manual needs a number",
        dry_run=True,
    )


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"median_size": "three"}, "median_size"),
        ({"median_size": 4}, "median_size"),
        ({"invert": "yes"}, "invert"),
        ({"overlay": {"alpha": 2}}, "overlay.alpha"),
        ({"tiling": {"tile_size": 100}}, "tiling.tile_size"),
        ({"medain_size": 3}, "medain_size"),
        ({"preprocess": [{"blur": 3}]}, "preprocess.0"),
        ({"preprocess": [{"median": 3, "gaussian": 1}]}, "preprocess.0"),
        ({"equalize": "no"}, "equalize"),
        ({"postprocess": {"min_object_size": -1}}, "postprocess.min_object_size"),
        ({"threshold_scope": "stack"}, "threshold_scope"),
        ({"metrics": {"edge_policy": "zero"}}, "metrics.edge_policy"),
        ({"metrics": {"pixel_size": 0}}, "metrics.pixel_size"),
        ({"selection": {"metric": "auc"}}, "selection.metric"),
        ({"ground_truth": {"foreground": "zero"}}, "ground_truth.foreground"),
    ],
)
def test_config_values_of_the_wrong_type_or_range(files, change, expected):
    fails(
        files,
        {"samples": sheet(files), **change},
        "config: invalid value",
        expected,
        "Fix:",
        dry_run=True,
    )


def test_sample_sheet_problems(files):
    bad = files / "bad.tsv"
    bad.write_text("name\timage\ns1\timage.tif\n")
    fails(files, {"samples": str(bad)}, "bad.tsv", "missing column(s) sample", dry_run=True)
    bad.write_text(f"sample\timage\ns1\t{files / 'image.tif'}\ns1\t{files / 'image.tif'}\n")
    fails(files, {"samples": str(bad)}, "bad.tsv, row 3", "appears twice", dry_run=True)
    bad.write_text(f"sample\timage\ns 1\t{files / 'image.tif'}\n")
    fails(files, {"samples": str(bad)}, "bad.tsv, row 2", "sample", dry_run=True)
    fails(
        files,
        {"samples": str(files / "nowhere.tsv")},
        "nowhere.tsv",
        "sample sheet not found",
        dry_run=True,
    )


def test_colour_image_without_a_channel(files):
    output = fails(
        files,
        {"samples": sheet(files, image=files / "rgb.png")},
        "rgb.png",
        "3 channels",
        "channel",
    )
    assert "Traceback" not in output


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"preprocess": [{"median": 4}]}, "median: the window must be an odd"),
        ({"preprocess": [{"median": 3}], "median_size": 5}, "both `preprocess` and `median_size`"),
        ({"methods": ["sauvola:window_size=4"]}, "window_size"),
        ({"methods": ["niblack:q=3"]}, "unknown parameter"),
    ],
)
def test_preprocessing_and_method_values(files, change, expected):
    fails(files, {"samples": sheet(files), **change}, expected, "Fix:", dry_run=True)


def test_roi_and_prediction_problems(files):
    cv2.imwrite(str(files / "roi_small.png"), np.zeros((10, 10), np.uint8))
    fails(
        files,
        {"samples": sheet(files, roi=files / "roi_small.png")},
        "roi_small.png",
        "ROI is 10 x 10",
        "Fix:",
    )
    fails(
        files,
        {"samples": sheet(files, prediction=files / "gray_truth.png")},
        "gray_truth.png",
        "prediction 'external' is not binary",
        "Fix:",
    )
    fails(
        files,
        {"samples": sheet(files, prediction_otsu=files / "truth.png")},
        "clash with threshold methods",
        dry_run=True,
    )
    both = sheet(files, prediction_unet=files / "truth.png", reference_unet=files / "truth.png")
    fails(
        files,
        {"samples": both},
        "unet name both a prediction and a reference column",
        "Fix:",
        dry_run=True,
    )
    fails(
        files,
        {"samples": sheet(files, reference_observer2=files / "missing.png")},
        f"reference_observer2 '{files / 'missing.png'}'",
        "does not exist",
        "Fix:",
        dry_run=True,
    )
