# zarr: with `outputs.format: ome-zarr`, masks and confusion maps as OME-Zarr images, written by the
# chunk jobs themselves (segment, import_prediction, confusion) into a folder that `create_zarr`
# prepares and `finish_zarr` completes and renames: no stitching copy (see scripts/segval/ngff.py).


rule create_zarr:
    """Prepare the OME-Zarr arrays that the chunk jobs write their masks into."""
    input:
        plan=PATHS["plan"],
    output:
        temp(directory(PATHS["zarr_building"])),
    log:
        "logs/create_zarr/{sample}/{prep}.{method}.{kind}.log",
    benchmark:
        "benchmarks/create_zarr/{sample}/{prep}.{method}.{kind}.tsv"
    wildcard_constraints:
        kind="masks|confusion",
    conda:
        "../envs/zarr.yaml"
    threads: 1
    resources:
        mem_mb=memory(300),
        runtime=runtime(0),
    params:
        pixel_size=lambda wildcards: pixel_size_of(wildcards.sample),
        name=lambda wildcards: image_name(
            wildcards.kind, wildcards.sample, wildcards.prep, wildcards.method
        ),
    script:
        "../scripts/create_zarr.py"


rule finish_zarr:
    """Write the OME-Zarr multiscales metadata and move the image to its final name."""
    input:
        building=PATHS["zarr_building"],
        chunks=zarr_chunks,
    output:
        directory("results/{kind}/{sample}/{prep}.{method}.ome.zarr"),
    log:
        "logs/finish_zarr/{sample}/{prep}.{method}.{kind}.log",
    benchmark:
        "benchmarks/finish_zarr/{sample}/{prep}.{method}.{kind}.tsv"
    wildcard_constraints:
        kind="masks|confusion",
    conda:
        "../envs/zarr.yaml"
    threads: 1
    resources:
        mem_mb=memory(300),
        runtime=runtime(0),
    script:
        "../scripts/finish_zarr.py"
