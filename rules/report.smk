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
        plan="results/tiles/{sample}.json",
    output:
        report(
            "results/plots/{sample}/{prep}.histogram.png",
            caption="../resources/report/histogram.rst",
            category="Histograms",
            labels={"sample": "{sample}", "preprocessing": "{prep}"},
        ),
    log:
        "logs/plot_histogram/{sample}/{prep}.log",
    params:
        invert=config["invert"],
        # A threshold maps back to the original scale when preprocessing only inverts and takes
        # medians (order statistics commute with inversion); background corrections change the scale.
        rescalable=all(step == "median" for step, _ in CHAIN),
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
            f"results/masks/{wildcards.sample}/{prep}.{method}{OUTPUT_SUFFIX}" for prep, method in segmentations_of(wildcards.sample)
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


def tiled(sample):
    """Whether the sample's plan cuts it into more than one tile (a tile map says something)."""
    rows, columns = manifest_of(sample)["grid"]
    return rows * columns > 1


def zoomed(sample):
    """Whether the sample's slices are larger than the overlay preview: its traced slices then get a
    zoomable full-resolution pyramid (rule deepzoom)."""
    _, height, width = manifest_of(sample)["shape"]
    return has_truth(sample) and height * width > config["overlay"]["max_pixels"]


def page_inputs(wildcards):
    """What the pages show: the tables and plots the workflow writes (tile maps only for images of
    more than one tile: a single square says nothing)."""
    inputs = {
        "summary": "results/summary.tsv",
        "plans": [f"results/tiles/{sample}.json" for sample in SAMPLES],
        "metrics": all_metrics(),
        "overlays": [f"results/overlays/{s}/{p}.{m}.png" for s in SAMPLES for p, m in segmentations_of(s)],
        "plots": [f"results/plots/{s}/{PREP}.{kind}.png" for s in SAMPLES for kind in ("histogram", "methods")],
        "tile_maps": [f"results/plots/{s}/{p}.{m}.tiles.png" for s in SAMPLES if has_truth(s) and tiled(s)
                      for p, m in segmentations_of(s)],
        "zooms": [f"results/overlays/{s}/{p}.{m}.zoom" for s in SAMPLES if zoomed(s) for p, m in segmentations_of(s)],
    }
    if any(has_truth(sample) for sample in SAMPLES):
        inputs.update(selection="results/selection.json", selection_plot="results/plots/selection.png")
    return inputs


rule pages:
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
    params:
        samples=lambda wildcards: {
            sample: {"segmentations": [f"{p}.{m}" for p, m in segmentations_of(sample)],
                     "tile_maps": has_truth(sample) and tiled(sample),
                     "shape": manifest_of(sample)["shape"],
                     "zoom_slices": manifest_of(sample)["truth"]["slices"][: config["overlay"]["max_slices"]]
                     if zoomed(sample) else []}
            for sample in SAMPLES
        },
        references=REFERENCES,
        prep=PREP,
        colours=config["overlay"]["colours"],
        viewer=os.path.join(workflow.basedir, "resources", "vendor", "openseadragon"),
        report_text=os.path.join(workflow.basedir, "resources", "report", "workflow.rst"),
    log:
        "logs/pages.log",
    benchmark:
        "benchmarks/pages.tsv"
    threads: 1
    resources:
        mem_mb=memory(300 + 12 * config["overlay"]["max_pixels"] / 2**20),
        runtime=runtime(0),
    conda:
        "../envs/pages.yaml"
    script:
        "../scripts/make_pages.py"
