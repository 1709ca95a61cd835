# batch: the samples that fit one chunk, grouped into batches (rules/common.smk, BATCHES), each
# processed by a few jobs that run the per-chunk rules' steps for all its samples, chains and
# methods in one process (scripts/run_batch.py).  Steps are split where reruns should stop: adding a
# method redoes `segment` (and what follows), not `denoise`; changing the overlay colours redoes
# `validate` (the confusion maps' colour table) and `plot`, not the masks.


def _rule_name(*parts):
    return "_".join(re.sub(r"\W", "_", part) for part in parts)


for _batch, _samples in BATCHES.items():
    _inputs, _outputs = batch_files(plan_calls(_samples))

    rule:
        name:
            _rule_name("plan", _batch)
        input:
            _inputs,
        output:
            _outputs,
        log:
            f"logs/batch/{_batch}/plan.log",
        benchmark:
            f"benchmarks/batch/{_batch}/plan.tsv"
        conda:
            "../envs/batch.yaml"
        threads: 1
        resources:
            mem_mb=batch_memory(_samples),
            runtime=batch_runtime(_samples, 0.02),
        params:
            calls=plan_calls(_samples),
        script:
            "../scripts/run_batch.py"

    for _prep in PREPS:
        _inputs, _outputs = batch_files(denoise_calls(_samples, _prep))

        rule:
            name:
                _rule_name("denoise", _batch, _prep)
            input:
                _inputs,
                checked=ancient(CHECKED),
            output:
                _outputs,
            log:
                f"logs/batch/{_batch}/denoise.{_prep}.log",
            benchmark:
                f"benchmarks/batch/{_batch}/denoise.{_prep}.tsv"
            conda:
                "../envs/batch.yaml"
            threads: 1
            resources:
                mem_mb=batch_memory(_samples),
                runtime=batch_runtime(_samples, 0.05),
            params:
                calls=denoise_calls(_samples, _prep),
            script:
                "../scripts/run_batch.py"

    for _step, _seconds in (("segment", 0.1), ("validate", 0.4), ("plot", 0.1)):
        _calls = BATCH_STEPS[_step](_samples)
        _inputs, _outputs = batch_files(_calls)

        rule:
            name:
                _rule_name(_step, _batch)
            input:
                _inputs,
                checked=ancient(CHECKED),
            output:
                _outputs,
            log:
                f"logs/batch/{_batch}/{_step}.log",
            benchmark:
                f"benchmarks/batch/{_batch}/{_step}.tsv"
            conda:
                "../envs/batch.yaml"
            threads: 1
            resources:
                mem_mb=batch_memory(_samples),
                runtime=batch_runtime(_samples, _seconds * len(PREPS) * len(METHODS)),
            params:
                calls=_calls,
            script:
                "../scripts/run_batch.py"
