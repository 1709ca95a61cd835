"""Confusion counts + scores: segval vs the article's validation procedure, on the 512 x 512 KESM tile.

The article ("Grayscale image segmentation and validation", kiteco blog code) validates with
`get_validation_metrics(groundtruth_list, predicted_list)`: the masks flattened to Python lists, each
score recomputing the confusion matrix with scikit-learn after `np.unique` checks for the edge cases.
`article_style_metrics` below re-creates that procedure step for step (same data structures, same
library calls, same number of confusion-matrix computations) so that the comparison needs no copy of
the article's code.

Run: `python bench/bench_metrics.py` (prints the figures; ~30 s).
"""

import sys
import time
from pathlib import Path

import cv2
import numpy as np
import scipy.ndimage as ndi

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

from segval.metrics import confusion_counts, scores
from segval.thresholds import threshold_from_histogram

KESM = REPO.parent / "shared" / "data" / "kesm"


def article_style_metrics(truth_list, predicted_list):
    """The article's procedure: per score, unique-value edge checks and a scikit-learn confusion matrix."""
    from sklearn.metrics import confusion_matrix

    def unique(values):
        return np.unique(values).tolist()

    def elements():
        assert len(truth_list) == len(predicted_list)
        assert all(value in [0, 1] for value in unique(truth_list))
        if unique(truth_list) == unique(predicted_list) == [1]:
            return 0, 0, 0, np.float64(len(truth_list))
        if unique(truth_list) == unique(predicted_list) == [0]:
            return np.float64(len(truth_list)), 0, 0, 0
        return tuple(np.float64(v) for v in confusion_matrix(truth_list, predicted_list).ravel())

    tn, fp, fn, tp = elements()
    accuracy = (tp + tn) / (tp + fp + fn + tn)
    tn, fp, fn, tp = elements()
    f1 = (2 * tp) / ((2 * tp) + fp + fn)
    tn, fp, fn, tp = elements()
    mcc = ((tp * tn) - (fp * fn)) / np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return {"accuracy": accuracy, "f1_score": f1, "mcc": mcc}


def best_of(function, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def main():
    image = 255 - cv2.imread(str(KESM / "grayscale.png"), cv2.IMREAD_UNCHANGED)
    truth = cv2.imread(str(KESM / "groundtruth.png"), cv2.IMREAD_UNCHANGED)
    filtered = ndi.median_filter(image, size=3)
    threshold = threshold_from_histogram(np.bincount(filtered.ravel(), minlength=256), "otsu")
    predicted = filtered > threshold
    truth_bool = truth != 0
    truth_list = (truth // 255).ravel().tolist()
    predicted_list = predicted.astype(np.uint8).ravel().tolist()

    article_time, article = best_of(lambda: article_style_metrics(truth_list, predicted_list), 3)
    segval_time, ours = best_of(lambda: scores(confusion_counts(truth_bool, predicted)), 200)
    counts_time, _ = best_of(lambda: confusion_counts(truth_bool, predicted), 200)
    assert ours["f1"] == article["f1_score"] and ours["mcc"] == article["mcc"]
    assert ours["accuracy"] == article["accuracy"]
    print(f"KESM tile 512 x 512, Otsu threshold {threshold:g}")
    print(f"article-style get_validation_metrics: {article_time * 1e3:9.2f} ms")
    print(f"segval confusion_counts:              {counts_time * 1e3:9.3f} ms")
    print(f"segval confusion_counts + scores:     {segval_time * 1e3:9.3f} ms")
    print(f"speed-up (counts + scores):           {article_time / segval_time:9.0f} x")


if __name__ == "__main__":
    main()
