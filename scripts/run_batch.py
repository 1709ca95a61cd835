"""Run a batch job: several workflow steps, for several images, in one process.

Images that fit one chunk are grouped into batches (rules/batch.smk), so that a data set of many
small images costs about what its pixels cost: each batch job imports its libraries once and runs
the same steps, with the same code, inputs and outputs, as the per-chunk rules do for a large image
(``main`` of ``scripts/<step>.py``), in the order the workflow lists them (``params.calls``).
"""

import importlib.util
import json
import logging
import time
from pathlib import Path

from segval.errors import SegvalError
from segval.runner import Named, run_step, step_arguments
from segval.tables import write_tsv

log = logging.getLogger("segval")
STEPS = Path(__file__).resolve().parent  # scripts/: one module per step


def load_step(name, cache={}):  # noqa: B006 - the cache is meant to persist between calls
    """The module ``scripts/<name>.py``, imported once (by path: step names such as ``plan`` or
    ``metrics`` must not pick up another installed module)."""
    if name not in cache:
        spec = importlib.util.spec_from_file_location(f"segval_step_{name}", STEPS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        cache[name] = module
    return cache[name]


def remove(paths):
    for path in paths:
        Path(path).unlink(missing_ok=True)


def main(smk):
    with open(smk.input.calls) as handle:
        job = json.load(handle)
    remove(job["scratch"])  # left by a killed run
    failed, written = [], []
    for call in job["calls"]:
        started = time.perf_counter()
        names = " ".join(f"{key}={value}" for key, value in call.get("wildcards", {}).items())
        try:
            load_step(call["step"]).main(step_arguments(call, smk.config))
        except SegvalError as error:
            if call["step"] != "plan":
                raise
            # Checks go on to the other samples: one run shows every bad file of the batch.
            log.error("sample %s: %s", call["wildcards"]["sample"], error.message)
            failed.append(call["wildcards"]["sample"])
            continue
        written += [path for path in Named(call["output"]) if path not in job["scratch"]]
        log.info("%s %s: %.2f s", call["step"], names, time.perf_counter() - started)
    remove(job["scratch"])
    if failed:
        raise SegvalError(
            f"{len(failed)} of {len(job['calls'])} samples failed the checks above: "
            + ", ".join(failed),
            fix="correct the files named above (nothing was processed)",
        )
    rows = [{"file": path, "bytes": file_bytes(path)} for path in written]
    write_tsv(smk.output.manifest, rows, ("file", "bytes"))


def file_bytes(path):
    """Size of a file, or of all the files in a folder (an OME-Zarr image, a zoom pyramid)."""
    path = Path(path)
    if path.is_dir():
        return sum(part.stat().st_size for part in path.rglob("*") if part.is_file())
    return path.stat().st_size


if __name__ == "__main__":  # run by Snakemake
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
