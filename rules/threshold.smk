# threshold: one global threshold per method from the summed chunk histograms, then masks.


rule threshold:
    """Compute every method's thresholds (image, slice or tile) from the summed chunk histograms."""
    input:
        unpack(threshold_inputs),
    output:
        thresholds=each_method(PATHS["threshold"]),
    log:
        "logs/threshold/{sample}/{prep}.log",
    benchmark:
        "benchmarks/threshold/{sample}/{prep}.tsv"
    wildcard_constraints:
        prep=_alternatives(PREPS),
    conda:
        "../envs/filters.yaml"
    threads: 1
    resources:
        mem_mb=memory(400),
        runtime=runtime(0.02 * len(METHODS), "sample"),
    params:
        **STEP_PARAMS["threshold"],
        **per_method_params("threshold", thresholds="one"),
        method=[METHOD_SPECS[method] for method in METHODS],
        method_params=["method"],
    script:
        "../scripts/each_method.py"


rule segment:
    """Threshold one denoised chunk into every method's 0/255 mask (local methods read halos across
    chunks)."""
    input:
        plan=PATHS["plan"],
        denoised=lambda wildcards: [
            f"results/chunks/{wildcards.sample}/{wildcards.prep}/denoised/{chunk}.tif"
            for chunk in same_slice_chunks(wildcards)
        ],
        threshold=each_method(PATHS["threshold"]),
        roi=roi_of,
        zarr=zarr_building("masks"),  # OME-Zarr output: written into it tile row by tile row
    output:
        masks=[intermediate(mask) for mask in each_method(PATHS["mask_chunk"])],
    log:
        "logs/segment/{sample}/{prep}/{chunk}.log",
    benchmark:
        "benchmarks/segment/{sample}/{prep}/{chunk}.tsv"
    wildcard_constraints:
        prep=_alternatives(PREPS),
    conda:
        "../envs/filters.yaml"
    threads: 1
    resources:
        mem_mb=memory(
            300,
            64,
            halo=LOCAL_HALO,
            bytes_per_slice_pixel=8 if POSTPROCESS else 0,
            shared_reads=True,
            levels=True,
        ),
        runtime=runtime(0.05 * len(METHODS)),
    params:
        **STEP_PARAMS["segment"],
        **per_method_params("segment", threshold="one", zarr="list", masks="one"),
        denoised_chunks=same_slice_chunks,
    script:
        "../scripts/each_method.py"


rule import_prediction:
    """Cut another segmenter's (or expert's) mask into the sample's chunks, as 0/255 masks."""
    input:
        plan=PATHS["plan"],
        prediction=lambda wildcards: predictions_of(wildcards.sample)[wildcards.method],
        checked=ancient(CHECKED),
        roi=roi_of,
        zarr=zarr_building("masks", given=True),  # OME-Zarr output: written into it tile row by tile row
    output:
        intermediate(PATHS["mask_chunk"]),
    log:
        "logs/import_prediction/{sample}/{prep}.{method}/{chunk}.log",
    benchmark:
        "benchmarks/import_prediction/{sample}/{prep}.{method}/{chunk}.tsv"
    wildcard_constraints:
        prep=GIVEN,
    conda:
        "../envs/imaging.yaml"
    threads: 1
    resources:
        mem_mb=memory(300, 16, levels=True),
        runtime=runtime(0.1),
    params:
        **STEP_PARAMS["import_prediction"],
    script:
        "../scripts/import_prediction.py"


rule stitch_mask:
    """Stitch a method's mask chunks into one compressed, tiled OME-TIFF with a pyramid."""
    input:
        plan=PATHS["plan"],
        chunks=per_chunk(PATHS["mask_chunk"]),
    output:
        "results/masks/{sample}/{prep}.{method}.ome.tif",
    log:
        "logs/stitch_mask/{sample}/{prep}.{method}.log",
    benchmark:
        "benchmarks/stitch_mask/{sample}/{prep}.{method}.tsv"
    conda:
        "../envs/imaging.yaml"
    threads: 1
    resources:
        mem_mb=memory(300, 24),
        runtime=runtime(0.02, "sample"),
    params:
        reduce="max",
        traced_only=False,
        name=lambda wildcards: image_name(
            "masks", wildcards.sample, wildcards.prep, wildcards.method
        ),
        pixel_size=lambda wildcards: pixel_size_of(wildcards.sample),
    script:
        "../scripts/stitch.py"
