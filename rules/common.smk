# Configuration, sample sheet and input functions shared by all rules.
#
# Everything here runs whenever the Snakefile is parsed (also once per job on a cluster), so it only
# reads small text files: image headers and pixels are read by the `plan` checkpoint's job.

import csv
import functools
import hashlib
import json
import math
import os
import re
import sys
from types import SimpleNamespace

from snakemake.exceptions import IncompleteCheckpointException, WorkflowError
from snakemake.utils import validate

SCRIPTS = os.path.join(workflow.basedir, "scripts")
sys.path.insert(0, SCRIPTS)  # the segval library, for names shared with the steps

# Only numpy-free modules here (tested): Snakemake's own process stays light, and a minimal
# Snakemake install can drive the steps' conda envs.
from segval.spec import (  # noqa: E402
    GIVEN,
    chain_halo,
    is_local,
    local_halo,
    method_file_id,
    parse_method,
    preprocessing_chains,
)
from segval.checks import (  # noqa: E402
    check_file_id,
    check_name,
    check_sample_name,
    duplicate_file_ids,
    parse_pixel_size,
)
from segval.errors import SegvalError  # noqa: E402
from segval.ngff import (
    describe as describe_zarr,
    is_zarr,
)  # noqa: E402  (stdlib only: JSON metadata)
from segval.headers import image_shape  # noqa: E402  (stdlib only: image headers)
from segval.runner import SHARED_READS_BYTES  # noqa: E402
from segval.tiling import LEVELS_IN_MEMORY_BYTES  # noqa: E402
from segval.batch import JOBS as BATCH_JOBS, image_name, rescalable, written_by  # noqa: E402
from segval.tiling import Plan, parse_slices  # noqa: E402
from segval.tiling import plan as tiling_plan  # noqa: E402

SCHEMAS = os.path.join(workflow.basedir, "config", "schemas")
# The config file(s) read, named in the fixes of config errors (the demo's own when none is given).
CONFIG_FILES = ", ".join(
    str(path) for path in workflow.overwrite_configfiles or []
) or os.path.join(workflow.basedir, "config", "config.yaml")


def validate_or_explain(data, schema_name, what):
    """Validate against a JSON schema (filling defaults); on failure name the key, problem and fix."""
    schema_path = os.path.join(SCHEMAS, schema_name)
    try:
        validate(data, schema=schema_path)
    except WorkflowError:
        import jsonschema
        import yaml

        with open(schema_path) as handle:
            schema = yaml.safe_load(handle)
        errors = jsonschema.Draft202012Validator(schema).iter_errors(data)
        error = jsonschema.exceptions.best_match(errors)
        where = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        problem = error.message
        if error.validator == "not":  # the schema says why in `x-not-message`
            problem = f"{error.instance!r} is not allowed"
            if error.schema.get("x-not-message"):
                problem += f": {error.schema['x-not-message']}"
        if error.validator == "additionalProperties":
            allowed = ", ".join(sorted(error.schema.get("properties", {})))
            problem = f"{problem}; allowed keys: {allowed}"
        hint = error.schema.get("description", "")
        fix = f"correct `{where}` (see config/schemas/{schema_name} in the workflow)"
        if what == "config":
            fix = f"correct `{where}` in {CONFIG_FILES} (see config/schemas/{schema_name} in the workflow)"
        raise WorkflowError(
            f"{what}: invalid value at `{where}`: {problem}\n"
            + (f"{hint}\n" if hint else "")
            + f"Fix: {fix}"
        ) from None


# Which keys the user wrote (before the schema fills in defaults): `median_size` is the shorthand of
# `preprocess` only when that is absent (see segval.spec.preprocessing_chains).
MEDIAN_SIZE_GIVEN = config.get("median_size") is not None
validate_or_explain(config, "config.schema.yaml", "config")
for _masks in ("ground_truth", "prediction"):  # `{value: N}` is the same rule as `N`
    if isinstance(config[_masks]["foreground"], dict):
        config[_masks]["foreground"] = config[_masks]["foreground"]["value"]


def _check_methods(methods):
    for spec in methods:
        try:
            parse_method(spec)
        except ValueError as error:
            raise WorkflowError(
                f"config: methods: {error}\nFix: correct the `methods` list in {CONFIG_FILES}."
            ) from None
        try:
            check_file_id(method_file_id(spec), spec)
        except ValueError as error:
            raise WorkflowError(
                f"config: methods: {error}.\nFix: correct the `methods` list in {CONFIG_FILES}."
            ) from None
    # "manual:79" and "manual: 79" are one method with one set of files: listed twice, summary.tsv
    # would repeat its rows and the pooled rows would count its images twice.
    for file_id, specs in duplicate_file_ids(methods, method_file_id).items():
        raise WorkflowError(
            f"config: methods: {', '.join(repr(spec) for spec in specs)} are the same method ({file_id}).\n"
            f"Fix: list it once in the `methods` list in {CONFIG_FILES}."
        )


_check_methods(config["methods"])


# --- preprocessing ---------------------------------------------------------------------------
def _preprocessing_chains():
    """{name: chain} of the candidate preprocessings (`preprocess`, else the `median_size` median)."""
    try:
        return preprocessing_chains(
            config["preprocess"], config["median_size"] if MEDIAN_SIZE_GIVEN else None
        )
    except ValueError as error:
        raise WorkflowError(
            f"config: preprocess: {error}\nFix: correct `preprocess` (or remove `median_size`) in "
            f"{CONFIG_FILES}."
        ) from None


# Each chain names its preprocessing in output paths (`{prep}`, e.g. "median3"); every chain x
# method is a candidate pipeline.
CHAINS = _preprocessing_chains()
PREPS = list(CHAINS)
POSTPROCESS = bool(
    config["postprocess"]["min_object_size"] or config["postprocess"]["max_hole_size"]
)
METHODS = [method_file_id(spec) for spec in config["methods"]]
METHOD_SPECS = dict(zip(METHODS, config["methods"]))
# The largest halo a local method reads (0 for global methods): what segment's tiles grow by.
LOCAL_HALO = max(
    [local_halo(*parse_method(spec)) for spec in config["methods"] if is_local(spec)] or [0]
)

# --- demo phantoms ---------------------------------------------------------------------------
PHANTOMS = config["demo"]["phantoms"]
for _name in PHANTOMS:  # phantom names become file names: never `../x` or `/x`
    try:
        check_name(_name, "demo.phantoms: phantom name")
    except ValueError as error:
        raise WorkflowError(
            f"config: {error}.\nFix: rename it in {CONFIG_FILES}, e.g. phantom_1."
        ) from None
PHANTOM_IMAGE = "resources/demo/{name}.tif"
PHANTOM_TRUTH = "resources/demo/{name}_truth.tif"
GENERATED = {PHANTOM_IMAGE.format(name=n) for n in PHANTOMS} | {
    PHANTOM_TRUTH.format(name=n) for n in PHANTOMS
}


# --- sample sheet ----------------------------------------------------------------------------
def _resolve_sheet(path):
    """The sheet path as given (relative to the working directory), else the workflow's own copy."""
    if os.path.exists(path) or os.path.isabs(path):
        return path
    bundled = os.path.join(workflow.basedir, path)
    return bundled if os.path.exists(bundled) else path


PREDICTION_COLUMN = re.compile(r"^prediction(?:_([A-Za-z0-9-]+))?$")
# Another expert's tracings: validated like a prediction, but the human agreement level, never a
# candidate (a person's tracings cannot be applied to new images).
REFERENCE_COLUMN = re.compile(r"^reference_([A-Za-z0-9-]+)$")


def is_given_column(column):
    """A column holding masks validated like a method: `prediction[_<label>]` or `reference_<label>`."""
    return bool(PREDICTION_COLUMN.match(column) or REFERENCE_COLUMN.match(column))


def external_label(column):
    """Method name of a given-mask column: "external" for `prediction`, <label> for
    `prediction_<label>` and `reference_<label>`."""
    match = PREDICTION_COLUMN.match(column) or REFERENCE_COLUMN.match(column)
    return match.group(1) or "external"


def load_samples(path):
    """Read and validate the sample sheet; return {sample: row} in sheet order."""
    if not os.path.exists(path):
        raise WorkflowError(
            f"{path}: sample sheet not found.\nFix: set `samples:` in your config to a TSV file "
            "with columns sample, image, ground_truth."
        )
    if os.path.isdir(path):
        raise WorkflowError(
            f"{path}: the sample sheet is a folder.\nFix: set `samples:` in your config to the TSV file."
        )
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:  # -sig: Excel writes a BOM
            lines = [line for line in handle if line.strip() and not line.lstrip().startswith("#")]
    except UnicodeDecodeError as error:
        raise WorkflowError(
            f"{path}: the sample sheet is not UTF-8 text ({error.reason} at byte {error.start}).\n"
            "Fix: set `samples:` to the TSV file, saved as UTF-8 text (e.g. Excel: Save as > UTF-8 CSV, with tabs)."
        ) from None
    reader = csv.DictReader(lines, delimiter="\t")
    header = reader.fieldnames or []
    # Rows are checked with one compiled validator (Snakemake's `validate` reloads the schema for
    # every call: minutes for 10 000 rows); an invalid row is explained by validate_or_explain.
    import jsonschema
    import yaml

    with open(os.path.join(SCHEMAS, "samples.schema.yaml")) as handle:
        row_schema = yaml.safe_load(handle)
    row_validator = jsonschema.Draft202012Validator(row_schema)
    defaults = {
        key: spec["default"] for key, spec in row_schema["properties"].items() if "default" in spec
    }
    missing = [column for column in ("sample", "image") if column not in header]
    if missing:
        raise WorkflowError(
            f"{path}: missing column(s) {', '.join(missing)} (found: {', '.join(header) or 'none'}).\n"
            "Fix: the first line must name the tab-separated columns: sample, image, ground_truth."
        )
    samples = {}
    for line_number, row in enumerate(reader, start=2):
        if None in row:  # more fields than the header names: csv puts the rest under None
            raise WorkflowError(
                f"{path}, row {line_number}: {len(header) + len(row[None])} tab-separated fields but the header "
                f"names {len(header)} ({', '.join(header)}).\nFix: remove the extra fields, or name their columns in the header."
            )
        row = {key: (value or "").strip() for key, value in row.items()}
        if not row_validator.is_valid(row):
            validate_or_explain(row, "samples.schema.yaml", f"{path}, row {line_number}")
        row = {**defaults, **row}
        name = row["sample"]
        for column, check, fix in [
            ("sample", check_sample_name, "rename the sample in the sample sheet, e.g. tile_1"),
            ("pixel_size", parse_pixel_size, "correct the pixel_size column, or leave it empty"),
        ]:
            try:
                if row.get(column):
                    check(row[column])
            except ValueError as error:
                raise WorkflowError(f"{path}, row {line_number}: {error}.\nFix: {fix}.") from None
        if name in samples:
            raise WorkflowError(
                f"{path}, row {line_number}: sample {name!r} appears twice.\nFix: give each row a unique sample name."
            )
        for column in ["image", "ground_truth", "roi"] + [c for c in row if is_given_column(c)]:
            file = row.get(column, "")
            if file and not os.path.exists(file) and file not in GENERATED:
                raise WorkflowError(
                    f"{path}, row {line_number}: {column} {file!r} of sample {name!r} does not exist "
                    f"(relative paths are relative to the working directory {os.getcwd()}).\n"
                    "Fix: correct the path in the sample sheet."
                )
        if row.get("truth_slices"):
            problem = (
                None if row.get("ground_truth") else "truth_slices given without a ground_truth"
            )
            try:
                parse_slices(row["truth_slices"])
            except ValueError as error:
                problem = f"truth_slices: {error}"
            if problem:
                raise WorkflowError(
                    f"{path}, row {line_number}: {problem}.\nFix: correct the truth_slices column."
                )
        samples[name] = row
    if not samples:
        raise WorkflowError(f"{path}: the sample sheet has no rows.\nFix: add one row per image.")
    return samples


SAMPLE_SHEET = _resolve_sheet(config["samples"])
SAMPLES = load_samples(SAMPLE_SHEET)

# Masks from other segmenters (prediction columns), validated like methods under the pseudo
# preprocessing "given": results/masks/<sample>/given.<label>.ome.tif and so on.
EXTERNAL = {
    external_label(column): column
    for row in SAMPLES.values()
    for column in row
    if is_given_column(column)
}
_clash = sorted(set(EXTERNAL) & set(METHODS))
if _clash:
    raise WorkflowError(
        f"{SAMPLE_SHEET}: prediction column label(s) {', '.join(_clash)} clash with threshold methods.\n"
        "Fix: rename the column, e.g. prediction_unet."
    )
_header = next(iter(SAMPLES.values()))
_clash = sorted(
    label
    for label in EXTERNAL
    if f"reference_{label}" in _header and (f"prediction_{label}" in _header or label == "external")
)
if _clash:
    raise WorkflowError(
        f"{SAMPLE_SHEET}: label(s) {', '.join(_clash)} name both a prediction and a reference column.\n"
        "Fix: rename one of them, e.g. reference_observer2."
    )
# Given masks that are another expert's tracings: "given.<label>" in the tables (kind "reference").
REFERENCES = [
    f"{GIVEN}.{label}" for label, column in EXTERNAL.items() if REFERENCE_COLUMN.match(column)
]


def predictions_of(sample):
    """{label: mask file} of the sample's given masks (prediction and reference columns)."""
    row = SAMPLES[sample]
    return {label: row[column] for label, column in EXTERNAL.items() if row.get(column)}


def segmentations_of(sample):
    """(prep, method) pairs validated for a sample: every chain x threshold method, then every given
    mask."""
    return [(prep, method) for prep in PREPS for method in METHODS] + [
        (GIVEN, label) for label in predictions_of(sample)
    ]


def montage_of(wildcards):
    """(prep, method) pairs of a chain's side-by-side plot: its methods, then the given masks."""
    return [(p, m) for p, m in segmentations_of(wildcards.sample) if p in (wildcards.prep, GIVEN)]


def has_truth(sample):
    return bool(SAMPLES[sample].get("ground_truth"))


def _alternatives(names):
    return "|".join(re.escape(name) for name in names)


wildcard_constraints:
    prep=_alternatives(PREPS + [GIVEN]),
    method=_alternatives(METHODS + list(EXTERNAL)),
    chunk=r"c\d+",
    name=_alternatives(PHANTOMS) if PHANTOMS else "(?!)",


# The samples whose files the `plan` jobs have all checked (see rule checked in rules/plan.smk).
CHECKED = "results/plans/checked.tsv"


# --- resources -------------------------------------------------------------------------------
TILE = config["tiling"]["tile_size"]


def planned_shape(sample):
    """The sample's (slices, height, width) once its plan exists, else None (e.g. in a dry run that
    will redo the plan): resources must not fail before the data they scale with is known."""
    try:
        return tuple(manifest_of(sample)["shape"])
    except IncompleteCheckpointException:
        return None


def memory(
    base_mb,
    bytes_per_tile_pixel=0,
    halo=0,
    bytes_per_slice_pixel=0,
    shared_reads=False,
    levels=False,
):
    """A rule's `mem_mb`: a base (interpreter, libraries, small tables) plus what grows with the tile
    (bytes per pixel of a tile with its halo), or with a whole slice for the steps that need one;
    doubled on each retry (`--retries`).  ``shared_reads``: the job holds one chunk of the image (and
    of a mask) that its methods' steps share (segval.runner.SharedReads); ``levels``: it holds the
    pyramid levels of a uint8 chunk it writes (a third of its pixels).  The figures come from
    bench/bench_workflow.py's peak RSS per rule, with a margin."""

    def mem_mb(wildcards, attempt):
        tile_pixels = (TILE + 2 * halo) ** 2
        slice_pixels = chunk_bytes = 0
        shape = planned_shape(wildcards.sample) if "sample" in wildcards.keys() else None
        if bytes_per_slice_pixel and "sample" in wildcards.keys():
            _, height, width = shape or (1, 8026, 17480)  # a KESM slice
            slice_pixels = height * width
        pixels = min(config["tiling"]["chunk_megapixels"] * 1e6, math.prod(shape or (2**40,)))
        if shared_reads and len(METHODS) > 1:
            bits = re.search(r"\d+", plan_dtype(wildcards.sample)) if shape else None
            itemsize = int(bits.group()) // 8 if bits else (1 if shape else 4)  # uint16: 2
            chunk_bytes = min(pixels * (itemsize + 1), SHARED_READS_BYTES)
        megabytes = (
            base_mb
            + (bytes_per_tile_pixel * tile_pixels + bytes_per_slice_pixel * slice_pixels) / 2**20
            + chunk_bytes / 2**20
            + (min(pixels / 3, LEVELS_IN_MEMORY_BYTES) / 2**20 if levels else 0)
        )
        return int(math.ceil(megabytes * attempt))

    return mem_mb


def runtime(seconds_per_megapixel, scope="chunk"):
    """A rule's `runtime` in minutes for cluster schedulers: 30 s of start-up plus the pixels of a
    chunk (or of the whole sample, for per-sample steps) at the given cost (measured in
    bench/bench_workflow.py), times 3 for slower nodes, at least a minute; doubled on each retry.
    Kept tight because a group job asks for the sum of its members' runtimes."""

    def minutes(wildcards, attempt):
        megapixels = config["tiling"]["chunk_megapixels"]
        if scope == "sample" and "sample" in wildcards.keys():
            shape = planned_shape(wildcards.sample)
            megapixels = math.prod(shape) / 1e6 if shape else 20 * megapixels
        seconds = 3 * (30 + seconds_per_megapixel * megapixels)
        return int(max(1, math.ceil(seconds / 60)) * attempt)

    return minutes


# --- input functions -------------------------------------------------------------------------
def image_of(wildcards):
    return SAMPLES[wildcards.sample]["image"]


def truth_of(wildcards):
    truth = SAMPLES[wildcards.sample].get("ground_truth", "")
    return [truth] if truth else []


def pixel_size_of(sample):
    """(y, x) pixel size of a sample: its sheet's pixel_size, else its OME-Zarr image's own (the
    scale of level 0), else metrics.pixel_size."""
    text = SAMPLES[sample].get("pixel_size") or ""
    if text:
        return parse_pixel_size(text)  # checked when the sheet was read
    size = config["metrics"]["pixel_size"]
    image = SAMPLES[sample]["image"]
    if is_zarr(image):
        try:
            size = list(describe_zarr(image).pixel_size() or size)
        except SegvalError:  # the plan step reports a broken image, naming the fix
            pass
    size = size if isinstance(size, list) else [size]
    return [size[0], size[-1]]


def roi_of(wildcards):
    roi = SAMPLES[wildcards.sample].get("roi", "")
    return [roi] if roi else []


def intermediate(path):
    """A per-chunk output under results/chunks/: kept (reruns stay incremental), or with
    `outputs.keep_intermediates: false` temporary, deleted once every job reading it is done."""
    return path if config["outputs"]["keep_intermediates"] else temp(path)


# outputs.format: masks and confusion maps as OME-TIFF (default) or OME-Zarr (rules/zarr.smk).
ZARR_OUTPUT = config["outputs"]["format"] == "ome-zarr"
OUTPUT_SUFFIX = ".ome.zarr" if ZARR_OUTPUT else ".ome.tif"


def zarr_building(kind, given=False):
    """Input function of the chunk jobs that make ``kind`` ("masks" or "confusion"): with OME-Zarr
    output, the folders being built that they write their tiles into (rules/zarr.smk), one per
    method (``given``: the given mask of the job's ``method`` wildcard); else none."""

    def inputs(wildcards):
        if not ZARR_OUTPUT:
            return []
        methods = [wildcards.method] if given else METHODS
        names = dict(sample=wildcards.sample, prep=wildcards.prep, kind=kind)
        return [path("zarr_building", **names, method=method) for method in methods]

    return inputs


def each_method(pattern):
    """``pattern`` for every threshold method, its other wildcards kept (the outputs of a job that
    runs a step for all methods: scripts/each_method.py)."""
    return [pattern.replace("{method}", method) for method in METHODS]


def per_method_params(step, **modes):
    """The params telling scripts/each_method.py which step to run for which methods, and how the
    rule's inputs and outputs are shared among them (see segval.runner.method_calls)."""
    return dict(step=step, methods=METHODS, per_method=modes)


_manifests = {}


def manifest_of(sample):
    """The sample's plan (the `plan` checkpoint's output): shape, dtype and chunks."""
    path = checkpoints.plan.get(sample=sample).output[0]
    stamp = os.stat(path).st_mtime_ns
    if _manifests.get(path, (None,))[0] != stamp:
        with open(path) as handle:
            _manifests[path] = (stamp, json.load(handle))
    return _manifests[path][1]


def chunks_of(sample):
    """Chunk ids of a sample."""
    return [chunk["id"] for chunk in manifest_of(sample)["chunks"]]


def plan_dtype(sample):
    """Pixel type of the sample's image."""
    return manifest_of(sample)["image"]["dtype"]


def traced_chunks_of(sample):
    """Ids of the chunks holding at least one slice with ground truth."""
    manifest = manifest_of(sample)
    traced = set(manifest["truth"]["slices"]) if manifest["truth"] else set()
    return [c["id"] for c in manifest["chunks"] if any(z in traced for z in range(*c["z"]))]


def per_chunk(pattern, traced=False):
    """Input function: ``pattern`` expanded over the sample's chunks (only those with ground truth
    if ``traced``), other wildcards kept."""

    def inputs(wildcards):
        named = dict(wildcards.items())
        chunks = traced_chunks_of(wildcards.sample) if traced else chunks_of(wildcards.sample)
        return [pattern.format(**named, chunk=chunk) for chunk in chunks]

    return inputs


def final_outputs():
    """Everything `rule all` asks for."""
    targets = ["results/summary.tsv", "results/index.html"]
    if any(has_truth(sample) for sample in SAMPLES):
        targets += ["results/aggregate.tsv", "results/selection.tsv", "results/plots/selection.png"]
    # Images processed in batches: each batch job's manifest (the job writes all their files);
    # temporary denoised chunks' manifests only while the jobs reading them need them.
    keep = config["outputs"]["keep_intermediates"]
    steps = [step for step in BATCH_STEPS if keep or not step.startswith("denoise.")]
    targets += [batch_manifest(batch, step) for batch in BATCHES for step in steps]
    # ... and the files of theirs that have gone (Snakemake checks the outputs it is asked for)
    targets += [f for b in BATCHES for step in steps for f in batch_outputs(b, step)]
    for sample in CHUNKED:
        for prep in PREPS:
            targets.append(f"results/plots/{sample}/{prep}.histogram.png")
            targets.append(f"results/plots/{sample}/{prep}.methods.png")
            if config["outputs"]["denoised"]:
                targets.append(f"results/denoised/{sample}/{prep}.ome.tif")
        for prep, method in segmentations_of(sample):
            stem = f"{sample}/{prep}.{method}"
            targets += [f"results/masks/{stem}{OUTPUT_SUFFIX}", f"results/overlays/{stem}.png"]
            if config["overlay"]["full_resolution_tiles"]:
                targets.append(f"results/overlays/{stem}.tiles")
            if has_truth(sample):
                targets.append(f"results/confusion/{stem}{OUTPUT_SUFFIX}")
                # Tile maps: asked for by rule pages, only for images of more than one tile.
    return targets


def threshold_inputs(wildcards):
    """The chunks' histograms; for float images also the denoised chunks (binned in a second pass
    over the range the histograms' first pass found)."""
    inputs = {
        "plan": f"results/plans/{wildcards.sample}.json",
        "histograms": per_chunk("results/chunks/{sample}/{prep}/histograms/{chunk}.npz")(wildcards),
    }
    if plan_dtype(wildcards.sample).startswith("float"):  # floats: a second pass bins them
        inputs["denoised"] = per_chunk("results/chunks/{sample}/{prep}/denoised/{chunk}.tif")(
            wildcards
        )
    return inputs


def same_slice_chunks(wildcards):
    """The chunks holding this chunk's slices: itself, or every band of a split slice (local
    methods read their halo across band borders)."""
    plan = Plan.from_dict(manifest_of(wildcards.sample))
    return plan.same_slices(plan.chunk(wildcards.chunk))


def overlay_labels(wildcards):
    """What an overlay colours: the confusion map, or the mask where there is no ground truth."""
    if has_truth(wildcards.sample):
        return f"results/confusion/{{sample}}/{{prep}}.{{method}}{OUTPUT_SUFFIX}"
    return f"results/masks/{{sample}}/{{prep}}.{{method}}{OUTPUT_SUFFIX}"


def all_metrics(wildcards=None):
    """Every metrics table of the run."""
    return [
        f"results/metrics/{sample}/{prep}.{method}.tsv"
        for sample in SAMPLES
        for prep, method in segmentations_of(sample)
    ]


def metrics_inputs():
    """What stands for every metrics table in the DAG: the tables of the large images, and the
    manifests of the batches' `validate` jobs (which write the others).  Thousands of small images
    would otherwise make thousands of inputs for Snakemake to match to their jobs one by one; the
    tables' paths go in the rules' params (all_metrics)."""
    return [
        path("metrics", sample=s, prep=p, method=m) for s in CHUNKED for p, m in segmentations_of(s)
    ] + [batch_manifest(batch, "validate") for batch in BATCHES]


def zarr_chunks(wildcards):
    """The chunk files whose jobs write into the image: every mask chunk, or the traced chunks'
    confusion maps."""
    if wildcards.kind == "masks":
        return per_chunk("results/chunks/{sample}/{prep}.{method}/mask/{chunk}.tif")(wildcards)
    return per_chunk("results/chunks/{sample}/{prep}.{method}/confusion/{chunk}.tif", traced=True)(
        wildcards
    )


def tiled(sample):
    """Whether the sample's plan cuts it into more than one tile (a tile map says something)."""
    rows, columns = (
        BATCH_PLANS[sample].grid if sample in BATCH_PLANS else manifest_of(sample)["grid"]
    )
    return rows * columns > 1


def zoomed(sample):
    """Whether the sample's slices are larger than the overlay preview: its traced slices then get a
    zoomable full-resolution pyramid (rule deepzoom)."""
    _, height, width = (
        BATCH_PLANS[sample].shape if sample in BATCH_PLANS else manifest_of(sample)["shape"]
    )
    return has_truth(sample) and height * width > config["overlay"]["max_pixels"]


def all_plans():
    """What stands for every sample's plan: the plan of each large image, and the manifest of each
    batch's plan job (which lists its samples' plans)."""
    return [path("plan", sample=s) for s in CHUNKED] + [
        batch_manifest(batch, "plan") for batch in BATCHES
    ]


def page_inputs(wildcards):
    """What the pages show: the tables and plots the workflow writes (tile maps only for images of
    more than one tile: a single square says nothing).  For images processed in batches, the
    manifests of their batches' `validate` and `plot` jobs stand for their files: the rule writes a
    page per sample, and Snakemake keeps the whole input list with each output."""
    large = [s for s in SAMPLES if s in CHUNKED]
    inputs = {
        "summary": "results/summary.tsv",
        "plans": all_plans(),
        "batches": [batch_manifest(b, step) for b in BATCHES for step in ("validate", "plot")],
        "metrics": [
            path("metrics", sample=s, prep=p, method=m)
            for s in large
            for p, m in segmentations_of(s)
        ],
        "overlays": [
            path("overlay", sample=s, prep=p, method=m)
            for s in large
            for p, m in segmentations_of(s)
        ],
        "plots": [
            path(kind, sample=s, prep=prep)
            for s in large
            for prep in PREPS
            for kind in ("histogram_plot", "methods_plot")
        ],
        "tile_maps": [
            path("tile_map", sample=s, prep=p, method=m)
            for s in large
            if has_truth(s) and tiled(s)
            for p, m in segmentations_of(s)
        ],
        "zooms": [
            path("zoom", sample=s, prep=p, method=m)
            for s in large
            if zoomed(s)
            for p, m in segmentations_of(s)
        ]
        + [path("image_zoom", sample=s) for s in large if zoomed(s)],
    }
    if any(has_truth(sample) for sample in SAMPLES):
        inputs.update(
            selection="results/selection.json", selection_plot="results/plots/selection.png"
        )
    return inputs


# --- batches ---------------------------------------------------------------------------------
# The unit of work follows the data: a sample too large for one chunk is processed chunk by chunk
# by the per-chunk rules (denoise, threshold, segment, confusion, ...: many jobs, in parallel);
# samples that fit one chunk are grouped, in sheet order, into batches of up to
# `tiling.chunk_megapixels`, and each batch is processed by a few jobs (rules/batch.smk) that run
# the same steps for all its samples, chains and methods in one process.  Which path a sample
# takes only changes the number of jobs, never a result.


def shape_hint(sample):
    """The sample's (slices, height, width) read from its image's header at parse time (stdlib
    only, segval.headers), a demo phantom's from its config; None when not known cheaply."""
    image = SAMPLES[sample]["image"]
    for name in PHANTOMS:
        if image == PHANTOM_IMAGE.format(name=name):
            return (1, 1, *PHANTOMS[name]["shape"])[-3:]
    return image_shape(image)


# Batches are filled in sheet order up to a size that spreads the work over up to PARALLEL_BATCHES
# jobs (for the cores of a workstation), with at least MIN_BATCH_MEGAPIXELS each (a job is worth its
# start-up) and at most `tiling.chunk_megapixels`.
PARALLEL_BATCHES = 16
MIN_BATCH_MEGAPIXELS = 4


def _batches():
    """({batch: [samples]}, {sample: plan}) of the samples that fit one chunk."""
    plans = {}
    for sample in SAMPLES:
        shape = shape_hint(sample)
        if shape is not None:
            cut = tiling_plan(shape, TILE, config["tiling"]["chunk_megapixels"], POSTPROCESS)
            if len(cut.chunks) == 1:
                plans[sample] = cut
    total = sum(math.prod(cut.shape) for cut in plans.values())
    size = min(
        config["tiling"]["chunk_megapixels"] * 1e6,
        max(MIN_BATCH_MEGAPIXELS * 1e6, total / PARALLEL_BATCHES),
    )
    batches, current, pixels = {}, [], 0
    for sample, cut in plans.items():
        if current and pixels + math.prod(cut.shape) > size:
            batches[f"b{len(batches) + 1:04d}"], current, pixels = current, [], 0
        current.append(sample)
        pixels += math.prod(cut.shape)
    if current:
        batches[f"b{len(batches) + 1:04d}"] = current
    return batches, plans


BATCHES, BATCH_PLANS = _batches()
# The steps of each batch, in order: its jobs (segval.batch.JOBS), `denoise` once per chain.
BATCH_STEPS = [
    step
    for job in BATCH_JOBS
    for step in ([f"denoise.{prep}" for prep in PREPS] if job == "denoise" else [job])
]
CHUNKED = [sample for sample in SAMPLES if sample not in BATCH_PLANS]


# The per-chunk rules take the samples that do not fit one chunk (the batches take the others).
wildcard_constraints:
    sample=_alternatives(CHUNKED) if CHUNKED else "(?!)",


# --- output paths ----------------------------------------------------------------------------
# Where every file of a sample lives, whichever rule writes it (per-chunk rules or batch jobs).
PATHS = {
    "plan": "results/plans/{sample}.json",
    "denoised_chunk": "results/chunks/{sample}/{prep}/denoised/{chunk}.tif",
    "histogram_chunk": "results/chunks/{sample}/{prep}/histograms/{chunk}.npz",
    "denoised": "results/denoised/{sample}/{prep}.ome.tif",
    "threshold": "results/thresholds/{sample}/{prep}.{method}.json",
    "mask_chunk": "results/chunks/{sample}/{prep}.{method}/mask/{chunk}.tif",
    "confusion_chunk": "results/chunks/{sample}/{prep}.{method}/confusion/{chunk}.tif",
    "counts_chunk": "results/chunks/{sample}/{prep}.{method}/counts/{chunk}.tsv",
    "boundary_chunk": "results/chunks/{sample}/{prep}.{method}/boundary/{chunk}.json",
    "zarr_building": "results/chunks/{sample}/{prep}.{method}/{kind}.ome.zarr",
    "masks": f"results/masks/{{sample}}/{{prep}}.{{method}}{OUTPUT_SUFFIX}",
    "confusion": f"results/confusion/{{sample}}/{{prep}}.{{method}}{OUTPUT_SUFFIX}",
    "metrics": "results/metrics/{sample}/{prep}.{method}.tsv",
    "tile_metrics": "results/metrics/{sample}/{prep}.{method}.tiles.tsv",
    "overlay": "results/overlays/{sample}/{prep}.{method}.png",
    "overlay_tiles": "results/overlays/{sample}/{prep}.{method}.tiles",
    "zoom": "results/overlays/{sample}/{prep}.{method}.zoom",
    "image_zoom": "results/overlays/{sample}/image.zoom",
    "histogram_plot": "results/plots/{sample}/{prep}.histogram.png",
    "methods_plot": "results/plots/{sample}/{prep}.methods.png",
    "tile_map": "results/plots/{sample}/{prep}.{method}.tiles.png",
}


def path(kind, /, **names):
    """The file of ``kind`` (a key of PATHS) for these wildcard values."""
    return PATHS[kind].format(**names)


# Step parameters that come from the config alone (the per-chunk rules and the batch jobs pass the
# same ones).
STEP_PARAMS = {
    "plan": dict(
        channel=config["channel"],
        tile_size=TILE,
        chunk_megapixels=config["tiling"]["chunk_megapixels"],
        whole_slices=POSTPROCESS,  # mask clean-up needs whole slices in a job
        truth_rule=config["ground_truth"]["foreground"],
        prediction_rule=config["prediction"]["foreground"],
    ),
    "denoise": dict(
        invert=config["invert"],
        channel=config["channel"],
        per_tile_histograms=config["threshold_scope"] == "tile",
    ),
    "threshold": dict(scope=config["threshold_scope"], equalize=config["equalize"]),
    "segment": dict(
        min_object_size=config["postprocess"]["min_object_size"],
        max_hole_size=config["postprocess"]["max_hole_size"],
    ),
    "import_prediction": dict(rule=config["prediction"]["foreground"]),
    "confusion": dict(
        truth_rule=config["ground_truth"]["foreground"],
        boundary=config["metrics"]["boundary"],
        halo=config["metrics"]["boundary_halo"],
    ),
    "metrics": dict(policy=config["metrics"]["edge_policy"]),
    "overlay": dict(
        channel=config["channel"],
        alpha=config["overlay"]["alpha"],
        colours=config["overlay"]["colours"],
        max_pixels=config["overlay"]["max_pixels"],
        max_slices=config["overlay"]["max_slices"],
    ),
    "overlay_tiles": dict(
        channel=config["channel"],
        alpha=config["overlay"]["alpha"],
        colours=config["overlay"]["colours"],
    ),
    "plot_histogram": dict(invert=config["invert"]),
    "plot_tiles": dict(
        metric=config["metrics"]["tile_map"], max_slices=config["overlay"]["max_slices"]
    ),
    "plot_methods": dict(channel=config["channel"]),
}
STEP_PARAMS["deepzoom"] = dict(
    alpha=config["overlay"]["alpha"],
    colours=config["overlay"]["colours"],
    max_pixels=config["overlay"]["max_pixels"],
    max_slices=config["overlay"]["max_slices"],
)
STEP_PARAMS["deepzoom_image"] = dict(
    channel=config["channel"],
    max_pixels=config["overlay"]["max_pixels"],
    max_slices=config["overlay"]["max_slices"],
)


# --- batch jobs --------------------------------------------------------------------------------
# A batch job is described by a small context (segval.batch): the path table, the parameters of
# its steps, its chains and methods and one record per image; the job expands it into its steps'
# calls.  Its only declared output is the manifest of the files it wrote (results/batches/), which
# the next jobs and the tables depend on: declaring every file would cost Snakemake seconds per
# thousand files in every run.  A file listed in a manifest that has gone is declared again, so
# the job that writes it is redone.


@functools.cache
def _batch_record(sample):
    """What the batch jobs read of one image (segval.batch.JOBS names the fields each job reads)."""
    row = SAMPLES[sample]
    return dict(
        image=row["image"],
        truth=row.get("ground_truth", ""),
        roi=row.get("roi", ""),
        predictions=predictions_of(sample),
        truth_slices=row.get("truth_slices", ""),
        pixel_size=pixel_size_of(sample),
        chunks=[chunk.id for chunk in BATCH_PLANS[sample].chunks],
        tiled=tiled(sample),
        zoomed=zoomed(sample),
    )


def batch_context(samples, job, prep=None):
    """The context of a batch job: what its calls depend on, and nothing else (see segval.batch)."""
    steps, fields = BATCH_JOBS[job]
    context = dict(
        job=job,
        paths=PATHS,
        params={step: STEP_PARAMS[step] for step in steps if step in STEP_PARAMS},
        samples={
            sample: {field: _batch_record(sample)[field] for field in fields} for sample in samples
        },
    )
    if job == "denoise":
        context.update(prep=prep, chain=CHAINS[prep], denoised=config["outputs"]["denoised"])
    if job in ("segment", "validate", "plot"):
        context.update(chains=CHAINS, methods=METHOD_SPECS)
    if job in ("segment", "validate"):
        context.update(zarr=ZARR_OUTPUT)
    if job == "validate":
        context.update(colours=config["overlay"]["colours"])
    if job == "plot":
        context.update(full_resolution_tiles=config["overlay"]["full_resolution_tiles"])
        if not config["outputs"]["keep_intermediates"]:
            context.update(remove_handed_on=True)  # the last job reading them
    return context


def batch_calls_file(context):
    """The batch job's context as a JSON file named by its content's digest, written when the
    workflow is parsed if it does not exist yet, and never changed: new methods, samples or options
    give a new file, which reruns the job; a dry run with another config leaves the current one
    alone.  A file rather than `params`: Snakemake keeps a job's params with each of its outputs."""
    # compact: Python's C encoder (an indented dump goes through the pure-Python one, 10x slower)
    text = json.dumps(context, sort_keys=True, separators=(",", ":")) + "\n"
    digest = hashlib.sha256(text.encode()).hexdigest()[:20]
    file = f".snakemake/segval/calls/{digest}.json"
    if not os.path.exists(file):
        os.makedirs(os.path.dirname(file), exist_ok=True)
        partial = f"{file}.{os.getpid()}.partial"
        with open(partial, "w") as handle:
            handle.write(text)
        os.replace(partial, file)
    return file


def batch_manifest(batch, step):
    """The table of the files a batch job wrote (what the next batch jobs depend on)."""
    return f"results/batches/{batch}/{step}.tsv"


def batch_sample_files(samples):
    """The files of the samples (the plan jobs' inputs: a changed image redoes its batch)."""
    return sorted(
        {
            file
            for sample in samples
            for file in [SAMPLES[sample]["image"], *truth_of(SimpleNamespace(sample=sample))]
            + roi_of(SimpleNamespace(sample=sample))
            + list(predictions_of(sample).values())
        }
    )


# Which batch job writes each kind of file of the path table.
BATCH_JOB_OF_KIND = {
    "plan": "plan",
    "denoised": "denoise",
    "threshold": "segment",
    "masks": "segment",
    "confusion": "validate",
    "metrics": "validate",
    "tile_metrics": "validate",
    "overlay": "plot",
    "overlay_tiles": "plot",
    "zoom": "plot",
    "image_zoom": "plot",
    "histogram_plot": "plot",
    "methods_plot": "plot",
    "tile_map": "plot",
}


def _targeted():
    """{(batch, step): files} of the command line's targets that batch jobs write (a user may ask
    for one image's table: `snakemake results/metrics/<sample>/median3.otsu.tsv`).  Read from the
    command line: Snakemake gives the workflow its targets only after parsing it."""
    found = {}
    for target in sorted(set(sys.argv[1:])):
        for kind, job in BATCH_JOB_OF_KIND.items():
            pattern = re.escape(PATHS[kind]).replace(r"\{sample\}", "(?P<sample>[^/]+)")
            pattern = pattern.replace(r"\{prep\}", "(?P<prep>[^/]+)", 1).replace(
                r"\{prep\}", "[^/]+"
            )
            pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", pattern)
            match = re.fullmatch(pattern, target)
            if match and match["sample"] in BATCH_OF:
                step = f"denoise.{match['prep']}" if job == "denoise" else job
                found.setdefault((BATCH_OF[match["sample"]], step), []).append(target)
    return found


BATCH_OF = {sample: batch for batch, samples in BATCHES.items() for sample in samples}
TARGETED = _targeted()


def batch_outputs(batch, step):
    """A batch job's declared outputs besides its manifest: the files of its manifest that have
    gone (so that the job is redone) and those the command line asks for."""
    files = sorted(set(gone_from_manifest(batch, step)) | set(TARGETED.get((batch, step), [])))
    return [directory(f) if f.endswith((".tiles", ".zoom", ".ome.zarr")) else f for f in files]


@functools.cache
def batch_calls(batch, step):
    """The calls file of a batch job (``step``: ``plan``, ``denoise.<chain>``, ``segment``, ...)."""
    job, _, prep = step.partition(".")
    return batch_calls_file(batch_context(BATCHES[batch], job, prep or None))


@functools.cache
def gone_from_manifest(batch, step):
    """The files a batch job's manifest lists that are no longer there (declared as its outputs, so
    that the job is redone); per-chunk files are left to the manifests' dependencies.  Only while
    the job's context is the one that wrote the manifest: a job whose context changed is redone
    anyway, and may no longer write what the old manifest lists (a method removed, say)."""
    manifest = batch_manifest(batch, step)
    record = written_by(manifest)
    if not os.path.exists(manifest) or not os.path.exists(record):
        return []
    with open(record) as handle:
        if handle.read().strip() != batch_calls(batch, step):
            return []
    with open(manifest, newline="") as handle:
        files = [row["file"] for row in csv.DictReader(handle, delimiter="\t")]
    return [f for f in files if not f.startswith("results/chunks/") and not os.path.exists(f)]


def batch_memory(samples):
    """A batch job's `mem_mb`: its steps run one after the other on one image at a time, so it needs
    what its largest step needs on its largest image (as memory() for the per-chunk rules)."""
    halo = max(
        [LOCAL_HALO, config["metrics"]["boundary_halo"]] + [chain_halo(c) for c in CHAINS.values()]
    )
    slice_pixels = max(math.prod(BATCH_PLANS[s].shape[1:]) for s in samples)
    image_pixels = max(math.prod(BATCH_PLANS[s].shape) for s in samples)
    megabytes = (
        500
        + 64 * (TILE + 2 * halo) ** 2 / 2**20
        + (8 * slice_pixels / 2**20 if POSTPROCESS else 0)
        + 12 * config["overlay"]["max_pixels"] / 2**20
        # the image (up to 4 bytes a pixel) and a mask, shared by its methods' steps (SharedReads)
        + (min(5 * image_pixels, SHARED_READS_BYTES) / 2**20 if len(METHODS) > 1 else 0)
        + min(image_pixels / 3, LEVELS_IN_MEMORY_BYTES) / 2**20  # a mask's pyramid levels
    )
    return lambda wildcards, attempt: int(math.ceil(megabytes * attempt))


def batch_runtime(samples, seconds_per_megapixel):
    """A batch job's `runtime` in minutes: as runtime(), for the pixels of all its samples."""
    megapixels = sum(math.prod(BATCH_PLANS[s].shape) for s in samples) / 1e6
    seconds = 3 * (30 + seconds_per_megapixel * megapixels)
    return lambda wildcards, attempt: int(max(1, math.ceil(seconds / 60)) * attempt)
