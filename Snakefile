# segval: segment grayscale microscopy images by thresholding and validate the masks against
# expert ground truth.  Usage: `snakemake --cores N` (see README.md); options in config/config.yaml.

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
include: "rules/report.smk"


# Quick aggregation steps run on the submitting node (not worth a cluster job).
localrules:
    all,
    summary,
    aggregate,
    select_method,
    plot_selection,


rule all:
    input:
        final_outputs(),
    default_target: True
