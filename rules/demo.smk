# Embedded demo data: deterministic synthetic KESM-like phantoms with exact ground truth.


rule make_phantom:
    """Generate a deterministic KESM-like phantom and its exact ground truth (the demo's data)."""
    output:
        image=PHANTOM_IMAGE,
        truth=PHANTOM_TRUTH,
    log:
        "logs/make_phantom/{name}.log",
    benchmark:
        "benchmarks/make_phantom/{name}.tsv"
    conda:
        "../envs/imaging.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: int(
            (300 + 4 * math.prod(PHANTOMS[wildcards.name]["shape"][-2:]) / 2**20) * attempt
        ),
        runtime=runtime(0.1),
    params:
        shape=lambda wildcards: PHANTOMS[wildcards.name]["shape"],
        seed=lambda wildcards: PHANTOMS[wildcards.name]["seed"],
        dtype=lambda wildcards: PHANTOMS[wildcards.name]["dtype"],
    script:
        "../scripts/make_phantom.py"
