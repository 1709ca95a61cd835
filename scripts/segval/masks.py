"""Binary masks: from a threshold, and from ground-truth files whatever their convention.

A threshold gives the mask ``value > threshold`` (:func:`apply_threshold`), looked up per tile from
the threshold step's result (:class:`ThresholdTable`).

Experts' masks come as 0/255 or 0/1 images, label images, or with inverted polarity (foreground 0).
A *foreground rule* says which pixels are foreground:

- ``"nonzero"`` (default): any non-zero value; the mask must hold at most two values;
- ``"invert"``: inverted polarity, 0 is foreground; at most two values;
- ``"labels"``: any non-zero label of a label image (any number of values);
- an integer ``N``: pixels equal to ``N`` (any number of values, e.g. one class of a multi-class
  annotation).

Two values at most is what "binary" means here; a grayscale image given as ground truth by mistake
has many, and :func:`check_binary` says so with the values it found.
"""

import numpy as np

from segval.errors import SegvalError
from segval.io import ImageReader, check_complete, read_info
from segval.tiling import parse_slices

RULES = ("nonzero", "invert", "labels")
_MAX_VALUES_SHOWN = 8


def binarize(array, rule="nonzero"):
    """Foreground mask of ``array`` under ``rule`` (see the module docstring)."""
    array = np.asarray(array)
    if rule == "nonzero" or rule == "labels":
        return array != 0
    if rule == "invert":
        return array == 0
    if isinstance(rule, (int, np.integer)) and not isinstance(rule, bool):
        return array == rule
    raise ValueError(
        f"unknown foreground rule {rule!r}; use one of {', '.join(RULES)} or an integer"
    )


def distinct_values(array, limit=_MAX_VALUES_SHOWN + 1):
    """Up to ``limit`` distinct values of ``array`` (sorted), cheaply for 8/16-bit masks."""
    array = np.asarray(array)
    if array.dtype == bool:
        present = [value for value in (False, True) if (array == value).any()]
        return np.array(present[:limit], dtype=bool)
    if array.dtype in (np.uint8, np.uint16):
        import cv2

        bins = 256 if array.dtype == np.uint8 else 65536
        flat = array.reshape(1, -1) if array.ndim != 2 else array
        counts = np.zeros(bins, np.int64)
        # calcHist counts in float32: exact only below 2**24 pixels per call.
        rows_per_call = max(1, (2**24 - 1) // max(1, flat.shape[1]))
        for start in range(0, flat.shape[0], rows_per_call):
            part = np.ascontiguousarray(flat[start : start + rows_per_call])
            counts += cv2.calcHist([part], [0], None, [bins], [0, bins]).ravel().astype(np.int64)
        return np.flatnonzero(counts)[:limit].astype(array.dtype)
    return np.unique(array)[:limit]


def check_binary(values, rule, path, what="ground truth", complete=True):
    """Raise a :class:`SegvalError` if a mask with these distinct ``values`` is not binary under ``rule``.

    Under ``"nonzero"`` and ``"invert"`` a mask holds at most two values, and two values must include
    0 (a 200/255 mask would otherwise be all foreground, or all background).  Under an integer rule
    ``N``, a two-valued mask without ``N`` is an error too (e.g. a 0/255 mask with ``N = 1``).

    Parameters
    ----------
    values : array_like
        Distinct values found in the mask (e.g. from :func:`distinct_values`).
    rule : str or int
        The foreground rule.
    path : str
        The mask file, for the message.
    what : str
        What the mask is ("ground truth", "ROI", ...), for the message.
    complete : bool
        Whether ``values`` are all the mask's values (False while a mask is still being read: only
        the checks that more values cannot undo are made).

    Examples
    --------
    >>> check_binary([0, 255], "nonzero", "truth.png")
    >>> check_binary([200, 255], "nonzero", "truth.png")
    Traceback (most recent call last):
    ...
    segval.errors.SegvalError: truth.png: ground truth holds values 200, 255 and no 0: under foreground rule 'nonzero' every pixel would be foreground
    Fix: set ground_truth.foreground in the config to the mask's foreground value (e.g. 255)
    """
    values = np.unique(np.asarray(values))
    shown = ", ".join(str(v) for v in values[:_MAX_VALUES_SHOWN]) + (
        " ..." if len(values) > _MAX_VALUES_SHOWN else ""
    )
    if what == "ROI":  # always read as non-zero = inside: nothing in the config to change
        fix = "give an ROI mask with two values, 0 outside the region (e.g. 0/255)"
    else:
        key = (
            "prediction.foreground" if what.startswith("prediction") else "ground_truth.foreground"
        )
        fix = f"set {key} in the config to the mask's foreground value (e.g. {values[-1] if len(values) else 255})"
    if rule == "labels":
        return
    if isinstance(rule, (int, np.integer)) and not isinstance(rule, bool):
        if complete and len(values) == 2 and rule not in values:
            raise SegvalError(
                f"{what} holds values {shown}, not the foreground value {rule}: every pixel would be background",
                path,
                fix,
            )
        return
    if len(values) > 2:
        if what != "ROI":
            fix = (
                f"give a mask with two values (e.g. 0/255), or set {key} in the config to 'labels' for a "
                "label image or to the foreground value N of a multi-class mask"
            )
        raise SegvalError(
            f"{what} is not binary under foreground rule {rule!r}: it holds values {shown}",
            path,
            fix,
        )
    if len(values) == 2 and values[0] != 0:
        everything = "foreground" if rule == "nonzero" else "background"
        raise SegvalError(
            f"{what} holds values {shown} and no 0: under foreground rule {rule!r} every pixel would be {everything}",
            path,
            fix,
        )


def apply_threshold(values, threshold):
    """Foreground mask ``values > threshold`` (False everywhere when ``threshold`` is None).

    For integer images the comparison is made with ``floor(threshold)``, which selects the same
    pixels and keeps numpy on its fast integer path.
    """
    values = np.asarray(values)
    if threshold is None or np.isnan(threshold):
        return np.zeros(values.shape, bool)
    if np.issubdtype(values.dtype, np.floating):
        # Exactly, in float64, whatever the threshold's type (a Python float would be rounded to
        # the image's float32 first): float32 thresholds, as skimage's are, compare identically.
        return values > np.float64(threshold)
    if np.issubdtype(values.dtype, np.integer):
        info = np.iinfo(values.dtype)
        cut = np.floor(threshold)
        if cut >= info.max:
            return np.zeros(values.shape, bool)
        if cut < info.min:
            return np.ones(values.shape, bool)
        return values > values.dtype.type(cut)
    return values > threshold


def mask_bytes(values, threshold):
    """The mask ``values > threshold`` as mask files hold it: uint8, 0 or 255.

    The same pixels as :func:`apply_threshold`; for uint8 images in one pass (OpenCV's binary
    threshold: for integers, ``v > t`` exactly when ``v > floor(t)``) rather than a comparison and a
    multiplication.

    >>> values = np.array([[0, 96, 97, 255]], np.uint8)
    >>> mask_bytes(values, 96.5).tolist(), mask_bytes(values, -3).tolist(), mask_bytes(values, None).tolist()
    ([[0, 0, 255, 255]], [[255, 255, 255, 255]], [[0, 0, 0, 0]])
    """
    values = np.asarray(values)
    if values.dtype == np.uint8 and threshold is not None and 0 <= threshold < 255:
        import cv2  # only here: the module's readers do without it

        cut = float(np.floor(threshold))
        return cv2.threshold(np.ascontiguousarray(values), cut, 255, cv2.THRESH_BINARY)[1]
    return apply_threshold(values, threshold).view(np.uint8) * np.uint8(255)


class ThresholdTable:
    """Thresholds of one method for every unit of its scope, looked up per tile.

    Parameters
    ----------
    result : dict
        The JSON written by the threshold step: ``{"scope": ..., "thresholds": [{"z", "row", "col",
        "threshold", "status"}, ...]}``; ``z``/``row``/``col`` are null where the scope is wider.
    """

    def __init__(self, result):
        self.scope = result["scope"]
        self._by_key = {(e["z"], e["row"], e["col"]): e for e in result["thresholds"]}

    def entry(self, z, row=None, col=None):
        """The entry that applies to tile ``(z, row, col)``."""
        if self.scope == "image":
            return self._by_key[(None, None, None)]
        if self.scope == "slice":
            return self._by_key[(z, None, None)]
        return self._by_key[(z, row, col)]

    def threshold(self, z, row=None, col=None):
        return self.entry(z, row, col)["threshold"]


class MaskReader:
    """A binary mask file (ground truth, ROI, prediction) read tile by tile under a foreground rule.

    Parameters
    ----------
    path : str or Path
        The mask: any format :class:`segval.io.ImageReader` reads; colour masks use channel 0.
    rule : str or int
        Foreground rule (see :func:`binarize`).
    slices : list of int, optional
        The image slice each of the mask's slices belongs to (e.g. ground truth traced on a few
        slices).  Default: slice ``i`` of the mask is image slice ``i``, and a single-slice mask
        applies to every slice (e.g. one field-of-view ROI for a whole stack).
    """

    def __init__(self, path, rule="nonzero", slices=None):
        from segval.io import ImageReader, read_info

        info = read_info(path)
        self._reader = ImageReader(path, channel=0 if info.channels > 1 else None)
        self.rule = rule
        self.slices = info.shape[0]
        self._page = None if slices is None else {z: page for page, z in enumerate(slices)}

    def covers(self, z):
        """Whether the mask has a slice for image slice ``z``."""
        return z in self._page if self._page is not None else (self.slices == 1 or z < self.slices)

    def read(self, z, y0, y1, x0, x1):
        """Foreground of image slice ``z`` in ``[y0:y1, x0:x1]`` (bool)."""
        if self._page is not None:
            page = self._page[z]
        else:
            page = 0 if self.slices == 1 else z
        return binarize(self._reader.read(page, y0, y1, x0, x1), self.rule)

    def close(self):
        self._reader.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def check_mask(path, image, rule, band_rows, what, slices="all"):
    """Check a mask file against its image before any processing (the plan step).

    A mask must match the image's slice size, cover the slices it claims, be complete, be grey (a
    colour mask only if its channels are equal) and be binary under ``rule``; an ROI must not be
    empty.  Read band by band: memory follows ``band_rows``, not the slice.

    Parameters
    ----------
    path : str
        The mask file (ground truth, ROI or prediction).
    image : segval.io.ImageInfo
        The image's header (its ``shape`` and ``path``).
    rule : str or int
        Foreground rule (:func:`check_binary`).
    band_rows : int
        Rows read at a time.
    what : str
        What the mask is, in messages: "ground truth", "ROI", "prediction 'unet'".
    slices : str
        "all" (one mask slice per image slice), "one-or-all" (also a single slice applying to every
        image slice), or a truth_slices list such as "0,100,200-203".

    Returns
    -------
    info : segval.io.ImageInfo
        The mask's header.
    mapped : list of int
        The image slice each mask slice belongs to.

    Raises
    ------
    SegvalError
        The problem, the file and the fix.
    """
    info = read_info(path)
    if info.shape[1:] != image.shape[1:]:
        raise SegvalError(
            f"{what} is {info.shape[2]} x {info.shape[1]} pixels but the image {image.path} is "
            f"{image.shape[2]} x {image.shape[1]}",
            path,
            f"give the {what} of this image (same width and height)",
        )
    if slices not in ("all", "one-or-all"):
        try:
            mapped = parse_slices(slices, image.shape[0])
        except ValueError as error:
            raise SegvalError(
                f"truth_slices: {error}", path, "correct the truth_slices column"
            ) from None
        if len(mapped) != info.shape[0]:
            raise SegvalError(
                f"truth_slices lists {len(mapped)} slice(s) but the {what} has {info.shape[0]}",
                path,
                f"list one image slice per {what} slice in truth_slices",
            )
    elif info.shape[0] == image.shape[0] or (slices == "one-or-all" and info.shape[0] == 1):
        mapped = list(range(image.shape[0])) if info.shape[0] == image.shape[0] else [0]
    else:
        fix = f"give one {what} slice per image slice"
        if what == "ground truth":
            fix += ", or list in the sheet's truth_slices column which image slices it traces (e.g. 0,100,200-203)"
        if slices == "one-or-all":
            fix += ", or a single slice for all"
        raise SegvalError(
            f"{what} has {info.shape[0]} slice(s) but the image has {image.shape[0]}", path, fix
        )
    check_complete(path)
    values = set()
    # Masks are read as their first channel: a colour mask is accepted only when its colour
    # channels are equal (a grey mask saved as RGB), else green vessels would read as an empty red.
    colours = [ImageReader(path, channel=c) for c in range(1, 3)] if info.channels >= 3 else []
    with ImageReader(path, channel=0 if info.channels > 1 else None) as reader:
        mask_slices, height, width = info.shape
        for z in range(mask_slices):
            for y0 in range(0, height, band_rows):  # by bands: memory ~ band, not slice
                y1 = min(y0 + band_rows, height)
                band = reader.read(z, y0, y1, 0, width)
                for colour in colours:
                    if not np.array_equal(colour.read(z, y0, y1, 0, width), band):
                        raise SegvalError(
                            f"{what} is a colour image whose channels differ (segval reads a mask as one "
                            "grey channel, so a mask drawn in colour would read wrongly)",
                            path,
                            "save it as a grey or 1-bit mask (foreground non-zero, background 0), e.g. in "
                            "Fiji with Image > Type > 8-bit",
                        )
                values.update(distinct_values(band).tolist())
                check_binary(sorted(values), rule, path, what, complete=False)  # fail early
    for colour in colours:
        colour.close()
    check_binary(sorted(values), rule, path, what)
    if what == "ROI" and not any(values):
        raise SegvalError(
            "the ROI is empty (every pixel is 0): no pixel would be thresholded or counted",
            path,
            "give an ROI that is non-zero inside the region, or leave the sheet's roi column empty for "
            "the whole image",
        )
    return info, mapped
