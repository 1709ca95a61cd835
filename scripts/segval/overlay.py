"""Colour the confusion map over the image, so a person sees where a method is right and wrong.

Default colours are the article's: TP cyan, FP magenta, FN yellow, TN black.  The blend is OpenCV's
``addWeighted(image, alpha, colours, 1 - alpha, 0)`` with its rounding, so the article's own overlay
test is reproduced exactly.  Pixels outside the ROI (code 4) show the image unblended.

Huge slices get a preview: the image is averaged over ``factor`` x ``factor`` blocks and the confusion
map keeps, per block, the most informative code (FN, then FP, then TP, then TN), so that one-pixel
vessels and errors stay visible at any scale; those reductions are :mod:`segval.downsample`'s
(:func:`segval.downsample.block_confusion`).
"""

import cv2
import numpy as np

from segval.metrics import FN, FP, IGNORED, TN, TP

#: The article's colours, RGB.
ARTICLE_COLOURS = {"tp": (0, 255, 255), "fp": (255, 0, 255), "fn": (255, 255, 0), "tn": (0, 0, 0)}


def to_uint8(image, low=None, high=None):
    """Scale an image to uint8 for display; uint8 images are returned unchanged.

    Other types are mapped linearly from ``[low, high]`` (default: the image's min and max) to
    ``[0, 255]`` and clipped.
    """
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image
    if image.dtype == bool:
        return image.astype(np.uint8) * np.uint8(255)
    low = float(np.min(image)) if low is None else float(low)
    high = float(np.max(image)) if high is None else float(high)
    scale = 255.0 / (high - low) if high > low else 0.0
    return np.clip((image.astype(np.float64) - low) * scale, 0, 255).round().astype(np.uint8)


def overlay_palette(alpha=0.5, colours=None):
    """The overlay as a palette over the image: ``(red, green, blue, opacity)`` of each confusion
    code, the colours at opacity ``1 - alpha`` and outside the ROI transparent, so that a viewer
    drawing it over the image shows :func:`overlay`'s blend (up to rounding).

    >>> overlay_palette(0.5)
    [(0, 0, 0, 128), (255, 0, 255, 128), (255, 255, 0, 128), (0, 255, 255, 128), (0, 0, 0, 0)]
    """
    colours = {**ARTICLE_COLOURS, **(colours or {})}
    opacity = int(round(255 * (1 - alpha)))
    palette = [(0, 0, 0, 0)] * (IGNORED + 1)
    for name, value in (("tn", TN), ("fp", FP), ("fn", FN), ("tp", TP)):
        palette[value] = (*(int(c) for c in colours[name]), opacity)
    return palette


def overlay(image, code, alpha=0.5, colours=None):
    """Blend confusion colours over a grayscale uint8 image.

    Parameters
    ----------
    image : numpy.ndarray of uint8
        2-D grayscale image (see :func:`to_uint8`).
    code : numpy.ndarray of uint8
        Confusion map of the same shape (0 TN, 1 FP, 2 FN, 3 TP, 4 outside ROI), see
        :func:`segval.metrics.confusion_map`.
    alpha : float
        Weight of the image; the colours get ``1 - alpha``.
    colours : dict, optional
        RGB triples for ``tp``, ``fp``, ``fn``, ``tn``; default :data:`ARTICLE_COLOURS`.

    Returns
    -------
    numpy.ndarray
        RGB uint8 image, shape ``image.shape + (3,)``.

    Examples
    --------
    The article's test: a 3 x 3 image with truth = image and one FP and one FN.

    >>> from segval.metrics import confusion_map
    >>> truth = np.array([[1, 0, 1], [0, 1, 1], [0, 0, 0]], np.uint8)
    >>> predicted = np.array([[1, 0, 1], [0, 0, 1], [1, 0, 0]], np.uint8)
    >>> overlay(truth, confusion_map(truth, predicted), 0.5)[1, 1].tolist()   # FN: yellow
    [128, 128, 0]
    """
    colours = {**ARTICLE_COLOURS, **(colours or {})}
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 2:
        raise ValueError(f"overlay needs a 2-D uint8 image, got {image.dtype} {image.shape}")
    if code.shape != image.shape:
        raise ValueError(f"image {image.shape} and confusion map {code.shape} differ in shape")
    lut = np.zeros((5, 3), np.uint8)
    for name, value in (("tn", TN), ("fp", FP), ("fn", FN), ("tp", TP)):
        lut[value] = colours[name]
    rgb = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    blended = cv2.addWeighted(rgb, alpha, lut[code], 1 - alpha, 0)
    outside = code == IGNORED
    if outside.any():
        blended[outside] = rgb[outside]
    return blended
