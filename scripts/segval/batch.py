"""The steps of a batch job: what the per-chunk rules would run for each image of a batch, as calls.

Images that fit one chunk are processed in batches (rules/batch.smk): a few jobs per batch, each
running one stage's steps (``plan``, ``denoise``, ``segment``, ``validate``, ``plot``) for every
image, chain and method of the batch in one process (scripts/run_batch.py).  The workflow describes
a job by a small *context* (rules/common.smk, ``batch_context``): the output path table, the
parameters of the steps the job runs, its chains and methods, and one record per image (its files,
chunks and a few flags).  The job expands it here into its *calls*, each ``{"step", "input",
"output", "params", "wildcards"}`` as the per-chunk rule of that step would have them.

Building the calls in the job rather than when the workflow is parsed keeps the parse time of ten
thousand images to seconds: the context grows with the images, the calls with images x methods x
steps.  A context holds only what its job's calls depend on, so that the job is redone exactly when
its calls change: adding a method does not change a ``denoise`` job's context, and changing the
overlay colours does not change a ``segment`` job's.  Stdlib only: the Snakefile imports it.

Examples
--------
>>> context = {
...     "job": "denoise", "prep": "median3", "chain": [["median", 3]], "denoised": False,
...     "paths": {"plan": "results/plans/{sample}.json",
...               "denoised_chunk": "results/chunks/{sample}/{prep}/denoised/{chunk}.tif",
...               "histogram_chunk": "results/chunks/{sample}/{prep}/histograms/{chunk}.npz"},
...     "params": {"denoise": {"invert": True}},
...     "samples": {"a": {"image": "a.tif", "roi": "", "chunks": ["c0000"]}},
... }
>>> [call] = job_calls(context)
>>> call["step"], call["output"]["denoised"], call["params"]
('denoise', 'results/chunks/a/median3/denoised/c0000.tif', {'invert': True, 'chain': [['median', 3]]})
>>> handed_on(context, call["output"]["histogram"])
True
"""

import re

from segval.spec import GIVEN

#: Per-chunk files a batch job hands to the next ones (the denoised chunks and their histograms);
#: its other per-chunk files are scratch, deleted when it ends.
HANDED_ON = ("denoised_chunk", "histogram_chunk")

#: The jobs of a batch, in order: the steps each runs (its context holds their parameters) and the
#: per-image fields it reads.
JOBS = {
    "plan": (("plan",), ("image", "truth", "roi", "predictions", "truth_slices")),
    "denoise": (("denoise", "stitch"), ("image", "roi", "chunks", "pixel_size")),
    "segment": (
        ("threshold", "segment", "import_prediction", "create_zarr", "finish_zarr", "stitch"),
        ("roi", "chunks", "pixel_size", "predictions"),
    ),
    "validate": (
        ("confusion", "metrics", "create_zarr", "finish_zarr", "stitch"),
        ("truth", "roi", "chunks", "pixel_size", "predictions"),
    ),
    "plot": (
        (
            "plot_histogram",
            "plot_methods",
            "overlay",
            "overlay_tiles",
            "plot_tiles",
            "deepzoom_image",
            "deepzoom",
        ),
        ("image", "truth", "chunks", "predictions", "tiled", "zoomed"),
    ),
}


def image_name(kind, sample, prep, method=None):
    """The name written into an output image's metadata (what a viewer shows).

    >>> image_name("masks", "tile_1", "median3", "otsu")
    'tile_1 mask (median3, otsu)'
    """
    if kind == "denoised":
        return f"{sample} denoised ({prep})"
    if kind == "masks":
        return f"{sample} mask ({prep}, {method})"
    return f"{sample} confusion map 0 TN 1 FP 2 FN 3 TP ({prep}, {method})"


def rescalable(chain):
    """Whether a chain's thresholds map back to the original scale: it only inverts and takes
    medians (order statistics commute with inversion); background corrections change the scale.

    >>> rescalable([("median", 3)]), rescalable([("bgmedian", 25), ("median", 3)])
    (True, False)
    """
    return all(step == "median" for step, _ in chain)


def job_calls(context):
    """The calls of the batch job that ``context`` describes, in the order they run."""
    calls = _BUILDERS[context["job"]](_Batch(context))
    steps = JOBS[context["job"]][0]
    unlisted = {call["step"] for call in calls} - set(steps)
    if unlisted:  # JOBS must say which steps' parameters a job's context needs
        raise ValueError(f"{context['job']} job: steps {sorted(unlisted)} missing from JOBS")
    return calls


def handed_on(context, file):
    """Whether a per-chunk file is handed to the next jobs (else it is scratch)."""
    return any(_pattern(context["paths"][kind]).fullmatch(file) for kind in HANDED_ON)


def written_by(manifest):
    """The file beside a batch job's manifest that names the context the job ran with.

    >>> written_by("results/batches/b0001/segment.tsv")
    'results/batches/b0001/segment.context'
    """
    return re.sub(r"\.tsv$", ".context", manifest)


def handed_on_files(context):
    """Every file the batch's ``denoise`` jobs hand on (a ``plot`` context: all chains)."""
    return [
        context["paths"][kind].format(sample=sample, prep=prep, chunk=chunk)
        for sample, record in context["samples"].items()
        for prep in context["chains"]
        for chunk in record["chunks"]
        for kind in HANDED_ON
    ]


def files_of(named):
    """The paths of a call's inputs or outputs, lists flattened.

    >>> files_of({"plan": "p.json", "chunks": ["a", "b"]}), files_of(["m.tif"])
    (['p.json', 'a', 'b'], ['m.tif'])
    """
    values = named.values() if isinstance(named, dict) else [named]
    return [file for value in values for file in (value if isinstance(value, list) else [value])]


def scratch_files(context, calls):
    """(scratch, building) of a job's calls: the per-chunk files it writes and does not hand on
    (deleted when it ends), and the OME-Zarr images it builds (renamed when complete)."""
    building = {
        file for call in calls if call["step"] == "create_zarr" for file in files_of(call["output"])
    }
    scratch = {
        file
        for call in calls
        for file in files_of(call["output"])
        if file.startswith("results/chunks/") and not handed_on(context, file)
    }
    return scratch - building, building


def _pattern(template):
    return re.compile(
        re.escape(template)
        .replace(r"\{sample\}", "[^/]+")
        .replace(r"\{prep\}", "[^/]+")
        .replace(r"\{chunk\}", r"c\d+")
    )


class _Batch:
    """A context with the helpers the builders share."""

    def __init__(self, context):
        self.context = context
        self.samples = context["samples"]
        self.params = context.get("params", {})
        self.chains = context.get("chains", {})
        self.methods = context.get("methods", {})

    def path(self, kind, **names):
        return self.context["paths"][kind].format(**names)

    def call(self, step, input, output, params=None, **wildcards):
        return {
            "step": step,
            "input": input,
            "output": output,
            "params": {**self.params.get(step, {}), **(params or {})},
            "wildcards": wildcards,
        }

    def listed(self, sample, field):
        value = self.samples[sample].get(field, "")
        return [value] if value else []

    def has_truth(self, sample):
        return bool(self.samples[sample].get("truth"))

    def segmentations(self, sample):
        """(prep, method): every chain x threshold method, then every given mask."""
        return [(p, m) for p in self.chains for m in self.methods] + [
            (GIVEN, label) for label in self.samples[sample].get("predictions", {})
        ]

    def stitch(self, sample, kind, prep, method, chunk_kind, reduce, traced_only=False):
        names = dict(sample=sample, prep=prep) | ({"method": method} if method else {})
        target = self.path(kind, **names)
        if kind != "denoised":  # stitching writes OME-TIFF (OME-Zarr is written by the chunk steps)
            target = re.sub(r"\.ome\.zarr$", ".ome.tif", target)
        params = dict(
            reduce=reduce,
            traced_only=traced_only,
            name=image_name(kind, sample, prep, method),
            pixel_size=self.samples[sample]["pixel_size"],
        )
        if kind == "confusion":
            params["colours"] = self.context["colours"]
        chunks = self.samples[sample]["chunks"]
        return self.call(
            "stitch",
            dict(
                plan=self.path("plan", sample=sample),
                chunks=[self.path(chunk_kind, **names, chunk=c) for c in chunks],
            ),
            [target],
            params,
            **names,
        )

    def zarr(self, sample, prep, method, kind, chunk_kind):
        """With OME-Zarr output: (the call creating the image the chunk steps write into, the call
        completing it, its folder while being built); else (None, None, None)."""
        if not self.context["zarr"]:
            return None, None, None
        names = dict(sample=sample, prep=prep, method=method)
        building = self.path("zarr_building", **names, kind=kind)
        create = self.call(
            "create_zarr",
            dict(plan=self.path("plan", sample=sample)),
            [building],
            dict(
                pixel_size=self.samples[sample]["pixel_size"],
                name=image_name(kind, sample, prep, method),
            ),
            **names,
            kind=kind,
        )
        finish = self.call(
            "finish_zarr",
            dict(
                building=building,
                chunks=[
                    self.path(chunk_kind, **names, chunk=c) for c in self.samples[sample]["chunks"]
                ],
            ),
            [self.path(kind, **names)],
            **names,
            kind=kind,
        )
        return create, finish, building


def _plan_calls(batch):
    """Check each sample's files and write its plan."""
    calls = []
    for sample, record in batch.samples.items():
        given = record.get("predictions", {})
        calls.append(
            batch.call(
                "plan",
                dict(
                    image=record["image"],
                    truth=batch.listed(sample, "truth"),
                    roi=batch.listed(sample, "roi"),
                    predictions=list(given.values()),
                ),
                [batch.path("plan", sample=sample)],
                dict(truth_slices=record.get("truth_slices", ""), prediction_labels=list(given)),
                sample=sample,
            )
        )
    return calls


def _denoise_calls(batch):
    """Denoise and histogram each sample with the job's chain (and stitch it, if asked for)."""
    calls, prep = [], batch.context["prep"]
    for sample, record in batch.samples.items():
        names = dict(sample=sample, prep=prep)
        for chunk in record["chunks"]:
            calls.append(
                batch.call(
                    "denoise",
                    dict(
                        image=record["image"],
                        plan=batch.path("plan", sample=sample),
                        roi=batch.listed(sample, "roi"),
                    ),
                    dict(
                        denoised=batch.path("denoised_chunk", **names, chunk=chunk),
                        histogram=batch.path("histogram_chunk", **names, chunk=chunk),
                    ),
                    dict(chain=batch.context["chain"]),
                    **names,
                    chunk=chunk,
                )
            )
        if batch.context["denoised"]:
            calls.append(batch.stitch(sample, "denoised", prep, None, "denoised_chunk", "mean"))
    return calls


def _segment_calls(batch):
    """Every chain x method's thresholds and mask of each sample, and its given masks."""
    calls = []
    for sample, record in batch.samples.items():
        chunks = record["chunks"]
        plan = batch.path("plan", sample=sample)
        roi = batch.listed(sample, "roi")
        for prep, method in batch.segmentations(sample):
            names = dict(sample=sample, prep=prep, method=method)
            create, finish, building = batch.zarr(sample, prep, method, "masks", "mask_chunk")
            if prep != GIVEN:
                denoised = [
                    batch.path("denoised_chunk", sample=sample, prep=prep, chunk=c) for c in chunks
                ]
                histograms = [
                    batch.path("histogram_chunk", sample=sample, prep=prep, chunk=c) for c in chunks
                ]
                calls.append(
                    batch.call(
                        "threshold",
                        # the denoised chunks are read only for float images (a second pass)
                        dict(plan=plan, histograms=histograms, denoised=denoised),
                        [batch.path("threshold", **names)],
                        dict(method=batch.methods[method]),
                        **names,
                    )
                )
            calls += [create] if create else []
            for chunk in chunks:
                inputs = dict(plan=plan, roi=roi, zarr=[building] if building else [])
                mask = [batch.path("mask_chunk", **names, chunk=chunk)]
                if prep == GIVEN:
                    inputs["prediction"] = record["predictions"][method]
                    call = batch.call("import_prediction", inputs, mask, **names, chunk=chunk)
                else:
                    inputs.update(denoised=denoised, threshold=batch.path("threshold", **names))
                    params = dict(denoised_chunks=chunks)
                    call = batch.call("segment", inputs, mask, params, **names, chunk=chunk)
                calls.append(call)
            calls.append(finish or batch.stitch(sample, "masks", prep, method, "mask_chunk", "max"))
    return calls


def _validate_calls(batch):
    """Confusion maps, counts and metrics of every mask of each sample."""
    calls = []
    for sample, record in batch.samples.items():
        chunks = record["chunks"] if batch.has_truth(sample) else []
        plan = batch.path("plan", sample=sample)
        for prep, method in batch.segmentations(sample):
            names = dict(sample=sample, prep=prep, method=method)
            create, finish, building = batch.zarr(
                sample, prep, method, "confusion", "confusion_chunk"
            )
            if chunks and create:
                calls.append(create)
            for chunk in chunks:
                calls.append(
                    batch.call(
                        "confusion",
                        dict(
                            plan=plan,
                            # one chunk: the sample's mask is its chunk (segment's scratch files)
                            masks=[batch.path("masks", **names)],
                            truth=record["truth"],
                            roi=batch.listed(sample, "roi"),
                            zarr=[building] if building else [],
                        ),
                        dict(
                            confusion=batch.path("confusion_chunk", **names, chunk=chunk),
                            counts=batch.path("counts_chunk", **names, chunk=chunk),
                            boundary=batch.path("boundary_chunk", **names, chunk=chunk),
                        ),
                        dict(mask_chunks=chunks, spacing=record["pixel_size"]),
                        **names,
                        chunk=chunk,
                    )
                )
            if chunks:
                calls.append(
                    finish
                    or batch.stitch(
                        sample,
                        "confusion",
                        prep,
                        method,
                        "confusion_chunk",
                        "confusion",
                        traced_only=True,
                    )
                )
            calls.append(
                batch.call(
                    "metrics",
                    dict(
                        threshold=[] if prep == GIVEN else [batch.path("threshold", **names)],
                        counts=[batch.path("counts_chunk", **names, chunk=c) for c in chunks],
                        boundary=[batch.path("boundary_chunk", **names, chunk=c) for c in chunks],
                    ),
                    dict(
                        metrics=batch.path("metrics", **names),
                        tiles=batch.path("tile_metrics", **names),
                    ),
                    **names,
                )
            )
    return calls


def _plot_calls(batch):
    """Each sample's histograms, side-by-side masks, overlays, tile maps and zoomable overlays."""
    calls = []
    for sample, record in batch.samples.items():
        plan, image = batch.path("plan", sample=sample), record["image"]
        truth = batch.has_truth(sample)
        segmentations = batch.segmentations(sample)
        for prep, chain in batch.chains.items():
            names = dict(sample=sample, prep=prep)
            thresholds = [batch.path("threshold", **names, method=m) for m in batch.methods]
            montage = [(p, m) for p, m in segmentations if p in (prep, GIVEN)]
            calls.append(
                batch.call(
                    "plot_histogram",
                    dict(
                        histograms=[
                            batch.path("histogram_chunk", **names, chunk=c)
                            for c in record["chunks"]
                        ],
                        thresholds=thresholds,
                        plan=plan,
                    ),
                    [batch.path("histogram_plot", **names)],
                    dict(rescalable=rescalable(chain)),
                    **names,
                )
            )
            calls.append(
                batch.call(
                    "plot_methods",
                    dict(
                        plan=plan,
                        image=image,
                        masks=[
                            batch.path("masks", sample=sample, prep=p, method=m) for p, m in montage
                        ],
                        thresholds=thresholds,
                        metrics=(
                            [
                                batch.path("metrics", sample=sample, prep=p, method=m)
                                for p, m in montage
                            ]
                            if truth
                            else []
                        ),
                    ),
                    [batch.path("methods_plot", **names)],
                    dict(methods=[m for _, m in montage]),
                    **names,
                )
            )
        for prep, method in segmentations:
            names = dict(sample=sample, prep=prep, method=method)
            labels = batch.path("confusion" if truth else "masks", **names)
            shown = dict(plan=plan, image=image, labels=labels)
            overlays = ["overlay"] + (
                ["overlay_tiles"] if batch.context["full_resolution_tiles"] else []
            )
            for step in overlays:  # the preview, and on request the full-resolution tiles
                calls.append(
                    batch.call(
                        step, shown, [batch.path(step, **names)], dict(has_truth=truth), **names
                    )
                )
            if truth and record["tiled"]:
                calls.append(
                    batch.call(
                        "plot_tiles",
                        dict(tiles=batch.path("tile_metrics", **names)),
                        [batch.path("tile_map", **names)],
                        **names,
                    )
                )
            if record["zoomed"]:
                calls.append(
                    batch.call(
                        "deepzoom",
                        dict(plan=plan, labels=labels),
                        [batch.path("zoom", **names)],
                        **names,
                    )
                )
        if record["zoomed"]:  # the layer under every method's zoomable overlay
            calls.append(
                batch.call(
                    "deepzoom_image",
                    dict(plan=plan, image=image),
                    [batch.path("image_zoom", sample=sample)],
                    sample=sample,
                )
            )
    return calls


_BUILDERS = {
    "plan": _plan_calls,
    "denoise": _denoise_calls,
    "segment": _segment_calls,
    "validate": _validate_calls,
    "plot": _plot_calls,
}
