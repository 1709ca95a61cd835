"""The columns of each table the workflow writes, defined once for its writer and its readers.

Apart from :mod:`segval.tables` (which reads and writes any table, and needs no numpy, so the pages
step can read tables without it).
"""

from segval.metrics import COUNT_NAMES, DISTANCE_KEYS, SCORE_NAMES, TILE_SCORE_NAMES

#: results/plans/checked.tsv: every sample whose files passed the plan's checks.
CHECKED_SAMPLES_COLUMNS = (
    "sample",
    "slices",
    "height",
    "width",
    "dtype",
    "chunks",
    "ground_truth",
    "roi",
    "predictions",
)
#: Per-tile confusion counts of one mask chunk (the confusion step).
TILE_COUNT_COLUMNS = ("z", "row", "col", "y0", "y1", "x0", "x1") + COUNT_NAMES
#: A mask's metrics: the image row and, for stacks, one row per traced slice (the metrics step).
METRICS_COLUMNS = (
    ("sample", "prep", "method", "scope", "z", "threshold", "status")
    + COUNT_NAMES
    + SCORE_NAMES
    + ("edge_case",)
    + DISTANCE_KEYS
)
#: A mask's per-tile counts and scores (the metrics step).
TILE_METRICS_COLUMNS = (
    ("sample", "prep", "method", "z", "row", "col", "y0", "y1", "x0", "x1")
    + COUNT_NAMES
    + TILE_SCORE_NAMES
)
#: results/summary.tsv: a row per (sample, method) and the pooled rows (sample ALL).
SUMMARY_COLUMNS = (
    ("sample", "prep", "method", "threshold", "status")
    + COUNT_NAMES
    + SCORE_NAMES
    + ("edge_case", "hd", "hd95", "assd", "images")
)
#: results/aggregate.tsv: dataset statistics per method and score.
DATASET_STATISTICS_COLUMNS = (
    "prep",
    "method",
    "metric",
    "pooled",
    "pooled_low",
    "pooled_high",
    "mean",
    "sd",
    "median",
    "mean_low",
    "mean_high",
    "images",
    "excluded",
    "replaced",
)
#: results/selection.tsv: the methods' ranking, then the references.
SELECTION_COLUMNS = (
    "rank",
    "method",
    "pooled",
    "pooled_low",
    "pooled_high",
    "mean",
    "images",
    "not_found",
)
