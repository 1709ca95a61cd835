"""The results as web pages: results/index.html and results/samples/<sample>.html (with thumbnails),
plus self-contained copies (previews inlined) in results/report/ for the Snakemake report."""

import base64
import functools
import json
import os
import shutil
import struct

import cv2

from segval import pages
from segval.files import atomic_output
from segval.runner import run_step
from segval.tables import read_tsv

THUMBNAIL = 240  # px, longest side: the index's thumbnails
PREVIEW = 720  # px, longest side: overlays inlined in the report's copies (keeps report.html small)
PLOT = 1280  # px, longest side: plots inlined there (most are drawn smaller: inlined as they are)


# zlib level 3 encodes about twice as fast as 6 (the pages' main cost: ~80 PNGs for 20 samples)
# for files about the same size (overlays even a little smaller, plots ~15 % larger).
PNG_COMPRESSION = 3


@functools.lru_cache(maxsize=2)
def _decoded(path):
    """The image at ``path``, decoded once for the thumbnail and the preview of the same overlay."""
    image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    image.flags.writeable = False  # shared between callers
    return image


def shrink(path, longest):
    """PNG bytes of the image at ``path`` scaled down (area averaging) to ``longest`` px at most:
    a PNG that small already is taken as it is (its size read from its header, nothing decoded)."""
    with open(path, "rb") as handle:
        head = handle.read(24)
        if head[:8] == b"\x89PNG\r\n\x1a\n" and max(struct.unpack(">II", head[16:24])) <= longest:
            return head + handle.read()
    image = _decoded(path)
    scale = longest / max(image.shape[:2])
    if scale < 1:
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION])
    return data.tobytes()


def data_uri(data):
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def write(path, text):
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def main(smk):
    results = os.path.dirname(smk.output.index)
    selection = None
    if smk.input.get("selection"):
        with open(smk.input.selection) as handle:
            selection = json.load(handle)
    summary = read_tsv(smk.input.summary)
    winner = (selection or {}).get("winner")
    references = set(smk.params.references)
    samples = (
        smk.params.samples
    )  # {sample: {"segmentations": [...], "tile_maps": bool, "zoomed": bool}}
    os.makedirs(smk.output.thumbnails, exist_ok=True)
    os.makedirs(os.path.dirname(smk.output.report_index), exist_ok=True)

    def kind(method):
        return "reference" if method in references else ("chosen" if method == winner else "")

    cards, report_cards = [], []
    for sample, info in samples.items():
        methods = info["segmentations"]
        shown = winner if winner in methods else methods[0]
        overlay = os.path.join(results, "overlays", sample, f"{shown}.png")
        thumbnail = shrink(overlay, THUMBNAIL)
        with open(os.path.join(smk.output.thumbnails, f"{sample}.png"), "wb") as handle:
            handle.write(thumbnail)
        caption = f"{shown}" + (" (chosen)" if shown == winner else "")
        cards.append(
            {
                "sample": sample,
                "page": f"samples/{sample}.html",
                "thumbnail": f"samples/thumbnails/{sample}.png",
                "caption": caption,
            }
        )
        report_cards.append(
            {
                "sample": sample,
                "page": f"#{sample}",
                "thumbnail": data_uri(thumbnail),
                "caption": caption + ": see the sample's page in the report",
            }
        )
        metrics = []
        for method in methods:
            for row in read_tsv(os.path.join(results, "metrics", sample, f"{method}.tsv")):
                metrics.append({**row, "_kind": kind(method)})
        overlays = [
            {"method": m, "path": f"../overlays/{sample}/{m}.png", "kind": kind(m)} for m in methods
        ]
        tile_maps = (
            [(m, f"../plots/{sample}/{m}.tiles.png") for m in methods] if info["tile_maps"] else []
        )
        # The chosen pipeline's (and the references') pyramids first: they open with the page.
        order = sorted(methods, key=lambda m: (kind(m) == "", methods.index(m)))
        with open(os.path.join(results, "plans", f"{sample}.json")) as handle:
            plan = json.load(handle)  # shape, and the traced slices the zoom pyramids show
        zoom_slices = plan["truth"]["slices"][: smk.params.max_slices] if info["zoomed"] else []
        zooms = [
            {
                "method": m + (f", slice {z}" if len(zoom_slices) > 1 else ""),
                "dzi": f"../overlays/{sample}/{m}.zoom/z{z:04d}.dzi",
                "image": f"../overlays/{sample}/image.zoom/z{z:04d}.dzi",
                "open": kind(m) != "",
                "width": plan["shape"][2],
                "height": plan["shape"][1],
                "tile": pages.dzi_tile_size(
                    os.path.join(results, "overlays", sample, f"{m}.zoom", f"z{z:04d}.dzi")
                ),
            }
            for m in order
            for z in zoom_slices
        ]
        if zooms:
            zooms[0]["open"] = True
        # One histogram and one side-by-side plot per preprocessing chain.
        plots = {
            key: [(prep, f"../plots/{sample}/{prep}.{kind}.png") for prep in smk.params.preps]
            for key, kind in (("histogram", "histogram"), ("methods_plot", "methods"))
        }
        write(
            os.path.join(os.path.dirname(smk.output.index), "samples", f"{sample}.html"),
            pages.sample_page(
                sample,
                overlays,
                tile_maps=tile_maps,
                metrics=metrics,
                colours=smk.params.colours,
                zooms=zooms,
                viewer="openseadragon",
                **plots,
            ),
        )
        # The report's copy: everything inlined (a report entry is one file), overlays as previews.
        inline = {
            key: [
                (prep, data_uri(shrink(os.path.join(results, "samples", path), PLOT)))
                for prep, path in figures
            ]
            for key, figures in plots.items()
        }
        # Only the chosen pipeline's and the references' overlays (the others' masks are in the
        # side-by-side plot): each preview of a textured image weighs about a megabyte.
        overlays = [item for item in overlays if item["kind"]] or overlays[:1]
        for item in overlays:
            item["path"] = data_uri(shrink(os.path.join(results, "samples", item["path"]), PREVIEW))
        tile_maps = [
            (m, data_uri(shrink(os.path.join(results, "samples", p), 900))) for m, p in tile_maps
        ]
        write(
            os.path.join(os.path.dirname(smk.output.report_index), f"{sample}.html"),
            pages.sample_page(
                sample,
                overlays,
                tile_maps=tile_maps,
                metrics=metrics,
                colours=smk.params.colours,
                note="Previews of the chosen pipeline's overlay (and of any reference): every "
                "pipeline's full-size overlay and the zoomable view are in "
                f"results/samples/{sample}.html.",
                **inline,
            ).replace('href="../index.html"', 'href="#"'),
        )
    plot = smk.input.get("selection_plot")
    write(
        smk.output.index,
        pages.index_page(selection, summary, cards, "plots/selection.png" if plot else None),
    )
    write(
        smk.output.report_index,
        pages.index_page(
            selection, summary, report_cards, data_uri(shrink(plot, 1400)) if plot else None
        ),
    )
    # The report's first screen: the answer, then the workflow's own description (Jinja, rendered
    # by Snakemake); the Snakefile uses this file as its report text once it exists.
    with open(smk.params.report_text) as handle:
        description = handle.read()
    sentence = pages.answer(selection).replace("*", "\\*").replace("`", "\\`").replace("_", "\\_")
    write(
        smk.output.report_text,
        f"**{sentence}**\n\nRanking, per-image scores and sample pages: index.html_ "
        "(category *1. Answer*).\n\n" + description,
    )
    # OpenSeadragon, vendored with its licence, next to the pages (they open from disk).
    target = smk.output.viewer
    if os.path.exists(target):
        shutil.rmtree(target)
    shutil.copytree(smk.params.viewer, target)


if __name__ == "__main__":  # run by Snakemake; importable by scripts/run_batch.py
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
