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
include: "rules/tiles.smk"
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
    # One line with the answer and where to read it (pure Python: this runs in Snakemake's process).
    if os.path.exists("results/index.html"):
        _answer = "no sample has ground truth"
        if os.path.exists("results/selection.json"):
            with open("results/selection.json") as _handle:
                _selection = json.load(_handle)
            _best = next(
                (row for row in _selection["ranking"] if row["method"] == _selection["winner"]),
                None,
            )
            if _best:
                _pooled = "n/a" if _best["pooled"] is None else f"{_best['pooled']:.3f}"
                _out = _selection.get("out_of_sample")
                _answer = (
                    f"chosen {_selection['winner']}, pooled {_selection['metric'].upper()} {_pooled}"
                    + ("" if _out is None else f", out of sample {_out:.3f}")
                )
        _line = f"segval: {_answer}; results: {os.path.abspath('results/index.html')}"
        # At exit, so that it is the last line, after Snakemake's own closing lines.
        atexit.register(print, _line, file=sys.stderr)
