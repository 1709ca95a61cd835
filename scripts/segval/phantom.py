"""Deterministic KESM-like phantom images with their exact ground truth.

The phantom imitates a Knife-Edge Scanning Microscopy (KESM) section of India-ink-stained mouse
brain: dark vessel cross-sections (discs, ellipses and curved tubes, from 1 px capillaries up to
~25 px vessels) on bright, smoothly textured tissue, under uneven illumination, with noise and a few
artefacts that are *not* vessel (soft dark ink smudges, bright specks, knife-chatter stripes, faint
knife-nick lines).  It is the workflow's embedded demo data and the source of large test inputs.

Image formation, per pixel, in float32 on the 8-bit grey scale::

    image = 212 * illumination * (1 + texture) * (1 - psf(vessels)) * smudges * chatter
            + specks + noise

* ``vessels`` is the vessel map: each vessel is drawn with OpenCV (fixed-point integer coordinates,
  ``LINE_8``) with its own darkness (0.25-0.85); capillaries are paler than large vessels.  The
  ground truth is exactly the set of pixels drawn there: before blur, artefacts and noise.
* ``psf`` is the optical blur, a separable 9-tap binomial kernel (sigma = 1.41 px) computed in exact
  integer arithmetic.  It makes vessel edges fade into the tissue, which is the main reason why a
  global threshold is good but not perfect.
* ``noise`` is approximately Gaussian (sigma 4 grey levels; the sum of four uniform random bytes, an
  Irwin-Hall distribution, which is platform-exact and fast), plus 0.2 % salt-and-pepper pixels,
  which a 3 x 3 median removes.

Difficulty: with the default parameters, inverting (``255 - x``), a 3 x 3 median and Otsu's
threshold (foreground = value > threshold) score an F1 of about 0.85-0.89 against the truth on
images of a megapixel or more, close to the same pipeline on the real KESM tile (0.849).  On much
smaller images the few vessels may not make Otsu's histogram bimodal, and it can fail.

Determinism
-----------
Same arguments give bit-identical arrays.  Every random number comes from
``numpy.random.default_rng`` seeded with ``(seed, purpose, ...)``; per-pixel work is integer
arithmetic and IEEE basic float operations (``+ - * /``, ``sqrt``, rounding), never transcendental
functions, BLAS or reductions whose results could depend on the CPU's SIMD paths; OpenCV only
rasterises shapes given in integer coordinates.  Nothing depends on the number of threads, nor on
the internal band height.  (NumPy does not promise that ``Generator`` streams stay the same across
NumPy *versions*.)

Scale
-----
Everything is specified per unit area (vessels and artefacts per megapixel) or in pixels (vessel
widths, texture grain), so a 4096 x 4096 or a 17480 x 8026 image looks like the 1024 x 1024 one,
just more of it; only the illumination ramp/vignette spans the whole field.  The image is composed
in bands of about a megapixel, so the float temporaries stay small: a 17480 x 8026 slice peaks at
about 2.5 bytes per pixel (the uint8 image, the vessel map that becomes the truth, a texture grid).

Stacks (the ``z`` argument)
---------------------------
Consecutive slices of a stack are related.  Each vessel has a depth centre ``zc`` and a half-extent
``h`` (slices; 12-60 for discs and ellipses, i.e. vessels crossing the section, 4-16 for tubes,
which lie in it) and is visible on the slices with ``|z - zc| < h``.  There it drifts linearly
with its own in-plane velocity (~0.3 px per slice: oblique vessels), tubes also bend slowly, and its
width shrinks to nothing over the outer ~20 % of its depth range (a rounded end).  Vessels are
generated in blocks of 64 slices, each seeded from ``(seed, block)``, so any slice is generated
directly, without its predecessors.  The tissue texture cross-fades between per-block textures; the
illumination and the knife-nick lines are fixed for the stack; the noise, smudges, specks and
chatter stripes are drawn anew for every slice from ``(seed, z)``.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["make_phantom", "make_stack_slice"]

# --------------------------------------------------------------------------------------------------
# Model constants (grey levels are on the 8-bit scale; lengths in pixels; rates per megapixel)
# --------------------------------------------------------------------------------------------------
_TISSUE = 212.0  # mean grey level of the tissue (the real KESM tile: 213)
_CHUNK = 64  # rows per noise generator
_ZBLOCK = 64  # slices per block of vessels / texture
_MARGIN = 48  # vessels are scattered over the image grown by this margin (even density at edges)
_SHIFT = 4  # fixed-point bits of the coordinates passed to OpenCV's drawing functions
_ONE = 1 << _SHIFT

# Seeding purposes: rng = default_rng([seed, purpose, ...])
_VESSELS, _TEXTURE, _ILLUMINATION, _ARTEFACTS, _NOISE, _SALT_PEPPER = 1, 2, 3, 4, 5, 6

# Share of the vessel objects visible on a slice, by kind
_FRACTION_DISCS, _FRACTION_ELLIPSES, _FRACTION_TUBES = 0.40, 0.25, 0.35
# Depth half-extents (slices): cross-sections of vessels crossing the section persist long, vessels
# lying in the section plane are cut through quickly.
_H_ROUND = (12.0, 60.0)
_H_TUBE = (4.0, 16.0)

_TUBE_NODES = 6  # control points per tube
_TUBE_SAMPLES = 4 * (_TUBE_NODES - 1) + 1  # points of the polyline drawn per tube

_PSF_ORDER = 8  # optical blur: binomial kernel of 9 taps, sigma = sqrt(8) / 2 = 1.41 px
_PSF_HALF = _PSF_ORDER // 2
_TEXTURE_STEP = 4  # grid spacing of the texture interpolated per pixel (the finest grain)


def _cardinal_basis(nodes: int, per_segment: int) -> np.ndarray:
    """Catmull-Rom weights (samples x nodes) of a curve through ``nodes`` points, ends clamped."""
    samples = per_segment * (nodes - 1) + 1
    basis = np.zeros((samples, nodes))
    for i in range(samples):
        seg = min(i // per_segment, nodes - 2)
        t = (i - seg * per_segment) / per_segment
        t2, t3 = t * t, t * t * t
        weights = (
            (-t + 2 * t2 - t3) / 2,
            (2 - 5 * t2 + 3 * t3) / 2,
            (t + 4 * t2 - 3 * t3) / 2,
            (-t2 + t3) / 2,
        )
        for k, w in zip(range(seg - 1, seg + 3), weights):
            basis[i, min(max(k, 0), nodes - 1)] += w
    return basis


_TUBE_BASIS = _cardinal_basis(_TUBE_NODES, 4)


# --------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------
def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([int(k) for k in key])


def _count(rng: np.random.Generator, expected: float) -> int:
    """Stochastic rounding of an expected count (less variable than Poisson, same mean)."""
    return int(np.floor(expected + rng.random()))


def _gauss(rng: np.random.Generator, shape) -> np.ndarray:
    """Approximately standard normal float32 noise, platform-exact and fast.

    The sum of four uniform random bytes (an Irwin-Hall distribution: mean 510, standard deviation
    147.8, range +-3.45 sigma), centred and scaled.  The bytes come from the raw 64-bit words of the
    bit generator, read little-endian whatever the machine.
    """
    n = int(np.prod(shape))
    words = rng.bit_generator.random_raw((n + 1) // 2)
    raw = words.astype("<u8", copy=False).view(np.uint8)[: 4 * n].reshape(4, n)
    total = raw[0].astype(np.int16)
    total += raw[1]
    total += raw[2]
    total += raw[3]
    total -= 510
    out = total.astype(np.float32)
    out *= np.float32(1 / 147.80138)
    return out.reshape(shape)


def _power_law(rng: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
    """Sizes in [lo, hi] with density proportional to size**-2 (many small, few large)."""
    u = rng.random(n)
    return 1.0 / (1.0 / hi + u * (1.0 / lo - 1.0 / hi))


def _bspline_upsample(grid: np.ndarray, factor: int, n_out: int, axis: int) -> np.ndarray:
    """Cubic B-spline interpolation of ``grid`` along ``axis`` onto a grid ``factor`` times finer.

    Output node ``i`` lies at input position ``i / factor + 1`` (input node ``j`` at output
    ``(j - 1) * factor``), so the input needs ``(n_out - 1) // factor + 4`` nodes along ``axis``.
    """
    i = np.arange(n_out)
    i0 = i // factor + 1
    t = (i % factor) / factor
    t2, t3 = t * t, t * t * t
    weights = (
        (1 - 3 * t + 3 * t2 - t3) / 6,
        (4 - 6 * t2 + 3 * t3) / 6,
        (1 + 3 * t + 3 * t2 - 3 * t3) / 6,
        t3 / 6,
    )
    shape = [1, 1]
    shape[axis] = n_out
    out = None
    for k, w in enumerate(weights):
        term = np.take(grid, i0 - 1 + k, axis=axis) * w.astype(grid.dtype).reshape(shape)
        out = term if out is None else out + term
    return out


def _binomial_blur(a: np.ndarray, axis: int) -> np.ndarray:
    """Valid part of the convolution with the binomial kernel of ``_PSF_ORDER + 1`` taps."""
    for _ in range(_PSF_ORDER):
        if axis == 0:
            a = a[:-1] + a[1:]
        else:
            a = a[:, :-1] + a[:, 1:]
    return a


def _reflect_index(n: int, lo: int, hi: int) -> np.ndarray:
    """Indices ``lo .. hi - 1`` mirrored into ``0 .. n - 1`` (OpenCV's BORDER_REFLECT_101)."""
    idx = np.arange(lo, hi)
    period = 2 * (n - 1) if n > 1 else 1
    idx = np.abs(idx) % period
    return np.where(idx >= n, period - idx, idx)


# --------------------------------------------------------------------------------------------------
# Vessels
# --------------------------------------------------------------------------------------------------
def _vessel_block(seed: int, block: int, height: int, width: int, density: float) -> dict:
    """All vessel objects whose depth centre lies in slices ``[block * 64, block * 64 + 64)``."""
    rng = _rng(seed, _VESSELS, block + 1)
    area = (height + 2 * _MARGIN) * (width + 2 * _MARGIN) / 1e6
    z0 = block * _ZBLOCK

    def common(n, h_range, drift):
        return {
            "zc": z0 + rng.random(n) * _ZBLOCK,
            "h": h_range[0] + rng.random(n) * (h_range[1] - h_range[0]),
            "y": rng.random(n) * (height + 2 * _MARGIN) - _MARGIN,
            "x": rng.random(n) * (width + 2 * _MARGIN) - _MARGIN,
            "vy": rng.standard_normal(n) * drift,
            "vx": rng.standard_normal(n) * drift,
        }

    def n_block(fraction, h_range):
        # objects visible on one slice = n_block * mean(2 h) / _ZBLOCK
        return _count(rng, density * fraction * area * _ZBLOCK / (h_range[0] + h_range[1]))

    n = n_block(_FRACTION_DISCS, _H_ROUND)
    discs = common(n, _H_ROUND, 0.35)
    discs["r"] = _power_law(rng, 2.2, 12.5, n)
    discs["dark"] = 0.25 + 0.60 * rng.random(n)

    n = n_block(_FRACTION_ELLIPSES, _H_ROUND)
    ellipses = common(n, _H_ROUND, 0.35)
    ellipses["a"] = _power_law(rng, 2.5, 12.0, n)
    ellipses["b"] = ellipses["a"] * (0.4 + 0.45 * rng.random(n))
    ellipses["angle"] = rng.integers(0, 180, n)
    ellipses["dark"] = 0.25 + 0.60 * rng.random(n)

    n = n_block(_FRACTION_TUBES, _H_TUBE)
    tubes = common(n, _H_TUBE, 0.25)
    capillary = rng.random(n) < 0.25  # a quarter are 1-2 px capillaries, the rest 2-12 px
    thickness = np.where(capillary, 1.0 + rng.random(n), _power_law(rng, 2.0, 12.0, n))
    length = 8.0 + 25.0 * rng.random(n) + thickness
    direction = rng.standard_normal((n, 2))
    norm = np.sqrt(direction[:, 0] ** 2 + direction[:, 1] ** 2)
    norm = np.where(norm > 1e-9, norm, 1.0)
    dy, dx = direction[:, 0] / norm, direction[:, 1] / norm
    along = (np.arange(_TUBE_NODES) / (_TUBE_NODES - 1) - 0.5)[None, :] * length[:, None]
    bend = 0.03 + 0.10 * rng.random(n)
    lateral = rng.standard_normal((n, _TUBE_NODES)) * (bend * length)[:, None]
    tubes["ny"] = along * dy[:, None] + lateral * dx[:, None]  # node offsets from (y, x)
    tubes["nx"] = along * dx[:, None] - lateral * dy[:, None]
    tubes["wy"] = rng.standard_normal((n, _TUBE_NODES)) * 0.08  # per-node drift: slow bending
    tubes["wx"] = rng.standard_normal((n, _TUBE_NODES)) * 0.08
    tubes["t"] = thickness
    # capillaries (partial-volume) are paler than large vessels
    tubes["dark"] = np.minimum(0.85, 0.20 + 0.05 * thickness + 0.40 * rng.random(n))
    return {"discs": discs, "ellipses": ellipses, "tubes": tubes}


def _visible(obj: dict, z: int, height: int, width: int, reach: np.ndarray):
    dz = z - obj["zc"]
    u = dz / obj["h"]
    y = obj["y"] + obj["vy"] * dz
    x = obj["x"] + obj["vx"] * dz
    keep = (
        (np.abs(u) < 1) & (y > -reach) & (y < height + reach) & (x > -reach) & (x < width + reach)
    )
    # full size over most of the depth range, shrinking to nothing at the rounded ends
    scale = np.sqrt(np.clip(3.0 * (1.0 - u * u), 0.0, 1.0))
    return keep, dz, y, x, scale


def _fixed(v: np.ndarray) -> np.ndarray:
    return np.rint(v * _ONE).astype(np.int64)


def _draw_vessels(seed: int, z: int, height: int, width: int, density: float) -> np.ndarray:
    """uint8 map of vessel darkness (0 = no vessel, 255 = opaque) of slice ``z``."""
    canvas = np.zeros((height, width), np.uint8)
    block = z // _ZBLOCK
    for b in (block - 1, block, block + 1):  # vessels reach at most one block away in depth
        objs = _vessel_block(seed, b, height, width, density)

        d = objs["discs"]
        keep, _, y, x, s = _visible(d, z, height, width, d["r"] + 1)
        r = d["r"] * s
        keep &= r >= 0.6
        cy, cx, rr = _fixed(y[keep]), _fixed(x[keep]), _fixed(r[keep])
        val = np.rint(d["dark"][keep] * 255).astype(np.int64)
        for i in range(cy.size):
            cv2.circle(
                canvas, (int(cx[i]), int(cy[i])), int(rr[i]), int(val[i]), -1, cv2.LINE_8, _SHIFT
            )

        e = objs["ellipses"]
        keep, _, y, x, s = _visible(e, z, height, width, e["a"] + 1)
        a, bb = e["a"] * s, e["b"] * s
        keep &= bb >= 0.6
        cy, cx = _fixed(y[keep]), _fixed(x[keep])
        aa, bb = _fixed(a[keep]), _fixed(bb[keep])
        ang = e["angle"][keep]
        val = np.rint(e["dark"][keep] * 255).astype(np.int64)
        for i in range(cy.size):
            cv2.ellipse(
                canvas,
                (int(cx[i]), int(cy[i])),
                (int(aa[i]), int(bb[i])),
                int(ang[i]),
                0,
                360,
                int(val[i]),
                -1,
                cv2.LINE_8,
                _SHIFT,
            )

        t = objs["tubes"]
        reach = np.abs(t["ny"]).max(axis=1) + np.abs(t["nx"]).max(axis=1) + t["t"] + 20
        keep, dz, y, x, s = _visible(t, z, height, width, reach)
        thick = np.rint(t["t"] * s)
        keep &= thick >= 1
        if not keep.any():
            continue
        dz = dz[keep][:, None]
        ny = y[keep][:, None] + t["ny"][keep] + t["wy"][keep] * dz  # (n, nodes)
        nx = x[keep][:, None] + t["nx"][keep] + t["wx"][keep] * dz
        py = np.zeros((ny.shape[0], _TUBE_SAMPLES))
        px = np.zeros_like(py)
        for k in range(_TUBE_NODES):  # explicit sum: no BLAS, same result everywhere
            py += _TUBE_BASIS[None, :, k] * ny[:, k : k + 1]
            px += _TUBE_BASIS[None, :, k] * nx[:, k : k + 1]
        pts = np.stack([_fixed(px), _fixed(py)], axis=-1).astype(np.int32)
        thick = thick[keep].astype(np.int64)
        val = np.rint(t["dark"][keep] * 255).astype(np.int64)
        for i in range(pts.shape[0]):
            cv2.polylines(canvas, [pts[i]], False, int(val[i]), int(thick[i]), cv2.LINE_8, _SHIFT)
    return canvas


# --------------------------------------------------------------------------------------------------
# Tissue texture, illumination, artefacts
# --------------------------------------------------------------------------------------------------
def _texture_grid(seed: int, z: int, gh: int, gw: int) -> np.ndarray:
    """Relative tissue texture of slice ``z`` on a grid of spacing 4 px (``gh`` x ``gw`` nodes).

    Three octaves of smoothed noise with grain 4, 16 and 128 px, built as a pyramid (the coarse
    level is upsampled onto the middle one, which is upsampled onto the fine one).  Each octave is
    cross-faded, preserving its variance, between the noises of the two z-blocks around ``z``.
    """
    block, frac = divmod(z, _ZBLOCK)
    t = frac / _ZBLOCK
    norm = np.sqrt((1 - t) ** 2 + t * t)
    weights = (np.float32((1 - t) / norm), np.float32(t / norm))
    rngs = (_rng(seed, _TEXTURE, block), _rng(seed, _TEXTURE, block + 1))
    mh, mw = (gh - 1) // 4 + 4, (gw - 1) // 4 + 4  # middle level: 4 fine nodes apart
    ch, cw = (mh - 1) // 8 + 4, (mw - 1) // 8 + 4  # coarse level: 8 middle nodes apart

    def octave(shape, amplitude):
        level = None
        for rng, w in zip(rngs, weights):
            if w:  # (each block's generator is private to this call: skipping one is harmless)
                noise = _gauss(rng, shape)
                noise *= w
                level = noise if level is None else level + noise
        return level * np.float32(amplitude)

    coarse = octave((ch, cw), 0.045)
    middle = octave((mh, mw), 0.045)
    middle += _bspline_upsample(_bspline_upsample(coarse, 8, mh, 0), 8, mw, 1)
    fine = octave((gh, gw), 0.035)
    fine += _bspline_upsample(_bspline_upsample(middle, 4, gh, 0), 4, gw, 1)
    return fine


def _illumination(seed: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Separable illumination: row and column profiles (ramp, vignette, knife-nick lines)."""
    rng = _rng(seed, _ILLUMINATION)

    def profile(n):
        c = (np.arange(n) * 2.0 - (n - 1)) / max(n - 1, 1)  # -1 .. 1
        ramp = (rng.random() * 2 - 1) * 0.04
        vignette = 0.015 + 0.03 * rng.random()
        return 1.0 + ramp * c - vignette * c * c

    rows = profile(height) * _TISSUE
    cols = profile(width)
    for _ in range(_count(rng, width / 600)):  # faint knife-nick lines along the cutting direction
        x = int(rng.integers(0, width))
        w = int(rng.integers(1, 3))
        cols[x : x + w] *= 1.0 - (0.02 + 0.03 * rng.random())
    return rows.astype(np.float32), cols.astype(np.float32)


def _artefacts(seed: int, z: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-vessel artefacts of slice ``z``: soft blobs and knife-chatter stripes.

    Returns ``blobs``, rows ``(cy, cx, ry, rx, amplitude, multiplicative)``: ink smudges darken the
    image by the factor ``1 - amplitude * w`` and bright specks add ``amplitude * w`` grey levels,
    with ``w = (1 - d^2)^2`` on the ellipse's normalised distance ``d``; and ``stripes``, rows
    ``(top, left, height, width, period, amplitude)`` of periodic bands across the cut.
    """
    rng = _rng(seed, _ARTEFACTS, z)
    area = height * width / 1e6
    blobs = []
    for _ in range(_count(rng, 1.0 * area)):  # ink smudges: dark, soft, irregular clusters
        cy, cx = rng.random() * height, rng.random() * width
        size = 15 + 30 * rng.random()
        for _ in range(int(rng.integers(2, 5))):
            r = size * (0.5 + 0.5 * rng.random())
            blobs.append(
                (
                    cy + rng.standard_normal() * size / 2,
                    cx + rng.standard_normal() * size / 2,
                    r,
                    r * (0.6 + 0.4 * rng.random()),
                    0.2 + 0.25 * rng.random(),
                    1.0,
                )
            )
    n = _count(rng, 40 * area)  # bright specks
    r = 1.0 + 3.0 * rng.random(n)
    specks = np.stack(
        [
            rng.random(n) * height,
            rng.random(n) * width,
            r,
            r * (0.6 + 0.4 * rng.random(n)),
            15 + 30 * rng.random(n),
            np.zeros(n),
        ],
        axis=1,
    )
    blobs = np.concatenate([np.array(blobs, dtype=float).reshape(-1, 6), specks])
    stripes = []
    for _ in range(_count(rng, 1.0 * area)):  # knife chatter
        h = 24 + 56 * rng.random()
        w = (0.3 + 0.7 * rng.random()) * width
        stripes.append(
            (
                rng.random() * height - h / 2,
                rng.random() * (width - w),
                h,
                w,
                3.0 + 5.0 * rng.random(),
                0.03 + 0.04 * rng.random(),
            )
        )
    return blobs, np.array(stripes, dtype=float).reshape(-1, 6)


def _bump(n0: int, n1: int, centre: float, radius: float) -> np.ndarray:
    """``max(0, 1 - d^2)`` with ``d = (i - centre) / radius``, for ``i`` in ``[n0, n1)``."""
    d = (np.arange(n0, n1) - centre) / radius
    return np.maximum(0.0, 1.0 - d * d)


def _apply_artefacts(img: np.ndarray, y0: int, blobs: np.ndarray, stripes: np.ndarray) -> None:
    """Apply the artefacts to ``img``, the rows ``y0 ...`` of the image, in place."""
    y1 = y0 + img.shape[0]
    width = img.shape[1]
    hit = np.flatnonzero((blobs[:, 0] - blobs[:, 2] < y1) & (blobs[:, 0] + blobs[:, 2] > y0))
    for cy, cx, ry, rx, amp, multiplicative in blobs[hit]:
        a, b = max(y0, int(np.floor(cy - ry)) + 1), min(y1, int(np.ceil(cy + ry)))
        c, d = max(0, int(np.floor(cx - rx)) + 1), min(width, int(np.ceil(cx + rx)))
        if a >= b or c >= d:
            continue
        dy = (np.arange(a, b) - cy) / ry
        dx = (np.arange(c, d) - cx) / rx
        w = np.maximum(0.0, 1.0 - (dy[:, None] * dy[:, None] + dx[None, :] * dx[None, :]))
        w = (w * w * amp).astype(np.float32)
        if multiplicative:
            img[a - y0 : b - y0, c:d] *= np.float32(1) - w
        else:
            img[a - y0 : b - y0, c:d] += w
    for sy, sx, h, w, period, amp in stripes:
        a, b = max(y0, int(np.floor(sy)) + 1), min(y1, int(np.ceil(sy + h)))
        c, d = max(0, int(np.floor(sx))), min(width, int(np.ceil(sx + w)))
        if a >= b or c >= d:
            continue
        phase = (np.arange(a, b) - sy) / period
        phase -= np.floor(phase)  # 0 .. 1
        # a parabolic, sine-like wave (no transcendental functions), faded in and out
        wave = np.where(
            phase < 0.5, 8 * phase * (1 - 2 * phase), -8 * (phase - 0.5) * (2 - 2 * phase)
        )
        wave *= _bump(a, b, sy + h / 2, h / 2) * amp
        taper = np.sqrt(_bump(c, d, sx + w / 2, w / 2 + 1))
        img[a - y0 : b - y0, c:d] *= (1 + wave[:, None] * taper[None, :]).astype(np.float32)


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------
def make_phantom(
    shape: tuple[int, int] = (1024, 1024),
    seed: int = 0,
    *,
    z: int = 0,
    vessel_density: float = 260.0,
    noise_sigma: float = 4.0,
    salt_pepper: float = 0.002,
    artefacts: bool = True,
    dtype="uint8",
) -> tuple[np.ndarray, np.ndarray]:
    """Generate a KESM-like grayscale phantom and its exact vessel ground truth.

    Parameters
    ----------
    shape : tuple of int
        ``(height, width)`` of the image in pixels.
    seed : int
        Non-negative seed; the same arguments always give bit-identical arrays.
    z : int, optional
        Slice index (non-negative) within the stack defined by ``seed``; consecutive slices show the
        same vessels slightly shifted (see the module docstring).
    vessel_density : float, optional
        Expected number of vessel objects (disc, ellipse and tube cross-sections) per megapixel
        on one slice.  The default gives about 2.7 % vessel pixels (the real KESM tile: 2.8 %).
    noise_sigma : float, optional
        Standard deviation of the additive, approximately Gaussian noise in 8-bit grey levels.
    salt_pepper : float, optional
        Fraction of pixels replaced by salt (white) or pepper (black), half each.
    artefacts : bool, optional
        Whether to add the non-vessel artefacts (ink smudges, bright specks, chatter stripes).  The
        faint knife-nick lines belong to the illumination and are always present.
    dtype : {"uint8", "uint16"}, optional
        Output type.  ``"uint16"`` renders the same scene on the 16-bit scale (8-bit level x 257)
        with 16-bit (unquantised) noise; the truth is the same.

    Returns
    -------
    image : numpy.ndarray
        ``shape`` array of ``dtype``: dark vessels on bright tissue.
    truth : numpy.ndarray
        ``shape`` bool array, True exactly on the vessel pixels drawn (artefacts are not vessel).

    Examples
    --------
    >>> image, truth = make_phantom((256, 256), seed=1)
    >>> image.dtype, truth.dtype, image.shape
    (dtype('uint8'), dtype('bool'), (256, 256))
    """
    if len(tuple(shape)) != 2:
        raise ValueError(f"shape must be (height, width), got {shape!r}")
    height, width = (int(v) for v in shape)
    if height < 1 or width < 1:
        raise ValueError(f"shape must be (height, width) with positive sizes, got {shape!r}")
    seed, z = int(seed), int(z)
    if seed < 0 or z < 0:
        raise ValueError("seed and z must be non-negative integers")
    try:
        out_dtype = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"dtype must be uint8 or uint16, got {dtype!r}") from None
    if out_dtype not in (np.dtype(np.uint8), np.dtype(np.uint16)):
        raise ValueError(f"dtype must be uint8 or uint16, got {dtype!r}")
    if vessel_density < 0 or noise_sigma < 0 or not 0 <= salt_pepper <= 1:
        raise ValueError("vessel_density and noise_sigma must be >= 0, salt_pepper in [0, 1]")

    vessels = _draw_vessels(seed, z, height, width, float(vessel_density))
    rows, cols = _illumination(seed, height, width)
    if artefacts:
        blobs, stripes = _artefacts(seed, z, height, width)

    # Texture on a 4 px grid, interpolated linearly to the pixels (pixel i at grid node i / 4 + 1).
    step = _TEXTURE_STEP
    grid = _texture_grid(seed, z, (height - 1) // step + 3, (width - 1) // step + 3)
    grid += np.float32(1.0)
    xi = np.arange(width)
    x0 = xi // step + 1
    tx = ((xi % step) / step).astype(np.float32)
    wx0, wx1 = (np.float32(1) - tx) * cols, tx * cols  # x weights with the column illumination

    image = np.empty((height, width), out_dtype)
    top = 255.0 if out_dtype == np.uint8 else 65535.0
    scale = np.float32(top / 255.0)
    inv_norm = np.float32(1.0 / (255 << (2 * _PSF_ORDER)))
    xpad = _reflect_index(width, -_PSF_HALF, width + _PSF_HALF)  # reflected border columns
    # Bands of whole noise chunks, about a megapixel each (cache-friendly); the result does not
    # depend on the band height: every pixel's value is computed the same way in any band.
    band_rows = max(1, (1 << 20) // (width * _CHUNK)) * _CHUNK
    for y0 in range(0, height, band_rows):
        y1 = min(height, y0 + band_rows)
        yi = np.arange(y0, y1)
        r0 = yi // step + 1
        ty = ((yi % step) / step).astype(np.float32)[:, None]
        g = grid[r0[0] : r0[-1] + 2]  # the grid rows this band needs, interpolated along x
        grid_x = g.take(x0, axis=1)  # (take keeps C order, unlike fancy indexing here)
        grid_x *= wx0
        upper = g.take(x0 + 1, axis=1)
        upper *= wx1
        grid_x += upper
        r0 -= r0[0]
        img = grid_x[r0]
        img *= (np.float32(1) - ty) * rows[y0:y1, None]
        upper = grid_x[r0 + 1]
        upper *= ty * rows[y0:y1, None]
        img += upper  # tissue x texture x illumination
        del upper, grid_x

        # Vessels: darkness map blurred by the binomial PSF, in exact integer arithmetic (the second
        # pass in float32, whose integers are exact below 2**24).
        if y0 >= _PSF_HALF and y1 + _PSF_HALF <= height:
            a = vessels[y0 - _PSF_HALF : y1 + _PSF_HALF].astype(np.uint16)
        else:
            a = vessels[_reflect_index(height, y0 - _PSF_HALF, y1 + _PSF_HALF)].astype(np.uint16)
        a = _binomial_blur(a, 0)  # at most 255 * 2**8: fits uint16
        padded = np.empty((a.shape[0], width + _PSF_ORDER), np.float32)
        padded[:, _PSF_HALF : _PSF_HALF + width] = a
        padded[:, :_PSF_HALF] = a[:, xpad[:_PSF_HALF]]
        padded[:, _PSF_HALF + width :] = a[:, xpad[_PSF_HALF + width :]]
        a = _binomial_blur(padded, 1)  # at most 255 * 2**16
        del padded
        a *= -inv_norm
        a += np.float32(1)
        img *= a  # transmission
        del a

        if artefacts:
            _apply_artefacts(img, y0, blobs, stripes)

        for c0 in range(y0, y1, _CHUNK):  # noise: generators per chunk of rows
            chunk = img[c0 - y0 : c0 - y0 + _CHUNK]
            n = chunk.size
            if noise_sigma > 0:
                noise = _gauss(_rng(seed, _NOISE, z, c0 // _CHUNK), chunk.shape)
                noise *= np.float32(noise_sigma)
                chunk += noise
                del noise
            if salt_pepper > 0:
                rng = _rng(seed, _SALT_PEPPER, z, c0 // _CHUNK)
                k = _count(rng, salt_pepper * n)
                where = rng.integers(0, n, k)
                salt = rng.integers(0, 2, k).astype(bool)
                chunk.reshape(-1)[where] = np.where(salt, np.float32(1e6), np.float32(-1e6))
        if out_dtype != np.uint8:
            img *= scale
        img += np.float32(0.5)
        np.clip(img, 0, top, out=img)
        image[y0:y1] = img  # truncation of x + 0.5 >= 0: round half up
        del img

    np.minimum(vessels, 1, out=vessels)
    truth = vessels.view(bool)
    return image, truth


def make_stack_slice(
    shape: tuple[int, int], seed: int, z: int, **kwargs
) -> tuple[np.ndarray, np.ndarray]:
    """Slice ``z`` of the phantom stack ``seed``: ``make_phantom(shape, seed, z=z, **kwargs)``.

    Parameters
    ----------
    shape : tuple of int
        ``(height, width)`` in pixels.
    seed : int
        Seed of the stack.
    z : int
        Slice index (non-negative).  Neighbouring slices show the same vessels, drifted by a
        fraction of a pixel and slightly bent; vessels appear and disappear over tens of slices.
    **kwargs
        Any keyword argument of :func:`make_phantom`.

    Returns
    -------
    image, truth : numpy.ndarray
        As returned by :func:`make_phantom`.
    """
    return make_phantom(shape, seed, z=z, **kwargs)
