"""segval.metrics: the article's own tests, the edge-case policies, and equality with scikit-learn.

scikit-learn is the independent reference: every count is compared with
``sklearn.metrics.confusion_matrix`` and every score with the matching ``sklearn.metrics`` function.
Accuracy, precision, recall, F1 and Jaccard are compared with ``==`` (same divisions of the same
integers in float64).  MCC, balanced accuracy and Cohen's kappa are compared to 1e-12: scikit-learn
computes MCC through covariances (``n * correct - sum(t) . sum(p)`` over the square root of two
such products) and kappa through an expected-agreement matrix, while segval uses the article's
``(tp*tn - fp*fn) / sqrt(...)`` and the textbook kappa; the two orders of operations give results
that differ in the last bit or two (observed: at most ~3e-15).  Balanced accuracy happens to use the
same operations and has so far always been exact, but that is not guaranteed by the arithmetic.
"""

import itertools
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn import metrics as skm

from segval.histograms import tile_histogram
from segval.masks import apply_threshold
from segval.metrics import (
    COUNT_NAMES,
    EDGE_CASES,
    FN,
    FP,
    IGNORED,
    POLICIES,
    SCORE_NAMES,
    TN,
    TP,
    add_counts,
    confusion_counts,
    confusion_map,
    counts_from_map,
    edge_case,
    scores,
)
from segval.thresholds import threshold_from_histogram

NAN = math.nan

# The article's 9-element fixtures; its functions are called as (groundtruth, predicted).
ZEROS = [0] * 9
ONES = [1] * 9
ORIGINAL = [1, 0, 1, 0, 1, 1, 0, 0, 0]
PREDICTED = [1, 0, 1, 0, 0, 1, 1, 0, 0]

EXACT = ("accuracy", "precision", "recall", "f1", "jaccard")
CLOSE = ("mcc", "balanced_accuracy", "kappa")
CLOSE_TOLERANCE = 1e-12


def evaluate(truth, predicted, policy="article"):
    return scores(confusion_counts(truth, predicted), policy)


def sklearn_counts(truth, predicted, **kwargs):
    tn, fp, fn, tp = skm.confusion_matrix(truth, predicted, labels=[0, 1], **kwargs).ravel()
    return {"tp": int(tp), "fp": int(fp), "fn": int(fn), "tn": int(tn)}


def sklearn_scores(truth, predicted, sample_weight=None):
    """scikit-learn's value of each score segval shares with it (``zero_division=0``)."""
    truth, predicted = np.asarray(truth, bool), np.asarray(predicted, bool)
    kw = {"sample_weight": sample_weight}
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore"
        )  # UndefinedMetricWarning, RuntimeWarning on degenerate input
        return {
            "accuracy": skm.accuracy_score(truth, predicted, **kw),
            "precision": skm.precision_score(truth, predicted, zero_division=0, **kw),
            "recall": skm.recall_score(truth, predicted, zero_division=0, **kw),
            "f1": skm.f1_score(truth, predicted, zero_division=0, **kw),
            "jaccard": skm.jaccard_score(truth, predicted, zero_division=0, **kw),
            "mcc": skm.matthews_corrcoef(truth, predicted, **kw),
            "balanced_accuracy": skm.balanced_accuracy_score(truth, predicted, **kw),
            "kappa": skm.cohen_kappa_score(truth, predicted, **kw),
        }


def same(a, b):
    """Equal, with NaN equal to NaN."""
    return (math.isnan(a) and math.isnan(b)) if isinstance(a, float) and math.isnan(a) else a == b


def assert_matches_sklearn(ours, reference, context):
    for name in EXACT:
        assert ours[name] == reference[name], (context, name, ours[name], reference[name])
    for name in CLOSE:
        assert math.isclose(ours[name], reference[name], rel_tol=0, abs_tol=CLOSE_TOLERANCE), (
            context,
            name,
            ours[name],
            reference[name],
        )


def assert_matches_sklearn_policy(ours, reference, context):
    """policy="sklearn" on any counts: every value scikit-learn returns, NaN included."""
    for name in EXACT:
        assert same(ours[name], float(reference[name])), (
            context,
            name,
            ours[name],
            reference[name],
        )
    for name in CLOSE:
        a, b = ours[name], float(reference[name])
        assert (math.isnan(a) and math.isnan(b)) or math.isclose(
            a, b, rel_tol=0, abs_tol=CLOSE_TOLERANCE
        ), (context, name, a, b)


# ------------------------------------------------------------------------------------------------
# The article's tests, with its values
# ------------------------------------------------------------------------------------------------


def test_article_zeros_truth_ones_prediction():
    s = evaluate(ZEROS, ONES)
    assert s["f1"] == 0
    assert s["mcc"] == -1


def test_article_ones_vs_ones():
    s = evaluate(ONES, ONES)
    assert s["f1"] == 1
    assert s["mcc"] == 1


def test_article_zeros_vs_zeros():
    s = evaluate(ZEROS, ZEROS)
    assert s["f1"] == 1
    assert s["mcc"] == 1


def test_article_ones_truth_zeros_prediction():
    s = evaluate(ONES, ZEROS)
    assert s["f1"] == 0
    assert s["mcc"] == -1


def test_article_original_vs_original():
    s = evaluate(ORIGINAL, ORIGINAL)
    assert s["f1"] == 1
    assert s["accuracy"] == 1
    assert s["mcc"] == 1


def test_article_original_vs_predicted():
    counts = confusion_counts(ORIGINAL, PREDICTED)
    assert counts == {"tp": 3, "fp": 1, "fn": 1, "tn": 4}
    s = scores(counts)
    assert s["f1"] == 0.75
    assert s["accuracy"] == 7 / 9
    assert s["edge_case"] == "none"


def test_argument_order_is_truth_then_prediction():
    # Swapping the arguments swaps FP and FN: truth first, as in the article.
    assert confusion_counts(ZEROS, ONES) == {"tp": 0, "fp": 9, "fn": 0, "tn": 0}
    assert confusion_counts(ONES, ZEROS) == {"tp": 0, "fp": 0, "fn": 9, "tn": 0}


# ------------------------------------------------------------------------------------------------
# Edge cases and policies
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "counts, expected",
    [
        ((0, 0, 0, 0), "empty"),
        ((0, 0, 0, 9), "both_empty"),
        ((0, 9, 0, 0), "reference_empty"),  # also prediction_full: the first in order wins
        ((0, 4, 0, 5), "reference_empty"),
        ((0, 0, 9, 0), "prediction_empty"),  # also reference_full
        ((0, 0, 4, 5), "prediction_empty"),
        ((9, 0, 0, 0), "both_full"),
        ((3, 0, 2, 0), "reference_full"),
        ((3, 2, 0, 0), "prediction_full"),
        ((3, 1, 1, 4), "none"),
        ((1, 0, 0, 1), "none"),
        ((1, 1, 0, 1), "none"),
        ((1, 0, 1, 1), "none"),
    ],
)
def test_edge_case_names(counts, expected):
    counts = dict(zip(COUNT_NAMES, counts))
    assert edge_case(counts) == expected
    assert scores(counts)["edge_case"] == expected
    assert expected in EDGE_CASES


def test_edge_case_names_of_the_article_masks():
    assert evaluate(ZEROS, ZEROS)["edge_case"] == "both_empty"
    assert evaluate(ZEROS, ONES)["edge_case"] == "reference_empty"
    assert evaluate(ONES, ZEROS)["edge_case"] == "prediction_empty"
    assert evaluate(ONES, ONES)["edge_case"] == "both_full"
    assert evaluate(ORIGINAL, ORIGINAL)["edge_case"] == "none"


_S = SCORE_NAMES  # accuracy precision recall specificity npv fpr fnr f1 jaccard balanced_accuracy mcc kappa prevalence
# Values derived by hand from the module docstring's rules (not from the code).
POLICY_TABLE = {
    ("both_empty", "article"): (1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0),
    ("both_empty", "sklearn"): (1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0, NAN, 0),
    ("both_empty", "nan"): (1, NAN, NAN, 1, 1, 0, NAN, NAN, NAN, NAN, NAN, NAN, 0),
    ("reference_empty", "article"): (0, 0, 0, 0, 0, 1, 1, 0, 0, 0, -1, 0, 0),
    ("reference_empty", "sklearn"): (0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0),
    ("reference_empty", "nan"): (0, 0, NAN, 0, NAN, 1, NAN, 0, 0, NAN, NAN, 0, 0),
    ("prediction_empty", "article"): (0, 0, 0, 0, 0, 1, 1, 0, 0, 0, -1, 0, 1),
    ("prediction_empty", "sklearn"): (0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1),
    ("prediction_empty", "nan"): (0, NAN, 0, NAN, 0, NAN, 1, 0, 0, NAN, NAN, 0, 1),
    ("both_full", "article"): (1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1),
    ("both_full", "sklearn"): (1, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0, NAN, 1),
    ("both_full", "nan"): (1, 1, 1, NAN, NAN, NAN, 0, 1, 1, NAN, NAN, NAN, 1),
}
DEGENERATE = {
    "both_empty": (ZEROS, ZEROS),
    "reference_empty": (ZEROS, ONES),
    "prediction_empty": (ONES, ZEROS),
    "both_full": (ONES, ONES),
}


@pytest.mark.parametrize("case, policy", sorted(POLICY_TABLE))
def test_policy_values_on_degenerate_cases(case, policy):
    truth, predicted = DEGENERATE[case]
    s = evaluate(truth, predicted, policy)
    assert s["edge_case"] == case
    expected = dict(zip(_S, POLICY_TABLE[(case, policy)]))
    wrong = {k: (s[k], v) for k, v in expected.items() if not same(float(v), s[k])}
    assert not wrong, wrong
    assert set(s) == set(SCORE_NAMES) | {"edge_case"}


@pytest.mark.parametrize("case", sorted(DEGENERATE))
def test_sklearn_policy_equals_sklearn_on_degenerate_cases(case):
    truth, predicted = DEGENERATE[case]
    assert_matches_sklearn_policy(
        evaluate(truth, predicted, "sklearn"), sklearn_scores(truth, predicted), case
    )


@pytest.mark.parametrize("policy", POLICIES)
def test_empty_counts_give_nan_everywhere(policy):
    s = scores({"tp": 0, "fp": 0, "fn": 0, "tn": 0}, policy)
    assert s["edge_case"] == "empty"
    assert all(math.isnan(s[name]) for name in SCORE_NAMES), s


def test_empty_roi_is_the_empty_case():
    counts = confusion_counts(ORIGINAL, PREDICTED, roi=[0] * 9)
    assert counts == {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    assert scores(counts)["edge_case"] == "empty"


def test_unknown_policy_is_rejected():
    with pytest.raises(ValueError, match="policy"):
        scores({"tp": 1, "fp": 1, "fn": 1, "tn": 1}, policy="zero")


def test_policies_agree_where_every_score_is_defined():
    counts = {"tp": 3, "fp": 1, "fn": 1, "tn": 4}
    article = scores(counts, "article")
    for policy in ("sklearn", "nan"):
        assert scores(counts, policy) == article


def test_derived_rates_and_prevalence():
    s = scores({"tp": 3, "fp": 1, "fn": 1, "tn": 4})
    assert s["specificity"] == 4 / 5
    assert s["npv"] == 4 / 5
    assert s["fpr"] == 1 - 4 / 5
    assert s["fnr"] == 1 - 3 / 4
    assert s["prevalence"] == 4 / 9
    assert s["jaccard"] == 3 / 5
    # The article's MCC formula, computed independently.
    assert s["mcc"] == (3 * 4 - 1 * 1) / math.sqrt(4 * 4 * 5 * 5)


# ------------------------------------------------------------------------------------------------
# Equality with scikit-learn
# ------------------------------------------------------------------------------------------------


def _tiny_pairs(size):
    """Every (truth, prediction) pair of masks of ``size`` pixels, as two ``(4**size, size)`` arrays."""
    bits = np.array(list(itertools.product((False, True), repeat=2 * size)), bool).reshape(
        -1, 2 * size
    )
    return bits[:, :size], bits[:, size:]


def _sklearn_counts_of_many(truths, predictions):
    """scikit-learn's confusion matrix of each row pair, in one call per group of rows.

    Row ``k`` is relabelled ``2k + value`` in both arrays, so the confusion matrix over all labels is
    block diagonal and its ``k``-th 2 x 2 diagonal block is the confusion matrix of row pair ``k``.
    """
    out = []
    for start in range(0, len(truths), 128):
        t, p = truths[start : start + 128], predictions[start : start + 128]
        offset = 2 * np.arange(len(t))[:, None]
        labels = np.arange(2 * len(t))
        matrix = skm.confusion_matrix((offset + t).ravel(), (offset + p).ravel(), labels=labels)
        for k in range(len(t)):
            (tn, fp), (fn, tp) = matrix[2 * k : 2 * k + 2, 2 * k : 2 * k + 2]
            out.append({"tp": int(tp), "fp": int(fp), "fn": int(fn), "tn": int(tn)})
        assert matrix.sum() == t.size  # nothing fell outside the diagonal blocks
    return out


def test_every_tiny_mask_pair_against_sklearn():
    """All 1364 (truth, prediction) pairs of sizes 1..5, degenerate ones included.

    Counts are compared pair by pair.  scikit-learn's scores are functions of the confusion matrix
    alone, so they are computed once per distinct counts (on the first pair that has them) and
    reused for the other pairs with the same counts.
    """
    reference = {}
    n_pairs = 0
    for size in range(1, 6):
        truths, predictions = _tiny_pairs(size)
        expected_counts = _sklearn_counts_of_many(truths, predictions)
        for truth, predicted, expected in zip(truths, predictions, expected_counts):
            n_pairs += 1
            counts = confusion_counts(truth, predicted)
            assert counts == expected, (truth, predicted)
            key = tuple(counts.values())
            if key not in reference:
                reference[key] = sklearn_scores(truth, predicted)
            for policy in POLICIES:
                s = scores(counts, policy)
                if s["edge_case"] == "none":
                    assert_matches_sklearn(s, reference[key], (truth, predicted, policy))
            assert_matches_sklearn_policy(
                scores(counts, "sklearn"), reference[key], (truth, predicted)
            )
    assert n_pairs == sum(4**n for n in range(1, 6))
    assert len(reference) == sum(math.comb(n + 3, 3) for n in range(1, 6))  # every count tuple seen


@st.composite
def mask_pairs(draw):
    size = draw(st.one_of(st.integers(1, 5), st.integers(1, 400)))

    def mask():
        kind = draw(st.sampled_from(["random", "random", "random", "zeros", "ones", "sparse"]))
        if kind == "zeros":
            return np.zeros(size, bool)
        if kind == "ones":
            return np.ones(size, bool)
        if kind == "sparse":
            out = np.zeros(size, bool)
            out[draw(st.integers(0, size - 1))] = True
            return out
        return draw(hnp.arrays(bool, size))

    return mask(), mask()


@settings(max_examples=40, deadline=None)
@given(mask_pairs(), st.sampled_from(["bool", "uint8_255", "float", "int16"]))
def test_random_masks_against_sklearn(pair, encoding):
    truth, predicted = pair
    encode = {
        "bool": lambda m: m,
        "uint8_255": lambda m: m.astype(np.uint8) * np.uint8(255),
        "float": lambda m: m.astype(np.float32) * np.float32(0.5),
        "int16": lambda m: m.astype(np.int16) * np.int16(-3),
    }[encoding]
    counts = confusion_counts(encode(truth), encode(predicted))
    assert counts == sklearn_counts(truth, predicted)
    reference = sklearn_scores(truth, predicted)
    s = scores(counts)
    if s["edge_case"] == "none":
        assert_matches_sklearn(s, reference, counts)
    assert_matches_sklearn_policy(scores(counts, "sklearn"), reference, counts)


def test_thousands_of_seeded_random_masks_against_sklearn():
    """3000 random pairs of 1 to 400 pixels, about a tenth of them degenerate (all 0, all 1): counts
    against sklearn's confusion matrix for every pair, scores for the first 200 distinct counts
    (sklearn's scores are functions of the counts; 8 sklearn calls per comparison cost ~20 ms)."""
    rng = np.random.default_rng(2024)
    reference = {}
    n_pairs = 0
    for size in (1, 2, 3, 8, 33, 150, 400):
        n = 3000 // 7
        density = rng.random((n, 1))
        density[rng.random(n) < 0.1] = 0.0  # all background
        density[rng.random(n) < 0.1] = 1.0  # all foreground
        truths = rng.random((n, size)) < density
        flip = rng.random((n, size)) < rng.random((n, 1)) * 0.6
        predictions = np.where(rng.random((n, 1)) < 0.05, rng.random((n, 1)) < 0.5, truths ^ flip)
        for truth, predicted, expected in zip(
            truths, predictions, _sklearn_counts_of_many(truths, predictions)
        ):
            n_pairs += 1
            counts = confusion_counts(truth, predicted)
            assert counts == expected, (truth, predicted)
            key = tuple(counts.values())
            if key in reference or len(reference) >= 200:
                continue
            reference[key] = sklearn_scores(truth, predicted)
            if edge_case(counts) == "none":
                for policy in POLICIES:
                    assert_matches_sklearn(scores(counts, policy), reference[key], counts)
            assert_matches_sklearn_policy(scores(counts, "sklearn"), reference[key], counts)
    assert n_pairs >= 2990 and len(reference) == 200


def test_large_counts_against_sklearn_with_sample_weights():
    """Counts up to 1e12 (whole datasets): four weighted samples stand for the four counts."""
    rng = np.random.default_rng(20240601)
    truth, predicted = np.array([1, 1, 0, 0], bool), np.array([1, 0, 1, 0], bool)
    for _ in range(15):
        tp, fn, fp, tn = (int(v) for v in rng.integers(1, 10 ** int(rng.integers(1, 13)), 4))
        weights = np.array([tp, fn, fp, tn], np.int64)
        counts = {"tp": tp, "fp": fp, "fn": fn, "tn": tn}
        assert sklearn_counts(truth, predicted, sample_weight=weights) == counts
        assert_matches_sklearn(scores(counts), sklearn_scores(truth, predicted, weights), counts)


def test_seeded_2d_masks_against_sklearn():
    """Image-like 2-D masks of various densities, with the scores of every policy where defined."""
    rng = np.random.default_rng(7)
    for _ in range(15):
        shape = tuple(int(n) for n in rng.integers(1, 60, 2))
        truth = rng.random(shape) < rng.random()
        predicted = np.where(rng.random(shape) < rng.random() * 0.5, ~truth, truth)
        counts = confusion_counts(truth, predicted)
        assert counts == sklearn_counts(truth.ravel(), predicted.ravel())
        reference = sklearn_scores(truth.ravel(), predicted.ravel())
        if edge_case(counts) == "none":
            for policy in POLICIES:
                assert_matches_sklearn(scores(counts, policy), reference, counts)
        assert_matches_sklearn_policy(scores(counts, "sklearn"), reference, counts)


# ------------------------------------------------------------------------------------------------
# ROI, confusion maps, sums
# ------------------------------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 40), st.integers(1, 40))
def test_roi_excludes_outside_pixels(seed, height, width):
    rng = np.random.default_rng(seed)
    truth = rng.random((height, width)) < rng.random()
    predicted = rng.random((height, width)) < rng.random()
    roi = rng.random((height, width)) < rng.random()
    expected = (
        sklearn_counts(truth[roi], predicted[roi]) if roi.any() else dict.fromkeys(COUNT_NAMES, 0)
    )
    assert confusion_counts(truth, predicted, roi=roi) == expected
    # 0/255 ROI and masks behave like booleans.

    def as255(m):
        return m.astype(np.uint8) * np.uint8(255)

    assert confusion_counts(as255(truth), as255(predicted), roi=as255(roi)) == expected
    assert sum(expected.values()) == int(roi.sum())


def test_roi_shape_mismatch():
    with pytest.raises(ValueError, match="roi"):
        confusion_counts(ORIGINAL, PREDICTED, roi=[1] * 8)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 30), st.integers(1, 30), st.booleans())
def test_confusion_map_codes_and_counts(seed, height, width, with_roi):
    rng = np.random.default_rng(seed)
    truth = rng.random((height, width)) < 0.4
    predicted = rng.random((height, width)) < 0.4
    roi = rng.random((height, width)) < 0.7 if with_roi else None
    code = confusion_map(truth.astype(np.uint8) * 255, predicted, roi=roi)
    assert code.dtype == np.uint8 and code.shape == truth.shape
    expected = np.where(truth, np.where(predicted, 3, 2), np.where(predicted, 1, 0))
    if with_roi:
        expected[~roi] = 4
    np.testing.assert_array_equal(code, expected)
    assert (TN, FP, FN, TP, IGNORED) == (0, 1, 2, 3, 4)
    inside = code != IGNORED
    np.testing.assert_array_equal(code[inside] & 1, predicted[inside])
    np.testing.assert_array_equal(code[inside] >> 1, truth[inside])
    assert counts_from_map(code) == confusion_counts(truth, predicted, roi=roi)


def test_confusion_map_does_not_modify_its_inputs():
    truth = np.array(ORIGINAL, bool)
    predicted = np.array(PREDICTED, bool)
    confusion_map(truth, predicted, roi=np.ones(9, bool))
    assert truth.tolist() == [bool(v) for v in ORIGINAL]
    assert predicted.tolist() == [bool(v) for v in PREDICTED]


def test_add_counts_sums_tiles_to_the_whole():
    rng = np.random.default_rng(3)
    truth = rng.random((50, 70)) < 0.3
    predicted = rng.random((50, 70)) < 0.3
    parts = [
        confusion_counts(truth[y : y + 16, x : x + 16], predicted[y : y + 16, x : x + 16])
        for y in range(0, 50, 16)
        for x in range(0, 70, 16)
    ]
    assert add_counts(*parts) == confusion_counts(truth, predicted)
    assert add_counts() == dict.fromkeys(COUNT_NAMES, 0)
    assert add_counts(
        {"tp": 1, "fp": 2, "fn": 3, "tn": 4}, {"tp": 10, "fp": 20, "fn": 30, "tn": 40}
    ) == {"tp": 11, "fp": 22, "fn": 33, "tn": 44}
    # numpy integers (e.g. read back from a table) are accepted and returned as Python ints.
    total = add_counts(
        {"tp": np.int64(2**40), "fp": np.uint32(1), "fn": 0, "tn": 0},
        {"tp": 1, "fp": 0, "fn": 0, "tn": 0},
    )
    assert total["tp"] == 2**40 + 1 and type(total["tp"]) is int


# ------------------------------------------------------------------------------------------------
# Input validation
# ------------------------------------------------------------------------------------------------


def test_shape_mismatch_is_a_value_error():
    with pytest.raises(ValueError, match="shape"):
        confusion_counts(np.zeros((3, 4)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="shape"):
        confusion_map(np.zeros((3, 4)), np.zeros((3, 5)))


@pytest.mark.parametrize("bad", [np.array(["a", "b"]), np.array([None, 1], dtype=object)])
def test_non_numeric_input_is_a_type_error(bad):
    with pytest.raises(TypeError, match="truth"):
        confusion_counts(bad, [0, 1])
    with pytest.raises(TypeError, match="predicted"):
        confusion_counts([0, 1], bad)
    with pytest.raises(TypeError, match="roi"):
        confusion_counts([0, 1], [0, 1], roi=bad)


def test_uint8_0_255_masks_work_like_booleans():
    truth = np.array(ORIGINAL, np.uint8) * 255
    predicted = np.array(PREDICTED, np.uint8) * 255
    assert (
        confusion_counts(truth, predicted)
        == confusion_counts(np.array(ORIGINAL, bool), np.array(PREDICTED, bool))
        == {"tp": 3, "fp": 1, "fn": 1, "tn": 4}
    )
    np.testing.assert_array_equal(
        confusion_map(truth, predicted), confusion_map(ORIGINAL, PREDICTED)
    )


# ------------------------------------------------------------------------------------------------
# The article's KESM figures, to the last digit
# ------------------------------------------------------------------------------------------------


def test_kesm_article_figures(kesm, kesm_median3):
    _, truth = kesm
    threshold = threshold_from_histogram(tile_histogram(kesm_median3), "otsu")
    assert threshold == 79
    predicted = apply_threshold(kesm_median3, threshold)
    np.testing.assert_array_equal(predicted, kesm_median3 > 79)
    counts = confusion_counts(truth, predicted)
    assert counts == {"tp": 5595, "fp": 122, "fn": 1863, "tn": 254564}
    s = scores(counts)
    assert s["accuracy"] == 0.9924278259277344
    assert s["f1"] == 0.8493358633776091
    assert s["mcc"] == 0.8533910225863214
    assert s["edge_case"] == "none"
    assert_matches_sklearn(s, sklearn_scores(truth.ravel() > 0, predicted.ravel()), "kesm")
