# aggregate: the summary table and the histogram plots, registered in the Snakemake report.


rule summary:
    """One table of every sample and method, with pooled rows from summed counts."""
    input:
        metrics_inputs(),
    output:
        report(
            "results/summary.tsv",
            caption="../resources/report/summary.rst",
            category="Summary",
            labels={"table": "summary"},
        ),
    log:
        "logs/summary.log",
    benchmark:
        "benchmarks/summary.tsv"
    conda:
        "../envs/tables.yaml"
    threads: 1
    resources:
        mem_mb=memory(300),
        runtime=runtime(0),
    params:
        policy=config["metrics"]["edge_policy"],
        metrics=all_metrics(),
    script:
        "../scripts/summary.py"


rule plot_histogram:
    """Plot a sample's histogram with every method's threshold, on both intensity scales."""
    input:
        histograms=per_chunk(PATHS["histogram_chunk"]),
        thresholds=expand("results/thresholds/{{sample}}/{{prep}}.{method}.json", method=METHODS),
        plan=PATHS["plan"],
    output:
        report(
            PATHS["histogram_plot"],
            caption="../resources/report/histogram.rst",
            category="Histograms",
            labels={"sample": "{sample}", "preprocessing": "{prep}"},
        ),
    log:
        "logs/plot_histogram/{sample}/{prep}.log",
    benchmark:
        "benchmarks/plot_histogram/{sample}/{prep}.tsv"
    wildcard_constraints:
        prep=_alternatives(PREPS),
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=memory(500),
        runtime=runtime(0),
    params:
        **STEP_PARAMS["plot_histogram"],
        rescalable=lambda wildcards: rescalable(CHAINS[wildcards.prep]),
    script:
        "../scripts/plot_histogram.py"


rule plot_tiles:
    """Map MCC (or F1) per tile of one sample and method: where on the slice the method fails."""
    input:
        tiles=PATHS["tile_metrics"],
    output:
        report(
            PATHS["tile_map"],
            caption="../resources/report/tiles.rst",
            category="Tile maps",
            subcategory="{sample}",
            labels={"sample": "{sample}", "preprocessing": "{prep}", "method": "{method}"},
        ),
    log:
        "logs/plot_tiles/{sample}/{prep}.{method}.log",
    benchmark:
        "benchmarks/plot_tiles/{sample}/{prep}.{method}.tsv"
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=memory(500),
        runtime=runtime(0),
    params:
        **STEP_PARAMS["plot_tiles"],
    script:
        "../scripts/plot_tiles.py"


rule plot_methods:
    """Show every method's mask of one sample side by side, with threshold, F1 and MCC."""
    input:
        plan=PATHS["plan"],
        image=image_of,
        masks=lambda wildcards: [
            f"results/masks/{wildcards.sample}/{prep}.{method}{OUTPUT_SUFFIX}"
            for prep, method in montage_of(wildcards)
        ],
        thresholds=expand("results/thresholds/{{sample}}/{{prep}}.{method}.json", method=METHODS),
        metrics=lambda wildcards: (
            [
                f"results/metrics/{wildcards.sample}/{prep}.{method}.tsv"
                for prep, method in montage_of(wildcards)
            ]
            if has_truth(wildcards.sample)
            else []
        ),
    output:
        report(
            PATHS["methods_plot"],
            caption="../resources/report/methods.rst",
            category="Methods side by side",
            labels={"sample": "{sample}", "preprocessing": "{prep}"},
        ),
    log:
        "logs/plot_methods/{sample}/{prep}.log",
    benchmark:
        "benchmarks/plot_methods/{sample}/{prep}.tsv"
    wildcard_constraints:
        prep=_alternatives(PREPS),
    conda:
        "../envs/plots_images.yaml"
    threads: 1
    resources:
        mem_mb=memory(500),
        runtime=runtime(0.02, "sample"),
    params:
        **STEP_PARAMS["plot_methods"],
        methods=lambda wildcards: [method for _, method in montage_of(wildcards)],
    script:
        "../scripts/plot_methods.py"


rule aggregate:
    """Pooled, per-image and bootstrap statistics of every method over the data set."""
    input:
        metrics_inputs(),
    output:
        report(
            "results/aggregate.tsv",
            caption="../resources/report/aggregate.rst",
            category="Summary",
            labels={"table": "pooled and per-image statistics"},
        ),
    log:
        "logs/aggregate.log",
    benchmark:
        "benchmarks/aggregate.tsv"
    conda:
        "../envs/tables.yaml"
    threads: 1
    resources:
        mem_mb=memory(300),
        runtime=runtime(0),
    params:
        policy=config["metrics"]["edge_policy"],
        resamples=config["selection"]["bootstrap"],
        seed=config["selection"]["seed"],
        metrics=all_metrics(),
    script:
        "../scripts/aggregate.py"


rule select_method:
    """Rank the candidate pipelines and estimate the choice's score on unseen images."""
    input:
        metrics_inputs(),
    output:
        tsv=report(
            "results/selection.tsv",
            caption="../resources/report/selection.rst",
            category="Summary",
            labels={"table": "method selection"},
        ),
        json="results/selection.json",
    log:
        "logs/select_method.log",
    benchmark:
        "benchmarks/select_method.tsv"
    conda:
        "../envs/tables.yaml"
    threads: 1
    resources:
        mem_mb=memory(300),
        runtime=runtime(0),
    params:
        metric=config["selection"]["metric"],
        policy=config["metrics"]["edge_policy"],
        split={sample: row.get("split", "") for sample, row in SAMPLES.items()},
        references=REFERENCES,
        resamples=config["selection"]["bootstrap"],
        seed=config["selection"]["seed"],
        metrics=all_metrics(),
    script:
        "../scripts/select_method.py"


rule plot_selection:
    """Plot the methods x images score heatmap with the ranking and the human reference."""
    input:
        selection="results/selection.json",
        metrics=metrics_inputs(),
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
    conda:
        "../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=memory(500),
        runtime=runtime(0),
    params:
        metrics=all_metrics(),
    script:
        "../scripts/plot_selection.py"


rule pages:
    """Write results/index.html and one page per sample: the answer, rankings, overlays, zoom viewers."""
    input:
        unpack(page_inputs),
    output:
        index="results/index.html",
        pages=[f"results/samples/{sample}.html" for sample in SAMPLES],
        thumbnails=directory("results/samples/thumbnails"),
        viewer=directory("results/samples/openseadragon"),
        # Self-contained copies (previews inlined: a report entry is one file) for the report.
        report_index=report(
            "results/report/index.html",
            caption="../resources/report/pages.rst",
            category="1. Answer",
            labels={"page": "results"},
        ),
        report_text=REPORT_TEXT,
        report_pages=[
            report(
                f"results/report/{sample}.html",
                caption="../resources/report/sample_page.rst",
                category="2. Samples",
                labels={"sample": sample},
            )
            for sample in SAMPLES
        ],
    log:
        "logs/pages.log",
    benchmark:
        "benchmarks/pages.tsv"
    conda:
        "../envs/pages.yaml"
    threads: 1
    resources:
        mem_mb=memory(300 + 12 * config["overlay"]["max_pixels"] / 2**20),
        runtime=runtime(0),
    params:
        samples=lambda wildcards: {
            sample: {
                "segmentations": [f"{p}.{m}" for p, m in segmentations_of(sample)],
                "tile_maps": has_truth(sample) and tiled(sample),
                "zoomed": zoomed(sample),
            }
            for sample in SAMPLES
        },
        references=REFERENCES,
        preps=PREPS,
        max_slices=config["overlay"]["max_slices"],
        colours=config["overlay"]["colours"],
        viewer=os.path.join(workflow.basedir, "resources", "vendor", "openseadragon"),
        report_text=os.path.join(workflow.basedir, "resources", "report", "workflow.rst"),
    script:
        "../scripts/make_pages.py"
