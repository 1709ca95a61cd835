"""Checks of what a user names in the config and the sample sheet, made before any job runs.

Every value that becomes part of an output path (sample names, phantom names, prediction labels,
method file ids) must be a plain name: no path separator, no ``..``, no absolute path, so that
whatever the config or sheet says, the workflow writes only inside its working directory.  The
functions here are pure: they raise :class:`ValueError` with the problem (the caller adds the file or
key and the fix), so they can be tested without Snakemake.
"""

import math
import re

#: A name that may become part of a file name: letters, digits, ``_`` and ``-``, starting with a
#: letter or digit (so never ``..``, ``/x``, ``.hidden`` or empty).
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
#: A method's name in file names (``manual-79``, ``sauvola-window_size25-k0.3``): ``.`` and ``+``
#: may occur inside numbers, but never a separator or a leading dot.
FILE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
#: The ``sample`` of the pooled rows in results/summary.tsv: no sample may be called so.
POOLED = "ALL"


def check_name(name, what):
    """Raise :class:`ValueError` unless ``name`` can safely be part of an output path.

    >>> check_name("tile_1", "sample")
    >>> check_name("../victim", "phantom name")
    Traceback (most recent call last):
    ...
    ValueError: phantom name '../victim' is not a plain name (letters, digits, _ and -, starting with a letter or digit): it becomes part of output paths, which must stay inside the working directory
    """
    if not isinstance(name, str) or not NAME.match(name):
        raise ValueError(
            f"{what} {name!r} is not a plain name (letters, digits, _ and -, starting with a letter or "
            "digit): it becomes part of output paths, which must stay inside the working directory"
        )


def check_sample_name(name):
    """A sample name: a plain name (:func:`check_name`) other than the pooled rows' ``ALL``.

    >>> check_sample_name("ALL")
    Traceback (most recent call last):
    ...
    ValueError: sample 'ALL' is reserved: results/summary.tsv names the pooled rows of all samples so
    """
    check_name(name, "sample")
    if name == POOLED:
        raise ValueError(
            f"sample {name!r} is reserved: results/summary.tsv names the pooled rows of all samples so"
        )


def check_file_id(file_id, spec):
    """Raise :class:`ValueError` unless a method's file id (from ``spec``) is a safe file name part.

    >>> check_file_id("manual-79", "manual:79")
    >>> check_file_id("x-..-y", "x:../y")
    Traceback (most recent call last):
    ...
    ValueError: method 'x:../y' gives the file name part 'x-..-y', which is not a plain name
    """
    if not FILE_ID.match(file_id) or ".." in file_id:
        raise ValueError(
            f"method {spec!r} gives the file name part {file_id!r}, which is not a plain name"
        )


def duplicate_file_ids(specs, file_id):
    """``{file id: [specs]}`` for the file ids that several method specs share.

    >>> duplicate_file_ids(["otsu", "manual:79", "manual: 79"], lambda s: s.replace(" ", "").replace(":", "-"))
    {'manual-79': ['manual:79', 'manual: 79']}
    """
    by_id = {}
    for spec in specs:
        by_id.setdefault(file_id(spec), []).append(spec)
    return {key: found for key, found in by_id.items() if len(found) > 1}


def parse_pixel_size(text):
    """A sheet's ``pixel_size`` text as ``[y, x]``: one number or ``y,x``, each finite and positive.

    >>> parse_pixel_size("0.5"), parse_pixel_size("0.5, 0.7")
    ([0.5, 0.5], [0.5, 0.7])
    >>> parse_pixel_size("0")
    Traceback (most recent call last):
    ...
    ValueError: pixel_size '0' must be one or two positive finite numbers (y,x), e.g. 0.5 or 0.5,0.7
    """
    parts = [part.strip() for part in str(text).split(",")]
    try:
        values = [float(part) for part in parts]
    except ValueError:
        values = []
    if not 1 <= len(values) <= 2 or not all(math.isfinite(v) and v > 0 for v in values):
        raise ValueError(
            f"pixel_size {text!r} must be one or two positive finite numbers (y,x), e.g. 0.5 or 0.5,0.7"
        )
    return [values[0], values[-1]]
