"""Validation a reviewer trusts, through the workflow: ROI masks, masks from other segmenters,
ground-truth conventions, boundary metrics, edge-case policies, pooled and per-image statistics, and
choosing a method with an honest out-of-sample estimate."""

import json

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.filters
import tifffile
from PIL import Image

from segval.boundary import boundary_metrics
from segval.metrics import COUNT_NAMES, confusion_counts, scores
from segval.phantom import make_phantom
from segval.tables import read_tsv
from workflow_helpers import KESM, read_tiff, run_snakemake, write_sheet

pytestmark = pytest.mark.workflow

SIZE = 512


def retina_like(seed):
    """A phantom inside a circular field of view with a black surround (as fundus images have)."""
    image, truth = make_phantom((SIZE, SIZE), seed=seed)
    roi = np.zeros((SIZE, SIZE), np.uint8)
    cv2.circle(roi, (SIZE // 2, SIZE // 2), SIZE // 2 - 20, 255, -1)
    image = np.where(roi > 0, image, 0).astype(np.uint8)  # the surround is black
    truth &= roi > 0
    return image, truth, roi > 0


def write_case(root, name, image, truth, roi=None, **columns):
    cv2.imwrite(str(root / f"{name}.png"), image)
    cv2.imwrite(str(root / f"{name}_truth.png"), truth.astype(np.uint8) * 255)
    row = {
        "sample": name,
        "image": root / f"{name}.png",
        "ground_truth": root / f"{name}_truth.png",
    }
    if roi is not None:
        cv2.imwrite(str(root / f"{name}_roi.png"), roi.astype(np.uint8) * 255)
        row["roi"] = root / f"{name}_roi.png"
    row.update(columns)
    return row


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("validation")
    rows = []
    truths = {}
    for index in range(3):
        image, truth, roi = retina_like(30 + index)
        name = f"eye{index}"
        truths[name] = (image, truth, roi)
        # Another segmenter's mask (a dilated truth) and a second expert's (an eroded truth).
        cv2.imwrite(
            str(root / f"{name}_unet.png"),
            cv2.dilate(truth.astype(np.uint8) * 255, np.ones((3, 3), np.uint8)),
        )
        cv2.imwrite(
            str(root / f"{name}_expert2.png"),
            cv2.erode(truth.astype(np.uint8), np.ones((3, 3), np.uint8)),
        )
        rows.append(
            write_case(
                root,
                name,
                image,
                truth,
                roi,
                prediction_unet=root / f"{name}_unet.png",
                prediction_expert2=root / f"{name}_expert2.png",
                split="test" if index == 2 else "train",
            )
        )
    sheet = write_sheet(root / "samples.tsv", rows)
    config = {
        "samples": str(sheet),
        "invert": True,
        "median_size": 3,
        "methods": ["otsu", "yen", "manual:200"],
        "metrics": {"pixel_size": [0.5, 0.7]},
    }
    run_snakemake(root / "run", config)
    return root / "run", truths, config


def test_roi_limits_the_threshold_histogram_and_the_counts(dataset):
    workdir, truths, _ = dataset
    image, truth, roi = truths["eye0"]
    filtered = ndi.median_filter(255 - image, 3, mode="reflect")
    inside = skimage.filters.threshold_otsu(filtered[roi])  # the black surround does not count
    whole = skimage.filters.threshold_otsu(filtered)
    assert inside != whole
    rows = {r["method"]: r for r in read_tsv(workdir / "results/metrics/eye0/median3.otsu.tsv")}
    row = rows["otsu"]
    assert row["threshold"] == inside
    predicted = (filtered > inside) & roi
    assert {k: row[k] for k in COUNT_NAMES} == confusion_counts(truth, predicted, roi)
    assert sum(row[k] for k in COUNT_NAMES) == roi.sum()
    mask = read_tiff(workdir / "results/masks/eye0/median3.otsu.ome.tif")
    assert not mask[~roi].any()  # background outside the ROI
    code = read_tiff(workdir / "results/confusion/eye0/median3.otsu.ome.tif")
    assert (code[~roi] == 4).all()  # not compared


def test_masks_from_other_segmenters_are_validated_like_methods(dataset):
    workdir, truths, _ = dataset
    summary = {
        (r["sample"], r["prep"], r["method"]): r for r in read_tsv(workdir / "results/summary.tsv")
    }
    for name, (_, truth, roi) in truths.items():
        unet = cv2.imread(str(workdir.parent / f"{name}_unet.png"), cv2.IMREAD_UNCHANGED) != 0
        row = summary[(name, "given", "unet")]
        assert {k: row[k] for k in COUNT_NAMES} == confusion_counts(truth, unet, roi)
        assert (workdir / f"results/overlays/{name}/given.unet.png").exists()
        assert (workdir / f"results/masks/{name}/given.expert2.ome.tif").exists()
    # Inter-observer agreement reads like any other method: expert 2 is stricter, so precision 1.
    assert summary[("ALL", "given", "expert2")]["precision"] == 1.0


def test_masks_of_another_segmenter_for_some_samples_only(tmp_path):
    """The README's own sheet gives `prediction_unet` for one image only: it is validated there, and
    the selection ranks the methods scored on every image, naming the one left out."""
    rows = []
    for index in range(2):
        image, truth = make_phantom((192, 192), seed=60 + index)
        rows.append(write_case(tmp_path, f"p{index}", image, truth, prediction_unet=""))
    cv2.imwrite(str(tmp_path / "unet.png"), truth.astype(np.uint8) * 255)
    rows[1]["prediction_unet"] = tmp_path / "unet.png"
    config = {
        "samples": str(write_sheet(tmp_path / "s.tsv", rows)),
        "invert": True,
        "methods": ["otsu", "li"],
        "metrics": {"boundary": False},
    }
    run_snakemake(tmp_path / "run", config)
    summary = {
        (r["sample"], r["method"]): r for r in read_tsv(tmp_path / "run/results/summary.tsv")
    }
    assert summary[("p1", "unet")]["f1"] == 1.0 and ("p0", "unet") not in summary
    selection = json.loads((tmp_path / "run/results/selection.json").read_text())
    assert {row["method"] for row in selection["ranking"]} == {"median3.otsu", "median3.li"}
    assert selection["left_out"] == {"given.unet": ["p0"]}
    assert selection["scheme"] == "leave-one-image-out"
    assert (tmp_path / "run/results/plots/selection.png").exists()


def test_boundary_metrics_equal_the_whole_image_computation(dataset):
    workdir, truths, _ = dataset
    image, truth, roi = truths["eye1"]
    filtered = ndi.median_filter(255 - image, 3, mode="reflect")
    predicted = (filtered > skimage.filters.threshold_yen(filtered[roi])) & roi
    expected = boundary_metrics(truth, predicted, spacing=(0.5, 0.7), roi=roi)
    row = read_tsv(workdir / "results/metrics/eye1/median3.yen.tsv")[0]
    if row["unresolved"] == 0:
        for name in ("hd", "hd95", "assd"):
            assert row[name] == expected[name]
    else:  # a distance beyond the halo: the bounds must hold the truth
        for name in ("hd", "hd95", "assd"):
            assert row[f"{name}_lower"] <= expected[name] <= row[f"{name}_upper"]


def test_pooled_and_per_image_statistics(dataset):
    workdir, _, _ = dataset
    stats = {
        (r["prep"], r["method"], r["metric"]): r
        for r in read_tsv(workdir / "results/aggregate.tsv")
    }
    summary = {(r["sample"], r["method"]): r for r in read_tsv(workdir / "results/summary.tsv")}
    otsu = stats[("median3", "otsu", "mcc")]
    assert otsu["pooled"] == summary[("ALL", "otsu")]["mcc"]
    per_image = [summary[(f"eye{i}", "otsu")]["mcc"] for i in range(3)]
    assert otsu["mean"] == pytest.approx(np.mean(per_image), rel=1e-12)
    assert otsu["median"] == pytest.approx(np.median(per_image), rel=1e-12)
    assert otsu["sd"] == pytest.approx(np.std(per_image, ddof=1), rel=1e-12)
    assert otsu["pooled_low"] <= otsu["pooled"] <= otsu["pooled_high"]
    assert otsu["images"] == 3 and otsu["excluded"] == 0
    assert stats[("median3", "otsu", "hd95")]["mean"] > 0


def test_selection_ranks_methods_and_estimates_out_of_sample(dataset):
    workdir, _, _ = dataset
    selection = json.loads((workdir / "results/selection.json").read_text())
    ranking = [row["method"] for row in selection["ranking"]]
    summary = {
        (r["prep"], r["method"]): r["mcc"]
        for r in read_tsv(workdir / "results/summary.tsv")
        if r["sample"] == "ALL"
    }
    expected = sorted(summary, key=lambda key: -summary[key])
    assert ranking == [f"{prep}.{method}" for prep, method in expected]
    assert selection["winner"] == ranking[0]
    # The sheet names a test image: the choice is made on eye0, eye1 and scored on eye2.
    assert selection["scheme"] == "train/test"
    assert (workdir / "results/plots/selection.png").exists()


@pytest.mark.skipif(
    not KESM.exists(), reason="../shared/data/kesm (the real KESM tile) is not present"
)
def test_on_the_kesm_tile_yen_beats_otsu(tmp_path):
    sheet = write_sheet(
        tmp_path / "s.tsv",
        [
            {
                "sample": "kesm",
                "image": KESM / "grayscale.png",
                "ground_truth": KESM / "groundtruth.png",
            }
        ],
    )
    config = {
        "samples": str(sheet),
        "invert": True,
        "median_size": 3,
        "methods": ["otsu", "li", "yen", "triangle", "isodata", "mean", "minimum"],
        "metrics": {"boundary": False},
    }
    run_snakemake(tmp_path / "run", config)
    selection = json.loads((tmp_path / "run/results/selection.json").read_text())
    ranking = {row["method"]: row for row in selection["ranking"]}
    assert selection["winner"] == "median3.yen"
    assert round(ranking["median3.yen"]["pooled"], 3) == 0.877
    assert round(ranking["median3.otsu"]["pooled"], 3) == 0.853
    assert selection["scheme"] == "none"  # one image: no out-of-sample estimate is possible


def test_leave_one_image_out_when_no_split(tmp_path):
    rows = []
    for index in range(3):
        image, truth = make_phantom((SIZE, SIZE), seed=50 + index)
        rows.append(write_case(tmp_path, f"p{index}", image, truth))
    sheet = write_sheet(tmp_path / "s.tsv", rows)
    config = {
        "samples": str(sheet),
        "invert": True,
        "methods": ["otsu", "triangle", "manual:30"],
        "metrics": {"boundary": False},
    }
    targets = ("results/selection.json", "results/aggregate.tsv")  # only what is checked
    run_snakemake(tmp_path / "run", config, *targets)
    selection = json.loads((tmp_path / "run/results/selection.json").read_text())
    assert selection["scheme"] == "leave-one-image-out"
    assert set(selection["choices"]) == {"p0", "p1", "p2"}
    assert (
        selection["out_of_sample"] <= selection["in_sample"] + 1e-12
    )  # choosing in sample flatters
    # Reruns give identical intervals (seeded bootstrap).
    first = (tmp_path / "run/results/aggregate.tsv").read_bytes()
    (tmp_path / "run/results/aggregate.tsv").unlink()
    run_snakemake(tmp_path / "run", config, *targets)
    assert (tmp_path / "run/results/aggregate.tsv").read_bytes() == first


CONVENTIONS = {
    "zero_255_png": (
        "nonzero",
        lambda t, p: cv2.imwrite(str(p.with_suffix(".png")), t.astype(np.uint8) * 255),
        ".png",
    ),
    "zero_one_tif": (
        "nonzero",
        lambda t, p: tifffile.imwrite(p.with_suffix(".tif"), t.astype(np.uint8)),
        ".tif",
    ),
    "inverted": (
        "invert",
        lambda t, p: cv2.imwrite(str(p.with_suffix(".png")), (~t).astype(np.uint8) * 255),
        ".png",
    ),
    "labels": (
        "labels",
        lambda t, p: tifffile.imwrite(
            p.with_suffix(".tif"), (ndi.label(t)[0] % 250).astype(np.uint8) * t
        ),
        ".tif",
    ),
    "value_7": (
        7,
        lambda t, p: cv2.imwrite(str(p.with_suffix(".png")), np.where(t, 7, 3).astype(np.uint8)),
        ".png",
    ),
    "value_7_mapping": (
        {"value": 7},
        lambda t, p: cv2.imwrite(str(p.with_suffix(".png")), np.where(t, 7, 0).astype(np.uint8)),
        ".png",
    ),
}


def palette_gif(truth, path):
    gif = Image.fromarray(truth.astype(np.uint8), "P")
    gif.putpalette([255, 255, 255, 200, 0, 0] + [0] * 762)  # white background, red vessels
    gif.save(path.with_suffix(".gif"))


@pytest.mark.parametrize("convention", [*CONVENTIONS, "palette_gif"])
def test_ground_truth_conventions(tmp_path, convention):
    image, truth = make_phantom((256, 256), seed=3)
    if convention == "palette_gif":
        rule, suffix = "nonzero", ".gif"
        palette_gif(truth, tmp_path / "truth")
    else:
        rule, write, suffix = CONVENTIONS[convention]
        write(truth, tmp_path / "truth")
    cv2.imwrite(str(tmp_path / "image.png"), image)
    sheet = write_sheet(
        tmp_path / "s.tsv",
        [
            {
                "sample": "s",
                "image": tmp_path / "image.png",
                "ground_truth": tmp_path / f"truth{suffix}",
            }
        ],
    )
    config = {
        "samples": str(sheet),
        "invert": True,
        "methods": ["manual:100"],
        "median_size": 0,
        "ground_truth": {"foreground": rule},
        "metrics": {"boundary": False},
    }
    run_snakemake(
        tmp_path / "run", config, "results/metrics/s/raw.manual-100.tsv"
    )  # only what is checked
    row = read_tsv(tmp_path / "run/results/metrics/s/raw.manual-100.tsv")[0]
    assert {k: row[k] for k in COUNT_NAMES} == confusion_counts(truth, (255 - image) > 100)


@pytest.mark.parametrize(
    "policy, f1, mcc", [("article", 1.0, 1.0), ("sklearn", 0.0, 0.0), ("nan", None, None)]
)
def test_edge_case_policies_through_the_workflow(tmp_path, policy, f1, mcc):
    """An image without vessels, where the method finds none either: both masks empty."""
    image = np.full((128, 128), 200, np.uint8)
    sheet = write_sheet(
        tmp_path / "s.tsv", [write_case(tmp_path, "empty", image, np.zeros((128, 128), bool))]
    )
    config = {
        "samples": str(sheet),
        "methods": ["manual:250"],
        "metrics": {"edge_policy": policy, "boundary": False},
    }
    run_snakemake(
        tmp_path / "run",
        config,
        "results/metrics/empty/median3.manual-250.tsv",
        "results/aggregate.tsv",
    )
    row = read_tsv(tmp_path / "run/results/metrics/empty/median3.manual-250.tsv")[0]
    assert row["edge_case"] == "both_empty"
    assert (row["f1"], row["mcc"]) == (
        f1 if f1 is not None else row["f1"],
        mcc if mcc is not None else row["mcc"],
    )
    if policy == "nan":
        assert np.isnan(row["f1"]) and np.isnan(row["mcc"])
    stats = {r["metric"]: r for r in read_tsv(tmp_path / "run/results/aggregate.tsv")}
    assert (stats["f1"]["excluded"], stats["f1"]["replaced"]) == (
        (1, 0) if policy == "nan" else (0, 1)
    )
    assert scores({"tp": 0, "fp": 0, "fn": 0, "tn": 1}, policy)["edge_case"] == "both_empty"
