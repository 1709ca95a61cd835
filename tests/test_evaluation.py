"""Method selection on a constructed dataset whose right answers are worked out by hand (F1 = 2TP / (2TP + FP + FN))."""

import math

import pytest

from segval.evaluation import select


def counts(tp, fp, fn, tn=800):
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn}


# "steady" is good everywhere (F1 160/180 on each image); "lucky" is perfect on i1 and i2 but fails on i3.
STEADY = {image: counts(80, 10, 10) for image in ("i1", "i2", "i3")}
LUCKY = {"i1": counts(100, 0, 0), "i2": counts(100, 0, 0), "i3": counts(20, 80, 80)}
TABLE = {"lucky": LUCKY, "steady": STEADY}


def test_ranking_by_pooled_score_from_summed_counts():
    result = select(TABLE, metric="f1", resamples=200)
    assert [row["method"] for row in result["ranking"]] == ["steady", "lucky"]
    assert [row["rank"] for row in result["ranking"]] == [1, 2]
    steady, lucky = result["ranking"]
    assert steady["pooled"] == pytest.approx(480 / 540, abs=1e-15)
    # Pooled over the summed counts (220, 80, 80), not the mean of per-image F1s (1, 1, 0.2).
    assert lucky["pooled"] == pytest.approx(440 / 600, abs=1e-15)
    assert lucky["mean"] == pytest.approx((1 + 1 + 0.2) / 3, abs=1e-15)
    for row in result["ranking"]:
        assert row["pooled_low"] <= row["pooled"] <= row["pooled_high"]
    assert result["winner"] == "steady" and result["in_sample"] == steady["pooled"]


def test_leave_one_image_out_is_lower_than_in_sample_when_choices_change():
    result = select(TABLE, metric="f1", resamples=200)
    assert result["scheme"] == "leave-one-image-out"
    # Without i3 "lucky" wins (F1 1 on i1 and i2) and is then scored on i3; otherwise "steady" wins.
    assert result["choices"] == {"i1": "steady", "i2": "steady", "i3": "lucky"}
    # Held-out counts: steady on i1 and i2, lucky on i3 -> TP 180, FP 100, FN 100.
    assert result["out_of_sample"] == pytest.approx(360 / 560, abs=1e-15)
    assert result["out_of_sample"] < result["in_sample"]


def test_train_test_split_chooses_on_train_and_scores_on_test():
    result = select(
        TABLE, metric="f1", split={"i1": "train", "i2": "train", "i3": "test"}, resamples=200
    )
    assert result["scheme"] == "train/test"
    assert result["choices"] == {"test": "lucky"}
    assert result["out_of_sample"] == pytest.approx(40 / 200, abs=1e-15)
    assert result["winner"] == "steady"  # the ranking itself still uses every image


def test_one_image_has_no_out_of_sample_estimate():
    result = select(
        {method: {"i1": rows["i1"]} for method, rows in TABLE.items()}, metric="f1", resamples=200
    )
    assert result["scheme"] == "none" and result["choices"] == {}
    assert math.isnan(result["out_of_sample"])
    assert result["winner"] in TABLE


def test_selection_is_reproducible():
    assert select(TABLE, metric="mcc", resamples=300, seed=3) == select(
        TABLE, metric="mcc", resamples=300, seed=3
    )


def test_methods_lacking_images_are_left_out_not_compared_on_fewer_images():
    # A segmenter's masks given for i3 only: it cannot be ranked against methods scored on all three.
    table = {**TABLE, "given.unet": {"i3": counts(90, 0, 0)}}
    result = select(table, metric="f1", resamples=200)
    assert [row["method"] for row in result["ranking"]] == ["steady", "lucky"]
    assert result["left_out"] == {"given.unet": ["i1", "i2"]}
    assert result["images"] == ["i1", "i2", "i3"]
    assert result["choices"] == {"i1": "steady", "i2": "steady", "i3": "lucky"}


def test_without_a_complete_method_all_are_ranked_on_their_shared_images():
    table = {
        "unet": {"i1": counts(50, 50, 0), "i2": counts(90, 10, 0)},
        "expert2": {"i2": counts(100, 0, 0), "i3": counts(1, 1, 1)},
    }
    result = select(table, metric="f1", resamples=200)
    assert result["images"] == ["i2"] and result["left_out"] == {}
    assert [row["method"] for row in result["ranking"]] == ["expert2", "unet"]
    assert [row["images"] for row in result["ranking"]] == [1, 1]
    assert result["scheme"] == "none"


def test_failed_thresholds_are_counted_in_the_ranking():
    failed = {**counts(0, 0, 100), "status": "threshold_not_found"}
    result = select(
        {
            "ij_minimum": {"i1": failed, "i2": counts(50, 0, 50)},
            "otsu": {"i1": counts(90, 0, 10), "i2": counts(90, 0, 10)},
        },
        metric="f1",
        resamples=200,
    )
    assert {row["method"]: row["not_found"] for row in result["ranking"]} == {
        "otsu": 0,
        "ij_minimum": 1,
    }


def test_references_are_the_human_level_never_ranked_nor_chosen():
    # A second expert who agrees better with the truth than any method must not win the selection.
    table = {**TABLE, "given.observer2": {i: counts(100, 0, 0) for i in ("i1", "i2", "i3")}}
    result = select(table, metric="f1", resamples=200, references=["given.observer2"])
    assert [row["method"] for row in result["ranking"]] == ["steady", "lucky"]
    assert result["winner"] == "steady" and "given.observer2" not in result["choices"].values()
    (human,) = result["references"]
    assert human["method"] == "given.observer2" and human["rank"] == "reference"
    assert human["pooled"] == 1.0 and human["images"] == 3
    without = select(TABLE, metric="f1", resamples=200)
    assert {k: v for k, v in result.items() if k != "references"} == {
        k: v for k, v in without.items() if k != "references"
    }


def test_chains_x_methods_are_ranked_together_and_chosen_without_the_held_out_image():
    # Two preprocessing chains x two methods: four candidate pipelines, ranked as one list.  In
    # sample bg25.otsu wins (steady); with i3 held out, m3.li (perfect on i1, i2) is chosen and then
    # scored on i3, which it fails: the estimate is nested (the choice never sees its test image).
    weak = {image: counts(60, 30, 30) for image in ("i1", "i2", "i3")}
    table = {"m3.otsu": weak, "m3.li": LUCKY, "bg25.otsu": STEADY, "bg25.li": weak}
    result = select(table, metric="f1", resamples=200)
    assert [row["method"] for row in result["ranking"]] == [
        "bg25.otsu",
        "m3.li",
        "m3.otsu",
        "bg25.li",
    ]
    assert result["winner"] == "bg25.otsu"
    assert result["choices"] == {"i1": "bg25.otsu", "i2": "bg25.otsu", "i3": "m3.li"}
    assert result["choices"]["i3"] != result["winner"]
    # Held out: bg25.otsu on i1 and i2 (80, 10, 10 each), m3.li on i3 (20, 80, 80).
    assert result["out_of_sample"] == pytest.approx(360 / 560, abs=1e-15)
    assert result["out_of_sample"] < result["in_sample"] == pytest.approx(480 / 540, abs=1e-15)
