"""The metrics step's reduction: a sample's per-tile confusion counts and boundary-distance summaries
become its metrics rows (image, traced slices) and scored tile rows.

Scores of the image and of each slice come from summed counts (see :mod:`segval.metrics`), boundary
metrics from merged summaries (see :mod:`segval.boundary`).  A module of its own because it needs both:
:mod:`segval.metrics` stays free of scipy for the steps that only read the tables.
"""

from segval.boundary import distance_columns
from segval.errors import NO_GROUND_TRUTH, combined_status
from segval.metrics import TILE_SCORE_NAMES, add_counts, scores


def _pooled(tile_rows, policy):
    """Summed counts of ``tile_rows`` and the scores of the sum."""
    counts = add_counts(*tile_rows)
    return {**counts, **scores(counts, policy)}


def sample_metrics(ids, thresholds, tile_rows, distances, policy="article"):
    """Reduce a sample's per-tile confusion counts (and boundary-distance summaries) to its metrics
    rows: the image, each slice when it has several, and each tile.

    Parameters
    ----------
    ids : dict
        The columns naming the sample's mask (``sample``, ``prep``, ``method``), copied into every row.
    thresholds : list of dict
        The threshold step's entries (``z``, ``threshold``, ``status``); empty for masks given in the
        sheet.
    tile_rows : list of dict
        Per-tile confusion counts (``z``, ``row``, ``col``, bounds, ``tp fp fn tn``) of the traced
        slices; empty when the sample has no ground truth.
    distances : dict
        Slice -> list of :class:`segval.boundary.TileDistances`; empty when boundary metrics are off.
    policy : {"article", "sklearn", "nan"}
        What an undefined score becomes (see :mod:`segval.metrics`).

    Returns
    -------
    rows : list of dict
        The image row (status :data:`segval.errors.NO_GROUND_TRUTH` and no scores without ground
        truth), then one row per slice when several slices are traced; scores from summed counts.
    tile_rows : list of dict
        Each tile's counts with ``ids`` and its :data:`segval.metrics.TILE_SCORE_NAMES`.

    Examples
    --------
    >>> ids = {"sample": "s", "prep": "raw", "method": "otsu"}
    >>> found = [{"z": None, "threshold": 79.0, "status": "ok"}]
    >>> tiles = [{"z": 0, "tp": 3, "fp": 1, "fn": 0, "tn": 4}, {"z": 0, "tp": 0, "fp": 0, "fn": 1, "tn": 0}]
    >>> rows, per_tile = sample_metrics(ids, found, tiles, {})
    >>> rows[0]["scope"], rows[0]["threshold"], rows[0]["tp"], rows[0]["f1"]
    ('image', 79.0, 3, 0.75)
    >>> [row["edge_case"] for row in per_tile]
    ['none', 'prediction_empty']
    >>> sample_metrics(ids, found, [], {})[0][0]["status"]
    'no_ground_truth'
    """
    status = combined_status(t["status"] for t in thresholds)
    image_threshold = thresholds[0]["threshold"] if len(thresholds) == 1 else None
    rows = []
    if not tile_rows:  # no ground truth: the threshold is all there is to report
        rows.append(
            {**ids, "scope": "image", "threshold": image_threshold, "status": NO_GROUND_TRUTH}
        )
    else:
        everything = [s for summaries in distances.values() for s in summaries]
        rows.append(
            {
                **ids,
                "scope": "image",
                "threshold": image_threshold,
                "status": status,
                **_pooled(tile_rows, policy),
                **distance_columns(everything),
            }
        )
        slices = sorted({row["z"] for row in tile_rows})
        if len(slices) > 1:
            by_z = {t["z"]: t for t in thresholds if t["z"] is not None}
            for z in slices:
                subset = [row for row in tile_rows if row["z"] == z]
                threshold = by_z[z]["threshold"] if z in by_z else image_threshold
                rows.append(
                    {
                        **ids,
                        "scope": "slice",
                        "z": z,
                        "threshold": threshold,
                        "status": status,
                        **_pooled(subset, policy),
                        **distance_columns(distances.get(z, [])),
                    }
                )
    scored_tiles = [
        {
            **ids,
            **row,
            **{k: v for k, v in scores(row, policy).items() if k in TILE_SCORE_NAMES},
        }
        for row in tile_rows
    ]
    return rows, scored_tiles
