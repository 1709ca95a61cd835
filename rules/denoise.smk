# denoise: invert and filter each chunk (tile by tile, with halos) and histogram it.


rule denoise:
    """Invert and filter one chunk tile by tile with halos, and histogram it for the global thresholds."""
    input:
        image=image_of,
        plan="results/plans/{sample}.json",
        checked=ancient(CHECKED),
        roi=roi_of,
    output:
        denoised=intermediate("results/chunks/{sample}/{prep}/denoised/{chunk}.tif"),
        histogram=intermediate("results/chunks/{sample}/{prep}/histograms/{chunk}.npz"),
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
        chain=lambda wildcards: CHAINS[wildcards.prep],
        invert=config["invert"],
        channel=config["channel"],
        per_tile_histograms=config["threshold_scope"] == "tile",
    script:
        "../scripts/denoise.py"


rule stitch_denoised:
    """Stitch a sample's denoised chunks into one tiled OME-TIFF with a pyramid."""
    input:
        plan="results/plans/{sample}.json",
        chunks=per_chunk("results/chunks/{sample}/{prep}/denoised/{chunk}.tif"),
    output:
        "results/denoised/{sample}/{prep}.ome.tif",
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
        name=lambda wildcards: f"{wildcards.sample} denoised ({wildcards.prep})",
        pixel_size=lambda wildcards: pixel_size_of(wildcards.sample),
    script:
        "../scripts/stitch.py"
