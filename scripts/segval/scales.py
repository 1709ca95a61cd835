"""Thresholds as people read them: on the original intensity scale (a threshold is found on the
processed scale, inverted when ``invert: true``), and identical thresholds labelled together."""

import numpy as np


def original_threshold(threshold, dtype, inverted):
    """The threshold on the image's original intensity scale, for a threshold found on the processed
    (inverted when ``invert: true``) scale; foreground is then ``original < result`` when inverted.

    Inversion maps ``x -> max + min - x`` for integers (see :func:`segval.denoise.invert`) and
    ``x -> -x`` for floats, so the same map takes the threshold back.

    Examples
    --------
    >>> original_threshold(79, "uint8", True)  # KESM: 79 on 255 - x is 176 on x
    176
    >>> original_threshold(79, "uint8", False)
    79
    >>> original_threshold(1000, "uint16", True), original_threshold(0.25, "float32", True)
    (64535, -0.25)
    """
    if not inverted:
        return threshold
    dtype = np.dtype(dtype)
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        return int(info.max) + int(info.min) - threshold
    return -threshold


def group_thresholds(named):
    """Methods sharing a threshold, so that identical thresholds are drawn (and labelled) once.

    Parameters
    ----------
    named : list of (str, float)
        ``(method, threshold)`` pairs in display order.

    Returns
    -------
    list of (list of str, float)
        One entry per distinct threshold, in order of first appearance.

    Examples
    --------
    >>> group_thresholds([("otsu", 79), ("li", 60), ("isodata", 79)])
    [(['otsu', 'isodata'], 79), (['li'], 60)]
    """
    groups = {}
    for method, threshold in named:
        groups.setdefault(threshold, []).append(method)
    return [(methods, threshold) for threshold, methods in groups.items()]
