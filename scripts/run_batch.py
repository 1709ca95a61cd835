"""Run a batch job: several workflow steps, for several images, in one process.

Images that fit one chunk are grouped into batches (rules/batch.smk), so that a data set of many
small images costs about what its pixels cost: each batch job imports its libraries once and runs
the same steps, with the same code, inputs and outputs, as the per-chunk rules do for a large image
(``main`` of ``scripts/<step>.py``), in the order segval.batch lists them from the job's context
(``input.calls``).
"""

import json
import logging
import time
from pathlib import Path

from segval.batch import files_of, handed_on_files, job_calls, scratch_files, written_by
from segval.errors import SegvalError
from segval.files import atomic_output
from segval.runner import SharedReads, load_step, run_step, step_arguments
from segval.tables import write_tsv

log = logging.getLogger("segval")


def remove(paths):
    for path in paths:
        Path(path).unlink(missing_ok=True)


def main(smk):
    with open(smk.input.calls) as handle:
        context = json.load(handle)
    calls = job_calls(context)
    scratch, _ = scratch_files(context, calls)
    remove(scratch)  # left by a killed run
    failed, written = [], []
    shared = SharedReads()  # what the steps of several methods read of the same image, read once
    for call in calls:
        started = time.perf_counter()
        names = " ".join(f"{key}={value}" for key, value in call.get("wildcards", {}).items())
        try:
            load_step(call["step"]).main(step_arguments(call, smk.config, shared))
        except SegvalError as error:
            if call["step"] != "plan":
                raise
            # Checks go on to the other samples: one run shows every bad file of the batch.
            log.error("sample %s: %s", call["wildcards"]["sample"], error.message)
            failed.append(call["wildcards"]["sample"])
            continue
        written += [path for path in files_of(call["output"]) if path not in scratch]
        log.info("%s %s: %.2f s", call["step"], names, time.perf_counter() - started)
    remove(scratch)
    if failed:
        raise SegvalError(
            f"{len(failed)} of {len(calls)} samples failed the checks above: " + ", ".join(failed),
            fix="correct the files named above (nothing was processed)",
        )
    if context.get("remove_handed_on"):  # temporary intermediates: this job read them last
        files = handed_on_files(context)
        remove(files)
        for folder in sorted({Path(file).parent for file in files}, reverse=True):
            while (
                folder != Path("results/chunks") and folder.is_dir() and not any(folder.iterdir())
            ):
                folder.rmdir()  # the sample's folders of intermediates, now empty
                folder = folder.parent
    rows = [{"file": path, "bytes": file_bytes(path)} for path in written]
    # Which context wrote the manifest: the workflow declares the listed files that have gone only
    # while the job's context is unchanged (rules/common.smk, gone_from_manifest).
    with atomic_output(written_by(smk.output.manifest)) as record:
        record.write_text(smk.input.calls + "\n")
    write_tsv(smk.output.manifest, rows, ("file", "bytes"))


def file_bytes(path):
    """Size of a file, or of all the files in a folder (an OME-Zarr image, a zoom pyramid)."""
    path = Path(path)
    if path.is_dir():
        return sum(part.stat().st_size for part in path.rglob("*") if part.is_file())
    return path.stat().st_size


if __name__ == "__main__":  # run by Snakemake
    run_step(main, snakemake)  # noqa: F821 - provided by Snakemake
