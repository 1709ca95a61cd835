# batch: the samples that fit one chunk, grouped into batches (rules/common.smk, BATCHES), each
# processed by a few jobs that run the per-chunk rules' steps for all its samples, chains and
# methods in one process (scripts/run_batch.py, segval.batch).  Steps are split where reruns should
# stop: adding a method redoes `segment` (and what follows), not `denoise`; changing the overlay
# colours redoes `validate` (the confusion maps' colour table) and `plot`, not the masks.  Each job
# lists what it wrote in results/batches/<batch>/<step>.tsv, which the next ones depend on.


def _rule_name(*parts):
    return "_".join(re.sub(r"\W", "_", part) for part in parts)


# What each job follows, and its seconds per megapixel and chain (runtime).
_DENOISE = [step for step in BATCH_STEPS if step.startswith("denoise.")]
_UPSTREAM = {
    "plan": ([], 0.02),
    "denoise": (["plan"], 0.05),
    "segment": (["plan", *_DENOISE], 0.1 * len(METHODS)),
    "validate": (["plan", "segment"], 0.4 * len(METHODS)),
    "plot": (["plan", *_DENOISE, "segment", "validate"], 0.1 * len(METHODS)),
}

for _batch, _samples in BATCHES.items():
    for _step in BATCH_STEPS:
        _job, _, _prep = _step.partition(".")
        _upstream, _seconds = _UPSTREAM[_job]
        # Denoised chunks that are not kept go with their manifest, once the jobs reading them ran.
        _temporary = _job == "denoise" and not config["outputs"]["keep_intermediates"]

        rule:
            name:
                _rule_name(_job, _batch, *([_prep] if _prep else []))
            input:
                batch_sample_files(_samples) if _job == "plan" else [],
                [batch_manifest(_batch, before) for before in _upstream],
                calls=batch_calls(_batch, _step),
                checked=[] if _job == "plan" else ancient(CHECKED),
            output:
                manifest=(temp if _temporary else str)(batch_manifest(_batch, _step)),
                written=batch_outputs(_batch, _step),
            log:
                f"logs/batch/{_batch}/{_step}.log",
            benchmark:
                f"benchmarks/batch/{_batch}/{_step}.tsv"
            conda:
                "../envs/batch.yaml"
            threads: 1
            resources:
                mem_mb=batch_memory(_samples),
                runtime=batch_runtime(_samples, _seconds * len(PREPS)),
            script:
                "../scripts/run_batch.py"
