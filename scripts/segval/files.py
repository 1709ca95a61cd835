"""Outputs are complete or absent: write beside the target, rename when done."""

import contextlib
import os
import shutil
from pathlib import Path


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds.

    Works for files and for folders (the block creates what it needs at the temporary path).

    The temporary name keeps the suffix, so writers that choose a format by suffix still work, and
    starts with a dot, so it is not mistaken for an output.  On error it is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}{''.join(path.suffixes[-2:])}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp)
        elif tmp.exists():
            tmp.unlink()
