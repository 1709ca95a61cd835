"""Confusion counts and the scores derived from them, with every edge case named and handled.

Counts are the unit of exactness: a whole image's (or a whole dataset's) counts are the sums of its
tiles' counts, and every score of the whole is computed from those summed counts, never by
averaging per-tile scores.

Edge cases
----------
A score is undefined when its denominator is zero, which happens only in these cases (checked in this
order; the first that applies is reported in the ``edge_case`` column of every metrics table):

==================  =====================================  ========================================
edge case           counts                                 meaning
==================  =====================================  ========================================
``empty``           tp = fp = fn = tn = 0                  no pixel was compared (e.g. empty ROI)
``both_empty``      tp = fp = fn = 0                       no foreground in truth nor prediction
``reference_empty`` tp = fn = 0, fp > 0                    truth has no foreground
``prediction_empty`` tp = fp = 0, fn > 0                   prediction has no foreground
``both_full``       fp = fn = tn = 0                       everything is foreground in both
``reference_full``  tn = fp = 0                            truth is all foreground
``prediction_full`` tn = fn = 0                            prediction is all foreground
``none``            otherwise                              every score is defined
==================  =====================================  ========================================

Policies for undefined scores (``policy=``):

- ``"article"`` (default) — the rules of the article this tool reproduces: when prediction equals
  truth (``both_empty``, ``both_full``) F1 = MCC = 1; when all truth is one class and all
  prediction the other, MCC = -1 and F1 = 0; any other zero MCC denominator gives MCC = -1.  The other
  ratios follow the same principle: an undefined ratio is 1 when the prediction equals the truth
  (fp = fn = 0) and 0 otherwise.
- ``"sklearn"`` — what scikit-learn returns with ``zero_division=0``: undefined precision, recall,
  specificity, NPV, F1 and Jaccard are 0, MCC is 0, Cohen's kappa is NaN... except where scikit-learn
  itself defines the value (see :func:`scores`).
- ``"nan"`` — undefined stays NaN, so that means over images can exclude it explicitly.

References
----------
.. [1] B. W. Matthews, "Comparison of the predicted and observed secondary structure of T4 phage
       lysozyme", Biochim. Biophys. Acta 405(2):442-451, 1975.
.. [2] L. Maier-Hein et al., "Metrics reloaded: recommendations for image analysis validation",
       Nature Methods 21:195-212, 2024.
"""

import math

import numpy as np

COUNT_NAMES = ("tp", "fp", "fn", "tn")
SCORE_NAMES = (
    "accuracy",
    "precision",
    "recall",
    "specificity",
    "npv",
    "fpr",
    "fnr",
    "f1",
    "jaccard",
    "balanced_accuracy",
    "mcc",
    "kappa",
    "prevalence",
)
#: The scores kept per tile in the tile metrics tables.
TILE_SCORE_NAMES = ("f1", "mcc", "edge_case")
#: The boundary distances and their bounds (:func:`segval.boundary.reduce`): the boundary columns of
#: the metrics tables.  Here, not in :mod:`segval.boundary`, so that the tables' columns need no scipy.
DISTANCE_KEYS = (
    "hd",
    "hd95",
    "assd",
    "hd_lower",
    "hd_upper",
    "hd95_lower",
    "hd95_upper",
    "assd_lower",
    "assd_upper",
    "unresolved",
)
POLICIES = ("article", "sklearn", "nan")
EDGE_CASES = (
    "empty",
    "both_empty",
    "reference_empty",
    "prediction_empty",
    "both_full",
    "reference_full",
    "prediction_full",
    "none",
)


def _as_bool(array, name):
    array = np.asarray(array)
    if array.dtype == bool:
        return array
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a boolean or numeric array, got {array.dtype}")
    return array != 0


def confusion_counts(truth, predicted, roi=None):
    """Count true/false positives/negatives of a binary prediction against the truth.

    Parameters
    ----------
    truth, predicted : array_like
        Masks of the same shape: booleans, or numbers where non-zero means foreground.
    roi : array_like, optional
        Region of interest of the same shape (booleans or 0/non-zero); pixels outside it are not
        counted.

    Returns
    -------
    dict
        ``{"tp": int, "fp": int, "fn": int, "tn": int}``.

    Examples
    --------
    >>> confusion_counts([1, 0, 1, 0, 1, 1, 0, 0, 0], [1, 0, 1, 0, 0, 1, 1, 0, 0])
    {'tp': 3, 'fp': 1, 'fn': 1, 'tn': 4}
    """
    truth = _as_bool(truth, "truth")
    predicted = _as_bool(predicted, "predicted")
    if truth.shape != predicted.shape:
        raise ValueError(
            f"truth and prediction differ in shape: {truth.shape} vs {predicted.shape}"
        )
    if roi is not None:
        roi = _as_bool(roi, "roi")
        if roi.shape != truth.shape:
            raise ValueError(f"roi and truth differ in shape: {roi.shape} vs {truth.shape}")
        truth = truth & roi
        predicted = predicted & roi
        total = int(np.count_nonzero(roi))
    else:
        total = truth.size
    positives = int(np.count_nonzero(truth))
    predicted_positives = int(np.count_nonzero(predicted))
    tp = int(np.count_nonzero(truth & predicted))
    fp = predicted_positives - tp
    fn = positives - tp
    return {"tp": tp, "fp": fp, "fn": fn, "tn": total - tp - fp - fn}


#: Values of a confusion map (see :func:`confusion_map`).
TN, FP, FN, TP, IGNORED = 0, 1, 2, 3, 4


def confusion_map(truth, predicted, roi=None):
    """Per-pixel confusion code: 0 TN, 1 FP, 2 FN, 3 TP, and 4 for pixels outside ``roi``.

    The code is ``2 * truth + predicted``, so ``code & 1`` is the prediction and ``code >> 1`` the
    truth (inside the ROI).

    Returns
    -------
    numpy.ndarray of uint8
    """
    truth = _as_bool(truth, "truth")
    predicted = _as_bool(predicted, "predicted")
    if truth.shape != predicted.shape:
        raise ValueError(
            f"truth and prediction differ in shape: {truth.shape} vs {predicted.shape}"
        )
    code = truth.view(np.uint8) * np.uint8(2)
    code += predicted.view(np.uint8)
    if roi is not None:
        code[~_as_bool(roi, "roi")] = IGNORED
    return code


def counts_from_map(code):
    """Confusion counts of a confusion map (pixels coded 4, outside the ROI, are not counted)."""
    per_code = np.bincount(np.asarray(code, dtype=np.uint8).ravel(), minlength=5)
    return {
        "tp": int(per_code[TP]),
        "fp": int(per_code[FP]),
        "fn": int(per_code[FN]),
        "tn": int(per_code[TN]),
    }


def add_counts(*many):
    """Sum count mappings (the reduce step of map-reduce)."""
    return {name: sum(int(c[name]) for c in many) for name in COUNT_NAMES}


def edge_case(counts):
    """Name of the edge case ``counts`` fall in (see the module docstring), ``"none"`` if none."""
    tp, fp, fn, tn = (int(counts[n]) for n in COUNT_NAMES)
    if tp == fp == fn == tn == 0:
        return "empty"
    if tp == fp == fn == 0:
        return "both_empty"
    if tp == fn == 0:
        return "reference_empty"
    if tp == fp == 0:
        return "prediction_empty"
    if fp == fn == tn == 0:
        return "both_full"
    if tn == fp == 0:
        return "reference_full"
    if tn == fn == 0:
        return "prediction_full"
    return "none"


def scores(counts, policy="article"):
    """Scores of a binary segmentation from its confusion counts.

    Parameters
    ----------
    counts : mapping
        ``tp``, ``fp``, ``fn``, ``tn`` (ints).
    policy : {"article", "sklearn", "nan"}
        What an undefined score becomes (see the module docstring).

    Returns
    -------
    dict
        ``accuracy``, ``precision`` (PPV), ``recall`` (sensitivity, TPR), ``specificity`` (TNR),
        ``npv``, ``fpr`` (1 - specificity), ``fnr`` (1 - recall), ``f1`` (= Dice), ``jaccard``
        (IoU), ``balanced_accuracy``, ``mcc`` (Matthews), ``kappa`` (Cohen), ``prevalence`` (truth
        foreground fraction), and ``edge_case``.

    Notes
    -----
    Computed in float64 in the article's order of operations (its MCC is
    ``(tp*tn - fp*fn) / sqrt((tp+fp)(tp+fn)(tn+fp)(tn+fn))``), which reproduces its published figures
    to the last digit.  scikit-learn computes MCC through covariances; the two agree to about 1e-15.
    With ``policy="sklearn"`` the undefined values are scikit-learn's: 0 for precision, recall, F1,
    Jaccard (``zero_division=0``) and MCC; NaN for kappa, specificity and NPV have no scikit-learn
    function and follow ``zero_division=0`` too; balanced accuracy averages what is defined.

    Examples
    --------
    >>> s = scores({"tp": 3, "fp": 1, "fn": 1, "tn": 4})
    >>> s["f1"], s["accuracy"]
    (0.75, 0.7777777777777778)
    >>> scores({"tp": 0, "fp": 0, "fn": 0, "tn": 9})["mcc"]      # both empty, article policy
    1.0
    """
    if policy not in POLICIES:
        raise ValueError(
            f"unknown edge-case policy {policy!r}; choose one of {', '.join(POLICIES)}"
        )
    tp, fp, fn, tn = (np.float64(int(counts[n])) for n in COUNT_NAMES)
    case = edge_case(counts)
    perfect = fp == 0 and fn == 0
    undefined_ratio = {"article": 1.0 if perfect else 0.0, "sklearn": 0.0, "nan": math.nan}[policy]

    def ratio(numerator, denominator):
        return float(numerator / denominator) if denominator else undefined_ratio

    total = tp + fp + fn + tn
    out = {"accuracy": float((tp + tn) / total) if total else math.nan}
    out["precision"] = ratio(tp, tp + fp)
    out["recall"] = ratio(tp, tp + fn)
    out["specificity"] = ratio(tn, tn + fp)
    out["npv"] = ratio(tn, tn + fn)
    out["fpr"] = 1.0 - out["specificity"]
    out["fnr"] = 1.0 - out["recall"]
    out["f1"] = ratio(2 * tp, 2 * tp + fp + fn)
    out["jaccard"] = ratio(tp, tp + fp + fn)
    out["balanced_accuracy"] = _balanced_accuracy(tp, fp, fn, tn, out, policy)
    out["mcc"] = _mcc(tp, fp, fn, tn, perfect, policy)
    out["kappa"] = _kappa(tp, fp, fn, tn, perfect, policy)
    out["prevalence"] = float((tp + fn) / total) if total else math.nan
    if not total:
        out = {name: math.nan for name in out}
    out["edge_case"] = case
    return out


def _mcc(tp, fp, fn, tn, perfect, policy):
    denominator_zero = (tp + fp) == 0 or (tp + fn) == 0 or (tn + fp) == 0 or (tn + fn) == 0
    if not denominator_zero:
        return float(
            ((tp * tn) - (fp * fn)) / np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
        )
    if policy == "article":
        return 1.0 if perfect else -1.0
    return 0.0 if policy == "sklearn" else math.nan


def _kappa(tp, fp, fn, tn, perfect, policy):
    total = tp + fp + fn + tn
    if not total:
        return math.nan
    observed = (tp + tn) / total
    expected = ((tp + fp) * (tp + fn) + (tn + fn) * (tn + fp)) / (total * total)
    if expected != 1:
        return float((observed - expected) / (1 - expected))
    if policy == "article":
        return 1.0 if perfect else 0.0
    return math.nan


def _balanced_accuracy(tp, fp, fn, tn, out, policy):
    if policy == "sklearn":
        # scikit-learn averages the recalls of the classes present in the truth.
        present = [r for r, n in ((out["recall"], tp + fn), (out["specificity"], tn + fp)) if n]
        return float(sum(present) / len(present)) if present else math.nan
    return (out["recall"] + out["specificity"]) / 2
