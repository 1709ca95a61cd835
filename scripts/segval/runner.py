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
from types import SimpleNamespace

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


class Named(list):
    """A list whose items can also be reached by name, like Snakemake's ``snakemake.input``.

    Values that are lists are flattened into the list and kept whole under their name; a plain list
    gives unnamed values.

    Examples
    --------
    >>> files = Named({"plan": "p.json", "roi": [], "chunks": ["a.tif", "b.tif"]})
    >>> files.plan, files.roi, files[1], files.get("zarr", []), len(files)
    ('p.json', [], 'a.tif', [], 3)
    >>> Named(["mask.tif"])[0]
    'mask.tif'
    """

    def __init__(self, mapping=None):
        if isinstance(mapping, (list, tuple)):
            mapping = {str(i): value for i, value in enumerate(mapping)}
        mapping = dict(mapping or {})
        values = []
        for value in mapping.values():
            values.extend(value if isinstance(value, (list, tuple)) else [value])
        super().__init__(values)
        self._names = mapping

    def __getattr__(self, name):
        try:
            return self.__dict__["_names"][name]
        except KeyError:
            raise AttributeError(name) from None

    def get(self, name, default=None):
        return self._names.get(name, default)

    def keys(self):
        return self._names.keys()

    def items(self):
        return self._names.items()


def step_arguments(call, config):
    """The ``snakemake``-like object a step's ``main`` reads, for one step of a batch job.

    Parameters
    ----------
    call : dict
        ``{"step": name, "input": {...}, "output": {...}, "params": {...}, "wildcards": {...}}``, as
        the workflow lists a batch job's steps (rules/common.smk, ``batch_calls``).
    config : dict
        The workflow's configuration.

    Examples
    --------
    >>> smk = step_arguments({"step": "metrics", "output": {"metrics": "m.tsv"}}, {})
    >>> smk.rule, smk.output.metrics, smk.output[0], list(smk.input)
    ('metrics', 'm.tsv', 'm.tsv', [])
    """
    return SimpleNamespace(
        rule=call["step"],
        input=Named(call.get("input")),
        output=Named(call.get("output")),
        params=Named(call.get("params")),
        wildcards=Named(call.get("wildcards")),
        log=[],
        threads=1,
        config=config,
    )
