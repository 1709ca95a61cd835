"""segval.masks: foreground rules, distinct values and the not-binary error message."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segval.errors import SegvalError
from segval.masks import RULES, ThresholdTable, binarize, check_binary, distinct_values


def _labels(dtype, shape=(30, 40), n_values=5, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype) == bool:
        return rng.random(shape) < 0.3
    values = np.array([0, 1, 7, 100, 255, 254, 3, 2][:n_values])
    if np.dtype(dtype).kind == "f":
        values = values.astype(np.float64) - 0.5
        values[0] = 0.0
    if np.dtype(dtype) == np.int16:
        values = values - 50
        values[0] = 0
    return rng.choice(values, size=shape).astype(dtype)


@pytest.mark.parametrize("dtype", [bool, np.uint8, np.uint16, np.int16, np.float32])
def test_binarize_rules(dtype):
    array = _labels(dtype)
    np.testing.assert_array_equal(binarize(array), array.astype(np.float64) != 0)
    np.testing.assert_array_equal(binarize(array, "nonzero"), array.astype(np.float64) != 0)
    np.testing.assert_array_equal(binarize(array, "labels"), array.astype(np.float64) != 0)
    np.testing.assert_array_equal(binarize(array, "invert"), array.astype(np.float64) == 0)
    if np.dtype(dtype).kind in "ui":
        value = int(array.flat[np.flatnonzero(array)[0]])
        for rule in (
            value,
            np.int64(value),
            np.uint8(value) if 0 <= value < 256 else np.int16(value),
        ):
            got = binarize(array, rule)
            assert got.dtype == bool
            np.testing.assert_array_equal(got, array.astype(np.int64) == value)
        assert not binarize(array, 12345).any() or (array == 12345).any()


def test_binarize_on_0_255_masks_and_inverted_polarity():
    truth = np.array([[0, 255], [255, 0]], np.uint8)
    assert binarize(truth).tolist() == [[False, True], [True, False]]
    assert binarize(truth, "invert").tolist() == [[True, False], [False, True]]
    assert binarize(truth, 255).tolist() == [[False, True], [True, False]]
    assert binarize(truth, 1).tolist() == [[False, False], [False, False]]
    assert binarize([[0, 1]]).tolist() == [[False, True]]  # array-likes are accepted


@pytest.mark.parametrize("rule", ["nonZero", "foreground", "", 1.0, 255.0, True, False, None])
def test_binarize_rejects_unknown_rules(rule):
    with pytest.raises(ValueError, match="unknown foreground rule") as error:
        binarize(np.zeros((2, 2), np.uint8), rule)
    for name in RULES:
        assert name in str(error.value)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["bool", "uint8", "uint16", "int16", "float32"]),
    st.sampled_from([(50,), (7, 9), (3, 5, 4), (1, 1), (0,)]),
    st.integers(1, 12),
    st.integers(1, 20),
    st.integers(0, 2**32 - 1),
    st.booleans(),
)
def test_distinct_values_equals_numpy_unique(dtype, shape, n_values, limit, seed, strided):
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        array = rng.random(shape) < rng.random()
    else:
        info = np.finfo(dtype) if dtype == "float32" else np.iinfo(dtype)
        low, high = (
            (0, 65535) if dtype == "uint16" else ((-1000, 1000) if dtype != "uint8" else (0, 255))
        )
        low, high = max(low, int(info.min)), min(high, int(info.max))
        palette = rng.integers(low, high + 1, n_values)
        array = rng.choice(palette, size=shape).astype(dtype)
    if strided and array.ndim >= 2:
        array = array[:, ::2]
    got = distinct_values(array, limit=limit)
    expected = np.unique(array)[:limit]
    assert got.dtype == array.dtype
    np.testing.assert_array_equal(got, expected)


def test_distinct_values_limit_on_booleans():
    assert distinct_values(np.array([False, True]), limit=1).tolist() == [False]


def test_distinct_values_default_limit_shows_one_more_than_the_message():
    array = np.arange(20, dtype=np.uint8).reshape(4, 5)
    np.testing.assert_array_equal(distinct_values(array), np.arange(9))
    np.testing.assert_array_equal(
        distinct_values(np.array([65535, 0, 65535], np.uint16)), [0, 65535]
    )
    assert distinct_values(np.zeros((3, 3), bool)).tolist() == [False]
    assert distinct_values(np.ones((3, 3), bool)).tolist() == [True]


def test_check_binary_accepts_masks():
    for values in (
        [0, 255],
        [0, 1],
        [0],
        [255],
        [False, True],
        np.array([0, 255, 255, 0], np.uint8),
    ):
        for rule in ("nonzero", "invert"):
            check_binary(values, rule, "truth.png")  # no error
    check_binary([0, 7], 7, "truth.png")
    check_binary([0], 7, "truth.png")  # an image without the class: empty, but legitimate
    check_binary([0, 3, 5], 7, "classes.png")  # a multi-class mask may lack the class
    check_binary(list(range(40)), "labels", "labels.tif")


@pytest.mark.parametrize(
    "rule, values, expected",
    [
        (
            "nonzero",
            [200, 255],
            "no 0: under foreground rule 'nonzero' every pixel would be foreground",
        ),
        ("invert", [3, 7], "no 0: under foreground rule 'invert' every pixel would be background"),
        (1, [0, 255], "not the foreground value 1: every pixel would be background"),
    ],
)
def test_check_binary_rejects_masks_that_would_be_all_one_class(rule, values, expected):
    with pytest.raises(SegvalError) as error:
        check_binary(values, rule, "truth.png")
    message = str(error.value)
    assert message.startswith("truth.png: ") and expected in message
    assert "Fix: set ground_truth.foreground in the config" in message
    with pytest.raises(SegvalError, match="prediction.foreground"):
        check_binary(values, rule, "unet.png", what="prediction 'unet'")


def test_check_binary_of_an_roi_asks_for_a_zero_outside_not_a_config_change():
    for values in ([200, 255], [0, 17, 255]):
        with pytest.raises(SegvalError) as error:
            check_binary(values, "nonzero", "fov.png", what="ROI")
        message = str(error.value)
        assert (
            message.startswith("fov.png: ROI ")
            and "Fix: give an ROI mask with two values, 0 outside" in message
        )
        assert "foreground" not in message.split("Fix:")[1]


def test_check_binary_while_reading_only_fails_on_what_more_values_cannot_undo():
    check_binary([0, 255], 1, "truth.png", complete=False)  # value 1 may come in a later band
    with pytest.raises(SegvalError):
        check_binary([0, 17, 255], "nonzero", "truth.png", complete=False)


def test_check_binary_names_the_file_and_the_values():
    with pytest.raises(SegvalError) as error:
        check_binary(np.array([0, 17, 255], np.uint8), "nonzero", "data/gt/sample_3.png")
    error = error.value
    message = str(error)
    assert error.path == "data/gt/sample_3.png"
    assert message.startswith("data/gt/sample_3.png: ")
    assert "not binary" in message and "'nonzero'" in message
    assert "0, 17, 255" in message and "..." not in message
    assert "labels" in message and "Fix:" in message  # says how to fix it


def test_check_binary_truncates_long_value_lists():
    values = distinct_values(np.arange(100, dtype=np.uint8))
    with pytest.raises(SegvalError) as error:
        check_binary(values, "invert", "gray.tif")
    message = str(error.value)
    assert "0, 1, 2, 3, 4, 5, 6, 7 ..." in message
    assert ", 8" not in message and "'invert'" in message and "gray.tif" in message


@pytest.mark.parametrize("rule", ["labels", 3, np.int64(3), np.uint16(200)])
def test_labels_and_integer_rules_accept_many_values(rule):
    check_binary(np.arange(300), rule, "labels.tif")  # no error


def test_check_binary_with_values_read_from_a_label_image():
    labels = _labels(np.uint16, n_values=6, seed=3)
    values = distinct_values(labels)
    with pytest.raises(SegvalError, match="labels.png"):
        check_binary(values, "nonzero", "labels.png")
    check_binary(values, "labels", "labels.png")
    check_binary(values, int(values[-1]), "labels.png")


def test_threshold_table_lookup_by_scope():
    image = ThresholdTable(
        {
            "scope": "image",
            "thresholds": [
                {"z": None, "row": None, "col": None, "threshold": 79.0, "status": "ok"}
            ],
        }
    )
    assert image.threshold(0) == 79.0 and image.threshold(5, 2, 3) == 79.0
    per_slice = ThresholdTable(
        {
            "scope": "slice",
            "thresholds": [
                {"z": z, "row": None, "col": None, "threshold": 10.0 + z, "status": "ok"}
                for z in range(3)
            ],
        }
    )
    assert [per_slice.threshold(z, 1, 1) for z in range(3)] == [10.0, 11.0, 12.0]
    per_tile = ThresholdTable(
        {
            "scope": "tile",
            "thresholds": [
                {
                    "z": 0,
                    "row": r,
                    "col": c,
                    "threshold": None if (r, c) == (1, 1) else float(10 * r + c),
                    "status": "threshold_not_found" if (r, c) == (1, 1) else "ok",
                }
                for r in range(2)
                for c in range(2)
            ],
        }
    )
    assert per_tile.threshold(0, 1, 0) == 10.0 and per_tile.threshold(0, 0, 1) == 1.0
    assert (
        per_tile.threshold(0, 1, 1) is None
        and per_tile.entry(0, 1, 1)["status"] == "threshold_not_found"
    )
    with pytest.raises(KeyError):
        per_tile.threshold(0, 5, 5)
