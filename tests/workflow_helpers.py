"""Run the real snakemake on real files in a temporary directory (shared by the workflow tests)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import tifffile
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
KESM = SHARED / "data" / "kesm"


def write_sheet(path, rows):
    """Write a sample sheet from dicts (columns: the keys of the first row)."""
    columns = list(rows[0])
    lines = ["\t".join(columns)] + ["\t".join(str(row.get(c, "")) for c in columns) for row in rows]
    Path(path).write_text("\n".join(lines) + "\n")
    return path


def snakemake_command(workdir, *args, configfile=True):
    """The command line that runs this checkout's workflow in ``workdir`` (with its config.yaml)."""
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]
    command += ["--directory", str(workdir)]
    if configfile:
        command += ["--configfile", str(Path(workdir) / "config.yaml")]
    return command + [str(arg) for arg in args]


def run_snakemake(workdir, config, *args, cores=2, check=True, timeout=900):
    """Run the workflow in ``workdir`` with ``config`` (a dict written to ``workdir/config.yaml``).

    Returns the CompletedProcess; with ``check``, fails the test showing snakemake's output.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    command = snakemake_command(workdir, "--cores", cores, *args)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({result.returncode}): {' '.join(command)}\n"
            f"--- stdout ---\n{result.stdout[-5000:]}\n--- stderr ---\n{result.stderr[-8000:]}"
        )
    return result


def planned_jobs(workdir, config, *args):
    """{rule: count} of the jobs a dry run would execute."""
    result = run_snakemake(workdir, config, "--dry-run", "--quiet", "rules", *args)
    counts = {}
    in_table = False
    for line in result.stdout.splitlines():
        parts = line.split()
        if parts[:2] == ["job", "count"]:
            in_table = True
            continue
        if in_table and len(parts) == 2 and parts[1].isdigit():
            if parts[0] == "total":
                break
            counts[parts[0]] = int(parts[1])
    return counts


def write_tiff(path, array, **kwargs):
    tifffile.imwrite(path, np.asarray(array), photometric="minisblack", **kwargs)
    return path


def read_tiff(path):
    return tifffile.imread(path)
