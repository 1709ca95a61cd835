"""Run every benchmark in turn (figures on stdout, the workflow's also in bench/out/workflow.md).

The large-data benchmark takes ~15 minutes and ~8 GB of disk; `--quick` skips it.
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUICK = [
    "bench_metrics.py",
    "bench_thresholds.py",
    "bench_chain.py",
    "bench_local_thresholds.py",
    "bench_corrections.py",
    "bench_boundary.py",
    "bench_zarr.py",
]


def main():
    scripts = QUICK + ([] if "--quick" in sys.argv else ["bench_workflow.py"])
    for script in scripts:
        print(f"\n=== {script}", flush=True)
        subprocess.run([sys.executable, str(HERE / script)], check=True)


if __name__ == "__main__":
    main()
