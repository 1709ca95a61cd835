# aggregate: the summary table and the histogram plots, registered in the Snakemake report.


rule summary:
    input:
        [f"results/metrics/{sample}/{prep}.{method}.tsv" for sample in SAMPLES for prep, method in segmentations_of(sample)],
    output:
        report(
            "results/summary.tsv",
            caption="../resources/report/summary.rst",
            category="Summary",
            labels={"table": "summary"},
        ),
    params:
        policy=config["metrics"]["edge_policy"],
    log:
        "logs/summary.log",
    benchmark:
        "benchmarks/summary.tsv"
    threads: 1
    resources:
        mem_mb=memory(300),
        runtime=runtime(0),
    conda:
        "../envs/tables.yaml"
    script:
        "../scripts/summary.py"


rule plot_histogram:
    wildcard_constraints:
        prep=re.escape(PREP),
    input:
        histograms=per_chunk("results/chunks/{sample}/{prep}/histograms/{chunk}.npz"),
        thresholds=expand("results/thresholds/{{sample}}/{{prep}}.{method}.json", method=METHODS),
    output:
        report(
            "results/plots/{sample}/{prep}.histogram.png",
            caption="../resources/report/histogram.rst",
            category="Histograms",
            labels={"sample": "{sample}", "preprocessing": "{prep}"},
        ),
    log:
        "logs/plot_histogram/{sample}/{prep}.log",
    benchmark:
        "benchmarks/plot_histogram/{sample}/{prep}.tsv"
    threads: 1
    resources:
        mem_mb=memory(500),
        runtime=runtime(0),
    conda:
        "../envs/plots.yaml"
    script:
        "../scripts/plot_histogram.py"


rule plot_tiles:
    input:
        tiles="results/metrics/{sample}/{prep}.{method}.tiles.tsv",
    output:
        report(
            "results/plots/{sample}/{prep}.{method}.tiles.png",
            caption="../resources/report/tiles.rst",
            category="Tile maps",
            subcategory="{sample}",
            labels={"sample": "{sample}", "preprocessing": "{prep}", "method": "{method}"},
        ),
    params:
        metric=config["metrics"]["tile_map"],
        max_slices=config["overlay"]["max_slices"],
    log:
        "logs/plot_tiles/{sample}/{prep}.{method}.log",
    benchmark:
        "benchmarks/plot_tiles/{sample}/{prep}.{method}.tsv"
    threads: 1
    resources:
        mem_mb=memory(500),
        runtime=runtime(0),
    conda:
        "../envs/plots.yaml"
    script:
        "../scripts/plot_tiles.py"


rule plot_methods:
    wildcard_constraints:
        prep=re.escape(PREP),
    input:
        plan="results/tiles/{sample}.json",
        image=image_of,
        masks=lambda wildcards: [
            f"results/masks/{wildcards.sample}/{prep}.{method}.ome.tif" for prep, method in segmentations_of(wildcards.sample)
        ],
        thresholds=expand("results/thresholds/{{sample}}/{{prep}}.{method}.json", method=METHODS),
        metrics=lambda wildcards: (
            [
                f"results/metrics/{wildcards.sample}/{prep}.{method}.tsv"
                for prep, method in segmentations_of(wildcards.sample)
            ]
            if has_truth(wildcards.sample)
            else []
        ),
    output:
        report(
            "results/plots/{sample}/{prep}.methods.png",
            caption="../resources/report/methods.rst",
            category="Methods side by side",
            labels={"sample": "{sample}", "preprocessing": "{prep}"},
        ),
    params:
        methods=lambda wildcards: [method for _, method in segmentations_of(wildcards.sample)],
        channel=config["channel"],
    log:
        "logs/plot_methods/{sample}/{prep}.log",
    benchmark:
        "benchmarks/plot_methods/{sample}/{prep}.tsv"
    threads: 1
    resources:
        mem_mb=memory(500),
        runtime=runtime(0.02, "sample"),
    conda:
        "../envs/plots_images.yaml"
    script:
        "../scripts/plot_methods.py"


rule aggregate:
    input:
        all_metrics(),
    output:
        report(
            "results/aggregate.tsv",
            caption="../resources/report/aggregate.rst",
            category="Summary",
            labels={"table": "pooled and per-image statistics"},
        ),
    params:
        policy=config["metrics"]["edge_policy"],
        resamples=config["selection"]["bootstrap"],
        seed=config["selection"]["seed"],
    log:
        "logs/aggregate.log",
    benchmark:
        "benchmarks/aggregate.tsv"
    threads: 1
    resources:
        mem_mb=memory(300),
        runtime=runtime(0),
    conda:
        "../envs/tables.yaml"
    script:
        "../scripts/aggregate.py"


rule select_method:
    input:
        all_metrics(),
    output:
        tsv=report(
            "results/selection.tsv",
            caption="../resources/report/selection.rst",
            category="Summary",
            labels={"table": "method selection"},
        ),
        json="results/selection.json",
    params:
        metric=config["selection"]["metric"],
        policy=config["metrics"]["edge_policy"],
        split={sample: row.get("split", "") for sample, row in SAMPLES.items()},
        references=REFERENCES,
        resamples=config["selection"]["bootstrap"],
        seed=config["selection"]["seed"],
    log:
        "logs/select_method.log",
    benchmark:
        "benchmarks/select_method.tsv"
    threads: 1
    resources:
        mem_mb=memory(300),
        runtime=runtime(0),
    conda:
        "../envs/tables.yaml"
    script:
        "../scripts/select_method.py"


rule plot_selection:
    input:
        selection="results/selection.json",
        metrics=all_metrics(),
    output:
        report(
            "results/plots/selection.png",
            caption="../resources/report/selection_plot.rst",
            category="Summary",
            labels={"table": "methods x images"},
        ),
    log:
        "logs/plot_selection.log",
    benchmark:
        "benchmarks/plot_selection.tsv"
    threads: 1
    resources:
        mem_mb=memory(500),
        runtime=runtime(0),
    conda:
        "../envs/plots.yaml"
    script:
        "../scripts/plot_selection.py"
