# validate: confusion maps and counts against the ground truth, metrics, overlays, summary.


rule confusion:
    """Compare one chunk of every method's mask with the ground truth: confusion maps, counts,
    boundary distances."""
    input:
        plan=PATHS["plan"],
        masks=lambda wildcards: [
            path(
                "mask_chunk",
                sample=wildcards.sample,
                prep=wildcards.prep,
                method=method,
                chunk=chunk,
            )
            for method in METHODS
            for chunk in same_slice_chunks(wildcards)
        ],
        truth=lambda wildcards: SAMPLES[wildcards.sample]["ground_truth"],
        roi=roi_of,
        zarr=zarr_building("confusion"),  # OME-Zarr output: written into it tile row by tile row
    output:
        confusion=[intermediate(f) for f in each_method(PATHS["confusion_chunk"])],
        counts=[intermediate(f) for f in each_method(PATHS["counts_chunk"])],
        boundary=[intermediate(f) for f in each_method(PATHS["boundary_chunk"])],
    log:
        "logs/confusion/{sample}/{prep}/{chunk}.log",
    benchmark:
        "benchmarks/confusion/{sample}/{prep}/{chunk}.tsv"
    wildcard_constraints:
        prep=_alternatives(PREPS),
    conda:
        "../envs/filters.yaml"
    threads: 1
    resources:
        mem_mb=memory(
            300, 48, halo=config["metrics"]["boundary_halo"], shared_reads=True, levels=True
        ),
        runtime=runtime((0.4 if config["metrics"]["boundary"] else 0.05) * len(METHODS)),
    params:
        **STEP_PARAMS["confusion"],
        **per_method_params(
            "confusion", masks="split", zarr="list", confusion="one", counts="one", boundary="one"
        ),
        mask_chunks=same_slice_chunks,
        spacing=lambda wildcards: pixel_size_of(wildcards.sample),
    script:
        "../scripts/each_method.py"


rule confusion_given:
    """Compare one chunk of a given mask (another segmenter's, another expert's) with the ground truth: confusion map, counts, boundary distances."""
    input:
        plan=PATHS["plan"],
        masks=lambda wildcards: [
            f"results/chunks/{wildcards.sample}/{wildcards.prep}.{wildcards.method}/mask/{chunk}.tif"
            for chunk in same_slice_chunks(wildcards)
        ],
        truth=lambda wildcards: SAMPLES[wildcards.sample]["ground_truth"],
        roi=roi_of,
        zarr=zarr_building("confusion", given=True),  # OME-Zarr output: written into it tile row by tile row
    output:
        confusion=intermediate(PATHS["confusion_chunk"]),
        counts=intermediate(PATHS["counts_chunk"]),
        boundary=intermediate(PATHS["boundary_chunk"]),
    log:
        "logs/confusion_given/{sample}/{prep}.{method}/{chunk}.log",
    benchmark:
        "benchmarks/confusion_given/{sample}/{prep}.{method}/{chunk}.tsv"
    wildcard_constraints:
        prep=GIVEN,
    conda:
        "../envs/filters.yaml"
    threads: 1
    resources:
        mem_mb=memory(300, 48, halo=config["metrics"]["boundary_halo"], levels=True),
        runtime=runtime(0.4 if config["metrics"]["boundary"] else 0.05),
    params:
        **STEP_PARAMS["confusion"],
        mask_chunks=same_slice_chunks,
        spacing=lambda wildcards: pixel_size_of(wildcards.sample),
    script:
        "../scripts/confusion.py"


rule stitch_confusion:
    """Stitch a method's confusion chunks into one OME-TIFF with a colour table."""
    input:
        plan=PATHS["plan"],
        chunks=per_chunk(PATHS["confusion_chunk"], traced=True),
    output:
        "results/confusion/{sample}/{prep}.{method}.ome.tif",
    log:
        "logs/stitch_confusion/{sample}/{prep}.{method}.log",
    benchmark:
        "benchmarks/stitch_confusion/{sample}/{prep}.{method}.tsv"
    conda:
        "../envs/imaging.yaml"
    threads: 1
    resources:
        mem_mb=memory(300, 24),
        runtime=runtime(0.02, "sample"),
    params:
        reduce="confusion",
        traced_only=True,
        name=lambda wildcards: image_name(
            "confusion", wildcards.sample, wildcards.prep, wildcards.method
        ),
        pixel_size=lambda wildcards: pixel_size_of(wildcards.sample),
        colours=config["overlay"]["colours"],
    script:
        "../scripts/stitch.py"


rule metrics:
    """Sum a method's chunk counts into per-image, per-slice and per-tile scores."""
    input:
        threshold=lambda wildcards: (
            [] if wildcards.prep == GIVEN else ["results/thresholds/{sample}/{prep}.{method}.json"]
        ),
        counts=lambda wildcards: (
            per_chunk(PATHS["counts_chunk"], traced=True)(wildcards)
            if has_truth(wildcards.sample)
            else []
        ),
        boundary=lambda wildcards: (
            per_chunk(PATHS["boundary_chunk"], traced=True)(wildcards)
            if has_truth(wildcards.sample)
            else []
        ),
    output:
        metrics=report(
            PATHS["metrics"],
            caption="../resources/report/metrics.rst",
            category="Metrics per image and slice",
            subcategory="{sample}",
            labels={"sample": "{sample}", "preprocessing": "{prep}", "method": "{method}"},
        ),
        tiles=PATHS["tile_metrics"],
    log:
        "logs/metrics/{sample}/{prep}.{method}.log",
    benchmark:
        "benchmarks/metrics/{sample}/{prep}.{method}.tsv"
    conda:
        "../envs/metrics.yaml"
    threads: 1
    resources:
        mem_mb=memory(300),
        runtime=runtime(0),
    params:
        **STEP_PARAMS["metrics"],
    script:
        "../scripts/metrics.py"


rule overlay:
    """Draw the TP/FP/FN/TN overlay preview of one sample and method."""
    input:
        plan=PATHS["plan"],
        image=image_of,
        labels=overlay_labels,
    output:
        # Not in the report: full-size overlays would make report.html grow with the images; the
        # report's sample pages (rule pages) show previews.
        PATHS["overlay"],
    log:
        "logs/overlay/{sample}/{prep}.{method}.log",
    benchmark:
        "benchmarks/overlay/{sample}/{prep}.{method}.tsv"
    conda:
        "../envs/imaging.yaml"
    threads: 1
    resources:
        mem_mb=memory(300 + 12 * config["overlay"]["max_pixels"] / 2**20, 16),
        runtime=runtime(0.05, "sample"),
    params:
        **STEP_PARAMS["overlay"],
        has_truth=lambda wildcards: has_truth(wildcards.sample),
    script:
        "../scripts/overlay.py"


rule overlay_tiles:
    """Write the full-resolution overlay of one sample and method as PNG tiles."""
    input:
        plan=PATHS["plan"],
        image=image_of,
        labels=overlay_labels,
    output:
        directory(PATHS["overlay_tiles"]),
    log:
        "logs/overlay_tiles/{sample}/{prep}.{method}.log",
    benchmark:
        "benchmarks/overlay_tiles/{sample}/{prep}.{method}.tsv"
    conda:
        "../envs/imaging.yaml"
    threads: 1
    resources:
        mem_mb=memory(300, 16),
        runtime=runtime(0.1, "sample"),
    params:
        **STEP_PARAMS["overlay_tiles"],
        has_truth=lambda wildcards: has_truth(wildcards.sample),
    script:
        "../scripts/overlay_tiles.py"


rule deepzoom:
    """Write the Deep Zoom pyramid of a large traced slice's confusion codes: the overlay's layer over
    the image's pyramid (rule deepzoom_image), errors visible at every level."""
    input:
        plan=PATHS["plan"],
        labels="results/confusion/{sample}/{prep}.{method}.ome.tif",
    output:
        # z<slice>.dzi and z<slice>_files/<level>/<column>_<row>.png per traced slice (Deep Zoom).
        directory(PATHS["zoom"]),
    log:
        "logs/deepzoom/{sample}/{prep}.{method}.log",
    benchmark:
        "benchmarks/deepzoom/{sample}/{prep}.{method}.tsv"
    conda:
        "../envs/imaging.yaml"
    threads: 1
    resources:
        mem_mb=memory(300 + 2 * config["overlay"]["max_pixels"] / 2**20, 4),
        runtime=runtime(0.02, "sample"),
    params:
        **STEP_PARAMS["deepzoom"],
    script:
        "../scripts/deepzoom.py"


rule deepzoom_image:
    """Write the Deep Zoom pyramid of a large sample's traced slices (grayscale): the layer every
    method's confusion pyramid is drawn over."""
    input:
        plan=PATHS["plan"],
        image=image_of,
    output:
        directory(PATHS["image_zoom"]),
    log:
        "logs/deepzoom_image/{sample}.log",
    benchmark:
        "benchmarks/deepzoom_image/{sample}.tsv"
    conda:
        "../envs/imaging.yaml"
    threads: 1
    resources:
        mem_mb=memory(300 + 16 * config["overlay"]["max_pixels"] / 2**20, 16),
        runtime=runtime(0.05, "sample"),
    params:
        **STEP_PARAMS["deepzoom_image"],
    script:
        "../scripts/deepzoom_image.py"
