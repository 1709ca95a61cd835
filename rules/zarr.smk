# zarr: with `outputs.format: ome-zarr`, masks and confusion maps as OME-Zarr images, written by the
# chunk jobs themselves (segment, import_prediction, confusion) into a folder that `create_zarr`
# prepares and `finish_zarr` completes and renames: no stitching copy (see scripts/segval/ngff.py).


def zarr_chunks(wildcards):
    """The chunk files whose jobs write into the image: every mask chunk, or the traced chunks'
    confusion maps."""
    if wildcards.kind == "masks":
        return per_chunk("results/chunks/{sample}/{prep}.{method}/mask/{chunk}.tif")(wildcards)
    return per_chunk("results/chunks/{sample}/{prep}.{method}/confusion/{chunk}.tif", traced=True)(wildcards)


rule create_zarr:
    wildcard_constraints:
        kind="masks|confusion",
    input:
        plan="results/tiles/{sample}.json",
    output:
        temp(directory("results/chunks/{sample}/{prep}.{method}/{kind}.ome.zarr")),
    params:
        pixel_size=lambda wildcards: pixel_size_of(wildcards.sample),
        name=lambda wildcards: (
            f"{wildcards.sample} mask ({wildcards.prep}, {wildcards.method})"
            if wildcards.kind == "masks"
            else f"{wildcards.sample} confusion map 0 TN 1 FP 2 FN 3 TP ({wildcards.prep}, {wildcards.method})"
        ),
    log:
        "logs/create_zarr/{sample}/{prep}.{method}.{kind}.log",
    benchmark:
        "benchmarks/create_zarr/{sample}/{prep}.{method}.{kind}.tsv"
    threads: 1
    resources:
        mem_mb=memory(300),
        runtime=runtime(0),
    conda:
        "../envs/zarr.yaml"
    script:
        "../scripts/create_zarr.py"


rule finish_zarr:
    wildcard_constraints:
        kind="masks|confusion",
    input:
        building="results/chunks/{sample}/{prep}.{method}/{kind}.ome.zarr",
        chunks=zarr_chunks,
    output:
        directory("results/{kind}/{sample}/{prep}.{method}.ome.zarr"),
    log:
        "logs/finish_zarr/{sample}/{prep}.{method}.{kind}.log",
    benchmark:
        "benchmarks/finish_zarr/{sample}/{prep}.{method}.{kind}.tsv"
    threads: 1
    resources:
        mem_mb=memory(300),
        runtime=runtime(0),
    conda:
        "../envs/zarr.yaml"
    script:
        "../scripts/finish_zarr.py"
