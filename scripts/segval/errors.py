"""User-facing errors.

A :class:`SegvalError` is a problem the user can fix (a bad file, shape, value or option), as opposed
to a bug.  Its message names the file, the problem and the fix; the step scripts print it without a
traceback (see :mod:`segval.runner`).
"""


class SegvalError(Exception):
    """A problem with the user's inputs or configuration, explained for the user.

    Parameters
    ----------
    problem : str
        What is wrong, e.g. ``"image and ground truth differ in shape: (512, 512) vs (510, 512)"``.
    path : str, optional
        The file (or config key) concerned.
    fix : str, optional
        What the user can do about it.
    """

    def __init__(self, problem, path=None, fix=None):
        self.problem = problem
        self.path = None if path is None else str(path)
        self.fix = fix
        super().__init__(self.message)

    @property
    def message(self):
        parts = [f"{self.path}: {self.problem}" if self.path else self.problem]
        if self.fix:
            parts.append(f"Fix: {self.fix}")
        return "\n".join(parts)


# The ``status`` column of the threshold results and the metrics and summary tables.
#: Status of a threshold, mask or metrics row that was computed as asked.
OK = "ok"
#: Status of a method's threshold, mask or metrics row where the method found no threshold.
THRESHOLD_NOT_FOUND = "threshold_not_found"
#: Status of the metrics row of an image without ground truth: its threshold is all there is.
NO_GROUND_TRUTH = "no_ground_truth"


def combined_status(statuses):
    """:data:`OK` if every status is :data:`OK`, else :data:`THRESHOLD_NOT_FOUND`.

    >>> combined_status([OK, OK]), combined_status([OK, THRESHOLD_NOT_FOUND])
    ('ok', 'threshold_not_found')
    """
    return OK if all(status == OK for status in statuses) else THRESHOLD_NOT_FOUND


class ThresholdNotFound(ValueError):
    """A threshold method found no threshold on this histogram (e.g. it never became bimodal).

    Not a bug and not always the user's mistake: the workflow records it as the method's status for
    that image instead of failing, unless it was the only method asked for.
    """
