"""Run a workflow step: log to the rule's log file, turn user errors into clean messages.

Every ``scripts/<step>.py`` ends with ``run_step(main, snakemake)``.  The object passed in only needs
the attributes Snakemake's ``snakemake`` object has (``input``, ``output``, ``params``, ``log``,
``threads``, ``wildcards``), so steps can be called from a notebook or a test with a simple namespace.
"""

import logging
import re
import resource
import sys
import time
from pathlib import Path

from segval.errors import SegvalError

log = logging.getLogger("segval")
#: A step's last log line: its rule, seconds and peak RSS (getrusage: exact, unlike sampling).
DONE_LINE = "%s done in %.2f s, peak RSS %.0f MB"


def peak_rss_by_rule(log_folder):
    """``{rule: MB}``: the largest peak RSS of each rule's jobs, from the step logs under ``log_folder``."""
    peaks = {}
    for path in Path(log_folder).rglob("*.log"):
        for rule, megabytes in re.findall(
            r"(\w+) done in [\d.]+ s, peak RSS (\d+) MB", path.read_text()
        ):
            peaks[rule] = max(peaks.get(rule, 0), int(megabytes))
    return peaks


def _configure_logging(log_paths):
    handlers = [logging.StreamHandler(sys.stderr)]
    handlers[0].setLevel(logging.WARNING)
    for path in log_paths:
        handlers.append(logging.FileHandler(path, mode="w"))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        handlers=handlers,
        force=True,
    )


def run_step(main, smk):
    """Call ``main(smk)`` with logging set up; exit with status 1 and a clear message on a user error.

    A :class:`~segval.errors.SegvalError` is reported without a traceback (it is the user's to fix);
    any other exception keeps its traceback, in the log and on stderr, since it is a bug.
    """
    _configure_logging(list(getattr(smk, "log", []) or []))
    rule = getattr(smk, "rule", "step")
    if "cv2" in sys.modules:  # use the threads the rule declares, not every core of the node
        sys.modules["cv2"].setNumThreads(int(getattr(smk, "threads", 1)))
    started = time.perf_counter()
    try:
        main(smk)
    except SegvalError as error:
        log.error("%s", error.message)
        logging.shutdown()
        sys.exit(1)
    except Exception:
        log.exception("%s failed with an unexpected error (a bug: please report it)", rule)
        logging.shutdown()
        raise
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    log.info(DONE_LINE, rule, time.perf_counter() - started, peak_mb)
