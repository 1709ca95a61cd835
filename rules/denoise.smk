# denoise: invert and filter each chunk (tile by tile, with halos) and histogram it.


rule denoise:
    """Invert and filter one chunk tile by tile with halos, and histogram it for the global thresholds."""
    input:
        image=image_of,
        plan=PATHS["plan"],
        checked=ancient(CHECKED),
        roi=roi_of,
    output:
        denoised=intermediate(PATHS["denoised_chunk"]),
        histogram=intermediate(PATHS["histogram_chunk"]),
    log:
        "logs/denoise/{sample}/{prep}/{chunk}.log",
    benchmark:
        "benchmarks/denoise/{sample}/{prep}/{chunk}.tsv"
    wildcard_constraints:
        prep=_alternatives(PREPS),
    conda:
        "../envs/filters.yaml"
    threads: 1
    resources:
        mem_mb=memory(300, 32, halo=max(chain_halo(chain) for chain in CHAINS.values())),
        runtime=runtime(0.05),
    params:
        **STEP_PARAMS["denoise"],
        chain=lambda wildcards: CHAINS[wildcards.prep],
    script:
        "../scripts/denoise.py"


rule stitch_denoised:
    """Stitch a sample's denoised chunks into one tiled OME-TIFF with a pyramid."""
    input:
        plan=PATHS["plan"],
        chunks=per_chunk(PATHS["denoised_chunk"]),
    output:
        PATHS["denoised"],
    log:
        "logs/stitch_denoised/{sample}/{prep}.log",
    benchmark:
        "benchmarks/stitch_denoised/{sample}/{prep}.tsv"
    wildcard_constraints:
        prep=_alternatives(PREPS),
    conda:
        "../envs/imaging.yaml"
    threads: 1
    resources:
        mem_mb=memory(300, 24),
        runtime=runtime(0.02, "sample"),
    params:
        reduce="mean",
        traced_only=False,
        name=lambda wildcards: image_name("denoised", wildcards.sample, wildcards.prep),
        pixel_size=lambda wildcards: pixel_size_of(wildcards.sample),
    script:
        "../scripts/stitch.py"
