"""Where a claim photo differs from its aligned reference beyond lighting, compression
and a few pixels of misalignment: CIE Lab distance to the nearest colour the reference
has within a few pixels (and, in dense print, from each colour of the reference to the
nearest the photo has), unevenness along bars the reference shows (a barcode scuffed),
and structural dissimilarity (1 - SSIM) with some colour change."""

from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np
import numpy.typing as npt

from verifier.claim._light import gain_offset, plane_at, plane_fit, relight

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
_RANGE_DELTA_E = 12.0  # Lab distance to the nearest nearby reference colour that marks a pixel
_SSIM_THRESHOLD = 0.35  # (1 - SSIM) / 2 that marks a pixel with some colour change
_BLUR = 1.5  # sigma (work pixels) against JPEG blocks and H.264 softness, both sides
_SLACK = 3  # work pixels of misalignment and stroke width the comparison forgives
# A phone's print is crisper than a packing frame's: where the reference has strokes, its
# blacks are greyer and its whites duller, so the photo may overshoot the local range
# by this fraction of it (on a plain surface the range, and so the allowance, is small).
_CONTRAST = 0.2
_RIM = 10  # work pixels of the product outline's uncertainty (see _off_the_outline)
_MIN_AREA = 0.03  # of the product: smaller areas keep the global fit (damage could fill them)
_PLANE_KEEP = 0.7  # of a flat area's pixels, best fitted, that its lighting plane is refitted on
_MAX_SHIFT = 4.0  # work pixels the local re-alignment may move the reference
_ERASED_SLACK = 4  # work pixels within which the photo must show each colour of dense print
# Bars (a barcode, stripes): where the reference's texture runs one way (structure-tensor
# coherence and energy), each picture is compared with itself along that direction.
_BARS_COHERENCE = 0.85
_BARS_ENERGY = 2000.0  # Sobel gradient energy (grey levels squared) that print has
_BARS_REACH = 4  # work pixels along the bars, each side, that a pixel is averaged with
_BARS_RESIDUAL = 12.0  # grey levels of unevenness along the bars beyond the reference's
# Beyond it, it weighs this much more than a colour distance (ΔE): at _BARS_RESIDUAL as much
# as compare.STRONG, so that a mark on bars is not diluted below that by a weaker rim.
_BARS_WEIGHT = 20.0 / _BARS_RESIDUAL


class Differences(NamedTuple):
    mask: U8  # the pixels that differ (255)
    dist: F32  # colour distance beyond the reference's (CIE Lab)
    dissim: F32  # structural dissimilarity, (1 - SSIM) / 2
    plain: npt.NDArray[np.bool_]  # where the reference has no print
    steps: F32  # colour edges the photo has beyond the reference's (Lab units per pixel)


def differences(claim: U8, ref: U8, product: U8) -> Differences:
    """Pixels of ``claim`` that differ from ``ref`` (aligned) beyond lighting and
    compression, and what is behind them."""
    inside = product > 0
    if int(inside.sum()) < 64:
        zero = np.zeros(product.shape, np.float32)
        return Differences(
            np.zeros(product.shape, np.uint8), zero, zero, np.zeros(product.shape, bool), zero
        )
    a = cv2.GaussianBlur(claim, (0, 0), _BLUR).astype(np.float32)
    b = cv2.GaussianBlur(ref, (0, 0), _BLUR).astype(np.float32)
    b = relight(a, b, inside)
    b = _local_align(a, b, inside)
    lab_a = cv2.cvtColor(a.astype(np.uint8), cv2.COLOR_RGB2LAB).astype(np.float32)
    lab_b = cv2.cvtColor(b.astype(np.uint8), cv2.COLOR_RGB2LAB).astype(np.float32)
    plain = _plain(lab_b[..., 0])
    lab_b = _area_offsets(lab_a, lab_b, inside, plain)
    # Each claim pixel against the nearest colour the reference has around it: a stroke
    # printed a pixel bolder, an edge a pixel off after alignment, or a sharper lens finds
    # its colour close by; a crack across a plain surface does not. (A per-channel min/max
    # box accepted colours the reference never has there: a grey stain over black bars on
    # white was inside the box.)
    dist = _nearest(lab_a, lab_b, inside, _SLACK)
    # In dense print (barcodes, small text) a homography a pixel or two off locally moves
    # whole bars: there the window is taken twice as wide (measured: most honest false
    # alarms were single bars of a barcode).
    gray_b = lab_b[..., 0]
    busy = cv2.GaussianBlur(np.abs(gray_b - cv2.GaussianBlur(gray_b, (0, 0), 3)), (0, 0), 3) > 12
    if bool((busy & inside).any()):
        dist = np.where(busy, _nearest(lab_a, lab_b, busy & inside, 2 * _SLACK), dist)
        # The other way round too: each colour of the reference's print must be in the
        # photo close by. A patch pasted over a barcode, or print scraped off, leaves
        # only colours the bars have (white, black, the grey of their edges) within the
        # wide window, but the bars the reference has there are gone from the photo
        # (measured: half the missed damage on barcodes).
        erased = _nearest(lab_b, lab_a, busy & inside, _ERASED_SLACK)
        dist = np.where(busy, np.maximum(dist, erased), dist)
    dist = np.asarray(cv2.GaussianBlur(dist, (0, 0), 1.0), np.float32)
    bars, uneven = _along_bars(claim, ref, inside)
    bars &= uneven > _BARS_RESIDUAL
    dist = np.where(bars, np.maximum(dist, _BARS_WEIGHT * uneven), dist)
    ga = cv2.cvtColor(a.astype(np.uint8), cv2.COLOR_RGB2GRAY).astype(np.float32)
    gb = cv2.cvtColor(b.astype(np.uint8), cv2.COLOR_RGB2GRAY).astype(np.float32)
    dissim = (1.0 - _ssim(ga, gb)) / 2.0
    # Structure lost where colours still fall in range (a pattern scraped off, a patch
    # pasted over print) shows as a strong SSIM drop with some colour change.
    marked = (dist > _RANGE_DELTA_E) | ((dissim > _SSIM_THRESHOLD) & (dist > 0.4 * _RANGE_DELTA_E))
    mask: U8 = (marked & inside).astype(np.uint8) * 255
    mask = np.asarray(cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)), np.uint8)
    ellipse = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    mask = np.asarray(cv2.morphologyEx(mask, cv2.MORPH_CLOSE, ellipse), np.uint8)
    mask = np.asarray(cv2.bitwise_and(mask, product), np.uint8)
    mask = _off_the_outline(mask, product)
    steps = np.maximum(_edges(lab_a) - _edges(lab_b), 0)
    return Differences(mask, dist, dissim, plain, steps)


def _edges(lab: F32) -> F32:
    """Colour gradient magnitude (Lab units per pixel)."""
    total = np.zeros(lab.shape[:2], np.float32)
    for c in range(3):
        gx = cv2.Sobel(lab[..., c], cv2.CV_32F, 1, 0, scale=0.125)
        gy = cv2.Sobel(lab[..., c], cv2.CV_32F, 0, 1, scale=0.125)
        total += gx * gx + gy * gy
    return np.sqrt(total)


def _along_bars(
    claim: U8, ref: U8, inside: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.bool_], F32]:
    """Where the reference shows bars (texture that runs one way: a barcode, stripes), and
    how much more uneven the photo is along them than the reference is: each picture
    against its own average along the bars, so neither resolution nor a pixel of
    misalignment across them matters. Bars scuffed or flecked in the photo are uneven
    along their length; at a packing frame's resolution the same bars, compared with the
    frame pixel for pixel, only look a shade lighter (measured: most damage missed on
    barcodes). Pixels whose path along the bars leaves them are left out."""
    bars = np.zeros(inside.shape, bool)
    uneven = np.zeros(inside.shape, np.float32)
    ga = cv2.cvtColor(claim, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gb = cv2.cvtColor(ref, cv2.COLOR_RGB2GRAY).astype(np.float32)
    # One gain and offset (least squares): unevenness scales with contrast. relight()
    # would triple this step's cost and changed no outcome in bench claim.
    gain, offset = gain_offset(gb[inside], ga[inside])
    gb = gb * np.float32(gain) + np.float32(offset)
    soft = cv2.GaussianBlur(gb, (0, 0), 0.7)
    dx = cv2.Sobel(soft, cv2.CV_32F, 1, 0)
    dy = cv2.Sobel(soft, cv2.CV_32F, 0, 1)
    jxx = cv2.GaussianBlur(dx * dx, (0, 0), 3.0)
    jyy = cv2.GaussianBlur(dy * dy, (0, 0), 3.0)
    jxy = cv2.GaussianBlur(dx * dy, (0, 0), 3.0)
    energy = jxx + jyy
    coherence = np.sqrt((jxx - jyy) ** 2 + 4 * jxy**2) / np.maximum(energy, 1e-3)
    seen = (coherence > _BARS_COHERENCE) & (energy > _BARS_ENERGY) & inside
    if not seen.any():
        return bars, uneven
    theta = 0.5 * np.arctan2(2 * jxy, jxx - jyy)  # across the bars
    vx, vy = -np.sin(theta).astype(np.float32), np.cos(theta).astype(np.float32)
    h, w = inside.shape
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))

    def along(x: F32) -> F32:
        acc = np.zeros_like(x)
        for k in (*range(-_BARS_REACH, 0), *range(1, _BARS_REACH + 1)):
            acc += cv2.remap(
                x, gx + k * vx, gy + k * vy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            )
        return np.asarray(acc / (2 * _BARS_REACH), np.float32)

    whole = (along(seen.astype(np.float32)) > 0.999) & seen
    bars = cv2.erode(whole.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    rough = np.abs(ga - along(ga)) - np.abs(gb - along(gb))
    uneven = np.asarray(cv2.GaussianBlur(rough, (0, 0), 1.5), np.float32)
    return bars, uneven


def _nearest(lab_a: F32, lab_b: F32, where: npt.NDArray[np.bool_], slack: int) -> F32:
    """Each pixel's Lab distance in ``lab_a`` (over ``where``'s bounding box, 0 elsewhere)
    to the nearest colour of ``lab_b`` within ``slack`` pixels. Lightness may overshoot by
    ``_CONTRAST`` of the reference's local lightness range: a phone's print is crisper
    than a packing frame's, its blacks blacker and its whites whiter, where there is
    print (on a plain surface the range, and so the allowance, is small)."""
    out = np.zeros(where.shape, np.float32)
    ys, xs = np.nonzero(where)
    if not len(ys):
        return out
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    s = slack
    pad = cv2.copyMakeBorder(lab_b, s, s, s, s, cv2.BORDER_REPLICATE)
    k = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * s + 1,) * 2)
    light = lab_b[..., 0]
    allow = _CONTRAST * (cv2.dilate(light, k) - cv2.erode(light, k))[y0:y1, x0:x1]
    a = lab_a[y0:y1, x0:x1]
    best = np.full(a.shape[:2], np.inf, np.float32)
    for dy in range(-s, s + 1):
        for dx in range(-s, s + 1):
            b = pad[y0 + dy + s : y1 + dy + s, x0 + dx + s : x1 + dx + s]
            d = a - b
            dl = np.maximum(np.abs(d[..., 0]) - allow, 0)
            np.minimum(best, dl * dl + d[..., 1] ** 2 + d[..., 2] ** 2, out=best)
    out[y0:y1, x0:x1] = np.sqrt(best)
    return out


def _off_the_outline(mask: U8, product: U8) -> U8:
    """``mask`` without its parts that lie wholly within ``_RIM`` pixels of the product
    region's outline: there the outline itself, a pixel or two off between photo and
    frame, puts the buyer's table beside the packing table (measured: most calibration
    false alarms were such slivers along the card's edge). Damage reaching further in
    than that is kept whole."""
    side = 2 * _RIM + 1
    core = cv2.erode(product, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side)))
    n, labels = cv2.connectedComponents(mask)
    if n <= 1:
        return mask
    inner = np.unique(labels[(core > 0) & (mask > 0)])
    keep = np.isin(labels, inner[inner > 0])
    return (keep * 255).astype(np.uint8)


def _plain(lightness: F32) -> npt.NDArray[np.bool_]:
    """Where the reference has no print: its lightness (8-bit Lab) within a few levels of
    its own local mean."""
    blur = cv2.GaussianBlur(lightness, (0, 0), 2)
    return np.asarray(cv2.GaussianBlur(np.abs(lightness - blur), (0, 0), 2) < 4, bool)


def _area_offsets(
    lab_a: F32, lab_b: F32, inside: npt.NDArray[np.bool_], plain: npt.NDArray[np.bool_]
) -> F32:
    """``lab_b`` with each flat colour area of the reference (a connected part of the
    product without print, such as a band of the card) moved by its own offset to the
    photo: one gain and offset per channel cannot follow a camera that clips or bends its
    tone curve (a band lit a shade lighter than the rest), nor light that falls off
    across a band (a lamp to one side of the buyer's table). The offset is a plane
    (c0 + c1 x + c2 y per channel) fitted to the area's pixels and refitted twice on the
    ``_PLANE_KEEP`` of them that it fits best, so damage over less than a third of the
    area is not taken for lighting; areas under ``_MIN_AREA`` of the product keep the
    global fit."""
    flat = (inside & plain).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(flat, connectivity=4)
    out = lab_b.copy()
    least = _MIN_AREA * int(inside.sum())
    for j in range(1, n):
        if stats[j, cv2.CC_STAT_AREA] < least:
            continue
        area = labels == j
        ys, xs = np.nonzero(area)
        coef = plane_fit(ys, xs, lab_a[area] - lab_b[area], keep=_PLANE_KEEP, refits=2)
        out[area] += plane_at(coef, ys, xs)
    return out


def _local_align(a: F32, b: F32, inside: npt.NDArray[np.bool_]) -> F32:
    """``b`` moved by a smooth field of small shifts (dense optical flow, smoothed and
    capped at ``_MAX_SHIFT``) onto ``a``: a homography is exact for a flat card only, and
    a bent box or a lens leaves a pixel or two of residue that lights up every edge.
    The field is smooth on the scale of the product's print, so it cannot paint damage."""
    ga = cv2.cvtColor(a.astype(np.uint8), cv2.COLOR_RGB2GRAY)
    gb = cv2.cvtColor(b.astype(np.uint8), cv2.COLOR_RGB2GRAY)
    dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    flow = np.asarray(dis.calc(ga, gb, None), np.float32)  # type: ignore[call-overload]
    m = inside.astype(np.float32)
    sigma = max(3.0, 0.04 * math.sqrt(float(m.sum())))
    w = cv2.GaussianBlur(m, (0, 0), sigma) + 1e-3
    for c in range(2):
        flow[..., c] = cv2.GaussianBlur(flow[..., c] * m, (0, 0), sigma) / w
    mag = np.sqrt((flow**2).sum(axis=2, keepdims=True))
    flow *= np.minimum(1.0, _MAX_SHIFT / np.maximum(mag, 1e-6))
    h, w_ = ga.shape
    gx, gy = np.meshgrid(np.arange(w_, dtype=np.float32), np.arange(h, dtype=np.float32))
    moved = cv2.remap(
        b, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return np.asarray(moved, np.float32)


def _ssim(a: F32, b: F32) -> F32:
    """The SSIM map (Wang et al. 2004, Gaussian window sigma 1.5)."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(x: F32) -> F32:
        return np.asarray(cv2.GaussianBlur(x, (0, 0), 1.5), np.float32)

    mu_a, mu_b = blur(a), blur(b)
    va = blur(a * a) - mu_a**2
    vb = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    den = (mu_a**2 + mu_b**2 + c1) * (va + vb + c2)
    return np.asarray(num / den, np.float32)
