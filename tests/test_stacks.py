"""Huge images and stacks: stacks and folders of slices, partial ground truth, threshold scopes,
tile-exactness through the workflow, pyramids, and a dry run the size of the real KESM volume."""

import json
import time

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.filters
import tifffile

from segval.downsample import block_confusion, block_max, reduced_slice
from segval.io import ImageReader
from segval.metrics import COUNT_NAMES, confusion_counts
from segval.phantom import make_phantom
from segval.runner import peak_rss_by_rule
from segval.tables import read_tsv
from workflow_helpers import planned_jobs, read_tiff, run_snakemake, write_sheet

pytestmark = pytest.mark.workflow

SLICES, HEIGHT, WIDTH = 4, 512, 576
TRACED = [1, 3]


def median_stack(stack, size):
    return np.stack([ndi.median_filter(page, size=size, mode="reflect") for page in stack])


@pytest.fixture(scope="module")
def stack_run(tmp_path_factory):
    data = tmp_path_factory.mktemp("stack")
    images, truths = zip(*[make_phantom((HEIGHT, WIDTH), seed=4, z=z) for z in range(SLICES)])
    stack = np.stack(images)
    # A compressed, striped multi-page TIFF, and the same slices as a folder of PNG files.
    tifffile.imwrite(
        data / "stack.tif", stack, photometric="minisblack", compression="zlib", rowsperstrip=48
    )
    (data / "slices").mkdir()
    for z, image in enumerate(images):
        cv2.imwrite(str(data / "slices" / f"plane_z{z}.png"), image)
    truth = np.stack([truths[z] for z in TRACED]).astype(np.uint8) * 255
    tifffile.imwrite(data / "truth.tif", truth, photometric="minisblack")
    sheet = write_sheet(
        data / "samples.tsv",
        [
            {
                "sample": "stack",
                "image": data / "stack.tif",
                "ground_truth": data / "truth.tif",
                "truth_slices": "1,3",
            },
            {"sample": "folder", "image": data / "slices", "ground_truth": "", "truth_slices": ""},
        ],
    )
    config = {
        "samples": str(sheet),
        "invert": True,
        "median_size": 3,
        "methods": ["otsu"],
        "tiling": {"tile_size": 128, "chunk_megapixels": 0.6},  # two slices per job
        "overlay": {"full_resolution_tiles": True},
    }
    workdir = data / "run"
    run_snakemake(workdir, config)
    return workdir, config, stack, truths


def test_one_global_threshold_for_the_whole_stack(stack_run):
    workdir, _, stack, truths = stack_run
    filtered = median_stack(255 - stack, 3)
    threshold = skimage.filters.threshold_otsu(filtered)
    result = json.loads((workdir / "results/thresholds/stack/median3.otsu.json").read_text())
    assert [t["threshold"] for t in result["thresholds"]] == [threshold]
    masks = read_tiff(workdir / "results/masks/stack/median3.otsu.ome.tif")
    np.testing.assert_array_equal(masks != 0, filtered > threshold)
    # The same slices given as a folder of PNG files give the same masks.
    np.testing.assert_array_equal(
        read_tiff(workdir / "results/masks/folder/median3.otsu.ome.tif"), masks
    )


def test_metrics_where_ground_truth_exists_segmentation_everywhere(stack_run):
    workdir, _, stack, truths = stack_run
    filtered = median_stack(255 - stack, 3)
    predicted = filtered > skimage.filters.threshold_otsu(filtered)
    codes = read_tiff(workdir / "results/confusion/stack/median3.otsu.ome.tif")
    assert codes.shape == (len(TRACED), HEIGHT, WIDTH)  # traced slices only
    rows = {
        (r["scope"], r["z"]): r
        for r in read_tsv(workdir / "results/metrics/stack/median3.otsu.tsv")
    }
    assert set(rows) == {("image", None), ("slice", 1), ("slice", 3)}
    for page, z in enumerate(TRACED):
        np.testing.assert_array_equal(codes[page], truths[z].astype(np.uint8) * 2 + predicted[z])
        expected = confusion_counts(truths[z], predicted[z])
        assert {k: rows[("slice", z)][k] for k in COUNT_NAMES} == expected
    for name in COUNT_NAMES:
        assert rows[("image", None)][name] == rows[("slice", 1)][name] + rows[("slice", 3)][name]
    tiles = read_tsv(workdir / "results/metrics/stack/median3.otsu.tiles.tsv")
    assert {t["z"] for t in tiles} == set(TRACED)
    for name in COUNT_NAMES:  # map-reduce: the tiles' counts add up to the stack's
        assert sum(t[name] for t in tiles) == rows[("image", None)][name]
    assert (workdir / "results/plots/stack/median3.otsu.tiles.png").exists()
    summary = {r["sample"]: r for r in read_tsv(workdir / "results/summary.tsv")}
    assert summary["folder"]["status"] == "no_ground_truth"


def test_only_chunks_with_ground_truth_are_compared(stack_run):
    workdir, _, _, _ = stack_run
    plan = json.loads((workdir / "results/plans/stack.json").read_text())
    assert [c["z"] for c in plan["chunks"]] == [[0, 2], [2, 4]]
    compared = sorted(
        p.name for p in (workdir / "results/chunks/stack/median3.otsu/counts").iterdir()
    )
    assert compared == ["c0000.tsv", "c0001.tsv"]


@pytest.mark.parametrize("scope", ["slice", "tile"])
def test_threshold_scopes(stack_run, tmp_path, scope):
    _, config, stack, _ = stack_run
    run_snakemake(tmp_path, dict(config, threshold_scope=scope))
    filtered = median_stack(255 - stack, 3)
    entries = json.loads((tmp_path / "results/thresholds/stack/median3.otsu.json").read_text())[
        "thresholds"
    ]
    tile = config["tiling"]["tile_size"]
    for entry in entries:
        if scope == "slice":
            region = filtered[entry["z"]]
        else:
            y, x = entry["row"] * tile, entry["col"] * tile
            region = filtered[entry["z"], y : y + tile, x : x + tile]
        assert entry["threshold"] == skimage.filters.threshold_otsu(region)
    assert len(entries) == (SLICES if scope == "slice" else SLICES * 4 * 5)


@pytest.mark.parametrize("median_size, tile_size", [(5, 64), (7, 80)])
def test_tiles_that_do_and_do_not_divide_the_image_are_exact(tmp_path, median_size, tile_size):
    image, truth = make_phantom((HEIGHT, WIDTH), seed=9)
    tifffile.imwrite(tmp_path / "image.tif", image, photometric="minisblack")
    cv2.imwrite(str(tmp_path / "truth.png"), truth.astype(np.uint8) * 255)
    sheet = write_sheet(
        tmp_path / "s.tsv",
        [{"sample": "p", "image": tmp_path / "image.tif", "ground_truth": tmp_path / "truth.png"}],
    )
    config = {
        "samples": str(sheet),
        "invert": True,
        "median_size": median_size,
        "methods": ["li"],
        "tiling": {"tile_size": tile_size, "chunk_megapixels": 0.05},  # bands of tile rows
        "outputs": {"denoised": True},
    }
    run_snakemake(tmp_path / "run", config)
    plan = json.loads((tmp_path / "run/results/plans/p.json").read_text())
    assert len(plan["chunks"]) > 2
    filtered = ndi.median_filter(255 - image, size=median_size, mode="reflect")
    threshold = skimage.filters.threshold_li(filtered)
    prep = f"median{median_size}"
    np.testing.assert_array_equal(
        read_tiff(tmp_path / f"run/results/denoised/p/{prep}.ome.tif"), filtered
    )
    np.testing.assert_array_equal(
        read_tiff(tmp_path / f"run/results/masks/p/{prep}.li.ome.tif") != 0, filtered > threshold
    )
    expected = confusion_counts(truth, filtered > threshold)
    row = read_tsv(tmp_path / f"run/results/metrics/p/{prep}.li.tsv")[0]
    assert {k: row[k] for k in COUNT_NAMES} == expected
    tiles = read_tsv(tmp_path / f"run/results/metrics/p/{prep}.li.tiles.tsv")
    assert {k: sum(t[k] for t in tiles) for k in COUNT_NAMES} == expected


@pytest.mark.parametrize("chunk_megapixels", [256, 0.1], ids=["whole-slice chunks", "bands"])
def test_slices_larger_than_2048_pixels_get_an_ome_pyramid(tmp_path, chunk_megapixels):
    image, truth = make_phantom((2112, 320), seed=2)
    tifffile.imwrite(tmp_path / "tall.tif", image, photometric="minisblack")
    tifffile.imwrite(tmp_path / "truth.tif", truth.astype(np.uint8), photometric="minisblack")
    sheet = write_sheet(
        tmp_path / "s.tsv",
        [
            {
                "sample": "tall",
                "image": tmp_path / "tall.tif",
                "ground_truth": tmp_path / "truth.tif",
            }
        ],
    )
    config = {
        "samples": str(sheet),
        "invert": True,
        "methods": ["otsu"],
        "tiling": {"chunk_megapixels": chunk_megapixels},
    }
    run_snakemake(tmp_path / "run", config)
    # Chunks of whole slices carry their pyramid levels (stitching copies them); bands do not.
    chunks = json.loads((tmp_path / "run/results/plans/tall.json").read_text())["chunks"]
    assert len(chunks) == (1 if chunk_megapixels == 256 else 3)
    for output in ("masks", "confusion"):  # viewable in Fiji, napari, QuPath: tiled, compressed
        with tifffile.TiffFile(tmp_path / f"run/results/{output}/tall/median3.otsu.ome.tif") as tif:
            assert all(
                page.is_tiled and page.compression != tifffile.COMPRESSION.NONE
                for page in tif.pages
            )
    with tifffile.TiffFile(tmp_path / "run/results/confusion/tall/median3.otsu.ome.tif") as tif:
        assert tif.is_ome
        levels = tif.series[0].levels
        assert [level.shape for level in levels] == [(2112, 320), (1056, 160)]
        full, half = levels[0].asarray(), levels[1].asarray()
    # A preview level keeps errors visible: each 2 x 2 block shows FN, else FP, else TP, else TN.
    rank = np.array([1, 3, 4, 2])[full]
    best = np.maximum.reduce([rank[dy::2, dx::2] for dy in (0, 1) for dx in (0, 1)])
    np.testing.assert_array_equal(half, np.array([0, 0, 3, 1, 2])[best])
    # Previews and Deep Zoom read those levels instead of reducing the full resolution: the same
    # pixels, for the confusion codes and the mask alike.
    for output, reduce in (("confusion", block_confusion), ("masks", block_max)):
        with ImageReader(tmp_path / f"run/results/{output}/tall/median3.otsu.ome.tif") as reader:
            assert reader.pyramid_level(2).shape == (1, 1056, 160)
            assert reader.pyramid_level(4) is None  # no such level: reduced, not read
            for factor in (2, 4):
                np.testing.assert_array_equal(
                    reduced_slice(reader, 0, factor, 64, reduce, levels=True),
                    reduced_slice(reader, 0, factor, 64, reduce),
                )


def test_dry_run_of_a_full_size_kesm_volume_is_fast(tmp_path):
    """799 slices of 17480 x 8026 (112 G voxels), as sparse files: only headers are read."""
    with tifffile.TiffWriter(tmp_path / "volume.tif", bigtiff=True) as tif:
        tif.write(
            shape=(799, 8026, 17480),
            dtype=np.uint8,
            photometric="minisblack",
            metadata={"axes": "ZYX"},
        )
    with tifffile.TiffWriter(tmp_path / "traced.tif", bigtiff=True) as tif:
        tif.write(
            shape=(2, 8026, 17480),
            dtype=np.uint8,
            photometric="minisblack",
            metadata={"axes": "ZYX"},
        )
    sheet = write_sheet(
        tmp_path / "s.tsv",
        [
            {
                "sample": "kesm",
                "image": tmp_path / "volume.tif",
                "ground_truth": tmp_path / "traced.tif",
                "truth_slices": "0,798",
            },
        ],
    )
    config = {"samples": str(sheet), "invert": True, "methods": ["otsu", "li"]}
    run_snakemake(
        tmp_path / "run", config, "results/plans/kesm.json", cores=1
    )  # the plan checkpoint
    started = time.perf_counter()
    jobs = planned_jobs(tmp_path / "run", config)
    elapsed = time.perf_counter() - started
    # One job per chunk and step, each for every method; confusion only where there is truth.
    assert jobs["denoise"] == jobs["segment"] == 799 and jobs["confusion"] == 2
    assert elapsed < 60, f"dry run took {elapsed:.1f} s"


def test_overlays_montage_the_traced_slices_and_full_resolution_tiles_on_request(stack_run):
    workdir, config, _, _ = stack_run
    montage = cv2.imread(str(workdir / "results/overlays/stack/median3.otsu.png"))
    assert montage.shape[1] > 2 * WIDTH * 0.9  # two traced slices side by side
    tiles = sorted(
        p.name for p in (workdir / "results/overlays/stack/median3.otsu.tiles").glob("*.png")
    )
    assert len(tiles) == len(TRACED) * 4 * 5 and tiles[0] == "z0001_y000000_x000000.png"
    first = cv2.imread(str(workdir / "results/overlays/stack/median3.otsu.tiles" / tiles[0]))
    assert first.shape == (128, 128, 3)


def test_a_jobs_memory_does_not_grow_with_the_number_of_slices(tmp_path):
    """Bounded memory: the same stack run with 2 and with 12 slices of 2048 x 2048 (a job holding
    the stack would need 40 MB more for the pixels alone); every rule's peak RSS stays within 16 MB."""
    size = 2048
    images, truths = zip(*[make_phantom((size, size), seed=9, z=z) for z in range(12)])
    peaks = {}
    for slices in (2, 12):
        data = tmp_path / f"s{slices}"
        data.mkdir()
        tifffile.imwrite(data / "stack.tif", np.stack(images[:slices]), photometric="minisblack")
        traced = list(range(0, slices, 4))
        tifffile.imwrite(
            data / "truth.tif",
            np.stack([truths[z] for z in traced]).astype(np.uint8) * 255,
            photometric="minisblack",
        )
        sheet = write_sheet(
            data / "s.tsv",
            [
                {
                    "sample": "stack",
                    "image": data / "stack.tif",
                    "ground_truth": data / "truth.tif",
                    "truth_slices": ",".join(map(str, traced)),
                }
            ],
        )
        config = {
            "samples": str(sheet),
            "invert": True,
            "methods": ["otsu"],
            "tiling": {"tile_size": 256, "chunk_megapixels": 4.2},
        }  # one slice per chunk job
        run_snakemake(data / "run", config)
        peaks[slices] = peak_rss_by_rule(data / "run" / "logs")
    assert set(peaks[2]) == set(peaks[12]) and {
        "plan",
        "denoise",
        "segment",
        "confusion",
        "metrics",
        "overlay",
    } <= set(peaks[2])
    grown = {
        rule: (peaks[2][rule], peaks[12][rule])
        for rule in peaks[2]
        if peaks[12][rule] > peaks[2][rule] + 16
    }
    assert not grown, f"peak RSS (MB) with 2 and 12 slices: {grown}"
    assert max(peaks[12].values()) < 1024
