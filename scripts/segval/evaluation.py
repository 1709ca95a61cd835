"""Dataset-level evaluation: pooled and per-image statistics, bootstrap intervals, and choosing a
method honestly.

Two ways to summarise a method over a dataset, and both are reported side by side:

- **pooled**: the score of the confusion counts summed over all images (each *pixel* weighs the
  same; this is the score of the dataset seen as one big image);
- **per image**: the mean (± sd) and median of the images' own scores (each *image* weighs the
  same).

Undefined per-image scores (see :mod:`segval.metrics`) are either replaced by the edge-case policy
(``article``, ``sklearn``) or left NaN (``nan``) and then excluded from the mean; every summary
says how many images it replaced or excluded.

Choosing the best method on the same images that then score it is optimistic.  :func:`select`
ranks the methods and also estimates how good the *choice* is on images it did not see: on the
sheet's ``test`` images when a train/test split is given, else by leave-one-image-out.

Bootstrap intervals resample images with replacement (percentile intervals, seeded so that reruns
give identical numbers).
"""

import functools
import math

import numpy as np

from segval.errors import NO_GROUND_TRUTH, THRESHOLD_NOT_FOUND
from segval.metrics import COUNT_NAMES, add_counts, scores

#: Count-based scores summarised over images.
SUMMARISED = (
    "f1",
    "mcc",
    "jaccard",
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "specificity",
    "kappa",
)
#: Boundary metrics (per image only: they do not pool from counts; lower is better).
BOUNDARY = ("hd", "hd95", "assd")


def images_by_method(rows):
    """Group metrics rows by (prep, method): the image-scope rows of images with ground truth.

    Parameters
    ----------
    rows : iterable of dict
        Rows of the workflow's metrics tables (columns ``sample prep method scope status`` and the
        counts).
    """
    grouped = {}
    for row in rows:
        if row["scope"] == "image" and row["status"] != NO_GROUND_TRUTH:
            grouped.setdefault((row["prep"], row["method"]), []).append(row)
    return grouped


def _score(counts, metric, policy):
    return _scores_of(*(int(counts[name]) for name in COUNT_NAMES), policy)[metric]


@functools.lru_cache(maxsize=65536)
def _scores_of(tp, fp, fn, tn, policy):
    """:func:`segval.metrics.scores` of the counts, remembered: a bootstrap scores the same summed
    counts once per metric (same seed, same draws), and scoring is pure Python.  Callers only read
    the returned dict."""
    return scores(dict(zip(COUNT_NAMES, (tp, fp, fn, tn))), policy)


def _draws(n_images, resamples, seed):
    """The bootstrap's resampled image indices, one row per resample (what
    :func:`bootstrap_interval` draws for the same arguments)."""
    return np.random.default_rng(seed).integers(0, n_images, size=(resamples, n_images))


def _percentile_interval(values, level):
    values = values[np.isfinite(values)]
    if values.size == 0:
        return math.nan, math.nan
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_interval(values_of_resample, n_images, resamples=2000, seed=0, level=0.95):
    """Percentile interval of a statistic over bootstrap resamples of the images.

    Parameters
    ----------
    values_of_resample : callable
        ``f(indices) -> float``: the statistic of the images at ``indices`` (with repeats).
    n_images : int
    resamples, seed, level
        Number of resamples, random seed, coverage.

    Returns
    -------
    tuple of float
        ``(low, high)``; NaN for fewer than two images.
    """
    if n_images < 2:
        return math.nan, math.nan
    draws = _draws(n_images, resamples, seed)
    values = np.array([values_of_resample(indices) for indices in draws], dtype=float)
    return _percentile_interval(values, level)


def summarise(images, metric, policy="article", resamples=2000, seed=0):
    """Pooled and per-image summary of one method over a dataset for one score.

    Parameters
    ----------
    images : list of dict
        One row per image with ground truth: ``tp fp fn tn`` (and ``edge_case``).
    metric : str
        A count-based score name (see :data:`SUMMARISED`).
    policy : {"article", "sklearn", "nan"}
        Edge-case policy of the per-image scores.

    Returns
    -------
    dict
        ``pooled``, ``pooled_low``, ``pooled_high`` (bootstrap interval of the pooled score),
        ``mean``, ``sd``, ``median``, ``mean_low``, ``mean_high``, ``images``, ``excluded`` (NaN
        scores left out of mean/sd/median), ``replaced`` (edge-case images whose score the policy
        set).

    Examples
    --------
    >>> rows = [{"tp": 9, "fp": 1, "fn": 0, "tn": 90}, {"tp": 0, "fp": 0, "fn": 0, "tn": 100}]
    >>> s = summarise(rows, "f1", policy="nan")
    >>> s["pooled"], s["mean"], s["excluded"]
    (0.9473684210526315, 0.9473684210526315, 1)
    """
    counts = [{name: int(row[name]) for name in COUNT_NAMES} for row in images]
    if metric in BOUNDARY:  # per-image values as computed; undefined ones are NaN, so excluded
        per_image = np.array(
            [math.nan if row.get(metric) is None else row[metric] for row in images], dtype=float
        )
    else:
        per_image = np.array([_score(c, metric, policy) for c in counts], dtype=float)
    cases = [_score(c, "edge_case", policy) for c in counts]
    defined = per_image[np.isfinite(per_image)]
    out = {
        "images": len(images),
        "pooled": _score(add_counts(*counts), metric, policy)
        if counts and metric not in BOUNDARY
        else math.nan,
        "mean": float(defined.mean()) if defined.size else math.nan,
        "sd": float(defined.std(ddof=1)) if defined.size > 1 else math.nan,
        "median": float(np.median(defined)) if defined.size else math.nan,
        "excluded": int(per_image.size - defined.size),
        "replaced": sum(
            1 for case, value in zip(cases, per_image) if case != "none" and np.isfinite(value)
        ),
    }
    out["pooled_low"], out["pooled_high"] = math.nan, math.nan
    out["mean_low"], out["mean_high"] = math.nan, math.nan
    if len(counts) < 2:
        return out
    # The same draws as bootstrap_interval, vectorised: the summed counts of every resample are
    # exact integer sums, scored by the same (pure Python) function, so the numbers are identical.
    draws = _draws(len(counts), resamples, seed)
    if metric not in BOUNDARY:
        matrix = np.array([[c[name] for name in COUNT_NAMES] for c in counts], dtype=np.int64)
        sums = matrix[draws].sum(axis=1).tolist()  # Python ints: scores must not overflow int64
        pooled = np.array([_scores_of(*row, policy)[metric] for row in sums], dtype=float)
        out["pooled_low"], out["pooled_high"] = _percentile_interval(pooled, 0.95)
    if defined.size == per_image.size:  # row means of the resamples: the same sums as one by one
        means = per_image[draws].mean(axis=1)
    else:  # undefined scores drop out of each resample's mean, so resamples differ in length

        def resampled_mean(idx):
            values = per_image[idx]
            values = values[np.isfinite(values)]
            return values.mean() if values.size else math.nan

        means = np.array([resampled_mean(indices) for indices in draws], dtype=float)
    out["mean_low"], out["mean_high"] = _percentile_interval(means, 0.95)
    return out


def _pooled(table, method, images, metric, policy):
    return _score(add_counts(*(table[method][image] for image in images)), metric, policy)


def best_method(table, images, metric, policy="article"):
    """The method with the best pooled score on ``images`` (ties: the first in ``table``'s order)."""
    best, best_value = None, -math.inf
    for method in table:
        value = _pooled(table, method, images, metric, policy)
        if np.isfinite(value) and value > best_value:
            best, best_value = method, value
    return best


def comparable(table):
    """The methods to rank, the images to rank them on, and the methods left out for lack of images.

    Examples
    --------
    >>> c = {"tp": 1, "fp": 0, "fn": 0, "tn": 1}
    >>> comparable({"otsu": {"a": c, "b": c}, "unet": {"b": c}})
    (['otsu'], ['a', 'b'], {'unet': ['a']})
    >>> comparable({"unet": {"a": c, "b": c}, "expert2": {"b": c, "c": c}})
    (['unet', 'expert2'], ['b'], {})
    """
    everything = list(dict.fromkeys(image for images in table.values() for image in images))
    complete = [method for method in table if len(table[method]) == len(everything)]
    if complete:
        left_out = {
            method: [i for i in everything if i not in table[method]]
            for method in table
            if method not in complete
        }
        return complete, everything, left_out
    shared = [image for image in everything if all(image in images for images in table.values())]
    return list(table), shared, {}


def select(
    table, metric="mcc", policy="article", split=None, resamples=2000, seed=0, references=()
):
    """Rank methods by their pooled score and estimate the chosen method's score out of sample.

    Parameters
    ----------
    table : dict
        ``{method: {image: {"tp", "fp", "fn", "tn"}}}``: the counts of every method on its images
        (methods in a fixed order).  Methods are compared on the same images: those that lack some
        image (e.g. a segmenter's masks given for a few samples only) are left out of the ranking
        and listed in ``left_out``; only if no method has every image are all ranked on the images
        they share.  A row with ``status`` ``threshold_not_found`` counts as given (its all-background
        mask is scored) and is counted in the ranking's ``not_found``.
    metric : str
        Score to rank by (a count-based score; higher is better).
    policy : str
        Edge-case policy.
    split : dict, optional
        ``{image: "train" | "test"}``.  With test images, the method is chosen on the train images
        and scored on the test images; otherwise by leave-one-image-out.
    references : iterable of str
        Methods of ``table`` that are another expert's tracings: the human agreement level.  They
        are scored on the ranked images they have (``references``: rows like the ranking's, without
        a rank) but never ranked nor chosen.

    Returns
    -------
    dict
        ``ranking`` (list of ``{method, rank, pooled, pooled_low, pooled_high, mean, images,
        not_found}``), ``images`` (those ranked on), ``left_out`` (``{method: [missing images]}``), ``winner``,
        ``in_sample`` (the winner's pooled score on all images), ``out_of_sample`` (the score of the
        choices on images they were not made on), ``scheme`` (``"train/test"``,
        ``"leave-one-image-out"`` or ``"none"``: a single image), and ``choices``
        (the method chosen per held-out image or for the test set).
    """
    references = [method for method in table if method in set(references)]
    humans = {method: table[method] for method in references}
    table = {method: images for method, images in table.items() if method not in humans}
    methods, images, left_out = comparable(table)
    table = {method: table[method] for method in methods} if images else {}
    ranking = []
    for method in table:
        rows = [table[method][image] for image in images]
        summary = summarise(rows, metric, policy, resamples, seed)
        ranking.append(
            {
                "method": method,
                **{k: summary[k] for k in ("pooled", "pooled_low", "pooled_high", "mean")},
                "images": len(rows),
                "not_found": sum(row.get("status") == THRESHOLD_NOT_FOUND for row in rows),
            }
        )
    ranking.sort(key=lambda row: -row["pooled"] if np.isfinite(row["pooled"]) else math.inf)
    for rank, row in enumerate(ranking, start=1):
        row["rank"] = rank
    winner = ranking[0]["method"] if ranking else None
    result = {
        "metric": metric,
        "policy": policy,
        "ranking": ranking,
        "images": images,
        "left_out": left_out,
        "winner": winner,
        "in_sample": ranking[0]["pooled"] if ranking else math.nan,
        "references": _reference_rows(humans, images, metric, policy, resamples, seed),
    }
    test = [image for image in images if (split or {}).get(image) == "test"]
    if test:
        train = [image for image in images if image not in test]
        chosen = best_method(table, train, metric, policy)
        result.update(
            scheme="train/test",
            choices={"test": chosen},
            out_of_sample=_pooled(table, chosen, test, metric, policy) if chosen else math.nan,
        )
    elif len(images) >= 2:
        choices = {
            image: best_method(table, [other for other in images if other != image], metric, policy)
            for image in images
        }
        held_out = add_counts(*(table[choices[image]][image] for image in images))
        result.update(
            scheme="leave-one-image-out",
            choices=choices,
            out_of_sample=_score(held_out, metric, policy),
        )
    else:
        result.update(scheme="none", choices={}, out_of_sample=math.nan)
    return result


def _reference_rows(humans, images, metric, policy, resamples, seed):
    """Summaries of the reference tracings on the ranked images each has (never ranked)."""
    rows = []
    for method, by_image in humans.items():
        shared = [image for image in images if image in by_image] if images else list(by_image)
        summary = summarise([by_image[image] for image in shared], metric, policy, resamples, seed)
        rows.append(
            {
                "method": method,
                "rank": "reference",
                **{k: summary[k] for k in ("pooled", "pooled_low", "pooled_high", "mean")},
                "images": len(shared),
                "not_found": 0,
            }
        )
    return rows
