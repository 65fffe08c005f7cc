"""Where a claim photo differs from its aligned reference beyond lighting, compression
and a few pixels of misalignment: CIE Lab colour beyond the reference's local range, and
structural dissimilarity (1 - SSIM) with some colour change."""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

from verifier.claim._light import relight

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
_RANGE_DELTA_E = 12.0  # Lab distance beyond the reference's local range that marks a pixel
_SSIM_THRESHOLD = 0.35  # (1 - SSIM) / 2 that marks a pixel with some colour change
_BLUR = 1.5  # sigma (work pixels) against JPEG blocks and H.264 softness, both sides
_SLACK = 3  # work pixels of misalignment and stroke width the comparison forgives
# A phone's print is crisper than a packing frame's: where the reference has strokes, its
# blacks are greyer and its whites duller, so the photo may overshoot the local range
# by this fraction of it (on a plain surface the range, and so the allowance, is small).
_CONTRAST = 0.2
_RIM = 10  # work pixels of the product outline's uncertainty (see _off_the_outline)
_MIN_AREA = 0.03  # of the product: smaller areas keep the global fit (damage could fill them)
_MAX_SHIFT = 4.0  # work pixels the local re-alignment may move the reference


def differences(claim: U8, ref: U8, product: U8) -> tuple[U8, F32]:
    """Pixels of ``claim`` that differ from ``ref`` (aligned) beyond lighting and
    compression, and the per-pixel colour distance behind it."""
    inside = product > 0
    if int(inside.sum()) < 64:
        return np.zeros(product.shape, np.uint8), np.zeros(product.shape, np.float32)
    a = cv2.GaussianBlur(claim, (0, 0), _BLUR).astype(np.float32)
    b = cv2.GaussianBlur(ref, (0, 0), _BLUR).astype(np.float32)
    b = relight(a, b, inside)
    b = _local_align(a, b, inside)
    lab_a = cv2.cvtColor(a.astype(np.uint8), cv2.COLOR_RGB2LAB).astype(np.float32)
    lab_b = cv2.cvtColor(b.astype(np.uint8), cv2.COLOR_RGB2LAB).astype(np.float32)
    lab_b = _area_offsets(lab_a, lab_b, inside)
    # Each claim pixel against the range of the reference around it (a 5x5 min/max): a
    # stroke printed a pixel bolder, an edge a pixel off after alignment, or a sharper
    # lens stays inside that range; a crack across a plain surface does not.
    k = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * _SLACK + 1,) * 2)
    lo, hi = cv2.erode(lab_b, k), cv2.dilate(lab_b, k)
    over = np.maximum(lab_a - hi, 0) + np.maximum(lo - lab_a, 0)
    over = np.maximum(over - _CONTRAST * (hi - lo), 0)
    dist = np.sqrt((over**2).sum(axis=2))
    # In dense print (barcodes, small text) a homography a pixel or two off locally moves
    # whole bars: there the range is taken twice as wide (measured: most honest false
    # alarms were single bars of a barcode).
    gray_b = lab_b[..., 0]
    busy = cv2.GaussianBlur(np.abs(gray_b - cv2.GaussianBlur(gray_b, (0, 0), 3)), (0, 0), 3) > 12
    k2 = cv2.getStructuringElement(cv2.MORPH_RECT, (4 * _SLACK + 1,) * 2)
    lo2, hi2 = cv2.erode(lab_b, k2), cv2.dilate(lab_b, k2)
    over2 = np.maximum(lab_a - hi2, 0) + np.maximum(lo2 - lab_a, 0)
    over2 = np.maximum(over2 - _CONTRAST * (hi2 - lo2), 0)
    dist = np.where(busy, np.sqrt((over2**2).sum(axis=2)), dist)
    dist = np.asarray(cv2.GaussianBlur(dist, (0, 0), 1.0), np.float32)
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
    return mask, dist


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


def _area_offsets(lab_a: F32, lab_b: F32, inside: npt.NDArray[np.bool_]) -> F32:
    """``lab_b`` with each flat colour area of the reference (a connected part of the
    product without print, such as a band of the card) moved by its own median offset to
    the photo: one gain and offset per channel cannot follow a camera that clips or
    bends its tone curve (a band lit a shade lighter than the rest). The median is the
    area's, so damage over less than half of it is not taken for lighting; areas under
    ``_MIN_AREA`` of the product keep the global fit."""
    gray = lab_b[..., 0]
    busy = cv2.GaussianBlur(np.abs(gray - cv2.GaussianBlur(gray, (0, 0), 2)), (0, 0), 2)
    flat = (inside & (busy < 4)).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(flat, connectivity=4)
    out = lab_b.copy()
    least = _MIN_AREA * int(inside.sum())
    for j in range(1, n):
        if stats[j, cv2.CC_STAT_AREA] < least:
            continue
        area = labels == j
        out[area] += np.median(lab_a[area] - lab_b[area], axis=0)
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
