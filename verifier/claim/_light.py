"""Lighting between a claim photo and its aligned reference: the reference given the
photo's lighting, so that what remains is what differs."""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
_TONE_BIN = 16  # levels of the reference per point of the tone curve
_TONE_SLACK = 2  # pixels of misalignment the tone curve's pairs forgive
_TONE_LEAST = 0.01  # of the product's pixels, that a point of the tone curve needs


def gain_offset(x: F32, y: F32) -> tuple[float, float]:
    """The gain and offset that take ``x`` to ``y`` by least squares; on an ``x`` with
    almost no spread (a flat area), gain 1 and the difference of the means."""
    mx, my = float(x.mean()), float(y.mean())
    if float(x.std()) > 1:
        dx = x.astype(np.float64) - mx
        gain = float((dx * (y - my)).sum() / (dx * dx).sum())
        return gain, my - gain * mx
    return 1.0, my - mx


def relight(a: F32, b: F32, inside: npt.NDArray[np.bool_]) -> F32:
    """``b`` with the claim photo's lighting: a tone curve per channel fitted over the
    product (see :func:`tone_curve`), then a smooth gain field for a gradient across the
    product."""
    b = b.copy()
    k = np.ones((2 * _TONE_SLACK + 1,) * 2, np.uint8)
    for c in range(3):
        x, y = b[..., c], a[..., c]
        # Each level paired with the photo's darkest and brightest nearby, not pixel for
        # pixel: a pixel of misalignment pairs a bar's black with the white beside it.
        xs = np.concatenate([cv2.erode(x, k)[inside], cv2.dilate(x, k)[inside]])
        ys = np.concatenate([cv2.erode(y, k)[inside], cv2.dilate(y, k)[inside]])
        lut = tone_curve(xs, ys)
        b[..., c] = np.interp(x, np.arange(256), lut)
    m = inside.astype(np.float32)
    sigma = max(4.0, 0.15 * math.sqrt(float(m.sum())))
    ga = cv2.GaussianBlur(a.mean(axis=2) * m, (0, 0), sigma)
    gb = cv2.GaussianBlur(b.mean(axis=2) * m, (0, 0), sigma)
    field = np.clip((ga + 1.0) / (gb + 1.0), 0.7, 1.4)
    return np.asarray(np.clip(b * field[..., None], 0, 255), np.float32)


def tone_curve(x: F32, y: F32) -> npt.NDArray[np.float64]:
    """The monotone curve (a table of 256 values) that takes the reference's levels ``x``
    to the photo's ``y`` in one channel: the median of ``y`` over each ``_TONE_BIN`` levels
    of ``x`` that hold ``_TONE_LEAST`` of the pixels, made monotone (weighted isotonic
    regression), straight between them and, beyond them, a gain and offset fitted by least
    squares without the worst 20 % (damage is not lighting). One gain and offset could not
    follow a phone that clips its bright channel: on the magenta hair-dryer card of bench
    claim it took its slope from the card and the clipped label and relit the black bars'
    red to 92 where the photo had 56 (the commonest false alarm left). A median per level
    keeps damage, which covers a small part of any level, out of the curve."""
    gain, offset = gain_offset(x, y)
    if float(x.std()) > 1:
        resid = np.abs(gain * x + offset - y)
        keep = resid <= np.quantile(resid, 0.8)
        if int(keep.sum()) > 32 and float(x[keep].std()) > 1:
            gain, offset = gain_offset(x[keep], y[keep])
    levels = np.arange(256, dtype=np.float64)
    line = np.clip(gain * levels + offset, 0, 255)
    least = max(32, _TONE_LEAST * x.size)
    bins = np.minimum(x, 255).astype(np.int32) // _TONE_BIN
    at, median, weight = [], [], []
    for k in np.unique(bins):
        here = bins == k
        n = int(here.sum())
        if n >= least:
            at.append(float(np.median(x[here])))
            median.append(float(np.median(y[here])))
            weight.append(n)
    if not at:
        return line
    fitted = _isotonic(np.array(median), np.array(weight, np.float64))
    curve = np.interp(levels, at, fitted)
    # Beyond the levels the product shows, the straight fit, joined to the curve's ends.
    lo, hi = levels < at[0], levels > at[-1]
    curve[lo] = fitted[0] + gain * (levels[lo] - at[0])
    curve[hi] = fitted[-1] + gain * (levels[hi] - at[-1])
    return np.asarray(np.clip(curve, 0, 255), np.float64)


def _isotonic(y: npt.NDArray[np.float64], w: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The non-decreasing sequence nearest ``y`` in weighted least squares (pool adjacent
    violators)."""
    means: list[float] = []
    weights: list[float] = []
    counts: list[int] = []
    for v, u in zip(y.tolist(), w.tolist(), strict=True):
        means.append(v)
        weights.append(u)
        counts.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            u2 = weights[-2] + weights[-1]
            means[-2] = (means[-2] * weights[-2] + means[-1] * weights[-1]) / u2
            weights[-2] = u2
            counts[-2] += counts[-1]
            del means[-1], weights[-1], counts[-1]
    return np.repeat(np.array(means), counts)


def plane_fit(
    ys: npt.NDArray[np.intp], xs: npt.NDArray[np.intp], values: F32, *, keep: float, refits: int
) -> npt.NDArray[np.float64]:
    """The plane c0 + c1 x + c2 y per channel (x, y in hundreds of pixels, so the three
    columns are on one scale) that fits ``values`` (n, channels) at ``(ys, xs)`` by least
    squares, refitted ``refits`` times on the ``keep`` of them it fits best: what does
    not fit (damage on a band, a stripe on a table) is not lighting."""
    design = np.stack([np.ones(len(ys)), xs / 100.0, ys / 100.0], axis=1)
    v = values.astype(np.float64)
    coef = np.linalg.lstsq(design, v, rcond=None)[0]
    for _ in range(refits):
        r = np.linalg.norm(design @ coef - v, axis=1)
        best = r <= np.quantile(r, keep)
        coef = np.linalg.lstsq(design[best], v[best], rcond=None)[0]
    return np.asarray(coef, np.float64)


def plane_at(coef: npt.NDArray[np.float64], ys: npt.ArrayLike, xs: npt.ArrayLike) -> F32:
    """The plane of :func:`plane_fit` at ``(ys, xs)`` (any shapes that broadcast), with the
    channels last."""
    y = np.asarray(ys, np.float64)[..., None] / 100.0
    x = np.asarray(xs, np.float64)[..., None] / 100.0
    return np.asarray(coef[0] + coef[1] * x + coef[2] * y, np.float32)
