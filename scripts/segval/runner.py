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


#: The most a job holds of what its steps share (:class:`SharedReads`): the whole chunk at the
#: default chunk size (a 17480 x 8026 KESM slice is 140 MB); beyond it, reads are not kept, so a
#: job's memory stays bounded however large `tiling.chunk_megapixels` is set.
SHARED_READS_BYTES = 512 * 2**20


class SharedReads:
    """Regions read once in a job that runs a step for each method of the same chunk.

    The ``segment`` step of each method reads the same denoised chunk, the ``confusion`` step of
    each method the same ground truth, the ``overlay`` step the same reduced image: the first call
    reads a region, the next get the same array (made read-only).  One source per kind is held at a
    time -- a new source (another chunk or image) replaces it -- and at most ``budget`` bytes in
    all: regions past it are read each time.

    Examples
    --------
    >>> import numpy as np
    >>> reads, calls = SharedReads(), []
    >>> def read(z, y0, y1, x0, x1):
    ...     calls.append((z, y0))
    ...     return np.zeros((y1 - y0, x1 - x0))
    >>> first = reads.reader("truth", ("t.tif",), read)(0, 0, 2, 0, 2)
    >>> again = reads.reader("truth", ("t.tif",), read)(0, 0, 2, 0, 2)
    >>> again is first, first.flags.writeable, calls
    (True, False, [(0, 0)])
    >>> _ = reads.reader("truth", ("u.tif",), read)(0, 0, 2, 0, 2)  # another image: read anew
    >>> calls
    [(0, 0), (0, 0)]
    >>> small = SharedReads(budget=40)  # room for one 2 x 2 float64 region (32 bytes)
    >>> shared = small.reader("truth", ("t.tif",), read)
    >>> _ = [shared(z, 0, 2, 0, 2) for z in (1, 2, 1, 2)]
    >>> calls[2:]
    [(1, 0), (2, 0), (2, 0)]
    """

    def __init__(self, budget=SHARED_READS_BYTES):
        self._held = {}  # kind: (source, {region: array})
        self._budget = budget

    def _bytes(self):
        return sum(a.nbytes for _, regions in self._held.values() for a in regions.values())

    def reader(self, kind, source, read):
        """``read`` (``read(z, y0, y1, x0, x1)``) of ``source`` (a key: its files and options),
        remembering what it returns."""
        held_source, regions = self._held.get(kind, (None, None))
        if held_source != source:
            regions = {}
            self._held[kind] = (source, regions)
        held = [self._bytes()]

        def shared(*region):
            if region in regions:
                return regions[region]
            values = read(*region)
            if held[0] + values.nbytes <= self._budget:
                values.flags.writeable = False
                regions[region] = values
                held[0] += values.nbytes
            return values

        return shared


def shared_reader(smk, kind, source, read):
    """``read``, shared with the job's other steps of the same ``kind`` and ``source`` when the step
    runs as one of several in a job (``smk.shared``, see :class:`SharedReads`), else itself."""
    shared = getattr(smk, "shared", None)
    return shared.reader(kind, source, read) if shared is not None else read


def step_arguments(call, config, shared=None):
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

    ``shared``: the job's :class:`SharedReads`, for steps run one after the other on the same chunk.
    """
    return SimpleNamespace(
        shared=shared,
        rule=call["step"],
        input=Named(call.get("input")),
        output=Named(call.get("output")),
        params=Named(call.get("params")),
        wildcards=Named(call.get("wildcards")),
        log=[],
        threads=1,
        config=config,
    )


#: ``scripts/``: one module per step.
STEPS = Path(__file__).resolve().parents[1]


def load_step(name, cache={}):  # noqa: B006 - the cache is meant to persist between calls
    """The module ``scripts/<name>.py``, imported once (by path: step names such as ``plan`` or
    ``metrics`` must not pick up another installed module)."""
    if name not in cache:
        import importlib.util

        spec = importlib.util.spec_from_file_location(f"segval_step_{name}", STEPS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        cache[name] = module
    return cache[name]


def method_calls(smk):
    """The one-method calls of a job that runs a step for every method of a chunk or a sample.

    The job's rule lists its methods in ``params.methods`` and the step in ``params.step``; its
    inputs and outputs named in ``params.per_method`` hold one value per method, given to each call
    as ``"one"`` (that method's value), ``"list"`` (a list of it; empty if the rule gave none) or
    ``"split"`` (that method's share of a list cut into equal parts); ``params.method_params`` names
    parameters with one value per method.  Everything else is given to every call.

    Examples
    --------
    >>> smk = step_arguments({"step": "each_method",
    ...     "input": {"plan": "p.json", "threshold": ["t1", "t2"], "zarr": [], "masks": ["a", "b", "c", "d"]},
    ...     "output": {"mask": ["m1", "m2"]},
    ...     "params": {"step": "segment", "methods": ["otsu", "li"], "size": 3, "spec": ["otsu", "li"],
    ...                "per_method": {"threshold": "one", "zarr": "list", "masks": "split", "mask": "one"},
    ...                "method_params": ["spec"]},
    ...     "wildcards": {"sample": "s", "chunk": "c0000"},
    ... }, {})
    >>> first, second = method_calls(smk)
    >>> first["input"], first["output"], first["params"], second["wildcards"]["method"]
    ({'plan': 'p.json', 'threshold': 't1', 'zarr': [], 'masks': ['a', 'b']}, {'mask': 'm1'}, {'size': 3, 'spec': 'otsu'}, 'li')
    """
    params = dict(smk.params.items())
    methods, per_method = params.pop("methods"), params.pop("per_method")
    step, varying = params.pop("step"), params.pop("method_params", [])

    def share(name, value, index):
        mode = per_method.get(name)
        if mode is None:  # the same for every method
            return list(value) if isinstance(value, (list, tuple)) else value
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if mode == "one":
            return values[index]
        if mode == "list":
            return [values[index]] if values else []
        size = len(values) // len(methods)
        return values[index * size : (index + 1) * size]

    calls = []
    for index, method in enumerate(methods):
        calls.append(
            {
                "step": step,
                "input": {name: share(name, v, index) for name, v in smk.input.items()},
                "output": {name: share(name, v, index) for name, v in smk.output.items()},
                "params": {
                    name: (value[index] if name in varying else value)
                    for name, value in params.items()
                },
                "wildcards": {**dict(smk.wildcards.items()), "method": method},
            }
        )
    return calls
