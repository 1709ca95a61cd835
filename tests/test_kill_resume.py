"""An interrupted run resumes to the same results, and leaves no debris (issue 12).

A small multi-sample run is SIGKILLed (the whole process group: snakemake and its jobs, as a killed
terminal or a cluster's time limit would) at three seeded points, each time resumed with the
README's command (with `--unlock` first when Snakemake asks for it), and finally compared byte for
byte with an uninterrupted run.  Nothing may be left behind: no `.partial-<pid>` files or scratch
folders beside the outputs, no incomplete markers.
"""

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile
import yaml

from workflow_helpers import REPO, write_sheet

pytestmark = pytest.mark.workflow

DEBRIS = (".partial-", ".scratch-")


def command(workdir):
    """The README's command (`snakemake --cores N --configfile my.yaml --directory /scratch/run1`)."""
    return [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--cores", "2",
            "--configfile", str(workdir.parent / "config.yaml"), "--directory", str(workdir)]


def run(workdir, *args):
    result = subprocess.run(command(workdir) + list(args), check=False, capture_output=True, text=True, timeout=600)
    return result.returncode, result.stdout + result.stderr


def resume(workdir):
    code, output = run(workdir)
    if code != 0 and "--unlock" in output:  # a killed run leaves its lock: Snakemake says so
        assert run(workdir, "--unlock")[0] == 0
        code, output = run(workdir)
    assert code == 0, output[-5000:]


def kill_after(workdir, logs, delay):
    """Start the README's command (after `--unlock` where Snakemake asks for it); SIGKILL its process
    group once ``logs`` step logs exist, plus ``delay`` seconds (so that some kills land in the
    middle of a write).  Returns whether it was still running when killed."""
    for _ in range(2):
        output = workdir.parent / "output.txt"
        with open(output, "w") as handle:
            process = subprocess.Popen(command(workdir), stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
            deadline = time.monotonic() + 300
            while process.poll() is None and time.monotonic() < deadline:
                if len(list((workdir / "logs").rglob("*.log"))) >= logs:
                    time.sleep(delay)
                    break
                time.sleep(0.02)
            running = process.poll() is None
            if running:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if running or "--unlock" not in output.read_text():
            return running
        assert run(workdir, "--unlock")[0] == 0
    return False


def digests(folder):
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(Path(folder).rglob("*"))
        if path.is_file()
    }


def test_killed_runs_resume_to_identical_results_without_debris(tmp_path):
    rng = np.random.default_rng(3)
    rows = []
    for index in range(2):
        image = rng.integers(0, 256, (96, 160), dtype=np.uint8)
        tifffile.imwrite(tmp_path / f"image{index}.tif", image, photometric="minisblack")
        tifffile.imwrite(tmp_path / f"truth{index}.tif", ((image > 120) * 255).astype(np.uint8), photometric="minisblack")
        rows.append({"sample": f"s{index}", "image": tmp_path / f"image{index}.tif", "ground_truth": tmp_path / f"truth{index}.tif"})
    config = {
        "samples": str(write_sheet(tmp_path / "samples.tsv", rows)),
        "methods": ["otsu", "li"],
        "tiling": {"tile_size": 64},  # 2 x 3 tiles, one chunk: chunk files, stitched files, tables
        "selection": {"bootstrap": 100},
        "outputs": {"denoised": False},  # fewer jobs: the test's time goes to the kills
        "metrics": {"boundary": False},
    }
    for name in ("clean", "killed"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.yaml").write_text(yaml.safe_dump(config))
    clean = tmp_path / "clean" / "run"
    resume(clean)
    total_logs = len(list((clean / "logs").rglob("*.log")))

    killed = tmp_path / "killed" / "run"
    seeded = random.Random(12)
    # Three seeded points, one in each third of the run: after the k-th job has started (a resumed
    # run keeps the earlier logs, so each point lies further on), plus up to 0.8 s.
    thirds = np.linspace(1, total_logs - 1, 4).astype(int)
    points = [seeded.randint(thirds[i], thirds[i + 1] - 1) for i in range(3)]
    kills = [kill_after(killed, point, seeded.uniform(0, 0.8)) for point in points]
    assert sum(kills) >= 2, (points, total_logs)  # the points fell inside the runs
    resume(killed)

    assert digests(killed / "results") == digests(clean / "results")
    # (.snakemake/scripts keeps Snakemake's own copies of killed jobs' scripts: not ours to clean)
    debris = [p for folder in ("results", "logs", "benchmarks") for p in (killed / folder).rglob("*")
              if any(mark in p.name for mark in DEBRIS) or p.name.startswith("tmp")]
    assert debris == []
    incomplete = killed / ".snakemake" / "incomplete"
    assert not incomplete.exists() or [p for p in incomplete.rglob("*") if p.is_file()] == []
