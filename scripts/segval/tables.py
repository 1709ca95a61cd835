"""Tab-separated tables: written atomically, floats to the last digit, read back with their types.

The columns of each table the workflow writes are in :mod:`segval.columns`.
"""

import csv
import math

from segval.files import atomic_output


def format_value(value):
    """Text of one cell: floats in their shortest exact form (``repr``), NaN as ``NaN``, None empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else repr(value)
    return str(value)


def write_tsv(path, rows, columns):
    """Write ``rows`` (dicts) with a header of ``columns``; missing keys give empty cells."""
    with atomic_output(path) as tmp:
        with open(tmp, "w", newline="") as handle:
            writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
            writer.writerow(columns)
            for row in rows:
                writer.writerow([format_value(row.get(column)) for column in columns])


def parse_value(text):
    """Inverse of :func:`format_value`: int, float, or the string itself (``""`` -> None)."""
    if text == "":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def read_tsv(path):
    """Rows of a TSV written by :func:`write_tsv`, as dicts with ints and floats parsed."""
    with open(path, newline="") as handle:
        return [
            {key: parse_value(value) for key, value in row.items()}
            for row in csv.DictReader(handle, delimiter="\t")
        ]
