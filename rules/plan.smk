# plan: check each sample's files and cut it into tiles and chunks (the manifest every job follows).


checkpoint plan:
    """Check a sample's files and cut it into tiles and chunks (the manifest every job follows)."""
    input:
        image=image_of,
        truth=truth_of,
        roi=roi_of,
        predictions=lambda wildcards: list(predictions_of(wildcards.sample).values()),
    output:
        PATHS["plan"],
    log:
        "logs/plan/{sample}.log",
    benchmark:
        "benchmarks/plan/{sample}.tsv"
    conda:
        "../envs/imaging.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: 1024 * attempt,
        runtime=runtime(0.02),  # chunk-sized: the plan cannot read its own output
    params:
        **STEP_PARAMS["plan"],
        truth_slices=lambda wildcards: SAMPLES[wildcards.sample].get("truth_slices", ""),
        prediction_labels=lambda wildcards: list(predictions_of(wildcards.sample)),
    script:
        "../scripts/plan.py"


# Every processing job waits for this: the plans of ALL samples, i.e. every sample's files checked,
# so that a bad file in the last sample stops the run before the first sample's processing starts.
# Jobs name it `ancient`: rewritten when a sample is added, it does not rerun the others' jobs.
rule checked:
    """Wait for every sample's plan, so no processing starts before all inputs are checked."""
    input:
        plans=all_plans(),
    output:
        CHECKED,
    log:
        "logs/checked.log",
    benchmark:
        "benchmarks/checked.tsv"
    conda:
        "../envs/tables.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: 300 * attempt,
        runtime=1,
    params:
        samples=list(SAMPLES),
        plans=[path("plan", sample=sample) for sample in SAMPLES],
    script:
        "../scripts/check_samples.py"
