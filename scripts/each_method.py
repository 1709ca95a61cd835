"""Run one step for every method of a chunk (or a sample) in one process: the per-chunk rules of
large images (`threshold`, `segment`, `confusion`) make one job per chunk and chain, not one per
method, so that a method costs its pixels and not an interpreter start-up.  Each method's call runs
the step's own ``main`` (``scripts/<step>.py``) with that method's inputs and outputs
(segval.runner.method_calls)."""

import logging
import time

from segval.runner import SharedReads, load_step, method_calls, run_step, step_arguments

log = logging.getLogger("segval")


def main(smk):
    shared = SharedReads()  # the chunk (or ground truth) every method's step reads, read once
    for call in method_calls(smk):
        started = time.perf_counter()
        load_step(call["step"]).main(step_arguments(call, smk.config, shared))
        log.info(
            "%s %s: %.2f s",
            call["step"],
            call["wildcards"]["method"],
            time.perf_counter() - started,
        )


if __name__ == "__main__":  # run by Snakemake
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
