"""One global threshold per scope (image, slice or tile) from the histograms of all chunks."""

import json
import logging

import numpy as np

from segval.errors import THRESHOLD_NOT_FOUND, SegvalError, ThresholdNotFound
from segval.files import atomic_output
from segval.histograms import FLOAT_BINS, float_edges, float_histogram
from segval.runner import run_step
from segval.stitching import ChunkSet
from segval.thresholds import is_local, parse_method, threshold_equalized, threshold_from_histogram
from segval.tiling import Plan

log = logging.getLogger("segval")


def load_histograms(paths):
    parts = [np.load(path) for path in paths]
    merged = {
        key: np.concatenate([p[key] for p in parts])
        for key in ("z", "counts", "sums", "pixels", "low", "high")
    }
    merged["offset"] = int(parts[0]["offset"])
    merged["dtype"] = str(parts[0]["dtype"])
    if "tile_counts" in parts[0]:
        merged["tile_counts"] = np.concatenate([p["tile_counts"] for p in parts])
        merged["tile_index"] = np.concatenate([p["tile_index"] for p in parts])
    return merged


def groups(hist, scope):
    """(key, histogram counts, exact value sum) per unit of the threshold's scope."""
    if scope == "image":
        yield (
            {"z": None, "row": None, "col": None},
            hist["counts"].sum(axis=0),
            hist["sums"].sum(),
            slice(None),
        )
    elif scope == "slice":
        for i, z in enumerate(hist["z"]):
            yield {"z": int(z), "row": None, "col": None}, hist["counts"][i], hist["sums"][i], [i]
    elif scope == "tile":
        for (z, row, col), counts in zip(hist["tile_index"], hist["tile_counts"]):
            yield {"z": int(z), "row": int(row), "col": int(col)}, counts, None, None
    else:
        raise ValueError(f"unknown threshold scope {scope!r}")


def float_counts(smk, plan, hist, selector):
    """Histogram float data over the range shared by the selected slices (a second pass)."""
    low, high = float(np.min(hist["low"][selector])), float(np.max(hist["high"][selector]))
    slices = set(np.atleast_1d(hist["z"][selector]).tolist())
    counts = np.zeros(FLOAT_BINS, np.int64)
    with ChunkSet(smk.input.denoised, plan) as denoised:
        for chunk in plan.chunks:
            for tile in plan.tiles(chunk):
                if tile.z in slices:
                    values = denoised.read(tile.z, tile.y0, tile.y1, tile.x0, tile.x1)
                    counts += float_histogram(values, low, high)
    return counts, float_edges(low, high, hist["dtype"])


def main(smk):
    method, scope = smk.params.method, smk.params.scope
    if is_local(method):  # no global threshold: record the parameters the segment step will use
        name, params = parse_method(method)
        result = {
            "method": method,
            "scope": "local",
            "local": {"name": name, "params": params},
            "thresholds": [],
        }
        with atomic_output(smk.output[0]) as tmp:
            tmp.write_text(json.dumps(result, indent=1) + "\n")
        return
    hist = load_histograms(smk.input.histograms)
    plan = Plan.load(smk.input.plan) if smk.input.get("plan") else None
    entries, float_histogram_used = [], None
    is_float = hist["counts"].shape[1] == 0
    if smk.params.equalize and hist["dtype"] not in ("uint8", "uint16"):
        raise SegvalError(
            f"histogram equalisation needs an 8- or 16-bit image, this one is {hist['dtype']}",
            smk.input.histograms[0],
            "set equalize: false, or convert the images",
        )
    if is_float and scope == "tile":
        raise SegvalError(
            "per-tile thresholds are not available for float images",
            smk.input.histograms[0],
            "use threshold_scope: image or slice, or convert the images to 8- or 16-bit",
        )
    for key, counts, total, selector in groups(hist, scope):
        edges = None
        if is_float:
            counts, edges = float_counts(smk, plan, hist, selector)
            float_histogram_used = float_histogram_used or {
                "counts": counts.tolist(),
                "edges": edges.tolist(),
            }
        entry = dict(key, status="ok", message="")
        try:
            if smk.params.equalize:
                entry["threshold"] = threshold_equalized(
                    counts, method, hist["dtype"], offset=hist["offset"]
                )
            else:
                entry["threshold"] = threshold_from_histogram(
                    counts,
                    method,
                    edges,
                    offset=hist["offset"],
                    total=None if total is None else total.item(),
                )
        except ThresholdNotFound as error:
            # Read from the config, not params: adding a method must not rerun the others' thresholds.
            if len(smk.config["methods"]) == 1:
                raise SegvalError(
                    f"{error}",
                    smk.input.histograms[0],
                    "choose another threshold method for this image (or add others to `methods`)",
                ) from None
            log.warning("sample %s: %s", smk.wildcards.sample, error)
            entry.update(threshold=None, status=THRESHOLD_NOT_FOUND, message=str(error))
        entries.append(entry)
    result = {"method": method, "scope": scope, "dtype": hist["dtype"], "thresholds": entries}
    if float_histogram_used:  # float data has no full-resolution histogram: keep the bins used
        result["float_histogram"] = float_histogram_used
    log.info("thresholds: %s", entries)
    with atomic_output(smk.output[0]) as tmp:
        tmp.write_text(json.dumps(result, indent=1) + "\n")


run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
