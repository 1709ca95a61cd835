"""The result pages and the Snakemake report, opened from disk in a real headless Chromium.

A tiny workflow (two small phantoms, one of them with a second expert's tracings in a
`reference_observer2` column, three methods) writes results/index.html and the sample pages; the
tests load them (and `snakemake --report report.html`) in Chromium and keep a screenshot of each as
a test artefact (under $SEGVAL_ARTEFACTS, else the test's temporary folder; the path is printed).
"""

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import cv2
import numpy as np
import PIL.Image
import pytest
import tifffile

from segval.phantom import make_phantom
from workflow_helpers import run_snakemake, snakemake_command, write_sheet, write_tiff

pytestmark = pytest.mark.workflow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
METHODS = ["otsu", "li", "isodata"]


def chromium(url, *args, timeout=120):
    """Run headless Chromium on ``url``; returns (stdout, the page's console messages)."""
    if not CHROMIUM:
        reason = "chromium is not installed (apt-get install chromium; .ci/run installs it)"
        if os.environ.get("SEGVAL_REQUIRE_CHROMIUM") == "1":  # CI: the page tests must run
            pytest.fail(reason)
        pytest.skip(reason)
    command = [
        CHROMIUM,
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=8000",
        *args,
        url,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    return result.stdout, console


#: Console messages that Snakemake's own report page logs (its bundled Tailwind warns); nothing else
#: may be logged.
SNAKEMAKE_REPORT_NOISE = ("cdn.tailwindcss.com should not be used in production",)


def load(page, artefacts, name, height=1400, noise=()):
    """The DOM of ``page`` after its scripts ran, after checking that it logged nothing (Chromium
    prints console messages and uncaught errors alike); keeps a screenshot."""
    url = page.resolve().as_uri()
    dom, console = chromium(url, "--dump-dom")
    console = [line for line in console if not any(known in line for known in noise)]
    assert console == [], f"{page}: console messages:\n" + "\n".join(console)
    shot = artefacts / f"{name}.png"
    chromium(url, f"--screenshot={shot}", f"--window-size=1300,{height}")
    assert shot.exists() and shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")
    return dom


class Links(HTMLParser):
    """Local files a page refers to (src and href), and the text of its table rows."""

    def __init__(self):
        super().__init__()
        self.targets, self.rows, self._row = [], [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("src", "href"):
            value = attrs.get(key)
            if value and not value.startswith(("#", "data:")):
                self.targets.append(value)
        if tag == "tr":
            self._row = []

    def handle_endtag(self, tag):
        if tag == "tr" and self._row is not None:
            self.rows.append(" ".join(" ".join(self._row).split()))
            self._row = None

    def handle_data(self, data):
        if self._row is not None:
            self._row.append(data)


def parse(text):
    links = Links()
    links.feed(text)
    return links


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory):
    folder = (
        Path(os.environ.get("SEGVAL_ARTEFACTS") or tmp_path_factory.mktemp("artefacts")) / "pages"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """alpha: 64 x 64, one tile; beta: 160 x 200, 12 tiles, larger than the preview (a zoom pyramid),
    with a second expert's tracings (the truth shifted by one pixel)."""
    data = tmp_path_factory.mktemp("data")
    rows = []
    for index, (name, shape) in enumerate([("alpha", (64, 64)), ("beta", (160, 200))]):
        image, truth = make_phantom(shape, seed=10 + index)
        write_tiff(data / f"{name}.tif", image)
        cv2.imwrite(str(data / f"{name}_truth.png"), truth.astype(np.uint8) * 255)
        cv2.imwrite(
            str(data / f"{name}_observer2.png"), np.roll(truth, 1, axis=1).astype(np.uint8) * 255
        )
        rows.append(
            {
                "sample": name,
                "image": data / f"{name}.tif",
                "ground_truth": data / f"{name}_truth.png",
                "reference_observer2": data / f"{name}_observer2.png" if name == "beta" else "",
                "pixel_size": "0.5,0.7" if name == "beta" else "",
            }
        )
    config = {
        "samples": str(write_sheet(data / "samples.tsv", rows)),
        "invert": True,
        "methods": METHODS,
        "tiling": {"tile_size": 64},
        "overlay": {"max_pixels": 10000},
    }
    workdir = tmp_path_factory.mktemp("run")
    result = run_snakemake(workdir, config)
    return workdir, result


def test_references_are_scored_but_never_ranked(run):
    workdir, _ = run
    selection = json.loads((workdir / "results/selection.json").read_text())
    assert [row["method"] for row in selection["references"]] == ["given.observer2"]
    assert "given.observer2" not in [row["method"] for row in selection["ranking"]]
    assert selection["winner"] != "given.observer2"
    assert (
        (workdir / "results/selection.tsv")
        .read_text()
        .splitlines()[-1]
        .startswith("reference\tgiven.observer2\t")
    )


def test_viewers_get_the_pixel_size_and_confusion_colours(run):
    workdir, _ = run
    with tifffile.TiffFile(workdir / "results/confusion/beta/median3.otsu.ome.tif") as tif:
        page = tif.pages[0]
        assert page.photometric == tifffile.PHOTOMETRIC.PALETTE
        tp, fp, fn, tn = (
            [0, 255, 255],
            [255, 0, 255],
            [255, 255, 0],
            [0, 0, 0],
        )  # the overlay's defaults
        assert (page.colormap[:, [3, 1, 2, 0]] // 257).T.tolist() == [tp, fp, fn, tn]
        assert (
            'PhysicalSizeX="0.7"' in tif.ome_metadata and 'PhysicalSizeY="0.5"' in tif.ome_metadata
        )
        assert set(np.unique(tif.asarray()).tolist()) <= {0, 1, 2, 3}
    with tifffile.TiffFile(workdir / "results/masks/beta/median3.otsu.ome.tif") as tif:
        assert 'PhysicalSizeX="0.7"' in tif.ome_metadata


def test_console_ends_with_the_answer_and_the_page(run):
    workdir, result = run
    output = result.stdout + result.stderr
    assert "Shell command: None" not in output
    winner = json.loads((workdir / "results/selection.json").read_text())["winner"]
    last = [line for line in output.splitlines() if line.strip()][-1]
    assert winner in last and str(workdir / "results" / "index.html") in last, last


def test_index_page_gives_the_answer_and_ranks_candidates_only(run, artefacts):
    workdir, _ = run
    index = workdir / "results" / "index.html"
    dom = load(index, artefacts, "index")
    selection = json.loads((workdir / "results/selection.json").read_text())
    answer = re.search(r'<p class="answer" id="answer">(.*?)</p>', dom, re.S).group(1)
    assert answer.startswith(f"Chosen pipeline: {selection['winner']}, pooled MCC")
    assert "leave-one-image-out" in answer and "2 images" in answer
    assert "Human agreement (observer2 against the ground truth)" in answer
    page = parse(dom)
    ranking = [row for row in page.rows if re.match(r"^\d+ ", row)]
    for method in METHODS:  # every candidate has a row
        assert any(f"median3.{method}" in row for row in ranking), (method, ranking)
    assert any(row.startswith("reference observer2 reference (human)") for row in page.rows), (
        page.rows
    )
    assert not any("observer2" in row for row in ranking)
    for target in page.targets:  # every link and image is there, beside the page
        assert (index.parent / target).exists(), target


def test_sample_pages_show_overlays_histogram_tile_maps_and_zoom(run, artefacts):
    workdir, _ = run
    beta = workdir / "results" / "samples" / "beta.html"
    dom = load(beta, artefacts, "sample_beta")
    assert 'data-zoom-tiles="loaded"' in dom  # OpenSeadragon drew tiles of the pyramid
    page = parse(beta.read_text())
    for target in page.targets:
        assert (beta.parent / target).exists(), target
    assert any(t.endswith(".tiles.png") for t in page.targets)
    assert any("observer2 (reference)" in row for row in page.rows)
    pyramid = workdir / "results/overlays/beta/median3.otsu.zoom"
    image = workdir / "results/overlays/beta/image.zoom"  # the layer under every method's codes
    for zoom in (pyramid, image):
        assert (zoom / "z0000.dzi").read_text().count('Width="200" Height="160"') == 1
        assert (zoom / "z0000_files/8/0_0.png").exists() and (
            zoom / "z0000_files/0/0_0.png"
        ).exists()
    assert PIL.Image.open(image / "z0000_files/8/0_0.png").mode == "L"
    for level in range(9):  # missed vessel pixels (FN: yellow, half opaque) at every zoom level
        tile = PIL.Image.open(pyramid / f"z0000_files/{level}/0_0.png")
        assert tile.mode == "P"
        assert (np.asarray(tile.convert("RGBA")) == (255, 255, 0, 128)).all(axis=-1).any(), level
    # Chromium drew the codes over the image: missed pixels half yellow, half the tissue's gray
    # (over a missing image layer they would be (128, 128, 0); without the codes, not yellow).
    shot = cv2.imread(str(artefacts / "sample_beta.png"))[:, :, ::-1].astype(int)
    red, green, blue = shot[..., 0], shot[..., 1], shot[..., 2]
    assert ((red - blue > 60) & (green - blue > 60) & (blue > 30)).sum() > 50

    alpha = workdir / "results" / "samples" / "alpha.html"
    load(alpha, artefacts, "sample_alpha")
    targets = parse(alpha.read_text()).targets
    assert not any(t.endswith(".tiles.png") for t in targets), "a one-tile image has no tile map"
    assert not list((workdir / "results/plots/alpha").glob("*.tiles.png"))
    assert not list((workdir / "results/overlays/alpha").glob("*.zoom")), (
        "no pyramid within the preview"
    )


def test_report_opens_with_the_answer(run, artefacts):
    workdir, _ = run
    report = workdir / "report.html"
    subprocess.run(
        snakemake_command(workdir, "--report", report),
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report.stat().st_size < 25 * 2**20
    dom = load(report, artefacts, "report", height=900, noise=SNAKEMAKE_REPORT_NOISE)
    winner = json.loads((workdir / "results/selection.json").read_text())["winner"]
    assert f"Chosen pipeline: {winner}" in dom
