"""What a run's configuration names — threshold methods and preprocessing chains — parsed and checked
without numpy, so that the Snakefile can use it while it builds the DAG.

The Snakefile needs, before any job runs, each method's file name, whether it is local and how much
halo it reads, and each preprocessing chain's name and halo; it must not import numpy or OpenCV for
that (Snakemake's own process stays light, and a minimal Snakemake install can drive conda envs).
The modules that compute — :mod:`segval.thresholds`, :mod:`segval.local_thresholds`,
:mod:`segval.imagej`, :mod:`segval.denoise`, :mod:`segval.corrections` — take these names from here.

Examples
--------
>>> parse_method("manual:79"), method_file_id("sauvola:window_size=25,k=0.3")
(('manual', 79.0), 'sauvola-window_size25-k0.3')
>>> local_halo("sauvola", {"window_size": 25})
12
>>> chain = [("bgmedian", 51), ("median", 3)]
>>> describe_chain(chain), chain_halo(chain)
('bgmedian51-median3', 26)
"""

import math
import numbers
from collections.abc import Mapping

# --------------------------------------------------------------------------------------------
# Threshold methods
# --------------------------------------------------------------------------------------------

#: Truncation of the Gaussian kernel, in standard deviations (scipy's default, which
#: skimage's threshold_local uses too).
TRUNCATE = 4.0

LOCAL_METHODS = (
    "local_mean",
    "local_gaussian",
    "local_median",
    "niblack",
    "sauvola",
    "phansalkar",
    "bernsen",
    "contrast",
    "midgrey",
    "local_otsu",
)

#: Parameters and defaults per method, named and defaulted as the reference tools do
#: (skimage for the first five, Fiji's Auto Local Threshold for the rest).  Treat as read-only.
#: ``sigma=None`` means ``(block_size - 1) / 6``; sauvola's ``r=None`` means half the dtype's range
#: (127.5 for uint8, 32767.5 for uint16, 1.0 for floats, as skimage's ``dtype_limits``);
#: phansalkar's ``stretch=None`` means no contrast stretch (see :func:`local_threshold`).
DEFAULT_PARAMS = {
    "local_mean": {"block_size": 3, "offset": 0.0},
    "local_gaussian": {"block_size": 3, "offset": 0.0, "sigma": None},
    "local_median": {"block_size": 3, "offset": 0.0},
    "niblack": {"window_size": 15, "k": 0.2},
    "sauvola": {"window_size": 15, "k": 0.2, "r": None},
    "phansalkar": {"radius": 15, "k": 0.25, "r": 0.5, "p": 2.0, "q": 10.0, "stretch": None},
    "bernsen": {"radius": 15, "contrast_threshold": 15},
    "contrast": {"radius": 15},
    "midgrey": {"radius": 15, "offset": 0},
    "local_otsu": {"radius": 15},
}


def _is_real(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _odd_int(method, name, value, minimum=1):
    ok = _is_real(value) and math.isfinite(value) and float(value).is_integer()
    if ok:
        value = int(value)
    if not ok or value < minimum or value % 2 == 0:
        raise ValueError(
            f"{method}: parameter {name!r} must be an odd integer >= {minimum} "
            f"({minimum}, {minimum + 2}, {minimum + 4}, ...), got {value!r}"
        )
    return value


def _pos_int(method, name, value):
    ok = _is_real(value) and math.isfinite(value) and float(value).is_integer() and value >= 1
    if not ok:
        raise ValueError(f"{method}: parameter {name!r} must be an integer >= 1, got {value!r}")
    return int(value)


def _finite(method, name, value):
    if not (_is_real(value) and math.isfinite(value)):
        raise ValueError(
            f"{method}: parameter {name!r} must be a finite real number, got {value!r}"
        )
    return float(value)


def _positive(method, name, value, allow_none=False, allow_zero=False):
    if allow_none and value is None:
        return None
    ok = _is_real(value) and math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        what = "a finite real number " + (">= 0" if allow_zero else "> 0")
        if allow_none:
            what += " or None"
        raise ValueError(f"{method}: parameter {name!r} must be {what}, got {value!r}")
    return float(value)


def _stretch(method, value):
    if value is None:
        return None
    try:
        lo, hi = value
    except (TypeError, ValueError):
        lo = hi = None
    ok = all(_is_real(v) and math.isfinite(v) and float(v).is_integer() for v in (lo, hi))
    if not ok or lo > hi:
        raise ValueError(
            f"{method}: parameter 'stretch' must be None or a pair (low, high) of integer grey "
            f"levels with low <= high (the global minimum and maximum of the image), got {value!r}"
        )
    return (int(lo), int(hi))


def resolve_params(method, params):
    """Validate ``method`` and ``params``; return the complete, normalised parameter dict.

    Raises
    ------
    ValueError
        Unknown method or parameter, or an invalid value (the message names it and what is accepted).
    """
    if not isinstance(method, str) or method not in DEFAULT_PARAMS:
        raise ValueError(
            f"unknown local threshold method {method!r}; accepted methods: "
            + ", ".join(LOCAL_METHODS)
        )
    defaults = DEFAULT_PARAMS[method]
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ValueError(f"{method}: params must be a mapping (dict) or None, got {type(params)}")
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ValueError(
            f"{method}: unknown parameter(s) {', '.join(map(repr, unknown))}; accepted "
            f"parameters: {', '.join(defaults)}"
        )
    p = {**defaults, **params}
    m = method
    if m in ("local_mean", "local_gaussian", "local_median"):
        p["block_size"] = _odd_int(m, "block_size", p["block_size"])
        p["offset"] = _finite(m, "offset", p["offset"])
        if m == "local_gaussian":
            p["sigma"] = _positive(m, "sigma", p["sigma"], allow_none=True, allow_zero=True)
    elif m in ("niblack", "sauvola"):
        p["window_size"] = _odd_int(m, "window_size", p["window_size"])
        p["k"] = _finite(m, "k", p["k"])
        if m == "sauvola":
            p["r"] = _positive(m, "r", p["r"], allow_none=True)
    else:
        p["radius"] = _pos_int(m, "radius", p["radius"])
        if m == "phansalkar":
            p["k"] = _finite(m, "k", p["k"])
            p["r"] = _positive(m, "r", p["r"])
            p["p"] = _finite(m, "p", p["p"])
            p["q"] = _finite(m, "q", p["q"])
            p["stretch"] = _stretch(m, p["stretch"])
        elif m == "bernsen":
            p["contrast_threshold"] = _finite(m, "contrast_threshold", p["contrast_threshold"])
        elif m == "midgrey":
            p["offset"] = _finite(m, "offset", p["offset"])
    return p


def _gaussian_sigma(p):
    return (p["block_size"] - 1) / 6.0 if p["sigma"] is None else p["sigma"]


def _imagej_kernel_radius(radius):
    """ImageJ ``RankFilters.makeLineRadii``: (kRadius, half-width of each kernel row)."""
    r = float(radius)
    if 1.5 <= r < 1.75:
        r = 1.75
    elif 2.5 <= r < 2.85:
        r = 2.85
    r2 = int(r * r) + 1
    k_radius = int(math.sqrt(r2 + 1e-10))
    half_widths = [int(math.sqrt(r2 - dy * dy + 1e-10)) for dy in range(-k_radius, k_radius + 1)]
    return k_radius, half_widths


def _halo(method, p):
    if method in ("local_mean", "local_median"):
        return p["block_size"] // 2
    if method == "local_gaussian":
        # scipy.ndimage.gaussian_filter1d: radius = int(truncate * sigma + 0.5)
        return int(TRUNCATE * float(_gaussian_sigma(p)) + 0.5)
    if method in ("niblack", "sauvola"):
        return p["window_size"] // 2
    if method == "local_otsu":
        return p["radius"]
    return _imagej_kernel_radius(p["radius"])[0]


def local_halo(method, params=None) -> int:
    """Halo (pixels on each side) that ``method`` needs around a tile's core.

    Parameters
    ----------
    method : str
        One of :data:`LOCAL_METHODS`.
    params : dict, optional
        Parameters overriding :data:`DEFAULT_PARAMS` ``[method]``.

    Returns
    -------
    int
        ``block_size // 2`` (local_mean, local_median), ``window_size // 2`` (niblack, sauvola),
        the Gaussian kernel radius ``int(4 * sigma + 0.5)`` (local_gaussian; larger than
        ``block_size // 2`` for block_size >= 9), ImageJ's kernel radius (= ``radius``) for the Fiji
        methods.

    Raises
    ------
    ValueError
        Unknown method, unknown parameter or invalid parameter value.
    """
    return _halo(method, resolve_params(method, params))


IJ_METHODS = (
    "ij_default",
    "ij_huang",
    "ij_intermodes",
    "ij_isodata",
    "ij_li",
    "ij_maxentropy",
    "ij_mean",
    "ij_minerror",
    "ij_minimum",
    "ij_moments",
    "ij_otsu",
    "ij_percentile",
    "ij_renyientropy",
    "ij_shanbhag",
    "ij_triangle",
    "ij_yen",
)
"""segval's names of ImageJ's methods (ImageJ's "Default" is ``ij_default``; its "IJ_IsoData", the
same algorithm without the mode clipping, is not exposed separately)."""

#: scikit-image's global methods, by segval's names.
SKIMAGE_METHODS = ("otsu", "li", "yen", "triangle", "isodata", "mean", "minimum")
#: Methods that take a value after a colon, e.g. ``manual:79``, ``percentile:95``.
PARAMETRISED_METHODS = ("manual", "percentile")


#: Every global method name (``manual`` and ``percentile`` take a value: ``manual:79``).
GLOBAL_METHODS = SKIMAGE_METHODS + IJ_METHODS + PARAMETRISED_METHODS
#: Every method name: the global ones and the local (adaptive) ones of :mod:`segval.local_thresholds`,
#: which take optional parameters: ``sauvola``, ``sauvola:window_size=25,k=0.3``.
METHODS = GLOBAL_METHODS + LOCAL_METHODS


def is_local(spec):
    """Whether a method spec names a local (adaptive) method."""
    return str(spec).partition(":")[0] in LOCAL_METHODS


def _local_params(name, text, spec):
    params = {}
    for item in filter(None, text.split(",")):
        key, equals, raw = item.partition("=")
        if not equals:
            raise ValueError(
                f"{spec!r}: parameters are written key=value, e.g. '{name}:{next(iter(DEFAULT_PARAMS[name]))}=25'"
            )
        try:
            params[key.strip()] = int(raw) if raw.strip().lstrip("-").isdigit() else float(raw)
        except ValueError:
            raise ValueError(
                f"{spec!r}: parameter {key.strip()!r} needs a number, got {raw!r}"
            ) from None
    return resolve_params(name, params)


def parse_method(spec):
    """Split a method spec into ``(name, value)``: ``"otsu"`` -> ``("otsu", None)``,
    ``"manual:79"`` -> ``("manual", 79.0)``, ``"sauvola:k=0.3"`` -> ``("sauvola", {all parameters})``.

    Raises
    ------
    ValueError
        For an unknown name, a missing, non-finite or extra value, a percentile outside 0..100, or an unknown or
        invalid parameter of a local method.
    """
    name, _, value = str(spec).partition(":")
    if name not in METHODS:
        raise ValueError(f"unknown threshold method {spec!r}; known: {', '.join(METHODS)}")
    if name in LOCAL_METHODS:
        return name, _local_params(name, value, spec)
    if name in PARAMETRISED_METHODS:
        try:
            number = float(value)
        except ValueError:
            raise ValueError(
                f"{name} needs a number, e.g. '{name}:{50 if name == 'percentile' else 79}'"
                f"; got {spec!r}"
            ) from None
        if not math.isfinite(number):  # NaN would give an empty mask reported as "ok"
            raise ValueError(
                f"{name} needs a finite number, e.g. '{name}:{50 if name == 'percentile' else 79}'"
                f"; got {spec!r}"
            )
        if name == "percentile" and not 0 <= number <= 100:
            raise ValueError(f"percentile must be within 0..100, got {spec!r}")
        return name, number
    if value:
        raise ValueError(f"method {name!r} takes no value; got {spec!r}")
    return name, None


def method_file_id(spec):
    """The method's name in file names: ``manual:79`` -> ``manual-79``,
    ``sauvola:window_size=25,k=0.3`` -> ``sauvola-window_size25-k0.3``."""
    return str(spec).replace(" ", "").replace(":", "-").replace(",", "-").replace("=", "")


# --------------------------------------------------------------------------------------------
# Preprocessing chains
# --------------------------------------------------------------------------------------------

#: Contextual region size (pixels) of the ``clahe`` chain step.
CLAHE_REGION_PX = 128

#: Background estimates of :func:`segval.corrections.background`.
BACKGROUND_METHODS = ("median", "tophat", "rolling_ball")


def _as_int(value, what):
    if float(value) != int(value):
        raise ValueError(f"{what} must be an integer, got {value}")
    return int(value)


def _odd_size(size, what):
    size = _as_int(size, f"{what} size")
    if size < 1 or size % 2 == 0:
        raise ValueError(f"{what} size must be a positive odd number of pixels, got {size}")
    return size


def gaussian_radius(sigma):
    """Half-width of the Gaussian kernel: ``int(4.0 * sigma + 0.5)``, as scipy truncates it."""
    sigma = float(sigma)
    if sigma < 0:
        raise ValueError(f"sigma must be non-negative, got {sigma}")
    return int(TRUNCATE * sigma + 0.5)


def background_radius(method, size):
    """Halo (pixels) that :func:`background` needs: ``size // 2`` for ``"median"``, twice that for
    the openings (``"tophat"``, ``"rolling_ball"``: an erosion then a dilation)."""
    if method not in BACKGROUND_METHODS:
        raise ValueError(
            f"unknown background method {method!r}; choose one of {BACKGROUND_METHODS}"
        )
    half = _odd_size(size, method) // 2
    return half if method == "median" else 2 * half


def clahe_radius(region_px=CLAHE_REGION_PX):
    """Halo :func:`clahe` needs for tiles at any position: ``ceil(1.5 * region_px) + 1`` pixels.

    A pixel interpolates between the regions whose centres surround it, which reach up to
    ``1.5 * region_px - 1`` pixels away; one more pixel covers float rounding of the interpolation
    coordinate.  (Were the chain to align the padded tile with the region grid, a halo of one region
    would be enough for the tile's own pixels; segval keeps the general bound.)
    """
    region_px = _as_int(region_px, "region_px")
    if region_px < 2:
        raise ValueError(f"region_px must be at least 2, got {region_px}")
    return (3 * region_px + 1) // 2 + 1


#: Steps a chain may contain, with the halo each needs (pixels on every side) for its value.
STEP_RADIUS = {
    "median": lambda size: max(0, (int(size) - 1) // 2),
    "gaussian": gaussian_radius,
    "bgmedian": lambda size: background_radius("median", size),
    "tophat": lambda size: background_radius("tophat", size),
    "rollingball": lambda size: background_radius("rolling_ball", size),
    "clahe": lambda clip: clahe_radius(CLAHE_REGION_PX),
}

#: What each chain step's value means.
STEPS = {
    "median": "odd window size in pixels (1 = off)",
    "gaussian": "Gaussian sigma in pixels (0 = off)",
    "bgmedian": "subtract a median background: odd window size in pixels, e.g. 51",
    "tophat": "white top-hat with a flat disk: odd diameter in pixels, e.g. 51",
    "rollingball": "rolling-ball background subtraction: odd ball diameter in pixels, e.g. 51",
    "clahe": f"CLAHE clip limit (OpenCV's), regions of {CLAHE_REGION_PX} pixels",
}


def step_radius(name, value):
    """Pixels of context one step needs on each side."""
    return STEP_RADIUS[name](value)


def chain_halo(chain):
    """Total halo a chain needs: the sum of its steps' radii."""
    return sum(step_radius(name, value) for name, value in chain)


def check_chain(chain):
    """Raise ValueError for an unknown step or an invalid value (e.g. an even median window)."""
    for name, value in chain:
        if name not in STEP_RADIUS:
            raise ValueError(f"unknown step {name!r}; steps: {', '.join(STEP_RADIUS)}")
        if value < 0:
            raise ValueError(f"{name}: the value must be >= 0, got {value}")
        if name in ("median", "bgmedian", "tophat", "rollingball") and (
            value != int(value) or (value > 1 and int(value) % 2 == 0)
        ):
            raise ValueError(
                f"{name}: the window must be an odd whole number of pixels, got {value}"
            )
        if name == "clahe" and value <= 0:
            raise ValueError(f"clahe: the clip limit must be > 0, got {value}")


def describe_chain(chain):
    """A short, file-name-safe name for a chain, e.g. ``median3``; ``raw`` for no filtering."""
    parts = [f"{name}{value:g}" for name, value in chain if step_radius(name, value) > 0]
    return "-".join(parts) if parts else "raw"


#: The preprocessing name of masks given in the sample sheet (no chain may be called so).
GIVEN = "given"


def _chain_of(steps):
    """A chain as the config writes it (``[{median: 3}, ...]``) or as pairs, as ``(name, value)`` pairs."""
    return [
        next(iter(step.items())) if isinstance(step, Mapping) else tuple(step) for step in steps
    ]


def preprocessing_chains(preprocess=None, median_size=None):
    """The run's candidate preprocessing chains, ``{name: chain}``, from the config's two keys.

    One model for both keys: ``median_size: N`` is the shorthand for ``preprocess: [{median: N}]``
    (the article's 3 when neither is given), so it applies only when ``preprocess`` is absent;
    giving both is an error rather than a silent choice.  ``preprocess`` is one chain (a list:
    named by :func:`describe_chain`, so ``[{median: 3}]`` is ``median3`` as with ``median_size``)
    or a mapping of named chains, each a candidate with every method.

    Parameters
    ----------
    preprocess : list or mapping or None
        The config's ``preprocess``: a list of one-key steps, or ``{name: list of steps}``.
    median_size : int or None
        The config's ``median_size`` when the user gave it, else None.

    Returns
    -------
    dict
        ``{name: [(step, value), ...]}`` in the config's order.  Names are plain file-name parts
        (:func:`segval.checks.check_name`), never ``given``, with no ``.`` (which separates the
        preprocessing from the method in file names).

    Raises
    ------
    ValueError
        Both keys given, a bad name, a bad step, or two names for the same chain.

    Examples
    --------
    >>> preprocessing_chains()
    {'median3': [('median', 3)]}
    >>> preprocessing_chains(median_size=0)
    {'raw': []}
    >>> preprocessing_chains([{"bgmedian": 51}, {"median": 3}])
    {'bgmedian51-median3': [('bgmedian', 51), ('median', 3)]}
    >>> preprocessing_chains({"m3": [{"median": 3}], "bg25": [{"bgmedian": 25}, {"median": 3}]})
    {'m3': [('median', 3)], 'bg25': [('bgmedian', 25), ('median', 3)]}
    >>> preprocessing_chains({"a/b": [{"median": 3}]})
    Traceback (most recent call last):
    ...
    ValueError: chain name 'a/b' is not a plain name (letters, digits, _ and -, starting with a letter or digit): it becomes part of output paths, which must stay inside the working directory
    >>> preprocessing_chains([{"median": 5}], median_size=5)
    Traceback (most recent call last):
    ...
    ValueError: both `preprocess` and `median_size` are given; median_size is the shorthand for preprocess: [{median: N}] when preprocess is absent
    """
    from segval.checks import check_name  # stdlib only, like this module

    if preprocess is not None and median_size is not None:
        raise ValueError(
            "both `preprocess` and `median_size` are given; median_size is the shorthand for "
            "preprocess: [{median: N}] when preprocess is absent"
        )
    if preprocess is None:
        size = 3 if median_size is None else median_size
        preprocess = [{"median": size}] if size > 1 else []
    if not isinstance(preprocess, Mapping):
        chain = _chain_of(preprocess)
        check_chain(chain)
        return {describe_chain(chain): chain}
    if not preprocess:
        raise ValueError("no chain is named: give at least one, e.g. {median3: [{median: 3}]}")
    chains, seen = {}, {}
    for name, steps in preprocess.items():
        check_name(name, "chain name")
        if name == GIVEN:
            raise ValueError(
                f"chain name {name!r} is reserved: it names the masks given in the sample sheet"
            )
        chain = _chain_of(steps)
        try:
            check_chain(chain)
        except ValueError as error:
            raise ValueError(f"chain {name}: {error}") from None
        key = tuple((step, value) for step, value in chain if step_radius(step, value) > 0)
        if key in seen:
            raise ValueError(
                f"chains {seen[key]} and {name} are the same preprocessing: name it once"
            )
        seen[key] = name
        chains[name] = chain
    return chains
