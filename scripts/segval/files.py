"""Outputs are complete or absent: write beside the target, rename when done.

Temporary names are ``.<name>.partial-<pid>…`` and ``.<name>.scratch-<pid>`` beside the target.  A
killed job cannot remove them, so the next write of the same target (the resumed run reruns the
killed job) removes those of any earlier process first: an interrupted run leaves no debris behind
once it is resumed.  Only one job ever writes a given target, so these can only be leftovers.
"""

import contextlib
import glob
import os
import shutil
from pathlib import Path


def _remove(path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def remove_leftovers(path):
    """Remove the temporary files and folders that interrupted writes of ``path`` left beside it.

    Returns the paths removed.
    """
    path = Path(path)
    stem = glob.escape(f".{path.name}")
    found = sorted(path.parent.glob(f"{stem}.partial-*")) + sorted(
        path.parent.glob(f"{stem}.scratch-*")
    )
    for leftover in found:
        _remove(leftover)
    return found


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds.

    Works for files and for folders (the block creates what it needs at the temporary path).

    The temporary name keeps the suffix, so writers that choose a format by suffix still work, and
    starts with a dot, so it is not mistaken for an output.  On error it is removed; what a killed
    process left is removed by the next write of the same ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(path)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}{''.join(path.suffixes[-2:])}")
    try:
        yield tmp
        if tmp.is_dir() and path.is_dir() and not path.is_symlink():
            # A folder cannot be renamed onto a non-empty one: the old one steps aside first (if
            # killed right then, the target is absent and the old one is a leftover).
            old = path.with_name(f".{path.name}.partial-{os.getpid()}-old")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp)
        elif tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def scratch_dir(path):
    """A scratch folder beside output ``path`` while it is written (removed after, and by the next
    write of ``path`` if the process is killed).  Beside the output rather than in /tmp: on a
    cluster node /tmp may be small, and the output's file system has room for the output."""
    path = Path(path)
    scratch = path.with_name(f".{path.name}.scratch-{os.getpid()}")
    scratch.mkdir(parents=True)
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
