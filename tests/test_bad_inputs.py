"""Bad inputs, one case per class, as a new user would make them (issue 12).

Each case says when the run must stop: ``parse`` (before any job: the config and the sheet are read
when the DAG is built) or ``plan`` (at the first job, before any processing); ``ok`` cases must run
(or, for ``plan``-level ones, pass the checks), possibly with a warning.  For every case: the message
names the file or key, the problem and the fix, no traceback is shown, nothing is left under a final
name in results/, nothing is written outside the working directory, and the inputs are unchanged.

Speed: the parse cases run Snakemake's own command line (`snakemake.cli.main`, as the `snakemake`
command does) in a process forked from one that has imported it once: ~0.7 s a case instead of ~3 s
of imports.  The plan cases share ONE real run of a sheet holding one sample per case (--keep-going:
every plan job runs and fails on its own).
The day-one cases of test_errors.py (an unknown method, a duplicate sample, a missing sheet, a
mask of another size, ...) are not repeated here.
"""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile

from workflow_helpers import snakemake_command

pytestmark = pytest.mark.workflow

H, W = 48, 64


def _rgb(*channels):
    return np.dstack(channels)[:, :, ::-1]  # cv2 writes BGR


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """The inputs every case draws on (tiny), and their digests (checked after every run)."""
    d = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(12)
    image = rng.integers(0, 256, (H, W), dtype=np.uint8)
    truth = (image > 128).astype(np.uint8) * 255
    tifffile.imwrite(d / "image.tif", image, photometric="minisblack")
    cv2.imwrite(str(d / "image.png"), image)
    cv2.imwrite(str(d / "truth.png"), truth)
    cv2.imwrite(str(d / "gray.png"), image)
    zero = np.zeros_like(truth)
    cv2.imwrite(str(d / "truth_green.png"), _rgb(zero, truth, zero))  # vessels drawn in green
    cv2.imwrite(
        str(d / "truth_grey_rgb.png"), _rgb(truth, truth, truth)
    )  # a grey mask saved as RGB
    cv2.imwrite(str(d / "roi_zero.png"), zero)
    cv2.imwrite(str(d / "roi_red.png"), _rgb(truth, zero, zero))
    cv2.imwrite(str(d / "narrow.png"), np.zeros((H, W - 4), np.uint8))
    tifffile.imwrite(d / "truth_stack3.tif", np.stack([truth] * 3), photometric="minisblack")
    for name, data in [
        ("image.tif", "trunc_image.tif"),
        ("image.png", "trunc_image.png"),
        ("truth.png", "trunc_truth.png"),
    ]:
        raw = (d / name).read_bytes()
        (d / data).write_bytes(raw[: len(raw) * 6 // 10])
    nan = np.full((H, W), np.nan, np.float32)
    tifffile.imwrite(d / "all_nan.tif", nan, photometric="minisblack")
    tifffile.imwrite(
        d / "all_inf.tif", np.full((H, W), np.inf, np.float32), photometric="minisblack"
    )
    some = image.astype(np.float32)
    some[:3, :1] = np.nan
    tifffile.imwrite(d / "some_nan.tif", some, photometric="minisblack")
    tifffile.imwrite(d / "int32.tif", image.astype(np.int32), photometric="minisblack")
    (d / "text.tif").write_text("not a TIFF\n")
    (d / "empty.png").write_bytes(b"")
    (d / "image.txt").write_text("pixels\n")
    (d / "no_images").mkdir()
    (d / "no_images" / "notes.txt").write_text("x")
    (d / "mixed").mkdir()
    cv2.imwrite(str(d / "mixed" / "z0.png"), image)
    cv2.imwrite(str(d / "mixed" / "z1.png"), image[:, :-8])
    (d / "folder").mkdir()
    return d, digest(d)


def digest(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(Path(folder).rglob("*"))
        if p.is_file()
    }


def tree(folder):
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*"))


def snakemake(workdir, config_text, *args, forked=False):
    """Run snakemake on ``config_text`` in ``workdir``: (exit code, stdout + stderr)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.yaml").write_text(config_text)
    argv = snakemake_command(workdir, "--cores", 2, *args)[3:]  # the arguments after `snakemake`
    if forked:
        return _forked_cli(argv, workdir.parent / "output.txt")
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", *argv],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"),
    )
    return result.returncode, result.stdout + result.stderr


def _forked_cli(argv, output_path):
    """`snakemake <argv>` in a forked child (stdout and stderr to ``output_path``)."""
    import snakemake.cli  # imported once, in the parent; each child starts with it loaded

    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            handle = os.open(output_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(handle, 1)
            os.dup2(handle, 2)
            sys.stdout = sys.stderr = os.fdopen(os.dup(1), "w", buffering=1)  # not pytest's capture
            snakemake.cli.main(argv)
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), Path(output_path).read_text()


def sheet_text(rows):
    columns = list(dict.fromkeys(column for row in rows for column in row))
    return (
        "\t".join(columns)
        + "\n"
        + "".join("\t".join(str(row.get(c, "")) for c in columns) + "\n" for row in rows)
    )


# --- before any job: config and sheet ---------------------------------------------------------
# (id, config lines (YAML, beside `samples:`), sheet (a row's changes, or raw text with {d} for the
# inputs folder), expected texts (the key or file, the problem); "ok" instead of texts: must pass)
GOOD = {"sample": "s1", "image": "{d}/image.tif", "ground_truth": "{d}/truth.png"}
PARSE_CASES = [
    # config values
    ("median_even", "median_size: 4", {}, ["`median_size`", "must be odd"]),
    ("median_negative", "median_size: -1", {}, ["`median_size`"]),
    ("channel_negative", "channel: -1", {}, ["`channel`"]),
    ("channel_name", "channel: red", {}, ["`channel`"]),
    ("tile_size_zero", "tiling: {tile_size: 0}", {}, ["`tiling.tile_size`"]),
    ("chunk_zero", "tiling: {chunk_megapixels: 0}", {}, ["`tiling.chunk_megapixels`"]),
    ("unknown_nested_key", "tiling: {tile: 64}", {}, ["`tiling`", "tile"]),
    ("pixel_size_negative", "metrics: {pixel_size: -0.5}", {}, ["`metrics.pixel_size`"]),
    ("pixel_size_dots", "metrics: {pixel_size: '..'}", {}, ["`metrics.pixel_size`"]),
    ("pixel_size_three", "metrics: {pixel_size: [1, 1, 1]}", {}, ["`metrics.pixel_size`"]),
    ("boundary_halo_zero", "metrics: {boundary_halo: 0}", {}, ["`metrics.boundary_halo`"]),
    ("bootstrap_small", "selection: {bootstrap: 10}", {}, ["`selection.bootstrap`"]),
    (
        "colour_out_of_range",
        "overlay: {colours: {tp: [0, 0, 300]}}",
        {},
        ["`overlay.colours.tp.2`"],
    ),
    ("foreground_float", "ground_truth: {foreground: 1.5}", {}, ["`ground_truth.foreground`"]),
    ("prediction_foreground", "prediction: {foreground: none}", {}, ["`prediction.foreground`"]),
    ("gaussian_negative", "preprocess: [{gaussian: -1}]", {}, ["`preprocess.0.gaussian`"]),
    ("chain_name_path", "preprocess: {'../x': [{median: 3}]}", {}, ["`preprocess`", "../x"]),
    ("chain_name_given", "preprocess: {given: [{median: 3}]}", {}, ["preprocess", "reserved"]),
    ("chain_even", "preprocess: {m4: [{median: 4}]}", {}, ["preprocess", "chain m4", "odd"]),
    ("chain_twice", "preprocess: {a: [{median: 3}], b: [{median: 3}]}", {}, ["a and b"]),
    ("chain_and_median_size", "median_size: 3\npreprocess: [{median: 3}]", {}, ["both"]),
    ("methods_empty", "methods: []", {}, ["`methods`"]),
    ("methods_string", "methods: otsu", {}, ["`methods`"]),
    ("methods_repeated", "methods: [otsu, otsu]", {}, ["`methods`", "non-unique"]),
    ("manual_nan", "methods: ['manual:nan']", {}, ["methods", "'manual:nan'", "finite"]),
    ("manual_inf", "methods: ['manual:-inf']", {}, ["methods", "'manual:-inf'", "finite"]),
    ("percentile_nan", "methods: ['percentile:nan']", {}, ["methods", "'percentile:nan'"]),
    ("percentile_range", "methods: ['percentile:101']", {}, ["methods", "within 0..100"]),
    (
        "manual_spaces_twice",
        "methods: ['manual:79', 'manual: 79']",
        {},
        ["methods", "'manual:79', 'manual: 79'", "same method"],
    ),
    ("method_takes_no_value", "methods: ['otsu:3']", {}, ["methods", "takes no value"]),
    ("method_path", "methods: ['manual:../../victim']", {}, ["methods", "needs a number"]),
    ("local_parameter_text", "methods: ['sauvola:k=high']", {}, ["methods", "needs a number"]),
    (
        "phantom_parent",
        "demo: {phantoms: {'../../victim': {shape: [32, 32]}}}",
        {},
        ["`demo.phantoms`", "../../victim"],
    ),
    (
        "phantom_absolute",
        "demo: {phantoms: {'/tmp/victim': {shape: [32, 32]}}}",
        {},
        ["`demo.phantoms`", "/tmp/victim"],
    ),
    (
        "phantom_separator",
        "demo: {phantoms: {'a/b': {shape: [32, 32]}}}",
        {},
        ["`demo.phantoms`", "a/b"],
    ),
    (
        "phantom_tiny",
        "demo: {phantoms: {p1: {shape: [8, 8]}}}",
        {},
        ["`demo.phantoms.p1.shape", "minimum of 16"],
    ),
    (
        "phantom_dtype",
        "demo: {phantoms: {p1: {shape: [32, 32], dtype: float32}}}",
        {},
        ["`demo.phantoms.p1.dtype`"],
    ),
    ("samples_folder", "samples: {d}/folder", None, ["folder", "sample sheet is a folder"]),
    ("samples_binary", "samples: {d}/truth.png", None, ["truth.png", "not UTF-8 text"]),
    # the sheet
    ("sample_all", "", {"sample": "ALL"}, ["samples.tsv, row 2", "'ALL' is reserved"]),
    ("sample_parent", "", {"sample": "../victim"}, ["samples.tsv, row 2", "`sample`"]),
    ("sample_absolute", "", {"sample": "/tmp/victim"}, ["samples.tsv, row 2", "`sample`"]),
    ("sample_separator", "", {"sample": "a/b"}, ["samples.tsv, row 2", "`sample`"]),
    ("sample_empty", "", {"sample": ""}, ["samples.tsv, row 2", "`sample`"]),
    ("image_empty", "", {"image": ""}, ["samples.tsv, row 2", "`image`"]),
    (
        "truth_missing",
        "",
        {"ground_truth": "{d}/nowhere.png"},
        ["samples.tsv, row 2", "nowhere.png", "does not exist"],
    ),
    (
        "roi_missing",
        "",
        {"roi": "{d}/nowhere.png"},
        ["samples.tsv, row 2", "nowhere.png", "does not exist"],
    ),
    (
        "sheet_pixel_size_zero",
        "",
        {"pixel_size": "0"},
        ["samples.tsv, row 2", "pixel_size '0'", "positive"],
    ),
    (
        "sheet_pixel_size_negative",
        "",
        {"pixel_size": "-1"},
        ["samples.tsv, row 2", "pixel_size '-1'"],
    ),
    ("sheet_pixel_size_dots", "", {"pixel_size": ".."}, ["samples.tsv, row 2", "pixel_size '..'"]),
    (
        "sheet_pixel_size_overflow",
        "",
        {"pixel_size": "1e999"},
        ["samples.tsv, row 2", "pixel_size '1e999'"],
    ),
    ("sheet_pixel_size_three", "", {"pixel_size": "1,1,1"}, ["samples.tsv, row 2", "`pixel_size`"]),
    ("split_unknown", "", {"split": "validation"}, ["samples.tsv, row 2", "`split`"]),
    (
        "truth_slices_without_truth",
        "",
        {"ground_truth": "", "truth_slices": "0"},
        ["samples.tsv, row 2", "without a ground_truth"],
    ),
    ("truth_slices_reversed", "", {"truth_slices": "3-1"}, ["samples.tsv, row 2", "truth_slices"]),
    (
        "prediction_label_path",
        "",
        {"prediction_../victim": "{d}/truth.png"},
        ["samples.tsv, row 2", "prediction_../victim"],
    ),
    (
        "sheet_extra_field",
        "",
        "sample\timage\ns1\t{d}/image.tif\textra\n",
        ["samples.tsv, row 2", "3 tab-separated fields"],
    ),
    (
        "sheet_commas",
        "",
        "sample,image\ns1,{d}/image.tif\n",
        ["samples.tsv", "missing column(s) sample, image"],
    ),
    ("sheet_header_only", "", "sample\timage\n", ["samples.tsv", "no rows"]),
    # what must work
    ("sheet_with_bom", "", "\ufeffsample\timage\ns1\t{d}/image.tif\n", "ok"),
    ("sheet_crlf_and_comments", "", "# my images\r\nsample\timage\r\ns1\t{d}/image.tif\r\n", "ok"),
    ("manual_distinct_values", "methods: ['manual:79', 'manual:80']", {}, "ok"),
    ("named_chains", "preprocess: {m3: [{median: 3}], bg: [{bgmedian: 25}], raw: []}", {}, "ok"),
]


@pytest.mark.parametrize("case", PARSE_CASES, ids=[case[0] for case in PARSE_CASES])
def test_stops_before_any_job(inputs, tmp_path, case):
    d, digests = inputs
    _, config, row, expected = case
    config = config.replace("{d}", str(d))
    if not config.startswith("samples:"):
        sheet = sheet_text([dict(GOOD, **row)]) if isinstance(row, dict) else row
        (tmp_path / "samples.tsv").write_text(sheet.replace("{d}", str(d)))
        methods = "" if "methods:" in config else "methods: [otsu, li]\n"
        config = f"samples: {tmp_path / 'samples.tsv'}\n{methods}{config}"
    before = tree(tmp_path.parent)
    code, output = snakemake(tmp_path / "run", config + "\n", "--dry-run", forked=True)
    if expected == "ok":
        assert code == 0, output[-3000:]
    else:
        assert code != 0, output[-3000:]
        for text in expected + ["Fix:"]:
            assert text in output, f"{text!r} not in:\n{output[-3000:]}"
        if "`" in expected[0]:  # a config key: the fix names the config file
            assert (
                str(tmp_path / "run" / "config.yaml") in output or "samples.tsv" in expected[0]
            ), output[-3000:]
    assert "Traceback" not in output and "Exception" not in output.replace("WorkflowError", ""), (
        output[-3000:]
    )
    results = tmp_path / "run" / "results"
    assert not results.exists() or tree(results) == []
    assert digest(d) == digests
    outside = [
        p
        for p in tree(tmp_path.parent)
        if p not in before and not p.startswith(f"{tmp_path.name}/")
    ]
    assert outside == [], outside


# --- at the first job (plan), one run for all ----------------------------------------------------
# (sample, sheet row's changes, expected texts in its plan log; "ok": the plan passes, texts are
# warnings that must be in its log)
PLAN_CASES = [
    (
        "truth_green",
        {"ground_truth": "{d}/truth_green.png"},
        ["truth_green.png", "colour image whose channels differ", "grey or 1-bit mask"],
    ),
    ("roi_red", {"roi": "{d}/roi_red.png"}, ["roi_red.png", "ROI is a colour image"]),
    (
        "prediction_green",
        {"prediction": "{d}/truth_green.png"},
        ["truth_green.png", "prediction 'external' is a colour image"],
    ),
    ("roi_empty", {"roi": "{d}/roi_zero.png"}, ["roi_zero.png", "ROI is empty"]),
    ("truncated_tiff", {"image": "{d}/trunc_image.tif"}, ["trunc_image.tif", "truncated"]),
    ("truncated_png", {"image": "{d}/trunc_image.png"}, ["trunc_image.png", "truncated"]),
    ("truncated_truth", {"ground_truth": "{d}/trunc_truth.png"}, ["trunc_truth.png", "truncated"]),
    ("all_nan", {"image": "{d}/all_nan.tif"}, ["all_nan.tif", "no finite pixel"]),
    ("all_inf", {"image": "{d}/all_inf.tif"}, ["all_inf.tif", "no finite pixel"]),
    ("int32", {"image": "{d}/int32.tif"}, ["int32.tif", "pixel type int32 is not supported"]),
    ("not_a_tiff", {"image": "{d}/text.tif"}, ["text.tif", "cannot read as TIFF"]),
    ("empty_png", {"image": "{d}/empty.png"}, ["empty.png", "not a valid PNG"]),
    ("unsupported_suffix", {"image": "{d}/image.txt"}, ["image.txt", "unsupported file type"]),
    ("folder_without_images", {"image": "{d}/no_images"}, ["no_images", "no image files"]),
    ("folder_of_mixed_slices", {"image": "{d}/mixed"}, ["mixed", "same size"]),
    ("truth_other_size", {"ground_truth": "{d}/narrow.png"}, ["narrow.png", "60 x 48 pixels"]),
    (
        "truth_more_slices",
        {"ground_truth": "{d}/truth_stack3.tif"},
        ["truth_stack3.tif", "3 slice(s)"],
    ),
    ("truth_gray", {"ground_truth": "{d}/gray.png"}, ["gray.png", "not binary"]),
    (
        "colour_image",
        {"image": "{d}/truth_green.png", "ground_truth": ""},
        ["truth_green.png", "3 channels"],
    ),
    ("truth_slices_beyond", {"truth_slices": "5"}, ["truth.png", "truth_slices"]),
    # what must pass, with a warning where something is dropped
    (
        "some_nan",
        {"image": "{d}/some_nan.tif"},
        "ok",
        ["some_nan.tif", "3 of 3072 pixels are NaN or infinite"],
    ),
    ("truth_grey_saved_as_rgb", {"ground_truth": "{d}/truth_grey_rgb.png"}, "ok", []),
]


@pytest.fixture(scope="module")
def plan_run(inputs, tmp_path_factory):
    d, _ = inputs
    root = tmp_path_factory.mktemp("plan")
    rows = [dict(GOOD, sample=case[0], **case[1]) for case in PLAN_CASES]
    rows = [{k: v.replace("{d}", str(d)) for k, v in row.items()} for row in rows]
    (root / "samples.tsv").write_text(sheet_text(rows))
    before = tree(root)
    code, output = snakemake(
        root / "run", f"samples: {root / 'samples.tsv'}\nmethods: [otsu, li]\n", "--keep-going"
    )
    return root, code, output, before


def test_plan_stage_runs_no_processing_and_leaves_nothing(inputs, plan_run):
    d, digests = inputs
    root, code, output, before = plan_run
    assert code != 0
    assert "Traceback" not in output, output[-5000:]
    results = root / "run" / "results"
    # At most the passing samples' plans (complete files), no `checked`, no processing of any sample
    # (not even the good ones, since a sample failed), no partial file under any name.
    passed = {f"plans/{case[0]}.json" for case in PLAN_CASES if case[2] == "ok"}
    assert set(tree(results)) <= passed | {"plans"}, tree(results)
    assert digest(d) == digests
    assert [p for p in tree(root) if p not in before and not p.startswith("run")] == []


@pytest.mark.parametrize("case", PLAN_CASES, ids=[case[0] for case in PLAN_CASES])
def test_stops_at_the_first_job(plan_run, case):
    root, _, output, _ = plan_run
    sample, _, expected, *warnings = case
    # Small images are checked in batches: one plan job (and log) checks every sample of a batch,
    # going on after a bad one, and names the sample in each error; the others (here: images whose
    # size their header does not tell) are checked by a plan job of their own.
    own = root / "run/logs/plan" / f"{sample}.log"
    if own.exists():
        log = own.read_text()
        mine = [line for line in log.splitlines() if " ERROR " in line]
    else:
        batches = [path.read_text() for path in (root / "run/logs").glob("batch/*/plan.log")]
        log = "".join(text for text in batches if sample in text)
        mine = [line for line in log.splitlines() if f" ERROR sample {sample}: " in line]
    if expected == "ok":
        for text in warnings[0]:
            assert text in log, log
        assert mine == [], log
        return
    for text in expected + ["Fix:"]:
        assert text in log, f"{text!r} not in:\n{log}"
    problem = mine[0].split(" ERROR ", 1)[1]
    assert output.count(problem) == 1, (
        f"printed {output.count(problem)} times: {problem}"
    )  # once, not thrice


# --- nothing is written outside the working directory -------------------------------------------
def test_no_config_or_sheet_value_writes_outside_the_working_directory(inputs, tmp_path):
    """Every config or sheet value that becomes part of a path, given `../` and absolute names, in a
    real run (not a dry run): the run stops, and the only new files are inside the working folder."""
    d, digests = inputs
    elsewhere = tmp_path / "elsewhere"  # where an absolute name would point
    sheet = tmp_path / "samples.tsv"
    routes = []
    for bad in ["../../victim", "..", str(elsewhere / "victim"), "a/../../victim"]:
        phantoms = "{" + f"'{bad}'" + ": {shape: [32, 32]}}"
        routes += [
            (f"demo: {{phantoms: {phantoms}}}", dict(GOOD)),
            ("", dict(GOOD, sample=bad)),
            ("", {**GOOD, f"prediction_{bad}": f"{d}/truth.png"}),
            (f"methods: ['manual:{bad}', 'sauvola:window_size={bad}']", dict(GOOD)),
        ]
    routes.append(
        ("", dict(GOOD, sample="ok", image=f"{d}/../{d.name}/image.tif"))
    )  # reading via .. is fine
    for index, (config, row) in enumerate(routes):
        workdir = tmp_path / "deep" / "er" / f"run{index}"
        sheet.write_text(sheet_text([{k: v.replace("{d}", str(d)) for k, v in row.items()}]))
        before = tree(tmp_path)
        methods = "" if "methods:" in config else "methods: [otsu]\n"
        code, output = snakemake(
            workdir, f"samples: {sheet}\n{methods}{config}\n", "--until", "plan", forked=True
        )
        assert "Traceback" not in output, output[-3000:]
        if row.get("sample") == "ok":
            assert code == 0, output[-3000:]
        else:
            assert code != 0 and "Fix:" in output, output[-3000:]
        new = [p for p in tree(tmp_path) if p not in before]
        assert all(
            p.startswith(f"deep/er/run{index}") or p in ("deep", "deep/er", "deep/er/output.txt")
            for p in new
        ), (config, row, new)
        assert not elsewhere.exists()
    assert digest(d) == digests
