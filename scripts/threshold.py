"""One global threshold per scope (image, slice or tile) from the histograms of all chunks."""

import json
import logging

from segval.errors import THRESHOLD_NOT_FOUND, SegvalError, ThresholdNotFound
from segval.files import atomic_output
from segval.histograms import by_scope, float_scope_counts, load_histograms
from segval.runner import run_step
from segval.stitching import ChunkSet
from segval.thresholds import is_local, parse_method, threshold_equalized, threshold_from_histogram
from segval.tiling import Plan

log = logging.getLogger("segval")


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
    for key, counts, total, selector in by_scope(hist, scope):
        edges = None
        if is_float:
            with ChunkSet(smk.input.denoised, plan) as denoised:
                counts, edges = float_scope_counts(denoised, plan, hist, selector)
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


if __name__ == "__main__":  # run by Snakemake; importable by scripts/run_batch.py
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
