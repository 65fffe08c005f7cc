"""Lighting between a claim photo and its aligned reference: the reference given the
photo's lighting, so that what remains is what differs."""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]


def gain_offset(x: F32, y: F32) -> tuple[float, float]:
    """The gain and offset that take ``x`` to ``y`` by least squares; on an ``x`` with
    almost no spread (a flat area), gain 1 and the difference of the means."""
    if float(x.std()) > 1:
        gain, offset = np.polyfit(x, y, 1)
        return float(gain), float(offset)
    return 1.0, float(y.mean() - x.mean())


def relight(a: F32, b: F32, inside: npt.NDArray[np.bool_]) -> F32:
    """``b`` with the claim photo's lighting: a per-channel gain and offset fitted over the
    product (twice, the second time without the worst 20 %: damage is not lighting),
    then a smooth gain field for a gradient across the product."""
    b = b.copy()
    for c in range(3):
        x, y = b[..., c][inside], a[..., c][inside]
        gain, offset = gain_offset(x, y)
        if float(x.std()) > 1:
            resid = np.abs(gain * x + offset - y)
            keep = resid <= np.quantile(resid, 0.8)
            if int(keep.sum()) > 32 and float(x[keep].std()) > 1:
                gain, offset = gain_offset(x[keep], y[keep])
        b[..., c] = np.clip(gain * b[..., c] + offset, 0, 255)
    m = inside.astype(np.float32)
    sigma = max(4.0, 0.15 * math.sqrt(float(m.sum())))
    ga = cv2.GaussianBlur(a.mean(axis=2) * m, (0, 0), sigma)
    gb = cv2.GaussianBlur(b.mean(axis=2) * m, (0, 0), sigma)
    field = np.clip((ga + 1.0) / (gb + 1.0), 0.7, 1.4)
    return np.asarray(np.clip(b * field[..., None], 0, 255), np.float32)


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
