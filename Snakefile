# segval: segment grayscale microscopy images by thresholding and validate the masks against
# expert ground truth.  Usage: `snakemake --cores N` (see README.md); options in config/config.yaml.

import atexit

from snakemake.utils import min_version

min_version("9.0")


# config/config.yaml runs the demo. A user's --configfile replaces it rather than being merged into
# it, so that options left out of the user's file take the schema's documented defaults (not the
# demo's `invert: true`).
if not workflow.overwrite_configfiles:

    configfile: os.path.join(workflow.basedir, "config", "config.yaml")


# The report's first screen: the answer (rule pages writes it with the description below), once run.
REPORT_TEXT = "results/report/workflow.rst"


report: os.path.abspath(REPORT_TEXT) if os.path.exists(REPORT_TEXT) else "resources/report/workflow.rst"


include: "rules/common.smk"
include: "rules/demo.smk"
include: "rules/plan.smk"
include: "rules/batch.smk"
include: "rules/denoise.smk"
include: "rules/threshold.smk"
include: "rules/validate.smk"
include: "rules/zarr.smk"
include: "rules/report.smk"


# Quick aggregation steps (and the OME-Zarr metadata steps) run on the submitting node (not worth a
# cluster job).
localrules:
    all,
    summary,
    aggregate,
    select_method,
    plot_selection,
    create_zarr,
    finish_zarr,
    checked,


rule all:
    """Everything the run produces (results/index.html first)."""
    default_target: True
    input:
        final_outputs(),


onsuccess:
    # The answer in one line, and where to read it (segval.pages needs no numpy: this runs in
    # Snakemake's own process).
    if os.path.exists("results/index.html"):
        from segval.pages import answer

        _selection = None
        if os.path.exists("results/selection.json"):
            with open("results/selection.json") as _handle:
                _selection = json.load(_handle)
        _line = f"segval: {answer(_selection)} Results: {os.path.abspath('results/index.html')}"
        # At exit, so that it is the last line, after Snakemake's own closing lines.
        atexit.register(print, _line, file=sys.stderr)
