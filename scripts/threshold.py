"""One global threshold per scope (image, slice or tile) from the histograms of all chunks."""

import json
import logging

from segval.errors import THRESHOLD_NOT_FOUND, SegvalError
from segval.files import atomic_output
from segval.histograms import load_histograms
from segval.runner import run_step
from segval.stitching import ChunkSet
from segval.thresholds import is_local, local_method_result, scope_thresholds
from segval.tiling import Plan

log = logging.getLogger("segval")


def main(smk):
    method, scope = smk.params.method, smk.params.scope
    if is_local(method):  # no global threshold: record the parameters the segment step will use
        result = local_method_result(method)
    else:
        hist = load_histograms(smk.input.histograms)
        plan = Plan.load(smk.input.plan) if smk.input.get("plan") else None
        result = scope_thresholds(
            hist,
            method,
            scope,
            smk.params.equalize,
            open_denoised=lambda: ChunkSet(smk.input.denoised, plan),
            plan=plan,
            source=smk.input.histograms[0],
        )
        for entry in result["thresholds"]:
            if entry["status"] != THRESHOLD_NOT_FOUND:
                continue
            # Read from the config, not params: adding a method must not rerun the others' thresholds.
            if len(smk.config["methods"]) == 1:
                raise SegvalError(
                    entry["message"],
                    smk.input.histograms[0],
                    "choose another threshold method for this image (or add others to `methods`)",
                )
            log.warning("sample %s: %s", smk.wildcards.sample, entry["message"])
        log.info("thresholds: %s", result["thresholds"])
    with atomic_output(smk.output[0]) as tmp:
        tmp.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":  # run by Snakemake; importable by scripts/run_batch.py
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
