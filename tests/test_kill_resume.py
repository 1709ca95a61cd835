"""An interrupted run resumes to the same results, and leaves no debris (issue 12).

A small multi-sample run is SIGKILLed (the whole process group: snakemake and its jobs, as a killed
terminal or a cluster's time limit would) at three seeded points, each in the middle of a write
(a temporary output beside its final name exists), each time resumed with the README's command (with `--unlock` first when Snakemake asks for it), and finally compared byte for
byte with an uninterrupted run.  Nothing may be left behind: no `.partial-<pid>` files or scratch
folders beside the outputs, no incomplete markers.
"""

import base64
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
    return [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--cores",
        "2",
        "--configfile",
        str(workdir.parent / "config.yaml"),
        "--directory",
        str(workdir),
    ]


def run(workdir, *args):
    result = subprocess.run(
        command(workdir) + list(args), check=False, capture_output=True, text=True, timeout=600
    )
    return result.returncode, result.stdout + result.stderr


def resume(workdir):
    code, output = run(workdir)
    if code != 0 and "--unlock" in output:  # a killed run leaves its lock: Snakemake says so
        assert run(workdir, "--unlock")[0] == 0
        code, output = run(workdir)
    assert code == 0, output[-5000:]


def temporaries(workdir):
    """What writes leave beside their outputs while they run (and a killed one leaves behind)."""
    found = []
    for folder in ("results", "logs", "benchmarks"):
        for path in (workdir / folder).rglob("*"):
            if any(mark in path.name for mark in DEBRIS) or path.name.startswith("tmp"):
                found.append(path)
    return found


def kill_during_a_write(workdir, logs):
    """Start the README's command (after `--unlock` where Snakemake asks for it); once ``logs`` step
    logs exist, SIGKILL its process group as soon as a temporary output appears, i.e. in the middle
    of a write.  Returns whether it was killed, and whether it left temporaries behind."""
    for _ in range(2):
        output = workdir.parent / "output.txt"
        with open(output, "w") as handle:
            process = subprocess.Popen(
                command(workdir), stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
            )
            deadline = time.monotonic() + 300
            while process.poll() is None and time.monotonic() < deadline:
                if len(list((workdir / "logs").rglob("*.log"))) >= logs and temporaries(workdir):
                    break
                time.sleep(0.002)
            running = process.poll() is None
            if running:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if running or "--unlock" not in output.read_text():
            return running, bool(temporaries(workdir))
        assert run(workdir, "--unlock")[0] == 0
    return False, False


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
        image = rng.integers(0, 256, (320, 448), dtype=np.uint8)
        tifffile.imwrite(tmp_path / f"image{index}.tif", image, photometric="minisblack")
        tifffile.imwrite(
            tmp_path / f"truth{index}.tif",
            ((image > 120) * 255).astype(np.uint8),
            photometric="minisblack",
        )
        rows.append(
            {
                "sample": f"s{index}",
                "image": tmp_path / f"image{index}.tif",
                "ground_truth": tmp_path / f"truth{index}.tif",
            }
        )
    config = {
        "samples": str(write_sheet(tmp_path / "samples.tsv", rows)),
        "methods": ["otsu", "li"],
        "tiling": {"tile_size": 128},  # 3 x 4 tiles, one chunk: chunk files, stitched files, tables
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
    # Three seeded points, one in each third of the run: the first write after the k-th job has
    # started (a resumed run keeps the earlier logs, so each point lies further on).
    thirds = np.linspace(1, total_logs - 1, 4).astype(int)
    points = [seeded.randint(thirds[i], thirds[i + 1] - 1) for i in range(3)]
    kills = [kill_during_a_write(killed, point) for point in points]
    assert sum(killed for killed, _ in kills) >= 2, (points, total_logs, kills)  # inside the runs
    assert any(left for _, left in kills), kills  # and at least one left debris to clean
    resume(killed)
    assert digests(killed / "results") == digests(clean / "results")
    # A kill between a job's last write and Snakemake's bookkeeping can leave Snakemake's own
    # incomplete marker on a complete file that the resumed run did not need again; the next run
    # (rerun-incomplete, in the profile) redoes that job. Results stay identical throughout.
    resume(killed)

    assert digests(killed / "results") == digests(clean / "results")
    # (.snakemake/scripts keeps Snakemake's own copies of killed jobs' scripts: not ours to clean)
    assert temporaries(killed) == []
    # Snakemake 9 checks its incomplete markers only for the jobs of the DAG it starts with, so a
    # marker can outlive resumes on a file made by a job that joins after a checkpoint (e.g. a
    # tile map). Such a marker is Snakemake's bookkeeping, not debris: the file it marks must be
    # complete, i.e. identical to the clean run's (checked above), and must be a result file.
    incomplete = killed / ".snakemake" / "incomplete"
    marked = [
        base64.urlsafe_b64decode(p.name).decode()
        for p in (incomplete.rglob("*") if incomplete.exists() else [])
        if p.is_file()
    ]
    assert all(path.startswith("results/") and (killed / path).is_file() for path in marked), marked
