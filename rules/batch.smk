# batch: the samples that fit one chunk, grouped into batches (rules/common.smk, BATCHES), each
# processed by a few jobs that run the per-chunk rules' steps for all its samples, chains and
# methods in one process (scripts/run_batch.py).  Steps are split where reruns should stop: adding a
# method redoes `segment` (and what follows), not `denoise`; changing the overlay colours redoes
# `validate` (the confusion maps' colour table) and `plot`, not the masks.  Each job lists what it
# wrote in results/batches/<batch>/<step>.tsv, which the next ones depend on.


def _rule_name(*parts):
    return "_".join(re.sub(r"\W", "_", part) for part in parts)


for _batch, _samples in BATCHES.items():
    _jobs = [("plan", plan_calls(_samples), [], 0.02)]
    _jobs += [(f"denoise.{p}", denoise_calls(_samples, p), ["plan"], 0.05) for p in PREPS]
    _jobs += [
        ("segment", segment_calls(_samples), ["plan"], 0.1 * len(METHODS)),
        ("validate", validate_calls(_samples), ["plan", "segment"], 0.4 * len(METHODS)),
        ("plot", plot_calls(_samples), ["plan", "segment", "validate"], 0.1 * len(METHODS)),
    ]
    for _step, _calls, _upstream, _seconds in _jobs:
        _inputs, _outputs, _calls_file = batch_job(_batch, _step, _calls, _upstream)

        rule:
            name:
                _rule_name(_step.split(".")[0], _batch, *_step.split(".")[1:])
            input:
                _inputs,
                calls=_calls_file,
                checked=[] if _step == "plan" else ancient(CHECKED),
            output:
                _outputs,
                manifest=batch_manifest(_batch, _step),
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
