"""segval.imagej against the thresholds ImageJ 1.52i's AutoThresholder returned (../shared)."""

from pathlib import Path

import numpy as np
import pytest

from segval import imagej
from segval.imagej import IJ_METHODS, ThresholdNotFound, ij_threshold

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "shared/data/imagej"
REFERENCE = REFERENCE_DIR / "thresholds.tsv"

# ImageJ's method names (the reference columns) -> segval's.  ImageJ's "IJ_IsoData" is its
# original IsoData without Default's clipping of a dominant mode; segval exposes only Default,
# which gives the same value on every reference histogram.
COLUMNS = {
    "Default": "ij_default",
    "Huang": "ij_huang",
    "Intermodes": "ij_intermodes",
    "IsoData": "ij_isodata",
    "IJ_IsoData": "ij_default",
    "Li": "ij_li",
    "MaxEntropy": "ij_maxentropy",
    "Mean": "ij_mean",
    "MinError": "ij_minerror",
    "Minimum": "ij_minimum",
    "Moments": "ij_moments",
    "Otsu": "ij_otsu",
    "Percentile": "ij_percentile",
    "RenyiEntropy": "ij_renyientropy",
    "Shanbhag": "ij_shanbhag",
    "Triangle": "ij_triangle",
    "Yen": "ij_yen",
}
# Columns where ImageJ's 0 means "not found after 10000 iterations" (see the README).
FAILURE_COLUMNS = {"Intermodes", "Minimum"}
ABSENT = f"../shared/data/imagej not present: {REFERENCE} holds the ImageJ reference thresholds"


def _load_reference():
    """{case: (histogram, {column: threshold})}, or None when ../shared is absent."""
    if not REFERENCE.is_file():
        return None
    lines = REFERENCE.read_text().splitlines()
    header = lines[0].split("\t")
    assert header[0] == "case" and header[-1] == "histogram", header
    columns = header[1:-1]
    table = {}
    for line in lines[1:]:
        if not line.strip():
            continue
        fields = line.split("\t")
        histogram = np.array(fields[-1].split(), dtype=np.int64)
        assert histogram.size == 256, fields[0]
        table[fields[0]] = (histogram, dict(zip(columns, map(int, fields[1:-1]))))
    return table


REFERENCE_TABLE = _load_reference()


def _params(failures: bool):
    if REFERENCE_TABLE is None:
        return [pytest.param(None, None, id="reference-absent")]
    return [
        pytest.param(case, column, id=f"{case}-{column}")
        for case, (_, thresholds) in REFERENCE_TABLE.items()
        for column, value in thresholds.items()
        if (column in FAILURE_COLUMNS and value == 0) == failures
    ]


def _reference(case):
    if REFERENCE_TABLE is None:
        pytest.skip(ABSENT)
    return REFERENCE_TABLE[case]


# ---------------------------------------------------------------------------------------------
# ImageJ's own numbers
# ---------------------------------------------------------------------------------------------


def test_reference_has_every_imagej_method():
    if REFERENCE_TABLE is None:
        pytest.skip(ABSENT)
    for case, (_, thresholds) in REFERENCE_TABLE.items():
        assert set(thresholds) == set(COLUMNS), case
    assert set(COLUMNS.values()) == set(IJ_METHODS)


@pytest.mark.parametrize(("case", "column"), _params(failures=False))
def test_matches_imagej(case, column):
    histogram, thresholds = _reference(case)
    assert ij_threshold(histogram, COLUMNS[column]) == thresholds[column]


@pytest.mark.parametrize(("case", "column"), _params(failures=True))
def test_imagej_failures_raise(case, column):
    histogram, _ = _reference(case)
    method = COLUMNS[column]
    with pytest.raises(ThresholdNotFound, match=rf"^{method}: .*not become bimodal after 10000"):
        ij_threshold(histogram, method)


def test_imagej_16bit_path_on_a_shifted_reference_histogram():
    """A 256-bin histogram occupying bins 0..255, placed at an offset in 65536 bins.

    Longer histograms are cut to their occupied range before the 1.52i method runs, so the result
    must be ImageJ's 256-bin threshold plus the offset, for every method.
    """
    case = "synthetic_bimodal_04"
    histogram, thresholds = _reference(case)
    assert histogram[0] > 0 and histogram[255] > 0, "the case must occupy bins 0..255"
    offset = 40000
    wide = np.zeros(65536, dtype=np.int64)
    wide[offset : offset + 256] = histogram
    for column, method in COLUMNS.items():
        assert ij_threshold(wide, method) == thresholds[column] + offset, column


# ---------------------------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------------------------


def test_methods_are_the_public_functions():
    assert len(IJ_METHODS) == 16 and len(set(IJ_METHODS)) == 16
    histogram = np.bincount(np.r_[np.full(30, 40), np.arange(20, 220), np.full(50, 180)])
    for method in IJ_METHODS:
        assert method.startswith("ij_") and method == method.lower()
        assert getattr(imagej, method)(histogram) == ij_threshold(histogram, method)


def test_accepts_lists_and_does_not_modify_the_input():
    histogram = np.zeros(256, dtype=np.int64)
    histogram[[0, 3, 60, 61, 62, 200, 255]] = [5, 9, 40, 80, 40, 30, 7]
    before = histogram.copy()
    for method in IJ_METHODS:
        try:
            from_array = ij_threshold(histogram, method)
        except ThresholdNotFound:
            from_array = None
        try:
            from_list = ij_threshold(histogram.tolist(), method)
        except ThresholdNotFound:
            from_list = None
        assert from_array == from_list, method
        assert isinstance(from_array, (int, type(None))) and not isinstance(from_array, bool)
    np.testing.assert_array_equal(histogram, before)


def test_threshold_not_found_is_a_value_error():
    assert issubclass(ThresholdNotFound, ValueError)


# ---------------------------------------------------------------------------------------------
# Edge cases
# ---------------------------------------------------------------------------------------------


def _outcome(histogram, method):
    try:
        return ij_threshold(histogram, method)
    except ThresholdNotFound:
        return "not found"


def test_single_occupied_bin_gives_imagej_degenerate_answers():
    histogram = np.zeros(256, dtype=np.int64)
    histogram[100] = 500
    # What ImageJ 1.52i's code returns; its -1 ("not found", reported as 0) raises here.
    expected = {
        "ij_default": 128,  # IJ_IsoData's "no range" answer: the middle bin
        "ij_huang": "not found",
        "ij_intermodes": "not found",
        "ij_isodata": "not found",
        "ij_li": 0,
        "ij_maxentropy": "not found",
        "ij_mean": 100,
        "ij_minerror": 100,
        "ij_minimum": "not found",
        "ij_moments": "not found",
        "ij_otsu": 254,  # zero variance everywhere, ties go to the last candidate
        "ij_percentile": 0,
        "ij_renyientropy": 0,
        "ij_shanbhag": "not found",
        "ij_triangle": 98,
        "ij_yen": "not found",
    }
    assert {method: _outcome(histogram, method) for method in IJ_METHODS} == expected


def test_single_occupied_bin_of_a_16bit_histogram_is_that_bin():
    histogram = np.zeros(65536, dtype=np.int64)
    histogram[1234] = 77
    for method in IJ_METHODS:
        assert ij_threshold(histogram, method) == 1234, method


def test_two_occupied_bins():
    histogram = np.zeros(256, dtype=np.int64)
    histogram[10], histogram[200] = 30, 70
    outcomes = {method: _outcome(histogram, method) for method in IJ_METHODS}
    for method, outcome in outcomes.items():
        assert outcome == "not found" or 0 <= outcome <= 255, method
    assert outcomes["ij_otsu"] == 199  # any t in 10..199 separates; ImageJ keeps the last
    assert outcomes["ij_intermodes"] == 105
    assert outcomes["ij_isodata"] == 105
    assert outcomes["ij_default"] == 105
    assert outcomes["ij_mean"] == 143  # floor((10*30 + 200*70) / 100)
    assert outcomes["ij_percentile"] == 10
    assert outcomes["ij_huang"] == 10
    # Each class holds one grey level: zero entropy, which Kapur's and Yen's criteria reject.
    assert outcomes["ij_maxentropy"] == "not found"
    assert outcomes["ij_yen"] == "not found"


def test_two_bin_histogram():
    for method in IJ_METHODS:
        outcome = _outcome([3, 5], method)
        assert outcome == "not found" or outcome in (0, 1), method


@pytest.mark.parametrize("length", [2, 256, 65536])
def test_empty_histogram_is_rejected(length):
    for method in IJ_METHODS:
        with pytest.raises(ValueError, match="empty histogram") as info:
            ij_threshold(np.zeros(length, dtype=np.int64), method)
        assert not isinstance(info.value, ThresholdNotFound)


def test_16bit_histogram():
    grey = np.arange(65536)
    histogram = np.rint(
        900 * np.exp(-0.5 * ((grey - 1500) / 30.0) ** 2)
        + 400 * np.exp(-0.5 * ((grey - 2100) / 60.0) ** 2)
    ).astype(np.int64)
    occupied = np.flatnonzero(histogram)
    for method in IJ_METHODS:
        threshold = ij_threshold(histogram, method)
        assert isinstance(threshold, int), method
        assert occupied[0] <= threshold <= occupied[-1], (method, threshold)
    # The two modes are well separated: the clustering methods put the threshold between them.
    for method in ("ij_default", "ij_intermodes", "ij_isodata", "ij_otsu"):
        assert 1750 <= ij_threshold(histogram, method) <= 1950, method


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        (np.zeros((16, 16), dtype=np.int64), "1-D"),
        (np.array(7), "1-D"),
        (np.array([5]), "at least 2 bins"),
        (np.array([], dtype=np.int64), "at least 2 bins"),
        (np.array([1, -1, 3]), "non-negative"),
        (np.array([1.0, 2.0, 3.0]), "integers"),
        (np.array([True, False]), "integers"),
        (["a", "b"], "integers"),
        (np.array([1, 2**31]), "Java int"),
    ],
    ids=["2d", "0d", "one-bin", "no-bins", "negative", "float", "bool", "strings", "too-large"],
)
def test_invalid_histograms_are_rejected(counts, message):
    with pytest.raises(ValueError, match=message) as info:
        ij_threshold(counts, "ij_otsu")
    assert not isinstance(info.value, ThresholdNotFound)


def test_unknown_method_is_rejected():
    with pytest.raises(ValueError, match="unknown ImageJ method 'otsu'"):
        ij_threshold([1, 2, 3], "otsu")
    with pytest.raises(ValueError, match="unknown ImageJ method"):
        ij_threshold([1, 2, 3], "Otsu")


def test_java_arithmetic_helpers():
    assert imagej._wrap32(2**31) == -(2**31)
    assert imagej._wrap32(-(2**31) - 1) == 2**31 - 1
    assert imagej._wrap32(255 * 255 * 40000) == 255 * 255 * 40000 - 2**32
    assert imagej._java_round(2.5) == 3
    assert imagej._java_round(-2.5) == -2
    assert imagej._java_round(0.49999999999999994) == 0  # Math.round, not floor(x + 0.5)
    assert imagej._d2i(float("nan")) == 0
    assert imagej._d2i(-3.9) == -3
    assert imagej._d2i(1e300) == 2**31 - 1
